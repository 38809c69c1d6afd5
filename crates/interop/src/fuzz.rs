//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`) and for their regression tests.
//!
//! Each takes arbitrary bytes as they arrive from outside and runs them through what Marrow
//! does with them. What must hold, checked here so a fuzzer reports it as a crash: nothing
//! panics, and every refusal says where the problem is.

use marrow_domain::time::Timestamp;

use crate::csv_counts::parse_csv;
use crate::hl7::{
    AckCode, MllpDecoder, ack_code, ack_for, ack_with_error, blood_count_from_oru, split_batch,
};

/// The committed inputs of one fuzz target, `fuzz/KIND/TARGET/*` in the repository (`kind` is
/// `seeds` or `regressions`), sorted by name, each with its path for messages. None when the
/// folder is absent. The crates' `fuzz_inputs` tests replay them through their entry points.
pub fn committed_inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            std::fs::read(&path).ok().map(|bytes| (path.display().to_string(), bytes))
        })
        .collect();
    files.sort();
    files
}

/// The fixed "now" results are judged against (a count taken later is refused).
fn now() -> Timestamp {
    // 2026-11-24T12:00:00Z
    Timestamp::from_unix(1_795_521_600)
}

/// Bytes from an HL7 v2 peer or an import file. The first byte picks how they arrive: odd, as
/// MLLP frames fed in two reads split where the byte says (as a socket may deliver them); even,
/// as a batch file that `marrow import hl7` splits into messages. Then each message is read as
/// intake reads it, and answered. Returns how many messages would have stored a count.
pub fn hl7_intake(data: &[u8]) -> usize {
    let Some((&how, bytes)) = data.split_first() else { return 0 };
    let at = now();
    let mut accepted = 0;
    let messages: Vec<String> = if how & 1 == 1 {
        let split = usize::from(how >> 1) % (bytes.len() + 1);
        let mut decoder = MllpDecoder::with_max_frame(64 * 1024);
        let mut frames = decoder.push(&bytes[..split]);
        frames.extend(decoder.push(&bytes[split..]));
        frames.into_iter().filter_map(Result::ok).collect()
    } else {
        split_batch(&String::from_utf8_lossy(bytes))
    };
    for message in &messages {
        let (ack, sent) = match blood_count_from_oru(message, at) {
            Ok(count) => {
                assert!(!count.count.results().is_empty(), "a count with no values was accepted");
                accepted += 1;
                (
                    ack_for(message, AckCode::ApplicationAccept, "ACK1", at),
                    AckCode::ApplicationAccept,
                )
            }
            Err(e) => {
                let why = e.to_string();
                assert!(!why.trim().is_empty(), "an HL7 refusal says nothing");
                let code = AckCode::ApplicationError;
                (ack_with_error(message, code, "ACK1", at, &why), code)
            }
        };
        // Whatever came in, the answer must be a message the sender can read, saying what we
        // meant: `ack_code` parses it and reads MSA-1.
        assert_eq!(ack_code(&ack), Some(sent), "our acknowledgement reads wrong: {ack:?}");
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
        // Over MLLP, split after 3 bytes; and as a batch file.
        assert_eq!(hl7_intake(&[&[7u8][..], &framed].concat()), 1);
        assert_eq!(hl7_intake(&[&[0u8][..], message.as_bytes()].concat()), 1);
        // A batch of the same message twice is read as two.
        assert_eq!(hl7_intake(&[&[0u8][..], message.as_bytes(), message.as_bytes()].concat()), 2);
        assert_eq!(hl7_intake(b"\x00MSH|^~\\&|junk"), 0);
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
