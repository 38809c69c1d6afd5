//! Placeholder: decoding with limits (helper work).
