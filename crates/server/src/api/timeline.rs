//! The patient timeline, blood counts and milestones as JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use marrow_domain::FieldError;
use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
use marrow_domain::ids::PatientId;
use marrow_domain::monitoring::Milestone;
use marrow_domain::role::Action;
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{
    BloodCountRecord, CountSource, MilestoneRecord, NewBloodCount, Stamp, Stored, UserRef,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::JsonBody;
use crate::AppState;
use crate::auth::{ApiUser, require};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::pages::path_id;
use crate::timeline::{BloodCountDto, MilestoneDto, Timeline, TimelineDto};

/// One value of a new blood count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountValueBody {
    /// An analyte code (haemoglobin, white-cells, neutrophils, lymphocytes, monocytes,
    /// eosinophils, basophils, platelets, blasts) or its LOINC code.
    pub analyte: String,
    /// The value in `unit`.
    #[schema(value_type = f64)]
    pub value: serde_json::Number,
    /// g/L, g/dL, 10*9/L, /uL, 10*3/uL or % (common spellings such as x10^9/L are accepted).
    pub unit: String,
}

/// A new blood count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBloodCountBody {
    /// When the blood was taken, YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM].
    pub taken_at: String,
    pub values: Vec<CountValueBody>,
}

/// A new milestone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMilestoneBody {
    /// YYYY-MM-DD, not in the future.
    pub on: String,
    /// treatment-start, treatment-cycle, treatment-end, transplant, relapse, other.
    pub kind: String,
    /// Required for "other".
    #[serde(default)]
    pub description: String,
}

impl NewBloodCountBody {
    /// Each value's number as sent, for [`NewBloodCountBody::count`] to borrow.
    pub fn numbers(&self) -> Vec<String> {
        self.values.iter().map(|v| v.value.to_string()).collect()
    }

    /// The count, converted and validated; an error names `values[i].analyte`, `.unit` or
    /// `.value`. `numbers` comes from [`NewBloodCountBody::numbers`].
    pub fn count<'a>(
        &'a self,
        numbers: &'a [String],
        now: Timestamp,
    ) -> Result<(BloodCount, Vec<RawResult<'a>>), FieldError> {
        let taken_at = Timestamp::parse("taken_at", &self.taken_at)?;
        let mut raw = Vec::with_capacity(self.values.len());
        for (i, (v, number)) in self.values.iter().zip(numbers).enumerate() {
            let analyte = Analyte::parse(&v.analyte)
                .ok()
                .or_else(|| Analyte::from_loinc(&v.analyte))
                .ok_or_else(|| {
                    FieldError::new(
                        format!("values[{i}].analyte"),
                        format!(
                            "{:?} is not an analyte code or LOINC code Marrow knows",
                            v.analyte
                        ),
                    )
                })?;
            raw.push(RawResult { analyte, value: number, unit: &v.unit });
        }
        // The domain names a value by its analyte; the API names it by its place in `values`.
        let count = BloodCount::parse(taken_at, &raw, now).map_err(|e| {
            let place = raw.iter().position(|r| {
                e.field == r.analyte.code() || e.field == format!("{}_unit", r.analyte.code())
            });
            let field = match place {
                Some(i) if e.field.ends_with("_unit") => format!("values[{i}].unit"),
                Some(i) => format!("values[{i}].value"),
                None if e.field == "results" => "values".to_owned(),
                None => e.field.clone(),
            };
            e.at(field)
        })?;
        Ok((count, raw))
    }
}

impl NewMilestoneBody {
    /// The milestone, validated against `today`.
    pub fn milestone(&self, today: Date) -> Result<Milestone, FieldError> {
        Milestone::parse(&self.on, &self.kind, &self.description, today)
    }
}

/// What a CSV import stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportDto {
    /// One line per count, in file order.
    pub imported: Vec<ImportedDto>,
}

/// One imported count.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedDto {
    pub patient_id: i64,
    pub blood_count_id: i64,
}

/// A message held for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldDto {
    pub id: i64,
    /// mllp, hl7-file.
    pub channel: String,
    pub received_at: String,
    /// Why it was refused.
    pub error: String,
    pub reviewed: bool,
}

/// A patient's timeline: signed marrows with their key figures and 95 % limits, blood counts
/// with flags, milestones, blast changes beyond counting noise and response observations.
#[utoipa::path(get, path = "/api/v1/patients/{id}/timeline", tag = "timeline", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")),
    responses((status = 200, body = TimelineDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_timeline(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<TimelineDto>, ApiError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let timeline = Timeline::load(&state, PatientId(path_id(&id, "patient")?)).await?;
    Ok(Json(TimelineDto::of(&timeline)))
}

/// A patient's blood counts, oldest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/blood-counts", tag = "timeline", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")),
    responses((status = 200, body = Vec<BloodCountDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_blood_counts(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<BloodCountDto>>, ApiError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    let patient = state.store.patient(PatientId(path_id(&id, "patient")?)).await?;
    let counts = state.store.blood_counts(patient.id).await?;
    Ok(Json(counts.iter().map(|c| BloodCountDto::of(c, &patient)).collect()))
}

/// Records a blood count. Each value's unit is checked and converted (g/dL to g/L, /µL to
/// ×10⁹/L); an unknown unit or analyte is refused naming `values[i].unit` or
/// `values[i].analyte`, and nothing is stored.
#[utoipa::path(post, path = "/api/v1/patients/{id}/blood-counts", tag = "timeline", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")), request_body = NewBloodCountBody,
    responses((status = 201, body = BloodCountDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_blood_count(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<NewBloodCountBody>,
) -> Result<Response, ApiError> {
    require(&user.0, Action::RecordBloodCount)?;
    let body = body.parse()?;
    let patient = state.store.patient(PatientId(path_id(&id, "patient")?)).await?;
    let now = state.clock.now();
    let numbers = body.numbers();
    let (count, raw) = body.count(&numbers, now).map_err(AppError::Input)?;
    let new = [NewBloodCount { patient: patient.id, count: &count, raw: &raw }];
    let stored =
        state.store.add_blood_counts(&new, &CountSource::Manual, Some(user.0.id), now).await?;
    let id = match stored.first() {
        Some(Stored::New(id) | Stored::AlreadyStored(id)) => *id,
        None => return Err(AppError::Internal("no count stored".into()).into()),
    };
    // The store keeps the parsed count exactly, so the answer is built from it, not read back.
    let record = BloodCountRecord {
        id,
        patient: patient.id,
        source: CountSource::Manual.code().to_owned(),
        entered_by: Some(UserRef { id: user.0.id, display_name: user.0.display_name.clone() }),
        entered_at: now,
        count,
    };
    Ok((StatusCode::CREATED, Json(BloodCountDto::of(&record, &patient))).into_response())
}

/// Imports blood counts from CSV (`mrn,taken_at,analyte,value,unit`, one value per row; rows
/// with the same MRN and time form one count). All or nothing: the first problem is refused
/// naming its row and column.
#[utoipa::path(post, path = "/api/v1/blood-counts/import", tag = "timeline", security(("bearer" = [])),
    request_body(content = String, description = "The CSV file", content_type = "text/csv"),
    responses((status = 201, body = ImportDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "A bad row, unit, analyte or unknown MRN; nothing stored", body = ErrorBody)))]
pub async fn import_blood_counts(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&user.0, Action::RecordBloodCount)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::Input(FieldError::new("file", "is not UTF-8 text")))?;
    let stored =
        crate::intake::import_csv(&state.store, text, user.0.id, state.clock.now()).await?;
    let imported = stored
        .iter()
        .map(|(p, id)| ImportedDto { patient_id: p.id.0, blood_count_id: *id })
        .collect();
    Ok((StatusCode::CREATED, Json(ImportDto { imported })).into_response())
}

/// Records a treatment or transplant milestone.
#[utoipa::path(post, path = "/api/v1/patients/{id}/milestones", tag = "timeline", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Patient id")), request_body = NewMilestoneBody,
    responses((status = 201, body = MilestoneDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_milestone(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    body: JsonBody<NewMilestoneBody>,
) -> Result<Response, ApiError> {
    require(&user.0, Action::RecordMilestone)?;
    let body = body.parse()?;
    let patient = PatientId(path_id(&id, "patient")?);
    let now = state.clock.now();
    let milestone = body.milestone(Date::of(now)).map_err(AppError::Input)?;
    let id =
        state.store.add_milestone(patient, &milestone, Stamp { by: user.0.id, at: now }).await?;
    let record = MilestoneRecord {
        id,
        milestone,
        entered_by: UserRef { id: user.0.id, display_name: user.0.display_name.clone() },
        entered_at: now,
    };
    Ok((StatusCode::CREATED, Json(MilestoneDto::of(&record))).into_response())
}

/// Incoming results refused as a whole and held for review, newest first.
#[utoipa::path(get, path = "/api/v1/interfaces/held", tag = "timeline", security(("bearer" = [])),
    responses((status = 200, body = Vec<HeldDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn held_messages(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<HeldDto>>, ApiError> {
    require(&user.0, Action::ViewClinicalRecords)?;
    Ok(Json(
        state
            .store
            .held_messages(false, 500)
            .await?
            .into_iter()
            .map(|h| HeldDto {
                id: h.id,
                channel: h.channel,
                received_at: h.received_at.to_rfc3339(),
                error: h.error,
                reviewed: h.reviewed.is_some(),
            })
            .collect(),
    ))
}
