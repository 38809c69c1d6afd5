//! Specimen labels: an A4 sheet of 2 × 7 labels (99.1 × 38.1 mm, the common laser-label
//! layout), each with the patient's identifiers, the tube and destination, and a Code 128
//! barcode of the specimen id that a keyboard-wedge scanner types back into Marrow.

use crate::code128;
use crate::pdf::{A4, Font, MM, Page, document};

/// What one label shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The specimen id as printed and encoded, e.g. `S000012`.
    pub specimen_id: String,
    /// "FAMILY, Given".
    pub patient_name: String,
    /// Medical record number.
    pub mrn: String,
    /// Date of birth.
    pub date_of_birth: String,
    /// The container.
    pub tube: String,
    /// The destination laboratory.
    pub destination: String,
    /// When it was collected.
    pub collected: String,
}

/// The printed form of a specimen id.
pub fn specimen_code(id: i64) -> String {
    format!("S{id:06}")
}

/// Reads a scanned or typed specimen id (`S000012`, `s12`, `12`) back to its number.
pub fn parse_specimen_code(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let digits = raw.strip_prefix(['S', 's']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

const COLUMNS: usize = 2;
const ROWS: usize = 7;
const WIDTH: f64 = 99.1 * MM;
const HEIGHT: f64 = 38.1 * MM;
const LEFT: f64 = 4.65 * MM;
const TOP: f64 = 15.15 * MM;
const GAP: f64 = 2.5 * MM;
/// One barcode module: 0.3 mm, within what common label printers and scanners handle.
const MODULE: f64 = 0.3 * MM;

/// The label sheet(s) as a PDF; more than 14 labels continue on further pages.
pub fn sheet(labels: &[Label]) -> Result<Vec<u8>, code128::Unencodable> {
    let mut pages = Vec::new();
    for chunk in labels.chunks(COLUMNS * ROWS) {
        let mut page = Page::default();
        for (i, label) in chunk.iter().enumerate() {
            let (col, row) = (i % COLUMNS, i / COLUMNS);
            let x = LEFT + col as f64 * (WIDTH + GAP);
            let y = A4.1 - TOP - (row + 1) as f64 * HEIGHT;
            draw(&mut page, label, x, y)?;
        }
        pages.push(page);
    }
    Ok(document(&pages))
}

fn draw(page: &mut Page, label: &Label, x: f64, y: f64) -> Result<(), code128::Unencodable> {
    page.outline(x, y, WIDTH, HEIGHT);
    let left = x + 4.0 * MM;
    let top = y + HEIGHT - 5.5 * MM;
    page.text(Font::Bold, 10.0, left, top, &label.patient_name);
    page.text(
        Font::Regular,
        8.0,
        left,
        top - 11.0,
        &format!("MRN {}   Born {}", label.mrn, label.date_of_birth),
    );
    page.text(
        Font::Regular,
        8.0,
        left,
        top - 21.0,
        &format!("{}  ->  {}", label.tube, label.destination),
    );
    page.text(Font::Regular, 7.0, left, top - 30.0, &format!("Collected {}", label.collected));
    let widths = code128::encode(&label.specimen_id)?;
    let bar_height = 10.0 * MM;
    let bar_y = y + 5.0 * MM;
    // Ten modules of quiet zone before the symbol.
    let mut cursor = left + 10.0 * MODULE;
    for (i, w) in widths.iter().enumerate() {
        let width = f64::from(*w) * MODULE;
        if i % 2 == 0 {
            page.rect(cursor, bar_y, width, bar_height);
        }
        cursor += width;
    }
    page.text(Font::Bold, 9.0, cursor + 12.0 * MODULE, bar_y + 3.5 * MM, &label.specimen_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(n: i64) -> Label {
        Label {
            specimen_id: specimen_code(n),
            patient_name: "TESTPATIENT, Alex".into(),
            mrn: "SYN-00001".into(),
            date_of_birth: "1970-05-01".into(),
            tube: "EDTA (lavender)".into(),
            destination: "Flow cytometry".into(),
            collected: "2026-11-24 08:30 UTC".into(),
        }
    }

    #[test]
    fn specimen_codes_round_trip_as_printed_or_typed() {
        assert_eq!(specimen_code(12), "S000012");
        for raw in ["S000012", "s12", " 12 "] {
            assert_eq!(parse_specimen_code(raw), Some(12));
        }
        assert_eq!(parse_specimen_code("X12"), None);
        assert_eq!(parse_specimen_code(""), None);
    }

    #[test]
    fn fifteen_labels_take_two_pages_and_each_carries_its_identifiers() {
        let labels: Vec<Label> = (1..=15).map(label).collect();
        let pdf = String::from_utf8(sheet(&labels).unwrap()).unwrap();
        assert!(pdf.contains("/Count 2"));
        for n in 1..=15 {
            assert!(pdf.contains(&format!("(S{n:06}) Tj")), "label {n}");
        }
        assert_eq!(pdf.matches("(TESTPATIENT, Alex) Tj").count(), 15, "the patient on every label");
        assert_eq!(sheet(&labels).unwrap(), sheet(&labels).unwrap(), "byte-stable");
    }
}
