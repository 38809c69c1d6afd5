//! Synthetic fixtures: obviously fake, unremarkable values that pass every rule (style habit 9).
//!
//! Every value is built through the same `parse` as production code, from the `*_input()` raw
//! text, so a fixture can never hold something the forms would refuse. A test changes only what
//! it is about and keeps the rest, e.g.
//!
//! ```
//! use marrow_domain::order::{Order, OrderInput};
//! use marrow_testkit::synthetic;
//!
//! let urgent = Order::parse(&OrderInput { urgency: "urgent", ..synthetic::order_input() })
//!     .expect("an urgent order is valid");
//! assert_eq!(urgent.sampling, synthetic::order().sampling, "everything else is the default");
//! ```
//!
//! Names are `Testpatient`/`Alex`, MRNs are `SYN-00001`, staff are "Synthetic …", and the clock
//! is fixed at [`now`] (2026-11-24T09:00:00Z), so outputs are deterministic.

use marrow_domain::aspirate::{Aspirate, AspirateInput};
use marrow_domain::case::CaseStatus;
use marrow_domain::ids::{CaseId, PatientId, UserId};
use marrow_domain::morphology::Differential;
use marrow_domain::order::{Order, OrderInput};
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::procedure::{ProcedureInput, ProcedureNote};
use marrow_domain::report::{ReportContent, ReportInput};
use marrow_domain::role::Role;
use marrow_domain::safety::{MedicationInput, SafetyFacts, SafetyInput};
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{Stamp, Store};

/// The fixed "now" of every fixture: 2026-11-24T09:00:00Z.
pub fn now() -> Timestamp {
    Timestamp::parse("now", "2026-11-24T09:00:00Z").expect("a valid fixed instant")
}

/// The date of [`now`]: 2026-11-24.
pub fn today() -> Date {
    Date::of(now())
}

/// A who-and-when for a store call: `by`, at [`now`].
pub fn stamp(by: UserId) -> Stamp {
    Stamp { by, at: now() }
}

/// The synthetic MRN of patient `n`: `SYN-00001` for 1.
pub fn mrn(n: u32) -> String {
    format!("SYN-{n:05}")
}

/// The raw registration of an unremarkable adult (born 1970-05-01) with this MRN.
pub fn patient_input(mrn: &str) -> PatientInput<'_> {
    PatientInput {
        mrn,
        family_name: "Testpatient",
        given_name: "Alex",
        date_of_birth: "1970-05-01",
        sex: "female",
        language: "en",
    }
}

/// Synthetic patient `n`: MRN [`mrn`]`(n)`, "TESTPATIENT, Alex".
pub fn patient(n: u32) -> Patient {
    Patient::parse(&patient_input(&mrn(n)), today()).expect("the synthetic patient is valid")
}

/// The raw text of a routine order: low neutrophils, aspirate and trephine.
pub fn order_input() -> OrderInput<'static> {
    OrderInput {
        indication: "abnormal-blood-counts",
        lineages: vec!["neutrophils-low"],
        indication_text: "",
        sampling: "aspirate-trephine",
        urgency: "routine",
        clinical_details: "Synthetic test order. Neutrophils 1.2 x10^9/L on two counts a month \
                           apart; otherwise well.",
    }
}

/// A routine order (see [`order_input`]).
pub fn order() -> Order {
    Order::parse(&order_input()).expect("the synthetic order is valid")
}

/// The raw text of an unremarkable safety check, taken at [`now`]: one harmless medication
/// (paracetamol), no known allergies, platelets 250 ×10⁹/L and INR 1.0 from bloods taken at
/// 07:30, no sedation.
pub fn safety_input() -> SafetyInput<'static> {
    SafetyInput {
        medications: vec![MedicationInput {
            name: "Paracetamol",
            class: "other",
            dose: "1 g up to four times daily as needed",
            last_dose_at: "",
        }],
        allergies: vec![],
        platelets: "250",
        inr: "1.0",
        bloods_taken_at: "2026-11-24T07:30:00Z",
        sedation_planned: false,
        escort_arranged: false,
        immunocompromised: false,
    }
}

/// The safety facts of [`safety_input`], with the bloods taken 90 minutes before `now`.
pub fn safety_facts(now: Timestamp) -> SafetyFacts {
    let bloods = now.plus_seconds(-90 * 60).to_rfc3339();
    let input = SafetyInput { bloods_taken_at: &bloods, ..safety_input() };
    SafetyFacts::parse(&input, now).expect("the synthetic safety check is valid")
}

/// The specimens of [`procedure_input`]: smears and EDTA for morphology, EDTA for flow
/// cytometry, heparin for cytogenetics, and the trephine core for histopathology.
pub const SPECIMENS: [(&str, &str); 5] = [
    ("smears", "morphology"),
    ("edta", "morphology"),
    ("edta", "flow-cytometry"),
    ("sodium-heparin", "cytogenetics"),
    ("trephine-formalin", "histopathology"),
];

/// The raw text of an uneventful procedure at 08:30 on [`now`]'s day: right posterior iliac
/// crest, lateral position, local anaesthetic only, five specimens ([`SPECIMENS`]).
pub fn procedure_input() -> ProcedureInput<'static> {
    ProcedureInput {
        operator: "Dr Synthetic Operator",
        performed_at: "2026-11-24T08:30:00Z",
        site: "posterior-iliac-crest",
        side: "right",
        position: "lateral",
        local_anaesthetic: "Lidocaine 1% 10 mL",
        sedation: "none",
        specimens: SPECIMENS.to_vec(),
        complications: "",
        specimen_volumes: vec!["0.3", "2.5", "2.5", "2.0", ""],
        time_out: true,
        needle: "Jamshidi 11G",
        passes: "2",
        dry_tap: false,
        trephine_length_mm: "18",
        haemostasis: "Pressure 5 min; dry dressing",
    }
}

/// The note of [`procedure_input`], performed 30 minutes before `now`, for the
/// aspirate-and-trephine sampling of [`order`].
pub fn procedure_note(now: Timestamp) -> ProcedureNote {
    let performed = now.plus_seconds(-30 * 60).to_rfc3339();
    let input = ProcedureInput { performed_at: &performed, ..procedure_input() };
    ProcedureNote::parse(&input, order().sampling, now)
        .expect("the synthetic procedure note is valid")
}

/// A 500-cell differential of a normal adult marrow, as typed into the count form: blasts 1.4%,
/// a full granulocytic maturation series, erythroblasts 25%, lymphocytes 16%, plasma cells 1.2%;
/// M:E ratio 2.31:1.
pub const NORMAL_MARROW: [(&str, &str); 15] = [
    ("blasts", "7"),
    ("promyelocytes", "15"),
    ("myelocytes", "65"),
    ("metamyelocytes", "55"),
    ("band-neutrophils", "50"),
    ("segmented-neutrophils", "65"),
    ("eosinophils", "15"),
    ("basophils", "2"),
    ("monocytes", "15"),
    ("lymphocytes", "80"),
    ("plasma-cells", "6"),
    ("proerythroblasts", "3"),
    ("basophilic-erythroblasts", "12"),
    ("polychromatic-erythroblasts", "75"),
    ("orthochromatic-erythroblasts", "35"),
];

/// The differential of [`NORMAL_MARROW`] (500 nucleated cells).
pub fn differential() -> Differential {
    Differential::parse(NORMAL_MARROW).expect("the synthetic differential is valid")
}

/// The raw text of a complete report of a normal marrow.
pub fn report_input() -> ReportInput<'static> {
    ReportInput {
        adequacy: "adequate",
        cellularity: "normocellular",
        erythropoiesis: "Normoblastic with full maturation; no dysplasia.",
        granulopoiesis: "Full maturation; no dysplasia. No excess of blasts.",
        megakaryopoiesis: "Normal morphology.",
        lymphoid: "Lymphocytes and plasma cells not increased.",
        morphology: "Particulate, cellular aspirate. No abnormal infiltrate.",
        granulomas: "not-seen",
        organisms: "not-seen",
        haemophagocytosis: "not-seen",
        interpretation: "Normal marrow aspirate. No evidence of a haematological neoplasm. \
                         (Synthetic test report.)",
        comment: "Correlate with the trephine biopsy report to follow.",
    }
}

/// The raw text of the aspirate findings: particulate, not haemodiluted, normocellular, normal
/// megakaryocytes, iron 2+ from 9 particles.
pub fn aspirate_input() -> AspirateInput<'static> {
    AspirateInput {
        particles: "adequate",
        trail_cellularity: "normocellular",
        particle_cellularity: "normocellular",
        haemodilution: "none",
        megakaryocytes: "normal",
        iron_stain: "2",
        ring_sideroblasts: "",
        particles_examined_for_iron: "9",
        comment: "",
    }
}

/// The fields of [`report_input`] as (form/API name, value) pairs.
pub fn report_fields() -> Vec<(&'static str, &'static str)> {
    let r = report_input();
    vec![
        ("adequacy", r.adequacy),
        ("cellularity", r.cellularity),
        ("erythropoiesis", r.erythropoiesis),
        ("granulopoiesis", r.granulopoiesis),
        ("megakaryopoiesis", r.megakaryopoiesis),
        ("lymphoid", r.lymphoid),
        ("morphology", r.morphology),
        ("granulomas", r.granulomas),
        ("organisms", r.organisms),
        ("haemophagocytosis", r.haemophagocytosis),
        ("interpretation", r.interpretation),
        ("comment", r.comment),
    ]
}

/// [`report_fields`] as a JSON object (the API's draft and amendment bodies), with `extra`
/// members added or replacing them.
pub fn report_json(extra: serde_json::Value) -> serde_json::Value {
    let mut body: serde_json::Map<String, serde_json::Value> = report_fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect();
    if let serde_json::Value::Object(extra) = extra {
        body.extend(extra);
    }
    serde_json::Value::Object(body)
}

/// The fields of [`aspirate_input`] as (form/API name, value) pairs; blanks left out.
pub fn aspirate_fields() -> Vec<(&'static str, &'static str)> {
    let a = aspirate_input();
    [
        ("particles", a.particles),
        ("trail_cellularity", a.trail_cellularity),
        ("particle_cellularity", a.particle_cellularity),
        ("haemodilution", a.haemodilution),
        ("megakaryocytes", a.megakaryocytes),
        ("iron_stain", a.iron_stain),
        ("ring_sideroblasts", a.ring_sideroblasts),
        ("particles_examined_for_iron", a.particles_examined_for_iron),
        ("comment", a.comment),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

/// The aspirate findings of [`aspirate_input`].
pub fn aspirate() -> Aspirate {
    Aspirate::parse(&aspirate_input()).expect("the synthetic aspirate findings are valid")
}

/// A complete report that may be signed (see [`report_input`]).
pub fn report_content() -> ReportContent {
    ReportContent::parse(&report_input()).expect("the synthetic report is valid")
}

/// One synthetic user per clinical role, as inserted by [`Staff::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staff {
    /// `syn.clinician`, "Dr Synthetic Clinician": registers patients and orders.
    pub clinician: UserId,
    /// `syn.proceduralist`, "Dr Synthetic Proceduralist": safety check and procedure.
    pub proceduralist: UserId,
    /// `syn.nurse`, "Synthetic Nurse": safety check.
    pub nurse: UserId,
    /// `syn.technologist`, "Synthetic Technologist": receives specimens, counts.
    pub technologist: UserId,
    /// `syn.pathologist`, "Dr Synthetic Pathologist": drafts and signs reports.
    pub pathologist: UserId,
}

impl Staff {
    /// The users, as (username, display name, role).
    pub const USERS: [(&'static str, &'static str, Role); 5] = [
        ("syn.clinician", "Dr Synthetic Clinician", Role::Clinician),
        ("syn.proceduralist", "Dr Synthetic Proceduralist", Role::Proceduralist),
        ("syn.nurse", "Synthetic Nurse", Role::Nurse),
        ("syn.technologist", "Synthetic Technologist", Role::Technologist),
        ("syn.pathologist", "Dr Synthetic Pathologist", Role::Pathologist),
    ];

    /// Inserts the five users, all with `password_hash` (pass a real hash to log in through
    /// the server; any text will do for store tests). Created by "the command line" at [`now`].
    pub async fn insert(store: &Store, password_hash: &str) -> Self {
        let mut ids = Vec::with_capacity(Self::USERS.len());
        for (username, display_name, role) in Self::USERS {
            let id = store
                .create_user(username, display_name, role, password_hash, None, now())
                .await
                .unwrap_or_else(|e| panic!("insert synthetic user {username}: {e}"));
            ids.push(id);
        }
        Self {
            clinician: ids[0],
            proceduralist: ids[1],
            nurse: ids[2],
            technologist: ids[3],
            pathologist: ids[4],
        }
    }
}

/// Registers [`patient`]`(n)` and walks a new case along the pathway until it reaches
/// `status`, using the default fixtures, each step by the right member of `staff`, all at
/// [`now`]. `InLab` includes the differential and a complete draft (ready to sign); `Amended`
/// is one amendment. Panics on any refusal: the defaults must pass every rule.
pub async fn case_at(
    store: &Store,
    staff: &Staff,
    n: u32,
    status: CaseStatus,
) -> (PatientId, CaseId) {
    let patient = store
        .create_patient(&patient(n), stamp(staff.clinician))
        .await
        .expect("register the synthetic patient");
    let case =
        store.place_order(patient, &order(), stamp(staff.clinician)).await.expect("place order");
    let reached = |s: CaseStatus| status >= s;
    if reached(CaseStatus::Checked) {
        store
            .record_safety_check(case, &safety_facts(now()), stamp(staff.nurse))
            .await
            .expect("record the safety check");
    }
    if reached(CaseStatus::Performed) {
        store
            .record_procedure(case, &procedure_note(now()), stamp(staff.proceduralist))
            .await
            .expect("record the procedure");
    }
    if reached(CaseStatus::InLab) {
        store
            .receive_specimens(case, stamp(staff.technologist))
            .await
            .expect("receive the specimens");
        store
            .record_differential(case, &differential(), stamp(staff.technologist))
            .await
            .expect("record the differential");
        store
            .record_aspirate(case, &aspirate(), stamp(staff.technologist))
            .await
            .expect("record the aspirate findings");
        store
            .save_report_draft(case, &report_content(), 0, stamp(staff.pathologist))
            .await
            .expect("save the report draft");
    }
    if reached(CaseStatus::Reported) {
        store.sign_report(case, None, stamp(staff.pathologist)).await.expect("sign the report");
    }
    if reached(CaseStatus::Amended) {
        let amended = ReportContent {
            comment: Some("Trephine biopsy reviewed: concordant. (Synthetic amendment.)".into()),
            ..report_content()
        };
        store
            .amend_report(case, &amended, "Trephine result added.", None, stamp(staff.pathologist))
            .await
            .expect("amend the report");
    }
    (patient, case)
}

/// The [`NORMAL_MARROW`] differential with `blasts` blasts and `plasma_cells` plasma cells
/// in place of its own (the other classes unchanged), for serial marrows that differ.
pub fn differential_with(blasts: u32, plasma_cells: u32) -> Differential {
    let (blasts, plasma) = (blasts.to_string(), plasma_cells.to_string());
    Differential::parse(NORMAL_MARROW.iter().map(|&(class, n)| match class {
        "blasts" => (class, blasts.as_str()),
        "plasma-cells" => (class, plasma.as_str()),
        _ => (class, n),
    }))
    .expect("a synthetic differential is valid")
}

/// Walks a new case of `patient` to a signed report with `differential`, every step stamped
/// at `at` (an hour apart), so serial marrows can be placed in time. Returns the case.
pub async fn signed_marrow(
    store: &Store,
    staff: &Staff,
    patient: PatientId,
    at: Timestamp,
    differential: &Differential,
) -> CaseId {
    let step = |hours: i64, by: UserId| Stamp { by, at: at.plus_seconds(hours * 3600) };
    let case = store.place_order(patient, &order(), step(0, staff.clinician)).await.expect("order");
    store
        .record_safety_check(case, &safety_facts(at.plus_seconds(3600)), step(1, staff.nurse))
        .await
        .expect("safety check");
    store
        .record_procedure(
            case,
            &procedure_note(at.plus_seconds(2 * 3600)),
            step(2, staff.proceduralist),
        )
        .await
        .expect("procedure");
    store.receive_specimens(case, step(3, staff.technologist)).await.expect("receive");
    store
        .record_differential(case, differential, step(4, staff.technologist))
        .await
        .expect("count");
    store.record_aspirate(case, &aspirate(), step(4, staff.technologist)).await.expect("aspirate");
    store
        .save_report_draft(case, &report_content(), 0, step(5, staff.pathologist))
        .await
        .expect("draft");
    store.sign_report(case, None, step(6, staff.pathologist)).await.expect("sign");
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::morphology::{CellClass, MeRatio};

    #[test]
    fn every_default_fixture_parses() {
        assert_eq!(now().to_rfc3339(), "2026-11-24T09:00:00Z");
        assert_eq!(patient(7).mrn.reveal(), "SYN-00007");
        assert_eq!(patient(7).display_name(), "TESTPATIENT, Alex");
        assert_eq!(order().indication.lineages().len(), 1);
        assert_eq!(safety_facts(now()).bloods_taken_at, Some(now().plus_seconds(-5400)));
        assert_eq!(procedure_note(now()).specimens.len(), SPECIMENS.len());
        assert!(report_content().interpretation.is_some());
        // The 'static inputs hold the same values as the `now`-relative builders at `now`.
        assert_eq!(SafetyFacts::parse(&safety_input(), now()).ok(), Some(safety_facts(now())));
        let note = ProcedureNote::parse(&procedure_input(), order().sampling, now());
        assert_eq!(note.ok(), Some(procedure_note(now())));
    }

    #[test]
    fn the_differential_is_a_plausible_normal_marrow() {
        let d = differential();
        assert_eq!(d.total(), 500);
        assert_eq!(d.excluded(), 0);
        let blasts = d.percent(CellClass::Blast).expect("blasts are in the differential");
        assert!(blasts < 5.0, "blasts {blasts}% would not be normal");
        let MeRatio::Ratio(me) = d.me_ratio() else { panic!("erythroid cells were counted") };
        assert!((2.0..=4.0).contains(&me), "M:E {me} outside the usual 2-4:1");
    }
}
