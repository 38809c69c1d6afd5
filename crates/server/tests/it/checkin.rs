//! The post-procedure check-in: the patient's link, triage, alerts for the team.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::Browser;
use marrow_testkit::synthetic::{Staff, case_at, stamp};

use crate::sqlite_app;

fn link_in(html: &str) -> String {
    let start = html.find("/checkin/").expect("the page shows the link");
    html[start..].split('<').next().unwrap().to_owned()
}

async fn submit(
    patient: &mut Browser,
    link: &str,
    fields: &[(&str, &str)],
) -> marrow_testkit::app::Page {
    let form = patient.get(link).await;
    assert_eq!(form.status, 200);
    let token = marrow_testkit::app::hidden_value(&form.html, "checkin_csrf").unwrap();
    let mut body: Vec<(String, String)> = vec![("checkin_csrf".into(), token)];
    body.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    patient.post_raw(link, &body).await
}

#[tokio::test]
async fn a_fever_reported_at_home_raises_an_alert_that_stays_until_a_clinician_acknowledges_it() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Performed).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let created = nurse.post(&format!("/cases/{case}/checkin-link"), &[]).await;
    assert_eq!(created.status, 200, "{}", created.html);
    let link = link_in(&created.html);

    let mut patient = Browser::new(&app.base_url);
    let form = patient.get(&link).await;
    assert!(form.html.contains("Hello Alex"), "the patient's own page: {}", form.html);
    let bad = submit(
        &mut patient,
        &link,
        &[("temperature", "60"), ("bleeding", "none"), ("pain", "mild")],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("href=\"#f-temperature\""));
    assert!(app.store.checkins(case).await.unwrap().is_empty(), "nothing stored");

    let result = submit(
        &mut patient,
        &link,
        &[("temperature", "38.5"), ("bleeding", "none"), ("pain", "mild")],
    )
    .await;
    assert_eq!(result.status, 200, "{}", result.html);
    assert!(result.html.contains("Call now"), "{}", result.html);

    let alerts = nurse.get("/alerts").await;
    assert!(
        alerts.html.contains("<strong>Open</strong>") && alerts.html.contains("38.5"),
        "{}",
        alerts.html
    );
    assert!(
        !alerts.html.contains(">Acknowledge<"),
        "a nurse sees alerts; the clinician acknowledges"
    );
    let mut tech = app.browser_as(Role::Technologist).await;
    assert_eq!(tech.get("/alerts").await.status, 403);

    let mut clinician = app.browser_as(Role::Clinician).await;
    let open = app.store.alerts(true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    let ack = clinician.post(&format!("/alerts/{}/acknowledge", open[0].id), &[]).await;
    assert_eq!(ack.status, 303);
    assert!(app.store.alerts(true, 10).await.unwrap().is_empty());
    let again = clinician.post(&format!("/alerts/{}/acknowledge", open[0].id), &[]).await;
    assert_eq!(again.status, 409);
    let audit = app.store.audit_for("case", case.0).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "alert.acknowledge"));

    // Expected recovery raises no alert.
    let calm = submit(
        &mut patient,
        &link,
        &[("temperature", "36.8"), ("bleeding", "none"), ("pain", "mild")],
    )
    .await;
    assert!(calm.html.contains("Expected recovery"), "{}", calm.html);
    assert!(app.store.alerts(true, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_or_expired_link_sees_nothing() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Performed).await;
    let mut patient = Browser::new(&app.base_url);
    let wrong = patient.get(&format!("/checkin/{}", "a".repeat(64))).await;
    assert_eq!(wrong.status, 404);
    assert!(!wrong.html.contains("Testpatient") && !wrong.html.contains("Alex"));
    // A link that expired before the (fixed) clock's now.
    let token = marrow_server::auth::new_token();
    let past = marrow_testkit::synthetic::now().plus_seconds(-60);
    app.store
        .create_checkin_link(
            case,
            &marrow_server::auth::token_hash(&token),
            past,
            stamp(staff.nurse),
        )
        .await
        .unwrap();
    assert_eq!(patient.get(&format!("/checkin/{token}")).await.status, 404);
}

#[tokio::test]
async fn an_immunocompromised_patient_gets_the_stricter_fever_advice() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Ordered).await;
    let facts = marrow_domain::safety::SafetyFacts {
        immunocompromised: true,
        ..marrow_testkit::synthetic::safety_facts(marrow_testkit::synthetic::now())
    };
    app.store.record_safety_check(case, &facts, stamp(staff.nurse)).await.unwrap();
    app.store
        .record_procedure(
            case,
            &marrow_testkit::synthetic::procedure_note(marrow_testkit::synthetic::now()),
            stamp(staff.proceduralist),
        )
        .await
        .unwrap();
    let mut nurse = app.browser_as(Role::Nurse).await;
    let link = link_in(&nurse.post(&format!("/cases/{case}/checkin-link"), &[]).await.html);
    let mut patient = Browser::new(&app.base_url);
    let result = submit(
        &mut patient,
        &link,
        &[("temperature", "37.9"), ("bleeding", "none"), ("pain", "none")],
    )
    .await;
    assert!(
        result.html.contains("Call now"),
        "37.9 °C is a fever for an immunocompromised patient: {}",
        result.html
    );
}

#[tokio::test]
async fn the_discharge_sheet_is_plain_language_with_a_check_in_link_and_a_pdf() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Performed).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let case_page = nurse.get(&format!("/cases/{case}")).await;
    assert!(case_page.html.contains("Discharge sheet and check-in link"));
    let sheet = nurse.post(&format!("/cases/{case}/discharge"), &[]).await;
    assert_eq!(sheet.status, 200, "{}", sheet.html);
    assert!(sheet.html.contains("Keep the bandage on and keep it dry for 24 hours."));
    assert!(sheet.html.contains("a temperature of 38.0 °C or more,"));
    assert!(sheet.html.contains("<svg") && sheet.html.contains("QR code of the check-in link"));
    // The synthetic procedure was done without sedation: nothing about a driver.
    assert!(!sheet.html.contains("Someone else must drive you home"));
    let start = sheet.html.find("/checkin/").unwrap();
    let token: String =
        sheet.html[start + 9..].chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(token.len(), 64);
    let mut patient = Browser::new(&app.base_url);
    let pdf = patient.get(&format!("/checkin/{token}/sheet.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(
        pdf.html.starts_with("%PDF-1.4")
            && pdf.html.contains("(Keep the bandage on and keep it dry for 24 hours.) Tj")
    );
    assert_eq!(patient.get(&format!("/checkin/{}/sheet.pdf", "f".repeat(64))).await.status, 404);
    let mut tech = app.browser_as(Role::Technologist).await;
    assert_eq!(tech.post(&format!("/cases/{case}/discharge"), &[]).await.status, 403);

    // The site says who to call, with the number; the next sheet carries it.
    let mut admin = app.browser_as(Role::Admin).await;
    assert_eq!(admin.post("/admin/settings/discharge", &[("phone", " ")]).await.status, 422);
    let saved = admin
        .post("/admin/settings/discharge", &[("phone", "the day unit on 020 7946 0000")])
        .await;
    assert_eq!(saved.status, 303);
    let sheet = nurse.post(&format!("/cases/{case}/discharge"), &[]).await;
    assert!(
        sheet.html.contains("Call the day unit on 020 7946 0000 now if you have:"),
        "{}",
        sheet.html
    );
}
