//! The discharge sheet: what the patient needs to know after a bone marrow test, in plain
//! words (short sentences, everyday terms; aimed at a 6th-grade reading level).
//!
//! Every instruction follows clinical reference §8 (after the procedure) and §6.2 (sedation),
//! cited beside each section.

/// A heading and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading.
    pub heading: &'static str,
    /// Short sentences.
    pub lines: Vec<String>,
}

/// What the sheet depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DischargeFacts {
    /// Sedation was given: someone else drives, no driving or big decisions for 24 h.
    pub sedated: bool,
    /// A trephine core was taken (the same care applies; it is mentioned so the patient
    /// recognises the two samples).
    pub trephine: bool,
    /// The patient is immunocompromised: stricter fever advice.
    pub immunocompromised: bool,
    /// The number to call, as the site gives it.
    pub phone: String,
    /// The fever threshold in tenths of °C (site setting; §8 default 38.0 °C).
    pub fever_tenths_celsius: u16,
}

/// The sheet's sections, in reading order.
pub fn sheet(facts: &DischargeFacts) -> Vec<Section> {
    let mut sections = Vec::new();
    // §8 "Going home" (Cleveland Clinic) and §6.2 escort after sedation [S×3].
    let mut home = vec!["You can go home today.".to_owned()];
    if facts.sedated {
        home.push("You had medicine to make you sleepy. Someone else must drive you home.".into());
        home.push(
            "For 24 hours, do not drive, use machines, drink alcohol or sign important papers."
                .into(),
        );
        home.push("An adult should stay with you tonight.".into());
    }
    sections.push(Section { heading: "Going home", lines: home });
    // §8 dressing, soaking, activity (Cleveland Clinic; NHLBI; Alberta MyHealth).
    let mut care = vec![
        "Keep the bandage on and keep it dry for 24 hours.".to_owned(),
        "After 24 hours you can take the bandage off and shower.".into(),
        "Do not take a bath, swim or use a hot tub for 5 days.".into(),
        "Do not lift heavy things or do hard exercise for 2 days. Walking is fine.".into(),
    ];
    if facts.trephine {
        care.push("We took two samples from the same spot. The care is the same.".into());
    }
    sections.push(Section { heading: "Caring for the needle site", lines: care });
    // §8 expected pain and bruising, pain relief.
    sections.push(Section {
        heading: "What is normal",
        lines: vec![
            "The spot may be sore for a few days. You may feel it when you bend.".into(),
            "A small bruise on your lower back is normal.".into(),
            "You can take paracetamol for pain. Ask us before you take aspirin or blood thinners again.".into(),
            "If the spot bleeds a little, press on it firmly for 10 minutes.".into(),
        ],
    });
    // §8 "Call promptly for" (Cleveland Clinic; NHLBI; WebMD; KCH) and the fever threshold.
    let fever =
        format!("{}.{} °C", facts.fever_tenths_celsius / 10, facts.fever_tenths_celsius % 10);
    let mut call = vec![
        format!("Call {} now if you have:", facts.phone),
        format!("a temperature of {fever} or more,"),
        "bleeding that does not stop after 30 minutes of pressing,".into(),
        "pus or fluid coming from the spot,".into(),
        "swelling, warm or red skin, or pain that gets worse.".into(),
    ];
    if facts.immunocompromised {
        // §8: IDSA febrile neutropenia; Cleveland Clinic BMT 37.8 °C.
        call.push("Your body is weaker at fighting germs now. Call at once for a temperature of 37.8 °C or more, even at night.".into());
    }
    sections.push(Section { heading: "When to call us now", lines: call });
    sections.push(Section {
        heading: "Tell us how you are",
        lines: vec![
            "Tomorrow, please answer a few questions at the link or QR code on this sheet.".into(),
        ],
    });
    sections
}

/// The Flesch–Kincaid grade of a text: 0.39 × words per sentence + 11.8 × syllables per word
/// − 15.59 (Kincaid et al. 1975). Syllables are counted by vowel groups, a standard
/// approximation.
pub fn flesch_kincaid_grade(text: &str) -> f64 {
    let sentences = text
        .split(['.', '!', '?', ':'])
        .filter(|s| s.split_whitespace().next().is_some())
        .count()
        .max(1);
    let words: Vec<&str> =
        text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect();
    let syllables: usize = words.iter().map(|w| syllables(w)).sum();
    let n = words.len().max(1) as f64;
    0.39 * (n / sentences as f64) + 11.8 * (syllables as f64 / n) - 15.59
}

fn syllables(word: &str) -> usize {
    let w: Vec<char> = word.to_lowercase().chars().filter(|c| c.is_alphabetic()).collect();
    let vowel = |c: &char| "aeiouy".contains(*c);
    let mut count = 0;
    let mut previous = false;
    for c in &w {
        let v = vowel(c);
        if v && !previous {
            count += 1;
        }
        previous = v;
    }
    // A silent final "e" ("home", "take") is not a syllable.
    if w.len() > 2 && w.ends_with(&['e']) && !w.ends_with(&['l', 'e']) && count > 1 {
        count -= 1;
    }
    count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> DischargeFacts {
        DischargeFacts {
            sedated: true,
            trephine: true,
            immunocompromised: false,
            phone: "020 7946 0000".into(),
            fever_tenths_celsius: 380,
        }
    }

    /// The whole sheet for one patient, as a committed snapshot: any change to the wording
    /// shows up here for review.
    #[test]
    fn snapshot_of_the_sheet_for_a_sedated_immunocompromised_patient() {
        let text: String = sheet(&DischargeFacts { immunocompromised: true, ..facts() })
            .iter()
            .map(|s| format!("## {}\n{}\n", s.heading, s.lines.join("\n")))
            .collect();
        let expected = "\
## Going home
You can go home today.
You had medicine to make you sleepy. Someone else must drive you home.
For 24 hours, do not drive, use machines, drink alcohol or sign important papers.
An adult should stay with you tonight.
## Caring for the needle site
Keep the bandage on and keep it dry for 24 hours.
After 24 hours you can take the bandage off and shower.
Do not take a bath, swim or use a hot tub for 5 days.
Do not lift heavy things or do hard exercise for 2 days. Walking is fine.
We took two samples from the same spot. The care is the same.
## What is normal
The spot may be sore for a few days. You may feel it when you bend.
A small bruise on your lower back is normal.
You can take paracetamol for pain. Ask us before you take aspirin or blood thinners again.
If the spot bleeds a little, press on it firmly for 10 minutes.
## When to call us now
Call 020 7946 0000 now if you have:
a temperature of 38.0 °C or more,
bleeding that does not stop after 30 minutes of pressing,
pus or fluid coming from the spot,
swelling, warm or red skin, or pain that gets worse.
Your body is weaker at fighting germs now. Call at once for a temperature of 37.8 °C or more, even at night.
## Tell us how you are
Tomorrow, please answer a few questions at the link or QR code on this sheet.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn sedation_means_someone_else_drives() {
        let with = sheet(&facts());
        assert!(with[0].lines.iter().any(|l| l.contains("Someone else must drive you home")));
        let without = sheet(&DischargeFacts { sedated: false, ..facts() });
        assert!(!without[0].lines.iter().any(|l| l.contains("drive")));
    }

    #[test]
    fn the_call_now_list_has_the_number_and_the_fever_threshold() {
        let s = sheet(&facts());
        let call = s.iter().find(|s| s.heading == "When to call us now").unwrap();
        assert_eq!(call.lines[0], "Call 020 7946 0000 now if you have:");
        assert_eq!(call.lines[1], "a temperature of 38.0 °C or more,");
        let weak = sheet(&DischargeFacts { immunocompromised: true, ..facts() });
        assert!(weak.iter().flat_map(|s| &s.lines).any(|l| l.contains("37.8 °C")));
    }

    #[test]
    fn the_sheet_reads_at_about_a_sixth_grade_level() {
        let text: String = sheet(&DischargeFacts { immunocompromised: true, ..facts() })
            .iter()
            .flat_map(|s| s.lines.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let grade = flesch_kincaid_grade(&text);
        assert!(grade <= 6.0, "Flesch–Kincaid grade {grade:.1}");
        // The formula itself: a hard sentence scores far higher than an easy one.
        assert!(
            flesch_kincaid_grade("Sit down.")
                < flesch_kincaid_grade(
                    "Periprocedural anticoagulation necessitates individualised multidisciplinary consideration."
                )
        );
    }
}
