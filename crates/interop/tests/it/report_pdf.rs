//! The signed report's PDF, read back as a reader would see it: poppler's `pdftotext -layout`
//! extracts the text of each page, `pdfinfo` reads the page size.
//!
//! `.ci/run` installs poppler-utils and sets `MARROW_REQUIRE_BARCODE_TOOLS=1`, so in CI a
//! missing tool fails the test. On a developer machine without poppler the tests say so and
//! check only what can be read from the PDF's bytes directly.

use std::process::Command;

use marrow_domain::readability::flesch_kincaid_grade;
use marrow_domain::report::ReportContent;
use marrow_interop::SignedReport;
use marrow_interop::report_pdf::{PaperSize, SUMMARY_TITLE, render};
use marrow_interop::sample::SampleCase;

use crate::support;

/// Whether poppler's tools are here; without them, a failure where they are required and a
/// message otherwise.
fn poppler(what: &str) -> bool {
    let present =
        ["pdftotext", "pdfinfo"].iter().all(|tool| Command::new(tool).arg("-v").output().is_ok());
    if !present {
        let required = std::env::var("MARROW_REQUIRE_BARCODE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "pdftotext and pdfinfo are required here (apt-get install poppler-utils)"
        );
        eprintln!("pdftotext/pdfinfo not installed: {what} not checked");
    }
    present
}

/// Runs a poppler tool on the PDF (`args`, the file, then `tail`) and returns its standard
/// output.
fn run(tool: &str, args: &[&str], pdf: &[u8], tail: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write the PDF");
    let out = Command::new(tool).args(args).arg(&path).args(tail).output().expect(tool);
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 text")
}

/// The text of each page, as `pdftotext -layout` lays it out.
fn page_texts(pdf: &[u8]) -> Vec<String> {
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], pdf, &["-"]);
    // pdftotext ends every page with a form feed.
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    assert_eq!(pages.pop().as_deref(), Some(""), "text after the last form feed");
    pages
}

/// The page count the PDF declares, read from its bytes.
fn page_count(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/Type /Pages").expect("a page tree");
    let count = &text[at..];
    let count = &count[count.find("/Count ").expect("a page count") + 7..];
    count
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .expect("a number after /Count")
}

#[test]
fn every_page_carries_the_identifiers_the_version_the_signer_and_its_number() {
    let sample = SampleCase::new();
    for (version, latest) in [(1, 1), (1, 2), (2, 2)] {
        for paper in [PaperSize::A4, PaperSize::Letter] {
            let pdf = render(&sample.report(version, latest), paper);
            assert_eq!(pdf, render(&sample.report(version, latest), paper), "byte-stable");
            if !poppler("page headers and footers") {
                return;
            }
            let pages = page_texts(&pdf);
            assert_eq!(pages.len(), page_count(&pdf));
            assert!(pages.len() >= 2, "the report and the patient summary");
            let signed = if version == 1 { "2026-11-24 15:30 UTC" } else { "2026-11-24 16:30 UTC" };
            for (i, page) in pages.iter().enumerate() {
                let context = format!("version {version}/{latest} {paper:?} page {}", i + 1);
                for expected in [
                    "SAMPLE, Robin".to_owned(),
                    "MRN SYN-SAMPLE-1".to_owned(),
                    "Born 1958-06-15".to_owned(),
                    "Case 42".to_owned(),
                    format!("Version {version}"),
                    format!("Page {} of {}", i + 1, pages.len()),
                    format!("Signed by Dr Sample Pathologist on {signed}"),
                ] {
                    assert!(page.contains(&expected), "{context}: no {expected:?}\n{page}");
                }
            }
        }
    }
}

#[test]
fn every_result_is_printed_with_its_value_and_out_of_range_mark() {
    let sample = SampleCase::new();
    let report = sample.report(1, 1);
    let pdf = render(&report, PaperSize::A4);
    if !poppler("the results") {
        return;
    }
    let text = page_texts(&pdf).concat();
    for result in report.results() {
        let row = text
            .lines()
            .find(|l| {
                l.trim_start().starts_with(&result.label)
                    && l[l.find(&result.label).unwrap() + result.label.len()..]
                        .split_whitespace()
                        .any(|w| w == result.display || w == format!("{}:1", result.display))
            })
            .unwrap_or_else(|| panic!("no line with {} {}\n{text}", result.label, result.display));
        let mark = marrow_interop::report_text::range_mark(result.status);
        if result.unit == marrow_interop::signed::ResultUnit::Percent {
            let last = row.split_whitespace().last().unwrap();
            assert_eq!(last == "H" || last == "L", !mark.is_empty(), "{row}");
            if !mark.is_empty() {
                assert_eq!(last, mark, "{row}");
            }
        }
    }
}

#[test]
fn out_of_range_rows_are_bold_and_the_others_regular() {
    let sample = SampleCase::new();
    let pdf = render(&sample.report(1, 1), PaperSize::A4);
    let raw = String::from_utf8_lossy(&pdf);
    let font_of = |text: &str| {
        let op = raw
            .lines()
            .find(|l| l.ends_with(&format!("({text}) Tj ET")))
            .unwrap_or_else(|| panic!("no {text}"));
        op.split_whitespace().nth(1).unwrap().to_owned()
    };
    // Blasts 7.2 % against 0–2 %: above; promyelocytes 4.0 % within 2–6 %.
    assert_eq!(font_of("Blasts"), "/F2", "bold");
    assert_eq!(font_of("7.2"), "/F2");
    assert_eq!(font_of("Promyelocytes"), "/F1", "regular");
    assert_eq!(font_of("4.0"), "/F1");
}

#[test]
fn an_amended_or_superseded_version_says_so_on_every_page() {
    let sample = SampleCase::new();
    let amended = render(&sample.report(2, 2), PaperSize::A4);
    let superseded = render(&sample.report(1, 2), PaperSize::A4);
    let original = render(&sample.report(1, 1), PaperSize::A4);
    // In the bytes: the banner text is one string each.
    let raw = String::from_utf8_lossy(&amended);
    assert!(raw.contains("(AMENDED REPORT \\(version 2\\): Trephine result added.) Tj"));
    if !poppler("the amendment banner") {
        return;
    }
    let pages = page_texts(&amended);
    assert!(
        pages[0].contains("AMENDED REPORT (version 2): Trephine result added."),
        "{}",
        pages[0]
    );
    assert!(pages.iter().all(|p| p.contains("Version 2 · AMENDED")));
    assert!(pages.concat().contains("Reason") && !pages.concat().contains("SUPERSEDED"));
    let pages = page_texts(&superseded);
    assert!(pages[0].contains("SUPERSEDED: this is version 1; version 2 replaces it."));
    assert!(pages.iter().all(|p| p.contains("Version 1 · SUPERSEDED by version 2")));
    let text = page_texts(&original).concat();
    assert!(!text.contains("AMENDED") && !text.contains("SUPERSEDED"), "{text}");
}

/// The body of the summary page: from its title to the footer, without the page header.
fn summary_body(page: &str) -> String {
    page.lines()
        .skip_while(|l| !l.contains(SUMMARY_TITLE))
        .take_while(|l| !l.contains("Signed by"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_last_page_is_a_plain_language_summary_for_the_patient() {
    let sample = SampleCase::new();
    for (version, latest) in [(1, 1), (1, 2), (2, 2)] {
        let report = sample.report(version, latest);
        let pdf = render(&report, PaperSize::A4);
        if !poppler("the patient summary") {
            return;
        }
        let pages = page_texts(&pdf);
        let (last, others) = pages.split_last().unwrap();
        assert!(others.iter().all(|p| !p.contains(SUMMARY_TITLE)), "the summary comes last");
        let body = summary_body(last);
        assert!(body.contains("not simply positive or negative"), "{body}");
        assert!(body.contains("Dr Sample Clinician"), "who to ask: {body}");
        let grade = flesch_kincaid_grade(&body);
        assert!(grade <= 8.0, "version {version}: Flesch–Kincaid grade {grade:.1}\n{body}");
        // No findings and no flags on the patient's page: the doctor explains them.
        for flag in report.flags {
            assert!(!body.contains(&flag.text));
        }
        for field in report.content.fields() {
            if let Some(text) = field.text.filter(|t| t.len() > 20) {
                assert!(!body.contains(&text), "{} on the summary", field.heading);
            }
        }
        let changed = if version == 1 && latest == 1 { "first version" } else { "version" };
        assert!(body.contains(changed));
        if (version, latest) == (2, 2) {
            assert!(body.contains("The report was changed after it was first signed"), "{body}");
        }
    }
}

#[test]
fn a4_and_letter_pages_have_their_sizes() {
    let sample = SampleCase::new();
    let report = sample.report(1, 1);
    let a4 = render(&report, PaperSize::A4);
    let letter = render(&report, PaperSize::Letter);
    let count = |pdf: &[u8], needle: &str| String::from_utf8_lossy(pdf).matches(needle).count();
    assert_eq!(count(&a4, "/MediaBox [0 0 595.28 841.89]"), page_count(&a4));
    assert_eq!(count(&letter, "/MediaBox [0 0 612.00 792.00]"), page_count(&letter));
    assert_eq!(count(&a4, "/MediaBox"), page_count(&a4));
    if !poppler("the page sizes") {
        return;
    }
    let size = |pdf: &[u8]| {
        run("pdfinfo", &[], pdf, &[])
            .lines()
            .find(|l| l.starts_with("Page size:"))
            .map(str::to_owned)
            .expect("pdfinfo page size")
    };
    assert!(size(&a4).contains("595.28 x 841.89 pts (A4)"), "{}", size(&a4));
    assert!(size(&letter).contains("612 x 792 pts (letter)"), "{}", size(&letter));
}

#[test]
fn a_long_interpretation_flows_onto_more_pages_and_nothing_is_lost() {
    let sample = SampleCase::new();
    let sentences: Vec<String> = (1..=200)
        .map(|i| format!("Sentence {i} of a very long interpretation adds one more finding."))
        .collect();
    let content = ReportContent {
        interpretation: Some(format!("{} Sentinel: QUOKKA-END.", sentences.join(" "))),
        ..sample.content.clone()
    };
    let long = SignedReport { content: &content, ..sample.report(1, 1) };
    let pdf = render(&long, PaperSize::Letter);
    let short_pages = page_count(&render(&sample.report(1, 1), PaperSize::Letter));
    assert!(page_count(&pdf) >= short_pages + 2, "{} pages", page_count(&pdf));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("QUOKKA-END."), "the last word is drawn");
    if !poppler("the long interpretation") {
        return;
    }
    let pages = page_texts(&pdf);
    // The body text alone, page after page: without the header and footer lines a sentence
    // split by a page break reads on.
    let body: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.lines())
        .filter(|l| {
            !["Bone marrow aspirate report", "MRN SYN-SAMPLE-1", "Signed by Dr Sample"]
                .iter()
                .any(|header| l.contains(header))
        })
        .collect();
    // Every sentence survives (a wrap may split one across lines, so compare the words).
    let joined = body.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    for sentence in &sentences {
        assert!(joined.contains(sentence.as_str()), "lost: {sentence}");
    }
    assert!(joined.contains("Sentinel: QUOKKA-END."));
    // It ends before the sign-out and the summary, which come after it, in order.
    let end = joined.find("QUOKKA-END.").unwrap();
    assert!(joined[end..].contains("Sign-out") && joined[end..].contains(SUMMARY_TITLE));
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains("MRN SYN-SAMPLE-1"));
        assert!(page.contains(&format!("Page {} of {}", i + 1, pages.len())));
    }
}

#[test]
fn snapshot_of_version_one_as_text() {
    let sample = SampleCase::new();
    let pdf = render(&sample.report(1, 2), PaperSize::A4);
    if !poppler("the text snapshot") {
        return;
    }
    support::snapshot("report-pdf-v1.txt", &page_texts(&pdf).join("\n----- page break -----\n"));
}

/// The content-stream operators of a PDF with their operands, strings skipped: enough of the
/// syntax for the uncompressed streams our writer produces.
fn operators(pdf: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for stream in pdf.split("stream\n").skip(1) {
        let content = stream.split("endstream").next().unwrap_or("");
        let mut operands = Vec::new();
        let mut token = String::new();
        let mut chars = content.chars();
        let mut flush = |token: &mut String, operands: &mut Vec<String>| {
            if token.is_empty() {
                return;
            }
            let t = std::mem::take(token);
            if t.parse::<f64>().is_ok() || t.starts_with('/') {
                operands.push(t);
            } else {
                out.push((t, std::mem::take(operands)));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '(' => {
                    flush(&mut token, &mut operands);
                    let mut depth = 1;
                    while depth > 0 {
                        match chars.next() {
                            Some('\\') => {
                                chars.next();
                            }
                            Some('(') => depth += 1,
                            Some(')') => depth -= 1,
                            Some(_) => {}
                            None => break,
                        }
                    }
                    operands.push("(string)".to_owned());
                }
                c if c.is_whitespace() => flush(&mut token, &mut operands),
                c => token.push(c),
            }
        }
        flush(&mut token, &mut operands);
    }
    out
}

#[test]
fn the_pdf_uses_no_colour_only_black_and_greys() {
    let sample = SampleCase::new();
    for (version, latest) in [(1, 2), (2, 2)] {
        let pdf = render(&sample.report(version, latest), PaperSize::A4);
        let pdf = String::from_utf8(pdf).expect("a 7-bit PDF");
        assert!(!pdf.contains("/ColorSpace") && !pdf.contains("/Image"));
        let ops = operators(&pdf);
        assert!(ops.iter().any(|(op, _)| op == "Tj"), "the parser found the text");
        assert!(ops.iter().any(|(op, _)| op == "g"), "the parser found the grey fills");
        for (op, operands) in &ops {
            assert!(
                !["rg", "RG", "k", "K", "sc", "scn", "SC", "SCN", "cs", "CS", "sh", "Do"]
                    .contains(&op.as_str()),
                "colour operator {op} {operands:?}"
            );
            if op == "g" || op == "G" {
                let level: f64 = operands.last().expect("a grey level").parse().unwrap();
                assert!((0.0..=1.0).contains(&level) && operands.len() == 1, "{op} {operands:?}");
            }
        }
    }
}
