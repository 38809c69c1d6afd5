//! Specimen labels and receiving a case's specimens by scanning one of its labels.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::app::snapshot;
use marrow_testkit::synthetic::{Staff, case_at};

use crate::sqlite_app;

#[tokio::test]
async fn the_label_sheet_carries_every_specimen_and_a_scanned_label_receives_the_case() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Performed).await;
    let record = app.store.case(case).await.unwrap();
    let mut nurse = app.browser_as(Role::Nurse).await;
    let pdf = nurse.get(&format!("/cases/{case}/labels.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.html.starts_with("%PDF-1.4"));
    for s in &record.specimens {
        let code = marrow_interop::labels::specimen_code(s.id.0);
        assert!(pdf.html.contains(&format!("({code}) Tj")), "label for {code}");
    }
    assert!(pdf.html.contains("(TESTPATIENT, Alex) Tj"));

    let mut tech = app.browser_as(Role::Technologist).await;
    let worklist = tech.get("/lab/receive").await;
    assert_eq!(worklist.status, 200);
    for s in &record.specimens {
        let code = marrow_interop::labels::specimen_code(s.id.0);
        assert!(
            worklist.html.contains(&format!("<td>{code}</td>")),
            "{code} awaits receipt: {}",
            worklist.html
        );
    }
    let before = snapshot(&app.store).await;
    let bad = tech.post("/lab/receive", &[("specimen", "X-12")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("href=\"#f-specimen\""));
    let unknown = tech.post("/lab/receive", &[("specimen", "S999999")]).await;
    assert_eq!(unknown.status, 422);
    assert_eq!(before, snapshot(&app.store).await);

    // A keyboard-wedge scanner types the printed id and Enter: the form posts it.
    let scanned = marrow_interop::labels::specimen_code(record.specimens[1].id.0);
    let r = tech.post("/lab/receive", &[("specimen", &scanned)]).await;
    assert_eq!(r.status, 303, "{}", r.html);
    let after = app.store.case(case).await.unwrap();
    assert_eq!(after.status, CaseStatus::InLab);
    assert!(after.specimens.iter().all(|s| s.received.is_some()));
    let worklist = tech.get("/lab/receive").await;
    assert!(worklist.html.contains("Specimens of case") || worklist.html.contains("None."));
    assert!(
        !worklist.html.contains(&format!("<td>{scanned}</td>")),
        "received specimens leave the worklist"
    );
    let again = tech.post("/lab/receive", &[("specimen", &scanned)]).await;
    assert_eq!(again.status, 409, "already received");
    let mut clinician = app.browser_as(Role::Clinician).await;
    assert_eq!(clinician.post("/lab/receive", &[("specimen", &scanned)]).await.status, 403);
}
