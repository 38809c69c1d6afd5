//! A patient's marrows and blood counts over time: each marrow's key percentages with their 95 %
//! limits, changes larger than counting noise, treatment milestones, and response observations.
//!
//! Everything here is an observation for the clinician, never a verdict: a response category
//! needs facts Marrow does not hold (Auer rods, extramedullary disease, transfusion history).

use crate::FieldError;
use crate::blood_count::{Analyte, BloodCount, Quantity};
use crate::ids::CaseId;
use crate::morphology::{CellClass, CountingRules, Differential, MeSide};
use crate::stats::clopper_pearson_95;
use crate::text::{optional_text, required_text};
use crate::time::{Date, Timestamp};

/// A percentage with its exact 95 % limits (Clopper–Pearson, clinical reference §4.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Cells of the class.
    pub cells: u32,
    /// Cells in the denominator.
    pub of: u32,
    /// The observed percentage.
    pub percent: f64,
    /// Lower 95 % limit, %.
    pub lower: f64,
    /// Upper 95 % limit, %.
    pub upper: f64,
}

impl Estimate {
    /// `k` of `n` cells; `None` when nothing was counted.
    pub fn of(k: u32, n: u32) -> Option<Self> {
        let interval = clopper_pearson_95(k, n).ok()?;
        Some(Self {
            cells: k,
            of: n,
            percent: 100.0 * f64::from(k) / f64::from(n),
            lower: interval.lower_percent(),
            upper: interval.upper_percent(),
        })
    }

    /// Whether the two 95 % intervals share no value: a difference counting noise alone is
    /// unlikely to explain.
    pub fn separate_from(&self, other: &Estimate) -> bool {
        self.upper < other.lower || other.upper < self.lower
    }
}

/// The M:E ratio with 95 % limits: the exact limits of the myeloid share `m / (m + e)` mapped
/// onto the ratio `p / (1 − p)`, which keeps them exact because the mapping is monotone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioEstimate {
    /// Myeloid cells.
    pub myeloid: u32,
    /// Erythroid cells.
    pub erythroid: u32,
    /// The ratio.
    pub ratio: f64,
    /// Lower 95 % limit.
    pub lower: f64,
    /// Upper 95 % limit (`f64::INFINITY` when every cell on the two sides was myeloid).
    pub upper: f64,
}

impl RatioEstimate {
    /// From a differential by the ICSH sides ([`CellClass::me_side`]); `None` with no erythroid
    /// cells (the ratio is not calculable).
    pub fn of(differential: &Differential) -> Option<Self> {
        let side = |s: MeSide| -> u32 {
            differential.counts().filter(|(c, _)| c.me_side() == s).map(|(_, n)| n).sum()
        };
        let (myeloid, erythroid) = (side(MeSide::Myeloid), side(MeSide::Erythroid));
        if erythroid == 0 {
            return None;
        }
        let interval = clopper_pearson_95(myeloid, myeloid + erythroid).ok()?;
        let odds = |p: f64| if p >= 1.0 { f64::INFINITY } else { p / (1.0 - p) };
        Some(Self {
            myeloid,
            erythroid,
            ratio: f64::from(myeloid) / f64::from(erythroid),
            lower: odds(interval.lower),
            upper: odds(interval.upper),
        })
    }
}

/// One signed marrow as the timeline shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialMarrow {
    /// The case.
    pub case: CaseId,
    /// When the marrow was taken (the procedure), or signed when no time was recorded.
    pub taken_at: Timestamp,
    /// Cells in the denominator (nucleated differential count).
    pub cells_counted: u32,
    /// Blasts, %, with limits.
    pub blasts: Option<Estimate>,
    /// Plasma cells, %, with limits.
    pub plasma_cells: Option<Estimate>,
    /// M:E ratio with limits.
    pub me_ratio: Option<RatioEstimate>,
}

impl SerialMarrow {
    /// The figures of a signed differential under the counting rules it was signed with.
    pub fn new(
        case: CaseId,
        taken_at: Timestamp,
        differential: &Differential,
        rules: &CountingRules,
    ) -> Self {
        let n = differential.total_with(rules);
        let share = |class: CellClass| {
            if rules.counts(class) { Estimate::of(differential.count(class), n) } else { None }
        };
        Self {
            case,
            taken_at,
            cells_counted: n,
            blasts: share(CellClass::Blast),
            plasma_cells: share(CellClass::PlasmaCell),
            me_ratio: RatioEstimate::of(differential),
        }
    }
}

/// Which way a value moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Up.
    Rise,
    /// Down.
    Fall,
}

/// Two consecutive marrows whose blast 95 % limits do not overlap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlastChange {
    /// The earlier marrow.
    pub from: CaseId,
    /// The later marrow.
    pub to: CaseId,
    /// Up or down.
    pub movement: Movement,
}

/// The blast changes between consecutive marrows (given in date order) that counting noise is
/// unlikely to explain: the two 95 % intervals do not overlap (clinical reference §4.1–4.3).
pub fn blast_changes(marrows: &[SerialMarrow]) -> Vec<BlastChange> {
    marrows
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0].blasts?, w[1].blasts?);
            a.separate_from(&b).then_some(BlastChange {
                from: w[0].case,
                to: w[1].case,
                movement: if b.percent > a.percent { Movement::Rise } else { Movement::Fall },
            })
        })
        .collect()
}

/// Marrow blasts below which ELN 2022 complete remission is possible, %.
pub const CR_MARROW_BLASTS: f64 = 5.0;
/// Neutrophils needed for ELN 2022 complete remission, ×10⁹/L.
pub const CR_NEUTROPHILS: Quantity = Quantity::whole(1);
/// Platelets needed for ELN 2022 complete remission, ×10⁹/L.
pub const CR_PLATELETS: Quantity = Quantity::whole(100);
/// How far from the marrow a blood count may be taken and still be read with it, days (a
/// Marrow convention: the criteria speak of counts at the time of the marrow).
pub const COUNT_WINDOW_DAYS: i64 = 7;

/// Where the response criteria come from.
pub const ELN_2022_CR: &str = "ELN 2022 complete remission: marrow blasts < 5 %, no circulating blasts or Auer rods, ANC ≥ 1.0 × 10⁹/L, platelets ≥ 100 × 10⁹/L (clinical reference §3.1)";

/// What an observation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationKind {
    /// Blasts < 5 % and the nearest count meets every ELN 2022 CR count criterion.
    CompleteRemissionCriteriaMet,
    /// Blasts < 5 % but the counts are not recovered, or not all known.
    BlastsBelowFiveCountsNotRecovered,
    /// Blasts ≥ 5 % after an earlier marrow below 5 %.
    BlastsBackAtOrAboveFive,
    /// Blasts moved beyond counting noise since the previous marrow.
    BlastChange(Movement),
}

/// An observation about one marrow, with its source; never a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseObservation {
    /// The marrow it is about.
    pub case: CaseId,
    /// What kind.
    pub kind: ObservationKind,
    /// A plain sentence with the figures behind it.
    pub text: String,
    /// Where the rule comes from.
    pub source: &'static str,
}

/// The count nearest to `at` within [`COUNT_WINDOW_DAYS`].
pub fn nearest_count(counts: &[BloodCount], at: Timestamp) -> Option<&BloodCount> {
    counts
        .iter()
        .map(|c| ((c.taken_at.unix() - at.unix()).abs(), c))
        .filter(|(gap, _)| *gap <= COUNT_WINDOW_DAYS * 86_400)
        .min_by_key(|(gap, _)| *gap)
        .map(|(_, c)| c)
}

/// The response observations for marrows in date order, read with the patient's counts.
pub fn response_observations(
    marrows: &[SerialMarrow],
    counts: &[BloodCount],
) -> Vec<ResponseObservation> {
    let mut out = Vec::new();
    for (i, marrow) in marrows.iter().enumerate() {
        let Some(blasts) = marrow.blasts else { continue };
        if blasts.percent < CR_MARROW_BLASTS {
            let count = nearest_count(counts, marrow.taken_at);
            let mut missing = Vec::new();
            let mut unmet = Vec::new();
            let mut check =
                |analyte: Analyte, ok: &dyn Fn(Quantity) -> bool, need: &str| match count
                    .and_then(|c| c.get(analyte))
                {
                    None => missing.push(analyte.label().to_lowercase()),
                    Some(v) if !ok(v) => unmet.push(format!(
                        "{} {v} {} ({need})",
                        analyte.label().to_lowercase(),
                        analyte.unit()
                    )),
                    Some(_) => {}
                };
            check(Analyte::Neutrophils, &|v| v >= CR_NEUTROPHILS, "needs ≥ 1.0");
            check(Analyte::Platelets, &|v| v >= CR_PLATELETS, "needs ≥ 100");
            check(Analyte::Blasts, &|v| v == Quantity::ZERO, "needs none");
            let figure = format!("Marrow blasts {:.1} % (below 5 %)", blasts.percent);
            let (kind, text) = if count.is_none() {
                (
                    ObservationKind::BlastsBelowFiveCountsNotRecovered,
                    format!(
                        "{figure}; no blood count within {COUNT_WINDOW_DAYS} days, so count recovery cannot be judged."
                    ),
                )
            } else if unmet.is_empty() && missing.is_empty() {
                (
                    ObservationKind::CompleteRemissionCriteriaMet,
                    format!(
                        "{figure} with recovered counts: the marrow and blood count criteria of ELN 2022 complete remission are met (Auer rods and extramedullary disease are not recorded here)."
                    ),
                )
            } else {
                let mut parts = unmet;
                if !missing.is_empty() {
                    parts.push(format!("not measured: {}", missing.join(", ")));
                }
                (
                    ObservationKind::BlastsBelowFiveCountsNotRecovered,
                    format!(
                        "{figure}, but counts not shown to be recovered: {}.",
                        parts.join("; ")
                    ),
                )
            };
            out.push(ResponseObservation { case: marrow.case, kind, text, source: ELN_2022_CR });
        } else if marrows[..i]
            .iter()
            .any(|m| m.blasts.is_some_and(|b| b.percent < CR_MARROW_BLASTS))
        {
            out.push(ResponseObservation {
                case: marrow.case,
                kind: ObservationKind::BlastsBackAtOrAboveFive,
                text: format!(
                    "Marrow blasts {:.1} %, back at or above 5 % after an earlier marrow below 5 %.",
                    blasts.percent
                ),
                source: ELN_2022_CR,
            });
        }
    }
    for change in blast_changes(marrows) {
        let (Some(a), Some(b)) = (
            marrows.iter().find(|m| m.case == change.from).and_then(|m| m.blasts),
            marrows.iter().find(|m| m.case == change.to).and_then(|m| m.blasts),
        ) else {
            continue;
        };
        out.push(ResponseObservation {
            case: change.to,
            kind: ObservationKind::BlastChange(change.movement),
            text: format!(
                "Blasts {} from {:.1} % (95 % limits {:.1}–{:.1}) to {:.1} % ({:.1}–{:.1}): the limits do not overlap, so counting noise alone is unlikely to explain the change.",
                if change.movement == Movement::Rise { "rose" } else { "fell" },
                a.percent, a.lower, a.upper, b.percent, b.lower, b.upper
            ),
            source: "Exact 95 % limits, clinical reference §4.1 (Clopper & Pearson 1934)",
        });
    }
    out
}

code_enum! {
    /// A dated treatment event on a patient's timeline.
    pub enum MilestoneKind : "kind" {
        TreatmentStart => ("treatment-start", "Treatment started"),
        TreatmentCycle => ("treatment-cycle", "Treatment cycle"),
        TreatmentEnd => ("treatment-end", "Treatment ended"),
        Transplant => ("transplant", "Stem-cell transplant"),
        Relapse => ("relapse", "Relapse diagnosed"),
        Other => ("other", "Other"),
    }
}

/// A treatment or transplant milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    /// The day it happened.
    pub on: Date,
    /// What kind.
    pub kind: MilestoneKind,
    /// What, in words (e.g. the regimen); required for "other".
    pub description: Option<String>,
}

impl Milestone {
    /// Parses a milestone; a date after `today` is refused (plans are not milestones).
    pub fn parse(on: &str, kind: &str, description: &str, today: Date) -> Result<Self, FieldError> {
        let on = Date::parse("on", on)?;
        if on > today {
            return Err(FieldError::new(
                "on",
                "is in the future; record a milestone once it happens",
            ));
        }
        let kind = MilestoneKind::parse(kind)?;
        let description = if kind == MilestoneKind::Other {
            Some(required_text("description", description, 200)?)
        } else {
            optional_text("description", description, 200)?
        };
        Ok(Self { on, kind, description })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blood_count::RawResult;

    fn differential(blasts: u32, plasma: u32, total: u32) -> Differential {
        // Myeloid 3 : erythroid 1 in what is left.
        let rest = total - blasts - plasma;
        Differential::from_counts([
            (CellClass::Blast, blasts),
            (CellClass::PlasmaCell, plasma),
            (CellClass::SegmentedNeutrophil, rest * 3 / 4),
            (CellClass::PolychromaticErythroblast, rest - rest * 3 / 4),
        ])
    }

    fn at(day: i64) -> Timestamp {
        Timestamp::parse("t", "2026-01-01T09:00").unwrap().plus_seconds(day * 86_400)
    }

    fn marrow(case: i64, day: i64, blasts: u32) -> SerialMarrow {
        SerialMarrow::new(
            CaseId(case),
            at(day),
            &differential(blasts, 5, 500),
            &CountingRules::default(),
        )
    }

    fn count(day: i64, neutrophils: &str, platelets: &str, film_blasts: &str) -> BloodCount {
        let mut results = vec![
            RawResult { analyte: Analyte::Neutrophils, value: neutrophils, unit: "10^9/L" },
            RawResult { analyte: Analyte::Platelets, value: platelets, unit: "10^9/L" },
        ];
        if !film_blasts.is_empty() {
            results.push(RawResult { analyte: Analyte::Blasts, value: film_blasts, unit: "%" });
        }
        BloodCount::parse(at(day), &results, at(1_000)).unwrap()
    }

    #[test]
    fn a_marrow_carries_its_percentages_with_exact_limits() {
        let m = marrow(1, 0, 25);
        let b = m.blasts.unwrap();
        assert_eq!((b.cells, b.of, m.cells_counted), (25, 500, 500));
        assert!((b.percent - 5.0).abs() < 1e-9);
        // Clinical reference §4.2: 25/500 → 3.27–7.30 %.
        assert!((b.lower - 3.27).abs() < 0.01 && (b.upper - 7.30).abs() < 0.01, "{b:?}");
        assert!((m.plasma_cells.unwrap().percent - 1.0).abs() < 1e-9);
        let me = m.me_ratio.unwrap();
        assert!(me.lower < me.ratio && me.ratio < me.upper);
        // Myeloid side includes blasts (ICSH): (25 + 352) / 118.
        assert!((me.ratio - 377.0 / 118.0).abs() < 1e-9, "{me:?}");
    }

    #[test]
    fn ratio_limits_follow_the_myeloid_share() {
        let d = Differential::from_counts([
            (CellClass::SegmentedNeutrophil, 300),
            (CellClass::PolychromaticErythroblast, 100),
        ]);
        let me = RatioEstimate::of(&d).unwrap();
        let share = clopper_pearson_95(300, 400).unwrap();
        assert!((me.lower - share.lower / (1.0 - share.lower)).abs() < 1e-12);
        assert!((me.upper - share.upper / (1.0 - share.upper)).abs() < 1e-12);
        let none = Differential::from_counts([(CellClass::SegmentedNeutrophil, 10)]);
        assert!(RatioEstimate::of(&none).is_none());
    }

    #[test]
    fn only_changes_beyond_counting_noise_are_flagged() {
        // 45 % → 3 % (limits far apart), 3 % → 4 % (overlapping), 4 % → 12 % (apart).
        let marrows = [marrow(1, 0, 225), marrow(2, 30, 15), marrow(3, 60, 20), marrow(4, 200, 60)];
        let changes = blast_changes(&marrows);
        assert_eq!(
            changes.iter().map(|c| (c.from.0, c.to.0, c.movement)).collect::<Vec<_>>(),
            [(1, 2, Movement::Fall), (3, 4, Movement::Rise)]
        );
        // 5 % of 100 vs 10 % of 100: the limits overlap, so no flag on such a small count.
        let small = |case, blasts| {
            SerialMarrow::new(
                CaseId(case),
                at(case),
                &differential(blasts, 0, 100),
                &CountingRules::default(),
            )
        };
        assert!(blast_changes(&[small(1, 5), small(2, 10)]).is_empty());
    }

    #[test]
    fn remission_criteria_are_observed_with_the_nearest_count() {
        let marrows = [marrow(1, 0, 225), marrow(2, 30, 15), marrow(3, 60, 20), marrow(4, 200, 60)];
        let counts = [
            count(-1, "0.3", "20", "30"),
            // Day 28: nearest to marrow 2 (day 30), counts not recovered.
            count(28, "0.6", "85", "0"),
            // Day 58: recovered, no film blasts.
            count(58, "1.8", "160", "0"),
            count(199, "1.1", "95", "2"),
        ];
        let seen = response_observations(&marrows, &counts);
        let kinds: Vec<(i64, ObservationKind)> = seen.iter().map(|o| (o.case.0, o.kind)).collect();
        assert_eq!(
            kinds,
            [
                (2, ObservationKind::BlastsBelowFiveCountsNotRecovered),
                (3, ObservationKind::CompleteRemissionCriteriaMet),
                (4, ObservationKind::BlastsBackAtOrAboveFive),
                (2, ObservationKind::BlastChange(Movement::Fall)),
                (4, ObservationKind::BlastChange(Movement::Rise)),
            ]
        );
        let unrecovered = &seen[0].text;
        assert!(unrecovered.contains("neutrophils 0.6"), "{unrecovered}");
        assert!(unrecovered.contains("platelets 85"), "{unrecovered}");
        assert!(seen.iter().all(|o| !o.source.is_empty()));
        // Without film blasts measured, the criteria cannot be called met.
        let partial = [count(58, "1.8", "160", "")];
        let seen = response_observations(&marrows[2..3], &partial);
        assert_eq!(seen[0].kind, ObservationKind::BlastsBelowFiveCountsNotRecovered);
        assert!(
            seen[0].text.contains("not measured: blasts on the blood film"),
            "{}",
            seen[0].text
        );
        // No count within a week: recovery cannot be judged.
        let far = [count(45, "1.8", "160", "0")];
        assert!(
            response_observations(&marrows[2..3], &far)[0]
                .text
                .contains("no blood count within 7 days")
        );
    }

    #[test]
    fn milestones_are_checked() {
        let today = Date::parse("t", "2026-11-24").unwrap();
        let m = Milestone::parse("2026-03-01", "transplant", "", today).unwrap();
        assert_eq!((m.kind, m.description), (MilestoneKind::Transplant, None));
        assert_eq!(
            Milestone::parse("2026-12-01", "transplant", "", today).unwrap_err().field,
            "on"
        );
        assert_eq!(Milestone::parse("2026-03-01", "party", "", today).unwrap_err().field, "kind");
        assert_eq!(
            Milestone::parse("2026-03-01", "other", " ", today).unwrap_err().field,
            "description"
        );
        assert_eq!(Milestone::parse("March", "other", "x", today).unwrap_err().field, "on");
    }
}
