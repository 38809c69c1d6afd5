//! Key maps for the keyboard cell counter: which key counts which cell class.
//!
//! Keys are named as the browser's `KeyboardEvent.key` spells them (`"1"`, `"a"`, `"+"`,
//! `"Backspace"`; the space bar is `" "`), so the page can look a key up without translating it.
//! Single letters are held in lower case: Shift changes `"a"` to `"A"`, and Shift is the
//! abnormal modifier, not a different key.
//!
//! A few keys are reserved for the counter itself ([`reserved`]) and can never count a cell.

use std::collections::{BTreeMap, BTreeSet};

use crate::FieldError;
use crate::morphology::CellClass;

/// What a reserved key does instead of counting a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// `Backspace`: take back the last cell.
    Undo,
    /// Space: pause or resume counting, so a stray key while looking away counts nothing.
    PauseResume,
    /// `Shift`, held: the cell counted with it is marked abnormal.
    AbnormalHeld,
    /// `*`: the next cell counted is marked abnormal. A key of its own because Shift alters
    /// what digits send (`"!"` for Shift+1 on a US layout; keypad digits become navigation
    /// keys), so one-handed keypad counting needs a modifier that leaves digits alone.
    AbnormalNext,
    /// `Tab` and `Escape` stay with the browser and the page (move focus, close a dialog), so
    /// the counter never traps the keyboard (WCAG 2.1 success criterion 2.1.2, "No Keyboard
    /// Trap").
    Browser,
}

/// The reserved keys, by `KeyboardEvent.key` name.
pub const RESERVED_KEYS: [(&str, Reserved); 6] = [
    (KeyMap::UNDO, Reserved::Undo),
    (KeyMap::PAUSE, Reserved::PauseResume),
    ("Shift", Reserved::AbnormalHeld),
    (KeyMap::ABNORMAL, Reserved::AbnormalNext),
    ("Tab", Reserved::Browser),
    ("Escape", Reserved::Browser),
];

/// What a reserved key does; `None` for a key free to bind.
pub fn reserved(key: &str) -> Option<Reserved> {
    RESERVED_KEYS.iter().find(|(k, _)| *k == key).map(|(_, action)| *action)
}

/// The longest key name accepted; the longest `KeyboardEvent.key` names are about 25
/// characters, and anything longer is a typo.
const MAX_KEY_LEN: usize = 32;

/// A named set of key bindings; at most one key per class and one class per key. Not every
/// class needs a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    name: String,
    bindings: BTreeMap<String, CellClass>,
}

impl KeyMap {
    /// Parses a key map from `(key, class code)` pairs, the order of [`KeyMap::bindings`]. A
    /// blank key leaves the class unbound, so a form with one key field per class can send every
    /// field as it stands.
    ///
    /// Refuses, naming the field: a blank name (`name`), an unknown class code (`bindings`), a
    /// class given twice, a key already bound to another class, or a reserved key
    /// (`bindings.<class code>`).
    pub fn parse<'a>(
        name: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        let name = crate::required_text("name", name, 100)?;
        let mut bindings = BTreeMap::new();
        let mut bound = BTreeSet::new();
        for (raw_key, code) in pairs {
            let class = parse_class(code)?;
            let field = format!("bindings.{}", class.code());
            if !bound.insert(class) {
                return Err(FieldError::new(field, "is given more than once"));
            }
            let Some(key) = normalise_key(raw_key) else {
                continue;
            };
            if let Some(action) = reserved(&key) {
                return Err(FieldError::new(
                    field,
                    format!("{} is reserved ({})", display_key(&key), reserved_purpose(action)),
                ));
            }
            if key.chars().count() > MAX_KEY_LEN || key.chars().any(char::is_control) {
                return Err(FieldError::new(field, format!("{key:?} is not a key name")));
            }
            if let Some(other) = bindings.get(&key) {
                return Err(FieldError::new(
                    field,
                    format!("{} already counts {}", display_key(&key), CellClass::label(*other)),
                ));
            }
            bindings.insert(key, class);
        }
        Ok(Self { name, bindings })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every binding, key to class.
    pub fn bindings(&self) -> &BTreeMap<String, CellClass> {
        &self.bindings
    }

    /// The class a key counts, if any. Accepts the key as the browser sends it: an upper-case
    /// letter (Shift held) finds its lower-case binding.
    pub fn class_for(&self, key: &str) -> Option<CellClass> {
        self.bindings.get(normalise_key(key)?.as_str()).copied()
    }

    /// The key that counts `class`, if one does.
    pub fn key_for(&self, class: CellClass) -> Option<&str> {
        self.bindings.iter().find(|(_, c)| **c == class).map(|(k, _)| k.as_str())
    }

    /// The bindings as `(key, class code)` pairs in class display order, for storage;
    /// [`KeyMap::parse`] reads them back.
    pub fn to_pairs(&self) -> Vec<(String, &'static str)> {
        CellClass::ALL
            .iter()
            .filter_map(|&class| self.key_for(class).map(|key| (key.to_owned(), class.code())))
            .collect()
    }

    /// The built-in layout; the same as [`KeyMap::default`].
    pub fn default_map() -> Self {
        Self::default()
    }

    /// The undo key ([`Reserved::Undo`]).
    pub const UNDO: &'static str = "Backspace";
    /// The pause/resume key, the space bar ([`Reserved::PauseResume`]).
    pub const PAUSE: &'static str = " ";
    /// The "next cell is abnormal" key ([`Reserved::AbnormalNext`]).
    pub const ABNORMAL: &'static str = "*";
}

impl Default for KeyMap {
    /// The built-in layout, modelled on numeric-keypad differential counters: the digits and
    /// the keypad's own keys carry the classes counted most, laid out so one hand stays on the
    /// keypad; rarer classes get letters. `*` on the keypad is the abnormal modifier.
    ///
    /// ```text
    ///  /  basophilic erythro.   *  (abnormal next)    -  orthochromatic erythro.
    ///  7  eosinophils           8  monocytes          9  lymphocytes     +  polychromatic erythro.
    ///  4  metamyelocytes        5  band neutrophils   6  segmented neutrophils
    ///  1  blasts                2  promyelocytes      3  myelocytes
    ///  0  plasma cells                                .  proerythroblasts
    /// ```
    ///
    /// Letters: `b` basophils, `m` mast cells, `o` other, `h` macrophages (histiocytes),
    /// `s` smudge cells. The neutrophil series runs 1–6 in maturation order.
    fn default() -> Self {
        use CellClass::*;
        let layout = [
            ("1", Blast),
            ("2", Promyelocyte),
            ("3", Myelocyte),
            ("4", Metamyelocyte),
            ("5", BandNeutrophil),
            ("6", SegmentedNeutrophil),
            ("7", Eosinophil),
            ("8", Monocyte),
            ("9", Lymphocyte),
            ("0", PlasmaCell),
            (".", Proerythroblast),
            ("/", BasophilicErythroblast),
            ("+", PolychromaticErythroblast),
            ("-", OrthochromaticErythroblast),
            ("b", Basophil),
            ("m", MastCell),
            ("o", Other),
            ("h", Macrophage),
            ("s", Smudge),
        ];
        Self {
            name: "Numeric keypad".to_owned(),
            bindings: layout.into_iter().map(|(k, c)| (k.to_owned(), c)).collect(),
        }
    }
}

/// Parses a class code; megakaryocytes get a pointed message, as they are not counted.
fn parse_class(code: &str) -> Result<CellClass, FieldError> {
    if code.trim() == "megakaryocytes" {
        // Clinical reference §1.3 (outside the NDC) and §1.5 (described with the aspirate).
        return Err(FieldError::new(
            "bindings",
            "megakaryocytes are not counted in the differential; record them with the aspirate",
        ));
    }
    CellClass::parse(code).map_err(|e| e.at("bindings"))
}

/// The stored form of a key: `None` when blank (unbound). Space is kept as `" "`, the name the
/// browser uses, so that it is recognised as reserved rather than read as blank; anything else
/// is trimmed, and a single letter is lower-cased.
fn normalise_key(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Some(" ".to_owned());
    }
    let mut chars = trimmed.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_alphabetic() => Some(c.to_lowercase().collect()),
        _ => Some(trimmed.to_owned()),
    }
}

/// A key as a person reads it in a message.
fn display_key(key: &str) -> String {
    if key == " " { "Space".to_owned() } else { format!("{key:?}") }
}

fn reserved_purpose(action: Reserved) -> &'static str {
    match action {
        Reserved::Undo => "undo",
        Reserved::PauseResume => "pause and resume",
        Reserved::AbnormalHeld | Reserved::AbnormalNext => "marks a cell abnormal",
        Reserved::Browser => "left to the browser so focus can leave the counter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellClass::*;

    #[test]
    fn the_default_map_binds_every_class_once_and_no_reserved_key() {
        let map = KeyMap::default();
        for &class in CellClass::ALL {
            assert!(map.key_for(class).is_some(), "{class:?} has a key");
        }
        assert_eq!(map.bindings().len(), CellClass::ALL.len());
        assert!(map.bindings().keys().all(|k| reserved(k).is_none()));
        assert_eq!(map.class_for("1"), Some(Blast));
        assert_eq!(map.class_for("+"), Some(PolychromaticErythroblast));
        assert_eq!(map.class_for("*"), None, "the abnormal modifier counts nothing");
    }

    #[test]
    fn the_default_map_survives_storage() {
        let map = KeyMap::default();
        let pairs = map.to_pairs();
        let parsed =
            KeyMap::parse(map.name(), pairs.iter().map(|(k, c)| (k.as_str(), *c))).unwrap();
        assert_eq!(parsed, map);
    }

    #[test]
    fn reserved_keys_do_the_counters_own_work() {
        assert_eq!(reserved("Backspace"), Some(Reserved::Undo));
        assert_eq!(reserved(" "), Some(Reserved::PauseResume));
        assert_eq!(reserved("Shift"), Some(Reserved::AbnormalHeld));
        assert_eq!(reserved("*"), Some(Reserved::AbnormalNext));
        assert_eq!(reserved("Tab"), Some(Reserved::Browser));
        assert_eq!(reserved("1"), None);
        assert_eq!(reserved(KeyMap::UNDO), Some(Reserved::Undo));
        assert_eq!(reserved(KeyMap::PAUSE), Some(Reserved::PauseResume));
        assert_eq!(reserved(KeyMap::ABNORMAL), Some(Reserved::AbnormalNext));
    }

    #[test]
    fn not_every_class_needs_a_key() {
        let map = KeyMap::parse("Blasts only", [("q", "blasts"), ("", "lymphocytes")]).unwrap();
        assert_eq!(map.class_for("q"), Some(Blast));
        assert_eq!(map.key_for(Lymphocyte), None);
        assert_eq!(map.to_pairs(), [("q".to_owned(), "blasts")]);
    }

    #[test]
    fn letters_are_matched_whatever_their_case() {
        let map = KeyMap::parse("Letters", [("B", "basophils")]).unwrap();
        assert_eq!(map.key_for(Basophil), Some("b"));
        assert_eq!(map.class_for("B"), Some(Basophil), "Shift held sends the capital");
        assert_eq!(map.class_for("b"), Some(Basophil));
        let map = KeyMap::parse("Named", [(" F2 ", "blasts")]).unwrap();
        assert_eq!(map.key_for(Blast), Some("F2"), "named keys keep their case");
    }

    #[test]
    fn a_key_bound_twice_is_refused_under_the_second_class() {
        let err = KeyMap::parse("Mine", [("1", "blasts"), ("1", "myelocytes")]).unwrap_err();
        assert_eq!(err.field, "bindings.myelocytes");
        let err = KeyMap::parse("Mine", [("a", "blasts"), ("A", "myelocytes")]).unwrap_err();
        assert_eq!(err.field, "bindings.myelocytes", "a and A are the same key");
    }

    #[test]
    fn a_class_bound_twice_is_refused() {
        let err = KeyMap::parse("Mine", [("1", "blasts"), ("2", "blasts")]).unwrap_err();
        assert_eq!(err.field, "bindings.blasts");
        let err = KeyMap::parse("Mine", [("", "blasts"), ("2", "blasts")]).unwrap_err();
        assert_eq!(err.field, "bindings.blasts", "even when the first was blank");
    }

    #[test]
    fn a_reserved_key_cannot_count_a_cell() {
        for key in ["Backspace", " ", "Shift", "*", "Tab", "Escape", "   "] {
            let err = KeyMap::parse("Mine", [(key, "lymphocytes")]).unwrap_err();
            assert_eq!(err.field, "bindings.lymphocytes", "{key:?}");
        }
        let err = KeyMap::parse("Mine", [(" ", "lymphocytes")]).unwrap_err();
        assert!(err.message.contains("Space"), "{}", err.message);
    }

    #[test]
    fn a_blank_name_or_unknown_class_is_refused() {
        assert_eq!(KeyMap::parse("  ", [("1", "blasts")]).unwrap_err().field, "name");
        assert_eq!(KeyMap::parse("Mine", [("1", "myeloblasts")]).unwrap_err().field, "bindings");
        let err = KeyMap::parse("Mine", [("k", "megakaryocytes")]).unwrap_err();
        assert_eq!(err.field, "bindings");
        assert!(err.message.contains("aspirate"));
    }

    #[test]
    fn a_key_name_that_is_not_a_key_is_refused() {
        let long = "x".repeat(40);
        let err = KeyMap::parse("Mine", [(long.as_str(), "blasts")]).unwrap_err();
        assert_eq!(err.field, "bindings.blasts");
        let err = KeyMap::parse("Mine", [("\u{7}", "blasts")]).unwrap_err();
        assert_eq!(err.field, "bindings.blasts");
    }
}
