//! Blood counts, incoming results held for review, and treatment milestones: what a patient's
//! timeline reads beside the marrows.

use marrow_domain::blood_count::{Analyte, BloodCount, Measured, Quantity, RawResult};
use marrow_domain::ids::{PatientId, UserId};
use marrow_domain::monitoring::{Milestone, MilestoneKind};
use marrow_domain::time::{Date, Timestamp};
use serde_json::json;
use sqlx::any::AnyRow;

use super::patients::{PATIENT_COLUMNS, PatientRecord, patient_from};
use super::users::UserRef;
use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, next_id, opt_timestamp, timestamp};
use crate::{Stamp, Store, StoreError};

/// Where a blood count came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountSource {
    /// Typed in on the patient's page or sent as JSON to the API.
    Manual,
    /// A CSV import.
    Csv,
    /// An HL7 v2 ORU^R01 message; the reference is `MSH-4|MSH-10`, unique per sender.
    Hl7 {
        /// `MSH-4|MSH-10`.
        reference: String,
    },
}

impl CountSource {
    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Csv => "csv",
            Self::Hl7 { .. } => "hl7",
        }
    }

    fn reference(&self) -> Option<&str> {
        match self {
            Self::Hl7 { reference } => Some(reference),
            _ => None,
        }
    }
}

/// A count to store, with its values as they arrived (kept beside the converted values).
#[derive(Debug, Clone)]
pub struct NewBloodCount<'a> {
    /// Whose blood.
    pub patient: PatientId,
    /// The parsed, converted count.
    pub count: &'a BloodCount,
    /// The values and units as they arrived.
    pub raw: &'a [RawResult<'a>],
}

/// What storing a message's count did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new count, with its id.
    New(i64),
    /// The same message was stored before (same sender and control id): nothing was added.
    AlreadyStored(i64),
}

/// A stored blood count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloodCountRecord {
    /// Id.
    pub id: i64,
    /// Whose.
    pub patient: PatientId,
    /// The count.
    pub count: BloodCount,
    /// `manual`, `csv` or `hl7`.
    pub source: String,
    /// Who entered it (none for a message received over MLLP).
    pub entered_by: Option<UserRef>,
    /// When it was stored.
    pub entered_at: Timestamp,
}

/// An incoming message or file refused as a whole, kept for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    /// Id.
    pub id: i64,
    /// `mllp`, `hl7-file` or `csv`.
    pub channel: String,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Why it was refused.
    pub error: String,
    /// The message as received.
    pub content: String,
    /// Who looked at it, and when.
    pub reviewed: Option<(UserRef, Timestamp)>,
}

/// A stored milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRecord {
    /// Id.
    pub id: i64,
    /// The milestone.
    pub milestone: Milestone,
    /// Who recorded it.
    pub entered_by: UserRef,
    /// When.
    pub entered_at: Timestamp,
}

/// The largest message kept for review; anything longer is cut, with a note.
const MAX_HELD: usize = 1 << 20;

impl Store {
    /// The patient with this MRN, if registered.
    pub async fn patient_by_mrn(&self, mrn: &str) -> Result<Option<PatientRecord>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.mrn = $1"))
                .bind(mrn.trim())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(patient_from).transpose()
    }

    /// Stores counts in one transaction: all of them or, on any error, none. An HL7 message
    /// already stored (same `MSH-4|MSH-10`) is reported as [`Stored::AlreadyStored`].
    pub async fn add_blood_counts(
        &self,
        counts: &[NewBloodCount<'_>],
        source: &CountSource,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<Vec<Stored>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut out = Vec::with_capacity(counts.len());
        for new in counts {
            if let Some(reference) = source.reference() {
                let existing: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM blood_counts WHERE source_ref = $1")
                        .bind(reference)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some(id) = existing {
                    out.push(Stored::AlreadyStored(id));
                    continue;
                }
            }
            let id = next_id(&mut tx, "blood_counts").await?;
            sqlx::query(
                "INSERT INTO blood_counts (id, patient_id, taken_at, source, source_ref, entered_by, entered_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(new.patient.0)
            .bind(new.count.taken_at.to_rfc3339())
            .bind(source.code())
            .bind(source.reference())
            .bind(by.map(|u| u.0))
            .bind(at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
            for m in new.count.results() {
                let raw = new.raw.iter().find(|r| r.analyte == m.analyte);
                sqlx::query(
                    "INSERT INTO blood_count_values (count_id, analyte, value, original_value, original_unit)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(m.analyte.code())
                .bind(i64::from(m.value.thousandths()))
                .bind(raw.map_or_else(|| m.value.to_string(), |r| r.value.trim().to_owned()))
                .bind(raw.map_or(m.analyte.unit().ucum(), |r| r.unit.trim()))
                .execute(&mut *tx)
                .await?;
            }
            // The audit entry names the analytes, not the values: values are clinical data the
            // count row already holds, and the audit log is read for who-did-what.
            let analytes: Vec<&str> =
                new.count.results().iter().map(|m| m.analyte.code()).collect();
            let change = Change {
                action: "blood_count.add",
                entity: "patient",
                entity_id: new.patient.0,
                before: None,
                after: Some(json!({
                    "blood_count_id": id,
                    "taken_at": new.count.taken_at.to_rfc3339(),
                    "source": source.code(),
                    "analytes": analytes,
                })),
            };
            append(&mut tx, by.map(|u| u.0), at, change).await?;
            out.push(Stored::New(id));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A patient's blood counts, oldest first.
    pub async fn blood_counts(
        &self,
        patient: PatientId,
    ) -> Result<Vec<BloodCountRecord>, StoreError> {
        self.counts_where("b.patient_id = $1", patient.0, None).await
    }

    /// The patient's latest count taken at or before `before` (any time when `None`).
    pub async fn latest_blood_count(
        &self,
        patient: PatientId,
        before: Option<Timestamp>,
    ) -> Result<Option<BloodCountRecord>, StoreError> {
        let mut found = match before {
            Some(t) => {
                self.counts_where(
                    "b.patient_id = $1 AND b.taken_at <= $2",
                    patient.0,
                    Some(t.to_rfc3339()),
                )
                .await?
            }
            None => self.counts_where("b.patient_id = $1", patient.0, None).await?,
        };
        Ok(found.pop())
    }

    async fn counts_where(
        &self,
        condition: &str,
        id: i64,
        cutoff: Option<String>,
    ) -> Result<Vec<BloodCountRecord>, StoreError> {
        let sql = format!(
            "SELECT b.id, b.patient_id, b.taken_at, b.source, b.entered_by, b.entered_at,
                    u.display_name AS entered_by_name, v.analyte, v.value
             FROM blood_counts b
             LEFT JOIN users u ON u.id = b.entered_by
             JOIN blood_count_values v ON v.count_id = b.id
             WHERE {condition}
             ORDER BY b.taken_at, b.id, v.analyte"
        );
        let mut query = sqlx::query(&sql).bind(id);
        if let Some(cutoff) = cutoff {
            query = query.bind(cutoff);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut out: Vec<(BloodCountRecord, Vec<Measured>)> = Vec::new();
        for row in &rows {
            let id: i64 = col(row, "id")?;
            if out.last().is_none_or(|(r, _)| r.id != id) {
                out.push((count_header(row)?, Vec::new()));
            }
            let analyte: String = col(row, "analyte")?;
            let value: i64 = col(row, "value")?;
            let measured = Measured {
                analyte: Analyte::parse(&analyte).map_err(corrupt)?,
                value: Quantity::from_thousandths(
                    u32::try_from(value)
                        .map_err(|_| StoreError::Corrupt(format!("blood count value {value}")))?,
                ),
            };
            if let Some((_, values)) = out.last_mut() {
                values.push(measured);
            }
        }
        Ok(out
            .into_iter()
            .map(|(mut record, values)| {
                record.count = BloodCount::from_measured(record.count.taken_at, values);
                record
            })
            .collect())
    }

    /// Keeps a refused incoming message for review. Never fails for the message's content.
    pub async fn hold_message(
        &self,
        channel: &str,
        content: &str,
        error: &str,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut content = content.to_owned();
        if content.len() > MAX_HELD {
            let mut cut = MAX_HELD;
            while !content.is_char_boundary(cut) {
                cut -= 1;
            }
            content.truncate(cut);
            content.push_str("\n[cut: longer than 1 MiB]");
        }
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "held_messages").await?;
        sqlx::query(
            "INSERT INTO held_messages (id, channel, received_at, error, content) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(channel)
        .bind(at.to_rfc3339())
        .bind(error)
        .bind(&content)
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "intake.hold",
            entity: "held_message",
            entity_id: id,
            before: None,
            after: Some(json!({"channel": channel})),
        };
        append(&mut tx, None, at, change).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Messages held for review, newest first; with `open_only`, those nobody has reviewed.
    pub async fn held_messages(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<HeldMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.id, h.channel, h.received_at, h.error, h.content, h.reviewed_by, h.reviewed_at,
                    u.display_name AS reviewer
             FROM held_messages h LEFT JOIN users u ON u.id = h.reviewed_by
             WHERE ($1 = 0 OR h.reviewed_at IS NULL)
             ORDER BY h.id DESC LIMIT $2",
        )
        .bind(i64::from(open_only))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reviewed =
                    match (col::<Option<i64>>(r, "reviewed_by")?, opt_timestamp(r, "reviewed_at")?)
                    {
                        (Some(id), Some(at)) => Some((
                            UserRef { id: UserId(id), display_name: col(r, "reviewer")? },
                            at,
                        )),
                        _ => None,
                    };
                Ok(HeldMessage {
                    id: col(r, "id")?,
                    channel: col(r, "channel")?,
                    received_at: timestamp(r, "received_at")?,
                    error: col(r, "error")?,
                    content: col(r, "content")?,
                    reviewed,
                })
            })
            .collect()
    }

    /// Marks a held message as reviewed (it stays stored).
    pub async fn review_held_message(&self, id: i64, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE held_messages SET reviewed_by = $1, reviewed_at = $2 WHERE id = $3 AND reviewed_at IS NULL",
        )
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM held_messages WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return match exists {
                None => Err(StoreError::NotFound { what: "held message", id }),
                // Reviewed already: nothing to do, and nothing to audit.
                Some(_) => Ok(()),
            };
        }
        let change = Change {
            action: "intake.review",
            entity: "held_message",
            entity_id: id,
            before: None,
            after: None,
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a treatment or transplant milestone.
    pub async fn add_milestone(
        &self,
        patient: PatientId,
        milestone: &Milestone,
        stamp: Stamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM patients WHERE id = $1")
            .bind(patient.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "patient", id: patient.0 });
        }
        let id = next_id(&mut tx, "milestones").await?;
        sqlx::query(
            "INSERT INTO milestones (id, patient_id, on_date, kind, description, entered_by, entered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(patient.0)
        .bind(milestone.on.to_string())
        .bind(milestone.kind.code())
        .bind(milestone.description.as_deref())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "milestone.add",
            entity: "patient",
            entity_id: patient.0,
            before: None,
            after: Some(json!({
                "milestone_id": id,
                "on": milestone.on.to_string(),
                "kind": milestone.kind.code(),
                "description": milestone.description,
            })),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A patient's milestones, oldest first.
    pub async fn milestones(&self, patient: PatientId) -> Result<Vec<MilestoneRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.on_date, m.kind, m.description, m.entered_by, m.entered_at, u.display_name
             FROM milestones m JOIN users u ON u.id = m.entered_by
             WHERE m.patient_id = $1 ORDER BY m.on_date, m.id",
        )
        .bind(patient.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let on: String = col(r, "on_date")?;
                let kind: String = col(r, "kind")?;
                let description: Option<String> = col(r, "description")?;
                Ok(MilestoneRecord {
                    id: col(r, "id")?,
                    milestone: Milestone {
                        on: Date::parse("on_date", &on).map_err(corrupt)?,
                        kind: MilestoneKind::parse(&kind).map_err(corrupt)?,
                        description,
                    },
                    entered_by: UserRef {
                        id: UserId(col(r, "entered_by")?),
                        display_name: col(r, "display_name")?,
                    },
                    entered_at: timestamp(r, "entered_at")?,
                })
            })
            .collect()
    }
}

fn count_header(row: &AnyRow) -> Result<BloodCountRecord, StoreError> {
    let entered_by = match col::<Option<i64>>(row, "entered_by")? {
        Some(id) => Some(UserRef { id: UserId(id), display_name: col(row, "entered_by_name")? }),
        None => None,
    };
    Ok(BloodCountRecord {
        id: col(row, "id")?,
        patient: PatientId(col(row, "patient_id")?),
        count: BloodCount::from_measured(timestamp(row, "taken_at")?, Vec::new()),
        source: col(row, "source")?,
        entered_by,
        entered_at: timestamp(row, "entered_at")?,
    })
}
