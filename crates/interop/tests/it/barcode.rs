//! The printed labels' barcodes read back with an independent decoder: the sheet is rendered to
//! an image by poppler's `pdftoppm` and read by ZBar's `zbarimg`, as a scanner would.
//!
//! `.ci/run` installs both tools and sets `MARROW_REQUIRE_BARCODE_TOOLS=1`, so in CI a missing
//! tool fails the test. On a developer machine without them the test says so and checks only
//! Marrow's own decoder.

use std::process::Command;

use marrow_interop::code128;
use marrow_interop::labels::{Label, sheet, specimen_code};

fn tool(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

#[test]
fn every_label_barcode_decodes_back_to_its_specimen_id() {
    let ids = [1, 12, 345, 67_890, 999_999];
    let labels: Vec<Label> = ids
        .iter()
        .map(|&n| Label {
            specimen_id: specimen_code(n),
            patient_name: "TESTPATIENT, Alex".into(),
            mrn: "SYN-00001".into(),
            date_of_birth: "1970-05-01".into(),
            tube: "Sodium heparin (dark green)".into(),
            destination: "Cytogenetics".into(),
            collected: "2026-11-24 08:30 UTC".into(),
        })
        .collect();
    for label in &labels {
        let widths = code128::encode(&label.specimen_id).expect("encodes");
        assert_eq!(code128::decode(&widths).as_deref(), Some(label.specimen_id.as_str()));
    }
    let required = std::env::var("MARROW_REQUIRE_BARCODE_TOOLS").is_ok_and(|v| v == "1");
    if !(tool("pdftoppm") && tool("zbarimg")) {
        assert!(
            !required,
            "pdftoppm and zbarimg are required here (apt-get install poppler-utils zbar-tools)"
        );
        eprintln!("pdftoppm/zbarimg not installed: checked Marrow's own decoder only");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("labels.pdf");
    std::fs::write(&pdf, sheet(&labels).expect("sheet")).expect("write");
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(&pdf)
        .arg(dir.path().join("page"))
        .status()
        .expect("run pdftoppm");
    assert!(status.success());
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(dir.path().join("page-1.png"))
        .output()
        .expect("run zbarimg");
    let found: std::collections::BTreeSet<String> =
        String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
    let expected: std::collections::BTreeSet<String> =
        ids.iter().map(|&n| specimen_code(n)).collect();
    assert_eq!(found, expected, "zbarimg read: {found:?}");
}

#[test]
fn the_discharge_sheets_qr_code_reads_back_as_the_check_in_link() {
    use marrow_domain::discharge::{DischargeFacts, sheet as discharge};
    let required = std::env::var("MARROW_REQUIRE_BARCODE_TOOLS").is_ok_and(|v| v == "1");
    if !(tool("pdftoppm") && tool("zbarimg")) {
        assert!(!required, "pdftoppm and zbarimg are required here");
        eprintln!("pdftoppm/zbarimg not installed: QR code not read back");
        return;
    }
    let facts = DischargeFacts {
        sedated: true,
        trephine: true,
        immunocompromised: true,
        phone: None,
        fever_tenths_celsius: 380,
    };
    let link = "http://127.0.0.1:8080/checkin/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let language = marrow_domain::patient_text::Language::Spanish;
    let pdf = marrow_interop::discharge::sheet_pdf(
        "Alex TESTPATIENT",
        &discharge(&facts, language),
        link,
        language,
    )
    .expect("sheet");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("sheet.pdf"), pdf).expect("write");
    let status = Command::new("pdftoppm")
        .args(["-r", "200", "-png"])
        .arg(dir.path().join("sheet.pdf"))
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm");
    assert!(status.success());
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(dir.path().join("page-1.png"))
        .output()
        .expect("zbarimg");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), link);
}
