//! The model that ships with Marrow, on a fixed sample of images it was not trained on (see
//! `tests/data/marrow-cells/README.md`): a broken or badly retrained model cannot land.

use std::path::PathBuf;

use marrow_vision::classify::{Classifier, ModelClass, Widths};
use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::train::list_folder;

/// Below this accuracy on the 70-image sample the test fails. The shipped model scores higher
/// (BENCHMARKS.md); the margin allows for the sample's size, not for a worse model.
const ACCURACY_FLOOR: f64 = 0.60;

#[test]
fn the_shipped_model_classifies_held_out_cells_above_the_floor() {
    let classifier = Classifier::shipped().expect("the shipped model loads");
    assert_eq!(classifier.record.classes.len(), ModelClass::ALL.len());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/marrow-cells");
    let items = list_folder(&root).expect("the sample");
    assert_eq!(items.len(), 70);
    for item in &items {
        assert!(
            classifier.record.validation_files.contains(&item.path),
            "{} was not held out from training",
            item.path
        );
    }
    let patches: Vec<_> = items
        .iter()
        .map(|i| decode_file(&root.join(&i.path), &Limits::default()).expect("decodes"))
        .collect();
    let proposals = classifier.classify(&patches).expect("classifies");
    let correct = items.iter().zip(&proposals).filter(|(i, p)| p.top == i.class).count();
    let accuracy = correct as f64 / items.len() as f64;
    assert!(accuracy >= ACCURACY_FLOOR, "accuracy {accuracy:.3} below {ACCURACY_FLOOR}");
    for p in &proposals {
        let sum: f32 = p.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to 1: {sum}");
    }
}

#[test]
fn a_model_file_of_another_architecture_is_refused() {
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/marrow-cells-v4.model"),
    )
    .expect("the shipped file");
    // Searched in the raw bytes: the header's binary length prefix is not text.
    let name = b"marrow-cnn-v1";
    let at = bytes.windows(name.len()).position(|w| w == name);
    assert!(at.is_some_and(|at| at < 4096), "the record is in the header");
    let tampered = {
        let mut b = bytes.clone();
        let at = at.expect("architecture name");
        b[at + 11] = b'9';
        b
    };
    let refused = Classifier::from_bytes(&tampered).expect_err("another architecture");
    assert!(refused.to_string().contains("architecture"), "{refused}");
    assert!(Classifier::from_bytes(b"not a model").is_err());
}

/// The shipped file with its training record changed by `edit`, the weights as they are.
fn with_record(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/marrow-cells-v4.model"),
    )
    .expect("the shipped file");
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).expect("a header");
    let mut info = metadata.metadata().clone().expect("metadata");
    let raw = info.get("marrow.training_record").expect("a training record");
    let mut record: serde_json::Value = serde_json::from_str(raw).expect("json");
    edit(&mut record);
    info.insert("marrow.training_record".to_owned(), record.to_string());
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("tensors");
    safetensors::serialize(tensors.tensors(), Some(info)).expect("serialise")
}

/// The weights fit any input size, so a model trained on other inputs would load and misjudge
/// every cell; it is refused naming what differs. A record from before these were written (v1
/// and v2) is read as the 64-pixel, 80 % inputs they were trained on.
#[test]
fn a_model_trained_on_other_inputs_is_refused() {
    let as_shipped = with_record(|_| {});
    let model = Classifier::from_bytes(&as_shipped).expect("the shipped record loads");
    assert_eq!((model.record.input_side, model.record.centre_fraction), (64, 0.8));
    let older = with_record(|r| {
        let r = r.as_object_mut().expect("an object");
        r.remove("input_side");
        r.remove("centre_fraction");
    });
    let model = Classifier::from_bytes(&older).expect("a record without the inputs loads");
    assert_eq!((model.record.input_side, model.record.centre_fraction), (64, 0.8));
    let stated = with_record(|r| {
        r["input_side"] = 64.into();
        r["centre_fraction"] = 0.8.into();
    });
    Classifier::from_bytes(&stated).expect("the same inputs, stated");
    let bigger = with_record(|r| r["input_side"] = 96.into());
    let refused = Classifier::from_bytes(&bigger).expect_err("96-pixel inputs").to_string();
    assert!(refused.contains("96-pixel") && refused.contains("64-pixel"), "{refused}");
    let tighter = with_record(|r| r["centre_fraction"] = 0.7.into());
    let refused = Classifier::from_bytes(&tighter).expect_err("a 70 % crop").to_string();
    assert!(refused.contains("central 70 %"), "{refused}");
}

/// A record without widths is read as the first widths (16/32/64/96, v1 and v2); the shipped
/// model's weights are wider, so without its widths it is refused naming them, not misread.
#[test]
fn weights_that_do_not_fit_the_recorded_widths_are_refused() {
    let shipped = Classifier::shipped().expect("the shipped model");
    assert_ne!(shipped.record.widths, Widths::FIRST, "the shipped model is wider than v2");
    let no_widths = with_record(|r| {
        r.as_object_mut().expect("an object").remove("widths");
    });
    let refused = Classifier::from_bytes(&no_widths).expect_err("weights wider than 16/32/64/96");
    assert!(refused.to_string().contains("widths 16/32/64/96"), "{refused}");
    let other = with_record(|r| r["widths"] = serde_json::json!([32, 64, 128, 256]));
    let refused = Classifier::from_bytes(&other).expect_err("another last layer").to_string();
    assert!(refused.contains("32/64/128/256"), "{refused}");
    let bad = with_record(|r| r["widths"] = serde_json::json!([32, 64, 128, 100]));
    let refused = Classifier::from_bytes(&bad).expect_err("not a multiple of 16").to_string();
    assert!(refused.contains("layer 4 has 100 channels"), "{refused}");
}
