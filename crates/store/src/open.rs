//! Choosing and opening the database from its URL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::{Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A parsed database URL: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file at this path (relative paths are from the working directory).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // The PostgreSQL URL may carry a password, so Debug shows only where it points.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.describe())
    }
}

impl DatabaseUrl {
    /// Parses a URL; an unknown scheme is an error that says which ones are known.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let raw = raw.trim();
        if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Open(
                    "the SQLite URL has no file path; use sqlite://marrow.db".into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let scheme = raw.split_once("://").map_or(raw, |(s, _)| s);
        Err(StoreError::Open(format!(
            "unknown database scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE"
        )))
    }

    /// Where the URL points, without any password: safe for logs and messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
            Self::Postgres(url) => {
                let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let host_and_db = after_scheme.rsplit_once('@').map_or(after_scheme, |(_, h)| h);
                let host_and_db = host_and_db.split('?').next().unwrap_or(host_and_db);
                format!("PostgreSQL at {host_and_db}")
            }
        }
    }

    /// The engine this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Whether opening may create a missing SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `serve` and `migrate`: a first start creates the database.
    CreateIfMissing,
    /// Every other command: a missing file is an error.
    MustExist,
}

/// What opening did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The SQLite file did not exist and was created.
    pub created: bool,
    /// Migrations that were applied now.
    pub migrations_applied: usize,
}

impl Store {
    /// Opens the database, creating a missing SQLite file, and applies pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<(Store, Opened), StoreError> {
        Self::open_with(url, OpenMode::CreateIfMissing).await
    }

    /// Opens the database; with [`OpenMode::MustExist`] a missing SQLite file is an error, so a
    /// typo in a URL cannot quietly start an empty database.
    pub async fn open_with(
        url: &DatabaseUrl,
        mode: OpenMode,
    ) -> Result<(Store, Opened), StoreError> {
        sqlx::any::install_default_drivers();
        let (pool, created) = match url {
            DatabaseUrl::Sqlite(path) => open_sqlite(path, mode).await?,
            DatabaseUrl::Postgres(raw) => (open_postgres(url, raw).await?, false),
        };
        let store = Store { pool, backend: url.backend() };
        let migrations_applied = store.migrate().await?;
        Ok((store, Opened { created, migrations_applied }))
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        // Before the first migration there is no table to count from: that is zero.
        let applied_before: i64 = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap_or_default();
        MIGRATOR.run(&self.pool).await?;
        let total = MIGRATOR.iter().count();
        Ok(total.saturating_sub(usize::try_from(applied_before).unwrap_or(0)))
    }
}

async fn open_sqlite(path: &Path, mode: OpenMode) -> Result<(sqlx::AnyPool, bool), StoreError> {
    let shown = path.display().to_string();
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| StoreError::Open(format!("cannot read the working directory: {e}")))?
            .join(path)
    };
    let folder = absolute.parent().unwrap_or(Path::new("/"));
    if folder.exists() && !folder.is_dir() {
        return Err(StoreError::Open(format!(
            "cannot open SQLite file {shown}: {} is a file, not a folder",
            folder.display()
        )));
    }
    if !folder.is_dir() {
        return Err(StoreError::Open(format!(
            "cannot open SQLite file {shown}: the folder {} does not exist",
            folder.display()
        )));
    }
    if absolute.is_dir() {
        return Err(StoreError::Open(format!("cannot open SQLite file {shown}: it is a folder")));
    }
    let created = !absolute.exists();
    if created && mode == OpenMode::MustExist {
        return Err(StoreError::Open(format!(
            "there is no SQLite database at {shown}; check --database, or create it with `marrow migrate`"
        )));
    }
    let options = SqliteConnectOptions::new().filename(&absolute).create_if_missing(true);
    let any = AnyConnectOptions::from_url(&options.to_url_lossy())
        .map_err(|e| StoreError::Open(format!("cannot open SQLite file {shown}: {e}")))?;
    let pool = AnyPoolOptions::new()
        // Eight: more connections (each a driver thread) lost to thread switching on two cores,
        // fewer left requests queueing (BENCHMARKS.md).
        .max_connections(8)
        // A file does not drop its connection; pinging it on every acquire was a round trip
        // to the driver's thread per request.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // Every connection: enforce foreign keys, wait for the writer rather than fail,
                // and fsync every commit (FULL) so an acknowledged change survives power loss.
                // Reads go through a memory map and a larger page cache: without them each
                // page read is a pread() system call, which dominated the case-page benchmark.
                conn.execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;
                     PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(any)
        .await
        .map_err(|e| {
            StoreError::Open(format!("cannot open SQLite file {shown}: {}", sqlite_reason(&e)))
        })?;
    // WAL lets readers go on while one writer commits; the setting persists in the file.
    sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map_err(|e| {
        StoreError::Open(format!("cannot write SQLite file {shown}: {}", sqlite_reason(&e)))
    })?;
    Ok((pool, created))
}

fn sqlite_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("14") => "unable to open the file (check the folder is writable)".into(),
            Some("8") => "the file is read-only".into(),
            Some("26") => "the file is not a SQLite database".into(),
            _ => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}

async fn open_postgres(url: &DatabaseUrl, raw: &str) -> Result<sqlx::AnyPool, StoreError> {
    let options: AnyConnectOptions = raw
        .parse()
        .map_err(|_| StoreError::Open(format!("{} is not a valid URL", url.describe())))?;
    let fail = |reason: String| {
        StoreError::Open(format!("cannot connect to {}: {reason}", url.describe()))
    };
    // One direct connection first: the pool would retry until its timeout and report only
    // "timed out", hiding "connection refused" or "password authentication failed".
    let probe =
        tokio::time::timeout(Duration::from_secs(10), sqlx::AnyConnection::connect_with(&options))
            .await
            .map_err(|_| fail("no answer within 10 seconds".into()))?;
    let probe = probe.map_err(|e| fail(pg_reason(&e)))?;
    drop(probe);
    AnyPoolOptions::new()
        .max_connections(16)
        // Fail fast while the server is away: a request waits at most this long for a
        // connection and then gets a 503; the pool reconnects by itself once the server is back.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
        .map_err(|e| fail(pg_reason(&e)))
}

fn pg_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::PoolTimedOut => "timed out".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_hide_passwords() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://marrow.db").unwrap(),
            DatabaseUrl::Sqlite("marrow.db".into())
        );
        let pg = DatabaseUrl::parse("postgres://marrow:secret@db.local:5432/marrow").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(!format!("{pg:?}").contains("secret"));
        assert_eq!(pg.describe(), "PostgreSQL at db.local:5432/marrow");
    }

    #[test]
    fn an_unknown_scheme_names_itself() {
        let err = DatabaseUrl::parse("mysql://localhost/marrow").unwrap_err();
        assert!(err.to_string().contains("unknown database scheme \"mysql\""), "{err}");
    }
}
