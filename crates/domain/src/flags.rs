//! Interpretive flags for the report: computed from the count, the aspirate findings and the
//! findings the pathologist records, each with its source, never a diagnosis. The pathologist
//! sees them while writing and decides; a signed version records the flags it was signed with.
//!
//! Bands from the classifications are written with integers ("5–9 %", "10–19 %"); a 500-cell
//! count can give 9.8 %, so every band here is half-open ([5, 10), [10, 20)) and each value
//! lands in exactly one (clinical reference §3.2, boundary note).

use crate::aspirate::{Aspirate, Haemodilution, Particles};
use crate::morphology::{CellClass, CountingRules, Differential};
use crate::reference::{RangeStatus, ReferenceTable};
use crate::report::{Adequacy, Finding, ReportContent};
use crate::stats::clopper_pearson_95;

code_enum! {
    /// What a flag is about.
    pub enum FlagKind : "flag" {
        BlastsWhoIcc => ("blasts", "Marrow blast percentage"),
        BlastsNearThreshold => ("blasts-near-threshold", "Blast percentage near a threshold"),
        PlasmaCells => ("plasma-cells", "Marrow plasma cell percentage"),
        PlasmaCellsNearThreshold => ("plasma-cells-near-threshold", "Plasma cell percentage near a threshold"),
        CountBelowTarget => ("count-below-target", "Fewer cells counted than the target"),
        MeRatioLow => ("me-ratio-low", "M:E ratio below the reference"),
        MeRatioHigh => ("me-ratio-high", "M:E ratio above the reference"),
        EosinophilsIncreased => ("eosinophils-increased", "Eosinophils increased"),
        MonocytesIncreased => ("monocytes-increased", "Monocytes increased"),
        LymphocytesIncreased => ("lymphocytes-increased", "Lymphocytes increased"),
        MastCellsIncreased => ("mast-cells-increased", "Mast cells increased"),
        SampleInadequate => ("sample-inadequate", "Sample inadequate or without particles"),
        SampleHaemodiluted => ("sample-haemodiluted", "Sample haemodiluted"),
        Granulomas => ("granulomas", "Granulomas recorded"),
        Organisms => ("organisms", "Organisms recorded"),
        Haemophagocytosis => ("haemophagocytosis", "Haemophagocytosis recorded"),
    }
}

/// One interpretive flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// What it is about.
    pub kind: FlagKind,
    /// A sentence for the pathologist: what the numbers are and which rule they meet. Never a
    /// diagnosis.
    pub text: String,
    /// The rule's source (a laboratory's own reference table brings its own citation, so this
    /// is owned text).
    pub source: String,
}

impl Flag {
    fn new(kind: FlagKind, text: String, source: &str) -> Self {
        Self { kind, text, source: source.to_owned() }
    }
}

const WHO_ICC: &str = "WHO 2022 (Khoury et al., Leukemia 2022;36:1703–1719) and ICC 2022 (Arber et al., \
     Blood 2022;140:1200–1228); clinical reference §3.1–3.2";
const IMWG: &str =
    "IMWG 2014 (Rajkumar et al., Lancet Oncol 2014;15:e538–e548); clinical reference §3.4";
const ICSH_COUNT: &str = "ICSH 2008 §2.6 as quoted; exact 95% limits (Clopper–Pearson); clinical \
     reference §1.2 and §4.3";

/// The blast thresholds the two classifications use (percent of all nucleated marrow cells).
const BLAST_THRESHOLDS: [f64; 3] = [5.0, 10.0, 20.0];
/// IMWG plasma-cell thresholds: 10 % (smouldering/myeloma) and 60 % (myeloma-defining).
const PLASMA_THRESHOLDS: [f64; 2] = [10.0, 60.0];

/// Where a marrow blast percentage falls in WHO 2022 and ICC 2022 terms (for myeloid
/// neoplasms without a defining genetic abnormality; §3.1–3.2). Both are given when they differ.
pub fn blast_band(percent: f64) -> (&'static str, &'static str) {
    if percent < 5.0 {
        ("below 5 % (no excess of blasts by count)", "below 5 % (no excess of blasts by count)")
    } else if percent < 10.0 {
        ("5–9 %: the MDS-IB1 range", "5–9 %: the MDS with excess blasts range")
    } else if percent < 20.0 {
        ("10–19 %: the MDS-IB2 range", "10–19 %: the MDS/AML range")
    } else {
        ("20 % or more: the AML range", "20 % or more: the AML range")
    }
}

const ME_SOURCE: &str = "M:E ratio by the ICSH convention against the laboratory reference \
     interval; clinical reference §1.4 and §2.1 (Rümke 1985: a ratio is less precise than either \
     percentage)";
const ADEQUACY_SOURCE: &str = "Clinical reference §1.5: particles and haemodilution decide \
     adequacy (pathologyoutlines; Bain et al.: blood taps and very dilute aspirates are unhelpful)";
const DILUTION_SOURCE: &str = "Clinical reference §1.5 and §2.1 (Dresch C et al., J Clin Pathol \
     1974;27:106: blood in the aspirate adds mature neutrophils)";
const MAST_SOURCE: &str = "Wintrobe (Lee 1999) via FPnotebook: basophils with mast cells under \
     0.2 %; clinical reference §2.1 [S]";
const INFECTION_SOURCE: &str = "Clinical reference §3.7 (Bain BJ, J Clin Pathol 2001;54:657, \
     Table 1; Volk EE et al., Am J Clin Pathol 1998;110:150)";
const HLH_SOURCE: &str =
    "HLH-2004 (Henter JI et al., Pediatr Blood Cancer 2007;48:124); clinical reference §3.6";

/// Everything the report's flags are computed from.
#[derive(Debug, Clone, Copy)]
pub struct FlagContext<'a> {
    /// The differential.
    pub differential: &'a Differential,
    /// The site's exclusions from the denominator.
    pub rules: &'a CountingRules,
    /// The count's target (500 unless the count set another).
    pub target: u32,
    /// The laboratory's reference table.
    pub reference: &'a ReferenceTable,
    /// The aspirate findings, once recorded.
    pub aspirate: Option<&'a Aspirate>,
    /// The report as written so far.
    pub content: Option<&'a ReportContent>,
}

/// Every flag for a report: the count's ([`flags`]), then the M:E ratio and the classes
/// above their reference interval, then adequacy, then signs of infection recorded.
pub fn report_flags(cx: &FlagContext<'_>) -> Vec<Flag> {
    let mut out = flags(cx.differential, cx.rules, cx.target);
    if cx.differential.total_with(cx.rules) == 0 {
        return out;
    }
    let me = cx.reference.check_me(cx.differential);
    if let (Some(observed), Some(limits)) = (me.observed_rounded, me.limits) {
        let range = format!("{}–{}:1", limits.low, limits.high);
        // Below the interval: relatively more erythroid cells; above: more myeloid.
        let side = match me.status {
            RangeStatus::Below => Some((FlagKind::MeRatioLow, "below", "erythroid", "myeloid")),
            RangeStatus::Above => Some((FlagKind::MeRatioHigh, "above", "myeloid", "erythroid")),
            _ => None,
        };
        if let Some((kind, where_, more, less)) = side {
            out.push(Flag::new(
                kind,
                format!(
                    "M:E ratio {observed}:1 is {where_} the reference {range}: relatively more {more} \
                     than {less} cells ({more} hyperplasia or {less} hypoplasia; the cellularity \
                     tells which)."
                ),
                ME_SOURCE,
            ));
        }
    }
    let checked = cx.reference.check(cx.differential, cx.rules);
    for (row, result) in cx.reference.rows().iter().zip(&checked) {
        let kind = match row.classes.as_slice() {
            [CellClass::Eosinophil] => FlagKind::EosinophilsIncreased,
            [CellClass::Monocyte] => FlagKind::MonocytesIncreased,
            [CellClass::Lymphocyte] => FlagKind::LymphocytesIncreased,
            _ => continue,
        };
        if let (RangeStatus::Above, Some(observed), Some(limits)) =
            (result.status, result.observed, result.limits)
        {
            out.push(Flag {
                kind,
                text: format!(
                    "{} {observed} % are above the reference {}–{} %: increased.",
                    row.label, limits.low, limits.high
                ),
                source: format!("{} ({})", cx.reference.name(), cx.reference.citation()),
            });
        }
    }
    if let Some(mast) = cx.differential.percent_with(CellClass::MastCell, cx.rules)
        && mast > 0.2
    {
        out.push(Flag::new(
            FlagKind::MastCellsIncreased,
            format!(
                "Mast cells {mast:.1} % are above the under 0.2 % quoted for basophils and \
                     mast cells together: increased."
            ),
            MAST_SOURCE,
        ));
    }

    let adequacy = cx.content.and_then(|c| c.adequacy);
    let particles = cx.aspirate.map(|a| a.particles);
    if matches!(adequacy, Some(Adequacy::Inadequate | Adequacy::Aparticulate))
        || particles == Some(Particles::Absent)
    {
        out.push(Flag::new(
            FlagKind::SampleInadequate,
            "The sample is recorded as inadequate or without particles: the count may not \
             represent the marrow; the trephine or a repeat aspirate may be needed."
                .to_owned(),
            ADEQUACY_SOURCE,
        ));
    }
    if adequacy == Some(Adequacy::Haemodiluted)
        || cx.aspirate.map(|a| a.haemodilution) == Some(Haemodilution::Marked)
    {
        out.push(Flag::new(
            FlagKind::SampleHaemodiluted,
            "The aspirate is recorded as haemodiluted: blood raises the percentages of mature \
             neutrophils and lymphocytes and lowers the others; read the count in that light."
                .to_owned(),
            DILUTION_SOURCE,
        ));
    }
    if let Some(c) = cx.content {
        let recorded = [
            (
                c.granulomas,
                FlagKind::Granulomas,
                "Granulomas recorded: they prompt an infection work-up (e.g. marrow culture for \
                 mycobacteria and fungi).",
                INFECTION_SOURCE,
            ),
            (
                c.organisms,
                FlagKind::Organisms,
                "Organisms recorded: a sign of infection; consider marrow culture and an \
                 infection work-up.",
                INFECTION_SOURCE,
            ),
            (
                c.haemophagocytosis,
                FlagKind::Haemophagocytosis,
                "Haemophagocytosis recorded: one of the eight HLH-2004 criteria; it does not by \
                 itself establish HLH, and its absence does not exclude it.",
                HLH_SOURCE,
            ),
        ];
        for (finding, kind, text, source) in recorded {
            if finding == Some(Finding::Present) {
                out.push(Flag::new(kind, text.to_owned(), source));
            }
        }
    }
    out
}

/// The flags for a counted differential. `target` is the count's target; `rules` the site's
/// exclusions (the blast denominator is all nucleated marrow cells, §1.3).
pub fn flags(differential: &Differential, rules: &CountingRules, target: u32) -> Vec<Flag> {
    let mut out = Vec::new();
    let total = differential.total_with(rules);
    if total == 0 {
        return out;
    }
    if total < target {
        out.push(Flag {
            kind: FlagKind::CountBelowTarget,
            text: format!("{total} cells were counted, fewer than the target of {target}."),
            source: ICSH_COUNT.to_owned(),
        });
    }
    let blasts = differential.count(CellClass::Blast);
    let blast_percent = 100.0 * f64::from(blasts) / f64::from(total);
    if blast_percent >= 5.0 {
        let (who, icc) = blast_band(blast_percent);
        let text = if who == icc {
            format!("Blasts {blast_percent:.1} %: {who} (WHO 2022 and ICC 2022 agree).")
        } else {
            format!("Blasts {blast_percent:.1} %: WHO 2022 {who}; ICC 2022 {icc}.")
        };
        out.push(Flag::new(FlagKind::BlastsWhoIcc, text, WHO_ICC));
    }
    if let Ok(interval) = clopper_pearson_95(blasts, total) {
        for threshold in BLAST_THRESHOLDS {
            if interval.straddles(threshold / 100.0) {
                out.push(Flag {
                    kind: FlagKind::BlastsNearThreshold,
                    text: format!(
                        "Blasts {blast_percent:.1} % (95% limits {:.1}–{:.1} %) straddle {threshold:.0} %: consider counting more cells.",
                        interval.lower_percent(),
                        interval.upper_percent()
                    ),
                    source: ICSH_COUNT.to_owned(),
                });
            }
        }
    }
    let plasma = differential.count(CellClass::PlasmaCell);
    let plasma_percent = 100.0 * f64::from(plasma) / f64::from(total);
    if plasma_percent >= 10.0 {
        // §3.4: the published "10–60 %" and "≥ 60 %" overlap at 60; ≥ 60 is myeloma-defining.
        let band = if plasma_percent >= 60.0 {
            "60 % or more: the IMWG myeloma-defining (SLiM \"S\") level, if clonal"
        } else {
            "10 % or more: the IMWG level for smouldering or multiple myeloma, if clonal"
        };
        out.push(Flag {
            kind: FlagKind::PlasmaCells,
            text: format!("Plasma cells {plasma_percent:.1} %: {band}. Clonality needs flow or immunohistochemistry."),
            source: IMWG.to_owned(),
        });
    }
    if let Ok(interval) = clopper_pearson_95(plasma, total) {
        for threshold in PLASMA_THRESHOLDS {
            if interval.straddles(threshold / 100.0) {
                out.push(Flag {
                    kind: FlagKind::PlasmaCellsNearThreshold,
                    text: format!(
                        "Plasma cells {plasma_percent:.1} % (95% limits {:.1}–{:.1} %) straddle {threshold:.0} %: consider counting more cells or the trephine.",
                        interval.lower_percent(),
                        interval.upper_percent()
                    ),
                    source: IMWG.to_owned(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(blasts: u32, plasma: u32, total: u32) -> Differential {
        Differential::from_counts([
            (CellClass::Blast, blasts),
            (CellClass::PlasmaCell, plasma),
            (CellClass::Lymphocyte, total - blasts - plasma),
        ])
    }

    fn kinds(f: &[Flag]) -> Vec<FlagKind> {
        f.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn bands_are_half_open_so_every_value_lands_in_one() {
        assert_eq!(blast_band(4.99).0, blast_band(0.0).0);
        assert_eq!(blast_band(5.0).0, blast_band(9.8).0);
        assert_ne!(blast_band(9.8).0, blast_band(10.0).0);
        assert_eq!(blast_band(19.99).1, "10–19 %: the MDS/AML range");
        assert_eq!(blast_band(20.0).0, "20 % or more: the AML range");
    }

    #[test]
    fn the_two_classifications_are_both_shown_where_they_differ() {
        let f = flags(&count(60, 0, 500), &CountingRules::default(), 500);
        let text = &f.iter().find(|f| f.kind == FlagKind::BlastsWhoIcc).unwrap().text;
        assert_eq!(
            text,
            "Blasts 12.0 %: WHO 2022 10–19 %: the MDS-IB2 range; ICC 2022 10–19 %: the MDS/AML range."
        );
        let f = flags(&count(150, 0, 500), &CountingRules::default(), 500);
        assert!(f.iter().any(|f| f.text.contains("agree")));
    }

    #[test]
    fn a_blast_count_whose_limits_straddle_a_threshold_asks_for_more_cells() {
        // §4.3: at n = 500, 16 to 35 blasts (3.2–7.0 %) leave 5 % inside the 95% limits.
        let straddling = flags(&count(25, 0, 500), &CountingRules::default(), 500);
        assert!(kinds(&straddling).contains(&FlagKind::BlastsNearThreshold));
        // 15 blasts (3.0 %): upper limit below 5 % (§4.3 table) — no advisory, no band flag.
        let clear_below = flags(&count(15, 0, 500), &CountingRules::default(), 500);
        assert!(clear_below.is_empty(), "{clear_below:?}");
        // 36 blasts (7.2 %): lower limit at or above 5 % (§4.3) — a band, no advisory.
        let clear_above = flags(&count(36, 0, 500), &CountingRules::default(), 500);
        assert_eq!(kinds(&clear_above), vec![FlagKind::BlastsWhoIcc]);
    }

    #[test]
    fn plasma_cells_flag_at_the_imwg_levels_and_never_name_a_diagnosis() {
        let ten = flags(&count(0, 60, 500), &CountingRules::default(), 500);
        let flag = ten.iter().find(|f| f.kind == FlagKind::PlasmaCells).unwrap();
        assert!(flag.text.starts_with("Plasma cells 12.0 %: 10 % or more"));
        let sixty = flags(&count(0, 300, 500), &CountingRules::default(), 500);
        assert!(sixty.iter().any(|f| f.text.contains("60 % or more")));
        assert!(flags(&count(0, 20, 500), &CountingRules::default(), 500).is_empty());
        for f in ten.iter().chain(&sixty) {
            assert!(!f.text.contains("diagnos"), "{}", f.text);
        }
    }

    #[test]
    fn a_short_count_is_flagged() {
        let f = flags(&count(0, 0, 300), &CountingRules::default(), 500);
        assert_eq!(f[0].text, "300 cells were counted, fewer than the target of 500.");
        assert!(flags(&count(0, 0, 500), &CountingRules::default(), 500).is_empty());
    }

    fn context<'a>(
        d: &'a Differential,
        rules: &'a CountingRules,
        reference: &'a ReferenceTable,
        aspirate: Option<&'a Aspirate>,
        content: Option<&'a ReportContent>,
    ) -> FlagContext<'a> {
        FlagContext { differential: d, rules, target: 500, reference, aspirate, content }
    }

    /// 500 cells: myeloid `m`, erythroid `e`, and eosinophils, monocytes, lymphocytes, mast
    /// cells as given; the rest lymphocytes would skew, so the remainder goes to "other".
    fn mix(m: u32, e: u32, eos: u32, mono: u32, lymph: u32, mast: u32) -> Differential {
        let other = 500 - m - e - eos - mono - lymph - mast;
        Differential::from_counts([
            (CellClass::SegmentedNeutrophil, m),
            (CellClass::PolychromaticErythroblast, e),
            (CellClass::Eosinophil, eos),
            (CellClass::Monocyte, mono),
            (CellClass::Lymphocyte, lymph),
            (CellClass::MastCell, mast),
            (CellClass::Other, other),
        ])
    }

    #[test]
    fn the_me_ratio_flags_either_side_of_the_reference_only() {
        let table = ReferenceTable::iowa_adult();
        let rules = CountingRules::default();
        // (m + eos + mono) : e with eos 15, mono 15 → ratios 1.50, 2.00, 4.00, 4.50.
        let low = mix(120, 100, 15, 15, 60, 0);
        let f = report_flags(&context(&low, &rules, &table, None, None));
        let me = f.iter().find(|f| f.kind == FlagKind::MeRatioLow).expect("1.50:1 is low");
        assert!(me.text.starts_with("M:E ratio 1.5:1 is below the reference 2–4:1"), "{}", me.text);
        assert!(!me.text.contains("diagnos"));
        let at_low = mix(170, 100, 15, 15, 60, 0);
        assert!(
            report_flags(&context(&at_low, &rules, &table, None, None))
                .iter()
                .all(|f| !matches!(f.kind, FlagKind::MeRatioLow | FlagKind::MeRatioHigh))
        );
        let at_high = mix(370, 100, 15, 15, 0, 0);
        assert!(
            report_flags(&context(&at_high, &rules, &table, None, None))
                .iter()
                .all(|f| f.kind != FlagKind::MeRatioHigh)
        );
        let high = mix(330, 80, 15, 15, 60, 0);
        assert!(
            report_flags(&context(&high, &rules, &table, None, None))
                .iter()
                .any(|f| f.kind == FlagKind::MeRatioHigh)
        );
    }

    #[test]
    fn classes_above_their_reference_are_flagged_with_the_tables_citation() {
        let table = ReferenceTable::iowa_adult();
        let rules = CountingRules::default();
        // Eosinophils 5.0 % (at the limit), monocytes 5.2 %, lymphocytes 19.2 %, mast 0.4 %.
        let d = mix(200, 100, 25, 26, 96, 2);
        let f = report_flags(&context(&d, &rules, &table, None, None));
        let found = kinds(&f);
        assert!(!found.contains(&FlagKind::EosinophilsIncreased), "5.0 % is within 1–5 %");
        assert!(found.contains(&FlagKind::MonocytesIncreased));
        assert!(found.contains(&FlagKind::LymphocytesIncreased));
        assert!(found.contains(&FlagKind::MastCellsIncreased));
        let mono = f.iter().find(|f| f.kind == FlagKind::MonocytesIncreased).unwrap();
        assert_eq!(
            mono.text,
            "Monocytes and precursors 5.2 % are above the reference 1–5 %: increased."
        );
        assert!(mono.source.contains("University of Iowa"));
        let eos = mix(200, 100, 26, 10, 60, 1);
        let f = report_flags(&context(&eos, &rules, &table, None, None));
        assert!(kinds(&f).contains(&FlagKind::EosinophilsIncreased));
        assert!(!kinds(&f).contains(&FlagKind::MastCellsIncreased), "one mast cell is 0.2 %");
    }

    #[test]
    fn adequacy_and_infection_findings_raise_flags_with_sources() {
        use crate::report::ReportInput;
        let table = ReferenceTable::iowa_adult();
        let rules = CountingRules::default();
        let d = mix(250, 100, 15, 15, 60, 0);
        let content = ReportContent::parse(&ReportInput {
            adequacy: "haemodiluted",
            granulomas: "present",
            organisms: "not-seen",
            haemophagocytosis: "present",
            ..ReportInput::default()
        })
        .unwrap();
        let f = report_flags(&context(&d, &rules, &table, None, Some(&content)));
        assert_eq!(
            kinds(&f),
            vec![FlagKind::SampleHaemodiluted, FlagKind::Granulomas, FlagKind::Haemophagocytosis]
        );
        assert!(f[2].source.contains("HLH-2004"));
        assert!(f[1].source.contains("§3.7"));
        let aparticulate = ReportContent { adequacy: Some(Adequacy::Aparticulate), ..content };
        let f = report_flags(&context(&d, &rules, &table, None, Some(&aparticulate)));
        assert_eq!(f[0].kind, FlagKind::SampleInadequate);
        assert!(report_flags(&context(&d, &rules, &table, None, None)).is_empty());
    }
}
