//! The image fuzz target's committed inputs (`fuzz/`), replayed through the entry point the
//! fuzzer calls: each seed (PNG, JPEG, TIFF; a cell and fields) still decodes and is searched,
//! and each input a fuzzer once crashed on (`fuzz/regressions/image`) now runs to an answer.

use marrow_vision::fuzz::upload;

fn inputs(kind: &str) -> Vec<(String, Vec<u8>)> {
    marrow_interop::fuzz::committed_inputs(kind, "image")
}

#[test]
fn every_image_seed_decodes() {
    let seeds = inputs("seeds");
    assert!(seeds.len() >= 4, "PNG, JPEG and TIFF seeds are in fuzz/seeds/image");
    for (name, bytes) in seeds {
        assert!(upload(&bytes).is_some(), "{name}");
    }
}

#[test]
fn past_crashes_are_answered() {
    for (_, bytes) in inputs("regressions") {
        upload(&bytes);
    }
}
