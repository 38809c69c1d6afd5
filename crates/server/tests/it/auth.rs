//! Logging in and out, CSRF, bearer tokens, security headers and the fixed contract points.

use marrow_domain::role::Role;
use marrow_server::Config;
use marrow_testkit::app::{PASSWORD, hidden_value, snapshot};
use marrow_testkit::{Api, Browser};
use serde_json::json;

use crate::sqlite_app;

#[tokio::test]
async fn the_api_refuses_missing_and_unknown_tokens() {
    let app = sqlite_app().await;
    let nobody = Api::with_token(&app.base_url, "not-a-real-token");
    let r = nobody.get("/api/v1/cases").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = reqwest::get(format!("{}/api/v1/cases", app.base_url)).await.unwrap();
    assert_eq!(r.status(), 401);
    let me = app.api_as(Role::Technologist).await.get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["role"], "technologist");
}

#[tokio::test]
async fn pages_need_a_login_and_a_wrong_password_gets_none() {
    let app = sqlite_app().await;
    let (_, username) = app.user(Role::Clinician, "login").await;
    let mut browser = Browser::new(&app.base_url);
    let page = browser.get("/cases").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/login"));
    assert_eq!(browser.login(&username, "wrong password here").await, 401);
    assert_eq!(browser.get("/cases").await.status, 303, "still not logged in");
    assert_eq!(browser.login(&username, PASSWORD).await, 303);
    assert_eq!(browser.get("/cases").await.status, 200);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_logout_ends_it() {
    let app = sqlite_app().await;
    let (_, username) = app.user(Role::Nurse, "cookie").await;
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = client.get(format!("{}/login", app.base_url)).send().await.unwrap();
    let login_cookie =
        login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = hidden_value(&login.text().await.unwrap(), "login_csrf").unwrap();
    let r = client
        .post(format!("{}/login", app.base_url))
        .header("cookie", &login_cookie)
        .form(&[
            ("login_csrf", token.as_str()),
            ("username", username.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session =
        cookies.iter().find(|c| c.starts_with("marrow_session=")).expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");

    let mut browser = app.browser_as(Role::Nurse).await;
    assert_eq!(browser.get("/cases").await.status, 200);
    assert_eq!(browser.post("/logout", &[]).await.status, 303);
    assert_eq!(browser.get("/cases").await.status, 303, "the session is gone after logout");
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let app = sqlite_app().await;
    let mut browser = app.browser_as(Role::Clinician).await;
    let before = snapshot(&app.store).await;
    let fields = [
        ("mrn", "SYN-CSRF-1"),
        ("family_name", "Forged"),
        ("given_name", "Form"),
        ("date_of_birth", "1970-01-01"),
        ("sex", "male"),
    ];
    let without: Vec<(String, String)> =
        fields.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    assert_eq!(browser.post_raw("/patients", &without).await.status, 403);
    let mut forged = without.clone();
    forged.push(("csrf".into(), "0".repeat(64)));
    assert_eq!(browser.post_raw("/patients", &forged).await.status, 403);
    assert_eq!(before, snapshot(&app.store).await);
    assert_eq!(browser.post("/patients", &fields).await.status, 303, "with the token it works");

    let mut stranger = Browser::new(&app.base_url);
    let login =
        vec![("username".to_owned(), "x".to_owned()), ("password".to_owned(), "y".to_owned())];
    assert_eq!(
        stranger.post_raw("/login", &login).await.status,
        403,
        "login needs its own token too"
    );
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = sqlite_app().await;
    for path in ["/login", "/healthz", "/api/v1/cases"] {
        let r = reqwest::get(format!("{}{path}", app.base_url)).await.unwrap();
        let h = r.headers();
        assert!(
            h["content-security-policy"].to_str().unwrap().contains("default-src 'self'"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = sqlite_app().await;
    let r = reqwest::get(format!("{}/healthz", app.base_url)).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
    app.store.close().await;
    let r = reqwest::get(format!("{}/healthz", app.base_url)).await.unwrap();
    assert_eq!(r.status(), 503, "a closed database is reported, not hidden");
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_api_route() {
    let app = sqlite_app().await;
    let r = reqwest::get(format!("{}/api/openapi.json", app.base_url)).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("/api/v1/me", "get"),
        ("/api/v1/patients", "get"),
        ("/api/v1/patients", "post"),
        ("/api/v1/patients/{id}", "get"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases", "post"),
        ("/api/v1/cases/{id}", "get"),
        ("/api/v1/cases/{id}/safety-check", "put"),
        ("/api/v1/cases/{id}/procedure", "post"),
        ("/api/v1/cases/{id}/specimens/receive", "post"),
        ("/api/v1/cases/{id}/differential", "put"),
        ("/api/v1/cases/{id}/report/draft", "put"),
        ("/api/v1/cases/{id}/report/sign", "post"),
        ("/api/v1/cases/{id}/report/amendments", "post"),
        ("/api/v1/cases/{id}/report/versions/{version}", "get"),
        ("/api/v1/cases/{id}/counts", "post"),
        ("/api/v1/counts/{id}", "get"),
        ("/api/v1/counts/{id}/events", "post"),
        ("/api/v1/counts/{id}/events", "get"),
        ("/api/v1/counts/{id}/finish", "post"),
        ("/api/v1/counts/{id}/images", "post"),
        ("/api/v1/counts/{id}/cells", "get"),
        ("/api/v1/counts/{id}/cells/{cell}/decision", "post"),
        ("/api/v1/cases/{id}/aspirate", "put"),
        ("/api/v1/cases/{id}/fhir", "get"),
        ("/api/v1/cases/{id}/hl7", "get"),
        ("/api/v1/fhir/export", "get"),
        ("/api/v1/hl7/outbox", "get"),
        ("/api/v1/patients/{id}/timeline", "get"),
        ("/api/v1/patients/{id}/blood-counts", "get"),
        ("/api/v1/patients/{id}/blood-counts", "post"),
        ("/api/v1/patients/{id}/milestones", "post"),
        ("/api/v1/blood-counts/import", "post"),
        ("/api/v1/interfaces/held", "get"),
    ];
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(op["responses"].is_object(), "{method} {path} has responses");
    }
    let documented: usize =
        doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len(), "no undocumented or stale operations");
    assert!(doc["components"]["schemas"]["CaseDto"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn unknown_paths_are_404_in_the_callers_format() {
    let app = sqlite_app().await;
    let api = reqwest::get(format!("{}/api/v1/nothing-here", app.base_url)).await.unwrap();
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"], "there is no page at /api/v1/nothing-here");
    let page = reqwest::get(format!("{}/nothing-here", app.base_url)).await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn repeated_failed_logins_lock_that_username_for_a_while_on_every_node() {
    let app = sqlite_app().await;
    let (_, username) = app.user(Role::Nurse, "guessed").await;
    let (_, other) = app.user(Role::Nurse, "bystander").await;
    let mut browser = Browser::new(&app.base_url);
    for attempt in 1..=5 {
        assert_eq!(browser.login(&username, "not the password").await, 401, "attempt {attempt}");
    }
    // The sixth try is refused before any password check, even with the right password.
    let page = browser.get("/login").await;
    let token = marrow_testkit::app::hidden_value(&page.html, "login_csrf").unwrap();
    let fields = vec![
        ("login_csrf".to_owned(), token),
        ("username".to_owned(), username.clone()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ];
    let locked = browser.post_raw("/login", &fields).await;
    assert_eq!(locked.status, 429);
    assert!(locked.html.contains("Too many failed attempts. Try again in 15 minutes"));
    assert_eq!(browser.get("/cases").await.status, 303, "no session was given");
    // Another username is not affected.
    assert_eq!(Browser::new(&app.base_url).login(&other, PASSWORD).await, 303);
    // The failures live in the database: a second node sees the same lock.
    // Another server on the same database, as a second app node would be.
    let second = marrow_testkit::app::serve_until_exit(&app.store).await;
    assert_eq!(Browser::new(&second).login(&username, PASSWORD).await, 429);

    // Failures older than the 15-minute window do not count, and a login clears the rest.
    let (_, later) = app.user(Role::Nurse, "later").await;
    let now = marrow_testkit::synthetic::now();
    for _ in 0..5 {
        app.store
            .record_login_failure(&later, now.plus_seconds(-16 * 60), now.plus_seconds(-3600))
            .await
            .unwrap();
    }
    assert_eq!(Browser::new(&app.base_url).login(&later, PASSWORD).await, 303);
    let (count, _) = app.store.login_failures_since(&later, now.plus_seconds(-3600)).await.unwrap();
    assert_eq!(count, 0, "a login forgets the failures");
}

#[tokio::test]
async fn an_expired_session_is_a_new_login() {
    // Sessions that end the moment they start: the next request must not be let in.
    let config = Config { session_seconds: 0, ..Config::default() };
    let app =
        marrow_testkit::app::spawn_app_with(marrow_testkit::TestDb::sqlite().await, config).await;
    let (_, username) = app.user(Role::Clinician, "expiring").await;
    let mut browser = Browser::new(&app.base_url);
    assert_eq!(browser.login(&username, PASSWORD).await, 303);
    let page = browser.get("/cases").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/login")));
}

#[tokio::test]
async fn hsts_is_sent_when_marrow_is_served_over_https_only() {
    let plain = sqlite_app().await;
    let r = reqwest::get(format!("{}/login", plain.base_url)).await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none(), "not over plain HTTP");
    let config = Config { secure_cookies: true, ..Config::default() };
    let tls =
        marrow_testkit::app::spawn_app_with(marrow_testkit::TestDb::sqlite().await, config).await;
    for path in ["/login", "/healthz", "/api/v1/me", "/static/marrow.css"] {
        let r = reqwest::get(format!("{}{path}", tls.base_url)).await.unwrap();
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}
