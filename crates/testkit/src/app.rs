//! [`spawn_app`]: the real server on a random loopback port, on a [`TestDb`] (style habit 7).
//!
//! The listener is bound before the server task starts, so no test sleeps waiting for it. The
//! clock is fixed at [`synthetic::now`] so pages and records are deterministic.

use std::collections::HashMap;

use marrow_domain::ids::UserId;
use marrow_domain::role::Role;
use marrow_server::{AppState, Config, FixedClock};
use marrow_store::Store;
use tokio::net::TcpListener;

use crate::{TestDb, synthetic};

/// The password of every user [`TestApp::user`] creates.
pub const PASSWORD: &str = "synthetic-password-1234";

/// A running server and its database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// The same store the server uses.
    pub store: Store,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Declared last, so dropped last: the database outlives the server.
    pub db: TestDb,
}

/// A new API bearer token for `user`, created at [`synthetic::now`].
pub async fn api_token(store: &Store, user: UserId) -> String {
    let token = marrow_server::auth::new_token();
    store
        .create_api_token(user, &marrow_server::auth::token_hash(&token), synthetic::now())
        .await
        .expect("create the API token");
    token
}

/// One technologist with an open count of their own, for load runs.
pub struct Counter {
    /// The technologist's API token.
    pub token: String,
    /// Their count.
    pub count: i64,
    /// The patient and case counted.
    pub patient: i64,
    /// The case.
    pub case: i64,
}

/// `n` synthetic cases in the lab (patients `first_patient`, `first_patient + 1`, …), each with
/// its own technologist (`{name}-tech-{i}`) who has started a 500-cell count: what the counter
/// benchmark and the soak run drive.
pub async fn technologists_counting(
    store: &Store,
    staff: &synthetic::Staff,
    n: usize,
    first_patient: u32,
    name: &str,
) -> Vec<Counter> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (patient, case) = synthetic::case_at(
            store,
            staff,
            first_patient + i as u32,
            marrow_domain::case::CaseStatus::InLab,
        )
        .await;
        let user = store
            .create_user(
                &format!("{name}-tech-{i}"),
                &format!("{name} technologist {i}"),
                Role::Technologist,
                "!",
                None,
                synthetic::now(),
            )
            .await
            .expect("a technologist");
        let token = api_token(store, user).await;
        let count = store
            .start_count(case, 500, marrow_store::Stamp { by: user, at: synthetic::now() })
            .await
            .expect("a count");
        out.push(Counter { token, count: count.id.0, patient: patient.0, case: case.0 });
    }
    out
}

/// Serves `store` on a loopback port for the rest of the process, with the default
/// configuration and the fixed synthetic clock; returns `http://127.0.0.1:PORT`. For benchmarks,
/// and for tests that need a server on a store of their own or a second node on the same one.
pub async fn serve_until_exit(store: &Store) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base_url = format!("http://{}", listener.local_addr().expect("local address"));
    let clock = std::sync::Arc::new(FixedClock(synthetic::now()));
    let state = AppState::with_clock(store.clone(), Config::default(), clock);
    tokio::spawn(marrow_server::serve(listener, marrow_server::app(state), std::future::pending()));
    base_url
}

/// Starts the server on `db`.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, Config::default()).await
}

/// Starts the server on `db` with `config` (e.g. an HL7 destination).
pub async fn spawn_app_with(db: TestDb, config: Config) -> TestApp {
    let store = db.store();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base_url = format!("http://{}", listener.local_addr().expect("local address"));
    let clock = std::sync::Arc::new(FixedClock(synthetic::now()));
    let state = AppState::with_clock(store.clone(), config, clock);
    let app = marrow_server::app(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        marrow_server::serve(listener, app, shutdown).await.expect("the test server runs");
    });
    TestApp { base_url, store, shutdown: Some(tx), server: Some(server), db }
}

impl TestApp {
    /// Stops the server and hands back the database, to start another server on it (a
    /// restart).
    pub async fn restart_later(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.db
    }

    /// Stops the server and waits for it (the database stays until the `TestApp` drops).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Creates a user with `role`, named `{role}-{suffix}`, whose password is [`PASSWORD`].
    pub async fn user(&self, role: Role, suffix: &str) -> (UserId, String) {
        let username = format!("{}-{suffix}", role.code());
        let hash = marrow_server::auth::hash_password(PASSWORD).expect("hash the test password");
        let display = format!("Synthetic {} {suffix}", role.label());
        let id = self
            .store
            .create_user(&username, &display, role, &hash, None, synthetic::now())
            .await
            .expect("create the test user");
        (id, username)
    }

    /// An API client for a new user with `role`.
    pub async fn api_as(&self, role: Role) -> Api {
        self.api_as_named(role, "api").await
    }

    /// An API client for a new user with `role`, named `{role}-{suffix}`.
    pub async fn api_as_named(&self, role: Role, suffix: &str) -> Api {
        let (id, _) = self.user(role, suffix).await;
        let token = api_token(&self.store, id).await;
        Api { base_url: self.base_url.clone(), token, client: reqwest::Client::new() }
    }

    /// A browser-like client (cookies, CSRF tokens read from pages) logged in as a new user
    /// with `role`.
    pub async fn browser_as(&self, role: Role) -> Browser {
        self.browser_as_named(role, "web").await
    }

    /// A logged-in browser for a new user with `role`, named `{role}-{suffix}`.
    pub async fn browser_as_named(&self, role: Role, suffix: &str) -> Browser {
        let (_, username) = self.user(role, suffix).await;
        let mut browser = Browser::new(&self.base_url);
        let status = browser.login(&username, PASSWORD).await;
        assert_eq!(status, 303, "logging in as {username} redirects");
        browser
    }
}

/// An API response: status, headers and the body as JSON (`Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Parsed body.
    pub json: serde_json::Value,
    /// The body as text (NDJSON, HL7).
    pub text: String,
}

/// A bearer-token API client.
#[derive(Debug, Clone)]
pub struct Api {
    base_url: String,
    /// The bearer token.
    pub token: String,
    client: reqwest::Client,
}

impl Api {
    /// An API client with an arbitrary token (e.g. a wrong one).
    pub fn with_token(base_url: &str, token: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.bearer_auth(&self.token).send().await.expect("send the API request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the API response");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Reply { status, headers, json, text }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base_url))).await
    }

    /// POST `body` as JSON.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.base_url)).json(body)).await
    }

    /// PUT `body` as JSON.
    pub async fn put(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.send(self.client.put(format!("{}{path}", self.base_url)).json(body)).await
    }

    /// POSTs raw bytes (e.g. an image) with the given content type.
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    /// Sends raw bytes with a JSON content type (for malformed bodies).
    pub async fn send_raw(&self, method: reqwest::Method, path: &str, body: &str) -> Reply {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(request).await
    }
}

/// A page response.
#[derive(Debug)]
pub struct Page {
    /// HTTP status (redirects are not followed).
    pub status: u16,
    /// Where a redirect points.
    pub location: Option<String>,
    /// The HTML.
    pub html: String,
}

/// A cookie-keeping client that submits forms the way a browser does, CSRF token included.
#[derive(Debug)]
pub struct Browser {
    base_url: String,
    client: reqwest::Client,
    /// The CSRF token read from the last page that had one.
    pub csrf: String,
}

/// Reads the value of the first hidden input named `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

impl Browser {
    /// A new browser with no cookies.
    pub fn new(base_url: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build the browser client");
        Self { base_url: base_url.to_owned(), client, csrf: String::new() }
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location =
            response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let html = response.text().await.expect("read the page");
        if let Some(token) = hidden_value(&html, "csrf") {
            self.csrf = token;
        }
        Page { status, location, html }
    }

    /// GET a page.
    pub async fn get(&mut self, path: &str) -> Page {
        let response =
            self.client.get(format!("{}{path}", self.base_url)).send().await.expect("GET page");
        self.read(response).await
    }

    /// POST a form with the current CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body: Vec<(String, String)> = vec![("csrf".into(), self.csrf.clone())];
        body.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.post_raw(path, &body).await
    }

    /// POSTs a raw body with the session's CSRF token in `X-CSRF-Token`, as the counter and
    /// gallery scripts do.
    pub async fn post_with_csrf_header(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("x-csrf-token", self.csrf.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST with a CSRF header");
        self.read(response).await
    }

    /// POST exactly these fields (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .form(fields)
            .send()
            .await
            .expect("POST form");
        self.read(response).await
    }

    /// Logs in through the login page; returns the status of the login POST.
    pub async fn login(&mut self, username: &str, password: &str) -> u16 {
        let page = self.get("/login").await;
        let token = hidden_value(&page.html, "login_csrf").expect("login form has a token");
        let fields = vec![
            ("login_csrf".to_owned(), token),
            ("username".to_owned(), username.to_owned()),
            ("password".to_owned(), password.to_owned()),
        ];
        let reply = self.post_raw("/login", &fields).await;
        if reply.status == 303 {
            // Pick up the session's CSRF token from the role's home page.
            let home = self.get("/").await;
            if let Some(to) = home.location {
                self.get(&to).await;
            }
        }
        reply.status
    }
}

/// Counts of what is stored, to show a refused request changed nothing.
pub async fn snapshot(store: &Store) -> HashMap<&'static str, String> {
    let mut s = HashMap::new();
    s.insert("patients", store.patient_count().await.expect("count").to_string());
    s.insert("cases", store.case_count().await.expect("count").to_string());
    let cases = store.cases(None, 1000, 0).await.expect("cases");
    for c in cases {
        let record = store.case(c.id).await.expect("case");
        s.insert("detail", format!("{}{record:?}", s.get("detail").cloned().unwrap_or_default()));
    }
    s
}
