//! A smoke training run on the committed sample (CI never trains the full model): the model
//! file is written, loads back, and records its data, split, seed and metrics.

use std::path::PathBuf;

use marrow_vision::classify::{Classifier, ModelClass, Widths};
use marrow_vision::train::{Progress, TrainOptions, list_folder, train};

#[test]
fn a_short_training_run_writes_a_model_that_records_how_it_was_made() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/marrow-cells");
    let items = list_folder(&root).expect("the sample");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke.model");
    let options = TrainOptions {
        epochs: 2,
        seed: 7,
        model_version: "smoke".into(),
        ..TrainOptions::default()
    };
    let mut epochs = Vec::new();
    let record = train(&items, vec!["committed sample".into()], &options, &out, &mut |p| {
        if let Progress::Epoch(n, of, loss, _) = p {
            assert!(loss.is_finite());
            epochs.push((n, of));
        }
    })
    .expect("training runs");
    assert_eq!(epochs, [(1, 2), (2, 2)]);
    assert_eq!(record.seed, 7);
    assert_eq!(record.validation_files.len(), 14, "20 % of 10 per class");
    assert_eq!(record.validation.confusion.iter().flatten().sum::<u32>(), 14);
    let loaded = Classifier::load(&out).expect("the written model loads");
    assert_eq!(loaded.record, record, "the record travels inside the file");
    assert_eq!(loaded.record.classes, ModelClass::ALL.map(|c| c.code().to_owned()));
    assert_eq!(
        (loaded.record.input_side, loaded.record.centre_fraction),
        (marrow_vision::classify::INPUT_SIDE, marrow_vision::classify::CENTRE_FRACTION),
        "the inputs it was trained on are recorded"
    );
    assert_eq!(loaded.record.widths, Widths::FIRST, "the default widths are recorded");

    // The same seed gives the same split and the same first weights: a second run agrees.
    let again = dir.path().join("again.model");
    let second = train(&items, vec!["committed sample".into()], &options, &again, &mut |_| {})
        .expect("training runs again");
    assert_eq!(second.validation_files, record.validation_files);
    assert_eq!(second.validation.confusion, record.validation.confusion);
}

#[test]
fn a_network_of_other_widths_trains_loads_and_classifies_as_its_reference() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/marrow-cells");
    let items = list_folder(&root).expect("the sample");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("narrow.model");
    let widths = Widths::new([16, 16, 32, 48]).expect("widths");
    let options = TrainOptions { epochs: 3, seed: 3, widths, ..TrainOptions::default() };
    let record = train(&items, vec!["committed sample".into()], &options, &out, &mut |_| {})
        .expect("trains");
    assert_eq!(record.widths, widths);
    assert!(record.schedule.contains("16/16/32/48"), "{}", record.schedule);
    let loaded = Classifier::load(&out).expect("the written model loads with its widths");
    assert_eq!(loaded.record.widths, widths);
    let patches: Vec<image::RgbImage> = items
        .iter()
        .take(5)
        .map(|i| {
            marrow_vision::decode::decode_file(&i.root.join(&i.path), &Default::default())
                .expect("a sample image")
        })
        .collect();
    let fast = loaded.classify(&patches).expect("classifies");
    let reference = loaded.classify_reference(&patches).expect("candle classifies");
    for (a, b) in fast.iter().zip(&reference) {
        for (p, q) in a.probabilities.iter().zip(&b.probabilities) {
            assert!((p - q).abs() < 1e-4, "fast {p} vs candle {q}");
        }
    }
}

#[test]
fn bad_widths_are_refused_by_layer() {
    let e = Widths::new([16, 24, 32, 48]).expect_err("24 is not a multiple of 16");
    assert!(e.to_string().contains("layer 2 has 24 channels"), "{e}");
    assert!(Widths::new([16, 32, 64, 272]).is_err(), "over the largest width");
    assert!(Widths::new([0, 32, 64, 96]).is_err(), "an empty layer");
    assert_eq!(Widths::new([16, 32, 64, 96]).expect("the first"), Widths::FIRST);
}

#[test]
fn a_folder_that_is_not_a_class_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("BLASTS")).unwrap();
    let e = list_folder(dir.path()).expect_err("not a class");
    assert!(e.to_string().contains("\"BLASTS\""), "{e}");
}
