//! The patient timeline and what feeds it: blood counts typed in or imported as CSV,
//! treatment milestones, and incoming results held for review.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marrow_domain::blood_count::{Analyte, BloodCount, CountFlag, RawResult, Unit};
use marrow_domain::ids::PatientId;
use marrow_domain::monitoring::{Milestone, MilestoneKind, Movement};
use marrow_domain::role::Action;
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{CountSource, NewBloodCount, Stamp};

use super::{FormState, page, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm};
use crate::charts;
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::timeline::{Timeline, noon, observation_code};
use crate::views::{Nav, PatientBanner};

/// One column of the serial marrow table.
struct MarrowCell {
    case_id: i64,
    date: String,
    indication: String,
    cells: u32,
    blasts: String,
    plasma: String,
    me: String,
    cellularity: String,
    megakaryocytes: String,
    flags: String,
    signer: String,
    change: String,
}

/// One line of the dated event list.
struct EventLine {
    date: String,
    kind: &'static str,
    text: String,
    link: String,
}

/// One blood count as a table row: a cell per analyte (value, flag).
struct CountRow {
    date: String,
    source: String,
    cells: Vec<(String, &'static str)>,
}

struct ObservationLine {
    case_id: i64,
    kind: &'static str,
    text: String,
    source: &'static str,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct TimelinePage {
    nav: Nav,
    patient: PatientBanner,
    marrows: Vec<MarrowCell>,
    events: Vec<EventLine>,
    analytes: Vec<(&'static str, &'static str)>,
    counts: Vec<CountRow>,
    observations: Vec<ObservationLine>,
    charts: Vec<String>,
    can_count: bool,
    can_milestone: bool,
    kinds: &'static [MilestoneKind],
    form: FormState,
    reference_source: &'static str,
}

fn limits(percent: f64, lower: f64, upper: f64) -> String {
    format!("{percent:.1} % ({lower:.1}–{upper:.1})")
}

fn timeline_page(staff: &Staff, t: &Timeline, today: Date, form: FormState) -> TimelinePage {
    let marrows: Vec<MarrowCell> = t
        .marrows
        .iter()
        .map(|m| {
            let s = &m.serial;
            let change = t
                .changes
                .iter()
                .find(|c| c.to == s.case)
                .map(|c| match c.movement {
                    Movement::Rise => "Blasts rose beyond counting noise",
                    Movement::Fall => "Blasts fell beyond counting noise",
                })
                .unwrap_or("")
                .to_owned();
            MarrowCell {
                case_id: s.case.0,
                date: Date::of(s.taken_at).to_string(),
                indication: m.indication.clone(),
                cells: s.cells_counted,
                blasts: s.blasts.map_or("—".into(), |b| limits(b.percent, b.lower, b.upper)),
                plasma: s
                    .plasma_cells
                    .map_or("—".into(), |b| limits(b.percent, b.lower, b.upper)),
                me: s.me_ratio.map_or("not calculable".into(), |r| {
                    let upper =
                        if r.upper.is_finite() { format!("{:.2}", r.upper) } else { "∞".into() };
                    format!("{:.2}:1 ({:.2}–{upper})", r.ratio, r.lower)
                }),
                cellularity: m.cellularity.clone().unwrap_or_else(|| "—".into()),
                megakaryocytes: m.megakaryocytes.clone().unwrap_or_else(|| "—".into()),
                flags: if m.flags.is_empty() { "none".into() } else { m.flags.join("; ") },
                signer: format!("{} ({})", m.signed_by, Date::of(m.signed_at)),
                change,
            }
        })
        .collect();
    let mut events: Vec<(Timestamp, EventLine)> = Vec::new();
    for m in &t.marrows {
        let blasts =
            m.serial.blasts.map_or(String::new(), |b| format!(", blasts {:.1} %", b.percent));
        events.push((
            m.serial.taken_at,
            EventLine {
                date: Date::of(m.serial.taken_at).to_string(),
                kind: "Marrow",
                text: format!("{}{blasts}; signed by {}", m.indication, m.signed_by),
                link: format!("/cases/{}", m.serial.case),
            },
        ));
    }
    for (case, at, indication) in &t.unsigned {
        events.push((
            *at,
            EventLine {
                date: Date::of(*at).to_string(),
                kind: "Marrow ordered",
                text: format!("{indication}; not signed yet"),
                link: format!("/cases/{case}"),
            },
        ));
    }
    // Only the analytes some count measured get a column.
    let measured: Vec<Analyte> = Analyte::ALL
        .iter()
        .copied()
        .filter(|&a| t.counts.iter().any(|c| c.count.get(a).is_some()))
        .collect();
    let mut counts = Vec::new();
    for c in &t.counts {
        let values = t.interpreted(c);
        let abnormal: Vec<String> = values
            .iter()
            .filter(|i| matches!(i.flag, CountFlag::Low | CountFlag::High))
            .map(|i| {
                format!("{} {} {}", i.measured.analyte.label(), i.measured.value, i.flag.label())
            })
            .collect();
        events.push((
            c.count.taken_at,
            EventLine {
                date: Date::of(c.count.taken_at).to_string(),
                kind: "Blood count",
                text: if abnormal.is_empty() { "within range".into() } else { abnormal.join("; ") },
                link: String::new(),
            },
        ));
        counts.push(CountRow {
            date: c.count.taken_at.to_string(),
            source: c.source.clone(),
            cells: measured
                .iter()
                .map(|&a| match values.iter().find(|i| i.measured.analyte == a) {
                    Some(i) => (i.measured.value.to_string(), i.flag.label()),
                    None => (String::new(), ""),
                })
                .collect(),
        });
    }
    for m in &t.milestones {
        events.push((
            noon(m.milestone.on),
            EventLine {
                date: m.milestone.on.to_string(),
                kind: m.milestone.kind.label(),
                text: m.milestone.description.clone().unwrap_or_default(),
                link: String::new(),
            },
        ));
    }
    events.sort_by_key(|(at, _)| *at);
    TimelinePage {
        nav: Nav::of(staff),
        patient: PatientBanner::of(&t.patient, today),
        marrows,
        events: events.into_iter().map(|(_, e)| e).collect(),
        analytes: measured.iter().map(|a| (a.label(), a.unit().label())).collect(),
        counts,
        observations: t
            .observations
            .iter()
            .map(|o| ObservationLine {
                case_id: o.case.0,
                kind: observation_code(o.kind),
                text: o.text.clone(),
                source: o.source,
            })
            .collect(),
        charts: charts::timeline_charts(t),
        can_count: staff.role().may(Action::RecordBloodCount),
        can_milestone: staff.role().may(Action::RecordMilestone),
        kinds: MilestoneKind::ALL,
        form,
        reference_source: marrow_domain::blood_count::REFERENCE_SOURCE,
    }
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let timeline = Timeline::load(&state, PatientId(path_id(&id, "patient")?)).await?;
    page(&timeline_page(&staff, &timeline, Date::of(state.clock.now()), FormState::default()))
}

pub async fn add_milestone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordMilestone)?;
    let patient = PatientId(path_id(&id, "patient")?);
    let now = state.clock.now();
    let parsed = read_milestone(&form, Date::of(now));
    match parsed {
        Ok(m) => {
            state.store.add_milestone(patient, &m, Stamp { by: staff.user.id, at: now }).await?;
            Ok(see_other(&format!("/patients/{patient}/timeline#milestones")))
        }
        Err(e) => {
            let timeline = Timeline::load(&state, patient).await?;
            page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &timeline_page(&staff, &timeline, Date::of(now), FormState::with_error(form, e)),
            )
        }
    }
}

/// One analyte's line of the entry form: code, label, and its units (code, label).
struct AnalyteField {
    code: &'static str,
    label: &'static str,
    units: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "blood_count_form.html")]
struct CountFormPage {
    nav: Nav,
    patient: PatientBanner,
    form: FormState,
    fields: Vec<AnalyteField>,
}

fn count_form_page(staff: &Staff, patient: PatientBanner, form: FormState) -> CountFormPage {
    CountFormPage {
        nav: Nav::of(staff),
        patient,
        form,
        fields: Analyte::ALL
            .iter()
            .map(|&a| AnalyteField {
                code: a.code(),
                label: a.label(),
                units: a.units().iter().map(|u| (u.ucum(), u.label())).collect(),
            })
            .collect(),
    }
}

pub async fn count_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::RecordBloodCount)?;
    let record = state.store.patient(PatientId(path_id(&id, "patient")?)).await?;
    let now = state.clock.now();
    let mut values = FormValues::default();
    values.set("taken_at", now.to_input_value());
    for &a in Analyte::ALL {
        values.set(&format!("{}_unit", a.code()), a.unit().ucum());
    }
    let banner = PatientBanner::of(&record, Date::of(now));
    page(&count_form_page(&staff, banner, FormState::new(values)))
}

/// The values a form or JSON body gave, skipping analytes left blank.
pub fn raw_results<'a>(
    value: impl Fn(&str) -> &'a str,
    unit: impl Fn(&str) -> &'a str,
) -> Vec<RawResult<'a>> {
    Analyte::ALL
        .iter()
        .filter(|a| !value(a.code()).trim().is_empty())
        .map(|&a| RawResult { analyte: a, value: value(a.code()), unit: unit(a.code()) })
        .collect()
}

pub async fn count_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordBloodCount)?;
    let patient = state.store.patient(PatientId(path_id(&id, "patient")?)).await?;
    let now = state.clock.now();
    match read_blood_count(&form, now) {
        Ok((count, raw)) => {
            let new = [NewBloodCount { patient: patient.id, count: &count, raw: &raw }];
            state
                .store
                .add_blood_counts(&new, &CountSource::Manual, Some(staff.user.id), now)
                .await?;
            Ok(see_other(&format!("/patients/{}/timeline", patient.id)))
        }
        Err(e) => {
            let banner = PatientBanner::of(&patient, Date::of(now));
            page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &count_form_page(&staff, banner, FormState::with_error(form, e)),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "blood_count_import.html")]
struct ImportPage {
    nav: Nav,
    form: FormState,
    imported: Vec<(i64, String, String)>,
    analytes: Vec<(&'static str, &'static str)>,
    units: Vec<&'static str>,
}

fn import_page(staff: &Staff, form: FormState, imported: Vec<(i64, String, String)>) -> ImportPage {
    ImportPage {
        nav: Nav::of(staff),
        form,
        imported,
        analytes: Analyte::ALL.iter().map(|a| (a.code(), a.loinc())).collect(),
        units: Unit::ALL.iter().map(|u| u.ucum()).collect(),
    }
}

pub async fn import_form(staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::RecordBloodCount)?;
    page(&import_page(&staff, FormState::default(), Vec::new()))
}

pub async fn import_save(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordBloodCount)?;
    let now = state.clock.now();
    match crate::intake::import_csv(&state.store, form.get("file"), staff.user.id, now).await {
        Ok(stored) => {
            let today = Date::of(now);
            let imported = stored
                .iter()
                .map(|(p, id)| (p.id.0, PatientBanner::of(p, today).name, format!("#{id}")))
                .collect();
            page(&import_page(&staff, FormState::default(), imported))
        }
        Err(AppError::Input(e)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &import_page(&staff, FormState::with_error(form, e), Vec::new()),
        ),
        Err(e) => Err(e.into()),
    }
}

struct HeldLine {
    id: i64,
    channel: String,
    received_at: String,
    error: String,
    content: String,
    reviewed: String,
}

#[derive(Template)]
#[template(path = "held.html")]
struct HeldPage {
    nav: Nav,
    lines: Vec<HeldLine>,
    can_review: bool,
}

pub async fn held(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let lines = state
        .store
        .held_messages(false, 200)
        .await?
        .into_iter()
        .map(|h| HeldLine {
            id: h.id,
            channel: h.channel,
            received_at: h.received_at.to_rfc3339(),
            error: h.error,
            // Segments on their own lines, as people read HL7.
            content: h.content.replace('\r', "\n"),
            reviewed: h
                .reviewed
                .map(|(u, at)| format!("{} at {at}", u.display_name))
                .unwrap_or_default(),
        })
        .collect();
    page(&HeldPage {
        nav: Nav::of(&staff),
        lines,
        can_review: staff.role().may(Action::ReviewHeldMessages),
    })
}

pub async fn review_held(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ReviewHeldMessages)?;
    let id = path_id(&id, "held message")?;
    state.store.review_held_message(id, Stamp { by: staff.user.id, at: state.clock.now() }).await?;
    Ok(see_other("/interfaces/held"))
}

/// The milestone a milestone form carries.
pub(crate) fn read_milestone(
    form: &FormValues,
    today: Date,
) -> Result<Milestone, marrow_domain::FieldError> {
    Milestone::parse(form.get("on"), form.get("kind"), form.get("description"), today)
}

/// The blood count a count form carries (one field per analyte, `ANALYTE_unit` beside it),
/// with the values as entered.
pub(crate) fn read_blood_count(
    form: &FormValues,
    now: Timestamp,
) -> Result<(BloodCount, Vec<RawResult<'_>>), marrow_domain::FieldError> {
    let unit_keys: Vec<(String, String)> =
        Analyte::ALL.iter().map(|a| (a.code().to_owned(), format!("{}_unit", a.code()))).collect();
    let unit_of =
        |code: &str| unit_keys.iter().find(|(c, _)| c == code).map_or("", |(_, key)| form.get(key));
    let raw = raw_results(|code| form.get(code), unit_of);
    let taken_at = Timestamp::parse("taken_at", form.get("taken_at"))?;
    let count = BloodCount::parse(taken_at, &raw, now)?;
    Ok((count, raw))
}
