//! The patient: identifiers that are redacted by construction.
//!
//! `Mrn` and `PatientName` have a `Debug` that prints nothing identifying and no `Display`, so a
//! stray `tracing::info!(?patient)` cannot leak them. Showing one takes `.reveal()`, which is one
//! search away.

use crate::patient_text::Language;
use crate::time::Date;
use crate::{FieldError, required_text};

/// A medical record number. In demos and tests these are synthetic (`SYN-…`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mrn(String);

/// One part of a patient's name (family or given).
#[derive(Clone, PartialEq, Eq)]
pub struct PatientName(String);

impl std::fmt::Debug for Mrn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mrn(..)")
    }
}

impl std::fmt::Debug for PatientName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientName(..)")
    }
}

impl Mrn {
    /// 3–20 letters, digits or hyphens; stored upper-case so `syn-001` and `SYN-001` are one
    /// patient.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new("mrn", "is required"));
        }
        if !(3..=20).contains(&value.len())
            || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(FieldError::new("mrn", "must be 3 to 20 letters, digits or hyphens"));
        }
        Ok(Self(value))
    }

    /// The MRN itself, for display to authorised staff only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl PatientName {
    /// A name part of 1–100 characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        required_text(field, raw, 100).map(Self)
    }

    /// The name itself, for display to authorised staff only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

code_enum! {
    /// Administrative sex, as FHIR R4 `AdministrativeGender` spells it.
    pub enum Sex : "sex" {
        Female => ("female", "Female"),
        Male => ("male", "Male"),
        Other => ("other", "Other"),
        Unknown => ("unknown", "Unknown"),
    }
}

/// A patient as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Medical record number, unique within the site.
    pub mrn: Mrn,
    /// Family name (surname).
    pub family_name: PatientName,
    /// Given name(s).
    pub given_name: PatientName,
    /// Date of birth.
    pub date_of_birth: Date,
    /// Administrative sex.
    pub sex: Sex,
    /// The language of the patient's own pages and discharge sheet.
    pub language: Language,
}

/// The raw text of a patient registration, as a form or the API sends it.
#[derive(Debug, Clone, Default)]
pub struct PatientInput<'a> {
    /// `mrn`
    pub mrn: &'a str,
    /// `family_name`
    pub family_name: &'a str,
    /// `given_name`
    pub given_name: &'a str,
    /// `date_of_birth`, `YYYY-MM-DD`
    pub date_of_birth: &'a str,
    /// `sex`, a [`Sex`] code
    pub sex: &'a str,
    /// `language`, a [`Language`] code; blank is English
    pub language: &'a str,
}

impl Patient {
    /// Parses a registration; a birth date after `today` or more than 130 years ago is refused.
    pub fn parse(input: &PatientInput<'_>, today: Date) -> Result<Self, FieldError> {
        let mrn = Mrn::parse(input.mrn)?;
        let family_name = PatientName::parse("family_name", input.family_name)?;
        let given_name = PatientName::parse("given_name", input.given_name)?;
        let date_of_birth = Date::parse("date_of_birth", input.date_of_birth)?;
        if date_of_birth > today {
            return Err(FieldError::new("date_of_birth", "is in the future"));
        }
        if date_of_birth.years_until(today) > 130 {
            return Err(FieldError::new(
                "date_of_birth",
                "is more than 130 years ago; check the year",
            ));
        }
        let sex = Sex::parse(input.sex)?;
        let language = Language::parse_or_default(input.language)?;
        Ok(Self { mrn, family_name, given_name, date_of_birth, sex, language })
    }

    /// "FAMILY, Given" as clinical lists show it. Reveals the name: authorised display only.
    pub fn display_name(&self) -> String {
        format!("{}, {}", self.family_name.reveal().to_uppercase(), self.given_name.reveal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::parse("today", "2026-11-24").unwrap()
    }

    fn input() -> PatientInput<'static> {
        PatientInput {
            mrn: "syn-0001",
            family_name: "Testpatient",
            given_name: "Alex",
            date_of_birth: "1970-05-01",
            sex: "female",
            language: "",
        }
    }

    #[test]
    fn a_valid_registration_parses_and_normalises_the_mrn() {
        let p = Patient::parse(&input(), today()).unwrap();
        assert_eq!(p.mrn.reveal(), "SYN-0001");
        assert_eq!(p.display_name(), "TESTPATIENT, Alex");
        assert_eq!(p.language, Language::English, "a blank language is English");
        let p = Patient::parse(&PatientInput { language: "es", ..input() }, today()).unwrap();
        assert_eq!(p.language, Language::Spanish);
    }

    #[test]
    fn identifiers_never_appear_in_debug_output() {
        let p = Patient::parse(&input(), today()).unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("SYN-0001") && !debug.contains("Alex"), "{debug}");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (PatientInput { mrn: "a!", ..input() }, "mrn"),
            (PatientInput { family_name: " ", ..input() }, "family_name"),
            (PatientInput { date_of_birth: "2030-01-01", ..input() }, "date_of_birth"),
            (PatientInput { date_of_birth: "01/02/1970", ..input() }, "date_of_birth"),
            (PatientInput { sex: "x", ..input() }, "sex"),
            (PatientInput { language: "fr", ..input() }, "language"),
        ];
        for (bad, field) in cases {
            assert_eq!(Patient::parse(&bad, today()).unwrap_err().field, field);
        }
    }
}
