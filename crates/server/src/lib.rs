//! Marrow's HTTP server: the HTML pages and the JSON API for every pathway step.
//!
//! Owns the axum router, sessions and roles, the one [`Clock`], and the mapping of errors to
//! responses. It holds no SQL (that is `marrow-store`) and no clinical rules (those are
//! `marrow-domain`): a handler parses input into domain types, asks the domain whether the
//! user's role may act, and hands the decision to the store.
//!
//! # Layout
//! - `auth`: passwords (argon2id), session cookies, CSRF, bearer tokens.
//! - `pages`: server-rendered HTML pages (askama templates in `templates/`).
//! - `api`: JSON under `/api/v1/`, documented by the OpenAPI 3.1 document at
//!   `/api/openapi.json`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
pub mod auth;
mod charts;
mod clock;
mod counting;
mod error;
pub mod events;
mod forms;
pub mod fuzz;
pub mod hl7;
mod imaging;
pub mod intake;
pub(crate) mod pages;
mod report;
mod settings;
mod timeline;
mod views;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use marrow_store::Store;

pub use api::ApiDoc;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::AppError;
pub use marrow_interop::fhir::Layout as FhirLayout;
pub use report::{blood_count_before, fhir_bundle, signed_or_refuse as report_for_export};

/// Settings the server runs with, loaded once at start and passed down.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (set when Marrow is served over HTTPS).
    pub secure_cookies: bool,
    /// How long a login session lasts, in seconds.
    pub session_seconds: i64,
    /// Where signed reports are sent as HL7 v2 messages, if anywhere.
    pub hl7: Option<hl7::Hl7Config>,
    /// The cell classifier's model file; `None` uses the model that ships with Marrow.
    pub model: Option<std::path::PathBuf>,
    /// The identifier system of the site's MRNs in FHIR exports (checked with
    /// [`marrow_interop::fhir::identifier_system`]); by default a placeholder.
    pub mrn_system: String,
}

impl Default for Config {
    fn default() -> Self {
        // A working shift plus handover.
        Self {
            secure_cookies: false,
            session_seconds: 12 * 3600,
            hl7: None,
            model: None,
            mrn_system: marrow_interop::fhir::MRN_SYSTEM.to_owned(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The only source of "now".
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<Config>,
    /// The group-commit writer of counter events.
    pub events: events::EventWriter,
    /// The cell classifier, loaded on first use.
    vision: Arc<imaging::Vision>,
    rules: Arc<
        std::sync::Mutex<Option<(std::time::Instant, marrow_domain::morphology::CountingRules)>>,
    >,
}

impl AppState {
    /// State with the system clock. Starts the event writer (and the HL7 sender when one is
    /// configured), so call it inside a tokio runtime.
    pub fn new(store: Store, config: Config) -> Self {
        Self::with_clock(store, config, Arc::new(SystemClock))
    }

    /// State with a given clock (tests, demos with fixed dates).
    pub fn with_clock(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        let events = events::EventWriter::spawn(store.clone(), clock.clone());
        let hl7 = config.hl7.clone();
        let vision = Arc::new(imaging::Vision::new(config.model.clone()));
        let state =
            Self { store, clock, config: Arc::new(config), events, vision, rules: Arc::default() };
        if let Some(hl7) = hl7 {
            hl7::spawn(state.clone(), hl7);
        }
        state
    }

    /// The site's counting rules, read from the database at most every ten seconds: pages show
    /// percentages on every request, and the setting changes rarely. A change made on this node
    /// is seen at once; other nodes see it within ten seconds.
    pub async fn counting_rules(
        &self,
    ) -> Result<marrow_domain::morphology::CountingRules, marrow_store::StoreError> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(10);
        let cached = self.rules.lock().ok().and_then(|c| {
            c.as_ref().filter(|(at, _)| at.elapsed() < FRESH).map(|(_, r)| r.clone())
        });
        if let Some(rules) = cached {
            return Ok(rules);
        }
        let rules = self.store.counting_rules().await?;
        if let Ok(mut cached) = self.rules.lock() {
            *cached = Some((std::time::Instant::now(), rules.clone()));
        }
        Ok(rules)
    }

    /// Forgets the cached counting rules (after an administrator changes them).
    pub fn forget_counting_rules(&self) {
        if let Ok(mut cached) = self.rules.lock() {
            *cached = None;
        }
    }
}

/// The whole application as a router, without a socket (tests can call it directly).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/static/marrow.css", get(stylesheet))
        .route("/static/counter.js", get(counter_script))
        .route("/static/safety.js", get(safety_script))
        .route("/static/report.js", get(report_script))
        .route("/static/live.js", get(live_script))
        .route("/static/gallery.js", get(gallery_script))
        .merge(pages::router())
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), security_headers))
        .with_state(state)
}

/// Serves `app` on an already-bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "database": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// A file compiled into the binary, served with its type and caching rule.
fn asset(content_type: &'static str, cache: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], body).into_response()
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", "max-age=3600", include_str!("../static/marrow.css"))
}

// Scripts are not cached: a page and its script must come from the same build.
async fn counter_script() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", include_str!("../static/counter.js"))
}

async fn live_script() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", include_str!("../static/live.js"))
}

async fn report_script() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", include_str!("../static/report.js"))
}

async fn gallery_script() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", include_str!("../static/gallery.js"))
}

async fn safety_script() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", include_str!("../static/safety.js"))
}

async fn security_headers(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Served over HTTPS (the same setting that marks cookies Secure): browsers must never fall
    // back to plain HTTP for this host, for a year (OWASP HTTP Strict Transport Security
    // Cheat Sheet). Over plain HTTP the header would be ignored, so it is not sent.
    if state.config.secure_cookies {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Clinical pages must not linger in shared caches or the back-forward cache of a ward PC.
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod stylesheet_tests {
    /// A brace lost in a merge nests every later rule in the block before it (a lost `}` after
    /// an `@media print` hid the patient pages' tap-target sizes on screen once): the sheet's
    /// braces must balance and never close more than they opened.
    #[test]
    fn the_stylesheet_braces_balance() {
        let css = include_str!("../static/marrow.css");
        let mut depth = 0_i32;
        let mut in_comment = false;
        let bytes = css.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (in_comment, bytes[i], bytes.get(i + 1)) {
                (false, b'/', Some(b'*')) => {
                    in_comment = true;
                    i += 1;
                }
                (true, b'*', Some(b'/')) => {
                    in_comment = false;
                    i += 1;
                }
                (false, b'{', _) => depth += 1,
                (false, b'}', _) => {
                    depth -= 1;
                    assert!(depth >= 0, "a '}}' closes nothing at byte {i}");
                }
                _ => {}
            }
            i += 1;
        }
        assert!(!in_comment, "a comment is left open");
        assert_eq!(depth, 0, "{depth} block(s) left open");
    }
}
