//! Everything one signed report version states, gathered once, so the page, the plain text,
//! the PDF, the FHIR bundle and the HL7 message all say the same thing.

use marrow_domain::aspirate::Aspirate;
use marrow_domain::blood_count::BloodCount;
use marrow_domain::flags::Flag;
use marrow_domain::ids::{CaseId, SpecimenId};
use marrow_domain::morphology::{CountingRules, Differential};
use marrow_domain::order::Order;
use marrow_domain::patient::Patient;
use marrow_domain::procedure::ProcedureNote;
use marrow_domain::reference::ReferenceTable;
use marrow_domain::report::ReportContent;
use marrow_domain::specimen::SpecimenTaken;
use marrow_domain::time::Timestamp;

/// A specimen of the case, with the id printed on its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecimenLine {
    /// The id on the label.
    pub id: SpecimenId,
    /// Tube, destination and volume.
    pub taken: SpecimenTaken,
    /// When the laboratory received it, if it has.
    pub received_at: Option<Timestamp>,
}

/// One signed version of a case's report with everything it states.
#[derive(Debug, Clone, Copy)]
pub struct SignedReport<'a> {
    /// The case.
    pub case_id: CaseId,
    /// The patient.
    pub patient: &'a Patient,
    /// The identifier system (a URI) of the register that issued the patient's MRN: the site's
    /// EHR, so that a receiver matches the patient (FHIR `Patient.identifier.system`).
    pub mrn_system: &'a str,
    /// The order (indication, sampling, clinical details with the blood count).
    pub order: &'a Order,
    /// The requesting clinician, as displayed.
    pub ordered_by: &'a str,
    /// When the order was placed.
    pub ordered_at: Timestamp,
    /// The procedure note (site, operator, when), once recorded.
    pub procedure: Option<&'a ProcedureNote>,
    /// The specimens taken.
    pub specimens: &'a [SpecimenLine],
    /// Version number (1 = original sign-out).
    pub version: i64,
    /// The latest version number of this report, to mark superseded versions.
    pub latest_version: i64,
    /// The signed content.
    pub content: &'a ReportContent,
    /// The differential as signed.
    pub differential: &'a Differential,
    /// The site's exclusions from the denominator this version was signed under.
    pub rules: &'a CountingRules,
    /// The reference table the counts are compared with.
    pub reference: &'a ReferenceTable,
    /// The aspirate findings as signed (particles, haemodilution, megakaryocytes, iron);
    /// absent only on versions signed before they were frozen with the report.
    pub aspirate: Option<&'a Aspirate>,
    /// The interpretive flags shown to the pathologist when this version was signed.
    pub flags: &'a [Flag],
    /// Why it was amended (versions after 1).
    pub amendment_reason: Option<&'a str>,
    /// Who signed.
    pub signed_by: &'a str,
    /// When.
    pub signed_at: Timestamp,
    /// The patient's latest blood count taken before the marrow, if any.
    pub blood_count: Option<&'a BloodCount>,
}

impl SignedReport<'_> {
    /// Whether this version amends an earlier one.
    pub fn is_amended(&self) -> bool {
        self.version > 1
    }

    /// Whether a later version replaces this one.
    pub fn is_superseded(&self) -> bool {
        self.version < self.latest_version
    }
}

/// What a result's value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultUnit {
    /// Percent of the nucleated differential count (UCUM `%`).
    Percent,
    /// Myeloid cells per erythroid cell (UCUM `{ratio}`).
    Ratio,
    /// A number of cells (UCUM `{cells}`).
    Cells,
}

impl ResultUnit {
    /// The UCUM code (clinical reference §7.1: `%` and `{ratio}`; the UCUM choice is a design
    /// convention \[U\]).
    pub fn ucum(self) -> &'static str {
        match self {
            Self::Percent => "%",
            Self::Ratio => "{ratio}",
            Self::Cells => "{cells}",
        }
    }
}

/// A code for a result: LOINC where the clinical reference confirms one (§7.1), a local code
/// otherwise (never a guessed LOINC: the reference lists known-wrong mappings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCode {
    /// The local code, always present (`blasts`, `erythroid-precursors`, `me-ratio`).
    pub local: &'static str,
    /// The LOINC code and its long common name, where confirmed.
    pub loinc: Option<(&'static str, &'static str)>,
}

/// LOINC codes confirmed in clinical reference §7.1 (each check digit validates, §7.4).
pub mod loinc {
    /// Bone marrow aspiration report.
    pub const REPORT: (&str, &str) = ("48807-2", "Bone marrow aspiration report");
    /// M:E ratio.
    pub const ME_RATIO: (&str, &str) =
        ("11138-5", "Myeloid cells/Erythroid cells [# Ratio] in Bone marrow");
    /// Total cells counted.
    pub const CELLS_COUNTED: (&str, &str) = ("38257-2", "Cells Counted Total [#] in Bone marrow");
    /// Basophils by manual count.
    pub const BASOPHILS: (&str, &str) =
        ("11105-4", "Basophils/cells in Bone marrow by Manual count");
    /// Lymphocytes by manual count.
    pub const LYMPHOCYTES: (&str, &str) =
        ("11108-8", "Lymphocytes/cells in Bone marrow by Manual count");
    /// Mast cells by manual count.
    pub const MAST_CELLS: (&str, &str) =
        ("11109-6", "Mast cells/cells in Bone marrow by Manual count");
    /// Erythroid cells (all stages) by manual count.
    pub const ERYTHROID: (&str, &str) =
        ("40689-2", "Erythroid cells/cells in Bone marrow by Manual count");
}

/// One reportable result of the count, in report order.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultLine {
    /// Its code.
    pub code: ResultCode,
    /// The label the report prints.
    pub label: String,
    /// Cells counted for this line (percent lines only).
    pub cells: Option<u32>,
    /// The value (percent, ratio or number); `None` when not calculable.
    pub value: Option<f64>,
    /// The value as printed (one decimal for percent, two for the ratio).
    pub display: String,
    /// Its unit.
    pub unit: ResultUnit,
    /// Exact 95% limits in percent (percent lines only).
    pub limits_95: Option<(f64, f64)>,
    /// The reference interval as printed (`"0"`, `"2"`), where the table has one.
    pub reference: Option<(String, String)>,
    /// Where the value falls against the reference.
    pub status: marrow_domain::reference::RangeStatus,
}

impl SignedReport<'_> {
    /// The results in report order: each row of the reference table (a class, or a group such as
    /// all erythroid precursors), then each class of a group on its own line (no interval of its
    /// own), then the M:E ratio (ICSH convention) and the number of cells counted. Classes the
    /// site leaves out of the denominator are not results.
    pub fn results(&self) -> Vec<ResultLine> {
        use marrow_domain::reference::RangeStatus;
        use marrow_domain::stats::clopper_pearson_95;
        let d = self.differential;
        let total = d.total_with(self.rules);
        let percent_line =
            |code: ResultCode,
             label: &str,
             k: u32,
             result: Option<&marrow_domain::reference::RangeResult>| {
                let value = (total > 0).then(|| 100.0 * f64::from(k) / f64::from(total));
                ResultLine {
                    code,
                    label: label.to_owned(),
                    cells: Some(k),
                    value,
                    display: result.and_then(|r| r.observed).map_or_else(
                        || value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}")),
                        |t| format!("{:.1}", t.as_f64()),
                    ),
                    unit: ResultUnit::Percent,
                    limits_95: clopper_pearson_95(k, total)
                        .ok()
                        .map(|i| (i.lower_percent(), i.upper_percent())),
                    reference: result
                        .and_then(|r| r.limits)
                        .map(|l| (l.low.to_string(), l.high.to_string())),
                    status: result.map_or(
                        if value.is_some() {
                            RangeStatus::NoInterval
                        } else {
                            RangeStatus::NotCalculable
                        },
                        |r| r.status,
                    ),
                }
            };
        let checked = self.reference.check(d, self.rules);
        let mut out = Vec::new();
        let mut grouped = Vec::new();
        for (row, result) in self.reference.rows().iter().zip(&checked) {
            let counted: Vec<_> =
                row.classes.iter().copied().filter(|c| self.rules.counts(*c)).collect();
            if counted.is_empty() {
                continue;
            }
            let k = counted.iter().map(|c| d.count(*c)).sum();
            let code = match counted.as_slice() {
                [single] => ResultCode { local: single.code(), loinc: class_loinc(*single) },
                _ if counted
                    .iter()
                    .all(|c| c.me_side() == marrow_domain::morphology::MeSide::Erythroid) =>
                {
                    ResultCode { local: "erythroid-precursors", loinc: Some(loinc::ERYTHROID) }
                }
                _ => ResultCode { local: "group", loinc: None },
            };
            out.push(percent_line(code, &row.label, k, Some(result)));
            if counted.len() > 1 {
                grouped.extend(counted);
            }
        }
        for class in grouped {
            let code = ResultCode { local: class.code(), loinc: class_loinc(class) };
            out.push(percent_line(code, class.label(), d.count(class), None));
        }
        let me = self.reference.check_me(d);
        let ratio = match me.observed {
            marrow_domain::morphology::MeRatio::Ratio(r) => Some(r),
            marrow_domain::morphology::MeRatio::NotCalculable => None,
        };
        out.push(ResultLine {
            code: ResultCode { local: "me-ratio", loinc: Some(loinc::ME_RATIO) },
            label: "M:E ratio (ICSH)".to_owned(),
            cells: None,
            value: ratio,
            display: ratio.map_or_else(|| "not calculable".to_owned(), |r| format!("{r:.2}")),
            unit: ResultUnit::Ratio,
            limits_95: None,
            reference: me.limits.map(|l| (l.low.to_string(), l.high.to_string())),
            status: me.status,
        });
        out.push(ResultLine {
            code: ResultCode { local: "cells-counted", loinc: Some(loinc::CELLS_COUNTED) },
            label: "Nucleated cells counted".to_owned(),
            cells: None,
            value: Some(f64::from(total)),
            display: total.to_string(),
            unit: ResultUnit::Cells,
            limits_95: None,
            reference: None,
            status: RangeStatus::NoInterval,
        });
        out
    }
}

/// The confirmed LOINC code of a single class, if any.
fn class_loinc(
    class: marrow_domain::morphology::CellClass,
) -> Option<(&'static str, &'static str)> {
    use marrow_domain::morphology::CellClass;
    match class {
        CellClass::Basophil => Some(loinc::BASOPHILS),
        CellClass::Lymphocyte => Some(loinc::LYMPHOCYTES),
        CellClass::MastCell => Some(loinc::MAST_CELLS),
        _ => None,
    }
}
