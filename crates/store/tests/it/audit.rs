//! The audit log is append-only by convention; the hash chain makes a change made behind
//! Marrow's back visible. These tests change the database directly, as an intruder with a
//! database client would, and expect `verify_audit_chain` to name the first broken record.

use marrow_domain::case::CaseStatus;
use marrow_store::ChainCheck;
use marrow_testkit::TestDb;
use marrow_testkit::synthetic::{self, Staff};
use sqlx::{Connection, Executor};

/// Fills a fresh database with 8 audit records: 5 users, a registration, an order and a safety
/// check. Checks the chain is intact before anyone tampers with it.
async fn eight_audit_records(db: &TestDb) {
    let store = db.store();
    let staff = Staff::insert(&store, "!synthetic").await;
    synthetic::case_at(&store, &staff, 1, CaseStatus::Checked).await;
    let check = store.verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 8, first_broken: None });
}

/// Runs one statement on the test database over a connection of its own (not the store's).
async fn tamper(db: &TestDb, sql: &str) {
    let mut raw = sqlx::AnyConnection::connect(&db.url()).await.expect("a raw connection");
    let done = raw.execute(sql).await.expect("the tampering statement");
    assert_eq!(done.rows_affected(), 1, "{sql}");
    raw.close().await.expect("close");
}

async fn an_edited_record_breaks_the_chain_at_that_record(db: TestDb) {
    eight_audit_records(&db).await;
    // Record 7 is the order: pretend it was for something else.
    tamper(&db, r#"UPDATE audit_log SET after_json = '{"status":"reported"}' WHERE id = 7"#).await;
    let check = db.store().verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 8, first_broken: Some(7) });
}

async fn a_deleted_record_breaks_the_chain_at_the_next_record(db: TestDb) {
    eight_audit_records(&db).await;
    tamper(&db, "DELETE FROM audit_log WHERE id = 4").await;
    let check = db.store().verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 7, first_broken: Some(5) });
}

async fn reordered_records_break_the_chain_where_the_order_changes(db: TestDb) {
    eight_audit_records(&db).await;
    // Swap records 3 and 5, as someone hiding the order in which things happened might.
    tamper(&db, "UPDATE audit_log SET id = 1000 WHERE id = 3").await;
    tamper(&db, "UPDATE audit_log SET id = 3 WHERE id = 5").await;
    tamper(&db, "UPDATE audit_log SET id = 5 WHERE id = 1000").await;
    let check = db.store().verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 8, first_broken: Some(3) });
}

async fn records_cut_from_the_end_are_found(db: TestDb) {
    eight_audit_records(&db).await;
    // The last record: what is left is a valid chain on its own, but the counter remembers.
    tamper(&db, "DELETE FROM audit_log WHERE id = 8").await;
    let check = db.store().verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 7, first_broken: Some(8) });
}

#[tokio::test]
async fn audit_records_reordered_in_sqlite_are_found() {
    reordered_records_break_the_chain_where_the_order_changes(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn audit_records_cut_from_the_end_in_sqlite_are_found() {
    records_cut_from_the_end_are_found(TestDb::sqlite().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_reordered_in_postgres_are_found() {
    reordered_records_break_the_chain_where_the_order_changes(TestDb::postgres_from_env().await)
        .await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_cut_from_the_end_in_postgres_are_found() {
    records_cut_from_the_end_are_found(TestDb::postgres_from_env().await).await;
}

#[tokio::test]
async fn an_audit_record_edited_in_sqlite_is_found() {
    an_edited_record_breaks_the_chain_at_that_record(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn an_audit_record_deleted_from_sqlite_is_found() {
    a_deleted_record_breaks_the_chain_at_the_next_record(TestDb::sqlite().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_record_edited_in_postgres_is_found() {
    an_edited_record_breaks_the_chain_at_that_record(TestDb::postgres_from_env().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_record_deleted_from_postgres_is_found() {
    a_deleted_record_breaks_the_chain_at_the_next_record(TestDb::postgres_from_env().await).await;
}
