//! Logging in and out.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{page_with, see_other};
use crate::AppState;
use crate::auth::{
    LOGIN_COOKIE, SESSION_COOKIE, Staff, StaffForm, cookie, new_token, set_cookie, token_hash,
    token_matches, verify_password,
};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    login_csrf: String,
    username: String,
    error: String,
}

pub async fn home(staff: Result<Staff, PageError>) -> Response {
    match staff {
        Ok(s) if s.user.role.may(marrow_domain::role::Action::ViewClinicalRecords) => {
            see_other("/cases")
        }
        Ok(_) => see_other("/admin/users"),
        Err(_) => see_other("/login"),
    }
}

fn login_response(
    state: &AppState,
    status: StatusCode,
    username: &str,
    error: &str,
) -> Result<Response, PageError> {
    // Before login there is no session to hold a CSRF token, so the form and a cookie carry the
    // same random value (double submit).
    let token = new_token();
    let page = LoginPage {
        login_csrf: token.clone(),
        username: username.to_owned(),
        error: error.to_owned(),
    };
    let mut response = page_with(status, &page)?;
    let value = set_cookie(LOGIN_COOKIE, &token, 3600, state.config.secure_cookies);
    response.headers_mut().append(
        header::SET_COOKIE,
        value.parse().map_err(|_| AppError::Internal("cookie header".into()))?,
    );
    Ok(response)
}

/// Failed logins a username may have within [`LOGIN_WINDOW`] before it is refused.
pub const LOGIN_FAILURES: i64 = 5;
/// The window failed logins are counted over, in seconds (15 minutes).
pub const LOGIN_WINDOW: i64 = 15 * 60;

pub async fn login_page(State(state): State<AppState>) -> Result<Response, PageError> {
    login_response(&state, StatusCode::OK, "", "")
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = FormValues(pairs);
    let cookie_token = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let sent = form.get("login_csrf");
    if !token_matches(sent, cookie_token) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            form.get("username"),
            "The login form expired. Please try again.",
        );
    }
    let username = form.get("username").trim().to_ascii_lowercase();
    let password = form.get("password").to_owned();
    if username.is_empty() || password.is_empty() {
        return login_response(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &username,
            "Enter your username and password.",
        );
    }
    // Password guessing is slowed per username, on every node alike (the failures are in the
    // database): after LOGIN_FAILURES failed attempts within LOGIN_WINDOW seconds, the
    // username is refused without a password check until the oldest of them leaves the window
    // (OWASP Authentication Cheat Sheet, "Login Throttling"; NIST SP 800-63B §5.2.2).
    let now = state.clock.now();
    let window_start = now.plus_seconds(-LOGIN_WINDOW);
    let (failures, first) = state.store.login_failures_since(&username, window_start).await?;
    if failures >= LOGIN_FAILURES {
        let wait = first.map_or(LOGIN_WINDOW, |f| f.unix() + LOGIN_WINDOW - now.unix());
        tracing::warn!("login refused: too many failed attempts for one username");
        let mut response = login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &username,
            &format!(
                "Too many failed attempts. Try again in {} minutes, or ask an administrator.",
                (wait + 59) / 60
            ),
        )?;
        if let Ok(value) = wait.max(1).to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let found = state.store.user_for_login(&username).await?;
    // Hashing runs off the async threads: argon2 is deliberately slow.
    let ok = match found {
        Some((user, hash)) if user.active => {
            let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
            verified.then_some(user)
        }
        _ => None,
    };
    let Some(user) = ok else {
        tracing::info!("failed login");
        state.store.record_login_failure(&username, now, window_start).await?;
        return login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &username,
            "Unknown username or wrong password.",
        );
    };
    state.store.clear_login_failures(&username).await?;
    let token = new_token();
    let expires = now.plus_seconds(state.config.session_seconds);
    state.store.create_session(&token_hash(&token), user.id, &new_token(), now, expires).await?;
    tracing::info!(user_id = user.id.0, "login");
    let mut response = see_other("/");
    let headers = response.headers_mut();
    let session = set_cookie(
        SESSION_COOKIE,
        &token,
        state.config.session_seconds,
        state.config.secure_cookies,
    );
    let clear = set_cookie(LOGIN_COOKIE, "", 0, state.config.secure_cookies);
    for value in [session, clear] {
        headers.append(
            header::SET_COOKIE,
            value.parse().map_err(|_| AppError::Internal("cookie header".into()))?,
        );
    }
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    submitted: StaffForm,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(token)).await?;
    }
    tracing::info!(user_id = submitted.staff.user.id.0, "logout");
    let mut response = see_other("/login");
    let clear = set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies);
    response.headers_mut().append(
        header::SET_COOKIE,
        clear.parse().map_err(|_| AppError::Internal("cookie header".into()))?,
    );
    Ok(response.into_response())
}
