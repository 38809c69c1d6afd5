//! What a [`FieldError`] of [`BloodCount::parse`](marrow_domain::blood_count::BloodCount::parse)
//! points at, so each importer can name the place in its own file (an OBX field, a CSV cell)
//! instead of the domain's field name.
//!
//! The domain names a field after the analyte (`platelets`) for its value, `<code>_unit` for its
//! unit, `taken_at` for the time and `results` for the count as a whole. Knowing those names
//! lives here only.

use marrow_domain::FieldError;
use marrow_domain::blood_count::Analyte;

/// The part of an imported count a domain error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The value of one analyte.
    Value(Analyte),
    /// The unit of one analyte.
    Unit(Analyte),
    /// When the blood was taken.
    TakenAt,
    /// The count as a whole (no value at all), or a field this mapping does not know.
    Count,
}

impl Target {
    /// Reads the domain's field name.
    pub(crate) fn of(error: &FieldError) -> Self {
        let field = error.field.as_str();
        if field == "taken_at" {
            return Self::TakenAt;
        }
        if let Some(code) = field.strip_suffix("_unit") {
            return Analyte::parse(code).map_or(Self::Count, Self::Unit);
        }
        Analyte::parse(field).map_or(Self::Count, Self::Value)
    }

    /// The domain's message as a sentence that says what it is about: the domain writes
    /// "is empty; give a number" under a form field's label, which an import error has not.
    pub(crate) fn sentence(self, message: &str) -> String {
        if !message.starts_with("is ") {
            return message.to_owned();
        }
        match self {
            Self::Value(a) | Self::Unit(a) => format!("{} {message}", a.label()),
            Self::TakenAt => format!("the time the blood was taken {message}"),
            Self::Count => format!("the count {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_field_name_is_understood() {
        for &a in Analyte::ALL {
            assert_eq!(Target::of(&FieldError::new(a.code(), "x")), Target::Value(a));
            let unit = format!("{}_unit", a.code());
            assert_eq!(Target::of(&FieldError::new(unit, "x")), Target::Unit(a));
        }
        assert_eq!(Target::of(&FieldError::new("taken_at", "x")), Target::TakenAt);
        assert_eq!(Target::of(&FieldError::new("results", "x")), Target::Count);
        assert_eq!(Target::of(&FieldError::new("nonsense_unit", "x")), Target::Count);
    }

    #[test]
    fn a_bare_predicate_gets_its_subject() {
        let hb = Target::Value(Analyte::Haemoglobin);
        assert_eq!(hb.sentence("is empty; give a number"), "Haemoglobin is empty; give a number");
        assert_eq!(hb.sentence("\"x\" is not a number"), "\"x\" is not a number");
        assert_eq!(
            Target::TakenAt.sentence("is in the future"),
            "the time the blood was taken is in the future"
        );
    }
}
