//! The append-only audit log, chained by SHA-256.
//!
//! Every change writes one row in the same transaction as the change itself. Rows are never
//! updated or deleted by Marrow. Each row's hash covers its own content and the previous row's
//! hash, so `verify_audit_chain` finds an edited, deleted or reordered row.

use marrow_domain::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::rows::{col, next_id, timestamp};
use crate::{Store, StoreError};

/// The hash the first row chains from.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who (absent for command-line administration).
    pub actor_id: Option<i64>,
    /// The actor's display name, when known.
    pub actor_name: Option<String>,
    /// What was done, e.g. `case.sign-report`.
    pub action: String,
    /// The kind of record changed.
    pub entity: String,
    /// Its id.
    pub entity_id: i64,
    /// The values before, as JSON (absent for creations).
    pub before: Option<String>,
    /// The values after, as JSON.
    pub after: Option<String>,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// Rows checked.
    pub records: u64,
    /// The first row whose hash or link does not match, if any.
    pub first_broken: Option<i64>,
}

/// What an audit row says; the store fills in id, hashes and time.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: i64,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev: &str,
    id: i64,
    at: &str,
    actor: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: i64,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    // Length-prefixed fields, so no two different rows serialise to the same bytes.
    for part in [
        prev,
        &id.to_string(),
        at,
        &actor.map(|a| a.to_string()).unwrap_or_default(),
        action,
        entity,
        &entity_id.to_string(),
        before.unwrap_or("\u{0}"),
        after.unwrap_or("\u{0}"),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(crate) async fn append(
    conn: &mut AnyConnection,
    actor: Option<i64>,
    at: Timestamp,
    change: Change<'_>,
) -> Result<(), StoreError> {
    // The counter row lock serialises appends, so the previous row is stable.
    let id = next_id(conn, "audit").await?;
    let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE id = $1")
        .bind(id - 1)
        .fetch_optional(&mut *conn)
        .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    let at = at.to_rfc3339();
    let before = change.before.map(|v| v.to_string());
    let after = change.after.map(|v| v.to_string());
    let hash = row_hash(
        &prev,
        id,
        &at,
        actor,
        change.action,
        change.entity,
        change.entity_id,
        before.as_deref(),
        after.as_deref(),
    );
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, entity, entity_id, before_json, after_json, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(change.action)
    .bind(change.entity)
    .bind(change.entity_id)
    .bind(before)
    .bind(after)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// The audit records about one entity (e.g. `("case", 7)`), oldest first.
    pub async fn audit_for(
        &self,
        entity: &str,
        entity_id: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.actor_id, u.display_name, a.action, a.entity, a.entity_id, a.before_json, a.after_json
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
             WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.id",
        )
        .bind(entity)
        .bind(entity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: col(r, "id")?,
                    at: timestamp(r, "at")?,
                    actor_id: col(r, "actor_id")?,
                    actor_name: col(r, "display_name")?,
                    action: col(r, "action")?,
                    entity: col(r, "entity")?,
                    entity_id: col(r, "entity_id")?,
                    before: col(r, "before_json")?,
                    after: col(r, "after_json")?,
                })
            })
            .collect()
    }

    /// The history of one entity for display: who did what when, without the before/after
    /// values (which can be large and are not shown in lists).
    pub async fn history_for(
        &self,
        entity: &str,
        entity_id: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.actor_id, u.display_name, a.action
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
             WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.id",
        )
        .bind(entity)
        .bind(entity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: col(r, "id")?,
                    at: timestamp(r, "at")?,
                    actor_id: col(r, "actor_id")?,
                    actor_name: col(r, "display_name")?,
                    action: col(r, "action")?,
                    entity: entity.to_owned(),
                    entity_id,
                    before: None,
                    after: None,
                })
            })
            .collect()
    }

    /// Recomputes every hash in order and reports the first row that does not match.
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, action, entity, entity_id, before_json, after_json, prev_hash, hash
             FROM audit_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut prev = GENESIS.to_owned();
        for (expected_id, r) in (1_i64..).zip(rows.iter()) {
            let id: i64 = col(r, "id")?;
            let at: String = col(r, "at")?;
            let before: Option<String> = col(r, "before_json")?;
            let after: Option<String> = col(r, "after_json")?;
            let action: String = col(r, "action")?;
            let entity: String = col(r, "entity")?;
            let stored_prev: String = col(r, "prev_hash")?;
            let stored: String = col(r, "hash")?;
            let computed = row_hash(
                &prev,
                id,
                &at,
                col(r, "actor_id")?,
                &action,
                &entity,
                col(r, "entity_id")?,
                before.as_deref(),
                after.as_deref(),
            );
            if id != expected_id || stored_prev != prev || stored != computed {
                return Ok(ChainCheck { records: rows.len() as u64, first_broken: Some(id) });
            }
            prev = stored;
        }
        // The chain alone cannot show records cut from its end; the id counter, bumped in the
        // same transaction as every append, still counts them.
        let appended: i64 =
            sqlx::query_scalar("SELECT value FROM id_counters WHERE name = 'audit'")
                .fetch_one(&self.pool)
                .await?;
        let last = rows.len() as i64;
        if appended != last {
            return Ok(ChainCheck { records: rows.len() as u64, first_broken: Some(last + 1) });
        }
        Ok(ChainCheck { records: rows.len() as u64, first_broken: None })
    }
}
