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

code_enum! {
    /// Whether a finding the report must state was seen. "Not seen" is an answer; a blank is
    /// not, because a blank cannot be told from "not looked for" (clinical reference §1.5).
    pub enum Finding : "finding" {
        NotSeen => ("not-seen", "Not seen"),
        Present => ("present", "Present"),
        NotAssessable => ("not-assessable", "Not assessable"),
    }
}

/// What the pathologist writes: the synoptic elements of ICSH 2008 Table 3 as merged in the
/// clinical reference §1.5. Fields may be blank while drafting; [`ready_to_sign`] says which a
/// signed report must state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportContent {
    /// Sample adequacy.
    pub adequacy: Option<Adequacy>,
    /// Cellularity.
    pub cellularity: Option<Cellularity>,
    /// Erythropoiesis: maturation and dysplasia.
    pub erythropoiesis: Option<String>,
    /// Granulopoiesis: maturation and dysplasia.
    pub granulopoiesis: Option<String>,
    /// Megakaryocytes: morphology and dysplasia (their number is an aspirate finding).
    pub megakaryopoiesis: Option<String>,
    /// Lymphocytes (aggregates, haematogones) and plasma cells.
    pub lymphoid: Option<String>,
    /// Other findings: abnormal or non-haemopoietic cells (counted or not), anything else.
    pub morphology: Option<String>,
    /// Granulomas (clinical reference §3.7: they prompt an infection work-up).
    pub granulomas: Option<Finding>,
    /// Organisms, e.g. *Leishmania* amastigotes (§3.7).
    pub organisms: Option<Finding>,
    /// Haemophagocytosis (§3.6: one of the eight HLH-2004 criteria).
    pub haemophagocytosis: Option<Finding>,
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
    /// `erythropoiesis`
    pub erythropoiesis: &'a str,
    /// `granulopoiesis`
    pub granulopoiesis: &'a str,
    /// `megakaryopoiesis`
    pub megakaryopoiesis: &'a str,
    /// `lymphoid`
    pub lymphoid: &'a str,
    /// `morphology` (other findings)
    pub morphology: &'a str,
    /// `granulomas`, blank or a [`Finding`] code.
    pub granulomas: &'a str,
    /// `organisms`, blank or a [`Finding`] code.
    pub organisms: &'a str,
    /// `haemophagocytosis`, blank or a [`Finding`] code.
    pub haemophagocytosis: &'a str,
    /// `interpretation`
    pub interpretation: &'a str,
    /// `comment`
    pub comment: &'a str,
}

/// A field of the report as people read it: its form name, its heading and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportField {
    /// The form and API name (`granulopoiesis`).
    pub name: &'static str,
    /// The heading on the report.
    pub heading: &'static str,
    /// The text; `None` when blank.
    pub text: Option<String>,
}

fn finding(field: &'static str, raw: &str) -> Result<Option<Finding>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        raw => Finding::parse(raw).map(Some).map_err(|e| FieldError::new(field, e.message)),
    }
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
            erythropoiesis: optional_text("erythropoiesis", input.erythropoiesis, 5_000)?,
            granulopoiesis: optional_text("granulopoiesis", input.granulopoiesis, 5_000)?,
            megakaryopoiesis: optional_text("megakaryopoiesis", input.megakaryopoiesis, 5_000)?,
            lymphoid: optional_text("lymphoid", input.lymphoid, 5_000)?,
            morphology: optional_text("morphology", input.morphology, 10_000)?,
            granulomas: finding("granulomas", input.granulomas)?,
            organisms: finding("organisms", input.organisms)?,
            haemophagocytosis: finding("haemophagocytosis", input.haemophagocytosis)?,
            interpretation: optional_text("interpretation", input.interpretation, 10_000)?,
            comment: optional_text("comment", input.comment, 5_000)?,
        })
    }

    /// Every field in report order, with its heading; vocabulary fields as their labels. The one
    /// list the page, the PDF, the exports and the amendment diff walk, so none can skip one.
    pub fn fields(&self) -> Vec<ReportField> {
        let label = |v: Option<&'static str>| v.map(str::to_owned);
        vec![
            ReportField {
                name: "adequacy",
                heading: "Adequacy",
                text: label(self.adequacy.map(Adequacy::label)),
            },
            ReportField {
                name: "cellularity",
                heading: "Cellularity",
                text: label(self.cellularity.map(Cellularity::label)),
            },
            ReportField {
                name: "erythropoiesis",
                heading: "Erythropoiesis",
                text: self.erythropoiesis.clone(),
            },
            ReportField {
                name: "granulopoiesis",
                heading: "Granulopoiesis",
                text: self.granulopoiesis.clone(),
            },
            ReportField {
                name: "megakaryopoiesis",
                heading: "Megakaryocytes",
                text: self.megakaryopoiesis.clone(),
            },
            ReportField {
                name: "lymphoid",
                heading: "Lymphocytes and plasma cells",
                text: self.lymphoid.clone(),
            },
            ReportField {
                name: "morphology",
                heading: "Other findings",
                text: self.morphology.clone(),
            },
            ReportField {
                name: "granulomas",
                heading: "Granulomas",
                text: label(self.granulomas.map(Finding::label)),
            },
            ReportField {
                name: "organisms",
                heading: "Organisms",
                text: label(self.organisms.map(Finding::label)),
            },
            ReportField {
                name: "haemophagocytosis",
                heading: "Haemophagocytosis",
                text: label(self.haemophagocytosis.map(Finding::label)),
            },
            ReportField {
                name: "interpretation",
                heading: "Interpretation",
                text: self.interpretation.clone(),
            },
            ReportField {
                name: "comment",
                heading: "Comment for the clinician",
                text: self.comment.clone(),
            },
        ]
    }
}

/// One field that an amendment changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's heading.
    pub heading: &'static str,
    /// The text before (`None` = blank).
    pub before: Option<String>,
    /// The text after.
    pub after: Option<String>,
}

/// What changed between two versions of a report, field by field, in report order. Unchanged
/// fields are left out; an empty list means the wording is identical.
pub fn diff(before: &ReportContent, after: &ReportContent) -> Vec<FieldChange> {
    before
        .fields()
        .into_iter()
        .zip(after.fields())
        .filter(|(a, b)| a.text != b.text)
        .map(|(a, b)| FieldChange { heading: a.heading, before: a.text, after: b.text })
        .collect()
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
    /// The aspirate findings (particles, haemodilution, megakaryocytes, iron) are not recorded.
    #[error(
        "cannot sign: the aspirate findings (particles, haemodilution, megakaryocytes, iron stain) are not recorded"
    )]
    NoAspirateFindings,
    /// A required element is blank.
    #[error("cannot sign: the {0} is blank")]
    Missing(&'static str),
}

impl SignRefusal {
    /// The form field the refusal is about, where there is one.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing(field) => field,
            Self::NoAspirateFindings => "aspirate",
            Self::NoDifferential => "differential",
            Self::NoDraft => "report",
        }
    }
}

/// Checks that a draft has what a signed report must state (clinical reference §1.5: the NDC
/// with the number of cells counted, adequacy with particles and haemodilution, cellularity,
/// each lineage, megakaryocytes, iron, the other findings answered, and an interpretation).
/// Lymphoid cells, other findings and the comment may stay blank.
pub fn ready_to_sign(
    draft: Option<&ReportContent>,
    differential: Option<&Differential>,
    aspirate_recorded: bool,
) -> Result<(), SignRefusal> {
    let draft = draft.ok_or(SignRefusal::NoDraft)?;
    if differential.is_none_or(|d| d.total() == 0) {
        return Err(SignRefusal::NoDifferential);
    }
    if !aspirate_recorded {
        return Err(SignRefusal::NoAspirateFindings);
    }
    let required: [(&'static str, bool); 9] = [
        ("adequacy", draft.adequacy.is_some()),
        ("cellularity", draft.cellularity.is_some()),
        ("erythropoiesis", draft.erythropoiesis.is_some()),
        ("granulopoiesis", draft.granulopoiesis.is_some()),
        ("megakaryopoiesis", draft.megakaryopoiesis.is_some()),
        ("granulomas", draft.granulomas.is_some()),
        ("organisms", draft.organisms.is_some()),
        ("haemophagocytosis", draft.haemophagocytosis.is_some()),
        ("interpretation", draft.interpretation.is_some()),
    ];
    match required.iter().find(|(_, present)| !present) {
        Some((field, _)) => Err(SignRefusal::Missing(field)),
        None => Ok(()),
    }
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
            erythropoiesis: "Normoblastic.",
            granulopoiesis: "Full maturation.",
            megakaryopoiesis: "Normal.",
            granulomas: "not-seen",
            organisms: "not-seen",
            haemophagocytosis: "not-seen",
            interpretation: "Normal marrow.",
            ..ReportInput::default()
        })
        .unwrap()
    }

    #[test]
    fn signing_needs_a_differential_aspirate_findings_and_every_required_element() {
        let diff = Differential::from_counts([(CellClass::Lymphocyte, 500)]);
        assert_eq!(ready_to_sign(Some(&complete()), None, true), Err(SignRefusal::NoDifferential));
        assert_eq!(ready_to_sign(None, Some(&diff), true), Err(SignRefusal::NoDraft));
        assert_eq!(
            ready_to_sign(Some(&complete()), Some(&diff), false),
            Err(SignRefusal::NoAspirateFindings)
        );
        let blank = ReportContent { interpretation: None, ..complete() };
        assert_eq!(
            ready_to_sign(Some(&blank), Some(&diff), true),
            Err(SignRefusal::Missing("interpretation"))
        );
        let unanswered = ReportContent { organisms: None, ..complete() };
        let refusal = ready_to_sign(Some(&unanswered), Some(&diff), true).unwrap_err();
        assert_eq!(refusal.field(), "organisms");
        assert_eq!(refusal.to_string(), "cannot sign: the organisms is blank");
        let optional_blank = ReportContent { lymphoid: None, comment: None, ..complete() };
        assert_eq!(ready_to_sign(Some(&optional_blank), Some(&diff), true), Ok(()));
    }

    #[test]
    fn a_bad_finding_code_names_its_field() {
        let e =
            ReportContent::parse(&ReportInput { granulomas: "maybe", ..ReportInput::default() })
                .unwrap_err();
        assert_eq!(e.field, "granulomas");
        assert!(e.message.contains("not-seen, present, not-assessable"), "{}", e.message);
    }

    #[test]
    fn the_diff_lists_only_changed_fields_in_report_order() {
        let before = complete();
        let after = ReportContent {
            granulomas: Some(Finding::Present),
            comment: Some("Culture sent.".into()),
            ..complete()
        };
        let changes = diff(&before, &after);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    heading: "Granulomas",
                    before: Some("Not seen".into()),
                    after: Some("Present".into())
                },
                FieldChange {
                    heading: "Comment for the clinician",
                    before: None,
                    after: Some("Culture sent.".into())
                },
            ]
        );
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn fields_cover_every_element_once() {
        let names: Vec<_> = complete().fields().iter().map(|f| f.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
        assert_eq!(names.len(), 12);
    }

    #[test]
    fn an_amendment_needs_a_reason() {
        assert_eq!(amendment_reason("  ").unwrap_err().field, "reason");
    }
}
