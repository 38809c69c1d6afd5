//! The signed report as plain text: fixed layout, 72 columns, printable anywhere.
//!
//! Do not change the layout casually: it is a document people file and compare.

use std::fmt::Write as _;

use marrow_domain::aspirate::{Aspirate, IronStain, IronStores};
use marrow_domain::morphology::CellClass;
use marrow_domain::reference::RangeStatus;

pub use crate::signed::SignedReport;

const RULE: &str = "------------------------------------------------------------------------";

/// The H/L mark beside a result outside its reference interval.
pub fn range_mark(status: RangeStatus) -> &'static str {
    match status {
        RangeStatus::Above => "H",
        RangeStatus::Below => "L",
        _ => "",
    }
}

/// The aspirate findings as (heading, text) pairs, in report order.
pub fn aspirate_lines(a: &Aspirate) -> Vec<(&'static str, String)> {
    let iron = match a.iron {
        IronStain::NotPerformed => "Not performed".to_owned(),
        IronStain::Performed { grade, ring_sideroblasts, particles_examined } => {
            let stores = match grade.stores() {
                IronStores::Absent => "absent",
                IronStores::Normal => "normal",
                IronStores::Increased => "increased",
            };
            let mut text = format!("Storage iron grade {grade} ({stores})");
            if let Some(ring) = ring_sideroblasts {
                let _ = write!(text, "; ring sideroblasts {ring} % of erythroblasts");
            }
            if let Some(n) = particles_examined {
                let _ = write!(text, "; {n} particles examined");
            }
            text
        }
    };
    let mut lines = vec![
        ("Particles", a.particles.label().to_owned()),
        ("Haemodilution", a.haemodilution.label().to_owned()),
        ("Trail cellularity", a.trail_cellularity.label().to_owned()),
        ("Particle cellularity", a.particle_cellularity.label().to_owned()),
        ("Megakaryocyte numbers", a.megakaryocytes.label().to_owned()),
        ("Iron stain (Perls')", iron),
    ];
    if let Some(comment) = &a.comment {
        lines.push(("Aspirate comment", comment.clone()));
    }
    lines
}

/// Renders the report as text. Patient identifiers are included: this is a clinical document.
pub fn render(r: &SignedReport<'_>) -> String {
    let mut out = String::new();
    let p = r.patient;
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ =
        writeln!(out, "BONE MARROW ASPIRATE REPORT  (case {}, version {})", r.case_id, r.version);
    if r.is_amended() {
        let _ = writeln!(
            out,
            "*** AMENDED REPORT: {} ***",
            r.amendment_reason.unwrap_or("reason not stated")
        );
    }
    if r.is_superseded() {
        let _ = writeln!(out, "*** SUPERSEDED by version {} ***", r.latest_version);
    }
    let _ = writeln!(out, "{RULE}");
    let _ = writeln!(out, "Patient      {}", p.display_name());
    let _ = writeln!(out, "MRN          {}", p.mrn.reveal());
    let _ = writeln!(out, "Born         {}    Sex  {}", p.date_of_birth, p.sex.label());
    let _ = writeln!(out, "Requested by {} on {}", r.ordered_by, r.ordered_at);
    let _ = writeln!(out, "Indication   {}", r.order.indication);
    if let Some(details) = &r.order.clinical_details {
        let _ = writeln!(out, "Blood count  {details}");
    }
    let _ = writeln!(out, "Sampling     {}", r.order.sampling.label());
    if let Some(n) = r.procedure {
        let _ = writeln!(out, "Site         {}, {}", n.site.label(), n.side.label().to_lowercase());
        let _ = writeln!(out, "Performed    {}", n.performed_at);
    }
    for s in r.specimens {
        let _ = writeln!(
            out,
            "Specimen     {}  {} to {}",
            s.id,
            s.taken.tube.label(),
            s.taken.destination.label()
        );
    }
    let _ = writeln!(out, "{RULE}");
    if let Some(a) = r.aspirate {
        let _ = writeln!(out, "ASPIRATE");
        for (heading, text) in aspirate_lines(a) {
            let _ = writeln!(out, "  {heading:<22} {text}");
        }
        let _ = writeln!(out, "{RULE}");
    }
    let d = r.differential;
    let rules = r.rules;
    let _ = writeln!(out, "DIFFERENTIAL ({} nucleated cells counted)", d.total_with(rules));
    let _ = writeln!(
        out,
        "  {:<30} {:>5} {:>6} {:>13} {:>9}",
        "Cell class", "Cells", "%", "95% limits", "Reference"
    );
    for line in r.results() {
        match line.unit {
            crate::signed::ResultUnit::Percent => {
                let limits =
                    line.limits_95.map_or_else(String::new, |(lo, hi)| format!("{lo:.1}-{hi:.1}"));
                let reference = line
                    .reference
                    .as_ref()
                    .map_or_else(String::new, |(lo, hi)| format!("{lo}-{hi}"));
                let row = format!(
                    "  {:<30} {:>5} {:>6} {:>13} {:>9} {}",
                    line.label,
                    line.cells.unwrap_or(0),
                    line.display,
                    limits,
                    reference,
                    range_mark(line.status)
                );
                let _ = writeln!(out, "{}", row.trim_end());
            }
            crate::signed::ResultUnit::Ratio => {
                let reference = line
                    .reference
                    .as_ref()
                    .map_or_else(String::new, |(lo, hi)| format!("{lo}-{hi}:1"));
                let row = format!(
                    "  {:<30} {:>20} {:>15} {}",
                    line.label,
                    format!("{}:1", line.display),
                    reference,
                    range_mark(line.status)
                );
                let _ = writeln!(out, "{}", row.trim_end());
            }
            crate::signed::ResultUnit::Cells => {}
        }
    }
    for &class in CellClass::ALL.iter().filter(|c| !rules.counts(**c)) {
        let _ = writeln!(out, "  {:<30} {:>5}   (not in the count)", class.label(), d.count(class));
    }
    let _ = writeln!(out, "  Reference: {}", r.reference.name());
    let _ = writeln!(out, "{RULE}");
    for field in r.content.fields() {
        if let Some(text) = field.text {
            let _ = writeln!(out, "{}\n{text}\n", field.heading.to_uppercase());
        }
    }
    if !r.flags.is_empty() {
        let _ = writeln!(out, "FLAGS SHOWN AT SIGN-OUT (not a diagnosis)");
        for flag in r.flags {
            let _ = writeln!(out, "- {}\n  Source: {}", flag.text, flag.source);
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "Signed by {} on {}", r.signed_by, r.signed_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleCase;

    #[test]
    fn the_text_report_states_counts_limits_ranges_and_signer() {
        let sample = SampleCase::new();
        let report = sample.report(1, 2);
        let text = render(&report);
        assert!(text.starts_with(
            "BONE MARROW ASPIRATE REPORT  (case 42, version 1)\n*** SUPERSEDED by version 2 ***\n"
        ));
        assert!(text.contains("DIFFERENTIAL (500 nucleated cells counted)"));
        assert!(
            text.contains(
                "  Blasts                            36    7.2       5.1-9.8       0-2 H\n"
            ),
            "{text}"
        );
        assert!(text.contains("  Macrophages / histiocytes          3   (not in the count)\n"));
        assert!(text.contains("INTERPRETATION\nHypercellular marrow"));
        assert!(text.contains("GRANULOMAS\nNot seen\n"));
        assert!(text.contains("FLAGS SHOWN AT SIGN-OUT"));
        assert!(text.contains("Storage iron grade 2+ (normal); ring sideroblasts 3 % of erythroblasts; 9 particles examined"), "{text}");
        assert!(text.ends_with("Signed by Dr Sample Pathologist on 2026-11-24 15:30 UTC\n"));
        assert_eq!(text, render(&report), "the same input gives the same bytes");
    }

    #[test]
    fn an_amendment_says_so_at_the_top() {
        let sample = SampleCase::new();
        let text = render(&sample.report(2, 2));
        assert_eq!(text.lines().nth(1), Some("*** AMENDED REPORT: Trephine result added. ***"));
        assert!(!text.contains("SUPERSEDED"));
    }
}
