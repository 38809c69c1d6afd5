//! Signed reports in exchange formats: a case's FHIR R4 bundle and HL7 v2 message, the bulk
//! FHIR export, and the HL7 outbox. Drafts are never exported: a case without a signed report
//! is refused with 409 and a sentence saying so.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use marrow_domain::FieldError;
use marrow_domain::ids::CaseId;
use marrow_domain::role::Action;
use marrow_domain::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::handlers::ApiResult;
use crate::auth::{ApiUser, require};
use crate::error::{AppError, ErrorBody};
use crate::pages::path_id;
use crate::report::{ReportParts, signed_or_refuse};

/// Which signed version; the latest when absent.
#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// Report version (1 = original sign-out); the latest when absent.
    #[serde(default)]
    pub version: Option<String>,
}

/// The case of a per-case export and the signed version asked for (the latest by default),
/// after the role check; a case without a signed report is refused.
async fn signed_case(
    state: &AppState,
    user: &ApiUser,
    raw_id: &str,
    q: &VersionQuery,
) -> Result<(marrow_store::CaseRecord, i64), AppError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(raw_id, "case")?);
    let wanted = q.version.as_deref().map(|v| path_id(v, "version")).transpose()?;
    let record = state.store.case(id).await?;
    let version = signed_or_refuse(&record, wanted)?.version;
    Ok((record, version))
}

/// The report's FHIR R4 (4.0.1) Bundle: Patient, ServiceRequest, Procedure, Specimens, an
/// Observation per result and the DiagnosticReport with the PDF as `presentedForm`.
#[utoipa::path(get, path = "/api/v1/cases/{id}/fhir", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id"), VersionQuery),
    responses((status = 200, description = "A FHIR R4 Bundle", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The case has no signed report", body = ErrorBody)))]
pub async fn case_fhir(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    super::QueryParams(q): super::QueryParams<VersionQuery>,
) -> ApiResult<Response> {
    let (record, version) = signed_case(&state, &user, &id, &q).await?;
    let count = crate::report::blood_count_before(&state.store, &record).await?;
    let json = crate::report::fhir_bundle(
        &record,
        Some(version),
        marrow_interop::fhir::Layout::Compact,
        count,
        &state.config.mrn_system,
    )?;
    Ok(([(header::CONTENT_TYPE, marrow_interop::fhir::CONTENT_TYPE)], json).into_response())
}

/// The report as an HL7 v2.5.1 ORU^R01 message (segments separated by carriage returns);
/// an amended version is a correction (result status C).
#[utoipa::path(get, path = "/api/v1/cases/{id}/hl7", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id"), VersionQuery),
    responses((status = 200, description = "An HL7 v2.5.1 message", body = String, content_type = "x-application/hl7-v2+er7"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The case has no signed report", body = ErrorBody)))]
pub async fn case_hl7(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    super::QueryParams(q): super::QueryParams<VersionQuery>,
) -> ApiResult<Response> {
    let (record, version) = signed_case(&state, &user, &id, &q).await?;
    let config =
        state.config.hl7.clone().unwrap_or_else(|| crate::hl7::Hl7Config::to("unconfigured"));
    let text = crate::hl7::message(&record, version, &config, state.clock.now())?;
    Ok(([(header::CONTENT_TYPE, "x-application/hl7-v2+er7; charset=utf-8")], text).into_response())
}

/// `_since` for the bulk export.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Reports signed at or after this date (`2026-11-01`) or instant (`2026-11-01T08:00:00Z`).
    #[serde(default, rename = "_since")]
    pub since: String,
}

fn since_of(raw: &str) -> Result<Timestamp, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AppError::Input(FieldError::new(
            "_since",
            "is required: a date (2026-11-01) or an instant (2026-11-01T08:00:00Z)",
        )));
    }
    if raw.len() == 10 {
        let date = Date::parse("_since", raw)?;
        return Timestamp::parse("_since", &format!("{date}T00:00:00Z")).map_err(AppError::Input);
    }
    Timestamp::parse("_since", raw).map_err(AppError::Input)
}

/// Every signed report version since a date, as NDJSON (FHIR Bulk Data style): one line per
/// report version. Streamed, so memory stays flat however many reports there are.
#[utoipa::path(get, path = "/api/v1/fhir/export", tag = "exports", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "One FHIR Bundle per line", body = String, content_type = "application/fhir+ndjson"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_export(
    State(state): State<AppState>,
    user: ApiUser,
    super::QueryParams(q): super::QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    require(&user.0, Action::ExportReports)?;
    let since = since_of(&q.since)?;
    let versions = state.store.versions_signed_since(since).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        // Each report is loaded (several queries) and rendered in its own task, a window of
        // them at a time, so the database and every core work at once; lines are written in
        // signing order.
        const IN_FLIGHT: usize = 32;
        let mut queue = versions.into_iter();
        let mut lines = std::collections::VecDeque::with_capacity(IN_FLIGHT);
        let mut chunk = String::new();
        loop {
            while lines.len() < IN_FLIGHT {
                let Some((case, version)) = queue.next() else { break };
                let store = state.store.clone();
                let mrn_system = state.config.mrn_system.clone();
                lines.push_back(tokio::spawn(async move {
                    export_line(&store, case, version, &mrn_system).await
                }));
            }
            let Some(line) = lines.pop_front() else { break };
            // A store error, or a task that panicked: either way the export stops, and the
            // client sees the body end in an error rather than a short, valid-looking file.
            match line.await.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
                Ok(line) => chunk.push_str(&line),
                Err(e) => {
                    tracing::error!(error = %e, "bulk export stopped");
                    let _ = tx.send(Err(std::io::Error::other("the export stopped"))).await;
                    return;
                }
            }
            if chunk.len() > 256 * 1024 && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                return; // the client went away
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk)).await;
        }
    });
    let body = Body::from_stream(ChannelStream(rx));
    Ok(([(header::CONTENT_TYPE, marrow_interop::fhir::NDJSON_CONTENT_TYPE)], body).into_response())
}

/// One version's NDJSON line (empty if the version has gone, which signed versions never do).
async fn export_line(
    store: &marrow_store::Store,
    case: CaseId,
    version: i64,
    mrn_system: &str,
) -> Result<String, marrow_store::StoreError> {
    let record = store.case(case).await?;
    let mut line = String::new();
    if let Some(found) = record.versions.iter().find(|v| v.version == version) {
        let count = crate::report::blood_count_before(store, &record).await?;
        let parts = ReportParts::of(&record).with_blood_count(count).with_mrn_system(mrn_system);
        marrow_interop::fhir::write_export_line(&mut line, &parts.report(&record, found));
    }
    Ok(line)
}

/// A channel receiver as a byte stream for the response body.
struct ChannelStream(tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>);

impl futures_core::Stream for ChannelStream {
    type Item = Result<String, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// One message in the HL7 outbox (the message text itself is not listed).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxDto {
    pub id: i64,
    pub case_id: i64,
    pub version: i64,
    pub destination: String,
    pub control_id: String,
    /// queued or sent
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl OutboxDto {
    pub fn of(i: &marrow_store::OutboxItem) -> Self {
        Self {
            id: i.id,
            case_id: i.case_id.0,
            version: i.version,
            destination: i.destination.clone(),
            control_id: i.control_id.clone(),
            status: if i.sent { "sent" } else { "queued" }.to_owned(),
            attempts: i.attempts,
            last_error: i.last_error.clone(),
            next_attempt_at: i.next_attempt_at.to_rfc3339(),
            created_at: i.created_at.to_rfc3339(),
            sent_at: i.sent_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// The HL7 outbox: queued messages (with the last error) first, then the latest sent.
#[utoipa::path(get, path = "/api/v1/hl7/outbox", tag = "exports", security(("bearer" = [])),
    responses((status = 200, body = Vec<OutboxDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn outbox(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<axum::Json<Vec<OutboxDto>>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let items = state.store.hl7_outbox(500).await?;
    Ok(axum::Json(items.iter().map(OutboxDto::of).collect()))
}
