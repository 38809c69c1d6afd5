//! Every word a patient reads, in every language we offer: the one catalogue behind the
//! check-in form, its error messages, the result page, and the discharge sheet (page and PDF).
//!
//! A [`Phrase`] is one piece of text; [`Phrase::text`] gives it in a [`Language`]. Each language
//! is one table, a `match` over every phrase, so a phrase missing from a language does not
//! compile; the tests add that no text is blank, that Spanish is not a copy of the English,
//! and that every `{placeholder}` of the English is in the Spanish too.
//!
//! Writing rules, for every language: short sentences, everyday words, the polite "usted" in
//! Spanish, numbers as digits. English texts are held to a Flesch–Kincaid grade of 6 or below
//! (see [`readability`](crate::readability) and this module's tests). Clinical sources are cited
//! where the rules use a text ([`followup`](crate::followup), [`discharge`](crate::discharge)),
//! not here: a translation changes the words, never the advice.
//!
//! The Spanish is neutral international Spanish: "usted", "moretón", "urgencias",
//! "paracetamol (acetaminofén)" so both European and American readers know the medicine.

code_enum! {
    /// The language a patient reads their pages and discharge sheet in. Stored with the patient
    /// (`patients.language`); a page can be switched with `?lang=`.
    pub enum Language : "language" {
        English => ("en", "English"),
        Spanish => ("es", "Spanish"),
    }
}

impl Default for Language {
    /// English, for a patient registered before languages were recorded.
    fn default() -> Self {
        Language::English
    }
}

impl Language {
    /// Parses a stored or submitted code; a blank value is English, the default.
    pub fn parse_or_default(raw: &str) -> Result<Self, crate::FieldError> {
        if raw.trim().is_empty() { Ok(Language::English) } else { Language::parse(raw) }
    }
}

/// Declares the phrases and the list of all of them from one list, so `ALL` cannot miss one.
macro_rules! phrases {
    ($( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {
        /// One piece of patient-facing text. Its words in each language come from
        /// [`Phrase::text`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Phrase {
            $( $(#[$meta])* $name ),+
        }

        impl Phrase {
            /// Every phrase, in the order of this module.
            pub const ALL: &'static [Phrase] = &[$(Phrase::$name),+];
        }
    };
}

phrases! {
    // Every patient page.
    /// The heading of the language switch (read by screen readers).
    ChooseLanguage,
    /// The switch link to a language, written in that language.
    ReadInThisLanguage,
    // The check-in form.
    /// Page title and heading.
    CheckInTitle,
    /// Greeting; `{name}` is the given name.
    CheckInHello,
    /// Temperature question.
    TemperatureQuestion,
    /// Bleeding question.
    BleedingQuestion,
    /// Answer: no bleeding.
    BleedingNone,
    /// Answer: a spot on the dressing.
    BleedingSpot,
    /// Answer: bleeding that stops with pressure.
    BleedingStopsWithPressure,
    /// Answer: bleeding that does not stop.
    BleedingDoesNotStop,
    /// Question on signs at the site.
    SignsQuestion,
    /// Sign: pus or fluid.
    SignDischarge,
    /// Sign: swelling.
    SignSwelling,
    /// Sign: warm or red skin.
    SignWarmthOrRedness,
    /// Pain question.
    PainQuestion,
    /// Answer: no pain.
    PainNone,
    /// Answer: mild.
    PainMild,
    /// Answer: moderate.
    PainModerate,
    /// Answer: severe.
    PainSevere,
    /// Answer: getting worse.
    PainGettingWorse,
    /// Free-text question.
    NotesQuestion,
    /// The submit button.
    SendAnswers,
    // What the form says when an answer cannot be used.
    /// Heading of the error summary.
    CheckAnswers,
    /// A temperature that is not a number in range.
    TemperatureHelp,
    /// No bleeding answer chosen.
    ChooseBleeding,
    /// No pain answer chosen.
    ChoosePain,
    /// Notes too long; `{max}` is the limit.
    NotesTooLong,
    /// Notes with characters a form cannot hold.
    NotesInvalid,
    /// Heading: the link does not work.
    LinkNotValidTitle,
    /// A wrong, expired or malformed link.
    LinkNotValid,
    /// Heading: the form must be opened again.
    FormExpiredTitle,
    /// The form's one-time token is stale.
    FormExpired,
    // The result page.
    /// Outcome heading: expected recovery.
    OutcomeExpectedRecovery,
    /// Outcome heading: contact the team within a day.
    OutcomeContactWithinADay,
    /// Outcome heading: call now.
    OutcomeCallNow,
    /// The urgent notice under a "call now" heading.
    CallNowNotice,
    /// Closing line.
    AnswersSent,
    // The reasons of the triage, one per rule of `followup::triage`.
    /// Fever; `{temperature}`.
    ReasonFever,
    /// Fever when immunocompromised; `{temperature}`.
    ReasonFeverImmunocompromised,
    /// Bleeding that does not stop.
    ReasonBleedingDoesNotStop,
    /// Bleeding that stops with pressure.
    ReasonBleedingStopsWithPressure,
    /// Pus or fluid.
    ReasonDischarge,
    /// Swelling.
    ReasonSwelling,
    /// Warm or red skin.
    ReasonWarmthOrRedness,
    /// Severe pain.
    ReasonPainSevere,
    /// Pain getting worse.
    ReasonPainGettingWorse,
    /// Moderate pain.
    ReasonPainModerate,
    /// The patient wrote a note.
    ReasonNotes,
    /// Nothing more than expected.
    ReasonExpected,
    // The discharge sheet.
    /// Title.
    SheetTitle,
    /// Whose sheet; `{name}` is the full name.
    SheetFor,
    /// Heading: going home.
    HeadingGoingHome,
    /// Going home today.
    GoHomeToday,
    /// Sedated: someone else drives.
    SedatedSomeoneElseDrives,
    /// Sedated: 24 hours without driving, machines, alcohol, signatures.
    SedatedFor24Hours,
    /// Sedated: an adult stays overnight.
    SedatedAdultTonight,
    /// Heading: caring for the site.
    HeadingCare,
    /// Keep the dressing on and dry.
    CareKeepDry,
    /// Shower after 24 hours.
    CareShower,
    /// No soaking for 5 days.
    CareNoSoaking,
    /// No heavy lifting for 2 days.
    CareNoLifting,
    /// A trephine was taken too.
    CareTwoSamples,
    /// Heading: what is normal.
    HeadingNormal,
    /// Soreness.
    NormalSore,
    /// Bruising.
    NormalBruise,
    /// Pain relief.
    NormalPainRelief,
    /// A little bleeding: press.
    NormalPress,
    /// Heading: when to call.
    HeadingCallNow,
    /// Lead-in of the list; `{phone}` is the site's number or [`Phrase::YourCareTeam`].
    CallIfYouHave,
    /// Fever; `{fever}` is the threshold.
    CallFever,
    /// Bleeding that does not stop.
    CallBleeding,
    /// Pus or fluid.
    CallPus,
    /// Swelling, warmth, redness, worse pain.
    CallSwellingRednessPain,
    /// Immunocompromised; `{fever}` is the stricter threshold.
    CallImmunocompromised,
    /// Heading: tell us how you are.
    HeadingTellUs,
    /// The check-in tomorrow.
    TellUsTomorrow,
    /// Who to call when the site has not set a number.
    YourCareTeam,
    /// Label of the check-in link.
    CheckInLink,
    /// Text of the QR code picture.
    QrCodeLabel,
    /// Link to the PDF.
    DownloadPdf,
}

impl Phrase {
    /// The text in `language`, with its `{placeholders}` still in it (see [`Phrase::fill`]).
    pub fn text(self, language: Language) -> &'static str {
        match language {
            Language::English => english(self),
            Language::Spanish => spanish(self),
        }
    }

    /// The text in `language` with each `{name}` replaced by its value.
    pub fn fill(self, language: Language, values: &[(&str, &str)]) -> String {
        let mut text = self.text(language).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// The `{placeholders}` in the text, in order.
    pub fn placeholders(self, language: Language) -> Vec<&'static str> {
        let text = self.text(language);
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            found.push(&rest[start + 1..start + len]);
            rest = &rest[start + len + 1..];
        }
        found
    }
}

fn english(phrase: Phrase) -> &'static str {
    use Phrase::*;
    match phrase {
        ChooseLanguage => "Choose a language",
        ReadInThisLanguage => "Read in English",
        CheckInTitle => "How are you after your bone marrow test?",
        CheckInHello => "Hello {name}. Please answer a few questions. It takes about two minutes.",
        TemperatureQuestion => "Your temperature in °C (leave empty if you did not measure it)",
        BleedingQuestion => "Is the needle site bleeding?",
        BleedingNone => "No bleeding",
        BleedingSpot => "A small spot of blood on the dressing",
        BleedingStopsWithPressure => "Bleeding that stops when I press on it",
        BleedingDoesNotStop => "Bleeding that does not stop when I press on it",
        SignsQuestion => "Do you see any of these at the site?",
        SignDischarge => "Pus or fluid coming out",
        SignSwelling => "Swelling or puffy skin",
        SignWarmthOrRedness => "Warm or red skin",
        PainQuestion => "How much pain do you have?",
        PainNone => "No pain",
        PainMild => "Mild soreness",
        PainModerate => "Pain that is hard to ignore",
        PainSevere => "Severe pain",
        PainGettingWorse => "Pain that is getting worse",
        NotesQuestion => "Anything else you want to tell us?",
        SendAnswers => "Send my answers",
        CheckAnswers => "Please check your answers",
        TemperatureHelp => "Please type your temperature in °C. For example: 37.5",
        ChooseBleeding => "Please choose one answer about bleeding.",
        ChoosePain => "Please choose one answer about pain.",
        NotesTooLong => "Your note is too long. Please use at most {max} characters.",
        NotesInvalid => "Your note has a character we cannot read. Please type it again.",
        LinkNotValidTitle => "This link does not work",
        LinkNotValid => {
            "This link is not valid. It may have expired; please call the number on your sheet."
        }
        FormExpiredTitle => "Please try again",
        FormExpired => "This form has expired. Please open your link again.",
        OutcomeExpectedRecovery => "You are healing as expected",
        OutcomeContactWithinADay => "Call the team within a day",
        OutcomeCallNow => "Call now",
        CallNowNotice => {
            "Please call the number on your sheet now. If no one answers, go to the emergency \
             department."
        }
        AnswersSent => "Thank you. We have sent your answers to your care team.",
        ReasonFever => "You have a fever of {temperature}. Call the number on your sheet now.",
        ReasonFeverImmunocompromised => {
            "Your temperature is {temperature}. A fever can be serious when your immune system \
             is weak. It can mean an infection when you have few white blood cells. This is an \
             emergency: you may need medicine within an hour. Call the number on your sheet now."
        }
        ReasonBleedingDoesNotStop => {
            "Your needle site is bleeding and it does not stop when you press on it. Keep \
             pressing firmly on it. Call the number on your sheet now."
        }
        ReasonBleedingStopsWithPressure => {
            "A little bleeding that stops when you press is OK. If it bleeds again, press firmly \
             on it with a clean cloth for at least 10 minutes. If it still bleeds after 30 \
             minutes of pressing, call the number on your sheet now."
        }
        ReasonDischarge => {
            "Pus or fluid is coming from your needle site. This can be a sign of infection. Call \
             the number on your sheet now."
        }
        ReasonSwelling => {
            "You have swelling at your needle site. Call the number on your sheet within a day so \
             the team can check it. Call now if it gets worse or you get a fever."
        }
        ReasonWarmthOrRedness => {
            "The skin at your needle site is warm or red. This can be a sign of infection. Call \
             the number on your sheet within a day. Call now if it spreads or you get a fever."
        }
        ReasonPainSevere => {
            "You have severe pain. This is more than we expect. Call the number on your sheet now."
        }
        ReasonPainGettingWorse => {
            "You have pain that is getting worse. This is more than we expect. Call the number \
             on your sheet now."
        }
        ReasonPainModerate => {
            "Your pain is hard to ignore. You can take paracetamol (acetaminophen) as your sheet \
             says. Ask us before you take aspirin. Call the number on your sheet within a day. \
             Call now if the pain gets worse."
        }
        ReasonNotes => {
            "Thank you for your note. The team will read it, but maybe not right away. If you \
             are worried, call the number on your sheet."
        }
        ReasonExpected => "Mild soreness and a small bruise are normal for a few days.",
        SheetTitle => "After your bone marrow test",
        SheetFor => "For: {name}",
        HeadingGoingHome => "Going home",
        GoHomeToday => "You can go home today.",
        SedatedSomeoneElseDrives => {
            "You had medicine to make you sleepy. Someone else must drive you home."
        }
        SedatedFor24Hours => {
            "For the next 24 hours, do not drive or use machines. Do not drink alcohol or sign \
             important papers in that time."
        }
        SedatedAdultTonight => "An adult should stay with you tonight.",
        HeadingCare => "Caring for the needle site",
        CareKeepDry => "Keep the bandage on and keep it dry for 24 hours.",
        CareShower => "After 24 hours you can take the bandage off and shower.",
        CareNoSoaking => "Do not take a bath, swim or use a hot tub for 5 days.",
        CareNoLifting => {
            "Do not lift heavy things or do hard exercise for 2 days. Walking is fine."
        }
        CareTwoSamples => "We took two samples from the same spot. The care is the same.",
        HeadingNormal => "What is normal",
        NormalSore => "The spot may be sore for a few days. You may feel it when you bend.",
        NormalBruise => "A small bruise on your lower back is normal.",
        NormalPainRelief => {
            "You can take paracetamol for pain. Ask us before you take aspirin or blood thinners \
             again."
        }
        NormalPress => "If the spot bleeds a little, press on it firmly for 10 minutes.",
        HeadingCallNow => "When to call us now",
        CallIfYouHave => "Call {phone} now if you have:",
        CallFever => "a temperature of {fever} or more,",
        CallBleeding => "bleeding that does not stop after 30 minutes of pressing,",
        CallPus => "pus or fluid coming from the spot,",
        CallSwellingRednessPain => "swelling, warm or red skin, or pain that gets worse.",
        CallImmunocompromised => {
            "Your body is weaker at fighting germs now. Call at once for a temperature of \
             {fever} or more, even at night."
        }
        HeadingTellUs => "Tell us how you are",
        TellUsTomorrow => {
            "Tomorrow, please answer a few questions at the link or QR code on this sheet."
        }
        YourCareTeam => "your care team",
        CheckInLink => "Check-in link:",
        QrCodeLabel => "QR code of the check-in link",
        DownloadPdf => "Download this sheet as a PDF",
    }
}

fn spanish(phrase: Phrase) -> &'static str {
    use Phrase::*;
    match phrase {
        ChooseLanguage => "Elija un idioma",
        ReadInThisLanguage => "Leer en español",
        CheckInTitle => "¿Cómo se encuentra después de su prueba de médula ósea?",
        CheckInHello => {
            "Hola, {name}. Por favor, responda unas preguntas. Le llevará unos dos minutos."
        }
        TemperatureQuestion => "Su temperatura en °C (déjelo en blanco si no se la ha tomado)",
        BleedingQuestion => "¿Le sangra la zona del pinchazo?",
        BleedingNone => "No sangra",
        BleedingSpot => "Una pequeña mancha de sangre en el vendaje",
        BleedingStopsWithPressure => "Sangra, pero para cuando presiono",
        BleedingDoesNotStop => "Sangra y no para aunque presione",
        SignsQuestion => "¿Ve alguna de estas cosas en la zona del pinchazo?",
        SignDischarge => "Sale pus o líquido",
        SignSwelling => "La zona está hinchada",
        SignWarmthOrRedness => "Piel caliente o roja",
        PainQuestion => "¿Cuánto dolor tiene?",
        PainNone => "No me duele",
        PainMild => "Me duele un poco",
        PainModerate => "Un dolor que me cuesta ignorar",
        PainSevere => "Un dolor fuerte",
        PainGettingWorse => "Un dolor que está empeorando",
        NotesQuestion => "¿Quiere contarnos algo más?",
        SendAnswers => "Enviar mis respuestas",
        CheckAnswers => "Por favor, revise sus respuestas",
        TemperatureHelp => "Por favor, escriba su temperatura en °C. Por ejemplo: 37.5",
        ChooseBleeding => "Por favor, elija una respuesta sobre el sangrado.",
        ChoosePain => "Por favor, elija una respuesta sobre el dolor.",
        NotesTooLong => "Su nota es demasiado larga. Use como máximo {max} caracteres.",
        NotesInvalid => {
            "Su nota tiene un carácter que no podemos leer. Por favor, escríbala otra vez."
        }
        LinkNotValidTitle => "Este enlace no funciona",
        LinkNotValid => {
            "Este enlace no es válido. Puede que haya caducado. Por favor, llame al número de \
             teléfono de su hoja."
        }
        FormExpiredTitle => "Por favor, inténtelo otra vez",
        FormExpired => "Este formulario ha caducado. Por favor, abra su enlace otra vez.",
        OutcomeExpectedRecovery => "Se está recuperando con normalidad",
        OutcomeContactWithinADay => "Llame al equipo en las próximas 24 horas",
        OutcomeCallNow => "Llame ahora",
        CallNowNotice => {
            "Por favor, llame ahora al número de teléfono de su hoja. Si nadie contesta, vaya a \
             urgencias."
        }
        AnswersSent => "Gracias. Hemos enviado sus respuestas a su equipo médico.",
        ReasonFever => {
            "Tiene {temperature} de fiebre. Llame ahora al número de teléfono de su hoja."
        }
        ReasonFeverImmunocompromised => {
            "Su temperatura es de {temperature}. La fiebre puede ser grave cuando sus defensas \
             están bajas. Puede ser una infección si tiene pocos glóbulos blancos. Es una \
             urgencia: puede necesitar tratamiento en menos de una hora. Llame ahora al número \
             de teléfono de su hoja."
        }
        ReasonBleedingDoesNotStop => {
            "La zona del pinchazo sangra y no para aunque presione. Siga presionando con firmeza. \
             Llame ahora al número de teléfono de su hoja."
        }
        ReasonBleedingStopsWithPressure => {
            "Es normal que sangre un poco y que pare al presionar. Si vuelve a sangrar, \
             presione con firmeza con un paño limpio durante al menos 10 minutos. Si sigue sangrando \
             después de 30 minutos presionando, llame ahora al número de teléfono de su hoja."
        }
        ReasonDischarge => {
            "Sale pus o líquido de la zona del pinchazo. Puede ser una señal de infección. Llame \
             ahora al número de teléfono de su hoja."
        }
        ReasonSwelling => {
            "La zona del pinchazo está hinchada. Llame al número de teléfono de su hoja en las \
             próximas 24 horas para que el equipo la revise. Llame ahora si empeora o si tiene \
             fiebre."
        }
        ReasonWarmthOrRedness => {
            "La piel de la zona del pinchazo está caliente o roja. Puede ser una señal de \
             infección. Llame al número de teléfono de su hoja en las próximas 24 horas. Llame \
             ahora si la zona roja crece o si tiene fiebre."
        }
        ReasonPainSevere => {
            "Tiene un dolor fuerte. Es más de lo que esperamos. Llame ahora al número de \
             teléfono de su hoja."
        }
        ReasonPainGettingWorse => {
            "Tiene un dolor que está empeorando. Es más de lo que esperamos. Llame ahora al número de \
             teléfono de su hoja."
        }
        ReasonPainModerate => {
            "Tiene un dolor que le cuesta ignorar. Puede tomar paracetamol (acetaminofén) como \
             dice su hoja. Pregúntenos antes de tomar aspirina. Llame al número de teléfono de \
             su hoja en las próximas 24 horas. Llame ahora si el dolor empeora."
        }
        ReasonNotes => {
            "Gracias por su nota. El equipo la leerá, pero quizá no enseguida. Si algo le \
             preocupa, llame al número de teléfono de su hoja."
        }
        ReasonExpected => {
            "Es normal tener un poco de dolor y un pequeño moretón durante unos días."
        }
        SheetTitle => "Después de su prueba de médula ósea",
        SheetFor => "Para: {name}",
        HeadingGoingHome => "Volver a casa",
        GoHomeToday => "Hoy puede irse a casa.",
        SedatedSomeoneElseDrives => {
            "Le dimos un medicamento que da sueño. Otra persona debe llevarle a casa en \
             coche."
        }
        SedatedFor24Hours => {
            "Durante las próximas 24 horas, no conduzca ni use máquinas. En ese tiempo, tampoco \
             beba alcohol ni firme papeles importantes."
        }
        SedatedAdultTonight => "Un adulto debe quedarse con usted esta noche.",
        HeadingCare => "Cuidado de la zona del pinchazo",
        CareKeepDry => "No se quite el vendaje y manténgalo seco durante 24 horas.",
        CareShower => "Después de 24 horas, puede quitarse el vendaje y ducharse.",
        CareNoSoaking => "Durante 5 días, no se meta en la bañera, no nade y no use jacuzzis.",
        CareNoLifting => {
            "Durante 2 días, no levante cosas pesadas ni haga ejercicio fuerte. Puede caminar."
        }
        CareTwoSamples => "Tomamos dos muestras del mismo sitio. Los cuidados son los mismos.",
        HeadingNormal => "Qué es normal",
        NormalSore => "La zona puede doler unos días. Puede notar el dolor al agacharse.",
        NormalBruise => "Es normal tener un pequeño moretón en la parte baja de la espalda.",
        NormalPainRelief => {
            "Puede tomar paracetamol para el dolor. Pregúntenos antes de volver a tomar aspirina \
             o medicamentos para diluir la sangre."
        }
        NormalPress => "Si la zona sangra un poco, presiónela con firmeza durante 10 minutos.",
        HeadingCallNow => "Cuándo llamarnos enseguida",
        CallIfYouHave => "Llame ahora a {phone} si tiene:",
        CallFever => "una temperatura de {fever} o más,",
        CallBleeding => "sangrado que no para después de 30 minutos presionando,",
        CallPus => "pus o líquido que sale de la zona,",
        CallSwellingRednessPain => "hinchazón, piel caliente o roja, o un dolor que empeora.",
        CallImmunocompromised => {
            "Ahora su cuerpo tiene menos defensas contra los microbios. Llame enseguida si tiene \
             una temperatura de {fever} o más, incluso de noche."
        }
        HeadingTellUs => "Cuéntenos cómo se encuentra",
        TellUsTomorrow => {
            "Mañana, por favor, responda unas preguntas en el enlace o el código QR de esta hoja."
        }
        YourCareTeam => "su equipo médico",
        CheckInLink => "Enlace para contarnos cómo está:",
        QrCodeLabel => "Código QR del enlace para contarnos cómo está",
        DownloadPdf => "Descargar esta hoja en PDF",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_has_text_in_every_language_and_the_spanish_is_not_the_english() {
        for &phrase in Phrase::ALL {
            for &language in Language::ALL {
                let text = phrase.text(language);
                assert!(!text.trim().is_empty(), "{phrase:?} is blank in {language:?}");
                assert_eq!(text, text.trim(), "{phrase:?} in {language:?} has stray spaces");
                assert!(!text.contains("  "), "{phrase:?} in {language:?} has a double space");
            }
            assert_ne!(
                phrase.text(Language::Spanish),
                phrase.text(Language::English),
                "{phrase:?} is not translated"
            );
        }
    }

    #[test]
    fn every_placeholder_is_in_every_language() {
        for &phrase in Phrase::ALL {
            let mut english = phrase.placeholders(Language::English);
            english.sort_unstable();
            for &language in Language::ALL {
                let mut other = phrase.placeholders(language);
                other.sort_unstable();
                assert_eq!(other, english, "{phrase:?} in {language:?}");
            }
        }
    }

    #[test]
    fn all_lists_every_phrase_once() {
        let mut seen = std::collections::HashSet::new();
        for &phrase in Phrase::ALL {
            assert!(seen.insert(phrase), "{phrase:?} twice");
        }
        // The last variant is in the list: `phrases!` builds both from one list.
        assert_eq!(Phrase::ALL.last(), Some(&Phrase::DownloadPdf));
    }

    #[test]
    fn fill_replaces_each_placeholder() {
        let text = Phrase::CallIfYouHave.fill(Language::Spanish, &[("phone", "020 7946 0000")]);
        assert_eq!(text, "Llame ahora a 020 7946 0000 si tiene:");
        assert_eq!(Phrase::SheetFor.placeholders(Language::English), ["name"]);
    }

    #[test]
    fn a_blank_language_is_english_and_a_wrong_one_names_the_field() {
        assert_eq!(Language::parse_or_default(""), Ok(Language::English));
        assert_eq!(Language::parse_or_default(" es "), Ok(Language::Spanish));
        let err = Language::parse_or_default("fr").unwrap_err();
        assert_eq!(err.field, "language");
        assert_eq!(Language::default(), Language::English);
    }
}

/// The patient pages, measured. English: Flesch–Kincaid grade 6 or below for every phrase on
/// its own and for every page as a whole (each variant of the discharge sheet, the check-in form
/// with and without each error, and the result page for each answer that changes it). Spanish:
/// the same pages, Fernández-Huerta reading ease 70 or above ("fairly easy", about a 6th grade).
#[cfg(test)]
mod reading_level {
    use super::*;
    use crate::discharge::{DischargeFacts, sheet};
    use crate::followup::{Bleeding, CheckIn, CheckInInput, Pain, Triage, TriageContext, triage};
    use crate::readability::{fernandez_huerta, flesch_kincaid_grade_of_blocks};

    /// The highest grade an English patient text may have.
    const MAX_GRADE: f64 = 6.0;
    /// The lowest Fernández-Huerta reading ease a Spanish patient page may have.
    const MIN_SPANISH_EASE: f64 = 70.0;

    /// Placeholders filled with short sample values: a name or a number is not our wording.
    const SAMPLE: &[(&str, &str)] = &[
        ("name", "Sam"),
        ("phone", "020 7946 0000"),
        ("fever", "38.0 °C"),
        ("temperature", "38.4 °C"),
        ("max", "1000"),
    ];

    type Pages = Vec<(String, Vec<String>)>;

    fn check_in_form(language: Language) -> Vec<String> {
        let mut blocks: Vec<Phrase> = vec![
            Phrase::CheckInTitle,
            Phrase::CheckInHello,
            Phrase::TemperatureQuestion,
            Phrase::BleedingQuestion,
        ];
        blocks.extend(Bleeding::ALL.iter().map(|b| b.phrase()));
        blocks.extend([
            Phrase::SignsQuestion,
            Phrase::SignDischarge,
            Phrase::SignSwelling,
            Phrase::SignWarmthOrRedness,
            Phrase::PainQuestion,
        ]);
        blocks.extend(Pain::ALL.iter().map(|p| p.phrase()));
        blocks.extend([Phrase::NotesQuestion, Phrase::SendAnswers]);
        blocks.into_iter().map(|p| p.fill(language, SAMPLE)).collect()
    }

    fn result_page(
        input: CheckInInput<'_>,
        context: TriageContext,
        language: Language,
    ) -> Vec<String> {
        let text = |p: Phrase| p.fill(language, SAMPLE);
        let assessment = triage(&CheckIn::parse(&input).unwrap(), &context);
        let mut blocks = vec![text(assessment.outcome.phrase())];
        if assessment.outcome == Triage::CallNow {
            blocks.push(text(Phrase::CallNowNotice));
        }
        blocks.extend(assessment.reasons.iter().map(|r| r.text(language)));
        blocks.push(text(Phrase::AnswersSent));
        blocks
    }

    /// Every patient page in `language`, as the templates put the phrases together.
    fn pages(language: Language) -> Pages {
        let text = |p: Phrase| p.fill(language, SAMPLE);
        let mut pages = vec![("check-in form".to_owned(), check_in_form(language))];
        for error in [
            Phrase::TemperatureHelp,
            Phrase::ChooseBleeding,
            Phrase::ChoosePain,
            Phrase::NotesTooLong,
            Phrase::NotesInvalid,
        ] {
            let mut blocks = vec![text(Phrase::CheckAnswers), text(error)];
            blocks.extend(check_in_form(language));
            pages.push((format!("check-in form with {error:?}"), blocks));
        }
        pages.push((
            "link not valid".to_owned(),
            vec![text(Phrase::LinkNotValidTitle), text(Phrase::LinkNotValid)],
        ));
        pages.push((
            "form expired".to_owned(),
            vec![text(Phrase::FormExpiredTitle), text(Phrase::FormExpired)],
        ));

        let calm = CheckInInput { bleeding: "none", pain: "none", ..CheckInInput::default() };
        #[rustfmt::skip]
        let answers: &[(&str, CheckInInput<'_>)] = &[
            ("nothing to note", calm),
            ("fever", CheckInInput { temperature: "38.4", ..calm }),
            ("bleeding that does not stop", CheckInInput { bleeding: "does-not-stop", ..calm }),
            ("bleeding that stops", CheckInInput { bleeding: "stops-with-pressure", ..calm }),
            ("pus", CheckInInput { discharge: true, ..calm }),
            ("swelling", CheckInInput { swelling: true, ..calm }),
            ("warmth", CheckInInput { warmth_or_redness: true, ..calm }),
            ("mild pain", CheckInInput { pain: "mild", ..calm }),
            ("moderate pain", CheckInInput { pain: "moderate", ..calm }),
            ("severe pain", CheckInInput { pain: "severe", ..calm }),
            ("pain getting worse", CheckInInput { pain: "getting-worse", ..calm }),
            ("a note", CheckInInput { notes: "I feel tired.", ..calm }),
            ("everything", CheckInInput {
                temperature: "38.4", bleeding: "stops-with-pressure", discharge: true,
                swelling: true, warmth_or_redness: true, pain: "moderate", notes: "Itchy.",
            }),
        ];
        for immunocompromised in [false, true] {
            let context = TriageContext { immunocompromised, ..TriageContext::default() };
            for (name, input) in answers {
                pages.push((
                    format!("result: {name} (immunocompromised {immunocompromised})"),
                    result_page(*input, context, language),
                ));
            }
        }

        for sedated in [false, true] {
            for trephine in [false, true] {
                for immunocompromised in [false, true] {
                    for phone in [Some("020 7946 0000".to_owned()), None] {
                        let facts = DischargeFacts {
                            sedated,
                            trephine,
                            immunocompromised,
                            phone: phone.clone(),
                            fever_tenths_celsius: 380,
                        };
                        let mut blocks = vec![text(Phrase::SheetTitle), text(Phrase::SheetFor)];
                        for section in sheet(&facts, language) {
                            blocks.push(section.heading.to_owned());
                            blocks.extend(section.lines);
                        }
                        blocks.extend([
                            text(Phrase::QrCodeLabel),
                            text(Phrase::CheckInLink),
                            text(Phrase::DownloadPdf),
                        ]);
                        let name = format!(
                            "discharge sheet: sedated {sedated}, trephine {trephine}, \
                             immunocompromised {immunocompromised}, site number {}",
                            phone.is_some()
                        );
                        pages.push((name, blocks));
                    }
                }
            }
        }
        pages
    }

    /// Every English page or text above the grade limit, as "grade  name: text" lines.
    fn too_hard(pages: &Pages) -> Vec<String> {
        pages
            .iter()
            .filter_map(|(name, blocks)| {
                let grade = flesch_kincaid_grade_of_blocks(blocks.iter().map(String::as_str));
                println!("{grade:6.2}  {name}");
                (grade > MAX_GRADE).then(|| format!("{grade:.2}  {name}: {}", blocks.join(" / ")))
            })
            .collect()
    }

    #[test]
    fn every_english_phrase_on_its_own_is_grade_6_or_below() {
        let pages: Pages = Phrase::ALL
            .iter()
            .map(|&p| (format!("{p:?}"), vec![p.fill(Language::English, SAMPLE)]))
            .collect();
        let hard = too_hard(&pages);
        assert!(hard.is_empty(), "above grade {MAX_GRADE}:\n{}", hard.join("\n"));
    }

    #[test]
    fn every_english_patient_page_is_grade_6_or_below() {
        let hard = too_hard(&pages(Language::English));
        assert!(hard.is_empty(), "above grade {MAX_GRADE}:\n{}", hard.join("\n"));
    }

    #[test]
    fn every_spanish_patient_page_is_fairly_easy_to_read() {
        let mut hard = Vec::new();
        for (name, blocks) in pages(Language::Spanish) {
            let ease = fernandez_huerta(blocks.iter().map(String::as_str)).unwrap();
            println!("{ease:6.1}  {name}");
            if ease < MIN_SPANISH_EASE {
                hard.push(format!("{ease:.1}  {name}: {}", blocks.join(" / ")));
            }
        }
        assert!(hard.is_empty(), "below {MIN_SPANISH_EASE}:\n{}", hard.join("\n"));
    }
}
