//! Code 128 (code set B) barcodes for specimen labels: text in, bar and space widths out.
//!
//! Each symbol is six elements (bar, space, bar, space, bar, space) of 1–4 modules, 11 modules
//! in all; the stop symbol is seven elements, 13 modules. The table is the standard's symbol
//! table (ISO/IEC 15417), values 0–105 plus stop.

/// Bar/space widths of each symbol value, as digits.
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

const START_B: usize = 104;
const STOP: usize = 106;

/// Why text cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} cannot be put in a Code 128 B barcode (printable ASCII only, 1–40 characters)")]
pub struct Unencodable(pub String);

/// The element widths (in modules) of `text` as Code 128 B: start, data, checksum, stop.
/// Quiet zones are the caller's (at least 10 modules each side).
pub fn encode(text: &str) -> Result<Vec<u8>, Unencodable> {
    if text.is_empty() || text.len() > 40 || !text.bytes().all(|b| (32..=126).contains(&b)) {
        return Err(Unencodable(text.to_owned()));
    }
    let values: Vec<usize> = text.bytes().map(|b| usize::from(b - 32)).collect();
    let checksum = values.iter().enumerate().fold(START_B, |sum, (i, v)| sum + (i + 1) * v) % 103;
    let mut widths = Vec::new();
    for value in std::iter::once(START_B).chain(values).chain([checksum, STOP]) {
        widths.extend(PATTERNS[value].bytes().map(|d| d - b'0'));
    }
    Ok(widths)
}

/// Reads element widths back to text, checking start, checksum and stop: the inverse of
/// [`encode`], used to prove a printed label carries its id.
pub fn decode(widths: &[u8]) -> Option<String> {
    let symbol = |chunk: &[u8]| -> Option<usize> {
        let key: String = chunk.iter().map(|w| char::from(b'0' + w)).collect();
        PATTERNS.iter().position(|p| *p == key)
    };
    if widths.len() < 6 * 3 + 7 || !(widths.len() - 7).is_multiple_of(6) {
        return None;
    }
    let (body, stop) = widths.split_at(widths.len() - 7);
    if symbol(stop)? != STOP {
        return None;
    }
    let values: Vec<usize> = body.chunks(6).map(symbol).collect::<Option<_>>()?;
    let (&start, rest) = values.split_first()?;
    let (&checksum, data) = rest.split_last()?;
    if start != START_B {
        return None;
    }
    let expected = data.iter().enumerate().fold(START_B, |sum, (i, v)| sum + (i + 1) * v) % 103;
    if expected != checksum {
        return None;
    }
    data.iter().map(|&v| u8::try_from(v + 32).ok().filter(|b| *b <= 126).map(char::from)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_symbol_is_eleven_modules_and_stop_is_thirteen() {
        for (value, p) in PATTERNS.iter().enumerate() {
            let modules: u32 = p.bytes().map(|d| u32::from(d - b'0')).sum();
            assert_eq!(modules, if value == STOP { 13 } else { 11 }, "symbol {value}");
        }
        let distinct: std::collections::HashSet<_> = PATTERNS.iter().collect();
        assert_eq!(distinct.len(), PATTERNS.len(), "no two symbols alike");
    }

    #[test]
    fn a_specimen_id_round_trips_and_a_damaged_one_is_refused() {
        for text in ["S000001", "S123456", "MARROW-42", "a b~"] {
            let widths = encode(text).unwrap();
            assert_eq!(decode(&widths).as_deref(), Some(text));
        }
        // The checksum of "S000012" catches a changed digit.
        let mut widths = encode("S000012").unwrap();
        let digit_one = PATTERNS[usize::from(b'1' - 32)];
        let digit_two = PATTERNS[usize::from(b'2' - 32)];
        let at = 6 * 6; // start + "S0000" → the sixth symbol is "1"
        assert_eq!(
            widths[at..at + 6].iter().map(|w| char::from(b'0' + w)).collect::<String>(),
            digit_one
        );
        widths.splice(at..at + 6, digit_two.bytes().map(|d| d - b'0'));
        assert_eq!(decode(&widths), None);
        assert!(encode("").is_err() && encode("é").is_err());
    }
}
