//! Blood counts imported from CSV: files read into counts, every refusal at its row and column,
//! the limits, and a never-panics run over pseudo-random input.

use marrow_domain::blood_count::Analyte;
use marrow_domain::time::Timestamp;
use marrow_interop::csv_counts::{self, CsvCount, CsvError, MAX_FIELD_CHARS, MAX_ROWS};

fn at(raw: &str) -> Timestamp {
    Timestamp::parse("at", raw).expect("test timestamp")
}

fn now() -> Timestamp {
    at("2026-11-24T12:00:00Z")
}

fn values(count: &CsvCount) -> Vec<(Analyte, String)> {
    count.count.results().iter().map(|m| (m.analyte, m.value.to_string())).collect()
}

const HEADER: &str = "mrn,taken_at,analyte,value,unit";

/// A file of `rows` under the standard header, LF line ends.
fn file(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const GOOD_ROWS: [&str; 5] = [
    "SYN-0001,2026-11-23T08:30,haemoglobin,9.8,g/dL",
    "SYN-0001,2026-11-23T08:30,white-cells,2.1,10*9/L",
    "SYN-0001,2026-11-23T08:30,neutrophils,800,/uL",
    "SYN-0001,2026-11-23T08:30,platelets,64,10*3/uL",
    "SYN-0001,2026-11-23T08:30,blasts,2,%",
];

fn refused(text: &str) -> CsvError {
    let error = csv_counts::parse_csv(text, now()).expect_err("the file is refused");
    let shown = error.to_string();
    for mrn in ["SYN-0001", "syn-0001", "SYN-0002"] {
        assert!(!shown.contains(mrn), "an error names the patient: {shown}");
    }
    error
}

#[test]
fn a_file_of_long_rows_becomes_one_count_per_patient_and_time() {
    // Columns in another order and case, a byte order mark, CRLF line ends, quoted fields,
    // LOINC codes beside analyte codes, blank lines, and two patients interleaved.
    let text = "\u{feff}Analyte,MRN,Value,Unit,Taken_At\r\n\
                haemoglobin,syn-0001,9.8,g/dL,2026-11-23T08:30\r\n\
                \r\n\
                777-3,SYN-0002,\"210\",\"10*3/uL\",2026-11-22 07:15\r\n\
                \"white-cells\",SYN-0001,2.1,10^9/L,2026-11-23T08:30:00Z\r\n\
                751-8, SYN-0001 ,800,cells/uL,2026-11-23T09:30+01:00\r\n\
                Platelets,SYN-0001,64,K/uL,2026-11-23T08:30\r\n\
                blasts,SYN-0001,2,%,2026-11-24T08:00\r\n";
    let counts = csv_counts::parse_csv(text, now()).expect("a good file");
    assert_eq!(counts.len(), 3, "{counts:?}");
    // Rows 2, 5, 6 and 7 are one count: the same patient at the same instant, however written.
    assert_eq!((counts[0].mrn.as_str(), counts[0].first_row), ("SYN-0001", 2));
    assert_eq!(counts[0].count.taken_at, at("2026-11-23T08:30:00Z"));
    assert_eq!(
        values(&counts[0]),
        [
            (Analyte::Haemoglobin, "98".to_owned()),
            (Analyte::WhiteCells, "2.1".to_owned()),
            (Analyte::Neutrophils, "0.8".to_owned()),
            (Analyte::Platelets, "64".to_owned()),
        ]
    );
    assert_eq!((counts[1].mrn.as_str(), counts[1].first_row), ("SYN-0002", 4));
    assert_eq!(counts[1].count.taken_at, at("2026-11-22T07:15:00Z"));
    assert_eq!(values(&counts[1]), [(Analyte::Platelets, "210".to_owned())]);
    // The next morning's film is another count.
    assert_eq!((counts[2].first_row, counts[2].count.taken_at), (8, at("2026-11-24T08:00:00Z")));
    assert_eq!(values(&counts[2]), [(Analyte::Blasts, "2".to_owned())]);
    assert!(!format!("{counts:?}").contains("SYN-0001"), "Debug leaves the MRN out");
}

#[test]
fn the_sample_rows_read_as_the_laboratory_sent_them() {
    let counts = csv_counts::parse_csv(&file(&GOOD_ROWS), now()).expect("good rows");
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].first_row, 2);
    assert_eq!(
        values(&counts[0]),
        [
            (Analyte::Haemoglobin, "98".to_owned()),
            (Analyte::WhiteCells, "2.1".to_owned()),
            (Analyte::Neutrophils, "0.8".to_owned()),
            (Analyte::Platelets, "64".to_owned()),
            (Analyte::Blasts, "2".to_owned()),
        ]
    );
    // The last line needs no line break.
    let trimmed = file(&GOOD_ROWS);
    assert_eq!(csv_counts::parse_csv(trimmed.trim_end(), now()).unwrap(), counts);
    // A header and nothing else is a file with no counts.
    assert_eq!(csv_counts::parse_csv(HEADER, now()).unwrap(), []);
}

/// `GOOD_ROWS` with row `i` (0-based; file row `i + 2`) replaced.
fn with_row(i: usize, row: &str) -> String {
    let mut rows = GOOD_ROWS.to_vec();
    rows[i] = row;
    file(&rows)
}

#[test]
fn every_refusal_names_its_row_and_column() {
    let cases: Vec<(String, usize, &str, &str)> = vec![
        // The header.
        (String::new(), 1, "", "the file is empty"),
        ("\n\n".to_owned(), 1, "", "the file is empty"),
        ("mrn,taken_at,analyte,value\n".to_owned(), 1, "unit", "is missing from the header"),
        (
            "mrn,taken_at,analyte,value,unit,weight\n".to_owned(),
            1,
            "6",
            "\"weight\" is not a column",
        ),
        ("mrn,taken_at,analyte,,unit\n".to_owned(), 1, "4", "leaves this column unnamed"),
        ("mrn,taken_at,analyte,value,MRN\n".to_owned(), 1, "mrn", "is named twice"),
        // No header: the first row's values are not echoed (the first is an MRN).
        (GOOD_ROWS.join("\n"), 1, "1", "the first line must name the columns"),
        // Reading.
        (with_row(2, "SYN-0001,2026-11-23T08:30,neutrophils,800"), 4, "", "has 4 fields"),
        (
            with_row(2, "SYN-0001,2026-11-23T08:30,neutrophils,800,/uL,x"),
            4,
            "",
            "more than 5 fields",
        ),
        (
            with_row(2, "SYN-0001,2026-11-23T08:30,neutrophils,\"800,/uL"),
            4,
            "value",
            "never closed",
        ),
        (
            with_row(2, "SYN-0001,2026-11-23T08:30,\"neutrophils\"x,800,/uL"),
            4,
            "analyte",
            "after its closing quote",
        ),
        (
            with_row(2, "SYN-0001,2026-11-23T08:30,neutro\"phils,800,/uL"),
            4,
            "analyte",
            "a quote inside",
        ),
        // Each column's own checks.
        (with_row(1, ",2026-11-23T08:30,white-cells,2.1,10*9/L"), 3, "mrn", "is empty"),
        (with_row(1, "S!,2026-11-23T08:30,white-cells,2.1,10*9/L"), 3, "mrn", "3 to 20 letters"),
        (
            with_row(1, "SYN-0001,23/11/2026 08:30,white-cells,2.1,10*9/L"),
            3,
            "taken_at",
            "is not a date and time",
        ),
        (
            with_row(1, "SYN-0001,2026-11-23T08:30,wbc,2.1,10*9/L"),
            3,
            "analyte",
            "\"wbc\" is neither an analyte code nor a LOINC code",
        ),
        (with_row(1, "SYN-0001,2026-11-23T08:30,,2.1,10*9/L"), 3, "analyte", "is empty"),
        (
            with_row(0, "SYN-0001,2026-11-23T08:30,haemoglobin,6.1,mmol/L"),
            2,
            "unit",
            "\"mmol/L\" is not a unit Marrow knows",
        ),
        (
            with_row(3, "SYN-0001,2026-11-23T08:30,platelets,64,g/L"),
            5,
            "unit",
            "g/L is not a unit for platelets",
        ),
        (
            with_row(3, "SYN-0001,2026-11-23T08:30,platelets,sixty,10*9/L"),
            5,
            "value",
            "\"sixty\" is not a number",
        ),
        (
            with_row(3, "SYN-0001,2026-11-23T08:30,platelets,,10*9/L"),
            5,
            "value",
            "Platelets is empty",
        ),
        (
            with_row(0, "SYN-0001,2026-11-23T08:30,haemoglobin,98,g/dL"),
            2,
            "value",
            "check the value and its unit",
        ),
        // Whole-count checks, at the row of the value at fault.
        (
            with_row(2, "SYN-0001,2026-11-23T08:30,neutrophils,5000,/uL"),
            4,
            "value",
            "Neutrophils is more than the white cell count",
        ),
        (
            with_row(3, "SYN-0001,2026-11-23T08:30,lymphocytes,1.5,10*9/L"),
            3,
            "value",
            "the differential adds up to 2.3",
        ),
        (
            with_row(4, "SYN-0001,2026-11-23T08:30,718-7,10.2,g/dL"),
            6,
            "analyte",
            "Haemoglobin is given twice for this patient at this time (first on row 2)",
        ),
        (
            file(&["SYN-0001,2026-11-25T08:30,blasts,2,%"]),
            2,
            "taken_at",
            "the time the blood was taken is in the future",
        ),
    ];
    for (text, row, column, message) in cases {
        let error = refused(&text);
        assert_eq!((error.row, error.column.as_str()), (row, column), "{error}\n{text}");
        assert!(error.message.contains(message), "{error}");
    }
}

#[test]
fn errors_read_as_row_column_and_message() {
    let error = refused(&with_row(0, "SYN-0001,2026-11-23T08:30,haemoglobin,6.1,mmol/L"));
    assert!(
        error.to_string().starts_with("row 2, column unit: \"mmol/L\" is not a unit"),
        "{error}"
    );
    let error = refused(&with_row(2, "a,b"));
    assert_eq!(
        error.to_string(),
        "row 4: has 2 fields; every row needs 5, as the header names them"
    );
}

#[test]
fn rows_are_lines_of_the_file_even_across_blank_lines_and_quoted_line_breaks() {
    // Row 3 is blank; the quoted unit on row 4 spans two lines, so the bad value is on row 6.
    let text = format!(
        "{HEADER}\n{}\n\n{}\n\"\n{}\n",
        GOOD_ROWS[0],
        "SYN-0001,2026-11-23T08:30,white-cells,2.1,\"10*9/L",
        "SYN-0001,2026-11-23T08:30,platelets,lots,10*9/L"
    );
    let error = refused(&text);
    assert_eq!((error.row, error.column.as_str()), (6, "value"), "{error}");
    // The line break inside the quoted unit is only whitespace to the unit.
    let counts = csv_counts::parse_csv(&text.replace("lots", "64"), now()).expect("read");
    assert_eq!(counts[0].count.get(Analyte::WhiteCells).map(|q| q.to_string()), Some("2.1".into()));
    // A unit that is wrong is refused at the row its quoted value starts on.
    let error = refused(&text.replace("lots", "64").replace("\"10*9/L", "\"10*9/mL"));
    assert_eq!((error.row, error.column.as_str()), (4, "unit"), "{error}");
    // An unterminated quote names the row it opened on, not the end of the file.
    let error = refused(&format!("{HEADER}\n{}\nSYN-0001,\"2026\n\n\n", GOOD_ROWS[0]));
    assert_eq!((error.row, error.column.as_str()), (3, "taken_at"), "{error}");
}

#[test]
fn a_field_over_the_limit_is_refused_at_its_column() {
    let long = "9".repeat(MAX_FIELD_CHARS + 1);
    let error =
        refused(&with_row(3, &format!("SYN-0001,2026-11-23T08:30,platelets,{long},10*9/L")));
    assert_eq!((error.row, error.column.as_str()), (5, "value"));
    assert_eq!(error.message, format!("is longer than {MAX_FIELD_CHARS} characters"));
    // At the limit it is read (and refused by the domain for what it says, not its length).
    let limit = "9".repeat(MAX_FIELD_CHARS);
    let error =
        refused(&with_row(3, &format!("SYN-0001,2026-11-23T08:30,platelets,{limit},10*9/L")));
    assert!(error.message.contains("too many digits"), "{error}");
    // Quoted, with line breaks, in the header: the same limit.
    let header = format!("\"{}\",taken_at\n", "a\n".repeat(MAX_FIELD_CHARS));
    let error = refused(&header);
    assert_eq!((error.row, error.column.as_str()), (1, "1"));
}

#[test]
fn more_rows_than_the_limit_are_refused_and_the_limit_itself_is_read() {
    // One value per patient-minute, so every row is its own count.
    let row = |i: usize| {
        format!(
            "SYN-{:04},2026-11-{:02}T{:02}:{:02},platelets,150,10*9/L",
            i % 10_000,
            1 + i / 10_000 % 20,
            i / 60 % 24,
            i % 60
        )
    };
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 0..MAX_ROWS {
        text.push_str(&row(i));
        text.push('\n');
    }
    let counts = csv_counts::parse_csv(&text, now()).expect("exactly the limit");
    assert_eq!(counts.iter().map(|c| c.count.results().len()).sum::<usize>(), MAX_ROWS);
    text.push_str(&row(MAX_ROWS));
    let error = refused(&text);
    assert_eq!((error.row, error.column.as_str()), (MAX_ROWS + 2, ""));
    assert!(error.message.contains("more than 100000 rows"), "{error}");
}

/// A tiny linear congruential generator (Knuth's MMIX constants): a fixed seed gives the same
/// inputs on every run, with no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn pseudo_random_input_never_panics_and_errors_point_inside_the_file() {
    let mut rng = Lcg(0x6d61_7272_6f77);
    // Bytes the format cares about, weighted so that structure appears often.
    let alphabet: &[&str] = &[
        ",",
        "\"",
        "\r",
        "\n",
        "\r\n",
        " ",
        "0",
        "1",
        "9",
        ".",
        "-",
        ":",
        "T",
        "%",
        "/",
        "a",
        "é",
        "\u{feff}",
        "\u{0}",
        "mrn",
        "taken_at",
        "analyte",
        "value",
        "unit",
        "SYN-0001",
        "2026-11-23T08:30",
        "haemoglobin",
        "718-7",
        "g/dL",
        "10*9/L",
    ];
    let valid = file(&GOOD_ROWS);
    let (mut ok, mut refused_files) = (0, 0);
    for case in 0..3_000 {
        let text = match case % 3 {
            // Raw bytes, read as UTF-8 the way a caller would (lossy).
            0 => {
                let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Tokens of the format in random order.
            1 => (0..rng.below(60)).map(|_| alphabet[rng.below(alphabet.len())]).collect(),
            // A valid file with a few tokens inserted and a few characters deleted.
            _ => {
                let mut chars: Vec<char> = valid.chars().collect();
                for _ in 0..=rng.below(4) {
                    let place = rng.below(chars.len() + 1);
                    if rng.below(2) == 0 && place < chars.len() {
                        chars.remove(place);
                    } else {
                        let token = alphabet[rng.below(alphabet.len())];
                        for (k, c) in token.chars().enumerate() {
                            chars.insert(place + k, c);
                        }
                    }
                }
                chars.into_iter().collect()
            }
        };
        let lines = text.split(['\n', '\r']).count().max(1);
        match csv_counts::parse_csv(&text, now()) {
            Ok(counts) => {
                ok += 1;
                for c in counts {
                    assert!((2..=lines).contains(&c.first_row), "{case}: {text:?}");
                }
            }
            Err(e) => {
                refused_files += 1;
                assert!((1..=lines).contains(&e.row), "{case}: {e} in {text:?}");
                assert!(!e.message.is_empty(), "{case}");
            }
        }
    }
    // Both paths were exercised: the mutations leave some files valid.
    assert!(ok > 20 && refused_files > 2_000, "{ok} read, {refused_files} refused");
}

#[test]
fn the_first_bad_row_in_the_file_is_the_one_reported() {
    // A bad patient on row 3 comes before a broken quote on row 5, however the reader works.
    let mut rows = GOOD_ROWS.to_vec();
    rows[1] = "S!,2026-11-23T08:30,white-cells,2.1,10*9/L";
    rows[3] = "SYN-0001,2026-11-23T08:30,platelets,\"64,10*9/L";
    let error = refused(&file(&rows));
    assert_eq!((error.row, error.column.as_str()), (3, "mrn"), "{error}");
    // Within a count, a bad unit on row 4 comes before a bad value on row 5.
    let mut rows = GOOD_ROWS.to_vec();
    rows[2] = "SYN-0001,2026-11-23T08:30,neutrophils,800,cells";
    rows[3] = "SYN-0001,2026-11-23T08:30,platelets,-64,10*9/L";
    let error = refused(&file(&rows));
    assert_eq!((error.row, error.column.as_str()), (4, "unit"), "{error}");
}
