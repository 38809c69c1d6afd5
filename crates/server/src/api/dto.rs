//! The API's own request and response shapes. Do not rename members: clients depend on them.
//! Enumerations travel as the stable codes `marrow-domain` defines.

use std::collections::BTreeMap;

use marrow_domain::FieldError;
use marrow_domain::aspirate::{Aspirate, AspirateInput};
use marrow_domain::morphology::{CellClass, CountingRules, Differential, MeRatio};
use marrow_domain::order::{Order, OrderInput, Sampling};
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::procedure::{ProcedureInput, ProcedureNote};
use marrow_domain::report::{ReportContent, amendment_reason};
use marrow_domain::safety::{MedicationInput, SafetyFacts, SafetyInput};
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{CaseRecord, CaseSummary, PatientRecord, ReportVersion, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The authenticated user.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Role code: clinician, proceduralist, nurse, technologist, pathologist, admin.
    pub role: String,
}

impl MeDto {
    pub fn of(u: &UserRecord) -> Self {
        Self {
            id: u.id.0,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.code().into(),
        }
    }
}

/// A patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientDto {
    pub id: i64,
    pub mrn: String,
    pub family_name: String,
    pub given_name: String,
    /// YYYY-MM-DD
    pub date_of_birth: String,
    /// female, male, other or unknown
    pub sex: String,
    /// The language of the patient's own pages and discharge sheet: en (English) or es
    /// (Spanish).
    pub language: String,
}

impl PatientDto {
    pub fn of(r: &PatientRecord) -> Self {
        let p = &r.patient;
        Self {
            id: r.id.0,
            mrn: p.mrn.reveal().into(),
            family_name: p.family_name.reveal().into(),
            given_name: p.given_name.reveal().into(),
            date_of_birth: p.date_of_birth.to_string(),
            sex: p.sex.code().into(),
            language: p.language.code().into(),
        }
    }
}

/// A patient to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatientBody {
    #[serde(default)]
    pub mrn: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub given_name: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub date_of_birth: String,
    /// female, male, other or unknown
    #[serde(default)]
    pub sex: String,
    /// The language of the patient's own pages and discharge sheet: en (English, the default)
    /// or es (Spanish).
    #[serde(default)]
    pub language: Option<String>,
}

/// An order for a BMA.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    pub patient_id: i64,
    /// abnormal-blood-counts, suspected-blood-cancer, known-blood-cancer-monitoring, staging,
    /// before-transplant, after-transplant or other
    #[serde(default)]
    pub indication: String,
    /// For abnormal-blood-counts: e.g. ["platelets-low", "neutrophils-low"]
    #[serde(default)]
    pub lineages: Vec<String>,
    /// For "other": the indication in words
    #[serde(default)]
    pub indication_text: String,
    /// aspirate or aspirate-trephine
    #[serde(default)]
    pub sampling: String,
    /// routine or urgent
    #[serde(default)]
    pub urgency: String,
    #[serde(default)]
    pub clinical_details: String,
}

/// One medication.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicationBody {
    #[serde(default)]
    pub name: String,
    /// antiplatelet, vitamin-k-antagonist, heparin, doac or other
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub dose: String,
    /// When the last dose was taken (RFC 3339), if known.
    #[serde(default)]
    pub last_dose_at: Option<String>,
}

/// The safety check facts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SafetyBody {
    #[serde(default)]
    pub medications: Vec<MedicationBody>,
    #[serde(default)]
    pub allergies: Vec<String>,
    /// ×10⁹/L
    #[serde(default)]
    pub platelets: Option<u32>,
    #[serde(default)]
    pub inr: Option<f64>,
    /// When platelets and INR were taken (RFC 3339).
    #[serde(default)]
    pub bloods_taken_at: Option<String>,
    #[serde(default)]
    pub sedation_planned: bool,
    #[serde(default)]
    pub escort_arranged: bool,
    #[serde(default)]
    pub immunocompromised: bool,
}

/// A specimen taken.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecimenBody {
    /// smears, edta, sodium-heparin, acd, culture, clot-formalin, trephine-formalin
    #[serde(default)]
    pub tube: String,
    /// morphology, flow-cytometry, cytogenetics, molecular, microbiology, histopathology
    #[serde(default)]
    pub destination: String,
    /// Aspirate volume in this tube, mL, where measured.
    #[serde(default)]
    pub volume_ml: Option<f64>,
}

/// The procedure note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureBody {
    #[serde(default)]
    pub operator: String,
    /// RFC 3339
    #[serde(default)]
    pub performed_at: String,
    /// posterior-iliac-crest, anterior-iliac-crest, sternum or tibia
    #[serde(default)]
    pub site: String,
    /// left, right or midline
    #[serde(default)]
    pub side: String,
    /// prone, lateral or supine
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub local_anaesthetic: String,
    /// none, oral, intravenous, entonox or general-anaesthesia
    #[serde(default)]
    pub sedation: String,
    #[serde(default)]
    pub specimens: Vec<SpecimenBody>,
    #[serde(default)]
    pub complications: Option<String>,
    /// The time-out and identity check were done (required: true).
    #[serde(default)]
    pub time_out_done: bool,
    /// Needle, as written.
    #[serde(default)]
    pub needle: Option<String>,
    /// Number of passes, 1–10.
    #[serde(default)]
    pub passes: Option<u8>,
    /// No marrow could be aspirated.
    #[serde(default)]
    pub dry_tap: bool,
    /// Trephine core length in mm; required when a trephine core is among the specimens.
    #[serde(default)]
    pub trephine_length_mm: Option<u8>,
    /// Haemostasis and dressing, as written.
    #[serde(default)]
    pub haemostasis: Option<String>,
}

/// Cells counted per class code (e.g. {"blasts": 12, "lymphocytes": 80}).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DifferentialBody {
    pub counts: BTreeMap<String, u32>,
}

/// The aspirate findings recorded beside the count (every vocabulary field must be answered).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AspirateBody {
    /// absent, scanty or adequate
    pub particles: String,
    /// hypocellular, normocellular, hypercellular or not-assessable
    pub trail_cellularity: String,
    /// hypocellular, normocellular, hypercellular or not-assessable
    pub particle_cellularity: String,
    /// none, mild or marked
    pub haemodilution: String,
    /// absent, decreased, normal or increased
    pub megakaryocytes: String,
    /// not-performed, or the storage iron grade 0 to 6
    pub iron_stain: String,
    /// Ring sideroblasts, % of erythroblasts (only with an iron stain).
    #[serde(default)]
    pub ring_sideroblasts: Option<String>,
    /// Particles examined for iron (only with an iron stain).
    #[serde(default)]
    pub particles_examined_for_iron: Option<u32>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A report draft save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    /// The draft revision this edit started from (0 when there was none). A save against an
    /// older revision is refused with 409: someone else saved first.
    pub expected_revision: i64,
    #[serde(default)]
    pub adequacy: Option<String>,
    #[serde(default)]
    pub cellularity: Option<String>,
    /// Erythropoiesis: maturation and dysplasia.
    #[serde(default)]
    pub erythropoiesis: Option<String>,
    /// Granulopoiesis: maturation and dysplasia.
    #[serde(default)]
    pub granulopoiesis: Option<String>,
    /// Megakaryocyte morphology and dysplasia.
    #[serde(default)]
    pub megakaryopoiesis: Option<String>,
    /// Lymphocytes and plasma cells.
    #[serde(default)]
    pub lymphoid: Option<String>,
    /// Other findings: abnormal or non-haemopoietic cells.
    #[serde(default)]
    pub morphology: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub granulomas: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub organisms: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub haemophagocytosis: Option<String>,
    #[serde(default)]
    pub interpretation: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// An amendment to a signed report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendBody {
    /// Why the report is amended (shown on the report).
    #[serde(default)]
    pub reason: String,
    /// The flag codes the client showed the signer; when given and the flags differ now, the
    /// amendment is refused with 409 so the version records what was shown.
    #[serde(default)]
    pub flags_shown: Option<Vec<String>>,
    #[serde(default)]
    pub adequacy: Option<String>,
    #[serde(default)]
    pub cellularity: Option<String>,
    /// Erythropoiesis: maturation and dysplasia.
    #[serde(default)]
    pub erythropoiesis: Option<String>,
    /// Granulopoiesis: maturation and dysplasia.
    #[serde(default)]
    pub granulopoiesis: Option<String>,
    /// Megakaryocyte morphology and dysplasia.
    #[serde(default)]
    pub megakaryopoiesis: Option<String>,
    /// Lymphocytes and plasma cells.
    #[serde(default)]
    pub lymphoid: Option<String>,
    /// Other findings: abnormal or non-haemopoietic cells.
    #[serde(default)]
    pub morphology: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub granulomas: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub organisms: Option<String>,
    /// not-seen, present or not-assessable
    #[serde(default)]
    pub haemophagocytosis: Option<String>,
    #[serde(default)]
    pub interpretation: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Signing the draft.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// The flag codes the client showed the signer (see `report.flags`); when given and the
    /// flags differ now, signing is refused with 409 so the version records what was shown.
    #[serde(default)]
    pub flags_shown: Option<Vec<String>>,
}

/// The written fields of a draft or an amendment, as the domain parses them.
pub trait ReportFieldsBody {
    /// Each field's raw text, blank when absent, in `ReportInput` order.
    fn raw(&self) -> [&Option<String>; 12];

    /// Parses the fields; errors name the field.
    fn content(&self) -> Result<ReportContent, FieldError> {
        let [a, c, e, g, m, l, o, gr, org, h, i, cm] =
            self.raw().map(|v| v.as_deref().unwrap_or(""));
        marrow_domain::report::ReportContent::parse(&marrow_domain::report::ReportInput {
            adequacy: a,
            cellularity: c,
            erythropoiesis: e,
            granulopoiesis: g,
            megakaryopoiesis: m,
            lymphoid: l,
            morphology: o,
            granulomas: gr,
            organisms: org,
            haemophagocytosis: h,
            interpretation: i,
            comment: cm,
        })
    }
}

macro_rules! report_fields_body {
    ($t:ty) => {
        impl ReportFieldsBody for $t {
            fn raw(&self) -> [&Option<String>; 12] {
                [
                    &self.adequacy,
                    &self.cellularity,
                    &self.erythropoiesis,
                    &self.granulopoiesis,
                    &self.megakaryopoiesis,
                    &self.lymphoid,
                    &self.morphology,
                    &self.granulomas,
                    &self.organisms,
                    &self.haemophagocytosis,
                    &self.interpretation,
                    &self.comment,
                ]
            }
        }
    };
}
report_fields_body!(DraftBody);
report_fields_body!(AmendBody);

impl NewPatientBody {
    /// The patient, validated as the registration form validates it.
    pub fn patient(&self, today: Date) -> Result<Patient, FieldError> {
        Patient::parse(
            &PatientInput {
                mrn: &self.mrn,
                family_name: &self.family_name,
                given_name: &self.given_name,
                date_of_birth: &self.date_of_birth,
                sex: &self.sex,
                language: self.language.as_deref().unwrap_or(""),
            },
            today,
        )
    }
}

impl OrderBody {
    /// The order, validated (the patient id is checked by the store).
    pub fn order(&self) -> Result<Order, FieldError> {
        Order::parse(&OrderInput {
            indication: &self.indication,
            lineages: self.lineages.iter().map(String::as_str).collect(),
            indication_text: &self.indication_text,
            sampling: &self.sampling,
            urgency: &self.urgency,
            clinical_details: &self.clinical_details,
        })
    }
}

impl SafetyBody {
    /// The safety facts, validated; times are judged against `now`.
    pub fn facts(&self, now: Timestamp) -> Result<SafetyFacts, FieldError> {
        // The domain reads numbers as the form sends them: as text.
        let platelets = self.platelets.map(|p| p.to_string()).unwrap_or_default();
        let inr = self.inr.map(|i| i.to_string()).unwrap_or_default();
        let input = SafetyInput {
            medications: self
                .medications
                .iter()
                .map(|m| MedicationInput {
                    name: &m.name,
                    class: &m.class,
                    dose: &m.dose,
                    last_dose_at: m.last_dose_at.as_deref().unwrap_or(""),
                })
                .collect(),
            allergies: self.allergies.iter().map(String::as_str).collect(),
            platelets: &platelets,
            inr: &inr,
            bloods_taken_at: self.bloods_taken_at.as_deref().unwrap_or(""),
            sedation_planned: self.sedation_planned,
            escort_arranged: self.escort_arranged,
            immunocompromised: self.immunocompromised,
        };
        SafetyFacts::parse(&input, now)
    }
}

impl ProcedureBody {
    /// The procedure note for an order of `sampling`, validated; times are judged against `now`.
    pub fn note(&self, sampling: Sampling, now: Timestamp) -> Result<ProcedureNote, FieldError> {
        let volumes: Vec<String> = self
            .specimens
            .iter()
            .map(|s| s.volume_ml.map(|v| v.to_string()).unwrap_or_default())
            .collect();
        let passes = self.passes.map(|p| p.to_string()).unwrap_or_default();
        let trephine_length = self.trephine_length_mm.map(|l| l.to_string()).unwrap_or_default();
        let input = ProcedureInput {
            operator: &self.operator,
            performed_at: &self.performed_at,
            site: &self.site,
            side: &self.side,
            position: &self.position,
            local_anaesthetic: &self.local_anaesthetic,
            sedation: &self.sedation,
            specimens: self
                .specimens
                .iter()
                .map(|s| (s.tube.as_str(), s.destination.as_str()))
                .collect(),
            complications: self.complications.as_deref().unwrap_or(""),
            specimen_volumes: volumes.iter().map(String::as_str).collect(),
            time_out: self.time_out_done,
            needle: self.needle.as_deref().unwrap_or(""),
            passes: &passes,
            dry_tap: self.dry_tap,
            trephine_length_mm: &trephine_length,
            haemostasis: self.haemostasis.as_deref().unwrap_or(""),
        };
        ProcedureNote::parse(&input, sampling, now)
    }
}

impl DifferentialBody {
    /// The differential, validated.
    pub fn differential(&self) -> Result<Differential, FieldError> {
        let texts: Vec<(&str, String)> =
            self.counts.iter().map(|(k, v)| (k.as_str(), v.to_string())).collect();
        Differential::parse(texts.iter().map(|(k, v)| (*k, v.as_str())))
    }
}

impl AspirateBody {
    /// The aspirate findings, validated.
    pub fn aspirate(&self) -> Result<Aspirate, FieldError> {
        let examined = self.particles_examined_for_iron.map(|n| n.to_string()).unwrap_or_default();
        Aspirate::parse(&AspirateInput {
            particles: &self.particles,
            trail_cellularity: &self.trail_cellularity,
            particle_cellularity: &self.particle_cellularity,
            haemodilution: &self.haemodilution,
            megakaryocytes: &self.megakaryocytes,
            iron_stain: &self.iron_stain,
            ring_sideroblasts: self.ring_sideroblasts.as_deref().unwrap_or(""),
            particles_examined_for_iron: &examined,
            comment: self.comment.as_deref().unwrap_or(""),
        })
    }
}

impl AmendBody {
    /// The amended content, once the reason is acceptable.
    pub fn amended_content(&self) -> Result<ReportContent, FieldError> {
        amendment_reason(&self.reason)?;
        self.content()
    }
}

/// One line of the case list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummaryDto {
    pub id: i64,
    /// ordered, checked, performed, in_lab, reported or amended
    pub status: String,
    pub patient_id: i64,
    pub mrn: String,
    pub patient_name: String,
    pub indication: String,
    pub urgency: String,
    pub ordered_at: String,
}

impl CaseSummaryDto {
    pub fn of(c: &CaseSummary) -> Self {
        Self {
            id: c.id.0,
            status: c.status.code().into(),
            patient_id: c.patient.id.0,
            mrn: c.patient.patient.mrn.reveal().into(),
            patient_name: c.patient.patient.display_name(),
            indication: c.order.indication.kind().code().into(),
            urgency: c.order.urgency.code().into(),
            ordered_at: c.ordered_at.to_rfc3339(),
        }
    }
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseListDto {
    pub cases: Vec<CaseSummaryDto>,
    pub limit: i64,
    pub offset: i64,
}

/// Who recorded something, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDto {
    pub user_id: i64,
    pub display_name: String,
    /// RFC 3339
    pub at: String,
}

impl RecordedDto {
    fn of(by: &marrow_store::UserRef, at: Timestamp) -> Self {
        Self { user_id: by.id.0, display_name: by.display_name.clone(), at: at.to_rfc3339() }
    }
}

/// The order as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub indication: String,
    pub indication_label: String,
    pub lineages: Vec<String>,
    pub indication_text: Option<String>,
    pub sampling: String,
    pub urgency: String,
    pub clinical_details: Option<String>,
    pub ordered: RecordedDto,
}

/// The safety check as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct SafetyDto {
    pub medications: Vec<MedicationBody>,
    pub allergies: Vec<String>,
    pub platelets: Option<u32>,
    /// INR as text with two decimals, e.g. "1.30"
    pub inr: Option<String>,
    pub bloods_taken_at: Option<String>,
    pub sedation_planned: bool,
    pub escort_arranged: bool,
    pub immunocompromised: bool,
    pub recorded: RecordedDto,
}

/// The procedure note as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureDto {
    pub operator: String,
    pub performed_at: String,
    pub site: String,
    pub side: String,
    pub position: String,
    pub local_anaesthetic: String,
    pub sedation: String,
    pub complications: Option<String>,
    pub recorded: RecordedDto,
}

/// A specimen and where it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpecimenDto {
    pub id: i64,
    pub tube: String,
    pub destination: String,
    /// collected or received
    pub status: String,
    pub received: Option<RecordedDto>,
}

/// A differential with what is computed from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferentialDto {
    /// Cells per class code.
    pub counts: BTreeMap<String, u32>,
    /// Nucleated cells in the differential (the denominator).
    pub total: u32,
    /// Cells seen but excluded from the denominator (smudge cells, macrophages).
    pub excluded: u32,
    /// Percent of the total per class in the differential, unrounded.
    pub percentages: BTreeMap<String, f64>,
    /// Myeloid cells per erythroid cell; null when not calculable (no erythroid cells).
    pub me_ratio: Option<f64>,
    /// Which classes the ratio counts: "ICSH" (granulocytes, monocytes and precursors,
    /// blasts included : erythroblasts of every stage).
    pub me_ratio_convention: String,
}

impl DifferentialDto {
    /// The differential under `rules` (the site's exclusions from the denominator).
    pub fn of(d: &Differential, rules: &CountingRules) -> Self {
        Self {
            counts: d.counts().map(|(c, n)| (c.code().to_owned(), n)).collect(),
            total: d.total_with(rules),
            excluded: d.excluded_with(rules),
            percentages: CellClass::ALL
                .iter()
                .filter_map(|&c| {
                    d.percent_with(c, rules)
                        .filter(|_| d.count(c) > 0)
                        .map(|p| (c.code().to_owned(), p))
                })
                .collect(),
            me_ratio: match d.me_ratio() {
                MeRatio::Ratio(r) => Some(r),
                MeRatio::NotCalculable => None,
            },
            me_ratio_convention: "ICSH".into(),
        }
    }
}

/// The differential as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDifferentialDto {
    #[serde(flatten)]
    pub differential: DifferentialDto,
    pub recorded: RecordedDto,
}

/// The report's written content.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentDto {
    pub adequacy: Option<String>,
    pub cellularity: Option<String>,
    pub erythropoiesis: Option<String>,
    pub granulopoiesis: Option<String>,
    pub megakaryopoiesis: Option<String>,
    pub lymphoid: Option<String>,
    pub morphology: Option<String>,
    pub granulomas: Option<String>,
    pub organisms: Option<String>,
    pub haemophagocytosis: Option<String>,
    pub interpretation: Option<String>,
    pub comment: Option<String>,
}

impl ContentDto {
    fn of(c: &marrow_domain::report::ReportContent) -> Self {
        use marrow_domain::report::Finding;
        Self {
            adequacy: c.adequacy.map(|a| a.code().into()),
            cellularity: c.cellularity.map(|a| a.code().into()),
            erythropoiesis: c.erythropoiesis.clone(),
            granulopoiesis: c.granulopoiesis.clone(),
            megakaryopoiesis: c.megakaryopoiesis.clone(),
            lymphoid: c.lymphoid.clone(),
            morphology: c.morphology.clone(),
            granulomas: c.granulomas.map(|f| Finding::code(f).into()),
            organisms: c.organisms.map(|f| Finding::code(f).into()),
            haemophagocytosis: c.haemophagocytosis.map(|f| Finding::code(f).into()),
            interpretation: c.interpretation.clone(),
            comment: c.comment.clone(),
        }
    }
}

/// An interpretive flag: a prompt with its source, never a diagnosis.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDto {
    /// Stable code (e.g. `blasts`, `me-ratio-low`, `granulomas`).
    pub kind: String,
    pub text: String,
    pub source: String,
}

impl FlagDto {
    pub fn list(flags: &[marrow_domain::flags::Flag]) -> Vec<Self> {
        flags
            .iter()
            .map(|f| Self {
                kind: f.kind.code().into(),
                text: f.text.clone(),
                source: f.source.clone(),
            })
            .collect()
    }
}

/// The unsigned draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftDto {
    pub revision: i64,
    pub content: ContentDto,
    pub saved: RecordedDto,
}

/// A signed version; never changes once signed.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: i64,
    pub content: ContentDto,
    pub differential: DifferentialDto,
    /// Present on amendments.
    pub amendment_reason: Option<String>,
    /// The flags shown to the pathologist when this version was signed.
    pub flags: Vec<FlagDto>,
    pub signed: RecordedDto,
}

impl VersionDto {
    pub fn of(v: &ReportVersion) -> Self {
        Self {
            version: v.version,
            content: ContentDto::of(&v.content),
            differential: DifferentialDto::of(&v.differential, &v.excluded),
            amendment_reason: v.amendment_reason.clone(),
            flags: FlagDto::list(&v.flags),
            signed: RecordedDto::of(&v.signed_by, v.signed_at),
        }
    }
}

/// The report: draft and signed versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDto {
    /// none, draft, signed or amended
    pub status: String,
    pub draft: Option<DraftDto>,
    /// The flags the draft raises now (empty once signed): show them to the signer and send
    /// their codes back as `flags_shown` when signing.
    pub flags: Vec<FlagDto>,
    pub versions: Vec<VersionDto>,
}

/// A case with everything recorded so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: i64,
    /// ordered, checked, performed, in_lab, reported or amended
    pub status: String,
    /// Bumped by every change.
    pub version: i64,
    pub patient: PatientDto,
    pub order: OrderDto,
    pub safety_check: Option<SafetyDto>,
    pub procedure: Option<ProcedureDto>,
    pub specimens: Vec<SpecimenDto>,
    pub differential: Option<RecordedDifferentialDto>,
    pub report: ReportDto,
}

impl CaseDto {
    /// The case; its current differential is shown under the site's `rules`.
    pub fn of(c: &CaseRecord, rules: &CountingRules, flags: &[marrow_domain::flags::Flag]) -> Self {
        let o = &c.order.value;
        let report_status = match (c.versions.len(), &c.draft) {
            (0, None) => "none",
            (0, Some(_)) => "draft",
            (1, _) => "signed",
            _ => "amended",
        };
        Self {
            id: c.id.0,
            status: c.status.code().into(),
            version: c.version,
            patient: PatientDto::of(&c.patient),
            order: OrderDto {
                indication: o.indication.kind().code().into(),
                indication_label: o.indication.to_string(),
                lineages: o.indication.lineages().iter().map(|l| l.code()).collect(),
                indication_text: o.indication.other_text().map(str::to_owned),
                sampling: o.sampling.code().into(),
                urgency: o.urgency.code().into(),
                clinical_details: o.clinical_details.clone(),
                ordered: RecordedDto::of(&c.order.by, c.order.at),
            },
            safety_check: c.safety.as_ref().map(|s| {
                let f = &s.value;
                SafetyDto {
                    medications: f
                        .medications
                        .iter()
                        .map(|m| MedicationBody {
                            name: m.name.clone(),
                            class: m.class.code().into(),
                            dose: m.dose.clone(),
                            last_dose_at: m.last_dose_at.map(Timestamp::to_rfc3339),
                        })
                        .collect(),
                    allergies: f.allergies.clone(),
                    platelets: f.platelets.map(|p| p.per_nanolitre()),
                    inr: f.inr.map(|i| i.to_string()),
                    bloods_taken_at: f.bloods_taken_at.map(Timestamp::to_rfc3339),
                    sedation_planned: f.sedation_planned,
                    escort_arranged: f.escort_arranged,
                    immunocompromised: f.immunocompromised,
                    recorded: RecordedDto::of(&s.by, s.at),
                }
            }),
            procedure: c.procedure.as_ref().map(|p| {
                let n = &p.value;
                ProcedureDto {
                    operator: n.operator.clone(),
                    performed_at: n.performed_at.to_rfc3339(),
                    site: n.site.code().into(),
                    side: n.side.code().into(),
                    position: n.position.code().into(),
                    local_anaesthetic: n.local_anaesthetic.clone(),
                    sedation: n.sedation.code().into(),
                    complications: n.complications.clone(),
                    recorded: RecordedDto::of(&p.by, p.at),
                }
            }),
            specimens: c
                .specimens
                .iter()
                .map(|s| SpecimenDto {
                    id: s.id.0,
                    tube: s.specimen.tube.code().into(),
                    destination: s.specimen.destination.code().into(),
                    status: s.status.code().into(),
                    received: s.received.as_ref().map(|(by, at)| RecordedDto::of(by, *at)),
                })
                .collect(),
            differential: c.differential.as_ref().map(|d| RecordedDifferentialDto {
                differential: DifferentialDto::of(&d.value, rules),
                recorded: RecordedDto::of(&d.by, d.at),
            }),
            report: ReportDto {
                status: report_status.into(),
                draft: c.draft.as_ref().map(|d| DraftDto {
                    revision: d.revision,
                    content: ContentDto::of(&d.content),
                    saved: RecordedDto::of(&d.by, d.at),
                }),
                flags: FlagDto::list(flags),
                versions: c.versions.iter().map(VersionDto::of).collect(),
            },
        }
    }
}
