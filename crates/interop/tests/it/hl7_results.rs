//! Blood counts arriving from the laboratory as HL7 v2.5.1 ORU^R01: a realistic full blood
//! count read with its units converted, every refusal naming its segment and field, the ACK
//! that answers a refusal (hl7apy STRICT), and batch files split into messages.

use marrow_domain::blood_count::{Analyte, Quantity};
use marrow_domain::time::Timestamp;
use marrow_interop::hl7::{self, AckCode, IntakeError};

use crate::support;

fn at(raw: &str) -> Timestamp {
    Timestamp::parse("at", raw).expect("test timestamp")
}

/// When the message is read: the morning after the blood was taken.
fn now() -> Timestamp {
    at("2026-11-24T12:00:00Z")
}

/// A full blood count as a laboratory system sends it (synthetic patient): haemoglobin in g/dL,
/// white cells in 10*3/uL, the neutrophil count in cells/uL, platelets in 10*3/uL and blasts
/// on the film in %, with the laboratory's own ranges and flags, which Marrow ignores.
fn cbc_segments() -> Vec<String> {
    [
        "MSH|^~\\&|LIMS|SYNTH-LAB^1.2.826.0.1.99^ISO|MARROW|SYNTHETIC-HOSPITAL|20261123091502+0000||ORU^R01^ORU_R01|LAB-000123|P|2.5.1|||AL|NE||UNICODE UTF-8",
        "PID|1||syn-sample-1^^^SYNTHETIC-HOSPITAL^MR~9990001112^^^NHS^NH||Sample^Robin||19580615|F",
        "ORC|RE|ORD-881^MARROW|ACC-5521^LIMS",
        "OBR|1|ORD-881^MARROW|ACC-5521^LIMS|58410-2^CBC panel - Blood by Automated count^LN|||202611230830+0000|||||||||||||||20261123091500+0000||HM|F",
        "OBX|1|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||9.8|g/dL^^UCUM|12.0-15.0|L|||F",
        "OBX|2|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.1|10*3/uL^^UCUM|4.0-10.0|L|||F",
        "OBX|3|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||800|/uL^^UCUM|2000-7000|L|||F",
        "OBX|4|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||64|10*3/uL^^UCUM|150-410|L|||F",
        "OBX|5|NM|26446-5^Blasts/100 leukocytes in Blood^LN||2|%^^UCUM|0-0|H|||F",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn message(segments: &[String]) -> String {
    segments.iter().map(|s| format!("{s}\r")).collect()
}

fn cbc() -> String {
    message(&cbc_segments())
}

/// The CBC with field `field` of segment `index` (0 = MSH) set to `value`. For MSH, `field`
/// counts as HL7 does (MSH-1 is the separator).
fn cbc_with(index: usize, field: usize, value: &str) -> String {
    let mut segments = cbc_segments();
    let mut fields: Vec<String> = segments[index].split('|').map(str::to_owned).collect();
    let position = if index == 0 { field - 1 } else { field };
    if fields.len() <= position {
        fields.resize(position + 1, String::new());
    }
    fields[position] = value.to_owned();
    segments[index] = fields.join("|");
    message(&segments)
}

fn refused(message: &str) -> IntakeError {
    let error = hl7::blood_count_from_oru(message, now()).expect_err("the message is refused");
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("{}: ", error.location)), "{shown}");
    for patient in ["SYN-SAMPLE-1", "syn-sample-1", "Sample", "Robin", "9990001112"] {
        assert!(!shown.contains(patient), "an error names the patient: {shown}");
    }
    error
}

#[test]
fn a_full_blood_count_from_the_laboratory_is_read_with_its_units_converted() {
    let incoming = hl7::blood_count_from_oru(&cbc(), now()).expect("a good count");
    assert_eq!(incoming.control_id, "LAB-000123");
    assert_eq!(incoming.sending_facility, "SYNTH-LAB");
    assert_eq!(incoming.mrn, "SYN-SAMPLE-1", "the first identifier, upper-cased as stored");
    assert_eq!(incoming.count.taken_at, at("2026-11-23T08:30:00Z"), "OBR-7");
    let values: Vec<(Analyte, String)> =
        incoming.count.results().iter().map(|m| (m.analyte, m.value.to_string())).collect();
    assert_eq!(
        values,
        [
            (Analyte::Haemoglobin, "98".to_owned()),  // 9.8 g/dL = 98 g/L
            (Analyte::WhiteCells, "2.1".to_owned()),  // 10*3/uL = 10^9/L
            (Analyte::Neutrophils, "0.8".to_owned()), // 800 /uL = 0.8 × 10^9/L
            (Analyte::Platelets, "64".to_owned()),    // 10*3/uL = 10^9/L
            (Analyte::Blasts, "2".to_owned()),        // %
        ]
    );
    assert_eq!(incoming.count.get(Analyte::Neutrophils), Some(Quantity::from_thousandths(800)));
    let debug = format!("{incoming:?}");
    assert!(!debug.contains("SYN-SAMPLE-1"), "Debug leaves the MRN out: {debug}");
}

/// Runs hl7apy at STRICT level on the message; returns the structure it printed.
fn hl7apy_accepts(message: &str) -> Option<String> {
    let python = support::python_with("hl7apy")?;
    Some(support::validate(&python, "hl7_validate.py", message.as_bytes()))
}

#[test]
fn the_test_message_is_an_orthodox_oru_r01_so_the_reader_is_tested_on_valid_hl7() {
    let Some(structure) = hl7apy_accepts(&cbc()) else { return };
    let lines: Vec<&str> = structure.lines().map(str::trim).collect();
    assert_eq!(
        lines[..7],
        [
            "ORU_R01",
            "MSH",
            "ORU_R01_PATIENT_RESULT",
            "ORU_R01_PATIENT",
            "PID",
            "ORU_R01_ORDER_OBSERVATION",
            "ORC"
        ],
        "{structure}"
    );
    assert_eq!(lines.iter().filter(|l| **l == "OBX").count(), 5, "{structure}");
}

#[test]
fn times_fall_back_to_obx_14_and_offsets_are_applied() {
    // OBR-7 empty: each OBX's own observation time.
    let mut segments = cbc_segments();
    segments[3] = segments[3].replace("|||202611230830+0000|", "||||");
    for obx in &mut segments[4..] {
        obx.push_str("|||202611230745-0100");
    }
    let incoming = hl7::blood_count_from_oru(&message(&segments), now()).expect("OBX-14 times");
    assert_eq!(incoming.count.taken_at, at("2026-11-23T08:45:00Z"));
    // Seconds, fractions and an offset in OBR-7.
    let offset = cbc_with(3, 7, "20261123093010.25+0100");
    let incoming = hl7::blood_count_from_oru(&offset, now()).expect("offset");
    assert_eq!(incoming.count.taken_at, at("2026-11-23T08:30:10Z"));
    // No offset is read as UTC.
    let bare = cbc_with(3, 7, "202611230830");
    assert_eq!(
        hl7::blood_count_from_oru(&bare, now()).unwrap().count.taken_at,
        at("2026-11-23T08:30:00Z")
    );
    // A differential in a second OBR taken at the same time is the same count.
    let mut two = cbc_segments();
    two.insert(7, "OBR|2|ORD-881^MARROW|ACC-5522^LIMS|57021-8^CBC W Auto Differential panel - Blood^LN|||202611230830+0000".to_owned());
    let incoming = hl7::blood_count_from_oru(&message(&two), now()).expect("two OBRs");
    assert_eq!(incoming.count.results().len(), 5);
    // Line feeds for segment ends, as a file saved on another system has them.
    let lf = cbc().replace('\r', "\n");
    assert!(hl7::blood_count_from_oru(&lf, now()).is_ok());
    // A corrected result is taken like a final one.
    assert!(hl7::blood_count_from_oru(&cbc_with(4, 11, "C"), now()).is_ok());
}

#[test]
fn every_refusal_names_the_segment_and_field() {
    let no_pid: Vec<String> =
        cbc_segments().into_iter().filter(|s| !s.starts_with("PID")).collect();
    let mut two_pids = cbc_segments();
    two_pids.insert(2, "PID|2||SYN-OTHER-2^^^SYNTHETIC-HOSPITAL^MR||Other^Pat".to_owned());
    let no_obx: Vec<String> =
        cbc_segments().into_iter().filter(|s| !s.starts_with("OBX")).collect();
    let mut twice = cbc_segments();
    twice.push("OBX|6|NM|718-7^Hemoglobin^LN||10.1|g/dL^^UCUM|||||F".to_owned());
    let mut later_obr = cbc_segments();
    later_obr
        .insert(7, "OBR|2|ORD-882|ACC-5523|57021-8^Differential^LN|||202611231400+0000".to_owned());
    let mut no_time = cbc_segments();
    no_time[3] = no_time[3].replace("|||202611230830+0000|", "||||");
    no_time[4].push_str("|||202611230830+0000");
    let unterminated = cbc().replace("2.1|10*3/uL", "2.1\\F|10*3/uL");

    let cases: Vec<(String, &str, &str)> = vec![
        ("not hl7 at all".to_owned(), "MSH", "must start with an MSH segment"),
        (unterminated, "OBX-5", "escape sequence without its closing"),
        (cbc_with(0, 9, "ADT^A01^ADT_A01"), "MSH-9", "ADT^A01 is not an unsolicited result"),
        (cbc_with(0, 9, ""), "MSH-9", "the message type is empty"),
        (cbc_with(0, 10, ""), "MSH-10", "control ID is empty"),
        (message(&no_pid), "PID", "no PID segment"),
        (message(&two_pids), "PID", "more than one patient"),
        (cbc_with(1, 3, "^^^SYNTHETIC-HOSPITAL^MR"), "PID-3", "medical record number is empty"),
        (cbc_with(1, 3, "S!^^^SYNTHETIC-HOSPITAL^MR"), "PID-3", "must be 3 to 20 letters"),
        (message(&no_obx), "OBX", "no OBX segment"),
        (cbc_with(5, 2, "ST"), "OBX 2 (OBX-2)", "the value type is \"ST\", not NM"),
        (cbc_with(5, 2, ""), "OBX 2 (OBX-2)", "the value type is empty"),
        (
            cbc_with(6, 3, "NEUT^Neutrophils^99LAB"),
            "OBX 3 (OBX-3)",
            "coding system \"99LAB\", not LN",
        ),
        (
            cbc_with(4, 3, "2345-7^Glucose^LN"),
            "OBX 1 (OBX-3)",
            "LOINC \"2345-7\" is not a blood count code",
        ),
        (cbc_with(4, 3, "^Hemoglobin^LN"), "OBX 1 (OBX-3)", "no code"),
        (
            cbc_with(7, 11, "P"),
            "OBX 4 (OBX-11)",
            "the result is preliminary (P); Marrow stores final (F) or corrected (C) results only",
        ),
        (cbc_with(7, 11, "X"), "OBX 4 (OBX-11)", "cancelled"),
        (cbc_with(7, 11, "D"), "OBX 4 (OBX-11)", "a deletion"),
        (cbc_with(7, 11, ""), "OBX 4 (OBX-11)", "the result status is empty"),
        (cbc_with(7, 11, "Q"), "OBX 4 (OBX-11)", "\"Q\" is not a result status"),
        (cbc_with(4, 6, "mmol/L^^UCUM"), "OBX 1 (OBX-6)", "\"mmol/L\" is not a unit Marrow knows"),
        (cbc_with(7, 6, "g/L^^UCUM"), "OBX 4 (OBX-6)", "g/L is not a unit for platelets"),
        (cbc_with(5, 6, ""), "OBX 2 (OBX-6)", "\"\" is not a unit Marrow knows"),
        (cbc_with(4, 5, "abc"), "OBX 1 (OBX-5)", "\"abc\" is not a number"),
        (cbc_with(4, 5, ""), "OBX 1 (OBX-5)", "Haemoglobin is empty; give a number"),
        (cbc_with(4, 5, "9.8~10.1"), "OBX 1 (OBX-5)", "more than one value"),
        // 98 g/dL is 980 g/L: a g/L value sent as g/dL.
        (cbc_with(4, 5, "98"), "OBX 1 (OBX-5)", "check the value and its unit"),
        (cbc_with(6, 5, "5000"), "OBX 3 (OBX-5)", "Neutrophils is more than the white cell count"),
        (
            message(&twice),
            "OBX 6 (OBX-3)",
            "Haemoglobin (718-7) is given twice: OBX 1 has it already",
        ),
        (
            cbc_with(3, 7, "202611250830+0000"),
            "OBR-7",
            "the time the blood was taken is in the future",
        ),
        (cbc_with(3, 7, "2026112308"), "OBR-7", "\"2026112308\" is not an HL7 date and time"),
        (cbc_with(3, 7, "2026-11-23T08:30"), "OBR-7", "is not an HL7 date and time"),
        (message(&later_obr), "OBR 2 (OBR-7)", "one message must hold one count"),
        (message(&no_time), "OBX 2 (OBX-14)", "OBR-7 and OBX-14 of OBX 2 are both empty"),
    ];
    for (text, location, message) in cases {
        let error = refused(&text);
        assert_eq!(error.location, location, "{error}");
        assert!(error.message.contains(message), "{location}: {error}");
    }
    // The display is location, then message, as the laboratory analyst reads it.
    assert!(
        refused(&cbc_with(4, 6, "mmol/L^^UCUM"))
            .to_string()
            .starts_with("OBX 1 (OBX-6): \"mmol/L\" is not a unit Marrow knows;")
    );
}

#[test]
fn a_partly_bad_message_gives_nothing_back() {
    // Four good results and one preliminary one: nothing is taken, not the four.
    let text = cbc_with(8, 11, "P");
    let result = hl7::blood_count_from_oru(&text, now());
    assert_eq!(
        result.map(|c| c.count.results().len()).map_err(|e| e.location),
        Err("OBX 5 (OBX-11)".to_owned())
    );
}

/// The ACK's segments, parsed.
fn parsed_ack(ack: &str) -> hl7::Message {
    assert!(ack.ends_with('\r') && !ack.contains('\n'), "{ack:?}");
    hl7::parse(ack).expect("the ACK parses")
}

#[test]
fn a_refused_message_is_answered_with_its_error_in_msa_and_err() {
    let text = cbc_with(4, 6, "mmol/L^^UCUM");
    let error = refused(&text).to_string();
    let ack = hl7::ack_with_error(
        &text,
        AckCode::ApplicationError,
        "MRW-ACK-9",
        at("2026-11-24T12:00:05Z"),
        &error,
    );
    let parsed = parsed_ack(&ack);
    let msh = parsed.segment("MSH").expect("MSH");
    assert_eq!((msh.field(3), msh.field(5)), ("MARROW", "LIMS"), "sender and receiver swap");
    assert_eq!(msh.field(10), "MRW-ACK-9");
    assert_eq!((msh.component(9, 1), msh.component(9, 2)), ("ACK", "R01"));
    let msa = parsed.segment("MSA").expect("MSA");
    assert_eq!((msa.field(1), msa.field(2)), ("AE", "LAB-000123"), "the code and the original id");
    assert_eq!(hl7::ack_code(&ack), Some(AckCode::ApplicationError));
    // MSA-3 is at most 80 characters: the start of the error, marked as cut.
    let msa_3 = msa.field(3);
    assert_eq!(msa_3.chars().count(), 80, "{msa_3}");
    assert!(msa_3.ends_with('…') && error.starts_with(msa_3.trim_end_matches('…')), "{msa_3}");
    let err = parsed.segment("ERR").expect("ERR");
    assert_eq!((err.component(3, 1), err.component(3, 3)), ("207", "HL70357"));
    assert_eq!(err.field(4), "E");
    assert_eq!(err.field(8), error, "ERR-8 carries the whole message");
    hl7apy_accepts(&ack);
}

#[test]
fn error_text_with_delimiters_and_line_breaks_is_escaped() {
    let nasty = "OBX 1 (OBX-6): unit \"a|b^c~d\\e&f\" refused\r\nsecond line";
    let ack = hl7::ack_with_error(&cbc(), AckCode::ApplicationReject, "A-1", now(), nasty);
    assert!(ack.contains(r#"unit "a\F\b\S\c\R\d\E\e\T\f" refused second line"#), "{ack}");
    assert_eq!(ack.matches('\r').count(), 3, "exactly MSH, MSA and ERR: {ack:?}");
    let parsed = parsed_ack(&ack);
    let expected = nasty.replace("\r\n", " ");
    assert_eq!(parsed.segment("MSA").unwrap().field(3), expected, "short enough to be whole");
    assert_eq!(parsed.segment("ERR").unwrap().field(8), expected);
    assert_eq!(parsed.segment("MSA").unwrap().field(1), "AR");
    hl7apy_accepts(&ack);
    // A message too long for ERR-8 (250 characters) is cut there too, and still validates.
    let long = format!("OBX 1 (OBX-5): {}", "a long explanation & more ".repeat(20));
    let ack = hl7::ack_with_error(&cbc(), AckCode::ApplicationError, "A-2", now(), &long);
    let err_8 = parsed_ack(&ack).segment("ERR").unwrap().field(8).to_owned();
    assert_eq!(err_8.chars().count(), 250);
    assert!(long.starts_with(err_8.trim_end_matches('…')));
    hl7apy_accepts(&ack);
    // Something that is not a message at all still gets an answer naming what went wrong.
    let ack =
        hl7::ack_with_error("garbage", AckCode::ApplicationReject, "A-3", now(), "MSH: not HL7");
    let parsed = parsed_ack(&ack);
    assert_eq!(parsed.segment("MSA").unwrap().field(2), "");
    assert_eq!(parsed.segment("ERR").unwrap().field(8), "MSH: not HL7");
    // Accepting with a remark is a warning, not an error.
    let ack = hl7::ack_with_error(&cbc(), AckCode::ApplicationAccept, "A-4", now(), "note");
    assert_eq!(parsed_ack(&ack).segment("ERR").unwrap().field(4), "W");
}

#[test]
fn the_success_ack_is_still_ack_for() {
    let text = cbc();
    let incoming = hl7::blood_count_from_oru(&text, now()).unwrap();
    let ack = hl7::ack_for(&text, AckCode::ApplicationAccept, "MRW-ACK-1", now());
    let parsed = parsed_ack(&ack);
    assert_eq!(parsed.segment("MSA").unwrap().field(2), incoming.control_id);
    assert!(parsed.segment("ERR").is_none());
    hl7apy_accepts(&ack);
}

#[test]
fn a_batch_file_splits_into_messages_that_each_read() {
    let first = cbc();
    let second = cbc_with(0, 10, "LAB-000124").replace("syn-sample-1", "SYN-SAMPLE-2");
    let third = cbc_with(0, 10, "LAB-000125");
    // A file as a laboratory writes it: LF line ends, a batch envelope, blank lines.
    let file = format!(
        "FHS|^~\\&|LIMS|SYNTH-LAB\nBHS|^~\\&|LIMS|SYNTH-LAB\n{}\n\n{}\n{}BTS|3\nFTS|1\n",
        first.replace('\r', "\n"),
        second.trim_end().replace('\r', "\n"),
        third.replace('\r', "\n"),
    );
    let messages = hl7::split_batch(&file);
    assert_eq!(messages, [first.clone(), second.clone(), third.clone()]);
    let ids: Vec<String> = messages
        .iter()
        .map(|m| hl7::blood_count_from_oru(m, now()).expect("each reads").control_id)
        .collect();
    assert_eq!(ids, ["LAB-000123", "LAB-000124", "LAB-000125"]);
    // CR LF line ends and a byte order mark.
    let windows = format!("\u{feff}{}", file.replace('\n', "\r\n"));
    assert_eq!(hl7::split_batch(&windows), [first.clone(), second.clone(), third.clone()]);
    // An MLLP capture: each message framed, CR segment ends.
    let mut stream = Vec::new();
    for m in [&first, &second, &third] {
        stream.extend(hl7::mllp_frame(m));
    }
    let capture = String::from_utf8(stream).unwrap();
    assert_eq!(hl7::split_batch(&capture), [first.clone(), second, third]);
    // Text before the first MSH comes back on its own, to be refused, not dropped.
    let pieces = hl7::split_batch(&format!("stray line\r\n{first}"));
    assert_eq!(pieces, ["stray line\r".to_owned(), first]);
    assert_eq!(refused(&pieces[0]).location, "MSH");
    assert!(hl7::split_batch("").is_empty());
    assert!(hl7::split_batch("\n\r\nFHS|^~\\&\nFTS|0\n").is_empty());
}

#[test]
fn mangled_messages_are_refused_never_a_panic() {
    // A fixed-seed linear congruential generator: the same mutations on every run.
    let mut state: u64 = 7;
    let mut next = move |n: usize| {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % n as u64) as usize
    };
    let tokens = [
        "|", "^", "~", "\\", "&", "\r", "\n", "\u{b}", "\u{1c}", "MSH|", "OBX|", "-", "+", "9",
        ".", "é", "F", "P", "NM", "LN",
    ];
    let good = cbc();
    let (mut read, mut refused_messages) = (0, 0);
    for case in 0..2_000 {
        let mut chars: Vec<char> = good.chars().collect();
        for _ in 0..=next(3) {
            let place = next(chars.len() + 1);
            if next(2) == 0 && place < chars.len() {
                chars.remove(place);
            } else {
                for (k, c) in tokens[next(tokens.len())].chars().enumerate() {
                    chars.insert(place + k, c);
                }
            }
        }
        let text: String = chars.into_iter().collect();
        for piece in hl7::split_batch(&text) {
            assert!(piece.ends_with('\r') && !piece.contains('\n'), "{case}: {piece:?}");
            match hl7::blood_count_from_oru(&piece, now()) {
                Ok(incoming) => {
                    read += 1;
                    assert!(!incoming.count.results().is_empty(), "{case}");
                }
                Err(e) => {
                    refused_messages += 1;
                    assert!(!e.location.is_empty() && !e.message.is_empty(), "{case}: {e:?}");
                    let ack = hl7::ack_with_error(
                        &piece,
                        AckCode::ApplicationError,
                        "A",
                        now(),
                        &e.to_string(),
                    );
                    assert_eq!(
                        hl7::ack_code(&ack),
                        Some(AckCode::ApplicationError),
                        "{case}: {ack:?}"
                    );
                }
            }
        }
    }
    assert!(read > 50 && refused_messages > 500, "{read} read, {refused_messages} refused");
}
