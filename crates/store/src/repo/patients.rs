//! Patient registration.

use marrow_domain::ids::PatientId;
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::time::Date;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::audit::{Change, append};
use crate::error::corrupt;
use crate::rows::{col, next_id};
use crate::{Stamp, Store, StoreError};

/// A registered patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRecord {
    /// Id.
    pub id: PatientId,
    /// The registration.
    pub patient: Patient,
}

pub(crate) const PATIENT_COLUMNS: &str =
    "p.id AS patient_id, p.mrn, p.family_name, p.given_name, p.date_of_birth, p.sex, p.language";

pub(crate) fn patient_from(row: &AnyRow) -> Result<PatientRecord, StoreError> {
    let mrn: String = col(row, "mrn")?;
    let family_name: String = col(row, "family_name")?;
    let given_name: String = col(row, "given_name")?;
    let date_of_birth: String = col(row, "date_of_birth")?;
    let sex: String = col(row, "sex")?;
    let language: String = col(row, "language")?;
    let input = PatientInput {
        mrn: &mrn,
        family_name: &family_name,
        given_name: &given_name,
        date_of_birth: &date_of_birth,
        sex: &sex,
        language: &language,
    };
    // Stored rows were valid when written. Parsing "as of" the birth date itself passes the
    // checks that depend on the day of registration (not in the future, at most 130 years).
    let as_of = Date::parse("date_of_birth", &date_of_birth).map_err(corrupt)?;
    let patient = Patient::parse(&input, as_of).map_err(corrupt)?;
    Ok(PatientRecord { id: PatientId(col(row, "patient_id")?), patient })
}

pub(crate) fn patient_json(p: &Patient) -> serde_json::Value {
    json!({
        "mrn": p.mrn.reveal(),
        "family_name": p.family_name.reveal(),
        "given_name": p.given_name.reveal(),
        "date_of_birth": p.date_of_birth.to_string(),
        "sex": p.sex.code(),
        "language": p.language.code(),
    })
}

impl Store {
    /// Registers a patient; an MRN already registered is a conflict on `mrn`.
    pub async fn create_patient(
        &self,
        patient: &Patient,
        stamp: Stamp,
    ) -> Result<PatientId, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = next_id(&mut tx, "patients").await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM patients WHERE mrn = $1")
            .bind(patient.mrn.reveal())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(marrow_domain::FieldError::new(
                "mrn",
                "a patient with this MRN is already registered",
            )));
        }
        sqlx::query(
            "INSERT INTO patients (id, mrn, family_name, given_name, date_of_birth, sex, language, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(patient.mrn.reveal())
        .bind(patient.family_name.reveal())
        .bind(patient.given_name.reveal())
        .bind(patient.date_of_birth.to_string())
        .bind(patient.sex.code())
        .bind(patient.language.code())
        .bind(stamp.by.0)
        .bind(stamp.at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            action: "patient.register",
            entity: "patient",
            entity_id: id,
            before: None,
            after: Some(patient_json(patient)),
        };
        append(&mut tx, Some(stamp.by.0), stamp.at, change).await?;
        tx.commit().await?;
        Ok(PatientId(id))
    }

    /// One patient.
    pub async fn patient(&self, id: PatientId) -> Result<PatientRecord, StoreError> {
        let row = sqlx::query(&format!("SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { what: "patient", id: id.0 })?;
        patient_from(&row)
    }

    /// Patients by family name, at most `limit`.
    pub async fn patients(&self, limit: i64) -> Result<Vec<PatientRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p ORDER BY p.family_name, p.given_name, p.id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(patient_from).collect()
    }

    /// How many patients are registered (the demo fills only an empty database).
    pub async fn patient_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(&self.pool).await?)
    }
}
