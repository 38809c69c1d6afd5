//! The aspirate differential: whole-number counts per cell class, and what is computed from
//! them (percentages, the M:E ratio). Counts are the source of truth; percentages and ratios are
//! computed whenever they are shown, never stored.

use std::collections::{BTreeMap, BTreeSet};

use crate::FieldError;

code_enum! {
    /// A cell class of the marrow differential (clinical reference §1.3).
    pub enum CellClass : "cell class" {
        Blast => ("blasts", "Blasts"),
        Promyelocyte => ("promyelocytes", "Promyelocytes"),
        Myelocyte => ("myelocytes", "Myelocytes"),
        Metamyelocyte => ("metamyelocytes", "Metamyelocytes"),
        BandNeutrophil => ("band-neutrophils", "Band neutrophils"),
        SegmentedNeutrophil => ("segmented-neutrophils", "Segmented neutrophils"),
        Eosinophil => ("eosinophils", "Eosinophils and precursors"),
        Basophil => ("basophils", "Basophils"),
        Monocyte => ("monocytes", "Monocytes and promonocytes"),
        Lymphocyte => ("lymphocytes", "Lymphocytes"),
        PlasmaCell => ("plasma-cells", "Plasma cells"),
        Proerythroblast => ("proerythroblasts", "Proerythroblasts"),
        BasophilicErythroblast => ("basophilic-erythroblasts", "Basophilic erythroblasts"),
        PolychromaticErythroblast => ("polychromatic-erythroblasts", "Polychromatic erythroblasts"),
        OrthochromaticErythroblast => ("orthochromatic-erythroblasts", "Orthochromatic erythroblasts"),
        MastCell => ("mast-cells", "Mast cells"),
        Other => ("other", "Other / unclassifiable"),
        Macrophage => ("macrophages", "Macrophages / histiocytes"),
        Smudge => ("smudge", "Smudge / broken cells"),
    }
}

/// Which side of the M:E ratio a class falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeSide {
    /// Granulocytes and monocytes and their precursors.
    Myeloid,
    /// Erythroblasts of every stage.
    Erythroid,
    /// In neither (lymphocytes, plasma cells, mast cells, other).
    Neither,
}

impl CellClass {
    /// Whether the class is part of the nucleated differential count (the denominator).
    ///
    /// Clinical reference §1.3 (ICSH 2008 §2.6 as quoted): macrophages and smudged/disrupted
    /// cells are excluded from the NDC; they are counted, and shown, separately.
    pub fn in_differential(self) -> bool {
        !matches!(self, Self::Macrophage | Self::Smudge)
    }

    /// The class's side of the M:E ratio.
    ///
    /// Clinical reference §1.4 (ICSH 2008 §2.6 as quoted): the numerator is all granulocytes and
    /// monocytes and their precursors, myeloblasts included; the denominator is erythroblasts at
    /// all stages; lymphocytes, plasma cells and mast cells are in neither. Blasts are counted
    /// as myeloid here: the ICSH convention the report states alongside the ratio.
    pub fn me_side(self) -> MeSide {
        use CellClass::*;
        match self {
            Blast | Promyelocyte | Myelocyte | Metamyelocyte | BandNeutrophil
            | SegmentedNeutrophil | Eosinophil | Basophil | Monocyte => MeSide::Myeloid,
            Proerythroblast
            | BasophilicErythroblast
            | PolychromaticErythroblast
            | OrthochromaticErythroblast => MeSide::Erythroid,
            Lymphocyte | PlasmaCell | MastCell | Other | Macrophage | Smudge => MeSide::Neither,
        }
    }
}

/// The largest count accepted for one class: far above any manual count, it catches typos.
const MAX_PER_CLASS: u32 = 100_000;

/// A differential count: cells counted per class.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Differential {
    counts: BTreeMap<CellClass, u32>,
}

/// The M:E ratio, or why it cannot be given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeRatio {
    /// Myeloid cells per erythroid cell.
    Ratio(f64),
    /// No erythroid cells were counted, so the ratio is not calculable (not "infinite").
    NotCalculable,
}

impl std::fmt::Display for MeRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ratio(r) => write!(f, "{r:.2}:1"),
            Self::NotCalculable => f.write_str("not calculable (no erythroid cells)"),
        }
    }
}

impl Differential {
    /// Builds from known-good counts (e.g. read back from storage).
    pub fn from_counts(counts: impl IntoIterator<Item = (CellClass, u32)>) -> Self {
        let counts = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        Self { counts }
    }

    /// Parses `(class code, count)` pairs as typed. Blank counts are zero; every count must be
    /// a whole number; at least one cell of the differential must be counted.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        let mut counts = BTreeMap::new();
        for (code, raw) in entries {
            let class = CellClass::parse(code).map_err(|e| e.at("counts"))?;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let field = format!("counts.{code}");
            let n: u32 = raw.parse().map_err(|_| {
                FieldError::new(field.clone(), format!("{raw:?} is not a whole number of cells"))
            })?;
            if n > MAX_PER_CLASS {
                return Err(FieldError::new(
                    field,
                    format!("{n} cells is more than {MAX_PER_CLASS}; check the count"),
                ));
            }
            if counts.insert(class, n).is_some() {
                return Err(FieldError::new(field, "is given twice"));
            }
        }
        let differential = Self::from_counts(counts);
        if differential.total() == 0 {
            return Err(FieldError::new("counts", "count at least one nucleated cell"));
        }
        Ok(differential)
    }

    /// Cells counted of `class`.
    pub fn count(&self, class: CellClass) -> u32 {
        self.counts.get(&class).copied().unwrap_or(0)
    }

    /// Every class with a non-zero count.
    pub fn counts(&self) -> impl Iterator<Item = (CellClass, u32)> + '_ {
        self.counts.iter().map(|(c, n)| (*c, *n))
    }

    /// The nucleated differential count: cells in the denominator.
    pub fn total(&self) -> u32 {
        self.counts().filter(|(c, _)| c.in_differential()).map(|(_, n)| n).sum()
    }

    /// Cells seen but excluded from the denominator (macrophages, smudge cells).
    pub fn excluded(&self) -> u32 {
        self.counts().filter(|(c, _)| !c.in_differential()).map(|(_, n)| n).sum()
    }

    /// Percentage of the NDC, for classes in the differential; `None` for excluded classes or
    /// an empty count.
    pub fn percent(&self, class: CellClass) -> Option<f64> {
        let total = self.total();
        if total == 0 || !class.in_differential() {
            return None;
        }
        Some(100.0 * f64::from(self.count(class)) / f64::from(total))
    }

    /// The M:E ratio by the ICSH convention (see [`CellClass::me_side`]).
    pub fn me_ratio(&self) -> MeRatio {
        let side = |s: MeSide| -> u32 {
            self.counts().filter(|(c, _)| c.me_side() == s).map(|(_, n)| n).sum()
        };
        let erythroid = side(MeSide::Erythroid);
        if erythroid == 0 {
            return MeRatio::NotCalculable;
        }
        MeRatio::Ratio(f64::from(side(MeSide::Myeloid)) / f64::from(erythroid))
    }
}

/// Which cells a site counts into the denominator, beyond the fixed ICSH rule.
///
/// Clinical reference §1.3 (ICSH 2008 §2.6 as quoted): macrophages and smudged cells are never in
/// the NDC ([`CellClass::in_differential`]); that cannot be switched off. A site may exclude
/// further classes (for example `Other`, when it is used for non-haemopoietic tumour cells,
/// which ICSH also leaves out). Excluded cells are still tallied and shown; they are only kept
/// out of the denominator and so have no percentage. The M:E ratio is unaffected: it follows
/// the ICSH class definition ([`CellClass::me_side`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountingRules {
    /// Classes the site keeps out of the denominator, in addition to the ICSH exclusions.
    pub excluded: BTreeSet<CellClass>,
}

impl CountingRules {
    /// Whether `class` counts into the denominator under these rules.
    pub fn counts(&self, class: CellClass) -> bool {
        class.in_differential() && !self.excluded.contains(&class)
    }

    /// Parses the stored list of excluded class codes; the error names the field `excluded`.
    pub fn parse<'a>(codes: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let excluded = codes
            .into_iter()
            .map(|code| CellClass::parse(code).map_err(|e| e.at("excluded")))
            .collect::<Result<_, _>>()?;
        Ok(Self { excluded })
    }

    /// The excluded class codes, for storage.
    pub fn codes(&self) -> Vec<&'static str> {
        self.excluded.iter().map(|c| c.code()).collect()
    }
}

impl Differential {
    /// The NDC under a site's [`CountingRules`]: cells in the denominator.
    pub fn total_with(&self, rules: &CountingRules) -> u32 {
        self.counts().filter(|(c, _)| rules.counts(*c)).map(|(_, n)| n).sum()
    }

    /// Cells seen but kept out of the denominator under `rules`.
    pub fn excluded_with(&self, rules: &CountingRules) -> u32 {
        self.counts().filter(|(c, _)| !rules.counts(*c)).map(|(_, n)| n).sum()
    }

    /// Percentage of the NDC under `rules`; `None` for a class the rules exclude or an empty
    /// count.
    pub fn percent_with(&self, class: CellClass, rules: &CountingRules) -> Option<f64> {
        let total = self.total_with(rules);
        if total == 0 || !rules.counts(class) {
            return None;
        }
        Some(100.0 * f64::from(self.count(class)) / f64::from(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_ratio_matches_the_reference_vector() {
        // Clinical reference §1.4 test vector: poly 150, mono 60, erythroblasts 90 → 2.33.
        let d = Differential::from_counts([
            (CellClass::SegmentedNeutrophil, 150),
            (CellClass::Monocyte, 60),
            (CellClass::PolychromaticErythroblast, 90),
        ]);
        let MeRatio::Ratio(r) = d.me_ratio() else { panic!("ratio expected") };
        assert!((r - 2.333).abs() < 0.001, "{r}");
        assert_eq!(d.me_ratio().to_string(), "2.33:1");
    }

    #[test]
    fn no_erythroid_cells_means_not_calculable() {
        let d = Differential::from_counts([(CellClass::Blast, 10)]);
        assert_eq!(d.me_ratio(), MeRatio::NotCalculable);
    }

    #[test]
    fn excluded_cells_are_outside_the_denominator() {
        let d = Differential::from_counts([
            (CellClass::Blast, 25),
            (CellClass::Lymphocyte, 475),
            (CellClass::Smudge, 40),
            (CellClass::Macrophage, 3),
        ]);
        assert_eq!(d.total(), 500);
        assert_eq!(d.excluded(), 43);
        assert!((d.percent(CellClass::Blast).unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(d.percent(CellClass::Smudge), None);
    }

    #[test]
    fn parsing_names_the_bad_count() {
        let err = Differential::parse([("blasts", "5"), ("lymphocytes", "many")]).unwrap_err();
        assert_eq!(err.field, "counts.lymphocytes");
        let err = Differential::parse([("blasts", "-1")]).unwrap_err();
        assert_eq!(err.field, "counts.blasts");
        let err = Differential::parse([("megakaryocytes", "1")]).unwrap_err();
        assert_eq!(err.field, "counts");
        let err = Differential::parse([("smudge", "4")]).unwrap_err();
        assert_eq!(err.field, "counts", "only excluded cells is an empty differential");
    }

    #[test]
    fn site_exclusions_leave_the_denominator_but_stay_tallied() {
        let d = Differential::from_counts([
            (CellClass::Blast, 25),
            (CellClass::Lymphocyte, 475),
            (CellClass::Other, 100),
            (CellClass::Smudge, 40),
        ]);
        let icsh = CountingRules::default();
        assert_eq!(d.total_with(&icsh), 600, "ICSH alone: only smudge cells are excluded");
        let rules = CountingRules::parse(["other"]).unwrap();
        assert_eq!(d.total_with(&rules), 500);
        assert_eq!(d.excluded_with(&rules), 140);
        assert!((d.percent_with(CellClass::Blast, &rules).unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(d.percent_with(CellClass::Other, &rules), None);
        assert_eq!(d.count(CellClass::Other), 100, "excluded cells are still tallied");
        assert_eq!(rules.codes(), ["other"]);
    }

    #[test]
    fn the_icsh_exclusions_cannot_be_switched_back_on() {
        let rules = CountingRules::default();
        assert!(!rules.counts(CellClass::Smudge));
        assert!(!rules.counts(CellClass::Macrophage));
        assert_eq!(CountingRules::parse(["megakaryocytes"]).unwrap_err().field, "excluded");
    }
}
