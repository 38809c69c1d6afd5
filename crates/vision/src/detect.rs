//! Finding nucleated (white) cells in a Romanowsky-stained field image, and cutting them out.
//!
//! The detector is classical and every step can be explained to a haematologist:
//!
//! 1. **Nucleus stain.** In May-Grünwald-Giemsa, Wright and Leishman stains the nuclei of white
//!    cells are dark purple: they absorb green light strongly and let blue through, while red
//!    cells, the background between cells and pale cytoplasm are pink, lilac or grey. Each
//!    pixel's score is therefore *blue minus green* (0 when negative). On the tune part of the
//!    BCCD fields (below), a score of 56 or more covers about 79 % of the pixels in the central
//!    third of white-cell boxes (which holds some cytoplasm too) and 0.3 % of the pixels outside
//!    them, mostly platelets. The score is averaged over blocks of about 0.15 µm (2 × 2 pixels
//!    in BCCD) and the steps below work on that grid: nuclei lose nothing, and those steps
//!    handle a quarter of the pixels.
//! 2. **Threshold and opening.** Blocks at or above [`DetectParams::stain_threshold`] form a mask;
//!    a morphological opening removes specks (stain grains, the edges of overlapping red cells).
//! 3. **Connected components** (8-connected) give nucleus pieces; tiny pieces are dropped.
//! 4. **Merging.** The lobes of a neutrophil or eosinophil nucleus are separate pieces, so pieces
//!    whose boxes lie at most [`DetectParams::merge_gap_um`] apart are joined into one cell,
//!    closest first, unless the joined nucleus would be longer than
//!    [`DetectParams::max_nucleus_span_um`] (then they are two touching cells).
//! 5. **Nucleus size.** A cell needs at least [`DetectParams::min_nucleus_area_um2`] of stained
//!    nucleus in all: this drops platelets and their small clumps, which stain like nuclei.
//! 6. **Whole cell.** The box around the nucleus is grown by a rim of cytoplasm
//!    ([`DetectParams::cytoplasm_rim_um`]) because cell boxes, like the cells the classifier was
//!    trained on, include the cytoplasm.
//!
//! Sizes are in micrometres, converted with [`DetectParams::um_per_px`], so the same detector
//! carries over to another camera or objective by changing that one figure.
//!
//! The defaults were tuned on four fifths of the BCCD data set (MIT licence;
//! github.com/Shenggan/BCCD_Dataset, commit d272fb14), peripheral blood fields of 640 × 480 px,
//! and measured on the remaining fifth: see `examples/detect_eval.rs`. That is blood, not marrow:
//! in marrow, nucleated red-cell precursors and plasma cells will be found as well, which is what
//! a nucleated-cell count wants, but dense marrow fields with touching cells will merge more.
//!
//! What it returns are **suggestions**: a technologist confirms every cell.

use image::{Rgb, RgbImage};
use serde::Serialize;

/// Settings of the detector. [`Default`] gives the values tuned on the BCCD fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectParams {
    /// Micrometres per pixel of the field image; must be positive. Default 0.075: in the BCCD
    /// fields the median red cell box is 102 px across, and a normal red cell is about 7.6 µm.
    pub um_per_px: f32,
    /// Lowest nucleus-stain score (blue minus green, 0–255) counted as nucleus.
    pub stain_threshold: u8,
    /// Radius of the square used to open the mask (removes specks thinner than twice this).
    pub open_radius_um: f32,
    /// Nucleus pieces smaller than this (µm²) are ignored before merging.
    pub min_piece_area_um2: f32,
    /// Pieces whose boxes are at most this far apart belong to one cell (nuclear lobes).
    pub merge_gap_um: f32,
    /// Pieces are not merged when the joined nucleus would be longer than this: a lobed nucleus
    /// stays within its cell, two neighbouring cells' nuclei together do not.
    pub max_nucleus_span_um: f32,
    /// Smallest total nucleus area (µm²) of a cell; platelets are smaller.
    pub min_nucleus_area_um2: f32,
    /// Rim of cytoplasm added on every side of the nucleus box to give the cell box.
    pub cytoplasm_rim_um: f32,
}

impl Default for DetectParams {
    fn default() -> Self {
        Self {
            um_per_px: 0.075,
            // The tune part scores within one or two cells of its best from 48 to 72 and drops
            // at 88; the low side of that plateau is kept for paler stains.
            stain_threshold: 56,
            open_radius_um: 0.3,
            // Drops specks that survive the opening; 0.5 to 3 made no difference on the tune part.
            min_piece_area_um2: 2.0,
            merge_gap_um: 1.5,
            // 12 µm split large monocytes; 22 µm joined neighbouring cells.
            max_nucleus_span_um: 18.0,
            // A whole platelet (BCCD boxes: median 40 px, 3 µm across) is under 7 µm²; a small
            // lymphocyte's nucleus (about 7 µm across) near 38 µm². On the tune part 12 and 20
            // found the same cells, 20 fewer platelet clumps.
            min_nucleus_area_um2: 20.0,
            cytoplasm_rim_um: 1.5,
        }
    }
}

/// A detected cell: a box in image pixels and how strongly its nucleus is stained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CellBox {
    /// Left edge (pixels from the left of the image).
    pub x: u32,
    /// Top edge (pixels from the top).
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Mean nucleus-stain score of the nucleus pixels, scaled to 0–1: higher is a more typical
    /// nucleus. Not a probability.
    pub score: f32,
}

/// Finds the nucleated cells in a field image, most strongly stained first.
pub fn detect(image: &RgbImage, params: &DetectParams) -> Vec<CellBox> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let factor = working_factor(params.um_per_px);
    let stain = StainMap::new(image, factor);
    let (grid_width, grid_height) = (stain.width, stain.height);
    // Sizes in cells of the working grid.
    let um_per_cell = params.um_per_px * factor as f32;
    let cells = |um: f32| um / um_per_cell;
    let cell_area = |um2: f32| um2 / (um_per_cell * um_per_cell);

    let mask: Vec<bool> = stain.scores.iter().map(|&s| s >= params.stain_threshold).collect();
    // A radius beyond the grid changes nothing more; capping it keeps the sums in range.
    let radius =
        (cells(params.open_radius_um).round().max(0.0) as u32).min(grid_width.max(grid_height));
    let mask = open(&mask, grid_width, grid_height, radius);

    let (labels, count) = label_components(&mask, grid_width, grid_height);
    let pieces: Vec<Piece> = measure_pieces(&labels, count, &stain.scores, grid_width)
        .into_iter()
        .filter(|p| p.area as f32 >= cell_area(params.min_piece_area_um2))
        .collect();
    let nuclei =
        merge_pieces(&pieces, cells(params.merge_gap_um), cells(params.max_nucleus_span_um));

    // Back to image pixels: a grid cell covers `factor` pixels each way.
    let rim = (params.cytoplasm_rim_um / params.um_per_px).max(0.0);
    let grow = |first: u32, last: u32, limit: u32| {
        let start = (first as f32 * factor as f32 - rim).max(0.0) as u32;
        let end = ((last + 1) as f32 * factor as f32 + rim).min(limit as f32) as u32;
        (start, end.saturating_sub(start))
    };
    let mut boxes: Vec<CellBox> = nuclei
        .into_iter()
        .filter(|n| n.area as f32 >= cell_area(params.min_nucleus_area_um2))
        .map(|n| {
            let (x, w) = grow(n.x0, n.x1, width);
            let (y, h) = grow(n.y0, n.y1, height);
            let score = (n.stain_sum as f32 / n.area as f32 / 255.0).clamp(0.0, 1.0);
            CellBox { x, y, width: w, height: h, score }
        })
        .collect();
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    boxes
}

/// Size of a working-grid cell in micrometres. Nuclei are several micrometres across and lobes
/// at least about 2 µm, so 0.15 µm keeps every shape that matters while a BCCD field
/// (0.075 µm/px) is worked on at half size: detection then took about 2.5 ms per field instead
/// of 5 (release build), with the same results on the tune part.
const WORKING_UM_PER_CELL: f32 = 0.15;

/// How many image pixels, each way, make one working-grid cell (at least 1: a coarse image is
/// never subsampled further).
fn working_factor(um_per_px: f32) -> u32 {
    // NaN and negative sizes give 1; an absurdly small pixel size is capped.
    ((WORKING_UM_PER_CELL / um_per_px).floor().max(1.0) as u32).min(64)
}

/// Intersection over union of two boxes: 0 when apart, 1 when identical.
pub fn iou(a: &CellBox, b: &CellBox) -> f32 {
    // In u64 so that a box ending near u32::MAX cannot overflow.
    let overlap = |a0: u32, alen: u32, b0: u32, blen: u32| {
        let lo = u64::from(a0.max(b0));
        let hi = (u64::from(a0) + u64::from(alen)).min(u64::from(b0) + u64::from(blen));
        hi.saturating_sub(lo)
    };
    let inter = overlap(a.x, a.width, b.x, b.width) * overlap(a.y, a.height, b.y, b.height);
    let area = |c: &CellBox| u64::from(c.width) * u64::from(c.height);
    let union = area(a) + area(b) - inter;
    if union == 0 { 0.0 } else { (inter as f64 / union as f64) as f32 }
}

/// How much wider than the cell a crop is: the cell's longer side fills the middle two thirds,
/// roughly as in the Matek patches the classifier learns from (250 px, about 21.6 µm, with the
/// cell of interest, typically 10–15 µm, in the centre).
pub const CROP_MARGIN: f32 = 1.5;

/// Cuts a square, cell-centred patch of `side` × `side` pixels.
///
/// The square is centred on the box and is `max(width, height) ×` [`CROP_MARGIN`] pixels
/// across in the field. Where it leaves the image it is filled with the field's background
/// colour (see [`background_colour`]), so a cell at the edge is not shifted off centre and no
/// black frame appears that the classifier never saw in training. The square is then resized to
/// `side`. A `side` of 0 gives an empty image.
pub fn crop(image: &RgbImage, cell: &CellBox, side: u32) -> RgbImage {
    let source_side = ((cell.width.max(cell.height) as f32 * CROP_MARGIN).round() as u32).max(1);
    // Centre in doubled coordinates keeps half pixels exact.
    let centre_x2 = 2 * i64::from(cell.x) + i64::from(cell.width);
    let centre_y2 = 2 * i64::from(cell.y) + i64::from(cell.height);
    crop_square(image, (centre_x2, centre_y2), source_side, side)
}

/// Cuts a square of `source_side` field pixels centred on `centre_2` (doubled coordinates, so
/// half pixels are exact), padded with the background where it leaves the field, resized to
/// `side`. [`crop`] sizes the square from a box; a caller that knows the physical size it wants
/// (the training patches' 21.6 µm) passes it here.
pub fn crop_square(
    image: &RgbImage,
    centre_2: (i64, i64),
    source_side: u32,
    side: u32,
) -> RgbImage {
    if side == 0 || source_side == 0 {
        return RgbImage::new(0, 0);
    }
    let left = (centre_2.0 - i64::from(source_side)).div_euclid(2);
    let top = (centre_2.1 - i64::from(source_side)).div_euclid(2);
    let (width, height) = image.dimensions();
    let inside = left >= 0
        && top >= 0
        && left + i64::from(source_side) <= i64::from(width)
        && top + i64::from(source_side) <= i64::from(height);
    // The background is measured over the whole field, so only when padding needs it.
    let fill = if inside { Rgb([0, 0, 0]) } else { background_colour(image) };
    let mut square = RgbImage::from_pixel(source_side, source_side, fill);
    // `replace` copies only the part of the field that overlaps the square.
    image::imageops::replace(&mut square, image, -left, -top);
    if source_side == side {
        square
    } else {
        image::imageops::resize(&square, side, side, image::imageops::FilterType::Triangle)
    }
}

/// The colour of the smear's background, between the cells: per channel, the median of the
/// brightest quarter of the pixels. (The plain median would be a red cell in a dense field.)
pub fn background_colour(image: &RgbImage) -> Rgb<u8> {
    // Counts in u64: a field of over a billion pixels must not overflow them.
    let mut brightness = [0u64; 766];
    for p in image.pixels() {
        brightness[p.0.iter().map(|&c| usize::from(c)).sum::<usize>()] += 1;
    }
    let total: u64 = brightness.iter().sum();
    if total == 0 {
        return Rgb([255, 255, 255]);
    }
    // Lowest brightness that still keeps the brightest quarter.
    let mut seen = 0;
    let mut cut = 765;
    while cut > 0 {
        seen += brightness[cut];
        if seen * 4 >= total {
            break;
        }
        cut -= 1;
    }
    let mut channels = [[0u64; 256]; 3];
    let mut kept = 0;
    for p in image.pixels() {
        if p.0.iter().map(|&c| usize::from(c)).sum::<usize>() >= cut {
            kept += 1;
            for (hist, &c) in channels.iter_mut().zip(&p.0) {
                hist[usize::from(c)] += 1;
            }
        }
    }
    Rgb(channels.map(|hist| {
        let mut seen = 0;
        for (value, &n) in hist.iter().enumerate() {
            seen += n;
            if seen * 2 >= kept {
                return value as u8;
            }
        }
        255
    }))
}

/// The nucleus-stain score on the working grid: each cell holds the mean over its
/// `factor` × `factor` pixels of blue minus green (0 where green is the larger), which is high
/// in purple nuclei. Averaging, not picking one pixel, also smooths camera noise.
struct StainMap {
    width: u32,
    height: u32,
    scores: Vec<u8>,
}

impl StainMap {
    fn new(image: &RgbImage, factor: u32) -> Self {
        let (width, height) = image.dimensions();
        let (f, w) = (factor as usize, width as usize);
        let grid_width = width.div_ceil(factor);
        let grid_height = height.div_ceil(factor);
        let gw = grid_width as usize;
        let mut sums = vec![0u32; gw * grid_height as usize];
        let mut counts = vec![0u32; sums.len()];
        for (y, row) in image.as_raw().chunks_exact(w * 3).enumerate() {
            let grid_row = (y / f) * gw;
            for (gx, block) in row.chunks(f * 3).enumerate() {
                let mut sum = 0;
                for pixel in block.chunks_exact(3) {
                    sum += u32::from(pixel[2].saturating_sub(pixel[1]));
                }
                sums[grid_row + gx] += sum;
                counts[grid_row + gx] += (block.len() / 3) as u32;
            }
        }
        // A mean of u8 values is a u8; a cell always has at least one pixel.
        let scores = sums.iter().zip(&counts).map(|(&s, &n)| (s / n.max(1)) as u8).collect();
        Self { width: grid_width, height: grid_height, scores }
    }
}

/// Binary opening (erosion then dilation) with a square of side `2 * radius + 1`.
fn open(mask: &[bool], width: u32, height: u32, radius: u32) -> Vec<bool> {
    if radius == 0 {
        return mask.to_vec();
    }
    let eroded = square_filter(mask, width, height, radius, Morphology::Erode);
    square_filter(&eroded, width, height, radius, Morphology::Dilate)
}

#[derive(Clone, Copy)]
enum Morphology {
    /// A pixel stays set when every pixel of the square around it is set.
    Erode,
    /// A pixel becomes set when any pixel of the square around it is set.
    Dilate,
}

/// Erodes or dilates with a square of side `2 * radius + 1`.
///
/// Pixels beyond the edge do not count either way, so a nucleus cut by the edge is not eaten
/// from that side. A square is a horizontal segment times a vertical one, so this is a pass
/// along the rows then one down the columns; each keeps a running count of set pixels in the
/// window, so the cost does not grow with the radius, and both walk memory in order.
fn square_filter(
    mask: &[bool],
    width: u32,
    height: u32,
    radius: u32,
    operation: Morphology,
) -> Vec<bool> {
    let (w, h, r) = (width as usize, height as usize, radius as usize);
    let decide = |set: u32, window: usize| match operation {
        Morphology::Erode => set as usize == window,
        Morphology::Dilate => set > 0,
    };

    // Along each row: set pixels in columns x - r ..= x + r, from the row's running total.
    let mut across = vec![false; w * h];
    let mut running = vec![0u32; w + 1];
    for (row, out) in mask.chunks_exact(w).zip(across.chunks_exact_mut(w)) {
        for (x, &bit) in row.iter().enumerate() {
            running[x + 1] = running[x] + u32::from(bit);
        }
        for (x, out) in out.iter_mut().enumerate() {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            *out = decide(running[x1] - running[x0], x1 - x0);
        }
    }

    // Down each column: a count per column over rows y - r ..= y + r, updated row by row.
    let mut column = vec![0u32; w];
    let add = |column: &mut [u32], y: usize, sign: i32| {
        for (count, &bit) in column.iter_mut().zip(&across[y * w..(y + 1) * w]) {
            if bit {
                *count = count.wrapping_add_signed(sign);
            }
        }
    };
    for y in 0..r.min(h) {
        add(&mut column, y, 1);
    }
    let mut out = vec![false; w * h];
    for (y, out) in out.chunks_exact_mut(w).enumerate() {
        if y + r < h {
            add(&mut column, y + r, 1);
        }
        if y > r {
            add(&mut column, y - r - 1, -1);
        }
        let window = (y + r + 1).min(h) - y.saturating_sub(r);
        for (out, &count) in out.iter_mut().zip(&column) {
            *out = decide(count, window);
        }
    }
    out
}

/// Labels the 8-connected regions of `mask`: returns a label per pixel (0 = not set, regions
/// numbered from 1 in raster order of their first pixel) and the number of regions.
///
/// Two passes over the image with a union-find of provisional labels: the first pass gives each
/// pixel the smallest label among its already-visited neighbours and records which labels touch;
/// the second replaces every label by its region's number.
pub(crate) fn label_components(mask: &[bool], width: u32, height: u32) -> (Vec<u32>, u32) {
    let (w, h) = (width as usize, height as usize);
    let mut labels = vec![0u32; w * h];
    // parent[i] of provisional label i; label 0 is the background.
    let mut parent: Vec<u32> = vec![0];
    for y in 0..h {
        for x in 0..w {
            if !mask[y * w + x] {
                continue;
            }
            // Already visited neighbours: west, north-west, north, north-east.
            let mut neighbours = [0u32; 4];
            if x > 0 {
                neighbours[0] = labels[y * w + x - 1];
            }
            if y > 0 {
                let above = (y - 1) * w;
                if x > 0 {
                    neighbours[1] = labels[above + x - 1];
                }
                neighbours[2] = labels[above + x];
                if x + 1 < w {
                    neighbours[3] = labels[above + x + 1];
                }
            }
            let smallest = neighbours.iter().copied().filter(|&l| l != 0).min();
            labels[y * w + x] = match smallest {
                None => {
                    let new = parent.len() as u32;
                    parent.push(new);
                    new
                }
                Some(first) => {
                    // Inside a blob the neighbours mostly share one label: skip those.
                    for &other in neighbours.iter().filter(|&&l| l != 0 && l != first) {
                        union(&mut parent, first, other);
                    }
                    first
                }
            };
        }
    }
    // Number the regions 1.. in the order their first pixel was met. A region's first pixel in
    // raster order always opened a new label, the smallest of the region, and unions keep the
    // smaller label as root: so roots in increasing order are regions in that order, and a
    // non-root's root is smaller and already numbered. One table then relabels every pixel.
    let mut number = vec![0u32; parent.len()];
    let mut count = 0;
    for label in 1..parent.len() {
        let root = find(&mut parent, label as u32) as usize;
        if root == label {
            count += 1;
            number[label] = count;
        } else {
            number[label] = number[root];
        }
    }
    for label in &mut labels {
        *label = number[*label as usize];
    }
    (labels, count)
}

fn find(parent: &mut [u32], mut label: u32) -> u32 {
    while parent[label as usize] != label {
        // Path halving keeps the trees shallow.
        let grandparent = parent[parent[label as usize] as usize];
        parent[label as usize] = grandparent;
        label = grandparent;
    }
    label
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The smaller label becomes the root, so a region keeps its earliest label.
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

/// A nucleus piece or a whole cell's nucleus: inclusive box, area and summed stain.
#[derive(Debug, Clone, Copy)]
struct Piece {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
    stain_sum: u64,
}

impl Piece {
    /// Clear pixels between two boxes along the axis where they are furthest apart (0 when
    /// they touch or overlap).
    fn gap(&self, other: &Piece) -> u32 {
        let gx = other.x0.saturating_sub(self.x1 + 1).max(self.x0.saturating_sub(other.x1 + 1));
        let gy = other.y0.saturating_sub(self.y1 + 1).max(self.y0.saturating_sub(other.y1 + 1));
        gx.max(gy)
    }

    /// Longer side of the box, in pixels.
    fn span(&self) -> u32 {
        (self.x1 - self.x0).max(self.y1 - self.y0) + 1
    }

    fn join(&mut self, other: &Piece) {
        self.x0 = self.x0.min(other.x0);
        self.y0 = self.y0.min(other.y0);
        self.x1 = self.x1.max(other.x1);
        self.y1 = self.y1.max(other.y1);
        self.area += other.area;
        self.stain_sum += other.stain_sum;
    }
}

fn measure_pieces(labels: &[u32], count: u32, stain: &[u8], width: u32) -> Vec<Piece> {
    let empty = Piece { x0: u32::MAX, y0: u32::MAX, x1: 0, y1: 0, area: 0, stain_sum: 0 };
    let mut pieces = vec![empty; count as usize];
    let rows = labels.chunks_exact(width as usize).zip(stain.chunks_exact(width as usize));
    for (y, (label_row, stain_row)) in rows.enumerate() {
        for (x, (&label, &score)) in label_row.iter().zip(stain_row).enumerate() {
            if label == 0 {
                continue;
            }
            let (x, y) = (x as u32, y as u32);
            let p = &mut pieces[label as usize - 1];
            p.x0 = p.x0.min(x);
            p.y0 = p.y0.min(y);
            p.x1 = p.x1.max(x);
            p.y1 = p.y1.max(y);
            p.area += 1;
            p.stain_sum += u64::from(score);
        }
    }
    pieces
}

/// Joins pieces into cells, closest pair first, while they lie at most `gap` pixels apart and
/// the joined box is at most `max_span` pixels on its longer side. The span limit keeps two
/// touching cells apart: the lobes of one nucleus stay within one cell's width, two nuclei side
/// by side do not. There are a few dozen pieces per field, so the plain search is cheap.
fn merge_pieces(pieces: &[Piece], gap: f32, max_span: f32) -> Vec<Piece> {
    let gap = gap.max(0.0) as u32;
    let max_span = max_span.max(0.0) as u32;
    let mut cells: Vec<Piece> = pieces.to_vec();
    loop {
        let mut best: Option<(u32, usize, usize)> = None;
        for i in 0..cells.len() {
            for j in i + 1..cells.len() {
                let between = cells[i].gap(&cells[j]);
                let mut joined = cells[i];
                joined.join(&cells[j]);
                if between <= gap
                    && joined.span() <= max_span
                    && best.is_none_or(|(closest, _, _)| between < closest)
                {
                    best = Some((between, i, j));
                }
            }
        }
        let Some((_, i, j)) = best else { return cells };
        // j > i, so removing j leaves i in place.
        let other = cells.swap_remove(j);
        cells[i].join(&other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(x: u32, y: u32, width: u32, height: u32) -> CellBox {
        CellBox { x, y, width, height, score: 1.0 }
    }

    /// A mask from rows of `#` (set) and `.` (clear).
    fn mask(rows: &[&str]) -> (Vec<bool>, u32, u32) {
        let bits = rows.iter().flat_map(|row| row.chars().map(|c| c == '#')).collect();
        (bits, rows[0].len() as u32, rows.len() as u32)
    }

    #[test]
    fn iou_of_identical_boxes_is_one_and_of_separate_boxes_zero() {
        let a = cell(10, 20, 30, 40);
        assert!((iou(&a, &a) - 1.0).abs() < 1e-6);
        assert!(iou(&a, &cell(40, 20, 30, 40)).abs() < 1e-6, "touching edges share no pixel");
        assert!(iou(&a, &cell(500, 500, 5, 5)).abs() < 1e-6);
    }

    #[test]
    fn iou_of_half_overlapping_boxes_is_one_third() {
        // Overlap 5 x 10 = 50; union 100 + 100 - 50 = 150.
        let overlap = iou(&cell(0, 0, 10, 10), &cell(5, 0, 10, 10));
        assert!((overlap - 1.0 / 3.0).abs() < 1e-6, "{overlap}");
        // Symmetric, and a box inside another gives the ratio of areas.
        assert!((iou(&cell(5, 0, 10, 10), &cell(0, 0, 10, 10)) - overlap).abs() < 1e-6);
        assert!((iou(&cell(0, 0, 10, 10), &cell(2, 2, 5, 5)) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn iou_of_empty_boxes_is_zero_not_nan() {
        assert!(iou(&cell(3, 3, 0, 0), &cell(3, 3, 0, 0)).abs() < 1e-6);
    }

    #[test]
    fn diagonal_neighbours_are_one_component() {
        let (bits, w, h) = mask(&[
            "#...#", //
            ".#..#", //
            "..#..", //
            ".....", //
            "##..#",
        ]);
        let (labels, count) = label_components(&bits, w, h);
        assert_eq!(count, 4);
        // Numbered in raster order of their first pixel.
        assert_eq!(&labels[0..5], &[1, 0, 0, 0, 2]);
        assert_eq!(labels[6], 1);
        assert_eq!(labels[12], 1);
        assert_eq!(labels[9], 2);
        assert_eq!(&labels[20..25], &[3, 3, 0, 0, 4]);
    }

    #[test]
    fn a_u_shape_met_as_two_branches_is_one_component() {
        // The two arms get different provisional labels; the bottom row joins them.
        let (bits, w, h) = mask(&[
            "#.#.#", //
            "#.#.#", //
            "#####",
        ]);
        let (labels, count) = label_components(&bits, w, h);
        assert_eq!(count, 1);
        assert!(labels.iter().zip(&bits).all(|(&l, &set)| (l == 1) == set));
    }

    /// Labels by flood fill from each unlabelled pixel in raster order: slow, obviously right.
    fn flood_fill_labels(mask: &[bool], width: usize, height: usize) -> Vec<u32> {
        let mut labels = vec![0u32; mask.len()];
        let mut next = 0;
        for start in 0..mask.len() {
            if !mask[start] || labels[start] != 0 {
                continue;
            }
            next += 1;
            labels[start] = next;
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                let (x, y) = ((i % width) as i64, (i / width) as i64);
                for (dx, dy) in
                    [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)]
                {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                        continue;
                    }
                    let j = ny as usize * width + nx as usize;
                    if mask[j] && labels[j] == 0 {
                        labels[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        labels
    }

    #[test]
    fn labelling_agrees_with_a_flood_fill_on_random_masks() {
        // A fixed linear congruential sequence: the same masks every run.
        let mut state = 12345u64;
        for density in [20u64, 45, 60] {
            let (width, height) = (37, 23);
            let mask: Vec<bool> = (0..width * height)
                .map(|_| {
                    state =
                        state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 33) % 100 < density
                })
                .collect();
            let (labels, count) = label_components(&mask, width as u32, height as u32);
            let expected = flood_fill_labels(&mask, width, height);
            assert_eq!(labels, expected, "density {density}");
            assert_eq!(count, expected.iter().copied().max().unwrap_or(0));
        }
    }

    #[test]
    fn an_empty_mask_has_no_components() {
        let (labels, count) = label_components(&[false; 12], 4, 3);
        assert_eq!(count, 0);
        assert!(labels.iter().all(|&l| l == 0));
    }

    #[test]
    fn opening_removes_specks_and_keeps_blocks() {
        let (bits, w, h) = mask(&[
            "#.......", //
            "...####.", //
            "...####.", //
            "...####.", //
            "...####.", //
            "........",
        ]);
        let opened = open(&bits, w, h, 1);
        let (expected, _, _) = mask(&[
            "........", //
            "...####.", //
            "...####.", //
            "...####.", //
            "...####.", //
            "........",
        ]);
        assert_eq!(opened, expected);
    }

    #[test]
    fn erosion_and_dilation_agree_with_checking_every_window() {
        let mut state = 99u64;
        let (width, height) = (29usize, 17usize);
        let mask: Vec<bool> = (0..width * height)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33) % 100 < 70
            })
            .collect();
        for radius in [1usize, 2, 5, 40] {
            for operation in [Morphology::Erode, Morphology::Dilate] {
                let fast =
                    square_filter(&mask, width as u32, height as u32, radius as u32, operation);
                for y in 0..height {
                    for x in 0..width {
                        let mut window = (y.saturating_sub(radius)..(y + radius + 1).min(height))
                            .flat_map(|v| {
                                (x.saturating_sub(radius)..(x + radius + 1).min(width))
                                    .map(move |u| v * width + u)
                            });
                        let expected = match operation {
                            Morphology::Erode => window.all(|i| mask[i]),
                            Morphology::Dilate => window.any(|i| mask[i]),
                        };
                        assert_eq!(fast[y * width + x], expected, "radius {radius} at {x},{y}");
                    }
                }
            }
        }
    }

    #[test]
    fn lobes_merge_but_two_nuclei_side_by_side_do_not() {
        let piece = |x0, x1| Piece { x0, y0: 0, x1, y1: 9, area: 50, stain_sum: 5000 };
        // Three lobes 3 px apart, 30 px in all: one cell.
        let lobes = merge_pieces(&[piece(0, 9), piece(13, 19), piece(23, 29)], 3.0, 40.0);
        assert_eq!(lobes.len(), 1);
        assert_eq!((lobes[0].x0, lobes[0].x1, lobes[0].area), (0, 29, 150));
        // Two 30 px nuclei 2 px apart would make a 62 px nucleus: two cells.
        let pair = merge_pieces(&[piece(0, 29), piece(32, 61)], 3.0, 40.0);
        assert_eq!(pair.len(), 2);
    }

    #[test]
    fn a_crop_leaving_the_image_is_padded_with_the_background() {
        // A light background with one dark "cell" in the top-left corner.
        let background = Rgb([230, 220, 225]);
        let mut field = RgbImage::from_pixel(100, 80, background);
        for y in 0..10 {
            for x in 0..10 {
                field.put_pixel(x, y, Rgb([90, 40, 150]));
            }
        }
        assert_eq!(background_colour(&field), background);

        let patch = crop(&field, &cell(0, 0, 10, 10), 15);
        assert_eq!(patch.dimensions(), (15, 15));
        // The square is 15 px across, centred on (5, 5): it starts 2 px left of and above the
        // image, so its top-left corner is padding and its centre the cell.
        assert_eq!(*patch.get_pixel(0, 0), background);
        assert_eq!(*patch.get_pixel(1, 14), background);
        assert_eq!(*patch.get_pixel(7, 7), Rgb([90, 40, 150]));
        assert_eq!(*patch.get_pixel(14, 14), background, "beyond the cell, inside the image");
    }

    #[test]
    fn a_crop_is_resized_to_the_requested_side() {
        let field = RgbImage::from_pixel(640, 480, Rgb([200, 200, 200]));
        let patch = crop(&field, &cell(300, 200, 120, 90), 250);
        assert_eq!(patch.dimensions(), (250, 250));
        // Wholly inside the field: no padding shows.
        assert!(patch.pixels().all(|p| p.0.iter().all(|&c| c.abs_diff(200) <= 1)));
        assert_eq!(crop(&field, &cell(300, 200, 120, 90), 0).dimensions(), (0, 0));
    }

    /// A synthetic smear: light background, pink red cells, and purple discs where asked.
    fn synthetic_field(purple_discs: &[(f32, f32, f32)]) -> RgbImage {
        let inside = |x: u32, y: u32, (cx, cy, r): (f32, f32, f32)| {
            (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r
        };
        let red_cells = [(500.0, 100.0, 50.0), (520.0, 380.0, 50.0)];
        RgbImage::from_fn(640, 480, |x, y| {
            if purple_discs.iter().any(|&d| inside(x, y, d)) {
                Rgb([110, 60, 170])
            } else if red_cells.iter().any(|&d| inside(x, y, d)) {
                Rgb([220, 160, 170])
            } else {
                Rgb([230, 220, 225])
            }
        })
    }

    #[test]
    fn a_round_nucleus_gives_one_box_with_a_rim_of_cytoplasm() {
        // A nucleus 100 px (7.5 µm) across at (200, 200) and a platelet-sized disc elsewhere.
        let field = synthetic_field(&[(200.0, 200.0, 50.0), (400.0, 300.0, 12.0)]);
        let found = detect(&field, &DetectParams::default());
        assert_eq!(found.len(), 1, "{found:?}");
        // The nucleus spans 150..=250; the 1.5 µm rim adds 20 px each side.
        let cell = found[0];
        assert!(cell.x.abs_diff(130) <= 3 && cell.y.abs_diff(130) <= 3, "{cell:?}");
        assert!(cell.width.abs_diff(141) <= 4 && cell.height.abs_diff(141) <= 4, "{cell:?}");
        assert!((cell.score - 110.0 / 255.0).abs() < 0.02, "{cell:?}");
    }

    #[test]
    fn three_lobes_are_one_cell_and_two_distant_nuclei_two() {
        // Lobes 50 px (3.75 µm) across, 4 px apart: one segmented neutrophil.
        let lobes = [(200.0, 200.0, 25.0), (254.0, 200.0, 25.0), (227.0, 247.0, 25.0)];
        assert_eq!(detect(&synthetic_field(&lobes), &DetectParams::default()).len(), 1);
        let apart = [(150.0, 150.0, 45.0), (400.0, 300.0, 45.0)];
        assert_eq!(detect(&synthetic_field(&apart), &DetectParams::default()).len(), 2);
    }

    #[test]
    fn a_blank_field_has_no_cells() {
        let field = RgbImage::from_pixel(64, 48, Rgb([220, 200, 210]));
        assert!(detect(&field, &DetectParams::default()).is_empty());
        assert!(detect(&RgbImage::new(0, 0), &DetectParams::default()).is_empty());
    }

    #[test]
    fn a_square_at_the_corner_keeps_the_cell_in_its_centre() {
        // A dark 4x4 cell at the top left corner of a light field.
        let mut field = RgbImage::from_pixel(40, 40, Rgb([230, 230, 230]));
        for y in 0..4 {
            for x in 0..4 {
                field.put_pixel(x, y, Rgb([20, 20, 20]));
            }
        }
        // Centre (2, 2) in doubled coordinates is (4, 4); a 20-pixel square leaves the field.
        let patch = crop_square(&field, (4, 4), 20, 20);
        assert_eq!(patch.dimensions(), (20, 20));
        assert_eq!(patch.get_pixel(9, 9).0, [20, 20, 20], "the cell is in the middle");
        assert_eq!(patch.get_pixel(0, 0).0, background_colour(&field).0, "padding is background");
        assert_eq!(crop_square(&field, (4, 4), 0, 20).dimensions(), (0, 0));
    }
}
