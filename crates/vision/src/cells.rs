//! From an uploaded image to cell patches the classifier can judge: a field image goes through
//! the detector and each cell is cut out at the training patches' physical size; a single-cell
//! image is taken whole. Shared by `marrow analyze` and the gallery, so both see cells alike.

use image::RgbImage;

use crate::VisionError;
use crate::detect::{self, CellBox, DetectParams};

/// The Matek patches the model learnt from are 250 pixels square and span about 21.6 µm
/// (0.086 µm per pixel; marrow-cells PROVENANCE.md): each detected cell is cut out at that
/// physical size, whatever the camera, so the model sees cells at the scale it learnt.
pub const PATCH_SIDE: u32 = 250;
/// The physical side of a patch, in micrometres.
pub const PATCH_UM: f32 = 21.6;

/// What an uploaded image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// A microscope field: cells are found by the detector.
    Field,
    /// One cell, centred (like the Matek patches): the image is the cell.
    Cell,
}

impl ImageKind {
    /// `field` or `cell`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Field => "field",
            Self::Cell => "cell",
        }
    }

    /// Parses `field` or `cell`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "field" => Some(Self::Field),
            "cell" => Some(Self::Cell),
            _ => None,
        }
    }
}

/// A cell found in an image, with the patch to classify.
#[derive(Debug, Clone)]
pub struct FoundCell {
    /// Where it is in the image.
    pub cell: CellBox,
    /// The cell-centred patch.
    pub patch: RgbImage,
}

/// The range of microscope scales accepted, in µm per pixel.
pub const SCALE_RANGE: std::ops::RangeInclusive<f32> = 0.01..=2.0;

/// At most this many cells are cut from one image. Each patch takes 187 KB (250 × 250 RGB), so
/// 1,000 cells hold about as much memory as the largest decoded image ([`crate::decode::Limits`]):
/// a bounded cost per upload. Twice a whole 500-cell differential is far more than a real field
/// shows at a right scale, so an image over it is refused (usually the scale is wrong, which
/// makes debris and texture look like nuclei) rather than silently cut short.
pub const MAX_CELLS_PER_IMAGE: usize = 1000;

/// The cells of `image`. A field is searched with the detector at `um_per_px`; a cell image is
/// one cell. A field with more than [`MAX_CELLS_PER_IMAGE`] cells is refused.
pub fn find_cells(
    image: RgbImage,
    kind: ImageKind,
    um_per_px: f32,
) -> Result<Vec<FoundCell>, VisionError> {
    match kind {
        ImageKind::Cell => {
            let (width, height) = image.dimensions();
            Ok(vec![FoundCell {
                cell: CellBox { x: 0, y: 0, width, height, score: 1.0 },
                patch: image,
            }])
        }
        ImageKind::Field => {
            let boxes = detect_field(&image, um_per_px)?;
            cut_patches(&image, boxes, um_per_px, MAX_CELLS_PER_IMAGE)
        }
    }
}

/// Cuts each of `boxes` out of a field at the training patches' physical size, or refuses the
/// field when there are more than `max_cells` (the fuzz target's cap is smaller than
/// [`MAX_CELLS_PER_IMAGE`], since cutting a patch costs more than the rest of the search).
pub(crate) fn cut_patches(
    image: &RgbImage,
    boxes: Vec<CellBox>,
    um_per_px: f32,
    max_cells: usize,
) -> Result<Vec<FoundCell>, VisionError> {
    if boxes.len() > max_cells {
        return Err(VisionError::Input(format!(
            "{} cells were found in one image, more than the {max_cells} allowed: check \
             the scale ({um_per_px} µm per pixel), or upload smaller fields",
            boxes.len()
        )));
    }
    let square = (PATCH_UM / um_per_px).round().max(1.0) as u32;
    Ok(boxes
        .into_iter()
        .map(|cell| {
            let centre = (
                2 * i64::from(cell.x) + i64::from(cell.width),
                2 * i64::from(cell.y) + i64::from(cell.height),
            );
            FoundCell { cell, patch: detect::crop_square(image, centre, square, PATCH_SIDE) }
        })
        .collect())
}

/// The detector's boxes for a field at `um_per_px`, which must be a microscope scale.
pub(crate) fn detect_field(image: &RgbImage, um_per_px: f32) -> Result<Vec<CellBox>, VisionError> {
    if !SCALE_RANGE.contains(&um_per_px) {
        return Err(VisionError::Input(format!(
            "{um_per_px} µm per pixel is not a microscope scale (0.01 to 2)"
        )));
    }
    let params = DetectParams { um_per_px, ..DetectParams::default() };
    Ok(detect::detect(image, &params))
}
