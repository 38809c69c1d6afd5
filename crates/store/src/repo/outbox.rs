//! The HL7 v2 outbox: every signed report version waits here until each configured destination
//! acknowledges it. Rows are only ever inserted, and then moved from `queued` to `sent`; a
//! failing destination leaves its messages queued, with the last error, for people to see.

use marrow_domain::ids::CaseId;
use marrow_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{col, next_id, opt_timestamp, timestamp};
use crate::{Store, StoreError};

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// The case reported.
    pub case_id: CaseId,
    /// The report version the message carries.
    pub version: i64,
    /// Where it goes (`host:port`).
    pub destination: String,
    /// MSH-10, the message control id the acknowledgement names.
    pub control_id: String,
    /// The message, exactly as sent (and re-sent).
    pub message: String,
    /// Delivered (acknowledged) or still queued.
    pub sent: bool,
    /// Tries so far.
    pub attempts: i64,
    /// Why the last try failed, if it did.
    pub last_error: Option<String>,
    /// When the next try is due.
    pub next_attempt_at: Timestamp,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When the destination acknowledged it.
    pub sent_at: Option<Timestamp>,
}

fn item_from(r: &AnyRow) -> Result<OutboxItem, StoreError> {
    let status: String = col(r, "status")?;
    Ok(OutboxItem {
        id: col(r, "id")?,
        case_id: CaseId(col(r, "case_id")?),
        version: col(r, "version")?,
        destination: col(r, "destination")?,
        control_id: col(r, "control_id")?,
        message: col(r, "message")?,
        sent: status == "sent",
        attempts: col(r, "attempts")?,
        last_error: col(r, "last_error")?,
        next_attempt_at: timestamp(r, "next_attempt_at")?,
        created_at: timestamp(r, "created_at")?,
        sent_at: opt_timestamp(r, "sent_at")?,
    })
}

impl Store {
    /// Signed versions that have no outbox row for `destination` yet, oldest first.
    pub async fn versions_awaiting_hl7(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<(CaseId, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.case_id, v.version FROM report_versions v
             WHERE NOT EXISTS (SELECT 1 FROM hl7_outbox o
                               WHERE o.case_id = v.case_id AND o.version = v.version AND o.destination = $1)
             ORDER BY v.signed_at, v.case_id, v.version LIMIT $2",
        )
        .bind(destination)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((CaseId(col(r, "case_id")?), col(r, "version")?))).collect()
    }

    /// Queues a message. Returns `false` when the version is already queued for `destination`
    /// (another node got there first), which is not an error.
    pub async fn enqueue_hl7(
        &self,
        case: CaseId,
        version: i64,
        destination: &str,
        control_id: &str,
        message: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM hl7_outbox WHERE case_id = $1 AND version = $2 AND destination = $3",
        )
        .bind(case.0)
        .bind(version)
        .bind(destination)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            return Ok(false);
        }
        let id = next_id(&mut tx, "hl7_outbox").await?;
        let inserted = sqlx::query(
            "INSERT INTO hl7_outbox (id, case_id, version, destination, control_id, message, status, attempts,
                                     next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7)",
        )
        .bind(id)
        .bind(case.0)
        .bind(version)
        .bind(destination)
        .bind(control_id)
        .bind(message)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            // The unique key: a concurrent node queued the same version first.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Queued messages for `destination` that are due at `now`, oldest first.
    pub async fn due_hl7(
        &self,
        destination: &str,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hl7_outbox WHERE status = 'queued' AND destination = $1 AND next_attempt_at <= $2
             ORDER BY id LIMIT $3",
        )
        .bind(destination)
        .bind(now.to_rfc3339())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from).collect()
    }

    /// Takes a due message for one sending attempt by moving its next attempt to `until`; only
    /// one node wins, so two nodes never send the same message at once.
    pub async fn claim_hl7(&self, item: &OutboxItem, until: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE hl7_outbox SET next_attempt_at = $1
             WHERE id = $2 AND status = 'queued' AND next_attempt_at = $3",
        )
        .bind(until.to_rfc3339())
        .bind(item.id)
        .bind(item.next_attempt_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the destination's acknowledgement.
    pub async fn hl7_delivered(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE hl7_outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL, sent_at = $1
             WHERE id = $2",
        )
        .bind(at.to_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed try; the message stays queued until `retry_at`.
    pub async fn hl7_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE hl7_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2
             WHERE id = $3 AND status = 'queued'",
        )
        .bind(error)
        .bind(retry_at.to_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The outbox, queued messages first, then the most recently sent.
    pub async fn hl7_outbox(&self, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hl7_outbox ORDER BY CASE WHEN status = 'queued' THEN 0 ELSE 1 END, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from).collect()
    }
}

impl Store {
    /// Signed report versions signed at or after `since`, oldest first, as (case, version):
    /// what a bulk export carries.
    pub async fn versions_signed_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(CaseId, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, version FROM report_versions WHERE signed_at >= $1
             ORDER BY signed_at, case_id, version",
        )
        .bind(since.to_rfc3339())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((CaseId(col(r, "case_id")?), col(r, "version")?))).collect()
    }
}
