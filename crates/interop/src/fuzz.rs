//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`) and for their regression tests.
//!
//! Each takes arbitrary bytes as they arrive from outside and runs them through what Marrow
//! does with them. What must hold, checked here so a fuzzer reports it as a crash: nothing
//! panics, and every refusal says where the problem is.

use marrow_domain::time::Timestamp;

use crate::csv_counts::parse_csv;
use crate::hl7::{
    AckCode, MllpDecoder, ack_code, ack_for, ack_with_error, blood_count_from_oru, parse,
    split_batch,
};

/// The fixed "now" results are judged against (a count taken later is refused).
fn now() -> Timestamp {
    // 2026-11-24T12:00:00Z
    Timestamp::from_unix(1_795_521_600)
}

/// Bytes from an HL7 v2 peer: MLLP framing (fed in two reads split where the first byte says,
/// as a socket may deliver them), then each message as intake reads it, and the answer sent
/// back. A file import's batch splitting runs on the same bytes. Returns how many messages
/// would have stored a count.
pub fn hl7_intake(data: &[u8]) -> usize {
    let at = now();
    let mut accepted = 0;
    let mut messages = Vec::new();
    let split = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut decoder = MllpDecoder::with_max_frame(64 * 1024);
    for chunk in [&data[..split], &data[split..]] {
        messages.extend(decoder.push(chunk).into_iter().filter_map(Result::ok));
    }
    messages.extend(split_batch(&String::from_utf8_lossy(data)));
    for message in &messages {
        // The generic reader must not fail on what the intake then reads.
        if let Ok(parsed) = parse(message) {
            for segment in parsed.all() {
                for n in 0..=segment.field_count() {
                    let _ =
                        (segment.field(n), segment.component(n, 1), segment.subcomponent(n, 1, 1));
                }
            }
        }
        let ack = match blood_count_from_oru(message, at) {
            Ok(count) => {
                assert!(!count.count.results().is_empty(), "a count with no values was accepted");
                accepted += 1;
                ack_for(message, AckCode::ApplicationAccept, "ACK1", at)
            }
            Err(e) => {
                let why = e.to_string();
                assert!(!why.trim().is_empty(), "an HL7 refusal says nothing");
                ack_with_error(message, AckCode::ApplicationError, "ACK1", at, &why)
            }
        };
        // Whatever came in, the answer must be a message the sender can read.
        assert!(parse(&ack).is_ok(), "our acknowledgement does not parse: {ack:?}");
        assert!(ack_code(&ack).is_some(), "our acknowledgement has no MSA-1: {ack:?}");
    }
    accepted
}

/// A CSV file of blood counts, as the import page, the API and `marrow import counts` read it.
/// Returns how many counts it holds when accepted.
pub fn csv_import(data: &[u8]) -> Option<usize> {
    // The importers refuse a file that is not UTF-8 before parsing it.
    let text = std::str::from_utf8(data).ok()?;
    match parse_csv(text, now()) {
        Ok(counts) => {
            assert!(counts.iter().all(|c| !c.count.results().is_empty()), "an empty count");
            Some(counts.len())
        }
        Err(e) => {
            assert!(e.row >= 1, "a CSV refusal names row {}: {e:?}", e.row);
            assert!(!e.message.trim().is_empty(), "a CSV refusal says nothing: {e:?}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full blood count as a laboratory sends it (synthetic patient); also the fuzz seed.
    pub(crate) const CBC: &str = concat!(
        "MSH|^~\\&|LIMS|SYNTH-LAB|MARROW|SYNTHETIC-HOSPITAL|20261123091502+0000||ORU^R01^ORU_R01|LAB-1|P|2.5.1\r",
        "PID|1||syn-1^^^SYNTHETIC-HOSPITAL^MR||Sample^Robin||19580615|F\r",
        "OBR|1|ORD-1|ACC-1|58410-2^CBC panel^LN|||202611230830+0000\r",
        "OBX|1|NM|718-7^Hemoglobin^LN||9.8|g/dL^^UCUM|||||F\r",
        "OBX|2|NM|777-3^Platelets^LN||64|10*3/uL^^UCUM|||||F\r",
    );

    #[test]
    fn a_framed_valid_message_is_accepted_and_junk_is_not() {
        let message = CBC;
        let framed = crate::hl7::mllp_frame(message);
        // Framed over MLLP and also read as a batch file: two readings of one message.
        assert_eq!(hl7_intake(&framed), 2);
        assert_eq!(hl7_intake(b"MSH|^~\\&|junk"), 0);
        assert_eq!(hl7_intake(b""), 0);
    }

    #[test]
    fn a_valid_csv_is_accepted_and_junk_is_refused() {
        let csv = "mrn,taken_at,analyte,value,unit\nX-1,2026-01-10T08:00Z,platelets,150,10*9/L\n";
        assert_eq!(csv_import(csv.as_bytes()), Some(1));
        assert_eq!(csv_import(b"mrn,taken_at\n,,,\n"), None);
        assert_eq!(csv_import(&[0xff, 0xfe]), None);
    }
}
