//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`) and for their regression tests.
//!
//! Each takes arbitrary bytes as a request body arrives and runs them through the same code a
//! real request goes through: axum's extractor, our JSON or form reader, and the conversion
//! into the domain value the handler would store. Nothing here touches the database.
//!
//! What must hold for every input, checked here so a fuzzer reports it as a crash:
//! - nothing panics;
//! - a refusal is a 422 (`AppError::Input`) whose field and message are not blank, so the user
//!   is always told which field to fix.
//!
//! The first byte of the input picks the body or form; the rest is the body.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use marrow_domain::FieldError;
use marrow_domain::order::Sampling;
use marrow_domain::patient_text::Language;
use marrow_domain::time::{Date, Timestamp};

use crate::api::JsonBody;
use crate::api::dto::{
    AmendBody, AspirateBody, DifferentialBody, DraftBody, NewPatientBody, OrderBody, ProcedureBody,
    ReportFieldsBody, SafetyBody, SignBody,
};
use crate::api::{NewBloodCountBody, NewMilestoneBody, StartBody};
use crate::counting::EventsBody;
use crate::error::AppError;
use crate::forms::FormValues;
use crate::imaging::DecisionBody;
use crate::pages::readers;

/// The fixed "now" the fuzzed bodies are judged against (times relative to it are checked).
fn now() -> Timestamp {
    // 2026-11-24T12:00:00Z
    Timestamp::from_unix(1_795_521_600)
}

/// Checks that a refusal names its field in words.
fn named(error: &FieldError) {
    assert!(!error.field.trim().is_empty(), "a refusal names no field: {error:?}");
    assert!(!error.message.trim().is_empty(), "a refusal says nothing: {error:?}");
}

/// Checks a domain refusal and passes it on.
fn checked<T>(result: Result<T, FieldError>) -> Result<T, FieldError> {
    result.inspect_err(named)
}

/// Reads one input every way it can be read (each sampling, each language), all of them, so
/// every reading is checked; the first refusal is the answer.
fn all_read<T>(readings: impl Iterator<Item = Result<T, FieldError>>) -> Result<(), FieldError> {
    let refusals: Vec<FieldError> = readings.filter_map(Result::err).collect();
    refusals.into_iter().next().map_or(Ok(()), Err)
}

/// Runs an extractor's future to the end. A body held in memory never waits, so a future that
/// is still pending after one poll is a bug, reported as one.
fn complete<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("an in-memory body made the extractor wait"),
    }
}

fn request(content_type: &str, body: &[u8]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/fuzz")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("a fixed request is valid")
}

/// Reads `body` as the API's JSON extractor does; a refusal must be a named 422.
fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let extracted = complete(JsonBody::<T>::from_request(request("application/json", body), &()));
    let Ok(parsed) = extracted else {
        panic!("the JSON extractor itself refused a body; it must defer to the handler");
    };
    match parsed.parse() {
        Ok(value) => Ok(value),
        Err(AppError::Input(e)) => checked(Err(e)),
        Err(other) => panic!("a bad JSON body gave {other:?}, not a 422"),
    }
}

/// The number of API bodies [`api_body`] chooses from.
pub const API_BODIES: u8 = 14;

/// One API request body: the first byte picks the endpoint's body, the rest is the JSON.
/// `Ok` when the handler would go on to store it; the refusal otherwise.
pub fn api_body(data: &[u8]) -> Result<(), FieldError> {
    let Some((&which, body)) = data.split_first() else { return Ok(()) };
    let now = now();
    let today = Date::of(now);
    match which % API_BODIES {
        0 => checked(json::<NewPatientBody>(body)?.patient(today)).map(drop),
        1 => checked(json::<OrderBody>(body)?.order()).map(drop),
        2 => checked(json::<SafetyBody>(body)?.facts(now)).map(drop),
        3 => {
            let b = json::<ProcedureBody>(body)?;
            // The note's rules depend on what was ordered: try each.
            all_read(Sampling::ALL.iter().map(|s| checked(b.note(*s, now))))
        }
        4 => checked(json::<DifferentialBody>(body)?.differential()).map(drop),
        5 => checked(json::<AspirateBody>(body)?.aspirate()).map(drop),
        6 => checked(json::<DraftBody>(body)?.content()).map(drop),
        7 => checked(json::<AmendBody>(body)?.amended_content()).map(drop),
        8 => json::<SignBody>(body).map(drop),
        9 => checked(json::<StartBody>(body)?.target()).map(drop),
        10 => checked(crate::counting::parse_events(&json::<EventsBody>(body)?)).map(drop),
        11 => {
            let b = json::<DecisionBody>(body)?;
            checked(marrow_domain::counter::ImageDecision::parse(&b.decision)).map(drop)
        }
        12 => {
            let b = json::<NewBloodCountBody>(body)?;
            let numbers = b.numbers();
            checked(b.count(&numbers, now)).map(drop)
        }
        _ => checked(json::<NewMilestoneBody>(body)?.milestone(today)).map(drop),
    }
}

/// The number of page forms [`form_body`] chooses from.
pub const FORMS: u8 = 17;

/// One submitted page form: the first byte picks the form, the rest is the
/// `application/x-www-form-urlencoded` body. `Ok` when the page would go on to store it.
pub fn form_body(data: &[u8]) -> Result<(), FieldError> {
    let Some((&which, body)) = data.split_first() else { return Ok(()) };
    let extracted = complete(axum::Form::<Vec<(String, String)>>::from_request(
        request("application/x-www-form-urlencoded", body),
        &(),
    ));
    // axum refuses a body that is not a list of pairs; `StaffForm` answers that with a 422
    // naming the form, as here.
    let axum::Form(pairs) =
        extracted.map_err(|e| FieldError::new("form", e.body_text())).inspect_err(named)?;
    let form = FormValues(pairs);
    // Every accessor the pages use, on every key the body carries.
    for (key, _) in &form.0 {
        let _ = (form.get(key), form.all(key), form.checked(key), form.contains(key));
    }
    crate::auth::token_matches(form.get("csrf"), "expected-token");
    let now = now();
    let today = Date::of(now);
    match which % FORMS {
        0 => checked(readers::read_patient(&form, today)).map(drop),
        1 => checked(readers::read_order(&form)).map(drop),
        2 => checked(readers::read_safety(&form, now)).map(drop),
        3 => {
            all_read(Sampling::ALL.iter().map(|s| checked(readers::read_procedure(&form, *s, now))))
        }
        4 => checked(readers::read_differential(&form)).map(drop),
        5 => checked(readers::read_aspirate(&form)).map(drop),
        6 => checked(readers::read_report(&form)).map(drop),
        7 => checked(readers::read_amendment(&form)).map(drop),
        8 => checked(readers::read_blood_count(&form, now)).map(drop),
        9 => checked(readers::read_milestone(&form, today)).map(drop),
        10 => checked(readers::read_new_user(&form)).map(drop),
        11 => checked(readers::read_safety_settings(&form)).map(drop),
        12 => checked(readers::read_counting_rules(&form)).map(drop),
        13 => checked(readers::read_target(&form)).map(drop),
        14 => checked(readers::read_keymap(&form)).map(drop),
        15 => checked(readers::read_specimen(&form)).map(drop),
        _ => {
            let input = readers::check_in_input(&form);
            let answers = Language::ALL.iter();
            all_read(
                answers.map(|l| checked(marrow_domain::followup::CheckIn::parse_in(&input, *l))),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(which: u8, body: &str) -> Result<(), FieldError> {
        api_body(&[&[which][..], body.as_bytes()].concat())
    }

    fn form(which: u8, body: &str) -> Result<(), FieldError> {
        form_body(&[&[which][..], body.as_bytes()].concat())
    }

    /// A valid body reaches the domain and is accepted, so the fuzzer's seeds (and its
    /// mutations of them) exercise the domain's rules, not only the JSON reader.
    #[test]
    fn a_valid_body_is_accepted_and_a_bad_one_names_its_field() {
        let patient = r#"{"mrn":"F-1","family_name":"Fuzz","given_name":"Ann","date_of_birth":"1970-02-03","sex":"female"}"#;
        assert_eq!(api(0, patient), Ok(()));
        let bad = patient.replace("1970-02-03", "1970-02-30");
        assert_eq!(api(0, &bad).map_err(|e| e.field), Err("date_of_birth".to_owned()));
        assert_eq!(api(0, "[").map_err(|e| e.field), Err("body".to_owned()));
        assert_eq!(
            api(4, r#"{"counts":{"blasts":"x"}}"#).map_err(|e| e.field),
            Err("counts.blasts".to_owned())
        );
        assert_eq!(api(API_BODIES, patient), Ok(()), "the selector wraps around");
        // Members with blank names are blamed on what holds them (found by fuzzing).
        assert_eq!(api(0, r#"{"":1}"#).map_err(|e| e.field), Err("body".to_owned()));
        assert_eq!(api(11, r#"{" ":1}"#).map_err(|e| e.field), Err("body".to_owned()));
        let nested = r#"{"medications":[{" ":1}],"platelets":100,"inr":1.0,"bloods_taken_at":"2026-11-24T07:00:00Z"}"#;
        let field = api(2, nested).map_err(|e| e.field);
        assert!(
            field.as_ref().is_err_and(|f| f.starts_with("medications") || f == "body"),
            "{field:?}"
        );
    }

    #[test]
    fn a_valid_form_is_accepted_and_a_bad_one_names_its_field() {
        let patient = "mrn=F-1&family_name=Fuzz&given_name=Ann&date_of_birth=1970-02-03&sex=female";
        assert_eq!(form(0, patient), Ok(()));
        assert_eq!(form(0, "mrn=F-1").map_err(|e| e.field), Err("family_name".to_owned()));
        assert_eq!(form(15, "specimen=S000012"), Ok(()));
        assert_eq!(form(15, "specimen=12x").map_err(|e| e.field), Err("specimen".to_owned()));
        assert_eq!(form(13, "target=7").map_err(|e| e.field), Err("target".to_owned()));
    }

    #[test]
    fn every_selector_survives_junk() {
        for which in 0..API_BODIES {
            for junk in ["", "{}", "{\"x\":1}", "[1,2", "null", "\u{0}"] {
                if let Err(e) = api(which, junk) {
                    assert!(!e.field.is_empty());
                }
            }
        }
        for which in 0..FORMS {
            for junk in ["", "a=1&b=%ZZ&&=&c", "%", "=&=&="] {
                if let Err(e) = form(which, junk) {
                    assert!(!e.field.is_empty());
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "names no field")]
    fn a_refusal_without_a_field_is_a_failure() {
        named(&FieldError::new(" ", "is wrong"));
    }
}
