//! [`TestDb`]: a fresh, migrated database per test, on SQLite or PostgreSQL, removed afterwards.
//!
//! SQLite is a real file in a temporary folder (the folder goes when the `TestDb` does).
//! PostgreSQL is a uniquely named database created on the server named by
//! `MARROW_TEST_POSTGRES_URL` and dropped when the `TestDb` is dropped, as atuin's `TestDb` and
//! crates.io's per-test schemas do (style habit 8).

use std::path::Path;

use marrow_store::{DatabaseUrl, Store};
use sqlx::{Connection, Executor};

/// The environment variable naming a PostgreSQL server for the tests: an administrative URL
/// whose user may create databases, e.g. `postgres://marrow:marrow@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL_VAR: &str = "MARROW_TEST_POSTGRES_URL";

/// A fresh database with Marrow's schema, owned by one test.
///
/// ```no_run
/// # async fn example() {
/// use marrow_testkit::TestDb;
///
/// let db = TestDb::sqlite().await;
/// let store = db.store();
/// assert_eq!(store.patient_count().await.expect("count"), 0);
/// # }
/// ```
pub struct TestDb {
    store: Store,
    url: String,
    created: bool,
    migrations_applied: usize,
    /// Set for PostgreSQL: what to drop when the test ends.
    postgres: Option<PostgresDatabase>,
    /// Set for SQLite. Declared last, so dropped last: the file outlives the store.
    _dir: Option<tempfile::TempDir>,
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl std::fmt::Debug for TestDb {
    // The URL may carry a password; show only the backend and the database name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.store.backend())
            .field("database", &self.postgres.as_ref().map(|p| p.name.as_str()))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A new SQLite file, `marrow.db`, in a temporary folder that lives as long as this value.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary folder for the test database");
        let path = dir.path().join("marrow.db");
        let url = format!("sqlite://{}", path.display());
        let parsed = DatabaseUrl::parse(&url).expect("parse the SQLite test URL");
        let (store, opened) = Store::open(&parsed).await.expect("open the SQLite test database");
        Self {
            store,
            url,
            created: opened.created,
            migrations_applied: opened.migrations_applied,
            postgres: None,
            _dir: Some(dir),
        }
    }

    /// A new, uniquely named database (`marrow_test_<hex>`) on the PostgreSQL server named by
    /// `MARROW_TEST_POSTGRES_URL`, dropped again when this value is dropped.
    ///
    /// # Panics
    ///
    /// When the variable is unset or the server cannot be used: a PostgreSQL test that was
    /// compiled in must fail, never skip quietly.
    pub async fn postgres_from_env() -> Self {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VAR} is not set. The PostgreSQL tests (feature `postgres-tests`) \
                 need an administrative URL of a server whose user may create databases, e.g. \
                 {POSTGRES_URL_VAR}=postgres://marrow:marrow@127.0.0.1:5432/postgres \
                 (.ci/run starts one and sets it)"
            )
        });
        let name = format!("marrow_test_{}", random_hex(8));
        let shown = DatabaseUrl::parse(&admin_url).map(|u| u.describe()).unwrap_or_default();
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to {shown} (from {POSTGRES_URL_VAR}) to create a test database: {e}"
            )
        });
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name} on {shown}: {e}"));
        // Closing is a courtesy to the server; a failure here does not matter.
        let _ = admin.close().await;

        // From here on the database exists, so build the guard first: if opening panics, the
        // guard's Drop still removes the database.
        let url = with_database(&admin_url, &name);
        let postgres = PostgresDatabase { admin_url, name };
        let parsed = DatabaseUrl::parse(&url).expect("parse the PostgreSQL test URL");
        let guard = DropGuard(Some(postgres));
        let (store, opened) = Store::open(&parsed)
            .await
            .unwrap_or_else(|e| panic!("cannot open test database {}: {e}", parsed.describe()));
        Self {
            store,
            url,
            created: opened.created,
            migrations_applied: opened.migrations_applied,
            postgres: guard.defuse(),
            _dir: None,
        }
    }

    /// A handle on the database (clones share one connection pool).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The database URL, for opening the same database again (e.g. a server under test).
    /// For PostgreSQL it contains the password from `MARROW_TEST_POSTGRES_URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The SQLite file, or `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.url.strip_prefix("sqlite://").map(Path::new)
    }

    /// Whether opening created the database file (always `false` on PostgreSQL, where the
    /// database is created before Marrow opens it).
    pub fn created(&self) -> bool {
        self.created
    }

    /// How many migrations opening applied.
    pub fn migrations_applied(&self) -> usize {
        self.migrations_applied
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(database) = self.postgres.take() {
            drop_database(database);
        }
    }
}

/// Drops the database if `TestDb::postgres_from_env` panics after creating it.
struct DropGuard(Option<PostgresDatabase>);

impl DropGuard {
    fn defuse(mut self) -> Option<PostgresDatabase> {
        self.0.take()
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(database) = self.0.take() {
            drop_database(database);
        }
    }
}

/// Drops a test database. `Drop` cannot await, and may run inside (or outside) a runtime, so
/// this runs on its own thread with its own single-threaded runtime. `WITH (FORCE)` ends the
/// test's pooled connections (PostgreSQL 13 and later). Failures are printed, not raised: a
/// leftover `marrow_test_*` database is untidy, not wrong.
fn drop_database(database: PostgresDatabase) {
    let name = database.name.clone();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&database.admin_url)
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", database.name);
            admin.execute(sql.as_str()).await.map_err(|e| e.to_string())?;
            let _ = admin.close().await;
            Ok::<(), String>(())
        })
    })
    .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("marrow-testkit: could not drop test database {name}: {e}"),
        Err(_) => eprintln!("marrow-testkit: dropping test database {name} panicked"),
    }
}

/// `n` random bytes as lower-case hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex::encode(bytes)
}

/// The same server URL, pointing at database `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://marrow:marrow@127.0.0.1:5432/postgres", "marrow_test_ab"),
            "postgres://marrow:marrow@127.0.0.1:5432/marrow_test_ab"
        );
        assert_eq!(
            with_database("postgres://u@db.local?sslmode=disable", "t"),
            "postgres://u@db.local/t?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h/x/", "t"), "postgresql://u@h/t");
    }

    #[test]
    fn random_names_differ() {
        assert_eq!(random_hex(8).len(), 16);
        assert_ne!(random_hex(8), random_hex(8));
    }

    #[tokio::test]
    async fn a_sqlite_test_database_is_a_fresh_file_removed_afterwards() {
        let db = TestDb::sqlite().await;
        let path = db.sqlite_path().expect("a SQLite path").to_path_buf();
        assert!(path.is_file());
        assert!(db.created() && db.migrations_applied() > 0);
        assert_eq!(db.store().patient_count().await.expect("count"), 0);
        drop(db);
        assert!(!path.exists(), "the temporary folder goes with the TestDb");
    }
}
