//! Fast CPU inference for the classifier's network (`marrow-cnn-v1`), in plain safe Rust.
//!
//! candle runs the same network about ten times slower on two cores: for every layer its CPU
//! convolution copies the input, builds the unfolded (im2col) matrix element by element in
//! freshly allocated tiles, multiplies each tile with a general-purpose gemm and scatters the
//! result back to channel-major order. Here the network is fixed, so each layer is one loop
//! nest:
//!
//! - activations are kept channel-last (NHWC) in zero-padded per-thread buffers, so a 3x3
//!   convolution is an implicit im2col: output pixel `p`'s row of the unfolded matrix is three
//!   contiguous runs of `3 * Cin` values in the padded input (one per kernel row), read in
//!   place, never copied;
//! - the weights are rearranged once, at load time, into panels of 16 output channels
//!   (`(9 * Cin) x 16`, row-major, rows in the same order), so the kernel's inner loop is a
//!   broadcast of one input value times 16 contiguous weights into 6 x 16 accumulators that
//!   stay in registers;
//! - max-pooling, bias and ReLU run on a band of rows of the convolution's output while it is
//!   still in L1 (max(x + b) = max(x) + b exactly, so they are applied after pooling, to a
//!   quarter of the values), and the last layer sums straight into the global average;
//! - cells are split between the cores with [`std::thread::scope`]; each thread reuses one
//!   [`Scratch`], so the per-cell loop does not allocate.
//!
//! The `gemm` crate candle uses is not called: its entry points are `unsafe fn`s over raw
//! pointers, which this crate's `#![forbid(unsafe_code)]` rules out. Measured outside the crate
//! on one core of the 2-core development machine, explicit im2col plus `gemm` (0.19,
//! `Parallelism::None`) took 0.41 ms a cell for the four convolutions alone, against 0.34 ms
//! for this module's whole network. The kernel is written so that LLVM vectorises it, and
//! [`pulp`]'s safe `V3::vectorize` runs it with AVX2 and FMA enabled where the processor has
//! them (pulp checks once and caches the answer); elsewhere the same code is compiled for the
//! baseline instruction set (about 3.5 times slower, still faster than candle).
//!
//! The preprocessing ([`prepare_into`]) reproduces [`crate::classify::prepare`] followed by the
//! scaling of `push_chw` with the same floating-point operations in the same order (the image
//! crate's separable triangle filter: vertical pass first, then horizontal, then clamping and
//! rounding to 8 bits), straight from the patch into the network's input, without the crop
//! copy, the intermediate images or the per-pixel generic accessors. Its output is identical
//! to the reference on the 714 validation images (see [`PREPROCESSING_TOLERANCE`]).

use std::num::NonZeroUsize;
use std::ops::Range;

use candle_core::DType;
use candle_nn::VarBuilder;
use image::RgbImage;

use crate::VisionError;
use crate::classify::{CENTRE_FRACTION, INPUT_SIDE, ModelClass, Widths};

/// The number of classes the network scores.
pub const CLASSES: usize = ModelClass::ALL.len();
/// The side of the network's input, as a `usize`.
pub(crate) const SIDE: usize = INPUT_SIDE as usize;
/// Floats in one cell's input: `SIDE x SIDE x 3`, channel-last (NHWC): `[(y * SIDE + x) * 3 + c]`.
pub const INPUT_LEN: usize = SIDE * SIDE * 3;

/// Output channels per weight panel (two 8-float AVX registers).
pub(crate) const NR: usize = 16;
/// Output pixels per kernel call: 6 x 16 accumulators are 12 of the 16 AVX registers, which
/// leaves room for the two weight vectors and the broadcast input. ([`tile`] names the six.)
pub(crate) const MR: usize = 6;
/// Output rows per band of the three pooled layers: even (for the 2x2 pooling) and sized so
/// that a band's pixel count (128, 64, 64) wastes little of its last 6-pixel tile. The last
/// layer's 64 pixels are one band.
const BAND_ROWS: [usize; 3] = [2, 2, 4];
/// The largest weight panel (`9 x cin x NR` floats) used whole for every tile: 24 KiB, so
/// that it stays in a 32 KiB first-level data cache beside the tile's inputs. Larger panels are
/// used a kernel row at a time ([`Conv::band`]).
const PANEL_CACHE_BYTES: usize = 24 * 1024;
/// The most channels a layer may have ([`Widths`] checks), so the last layer's sums fit in
/// registers-sized arrays on the stack.
const MAX_WIDTH: usize = crate::classify::MAX_WIDTH;

/// One 3x3 convolution (stride 1, padding 1) with its weights rearranged for the kernel.
#[derive(Debug)]
pub(crate) struct Conv {
    /// Spatial side of its input and output.
    pub(crate) side: usize,
    pub(crate) cin: usize,
    pub(crate) cout: usize,
    /// `cout / NR` panels, each `(9 * cin) x NR` row-major: row `(3 * ky + kx) * cin + ci`
    /// holds the weights of input channel `ci` at `(ky, kx)`. In the padded NHWC input, the
    /// `3 * cin` values of one kernel row (`kx` and `ci`) are contiguous, and in this order.
    panels: Vec<f32>,
    pub(crate) bias: Vec<f32>,
}

impl Conv {
    fn new(
        vb: &VarBuilder<'_>,
        name: &str,
        side: usize,
        cin: usize,
        cout: usize,
    ) -> Result<Self, VisionError> {
        let weight = vb
            .get((cout, cin, 3, 3), &format!("{name}.weight"))?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let bias = vb.get(cout, &format!("{name}.bias"))?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        Ok(Self::from_weights(side, cin, cout, &weight, bias))
    }

    /// The layer from weights in candle's layout, `(cout, cin, ky, kx)` row-major.
    pub(crate) fn from_weights(
        side: usize,
        cin: usize,
        cout: usize,
        weight: &[f32],
        bias: Vec<f32>,
    ) -> Self {
        assert_eq!(weight.len(), cout * cin * 9, "a 3x3 kernel per channel pair");
        assert_eq!(cout % NR, 0, "whole panels");
        let k = 9 * cin;
        let mut panels = vec![0.0; cout * k];
        for co in 0..cout {
            let (block, j) = (co / NR, co % NR);
            for ci in 0..cin {
                for tap in 0..9 {
                    panels[(block * k + tap * cin + ci) * NR + j] =
                        weight[(co * cin + ci) * 9 + tap];
                }
            }
        }
        Self { side, cin, cout, panels, bias }
    }

    /// The convolution that carries a gradient back through this one: the gradient with
    /// respect to the input is the 3x3 convolution of the (zero-padded) gradient with respect
    /// to the output by the kernel turned half a turn, input and output channels swapped.
    /// `weight` in candle's layout; no bias.
    pub(crate) fn backwards(side: usize, cin: usize, cout: usize, weight: &[f32]) -> Self {
        let mut turned = vec![0.0; weight.len()];
        for co in 0..cout {
            for ci in 0..cin {
                for tap in 0..9 {
                    turned[(ci * cout + co) * 9 + (8 - tap)] = weight[(co * cin + ci) * 9 + tap];
                }
            }
        }
        Self::from_weights(side, cout, cin, &turned, vec![0.0; cin])
    }

    /// Floats in its weight panels.
    pub(crate) fn panels_len(&self) -> usize {
        self.panels.len()
    }

    /// Weights (or gradients) in the panel layout back to candle's `(cout, cin, ky, kx)`.
    pub(crate) fn panels_to_weights(&self, panels: &[f32], weight: &mut [f32]) {
        let (cin, cout) = (self.cin, self.cout);
        let k = 9 * cin;
        for co in 0..cout {
            let (block, j) = (co / NR, co % NR);
            for ci in 0..cin {
                for tap in 0..9 {
                    weight[(co * cin + ci) * 9 + tap] =
                        panels[(block * k + tap * cin + ci) * NR + j];
                }
            }
        }
    }

    /// Output pixels times output channels: the floats of its whole output.
    pub(crate) fn output_len(&self) -> usize {
        self.side * self.side * self.cout
    }

    /// Floats in its zero-padded input buffer.
    pub(crate) fn padded_len(&self) -> usize {
        (self.side + 2) * (self.side + 2) * self.cin
    }

    /// The raw convolution (no bias) of output rows `y0 .. y0 + rows`, written to `band` as
    /// `[pixel][cout]`, pixels numbered from the band's first.
    #[inline(always)]
    pub(crate) fn band<S: Simd8>(
        &self,
        simd: S,
        input: &[f32],
        y0: usize,
        rows: usize,
        band: &mut [f32],
    ) {
        let (side, cin, cout) = (self.side, self.cin, self.cout);
        let stride = (side + 2) * cin;
        let pixels = rows * side;
        let run = 3 * cin;
        // Where each pixel's 3x3 neighbourhood starts, for the tile from pixel `first`. A short
        // last tile repeats its last pixel; the extra results are not stored.
        let offsets_from = |first: usize| {
            let mut offsets = [0; MR];
            for (r, offset) in offsets.iter_mut().enumerate() {
                let p = (first + r).min(pixels - 1);
                *offset = (y0 + p / side) * stride + (p % side) * cin;
            }
            offsets
        };
        if run * NR * 4 * 3 <= PANEL_CACHE_BYTES {
            for first in (0..pixels).step_by(MR) {
                let offsets = offsets_from(first);
                let valid = (pixels - first).min(MR);
                for (block, panel) in self.panels.chunks_exact(9 * cin * NR).enumerate() {
                    let acc = tile(simd, input, &offsets, stride, run, panel);
                    for (r, sums) in acc.iter().enumerate().take(valid) {
                        let out = &mut band[(first + r) * cout + block * NR..][..NR];
                        out[..8].copy_from_slice(&simd.store(sums[0]));
                        out[8..].copy_from_slice(&simd.store(sums[1]));
                    }
                }
            }
            return;
        }
        // A panel larger than the first-level cache would be streamed from the second level
        // for every tile. Instead, one kernel row's third of it (`run x NR`) at a time is used
        // by every tile of the band while it stays in the cache, the three partial sums added
        // in the band.
        for (block, panel) in self.panels.chunks_exact(9 * cin * NR).enumerate() {
            for (ky, rows_of_panel) in panel.chunks_exact(run * NR).enumerate() {
                for first in (0..pixels).step_by(MR) {
                    let offsets = offsets_from(first).map(|o| o + ky * stride);
                    let valid = (pixels - first).min(MR);
                    let acc = tile(simd, input, &offsets, stride, run, rows_of_panel);
                    for (r, sums) in acc.iter().enumerate().take(valid) {
                        let out = &mut band[(first + r) * cout + block * NR..][..NR];
                        let (lo, hi) = out.split_at_mut(8);
                        let (lo, hi): (&mut [f32; 8], &mut [f32; 8]) =
                            (lo.try_into().expect("8"), hi.try_into().expect("8"));
                        if ky == 0 {
                            *lo = simd.store(sums[0]);
                            *hi = simd.store(sums[1]);
                        } else {
                            *lo = simd.store(simd.add(simd.load(lo), sums[0]));
                            *hi = simd.store(simd.add(simd.load(hi), sums[1]));
                        }
                    }
                }
            }
        }
    }

    /// The convolution, max-pooled, biased and rectified, into the next layer's padded input,
    /// a band at a time.
    #[inline(always)]
    fn pooled<S: Simd8>(
        &self,
        simd: S,
        rows: usize,
        input: &[f32],
        band: &mut [f32],
        next: &mut [f32],
    ) {
        let (side, cout) = (self.side, self.cout);
        let half = side / 2;
        for y0 in (0..side).step_by(rows) {
            self.band(simd, input, y0, rows, band);
            for pair in 0..rows / 2 {
                let y_out = y0 / 2 + pair;
                for x in 0..half {
                    let at = |dy: usize, dx: usize| {
                        band[((2 * pair + dy) * side + 2 * x + dx) * cout..][..cout]
                            .as_chunks::<8>()
                            .0
                    };
                    let out = &mut next[((y_out + 1) * (half + 2) + x + 1) * cout..][..cout];
                    let (out, _) = out.as_chunks_mut::<8>();
                    let (bias, _) = self.bias.as_chunks::<8>();
                    let zero = simd.splat(0.0);
                    for (((((o, a), b), c), d), bias) in out
                        .iter_mut()
                        .zip(at(0, 0))
                        .zip(at(0, 1))
                        .zip(at(1, 0))
                        .zip(at(1, 1))
                        .zip(bias)
                    {
                        let m = simd.max(
                            simd.max(simd.load(a), simd.load(b)),
                            simd.max(simd.load(c), simd.load(d)),
                        );
                        *o = simd.store(simd.max(simd.add(m, simd.load(bias)), zero));
                    }
                }
            }
        }
    }
}

/// Eight `f32` lanes, as the kernel uses them: AVX registers with FMA ([`pulp::x86::V3`]),
/// or plain arrays that the compiler vectorises for the baseline instruction set
/// ([`Portable`]). Spelling the vectors out keeps the 6 x 16 accumulators in registers; left
/// to itself, LLVM kept them on the stack and did not vectorise the kernel at all.
pub(crate) trait Simd8: Copy {
    type V: Copy;
    fn splat(self, x: f32) -> Self::V;
    fn load(self, x: &[f32; 8]) -> Self::V;
    fn store(self, v: Self::V) -> [f32; 8];
    /// `a * b + c`.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
}

/// The baseline instruction set: multiply, then add (`f32::mul_add` would call libm).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Simd8 for Portable {
    type V = [f32; 8];

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        [x; 8]
    }
    #[inline(always)]
    fn load(self, x: &[f32; 8]) -> Self::V {
        *x
    }
    #[inline(always)]
    fn store(self, v: Self::V) -> [f32; 8] {
        v
    }
    #[inline(always)]
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
}

#[cfg(target_arch = "x86_64")]
impl Simd8 for pulp::x86::V3 {
    type V = pulp::f32x8;

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        self.splat_f32x8(x)
    }
    #[inline(always)]
    fn load(self, x: &[f32; 8]) -> Self::V {
        pulp::bytemuck::cast(*x)
    }
    #[inline(always)]
    fn store(self, v: Self::V) -> [f32; 8] {
        pulp::bytemuck::cast(v)
    }
    #[inline(always)]
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        self.mul_add_f32x8(a, b, c)
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        self.add_f32x8(a, b)
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        self.max_f32x8(a, b)
    }
}

/// The kernel: six output pixels (where their neighbourhoods start in the padded input)
/// times one panel of `NR` output channels, summed over the three kernel rows (`stride`
/// apart) of `run` contiguous values each.
#[inline(always)]
pub(crate) fn tile<S: Simd8>(
    simd: S,
    input: &[f32],
    offsets: &[usize; MR],
    stride: usize,
    run: usize,
    panel: &[f32],
) -> [[S::V; 2]; MR] {
    let zero = simd.splat(0.0);
    let mut acc = [[zero; 2]; MR];
    let (weights, _) = panel.as_chunks::<NR>();
    for (ky, b) in weights.chunks_exact(run).enumerate() {
        let row = |r: usize| &input[offsets[r] + ky * stride..][..run];
        // Zipping equal-length slices, rather than indexing six of them, leaves no bounds
        // checks in the loop.
        let (a0, a1, a2, a3, a4, a5) = (row(0), row(1), row(2), row(3), row(4), row(5));
        for ((((((w, &x0), &x1), &x2), &x3), &x4), &x5) in
            b.iter().zip(a0).zip(a1).zip(a2).zip(a3).zip(a4).zip(a5)
        {
            let (w, _) = w.as_chunks::<8>();
            let (w0, w1) = (simd.load(&w[0]), simd.load(&w[1]));
            for (sums, x) in acc.iter_mut().zip([x0, x1, x2, x3, x4, x5]) {
                let x = simd.splat(x);
                sums[0] = simd.mul_add(x, w0, sums[0]);
                sums[1] = simd.mul_add(x, w1, sums[1]);
            }
        }
    }
    acc
}

/// One thread's working memory: the padded activations of each layer (their borders stay
/// zero: only interiors are written), the convolution band, and the resize buffers.
#[derive(Debug)]
pub struct Scratch {
    padded: [Vec<f32>; 4],
    band: Vec<f32>,
    resize: Resize,
}

impl Scratch {
    /// Working memory for `network`.
    pub fn new(network: &FastNetwork) -> Self {
        Self {
            padded: std::array::from_fn(|i| vec![0.0; network.convs[i].padded_len()]),
            band: vec![0.0; network.band_len()],
            resize: Resize::default(),
        }
    }
}

/// The classifier's network, ready for fast inference on the CPU.
#[derive(Debug)]
pub struct FastNetwork {
    convs: [Conv; 4],
    /// `(CLASSES, last width)`, row-major.
    head_weight: Vec<f32>,
    head_bias: Vec<f32>,
    /// Whether to run the baseline build of the kernels even where AVX2 and FMA are there.
    portable: bool,
}

impl FastNetwork {
    /// Reads the weights the way [`crate::classify::Network::new`] does (same names and
    /// shapes) and rearranges them.
    pub fn new(vb: &VarBuilder<'_>, widths: Widths) -> Result<Self, VisionError> {
        let channels = widths.channels();
        let mut side = SIDE;
        let mut conv = |i: usize| {
            let c = Conv::new(vb, &format!("conv{i}"), side, channels[i], channels[i + 1]);
            side /= 2;
            c
        };
        let convs = [conv(0)?, conv(1)?, conv(2)?, conv(3)?];
        let head = vb.pp("head");
        let head_weight = head
            .get((CLASSES, channels[4]), "weight")?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let head_bias = head.get(CLASSES, "bias")?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        Ok(Self { convs, head_weight, head_bias, portable: false })
    }

    /// The largest band [`Scratch`] needs: `rows * side * cout` floats of the pooled layers'
    /// bands and the whole last layer.
    fn band_len(&self) -> usize {
        let pooled = self.convs[..3].iter().zip(BAND_ROWS).map(|(c, rows)| rows * c.side * c.cout);
        pooled.chain([self.convs[3].output_len()]).max().unwrap_or(0)
    }

    /// The same network run by the baseline-instruction-set build of the kernels, as on a
    /// processor without AVX2 (for tests of that path).
    pub fn portable(self) -> Self {
        Self { portable: true, ..self }
    }

    /// [`dispatch`], unless told to stay portable.
    fn dispatch<W: Work>(&self, work: W) -> W::Output {
        if self.portable { work.run(Portable) } else { dispatch(work) }
    }

    /// Class probabilities (softmax, [`ModelClass::ALL`] order) for one input of
    /// [`INPUT_LEN`] floats laid out as [`prepare_into`] writes them.
    pub fn forward(&self, input: &[f32], scratch: &mut Scratch) -> [f32; CLASSES] {
        assert_eq!(input.len(), INPUT_LEN, "one cell's input");
        let mut out = [[0.0; CLASSES]];
        self.dispatch(Infer {
            network: self,
            cells: Cells::Prepared(input),
            scratch,
            out: &mut out,
        });
        out[0]
    }

    #[inline(always)]
    fn forward_with<S: Simd8>(&self, simd: S, s: &mut Scratch) -> [f32; CLASSES] {
        let [p0, p1, p2, p3] = &mut s.padded;
        let band = &mut s.band;
        let [c0, c1, c2, c3] = &self.convs;
        c0.pooled(simd, BAND_ROWS[0], p0, band, p1);
        c1.pooled(simd, BAND_ROWS[1], p1, band, p2);
        c2.pooled(simd, BAND_ROWS[2], p2, band, p3);
        // The last layer: one band of all its pixels, then bias, ReLU and the global average.
        let pixels = c3.side * c3.side;
        c3.band(simd, p3, 0, c3.side, band);
        let zero = simd.splat(0.0);
        let mut sums = [zero; MAX_WIDTH / 8];
        let sums = &mut sums[..c3.cout / 8];
        for px in band[..pixels * c3.cout].chunks_exact(c3.cout) {
            let (px, _) = px.as_chunks::<8>();
            let (bias, _) = c3.bias.as_chunks::<8>();
            for ((sum, v), b) in sums.iter_mut().zip(px).zip(bias) {
                *sum = simd.add(*sum, simd.max(simd.add(simd.load(v), simd.load(b)), zero));
            }
        }
        let mut pooled = [0.0f32; MAX_WIDTH];
        let pooled = &mut pooled[..c3.cout];
        for (p, sum) in pooled.as_chunks_mut::<8>().0.iter_mut().zip(sums.iter()) {
            *p = simd.store(*sum).map(|v| v / pixels as f32);
        }
        let mut logits = [0.0f32; CLASSES];
        for ((logit, weights), &b) in
            logits.iter_mut().zip(self.head_weight.chunks_exact(c3.cout)).zip(&self.head_bias)
        {
            let mut sum = 0.0;
            for (w, p) in weights.iter().zip(pooled.iter()) {
                sum += w * p;
            }
            *logit = sum + b;
        }
        softmax(logits)
    }

    /// Probabilities for many prepared inputs (`inputs.len()` a multiple of [`INPUT_LEN`]),
    /// the cells shared between the cores.
    pub fn forward_many(&self, inputs: &[f32]) -> Vec<[f32; CLASSES]> {
        assert_eq!(inputs.len() % INPUT_LEN, 0, "whole inputs");
        let mut out = vec![[0.0; CLASSES]; inputs.len() / INPUT_LEN];
        parallel(&mut out, |cells, out| {
            let inputs = &inputs[cells.start * INPUT_LEN..cells.end * INPUT_LEN];
            let scratch = &mut Scratch::new(self);
            self.dispatch(Infer { network: self, cells: Cells::Prepared(inputs), scratch, out });
        });
        out
    }

    /// Probabilities for cell patches, from the patch to the softmax, the cells shared
    /// between the cores. Same results as [`prepare_into`] then [`Self::forward`].
    pub fn classify(&self, patches: &[RgbImage]) -> Vec<[f32; CLASSES]> {
        let mut out = vec![[0.0; CLASSES]; patches.len()];
        parallel(&mut out, |cells, out| {
            let scratch = &mut Scratch::new(self);
            let patches = Cells::Patches(&patches[cells]);
            self.dispatch(Infer { network: self, cells: patches, scratch, out });
        });
        out
    }

    /// The inputs of many patches (`patches.len() * INPUT_LEN` floats, as [`prepare_into`]
    /// writes them), the patches shared between the cores.
    pub fn prepare_many(&self, patches: &[RgbImage]) -> Vec<f32> {
        let mut out = vec![0.0; patches.len() * INPUT_LEN];
        self.prepare_many_into(patches, &mut out);
        out
    }

    /// [`Self::prepare_many`] into `out` (`patches.len() * INPUT_LEN` floats).
    pub fn prepare_many_into(&self, patches: &[RgbImage], out: &mut [f32]) {
        assert_eq!(out.len(), patches.len() * INPUT_LEN, "one input per patch");
        let (out, _) = out.as_chunks_mut::<INPUT_LEN>();
        parallel(out, |cells, out| {
            let (patches, resize) = (&patches[cells], &mut Resize::default());
            self.dispatch(Prepare { patches, out, resize });
        });
    }
}

/// Work run by [`dispatch`], compiled twice: with FMA (inside a function with
/// AVX2 and FMA enabled) and without. Its hot loops must be inlined into `run` (plain loops and
/// `#[inline(always)]` functions, no closures handed to iterator adapters) to inherit the
/// features.
pub(crate) trait Work {
    type Output;
    fn run<S: Simd8>(self, simd: S) -> Self::Output;
}

/// Runs `work` with AVX2 and FMA enabled when this processor has them (pulp caches the
/// check), else with the baseline instruction set.
pub(crate) fn dispatch<W: Work>(work: W) -> W::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = pulp::x86::V3::try_new() {
        return v3.vectorize(Fused(work, v3));
    }
    work.run(Portable)
}

/// `work.run(v3)` as pulp's vectorised function. A closure would not do: pulp enables
/// the features on a function that calls it, and a closure body is not reliably inlined there,
/// which leaves `mul_add` as a call into libm; this `call` is `#[inline(always)]`.
#[cfg(target_arch = "x86_64")]
struct Fused<W>(W, pulp::x86::V3);

#[cfg(target_arch = "x86_64")]
impl<W: Work> pulp::NullaryFnOnce for Fused<W> {
    type Output = W::Output;

    #[inline(always)]
    fn call(self) -> W::Output {
        self.0.run(self.1)
    }
}

/// The cells of an [`Infer`].
enum Cells<'a> {
    /// Inputs already prepared, [`INPUT_LEN`] floats each, one after the other.
    Prepared(&'a [f32]),
    /// Patches to prepare first.
    Patches(&'a [RgbImage]),
}

/// Probabilities for a run of cells, on one thread, into `out` (one entry per cell).
struct Infer<'a> {
    network: &'a FastNetwork,
    cells: Cells<'a>,
    scratch: &'a mut Scratch,
    out: &'a mut [[f32; CLASSES]],
}

impl Work for Infer<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd8>(self, simd: S) {
        let Self { network, cells, scratch, out } = self;
        match cells {
            Cells::Prepared(inputs) => {
                for (input, out) in inputs.chunks_exact(INPUT_LEN).zip(out) {
                    for (y, src) in input.chunks_exact(SIDE * 3).enumerate() {
                        scratch.padded[0][PADDED_INPUT.at(y)..][..SIDE * 3].copy_from_slice(src);
                    }
                    *out = network.forward_with(simd, scratch);
                }
            }
            Cells::Patches(patches) => {
                for (patch, out) in patches.iter().zip(out) {
                    let Scratch { padded, resize, .. } = &mut *scratch;
                    prepare_with(patch, &mut padded[0], PADDED_INPUT, resize);
                    *out = network.forward_with(simd, scratch);
                }
            }
        }
    }
}

/// Inputs for a run of patches, on one thread, into `out` (one input per patch).
struct Prepare<'a> {
    patches: &'a [RgbImage],
    out: &'a mut [[f32; INPUT_LEN]],
    resize: &'a mut Resize,
}

impl Work for Prepare<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd8>(self, _: S) {
        for (patch, input) in self.patches.iter().zip(self.out) {
            prepare_with(patch, input, Rows::PLAIN, self.resize);
        }
    }
}

/// candle's softmax: `exp(x - max) / sum`.
pub(crate) fn softmax(logits: [f32; CLASSES]) -> [f32; CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps = logits.map(|l| (l - max).exp());
    let sum: f32 = exps.iter().sum();
    exps.map(|e| e / sum)
}

/// How many threads to share `items` between: one per core, at most one per item.
fn threads_for(items: usize) -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(items)
}

/// Splits `out` into contiguous runs, one per core, and calls `work` with each run and the
/// indices it covers, on its own thread. A single item, or a single core, runs on the calling
/// thread.
fn parallel<O: Send>(out: &mut [O], work: impl Fn(Range<usize>, &mut [O]) + Sync) {
    let n = out.len();
    let threads = threads_for(n);
    if threads <= 1 {
        return work(0..n, out);
    }
    let per_thread = n.div_ceil(threads);
    std::thread::scope(|scope| {
        for (i, out) in out.chunks_mut(per_thread).enumerate() {
            let work = &work;
            let start = i * per_thread;
            scope.spawn(move || work(start..start + out.len(), out));
        }
    });
}

/// The image crate's triangle-filter weights for one axis, `from` pixels to [`SIDE`], and the
/// intermediate (vertically filtered) rows. Rebuilt only when the crop's size changes.
#[derive(Debug, Default)]
struct Resize {
    /// The crop side the weights are for (0: none yet).
    from: usize,
    /// Per output pixel: the first input pixel and the number of weights.
    spans: Vec<(usize, usize)>,
    /// The weights, normalised, `spans[i].1` of them per output pixel, in order.
    weights: Vec<f32>,
    /// `SIDE` rows of `from * 3` floats: the crop filtered vertically.
    rows: Vec<f32>,
}

impl Resize {
    /// The weights `image::imageops::resize` computes for `FilterType::Triangle`
    /// (`sample.rs`, `vertical_sample` and `horizontal_sample`), expression for expression,
    /// so that the sums match to the bit.
    fn plan(&mut self, from: usize) {
        if self.from == from {
            return;
        }
        self.from = from;
        self.spans.clear();
        self.weights.clear();
        let ratio = from as f32 / SIDE as f32;
        let sratio = if ratio < 1.0 { 1.0 } else { ratio };
        let support = 1.0 * sratio;
        for out in 0..SIDE {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, from as i64 - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, from as i64);
            let centre = centre - 0.5;
            let start = self.weights.len();
            let mut sum = 0.0;
            for i in left..right {
                let x = (i as f32 - centre) / sratio;
                let w = if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 };
                self.weights.push(w);
                sum += w;
            }
            for w in &mut self.weights[start..] {
                *w /= sum;
            }
            self.spans.push((left as usize, (right - left) as usize));
        }
        self.rows.resize(SIDE * from * 3, 0.0);
    }
}

/// The largest difference allowed between [`prepare_into`] and `prepare` followed by
/// `push_chw`, in the network's -1..1 scale. They compute the same 8-bit values (none differed
/// on the 714 validation images or in the tests), so any difference would be a whole grey level
/// (2/255 in this scale); this tolerance only absorbs the last bit of the final scaling.
pub const PREPROCESSING_TOLERANCE: f32 = 1e-6;

/// The network's input for one cell patch: the same as [`crate::classify::prepare`] (the
/// central [`CENTRE_FRACTION`], resized to [`INPUT_SIDE`] with the triangle filter) then
/// scaling each 8-bit value `v` to `v / 127.5 - 1`, but channel-last: `out[(y * 64 + x) * 3 +
/// c]`. `out` must hold [`INPUT_LEN`] floats. An empty patch gives a black input.
pub fn prepare_into(patch: &RgbImage, out: &mut [f32], scratch: &mut Scratch) {
    assert_eq!(out.len(), INPUT_LEN, "one cell's input");
    let (out, _) = out.as_chunks_mut::<INPUT_LEN>();
    dispatch(Prepare { patches: std::slice::from_ref(patch), out, resize: &mut scratch.resize });
}

/// Where the rows of a `SIDE x SIDE x 3` input go in a buffer.
#[derive(Debug, Clone, Copy)]
struct Rows {
    /// Where row 0 starts.
    first: usize,
    /// From one row to the next.
    stride: usize,
}

impl Rows {
    /// Rows one after the other ([`INPUT_LEN`] floats).
    const PLAIN: Self = Self { first: 0, stride: SIDE * 3 };

    /// Where row `y` starts.
    #[inline(always)]
    fn at(self, y: usize) -> usize {
        self.first + y * self.stride
    }
}

/// The interior of the first layer's zero-padded input.
const PADDED_INPUT: Rows = Rows { first: (SIDE + 3) * 3, stride: (SIDE + 2) * 3 };

#[inline(always)]
fn prepare_with(patch: &RgbImage, out: &mut [f32], rows_out: Rows, resize: &mut Resize) {
    let (w, h) = patch.dimensions();
    let side = w.min(h);
    if side == 0 {
        for y in 0..SIDE {
            out[rows_out.at(y)..][..SIDE * 3].fill(-1.0);
        }
        return;
    }
    let keep = ((side as f32) * CENTRE_FRACTION).round().max(1.0) as u32;
    let (x0, y0) = (((w - keep) / 2) as usize, ((h - keep) / 2) as usize);
    let (width, keep) = (w as usize, keep as usize);
    let raw = patch.as_raw();
    let row_of = |y: usize| &raw[((y0 + y) * width + x0) * 3..][..keep * 3];
    if keep == SIDE {
        // `resize` copies an image that already has the size.
        for y in 0..SIDE {
            for (o, &v) in out[rows_out.at(y)..][..SIDE * 3].iter_mut().zip(row_of(y)) {
                *o = f32::from(v) / 127.5 - 1.0;
            }
        }
        return;
    }
    resize.plan(keep);
    let Resize { spans, weights, rows, .. } = resize;
    // Vertical pass, each of the `keep * 3` values of a row independently (as `vertical_sample`
    // sums each channel), so it vectorises across the row.
    let mut taken = 0;
    for (dst, &(first, count)) in rows.chunks_exact_mut(keep * 3).zip(spans.iter()) {
        dst.fill(0.0);
        for (i, &wt) in weights[taken..][..count].iter().enumerate() {
            for (t, &v) in dst.iter_mut().zip(row_of(first + i)) {
                *t += f32::from(v) * wt;
            }
        }
        taken += count;
    }
    // Horizontal pass, then clamping and rounding to 8 bits as `horizontal_sample` does.
    for (y, src) in rows.chunks_exact(keep * 3).enumerate() {
        let dst = &mut out[rows_out.at(y)..][..SIDE * 3];
        let mut taken = 0;
        for (px, &(first, count)) in dst.chunks_exact_mut(3).zip(spans.iter()) {
            let mut t = [0.0f32; 3];
            for (i, &wt) in weights[taken..][..count].iter().enumerate() {
                let p = &src[(first + i) * 3..][..3];
                for (sum, &v) in t.iter_mut().zip(p) {
                    *sum += v * wt;
                }
            }
            taken += count;
            for (o, v) in px.iter_mut().zip(t) {
                *o = v.clamp(0.0, 255.0).round() / 127.5 - 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{D, Device, Tensor};
    use candle_nn::VarMap;

    use super::*;
    use crate::classify::{Network, prepare, push_chw};
    use crate::train::Rng;

    /// The largest difference in probability allowed between this path and candle on
    /// identical inputs. Measured: below 1e-6.
    const PROBABILITY_TOLERANCE: f32 = 1e-4;

    fn shipped() -> VarBuilder<'static> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/marrow-cells-v4.model");
        let bytes = std::fs::read(path).expect("the shipped model");
        let tensors =
            candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).expect("its tensors");
        VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu)
    }

    /// The shipped model's widths, from its training record.
    fn shipped_widths() -> Widths {
        crate::classify::Classifier::shipped().expect("the shipped model").record.widths
    }

    /// `n` random inputs, uniform in -1..1, in both layouts: NHWC (this module) and NCHW
    /// (candle).
    fn random_inputs(n: usize, seed: u64) -> (Vec<f32>, Tensor) {
        let mut rng = Rng::new(seed);
        let nhwc: Vec<f32> = (0..n * INPUT_LEN).map(|_| rng.unit() * 2.0 - 1.0).collect();
        (nhwc.clone(), to_nchw(&nhwc))
    }

    fn to_nchw(nhwc: &[f32]) -> Tensor {
        let n = nhwc.len() / INPUT_LEN;
        let mut nchw: Vec<f32> = Vec::with_capacity(nhwc.len());
        for cell in nhwc.chunks_exact(INPUT_LEN) {
            for c in 0..3 {
                nchw.extend(cell.iter().skip(c).step_by(3));
            }
        }
        Tensor::from_vec(nchw, (n, 3, SIDE, SIDE), &Device::Cpu).expect("a tensor")
    }

    fn candle_probabilities(network: &Network, x: &Tensor) -> Vec<Vec<f32>> {
        let logits = network.forward(x, None).expect("candle's forward");
        candle_nn::ops::softmax(&logits, D::Minus1).expect("softmax").to_vec2().expect("rows")
    }

    fn max_difference(fast: &[[f32; CLASSES]], reference: &[Vec<f32>]) -> f32 {
        assert_eq!(fast.len(), reference.len());
        fast.iter()
            .zip(reference)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f32::max)
    }

    fn check_against_candle(vb: &VarBuilder<'_>, widths: Widths, seed: u64) {
        let reference = Network::new(vb, widths).expect("candle's network");
        let fast = FastNetwork::new(vb, widths).expect("the fast network");
        // Odd, so the two threads get different numbers of cells.
        let (nhwc, nchw) = random_inputs(5, seed);
        let expected = candle_probabilities(&reference, &nchw);
        let got = fast.forward_many(&nhwc);
        let difference = max_difference(&got, &expected);
        assert!(difference < PROBABILITY_TOLERANCE, "max |Δp| = {difference}");
        // One cell at a time, with a reused scratch, gives the same.
        let mut scratch = Scratch::new(&fast);
        for (cell, probabilities) in nhwc.chunks_exact(INPUT_LEN).zip(&got) {
            let one = fast.forward(cell, &mut scratch);
            assert!(one.iter().zip(probabilities).all(|(a, b)| (a - b).abs() < 1e-6));
        }
        // So does the baseline build of the kernels.
        let portable = FastNetwork::new(vb, widths).expect("the fast network").portable();
        let difference = max_difference(&portable.forward_many(&nhwc), &expected);
        assert!(difference < PROBABILITY_TOLERANCE, "portable: max |Δp| = {difference}");
    }

    #[test]
    fn the_fast_network_matches_candle_with_the_shipped_weights() {
        check_against_candle(&shipped(), shipped_widths(), 7);
    }

    #[test]
    fn the_fast_network_matches_candle_with_random_weights() {
        // Freshly initialised weights, with random biases too (candle starts some at zero),
        // so no property of the trained model hides a layout mistake; at the first widths and
        // at others (equal neighbours, the widest allowed).
        for widths in [
            Widths::FIRST,
            Widths::new([16, 16, 48, 32]).expect("widths"),
            Widths::new([32, 32, 64, 256]).expect("widths"),
        ] {
            let varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            Network::new(&vb, widths).expect("fresh weights");
            let mut rng = Rng::new(11);
            for (name, var) in varmap.data().lock().expect("weights").iter() {
                if name.ends_with("bias") {
                    let n = var.elem_count();
                    let values: Vec<f32> = (0..n).map(|_| rng.unit() * 0.2 - 0.1).collect();
                    var.set(&Tensor::from_vec(values, n, &Device::Cpu).expect("bias"))
                        .expect("set the bias");
                }
            }
            check_against_candle(&vb, widths, 3);
        }
    }

    #[test]
    fn a_layout_mistake_would_be_caught() {
        // The comparison can fail: a real cell's input read in the wrong layout (its
        // channel-major values taken as channel-last) gives other probabilities. (Random noise
        // would not show it: the trained network calls any noise about the same.)
        let vb = shipped();
        let reference = Network::new(&vb, shipped_widths()).expect("candle's network");
        let fast = FastNetwork::new(&vb, shipped_widths()).expect("the fast network");
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/marrow-cells/EOS/EOS_00059.jpg");
        let patch = crate::decode::decode_file(std::path::Path::new(path), &Default::default())
            .expect("a sample eosinophil");
        let mut nchw = Vec::new();
        push_chw(&prepare(&patch), &mut nchw);
        let correct =
            Tensor::from_vec(nchw.clone(), (1, 3, SIDE, SIDE), &Device::Cpu).expect("a tensor");
        let expected = candle_probabilities(&reference, &correct);
        let mut nhwc = vec![0.0; INPUT_LEN];
        prepare_into(&patch, &mut nhwc, &mut Scratch::new(&fast));
        let right = max_difference(&fast.forward_many(&nhwc), &expected);
        assert!(right < PROBABILITY_TOLERANCE, "the right layout agrees: {right}");
        let difference = max_difference(&fast.forward_many(&nchw), &expected);
        assert!(difference > PROBABILITY_TOLERANCE, "max |Δp| = {difference}");
    }

    /// The largest difference between [`prepare_into`] and `prepare` + `push_chw` for `patch`.
    fn preprocessing_difference(patch: &RgbImage, scratch: &mut Scratch) -> f32 {
        let mut expected = Vec::new();
        push_chw(&prepare(patch), &mut expected);
        let mut got = vec![0.0; INPUT_LEN];
        prepare_into(patch, &mut got, scratch);
        let plane = SIDE * SIDE;
        (0..INPUT_LEN)
            .map(|i| (got[i] - expected[(i % 3) * plane + i / 3]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_fast_preprocessing_matches_prepare() {
        let fast = FastNetwork::new(&shipped(), shipped_widths()).expect("the fast network");
        let mut scratch = Scratch::new(&fast);
        let mut rng = Rng::new(17);
        // Downscaled (250, as the Matek patches; odd and non-square ones), copied (80: the
        // centre is already 64 pixels) and upscaled (40, 1).
        for (w, h) in [(250, 250), (251, 240), (97, 131), (80, 80), (40, 40), (1, 1), (250, 250)] {
            let patch = RgbImage::from_fn(w, h, |_, _| {
                image::Rgb([rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8])
            });
            let difference = preprocessing_difference(&patch, &mut scratch);
            assert!(difference <= PREPROCESSING_TOLERANCE, "{w}x{h}: {difference}");
        }
        let mut black = vec![0.0; INPUT_LEN];
        prepare_into(&RgbImage::new(0, 0), &mut black, &mut scratch);
        assert!(black.iter().all(|&v| (v + 1.0).abs() < 1e-6), "an empty patch is black");
    }
}
