//! HL7 v2 escape sequences (HL7 v2.5.1 Ch. 2, "Use of escape sequences in text fields").
//!
//! A value is escaped once, as a whole leaf (a subcomponent, or a component or field that has
//! none), after the structure around it has been built; a parser splits first and unescapes
//! each leaf afterwards. Doing it in the other order would turn an escaped `^` inside a comment
//! back into a component separator.

use super::Hl7Error;

/// The delimiters a message declares in MSH-1 and MSH-2 (HL7 v2.5.1 Ch. 2, message delimiters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Delimiters {
    /// The recommended set, `|^~\&`, which every message Marrow writes uses.
    pub(crate) const STANDARD: Self =
        Self { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };
}

/// Escapes a value for any HL7 v2 data type: the five delimiter characters become `\F\`, `\S\`,
/// `\T\`, `\R\` and `\E\`, and control characters, line breaks included, become
/// hexadecimal escapes such as `\X0D\` (Ch. 2, escape sequences for hexadecimal data).
///
/// A raw carriage return would end the segment and a raw 0x0B or 0x1C would break MLLP framing,
/// so no control character is ever written as itself. Use [`escape_text`] for formatted text
/// (FT), where a line break has its own sequence.
pub fn escape(value: &str) -> String {
    escape_inner(value, false)
}

/// Escapes formatted text (FT, e.g. NTE-3 and FT observation values): as [`escape`], but each
/// line break (CR LF, CR or LF) becomes the formatting command `\.br\` (HL7 v2.5.1 Ch. 2
/// formatted text), which receiving systems display as a new line. [`unescape`] turns `\.br\` back
/// into `\n`, so text written with CR LF comes back with LF.
pub fn escape_text(text: &str) -> String {
    escape_inner(text, true)
}

fn escape_inner(value: &str, formatted: bool) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '\r' | '\n' if formatted => {
                // CR LF is one line break, not two.
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\.br\\");
            }
            c if c.is_ascii_control() => {
                out.push_str(&format!("\\X{:02X}\\", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`] and [`escape_text`] for a message using the standard delimiters
/// `|^~\&`: delimiter escapes give the character back, `\.br\` gives `\n`, `\Xhh..\` gives the
/// bytes it spells (read as UTF-8), and the highlighting commands `\H\` and `\N\` are dropped.
/// Sequences plain text cannot express (other formatting commands, `\Cxxyy\`, `\Mxxyyzz\`,
/// `\Zxx\`) and a backslash without a closing one are kept as they are.
pub fn unescape(value: &str) -> String {
    // Lenient: never fails, so this cannot be the parser's path (it names the field instead).
    unescape_core(value, &Delimiters::STANDARD, false).unwrap_or_else(|_| value.to_owned())
}

/// An escape character without the one that closes the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unterminated;

/// Unescapes one leaf of a message that declared `delimiters`; an unterminated sequence is an
/// error so the parser can name the field.
pub(crate) fn unescape_with(value: &str, delimiters: &Delimiters) -> Result<String, Unterminated> {
    unescape_core(value, delimiters, true)
}

fn unescape_core(
    value: &str,
    delimiters: &Delimiters,
    strict: bool,
) -> Result<String, Unterminated> {
    let esc = delimiters.escape;
    if !value.contains(esc) {
        return Ok(value.to_owned());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + esc.len_utf8()..];
        let Some(end) = after.find(esc) else {
            if strict {
                return Err(Unterminated);
            }
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let seq = &after[..end];
        match seq {
            "F" => out.push(delimiters.field),
            "S" => out.push(delimiters.component),
            "T" => out.push(delimiters.subcomponent),
            "R" => out.push(delimiters.repetition),
            "E" => out.push(esc),
            ".br" => out.push('\n'),
            // Highlighting on and off (Ch. 2, highlighting): plain text has no highlighting.
            "H" | "N" => {}
            _ => match hex_bytes(seq) {
                Some(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
                None => {
                    out.push(esc);
                    out.push_str(seq);
                    out.push(esc);
                }
            },
        }
        rest = &after[end + esc.len_utf8()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The bytes of a `Xhhhh…` sequence: an even, non-zero number of hexadecimal digits.
fn hex_bytes(seq: &str) -> Option<Vec<u8>> {
    let digits = seq.strip_prefix('X')?;
    if digits.is_empty() || digits.len() % 2 != 0 {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Unterminated {
    /// The parser's error for this leaf.
    pub(crate) fn at(self, segment: &str, index: usize, field: usize) -> Hl7Error {
        Hl7Error::UnterminatedEscape { segment: segment.to_owned(), index, field }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delimiter_is_escaped_and_comes_back() {
        let value = r"a|b^c&d~e\f";
        assert_eq!(escape(value), r"a\F\b\S\c\T\d\R\e\E\f");
        assert_eq!(unescape(&escape(value)), value);
    }

    #[test]
    fn line_breaks_are_formatting_commands_in_text_and_hex_elsewhere() {
        assert_eq!(escape_text("one\r\ntwo\nthree\rfour"), r"one\.br\two\.br\three\.br\four");
        assert_eq!(unescape(r"one\.br\two"), "one\ntwo");
        assert_eq!(escape("a\rb\nc\x0bd\x1c"), r"a\X0D\b\X0A\c\X0B\d\X1C\");
        assert_eq!(unescape(&escape("a\rb\nc\x0bd\x1c")), "a\rb\nc\x0bd\x1c");
    }

    #[test]
    fn escaped_text_holds_no_character_that_would_break_the_message() {
        let nasty = "x|^~\\&\r\n\x0b\x1c\x7fé";
        for escaped in [escape(nasty), escape_text(nasty)] {
            assert!(!escaped.contains(['|', '^', '~', '&', '\r', '\n', '\x0b', '\x1c']));
            assert!(escaped.contains('é'), "non-ASCII text is kept (MSH-18 says UTF-8)");
        }
    }

    #[test]
    fn unknown_and_unterminated_sequences_are_kept_literally() {
        assert_eq!(unescape(r"\H\bold\N\ \.sp\ \Zlocal\"), r"bold \.sp\ \Zlocal\");
        assert_eq!(unescape(r"\X\ \X0\"), r"\X\ \X0\");
        assert_eq!(unescape(r"a\F\b \ c"), r"a|b \ c");
        assert_eq!(unescape_with(r"a\F", &Delimiters::STANDARD), Err(Unterminated));
        assert_eq!(unescape(r"\XC3A9\"), "é");
    }
}
