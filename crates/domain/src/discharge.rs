//! The discharge sheet: what the patient needs to know after a bone marrow test, in plain
//! words (short sentences, everyday terms; Flesch–Kincaid grade 6 or below in English, checked
//! by the tests of [`patient_text`](crate::patient_text)).
//!
//! Every instruction follows clinical reference §8 (after the procedure) and §6.2 (sedation),
//! cited beside each section. The words are [`Phrase`]s of the patient-text catalogue, so the
//! sheet reads the same in every [`Language`].

use crate::followup::IMMUNOCOMPROMISED_FEVER_TENTHS_CELSIUS;
use crate::patient_text::{Language, Phrase};

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
    /// The number to call, as the site gives it; `None` where the site has not set one
    /// ("your care team").
    pub phone: Option<String>,
    /// The fever threshold in tenths of °C (site setting; §8 default 38.0 °C).
    pub fever_tenths_celsius: u16,
}

fn celsius(tenths: u16) -> String {
    format!("{}.{} °C", tenths / 10, tenths % 10)
}

/// The sheet's sections in `language`, in reading order.
pub fn sheet(facts: &DischargeFacts, language: Language) -> Vec<Section> {
    let text = |phrase: Phrase| phrase.text(language).to_owned();
    let mut sections = Vec::new();
    // §8 "Going home" (Cleveland Clinic) and §6.2 escort after sedation [S×3].
    let mut home = vec![text(Phrase::GoHomeToday)];
    if facts.sedated {
        home.push(text(Phrase::SedatedSomeoneElseDrives));
        home.push(text(Phrase::SedatedFor24Hours));
        home.push(text(Phrase::SedatedAdultTonight));
    }
    sections.push(Section { heading: Phrase::HeadingGoingHome.text(language), lines: home });
    // §8 dressing, soaking, activity (Cleveland Clinic; NHLBI; Alberta MyHealth).
    let mut care = vec![
        text(Phrase::CareKeepDry),
        text(Phrase::CareShower),
        text(Phrase::CareNoSoaking),
        text(Phrase::CareNoLifting),
    ];
    if facts.trephine {
        care.push(text(Phrase::CareTwoSamples));
    }
    sections.push(Section { heading: Phrase::HeadingCare.text(language), lines: care });
    // §8 expected pain and bruising, pain relief.
    sections.push(Section {
        heading: Phrase::HeadingNormal.text(language),
        lines: vec![
            text(Phrase::NormalSore),
            text(Phrase::NormalBruise),
            text(Phrase::NormalPainRelief),
            text(Phrase::NormalPress),
        ],
    });
    // §8 "Call promptly for" (Cleveland Clinic; NHLBI; WebMD; KCH) and the fever threshold.
    let phone =
        facts.phone.clone().unwrap_or_else(|| Phrase::YourCareTeam.text(language).to_owned());
    let fever = celsius(facts.fever_tenths_celsius);
    let mut call = vec![
        Phrase::CallIfYouHave.fill(language, &[("phone", &phone)]),
        Phrase::CallFever.fill(language, &[("fever", &fever)]),
        text(Phrase::CallBleeding),
        text(Phrase::CallPus),
        text(Phrase::CallSwellingRednessPain),
    ];
    if facts.immunocompromised {
        // §8: IDSA febrile neutropenia; Cleveland Clinic BMT 37.8 °C. The lower of that and the
        // site's threshold, as the check-in's triage uses.
        let strict =
            celsius(facts.fever_tenths_celsius.min(IMMUNOCOMPROMISED_FEVER_TENTHS_CELSIUS));
        call.push(Phrase::CallImmunocompromised.fill(language, &[("fever", &strict)]));
    }
    sections.push(Section { heading: Phrase::HeadingCallNow.text(language), lines: call });
    sections.push(Section {
        heading: Phrase::HeadingTellUs.text(language),
        lines: vec![text(Phrase::TellUsTomorrow)],
    });
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> DischargeFacts {
        DischargeFacts {
            sedated: true,
            trephine: true,
            immunocompromised: false,
            phone: Some("020 7946 0000".into()),
            fever_tenths_celsius: 380,
        }
    }

    fn as_text(sections: &[Section]) -> String {
        sections.iter().map(|s| format!("## {}\n{}\n", s.heading, s.lines.join("\n"))).collect()
    }

    /// The whole sheet for one patient, as a committed snapshot: any change to the wording
    /// shows up here for review.
    #[test]
    fn snapshot_of_the_sheet_for_a_sedated_immunocompromised_patient() {
        let text = as_text(&sheet(
            &DischargeFacts { immunocompromised: true, ..facts() },
            Language::English,
        ));
        let expected = "\
## Going home
You can go home today.
You had medicine to make you sleepy. Someone else must drive you home.
For the next 24 hours, do not drive or use machines. Do not drink alcohol or sign important papers in that time.
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

    /// The same sheet in Spanish, for review by a Spanish-speaking clinician.
    #[test]
    fn snapshot_of_the_sheet_in_spanish() {
        let text = as_text(&sheet(
            &DischargeFacts { immunocompromised: true, ..facts() },
            Language::Spanish,
        ));
        let expected = "\
## Volver a casa
Hoy puede irse a casa.
Le dimos un medicamento que da sueño. Otra persona debe llevarle a casa en coche.
Durante las próximas 24 horas, no conduzca ni use máquinas. En ese tiempo, tampoco beba alcohol ni firme papeles importantes.
Un adulto debe quedarse con usted esta noche.
## Cuidado de la zona del pinchazo
No se quite el vendaje y manténgalo seco durante 24 horas.
Después de 24 horas, puede quitarse el vendaje y ducharse.
Durante 5 días, no se meta en la bañera, no nade y no use jacuzzis.
Durante 2 días, no levante cosas pesadas ni haga ejercicio fuerte. Puede caminar.
Tomamos dos muestras del mismo sitio. Los cuidados son los mismos.
## Qué es normal
La zona puede doler unos días. Puede notar el dolor al agacharse.
Es normal tener un pequeño moretón en la parte baja de la espalda.
Puede tomar paracetamol para el dolor. Pregúntenos antes de volver a tomar aspirina o medicamentos para diluir la sangre.
Si la zona sangra un poco, presiónela con firmeza durante 10 minutos.
## Cuándo llamarnos enseguida
Llame ahora a 020 7946 0000 si tiene:
una temperatura de 38.0 °C o más,
sangrado que no para después de 30 minutos presionando,
pus o líquido que sale de la zona,
hinchazón, piel caliente o roja, o un dolor que empeora.
Ahora su cuerpo tiene menos defensas contra los microbios. Llame enseguida si tiene una temperatura de 37.8 °C o más, incluso de noche.
## Cuéntenos cómo se encuentra
Mañana, por favor, responda unas preguntas en el enlace o el código QR de esta hoja.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn every_variant_has_as_many_lines_in_spanish_as_in_english() {
        for sedated in [false, true] {
            for trephine in [false, true] {
                for immunocompromised in [false, true] {
                    let f = DischargeFacts { sedated, trephine, immunocompromised, ..facts() };
                    let shape = |l| sheet(&f, l).iter().map(|s| s.lines.len()).collect::<Vec<_>>();
                    assert_eq!(shape(Language::Spanish), shape(Language::English), "{f:?}");
                }
            }
        }
    }

    #[test]
    fn sedation_means_someone_else_drives() {
        let with = sheet(&facts(), Language::English);
        assert!(with[0].lines.iter().any(|l| l.contains("Someone else must drive you home")));
        let without = sheet(&DischargeFacts { sedated: false, ..facts() }, Language::English);
        assert!(!without[0].lines.iter().any(|l| l.contains("drive")));
    }

    #[test]
    fn the_call_now_list_has_the_number_and_the_fever_threshold() {
        let s = sheet(&facts(), Language::English);
        let call = s.iter().find(|s| s.heading == "When to call us now").unwrap();
        assert_eq!(call.lines[0], "Call 020 7946 0000 now if you have:");
        assert_eq!(call.lines[1], "a temperature of 38.0 °C or more,");
        let weak = sheet(&DischargeFacts { immunocompromised: true, ..facts() }, Language::English);
        assert!(weak.iter().flat_map(|s| &s.lines).any(|l| l.contains("37.8 °C")));
        // A site threshold below 37.8 °C is the stricter one for everybody.
        let low = DischargeFacts { immunocompromised: true, fever_tenths_celsius: 375, ..facts() };
        let low = sheet(&low, Language::English);
        assert!(
            low.iter()
                .flat_map(|s| &s.lines)
                .any(|l| l.contains("temperature of 37.5 °C or more, even"))
        );
    }

    #[test]
    fn without_a_site_number_the_patient_calls_their_care_team() {
        let none = DischargeFacts { phone: None, ..facts() };
        let english = sheet(&none, Language::English);
        assert_eq!(english[3].lines[0], "Call your care team now if you have:");
        let spanish = sheet(&none, Language::Spanish);
        assert_eq!(spanish[3].lines[0], "Llame ahora a su equipo médico si tiene:");
    }
}
