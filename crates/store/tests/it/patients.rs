//! The patient's language (the pages and discharge sheet they read) is stored and read back on
//! both backends, English when none was given, and audited with the registration.

use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::patient_text::Language;
use marrow_store::{Stamp, Store};
use marrow_testkit::TestDb;
use marrow_testkit::synthetic::{self, Staff};

async fn language_story(store: Store) {
    let staff = Staff::insert(&store, "!synthetic: cannot log in").await;
    let stamp = Stamp { by: staff.clinician, at: synthetic::now() };

    let english = synthetic::patient(1);
    assert_eq!(english.language, Language::English);
    let english_id = store.create_patient(&english, stamp).await.expect("register");

    let mrn = synthetic::mrn(2);
    let input = PatientInput { language: "es", ..synthetic::patient_input(&mrn) };
    let spanish = Patient::parse(&input, synthetic::today()).expect("a valid registration");
    let spanish_id = store.create_patient(&spanish, stamp).await.expect("register");

    assert_eq!(
        store.patient(english_id).await.expect("patient").patient.language,
        Language::English
    );
    let read = store.patient(spanish_id).await.expect("patient");
    assert_eq!(read.patient, spanish, "the whole registration round-trips, language included");
    let listed: Vec<Language> =
        store.patients(10).await.expect("list").iter().map(|p| p.patient.language).collect();
    assert!(listed.contains(&Language::Spanish) && listed.contains(&Language::English));

    let audit = store.audit_for("patient", spanish_id.0).await.expect("audit");
    let after = audit[0].after.as_deref().expect("a registration records what was stored");
    assert!(after.contains("\"language\":\"es\""), "{after}");
}

#[tokio::test]
async fn the_patients_language_is_stored_on_sqlite() {
    language_story(TestDb::sqlite().await.store()).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn the_patients_language_is_stored_on_postgres() {
    language_story(TestDb::postgres_from_env().await.store()).await;
}
