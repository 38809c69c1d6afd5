//! Writes a synthetic discharge sheet PDF to the path given (to look at, or to read its QR code),
//! in the language whose code follows (`en`, the default, or `es`).

use marrow_domain::discharge::{DischargeFacts, sheet};
use marrow_domain::patient_text::Language;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "discharge.pdf".to_owned());
    let language = std::env::args().nth(2).unwrap_or_default();
    let language = Language::parse_or_default(&language).expect("a language code: en or es");
    let facts = DischargeFacts {
        sedated: true,
        trephine: true,
        immunocompromised: true,
        phone: None,
        fever_tenths_celsius: 380,
    };
    let pdf = marrow_interop::discharge::sheet_pdf(
        "Alex TESTPATIENT",
        &sheet(&facts, language),
        "http://127.0.0.1:8080/checkin/0123456789abcdef",
        language,
    )
    .expect("a short link fits a QR code");
    std::fs::write(path, pdf).expect("write the sheet");
}
