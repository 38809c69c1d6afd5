//! The post-procedure check-in: what the patient tells us in the days after the test, and the
//! triage of it into "expected recovery", "contact the team within a day" or "call now".
//!
//! [`CheckIn::parse`] turns the raw form ([`CheckInInput`]) into a [`CheckIn`]; [`triage`] is a
//! pure function of the check-in and the [`TriageContext`] (is the patient immunocompromised,
//! the service's fever threshold). Every [`Reason`] is written for the **patient**: short
//! sentences, plain words, the number they gave us, and what to do. Each carries the source it
//! rests on, cited from `shared/docs/clinical-reference.md` ("the reference") by section.
//!
//! The words themselves (questions, answers, reasons, error messages) are
//! [`Phrase`]s of the [`patient_text`](crate::patient_text) catalogue, so a patient reads them
//! in their own [`Language`]; the rules here decide which phrase applies.
//!
//! # Grading
//!
//! The sources list the red flags under "call promptly for" (reference §8) and do not grade
//! them. The split between [`Triage::CallNow`] and [`Triage::ContactWithinADay`] is **ours**:
//!
//! | Sign | Outcome | Source of the sign |
//! |---|---|---|
//! | temperature ≥ the service threshold (default 38.0 °C) | call now | Cleveland Clinic, NHLBI; threshold §8 |
//! | immunocompromised and temperature ≥ 37.8 °C (or the threshold, if lower) | call now | Cleveland Clinic BMT page 37.8 °C; IDSA febrile neutropenia (§8); §6.4 |
//! | bleeding that does not stop with pressure | call now | Cleveland Clinic, §8 "call if it will not stop" |
//! | pus or fluid from the site | call now | Cleveland Clinic, NHLBI, WebMD |
//! | severe pain, or pain getting worse | call now | NHLBI, WebMD, KCH NHS |
//! | swelling | within a day | Cleveland Clinic, NHLBI, WebMD, KCH NHS |
//! | warmth or redness | within a day | Cleveland Clinic, NHLBI, WebMD, KCH NHS |
//! | moderate pain | within a day | our grading of "increasing or severe pain" |
//! | bleeding that stops with pressure | expected, with pressing advice | §8 "if it bleeds" |
//! | a small spot on the dressing, mild pain, no pain | expected | §8 expected pain and bruising |
//!
//! The free-text notes are never triaged: a person reads them later. When there are notes, a
//! reason says so and tells the patient to call if they are worried.

use crate::FieldError;
use crate::optional_text;
use crate::patient_text::{Language, Phrase};

/// The default red-flag temperature, in tenths of a degree Celsius: 38.0 °C (100.4 °F).
/// Reference §8: "Encode: default red-flag threshold 38.0 °C, configurable per service".
pub const DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS: u16 = 380;

/// The stricter threshold for an immunocompromised patient, in tenths of a degree Celsius:
/// 37.8 °C (100 °F), the lower number on the Cleveland Clinic BMT page (reference §8).
pub const IMMUNOCOMPROMISED_FEVER_TENTHS_CELSIUS: u16 = 378;

/// The lowest temperature accepted, in tenths of a degree Celsius (34.0 °C).
pub const MIN_TEMPERATURE_TENTHS_CELSIUS: u16 = 340;

/// The highest temperature accepted, in tenths of a degree Celsius (43.0 °C).
pub const MAX_TEMPERATURE_TENTHS_CELSIUS: u16 = 430;

/// The longest note accepted, in characters.
pub const MAX_NOTES_CHARS: usize = 1000;

const SRC_FEVER: &str = "Clinical reference §8: fever is a red flag (Cleveland Clinic BMA page \
     [P]; NHLBI [S]); default threshold 38.0 °C (100.4 °F), configurable per service";
const SRC_FEVER_IMMUNOCOMPROMISED: &str = "Clinical reference §8: 37.8 °C (100 °F), the lower \
     Cleveland Clinic BMT number [S]; any fever in a neutropenic patient goes to the \
     febrile-neutropenia pathway, antibiotics within about an hour (IDSA [S×2]); higher risk \
     with weakened immunity, clinical reference §6.4 (Cleveland Clinic [P])";
const SRC_BLEEDING_NOT_STOPPING: &str = "Clinical reference §8: bleeding not stopping with \
     pressure is a red flag (Cleveland Clinic [P]); \"call if it will not stop\" [S×2]";
const SRC_BLEEDING_PRESSURE: &str = "Clinical reference §8 \"if it bleeds\": firm pressure, \
     5 min (Children's Minnesota) to at least 30 min (Alberta MyHealth) [S×2]; ≥ 10 min for \
     patients with bleeding problems, clinical reference §6.4 (WebMD [S])";
const SRC_DISCHARGE: &str = "Clinical reference §8: discharge or pus is a red flag (Cleveland \
     Clinic [P]; NHLBI [S]; WebMD [S])";
const SRC_SWELLING: &str = "Clinical reference §8: swelling is a \"call promptly\" sign \
     (Cleveland Clinic [P]; NHLBI, WebMD, KCH NHS [S]); graded \"within a day\" by Marrow";
const SRC_WARMTH_REDNESS: &str = "Clinical reference §8: warmth and redness are \"call promptly\" \
     signs (Cleveland Clinic [P]; NHLBI, WebMD, KCH NHS [S]); graded \"within a day\" by Marrow; \
     infection of skin or bone, clinical reference §6.4";
const SRC_PAIN_SEVERE: &str = "Clinical reference §8: increasing or severe pain is a \"call \
     promptly\" sign (NHLBI, WebMD, KCH NHS [S]); graded \"call now\" by Marrow";
const SRC_PAIN_MODERATE: &str = "Clinical reference §8: soreness for a few days is expected \
     (Cleveland Clinic [P]; NHLBI [S]), increasing or severe pain is not; moderate pain graded \
     \"within a day\" by Marrow; pain relief: paracetamol, ask before aspirin (Alberta, WebMD, \
     NTH NHS [S])";
const SRC_EXPECTED: &str = "Clinical reference §8: soreness for a few days and mild bruising in \
     the first week are expected (Cleveland Clinic [P]; NHLBI, NTH NHS [S])";
const SRC_NOTES: &str = "Marrow: free-text notes are read by the team, not triaged";

code_enum! {
    /// How much the needle site is bleeding. The labels are the team's words; the patient's
    /// are [`Bleeding::phrase`].
    pub enum Bleeding : "bleeding" {
        None => ("none", "No bleeding"),
        Spot => ("spot", "A small spot of blood on the dressing"),
        StopsWithPressure => ("stops-with-pressure", "Bleeding that stops when I press on it"),
        DoesNotStop => ("does-not-stop", "Bleeding that does not stop when I press on it"),
    }
}

code_enum! {
    /// How much pain the patient has. Ordered: a later variant is worse. The labels are the
    /// team's words; the patient's are [`Pain::phrase`].
    pub enum Pain : "pain" {
        None => ("none", "No pain"),
        Mild => ("mild", "Mild soreness"),
        Moderate => ("moderate", "Moderate pain"),
        Severe => ("severe", "Severe pain"),
        GettingWorse => ("getting-worse", "Pain that is getting worse"),
    }
}

code_enum! {
    /// The outcome of a check-in. Ordered: a later variant is more urgent. The labels are the
    /// team's words; the patient's heading is [`Triage::phrase`].
    pub enum Triage : "triage" {
        ExpectedRecovery => ("expected-recovery", "Expected recovery"),
        ContactWithinADay => ("contact-within-a-day", "Contact the team within a day"),
        CallNow => ("call-now", "Call now"),
    }
}

impl Bleeding {
    /// The answer as the patient reads it on the form.
    pub fn phrase(self) -> Phrase {
        match self {
            Bleeding::None => Phrase::BleedingNone,
            Bleeding::Spot => Phrase::BleedingSpot,
            Bleeding::StopsWithPressure => Phrase::BleedingStopsWithPressure,
            Bleeding::DoesNotStop => Phrase::BleedingDoesNotStop,
        }
    }
}

impl Pain {
    /// The answer as the patient reads it on the form. "Moderate" is "hard to ignore": the
    /// word "moderate" is not plain, and the usual patient wording of a pain scale describes
    /// what the pain does.
    pub fn phrase(self) -> Phrase {
        match self {
            Pain::None => Phrase::PainNone,
            Pain::Mild => Phrase::PainMild,
            Pain::Moderate => Phrase::PainModerate,
            Pain::Severe => Phrase::PainSevere,
            Pain::GettingWorse => Phrase::PainGettingWorse,
        }
    }
}

impl Triage {
    /// The outcome as the heading of the patient's result page.
    pub fn phrase(self) -> Phrase {
        match self {
            Triage::ExpectedRecovery => Phrase::OutcomeExpectedRecovery,
            Triage::ContactWithinADay => Phrase::OutcomeContactWithinADay,
            Triage::CallNow => Phrase::OutcomeCallNow,
        }
    }
}

/// The patient's form as submitted: raw strings and check boxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckInInput<'a> {
    /// Temperature in °C, e.g. `37.9`; blank when not measured. A comma may stand for the point.
    pub temperature: &'a str,
    /// A [`Bleeding`] code.
    pub bleeding: &'a str,
    /// Pus or fluid coming out of the site.
    pub discharge: bool,
    /// Swelling at the site.
    pub swelling: bool,
    /// Warm or red skin at the site.
    pub warmth_or_redness: bool,
    /// A [`Pain`] code.
    pub pain: &'a str,
    /// Anything else, at most [`MAX_NOTES_CHARS`] characters; blank for none.
    pub notes: &'a str,
}

/// A body temperature in tenths of a degree Celsius, within 34.0–43.0 °C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Temperature(u16);

impl Temperature {
    /// Parses `37.9` (or `37,9`, `38`, `37.9 °C`); at most one decimal. The error names the
    /// field `temperature` and says, in plain words, what to type.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let refuse =
            || FieldError::new("temperature", Phrase::TemperatureHelp.text(Language::English));
        let value = raw.trim();
        let value = value
            .strip_suffix("°C")
            .or_else(|| value.strip_suffix("° C"))
            .or_else(|| value.strip_suffix('C'))
            .or_else(|| value.strip_suffix('c'))
            .or_else(|| value.strip_suffix('°'))
            .unwrap_or(value)
            .trim_end();
        let (whole, tenth) = match value.split_once(['.', ',']) {
            Some((whole, tenth)) => (whole, tenth),
            None => (value, "0"),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(tenth) || whole.len() > 3 || tenth.len() != 1 {
            return Err(refuse());
        }
        let whole: u16 = whole.parse().map_err(|_| refuse())?;
        let tenth: u16 = tenth.parse().map_err(|_| refuse())?;
        Self::from_tenths_celsius(whole * 10 + tenth).ok_or_else(refuse)
    }

    /// A temperature from tenths of a degree Celsius (`379` is 37.9 °C); `None` outside
    /// 34.0–43.0 °C.
    pub fn from_tenths_celsius(tenths: u16) -> Option<Self> {
        (MIN_TEMPERATURE_TENTHS_CELSIUS..=MAX_TEMPERATURE_TENTHS_CELSIUS)
            .contains(&tenths)
            .then_some(Self(tenths))
    }

    /// Tenths of a degree Celsius: `379` is 37.9 °C.
    pub fn tenths_celsius(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for Temperature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} °C", self.0 / 10, self.0 % 10)
    }
}

/// A parsed check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// The temperature, where the patient measured it.
    pub temperature: Option<Temperature>,
    /// Bleeding at the site.
    pub bleeding: Bleeding,
    /// Pus or fluid from the site.
    pub discharge: bool,
    /// Swelling at the site.
    pub swelling: bool,
    /// Warm or red skin at the site.
    pub warmth_or_redness: bool,
    /// Pain.
    pub pain: Pain,
    /// Anything else the patient wrote; read by the team, never triaged.
    pub notes: Option<String>,
}

impl CheckIn {
    /// Checks the form, with error messages in English. A blank temperature means "not
    /// measured"; a blank bleeding or pain answer is refused. The error names the field
    /// (`temperature`, `bleeding`, `pain`, `notes`).
    pub fn parse(input: &CheckInInput<'_>) -> Result<Self, FieldError> {
        Self::parse_in(input, Language::English)
    }

    /// [`CheckIn::parse`] with the error message in the patient's `language`.
    pub fn parse_in(input: &CheckInInput<'_>, language: Language) -> Result<Self, FieldError> {
        let refuse = |field: &str, phrase: Phrase| FieldError::new(field, phrase.text(language));
        let temperature = if input.temperature.trim().is_empty() {
            None
        } else {
            Some(
                Temperature::parse(input.temperature)
                    .map_err(|_| refuse("temperature", Phrase::TemperatureHelp))?,
            )
        };
        // A code the form does not offer can only come from a tampered request; the patient
        // is asked to choose again, as for a blank answer.
        let bleeding = Bleeding::parse(input.bleeding)
            .map_err(|_| refuse("bleeding", Phrase::ChooseBleeding))?;
        let pain = Pain::parse(input.pain).map_err(|_| refuse("pain", Phrase::ChoosePain))?;
        let notes = optional_text("notes", input.notes, MAX_NOTES_CHARS).map_err(|_| {
            if input.notes.trim().chars().count() > MAX_NOTES_CHARS {
                let max = MAX_NOTES_CHARS.to_string();
                FieldError::new("notes", Phrase::NotesTooLong.fill(language, &[("max", &max)]))
            } else {
                refuse("notes", Phrase::NotesInvalid)
            }
        })?;
        Ok(Self {
            temperature,
            bleeding,
            discharge: input.discharge,
            swelling: input.swelling,
            warmth_or_redness: input.warmth_or_redness,
            pain,
            notes,
        })
    }
}

/// What we know about the patient beyond their answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriageContext {
    /// The patient is immunocompromised (e.g. neutropenic): the stricter fever advice applies.
    pub immunocompromised: bool,
    /// The service's red-flag temperature in tenths of a degree Celsius; default
    /// [`DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS`] (38.0 °C).
    pub fever_threshold_tenths_celsius: u16,
}

impl Default for TriageContext {
    fn default() -> Self {
        Self {
            immunocompromised: false,
            fever_threshold_tenths_celsius: DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS,
        }
    }
}

/// One reason for the outcome, written for the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// How urgent this reason alone is.
    pub outcome: Triage,
    /// Short plain sentences for the patient: what we noticed and what to do.
    pub phrase: Phrase,
    /// The temperature the patient gave, for the fever reasons' `{temperature}`.
    pub temperature: Option<Temperature>,
    /// The citation the rule rests on.
    pub source: &'static str,
}

impl Reason {
    /// The reason in `language`, with the patient's temperature in it where it has one.
    pub fn text(&self, language: Language) -> String {
        let temperature = self.temperature.map(|t| t.to_string()).unwrap_or_default();
        self.phrase.fill(language, &[("temperature", &temperature)])
    }
}

/// The triage of one check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The most urgent reason's outcome.
    pub outcome: Triage,
    /// Every reason, most urgent first; never empty.
    pub reasons: Vec<Reason>,
}

/// Triages a check-in. Pure: the same answers and context always give the same assessment.
///
/// The outcome is the most urgent reason's; all reasons are listed, most urgent first (ties in
/// the order of the form). When nothing is more urgent than expected recovery, the first reason
/// is a reassuring one about normal soreness and bruising.
pub fn triage(check_in: &CheckIn, patient: &TriageContext) -> Assessment {
    let mut reasons = Vec::new();

    // Fever (reference §8). An immunocompromised patient has the lower of the service threshold
    // and 37.8 °C, and advice that names the febrile-neutropenia emergency.
    if let Some(t) = check_in.temperature {
        let threshold = patient.fever_threshold_tenths_celsius;
        let strict = threshold.min(IMMUNOCOMPROMISED_FEVER_TENTHS_CELSIUS);
        let fever = if patient.immunocompromised && t.tenths_celsius() >= strict {
            Some((Phrase::ReasonFeverImmunocompromised, SRC_FEVER_IMMUNOCOMPROMISED))
        } else if t.tenths_celsius() >= threshold {
            Some((Phrase::ReasonFever, SRC_FEVER))
        } else {
            None
        };
        if let Some((phrase, source)) = fever {
            reasons.push(Reason { outcome: Triage::CallNow, phrase, temperature: Some(t), source });
        }
    }

    let mut add = |outcome, phrase, source| {
        reasons.push(Reason { outcome, phrase, temperature: None, source });
    };

    // Bleeding (reference §8): "call if it will not stop". Bleeding that stops with pressure is
    // our choice of expected recovery, with advice on pressing; a spot on the dressing is
    // expected.
    match check_in.bleeding {
        Bleeding::DoesNotStop => {
            add(Triage::CallNow, Phrase::ReasonBleedingDoesNotStop, SRC_BLEEDING_NOT_STOPPING);
        }
        Bleeding::StopsWithPressure => add(
            Triage::ExpectedRecovery,
            Phrase::ReasonBleedingStopsWithPressure,
            SRC_BLEEDING_PRESSURE,
        ),
        Bleeding::Spot | Bleeding::None => {}
    }

    // Pus or fluid (reference §8): a red flag for infection.
    if check_in.discharge {
        add(Triage::CallNow, Phrase::ReasonDischarge, SRC_DISCHARGE);
    }

    // Swelling, warmth, redness (reference §8 "call promptly"): graded "within a day" by us.
    if check_in.swelling {
        add(Triage::ContactWithinADay, Phrase::ReasonSwelling, SRC_SWELLING);
    }
    if check_in.warmth_or_redness {
        add(Triage::ContactWithinADay, Phrase::ReasonWarmthOrRedness, SRC_WARMTH_REDNESS);
    }

    // Pain (reference §8): soreness is expected; increasing or severe pain is not. Severe or
    // worsening pain is "call now", moderate pain "within a day": our grading.
    match check_in.pain {
        Pain::Severe => add(Triage::CallNow, Phrase::ReasonPainSevere, SRC_PAIN_SEVERE),
        Pain::GettingWorse => {
            add(Triage::CallNow, Phrase::ReasonPainGettingWorse, SRC_PAIN_SEVERE);
        }
        Pain::Moderate => {
            add(Triage::ContactWithinADay, Phrase::ReasonPainModerate, SRC_PAIN_MODERATE);
        }
        Pain::Mild | Pain::None => {}
    }

    if check_in.notes.is_some() {
        add(Triage::ExpectedRecovery, Phrase::ReasonNotes, SRC_NOTES);
    }

    let outcome = reasons.iter().map(|r| r.outcome).max().unwrap_or(Triage::ExpectedRecovery);
    if outcome == Triage::ExpectedRecovery {
        reasons.insert(
            0,
            Reason {
                outcome: Triage::ExpectedRecovery,
                phrase: Phrase::ReasonExpected,
                temperature: None,
                source: SRC_EXPECTED,
            },
        );
    }
    // Stable: equally urgent reasons keep the order of the form.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.outcome));
    Assessment { outcome, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: TriageContext = TriageContext {
        immunocompromised: false,
        fever_threshold_tenths_celsius: DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS,
    };
    const SPANISH: Language = Language::Spanish;
    const IMMUNO: TriageContext = TriageContext {
        immunocompromised: true,
        fever_threshold_tenths_celsius: DEFAULT_FEVER_THRESHOLD_TENTHS_CELSIUS,
    };

    /// A patient recovering as expected: no temperature taken, a spot of blood, mild soreness.
    fn calm() -> CheckInInput<'static> {
        CheckInInput { bleeding: "spot", pain: "mild", ..CheckInInput::default() }
    }

    fn assess(input: CheckInInput<'_>, context: TriageContext) -> Assessment {
        triage(&CheckIn::parse(&input).unwrap(), &context)
    }

    fn sources(a: &Assessment) -> Vec<&'static str> {
        a.reasons.iter().map(|r| r.source).collect()
    }

    #[test]
    fn default_context_is_38_0_and_not_immunocompromised() {
        assert_eq!(TriageContext::default(), DEFAULT);
    }

    #[test]
    fn an_unremarkable_check_in_is_expected_recovery_with_one_reassuring_reason() {
        let a = assess(calm(), DEFAULT);
        assert_eq!(a.outcome, Triage::ExpectedRecovery);
        assert_eq!(a.reasons.len(), 1);
        assert_eq!(
            a.reasons[0].text(Language::English),
            "Mild soreness and a small bruise are normal for a few days."
        );
        assert_eq!(a.reasons[0].source, SRC_EXPECTED);
    }

    #[test]
    fn temperature_boundaries() {
        let custom = TriageContext { fever_threshold_tenths_celsius: 383, ..DEFAULT };
        let custom_immuno = TriageContext { fever_threshold_tenths_celsius: 383, ..IMMUNO };
        let low_immuno = TriageContext { fever_threshold_tenths_celsius: 375, ..IMMUNO };
        #[rustfmt::skip]
        let cases: &[(&str, TriageContext, Triage, Option<&str>)] = &[
            ("", DEFAULT, Triage::ExpectedRecovery, None),
            ("37.9", DEFAULT, Triage::ExpectedRecovery, None),
            ("38.0", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
            ("38.1", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
            ("38", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
            ("37,9", DEFAULT, Triage::ExpectedRecovery, None),
            ("38,0", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
            (" 38.0 °C ", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
            ("37.7", IMMUNO, Triage::ExpectedRecovery, None),
            ("37.8", IMMUNO, Triage::CallNow, Some(SRC_FEVER_IMMUNOCOMPROMISED)),
            ("38.5", IMMUNO, Triage::CallNow, Some(SRC_FEVER_IMMUNOCOMPROMISED)),
            ("38.2", custom, Triage::ExpectedRecovery, None),
            ("38.3", custom, Triage::CallNow, Some(SRC_FEVER)),
            ("37.7", custom_immuno, Triage::ExpectedRecovery, None),
            ("37.8", custom_immuno, Triage::CallNow, Some(SRC_FEVER_IMMUNOCOMPROMISED)),
            ("37.4", low_immuno, Triage::ExpectedRecovery, None),
            ("37.5", low_immuno, Triage::CallNow, Some(SRC_FEVER_IMMUNOCOMPROMISED)),
            ("34.0", DEFAULT, Triage::ExpectedRecovery, None),
            ("43.0", DEFAULT, Triage::CallNow, Some(SRC_FEVER)),
        ];
        for &(raw, context, outcome, source) in cases {
            let a = assess(CheckInInput { temperature: raw, ..calm() }, context);
            assert_eq!(a.outcome, outcome, "{raw:?} with {context:?}");
            match source {
                Some(source) => assert_eq!(sources(&a), [source], "{raw:?} with {context:?}"),
                None => assert_eq!(sources(&a), [SRC_EXPECTED], "{raw:?} with {context:?}"),
            }
        }
    }

    #[test]
    fn fever_text_names_the_temperature_and_what_to_do() {
        let a = assess(CheckInInput { temperature: "38.4", ..calm() }, DEFAULT);
        assert_eq!(
            a.reasons[0].text(Language::English),
            "You have a fever of 38.4 °C. Call the number on your sheet now."
        );
        assert_eq!(
            a.reasons[0].text(Language::Spanish),
            "Tiene 38.4 °C de fiebre. Llame ahora al número de teléfono de su hoja."
        );
        let a = assess(CheckInInput { temperature: "37.8", ..calm() }, IMMUNO);
        let text = &a.reasons[0].text(Language::English);
        assert!(text.starts_with("Your temperature is 37.8 °C."), "{text}");
        assert!(text.contains("immune system is weak"), "{text}");
        assert!(text.contains("few white blood cells"), "{text}");
        assert!(text.contains("emergency"), "{text}");
        assert!(text.ends_with("Call the number on your sheet now."), "{text}");
    }

    #[test]
    fn bad_temperatures_name_the_field_in_plain_words() {
        for raw in [
            "abc", "60", "-5", "33.9", "43.1", "37.55", "37.", ".5", "3 7", "1000", "98.6", "37..5",
        ] {
            let err = CheckIn::parse(&CheckInInput { temperature: raw, ..calm() }).unwrap_err();
            assert_eq!(err.field, "temperature", "{raw:?}");
            assert_eq!(err.message, "Please type your temperature in °C. For example: 37.5");
            let err = CheckIn::parse_in(&CheckInInput { temperature: raw, ..calm() }, SPANISH)
                .unwrap_err();
            assert_eq!(err.field, "temperature", "{raw:?}");
            assert_eq!(err.message, Phrase::TemperatureHelp.text(SPANISH));
        }
    }

    #[test]
    fn blank_temperature_means_not_measured() {
        for raw in ["", "   "] {
            let c = CheckIn::parse(&CheckInInput { temperature: raw, ..calm() }).unwrap();
            assert_eq!(c.temperature, None);
        }
        let c = CheckIn::parse(&CheckInInput { temperature: "37.9", ..calm() }).unwrap();
        assert_eq!(c.temperature.map(Temperature::tenths_celsius), Some(379));
    }

    #[test]
    fn each_bleeding_level() {
        #[rustfmt::skip]
        let cases: &[(&str, Triage, &str)] = &[
            ("none", Triage::ExpectedRecovery, SRC_EXPECTED),
            ("spot", Triage::ExpectedRecovery, SRC_EXPECTED),
            ("stops-with-pressure", Triage::ExpectedRecovery, SRC_BLEEDING_PRESSURE),
            ("does-not-stop", Triage::CallNow, SRC_BLEEDING_NOT_STOPPING),
        ];
        for &(code, outcome, source) in cases {
            let a = assess(CheckInInput { bleeding: code, ..calm() }, DEFAULT);
            assert_eq!(a.outcome, outcome, "{code}");
            assert!(sources(&a).contains(&source), "{code}: {a:?}");
        }
        // Bleeding that stops: reassurance first, then the pressing advice.
        let a = assess(CheckInInput { bleeding: "stops-with-pressure", ..calm() }, DEFAULT);
        assert_eq!(sources(&a), [SRC_EXPECTED, SRC_BLEEDING_PRESSURE]);
        assert!(a.reasons[1].text(Language::English).contains("at least 10 minutes"));
    }

    #[test]
    fn each_pain_level() {
        #[rustfmt::skip]
        let cases: &[(&str, Triage, &str)] = &[
            ("none", Triage::ExpectedRecovery, SRC_EXPECTED),
            ("mild", Triage::ExpectedRecovery, SRC_EXPECTED),
            ("moderate", Triage::ContactWithinADay, SRC_PAIN_MODERATE),
            ("severe", Triage::CallNow, SRC_PAIN_SEVERE),
            ("getting-worse", Triage::CallNow, SRC_PAIN_SEVERE),
        ];
        for &(code, outcome, source) in cases {
            let a = assess(CheckInInput { pain: code, ..calm() }, DEFAULT);
            assert_eq!(a.outcome, outcome, "{code}");
            assert_eq!(sources(&a), [source], "{code}");
        }
        let a = assess(CheckInInput { pain: "getting-worse", ..calm() }, DEFAULT);
        let text = a.reasons[0].text(Language::English);
        assert!(text.contains("pain that is getting worse"), "{text}");
    }

    #[test]
    fn each_sign_at_the_site() {
        type Set = fn(&mut CheckInInput<'static>);
        #[rustfmt::skip]
        let cases: &[(&str, Set, Triage, &str)] = &[
            ("discharge", |i| i.discharge = true, Triage::CallNow, SRC_DISCHARGE),
            ("swelling", |i| i.swelling = true, Triage::ContactWithinADay, SRC_SWELLING),
            ("warmth", |i| i.warmth_or_redness = true, Triage::ContactWithinADay, SRC_WARMTH_REDNESS),
        ];
        for &(name, set, outcome, source) in cases {
            let mut input = calm();
            set(&mut input);
            let a = assess(input, DEFAULT);
            assert_eq!(a.outcome, outcome, "{name}");
            assert_eq!(sources(&a), [source], "{name}");
            assert_eq!(a.reasons[0].outcome, outcome, "{name}");
        }
    }

    #[test]
    fn the_worst_reason_wins_and_every_reason_is_listed_most_urgent_first() {
        let input = CheckInInput {
            temperature: "38.2",
            bleeding: "stops-with-pressure",
            discharge: true,
            swelling: true,
            warmth_or_redness: true,
            pain: "moderate",
            notes: "It itches.",
        };
        let a = assess(input, DEFAULT);
        assert_eq!(a.outcome, Triage::CallNow);
        assert_eq!(
            sources(&a),
            [
                SRC_FEVER,
                SRC_DISCHARGE,
                SRC_SWELLING,
                SRC_WARMTH_REDNESS,
                SRC_PAIN_MODERATE,
                SRC_BLEEDING_PRESSURE,
                SRC_NOTES,
            ]
        );

        // Within a day beats expected; no reassurance when something needs a call.
        let input = CheckInInput { swelling: true, pain: "moderate", ..calm() };
        let a = assess(input, DEFAULT);
        assert_eq!(a.outcome, Triage::ContactWithinADay);
        assert_eq!(sources(&a), [SRC_SWELLING, SRC_PAIN_MODERATE]);

        // Immunocompromised with a fever above the service threshold: one fever reason.
        let input = CheckInInput { temperature: "38.6", bleeding: "does-not-stop", ..calm() };
        let a = assess(input, IMMUNO);
        assert_eq!(sources(&a), [SRC_FEVER_IMMUNOCOMPROMISED, SRC_BLEEDING_NOT_STOPPING]);
        assert!(a.reasons.iter().all(|r| r.outcome == Triage::CallNow));
    }

    #[test]
    fn notes_are_kept_and_acknowledged_but_never_triaged() {
        let input = CheckInInput { notes: "  I feel tired.  ", ..calm() };
        let c = CheckIn::parse(&input).unwrap();
        assert_eq!(c.notes.as_deref(), Some("I feel tired."));
        let a = triage(&c, &DEFAULT);
        assert_eq!(a.outcome, Triage::ExpectedRecovery);
        assert_eq!(sources(&a), [SRC_EXPECTED, SRC_NOTES]);

        let long = "a".repeat(MAX_NOTES_CHARS + 1);
        let err = CheckIn::parse(&CheckInInput { notes: &long, ..calm() }).unwrap_err();
        assert_eq!(err.field, "notes");
        assert_eq!(err.message, "Your note is too long. Please use at most 1000 characters.");
        let err = CheckIn::parse_in(&CheckInInput { notes: &long, ..calm() }, SPANISH).unwrap_err();
        assert_eq!(err.message, "Su nota es demasiado larga. Use como máximo 1000 caracteres.");
        let err = CheckIn::parse(&CheckInInput { notes: "a\u{7}b", ..calm() }).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.as_str()),
            ("notes", Phrase::NotesInvalid.text(Language::English))
        );
        let ok = "a".repeat(MAX_NOTES_CHARS);
        assert!(CheckIn::parse(&CheckInInput { notes: &ok, ..calm() }).is_ok());
    }

    #[test]
    fn bad_choices_name_their_field() {
        #[rustfmt::skip]
        let cases: &[(CheckInInput<'static>, &str)] = &[
            (CheckInInput { bleeding: "lots", ..calm() }, "bleeding"),
            (CheckInInput { bleeding: "", ..calm() }, "bleeding"),
            (CheckInInput { pain: "terrible", ..calm() }, "pain"),
            (CheckInInput { pain: " ", ..calm() }, "pain"),
        ];
        for (input, field) in cases {
            let err = CheckIn::parse(input).unwrap_err();
            assert_eq!(err.field, *field, "{input:?}");
        }
        let err = CheckIn::parse(&CheckInInput { bleeding: "", ..calm() }).unwrap_err();
        assert_eq!(err.message, "Please choose one answer about bleeding.");
        let err = CheckIn::parse_in(&CheckInInput { pain: "lots", ..calm() }, SPANISH).unwrap_err();
        assert_eq!(err.message, "Por favor, elija una respuesta sobre el dolor.");
    }

    #[test]
    fn codes_round_trip_and_triage_is_ordered() {
        for &b in Bleeding::ALL {
            assert_eq!(Bleeding::parse(b.code()), Ok(b));
        }
        for &p in Pain::ALL {
            assert_eq!(Pain::parse(p.code()), Ok(p));
        }
        for &t in Triage::ALL {
            assert_eq!(Triage::parse(t.code()), Ok(t));
        }
        assert!(Triage::ExpectedRecovery < Triage::ContactWithinADay);
        assert!(Triage::ContactWithinADay < Triage::CallNow);
        assert_eq!(Triage::CallNow.code(), "call-now");
        assert_eq!(Triage::ContactWithinADay.label(), "Contact the team within a day");
    }

    #[test]
    fn temperature_displays_with_one_decimal() {
        assert_eq!(Temperature::parse("38").unwrap().to_string(), "38.0 °C");
        assert_eq!(Temperature::from_tenths_celsius(379).unwrap().to_string(), "37.9 °C");
        assert_eq!(Temperature::from_tenths_celsius(339), None);
        assert_eq!(Temperature::from_tenths_celsius(431), None);
    }
}
