//! Blood counts arriving from the laboratory as HL7 v2.5.1 ORU^R01 messages (Ch. 7), and the
//! acknowledgement that answers a message Marrow refused.
//!
//! A message is taken whole or not at all: one patient (PID), one time the blood was taken, and
//! only final or corrected numeric results coded in LOINC. Storing part of a message would
//! leave a count that looks complete and is not, so any doubt refuses the message and the
//! caller keeps it for a person to review, with an [`IntakeError`] that says which segment and
//! field to look at.
//!
//! The laboratory's own reference ranges and flags (OBX-7, OBX-8) are not read: Marrow flags a
//! count against its own ranges ([`BloodCount::interpret`]), the same ones every page shows.
//!
//! Errors never carry the MRN or a name; they quote codes, units, values and times, which a
//! person needs to fix the message and which identify nobody.

use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
use marrow_domain::patient::Mrn;
use marrow_domain::time::Timestamp;

use super::escape::escape;
use super::mllp::{AckCode, ack_header};
use super::{Hl7Error, Message, Segment, parse};
use crate::count_fields::Target;

/// A blood count read from an ORU^R01 message, with what the caller needs to file it and to
/// answer the sender.
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingCount {
    /// MSH-10, the message control ID: the ACK quotes it, and a repeat of it is a resend.
    pub control_id: String,
    /// MSH-4, the laboratory that sent the count (its namespace ID, else its universal ID).
    pub sending_facility: String,
    /// PID-3, the patient's medical record number (the first identifier's ID), upper-cased as
    /// Marrow stores MRNs.
    pub mrn: String,
    /// The count.
    pub count: BloodCount,
    /// Each value and unit as the message gave them (OBX-5, OBX-6), kept beside the converted
    /// count so a conversion can always be checked.
    pub originals: Vec<(Analyte, String, String)>,
}

impl IncomingCount {
    /// The values as they arrived, in the form the store keeps them.
    pub fn raw(&self) -> Vec<RawResult<'_>> {
        self.originals
            .iter()
            .map(|(a, v, u)| RawResult { analyte: *a, value: v, unit: u })
            .collect()
    }
}

impl std::fmt::Debug for IncomingCount {
    /// Leaves the MRN out, as [`Mrn`]'s own `Debug` does: debug output ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingCount")
            .field("control_id", &self.control_id)
            .field("sending_facility", &self.sending_facility)
            .field("mrn", &"..")
            .field("count", &self.count)
            .finish()
    }
}

/// Why an incoming message was refused, and where: `location` is a segment and field as HL7
/// numbers them (`MSH-9`, `PID-3`, `OBR-7`), or for a result `OBX 3 (OBX-6)`, the third OBX
/// segment of the message (counted in the message, which is OBX-1 when the sender numbers
/// them from 1) and its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct IntakeError {
    /// Where in the message.
    pub location: String,
    /// What is wrong, as a sentence a laboratory analyst can act on.
    pub message: String,
}

impl IntakeError {
    fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location: location.into(), message: message.into() }
    }
}

/// One OBX, checked and read.
struct Observation<'m> {
    /// Its position among the message's OBX segments, from 1.
    number: usize,
    analyte: Analyte,
    value: &'m str,
    unit: &'m str,
    /// When the blood was taken, as sent, and the field that said so.
    taken_at: (&'m str, String),
}

impl Observation<'_> {
    fn at(&self, field: usize) -> String {
        obx_location(self.number, field)
    }
}

fn obx_location(number: usize, field: usize) -> String {
    format!("OBX {number} (OBX-{field})")
}

/// Reads the blood count an ORU^R01 message carries.
///
/// Takes: MSH-9 `ORU^R01`; MSH-10 present; exactly one PID with an MRN in PID-3; at least one
/// OBX, each with OBX-2 `NM`, a LOINC code in OBX-3 (OBX-3.3 `LN` or empty) that
/// [`Analyte::from_loinc`] knows, the value in OBX-5, its unit in OBX-6 and status `F` or `C`
/// in OBX-11; and one time the blood was taken for all of them: OBR-7 of the OBR the OBX
/// follows, or the OBX's own OBX-14 where OBR-7 is empty. The values are then checked as
/// [`BloodCount::parse`] checks any count (units converted or refused, plausible values, the
/// differential within the white cell count, not taken after `now`).
///
/// HL7 reads a time without an offset as the sender's local time; Marrow has no way to know
/// that zone, so it reads such a time as UTC. Laboratories should send the offset.
pub fn blood_count_from_oru(message: &str, now: Timestamp) -> Result<IncomingCount, IntakeError> {
    let parsed = parse(message).map_err(unreadable)?;
    let msh = parsed.segment("MSH").ok_or_else(|| unreadable(Hl7Error::NotMsh))?;
    let (kind, trigger) = (msh.component(9, 1), msh.component(9, 2));
    if (kind, trigger) != ("ORU", "R01") {
        let what = if kind.is_empty() && trigger.is_empty() {
            "the message type is empty".to_owned()
        } else {
            format!("{kind}^{trigger} is not an unsolicited result message")
        };
        return Err(IntakeError::new(
            "MSH-9",
            format!("{what}; Marrow takes blood counts as ORU^R01"),
        ));
    }
    let control_id = msh.field(10).trim();
    if control_id.is_empty() {
        return Err(IntakeError::new(
            "MSH-10",
            "the message control ID is empty; it is needed to acknowledge the message",
        ));
    }
    let facility = match msh.component(4, 1).trim() {
        "" => msh.component(4, 2).trim(),
        namespace => namespace,
    };
    let mrn = patient(&parsed)?;
    let observations = observations(&parsed)?;
    let (taken_at, time_location) = taken_at(&observations)?;
    let raw: Vec<RawResult<'_>> = observations
        .iter()
        .map(|o| RawResult { analyte: o.analyte, value: o.value, unit: o.unit })
        .collect();
    let count = BloodCount::parse(taken_at, &raw, now).map_err(|e| {
        let target = Target::of(&e);
        let location = match target {
            Target::Value(a) => located(&observations, a, 5),
            Target::Unit(a) => located(&observations, a, 6),
            Target::TakenAt => Some(time_location.clone()),
            Target::Count => None,
        };
        IntakeError::new(location.unwrap_or_else(|| "OBX".to_owned()), target.sentence(&e.message))
    })?;
    let originals = raw
        .iter()
        .map(|r| (r.analyte, r.value.trim().to_owned(), r.unit.trim().to_owned()))
        .collect();
    Ok(IncomingCount {
        control_id: control_id.to_owned(),
        sending_facility: facility.to_owned(),
        mrn,
        count,
        originals,
    })
}

/// The location of `field` of the OBX that carried `analyte`.
fn located(observations: &[Observation<'_>], analyte: Analyte, field: usize) -> Option<String> {
    observations.iter().find(|o| o.analyte == analyte).map(|o| o.at(field))
}

/// The reader's error as an intake error; the reader's messages already name the place.
fn unreadable(error: Hl7Error) -> IntakeError {
    let location = match &error {
        Hl7Error::Empty | Hl7Error::NotMsh => "MSH".to_owned(),
        Hl7Error::BadEncodingCharacters => "MSH-2".to_owned(),
        Hl7Error::BadSegmentId { index } => format!("segment {index}"),
        Hl7Error::UnterminatedEscape { segment, field, .. } => format!("{segment}-{field}"),
        _ => "message".to_owned(),
    };
    IntakeError::new(location, error.to_string())
}

/// The MRN of the one patient the message is about.
fn patient(message: &Message) -> Result<String, IntakeError> {
    let mut pids = message.segments("PID");
    let Some(pid) = pids.next() else {
        return Err(IntakeError::new("PID", "the message has no PID segment: whose count is it?"));
    };
    if pids.next().is_some() {
        return Err(IntakeError::new(
            "PID",
            "the message holds more than one patient; send each patient's count as its own message",
        ));
    }
    let id = pid.component(3, 1);
    if id.trim().is_empty() {
        return Err(IntakeError::new("PID-3", "the medical record number is empty"));
    }
    let mrn = Mrn::parse(id).map_err(|e| {
        IntakeError::new("PID-3", format!("the medical record number {}", e.message))
    })?;
    Ok(mrn.reveal().to_owned())
}

/// Every OBX, checked one by one in message order, with the OBR it follows.
fn observations(message: &Message) -> Result<Vec<Observation<'_>>, IntakeError> {
    let obr_total = message.segments("OBR").count();
    let mut obr: Option<(usize, &Segment)> = None;
    let mut out: Vec<Observation<'_>> = Vec::new();
    for segment in message.all() {
        match segment.id() {
            "OBR" => obr = Some((obr.map_or(1, |(n, _)| n + 1), segment)),
            "OBX" => {
                let number = out.len() + 1;
                let taken_at = match obr {
                    Some((n, s)) if !s.field(7).trim().is_empty() => {
                        let place = if obr_total > 1 {
                            format!("OBR {n} (OBR-7)")
                        } else {
                            "OBR-7".to_owned()
                        };
                        (s.field(7), place)
                    }
                    _ => (segment.field(14), obx_location(number, 14)),
                };
                let observation = observation(segment, number, taken_at)?;
                if let Some(first) = out.iter().find(|o| o.analyte == observation.analyte) {
                    return Err(IntakeError::new(
                        observation.at(3),
                        format!(
                            "{} ({}) is given twice: OBX {} has it already",
                            observation.analyte.label(),
                            observation.analyte.loinc(),
                            first.number
                        ),
                    ));
                }
                out.push(observation);
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(IntakeError::new("OBX", "the message has no OBX segment: there is no result"));
    }
    Ok(out)
}

fn observation<'m>(
    obx: &'m Segment,
    number: usize,
    taken_at: (&'m str, String),
) -> Result<Observation<'m>, IntakeError> {
    let at = |field| obx_location(number, field);
    // The status first: a preliminary result is refused for being preliminary, whatever else
    // is wrong with it.
    match obx.field(11).trim() {
        "F" | "C" => {}
        status => {
            return Err(IntakeError::new(
                at(11),
                format!(
                    "{}; Marrow stores final (F) or corrected (C) results only",
                    status_phrase(status)
                ),
            ));
        }
    }
    let value_type = obx.field(2).trim();
    if value_type != "NM" {
        let shown =
            if value_type.is_empty() { "empty".to_owned() } else { format!("{value_type:?}") };
        return Err(IntakeError::new(
            at(2),
            format!("the value type is {shown}, not NM: blood count values are numbers"),
        ));
    }
    let code = obx.component(3, 1).trim();
    let system = obx.component(3, 3).trim();
    if !system.is_empty() && system != "LN" {
        return Err(IntakeError::new(
            at(3),
            format!("the code is in coding system {system:?}, not LN: Marrow reads LOINC codes"),
        ));
    }
    if code.is_empty() {
        return Err(IntakeError::new(at(3), "the observation has no code; send its LOINC code"));
    }
    let Some(analyte) = Analyte::from_loinc(code) else {
        let known: Vec<String> =
            Analyte::ALL.iter().map(|a| format!("{} {}", a.loinc(), a.code())).collect();
        return Err(IntakeError::new(
            at(3),
            format!(
                "LOINC {code:?} is not a blood count code Marrow takes; it takes {}",
                known.join(", ")
            ),
        ));
    };
    if obx.get(5).is_some_and(|f| f.repetitions().len() > 1) {
        return Err(IntakeError::new(at(5), "holds more than one value; send one per OBX"));
    }
    Ok(Observation { number, analyte, value: obx.field(5), unit: obx.component(6, 1), taken_at })
}

/// An OBX-11 result status other than F or C, in words (HL7 table 0085).
fn status_phrase(status: &str) -> String {
    let meaning = match status {
        "" => return "the result status is empty".to_owned(),
        "P" => "preliminary",
        "X" => "cancelled (results cannot be obtained)",
        "D" => "a deletion",
        "W" => "withdrawn as wrong",
        "R" => "not yet verified",
        "S" => "partial",
        "I" => "pending (specimen in the laboratory)",
        "N" => "not asked for",
        "O" => "an order detail, not a result",
        "U" => "a status change without the result",
        _ => return format!("{status:?} is not a result status (HL7 table 0085)"),
    };
    format!("the result is {meaning} ({status})")
}

/// The one time the blood was taken, and where the message said it.
fn taken_at(observations: &[Observation<'_>]) -> Result<(Timestamp, String), IntakeError> {
    let mut first: Option<(Timestamp, &Observation<'_>)> = None;
    for o in observations {
        let (raw, location) = &o.taken_at;
        if raw.trim().is_empty() {
            return Err(IntakeError::new(
                location.clone(),
                format!(
                    "no time the blood was taken: OBR-7 and OBX-14 of OBX {} are both empty",
                    o.number
                ),
            ));
        }
        let at = parse_ts(raw).ok_or_else(|| {
            IntakeError::new(
                location.clone(),
                format!(
                    "{:?} is not an HL7 date and time; use YYYYMMDDHHMM[SS[.SSSS]][+/-ZZZZ], \
                     to the minute at least",
                    raw.trim()
                ),
            )
        })?;
        match first {
            None => first = Some((at, o)),
            Some((t, f)) if t != at => {
                return Err(IntakeError::new(
                    location.clone(),
                    format!(
                        "OBX {} was taken at {at}, OBX {} at {t}: one message must hold one count",
                        o.number, f.number
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    match first {
        Some((at, o)) => Ok((at, o.taken_at.1.clone())),
        None => Err(IntakeError::new("OBX", "the message has no OBX segment: there is no result")),
    }
}

/// An HL7 v2.5.1 TS/DTM to the minute or finer: `YYYYMMDDHHMM[SS[.S[S[S[S]]]]][+/-ZZZZ]`
/// (Ch. 2A, DTM). Fractions of a second are dropped; no offset is read as UTC.
fn parse_ts(raw: &str) -> Option<Timestamp> {
    let raw = raw.trim();
    let (clock, zone) = match raw.find(['+', '-']) {
        Some(i) => (&raw[..i], Some(&raw[i..])),
        None => (raw, None),
    };
    let (digits, fraction) = match clock.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (clock, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !matches!(digits.len(), 12 | 14) || !all_digits(digits) {
        return None;
    }
    if let Some(f) = fraction
        && (digits.len() != 14 || f.len() > 4 || !all_digits(f))
    {
        return None;
    }
    // Only ASCII digits from here, so byte offsets are character boundaries.
    let seconds = digits.get(12..14).map_or(String::new(), |s| format!(":{s}"));
    let offset = match zone {
        None => "Z".to_owned(),
        Some(z) if z.len() == 5 && all_digits(&z[1..]) => format!("{}:{}", &z[..3], &z[3..]),
        Some(_) => return None,
    };
    let text = format!(
        "{}-{}-{}T{}:{}{seconds}{offset}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12]
    );
    Timestamp::parse("taken_at", &text).ok()
}

/// MSA-3 is ST of at most 80 characters in v2.5.1; ERR-8 (user message) TX of at most 250.
const MSA_3_LENGTH: usize = 80;
const ERR_8_LENGTH: usize = 250;

/// The ACK for a message Marrow refused or accepted with a remark: as [`ack_for`](super::ack_for)
/// (MSA-1 `code`, MSA-2 the original MSH-10, this ACK's own MSH-10 `control_id`), with `error`
/// in MSA-3 (for receivers of versions before 2.4, which read only that) and in an ERR segment
/// (ERR-3 `207`, application error, HL7 table 0357; ERR-4 severity `E`, or `W` when `code`
/// accepts the message; ERR-8 the text). Each is cut to its field's length with `…`, and
/// escaped.
///
/// Answer an [`IntakeError`] with [`AckCode::ApplicationError`]: resending the same message
/// would fail the same way. The text goes back to the sender: pass the [`IntakeError`]'s
/// display, which names no patient.
pub fn ack_with_error(
    message: &str,
    code: AckCode,
    control_id: &str,
    at: Timestamp,
    error: &str,
) -> String {
    let (msh, original_id) = ack_header(message, control_id, at);
    let severity = if code.is_accept() { "W" } else { "E" };
    format!(
        "{msh}\rMSA|{}|{original_id}|{}\rERR|||207^Application internal error^HL70357|{severity}||||{}\r",
        code.code(),
        escape(&clip(error, MSA_3_LENGTH)),
        escape(&clip(error, ERR_8_LENGTH)),
    )
}

/// `text` on one line and at most `limit` characters, ending in `…` when cut.
fn clip(text: &str, limit: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= limit {
        return one_line;
    }
    let mut out: String = one_line.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits a file or stream of messages into single messages, each with `\r` after every
/// segment, ready for [`blood_count_from_oru`].
///
/// Segments may end with `\r`, `\n` or `\r\n`; each `MSH|` starts a message. MLLP framing
/// (0x0B … 0x1C 0x0D), a UTF-8 byte order mark, blank lines and the batch envelope (FHS, BHS,
/// BTS, FTS; HL7 v2.5.1 Ch. 2, batch protocol) are dropped. Text before the first MSH is
/// returned as a piece of its own rather than dropped, so the caller refuses it (it is not a
/// message) and keeps it for review instead of losing it silently.
pub fn split_batch(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut messages: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.split(['\r', '\n', '\u{0b}', '\u{1c}']) {
        if line.trim().is_empty() || is_envelope(line) {
            continue;
        }
        if line.starts_with("MSH|") && !current.is_empty() {
            messages.push(std::mem::take(&mut current));
        }
        current.push_str(line);
        current.push('\r');
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

/// A batch or file header or trailer segment.
fn is_envelope(line: &str) -> bool {
    let id = line.get(..3).unwrap_or("");
    let rest = line.get(3..).unwrap_or("x");
    matches!(id, "FHS" | "BHS" | "BTS" | "FTS")
        && rest.chars().next().is_none_or(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hl7_times_read_to_the_minute_second_and_offset() {
        let cases = [
            ("202611230830", "2026-11-23T08:30:00Z"),
            ("20261123083015", "2026-11-23T08:30:15Z"),
            ("20261123083015.1234", "2026-11-23T08:30:15Z"),
            ("20261123083015.5+0100", "2026-11-23T07:30:15Z"),
            ("202611230830-0500", "2026-11-23T13:30:00Z"),
            (" 202611230830+0000 ", "2026-11-23T08:30:00Z"),
            ("202601010030+0130", "2025-12-31T23:00:00Z"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse_ts(raw).map(Timestamp::to_rfc3339).as_deref(),
                Some(expected),
                "{raw}"
            );
        }
        for bad in [
            "",
            "20261123",
            "2026112308",
            "2026112308301",
            "202611230830.5",
            "20261123083015.12345",
            "20261123083015.",
            "202611230830+01",
            "202611230830+01:00",
            "202611302460",
            "202602300830",
            "2026-11-23T08:30",
            "20261123083a",
            "202611230830+1500",
            "２０２６１１２３０８３０",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn clipping_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("short", 80), "short");
        assert_eq!(clip("two\nlines", 80), "two lines");
        let long = "é".repeat(100);
        let cut = clip(&long, 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.ends_with("é…"));
    }

    #[test]
    fn envelope_segments_are_recognised_by_their_id() {
        for line in ["FHS|^~\\&|LAB", "BHS|^~\\&", "BTS|3", "FTS|1", "BTS"] {
            assert!(is_envelope(line), "{line}");
        }
        for line in ["MSH|^~\\&", "FHSX|1", "OBX|1", "BT", ""] {
            assert!(!is_envelope(line), "{line}");
        }
    }
}
