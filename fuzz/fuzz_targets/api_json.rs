//! A JSON request body for any API endpoint that takes one.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = marrow_server::fuzz::api_body(data);
});
