//! The post-procedure check-in: patient links, answers, and alerts for the care team.

use marrow_domain::case::CaseStatus;
use marrow_domain::ids::{CaseId, UserId};
use marrow_domain::time::Timestamp;
use serde_json::json;

use super::patients::{PATIENT_COLUMNS, PatientRecord, patient_from};
use super::users::UserRef;
use crate::audit::{Change, append};
use crate::rows::{col, next_id, opt_timestamp, timestamp};
use crate::{Stamp, Store, StoreError};

/// An alert raised by a check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: CaseId,
    /// The patient.
    pub patient: PatientRecord,
    /// When it was raised.
    pub created_at: Timestamp,
    /// What the patient reported, for the team.
    pub summary: String,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(UserRef, Timestamp)>,
}

/// A submitted check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInRecord {
    /// Id.
    pub id: i64,
    /// When.
    pub submitted_at: Timestamp,
    /// The answers, as JSON.
    pub answers: String,
    /// The triage outcome code.
    pub outcome: String,
    /// The reasons, one per line.
    pub reasons: String,
}

impl Store {
    /// Stores a new check-in link for a case whose procedure is recorded. Only the token's hash
    /// is kept.
    pub async fn create_checkin_link(
        &self,
        case: CaseId,
        token_hash: &str,
        expires_at: Timestamp,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let status = super::cases::lock_case(&mut tx, case, stamp.at).await?;
        if status < CaseStatus::Performed {
            return Err(StoreError::Invalid(marrow_domain::FieldError::new(
                "case",
                "a check-in link is given after the procedure",
            )));
        }
        sqlx::query(
            "INSERT INTO checkin_links (token_hash, case_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(case.0)
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .bind(expires_at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "checkin.link",
            entity: "case",
            entity_id: case.0,
            before: None,
            after: Some(json!({"expires_at": expires_at.to_rfc3339()})),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The case and patient a live check-in link opens; `None` for an unknown or expired link.
    pub async fn checkin_case(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(CaseId, PatientRecord)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT l.case_id, {PATIENT_COLUMNS} FROM checkin_links l JOIN cases c ON c.id = l.case_id
             JOIN patients p ON p.id = c.patient_id WHERE l.token_hash = $1 AND l.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now.to_rfc3339())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((CaseId(col(&r, "case_id")?), patient_from(&r)?))).transpose()
    }

    /// Stores a check-in and, when `alert` is given, raises an alert in the same transaction.
    pub async fn record_checkin(
        &self,
        case: CaseId,
        answers: &serde_json::Value,
        outcome: &str,
        reasons: &str,
        alert: Option<&str>,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "checkins").await?;
        sqlx::query("INSERT INTO checkins (id, case_id, submitted_at, answers, outcome, reasons) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(case.0)
            .bind(at.to_rfc3339())
            .bind(answers.to_string())
            .bind(outcome)
            .bind(reasons)
            .execute(&mut *tx)
            .await?;
        if let Some(summary) = alert {
            let alert_id = next_id(&mut tx, "alerts").await?;
            sqlx::query("INSERT INTO alerts (id, case_id, checkin_id, created_at, summary) VALUES ($1, $2, $3, $4, $5)")
                .bind(alert_id)
                .bind(case.0)
                .bind(id)
                .bind(at.to_rfc3339())
                .bind(summary)
                .execute(&mut *tx)
                .await?;
        }
        let change = Change {
            action: "checkin.submit",
            entity: "case",
            entity_id: case.0,
            before: None,
            after: Some(
                json!({"checkin_id": id, "outcome": outcome, "answers": answers, "alert": alert.is_some()}),
            ),
        };
        append(&mut tx, None, at, change).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A case's check-ins, newest first.
    pub async fn checkins(&self, case: CaseId) -> Result<Vec<CheckInRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM checkins WHERE case_id = $1 ORDER BY id DESC")
            .bind(case.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(CheckInRecord {
                    id: col(r, "id")?,
                    submitted_at: timestamp(r, "submitted_at")?,
                    answers: col(r, "answers")?,
                    outcome: col(r, "outcome")?,
                    reasons: col(r, "reasons")?,
                })
            })
            .collect()
    }

    /// Alerts, open ones first then the latest acknowledged, at most `limit`.
    pub async fn alerts(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let filter = if open_only { "WHERE a.acknowledged_at IS NULL" } else { "" };
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.case_id, a.created_at, a.summary, a.acknowledged_by, a.acknowledged_at, u.display_name AS ack_name,
                    {PATIENT_COLUMNS}
             FROM alerts a JOIN cases c ON c.id = a.case_id JOIN patients p ON p.id = c.patient_id
             LEFT JOIN users u ON u.id = a.acknowledged_by {filter}
             ORDER BY a.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let by: Option<i64> = col(r, "acknowledged_by")?;
                let at = opt_timestamp(r, "acknowledged_at")?;
                let acknowledged = match (by, at) {
                    (Some(id), Some(at)) => {
                        Some((UserRef { id: UserId(id), display_name: col(r, "ack_name")? }, at))
                    }
                    _ => None,
                };
                Ok(AlertRecord {
                    id: col(r, "id")?,
                    case_id: CaseId(col(r, "case_id")?),
                    patient: patient_from(r)?,
                    created_at: timestamp(r, "created_at")?,
                    summary: col(r, "summary")?,
                    acknowledged,
                })
            })
            .collect()
    }

    /// Acknowledges an open alert; acknowledging it again is refused.
    pub async fn acknowledge_alert(&self, id: i64, stamp: Stamp) -> Result<CaseId, StoreError> {
        let mut tx = self.write_tx().await?;
        let case: Option<i64> = sqlx::query_scalar(
            "UPDATE alerts SET acknowledged_by = $2, acknowledged_at = $3 WHERE id = $1 AND acknowledged_at IS NULL RETURNING case_id",
        )
        .bind(id)
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(case) = case else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                None => StoreError::NotFound { what: "alert", id },
                Some(_) => StoreError::Conflict(marrow_domain::FieldError::new(
                    "alert",
                    "this alert is already acknowledged",
                )),
            });
        };
        let change = Change {
            action: "alert.acknowledge",
            entity: "case",
            entity_id: case,
            before: None,
            after: Some(json!({"alert_id": id})),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(CaseId(case))
    }
}

impl Store {
    /// The case a specimen belongs to (for a scanned label).
    pub async fn case_of_specimen(
        &self,
        specimen: marrow_domain::ids::SpecimenId,
    ) -> Result<Option<CaseId>, StoreError> {
        let case: Option<i64> = sqlx::query_scalar("SELECT case_id FROM specimens WHERE id = $1")
            .bind(specimen.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(case.map(CaseId))
    }
}

/// A specimen waiting to be received in the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSpecimen {
    /// The specimen.
    pub id: marrow_domain::ids::SpecimenId,
    /// Its case.
    pub case_id: CaseId,
    /// The patient.
    pub patient: PatientRecord,
    /// Container code.
    pub tube: String,
    /// Destination code.
    pub destination: String,
}

impl Store {
    /// Specimens collected but not yet received, oldest case first (the lab's worklist).
    pub async fn specimens_awaiting_receipt(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingSpecimen>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT s.id, s.case_id, s.tube, s.destination, {PATIENT_COLUMNS}
             FROM specimens s JOIN cases c ON c.id = s.case_id JOIN patients p ON p.id = c.patient_id
             WHERE s.status = 'collected' ORDER BY s.case_id, s.position LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingSpecimen {
                    id: marrow_domain::ids::SpecimenId(col(r, "id")?),
                    case_id: CaseId(col(r, "case_id")?),
                    patient: patient_from(r)?,
                    tube: col(r, "tube")?,
                    destination: col(r, "destination")?,
                })
            })
            .collect()
    }
}
