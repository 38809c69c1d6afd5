//! The cell classifier: a small convolutional network over a cell-centred patch, its classes
//! and how they map onto the counter's, the model file, and inference with an "unidentified,
//! needs a human" bucket.
//!
//! The network proposes; the technologist decides. Matek et al. (Blood 2021;138:1917) report a
//! per-class recall of 0.63–0.91 for these classes with a far larger network, and commercial
//! systems publish positive predictive values around 76 %: every call is confirmed by a person.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, VarBuilder};
use image::RgbImage;
use marrow_domain::morphology::CellClass;
use serde::{Deserialize, Serialize};

use crate::VisionError;
use crate::infer::FastNetwork;

/// The classes the shipped model knows: the seven of the shared Matek sample (clinical data
/// PROVENANCE: 510 images each). Their order is the network's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelClass {
    /// BLA: blast.
    Blast,
    /// EOS: eosinophil.
    Eosinophil,
    /// LYT: lymphocyte.
    Lymphocyte,
    /// MON: monocyte.
    Monocyte,
    /// NGS: segmented neutrophil.
    SegmentedNeutrophil,
    /// NIF: not identifiable.
    NotIdentifiable,
    /// PMO: promyelocyte.
    Promyelocyte,
}

impl ModelClass {
    /// Every class, in output order.
    pub const ALL: [ModelClass; 7] = [
        Self::Blast,
        Self::Eosinophil,
        Self::Lymphocyte,
        Self::Monocyte,
        Self::SegmentedNeutrophil,
        Self::NotIdentifiable,
        Self::Promyelocyte,
    ];

    /// The Matek abbreviation (the training folder's name).
    pub fn code(self) -> &'static str {
        match self {
            Self::Blast => "BLA",
            Self::Eosinophil => "EOS",
            Self::Lymphocyte => "LYT",
            Self::Monocyte => "MON",
            Self::SegmentedNeutrophil => "NGS",
            Self::NotIdentifiable => "NIF",
            Self::Promyelocyte => "PMO",
        }
    }

    /// Parses a Matek abbreviation.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Where a confirmed proposal lands in the counter's differential. "Not identifiable" has
    /// no counter class: such a cell always goes to a person.
    ///
    /// | model | counter |
    /// |---|---|
    /// | BLA | Blasts |
    /// | EOS | Eosinophils and precursors |
    /// | LYT | Lymphocytes |
    /// | MON | Monocytes and promonocytes |
    /// | NGS | Segmented neutrophils |
    /// | PMO | Promyelocytes |
    /// | NIF | — (needs a human) |
    pub fn counter_class(self) -> Option<CellClass> {
        match self {
            Self::Blast => Some(CellClass::Blast),
            Self::Eosinophil => Some(CellClass::Eosinophil),
            Self::Lymphocyte => Some(CellClass::Lymphocyte),
            Self::Monocyte => Some(CellClass::Monocyte),
            Self::SegmentedNeutrophil => Some(CellClass::SegmentedNeutrophil),
            Self::Promyelocyte => Some(CellClass::Promyelocyte),
            Self::NotIdentifiable => None,
        }
    }

    /// The model class a technologist's confirmed counter class trains, for retraining on the
    /// lab's own cells: the table above read backwards, with "Other / unclassifiable" as "not
    /// identifiable". Classes the model does not know (erythroid cells, plasma cells, …) have
    /// none.
    pub fn for_counter_class(class: CellClass) -> Option<Self> {
        if class == CellClass::Other {
            return Some(Self::NotIdentifiable);
        }
        Self::ALL.into_iter().find(|m| m.counter_class() == Some(class))
    }
}

/// The side, in pixels, of the network's input.
pub const INPUT_SIDE: u32 = 64;
/// The central part of a 250-pixel Matek patch that is fed to the network (the cell is centred;
/// the border is mostly neighbours and background).
pub const CENTRE_FRACTION: f32 = 0.8;
/// The architecture's name, stored in every model file; a file of another architecture is
/// refused rather than misread.
pub const ARCHITECTURE: &str = "marrow-cnn-v1";

/// The most channels one of the network's layers may have.
pub const MAX_WIDTH: usize = 256;

/// The output channels of the network's four convolutions: each a multiple of 16 (the fast
/// kernels work on panels of 16 channels) from 16 to [`MAX_WIDTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[usize; 4]", into = "[usize; 4]")]
pub struct Widths([usize; 4]);

impl Widths {
    /// The widths of models v1 and v2 (about 80,000 weights), and of every model file written
    /// before widths were recorded.
    pub const FIRST: Self = Self([16, 32, 64, 96]);

    /// Checks `widths`, naming the first that is not allowed.
    pub fn new(widths: [usize; 4]) -> Result<Self, VisionError> {
        for (layer, &w) in widths.iter().enumerate() {
            if w == 0 || w % 16 != 0 || w > MAX_WIDTH {
                return Err(VisionError::Data(format!(
                    "widths: layer {} has {w} channels; each layer needs a multiple of 16 from \
                     16 to {MAX_WIDTH}",
                    layer + 1
                )));
            }
        }
        Ok(Self(widths))
    }

    /// The four output widths.
    pub fn get(self) -> [usize; 4] {
        self.0
    }

    /// The input channels (3) then the four output widths.
    pub fn channels(self) -> [usize; 5] {
        let [a, b, c, d] = self.0;
        [3, a, b, c, d]
    }
}

impl TryFrom<[usize; 4]> for Widths {
    type Error = VisionError;
    fn try_from(widths: [usize; 4]) -> Result<Self, VisionError> {
        Self::new(widths)
    }
}

impl From<Widths> for [usize; 4] {
    fn from(widths: Widths) -> Self {
        widths.0
    }
}

impl std::fmt::Display for Widths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}/{b}/{c}/{d}")
    }
}

/// The network: four 3x3 convolutions ([`Widths`] channels, 16/32/64/96 in v1 and v2) with
/// ReLU, 2x2 max-pooling after the first three, global average pooling and one linear layer.
/// About 30 MFLOPs per cell at the first widths: small enough for hundreds of cells a second on
/// two CPU cores.
#[derive(Debug)]
pub struct Network {
    convs: [Conv2d; 4],
    head: Linear,
}

impl Network {
    /// Builds the layers from `vb` (fresh weights for training, or loaded ones).
    pub fn new(vb: &VarBuilder<'_>, widths: Widths) -> Result<Self, VisionError> {
        let conf = Conv2dConfig { padding: 1, ..Default::default() };
        let channels = widths.channels();
        let conv = |i: usize| {
            candle_nn::conv2d(channels[i], channels[i + 1], 3, conf, vb.pp(format!("conv{i}")))
        };
        Ok(Self {
            convs: [conv(0)?, conv(1)?, conv(2)?, conv(3)?],
            head: candle_nn::linear(channels[4], ModelClass::ALL.len(), vb.pp("head"))?,
        })
    }

    /// Logits, `(batch, classes)`, for a `(batch, 3, side, side)` input.
    pub fn forward(&self, x: &Tensor, dropout: Option<f32>) -> Result<Tensor, VisionError> {
        let mut h = x.clone();
        for (i, conv) in self.convs.iter().enumerate() {
            let bias = conv.bias().ok_or_else(|| VisionError::Model("a bias".into()))?;
            let cout = bias.dim(0)?;
            h = conv3x3(&h, conv.weight())?
                .broadcast_add(&bias.reshape((1, cout, 1, 1))?)?
                .relu()?;
            if i < 3 {
                h = h.max_pool2d(2)?;
            }
        }
        let mut pooled = h.mean(D::Minus1)?.mean(D::Minus1)?;
        if let Some(p) = dropout {
            pooled = candle_nn::ops::dropout(&pooled, p)?;
        }
        Ok(self.head.forward(&pooled)?)
    }
}

/// A 3x3 convolution (stride 1, padding 1, no bias) of `x` `(batch, cin, side, side)` by
/// `weight` `(cout, cin, 3, 3)`, as one matrix product over the nine shifted views of the
/// padded input. Not candle's `conv2d`: candle 0.9.2's CPU `conv2d` gives wrong sums whenever
/// a contiguous input's channels equal its side (16 channels of 16 x 16, 32 of 32 x 32, 3 of
/// 3 x 3: checked against a plain loop), which widths other than the first meet.
pub(crate) fn conv3x3(x: &Tensor, weight: &Tensor) -> Result<Tensor, VisionError> {
    let (b, c, h, w) = x.dims4()?;
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let mut taps = Vec::with_capacity(9);
    for ky in 0..3 {
        for kx in 0..3 {
            taps.push(padded.narrow(2, ky, h)?.narrow(3, kx, w)?);
        }
    }
    // (batch, cin, 9, pixels): row `ci * 9 + tap` as in the weights' (cout, cin, ky, kx).
    let cols = Tensor::stack(&taps, 2)?.reshape((b, c * 9, h * w))?;
    let cout = weight.dim(0)?;
    let y = weight.reshape((cout, c * 9))?.broadcast_matmul(&cols)?;
    Ok(y.reshape((b, cout, h, w))?)
}

/// Turns cell patches into the network's input: the central [`CENTRE_FRACTION`] of each
/// (square) patch resized to [`INPUT_SIDE`], channels scaled to 0–1 and centred.
pub fn to_input(patches: &[RgbImage], device: &Device) -> Result<Tensor, VisionError> {
    let side = INPUT_SIDE as usize;
    let mut data = Vec::with_capacity(patches.len() * 3 * side * side);
    for patch in patches {
        let small = prepare(patch);
        push_chw(&small, &mut data);
    }
    Ok(Tensor::from_vec(data, (patches.len(), 3, side, side), device)?)
}

/// The centre crop and resize of one patch, as `INPUT_SIDE` x `INPUT_SIDE` RGB.
pub fn prepare(patch: &RgbImage) -> RgbImage {
    let (w, h) = patch.dimensions();
    let side = w.min(h);
    let keep = ((side as f32) * CENTRE_FRACTION).round().max(1.0) as u32;
    let (x, y) = ((w - keep) / 2, (h - keep) / 2);
    let centre = image::imageops::crop_imm(patch, x, y, keep, keep).to_image();
    image::imageops::resize(&centre, INPUT_SIDE, INPUT_SIDE, image::imageops::FilterType::Triangle)
}

/// Appends an image's pixels in channel-major order, scaled to about -1..1.
pub fn push_chw(image: &RgbImage, out: &mut Vec<f32>) {
    for channel in 0..3 {
        out.extend(image.pixels().map(|p| f32::from(p.0[channel]) / 127.5 - 1.0));
    }
}

/// What a model file records about how it was trained (the "training record").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingRecord {
    /// [`ARCHITECTURE`].
    pub architecture: String,
    /// The model's version, e.g. `1`; bumped by every retraining that ships.
    pub model_version: String,
    /// The classes, in output order (Matek codes).
    pub classes: Vec<String>,
    /// The side of the network's input it was trained on ([`INPUT_SIDE`]). Files written before
    /// this was recorded were all 64.
    #[serde(default = "first_input_side")]
    pub input_side: u32,
    /// The central part of each patch it was trained on ([`CENTRE_FRACTION`]). Files written
    /// before this was recorded were all 0.8.
    #[serde(default = "first_centre_fraction")]
    pub centre_fraction: f32,
    /// The channels of the four convolutions. Files written before this was recorded were all
    /// [`Widths::FIRST`].
    #[serde(default = "first_widths")]
    pub widths: Widths,
    /// Where the training images came from, with citations.
    pub data: Vec<String>,
    /// Images per class used (training + validation).
    pub images_per_class: HashMap<String, usize>,
    /// The seed of the split, the initial weights and the augmentation.
    pub seed: u64,
    /// The fraction of each class held out for validation.
    pub validation_fraction: f32,
    /// The validation images (paths relative to their data folder), so the split can be
    /// checked and repeated.
    pub validation_files: Vec<String>,
    /// Epochs, batch size, learning rate, augmentation.
    pub schedule: String,
    /// Seconds the training took.
    pub training_seconds: f64,
    /// Metrics on the validation part.
    pub validation: crate::metrics::Metrics,
}

fn first_input_side() -> u32 {
    64
}

fn first_centre_fraction() -> f32 {
    0.8
}

fn first_widths() -> Widths {
    Widths::FIRST
}

/// A trained classifier, ready to propose classes.
#[derive(Debug)]
pub struct Classifier {
    /// The candle network (the reference, and what training builds).
    network: Network,
    /// The same weights, rearranged for [`crate::infer`]: what [`Classifier::classify`] runs.
    fast: FastNetwork,
    device: Device,
    /// How it was trained.
    pub record: TrainingRecord,
}

/// A proposal for one cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The most probable class, or `None` for "unidentified: needs a human" (below the
    /// confidence threshold, or "not identifiable").
    pub class: Option<ModelClass>,
    /// The most probable class whatever its confidence.
    pub top: ModelClass,
    /// Its probability.
    pub confidence: f32,
    /// Every class's probability, in [`ModelClass::ALL`] order.
    pub probabilities: Vec<f32>,
}

/// Below this probability a proposal goes to the "needs a human" bucket. Chosen so that the
/// bucket takes the calls the network itself doubts; the technologist confirms every call
/// either way.
pub const CONFIDENCE_THRESHOLD: f32 = 0.5;

impl Classifier {
    /// Loads a model file written by [`save`].
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        let bytes = std::fs::read(path)
            .map_err(|source| VisionError::Io { path: path.display().to_string(), source })?;
        Self::from_bytes(&bytes)
    }

    /// Reads a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VisionError> {
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| VisionError::Model(format!("not a model file: {e}")))?;
        let record: TrainingRecord = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get("marrow.training_record"))
            .ok_or_else(|| VisionError::Model("the file has no training record".into()))
            .and_then(|raw| {
                serde_json::from_str(raw)
                    .map_err(|e| VisionError::Model(format!("unreadable training record: {e}")))
            })?;
        if record.architecture != ARCHITECTURE {
            return Err(VisionError::Model(format!(
                "architecture {:?} is not {ARCHITECTURE:?}",
                record.architecture
            )));
        }
        // The weights fit any input side (the network pools globally), so a model trained on
        // other inputs would load and quietly misjudge every cell: refuse it instead.
        if record.input_side != INPUT_SIDE || record.centre_fraction != CENTRE_FRACTION {
            return Err(VisionError::Model(format!(
                "the model was trained on {}-pixel inputs from the central {:.0} % of each patch; \
                 this Marrow prepares {INPUT_SIDE}-pixel inputs from the central {:.0} %",
                record.input_side,
                record.centre_fraction * 100.0,
                CENTRE_FRACTION * 100.0
            )));
        }
        let expected: Vec<&str> = ModelClass::ALL.iter().map(|c| c.code()).collect();
        if record.classes != expected {
            return Err(VisionError::Model(format!(
                "classes {:?} are not {expected:?}",
                record.classes
            )));
        }
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load_buffer(bytes, &device)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let widths = record.widths;
        let misfit = |e: VisionError| {
            VisionError::Model(format!(
                "the weights do not fit the network widths {widths} the training record states: \
                 {e}"
            ))
        };
        Ok(Self {
            network: Network::new(&vb, widths).map_err(misfit)?,
            fast: FastNetwork::new(&vb, widths).map_err(misfit)?,
            device,
            record,
        })
    }

    /// Proposals for cell patches (square, cell-centred, like the Matek patches), computed by
    /// [`crate::infer`] on all cores.
    pub fn classify(&self, patches: &[RgbImage]) -> Result<Vec<Proposal>, VisionError> {
        Ok(self
            .fast
            .classify(patches)
            .into_iter()
            .map(|p| Proposal::from_probabilities(p.to_vec()))
            .collect())
    }

    /// The same proposals computed by candle ([`to_input`] and [`Network::forward`]), in
    /// batches of 64: the reference [`Self::classify`] is checked against.
    pub fn classify_reference(&self, patches: &[RgbImage]) -> Result<Vec<Proposal>, VisionError> {
        let mut out = Vec::with_capacity(patches.len());
        for batch in patches.chunks(64) {
            let input = to_input(batch, &self.device)?;
            let probabilities =
                candle_nn::ops::softmax(&self.network.forward(&input, None)?, D::Minus1)?;
            for row in probabilities.to_vec2::<f32>()? {
                out.push(Proposal::from_probabilities(row));
            }
        }
        Ok(out)
    }

    /// The candle network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network as [`crate::infer`] runs it.
    pub fn fast_network(&self) -> &FastNetwork {
        &self.fast
    }
}

impl Proposal {
    /// The proposal for a cell's class probabilities ([`ModelClass::ALL`] order): the most
    /// probable class, sent to a human below [`CONFIDENCE_THRESHOLD`] or when it is "not
    /// identifiable".
    pub fn from_probabilities(probabilities: Vec<f32>) -> Self {
        let (index, confidence) = probabilities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |best, (i, p)| if p > best.1 { (i, p) } else { best });
        let top = ModelClass::ALL[index];
        let class =
            (confidence >= CONFIDENCE_THRESHOLD && top.counter_class().is_some()).then_some(top);
        Proposal { class, top, confidence, probabilities }
    }
}

/// Writes the named weights and `record` as one safetensors file; the record travels in its
/// metadata, so a model can never be separated from how it was made.
pub fn save(
    tensors: &[(String, Tensor)],
    record: &TrainingRecord,
    path: &Path,
) -> Result<(), VisionError> {
    let json = serde_json::to_string(record)
        .map_err(|e| VisionError::Model(format!("training record: {e}")))?;
    let metadata = HashMap::from([("marrow.training_record".to_owned(), json)]);
    let bytes =
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| VisionError::Model(format!("cannot write the model: {e}")))?;
    std::fs::write(path, bytes)
        .map_err(|source| VisionError::Io { path: path.display().to_string(), source })
}

/// The model that ships with Marrow, trained on the shared Matek sample (see its training
/// record, and BENCHMARKS.md for its accuracy).
const DEFAULT_MODEL: &[u8] = include_bytes!("../models/marrow-cells-v4.model");

impl Classifier {
    /// The model that ships with Marrow.
    pub fn shipped() -> Result<Self, VisionError> {
        Self::from_bytes(DEFAULT_MODEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_but_not_identifiable_maps_onto_the_counter() {
        for class in ModelClass::ALL {
            assert_eq!(ModelClass::from_code(class.code()), Some(class));
            assert_eq!(class.counter_class().is_none(), class == ModelClass::NotIdentifiable);
            if let Some(counter) = class.counter_class() {
                assert_eq!(ModelClass::for_counter_class(counter), Some(class), "round trip");
            }
        }
        assert_eq!(
            ModelClass::for_counter_class(CellClass::Other),
            Some(ModelClass::NotIdentifiable)
        );
        assert_eq!(ModelClass::for_counter_class(CellClass::PlasmaCell), None);
    }

    #[test]
    fn doubtful_and_not_identifiable_cells_go_to_a_human() {
        let sure = Proposal::from_probabilities(vec![0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]);
        assert_eq!(sure.class, Some(ModelClass::Blast));
        let doubtful = Proposal::from_probabilities(vec![0.4, 0.3, 0.1, 0.1, 0.05, 0.03, 0.02]);
        assert_eq!((doubtful.class, doubtful.top), (None, ModelClass::Blast));
        let nif = Proposal::from_probabilities(vec![0.01, 0.01, 0.01, 0.01, 0.01, 0.94, 0.01]);
        assert_eq!((nif.class, nif.top), (None, ModelClass::NotIdentifiable));
    }

    #[test]
    fn prepare_keeps_the_centre_at_the_input_size() {
        let mut patch = RgbImage::from_pixel(250, 250, image::Rgb([255, 255, 255]));
        for y in 100..150 {
            for x in 100..150 {
                patch.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        let small = prepare(&patch);
        assert_eq!(small.dimensions(), (INPUT_SIDE, INPUT_SIDE));
        assert_eq!(small.get_pixel(32, 32).0, [0, 0, 0], "the centre stays in the middle");
        assert_eq!(small.get_pixel(1, 1).0, [255, 255, 255]);
    }
}
