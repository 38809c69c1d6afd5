//! Exact (Clopper–Pearson) binomial confidence limits for differential percentages.
//!
//! A differential percentage is an estimate from a sample of cells: 25 blasts in 500 cells is
//! 5 %, but the true marrow proportion could plausibly be anywhere from about 3.3 % to 7.3 %.
//! Clinical reference §4.1 (Clopper CJ, Pearson ES, Biometrika 1934;26:404–413) gives the exact
//! limits used here; §4.2 holds the test vectors they are checked against, and §4.3 defines
//! "near a threshold" as "the 95 % interval contains the threshold".
//!
//! Everything is computed here, from first principles, with no numeric library: the regularized
//! incomplete beta function by a continued fraction, the log-gamma function by Stirling's series,
//! and the beta quantile by bisection.

/// A confidence interval for a proportion, both limits in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower limit, as a proportion.
    pub lower: f64,
    /// Upper limit, as a proportion.
    pub upper: f64,
}

impl Interval {
    /// The lower limit as a percentage.
    pub fn lower_percent(&self) -> f64 {
        100.0 * self.lower
    }

    /// The upper limit as a percentage.
    pub fn upper_percent(&self) -> f64 {
        100.0 * self.upper
    }

    /// Whether `proportion` lies within the interval, both limits included.
    pub fn contains(&self, proportion: f64) -> bool {
        self.lower <= proportion && proportion <= self.upper
    }

    /// Whether the interval straddles `threshold` (a proportion, e.g. `0.20` for 20 %): the
    /// observed count does not establish, on sampling error alone, which side of the threshold
    /// the true value lies. Such a count deserves a "count more cells" advisory.
    ///
    /// Clinical reference §4.3 (our operationalisation of ICSH 2008 §2.6 "near a critical
    /// threshold"): an interval lies wholly below when its upper limit is `< threshold`, and
    /// wholly at or above when its lower limit is `≥ threshold`; anything else straddles.
    pub fn straddles(&self, threshold: f64) -> bool {
        self.lower < threshold && threshold <= self.upper
    }
}

/// Why confidence limits could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// No cells were counted, so there is no proportion to bound.
    #[error("no cells were counted")]
    NoCells,
    /// More cells of one class than cells in all.
    #[error("{k} cells of one class is more than the {n} counted")]
    MoreThanCounted {
        /// Cells of the class.
        k: u32,
        /// Cells counted.
        n: u32,
    },
    /// The confidence level is not strictly between 0 and 1.
    #[error("confidence {0} is not strictly between 0 and 1")]
    Confidence(f64),
}

/// The confidence level used throughout Marrow: 95 %, as in the published tables (clinical
/// reference §4.1, CLSI H20-A2 as quoted by Hedley et al.).
pub const CONFIDENCE_95: f64 = 0.95;

/// Exact binomial limits for `k` cells of a class among `n` counted, at `confidence` (e.g.
/// `0.95`).
///
/// Clinical reference §4.2 gives the beta-quantile form used here: lower = Beta⁻¹(α/2; k,
/// n − k + 1), upper = Beta⁻¹(1 − α/2; k + 1, n − k), with α = 1 − confidence, and the limits
/// pinned to 0 when k = 0 and to 1 when k = n. At those edges the limits reduce to the closed
/// forms of §4.1 (GenBinomApps documentation): k = 0 gives [0, 1 − (α/2)^(1/n)], k = n gives
/// [(α/2)^(1/n), 1].
pub fn clopper_pearson(k: u32, n: u32, confidence: f64) -> Result<Interval, StatsError> {
    if n == 0 {
        return Err(StatsError::NoCells);
    }
    if k > n {
        return Err(StatsError::MoreThanCounted { k, n });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(StatsError::Confidence(confidence));
    }
    let alpha = 1.0 - confidence;
    let (kf, nf) = (f64::from(k), f64::from(n));
    let lower = if k == 0 { 0.0 } else { beta_quantile(alpha / 2.0, kf, nf - kf + 1.0) };
    let upper = if k == n { 1.0 } else { beta_quantile(1.0 - alpha / 2.0, kf + 1.0, nf - kf) };
    Ok(Interval { lower, upper })
}

/// [`clopper_pearson`] at 95 %, the level every Marrow screen and report uses.
pub fn clopper_pearson_95(k: u32, n: u32) -> Result<Interval, StatsError> {
    clopper_pearson(k, n, CONFIDENCE_95)
}

/// How close two bisection bounds must be before we stop. The brief asks for 1e-10; the extra
/// two digits cost six iterations and keep the 4-decimal percentages of §4.2 far from the edge.
const QUANTILE_TOLERANCE: f64 = 1e-12;

/// The `p`-quantile of the Beta(a, b) distribution: the `x` with `I_x(a, b) = p`.
///
/// `I_x` is continuous and strictly increasing in `x` on `[0, 1]`, so a bracket `[low, high]`
/// around the root always shrinks to it. Each step tries Newton's method (the derivative of
/// `I_x` is the Beta density) and falls back to halving the bracket whenever Newton would leave
/// it, so the search converges like bisection in the worst case and in a handful of steps in
/// practice. Reports compute these limits for every row of every count, and an export renders
/// thousands of reports, so the handful matters (BENCHMARKS.md).
fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    // ln B(a, b) is the same at every step: computed once.
    let ln_b = ln_beta(a, b);
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    let mut x = 0.5;
    // 2^-60 < 1e-12: even pure halving stops within the cap, which only guards the loop.
    for _ in 0..100 {
        let value = regularized_incomplete_beta_with(x, a, b, ln_b) - p;
        if value < 0.0 {
            low = x;
        } else {
            high = x;
        }
        if high - low <= QUANTILE_TOLERANCE {
            break;
        }
        let ln_density = (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_b;
        let newton = x - value / ln_density.exp();
        let next = if newton.is_finite() && newton > low && newton < high {
            newton
        } else {
            0.5 * (low + high)
        };
        if (next - x).abs() <= QUANTILE_TOLERANCE * 0.01 {
            return next;
        }
        x = next;
    }
    0.5 * (low + high)
}

/// The regularized incomplete beta function `I_x(a, b)`, for `a, b > 0`: the Beta(a, b)
/// distribution function at `x`.
#[cfg(test)]
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    regularized_incomplete_beta_with(x, a, b, ln_beta(a, b))
}

/// `I_x(a, b)` given `ln_b = ln B(a, b)` (which is symmetric in `a` and `b`).
///
/// `I_x(a, b) = x^a (1 − x)^b / (a B(a, b)) × F`, where `F` is a continued fraction that
/// converges quickly when `x < (a + 1)/(a + b + 2)`; above that point we use the symmetry
/// `I_x(a, b) = 1 − I_{1−x}(b, a)`, so the fraction is always evaluated where it converges.
fn regularized_incomplete_beta_with(x: f64, a: f64, b: f64, ln_b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - regularized_incomplete_beta_with(1.0 - x, b, a, ln_b);
    }
    // Work in logarithms: x^a and B(a, b) under- and overflow for cell counts in the hundreds.
    // `ln_1p(-x)` keeps ln(1 − x) accurate when x is tiny.
    let ln_prefactor = a * x.ln() + b * (-x).ln_1p() - ln_b - a.ln();
    ln_prefactor.exp() * beta_continued_fraction(x, a, b)
}

/// The continued fraction `1 / (1 + d₁ / (1 + d₂ / (1 + …)))` of the incomplete beta function,
/// evaluated by the modified Lentz method (forward evaluation with the running ratios `c` and
/// `d`, nudging either away from zero so no step divides by zero). The coefficients are
///
/// * `d₂ₘ₊₁ = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))`
/// * `d₂ₘ = m (b − m) x / ((a + 2m − 1)(a + 2m))`
fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-15;
    // In the region we evaluate it, the fraction needs O(√max(a, b)) terms: a few hundred at
    // most for the counts Marrow sees. The cap only guards against a loop that never ends.
    const MAX_TERMS: u32 = 10_000;

    let coefficient = |i: u32| -> f64 {
        let m = f64::from(i / 2);
        if i % 2 == 1 {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        } else {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        }
    };
    let nudge = |v: f64| if v.abs() < TINY { TINY } else { v };

    // The fraction is 0 + 1/(1 + d₁/(1 + d₂/…)): partial numerators 1, d₁, d₂, …; every
    // partial denominator is 1.
    let mut f = TINY;
    let mut c = f;
    let mut d = 0.0;
    for i in 0..MAX_TERMS {
        let numerator = if i == 0 { 1.0 } else { coefficient(i) };
        d = 1.0 / nudge(1.0 + numerator * d);
        c = nudge(1.0 + numerator / c);
        let step = c * d;
        f *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    f
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)`.
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `ln Γ(z)` for `z > 0`.
///
/// Stirling's asymptotic series is accurate to better than 1e-14 once `z ≥ 15` when cut after
/// its `z⁻⁹` term (the first omitted term is 691 / (360360 z¹¹)). Smaller arguments are first
/// shifted up with `Γ(z) = Γ(z + 1) / z`. This needs no table of fitted coefficients.
fn ln_gamma(z: f64) -> f64 {
    let mut z = z;
    let mut ln_shift = 0.0;
    while z < 15.0 {
        ln_shift += z.ln();
        z += 1.0;
    }
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    // 1/(12z) − 1/(360z³) + 1/(1260z⁵) − 1/(1680z⁷) + 1/(1188z⁹), in Horner form.
    let series = inv
        * (1.0 / 12.0
            - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 / 1188.0))));
    let half_ln_two_pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    (z - 0.5) * z.ln() - z + half_ln_two_pi + series - ln_shift
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `actual` is within `tolerance` of `expected`, saying which vector failed.
    fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: got {actual}, expected {expected} ± {tolerance}"
        );
    }

    #[test]
    fn log_gamma_matches_factorials_and_the_half_integer_value() {
        close(ln_gamma(1.0), 0.0, 1e-13, "ln Γ(1)");
        close(ln_gamma(2.0), 0.0, 1e-13, "ln Γ(2)");
        close(ln_gamma(0.5), 0.5 * std::f64::consts::PI.ln(), 1e-13, "ln Γ(1/2) = ln √π");
        close(ln_gamma(10.0), 362_880_f64.ln(), 1e-12, "ln Γ(10) = ln 9!");
        let ln_100_factorial: f64 = (1..=100).map(|i| f64::from(i).ln()).sum();
        close(ln_gamma(101.0), ln_100_factorial, 1e-10, "ln Γ(101) = ln 100!");
    }

    #[test]
    fn the_incomplete_beta_function_matches_its_closed_forms() {
        // I_x(1, b) = 1 − (1 − x)^b and I_x(a, 1) = x^a.
        for &x in &[0.001, 0.1, 0.37, 0.5, 0.9, 0.999] {
            close(regularized_incomplete_beta(x, 1.0, 7.0), 1.0 - (1.0 - x).powi(7), 1e-13, "b=7");
            close(regularized_incomplete_beta(x, 5.0, 1.0), x.powi(5), 1e-13, "a=5");
            // Symmetric distribution: I_x(a, a) + I_{1−x}(a, a) = 1.
            let sum = regularized_incomplete_beta(x, 40.0, 40.0)
                + regularized_incomplete_beta(1.0 - x, 40.0, 40.0);
            close(sum, 1.0, 1e-12, "symmetry");
        }
        close(regularized_incomplete_beta(0.5, 300.0, 300.0), 0.5, 1e-12, "median of Beta(a,a)");
    }

    /// Clinical reference §4.2, the 14 × 4 table: observed % × n → k, limits in % to 2 decimals.
    #[test]
    fn every_two_decimal_vector_of_the_reference_table_is_reproduced() {
        let ns = [100, 200, 500, 1000];
        #[rustfmt::skip]
        let table: [(u32, [(f64, f64); 4]); 14] = [
            (0,  [(0.00, 3.62), (0.00, 1.83), (0.00, 0.74), (0.00, 0.37)]),
            (1,  [(0.03, 5.45), (0.12, 3.57), (0.33, 2.32), (0.48, 1.83)]),
            (2,  [(0.24, 7.04), (0.55, 5.04), (0.96, 3.65), (1.23, 3.07)]),
            (3,  [(0.62, 8.52), (1.11, 6.42), (1.69, 4.90), (2.03, 4.26)]),
            (4,  [(1.10, 9.93), (1.74, 7.73), (2.46, 6.11), (2.87, 5.41)]),
            (5,  [(1.64, 11.28), (2.42, 9.00), (3.26, 7.29), (3.73, 6.54)]),
            (10, [(4.90, 17.62), (6.22, 15.02), (7.51, 12.97), (8.21, 12.03)]),
            (15, [(8.65, 23.53), (10.35, 20.72), (11.98, 18.44), (12.84, 17.37)]),
            (20, [(12.67, 29.18), (14.69, 26.22), (16.58, 23.78), (17.56, 22.62)]),
            (25, [(16.88, 34.66), (19.16, 31.60), (21.26, 29.04), (22.34, 27.81)]),
            (30, [(21.24, 39.98), (23.74, 36.86), (26.01, 34.23), (27.17, 32.95)]),
            (40, [(30.33, 50.28), (33.15, 47.15), (35.68, 44.44), (36.95, 43.11)]),
            (50, [(39.83, 60.17), (42.87, 57.13), (45.53, 54.47), (46.85, 53.15)]),
            (60, [(49.72, 69.67), (52.85, 66.85), (55.56, 64.32), (56.89, 63.05)]),
        ];
        for (percent, limits) in table {
            for (n, (lower, upper)) in ns.into_iter().zip(limits) {
                let k = percent * n / 100;
                let ci = clopper_pearson_95(k, n).unwrap();
                let what = format!("{percent} % of {n} (k = {k})");
                close(ci.lower_percent(), lower, 0.006, &format!("{what}, lower"));
                close(ci.upper_percent(), upper, 0.006, &format!("{what}, upper"));
            }
        }
    }

    /// Clinical reference §4.2, the headline and further k/n rows: limits in % to 4 decimals.
    #[test]
    fn every_four_decimal_vector_of_the_reference_table_is_reproduced() {
        let rows: [(u32, u32, f64, f64); 17] = [
            (0, 500, 0.0000, 0.7351),
            (25, 500, 3.2615, 7.2928),
            (50, 500, 7.5136, 12.9709),
            (100, 500, 16.5800, 23.7792),
            (0, 100, 0.0000, 3.6217),
            (0, 200, 0.0000, 1.8275),
            (0, 1000, 0.0000, 0.3682),
            (1, 500, 0.0051, 1.1092),
            (5, 100, 1.6432, 11.2835),
            (10, 200, 2.4234, 9.0028),
            (24, 500, 3.0993, 7.0581),
            (49, 500, 7.3383, 12.7489),
            (99, 500, 16.3944, 23.5673),
            (40, 200, 14.6894, 26.2226),
            (300, 500, 55.5572, 64.3239),
            (50, 1000, 3.7335, 6.5390),
            (200, 1000, 17.5621, 22.6159),
        ];
        for (k, n, lower, upper) in rows {
            let ci = clopper_pearson_95(k, n).unwrap();
            close(ci.lower_percent(), lower, 0.00006, &format!("{k}/{n} lower"));
            close(ci.upper_percent(), upper, 0.00006, &format!("{k}/{n} upper"));
        }
    }

    #[test]
    fn no_cells_of_a_class_gives_the_closed_form_upper_limit() {
        // Clinical reference §4.1: k = 0 → [0, 1 − (α/2)^(1/n)].
        for n in [1, 2, 5, 30, 100, 200, 300, 500, 1000, 5000] {
            let ci = clopper_pearson_95(0, n).unwrap();
            assert!(ci.lower.abs() < f64::EPSILON, "lower limit for 0/{n} is 0");
            let closed = 1.0 - 0.025_f64.powf(1.0 / f64::from(n));
            close(ci.upper, closed, 1e-10, &format!("upper for 0/{n}"));
        }
        let ci = clopper_pearson(0, 500, 0.99).unwrap();
        close(ci.upper, 1.0 - 0.005_f64.powf(1.0 / 500.0), 1e-10, "99 % upper for 0/500");
    }

    #[test]
    fn every_cell_of_one_class_gives_the_closed_form_lower_limit() {
        // Clinical reference §4.1: k = n → [(α/2)^(1/n), 1].
        for n in [1, 2, 5, 100, 500, 1000] {
            let ci = clopper_pearson_95(n, n).unwrap();
            close(ci.lower, 0.025_f64.powf(1.0 / f64::from(n)), 1e-10, &format!("{n}/{n}"));
            assert!((ci.upper - 1.0).abs() < f64::EPSILON, "upper limit for {n}/{n} is 1");
        }
    }

    #[test]
    fn limits_mirror_when_the_class_and_the_rest_swap() {
        for (k, n) in [(3, 200), (25, 500), (137, 1000)] {
            let ci = clopper_pearson_95(k, n).unwrap();
            let mirror = clopper_pearson_95(n - k, n).unwrap();
            close(ci.lower, 1.0 - mirror.upper, 1e-10, "lower vs mirrored upper");
            close(ci.upper, 1.0 - mirror.lower, 1e-10, "upper vs mirrored lower");
        }
    }

    #[test]
    fn small_and_very_large_counts_match_an_independent_computation() {
        // Not from the clinical reference: computed for this test with mpmath at 40 digits by
        // bisecting the binomial tail sums directly, P(X ≥ k) = 0.025 and P(X ≤ k) = 0.025.
        let rows: [(u32, u32, f64, f64); 3] = [
            (3, 7, 9.898_827_844, 81.594_843_236),
            (1, 10_000, 0.000_253_178, 0.055_703_700),
            (2500, 5000, 48.604_437_400, 51.395_562_600),
        ];
        for (k, n, lower, upper) in rows {
            let ci = clopper_pearson_95(k, n).unwrap();
            close(ci.lower_percent(), lower, 1e-7, &format!("{k}/{n} lower"));
            close(ci.upper_percent(), upper, 1e-7, &format!("{k}/{n} upper"));
        }
    }

    #[test]
    fn a_wider_confidence_level_gives_a_wider_interval() {
        let ci95 = clopper_pearson_95(25, 500).unwrap();
        let ci99 = clopper_pearson(25, 500, 0.99).unwrap();
        assert!(ci99.lower < ci95.lower && ci99.upper > ci95.upper);
        assert!(ci95.contains(0.05), "the interval contains the observed proportion");
    }

    #[test]
    fn impossible_inputs_are_errors() {
        assert_eq!(clopper_pearson_95(0, 0), Err(StatsError::NoCells));
        assert_eq!(clopper_pearson_95(6, 5), Err(StatsError::MoreThanCounted { k: 6, n: 5 }));
        for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(
                matches!(clopper_pearson(1, 5, bad), Err(StatsError::Confidence(_))),
                "confidence {bad} is refused"
            );
        }
    }

    /// Clinical reference §4.3: for each n and threshold, the largest k whose interval lies
    /// wholly below, and the smallest k whose interval lies wholly at or above, found by
    /// searching every k; every k in between straddles.
    #[test]
    fn every_grey_zone_row_of_the_reference_table_is_reproduced() {
        let rows: [(u32, u32, u32, u32); 10] = [
            (200, 5, 3, 17),
            (200, 10, 11, 30),
            (200, 20, 28, 52),
            (500, 5, 15, 36),
            (500, 10, 36, 65),
            (500, 20, 82, 119),
            (500, 60, 277, 322),
            (1000, 5, 36, 65),
            (1000, 10, 81, 120),
            (1000, 20, 175, 226),
        ];
        for (n, threshold_percent, last_below, first_above) in rows {
            let threshold = f64::from(threshold_percent) / 100.0;
            let intervals: Vec<Interval> =
                (0..=n).map(|k| clopper_pearson_95(k, n).unwrap()).collect();
            let below = (0..=n).filter(|&k| intervals[k as usize].upper < threshold).max();
            let above = (0..=n).find(|&k| intervals[k as usize].lower >= threshold);
            let what = format!("n = {n}, threshold {threshold_percent} %");
            assert_eq!(below, Some(last_below), "{what}: largest k wholly below");
            assert_eq!(above, Some(first_above), "{what}: smallest k wholly at or above");
            for k in 0..=n {
                let straddles = intervals[k as usize].straddles(threshold);
                assert_eq!(straddles, k > last_below && k < first_above, "{what}: k = {k}");
            }
        }
    }

    #[test]
    fn the_reading_of_the_grey_zone_example_holds() {
        // Clinical reference §4.3: in a 500-cell count, 16.6 % to 23.6 % blasts (k = 83..=118)
        // cannot settle which side of 20 % the true value lies.
        assert!(clopper_pearson_95(83, 500).unwrap().straddles(0.20));
        assert!(clopper_pearson_95(118, 500).unwrap().straddles(0.20));
        assert!(!clopper_pearson_95(82, 500).unwrap().straddles(0.20));
        assert!(!clopper_pearson_95(119, 500).unwrap().straddles(0.20));
    }
}
