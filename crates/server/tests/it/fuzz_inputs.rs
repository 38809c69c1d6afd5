//! The fuzz targets' committed inputs (`fuzz/`), replayed through the same entry points the
//! fuzzers call: every seed is a valid body that is still accepted (so the fuzzers start from
//! what clients really send), and every input a fuzzer once crashed on (`fuzz/regressions/`)
//! now runs to a named answer.

use marrow_server::fuzz::{api_body, form_body};

fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    marrow_interop::fuzz::committed_inputs(kind, target)
}

#[test]
fn every_api_seed_is_accepted() {
    let seeds = inputs("seeds", "api_json");
    assert_eq!(seeds.len(), usize::from(marrow_server::fuzz::API_BODIES), "one seed per body");
    for (name, bytes) in seeds {
        assert_eq!(api_body(&bytes), Ok(()), "{name}");
    }
}

#[test]
fn every_form_seed_is_accepted() {
    let seeds = inputs("seeds", "form");
    assert_eq!(seeds.len(), usize::from(marrow_server::fuzz::FORMS), "one seed per form");
    for (name, bytes) in seeds {
        assert_eq!(form_body(&bytes), Ok(()), "{name}");
    }
}

#[test]
fn past_crashes_are_answered() {
    for (name, bytes) in inputs("regressions", "api_json") {
        let answer = api_body(&bytes);
        assert!(answer.as_ref().err().is_none_or(|e| !e.field.is_empty()), "{name}: {answer:?}");
    }
    for (name, bytes) in inputs("regressions", "form") {
        let answer = form_body(&bytes);
        assert!(answer.as_ref().err().is_none_or(|e| !e.field.is_empty()), "{name}: {answer:?}");
    }
}
