//! TEMPORARY STUB (replaced by the FHIR work before commit).
#![allow(missing_docs)]
use crate::SignedReport;
pub fn bundle(report: &SignedReport<'_>, _pdf: &[u8]) -> serde_json::Value {
    serde_json::json!({"resourceType": "Bundle", "id": format!("case-{}", report.case_id)})
}
pub fn export_line(report: &SignedReport<'_>, out: &mut String) {
    out.push_str(&bundle(report, &[]).to_string());
    out.push('\n');
}
