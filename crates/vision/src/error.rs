//! The crate's one error type.

/// Why an image could not be read, analysed or a model used.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The file is larger than the byte limit.
    #[error("the image is {size} bytes, more than the {limit} allowed")]
    TooManyBytes {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The image declares more pixels than allowed (a decompression bomb, or simply too big).
    #[error("the image is {width} x {height} pixels, more than the {limit} pixels allowed")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The pixel limit.
        limit: u64,
    },
    /// Not a JPEG, PNG or TIFF, or a damaged one.
    #[error("cannot read the image: {0}")]
    Decode(String),
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The model file is missing, damaged or of another version.
    #[error("model: {0}")]
    Model(String),
    /// A setting given with the image is unusable (e.g. the microscope scale).
    #[error("{0}")]
    Input(String),
    /// A labelled training folder is unusable.
    #[error("training data: {0}")]
    Data(String),
}

impl From<candle_core::Error> for VisionError {
    fn from(e: candle_core::Error) -> Self {
        Self::Model(e.to_string())
    }
}
