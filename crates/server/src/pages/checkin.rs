//! The post-procedure check-in: the patient's own page (reached by an unguessable link, no
//! login), the triage of their answers by the domain's rules, and the care team's alerts.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use marrow_domain::followup::{
    Bleeding, CheckIn, CheckInInput, Pain, Triage, TriageContext, triage,
};
use marrow_domain::ids::CaseId;
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::Stamp;

use super::{FormState, options, page, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm, cookie, new_token, set_cookie, token_hash, token_matches};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::views::{Nav, PatientBanner};

/// How long a check-in link works: the days when complications of a BMA show (clinical
/// reference §8: soreness for a few days, bruising in the first week).
const LINK_DAYS: i64 = 14;
const CHECKIN_COOKIE: &str = "marrow_checkin";

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
    token: String,
    given_name: String,
    checkin_csrf: String,
    form: FormState,
    bleeding: Vec<(&'static str, &'static str)>,
    pain: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "checkin_result.html")]
struct ResultPage {
    outcome: &'static str,
    outcome_label: &'static str,
    reasons: Vec<String>,
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

fn not_found() -> PageError {
    // The same answer for a wrong, expired or malformed link: it reveals nothing.
    PageError(AppError::NotFound(
        "This link is not valid. It may have expired; please call the number on your sheet.".into(),
    ))
}

async fn form_page(
    state: &AppState,
    token: &str,
    given_name: String,
    form: FormState,
    status: StatusCode,
) -> Result<Response, PageError> {
    let csrf = new_token();
    let page = CheckInPage {
        token: token.to_owned(),
        given_name,
        checkin_csrf: csrf.clone(),
        form,
        bleeding: options(Bleeding::ALL, Bleeding::code, Bleeding::label),
        pain: options(Pain::ALL, Pain::code, Pain::label),
    };
    let mut response = page_with(status, &page)?;
    let value = set_cookie(CHECKIN_COOKIE, &csrf, 3600, state.config.secure_cookies);
    response.headers_mut().append(
        header::SET_COOKIE,
        value.parse().map_err(|_| AppError::Internal("cookie".into()))?,
    );
    Ok(response)
}

/// The patient's check-in form.
pub async fn form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let (_, patient) = state
        .store
        .checkin_case(&token_hash(&token), state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    form_page(
        &state,
        &token,
        patient.patient.given_name.reveal().to_owned(),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// The patient's answers: triaged, stored, and a "call now" raises an alert for the team.
pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let (case, patient) =
        state.store.checkin_case(&token_hash(&token), now).await?.ok_or_else(not_found)?;
    let form = FormValues(pairs);
    let sent = form.get("checkin_csrf");
    let expected = cookie(&headers, CHECKIN_COOKIE).unwrap_or("");
    if !token_matches(sent, expected) {
        return Err(PageError(AppError::Forbidden(
            "This form has expired. Please open your link again.".into(),
        )));
    }
    let input = CheckInInput {
        temperature: form.get("temperature"),
        bleeding: form.get("bleeding"),
        discharge: form.checked("discharge"),
        swelling: form.checked("swelling"),
        warmth_or_redness: form.checked("warmth_or_redness"),
        pain: form.get("pain"),
        notes: form.get("notes"),
    };
    let check_in = match CheckIn::parse(&input) {
        Ok(c) => c,
        Err(e) => {
            let given = patient.patient.given_name.reveal().to_owned();
            return form_page(
                &state,
                &token,
                given,
                FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let record = state.store.case(case).await?;
    let context = TriageContext {
        immunocompromised: record.safety.as_ref().is_some_and(|s| s.value.immunocompromised),
        ..TriageContext::default()
    };
    let assessment = triage(&check_in, &context);
    let reasons: Vec<String> = assessment.reasons.iter().map(|r| r.text.clone()).collect();
    let answers = serde_json::json!({
        "temperature": input.temperature, "bleeding": input.bleeding, "discharge": input.discharge,
        "swelling": input.swelling, "warmth_or_redness": input.warmth_or_redness, "pain": input.pain,
        "notes": input.notes,
    });
    let alert = (assessment.outcome == Triage::CallNow).then(|| reasons.join(" "));
    state
        .store
        .record_checkin(
            case,
            &answers,
            assessment.outcome.code(),
            &reasons.join("\n"),
            alert.as_deref(),
            now,
        )
        .await?;
    if alert.is_some() {
        tracing::warn!(case_id = case.0, "check-in raised a call-now alert");
    }
    page(&ResultPage {
        outcome: assessment.outcome.code(),
        outcome_label: assessment.outcome.label(),
        reasons,
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
    patient: String,
    sections: Vec<marrow_domain::discharge::Section>,
    qr: String,
    link: String,
    pdf: String,
}

/// The site's phone wording for "call … now" (a site setting).
pub const PHONE_SETTING: &str = "discharge.phone";

async fn discharge_facts(
    state: &AppState,
    case: CaseId,
) -> Result<(String, marrow_domain::discharge::DischargeFacts), PageError> {
    use marrow_domain::procedure::Sedation;
    use marrow_domain::specimen::Tube;
    let record = state.store.case(case).await?;
    let note = record.procedure.as_ref().map(|p| &p.value);
    let facts = marrow_domain::discharge::DischargeFacts {
        sedated: note.is_some_and(|n| n.sedation != Sedation::None),
        trephine: note
            .is_some_and(|n| n.specimens.iter().any(|s| s.tube == Tube::TrephineInFormalin)),
        immunocompromised: record.safety.as_ref().is_some_and(|s| s.value.immunocompromised),
        phone: state
            .store
            .site_setting(PHONE_SETTING)
            .await?
            .unwrap_or_else(|| "your care team".to_owned()),
        fever_tenths_celsius: marrow_domain::followup::DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS,
    };
    let p = &record.patient.patient;
    Ok((format!("{} {}", p.given_name.reveal(), p.family_name.reveal()), facts))
}

fn absolute(headers: &HeaderMap, state: &AppState, path: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}{path}")
}

/// The discharge sheet with a new check-in link (shown and printed once).
pub async fn discharge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::IssueCheckInLink)?;
    let case = CaseId(path_id(&id, "case")?);
    let (token, _) = issue_link(&state, &staff, case).await?;
    let (patient, facts) = discharge_facts(&state, case).await?;
    let link = absolute(&headers, &state, &format!("/checkin/{token}"));
    let qr = marrow_interop::discharge::qr_svg(&link, 180)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    page(&DischargePage {
        patient,
        sections: marrow_domain::discharge::sheet(&facts),
        qr,
        pdf: format!("/checkin/{token}/sheet.pdf"),
        link,
    })
}

/// The discharge sheet as a PDF, reached with the patient's own link.
pub async fn sheet_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    let (case, _) = state
        .store
        .checkin_case(&token_hash(&token), state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    let (patient, facts) = discharge_facts(&state, case).await?;
    let link = absolute(&headers, &state, &format!("/checkin/{token}"));
    let pdf = marrow_interop::discharge::sheet_pdf(
        &patient,
        &marrow_domain::discharge::sheet(&facts),
        &link,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
