//! The entry point for the image fuzz target in `fuzz/` (`cargo fuzz`) and its regression
//! tests: an uploaded file, decoded within limits, searched for cells, a cell prepared for the
//! network, as an upload to a count goes. What must hold, checked here so a fuzzer reports
//! it as a crash: nothing panics, the limits hold, and every box and patch lies inside the image.

use crate::cells::{ImageKind, PATCH_SIDE, find_cells};
use crate::classify::{INPUT_SIDE, prepare};
use crate::decode::{Limits, decode};

/// Limits small enough that a fuzzer runs many inputs a second; the real ones are
/// [`Limits::default`], tested on their own.
pub const FUZZ_LIMITS: Limits = Limits { max_bytes: 1 << 20, max_pixels: 128 * 128 };

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
    let cells = find_cells(image, kind, um_per_px).ok()?;
    for found in &cells {
        let c = &found.cell;
        assert!(c.width > 0 && c.height > 0, "an empty box: {c:?}");
        assert!(c.x + c.width <= width && c.y + c.height <= height, "a box off the image: {c:?}");
        if kind == ImageKind::Field {
            assert_eq!(found.patch.dimensions(), (PATCH_SIDE, PATCH_SIDE));
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
