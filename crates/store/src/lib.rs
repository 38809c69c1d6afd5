//! Marrow's storage: one API over SQLite (the default, embedded) and PostgreSQL (for several
//! app nodes on one database), with one migration set for both.
//!
//! Owns the schema (`migrations/`), the SQL, transactions, optimistic concurrency and the
//! append-only, hash-chained audit log. It stores what `marrow-domain` decided: every status
//! move calls [`marrow_domain::case::advance`] inside the transaction that writes it. It knows
//! nothing of HTTP, templates or output formats.
//!
//! Every query is written once in a portable SQL subset and run through sqlx's runtime-selected
//! `Any` driver; the backend is chosen by the URL ([`DatabaseUrl`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod error;
mod open;
mod repo;
mod rows;

pub use audit::{AuditEntry, ChainCheck};
pub use error::StoreError;
pub use open::{Backend, DatabaseUrl, OpenMode, Opened};
pub use repo::blood::{
    BloodCountRecord, CountSource, HeldMessage, MilestoneRecord, NewBloodCount, Stored,
};
pub use repo::cases::{
    CaseRecord, CaseSummary, DraftRecord, Recorded, ReportVersion, SafetyExtras, SpecimenRecord,
};
pub use repo::checkin::{AlertRecord, CheckInRecord, PendingSpecimen};
pub use repo::counts::{CountId, CountRecord, EventRefusal, NewEvent, StoredEvent};
pub use repo::images::{ImageCellRecord, NewImage, NewImageCell};
pub use repo::outbox::OutboxItem;
pub use repo::patients::PatientRecord;
pub use repo::users::{UserRecord, UserRef};

use marrow_domain::ids::UserId;
use marrow_domain::time::Timestamp;

/// Who did something, and when. Every change carries one, and it lands in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The user who acted.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// A handle on the database. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Store {
    pool: sqlx::AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Store {
    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), waiting up to the busy timeout for another writer: a plain (deferred)
    /// transaction reads first and asks for the lock only at its first write, and SQLite then
    /// answers "database is locked" at once, without waiting, whenever another connection holds
    /// the lock (a reader cannot wait for a writer without risking deadlock). PostgreSQL
    /// locks rows, not the database, so it begins as usual.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes a consistent copy of a SQLite database to `to` while it stays in use: `VACUUM
    /// INTO` reads one snapshot inside a read transaction, so writers carry on and the copy
    /// holds every committed transaction up to that moment and nothing half-written. The file
    /// must not exist. PostgreSQL is backed up with `pg_dump` instead (see `marrow backup`).
    pub async fn backup_sqlite(&self, to: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Open("a PostgreSQL database is backed up with pg_dump".into()));
        }
        if to.exists() {
            return Err(StoreError::Open(format!(
                "{} exists already; a backup never overwrites a file",
                to.display()
            )));
        }
        let path = to
            .to_str()
            .ok_or_else(|| StoreError::Open(format!("{} is not a UTF-8 path", to.display())))?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }
}
