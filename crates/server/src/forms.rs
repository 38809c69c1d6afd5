//! Form bodies as ordered key/value pairs, so repeated fields (checkboxes, table rows) and
//! missing fields are handled by our own parsing, which names the field in every error.

/// A submitted (or to-be-redisplayed) form.
#[derive(Debug, Clone, Default)]
pub struct FormValues(pub Vec<(String, String)>);

impl FormValues {
    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
    }

    /// Whether the form carried `key` at all (even blank).
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether `key` has exactly the value `value` (for `selected`).
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key) == value
    }

    /// Whether any value of `key` is `value` (for checkboxes).
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && v == value)
    }

    /// A checkbox: present and "on"/"true"/"yes".
    pub fn checked(&self, key: &str) -> bool {
        matches!(self.get(key), "on" | "true" | "yes" | "1")
    }

    /// Sets `key` to a single value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into()));
    }

    /// Appends a value of `key`.
    pub fn push(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_owned(), value.into()));
    }
}
