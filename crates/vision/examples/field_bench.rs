//! Times the whole field pipeline as the gallery runs it, per 640 × 480 field: read and decode,
//! detect the white cells, and cut out and classify each one. Over the BCCD test part (every
//! fifth field by name, as in `detect_eval`), best and median of `--repeat` passes, with the peak
//! resident memory. The scikit-image counterpart is `bench/vision/skimage_detect.py --time`.
//!
//! ```text
//! cargo run --release -p marrow-vision --example field_bench -- BLOOD_FIELDS_DIR [--repeat 5]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use marrow_vision::cells::{ImageKind, find_cells};
use marrow_vision::classify::Classifier;
use marrow_vision::decode::{Limits, decode};
use marrow_vision::detect::{self, DetectParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1).map(PathBuf::from) else {
        eprintln!("usage: field_bench BLOOD_FIELDS_DIR [--repeat N]");
        std::process::exit(2);
    };
    let repeat: usize = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args.get(i + 1).ok_or("--repeat needs a number")?.parse()?,
        None => 5,
    };
    let images = dir.join("images");
    let mut names: Vec<String> = std::fs::read_dir(&images)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    let test: Vec<PathBuf> = names.iter().skip(4).step_by(5).map(|n| images.join(n)).collect();
    let classifier = Classifier::shipped()?;
    let params = DetectParams::default();
    let um_per_px = params.um_per_px;
    let limits = Limits::default();
    let (mut read_decode, mut detect, mut classify, mut total) = (vec![], vec![], vec![], vec![]);
    let mut cells = 0;
    for pass in 0..=repeat {
        let (mut t_decode, mut t_detect, mut t_classify) = (0.0, 0.0, 0.0);
        cells = 0;
        for path in &test {
            let started = Instant::now();
            let bytes = std::fs::read(path)?;
            let image = decode(&bytes, &limits)?;
            let decoded = Instant::now();
            // The detection alone (what the scikit-image pipeline does), then the gallery's
            // whole path: detection again with the cut-outs, and classification.
            let boxes = detect::detect(&image, &params);
            let detected = Instant::now();
            let found = find_cells(image, ImageKind::Field, um_per_px)?;
            assert_eq!(found.len(), boxes.len());
            let patches: Vec<_> = found.into_iter().map(|f| f.patch).collect();
            cells += classifier.classify(&patches)?.len();
            let classified = Instant::now();
            t_decode += (decoded - started).as_secs_f64();
            t_detect += (detected - decoded).as_secs_f64();
            t_classify += (classified - detected).as_secs_f64();
        }
        // Pass 0 warms the caches and the allocator.
        if pass > 0 {
            let per_field = |t: f64| t * 1000.0 / test.len() as f64;
            read_decode.push(per_field(t_decode));
            detect.push(per_field(t_detect));
            classify.push(per_field(t_classify));
            total.push(per_field(t_decode + t_classify));
        }
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    let (rb, rm) = stats(&mut read_decode);
    let (db, dm) = stats(&mut detect);
    let (cb, cm) = stats(&mut classify);
    let (tb, tm) = stats(&mut total);
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .unwrap_or_default();
    println!(
        "{} fields, {cells} cells per pass, {repeat} timed passes (ms per field, best / median)",
        test.len()
    );
    println!("read+decode        {rb:7.2} / {rm:7.2}");
    println!("detect             {db:7.2} / {dm:7.2}");
    println!("cut out + classify {cb:7.2} / {cm:7.2}  (detection repeated inside; see total)");
    println!("gallery path       {:7.2} / {:7.2}  (decode + cut out + classify)", rb + cb, rm + cm);
    println!("decode+detect      {:7.2} / {:7.2}", rb + db, rm + dm);
    println!("peak memory        {}", peak.trim_start_matches("VmHWM:").trim());
    println!(
        "{{\"fields\":{},\"decode_detect_ms_best\":{:.3},\"total_ms_best\":{tb:.3},\"total_ms_median\":{tm:.3}}}",
        test.len(),
        rb + db
    );
    Ok(())
}
