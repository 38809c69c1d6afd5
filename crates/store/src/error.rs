//! The one error type of the store. Variants are decisions a caller can act on.

use marrow_domain::FieldError;
use marrow_domain::case::TransitionRefused;
use marrow_domain::report::SignRefusal;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL or its target is unusable (unknown scheme, missing folder,
    /// unreachable server). The message names the problem and is safe to show.
    #[error("{0}")]
    Open(String),
    /// A record does not exist.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// The value clashes with a stored one (e.g. an MRN already registered).
    #[error(transparent)]
    Conflict(FieldError),
    /// A value given to the store is not acceptable (e.g. a blank amendment reason).
    #[error(transparent)]
    Invalid(FieldError),
    /// Someone else saved first; the caller must reload.
    #[error("the {what} was changed by someone else; reload it and try again")]
    StaleWrite {
        /// What was being saved.
        what: &'static str,
    },
    /// The interpretive flags are not the ones the signer's page showed.
    #[error(
        "the interpretive flags have changed since the page was shown (a new count or new findings); review them and sign again"
    )]
    FlagsChanged,
    /// The pathway does not allow this step now.
    #[error(transparent)]
    Refused(#[from] TransitionRefused),
    /// The report is not ready to be signed.
    #[error(transparent)]
    SignRefused(#[from] SignRefusal),
    /// A stored value does not parse: the database was changed outside Marrow.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the database itself is unavailable (for a 503 rather than a 500): unreachable,
    /// the pool's wait for a connection ran out, or PostgreSQL shutting down or dropping the
    /// connection (SQLSTATE classes 08 "connection exception" and 57 "operator intervention",
    /// e.g. 57P01 admin_shutdown).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => true,
            StoreError::Database(sqlx::Error::Protocol(_)) => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
            }
            _ => false,
        }
    }

    /// Whether the database's disk is full: SQLite's SQLITE_FULL (13) or PostgreSQL's
    /// disk_full (53100). Nothing of the failed transaction was written.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("13" | "53100"))
                    || db.message().contains("database or disk is full")
            }
            _ => false,
        }
    }
}

pub(crate) fn corrupt(e: FieldError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
