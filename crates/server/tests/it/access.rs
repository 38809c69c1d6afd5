//! Each role may take its own steps and is refused the steps of the others, through the API
//! and through the pages, and a refusal changes nothing.
//!
//! The expected matrix is written out here from design.md ("Roles"), not derived from the code
//! under test, so a wrong permission in `marrow-domain` fails this test.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::app::snapshot;
use marrow_testkit::synthetic::{self, Staff, case_at};
use serde_json::{Value, json};

use crate::sqlite_app;

#[derive(Debug, Clone, Copy)]
enum Step {
    RegisterPatient,
    Order,
    SafetyCheck,
    Procedure,
    Receive,
    Differential,
    Draft,
    Sign,
    Amend,
}

const STEPS: [Step; 9] = [
    Step::RegisterPatient,
    Step::Order,
    Step::SafetyCheck,
    Step::Procedure,
    Step::Receive,
    Step::Differential,
    Step::Draft,
    Step::Sign,
    Step::Amend,
];

fn allowed(step: Step) -> &'static [Role] {
    use Role::*;
    match step {
        Step::RegisterPatient => &[Clinician, Proceduralist, Nurse],
        Step::Order => &[Clinician],
        Step::SafetyCheck | Step::Procedure => &[Proceduralist, Nurse],
        Step::Receive | Step::Differential | Step::Draft => &[Technologist, Pathologist],
        Step::Sign | Step::Amend => &[Pathologist],
    }
}

/// The status a case must be in for the step to be possible.
fn needs(step: Step) -> CaseStatus {
    match step {
        Step::RegisterPatient | Step::Order | Step::SafetyCheck => CaseStatus::Ordered,
        Step::Procedure => CaseStatus::Checked,
        Step::Receive => CaseStatus::Performed,
        Step::Differential | Step::Draft | Step::Sign => CaseStatus::InLab,
        Step::Amend => CaseStatus::Reported,
    }
}

fn api_call(step: Step, patient: i64, case: i64, n: u32) -> (&'static str, String, Value) {
    let c = format!("/api/v1/cases/{case}");
    match step {
        Step::RegisterPatient => (
            "POST",
            "/api/v1/patients".into(),
            json!({"mrn": format!("SYN-ACL-{n}"), "family_name": "Accesstest", "given_name": "Role",
                   "date_of_birth": "1980-02-02", "sex": "unknown"}),
        ),
        Step::Order => (
            "POST",
            "/api/v1/cases".into(),
            json!({"patient_id": patient, "indication": "staging", "sampling": "aspirate", "urgency": "routine"}),
        ),
        Step::SafetyCheck => (
            "PUT",
            format!("{c}/safety-check"),
            json!({"platelets": 200, "inr": 1.0, "bloods_taken_at": "2026-11-24T08:00:00Z"}),
        ),
        Step::Procedure => (
            "POST",
            format!("{c}/procedure"),
            json!({"operator": "Dr Synthetic", "performed_at": "2026-11-24T08:00:00Z", "site": "posterior-iliac-crest",
                   "side": "left", "position": "lateral", "local_anaesthetic": "Lidocaine 1%", "sedation": "none",
                   "specimens": [{"tube": "edta", "destination": "morphology"}], "time_out_done": true}),
        ),
        Step::Receive => ("POST", format!("{c}/specimens/receive"), json!({})),
        Step::Differential => (
            "PUT",
            format!("{c}/differential"),
            json!({"counts": {"lymphocytes": 100, "polychromatic-erythroblasts": 100}}),
        ),
        // The synthetic in-lab case already has a draft at revision 1.
        Step::Draft => (
            "PUT",
            format!("{c}/report/draft"),
            synthetic::report_json(json!({"expected_revision": 1, "interpretation": "Edited."})),
        ),
        Step::Sign => ("POST", format!("{c}/report/sign"), json!({})),
        Step::Amend => (
            "POST",
            format!("{c}/report/amendments"),
            synthetic::report_json(json!({"reason": "Added result", "interpretation": "Amended."})),
        ),
    }
}

/// The synthetic report's form fields, with `changes` replacing some.
fn report_form(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    synthetic::report_fields()
        .into_iter()
        .map(|(k, v)| {
            let v = changes.iter().find(|(c, _)| *c == k).map_or(v, |(_, new)| *new);
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn page_call(step: Step, patient: i64, case: i64, n: u32) -> (String, Vec<(String, String)>) {
    let c = format!("/cases/{case}");
    let f = |pairs: &[(&str, String)]| {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    };
    match step {
        Step::RegisterPatient => (
            "/patients".into(),
            f(&[
                ("mrn", format!("SYN-WEBACL-{n}")),
                ("family_name", "Accesstest".into()),
                ("given_name", "Web".into()),
                ("date_of_birth", "1980-02-02".into()),
                ("sex", "unknown".into()),
            ]),
        ),
        Step::Order => (
            format!("/patients/{patient}/orders"),
            f(&[
                ("indication", "staging".into()),
                ("sampling", "aspirate".into()),
                ("urgency", "routine".into()),
            ]),
        ),
        Step::SafetyCheck => (
            format!("{c}/safety-check"),
            f(&[
                ("platelets", "200".into()),
                ("inr", "1.0".into()),
                ("bloods_taken_at", "2026-11-24T08:00".into()),
            ]),
        ),
        Step::Procedure => (
            format!("{c}/procedure"),
            f(&[
                ("operator", "Dr Synthetic".into()),
                ("performed_at", "2026-11-24T08:00".into()),
                ("site", "posterior-iliac-crest".into()),
                ("side", "left".into()),
                ("position", "lateral".into()),
                ("local_anaesthetic", "Lidocaine 1%".into()),
                ("sedation", "none".into()),
                ("time_out", "on".into()),
                ("specimen_tube", "edta".into()),
                ("specimen_destination", "morphology".into()),
            ]),
        ),
        Step::Receive => (format!("{c}/specimens/receive"), vec![]),
        Step::Differential => (
            format!("{c}/differential"),
            f(&[
                ("count.lymphocytes", "100".into()),
                ("count.polychromatic-erythroblasts", "100".into()),
            ]),
        ),
        Step::Draft => (format!("{c}/report"), {
            let mut fields = report_form(&[("interpretation", "Edited.")]);
            fields.push(("revision".to_owned(), "1".to_owned()));
            fields
        }),
        Step::Sign => (format!("{c}/report/sign"), vec![]),
        Step::Amend => (format!("{c}/report/amend"), {
            let mut fields = report_form(&[("interpretation", "Amended.")]);
            fields.push(("reason".to_owned(), "Added result".to_owned()));
            fields
        }),
    }
}

async fn call_api(
    api: &marrow_testkit::Api,
    method: &str,
    path: &str,
    body: &Value,
) -> marrow_testkit::app::Reply {
    match method {
        "POST" => api.post(path, body).await,
        "PUT" => api.put(path, body).await,
        other => panic!("unexpected method {other}"),
    }
}

#[tokio::test]
async fn each_role_may_take_only_its_own_steps_through_the_api() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let mut n = 0;
    for &role in Role::ALL {
        let api = app.api_as_named(role, &format!("acl{n}")).await;
        for step in STEPS {
            n += 1;
            let (patient, case) = case_at(&app.store, &staff, 1000 + n, needs(step)).await;
            let (method, path, body) = api_call(step, patient.0, case.0, n);
            let before = snapshot(&app.store).await;
            let reply = call_api(&api, method, &path, &body).await;
            if allowed(step).contains(&role) {
                assert!(
                    matches!(reply.status, 200 | 201),
                    "{role:?} may {step:?}: got {} {:?}",
                    reply.status,
                    reply.json
                );
            } else {
                assert_eq!(
                    reply.status, 403,
                    "{role:?} must be refused {step:?}: {:?}",
                    reply.json
                );
                assert!(
                    reply.json["error"].as_str().unwrap().contains("may not"),
                    "a plain message: {:?}",
                    reply.json
                );
                assert_eq!(
                    before,
                    snapshot(&app.store).await,
                    "a refused {step:?} by {role:?} changed nothing"
                );
            }
        }
    }
}

#[tokio::test]
async fn each_role_may_take_only_its_own_steps_through_the_pages() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let mut n = 0;
    for &role in Role::ALL {
        let mut browser = app.browser_as_named(role, &format!("web{n}")).await;
        for step in STEPS {
            n += 1;
            let (patient, case) = case_at(&app.store, &staff, 2000 + n, needs(step)).await;
            let (path, mut fields) = page_call(step, patient.0, case.0, n);
            fields.insert(0, ("csrf".into(), browser.csrf.clone()));
            let before = snapshot(&app.store).await;
            let page = browser.post_raw(&path, &fields).await;
            if allowed(step).contains(&role) {
                assert_eq!(page.status, 303, "{role:?} may {step:?}: {}", page.html);
            } else {
                assert_eq!(page.status, 403, "{role:?} must be refused {step:?}");
                assert!(page.html.contains("may not"), "a plain message for {role:?} {step:?}");
                assert_eq!(
                    before,
                    snapshot(&app.store).await,
                    "a refused {step:?} by {role:?} changed nothing"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_administrator_manages_users_but_sees_no_clinical_content() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Reported).await;
    let admin = app.api_as(Role::Admin).await;
    assert_eq!(admin.get(&format!("/api/v1/cases/{case}")).await.status, 403);
    assert_eq!(admin.get("/api/v1/cases").await.status, 403);
    assert_eq!(admin.get("/api/v1/patients").await.status, 403);
    let mut browser = app.browser_as(Role::Admin).await;
    assert_eq!(browser.get(&format!("/cases/{case}")).await.status, 403);
    assert_eq!(browser.get("/admin/users").await.status, 200);
    let r = browser
        .post(
            "/admin/users",
            &[
                ("username", "new.tech"),
                ("display_name", "New Tech"),
                ("role", "technologist"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(app.store.user_for_login("new.tech").await.unwrap().is_some());

    let mut clinician = app.browser_as(Role::Clinician).await;
    assert_eq!(clinician.get("/admin/users").await.status, 403);
    let r = clinician
        .post(
            "/admin/users",
            &[
                ("username", "sneaky"),
                ("display_name", "Sneaky"),
                ("role", "pathologist"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(app.store.user_for_login("sneaky").await.unwrap().is_none());
    let _ = synthetic::now();
}
