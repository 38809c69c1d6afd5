//! Integration tests of marrow-vision, built as one binary (style habit 7).

mod decode;
mod detect;
mod fuzz_inputs;
mod infer;
mod model;
mod train;
mod voc;
