//! A patient's timeline, gathered once for the page, its charts and the API: every signed
//! marrow with its key figures and 95 % limits, every blood count with its flags, the
//! treatment milestones, and the observations `marrow-domain::monitoring` draws from them.

use marrow_domain::blood_count::Interpreted;
use marrow_domain::ids::{CaseId, PatientId};
use marrow_domain::monitoring::{
    BlastChange, Estimate, Movement, ObservationKind, RatioEstimate, ResponseObservation,
    SerialMarrow, blast_changes, response_observations,
};
use marrow_domain::time::Timestamp;
use marrow_store::{BloodCountRecord, MilestoneRecord, PatientRecord};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::AppError;

/// One signed marrow with what the timeline's columns show.
#[derive(Debug, Clone)]
pub struct MarrowColumn {
    /// The figures with their limits.
    pub serial: SerialMarrow,
    /// The order's indication, as written.
    pub indication: String,
    /// Cellularity as reported, if given.
    pub cellularity: Option<String>,
    /// Megakaryocyte numbers from the aspirate findings, if recorded.
    pub megakaryocytes: Option<String>,
    /// The interpretive flags the signer saw (labels).
    pub flags: Vec<String>,
    /// Who signed the version shown (the latest).
    pub signed_by: String,
    /// When.
    pub signed_at: Timestamp,
    /// The latest version number.
    pub version: i64,
}

/// Everything the timeline shows, in date order within each list.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The patient.
    pub patient: PatientRecord,
    /// Signed marrows, oldest first.
    pub marrows: Vec<MarrowColumn>,
    /// Marrows ordered but not signed yet (case id, when ordered), for the event list.
    pub unsigned: Vec<(CaseId, Timestamp, String)>,
    /// Blood counts, oldest first.
    pub counts: Vec<BloodCountRecord>,
    /// Milestones, oldest first.
    pub milestones: Vec<MilestoneRecord>,
    /// Blast changes beyond counting noise.
    pub changes: Vec<BlastChange>,
    /// Response observations.
    pub observations: Vec<ResponseObservation>,
}

impl Timeline {
    /// Gathers the timeline of `patient`.
    pub async fn load(state: &AppState, patient: PatientId) -> Result<Self, AppError> {
        let record = state.store.patient(patient).await?;
        let mut marrows = Vec::new();
        let mut unsigned = Vec::new();
        for summary in state.store.cases_of_patient(patient).await? {
            let case = state.store.case(summary.id).await?;
            let Some(version) = case.current_report() else {
                unsigned.push((case.id, case.order.at, case.order.value.indication.to_string()));
                continue;
            };
            let taken_at =
                case.procedure.as_ref().map_or(version.signed_at, |p| p.value.performed_at);
            marrows.push(MarrowColumn {
                serial: SerialMarrow::new(
                    case.id,
                    taken_at,
                    &version.differential,
                    &version.excluded,
                ),
                indication: case.order.value.indication.to_string(),
                cellularity: version.content.cellularity.map(|c| c.label().to_owned()),
                megakaryocytes: version
                    .aspirate
                    .as_ref()
                    .map(|a| a.megakaryocytes.label().to_owned()),
                flags: version.flags.iter().map(|f| f.kind.label().to_owned()).collect(),
                signed_by: version.signed_by.display_name.clone(),
                signed_at: version.signed_at,
                version: version.version,
            });
        }
        marrows.sort_by_key(|m| (m.serial.taken_at, m.serial.case.0));
        unsigned.sort_by_key(|u| (u.1, u.0.0));
        let counts = state.store.blood_counts(patient).await?;
        let milestones = state.store.milestones(patient).await?;
        let serial: Vec<SerialMarrow> = marrows.iter().map(|m| m.serial.clone()).collect();
        let plain: Vec<_> = counts.iter().map(|c| c.count.clone()).collect();
        Ok(Self {
            changes: blast_changes(&serial),
            observations: response_observations(&serial, &plain),
            patient: record,
            marrows,
            unsigned,
            counts,
            milestones,
        })
    }

    /// The first and last instants on the timeline, so every chart shares one time axis.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let times = self
            .marrows
            .iter()
            .map(|m| m.serial.taken_at)
            .chain(self.counts.iter().map(|c| c.count.taken_at))
            .chain(self.milestones.iter().map(|m| noon(m.milestone.on)));
        let (mut low, mut high) = (None::<Timestamp>, None::<Timestamp>);
        for t in times {
            low = Some(low.map_or(t, |l| l.min(t)));
            high = Some(high.map_or(t, |h| h.max(t)));
        }
        low.zip(high)
    }

    /// Each count's values with ranges and flags for this patient.
    pub fn interpreted(&self, count: &BloodCountRecord) -> Vec<Interpreted> {
        count.count.interpret(self.patient.patient.sex, self.patient.patient.date_of_birth)
    }
}

/// Noon UTC of a day: where a dated milestone sits on a time axis.
pub fn noon(day: marrow_domain::time::Date) -> Timestamp {
    Timestamp::parse("on", &format!("{day}T12:00")).unwrap_or(Timestamp::from_unix(0))
}

/// A percentage with its 95 % limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct EstimateDto {
    /// Cells of the class.
    pub cells: u32,
    /// Cells in the denominator.
    pub of: u32,
    pub percent: f64,
    /// Lower 95 % limit (exact, Clopper–Pearson), %.
    pub lower: f64,
    /// Upper 95 % limit, %.
    pub upper: f64,
}

impl EstimateDto {
    fn of(e: &Estimate) -> Self {
        Self { cells: e.cells, of: e.of, percent: e.percent, lower: e.lower, upper: e.upper }
    }
}

/// The M:E ratio with 95 % limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatioDto {
    pub myeloid: u32,
    pub erythroid: u32,
    pub ratio: f64,
    pub lower: f64,
    /// Upper 95 % limit; null when unbounded (no erythroid cells in the limit).
    pub upper: Option<f64>,
}

impl RatioDto {
    fn of(r: &RatioEstimate) -> Self {
        Self {
            myeloid: r.myeloid,
            erythroid: r.erythroid,
            ratio: r.ratio,
            lower: r.lower,
            upper: r.upper.is_finite().then_some(r.upper),
        }
    }
}

/// One signed marrow on the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarrowDto {
    pub case_id: i64,
    /// When the marrow was taken (RFC 3339).
    pub taken_at: String,
    pub indication: String,
    /// Cells in the nucleated differential count.
    pub cells_counted: u32,
    pub blasts: Option<EstimateDto>,
    pub plasma_cells: Option<EstimateDto>,
    pub me_ratio: Option<RatioDto>,
    pub cellularity: Option<String>,
    pub megakaryocytes: Option<String>,
    pub flags: Vec<String>,
    pub signed_by: String,
    pub signed_at: String,
    pub report_version: i64,
}

/// One value of a blood count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountValueDto {
    /// Analyte code: haemoglobin, white-cells, neutrophils, lymphocytes, monocytes,
    /// eosinophils, basophils, platelets, blasts.
    pub analyte: String,
    /// LOINC code.
    pub loinc: String,
    /// In `unit` (g/L, 10*9/L or %).
    pub value: f64,
    /// UCUM unit.
    pub unit: String,
    /// The reference range for the patient's sex and age band, when there is one.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// "L", "H", "N", or "" when there is no range.
    pub flag: String,
}

/// A blood count.
#[derive(Debug, Serialize, ToSchema)]
pub struct BloodCountDto {
    pub id: i64,
    pub patient_id: i64,
    /// When the blood was taken (RFC 3339).
    pub taken_at: String,
    /// manual, csv or hl7.
    pub source: String,
    pub entered_at: String,
    pub values: Vec<CountValueDto>,
}

impl BloodCountDto {
    /// The count with its values interpreted for `patient`.
    pub fn of(count: &BloodCountRecord, patient: &PatientRecord) -> Self {
        let values = count
            .count
            .interpret(patient.patient.sex, patient.patient.date_of_birth)
            .iter()
            .map(|i| CountValueDto {
                analyte: i.measured.analyte.code().to_owned(),
                loinc: i.measured.analyte.loinc().to_owned(),
                value: i.measured.value.as_f64(),
                unit: i.measured.analyte.unit().ucum().to_owned(),
                low: i.range.map(|r| r.low.as_f64()),
                high: i.range.map(|r| r.high.as_f64()),
                flag: i.flag.code().to_owned(),
            })
            .collect();
        Self {
            id: count.id,
            patient_id: count.patient.0,
            taken_at: count.count.taken_at.to_rfc3339(),
            source: count.source.clone(),
            entered_at: count.entered_at.to_rfc3339(),
            values,
        }
    }
}

/// A treatment milestone.
#[derive(Debug, Serialize, ToSchema)]
pub struct MilestoneDto {
    pub id: i64,
    /// YYYY-MM-DD
    pub on: String,
    /// treatment-start, treatment-cycle, treatment-end, transplant, relapse, other.
    pub kind: String,
    pub label: String,
    pub description: Option<String>,
    pub entered_by: String,
}

impl MilestoneDto {
    /// The API shape of a stored milestone.
    pub fn of(m: &MilestoneRecord) -> Self {
        Self {
            id: m.id,
            on: m.milestone.on.to_string(),
            kind: m.milestone.kind.code().to_owned(),
            label: m.milestone.kind.label().to_owned(),
            description: m.milestone.description.clone(),
            entered_by: m.entered_by.display_name.clone(),
        }
    }
}

/// Two consecutive marrows whose blast limits do not overlap.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlastChangeDto {
    pub from_case: i64,
    pub to_case: i64,
    /// rise or fall.
    pub movement: String,
}

/// An observation (never a verdict) with its source.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObservationDto {
    pub case_id: i64,
    /// cr-criteria-met, blasts-below-5-counts-not-recovered, blasts-back-at-or-above-5,
    /// blast-rise, blast-fall.
    pub kind: String,
    pub text: String,
    pub source: String,
}

/// A patient's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineDto {
    pub patient_id: i64,
    /// Signed marrows, oldest first.
    pub marrows: Vec<MarrowDto>,
    /// Blood counts, oldest first.
    pub blood_counts: Vec<BloodCountDto>,
    /// Milestones, oldest first.
    pub milestones: Vec<MilestoneDto>,
    pub blast_changes: Vec<BlastChangeDto>,
    pub observations: Vec<ObservationDto>,
}

/// The stable code of an observation kind.
pub fn observation_code(kind: ObservationKind) -> &'static str {
    match kind {
        ObservationKind::CompleteRemissionCriteriaMet => "cr-criteria-met",
        ObservationKind::BlastsBelowFiveCountsNotRecovered => "blasts-below-5-counts-not-recovered",
        ObservationKind::BlastsBackAtOrAboveFive => "blasts-back-at-or-above-5",
        ObservationKind::BlastChange(Movement::Rise) => "blast-rise",
        ObservationKind::BlastChange(Movement::Fall) => "blast-fall",
    }
}

impl TimelineDto {
    /// The API shape of a timeline.
    pub fn of(t: &Timeline) -> Self {
        Self {
            patient_id: t.patient.id.0,
            marrows: t
                .marrows
                .iter()
                .map(|m| MarrowDto {
                    case_id: m.serial.case.0,
                    taken_at: m.serial.taken_at.to_rfc3339(),
                    indication: m.indication.clone(),
                    cells_counted: m.serial.cells_counted,
                    blasts: m.serial.blasts.as_ref().map(EstimateDto::of),
                    plasma_cells: m.serial.plasma_cells.as_ref().map(EstimateDto::of),
                    me_ratio: m.serial.me_ratio.as_ref().map(RatioDto::of),
                    cellularity: m.cellularity.clone(),
                    megakaryocytes: m.megakaryocytes.clone(),
                    flags: m.flags.clone(),
                    signed_by: m.signed_by.clone(),
                    signed_at: m.signed_at.to_rfc3339(),
                    report_version: m.version,
                })
                .collect(),
            blood_counts: t.counts.iter().map(|c| BloodCountDto::of(c, &t.patient)).collect(),
            milestones: t.milestones.iter().map(MilestoneDto::of).collect(),
            blast_changes: t
                .changes
                .iter()
                .map(|c| BlastChangeDto {
                    from_case: c.from.0,
                    to_case: c.to.0,
                    movement: match c.movement {
                        Movement::Rise => "rise",
                        Movement::Fall => "fall",
                    }
                    .to_owned(),
                })
                .collect(),
            observations: t
                .observations
                .iter()
                .map(|o| ObservationDto {
                    case_id: o.case.0,
                    kind: observation_code(o.kind).to_owned(),
                    text: o.text.clone(),
                    source: o.source.to_owned(),
                })
                .collect(),
        }
    }
}
