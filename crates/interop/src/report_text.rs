//! The signed report as plain text: fixed layout, 72 columns, printable anywhere.
//!
//! Do not change the layout casually: it is a document people file and compare.

use std::fmt::Write as _;

use marrow_domain::ids::CaseId;
use marrow_domain::morphology::{CellClass, CountingRules, Differential};
use marrow_domain::order::Order;
use marrow_domain::patient::Patient;
use marrow_domain::procedure::ProcedureNote;
use marrow_domain::report::ReportContent;
use marrow_domain::time::Timestamp;

/// Everything a signed report version states.
#[derive(Debug, Clone, Copy)]
pub struct SignedReport<'a> {
    /// The case.
    pub case_id: CaseId,
    /// The patient.
    pub patient: &'a Patient,
    /// The order (indication, sampling).
    pub order: &'a Order,
    /// The procedure note, for the site.
    pub procedure: Option<&'a ProcedureNote>,
    /// Version number (1 = original sign-out).
    pub version: i64,
    /// The signed content.
    pub content: &'a ReportContent,
    /// The differential as signed.
    pub differential: &'a Differential,
    /// Why it was amended (versions after 1).
    pub amendment_reason: Option<&'a str>,
    /// Who signed.
    pub signed_by: &'a str,
    /// When.
    pub signed_at: Timestamp,
    /// The latest version number of this report, to mark superseded versions.
    pub latest_version: i64,
    /// The site's exclusions from the denominator this version was signed under.
    pub rules: &'a CountingRules,
}

const RULE: &str = "------------------------------------------------------------------------";

/// Renders the report as text. Patient identifiers are included: this is a clinical document.
pub fn render(r: &SignedReport<'_>) -> String {
    let mut out = String::new();
    let p = r.patient;
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ =
        writeln!(out, "BONE MARROW ASPIRATE REPORT  (case {}, version {})", r.case_id, r.version);
    if r.version > 1 {
        let _ = writeln!(
            out,
            "*** AMENDED REPORT: {} ***",
            r.amendment_reason.unwrap_or("reason not stated")
        );
    }
    if r.version < r.latest_version {
        let _ = writeln!(out, "*** SUPERSEDED by version {} ***", r.latest_version);
    }
    let _ = writeln!(out, "{RULE}");
    let _ = writeln!(out, "Patient      {}", p.display_name());
    let _ = writeln!(out, "MRN          {}", p.mrn.reveal());
    let _ = writeln!(out, "Born         {}    Sex  {}", p.date_of_birth, p.sex.label());
    let _ = writeln!(out, "Indication   {}", r.order.indication);
    let _ = writeln!(out, "Sampling     {}", r.order.sampling.label());
    if let Some(n) = r.procedure {
        let _ = writeln!(out, "Site         {}, {}", n.site.label(), n.side.label().to_lowercase());
        let _ = writeln!(out, "Performed    {}", n.performed_at);
    }
    let c = r.content;
    let _ = writeln!(out, "Adequacy     {}", c.adequacy.map_or("not stated", |a| a.label()));
    let _ = writeln!(out, "Cellularity  {}", c.cellularity.map_or("not stated", |a| a.label()));
    let _ = writeln!(out, "{RULE}");
    let d = r.differential;
    let rules = r.rules;
    let _ = writeln!(out, "DIFFERENTIAL ({} nucleated cells counted)", d.total_with(rules));
    let _ = writeln!(out, "  {:<40} {:>8} {:>8}", "Cell class", "Cells", "%");
    for &class in CellClass::ALL.iter().filter(|c| rules.counts(**c)) {
        let percent =
            d.percent_with(class, rules).map_or_else(|| "-".to_owned(), |p| format!("{p:.1}"));
        let _ = writeln!(out, "  {:<40} {:>8} {:>8}", class.label(), d.count(class), percent);
    }
    let _ = writeln!(out, "  {:<40} {:>17}", "M:E ratio (ICSH)", d.me_ratio().to_string());
    for &class in CellClass::ALL.iter().filter(|c| !rules.counts(**c)) {
        let _ = writeln!(out, "  {:<40} {:>8}   (not in the count)", class.label(), d.count(class));
    }
    let _ = writeln!(out, "{RULE}");
    for (title, text) in [
        ("MORPHOLOGY", &c.morphology),
        ("INTERPRETATION", &c.interpretation),
        ("COMMENT", &c.comment),
    ] {
        if let Some(text) = text {
            let _ = writeln!(out, "{title}\n{text}\n");
        }
    }
    let _ = writeln!(out, "Signed by {} on {}", r.signed_by, r.signed_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::order::OrderInput;
    use marrow_domain::patient::PatientInput;
    use marrow_domain::report::ReportInput;
    use marrow_domain::time::Date;

    fn fixtures() -> (Patient, Order, ReportContent, Differential) {
        let today = Date::parse("today", "2026-11-24").unwrap();
        let patient = Patient::parse(
            &PatientInput {
                mrn: "SYN-1",
                family_name: "Textpatient",
                given_name: "Pat",
                date_of_birth: "1960-02-03",
                sex: "male",
            },
            today,
        )
        .unwrap();
        let order = Order::parse(&OrderInput {
            indication: "staging",
            sampling: "aspirate",
            urgency: "routine",
            ..OrderInput::default()
        })
        .unwrap();
        let content = ReportContent::parse(&ReportInput {
            adequacy: "adequate",
            cellularity: "normocellular",
            interpretation: "No marrow involvement seen.",
            ..ReportInput::default()
        })
        .unwrap();
        let differential = Differential::from_counts([
            (CellClass::SegmentedNeutrophil, 150),
            (CellClass::Monocyte, 60),
            (CellClass::PolychromaticErythroblast, 90),
            (CellClass::Smudge, 4),
        ]);
        (patient, order, content, differential)
    }

    #[test]
    fn the_text_report_states_counts_ratio_and_signer() {
        let (patient, order, content, differential) = fixtures();
        let at = Timestamp::parse("at", "2026-11-24T10:15:00Z").unwrap();
        let report = SignedReport {
            case_id: CaseId(7),
            patient: &patient,
            order: &order,
            procedure: None,
            version: 1,
            content: &content,
            differential: &differential,
            amendment_reason: None,
            signed_by: "Dr Synthetic",
            signed_at: at,
            latest_version: 2,
            rules: &CountingRules::default(),
        };
        let text = render(&report);
        assert!(text.starts_with(
            "BONE MARROW ASPIRATE REPORT  (case 7, version 1)\n*** SUPERSEDED by version 2 ***\n"
        ));
        assert!(text.contains("DIFFERENTIAL (300 nucleated cells counted)"));
        assert!(
            text.contains(&format!("  {:<40} {:>8} {:>8}\n", "Segmented neutrophils", 150, "50.0"))
        );
        assert!(text.contains("2.33:1"), "ICSH vector from the clinical reference");
        assert!(text.contains(&format!(
            "  {:<40} {:>8}   (not in the count)\n",
            "Smudge / broken cells", 4
        )));
        assert!(text.contains("INTERPRETATION\nNo marrow involvement seen.\n"));
        assert!(!text.contains("MORPHOLOGY"), "blank sections are left out");
        assert!(text.ends_with("Signed by Dr Synthetic on 2026-11-24 10:15 UTC\n"));
        assert_eq!(text, render(&report), "the same input gives the same bytes");
        assert!(
            text.lines().all(|l| l.chars().count() <= 72 || l.starts_with("Indication")),
            "{text}"
        );
    }

    #[test]
    fn an_amendment_says_so_at_the_top() {
        let (patient, order, content, differential) = fixtures();
        let report = SignedReport {
            case_id: CaseId(7),
            patient: &patient,
            order: &order,
            procedure: None,
            version: 2,
            content: &content,
            differential: &differential,
            amendment_reason: Some("Trephine added"),
            signed_by: "Dr Synthetic",
            signed_at: Timestamp::from_unix(0),
            latest_version: 2,
            rules: &CountingRules::default(),
        };
        let text = render(&report);
        assert_eq!(text.lines().nth(1), Some("*** AMENDED REPORT: Trephine added ***"));
        assert!(!text.contains("SUPERSEDED"));
    }
}
