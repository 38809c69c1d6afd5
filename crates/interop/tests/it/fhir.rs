//! FHIR R4: the Bundle of each version of the sample report against its snapshot and the
//! fhir.resources validator, and what the Bundle must say, checked in Rust.

use marrow_domain::morphology::MeRatio;
use marrow_interop::fhir::{self, Layout};
use marrow_interop::sample::SampleCase;
use marrow_interop::signed::loinc;
use serde_json::Value;

use crate::support;

/// A small stand-in for the rendered PDF: the Bundle embeds whatever bytes it is given.
const FAKE_PDF: &[u8] = b"%PDF-1.4\n% fake report for the FHIR tests\n%%EOF\n";

fn resources<'v>(bundle: &'v Value, ty: &str) -> Vec<&'v Value> {
    bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == ty)
        .collect()
}

fn the_one<'v>(bundle: &'v Value, ty: &str) -> &'v Value {
    let found = resources(bundle, ty);
    assert_eq!(found.len(), 1, "one {ty}");
    found[0]
}

/// The Observations the DiagnosticReport lists as its results (the marrow's), and the others
/// (the blood count before it).
fn marrow_and_blood(bundle: &Value) -> (Vec<&Value>, Vec<&Value>) {
    let report = the_one(bundle, "DiagnosticReport");
    let results: Vec<String> = report["result"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["reference"].as_str().expect("reference").to_owned())
        .collect();
    resources(bundle, "Observation")
        .into_iter()
        .partition(|o| results.contains(&format!("Observation/{}", o["id"].as_str().expect("id"))))
}

fn observation<'v>(bundle: &'v Value, local: &str) -> &'v Value {
    resources(bundle, "Observation")
        .into_iter()
        .find(|o| {
            o["code"]["coding"]
                .as_array()
                .expect("codings")
                .iter()
                .any(|c| c["system"] == fhir::RESULT_CODE_SYSTEM && c["code"] == local)
        })
        .unwrap_or_else(|| panic!("no Observation coded {local}"))
}

#[test]
fn both_versions_of_the_sample_match_their_snapshots() {
    let sample = SampleCase::new();
    let v1 = fhir::bundle_json(&sample.report(1, 1), FAKE_PDF, Layout::Pretty);
    support::snapshot("fhir-v1.json", &v1);
    let v2 = fhir::bundle_json(&sample.report(2, 2), FAKE_PDF, Layout::Pretty);
    support::snapshot("fhir-v2.json", &v2);
}

#[test]
fn fhir_resources_accepts_both_versions_and_the_bulk_export() {
    let Some(python) = support::python_with("fhir.resources") else { return };
    let sample = SampleCase::new();
    for (version, latest) in [(1, 1), (1, 2), (2, 2)] {
        let report = sample.report(version, latest);
        let json = fhir::bundle_json(&report, FAKE_PDF, Layout::Compact);
        let summary = support::validate(&python, "fhir_validate.py", json.as_bytes());
        assert!(summary.starts_with("json: 1 valid FHIR R4 Bundle(s)"), "{summary}");
        // The marrow's results and one Observation per value of the blood count before it.
        let observations = report.results().len() + sample.blood_count.results().len();
        assert!(observations > report.results().len());
        assert!(summary.contains(&format!("Observation {observations},")), "{summary}");
    }
    let mut ndjson = String::new();
    fhir::write_export_line(&mut ndjson, &sample.report(1, 2));
    fhir::write_export_line(&mut ndjson, &sample.report(2, 2));
    let summary = support::validate(&python, "fhir_validate.py", ndjson.as_bytes());
    assert!(summary.starts_with("ndjson: 2 valid FHIR R4 Bundle(s)"), "{summary}");
}

#[test]
fn the_validator_refuses_a_dangling_reference_and_an_unconfirmed_loinc() {
    let Some(python) = support::python_with("fhir.resources") else { return };
    let sample = SampleCase::new();
    let good = fhir::bundle_json(&sample.report(1, 1), FAKE_PDF, Layout::Compact);
    // The validator must be able to fail: break one reference, then one LOINC code
    // (26446-5 is blasts in *blood*, a known-wrong marrow mapping, clinical reference §7.1).
    for (broken, why) in [
        (
            good.replacen("\"Patient/case-42-patient\"", "\"Patient/nobody\"", 1),
            "reference 'Patient/nobody' is not in the Bundle",
        ),
        (good.replacen("\"11138-5\"", "\"26446-5\"", 1), "LOINC '26446-5' is not confirmed"),
        // A marrow code on a blood count, and a blood count nothing refers to.
        (good.replacen("\"718-7\"", "\"11138-5\"", 1), "LOINC '11138-5' is not a blood count code"),
        (
            good.replacen(
                "{\"reference\":\"Observation/case-42-blood-count-platelets\"}",
                "{\"reference\":\"Observation/case-42-blood-count-platelets-gone\"}",
                1,
            ),
            "neither results of the report nor supporting information of the order: \
             ['Observation/case-42-blood-count-platelets']",
        ),
    ] {
        assert_ne!(broken, good);
        let out = std::process::Command::new(&python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validators/fhir_validate.py"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().expect("stdin").write_all(broken.as_bytes())?;
                child.wait_with_output()
            })
            .expect("run the validator");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the validator accepted a broken bundle");
        assert!(stderr.contains(why), "{stderr}");
    }
}

#[test]
fn only_loinc_codes_confirmed_in_the_clinical_reference_are_used() {
    let confirmed = [
        loinc::REPORT,
        loinc::ME_RATIO,
        loinc::CELLS_COUNTED,
        loinc::BASOPHILS,
        loinc::LYMPHOCYTES,
        loinc::MAST_CELLS,
        loinc::ERYTHROID,
    ];
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(2, 2), FAKE_PDF);
    let text = bundle.to_string();
    let (_, blood) = marrow_and_blood(&bundle);
    let mut seen = 0;
    for resource in bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]) {
        // The blood count's codes are the domain's blood codes, checked on their own below.
        if blood.contains(&resource) {
            continue;
        }
        let Some(codings) = resource["code"]["coding"].as_array() else { continue };
        for c in codings.iter().filter(|c| c["system"] == "http://loinc.org") {
            let pair = (c["code"].as_str().unwrap(), c["display"].as_str().unwrap());
            assert!(confirmed.contains(&pair), "unconfirmed LOINC {pair:?}");
            seen += 1;
        }
    }
    // The report, M:E, cells counted, basophils, lymphocytes, mast cells, erythroid group.
    assert_eq!(seen, 7, "{text}");
    assert_eq!(
        text.matches("\"http://loinc.org\"").count(),
        seen + blood.len(),
        "LOINC only in codes, one per blood count value"
    );
}

#[test]
fn the_report_references_every_observation_specimen_and_the_order() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    let report = the_one(&bundle, "DiagnosticReport");
    let results: Vec<&str> = report["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    let (observations, blood) = marrow_and_blood(&bundle);
    assert_eq!(observations.len(), sample.report(1, 1).results().len());
    assert_eq!(results.len(), observations.len());
    assert_eq!(
        observations.len() + blood.len(),
        resources(&bundle, "Observation").len(),
        "every Observation is either"
    );
    for o in &observations {
        let reference = format!("Observation/{}", o["id"].as_str().unwrap());
        assert!(results.contains(&reference.as_str()), "{reference} is not a result");
    }
    let specimens = report["specimen"].as_array().unwrap();
    assert_eq!(specimens.len(), 3);
    assert_eq!(specimens[0]["reference"], "Specimen/case-42-specimen-101");
    assert_eq!(report["basedOn"][0]["reference"], "ServiceRequest/case-42-order");
    assert_eq!(report["code"]["coding"][0]["code"], loinc::REPORT.0);
    assert_eq!(report["issued"], "2026-11-24T15:30:00Z");
    assert_eq!(bundle["timestamp"], "2026-11-24T15:30:00Z");
    assert_eq!(report["resultsInterpreter"][0]["display"], "Dr Sample Pathologist");
    // Each fullUrl ends with the resource's type and id, and is unique.
    let mut urls: Vec<&str> = Vec::new();
    for e in bundle["entry"].as_array().unwrap() {
        let url = e["fullUrl"].as_str().unwrap();
        let r = &e["resource"];
        let tail =
            format!("/{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
        assert!(url.starts_with(fhir::BASE_URL) && url.ends_with(&tail), "{url}");
        assert!(!urls.contains(&url), "{url} repeats");
        urls.push(url);
    }
}

#[test]
fn the_pdf_is_embedded_and_the_version_stated() {
    use base64::Engine as _;
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    let report = the_one(&bundle, "DiagnosticReport");
    let form = &report["presentedForm"][0];
    assert_eq!(form["contentType"], "application/pdf");
    let data =
        base64::engine::general_purpose::STANDARD.decode(form["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, FAKE_PDF);
    assert_eq!(report["meta"]["versionId"], "1");
    assert_eq!(report["status"], "final");
    assert_eq!(bundle["id"], "case-42-report-v1");
}

#[test]
fn an_amended_version_is_amended_throughout() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(2, 2), FAKE_PDF);
    let report = the_one(&bundle, "DiagnosticReport");
    assert_eq!(report["status"], "amended");
    assert_eq!(report["meta"]["versionId"], "2");
    assert_eq!(report["issued"], "2026-11-24T16:30:00Z");
    assert!(report["presentedForm"][0]["title"].as_str().unwrap().ends_with("version 2 (amended)"));
    let narrative = report["text"]["div"].as_str().unwrap();
    assert!(
        narrative.contains("<p><b>Amended report:</b> Trephine result added.</p>"),
        "{narrative}"
    );
    let (marrow, blood) = marrow_and_blood(&bundle);
    for o in marrow {
        assert_eq!(o["status"], "amended", "{}", o["id"]);
    }
    // The blood count is the laboratory's result; amending the marrow report leaves it final.
    assert!(!blood.is_empty());
    for o in blood {
        assert_eq!(o["status"], "final", "{}", o["id"]);
    }
    // The same resources as version 1, so a receiver replaces rather than duplicates.
    let v1 = fhir::bundle(&sample.report(1, 2), FAKE_PDF);
    let ids = |b: &Value| -> Vec<String> {
        b["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].to_string()).collect()
    };
    assert_eq!(ids(&bundle), ids(&v1));
    assert_eq!(the_one(&v1, "DiagnosticReport")["status"], "final");
}

#[test]
fn the_me_ratio_observation_carries_the_domain_ratio() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    let me = observation(&bundle, "me-ratio");
    let loinc_coding = &me["code"]["coding"][0];
    assert_eq!(loinc_coding["system"], "http://loinc.org");
    assert_eq!(loinc_coding["code"], "11138-5");
    let MeRatio::Ratio(ratio) = sample.differential.me_ratio() else { panic!("a ratio") };
    let value = me["valueQuantity"]["value"].as_f64().unwrap();
    // The value is the ratio as the report prints it: two decimals.
    let printed: f64 = format!("{ratio:.2}").parse().unwrap();
    assert!((value - printed).abs() < 1e-12, "{value} vs {printed}");
    assert!((value - ratio).abs() <= 0.005, "{value} vs {ratio}");
    assert_eq!(me["valueQuantity"]["code"], "{ratio}");
    assert_eq!(me["valueQuantity"]["system"], "http://unitsofmeasure.org");
    assert_eq!(me["referenceRange"][0]["low"]["value"], 2);
    assert_eq!(me["referenceRange"][0]["high"]["value"], 4);
}

#[test]
fn the_blasts_are_high_with_their_limits_and_the_count_behind_them() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    let blasts = observation(&bundle, "blasts");
    assert_eq!(blasts["code"]["coding"].as_array().unwrap().len(), 1, "no LOINC for blasts");
    assert_eq!(blasts["valueQuantity"]["value"].as_f64(), Some(7.2));
    assert_eq!(blasts["valueQuantity"]["code"], "%");
    assert_eq!(blasts["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(blasts["referenceRange"][0]["high"]["value"], 2);
    assert_eq!(
        blasts["note"][0]["text"],
        "36 of 500 nucleated cells counted. Exact 95% confidence limits (Clopper-Pearson): \
         5.1-9.8 %."
    );
    assert_eq!(blasts["specimen"]["reference"], "Specimen/case-42-specimen-101");
    assert_eq!(blasts["effectiveDateTime"], "2026-11-24T09:10:00Z");
    let counted = observation(&bundle, "cells-counted");
    assert_eq!(counted["code"]["coding"][0]["code"], loinc::CELLS_COUNTED.0);
    assert_eq!(counted["valueQuantity"]["value"], 500);
    let erythroid = observation(&bundle, "erythroid-precursors");
    assert_eq!(erythroid["code"]["coding"][0]["code"], loinc::ERYTHROID.0);
}

#[test]
fn patient_order_procedure_and_specimens_say_what_the_case_records() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    let patient = the_one(&bundle, "Patient");
    assert_eq!(patient["identifier"][0]["value"], "SYN-SAMPLE-1");
    assert_eq!(patient["identifier"][0]["type"]["coding"][0]["code"], "MR");
    assert_eq!(patient["gender"], "female");
    assert_eq!(patient["birthDate"], "1958-06-15");
    assert_eq!(patient["name"][0]["family"], "Sample");
    let order = the_one(&bundle, "ServiceRequest");
    assert_eq!(order["status"], "completed");
    assert_eq!(order["intent"], "order");
    assert_eq!(order["code"]["coding"][0]["code"], "49401003");
    assert_eq!(order["authoredOn"], "2026-11-23T16:00:00Z");
    assert_eq!(order["requester"]["display"], "Dr Sample Clinician");
    assert_eq!(
        order["reasonCode"][0]["text"],
        "Abnormal blood counts (Neutrophils low, Platelets low)"
    );
    let procedure = the_one(&bundle, "Procedure");
    assert_eq!(procedure["bodySite"][0]["text"], "Posterior iliac crest, right");
    assert_eq!(procedure["performer"][0]["actor"]["display"], "Dr Sample Operator");
    assert!(procedure["complication"].is_null(), "none recorded");
    assert!(procedure["note"][0]["text"].as_str().unwrap().contains("Complications: none."));
    let specimens = resources(&bundle, "Specimen");
    assert_eq!(specimens.len(), 3);
    let (smears, edta, trephine) = (specimens[0], specimens[1], specimens[2]);
    assert_eq!(smears["type"]["coding"][0]["code"], "396997002");
    assert_eq!(smears["collection"]["quantity"]["value"].as_f64(), Some(0.3));
    assert_eq!(edta["container"][0]["additiveCodeableConcept"]["text"], "EDTA");
    assert_eq!(edta["collection"]["quantity"]["code"], "mL");
    assert_eq!(edta["receivedTime"], "2026-11-24T10:05:00Z");
    assert!(trephine["type"]["coding"].is_null(), "no confirmed code for a trephine core");
    assert!(trephine["collection"]["quantity"].is_null(), "no volume recorded");
    assert_eq!(trephine["identifier"][0]["value"], "103");
}

#[test]
fn free_text_with_special_characters_survives_a_json_round_trip() {
    let sample = SampleCase::new();
    let report = sample.report(1, 1);
    let bundle = fhir::bundle(&report, FAKE_PDF);
    let order = the_one(&bundle, "ServiceRequest");
    assert_eq!(order["note"][0]["text"].as_str(), report.order.clinical_details.as_deref());
    let diagnostic = the_one(&bundle, "DiagnosticReport");
    let conclusion = diagnostic["conclusion"].as_str().unwrap();
    assert_eq!(Some(conclusion), report.content.interpretation.as_deref());
    assert!(conclusion.contains("cytogenetics & flow cytometry"));
    // The comment holds < > & | ^ \ : XHTML-escaped in the narrative, then JSON-escaped.
    let narrative = diagnostic["text"]["div"].as_str().unwrap();
    assert!(
        narrative.contains("Results &lt;pending&gt;: karyotype | NGS panel ^ FISH \\ trephine."),
        "{narrative}"
    );
    assert!(!narrative.contains("<pending>"));
    assert!(narrative.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"));
    // The flags are in the narrative, not the conclusion (they are not a diagnosis).
    assert!(narrative.contains("Flags shown at sign-out (not a diagnosis)"));
    assert!(!conclusion.contains("Flags"));
}

/// The text as the narrative holds it (the writer's XHTML escaping, done independently).
fn xhtml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br/>")
}

#[test]
fn the_narrative_carries_the_whole_report() {
    let sample = SampleCase::new();
    let report = sample.report(1, 2);
    let bundle = fhir::bundle(&report, FAKE_PDF);
    let narrative = the_one(&bundle, "DiagnosticReport")["text"]["div"].as_str().unwrap();
    let mut expected = Vec::new();
    for field in report.content.fields() {
        expected.push(format!("<h3>{}</h3>", field.heading));
        expected.push(format!("<p>{}</p>", xhtml(&field.text.unwrap())));
    }
    for (heading, text) in marrow_interop::report_text::aspirate_lines(&sample.aspirate) {
        expected.push(format!("<tr><th>{}</th><td>{}</td></tr>", xhtml(heading), xhtml(&text)));
    }
    assert!(!report.flags.is_empty());
    for flag in report.flags {
        expected.push(format!(
            "<li>{}<br/>Source: {}</li>",
            xhtml(&flag.text),
            xhtml(&flag.source)
        ));
    }
    expected.extend([
        "<p><b>Superseded by version 2.</b></p>".to_owned(),
        "<tr><th>MRN</th><td>SYN-SAMPLE-1</td></tr>".to_owned(),
        "<tr><th>Specimen</th><td>103</td><td>Trephine core in formalin to Histopathology</td></tr>"
            .to_owned(),
        "<h3>Differential (500 nucleated cells counted)</h3>".to_owned(),
        "<tr><th>Blasts</th><td>36</td><td>7.2</td><td>5.1-9.8</td><td>0-2</td><td>H</td></tr>"
            .to_owned(),
        "<tr><th>M:E ratio (ICSH)</th><td></td><td>2.04:1</td><td></td><td>2-4:1</td><td></td></tr>"
            .to_owned(),
        "<tr><th>Macrophages / histiocytes</th><td>3</td><td>not in the count</td>".to_owned(),
        "<p>Signed by Dr Sample Pathologist on 2026-11-24 15:30 UTC</p></div>".to_owned(),
    ]);
    for piece in expected {
        assert!(narrative.contains(&piece), "missing {piece}\nin {narrative}");
    }
}

#[test]
fn the_value_and_the_text_are_the_same_bundle() {
    let sample = SampleCase::new();
    let report = sample.report(2, 2);
    let pretty = fhir::bundle_json(&report, FAKE_PDF, Layout::Pretty);
    let compact = fhir::bundle_json(&report, FAKE_PDF, Layout::Compact);
    let value = fhir::bundle(&report, FAKE_PDF);
    assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
    assert_eq!(serde_json::from_str::<Value>(&compact).unwrap(), value);
    assert!(!compact.contains('\n'));
    assert_eq!(compact, fhir::bundle_json(&report, FAKE_PDF, Layout::Compact), "stable bytes");
}

#[test]
fn an_export_line_is_one_line_linking_the_pdf() {
    let sample = SampleCase::new();
    let report = sample.report(2, 2);
    let line = fhir::export_line(&report);
    assert!(line.ends_with('\n'));
    assert_eq!(line.matches('\n').count(), 1);
    let exported: Value = serde_json::from_str(&line).unwrap();
    let form = &the_one(&exported, "DiagnosticReport")["presentedForm"][0];
    assert_eq!(form["url"], "/api/v1/cases/42/report/versions/2/pdf");
    assert!(form["data"].is_null());
    // Otherwise the same Bundle as the one served with the PDF.
    let mut served = fhir::bundle(&report, FAKE_PDF);
    let served_form = &mut served["entry"][0]["resource"]["presentedForm"][0];
    served_form.as_object_mut().unwrap().remove("data");
    served_form["url"] = form["url"].clone();
    assert_eq!(exported, served);
    let mut appended = String::from("previous line\n");
    fhir::write_export_line(&mut appended, &report);
    assert_eq!(appended, format!("previous line\n{line}"));
}

#[test]
fn a_ratio_without_erythroid_cells_and_a_case_without_a_note_are_still_valid_fhir() {
    use marrow_domain::morphology::{CellClass, Differential};
    let sample = SampleCase::new();
    let no_erythroid = Differential::from_counts([
        (CellClass::Blast, 20),
        (CellClass::SegmentedNeutrophil, 150),
        (CellClass::Lymphocyte, 30),
    ]);
    let report = marrow_interop::SignedReport {
        procedure: None,
        differential: &no_erythroid,
        flags: &[],
        ..sample.report(1, 1)
    };
    let bundle = fhir::bundle(&report, b"");
    assert!(resources(&bundle, "Procedure").is_empty());
    let specimen = resources(&bundle, "Specimen")[0];
    assert!(specimen["collection"].is_null(), "no note: no collection time or site");
    let report_resource = the_one(&bundle, "DiagnosticReport");
    assert!(report_resource["effectiveDateTime"].is_null());
    assert!(report_resource["presentedForm"][0]["data"].is_null(), "no bytes, no data");
    let me = observation(&bundle, "me-ratio");
    assert!(me["valueQuantity"].is_null());
    assert_eq!(me["dataAbsentReason"]["coding"][0]["code"], "not-applicable");
    assert_eq!(me["dataAbsentReason"]["text"], "not calculable");
    assert!(me["interpretation"].is_null());
    let Some(python) = support::python_with("fhir.resources") else { return };
    let json = fhir::bundle_json(&report, b"", Layout::Compact);
    let summary = support::validate(&python, "fhir_validate.py", json.as_bytes());
    assert!(!summary.contains("Procedure") && summary.contains("Specimen 3"), "{summary}");
}

/// What one blood count Observation must say: analyte code, LOINC, value, unit as written and
/// in UCUM, range, flag.
type BloodRow = (&'static str, &'static str, &'static str, &'static str, &'static str);

fn blood_observation<'v>(bundle: &'v Value, analyte: &str) -> &'v Value {
    let id = format!("case-42-blood-count-{analyte}");
    resources(bundle, "Observation")
        .into_iter()
        .find(|o| o["id"] == id.as_str())
        .unwrap_or_else(|| panic!("no Observation {id}"))
}

#[test]
fn the_blood_count_before_the_marrow_is_one_observation_per_value_supporting_the_order() {
    let sample = SampleCase::new();
    let bundle = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    // The sample patient is a woman of 68 on the day: adult female ranges. The laboratory sent
    // haemoglobin in g/dL, neutrophils in cells/µL and platelets in ×10³/µL; the Observations
    // carry the stored units.
    let expected: [(&str, &str, &str, BloodRow); 9] = [
        ("haemoglobin", "718-7", "98", ("g/L", "g/L", "120", "150", "L")),
        ("white-cells", "6690-2", "2.1", ("×10⁹/L", "10*9/L", "4", "10", "L")),
        ("neutrophils", "751-8", "0.8", ("×10⁹/L", "10*9/L", "2", "7", "L")),
        ("lymphocytes", "731-0", "1", ("×10⁹/L", "10*9/L", "1", "3", "N")),
        ("monocytes", "742-7", "0.2", ("×10⁹/L", "10*9/L", "0.2", "1", "N")),
        ("eosinophils", "711-2", "0.05", ("×10⁹/L", "10*9/L", "0.02", "0.5", "N")),
        ("basophils", "704-7", "0.02", ("×10⁹/L", "10*9/L", "0.02", "0.1", "N")),
        ("platelets", "777-3", "64", ("×10⁹/L", "10*9/L", "150", "410", "L")),
        ("blasts", "26446-5", "2", ("%", "%", "0", "0", "H")),
    ];
    let (_, blood) = marrow_and_blood(&bundle);
    assert_eq!(blood.len(), expected.len(), "one Observation per value");
    for (analyte, loinc_code, value, (unit, ucum, low, high, flag)) in expected {
        let o = blood_observation(&bundle, analyte);
        assert_eq!(o["status"], "final", "{analyte}");
        let category = &o["category"][0]["coding"][0];
        assert_eq!(
            (category["system"].as_str(), category["code"].as_str()),
            (
                Some("http://terminology.hl7.org/CodeSystem/observation-category"),
                Some("laboratory")
            )
        );
        let code = &o["code"]["coding"];
        assert_eq!(code.as_array().unwrap().len(), 1, "{analyte}: LOINC alone");
        assert_eq!(code[0]["system"], "http://loinc.org");
        assert_eq!(code[0]["code"], loinc_code, "{analyte}");
        let label = marrow_domain::blood_count::Analyte::parse(analyte).unwrap().label();
        assert_eq!(code[0]["display"], label, "{analyte}");
        assert_eq!(o["subject"]["reference"], "Patient/case-42-patient");
        assert_eq!(o["effectiveDateTime"], "2026-11-23T08:30:00Z", "when the blood was taken");
        let quantity = &o["valueQuantity"];
        // The text of the number: exact decimals, no float noise and no trailing zeros.
        assert_eq!(quantity["value"].to_string(), value, "{analyte}");
        assert_eq!(quantity["unit"], unit, "{analyte}");
        assert_eq!(quantity["system"], "http://unitsofmeasure.org");
        assert_eq!(quantity["code"], ucum, "{analyte}");
        let range = &o["referenceRange"][0];
        for (end, limit) in [("low", low), ("high", high)] {
            assert_eq!(range[end]["value"].to_string(), limit, "{analyte} {end}");
            assert_eq!(range[end]["code"], ucum, "{analyte} {end}: the value's unit");
            assert_eq!(range[end]["unit"], unit, "{analyte} {end}");
        }
        let interpretation = &o["interpretation"][0]["coding"][0];
        assert_eq!(
            interpretation["system"],
            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
        );
        assert_eq!(interpretation["code"], flag, "{analyte}");
        assert!(o["specimen"].is_null() && o["basedOn"].is_null(), "{analyte}: not the marrow's");
    }
    // The order lists them, in analyte order; the report does not.
    let order = the_one(&bundle, "ServiceRequest");
    let supporting: Vec<&str> = order["supportingInfo"]
        .as_array()
        .expect("supportingInfo")
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    let ids: Vec<String> =
        expected.iter().map(|(a, ..)| format!("Observation/case-42-blood-count-{a}")).collect();
    assert_eq!(supporting, ids);
    let report = the_one(&bundle, "DiagnosticReport").to_string();
    assert!(!report.contains("blood-count"), "not a result of the marrow report");
}

#[test]
fn a_childs_blood_count_uses_the_childs_ranges_and_flags_nothing_without_one() {
    let sample = SampleCase::new();
    let mut child = sample.patient.clone();
    // Eight on the day the blood was taken: the 6–11-year band, which has no basophil range.
    child.date_of_birth = marrow_domain::time::Date::parse("dob", "2018-03-01").unwrap();
    let report = marrow_interop::SignedReport { patient: &child, ..sample.report(1, 1) };
    let bundle = fhir::bundle(&report, FAKE_PDF);
    let hb = blood_observation(&bundle, "haemoglobin");
    assert_eq!(hb["referenceRange"][0]["low"]["value"].to_string(), "115");
    assert_eq!(hb["referenceRange"][0]["high"]["value"].to_string(), "155");
    assert_eq!(hb["interpretation"][0]["coding"][0]["code"], "L");
    let basophils = blood_observation(&bundle, "basophils");
    assert_eq!(basophils["valueQuantity"]["value"].to_string(), "0.02", "shown");
    assert!(basophils["referenceRange"].is_null(), "no range for the band");
    assert!(basophils["interpretation"].is_null(), "so no flag");
    let Some(python) = support::python_with("fhir.resources") else { return };
    let json = fhir::bundle_json(&report, FAKE_PDF, Layout::Compact);
    support::validate(&python, "fhir_validate.py", json.as_bytes());
}

#[test]
fn without_a_blood_count_the_bundle_has_only_the_marrows_observations() {
    let sample = SampleCase::new();
    let report = marrow_interop::SignedReport { blood_count: None, ..sample.report(1, 1) };
    let bundle = fhir::bundle(&report, FAKE_PDF);
    let (marrow, blood) = marrow_and_blood(&bundle);
    assert!(blood.is_empty());
    assert_eq!(marrow.len(), report.results().len());
    assert!(the_one(&bundle, "ServiceRequest")["supportingInfo"].is_null());
    assert!(!bundle.to_string().contains("blood-count"));
    let Some(python) = support::python_with("fhir.resources") else { return };
    let json = fhir::bundle_json(&report, FAKE_PDF, Layout::Compact);
    support::validate(&python, "fhir_validate.py", json.as_bytes());
}

/// The patient's identifier carries the site's MRN system, so the receiving EHR can match the
/// patient; the placeholder is used only where the site named none.
#[test]
fn the_patients_identifier_carries_the_sites_mrn_system() {
    let sample = SampleCase::new();
    let placeholder = fhir::bundle(&sample.report(1, 1), FAKE_PDF);
    assert_eq!(the_one(&placeholder, "Patient")["identifier"][0]["system"], fhir::MRN_SYSTEM);
    let system = "urn:oid:2.16.840.1.113883.19.5";
    let report = marrow_interop::SignedReport { mrn_system: system, ..sample.report(1, 1) };
    let bundle = fhir::bundle(&report, FAKE_PDF);
    let identifier = &the_one(&bundle, "Patient")["identifier"][0];
    assert_eq!(identifier["system"], system);
    assert_eq!(identifier["value"], sample.patient.mrn.reveal());
}

#[test]
fn an_mrn_system_must_be_an_absolute_uri() {
    for good in [
        "https://ehr.example.org/fhir/sid/mrn",
        " http://hospital.example/mrn ",
        "urn:oid:2.16.840.1.113883.19.5",
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
    ] {
        assert_eq!(fhir::identifier_system(good).as_deref(), Ok(good.trim()), "{good}");
    }
    for bad in [
        "",
        "   ",
        "mrn",
        "ehr.example.org/mrn",
        "https://",
        "http:///mrn",
        "https://ehr.example.org/my mrn",
        "urn:oid:",
        "urn:oid:2",
        "urn:oid:2..5",
        "urn:oid:2.05",
        "urn:oid:2.x",
        "urn:uuid:not-a-uuid",
        "ftp://ehr.example.org/mrn",
    ] {
        let refused = fhir::identifier_system(bad).expect_err(bad);
        assert!(!refused.trim().is_empty(), "{bad:?} is refused with a reason");
    }
}
