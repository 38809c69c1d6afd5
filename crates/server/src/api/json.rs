//! JSON request bodies, parsed so that every error names the field to blame.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use marrow_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, AppError};

/// The largest JSON body accepted: far above any real request, it caps memory per request.
const MAX_BODY: usize = 256 * 1024;

/// A JSON body whose parse errors name the offending member (e.g. `medications[0].dose`).
///
/// A bad body is not refused while the request is read: the handler checks the caller's role
/// first and then calls [`JsonBody::parse`], so a role that may not act is told so (403) and
/// never learns what the endpoint would have accepted.
pub struct JsonBody<T>(Result<T, AppError>);

impl<T> JsonBody<T> {
    /// The body, or the error naming what is wrong with it.
    pub fn parse(self) -> Result<T, AppError> {
        self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(read(request, state).await))
    }
}

/// Reads and parses the body; the error names the member to blame.
async fn read<S: Send + Sync, T: DeserializeOwned>(
    request: Request,
    state: &S,
) -> Result<T, AppError> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|e| AppError::Input(FieldError::new("body", e.body_text())))?;
    parse(&bytes)
}

/// Parses a JSON body; the error names the member to blame. Shared by [`JsonBody`] and the
/// fuzz targets, so both exercise the same code.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.len() > MAX_BODY {
        return Err(AppError::Input(FieldError::new("body", "is larger than 256 KiB")));
    }
    // An empty body is an empty object, so endpoints whose members are all optional (sign)
    // take a bare POST; required members are still named when missing.
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if !matches!(inner.classify(), serde_json::error::Category::Data) {
            return AppError::Input(FieldError::new(
                "body",
                format!("is not valid JSON ({message})"),
            ));
        }
        let field = if path == "." || path.is_empty() {
            // Unknown or missing members are reported against the object: take the name
            // serde quotes in backticks.
            message.split('`').nth(1).unwrap_or_default().to_owned()
        } else {
            path
        };
        AppError::Input(FieldError::new(blamed(field), message))
    })?;
    de.end().map_err(|e| AppError::Input(FieldError::new("body", e.to_string())))?;
    Ok(value)
}

/// The field to name for a refused body. A member with a blank name ("" or " ") would name a
/// blank field, which tells the user nothing (found by the api_json fuzz target): the member
/// that holds it is named instead, or the body.
fn blamed(field: String) -> String {
    let field = match field.rsplit_once('.') {
        Some((holder, last)) if last.trim().is_empty() => holder.to_owned(),
        _ => field,
    };
    if field.trim().is_empty() { "body".to_owned() } else { field }
}

/// A query string whose parse errors are a 422 naming the parameter, in the API's JSON error
/// body, rather than axum's plain-text 400.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await.map_err(|e| {
                let text = e.body_text();
                let message =
                    text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                // serde names the parameter in backticks ("unknown field `x`") or before a
                // colon ("x: invalid float literal").
                let named = message.split_once(": ").map(|(head, _)| head).filter(|head| {
                    !head.is_empty() && head.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
                // As for bodies, a blank parameter name is blamed on the query as a whole.
                let quoted = message.split('`').nth(1).filter(|name| !name.trim().is_empty());
                let field = quoted.or(named).unwrap_or("query");
                AppError::Input(FieldError::new(field, message))
            })?;
        Ok(QueryParams(value))
    }
}
