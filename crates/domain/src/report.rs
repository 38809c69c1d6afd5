//! The interpreted report: a draft, then signed versions that are never edited in place.

use crate::morphology::Differential;
use crate::{FieldError, optional_text};

code_enum! {
    /// Whether the aspirate is good enough to read (clinical reference §1.5: particles,
    /// haemodilution).
    pub enum Adequacy : "adequacy" {
        Adequate => ("adequate", "Adequate: particulate, not haemodiluted"),
        Haemodiluted => ("haemodiluted", "Suboptimal: haemodiluted"),
        Aparticulate => ("aparticulate", "Suboptimal: no particles"),
        Inadequate => ("inadequate", "Inadequate for assessment"),
    }
}

code_enum! {
    /// Cellularity for age, as far as the aspirate shows it (the trephine is the gold standard;
    /// clinical reference §1.5).
    pub enum Cellularity : "cellularity" {
        Hypocellular => ("hypocellular", "Hypocellular"),
        Normocellular => ("normocellular", "Normocellular"),
        Hypercellular => ("hypercellular", "Hypercellular"),
        NotAssessable => ("not-assessable", "Not assessable"),
    }
}

/// What the pathologist writes. Fields may be blank while drafting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportContent {
    /// Sample adequacy.
    pub adequacy: Option<Adequacy>,
    /// Cellularity.
    pub cellularity: Option<Cellularity>,
    /// Morphology: each lineage's maturation, dysplasia, megakaryocytes, other findings.
    pub morphology: Option<String>,
    /// The interpretation, in the clinical context. Required to sign.
    pub interpretation: Option<String>,
    /// A comment for the requesting clinician.
    pub comment: Option<String>,
}

/// Raw text of a report draft.
#[derive(Debug, Clone, Default)]
pub struct ReportInput<'a> {
    /// `adequacy`, blank or an [`Adequacy`] code.
    pub adequacy: &'a str,
    /// `cellularity`, blank or a [`Cellularity`] code.
    pub cellularity: &'a str,
    /// `morphology`
    pub morphology: &'a str,
    /// `interpretation`
    pub interpretation: &'a str,
    /// `comment`
    pub comment: &'a str,
}

impl ReportContent {
    /// Parses a draft; blank fields stay blank.
    pub fn parse(input: &ReportInput<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            adequacy: match input.adequacy.trim() {
                "" => None,
                raw => Some(Adequacy::parse(raw)?),
            },
            cellularity: match input.cellularity.trim() {
                "" => None,
                raw => Some(Cellularity::parse(raw)?),
            },
            morphology: optional_text("morphology", input.morphology, 10_000)?,
            interpretation: optional_text("interpretation", input.interpretation, 10_000)?,
            comment: optional_text("comment", input.comment, 5_000)?,
        })
    }
}

/// Why a report cannot be signed yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignRefusal {
    /// No report draft has been written.
    #[error("cannot sign: no report draft has been written")]
    NoDraft,
    /// No differential has been recorded.
    #[error("cannot sign: no differential count has been recorded")]
    NoDifferential,
    /// A required element is blank.
    #[error("cannot sign: the {0} is blank")]
    Missing(&'static str),
}

/// Checks that a draft has what a signed report must state (clinical reference §1.5: the NDC
/// with the number of cells counted, adequacy, cellularity, and an interpretation).
pub fn ready_to_sign(
    draft: Option<&ReportContent>,
    differential: Option<&Differential>,
) -> Result<(), SignRefusal> {
    let draft = draft.ok_or(SignRefusal::NoDraft)?;
    if differential.is_none_or(|d| d.total() == 0) {
        return Err(SignRefusal::NoDifferential);
    }
    if draft.adequacy.is_none() {
        return Err(SignRefusal::Missing("adequacy"));
    }
    if draft.cellularity.is_none() {
        return Err(SignRefusal::Missing("cellularity"));
    }
    if draft.interpretation.is_none() {
        return Err(SignRefusal::Missing("interpretation"));
    }
    Ok(())
}

/// The reason for an amendment: required, stated in words.
pub fn amendment_reason(raw: &str) -> Result<String, FieldError> {
    crate::required_text("reason", raw, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morphology::CellClass;

    fn complete() -> ReportContent {
        ReportContent::parse(&ReportInput {
            adequacy: "adequate",
            cellularity: "normocellular",
            interpretation: "Normal marrow.",
            ..ReportInput::default()
        })
        .unwrap()
    }

    #[test]
    fn signing_needs_a_differential_and_an_interpretation() {
        let diff = Differential::from_counts([(CellClass::Lymphocyte, 500)]);
        assert_eq!(ready_to_sign(Some(&complete()), None), Err(SignRefusal::NoDifferential));
        assert_eq!(ready_to_sign(None, Some(&diff)), Err(SignRefusal::NoDraft));
        let blank = ReportContent { interpretation: None, ..complete() };
        assert_eq!(
            ready_to_sign(Some(&blank), Some(&diff)),
            Err(SignRefusal::Missing("interpretation"))
        );
        assert_eq!(ready_to_sign(Some(&complete()), Some(&diff)), Ok(()));
    }

    #[test]
    fn an_amendment_needs_a_reason() {
        assert_eq!(amendment_reason("  ").unwrap_err().field, "reason");
    }
}
