//! Reading BCCD's Pascal VOC annotations and scoring detections against them.
//!
//! Shared by the detection test and `examples/detect_eval.rs` (which includes this file with
//! `#[path]`), so the CI floor and the reported figures are computed the same way.

use marrow_vision::detect::{CellBox, iou};

/// A detection counts when it overlaps an annotated white cell this much (the usual VOC rule).
pub const MIN_IOU: f32 = 0.5;

/// The `WBC` boxes of a Pascal VOC annotation.
///
/// A deliberately small parser for this one shape of file, not general XML: `<object>` elements
/// holding `<name>` and `<bndbox>` with `xmin`, `ymin`, `xmax`, `ymax` in pixels. Whether the
/// corners count from 0 or 1 shifts a box by one pixel, far inside the IoU tolerance.
pub fn white_cells(xml: &str) -> Result<Vec<CellBox>, String> {
    let mut cells = Vec::new();
    for object in xml.split("<object>").skip(1) {
        if element(object, "name")?.trim() != "WBC" {
            continue;
        }
        let number = |tag: &str| -> Result<u32, String> {
            let text = element(object, tag)?;
            // Some VOC tools write coordinates as decimals.
            let value: f32 = text.trim().parse().map_err(|_| format!("bad <{tag}> {text}"))?;
            Ok(value.max(0.0).round() as u32)
        };
        let (x0, y0) = (number("xmin")?, number("ymin")?);
        let (x1, y1) = (number("xmax")?, number("ymax")?);
        if x1 <= x0 || y1 <= y0 {
            return Err(format!("empty box {x0},{y0}-{x1},{y1}"));
        }
        cells.push(CellBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: 1.0 });
    }
    Ok(cells)
}

/// Text between `<tag>` and the next `</tag>`.
fn element<'a>(xml: &'a str, tag: &str) -> Result<&'a str, String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open).ok_or(format!("no <{tag}>"))? + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).ok_or(format!("no </{tag}>"))?;
    Ok(&xml[start..start + end])
}

/// Greedy one-to-one matching: pairs with IoU ≥ [`MIN_IOU`] are taken in order of falling IoU,
/// each box at most once. Returns the number of matched pairs (true positives).
pub fn matched(truths: &[CellBox], found: &[CellBox]) -> usize {
    let mut pairs = Vec::new();
    for (t, truth) in truths.iter().enumerate() {
        for (f, detection) in found.iter().enumerate() {
            let overlap = iou(truth, detection);
            if overlap >= MIN_IOU {
                pairs.push((overlap, t, f));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut truth_used, mut found_used) = (vec![false; truths.len()], vec![false; found.len()]);
    let mut count = 0;
    for (_, t, f) in pairs {
        if !truth_used[t] && !found_used[f] {
            truth_used[t] = true;
            found_used[f] = true;
            count += 1;
        }
    }
    count
}
