//! A CSV file of blood counts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = marrow_interop::fuzz::csv_import(data);
});
