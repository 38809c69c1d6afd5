//! Patient registration, the patient page and placing an order.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marrow_domain::FieldError;
use marrow_domain::ids::PatientId;
use marrow_domain::order::{
    IndicationKind, LineageAbnormality, Order, OrderInput, Sampling, Urgency,
};
use marrow_domain::patient::{Patient, PatientInput, Sex};
use marrow_domain::patient_text::Language;
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::{Stamp, StoreError};

use super::{FormState, page, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm};
use crate::error::PageError;
use crate::forms::FormValues;
use crate::views::{CaseRow, Nav, PatientBanner};

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    nav: Nav,
    patients: Vec<PatientBanner>,
    can_register: bool,
}

#[derive(Template)]
#[template(path = "patient_form.html")]
struct PatientFormPage {
    nav: Nav,
    form: FormState,
    sexes: &'static [Sex],
    languages: &'static [Language],
}

#[derive(Template)]
#[template(path = "patient.html")]
struct PatientPage {
    nav: Nav,
    patient: PatientBanner,
    cases: Vec<CaseRow>,
    can_order: bool,
    can_count: bool,
    latest: Option<LatestCount>,
}

/// The latest blood count as the patient and order pages show it.
pub(crate) struct LatestCount {
    pub date: String,
    /// (analyte, value, unit, "low"/"high"/"", range)
    pub values: Vec<(&'static str, String, &'static str, &'static str, String)>,
    /// The abnormal lineages, as an order's indication codes them.
    pub lineages: Vec<LineageAbnormality>,
}

impl LatestCount {
    pub(crate) fn of(record: &marrow_store::BloodCountRecord, patient: &Patient) -> Self {
        let values = record
            .count
            .interpret(patient.sex, patient.date_of_birth)
            .iter()
            .map(|i| {
                (
                    i.measured.analyte.label(),
                    i.measured.value.to_string(),
                    i.measured.analyte.unit().label(),
                    i.flag.label(),
                    i.range.map(|r| r.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        Self {
            date: record.count.taken_at.to_string(),
            values,
            lineages: record.count.abnormal_lineages(patient.sex, patient.date_of_birth),
        }
    }

    pub(crate) fn lineage_text(&self) -> String {
        self.lineages.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Template)]
#[template(path = "order_form.html")]
struct OrderFormPage {
    nav: Nav,
    patient: PatientBanner,
    form: FormState,
    indications: &'static [IndicationKind],
    lineages: Vec<(String, String)>,
    samplings: &'static [Sampling],
    urgencies: &'static [Urgency],
    latest: Option<LatestCount>,
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let today = Date::of(state.clock.now());
    let patients =
        state.store.patients(500).await?.iter().map(|p| PatientBanner::of(p, today)).collect();
    page(&PatientsPage {
        nav: Nav::of(&staff),
        patients,
        can_register: staff.role().may(Action::RegisterPatient),
    })
}

pub async fn new_form(staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::RegisterPatient)?;
    page(&PatientFormPage {
        nav: Nav::of(&staff),
        form: FormState::default(),
        sexes: Sex::ALL,
        languages: Language::ALL,
    })
}

pub async fn create(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RegisterPatient)?;
    let now = state.clock.now();
    let refuse = |form: FormValues, error| {
        page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PatientFormPage {
                nav: Nav::of(&staff),
                form: FormState::with_error(form, error),
                sexes: Sex::ALL,
                languages: Language::ALL,
            },
        )
    };
    let patient = match read_patient(&form, Date::of(now)) {
        Ok(p) => p,
        Err(e) => return refuse(form, e),
    };
    match state.store.create_patient(&patient, Stamp { by: staff.user.id, at: now }).await {
        Ok(id) => Ok(see_other(&format!("/patients/{id}"))),
        Err(StoreError::Conflict(e)) => {
            let mut response = refuse(form, e)?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let id = PatientId(path_id(&id, "patient")?);
    let record = state.store.patient(id).await?;
    let cases = state.store.cases_of_patient(id).await?.iter().map(CaseRow::of).collect();
    let latest = latest_count(&state, &record).await?;
    page(&PatientPage {
        nav: Nav::of(&staff),
        patient: PatientBanner::of(&record, Date::of(state.clock.now())),
        cases,
        can_order: staff.role().may(Action::PlaceOrder),
        can_count: staff.role().may(Action::RecordBloodCount),
        latest,
    })
}

/// The patient's latest blood count as the patient and order pages show it.
async fn latest_count(
    state: &AppState,
    record: &marrow_store::PatientRecord,
) -> Result<Option<LatestCount>, StoreError> {
    let latest = state.store.latest_blood_count(record.id, None).await?;
    Ok(latest.map(|c| LatestCount::of(&c, &record.patient)))
}

fn order_page(
    staff: &Staff,
    patient: PatientBanner,
    form: FormState,
    latest: Option<LatestCount>,
) -> OrderFormPage {
    OrderFormPage {
        latest,
        nav: Nav::of(staff),
        patient,
        form,
        indications: IndicationKind::ALL,
        lineages: LineageAbnormality::all().iter().map(|l| (l.code(), l.to_string())).collect(),
        samplings: Sampling::ALL,
        urgencies: Urgency::ALL,
    }
}

pub async fn order_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::PlaceOrder)?;
    let record = state.store.patient(PatientId(path_id(&id, "patient")?)).await?;
    let mut values = FormValues::default();
    values.set("sampling", Sampling::AspirateOnly.code());
    values.set("urgency", Urgency::Routine.code());
    let latest = latest_count(&state, &record).await?;
    // The latest count's abnormal lineages pre-fill the indication; the clinician can change
    // both before placing the order.
    if let Some(latest) = latest.as_ref().filter(|l| !l.lineages.is_empty()) {
        values.set("indication", IndicationKind::AbnormalBloodCounts.code());
        for lineage in &latest.lineages {
            values.push("lineages", lineage.code());
        }
    }
    let banner = PatientBanner::of(&record, Date::of(state.clock.now()));
    page(&order_page(&staff, banner, FormState::new(values), latest))
}

pub async fn place_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::PlaceOrder)?;
    let patient_id = PatientId(path_id(&id, "patient")?);
    let record = state.store.patient(patient_id).await?;
    let now = state.clock.now();
    match read_order(&form) {
        Ok(order) => {
            let case = state
                .store
                .place_order(patient_id, &order, Stamp { by: staff.user.id, at: now })
                .await?;
            Ok(see_other(&format!("/cases/{case}")))
        }
        Err(e) => {
            let banner = PatientBanner::of(&record, Date::of(now));
            let latest = latest_count(&state, &record).await?;
            page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &order_page(&staff, banner, FormState::with_error(form, e), latest),
            )
        }
    }
}

/// The patient a registration form carries.
pub(crate) fn read_patient(form: &FormValues, today: Date) -> Result<Patient, FieldError> {
    let input = PatientInput {
        mrn: form.get("mrn"),
        family_name: form.get("family_name"),
        given_name: form.get("given_name"),
        date_of_birth: form.get("date_of_birth"),
        sex: form.get("sex"),
        language: form.get("language"),
    };
    Patient::parse(&input, today)
}

/// The order an order form carries.
pub(crate) fn read_order(form: &FormValues) -> Result<Order, FieldError> {
    Order::parse(&OrderInput {
        indication: form.get("indication"),
        lineages: form.all("lineages"),
        indication_text: form.get("indication_text"),
        sampling: form.get("sampling"),
        urgency: form.get("urgency"),
        clinical_details: form.get("clinical_details"),
    })
}
