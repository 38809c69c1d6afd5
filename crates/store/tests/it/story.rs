//! One storage story, run on both backends (style habit 8): a synthetic patient walks the
//! whole pathway through the `Store` API, with the illegal moves refused on the way.

use marrow_domain::case::{CaseStatus, Step, TransitionRefused};
use marrow_domain::flags::FlagKind;
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::report::{Finding, ReportContent, SignRefusal};
use marrow_domain::specimen::SpecimenStatus;
use marrow_domain::time::Timestamp;
use marrow_store::{ChainCheck, Stamp, Store, StoreError};
use marrow_testkit::TestDb;
use marrow_testkit::synthetic::{self, Staff};

/// `minutes` after the synthetic clock's `now`: the story's steps happen in order.
fn at(minutes: i64) -> Timestamp {
    synthetic::now().plus_seconds(minutes * 60)
}

fn by(user: marrow_domain::ids::UserId, minutes: i64) -> Stamp {
    Stamp { by: user, at: at(minutes) }
}

/// Asserts that `result` is the pathway refusing `step` from `status`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    step: Step,
    status: CaseStatus,
) {
    match result {
        Err(StoreError::Refused(TransitionRefused { step: s, status: from, .. })) => {
            assert_eq!((s, from), (step, status), "refused, but for another step or status");
        }
        other => panic!("expected {step:?} to be refused from {status:?}, got {other:?}"),
    }
}

async fn bma_story(store: Store) {
    let staff = Staff::insert(&store, "!synthetic: cannot log in").await;

    // Registration; a second patient with the same MRN is a conflict and changes nothing.
    let patient = synthetic::patient(1);
    let patient_id =
        store.create_patient(&patient, by(staff.clinician, 0)).await.expect("register");
    let lower_case_mrn = synthetic::mrn(1).to_lowercase();
    let twin = Patient::parse(
        &PatientInput { given_name: "Sam", ..synthetic::patient_input(&lower_case_mrn) },
        synthetic::today(),
    )
    .expect("a valid registration");
    match store.create_patient(&twin, by(staff.clinician, 1)).await {
        Err(StoreError::Conflict(e)) => assert_eq!(e.field, "mrn"),
        other => panic!("a duplicate MRN must be a conflict on mrn, got {other:?}"),
    }
    assert_eq!(store.patient(patient_id).await.expect("patient").patient, patient);
    assert_eq!(store.patient_count().await.expect("count"), 1);

    // The order.
    let case = store.place_order(patient_id, &synthetic::order(), by(staff.clinician, 5)).await;
    let case = case.expect("order");
    let record = store.case(case).await.expect("case");
    assert_eq!(record.status, CaseStatus::Ordered);
    assert_eq!(record.order.value, synthetic::order());
    assert_eq!(record.order.by.id, staff.clinician);
    assert_eq!(record.order.at, at(5));
    assert_eq!(record.patient.patient, patient);

    // A procedure before the safety check is refused, and the refusal changes nothing.
    let note = synthetic::procedure_note(at(60));
    assert_refused(
        store.record_procedure(case, &note, by(staff.proceduralist, 10)).await,
        Step::Procedure,
        CaseStatus::Ordered,
    );
    let unchanged = store.case(case).await.expect("case");
    assert_eq!(unchanged, record, "a refused step leaves the case exactly as it was");

    // The safety check, with an allergy to see the list round-trip.
    let mut facts = synthetic::safety_facts(at(20));
    facts.allergies.push("Synthetic allergy: adhesive dressings".into());
    let status = store.record_safety_check(case, &facts, by(staff.nurse, 20)).await;
    assert_eq!(status.expect("safety check"), CaseStatus::Checked);
    let record = store.case(case).await.expect("case");
    let safety = record.safety.expect("safety check recorded");
    assert_eq!(safety.value, facts);
    assert_eq!((safety.by.id, safety.at), (staff.nurse, at(20)));

    // The procedure, with its specimens; the count cannot start before they reach the lab.
    let status = store.record_procedure(case, &note, by(staff.proceduralist, 60)).await;
    assert_eq!(status.expect("procedure"), CaseStatus::Performed);
    let record = store.case(case).await.expect("case");
    assert_eq!(record.procedure.expect("procedure recorded").value, note);
    let taken: Vec<_> = record.specimens.iter().map(|s| s.specimen).collect();
    assert_eq!(taken, note.specimens);
    assert!(record.specimens.iter().all(|s| s.status == SpecimenStatus::Collected));
    assert_refused(
        store
            .record_differential(case, &synthetic::differential(), by(staff.technologist, 61))
            .await,
        Step::Differential,
        CaseStatus::Performed,
    );
    assert_refused(
        store.record_safety_check(case, &facts, by(staff.nurse, 62)).await,
        Step::SafetyCheck,
        CaseStatus::Performed,
    );

    // Received in the lab.
    let status = store.receive_specimens(case, by(staff.technologist, 90)).await;
    assert_eq!(status.expect("receive"), CaseStatus::InLab);
    let record = store.case(case).await.expect("case");
    for specimen in &record.specimens {
        assert_eq!(specimen.status, SpecimenStatus::Received);
        let (who, when) = specimen.received.as_ref().expect("received by someone");
        assert_eq!((who.id, *when), (staff.technologist, at(90)));
    }

    // The differential.
    let differential = synthetic::differential();
    let status = store.record_differential(case, &differential, by(staff.technologist, 120)).await;
    assert_eq!(status.expect("differential"), CaseStatus::InLab);
    let counted = store.case(case).await.expect("case").differential.expect("counted");
    assert_eq!(counted.value, differential);
    assert_eq!(counted.value.total(), 500);

    // The draft: revision 0 → 1. A save that started from revision 0 is now stale and is
    // refused without touching the draft.
    let partial = ReportContent { adequacy: None, ..synthetic::report_content() };
    let revision = store.save_report_draft(case, &partial, 0, by(staff.pathologist, 150)).await;
    assert_eq!(revision.expect("first save"), 1);
    let stale = synthetic::report_content();
    match store.save_report_draft(case, &stale, 0, by(staff.technologist, 151)).await {
        Err(StoreError::StaleWrite { .. }) => {}
        other => panic!("a save from revision 0 after revision 1 must be stale, got {other:?}"),
    }
    let draft = store.case(case).await.expect("case").draft.expect("draft");
    assert_eq!((draft.revision, &draft.content), (1, &partial));
    assert_eq!((draft.by.id, draft.at), (staff.pathologist, at(150)));

    // Signing is refused until the aspirate findings are recorded, then while the draft is
    // incomplete; completing it and signing makes version 1.
    match store.sign_report(case, None, by(staff.pathologist, 152)).await {
        Err(StoreError::SignRefused(SignRefusal::NoAspirateFindings)) => {}
        other => panic!("signing without aspirate findings must be refused, got {other:?}"),
    }
    store
        .record_aspirate(case, &synthetic::aspirate(), by(staff.technologist, 153))
        .await
        .expect("aspirate findings");
    match store.sign_report(case, None, by(staff.pathologist, 155)).await {
        Err(StoreError::SignRefused(SignRefusal::Missing("adequacy"))) => {}
        other => panic!("a draft without adequacy must not sign, got {other:?}"),
    }
    assert_eq!(store.case(case).await.expect("case").status, CaseStatus::InLab);
    let content = synthetic::report_content();
    let revision = store.save_report_draft(case, &content, 1, by(staff.pathologist, 160)).await;
    assert_eq!(revision.expect("second save"), 2);
    // The page showed no flags; a signer who saw a flag that is no longer there (or missed
    // one) is refused, so the version records exactly the flags that were shown.
    let flags = store.report_flags(case, Some(&content)).await.expect("flags");
    assert!(flags.is_empty(), "the synthetic normal marrow raises no flag: {flags:?}");
    let seen = vec!["blasts".to_owned()];
    match store.sign_report(case, Some(&seen), by(staff.pathologist, 165)).await {
        Err(StoreError::FlagsChanged) => {}
        other => panic!("a signer who saw other flags must be refused, got {other:?}"),
    }
    let version = store.sign_report(case, Some(&[]), by(staff.pathologist, 170)).await;
    assert_eq!(version.expect("sign"), 1);
    let record = store.case(case).await.expect("case");
    assert_eq!(record.status, CaseStatus::Reported);
    assert_eq!(record.versions.len(), 1);
    let signed = record.current_report().expect("signed").clone();
    assert_eq!(signed.version, 1);
    assert_eq!(signed.content, content);
    assert_eq!(signed.differential, differential);
    assert_eq!(signed.amendment_reason, None);
    assert_eq!((signed.signed_by.id, signed.signed_at), (staff.pathologist, at(170)));
    assert_eq!(signed.aspirate.as_ref(), Some(&synthetic::aspirate()), "aspirate frozen");
    assert!(signed.flags.is_empty());

    // Signed content changes only by amendment.
    let recount = marrow_domain::morphology::Differential::parse([("lymphocytes", "500")]);
    let recount = recount.expect("a valid count");
    assert_refused(
        store.record_differential(case, &recount, by(staff.technologist, 180)).await,
        Step::Differential,
        CaseStatus::Reported,
    );
    assert_refused(
        store.save_report_draft(case, &content, 2, by(staff.pathologist, 181)).await,
        Step::DraftReport,
        CaseStatus::Reported,
    );
    assert_refused(
        store.sign_report(case, None, by(staff.pathologist, 182)).await,
        Step::SignReport,
        CaseStatus::Reported,
    );
    let after_refusals = store.case(case).await.expect("case");
    assert_eq!(after_refusals.versions, vec![signed.clone()]);
    assert_eq!(after_refusals.differential.expect("counted").value, differential);

    // An amendment needs a reason; it adds version 2 and leaves version 1 as signed.
    let amended = ReportContent {
        comment: Some("Trephine concordant (synthetic).".into()),
        granulomas: Some(Finding::Present),
        ..content
    };
    match store.amend_report(case, &amended, "  ", None, by(staff.pathologist, 200)).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field, "reason"),
        other => panic!("a blank amendment reason must be invalid, got {other:?}"),
    }
    let reason = "Trephine biopsy result added.";
    let version =
        store.amend_report(case, &amended, reason, None, by(staff.pathologist, 240)).await;
    assert_eq!(version.expect("amend"), 2);
    let record = store.case(case).await.expect("case");
    assert_eq!(record.status, CaseStatus::Amended);
    assert_eq!(record.versions.len(), 2);
    assert_eq!(record.versions[0], signed, "amending never changes the signed original");
    let v2 = &record.versions[1];
    assert_eq!(v2.version, 2);
    assert_eq!(v2.content, amended);
    assert_eq!(v2.amendment_reason.as_deref(), Some(reason));
    assert_eq!(v2.differential, differential, "an amendment keeps the signed count");
    let kinds: Vec<_> = v2.flags.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FlagKind::Granulomas], "the amendment records the flags it raised");
    assert_eq!(v2.signed_at, at(240));

    // Follow-up: a second marrow for the same patient is a new case.
    let second = store.place_order(patient_id, &synthetic::order(), by(staff.clinician, 600)).await;
    let second = second.expect("second order");
    assert_ne!(second, case);
    let of_patient = store.cases_of_patient(patient_id).await.expect("cases of patient");
    let listed: Vec<_> = of_patient.iter().map(|c| (c.id, c.status)).collect();
    assert_eq!(listed, vec![(second, CaseStatus::Ordered), (case, CaseStatus::Amended)]);
    let amended_cases = store.cases(Some(CaseStatus::Amended), 10, 0).await.expect("cases");
    assert_eq!(amended_cases.iter().map(|c| c.id).collect::<Vec<_>>(), vec![case]);
    assert_eq!(store.cases(None, 10, 0).await.expect("cases").len(), 2);
    assert_eq!(store.cases(None, 1, 1).await.expect("cases")[0].id, case, "paged, newest first");
    assert_eq!(store.case_count().await.expect("count"), 2);

    // The audit log holds every step that happened, in order, and none that was refused.
    let trail = store.audit_for("case", case.0).await.expect("audit");
    let actions: Vec<_> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "case.order",
            "case.safety-check",
            "case.procedure",
            "case.receive-specimens",
            "case.differential",
            "case.draft-report",
            "case.aspirate",
            "case.draft-report",
            "case.sign-report",
            "case.amend-report",
        ]
    );
    let times: Vec<_> = trail.iter().map(|e| e.at).collect();
    assert_eq!(times, [5, 20, 60, 90, 120, 150, 153, 160, 170, 240].map(at));
    assert!(trail.windows(2).all(|w| w[0].id < w[1].id));
    let actors: Vec<_> = trail.iter().map(|e| e.actor_name.as_deref().unwrap_or("?")).collect();
    assert_eq!(actors[0], "Dr Synthetic Clinician");
    assert_eq!(actors[9], "Dr Synthetic Pathologist");
    let amendment = trail[9].after.as_deref().expect("amendment recorded");
    assert!(amendment.contains(reason), "the reason is in the audit record: {amendment}");
    assert!(trail[9].before.as_deref().is_some_and(|b| b.contains("\"version\":1")));
    let registration = store.audit_for("patient", patient_id.0).await.expect("audit");
    assert_eq!(
        registration.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["patient.register"]
    );

    // …and the chain over all of it is intact: 5 users, 1 patient, 10 + 1 case steps.
    let check = store.verify_audit_chain().await.expect("verify");
    assert_eq!(check, ChainCheck { records: 17, first_broken: None });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_sqlite() {
    let db = TestDb::sqlite().await;
    bma_story(db.store()).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_postgres() {
    let db = TestDb::postgres_from_env().await;
    bma_story(db.store()).await;
}
