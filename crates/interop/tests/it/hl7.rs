//! Placeholder: filled in by the hl7 work.
