//! Synthetic demo data: obviously fake patients with cases at every step of the pathway, and
//! one demo user per role. Everything goes through the same domain parsing and store calls as
//! real input, so the demo can never hold a state the pathway forbids.

use anyhow::Context;
use marrow_domain::aspirate::{Aspirate, AspirateInput};
use marrow_domain::ids::{CaseId, UserId};
use marrow_domain::morphology::Differential;
use marrow_domain::order::{Order, OrderInput};
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::procedure::{ProcedureInput, ProcedureNote};
use marrow_domain::report::{ReportContent, ReportInput};
use marrow_domain::role::Role;
use marrow_domain::safety::{MedicationInput, SafetyFacts, SafetyInput};
use marrow_domain::time::{Date, Timestamp};
use marrow_server::auth;
use marrow_store::{Stamp, Store};

/// The demo staff: one per role.
struct Staff {
    clinician: UserId,
    nurse: UserId,
    technologist: UserId,
    pathologist: UserId,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// How far along the pathway a demo case goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Ordered,
    Checked,
    Performed,
    InLab,
    Reported,
    Amended,
}

const STAGES: [Stage; 6] = [
    Stage::Ordered,
    Stage::Checked,
    Stage::Performed,
    Stage::InLab,
    Stage::Reported,
    Stage::Amended,
];

/// Fills an empty database; returns (username, role, password) of each demo user.
pub async fn fill(store: &Store, now: Timestamp) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut printed = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for &role in Role::ALL {
        let username = role.code().to_owned();
        let display = format!("Demo {}", role.label());
        // 20 random hex characters: 80 bits, plenty for a demo and above the 12-character rule.
        let password = auth::new_token()[..20].to_owned();
        let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
        let id = store.create_user(&username, &display, role, &hash, None, now).await?;
        ids.insert(role, id);
        printed.push((username, role.label().to_owned(), password));
    }
    let staff = Staff {
        clinician: ids[&Role::Clinician],
        nurse: ids[&Role::Nurse],
        technologist: ids[&Role::Technologist],
        pathologist: ids[&Role::Pathologist],
    };
    let people = [
        ("Synthetic", "Alex", "1958-03-14", "female"),
        ("Example", "Sam", "1971-11-02", "male"),
        ("Placeholder", "Robin", "1949-07-23", "female"),
        ("Fictional", "Jordan", "1983-01-30", "male"),
        ("Specimen", "Kim", "1966-09-09", "other"),
        ("Testcase", "Chris", "1990-05-17", "female"),
        ("Mockperson", "Lee", "1977-12-01", "male"),
    ];
    let indications = [
        (
            "abnormal-blood-counts",
            vec!["platelets-low", "neutrophils-low"],
            "aspirate-trephine",
            "routine",
        ),
        ("suspected-blood-cancer", vec![], "aspirate-trephine", "urgent"),
        ("staging", vec![], "aspirate-trephine", "routine"),
        ("known-blood-cancer-monitoring", vec![], "aspirate", "routine"),
        ("before-transplant", vec![], "aspirate-trephine", "routine"),
        ("after-transplant", vec![], "aspirate", "routine"),
        ("abnormal-blood-counts", vec!["red-cells-low"], "aspirate", "urgent"),
    ];
    let today = Date::of(now);
    for (i, ((family, given, dob, sex), (indication, lineages, sampling, urgency))) in
        people.iter().zip(indications).enumerate()
    {
        let mrn = format!("DEMO-{:04}", i + 1);
        let patient = Patient::parse(
            &PatientInput {
                mrn: &mrn,
                family_name: family,
                given_name: given,
                date_of_birth: dob,
                sex,
                language: "en",
            },
            today,
        )?;
        let start = now.plus_seconds(-(10 - i as i64) * DAY);
        let pid = store.create_patient(&patient, Stamp { by: staff.clinician, at: start }).await?;
        let order = Order::parse(&OrderInput {
            indication,
            lineages,
            sampling,
            urgency,
            clinical_details: "Synthetic demo case. FBC and film attached in the demo narrative only.",
            ..OrderInput::default()
        })?;
        let case = store.place_order(pid, &order, Stamp { by: staff.clinician, at: start }).await?;
        let stage = STAGES.get(i).copied().unwrap_or(Stage::Ordered);
        walk(store, &staff, case, &order, Plan { stage, start, variant: i, serial: None })
            .await
            .with_context(|| format!("demo case {i}"))?;
    }
    monitored_patient(store, &staff, now).await.context("demo timeline patient")?;
    Ok(printed)
}

/// How far a demo case goes, from when, which of the fixed variations it takes, and for the
/// monitored patient its own marrow.
struct Plan<'a> {
    stage: Stage,
    start: Timestamp,
    variant: usize,
    serial: Option<&'a SerialMarrow>,
}

/// One marrow of the demo's serially monitored patient.
struct SerialMarrow {
    /// Days before today the marrow was ordered.
    days_ago: i64,
    indication: &'static str,
    /// Blasts in about 500 cells.
    blasts: &'static str,
    cellularity: &'static str,
    megakaryocytes: &'static str,
    interpretation: &'static str,
}

/// A synthetic patient with acute myeloid leukaemia followed over fourteen months: diagnosis,
/// induction, remission, transplant and relapse, so the timeline has five marrows, the blood
/// counts around each, and treatment milestones to show.
async fn monitored_patient(store: &Store, staff: &Staff, now: Timestamp) -> anyhow::Result<()> {
    use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
    use marrow_domain::monitoring::Milestone;
    use marrow_store::{CountSource, NewBloodCount};

    let today = Date::of(now);
    let patient = Patient::parse(
        &PatientInput {
            mrn: "DEMO-0100",
            family_name: "Timeline",
            given_name: "Morgan",
            date_of_birth: "1962-04-18",
            sex: "male",
            language: "en",
        },
        today,
    )?;
    let day = |days_ago: i64| now.plus_seconds(-days_ago * DAY);
    let pid = store.create_patient(&patient, Stamp { by: staff.clinician, at: day(430) }).await?;
    // (days ago, Hb g/dL, WBC ×10⁹/L, neutrophils /µL, platelets ×10³/µL, film blasts %):
    // mixed units on purpose, as analysers send them; stored converted.
    let counts: [(i64, &str, &str, &str, &str, &str); 9] = [
        (425, "8.2", "38.5", "900", "34", "41"),
        (395, "7.4", "0.6", "100", "18", "0"),
        (386, "8.1", "1.1", "300", "28", "0"),
        (366, "10.9", "4.2", "2100", "165", "0"),
        (326, "12.1", "5.0", "2900", "201", "0"),
        (250, "10.2", "3.1", "1500", "112", "0"),
        (120, "12.8", "5.6", "3200", "188", "0"),
        (45, "12.0", "4.4", "2300", "140", "0"),
        (12, "10.6", "3.9", "1400", "88", "3"),
    ];
    for (days_ago, hb, wbc, neutrophils, platelets, blasts) in counts {
        let raw = [
            RawResult { analyte: Analyte::Haemoglobin, value: hb, unit: "g/dL" },
            RawResult { analyte: Analyte::WhiteCells, value: wbc, unit: "10*9/L" },
            RawResult { analyte: Analyte::Neutrophils, value: neutrophils, unit: "/uL" },
            RawResult { analyte: Analyte::Platelets, value: platelets, unit: "10*3/uL" },
            RawResult { analyte: Analyte::Blasts, value: blasts, unit: "%" },
        ];
        let count = BloodCount::parse(day(days_ago), &raw, now)?;
        let new = [NewBloodCount { patient: pid, count: &count, raw: &raw }];
        store
            .add_blood_counts(&new, &CountSource::Manual, Some(staff.nurse), day(days_ago))
            .await?;
    }
    let marrows = [
        SerialMarrow {
            days_ago: 424,
            indication: "suspected-blood-cancer",
            blasts: "310",
            cellularity: "hypercellular",
            megakaryocytes: "decreased",
            interpretation: "Acute myeloid leukaemia: blasts replace most of the marrow. Correlate with flow cytometry, cytogenetics and molecular studies.",
        },
        SerialMarrow {
            days_ago: 390,
            indication: "known-blood-cancer-monitoring",
            blasts: "20",
            cellularity: "hypocellular",
            megakaryocytes: "decreased",
            interpretation: "Day 28 after induction: hypocellular regenerating marrow; blasts 4 %, counts not yet recovered.",
        },
        SerialMarrow {
            days_ago: 368,
            indication: "known-blood-cancer-monitoring",
            blasts: "8",
            cellularity: "normocellular",
            megakaryocytes: "normal",
            interpretation: "Regenerating marrow with trilineage haemopoiesis; blasts below 5 %.",
        },
        SerialMarrow {
            days_ago: 322,
            indication: "before-transplant",
            blasts: "6",
            cellularity: "normocellular",
            megakaryocytes: "normal",
            interpretation: "Pre-transplant marrow: no excess of blasts.",
        },
        SerialMarrow {
            days_ago: 14,
            indication: "after-transplant",
            blasts: "47",
            cellularity: "normocellular",
            megakaryocytes: "decreased",
            interpretation: "Blasts 9 %: recurrence of the known leukaemia is suspected. Correlate with chimerism and flow cytometry.",
        },
    ];
    for (i, marrow) in marrows.iter().enumerate() {
        let start = day(marrow.days_ago);
        let order = Order::parse(&OrderInput {
            indication: marrow.indication,
            sampling: "aspirate-trephine",
            urgency: if i == 0 { "urgent" } else { "routine" },
            clinical_details: "Synthetic demo patient followed over time.",
            ..OrderInput::default()
        })?;
        let case = store.place_order(pid, &order, Stamp { by: staff.clinician, at: start }).await?;
        walk(
            store,
            staff,
            case,
            &order,
            Plan { stage: Stage::Reported, start, variant: 10 + i, serial: Some(marrow) },
        )
        .await
        .with_context(|| format!("demo serial marrow {i}"))?;
    }
    let milestones = [
        (419, "treatment-start", "Induction chemotherapy (7+3)"),
        (360, "treatment-cycle", "Consolidation, cycle 1"),
        (309, "transplant", "Allogeneic transplant, matched unrelated donor"),
    ];
    for (days_ago, kind, description) in milestones {
        let on = Date::of(day(days_ago)).to_string();
        let m = Milestone::parse(&on, kind, description, today)?;
        store.add_milestone(pid, &m, Stamp { by: staff.clinician, at: day(days_ago) }).await?;
    }
    Ok(())
}

/// Adds `cases` synthetic cases spread evenly over every stage, for load tests.
pub async fn seed_synthetic(store: &Store, cases: u32, now: Timestamp) -> anyhow::Result<()> {
    let mut ids = std::collections::HashMap::new();
    for role in [Role::Clinician, Role::Nurse, Role::Technologist, Role::Pathologist] {
        let username = format!("seed-{}", role.code());
        let id = match store.user_for_login(&username).await? {
            Some((u, _)) => u.id,
            None => {
                // An unusable hash: seed users exist only to sign the synthetic records.
                store
                    .create_user(&username, &format!("Seed {}", role.label()), role, "!", None, now)
                    .await?
            }
        };
        ids.insert(role, id);
    }
    let staff = Staff {
        clinician: ids[&Role::Clinician],
        nurse: ids[&Role::Nurse],
        technologist: ids[&Role::Technologist],
        pathologist: ids[&Role::Pathologist],
    };
    let offset = store.patient_count().await?;
    let today = Date::of(now);
    for n in 0..cases {
        let mrn = format!("SEED-{:06}", offset + i64::from(n) + 1);
        let dob = format!("19{:02}-0{}-1{}", 40 + n % 55, 1 + n % 9, n % 10);
        let patient = Patient::parse(
            &PatientInput {
                mrn: &mrn,
                family_name: "Seedpatient",
                given_name: "Synthetic",
                date_of_birth: &dob,
                sex: "unknown",
                language: "en",
            },
            today,
        )?;
        let start = now.plus_seconds(-i64::from(n) * 600);
        let pid = store.create_patient(&patient, Stamp { by: staff.clinician, at: start }).await?;
        let order = Order::parse(&OrderInput {
            indication: "suspected-blood-cancer",
            sampling: "aspirate-trephine",
            urgency: "routine",
            ..OrderInput::default()
        })?;
        let case = store.place_order(pid, &order, Stamp { by: staff.clinician, at: start }).await?;
        let stage = STAGES[n as usize % STAGES.len()];
        walk(store, &staff, case, &order, Plan { stage, start, variant: n as usize, serial: None })
            .await?;
    }
    Ok(())
}

async fn walk(
    store: &Store,
    staff: &Staff,
    case: CaseId,
    order: &Order,
    plan: Plan<'_>,
) -> anyhow::Result<()> {
    let Plan { stage, start, variant, serial } = plan;
    let at = |hours: i64| start.plus_seconds(hours * HOUR);
    if stage < Stage::Checked {
        return Ok(());
    }
    let bloods = at(1).to_rfc3339();
    let last_dose = at(-20).to_rfc3339();
    let facts = SafetyFacts::parse(
        &SafetyInput {
            medications: if variant.is_multiple_of(2) {
                vec![MedicationInput {
                    name: "Aspirin",
                    class: "antiplatelet",
                    dose: "75 mg daily",
                    last_dose_at: &last_dose,
                }]
            } else {
                vec![]
            },
            allergies: if variant.is_multiple_of(3) { vec!["Penicillin (rash)"] } else { vec![] },
            platelets: ["85", "142", "231", "64"][variant % 4],
            inr: ["1.0", "1.1", "1.2"][variant % 3],
            bloods_taken_at: &bloods,
            sedation_planned: variant % 2 == 1,
            escort_arranged: variant % 2 == 1,
            immunocompromised: variant % 4 == 3,
        },
        at(2),
    )?;
    store.record_safety_check(case, &facts, Stamp { by: staff.nurse, at: at(2) }).await?;
    if stage < Stage::Performed {
        return Ok(());
    }
    let performed = at(24).to_rfc3339();
    let mut specimens = vec![
        ("smears", "morphology"),
        ("edta", "flow-cytometry"),
        ("sodium-heparin", "cytogenetics"),
    ];
    let trephine = order.sampling == marrow_domain::order::Sampling::AspirateAndTrephine;
    if trephine {
        specimens.push(("trephine-formalin", "histopathology"));
    }
    let note = ProcedureNote::parse(
        &ProcedureInput {
            operator: "Demo Proceduralist",
            performed_at: &performed,
            site: "posterior-iliac-crest",
            side: if variant.is_multiple_of(2) { "right" } else { "left" },
            position: "lateral",
            local_anaesthetic: "Lidocaine 1%, 10 mL",
            sedation: if variant % 2 == 1 { "oral" } else { "none" },
            specimens,
            complications: "",
            specimen_volumes: vec!["0.3", "2.5", "2.5"],
            time_out: true,
            needle: "Jamshidi 11G",
            passes: "1",
            dry_tap: false,
            trephine_length_mm: if trephine { "17" } else { "" },
            haemostasis: "Pressure 5 min; dry dressing",
        },
        order.sampling,
        at(25),
    )?;
    store.record_procedure(case, &note, Stamp { by: staff.nurse, at: at(25) }).await?;
    if stage < Stage::InLab {
        return Ok(());
    }
    store.receive_specimens(case, Stamp { by: staff.technologist, at: at(26) }).await?;
    // A plausible 500-cell adult count; the monitoring case carries excess blasts.
    let blasts = if variant % 7 == 3 { "48" } else { "8" };
    let counts = [
        ("blasts", serial.map_or(blasts, |m| m.blasts)),
        ("promyelocytes", "18"),
        ("myelocytes", "52"),
        ("metamyelocytes", "40"),
        ("band-neutrophils", "60"),
        ("segmented-neutrophils", "95"),
        ("eosinophils", "14"),
        ("basophils", "2"),
        ("monocytes", "12"),
        ("lymphocytes", "60"),
        ("plasma-cells", "4"),
        ("proerythroblasts", "3"),
        ("basophilic-erythroblasts", "20"),
        ("polychromatic-erythroblasts", "70"),
        ("orthochromatic-erythroblasts", "42"),
        ("smudge", "11"),
        ("macrophages", "2"),
    ];
    // A serial marrow keeps about 500 cells: the other classes shrink as the blasts grow.
    let scaled: Vec<(&str, String)> = counts
        .iter()
        .map(|&(class, n)| match serial {
            Some(m) if class != "blasts" && class != "smudge" && class != "macrophages" => {
                let blasts: u32 = m.blasts.parse().unwrap_or(0);
                let n: u32 = n.parse().unwrap_or(0);
                (class, (n * 500u32.saturating_sub(blasts) / 492).to_string())
            }
            _ => (class, n.to_owned()),
        })
        .collect();
    let differential = Differential::parse(scaled.iter().map(|(c, n)| (*c, n.as_str())))?;
    store
        .record_differential(case, &differential, Stamp { by: staff.technologist, at: at(28) })
        .await?;
    let aspirate = Aspirate::parse(&AspirateInput {
        particles: "adequate",
        trail_cellularity: "normocellular",
        particle_cellularity: "normocellular",
        haemodilution: if variant % 5 == 2 { "marked" } else { "mild" },
        megakaryocytes: serial.map_or("normal", |m| m.megakaryocytes),
        iron_stain: "2",
        ring_sideroblasts: "",
        particles_examined_for_iron: "9",
        comment: "",
    })?;
    store.record_aspirate(case, &aspirate, Stamp { by: staff.technologist, at: at(29) }).await?;
    let content = ReportContent::parse(&ReportInput {
        adequacy: "adequate",
        cellularity: serial.map_or("normocellular", |m| m.cellularity),
        erythropoiesis: "Normoblastic with full maturation; no dysplasia.",
        granulopoiesis: "Full maturation; no dysplasia.",
        megakaryopoiesis: "Present in normal numbers with normal morphology.",
        lymphoid: "Lymphocytes and plasma cells not increased.",
        morphology: "Particulate, cellular aspirate. No abnormal infiltrate.",
        granulomas: "not-seen",
        organisms: "not-seen",
        haemophagocytosis: "not-seen",
        interpretation: if let Some(m) = serial {
            m.interpretation
        } else if variant % 7 == 3 {
            "Increased blasts; correlate with flow cytometry and cytogenetics."
        } else {
            "Normocellular marrow with trilineage haemopoiesis. No excess of blasts."
        },
        comment: "Synthetic demo report.",
    })?;
    store
        .save_report_draft(case, &content, 0, Stamp { by: staff.technologist, at: at(30) })
        .await?;
    if stage < Stage::Reported {
        return Ok(());
    }
    store.sign_report(case, None, Stamp { by: staff.pathologist, at: at(32) }).await?;
    if stage < Stage::Amended {
        return Ok(());
    }
    let amended = ReportContent {
        comment: Some("Cytogenetics normal (added on amendment).".into()),
        ..content
    };
    store
        .amend_report(
            case,
            &amended,
            "Cytogenetics result added",
            None,
            Stamp { by: staff.pathologist, at: at(72) },
        )
        .await?;
    Ok(())
}
