//! FHIR R4 (4.0.1) for a signed report: one `collection` Bundle per signed version, and the
//! same Bundle as one NDJSON line for bulk export.
//!
//! The resources follow the mapping in clinical reference §7.3: Patient, ServiceRequest (the
//! order), Procedure (the note), one Specimen per labelled specimen, one Observation per result
//! line of [`SignedReport::results`], and a DiagnosticReport that references all of them. When
//! the report carries the blood count taken before the marrow ([`SignedReport::blood_count`]),
//! each of its values is an Observation too, referenced from the order's `supportingInfo`.
//! The JSON is written straight into a `String` (no intermediate tree) and the results are
//! computed once per Bundle: their exact 95 % limits are most of what a Bundle costs.
//! [`bundle`] parses that text once for callers that want a [`serde_json::Value`].
//!
//! # Identifiers and references
//!
//! Resource ids are derived from the case id alone (`case-42-patient`, `case-42-report`,
//! `case-42-result-blasts`), so every version of a report names the same resources and a
//! receiver that stores by id replaces the earlier version. Each `fullUrl` is the RESTful URL
//! `http://marrow.invalid/fhir/{type}/{id}` ([`BASE_URL`]; `.invalid` is reserved, so nobody
//! mistakes it for a server to query) and every `reference` is relative
//! (`Patient/case-42-patient`), which R4 resolves against the `fullUrl` of the referring entry
//! and which stays valid when a receiver stores the resources on its own server. Code systems
//! and identifier systems of our own live under the same base.
//!
//! The report version is `DiagnosticReport.meta.versionId` (R4's element for "this is version
//! N of this resource"; the narrative, the PDF title and the Bundle id repeat it). The
//! DiagnosticReport's `identifier` is the case number, the same in every version, so an
//! amendment matches the report it replaces.
//!
//! # Choices a receiver should know
//!
//! - `valueQuantity.value` is the number the report prints (one decimal for a percentage, two
//!   for the M:E ratio), so the PDF and the FHIR agree and the decimal carries the report's
//!   precision.
//! - The exact 95 % limits of a percentage (clinical reference §4) and the cells behind it are
//!   an `Observation.note`: R4 has no element for a confidence interval, a component with a
//!   local code would be invisible to most receivers, and a second `referenceRange` would be
//!   read as the normal range.
//! - Amended versions give their Observations the status `amended`, not `corrected`: R4
//!   defines `corrected` as fixing an error in the result, while an amendment may only add
//!   information (the sample adds the trephine result); `amended` is its parent concept.
//! - The DiagnosticReport narrative (`text`, status `additional`) is the whole report in
//!   XHTML, section by section as the plain-text report ([`crate::report_text::render`]) has
//!   them: every synoptic field, the aspirate findings, the differential, the amendment reason
//!   and the flags shown at sign-out. The flags stay out of `conclusion`, which receivers show
//!   as the pathologist's interpretation; they are decision support, not a diagnosis, and R4's
//!   DiagnosticReport has no `note`.
//! - The blood count's Observations are the laboratory's results, which the marrow was asked
//!   for on; they are not results of the marrow report, so the DiagnosticReport does not list
//!   them and the ServiceRequest's `supportingInfo` does. Their status is always `final` (an
//!   amendment of the marrow report does not amend a blood count), their `valueQuantity` is the
//!   exact value in the analyte's stored unit (g/L, ×10⁹/L, %), and their range and L/H/N flag
//!   are Marrow's for the patient's sex and age on the day ([`BloodCount::interpret`]). Ids are
//!   `case-42-blood-count-<analyte>`.
//!
//!   [`BloodCount::interpret`]: marrow_domain::blood_count::BloodCount::interpret
//! - `Annotation.text` is markdown in R4; free text is written as typed (plain text is valid
//!   markdown), and the narrative carries it exactly.
//!
//! # Bulk export
//!
//! [`write_export_line`] appends one compact Bundle per report version and a newline: each line
//! is self-contained (its references resolve inside it), unlike FHIR Bulk Data's one file per
//! resource type, because a single stream of report versions is what one endpoint serves. The
//! PDF is linked, not embedded ([`pdf_path`]), so an export never renders or base64s PDFs.
//!
//! Do not change this shape casually: receivers map these fields. The output holds the
//! patient's name and MRN: never log it.

use std::fmt::Write as _;

use base64::Engine as _;
use marrow_domain::blood_count::{CountFlag, Interpreted, Quantity, Unit};
use marrow_domain::ids::CaseId;
use marrow_domain::morphology::CellClass;
use marrow_domain::order::Urgency;
use marrow_domain::patient::Sex;
use marrow_domain::reference::RangeStatus;
use marrow_domain::specimen::{Destination, Tube};

use crate::signed::{ResultLine, ResultUnit, SignedReport, loinc};

/// The base of every `fullUrl`, code system and identifier system Marrow defines. The
/// `.invalid` top-level domain is reserved (RFC 2606): it says plainly that these URIs name
/// things and are not served.
pub const BASE_URL: &str = "http://marrow.invalid/fhir";

/// Marrow's local code system for result lines (`blasts`, `me-ratio`), used beside LOINC
/// where LOINC has a confirmed code and alone where it has none (clinical reference §7.1).
pub const RESULT_CODE_SYSTEM: &str = "http://marrow.invalid/fhir/CodeSystem/marrow-result";

/// The identifier system of medical record numbers when the site has not named its own
/// (`marrow serve --mrn-system`). It names no real register, so a receiving EHR cannot match
/// patients on it: a site that sends FHIR sets the URI its EHR uses for its MRNs.
pub const MRN_SYSTEM: &str = "http://marrow.invalid/fhir/sid/mrn";

/// Checks an identifier system given by a site (e.g. `--mrn-system`): FHIR wants an absolute
/// URI, in practice an `http(s)` URL or an OID (`urn:oid:2.16.840.1...`) or UUID URN (FHIR R4
/// datatypes, Identifier.system and uri). Returns it trimmed, or says what is wrong.
pub fn identifier_system(raw: &str) -> Result<String, String> {
    let uri = raw.trim();
    if uri.is_empty() {
        return Err("give the URI of the register that issues the MRNs".into());
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) || uri.len() > 255 {
        return Err(format!("{uri:?} is not a URI (no spaces; at most 255 characters)"));
    }
    let well_formed = if let Some(oid) = uri.strip_prefix("urn:oid:") {
        let arcs: Vec<&str> = oid.split('.').collect();
        arcs.len() >= 2
            && arcs.iter().all(|a| {
                !a.is_empty()
                    && a.bytes().all(|b| b.is_ascii_digit())
                    && (a.len() == 1 || !a.starts_with('0'))
            })
    } else if let Some(uuid) = uri.strip_prefix("urn:uuid:") {
        uuid.len() == 36
            && uuid.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() }
            })
    } else if let Some(rest) = uri.strip_prefix("https://").or_else(|| uri.strip_prefix("http://"))
    {
        rest.split('/').next().is_some_and(|host| !host.is_empty())
    } else {
        false
    };
    if well_formed {
        Ok(uri.to_owned())
    } else {
        Err(format!("{uri:?} is not an absolute URI: use an http(s) URL, urn:oid:… or urn:uuid:…"))
    }
}

/// The identifier system of orders (the case number).
pub const ORDER_SYSTEM: &str = "http://marrow.invalid/fhir/sid/order";

/// The identifier system of reports (the case number; the version is `meta.versionId`).
pub const REPORT_SYSTEM: &str = "http://marrow.invalid/fhir/sid/report";

/// The identifier system of specimen label ids.
pub const SPECIMEN_SYSTEM: &str = "http://marrow.invalid/fhir/sid/specimen-label";

/// The media type of a Bundle.
pub const CONTENT_TYPE: &str = "application/fhir+json";

/// The media type of the bulk export.
pub const NDJSON_CONTENT_TYPE: &str = "application/fhir+ndjson";

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const DATA_ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
const XHTML: &str = "http://www.w3.org/1999/xhtml";

/// Clinical reference §7.2: SNOMED CT 49401003, used by the HL7 mCODE example Procedure [P].
const BMA_PROCEDURE: (&str, &str) = ("49401003", "Bone marrow aspiration procedure");
/// Clinical reference §7.2: SNOMED CT 396997002, used by the US Core Specimen example [P].
/// The reference found no code for a trephine core, so that specimen type is text only.
const ASPIRATE_SPECIMEN: (&str, &str) =
    ("396997002", "Specimen from bone marrow obtained by aspiration");

/// How [`bundle_json`] lays out its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// No whitespace: for the wire and the NDJSON export.
    Compact,
    /// Two-space indentation and a final newline: for people and snapshots.
    Pretty,
}

/// How the DiagnosticReport carries the PDF.
#[derive(Debug, Clone, Copy)]
enum Pdf<'a> {
    /// Base64 in `presentedForm.data` (empty bytes: no data element).
    Inline(&'a [u8]),
    /// A link to the PDF endpoint in `presentedForm.url`.
    Link,
}

/// The Bundle of one signed version as a JSON value, with `pdf` (the rendered report)
/// embedded as the DiagnosticReport's `presentedForm`.
///
/// Object key order follows serde_json's map (sorted unless a crate in the build enables its
/// `preserve_order` feature); for byte-stable text use [`bundle_json`].
pub fn bundle(report: &SignedReport<'_>, pdf: &[u8]) -> serde_json::Value {
    serde_json::from_str(&bundle_json(report, pdf, Layout::Compact))
        .expect("the FHIR writer emits well-formed JSON (checked by its tests)")
}

/// The Bundle of one signed version as JSON text, with `pdf` embedded; the same input gives
/// the same bytes. This is what `GET /api/v1/cases/{id}/fhir` serves ([`CONTENT_TYPE`]).
pub fn bundle_json(report: &SignedReport<'_>, pdf: &[u8], layout: Layout) -> String {
    let mut out = String::with_capacity(40 * 1024 + pdf.len() / 3 * 4);
    write_bundle(&mut out, report, Pdf::Inline(pdf), layout);
    if layout == Layout::Pretty {
        out.push('\n');
    }
    out
}

/// Appends one NDJSON line of the bulk export ([`NDJSON_CONTENT_TYPE`]): the compact Bundle of
/// this version, its PDF linked by [`pdf_path`] instead of embedded, then `\n`.
///
/// Write the versions in signing order: every version names the same resource ids, so a
/// receiver that loads the lines in order ends with the latest version of each resource.
pub fn write_export_line(out: &mut String, report: &SignedReport<'_>) {
    write_bundle(out, report, Pdf::Link, Layout::Compact);
    out.push('\n');
}

/// One NDJSON line of the bulk export; see [`write_export_line`].
pub fn export_line(report: &SignedReport<'_>) -> String {
    let mut out = String::with_capacity(40 * 1024);
    write_export_line(&mut out, report);
    out
}

/// The server path of one version's PDF, as the export links it (relative to the server
/// that serves the export).
pub fn pdf_path(case_id: CaseId, version: i64) -> String {
    format!("/api/v1/cases/{case_id}/report/versions/{version}/pdf")
}

/// Everything the resource writers share, computed once per Bundle.
struct Ctx<'r, 'a> {
    r: &'r SignedReport<'a>,
    results: Vec<ResultLine>,
    result_ids: Vec<String>,
    /// The blood count's values against the patient's ranges, and their resource ids.
    blood: Vec<Interpreted>,
    blood_ids: Vec<String>,
    specimen_ids: Vec<String>,
    /// The specimen the differential was counted on.
    counted_on: Option<usize>,
    patient_id: String,
    order_id: String,
    procedure_id: String,
    report_id: String,
    /// Collection time, the clinically relevant time of every result.
    effective: Option<String>,
    issued: String,
    total: u32,
}

impl<'r, 'a> Ctx<'r, 'a> {
    fn new(r: &'r SignedReport<'a>) -> Self {
        let case = r.case_id;
        let results = r.results();
        let mut result_ids = Vec::with_capacity(results.len());
        for line in &results {
            let id = unique_id(&result_ids, &format!("case-{case}-result-{}", line.code.local));
            result_ids.push(id);
        }
        let blood = r
            .blood_count
            .map_or_else(Vec::new, |count| count.interpret(r.patient.sex, r.patient.date_of_birth));
        let mut blood_ids = Vec::with_capacity(blood.len());
        for value in &blood {
            let stem = format!("case-{case}-blood-count-{}", value.measured.analyte.code());
            let id = unique_id(&blood_ids, &stem);
            blood_ids.push(id);
        }
        let mut specimen_ids = Vec::with_capacity(r.specimens.len());
        for s in r.specimens {
            let id = unique_id(&specimen_ids, &format!("case-{case}-specimen-{}", s.id));
            specimen_ids.push(id);
        }
        // The count is read on the morphology specimen (clinical reference §6.3: the first,
        // small pull goes to morphology); failing that, on any aspirate specimen.
        let counted_on = r
            .specimens
            .iter()
            .position(|s| s.taken.destination == Destination::Morphology)
            .or_else(|| r.specimens.iter().position(|s| s.taken.tube != Tube::TrephineInFormalin));
        Self {
            r,
            results,
            result_ids,
            blood,
            blood_ids,
            specimen_ids,
            counted_on,
            patient_id: format!("case-{case}-patient"),
            order_id: format!("case-{case}-order"),
            procedure_id: format!("case-{case}-procedure"),
            report_id: format!("case-{case}-report"),
            effective: r.procedure.map(|p| p.performed_at.to_rfc3339()),
            issued: r.signed_at.to_rfc3339(),
            total: r.differential.total_with(r.rules),
        }
    }

    /// DiagnosticReportStatus: an amendment is `amended` (R4 value set report-status).
    fn report_status(&self) -> &'static str {
        if self.r.is_amended() { "amended" } else { "final" }
    }

    /// ObservationStatus: see the module docs for `amended` rather than `corrected`.
    fn observation_status(&self) -> &'static str {
        if self.r.is_amended() { "amended" } else { "final" }
    }
}

fn write_bundle(out: &mut String, r: &SignedReport<'_>, pdf: Pdf<'_>, layout: Layout) {
    let c = Ctx::new(r);
    let mut w = Json::new(out, layout == Layout::Pretty);
    w.object(|w| {
        w.key("resourceType").str("Bundle");
        w.key("id").str(&format!("case-{}-report-v{}", r.case_id, r.version));
        w.key("type").str("collection");
        w.key("timestamp").str(&c.issued);
        w.key("entry").array(|w| {
            // The report first: it is what the Bundle is about.
            diagnostic_report(w, &c, pdf);
            patient(w, &c);
            service_request(w, &c);
            if r.procedure.is_some() {
                procedure(w, &c);
            }
            for i in 0..r.specimens.len() {
                specimen(w, &c, i);
            }
            for i in 0..c.results.len() {
                observation(w, &c, i);
            }
            for i in 0..c.blood.len() {
                blood_observation(w, &c, i);
            }
        });
    });
}

/// One Bundle entry: `fullUrl`, then the resource with its type and id before `body`.
fn entry(w: &mut Json<'_>, ty: &str, id: &str, body: impl FnOnce(&mut Json<'_>)) {
    w.object(|w| {
        w.key("fullUrl").str_parts(&[BASE_URL, "/", ty, "/", id]);
        w.key("resource").object(|w| {
            w.key("resourceType").str(ty);
            w.key("id").str(id);
            body(w);
        });
    });
}

fn patient(w: &mut Json<'_>, c: &Ctx<'_, '_>) {
    let p = c.r.patient;
    entry(w, "Patient", &c.patient_id, |w| {
        w.key("identifier").array(|w| {
            w.object(|w| {
                // v2 table 0203 "MR": the identifier type receivers match patients on.
                w.key("type").object(|w| {
                    w.key("coding").array(|w| coding(w, V2_0203, "MR", "Medical record number"));
                });
                w.key("system").str(c.r.mrn_system);
                w.text("value", p.mrn.reveal());
            });
        });
        w.key("name").array(|w| {
            w.object(|w| {
                w.key("use").str("official");
                w.text("family", p.family_name.reveal());
                w.key("given").array(|w| w.str(p.given_name.reveal()));
            });
        });
        w.key("gender").str(gender(p.sex));
        w.key("birthDate").str(&p.date_of_birth.to_string());
    });
}

fn service_request(w: &mut Json<'_>, c: &Ctx<'_, '_>) {
    let r = c.r;
    let order = r.order;
    entry(w, "ServiceRequest", &c.order_id, |w| {
        w.key("identifier").array(|w| {
            w.object(|w| {
                identifier_type(w, "PLAC", "Placer Identifier");
                w.key("system").str(ORDER_SYSTEM);
                w.key("value").str(&r.case_id.to_string());
            });
        });
        w.key("status").str("completed");
        w.key("intent").str("order");
        w.key("priority").str(priority(order.urgency));
        procedure_code(w);
        w.key("orderDetail").array(|w| w.object(|w| w.text("text", order.sampling.label())));
        reference(w, "subject", "Patient", &c.patient_id);
        w.key("authoredOn").str(&r.ordered_at.to_rfc3339());
        display_reference(w, "requester", r.ordered_by);
        w.key("reasonCode").array(|w| w.object(|w| w.text("text", &order.indication.to_string())));
        if !c.blood_ids.is_empty() {
            // The blood count is what the marrow was asked for on, not a result of it: the
            // order's supporting information (R4 has no DiagnosticReport.supportingInfo).
            w.key("supportingInfo").array(|w| {
                for id in &c.blood_ids {
                    w.object(|w| w.key("reference").str_parts(&["Observation/", id]));
                }
            });
        }
        if let Some(details) = &order.clinical_details {
            w.key("note").array(|w| w.object(|w| w.text("text", details)));
        }
    });
}

fn procedure(w: &mut Json<'_>, c: &Ctx<'_, '_>) {
    let Some(n) = c.r.procedure else { return };
    entry(w, "Procedure", &c.procedure_id, |w| {
        reference_list(w, "basedOn", "ServiceRequest", &c.order_id);
        w.key("status").str("completed");
        procedure_code(w);
        reference(w, "subject", "Patient", &c.patient_id);
        w.key("performedDateTime").str(&n.performed_at.to_rfc3339());
        w.key("performer").array(|w| w.object(|w| display_reference(w, "actor", &n.operator)));
        w.key("bodySite").array(|w| w.object(|w| w.text("text", &body_site(n))));
        reference_list(w, "report", "DiagnosticReport", &c.report_id);
        if let Some(complications) = &n.complications {
            w.key("complication").array(|w| w.object(|w| w.text("text", complications)));
        }
        w.key("note").array(|w| w.object(|w| w.text("text", &procedure_details(n))));
    });
}

/// The steps of the note that have no R4 element of their own, as one sentence.
fn procedure_details(n: &marrow_domain::procedure::ProcedureNote) -> String {
    let s = &n.steps;
    let mut text = format!(
        "Position: {}. Local anaesthetic: {}. Sedation: {}.",
        n.position.label(),
        n.local_anaesthetic,
        n.sedation.label()
    );
    if s.time_out_done {
        text.push_str(" Time-out and identity check done.");
    }
    if let Some(needle) = &s.needle {
        let _ = write!(text, " Needle: {needle}.");
    }
    if let Some(passes) = s.passes {
        let _ = write!(text, " Passes: {passes}.");
    }
    if s.dry_tap {
        text.push_str(" Dry tap.");
    }
    if let Some(mm) = s.trephine_length_mm {
        let _ = write!(text, " Trephine core length: {mm} mm.");
    }
    if let Some(haemostasis) = &s.haemostasis {
        let _ = write!(text, " Haemostasis: {haemostasis}.");
    }
    // `None` is a recorded answer in the domain ("none occurred"), so it is stated.
    if n.complications.is_none() {
        text.push_str(" Complications: none.");
    }
    text
}

fn specimen(w: &mut Json<'_>, c: &Ctx<'_, '_>, i: usize) {
    let s = &c.r.specimens[i];
    let tube = s.taken.tube;
    entry(w, "Specimen", &c.specimen_ids[i], |w| {
        w.key("identifier").array(|w| {
            w.object(|w| {
                w.key("system").str(SPECIMEN_SYSTEM);
                w.key("value").str(&s.id.to_string());
            });
        });
        w.key("type").object(|w| {
            if tube == Tube::TrephineInFormalin {
                // Clinical reference §7.2: no SNOMED CT code found for a trephine core.
                w.key("text").str("Bone marrow trephine biopsy core");
            } else {
                // Smears, clot and culture are all aspirated marrow (§6.3), so 396997002.
                let (code, display) = ASPIRATE_SPECIMEN;
                w.key("coding").array(|w| coding(w, SNOMED, code, display));
                w.key("text").str("Bone marrow aspirate");
            }
        });
        reference(w, "subject", "Patient", &c.patient_id);
        if let Some(at) = s.received_at {
            w.key("receivedTime").str(&at.to_rfc3339());
        }
        reference_list(w, "request", "ServiceRequest", &c.order_id);
        if let Some(n) = c.r.procedure {
            w.key("collection").object(|w| {
                display_reference(w, "collector", &n.operator);
                w.key("collectedDateTime").str(&n.performed_at.to_rfc3339());
                if let Some(volume) = s.taken.volume_ml {
                    w.key("quantity").object(|w| {
                        w.key("value").number(&volume.to_string());
                        w.key("unit").str("mL");
                        w.key("system").str(UCUM);
                        w.key("code").str("mL");
                    });
                }
                w.key("bodySite").object(|w| w.text("text", &body_site(n)));
            });
        }
        w.key("container").array(|w| {
            w.object(|w| {
                w.text("description", tube.label());
                if let Some(additive) = additive(tube) {
                    w.key("additiveCodeableConcept").object(|w| w.text("text", additive));
                }
            });
        });
        let note = format!("Sent to {}.", s.taken.destination.label());
        w.key("note").array(|w| w.object(|w| w.text("text", &note)));
    });
}

fn observation(w: &mut Json<'_>, c: &Ctx<'_, '_>, i: usize) {
    let line = &c.results[i];
    entry(w, "Observation", &c.result_ids[i], |w| {
        reference_list(w, "basedOn", "ServiceRequest", &c.order_id);
        w.key("status").str(c.observation_status());
        w.key("category").array(|w| {
            w.object(|w| {
                w.key("coding")
                    .array(|w| coding(w, OBSERVATION_CATEGORY, "laboratory", "Laboratory"));
            });
        });
        w.key("code").object(|w| {
            w.key("coding").array(|w| {
                // LOINC only where clinical reference §7.1 confirms it (`ResultCode`); the
                // local code always, so a receiver can map every line the same way.
                if let Some((code, display)) = line.code.loinc {
                    coding(w, LOINC, code, display);
                }
                coding(w, RESULT_CODE_SYSTEM, line.code.local, &line.label);
            });
            w.text("text", &line.label);
        });
        reference(w, "subject", "Patient", &c.patient_id);
        if let Some(at) = &c.effective {
            w.key("effectiveDateTime").str(at);
        }
        w.key("issued").str(&c.issued);
        match value_text(line) {
            Some(value) => quantity(w, "valueQuantity", &value, line.unit),
            None => {
                // Only an M:E ratio without erythroid cells (or an empty count) has no value:
                // there is no proper value, which is `not-applicable`, not zero or infinity.
                w.key("dataAbsentReason").object(|w| {
                    w.key("coding")
                        .array(|w| coding(w, DATA_ABSENT, "not-applicable", "Not Applicable"));
                    w.text("text", &line.display);
                });
            }
        }
        if let Some((code, display)) = interpretation(line.status) {
            w.key("interpretation").array(|w| {
                w.object(|w| w.key("coding").array(|w| coding(w, INTERPRETATION, code, display)));
            });
        }
        if let Some(note) = count_note(line, c.total) {
            w.key("note").array(|w| w.object(|w| w.text("text", &note)));
        }
        if let Some(s) = c.counted_on {
            reference(w, "specimen", "Specimen", &c.specimen_ids[s]);
        }
        if let Some((low, high)) = &line.reference {
            let (low_ok, high_ok) = (is_decimal(low), is_decimal(high));
            w.key("referenceRange").array(|w| {
                w.object(|w| {
                    if low_ok {
                        quantity(w, "low", low, line.unit);
                    }
                    if high_ok {
                        quantity(w, "high", high, line.unit);
                    }
                    if !(low_ok && high_ok) {
                        w.key("text").str(&format!("{low}-{high}"));
                    }
                });
            });
        }
    });
}

/// One value of the blood count before the marrow, in its analyte's stored unit, with the
/// range and flag for this patient's sex and age on the day the blood was taken.
fn blood_observation(w: &mut Json<'_>, c: &Ctx<'_, '_>, i: usize) {
    let value = &c.blood[i];
    let analyte = value.measured.analyte;
    let unit = analyte.unit();
    let Some(count) = c.r.blood_count else { return };
    entry(w, "Observation", &c.blood_ids[i], |w| {
        // The laboratory's result, untouched by amending the marrow report: always final.
        w.key("status").str("final");
        w.key("category").array(|w| {
            w.object(|w| {
                w.key("coding")
                    .array(|w| coding(w, OBSERVATION_CATEGORY, "laboratory", "Laboratory"));
            });
        });
        w.key("code").object(|w| {
            w.key("coding").array(|w| coding(w, LOINC, analyte.loinc(), analyte.label()));
            w.text("text", analyte.label());
        });
        reference(w, "subject", "Patient", &c.patient_id);
        w.key("effectiveDateTime").str(&count.taken_at.to_rfc3339());
        blood_quantity(w, "valueQuantity", value.measured.value, unit);
        if let Some((code, display)) = blood_interpretation(value.flag) {
            w.key("interpretation").array(|w| {
                w.object(|w| w.key("coding").array(|w| coding(w, INTERPRETATION, code, display)));
            });
        }
        if let Some(range) = value.range {
            w.key("referenceRange").array(|w| {
                w.object(|w| {
                    blood_quantity(w, "low", range.low, unit);
                    blood_quantity(w, "high", range.high, unit);
                });
            });
        }
    });
}

/// v3 ObservationInterpretation for a blood count flag; none without a range.
fn blood_interpretation(flag: CountFlag) -> Option<(&'static str, &'static str)> {
    match flag {
        CountFlag::Low => Some(("L", "Low")),
        CountFlag::High => Some(("H", "High")),
        CountFlag::Normal => Some(("N", "Normal")),
        CountFlag::NoRange => None,
    }
}

/// A blood count quantity: the exact decimal, the unit as people write it, and its UCUM code.
fn blood_quantity(w: &mut Json<'_>, key: &str, value: Quantity, unit: Unit) {
    w.key(key).object(|w| {
        w.key("value").number(&value.to_string());
        w.key("unit").str(unit.label());
        w.key("system").str(UCUM);
        w.key("code").str(unit.ucum());
    });
}

fn diagnostic_report(w: &mut Json<'_>, c: &Ctx<'_, '_>, pdf: Pdf<'_>) {
    let r = c.r;
    entry(w, "DiagnosticReport", &c.report_id, |w| {
        w.key("meta").object(|w| w.key("versionId").str(&r.version.to_string()));
        w.key("text").object(|w| {
            // `additional`: the narrative holds more than the structured elements (aspirate
            // findings, synoptic fields, flags).
            w.key("status").str("additional");
            w.key("div").str(&narrative(c));
        });
        w.key("identifier").array(|w| {
            w.object(|w| {
                identifier_type(w, "FILL", "Filler Identifier");
                w.key("system").str(REPORT_SYSTEM);
                w.key("value").str(&r.case_id.to_string());
            });
        });
        reference_list(w, "basedOn", "ServiceRequest", &c.order_id);
        w.key("status").str(c.report_status());
        w.key("category").array(|w| {
            w.object(|w| w.key("coding").array(|w| coding(w, V2_0074, "HM", "Hematology")));
        });
        w.key("code").object(|w| {
            let (code, display) = loinc::REPORT;
            w.key("coding").array(|w| coding(w, LOINC, code, display));
            w.key("text").str("Bone marrow aspirate report");
        });
        reference(w, "subject", "Patient", &c.patient_id);
        if let Some(at) = &c.effective {
            w.key("effectiveDateTime").str(at);
        }
        w.key("issued").str(&c.issued);
        w.key("resultsInterpreter").array(|w| w.object(|w| w.text("display", r.signed_by)));
        if !c.specimen_ids.is_empty() {
            w.key("specimen").array(|w| {
                for id in &c.specimen_ids {
                    w.object(|w| w.key("reference").str_parts(&["Specimen/", id]));
                }
            });
        }
        w.key("result").array(|w| {
            for id in &c.result_ids {
                w.object(|w| w.key("reference").str_parts(&["Observation/", id]));
            }
        });
        if let Some(interpretation) = &r.content.interpretation {
            w.text("conclusion", interpretation);
        }
        w.key("presentedForm").array(|w| {
            w.object(|w| {
                w.key("contentType").str("application/pdf");
                match pdf {
                    Pdf::Inline(bytes) if !bytes.is_empty() => {
                        w.key("data").base64(bytes);
                    }
                    Pdf::Inline(_) => {}
                    Pdf::Link => {
                        w.key("url").str(&pdf_path(r.case_id, r.version));
                    }
                }
                w.key("title").str(&pdf_title(r));
                w.key("creation").str(&c.issued);
            });
        });
    });
}

/// The PDF's title as a receiver lists it.
fn pdf_title(r: &SignedReport<'_>) -> String {
    let amended = if r.is_amended() { " (amended)" } else { "" };
    format!("Bone marrow aspirate report, case {}, version {}{amended}", r.case_id, r.version)
}

/// The whole report as the XHTML narrative: the sections of the plain-text report
/// ([`crate::report_text::render`]) in the same order, from the same sources, with the results
/// already computed for the Observations (computing them again would double the cost of a
/// Bundle: their exact limits are most of it).
fn narrative(c: &Ctx<'_, '_>) -> String {
    let r = c.r;
    let p = r.patient;
    let mut h = String::with_capacity(8 * 1024);
    let _ = write!(
        h,
        "<div xmlns=\"{XHTML}\"><h2>Bone marrow aspirate report (case {}, version {})</h2>",
        r.case_id, r.version
    );
    if r.is_amended() {
        h.push_str("<p><b>Amended report:</b> ");
        escape_xhtml(&mut h, r.amendment_reason.unwrap_or("reason not stated"));
        h.push_str("</p>");
    }
    if r.is_superseded() {
        let _ = write!(h, "<p><b>Superseded by version {}.</b></p>", r.latest_version);
    }
    h.push_str("<table>");
    row(&mut h, &["Patient", &p.display_name()]);
    row(&mut h, &["MRN", p.mrn.reveal()]);
    row(&mut h, &["Born", &p.date_of_birth.to_string()]);
    row(&mut h, &["Sex", p.sex.label()]);
    row(&mut h, &["Requested by", &format!("{} on {}", r.ordered_by, r.ordered_at)]);
    row(&mut h, &["Indication", &r.order.indication.to_string()]);
    if let Some(details) = &r.order.clinical_details {
        row(&mut h, &["Blood count", details]);
    }
    row(&mut h, &["Sampling", r.order.sampling.label()]);
    if let Some(n) = r.procedure {
        row(&mut h, &["Site", &body_site(n)]);
        row(&mut h, &["Performed", &n.performed_at.to_string()]);
    }
    for s in r.specimens {
        let what = format!("{} to {}", s.taken.tube.label(), s.taken.destination.label());
        row(&mut h, &["Specimen", &s.id.to_string(), &what]);
    }
    h.push_str("</table>");
    if let Some(a) = r.aspirate {
        h.push_str("<h3>Aspirate</h3><table>");
        for (heading, text) in crate::report_text::aspirate_lines(a) {
            row(&mut h, &[heading, &text]);
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        "<h3>Differential ({} nucleated cells counted)</h3><table><thead><tr><th>Cell class</th>\
         <th>Cells</th><th>%</th><th>95% limits</th><th>Reference</th><th/></tr></thead><tbody>",
        c.total
    );
    for line in &c.results {
        let mark = crate::report_text::range_mark(line.status);
        let reference = |suffix: &str| {
            line.reference
                .as_ref()
                .map_or_else(String::new, |(lo, hi)| format!("{lo}-{hi}{suffix}"))
        };
        match line.unit {
            ResultUnit::Percent => {
                let cells = line.cells.unwrap_or(0).to_string();
                let limits =
                    line.limits_95.map_or_else(String::new, |(lo, hi)| format!("{lo:.1}-{hi:.1}"));
                row(&mut h, &[&line.label, &cells, &line.display, &limits, &reference(""), mark]);
            }
            ResultUnit::Ratio => {
                let value = format!("{}:1", line.display);
                row(&mut h, &[&line.label, "", &value, "", &reference(":1"), mark]);
            }
            // The number counted is in the heading.
            ResultUnit::Cells => {}
        }
    }
    for &class in CellClass::ALL.iter().filter(|cl| !r.rules.counts(**cl)) {
        let count = r.differential.count(class).to_string();
        row(&mut h, &[class.label(), &count, "not in the count", "", "", ""]);
    }
    h.push_str("</tbody></table><p>Reference: ");
    escape_xhtml(&mut h, r.reference.name());
    h.push_str("</p>");
    for field in r.content.fields() {
        if let Some(text) = field.text {
            h.push_str("<h3>");
            escape_xhtml(&mut h, field.heading);
            h.push_str("</h3><p>");
            escape_xhtml(&mut h, &text);
            h.push_str("</p>");
        }
    }
    if !r.flags.is_empty() {
        h.push_str("<h3>Flags shown at sign-out (not a diagnosis)</h3><ul>");
        for flag in r.flags {
            h.push_str("<li>");
            escape_xhtml(&mut h, &flag.text);
            h.push_str("<br/>Source: ");
            escape_xhtml(&mut h, &flag.source);
            h.push_str("</li>");
        }
        h.push_str("</ul>");
    }
    let _ = write!(h, "<p>Signed by ");
    escape_xhtml(&mut h, r.signed_by);
    let _ = write!(h, " on {}</p></div>", r.signed_at);
    h
}

/// One table row of escaped cells; the first is a header cell.
fn row(h: &mut String, cells: &[&str]) {
    h.push_str("<tr>");
    for (i, cell) in cells.iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        let _ = write!(h, "<{tag}>");
        escape_xhtml(h, cell);
        let _ = write!(h, "</{tag}>");
    }
    h.push_str("</tr>");
}

/// "Posterior iliac crest, right", as the text report writes the site.
fn body_site(n: &marrow_domain::procedure::ProcedureNote) -> String {
    format!("{}, {}", n.site.label(), n.side.label().to_lowercase())
}

/// Administrative gender (R4 required binding; the domain's codes are the same words, but the
/// mapping is spelled out so a new domain value cannot slip through unmapped).
fn gender(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

/// R4 request-priority (required binding).
fn priority(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Routine => "routine",
        Urgency::Urgent => "urgent",
    }
}

/// The additive of a container, as text (no coded additives are confirmed in the clinical
/// reference; §6.3 names them).
fn additive(tube: Tube) -> Option<&'static str> {
    match tube {
        Tube::Edta => Some("EDTA"),
        Tube::SodiumHeparin => Some("Sodium heparin"),
        Tube::Acd => Some("Acid citrate dextrose (ACD)"),
        Tube::ClotInFormalin | Tube::TrephineInFormalin => Some("Formalin"),
        Tube::DirectSmears | Tube::Culture => None,
    }
}

/// v3 ObservationInterpretation for a value against its interval; none without an interval.
fn interpretation(status: RangeStatus) -> Option<(&'static str, &'static str)> {
    match status {
        RangeStatus::Above => Some(("H", "High")),
        RangeStatus::Below => Some(("L", "Low")),
        RangeStatus::Within => Some(("N", "Normal")),
        RangeStatus::NoInterval | RangeStatus::NotCalculable => None,
    }
}

/// The value as the report prints it, if it is a finite number (see the module docs).
fn value_text(line: &ResultLine) -> Option<String> {
    let value = line.value.filter(|v| v.is_finite())?;
    Some(if is_decimal(&line.display) { line.display.clone() } else { value.to_string() })
}

/// The cells behind a percentage and its exact 95 % limits (clinical reference §4).
fn count_note(line: &ResultLine, total: u32) -> Option<String> {
    let cells = line.cells?;
    let mut note = format!("{cells} of {total} nucleated cells counted.");
    if let Some((low, high)) = line.limits_95 {
        let _ =
            write!(note, " Exact 95% confidence limits (Clopper-Pearson): {low:.1}-{high:.1} %.");
    }
    Some(note)
}

fn quantity(w: &mut Json<'_>, key: &str, value: &str, unit: ResultUnit) {
    w.key(key).object(|w| {
        w.key("value").number(value);
        w.key("unit").str(match unit {
            ResultUnit::Percent => "%",
            ResultUnit::Ratio => "ratio",
            ResultUnit::Cells => "cells",
        });
        w.key("system").str(UCUM);
        w.key("code").str(unit.ucum());
    });
}

fn coding(w: &mut Json<'_>, system: &str, code: &str, display: &str) {
    w.object(|w| {
        w.key("system").str(system);
        w.key("code").str(code);
        w.text("display", display);
    });
}

fn identifier_type(w: &mut Json<'_>, code: &str, display: &str) {
    // v2 table 0203: PLAC/FILL tell a receiver which side of the order the number belongs to.
    w.key("type").object(|w| w.key("coding").array(|w| coding(w, V2_0203, code, display)));
}

/// The SNOMED CT code of the procedure, shared by the order and the note (§7.2).
fn procedure_code(w: &mut Json<'_>) {
    let (code, display) = BMA_PROCEDURE;
    w.key("code").object(|w| {
        w.key("coding").array(|w| coding(w, SNOMED, code, display));
        w.key("text").str("Bone marrow aspiration");
    });
}

fn reference(w: &mut Json<'_>, key: &str, ty: &str, id: &str) {
    w.key(key).object(|w| w.key("reference").str_parts(&[ty, "/", id]));
}

fn reference_list(w: &mut Json<'_>, key: &str, ty: &str, id: &str) {
    w.key(key).array(|w| w.object(|w| w.key("reference").str_parts(&[ty, "/", id])));
}

/// A reference to someone Marrow knows only by name (no Practitioner resource).
fn display_reference(w: &mut Json<'_>, key: &str, display: &str) {
    if !display.trim().is_empty() {
        w.key(key).object(|w| w.key("display").str(display));
    }
}

/// A resource id from `stem` (characters outside `[A-Za-z0-9.-]` become `-`, at most 56
/// characters), made unique among `taken` with a `-2`, `-3`… suffix; always within R4's 64.
fn unique_id(taken: &[String], stem: &str) -> String {
    let stem: String = stem
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' || ch == '.' { ch } else { '-' })
        .take(56)
        .collect();
    if !taken.contains(&stem) {
        return stem;
    }
    (2..).map(|n| format!("{stem}-{n}")).find(|id| !taken.contains(id)).unwrap_or(stem)
}

/// Whether `s` is a JSON number, which is exactly FHIR's decimal syntax.
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Appends `s` as XHTML character data: markup characters escaped, a line break as `<br/>`
/// (text fields may hold several lines), and characters XML 1.0 forbids (controls other than
/// tab, U+FFFE, U+FFFF) replaced by U+FFFD.
fn escape_xhtml(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            '\t' => out.push(ch),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// Appends the JSON string literal of `s` (RFC 8259: quote, backslash and control characters
/// escaped; everything else as UTF-8).
fn escape_json(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// A JSON writer into a `String` that places commas and (optionally) indentation itself, so the
/// resource writers read like the JSON they produce.
struct Json<'o> {
    out: &'o mut String,
    pretty: bool,
    depth: usize,
    /// Nothing written yet in the innermost open container.
    first: bool,
    /// A key was just written: the next value belongs to it.
    after_key: bool,
}

impl<'o> Json<'o> {
    fn new(out: &'o mut String, pretty: bool) -> Self {
        Self { out, pretty, depth: 0, first: true, after_key: false }
    }

    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        if self.depth > 0 {
            self.newline();
        }
    }

    fn newline(&mut self) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn key(&mut self, key: &str) -> &mut Self {
        self.before_value();
        self.out.push('"');
        escape_json(self.out, key);
        self.out.push_str(if self.pretty { "\": " } else { "\":" });
        self.after_key = true;
        self
    }

    fn str(&mut self, s: &str) {
        self.str_parts(&[s]);
    }

    /// One string value made of `parts`, without joining them first.
    fn str_parts(&mut self, parts: &[&str]) {
        self.before_value();
        self.out.push('"');
        for part in parts {
            escape_json(self.out, part);
        }
        self.out.push('"');
    }

    /// A `key: text` member, left out when `text` is blank (FHIR forbids empty strings).
    fn text(&mut self, key: &str, text: &str) {
        if !text.trim().is_empty() {
            self.key(key).str(text);
        }
    }

    /// A number from its decimal text (see [`is_decimal`]; anything else is written as a string,
    /// which a validator refuses, rather than as broken JSON).
    fn number(&mut self, decimal: &str) {
        if is_decimal(decimal) {
            self.before_value();
            self.out.push_str(decimal);
        } else {
            self.str(decimal);
        }
    }

    fn base64(&mut self, bytes: &[u8]) {
        self.before_value();
        self.out.push('"');
        base64::engine::general_purpose::STANDARD.encode_string(bytes, self.out);
        self.out.push('"');
    }

    fn object(&mut self, body: impl FnOnce(&mut Self)) {
        self.container('{', '}', body);
    }

    fn array(&mut self, body: impl FnOnce(&mut Self)) {
        self.container('[', ']', body);
    }

    fn container(&mut self, open: char, close: char, body: impl FnOnce(&mut Self)) {
        self.before_value();
        self.out.push(open);
        self.depth += 1;
        self.first = true;
        body(self);
        self.depth -= 1;
        if !self.first {
            self.newline();
        }
        self.out.push(close);
        self.first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_literal(s: &str) -> String {
        let mut out = String::from("\"");
        escape_json(&mut out, s);
        out.push('"');
        out
    }

    #[test]
    fn json_strings_round_trip_through_serde_json() {
        let cases = [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "tab\tnew\nline\rcarriage",
            "bell \u{7} nul \u{0} unit \u{1f} del \u{7f}",
            "<pending> & | ^ ~ \\ trephine",
            "non-ASCII: é ü 血 😀 \u{2028}",
        ];
        for s in cases {
            let literal = json_literal(s);
            let back: String = serde_json::from_str(&literal).unwrap();
            assert_eq!(back, s, "{literal}");
        }
        assert_eq!(json_literal("a\u{1}b"), "\"a\\u0001b\"");
    }

    #[test]
    fn xhtml_escaping_keeps_text_and_drops_what_xml_forbids() {
        let mut out = String::new();
        escape_xhtml(&mut out, "a < b & c > d\r\n\u{1}\u{fffe}é");
        assert_eq!(out, "a &lt; b &amp; c &gt; d<br/>\u{fffd}\u{fffd}é");
    }

    #[test]
    fn decimals_are_recognised_as_json_numbers() {
        for ok in ["0", "7", "7.2", "0.05", "500", "-1.5", "2.33", "1e3", "1.5E-2"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "not calculable", "NaN", "inf", "1,5", " 1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_valid_fhir_ids_and_unique() {
        let taken = vec!["case-1-result-group".to_owned()];
        assert_eq!(unique_id(&taken, "case-1-result-blasts"), "case-1-result-blasts");
        assert_eq!(unique_id(&taken, "case-1-result-group"), "case-1-result-group-2");
        assert_eq!(unique_id(&[], "a b/c_d"), "a-b-c-d");
        let long = "x".repeat(100);
        let taken = vec![unique_id(&[], &long)];
        let second = unique_id(&taken, &long);
        assert_ne!(second, taken[0]);
        assert!(second.len() <= 64 && taken[0].len() <= 64);
    }

    #[test]
    fn the_writer_places_commas_and_indentation() {
        let write = |pretty| {
            let mut out = String::new();
            let mut w = Json::new(&mut out, pretty);
            w.object(|w| {
                w.key("a").str("x");
                w.key("b").array(|w| {
                    w.number("1");
                    w.number("2.5");
                    w.object(|_| {});
                });
                w.text("blank", "  ");
                w.key("c").object(|w| w.key("d").base64(b"hi"));
            });
            out
        };
        assert_eq!(write(false), r#"{"a":"x","b":[1,2.5,{}],"c":{"d":"aGk="}}"#);
        assert_eq!(
            write(true),
            "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2.5,\n    {}\n  ],\n  \"c\": {\n    \
             \"d\": \"aGk=\"\n  }\n}"
        );
    }

    #[test]
    fn codes_map_to_the_r4_value_sets() {
        assert_eq!(gender(Sex::Female), "female");
        assert_eq!(gender(Sex::Unknown), "unknown");
        assert_eq!(priority(Urgency::Urgent), "urgent");
        assert_eq!(interpretation(RangeStatus::Above), Some(("H", "High")));
        assert_eq!(interpretation(RangeStatus::Below), Some(("L", "Low")));
        assert_eq!(interpretation(RangeStatus::NoInterval), None);
        assert_eq!(additive(Tube::DirectSmears), None);
    }
}
