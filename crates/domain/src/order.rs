//! The order: why the marrow is needed and what to take.
//!
//! Indications follow the brief's list, which matches the usual reasons for a BMA (clinical
//! reference §1.1: the marrow is read with the blood count and the clinical question).

use crate::{FieldError, optional_text, required_text};

code_enum! {
    /// The reason a marrow is ordered.
    pub enum IndicationKind : "indication" {
        AbnormalBloodCounts => ("abnormal-blood-counts", "Abnormal blood counts"),
        SuspectedBloodCancer => ("suspected-blood-cancer", "Suspected blood cancer"),
        KnownBloodCancerMonitoring => ("known-blood-cancer-monitoring", "Known blood cancer: monitoring"),
        StagingSpreadToBone => ("staging", "Staging: spread of cancer to bone marrow"),
        BeforeTransplant => ("before-transplant", "Before transplant"),
        AfterTransplant => ("after-transplant", "After transplant"),
        Other => ("other", "Other"),
    }
}

code_enum! {
    /// A blood count lineage that can be low or high.
    pub enum Lineage : "lineages" {
        RedCells => ("red-cells", "Haemoglobin / red cells"),
        WhiteCells => ("white-cells", "White cells"),
        Neutrophils => ("neutrophils", "Neutrophils"),
        Lymphocytes => ("lymphocytes", "Lymphocytes"),
        Monocytes => ("monocytes", "Monocytes"),
        Platelets => ("platelets", "Platelets"),
    }
}

code_enum! {
    /// Whether a count is below or above its reference range.
    pub enum Direction : "lineages" {
        Low => ("low", "low"),
        High => ("high", "high"),
    }
}

/// One abnormal lineage, e.g. platelets low. Coded as `platelets-low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineageAbnormality {
    /// Which lineage.
    pub lineage: Lineage,
    /// Low or high.
    pub direction: Direction,
}

impl LineageAbnormality {
    /// Parses `LINEAGE-low` or `LINEAGE-high`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let bad = || {
            FieldError::new(
                "lineages",
                format!("{raw:?} is not a lineage finding such as \"platelets-low\""),
            )
        };
        let (lineage, direction) = raw.rsplit_once('-').ok_or_else(bad)?;
        Ok(Self {
            lineage: Lineage::parse(lineage).map_err(|_| bad())?,
            direction: Direction::parse(direction).map_err(|_| bad())?,
        })
    }

    /// The stable code, e.g. `platelets-low`.
    pub fn code(self) -> String {
        format!("{}-{}", self.lineage.code(), self.direction.code())
    }

    /// Every possible finding, for forms.
    pub fn all() -> Vec<Self> {
        Lineage::ALL
            .iter()
            .flat_map(|&lineage| {
                Direction::ALL.iter().map(move |&direction| Self { lineage, direction })
            })
            .collect()
    }
}

impl std::fmt::Display for LineageAbnormality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.lineage.label(), self.direction.label())
    }
}

/// Why the marrow is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indication {
    /// Abnormal blood counts; at least one lineage, never both low and high.
    AbnormalBloodCounts(Vec<LineageAbnormality>),
    /// A blood cancer is suspected.
    SuspectedBloodCancer,
    /// A known blood cancer is being monitored.
    KnownBloodCancerMonitoring,
    /// Staging: has a cancer spread to the marrow?
    StagingSpreadToBone,
    /// Work-up before a stem-cell transplant.
    BeforeTransplant,
    /// Follow-up after a stem-cell transplant.
    AfterTransplant,
    /// Anything else, described in words.
    Other(String),
}

impl Indication {
    /// Parses the indication code, the lineage findings (only for abnormal counts) and the
    /// free text (only for "other").
    pub fn parse(kind: &str, lineages: &[&str], other_text: &str) -> Result<Self, FieldError> {
        let kind = IndicationKind::parse(kind)?;
        let has_lineages = lineages.iter().any(|l| !l.trim().is_empty());
        if kind != IndicationKind::AbnormalBloodCounts && has_lineages {
            return Err(FieldError::new("lineages", "are recorded only for abnormal blood counts"));
        }
        if kind != IndicationKind::Other && !other_text.trim().is_empty() {
            return Err(FieldError::new(
                "indication_text",
                "is used only when the indication is \"other\"",
            ));
        }
        Ok(match kind {
            IndicationKind::AbnormalBloodCounts => {
                let mut found = lineages
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| LineageAbnormality::parse(l))
                    .collect::<Result<Vec<_>, _>>()?;
                found.sort();
                found.dedup();
                if found.is_empty() {
                    return Err(FieldError::new(
                        "lineages",
                        "choose at least one lineage that is low or high",
                    ));
                }
                if found.windows(2).any(|w| w[0].lineage == w[1].lineage) {
                    return Err(FieldError::new(
                        "lineages",
                        "a lineage cannot be both low and high",
                    ));
                }
                Self::AbnormalBloodCounts(found)
            }
            IndicationKind::SuspectedBloodCancer => Self::SuspectedBloodCancer,
            IndicationKind::KnownBloodCancerMonitoring => Self::KnownBloodCancerMonitoring,
            IndicationKind::StagingSpreadToBone => Self::StagingSpreadToBone,
            IndicationKind::BeforeTransplant => Self::BeforeTransplant,
            IndicationKind::AfterTransplant => Self::AfterTransplant,
            IndicationKind::Other => {
                Self::Other(required_text("indication_text", other_text, 500)?)
            }
        })
    }

    /// The kind of indication.
    pub fn kind(&self) -> IndicationKind {
        match self {
            Self::AbnormalBloodCounts(_) => IndicationKind::AbnormalBloodCounts,
            Self::SuspectedBloodCancer => IndicationKind::SuspectedBloodCancer,
            Self::KnownBloodCancerMonitoring => IndicationKind::KnownBloodCancerMonitoring,
            Self::StagingSpreadToBone => IndicationKind::StagingSpreadToBone,
            Self::BeforeTransplant => IndicationKind::BeforeTransplant,
            Self::AfterTransplant => IndicationKind::AfterTransplant,
            Self::Other(_) => IndicationKind::Other,
        }
    }

    /// The lineage findings (empty unless abnormal counts).
    pub fn lineages(&self) -> &[LineageAbnormality] {
        match self {
            Self::AbnormalBloodCounts(l) => l,
            _ => &[],
        }
    }

    /// The free text of an "other" indication.
    pub fn other_text(&self) -> Option<&str> {
        match self {
            Self::Other(t) => Some(t),
            _ => None,
        }
    }
}

impl std::fmt::Display for Indication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AbnormalBloodCounts(found) => {
                let list: Vec<String> = found.iter().map(ToString::to_string).collect();
                write!(f, "Abnormal blood counts ({})", list.join(", "))
            }
            Self::Other(text) => write!(f, "Other: {text}"),
            other => f.write_str(other.kind().label()),
        }
    }
}

code_enum! {
    /// What is to be taken: the aspirate alone, or with a trephine biopsy core.
    pub enum Sampling : "sampling" {
        AspirateOnly => ("aspirate", "Aspirate only"),
        AspirateAndTrephine => ("aspirate-trephine", "Aspirate and trephine biopsy"),
    }
}

code_enum! {
    /// How soon the procedure is needed.
    pub enum Urgency : "urgency" {
        Routine => ("routine", "Routine"),
        Urgent => ("urgent", "Urgent"),
    }
}

/// A BMA order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Why the marrow is needed.
    pub indication: Indication,
    /// Aspirate alone or with trephine.
    pub sampling: Sampling,
    /// Routine or urgent.
    pub urgency: Urgency,
    /// Clinical details for the lab (blood count, film, history), optional.
    pub clinical_details: Option<String>,
}

/// The raw text of an order.
#[derive(Debug, Clone, Default)]
pub struct OrderInput<'a> {
    /// `indication`, an [`IndicationKind`] code.
    pub indication: &'a str,
    /// `lineages`, e.g. `["platelets-low"]`.
    pub lineages: Vec<&'a str>,
    /// `indication_text`, for "other".
    pub indication_text: &'a str,
    /// `sampling`, a [`Sampling`] code.
    pub sampling: &'a str,
    /// `urgency`, an [`Urgency`] code.
    pub urgency: &'a str,
    /// `clinical_details`
    pub clinical_details: &'a str,
}

impl Order {
    /// Parses an order, naming the first bad field.
    pub fn parse(input: &OrderInput<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            indication: Indication::parse(
                input.indication,
                &input.lineages,
                input.indication_text,
            )?,
            sampling: Sampling::parse(input.sampling)?,
            urgency: Urgency::parse(input.urgency)?,
            clinical_details: optional_text("clinical_details", input.clinical_details, 2000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OrderInput<'static> {
        OrderInput {
            indication: "abnormal-blood-counts",
            lineages: vec!["platelets-low", "neutrophils-low"],
            sampling: "aspirate-trephine",
            urgency: "routine",
            ..OrderInput::default()
        }
    }

    #[test]
    fn abnormal_counts_keep_their_lineages() {
        let order = Order::parse(&input()).unwrap();
        assert_eq!(order.indication.lineages().len(), 2);
        assert_eq!(
            order.indication.to_string(),
            "Abnormal blood counts (Neutrophils low, Platelets low)"
        );
    }

    #[test]
    fn abnormal_counts_need_a_lineage_and_cannot_be_low_and_high() {
        let none = OrderInput { lineages: vec![], ..input() };
        assert_eq!(Order::parse(&none).unwrap_err().field, "lineages");
        let both = OrderInput { lineages: vec!["platelets-low", "platelets-high"], ..input() };
        assert_eq!(Order::parse(&both).unwrap_err().field, "lineages");
    }

    #[test]
    fn other_needs_words_and_lineages_belong_to_counts_only() {
        let other = OrderInput { indication: "other", lineages: vec![], ..input() };
        assert_eq!(Order::parse(&other).unwrap_err().field, "indication_text");
        let staging = OrderInput { indication: "staging", ..input() };
        assert_eq!(Order::parse(&staging).unwrap_err().field, "lineages");
        let unknown = OrderInput { sampling: "core", ..input() };
        assert_eq!(Order::parse(&unknown).unwrap_err().field, "sampling");
    }

    #[test]
    fn lineage_codes_round_trip() {
        for finding in LineageAbnormality::all() {
            assert_eq!(LineageAbnormality::parse(&finding.code()).unwrap(), finding);
        }
    }
}
