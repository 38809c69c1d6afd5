//! A small PDF writer: A4 pages of text (the standard Helvetica fonts) and filled rectangles,
//! enough for labels and plain documents. Output is byte-stable for the same input (no dates,
//! no random ids), so documents can be compared in tests.

use std::fmt::Write as _;

/// Points per millimetre.
pub const MM: f64 = 72.0 / 25.4;
/// A4 width and height in points.
pub const A4: (f64, f64) = (595.28, 841.89);

/// One page's drawing operations.
#[derive(Debug, Default, Clone)]
pub struct Page {
    ops: String,
}

/// Which of the two fonts.
#[derive(Debug, Clone, Copy)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Page {
    /// Text with its baseline's left end at (x, y), in points from the bottom left.
    pub fn text(&mut self, font: Font, size: f64, x: f64, y: f64, text: &str) {
        let name = match font {
            Font::Regular => "F1",
            Font::Bold => "F2",
        };
        let _ =
            writeln!(self.ops, "BT /{name} {size:.1} Tf {x:.2} {y:.2} Td ({}) Tj ET", escape(text));
    }

    /// A filled black rectangle.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64) {
        let _ = writeln!(self.ops, "{x:.3} {y:.3} {width:.3} {height:.3} re f");
    }

    /// A thin outline rectangle (cut guides).
    pub fn outline(&mut self, x: f64, y: f64, width: f64, height: f64) {
        let _ = writeln!(self.ops, "0.3 w 0.6 G {x:.2} {y:.2} {width:.2} {height:.2} re S 0 G");
    }
}

/// Strings in PDF text: escape the delimiters; characters outside Latin-1 become '?' (the
/// standard fonts' WinAnsi encoding covers Latin-1, which holds every name in our demos).
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 32 => out.push(' '),
            c if u32::from(c) < 127 => out.push(c),
            c if u32::from(c) <= 0xFF => {
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
            _ => out.push('?'),
        }
    }
    out
}

/// Assembles pages into a PDF file.
pub fn document(pages: &[Page]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_count = pages.len();
    // 1 catalog, 2 pages, 3 and 4 fonts, then for each page: page object, content stream.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    let kids: Vec<String> = (0..page_count).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {page_count} >>", kids.join(" ")));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    for (i, page) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.2} {:.2}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            A4.0,
            A4.1,
            6 + 2 * i
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{}endstream", page.ops.len(), page.ops));
    }
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{object}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(out, "{offset:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_a_valid_cross_reference_table() {
        let mut page = Page::default();
        page.text(Font::Bold, 12.0, 10.0, 800.0, "Synthetic (test) label: Ösel");
        page.rect(10.0, 10.0, 5.0, 5.0);
        let pdf = String::from_utf8(document(&[page])).unwrap();
        assert!(pdf.starts_with("%PDF-1.4\n") && pdf.ends_with("%%EOF\n"));
        assert!(pdf.contains("(Synthetic \\(test\\) label: \\326sel) Tj"));
        // Every xref offset points at its object.
        let xref_at: usize =
            pdf.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        let table = &pdf[xref_at..];
        for (n, line) in table.lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(&format!("{} 0 obj", n + 1)), "object {}", n + 1);
        }
    }
}
