//! Specimens taken at the procedure and where they go (clinical reference §6.3).

use crate::FieldError;

code_enum! {
    /// The container a specimen is taken into.
    pub enum Tube : "tube" {
        DirectSmears => ("smears", "Direct smears (no anticoagulant)"),
        Edta => ("edta", "EDTA (lavender)"),
        SodiumHeparin => ("sodium-heparin", "Sodium heparin (dark green)"),
        Acd => ("acd", "ACD (yellow)"),
        Culture => ("culture", "Culture bottle / SPS"),
        ClotInFormalin => ("clot-formalin", "Clot section in formalin"),
        TrephineInFormalin => ("trephine-formalin", "Trephine core in formalin"),
    }
}

code_enum! {
    /// The laboratory a specimen goes to.
    pub enum Destination : "destination" {
        Morphology => ("morphology", "Haematology morphology"),
        FlowCytometry => ("flow-cytometry", "Flow cytometry"),
        Cytogenetics => ("cytogenetics", "Cytogenetics"),
        Molecular => ("molecular", "Molecular diagnostics"),
        Microbiology => ("microbiology", "Microbiology"),
        Histopathology => ("histopathology", "Histopathology"),
    }
}

code_enum! {
    /// Where a specimen is in its journey.
    pub enum SpecimenStatus : "specimen_status" {
        Collected => ("collected", "Collected"),
        Received => ("received", "Received in lab"),
    }
}

/// One specimen as recorded in the procedure note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecimenTaken {
    /// Container.
    pub tube: Tube,
    /// Destination laboratory.
    pub destination: Destination,
    /// Aspirate volume in this tube, mL (tenths), where measured.
    pub volume_ml: Option<crate::reference::Tenths>,
}

impl SpecimenTaken {
    /// Parses a tube and destination pair; `index` is the row, used in the field name.
    pub fn parse(index: usize, tube: &str, destination: &str) -> Result<Self, FieldError> {
        let tube = Tube::parse(tube).map_err(|e| e.at(format!("specimens[{index}].tube")))?;
        let destination = Destination::parse(destination)
            .map_err(|e| e.at(format!("specimens[{index}].destination")))?;
        // A trephine core goes to histopathology (clinical reference §6.3: "Trephine core →
        // histopathology", RML Online; heftpathology).
        if tube == Tube::TrephineInFormalin && destination != Destination::Histopathology {
            return Err(FieldError::new(
                format!("specimens[{index}].destination"),
                "a trephine core goes to histopathology",
            ));
        }
        Ok(Self { tube, destination, volume_ml: None })
    }

    /// The same specimen with its volume, parsed from mL as typed (blank: not measured).
    /// Clinical reference §6.3: the first, morphology pull is small (≈ 0.2–0.5 mL) and a few mL
    /// go to each ancillary tube; 20 mL in one tube is implausible.
    pub fn with_volume(mut self, index: usize, raw: &str) -> Result<Self, FieldError> {
        let field = format!("specimens[{index}].volume_ml");
        if raw.trim().is_empty() {
            return Ok(self);
        }
        let volume = crate::reference::Tenths::parse(&field, raw)?;
        if volume.get() == 0 || volume.get() > 200 {
            return Err(FieldError::new(field, "give the volume in mL, from 0.1 to 20"));
        }
        self.volume_ml = Some(volume);
        Ok(self)
    }
}
