//! Report documents and exchange formats: domain values in, bytes out.
//!
//! Owns the shapes other systems and printers read. Today: the signed report as a plain-text
//! synoptic document (the same content the page shows, byte-stable for a given input), specimen
//! labels as a PDF with Code 128 barcodes, and the small PDF writer they use. FHIR R4 and HL7 v2
//! land here with the report issue. Inbound, it reads the blood counts laboratories send, as
//! HL7 v2 ORU^R01 ([`hl7::blood_count_from_oru`]) or CSV ([`csv_counts::parse_csv`]), each
//! taken whole or refused with the place to fix. This crate never touches a database, the
//! network or the clock: every timestamp is passed in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chart;
pub mod code128;
mod count_fields;
pub mod csv_counts;
pub mod discharge;
pub mod fhir;
pub mod fuzz;
pub mod hl7;
pub mod labels;
pub mod pdf;
pub mod report_pdf;
pub mod report_text;
pub mod sample;
pub mod signed;

pub use signed::{SignedReport, SpecimenLine};
