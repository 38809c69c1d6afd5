//! Bad input to every form and API route gets a 4xx that names the field, and leaves the
//! stored data exactly as it was.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::app::snapshot;
use marrow_testkit::synthetic::{Staff, case_at};
use reqwest::Method;
use serde_json::json;

use crate::sqlite_app;

/// Who submits, where, which fields, the expected status and the field the error must name.
type FormCase = (Role, String, Vec<(&'static str, &'static str)>, u16, &'static str);

#[tokio::test]
async fn bad_api_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (patient, ordered) = case_at(&app.store, &staff, 1, CaseStatus::Ordered).await;
    let (_, checked) = case_at(&app.store, &staff, 2, CaseStatus::Checked).await;
    let (_, in_lab) = case_at(&app.store, &staff, 3, CaseStatus::InLab).await;
    let (_, reported) = case_at(&app.store, &staff, 4, CaseStatus::Reported).await;
    let clinician = app.api_as(Role::Clinician).await;
    let nurse = app.api_as(Role::Nurse).await;
    let tech = app.api_as(Role::Technologist).await;
    let path = app.api_as(Role::Pathologist).await;

    let good_patient = json!({"mrn": "SYN-NEW-1", "family_name": "Valid", "given_name": "Input", "date_of_birth": "1970-01-01", "sex": "female"});
    let with = |base: &serde_json::Value, key: &str, value: serde_json::Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let good_safety =
        json!({"platelets": 150, "inr": 1.0, "bloods_taken_at": "2026-11-24T08:00:00Z"});
    let good_procedure = json!({"operator": "Dr Synthetic", "performed_at": "2026-11-24T08:00:00Z", "site": "posterior-iliac-crest",
        "side": "left", "position": "lateral", "local_anaesthetic": "Lidocaine 1%", "sedation": "none",
        "specimens": [{"tube": "edta", "destination": "morphology"}], "time_out_done": true});
    let amend = json!({"reason": "Why", "adequacy": "adequate", "cellularity": "normocellular", "interpretation": "Fine."});

    let ordered_case = format!("/api/v1/cases/{ordered}");
    let checked_case = format!("/api/v1/cases/{checked}");
    let lab_case = format!("/api/v1/cases/{in_lab}");
    let reported_case = format!("/api/v1/cases/{reported}");
    let cases: Vec<(&marrow_testkit::Api, Method, String, String, u16, &str)> = vec![
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "mrn", json!("no good!")).to_string(), 422, "mrn"),
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "family_name", json!(5)).to_string(), 422, "family_name"),
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "date_of_birth", json!("2030-01-01")).to_string(), 422, "date_of_birth"),
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "sex", json!("x")).to_string(), 422, "sex"),
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "nickname", json!("Al")).to_string(), 422, "nickname"),
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "mrn", json!("SYN-00001")).to_string(), 409, "mrn"),
        (&clinician, Method::POST, "/api/v1/patients".into(), "{\"mrn\": ".into(), 422, "body"),
        // A member with an empty name is blamed on the body, not on a blank field (found by fuzzing).
        (&clinician, Method::POST, "/api/v1/patients".into(), with(&good_patient, "", json!(1)).to_string(), 422, "body"),
        (&clinician, Method::POST, "/api/v1/cases".into(), json!({"indication": "staging", "sampling": "aspirate", "urgency": "routine"}).to_string(), 422, "patient_id"),
        (&clinician, Method::POST, "/api/v1/cases".into(), json!({"patient_id": patient.0, "indication": "abnormal-blood-counts", "sampling": "aspirate", "urgency": "routine"}).to_string(), 422, "lineages"),
        (&clinician, Method::POST, "/api/v1/cases".into(), json!({"patient_id": patient.0, "indication": "staging", "sampling": "core", "urgency": "routine"}).to_string(), 422, "sampling"),
        (&clinician, Method::POST, "/api/v1/cases".into(), json!({"patient_id": 999_999, "indication": "staging", "sampling": "aspirate", "urgency": "routine"}).to_string(), 422, "patient_id"),
        (&nurse, Method::PUT, format!("{ordered_case}/safety-check"), with(&good_safety, "platelets", json!("lots")).to_string(), 422, "platelets"),
        (&nurse, Method::PUT, format!("{ordered_case}/safety-check"), with(&good_safety, "platelets", json!(90000)).to_string(), 422, "platelets"),
        (&nurse, Method::PUT, format!("{ordered_case}/safety-check"), with(&good_safety, "inr", json!(40)).to_string(), 422, "inr"),
        (&nurse, Method::PUT, format!("{ordered_case}/safety-check"), with(&good_safety, "bloods_taken_at", json!(null)).to_string(), 422, "bloods_taken_at"),
        (&nurse, Method::PUT, format!("{ordered_case}/safety-check"), with(&good_safety, "medications", json!([{"name": "X", "class": "thinner", "dose": "1"}])).to_string(), 422, "medications[0].class"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "side", json!("midline")).to_string(), 422, "side"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "performed_at", json!("yesterday")).to_string(), 422, "performed_at"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "specimens", json!([])).to_string(), 422, "specimens"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "specimens", json!([{"tube": "bag", "destination": "morphology"}])).to_string(), 422, "specimens[0].tube"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "operator", json!(" ")).to_string(), 422, "operator"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "time_out_done", json!(false)).to_string(), 422, "time_out"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "passes", json!(0)).to_string(), 422, "passes"),
        (&nurse, Method::POST, format!("{checked_case}/procedure"), with(&good_procedure, "specimens", json!([{"tube": "edta", "destination": "morphology", "volume_ml": 30}])).to_string(), 422, "specimens[0].volume_ml"),
        (&tech, Method::PUT, format!("{lab_case}/differential"), json!({"counts": {"blasts": -1}}).to_string(), 422, "counts.blasts"),
        (&tech, Method::PUT, format!("{lab_case}/differential"), json!({"counts": {"megakaryocytes": 3}}).to_string(), 422, "counts"),
        (&tech, Method::PUT, format!("{lab_case}/differential"), json!({"counts": {}}).to_string(), 422, "counts"),
        (&tech, Method::PUT, format!("{lab_case}/report/draft"), json!({"expected_revision": 1, "adequacy": "great"}).to_string(), 422, "adequacy"),
        (&tech, Method::PUT, format!("{lab_case}/report/draft"), json!({"adequacy": "adequate"}).to_string(), 422, "expected_revision"),
        (&path, Method::POST, format!("{reported_case}/report/amendments"), with(&amend, "reason", json!("")).to_string(), 422, "reason"),
        (&path, Method::POST, format!("{reported_case}/report/amendments"), with(&amend, "cellularity", json!("packed")).to_string(), 422, "cellularity"),
        (&clinician, Method::GET, "/api/v1/cases?limit=0".into(), String::new(), 422, "limit"),
        (&clinician, Method::GET, "/api/v1/cases?status=done".into(), String::new(), 422, "status"),
    ];
    for (api, method, route, body, status, field) in cases {
        let before = snapshot(&app.store).await;
        let reply = api.send_raw(method.clone(), &route, &body).await;
        assert_eq!(reply.status, status, "{method} {route} {body}: {:?}", reply.json);
        assert_eq!(reply.json["field"], field, "{method} {route} {body}: {:?}", reply.json);
        assert!(!reply.json["error"].as_str().unwrap_or("").is_empty());
        assert_eq!(
            before,
            snapshot(&app.store).await,
            "{method} {route} {body} changed stored data"
        );
    }
}

#[tokio::test]
async fn bad_form_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (patient, ordered) = case_at(&app.store, &staff, 1, CaseStatus::Ordered).await;
    let (_, checked) = case_at(&app.store, &staff, 2, CaseStatus::Checked).await;
    let (_, in_lab) = case_at(&app.store, &staff, 3, CaseStatus::InLab).await;
    let (_, reported) = case_at(&app.store, &staff, 4, CaseStatus::Reported).await;
    let mut browsers = std::collections::HashMap::new();
    for role in [Role::Clinician, Role::Nurse, Role::Technologist, Role::Pathologist, Role::Admin] {
        browsers.insert(role, app.browser_as(role).await);
    }

    let patient_form = [
        ("mrn", "SYN-FORM-1"),
        ("family_name", "Valid"),
        ("given_name", "Form"),
        ("date_of_birth", "1970-01-01"),
        ("sex", "male"),
    ];
    let replace = |base: &[(&'static str, &'static str)],
                   key: &str,
                   value: &'static str|
     -> Vec<(&'static str, &'static str)> {
        base.iter().map(|&(k, v)| if k == key { (k, value) } else { (k, v) }).collect()
    };
    let procedure = [
        ("operator", "Dr Synthetic"),
        ("performed_at", "2026-11-24T08:00"),
        ("site", "posterior-iliac-crest"),
        ("side", "left"),
        ("position", "lateral"),
        ("local_anaesthetic", "Lidocaine 1%"),
        ("sedation", "none"),
        ("time_out", "on"),
        ("specimen_tube", "edta"),
        ("specimen_destination", "morphology"),
    ];
    let amend = [
        ("reason", "Why"),
        ("adequacy", "adequate"),
        ("cellularity", "normocellular"),
        ("interpretation", "Fine."),
    ];

    let cases: Vec<FormCase> = vec![
        (Role::Clinician, "/patients".into(), replace(&patient_form, "mrn", "x"), 422, "mrn"),
        (
            Role::Clinician,
            "/patients".into(),
            replace(&patient_form, "date_of_birth", "31/01/1970"),
            422,
            "date_of_birth",
        ),
        (
            Role::Clinician,
            "/patients".into(),
            replace(&patient_form, "mrn", "SYN-00001"),
            409,
            "mrn",
        ),
        (
            Role::Clinician,
            format!("/patients/{patient}/orders"),
            vec![
                ("indication", "abnormal-blood-counts"),
                ("sampling", "aspirate"),
                ("urgency", "routine"),
            ],
            422,
            "lineages",
        ),
        (
            Role::Clinician,
            format!("/patients/{patient}/orders"),
            vec![("indication", "other"), ("sampling", "aspirate"), ("urgency", "routine")],
            422,
            "indication_text",
        ),
        (
            Role::Nurse,
            format!("/cases/{ordered}/safety-check"),
            vec![("platelets", "lots"), ("bloods_taken_at", "2026-11-24T08:00")],
            422,
            "platelets",
        ),
        (
            Role::Nurse,
            format!("/cases/{ordered}/safety-check"),
            vec![("inr", "1.2")],
            422,
            "bloods_taken_at",
        ),
        (
            Role::Nurse,
            format!("/cases/{ordered}/safety-check"),
            vec![
                ("med_name", "Warfarin"),
                ("med_class", "vitamin-k-antagonist"),
                ("med_dose", ""),
                ("med_last_dose", ""),
            ],
            422,
            "medications[0].dose",
        ),
        (
            Role::Nurse,
            format!("/cases/{checked}/procedure"),
            replace(&procedure, "side", "midline"),
            422,
            "side",
        ),
        (
            Role::Nurse,
            format!("/cases/{checked}/procedure"),
            replace(&procedure, "specimen_tube", ""),
            422,
            "specimens[0].tube",
        ),
        (
            Role::Technologist,
            format!("/cases/{in_lab}/differential"),
            vec![("count.blasts", "x")],
            422,
            "counts.blasts",
        ),
        (
            Role::Technologist,
            format!("/cases/{in_lab}/report"),
            vec![("revision", "1"), ("adequacy", "great")],
            422,
            "adequacy",
        ),
        (
            Role::Pathologist,
            format!("/cases/{reported}/report/amend"),
            replace(&amend, "reason", " "),
            422,
            "reason",
        ),
        (
            Role::Admin,
            "/admin/users".into(),
            vec![
                ("username", "new.user"),
                ("display_name", "New"),
                ("role", "nurse"),
                ("password", "short"),
            ],
            422,
            "password",
        ),
        (
            Role::Admin,
            "/admin/users".into(),
            vec![
                ("username", "new user"),
                ("display_name", "New"),
                ("role", "nurse"),
                ("password", "long enough password"),
            ],
            422,
            "username",
        ),
    ];
    for (role, route, fields, status, field) in cases {
        let browser = browsers.get_mut(&role).unwrap();
        let before = snapshot(&app.store).await;
        let users_before = app.store.users().await.unwrap();
        let page = browser.post(&route, &fields).await;
        assert_eq!(page.status, status, "{route} {fields:?}: {}", page.html);
        assert!(
            page.html.contains(&format!("href=\"#f-{field}\"")),
            "{route}: the error names {field}: {}",
            page.html
        );
        errors_are_tied_to_their_fields(&route, field, &page.html);
        assert_eq!(before, snapshot(&app.store).await, "{route} {fields:?} changed stored data");
        assert_eq!(users_before, app.store.users().await.unwrap());
    }
}

/// The error summary's link leads to a control that exists, and the invalid control names the
/// visible error paragraph in its aria-describedby (WCAG 1.3.1, 3.3.1).
fn errors_are_tied_to_their_fields(route: &str, field: &str, html: &str) {
    assert!(
        html.contains(&format!("id=\"f-{field}\"")),
        "{route}: the summary links to #f-{field}, which is on the page: {html}"
    );
    let described = html
        .split("aria-invalid=\"true\" aria-describedby=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{route}: no field is marked invalid for {field}: {html}"));
    assert!(
        html.contains(&format!("<p class=\"field-error\" id=\"{described}\">")),
        "{route}: the invalid field is described by #{described}, the visible error: {html}"
    );
}
