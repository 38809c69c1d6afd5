//! The post-procedure check-in: the patient's link, triage, alerts for the team.

use marrow_domain::case::CaseStatus;
use marrow_domain::ids::{CaseId, PatientId};
use marrow_domain::role::Role;
use marrow_testkit::synthetic::{self, Staff, case_at, stamp};
use marrow_testkit::{Browser, TestApp};
use serde_json::json;

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
    assert!(calm.html.contains("You are healing as expected"), "{}", calm.html);
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

/// The 64-hex token of the first check-in link in `html`.
fn token_in(html: &str) -> String {
    let start = html.find("/checkin/").expect("the page has a check-in link") + "/checkin/".len();
    html[start..].chars().take_while(char::is_ascii_hexdigit).collect()
}

/// A Spanish-speaking patient registered through the API (`"language": "es"`), with a case
/// whose procedure is done.
async fn spanish_patients_case(app: &TestApp, staff: &Staff) -> CaseId {
    let clinician = app.api_as(Role::Clinician).await;
    let body = json!({"mrn": "SYN-ES-1", "family_name": "Ejemplo", "given_name": "Lucía",
        "date_of_birth": "1970-05-01", "sex": "female", "language": "es"});
    let created = clinician.post("/api/v1/patients", &body).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    assert_eq!(created.json["language"], "es");
    let patient = PatientId(created.json["id"].as_i64().unwrap());
    let case = app.store.place_order(patient, &synthetic::order(), stamp(staff.clinician)).await;
    let case = case.unwrap();
    let facts = synthetic::safety_facts(synthetic::now());
    app.store.record_safety_check(case, &facts, stamp(staff.nurse)).await.unwrap();
    let note = synthetic::procedure_note(synthetic::now());
    app.store.record_procedure(case, &note, stamp(staff.proceduralist)).await.unwrap();
    case
}

#[tokio::test]
async fn a_spanish_patient_reads_the_sheet_and_the_check_in_in_spanish_and_can_switch() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let case = spanish_patients_case(&app, &staff).await;
    let mut nurse = app.browser_as(Role::Nurse).await;

    // The sheet the nurse prints is in the patient's language, and so is its check-in link.
    let sheet = nurse.post(&format!("/cases/{case}/discharge"), &[]).await;
    assert_eq!(sheet.status, 200, "{}", sheet.html);
    assert!(sheet.html.contains("<html lang=\"es\">"), "{}", sheet.html);
    assert!(sheet.html.contains("<h1>Después de su prueba de médula ósea</h1>"));
    assert!(sheet.html.contains("Para: Lucía Ejemplo"));
    assert!(sheet.html.contains("No se quite el vendaje y manténgalo seco durante 24 horas."));
    assert!(sheet.html.contains("Llame ahora a su equipo médico si tiene:"));
    assert!(sheet.html.contains("aria-label=\"Código QR del enlace para contarnos cómo está\""));
    assert!(!sheet.html.contains("Keep the bandage on"));
    let token = token_in(&sheet.html);
    assert_eq!(token.len(), 64);
    assert!(sheet.html.contains(&format!("/checkin/{token}?lang=es\"")), "the QR and link");
    assert!(sheet.html.contains(&format!("href=\"/checkin/{token}/sheet.pdf?lang=es\"")));

    // The switch shows the same sheet, same link, in English; and back.
    let to_english = format!("/checkin/{token}/sheet?lang=en");
    assert!(
        sheet.html.contains(&format!(
            "<a href=\"{to_english}\" lang=\"en\" hreflang=\"en\">Read in English</a>"
        )),
        "{}",
        sheet.html
    );
    let mut patient = Browser::new(&app.base_url);
    let english = patient.get(&to_english).await;
    assert_eq!(english.status, 200);
    assert!(english.html.contains("<html lang=\"en\">"));
    assert!(english.html.contains("Keep the bandage on and keep it dry for 24 hours."));
    assert!(english.html.contains(&format!("/checkin/{token}?lang=en\"")));
    assert!(english.html.contains(&format!("href=\"/checkin/{token}/sheet?lang=es\"")));
    assert!(english.html.contains(">Leer en español</a>"));
    let back = patient.get(&format!("/checkin/{token}/sheet")).await;
    assert!(back.html.contains("<html lang=\"es\">"), "without ?lang, the patient's own");
    assert_eq!(patient.get(&format!("/checkin/{}/sheet", "e".repeat(64))).await.status, 404);

    // The PDF, in Spanish unless asked otherwise, with its accents as WinAnsi bytes.
    let pdf = patient.get(&format!("/checkin/{token}/sheet.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.html.contains("(Despu\\351s de su prueba de m\\351dula \\363sea) Tj"));
    let pdf = patient.get(&format!("/checkin/{token}/sheet.pdf?lang=en")).await;
    assert!(pdf.html.contains("(After your bone marrow test) Tj"));

    // The check-in form: Spanish, with a switch to English that keeps the token.
    let link = format!("/checkin/{token}");
    let form = patient.get(&link).await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("<html lang=\"es\">"));
    assert!(form.html.contains("¿Cómo se encuentra después de su prueba de médula ósea?"));
    assert!(form.html.contains("Hola, Lucía."));
    assert!(form.html.contains("Sangra y no para aunque presione"));
    assert!(form.html.contains(&format!("action=\"/checkin/{token}?lang=es\"")));
    assert!(form.html.contains(&format!("href=\"/checkin/{token}?lang=en\"")));
    let switched = patient.get(&format!("{link}?lang=en")).await;
    assert!(switched.html.contains("<html lang=\"en\">"));
    assert!(switched.html.contains("How are you after your bone marrow test?"));
    assert!(switched.html.contains(&format!("action=\"/checkin/{token}?lang=en\"")));
    let unknown = patient.get(&format!("{link}?lang=fr")).await;
    assert!(unknown.html.contains("<html lang=\"es\">"), "an unknown language: the patient's");

    // Errors in Spanish, linked to the field.
    let bad = submit(
        &mut patient,
        &format!("{link}?lang=es"),
        &[("temperature", "muy alta"), ("bleeding", "none"), ("pain", "mild")],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("<html lang=\"es\">"));
    assert!(bad.html.contains("Por favor, revise sus respuestas"));
    assert!(bad.html.contains("Por favor, escriba su temperatura en °C. Por ejemplo: 37.5"));
    assert!(bad.html.contains("href=\"#f-temperature\""));
    assert!(bad.html.contains("aria-describedby=\"e-temperature\""));
    let none = submit(&mut patient, &format!("{link}?lang=es"), &[("pain", "mild")]).await;
    assert!(none.html.contains("Por favor, elija una respuesta sobre el sangrado."));
    assert!(app.store.checkins(case).await.unwrap().is_empty(), "nothing stored");

    // A fever answered in Spanish: the result in Spanish, the team's alert in English.
    let result = submit(
        &mut patient,
        &format!("{link}?lang=es"),
        &[("temperature", "38,5"), ("bleeding", "none"), ("pain", "mild")],
    )
    .await;
    assert_eq!(result.status, 200, "{}", result.html);
    assert!(result.html.contains("<html lang=\"es\">"));
    assert!(result.html.contains("<h1 class=\"outcome-call-now\">Llame ahora</h1>"));
    assert!(result.html.contains("Tiene 38.5 °C de fiebre."));
    assert!(result.html.contains("vaya a urgencias"));
    let alerts = app.store.alerts(true, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].summary, "You have a fever of 38.5 °C. Call the number on your sheet now.",
        "the team reads the alert in English"
    );
}

#[tokio::test]
async fn a_stale_or_wrong_link_answers_in_the_language_asked_for() {
    let app = sqlite_app().await;
    let mut patient = Browser::new(&app.base_url);
    let wrong = patient.get(&format!("/checkin/{}?lang=es", "a".repeat(64))).await;
    assert_eq!(wrong.status, 404);
    assert!(
        wrong.html.contains("<html lang=\"es\">") && wrong.html.contains("Este enlace no funciona")
    );
    let wrong = patient.get(&format!("/checkin/{}", "a".repeat(64))).await;
    assert!(
        wrong.html.contains("<html lang=\"en\">") && wrong.html.contains("This link does not work")
    );

    let staff = Staff::insert(&app.store, "!").await;
    let case = spanish_patients_case(&app, &staff).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let token = token_in(&nurse.post(&format!("/cases/{case}/discharge"), &[]).await.html);
    // A form sent without the cookie its page set: asked to open the link again, in Spanish.
    let stale = patient
        .post_raw(&format!("/checkin/{token}"), &[("checkin_csrf".into(), "0".repeat(64))])
        .await;
    assert_eq!(stale.status, 403);
    assert!(stale.html.contains("Este formulario ha caducado."), "{}", stale.html);
}

/// The API and the registration form take the patient's language; a wrong code is refused
/// naming `language`, with nothing stored.
async fn language_on_registration(app: TestApp) {
    let clinician = app.api_as(Role::Clinician).await;
    let body = |mrn: &str| {
        json!({"mrn": mrn, "family_name": "Valid", "given_name": "Input",
            "date_of_birth": "1970-01-01", "sex": "female"})
    };
    let plain = clinician.post("/api/v1/patients", &body("SYN-LANG-1")).await;
    assert_eq!(plain.status, 201, "{:?}", plain.json);
    assert_eq!(plain.json["language"], "en", "no language: English");
    let mut spanish = body("SYN-LANG-2");
    spanish["language"] = json!("es");
    let spanish = clinician.post("/api/v1/patients", &spanish).await;
    assert_eq!(spanish.json["language"], "es");
    let id = spanish.json["id"].as_i64().unwrap();
    assert_eq!(clinician.get(&format!("/api/v1/patients/{id}")).await.json["language"], "es");
    let listed = clinician.get("/api/v1/patients").await;
    assert!(listed.json.as_array().unwrap().iter().any(|p| p["language"] == "es"));

    for wrong in [json!("fr"), json!("ES-MX"), json!(5)] {
        let before = marrow_testkit::app::snapshot(&app.store).await;
        let mut refused = body("SYN-LANG-3");
        refused["language"] = wrong.clone();
        let reply = clinician.post("/api/v1/patients", &refused).await;
        assert_eq!(reply.status, 422, "{wrong}: {:?}", reply.json);
        assert_eq!(reply.json["field"], "language", "{wrong}: {:?}", reply.json);
        assert_eq!(before, marrow_testkit::app::snapshot(&app.store).await, "{wrong}");
    }

    let mut registrar = app.browser_as(Role::Clinician).await;
    let form = registrar.get("/patients/new").await;
    assert!(form.html.contains("<option value=\"en\" selected>English</option>"), "{}", form.html);
    assert!(form.html.contains("<option value=\"es\" >Spanish</option>"), "{}", form.html);
    let fields = [
        ("mrn", "SYN-LANG-4"),
        ("family_name", "Valid"),
        ("given_name", "Form"),
        ("date_of_birth", "1970-01-01"),
        ("sex", "male"),
    ];
    let before = marrow_testkit::app::snapshot(&app.store).await;
    let bad = registrar.post("/patients", &[&fields[..], &[("language", "xx")]].concat()).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("href=\"#f-language\""), "{}", bad.html);
    assert_eq!(before, marrow_testkit::app::snapshot(&app.store).await);
    let saved = registrar.post("/patients", &[&fields[..], &[("language", "es")]].concat()).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let id = saved.location.unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(clinician.get(&format!("/api/v1/patients/{id}")).await.json["language"], "es");
}

#[tokio::test]
async fn registration_takes_the_patients_language_on_sqlite() {
    language_on_registration(sqlite_app().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn registration_takes_the_patients_language_on_postgres() {
    language_on_registration(crate::postgres_app().await).await;
}
