//! Reference intervals for the adult aspirate differential, as a versioned table a laboratory
//! can replace with its own.
//!
//! Clinical reference §2.1: no single authoritative table could be read in full, marrow ranges
//! are wide and laboratory-specific, and the reference tells us to encode them "as a versioned,
//! per-laboratory table with its citation; the defaults are illustrations, not a standard". So
//! the built-in table ([`ReferenceTable::iowa_adult`]) names its source and version, and every
//! result carries the row label it was judged against.
//!
//! Limits are held as whole tenths of a percent ([`Tenths`]) and whole hundredths of a ratio
//! ([`Hundredths`]), so comparisons are integer comparisons, never a float `==`.

use std::collections::BTreeSet;

use crate::FieldError;
use crate::morphology::{CellClass, CountingRules, Differential, MeRatio, MeSide};

/// A non-negative decimal held exactly as whole tenths (`2.5` is `Tenths::new(25)`): used for
/// percentages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tenths(u32);

/// A non-negative decimal held exactly as whole hundredths (`2.25` is `Hundredths::new(225)`):
/// used for the M:E ratio, which reports print to two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hundredths(u32);

impl Tenths {
    /// From a number of tenths.
    pub const fn new(tenths: u32) -> Self {
        Self(tenths)
    }

    /// From a whole number (`whole(2)` is 2.0).
    pub const fn whole(units: u32) -> Self {
        Self(units * 10)
    }

    /// The number of tenths.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The value as a float, for display and arithmetic, never for comparing limits.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// `k / n` as a percentage, rounded half up to a tenth: the value a report shows. `None` when
    /// `n` is 0.
    pub fn percent_of(k: u32, n: u32) -> Option<Self> {
        rounded_ratio(k, n, 1000).map(Self)
    }

    /// Parses a decimal with at most one decimal place (`"2"`, `"2.5"`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        parse_fixed(raw, 1).map(Self).ok_or_else(|| {
            FieldError::new(field, format!("{:?} is not a number with at most one decimal", raw))
        })
    }
}

impl Hundredths {
    /// From a number of hundredths.
    pub const fn new(hundredths: u32) -> Self {
        Self(hundredths)
    }

    /// From a whole number (`whole(2)` is 2.00).
    pub const fn whole(units: u32) -> Self {
        Self(units * 100)
    }

    /// The number of hundredths.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The value as a float, for display and arithmetic, never for comparing limits.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// `a / b` rounded half up to a hundredth. `None` when `b` is 0.
    pub fn ratio(a: u32, b: u32) -> Option<Self> {
        rounded_ratio(a, b, 100).map(Self)
    }

    /// Parses a decimal with at most two decimal places (`"2"`, `"1.2"`, `"1.25"`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        parse_fixed(raw, 2).map(Self).ok_or_else(|| {
            FieldError::new(field, format!("{:?} is not a number with at most two decimals", raw))
        })
    }
}

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (units, rest) = (self.0 / 10, self.0 % 10);
        if rest == 0 { write!(f, "{units}") } else { write!(f, "{units}.{rest}") }
    }
}

impl std::fmt::Display for Hundredths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (units, rest) = (self.0 / 100, self.0 % 100);
        match rest {
            0 => write!(f, "{units}"),
            r if r % 10 == 0 => write!(f, "{units}.{}", r / 10),
            r => write!(f, "{units}.{r:02}"),
        }
    }
}

/// `scale × a / b`, rounded half up, in integers.
fn rounded_ratio(a: u32, b: u32, scale: u64) -> Option<u32> {
    if b == 0 {
        return None;
    }
    let (a, b) = (u64::from(a), u64::from(b));
    u32::try_from((2 * scale * a + b) / (2 * b)).ok()
}

/// Parses `"12"` or `"12.3"` (up to `decimals` places) into whole units of 10^-decimals.
fn parse_fixed(raw: &str, decimals: u32) -> Option<u32> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // Six whole digits is far beyond any percentage or ratio; it keeps the arithmetic in u32.
    if whole.is_empty() || whole.len() > 6 || !digits(whole) || !digits(fraction) {
        return None;
    }
    if fraction.len() > decimals as usize || (raw.contains('.') && fraction.is_empty()) {
        return None;
    }
    let scale = 10_u32.pow(decimals);
    let padded =
        fraction.parse::<u32>().unwrap_or(0) * 10_u32.pow(decimals - fraction.len() as u32);
    Some(whole.parse::<u32>().ok()? * scale + padded)
}

/// An inclusive reference interval, `low ≤ value ≤ high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits<T> {
    /// Lowest value within the interval.
    pub low: T,
    /// Highest value within the interval.
    pub high: T,
}

impl<T: Ord + Copy> Limits<T> {
    /// Where `observed` falls.
    pub fn classify(&self, observed: T) -> RangeStatus {
        if observed < self.low {
            RangeStatus::Below
        } else if observed > self.high {
            RangeStatus::Above
        } else {
            RangeStatus::Within
        }
    }
}

/// Where an observed value falls against its reference interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeStatus {
    /// Below the interval.
    Below,
    /// Within the interval, limits included.
    Within,
    /// Above the interval.
    Above,
    /// The table has no validated interval for this row; nothing is invented.
    NoInterval,
    /// There is no observed value: nothing counted into the denominator, a class the site
    /// excludes from it, or an M:E ratio without erythroid cells.
    NotCalculable,
}

/// One row of a reference table: a single class, or a group whose counts are summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRow {
    /// The row's name as the report prints it.
    pub label: String,
    /// The classes summed for this row (one for a single class).
    pub classes: Vec<CellClass>,
    /// The interval in percent of the NDC; `None` where no validated interval exists.
    pub limits: Option<Limits<Tenths>>,
}

/// A named, versioned, cited set of reference intervals for the aspirate differential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceTable {
    name: String,
    version: String,
    citation: String,
    rows: Vec<ReferenceRow>,
    me_ratio: Option<Limits<Hundredths>>,
}

/// One row checked against a differential.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeResult {
    /// The row's label.
    pub label: String,
    /// The observed percentage, unrounded; `None` when not calculable.
    pub observed_percent: Option<f64>,
    /// The observed percentage rounded half up to a tenth, as shown; this is what is compared.
    pub observed: Option<Tenths>,
    /// The reference interval, if the table has one.
    pub limits: Option<Limits<Tenths>>,
    /// Where the observed value falls.
    pub status: RangeStatus,
}

/// The M:E ratio checked against the table's interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeCheck {
    /// The ratio as [`Differential::me_ratio`] gives it.
    pub observed: MeRatio,
    /// The ratio rounded half up to a hundredth, as shown; this is what is compared.
    pub observed_rounded: Option<Hundredths>,
    /// The reference interval, if the table has one.
    pub limits: Option<Limits<Hundredths>>,
    /// Where the observed ratio falls.
    pub status: RangeStatus,
}

impl ReferenceTable {
    /// Builds a laboratory's own table, checking it: a name, version and citation are required,
    /// every row has a label and at least one class, no class is in two rows, no row holds a
    /// class that is never in the differential (macrophages, smudge cells), and every interval
    /// has `low ≤ high ≤ 100 %`. Errors name the field (`rows[3].limits`).
    pub fn new(
        name: &str,
        version: &str,
        citation: &str,
        rows: Vec<ReferenceRow>,
        me_ratio: Option<Limits<Hundredths>>,
    ) -> Result<Self, FieldError> {
        let name = crate::required_text("name", name, 200)?;
        let version = crate::required_text("version", version, 50)?;
        let citation = crate::required_text("citation", citation, 2000)?;
        let mut seen = BTreeSet::new();
        for (i, row) in rows.iter().enumerate() {
            crate::required_text(&format!("rows[{i}].label"), &row.label, 200)?;
            let field = format!("rows[{i}].classes");
            if row.classes.is_empty() {
                return Err(FieldError::new(field, "name at least one cell class"));
            }
            for class in &row.classes {
                if !class.in_differential() {
                    return Err(FieldError::new(
                        field,
                        format!("{} are never part of the differential", class.label()),
                    ));
                }
                if !seen.insert(*class) {
                    return Err(FieldError::new(
                        field,
                        format!("{} already has a row", class.label()),
                    ));
                }
            }
            if let Some(limits) = row.limits
                && (limits.low > limits.high || limits.high > Tenths::whole(100))
            {
                return Err(FieldError::new(
                    format!("rows[{i}].limits"),
                    "the low limit must not exceed the high limit, nor the high limit 100 %",
                ));
            }
        }
        if let Some(limits) = me_ratio
            && limits.low > limits.high
        {
            return Err(FieldError::new(
                "me_ratio",
                "the low limit must not exceed the high limit",
            ));
        }
        Ok(Self { name, version, citation, rows, me_ratio })
    }

    /// The built-in adult table: the University of Iowa Pathology Handbook column of clinical
    /// reference §2.1 ("Bone Marrow Exam", normal adult marrow, normal cellularity) \[S\].
    ///
    /// Mast cells and "other" have no interval in that source, so they get none: a row with
    /// [`RangeStatus::NoInterval`] rather than an invented number.
    pub fn iowa_adult() -> Self {
        use CellClass::*;
        let row = |label: &str, classes: &[CellClass], limits: Option<(u32, u32)>| ReferenceRow {
            label: label.to_owned(),
            classes: classes.to_vec(),
            limits: limits
                .map(|(low, high)| Limits { low: Tenths::whole(low), high: Tenths::whole(high) }),
        };
        // Clinical reference §2.1, Univ. of Iowa Pathology Handbook column, in percent of
        // nucleated marrow cells.
        let rows = vec![
            row("Blasts", &[Blast], Some((0, 2))),
            row("Promyelocytes", &[Promyelocyte], Some((2, 6))),
            row("Myelocytes", &[Myelocyte], Some((3, 7))),
            row("Metamyelocytes", &[Metamyelocyte], Some((5, 9))),
            row("Band neutrophils", &[BandNeutrophil], Some((10, 16))),
            row("Segmented neutrophils", &[SegmentedNeutrophil], Some((18, 28))),
            row("Eosinophils and precursors", &[Eosinophil], Some((1, 5))),
            row("Basophils and precursors", &[Basophil], Some((0, 1))),
            row("Monocytes and precursors", &[Monocyte], Some((1, 5))),
            row("Lymphocytes", &[Lymphocyte], Some((9, 19))),
            row("Plasma cells", &[PlasmaCell], Some((0, 1))),
            // "Erythroid precursors" is one figure for all stages, so the row sums the four.
            row(
                "Erythroid precursors",
                &[
                    Proerythroblast,
                    BasophilicErythroblast,
                    PolychromaticErythroblast,
                    OrthochromaticErythroblast,
                ],
                Some((18, 32)),
            ),
            // No interval in the source: none is invented.
            row("Mast cells", &[MastCell], None),
            row("Other / unclassifiable", &[Other], None),
        ];
        Self {
            name: "Adult aspirate differential (University of Iowa)".to_owned(),
            version: "1".to_owned(),
            citation: "University of Iowa Pathology Laboratory Handbook, Bone Marrow Exam \
                       (normal adult marrow, normal cellularity), as recorded in the Marrow \
                       clinical reference §2.1 [S]. Illustrative defaults: marrow ranges are \
                       laboratory-specific."
                .to_owned(),
            rows,
            // Clinical reference §1.4 and §2.1: M:E 2:1–4:1 (Univ. of Iowa handbook; Davis's).
            me_ratio: Some(Limits { low: Hundredths::whole(2), high: Hundredths::whole(4) }),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's version; a changed table gets a new version, so a signed report can say
    /// exactly which intervals it was judged against.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where the numbers come from.
    pub fn citation(&self) -> &str {
        &self.citation
    }

    /// The rows, in display order.
    pub fn rows(&self) -> &[ReferenceRow] {
        &self.rows
    }

    /// The M:E interval, if the table has one.
    pub fn me_ratio(&self) -> Option<Limits<Hundredths>> {
        self.me_ratio
    }

    /// The row holding `class`, alone or in a group.
    pub fn row_for(&self, class: CellClass) -> Option<&ReferenceRow> {
        self.rows.iter().find(|row| row.classes.contains(&class))
    }

    /// Checks every row against `differential`, with the denominator `rules` define.
    ///
    /// The observed percentage is rounded half up to a tenth before it is compared, because
    /// that is the figure the report prints: a flag must agree with the number beside it
    /// (2.04 % shows as "2.0" and is within 0–2 %). A group row sums the counts of its classes
    /// that the rules count; when the rules count none of them the row is not calculable.
    pub fn check(&self, differential: &Differential, rules: &CountingRules) -> Vec<RangeResult> {
        let total = differential.total_with(rules);
        self.rows
            .iter()
            .map(|row| {
                let counted: Vec<CellClass> =
                    row.classes.iter().copied().filter(|c| rules.counts(*c)).collect();
                let k: u32 = counted.iter().map(|c| differential.count(*c)).sum();
                let calculable = total > 0 && !counted.is_empty();
                let observed = if calculable { Tenths::percent_of(k, total) } else { None };
                let status = match (observed, row.limits) {
                    (None, _) => RangeStatus::NotCalculable,
                    (Some(_), None) => RangeStatus::NoInterval,
                    (Some(value), Some(limits)) => limits.classify(value),
                };
                RangeResult {
                    label: row.label.clone(),
                    observed_percent: calculable.then(|| 100.0 * f64::from(k) / f64::from(total)),
                    observed,
                    limits: row.limits,
                    status,
                }
            })
            .collect()
    }

    /// Checks the M:E ratio (ICSH convention, [`Differential::me_ratio`]) against the table.
    /// Rounded half up to a hundredth before comparing, as the report prints two decimals.
    pub fn check_me(&self, differential: &Differential) -> MeCheck {
        let side = |s: MeSide| -> u32 {
            differential.counts().filter(|(c, _)| c.me_side() == s).map(|(_, n)| n).sum()
        };
        let observed_rounded = Hundredths::ratio(side(MeSide::Myeloid), side(MeSide::Erythroid));
        let status = match (observed_rounded, self.me_ratio) {
            (None, _) => RangeStatus::NotCalculable,
            (Some(_), None) => RangeStatus::NoInterval,
            (Some(value), Some(limits)) => limits.classify(value),
        };
        MeCheck {
            observed: differential.me_ratio(),
            observed_rounded,
            limits: self.me_ratio,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellClass::*;

    /// A 500-cell differential with every class inside the Iowa intervals.
    fn unremarkable() -> Differential {
        Differential::from_counts([
            (Blast, 5),                       // 1.0 %
            (Promyelocyte, 20),               // 4.0 %
            (Myelocyte, 25),                  // 5.0 %
            (Metamyelocyte, 35),              // 7.0 %
            (BandNeutrophil, 65),             // 13.0 %
            (SegmentedNeutrophil, 115),       // 23.0 %
            (Eosinophil, 15),                 // 3.0 %
            (Basophil, 2),                    // 0.4 %
            (Monocyte, 15),                   // 3.0 %
            (Lymphocyte, 70),                 // 14.0 %
            (PlasmaCell, 3),                  // 0.6 %
            (PolychromaticErythroblast, 80),  // } erythroid 130,
            (OrthochromaticErythroblast, 40), // } 26.0 %
            (BasophilicErythroblast, 10),     // }
            (Smudge, 12),                     // outside the denominator
        ])
    }

    fn status_of<'a>(results: &'a [RangeResult], label: &str) -> &'a RangeResult {
        results.iter().find(|r| r.label == label).unwrap()
    }

    #[test]
    fn an_unremarkable_count_is_within_every_interval() {
        let table = ReferenceTable::iowa_adult();
        let d = unremarkable();
        assert_eq!(d.total(), 500);
        for result in table.check(&d, &CountingRules::default()) {
            // Mast cells and "other" (none counted, 0 %) have no interval to be within.
            let expected =
                if result.limits.is_some() { RangeStatus::Within } else { RangeStatus::NoInterval };
            assert_eq!(result.status, expected, "{}", result.label);
        }
        let me = table.check_me(&d);
        // Myeloid 5+20+25+35+65+115+15+2+15 = 297; erythroid 130 → 2.2846 → 2.28.
        assert_eq!(me.observed_rounded, Some(Hundredths::new(228)));
        assert_eq!(me.status, RangeStatus::Within);
    }

    #[test]
    fn the_erythroid_row_sums_the_four_stages() {
        let results =
            ReferenceTable::iowa_adult().check(&unremarkable(), &CountingRules::default());
        let erythroid = status_of(&results, "Erythroid precursors");
        assert_eq!(erythroid.observed, Some(Tenths::new(260)));
        assert_eq!(
            erythroid.limits,
            Some(Limits { low: Tenths::whole(18), high: Tenths::whole(32) })
        );
    }

    #[test]
    fn limits_are_inclusive_and_compared_as_the_report_rounds() {
        let table = ReferenceTable::iowa_adult();
        let rules = CountingRules::default();
        let blasts = |k: u32, n: u32| {
            let d = Differential::from_counts([(Blast, k), (Lymphocyte, n - k)]);
            status_of(&table.check(&d, &rules), "Blasts").status
        };
        assert_eq!(blasts(10, 500), RangeStatus::Within, "2.0 % is within 0–2 %");
        assert_eq!(blasts(11, 500), RangeStatus::Above, "2.2 % is above 0–2 %");
        assert_eq!(blasts(51, 2500), RangeStatus::Within, "2.04 % prints as 2.0 %");
        assert_eq!(blasts(51, 2480), RangeStatus::Above, "2.056 % prints as 2.1 %");
        assert_eq!(blasts(0, 500), RangeStatus::Within, "0 % is within 0–2 %");
        let d = Differential::from_counts([(Promyelocyte, 9), (Lymphocyte, 491)]);
        assert_eq!(status_of(&table.check(&d, &rules), "Promyelocytes").status, RangeStatus::Below);
    }

    #[test]
    fn mast_cells_and_other_have_no_interval_rather_than_an_invented_one() {
        let d = Differential::from_counts([(MastCell, 3), (Other, 1), (Lymphocyte, 496)]);
        let results = ReferenceTable::iowa_adult().check(&d, &CountingRules::default());
        for label in ["Mast cells", "Other / unclassifiable"] {
            let result = status_of(&results, label);
            assert_eq!(result.status, RangeStatus::NoInterval, "{label}");
            assert_eq!(result.limits, None, "{label}");
        }
        assert!((status_of(&results, "Mast cells").observed_percent.unwrap() - 0.6).abs() < 1e-9);
    }

    #[test]
    fn a_class_the_site_excludes_is_not_calculable_and_leaves_the_denominator() {
        let d = Differential::from_counts([(Blast, 10), (Other, 100), (Lymphocyte, 390)]);
        let rules = CountingRules::parse(["other"]).unwrap();
        let results = ReferenceTable::iowa_adult().check(&d, &rules);
        assert_eq!(
            status_of(&results, "Other / unclassifiable").status,
            RangeStatus::NotCalculable
        );
        // 10 of 400 = 2.5 %: above, where with "other" counted it would be 2.0 % and within.
        assert_eq!(status_of(&results, "Blasts").observed, Some(Tenths::new(25)));
        assert_eq!(status_of(&results, "Blasts").status, RangeStatus::Above);
    }

    #[test]
    fn an_empty_count_is_not_calculable_everywhere() {
        let results =
            ReferenceTable::iowa_adult().check(&Differential::default(), &CountingRules::default());
        assert_eq!(results.len(), 14);
        assert!(results.iter().all(|r| r.status == RangeStatus::NotCalculable));
    }

    #[test]
    fn the_me_ratio_is_judged_against_two_to_four() {
        let table = ReferenceTable::iowa_adult();
        let me = |myeloid: u32, erythroid: u32| {
            let d = Differential::from_counts([
                (SegmentedNeutrophil, myeloid),
                (PolychromaticErythroblast, erythroid),
            ]);
            table.check_me(&d).status
        };
        assert_eq!(me(200, 100), RangeStatus::Within, "2:1");
        assert_eq!(me(400, 100), RangeStatus::Within, "4:1");
        assert_eq!(me(199, 100), RangeStatus::Below, "1.99:1");
        assert_eq!(me(401, 100), RangeStatus::Above, "4.01:1");
        assert_eq!(me(1999, 1000), RangeStatus::Within, "1.999 prints as 2.00");
        assert_eq!(me(10, 0), RangeStatus::NotCalculable, "no erythroid cells");
    }

    #[test]
    fn the_built_in_table_passes_its_own_validation() {
        let table = ReferenceTable::iowa_adult();
        let rebuilt = ReferenceTable::new(
            table.name(),
            table.version(),
            table.citation(),
            table.rows().to_vec(),
            table.me_ratio(),
        )
        .unwrap();
        assert_eq!(rebuilt, table);
        assert_eq!(
            table.row_for(OrthochromaticErythroblast).unwrap().label,
            "Erythroid precursors"
        );
        assert!(table.row_for(Smudge).is_none());
    }

    #[test]
    fn a_laboratory_table_is_refused_with_the_field_that_is_wrong() {
        let row = |classes: &[CellClass], low: u32, high: u32| ReferenceRow {
            label: "Row".to_owned(),
            classes: classes.to_vec(),
            limits: Some(Limits { low: Tenths::new(low), high: Tenths::new(high) }),
        };
        let new = |rows| ReferenceTable::new("Lab", "2", "Local study", rows, None);
        assert_eq!(ReferenceTable::new(" ", "2", "c", vec![], None).unwrap_err().field, "name");
        assert_eq!(ReferenceTable::new("Lab", "", "c", vec![], None).unwrap_err().field, "version");
        assert_eq!(
            ReferenceTable::new("Lab", "2", "", vec![], None).unwrap_err().field,
            "citation"
        );
        let twice = vec![row(&[Blast], 0, 20), row(&[Blast, Myelocyte], 0, 20)];
        assert_eq!(new(twice).unwrap_err().field, "rows[1].classes");
        assert_eq!(new(vec![row(&[Smudge], 0, 20)]).unwrap_err().field, "rows[0].classes");
        assert_eq!(new(vec![row(&[], 0, 20)]).unwrap_err().field, "rows[0].classes");
        assert_eq!(new(vec![row(&[Blast], 30, 20)]).unwrap_err().field, "rows[0].limits");
        assert_eq!(new(vec![row(&[Blast], 0, 1001)]).unwrap_err().field, "rows[0].limits");
        let me = Some(Limits { low: Hundredths::whole(5), high: Hundredths::whole(1) });
        assert_eq!(ReferenceTable::new("Lab", "2", "c", vec![], me).unwrap_err().field, "me_ratio");
        // Wintrobe's 1.2–5.3 % eosinophils (clinical reference §2.1) fits in tenths.
        let wintrobe = vec![row(&[Eosinophil], 12, 53)];
        assert!(new(wintrobe).is_ok());
    }

    #[test]
    fn decimals_parse_exactly_and_print_without_trailing_zeros() {
        assert_eq!(Tenths::parse("x", " 1.2 ").unwrap(), Tenths::new(12));
        assert_eq!(Tenths::parse("x", "18").unwrap(), Tenths::whole(18));
        for bad in ["", "1.25", "-1", "1.", ".5", "one", "1,5", "1234567"] {
            assert_eq!(Tenths::parse("x", bad).unwrap_err().field, "x", "{bad:?}");
        }
        assert_eq!(Hundredths::parse("me", "1.25").unwrap(), Hundredths::new(125));
        assert_eq!(Hundredths::parse("me", "1.2").unwrap(), Hundredths::new(120));
        assert!(Hundredths::parse("me", "1.255").is_err());
        assert_eq!(Tenths::new(25).to_string(), "2.5");
        assert_eq!(Tenths::whole(18).to_string(), "18");
        assert_eq!(Hundredths::new(120).to_string(), "1.2");
        assert_eq!(Hundredths::new(105).to_string(), "1.05");
        assert_eq!(Hundredths::whole(4).to_string(), "4");
    }

    #[test]
    fn rounding_is_half_up_in_integers() {
        assert_eq!(Tenths::percent_of(1, 8), Some(Tenths::new(125)), "12.5 % exactly");
        assert_eq!(Tenths::percent_of(1, 16), Some(Tenths::new(63)), "6.25 % → 6.3");
        assert_eq!(Tenths::percent_of(1, 0), None);
        assert_eq!(Hundredths::ratio(17, 8), Some(Hundredths::new(213)), "2.125 → 2.13");
    }
}
