//! Opening a database: the URL picks the backend, a problem is named in words, and migrations
//! run once (style habit 6).

use marrow_store::{Backend, DatabaseUrl, Store, StoreError};
use marrow_testkit::TestDb;

/// The message of an `Open` error, or a panic that says what came instead.
#[track_caller]
fn open_error<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Open(message)) => message,
        other => panic!("expected StoreError::Open, got {other:?}"),
    }
}

#[test]
fn an_unknown_scheme_is_refused_and_the_known_ones_are_named() {
    let message = open_error(DatabaseUrl::parse("mysql://marrow@127.0.0.1/marrow"));
    assert!(message.contains("\"mysql\""), "names the scheme: {message}");
    assert!(message.contains("sqlite://") && message.contains("postgres://"), "{message}");
}

#[tokio::test]
async fn a_sqlite_file_in_a_missing_folder_is_refused_and_the_folder_named() {
    let url = DatabaseUrl::parse("sqlite:///nonexistent-dir/x.db").expect("a SQLite URL");
    let message = open_error(Store::open(&url).await);
    assert!(
        message.contains("/nonexistent-dir") && message.contains("does not exist"),
        "{message}"
    );
    assert!(!std::path::Path::new("/nonexistent-dir").exists(), "nothing was created");
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_refused_and_named_without_its_password() {
    let url = DatabaseUrl::parse("postgres://marrow:s3cret@127.0.0.1:1/x").expect("a URL");
    assert_eq!(url.backend(), Backend::Postgres);
    let message = open_error(Store::open(&url).await);
    assert!(message.contains("cannot connect to PostgreSQL at 127.0.0.1:1/x"), "{message}");
    assert!(!message.contains("s3cret"), "the password never appears: {message}");
}

/// How many migrations the crate ships: every one is applied to a new database.
fn migration_files() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("the migrations folder")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
        .count()
}

#[tokio::test]
async fn opening_a_sqlite_file_twice_creates_and_migrates_it_once() {
    let db = TestDb::sqlite().await;
    assert!(db.created(), "the first open creates the file");
    assert_eq!(db.migrations_applied(), migration_files());
    let url = DatabaseUrl::parse(&db.url()).expect("the test URL");
    assert_eq!(url.backend(), Backend::Sqlite);
    let (again, opened) = Store::open(&url).await.expect("open again");
    assert!(!opened.created, "the second open finds the file");
    assert_eq!(opened.migrations_applied, 0);
    assert_eq!(again.backend(), Backend::Sqlite);
    again.ping().await.expect("ping");
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_postgres_database_twice_migrates_it_once() {
    let db = TestDb::postgres_from_env().await;
    assert!(!db.created(), "Marrow never creates a PostgreSQL database");
    assert_eq!(db.migrations_applied(), migration_files());
    let url = DatabaseUrl::parse(&db.url()).expect("the test URL");
    let (again, opened) = Store::open(&url).await.expect("open again");
    assert_eq!((opened.created, opened.migrations_applied), (false, 0));
    assert_eq!(again.backend(), Backend::Postgres);
    again.ping().await.expect("ping");
    again.close().await;
}
