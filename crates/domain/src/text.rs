use crate::FieldError;

/// Trims `raw` and requires it to be non-empty and at most `max` characters.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    check_length(field, value, max)?;
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(value.to_owned())
}

/// Like [`required_text`], but an empty value is `None`.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    if raw.trim().is_empty() { Ok(None) } else { required_text(field, raw, max).map(Some) }
}

fn check_length(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len > max {
        return Err(FieldError::new(
            field,
            format!("is {len} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_required_text_is_refused_with_its_field() {
        let err = required_text("operator", "   ", 10).unwrap_err();
        assert_eq!(err.field, "operator");
    }

    #[test]
    fn text_is_trimmed_and_length_checked() {
        assert_eq!(required_text("x", "  ab ", 2).unwrap(), "ab");
        assert!(required_text("x", "abc", 2).is_err());
        assert_eq!(optional_text("x", " ", 2).unwrap(), None);
    }
}
