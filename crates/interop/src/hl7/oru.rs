//! ORU^R01 (unsolicited observation result) for one signed report version, HL7 v2.5.1 Ch. 7.
//!
//! Do not change the shape casually: receiving systems are configured against it. The
//! structure is 2.5.1's ORU_R01 (HL7 v2.5.1 Ch. 7, ORU^R01), as hl7apy checks it in the tests:
//!
//! ```text
//! MSH
//! PATIENT_RESULT
//!   PATIENT            PID
//!   ORDER_OBSERVATION  ORC, OBR, NTE*          amendment reason, order, reference table, flags
//!     OBSERVATION*     OBX, NTE*               aspirate, counts (+ cells and 95% limits), text
//!     SPECIMEN*        SPM                     one per specimen taken
//! ```
//!
//! What goes where, and why:
//! - Counts are `NM` OBX with UCUM units, the printed reference interval and an H/L/N flag;
//!   their code is LOINC only where clinical reference §7.1 confirms one, with Marrow's local
//!   code as the alternate, and the local code alone otherwise (never a guessed LOINC).
//! - The synoptic text fields and the aspirate findings are `FT` OBX with local codes: each is
//!   something the pathologist observed and signed, so a receiver can file and display each
//!   under its own heading, and FT carries line breaks (`\.br\`).
//! - The interpretive flags are NTE under the OBR, not OBX: they are advisories computed for
//!   the pathologist ("not a diagnosis"), and an OBX would invite a receiving system to file
//!   them as results. The amendment reason, the order's indication and clinical details, and
//!   the reference table the intervals come from are NTE there too (text about the report, not
//!   observations); the cells counted and exact 95% limits of each percentage are an NTE under
//!   its OBX.
//! - An amended version goes out as a correction: OBR-25 and every OBX-11 are `C`, with the same
//!   placer and filler order numbers as the original, so the receiver replaces it (Ch. 7,
//!   OBR-25 and OBX-11).

use marrow_domain::patient::Sex;
use marrow_domain::reference::RangeStatus;
use marrow_domain::specimen::Tube;
use marrow_domain::time::{Date, Timestamp};

use super::escape::{escape, escape_text};
use crate::report_text::aspirate_lines;
use crate::signed::{ResultLine, ResultUnit, SignedReport, loinc};

/// The coding system name of Marrow's local codes (result classes, text fields, comment types).
/// HL7 table 0396 reserves names starting `99` for locally defined coding systems.
pub const LOCAL_CODING_SYSTEM: &str = "99MRW";

/// MSH-11: whether the message is real, for training, or for debugging (HL7 table 0103).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingId {
    /// `P`: production.
    Production,
    /// `T`: training.
    Training,
    /// `D`: debugging.
    Debugging,
}

impl ProcessingId {
    /// The HL7 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Production => "P",
            Self::Training => "T",
            Self::Debugging => "D",
        }
    }
}

/// Who sends the message to whom, its ID and when it was created: MSH-3 to MSH-7, MSH-10 and
/// MSH-11. The caller supplies all of it; this crate reads no clock and invents no IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MSH-3, e.g. `MARROW`. Also the namespace of the order numbers and specimen IDs.
    pub sending_application: String,
    /// MSH-4, the hospital; also the assigning authority of the MRN in PID-3.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// MSH-10: unique per message, at most 20 characters (HL7 v2.5.1 length); the ACK
    /// quotes it in MSA-2.
    pub message_control_id: String,
    /// MSH-7.
    pub created_at: Timestamp,
    /// MSH-11.
    pub processing_id: ProcessingId,
}

/// The ORU^R01 message for one signed version, segments ending in `\r`.
///
/// Version 1 is sent as final (`F`); a later version as a correction (`C`) of it, carrying the
/// amendment reason. The patient's identifiers are in it: send it only to systems entitled to
/// them, and never log it.
pub fn oru_r01(report: &SignedReport<'_>, envelope: &Envelope) -> String {
    let mut out = String::new();
    out.push_str(&msh(envelope));
    out.push_str(&pid(report, envelope));
    let order_number = comps(&[&report.case_id.to_string(), &envelope.sending_application]);
    out.push_str(&orc(report, &order_number));
    out.push_str(&obr(report, &order_number));
    for (i, (text, kind)) in order_notes(report).iter().enumerate() {
        out.push_str(&nte(i + 1, text, *kind));
    }
    let status = result_status(report);
    let observed_at = report.procedure.map(|p| ts(p.performed_at));
    let mut set_id = 0;
    let mut next = || {
        set_id += 1;
        set_id
    };
    if let Some(aspirate) = report.aspirate {
        for (heading, text) in aspirate_lines(aspirate) {
            let code = comps(&[&aspirate_code(heading), heading, LOCAL_CODING_SYSTEM]);
            out.push_str(&text_obx(next(), &code, &text, status, observed_at.as_deref()));
        }
    }
    let total = report.differential.total_with(report.rules);
    for line in report.results() {
        out.push_str(&numeric_obx(next(), &line, status, observed_at.as_deref()));
        if let Some(note) = count_note(&line, total) {
            out.push_str(&nte(1, &note, COUNT_NOTE));
        }
    }
    for field in report.content.fields() {
        if let Some(text) = &field.text {
            let code = comps(&[field.name, field.heading, LOCAL_CODING_SYSTEM]);
            out.push_str(&text_obx(next(), &code, text, status, observed_at.as_deref()));
        }
    }
    for (i, specimen) in report.specimens.iter().enumerate() {
        out.push_str(&spm(i + 1, report, specimen, envelope));
    }
    out
}

/// The kinds of NTE this message writes (NTE-4, comment type: HL7 table 0364 is user-defined,
/// and none of its suggested values fits, so these are local codes).
type NoteKind = (&'static str, &'static str);
const AMENDMENT_NOTE: NoteKind = ("amendment-reason", "Reason for amendment");
const ORDER_NOTE: NoteKind = ("order-details", "Indication and clinical details from the order");
const REFERENCE_NOTE: NoteKind = ("reference-table", "Reference intervals used");
const FLAG_NOTE: NoteKind = ("flag", "Interpretive flag shown at sign-out; not a diagnosis");
const COUNT_NOTE: NoteKind = ("count-limits", "Cells counted and exact 95% limits");

/// `C` for an amended version, `F` for the original (table 0123 for OBR-25, 0085 for OBX-11).
fn result_status(report: &SignedReport<'_>) -> &'static str {
    if report.is_amended() { "C" } else { "F" }
}

/// HL7 v2.5.1 Ch. 2, MSH. MSH-15 and MSH-16 stay empty: original acknowledgement mode
/// (Ch. 2, acknowledgement rules), one ACK per message, which is what the server's sender waits for.
fn msh(e: &Envelope) -> String {
    // In MSH, position n after the segment ID is MSH-(n+1): MSH-1 is the separator itself.
    Seg::new("MSH")
        .set(1, "^~\\&")
        .set(2, escape(&e.sending_application))
        .set(3, escape(&e.sending_facility))
        .set(4, escape(&e.receiving_application))
        .set(5, escape(&e.receiving_facility))
        .set(6, ts(e.created_at))
        .set(8, "ORU^R01^ORU_R01")
        .set(9, escape(&e.message_control_id))
        .set(10, e.processing_id.code())
        .set(11, "2.5.1")
        // MSH-18: names and free text may be non-ASCII.
        .set(17, "UNICODE UTF-8")
        .end()
}

/// HL7 v2.5.1 Ch. 3, PID.
fn pid(r: &SignedReport<'_>, e: &Envelope) -> String {
    let p = r.patient;
    Seg::new("PID")
        .set(1, "1")
        // CX: ID ^^^ assigning authority (HD) ^ identifier type MR, medical record number.
        .set(3, format!("{}^^^{}^MR", escape(p.mrn.reveal()), escape(&e.sending_facility)))
        .set(5, comps(&[p.family_name.reveal(), p.given_name.reveal()]))
        .set(7, date(p.date_of_birth))
        .set(8, administrative_sex(p.sex))
        .end()
}

/// Table 0001. Marrow's codes are FHIR's AdministrativeGender, which maps one to one.
fn administrative_sex(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "F",
        Sex::Male => "M",
        Sex::Other => "O",
        Sex::Unknown => "U",
    }
}

/// HL7 v2.5.1 Ch. 4, ORC: RE, "observations to follow"; the order is complete (CM).
fn orc(r: &SignedReport<'_>, order_number: &str) -> String {
    Seg::new("ORC")
        .set(1, "RE")
        .set(2, order_number)
        .set(3, order_number)
        .set(5, "CM")
        .set(9, ts(r.signed_at))
        .set(12, person(r.ordered_by))
        .end()
}

/// HL7 v2.5.1 Ch. 7, OBR.
fn obr(r: &SignedReport<'_>, order_number: &str) -> String {
    let (code, name) = loinc::REPORT;
    let kind = r.order.indication.kind();
    let mut seg = Seg::new("OBR")
        .set(1, "1")
        .set(2, order_number)
        .set(3, order_number)
        .set(4, comps(&[code, name, "LN"]))
        .set(16, person(r.ordered_by))
        // Results report/status change: when this version was signed.
        .set(22, ts(r.signed_at))
        // Table 0074: HM, haematology.
        .set(24, "HM")
        .set(25, result_status(r))
        .set(31, comps(&[kind.code(), kind.label(), LOCAL_CODING_SYSTEM]))
        // NDL: the name (CNN) is a component, so its parts are subcomponents. Marrow holds a
        // display name, not a structured one: all of it goes in the family-name part.
        .set(32, format!("&{}", escape(r.signed_by)));
    if let Some(p) = r.procedure {
        // OBR-7, observation date/time: for a specimen, when it was collected.
        seg = seg.set(7, ts(p.performed_at)).set(10, person(&p.operator));
    }
    seg.end()
}

/// The NTE under the OBR: amendment reason first, then the order, the reference table, and
/// each flag.
fn order_notes(r: &SignedReport<'_>) -> Vec<(String, NoteKind)> {
    let mut notes = Vec::new();
    if r.is_amended() {
        let reason = r.amendment_reason.unwrap_or("reason not stated");
        notes.push((reason.to_owned(), AMENDMENT_NOTE));
    }
    let mut order = format!(
        "Requested by {} on {}\nIndication: {}\nSampling: {}",
        r.ordered_by,
        r.ordered_at,
        r.order.indication,
        r.order.sampling.label()
    );
    if let Some(details) = &r.order.clinical_details {
        order.push_str("\nClinical details: ");
        order.push_str(details);
    }
    notes.push((order, ORDER_NOTE));
    // Marrow reference intervals are laboratory-specific (clinical reference §2.1): OBX-7 is
    // only meaningful with the table it came from.
    let table =
        format!("Reference intervals: {} (version {})", r.reference.name(), r.reference.version());
    notes.push((table, REFERENCE_NOTE));
    for flag in r.flags {
        notes.push((format!("{}\nSource: {}", flag.text, flag.source), FLAG_NOTE));
    }
    notes
}

/// HL7 v2.5.1 Ch. 2, NTE. NTE-2 `L`: the filler (the laboratory) is the source (table 0105).
fn nte(set_id: usize, text: &str, (code, name): NoteKind) -> String {
    Seg::new("NTE")
        .set(1, set_id.to_string())
        .set(2, "L")
        .set(3, escape_text(text))
        .set(4, comps(&[code, name, LOCAL_CODING_SYSTEM]))
        .end()
}

/// A count as NM (HL7 v2.5.1 Ch. 7, OBX). A value that cannot be calculated is sent without
/// one, as `X` ("results cannot be obtained for this observation", table 0085).
fn numeric_obx(set_id: usize, line: &ResultLine, status: &str, observed: Option<&str>) -> String {
    let mut seg = Seg::new("OBX")
        .set(1, set_id.to_string())
        .set(2, "NM")
        .set(3, result_code(line))
        .set(6, comps(&[line.unit.ucum(), unit_name(line.unit), "UCUM"]))
        .set(8, abnormal_flag(line.status))
        .set(11, status)
        .set(14, observed.unwrap_or_default());
    if let Some((low, high)) = &line.reference {
        seg = seg.set(7, escape(&format!("{low}-{high}")));
    }
    match line.value {
        // The value as the report prints it (one decimal for percent, two for the ratio), so
        // every format states the same number.
        Some(_) => seg.set(5, escape(&line.display)).end(),
        None => seg.set(11, "X").end(),
    }
}

/// LOINC (`LN`) with the local code as the alternate where §7.1 confirms one; local otherwise.
fn result_code(line: &ResultLine) -> String {
    // Reference-table groups other than the erythroid row share the local code "group"; the
    // label tells them apart, and OBX-3 must.
    let local = match line.code.local {
        "group" => format!("group-{}", slug(&line.label)),
        code => code.to_owned(),
    };
    match line.code.loinc {
        Some((code, name)) => comps(&[code, name, "LN", &local, &line.label, LOCAL_CODING_SYSTEM]),
        None => comps(&[&local, &line.label, LOCAL_CODING_SYSTEM]),
    }
}

/// The print name for OBX-6.2 (UCUM codes per clinical reference §7.1).
fn unit_name(unit: ResultUnit) -> &'static str {
    match unit {
        ResultUnit::Percent => "percent",
        ResultUnit::Ratio => "ratio",
        ResultUnit::Cells => "cells",
    }
}

/// Table 0078: H above, L below, N within the reference interval; nothing where the table has
/// no interval (none is invented) or there is no value.
fn abnormal_flag(status: RangeStatus) -> &'static str {
    match status {
        RangeStatus::Above => "H",
        RangeStatus::Below => "L",
        RangeStatus::Within => "N",
        RangeStatus::NoInterval | RangeStatus::NotCalculable => "",
    }
}

/// The cells behind a percentage and its exact 95% limits (clinical reference §4.2), which a
/// receiver needs to judge a value near a threshold.
fn count_note(line: &ResultLine, total: u32) -> Option<String> {
    let cells = line.cells?;
    let mut note = format!("{cells} of {total} nucleated cells counted");
    if let Some((low, high)) = line.limits_95 {
        note.push_str(&format!("; exact 95% limits {low:.1}-{high:.1}% (Clopper-Pearson)"));
    }
    Some(note)
}

/// Free text as FT.
fn text_obx(set_id: usize, code: &str, text: &str, status: &str, observed: Option<&str>) -> String {
    Seg::new("OBX")
        .set(1, set_id.to_string())
        .set(2, "FT")
        .set(3, code)
        .set(5, escape_text(text))
        .set(11, status)
        .set(14, observed.unwrap_or_default())
        .end()
}

/// Stable local codes for the aspirate findings, by the heading `aspirate_lines` gives them.
pub(crate) fn known_aspirate_code(heading: &str) -> Option<&'static str> {
    Some(match heading {
        "Particles" => "aspirate-particles",
        "Haemodilution" => "aspirate-haemodilution",
        "Trail cellularity" => "aspirate-trail-cellularity",
        "Particle cellularity" => "aspirate-particle-cellularity",
        "Megakaryocyte numbers" => "aspirate-megakaryocytes",
        "Iron stain (Perls')" => "aspirate-iron-stain",
        "Aspirate comment" => "aspirate-comment",
        _ => return None,
    })
}

/// A heading added later still gets a code (a unit test keeps the list complete).
fn aspirate_code(heading: &str) -> String {
    known_aspirate_code(heading)
        .map_or_else(|| format!("aspirate-{}", slug(heading)), str::to_owned)
}

/// HL7 v2.5.1 Ch. 7, SPM: one per specimen taken.
fn spm(
    set_id: usize,
    r: &SignedReport<'_>,
    s: &crate::signed::SpecimenLine,
    e: &Envelope,
) -> String {
    let tube = s.taken.tube;
    let mut seg = Seg::new("SPM")
        .set(1, set_id.to_string())
        // EIP: the placer-assigned EI, so its parts are subcomponents; Marrow prints the label.
        .set(2, subs(&[&s.id.to_string(), &e.sending_application]))
        // Table 0487: MAR, marrow. Every specimen here is marrow, aspirated or cored.
        .set(4, comps(&["MAR", "Marrow", "HL70487"]))
        .set(14, escape(&format!("{} to {}", tube.label(), s.taken.destination.label())))
        .set(27, comps(&[tube.code(), tube.label(), LOCAL_CODING_SYSTEM]));
    if tube == Tube::TrephineInFormalin {
        // Table 0488: BIO, biopsy. The table has no code for a marrow aspiration, so the
        // aspirated specimens leave SPM-7 empty rather than use a wrong one.
        seg = seg.set(7, comps(&["BIO", "Biopsy", "HL70488"]));
    }
    if let Some(p) = r.procedure {
        seg = seg
            .set(8, comps(&[p.site.code(), p.site.label(), LOCAL_CODING_SYSTEM]))
            .set(9, comps(&[p.side.code(), p.side.label(), LOCAL_CODING_SYSTEM]))
            .set(17, ts(p.performed_at));
    }
    if let Some(volume) = s.taken.volume_ml {
        // CQ: quantity ^ units (CE, so its parts are subcomponents).
        seg = seg.set(12, format!("{volume}^{}", subs(&["mL", "milliliter", "UCUM"])));
    }
    if let Some(at) = s.received_at {
        seg = seg.set(18, ts(at));
    }
    seg.end()
}

/// A person known by a display name only, as XCN: no ID, the whole name as the family name.
fn person(display: &str) -> String {
    format!("^{}", escape(display))
}

/// TS/DTM, `YYYYMMDDHHMMSS+0000`: Marrow's instants are UTC, and the offset says so (HL7
/// v2.5.1 Ch. 2A, DTM).
pub(super) fn ts(at: Timestamp) -> String {
    let t = at.to_rfc3339();
    format!("{}{}{}{}{}{}+0000", &t[0..4], &t[5..7], &t[8..10], &t[11..13], &t[14..16], &t[17..19])
}

/// A date as TS, `YYYYMMDD`.
fn date(d: Date) -> String {
    d.to_string().replace('-', "")
}

/// Components, each escaped, joined with `^`; trailing empty ones left off.
fn comps(parts: &[&str]) -> String {
    join(parts, '^')
}

/// Subcomponents, each escaped, joined with `&`; trailing empty ones left off.
fn subs(parts: &[&str]) -> String {
    join(parts, '&')
}

fn join(parts: &[&str], separator: char) -> String {
    let used = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
    let escaped: Vec<String> = parts[..used].iter().map(|p| escape(p)).collect();
    escaped.join(&separator.to_string())
}

/// Lower-case ASCII letters and digits, anything else one hyphen.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A segment being written: its ID, then already-encoded fields by position.
struct Seg(Vec<String>);

impl Seg {
    fn new(id: &str) -> Self {
        Self(vec![id.to_owned()])
    }

    /// Field `n` (position `n` after the ID), already encoded.
    fn set(mut self, n: usize, encoded: impl Into<String>) -> Self {
        if self.0.len() <= n {
            self.0.resize(n + 1, String::new());
        }
        self.0[n] = encoded.into();
        self
    }

    /// The segment with its terminator; trailing empty fields left off.
    fn end(mut self) -> String {
        while self.0.len() > 1 && self.0.last().is_some_and(String::is_empty) {
            self.0.pop();
        }
        let mut text = self.0.join("|");
        text.push('\r');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::aspirate::{Aspirate, AspirateInput};

    #[test]
    fn every_aspirate_heading_has_a_stable_code() {
        let aspirate = Aspirate::parse(&AspirateInput {
            particles: "adequate",
            trail_cellularity: "normocellular",
            particle_cellularity: "normocellular",
            haemodilution: "none",
            megakaryocytes: "normal",
            iron_stain: "2",
            ring_sideroblasts: "",
            particles_examined_for_iron: "",
            comment: "A comment, so the comment line is there too.",
        })
        .expect("aspirate");
        let lines = aspirate_lines(&aspirate);
        assert_eq!(lines.len(), 7);
        for (heading, _) in lines {
            assert!(known_aspirate_code(heading).is_some(), "no code for {heading:?}");
        }
        assert_eq!(aspirate_code("Something New (x)"), "aspirate-something-new-x");
    }

    #[test]
    fn a_group_row_gets_a_local_code_of_its_own_and_loinc_keeps_the_local_one_as_alternate() {
        use crate::signed::ResultCode;
        let line = |local, loinc, label: &str| ResultLine {
            code: ResultCode { local, loinc },
            label: label.to_owned(),
            cells: Some(1),
            value: Some(1.0),
            display: "1.0".to_owned(),
            unit: ResultUnit::Percent,
            limits_95: None,
            reference: None,
            status: RangeStatus::NoInterval,
        };
        assert_eq!(
            result_code(&line("group", None, "Neutrophils & precursors")),
            "group-neutrophils-precursors^Neutrophils \\T\\ precursors^99MRW"
        );
        assert_eq!(
            result_code(&line("me-ratio", Some(loinc::ME_RATIO), "M:E")),
            "11138-5^Myeloid cells/Erythroid cells [# Ratio] in Bone marrow^LN^me-ratio^M:E^99MRW"
        );
    }

    #[test]
    fn instants_are_utc_with_an_explicit_offset() {
        let at = Timestamp::parse("at", "2026-11-24T10:05:09+01:00").unwrap();
        assert_eq!(ts(at), "20261124090509+0000");
        assert_eq!(date(Date::parse("d", "1958-06-15").unwrap()), "19580615");
    }

    #[test]
    fn composites_escape_each_part_and_drop_trailing_empties() {
        assert_eq!(comps(&["a^b", "c&d", "", ""]), "a\\S\\b^c\\T\\d");
        assert_eq!(subs(&["1", "X&Y"]), "1&X\\T\\Y");
        assert_eq!(comps(&["", ""]), "");
        assert_eq!(Seg::new("NTE").set(1, "1").set(4, "").end(), "NTE|1\r");
    }

    #[test]
    fn flags_and_sex_follow_the_hl7_tables() {
        assert_eq!(abnormal_flag(RangeStatus::Above), "H");
        assert_eq!(abnormal_flag(RangeStatus::Below), "L");
        assert_eq!(abnormal_flag(RangeStatus::Within), "N");
        assert_eq!(abnormal_flag(RangeStatus::NoInterval), "");
        let codes: Vec<_> = Sex::ALL.iter().map(|s| administrative_sex(*s)).collect();
        assert_eq!(codes, ["F", "M", "O", "U"]);
    }
}
