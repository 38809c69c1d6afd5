//! Blood counts: the full blood count (haemoglobin, white cells with their differential,
//! platelets) and blasts seen on the blood film, with their units, reference ranges by sex and
//! age band, and low/high flags.
//!
//! Every value is converted on entry to one unit per analyte (haemoglobin in g/L, cells in
//! ×10⁹/L, film blasts in %) and kept as a whole number of thousandths of that unit, so g/dL
//! and cells/µL arrive exactly and compare exactly. A unit that is not known for the analyte is
//! refused with a message naming the field, never guessed.

use std::fmt;

use crate::FieldError;
use crate::order::{Direction, Lineage, LineageAbnormality};
use crate::patient::Sex;
use crate::time::{Date, Timestamp};

code_enum! {
    /// What a blood count reports.
    pub enum Analyte : "analyte" {
        Haemoglobin => ("haemoglobin", "Haemoglobin"),
        WhiteCells => ("white-cells", "White cells"),
        Neutrophils => ("neutrophils", "Neutrophils"),
        Lymphocytes => ("lymphocytes", "Lymphocytes"),
        Monocytes => ("monocytes", "Monocytes"),
        Eosinophils => ("eosinophils", "Eosinophils"),
        Basophils => ("basophils", "Basophils"),
        Platelets => ("platelets", "Platelets"),
        Blasts => ("blasts", "Blasts on the blood film"),
    }
}

impl Analyte {
    /// The LOINC code sent and expected for the analyte (clinical reference §7.4 checks the
    /// digits; 26446-5 is confirmed there \[P\] as "Blasts/100 leukocytes in Blood").
    pub fn loinc(self) -> &'static str {
        match self {
            Self::Haemoglobin => "718-7",
            Self::WhiteCells => "6690-2",
            Self::Neutrophils => "751-8",
            Self::Lymphocytes => "731-0",
            Self::Monocytes => "742-7",
            Self::Eosinophils => "711-2",
            Self::Basophils => "704-7",
            Self::Platelets => "777-3",
            Self::Blasts => "26446-5",
        }
    }

    /// The analyte a LOINC code reports. Besides [`Self::loinc`], the method-less codes
    /// confirmed in clinical reference §7.1 (26464-8 leukocytes, 26444-0 basophils) are
    /// accepted, as analysers send either.
    pub fn from_loinc(code: &str) -> Option<Self> {
        let code = code.trim();
        Self::ALL.iter().copied().find(|a| a.loinc() == code).or(match code {
            "26464-8" => Some(Self::WhiteCells),
            "26444-0" => Some(Self::Basophils),
            _ => None,
        })
    }

    /// The unit every value of this analyte is stored and shown in.
    pub fn unit(self) -> Unit {
        match self {
            Self::Haemoglobin => Unit::GramsPerLitre,
            Self::Blasts => Unit::Percent,
            _ => Unit::CellsE9PerLitre,
        }
    }

    /// Whether values may be entered in `unit`.
    pub fn accepts(self, unit: Unit) -> bool {
        match self {
            Self::Haemoglobin => matches!(unit, Unit::GramsPerLitre | Unit::GramsPerDecilitre),
            Self::Blasts => unit == Unit::Percent,
            _ => matches!(
                unit,
                Unit::CellsE9PerLitre | Unit::CellsPerMicrolitre | Unit::CellsE3PerMicrolitre
            ),
        }
    }

    /// The units a value may be entered in, for forms and error messages.
    pub fn units(self) -> Vec<Unit> {
        Unit::ALL.iter().copied().filter(|&u| self.accepts(u)).collect()
    }

    /// The largest value believed, in this analyte's unit: anything above is a typing or unit
    /// error (e.g. haemoglobin in g/dL sent as g/L) and is refused rather than flagged.
    fn plausible(self) -> (Quantity, Quantity) {
        match self {
            // 20 g/L is 2 g/dL: below it a value is almost surely g/dL labelled g/L.
            Self::Haemoglobin => (Quantity::whole(20), Quantity::whole(250)),
            Self::Platelets => (Quantity::ZERO, Quantity::whole(5_000)),
            Self::Blasts => (Quantity::ZERO, Quantity::whole(100)),
            _ => (Quantity::ZERO, Quantity::whole(1_000)),
        }
    }

    /// The blood count lineage the analyte belongs to, for an order's indication.
    pub fn lineage(self) -> Option<Lineage> {
        match self {
            Self::Haemoglobin => Some(Lineage::RedCells),
            Self::WhiteCells => Some(Lineage::WhiteCells),
            Self::Neutrophils => Some(Lineage::Neutrophils),
            Self::Lymphocytes => Some(Lineage::Lymphocytes),
            Self::Monocytes => Some(Lineage::Monocytes),
            Self::Platelets => Some(Lineage::Platelets),
            Self::Eosinophils | Self::Basophils | Self::Blasts => None,
        }
    }
}

/// A unit a blood count value may arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// g/L (haemoglobin).
    GramsPerLitre,
    /// g/dL (haemoglobin) = 10 g/L.
    GramsPerDecilitre,
    /// ×10⁹/L, the same number as ×10³/µL and per nL.
    CellsE9PerLitre,
    /// cells/µL (= /mm³) = 0.001 × 10⁹/L.
    CellsPerMicrolitre,
    /// ×10³/µL (K/µL) = ×10⁹/L.
    CellsE3PerMicrolitre,
    /// % of white cells (film blasts).
    Percent,
}

impl Unit {
    /// Every unit.
    pub const ALL: &'static [Unit] = &[
        Unit::GramsPerLitre,
        Unit::GramsPerDecilitre,
        Unit::CellsE9PerLitre,
        Unit::CellsPerMicrolitre,
        Unit::CellsE3PerMicrolitre,
        Unit::Percent,
    ];

    /// The UCUM code, as HL7 v2 OBX-6 and FHIR `Quantity.code` carry it.
    pub fn ucum(self) -> &'static str {
        match self {
            Self::GramsPerLitre => "g/L",
            Self::GramsPerDecilitre => "g/dL",
            Self::CellsE9PerLitre => "10*9/L",
            Self::CellsPerMicrolitre => "/uL",
            Self::CellsE3PerMicrolitre => "10*3/uL",
            Self::Percent => "%",
        }
    }

    /// The unit as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Self::GramsPerLitre => "g/L",
            Self::GramsPerDecilitre => "g/dL",
            Self::CellsE9PerLitre => "×10⁹/L",
            Self::CellsPerMicrolitre => "/µL",
            Self::CellsE3PerMicrolitre => "×10³/µL",
            Self::Percent => "%",
        }
    }

    /// Parses the spellings laboratories send: UCUM (`10*9/L`), caret or superscript forms
    /// (`x10^9/L`, `×10⁹/L`), `/nL`, `K/uL`, `/mm3`, `cells/uL`. Case and spaces are ignored;
    /// `µ`, `μ` and `u` are the same. Anything else is refused naming `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let key: String = raw
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'µ' | 'μ' => 'u',
                '×' => 'x',
                '⁹' => '9',
                '³' => '3',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let key = key.strip_prefix("cells").unwrap_or(&key);
        let unit = match key {
            "g/l" => Self::GramsPerLitre,
            "g/dl" => Self::GramsPerDecilitre,
            "10*9/l" | "x10^9/l" | "x109/l" | "10^9/l" | "109/l" | "/nl" | "x10e9/l" | "10e9/l"
            | "giga/l" | "g/l(cells)" => Self::CellsE9PerLitre,
            "/ul" | "/mm3" | "/mm^3" | "/cumm" => Self::CellsPerMicrolitre,
            "10*3/ul" | "x10^3/ul" | "10^3/ul" | "x103/ul" | "k/ul" | "thou/ul" | "x10e3/ul"
            | "10e3/ul" => Self::CellsE3PerMicrolitre,
            "%" => Self::Percent,
            _ => {
                return Err(FieldError::new(
                    field,
                    format!(
                        "{:?} is not a unit Marrow knows; use one of: g/L, g/dL, 10^9/L, /uL, 10^3/uL, %",
                        raw.trim()
                    ),
                ));
            }
        };
        Ok(unit)
    }

    /// How many thousandths of the analyte's stored unit one thousandth of this unit is:
    /// `(numerator, denominator)`.
    fn factor(self) -> (u64, u64) {
        match self {
            Self::GramsPerDecilitre => (10, 1),
            Self::CellsPerMicrolitre => (1, 1_000),
            _ => (1, 1),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A value in its analyte's stored unit, held as whole thousandths so conversions are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    /// Nothing.
    pub const ZERO: Quantity = Quantity(0);

    /// `n` whole units.
    pub const fn whole(n: u32) -> Self {
        Self(n * 1_000)
    }

    /// From thousandths (as stored).
    pub const fn from_thousandths(t: u32) -> Self {
        Self(t)
    }

    /// Thousandths of the unit (as stored).
    pub fn thousandths(self) -> u32 {
        self.0
    }

    /// The value as a float, for charts and comparisons with published thresholds.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 1_000.0
    }

    /// Parses `raw` in `unit` and converts it to the stored unit, rounding to thousandths.
    /// Refuses anything but a plain non-negative decimal number.
    fn parse(field: &str, raw: &str, unit: Unit) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let bad = || FieldError::new(field, format!("{raw:?} is not a number"));
        if raw.is_empty() {
            return Err(FieldError::new(field, "is empty; give a number"));
        }
        if raw.starts_with('-') {
            return Err(FieldError::new(field, format!("{raw} is negative")));
        }
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
            return Err(bad());
        }
        if whole.len() > 9 || fraction.len() > 6 {
            return Err(FieldError::new(field, format!("{raw} has too many digits")));
        }
        // Millionths of the entered unit, exactly.
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let mut frac = fraction.to_owned();
        while frac.len() < 6 {
            frac.push('0');
        }
        let micro = whole * 1_000_000 + frac.parse::<u64>().map_err(|_| bad())?;
        let (num, den) = unit.factor();
        // Thousandths of the stored unit, rounded half up.
        let scaled = (micro * num + den * 500) / (den * 1_000);
        u32::try_from(scaled)
            .map(Self)
            .map_err(|_| FieldError::new(field, format!("{raw} is far too large")))
    }
}

impl fmt::Display for Quantity {
    /// The shortest exact decimal: `104`, `0.45`, `1.234`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1_000;
        let fraction = self.0 % 1_000;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let text = format!("{fraction:03}");
        write!(f, "{whole}.{}", text.trim_end_matches('0'))
    }
}

/// One value of a count, in its analyte's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// What was measured.
    pub analyte: Analyte,
    /// The value in [`Analyte::unit`].
    pub value: Quantity,
}

/// One value as it arrived: the analyte, and the value and unit as text.
#[derive(Debug, Clone, Copy)]
pub struct RawResult<'a> {
    /// What was measured.
    pub analyte: Analyte,
    /// The number as sent.
    pub value: &'a str,
    /// The unit as sent.
    pub unit: &'a str,
}

/// A blood count: when the blood was taken and what was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloodCount {
    /// When the blood was taken (not when the result arrived).
    pub taken_at: Timestamp,
    /// One value per analyte, in [`Analyte::ALL`] order.
    results: Vec<Measured>,
}

impl BloodCount {
    /// Parses a count. Fields are named after the analyte (`platelets`) and its unit
    /// (`platelets_unit`). Refuses: a count with no values, an analyte given twice, an unknown
    /// or mismatched unit, an implausible value, a white cell differential above the white
    /// count, and blood taken in the future (more than five minutes after `now`, allowing for
    /// clock drift between systems).
    pub fn parse(
        taken_at: Timestamp,
        results: &[RawResult<'_>],
        now: Timestamp,
    ) -> Result<Self, FieldError> {
        if taken_at > now.plus_seconds(300) {
            return Err(FieldError::new("taken_at", "is in the future"));
        }
        if results.is_empty() {
            return Err(FieldError::new("results", "give at least one value"));
        }
        let mut out: Vec<Measured> = Vec::with_capacity(results.len());
        for raw in results {
            let analyte = raw.analyte;
            let field = analyte.code();
            if out.iter().any(|m| m.analyte == analyte) {
                return Err(FieldError::new(field, "is given twice"));
            }
            let unit_field = format!("{field}_unit");
            let unit = Unit::parse(&unit_field, raw.unit)?;
            if !analyte.accepts(unit) {
                let allowed: Vec<&str> = analyte.units().iter().map(|u| u.label()).collect();
                return Err(FieldError::new(
                    unit_field,
                    format!(
                        "{} is not a unit for {}; use {}",
                        unit.label(),
                        analyte.label().to_lowercase(),
                        allowed.join(" or ")
                    ),
                ));
            }
            let value = Quantity::parse(field, raw.value, unit)?;
            let (low, high) = analyte.plausible();
            if value < low || value > high {
                return Err(FieldError::new(
                    field,
                    format!(
                        "{value} {} is outside {low}–{high} {}; check the value and its unit",
                        analyte.unit(),
                        analyte.unit()
                    ),
                ));
            }
            out.push(Measured { analyte, value });
        }
        let count = Self::from_measured(taken_at, out);
        if let Some(white) = count.get(Analyte::WhiteCells) {
            // Analysers round each value, so the parts may exceed the whole by a little.
            let slack = Quantity(white.0 + white.0 / 20 + 50);
            for part in [
                Analyte::Neutrophils,
                Analyte::Lymphocytes,
                Analyte::Monocytes,
                Analyte::Eosinophils,
                Analyte::Basophils,
            ] {
                if count.get(part).is_some_and(|v| v > slack) {
                    return Err(FieldError::new(
                        part.code(),
                        format!("is more than the white cell count ({white} ×10⁹/L)"),
                    ));
                }
            }
            let sum: u32 = count
                .results
                .iter()
                .filter(|m| !matches!(m.analyte, Analyte::WhiteCells | Analyte::Haemoglobin))
                .filter(|m| !matches!(m.analyte, Analyte::Platelets | Analyte::Blasts))
                .map(|m| m.value.0)
                .sum();
            if sum > slack.0 {
                return Err(FieldError::new(
                    "white-cells",
                    format!(
                        "the differential adds up to {} ×10⁹/L, more than the white cell count ({white})",
                        Quantity(sum)
                    ),
                ));
            }
        }
        Ok(count)
    }

    /// A count from stored values (already checked when they were first parsed).
    pub fn from_measured(taken_at: Timestamp, mut results: Vec<Measured>) -> Self {
        results.sort_by_key(|m| m.analyte);
        results.dedup_by_key(|m| m.analyte);
        Self { taken_at, results }
    }

    /// Every value, in [`Analyte::ALL`] order.
    pub fn results(&self) -> &[Measured] {
        &self.results
    }

    /// The value of one analyte, if measured.
    pub fn get(&self, analyte: Analyte) -> Option<Quantity> {
        self.results.iter().find(|m| m.analyte == analyte).map(|m| m.value)
    }

    /// Each value with its reference range and flag for a patient of `sex` born on
    /// `date_of_birth`, on the day the blood was taken.
    pub fn interpret(&self, sex: Sex, date_of_birth: Date) -> Vec<Interpreted> {
        let band = AgeBand::on(date_of_birth, Date::of(self.taken_at));
        self.results
            .iter()
            .map(|m| {
                let range = reference_range(m.analyte, sex, band);
                let flag = match range {
                    None => CountFlag::NoRange,
                    Some(r) if m.value < r.low => CountFlag::Low,
                    Some(r) if m.value > r.high => CountFlag::High,
                    Some(_) => CountFlag::Normal,
                };
                Interpreted { measured: *m, range, flag }
            })
            .collect()
    }

    /// The lineages outside their range, as an order's indication codes them.
    pub fn abnormal_lineages(&self, sex: Sex, date_of_birth: Date) -> Vec<LineageAbnormality> {
        self.interpret(sex, date_of_birth)
            .into_iter()
            .filter_map(|i| {
                let lineage = i.measured.analyte.lineage()?;
                let direction = match i.flag {
                    CountFlag::Low => Direction::Low,
                    CountFlag::High => Direction::High,
                    CountFlag::Normal | CountFlag::NoRange => return None,
                };
                Some(LineageAbnormality { lineage, direction })
            })
            .collect()
    }
}

/// A reference range, both limits included, in the analyte's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Lowest value within the range.
    pub low: Quantity,
    /// Highest value within the range.
    pub high: Quantity,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.low, self.high)
    }
}

/// A value against its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountFlag {
    /// Below the range.
    Low,
    /// Above the range (for film blasts: any blasts seen).
    High,
    /// Within the range.
    Normal,
    /// No range for this patient's age band (infants) or this analyte.
    NoRange,
}

impl CountFlag {
    /// `L`, `H`, `N` or empty, as HL7 v2 OBX-8 and FHIR `interpretation` code them.
    pub fn code(self) -> &'static str {
        match self {
            Self::Low => "L",
            Self::High => "H",
            Self::Normal => "N",
            Self::NoRange => "",
        }
    }

    /// "low", "high", "" for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::High => "high",
            Self::Normal | Self::NoRange => "",
        }
    }
}

/// One value of a count with its range and flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interpreted {
    /// The value.
    pub measured: Measured,
    /// The range for the patient, if there is one.
    pub range: Option<Range>,
    /// Where the value lies.
    pub flag: CountFlag,
}

/// The age bands the reference ranges are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBand {
    /// Under one year: ranges change week by week; none is given here.
    Infant,
    /// One year old.
    OneYear,
    /// 2 to 5 years.
    TwoToFive,
    /// 6 to 11 years.
    SixToEleven,
    /// 12 years and over: the adult ranges.
    Adult,
}

impl AgeBand {
    /// The band of someone born on `date_of_birth`, on `on`.
    pub fn on(date_of_birth: Date, on: Date) -> Self {
        match date_of_birth.years_until(on) {
            i32::MIN..=0 => Self::Infant,
            1 => Self::OneYear,
            2..=5 => Self::TwoToFive,
            6..=11 => Self::SixToEleven,
            _ => Self::Adult,
        }
    }

    /// As a page shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Infant => "under 1 year",
            Self::OneYear => "1 year",
            Self::TwoToFive => "2–5 years",
            Self::SixToEleven => "6–11 years",
            Self::Adult => "adult",
        }
    }
}

/// Where the blood count ranges come from, for pages and exports.
pub const REFERENCE_SOURCE: &str = "University Hospitals Dorset NHS Foundation Trust, Haematology reference ranges (adult and paediatric FBC), uhd.nhs.uk/services/pathology/haematology/test-repertoire-and-reference-ranges; film blasts: none in health (clinical reference §3.1, ELN 2022 complete remission requires no circulating blasts)";

/// The reference range of `analyte` for `sex` and `band`, in the analyte's unit.
///
/// Source: [`REFERENCE_SOURCE`] (UHD adult table by sex; paediatric table for 1 year, 2–6 and
/// 6–12 years, read here as the bands 1, 2–5 and 6–11, with the adult table from 12). That
/// table gives no infant ranges and no paediatric basophil range, so none is used (a value is
/// shown, not flagged). Its 2–6-year lymphocyte range (6.0–9.0 ×10⁹/L) would call most healthy
/// children lymphopenic and looks mistranscribed, so it is left out rather than used. For a
/// sex other than male or female the haemoglobin range spans both (flagged only when outside
/// both sexes' ranges).
pub fn reference_range(analyte: Analyte, sex: Sex, band: AgeBand) -> Option<Range> {
    use Analyte::*;
    let r = |low: u32, high: u32| Some(Range { low: Quantity(low), high: Quantity(high) });
    if analyte == Blasts {
        return r(0, 0);
    }
    match band {
        AgeBand::Infant => None,
        AgeBand::Adult => match analyte {
            Haemoglobin => match sex {
                Sex::Male => r(130_000, 170_000),
                Sex::Female => r(120_000, 150_000),
                _ => r(120_000, 170_000),
            },
            WhiteCells => r(4_000, 10_000),
            Neutrophils => r(2_000, 7_000),
            Lymphocytes => r(1_000, 3_000),
            Monocytes => r(200, 1_000),
            Eosinophils => r(20, 500),
            Basophils => r(20, 100),
            Platelets => r(150_000, 410_000),
            Blasts => None,
        },
        AgeBand::OneYear => match analyte {
            Haemoglobin => r(111_000, 141_000),
            WhiteCells => r(6_000, 16_000),
            Neutrophils => r(1_000, 7_000),
            Lymphocytes => r(3_500, 11_000),
            Monocytes | Eosinophils => r(if analyte == Monocytes { 200 } else { 100 }, 1_000),
            Platelets => r(200_000, 550_000),
            Basophils | Blasts => None,
        },
        AgeBand::TwoToFive => match analyte {
            Haemoglobin => r(110_000, 140_000),
            WhiteCells => r(5_000, 15_000),
            Neutrophils => r(1_500, 8_000),
            Monocytes => r(200, 1_000),
            Eosinophils => r(100, 1_000),
            Platelets => r(200_000, 490_000),
            Lymphocytes | Basophils | Blasts => None,
        },
        AgeBand::SixToEleven => match analyte {
            Haemoglobin => r(115_000, 155_000),
            WhiteCells => r(5_000, 13_000),
            Neutrophils => r(2_000, 8_000),
            Lymphocytes => r(1_000, 5_000),
            Monocytes => r(200, 1_000),
            Eosinophils => r(100, 1_000),
            Platelets => r(170_000, 450_000),
            Basophils | Blasts => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Timestamp {
        Timestamp::parse("taken_at", raw).unwrap()
    }

    fn raw<'a>(analyte: Analyte, value: &'a str, unit: &'a str) -> RawResult<'a> {
        RawResult { analyte, value, unit }
    }

    fn parse(results: &[RawResult<'_>]) -> Result<BloodCount, FieldError> {
        BloodCount::parse(at("2026-11-20T08:00"), results, at("2026-11-24T09:00"))
    }

    #[test]
    fn units_convert_exactly_to_the_stored_unit() {
        let cases = [
            (Analyte::Haemoglobin, "10.4", "g/dL", "104"),
            (Analyte::Haemoglobin, "104", "g/L", "104"),
            (Analyte::Haemoglobin, "9.85", "g/dl", "98.5"),
            (Analyte::Platelets, "150000", "/uL", "150"),
            (Analyte::Platelets, "150", "10*9/L", "150"),
            (Analyte::Platelets, "150", "K/µL", "150"),
            (Analyte::Platelets, "150", "x10^3/uL", "150"),
            (Analyte::Neutrophils, "450", "cells/µL", "0.45"),
            (Analyte::Neutrophils, "1234", "/mm3", "1.234"),
            (Analyte::Neutrophils, "0.45", "×10⁹/L", "0.45"),
            (Analyte::Neutrophils, "1", "/uL", "0.001"),
            // Half a thousandth rounds up.
            (Analyte::Neutrophils, "1.5", "/uL", "0.002"),
            (Analyte::WhiteCells, "3.2", "/nL", "3.2"),
            (Analyte::Blasts, "12", "%", "12"),
        ];
        for (analyte, value, unit, stored) in cases {
            let count = parse(&[raw(analyte, value, unit)]).unwrap();
            assert_eq!(count.get(analyte).unwrap().to_string(), stored, "{value} {unit}");
        }
    }

    #[test]
    fn unknown_and_mismatched_units_are_refused_naming_the_unit_field() {
        let cases = [
            (Analyte::Haemoglobin, "6.5", "mmol/L", "haemoglobin_unit", "not a unit"),
            (Analyte::Platelets, "150", "g/L", "platelets_unit", "not a unit for platelets"),
            (Analyte::Haemoglobin, "104", "10^9/L", "haemoglobin_unit", "use g/L or g/dL"),
            (Analyte::Blasts, "3", "10^9/L", "blasts_unit", "use %"),
            (Analyte::Neutrophils, "2", "", "neutrophils_unit", "not a unit"),
        ];
        for (analyte, value, unit, field, message) in cases {
            let e = parse(&[raw(analyte, value, unit)]).unwrap_err();
            assert_eq!(e.field, field, "{unit}");
            assert!(e.message.contains(message), "{unit}: {}", e.message);
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_analyte() {
        let cases = [
            (Analyte::Haemoglobin, "abc", "g/L", "not a number"),
            (Analyte::Haemoglobin, "-3", "g/L", "negative"),
            (Analyte::Haemoglobin, "", "g/L", "empty"),
            (Analyte::Haemoglobin, "1.2.3", "g/L", "not a number"),
            (Analyte::Haemoglobin, "1e3", "g/L", "not a number"),
            // 10.4 labelled g/L is almost surely g/dL.
            (Analyte::Haemoglobin, "10.4", "g/L", "check the value and its unit"),
            (Analyte::Haemoglobin, "300", "g/L", "outside"),
            (Analyte::Blasts, "101", "%", "outside"),
            (Analyte::Platelets, "99999999999", "/uL", "too many digits"),
        ];
        for (analyte, value, unit, message) in cases {
            let e = parse(&[raw(analyte, value, unit)]).unwrap_err();
            assert_eq!(e.field, analyte.code(), "{value}");
            assert!(e.message.contains(message), "{value}: {}", e.message);
        }
    }

    #[test]
    fn whole_counts_are_checked() {
        assert_eq!(parse(&[]).unwrap_err().field, "results");
        let twice = [raw(Analyte::Platelets, "150", "10^9/L"), raw(Analyte::Platelets, "1", "%")];
        assert_eq!(parse(&twice).unwrap_err().message, "is given twice");
        let future = BloodCount::parse(
            at("2026-11-25T09:00"),
            &[raw(Analyte::Blasts, "1", "%")],
            at("2026-11-24T09:00"),
        );
        assert_eq!(future.unwrap_err().field, "taken_at");
        let part =
            [raw(Analyte::WhiteCells, "3", "10^9/L"), raw(Analyte::Neutrophils, "5", "10^9/L")];
        assert_eq!(parse(&part).unwrap_err().field, "neutrophils");
        let sum = [
            raw(Analyte::WhiteCells, "3", "10^9/L"),
            raw(Analyte::Neutrophils, "2", "10^9/L"),
            raw(Analyte::Lymphocytes, "2", "10^9/L"),
        ];
        assert_eq!(parse(&sum).unwrap_err().field, "white-cells");
        // Rounding slack: 4.0 + 1.1 of 5.0 passes.
        let rounded = [
            raw(Analyte::WhiteCells, "5.0", "10^9/L"),
            raw(Analyte::Neutrophils, "4.0", "10^9/L"),
            raw(Analyte::Lymphocytes, "1.1", "10^9/L"),
        ];
        assert!(parse(&rounded).is_ok());
    }

    #[test]
    fn flags_follow_the_range_for_sex_and_age_band() {
        let adult = Date::parse("dob", "1970-01-01").unwrap();
        let count = parse(&[
            raw(Analyte::Haemoglobin, "125", "g/L"),
            raw(Analyte::Platelets, "149", "10^9/L"),
            raw(Analyte::Neutrophils, "7.0", "10^9/L"),
            raw(Analyte::Blasts, "1", "%"),
        ])
        .unwrap();
        let flags = |sex| -> Vec<(Analyte, CountFlag)> {
            count.interpret(sex, adult).iter().map(|i| (i.measured.analyte, i.flag)).collect()
        };
        assert_eq!(
            flags(Sex::Female),
            vec![
                (Analyte::Haemoglobin, CountFlag::Normal),
                (Analyte::Neutrophils, CountFlag::Normal),
                (Analyte::Platelets, CountFlag::Low),
                (Analyte::Blasts, CountFlag::High),
            ]
        );
        assert_eq!(flags(Sex::Male)[0], (Analyte::Haemoglobin, CountFlag::Low));
        assert_eq!(flags(Sex::Unknown)[0], (Analyte::Haemoglobin, CountFlag::Normal));
        // The same 125 g/L in a four-year-old is within 110–140.
        let child = Date::parse("dob", "2022-06-01").unwrap();
        assert_eq!(AgeBand::on(child, Date::of(count.taken_at)), AgeBand::TwoToFive);
        assert_eq!(count.interpret(Sex::Male, child)[0].flag, CountFlag::Normal);
        // 149 is low for an adult (150–410) and for a six-year-old (170–450).
        let school = Date::parse("dob", "2019-01-01").unwrap();
        assert_eq!(count.interpret(Sex::Male, school)[2].flag, CountFlag::Low);
        // Infants have no range here: shown, never flagged.
        let infant = Date::parse("dob", "2026-06-01").unwrap();
        assert_eq!(count.interpret(Sex::Male, infant)[0].flag, CountFlag::NoRange);
    }

    #[test]
    fn abnormal_lineages_prefill_an_order() {
        let adult = Date::parse("dob", "1960-01-01").unwrap();
        let count = parse(&[
            raw(Analyte::Haemoglobin, "8.9", "g/dL"),
            raw(Analyte::WhiteCells, "2.1", "10^9/L"),
            raw(Analyte::Neutrophils, "0.6", "10^9/L"),
            raw(Analyte::Platelets, "45", "10^9/L"),
            raw(Analyte::Blasts, "4", "%"),
        ])
        .unwrap();
        let codes: Vec<String> =
            count.abnormal_lineages(Sex::Female, adult).iter().map(|l| l.code()).collect();
        assert_eq!(codes, ["red-cells-low", "white-cells-low", "neutrophils-low", "platelets-low"]);
    }

    #[test]
    fn loinc_codes_round_trip_and_alternatives_are_accepted() {
        for &a in Analyte::ALL {
            assert_eq!(Analyte::from_loinc(a.loinc()), Some(a));
        }
        assert_eq!(Analyte::from_loinc("26464-8"), Some(Analyte::WhiteCells));
        assert_eq!(Analyte::from_loinc("26450-7"), None);
    }

    /// Clinical reference §7.4: reverse the digits, double the odd positions read as a number,
    /// prefix the even positions, sum every digit, check = (10 − sum mod 10) mod 10.
    fn loinc_check_digit(stem: &str) -> u32 {
        let digits: Vec<char> = stem.chars().rev().collect();
        let odd: String = digits.iter().step_by(2).rev().collect();
        let even: String = digits.iter().skip(1).step_by(2).rev().collect();
        let doubled = 2 * odd.parse::<u64>().unwrap();
        let sum: u32 = format!("{even}{doubled}").chars().filter_map(|c| c.to_digit(10)).sum();
        (10 - sum % 10) % 10
    }

    #[test]
    fn every_loinc_code_has_a_valid_check_digit() {
        for (stem, check) in [("718", 7), ("2160", 0), ("48807", 2), ("11138", 5), ("93021", 4)] {
            assert_eq!(loinc_check_digit(stem), check, "§7.4 vector {stem}");
        }
        for code in Analyte::ALL.iter().map(|a| a.loinc()).chain(["26464-8", "26444-0"]) {
            let (stem, check) = code.split_once('-').unwrap();
            assert_eq!(loinc_check_digit(stem), check.parse().unwrap(), "{code}");
        }
    }
}
