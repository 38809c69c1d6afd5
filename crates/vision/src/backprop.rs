//! Training's arithmetic, by hand: the forward pass that keeps what the backward pass needs,
//! the gradients of the weighted cross-entropy with respect to every weight, and AdamW.
//!
//! candle trains the same network about fifteen times slower on two cores: its CPU
//! convolution's backward pass (a transposed convolution) is a scalar loop nest, and every
//! small elementwise step allocates. The network here is fixed (four 3x3 convolutions, ReLU,
//! 2x2 max-pooling after the first three, global average, one linear layer), so each step is
//! written once, on [`crate::infer`]'s channel-last, zero-padded activations and its register-
//! blocked kernel:
//!
//! - forward: each convolution's whole output is computed by [`Conv::band`] and kept (after
//!   bias and ReLU), because the backward pass needs it;
//! - the gradient with respect to a convolution's input is itself a 3x3 convolution of the
//!   gradient with respect to its output (the kernel turned half a turn, channels swapped:
//!   [`Conv::backwards`]), so it runs on the same kernel;
//! - the gradient with respect to the weights is a sum of outer products over the pixels,
//!   blocked like the forward kernel (6 rows of the unfolded input times 16 output channels in
//!   registers);
//! - the batch is split between the cores, each with its own gradient sums, added at the end.
//!
//! `backprop::tests` checks every gradient against candle's automatic differentiation of
//! [`crate::classify::Network`].

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::VisionError;
use crate::classify::Widths;
use crate::infer::{CLASSES, Conv, FastNetwork, MR, NR, SIDE, Simd8, Work, dispatch, softmax};
use crate::train::Rng;

/// The network's weights (or their gradients) in candle's layouts, which are a model file's:
/// `conv{i}.weight` `(cout, cin, 3, 3)`, `conv{i}.bias` `(cout)`, `head.weight`
/// `(classes, width)`, `head.bias` `(classes)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Weights {
    pub widths: Widths,
    pub conv_weight: [Vec<f32>; 4],
    pub conv_bias: [Vec<f32>; 4],
    pub head_weight: Vec<f32>,
    pub head_bias: Vec<f32>,
}

impl Weights {
    /// All zeros.
    pub fn zeros(widths: Widths) -> Self {
        let c = widths.channels();
        Self {
            widths,
            conv_weight: std::array::from_fn(|i| vec![0.0; c[i + 1] * c[i] * 9]),
            conv_bias: std::array::from_fn(|i| vec![0.0; c[i + 1]]),
            head_weight: vec![0.0; CLASSES * c[4]],
            head_bias: vec![0.0; CLASSES],
        }
    }

    /// Kaiming-uniform weights (bound `sqrt(6 / fan_in)`) from the seeded generator, drawn
    /// layer by layer (conv0 to conv3, then the head); biases zero.
    pub fn initial(widths: Widths, rng: &mut Rng) -> Self {
        let mut w = Self::zeros(widths);
        let c = widths.channels();
        let mut fill = |values: &mut [f32], fan_in: usize| {
            let bound = (6.0 / fan_in as f32).sqrt();
            for v in values {
                *v = (rng.unit() * 2.0 - 1.0) * bound;
            }
        };
        for (weight, cin) in w.conv_weight.iter_mut().zip(c) {
            fill(weight, cin * 9);
        }
        fill(&mut w.head_weight, c[4]);
        w
    }

    /// Every tensor, mutably, in a fixed order (for the optimiser).
    fn parts_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut out: Vec<&mut Vec<f32>> = Vec::with_capacity(10);
        for (w, b) in self.conv_weight.iter_mut().zip(self.conv_bias.iter_mut()) {
            out.push(w);
            out.push(b);
        }
        out.push(&mut self.head_weight);
        out.push(&mut self.head_bias);
        out
    }

    /// Every tensor in the order of [`Self::parts_mut`].
    fn parts(&self) -> Vec<&Vec<f32>> {
        let mut out: Vec<&Vec<f32>> = Vec::with_capacity(10);
        for (w, b) in self.conv_weight.iter().zip(self.conv_bias.iter()) {
            out.push(w);
            out.push(b);
        }
        out.push(&self.head_weight);
        out.push(&self.head_bias);
        out
    }

    /// `self += other`.
    fn add(&mut self, other: &Self) {
        for (a, b) in self.parts_mut().into_iter().zip(other.parts()) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// The tensors by name, as a model file stores them.
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>, VisionError> {
        let c = self.widths.channels();
        let mut out = Vec::with_capacity(10);
        for i in 0..4 {
            let w = Tensor::from_vec(
                self.conv_weight[i].clone(),
                (c[i + 1], c[i], 3, 3),
                &Device::Cpu,
            )?;
            out.push((format!("conv{i}.weight"), w));
            let b = Tensor::from_vec(self.conv_bias[i].clone(), c[i + 1], &Device::Cpu)?;
            out.push((format!("conv{i}.bias"), b));
        }
        let w = Tensor::from_vec(self.head_weight.clone(), (CLASSES, c[4]), &Device::Cpu)?;
        out.push(("head.weight".to_owned(), w));
        out.push((
            "head.bias".to_owned(),
            Tensor::from_vec(self.head_bias.clone(), CLASSES, &Device::Cpu)?,
        ));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Reads the tensors [`Self::tensors`] names from `vb`.
    #[cfg(test)]
    pub fn from_var_builder(vb: &VarBuilder<'_>, widths: Widths) -> Result<Self, VisionError> {
        let c = widths.channels();
        let get = |shape: Vec<usize>, name: String| -> Result<Vec<f32>, VisionError> {
            Ok(vb.get(shape, &name)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        };
        let mut w = Self::zeros(widths);
        for i in 0..4 {
            w.conv_weight[i] = get(vec![c[i + 1], c[i], 3, 3], format!("conv{i}.weight"))?;
            w.conv_bias[i] = get(vec![c[i + 1]], format!("conv{i}.bias"))?;
        }
        w.head_weight = get(vec![CLASSES, c[4]], "head.weight".to_owned())?;
        w.head_bias = get(vec![CLASSES], "head.bias".to_owned())?;
        Ok(w)
    }

    /// The network [`crate::infer`] runs with these weights (for validation during training).
    pub fn fast_network(&self) -> Result<FastNetwork, VisionError> {
        let tensors: HashMap<String, Tensor> = self.tensors()?.into_iter().collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        FastNetwork::new(&vb, self.widths)
    }
}

/// One labelled example of a batch: its input (channel-last, [`crate::infer::INPUT_LEN`]
/// floats), its class index and its weight in the loss.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Example<'a> {
    pub input: &'a [f32],
    pub label: usize,
    pub weight: f32,
}

/// The layers built from the weights for one step: forward convolutions and those that carry
/// the gradient back (none for the first: its input is the image).
struct Layers<'a> {
    convs: [Conv; 4],
    backwards: [Option<Conv>; 4],
    weights: &'a Weights,
}

impl<'a> Layers<'a> {
    fn new(weights: &'a Weights) -> Self {
        let c = weights.widths.channels();
        let side = |i: usize| SIDE >> i;
        Self {
            convs: std::array::from_fn(|i| {
                Conv::from_weights(
                    side(i),
                    c[i],
                    c[i + 1],
                    &weights.conv_weight[i],
                    weights.conv_bias[i].clone(),
                )
            }),
            backwards: std::array::from_fn(|i| {
                (i > 0).then(|| Conv::backwards(side(i), c[i], c[i + 1], &weights.conv_weight[i]))
            }),
            weights,
        }
    }
}

/// One thread's activations and gradient buffers.
struct Buffers {
    /// Each layer's zero-padded input, `(side + 2)^2 x cin`; layer 0's is the image.
    padded: [Vec<f32>; 4],
    /// Each layer's output after bias and ReLU, `side^2 x cout`.
    out: [Vec<f32>; 4],
    /// The gradient with respect to each layer's output before ReLU, `side^2 x cout`.
    grad_out: [Vec<f32>; 4],
    /// The same, zero-padded, as the backward convolution's input.
    grad_padded: [Vec<f32>; 4],
    /// The gradient with respect to a layer's (pooled) input, `side^2 x cin`.
    grad_in: Vec<f32>,
    /// The weight gradients of the convolutions in the kernel's panel layout.
    panels: [Vec<f32>; 4],
    /// The last layer's global average, and its gradient.
    pooled: Vec<f32>,
    grad_pooled: Vec<f32>,
}

impl Buffers {
    fn new(layers: &Layers<'_>) -> Self {
        let padded_out = |c: &Conv| (c.side + 2) * (c.side + 2) * c.cout;
        Self {
            padded: std::array::from_fn(|i| vec![0.0; layers.convs[i].padded_len()]),
            out: std::array::from_fn(|i| vec![0.0; layers.convs[i].output_len()]),
            grad_out: std::array::from_fn(|i| vec![0.0; layers.convs[i].output_len()]),
            grad_padded: std::array::from_fn(|i| vec![0.0; padded_out(&layers.convs[i])]),
            grad_in: vec![
                0.0;
                layers.convs.iter().map(|c| c.side * c.side * c.cin).max().unwrap_or(0)
            ],
            panels: std::array::from_fn(|i| vec![0.0; layers.convs[i].panels_len()]),
            pooled: vec![0.0; layers.convs[3].cout],
            grad_pooled: vec![0.0; layers.convs[3].cout],
        }
    }
}

/// The summed loss (each example's cross-entropy times its weight) and gradients of a shard of
/// a batch, each example's gradient scaled by `scale` (one over the batch's summed weights).
struct Shard<'a> {
    layers: &'a Layers<'a>,
    examples: &'a [Example<'a>],
    scale: f32,
}

impl Work for Shard<'_> {
    type Output = (f32, Weights);

    #[inline(always)]
    fn run<S: Simd8>(self, simd: S) -> (f32, Weights) {
        let Self { layers, examples, scale } = self;
        let mut b = Buffers::new(layers);
        let mut grads = Weights::zeros(layers.weights.widths);
        let mut loss = 0.0;
        let convs = &layers.convs;
        let c3 = &convs[3];
        for example in examples {
            // Forward, keeping every layer's rectified output.
            copy_into_padded(example.input, &mut b.padded[0], SIDE, 3);
            for (i, conv) in convs.iter().enumerate() {
                conv.band(simd, &b.padded[i], 0, conv.side, &mut b.out[i]);
                for px in b.out[i].chunks_exact_mut(conv.cout) {
                    for (v, bias) in px.iter_mut().zip(&conv.bias) {
                        *v = (*v + bias).max(0.0);
                    }
                }
                if i < 3 {
                    pool_into_padded(&b.out[i], &mut b.padded[i + 1], conv.side, conv.cout);
                }
            }
            let width = c3.cout;
            let pixels = (c3.side * c3.side) as f32;
            let pooled = &mut b.pooled;
            pooled.fill(0.0);
            for px in b.out[3].chunks_exact(width) {
                for (p, v) in pooled.iter_mut().zip(px) {
                    *p += v;
                }
            }
            for p in pooled.iter_mut() {
                *p /= pixels;
            }
            let weights = layers.weights;
            let mut logits = [0.0f32; CLASSES];
            for ((logit, row), bias) in logits
                .iter_mut()
                .zip(weights.head_weight.chunks_exact(width))
                .zip(&weights.head_bias)
            {
                *logit = row.iter().zip(pooled.iter()).map(|(w, p)| w * p).sum::<f32>() + bias;
            }
            let probabilities = softmax(logits);
            loss -= example.weight * probabilities[example.label].max(f32::MIN_POSITIVE).ln();

            // Backward: the head.
            let mut grad_logits = probabilities;
            grad_logits[example.label] -= 1.0;
            let factor = example.weight * scale;
            for g in &mut grad_logits {
                *g *= factor;
            }
            let grad_pooled = &mut b.grad_pooled;
            grad_pooled.fill(0.0);
            for (k, &g) in grad_logits.iter().enumerate() {
                grads.head_bias[k] += g;
                let row = &mut grads.head_weight[k * width..][..width];
                for ((r, p), (gp, w)) in row
                    .iter_mut()
                    .zip(pooled.iter())
                    .zip(grad_pooled.iter_mut().zip(&weights.head_weight[k * width..][..width]))
                {
                    *r += g * p;
                    *gp += g * w;
                }
            }
            // The global average and the last ReLU.
            for (g, px) in b.grad_out[3].chunks_exact_mut(width).zip(b.out[3].chunks_exact(width)) {
                for ((g, &v), &gp) in g.iter_mut().zip(px).zip(grad_pooled.iter()) {
                    *g = if v > 0.0 { gp / pixels } else { 0.0 };
                }
            }
            // Down the convolutions.
            for i in (0..4).rev() {
                let conv = &convs[i];
                weight_gradient(simd, conv, &b.padded[i], &b.grad_out[i], &mut b.panels[i]);
                for px in b.grad_out[i].chunks_exact(conv.cout) {
                    for (gb, g) in grads.conv_bias[i].iter_mut().zip(px) {
                        *gb += g;
                    }
                }
                let Some(back) = &layers.backwards[i] else { continue };
                copy_into_padded(&b.grad_out[i], &mut b.grad_padded[i], conv.side, conv.cout);
                let grad_in = &mut b.grad_in[..conv.side * conv.side * conv.cin];
                back.band(simd, &b.grad_padded[i], 0, conv.side, grad_in);
                // Through the pooling and ReLU of the layer below: the gradient goes to the
                // pixel that was the maximum, if it was positive.
                let below = &convs[i - 1];
                unpool(
                    grad_in,
                    &b.padded[i],
                    &b.out[i - 1],
                    &mut b.grad_out[i - 1],
                    below.side,
                    below.cout,
                );
            }
        }
        for (i, conv) in convs.iter().enumerate() {
            conv.panels_to_weights(&b.panels[i], &mut grads.conv_weight[i]);
        }
        (loss, grads)
    }
}

/// Copies a `side x side x channels` image into the interior of a zero-padded buffer.
fn copy_into_padded(image: &[f32], padded: &mut [f32], side: usize, channels: usize) {
    let row = side * channels;
    for (y, src) in image.chunks_exact(row).enumerate() {
        padded[((y + 1) * (side + 2) + 1) * channels..][..row].copy_from_slice(src);
    }
}

/// 2x2 max-pooling of a `side x side x channels` output into the interior of the next layer's
/// zero-padded input.
fn pool_into_padded(out: &[f32], next: &mut [f32], side: usize, channels: usize) {
    let half = side / 2;
    for y in 0..half {
        for x in 0..half {
            let at = |dy: usize, dx: usize| &out[((2 * y + dy) * side + 2 * x + dx) * channels..];
            let (a, b, c, d) = (at(0, 0), at(0, 1), at(1, 0), at(1, 1));
            let dst = &mut next[((y + 1) * (half + 2) + x + 1) * channels..][..channels];
            for (ch, o) in dst.iter_mut().enumerate() {
                *o = a[ch].max(b[ch]).max(c[ch].max(d[ch]));
            }
        }
    }
}

/// The gradient through 2x2 max-pooling and the ReLU before it: each pooled value's gradient
/// (`grad_pooled`, `side/2` squared pixels) goes to the first of its four inputs that equals
/// the maximum, if the maximum is positive (else the ReLU stopped it); the rest get zero.
fn unpool(
    grad_pooled: &[f32],
    pooled_padded: &[f32],
    out: &[f32],
    grad_out: &mut [f32],
    side: usize,
    channels: usize,
) {
    grad_out.fill(0.0);
    let half = side / 2;
    for y in 0..half {
        for x in 0..half {
            let pooled = &pooled_padded[((y + 1) * (half + 2) + x + 1) * channels..][..channels];
            let grad = &grad_pooled[(y * half + x) * channels..][..channels];
            for ch in 0..channels {
                let max = pooled[ch];
                if max <= 0.0 {
                    continue;
                }
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let at = ((2 * y + dy) * side + 2 * x + dx) * channels + ch;
                    // The maximum is one of the four values, copied: exactly equal.
                    #[allow(clippy::float_cmp)]
                    let is_max = out[at] == max;
                    if is_max {
                        grad_out[at] = grad[ch];
                        break;
                    }
                }
            }
        }
    }
}

/// Adds the gradient of a convolution's weights for one example to `panels` (the kernel's
/// layout, see [`Conv`]): row `r` of the unfolded input, output channel `co`, summed over the
/// pixels `p`: `input[offset(p) + r] * grad_out[p][co]`.
#[inline(always)]
fn weight_gradient<S: Simd8>(
    simd: S,
    conv: &Conv,
    input: &[f32],
    grad_out: &[f32],
    panels: &mut [f32],
) {
    let (side, cin, cout) = (conv.side, conv.cin, conv.cout);
    let stride = (side + 2) * cin;
    let run = 3 * cin;
    let k = 9 * cin;
    let zero = simd.splat(0.0);
    for block in 0..cout / NR {
        for ky in 0..3 {
            for first in (0..run).step_by(MR) {
                let rows = (run - first).min(MR);
                // A short last block repeats its last row; the extra sums are not stored.
                let row_of: [usize; MR] = std::array::from_fn(|r| r.min(rows - 1));
                let mut acc = [[zero; 2]; MR];
                for (p, g) in grad_out.chunks_exact(cout).enumerate() {
                    let g = &g[block * NR..][..NR];
                    let (g, _) = g.as_chunks::<8>();
                    let (g0, g1) = (simd.load(&g[0]), simd.load(&g[1]));
                    let at = (p / side + ky) * stride + (p % side) * cin + first;
                    let x = &input[at..][..MR.min(input.len() - at)];
                    for (sums, &r) in acc.iter_mut().zip(&row_of) {
                        let v = simd.splat(x[r]);
                        sums[0] = simd.mul_add(v, g0, sums[0]);
                        sums[1] = simd.mul_add(v, g1, sums[1]);
                    }
                }
                for (r, sums) in acc.iter().enumerate().take(rows) {
                    let row = &mut panels[(block * k + ky * run + first + r) * NR..][..NR];
                    let (lo, hi) = row.split_at_mut(8);
                    for (o, v) in lo.iter_mut().zip(simd.store(sums[0])) {
                        *o += v;
                    }
                    for (o, v) in hi.iter_mut().zip(simd.store(sums[1])) {
                        *o += v;
                    }
                }
            }
        }
    }
}

/// The weighted cross-entropy of a batch (`Σ wᵢ · -log pᵢ[yᵢ] / Σ wᵢ`) and its gradient with
/// respect to every weight, the examples shared between the cores.
pub(crate) fn loss_and_gradients(
    weights: &Weights,
    examples: &[Example<'_>],
    portable: bool,
) -> (f32, Weights) {
    let total: f32 = examples.iter().map(|e| e.weight).sum();
    let scale = if total > 0.0 { 1.0 / total } else { 0.0 };
    let layers = Layers::new(weights);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(examples.len());
    let run = |examples: &[Example<'_>]| {
        let shard = Shard { layers: &layers, examples, scale };
        if portable { shard.run(crate::infer::Portable) } else { dispatch(shard) }
    };
    let results: Vec<(f32, Weights)> = if threads <= 1 {
        vec![run(examples)]
    } else {
        let per_thread = examples.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = examples
                .chunks(per_thread)
                .map(|chunk| {
                    let run = &run;
                    scope.spawn(move || run(chunk))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a training thread panicked")).collect()
        })
    };
    let mut loss = 0.0;
    let mut grads = Weights::zeros(weights.widths);
    for (l, g) in results {
        loss += l;
        grads.add(&g);
    }
    (loss * scale, grads)
}

/// AdamW as candle's `candle_nn::AdamW` does it (decoupled weight decay, bias-corrected
/// moments).
#[derive(Debug)]
pub(crate) struct AdamW {
    first: Weights,
    second: Weights,
    step: i32,
    pub learning_rate: f64,
    weight_decay: f64,
}

impl AdamW {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPSILON: f64 = 1e-8;

    pub fn new(widths: Widths, learning_rate: f64, weight_decay: f64) -> Self {
        Self {
            first: Weights::zeros(widths),
            second: Weights::zeros(widths),
            step: 0,
            learning_rate,
            weight_decay,
        }
    }

    /// One step of `weights` down `grads`.
    pub fn step(&mut self, weights: &mut Weights, grads: &Weights) {
        self.step += 1;
        let lr = self.learning_rate as f32;
        let decay = (1.0 - self.learning_rate * self.weight_decay) as f32;
        let (b1, b2) = (Self::BETA1 as f32, Self::BETA2 as f32);
        let c1 = (1.0 - Self::BETA1.powi(self.step)) as f32;
        let c2 = (1.0 - Self::BETA2.powi(self.step)) as f32;
        let eps = Self::EPSILON as f32;
        for (((w, g), m), v) in weights
            .parts_mut()
            .into_iter()
            .zip(grads.parts())
            .zip(self.first.parts_mut())
            .zip(self.second.parts_mut())
        {
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                let (m_hat, v_hat) = (*m / c1, *v / c2);
                *w = *w * decay - lr * m_hat / (v_hat.sqrt() + eps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Var;
    use candle_nn::VarMap;

    use super::*;
    use crate::infer::INPUT_LEN;

    /// Random weights with random biases, and a few random inputs and labels.
    fn setup(widths: Widths, n: usize, seed: u64) -> (Weights, Vec<f32>, Vec<usize>, Vec<f32>) {
        let mut rng = Rng::new(seed);
        let mut weights = Weights::initial(widths, &mut rng);
        for b in weights.conv_bias.iter_mut().chain([&mut weights.head_bias]) {
            for v in b {
                *v = rng.unit() * 0.2 - 0.1;
            }
        }
        let inputs: Vec<f32> = (0..n * INPUT_LEN).map(|_| rng.unit() * 2.0 - 1.0).collect();
        let labels: Vec<usize> = (0..n).map(|_| rng.below(CLASSES)).collect();
        let example_weights: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.5).collect();
        (weights, inputs, labels, example_weights)
    }

    /// candle's loss and gradients for the same batch, by automatic differentiation.
    fn candle_gradients(
        weights: &Weights,
        inputs: &[f32],
        labels: &[usize],
        example_weights: &[f32],
    ) -> (f32, Weights) {
        let varmap = VarMap::new();
        {
            let mut data = varmap.data().lock().expect("vars");
            for (name, tensor) in weights.tensors().expect("tensors") {
                data.insert(name, Var::from_tensor(&tensor).expect("a var"));
            }
        }
        let n = labels.len();
        let mut nchw: Vec<f32> = Vec::with_capacity(inputs.len());
        for cell in inputs.chunks_exact(INPUT_LEN) {
            for c in 0..3 {
                nchw.extend(cell.iter().skip(c).step_by(3));
            }
        }
        let x = Tensor::from_vec(nchw, (n, 3, SIDE, SIDE), &Device::Cpu).expect("x");
        let y =
            Tensor::from_vec(labels.iter().map(|&l| l as u32).collect::<Vec<_>>(), n, &Device::Cpu)
                .expect("y");
        let w = Tensor::from_vec(example_weights.to_vec(), n, &Device::Cpu).expect("w");
        let loss = crate::train::weighted_cross_entropy(&exact_forward(&varmap, &x), &y, &w)
            .expect("loss");
        let store = loss.backward().expect("backward");
        let data = varmap.data().lock().expect("vars");
        let tensors: HashMap<String, Tensor> = data
            .iter()
            .map(|(name, var)| {
                (name.clone(), store.get(var.as_tensor()).expect("a gradient").clone())
            })
            .collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        (
            loss.to_scalar::<f32>().expect("a scalar"),
            Weights::from_var_builder(&vb, weights.widths).expect("gradients"),
        )
    }

    /// The network's logits in candle, with its max-pooling written as a reshape and two
    /// maxima. candle's own `max_pool2d` has a backward pass that multiplies the gradient by
    /// the share of maxima in each window (a quarter, for one maximum) where it should divide
    /// by their number, so its gradients below each pooling are a quarter of the true ones.
    /// The convolutions are [`crate::classify::conv3x3`], not candle's `conv2d` (see there).
    fn exact_forward(varmap: &VarMap, x: &Tensor) -> Tensor {
        let data = varmap.data().lock().expect("vars");
        let var = |name: &str| data[name].as_tensor().clone();
        let mut h = x.clone();
        for i in 0..4 {
            let kernel = var(&format!("conv{i}.weight"));
            let bias = var(&format!("conv{i}.bias"));
            let cout = bias.dim(0).expect("cout");
            h = crate::classify::conv3x3(&h, &kernel)
                .map_err(|e| candle_core::Error::Msg(e.to_string()))
                .and_then(|h| h.broadcast_add(&bias.reshape((1, cout, 1, 1))?))
                .and_then(|h| h.relu())
                .expect("a convolution");
            if i < 3 {
                let (b, c, side, _) = h.dims4().expect("dims");
                h = h
                    .reshape((b, c, side / 2, 2, side / 2, 2))
                    .and_then(|h| h.max(5))
                    .and_then(|h| h.max(3))
                    .expect("pooling");
            }
        }
        let pooled = h.mean(3).and_then(|h| h.mean(2)).expect("the global average");
        pooled
            .matmul(&var("head.weight").t().expect("transposed"))
            .and_then(|l| l.broadcast_add(&var("head.bias")))
            .expect("logits")
    }

    /// The largest difference between two gradients, relative to the largest magnitude of
    /// each tensor.
    fn relative_difference(a: &Weights, b: &Weights) -> f32 {
        a.parts()
            .into_iter()
            .zip(b.parts())
            .map(|(x, y)| {
                let scale = y.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                x.iter().zip(y).map(|(p, q)| (p - q).abs() / scale).fold(0.0, f32::max)
            })
            .fold(0.0, f32::max)
    }

    fn check(widths: Widths, n: usize, seed: u64, portable: bool) {
        let (weights, inputs, labels, example_weights) = setup(widths, n, seed);
        let examples: Vec<Example<'_>> = inputs
            .chunks_exact(INPUT_LEN)
            .zip(&labels)
            .zip(&example_weights)
            .map(|((input, &label), &weight)| Example { input, label, weight })
            .collect();
        let (loss, grads) = loss_and_gradients(&weights, &examples, portable);
        let (expected_loss, expected) =
            candle_gradients(&weights, &inputs, &labels, &example_weights);
        assert!((loss - expected_loss).abs() < 1e-4, "loss {loss} vs candle {expected_loss}");
        let difference = relative_difference(&grads, &expected);
        assert!(difference < 1e-3, "gradients differ from candle's by {difference}");
    }

    #[test]
    fn gradients_match_candles_automatic_differentiation() {
        // Odd, so the threads get different numbers of examples.
        check(Widths::FIRST, 3, 5, false);
        check(Widths::new([16, 16, 32, 48]).expect("widths"), 2, 9, true);
        check(Widths::new([16, 16, 32, 48]).expect("widths"), 2, 9, false);
    }

    #[test]
    fn gradients_match_in_the_baseline_build_of_the_kernels() {
        check(Widths::FIRST, 2, 13, true);
    }

    #[test]
    fn a_wrong_gradient_would_be_caught() {
        let (weights, inputs, labels, example_weights) = setup(Widths::FIRST, 2, 21);
        let (_, expected) = candle_gradients(&weights, &inputs, &labels, &example_weights);
        let mut wrong = expected.clone();
        wrong.conv_weight[1][7] +=
            expected.conv_weight[1].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(relative_difference(&wrong, &expected) > 1e-3);
    }

    #[test]
    fn adamw_takes_candles_steps() {
        let widths = Widths::FIRST;
        let (weights, ..) = setup(widths, 0, 3);
        let mut rng = Rng::new(4);
        let mut grads = Weights::zeros(widths);
        for part in grads.parts_mut() {
            for v in part {
                *v = rng.unit() - 0.5;
            }
        }
        let mut ours = weights.clone();
        let mut optimiser = AdamW::new(widths, 0.01, 0.1);
        optimiser.step(&mut ours, &grads);
        optimiser.step(&mut ours, &grads);

        let vars: Vec<(String, Var)> = weights
            .tensors()
            .expect("tensors")
            .into_iter()
            .map(|(n, t)| (n, Var::from_tensor(&t).expect("var")))
            .collect();
        let mut theirs = candle_nn::AdamW::new(
            vars.iter().map(|(_, v)| v.clone()).collect(),
            candle_nn::ParamsAdamW { lr: 0.01, weight_decay: 0.1, ..Default::default() },
        )
        .expect("candle's AdamW");
        use candle_nn::Optimizer;
        let grad_tensors: HashMap<String, Tensor> =
            grads.tensors().expect("grads").into_iter().collect();
        // A gradient store holding `grads`: that of the sum of each weight times its gradient.
        let mut total = Tensor::new(0.0f32, &Device::Cpu).expect("zero");
        for (name, var) in &vars {
            let term = (var.as_tensor() * &grad_tensors[name]).and_then(|t| t.sum_all());
            total = (total + term.expect("a term")).expect("a sum");
        }
        let store = total.backward().expect("the store");
        theirs.step(&store).expect("a step");
        theirs.step(&store).expect("a step");
        let tensors: HashMap<String, Tensor> =
            vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let expected = Weights::from_var_builder(&vb, widths).expect("weights");
        let difference = ours
            .parts()
            .into_iter()
            .zip(expected.parts())
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect::<Vec<_>>())
            .fold(0.0, f32::max);
        assert!(difference < 1e-6, "{difference}");
        assert_ne!(ours, weights, "the step moved the weights");
    }
}
