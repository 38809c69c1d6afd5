//! The post-procedure check-in: the patient's own pages (reached by an unguessable link, no
//! login), the triage of their answers by the domain's rules, the discharge sheet, and the care
//! team's alerts.
//!
//! Every word a patient reads comes from the domain's patient-text catalogue
//! ([`marrow_domain::patient_text`]) in the patient's language: the one stored with the patient,
//! or the one chosen with the page's language switch (`?lang=es`), which keeps the token. What
//! the team reads (alerts, stored reasons) stays in English.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use marrow_domain::discharge::{DischargeFacts, Section};
use marrow_domain::followup::{
    Bleeding, CheckIn, CheckInInput, DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS, Pain, Triage,
    TriageContext, triage,
};
use marrow_domain::ids::CaseId;
use marrow_domain::patient_text::{Language, Phrase};
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::{PatientRecord, Stamp};

use super::{FormState, page, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm, cookie, new_token, set_cookie, token_hash, token_matches};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::views::{Nav, PatientBanner};

/// How long a check-in link works: the days when complications of a BMA show (clinical
/// reference §8: soreness for a few days, bruising in the first week).
const LINK_DAYS: i64 = 14;
const CHECKIN_COOKIE: &str = "marrow_checkin";

/// The words of a patient page in its language, for the templates: `t.get(Phrase::…)`, and
/// `t.lang()` for `<html lang>`.
#[derive(Debug, Clone, Copy)]
struct Words {
    language: Language,
}

impl Words {
    fn get(&self, phrase: Phrase) -> &'static str {
        phrase.text(self.language)
    }

    fn lang(&self) -> &'static str {
        self.language.code()
    }
}

/// A link of the language switch: the same page in another language, named in that language.
struct LanguageLink {
    href: String,
    lang: &'static str,
    text: &'static str,
}

/// The switch from `language` to every other one, for the page at `path` (which carries the
/// token, so the patient stays on their own page).
fn switch_links(path: &str, language: Language) -> Vec<LanguageLink> {
    Language::ALL
        .iter()
        .filter(|&&other| other != language)
        .map(|&other| LanguageLink {
            href: format!("{path}?lang={}", other.code()),
            lang: other.code(),
            text: Phrase::ReadInThisLanguage.text(other),
        })
        .collect()
}

/// `?lang=` on a patient page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LanguageQuery {
    lang: Option<String>,
}

impl LanguageQuery {
    /// The language asked for, else `stored` (the patient's own). An unknown code falls back
    /// quietly: a patient who edits the address should still get a page they can read.
    fn or(&self, stored: Language) -> Language {
        self.lang.as_deref().and_then(|code| Language::parse(code).ok()).unwrap_or(stored)
    }
}

#[derive(Template)]
#[template(path = "checkin_link.html")]
struct LinkPage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    link: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "checkin_form.html")]
struct CheckInPage {
    t: Words,
    switch: Vec<LanguageLink>,
    token: String,
    /// The greeting, with the patient's given name.
    hello: String,
    checkin_csrf: String,
    form: FormState,
    bleeding: Vec<(&'static str, &'static str)>,
    pain: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "checkin_result.html")]
struct ResultPage {
    t: Words,
    switch: Vec<LanguageLink>,
    outcome: &'static str,
    outcome_heading: &'static str,
    reasons: Vec<String>,
}

/// A patient page that only says something: a link that does not work, a stale form.
#[derive(Template)]
#[template(path = "patient_message.html")]
struct MessagePage {
    t: Words,
    switch: Vec<LanguageLink>,
    title: &'static str,
    message: &'static str,
}

struct AlertLine {
    id: i64,
    case_id: i64,
    patient: String,
    mrn: String,
    raised: String,
    summary: String,
    open: bool,
    acknowledged: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    nav: Nav,
    alerts: Vec<AlertLine>,
    can_acknowledge: bool,
}

/// Gives the patient a check-in link (shown once; only its hash is stored).
pub async fn create_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::IssueCheckInLink)?;
    let case = CaseId(path_id(&id, "case")?);
    let record = state.store.case(case).await?;
    let (token, expires) = issue_link(&state, &staff, case).await?;
    page(&LinkPage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: case.0,
        link: format!("/checkin/{token}"),
        expires: expires.to_string(),
    })
}

/// Makes a new check-in link for `case`: a fresh token, of which only the hash is stored.
async fn issue_link(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
) -> Result<(String, marrow_domain::time::Timestamp), PageError> {
    let token = new_token();
    let now = state.clock.now();
    let expires = now.plus_seconds(LINK_DAYS * 24 * 3600);
    let stamp = Stamp { by: staff.user.id, at: now };
    state.store.create_checkin_link(case, &token_hash(&token), expires, stamp).await?;
    Ok((token, expires))
}

/// A patient page with a heading and one message, in `language`.
fn message(status: StatusCode, language: Language, title: Phrase, text: Phrase) -> Response {
    let t = Words { language };
    let page = MessagePage { t, switch: Vec::new(), title: t.get(title), message: t.get(text) };
    page_with(status, &page).unwrap_or_else(IntoResponse::into_response)
}

/// The same answer for a wrong, expired or malformed link: it reveals nothing, not even the
/// patient's language (the `?lang=` asked for, else English).
fn not_found(query: &LanguageQuery) -> Response {
    message(
        StatusCode::NOT_FOUND,
        query.or(Language::English),
        Phrase::LinkNotValidTitle,
        Phrase::LinkNotValid,
    )
}

/// The case and patient of a live check-in link.
async fn linked(
    state: &AppState,
    token: &str,
) -> Result<Option<(CaseId, PatientRecord)>, PageError> {
    Ok(state.store.checkin_case(&token_hash(token), state.clock.now()).await?)
}

async fn form_page(
    state: &AppState,
    token: &str,
    patient: &PatientRecord,
    language: Language,
    form: FormState,
    status: StatusCode,
) -> Result<Response, PageError> {
    let csrf = new_token();
    let t = Words { language };
    let choices = |phrases: Vec<(&'static str, Phrase)>| {
        phrases.into_iter().map(|(code, phrase)| (code, t.get(phrase))).collect()
    };
    let page = CheckInPage {
        t,
        switch: switch_links(&format!("/checkin/{token}"), language),
        token: token.to_owned(),
        hello: Phrase::CheckInHello
            .fill(language, &[("name", patient.patient.given_name.reveal())]),
        checkin_csrf: csrf.clone(),
        form,
        bleeding: choices(Bleeding::ALL.iter().map(|b| (b.code(), b.phrase())).collect()),
        pain: choices(Pain::ALL.iter().map(|p| (p.code(), p.phrase())).collect()),
    };
    let mut response = page_with(status, &page)?;
    let value = set_cookie(CHECKIN_COOKIE, &csrf, 3600, state.config.secure_cookies);
    response.headers_mut().append(
        header::SET_COOKIE,
        value.parse().map_err(|_| AppError::Internal("cookie".into()))?,
    );
    Ok(response)
}

/// The patient's check-in form, in their language or the one chosen with `?lang=`.
pub async fn form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LanguageQuery>,
) -> Result<Response, PageError> {
    let Some((_, patient)) = linked(&state, &token).await? else {
        return Ok(not_found(&query));
    };
    let language = query.or(patient.patient.language);
    form_page(&state, &token, &patient, language, FormState::default(), StatusCode::OK).await
}

/// The patient's answers: triaged, stored, and a "call now" raises an alert for the team. The
/// patient reads the result in their language; the stored reasons and the alert are in English,
/// the team's language, so an answer in Spanish raises the same alert as one in English.
pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LanguageQuery>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let Some((case, patient)) = linked(&state, &token).await? else {
        return Ok(not_found(&query));
    };
    let language = query.or(patient.patient.language);
    let form = FormValues(pairs);
    let sent = form.get("checkin_csrf");
    let expected = cookie(&headers, CHECKIN_COOKIE).unwrap_or("");
    if !token_matches(sent, expected) {
        return Ok(message(
            StatusCode::FORBIDDEN,
            language,
            Phrase::FormExpiredTitle,
            Phrase::FormExpired,
        ));
    }
    let input = check_in_input(&form);
    let check_in = match CheckIn::parse_in(&input, language) {
        Ok(c) => c,
        Err(e) => {
            let form = FormState::with_error(form.clone(), e);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return form_page(&state, &token, &patient, language, form, status).await;
        }
    };
    let record = state.store.case(case).await?;
    let context = TriageContext {
        immunocompromised: record.safety.as_ref().is_some_and(|s| s.value.immunocompromised),
        ..TriageContext::default()
    };
    let assessment = triage(&check_in, &context);
    let for_the_team: Vec<String> =
        assessment.reasons.iter().map(|r| r.text(Language::English)).collect();
    let answers = serde_json::json!({
        "temperature": input.temperature, "bleeding": input.bleeding, "discharge": input.discharge,
        "swelling": input.swelling, "warmth_or_redness": input.warmth_or_redness, "pain": input.pain,
        "notes": input.notes, "language": language.code(),
    });
    let alert = (assessment.outcome == Triage::CallNow).then(|| for_the_team.join(" "));
    state
        .store
        .record_checkin(
            case,
            &answers,
            assessment.outcome.code(),
            &for_the_team.join("\n"),
            alert.as_deref(),
            now,
        )
        .await?;
    if alert.is_some() {
        tracing::warn!(case_id = case.0, "check-in raised a call-now alert");
    }
    let t = Words { language };
    page(&ResultPage {
        t,
        switch: Vec::new(),
        outcome: assessment.outcome.code(),
        outcome_heading: t.get(assessment.outcome.phrase()),
        reasons: assessment.reasons.iter().map(|r| r.text(language)).collect(),
    })
}

/// The care team's alert dashboard.
pub async fn alerts(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ReviewAlerts)?;
    let alerts = state
        .store
        .alerts(false, 200)
        .await?
        .into_iter()
        .map(|a| AlertLine {
            id: a.id,
            case_id: a.case_id.0,
            patient: a.patient.patient.display_name(),
            mrn: a.patient.patient.mrn.reveal().to_owned(),
            raised: a.created_at.to_string(),
            summary: a.summary,
            open: a.acknowledged.is_none(),
            acknowledged: a
                .acknowledged
                .map(|(by, at)| format!("Acknowledged by {}, {at}", by.display_name))
                .unwrap_or_default(),
        })
        .collect();
    page(&AlertsPage {
        nav: Nav::of(&staff),
        alerts,
        can_acknowledge: staff.role().may(Action::AcknowledgeAlert),
    })
}

/// A clinician acknowledges an alert (recorded and audited).
pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::AcknowledgeAlert)?;
    let id = path_id(&id, "alert")?;
    state.store.acknowledge_alert(id, Stamp { by: staff.user.id, at: state.clock.now() }).await?;
    Ok(see_other("/alerts"))
}

#[derive(Template)]
#[template(path = "discharge.html")]
struct DischargePage {
    t: Words,
    switch: Vec<LanguageLink>,
    /// "For: " and the patient's full name.
    for_patient: String,
    sections: Vec<Section>,
    qr: String,
    link: String,
    pdf: String,
}

/// The site's phone wording for "call … now" (a site setting).
pub const PHONE_SETTING: &str = "discharge.phone";

/// What the sheet of `case` says, and who it is for.
async fn discharge_facts(
    state: &AppState,
    case: CaseId,
) -> Result<(PatientRecord, DischargeFacts), PageError> {
    use marrow_domain::procedure::Sedation;
    use marrow_domain::specimen::Tube;
    let record = state.store.case(case).await?;
    let note = record.procedure.as_ref().map(|p| &p.value);
    let facts = DischargeFacts {
        sedated: note.is_some_and(|n| n.sedation != Sedation::None),
        trephine: note
            .is_some_and(|n| n.specimens.iter().any(|s| s.tube == Tube::TrephineInFormalin)),
        immunocompromised: record.safety.as_ref().is_some_and(|s| s.value.immunocompromised),
        phone: state.store.site_setting(PHONE_SETTING).await?,
        fever_tenths_celsius: DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS,
    };
    Ok((record.patient, facts))
}

fn full_name(patient: &PatientRecord) -> String {
    let p = &patient.patient;
    format!("{} {}", p.given_name.reveal(), p.family_name.reveal())
}

fn absolute(headers: &HeaderMap, state: &AppState, path: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}{path}")
}

/// The sheet of `case` for the link `token`, in `language` or else the patient's own. Its
/// check-in link and PDF carry the language, so a sheet switched to Spanish leads to a check-in
/// and a PDF in Spanish.
async fn sheet_page(
    state: &AppState,
    headers: &HeaderMap,
    case: CaseId,
    token: &str,
    query: &LanguageQuery,
) -> Result<Response, PageError> {
    let (patient, facts) = discharge_facts(state, case).await?;
    let language = query.or(patient.patient.language);
    let t = Words { language };
    let code = language.code();
    let link = absolute(headers, state, &format!("/checkin/{token}?lang={code}"));
    let qr = marrow_interop::discharge::qr_svg(&link, 180, t.get(Phrase::QrCodeLabel))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    page(&DischargePage {
        t,
        switch: switch_links(&format!("/checkin/{token}/sheet"), language),
        for_patient: Phrase::SheetFor.fill(language, &[("name", &full_name(&patient))]),
        sections: marrow_domain::discharge::sheet(&facts, language),
        qr,
        pdf: format!("/checkin/{token}/sheet.pdf?lang={code}"),
        link,
    })
}

/// The discharge sheet with a new check-in link (shown and printed once), in the patient's
/// language; its language switch leads to [`sheet`], which keeps this link.
pub async fn discharge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::IssueCheckInLink)?;
    let case = CaseId(path_id(&id, "case")?);
    let (token, _) = issue_link(&state, &staff, case).await?;
    sheet_page(&state, &headers, case, &token, &LanguageQuery::default()).await
}

/// The discharge sheet again, reached with the patient's own link (`?lang=` to switch).
pub async fn sheet(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LanguageQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((case, _)) = linked(&state, &token).await? else {
        return Ok(not_found(&query));
    };
    sheet_page(&state, &headers, case, &token, &query).await
}

/// The discharge sheet as a PDF, reached with the patient's own link, in the patient's language
/// or the one chosen with `?lang=`.
pub async fn sheet_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LanguageQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((case, _)) = linked(&state, &token).await? else {
        return Ok(not_found(&query));
    };
    let (patient, facts) = discharge_facts(&state, case).await?;
    let language = query.or(patient.patient.language);
    let link = absolute(&headers, &state, &format!("/checkin/{token}?lang={}", language.code()));
    let pdf = marrow_interop::discharge::sheet_pdf(
        &full_name(&patient),
        &marrow_domain::discharge::sheet(&facts, language),
        &link,
        language,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// The answers a patient's check-in form carries, as typed; `CheckIn::parse_in` reads them.
pub(crate) fn check_in_input(form: &FormValues) -> CheckInInput<'_> {
    CheckInInput {
        temperature: form.get("temperature"),
        bleeding: form.get("bleeding"),
        discharge: form.checked("discharge"),
        swelling: form.checked("swelling"),
        warmth_or_redness: form.checked("warmth_or_redness"),
        pain: form.get("pain"),
        notes: form.get("notes"),
    }
}
