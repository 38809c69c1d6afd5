//! The exports through the API: a case's FHIR bundle and HL7 message, the bulk NDJSON export,
//! and refusals (drafts, roles, a missing `_since`). FHIR output is checked with the same
//! fhir.resources validator the interop tests use.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::synthetic::{Staff, case_at};
use serde_json::Value;

use crate::sqlite_app;

/// Runs the FHIR validator on `input` when its Python is available; required in CI.
fn fhir_validate(input: &str) {
    let python = std::env::var("MARROW_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let usable = Command::new(&python)
        .args(["-c", "import fhir.resources"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        assert!(
            std::env::var("MARROW_REQUIRE_VALIDATORS").as_deref() != Ok("1"),
            "{python} cannot import fhir.resources"
        );
        eprintln!("skipping fhir.resources validation: {python} cannot import it");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../interop/tests/validators/fhir_validate.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "fhir.resources refused it:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bundle's first resource of type `ty`.
fn resource<'b>(bundle: &'b Value, ty: &str) -> &'b Value {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == ty)
        .unwrap_or_else(|| panic!("no {ty} in the bundle"))
}

fn report_status(bundle: &Value) -> String {
    resource(bundle, "DiagnosticReport")["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_signed_case_exports_as_fhir_and_hl7_and_a_draft_is_refused() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, amended) = case_at(&app.store, &staff, 1, CaseStatus::Amended).await;
    let (_, draft) = case_at(&app.store, &staff, 2, CaseStatus::InLab).await;
    let clinician = app.api_as(Role::Clinician).await;

    let latest = clinician.get(&format!("/api/v1/cases/{amended}/fhir")).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.headers["content-type"], "application/fhir+json");
    assert_eq!(latest.json["resourceType"], "Bundle");
    assert_eq!(report_status(&latest.json), "amended");
    fhir_validate(&latest.text);
    let first = clinician.get(&format!("/api/v1/cases/{amended}/fhir?version=1")).await;
    assert_eq!(report_status(&first.json), "final");
    let missing = clinician.get(&format!("/api/v1/cases/{amended}/fhir?version=9")).await;
    assert_eq!(missing.status, 404);

    let hl7 = clinician.get(&format!("/api/v1/cases/{amended}/hl7")).await;
    assert_eq!(hl7.status, 200);
    let message = marrow_interop::hl7::parse(&hl7.text).unwrap();
    assert_eq!(message.segment("OBR").unwrap().field(25), "C", "the amendment is a correction");

    for path in [format!("/api/v1/cases/{draft}/fhir"), format!("/api/v1/cases/{draft}/hl7")] {
        let refused = clinician.get(&path).await;
        assert_eq!(refused.status, 409, "{path}");
        assert!(refused.json["error"].as_str().unwrap().contains("no signed report"));
    }
    let admin = app.api_as(Role::Admin).await;
    assert_eq!(admin.get(&format!("/api/v1/cases/{amended}/fhir")).await.status, 403);
}

#[tokio::test]
async fn the_bulk_export_has_one_valid_bundle_per_signed_version_since_a_date() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    case_at(&app.store, &staff, 1, CaseStatus::Amended).await;
    case_at(&app.store, &staff, 2, CaseStatus::Reported).await;
    case_at(&app.store, &staff, 3, CaseStatus::InLab).await;
    let pathologist = app.api_as(Role::Pathologist).await;

    let all = pathologist.get("/api/v1/fhir/export?_since=2026-11-01").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.headers["content-type"], "application/fhir+ndjson");
    let lines: Vec<Value> =
        all.text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 3, "two versions of case 1, one of case 2, none of the draft");
    assert!(lines.iter().all(|b| b["resourceType"] == "Bundle"));
    fhir_validate(&all.text);

    // The synthetic reports were signed at 09:00 UTC on 2026-11-24.
    let later = pathologist.get("/api/v1/fhir/export?_since=2026-11-24T09:00:01Z").await;
    assert_eq!((later.status, later.text.as_str()), (200, ""));
    let missing = pathologist.get("/api/v1/fhir/export").await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json["field"], "_since");
    let bad = pathologist.get("/api/v1/fhir/export?_since=yesterday").await;
    assert_eq!((bad.status, bad.json["field"].as_str()), (422, Some("_since")));
    let clinician = app.api_as(Role::Clinician).await;
    assert_eq!(clinician.get("/api/v1/fhir/export?_since=2026-11-01").await.status, 403);
}

#[tokio::test]
async fn the_case_bundle_carries_the_blood_count_taken_before_the_marrow() {
    use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
    use marrow_store::{CountSource, NewBloodCount};
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (patient, case) = case_at(&app.store, &staff, 1, CaseStatus::Reported).await;
    let now = marrow_testkit::synthetic::now();
    // One count the day before the marrow, one after it: the bundle carries the first.
    for (days, platelets) in [(-1, "62"), (1, "250")] {
        let raw = [
            RawResult { analyte: Analyte::Haemoglobin, value: "9.1", unit: "g/dL" },
            RawResult { analyte: Analyte::Platelets, value: platelets, unit: "10^9/L" },
        ];
        let count =
            BloodCount::parse(now.plus_seconds(days * 86_400), &raw, now.plus_seconds(2 * 86_400))
                .unwrap();
        let new = [NewBloodCount { patient, count: &count, raw: &raw }];
        app.store
            .add_blood_counts(&new, &CountSource::Manual, Some(staff.nurse), now)
            .await
            .unwrap();
    }
    let clinician = app.api_as(Role::Clinician).await;
    let bundle = clinician.get(&format!("/api/v1/cases/{case}/fhir")).await;
    assert_eq!(bundle.status, 200, "{}", bundle.text);
    let observations: Vec<&Value> = bundle.json["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| {
            r["resourceType"] == "Observation"
                && r["code"]["coding"][0]["system"] == "http://loinc.org"
        })
        .filter(|r| matches!(r["code"]["coding"][0]["code"].as_str(), Some("777-3" | "718-7")))
        .collect();
    assert_eq!(observations.len(), 2, "haemoglobin and platelets: {}", bundle.text);
    let platelets =
        observations.iter().find(|o| o["code"]["coding"][0]["code"] == "777-3").unwrap();
    assert_eq!(
        platelets["valueQuantity"]["value"].as_f64(),
        Some(62.0),
        "the count before the marrow"
    );
    assert_eq!(platelets["valueQuantity"]["code"], "10*9/L");
    assert_eq!(platelets["interpretation"][0]["coding"][0]["code"], "L");
    let hb = observations.iter().find(|o| o["code"]["coding"][0]["code"] == "718-7").unwrap();
    assert_eq!(hb["valueQuantity"]["value"].as_f64(), Some(91.0), "converted to g/L");
    fhir_validate(&bundle.text);
}

/// The MRN system the site configured (`--mrn-system`) is what both the case bundle and the
/// bulk export identify the patient in; the default is the placeholder.
#[tokio::test]
async fn the_sites_mrn_system_identifies_the_patient_in_every_fhir_export() {
    let system_of = |bundle: &Value| {
        resource(bundle, "Patient")["identifier"][0]["system"].as_str().unwrap().to_owned()
    };
    let plain = sqlite_app().await;
    let staff = Staff::insert(&plain.store, "!").await;
    let (_, case) = case_at(&plain.store, &staff, 1, CaseStatus::Reported).await;
    let bundle =
        plain.api_as(Role::Clinician).await.get(&format!("/api/v1/cases/{case}/fhir")).await;
    assert_eq!(system_of(&bundle.json), marrow_interop::fhir::MRN_SYSTEM);

    let oid = "urn:oid:2.16.840.1.113883.19.5";
    let config = marrow_server::Config { mrn_system: oid.to_owned(), ..Default::default() };
    let site =
        marrow_testkit::app::spawn_app_with(marrow_testkit::TestDb::sqlite().await, config).await;
    let staff = Staff::insert(&site.store, "!").await;
    let (_, case) = case_at(&site.store, &staff, 1, CaseStatus::Amended).await;
    let pathologist = site.api_as(Role::Pathologist).await;
    let one = pathologist.get(&format!("/api/v1/cases/{case}/fhir")).await;
    assert_eq!(system_of(&one.json), oid);
    fhir_validate(&one.text);
    let bulk = pathologist.get("/api/v1/fhir/export?_since=2026-11-01").await;
    let lines: Vec<Value> = bulk.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "both versions");
    assert!(lines.iter().all(|b| system_of(b) == oid), "{}", bulk.text);
}
