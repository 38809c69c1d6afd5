//! Writes a sheet of synthetic specimen labels to the path given (for checking the barcodes
//! with an independent decoder, e.g. `pdftoppm` then `zbarimg`).

use marrow_interop::labels::{Label, sheet, specimen_code};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "labels.pdf".to_owned());
    let labels: Vec<Label> = [12, 345, 999_999]
        .iter()
        .map(|&n| Label {
            specimen_id: specimen_code(n),
            patient_name: "TESTPATIENT, Alex".into(),
            mrn: "SYN-00001".into(),
            date_of_birth: "1970-05-01".into(),
            tube: "EDTA (lavender)".into(),
            destination: "Flow cytometry".into(),
            collected: "2026-11-24 08:30 UTC".into(),
        })
        .collect();
    let pdf = sheet(&labels).expect("synthetic ids encode");
    std::fs::write(&path, pdf).expect("write the sheet");
}
