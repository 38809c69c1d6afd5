//! How hard an English text is to read: the Flesch–Kincaid grade level.
//!
//! Patient pages aim at grade 6 or below (about age 11–12), the level health-literacy guidance
//! asks for in material patients read on their own. The grade is
//!
//! ```text
//! 0.39 × (words ÷ sentences) + 11.8 × (syllables ÷ words) − 15.59
//! ```
//!
//! Source: Kincaid JP, Fishburne RP Jr, Rogers RL, Chissom BS. *Derivation of new readability
//! formulas (Automated Readability Index, Fog Count and Flesch Reading Ease Formula) for Navy
//! enlisted personnel.* Naval Technical Training Command, Millington TN, Research Branch
//! Report 8-75, 1975.
//!
//! The counting is this module's own, stated here because the grade depends on it:
//!
//! - **Sentences** end at `.`, `!` or `?` followed by a space or the end of the text (so the
//!   point in "38.0" ends nothing), and at the end of each *block*: a bullet or a form label
//!   is read as a unit of its own even without a full stop, as readers of a list read it.
//! - **Words** are runs of text between spaces that contain a letter ("°C" is one). Numbers
//!   ("24", "38.0", a phone number) are not words: the formula was fitted on prose, and a
//!   number is neither an easy nor a hard word.
//! - **Syllables** come from an English spelling heuristic ([`syllables`]): groups of vowels,
//!   less a silent final "e", "-es" and "-ed", plus the vowel pairs English splits ("fluid",
//!   "serious", "being"), with a short list of words the rules get wrong. It is checked against
//!   a table of words with dictionary syllable counts in this module's tests.
//!
//! The grade suits passages (a page, a section, a paragraph), not a two-word label: one long
//! word in "Moderate pain" is grade 8.8 on its own. Tests therefore measure whole pages and
//! each multi-sentence text, and every label inside the page it appears on.
//!
//! # Spanish
//!
//! The Flesch–Kincaid grade is fitted on English and does not apply to Spanish. For Spanish
//! texts [`fernandez_huerta`] gives the Fernández-Huerta reading ease, an adaptation of
//! Flesch's reading ease:
//!
//! ```text
//! L = 206.84 − 0.60 × (syllables per 100 words) − 1.02 × (words per sentence)
//! ```
//!
//! Source: Fernández Huerta J. *Medidas sencillas de lecturabilidad.* Consigna 1959;
//! (214):29–32, with the second term read as words per sentence, as Law showed it must be
//! (Law G. *Error in the Fernandez Huerta readability formula.* LINGUIST List 22.2332, 2011):
//! as usually printed, with sentences per 100 words, shorter sentences would score harder.
//! Higher is easier: 90–100 very easy, 80–90 easy, 70–80 fairly easy (about a 6th grade),
//! 60–70 standard. Spanish syllables follow its spelling rules ([`spanish_syllables`]).

/// The counts the formula needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Sentences (at least one per non-empty block).
    pub sentences: usize,
    /// Words: runs between spaces that contain a letter.
    pub words: usize,
    /// Syllables over all words.
    pub syllables: usize,
}

impl Counts {
    /// The counts of one block of text (a paragraph, a bullet, a label).
    pub fn of(text: &str) -> Self {
        let mut counts = Counts::default();
        let mut words_in_sentence = 0;
        for token in text.split_whitespace() {
            if token.chars().any(char::is_alphabetic) {
                counts.words += 1;
                counts.syllables += syllables(token);
                words_in_sentence += 1;
            }
            if token.ends_with(['.', '!', '?']) && words_in_sentence > 0 {
                counts.sentences += 1;
                words_in_sentence = 0;
            }
        }
        // The end of a block ends its last sentence, full stop or not.
        if words_in_sentence > 0 {
            counts.sentences += 1;
        }
        counts
    }

    /// The counts of several blocks, each read as ending a sentence (a list, a page).
    pub fn of_blocks<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Self {
        blocks.into_iter().map(Counts::of).fold(Counts::default(), |a, b| Counts {
            sentences: a.sentences + b.sentences,
            words: a.words + b.words,
            syllables: a.syllables + b.syllables,
        })
    }

    /// The Flesch–Kincaid grade; `None` for a text with no words.
    pub fn grade(self) -> Option<f64> {
        if self.words == 0 {
            return None;
        }
        let words = self.words as f64;
        let sentences = self.sentences.max(1) as f64;
        Some(0.39 * (words / sentences) + 11.8 * (self.syllables as f64 / words) - 15.59)
    }
}

/// The Flesch–Kincaid grade of one block of text; 0 for a text with no words.
pub fn flesch_kincaid_grade(text: &str) -> f64 {
    Counts::of(text).grade().unwrap_or(0.0)
}

/// The Flesch–Kincaid grade of several blocks (list items, labels), each ending a sentence;
/// 0 when there are no words.
pub fn flesch_kincaid_grade_of_blocks<'a>(blocks: impl IntoIterator<Item = &'a str>) -> f64 {
    Counts::of_blocks(blocks).grade().unwrap_or(0.0)
}

/// The Fernández-Huerta reading ease of several blocks of Spanish text (see the module docs);
/// `None` when there are no words. Sentences and words are counted as for English.
pub fn fernandez_huerta<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Option<f64> {
    let mut words = 0usize;
    let mut syllables = 0usize;
    let mut sentences = 0usize;
    for block in blocks {
        let counts = Counts::of(block);
        sentences += counts.sentences;
        for token in block.split_whitespace().filter(|t| t.chars().any(char::is_alphabetic)) {
            words += 1;
            syllables += spanish_syllables(token);
        }
    }
    if words == 0 {
        return None;
    }
    let words_f = words as f64;
    let per_hundred = 100.0 * syllables as f64 / words_f;
    Some(206.84 - 0.60 * per_hundred - 1.02 * (words_f / sentences.max(1) as f64))
}

/// The syllables in one Spanish word (at least 1), by the rules of Spanish spelling: each group
/// of vowels is one syllable (a diphthong or triphthong) except where two strong vowels
/// (`a e o`, accented or not) meet, or an accented weak vowel (`í ú`) meets another vowel: a
/// hiatus, one more syllable ("ó-se-a", "dí-a"). The `u` of `que qui gue gui` is silent; `ü`
/// is said ("pin-güi-no"); `y` is a vowel only where no vowel follows ("muy", "y").
pub fn spanish_syllables(word: &str) -> usize {
    let w: Vec<char> =
        word.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect();
    let strong = |c: char| matches!(c, 'a' | 'e' | 'o' | 'á' | 'é' | 'ó');
    let accented_weak = |c: char| matches!(c, 'í' | 'ú');
    let is_vowel_letter =
        |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'á' | 'é' | 'í' | 'ó' | 'ú' | 'ü');
    let vowel_at = |i: usize| -> bool {
        let c = w[i];
        if c == 'y' {
            return !w.get(i + 1).is_some_and(|&n| is_vowel_letter(n));
        }
        if c == 'u' && i > 0 && matches!(w[i - 1], 'q' | 'g') {
            // The silent "u" of que, qui, gue, gui.
            return !w.get(i + 1).is_some_and(|&n| matches!(n, 'e' | 'i' | 'é' | 'í'));
        }
        is_vowel_letter(c)
    };
    let mut count = 0;
    let mut previous: Option<char> = None;
    for (i, &c) in w.iter().enumerate() {
        if !vowel_at(i) {
            previous = None;
            continue;
        }
        count += match previous {
            None => 1,
            Some(p) if (strong(p) && strong(c)) || accented_weak(p) || accented_weak(c) => 1,
            Some(_) => 0,
        };
        previous = Some(c);
    }
    count.max(1)
}

/// Words the spelling rules below count wrongly, with their dictionary syllable counts. Kept
/// short: a word belongs here only when a patient text uses it and the rules miss.
const EXCEPTIONS: &[(&str, usize)] =
    &[("anyone", 3), ("area", 3), ("everyone", 3), ("idea", 3), ("maybe", 2), ("sometimes", 2)];

/// The syllables in one English word, by spelling (at least 1).
///
/// Vowel groups (`a e i o u`, and `y` except at the start) are counted, then:
/// a final silent `e` is dropped ("home"), but not in a final consonant + `le` ("little");
/// a final `es` is silent except after `s x z c g` and `ch sh` ("takes" but "bruises");
/// a final `ed` is silent except after `t d` ("pressed" but "needed");
/// the vowel pairs that English says as two ("fluid", "serious", "usual", "medium",
/// "quiet", "being") add one back.
pub fn syllables(word: &str) -> usize {
    let lower: String =
        word.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect();
    if let Some(&(_, n)) = EXCEPTIONS.iter().find(|(w, _)| *w == lower) {
        return n;
    }
    let w: Vec<char> = lower.chars().collect();
    if w.len() <= 3 {
        return 1;
    }
    let vowel = |i: usize| matches!(w[i], 'a' | 'e' | 'i' | 'o' | 'u') || (w[i] == 'y' && i > 0);
    let n = w.len();
    // The part of the word that is pronounced, without a silent ending.
    let mut end = n;
    let consonant = |i: usize| !vowel(i);
    if w[n - 1] == 'e' {
        let syllabic_le = w[n - 2] == 'l' && n >= 3 && consonant(n - 3);
        if !syllabic_le && consonant(n - 2) {
            end = n - 1;
        }
    } else if n >= 4 && w[n - 2] == 'e' && (w[n - 1] == 's' || w[n - 1] == 'd') && consonant(n - 3)
    {
        let before = w[n - 3];
        // "samples", "handled": the "-le" syllable stays; "miles", "called" have none.
        let syllabic_le = before == 'l' && consonant(n - 4) && w[n - 4] != 'l';
        let sounded = syllabic_le
            || if w[n - 1] == 's' {
                matches!(before, 's' | 'x' | 'z' | 'c' | 'g')
                    || (before == 'h' && matches!(w[n - 4], 'c' | 's'))
            } else {
                matches!(before, 't' | 'd')
            };
        if !sounded {
            end = n - 2;
        }
    }
    let mut count = 0;
    let mut previous = false;
    for i in 0..end {
        let v = vowel(i);
        if v && !previous {
            count += 1;
        }
        previous = v;
    }
    // Vowel pairs said as two syllables.
    for i in 1..end {
        let (a, b) = (w[i - 1], w[i]);
        let before = if i >= 2 { Some(w[i - 2]) } else { None };
        let after = w.get(i + 1).copied();
        let split = match (a, b) {
            // "serious", "period", "radio"; not "-tion", "-sion", "-cious", "-gion".
            ('i', 'o') => !matches!(before, Some('t' | 's' | 'c' | 'x' | 'g')),
            // "media", "bacteria"; not "special", "initial", "Asia", "Belgian".
            ('i', 'a') => !matches!(before, Some('t' | 's' | 'c' | 'g')),
            // "medium", "calcium".
            ('i', 'u') => true,
            // "usual", "actual"; not "equal", "guard".
            ('u', 'a') => !matches!(before, Some('q' | 'g')),
            // "fluid", "ruin"; not "liquid", "guide", "fruit", "bruise".
            ('u', 'i') => !matches!(before, Some('q' | 'g')) && matches!(after, Some('d' | 'n')),
            // "quiet", "diet"; not "piece", "field".
            ('i', 'e') => after == Some('t'),
            _ => false,
        };
        if split {
            count += 1;
        }
    }
    // "soreness", "safely", "careful": the silent "e" of "sore", "safe", "care" stays silent
    // before a suffix.
    for suffix in ["ness", "less", "ful", "ly", "ment"] {
        if let Some(stem) = lower.strip_suffix(suffix) {
            let s: Vec<char> = stem.chars().collect();
            let k = s.len();
            if k >= 3
                && s[k - 1] == 'e'
                && !matches!(s[k - 2], 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'l')
                && matches!(s[k - 3], 'a' | 'e' | 'i' | 'o' | 'u')
            {
                count -= 1;
            }
            break;
        }
    }
    // "being", "going", "doing", "seeing": the "-ing" after a vowel is a syllable of its own.
    if lower.ends_with("ing") && n >= 5 && vowel(n - 4) {
        count += 1;
    }
    count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dictionary syllable counts (Merriam-Webster's hyphenation points), chosen from the words
    /// the patient pages use and the spellings each rule exists for.
    #[rustfmt::skip]
    const KNOWN: &[(&str, usize)] = &[
        // one syllable
        ("you", 1), ("your", 1), ("home", 1), ("take", 1), ("takes", 1), ("bruise", 1),
        ("pressed", 1), ("called", 1), ("used", 1), ("there", 1), ("sure", 1), ("worse", 1),
        ("spreads", 1), ("germs", 1), ("does", 1), ("goes", 1), ("need", 1), ("bleed", 1),
        ("while", 1), ("whole", 1), ("hours", 1), ("times", 1), ("clothes", 1), ("skin", 1),
        ("fruit", 1), ("guide", 1), ("piece", 1), ("field", 1), ("strength", 1), ("through", 1),
        ("sleep", 1), ("yes", 1), ("the", 1), ("a", 1), ("stop", 1), ("spot", 1),
        // two
        ("little", 2), ("people", 2), ("able", 2), ("needed", 2), ("started", 2),
        ("bruises", 2), ("presses", 2), ("changes", 2), ("places", 2), ("minutes", 2),
        ("machines", 2), ("fever", 2), ("swelling", 2), ("pressure", 2), ("pressing", 2),
        ("firmly", 2), ("normal", 2), ("bruising", 2), ("bandage", 2), ("bleeding", 2),
        ("fluid", 2), ("quiet", 2), ("diet", 2), ("being", 2), ("going", 2), ("doing", 2),
        ("seeing", 2), ("immune", 2), ("someone", 2), ("sometimes", 2), ("maybe", 2),
        ("yellow", 2), ("tissue", 2), ("liquid", 2), ("special", 2), ("question", 2),
        ("questions", 2), ("before", 2), ("after", 2), ("sleepy", 2), ("answer", 2),
        ("tonight", 2), ("covered", 2), ("thinners", 2), ("heavy", 2), ("again", 2),
        ("needle", 2), ("second", 2), ("water", 2), ("doctor", 2), ("nurses", 2),
        ("samples", 2), ("handled", 2), ("soreness", 2), ("safely", 2), ("careful", 2),
        ("shower", 2), ("lower", 2), ("weaker", 2), ("fighting", 2), ("adult", 2),
        ("miles", 1), ("filled", 1), ("sore", 1), ("code", 1), ("bleeds", 1),
        // three
        ("medicine", 3), ("infection", 3), ("important", 3), ("alcohol", 3), ("aspirin", 3),
        ("tomorrow", 3), ("exercise", 3), ("serious", 3), ("previous", 3), ("period", 3),
        ("radio", 3), ("usual", 3), ("actual", 3), ("medium", 3), ("calcium", 3),
        ("infected", 3), ("expected", 3), ("anyone", 3), ("everyone", 3), ("area", 3),
        ("idea", 3), ("family", 3), ("hospital", 3), ("bothering", 3), ("moderate", 3),
        ("anything", 3), ("completely", 3),
        ("severe", 2), ("recovery", 4), ("emergency", 4), ("temperature", 4),
        ("paracetamol", 5), ("acetaminophen", 6), ("haematology", 5), ("procedure", 3),
        ("immunocompromised", 6), ("multidisciplinary", 7),
    ];

    #[test]
    fn syllables_match_a_dictionary_for_the_words_in_the_table() {
        let wrong: Vec<String> = KNOWN
            .iter()
            .filter(|(word, n)| syllables(word) != *n)
            .map(|(word, n)| format!("{word}: {} (dictionary {n})", syllables(word)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// Spanish words with their syllables (Real Academia Española division), chosen for each
    /// rule: diphthongs, hiatus of strong vowels, accented weak vowels, silent and sounded "u",
    /// "y" as vowel and as consonant.
    #[rustfmt::skip]
    const SPANISH: &[(&str, usize)] = &[
        ("y", 1), ("que", 1), ("muy", 1), ("hoy", 1), ("sol", 1), ("pie", 1),
        ("prueba", 2), ("después", 2), ("día", 2), ("días", 2), ("tiene", 2), ("fiebre", 2),
        ("cuánto", 2), ("ciudad", 2), ("país", 2), ("leer", 2), ("agua", 2), ("huevo", 2),
        ("guía", 2), ("reír", 2), ("baúl", 2), ("caer", 2), ("hoja", 2), ("zona", 2),
        ("aguja", 3), ("médula", 3), ("ósea", 3), ("equipo", 3), ("líquido", 3), ("oído", 3),
        ("hinchazón", 3), ("alcohol", 3), ("moretón", 3), ("pinchazo", 3), ("urgencias", 3),
        ("pingüino", 3), ("vendaje", 3), ("sangrado", 3), ("ayuda", 3), ("llame", 2),
        ("enseguida", 4), ("teléfono", 4), ("poesía", 4), ("aéreo", 4), ("infección", 3),
        ("temperatura", 5), ("paracetamol", 5), ("acetaminofén", 6), ("medicamento", 5),
    ];

    #[test]
    fn spanish_syllables_follow_the_spelling_rules() {
        let wrong: Vec<String> = SPANISH
            .iter()
            .filter(|(word, n)| spanish_syllables(word) != *n)
            .map(|(word, n)| format!("{word}: {} (expected {n})", spanish_syllables(word)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
        assert_eq!(spanish_syllables("¿Cómo"), 2);
    }

    #[test]
    fn fernandez_huerta_is_the_corrected_formula() {
        // 5 words, 8 syllables (hoy pue-de ir-se a ca-sa), 1 sentence:
        // 206.84 − 0.60 × 160 − 1.02 × 5 = 105.74.
        let ease = fernandez_huerta(["Hoy puede irse a casa."]).unwrap();
        assert!((ease - (206.84 - 0.60 * 160.0 - 1.02 * 5.0)).abs() < 1e-9, "{ease}");
        // The same words in shorter sentences read more easily, not less (Law 2011).
        let long = fernandez_huerta(["Llame ahora si tiene fiebre y llame si sangra mucho."]);
        let short = fernandez_huerta(["Llame ahora si tiene fiebre. Y llame si sangra mucho."]);
        assert!(short.unwrap() > long.unwrap());
        assert_eq!(fernandez_huerta(["38.0"]), None);
    }

    #[test]
    fn case_and_punctuation_do_not_change_a_word() {
        assert_eq!(syllables("Tomorrow,"), 3);
        assert_eq!(syllables("(paracetamol)"), 5);
        assert_eq!(syllables("don't"), 1);
        assert_eq!(syllables("°C"), 1);
    }

    #[test]
    fn sentences_end_at_stops_and_at_the_end_of_a_block_but_not_in_a_number() {
        assert_eq!(Counts::of("Sit down. Rest now!").sentences, 2);
        assert_eq!(Counts::of("Call if it is 38.0 °C or more").sentences, 1);
        assert_eq!(Counts::of("a temperature of 38.0 °C or more,").sentences, 1);
        assert_eq!(Counts::of_blocks(["No pain", "Mild soreness", "Call now."]).sentences, 3);
        assert_eq!(Counts::of("   ").sentences, 0);
        assert_eq!(Counts::of("Call 020 7946 0000 now.").words, 2, "numbers are not words");
    }

    /// The formula itself, against hand-worked counts.
    #[test]
    fn the_grade_is_the_kincaid_formula() {
        // 4 words, 1 sentence, 5 syllables: 0.39 × 4 + 11.8 × 5/4 − 15.59 = 0.72.
        let c = Counts::of("Keep it dry today.");
        assert_eq!(c, Counts { sentences: 1, words: 4, syllables: 5 });
        let expected = 0.39 * 4.0 + 11.8 * (5.0 / 4.0) - 15.59;
        assert!((c.grade().unwrap() - expected).abs() < 1e-9);
        assert_eq!(Counts::of("38.0").grade(), None);
        assert!(
            flesch_kincaid_grade("Sit down.")
                < flesch_kincaid_grade(
                    "Periprocedural anticoagulation necessitates individualised \
                     multidisciplinary consideration."
                )
        );
    }
}
