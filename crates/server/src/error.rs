//! Errors of a request, and how they become responses: one mapping for pages (HTML) and one
//! for the API (JSON). A 5xx shows a plain sentence; the cause goes to the log, with ids only.

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use marrow_domain::FieldError;
use marrow_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A value the user gave is not acceptable.
    #[error(transparent)]
    Input(#[from] FieldError),
    /// Not logged in, or the token is unknown.
    #[error("please log in")]
    Unauthenticated,
    /// Logged in, but the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the record's state (a pathway step out of order, a stale
    /// save, a duplicate). `field` is set when one field is to blame.
    #[error("{message}")]
    Conflict {
        /// What is wrong.
        message: String,
        /// The field to blame, if any.
        field: Option<String>,
    },
    /// The database is unreachable.
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// The database's disk is full: nothing was saved.
    #[error("the database's disk is full, so nothing was saved; tell the system administrator")]
    StorageFull,
    /// Anything else: a bug or a broken database.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::NotFound(e.to_string()),
            StoreError::Conflict(f) => {
                AppError::Conflict { message: f.to_string(), field: Some(f.field) }
            }
            StoreError::Invalid(f) => AppError::Input(f),
            StoreError::SignRefused(ref refusal) => AppError::Conflict {
                message: e.to_string(),
                field: Some(refusal.field().to_owned()),
            },
            StoreError::FlagsChanged => {
                AppError::Conflict { message: e.to_string(), field: Some("flags_shown".to_owned()) }
            }
            StoreError::StaleWrite { .. } | StoreError::Refused(_) => {
                AppError::Conflict { message: e.to_string(), field: None }
            }
            ref unavailable if unavailable.is_unavailable() => AppError::Unavailable,
            ref full if full.is_disk_full() => AppError::StorageFull,
            other => AppError::Internal(format!("{other:?}")),
        }
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Input(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn public_message(&self) -> String {
        match self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "Something went wrong; the details have been logged.".to_owned()
            }
            AppError::StorageFull => {
                tracing::error!("the database's disk is full: a write was refused");
                self.to_string()
            }
            AppError::Unavailable => {
                tracing::warn!("the database is unavailable: a request was refused");
                self.to_string()
            }
            other => other.to_string(),
        }
    }
}

/// An error rendered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, AppError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = self.0.status();
        let title = match status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "Not possible now",
            StatusCode::UNPROCESSABLE_ENTITY => "Please check the form",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            _ => "Something went wrong",
        };
        let page = ErrorPage { title: title.to_owned(), message: self.0.public_message() };
        match page.render() {
            Ok(html) => {
                (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
            }
            Err(_) => (status, page.message).into_response(),
        }
    }
}

/// An error rendered as JSON: `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The body of every API error.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in a sentence.
    pub error: String,
    /// The request field to blame, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let field = match &self.0 {
            AppError::Input(f) => Some(f.field.clone()),
            AppError::Conflict { field, .. } => field.clone(),
            _ => None,
        };
        let body = ErrorBody { error: self.0.public_message(), field };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
