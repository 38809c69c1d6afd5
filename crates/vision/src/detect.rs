//! Placeholder: detection (helper work).
