//! Every route, every role (issue 9, point 3): each (method, path) the server routes has an entry
//! here saying who may use it, and every role, plus someone not logged in, is tried on it. A
//! refused role gets 403 (never a 404 or a validation error that would show the handler ran);
//! someone not logged in is sent to the login page (pages) or gets 401 (API); an allowed role is
//! never refused. The routes are read from the router's source, so a new route without an entry
//! fails the test.
//!
//! The expected roles are written out here from design.md ("Roles"), not derived from
//! `marrow-domain::role`, so a wrong permission in the code fails this test.

use std::collections::BTreeSet;

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role::{self, *};
use marrow_testkit::app::{Api, Browser};
use marrow_testkit::synthetic::{self, Staff, case_at};

use crate::sqlite_app;

const ROUTER_SOURCES: [&str; 3] = [
    include_str!("../../src/lib.rs"),
    include_str!("../../src/pages/mod.rs"),
    include_str!("../../src/api/mod.rs"),
];

/// Who may use a route.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Anyone, logged in or not (health, static files, login, the patient's own link).
    Public,
    /// Any logged-in staff member, administrator included.
    AnyStaff,
    /// These roles only.
    Roles(&'static [Role]),
}

const CLINICAL: &[Role] = &[Clinician, Proceduralist, Nurse, Technologist, Pathologist];
const REGISTER: &[Role] = &[Clinician, Proceduralist, Nurse];
const ORDER: &[Role] = &[Clinician];
const BEDSIDE: &[Role] = &[Proceduralist, Nurse];
const LAB: &[Role] = &[Technologist, Pathologist];
const SIGN: &[Role] = &[Pathologist];
const ADMIN: &[Role] = &[Admin];
const ALERTS: &[Role] = &[Clinician, Proceduralist, Nurse];
const ACKNOWLEDGE: &[Role] = &[Clinician];
const COUNTS: &[Role] = &[Clinician, Proceduralist, Nurse, Technologist];
const MILESTONES: &[Role] = &[Clinician];
const HELD: &[Role] = &[Technologist, Pathologist];
const EXPORT: &[Role] = &[Pathologist];

/// Every route the server answers, with who may use it.
const MATRIX: &[(&str, &str, Who)] = &[
    ("GET", "/healthz", Who::Public),
    ("GET", "/static/marrow.css", Who::Public),
    ("GET", "/static/counter.js", Who::Public),
    ("GET", "/static/safety.js", Who::Public),
    ("GET", "/static/report.js", Who::Public),
    ("GET", "/static/live.js", Who::Public),
    ("GET", "/static/gallery.js", Who::Public),
    ("GET", "/", Who::AnyStaff),
    ("GET", "/login", Who::Public),
    ("POST", "/login", Who::Public),
    ("POST", "/logout", Who::AnyStaff),
    ("GET", "/patients", Who::Roles(CLINICAL)),
    ("POST", "/patients", Who::Roles(REGISTER)),
    ("GET", "/patients/new", Who::Roles(REGISTER)),
    ("GET", "/patients/{id}", Who::Roles(CLINICAL)),
    ("GET", "/patients/{id}/orders/new", Who::Roles(ORDER)),
    ("POST", "/patients/{id}/orders", Who::Roles(ORDER)),
    ("GET", "/patients/{id}/timeline", Who::Roles(CLINICAL)),
    ("POST", "/patients/{id}/milestones", Who::Roles(MILESTONES)),
    ("GET", "/patients/{id}/blood-counts/new", Who::Roles(COUNTS)),
    ("POST", "/patients/{id}/blood-counts", Who::Roles(COUNTS)),
    ("GET", "/blood-counts/import", Who::Roles(COUNTS)),
    ("POST", "/blood-counts/import", Who::Roles(COUNTS)),
    ("GET", "/interfaces/held", Who::Roles(CLINICAL)),
    ("POST", "/interfaces/held/{id}/review", Who::Roles(HELD)),
    ("GET", "/cases", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}/history", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}/safety-check", Who::Roles(BEDSIDE)),
    ("POST", "/cases/{id}/safety-check", Who::Roles(BEDSIDE)),
    ("POST", "/cases/{id}/safety-check/findings", Who::Roles(BEDSIDE)),
    ("GET", "/cases/{id}/procedure", Who::Roles(BEDSIDE)),
    ("POST", "/cases/{id}/procedure", Who::Roles(BEDSIDE)),
    ("POST", "/cases/{id}/specimens/receive", Who::Roles(LAB)),
    ("GET", "/cases/{id}/differential", Who::Roles(LAB)),
    ("POST", "/cases/{id}/differential", Who::Roles(LAB)),
    ("GET", "/cases/{id}/report", Who::Roles(LAB)),
    ("POST", "/cases/{id}/report", Who::Roles(LAB)),
    ("POST", "/cases/{id}/report/flags", Who::Roles(LAB)),
    ("GET", "/cases/{id}/report/sign", Who::Roles(SIGN)),
    ("POST", "/cases/{id}/report/sign", Who::Roles(SIGN)),
    ("GET", "/cases/{id}/report/amend", Who::Roles(SIGN)),
    ("POST", "/cases/{id}/report/amend", Who::Roles(SIGN)),
    ("GET", "/cases/{id}/report/versions/{version}", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}/report/versions/{version}/text", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}/report/versions/{version}/pdf", Who::Roles(CLINICAL)),
    ("GET", "/admin/users", Who::Roles(ADMIN)),
    ("POST", "/admin/users", Who::Roles(ADMIN)),
    ("GET", "/admin/settings", Who::Roles(ADMIN)),
    ("POST", "/admin/settings", Who::Roles(ADMIN)),
    ("POST", "/admin/settings/safety", Who::Roles(ADMIN)),
    ("POST", "/admin/settings/discharge", Who::Roles(ADMIN)),
    ("GET", "/cases/{id}/aspirate", Who::Roles(LAB)),
    ("POST", "/cases/{id}/aspirate", Who::Roles(LAB)),
    ("POST", "/cases/{id}/checkin-link", Who::Roles(BEDSIDE)),
    ("GET", "/cases/{id}/labels.pdf", Who::Roles(CLINICAL)),
    ("GET", "/lab/receive", Who::Roles(LAB)),
    ("POST", "/lab/receive", Who::Roles(LAB)),
    ("GET", "/interfaces/hl7", Who::Roles(CLINICAL)),
    ("GET", "/checkin/{token}", Who::Public),
    ("POST", "/checkin/{token}", Who::Public),
    ("GET", "/checkin/{token}/sheet.pdf", Who::Public),
    ("GET", "/checkin/{token}/sheet", Who::Public),
    ("POST", "/cases/{id}/discharge", Who::Roles(BEDSIDE)),
    ("GET", "/alerts", Who::Roles(ALERTS)),
    ("POST", "/alerts/{id}/acknowledge", Who::Roles(ACKNOWLEDGE)),
    ("POST", "/cases/{id}/counts", Who::Roles(LAB)),
    ("GET", "/cases/{id}/counts/compare", Who::Roles(CLINICAL)),
    ("GET", "/counts/{id}", Who::Roles(CLINICAL)),
    ("GET", "/keymaps", Who::Roles(LAB)),
    ("POST", "/keymaps", Who::Roles(LAB)),
    ("POST", "/counts/{id}/events", Who::Roles(LAB)),
    ("GET", "/counts/{id}/stats", Who::Roles(CLINICAL)),
    ("POST", "/counts/{id}/finish", Who::Roles(LAB)),
    ("GET", "/counts/{id}/gallery", Who::Roles(CLINICAL)),
    ("POST", "/counts/{id}/images", Who::Roles(LAB)),
    ("GET", "/counts/{id}/cells", Who::Roles(CLINICAL)),
    ("POST", "/counts/{id}/cells/{cell}/decision", Who::Roles(LAB)),
    ("GET", "/image-cells/{id}/crop.png", Who::Roles(CLINICAL)),
    ("GET", "/cases/{id}/image-cells", Who::Roles(CLINICAL)),
    ("GET", "/lab/agreement", Who::Roles(CLINICAL)),
    ("GET", "/api/openapi.json", Who::Public),
    ("GET", "/api/v1/me", Who::AnyStaff),
    ("GET", "/api/v1/patients", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/patients", Who::Roles(REGISTER)),
    ("GET", "/api/v1/patients/{id}", Who::Roles(CLINICAL)),
    ("GET", "/api/v1/patients/{id}/timeline", Who::Roles(CLINICAL)),
    ("GET", "/api/v1/patients/{id}/blood-counts", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/patients/{id}/blood-counts", Who::Roles(COUNTS)),
    ("POST", "/api/v1/patients/{id}/milestones", Who::Roles(MILESTONES)),
    ("POST", "/api/v1/blood-counts/import", Who::Roles(COUNTS)),
    ("GET", "/api/v1/interfaces/held", Who::Roles(CLINICAL)),
    ("GET", "/api/v1/cases", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/cases", Who::Roles(ORDER)),
    ("GET", "/api/v1/cases/{id}", Who::Roles(CLINICAL)),
    ("PUT", "/api/v1/cases/{id}/safety-check", Who::Roles(BEDSIDE)),
    ("POST", "/api/v1/cases/{id}/procedure", Who::Roles(BEDSIDE)),
    ("POST", "/api/v1/cases/{id}/specimens/receive", Who::Roles(LAB)),
    ("PUT", "/api/v1/cases/{id}/differential", Who::Roles(LAB)),
    ("PUT", "/api/v1/cases/{id}/aspirate", Who::Roles(LAB)),
    ("PUT", "/api/v1/cases/{id}/report/draft", Who::Roles(LAB)),
    ("POST", "/api/v1/cases/{id}/report/sign", Who::Roles(SIGN)),
    ("POST", "/api/v1/cases/{id}/report/amendments", Who::Roles(SIGN)),
    ("GET", "/api/v1/cases/{id}/report/versions/{version}", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/cases/{id}/counts", Who::Roles(LAB)),
    ("GET", "/api/v1/counts/{id}", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/counts/{id}/events", Who::Roles(LAB)),
    ("GET", "/api/v1/counts/{id}/events", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/counts/{id}/finish", Who::Roles(LAB)),
    ("POST", "/api/v1/counts/{id}/images", Who::Roles(LAB)),
    ("GET", "/api/v1/counts/{id}/cells", Who::Roles(CLINICAL)),
    ("POST", "/api/v1/counts/{id}/cells/{cell}/decision", Who::Roles(LAB)),
    ("GET", "/api/v1/cases/{id}/fhir", Who::Roles(CLINICAL)),
    ("GET", "/api/v1/cases/{id}/hl7", Who::Roles(CLINICAL)),
    ("GET", "/api/v1/fhir/export", Who::Roles(EXPORT)),
    ("GET", "/api/v1/hl7/outbox", Who::Roles(CLINICAL)),
];

/// (method, path) of every `.route("…", get(…).post(…))` in the router's source.
fn routed() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for source in ROUTER_SOURCES {
        let pieces: Vec<&str> = source.split(".route(").skip(1).collect();
        for piece in pieces {
            let Some(start) = piece.find('"') else { continue };
            let rest = &piece[start + 1..];
            let Some(end) = rest.find('"') else { continue };
            let path = &rest[..end];
            // The methods are named before the route's closing parenthesis at depth zero.
            let mut depth = 0_i32;
            let mut stop = rest.len();
            for (i, c) in rest[end..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        stop = end + i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let body = &rest[end..stop];
            for (method, call) in
                [("GET", "get("), ("POST", "post("), ("PUT", "put("), ("DELETE", "delete(")]
            {
                let mentioned = body.match_indices(call).any(|(i, _)| {
                    i == 0 || !body[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if mentioned {
                    out.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn every_routed_path_has_an_entry_and_every_entry_is_routed() {
    let routed = routed();
    assert!(routed.len() > 100, "the router's routes were read: {}", routed.len());
    let listed: BTreeSet<(String, String)> =
        MATRIX.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let missing: Vec<_> = routed.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes with no entry in MATRIX (say who may use them): {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&routed).collect();
    assert!(stale.is_empty(), "MATRIX entries for routes that do not exist: {stale:?}");
}

/// The ids a path's placeholders are filled with.
struct Ids {
    patient: i64,
    case: i64,
    count: i64,
    held: i64,
}

fn fill(path: &str, ids: &Ids) -> String {
    let id = if path.starts_with("/patients") || path.starts_with("/api/v1/patients") {
        ids.patient
    } else if path.starts_with("/counts") || path.starts_with("/api/v1/counts") {
        ids.count
    } else if path.starts_with("/interfaces/held") {
        ids.held
    } else if path.starts_with("/cases") || path.starts_with("/api/v1/cases") {
        ids.case
    } else {
        1
    };
    path.replace("{id}", &id.to_string())
        .replace("{version}", "1")
        .replace("{cell}", "1")
        .replace("{token}", &"0".repeat(64))
}

/// The status and body of a page request.
async fn page_reply(browser: &mut Browser, method: &str, path: &str) -> (u16, String) {
    let header_csrf =
        path.ends_with("/events") || path.ends_with("/images") || path.ends_with("/decision");
    let page = match method {
        "GET" => browser.get(path).await,
        "POST" if header_csrf => {
            browser.post_with_csrf_header(path, "application/json", b"{}".to_vec()).await
        }
        "POST" => browser.post(path, &[]).await,
        other => panic!("no page route uses {other}"),
    };
    (page.status, page.html)
}

/// The status and body of an API request.
async fn api_reply(api: &Api, method: &str, path: &str) -> (u16, String) {
    let reply = match method {
        "GET" => api.get(path).await,
        "POST" => api.post(path, &serde_json::json!({})).await,
        "PUT" => api.put(path, &serde_json::json!({})).await,
        other => panic!("no API route uses {other}"),
    };
    (reply.status, reply.text)
}

/// A refusal because of the role, as `Role::refusal` words it ("Your role (nurse) may not …"),
/// rather than another 403 (another observer's count, a CSRF token).
fn role_refusal(status: u16, body: &str) -> bool {
    status == 403 && body.contains("Your role (")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_is_allowed_or_refused_on_every_route_as_the_matrix_says() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!synthetic").await;
    let (patient, case) = case_at(&app.store, &staff, 1, CaseStatus::Reported).await;
    let (_, lab_case) = case_at(&app.store, &staff, 2, CaseStatus::InLab).await;
    let count =
        app.store.start_count(lab_case, 500, synthetic::stamp(staff.technologist)).await.unwrap();
    let held =
        app.store.hold_message("mllp", "MSH|^~\\&|X", "test", synthetic::now()).await.unwrap();
    let ids = Ids { patient: patient.0, case: case.0, count: count.id.0, held };

    let mut failures = Vec::new();
    let mut tried = 0;
    for role in Role::ALL.iter().copied().map(Some).chain([None]) {
        let suffix = role.map_or("anonymous", |r| r.code());
        let mut browser = match role {
            Some(r) => app.browser_as_named(r, &format!("matrix-{suffix}")).await,
            None => Browser::new(&app.base_url),
        };
        let api = match role {
            Some(r) => app.api_as_named(r, &format!("matrix-api-{suffix}")).await,
            None => Api::with_token(&app.base_url, ""),
        };
        for &(method, template, who) in MATRIX {
            // Logging out would end this browser's session for the routes after it.
            if template == "/logout" || (template == "/login" && method == "POST") {
                continue;
            }
            let path = fill(template, &ids);
            let is_api = template.starts_with("/api/v1/");
            let (status, body) = if is_api {
                api_reply(&api, method, &path).await
            } else {
                page_reply(&mut browser, method, &path).await
            };
            tried += 1;
            let allowed = match (who, role) {
                (Who::Public, _) => true,
                (_, None) => false,
                (Who::AnyStaff, Some(_)) => true,
                (Who::Roles(roles), Some(r)) => roles.contains(&r),
            };
            let ok = match (allowed, role) {
                (true, None) => status != 401 && status != 403,
                (true, Some(_)) => status != 401 && !role_refusal(status, &body),
                // Not logged in: the login page for pages (or 401 where a script asks), 401 for the API.
                (false, None) => {
                    if is_api {
                        status == 401
                    } else {
                        matches!(status, 303 | 401)
                    }
                }
                (false, Some(_)) => role_refusal(status, &body),
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {suffix}: {} expected, got {status}",
                    if allowed { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(tried > 700, "every route was tried for every role: {tried}");
    assert!(
        failures.is_empty(),
        "{} of {tried} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_page_route_refuses_a_request_without_the_csrf_token() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!synthetic").await;
    let (patient, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let count =
        app.store.start_count(case, 500, synthetic::stamp(staff.technologist)).await.unwrap();
    let held =
        app.store.hold_message("mllp", "MSH|^~\\&|X", "test", synthetic::now()).await.unwrap();
    let ids = Ids { patient: patient.0, case: case.0, count: count.id.0, held };
    let before = marrow_testkit::app::snapshot(&app.store).await;
    let mut checked = 0;
    for &(method, template, who) in MATRIX {
        if method != "POST" || template.starts_with("/api/") {
            continue;
        }
        // The patient's own form carries its own token and is refused as "link not valid"
        // before that (tests/it/checkin.rs covers its token).
        if template.starts_with("/checkin/") {
            continue;
        }
        let role = match who {
            Who::Roles(roles) => roles[0],
            Who::AnyStaff | Who::Public => Clinician,
        };
        let mut browser = app.browser_as_named(role, &format!("csrf-{checked}")).await;
        let path = fill(template, &ids);
        // A form with every field but the token, as a forged cross-site form would be.
        let fields = vec![("anything".to_owned(), "x".to_owned())];
        let reply = if template == "/login" {
            Browser::new(&app.base_url).post_raw(&path, &fields).await
        } else {
            browser.post_raw(&path, &fields).await
        };
        assert_eq!(reply.status, 403, "POST {path} without a CSRF token: {}", reply.html);
        checked += 1;
    }
    assert!(checked > 30, "every state-changing page route was tried: {checked}");
    assert_eq!(before, marrow_testkit::app::snapshot(&app.store).await, "nothing changed");
}
