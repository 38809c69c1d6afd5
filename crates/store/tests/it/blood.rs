//! Blood counts, held messages and milestones on both backends: values round-trip exactly, a
//! batch is all or nothing, a message sent twice is stored once, and the audit chain holds.

use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
use marrow_domain::ids::PatientId;
use marrow_domain::monitoring::{Milestone, MilestoneKind};
use marrow_domain::time::Timestamp;
use marrow_store::{CountSource, NewBloodCount, Stamp, Store, StoreError, Stored};
use marrow_testkit::TestDb;
use marrow_testkit::synthetic::{self, Staff};

fn at(days: i64) -> Timestamp {
    synthetic::now().plus_seconds(days * 86_400)
}

fn raw(values: &[(Analyte, &'static str, &'static str)]) -> Vec<RawResult<'static>> {
    values.iter().map(|&(analyte, value, unit)| RawResult { analyte, value, unit }).collect()
}

async fn blood_story(store: Store) {
    let staff = Staff::insert(&store, "!synthetic").await;
    let patient = store
        .create_patient(&synthetic::patient(1), Stamp { by: staff.clinician, at: at(-100) })
        .await
        .expect("register");
    assert_eq!(
        store.patient_by_mrn(&synthetic::mrn(1)).await.expect("by mrn").map(|p| p.id),
        Some(patient)
    );
    assert!(store.patient_by_mrn("NO-SUCH").await.expect("by mrn").is_none());

    let first_raw = raw(&[
        (Analyte::Haemoglobin, "8.9", "g/dL"),
        (Analyte::Neutrophils, "450", "/uL"),
        (Analyte::Platelets, "23", "10*3/uL"),
    ]);
    let first = BloodCount::parse(at(-30), &first_raw, at(0)).expect("count");
    let second_raw = raw(&[(Analyte::Haemoglobin, "121", "g/L"), (Analyte::Blasts, "0", "%")]);
    let second = BloodCount::parse(at(-2), &second_raw, at(0)).expect("count");
    let stored = store
        .add_blood_counts(
            &[
                NewBloodCount { patient, count: &second, raw: &second_raw },
                NewBloodCount { patient, count: &first, raw: &first_raw },
            ],
            &CountSource::Csv,
            Some(staff.technologist),
            at(0),
        )
        .await
        .expect("store");
    assert!(matches!(stored[..], [Stored::New(_), Stored::New(_)]));

    // Read back oldest first, exactly as converted.
    let counts = store.blood_counts(patient).await.expect("counts");
    assert_eq!(counts.iter().map(|c| &c.count).collect::<Vec<_>>(), [&first, &second]);
    assert_eq!(counts[0].count.get(Analyte::Haemoglobin).expect("haemoglobin").to_string(), "89");
    assert_eq!(counts[0].count.get(Analyte::Neutrophils).expect("neutrophils").to_string(), "0.45");
    assert_eq!(counts[0].source, "csv");
    assert_eq!(counts[0].entered_by.as_ref().map(|u| u.id), Some(staff.technologist));
    let latest = store.latest_blood_count(patient, None).await.expect("latest");
    assert_eq!(latest.map(|c| c.count), Some(second.clone()));
    let before = store.latest_blood_count(patient, Some(at(-10))).await.expect("latest");
    assert_eq!(before.map(|c| c.count), Some(first.clone()));
    assert!(store.latest_blood_count(patient, Some(at(-40))).await.expect("none").is_none());

    // A batch with one bad row (an unknown patient) stores nothing.
    let third = BloodCount::parse(at(-1), &second_raw, at(0)).expect("count");
    let batch = [
        NewBloodCount { patient, count: &third, raw: &second_raw },
        NewBloodCount { patient: PatientId(9_999), count: &third, raw: &second_raw },
    ];
    assert!(store.add_blood_counts(&batch, &CountSource::Csv, None, at(0)).await.is_err());
    assert_eq!(store.blood_counts(patient).await.expect("counts").len(), 2);

    // An HL7 message stored twice (same sender and control id) is recognised.
    let hl7 = CountSource::Hl7 { reference: "LAB|MSG0001".into() };
    let one = [NewBloodCount { patient, count: &third, raw: &second_raw }];
    let a = store.add_blood_counts(&one, &hl7, None, at(0)).await.expect("first");
    let b = store.add_blood_counts(&one, &hl7, None, at(0)).await.expect("again");
    let Stored::New(id) = a[0] else { panic!("first is new: {a:?}") };
    assert_eq!(b, [Stored::AlreadyStored(id)]);
    let counts = store.blood_counts(patient).await.expect("counts");
    assert_eq!(counts.len(), 3);
    assert!(counts[2].entered_by.is_none());

    // Held messages: kept with their reason until reviewed, then still kept.
    let held = store.hold_message("mllp", "MSH|^~\\&|LAB", "OBX 1 (OBX-6): bad unit", at(0)).await;
    let held = held.expect("hold");
    let open = store.held_messages(true, 10).await.expect("held");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].error.as_str()), (held, "OBX 1 (OBX-6): bad unit"));
    store
        .review_held_message(held, Stamp { by: staff.technologist, at: at(0) })
        .await
        .expect("review");
    assert!(store.held_messages(true, 10).await.expect("held").is_empty());
    let all = store.held_messages(false, 10).await.expect("held");
    assert_eq!(all[0].reviewed.as_ref().map(|(u, _)| u.id), Some(staff.technologist));
    assert!(matches!(
        store.review_held_message(404, Stamp { by: staff.technologist, at: at(0) }).await,
        Err(StoreError::NotFound { .. })
    ));

    // Milestones, oldest first.
    let today = marrow_domain::time::Date::of(at(0));
    let transplant =
        Milestone::parse("2026-10-01", "transplant", "Allogeneic, sibling donor", today)
            .expect("milestone");
    let induction =
        Milestone::parse("2026-06-01", "treatment-start", "", today).expect("milestone");
    for m in [&transplant, &induction] {
        store
            .add_milestone(patient, m, Stamp { by: staff.clinician, at: at(0) })
            .await
            .expect("add");
    }
    let milestones = store.milestones(patient).await.expect("milestones");
    assert_eq!(
        milestones.iter().map(|m| m.milestone.kind).collect::<Vec<_>>(),
        [MilestoneKind::TreatmentStart, MilestoneKind::Transplant]
    );
    assert_eq!(milestones[1].milestone, transplant);
    assert!(matches!(
        store
            .add_milestone(PatientId(9_999), &induction, Stamp { by: staff.clinician, at: at(0) })
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let check = store.verify_audit_chain().await.expect("verify");
    assert_eq!(check.first_broken, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blood_counts_on_sqlite() {
    let db = TestDb::sqlite().await;
    blood_story(db.store()).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blood_counts_on_postgres() {
    let db = TestDb::postgres_from_env().await;
    blood_story(db.store()).await;
}

/// Another connection (a second process, or a request whose transaction is still being rolled
/// back) holds SQLite's write lock. A write that reads first must wait for the lock, not fail
/// at once with "database is locked": CI once caught `add_milestone` failing so, right after a
/// refused review had left its transaction to be rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_another_writer_on_sqlite_instead_of_failing() {
    use sqlx::Connection as _;
    let db = TestDb::sqlite().await;
    let store = db.store();
    let staff = Staff::insert(&store, "!synthetic").await;
    let patient = store
        .create_patient(&synthetic::patient(1), Stamp { by: staff.clinician, at: at(-100) })
        .await
        .expect("register");
    let path = db.sqlite_path().expect("a SQLite file").display().to_string();
    let mut other =
        sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{path}")).await.expect("open");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.expect("take the write lock");

    let today = marrow_domain::time::Date::of(at(0));
    let milestone = Milestone::parse("2026-10-01", "transplant", "", today).expect("milestone");
    let writer = tokio::spawn(async move {
        store.add_milestone(patient, &milestone, Stamp { by: staff.clinician, at: at(0) }).await
    });
    // Well inside the five-second busy timeout.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut other).await.expect("release the lock");
    writer.await.expect("the task").expect("the write waited for the lock and went through");
    assert_eq!(db.store().milestones(patient).await.expect("milestones").len(), 1);
}
