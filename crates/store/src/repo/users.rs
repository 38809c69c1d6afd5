//! Staff users, their login sessions and their API tokens.

use marrow_domain::ids::UserId;
use marrow_domain::role::Role;
use marrow_domain::time::Timestamp;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, flag, next_id};
use crate::{Store, StoreError};

/// A staff user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Name shown on records (e.g. "Dr A. Example").
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Whether the account may log in.
    pub active: bool,
}

/// A user named on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// Id.
    pub id: UserId,
    /// Display name.
    pub display_name: String,
}

fn user_from(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let role: String = col(row, "role")?;
    Ok(UserRecord {
        id: UserId(col(row, "id")?),
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        role: Role::parse(&role).map_err(corrupt)?,
        active: flag(row, "active")?,
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.active";

impl Store {
    /// Adds a user. `actor` is `None` when an administrator runs the command line.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: &str,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "users").await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(marrow_domain::FieldError::new(
                "username",
                format!("{username:?} is already taken"),
            )));
        }
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, active, created_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind(id)
        .bind(username)
        .bind(display_name)
        .bind(role.code())
        .bind(password_hash)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let after =
            json!({"username": username, "display_name": display_name, "role": role.code()});
        let change = Change {
            action: "user.create",
            entity: "user",
            entity_id: id,
            before: None,
            after: Some(after),
        };
        append(&mut tx, actor.map(|a| a.0), at, change).await?;
        tx.commit().await?;
        Ok(UserId(id))
    }

    /// A user and their password hash, by login name.
    pub async fn user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from(&r)?, col(&r, "password_hash")?))).transpose()
    }

    /// A user by id.
    pub async fn user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { what: "user", id: id.0 })?;
        user_from(&row)
    }

    /// Every user, by login name.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from).collect()
    }

    /// Starts a login session. Only the token's hash is stored.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(csrf_token)
        .bind(at.to_rfc3339())
        .bind(expires_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user and CSRF token of a live session of an active user.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
        ))
        .bind(token_hash)
        .bind(now.to_rfc3339())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from(&r)?, col(&r, "csrf_token")?))).transpose()
    }

    /// Ends a session (logout).
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a new API token for a user. Only the token's hash is stored.
    pub async fn create_api_token(
        &self,
        user: UserId,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "api_tokens").await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(user.0)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "api-token.create",
            entity: "user",
            entity_id: user.0,
            before: None,
            after: Some(json!({"token_id": id})),
        };
        append(&mut tx, None, at, change).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The active user holding an unrevoked API token.
    pub async fn user_for_api_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from).transpose()
    }
}

impl Store {
    /// Records a failed login for `username` (known or not, so the answers do not tell which)
    /// and forgets failures older than `forget_before`.
    pub async fn record_login_failure(
        &self,
        username: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(forget_before.to_rfc3339())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_failures (username, at) VALUES ($1, $2)")
            .bind(username)
            .bind(at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Failed logins for `username` since `since`, and the earliest of them.
    pub async fn login_failures_since(
        &self,
        username: &str,
        since: Timestamp,
    ) -> Result<(i64, Option<Timestamp>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS first FROM login_failures WHERE username = $1 AND at >= $2",
        )
        .bind(username)
        .bind(since.to_rfc3339())
        .fetch_one(&self.pool)
        .await?;
        Ok((col(&row, "n")?, crate::rows::opt_timestamp(&row, "first")?))
    }

    /// Forgets a username's failed logins (after it logs in).
    pub async fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
