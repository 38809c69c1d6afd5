//! The one error type of the domain: a value a person typed was not acceptable.

/// A rejected input value. `field` is the name of the form field or JSON member the person
/// filled in, so the message can be shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name as the form and the API spell it (e.g. `platelets`).
    pub field: String,
    /// A plain sentence saying what is wrong and, where possible, what is expected.
    pub message: String,
}

impl FieldError {
    /// A rejection of `field` with a plain-language `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error reported under a more specific field name, e.g. `medications[2].dose`.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}
