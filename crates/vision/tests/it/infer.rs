//! The fast inference path (`marrow_vision::infer`, what `Classifier::classify` runs) against
//! candle's on the committed sample of marrow cells.

use std::path::PathBuf;

use candle_core::{D, Device};
use image::RgbImage;
use marrow_vision::classify::{Classifier, INPUT_SIDE, to_input};
use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::infer::{INPUT_LEN, PREPROCESSING_TOLERANCE};
use marrow_vision::train::list_folder;

/// The largest difference in probability allowed between the two paths.
const PROBABILITY_TOLERANCE: f32 = 1e-4;

fn sample() -> Vec<RgbImage> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/marrow-cells");
    let items = list_folder(&root).expect("the sample");
    assert_eq!(items.len(), 70);
    items
        .iter()
        .map(|i| decode_file(&root.join(&i.path), &Limits::default()).expect("decodes"))
        .collect()
}

/// candle's input for `patches` (`prepare` then `push_chw`), rearranged channel-last.
fn reference_inputs(patches: &[RgbImage]) -> Vec<f32> {
    let chw = to_input(patches, &Device::Cpu)
        .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
        .expect("candle's input");
    let plane = (INPUT_SIDE * INPUT_SIDE) as usize;
    let mut nhwc = Vec::with_capacity(chw.len());
    for cell in chw.chunks_exact(3 * plane) {
        for i in 0..plane {
            nhwc.extend([cell[i], cell[plane + i], cell[2 * plane + i]]);
        }
    }
    nhwc
}

#[test]
fn the_fast_preprocessing_matches_prepare_on_the_sample() {
    let classifier = Classifier::shipped().expect("the shipped model");
    let patches = sample();
    let fast = classifier.fast_network().prepare_many(&patches);
    let reference = reference_inputs(&patches);
    assert_eq!(fast.len(), patches.len() * INPUT_LEN);
    let difference = fast.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(difference <= PREPROCESSING_TOLERANCE, "max difference {difference}");
}

#[test]
fn the_fast_network_matches_candle_on_the_sample() {
    let classifier = Classifier::shipped().expect("the shipped model");
    let patches = sample();
    // Identical inputs: candle's own preprocessing for both networks.
    let inputs = reference_inputs(&patches);
    let fast = classifier.fast_network().forward_many(&inputs);
    let x = to_input(&patches, &Device::Cpu).expect("candle's input");
    let reference: Vec<Vec<f32>> = classifier
        .network()
        .forward(&x, None)
        .and_then(|logits| Ok(candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2()?))
        .expect("candle's probabilities");
    assert_eq!(fast.len(), reference.len());
    let mut difference = 0.0f32;
    for (a, b) in fast.iter().zip(&reference) {
        for (x, y) in a.iter().zip(b) {
            difference = difference.max((x - y).abs());
        }
    }
    assert!(difference < PROBABILITY_TOLERANCE, "max |Δp| = {difference}");
}

#[test]
fn classify_agrees_with_the_candle_reference_on_the_sample() {
    let classifier = Classifier::shipped().expect("the shipped model");
    let patches = sample();
    let fast = classifier.classify(&patches).expect("classifies");
    let reference = classifier.classify_reference(&patches).expect("classifies");
    assert_eq!(fast.len(), reference.len());
    for (i, (a, b)) in fast.iter().zip(&reference).enumerate() {
        assert_eq!((a.top, a.class), (b.top, b.class), "cell {i}");
        let difference = a
            .probabilities
            .iter()
            .zip(&b.probabilities)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(difference < PROBABILITY_TOLERANCE, "cell {i}: max |Δp| = {difference}");
    }
    // One patch at a time (no threads) gives the same.
    let one = classifier.classify(&patches[..1]).expect("classifies");
    assert_eq!(one[0], fast[0]);
}
