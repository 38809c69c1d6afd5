//! The patient timeline (issue 8): blood counts entered through the API and the form, CSV
//! import, HL7 ORU^R01 intake over a real MLLP socket, milestones, the timeline as JSON and as
//! a page whose charts carry the same numbers, and the order form pre-filled from the latest
//! count.

use std::time::Duration;

use marrow_domain::role::Role;
use marrow_domain::stats::clopper_pearson_95;
use marrow_domain::time::Timestamp;
use marrow_interop::hl7::{MllpDecoder, mllp_frame, parse};
use marrow_server::{AppState, Config};
use marrow_testkit::TestApp;
use marrow_testkit::synthetic::{self, Staff, differential_with, signed_marrow};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sqlite_app;

/// `days` before the test server's fixed clock ([`synthetic::now`]).
fn days_ago(days: i64) -> Timestamp {
    synthetic::now().plus_seconds(-days * 86_400)
}

fn count_body(at: Timestamp, values: &[(&str, f64, &str)]) -> Value {
    json!({
        "taken_at": at.to_rfc3339(),
        "values": values.iter().map(|(a, v, u)| json!({"analyte": a, "value": v, "unit": u})).collect::<Vec<_>>(),
    })
}

/// Attribute `name` of every SVG element carrying `data-key` in the chart with `id`.
fn chart_points(html: &str, id: &str, name: &str) -> Vec<String> {
    let start =
        html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("chart {id} on the page"));
    let end = html[start..].find("</svg>").map_or(html.len(), |e| start + e);
    let chart = &html[start..end];
    let mut out = Vec::new();
    for piece in chart.split('<').filter(|p| p.contains("data-key=")) {
        let marker = format!("{name}=\"");
        if let Some(at) = piece.find(&marker) {
            let rest = &piece[at + marker.len()..];
            out.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    out
}

/// Five signed marrows of one patient, 100 days apart, with blasts 225, 15, 8, 6 and 47 cells.
async fn five_marrows(app: &TestApp) -> (i64, Vec<i64>) {
    let staff = Staff::insert(&app.store, "!synthetic").await;
    let patient = app
        .store
        .create_patient(&synthetic::patient(1), synthetic::stamp(staff.clinician))
        .await
        .unwrap();
    let mut cases = Vec::new();
    for (i, blasts) in [225, 15, 8, 6, 47].into_iter().enumerate() {
        let at = days_ago(420 - 100 * i as i64);
        let case =
            signed_marrow(&app.store, &staff, patient, at, &differential_with(blasts, 6)).await;
        cases.push(case.0);
    }
    (patient.0, cases)
}

#[tokio::test]
async fn five_marrows_with_counts_make_a_timeline_whose_charts_match_the_data() {
    timeline_story(sqlite_app().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn the_timeline_works_the_same_on_postgres() {
    timeline_story(crate::postgres_app().await).await;
}

async fn timeline_story(app: TestApp) {
    let (patient, cases) = five_marrows(&app).await;
    let clinician = app.api_as(Role::Clinician).await;
    let nurse = app.api_as(Role::Nurse).await;

    // Counts near each marrow, in mixed units: Hb in g/dL, neutrophils per µL.
    let counts = [
        (421, 8.2, 900.0, 34.0, 41.0),
        (321, 7.9, 400.0, 60.0, 0.0),
        (221, 12.1, 2100.0, 165.0, 0.0),
        (121, 12.5, 2500.0, 190.0, 0.0),
        (21, 10.6, 1400.0, 88.0, 3.0),
    ];
    for (days, hb, neutrophils, platelets, blasts) in counts {
        let body = count_body(
            days_ago(days),
            &[
                ("haemoglobin", hb, "g/dL"),
                ("neutrophils", neutrophils, "/uL"),
                ("777-3", platelets, "10*3/uL"),
                ("blasts", blasts, "%"),
            ],
        );
        let reply = nurse.post(&format!("/api/v1/patients/{patient}/blood-counts"), &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let first = &nurse.get(&format!("/api/v1/patients/{patient}/blood-counts")).await.json[0];
    let hb =
        first["values"].as_array().unwrap().iter().find(|v| v["analyte"] == "haemoglobin").unwrap();
    assert_eq!((hb["value"].as_f64(), hb["unit"].as_str()), (Some(82.0), Some("g/L")));
    // SYN patients are female adults: 120–150 g/L.
    assert_eq!(
        (hb["low"].as_f64(), hb["high"].as_f64(), hb["flag"].as_str()),
        (Some(120.0), Some(150.0), Some("L"))
    );
    let neutrophils =
        first["values"].as_array().unwrap().iter().find(|v| v["analyte"] == "neutrophils").unwrap();
    assert_eq!(neutrophils["value"].as_f64(), Some(0.9));

    // A bad unit names the value's place and stores nothing.
    let bad =
        count_body(days_ago(1), &[("haemoglobin", 12.0, "g/dL"), ("platelets", 150.0, "g/L")]);
    let refused = nurse.post(&format!("/api/v1/patients/{patient}/blood-counts"), &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.json["field"], "values[1].unit");
    let unknown = count_body(days_ago(1), &[("ferritin", 12.0, "g/L")]);
    let refused = nurse.post(&format!("/api/v1/patients/{patient}/blood-counts"), &unknown).await;
    assert_eq!((refused.status, refused.json["field"].as_str()), (422, Some("values[0].analyte")));
    assert_eq!(
        nurse
            .get(&format!("/api/v1/patients/{patient}/blood-counts"))
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Milestones: the clinician records them; a nurse may not; a future date is refused.
    let transplant = json!({"on": days_ago(250).to_rfc3339()[..10], "kind": "transplant", "description": "Sibling donor"});
    let added =
        clinician.post(&format!("/api/v1/patients/{patient}/milestones"), &transplant).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(
        nurse.post(&format!("/api/v1/patients/{patient}/milestones"), &transplant).await.status,
        403
    );
    let future = json!({"on": days_ago(-3).to_rfc3339()[..10], "kind": "transplant"});
    let refused = clinician.post(&format!("/api/v1/patients/{patient}/milestones"), &future).await;
    assert_eq!((refused.status, refused.json["field"].as_str()), (422, Some("on")));

    // The timeline as JSON: five marrows in date order, each figure with its exact limits.
    let timeline = clinician.get(&format!("/api/v1/patients/{patient}/timeline")).await;
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    let marrows = timeline.json["marrows"].as_array().unwrap();
    assert_eq!(marrows.iter().map(|m| m["case_id"].as_i64().unwrap()).collect::<Vec<_>>(), cases);
    for (m, blasts) in marrows.iter().zip([225_u32, 15, 8, 6, 47]) {
        let n = 500 - 7 + blasts;
        assert_eq!(m["cells_counted"].as_u64(), Some(u64::from(n)));
        let b = &m["blasts"];
        assert_eq!(b["cells"].as_u64(), Some(u64::from(blasts)));
        assert!(
            (b["percent"].as_f64().unwrap() - 100.0 * f64::from(blasts) / f64::from(n)).abs()
                < 1e-9
        );
        let exact = clopper_pearson_95(blasts, n).unwrap();
        assert!((b["lower"].as_f64().unwrap() - exact.lower_percent()).abs() < 1e-9);
        assert!((b["upper"].as_f64().unwrap() - exact.upper_percent()).abs() < 1e-9);
        assert!(
            m["me_ratio"]["lower"].as_f64().unwrap() < m["me_ratio"]["ratio"].as_f64().unwrap()
        );
        assert_eq!(m["signed_by"], "Dr Synthetic Pathologist");
    }
    let changes: Vec<(i64, &str)> = timeline.json["blast_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["to_case"].as_i64().unwrap(), c["movement"].as_str().unwrap()))
        .collect();
    // 45 % → 3 % falls; 3 % → 1.6 % and 1.6 % → 1.2 % overlap; 1.2 % → 8.7 % rises.
    assert_eq!(changes, [(cases[1], "fall"), (cases[4], "rise")]);
    let observations: Vec<(i64, &str)> = timeline.json["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["case_id"].as_i64().unwrap(), o["kind"].as_str().unwrap()))
        .collect();
    assert!(
        observations.contains(&(cases[1], "blasts-below-5-counts-not-recovered")),
        "{observations:?}"
    );
    assert!(observations.contains(&(cases[2], "cr-criteria-met")), "{observations:?}");
    assert!(observations.contains(&(cases[4], "blasts-back-at-or-above-5")), "{observations:?}");
    assert!(
        timeline.json["observations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| !o["source"].as_str().unwrap().is_empty())
    );
    assert_eq!(timeline.json["milestones"][0]["kind"], "transplant");

    // The page: the same numbers in the charts' points and the serial table.
    let mut browser = app.browser_as_named(Role::Clinician, "page").await;
    let page = browser.get(&format!("/patients/{patient}/timeline")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.html.matches("<svg").count(), 6, "six charts");
    let values = chart_points(&page.html, "chart-blasts", "data-value");
    let expected: Vec<f64> =
        marrows.iter().map(|m| m["blasts"]["percent"].as_f64().unwrap()).collect();
    assert_eq!(values.iter().map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>(), expected);
    let uppers = chart_points(&page.html, "chart-blasts", "data-upper");
    // Exactly the same number, not merely close: the chart is drawn from the same figures.
    assert_eq!(
        uppers[0].parse::<f64>().unwrap().to_bits(),
        marrows[0]["blasts"]["upper"].as_f64().unwrap().to_bits()
    );
    let hb_points = chart_points(&page.html, "chart-haemoglobin", "data-value");
    assert_eq!(hb_points, ["82", "79", "121", "125", "106"]);
    assert!(page.html.contains("Blasts rose beyond counting noise"));
    assert!(page.html.contains("Stem-cell transplant"));
    // An administrator sees no clinical records.
    let admin = app.api_as(Role::Admin).await;
    assert_eq!(admin.get(&format!("/api/v1/patients/{patient}/timeline")).await.status, 403);
}

#[tokio::test]
async fn the_order_form_shows_the_latest_count_and_prefills_the_abnormal_lineages() {
    let app = sqlite_app().await;
    let nurse = app.api_as(Role::Nurse).await;
    let patient = nurse
        .post(
            "/api/v1/patients",
            &json!({
        "mrn": "SYN-77001", "family_name": "Testpatient", "given_name": "Alex",
        "date_of_birth": "1970-01-01", "sex": "male"}),
        )
        .await;
    let patient = patient.json["id"].as_i64().unwrap();
    let body = count_body(
        days_ago(2),
        &[
            ("haemoglobin", 96.0, "g/L"),
            ("platelets", 42.0, "10^9/L"),
            ("white-cells", 6.0, "10^9/L"),
        ],
    );
    assert_eq!(
        nurse.post(&format!("/api/v1/patients/{patient}/blood-counts"), &body).await.status,
        201
    );

    let mut browser = app.browser_as_named(Role::Clinician, "order").await;
    let form = browser.get(&format!("/patients/{patient}/orders/new")).await;
    assert_eq!(form.status, 200);
    let checked = |value: &str| {
        form.html
            .split('<')
            .any(|tag| tag.contains(&format!("value=\"{value}\"")) && tag.contains("checked"))
    };
    assert!(checked("abnormal-blood-counts"), "the indication is pre-filled");
    assert!(checked("red-cells-low") && checked("platelets-low"));
    assert!(
        !checked("white-cells-low") && !checked("white-cells-high"),
        "white cells are in range"
    );
    assert!(form.html.contains("Latest blood count") && form.html.contains("96 g/L"));

    // The form entry refuses a bad unit beside its field and keeps what was typed.
    let page = browser
        .post(
            &format!("/patients/{patient}/blood-counts"),
            &[
                ("taken_at", "2026-01-01T08:00"),
                ("haemoglobin", "9.6"),
                ("haemoglobin_unit", "mmol/L"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("id=\"e-haemoglobin_unit\""), "the error is tied to its field");
    assert_eq!(
        nurse
            .get(&format!("/api/v1/patients/{patient}/blood-counts"))
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_and_names_the_row_and_column() {
    let app = sqlite_app().await;
    let tech = app.api_as(Role::Technologist).await;
    for (i, mrn) in ["SYN-00501", "SYN-00502"].iter().enumerate() {
        let created = app
            .api_as_named(Role::Nurse, &format!("n{i}"))
            .await
            .post("/api/v1/patients", &json!({"mrn": mrn, "family_name": "Testpatient", "given_name": "Alex", "date_of_birth": "1980-05-05", "sex": "female"}))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let good = "mrn,taken_at,analyte,value,unit\r\n\
        SYN-00501,2026-11-01T08:00,haemoglobin,11.2,g/dL\r\n\
        SYN-00501,2026-11-01T08:00,platelets,140000,/uL\r\n\
        SYN-00502,2026-11-02T08:00,718-7,131,g/L\r\n";
    let reply =
        tech.post_bytes("/api/v1/blood-counts/import", "text/csv", good.as_bytes().to_vec()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["imported"].as_array().unwrap().len(), 2);
    let bad_unit = "mrn,taken_at,analyte,value,unit\nSYN-00501,2026-11-03T08:00,haemoglobin,11.2,g/dL\nSYN-00502,2026-11-03T08:00,platelets,140,mmol/L\n";
    let refused = tech
        .post_bytes("/api/v1/blood-counts/import", "text/csv", bad_unit.as_bytes().to_vec())
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let message = refused.json["error"].as_str().unwrap();
    assert!(message.contains("row 3") && message.contains("unit"), "{message}");
    let unknown = "mrn,taken_at,analyte,value,unit\nSYN-00501,2026-11-04T08:00,haemoglobin,11.2,g/dL\nSYN-99999,2026-11-04T08:00,haemoglobin,11.2,g/dL\n";
    let refused = tech
        .post_bytes("/api/v1/blood-counts/import", "text/csv", unknown.as_bytes().to_vec())
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.json["error"].as_str().unwrap().contains("row 3, column mrn"),
        "{}",
        refused.text
    );
    // Only the good file's two counts exist.
    let mut total = 0;
    for p in app.store.patients(10).await.unwrap() {
        total += app.store.blood_counts(p.id).await.unwrap().len();
    }
    assert_eq!(total, 2);
    // A pathologist does not enter counts.
    let pathologist = app.api_as(Role::Pathologist).await;
    assert_eq!(
        pathologist
            .post_bytes("/api/v1/blood-counts/import", "text/csv", good.as_bytes().to_vec())
            .await
            .status,
        403
    );
}

fn oru(control_id: &str, mrn: &str, unit_of_platelets: &str) -> String {
    [
        format!("MSH|^~\\&|ANALYSER|LAB|MARROW|HOSPITAL|20261120083000||ORU^R01^ORU_R01|{control_id}|P|2.5.1"),
        format!("PID|1||{mrn}^^^HOSP^MR||TESTPATIENT^ALEX||19700101|F"),
        "OBR|1||CBC123|58410-2^CBC panel - Blood by Automated count^LN|||20261120081500".to_owned(),
        "OBX|1|NM|718-7^Hemoglobin^LN||10.4|g/dL|120-150|L|||F".to_owned(),
        "OBX|2|NM|751-8^Neutrophils^LN||1.8|10*9/L|2.0-7.0|L|||F".to_owned(),
        format!("OBX|3|NM|777-3^Platelets^LN||95|{unit_of_platelets}|150-410|L|||F"),
    ]
    .join("\r")
}

async fn exchange(socket: &mut tokio::net::TcpStream, message: &str) -> String {
    socket.write_all(&mllp_frame(message)).await.unwrap();
    let mut decoder = MllpDecoder::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer))
            .await
            .expect("an acknowledgement in time")
            .unwrap();
        assert!(n > 0, "the connection stayed open");
        if let Some(ack) = decoder.push(&buffer[..n]).pop() {
            return ack.unwrap();
        }
    }
}

#[tokio::test]
async fn hl7_results_over_mllp_are_stored_once_or_held_for_review() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!synthetic").await;
    let patient = app
        .store
        .create_patient(&synthetic::patient(1), synthetic::stamp(staff.clinician))
        .await
        .unwrap();
    let state = AppState::new(app.store.clone(), Config::default());
    let address = marrow_server::intake::listen(state, "127.0.0.1:0").await.unwrap();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let mrn = synthetic::mrn(1);

    let ack = exchange(&mut socket, &oru("LAB0001", &mrn, "10*3/uL")).await;
    let msa = parse(&ack).unwrap().segment("MSA").cloned().unwrap();
    assert_eq!((msa.field(1), msa.field(2)), ("AA", "LAB0001"));
    let counts = app.store.blood_counts(patient).await.unwrap();
    assert_eq!(counts.len(), 1);
    let count = &counts[0].count;
    assert_eq!(count.taken_at.to_rfc3339(), "2026-11-20T08:15:00Z");
    assert_eq!(
        count.get(marrow_domain::blood_count::Analyte::Haemoglobin).unwrap().to_string(),
        "104"
    );
    assert_eq!(counts[0].source, "hl7");

    // The same message again: acknowledged, not stored twice.
    let again = exchange(&mut socket, &oru("LAB0001", &mrn, "10*3/uL")).await;
    assert_eq!(parse(&again).unwrap().segment("MSA").unwrap().field(1), "AA");
    assert_eq!(app.store.blood_counts(patient).await.unwrap().len(), 1);

    // An unknown unit: nothing stored, the message held, the sender told why (AE).
    let bad = exchange(&mut socket, &oru("LAB0002", &mrn, "mmol/L")).await;
    let msa = parse(&bad).unwrap().segment("MSA").cloned().unwrap();
    assert_eq!((msa.field(1), msa.field(2)), ("AE", "LAB0002"));
    assert!(bad.contains("OBX"), "the error says where: {bad}");
    // An unknown patient: held too.
    let stranger = exchange(&mut socket, &oru("LAB0003", "SYN-99999", "10*3/uL")).await;
    assert_eq!(parse(&stranger).unwrap().segment("MSA").unwrap().field(1), "AE");
    assert_eq!(app.store.blood_counts(patient).await.unwrap().len(), 1);
    let tech = app.api_as(Role::Technologist).await;
    let held = tech.get("/api/v1/interfaces/held").await;
    assert_eq!(held.status, 200);
    let errors: Vec<&str> =
        held.json.as_array().unwrap().iter().map(|h| h["error"].as_str().unwrap()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("PID-3") && errors[1].contains("OBX 3"), "{errors:?}");
    let stored = app.store.held_messages(true, 10).await.unwrap();
    assert!(stored.iter().all(|h| h.content.starts_with("MSH|") && h.channel == "mllp"));

    // The laboratory marks one reviewed on the page.
    let mut browser = app.browser_as_named(Role::Technologist, "held").await;
    let page = browser.get("/interfaces/held").await;
    assert!(page.html.contains("PID-3: no patient is registered with this MRN"));
    let reviewed = browser.post(&format!("/interfaces/held/{}/review", stored[0].id), &[]).await;
    assert_eq!(reviewed.status, 303);
    assert_eq!(app.store.held_messages(true, 10).await.unwrap().len(), 1);
}
