//! Decoding with limits: every accepted format, and every way a file is refused.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use marrow_vision::VisionError;
use marrow_vision::decode::{Limits, decode, decode_file};

/// A small field-like picture: a colour gradient, so a decoder that mixed up channels or rows
/// would show.
fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    })
}

fn encode(picture: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture.write_to(&mut Cursor::new(&mut bytes), format).expect("encode test image");
    bytes
}

#[test]
fn a_png_decodes_to_the_same_pixels() {
    let picture = gradient(32, 24);
    let decoded = decode(&encode(&picture, ImageFormat::Png), &Limits::default()).unwrap();
    assert_eq!(decoded, picture);
}

#[test]
fn a_tiff_decodes_to_the_same_pixels() {
    let picture = gradient(32, 24);
    let decoded = decode(&encode(&picture, ImageFormat::Tiff), &Limits::default()).unwrap();
    assert_eq!(decoded, picture);
}

#[test]
fn a_jpeg_decodes_to_nearly_the_same_pixels() {
    let picture = gradient(32, 24);
    let decoded = decode(&encode(&picture, ImageFormat::Jpeg), &Limits::default()).unwrap();
    assert_eq!(decoded.dimensions(), (32, 24));
    // JPEG is lossy: compare each channel within a tolerance.
    let worst = picture
        .pixels()
        .zip(decoded.pixels())
        .flat_map(|(a, b)| a.0.into_iter().zip(b.0).map(|(x, y)| x.abs_diff(y)))
        .max()
        .unwrap();
    assert!(worst <= 24, "a channel differs by {worst}");
}

#[test]
fn a_png_with_transparency_decodes_to_rgb() {
    let picture = RgbaImage::from_pixel(5, 4, Rgba([10, 20, 30, 255]));
    let mut bytes = Vec::new();
    picture.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    let decoded = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(*decoded.get_pixel(4, 3), Rgb([10, 20, 30]));
}

#[test]
fn a_file_over_the_byte_limit_is_refused() {
    let bytes = encode(&gradient(32, 24), ImageFormat::Png);
    let size = bytes.len() as u64;
    let limits = Limits { max_bytes: size - 1, ..Limits::default() };
    match decode(&bytes, &limits) {
        Err(VisionError::TooManyBytes { size: s, limit }) => {
            assert_eq!((s, limit), (size, size - 1));
        }
        other => panic!("expected TooManyBytes, got {other:?}"),
    }
    // At exactly the limit it is accepted.
    let limits = Limits { max_bytes: size, ..Limits::default() };
    assert!(decode(&bytes, &limits).is_ok());
}

#[test]
fn a_file_on_disk_over_the_byte_limit_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.png");
    let bytes = encode(&gradient(32, 24), ImageFormat::Png);
    std::fs::write(&path, &bytes).unwrap();
    let limits = Limits { max_bytes: 10, ..Limits::default() };
    match decode_file(&path, &limits) {
        // The whole file's size is reported: it was judged by its size, not by reading it.
        Err(VisionError::TooManyBytes { size, limit: 10 }) => {
            assert_eq!(size, bytes.len() as u64);
        }
        other => panic!("expected TooManyBytes, got {other:?}"),
    }
    assert_eq!(decode_file(&path, &Limits::default()).unwrap(), gradient(32, 24));
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.jpg");
    match decode_file(&path, &Limits::default()) {
        Err(VisionError::Io { path: named, .. }) => assert!(named.ends_with("absent.jpg")),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn an_image_over_the_pixel_limit_is_refused() {
    let bytes = encode(&gradient(40, 30), ImageFormat::Png);
    let limits = Limits { max_pixels: 40 * 30 - 1, ..Limits::default() };
    match decode(&bytes, &limits) {
        Err(VisionError::TooManyPixels { width: 40, height: 30, limit }) => {
            assert_eq!(limit, 1199);
        }
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

/// CRC-32 (IEEE, as PNG uses), bit by bit: slow but only a few bytes are checked here.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid-looking PNG of 67 bytes whose header declares `width` x `height` 8-bit RGB pixels,
/// with an IDAT that holds an empty zlib stream.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &header);
    // zlib header, one empty stored block, Adler-32 of nothing.
    png_chunk(&mut png, b"IDAT", &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 1]);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A little-endian TIFF of about 130 bytes declaring `width` x `height` 8-bit grey pixels in one
/// uncompressed strip of a single byte.
fn tiff_bomb(width: u32, height: u32) -> Vec<u8> {
    // (tag, type, value): type 3 = SHORT, 4 = LONG; every value fits in the entry itself.
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, width),  // ImageWidth
        (257, 4, height), // ImageLength
        (258, 3, 8),      // BitsPerSample
        (259, 3, 1),      // Compression: none
        (262, 3, 1),      // PhotometricInterpretation: black is zero
        (273, 4, 8),      // StripOffsets: the byte right after the header
        (277, 3, 1),      // SamplesPerPixel
        (278, 4, height), // RowsPerStrip: one strip
        (279, 4, 1),      // StripByteCounts
    ];
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&12u32.to_le_bytes()); // first IFD at offset 12
    tiff.extend_from_slice(&[0, 0, 0, 0]); // the strip's one byte, padded
    tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes()); // count
        if kind == 3 {
            tiff.extend_from_slice(&(value as u16).to_le_bytes());
            tiff.extend_from_slice(&[0, 0]);
        } else {
            tiff.extend_from_slice(&value.to_le_bytes());
        }
    }
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no further IFD
    tiff
}

// A decompression bomb: a few dozen bytes declaring 10^10 pixels (30 GB as RGB). It must be
// refused from its header. Had a decoder gone on to allocate and decode, the empty pixel data
// would have failed as `Decode`, not `TooManyPixels`, after trying to allocate gigabytes.
#[test]
fn a_png_decompression_bomb_is_refused_from_its_header() {
    let bomb = png_bomb(100_000, 100_000);
    assert!(bomb.len() < 100);
    match decode(&bomb, &Limits::default()) {
        Err(VisionError::TooManyPixels { width: 100_000, height: 100_000, limit }) => {
            assert_eq!(limit, Limits::default().max_pixels);
        }
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

#[test]
fn a_png_declaring_the_largest_possible_size_is_refused_from_its_header() {
    // 2^31 - 1 is the largest width and height PNG allows.
    let side = (1u32 << 31) - 1;
    match decode(&png_bomb(side, side), &Limits::default()) {
        Err(VisionError::TooManyPixels { width, height, .. }) => {
            assert_eq!((width, height), (side, side));
        }
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

#[test]
fn a_tiff_decompression_bomb_is_refused_from_its_header() {
    let bomb = tiff_bomb(100_000, 100_000);
    assert!(bomb.len() < 200);
    match decode(&bomb, &Limits::default()) {
        Err(VisionError::TooManyPixels { width: 100_000, height: 100_000, .. }) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

/// A real JPEG whose frame header (SOF0) is patched to declare `width` x `height`.
fn jpeg_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode(&gradient(16, 16), ImageFormat::Jpeg);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline JPEG has SOF0");
    // Marker, length (2), precision (1), then height and width, big-endian.
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

#[test]
fn a_jpeg_declaring_the_largest_possible_size_is_refused_from_its_header() {
    match decode(&jpeg_bomb(65_535, 65_535), &Limits::default()) {
        Err(VisionError::TooManyPixels { width: 65_535, height: 65_535, .. }) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

#[test]
fn a_tiff_declaring_the_largest_possible_size_is_refused_from_its_header() {
    match decode(&tiff_bomb(u32::MAX, u32::MAX), &Limits::default()) {
        Err(VisionError::TooManyPixels { width: u32::MAX, height: u32::MAX, .. }) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

#[test]
fn the_hand_made_bombs_are_well_formed_when_small() {
    // Guards the two tests above: at a size within the limits the same bytes get past the
    // header, so the refusal above really is the pixel check, not a malformed header.
    let png = decode(&png_bomb(2, 2), &Limits::default());
    assert!(matches!(png, Err(VisionError::Decode(_))), "empty pixel data: {png:?}");
    let tiff = decode(&tiff_bomb(1, 1), &Limits::default()).unwrap();
    assert_eq!(tiff.dimensions(), (1, 1));
    let jpeg = decode(&jpeg_bomb(64, 64), &Limits::default());
    assert!(!matches!(jpeg, Err(VisionError::TooManyPixels { .. })), "{jpeg:?}");
}

#[test]
fn a_truncated_png_is_refused_as_damaged() {
    let bytes = encode(&gradient(64, 48), ImageFormat::Png);
    let result = decode(&bytes[..bytes.len() / 2], &Limits::default());
    assert!(matches!(result, Err(VisionError::Decode(_))), "{result:?}");
}

#[test]
fn a_truncated_tiff_is_refused_as_damaged() {
    let bytes = encode(&gradient(64, 48), ImageFormat::Tiff);
    let result = decode(&bytes[..bytes.len() / 2], &Limits::default());
    assert!(matches!(result, Err(VisionError::Decode(_))), "{result:?}");
}

#[test]
fn a_jpeg_cut_inside_its_header_is_refused_as_damaged() {
    let bytes = encode(&gradient(64, 48), ImageFormat::Jpeg);
    let result = decode(&bytes[..40], &Limits::default());
    assert!(matches!(result, Err(VisionError::Decode(_))), "{result:?}");
}

#[test]
fn garbage_and_empty_input_are_refused_as_not_an_image() {
    for bytes in [&b"this is a text file, not a smear"[..], &[][..], &[0xFF; 3][..]] {
        let result = decode(bytes, &Limits::default());
        assert!(matches!(result, Err(VisionError::Decode(_))), "{result:?}");
    }
}

#[test]
fn a_gif_is_refused_as_an_unsupported_format() {
    // A complete 1 x 1 GIF: header, screen descriptor with a 2-colour table, image, trailer.
    let gif: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\
        ,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    match decode(gif, &Limits::default()) {
        Err(VisionError::Decode(message)) => assert!(message.contains("Gif"), "{message}"),
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[test]
fn a_bmp_is_refused_as_an_unsupported_format() {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0; 60]);
    match decode(&bmp, &Limits::default()) {
        Err(VisionError::Decode(message)) => assert!(message.contains("Bmp"), "{message}"),
        other => panic!("expected Decode, got {other:?}"),
    }
}
