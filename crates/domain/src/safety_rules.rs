//! The pre-procedure safety check engine: turns the recorded [`SafetyFacts`] into findings.
//!
//! [`evaluate`] is a pure function of the facts, the [`CheckContext`] (what is planned), the
//! [`SitePolicy`] (the site's thresholds and drug table) and `now`. Each [`Finding`] carries a
//! stable [`RuleId`], a [`Severity`], one plain sentence with the numbers, and the source it rests
//! on. Findings advise; they never state a diagnosis, and the final decision stays with the
//! clinician: a [`Severity::DoNotProceed`] finding blocks checking in only until a clinician
//! records an [`Override`] with a reason ([`blocks_checking`]).
//!
//! A rule that has nothing to say emits nothing: an unremarkable patient (no drugs, no
//! allergies, no sedation, not immunocompromised, results within limits or not needed) yields
//! **no findings**, and [`overall`] of no findings is [`Severity::Proceed`].
//!
//! Sources are cited from `shared/docs/clinical-reference.md` ("the reference") by section.
//! Bone marrow aspiration, with or without a trephine, is a *low* bleeding-risk procedure in SIR
//! 2019 (reference §5.1), so no rule here applies the high-risk platelet or INR limits to a
//! trephine; the high-risk drug column is a site's explicit choice ([`DrugPolicy`]).

use crate::FieldError;
use crate::order::Sampling;
use crate::required_text;
use crate::safety::{DrugClass, Inr, Medication, PlateletCount, SafetyFacts};
use crate::time::Timestamp;

code_enum! {
    /// How strongly a finding speaks against going ahead. Ordered: a later variant is worse.
    pub enum Severity : "severity" {
        Proceed => ("proceed", "Proceed"),
        ProceedWithCaution => ("caution", "Proceed with caution"),
        ReviewBeforeProcedure => ("review", "Review before the procedure"),
        DoNotProceed => ("do-not-proceed", "Do not proceed"),
    }
}

code_enum! {
    /// Which rule produced a finding. The codes are stored with overrides: never change one.
    pub enum RuleId : "rule" {
        PlateletsLow => ("platelets-low", "Platelet count below the site threshold"),
        AntiplateletThrombocytopenia =>
            ("antiplatelet-thrombocytopenia", "Antiplatelet drug with a low platelet count"),
        InrHigh => ("inr-high", "INR above the site limit"),
        InrRaised => ("inr-raised", "INR raised but within the site limit"),
        BloodsStale => ("bloods-stale", "Platelet count or INR too old"),
        BloodsMissing =>
            ("bloods-missing", "Platelet count or INR missing for a patient who needs them"),
        DrugNotWithheld => ("drug-not-withheld", "Drug not withheld under the site policy"),
        DrugHoldComplete => ("drug-hold-complete", "Drug hold complete"),
        DrugHoldWithinRange =>
            ("drug-hold-within-range", "Drug hold within the recommended range"),
        DrugHoldIncomplete => ("drug-hold-incomplete", "Drug hold not complete"),
        DrugInrAboveTarget => ("drug-inr-above-target", "INR above the drug policy's target"),
        DrugLastDoseUnknown => ("drug-last-dose-unknown", "Last dose of a held drug unknown"),
        CreatinineClearanceNeeded =>
            ("creatinine-clearance-needed", "Creatinine clearance needed for a drug hold"),
        DrugNoRecommendation =>
            ("drug-no-recommendation", "No policy recommendation for this drug"),
        DrugUnrecognised => ("drug-unrecognised", "Unrecognised drug in a bleeding-risk class"),
        AmideAnaestheticAllergy =>
            ("amide-anaesthetic-allergy", "Allergy to an amide local anaesthetic"),
        EsterAnaestheticAllergy =>
            ("ester-anaesthetic-allergy", "Allergy to an ester local anaesthetic"),
        AnaestheticAllergyUnclear =>
            ("anaesthetic-allergy-unclear", "Local anaesthetic allergy of unclear type"),
        SedationWithoutEscort => ("sedation-without-escort", "Sedation without an escort"),
        SedationFasting => ("sedation-fasting", "Sedation planned: fasting"),
        Immunocompromised => ("immunocompromised", "Immunocompromised: infection advice"),
    }
}

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule that produced it.
    pub rule: RuleId,
    /// How strongly it speaks against going ahead.
    pub severity: Severity,
    /// One plain sentence for the clinician, with the numbers.
    pub message: String,
    /// The citation the rule rests on.
    pub source: &'static str,
}

/// What is planned, beyond the recorded facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckContext {
    /// Aspirate only, or aspirate and trephine.
    pub sampling: Sampling,
    /// When the procedure is planned; `None` means now.
    pub procedure_at: Option<Timestamp>,
    /// Creatinine clearance in mL/min, where known; some drug holds depend on it (§5.2).
    pub creatinine_clearance_ml_min: Option<u32>,
}

code_enum! {
    /// Which column of the SIR 2019 drug table a site follows (reference §5.2).
    pub enum DrugPolicy : "drug_policy" {
        LowRiskSir2019 => ("sir-2019-low-risk", "SIR 2019, low-risk procedures"),
        HighRiskSir2019 => ("sir-2019-high-risk", "SIR 2019, high-risk procedures"),
    }
}

code_enum! {
    /// The drugs the policy table names (reference §5.2).
    pub enum Drug : "drug" {
        Aspirin => ("aspirin", "Aspirin"),
        Clopidogrel => ("clopidogrel", "Clopidogrel"),
        Prasugrel => ("prasugrel", "Prasugrel"),
        Ticagrelor => ("ticagrelor", "Ticagrelor"),
        Warfarin => ("warfarin", "Warfarin"),
        UnfractionatedHeparin => ("unfractionated-heparin", "Unfractionated heparin"),
        EnoxaparinProphylactic =>
            ("enoxaparin-prophylactic", "Enoxaparin (LMWH), prophylactic dose"),
        EnoxaparinTherapeutic =>
            ("enoxaparin-therapeutic", "Enoxaparin (LMWH), therapeutic dose"),
        Fondaparinux => ("fondaparinux", "Fondaparinux"),
        Apixaban => ("apixaban", "Apixaban"),
        Rivaroxaban => ("rivaroxaban", "Rivaroxaban"),
        Dabigatran => ("dabigatran", "Dabigatran"),
        Edoxaban => ("edoxaban", "Edoxaban"),
    }
}

impl Drug {
    /// The usual interval between doses in hours, used to turn a hold "in doses" into time
    /// when the dose text does not state a frequency. These come from the products' usual
    /// regimens, not from the reference; the dose text wins when it says how often.
    pub fn usual_interval_hours(self) -> u32 {
        match self {
            Drug::Apixaban | Drug::Dabigatran => 12,
            _ => 24,
        }
    }

    fn is_doac(self) -> bool {
        matches!(self, Drug::Apixaban | Drug::Rivaroxaban | Drug::Dabigatran | Drug::Edoxaban)
    }
}

/// How long a drug is held before the procedure. A range (`min`–`max`) is held as the policy
/// table gives it: less than `min` has not been held long enough; between the two is within the
/// recommended range and the clinician judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldPeriod {
    /// Hours since the last dose.
    Hours {
        /// Shortest hold.
        min: u32,
        /// Longest hold.
        max: u32,
    },
    /// Days since the last dose.
    Days {
        /// Shortest hold.
        min: u32,
        /// Longest hold.
        max: u32,
    },
    /// Doses missed: the procedure may go ahead once the last missed dose would have been due,
    /// that is `doses × interval` after the last dose taken.
    Doses {
        /// Fewest doses missed.
        min: u32,
        /// Most doses missed.
        max: u32,
    },
}

impl HoldPeriod {
    fn seconds(self, interval_hours: u32) -> (i64, i64) {
        let (min, max, unit) = match self {
            HoldPeriod::Hours { min, max } => (min, max, 3600),
            HoldPeriod::Days { min, max } => (min, max, 86_400),
            HoldPeriod::Doses { min, max } => (min, max, i64::from(interval_hours) * 3600),
        };
        (i64::from(min) * unit, i64::from(max) * unit)
    }

    fn describe(self) -> String {
        let (min, max, unit) = match self {
            HoldPeriod::Hours { min, max } => (min, max, "h"),
            HoldPeriod::Days { min, max } => (min, max, if max == 1 { "day" } else { "days" }),
            HoldPeriod::Doses { min, max } => (min, max, if max == 1 { "dose" } else { "doses" }),
        };
        if min == max { format!("{max} {unit}") } else { format!("{min}–{max} {unit}") }
    }
}

/// One renal-function band of a hold that depends on creatinine clearance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenalBand {
    /// The band applies when CrCl (mL/min) is at least this (and below the previous band's).
    pub crcl_at_least: u32,
    /// How the band is written, e.g. "CrCl ≥ 50".
    pub label: &'static str,
    /// The hold in this band.
    pub period: HoldPeriod,
}

/// What the site's drug table says about one drug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guidance {
    /// Do not withhold.
    DoNotWithhold,
    /// Do not withhold; keep the INR at or below `inr_max` (warfarin, low-risk).
    InrTarget {
        /// The INR target.
        inr_max: Inr,
    },
    /// Withhold for this long.
    Hold(HoldPeriod),
    /// Withhold for this long and until the INR is at or below `inr_max` (warfarin, high-risk).
    HoldThenInr {
        /// The hold.
        period: HoldPeriod,
        /// The INR target.
        inr_max: Inr,
    },
    /// Withhold for a time that depends on creatinine clearance; bands from the highest CrCl
    /// down. A CrCl below the last band has no recommendation.
    HoldByRenalFunction(Vec<RenalBand>),
    /// The table makes no recommendation.
    NoRecommendation,
}

/// One row of the site's drug table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugRule {
    /// The drug.
    pub drug: Drug,
    /// What to do with it.
    pub guidance: Guidance,
    /// The table's own words, quoted in messages.
    pub summary: &'static str,
    /// Citation for the row.
    pub source: &'static str,
}

/// The site's drug table: one row per [`Drug`], seeded from one SIR 2019 column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugTable {
    /// The column the rows were seeded from.
    pub policy: DrugPolicy,
    /// The rows; a site may edit them, citing its own policy.
    pub rules: Vec<DrugRule>,
}

/// SIR 2019 drug table, low-risk column (reference §5.2). Only one source transcribes it, so the
/// reference tags it [S], to verify against the JVIR text (reference §9 item 4).
const SIR_2019_LOW_RISK_DRUGS: &str = "SIR 2019 consensus (Patel et al., J Vasc Interv Radiol \
     2019;30:1168–1184), drug table, low-risk column as transcribed [S]; other guidance differs \
     (ACC/AHA 2023 AF guideline holds DOACs 1 day before low-bleeding-risk procedures); clinical \
     reference §5.2; firm pressure ≥ 10 min for patients with bleeding problems (WebMD [S]), \
     clinical reference §6.4";
/// SIR 2019 drug table, high-risk column (reference §5.2).
const SIR_2019_HIGH_RISK_DRUGS: &str = "SIR 2019 consensus (Patel et al., J Vasc Interv Radiol \
     2019;30:1168–1184), drug table, high-risk column as transcribed [S]; weigh thrombotic risk, \
     with a multidisciplinary decision for high thrombotic-risk or complex patients [S×2]; \
     clinical reference §5.2";

impl DrugTable {
    /// The SIR 2019 table, one column (reference §5.2).
    pub fn sir_2019(policy: DrugPolicy) -> Self {
        let rules = Drug::ALL.iter().map(|&drug| sir_2019_rule(drug, policy)).collect();
        Self { policy, rules }
    }

    /// The row for `drug`, if the table has one.
    pub fn rule(&self, drug: Drug) -> Option<&DrugRule> {
        self.rules.iter().find(|r| r.drug == drug)
    }
}

fn sir_2019_rule(drug: Drug, policy: DrugPolicy) -> DrugRule {
    use Guidance::{DoNotWithhold, Hold, HoldByRenalFunction, HoldThenInr, InrTarget};
    use HoldPeriod::{Days, Doses, Hours};
    let band = |crcl_at_least, label, period| RenalBand { crcl_at_least, label, period };
    let (guidance, summary) = match policy {
        // Reference §5.2, low-risk column: every listed drug "do not withhold", except warfarin
        // (target INR ≤ 3.0, range 2.0–3.0; bridging only if high thrombotic risk).
        DrugPolicy::LowRiskSir2019 => match drug {
            Drug::Warfarin => (
                InrTarget { inr_max: Inr::from_hundredths(300) },
                "range 2.0–3.0; consider bridging only if high thrombotic risk",
            ),
            _ => (DoNotWithhold, "do not withhold"),
        },
        // Reference §5.2, high-risk column.
        DrugPolicy::HighRiskSir2019 => match drug {
            Drug::Aspirin => (Hold(Days { min: 3, max: 5 }), "withhold 3–5 days"),
            Drug::Clopidogrel => (Hold(Days { min: 5, max: 5 }), "withhold 5 days"),
            Drug::Prasugrel => (Hold(Days { min: 7, max: 7 }), "withhold 7 days"),
            // Many sources say 3–5 days [U]; the table as transcribed says 5.
            Drug::Ticagrelor => (Hold(Days { min: 5, max: 5 }), "withhold 5 days"),
            Drug::Warfarin => (
                HoldThenInr { period: Days { min: 5, max: 5 }, inr_max: Inr::from_hundredths(180) },
                "withhold 5 days to INR ≤ 1.8",
            ),
            // IV: stop 4–6 h and check aPTT/anti-Xa; SC twice or three times daily: 6 h.
            Drug::UnfractionatedHeparin => (
                Hold(Hours { min: 4, max: 6 }),
                "IV: stop 4–6 h before and check aPTT/anti-Xa; SC twice or three times daily: \
                 6 h after the last dose",
            ),
            Drug::EnoxaparinProphylactic => (Hold(Doses { min: 1, max: 1 }), "withhold 1 dose"),
            Drug::EnoxaparinTherapeutic => (
                Hold(Hours { min: 24, max: 24 }),
                "withhold 2 doses / 24 h (anti-Xa if renal impairment)",
            ),
            Drug::Fondaparinux => (
                HoldByRenalFunction(vec![
                    band(50, "CrCl ≥ 50", Days { min: 2, max: 3 }),
                    band(0, "CrCl < 50", Days { min: 3, max: 5 }),
                ]),
                "withhold 2–3 days (CrCl ≥ 50) / 3–5 days (CrCl < 50)",
            ),
            Drug::Apixaban => (
                HoldByRenalFunction(vec![
                    band(50, "CrCl ≥ 50", Doses { min: 4, max: 4 }),
                    band(0, "CrCl < 50", Doses { min: 6, max: 6 }),
                ]),
                "withhold 4 doses (CrCl ≥ 50) / 6 doses (CrCl < 50)",
            ),
            Drug::Rivaroxaban => (
                HoldByRenalFunction(vec![
                    band(30, "CrCl ≥ 30", Doses { min: 2, max: 2 }),
                    band(15, "CrCl 15–29", Doses { min: 3, max: 3 }),
                ]),
                "withhold 2 doses (CrCl ≥ 30) / 3 doses (CrCl 15–29)",
            ),
            Drug::Dabigatran => (
                HoldByRenalFunction(vec![
                    band(50, "CrCl ≥ 50", Doses { min: 4, max: 4 }),
                    band(0, "CrCl < 50", Doses { min: 6, max: 8 }),
                ]),
                "withhold 4 doses (CrCl ≥ 50) / 6–8 doses (CrCl < 50)",
            ),
            Drug::Edoxaban => (Hold(Doses { min: 2, max: 2 }), "withhold 2 doses"),
        },
    };
    let source = match policy {
        DrugPolicy::LowRiskSir2019 => SIR_2019_LOW_RISK_DRUGS,
        DrugPolicy::HighRiskSir2019 => SIR_2019_HIGH_RISK_DRUGS,
    };
    DrugRule { drug, guidance, summary, source }
}

/// A site's thresholds and drug table. [`Default`] gives the reference's values, each next to
/// its citation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePolicy {
    /// A platelet count below this is [`Severity::DoNotProceed`].
    pub platelets_min: PlateletCount,
    /// An INR above this is [`Severity::DoNotProceed`].
    pub inr_max: Inr,
    /// An INR above this (and at most [`inr_max`](Self::inr_max)) is a caution.
    pub inr_caution_above: Inr,
    /// Platelet count and INR older than this many hours at the planned time need review.
    pub bloods_max_age_hours: u32,
    /// The drug table.
    pub drugs: DrugTable,
    /// On an antiplatelet drug with platelets below this: a caution. `None` turns the rule off.
    pub antiplatelet_platelets_caution_below: Option<PlateletCount>,
    /// Fever threshold for the aftercare advice, in tenths of a °C.
    pub fever_threshold_tenths_celsius: u16,
}

impl Default for SitePolicy {
    fn default() -> Self {
        Self {
            // SIR 2019, low-risk procedures (BMA is one): transfuse if platelets < 20 ×10⁹/L
            // [S×3]; reference §5.1.
            platelets_min: PlateletCount::from_per_nanolitre(20),
            // SIR 2019, low-risk: correct INR to ≤ 2.0–3.0 [S×3]; reference §5.1. We read the
            // range as: above 3.0 do not proceed; above 2.0 up to 3.0 proceed with caution.
            inr_max: Inr::from_hundredths(300),
            inr_caution_above: Inr::from_hundredths(200),
            // LOCAL POLICY CHOICE, not from the reference: results up to 72 h old are accepted.
            // SIR gives no maximum age; a site sets its own.
            bloods_max_age_hours: 72,
            // SIR 2019 drug table, low-risk column (reference §5.2: "encode … as a
            // site-configurable policy table seeded from SIR 2019 (low-risk column)").
            drugs: DrugTable::sir_2019(DrugPolicy::LowRiskSir2019),
            // Bain 2003/2005 name aspirin and thrombocytopenia as haemorrhage risk factors
            // (reference §5.3) but give no platelet number, so the rule is off until a site
            // sets one.
            antiplatelet_platelets_caution_below: None,
            // Reference §8: default red-flag threshold 38.0 °C, configurable per service.
            fever_threshold_tenths_celsius: 380,
        }
    }
}

const SIR_LOW_RISK_LABS: &str = "SIR 2019 consensus (Patel et al., J Vasc Interv Radiol \
     2019;30:1168–1184), low-risk procedures; clinical reference §5.1";
const LOCAL_RESULT_AGE: &str = "Local site policy (the 72 h default is Marrow's choice, not from \
     the clinical reference); clinical reference §5.1 for when results are needed";
const BAIN_RISK_FACTORS: &str = "Bain BJ, Br J Haematol 2003;121:949–951 and J Clin Pathol \
     2005;58:406–408 (haemorrhage risk factors: myeloproliferative disorder, aspirin, platelet \
     dysfunction, thrombocytopenia), clinical reference §5.3; firm pressure ≥ 10 min for \
     patients with bleeding problems (WebMD [S]), clinical reference §6.4";
const UNRECOGNISED_DRUG: &str = "Site drug table seeded from SIR 2019 (Patel et al., J Vasc \
     Interv Radiol 2019;30:1168–1184); clinical reference §5.2";
const LOCAL_ANAESTHETIC_ALLERGY: &str = "Finucane BT, Allergies to local anesthetics — the real \
     truth, Can J Anaesth 2003; Bartfield JM et al., Ann Emerg Med 1998; Pavlidakey PG et al., J \
     Clin Aesthet Dermatol 2009;2(10):37–40; clinical reference §6.2";
const ESCORT: &str = "Escort after sedation [S×3] (Cleveland Clinic; WebMD; Aurora via \
     Sharecare; Kingston Hospital); clinical reference §6.2";
const FASTING: &str = "ASA pre-procedure fasting guideline, 2017 update (Anesthesiology 2017) \
     [S×3]; ASA Practice Guidelines for Moderate Procedural Sedation and Analgesia, \
     Anesthesiology 2018;128:437–479; local practice varies; clinical reference §6.2";
const INFECTION: &str = "Cleveland Clinic BMA page (higher infection risk with weakened \
     immunity), clinical reference §6.4; red flags and fever thresholds (Cleveland Clinic; NHLBI; \
     IDSA febrile neutropenia), clinical reference §8";

/// Evaluates every rule. Pure: the same inputs give the same findings, in rule order.
pub fn evaluate(
    facts: &SafetyFacts,
    context: &CheckContext,
    policy: &SitePolicy,
    now: Timestamp,
) -> Vec<Finding> {
    let at = context.procedure_at.unwrap_or(now);
    let mut findings = Vec::new();
    let drugs: Vec<(&Medication, Option<Drug>)> =
        facts.medications.iter().map(|m| (m, identify(m))).collect();
    blood_results(facts, context, policy, at, &drugs, &mut findings);
    for (medication, drug) in &drugs {
        drug_finding(medication, *drug, facts, context, policy, now, at, &mut findings);
    }
    anaesthetic_allergies(&facts.allergies, &mut findings);
    sedation(facts, &mut findings);
    if facts.immunocompromised {
        let fever = policy.fever_threshold_tenths_celsius;
        findings.push(Finding {
            rule: RuleId::Immunocompromised,
            severity: Severity::ProceedWithCaution,
            message: format!(
                "The patient is immunocompromised, so infection after the procedure is more \
                 likely: keep the site clean and dry for at least 24 h and tell the patient to \
                 call promptly for a temperature of {}.{} °C or more, discharge, swelling, \
                 warmth, redness or increasing pain; any fever in a neutropenic patient goes to \
                 the febrile-neutropenia pathway.",
                fever / 10,
                fever % 10
            ),
            source: INFECTION,
        });
    }
    findings
}

/// The worst severity among `findings`; [`Severity::Proceed`] when there are none.
pub fn overall(findings: &[Finding]) -> Severity {
    findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Proceed)
}

/// Whether the findings stop the patient being checked in: true when a
/// [`Severity::DoNotProceed`] finding's rule has no [`Override`]. One override covers every
/// finding of its rule (e.g. all `drug-hold-incomplete` findings).
pub fn blocks_checking(findings: &[Finding], overrides: &[Override]) -> bool {
    findings
        .iter()
        .filter(|f| f.severity == Severity::DoNotProceed)
        .any(|f| !overrides.iter().any(|o| o.rule == f.rule))
}

/// A clinician's decision to go ahead despite a [`Severity::DoNotProceed`] finding. The reason is
/// required, so it can only be built by [`Override::new`] or [`Override::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    rule: RuleId,
    reason: String,
}

impl Override {
    /// An override of `rule`; the reason is required (field `reason`, at most 1000 characters).
    pub fn new(rule: RuleId, reason: &str) -> Result<Self, FieldError> {
        Ok(Self { rule, reason: required_text("reason", reason, 1000)? })
    }

    /// Parses a rule code (field `rule`) and a reason (field `reason`).
    pub fn parse(rule: &str, reason: &str) -> Result<Self, FieldError> {
        Self::new(RuleId::parse(rule)?, reason)
    }

    /// The overridden rule.
    pub fn rule(&self) -> RuleId {
        self.rule
    }

    /// Why the clinician went ahead.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Which drug of the policy table a medication is, by name (case-insensitive, generic or common
/// brand name). `None` when the name matches none; the class then decides whether that matters.
pub fn identify(medication: &Medication) -> Option<Drug> {
    let name = medication.name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    // LMWH before heparin: "low molecular weight heparin" contains "heparin".
    if has(&["enoxaparin", "clexane", "lovenox", "lmwh", "low molecular weight heparin"])
        || has(&["low-molecular-weight heparin"])
    {
        let dose = medication.dose.to_lowercase();
        // A prophylactic dose is held for 1 dose, a therapeutic one for 24 h; when the dose
        // text does not say "prophylactic" we take the longer hold.
        return Some(if dose.contains("prophyla") || name.contains("prophyla") {
            Drug::EnoxaparinProphylactic
        } else {
            Drug::EnoxaparinTherapeutic
        });
    }
    let table: &[(&[&str], Drug)] = &[
        (&["aspirin", "acetylsalicylic"], Drug::Aspirin),
        (&["clopidogrel", "plavix"], Drug::Clopidogrel),
        (&["prasugrel", "effient", "efient"], Drug::Prasugrel),
        (&["ticagrelor", "brilinta", "brilique"], Drug::Ticagrelor),
        (&["warfarin", "coumadin", "marevan"], Drug::Warfarin),
        (&["heparin"], Drug::UnfractionatedHeparin),
        (&["fondaparinux", "arixtra"], Drug::Fondaparinux),
        (&["apixaban", "eliquis"], Drug::Apixaban),
        (&["rivaroxaban", "xarelto"], Drug::Rivaroxaban),
        (&["dabigatran", "pradaxa"], Drug::Dabigatran),
        (&["edoxaban", "lixiana", "savaysa"], Drug::Edoxaban),
    ];
    table.iter().find(|(words, _)| has(words)).map(|&(_, drug)| drug)
}

fn blood_results(
    facts: &SafetyFacts,
    context: &CheckContext,
    policy: &SitePolicy,
    at: Timestamp,
    drugs: &[(&Medication, Option<Drug>)],
    findings: &mut Vec<Finding>,
) {
    if let Some(platelets) = facts.platelets {
        if platelets < policy.platelets_min {
            findings.push(Finding {
                rule: RuleId::PlateletsLow,
                severity: Severity::DoNotProceed,
                message: format!(
                    "Platelets {} ×10⁹/L are below this site's threshold of {} ×10⁹/L for a \
                     low-risk procedure such as BMA; SIR 2019 advises transfusion below 20.",
                    platelets.per_nanolitre(),
                    policy.platelets_min.per_nanolitre()
                ),
                source: SIR_LOW_RISK_LABS,
            });
        }
        let antiplatelet = drugs.iter().find(|(m, d)| {
            m.class == DrugClass::Antiplatelet
                || matches!(
                    d,
                    Some(Drug::Aspirin | Drug::Clopidogrel | Drug::Prasugrel | Drug::Ticagrelor)
                )
        });
        if let (Some((medication, _)), Some(below)) =
            (antiplatelet, policy.antiplatelet_platelets_caution_below)
            && platelets < below
        {
            let trephine = match context.sampling {
                Sampling::AspirateAndTrephine => " An aspirate and trephine is planned.",
                Sampling::AspirateOnly => "",
            };
            findings.push(Finding {
                rule: RuleId::AntiplateletThrombocytopenia,
                severity: Severity::ProceedWithCaution,
                message: format!(
                    "{}, an antiplatelet drug, with platelets {} ×10⁹/L (below this site's {} \
                     ×10⁹/L): aspirin, platelet dysfunction and thrombocytopenia were among the \
                     commonest risk factors for haemorrhage after marrow biopsy in the BSH \
                     surveys, so apply firm pressure for at least 10 minutes.{trephine}",
                    medication.name,
                    platelets.per_nanolitre(),
                    below.per_nanolitre()
                ),
                source: BAIN_RISK_FACTORS,
            });
        }
    }
    if let Some(inr) = facts.inr {
        if inr > policy.inr_max {
            findings.push(Finding {
                rule: RuleId::InrHigh,
                severity: Severity::DoNotProceed,
                message: format!(
                    "INR {inr} is above this site's limit of {} for a low-risk procedure such as \
                     BMA; SIR 2019 advises correcting it to 2.0–3.0 or below.",
                    policy.inr_max
                ),
                source: SIR_LOW_RISK_LABS,
            });
        } else if inr > policy.inr_caution_above {
            findings.push(Finding {
                rule: RuleId::InrRaised,
                severity: Severity::ProceedWithCaution,
                message: format!(
                    "INR {inr} is above {} but within this site's limit of {}; SIR 2019 accepts \
                     up to 2.0–3.0 for low-risk procedures.",
                    policy.inr_caution_above, policy.inr_max
                ),
                source: SIR_LOW_RISK_LABS,
            });
        }
    }
    if let Some(taken) = facts.bloods_taken_at {
        let age = at.unix() - taken.unix();
        let max = i64::from(policy.bloods_max_age_hours) * 3600;
        if age > max {
            findings.push(Finding {
                rule: RuleId::BloodsStale,
                severity: Severity::ReviewBeforeProcedure,
                message: format!(
                    "The platelet count and INR were taken {} before the planned procedure; \
                     this site accepts results up to {} h old, so repeat or review them.",
                    duration(age),
                    policy.bloods_max_age_hours
                ),
                source: LOCAL_RESULT_AGE,
            });
        }
    }
    // SIR 2019, low-risk: labs not routinely recommended; consider them for patients on warfarin
    // or unfractionated heparin (reference §5.1).
    let needs_labs = drugs.iter().find(|(m, d)| {
        matches!(d, Some(Drug::Warfarin | Drug::UnfractionatedHeparin))
            || (d.is_none() && m.class == DrugClass::VitaminKAntagonist)
    });
    if let Some((medication, _)) = needs_labs {
        let missing: Vec<&str> = [
            facts.platelets.is_none().then_some("platelet count"),
            facts.inr.is_none().then_some("INR"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !missing.is_empty() {
            findings.push(Finding {
                rule: RuleId::BloodsMissing,
                severity: Severity::ReviewBeforeProcedure,
                message: format!(
                    "The patient takes {} and there is no {}; SIR 2019 advises checking them for \
                     patients on warfarin or unfractionated heparin.",
                    medication.name,
                    missing.join(" or ")
                ),
                source: SIR_LOW_RISK_LABS,
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn drug_finding(
    medication: &Medication,
    drug: Option<Drug>,
    facts: &SafetyFacts,
    context: &CheckContext,
    policy: &SitePolicy,
    now: Timestamp,
    at: Timestamp,
    findings: &mut Vec<Finding>,
) {
    let name = &medication.name;
    let rule = drug.and_then(|d| policy.drugs.rule(d));
    let (Some(drug), Some(rule)) = (drug, rule) else {
        if medication.class != DrugClass::Other {
            findings.push(Finding {
                rule: RuleId::DrugUnrecognised,
                severity: Severity::ReviewBeforeProcedure,
                message: format!(
                    "{name} is recorded as {} but is not in this site's drug table; review \
                     whether and how long to hold it.",
                    medication.class.label().to_lowercase()
                ),
                source: UNRECOGNISED_DRUG,
            });
        }
        return;
    };
    let column = policy.drugs.policy.label();
    let says = match policy.drugs.policy {
        DrugPolicy::LowRiskSir2019 => {
            "SIR 2019 does not withhold it for low-risk procedures such as BMA".to_owned()
        }
        DrugPolicy::HighRiskSir2019 => {
            format!("this site's drug table ({column}) does not withhold it")
        }
    };
    let mut push = |rule_id, severity, message| {
        findings.push(Finding { rule: rule_id, severity, message, source: rule.source });
    };
    let period = match &rule.guidance {
        Guidance::DoNotWithhold => {
            let other = if drug.is_doac() {
                " Other guidance differs: ACC/AHA 2023 holds DOACs 1 day before \
                 low-bleeding-risk procedures, so follow local policy."
            } else {
                ""
            };
            let message = format!(
                "{name}: {says}; it is still active, so apply firm pressure for at least 10 \
                 minutes.{other}"
            );
            push(RuleId::DrugNotWithheld, Severity::ProceedWithCaution, message);
            return;
        }
        Guidance::InrTarget { inr_max } => {
            let latest = facts.inr.map_or("no INR recorded".to_owned(), |i| format!("INR {i}"));
            let message = format!(
                "{name}: {says}; target INR ≤ {inr_max} ({}); latest {latest}.",
                rule.summary
            );
            push(RuleId::DrugNotWithheld, Severity::ProceedWithCaution, message);
            return;
        }
        Guidance::NoRecommendation => {
            let message =
                format!("{name}: {column} makes no recommendation; review before the procedure.");
            push(RuleId::DrugNoRecommendation, Severity::ReviewBeforeProcedure, message);
            return;
        }
        Guidance::Hold(period) => (*period, None),
        Guidance::HoldThenInr { period, inr_max } => (*period, Some(*inr_max)),
        Guidance::HoldByRenalFunction(bands) => {
            let Some(crcl) = context.creatinine_clearance_ml_min else {
                let message = format!(
                    "{name}: the hold depends on renal function ({}); enter the creatinine \
                     clearance.",
                    rule.summary
                );
                push(RuleId::CreatinineClearanceNeeded, Severity::ReviewBeforeProcedure, message);
                return;
            };
            let Some(band) = bands.iter().find(|b| crcl >= b.crcl_at_least) else {
                let message = format!(
                    "{name}: {column} makes no recommendation at CrCl {crcl} mL/min ({}); \
                     review before the procedure.",
                    rule.summary
                );
                push(RuleId::DrugNoRecommendation, Severity::ReviewBeforeProcedure, message);
                return;
            };
            return hold(
                medication,
                drug,
                band.period,
                Some(band.label),
                rule.summary,
                (now, at),
                &mut push,
            );
        }
    };
    let (period, inr_max) = period;
    hold(medication, drug, period, None, rule.summary, (now, at), &mut push);
    if let (Some(inr_max), Some(inr)) = (inr_max, facts.inr)
        && inr > inr_max
    {
        let message = format!(
            "{name}: the drug table ({column}) holds it until INR ≤ {inr_max}; latest INR {inr} \
             is above that."
        );
        push(RuleId::DrugInrAboveTarget, Severity::DoNotProceed, message);
    }
}

fn hold(
    medication: &Medication,
    drug: Drug,
    period: HoldPeriod,
    band: Option<&str>,
    summary: &str,
    (now, at): (Timestamp, Timestamp),
    push: &mut impl FnMut(RuleId, Severity, String),
) {
    let name = &medication.name;
    let interval = dose_interval_hours(&medication.dose).unwrap_or(drug.usual_interval_hours());
    let (min, max) = period.seconds(interval);
    let mut notes: Vec<String> = band.map(str::to_owned).into_iter().collect();
    // An hours-based hold (heparin IV/SC, therapeutic LMWH) carries conditions only the table's
    // own words state (aPTT/anti-Xa checks), so quote them.
    if let HoldPeriod::Hours { .. } = period {
        notes.push(summary.to_owned());
    }
    if let HoldPeriod::Doses { .. } = period {
        let span =
            if min == max { duration(max) } else { format!("{}–{} h", min / 3600, max / 3600) };
        notes.push(format!("one dose every {interval} h, so {span}"));
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    let head = format!("{name}: hold {}{notes} before the procedure", period.describe());
    let Some(last) = medication.last_dose_at else {
        push(
            RuleId::DrugLastDoseUnknown,
            Severity::ReviewBeforeProcedure,
            format!("{head}; the time of the last dose is not recorded."),
        );
        return;
    };
    let since_now = duration(now.unix() - last.unix());
    let elapsed = at.unix() - last.unix();
    let (rule, severity, tail) = if elapsed < min {
        (
            RuleId::DrugHoldIncomplete,
            Severity::DoNotProceed,
            format!("{} more are needed before the planned time", duration(min - elapsed)),
        )
    } else if elapsed < max {
        (
            RuleId::DrugHoldWithinRange,
            Severity::ProceedWithCaution,
            format!(
                "the planned time is within the recommended range, {} short of its longer end",
                duration(max - elapsed)
            ),
        )
    } else {
        (RuleId::DrugHoldComplete, Severity::Proceed, "the hold is complete".to_owned())
    };
    push(rule, severity, format!("{head}; last dose {since_now} ago, so {tail}."));
}

/// The dosing interval the dose text states, if it states one.
fn dose_interval_hours(dose: &str) -> Option<u32> {
    let dose = dose.to_lowercase();
    let words: Vec<&str> = dose.split(|c: char| !c.is_alphanumeric()).collect();
    let word = |w: &[&str]| words.iter().any(|x| w.contains(x));
    let phrase = |p: &[&str]| p.iter().any(|x| dose.contains(x));
    if word(&["bd", "bid"]) || phrase(&["twice", "12 hourly", "12-hourly", "every 12"]) {
        Some(12)
    } else if word(&["tds", "tid"]) || phrase(&["three times", "8 hourly", "8-hourly", "every 8"]) {
        Some(8)
    } else if word(&["od", "qd", "daily", "nocte", "mane"])
        || phrase(&["once a day", "24 hourly", "24-hourly", "every 24"])
    {
        Some(24)
    } else {
        None
    }
}

/// "20 h", "3 h 15 min", "45 min".
fn duration(secs: i64) -> String {
    let minutes = secs.max(0) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AnaestheticAllergy {
    Unclear,
    Ester,
    Amide,
}

fn classify_allergy(text: &str) -> Option<AnaestheticAllergy> {
    let text = text.to_lowercase();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
    let has = |names: &[&str]| names.iter().any(|n| text.contains(n));
    // Amide agents (reference §6.2: lidocaine is the default; articaine was trialled). The bare
    // word "amide" is matched as a word so that, e.g., "sulfonamide" does not count.
    let amide = [
        "lidocaine",
        "lignocaine",
        "xylocaine",
        "bupivacaine",
        "ropivacaine",
        "prilocaine",
        "mepivacaine",
        "articaine",
    ];
    if has(&amide) || words.iter().any(|w| matches!(*w, "amide" | "amides")) {
        return Some(AnaestheticAllergy::Amide);
    }
    let ester = ["procaine", "benzocaine", "tetracaine", "amethocaine"];
    if has(&ester) || words.iter().any(|w| matches!(*w, "ester" | "esters")) {
        return Some(AnaestheticAllergy::Ester);
    }
    let local = ["local anaesthe", "local anesthe"];
    if text.contains("caine") || has(&local) {
        return Some(AnaestheticAllergy::Unclear);
    }
    None
}

fn anaesthetic_allergies(allergies: &[String], findings: &mut Vec<Finding>) {
    let of = |kind| -> Vec<&str> {
        allergies.iter().filter(|a| classify_allergy(a) == Some(kind)).map(String::as_str).collect()
    };
    let amide = of(AnaestheticAllergy::Amide);
    let ester = of(AnaestheticAllergy::Ester);
    let unclear = of(AnaestheticAllergy::Unclear);
    if !amide.is_empty() {
        let ester_option = if ester.is_empty() {
            "an ester agent such as procaine or chloroprocaine (if there is no ester allergy)"
        } else {
            "not an ester agent, as an ester allergy is also recorded"
        };
        findings.push(Finding {
            rule: RuleId::AmideAnaestheticAllergy,
            severity: Severity::DoNotProceed,
            message: format!(
                "Allergy recorded to an amide local anaesthetic ({}), so the default lidocaine \
                 must not be used: plan an explicit alternative — {ester_option}, 0.9 % benzyl \
                 alcohol (bacteriostatic saline) with adrenaline, or 1 % diphenhydramine — with \
                 sedation or general anaesthesia where needed, and consider referral for allergy \
                 testing.",
                amide.join("; ")
            ),
            source: LOCAL_ANAESTHETIC_ALLERGY,
        });
    }
    if !unclear.is_empty() {
        findings.push(Finding {
            rule: RuleId::AnaestheticAllergyUnclear,
            severity: Severity::ReviewBeforeProcedure,
            message: format!(
                "A local anaesthetic allergy is recorded without saying which agent ({}): find \
                 out whether it was an amide such as lidocaine (true allergy is rare; many \
                 reactions are vasovagal) before using the default lidocaine.",
                unclear.join("; ")
            ),
            source: LOCAL_ANAESTHETIC_ALLERGY,
        });
    }
    if !ester.is_empty() {
        findings.push(Finding {
            rule: RuleId::EsterAnaestheticAllergy,
            severity: Severity::ProceedWithCaution,
            message: format!(
                "Allergy recorded to an ester local anaesthetic ({}): esters are PABA \
                 derivatives and paraben preservatives can cross-react, so check that the \
                 lidocaine preparation is free of parabens.",
                ester.join("; ")
            ),
            source: LOCAL_ANAESTHETIC_ALLERGY,
        });
    }
}

fn sedation(facts: &SafetyFacts, findings: &mut Vec<Finding>) {
    if !facts.sedation_planned {
        return;
    }
    if !facts.escort_arranged {
        findings.push(Finding {
            rule: RuleId::SedationWithoutEscort,
            severity: Severity::DoNotProceed,
            message: "Sedation is planned but no responsible adult is arranged to take the \
                      patient home; after sedation the patient must not drive, operate \
                      machinery, make legal decisions or drink alcohol for 24 h."
                .to_owned(),
            source: ESCORT,
        });
    }
    findings.push(Finding {
        rule: RuleId::SedationFasting,
        severity: Severity::ProceedWithCaution,
        message: "Sedation is planned: tell the patient in advance to fast (ASA 2017: clear \
                  liquids 2 h; breast milk 4 h; infant formula, non-human milk or a light meal \
                  6 h; fried or fatty food or meat 8 h), check the time and nature of the last \
                  intake on the day, and do not delay an urgent procedure on fasting time alone."
            .to_owned(),
        source: FASTING,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::{Medication, PlateletCount};

    fn now() -> Timestamp {
        Timestamp::parse("now", "2026-11-24T12:00:00Z").unwrap()
    }

    fn minutes_ago(m: i64) -> Timestamp {
        now().plus_seconds(-m * 60)
    }

    fn hours_ago(h: i64) -> Timestamp {
        minutes_ago(h * 60)
    }

    fn platelets(n: u32) -> Option<PlateletCount> {
        Some(PlateletCount::parse(&n.to_string()).unwrap())
    }

    fn inr(raw: &str) -> Option<Inr> {
        Some(Inr::parse(raw).unwrap())
    }

    /// An unremarkable synthetic patient: normal bloods taken this morning, nothing else.
    fn clean() -> SafetyFacts {
        SafetyFacts {
            platelets: platelets(250),
            inr: inr("1.0"),
            bloods_taken_at: Some(hours_ago(4)),
            ..SafetyFacts::default()
        }
    }

    fn context() -> CheckContext {
        CheckContext {
            sampling: Sampling::AspirateOnly,
            procedure_at: None,
            creatinine_clearance_ml_min: None,
        }
    }

    fn high_risk() -> SitePolicy {
        SitePolicy {
            drugs: DrugTable::sir_2019(DrugPolicy::HighRiskSir2019),
            ..SitePolicy::default()
        }
    }

    fn med(name: &str, class: DrugClass, dose: &str, last: Option<Timestamp>) -> Medication {
        Medication { name: name.to_owned(), class, dose: dose.to_owned(), last_dose_at: last }
    }

    fn on(medication: Medication) -> SafetyFacts {
        SafetyFacts { medications: vec![medication], ..clean() }
    }

    fn check(facts: &SafetyFacts) -> Vec<Finding> {
        evaluate(facts, &context(), &SitePolicy::default(), now())
    }

    fn rules(findings: &[Finding]) -> Vec<(RuleId, Severity)> {
        findings.iter().map(|f| (f.rule, f.severity)).collect()
    }

    fn only(findings: &[Finding]) -> (RuleId, Severity) {
        assert_eq!(findings.len(), 1, "expected one finding: {findings:#?}");
        (findings[0].rule, findings[0].severity)
    }

    #[test]
    fn an_unremarkable_patient_yields_no_findings_and_proceeds() {
        let findings = check(&clean());
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(overall(&findings), Severity::Proceed);
        assert!(!blocks_checking(&findings, &[]));
        // No bloods at all is unremarkable too: SIR 2019 does not routinely recommend them for
        // low-risk procedures unless the patient is on warfarin or unfractionated heparin.
        assert!(check(&SafetyFacts::default()).is_empty());
        // Nor does a trephine with a platelet count above the site threshold add anything.
        let trephine = CheckContext { sampling: Sampling::AspirateAndTrephine, ..context() };
        let facts = SafetyFacts { platelets: platelets(30), ..clean() };
        assert!(evaluate(&facts, &trephine, &SitePolicy::default(), now()).is_empty());
    }

    #[test]
    fn default_policy_carries_the_reference_values() {
        let p = SitePolicy::default();
        assert_eq!(p.platelets_min.per_nanolitre(), 20);
        assert_eq!(p.inr_max.hundredths(), 300);
        assert_eq!(p.inr_caution_above.hundredths(), 200);
        assert_eq!(p.bloods_max_age_hours, 72);
        assert_eq!(p.drugs.policy, DrugPolicy::LowRiskSir2019);
        assert_eq!(p.drugs.rules.len(), Drug::ALL.len());
        assert_eq!(p.antiplatelet_platelets_caution_below, None);
        assert_eq!(p.fever_threshold_tenths_celsius, 380);
    }

    #[test]
    fn platelet_threshold_boundaries() {
        let cases = [(19, Some(Severity::DoNotProceed)), (20, None), (21, None)];
        for (count, expected) in cases {
            let findings = check(&SafetyFacts { platelets: platelets(count), ..clean() });
            let got = findings.iter().find(|f| f.rule == RuleId::PlateletsLow);
            assert_eq!(got.map(|f| f.severity), expected, "platelets {count}");
            if let Some(f) = got {
                assert!(f.message.contains("Platelets 19 ×10⁹/L"), "{}", f.message);
                assert!(f.message.contains("threshold of 20"), "{}", f.message);
                assert!(f.source.contains("SIR 2019") && f.source.contains("§5.1"));
            }
        }
    }

    #[test]
    fn inr_boundaries() {
        let cases = [
            ("1.99", vec![]),
            ("2.0", vec![]),
            ("2.01", vec![(RuleId::InrRaised, Severity::ProceedWithCaution)]),
            ("3.0", vec![(RuleId::InrRaised, Severity::ProceedWithCaution)]),
            ("3.01", vec![(RuleId::InrHigh, Severity::DoNotProceed)]),
        ];
        for (raw, expected) in cases {
            let findings = check(&SafetyFacts { inr: inr(raw), ..clean() });
            assert_eq!(rules(&findings), expected, "INR {raw}");
        }
        let findings = check(&SafetyFacts { inr: inr("3.01"), ..clean() });
        assert!(findings[0].message.contains("INR 3.01"), "{}", findings[0].message);
    }

    #[test]
    fn result_age_boundaries_at_the_planned_time() {
        let stale = vec![(RuleId::BloodsStale, Severity::ReviewBeforeProcedure)];
        let cases = [(72 * 60 - 1, vec![]), (72 * 60, vec![]), (72 * 60 + 1, stale.clone())];
        for (age_minutes, expected) in cases {
            let facts = SafetyFacts { bloods_taken_at: Some(minutes_ago(age_minutes)), ..clean() };
            assert_eq!(rules(&check(&facts)), expected, "age {age_minutes} min");
        }
        // Age is measured at the planned time, not now: 60 h old now, 73 h at the procedure.
        let facts = SafetyFacts { bloods_taken_at: Some(hours_ago(60)), ..clean() };
        let later = CheckContext { procedure_at: Some(now().plus_seconds(13 * 3600)), ..context() };
        let findings = evaluate(&facts, &later, &SitePolicy::default(), now());
        assert_eq!(rules(&findings), stale);
        assert!(findings[0].message.contains("taken 73 h before"), "{}", findings[0].message);
        assert!(findings[0].source.contains("Local site policy"));
    }

    #[test]
    fn missing_bloods_need_review_only_on_warfarin_or_unfractionated_heparin() {
        let no_bloods = |m: Medication| SafetyFacts {
            platelets: None,
            inr: None,
            bloods_taken_at: None,
            ..on(m)
        };
        let warfarin = med("Warfarin", DrugClass::VitaminKAntagonist, "3 mg", None);
        let findings = check(&no_bloods(warfarin.clone()));
        let missing = findings.iter().find(|f| f.rule == RuleId::BloodsMissing).unwrap();
        assert_eq!(missing.severity, Severity::ReviewBeforeProcedure);
        assert!(missing.message.contains("no platelet count or INR"), "{}", missing.message);

        let heparin = med("Heparin", DrugClass::Heparin, "5000 units SC bd", None);
        let facts = SafetyFacts { inr: None, ..on(heparin) };
        let findings = check(&facts);
        let missing = findings.iter().find(|f| f.rule == RuleId::BloodsMissing).unwrap();
        assert!(missing.message.contains("no INR"), "{}", missing.message);

        // An unrecognised vitamin K antagonist counts as warfarin-like for labs.
        let other_vka = med("Acenocoumarol", DrugClass::VitaminKAntagonist, "2 mg", None);
        let found = rules(&check(&no_bloods(other_vka)));
        assert!(found.contains(&(RuleId::BloodsMissing, Severity::ReviewBeforeProcedure)));
        assert!(found.contains(&(RuleId::DrugUnrecognised, Severity::ReviewBeforeProcedure)));

        // Apixaban or LMWH: labs not routinely needed for a low-risk procedure.
        for name in ["Apixaban", "Enoxaparin", "Aspirin"] {
            let m = med(name, DrugClass::Other, "x", None);
            let found = rules(&check(&no_bloods(m)));
            assert!(!found.iter().any(|(r, _)| *r == RuleId::BloodsMissing), "{name}");
        }
        // With both results present there is nothing missing.
        assert!(!rules(&check(&on(warfarin))).iter().any(|(r, _)| *r == RuleId::BloodsMissing));
    }

    #[test]
    fn drugs_are_identified_by_name_case_insensitively() {
        let cases = [
            ("Aspirin 75 mg", "", Drug::Aspirin),
            ("CLOPIDOGREL", "", Drug::Clopidogrel),
            ("prasugrel", "", Drug::Prasugrel),
            ("Ticagrelor", "", Drug::Ticagrelor),
            ("Warfarin", "", Drug::Warfarin),
            ("Heparin", "5000 units SC", Drug::UnfractionatedHeparin),
            ("Unfractionated heparin infusion", "", Drug::UnfractionatedHeparin),
            ("Enoxaparin", "40 mg daily (prophylactic)", Drug::EnoxaparinProphylactic),
            ("Enoxaparin", "1.5 mg/kg daily", Drug::EnoxaparinTherapeutic),
            ("Low molecular weight heparin", "", Drug::EnoxaparinTherapeutic),
            ("Fondaparinux", "", Drug::Fondaparinux),
            ("apixaban", "", Drug::Apixaban),
            ("Eliquis", "", Drug::Apixaban),
            ("Rivaroxaban", "", Drug::Rivaroxaban),
            ("Dabigatran etexilate", "", Drug::Dabigatran),
            ("EDOXABAN", "", Drug::Edoxaban),
        ];
        for (name, dose, drug) in cases {
            assert_eq!(identify(&med(name, DrugClass::Other, dose, None)), Some(drug), "{name}");
        }
        assert_eq!(identify(&med("Paracetamol", DrugClass::Other, "1 g", None)), None);
    }

    #[test]
    fn low_risk_policy_does_not_withhold_any_named_drug() {
        for &drug in Drug::ALL {
            let dose = if drug == Drug::EnoxaparinProphylactic { "40 mg prophylactic" } else { "" };
            let name = match drug {
                Drug::UnfractionatedHeparin => "Heparin",
                Drug::EnoxaparinProphylactic | Drug::EnoxaparinTherapeutic => "Enoxaparin",
                _ => drug.label(),
            };
            let m = med(name, DrugClass::Other, dose, Some(hours_ago(2)));
            assert_eq!(identify(&m), Some(drug));
            let findings = check(&on(m));
            assert_eq!(only(&findings), (RuleId::DrugNotWithheld, Severity::ProceedWithCaution));
            let message = &findings[0].message;
            assert!(message.contains("SIR 2019 does not withhold it for low-risk"), "{message}");
            assert_eq!(message.contains("ACC/AHA 2023"), drug.is_doac(), "{message}");
            if drug == Drug::Warfarin {
                assert!(message.contains("target INR ≤ 3.00") && message.contains("INR 1.00"));
            }
            assert!(findings[0].source.contains("low-risk column"));
        }
        let apixaban = check(&on(med("Apixaban", DrugClass::DirectOralAnticoagulant, "", None)));
        assert!(apixaban[0].message.starts_with(
            "Apixaban: SIR 2019 does not withhold it for low-risk procedures such as BMA"
        ));
    }

    /// (name, dose text, CrCl, shortest hold in hours, longest hold in hours), the numbers
    /// written out by hand from the reference §5.2 high-risk column so a wrong table shows.
    const HIGH_RISK_HOLDS: &[(&str, &str, Option<u32>, i64, i64)] = &[
        ("Aspirin", "75 mg once daily", None, 72, 120),
        ("Clopidogrel", "75 mg once daily", None, 120, 120),
        ("Prasugrel", "10 mg once daily", None, 168, 168),
        ("Ticagrelor", "90 mg twice daily", None, 120, 120),
        ("Warfarin", "3 mg", None, 120, 120),
        ("Heparin", "5000 units SC twice daily", None, 4, 6),
        ("Enoxaparin", "40 mg once daily, prophylactic", None, 24, 24),
        ("Enoxaparin", "1 mg/kg twice daily", None, 24, 24),
        ("Fondaparinux", "2.5 mg daily", Some(50), 48, 72),
        ("Fondaparinux", "2.5 mg daily", Some(49), 72, 120),
        ("Apixaban", "5 mg twice daily", Some(50), 48, 48),
        ("Apixaban", "5 mg twice daily", Some(49), 72, 72),
        ("Apixaban", "5 mg", Some(80), 48, 48), // no frequency: the usual 12 h
        ("Apixaban", "5 mg once daily", Some(80), 96, 96), // the dose text wins
        ("Rivaroxaban", "20 mg once daily", Some(30), 48, 48),
        ("Rivaroxaban", "15 mg once daily", Some(29), 72, 72),
        ("Rivaroxaban", "15 mg once daily", Some(15), 72, 72),
        ("Rivaroxaban", "15 mg bd", Some(30), 24, 24),
        ("Dabigatran", "150 mg twice daily", Some(50), 48, 48),
        ("Dabigatran", "110 mg twice daily", Some(49), 72, 96),
        ("Edoxaban", "60 mg once daily", None, 48, 48),
    ];

    #[test]
    fn high_risk_holds_at_and_around_each_boundary() {
        for &(name, dose, crcl, min_h, max_h) in HIGH_RISK_HOLDS {
            let ctx = CheckContext { creatinine_clearance_ml_min: crcl, ..context() };
            let at = |elapsed_minutes: i64| {
                let m = med(name, DrugClass::Other, dose, Some(minutes_ago(elapsed_minutes)));
                let findings = evaluate(&on(m), &ctx, &high_risk(), now());
                only(&findings)
            };
            let label = format!("{name} {dose} CrCl {crcl:?}");
            let incomplete = (RuleId::DrugHoldIncomplete, Severity::DoNotProceed);
            let within = (RuleId::DrugHoldWithinRange, Severity::ProceedWithCaution);
            let complete = (RuleId::DrugHoldComplete, Severity::Proceed);
            assert_eq!(at(min_h * 60 - 1), incomplete, "{label}: just short");
            let at_min = if min_h == max_h { complete } else { within };
            assert_eq!(at(min_h * 60), at_min, "{label}: at the shortest hold");
            assert_eq!(at(max_h * 60 - 1), if min_h == max_h { incomplete } else { within });
            assert_eq!(at(max_h * 60), complete, "{label}: at the longest hold");
        }
    }

    #[test]
    fn a_dose_based_hold_names_the_doses_the_band_and_the_time() {
        let m = med("Apixaban", DrugClass::DirectOralAnticoagulant, "5 mg bd", Some(hours_ago(20)));
        let ctx = CheckContext { creatinine_clearance_ml_min: Some(60), ..context() };
        let findings = evaluate(&on(m), &ctx, &high_risk(), now());
        assert_eq!(
            findings[0].message,
            "Apixaban: hold 4 doses (CrCl ≥ 50; one dose every 12 h, so 48 h) before the \
             procedure; last dose 20 h ago, so 28 h more are needed before the planned time."
        );
        assert!(findings[0].source.contains("high-risk column"));
        // A later planned time counts: 20 h ago now, 50 h at the procedure.
        let m = med("Apixaban", DrugClass::DirectOralAnticoagulant, "5 mg bd", Some(hours_ago(20)));
        let later = CheckContext { procedure_at: Some(now().plus_seconds(30 * 3600)), ..ctx };
        let findings = evaluate(&on(m), &later, &high_risk(), now());
        assert_eq!(only(&findings), (RuleId::DrugHoldComplete, Severity::Proceed));
        assert!(findings[0].message.contains("last dose 20 h ago"), "{}", findings[0].message);
    }

    #[test]
    fn hold_messages_quote_ranges_and_the_tables_conditions() {
        let ctx = CheckContext { creatinine_clearance_ml_min: Some(40), ..context() };
        let cases = [
            ("Dabigatran", "110 mg bd", "6–8 doses (CrCl < 50; one dose every 12 h, so 72–96 h)"),
            ("Heparin", "5000 units SC bd", "check aPTT/anti-Xa"),
            ("Enoxaparin", "1 mg/kg bd", "anti-Xa if renal impairment"),
            ("Aspirin", "75 mg", "hold 3–5 days before"),
        ];
        for (name, dose, expected) in cases {
            let m = med(name, DrugClass::Other, dose, Some(hours_ago(1)));
            let findings = evaluate(&on(m), &ctx, &high_risk(), now());
            assert!(findings[0].message.contains(expected), "{}", findings[0].message);
        }
    }

    #[test]
    fn renal_dependent_holds_need_a_creatinine_clearance() {
        for name in ["Fondaparinux", "Apixaban", "Rivaroxaban", "Dabigatran"] {
            let m = med(name, DrugClass::Other, "", Some(hours_ago(100)));
            let findings = evaluate(&on(m), &context(), &high_risk(), now());
            let want = (RuleId::CreatinineClearanceNeeded, Severity::ReviewBeforeProcedure);
            assert_eq!(only(&findings), want, "{name}");
            assert!(findings[0].message.contains("creatinine clearance"));
        }
        // Edoxaban's hold does not depend on it.
        let m = med("Edoxaban", DrugClass::Other, "60 mg daily", Some(hours_ago(100)));
        let findings = evaluate(&on(m), &context(), &high_risk(), now());
        assert_eq!(only(&findings).0, RuleId::DrugHoldComplete);
        // Rivaroxaban below CrCl 15: the table has no recommendation.
        let m = med("Rivaroxaban", DrugClass::Other, "15 mg daily", Some(hours_ago(100)));
        let ctx = CheckContext { creatinine_clearance_ml_min: Some(14), ..context() };
        let findings = evaluate(&on(m), &ctx, &high_risk(), now());
        assert_eq!(
            only(&findings),
            (RuleId::DrugNoRecommendation, Severity::ReviewBeforeProcedure)
        );
        assert!(findings[0].message.contains("CrCl 14 mL/min"));
    }

    #[test]
    fn a_held_drug_without_a_last_dose_needs_review() {
        let m = med("Clopidogrel", DrugClass::Antiplatelet, "75 mg", None);
        let findings = evaluate(&on(m), &context(), &high_risk(), now());
        assert_eq!(only(&findings), (RuleId::DrugLastDoseUnknown, Severity::ReviewBeforeProcedure));
        assert!(findings[0].message.contains("hold 5 days"), "{}", findings[0].message);
    }

    #[test]
    fn high_risk_warfarin_also_needs_its_inr_target() {
        for (raw, above) in [("1.8", false), ("1.81", true)] {
            let m = med("Warfarin", DrugClass::VitaminKAntagonist, "3 mg", Some(hours_ago(130)));
            let facts = SafetyFacts { inr: inr(raw), ..on(m) };
            let found = rules(&evaluate(&facts, &context(), &high_risk(), now()));
            assert!(found.contains(&(RuleId::DrugHoldComplete, Severity::Proceed)));
            let flag = (RuleId::DrugInrAboveTarget, Severity::DoNotProceed);
            assert_eq!(found.contains(&flag), above, "INR {raw}");
        }
    }

    #[test]
    fn an_unknown_drug_in_a_risky_class_needs_review() {
        for class in [
            DrugClass::Antiplatelet,
            DrugClass::VitaminKAntagonist,
            DrugClass::Heparin,
            DrugClass::DirectOralAnticoagulant,
        ] {
            let m = med("Mysterixaban", class, "1 mg", None);
            let findings = check(&on(m));
            let found = findings.iter().find(|f| f.rule == RuleId::DrugUnrecognised).unwrap();
            assert_eq!(found.severity, Severity::ReviewBeforeProcedure, "{class:?}");
            assert!(found.message.starts_with("Mysterixaban is recorded as"));
        }
        assert!(check(&on(med("Omeprazole", DrugClass::Other, "20 mg", None))).is_empty());
        // A named drug recorded in the "other" class is still recognised by its name.
        let findings = check(&on(med("Aspirin", DrugClass::Other, "75 mg", None)));
        assert_eq!(only(&findings).0, RuleId::DrugNotWithheld);
    }

    #[test]
    fn anaesthetic_allergies_by_agent() {
        let amide = Some((RuleId::AmideAnaestheticAllergy, Severity::DoNotProceed));
        let ester = Some((RuleId::EsterAnaestheticAllergy, Severity::ProceedWithCaution));
        let unclear = Some((RuleId::AnaestheticAllergyUnclear, Severity::ReviewBeforeProcedure));
        let cases = [
            ("lidocaine", amide),
            ("Lignocaine", amide),
            ("bupivacaine", amide),
            ("Levobupivacaine", amide),
            ("ROPIVACAINE", amide),
            ("prilocaine (EMLA)", amide),
            ("mepivacaine", amide),
            ("articaine", amide),
            ("Amide local anaesthetics", amide),
            ("-caine", unclear),
            ("all the -caines", unclear),
            ("local anaesthetic", unclear),
            ("Local anesthesia", unclear),
            ("procaine", ester),
            ("Chloroprocaine", ester),
            ("benzocaine", ester),
            ("tetracaine", ester),
            ("penicillin", None),
            ("Sulfonamides", None),
            ("latex", None),
        ];
        for (text, expected) in cases {
            let facts = SafetyFacts { allergies: vec![text.to_owned()], ..clean() };
            let findings = check(&facts);
            assert_eq!(findings.first().map(|f| (f.rule, f.severity)), expected, "{text:?}");
            assert!(findings.len() <= 1, "{text:?}: {findings:#?}");
        }
        let facts = SafetyFacts { allergies: vec!["Lidocaine".to_owned()], ..clean() };
        let message = &check(&facts)[0].message;
        for alternative in ["procaine", "chloroprocaine", "benzyl alcohol", "diphenhydramine"] {
            assert!(message.contains(alternative), "{message}");
        }
        assert!(message.contains("(Lidocaine)"), "{message}");
        // With an ester allergy too, the ester alternative is withdrawn.
        let both = SafetyFacts {
            allergies: vec!["Lidocaine".to_owned(), "Procaine".to_owned()],
            ..clean()
        };
        let findings = check(&both);
        assert_eq!(findings.len(), 2);
        assert!(findings[0].message.contains("not an ester agent"), "{}", findings[0].message);
        assert!(findings[1].message.contains("paraben"), "{}", findings[1].message);
    }

    #[test]
    fn sedation_needs_an_escort_and_fasting_advice() {
        let fasting = (RuleId::SedationFasting, Severity::ProceedWithCaution);
        let no_escort = (RuleId::SedationWithoutEscort, Severity::DoNotProceed);
        let cases = [
            (false, false, vec![]),
            (false, true, vec![]),
            (true, true, vec![fasting]),
            (true, false, vec![no_escort, fasting]),
        ];
        for (sedation_planned, escort_arranged, expected) in cases {
            let facts = SafetyFacts { sedation_planned, escort_arranged, ..clean() };
            let findings = check(&facts);
            assert_eq!(rules(&findings), expected, "sedation {sedation_planned} {escort_arranged}");
            if let Some(f) = findings.iter().find(|f| f.rule == RuleId::SedationFasting) {
                assert!(f.message.contains("clear liquids 2 h") && f.source.contains("ASA"));
            }
        }
    }

    #[test]
    fn immunocompromise_gives_the_stricter_infection_advice() {
        let facts = SafetyFacts { immunocompromised: true, ..clean() };
        let findings = check(&facts);
        assert_eq!(only(&findings), (RuleId::Immunocompromised, Severity::ProceedWithCaution));
        assert!(findings[0].message.contains("38.0 °C"), "{}", findings[0].message);
        assert!(findings[0].source.contains("§6.4") && findings[0].source.contains("§8"));
        let site = SitePolicy { fever_threshold_tenths_celsius: 385, ..SitePolicy::default() };
        let findings = evaluate(&facts, &context(), &site, now());
        assert!(findings[0].message.contains("38.5 °C"), "{}", findings[0].message);
    }

    #[test]
    fn antiplatelet_with_low_platelets_is_a_caution_only_where_the_site_sets_a_number() {
        let aspirin = || med("Aspirin", DrugClass::Antiplatelet, "75 mg", None);
        let facts = SafetyFacts { platelets: platelets(30), ..on(aspirin()) };
        // Default: off, because the reference gives no number (§5.3).
        assert_eq!(only(&check(&facts)).0, RuleId::DrugNotWithheld);
        let site = SitePolicy {
            antiplatelet_platelets_caution_below: platelets(50),
            ..SitePolicy::default()
        };
        let trephine = CheckContext { sampling: Sampling::AspirateAndTrephine, ..context() };
        for (count, flagged) in [(49, true), (50, false)] {
            let facts = SafetyFacts { platelets: platelets(count), ..on(aspirin()) };
            let findings = evaluate(&facts, &trephine, &site, now());
            let found = findings.iter().find(|f| f.rule == RuleId::AntiplateletThrombocytopenia);
            assert_eq!(found.is_some(), flagged, "platelets {count}");
            if let Some(f) = found {
                assert_eq!(f.severity, Severity::ProceedWithCaution);
                assert!(f.message.contains("trephine") && f.source.contains("§5.3"));
            }
        }
        // No antiplatelet: nothing.
        let facts = SafetyFacts { platelets: platelets(30), ..clean() };
        assert!(evaluate(&facts, &context(), &site, now()).is_empty());
    }

    #[test]
    fn overall_takes_the_worst_and_overrides_unblock_with_a_reason() {
        let facts = SafetyFacts { platelets: platelets(10), immunocompromised: true, ..clean() };
        let findings = check(&facts);
        assert_eq!(overall(&findings), Severity::DoNotProceed);
        assert!(blocks_checking(&findings, &[]));
        let other = Override::new(RuleId::InrHigh, "n/a").unwrap();
        assert!(blocks_checking(&findings, std::slice::from_ref(&other)));
        let ok =
            Override::parse("platelets-low", "Haematologist: proceed, platelets cover").unwrap();
        assert_eq!(ok.rule(), RuleId::PlateletsLow);
        assert!(!blocks_checking(&findings, &[other, ok]));
        // A caution never blocks.
        let caution = check(&SafetyFacts { immunocompromised: true, ..clean() });
        assert_eq!(overall(&caution), Severity::ProceedWithCaution);
        assert!(!blocks_checking(&caution, &[]));
        assert_eq!(Override::parse("platelets-low", "  ").unwrap_err().field, "reason");
        assert_eq!(Override::parse("platelets", "because").unwrap_err().field, "rule");
    }

    #[test]
    fn severities_are_ordered_and_codes_are_stable() {
        use Severity::*;
        assert!(Proceed < ProceedWithCaution);
        assert!(ProceedWithCaution < ReviewBeforeProcedure);
        assert!(ReviewBeforeProcedure < DoNotProceed);
        let codes: Vec<&str> = Severity::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, ["proceed", "caution", "review", "do-not-proceed"]);
        let mut seen = std::collections::HashSet::new();
        for &rule in RuleId::ALL {
            assert!(seen.insert(rule.code()), "duplicate code {}", rule.code());
            assert_eq!(RuleId::parse(rule.code()).unwrap(), rule);
        }
        assert_eq!(RuleId::PlateletsLow.code(), "platelets-low");
    }
}
