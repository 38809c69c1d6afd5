//! Who is asking: passwords, login sessions, CSRF tokens and API bearer tokens.
//!
//! Passwords are hashed with argon2id. Session and API tokens are 256-bit random values; only
//! their SHA-256 is stored, so a copy of the database logs nobody in. Session cookies are
//! `HttpOnly` and `SameSite=Strict`, and every state-changing form carries the session's CSRF
//! token as well.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use marrow_domain::role::{Action, Role};
use marrow_store::UserRecord;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, AppError, PageError};
use crate::forms::FormValues;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "marrow_session";
/// The pre-login CSRF cookie's name.
pub const LOGIN_COOKIE: &str = "marrow_login";

/// A new random token: 32 bytes, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A value of the request's `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for our cookies.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// A logged-in member of staff (pages), with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The user.
    pub user: UserRecord,
    /// The token every form of this session must send back.
    pub csrf: String,
}

impl Staff {
    /// Refuses with 403 unless the role may take `action`.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        require(&self.user, action)
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }
}

/// Refuses with 403 unless `user`'s role may take `action`.
pub fn require(user: &UserRecord, action: Action) -> Result<(), AppError> {
    if user.role.may(action) { Ok(()) } else { Err(AppError::Forbidden(user.role.refusal(action))) }
}

impl<S> FromRequestParts<S> for Staff
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?;
        let now = state.clock.now();
        let (user, csrf) =
            state.store.session(&token_hash(token), now).await?.ok_or(AppError::Unauthenticated)?;
        Ok(Staff { user, csrf })
    }
}

/// A logged-in member of staff and a submitted form whose CSRF token has been checked.
/// Every state-changing page handler takes this, so none can forget the check.
#[derive(Debug)]
pub struct StaffForm {
    /// Who submitted it.
    pub staff: Staff,
    /// What they submitted.
    pub form: FormValues,
}

impl<S> FromRequest<S> for StaffForm
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|e| AppError::Input(marrow_domain::FieldError::new("form", e.body_text())))?;
        let form = FormValues(pairs);
        let sent = form.get("csrf");
        if !token_matches(sent, &staff.csrf) {
            return Err(PageError(AppError::Forbidden(
                "This form has expired or did not come from Marrow. Reload the page and try again."
                    .into(),
            )));
        }
        Ok(StaffForm { staff, form })
    }
}

/// Whether a submitted anti-forgery token is present and equals the expected one.
pub fn token_matches(sent: &str, expected: &str) -> bool {
    !sent.is_empty() && constant_time_eq(sent.as_bytes(), expected.as_bytes())
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An API client, authenticated by `Authorization: Bearer TOKEN`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub UserRecord);

impl<S> FromRequestParts<S> for ApiUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated)?;
        let user = state
            .store
            .user_for_api_token(&token_hash(token))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(ApiUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("a long synthetic password").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("a long synthetic password", &hash));
        assert!(!verify_password("another long password", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
