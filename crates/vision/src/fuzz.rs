//! The entry point for the image fuzz target in `fuzz/` (`cargo fuzz`) and its regression
//! tests: an uploaded file, decoded within limits, searched for cells, a cell prepared for the
//! network, as an upload to a count goes. What must hold, checked here so a fuzzer reports
//! it as a crash: nothing panics, the limits hold, and every box and patch lies inside the image.

use crate::cells::{ImageKind, PATCH_SIDE, cut_patches, detect_field, find_cells};
use crate::classify::{INPUT_SIDE, prepare};
use crate::decode::{Limits, decode};

/// Limits small enough that a fuzzer runs many inputs a second; the real ones are
/// [`Limits::default`], tested on their own.
pub const FUZZ_LIMITS: Limits = Limits { max_bytes: 1 << 20, max_pixels: 128 * 128 };

/// At most this many cells are cut out per input. Cutting (a resize to 250 pixels) took nine
/// tenths of the fuzzer's time; every box is still checked, and the refusal over the cap is
/// the same code path as [`crate::cells::MAX_CELLS_PER_IMAGE`]'s.
pub const FUZZ_MAX_CELLS: usize = 2;

/// One uploaded file. The first byte picks the microscope scale (including ones out of range,
/// which must be refused) and whether the file is a field or a single cell. Returns how many
/// cells were found, or `None` when the file was refused.
pub fn upload(data: &[u8]) -> Option<usize> {
    let (&setting, file) = data.split_first()?;
    let image = match decode(file, &FUZZ_LIMITS) {
        Ok(image) => image,
        Err(e) => {
            assert!(!e.to_string().trim().is_empty(), "a refused image says nothing");
            return None;
        }
    };
    let (width, height) = image.dimensions();
    assert!(u64::from(width) * u64::from(height) <= FUZZ_LIMITS.max_pixels, "over the limit");
    let kind = if setting & 1 == 0 { ImageKind::Field } else { ImageKind::Cell };
    // 0.1 to 2.64 µm per pixel in steps of 0.02 (above 2 is refused). Finer scales are real
    // but cut each cell from thousands of pixels, which would spend the fuzzer's time resizing;
    // the tests cover them.
    let um_per_px = 0.1 + f32::from(setting >> 1) * 0.02;
    let cells = match kind {
        ImageKind::Cell => find_cells(image, kind, um_per_px).ok()?,
        ImageKind::Field => {
            let boxes = detect_field(&image, um_per_px).ok()?;
            for c in &boxes {
                assert!(c.width > 0 && c.height > 0, "an empty box: {c:?}");
                assert!(
                    c.x + c.width <= width && c.y + c.height <= height,
                    "a box off the image: {c:?}"
                );
            }
            let found = boxes.len();
            match cut_patches(&image, boxes, um_per_px, FUZZ_MAX_CELLS) {
                Ok(cells) => cells,
                Err(e) => {
                    assert!(found > FUZZ_MAX_CELLS, "refused with {found} cells: {e}");
                    return Some(found);
                }
            }
        }
    };
    for found in &cells {
        let c = &found.cell;
        assert!(c.x + c.width <= width && c.y + c.height <= height, "a box off the image: {c:?}");
        if kind == ImageKind::Field {
            assert_eq!(found.patch.dimensions(), (PATCH_SIDE, PATCH_SIDE));
        } else {
            assert_eq!((c.width, c.height), (width, height), "a cell image is the cell");
        }
    }
    // The network's input is a fixed resize of a patch; one is enough to check it, and the
    // fuzzer's time is better spent on the decoders and the detector.
    if let Some(found) = cells.first() {
        assert_eq!(prepare(&found.patch).dimensions(), (INPUT_SIDE, INPUT_SIDE));
    }
    Some(cells.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(image: &image::RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn a_cell_image_is_one_cell_and_junk_is_refused() {
        let cell = png(&image::RgbImage::from_pixel(40, 30, image::Rgb([120, 60, 160])));
        assert_eq!(upload(&[&[1u8][..], &cell].concat()), Some(1));
        // A 1x1 field at 0.1 µm per pixel: searched, nothing found, no panic.
        let dot = png(&image::RgbImage::new(1, 1));
        assert_eq!(upload(&[&[0u8][..], &dot].concat()), Some(0));
        // 2.1 µm per pixel is not a microscope scale.
        assert_eq!(upload(&[&[200u8][..], &dot].concat()), None);
        assert_eq!(upload(b"\x00GIF89a"), None);
        let big = png(&image::RgbImage::new(130, 130));
        assert_eq!(upload(&[&[1u8][..], &big].concat()), None, "over the fuzz pixel limit");
    }

    /// Over the cap, a field is refused with a reason, not cut short; at the cap it is cut.
    #[test]
    fn a_field_over_the_cap_is_refused_by_name() {
        // Three dark round nuclei, far apart, on a pale background.
        let field = image::RgbImage::from_fn(120, 40, |x, y| {
            let near = [20i64, 60, 100]
                .iter()
                .any(|&cx| (i64::from(x) - cx).pow(2) + (i64::from(y) - 20).pow(2) < 100);
            if near { image::Rgb([90, 40, 140]) } else { image::Rgb([235, 215, 225]) }
        });
        let scale = 0.5;
        let boxes = detect_field(&field, scale).expect("a valid scale");
        let found = boxes.len();
        assert_eq!(found, 3, "the three nuclei");
        assert_eq!(cut_patches(&field, boxes.clone(), scale, found).unwrap().len(), found);
        let refused = cut_patches(&field, boxes, scale, found - 1).unwrap_err();
        assert!(refused.to_string().contains(&format!("{found} cells")), "{refused}");
        assert!(refused.to_string().contains("scale"), "{refused}");
    }

    /// The scales the fuzzer leaves out (finer than 0.1 µm per pixel) still cut whole patches.
    #[test]
    fn the_finest_scale_still_cuts_whole_patches() {
        let field = image::RgbImage::from_fn(120, 120, |x, y| {
            let d = (i64::from(x) - 60).pow(2) + (i64::from(y) - 60).pow(2);
            if d < 400 { image::Rgb([90, 40, 140]) } else { image::Rgb([235, 215, 225]) }
        });
        let finest = *crate::cells::SCALE_RANGE.start();
        let cells = find_cells(field, ImageKind::Field, finest).expect("the finest scale is valid");
        for found in &cells {
            assert_eq!(found.patch.dimensions(), (PATCH_SIDE, PATCH_SIDE));
        }
    }
}
