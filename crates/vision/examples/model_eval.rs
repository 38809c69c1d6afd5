//! Evaluates a model file on the validation images its training record names (or on a labelled
//! folder), printing per-class precision, recall, F1 and the confusion matrix beside the recall
//! Matek et al. published for the same classes.
//!
//! ```text
//! cargo run --release -p marrow-vision --example model_eval -- MODEL DATA_DIR [--all] [--tta] [--dump DIR]
//! ```
//! With `--all`, every image under DATA_DIR is evaluated (e.g. a held-out folder); otherwise
//! only the validation files of the record. With `--dump DIR`, the network's input
//! (`input.f32`, N×3×64×64) and its probabilities (`probabilities.f32`, N×7), little-endian,
//! are written there with `files.txt`, so the onnxruntime and PyTorch benchmarks
//! (`bench/vision/`) can run the same weights on the same input and check they agree.

use std::path::PathBuf;
use std::time::Instant;

use marrow_vision::classify::{Classifier, ModelClass, Proposal};
use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::metrics::Metrics;

/// Per-class recall reported by Matek C et al., Blood 2021;138(20):1917–1927 (as quoted in the
/// issue), for the same seven classes.
const MATEK_RECALL: [(&str, f64); 7] = [
    ("BLA", 0.65),
    ("EOS", 0.91),
    ("LYT", 0.70),
    ("MON", 0.70),
    ("NGS", 0.71),
    ("NIF", 0.63),
    ("PMO", 0.72),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(data)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: model_eval MODEL DATA_DIR [--all]");
        std::process::exit(2);
    };
    let classifier = Classifier::load(&PathBuf::from(model))?;
    let data = PathBuf::from(data);
    let files: Vec<String> = if args.iter().any(|a| a == "--all") {
        marrow_vision::train::list_folder(&data)?.into_iter().map(|l| l.path).collect()
    } else {
        classifier.record.validation_files.clone()
    };
    let mut patches = Vec::with_capacity(files.len());
    let mut truth = Vec::with_capacity(files.len());
    for file in &files {
        let code = file.split('/').next().unwrap_or("");
        let class = ModelClass::from_code(code).ok_or("a file outside a class folder")?;
        truth.push(ModelClass::ALL.iter().position(|c| *c == class).unwrap_or(0));
        patches.push(decode_file(&data.join(file), &Limits::default())?);
    }
    let started = Instant::now();
    let mut proposals = classifier.classify(&patches)?;
    if args.iter().any(|a| a == "--tta") {
        // Test-time augmentation: the mean probabilities over the 8 right-angle rotations and
        // reflections training augments with (an experiment; Marrow classifies each cell once).
        for turn in 1..8 {
            let turned: Vec<image::RgbImage> = patches.iter().map(|p| dihedral(p, turn)).collect();
            for (sum, p) in proposals.iter_mut().zip(classifier.classify(&turned)?) {
                for (a, b) in sum.probabilities.iter_mut().zip(&p.probabilities) {
                    *a += b;
                }
            }
        }
        for p in &mut proposals {
            let mean = p.probabilities.iter().map(|v| v / 8.0).collect();
            *p = Proposal::from_probabilities(mean);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(dir) = args.iter().position(|a| a == "--dump").and_then(|i| args.get(i + 1)) {
        dump(&PathBuf::from(dir), &patches, &proposals, &files)?;
    }
    let pairs: Vec<(usize, usize)> = truth
        .iter()
        .zip(&proposals)
        .map(|(&t, p)| (t, ModelClass::ALL.iter().position(|c| *c == p.top).unwrap_or(0)))
        .collect();
    let codes: Vec<&str> = ModelClass::ALL.iter().map(|c| c.code()).collect();
    let metrics = Metrics::from_pairs(&codes, &pairs);
    println!(
        "{} images; {:.0} cells/s classified (batches of 64)",
        files.len(),
        files.len() as f64 / seconds
    );
    println!("{}", metrics.table());
    println!("class  recall  Matek 2021 recall");
    for (c, (_, matek)) in metrics.per_class.iter().zip(MATEK_RECALL) {
        println!(
            "{:<6} {:>6.3} {:>7.2}{}",
            c.class,
            c.recall,
            matek,
            if c.recall >= matek { "" } else { "  below" }
        );
    }
    let bucket = proposals.iter().filter(|p| p.class.is_none()).count();
    println!(
        "sent to a human (below {} or not identifiable): {bucket}",
        marrow_vision::classify::CONFIDENCE_THRESHOLD
    );
    Ok(())
}

/// One of the 8 rotations by right angles and reflections of `patch`.
fn dihedral(patch: &image::RgbImage, which: usize) -> image::RgbImage {
    use image::imageops::{flip_horizontal, rotate90, rotate180, rotate270};
    let turned = match which % 4 {
        0 => patch.clone(),
        1 => rotate90(patch),
        2 => rotate180(patch),
        _ => rotate270(patch),
    };
    if which >= 4 { flip_horizontal(&turned) } else { turned }
}

fn dump(
    dir: &std::path::Path,
    patches: &[image::RgbImage],
    proposals: &[marrow_vision::classify::Proposal],
    files: &[String],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut input = Vec::new();
    for patch in patches {
        marrow_vision::classify::push_chw(&marrow_vision::classify::prepare(patch), &mut input);
    }
    let input: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("input.f32"), input)?;
    let probabilities: Vec<u8> = proposals
        .iter()
        .flat_map(|p| p.probabilities.iter().flat_map(|v| v.to_le_bytes()))
        .collect();
    std::fs::write(dir.join("probabilities.f32"), probabilities)?;
    std::fs::write(dir.join("files.txt"), files.join("\n") + "\n")
}
