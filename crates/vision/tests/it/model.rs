//! The model that ships with Marrow, on a fixed sample of images it was not trained on (see
//! `tests/data/marrow-cells/README.md`): a broken or badly retrained model cannot land.

use std::path::PathBuf;

use marrow_vision::classify::{Classifier, ModelClass};
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
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/marrow-cells-v2.model"),
    )
    .expect("the shipped file");
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
    assert!(text.contains("marrow-cnn-v1"), "the record is in the header");
    let tampered = {
        let mut b = bytes.clone();
        let at = text.find("marrow-cnn-v1").expect("architecture name");
        b[at + 11] = b'9';
        b
    };
    let refused = Classifier::from_bytes(&tampered).expect_err("another architecture");
    assert!(refused.to_string().contains("architecture"), "{refused}");
    assert!(Classifier::from_bytes(b"not a model").is_err());
}
