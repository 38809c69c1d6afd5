//! Image-assisted counting pages: the gallery where a technologist uploads images to a count
//! and confirms each proposed cell with the keyboard, the crops, the case's image-confirmed
//! cells (linked from the report), and the lab's agreement between the model and its staff.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use marrow_domain::counter::ImageDecision;
use marrow_domain::ids::CaseId;
use marrow_domain::keymap::KeyMap;
use marrow_domain::morphology::CellClass;
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::CountId;
use serde::Serialize;

use super::counter::{KeymapChoice, PageJson, chosen_keymap, staff_with_csrf_header};
use super::{page, path_id};
use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, AppError, PageError};
use crate::imaging::{self, CellDto, DecisionBody, UploadQuery};
use crate::views::{Nav, PatientBanner};

/// The largest upload accepted: the decoder's own byte limit, so its error (which names the
/// limit) is the one a user sees.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Template)]
#[template(path = "gallery.html")]
struct GalleryPage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    count_id: i64,
    observer: String,
    editable: bool,
    keymap_name: String,
    rows: Vec<(String, &'static str)>,
    undo_key: &'static str,
    default_scale: f32,
    config_json: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GalleryConfig {
    count_id: i64,
    editable: bool,
    csrf: String,
    upload_url: String,
    cells_url: String,
    events_url: String,
    undo_key: &'static str,
    bindings: Vec<(String, &'static str)>,
    classes: Vec<(&'static str, &'static str)>,
    cells: Vec<CellDto>,
}

/// The gallery of a count: upload images, then confirm or relabel each proposed cell.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(choice): Query<KeymapChoice>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    let record = state.store.case(count.case_id).await?;
    let (keymap, _) = chosen_keymap(&state, &staff, choice.keymap.as_deref()).await?;
    let editable = count.observer.id == staff.user.id && count.finished_at.is_none();
    let cells = state.store.image_cells(count.id).await?;
    let bindings: Vec<(String, &'static str)> =
        keymap.bindings().iter().map(|(k, c)| (k.clone(), c.code())).collect();
    let label_of = |code: &str| CellClass::parse(code).map(|c| c.label()).unwrap_or("");
    let config = GalleryConfig {
        count_id: count.id.0,
        editable,
        csrf: staff.csrf.clone(),
        upload_url: format!("/counts/{}/images", count.id),
        cells_url: format!("/counts/{}/cells", count.id),
        events_url: format!("/counts/{}/events", count.id),
        undo_key: KeyMap::UNDO,
        bindings: bindings.clone(),
        classes: CellClass::ALL.iter().map(|c| (c.code(), c.label())).collect(),
        cells: cells.iter().map(CellDto::of).collect(),
    };
    let config_json = super::script_json(&config, "gallery config")?;
    page(&GalleryPage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: count.case_id.0,
        count_id: count.id.0,
        observer: count.observer.display_name.clone(),
        editable,
        keymap_name: keymap.name().to_owned(),
        rows: bindings.iter().map(|(k, c)| (k.clone(), label_of(c))).collect(),
        undo_key: KeyMap::UNDO,
        default_scale: marrow_vision::detect::DetectParams::default().um_per_px,
        config_json,
    })
}

/// An image's bytes from the gallery page, with the session's CSRF token in `X-CSRF-Token`.
pub struct PageUpload {
    staff: Staff,
    bytes: Bytes,
}

impl FromRequest<AppState> for PageUpload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = staff_with_csrf_header(&mut parts, state).await?;
        let bytes = upload_bytes(Request::from_parts(parts, body), state).await?;
        Ok(PageUpload { staff, bytes })
    }
}

/// Reads an upload's body, refusing one over [`MAX_UPLOAD_BYTES`] with a sentence that names
/// the field rather than axum's bare 413.
pub(crate) async fn upload_bytes(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|_| {
        ApiError(AppError::Input(marrow_domain::FieldError::new(
            "image",
            format!("the image is larger than the {} MiB allowed", MAX_UPLOAD_BYTES >> 20),
        )))
    })
}

/// Stores one uploaded image's cells (raw bytes; `?kind=field|cell&name=…`).
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    crate::api::QueryParams(query): crate::api::QueryParams<UploadQuery>,
    PageUpload { staff, bytes }: PageUpload,
) -> Result<Response, ApiError> {
    let count = CountId(path_id(&id, "count")?);
    let found = imaging::upload(&state, &staff.user, count, &query, bytes.to_vec()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(found)).into_response())
}

/// The count's cells as JSON, for the gallery script.
pub async fn cells(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<CellDto>>, ApiError> {
    let count = CountId(path_id(&id, "count")?);
    Ok(Json(imaging::cells(&state, &staff.user, count).await?))
}

/// A decision on one cell from the gallery.
pub async fn decide(
    State(state): State<AppState>,
    Path((id, cell)): Path<(String, String)>,
    PageJson { staff, body }: PageJson<DecisionBody>,
) -> Result<Json<CellDto>, ApiError> {
    staff.require(Action::RecordDifferential)?;
    let body = body.parse()?;
    let count = CountId(path_id(&id, "count")?);
    let cell = path_id(&cell, "image cell")?;
    Ok(Json(imaging::decide(&state, &staff.user, count, cell, &body).await?))
}

/// One cell's crop, as PNG. Crops are clinical images: same access as the case, and not cached
/// by shared caches.
pub async fn crop(
    State(state): State<AppState>,
    staff: Staff,
    Path(cell): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let (_, png) = state.store.image_cell_crop(path_id(&cell, "image cell")?).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=3600")],
        png,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "image_cells.html")]
struct CaseCellsPage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    total: usize,
    groups: Vec<CellGroup>,
}

struct CellGroup {
    label: &'static str,
    cells: Vec<CellDto>,
}

/// The cells of a case that technologists confirmed from images and that are counted, grouped
/// by class: what the report's image-confirmed count is made of.
pub async fn case_cells(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let case = CaseId(path_id(&id, "case")?);
    let record = state.store.case(case).await?;
    let cells = state.store.confirmed_cells_of_case(case).await?;
    let mut by_class: BTreeMap<usize, Vec<CellDto>> = BTreeMap::new();
    for cell in &cells {
        if let Some(ImageDecision::Class(class)) = cell.decision {
            let order = CellClass::ALL.iter().position(|c| *c == class).unwrap_or(usize::MAX);
            by_class.entry(order).or_default().push(CellDto::of(cell));
        }
    }
    let groups = by_class
        .into_iter()
        .map(|(order, cells)| CellGroup {
            label: CellClass::ALL.get(order).map(|c| c.label()).unwrap_or("Other"),
            cells,
        })
        .collect();
    page(&CaseCellsPage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: case.0,
        total: cells.len(),
        groups,
    })
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    nav: Nav,
    columns: Vec<&'static str>,
    rows: Vec<AgreementRow>,
    total: usize,
    agreed: usize,
}

struct AgreementRow {
    label: String,
    cells: Vec<usize>,
    total: usize,
    /// "83.3 % (25 of 30)", or a dash for the "needs a human" row.
    agreement: String,
}

/// What the agreement table's rows are keyed by: the counter class the model proposed, or
/// none ("needs a human").
fn proposal_key(cell: &CellDto) -> Option<CellClass> {
    cell.proposed.as_deref().and_then(|c| CellClass::parse(c).ok())
}

/// The lab's agreement between the model's proposals and its technologists' decisions, per
/// proposed class: a confusion matrix over every cell whose decision stands.
pub async fn agreement(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let mut decided: Vec<CellDto> = Vec::new();
    state
        .store
        .decided_cells(
            |cell, _| {
                decided.push(CellDto::of(cell));
                Ok(())
            },
            false,
        )
        .await?;
    page(&agreement_table(&staff, &decided))
}

fn decision_order(code: &str) -> usize {
    CellClass::ALL.iter().position(|c| c.code() == code).unwrap_or(CellClass::ALL.len())
}

fn agreement_table(staff: &Staff, decided: &[CellDto]) -> AgreementPage {
    // Columns: the decisions that occur, in the counter's class order, "not a cell" last.
    let mut columns: Vec<&str> = decided.iter().filter_map(|c| c.decision.as_deref()).collect();
    columns.sort_by_key(|c| decision_order(c));
    columns.dedup();
    let column_labels = columns
        .iter()
        .map(|c| CellClass::parse(c).map(|k| k.label()).unwrap_or("Not a cell"))
        .collect();
    let mut by_row: BTreeMap<usize, Vec<&CellDto>> = BTreeMap::new();
    for cell in decided {
        let order = proposal_key(cell)
            .and_then(|k| CellClass::ALL.iter().position(|c| *c == k))
            .unwrap_or(CellClass::ALL.len());
        by_row.entry(order).or_default().push(cell);
    }
    let mut agreed_total = 0;
    let rows = by_row
        .into_iter()
        .map(|(order, cells)| {
            let proposed = CellClass::ALL.get(order).copied();
            let counts = columns
                .iter()
                .map(|col| cells.iter().filter(|c| c.decision.as_deref() == Some(col)).count())
                .collect();
            let agreement = match proposed {
                Some(class) => {
                    let agreed = cells
                        .iter()
                        .filter(|c| c.decision.as_deref() == Some(class.code()))
                        .count();
                    agreed_total += agreed;
                    format!(
                        "{:.1} % ({agreed} of {})",
                        100.0 * agreed as f64 / cells.len() as f64,
                        cells.len()
                    )
                }
                None => "—".to_owned(),
            };
            AgreementRow {
                label: proposed.map_or_else(
                    || "Needs a human (no proposal)".to_owned(),
                    |c| c.label().to_owned(),
                ),
                total: cells.len(),
                cells: counts,
                agreement,
            }
        })
        .collect();
    AgreementPage {
        nav: Nav::of(staff),
        columns: column_labels,
        rows,
        total: decided.len(),
        agreed: agreed_total,
    }
}
