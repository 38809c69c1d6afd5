//! The server's integration tests: the real server on a random port, over real HTTP, against a
//! real SQLite file (and PostgreSQL with the `postgres-tests` feature). One test binary.

// Story helpers are plain async fns, outside `#[test]`, where clippy.toml's test exemption does
// not reach; in a test, a panic on a missing value is the failure report we want.
#![allow(clippy::unwrap_used)]

mod access;
mod auth;
mod checkin;
mod counter;
mod disk_full;
mod exports;
mod faults;
mod fuzz_inputs;
mod gallery;
mod hl7;
mod lab;
mod logs;
mod report_snapshot;
mod route_matrix;
mod safety;
mod signed;
mod story;
mod timeline;
mod validation;

use marrow_testkit::{TestApp, TestDb, spawn_app};

/// A server on a fresh SQLite file.
pub async fn sqlite_app() -> TestApp {
    spawn_app(TestDb::sqlite().await).await
}

/// A server on a fresh PostgreSQL database (fails without `MARROW_TEST_POSTGRES_URL`).
#[cfg(feature = "postgres-tests")]
pub async fn postgres_app() -> TestApp {
    spawn_app(TestDb::postgres_from_env().await).await
}
