//! The discharge sheet as a PDF in the patient's language: the check-in link's QR code at the
//! top right of the first page, where the patient looks first, then the title, the patient's
//! name, the link as text, and the sections, continued on a second page when a long sheet (a
//! sedated, immunocompromised patient in Spanish) does not fit on one.
//!
//! Text is Helvetica in WinAnsi ([`crate::pdf`]), which holds every letter of Spanish
//! (á é í ó ú ü ñ ¿ ¡), so no language needs an embedded font.

use marrow_domain::discharge::Section;
use marrow_domain::patient_text::{Language, Phrase};
use qrcode::{Color, QrCode};

use crate::pdf::{A4, Font, MM, Page, document, wrap};

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

/// The QR code as inline SVG (dark squares on white), for the page; `label` is what a screen
/// reader says for it, in the page's language.
pub fn qr_svg(link: &str, size_px: u32, label: &str) -> Result<String, LinkTooLong> {
    let (width, modules) = qr_modules(link)?;
    let quiet = 4;
    let total = width + 2 * quiet;
    let label = label.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {total} {total}\" width=\"{size_px}\" height=\"{size_px}\" role=\"img\" aria-label=\"{label}\"><rect width=\"{total}\" height=\"{total}\" fill=\"#fff\"/>"
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

/// The margin on every side.
const MARGIN: f64 = 20.0 * MM;
/// One QR module: a 41-module code (a link of about 100 characters) is 41 mm across, easy for a
/// phone camera at arm's length.
const MODULE: f64 = 1.0 * MM;
/// White space kept around the QR code: the 4-module quiet zone QR readers need (ISO/IEC
/// 18004), and a little more.
const QR_GAP: f64 = 5.0 * MM;
const BODY: f64 = 12.0;
const LINE: f64 = 6.0 * MM;

/// The sheet in `language`: the sections as [`marrow_domain::discharge::sheet`] gave them, with
/// the check-in link as text and as a QR code.
pub fn sheet_pdf(
    patient: &str,
    sections: &[Section],
    link: &str,
    language: Language,
) -> Result<Vec<u8>, LinkTooLong> {
    Ok(document(&sheet_pages(patient, sections, link, language)?))
}

/// Draws top to bottom, starting a new page when the next line would cross the bottom margin.
struct Pages {
    done: Vec<Page>,
    page: Page,
    y: f64,
}

impl Pages {
    /// Room for `height` below the current line, or a new page.
    fn need(&mut self, height: f64) {
        if self.y - height < MARGIN {
            self.done.push(std::mem::take(&mut self.page));
            self.y = A4.1 - MARGIN;
        }
    }

    /// One line of text whose top is at the current position.
    fn line(&mut self, font: Font, size: f64, x: f64, text: &str, advance: f64) {
        // The baseline sits one ascender below the top, so the ink never rises above it.
        self.page.text(font, size, x, self.y - 0.718 * size, text);
        self.y -= advance;
    }
}

fn sheet_pages(
    patient: &str,
    sections: &[Section],
    link: &str,
    language: Language,
) -> Result<Vec<Page>, LinkTooLong> {
    let (width, modules) = qr_modules(link)?;
    let top = A4.1 - MARGIN;
    let right = A4.0 - MARGIN;
    let qr_size = width as f64 * MODULE;
    let qr_left = right - qr_size;
    let mut pages = Pages { done: Vec::new(), page: Page::default(), y: top };
    for (i, dark) in modules.iter().enumerate() {
        if *dark {
            let (col, row) = ((i % width) as f64, (i / width) as f64);
            pages.page.rect(qr_left + col * MODULE, top - (row + 1.0) * MODULE, MODULE, MODULE);
        }
    }

    // Title and name beside the code, then everything else below it.
    let beside = qr_left - QR_GAP - MARGIN;
    for part in wrap(Phrase::SheetTitle.text(language), Font::Bold, 18.0, beside) {
        pages.line(Font::Bold, 18.0, MARGIN, &part, 8.5 * MM);
    }
    pages.y -= 1.5 * MM;
    let name = Phrase::SheetFor.fill(language, &[("name", patient)]);
    for part in wrap(&name, Font::Regular, BODY, beside) {
        pages.line(Font::Regular, BODY, MARGIN, &part, LINE);
    }
    pages.y = pages.y.min(top - qr_size - QR_GAP);
    let full = right - MARGIN;
    pages.line(Font::Bold, 10.0, MARGIN, Phrase::CheckInLink.text(language), 4.5 * MM);
    for part in wrap(link, Font::Regular, 10.0, full) {
        pages.line(Font::Regular, 10.0, MARGIN, &part, 4.5 * MM);
    }
    pages.y -= 4.0 * MM;

    let indent = 3.0 * MM;
    for section in sections {
        // A heading never ends a page: it keeps its first line with it.
        pages.need(7.0 * MM + LINE);
        pages.line(Font::Bold, 13.0, MARGIN, section.heading, 7.0 * MM);
        for line in &section.lines {
            for part in wrap(line, Font::Regular, BODY, full - indent) {
                pages.need(LINE);
                pages.line(Font::Regular, BODY, MARGIN + indent, &part, LINE);
            }
        }
        pages.y -= 3.0 * MM;
    }
    pages.done.push(pages.page);
    Ok(pages.done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::discharge::{DischargeFacts, sheet};

    const LINK: &str = "http://127.0.0.1:8080/checkin/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0?lang=es";

    fn facts() -> DischargeFacts {
        DischargeFacts {
            sedated: true,
            trephine: false,
            immunocompromised: false,
            phone: Some("020 7946 0000".into()),
            fever_tenths_celsius: 380,
        }
    }

    /// The text as it stands in the PDF's content: WinAnsi bytes, octal past ASCII.
    fn in_pdf(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match u32::from(c) {
                0xA0..=0xFF => out.push_str(&format!("\\{:03o}", u32::from(c))),
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn the_pdf_carries_every_line_and_the_link() {
        let sections = sheet(&facts(), Language::English);
        let link = "https://marrow.example/checkin/0123";
        let pdf = String::from_utf8(
            sheet_pdf("Alex TESTPATIENT", &sections, link, Language::English).unwrap(),
        )
        .unwrap();
        for line in sections.iter().flat_map(|s| &s.lines) {
            for part in wrap(line, Font::Regular, BODY, A4.0 - 2.0 * MARGIN - 3.0 * MM) {
                assert!(pdf.contains(&format!("({}) Tj", in_pdf(&part))), "{part}");
            }
        }
        assert!(pdf.contains(&format!("({link}) Tj")));
        assert!(pdf.contains("(After your bone marrow test) Tj"));
        assert!(pdf.contains("(For: Alex TESTPATIENT) Tj"));
        assert_eq!(
            pdf,
            String::from_utf8(
                sheet_pdf("Alex TESTPATIENT", &sections, link, Language::English).unwrap()
            )
            .unwrap(),
            "the same sheet gives the same bytes"
        );
        let svg = qr_svg(link, 160, "QR code of the check-in link").unwrap();
        assert!(svg.starts_with("<svg") && svg.matches("<rect").count() > 100);
        assert!(svg.contains("aria-label=\"QR code of the check-in link\""));
    }

    /// Spanish letters are WinAnsi bytes (é is 0xE9, written `\351`), never `?`.
    #[test]
    fn a_spanish_sheet_keeps_its_accents() {
        let facts = DischargeFacts { immunocompromised: true, ..facts() };
        let sections = sheet(&facts, Language::Spanish);
        let bytes = sheet_pdf("Alex Núñez", &sections, LINK, Language::Spanish).unwrap();
        let pdf = String::from_utf8(bytes).unwrap();
        assert!(pdf.contains(&format!("({}) Tj", in_pdf("Después de su prueba de médula ósea"))));
        assert!(pdf.contains("(Para: Alex N\\372\\361ez) Tj"), "ú and ñ");
        assert!(pdf.contains("Cu\\351ntenos c\\363mo se encuentra"), "é and ó");
        assert!(pdf.contains("(Cu\\341ndo llamarnos enseguida) Tj"), "á");
        assert!(pdf.contains("(Qu\\351 es normal) Tj"));
        // Every accented letter of the Spanish catalogue is one WinAnsi byte: nothing became
        // "?" (the encoder's mark for a character the font lacks).
        let spanish: String = Phrase::ALL.iter().map(|p| p.text(Language::Spanish)).collect();
        for c in spanish.chars().filter(|c| !c.is_ascii()) {
            assert!(matches!(u32::from(c), 0xA0..=0xFF), "{c:?} is not in WinAnsi");
        }
        for c in ['á', 'é', 'í', 'ó', 'ú', 'ñ', 'ü', '¿', '¡'] {
            assert!(matches!(u32::from(c), 0xA0..=0xFF), "{c}");
        }
        // The link is the one text with a "?" of its own.
        let marks: Vec<&str> = pdf
            .lines()
            .filter(|l| l.ends_with(" Tj ET") && l.contains('?') && !l.contains("/checkin/"))
            .collect();
        assert!(marks.is_empty(), "{marks:#?}");
    }

    /// Every variant of the sheet, in every language, stays inside the margins, with the QR
    /// code on the first page.
    #[test]
    fn every_sheet_fits_inside_the_margins() {
        for &language in Language::ALL {
            for sedated in [false, true] {
                for trephine in [false, true] {
                    for immunocompromised in [false, true] {
                        let f = DischargeFacts { sedated, trephine, immunocompromised, ..facts() };
                        let pages =
                            sheet_pages("Alex TESTPATIENT", &sheet(&f, language), LINK, language)
                                .unwrap();
                        assert!(pages.len() <= 2, "{language:?} {f:?}: {} pages", pages.len());
                        for page in &pages {
                            let ink = page.ink().unwrap();
                            let inside = ink.left >= MARGIN - 0.01
                                && ink.right <= A4.0 - MARGIN + 0.01
                                && ink.bottom >= MARGIN - 2.0 * MM
                                && ink.top <= A4.1 - MARGIN + 0.01;
                            assert!(inside, "{language:?} {f:?}: {ink:?}");
                        }
                    }
                }
            }
        }
    }
}
