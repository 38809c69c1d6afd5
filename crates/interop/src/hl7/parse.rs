//! A small reader for HL7 v2 messages (ER7, the pipe-delimited encoding): segments, fields,
//! repetitions, components and subcomponents, each leaf unescaped.
//!
//! It checks the encoding, not the meaning: which segments a message type needs is hl7apy's
//! job in the tests and the receiving system's in production. Positions are numbered as HL7
//! numbers them, from 1, so `segment.component(3, 2)` is OBX-3.2.

use super::Hl7Error;
use super::escape::{Delimiters, escape, unescape_with};

/// A parsed message: its segments in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    segments: Vec<Segment>,
}

/// One segment: its three-character ID and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    id: String,
    /// `fields[0]` is field 1 (for MSH, MSH-1: the field separator itself).
    fields: Vec<Field>,
}

/// One field: one or more repetitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    repetitions: Vec<Repetition>,
}

/// One occurrence of a field: its components, each a list of unescaped subcomponents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repetition {
    components: Vec<Vec<String>>,
}

impl Message {
    /// Every segment with this ID, in message order.
    pub fn segments<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.id == id)
    }

    /// The first segment with this ID.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// All segments in message order.
    pub fn all(&self) -> &[Segment] {
        &self.segments
    }
}

impl Segment {
    /// The segment ID (`MSH`, `OBX`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The number of fields present (trailing empty fields are usually left off by senders).
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Field `n` with its repetitions, if the segment has that many fields.
    pub fn get(&self, n: usize) -> Option<&Field> {
        n.checked_sub(1).and_then(|i| self.fields.get(i))
    }

    /// The value of a simple field: field `n`, first repetition, first component, first
    /// subcomponent; `""` when absent. For a composite field this is its first component only.
    pub fn field(&self, n: usize) -> &str {
        self.subcomponent(n, 1, 1)
    }

    /// Component `m` of the first repetition of field `n`, first subcomponent; `""` when absent.
    pub fn component(&self, n: usize, m: usize) -> &str {
        self.subcomponent(n, m, 1)
    }

    /// Subcomponent `s` of component `m` of the first repetition of field `n`; `""` when absent.
    pub fn subcomponent(&self, n: usize, m: usize, s: usize) -> &str {
        self.get(n).and_then(Field::first).map_or("", |r| r.subcomponent(m, s))
    }
}

impl Field {
    /// Every repetition (at least one, possibly empty).
    pub fn repetitions(&self) -> &[Repetition] {
        &self.repetitions
    }

    /// The first repetition.
    pub fn first(&self) -> Option<&Repetition> {
        self.repetitions.first()
    }

    /// Whether the field holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.repetitions.iter().all(Repetition::is_empty)
    }
}

impl Repetition {
    /// Component `m`'s first subcomponent; `""` when absent.
    pub fn component(&self, m: usize) -> &str {
        self.subcomponent(m, 1)
    }

    /// Subcomponent `s` of component `m`; `""` when absent.
    pub fn subcomponent(&self, m: usize, s: usize) -> &str {
        m.checked_sub(1)
            .and_then(|i| self.components.get(i))
            .and_then(|c| s.checked_sub(1).and_then(|j| c.get(j)))
            .map_or("", String::as_str)
    }

    /// The number of components present.
    pub fn component_count(&self) -> usize {
        self.components.len()
    }

    /// Whether every component is empty.
    pub fn is_empty(&self) -> bool {
        self.components.iter().flatten().all(String::is_empty)
    }

    /// Back to ER7 with the standard delimiters, each leaf escaped again.
    pub(crate) fn encode(&self) -> String {
        let components: Vec<String> = self
            .components
            .iter()
            .map(|subs| subs.iter().map(|s| escape(s)).collect::<Vec<_>>().join("&"))
            .collect();
        components.join("^")
    }
}

/// Parses an ER7 message. Segments end with a carriage return (HL7 v2.5.1 Ch. 2, message construction rules); a
/// line feed, alone or after the carriage return, is also accepted, so a message saved to a
/// file with LF line ends still reads. The delimiters are the ones MSH-1 and MSH-2 declare.
///
/// A literal `""` (HL7's "delete this value") is kept as the two characters; blank lines are
/// skipped. Errors name the segment and field, never a value, because values are patient data.
pub fn parse(msg: &str) -> Result<Message, Hl7Error> {
    let mut lines = msg.split(['\r', '\n']).filter(|l| !l.is_empty());
    let first = lines.next().ok_or(Hl7Error::Empty)?;
    let delimiters = header_delimiters(first)?;
    let mut segments = Vec::new();
    for (i, line) in std::iter::once(first).chain(lines).enumerate() {
        segments.push(parse_segment(line, i + 1, &delimiters)?);
    }
    Ok(Message { segments })
}

/// MSH-1 is the character after `MSH`; MSH-2 the four characters after it (HL7 v2.5.1 Ch. 2,
/// MSH).
fn header_delimiters(first: &str) -> Result<Delimiters, Hl7Error> {
    let Some(rest) = first.strip_prefix("MSH") else {
        return Err(Hl7Error::NotMsh);
    };
    let mut chars = rest.chars();
    let field = chars.next().ok_or(Hl7Error::BadEncodingCharacters)?;
    let encoding: Vec<char> = chars.take_while(|&c| c != field).collect();
    // 2.5.1 defines four; v2.7 added a fifth (truncation), which this reader ignores.
    let [component, repetition, escape, subcomponent, ..] = encoding[..] else {
        return Err(Hl7Error::BadEncodingCharacters);
    };
    let all = [field, component, repetition, escape, subcomponent];
    let distinct = all.iter().enumerate().all(|(i, c)| !all[..i].contains(c));
    if encoding.len() > 5 || !distinct || all.iter().any(|c| c.is_alphanumeric() || c.is_control())
    {
        return Err(Hl7Error::BadEncodingCharacters);
    }
    Ok(Delimiters { field, component, repetition, escape, subcomponent })
}

fn parse_segment(line: &str, index: usize, d: &Delimiters) -> Result<Segment, Hl7Error> {
    let (id, rest) = line.split_once(d.field).unwrap_or((line, ""));
    if id.len() != 3 || !id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(Hl7Error::BadSegmentId { index });
    }
    let mut raw_fields: Vec<&str> =
        if line.len() > 3 { rest.split(d.field).collect() } else { vec![] };
    let mut fields = Vec::with_capacity(raw_fields.len() + 1);
    let mut number = 1;
    if id == "MSH" {
        // MSH-1 is the separator and MSH-2 the encoding characters: taken as they stand,
        // never split or unescaped.
        let literal =
            |s: String| Field { repetitions: vec![Repetition { components: vec![vec![s]] }] };
        fields.push(literal(d.field.to_string()));
        let encoding = if raw_fields.is_empty() { "" } else { raw_fields.remove(0) };
        fields.push(literal(encoding.to_owned()));
        number = 3;
    }
    for raw in raw_fields {
        let field = parse_field(raw, d).map_err(|e| e.at(id, index, number))?;
        fields.push(field);
        number += 1;
    }
    Ok(Segment { id: id.to_owned(), fields })
}

fn parse_field(raw: &str, d: &Delimiters) -> Result<Field, super::escape::Unterminated> {
    let repetitions = raw
        .split(d.repetition)
        .map(|rep| {
            let components = rep
                .split(d.component)
                .map(|comp| comp.split(d.subcomponent).map(|s| unescape_with(s, d)).collect())
                .collect::<Result<_, _>>()?;
            Ok(Repetition { components })
        })
        .collect::<Result<_, _>>()?;
    Ok(Field { repetitions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_components_repetitions_and_subcomponents_are_addressed_from_one() {
        let msg = "MSH|^~\\&|APP|FAC\rPID|1||A1^^^H&1.2&ISO^MR~B2^^^H^XX||Doe\\T\\Co^Jo\r";
        let m = parse(msg).unwrap();
        let msh = m.segment("MSH").unwrap();
        assert_eq!(
            (msh.field(1), msh.field(2), msh.field(3), msh.field(4)),
            ("|", "^~\\&", "APP", "FAC")
        );
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(1), "1");
        assert_eq!(pid.component(3, 5), "MR");
        assert_eq!(pid.subcomponent(3, 4, 2), "1.2");
        let ids = pid.get(3).unwrap().repetitions();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].component(1), "B2");
        assert_eq!(pid.component(5, 1), "Doe&Co", "escaped delimiters are values, not structure");
        assert_eq!(pid.field(40), "");
        assert_eq!(pid.component(0, 0), "");
        assert!(pid.get(2).unwrap().is_empty());
    }

    #[test]
    fn line_feeds_are_accepted_as_segment_ends() {
        let m = parse("MSH|^~\\&|A\r\nMSA|AA|1\n\n").unwrap();
        assert_eq!(m.all().len(), 2);
        assert_eq!(m.segment("MSA").unwrap().field(2), "1");
    }

    #[test]
    fn declared_delimiters_are_honoured() {
        let m = parse("MSH#*@!%#A*B\rNTE#1##x!F!y*z%w").unwrap();
        let nte = m.segment("NTE").unwrap();
        assert_eq!(nte.component(3, 1), "x#y");
        assert_eq!(nte.subcomponent(3, 2, 2), "w");
    }

    #[test]
    fn malformed_messages_are_refused_with_the_place_named() {
        assert_eq!(parse(""), Err(Hl7Error::Empty));
        assert_eq!(parse("PID|1"), Err(Hl7Error::NotMsh));
        assert_eq!(parse("MSH|^~"), Err(Hl7Error::BadEncodingCharacters));
        assert_eq!(parse("MSH|^^\\&|"), Err(Hl7Error::BadEncodingCharacters));
        assert_eq!(parse("MSH|^~\\&|A\rpid|1"), Err(Hl7Error::BadSegmentId { index: 2 }));
        let err = parse("MSH|^~\\&|A\rPID|1\rOBX|1|FT|x||bad \\F").unwrap_err();
        assert_eq!(err, Hl7Error::UnterminatedEscape { segment: "OBX".into(), index: 3, field: 5 });
        assert_eq!(err.to_string(), "OBX-5 (segment 3): escape sequence without its closing \\");
    }
}
