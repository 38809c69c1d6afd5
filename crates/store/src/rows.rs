//! Small helpers for reading rows and allocating ids, shared by the repositories.

use marrow_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::StoreError;
use crate::error::corrupt;

/// Reads a column, reporting a type mismatch as corrupt data.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

pub(crate) fn timestamp(row: &AnyRow, name: &str) -> Result<Timestamp, StoreError> {
    let raw: String = col(row, name)?;
    Timestamp::parse(name, &raw).map_err(corrupt)
}

pub(crate) fn opt_timestamp(row: &AnyRow, name: &str) -> Result<Option<Timestamp>, StoreError> {
    let raw: Option<String> = col(row, name)?;
    raw.map(|r| Timestamp::parse(name, &r).map_err(corrupt)).transpose()
}

pub(crate) fn flag(row: &AnyRow, name: &str) -> Result<bool, StoreError> {
    let value: i64 = col(row, name)?;
    Ok(value != 0)
}

/// Allocates the next id of a table. The counter row stays locked until the transaction ends,
/// which also takes SQLite's write lock at once (no lock upgrade later).
pub(crate) async fn next_id(conn: &mut AnyConnection, table: &str) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "UPDATE id_counters SET value = value + 1 WHERE name = $1 RETURNING value",
    )
    .bind(table)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}
