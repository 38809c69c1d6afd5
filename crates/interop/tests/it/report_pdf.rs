//! Placeholder: filled in by the report_pdf work.
