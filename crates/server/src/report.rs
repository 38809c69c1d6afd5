//! One signed report version gathered for the documents and exports (`marrow-interop`): the
//! page, the plain text, the PDF, the FHIR bundle and the HL7 message all start here, so they
//! state the same content.

use marrow_domain::blood_count::BloodCount;
use marrow_domain::reference::ReferenceTable;
use marrow_interop::{SignedReport, SpecimenLine};
use marrow_store::{CaseRecord, ReportVersion};

use crate::error::AppError;

/// The owned parts a [`SignedReport`] borrows beside the case record.
pub struct ReportParts {
    /// The case's specimens with their label ids.
    pub specimens: Vec<SpecimenLine>,
    /// The reference table the results are compared with.
    pub reference: ReferenceTable,
    /// The patient's latest blood count taken before the marrow, when the caller loaded it
    /// ([`blood_count_before`]); the FHIR bundle carries it as Observations.
    pub blood_count: Option<BloodCount>,
    /// The identifier system of the patient's MRN ([`crate::Config::mrn_system`]); the
    /// placeholder unless [`Self::with_mrn_system`] names the site's.
    pub mrn_system: String,
}

/// The patient's latest blood count taken at or before the marrow (the procedure, or the order
/// when no procedure is recorded): the count the report is read with.
pub async fn blood_count_before(
    store: &marrow_store::Store,
    record: &CaseRecord,
) -> Result<Option<BloodCount>, marrow_store::StoreError> {
    let cutoff = record.procedure.as_ref().map_or(record.order.at, |p| p.value.performed_at);
    Ok(store.latest_blood_count(record.patient.id, Some(cutoff)).await?.map(|c| c.count))
}

impl ReportParts {
    /// The parts of `record`.
    pub fn of(record: &CaseRecord) -> Self {
        Self {
            specimens: record
                .specimens
                .iter()
                .map(|s| SpecimenLine {
                    id: s.id,
                    taken: s.specimen,
                    received_at: s.received.as_ref().map(|(_, at)| *at),
                })
                .collect(),
            reference: ReferenceTable::iowa_adult(),
            blood_count: None,
            mrn_system: marrow_interop::fhir::MRN_SYSTEM.to_owned(),
        }
    }

    /// The same parts with the site's MRN identifier system.
    pub fn with_mrn_system(mut self, system: &str) -> Self {
        system.clone_into(&mut self.mrn_system);
        self
    }

    /// The same parts with the blood count read beside the report.
    pub fn with_blood_count(mut self, count: Option<BloodCount>) -> Self {
        self.blood_count = count;
        self
    }

    /// Version `v` of `record`'s report with everything it states.
    pub fn report<'a>(&'a self, record: &'a CaseRecord, v: &'a ReportVersion) -> SignedReport<'a> {
        SignedReport {
            case_id: record.id,
            patient: &record.patient.patient,
            mrn_system: &self.mrn_system,
            order: &record.order.value,
            ordered_by: &record.order.by.display_name,
            ordered_at: record.order.at,
            procedure: record.procedure.as_ref().map(|p| &p.value),
            specimens: &self.specimens,
            version: v.version,
            latest_version: record.versions.last().map_or(v.version, |l| l.version),
            content: &v.content,
            differential: &v.differential,
            rules: &v.excluded,
            reference: &self.reference,
            aspirate: v.aspirate.as_ref(),
            flags: &v.flags,
            amendment_reason: v.amendment_reason.as_deref(),
            signed_by: &v.signed_by.display_name,
            signed_at: v.signed_at,
            blood_count: self.blood_count.as_ref(),
        }
    }
}

/// The version asked for, or the latest when `None`; refuses a case with no signed report,
/// because exports carry signed reports only.
pub fn signed_or_refuse(
    record: &CaseRecord,
    version: Option<i64>,
) -> Result<&ReportVersion, AppError> {
    if record.versions.is_empty() {
        return Err(AppError::Conflict {
            message: format!(
                "case {} has no signed report: only signed reports are exported (a draft is not a report)",
                record.id
            ),
            field: None,
        });
    }
    match version {
        None => Ok(record.versions.last().expect("checked non-empty")),
        Some(v) => crate::pages::signed_version(record, v),
    }
}

/// The FHIR R4 Bundle of a signed version (the latest when `version` is `None`) as JSON text,
/// with the A4 PDF as the DiagnosticReport's `presentedForm` and `blood_count` (see
/// [`blood_count_before`]) as Observations, the patient identified in `mrn_system`: what the
/// API serves and the CLI prints.
pub fn fhir_bundle(
    record: &CaseRecord,
    version: Option<i64>,
    layout: marrow_interop::fhir::Layout,
    blood_count: Option<BloodCount>,
    mrn_system: &str,
) -> Result<String, AppError> {
    let found = signed_or_refuse(record, version)?;
    let parts = ReportParts::of(record).with_blood_count(blood_count).with_mrn_system(mrn_system);
    let report = parts.report(record, found);
    let pdf =
        marrow_interop::report_pdf::render(&report, marrow_interop::report_pdf::PaperSize::A4);
    Ok(marrow_interop::fhir::bundle_json(&report, &pdf, layout))
}
