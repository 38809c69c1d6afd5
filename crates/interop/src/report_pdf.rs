//! TEMPORARY STUB (replaced by the report PDF work before commit).
#![allow(missing_docs)]
use crate::SignedReport;
#[derive(Debug, Clone, Copy)]
pub enum PaperSize {
    A4,
    Letter,
}
pub fn render(report: &SignedReport<'_>, _paper: PaperSize) -> Vec<u8> {
    let mut page = crate::pdf::Page::default();
    page.text(
        crate::pdf::Font::Regular,
        10.0,
        50.0,
        700.0,
        &report.patient.mrn.reveal().to_string(),
    );
    crate::pdf::document(&[page])
}
