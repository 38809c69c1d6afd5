//! Training the classifier from labelled folders (one sub-folder per class, named with the
//! Matek code: `BLA/`, `EOS/`, …), with a fixed, recorded split and seed, augmentation that
//! suits cells, and a model file that carries its training record.
//!
//! Augmentation: a cell has no "up", so each image is seen in any of the 8 rotations by right
//! angles and reflections; it is shifted by a few pixels (the crop is never perfectly
//! centred); and its colour is jittered mildly (each channel's gain and the brightness), for
//! the stain and camera differences between laboratories.
//!
//! The arithmetic of each step (gradients and AdamW) is `backprop.rs`'s, on the CPU
//! kernels inference uses; candle is only the reference its tests check against.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;

use crate::VisionError;
use crate::backprop::{AdamW, Example, Weights, loss_and_gradients};
use crate::classify::{
    ARCHITECTURE, INPUT_SIDE, ModelClass, Proposal, TrainingRecord, Widths, prepare, save,
};
use crate::infer::INPUT_LEN;
use crate::metrics::Metrics;

/// A labelled image: its path relative to its folder's root, and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// The data folder it came from.
    pub root: PathBuf,
    /// Relative path, e.g. `BLA/BLA_00012.jpg`.
    pub path: String,
    /// Its class.
    pub class: ModelClass,
}

/// Lists the images of a labelled folder; sub-folders not named after a class are refused by
/// name (a typo would otherwise silently drop a class).
pub fn list_folder(root: &Path) -> Result<Vec<Labelled>, VisionError> {
    let io = |source| VisionError::Io { path: root.display().to_string(), source };
    let mut out = Vec::new();
    let mut entries: Vec<_> =
        std::fs::read_dir(root).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if !entry.file_type().map_err(io)?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let class = ModelClass::from_code(&name).ok_or_else(|| {
            VisionError::Data(format!(
                "folder {name:?} in {} is not a class; expected one of {}",
                root.display(),
                ModelClass::ALL.map(ModelClass::code).join(", ")
            ))
        })?;
        let mut files: Vec<String> = std::fs::read_dir(entry.path())
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .filter(|f| {
                let lower = f.to_ascii_lowercase();
                [".jpg", ".jpeg", ".png", ".tif", ".tiff"].iter().any(|e| lower.ends_with(e))
            })
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| Labelled {
            root: root.to_owned(),
            path: format!("{name}/{f}"),
            class,
        }));
    }
    if out.is_empty() {
        return Err(VisionError::Data(format!("no labelled images in {}", root.display())));
    }
    Ok(out)
}

/// A small, seedable random generator (SplitMix64): the split, the initial weights and the
/// augmentation all come from the recorded seed, so a run can be repeated.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1_u64 << 24) as f32
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Splits each class separately (stratified): after a seeded shuffle, the first
/// `validation_fraction` of every class is held out. Returns (training, validation).
pub fn split(
    items: &[Labelled],
    validation_fraction: f32,
    seed: u64,
) -> (Vec<Labelled>, Vec<Labelled>) {
    let mut rng = Rng::new(seed);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for class in ModelClass::ALL {
        let mut of_class: Vec<Labelled> =
            items.iter().filter(|i| i.class == class).cloned().collect();
        rng.shuffle(&mut of_class);
        let held = ((of_class.len() as f32) * validation_fraction).round() as usize;
        validation.extend(of_class.drain(..held));
        train.extend(of_class);
    }
    (train, validation)
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Passes over the training part.
    pub epochs: usize,
    /// Images per optimiser step.
    pub batch: usize,
    /// Peak learning rate (AdamW, cosine decay to zero).
    pub learning_rate: f64,
    /// Fraction of each class held out.
    pub validation_fraction: f32,
    /// Seed of everything random.
    pub seed: u64,
    /// The version written into the model file.
    pub model_version: String,
    /// Each class's weight in the loss, in [`ModelClass::ALL`] order (1 for all by default): a
    /// heavier class costs more when missed, trading some recall of the others for its own.
    pub class_weights: [f32; 7],
    /// The channels of the network's convolutions.
    pub widths: Widths,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch: 32,
            learning_rate: 2e-3,
            validation_fraction: 0.2,
            seed: 20_261_124,
            model_version: "1".to_owned(),
            class_weights: [1.0; 7],
            widths: Widths::FIRST,
        }
    }
}

/// What training reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Images decoded and prepared so far, of the total.
    Loaded(usize, usize),
    /// One epoch done: (epoch, epochs, mean training loss, validation accuracy).
    Epoch(usize, usize, f32, f64),
}

/// Decodes and prepares every image once (they are small after [`prepare`]).
fn load(
    items: &[Labelled],
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<RgbImage>, VisionError> {
    let limits = crate::decode::Limits::default();
    let mut out = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let image = crate::decode::decode_file(&item.root.join(&item.path), &limits)?;
        out.push(prepare(&image));
        if n % 200 == 199 || n + 1 == items.len() {
            progress(Progress::Loaded(n + 1, items.len()));
        }
    }
    Ok(out)
}

/// One augmented copy of a prepared image, as the network's channel-last input
/// (`[(y * side + x) * 3 + c]`).
fn augment(image: &RgbImage, rng: &mut Rng, out: &mut Vec<f32>) {
    let side = INPUT_SIDE as i64;
    let transform = rng.below(8);
    let (dx, dy) = (rng.below(7) as i64 - 3, rng.below(7) as i64 - 3);
    let gains = [0.9 + 0.2 * rng.unit(), 0.9 + 0.2 * rng.unit(), 0.9 + 0.2 * rng.unit()];
    let brightness = (rng.unit() - 0.5) * 0.16;
    for y in 0..side {
        for x in 0..side {
            for (channel, gain) in gains.iter().enumerate() {
                // Where this output pixel comes from: shift, then one of the 8 symmetries.
                let (sx, sy) = ((x + dx).clamp(0, side - 1), (y + dy).clamp(0, side - 1));
                let (u, v) = match transform {
                    0 => (sx, sy),
                    1 => (side - 1 - sy, sx),
                    2 => (side - 1 - sx, side - 1 - sy),
                    3 => (sy, side - 1 - sx),
                    4 => (side - 1 - sx, sy),
                    5 => (sx, side - 1 - sy),
                    6 => (sy, sx),
                    _ => (side - 1 - sy, side - 1 - sx),
                };
                let p = image.get_pixel(u as u32, v as u32).0[channel];
                out.push((f32::from(p) / 127.5 - 1.0) * gain + brightness);
            }
        }
    }
}

/// Cross-entropy with a weight per example: `-(Σ wᵢ · log pᵢ[yᵢ]) / Σ wᵢ`. With every weight 1
/// it is the plain mean cross-entropy. candle's, the reference [`crate::backprop`]'s loss is
/// checked against.
#[cfg(test)]
pub(crate) fn weighted_cross_entropy(
    logits: &candle_core::Tensor,
    labels: &candle_core::Tensor,
    weights: &candle_core::Tensor,
) -> Result<candle_core::Tensor, VisionError> {
    let log_p = candle_nn::ops::log_softmax(logits, candle_core::D::Minus1)?;
    let picked = log_p.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?;
    let total = weights.sum_all()?;
    Ok((picked * weights)?.sum_all()?.neg()?.broadcast_div(&total)?)
}

/// Trains on `items` and writes the model to `out`. `data` describes the sources (with their
/// citations) for the record; `progress` hears about loading and each epoch.
pub fn train(
    items: &[Labelled],
    data: Vec<String>,
    options: &TrainOptions,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainingRecord, VisionError> {
    let started = Instant::now();
    let (train_items, validation_items) = split(items, options.validation_fraction, options.seed);
    if train_items.is_empty() || validation_items.is_empty() {
        return Err(VisionError::Data("too few images to hold some out for validation".into()));
    }
    let mut all = train_items.clone();
    all.extend(validation_items.iter().cloned());
    let images = load(&all, progress)?;
    let (train_images, validation_images) = images.split_at(train_items.len());

    let mut rng = Rng::new(options.seed ^ 0x5EED);
    let mut weights = Weights::initial(options.widths, &mut rng);
    let mut optimiser = AdamW::new(options.widths, options.learning_rate, 1e-4);
    let labels: Vec<usize> = train_items
        .iter()
        .map(|i| ModelClass::ALL.iter().position(|c| *c == i.class).unwrap_or(0))
        .collect();
    let mut validation_inputs = Vec::with_capacity(validation_images.len() * INPUT_LEN);
    for image in validation_images {
        push_hwc(image, &mut validation_inputs);
    }
    let steps_per_epoch = train_items.len().div_ceil(options.batch);
    let total_steps = (steps_per_epoch * options.epochs).max(1);
    let mut step = 0;
    let mut order: Vec<usize> = (0..train_items.len()).collect();
    let mut last_metrics = None;
    let mut input = Vec::with_capacity(options.batch * INPUT_LEN);
    for epoch in 0..options.epochs {
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for batch in order.chunks(options.batch) {
            let progress_fraction = step as f64 / total_steps as f64;
            optimiser.learning_rate = options.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * progress_fraction).cos());
            input.clear();
            for &i in batch {
                augment(&train_images[i], &mut rng, &mut input);
            }
            let examples: Vec<Example<'_>> = input
                .chunks_exact(INPUT_LEN)
                .zip(batch)
                .map(|(input, &i)| Example {
                    input,
                    label: labels[i],
                    weight: options.class_weights[labels[i]],
                })
                .collect();
            let (loss, grads) = loss_and_gradients(&weights, &examples, false);
            optimiser.step(&mut weights, &grads);
            loss_sum += loss;
            step += 1;
        }
        let metrics = evaluate(&weights, &validation_inputs, &validation_items)?;
        progress(Progress::Epoch(
            epoch + 1,
            options.epochs,
            loss_sum / steps_per_epoch as f32,
            metrics.accuracy,
        ));
        last_metrics = Some(metrics);
    }
    let validation = match last_metrics {
        Some(m) => m,
        None => evaluate(&weights, &validation_inputs, &validation_items)?,
    };
    let mut images_per_class = HashMap::new();
    for item in items {
        *images_per_class.entry(item.class.code().to_owned()).or_insert(0) += 1;
    }
    let record = TrainingRecord {
        architecture: ARCHITECTURE.to_owned(),
        model_version: options.model_version.clone(),
        classes: ModelClass::ALL.iter().map(|c| c.code().to_owned()).collect(),
        input_side: INPUT_SIDE,
        centre_fraction: crate::classify::CENTRE_FRACTION,
        widths: options.widths,
        data,
        images_per_class,
        seed: options.seed,
        validation_fraction: options.validation_fraction,
        validation_files: validation_items.iter().map(|i| i.path.clone()).collect(),
        schedule: format!(
            "network widths {}; {} epochs, batch {}, AdamW peak lr {} with cosine decay, weight \
             decay 1e-4; \
             augmentation: 8 right-angle rotations/reflections, shifts up to 3 px, channel gain \
             0.9-1.1, brightness +/-0.08; input {}x{} from the central {:.0}% of each patch; \
             class weights in the loss {}",
            options.widths,
            options.epochs,
            options.batch,
            options.learning_rate,
            INPUT_SIDE,
            INPUT_SIDE,
            crate::classify::CENTRE_FRACTION * 100.0,
            ModelClass::ALL
                .iter()
                .zip(options.class_weights)
                .map(|(c, w)| format!("{} {w}", c.code()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        training_seconds: started.elapsed().as_secs_f64(),
        validation,
    };
    save(&weights.tensors()?, &record, out)?;
    Ok(record)
}

/// Validation metrics of `weights` on prepared inputs (channel-last, one after the other).
fn evaluate(weights: &Weights, inputs: &[f32], items: &[Labelled]) -> Result<Metrics, VisionError> {
    let probabilities = weights.fast_network()?.forward_many(inputs);
    let pairs: Vec<(usize, usize)> = probabilities
        .iter()
        .zip(items)
        .map(|(p, item)| {
            let index = |class: ModelClass| ModelClass::ALL.iter().position(|c| *c == class);
            let top = Proposal::from_probabilities(p.to_vec()).top;
            (index(item.class).unwrap_or(0), index(top).unwrap_or(0))
        })
        .collect();
    let codes: Vec<&str> = ModelClass::ALL.iter().map(|c| c.code()).collect();
    Ok(Metrics::from_pairs(&codes, &pairs))
}

/// Appends an image's pixels channel-last, scaled as [`push_chw`] scales them.
fn push_hwc(image: &RgbImage, out: &mut Vec<f32>) {
    out.extend(image.pixels().flat_map(|p| p.0.map(|v| f32::from(v) / 127.5 - 1.0)));
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn weighted_cross_entropy_is_the_plain_one_with_unit_weights_and_weighs_examples_otherwise() {
        let device = Device::Cpu;
        let logits = Tensor::from_vec(
            vec![2.0f32, 0.5, -1.0, 0.1, 0.2, 0.3, 1.5, -0.5, 0.0],
            (3, 3),
            &device,
        )
        .unwrap();
        let labels = Tensor::from_vec(vec![0u32, 2, 1], 3, &device).unwrap();
        let ones = Tensor::from_vec(vec![1.0f32; 3], 3, &device).unwrap();
        let plain =
            candle_nn::loss::cross_entropy(&logits, &labels).unwrap().to_scalar::<f32>().unwrap();
        let weighted =
            weighted_cross_entropy(&logits, &labels, &ones).unwrap().to_scalar::<f32>().unwrap();
        assert!((plain - weighted).abs() < 1e-6, "{plain} vs {weighted}");
        // By hand: -log softmax of each row at its label, weighted 1, 3, 0.
        let rows = [[2.0f32, 0.5, -1.0], [0.1, 0.2, 0.3], [1.5, -0.5, 0.0]];
        let nll = |row: [f32; 3], k: usize| {
            let z: f32 = row.iter().map(|v| v.exp()).sum();
            -(row[k].exp() / z).ln()
        };
        let expected = (nll(rows[0], 0) + 3.0 * nll(rows[1], 2)) / 4.0;
        let w = Tensor::from_vec(vec![1.0f32, 3.0, 0.0], 3, &device).unwrap();
        let got = weighted_cross_entropy(&logits, &labels, &w).unwrap().to_scalar::<f32>().unwrap();
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    fn items(per_class: usize) -> Vec<Labelled> {
        ModelClass::ALL
            .iter()
            .flat_map(|&class| {
                (0..per_class).map(move |n| Labelled {
                    root: PathBuf::from("/data"),
                    path: format!("{}/{n}.jpg", class.code()),
                    class,
                })
            })
            .collect()
    }

    #[test]
    fn the_split_is_stratified_disjoint_and_repeatable() {
        let all = items(10);
        let (train, validation) = split(&all, 0.2, 7);
        assert_eq!((train.len(), validation.len()), (56, 14));
        for class in ModelClass::ALL {
            assert_eq!(validation.iter().filter(|i| i.class == class).count(), 2);
        }
        assert!(validation.iter().all(|v| !train.contains(v)));
        assert_eq!(
            split(&all, 0.2, 7),
            (train.clone(), validation.clone()),
            "same seed, same split"
        );
        assert_ne!(split(&all, 0.2, 8).1, validation, "another seed, another split");
    }

    #[test]
    fn augmentation_keeps_the_pixels_of_a_cell_that_has_no_up() {
        // A uniform patch is unchanged by rotations and shifts; only the colour jitter acts,
        // and mildly.
        let patch = RgbImage::from_pixel(INPUT_SIDE, INPUT_SIDE, image::Rgb([128, 64, 200]));
        let mut out = Vec::new();
        augment(&patch, &mut Rng::new(1), &mut out);
        assert_eq!(out.len(), INPUT_LEN);
        let base = [128.0 / 127.5 - 1.0, 64.0 / 127.5 - 1.0, 200.0 / 127.5 - 1.0];
        for (c, base) in base.iter().enumerate() {
            let channel: Vec<f32> = out.iter().skip(c).step_by(3).copied().collect();
            assert!(channel.iter().all(|v| (v - channel[0]).abs() < 1e-6), "one value each");
            assert!((channel[0] - base).abs() < 0.3, "mild jitter");
        }
    }

    #[test]
    fn the_generator_is_repeatable_and_roughly_uniform() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        assert_eq!(a.next_u64(), b.next_u64());
        let mean: f32 = (0..10_000).map(|_| a.unit()).sum::<f32>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
