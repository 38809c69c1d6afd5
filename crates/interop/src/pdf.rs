//! A small PDF writer: pages of text (the standard Helvetica fonts), filled rectangles, grey
//! fills and rules, enough for labels and plain documents. Output is byte-stable for the same
//! input (no dates, no random ids), so documents can be compared in tests.
//!
//! Text is measured with the Helvetica metrics below, so callers can wrap it to a width
//! ([`wrap`]) instead of guessing a number of characters per line.

use std::fmt::Write as _;

/// Points per millimetre.
pub const MM: f64 = 72.0 / 25.4;
/// A4 width and height in points (ISO 216: 210 × 297 mm).
pub const A4: (f64, f64) = (595.28, 841.89);
/// US Letter width and height in points (8.5 × 11 inches).
pub const LETTER: (f64, f64) = (612.0, 792.0);

/// One page's drawing operations.
#[derive(Debug, Default, Clone)]
pub struct Page {
    ops: String,
    ink: Option<Ink>,
}

/// The box that everything drawn on a page covers, in points from the bottom left; text counts
/// from its descender to its ascender. Lets a test prove nothing runs off the paper or into a
/// margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ink {
    /// Leftmost x.
    pub left: f64,
    /// Lowest y.
    pub bottom: f64,
    /// Rightmost x.
    pub right: f64,
    /// Highest y.
    pub top: f64,
}

/// Which of the two fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        let bytes = encode(text);
        let width = bytes_width(&bytes, font, size);
        self.cover(x, y - DESCENDER * size, x + width, y + ASCENDER * size);
        let _ = writeln!(
            self.ops,
            "BT /{name} {size:.1} Tf {x:.2} {y:.2} Td ({}) Tj ET",
            escape(&bytes)
        );
    }

    /// A filled black rectangle.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64) {
        self.cover(x, y, x + width, y + height);
        let _ = writeln!(self.ops, "{x:.3} {y:.3} {width:.3} {height:.3} re f");
    }

    /// A thin outline rectangle (cut guides).
    pub fn outline(&mut self, x: f64, y: f64, width: f64, height: f64) {
        self.cover(x, y, x + width, y + height);
        let _ = writeln!(self.ops, "0.3 w 0.6 G {x:.2} {y:.2} {width:.2} {height:.2} re S 0 G");
    }

    /// A rectangle filled with a grey (`level` 0 = black, 1 = white). Greys print the same on
    /// any printer, where colours may vanish in black and white.
    pub fn grey_fill(&mut self, x: f64, y: f64, width: f64, height: f64, level: f64) {
        let level = level.clamp(0.0, 1.0);
        self.cover(x, y, x + width, y + height);
        // q/Q keep the grey from leaking into later drawing.
        let _ = writeln!(self.ops, "q {level:.2} g {x:.2} {y:.2} {width:.2} {height:.2} re f Q");
    }

    /// A black straight line `width` points thick from (x1, y1) to (x2, y2), with square-cut
    /// ends that stop at the end points (PDF's default butt caps).
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, width: f64) {
        // The stroke is a rectangle: the segment widened by half the width on either side.
        let length = (x2 - x1).hypot(y2 - y1);
        let (nx, ny) = if length > 0.0 {
            (-(y2 - y1) / length * width / 2.0, (x2 - x1) / length * width / 2.0)
        } else {
            (0.0, 0.0)
        };
        let xs = [x1 + nx, x1 - nx, x2 + nx, x2 - nx];
        let ys = [y1 + ny, y1 - ny, y2 + ny, y2 - ny];
        let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
        let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
        self.cover(min(xs), min(ys), max(xs), max(ys));
        let _ = writeln!(self.ops, "q {width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S Q");
    }

    /// What the page's drawing covers so far; `None` for a blank page.
    pub fn ink(&self) -> Option<Ink> {
        self.ink
    }

    fn cover(&mut self, left: f64, bottom: f64, right: f64, top: f64) {
        self.ink = Some(match self.ink {
            None => Ink { left, bottom, right, top },
            Some(i) => Ink {
                left: i.left.min(left),
                bottom: i.bottom.min(bottom),
                right: i.right.max(right),
                top: i.top.max(top),
            },
        });
    }
}

/// Helvetica's descender and ascender as fractions of the font size (AFM `Descender -207`,
/// `Ascender 718`; Helvetica-Bold's are the same).
const DESCENDER: f64 = 0.207;
const ASCENDER: f64 = 0.718;

/// The text as the fonts' WinAnsi (Windows-1252) bytes. Latin-1 maps to itself; the typographic
/// punctuation WinAnsi adds (dashes, curly quotes, bullet, ellipsis) to its codes 0x80–0x9F; a
/// few common symbols WinAnsi lacks to ASCII spellings (`≥` as `>=`, `⁹` as `^9`); control
/// characters (tabs, line breaks) to spaces; anything else to `?`.
fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let code = u32::from(c);
        let byte = match c {
            _ if code < 32 => b' ',
            c if code < 127 => c as u8,
            '\u{a0}'..='\u{ff}' => code as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            '\u{2010}' | '\u{2011}' | '\u{2212}' => b'-',
            '\u{2002}'..='\u{200a}' | '\u{202f}' => b' ',
            '≥' => {
                out.extend_from_slice(b">=");
                continue;
            }
            '≤' => {
                out.extend_from_slice(b"<=");
                continue;
            }
            '⁰' | '⁴'..='⁹' => {
                out.push(b'^');
                // U+2070 is ⁰; U+2074..U+2079 are ⁴..⁹.
                out.push(b'0' + (code - 0x2070) as u8);
                continue;
            }
            _ => b'?',
        };
        out.push(byte);
    }
    out
}

/// Bytes in a PDF string literal: the delimiters escaped, bytes past ASCII in octal so the file
/// stays 7-bit text.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            32..=126 => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out
}

/// Advance widths in thousandths of the font size for WinAnsi codes 0x20–0xFF, from Adobe's
/// Helvetica and Helvetica-Bold font metrics (AFM `WX` values; the URW Nimbus Sans metrics
/// that poppler and Ghostscript substitute are the same). Codes WinAnsi leaves undefined are 0;
/// [`encode`] never produces them.
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    // 0x20
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0x30
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 0x40
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 0x50
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 0x60
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 0x70
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
    // 0x80
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    // 0x90
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    // 0xA0
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 0xB0
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 0xC0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 0xD0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 0xE0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // 0xF0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    // 0x20
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0x30
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    // 0x40
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    // 0x50
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    // 0x60
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    // 0x70
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,
    // 0x80
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    // 0x90
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,
    // 0xA0
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 0xB0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 0xC0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 0xD0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 0xE0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    // 0xF0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

fn bytes_width(bytes: &[u8], font: Font, size: f64) -> f64 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    let units: u32 = bytes
        .iter()
        .map(|&b| b.checked_sub(32).map_or(0, |i| u32::from(table[usize::from(i)])))
        .sum();
    f64::from(units) * size / 1000.0
}

/// How wide `text` prints in points, as [`Page::text`] would draw it.
pub fn text_width(text: &str, font: Font, size: f64) -> f64 {
    bytes_width(&encode(text), font, size)
}

/// Breaks text into lines that print no wider than `max_width` points: at spaces where it can,
/// inside a word only when the word alone is too wide (a long identifier or link), so nothing
/// is ever cut off. Line breaks in the text start a new line; an empty line between paragraphs
/// is kept. Text with no words gives no lines.
pub fn wrap(text: &str, font: Font, size: f64, max_width: f64) -> Vec<String> {
    let space = text_width(" ", font, size);
    let mut lines = Vec::new();
    let paragraphs: Vec<&str> = text.trim().lines().collect();
    for paragraph in paragraphs {
        let mut line = String::new();
        let mut width = 0.0;
        for word in paragraph.split_whitespace() {
            let word_width = text_width(word, font, size);
            if !line.is_empty() && width + space + word_width <= max_width {
                line.push(' ');
                line.push_str(word);
                width += space + word_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if word_width <= max_width {
                line.push_str(word);
                width = word_width;
                continue;
            }
            // Too wide on its own: as many characters per line as fit, at least one, so the
            // loop always moves on even when `max_width` is tiny.
            let mut piece = String::new();
            for c in word.chars() {
                let mut longer = piece.clone();
                longer.push(c);
                if !piece.is_empty() && text_width(&longer, font, size) > max_width {
                    lines.push(std::mem::replace(&mut piece, c.to_string()));
                } else {
                    piece = longer;
                }
            }
            width = text_width(&piece, font, size);
            line = piece;
        }
        // An empty paragraph is a blank line the writer meant; keep it.
        lines.push(line);
    }
    lines
}

/// Assembles A4 pages into a PDF file.
pub fn document(pages: &[Page]) -> Vec<u8> {
    document_sized(pages, A4)
}

/// Assembles pages of the given (width, height) in points, e.g. [`A4`] or [`LETTER`], into a
/// PDF file.
pub fn document_sized(pages: &[Page], (width, height): (f64, f64)) -> Vec<u8> {
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
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.2} {height:.2}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
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

    #[test]
    fn widths_follow_the_helvetica_metrics() {
        // AFM: "H" 722, "i" 222, space 278; Helvetica-Bold "H" 722, "i" 278.
        assert!((text_width("Hi", Font::Regular, 10.0) - 9.44).abs() < 1e-9);
        assert!((text_width("Hi", Font::Bold, 10.0) - 10.0).abs() < 1e-9);
        assert!((text_width("a b", Font::Regular, 1000.0) - (556.0 + 278.0 + 556.0)).abs() < 1e-9);
        // The en dash is one WinAnsi character (556), `≥` prints as ">=" (584 + 584).
        assert!((text_width("–", Font::Regular, 1000.0) - 556.0).abs() < 1e-9);
        assert!((text_width("≥", Font::Regular, 1000.0) - 1168.0).abs() < 1e-9);
    }

    #[test]
    fn typographic_punctuation_is_encoded_in_win_ansi() {
        let mut page = Page::default();
        page.text(Font::Regular, 10.0, 0.0, 0.0, "5–9 % “x” ≥ 10⁹ 日");
        assert!(page.ops.contains("(5\\2269 % \\223x\\224 >= 10^9 ?) Tj"), "{}", page.ops);
    }

    #[test]
    fn wrapped_lines_fit_the_width_and_keep_every_word() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
        let lines = wrap(&text, Font::Regular, 10.0, 200.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| text_width(l, Font::Regular, 10.0) <= 200.0));
        assert_eq!(lines.join(" "), text.trim());
        // Greedy: no line could have taken the next line's first word.
        for pair in lines.windows(2) {
            let next = pair[1].split(' ').next().unwrap();
            let joined = format!("{} {next}", pair[0]);
            assert!(text_width(&joined, Font::Regular, 10.0) > 200.0, "{joined}");
        }
    }

    #[test]
    fn a_word_wider_than_the_line_is_split_not_cut() {
        let word = "https://marrow.example/a/very/long/path/that/has/no/spaces/at/all/0123456789";
        let lines = wrap(&format!("See {word} now"), Font::Bold, 10.0, 80.0);
        assert!(lines.iter().all(|l| text_width(l, Font::Bold, 10.0) <= 80.0), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), format!("See{word}now"));
        // Even a width narrower than one character makes progress, one character a line.
        assert_eq!(wrap("abc", Font::Regular, 10.0, 1.0), ["a", "b", "c"]);
    }

    #[test]
    fn line_breaks_and_blank_lines_between_paragraphs_are_kept() {
        let lines = wrap("First.\n\nSecond\r\nthird", Font::Regular, 10.0, 500.0);
        assert_eq!(lines, ["First.", "", "Second", "third"]);
        assert!(wrap("  \n ", Font::Regular, 10.0, 500.0).is_empty());
    }

    #[test]
    fn the_ink_box_covers_text_and_shapes() {
        let mut page = Page::default();
        assert_eq!(page.ink(), None);
        page.text(Font::Regular, 10.0, 100.0, 700.0, "Hi");
        page.grey_fill(50.0, 40.0, 10.0, 10.0, 0.9);
        page.line(20.0, 600.0, 300.0, 600.0, 1.0);
        let ink = page.ink().unwrap();
        // Butt caps: the line stops at its ends; its thickness counts across it.
        assert!((ink.left - 20.0).abs() < 1e-9 && (ink.right - 300.0).abs() < 1e-9);
        assert!((ink.bottom - 40.0).abs() < 1e-9 && (ink.top - 707.18).abs() < 1e-9);
        assert!(page.ops.contains("q 0.90 g 50.00 40.00 10.00 10.00 re f Q"));
        let mut page = Page::default();
        page.line(0.0, 0.0, 10.0, 10.0, 2.0);
        let ink = page.ink().unwrap();
        let half = 2.0_f64.sqrt() / 2.0;
        assert!((ink.left + half).abs() < 1e-9 && (ink.top - 10.0 - half).abs() < 1e-9);
    }

    #[test]
    fn letter_pages_have_a_letter_media_box() {
        let pdf = String::from_utf8(document_sized(&[Page::default()], LETTER)).unwrap();
        assert!(pdf.contains("/MediaBox [0 0 612.00 792.00]"));
        let pdf = String::from_utf8(document(&[Page::default()])).unwrap();
        assert!(pdf.contains("/MediaBox [0 0 595.28 841.89]"));
    }
}
