//! Image-assisted counting (issue 7): decode smear images within limits, detect nucleated cells
//! in a field image and crop them, classify each crop with a small convolutional network, and
//! train that network from a labelled folder. No network access: the model ships as a file.
//!
//! Data: Matek C et al., *An Expert-Annotated Dataset of Bone Marrow Cytology in Hematologic
//! Malignancies*, TCIA 2021, DOI 10.7937/TCIA.AXH3-T579 (CC BY 4.0), and Matek C et al., Blood
//! 2021;138:1917–1927; field images from the BCCD data set (MIT).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backprop;
pub mod cells;
pub mod classify;
pub mod decode;
pub mod detect;
pub mod fuzz;
pub mod infer;
pub mod metrics;
pub mod train;

mod error;
pub use error::VisionError;
