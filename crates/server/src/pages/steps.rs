//! The pathway steps on a case: safety check, procedure note, specimen receipt, differential,
//! report draft, sign-out and amendment. Each GET shows a form only when the role may act and
//! the case's status allows the step; each POST parses into domain types, and the store makes
//! the move inside one transaction.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marrow_domain::FieldError;
use marrow_domain::case::{Step, advance};
use marrow_domain::flags::Flag;
use marrow_domain::ids::CaseId;
use marrow_domain::morphology::{CellClass, Differential};
use marrow_domain::procedure::{Position, ProcedureInput, ProcedureNote, Sedation, Side, Site};
use marrow_domain::report::{
    Adequacy, Cellularity, Finding, ReportContent, ReportInput, amendment_reason,
};
use marrow_domain::role::Action;
use marrow_domain::safety::{DrugClass, MedicationInput, SafetyFacts, SafetyInput};
use marrow_domain::safety_rules::{
    CheckContext, Override, Severity, SitePolicy, blocks_checking, evaluate,
};
use marrow_domain::specimen::{Destination, Tube};
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{CaseRecord, SafetyExtras, Stamp, StoreError};

use super::{FormState, page, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::views::{Nav, PatientBanner};

const MEDICATION_ROWS: usize = 5;
const SPECIMEN_ROWS: usize = 6;

/// What every step form shows above the form.
struct CaseHeader {
    id: i64,
    patient: PatientBanner,
    status: String,
}

#[derive(Template)]
#[template(path = "safety_form.html")]
struct SafetyPage {
    nav: Nav,
    case: CaseHeader,
    form: FormState,
    rows: Vec<usize>,
    classes: &'static [DrugClass],
    findings: Vec<FindingView>,
    blocked: bool,
}

/// A safety finding as the page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingView {
    rule: &'static str,
    rule_label: &'static str,
    severity: &'static str,
    severity_label: &'static str,
    message: String,
    source: &'static str,
    /// A "do not proceed" finding, which needs an override reason to continue.
    blocking: bool,
    /// The override reason typed so far.
    reason: String,
}

#[derive(Template)]
#[template(path = "procedure_form.html")]
struct ProcedurePage {
    nav: Nav,
    case: CaseHeader,
    form: FormState,
    rows: Vec<usize>,
    sites: &'static [Site],
    sides: &'static [Side],
    positions: &'static [Position],
    sedations: &'static [Sedation],
    tubes: &'static [Tube],
    destinations: &'static [Destination],
}

#[derive(Template)]
#[template(path = "differential_form.html")]
struct DifferentialPage {
    nav: Nav,
    case: CaseHeader,
    form: FormState,
    classes: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct ReportPage {
    nav: Nav,
    case: CaseHeader,
    form: FormState,
    amend: bool,
    adequacies: &'static [Adequacy],
    cellularities: &'static [Cellularity],
    findings: &'static [Finding],
    /// The interpretive flags for the content as last saved (or signed), with their sources.
    flags: Vec<(String, String)>,
    /// Their codes, posted back when signing so the version records what was shown.
    flags_shown: String,
}

#[derive(Template)]
#[template(path = "sign_review.html")]
struct SignPage {
    nav: Nav,
    case: CaseHeader,
    fields: Vec<(&'static str, String)>,
    flags: Vec<(String, String)>,
    flags_shown: String,
    error: String,
}

/// Loads a case for a step, refusing with 403 (role) or 409 (status) before any form is shown.
async fn case_for(
    state: &AppState,
    staff: &Staff,
    raw_id: &str,
    action: Action,
    step: Step,
) -> Result<(CaseRecord, CaseHeader), PageError> {
    staff.require(action)?;
    let record = state.store.case(CaseId(path_id(raw_id, "case")?)).await?;
    advance(record.status, step).map_err(StoreError::from)?;
    let header = CaseHeader {
        id: record.id.0,
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        status: record.status.label().to_owned(),
    };
    Ok((record, header))
}

fn stamp(state: &AppState, staff: &Staff) -> Stamp {
    Stamp { by: staff.user.id, at: state.clock.now() }
}

/// Re-shows a form after a refused save: 422 for a bad field, 409 for a refused step.
fn refused<T: Template>(status: StatusCode, template: &T) -> Result<Response, PageError> {
    page_with(status, template)
}

// ---- safety check -------------------------------------------------------------------------

fn safety_page(
    staff: &Staff,
    case: CaseHeader,
    form: FormState,
    findings: Vec<FindingView>,
    blocked: bool,
) -> SafetyPage {
    SafetyPage {
        nav: Nav::of(staff),
        case,
        form,
        rows: (0..MEDICATION_ROWS).collect(),
        classes: DrugClass::ALL,
        findings,
        blocked,
    }
}

/// The facts, renal function and overrides a safety form carries.
pub(crate) struct SafetySubmission {
    facts: SafetyFacts,
    creatinine_clearance: Option<u32>,
    overrides: Vec<Override>,
}

pub(crate) fn read_safety(
    form: &FormValues,
    now: Timestamp,
) -> Result<SafetySubmission, FieldError> {
    let (names, classes, doses, times) = (
        form.all("med_name"),
        form.all("med_class"),
        form.all("med_dose"),
        form.all("med_last_dose"),
    );
    let medications = (0..names.len().max(doses.len()))
        .map(|i| MedicationInput {
            name: names.get(i).copied().unwrap_or(""),
            class: classes.get(i).copied().unwrap_or(""),
            dose: doses.get(i).copied().unwrap_or(""),
            last_dose_at: times.get(i).copied().unwrap_or(""),
        })
        .collect();
    let input = SafetyInput {
        medications,
        allergies: form.get("allergies").lines().collect(),
        platelets: form.get("platelets"),
        inr: form.get("inr"),
        bloods_taken_at: form.get("bloods_taken_at"),
        sedation_planned: form.checked("sedation_planned"),
        escort_arranged: form.checked("escort_arranged"),
        immunocompromised: form.checked("immunocompromised"),
    };
    let facts = SafetyFacts::parse(&input, now)?;
    let creatinine_clearance = match form.get("creatinine_clearance").trim() {
        "" => None,
        raw => Some(raw.parse::<u32>().ok().filter(|c| *c <= 300).ok_or_else(|| {
            FieldError::new(
                "creatinine_clearance",
                format!("{raw:?} is not a creatinine clearance in mL/min (0–300)"),
            )
        })?),
    };
    let mut overrides = Vec::new();
    for (key, reason) in &form.0 {
        if let Some(rule) = key.strip_prefix("override.")
            && !reason.trim().is_empty()
        {
            overrides.push(Override::parse(rule, reason).map_err(|e| e.at(key.clone()))?);
        }
    }
    Ok(SafetySubmission { facts, creatinine_clearance, overrides })
}

fn findings_of(
    record: &CaseRecord,
    submission: &SafetySubmission,
    policy: &SitePolicy,
    now: Timestamp,
) -> (Vec<FindingView>, bool) {
    let context = CheckContext {
        sampling: record.order.value.sampling,
        procedure_at: None,
        creatinine_clearance_ml_min: submission.creatinine_clearance,
    };
    let findings = evaluate(&submission.facts, &context, policy, now);
    let blocked = blocks_checking(&findings, &submission.overrides);
    let views = findings
        .iter()
        .map(|f| FindingView {
            rule: f.rule.code(),
            rule_label: f.rule.label(),
            severity: f.severity.code(),
            severity_label: f.severity.label(),
            message: f.message.clone(),
            source: f.source,
            blocking: f.severity == Severity::DoNotProceed,
            reason: submission
                .overrides
                .iter()
                .find(|o| o.rule() == f.rule)
                .map(|o| o.reason().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    (views, blocked)
}

pub async fn safety_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::RecordSafetyCheck, Step::SafetyCheck).await?;
    let mut values = FormValues::default();
    if let Some(s) = &record.safety {
        let f = &s.value;
        for m in &f.medications {
            values.push("med_name", m.name.clone());
            values.push("med_class", m.class.code());
            values.push("med_dose", m.dose.clone());
            values.push(
                "med_last_dose",
                m.last_dose_at.map(|t| t.to_input_value()).unwrap_or_default(),
            );
        }
        values.set("allergies", f.allergies.join("\n"));
        values.set(
            "platelets",
            f.platelets.map(|p| p.per_nanolitre().to_string()).unwrap_or_default(),
        );
        values.set("inr", f.inr.map(|i| i.to_string()).unwrap_or_default());
        values.set(
            "bloods_taken_at",
            f.bloods_taken_at.map(|t| t.to_input_value()).unwrap_or_default(),
        );
        for (key, on) in [
            ("sedation_planned", f.sedation_planned),
            ("escort_arranged", f.escort_arranged),
            ("immunocompromised", f.immunocompromised),
        ] {
            if on {
                values.set(key, "on");
            }
        }
        let extras = state.store.safety_extras(record.id).await?;
        if let Some(c) = extras.creatinine_clearance {
            values.set("creatinine_clearance", c.to_string());
        }
        for (rule, reason) in extras.overrides {
            values.set(&format!("override.{rule}"), reason);
        }
    }
    let now = state.clock.now();
    let (findings, blocked) = match read_safety(&values, now) {
        Ok(submission) if record.safety.is_some() => {
            let policy = crate::settings::site_policy(&state).await?;
            findings_of(&record, &submission, &policy, now)
        }
        _ => (Vec::new(), false),
    };
    page(&safety_page(&staff, header, FormState::new(values), findings, blocked))
}

/// Findings for the facts typed so far, for the page's live panel (JSON). A value that does
/// not parse yet is reported against its field instead.
pub async fn safety_findings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    let (record, _) =
        case_for(&state, &staff, &id, Action::RecordSafetyCheck, Step::SafetyCheck).await?;
    let now = state.clock.now();
    let body = match read_safety(&form, now) {
        Ok(submission) => {
            let policy = crate::settings::site_policy(&state).await?;
            let (findings, blocked) = findings_of(&record, &submission, &policy, now);
            serde_json::json!({"findings": findings, "blocked": blocked})
        }
        Err(e) => serde_json::json!({"error": {"field": e.field, "message": e.message}}),
    };
    Ok(axum::Json(body).into_response())
}

pub async fn safety_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::RecordSafetyCheck, Step::SafetyCheck).await?;
    let now = state.clock.now();
    let submission = match read_safety(&form, now) {
        Ok(s) => s,
        Err(e) => {
            let page = safety_page(
                &staff,
                header,
                FormState::with_error(form.clone(), e),
                Vec::new(),
                false,
            );
            return refused(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let policy = crate::settings::site_policy(&state).await?;
    let (findings, blocked) = findings_of(&record, &submission, &policy, now);
    if blocked {
        // Nothing is stored: the case cannot be "checked" while a do-not-proceed finding stands
        // without a clinician's override and its reason.
        let error = FieldError::new(
            "findings",
            "not saved: a \"do not proceed\" finding stands. Resolve it, or override it with a reason.",
        );
        let page =
            safety_page(&staff, header, FormState::with_error(form.clone(), error), findings, true);
        return refused(StatusCode::CONFLICT, &page);
    }
    // Keep only overrides of findings that are present now.
    let overrides = submission
        .overrides
        .iter()
        .filter(|o| findings.iter().any(|f| f.rule == o.rule().code()))
        .map(|o| (o.rule().code().to_owned(), o.reason().to_owned()))
        .collect();
    let extras = SafetyExtras { creatinine_clearance: submission.creatinine_clearance, overrides };
    state
        .store
        .record_safety_check_with(record.id, &submission.facts, &extras, stamp(&state, &staff))
        .await?;
    Ok(see_other(&format!("/cases/{}", record.id)))
}

// ---- procedure note -----------------------------------------------------------------------

fn procedure_page(staff: &Staff, case: CaseHeader, form: FormState) -> ProcedurePage {
    ProcedurePage {
        nav: Nav::of(staff),
        case,
        form,
        rows: (0..SPECIMEN_ROWS).collect(),
        sites: Site::ALL,
        sides: Side::ALL,
        positions: Position::ALL,
        sedations: Sedation::ALL,
        tubes: Tube::ALL,
        destinations: Destination::ALL,
    }
}

pub async fn procedure_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (_, header) =
        case_for(&state, &staff, &id, Action::RecordProcedure, Step::Procedure).await?;
    let mut values = FormValues::default();
    values.set("operator", staff.user.display_name.clone());
    values.set("performed_at", state.clock.now().to_input_value());
    values.set("site", Site::PosteriorIliacCrest.code());
    values.set("position", Position::Lateral.code());
    values.set("sedation", Sedation::None.code());
    values.set("local_anaesthetic", "Lidocaine 1%, 10 mL");
    values.set("haemostasis", "Pressure applied until dry; dry dressing");
    page(&procedure_page(&staff, header, FormState::new(values)))
}

pub async fn procedure_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::RecordProcedure, Step::Procedure).await?;
    let note = match read_procedure(&form, record.order.value.sampling, state.clock.now()) {
        Ok(n) => n,
        Err(e) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &procedure_page(&staff, header, FormState::with_error(form.clone(), e)),
            );
        }
    };
    state.store.record_procedure(record.id, &note, stamp(&state, &staff)).await?;
    Ok(see_other(&format!("/cases/{}", record.id)))
}

// ---- specimens ------------------------------------------------------------------------------

pub async fn receive(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    let (record, _) =
        case_for(&state, &staff, &id, Action::ReceiveSpecimens, Step::ReceiveSpecimens).await?;
    state.store.receive_specimens(record.id, stamp(&state, &staff)).await?;
    Ok(see_other(&format!("/cases/{}", record.id)))
}

// ---- differential ---------------------------------------------------------------------------

fn differential_page(staff: &Staff, case: CaseHeader, form: FormState) -> DifferentialPage {
    let classes = CellClass::ALL
        .iter()
        .map(|c| (c.code().to_owned(), c.label().to_owned(), c.in_differential()))
        .collect();
    DifferentialPage { nav: Nav::of(staff), case, form, classes }
}

pub async fn differential_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::RecordDifferential, Step::Differential).await?;
    let mut values = FormValues::default();
    if let Some(d) = &record.differential {
        for (class, n) in d.value.counts() {
            values.set(&format!("count.{}", class.code()), n.to_string());
        }
    }
    page(&differential_page(&staff, header, FormState::new(values)))
}

pub async fn differential_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::RecordDifferential, Step::Differential).await?;
    let differential = match read_differential(&form) {
        Ok(d) => d,
        Err(e) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &differential_page(&staff, header, FormState::with_error(form.clone(), e)),
            );
        }
    };
    state.store.record_differential(record.id, &differential, stamp(&state, &staff)).await?;
    Ok(see_other(&format!("/cases/{}", record.id)))
}

// ---- report ---------------------------------------------------------------------------------

fn report_page(
    staff: &Staff,
    case: CaseHeader,
    form: FormState,
    amend: bool,
    flags: &[Flag],
) -> ReportPage {
    ReportPage {
        nav: Nav::of(staff),
        case,
        form,
        amend,
        adequacies: Adequacy::ALL,
        cellularities: Cellularity::ALL,
        findings: Finding::ALL,
        flags: crate::views::flag_rows(flags),
        flags_shown: flag_codes(flags),
    }
}

/// The codes of the flags a page shows, comma-separated, for the hidden `flags_shown` field.
fn flag_codes(flags: &[Flag]) -> String {
    flags.iter().map(|f| f.kind.code()).collect::<Vec<_>>().join(",")
}

/// The `flags_shown` field of a sign or amend form; absent when the form did not carry it.
fn shown_from(form: &FormValues) -> Option<Vec<String>> {
    form.contains("flags_shown").then(|| {
        form.get("flags_shown")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn content_values(content: &ReportContent) -> FormValues {
    let mut values = FormValues::default();
    let codes = [
        ("adequacy", content.adequacy.map(Adequacy::code)),
        ("cellularity", content.cellularity.map(Cellularity::code)),
        ("granulomas", content.granulomas.map(Finding::code)),
        ("organisms", content.organisms.map(Finding::code)),
        ("haemophagocytosis", content.haemophagocytosis.map(Finding::code)),
    ];
    for (name, code) in codes {
        values.set(name, code.unwrap_or(""));
    }
    let texts = [
        ("erythropoiesis", &content.erythropoiesis),
        ("granulopoiesis", &content.granulopoiesis),
        ("megakaryopoiesis", &content.megakaryopoiesis),
        ("lymphoid", &content.lymphoid),
        ("morphology", &content.morphology),
        ("interpretation", &content.interpretation),
        ("comment", &content.comment),
    ];
    for (name, text) in texts {
        values.set(name, text.clone().unwrap_or_default());
    }
    values
}

pub(crate) fn read_report(form: &FormValues) -> Result<ReportContent, FieldError> {
    ReportContent::parse(&ReportInput {
        adequacy: form.get("adequacy"),
        cellularity: form.get("cellularity"),
        erythropoiesis: form.get("erythropoiesis"),
        granulopoiesis: form.get("granulopoiesis"),
        megakaryopoiesis: form.get("megakaryopoiesis"),
        lymphoid: form.get("lymphoid"),
        morphology: form.get("morphology"),
        granulomas: form.get("granulomas"),
        organisms: form.get("organisms"),
        haemophagocytosis: form.get("haemophagocytosis"),
        interpretation: form.get("interpretation"),
        comment: form.get("comment"),
    })
}

/// The flags the typed (not yet saved) report would raise, for the form's live panel: the
/// same function that signing records. JSON: `{flags: [{kind, text, source}], codes}`.
pub async fn report_flags(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    staff.require(Action::DraftReport)?;
    let case = CaseId(path_id(&id, "case")?);
    let body = match read_report(&form) {
        Ok(content) => {
            let flags = state.store.report_flags(case, Some(&content)).await?;
            let list: Vec<_> = flags
                .iter()
                .map(|f| {
                    serde_json::json!({"kind": f.kind.code(), "text": f.text, "source": f.source})
                })
                .collect();
            serde_json::json!({"flags": list, "codes": flag_codes(&flags)})
        }
        Err(e) => serde_json::json!({"error": {"field": e.field, "message": e.message}}),
    };
    Ok(axum::Json(body).into_response())
}

pub async fn draft_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::DraftReport, Step::DraftReport).await?;
    let mut values = match &record.draft {
        Some(d) => content_values(&d.content),
        // A first draft starts from the aspirate quality fields recorded beside the count.
        None => match state.store.aspirate(record.id).await? {
            Some((aspirate, _, _)) => draft_from_aspirate(&aspirate),
            None => FormValues::default(),
        },
    };
    values.set("revision", record.draft.as_ref().map_or(0, |d| d.revision).to_string());
    let flags = state.store.report_flags(record.id, read_report(&values).ok().as_ref()).await?;
    page(&report_page(&staff, header, FormState::new(values), false, &flags))
}

pub async fn draft_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::DraftReport, Step::DraftReport).await?;
    let revision: i64 = match form.get("revision").parse() {
        Ok(r) => r,
        Err(_) => {
            let e = FieldError::new("revision", "is missing; reload the page");
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &report_page(&staff, header, FormState::with_error(form.clone(), e), false, &[]),
            );
        }
    };
    let content = match read_report(&form) {
        Ok(c) => c,
        Err(e) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &report_page(&staff, header, FormState::with_error(form.clone(), e), false, &[]),
            );
        }
    };
    match state.store.save_report_draft(record.id, &content, revision, stamp(&state, &staff)).await
    {
        // Back to the form, which shows the flags for what was just saved.
        Ok(_) => Ok(see_other(&format!("/cases/{}/report?saved=1", record.id))),
        Err(e @ StoreError::StaleWrite { .. }) => {
            // Keep what this person typed, and say why it was not saved.
            let error = FieldError::new(
                "report",
                format!("not saved: {e}. Your text is still below; copy it before reloading."),
            );
            let flags = state.store.report_flags(record.id, Some(&content)).await?;
            refused(
                StatusCode::CONFLICT,
                &report_page(
                    &staff,
                    header,
                    FormState::with_error(form.clone(), error),
                    false,
                    &flags,
                ),
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn sign_page(
    staff: &Staff,
    header: CaseHeader,
    record: &CaseRecord,
    flags: &[Flag],
    error: String,
) -> SignPage {
    SignPage {
        nav: Nav::of(staff),
        case: header,
        fields: record
            .draft
            .as_ref()
            .map(|d| {
                d.content
                    .fields()
                    .into_iter()
                    .map(|f| (f.heading, f.text.unwrap_or_else(|| "(blank)".to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        flags: crate::views::flag_rows(flags),
        flags_shown: flag_codes(flags),
        error,
    }
}

/// "Review and sign": the draft and the flags it raises, then the signature. The flags on this
/// page are posted back, so the signed version records what the pathologist saw.
pub async fn sign_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::SignReport, Step::SignReport).await?;
    let flags =
        state.store.report_flags(record.id, record.draft.as_ref().map(|d| &d.content)).await?;
    page(&sign_page(&staff, header, &record, &flags, String::new()))
}

pub async fn sign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::SignReport, Step::SignReport).await?;
    let shown = shown_from(&form);
    match state.store.sign_report(record.id, shown.as_deref(), stamp(&state, &staff)).await {
        Ok(version) => {
            tracing::info!(case_id = record.id.0, version, "report signed");
            Ok(see_other(&format!("/cases/{}/report/versions/{version}", record.id)))
        }
        Err(e @ (StoreError::FlagsChanged | StoreError::SignRefused(_))) => {
            let flags = state
                .store
                .report_flags(record.id, record.draft.as_ref().map(|d| &d.content))
                .await?;
            refused(
                StatusCode::CONFLICT,
                &sign_page(&staff, header, &record, &flags, e.to_string()),
            )
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

pub async fn amend_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::AmendReport, Step::AmendReport).await?;
    let current = record.current_report();
    let values = current.map(|v| content_values(&v.content)).unwrap_or_default();
    let flags = current.map(|v| v.flags.clone()).unwrap_or_default();
    page(&report_page(&staff, header, FormState::new(values), true, &flags))
}

pub async fn amend_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let (record, header) =
        case_for(&state, &staff, &id, Action::AmendReport, Step::AmendReport).await?;
    let parsed = read_amendment(&form);
    let content = match parsed {
        Ok(c) => c,
        Err(e) => {
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &report_page(&staff, header, FormState::with_error(form.clone(), e), true, &[]),
            );
        }
    };
    let shown = shown_from(&form);
    match state
        .store
        .amend_report(
            record.id,
            &content,
            form.get("reason"),
            shown.as_deref(),
            stamp(&state, &staff),
        )
        .await
    {
        Ok(version) => Ok(see_other(&format!("/cases/{}/report/versions/{version}", record.id))),
        Err(e @ (StoreError::SignRefused(_) | StoreError::FlagsChanged)) => {
            // The amended wording raises these flags; show them and let the pathologist
            // sign again having seen them.
            let field = match &e {
                StoreError::SignRefused(r) => r.field(),
                _ => "flags_shown",
            };
            let error = FieldError::new(field, e.to_string());
            let flags = state.store.report_flags(record.id, Some(&content)).await?;
            let mut form = form.clone();
            form.set("flags_shown", flag_codes(&flags));
            refused(
                StatusCode::CONFLICT,
                &report_page(&staff, header, FormState::with_error(form, error), true, &flags),
            )
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// A first draft's values from the aspirate quality fields: adequacy from particles and
/// haemodilution (clinical reference §1.5), cellularity from the particles, and a morphology
/// line for megakaryocytes and the iron stain. The pathologist edits all of it.
fn draft_from_aspirate(a: &marrow_domain::aspirate::Aspirate) -> FormValues {
    use marrow_domain::aspirate::{Haemodilution, Particles};
    let mut values = FormValues::default();
    let adequacy = match (a.particles, a.haemodilution) {
        (Particles::Absent, _) => Adequacy::Aparticulate,
        (_, Haemodilution::Marked) => Adequacy::Haemodiluted,
        (Particles::Adequate, _) => Adequacy::Adequate,
        (Particles::Scanty, _) => Adequacy::Haemodiluted,
    };
    values.set("adequacy", adequacy.code());
    values.set("cellularity", a.particle_cellularity.code());
    // Megakaryocyte numbers and the iron stain are signed with the report as aspirate findings;
    // the first draft repeats the numbers so the morphology text starts from them, and any
    // iron-stain caveat, which the pathologist must weigh.
    values.set("megakaryopoiesis", format!("{} in number.", a.megakaryocytes.label()));
    let mut lines: Vec<String> = a.iron.warnings().iter().map(|w| format!("Note: {w}.")).collect();
    if let Some(comment) = &a.comment {
        lines.push(comment.clone());
    }
    values.set("morphology", lines.join("\n"));
    values
}

/// The procedure note a procedure form carries, for an order of `sampling`.
pub(crate) fn read_procedure(
    form: &FormValues,
    sampling: marrow_domain::order::Sampling,
    now: Timestamp,
) -> Result<ProcedureNote, FieldError> {
    let tubes = form.all("specimen_tube");
    let destinations = form.all("specimen_destination");
    let input = ProcedureInput {
        operator: form.get("operator"),
        performed_at: form.get("performed_at"),
        site: form.get("site"),
        side: form.get("side"),
        position: form.get("position"),
        local_anaesthetic: form.get("local_anaesthetic"),
        sedation: form.get("sedation"),
        specimens: (0..tubes.len().max(destinations.len()))
            .map(|i| {
                (tubes.get(i).copied().unwrap_or(""), destinations.get(i).copied().unwrap_or(""))
            })
            .collect(),
        complications: form.get("complications"),
        specimen_volumes: form.all("specimen_volume"),
        time_out: form.checked("time_out"),
        needle: form.get("needle"),
        passes: form.get("passes"),
        dry_tap: form.checked("dry_tap"),
        trephine_length_mm: form.get("trephine_length_mm"),
        haemostasis: form.get("haemostasis"),
    };
    ProcedureNote::parse(&input, sampling, now)
}

/// The differential a count form carries (one `count.CLASS` field per class).
pub(crate) fn read_differential(form: &FormValues) -> Result<Differential, FieldError> {
    Differential::parse(
        form.0
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("count.").map(|class| (class, v.as_str()))),
    )
}

/// The amended content an amendment form carries, once its reason is acceptable.
pub(crate) fn read_amendment(form: &FormValues) -> Result<ReportContent, FieldError> {
    amendment_reason(form.get("reason"))?;
    read_report(form)
}
