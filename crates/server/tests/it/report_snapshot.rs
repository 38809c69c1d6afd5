//! The signed report page for a fixed synthetic case, under the fixed test clock, against a
//! committed snapshot (the PDF text, FHIR and HL7 snapshots are in marrow-interop's tests).
//! `MARROW_UPDATE_SNAPSHOTS=1` rewrites it after a deliberate change.

use std::path::PathBuf;

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::synthetic::{Staff, case_at};

use crate::sqlite_app;

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var("MARROW_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    for (n, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        assert_eq!(e, a, "{name} line {}", n + 1);
    }
    assert_eq!(expected.lines().count(), actual.lines().count(), "{name} length");
}

#[tokio::test]
async fn the_amended_report_page_matches_its_snapshot() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Amended).await;
    let mut clinician = app.browser_as(Role::Clinician).await;
    let page = clinician.get(&format!("/cases/{case}/report/versions/2")).await;
    assert_eq!(page.status, 200);
    let start = page.html.find("<article class=\"report\">").expect("the report article");
    let end =
        page.html[start..].find("</nav>").expect("the versions list") + start + "</nav>".len();
    let report = &page.html[start..end];
    assert!(report.contains("AMENDED. Reason: Trephine result added."));
    assert!(report.contains("What version 2 changed"));
    snapshot("report-v2.html", report);
}
