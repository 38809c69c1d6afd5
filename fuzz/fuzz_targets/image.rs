//! An uploaded smear image (JPEG, PNG, TIFF or anything else).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = marrow_vision::fuzz::upload(data);
});
