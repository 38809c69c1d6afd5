//! Report documents and exchange formats: domain values in, bytes out.
//!
//! Owns the shapes other systems and printers read. Today: the signed report as a plain-text
//! synoptic document (the same content the page shows, byte-stable for a given input). FHIR R4,
//! HL7 v2 and PDF land here with the report issue. This crate never touches a database, the
//! network or the clock: every timestamp is passed in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod report_text;
