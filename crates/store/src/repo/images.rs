//! Image-assisted counting's storage: the images uploaded to a count, the cells found in them
//! with the classifier's proposal, and each technologist's decision.
//!
//! A decision that a cell is of a counter class is an ordinary counter event of the same count
//! (`tally:<class>`), stored in the same transaction and linked to the cell, so the keyboard
//! counter, the statistics and the report see one differential. Backspace (on the counter or in
//! the gallery) takes back the last cell counted whatever its source; a cell whose event was
//! taken back is no longer counted and is shown for review again, its earlier decision kept.

use std::collections::{HashMap, HashSet};

use marrow_domain::counter::{CounterEvent, ImageDecision, surviving};
use marrow_domain::ids::CaseId;
use marrow_domain::time::Timestamp;
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use marrow_domain::case::CaseStatus;

use super::counts::{CountId, EventRefusal, case_status};
use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, next_id, opt_timestamp};
use crate::{Stamp, Store, StoreError};

/// An image uploaded to a count, with the cells found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// The browser's name for the file (shown to staff only, never logged).
    pub file_name: String,
    /// `field` or `cell`.
    pub kind: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The classifier that proposed the classes (architecture and version).
    pub model: String,
    /// The cells found.
    pub cells: Vec<NewImageCell>,
}

/// One cell found in an uploaded image.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImageCell {
    /// Its box: left, top, width, height in pixels.
    pub bbox: [u32; 4],
    /// The crop the model saw, PNG-encoded.
    pub crop_png: Vec<u8>,
    /// The model's most probable class (e.g. `BLA`).
    pub proposed_top: String,
    /// The whole proposal as JSON (see the migration).
    pub proposal: serde_json::Value,
}

/// A cell as stored, with whether it is counted now.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCellRecord {
    /// Id.
    pub id: i64,
    /// The count it belongs to.
    pub count_id: CountId,
    /// The image it came from.
    pub image_id: i64,
    /// That image's file name.
    pub file_name: String,
    /// Left, top, width, height in pixels.
    pub bbox: [u32; 4],
    /// The model's most probable class code.
    pub proposed_top: String,
    /// The proposal as JSON.
    pub proposal: serde_json::Value,
    /// The latest decision, if any.
    pub decision: Option<ImageDecision>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Whether the cell is in the count now (decided as a class and not taken back).
    pub counted: bool,
}

impl ImageCellRecord {
    /// Whether a human decision stands for this cell: "not a cell", or a class still counted.
    pub fn decided(&self) -> bool {
        match self.decision {
            Some(ImageDecision::NotACell) => true,
            Some(ImageDecision::Class(_)) => self.counted,
            None => false,
        }
    }
}

const CELL_COLUMNS: &str = "ic.id, ic.count_id, ic.image_id, ci.file_name, ic.x, ic.y, ic.width, ic.height, \
     ic.proposed_top, ic.proposal, ic.decision, u.display_name AS decided_by_name, ic.decided_at, ic.decision_event";

const CELL_FROM: &str = "image_cells ic JOIN count_images ci ON ci.id = ic.image_id \
     LEFT JOIN users u ON u.id = ic.decided_by";

fn dimension(row: &AnyRow, name: &str) -> Result<u32, StoreError> {
    let value: i64 = col(row, name)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("image cell {name}")))
}

fn cell_from(row: &AnyRow, live: &HashSet<String>) -> Result<ImageCellRecord, StoreError> {
    let decision: Option<String> = col(row, "decision")?;
    let decision = decision.map(|d| ImageDecision::parse(&d).map_err(corrupt)).transpose()?;
    let event: Option<String> = col(row, "decision_event")?;
    let proposal: String = col(row, "proposal")?;
    Ok(ImageCellRecord {
        id: col(row, "id")?,
        count_id: CountId(col(row, "count_id")?),
        image_id: col(row, "image_id")?,
        file_name: col(row, "file_name")?,
        bbox: [
            dimension(row, "x")?,
            dimension(row, "y")?,
            dimension(row, "width")?,
            dimension(row, "height")?,
        ],
        proposed_top: col(row, "proposed_top")?,
        proposal: serde_json::from_str(&proposal)
            .map_err(|e| StoreError::Corrupt(format!("image cell proposal: {e}")))?,
        decision,
        decided_by: col(row, "decided_by_name")?,
        decided_at: opt_timestamp(row, "decided_at")?,
        counted: event.is_some_and(|e| live.contains(&e)),
    })
}

/// The client ids of the count's events that are cells still counted.
async fn live_events(
    conn: &mut AnyConnection,
    count: CountId,
) -> Result<HashSet<String>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT client_event_id, event FROM count_events WHERE count_id = $1 ORDER BY id",
    )
    .bind(count.0)
    .fetch_all(&mut *conn)
    .await?;
    let events: Vec<CounterEvent> = rows
        .iter()
        .map(|(_, e)| CounterEvent::parse(e).map_err(corrupt))
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .zip(surviving(&events))
        .filter_map(|((id, _), alive)| alive.then_some(id))
        .collect())
}

/// Locks the count for this transaction and refuses when it takes no more cells. Returns the
/// count's case.
async fn lock_open_count(conn: &mut AnyConnection, count: CountId) -> Result<CaseId, StoreError> {
    // A no-op update takes the row lock (PostgreSQL) or the write lock (SQLite) first.
    let row = sqlx::query(
        "UPDATE counts SET target = target WHERE id = $1 RETURNING case_id, finished_at",
    )
    .bind(count.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound { what: "count", id: count.0 })?;
    let case = CaseId(col(&row, "case_id")?);
    let finished: Option<String> = col(&row, "finished_at")?;
    let refusal = if finished.is_some() {
        Some(EventRefusal::Finished)
    } else {
        match case_status(conn, case).await? {
            CaseStatus::InLab => None,
            status => Some(EventRefusal::CaseNotInLab(status)),
        }
    };
    if let Some(refusal) = refusal {
        return Err(StoreError::Conflict(marrow_domain::FieldError::new(
            "count",
            refusal.to_string(),
        )));
    }
    Ok(case)
}

impl Store {
    /// Stores an uploaded image's cells for an open count, in one transaction. Returns the
    /// image's id and its cells' ids in the order given.
    pub async fn add_count_image(
        &self,
        count: CountId,
        image: &NewImage,
        stamp: Stamp,
    ) -> Result<(i64, Vec<i64>), StoreError> {
        use base64::Engine as _;
        let mut tx = self.write_tx().await?;
        let case = lock_open_count(&mut tx, count).await?;
        let image_id = next_id(&mut tx, "count_images").await?;
        sqlx::query(
            "INSERT INTO count_images (id, count_id, file_name, kind, width, height, model, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(image_id)
        .bind(count.0)
        .bind(image.file_name.as_str())
        .bind(image.kind.as_str())
        .bind(i64::from(image.width))
        .bind(i64::from(image.height))
        .bind(image.model.as_str())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(image.cells.len());
        for cell in &image.cells {
            let id = next_id(&mut tx, "image_cells").await?;
            let [x, y, w, h] = cell.bbox.map(i64::from);
            sqlx::query(
                "INSERT INTO image_cells (id, count_id, image_id, x, y, width, height, crop, proposed_top, proposal) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(count.0)
            .bind(image_id)
            .bind(x)
            .bind(y)
            .bind(w)
            .bind(h)
            .bind(base64::engine::general_purpose::STANDARD.encode(&cell.crop_png))
            .bind(cell.proposed_top.as_str())
            .bind(cell.proposal.to_string())
            .execute(&mut *tx)
            .await?;
            ids.push(id);
        }
        // The audit names the image by id and kind only: a file name may carry identifiers.
        let change = Change {
            action: "count.image",
            entity: "case",
            entity_id: case.0,
            before: None,
            after: Some(
                json!({"count_id": count.0, "image_id": image_id, "kind": image.kind, "cells": ids.len(), "model": image.model}),
            ),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok((image_id, ids))
    }

    /// A count's image cells, in upload order, each with whether it is counted now.
    pub async fn image_cells(&self, count: CountId) -> Result<Vec<ImageCellRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let live = live_events(&mut conn, count).await?;
        let rows = sqlx::query(&format!(
            "SELECT {CELL_COLUMNS} FROM {CELL_FROM} WHERE ic.count_id = $1 ORDER BY ic.id"
        ))
        .bind(count.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|r| cell_from(r, &live)).collect()
    }

    /// One cell's crop (PNG bytes) and the case it belongs to, for the access check.
    pub async fn image_cell_crop(&self, cell: i64) -> Result<(CaseId, Vec<u8>), StoreError> {
        use base64::Engine as _;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT k.case_id, ic.crop FROM image_cells ic JOIN counts k ON k.id = ic.count_id WHERE ic.id = $1",
        )
        .bind(cell)
        .fetch_optional(&self.pool)
        .await?;
        let (case, crop) = row.ok_or(StoreError::NotFound { what: "image cell", id: cell })?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(crop)
            .map_err(|e| StoreError::Corrupt(format!("image cell crop: {e}")))?;
        Ok((CaseId(case), png))
    }

    /// Records the technologist's decision on a cell of an open count. A class becomes a
    /// counter event of the count in the same transaction; "not a cell" leaves the count as it
    /// is. A cell already counted is refused: take it back first (Backspace).
    pub async fn decide_image_cell(
        &self,
        count: CountId,
        cell: i64,
        decision: ImageDecision,
        stamp: Stamp,
    ) -> Result<ImageCellRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        lock_open_count(&mut tx, count).await?;
        let owner: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT count_id, decision_event FROM image_cells WHERE id = $1")
                .bind(cell)
                .fetch_optional(&mut *tx)
                .await?;
        let previous_event = match owner {
            Some((owner, event)) if owner == count.0 => event,
            _ => return Err(StoreError::NotFound { what: "image cell", id: cell }),
        };
        if let Some(previous) = previous_event
            && live_events(&mut tx, count).await?.contains(&previous)
        {
            return Err(StoreError::Conflict(marrow_domain::FieldError::new(
                "decision",
                "this cell is already counted; take it back with Backspace before changing it",
            )));
        }
        let event_id = match decision.event() {
            Some(event) => {
                let id = next_id(&mut tx, "count_events").await?;
                let client_id = format!("image:{cell}:{id}");
                sqlx::query(
                    "INSERT INTO count_events (id, count_id, client_event_id, event, pressed_at, received_at, image_cell_id) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6)",
                )
                .bind(id)
                .bind(count.0)
                .bind(client_id.as_str())
                .bind(event.code())
                .bind(stamp.at.to_rfc3339())
                .bind(cell)
                .execute(&mut *tx)
                .await?;
                Some(client_id)
            }
            None => None,
        };
        sqlx::query(
            "UPDATE image_cells SET decision = $2, decided_by = $3, decided_at = $4, decision_event = $5 WHERE id = $1",
        )
        .bind(cell)
        .bind(decision.code())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .bind(event_id.as_deref())
        .execute(&mut *tx)
        .await?;
        // The tally just appended is the count's last event, so it is counted: no need to
        // replay the count again to know it.
        let live: HashSet<String> = event_id.into_iter().collect();
        let row = sqlx::query(&format!("SELECT {CELL_COLUMNS} FROM {CELL_FROM} WHERE ic.id = $1"))
            .bind(cell)
            .fetch_one(&mut *tx)
            .await?;
        let record = cell_from(&row, &live)?;
        tx.commit().await?;
        Ok(record)
    }

    /// Every cell of the case's counts that a technologist confirmed and that is counted now,
    /// in upload order (for the report's view of image-confirmed cells).
    pub async fn confirmed_cells_of_case(
        &self,
        case: CaseId,
    ) -> Result<Vec<ImageCellRecord>, StoreError> {
        let mut out = Vec::new();
        for count in self.counts_of_case(case).await? {
            out.extend(self.image_cells(count.id).await?.into_iter().filter(|c| c.counted));
        }
        Ok(out)
    }

    /// Every cell in the lab whose human decision stands ("not a cell", or a class still
    /// counted), with its crop when `with_crops`: the agreement page and the export for
    /// retraining. Read one count at a time, so memory stays bounded by the largest count.
    pub async fn decided_cells(
        &self,
        mut each: impl FnMut(&ImageCellRecord, Option<Vec<u8>>) -> Result<(), StoreError>,
        with_crops: bool,
    ) -> Result<usize, StoreError> {
        use base64::Engine as _;
        let counts: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT count_id FROM image_cells WHERE decision IS NOT NULL ORDER BY count_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut seen = 0;
        for count in counts {
            let cells = self.image_cells(CountId(count)).await?;
            let crops: HashMap<i64, String> = if with_crops {
                sqlx::query_as::<_, (i64, String)>(
                    "SELECT id, crop FROM image_cells WHERE count_id = $1 AND decision IS NOT NULL",
                )
                .bind(count)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect()
            } else {
                HashMap::new()
            };
            for cell in cells.iter().filter(|c| c.decided()) {
                let crop = match crops.get(&cell.id) {
                    Some(b64) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|e| StoreError::Corrupt(format!("image cell crop: {e}")))?,
                    ),
                    None => None,
                };
                each(cell, crop)?;
                seen += 1;
            }
        }
        Ok(seen)
    }
}
