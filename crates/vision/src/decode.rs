//! TEMPORARY STUB (replaced by the decoding work before commit): decoding with limits.
#![allow(missing_docs)]
use std::path::Path;
#[derive(Debug, Clone, Default)]
pub struct Limits;
pub fn decode_file(path: &Path, _limits: &Limits) -> Result<image::RgbImage, crate::VisionError> {
    Ok(image::open(path).map_err(|e| crate::VisionError::Decode(e.to_string()))?.to_rgb8())
}
