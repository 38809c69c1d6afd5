//! Image-assisted counting's server side, shared by the gallery page (session + CSRF header)
//! and the API (bearer token): an uploaded image is decoded within limits, its cells found and
//! classified off the async threads, and stored with their proposals; each decision becomes a
//! counter event of the same count.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use marrow_domain::FieldError;
use marrow_domain::counter::ImageDecision;
use marrow_domain::morphology::CellClass;
use marrow_domain::role::Action;
use marrow_store::{CountId, ImageCellRecord, NewImage, NewImageCell, Stamp, UserRecord};
use marrow_vision::cells::{ImageKind, find_cells};
use marrow_vision::classify::{Classifier, ModelClass, Proposal};
use marrow_vision::decode::{Limits, decode};
use marrow_vision::detect::DetectParams;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::require;
use crate::error::AppError;

/// The side, in pixels, of the crop kept for each cell (the 250-pixel patch, halved: enough to
/// see the cell in the gallery and the report, and to retrain on, at a fraction of the bytes).
pub const KEPT_CROP_SIDE: u32 = 128;

/// The classifier, loaded on first use (from `--model`, or the one that ships).
#[derive(Debug, Default)]
pub struct Vision {
    model: Option<PathBuf>,
    loaded: OnceLock<Result<Arc<Classifier>, String>>,
}

impl Vision {
    /// The classifier of `model`, or the shipped one when `None`.
    pub fn new(model: Option<PathBuf>) -> Self {
        Self { model, loaded: OnceLock::new() }
    }

    fn classifier(&self) -> Result<Arc<Classifier>, AppError> {
        self.loaded
            .get_or_init(|| {
                let loaded = match &self.model {
                    Some(path) => Classifier::load(path),
                    None => Classifier::shipped(),
                };
                loaded.map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| AppError::Internal(format!("cell classifier: {e}")))
    }
}

/// Where an upload comes from: `?kind=field|cell&name=FILE&um_per_px=0.075`.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `field` (a microscope field: cells are found by the detector) or `cell` (one centred
    /// cell per image).
    #[serde(default)]
    pub kind: Option<String>,
    /// The file's name, shown beside its cells (at most 200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// The field image's scale in µm per pixel (default 0.075); fields only.
    #[serde(default)]
    pub um_per_px: Option<f32>,
}

/// What an upload found.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadDto {
    /// The stored image.
    pub image_id: i64,
    /// `field` or `cell`.
    pub kind: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Cells found and proposed for review.
    pub cells: usize,
}

/// A decision on one cell.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// A counter class code (e.g. `blasts`), or `not-a-cell` to leave it out.
    pub decision: String,
}

/// A cell for review, with the model's proposal and the human decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellDto {
    /// Id.
    pub id: i64,
    /// The image it came from.
    pub image_id: i64,
    /// That image's file name.
    pub file: String,
    /// Left, top, width, height in the image, in pixels.
    pub bbox: [u32; 4],
    /// The counter class proposed, or null: "unidentified, needs a human".
    pub proposed: Option<String>,
    /// The model's most probable class (e.g. `BLA`), whatever its confidence.
    pub model_class: String,
    /// Its probability.
    pub confidence: f64,
    /// Every model class's probability.
    pub probabilities: BTreeMap<String, f64>,
    /// The latest human decision: a class code or `not-a-cell`.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Whether the cell is in the count now.
    pub counted: bool,
    /// Whether a decision stands (a class still counted, or "not a cell"). A cell whose
    /// counted decision was taken back with Backspace is open for review again.
    pub decided: bool,
    /// Where its crop is.
    pub crop_url: String,
}

impl CellDto {
    /// The view of a stored cell.
    pub fn of(cell: &ImageCellRecord) -> Self {
        let proposal = &cell.proposal;
        let probabilities = proposal["probabilities"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
            .unwrap_or_default();
        Self {
            id: cell.id,
            image_id: cell.image_id,
            file: cell.file_name.clone(),
            bbox: cell.bbox,
            proposed: proposal["class"].as_str().map(str::to_owned),
            model_class: cell.proposed_top.clone(),
            confidence: proposal["confidence"].as_f64().unwrap_or(0.0),
            probabilities,
            decision: cell.decision.map(|d| d.code().to_owned()),
            decided_by: cell.decided_by.clone(),
            counted: cell.counted,
            decided: cell.decided(),
            crop_url: format!("/image-cells/{}/crop.png", cell.id),
        }
    }
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 1e4).round() / 1e4
}

/// The proposal as stored: the counter class proposed (or null), the model's top class and
/// every probability by model class code.
fn proposal_json(proposal: &Proposal) -> serde_json::Value {
    let probabilities: serde_json::Map<String, serde_json::Value> = ModelClass::ALL
        .iter()
        .zip(&proposal.probabilities)
        .map(|(c, p)| (c.code().to_owned(), serde_json::json!(round4(*p))))
        .collect();
    serde_json::json!({
        "class": proposal.class.and_then(ModelClass::counter_class).map(CellClass::code),
        "top": proposal.top.code(),
        "confidence": round4(proposal.confidence),
        "probabilities": probabilities,
    })
}

/// Refuses unless `user` may count and the count is theirs.
async fn own_count(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
) -> Result<marrow_store::CountRecord, AppError> {
    require(user, Action::RecordDifferential)?;
    let record = crate::counting::observers_count(state, user, count).await?;
    if record.finished_at.is_some() {
        return Err(AppError::Conflict {
            message: marrow_store::EventRefusal::Finished.to_string(),
            field: Some("count".into()),
        });
    }
    Ok(record)
}

/// Finds, classifies and stores the cells of one uploaded image.
pub async fn upload(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
    query: &UploadQuery,
    bytes: Vec<u8>,
) -> Result<UploadDto, AppError> {
    own_count(state, user, count).await?;
    let kind = match query.kind.as_deref().map(str::trim) {
        Some(raw) => ImageKind::parse(raw).ok_or_else(|| {
            FieldError::new("kind", format!("{raw:?} is not \"field\" or \"cell\""))
        })?,
        None => {
            return Err(
                FieldError::new("kind", "say whether the image is a field or one cell").into()
            );
        }
    };
    let name = query.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("image");
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "use at most 200 characters, without control characters",
        )
        .into());
    }
    let um_per_px = query.um_per_px.unwrap_or(DetectParams::default().um_per_px);
    if bytes.is_empty() {
        return Err(FieldError::new("image", "the request carries no image").into());
    }
    let classifier = state.vision.classifier()?;
    // Decoding, detection and the network are CPU work: off the async threads.
    let analysed = tokio::task::spawn_blocking(move || {
        let image = decode(&bytes, &Limits::default())?;
        let (width, height) = image.dimensions();
        let (boxes, patches): (Vec<_>, Vec<_>) =
            find_cells(image, kind, um_per_px)?.into_iter().map(|f| (f.cell, f.patch)).unzip();
        let proposals = classifier.classify(&patches)?;
        let mut cells = Vec::with_capacity(boxes.len());
        for ((cell, patch), proposal) in boxes.iter().zip(&patches).zip(&proposals) {
            cells.push(NewImageCell {
                bbox: [cell.x, cell.y, cell.width, cell.height],
                crop_png: kept_crop(patch)?,
                proposed_top: proposal.top.code().to_owned(),
                proposal: proposal_json(proposal),
            });
        }
        let model =
            format!("{} v{}", classifier.record.architecture, classifier.record.model_version);
        Ok::<_, marrow_vision::VisionError>((width, height, model, cells))
    })
    .await
    .map_err(|e| AppError::Internal(format!("image analysis task: {e}")))?;
    let (width, height, model, cells) = analysed.map_err(|e| match e {
        marrow_vision::VisionError::Model(m) => AppError::Internal(format!("cell classifier: {m}")),
        other => AppError::Input(FieldError::new(
            if matches!(other, marrow_vision::VisionError::Input(_)) {
                "um_per_px"
            } else {
                "image"
            },
            other.to_string(),
        )),
    })?;
    if cells.is_empty() {
        return Err(FieldError::new(
            "image",
            "no nucleated cells were found in this field; check the scale (µm per pixel), or upload single cells",
        )
        .into());
    }
    let found = cells.len();
    let image = NewImage {
        file_name: name.to_owned(),
        kind: kind.code().to_owned(),
        width,
        height,
        model,
        cells,
    };
    let (image_id, _) = state
        .store
        .add_count_image(count, &image, Stamp { by: user.id, at: state.clock.now() })
        .await?;
    Ok(UploadDto { image_id, kind: kind.code(), width, height, cells: found })
}

fn kept_crop(patch: &image::RgbImage) -> Result<Vec<u8>, marrow_vision::VisionError> {
    // A single-cell upload need not be square: keep its centred square, undistorted.
    let (w, h) = patch.dimensions();
    let side = w.min(h);
    let square = image::imageops::crop_imm(patch, (w - side) / 2, (h - side) / 2, side, side);
    let small = image::imageops::resize(
        &*square,
        KEPT_CROP_SIDE,
        KEPT_CROP_SIDE,
        image::imageops::FilterType::Triangle,
    );
    let mut png = Vec::new();
    small
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| marrow_vision::VisionError::Decode(format!("cannot encode the crop: {e}")))?;
    Ok(png)
}

/// The count's cells for review.
pub async fn cells(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
) -> Result<Vec<CellDto>, AppError> {
    require(user, Action::ViewClinicalRecords)?;
    state.store.count(count).await?;
    Ok(state.store.image_cells(count).await?.iter().map(CellDto::of).collect())
}

/// Records a decision on one cell of the user's own open count.
pub async fn decide(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
    cell: i64,
    body: &DecisionBody,
) -> Result<CellDto, AppError> {
    own_count(state, user, count).await?;
    let decision = ImageDecision::parse(&body.decision)?;
    let stamp = Stamp { by: user.id, at: state.clock.now() };
    Ok(CellDto::of(&state.store.decide_image_cell(count, cell, decision, stamp).await?))
}
