//! Measures white-cell detection on the BCCD blood fields: recall and precision at IoU ≥ 0.5.
//!
//! Run with (release, or the timing means nothing):
//!
//! ```text
//! cargo run --release -p marrow-vision --example detect_eval -- /path/to/blood-fields
//! ```
//!
//! Options: `--set name=value` overrides one [`DetectParams`] field (repeatable, for tuning),
//! `--dump DIR` writes every field as a PNG with the annotated white cells in green and the
//! detections in red, `--misses` lists the files with a missed cell or a false detection.
//!
//! Data: BCCD Dataset (MIT), github.com/Shenggan/BCCD_Dataset, commit d272fb14; the folder holds
//! `images/*.jpg` and Pascal VOC `annotations/*.xml` with the same stems.
//!
//! The split is fixed by file name: names sorted, every fifth file (the 5th, 10th, …) is the
//! test part and the rest the tune part. Only the tune part may guide changes to the detector.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use marrow_vision::decode::{Limits, decode_file};
use marrow_vision::detect::{CellBox, DetectParams, detect};

// The CI test scores its sample with the same code, so its floor and these figures agree.
#[path = "../tests/it/voc.rs"]
mod voc;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("detect_eval: {message}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    dir: PathBuf,
    params: DetectParams,
    dump: Option<PathBuf>,
    misses: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut params = DetectParams::default();
    let mut dump = None;
    let mut misses = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--set" => {
                let setting = args.next().ok_or("--set needs name=value")?;
                set_param(&mut params, &setting)?;
            }
            "--dump" => dump = Some(PathBuf::from(args.next().ok_or("--dump needs a folder")?)),
            "--misses" => misses = true,
            _ if dir.is_none() && !arg.starts_with("--") => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let dir = dir.ok_or(
        "usage: detect_eval BLOOD_FIELDS_DIR [--set name=value]... [--dump DIR] [--misses]",
    )?;
    Ok(Options { dir, params, dump, misses })
}

fn set_param(params: &mut DetectParams, setting: &str) -> Result<(), String> {
    fn parse<T: std::str::FromStr>(setting: &str, value: &str) -> Result<T, String> {
        value.parse().map_err(|_| format!("bad value in {setting}"))
    }
    let (name, value) = setting.split_once('=').ok_or("--set needs name=value")?;
    match name {
        "um_per_px" => params.um_per_px = parse(setting, value)?,
        "stain_threshold" => params.stain_threshold = parse(setting, value)?,
        "open_radius_um" => params.open_radius_um = parse(setting, value)?,
        "min_piece_area_um2" => params.min_piece_area_um2 = parse(setting, value)?,
        "merge_gap_um" => params.merge_gap_um = parse(setting, value)?,
        "max_nucleus_span_um" => params.max_nucleus_span_um = parse(setting, value)?,
        "min_nucleus_area_um2" => params.min_nucleus_area_um2 = parse(setting, value)?,
        "cytoplasm_rim_um" => params.cytoplasm_rim_um = parse(setting, value)?,
        _ => return Err(format!("no parameter {name}")),
    }
    Ok(())
}

/// Tallies for one part of the split.
#[derive(Default)]
struct Tally {
    images: usize,
    truths: usize,
    detections: usize,
    matched: usize,
    decode_time: Duration,
    detect_time: Duration,
}

impl Tally {
    fn print(&self, part: &str) {
        let ratio = |a: usize, b: usize| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        let per_image = |time: Duration| time.as_secs_f64() * 1000.0 / self.images.max(1) as f64;
        println!(
            "{part:<5} {:>3} images  {:>3} WBC  {:>3} detections  {:>3} matched  \
             recall {:.3}  precision {:.3}  ms/image: read+decode {:.2}, detect {:.2}",
            self.images,
            self.truths,
            self.detections,
            self.matched,
            ratio(self.matched, self.truths),
            ratio(self.matched, self.detections),
            per_image(self.decode_time),
            per_image(self.detect_time),
        );
    }
}

fn run() -> Result<(), String> {
    let options = parse_options()?;
    let images = options.dir.join("images");
    let mut names: Vec<String> = std::fs::read_dir(&images)
        .map_err(|e| format!("{}: {e}", images.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".jpg"))
        .collect();
    names.sort();
    if let Some(dump) = &options.dump {
        std::fs::create_dir_all(dump).map_err(|e| format!("{}: {e}", dump.display()))?;
    }

    let (mut tune, mut test) = (Tally::default(), Tally::default());
    for (index, name) in names.iter().enumerate() {
        let is_test = index % 5 == 4;
        let stem = name.trim_end_matches(".jpg");
        let xml_path = options.dir.join("annotations").join(format!("{stem}.xml"));
        let xml = std::fs::read_to_string(&xml_path)
            .map_err(|e| format!("{}: {e}", xml_path.display()))?;
        let truths = voc::white_cells(&xml).map_err(|e| format!("{}: {e}", xml_path.display()))?;
        let started = Instant::now();
        let field = decode_file(&images.join(name), &Limits::default())
            .map_err(|e| format!("{name}: {e}"))?;
        let decoded = Instant::now();
        let found = detect(&field, &options.params);
        let detected = Instant::now();
        let matched = voc::matched(&truths, &found);

        let tally = if is_test { &mut test } else { &mut tune };
        tally.images += 1;
        tally.truths += truths.len();
        tally.detections += found.len();
        tally.matched += matched;
        tally.decode_time += decoded - started;
        tally.detect_time += detected - decoded;

        if options.misses && (matched < truths.len() || matched < found.len()) {
            let part = if is_test { "test" } else { "tune" };
            let boxes = |b: &[CellBox]| {
                b.iter()
                    .map(|c| format!("({},{} {}x{})", c.x, c.y, c.width, c.height))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "{part} {name}: {} WBC {}, {} found {}",
                truths.len(),
                boxes(&truths),
                found.len(),
                boxes(&found)
            );
        }
        if let Some(dump) = &options.dump {
            let mut picture = field.clone();
            for t in &truths {
                draw_box(&mut picture, t, [0, 200, 0]);
            }
            for f in &found {
                draw_box(&mut picture, f, [230, 0, 0]);
            }
            let out = dump.join(format!("{stem}.png"));
            picture.save(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        }
    }
    println!("{:?}", options.params);
    tune.print("tune");
    test.print("test");
    Ok(())
}

/// A 2-pixel outline, clipped to the picture.
fn draw_box(picture: &mut image::RgbImage, cell: &CellBox, colour: [u8; 3]) {
    let (w, h) = picture.dimensions();
    let x1 = (cell.x + cell.width).min(w).saturating_sub(1);
    let y1 = (cell.y + cell.height).min(h).saturating_sub(1);
    for x in cell.x.min(w)..=x1 {
        for y in [cell.y, cell.y + 1, y1.saturating_sub(1), y1] {
            if y < h && x < w {
                picture.put_pixel(x, y, image::Rgb(colour));
            }
        }
    }
    for y in cell.y.min(h)..=y1 {
        for x in [cell.x, cell.x + 1, x1.saturating_sub(1), x1] {
            if y < h && x < w {
                picture.put_pixel(x, y, image::Rgb(colour));
            }
        }
    }
}
