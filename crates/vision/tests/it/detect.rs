//! Detection on a fixed sample of real fields, scored against the annotators' white-cell boxes.
//!
//! The sample (`tests/data/blood-fields/`, see its README) is the first ten images of the test
//! part of the BCCD split used by `examples/detect_eval.rs`, so the detector was never tuned on
//! them.

use std::path::{Path, PathBuf};

use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::detect::{CellBox, DetectParams, crop, detect};

use crate::voc;

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/blood-fields")
}

/// Every sample field with its annotated white cells, in file-name order.
fn sample() -> Vec<(String, image::RgbImage, Vec<CellBox>)> {
    let dir = sample_dir();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("images"))
        .expect("sample images folder")
        .map(|entry| entry.expect("folder entry").file_name().into_string().expect("name"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let stem = name.trim_end_matches(".jpg");
            let xml = std::fs::read_to_string(dir.join("annotations").join(format!("{stem}.xml")))
                .expect("annotation");
            let truths = voc::white_cells(&xml).expect("annotation parses");
            let field =
                decode_file(&dir.join("images").join(&name), &Limits::default()).expect("decodes");
            (name, field, truths)
        })
        .collect()
}

#[test]
fn white_cells_in_the_sample_fields_are_found_with_the_measured_recall_and_precision() {
    let fields = sample();
    // A missing or partial sample must fail, not pass on fewer cells.
    assert_eq!(fields.len(), 10, "the sample has ten fields");

    let (mut truths, mut found, mut matched) = (0, 0, 0);
    for (name, field, cells) in &fields {
        assert_eq!(field.dimensions(), (640, 480), "{name}");
        let detections = detect(field, &DetectParams::default());
        truths += cells.len();
        found += detections.len();
        matched += voc::matched(cells, &detections);
    }
    assert_eq!(truths, 11, "annotated white cells in the sample");
    let recall = matched as f64 / truths as f64;
    let precision = matched as f64 / found.max(1) as f64;
    // Measured on these files: 11 of 11 found, no other detection (recall 1, precision 1).
    // The floors allow one miss and one spurious box, no more.
    assert!(recall >= 0.9, "recall {recall:.3} ({matched} of {truths})");
    assert!(precision >= 0.9, "precision {precision:.3} ({matched} of {found})");
}

#[test]
fn every_detection_crops_to_a_square_patch_for_the_classifier() {
    let (_, field, _) = sample().into_iter().next().expect("a sample field");
    let detections = detect(&field, &DetectParams::default());
    assert!(!detections.is_empty());
    for cell in &detections {
        assert!(cell.x + cell.width <= 640 && cell.y + cell.height <= 480, "{cell:?}");
        assert!((0.0..=1.0).contains(&cell.score), "{cell:?}");
        assert_eq!(crop(&field, cell, 250).dimensions(), (250, 250));
    }
}

#[test]
fn a_detection_serialises_to_json_with_its_box_and_score() {
    let cell = CellBox { x: 1, y: 2, width: 30, height: 40, score: 0.5 };
    let json = serde_json::to_value(cell).unwrap();
    assert_eq!(json, serde_json::json!({"x": 1, "y": 2, "width": 30, "height": 40, "score": 0.5}));
}

#[test]
fn voc_white_cell_boxes_are_read_and_other_labels_skipped() {
    let xml = "<annotation><object><name>RBC</name><bndbox><xmin>1</xmin><ymin>2</ymin>\
               <xmax>30</xmax><ymax>40</ymax></bndbox></object>\
               <object><name>WBC</name><bndbox><xmin>10</xmin><ymin>20</ymin>\
               <xmax>110.0</xmax><ymax>220</ymax></bndbox></object></annotation>";
    let cells = voc::white_cells(xml).unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!((cells[0].x, cells[0].y, cells[0].width, cells[0].height), (10, 20, 100, 200));
    assert!(voc::white_cells("<object><name>WBC</name></object>").is_err());
}

#[test]
fn matching_is_one_to_one() {
    let cell = |x| CellBox { x, y: 0, width: 100, height: 100, score: 1.0 };
    // Two detections on one cell: one match, one false positive.
    assert_eq!(voc::matched(&[cell(0)], &[cell(0), cell(5)]), 1);
    // IoU of 0.33 is below the 0.5 rule.
    assert_eq!(voc::matched(&[cell(0)], &[cell(50)]), 0);
    // Each of two cells gets its own detection.
    assert_eq!(voc::matched(&[cell(0), cell(200)], &[cell(195), cell(3)]), 2);
}

/// A field with more cells than [`MAX_CELLS_PER_IMAGE`] (what a wrong scale makes of debris) is
/// refused with the count and a pointer to the scale, before any patch is cut; a smaller one of
/// the same pattern is cut whole (the exact boundary is a unit test of the fuzz module's cap).
#[test]
fn a_field_with_more_cells_than_the_cap_is_refused_naming_the_scale() {
    use marrow_vision::cells::{ImageKind, MAX_CELLS_PER_IMAGE, find_cells};
    // Dark round nuclei, 8 µm across at 0.5 µm per pixel, 20 µm apart, on a pale background.
    let field = |per_side: u32| {
        image::RgbImage::from_fn(per_side * 40, per_side * 40, |x, y| {
            let (dx, dy) = (i64::from(x % 40) - 20, i64::from(y % 40) - 20);
            if dx * dx + dy * dy < 64 {
                image::Rgb([90, 40, 140])
            } else {
                image::Rgb([235, 215, 225])
            }
        })
    };
    let over = 32; // 1,024 nuclei
    assert!((over * over) as usize > MAX_CELLS_PER_IMAGE);
    let refused = find_cells(field(over), ImageKind::Field, 0.5).unwrap_err().to_string();
    assert!(refused.contains("1024 cells"), "{refused}");
    assert!(refused.contains("0.5 µm per pixel"), "{refused}");
    let found = find_cells(field(4), ImageKind::Field, 0.5).expect("under the cap");
    assert_eq!(found.len(), 16);
}
