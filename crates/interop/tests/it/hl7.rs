//! HL7 v2.5.1 ORU^R01 for the signed sample report: snapshots, hl7apy STRICT validation, a
//! round-trip through Marrow's own reader, corrections, and MLLP framing with acknowledgements.
//!
//! Snapshots store the message with each segment's `\r` written as `\n`, so they read and diff
//! as one segment per line. That is lossless: a message never holds a raw line feed (values
//! escape it), which every snapshot test asserts before comparing.

use marrow_domain::reference::RangeStatus;
use marrow_domain::time::Timestamp;
use marrow_interop::hl7::{
    self, AckCode, Envelope, Hl7Error, LOCAL_CODING_SYSTEM, Message, MllpDecoder, ProcessingId,
    Segment,
};
use marrow_interop::report_text::aspirate_lines;
use marrow_interop::sample::SampleCase;
use marrow_interop::signed::ResultUnit;

use crate::support;

fn at(raw: &str) -> Timestamp {
    Timestamp::parse("at", raw).expect("test timestamp")
}

fn envelope(control_id: &str, created_at: &str) -> Envelope {
    Envelope {
        sending_application: "MARROW".into(),
        sending_facility: "SYNTHETIC-HOSPITAL".into(),
        receiving_application: "EPR".into(),
        receiving_facility: "SYNTHETIC-HOSPITAL".into(),
        message_control_id: control_id.into(),
        created_at: at(created_at),
        processing_id: ProcessingId::Training,
    }
}

/// Version 1 as first sent (before the amendment existed) and version 2, the amendment.
fn messages(sample: &SampleCase) -> (String, String) {
    let v1 = hl7::oru_r01(&sample.report(1, 1), &envelope("MRW-42-1", "2026-11-24T15:30:02Z"));
    let v2 = hl7::oru_r01(&sample.report(2, 2), &envelope("MRW-42-2", "2026-11-24T16:30:02Z"));
    (v1, v2)
}

fn snapshot(name: &str, message: &str) {
    assert!(!message.contains('\n'), "a raw line feed would make the snapshot lossy");
    assert!(message.ends_with('\r'), "every segment, the last included, ends with CR");
    support::snapshot(name, &message.replace('\r', "\n"));
}

#[test]
fn the_original_and_the_amended_report_match_their_snapshots() {
    let sample = SampleCase::new();
    let (v1, v2) = messages(&sample);
    snapshot("hl7-v1.hl7", &v1);
    snapshot("hl7-v2-amended.hl7", &v2);
    let again = messages(&sample);
    assert_eq!((v1, v2), again, "the same input gives the same bytes");
}

/// Runs hl7apy at STRICT level on the message; returns the structure it printed.
fn hl7apy_accepts(message: &str) -> Option<String> {
    let python = support::python_with("hl7apy")?;
    Some(support::validate(&python, "hl7_validate.py", message.as_bytes()))
}

#[test]
fn hl7apy_accepts_both_versions_at_strict_level_with_every_segment_in_its_group() {
    let sample = SampleCase::new();
    let (v1, v2) = messages(&sample);
    for message in [&v1, &v2] {
        let Some(structure) = hl7apy_accepts(message) else { return };
        let lines: Vec<&str> = structure.lines().map(str::trim_end).collect();
        assert_eq!(
            lines[..8],
            [
                "ORU_R01",
                "  MSH",
                "  ORU_R01_PATIENT_RESULT",
                "    ORU_R01_PATIENT",
                "      PID",
                "    ORU_R01_ORDER_OBSERVATION",
                "      ORC",
                "      OBR",
            ],
            "{structure}"
        );
        let count = |name: &str| lines.iter().filter(|l| l.trim() == name).count();
        assert_eq!(count("ORU_R01_OBSERVATION"), count("OBX"), "every OBX in its own group");
        assert_eq!(count("ORU_R01_SPECIMEN"), sample.specimens.len());
        assert!(structure.contains("      ORU_R01_OBSERVATION\n        OBX\n        NTE\n"));
    }
}

/// Each OBX with the NTE segments that follow it.
fn observations(message: &Message) -> Vec<(&Segment, Vec<&Segment>)> {
    let mut out: Vec<(&Segment, Vec<&Segment>)> = Vec::new();
    for segment in message.all() {
        match segment.id() {
            "OBX" => out.push((segment, Vec::new())),
            "NTE" => {
                if let Some((_, notes)) = out.last_mut() {
                    notes.push(segment);
                }
            }
            _ => {}
        }
    }
    out
}

/// The NTE between the OBR and the first OBX.
fn order_notes(message: &Message) -> Vec<&Segment> {
    message
        .all()
        .iter()
        .skip_while(|s| s.id() != "OBR")
        .skip(1)
        .take_while(|s| s.id() == "NTE")
        .collect()
}

#[test]
fn every_value_comes_back_through_the_parser() {
    let sample = SampleCase::new();
    let report = sample.report(1, 1);
    let (v1, _) = messages(&sample);
    let message = hl7::parse(&v1).expect("parses");

    let msh = message.segment("MSH").expect("MSH");
    assert_eq!(msh.field(2), "^~\\&");
    assert_eq!(
        (msh.component(9, 1), msh.component(9, 2), msh.component(9, 3)),
        ("ORU", "R01", "ORU_R01")
    );
    assert_eq!((msh.field(10), msh.field(11), msh.field(12)), ("MRW-42-1", "T", "2.5.1"));
    assert_eq!(msh.field(7), "20261124153002+0000");
    assert_eq!(msh.field(18), "UNICODE UTF-8");

    let pid = message.segment("PID").expect("PID");
    assert_eq!(pid.component(3, 1), sample.patient.mrn.reveal());
    assert_eq!(pid.component(3, 5), "MR");
    assert_eq!(pid.component(5, 1), sample.patient.family_name.reveal());
    assert_eq!(pid.component(5, 2), sample.patient.given_name.reveal());
    assert_eq!((pid.field(7), pid.field(8)), ("19580615", "F"));

    let orc = message.segment("ORC").expect("ORC");
    assert_eq!((orc.field(1), orc.component(3, 1), orc.component(3, 2)), ("RE", "42", "MARROW"));
    let obr = message.segment("OBR").expect("OBR");
    assert_eq!(
        (obr.component(4, 1), obr.component(4, 2), obr.component(4, 3)),
        ("48807-2", "Bone marrow aspiration report", "LN")
    );
    assert_eq!(obr.field(7), "20261124091000+0000", "observation time is the procedure time");
    assert_eq!(obr.field(25), "F");
    assert_eq!(obr.subcomponent(32, 1, 2), report.signed_by, "the signer interprets");
    assert_eq!(obr.component(16, 2), report.ordered_by);

    let notes = order_notes(&message);
    assert_eq!(notes.len(), 2 + sample.flags.len(), "order, reference table, one NTE per flag");
    let details = notes[0].field(3);
    assert!(
        details.ends_with(&format!(
            "\nClinical details: {}",
            sample.order.clinical_details.as_deref().expect("details")
        )),
        "{details:?}"
    );
    assert_eq!(
        notes[1].field(3),
        "Reference intervals: Adult aspirate differential (University of Iowa) (version 1)"
    );
    assert!(!sample.flags.is_empty());
    for (note, flag) in notes[2..].iter().zip(&sample.flags) {
        assert_eq!(note.field(3), format!("{}\nSource: {}", flag.text, flag.source));
        assert_eq!(note.component(4, 1), "flag");
    }

    let obx = observations(&message);
    let aspirate = aspirate_lines(&sample.aspirate);
    let results = report.results();
    let fields: Vec<_> = report.content.fields().into_iter().filter(|f| f.text.is_some()).collect();
    assert_eq!(obx.len(), aspirate.len() + results.len() + fields.len());
    for (i, (segment, _)) in obx.iter().enumerate() {
        assert_eq!(segment.field(1), (i + 1).to_string(), "OBX-1 counts from 1");
        assert_eq!(segment.field(11), "F");
    }

    for ((segment, _), (heading, text)) in obx.iter().zip(&aspirate) {
        assert_eq!(segment.field(2), "FT");
        assert_eq!(segment.component(3, 2), *heading);
        assert_eq!(segment.field(5), text);
    }

    let total = sample.differential.total_with(&sample.rules);
    for ((segment, notes), line) in obx[aspirate.len()..].iter().zip(&results) {
        let what = &line.label;
        assert_eq!(segment.field(2), "NM", "{what}");
        match line.code.loinc {
            Some((code, name)) => {
                assert_eq!(segment.component(3, 1), code, "{what}");
                assert_eq!(segment.component(3, 2), name, "{what}");
                assert_eq!(segment.component(3, 3), "LN", "{what}");
                assert_eq!(segment.component(3, 4), line.code.local, "{what}");
                assert_eq!(segment.component(3, 6), LOCAL_CODING_SYSTEM, "{what}");
            }
            None => {
                assert_eq!(segment.component(3, 1), line.code.local, "{what}");
                assert_eq!(segment.component(3, 3), LOCAL_CODING_SYSTEM, "{what}");
            }
        }
        assert_eq!(segment.field(5), line.display, "{what}");
        let number: f64 = segment.field(5).parse().expect("NM is a number");
        assert!((number - line.value.expect("calculable")).abs() < 0.01, "{what}");
        assert_eq!(segment.component(6, 1), line.unit.ucum(), "{what}");
        assert_eq!(segment.component(6, 3), "UCUM", "{what}");
        let range = line.reference.as_ref().map(|(lo, hi)| format!("{lo}-{hi}"));
        assert_eq!(segment.field(7), range.as_deref().unwrap_or(""), "{what}");
        let flag = match line.status {
            RangeStatus::Above => "H",
            RangeStatus::Below => "L",
            RangeStatus::Within => "N",
            RangeStatus::NoInterval | RangeStatus::NotCalculable => "",
        };
        assert_eq!(segment.field(8), flag, "{what}");
        if line.unit == ResultUnit::Percent {
            let (lo, hi) = line.limits_95.expect("limits");
            let cells = line.cells.expect("cells");
            assert_eq!(
                notes.iter().map(|n| n.field(3)).collect::<Vec<_>>(),
                [format!(
                    "{cells} of {total} nucleated cells counted; exact 95% limits \
                     {lo:.1}-{hi:.1}% (Clopper-Pearson)"
                )],
                "{what}"
            );
        } else {
            assert!(notes.is_empty(), "{what}");
        }
    }
    let blasts = &obx[aspirate.len()].0;
    assert_eq!(
        (blasts.component(3, 1), blasts.field(5), blasts.field(7), blasts.field(8)),
        ("blasts", "7.2", "0-2", "H")
    );

    for ((segment, _), field) in obx[aspirate.len() + results.len()..].iter().zip(&fields) {
        assert_eq!(segment.field(2), "FT");
        assert_eq!(segment.component(3, 1), field.name);
        assert_eq!(segment.component(3, 2), field.heading);
        assert_eq!(Some(segment.field(5)), field.text.as_deref(), "{}", field.name);
    }
    let comment = sample.content.comment.as_deref().expect("comment");
    assert!(comment.contains(['&', '^', '|', '\\', '<']), "the sample exercises escaping");
    let sent = obx.iter().find(|(s, _)| s.component(3, 1) == "comment").expect("comment OBX");
    assert_eq!(sent.0.field(5), comment, "the comment comes back exactly");
    assert!(v1.contains("karyotype \\F\\ NGS panel \\S\\ FISH \\E\\ trephine."));

    let spm: Vec<_> = message.segments("SPM").collect();
    assert_eq!(spm.len(), sample.specimens.len());
    for (segment, specimen) in spm.iter().zip(&sample.specimens) {
        assert_eq!(segment.subcomponent(2, 1, 1), specimen.id.to_string());
        assert_eq!(segment.component(4, 1), "MAR");
        assert_eq!(segment.component(27, 1), specimen.taken.tube.code());
        assert_eq!(segment.field(17), "20261124091000+0000");
        assert_eq!(segment.field(18), "20261124100500+0000");
    }
    assert_eq!(spm[1].component(12, 1), "2.5");
    assert_eq!(spm[1].subcomponent(12, 2, 1), "mL");
    assert_eq!(spm[2].component(7, 1), "BIO", "the trephine core is a biopsy");
}

#[test]
fn the_amendment_is_a_correction_with_its_reason() {
    let sample = SampleCase::new();
    let (v1, v2) = messages(&sample);
    let original = hl7::parse(&v1).expect("v1");
    let amended = hl7::parse(&v2).expect("v2");
    let obr = amended.segment("OBR").expect("OBR");
    assert_eq!(obr.field(25), "C");
    assert_eq!(obr.field(22), "20261124163000+0000", "when the amendment was signed");
    let statuses: Vec<&str> = amended.segments("OBX").map(|s| s.field(11)).collect();
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|s| *s == "C"), "{statuses:?}");
    // The receiver matches the correction to the original by the order numbers.
    let original_obr = original.segment("OBR").expect("OBR");
    for n in [2, 3] {
        assert_eq!(obr.component(n, 1), original_obr.component(n, 1));
        assert_eq!(obr.component(n, 2), original_obr.component(n, 2));
    }
    let notes = order_notes(&amended);
    assert_eq!(notes[0].field(3), "Trephine result added.");
    assert_eq!(notes[0].component(4, 1), "amendment-reason");
    assert!(order_notes(&original).iter().all(|n| n.component(4, 1) != "amendment-reason"));
    let comment =
        amended.segments("OBX").find(|s| s.component(3, 1) == "comment").expect("comment");
    assert_eq!(Some(comment.field(5)), sample.amended.comment.as_deref());
}

#[test]
fn a_value_holding_every_delimiter_and_line_breaks_round_trips_and_validates() {
    let sample = SampleCase::new();
    let tricky = "a|b^c~d\\e&f \\F\\ literal\r\nsecond line\nthird ~~ line é ∑ <x>";
    let long = format!("{}end", "Long interpretation sentence. ".repeat(160));
    let mut content = sample.content.clone();
    content.comment = Some(tricky.to_owned());
    content.interpretation = Some(long.clone());
    let report = marrow_interop::SignedReport {
        content: &content,
        amendment_reason: Some("Reason with | and ^ and & and ~ and \\"),
        version: 2,
        latest_version: 2,
        ordered_by: "Dr O'Brien & Partners^Clinic",
        ..sample.report(2, 2)
    };
    let message = hl7::oru_r01(&report, &envelope("X|1^2", "2026-11-24T16:30:02Z"));
    assert!(!message.contains('\n'));
    let parsed = hl7::parse(&message).expect("parses");
    let comment = parsed.segments("OBX").find(|s| s.component(3, 1) == "comment").expect("comment");
    // CR LF is one line break in FT; it comes back as LF.
    assert_eq!(comment.field(5), tricky.replace("\r\n", "\n"));
    let interpretation =
        parsed.segments("OBX").find(|s| s.component(3, 1) == "interpretation").expect("text");
    assert_eq!(interpretation.field(5), long);
    assert_eq!(order_notes(&parsed)[0].field(3), report.amendment_reason.expect("reason"));
    assert_eq!(parsed.segment("ORC").expect("ORC").component(12, 2), report.ordered_by);
    assert_eq!(parsed.segment("MSH").expect("MSH").field(10), "X|1^2");
    hl7apy_accepts(&message);
}

#[test]
fn a_report_without_procedure_aspirate_or_flags_and_a_ratio_not_calculable_still_validates() {
    let sample = SampleCase::new();
    let differential = marrow_domain::morphology::Differential::parse([
        ("blasts", "10"),
        ("segmented-neutrophils", "80"),
        ("lymphocytes", "10"),
    ])
    .expect("differential");
    let report = marrow_interop::SignedReport {
        procedure: None,
        aspirate: None,
        specimens: &[],
        flags: &[],
        differential: &differential,
        ..sample.report(1, 1)
    };
    let message = hl7::oru_r01(&report, &envelope("MRW-42-9", "2026-11-24T15:30:02Z"));
    let parsed = hl7::parse(&message).expect("parses");
    assert_eq!(parsed.segments("SPM").count(), 0);
    assert_eq!(parsed.segment("OBR").expect("OBR").field(7), "");
    let me = parsed.segments("OBX").find(|s| s.component(3, 1) == "11138-5").expect("M:E");
    assert_eq!((me.field(5), me.field(8), me.field(11)), ("", "", "X"));
    hl7apy_accepts(&message);
}

#[test]
fn mllp_frames_survive_split_reads_and_noise_and_are_acknowledged() {
    let sample = SampleCase::new();
    let (v1, v2) = messages(&sample);
    let mut stream = b"\r\nstale bytes from a previous connection".to_vec();
    stream.extend(hl7::mllp_frame(&v1));
    stream.extend(b"\x00\xff noise \x1c\x0d");
    stream.extend(hl7::mllp_frame(&v2));
    // Reads of every size from 1 to 97 bytes, as a TCP stream may deliver them.
    for size in 1..=97 {
        let mut decoder = MllpDecoder::new();
        let received: Vec<_> = stream.chunks(size).flat_map(|c| decoder.push(c)).collect();
        assert_eq!(received, vec![Ok(v1.clone()), Ok(v2.clone())], "reads of {size} bytes");
        assert!(!decoder.is_mid_frame());
    }

    // A test receiver: decode, answer with an ACK; the sender decodes the ACK.
    let mut receiver = MllpDecoder::new();
    let mut sender = MllpDecoder::new();
    for (message, id) in [(&v1, "MRW-42-1"), (&v2, "MRW-42-2")] {
        let got = receiver.push(&hl7::mllp_frame(message)).remove(0).expect("frame");
        let ack =
            hl7::ack_for(&got, AckCode::ApplicationAccept, "EPR-7", at("2026-11-24T17:00:00Z"));
        let back = sender.push(&hl7::mllp_frame(&ack)).remove(0).expect("ack frame");
        assert_eq!(hl7::ack_code(&back), Some(AckCode::ApplicationAccept));
        let parsed = hl7::parse(&back).expect("ack parses");
        assert_eq!(parsed.segment("MSA").expect("MSA").field(2), id, "MSA-2 quotes MSH-10");
        let msh = parsed.segment("MSH").expect("MSH");
        assert_eq!((msh.field(3), msh.field(5)), ("EPR", "MARROW"), "sender and receiver swap");
        assert_eq!(msh.component(9, 2), "R01");
        hl7apy_accepts(&back);
    }
    let reject = hl7::ack_for(&v1, AckCode::ApplicationReject, "EPR-8", at("2026-11-24T17:00:00Z"));
    assert_eq!(hl7::ack_code(&reject), Some(AckCode::ApplicationReject));
    assert!(!AckCode::ApplicationReject.is_accept());
}

#[test]
fn a_broken_message_is_refused_with_the_segment_and_field_named() {
    let sample = SampleCase::new();
    let (v1, _) = messages(&sample);
    let broken = v1.replacen("\\F\\", "\\F", 1);
    let err = hl7::parse(&broken).expect_err("unterminated escape");
    assert!(
        matches!(err, Hl7Error::UnterminatedEscape { ref segment, field: 5, .. } if segment == "OBX")
    );
    assert!(!err.to_string().contains("karyotype"), "errors never carry values");
    assert_eq!(hl7::parse(&v1[4..]), Err(Hl7Error::NotMsh));
}
