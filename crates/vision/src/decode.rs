//! Decoding smear images within limits on bytes and pixels.
//!
//! An uploaded file is untrusted. A few hundred bytes of PNG or TIFF can declare a picture of
//! 100,000 × 100,000 pixels (a "decompression bomb"): decoded naively it asks for tens of
//! gigabytes. So the order here is fixed: refuse too many bytes before reading them, read only the
//! header, refuse too many declared pixels, and only then let the decoder allocate pixel memory.
//!
//! Only JPEG, PNG and TIFF are accepted, recognised from the content (never the file name):
//! those are what microscope cameras and slide software write.
//!
//! ```
//! use marrow_vision::decode::{decode, Limits};
//!
//! let mut png = Vec::new();
//! image::RgbImage::new(4, 3)
//!     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
//!     .expect("encode");
//! let field = decode(&png, &Limits::default()).expect("decode");
//! assert_eq!(field.dimensions(), (4, 3));
//! ```

use std::io::{Cursor, Read};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::VisionError;

/// How big an image may be, in file bytes and in declared pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted width × height, as declared in the image header.
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 64 MiB and 50 megapixels.
    ///
    /// Why these: microscope cameras used for smears write at most about 20 megapixels (a
    /// 5472 × 3648 sensor), so 50 megapixels leaves room for stitched fields while a whole-slide
    /// scan (gigapixels) is refused; it is not a field image. An uncompressed 8-bit RGB TIFF of
    /// 20 megapixels is 60 MB, so the byte limit is 64 MiB; JPEG and PNG fields are far smaller.
    /// At the pixel limit the decoded RGB image takes 150 MB, and the widest intermediate the
    /// decoders produce (16-bit RGBA) 400 MB: a bounded cost per request.
    fn default() -> Self {
        Self { max_bytes: 64 * 1024 * 1024, max_pixels: 50_000_000 }
    }
}

/// Bytes per pixel of the widest decoded layout allowed before conversion to 8-bit RGB:
/// 16-bit RGBA. A 32-bit float TIFF (16 bytes per pixel) is accepted only while it fits the same
/// memory budget, so the budget does not quietly double for one rare format.
const MAX_BYTES_PER_DECODED_PIXEL: u64 = 8;

/// Decodes a JPEG, PNG or TIFF held in memory into 8-bit RGB.
///
/// The format is recognised from the first bytes. Errors: [`VisionError::TooManyBytes`] when
/// `bytes` is over the limit, [`VisionError::TooManyPixels`] when the header declares too many
/// pixels (checked before any pixel memory is allocated), [`VisionError::Decode`] for another
/// format or a damaged file.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<image::RgbImage, VisionError> {
    // usize always fits in u64 on the platforms Rust supports.
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(VisionError::TooManyBytes { size, limit: limits.max_bytes });
    }

    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        // Reading from memory cannot fail; map it anyway rather than panic.
        .map_err(|e| VisionError::Decode(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Tiff) => {}
        Some(other) => {
            return Err(VisionError::Decode(format!(
                "{other:?} images are not accepted; send JPEG, PNG or TIFF"
            )));
        }
        None => {
            return Err(VisionError::Decode(
                "not a JPEG, PNG or TIFF image (format not recognised)".to_owned(),
            ));
        }
    }

    // Belt and braces: the decoders' own allocation limit (the PNG and TIFF decoders honour it
    // for their working buffers) is the same memory budget as our own check below.
    let budget = limits.max_pixels.saturating_mul(MAX_BYTES_PER_DECODED_PIXEL);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(budget);
    reader.limits(decoder_limits);

    let too_many_pixels = |(width, height): (u32, u32)| {
        (u64::from(width) * u64::from(height) > limits.max_pixels)
            .then_some(VisionError::TooManyPixels { width, height, limit: limits.max_pixels })
    };
    // `into_decoder` parses only the header: no pixel buffer exists yet.
    let decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(e) => {
            // The PNG decoder refuses a size whose buffers would not even fit in memory
            // addresses (near 2^31 x 2^31) before telling us the size; report it as the
            // oversized image it is, not as a damaged file.
            let oversized = png_declared_size(bytes).and_then(too_many_pixels);
            return Err(oversized.unwrap_or_else(|| decode_error(e)));
        }
    };
    let (width, height) = decoder.dimensions();
    if let Some(refusal) = too_many_pixels((width, height)) {
        return Err(refusal);
    }
    let needed = decoder.total_bytes();
    if needed > budget {
        return Err(VisionError::Decode(format!(
            "a {width} x {height} {:?} image needs {needed} bytes to decode, more than the \
             {budget} allowed",
            decoder.color_type()
        )));
    }

    let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    Ok(match image {
        // Skip a copy in the common case (JPEG and RGB PNG).
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

/// Reads and decodes an image file, as [`decode`] does.
///
/// The file's size is checked before it is read, and the read stops one byte past the limit in
/// case the file grows meanwhile or its reported size is wrong (as for special files).
pub fn decode_file(path: &Path, limits: &Limits) -> Result<image::RgbImage, VisionError> {
    let io_error = |source| VisionError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size > limits.max_bytes {
        return Err(VisionError::TooManyBytes { size, limit: limits.max_bytes });
    }
    let mut bytes = Vec::new();
    file.take(limits.max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(io_error)?;
    decode(&bytes, limits)
}

/// Width and height from a PNG's header chunk, which the PNG standard puts first (signature,
/// then the IHDR chunk's length, type, width and height, all big-endian).
fn png_declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((number(16)?, number(20)?))
}

/// Keeps the decoder's explanation, which names what is wrong (truncated data, bad CRC, ...).
fn decode_error(e: image::ImageError) -> VisionError {
    VisionError::Decode(e.to_string())
}
