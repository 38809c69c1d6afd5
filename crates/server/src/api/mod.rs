//! The JSON API under `/api/v1/`, authenticated with bearer tokens (`marrow token create`).
//! Its OpenAPI 3.1 document is generated from these handlers and types, and served at
//! `/api/openapi.json`.

mod counts;
pub(crate) mod dto;
mod exports;
mod handlers;
mod json;
mod timeline;

pub(crate) use counts::StartBody;
pub(crate) use json::{JsonBody, QueryParams};
pub(crate) use timeline::{NewBloodCountBody, NewMilestoneBody};

use axum::Router;
use axum::routing::{get, post, put};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::AppState;

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Marrow API", description = "Bone marrow aspiration pathway: order to signed report."),
    paths(
        handlers::me,
        handlers::list_patients, handlers::create_patient, handlers::get_patient,
        handlers::list_cases, handlers::place_order, handlers::get_case,
        handlers::record_safety_check, handlers::record_procedure, handlers::receive_specimens,
        handlers::record_differential, handlers::record_aspirate, handlers::save_draft, handlers::sign_report,
        handlers::amend_report, handlers::get_report_version,
        counts::start_count, counts::get_count, counts::post_events, counts::list_events, counts::finish_count,
        counts::upload_image, counts::list_cells, counts::decide_cell,
        exports::case_fhir, exports::case_hl7, exports::bulk_export, exports::outbox,
        timeline::get_timeline, timeline::list_blood_counts, timeline::add_blood_count,
        timeline::import_blood_counts, timeline::add_milestone, timeline::held_messages,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "patients", description = "Patient registration"),
        (name = "cases", description = "One BMA episode, step by step"),
        (name = "reports", description = "Drafts, sign-out and amendments"),
        (name = "counter", description = "The keyboard differential counter: every key press an event"),
        (name = "timeline", description = "Blood counts, milestones and a patient's marrows over time"),
        (name = "exports", description = "Signed reports as FHIR R4 and HL7 v2.5.1; the HL7 outbox"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/me", get(handlers::me))
        .route("/api/v1/patients", get(handlers::list_patients).post(handlers::create_patient))
        .route("/api/v1/patients/{id}", get(handlers::get_patient))
        .route("/api/v1/patients/{id}/timeline", get(timeline::get_timeline))
        .route(
            "/api/v1/patients/{id}/blood-counts",
            get(timeline::list_blood_counts).post(timeline::add_blood_count),
        )
        .route("/api/v1/patients/{id}/milestones", post(timeline::add_milestone))
        .route("/api/v1/blood-counts/import", post(timeline::import_blood_counts))
        .route("/api/v1/interfaces/held", get(timeline::held_messages))
        .route("/api/v1/cases", get(handlers::list_cases).post(handlers::place_order))
        .route("/api/v1/cases/{id}", get(handlers::get_case))
        .route("/api/v1/cases/{id}/safety-check", put(handlers::record_safety_check))
        .route("/api/v1/cases/{id}/procedure", post(handlers::record_procedure))
        .route("/api/v1/cases/{id}/specimens/receive", post(handlers::receive_specimens))
        .route("/api/v1/cases/{id}/differential", put(handlers::record_differential))
        .route("/api/v1/cases/{id}/aspirate", put(handlers::record_aspirate))
        .route("/api/v1/cases/{id}/report/draft", put(handlers::save_draft))
        .route("/api/v1/cases/{id}/report/sign", post(handlers::sign_report))
        .route("/api/v1/cases/{id}/report/amendments", post(handlers::amend_report))
        .route("/api/v1/cases/{id}/report/versions/{version}", get(handlers::get_report_version))
        .route("/api/v1/cases/{id}/counts", post(counts::start_count))
        .route("/api/v1/counts/{id}", get(counts::get_count))
        .route("/api/v1/counts/{id}/events", post(counts::post_events).get(counts::list_events))
        .route("/api/v1/counts/{id}/finish", post(counts::finish_count))
        .route(
            "/api/v1/counts/{id}/images",
            post(counts::upload_image)
                .layer(axum::extract::DefaultBodyLimit::max(crate::pages::MAX_UPLOAD_BYTES)),
        )
        .route("/api/v1/counts/{id}/cells", get(counts::list_cells))
        .route("/api/v1/counts/{id}/cells/{cell}/decision", post(counts::decide_cell))
        .route("/api/v1/cases/{id}/fhir", get(exports::case_fhir))
        .route("/api/v1/cases/{id}/hl7", get(exports::case_hl7))
        .route("/api/v1/fhir/export", get(exports::bulk_export))
        .route("/api/v1/hl7/outbox", get(exports::outbox))
        .fallback(fallback)
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// Unknown paths: JSON under `/api/`, an HTML page elsewhere.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let error = crate::error::AppError::NotFound(format!("there is no page at {}", uri.path()));
    if uri.path().starts_with("/api/") {
        crate::error::ApiError(error).into_response()
    } else {
        crate::error::PageError(error).into_response()
    }
}
