//! marrow-store's integration tests, one binary (style habit 7): the pathway story on both
//! backends (habit 8), the audit chain under tampering, and opening databases.
//!
//! PostgreSQL variants are compiled with `--features postgres-tests` and then need
//! `MARROW_TEST_POSTGRES_URL`; without it they fail, never skip. `.ci/run` provides both.

mod audit;
mod blood;
mod open;
mod patients;
mod story;
