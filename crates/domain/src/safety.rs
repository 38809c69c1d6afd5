//! The pre-procedure safety check: the recorded facts.
//!
//! This module records what the proceduralist or nurse found. The rules that turn these facts
//! into findings (drugs to pause, platelet and INR limits from the clinical reference §5) are in
//! [`crate::safety_rules`]; the clinician makes the final decision.

use crate::time::Timestamp;
use crate::{FieldError, optional_text, required_text};

code_enum! {
    /// The drug classes that matter for bleeding risk (clinical reference §5.2, SIR 2019).
    pub enum DrugClass : "class" {
        Antiplatelet => ("antiplatelet", "Antiplatelet"),
        VitaminKAntagonist => ("vitamin-k-antagonist", "Vitamin K antagonist"),
        Heparin => ("heparin", "Heparin"),
        DirectOralAnticoagulant => ("doac", "Direct oral anticoagulant"),
        Other => ("other", "Other"),
    }
}

/// A medication the patient takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medication {
    /// Drug name as written, e.g. "Apixaban".
    pub name: String,
    /// Drug class.
    pub class: DrugClass,
    /// Dose as written, e.g. "5 mg twice daily".
    pub dose: String,
    /// When the last dose was taken, if known.
    pub last_dose_at: Option<Timestamp>,
}

/// Raw text of one medication row.
#[derive(Debug, Clone, Default)]
pub struct MedicationInput<'a> {
    /// `name`
    pub name: &'a str,
    /// `class`
    pub class: &'a str,
    /// `dose`
    pub dose: &'a str,
    /// `last_dose_at`
    pub last_dose_at: &'a str,
}

/// Platelet count in ×10⁹/L, a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlateletCount(u32);

impl PlateletCount {
    // A guard against typos and unit mix-ups (e.g. /µL typed as ×10⁹/L), not a clinical
    // threshold: those live with the safety rules, each next to its source.
    const PLAUSIBLE_MAX: u32 = 5000;

    /// Parses a whole number of ×10⁹/L.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let value: u32 = raw.parse().map_err(|_| {
            FieldError::new("platelets", format!("{raw:?} is not a whole number of ×10⁹/L"))
        })?;
        if value > Self::PLAUSIBLE_MAX {
            return Err(FieldError::new(
                "platelets",
                format!("{value} ×10⁹/L is not plausible; check the value and its unit"),
            ));
        }
        Ok(Self(value))
    }

    /// The count in ×10⁹/L.
    pub fn per_nanolitre(self) -> u32 {
        self.0
    }

    /// Builds from a count in ×10⁹/L without the plausibility guard, as for a site's configured
    /// threshold (compare [`Inr::from_hundredths`]).
    pub const fn from_per_nanolitre(value: u32) -> Self {
        Self(value)
    }
}

/// International normalised ratio, held as hundredths so comparisons are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Inr(u16);

impl Inr {
    /// Parses an INR between 0.5 and 15.0 (a plausibility guard, not a clinical limit).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let value: f64 =
            raw.parse().map_err(|_| FieldError::new("inr", format!("{raw:?} is not a number")))?;
        if !(0.5..=15.0).contains(&value) {
            return Err(FieldError::new(
                "inr",
                format!("{raw} is outside 0.5–15.0; check the value"),
            ));
        }
        // In range, so the cast cannot overflow.
        Ok(Self((value * 100.0).round() as u16))
    }

    /// The INR in hundredths (1.25 → 125).
    pub fn hundredths(self) -> u16 {
        self.0
    }

    /// Builds from hundredths, as stored.
    pub fn from_hundredths(value: u16) -> Self {
        Self(value)
    }
}

impl std::fmt::Display for Inr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// What was found before the procedure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetyFacts {
    /// Current medications (empty: none).
    pub medications: Vec<Medication>,
    /// Recorded allergies (empty: no known allergies).
    pub allergies: Vec<String>,
    /// Latest platelet count.
    pub platelets: Option<PlateletCount>,
    /// Latest INR.
    pub inr: Option<Inr>,
    /// When the platelet count and INR were taken.
    pub bloods_taken_at: Option<Timestamp>,
    /// Sedation is planned.
    pub sedation_planned: bool,
    /// A responsible adult will take the patient home.
    pub escort_arranged: bool,
    /// The patient is immunocompromised.
    pub immunocompromised: bool,
}

/// The raw text of a safety check.
#[derive(Debug, Clone, Default)]
pub struct SafetyInput<'a> {
    /// `medications`
    pub medications: Vec<MedicationInput<'a>>,
    /// `allergies`, one per entry
    pub allergies: Vec<&'a str>,
    /// `platelets`
    pub platelets: &'a str,
    /// `inr`
    pub inr: &'a str,
    /// `bloods_taken_at`
    pub bloods_taken_at: &'a str,
    /// `sedation_planned`
    pub sedation_planned: bool,
    /// `escort_arranged`
    pub escort_arranged: bool,
    /// `immunocompromised`
    pub immunocompromised: bool,
}

impl SafetyFacts {
    /// Parses the facts. Times after `now` are refused: a last dose or a blood test cannot be in
    /// the future.
    pub fn parse(input: &SafetyInput<'_>, now: Timestamp) -> Result<Self, FieldError> {
        let mut medications = Vec::new();
        for (i, m) in input.medications.iter().enumerate() {
            let blank = m.name.trim().is_empty()
                && m.dose.trim().is_empty()
                && m.last_dose_at.trim().is_empty();
            if blank {
                continue; // an empty form row
            }
            let at = |f: &str| format!("medications[{i}].{f}");
            let last_dose_at = match m.last_dose_at.trim() {
                "" => None,
                raw => Some(past(
                    Timestamp::parse(&at("last_dose_at"), raw)?,
                    now,
                    &at("last_dose_at"),
                )?),
            };
            medications.push(Medication {
                name: required_text(&at("name"), m.name, 200)?,
                class: DrugClass::parse(m.class).map_err(|e| e.at(at("class")))?,
                dose: required_text(&at("dose"), m.dose, 200)?,
                last_dose_at,
            });
        }
        let mut allergies = Vec::new();
        for (i, a) in input.allergies.iter().enumerate() {
            if let Some(text) = optional_text(&format!("allergies[{i}]"), a, 200)? {
                allergies.push(text);
            }
        }
        let platelets = match input.platelets.trim() {
            "" => None,
            raw => Some(PlateletCount::parse(raw)?),
        };
        let inr = match input.inr.trim() {
            "" => None,
            raw => Some(Inr::parse(raw)?),
        };
        let bloods_taken_at = match input.bloods_taken_at.trim() {
            "" => None,
            raw => Some(past(Timestamp::parse("bloods_taken_at", raw)?, now, "bloods_taken_at")?),
        };
        if bloods_taken_at.is_none() && (platelets.is_some() || inr.is_some()) {
            return Err(FieldError::new(
                "bloods_taken_at",
                "say when the platelet count and INR were taken",
            ));
        }
        Ok(Self {
            medications,
            allergies,
            platelets,
            inr,
            bloods_taken_at,
            sedation_planned: input.sedation_planned,
            escort_arranged: input.escort_arranged,
            immunocompromised: input.immunocompromised,
        })
    }
}

fn past(at: Timestamp, now: Timestamp, field: &str) -> Result<Timestamp, FieldError> {
    // A few minutes of slack for clocks that differ between devices.
    if at > now.plus_seconds(300) {
        return Err(FieldError::new(field, "is in the future"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("now", "2026-11-24T12:00:00Z").unwrap()
    }

    fn input() -> SafetyInput<'static> {
        SafetyInput {
            medications: vec![MedicationInput {
                name: "Apixaban",
                class: "doac",
                dose: "5 mg twice daily",
                last_dose_at: "2026-11-23T20:00",
            }],
            allergies: vec!["Penicillin", ""],
            platelets: "85",
            inr: "1.3",
            bloods_taken_at: "2026-11-24T08:00",
            ..SafetyInput::default()
        }
    }

    #[test]
    fn facts_parse_with_exact_inr() {
        let facts = SafetyFacts::parse(&input(), now()).unwrap();
        assert_eq!(facts.inr.unwrap().hundredths(), 130);
        assert_eq!(facts.inr.unwrap().to_string(), "1.30");
        assert_eq!(facts.allergies, vec!["Penicillin".to_owned()]);
        assert_eq!(facts.medications[0].class, DrugClass::DirectOralAnticoagulant);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (SafetyInput { platelets: "85k", ..input() }, "platelets"),
            (SafetyInput { platelets: "85000", ..input() }, "platelets"),
            (SafetyInput { inr: "30", ..input() }, "inr"),
            (SafetyInput { bloods_taken_at: "", ..input() }, "bloods_taken_at"),
            (SafetyInput { bloods_taken_at: "2026-11-25T08:00", ..input() }, "bloods_taken_at"),
        ];
        for (bad, field) in cases {
            assert_eq!(SafetyFacts::parse(&bad, now()).unwrap_err().field, field);
        }
        let mut bad_med = input();
        bad_med.medications[0].class = "blood-thinner";
        assert_eq!(SafetyFacts::parse(&bad_med, now()).unwrap_err().field, "medications[0].class");
    }
}
