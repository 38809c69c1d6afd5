//! One synthetic patient from order to an amended report: through the JSON API, and again
//! through the HTML pages, on SQLite and on PostgreSQL.

use marrow_domain::role::Role;
use marrow_testkit::TestApp;
use marrow_testkit::synthetic;
use serde_json::{Value, json};

use crate::sqlite_app;

pub(crate) async fn api_story(app: &TestApp) {
    let clinician = app.api_as(Role::Clinician).await;
    let nurse = app.api_as(Role::Nurse).await;
    let proceduralist = app.api_as(Role::Proceduralist).await;
    let technologist = app.api_as(Role::Technologist).await;
    let pathologist = app.api_as(Role::Pathologist).await;

    let r = clinician
        .post(
            "/api/v1/patients",
            &json!({"mrn": "syn-api-1", "family_name": "Storypatient", "given_name": "Api",
                    "date_of_birth": "1962-04-12", "sex": "female"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_eq!(r.json["mrn"], "SYN-API-1");
    let patient_id = r.json["id"].as_i64().unwrap();

    let r = clinician
        .post(
            "/api/v1/cases",
            &json!({"patient_id": patient_id, "indication": "abnormal-blood-counts",
                    "lineages": ["platelets-low", "neutrophils-low"], "sampling": "aspirate-trephine",
                    "urgency": "urgent", "clinical_details": "Pancytopenia on FBC (synthetic)."}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_eq!(r.json["status"], "ordered");
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(r.headers["location"], format!("/api/v1/cases/{id}").as_str());
    let case = format!("/api/v1/cases/{id}");

    let list = clinician.get("/api/v1/cases").await;
    assert_eq!(list.status, 200);
    assert!(list.json["cases"].as_array().unwrap().iter().any(|c| c["id"] == id));

    let r = nurse
        .put(
            &format!("{case}/safety-check"),
            &json!({"medications": [{"name": "Aspirin", "class": "antiplatelet", "dose": "75 mg daily",
                                     "last_dose_at": "2026-11-22T08:00:00Z"}],
                    "allergies": ["Penicillin"], "platelets": 88, "inr": 1.1,
                    "bloods_taken_at": "2026-11-24T07:00:00Z", "sedation_planned": true,
                    "escort_arranged": true, "immunocompromised": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "checked");
    assert_eq!(r.json["safety_check"]["inr"], "1.10");

    let r = proceduralist
        .post(
            &format!("{case}/procedure"),
            &json!({"operator": "Dr Synthetic Operator", "performed_at": "2026-11-24T08:30:00Z",
                    "site": "posterior-iliac-crest", "side": "right", "position": "lateral",
                    "local_anaesthetic": "Lidocaine 1% 10 mL", "sedation": "oral",
                    "specimens": [{"tube": "smears", "destination": "morphology"},
                                  {"tube": "edta", "destination": "flow-cytometry"},
                                  {"tube": "trephine-formalin", "destination": "histopathology"}],
                    "time_out_done": true, "needle": "Jamshidi 11G", "passes": 2, "trephine_length_mm": 19,
                    "haemostasis": "Pressure 10 min; dry dressing"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "performed");
    assert_eq!(r.json["specimens"].as_array().unwrap().len(), 3);

    let r = technologist.post(&format!("{case}/specimens/receive"), &json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "in_lab");
    assert!(r.json["specimens"].as_array().unwrap().iter().all(|s| s["status"] == "received"));

    let r = technologist
        .put(
            &format!("{case}/differential"),
            &json!({"counts": {"blasts": 10, "segmented-neutrophils": 150, "monocytes": 60,
                               "polychromatic-erythroblasts": 90, "lymphocytes": 190, "smudge": 7}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let d = &r.json["differential"];
    assert_eq!(d["total"], 500);
    assert_eq!(d["excluded"], 7);
    assert!((d["percentages"]["blasts"].as_f64().unwrap() - 2.0).abs() < 1e-9);
    // ICSH M:E: (10 + 150 + 60) / 90
    assert!((d["me_ratio"].as_f64().unwrap() - 220.0 / 90.0).abs() < 1e-9);

    let aspirate: serde_json::Map<String, Value> = synthetic::aspirate_fields()
        .into_iter()
        .map(|(k, v)| {
            let value = if k == "particles_examined_for_iron" { json!(9) } else { json!(v) };
            (k.to_owned(), value)
        })
        .collect();
    let r = technologist.put(&format!("{case}/aspirate"), &Value::Object(aspirate)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    // Exports carry signed reports only: a draft is refused with a sentence saying so.
    let r = clinician.get(&format!("{case}/fhir")).await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    assert!(r.json["error"].as_str().unwrap().contains("no signed report"), "{:?}", r.json);

    let draft = json!({"expected_revision": 0, "adequacy": "adequate", "cellularity": "hypocellular",
                       "erythropoiesis": "Normoblastic.", "granulopoiesis": "Full maturation.",
                       "megakaryopoiesis": "Normal forms.", "granulomas": "not-seen",
                       "organisms": "not-seen", "haemophagocytosis": "not-seen",
                       "morphology": "Reduced trilineage haemopoiesis.",
                       "interpretation": "Hypocellular marrow without excess blasts.",
                       "comment": "Correlate with trephine."});
    let r = technologist.put(&format!("{case}/report/draft"), &draft).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["report"]["status"], "draft");
    assert_eq!(r.json["report"]["draft"]["revision"], 1);
    // Lymphocytes 38 % and monocytes 12 % are above the Iowa intervals: the draft raises those
    // flags, each with its source.
    let flags: Vec<String> = r.json["report"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(flags, ["monocytes-increased", "lymphocytes-increased"], "{:?}", r.json["report"]);

    // A signer who was shown no flags is refused; one who saw them signs, and the version
    // records them.
    let r = pathologist.post(&format!("{case}/report/sign"), &json!({"flags_shown": []})).await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    assert_eq!(r.json["field"], "flags_shown");
    let r = pathologist.post(&format!("{case}/report/sign"), &json!({"flags_shown": flags})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "reported");
    let signed_v1 = r.json["report"]["versions"][0].clone();
    assert_eq!(signed_v1["version"], 1);
    assert_eq!(signed_v1["differential"]["total"], 500);
    assert_eq!(signed_v1["flags"].as_array().unwrap().len(), 2);

    let r = pathologist
        .post(
            &format!("{case}/report/amendments"),
            &json!({"reason": "Trephine reviewed", "adequacy": "adequate", "cellularity": "hypocellular",
                    "erythropoiesis": "Normoblastic.", "granulopoiesis": "Full maturation.",
                    "megakaryopoiesis": "Normal forms.", "granulomas": "not-seen",
                    "organisms": "not-seen", "haemophagocytosis": "not-seen",
                    "morphology": "Reduced trilineage haemopoiesis.",
                    "interpretation": "Hypocellular marrow; trephine concordant.", "comment": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "amended");
    assert_eq!(r.json["report"]["status"], "amended");
    let versions = r.json["report"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0], signed_v1, "the signed original is kept unchanged");
    assert_eq!(versions[1]["amendment_reason"], "Trephine reviewed");

    let v1 = clinician.get(&format!("{case}/report/versions/1")).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.json, signed_v1);

    let one = clinician.get(&case).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json["status"], "amended");
    let chain = app.store.verify_audit_chain().await.unwrap();
    assert_eq!(chain.first_broken, None);
}

pub(crate) async fn pages_story(app: &TestApp) {
    let mut clinician = app.browser_as(Role::Clinician).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let mut proceduralist = app.browser_as(Role::Proceduralist).await;
    let mut technologist = app.browser_as(Role::Technologist).await;
    let mut pathologist = app.browser_as(Role::Pathologist).await;

    let form = clinician.get("/patients/new").await;
    assert_eq!(form.status, 200);
    let r = clinician
        .post(
            "/patients",
            &[
                ("mrn", "SYN-WEB-1"),
                ("family_name", "Storypatient"),
                ("given_name", "Web"),
                ("date_of_birth", "1970-01-31"),
                ("sex", "male"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let patient_path = r.location.unwrap();
    let page = clinician.get(&patient_path).await;
    assert!(page.html.contains("STORYPATIENT, Web") && page.html.contains("SYN-WEB-1"));

    let order_path = format!("{patient_path}/orders");
    assert_eq!(clinician.get(&format!("{order_path}/new")).await.status, 200);
    let r = clinician
        .post(
            &order_path,
            &[
                ("indication", "suspected-blood-cancer"),
                ("sampling", "aspirate"),
                ("urgency", "routine"),
                ("clinical_details", "Circulating blasts on film (synthetic)."),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let case = r.location.unwrap();
    assert!(clinician.get(&case).await.html.contains("Ordered"));

    assert_eq!(nurse.get(&format!("{case}/safety-check")).await.status, 200);
    let r = nurse
        .post(
            &format!("{case}/safety-check"),
            &[
                ("med_name", "Apixaban"),
                ("med_class", "doac"),
                ("med_dose", "5 mg twice daily"),
                ("med_last_dose", "2026-11-22T20:00"),
                ("med_name", ""),
                ("med_class", "other"),
                ("med_dose", ""),
                ("med_last_dose", ""),
                ("allergies", "Latex"),
                ("platelets", "210"),
                ("inr", "1.0"),
                ("bloods_taken_at", "2026-11-24T07:30"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let page = nurse.get(&case).await;
    assert!(page.html.contains("Apixaban") && page.html.contains("Latex"));

    assert_eq!(proceduralist.get(&format!("{case}/procedure")).await.status, 200);
    let r = proceduralist
        .post(
            &format!("{case}/procedure"),
            &[
                ("operator", "Dr Synthetic Operator"),
                ("performed_at", "2026-11-24T08:45"),
                ("site", "posterior-iliac-crest"),
                ("side", "left"),
                ("position", "prone"),
                ("local_anaesthetic", "Lidocaine 1% 8 mL"),
                ("sedation", "none"),
                ("time_out", "on"),
                ("specimen_tube", "smears"),
                ("specimen_destination", "morphology"),
                ("specimen_tube", "sodium-heparin"),
                ("specimen_destination", "cytogenetics"),
                ("specimen_tube", ""),
                ("specimen_destination", ""),
                ("complications", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);

    let r = technologist.post(&format!("{case}/specimens/receive"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.html);
    let r = technologist
        .post(
            &format!("{case}/differential"),
            &[
                ("count.blasts", "35"),
                ("count.promyelocytes", "15"),
                ("count.segmented-neutrophils", "150"),
                ("count.lymphocytes", "100"),
                ("count.polychromatic-erythroblasts", "200"),
                ("count.smudge", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let page = technologist.get(&case).await;
    assert!(page.html.contains("500 nucleated cells counted"), "{}", page.html);
    assert!(page.html.contains("7.0"), "blasts 35/500 = 7.0 %");
    assert!(page.html.contains("1.00:1"), "M:E (35+15+150)/200");
    let r = technologist.post(&format!("{case}/aspirate"), &synthetic::aspirate_fields()).await;
    assert_eq!(r.status, 303, "{}", r.html);

    let form = technologist.get(&format!("{case}/report")).await;
    assert_eq!(marrow_testkit::app::hidden_value(&form.html, "revision").as_deref(), Some("0"));
    let r = technologist
        .post(
            &format!("{case}/report"),
            &[
                ("revision", "0"),
                ("adequacy", "adequate"),
                ("cellularity", "hypercellular"),
                ("erythropoiesis", "Normoblastic."),
                ("granulopoiesis", "Left-shifted."),
                ("megakaryopoiesis", "Normal forms."),
                ("granulomas", "not-seen"),
                ("organisms", "not-seen"),
                ("haemophagocytosis", "not-seen"),
                ("morphology", "Blasts increased."),
                ("interpretation", "Blasts 7 % of nucleated cells."),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    // Back on the form, the pathologist sees the flags the saved draft raises, with sources.
    let form = pathologist.get(&format!("{case}/report")).await;
    assert!(form.html.contains("Blasts 7.0 %: WHO 2022 5–9 %: the MDS-IB1 range"), "{}", form.html);
    assert!(form.html.contains("consider counting more cells"), "35/500 straddles 5 %");
    assert!(form.html.contains("Source: WHO 2022"));

    let page = pathologist.get(&case).await;
    assert!(page.html.contains("Review and sign report"));
    let review = pathologist.get(&format!("{case}/report/sign")).await;
    assert_eq!(review.status, 200);
    let shown = marrow_testkit::app::hidden_value(&review.html, "flags_shown").expect("flags");
    // Also M:E 1.00:1 (below 2–4:1) and lymphocytes 20 % (above 9–19 %).
    assert_eq!(shown, "blasts,blasts-near-threshold,me-ratio-low,lymphocytes-increased");
    let r =
        pathologist.post(&format!("{case}/report/sign"), &[("flags_shown", shown.as_str())]).await;
    assert_eq!(r.status, 303, "{}", r.html);
    let v1 = r.location.unwrap();
    assert!(v1.ends_with("/report/versions/1"));
    let report = pathologist.get(&v1).await;
    assert!(
        report.html.contains("Blasts 7 % of nucleated cells.") && report.html.contains("Signed by")
    );
    assert!(report.html.contains("Flags shown at sign-out"));
    assert!(report.html.contains("the MDS-IB1 range"), "the version records the flags shown");
    let pdf = pathologist.get(&format!("{v1}/pdf?paper=letter")).await;
    assert_eq!(pdf.status, 200);
    let bad_paper = pathologist.get(&format!("{v1}/pdf?paper=a3")).await;
    assert_eq!(bad_paper.status, 422);
    assert!(bad_paper.html.contains("paper"));
    let amend_form = pathologist.get(&format!("{case}/report/amend")).await;
    let shown = marrow_testkit::app::hidden_value(&amend_form.html, "flags_shown").expect("flags");

    let r = pathologist
        .post(
            &format!("{case}/report/amend"),
            &[
                ("reason", "Typo in interpretation"),
                ("flags_shown", shown.as_str()),
                ("adequacy", "adequate"),
                ("cellularity", "hypercellular"),
                ("erythropoiesis", "Normoblastic."),
                ("granulopoiesis", "Left-shifted."),
                ("megakaryopoiesis", "Normal forms."),
                ("granulomas", "not-seen"),
                ("organisms", "not-seen"),
                ("haemophagocytosis", "not-seen"),
                ("morphology", "Blasts increased."),
                ("interpretation", "Blasts 7.0 % of nucleated cells."),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let v2 = clinician.get(r.location.as_deref().unwrap()).await;
    assert!(v2.html.contains("What version 2 changed"), "{}", v2.html);
    assert!(
        v2.html.contains("<del>Blasts 7 % of nucleated cells.</del>")
            && v2.html.contains("<ins>Blasts 7.0 % of nucleated cells.</ins>"),
        "the amendment shows its diff against version 1"
    );
    let page = clinician.get(&case).await;
    assert!(page.html.contains("AMENDED"), "the case page marks the report amended");
    assert!(page.html.contains("Version 1") && page.html.contains("Version 2"));
    let old = clinician.get(&v1).await;
    assert_eq!(old.status, 200);
    assert!(
        old.html.contains("Blasts 7 % of nucleated cells."),
        "version 1 is still viewable as signed"
    );
    assert!(old.html.contains("superseded by"));
    let history = clinician.get(&format!("{case}/history")).await;
    assert_eq!(history.status, 200);
    let steps = [
        "Ordered",
        "Recorded the safety check",
        "Recorded the procedure",
        "Receive the specimens",
        "Recorded the differential",
        "Save the report draft",
        "Sign the report",
        "Amend the report",
    ];
    let mut at = 0;
    for step in steps {
        let found = history.html[at..]
            .find(step)
            .unwrap_or_else(|| panic!("history lists {step} in order"));
        at += found;
    }
    let text = clinician.get(&format!("{v1}/text")).await;
    assert_eq!(text.status, 200);
    assert!(text.html.contains("*** SUPERSEDED by version 2 ***"));
    assert!(text.html.contains("DIFFERENTIAL (500 nucleated cells counted)"));
    assert!(text.html.contains("Blasts 7 % of nucleated cells."));
}

#[tokio::test]
async fn one_patient_goes_from_order_to_amended_report_through_the_api_on_sqlite() {
    let app = sqlite_app().await;
    api_story(&app).await;
}

#[tokio::test]
async fn one_patient_goes_from_order_to_amended_report_through_the_pages_on_sqlite() {
    let app = sqlite_app().await;
    pages_story(&app).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn one_patient_goes_from_order_to_amended_report_through_the_api_on_postgres() {
    let app = crate::postgres_app().await;
    api_story(&app).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn one_patient_goes_from_order_to_amended_report_through_the_pages_on_postgres() {
    let app = crate::postgres_app().await;
    pages_story(&app).await;
}
