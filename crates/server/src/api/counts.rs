//! The counter over the API: start a count, send key presses, read live statistics, finish.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use marrow_domain::counter::Target;
use marrow_domain::ids::CaseId;
use marrow_domain::role::Action;
use marrow_store::{CountId, Stamp};
use serde::Deserialize;
use utoipa::ToSchema;

use super::dto::CaseDto;
use super::json::JsonBody;
use crate::AppState;
use crate::auth::{ApiUser, require};
use crate::counting::{
    AckDto, CountStatsDto, EventsBody, accept_events, count_statistics, differential_of,
};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::imaging::{self, CellDto, DecisionBody, UploadDto, UploadQuery};
use crate::pages::path_id;

/// A count to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Cells to count: 200, 300, 500 (default) or 1000.
    #[serde(default)]
    pub target: Option<u32>,
}

impl StartBody {
    /// The number of cells to count; 500 when not given.
    pub fn target(&self) -> Result<Target, marrow_domain::FieldError> {
        match self.target {
            None => Ok(Target::default()),
            Some(n) => Target::parse(&n.to_string()),
        }
    }
}

/// Starts (or returns) the caller's count of a case in the lab.
#[utoipa::path(post, path = "/api/v1/cases/{id}/counts", tag = "counter", security(("bearer" = [])), request_body = StartBody,
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 201, body = CountStatsDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_count(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<StartBody>,
) -> Result<Response, ApiError> {
    require(&user.0, Action::RecordDifferential)?;
    let body = body.parse()?;
    let case = CaseId(path_id(&id, "case")?);
    let target = body.target().map_err(AppError::Input)?;
    let count = state
        .store
        .start_count(case, target.cells(), Stamp { by: user.0.id, at: state.clock.now() })
        .await?;
    let stats = count_statistics(&state, &count).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/counts/{}", count.id))],
        Json(stats),
    )
        .into_response())
}

/// A count with live statistics computed from its stored events.
#[utoipa::path(get, path = "/api/v1/counts/{id}", tag = "counter", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Count id")),
    responses((status = 200, body = CountStatsDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_count(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<CountStatsDto>, ApiError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    Ok(Json(count_statistics(&state, &count).await?))
}

/// Stores a batch of key presses; answers once every one is durable. Resends are harmless.
#[utoipa::path(post, path = "/api/v1/counts/{id}/events", tag = "counter", security(("bearer" = [])), request_body = EventsBody,
    params(("id" = i64, Path, description = "Count id")),
    responses((status = 200, body = AckDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The count is finished or the case left the lab", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_events(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<EventsBody>,
) -> Result<Json<AckDto>, ApiError> {
    require(&user.0, Action::RecordDifferential)?;
    let body = body.parse()?;
    let count = CountId(path_id(&id, "count")?);
    Ok(Json(accept_events(&state, &user.0, count, &body).await?))
}

/// Finishes the count; its differential becomes the case's differential.
#[utoipa::path(post, path = "/api/v1/counts/{id}/finish", tag = "counter", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Count id")),
    responses((status = 200, body = CaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn finish_count(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<CaseDto>, ApiError> {
    require(&user.0, Action::RecordDifferential)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    if count.observer.id != user.0.id {
        return Err(AppError::Forbidden(
            "Only the observer who counted can finish this count.".into(),
        )
        .into());
    }
    let differential = differential_of(&state, count.id).await?;
    if differential.total() == 0 {
        return Err(AppError::Conflict {
            message: "no cells have been counted yet".into(),
            field: None,
        }
        .into());
    }
    state
        .store
        .finish_count(count.id, &differential, Stamp { by: user.0.id, at: state.clock.now() })
        .await?;
    super::handlers::case_json(&state, count.case_id).await
}

/// One stored event.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct StoredEventDto {
    /// The client's id for it.
    pub id: String,
    /// The event code.
    pub event: String,
    /// When the key was pressed (client clock), if sent.
    pub pressed_at: Option<String>,
    /// When the server stored it.
    pub received_at: String,
    /// The image cell this event confirmed (an image-confirmed cell), or null for a key press.
    pub image_cell_id: Option<i64>,
}

/// Every stored event of a count, in the order stored: the count's complete record.
#[utoipa::path(get, path = "/api/v1/counts/{id}/events", tag = "counter", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Count id")),
    responses((status = 200, body = Vec<StoredEventDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_events(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<StoredEventDto>>, ApiError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    let events = state.store.count_events(count.id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| StoredEventDto {
                id: e.client_event_id,
                event: e.event,
                pressed_at: e.pressed_at.map(|t| t.to_rfc3339()),
                received_at: e.received_at.to_rfc3339(),
                image_cell_id: e.image_cell_id,
            })
            .collect(),
    ))
}

/// Finds and classifies the cells of one image and adds them to the caller's open count for
/// review. The body is the image file itself (JPEG, PNG or TIFF; at most 64 MiB and 50
/// megapixels).
#[utoipa::path(post, path = "/api/v1/counts/{id}/images", tag = "counter", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Count id"), UploadQuery),
    request_body(content = Vec<u8>, description = "The image file's bytes", content_type = "application/octet-stream"),
    responses((status = 201, body = UploadDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The count is finished or the case left the lab", body = ErrorBody),
        (status = 422, description = "Not a readable image, over the limits, no cells found, or a bad parameter", body = ErrorBody)))]
pub async fn upload_image(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    super::QueryParams(query): super::QueryParams<UploadQuery>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let count = CountId(path_id(&id, "count")?);
    let bytes = crate::pages::upload_bytes(request, &state).await?;
    let found = imaging::upload(&state, &user.0, count, &query, bytes.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(found)).into_response())
}

/// The count's image cells, each with the model's proposal and the technologist's decision.
#[utoipa::path(get, path = "/api/v1/counts/{id}/cells", tag = "counter", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Count id")),
    responses((status = 200, body = Vec<CellDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_cells(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<CellDto>>, ApiError> {
    let count = CountId(path_id(&id, "count")?);
    Ok(Json(imaging::cells(&state, &user.0, count).await?))
}

/// Decides one cell: a class counts it in the differential (an image-confirmed event), and
/// `not-a-cell` leaves it out. A counted cell must be taken back (an `undo` event) first.
#[utoipa::path(post, path = "/api/v1/counts/{id}/cells/{cell}/decision", tag = "counter", security(("bearer" = [])),
    request_body = DecisionBody,
    params(("id" = i64, Path, description = "Count id"), ("cell" = i64, Path, description = "Image cell id")),
    responses((status = 200, body = CellDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The cell is already counted, or the count takes no more cells", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_cell(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, cell)): Path<(String, String)>,
    body: JsonBody<DecisionBody>,
) -> Result<Json<CellDto>, ApiError> {
    require(&user.0, Action::RecordDifferential)?;
    let body = body.parse()?;
    let count = CountId(path_id(&id, "count")?);
    let cell = path_id(&cell, "image cell")?;
    Ok(Json(imaging::decide(&state, &user.0, count, cell, &body).await?))
}
