//! Copies a fixed sample of the validation split (the first N of each class, in split order)
//! into a folder, for the CI test of the shipped model.
//!
//! ```text
//! cargo run -p marrow-vision --example pick_sample -- DATA_DIR OUT_DIR [N] [SEED]
//! ```

use std::path::PathBuf;

use marrow_vision::classify::ModelClass;
use marrow_vision::train::{TrainOptions, list_folder, split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(args.get(1).ok_or("DATA_DIR")?);
    let out = PathBuf::from(args.get(2).ok_or("OUT_DIR")?);
    let per_class: usize = args.get(3).map_or(Ok(10), |n| n.parse())?;
    let defaults = TrainOptions::default();
    let seed: u64 = args.get(4).map_or(Ok(defaults.seed), |n| n.parse())?;
    let (_, validation) = split(&list_folder(&data)?, defaults.validation_fraction, seed);
    for class in ModelClass::ALL {
        std::fs::create_dir_all(out.join(class.code()))?;
        for item in validation.iter().filter(|i| i.class == class).take(per_class) {
            std::fs::copy(data.join(&item.path), out.join(&item.path))?;
            println!("{}", item.path);
        }
    }
    Ok(())
}
