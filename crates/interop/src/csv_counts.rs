//! Blood counts imported from a CSV file, for laboratories that export spreadsheets rather than
//! send HL7.
//!
//! The file is long, one value per row, with a header naming exactly these columns in any
//! order, case ignored: `mrn,taken_at,analyte,value,unit`.
//!
//! ```text
//! mrn,taken_at,analyte,value,unit
//! SYN-0001,2026-11-23T08:30,haemoglobin,9.8,g/dL
//! SYN-0001,2026-11-23T08:30,777-3,64,10*3/uL
//! ```
//!
//! `analyte` is a Marrow analyte code (`haemoglobin`, `white-cells`, `platelets`…) or a LOINC
//! code ([`Analyte::from_loinc`]); `taken_at` is what [`Timestamp::parse`] reads
//! (`YYYY-MM-DDTHH:MM`, a zone optional, UTC without one). The rows of one patient at one time
//! are one count, checked as [`BloodCount::parse`] checks any count.
//!
//! The file is taken whole or not at all: the first problem refuses it, with the line of the
//! file and the column to fix, because a file stored in part would look complete and is not.
//! The reader is written for untrusted input: it never panics, and it bounds what a file may
//! ask of it ([`MAX_ROWS`], [`MAX_FIELD_CHARS`]).
//!
//! Errors never carry an MRN; they quote codes, units, values and times.

use std::collections::HashMap;
use std::iter::Peekable;
use std::str::Chars;

use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
use marrow_domain::patient::Mrn;
use marrow_domain::time::Timestamp;

use crate::count_fields::Target;

/// The most rows of values a file may hold (the header and blank lines not counted): a
/// laboratory's export of a year of counts for a ward fits many times over, and a file far
/// larger is more likely a mistake than a count.
pub const MAX_ROWS: usize = 100_000;

/// The most characters one field may hold; the longest real value (a timestamp with its zone)
/// is under 30.
pub const MAX_FIELD_CHARS: usize = 1_000;

/// The columns, in the order error messages list them.
const COLUMNS: [&str; 5] = ["mrn", "taken_at", "analyte", "value", "unit"];

/// The header may not be wider than this: a longer first line is not a header.
const MAX_HEADER_FIELDS: usize = 100;

/// One blood count from the file.
#[derive(Clone, PartialEq, Eq)]
pub struct CsvCount {
    /// The patient's medical record number, upper-cased as Marrow stores MRNs.
    pub mrn: String,
    /// The count.
    pub count: BloodCount,
    /// The line of the file where its first value is, for messages about it later.
    pub first_row: usize,
    /// Each value and unit as the file gave them, kept beside the converted count.
    pub originals: Vec<(Analyte, String, String)>,
}

impl CsvCount {
    /// The values as they arrived, in the form the store keeps them.
    pub fn raw(&self) -> Vec<RawResult<'_>> {
        self.originals
            .iter()
            .map(|(a, v, u)| RawResult { analyte: *a, value: v, unit: u })
            .collect()
    }
}

impl std::fmt::Debug for CsvCount {
    /// Leaves the MRN out: debug output ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvCount")
            .field("mrn", &"..")
            .field("count", &self.count)
            .field("first_row", &self.first_row)
            .finish()
    }
}

/// Why a file was refused, and where: `row` is the line of the file (the header is row 1; a
/// quoted value spanning lines is at the line it starts on), `column` the column's name (its
/// position from 1 where the header does not name it, empty for the row as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CsvError {
    /// Line of the file, from 1.
    pub row: usize,
    /// The column, or empty for the whole row.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl CsvError {
    fn new(row: usize, column: impl Into<String>, message: impl Into<String>) -> Self {
        Self { row, column: column.into(), message: message.into() }
    }
}

impl std::fmt::Display for CsvError {
    /// `row 4, column unit: …`, or `row 4: …` for the row as a whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "row {}: {}", self.row, self.message)
        } else {
            write!(f, "row {}, column {}: {}", self.row, self.column, self.message)
        }
    }
}

/// Where each column is in the file's rows.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// `index[c]` is the position of `COLUMNS[c]`.
    index: [usize; 5],
}

impl Layout {
    fn name(&self, position: usize) -> String {
        self.index
            .iter()
            .position(|&i| i == position)
            .map_or_else(|| (position + 1).to_string(), |c| COLUMNS[c].to_owned())
    }
}

/// One value row, read and checked on its own.
struct Row {
    row: usize,
    analyte: Analyte,
    value: String,
    unit: String,
}

/// The rows of one patient at one time.
struct Group {
    mrn: String,
    taken_at: Timestamp,
    rows: Vec<Row>,
}

/// Reads every blood count in a CSV file; see the module docs for the format. `now` bounds
/// when the blood may have been taken.
///
/// Counts come back in the order their first row appears in the file. The first problem found
/// refuses the whole file: rows are read and checked on their own (fields, patient, time,
/// analyte, an analyte given twice) in file order, the first bad one stopping the reading; then
/// each count is checked as a whole (units, values, the differential), in that same order.
pub fn parse_csv(text: &str, now: Timestamp) -> Result<Vec<CsvCount>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::new(text);
    let Some(header) = reader.next_record(MAX_HEADER_FIELDS).map_err(|e| e.unnamed())? else {
        return Err(CsvError::new(
            1,
            "",
            format!(
                "the file is empty; the first line must name the columns: {}",
                COLUMNS.join(",")
            ),
        ));
    };
    let layout = layout(&header)?;
    let mut groups: Vec<Group> = Vec::new();
    // A file may hold as many counts as rows: find a row's count by key, not by a scan.
    let mut by_key: HashMap<(String, Timestamp), usize> = HashMap::new();
    let mut rows = 0;
    while let Some(record) = reader.next_record(COLUMNS.len()).map_err(|e| e.named(&layout))? {
        if rows == MAX_ROWS {
            return Err(CsvError::new(
                record.row,
                "",
                format!(
                    "the file holds more than {MAX_ROWS} rows of values; split it into files of \
                     at most {MAX_ROWS}"
                ),
            ));
        }
        rows += 1;
        let (mrn, taken_at, row) = value_row(record, &layout)?;
        let next = groups.len();
        let i = *by_key.entry((mrn.clone(), taken_at)).or_insert(next);
        if i == next {
            groups.push(Group { mrn, taken_at, rows: Vec::new() });
        }
        // `i` was handed out as the length of `groups` just before that group was pushed.
        let group = &mut groups[i];
        if let Some(first) = group.rows.iter().find(|r| r.analyte == row.analyte) {
            return Err(CsvError::new(
                row.row,
                "analyte",
                format!(
                    "{} is given twice for this patient at this time (first on row {})",
                    row.analyte.label(),
                    first.row
                ),
            ));
        }
        group.rows.push(row);
    }
    groups.into_iter().map(|g| count(g, now)).collect()
}

/// Checks the header names exactly the five columns, once each.
fn layout(header: &Record) -> Result<Layout, CsvError> {
    let row = header.row;
    let mut index: [Option<usize>; 5] = [None; 5];
    for (position, name) in header.fields.iter().enumerate() {
        let name = name.trim();
        let column = (position + 1).to_string();
        let Some(c) = COLUMNS.iter().position(|known| known.eq_ignore_ascii_case(name)) else {
            let listed = COLUMNS.join(", ");
            let message = if name.is_empty() {
                format!("the header leaves this column unnamed; the columns are {listed}")
            } else if name.bytes().any(|b| b.is_ascii_digit()) {
                // Likely a value, not a name (the header is missing): not echoed, as it may
                // be an MRN.
                format!("is not a column name; the first line must name the columns: {listed}")
            } else {
                format!("{name:?} is not a column Marrow reads; the columns are {listed}")
            };
            return Err(CsvError::new(row, column, message));
        };
        if index[c].is_some() {
            return Err(CsvError::new(row, COLUMNS[c], "is named twice in the header"));
        }
        index[c] = Some(position);
    }
    let mut found = [0; 5];
    for (c, i) in index.iter().enumerate() {
        let Some(i) = i else {
            return Err(CsvError::new(
                row,
                COLUMNS[c],
                format!("is missing from the header; the columns are {}", COLUMNS.join(", ")),
            ));
        };
        found[c] = *i;
    }
    Ok(Layout { index: found })
}

/// Reads one value row: its patient, time, analyte, value and unit.
fn value_row(record: Record, layout: &Layout) -> Result<(String, Timestamp, Row), CsvError> {
    let row = record.row;
    if record.fields.len() != COLUMNS.len() {
        return Err(CsvError::new(
            row,
            "",
            format!(
                "has {} field{}; every row needs {}, as the header names them",
                record.fields.len(),
                if record.fields.len() == 1 { "" } else { "s" },
                COLUMNS.len()
            ),
        ));
    }
    // `fields` holds exactly COLUMNS.len() values and the layout maps each column to a
    // distinct position below that, so indexing cannot fail; `get` keeps it panic-free anyway.
    let field = |c: usize| record.fields.get(layout.index[c]).map_or("", String::as_str);
    let mrn = field(0);
    if mrn.trim().is_empty() {
        return Err(CsvError::new(row, "mrn", "is empty; give the medical record number"));
    }
    let mrn = Mrn::parse(mrn).map_err(|e| CsvError::new(row, "mrn", e.message))?;
    let taken_at = Timestamp::parse("taken_at", field(1))
        .map_err(|e| CsvError::new(row, "taken_at", e.message))?;
    let analyte = analyte(field(2)).map_err(|message| CsvError::new(row, "analyte", message))?;
    let (value, unit) = (field(3).to_owned(), field(4).to_owned());
    Ok((mrn.reveal().to_owned(), taken_at, Row { row, analyte, value, unit }))
}

/// An analyte code (case ignored) or a LOINC code.
fn analyte(raw: &str) -> Result<Analyte, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is empty; give an analyte code or its LOINC code".to_owned());
    }
    Analyte::parse(&raw.to_ascii_lowercase()).ok().or_else(|| Analyte::from_loinc(raw)).ok_or_else(
        || {
            let known: Vec<String> =
                Analyte::ALL.iter().map(|a| format!("{} ({})", a.code(), a.loinc())).collect();
            format!(
                "{raw:?} is neither an analyte code nor a LOINC code Marrow takes; use one of: {}",
                known.join(", ")
            )
        },
    )
}

/// One group checked as a count, its domain errors mapped back to a row and column.
fn count(group: Group, now: Timestamp) -> Result<CsvCount, CsvError> {
    let first_row = group.rows.first().map_or(1, |r| r.row);
    let raw: Vec<RawResult<'_>> = group
        .rows
        .iter()
        .map(|r| RawResult { analyte: r.analyte, value: &r.value, unit: &r.unit })
        .collect();
    let count = BloodCount::parse(group.taken_at, &raw, now).map_err(|e| {
        let target = Target::of(&e);
        let row_of = |a: Analyte| group.rows.iter().find(|r| r.analyte == a).map(|r| r.row);
        let (row, column) = match target {
            Target::Value(a) => (row_of(a), "value"),
            Target::Unit(a) => (row_of(a), "unit"),
            Target::TakenAt => (Some(first_row), "taken_at"),
            Target::Count => (Some(first_row), ""),
        };
        CsvError::new(row.unwrap_or(first_row), column, target.sentence(&e.message))
    })?;
    let originals = raw
        .iter()
        .map(|r| (r.analyte, r.value.trim().to_owned(), r.unit.trim().to_owned()))
        .collect();
    Ok(CsvCount { mrn: group.mrn, count, first_row, originals })
}

/// One record of the file: its fields, unquoted.
#[derive(Debug)]
struct Record {
    /// The line it starts on.
    row: usize,
    fields: Vec<String>,
}

/// A problem found while reading, before the header can name the column.
#[derive(Debug)]
struct ReadError {
    row: usize,
    /// The field's position from 0, or `None` for the record as a whole.
    position: Option<usize>,
    message: String,
}

impl ReadError {
    /// For the header: columns are numbered.
    fn unnamed(self) -> CsvError {
        let column = self.position.map_or_else(String::new, |p| (p + 1).to_string());
        CsvError::new(self.row, column, self.message)
    }

    /// For a value row: columns are named as the header names them.
    fn named(self, layout: &Layout) -> CsvError {
        let column = self.position.map_or_else(String::new, |p| layout.name(p));
        CsvError::new(self.row, column, self.message)
    }
}

/// An RFC 4180 reader: fields separated by commas, records by CRLF, LF or CR; a field in
/// double quotes may hold commas, line breaks and quotes written twice (`""`). A line of only
/// spaces and tabs is blank and skipped.
///
/// Stricter than many readers on purpose: a quote inside an unquoted field, or text after a
/// closing quote, is an error rather than a guess, because a guessed split could put a value in
/// the wrong column.
struct Reader<'t> {
    chars: Peekable<Chars<'t>>,
    /// The line the next character is on, from 1.
    line: usize,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Self {
        Self { chars: text.chars().peekable(), line: 1 }
    }

    /// The next record that is not a blank line, with at most `max_fields` fields.
    fn next_record(&mut self, max_fields: usize) -> Result<Option<Record>, ReadError> {
        while self.chars.peek().is_some() {
            let row = self.line;
            let (fields, blank) = self.record(row, max_fields)?;
            if !blank {
                return Ok(Some(Record { row, fields }));
            }
        }
        Ok(None)
    }

    /// One record and whether it is a blank line.
    fn record(&mut self, row: usize, max_fields: usize) -> Result<(Vec<String>, bool), ReadError> {
        let mut fields: Vec<String> = Vec::new();
        let mut any_quoted = false;
        loop {
            let position = fields.len();
            if position == max_fields {
                return Err(ReadError {
                    row,
                    position: None,
                    message: format!(
                        "has more than {max_fields} fields; every row needs {}",
                        COLUMNS.len()
                    ),
                });
            }
            let field = if self.chars.peek() == Some(&'"') {
                any_quoted = true;
                self.chars.next();
                self.quoted(row, position)?
            } else {
                self.unquoted(row, position)?
            };
            fields.push(field);
            match self.chars.next() {
                Some(',') => {}
                Some('\r') => {
                    if self.chars.peek() == Some(&'\n') {
                        self.chars.next();
                    }
                    self.line += 1;
                    break;
                }
                Some('\n') => {
                    self.line += 1;
                    break;
                }
                // The end of the text; the field readers stop at nothing else.
                _ => break,
            }
        }
        let blank = !any_quoted
            && fields.len() == 1
            && fields.first().is_some_and(|f| f.chars().all(|c| c == ' ' || c == '\t'));
        Ok((fields, blank))
    }

    /// A field up to the next comma or line break.
    fn unquoted(&mut self, row: usize, position: usize) -> Result<String, ReadError> {
        let mut field = String::new();
        let mut length = 0;
        while let Some(&c) = self.chars.peek() {
            match c {
                ',' | '\r' | '\n' => break,
                '"' => {
                    return Err(ReadError {
                        row,
                        position: Some(position),
                        message: "has a quote inside a value that does not start with one; \
                                  put the whole value in quotes and write the quote twice"
                            .to_owned(),
                    });
                }
                _ => {
                    length += 1;
                    too_long(length, row, position)?;
                    field.push(c);
                    self.chars.next();
                }
            }
        }
        Ok(field)
    }

    /// A quoted field, its opening quote already read, up to its closing quote.
    fn quoted(&mut self, row: usize, position: usize) -> Result<String, ReadError> {
        let mut field = String::new();
        let mut length = 0;
        loop {
            let Some(c) = self.chars.next() else {
                return Err(ReadError {
                    row,
                    position: Some(position),
                    message: "a quoted value is never closed: its closing quote is missing"
                        .to_owned(),
                });
            };
            match c {
                '"' if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    field.push('"');
                }
                '"' => break,
                '\r' => {
                    // CR LF inside a value is one line break of the file, as outside.
                    field.push('\r');
                    if self.chars.peek() == Some(&'\n') {
                        self.chars.next();
                        field.push('\n');
                    }
                    self.line += 1;
                }
                '\n' => {
                    field.push('\n');
                    self.line += 1;
                }
                c => field.push(c),
            }
            length += 1;
            too_long(length, row, position)?;
        }
        match self.chars.peek() {
            None | Some(',' | '\r' | '\n') => Ok(field),
            Some(_) => Err(ReadError {
                row,
                position: Some(position),
                message: "has text after its closing quote; quote the whole value and write a \
                          quote inside it twice"
                    .to_owned(),
            }),
        }
    }
}

fn too_long(length: usize, row: usize, position: usize) -> Result<(), ReadError> {
    if length > MAX_FIELD_CHARS {
        return Err(ReadError {
            row,
            position: Some(position),
            message: format!("is longer than {MAX_FIELD_CHARS} characters"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ReadError> {
        let mut reader = Reader::new(text);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record(10)? {
            out.push((r.row, r.fields));
        }
        Ok(out)
    }

    fn row(n: usize, fields: &[&str]) -> (usize, Vec<String>) {
        (n, fields.iter().map(|f| (*f).to_owned()).collect())
    }

    #[test]
    fn the_reader_follows_rfc_4180() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\r\n\"two\r\nlines\",\"\",z\n\n  \nlast,,";
        assert_eq!(
            records(text).unwrap(),
            vec![
                row(1, &["a", "b", "c"]),
                row(2, &["x, y", "say \"hi\"", ""]),
                row(3, &["two\r\nlines", "", "z"]),
                row(7, &["last", "", ""]),
            ]
        );
        // A lone CR ends a line too, and a final line without a break is read.
        assert_eq!(
            records("a\rb\n\"c\rd\"\re").unwrap(),
            vec![row(1, &["a"]), row(2, &["b"]), row(3, &["c\rd"]), row(5, &["e"]),]
        );
        assert_eq!(records("").unwrap(), vec![]);
        assert_eq!(records("\n\r\n \t\n").unwrap(), vec![]);
        assert_eq!(records("\"\"").unwrap(), vec![row(1, &[""])], "a quoted empty is not blank");
    }

    /// RFC 4180 quoting, as a spreadsheet writes it: quote a field that needs it, double its
    /// quotes.
    fn write_field(field: &str) -> String {
        if field.contains([',', '"', '\r', '\n']) || field.trim().is_empty() {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_owned()
        }
    }

    #[test]
    fn whatever_a_writer_quotes_the_reader_reads_back() {
        // A fixed-seed linear congruential generator: the same fields on every run.
        let mut state: u64 = 42;
        let mut next = move |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((state >> 33) % n as u64) as usize
        };
        let pieces = [",", "\"", "\r\n", "\n", "\r", " ", "a", "é", "9", "\"\"", "x,y"];
        for _ in 0..500 {
            let rows: Vec<Vec<String>> = (0..1 + next(4))
                .map(|_| {
                    (0..1 + next(5))
                        .map(|_| (0..next(6)).map(|_| pieces[next(pieces.len())]).collect())
                        .collect()
                })
                .collect();
            let line_end = ["\n", "\r\n", "\r"][next(3)];
            let text: String = rows
                .iter()
                .map(|r| r.iter().map(|f| write_field(f)).collect::<Vec<_>>().join(","))
                .map(|line| format!("{line}{line_end}"))
                .collect();
            let read: Vec<Vec<String>> =
                records(&text).unwrap().into_iter().map(|(_, fields)| fields).collect();
            assert_eq!(read, rows, "{text:?}");
        }
    }

    #[test]
    fn the_reader_refuses_what_it_would_have_to_guess() {
        let err = |text: &str| {
            let e = records(text).unwrap_err();
            (e.row, e.position, e.message)
        };
        let (r, p, m) = err("a\nb,\"open\nstill open");
        assert_eq!((r, p), (2, Some(1)));
        assert!(m.contains("never closed"), "{m}");
        let (r, p, m) = err("a\n\"quoted\"tail,b");
        assert_eq!((r, p), (2, Some(0)));
        assert!(m.contains("after its closing quote"), "{m}");
        let (r, p, m) = err("a\nb,c\"d");
        assert_eq!((r, p), (2, Some(1)));
        assert!(m.contains("quote inside"), "{m}");
        let (r, p, m) = err(&",".repeat(20));
        assert_eq!((r, p), (1, None));
        assert!(m.contains("more than 10 fields"), "{m}");
        let long = format!("ok\n{}", "x".repeat(MAX_FIELD_CHARS + 1));
        let (r, p, m) = err(&long);
        assert_eq!((r, p), (2, Some(0)));
        assert!(m.contains("longer than 1000"), "{m}");
        let quoted_long = format!("\"{}\"", "é".repeat(MAX_FIELD_CHARS + 1));
        assert_eq!(err(&quoted_long).1, Some(0));
        let exactly = "y".repeat(MAX_FIELD_CHARS);
        assert_eq!(records(&exactly).unwrap()[0].1[0].len(), MAX_FIELD_CHARS);
    }
}
