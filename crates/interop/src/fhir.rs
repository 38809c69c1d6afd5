//! Placeholder: filled in by the fhir work.
