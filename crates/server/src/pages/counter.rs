//! The counter page: a keyboard-only differential count with live statistics, and the JSON
//! endpoints its script calls (session cookie plus the CSRF token in a header).

use askama::Template;
use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use marrow_domain::counter::Target;
use marrow_domain::ids::CaseId;
use marrow_domain::keymap::KeyMap;
use marrow_domain::morphology::CellClass;
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::CountId;
use serde::Serialize;

use super::{page, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm, token_matches};
use crate::counting::{EventsBody, accept_events, count_statistics};
use crate::error::{ApiError, AppError, PageError};
use crate::views::{Nav, PatientBanner};

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    count_id: i64,
    observer: String,
    mine: bool,
    finished: bool,
    target: u32,
    keymap_name: String,
    keymap_names: Vec<String>,
    rows: Vec<KeyRow>,
    undo_key: String,
    abnormal_key: String,
    config_json: String,
}

struct KeyRow {
    code: &'static str,
    label: &'static str,
    key: String,
    counted: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CounterConfig {
    count_id: i64,
    target: u32,
    finished: bool,
    csrf: String,
    events_url: String,
    stats_url: String,
    undo_key: &'static str,
    pause_key: &'static str,
    abnormal_key: &'static str,
    bindings: Vec<Binding>,
    classes: Vec<ClassInfo>,
    events: Vec<KnownEvent>,
}

#[derive(Serialize)]
struct Binding {
    key: String,
    class: &'static str,
}

#[derive(Serialize)]
struct ClassInfo {
    code: &'static str,
    label: &'static str,
    counted: bool,
}

#[derive(Serialize)]
struct KnownEvent {
    id: String,
    event: String,
}

/// Starts (or resumes) this technologist's count of the case.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    let case = CaseId(path_id(&id, "case")?);
    let target = read_target(&form).map_err(AppError::Input)?;
    let stamp = marrow_store::Stamp { by: staff.user.id, at: state.clock.now() };
    let count = state.store.start_count(case, target.cells(), stamp).await?;
    Ok(see_other(&format!("/counts/{}", count.id)))
}

/// Which of the user's key maps to count with (`?keymap=NAME`; default: the latest saved).
#[derive(Debug, serde::Deserialize)]
pub struct KeymapChoice {
    #[serde(default)]
    pub(super) keymap: Option<String>,
}

/// The user's key map named `choice` (default: the latest saved, else the default map), and
/// the names of all their saved maps.
pub(super) async fn chosen_keymap(
    state: &AppState,
    staff: &Staff,
    choice: Option<&str>,
) -> Result<(KeyMap, Vec<String>), AppError> {
    let saved = state.store.keymaps(staff.user.id).await?;
    let names: Vec<String> = saved.iter().map(|(n, _)| n.clone()).collect();
    let chosen = match choice {
        Some(name) => saved.into_iter().find(|(n, _)| n == name),
        None => saved.into_iter().next(),
    };
    let keymap = match chosen {
        Some((name, bindings)) => crate::counting::keymap_from_code(&name, &bindings)
            .map_err(|e| AppError::Internal(format!("stored key map: {e}")))?,
        None => KeyMap::default_map(),
    };
    Ok((keymap, names))
}

/// The counter page.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    axum::extract::Query(choice): axum::extract::Query<KeymapChoice>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    let record = state.store.case(count.case_id).await?;
    let (keymap, keymap_names) = chosen_keymap(&state, &staff, choice.keymap.as_deref()).await?;
    let stored = state.store.count_events(count.id).await?;
    let key_of = |class: CellClass| -> String {
        keymap
            .bindings()
            .iter()
            .find(|(_, c)| **c == class)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    let rows = CellClass::ALL
        .iter()
        .map(|&c| KeyRow {
            code: c.code(),
            label: c.label(),
            key: key_of(c),
            counted: c.in_differential(),
        })
        .collect();
    let config = CounterConfig {
        count_id: count.id.0,
        target: count.target,
        finished: count.finished_at.is_some(),
        csrf: staff.csrf.clone(),
        events_url: format!("/counts/{}/events", count.id),
        stats_url: format!("/counts/{}/stats", count.id),
        undo_key: KeyMap::UNDO,
        pause_key: KeyMap::PAUSE,
        abnormal_key: KeyMap::ABNORMAL,
        bindings: keymap
            .bindings()
            .iter()
            .map(|(k, c)| Binding { key: k.clone(), class: c.code() })
            .collect(),
        classes: CellClass::ALL
            .iter()
            .map(|&c| ClassInfo { code: c.code(), label: c.label(), counted: c.in_differential() })
            .collect(),
        events: stored
            .iter()
            .map(|e| KnownEvent { id: e.client_event_id.clone(), event: e.event.clone() })
            .collect(),
    };
    let config_json = super::script_json(&config, "counter config")?;
    page(&CounterPage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: count.case_id.0,
        count_id: count.id.0,
        observer: count.observer.display_name.clone(),
        mine: count.observer.id == staff.user.id,
        finished: count.finished_at.is_some(),
        target: count.target,
        keymap_name: keymap.name().to_owned(),
        keymap_names,
        rows,
        undo_key: KeyMap::UNDO.to_owned(),
        abnormal_key: KeyMap::ABNORMAL.to_owned(),
        config_json,
    })
}

/// A JSON body from the counter page, with the session's CSRF token in `X-CSRF-Token`.
pub struct PageJson<T> {
    pub(super) staff: Staff,
    pub(super) body: crate::api::JsonBody<T>,
}

/// The session's staff member, once the page's script has sent the session's CSRF token in
/// `X-CSRF-Token` (script requests carry no form field to hold it).
pub(super) async fn staff_with_csrf_header(
    parts: &mut axum::http::request::Parts,
    state: &AppState,
) -> Result<Staff, ApiError> {
    use axum::extract::FromRequestParts;
    let staff = Staff::from_request_parts(parts, state).await.map_err(|e| ApiError(e.0))?;
    let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !token_matches(sent, &staff.csrf) {
        return Err(ApiError(AppError::Forbidden(
            "missing or wrong CSRF token; reload the page".into(),
        )));
    }
    Ok(staff)
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for PageJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = staff_with_csrf_header(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let body = crate::api::JsonBody::<T>::from_request(request, state).await?;
        Ok(PageJson { staff, body })
    }
}

/// Events from the counter page.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageJson { staff, body }: PageJson<EventsBody>,
) -> Result<Response, ApiError> {
    staff.require(Action::RecordDifferential)?;
    let body = body.parse()?;
    let count = CountId(path_id(&id, "count")?);
    let ack = accept_events(&state, &staff.user, count, &body).await?;
    Ok((StatusCode::OK, Json(ack)).into_response())
}

/// Live statistics for the counter page.
pub async fn stats(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    staff.require(Action::ViewClinicalRecords).map_err(ApiError)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    Ok(Json(count_statistics(&state, &count).await?).into_response())
}

/// Finishes the count: its differential becomes the case's differential.
pub async fn finish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    let count = state.store.count(CountId(path_id(&id, "count")?)).await?;
    if count.observer.id != staff.user.id {
        return Err(AppError::Forbidden(
            "Only the observer who counted can finish this count.".into(),
        )
        .into());
    }
    let differential = crate::counting::differential_of(&state, count.id).await?;
    if differential.total() == 0 {
        return Err(AppError::Conflict {
            message: "no cells have been counted yet".into(),
            field: None,
        }
        .into());
    }
    let stamp = marrow_store::Stamp { by: staff.user.id, at: state.clock.now() };
    state.store.finish_count(count.id, &differential, stamp).await?;
    Ok(see_other(&format!("/cases/{}", count.case_id)))
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    observer_a: String,
    observer_b: String,
    total_a: u32,
    total_b: u32,
    rows: Vec<CompareRow>,
    discordant: usize,
}

struct CompareRow {
    label: &'static str,
    a: String,
    b: String,
    discordant: bool,
}

fn percent_and_limits(p: f64, i: marrow_domain::stats::Interval) -> String {
    format!("{p:.1} ({:.1}–{:.1})", i.lower_percent(), i.upper_percent())
}

/// Two observers' counts of one case side by side, with the classes where they disagree by
/// more than the 95% limits flagged.
pub async fn compare(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let case = CaseId(path_id(&id, "case")?);
    let record = state.store.case(case).await?;
    let counts = state.store.counts_of_case(case).await?;
    let (Some(a), Some(b)) = (counts.first(), counts.get(1)) else {
        return Err(AppError::Conflict {
            message: "a comparison needs two observers' counts".into(),
            field: None,
        }
        .into());
    };
    let da = crate::counting::differential_of(&state, a.id).await?;
    let db = crate::counting::differential_of(&state, b.id).await?;
    let rules = state.counting_rules().await?;
    let comparison = marrow_domain::counter::compare(&da, &db, &rules);
    let rows: Vec<CompareRow> = comparison
        .iter()
        .map(|c| CompareRow {
            label: c.class.label(),
            a: percent_and_limits(c.percent_a, c.interval_a),
            b: percent_and_limits(c.percent_b, c.interval_b),
            discordant: c.discordant,
        })
        .collect();
    page(&ComparePage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: case.0,
        observer_a: a.observer.display_name.clone(),
        observer_b: b.observer.display_name.clone(),
        total_a: da.total(),
        total_b: db.total(),
        discordant: rows.iter().filter(|r| r.discordant).count(),
        rows,
    })
}

#[derive(Template)]
#[template(path = "keymaps.html")]
struct KeymapsPage {
    nav: Nav,
    form: super::FormState,
    classes: Vec<(&'static str, &'static str)>,
    saved: Vec<String>,
    undo_key: &'static str,
    abnormal_key: &'static str,
}

fn keymap_values(map: &KeyMap) -> crate::forms::FormValues {
    let mut values = crate::forms::FormValues::default();
    values.set("name", map.name());
    for (key, class) in map.bindings() {
        values.set(&format!("bindings.{}", class.code()), key.clone());
    }
    values
}

async fn keymaps_page(
    state: &AppState,
    staff: &Staff,
    form: super::FormState,
    status: StatusCode,
) -> Result<Response, PageError> {
    let saved = state.store.keymaps(staff.user.id).await?.into_iter().map(|(n, _)| n).collect();
    let page = KeymapsPage {
        nav: Nav::of(staff),
        form,
        classes: CellClass::ALL.iter().map(|c| (c.code(), c.label())).collect(),
        saved,
        undo_key: KeyMap::UNDO,
        abnormal_key: KeyMap::ABNORMAL,
    };
    super::page_with(status, &page)
}

/// The key map editor, filled with the user's current map (or the default one).
pub async fn keymaps(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    let current = match state.store.keymaps(staff.user.id).await?.into_iter().next() {
        Some((name, code)) => {
            crate::counting::keymap_from_code(&name, &code).map_err(AppError::Input)?
        }
        None => KeyMap::default_map(),
    };
    keymaps_page(&state, &staff, super::FormState::new(keymap_values(&current)), StatusCode::OK)
        .await
}

/// Saves a named key map for this user.
pub async fn save_keymap(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    match read_keymap(&form) {
        Ok(map) => {
            let code = crate::counting::keymap_code(&map);
            state.store.save_keymap(staff.user.id, map.name(), &code, state.clock.now()).await?;
            Ok(see_other("/keymaps"))
        }
        Err(e) => {
            keymaps_page(
                &state,
                &staff,
                super::FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The number of cells a start form asks for; 500 when blank.
pub(crate) fn read_target(
    form: &crate::forms::FormValues,
) -> Result<Target, marrow_domain::FieldError> {
    match form.get("target").trim() {
        "" => Ok(Target::default()),
        raw => Target::parse(raw),
    }
}

/// The key map a key-map form carries (one `bindings.CLASS` field per class).
pub(crate) fn read_keymap(
    form: &crate::forms::FormValues,
) -> Result<KeyMap, marrow_domain::FieldError> {
    let pairs: Vec<(&str, &str)> = form
        .0
        .iter()
        // The raw value: a space typed into a field is the pause key, refused as reserved.
        .filter_map(|(k, v)| k.strip_prefix("bindings.").map(|class| (v.as_str(), class)))
        .collect();
    KeyMap::parse(form.get("name"), pairs)
}
