//! API handlers: parse into domain types, check the role, let the store move the case.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use marrow_domain::FieldError;
use marrow_domain::ids::{CaseId, PatientId};
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::Stamp;

use super::dto::*;
use super::json::JsonBody;
use crate::AppState;
use crate::auth::{ApiUser, require};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::pages::path_id;

pub(super) type ApiResult<T> = Result<T, ApiError>;

fn stamp(state: &AppState, user: &ApiUser) -> Stamp {
    Stamp { by: user.0.id, at: state.clock.now() }
}

pub(super) async fn case_json(state: &AppState, id: CaseId) -> ApiResult<Json<CaseDto>> {
    let rules = state.counting_rules().await?;
    let record = state.store.case(id).await?;
    // Flags matter while a draft awaits signature; a signed version carries its own.
    let flags = match &record.draft {
        Some(d) if record.versions.is_empty() => {
            state.store.report_flags(id, Some(&d.content)).await?
        }
        _ => Vec::new(),
    };
    Ok(Json(CaseDto::of(&record, &rules, &flags)))
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
pub async fn me(user: ApiUser) -> Json<MeDto> {
    Json(MeDto::of(&user.0))
}

/// Registered patients, by family name.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = Vec<PatientDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_patients(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<PatientDto>>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    Ok(Json(state.store.patients(500).await?.iter().map(PatientDto::of).collect()))
}

/// Registers a patient.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])), request_body = NewPatientBody,
    responses((status = 201, body = PatientDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "MRN already registered", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_patient(
    State(state): State<AppState>,
    user: ApiUser,
    body: JsonBody<NewPatientBody>,
) -> ApiResult<Response> {
    require(&user.0, Action::RegisterPatient)?;
    let body = body.parse()?;
    let stamp = stamp(&state, &user);
    let patient = body.patient(Date::of(stamp.at)).map_err(AppError::Input)?;
    let id = state.store.create_patient(&patient, stamp).await?;
    let record = state.store.patient(id).await?;
    Ok(created(&format!("/api/v1/patients/{id}"), Json(PatientDto::of(&record))))
}

fn created(location: &str, body: impl IntoResponse) -> Response {
    (StatusCode::CREATED, [(header::LOCATION, location.to_owned())], body).into_response()
}

/// One patient.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")),
    responses((status = 200, body = PatientDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<PatientDto>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let id = PatientId(path_id(&id, "patient")?);
    Ok(Json(PatientDto::of(&state.store.patient(id).await?)))
}

/// Cases, newest first; `status` filters, `limit` (1–500, default 50) and `offset` page.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "ordered, checked, performed, in_lab, reported or amended"),
        ("limit" = Option<i64>, Query, description = "1 to 500, default 50"),
        ("offset" = Option<i64>, Query, description = "default 0"),
    ),
    responses((status = 200, body = CaseListDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_cases(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<CaseListDto>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let status = match q.get("status").map(|s| s.trim()) {
        None | Some("") => None,
        Some(raw) => Some(marrow_domain::case::CaseStatus::parse(raw).map_err(AppError::Input)?),
    };
    let number = |key: &str,
                  default: i64,
                  range: std::ops::RangeInclusive<i64>|
     -> Result<i64, AppError> {
        match q.get(key) {
            None => Ok(default),
            Some(raw) => {
                raw.trim().parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    AppError::Input(FieldError::new(
                        key,
                        format!("must be a whole number from {} to {}", range.start(), range.end()),
                    ))
                })
            }
        }
    };
    let limit = number("limit", 50, 1..=500)?;
    let offset = number("offset", 0, 0..=i64::from(i32::MAX))?;
    let cases =
        state.store.cases(status, limit, offset).await?.iter().map(CaseSummaryDto::of).collect();
    Ok(Json(CaseListDto { cases, limit, offset }))
}

/// Orders a BMA for a registered patient (clinicians only).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = OrderBody,
    responses((status = 201, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such patient", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn place_order(
    State(state): State<AppState>,
    user: ApiUser,
    body: JsonBody<OrderBody>,
) -> ApiResult<Response> {
    require(&user.0, Action::PlaceOrder)?;
    let body = body.parse()?;
    let order = body.order().map_err(AppError::Input)?;
    let id = state
        .store
        .place_order(PatientId(body.patient_id), &order, stamp(&state, &user))
        .await
        .map_err(|e| match e {
            marrow_store::StoreError::NotFound { .. } => {
                AppError::Input(FieldError::new("patient_id", "no patient has this id"))
            }
            other => other.into(),
        })?;
    let body = case_json(&state, id).await?;
    Ok(created(&format!("/api/v1/cases/{id}"), body))
}

/// One case with everything recorded so far and its current status.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    case_json(&state, CaseId(path_id(&id, "case")?)).await
}

/// Records (or revises, until the procedure) the pre-procedure safety check.
#[utoipa::path(put, path = "/api/v1/cases/{id}/safety-check", tag = "cases", security(("bearer" = [])), request_body = SafetyBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not possible in the case's status", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_safety_check(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<SafetyBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::RecordSafetyCheck)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let facts = body.facts(state.clock.now()).map_err(AppError::Input)?;
    state.store.record_safety_check(id, &facts, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Records the procedure note and the specimens taken.
#[utoipa::path(post, path = "/api/v1/cases/{id}/procedure", tag = "cases", security(("bearer" = [])), request_body = ProcedureBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_procedure(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<ProcedureBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::RecordProcedure)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let record = state.store.case(id).await?;
    let note =
        body.note(record.order.value.sampling, state.clock.now()).map_err(AppError::Input)?;
    state.store.record_procedure(id, &note, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Marks the case's specimens received in the lab.
#[utoipa::path(post, path = "/api/v1/cases/{id}/specimens/receive", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn receive_specimens(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::ReceiveSpecimens)?;
    let id = CaseId(path_id(&id, "case")?);
    state.store.receive_specimens(id, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Records (or replaces, before sign-out) the differential count.
#[utoipa::path(put, path = "/api/v1/cases/{id}/differential", tag = "cases", security(("bearer" = [])), request_body = DifferentialBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_differential(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<DifferentialBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::RecordDifferential)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let differential = body.differential().map_err(AppError::Input)?;
    state.store.record_differential(id, &differential, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Records (or, while in the lab, replaces) the aspirate findings: particles, cellularity,
/// haemodilution, megakaryocytes and the iron stain. A report cannot be signed without them.
#[utoipa::path(put, path = "/api/v1/cases/{id}/aspirate", tag = "cases", security(("bearer" = [])), request_body = AspirateBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_aspirate(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<AspirateBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::RecordDifferential)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let aspirate = body.aspirate().map_err(AppError::Input)?;
    state.store.record_aspirate(id, &aspirate, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Saves the report draft, refusing a save based on an old revision.
#[utoipa::path(put, path = "/api/v1/cases/{id}/report/draft", tag = "reports", security(("bearer" = [])), request_body = DraftBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Changed by someone else, or not possible in this status", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_draft(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<DraftBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::DraftReport)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let content = body.content().map_err(AppError::Input)?;
    state
        .store
        .save_report_draft(id, &content, body.expected_revision, stamp(&state, &user))
        .await?;
    case_json(&state, id).await
}

/// Signs the draft (pathologists only). Signing freezes version 1.
#[utoipa::path(post, path = "/api/v1/cases/{id}/report/sign", tag = "reports", security(("bearer" = [])), request_body(content = SignBody, description = "Optional"),
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Already signed, or the draft is incomplete", body = ErrorBody),
        (status = 422, description = "A body that is not the documented one (e.g. an unknown member)", body = ErrorBody)))]
pub async fn sign_report(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<SignBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::SignReport)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let shown = body.flags_shown;
    state.store.sign_report(id, shown.as_deref(), stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// Signs an amendment: a new version with its reason; earlier versions are kept.
#[utoipa::path(post, path = "/api/v1/cases/{id}/report/amendments", tag = "reports", security(("bearer" = [])), request_body = AmendBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn amend_report(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<AmendBody>,
) -> ApiResult<Json<CaseDto>> {
    require(&user.0, Action::AmendReport)?;
    let body = body.parse()?;
    let id = CaseId(path_id(&id, "case")?);
    let content = body.amended_content().map_err(AppError::Input)?;
    let shown = body.flags_shown.as_deref();
    state.store.amend_report(id, &content, &body.reason, shown, stamp(&state, &user)).await?;
    case_json(&state, id).await
}

/// One signed version of the report, as it was signed.
#[utoipa::path(get, path = "/api/v1/cases/{id}/report/versions/{version}", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id"), ("version" = i64, Path, description = "1 for the original sign-out")),
    responses((status = 200, body = VersionDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_report_version(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionDto>> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(&id, "case")?);
    let version = path_id(&version, "report version")?;
    let record = state.store.case(id).await?;
    let found = crate::pages::signed_version(&record, version)?;
    Ok(Json(VersionDto::of(found)))
}
