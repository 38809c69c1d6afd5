//! Cases: the order and every step after it. Each step is one transaction that starts by
//! bumping the case's version (taking the case's lock on both backends), asks the domain whether
//! the step is allowed from the current status, writes the facts, moves the status and appends
//! the audit record.

use marrow_domain::aspirate::Aspirate;
use marrow_domain::case::{CaseStatus, Step, advance};
use marrow_domain::flags::{Flag, FlagContext, FlagKind, report_flags};
use marrow_domain::ids::{CaseId, PatientId, SpecimenId, UserId};
use marrow_domain::morphology::CountingRules;
use marrow_domain::morphology::{CellClass, Differential};
use marrow_domain::order::{Order, OrderInput};
use marrow_domain::procedure::{Position, ProcedureNote, ProcedureSteps, Sedation, Side, Site};
use marrow_domain::reference::ReferenceTable;
use marrow_domain::report::{
    Adequacy, Cellularity, Finding, ReportContent, amendment_reason, ready_to_sign,
};
use marrow_domain::safety::{DrugClass, Inr, Medication, PlateletCount, SafetyFacts};
use marrow_domain::specimen::{Destination, SpecimenStatus, SpecimenTaken, Tube};
use marrow_domain::time::Timestamp;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::patients::{PATIENT_COLUMNS, PatientRecord, patient_from};
use super::users::UserRef;
use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, flag, next_id, opt_timestamp, timestamp};
use crate::{Stamp, Store, StoreError};

/// What the safety check records beside the facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetyExtras {
    /// Creatinine clearance in mL/min, where a drug's hold time depends on it.
    pub creatinine_clearance: Option<u32>,
    /// Findings the clinician overrode: (rule code, reason).
    pub overrides: Vec<(String, String)>,
}

/// A fact with who recorded it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<T> {
    /// The fact.
    pub value: T,
    /// Who recorded it.
    pub by: UserRef,
    /// When.
    pub at: Timestamp,
}

/// A specimen and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecimenRecord {
    /// Id (printed on its label).
    pub id: SpecimenId,
    /// Tube and destination.
    pub specimen: SpecimenTaken,
    /// Collected or received.
    pub status: SpecimenStatus,
    /// Who received it in the lab, and when.
    pub received: Option<(UserRef, Timestamp)>,
}

/// The report draft being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    /// The content so far.
    pub content: ReportContent,
    /// The revision a save must name (optimistic concurrency).
    pub revision: i64,
    /// Last saved by.
    pub by: UserRef,
    /// Last saved at.
    pub at: Timestamp,
}

/// A signed version of the report; never changed once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportVersion {
    /// 1 for the original sign-out, then one more per amendment.
    pub version: i64,
    /// What was signed.
    pub content: ReportContent,
    /// The differential as it was signed.
    pub differential: Differential,
    /// Why it was amended (absent for version 1).
    pub amendment_reason: Option<String>,
    /// The site's extra exclusions from the denominator when this version was signed.
    pub excluded: CountingRules,
    /// The aspirate findings as signed; `None` only for versions signed before they were
    /// frozen with the report.
    pub aspirate: Option<Aspirate>,
    /// The interpretive flags shown to the pathologist when signing.
    pub flags: Vec<Flag>,
    /// The pathologist who signed.
    pub signed_by: UserRef,
    /// When.
    pub signed_at: Timestamp,
}

/// A case with everything recorded so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Id.
    pub id: CaseId,
    /// The patient.
    pub patient: PatientRecord,
    /// Where the case is.
    pub status: CaseStatus,
    /// Bumped by every change.
    pub version: i64,
    /// The order.
    pub order: Recorded<Order>,
    /// The safety check, once recorded.
    pub safety: Option<Recorded<SafetyFacts>>,
    /// The procedure note, once recorded.
    pub procedure: Option<Recorded<ProcedureNote>>,
    /// Specimens from the procedure note.
    pub specimens: Vec<SpecimenRecord>,
    /// The differential count, once recorded.
    pub differential: Option<Recorded<Differential>>,
    /// The report draft, while there is one.
    pub draft: Option<DraftRecord>,
    /// Signed versions, oldest first.
    pub versions: Vec<ReportVersion>,
}

impl CaseRecord {
    /// The latest signed version, if any.
    pub fn current_report(&self) -> Option<&ReportVersion> {
        self.versions.last()
    }
}

/// One line of a case list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// Case id.
    pub id: CaseId,
    /// The patient.
    pub patient: PatientRecord,
    /// Status.
    pub status: CaseStatus,
    /// The order.
    pub order: Order,
    /// When ordered.
    pub ordered_at: Timestamp,
}

fn user_ref(row: &AnyRow, id_col: &str, name_col: &str) -> Result<UserRef, StoreError> {
    Ok(UserRef { id: UserId(col(row, id_col)?), display_name: col(row, name_col)? })
}

fn order_from(row: &AnyRow) -> Result<Order, StoreError> {
    let indication: String = col(row, "indication")?;
    let lineages: String = col(row, "indication_lineages")?;
    let text: Option<String> = col(row, "indication_text")?;
    let sampling: String = col(row, "sampling")?;
    let urgency: String = col(row, "urgency")?;
    let details: Option<String> = col(row, "clinical_details")?;
    let input = OrderInput {
        indication: &indication,
        lineages: lineages.split(',').filter(|s| !s.is_empty()).collect(),
        indication_text: text.as_deref().unwrap_or(""),
        sampling: &sampling,
        urgency: &urgency,
        clinical_details: details.as_deref().unwrap_or(""),
    };
    Order::parse(&input).map_err(corrupt)
}

/// The columns a case-list line reads (see [`summary_from`]), with [`PATIENT_COLUMNS`].
const SUMMARY_COLUMNS: &str =
    "c.id, c.status, c.indication, c.indication_lineages, c.indication_text,
    c.sampling, c.urgency, c.clinical_details, c.ordered_at";

fn summary_from(r: &AnyRow) -> Result<CaseSummary, StoreError> {
    Ok(CaseSummary {
        id: CaseId(col(r, "id")?),
        patient: patient_from(r)?,
        status: status_from(r)?,
        order: order_from(r)?,
        ordered_at: timestamp(r, "ordered_at")?,
    })
}

fn status_from(row: &AnyRow) -> Result<CaseStatus, StoreError> {
    let status: String = col(row, "status")?;
    CaseStatus::parse(&status).map_err(corrupt)
}

fn content_from(row: &AnyRow) -> Result<ReportContent, StoreError> {
    let adequacy: Option<String> = col(row, "adequacy")?;
    let cellularity: Option<String> = col(row, "cellularity")?;
    let finding = |name: &str| -> Result<Option<Finding>, StoreError> {
        let raw: Option<String> = col(row, name)?;
        raw.map(|f| Finding::parse(&f)).transpose().map_err(corrupt)
    };
    Ok(ReportContent {
        adequacy: adequacy.map(|a| Adequacy::parse(&a)).transpose().map_err(corrupt)?,
        cellularity: cellularity.map(|c| Cellularity::parse(&c)).transpose().map_err(corrupt)?,
        erythropoiesis: col(row, "erythropoiesis")?,
        granulopoiesis: col(row, "granulopoiesis")?,
        megakaryopoiesis: col(row, "megakaryopoiesis")?,
        lymphoid: col(row, "lymphoid")?,
        granulomas: finding("granulomas")?,
        organisms: finding("organisms")?,
        haemophagocytosis: finding("haemophagocytosis")?,
        morphology: col(row, "morphology")?,
        interpretation: col(row, "interpretation")?,
        comment: col(row, "comment")?,
    })
}

/// The frozen form of a differential in a signed version: `blasts=12;lymphocytes=80`.
fn differential_code(d: &Differential) -> String {
    d.counts().map(|(c, n)| format!("{}={n}", c.code())).collect::<Vec<_>>().join(";")
}

fn differential_from_code(raw: &str) -> Result<Differential, StoreError> {
    let mut counts = Vec::new();
    for part in raw.split(';').filter(|p| !p.is_empty()) {
        let (class, n) = part
            .split_once('=')
            .ok_or_else(|| StoreError::Corrupt(format!("differential {part:?}")))?;
        let class = CellClass::parse(class).map_err(corrupt)?;
        let n: u32 =
            n.parse().map_err(|_| StoreError::Corrupt(format!("differential {part:?}")))?;
        counts.push((class, n));
    }
    Ok(Differential::from_counts(counts))
}

fn order_json(o: &Order) -> Value {
    json!({
        "indication": o.indication.kind().code(),
        "lineages": o.indication.lineages().iter().map(|l| l.code()).collect::<Vec<_>>(),
        "indication_text": o.indication.other_text(),
        "sampling": o.sampling.code(),
        "urgency": o.urgency.code(),
        "clinical_details": o.clinical_details,
    })
}

fn safety_json(s: &SafetyFacts) -> Value {
    json!({
        "medications": s.medications.iter().map(|m| json!({
            "name": m.name, "class": m.class.code(), "dose": m.dose,
            "last_dose_at": m.last_dose_at.map(Timestamp::to_rfc3339),
        })).collect::<Vec<_>>(),
        "allergies": s.allergies,
        "platelets": s.platelets.map(PlateletCount::per_nanolitre),
        "inr": s.inr.map(|i| i.to_string()),
        "bloods_taken_at": s.bloods_taken_at.map(Timestamp::to_rfc3339),
        "sedation_planned": s.sedation_planned,
        "escort_arranged": s.escort_arranged,
        "immunocompromised": s.immunocompromised,
    })
}

fn procedure_json(p: &ProcedureNote) -> Value {
    json!({
        "operator": p.operator,
        "performed_at": p.performed_at.to_rfc3339(),
        "site": p.site.code(), "side": p.side.code(), "position": p.position.code(),
        "local_anaesthetic": p.local_anaesthetic,
        "sedation": p.sedation.code(),
        "specimens": p.specimens.iter().map(|s| json!({"tube": s.tube.code(), "destination": s.destination.code()})).collect::<Vec<_>>(),
        "complications": p.complications,
        "time_out_done": p.steps.time_out_done,
        "needle": p.steps.needle,
        "passes": p.steps.passes,
        "dry_tap": p.steps.dry_tap,
        "trephine_length_mm": p.steps.trephine_length_mm,
        "haemostasis": p.steps.haemostasis,
        "volumes_ml": p.specimens.iter().map(|s| s.volume_ml.map(|v| v.to_string())).collect::<Vec<_>>(),
    })
}

fn differential_json(d: &Differential) -> Value {
    Value::Object(d.counts().map(|(c, n)| (c.code().to_owned(), json!(n))).collect())
}

fn content_json(c: &ReportContent) -> Value {
    json!({
        "adequacy": c.adequacy.map(Adequacy::code),
        "cellularity": c.cellularity.map(Cellularity::code),
        "erythropoiesis": c.erythropoiesis,
        "granulopoiesis": c.granulopoiesis,
        "megakaryopoiesis": c.megakaryopoiesis,
        "lymphoid": c.lymphoid,
        "morphology": c.morphology,
        "granulomas": c.granulomas.map(Finding::code),
        "organisms": c.organisms.map(Finding::code),
        "haemophagocytosis": c.haemophagocytosis.map(Finding::code),
        "interpretation": c.interpretation,
        "comment": c.comment,
    })
}

/// Locks the case for this transaction and returns its status.
pub(crate) async fn lock_case(
    conn: &mut AnyConnection,
    case: CaseId,
    at: Timestamp,
) -> Result<CaseStatus, StoreError> {
    let status: Option<String> = sqlx::query_scalar(
        "UPDATE cases SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING status",
    )
    .bind(case.0)
    .bind(at.to_rfc3339())
    .fetch_optional(&mut *conn)
    .await?;
    let status = status.ok_or(StoreError::NotFound { what: "case", id: case.0 })?;
    CaseStatus::parse(&status).map_err(corrupt)
}

async fn set_status(
    conn: &mut AnyConnection,
    case: CaseId,
    status: CaseStatus,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET status = $2 WHERE id = $1")
        .bind(case.0)
        .bind(status.code())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends the audit record of a step, with the status move in both before and after.
async fn audit_step(
    conn: &mut AnyConnection,
    stamp: Stamp,
    case: CaseId,
    step: Step,
    (from, to): (CaseStatus, CaseStatus),
    before: Option<Value>,
    after: Value,
) -> Result<(), StoreError> {
    let action = format!("case.{}", step.code());
    let before = Some(json!({"status": from.code(), "facts": before}));
    let after = Some(json!({"status": to.code(), "facts": after}));
    let change = Change { action: &action, entity: "case", entity_id: case.0, before, after };
    append(conn, Some(stamp.by.0), stamp.at, change).await
}

impl Store {
    /// Places an order for a registered patient; the case starts as `ordered`.
    pub async fn place_order(
        &self,
        patient: PatientId,
        order: &Order,
        stamp: Stamp,
    ) -> Result<CaseId, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "cases").await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM patients WHERE id = $1")
            .bind(patient.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "patient", id: patient.0 });
        }
        let lineages: Vec<String> = order.indication.lineages().iter().map(|l| l.code()).collect();
        sqlx::query(
            "INSERT INTO cases (id, patient_id, status, version, indication, indication_lineages, indication_text,
                                sampling, urgency, clinical_details, ordered_by, ordered_at, updated_at)
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id)
        .bind(patient.0)
        .bind(CaseStatus::Ordered.code())
        .bind(order.indication.kind().code())
        .bind(lineages.join(","))
        .bind(order.indication.other_text())
        .bind(order.sampling.code())
        .bind(order.urgency.code())
        .bind(order.clinical_details.as_deref())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let after = json!({"status": CaseStatus::Ordered.code(), "patient_id": patient.0, "order": order_json(order)});
        let change = Change {
            action: "case.order",
            entity: "case",
            entity_id: id,
            before: None,
            after: Some(after),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(CaseId(id))
    }

    /// Records (or revises, before the procedure) the safety check facts.
    pub async fn record_safety_check(
        &self,
        case: CaseId,
        facts: &SafetyFacts,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        self.record_safety_check_with(case, facts, &SafetyExtras::default(), stamp).await
    }

    /// Records the safety check with the renal function and the clinician's overrides of
    /// findings (each with its reason). The caller has asked the domain's rules whether the
    /// case may move to "checked"; the overrides are stored and audited with the facts.
    pub async fn record_safety_check_with(
        &self,
        case: CaseId,
        facts: &SafetyFacts,
        extras: &SafetyExtras,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::SafetyCheck)?;
        let before = self.safety_in(&mut tx, case).await?.map(|r| safety_json(&r.value));
        for table in ["medications", "allergies", "safety_checks"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE case_id = $1"))
                .bind(case.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO safety_checks (case_id, platelets, inr_hundredths, bloods_taken_at, sedation_planned,
                                        escort_arranged, immunocompromised, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(case.0)
        .bind(facts.platelets.map(|p| i64::from(p.per_nanolitre())))
        .bind(facts.inr.map(|i| i64::from(i.hundredths())))
        .bind(facts.bloods_taken_at.map(Timestamp::to_rfc3339))
        .bind(i64::from(facts.sedation_planned))
        .bind(i64::from(facts.escort_arranged))
        .bind(i64::from(facts.immunocompromised))
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        for (i, m) in facts.medications.iter().enumerate() {
            sqlx::query(
                "INSERT INTO medications (case_id, position, name, drug_class, dose, last_dose_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(case.0)
            .bind(i as i64)
            .bind(&m.name)
            .bind(m.class.code())
            .bind(&m.dose)
            .bind(m.last_dose_at.map(Timestamp::to_rfc3339))
            .execute(&mut *tx)
            .await?;
        }
        for (i, a) in facts.allergies.iter().enumerate() {
            sqlx::query(
                "INSERT INTO allergies (case_id, position, description) VALUES ($1, $2, $3)",
            )
            .bind(case.0)
            .bind(i as i64)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE safety_checks SET creatinine_clearance = $2 WHERE case_id = $1")
            .bind(case.0)
            .bind(extras.creatinine_clearance.map(i64::from))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM safety_overrides WHERE case_id = $1")
            .bind(case.0)
            .execute(&mut *tx)
            .await?;
        for (rule, reason) in &extras.overrides {
            sqlx::query(
                "INSERT INTO safety_overrides (case_id, rule, reason, overridden_by, overridden_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case.0)
            .bind(rule)
            .bind(reason)
            .bind(stamp.by.0)
            .bind(stamp.at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
        }
        set_status(&mut tx, case, to).await?;
        let mut after = safety_json(facts);
        after["creatinine_clearance"] = json!(extras.creatinine_clearance);
        after["overrides"] = json!(
            extras
                .overrides
                .iter()
                .map(|(r, why)| json!({"rule": r, "reason": why}))
                .collect::<Vec<_>>()
        );
        audit_step(&mut tx, stamp, case, Step::SafetyCheck, (from, to), before, after).await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Records the procedure note and its specimens.
    pub async fn record_procedure(
        &self,
        case: CaseId,
        note: &ProcedureNote,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::Procedure)?;
        sqlx::query(
            "INSERT INTO procedures (case_id, operator, performed_at, site, side, position, local_anaesthetic,
                                     sedation, complications, recorded_by, recorded_at, time_out_done, needle,
                                     passes, dry_tap, trephine_length_mm, haemostasis)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(case.0)
        .bind(&note.operator)
        .bind(note.performed_at.to_rfc3339())
        .bind(note.site.code())
        .bind(note.side.code())
        .bind(note.position.code())
        .bind(&note.local_anaesthetic)
        .bind(note.sedation.code())
        .bind(note.complications.as_deref())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .bind(i64::from(note.steps.time_out_done))
        .bind(note.steps.needle.as_deref())
        .bind(note.steps.passes.map(i64::from))
        .bind(i64::from(note.steps.dry_tap))
        .bind(note.steps.trephine_length_mm.map(i64::from))
        .bind(note.steps.haemostasis.as_deref())
        .execute(&mut *tx)
        .await?;
        for (i, s) in note.specimens.iter().enumerate() {
            let id = next_id(&mut tx, "specimens").await?;
            sqlx::query(
                "INSERT INTO specimens (id, case_id, position, tube, destination, status, volume_tenths) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(case.0)
            .bind(i as i64)
            .bind(s.tube.code())
            .bind(s.destination.code())
            .bind(SpecimenStatus::Collected.code())
            .bind(s.volume_ml.map(|v| i64::from(v.get())))
            .execute(&mut *tx)
            .await?;
        }
        set_status(&mut tx, case, to).await?;
        audit_step(&mut tx, stamp, case, Step::Procedure, (from, to), None, procedure_json(note))
            .await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Marks every specimen of the case received in the lab.
    pub async fn receive_specimens(
        &self,
        case: CaseId,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::ReceiveSpecimens)?;
        let received = sqlx::query(
            "UPDATE specimens SET status = $2, received_by = $3, received_at = $4 WHERE case_id = $1",
        )
        .bind(case.0)
        .bind(SpecimenStatus::Received.code())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        set_status(&mut tx, case, to).await?;
        let after = json!({"specimens_received": received});
        audit_step(&mut tx, stamp, case, Step::ReceiveSpecimens, (from, to), None, after).await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Records (or replaces, before sign-out) the differential count.
    pub async fn record_differential(
        &self,
        case: CaseId,
        differential: &Differential,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let mut tx = self.write_tx().await?;
        let to = self.record_differential_in(&mut tx, case, differential, stamp).await?;
        tx.commit().await?;
        Ok(to)
    }

    /// The differential step inside a caller's transaction (also used when a count finishes).
    pub(crate) async fn record_differential_in(
        &self,
        tx: &mut AnyConnection,
        case: CaseId,
        differential: &Differential,
        stamp: Stamp,
    ) -> Result<CaseStatus, StoreError> {
        let from = lock_case(tx, case, stamp.at).await?;
        let to = advance(from, Step::Differential)?;
        let before = self.differential_in(tx, case).await?.map(|d| differential_json(&d.value));
        sqlx::query("DELETE FROM differential_counts WHERE case_id = $1")
            .bind(case.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM differentials WHERE case_id = $1")
            .bind(case.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO differentials (case_id, recorded_by, recorded_at) VALUES ($1, $2, $3)",
        )
        .bind(case.0)
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        for (class, cells) in differential.counts() {
            sqlx::query(
                "INSERT INTO differential_counts (case_id, cell_class, cells) VALUES ($1, $2, $3)",
            )
            .bind(case.0)
            .bind(class.code())
            .bind(i64::from(cells))
            .execute(&mut *tx)
            .await?;
        }
        set_status(tx, case, to).await?;
        audit_step(
            tx,
            stamp,
            case,
            Step::Differential,
            (from, to),
            before,
            differential_json(differential),
        )
        .await?;

        Ok(to)
    }

    /// Saves the report draft. `expected_revision` is the revision the editor loaded (0 when
    /// there was no draft); if someone saved since, the save is refused as a stale write.
    /// Returns the new revision.
    pub async fn save_report_draft(
        &self,
        case: CaseId,
        content: &ReportContent,
        expected_revision: i64,
        stamp: Stamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::DraftReport)?;
        let current = self.draft_in(&mut tx, case).await?;
        let current_revision = current.as_ref().map_or(0, |d| d.revision);
        if current_revision != expected_revision {
            return Err(StoreError::StaleWrite { what: "report draft" });
        }
        sqlx::query("DELETE FROM report_drafts WHERE case_id = $1")
            .bind(case.0)
            .execute(&mut *tx)
            .await?;
        let revision = current_revision + 1;
        let insert = sqlx::query(
            "INSERT INTO report_drafts (case_id, adequacy, cellularity, morphology, interpretation, comment,
                                        revision, updated_by, updated_at, erythropoiesis, granulopoiesis,
                                        megakaryopoiesis, lymphoid, granulomas, organisms, haemophagocytosis)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(case.0)
        .bind(content.adequacy.map(Adequacy::code))
        .bind(content.cellularity.map(Cellularity::code))
        .bind(content.morphology.as_deref())
        .bind(content.interpretation.as_deref())
        .bind(content.comment.as_deref())
        .bind(revision)
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339());
        bind_synoptic(insert, content).execute(&mut *tx).await?;
        let before = current.map(|d| content_json(&d.content));
        audit_step(
            &mut tx,
            stamp,
            case,
            Step::DraftReport,
            (from, to),
            before,
            content_json(content),
        )
        .await?;
        tx.commit().await?;
        Ok(revision)
    }

    /// The interpretive flags for a case's report as it would be signed now, with `content`
    /// (the draft being written) for the findings it records. The report form shows exactly
    /// these; signing recomputes them in its transaction and stores them.
    pub async fn report_flags(
        &self,
        case: CaseId,
        content: Option<&ReportContent>,
    ) -> Result<Vec<Flag>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(differential) = self.differential_in(&mut conn, case).await? else {
            return Ok(Vec::new());
        };
        let versions = self.versions_in(&mut conn, case).await?;
        let (rules, aspirate) = flag_inputs(&mut conn, case, versions.last()).await?;
        let target = count_target(&mut conn, case).await?;
        Ok(flags_for(&differential.value, &rules, target, aspirate.as_ref(), content))
    }

    /// Signs the draft as version 1. The caller has checked the signer is a pathologist; the
    /// domain checks the draft is complete. `shown` is the flag codes the signer's page showed:
    /// when given and the flags have changed since (a new count, new findings), signing is
    /// refused so that what is recorded as shown is what was shown.
    pub async fn sign_report(
        &self,
        case: CaseId,
        shown: Option<&[String]>,
        stamp: Stamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::SignReport)?;
        let draft = self.draft_in(&mut tx, case).await?;
        let differential = self.differential_in(&mut tx, case).await?;
        let (rules, aspirate) = flag_inputs(&mut tx, case, None).await?;
        let content = draft.as_ref().map(|d| &d.content);
        let counted = differential.as_ref().map(|d| &d.value);
        ready_to_sign(content, counted, aspirate.is_some())?;
        let (Some(content), Some(counted)) = (content, counted) else {
            return Err(StoreError::Corrupt("draft checked but missing".into()));
        };
        let target = count_target(&mut tx, case).await?;
        let flags = flags_for(counted, &rules, target, aspirate.as_ref(), Some(content));
        check_shown(shown, &flags)?;
        let frozen = Frozen {
            differential: counted,
            aspirate: aspirate.as_ref(),
            flags: &flags,
            rules: &rules,
        };
        insert_version(&mut tx, case, 1, content, &frozen, None, stamp).await?;
        set_status(&mut tx, case, to).await?;
        let after = json!({"version": 1, "content": content_json(content), "differential": differential_json(counted), "flags": flags_json(&flags)});
        audit_step(&mut tx, stamp, case, Step::SignReport, (from, to), None, after).await?;
        tx.commit().await?;
        Ok(1)
    }

    /// Signs an amendment: a new version with its reason. Earlier versions stay as they were.
    /// The differential and aspirate findings are those of the version it amends; `shown` as
    /// for [`Store::sign_report`].
    pub async fn amend_report(
        &self,
        case: CaseId,
        content: &ReportContent,
        reason: &str,
        shown: Option<&[String]>,
        stamp: Stamp,
    ) -> Result<i64, StoreError> {
        let reason = amendment_reason(reason).map_err(StoreError::Invalid)?;
        let mut tx = self.write_tx().await?;
        let from = lock_case(&mut tx, case, stamp.at).await?;
        let to = advance(from, Step::AmendReport)?;
        let versions = self.versions_in(&mut tx, case).await?;
        let latest = versions
            .last()
            .ok_or_else(|| StoreError::Corrupt("signed case without a version".into()))?;
        let (rules, aspirate) = flag_inputs(&mut tx, case, Some(latest)).await?;
        ready_to_sign(Some(content), Some(&latest.differential), aspirate.is_some())?;
        let target = count_target(&mut tx, case).await?;
        let flags =
            flags_for(&latest.differential, &rules, target, aspirate.as_ref(), Some(content));
        check_shown(shown, &flags)?;
        let version = latest.version + 1;
        // The new version freezes the site's exclusions in force now, as a first signature does.
        let site = site_rules(&mut tx).await?;
        let frozen = Frozen {
            differential: &latest.differential,
            aspirate: aspirate.as_ref(),
            flags: &flags,
            rules: &site,
        };
        insert_version(&mut tx, case, version, content, &frozen, Some(&reason), stamp).await?;
        set_status(&mut tx, case, to).await?;
        let before =
            Some(json!({"version": latest.version, "content": content_json(&latest.content)}));
        let after = json!({"version": version, "reason": reason, "content": content_json(content), "flags": flags_json(&flags)});
        audit_step(&mut tx, stamp, case, Step::AmendReport, (from, to), before, after).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Cases, newest order first, optionally only in one status.
    pub async fn cases(
        &self,
        status: Option<CaseStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        let filter = if status.is_some() { "WHERE c.status = $3" } else { "" };
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, {PATIENT_COLUMNS}
             FROM cases c JOIN patients p ON p.id = c.patient_id {filter}
             ORDER BY c.ordered_at DESC, c.id DESC LIMIT $1 OFFSET $2"
        );
        let mut query = sqlx::query(&sql).bind(limit).bind(offset);
        if let Some(status) = status {
            query = query.bind(status.code());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(summary_from).collect()
    }

    /// The cases of one patient, newest first.
    pub async fn cases_of_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, {PATIENT_COLUMNS}
             FROM cases c JOIN patients p ON p.id = c.patient_id WHERE c.patient_id = $1
             ORDER BY c.ordered_at DESC, c.id DESC"
        );
        let rows = sqlx::query(&sql).bind(patient.0).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from).collect()
    }

    /// How many cases there are.
    pub async fn case_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&self.pool).await?)
    }

    /// One case with everything recorded so far.
    ///
    /// The case page is the busiest read, so the one-to-one records (safety check, procedure,
    /// differential header, draft) come in the case's own row by LEFT JOIN, and each list is
    /// read only when its parent exists: four to six queries rather than a dozen.
    pub async fn case(&self, id: CaseId) -> Result<CaseRecord, StoreError> {
        // Not a transaction: BEGIN/COMMIT cost two more round trips to the SQLite worker thread.
        // The status and every one-to-one record come from one statement; the lists a step
        // writes are read only when that row says the step happened.
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(&format!(
            "SELECT c.id, c.status, c.version, c.indication, c.indication_lineages, c.indication_text, c.sampling,
                    c.urgency, c.clinical_details, c.ordered_by, c.ordered_at, ou.display_name AS orderer,
                    {PATIENT_COLUMNS}, {SAFETY_COLUMNS}, {PROCEDURE_COLUMNS}, {DIFFERENTIAL_COLUMNS}, dc.*, {DRAFT_COLUMNS}
             FROM cases c
             JOIN patients p ON p.id = c.patient_id
             JOIN users ou ON ou.id = c.ordered_by
             LEFT JOIN safety_checks s ON s.case_id = c.id
             LEFT JOIN users su ON su.id = s.recorded_by
             LEFT JOIN procedures pr ON pr.case_id = c.id
             LEFT JOIN users pru ON pru.id = pr.recorded_by
             LEFT JOIN differentials d ON d.case_id = c.id
             LEFT JOIN users du ON du.id = d.recorded_by
             LEFT JOIN ({counts}) dc ON dc.case_id = c.id
             LEFT JOIN report_drafts rd ON rd.case_id = c.id
             LEFT JOIN users rdu ON rdu.id = rd.updated_by
             WHERE c.id = $1",
            counts = counts_by_class()
        ))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound { what: "case", id: id.0 })?;
        let status = status_from(&row)?;
        let has = |column: &str| -> Result<bool, StoreError> {
            Ok(col::<Option<i64>>(&row, column)?.is_some())
        };
        let safety =
            if has("s_case")? { Some(safety_from(&row, &mut conn, id).await?) } else { None };
        let specimens =
            if has("pr_case")? { self.specimens_in(&mut conn, id).await? } else { Vec::new() };
        let procedure =
            if has("pr_case")? { Some(procedure_from(&row, &specimens)?) } else { None };
        let differential = if has("d_case")? { Some(differential_from(&row)?) } else { None };
        let draft = if has("rd_case")? { Some(draft_from(&row)?) } else { None };
        let versions = if matches!(status, CaseStatus::Reported | CaseStatus::Amended) {
            self.versions_in(&mut conn, id).await?
        } else {
            Vec::new()
        };
        let record = CaseRecord {
            id,
            patient: patient_from(&row)?,
            status,
            version: col(&row, "version")?,
            order: Recorded {
                value: order_from(&row)?,
                by: user_ref(&row, "ordered_by", "orderer")?,
                at: timestamp(&row, "ordered_at")?,
            },
            safety,
            procedure,
            specimens,
            differential,
            draft,
            versions,
        };
        Ok(record)
    }

    /// The renal function and overrides recorded with a case's safety check.
    pub async fn safety_extras(&self, case: CaseId) -> Result<SafetyExtras, StoreError> {
        let crcl: Option<Option<i64>> =
            sqlx::query_scalar("SELECT creatinine_clearance FROM safety_checks WHERE case_id = $1")
                .bind(case.0)
                .fetch_optional(&self.pool)
                .await?;
        let rows = sqlx::query(
            "SELECT rule, reason FROM safety_overrides WHERE case_id = $1 ORDER BY rule",
        )
        .bind(case.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(SafetyExtras {
            creatinine_clearance: crcl.flatten().and_then(|c| u32::try_from(c).ok()),
            overrides: rows
                .iter()
                .map(|r| Ok((col(r, "rule")?, col(r, "reason")?)))
                .collect::<Result<_, StoreError>>()?,
        })
    }

    async fn safety_in(
        &self,
        conn: &mut AnyConnection,
        case: CaseId,
    ) -> Result<Option<Recorded<SafetyFacts>>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SAFETY_COLUMNS} FROM safety_checks s JOIN users su ON su.id = s.recorded_by WHERE s.case_id = $1"
        ))
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some(row) => Ok(Some(safety_from(&row, conn, case).await?)),
            None => Ok(None),
        }
    }

    async fn specimens_in(
        &self,
        conn: &mut AnyConnection,
        case: CaseId,
    ) -> Result<Vec<SpecimenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.tube, s.destination, s.status, s.received_by, s.received_at, s.volume_tenths, u.display_name
             FROM specimens s LEFT JOIN users u ON u.id = s.received_by WHERE s.case_id = $1 ORDER BY s.position",
        )
        .bind(case.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                let tube: String = col(r, "tube")?;
                let destination: String = col(r, "destination")?;
                let status: String = col(r, "status")?;
                let received_by: Option<i64> = col(r, "received_by")?;
                let received_at = opt_timestamp(r, "received_at")?;
                let received = match (received_by, received_at) {
                    (Some(id), Some(at)) => Some((
                        UserRef { id: UserId(id), display_name: col(r, "display_name")? },
                        at,
                    )),
                    _ => None,
                };
                Ok(SpecimenRecord {
                    id: SpecimenId(col(r, "id")?),
                    specimen: SpecimenTaken {
                        tube: Tube::parse(&tube).map_err(corrupt)?,
                        destination: Destination::parse(&destination).map_err(corrupt)?,
                        volume_ml: col::<Option<i64>>(r, "volume_tenths")?
                            .map(|v| u32::try_from(v).map(marrow_domain::reference::Tenths::new))
                            .transpose()
                            .map_err(|_| StoreError::Corrupt("specimen volume".into()))?,
                    },
                    status: SpecimenStatus::parse(&status).map_err(corrupt)?,
                    received,
                })
            })
            .collect()
    }

    async fn differential_in(
        &self,
        conn: &mut AnyConnection,
        case: CaseId,
    ) -> Result<Option<Recorded<Differential>>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DIFFERENTIAL_COLUMNS}, dc.* FROM differentials d JOIN users du ON du.id = d.recorded_by
             LEFT JOIN ({counts}) dc ON dc.case_id = d.case_id
             WHERE d.case_id = $1",
            counts = counts_by_class()
        ))
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some(row) => Ok(Some(differential_from(&row)?)),
            None => Ok(None),
        }
    }

    async fn draft_in(
        &self,
        conn: &mut AnyConnection,
        case: CaseId,
    ) -> Result<Option<DraftRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM report_drafts rd JOIN users rdu ON rdu.id = rd.updated_by WHERE rd.case_id = $1"
        ))
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(draft_from).transpose()
    }

    async fn versions_in(
        &self,
        conn: &mut AnyConnection,
        case: CaseId,
    ) -> Result<Vec<ReportVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.*, u.display_name FROM report_versions v JOIN users u ON u.id = v.signed_by
             WHERE v.case_id = $1 ORDER BY v.version",
        )
        .bind(case.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                let frozen: String = col(r, "differential")?;
                Ok(ReportVersion {
                    version: col(r, "version")?,
                    content: content_from(r)?,
                    differential: differential_from_code(&frozen)?,
                    amendment_reason: col(r, "amendment_reason")?,
                    excluded: super::counts::rules_from(
                        col::<Option<String>>(r, "excluded_classes")?.as_deref(),
                    )?,
                    aspirate: col::<Option<String>>(r, "aspirate")?
                        .map(|raw| {
                            serde_json::from_str(&raw)
                                .map_err(|e| StoreError::Corrupt(format!("aspirate: {e}")))
                                .and_then(|v| super::counts::aspirate_from_json(&v))
                        })
                        .transpose()?,
                    flags: flags_from_json(col::<Option<String>>(r, "flags")?.as_deref())?,
                    signed_by: user_ref(r, "signed_by", "display_name")?,
                    signed_at: timestamp(r, "signed_at")?,
                })
            })
            .collect()
    }
}

// The one-to-one records, with prefixed column names so they can share a row with the case.
const SAFETY_COLUMNS: &str = "s.case_id AS s_case, s.platelets, s.inr_hundredths, s.bloods_taken_at,
    s.sedation_planned, s.escort_arranged, s.immunocompromised, s.recorded_by AS s_by, s.recorded_at AS s_at,
    su.display_name AS s_by_name";
const PROCEDURE_COLUMNS: &str =
    "pr.case_id AS pr_case, pr.operator, pr.performed_at, pr.site, pr.side,
    pr.position, pr.local_anaesthetic, pr.sedation, pr.complications, pr.time_out_done, pr.needle,
    pr.passes, pr.dry_tap, pr.trephine_length_mm, pr.haemostasis, pr.recorded_by AS pr_by,
    pr.recorded_at AS pr_at, pru.display_name AS pr_by_name";
const DIFFERENTIAL_COLUMNS: &str = "d.case_id AS d_case, d.recorded_by AS d_by, d.recorded_at AS d_at, du.display_name AS d_by_name";
const DRAFT_COLUMNS: &str = "rd.case_id AS rd_case, rd.adequacy, rd.cellularity, rd.morphology,
    rd.erythropoiesis, rd.granulopoiesis, rd.megakaryopoiesis, rd.lymphoid, rd.granulomas,
    rd.organisms, rd.haemophagocytosis,
    rd.interpretation, rd.comment, rd.revision, rd.updated_by AS rd_by, rd.updated_at AS rd_at,
    rdu.display_name AS rd_by_name";

async fn safety_from(
    row: &AnyRow,
    conn: &mut AnyConnection,
    case: CaseId,
) -> Result<Recorded<SafetyFacts>, StoreError> {
    // Medications and allergies in one round trip; `kind` orders medications first.
    let lists = sqlx::query(
        "SELECT 'm' AS kind, position, name, drug_class, dose, last_dose_at FROM medications WHERE case_id = $1
         UNION ALL
         SELECT 'n' AS kind, position, description, NULL, NULL, NULL FROM allergies WHERE case_id = $1
         ORDER BY kind, position",
    )
    .bind(case.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut medications = Vec::new();
    let mut allergies = Vec::new();
    for m in &lists {
        let kind: String = col(m, "kind")?;
        if kind == "m" {
            let class: Option<String> = col(m, "drug_class")?;
            let dose: Option<String> = col(m, "dose")?;
            medications.push(Medication {
                name: col(m, "name")?,
                class: DrugClass::parse(class.as_deref().unwrap_or("")).map_err(corrupt)?,
                dose: dose.unwrap_or_default(),
                last_dose_at: opt_timestamp(m, "last_dose_at")?,
            });
        } else {
            allergies.push(col(m, "name")?);
        }
    }
    let platelets: Option<i64> = col(row, "platelets")?;
    let inr: Option<i64> = col(row, "inr_hundredths")?;
    let facts = SafetyFacts {
        medications,
        allergies,
        platelets: platelets
            .map(|p| PlateletCount::parse(&p.to_string()))
            .transpose()
            .map_err(corrupt)?,
        inr: inr
            .map(|i| u16::try_from(i).map(Inr::from_hundredths))
            .transpose()
            .map_err(|_| StoreError::Corrupt("inr".into()))?,
        bloods_taken_at: opt_timestamp(row, "bloods_taken_at")?,
        sedation_planned: flag(row, "sedation_planned")?,
        escort_arranged: flag(row, "escort_arranged")?,
        immunocompromised: flag(row, "immunocompromised")?,
    };
    Ok(Recorded {
        value: facts,
        by: user_ref(row, "s_by", "s_by_name")?,
        at: timestamp(row, "s_at")?,
    })
}

fn procedure_from(
    row: &AnyRow,
    specimens: &[SpecimenRecord],
) -> Result<Recorded<ProcedureNote>, StoreError> {
    let code = |name: &str| -> Result<String, StoreError> { col(row, name) };
    let note = ProcedureNote {
        operator: col(row, "operator")?,
        performed_at: timestamp(row, "performed_at")?,
        site: Site::parse(&code("site")?).map_err(corrupt)?,
        side: Side::parse(&code("side")?).map_err(corrupt)?,
        position: Position::parse(&code("position")?).map_err(corrupt)?,
        local_anaesthetic: col(row, "local_anaesthetic")?,
        sedation: Sedation::parse(&code("sedation")?).map_err(corrupt)?,
        specimens: specimens.iter().map(|s| s.specimen).collect(),
        complications: col(row, "complications")?,
        steps: ProcedureSteps {
            time_out_done: col::<Option<i64>>(row, "time_out_done")?.is_some_and(|v| v != 0),
            needle: col(row, "needle")?,
            passes: col::<Option<i64>>(row, "passes")?.and_then(|v| u8::try_from(v).ok()),
            dry_tap: col::<Option<i64>>(row, "dry_tap")?.is_some_and(|v| v != 0),
            trephine_length_mm: col::<Option<i64>>(row, "trephine_length_mm")?
                .and_then(|v| u8::try_from(v).ok()),
            haemostasis: col(row, "haemostasis")?,
        },
    };
    Ok(Recorded {
        value: note,
        by: user_ref(row, "pr_by", "pr_by_name")?,
        at: timestamp(row, "pr_at")?,
    })
}

/// The counts of one case as one row, a column `n_<class>` per cell class (conditional
/// aggregation, portable to both backends). One row instead of one per class matters: every row
/// crosses a thread boundary in the SQLite driver, and that dominated the case-page profile.
/// MAX, not SUM: the key is (case, class), and SUM of BIGINT is NUMERIC on PostgreSQL.
fn counts_by_class() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<String> = CellClass::ALL
            .iter()
            .map(|c| {
                format!(
                    "MAX(CASE WHEN cell_class = '{}' THEN cells END) AS {}",
                    c.code(),
                    count_column(*c)
                )
            })
            .collect();
        format!(
            "SELECT case_id, {} FROM differential_counts WHERE case_id = $1 GROUP BY case_id",
            columns.join(", ")
        )
    })
}

fn count_column(class: CellClass) -> String {
    format!("n_{}", class.code().replace('-', "_"))
}

fn differential_from(row: &AnyRow) -> Result<Recorded<Differential>, StoreError> {
    let mut counts = Vec::new();
    for &class in CellClass::ALL {
        let cells: Option<i64> = col(row, &count_column(class))?;
        if let Some(cells) = cells {
            let cells =
                u32::try_from(cells).map_err(|_| StoreError::Corrupt("cell count".into()))?;
            counts.push((class, cells));
        }
    }
    Ok(Recorded {
        value: Differential::from_counts(counts),
        by: user_ref(row, "d_by", "d_by_name")?,
        at: timestamp(row, "d_at")?,
    })
}

fn draft_from(row: &AnyRow) -> Result<DraftRecord, StoreError> {
    Ok(DraftRecord {
        content: content_from(row)?,
        revision: col(row, "revision")?,
        by: user_ref(row, "rd_by", "rd_by_name")?,
        at: timestamp(row, "rd_at")?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the synoptic columns added by migration 5, in their column order (erythropoiesis,
/// granulopoiesis, megakaryopoiesis, lymphoid, granulomas, organisms, haemophagocytosis): the
/// draft and the signed version store them alike.
fn bind_synoptic<'q>(query: AnyQuery<'q>, content: &'q ReportContent) -> AnyQuery<'q> {
    query
        .bind(content.erythropoiesis.as_deref())
        .bind(content.granulopoiesis.as_deref())
        .bind(content.megakaryopoiesis.as_deref())
        .bind(content.lymphoid.as_deref())
        .bind(content.granulomas.map(Finding::code))
        .bind(content.organisms.map(Finding::code))
        .bind(content.haemophagocytosis.map(Finding::code))
}

/// What a signed version freezes beside its wording.
struct Frozen<'a> {
    differential: &'a Differential,
    aspirate: Option<&'a Aspirate>,
    flags: &'a [Flag],
    /// The site's exclusions from the denominator (see migration 2).
    rules: &'a CountingRules,
}

/// The site's current exclusions from the denominator, read inside the caller's transaction.
async fn site_rules(conn: &mut AnyConnection) -> Result<CountingRules, StoreError> {
    let excluded: Option<String> =
        sqlx::query_scalar("SELECT value FROM site_settings WHERE name = $1")
            .bind(super::counts::EXCLUDED_CLASSES)
            .fetch_optional(&mut *conn)
            .await?;
    super::counts::rules_from(excluded.as_deref())
}

/// The site rules and aspirate findings flags are computed from: a signed version's own when
/// amending one (an amendment changes wording, not the count), the current ones otherwise.
async fn flag_inputs(
    conn: &mut AnyConnection,
    case: CaseId,
    signed: Option<&ReportVersion>,
) -> Result<(CountingRules, Option<Aspirate>), StoreError> {
    if let Some(v) = signed
        && let Some(a) = &v.aspirate
    {
        return Ok((v.excluded.clone(), Some(a.clone())));
    }
    let rules = match signed {
        Some(v) => v.excluded.clone(),
        None => site_rules(conn).await?,
    };
    let aspirate = super::counts::aspirate_in(conn, case).await?.map(|(a, _, _)| a);
    Ok((rules, aspirate))
}

/// The target of the case's latest keyboard count; 500 (ICSH 2008 §2.6 as quoted, clinical
/// reference §1.2) when the differential was typed in.
async fn count_target(conn: &mut AnyConnection, case: CaseId) -> Result<u32, StoreError> {
    let target: Option<i64> =
        sqlx::query_scalar("SELECT target FROM counts WHERE case_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(case.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(target.and_then(|t| u32::try_from(t).ok()).unwrap_or(500))
}

fn flags_for(
    differential: &Differential,
    rules: &CountingRules,
    target: u32,
    aspirate: Option<&Aspirate>,
    content: Option<&ReportContent>,
) -> Vec<Flag> {
    report_flags(&FlagContext {
        differential,
        rules,
        target,
        reference: &ReferenceTable::iowa_adult(),
        aspirate,
        content,
    })
}

/// Refuses a signature when the flags the signer saw are not the flags now.
fn check_shown(shown: Option<&[String]>, flags: &[Flag]) -> Result<(), StoreError> {
    let Some(shown) = shown else { return Ok(()) };
    let mut now: Vec<&str> = flags.iter().map(|f| f.kind.code()).collect();
    let mut seen: Vec<&str> = shown.iter().map(String::as_str).filter(|c| !c.is_empty()).collect();
    now.sort_unstable();
    seen.sort_unstable();
    if now == seen { Ok(()) } else { Err(StoreError::FlagsChanged) }
}

fn flags_json(flags: &[Flag]) -> Value {
    Value::Array(
        flags
            .iter()
            .map(|f| json!({"kind": f.kind.code(), "text": f.text, "source": f.source}))
            .collect(),
    )
}

fn flags_from_json(raw: Option<&str>) -> Result<Vec<Flag>, StoreError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let value: Value =
        serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("flags: {e}")))?;
    let items = value.as_array().ok_or_else(|| StoreError::Corrupt("flags: not a list".into()))?;
    items
        .iter()
        .map(|item| {
            let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
            Ok(Flag {
                kind: FlagKind::parse(&text("kind")).map_err(corrupt)?,
                text: text("text"),
                source: text("source"),
            })
        })
        .collect()
}

async fn insert_version(
    conn: &mut AnyConnection,
    case: CaseId,
    version: i64,
    content: &ReportContent,
    frozen: &Frozen<'_>,
    reason: Option<&str>,
    stamp: Stamp,
) -> Result<(), StoreError> {
    let missing = |what: &str| StoreError::Corrupt(format!("checked report without {what}"));
    let insert = sqlx::query(
        "INSERT INTO report_versions (case_id, version, adequacy, cellularity, morphology, interpretation, comment,
                                      differential, amendment_reason, signed_by, signed_at, excluded_classes,
                                      erythropoiesis, granulopoiesis, megakaryopoiesis, lymphoid, granulomas,
                                      organisms, haemophagocytosis, aspirate, flags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(case.0)
    .bind(version)
    .bind(content.adequacy.ok_or_else(|| missing("adequacy"))?.code())
    .bind(content.cellularity.ok_or_else(|| missing("cellularity"))?.code())
    .bind(content.morphology.as_deref())
    .bind(content.interpretation.as_deref().ok_or_else(|| missing("interpretation"))?)
    .bind(content.comment.as_deref())
    .bind(differential_code(frozen.differential))
    .bind(reason)
    .bind(stamp.by.0)
    .bind(stamp.at.to_rfc3339())
    .bind(frozen.rules.codes().join(","));
    bind_synoptic(insert, content)
        .bind(frozen.aspirate.map(|a| super::counts::aspirate_json(a).to_string()))
        .bind(flags_json(frozen.flags).to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
