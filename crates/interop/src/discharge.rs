//! The discharge sheet as a one-page PDF, with the check-in link as text and as a QR code.

use marrow_domain::discharge::Section;
use qrcode::{Color, QrCode};

use crate::pdf::{A4, Font, MM, Page, document};

/// Why a QR code could not be made (a link far longer than ours).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the link is too long for a QR code")]
pub struct LinkTooLong;

/// The QR code's modules, row by row (`true` = dark), and its width.
pub fn qr_modules(link: &str) -> Result<(usize, Vec<bool>), LinkTooLong> {
    let code = QrCode::new(link.as_bytes()).map_err(|_| LinkTooLong)?;
    let width = code.width();
    Ok((width, code.to_colors().into_iter().map(|c| c == Color::Dark).collect()))
}

/// The QR code as inline SVG (dark squares on white), for the page.
pub fn qr_svg(link: &str, size_px: u32) -> Result<String, LinkTooLong> {
    let (width, modules) = qr_modules(link)?;
    let quiet = 4;
    let total = width + 2 * quiet;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {total} {total}\" width=\"{size_px}\" height=\"{size_px}\" role=\"img\" aria-label=\"QR code of the check-in link\"><rect width=\"{total}\" height=\"{total}\" fill=\"#fff\"/>"
    );
    for (i, dark) in modules.iter().enumerate() {
        if *dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            svg.push_str(&format!("<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\"/>"));
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// The sheet: title, the patient's name, the sections, and the check-in link with its QR code.
pub fn sheet_pdf(patient: &str, sections: &[Section], link: &str) -> Result<Vec<u8>, LinkTooLong> {
    let mut page = Page::default();
    let left = 20.0 * MM;
    let mut y = A4.1 - 25.0 * MM;
    page.text(Font::Bold, 18.0, left, y, "After your bone marrow test");
    y -= 8.0 * MM;
    page.text(Font::Regular, 12.0, left, y, &format!("For: {patient}"));
    y -= 10.0 * MM;
    for section in sections {
        page.text(Font::Bold, 13.0, left, y, section.heading);
        y -= 6.5 * MM;
        for line in &section.lines {
            for part in wrap(line, 78) {
                page.text(Font::Regular, 12.0, left + 3.0 * MM, y, &part);
                y -= 6.0 * MM;
            }
        }
        y -= 3.0 * MM;
    }
    let (width, modules) = qr_modules(link)?;
    let module = 1.2 * MM;
    let qr_top = y - 2.0 * MM;
    for (i, dark) in modules.iter().enumerate() {
        if *dark {
            let (col, row) = ((i % width) as f64, (i / width) as f64);
            page.rect(left + col * module, qr_top - (row + 1.0) * module, module, module);
        }
    }
    page.text(Font::Regular, 10.0, left, qr_top - (width as f64 + 3.0) * module, link);
    Ok(document(&[page]))
}

/// Breaks a line at spaces so no piece is longer than `width` characters (12 pt Helvetica on an
/// A4 page with 20 mm margins holds about 80).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in line.split_whitespace() {
        let current = lines.last_mut().map_or(0, |l| l.chars().count());
        if current > 0 && current + 1 + word.chars().count() > width {
            lines.push(String::new());
        }
        if let Some(last) = lines.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::discharge::{DischargeFacts, sheet};

    #[test]
    fn the_pdf_carries_every_line_and_the_link() {
        let facts = DischargeFacts {
            sedated: true,
            trephine: false,
            immunocompromised: false,
            phone: "020 7946 0000".into(),
            fever_tenths_celsius: 380,
        };
        let sections = sheet(&facts);
        let link = "https://marrow.example/checkin/0123";
        let pdf =
            String::from_utf8(sheet_pdf("Alex TESTPATIENT", &sections, link).unwrap()).unwrap();
        for line in sections.iter().flat_map(|s| &s.lines) {
            for part in wrap(line, 78) {
                let escaped = part.replace('°', "\\260");
                assert!(pdf.contains(&format!("({escaped}) Tj")), "{part}");
            }
        }
        let long = "word ".repeat(40);
        assert!(wrap(&long, 78).iter().all(|l| l.chars().count() <= 78));
        assert!(pdf.contains(&format!("({link}) Tj")));
        assert_eq!(
            pdf,
            String::from_utf8(sheet_pdf("Alex TESTPATIENT", &sections, link).unwrap()).unwrap()
        );
        let svg = qr_svg(link, 160).unwrap();
        assert!(svg.starts_with("<svg") && svg.matches("<rect").count() > 100);
    }
}
