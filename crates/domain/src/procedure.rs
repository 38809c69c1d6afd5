//! The procedure note: who took the marrow, from where, how, and what was taken.

use crate::order::Sampling;
use crate::specimen::{SpecimenTaken, Tube};
use crate::time::Timestamp;
use crate::{FieldError, optional_text, required_text};

code_enum! {
    /// Where the needle went in (clinical reference §6.1).
    pub enum Site : "site" {
        PosteriorIliacCrest => ("posterior-iliac-crest", "Posterior iliac crest"),
        AnteriorIliacCrest => ("anterior-iliac-crest", "Anterior iliac crest"),
        Sternum => ("sternum", "Sternum"),
        Tibia => ("tibia", "Anterior tibia"),
    }
}

code_enum! {
    /// Which side.
    pub enum Side : "side" {
        Left => ("left", "Left"),
        Right => ("right", "Right"),
        Midline => ("midline", "Midline"),
    }
}

code_enum! {
    /// How the patient lay (clinical reference §6.1).
    pub enum Position : "position" {
        Prone => ("prone", "Prone"),
        Lateral => ("lateral", "Lateral (side-lying, knees drawn up)"),
        Supine => ("supine", "Supine"),
    }
}

code_enum! {
    /// Sedation given (clinical reference §6.2).
    pub enum Sedation : "sedation" {
        None => ("none", "None"),
        Oral => ("oral", "Oral sedation"),
        Intravenous => ("intravenous", "IV sedation"),
        Entonox => ("entonox", "Entonox"),
        GeneralAnaesthesia => ("general-anaesthesia", "General anaesthesia"),
    }
}

/// The structured procedure note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureNote {
    /// Who performed it.
    pub operator: String,
    /// When.
    pub performed_at: Timestamp,
    /// Where.
    pub site: Site,
    /// Which side.
    pub side: Side,
    /// Patient position.
    pub position: Position,
    /// Local anaesthetic, agent and dose as written (e.g. "Lidocaine 1% 10 mL").
    pub local_anaesthetic: String,
    /// Sedation.
    pub sedation: Sedation,
    /// Specimens taken, at least one.
    pub specimens: Vec<SpecimenTaken>,
    /// Complications; `None` means none occurred.
    pub complications: Option<String>,
    /// The steps around the needle a BMA note records.
    pub steps: ProcedureSteps,
}

/// The steps of a BMA beyond site and specimens: time-out, needle, passes, dry tap, trephine
/// length, haemostasis and dressing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcedureSteps {
    /// The time-out and identity check were done before starting (required to record a note).
    pub time_out_done: bool,
    /// Needle used, as written (e.g. "Jamshidi 11G").
    pub needle: Option<String>,
    /// Number of passes (needle insertions).
    pub passes: Option<u8>,
    /// No marrow could be aspirated ("dry tap"); then a trephine touch prep is the usual
    /// alternative.
    pub dry_tap: bool,
    /// Length of the trephine core in mm, when one was taken.
    pub trephine_length_mm: Option<u8>,
    /// Haemostasis and dressing, as written (e.g. "Pressure 10 min; dry dressing").
    pub haemostasis: Option<String>,
}

/// The raw text of a procedure note.
#[derive(Debug, Clone, Default)]
pub struct ProcedureInput<'a> {
    /// `operator`
    pub operator: &'a str,
    /// `performed_at`
    pub performed_at: &'a str,
    /// `site`
    pub site: &'a str,
    /// `side`
    pub side: &'a str,
    /// `position`
    pub position: &'a str,
    /// `local_anaesthetic`
    pub local_anaesthetic: &'a str,
    /// `sedation`
    pub sedation: &'a str,
    /// `specimens`: (tube, destination) pairs; blank rows are ignored.
    pub specimens: Vec<(&'a str, &'a str)>,
    /// `complications`, blank for none
    pub complications: &'a str,
    /// `specimen_volumes`: mL per specimen row, same order as `specimens`; blank: not measured.
    pub specimen_volumes: Vec<&'a str>,
    /// `time_out`: the time-out and identity check were done.
    pub time_out: bool,
    /// `needle`
    pub needle: &'a str,
    /// `passes`
    pub passes: &'a str,
    /// `dry_tap`
    pub dry_tap: bool,
    /// `trephine_length_mm`
    pub trephine_length_mm: &'a str,
    /// `haemostasis`
    pub haemostasis: &'a str,
}

impl ProcedureNote {
    /// Parses a note for an order taking `sampling`. `now` bounds the procedure time.
    pub fn parse(
        input: &ProcedureInput<'_>,
        sampling: Sampling,
        now: Timestamp,
    ) -> Result<Self, FieldError> {
        // WHO Surgical Safety Checklist practice: confirm identity, site and procedure before
        // starting; the note is not recorded without it.
        if !input.time_out {
            return Err(FieldError::new(
                "time_out",
                "confirm the time-out and identity check before recording the note",
            ));
        }
        let operator = required_text("operator", input.operator, 200)?;
        let performed_at = Timestamp::parse("performed_at", input.performed_at)?;
        if performed_at > now.plus_seconds(300) {
            return Err(FieldError::new("performed_at", "is in the future"));
        }
        let site = Site::parse(input.site)?;
        let side = Side::parse(input.side)?;
        match (site, side) {
            (Site::Sternum, Side::Left | Side::Right) => {
                return Err(FieldError::new("side", "the sternum is midline"));
            }
            (Site::PosteriorIliacCrest | Site::AnteriorIliacCrest | Site::Tibia, Side::Midline) => {
                return Err(FieldError::new("side", "choose left or right for this site"));
            }
            _ => {}
        }
        let position = Position::parse(input.position)?;
        let local_anaesthetic = required_text("local_anaesthetic", input.local_anaesthetic, 200)?;
        let sedation = Sedation::parse(input.sedation)?;
        let mut specimens = Vec::new();
        for (i, (tube, destination)) in input.specimens.iter().enumerate() {
            if tube.trim().is_empty() && destination.trim().is_empty() {
                continue;
            }
            let volume = input.specimen_volumes.get(i).copied().unwrap_or("");
            specimens.push(SpecimenTaken::parse(i, tube, destination)?.with_volume(i, volume)?);
        }
        if specimens.is_empty() {
            return Err(FieldError::new(
                "specimens",
                "record at least one specimen (or the dry tap in complications with a smear of what was obtained)",
            ));
        }
        let has_trephine = specimens.iter().any(|s| s.tube == Tube::TrephineInFormalin);
        // Clinical reference §6.1: the sternum is for aspiration only, never a trephine
        // (risk of cardiac and great-vessel injury; Riley et al. 2004, Mayo Clinic).
        if site == Site::Sternum && has_trephine {
            return Err(FieldError::new(
                "site",
                "a trephine biopsy is never taken from the sternum",
            ));
        }
        if has_trephine && sampling == Sampling::AspirateOnly {
            return Err(FieldError::new(
                "specimens",
                "a trephine core was recorded but the order is for an aspirate only",
            ));
        }
        let passes = match input.passes.trim() {
            "" => None,
            raw => {
                Some(raw.parse::<u8>().ok().filter(|p| (1..=10).contains(p)).ok_or_else(|| {
                    FieldError::new(
                        "passes",
                        format!("{raw:?} is not a number of passes from 1 to 10"),
                    )
                })?)
            }
        };
        let trephine_length_mm = match input.trephine_length_mm.trim() {
            "" => None,
            raw => {
                Some(raw.parse::<u8>().ok().filter(|l| (1..=50).contains(l)).ok_or_else(|| {
                    FieldError::new(
                        "trephine_length_mm",
                        format!("{raw:?} is not a core length in mm from 1 to 50"),
                    )
                })?)
            }
        };
        if trephine_length_mm.is_some() && !has_trephine {
            return Err(FieldError::new(
                "trephine_length_mm",
                "no trephine core is recorded among the specimens",
            ));
        }
        if has_trephine && trephine_length_mm.is_none() {
            return Err(FieldError::new(
                "trephine_length_mm",
                "record the length of the trephine core",
            ));
        }
        let steps = ProcedureSteps {
            time_out_done: true,
            needle: optional_text("needle", input.needle, 200)?,
            passes,
            dry_tap: input.dry_tap,
            trephine_length_mm,
            haemostasis: optional_text("haemostasis", input.haemostasis, 500)?,
        };
        Ok(Self {
            steps,
            operator,
            performed_at,
            site,
            side,
            position,
            local_anaesthetic,
            sedation,
            specimens,
            complications: optional_text("complications", input.complications, 2000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("now", "2026-11-24T12:00:00Z").unwrap()
    }

    fn input() -> ProcedureInput<'static> {
        ProcedureInput {
            operator: "Dr Synthetic Operator",
            performed_at: "2026-11-24T10:00",
            site: "posterior-iliac-crest",
            side: "right",
            position: "lateral",
            local_anaesthetic: "Lidocaine 1% 10 mL",
            sedation: "none",
            specimens: vec![
                ("edta", "morphology"),
                ("trephine-formalin", "histopathology"),
                ("", ""),
            ],
            complications: "",
            time_out: true,
            trephine_length_mm: "18",
            specimen_volumes: vec!["0.5", "", ""],
            ..ProcedureInput::default()
        }
    }

    #[test]
    fn a_usual_posterior_crest_note_parses() {
        let note = ProcedureNote::parse(&input(), Sampling::AspirateAndTrephine, now()).unwrap();
        assert_eq!(note.specimens.len(), 2, "blank rows are ignored");
        assert_eq!(note.complications, None);
    }

    #[test]
    fn the_steps_are_recorded_and_the_time_out_is_required() {
        let note = ProcedureNote::parse(&input(), Sampling::AspirateAndTrephine, now()).unwrap();
        assert!(note.steps.time_out_done);
        assert_eq!(note.steps.trephine_length_mm, Some(18));
        assert_eq!(note.specimens[0].volume_ml.map(|v| v.get()), Some(5), "0.5 mL in tenths");
        let cases = [
            (ProcedureInput { time_out: false, ..input() }, "time_out"),
            (ProcedureInput { passes: "0", ..input() }, "passes"),
            (ProcedureInput { passes: "11", ..input() }, "passes"),
            (ProcedureInput { trephine_length_mm: "", ..input() }, "trephine_length_mm"),
            (ProcedureInput { trephine_length_mm: "51", ..input() }, "trephine_length_mm"),
            (ProcedureInput { specimen_volumes: vec!["25"], ..input() }, "specimens[0].volume_ml"),
            (
                ProcedureInput { specimen_volumes: vec!["a lot"], ..input() },
                "specimens[0].volume_ml",
            ),
        ];
        for (bad, field) in cases {
            let err = ProcedureNote::parse(&bad, Sampling::AspirateAndTrephine, now()).unwrap_err();
            assert_eq!(err.field, field);
        }
        let aspirate_only = ProcedureInput { specimens: vec![("edta", "morphology")], ..input() };
        let err = ProcedureNote::parse(&aspirate_only, Sampling::AspirateOnly, now()).unwrap_err();
        assert_eq!(err.field, "trephine_length_mm", "a length without a core is refused");
    }

    #[test]
    fn a_sternal_trephine_is_refused() {
        let sternal =
            ProcedureInput { site: "sternum", side: "midline", position: "supine", ..input() };
        let err = ProcedureNote::parse(&sternal, Sampling::AspirateAndTrephine, now()).unwrap_err();
        assert_eq!(err.field, "site");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (ProcedureInput { operator: "", ..input() }, "operator"),
            (ProcedureInput { performed_at: "2026-11-25T10:00", ..input() }, "performed_at"),
            (ProcedureInput { side: "midline", ..input() }, "side"),
            (ProcedureInput { specimens: vec![], ..input() }, "specimens"),
            (
                ProcedureInput { specimens: vec![("edta", "pharmacy")], ..input() },
                "specimens[0].destination",
            ),
            (
                ProcedureInput { specimens: vec![("trephine-formalin", "morphology")], ..input() },
                "specimens[0].destination",
            ),
        ];
        for (bad, field) in cases {
            let err = ProcedureNote::parse(&bad, Sampling::AspirateAndTrephine, now()).unwrap_err();
            assert_eq!(err.field, field);
        }
        let err = ProcedureNote::parse(&input(), Sampling::AspirateOnly, now()).unwrap_err();
        assert_eq!(err.field, "specimens");
    }
}
