//! The clinical rules of the bone marrow aspiration (BMA) pathway.
//!
//! Owns the pathway vocabulary and the rules between steps, one module per step as a clinician
//! names it: [`patient`], [`order`], [`safety`] (its rules in [`safety_rules`]), [`procedure`],
//! [`specimen`], [`morphology`], [`report`], and the case's status machine in [`case`]. Who may
//! do what is in [`role`].
//!
//! The count itself: [`counter`] replays the keyboard counter's stored keystrokes into a tally
//! and computes its [`stats`] (exact confidence limits) against a [`reference`](mod@reference) table;
//! [`keymap`] says which key counts which cell; [`aspirate`] holds the quality fields recorded
//! beside the count.
//!
//! This crate never reads the clock, the environment, files, the network or a database:
//! callers pass those facts in (a `now: Timestamp`, a `today: Date`), so every rule is a plain
//! function a test can call. `.ci/run` fails if it ever depends on tokio, sqlx, axum, hyper or
//! reqwest.
//!
//! Clinical facts cite `shared/docs/clinical-reference.md` (the "clinical reference") by section.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod codes;
pub mod aspirate;
pub mod blood_count;
pub mod case;
pub mod counter;
pub mod discharge;
pub mod error;
pub mod flags;
pub mod followup;
pub mod ids;
pub mod keymap;
pub mod monitoring;
pub mod morphology;
pub mod order;
pub mod patient;
pub mod patient_text;
pub mod procedure;
pub mod readability;
pub mod reference;
pub mod report;
pub mod role;
pub mod safety;
pub mod safety_rules;
pub mod specimen;
pub mod stats;
mod text;
pub mod time;

pub use error::FieldError;
pub use text::{optional_text, required_text};
