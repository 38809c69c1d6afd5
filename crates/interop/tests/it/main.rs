//! Integration tests of the exchange formats, built as one binary. Each format checks its
//! output against a committed snapshot of the fixed sample case and, where a real validator
//! exists, against that validator.

mod barcode;
mod csv_counts;
mod fhir;
mod fuzz_inputs;
mod hl7;
mod hl7_results;
mod report_pdf;
mod support;
