//! The HL7 and CSV fuzz targets' committed inputs (`fuzz/`), replayed through the entry points
//! the fuzzers call: each seed is still accepted whole, and each input a fuzzer once crashed on
//! (`fuzz/regressions/`) now runs to an answer.

use marrow_interop::fuzz::{csv_import, hl7_intake};

fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    marrow_interop::fuzz::committed_inputs(kind, target)
}

#[test]
fn every_hl7_seed_stores_its_counts() {
    let seeds = inputs("seeds", "hl7");
    assert!(seeds.len() >= 3, "the seeds are in fuzz/seeds/hl7");
    for (name, bytes) in seeds {
        assert!(hl7_intake(&bytes) >= 1, "{name}");
    }
}

#[test]
fn every_csv_seed_is_imported() {
    let seeds = inputs("seeds", "csv");
    assert!(seeds.len() >= 2, "the seeds are in fuzz/seeds/csv");
    for (name, bytes) in seeds {
        assert!(csv_import(&bytes).is_some_and(|n| n >= 1), "{name}");
    }
}

#[test]
fn past_crashes_are_answered() {
    for (_, bytes) in inputs("regressions", "hl7") {
        hl7_intake(&bytes);
    }
    for (_, bytes) in inputs("regressions", "csv") {
        csv_import(&bytes);
    }
}
