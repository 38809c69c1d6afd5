#!/usr/bin/env python3
"""Marrow's white-cell detector (crates/vision/src/detect.rs) redone with numpy/scikit-image.

    python skimage_detect.py --eval DATA_DIR              recall/precision at IoU >= 0.5
    python skimage_detect.py --time DATA_DIR [--repeat 5] decode+detect ms per test field
    python skimage_detect.py FIELD.jpg ...                print the boxes found

DATA_DIR is the blood-fields folder (BCCD: images/*.jpg, Pascal VOC annotations/*.xml).

The steps and defaults are those of detect.rs, in the same order:
  1. nucleus stain per pixel, max(blue - green, 0), averaged (integer mean) over blocks of
     factor x factor pixels, factor = floor(0.15 um / um_per_px) = 2 for BCCD;
  2. mask = stain >= 56, opened with a (2r+1)-square, r = round(0.3 um / cell size) = 2, pixels
     beyond the edge counting for neither erosion nor dilation (skimage's mode='ignore');
  3. 8-connected components, pieces under 2 um^2 dropped;
  4. pieces joined closest pair first while their boxes are <= 1.5 um apart and the joined box
     is <= 18 um on its longer side;
  5. nuclei under 20 um^2 dropped; 6. boxes grown by a 1.5 um cytoplasm rim, clipped to the
     image; sorted by mean stain (score), highest first.
Sizes are converted to grid cells in float32 and truncated like the Rust `as u32` casts (so the
18 um span limit is 119 cells, not 120, exactly as in Rust).

Known differences from Rust: JPEG decoding is Pillow's (libjpeg-turbo) rather than the `image`
crate's, so a stain value can differ by a grey level or so; labelling and morphology are
scikit-image's (same definitions, verified to number components in raster order, which the
merge's tie-breaking depends on). The merge loop (step 4) is a plain Python port: scikit-image
has no equivalent, and there are only a few dozen pieces per field.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.measure import label, regionprops
from skimage.morphology import footprint_rectangle, opening

F32 = np.float32  # detect.rs does its size arithmetic in f32; so do we, to truncate alike


@dataclass(frozen=True)
class Params:
    """detect.rs `DetectParams::default()`, tuned there on the BCCD tune part."""

    um_per_px: float = 0.075
    stain_threshold: int = 56
    open_radius_um: float = 0.3
    min_piece_area_um2: float = 2.0
    merge_gap_um: float = 1.5
    max_nucleus_span_um: float = 18.0
    min_nucleus_area_um2: float = 20.0
    cytoplasm_rim_um: float = 1.5


WORKING_UM_PER_CELL = 0.15  # detect.rs WORKING_UM_PER_CELL


@dataclass
class Piece:
    """A nucleus piece (or joined nucleus): inclusive box on the grid, area, summed stain."""

    x0: int
    y0: int
    x1: int
    y1: int
    area: int
    stain_sum: int

    def gap(self, other: Piece) -> int:
        """Clear cells between two boxes along the axis where they are furthest apart."""
        gx = max(other.x0 - (self.x1 + 1), self.x0 - (other.x1 + 1), 0)
        gy = max(other.y0 - (self.y1 + 1), self.y0 - (other.y1 + 1), 0)
        return max(gx, gy)

    def joined(self, other: Piece) -> Piece:
        return Piece(
            min(self.x0, other.x0), min(self.y0, other.y0),
            max(self.x1, other.x1), max(self.y1, other.y1),
            self.area + other.area, self.stain_sum + other.stain_sum,
        )

    def span(self) -> int:
        return max(self.x1 - self.x0, self.y1 - self.y0) + 1


@dataclass(frozen=True)
class Box:
    """A cell box in image pixels, as detect.rs CellBox: left, top, width, height, score."""

    x: int
    y: int
    width: int
    height: int
    score: float = 1.0


def working_factor(um_per_px: float) -> int:
    return min(int(max(math.floor(F32(WORKING_UM_PER_CELL) / F32(um_per_px)), 1.0)), 64)


def stain_map(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Per grid cell, the integer mean over its pixels of max(blue - green, 0), as uint8."""
    score = np.maximum(rgb[..., 2].astype(np.int16) - rgb[..., 1], 0)
    height, width = score.shape
    gh, gw = -(-height // factor), -(-width // factor)  # ceiling division, as div_ceil
    # Zero-pad the last partial blocks, sum each factor x factor block by reshaping, and divide
    # by the number of real pixels in it. (skimage.measure.block_reduce does the same sums but
    # took three times as long here.)
    padded = np.pad(score, ((0, gh * factor - height), (0, gw * factor - width)))
    sums = padded.reshape(gh, factor, gw, factor).sum(axis=(1, 3), dtype=np.int32)
    rows = np.minimum(factor, height - factor * np.arange(gh))
    cols = np.minimum(factor, width - factor * np.arange(gw))
    return (sums // np.outer(rows, cols)).astype(np.uint8)


def merge_pieces(pieces: list[Piece], gap: int, max_span: int) -> list[Piece]:
    """detect.rs merge_pieces: join the closest admissible pair (first found on ties) until
    none is left; the joined piece stays at i, and j is swap-removed as Rust's Vec does."""
    cells = list(pieces)
    while True:
        best = None
        for i in range(len(cells)):
            for j in range(i + 1, len(cells)):
                between = cells[i].gap(cells[j])
                if between <= gap and cells[i].joined(cells[j]).span() <= max_span:
                    if best is None or between < best[0]:
                        best = (between, i, j)
        if best is None:
            return cells
        _, i, j = best
        other = cells[j]
        cells[j] = cells[-1]  # Vec::swap_remove(j)
        cells.pop()
        cells[i] = cells[i].joined(other)


def detect(rgb: np.ndarray, p: Params = Params()) -> list[Box]:
    """The white cells in an H x W x 3 uint8 field image, most strongly stained first."""
    height, width = rgb.shape[:2]
    if width == 0 or height == 0:
        return []
    factor = working_factor(p.um_per_px)
    stain = stain_map(rgb, factor)
    um_per_cell = F32(p.um_per_px) * F32(factor)

    def cells(um: float) -> np.float32:
        return F32(um) / um_per_cell

    def cell_area(um2: float) -> np.float32:
        return F32(um2) / (um_per_cell * um_per_cell)

    mask = stain >= p.stain_threshold
    radius = min(int(max(round(float(cells(p.open_radius_um))), 0)), max(stain.shape))
    if radius > 0:
        # Separable decomposition: a row pass then a column pass, as detect.rs square_filter.
        # mode="ignore": the erosion pads with True and the dilation with False, so pixels
        # beyond the edge count for neither. (skimage 0.26 deprecates binary_opening in favour
        # of `opening`, which on a bool mask gives the same result, checked against a
        # window-by-window reference, in half the time.)
        square = footprint_rectangle((2 * radius + 1,) * 2, decomposition="separable")
        mask = opening(mask, square, mode="ignore")

    labels = label(mask, connectivity=2)  # 8-connected, numbered in raster order
    # Exact integer areas and stain sums per label; regionprops gives the boxes.
    areas = np.bincount(labels.ravel())
    sums = np.bincount(labels.ravel(), weights=stain.ravel().astype(np.float64))
    pieces = []
    for region in regionprops(labels):
        y0, x0, y1, x1 = region.bbox  # half-open
        piece = Piece(x0, y0, x1 - 1, y1 - 1, int(areas[region.label]), int(sums[region.label]))
        if piece.area >= cell_area(p.min_piece_area_um2):
            pieces.append(piece)
    nuclei = merge_pieces(pieces, int(max(cells(p.merge_gap_um), 0)),
                          int(max(cells(p.max_nucleus_span_um), 0)))

    rim = max(F32(p.cytoplasm_rim_um) / F32(p.um_per_px), F32(0))

    def grow(first: int, last: int, limit: int) -> tuple[int, int]:
        start = int(max(F32(first) * F32(factor) - rim, F32(0)))
        end = int(min(F32(last + 1) * F32(factor) + rim, F32(limit)))
        return start, max(end - start, 0)

    boxes = []
    for n in nuclei:
        if n.area < cell_area(p.min_nucleus_area_um2):
            continue
        x, w = grow(n.x0, n.x1, width)
        y, h = grow(n.y0, n.y1, height)
        score = min(max(n.stain_sum / n.area / 255.0, 0.0), 1.0)
        boxes.append(Box(x, y, w, h, score))
    boxes.sort(key=lambda b: -b.score)  # stable, like Rust's sort_by
    return boxes


def read_field(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# --- Scoring, as crates/vision/tests/it/voc.rs ------------------------------------------------

MIN_IOU = 0.5


def white_cells(xml_path: Path) -> list[Box]:
    """The WBC boxes of a Pascal VOC annotation (coordinates rounded half away from zero)."""
    boxes = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        if obj.findtext("name", "").strip() != "WBC":
            continue
        bb = obj.find("bndbox")
        x0, y0, x1, y1 = (
            math.floor(max(float(bb.findtext(t)), 0.0) + 0.5) for t in ("xmin", "ymin", "xmax", "ymax")
        )
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"{xml_path}: empty box {x0},{y0}-{x1},{y1}")
        boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return boxes


def iou(a: Box, b: Box) -> float:
    """Intersection over union of half-open pixel boxes (as f32, like detect.rs iou)."""
    ix = max(min(a.x + a.width, b.x + b.width) - max(a.x, b.x), 0)
    iy = max(min(a.y + a.height, b.y + b.height) - max(a.y, b.y), 0)
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return 0.0 if union == 0 else float(F32(inter / union))


def matched(truths: list[Box], found: list[Box]) -> int:
    """Greedy one-to-one matching: pairs with IoU >= 0.5 in order of falling IoU."""
    pairs = [
        (overlap, t, f)
        for t, truth in enumerate(truths)
        for f, det in enumerate(found)
        if (overlap := iou(truth, det)) >= MIN_IOU
    ]
    pairs.sort(key=lambda pair: -pair[0])  # stable, like Rust's sort_by
    used_t, used_f, count = set(), set(), 0
    for _, t, f in pairs:
        if t not in used_t and f not in used_f:
            used_t.add(t)
            used_f.add(f)
            count += 1
    return count


def split(data_dir: Path) -> tuple[list[str], list[str]]:
    """detect_eval.rs's fixed split: names sorted, every fifth (index % 5 == 4) is test."""
    names = sorted(p.name for p in (data_dir / "images").iterdir() if p.name.endswith(".jpg"))
    tune = [n for i, n in enumerate(names) if i % 5 != 4]
    test = [n for i, n in enumerate(names) if i % 5 == 4]
    return tune, test


def evaluate(data_dir: Path, names: list[str]) -> dict:
    truths_n = detections = hits = 0
    for name in names:
        truths = white_cells(data_dir / "annotations" / (name[: -len(".jpg")] + ".xml"))
        found = detect(read_field(data_dir / "images" / name))
        truths_n += len(truths)
        detections += len(found)
        hits += matched(truths, found)
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {
        "images": len(names), "wbc": truths_n, "detections": detections, "matched": hits,
        "recall": ratio(hits, truths_n), "precision": ratio(hits, detections),
    }


def time_fields(data_dir: Path, names: list[str], repeat: int) -> dict:
    """One warm-up pass, then `repeat` timed passes over the fields; ms per field of each."""
    paths = [data_dir / "images" / n for n in names]
    decode_ms, detect_ms, total_ms = [], [], []
    for pass_index in range(repeat + 1):
        t_decode = t_detect = 0.0
        for path in paths:
            started = time.perf_counter()
            field = read_field(path)
            decoded = time.perf_counter()
            detect(field)
            t_decode += decoded - started
            t_detect += time.perf_counter() - decoded
        if pass_index:  # pass 0 warms the page cache and the imports
            decode_ms.append(t_decode * 1000 / len(paths))
            detect_ms.append(t_detect * 1000 / len(paths))
            total_ms.append((t_decode + t_detect) * 1000 / len(paths))
    summary = lambda xs: {"best": min(xs), "median": statistics.median(xs)}  # noqa: E731
    return {"fields": len(paths), "repeat": repeat, "decode_ms": summary(decode_ms),
            "detect_ms": summary(detect_ms), "decode_detect_ms": summary(total_ms)}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--eval", metavar="DATA_DIR", type=Path, help="recall/precision, IoU >= 0.5")
    mode.add_argument("--time", metavar="DATA_DIR", type=Path, help="time the 60 test fields")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes for --time")
    parser.add_argument("fields", nargs="*", type=Path, help="field images to detect in")
    args = parser.parse_args()

    import skimage  # for the version in the summary

    out = {"engine": "scikit-image", "skimage": skimage.__version__}
    if args.eval:
        tune, test = split(args.eval)
        for part, names in (("tune", tune), ("test", test)):
            r = evaluate(args.eval, names)
            out[part] = r
            print(f"{part:<5} {r['images']:>3} images  {r['wbc']:>3} WBC  "
                  f"{r['detections']:>3} detections  {r['matched']:>3} matched  "
                  f"recall {r['recall']:.3f}  precision {r['precision']:.3f}")
    elif args.time:
        _, test = split(args.time)
        r = time_fields(args.time, test, args.repeat)
        out["time"] = r
        for key in ("decode_ms", "detect_ms", "decode_detect_ms"):
            print(f"{key:<17} best {r[key]['best']:.2f}  median {r[key]['median']:.2f}  "
                  f"(ms per field, {r['fields']} fields, {r['repeat']} passes)")
    elif args.fields:
        for path in args.fields:
            boxes = detect(read_field(path))
            out[str(path)] = [b.__dict__ for b in boxes]
            print(path, " ".join(f"({b.x},{b.y} {b.width}x{b.height} {b.score:.3f})"
                                 for b in boxes))
    else:
        parser.error("give --eval DATA_DIR, --time DATA_DIR or field images")
    out["peak_rss_mib"] = peak_rss_mib()
    print(f"peak RSS {out['peak_rss_mib']:.1f} MiB")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
