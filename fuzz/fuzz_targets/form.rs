//! A submitted page form (application/x-www-form-urlencoded).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = marrow_server::fuzz::form_body(data);
});
