//! Writes a synthetic discharge sheet PDF to the path given (to look at, or to read its QR code).

use marrow_domain::discharge::{DischargeFacts, sheet};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "discharge.pdf".to_owned());
    let facts = DischargeFacts {
        sedated: true,
        trephine: true,
        immunocompromised: true,
        phone: "your care team".into(),
        fever_tenths_celsius: 380,
    };
    let pdf = marrow_interop::discharge::sheet_pdf(
        "Alex TESTPATIENT",
        &sheet(&facts),
        "http://127.0.0.1:8080/checkin/0123456789abcdef",
    )
    .expect("a short link fits a QR code");
    std::fs::write(path, pdf).expect("write the sheet");
}
