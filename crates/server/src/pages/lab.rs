//! Specimen labels (PDF) and receiving specimens in the lab by scanning a label.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use marrow_domain::FieldError;
use marrow_domain::ids::{CaseId, SpecimenId};
use marrow_domain::role::Action;
use marrow_interop::labels::{Label, parse_specimen_code, sheet, specimen_code};
use marrow_store::{Stamp, StoreError};

use super::{FormState, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::views::Nav;

/// The case's specimen labels as a printable PDF sheet.
pub async fn labels(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let record = state.store.case(CaseId(path_id(&id, "case")?)).await?;
    let collected =
        record.procedure.as_ref().map(|p| p.value.performed_at.to_string()).unwrap_or_default();
    let p = &record.patient.patient;
    let labels: Vec<Label> = record
        .specimens
        .iter()
        .map(|s| Label {
            specimen_id: specimen_code(s.id.0),
            patient_name: p.display_name(),
            mrn: p.mrn.reveal().to_owned(),
            date_of_birth: p.date_of_birth.to_string(),
            tube: s.specimen.tube.label().to_owned(),
            destination: s.specimen.destination.label().to_owned(),
            collected: collected.clone(),
        })
        .collect();
    if labels.is_empty() {
        return Err(AppError::Conflict {
            message: "no specimens are recorded for this case yet".into(),
            field: None,
        }
        .into());
    }
    let pdf = sheet(&labels).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"case-{}-labels.pdf\"", record.id),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "receive.html")]
struct ReceivePage {
    nav: Nav,
    form: FormState,
    done: String,
    pending: Vec<[String; 5]>,
}

/// The lab's worklist: every specimen collected and not yet received.
async fn pending(state: &AppState) -> Result<Vec<[String; 5]>, PageError> {
    use marrow_domain::specimen::{Destination, Tube};
    Ok(state
        .store
        .specimens_awaiting_receipt(500)
        .await?
        .into_iter()
        .map(|p| {
            [
                specimen_code(p.id.0),
                p.case_id.0.to_string(),
                format!(
                    "{} ({})",
                    p.patient.patient.display_name(),
                    p.patient.patient.mrn.reveal()
                ),
                Tube::parse(&p.tube).map_or(p.tube.clone(), |t| t.label().to_owned()),
                Destination::parse(&p.destination)
                    .map_or(p.destination.clone(), |d| d.label().to_owned()),
            ]
        })
        .collect())
}

#[derive(Debug, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    case: Option<i64>,
}

/// The scan-to-receive page.
pub async fn receive_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    staff.require(Action::ReceiveSpecimens)?;
    let done = done.case.map(|c| format!("Specimens of case #{c} received.")).unwrap_or_default();
    let pending = pending(&state).await?;
    let page = ReceivePage { nav: Nav::of(&staff), form: FormState::default(), done, pending };
    page_with(StatusCode::OK, &page)
}

/// A scanned (or typed) specimen id: every specimen of its case is received.
pub async fn receive_scanned(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ReceiveSpecimens)?;
    let waiting = pending(&state).await?;
    let refuse = |form: FormValues, error: FieldError, status: StatusCode| {
        let page = ReceivePage {
            nav: Nav::of(&staff),
            form: FormState::with_error(form, error),
            done: String::new(),
            pending: waiting.clone(),
        };
        page_with(status, &page)
    };
    let specimen = match read_specimen(&form) {
        Ok(s) => s,
        Err(e) => return refuse(form.clone(), e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let Some(case) = state.store.case_of_specimen(SpecimenId(specimen)).await? else {
        let e = FieldError::new(
            "specimen",
            format!("no specimen {} is recorded", specimen_code(specimen)),
        );
        return refuse(form.clone(), e, StatusCode::UNPROCESSABLE_ENTITY);
    };
    match state
        .store
        .receive_specimens(case, Stamp { by: staff.user.id, at: state.clock.now() })
        .await
    {
        Ok(_) => Ok(see_other(&format!("/lab/receive?case={case}"))),
        Err(StoreError::Refused(r)) => {
            refuse(form.clone(), FieldError::new("specimen", r.to_string()), StatusCode::CONFLICT)
        }
        Err(e) => Err(e.into()),
    }
}

/// The specimen id a scan form carries (the number of `S000012`).
pub(crate) fn read_specimen(form: &FormValues) -> Result<i64, FieldError> {
    parse_specimen_code(form.get("specimen"))
        .ok_or_else(|| FieldError::new("specimen", "is not a specimen id such as S000012"))
}
