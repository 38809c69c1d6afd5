//! The aspirate quality fields beside the count: particles, cellularity, haemodilution,
//! megakaryocytes, iron stain.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marrow_domain::aspirate::{
    Aspirate, AspirateInput, Haemodilution, IronStain, Megakaryocytes, Particles,
};
use marrow_domain::case::{Step, advance};
use marrow_domain::ids::CaseId;
use marrow_domain::report::Cellularity;
use marrow_domain::role::Action;
use marrow_domain::time::Date;
use marrow_store::{Stamp, StoreError};

use super::{FormState, options, page_with, path_id, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm};
use crate::error::PageError;
use crate::forms::FormValues;
use crate::views::{Nav, PatientBanner};

type Options = Vec<(&'static str, &'static str)>;

#[derive(Template)]
#[template(path = "aspirate_form.html")]
struct AspiratePage {
    nav: Nav,
    patient: PatientBanner,
    case_id: i64,
    form: FormState,
    selects: Vec<(&'static str, &'static str, Options)>,
    grades: Vec<String>,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    form: FormState,
    status: StatusCode,
) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    let record = state.store.case(case).await?;
    advance(record.status, Step::Differential).map_err(StoreError::from)?;
    let cellularity = options(Cellularity::ALL, Cellularity::code, Cellularity::label);
    let page = AspiratePage {
        nav: Nav::of(staff),
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        case_id: case.0,
        form,
        selects: vec![
            (
                "particles",
                "Particles (spicules)",
                options(Particles::ALL, Particles::code, Particles::label),
            ),
            ("trail_cellularity", "Cellularity of the trails", cellularity.clone()),
            ("particle_cellularity", "Cellularity of the particles", cellularity),
            (
                "haemodilution",
                "Haemodilution",
                options(Haemodilution::ALL, Haemodilution::code, Haemodilution::label),
            ),
            (
                "megakaryocytes",
                "Megakaryocytes",
                options(Megakaryocytes::ALL, Megakaryocytes::code, Megakaryocytes::label),
            ),
        ],
        grades: (0..=6).map(|g| g.to_string()).collect(),
    };
    page_with(status, &page)
}

/// Values of a stored aspirate for the form.
pub fn aspirate_values(a: &Aspirate) -> FormValues {
    let mut v = FormValues::default();
    v.set("particles", a.particles.code());
    v.set("trail_cellularity", a.trail_cellularity.code());
    v.set("particle_cellularity", a.particle_cellularity.code());
    v.set("haemodilution", a.haemodilution.code());
    v.set("megakaryocytes", a.megakaryocytes.code());
    match a.iron {
        IronStain::NotPerformed => v.set("iron_stain", "not-performed"),
        IronStain::Performed { grade, ring_sideroblasts, particles_examined } => {
            v.set("iron_stain", grade.get().to_string());
            v.set(
                "ring_sideroblasts",
                ring_sideroblasts.map(|r| r.to_string()).unwrap_or_default(),
            );
            v.set(
                "particles_examined_for_iron",
                particles_examined.map(|p| p.to_string()).unwrap_or_default(),
            );
        }
    }
    v.set("comment", a.comment.clone().unwrap_or_default());
    v
}

pub async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let case = CaseId(path_id(&id, "case")?);
    let values =
        state.store.aspirate(case).await?.map(|(a, _, _)| aspirate_values(&a)).unwrap_or_default();
    render(&state, &staff, case, FormState::new(values), StatusCode::OK).await
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::RecordDifferential)?;
    let case = CaseId(path_id(&id, "case")?);
    match read_aspirate(&form) {
        Ok(aspirate) => {
            state
                .store
                .record_aspirate(
                    case,
                    &aspirate,
                    Stamp { by: staff.user.id, at: state.clock.now() },
                )
                .await?;
            Ok(see_other(&format!("/cases/{case}")))
        }
        Err(e) => {
            render(
                &state,
                &staff,
                case,
                FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The aspirate findings an aspirate form carries.
pub(crate) fn read_aspirate(form: &FormValues) -> Result<Aspirate, marrow_domain::FieldError> {
    let input = AspirateInput {
        particles: form.get("particles"),
        trail_cellularity: form.get("trail_cellularity"),
        particle_cellularity: form.get("particle_cellularity"),
        haemodilution: form.get("haemodilution"),
        megakaryocytes: form.get("megakaryocytes"),
        iron_stain: form.get("iron_stain"),
        ring_sideroblasts: form.get("ring_sideroblasts"),
        particles_examined_for_iron: form.get("particles_examined_for_iron"),
        comment: form.get("comment"),
    };
    Aspirate::parse(&input)
}
