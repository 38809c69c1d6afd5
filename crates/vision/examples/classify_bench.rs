//! Times the classifier on the validation images its training record names: preprocessing
//! alone, the network alone on prepared inputs, and end to end from decoded patches, for the
//! fast path (`marrow_vision::infer`, what `Classifier::classify` runs) and for candle (the
//! reference). Also checks that the two agree on these images.
//!
//! ```text
//! cargo run --release -p marrow-vision --example classify_bench -- MODEL DATA_DIR [--repeat 5]
//! ```
//! Peak RSS is read three times: with the patches decoded (most of it), after the fast path,
//! which runs first, and after candle's. The last line is a JSON summary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use candle_core::{D, Device, Tensor};
use marrow_vision::classify::{Classifier, INPUT_SIDE, to_input};
use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::infer::INPUT_LEN;
use serde_json::json;

/// Best and median of `repeat` runs of `f`.
fn time<T>(repeat: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..repeat)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

/// The process's peak resident set so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(data)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: classify_bench MODEL DATA_DIR [--repeat N]");
        std::process::exit(2);
    };
    let repeat = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args.get(i + 1).ok_or("--repeat needs a number")?.parse::<usize>()?.max(1),
        None => 5,
    };
    let classifier = Classifier::load(&PathBuf::from(model))?;
    let data = PathBuf::from(data);
    let patches = classifier
        .record
        .validation_files
        .iter()
        .map(|file| decode_file(&data.join(file), &Limits::default()))
        .collect::<Result<Vec<_>, _>>()?;
    let n = patches.len();
    let decoded_rss = peak_rss_mib();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!("{n} validation patches, {threads} threads, best and median of {repeat} runs");
    let rate = |t: Duration| n as f64 / t.as_secs_f64();
    let mut rows = Vec::new();
    let mut report = |path: &str, stage: &str, (best, median): (Duration, Duration)| {
        println!(
            "{path:<6} {stage:<12} best {:>8.1} ms  median {:>8.1} ms  {:>7.0} cells/s  ({:.3} ms/cell)",
            best.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            rate(best),
            best.as_secs_f64() * 1e3 / n as f64,
        );
        rows.push(json!({
            "path": path,
            "stage": stage,
            "best_s": best.as_secs_f64(),
            "median_s": median.as_secs_f64(),
            "cells_per_s": rate(best),
        }));
    };

    // The fast path.
    let fast = classifier.fast_network();
    let mut inputs = fast.prepare_many(&patches);
    report("fast", "preprocess", time(repeat, || fast.prepare_many_into(&patches, &mut inputs)));
    report("fast", "network", time(repeat, || fast.forward_many(&inputs)));
    report("fast", "end-to-end", time(repeat, || classifier.classify(&patches)));
    let fast_rss = peak_rss_mib();

    // candle, in batches of 64 as `classify_reference` runs it.
    let device = Device::Cpu;
    let to_inputs = || -> Result<Vec<Tensor>, marrow_vision::VisionError> {
        patches.chunks(64).map(|batch| to_input(batch, &device)).collect()
    };
    report("candle", "preprocess", time(repeat, to_inputs));
    let tensors = to_inputs()?;
    let network = classifier.network();
    let candle_forward = |tensors: &[Tensor]| -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
        let mut out = Vec::with_capacity(n);
        for x in tensors {
            let p = candle_nn::ops::softmax(&network.forward(x, None)?, D::Minus1)?;
            out.extend(p.to_vec2::<f32>()?);
        }
        Ok(out)
    };
    report("candle", "network", time(repeat, || candle_forward(&tensors)));
    report("candle", "end-to-end", time(repeat, || classifier.classify_reference(&patches)));
    let total_rss = peak_rss_mib();

    // Agreement. The preprocessing: the fast input against candle's (channel-major) input.
    let side = INPUT_SIDE as usize;
    let plane = side * side;
    let mut max_input_diff = 0.0f32;
    let mut reference_inputs = Vec::with_capacity(n * INPUT_LEN);
    for (batch, tensor) in patches.chunks(64).zip(&tensors) {
        let chw = tensor.flatten_all()?.to_vec1::<f32>()?;
        for cell in 0..batch.len() {
            let planes = &chw[cell * 3 * plane..][..3 * plane];
            for i in 0..plane {
                for c in 0..3 {
                    reference_inputs.push(planes[c * plane + i]);
                }
            }
        }
    }
    for (a, b) in inputs.iter().zip(&reference_inputs) {
        max_input_diff = max_input_diff.max((a - b).abs());
    }
    // The network, on identical (candle's) inputs.
    let fast_on_reference = fast.forward_many(&reference_inputs);
    let candle_probabilities = candle_forward(&tensors)?;
    let mut max_probability_diff = 0.0f32;
    for (a, b) in fast_on_reference.iter().zip(&candle_probabilities) {
        for (x, y) in a.iter().zip(b) {
            max_probability_diff = max_probability_diff.max((x - y).abs());
        }
    }
    // End to end: the top class.
    let proposals = classifier.classify(&patches)?;
    let reference = classifier.classify_reference(&patches)?;
    let same_top = proposals.iter().zip(&reference).filter(|(a, b)| a.top == b.top).count();
    let same_call = proposals.iter().zip(&reference).filter(|(a, b)| a.class == b.class).count();
    println!(
        "preprocessing: max |fast - prepare+push_chw| = {max_input_diff:e} (-1..1 scale, {:.3} grey levels)",
        max_input_diff * 127.5
    );
    println!("network on identical inputs: max |Δ probability| = {max_probability_diff:e}");
    println!("end to end: same top class for {same_top}/{n}, same proposal for {same_call}/{n}");
    let mib = |v: Option<f64>| v.map_or("?".to_owned(), |m| format!("{m:.0} MiB"));
    println!(
        "peak RSS: {} with the patches decoded, {} after the fast path, {} after candle's",
        mib(decoded_rss),
        mib(fast_rss),
        mib(total_rss)
    );
    println!(
        "{}",
        json!({
            "cells": n,
            "threads": threads,
            "repeat": repeat,
            "timings": rows,
            "max_input_diff": max_input_diff,
            "max_probability_diff": max_probability_diff,
            "same_top_class": same_top,
            "peak_rss_mib_decoded": decoded_rss,
            "peak_rss_mib_fast": fast_rss,
            "peak_rss_mib_total": total_rss,
        })
    );
    Ok(())
}
