//! Test support for Marrow: dev-only, never a dependency of a shipped binary's logic.
//!
//! - [`db`]: [`TestDb`], a fresh migrated database per test on SQLite (a real file in a
//!   temporary folder) or PostgreSQL (a uniquely named database, dropped afterwards).
//! - [`synthetic`]: obviously fake fixtures whose defaults pass every rule, and a fixed clock.
//!
//! - [`app`]: [`spawn_app`], the real server on a random port, with API and browser clients.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod db;
pub mod synthetic;

pub use db::TestDb;

pub mod app;

pub use app::{Api, Browser, TestApp, spawn_app};
