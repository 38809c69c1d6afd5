//! Bytes from an HL7 v2 peer (MLLP) or an import file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    marrow_interop::fuzz::hl7_intake(data);
});
