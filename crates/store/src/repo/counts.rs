//! The keyboard counter's storage: counts, their events (every keystroke and every undo), key
//! maps and the aspirate quality fields.
//!
//! Events are appended in batches ([`Store::append_events`]): the server's group-commit writer
//! gathers the events that arrive while one transaction commits and writes them in the next, so
//! many counters share one fsync and each event is on disk before it is acknowledged.

use marrow_domain::aspirate::{Aspirate, AspirateInput, IronStain};
use marrow_domain::case::{CaseStatus, Step, advance};
use marrow_domain::ids::{CaseId, UserId};
use marrow_domain::morphology::CountingRules;
use marrow_domain::time::Timestamp;
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::cases::lock_case;
use super::users::UserRef;
use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, next_id, opt_timestamp, timestamp};
use crate::{Stamp, Store, StoreError};

/// A count's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountId(pub i64);

impl std::fmt::Display for CountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One observer's count of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRecord {
    /// Id.
    pub id: CountId,
    /// The case counted.
    pub case_id: CaseId,
    /// Who counts.
    pub observer: UserRef,
    /// Cells to count (200, 300, 500 or 1000).
    pub target: u32,
    /// When counting started.
    pub started_at: Timestamp,
    /// When the observer finished (no more events after that).
    pub finished_at: Option<Timestamp>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Server order.
    pub id: i64,
    /// The client's id for it (resends carry the same id).
    pub client_event_id: String,
    /// The event code (`marrow_domain::counter`), validated before storing.
    pub event: String,
    /// When the key was pressed, by the client's clock.
    pub pressed_at: Option<Timestamp>,
    /// When the server stored it.
    pub received_at: Timestamp,
    /// The image cell this event confirmed, when it came from the gallery rather than a key.
    pub image_cell_id: Option<i64>,
}

/// An event to store; its code has been validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The client's id, unique within the count.
    pub client_event_id: String,
    /// The event code.
    pub event: String,
    /// When the key was pressed.
    pub pressed_at: Option<Timestamp>,
}

/// Why a count takes no events now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRefusal {
    /// No such count.
    NoSuchCount,
    /// The observer finished it.
    Finished,
    /// The case is no longer in the lab (e.g. its report is signed).
    CaseNotInLab(CaseStatus),
}

impl std::fmt::Display for EventRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchCount => f.write_str("this count does not exist"),
            Self::Finished => f.write_str("this count is finished; it takes no more cells"),
            Self::CaseNotInLab(status) => {
                write!(
                    f,
                    "the case is {}; counting happens only while it is in the lab",
                    status.label().to_lowercase()
                )
            }
        }
    }
}

const COUNT_COLUMNS: &str =
    "k.id, k.case_id, k.observer_id, u.display_name, k.target, k.started_at, k.finished_at";

fn count_from(row: &AnyRow) -> Result<CountRecord, StoreError> {
    let target: i64 = col(row, "target")?;
    Ok(CountRecord {
        id: CountId(col(row, "id")?),
        case_id: CaseId(col(row, "case_id")?),
        observer: UserRef {
            id: UserId(col(row, "observer_id")?),
            display_name: col(row, "display_name")?,
        },
        target: u32::try_from(target).map_err(|_| StoreError::Corrupt("count target".into()))?,
        started_at: timestamp(row, "started_at")?,
        finished_at: opt_timestamp(row, "finished_at")?,
    })
}

pub(super) async fn case_status(
    conn: &mut AnyConnection,
    case: CaseId,
) -> Result<CaseStatus, StoreError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM cases WHERE id = $1")
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await?;
    let status = status.ok_or(StoreError::NotFound { what: "case", id: case.0 })?;
    CaseStatus::parse(&status).map_err(corrupt)
}

impl Store {
    /// Starts (or returns the existing) count of `case` by this observer. Counting is a lab step:
    /// the case must be in the lab.
    pub async fn start_count(
        &self,
        case: CaseId,
        target: u32,
        stamp: Stamp,
    ) -> Result<CountRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "counts").await?;
        let status = case_status(&mut tx, case).await?;
        advance(status, Step::Differential)?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM counts WHERE case_id = $1 AND observer_id = $2")
                .bind(case.0)
                .bind(stamp.by.0)
                .fetch_optional(&mut *tx)
                .await?;
        let id = match existing {
            Some(existing) => existing,
            None => {
                sqlx::query(
                    "INSERT INTO counts (id, case_id, observer_id, target, started_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(case.0)
                .bind(stamp.by.0)
                .bind(i64::from(target))
                .bind(stamp.at.to_rfc3339())
                .execute(&mut *tx)
                .await?;
                let change = Change {
                    action: "count.start",
                    entity: "case",
                    entity_id: case.0,
                    before: None,
                    after: Some(json!({"count_id": id, "target": target})),
                };
                append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
                id
            }
        };
        tx.commit().await?;
        self.count(CountId(id)).await
    }

    /// One count.
    pub async fn count(&self, id: CountId) -> Result<CountRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COUNT_COLUMNS} FROM counts k JOIN users u ON u.id = k.observer_id WHERE k.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: "count", id: id.0 })?;
        count_from(&row)
    }

    /// Every count of a case, oldest first.
    pub async fn counts_of_case(&self, case: CaseId) -> Result<Vec<CountRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COUNT_COLUMNS} FROM counts k JOIN users u ON u.id = k.observer_id WHERE k.case_id = $1 ORDER BY k.id"
        ))
        .bind(case.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(count_from).collect()
    }

    /// A count's events in the order they were stored.
    pub async fn count_events(&self, id: CountId) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, client_event_id, event, pressed_at, received_at, image_cell_id FROM count_events WHERE count_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    id: col(r, "id")?,
                    client_event_id: col(r, "client_event_id")?,
                    event: col(r, "event")?,
                    pressed_at: opt_timestamp(r, "pressed_at")?,
                    received_at: timestamp(r, "received_at")?,
                    image_cell_id: col(r, "image_cell_id")?,
                })
            })
            .collect()
    }

    /// Stores several counts' events in one transaction (one fsync for all). A count that may
    /// not take events gets its refusal; the others are stored. An event whose client id is
    /// already stored for its count is skipped, so a resend counts once. Returns, per batch
    /// entry, `Ok(())` once its events are durable, or the refusal.
    pub async fn append_events(
        &self,
        batches: &[(CountId, Vec<NewEvent>)],
        at: Timestamp,
    ) -> Result<Vec<Result<(), EventRefusal>>, StoreError> {
        let total: usize = batches.iter().map(|(_, e)| e.len()).sum();
        let mut tx = self.write_tx().await?;
        // One block of ids for the whole batch; its UPDATE also takes the write lock first.
        let last: i64 = sqlx::query_scalar(
            "UPDATE id_counters SET value = value + $1 WHERE name = 'count_events' RETURNING value",
        )
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .fetch_one(&mut *tx)
        .await?;
        let mut next = last - i64::try_from(total).unwrap_or(0) + 1;
        let received = at.to_rfc3339();
        let mut outcomes = Vec::with_capacity(batches.len());
        for (count, events) in batches {
            let row = sqlx::query(
                "SELECT k.finished_at, c.status FROM counts k JOIN cases c ON c.id = k.case_id WHERE k.id = $1",
            )
            .bind(count.0)
            .fetch_optional(&mut *tx)
            .await?;
            let refusal = match row {
                None => Some(EventRefusal::NoSuchCount),
                Some(row) => {
                    let finished: Option<String> = col(&row, "finished_at")?;
                    let status: String = col(&row, "status")?;
                    let status = CaseStatus::parse(&status).map_err(corrupt)?;
                    if finished.is_some() {
                        Some(EventRefusal::Finished)
                    } else if status != CaseStatus::InLab {
                        Some(EventRefusal::CaseNotInLab(status))
                    } else {
                        None
                    }
                }
            };
            if let Some(refusal) = refusal {
                outcomes.push(Err(refusal));
                continue;
            }
            // Multi-row inserts: one statement per hundred events rather than one per event.
            for chunk in events.chunks(100) {
                let mut sql = String::from(
                    "INSERT INTO count_events (id, count_id, client_event_id, event, pressed_at, received_at) VALUES ",
                );
                for i in 0..chunk.len() {
                    let p = i * 6;
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6
                    ));
                }
                sql.push_str(" ON CONFLICT (count_id, client_event_id) DO NOTHING");
                let mut query = sqlx::query(&sql);
                for e in chunk {
                    query = query
                        .bind(next)
                        .bind(count.0)
                        .bind(e.client_event_id.as_str())
                        .bind(e.event.as_str())
                        .bind(e.pressed_at.map(Timestamp::to_rfc3339))
                        .bind(received.as_str());
                    next += 1;
                }
                query.execute(&mut *tx).await?;
            }
            outcomes.push(Ok(()));
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Finishes a count: no more events, and its differential becomes the case's differential
    /// (replacing any earlier one, as a re-entered differential would). One transaction: either
    /// both happen or neither.
    pub async fn finish_count(
        &self,
        id: CountId,
        differential: &marrow_domain::morphology::Differential,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let count = self.count(id).await?;
        let mut tx = self.write_tx().await?;
        // The case lock first (inside record_differential_in), so steps on the case serialise.
        let status =
            self.record_differential_in(&mut tx, count.case_id, differential, stamp).await?;
        let updated =
            sqlx::query("UPDATE counts SET finished_at = $2 WHERE id = $1 AND finished_at IS NULL")
                .bind(id.0)
                .bind(stamp.at.to_rfc3339())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::Invalid(marrow_domain::FieldError::new(
                "count",
                "this count is already finished",
            )));
        }
        let change = Change {
            action: "count.finish",
            entity: "case",
            entity_id: count.case_id.0,
            before: None,
            after: Some(json!({"count_id": id.0, "cells": differential.total()})),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Saves a user's named key map (`key=class;…`, validated by the caller).
    pub async fn save_keymap(
        &self,
        user: UserId,
        name: &str,
        bindings: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM keymaps WHERE user_id = $1 AND name = $2")
            .bind(user.0)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO keymaps (user_id, name, bindings, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.0)
        .bind(name)
        .bind(bindings)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "keymap.save",
            entity: "user",
            entity_id: user.0,
            before: None,
            after: Some(json!({"name": name, "bindings": bindings})),
        };
        append(&mut tx, Some(user.0), at, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's key maps as (name, bindings), the most recently saved first.
    pub async fn keymaps(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, bindings FROM keymaps WHERE user_id = $1 ORDER BY updated_at DESC, name",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((col(r, "name")?, col(r, "bindings")?))).collect()
    }
}

/// The stored codes of an aspirate's quality fields.
fn aspirate_codes(a: &Aspirate) -> (String, Option<String>, Option<i64>) {
    match a.iron {
        IronStain::NotPerformed => ("not-performed".to_owned(), None, None),
        IronStain::Performed { grade, ring_sideroblasts, particles_examined } => (
            grade.get().to_string(),
            ring_sideroblasts.map(|r| r.to_string()),
            particles_examined.map(i64::from),
        ),
    }
}

impl Store {
    /// Records (or replaces, while the case is in the lab) the aspirate quality fields.
    pub async fn record_aspirate(
        &self,
        case: CaseId,
        aspirate: &Aspirate,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        // Lock the case first, and apply the same status rule as the differential.
        advance(lock_case(&mut tx, case, stamp.at).await?, Step::Differential)?;
        sqlx::query("DELETE FROM aspirate_findings WHERE case_id = $1")
            .bind(case.0)
            .execute(&mut *tx)
            .await?;
        let (iron, ring, examined) = aspirate_codes(aspirate);
        sqlx::query(
            "INSERT INTO aspirate_findings (case_id, particles, trail_cellularity, particle_cellularity, haemodilution,
                 megakaryocytes, iron_stain, ring_sideroblasts, particles_examined_for_iron, comment, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(case.0)
        .bind(aspirate.particles.code())
        .bind(aspirate.trail_cellularity.code())
        .bind(aspirate.particle_cellularity.code())
        .bind(aspirate.haemodilution.code())
        .bind(aspirate.megakaryocytes.code())
        .bind(iron.as_str())
        .bind(ring.as_deref())
        .bind(examined)
        .bind(aspirate.comment.as_deref())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let after = aspirate_json(aspirate);
        let change = Change {
            action: "case.aspirate",
            entity: "case",
            entity_id: case.0,
            before: None,
            after: Some(after),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The aspirate quality fields of a case, with who recorded them.
    pub async fn aspirate(
        &self,
        case: CaseId,
    ) -> Result<Option<(Aspirate, UserRef, Timestamp)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        aspirate_in(&mut conn, case).await
    }
}

/// The aspirate findings as the JSON of their stored codes: the audit record's shape, and what
/// a signed report version freezes.
pub(crate) fn aspirate_json(a: &Aspirate) -> serde_json::Value {
    let (iron, ring, examined) = aspirate_codes(a);
    json!({
        "particles": a.particles.code(), "trail_cellularity": a.trail_cellularity.code(),
        "particle_cellularity": a.particle_cellularity.code(), "haemodilution": a.haemodilution.code(),
        "megakaryocytes": a.megakaryocytes.code(), "iron_stain": iron, "ring_sideroblasts": ring,
        "particles_examined_for_iron": examined, "comment": a.comment,
    })
}

/// Reads back [`aspirate_json`].
pub(crate) fn aspirate_from_json(v: &serde_json::Value) -> Result<Aspirate, StoreError> {
    let text = |name: &str| v.get(name).and_then(serde_json::Value::as_str).unwrap_or("");
    let examined = v
        .get("particles_examined_for_iron")
        .and_then(serde_json::Value::as_i64)
        .map(|n| n.to_string())
        .unwrap_or_default();
    Aspirate::parse(&AspirateInput {
        particles: text("particles"),
        trail_cellularity: text("trail_cellularity"),
        particle_cellularity: text("particle_cellularity"),
        haemodilution: text("haemodilution"),
        megakaryocytes: text("megakaryocytes"),
        iron_stain: text("iron_stain"),
        ring_sideroblasts: text("ring_sideroblasts"),
        particles_examined_for_iron: &examined,
        comment: text("comment"),
    })
    .map_err(corrupt)
}

/// The aspirate findings of a case on `conn` (inside a transaction when signing).
pub(crate) async fn aspirate_in(
    conn: &mut sqlx::AnyConnection,
    case: CaseId,
) -> Result<Option<(Aspirate, UserRef, Timestamp)>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT a.*, u.display_name FROM aspirate_findings a JOIN users u ON u.id = a.recorded_by WHERE a.case_id = $1",
    )
    .bind(case.0)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let text = |name: &str| -> Result<String, StoreError> { col(&row, name) };
    let ring: Option<String> = col(&row, "ring_sideroblasts")?;
    let examined: Option<i64> = col(&row, "particles_examined_for_iron")?;
    let comment: Option<String> = col(&row, "comment")?;
    let (particles, trail, particle, haemodilution, megakaryocytes, iron) = (
        text("particles")?,
        text("trail_cellularity")?,
        text("particle_cellularity")?,
        text("haemodilution")?,
        text("megakaryocytes")?,
        text("iron_stain")?,
    );
    let examined = examined.map(|e| e.to_string());
    let input = AspirateInput {
        particles: &particles,
        trail_cellularity: &trail,
        particle_cellularity: &particle,
        haemodilution: &haemodilution,
        megakaryocytes: &megakaryocytes,
        iron_stain: &iron,
        ring_sideroblasts: ring.as_deref().unwrap_or(""),
        particles_examined_for_iron: examined.as_deref().unwrap_or(""),
        comment: comment.as_deref().unwrap_or(""),
    };
    let aspirate = Aspirate::parse(&input).map_err(corrupt)?;
    let by =
        UserRef { id: UserId(col(&row, "recorded_by")?), display_name: col(&row, "display_name")? };
    Ok(Some((aspirate, by, timestamp(&row, "recorded_at")?)))
}

/// The setting naming the classes a site leaves out of the denominator (comma-separated codes).
pub const EXCLUDED_CLASSES: &str = "excluded_classes";

impl Store {
    /// The site's counting rules (its extra exclusions); the default when never set.
    pub async fn counting_rules(&self) -> Result<CountingRules, StoreError> {
        rules_from(self.site_setting(EXCLUDED_CLASSES).await?.as_deref())
    }

    /// Sets the classes the site leaves out of the denominator. Administrators only (the caller
    /// checks the role).
    pub async fn set_counting_rules(
        &self,
        rules: &CountingRules,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        self.set_site_setting(EXCLUDED_CLASSES, &rules.codes().join(","), stamp).await
    }
}

/// Rules from the stored comma-separated codes (absent or blank: the ICSH exclusions only).
pub(crate) fn rules_from(value: Option<&str>) -> Result<CountingRules, StoreError> {
    let codes: Vec<&str> =
        value.unwrap_or("").split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    CountingRules::parse(codes).map_err(corrupt)
}

impl Store {
    /// A site setting's stored text, if set.
    pub async fn site_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM site_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Sets a site setting (validated by the caller), audited with its old and new value.
    pub async fn set_site_setting(
        &self,
        name: &str,
        value: &str,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT value FROM site_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM site_settings WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO site_settings (name, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(value)
            .bind(stamp.by.0)
            .bind(stamp.at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
        let change = Change {
            action: "settings.change",
            entity: "site",
            entity_id: 0,
            before: Some(json!({ name: before })),
            after: Some(json!({ name: value })),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
