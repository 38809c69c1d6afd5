//! Server-rendered HTML pages, one module per area. Every state-changing form is a POST that
//! takes [`StaffForm`](crate::auth::StaffForm), which checks the session's CSRF token.

mod admin;
mod aspirate;
mod cases;
pub(crate) mod checkin;
mod counter;
mod gallery;

pub(crate) use gallery::{MAX_UPLOAD_BYTES, upload_bytes};
mod interfaces;
mod lab;
mod patients;
mod session;
mod steps;
mod timeline;

/// Each page form's reader: the submitted fields into the domain value the page stores.
/// Gathered here for the fuzz targets ([`crate::fuzz`]).
pub(crate) mod readers {
    pub(crate) use super::admin::{read_counting_rules, read_new_user, read_safety_settings};
    pub(crate) use super::aspirate::read_aspirate;
    pub(crate) use super::checkin::check_in_input;
    pub(crate) use super::counter::{read_keymap, read_target};
    pub(crate) use super::lab::read_specimen;
    pub(crate) use super::patients::{read_order, read_patient};
    pub(crate) use super::steps::{
        read_amendment, read_differential, read_procedure, read_report, read_safety,
    };
    pub(crate) use super::timeline::{read_blood_count, read_milestone};
}

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use marrow_domain::FieldError;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::forms::FormValues;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(session::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/patients", get(patients::list).post(patients::create))
        .route("/patients/new", get(patients::new_form))
        .route("/patients/{id}", get(patients::show))
        .route("/patients/{id}/orders/new", get(patients::order_form))
        .route("/patients/{id}/orders", post(patients::place_order))
        .route("/patients/{id}/timeline", get(timeline::show))
        .route("/patients/{id}/milestones", post(timeline::add_milestone))
        .route("/patients/{id}/blood-counts/new", get(timeline::count_form))
        .route("/patients/{id}/blood-counts", post(timeline::count_save))
        .route("/blood-counts/import", get(timeline::import_form).post(timeline::import_save))
        .route("/interfaces/held", get(timeline::held))
        .route("/interfaces/held/{id}/review", post(timeline::review_held))
        .route("/cases", get(cases::list))
        .route("/cases/{id}", get(cases::show))
        .route("/cases/{id}/history", get(cases::history))
        .route("/cases/{id}/safety-check", get(steps::safety_form).post(steps::safety_save))
        .route("/cases/{id}/safety-check/findings", post(steps::safety_findings))
        .route("/cases/{id}/procedure", get(steps::procedure_form).post(steps::procedure_save))
        .route("/cases/{id}/specimens/receive", post(steps::receive))
        .route(
            "/cases/{id}/differential",
            get(steps::differential_form).post(steps::differential_save),
        )
        .route("/cases/{id}/report", get(steps::draft_form).post(steps::draft_save))
        .route("/cases/{id}/report/flags", post(steps::report_flags))
        .route("/cases/{id}/report/sign", get(steps::sign_form).post(steps::sign))
        .route("/cases/{id}/report/amend", get(steps::amend_form).post(steps::amend_save))
        .route("/cases/{id}/report/versions/{version}", get(cases::report_version))
        .route("/cases/{id}/report/versions/{version}/text", get(cases::report_text))
        .route("/cases/{id}/report/versions/{version}/pdf", get(cases::report_pdf))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/settings", get(admin::settings).post(admin::save_settings))
        .route("/admin/settings/safety", post(admin::save_safety_settings))
        .route("/admin/settings/discharge", post(admin::save_discharge_settings))
        .route("/cases/{id}/aspirate", get(aspirate::form).post(aspirate::save))
        .route("/cases/{id}/checkin-link", post(checkin::create_link))
        .route("/cases/{id}/labels.pdf", get(lab::labels))
        .route("/lab/receive", get(lab::receive_page).post(lab::receive_scanned))
        .route("/interfaces/hl7", get(interfaces::hl7_outbox))
        .route("/checkin/{token}", get(checkin::form).post(checkin::submit))
        .route("/checkin/{token}/sheet", get(checkin::sheet))
        .route("/checkin/{token}/sheet.pdf", get(checkin::sheet_pdf))
        .route("/cases/{id}/discharge", post(checkin::discharge))
        .route("/alerts", get(checkin::alerts))
        .route("/alerts/{id}/acknowledge", post(checkin::acknowledge))
        .route("/cases/{id}/counts", post(counter::start))
        .route("/cases/{id}/counts/compare", get(counter::compare))
        .route("/counts/{id}", get(counter::show))
        .route("/keymaps", get(counter::keymaps).post(counter::save_keymap))
        .route("/counts/{id}/events", post(counter::events))
        .route("/counts/{id}/stats", get(counter::stats))
        .route("/counts/{id}/finish", post(counter::finish))
        .route("/counts/{id}/gallery", get(gallery::show))
        .route(
            "/counts/{id}/images",
            post(gallery::upload)
                .layer(axum::extract::DefaultBodyLimit::max(gallery::MAX_UPLOAD_BYTES)),
        )
        .route("/counts/{id}/cells", get(gallery::cells))
        .route("/counts/{id}/cells/{cell}/decision", post(gallery::decide))
        .route("/image-cells/{id}/crop.png", get(gallery::crop))
        .route("/cases/{id}/image-cells", get(gallery::case_cells))
        .route("/lab/agreement", get(gallery::agreement))
}

/// A form's values and, after a failed submit, the error to show beside its field.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    pub values: FormValues,
    pub error: Option<FieldError>,
}

impl FormState {
    pub fn new(values: FormValues) -> Self {
        Self { values, error: None }
    }

    pub fn with_error(values: FormValues, error: FieldError) -> Self {
        Self { values, error: Some(error) }
    }

    pub fn get(&self, key: &str) -> &str {
        self.values.get(key)
    }

    pub fn is(&self, key: &str, value: &str) -> bool {
        self.values.is(key, value)
    }

    pub fn has(&self, key: &str, value: &str) -> bool {
        self.values.has(key, value)
    }

    pub fn checked(&self, key: &str) -> bool {
        self.values.checked(key)
    }

    /// The i-th value of a repeated field (table rows).
    pub fn nth(&self, key: &str, i: &usize) -> &str {
        self.values.all(key).get(*i).copied().unwrap_or("")
    }

    /// The error message for `field` (or one of its rows), or "".
    pub fn error_for(&self, field: &str) -> &str {
        match &self.error {
            Some(e)
                if e.field == field
                    || e.field.starts_with(&format!("{field}["))
                    || e.field.starts_with(&format!("{field}.")) =>
            {
                &e.message
            }
            _ => "",
        }
    }

    /// Whether the error is about `field` itself (e.g. one table cell, `medications[1].dose`).
    pub fn error_is(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.field == field)
    }

    /// The message of an error about `field` itself, not one of its rows, or "".
    pub fn error_at(&self, field: &str) -> &str {
        match &self.error {
            Some(e) if e.field == field => &e.message,
            _ => "",
        }
    }

    /// The field the error summary links to: its control has the id `f-` and this name. An
    /// item of a one-box list (`allergies[2]`) is its box (`allergies`); "" for an error that
    /// no control on the page can mend (a stale or tampered hidden field), which the summary
    /// states without a link.
    pub fn error_target(&self) -> &str {
        let Some(e) = &self.error else { return "" };
        let field = e.field.as_str();
        if NO_CONTROL.contains(&field) {
            return "";
        }
        match field.strip_suffix(']').and_then(|f| f.rsplit_once('[')) {
            Some((list, _)) => list,
            None => field,
        }
    }
}

/// Error fields that name no control on a page: a hidden token that only a reload mends, or
/// the request as a whole.
const NO_CONTROL: &[&str] = &["revision", "form", "body"];

/// Renders a template as a 200 page.
pub fn page<T: Template>(template: &T) -> Result<Response, PageError> {
    page_with(StatusCode::OK, template)
}

/// Renders a template with a status (422 for a form with errors).
pub fn page_with<T: Template>(status: StatusCode, template: &T) -> Result<Response, PageError> {
    let html = template.render().map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// `value` as JSON to place inside `<script type="application/json">`, where only "<" can end
/// the element early; `what` names it in an error.
pub fn script_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String, AppError> {
    Ok(serde_json::to_string(value)
        .map_err(|e| AppError::Internal(format!("{what}: {e}")))?
        .replace('<', "\\u003c"))
}

/// A 303 redirect after a successful POST.
pub fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}

/// One signed version of a case's report, or a 404 that names it.
pub fn signed_version(
    record: &marrow_store::CaseRecord,
    version: i64,
) -> Result<&marrow_store::ReportVersion, AppError> {
    record.versions.iter().find(|v| v.version == version).ok_or_else(|| {
        AppError::NotFound(format!("report version {version} of case {} does not exist", record.id))
    })
}

/// (code, label) pairs of a closed vocabulary, for a `<select>` or radio buttons.
pub fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|&v| (code(v), label(v))).collect()
}

/// Parses a path id, refusing non-numbers as "not found" rather than a 400 with axum's text.
pub fn path_id(raw: &str, what: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| AppError::NotFound(format!("{what} {raw:?} does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(field: &str) -> FormState {
        FormState::with_error(FormValues::default(), FieldError::new(field, "is wrong"))
    }

    #[test]
    fn the_error_summary_links_to_the_control_that_mends_the_error() {
        assert_eq!(refused("platelets").error_target(), "platelets");
        // One cell of a table row has its own control.
        assert_eq!(refused("medications[1].dose").error_target(), "medications[1].dose");
        // One line of a one-box list is that box.
        assert_eq!(refused("allergies[2]").error_target(), "allergies");
        // A hidden token names no control: the summary states the error without a link.
        assert_eq!(refused("revision").error_target(), "");
        assert_eq!(FormState::default().error_target(), "");
    }

    #[test]
    fn a_row_error_belongs_to_its_table_but_only_to_its_own_cell() {
        let form = refused("medications[1].dose");
        assert_eq!(form.error_for("medications"), "is wrong");
        assert!(form.error_is("medications[1].dose"));
        assert!(!form.error_is("medications[0].dose"));
        assert_eq!(form.error_at("medications"), "");
    }
}
