//! Interpretive flags for the report (issue 6, first part): computed from the count, each with
//! its source, never a diagnosis. The pathologist sees them while writing and decides.
//!
//! Bands from the classifications are written with integers ("5–9 %", "10–19 %"); a 500-cell
//! count can give 9.8 %, so every band here is half-open ([5, 10), [10, 20)) and each value
//! lands in exactly one (clinical reference §3.2, boundary note).

use crate::morphology::{CellClass, CountingRules, Differential};
use crate::stats::clopper_pearson_95;

code_enum! {
    /// What a flag is about.
    pub enum FlagKind : "flag" {
        BlastsWhoIcc => ("blasts", "Marrow blast percentage"),
        BlastsNearThreshold => ("blasts-near-threshold", "Blast percentage near a threshold"),
        PlasmaCells => ("plasma-cells", "Marrow plasma cell percentage"),
        PlasmaCellsNearThreshold => ("plasma-cells-near-threshold", "Plasma cell percentage near a threshold"),
        CountBelowTarget => ("count-below-target", "Fewer cells counted than the target"),
    }
}

/// One interpretive flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// What it is about.
    pub kind: FlagKind,
    /// A sentence for the pathologist: what the numbers are and which rule they meet. Never a
    /// diagnosis.
    pub text: String,
    /// The rule's source.
    pub source: &'static str,
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
            source: ICSH_COUNT,
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
        out.push(Flag { kind: FlagKind::BlastsWhoIcc, text, source: WHO_ICC });
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
                    source: ICSH_COUNT,
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
            source: IMWG,
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
                    source: IMWG,
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
}
