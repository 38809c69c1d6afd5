//! The aspirate quality fields recorded beside the differential: particles, cellularity,
//! haemodilution, megakaryocytes and the iron stain (clinical reference §1.5).
//!
//! Every vocabulary field must be answered: "not assessable" and "not performed" are answers,
//! a blank is not, because a report cannot tell a blank that means "normal" from one that means
//! "not looked at".

use crate::FieldError;
use crate::reference::Tenths;
use crate::report::Cellularity;

code_enum! {
    /// Particles (spicules) in the aspirate: the main sign of an adequate sample (clinical
    /// reference §1.5, pathologyoutlines "Features to report" \[S\]).
    pub enum Particles : "particles" {
        Absent => ("absent", "Absent"),
        Scanty => ("scanty", "Scanty"),
        Adequate => ("adequate", "Adequate"),
    }
}

code_enum! {
    /// Dilution of the aspirate by blood. Clinical reference §1.5 (adequacy: haemodilution;
    /// Bain et al., very dilute aspirates are unhelpful \[S\]) and §6.3 (Dresch C et al., J Clin
    /// Pathol 1974;27:106: aspirates over 1 mL carry blood-derived neutrophils \[P\]), which is
    /// why the differential is read in its light.
    pub enum Haemodilution : "haemodilution" {
        None => ("none", "None"),
        Mild => ("mild", "Mild"),
        Marked => ("marked", "Marked"),
    }
}

code_enum! {
    /// Megakaryocyte numbers. They are outside the NDC (clinical reference §1.3) and are
    /// described instead (§1.5: number and morphology; about 2–10 per low-power field in a
    /// well-made aspirate, Haematologica Atlas p.26 \[S\]).
    pub enum Megakaryocytes : "megakaryocytes" {
        Absent => ("absent", "Absent"),
        Decreased => ("decreased", "Decreased"),
        Normal => ("normal", "Normal"),
        Increased => ("increased", "Increased"),
    }
}

/// A storage-iron grade on the 0–6+ scale (clinical reference §1.5, medicalalgorithms.com "Iron
/// staining in the bone marrow" \[S\]; the scheme's originator is unconfirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IronGrade(u8);

/// What a storage-iron grade means, on the same 0–6+ scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IronStores {
    /// Grade 0.
    Absent,
    /// Grades 1–3+.
    Normal,
    /// Grades 4–6+.
    Increased,
}

impl IronGrade {
    /// The highest grade on the scale.
    pub const MAX: u8 = 6;

    /// A grade from 0 to 6; `None` outside the scale.
    pub fn new(grade: u8) -> Option<Self> {
        (grade <= Self::MAX).then_some(Self(grade))
    }

    /// The grade, 0–6.
    pub fn get(self) -> u8 {
        self.0
    }

    /// What the grade means. Clinical reference §1.5 (medicalalgorithms.com \[S\]): 0 absent,
    /// 1–3+ normal, 4–6+ increased.
    pub fn stores(self) -> IronStores {
        match self.0 {
            0 => IronStores::Absent,
            1..=3 => IronStores::Normal,
            _ => IronStores::Increased,
        }
    }
}

impl std::fmt::Display for IronGrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 0 { f.write_str("0") } else { write!(f, "{}+", self.0) }
    }
}

/// The Perls' (Prussian blue) iron stain. Ring sideroblasts and the particles examined can only
/// be recorded when the stain was done, so they live inside [`IronStain::Performed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IronStain {
    /// No iron stain was done.
    NotPerformed,
    /// The stain was done and read.
    Performed {
        /// Storage iron in the particles.
        grade: IronGrade,
        /// Ring sideroblasts as a percentage of erythroblasts, if counted (clinical reference
        /// §1.5: ≥ 5 siderotic granules covering ≥ 1/3 of the nuclear circumference, Mufti
        /// et al., Haematologica 2008 \[P\]).
        ring_sideroblasts: Option<Tenths>,
        /// How many particles were examined for storage iron, if recorded.
        particles_examined: Option<u32>,
    },
}

/// Clinical reference §1.5 (Hughes DA, Stuart-Smith SE, Bain BJ, J Clin Pathol 2004;57:1038–
/// 1040 \[P\]): at least 7 particles before iron can be called absent.
pub const PARTICLES_TO_CALL_IRON_ABSENT: u32 = 7;

/// Same source: 9 particles to judge the maximum grade reliably.
pub const PARTICLES_TO_GRADE_IRON: u32 = 9;

/// Why a recorded iron grade may not be reliable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IronWarning {
    /// Iron called absent from fewer than 7 particles.
    AbsentFromTooFewParticles {
        /// Particles examined.
        examined: u32,
    },
    /// Iron called absent without saying how many particles were examined.
    AbsentParticlesNotRecorded,
    /// A grade above 0 judged from fewer than 9 particles: the maximum grade may be missed.
    GradedFromTooFewParticles {
        /// Particles examined.
        examined: u32,
    },
}

impl std::fmt::Display for IronWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AbsentFromTooFewParticles { examined } => write!(
                f,
                "iron absent is unreliable from {examined} particles; at least \
                 {PARTICLES_TO_CALL_IRON_ABSENT} are needed (Hughes et al. 2004)"
            ),
            Self::AbsentParticlesNotRecorded => write!(
                f,
                "iron absent: record the particles examined; at least \
                 {PARTICLES_TO_CALL_IRON_ABSENT} are needed (Hughes et al. 2004)"
            ),
            Self::GradedFromTooFewParticles { examined } => write!(
                f,
                "the iron grade may be underestimated from {examined} particles; \
                 {PARTICLES_TO_GRADE_IRON} are needed to judge it (Hughes et al. 2004)"
            ),
        }
    }
}

impl IronStain {
    /// Advisories on the reliability of the grade; empty when none apply or no stain was done.
    pub fn warnings(&self) -> Vec<IronWarning> {
        let IronStain::Performed { grade, particles_examined, .. } = *self else {
            return Vec::new();
        };
        let warning = match (grade.stores(), particles_examined) {
            // Clinical reference §1.5 (Hughes et al. 2004): 7 particles to call iron absent.
            (IronStores::Absent, None) => Some(IronWarning::AbsentParticlesNotRecorded),
            (IronStores::Absent, Some(n)) if n < PARTICLES_TO_CALL_IRON_ABSENT => {
                Some(IronWarning::AbsentFromTooFewParticles { examined: n })
            }
            // Same source: 9 particles to judge the maximum grade.
            (IronStores::Normal | IronStores::Increased, Some(n))
                if n < PARTICLES_TO_GRADE_IRON =>
            {
                Some(IronWarning::GradedFromTooFewParticles { examined: n })
            }
            _ => None,
        };
        warning.into_iter().collect()
    }
}

/// The aspirate quality record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aspirate {
    /// Particles (spicules).
    pub particles: Particles,
    /// Cellularity of the trails. The trephine is the gold standard; the aspirate gives a rough
    /// idea (clinical reference §1.5, WUSTL; Haematologica Atlas p.26 \[S\]).
    pub trail_cellularity: Cellularity,
    /// Cellularity of the particles.
    pub particle_cellularity: Cellularity,
    /// Haemodilution.
    pub haemodilution: Haemodilution,
    /// Megakaryocyte numbers.
    pub megakaryocytes: Megakaryocytes,
    /// The iron stain.
    pub iron: IronStain,
    /// Free-text comment.
    pub comment: Option<String>,
}

/// Raw text of the aspirate quality form.
#[derive(Debug, Clone, Default)]
pub struct AspirateInput<'a> {
    /// `particles`: a [`Particles`] code.
    pub particles: &'a str,
    /// `trail_cellularity`: a [`Cellularity`] code.
    pub trail_cellularity: &'a str,
    /// `particle_cellularity`: a [`Cellularity`] code.
    pub particle_cellularity: &'a str,
    /// `haemodilution`: a [`Haemodilution`] code.
    pub haemodilution: &'a str,
    /// `megakaryocytes`: a [`Megakaryocytes`] code.
    pub megakaryocytes: &'a str,
    /// `iron_stain`: `not-performed`, or a grade `0`–`6` (a trailing `+` is accepted).
    pub iron_stain: &'a str,
    /// `ring_sideroblasts`: blank, or a percentage of erythroblasts 0–100 (one decimal).
    pub ring_sideroblasts: &'a str,
    /// `particles_examined_for_iron`: blank, or a whole number.
    pub particles_examined_for_iron: &'a str,
    /// `comment`: free text, at most 2000 characters.
    pub comment: &'a str,
}

/// The most particles one could plausibly examine; a larger number is a typo.
const MAX_PARTICLES: u32 = 1000;

/// The longest comment accepted.
const MAX_COMMENT: usize = 2000;

impl Aspirate {
    /// Parses the form; the error names the field that is wrong.
    pub fn parse(input: &AspirateInput<'_>) -> Result<Self, FieldError> {
        let aspirate = Self {
            particles: Particles::parse(input.particles)?,
            trail_cellularity: Cellularity::parse(input.trail_cellularity)
                .map_err(|e| e.at("trail_cellularity"))?,
            particle_cellularity: Cellularity::parse(input.particle_cellularity)
                .map_err(|e| e.at("particle_cellularity"))?,
            haemodilution: Haemodilution::parse(input.haemodilution)?,
            megakaryocytes: Megakaryocytes::parse(input.megakaryocytes)?,
            iron: parse_iron(input)?,
            comment: crate::optional_text("comment", input.comment, MAX_COMMENT)?,
        };
        // Without particles there is nothing to judge particle cellularity by.
        if aspirate.particles == Particles::Absent
            && aspirate.particle_cellularity != Cellularity::NotAssessable
        {
            return Err(FieldError::new(
                "particle_cellularity",
                "with no particles, particle cellularity is not assessable",
            ));
        }
        Ok(aspirate)
    }
}

fn parse_iron(input: &AspirateInput<'_>) -> Result<IronStain, FieldError> {
    let raw = input.iron_stain.trim();
    let ring = input.ring_sideroblasts.trim();
    let particles = input.particles_examined_for_iron.trim();
    if raw == "not-performed" {
        for (field, value) in
            [("ring_sideroblasts", ring), ("particles_examined_for_iron", particles)]
        {
            if !value.is_empty() {
                return Err(FieldError::new(
                    field,
                    "can only be given when an iron stain was done",
                ));
            }
        }
        return Ok(IronStain::NotPerformed);
    }
    let grade = raw
        .strip_suffix('+')
        .unwrap_or(raw)
        .parse::<u8>()
        .ok()
        .and_then(IronGrade::new)
        .ok_or_else(|| {
            FieldError::new(
                "iron_stain",
                format!("{raw:?} is not \"not-performed\" or a grade 0–6"),
            )
        })?;
    let ring_sideroblasts = match ring {
        "" => None,
        raw => {
            let value = Tenths::parse("ring_sideroblasts", raw)?;
            if value > Tenths::whole(100) {
                return Err(FieldError::new(
                    "ring_sideroblasts",
                    "is a percentage of erythroblasts: at most 100",
                ));
            }
            Some(value)
        }
    };
    let particles_examined = match particles {
        "" => None,
        raw => match raw.parse::<u32>() {
            Ok(n) if n <= MAX_PARTICLES => Some(n),
            _ => {
                return Err(FieldError::new(
                    "particles_examined_for_iron",
                    format!("{raw:?} is not a whole number of particles up to {MAX_PARTICLES}"),
                ));
            }
        },
    };
    Ok(IronStain::Performed { grade, ring_sideroblasts, particles_examined })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-made, unremarkable aspirate; tests change only what they are about.
    fn input() -> AspirateInput<'static> {
        AspirateInput {
            particles: "adequate",
            trail_cellularity: "normocellular",
            particle_cellularity: "normocellular",
            haemodilution: "none",
            megakaryocytes: "normal",
            iron_stain: "2",
            ring_sideroblasts: "",
            particles_examined_for_iron: "12",
            comment: "",
        }
    }

    #[test]
    fn an_unremarkable_aspirate_parses() {
        let aspirate = Aspirate::parse(&input()).unwrap();
        assert_eq!(aspirate.particles, Particles::Adequate);
        assert_eq!(aspirate.haemodilution, Haemodilution::None);
        assert_eq!(aspirate.megakaryocytes, Megakaryocytes::Normal);
        assert_eq!(
            aspirate.iron,
            IronStain::Performed {
                grade: IronGrade::new(2).unwrap(),
                ring_sideroblasts: None,
                particles_examined: Some(12),
            }
        );
        assert_eq!(aspirate.comment, None);
        assert!(aspirate.iron.warnings().is_empty());
    }

    #[test]
    fn every_vocabulary_field_is_required_and_named_when_wrong() {
        let cases: [(&str, AspirateInput<'static>); 6] = [
            ("particles", AspirateInput { particles: "", ..input() }),
            ("trail_cellularity", AspirateInput { trail_cellularity: "normal", ..input() }),
            ("particle_cellularity", AspirateInput { particle_cellularity: "", ..input() }),
            ("haemodilution", AspirateInput { haemodilution: "severe", ..input() }),
            ("megakaryocytes", AspirateInput { megakaryocytes: "", ..input() }),
            ("iron_stain", AspirateInput { iron_stain: "", ..input() }),
        ];
        for (field, bad) in cases {
            assert_eq!(Aspirate::parse(&bad).unwrap_err().field, field);
        }
    }

    #[test]
    fn particle_cellularity_needs_particles() {
        let none = AspirateInput { particles: "absent", ..input() };
        assert_eq!(Aspirate::parse(&none).unwrap_err().field, "particle_cellularity");
        let none = AspirateInput { particle_cellularity: "not-assessable", ..none };
        assert_eq!(Aspirate::parse(&none).unwrap().particles, Particles::Absent);
    }

    #[test]
    fn iron_grades_run_from_0_to_6_with_an_optional_plus() {
        for (raw, grade) in [("0", 0), ("3", 3), ("3+", 3), (" 6+ ", 6)] {
            let a = Aspirate::parse(&AspirateInput { iron_stain: raw, ..input() }).unwrap();
            let IronStain::Performed { grade: g, .. } = a.iron else { panic!("{raw}") };
            assert_eq!(g.get(), grade, "{raw}");
        }
        for raw in ["7", "-1", "2.5", "+", "absent"] {
            let err = Aspirate::parse(&AspirateInput { iron_stain: raw, ..input() }).unwrap_err();
            assert_eq!(err.field, "iron_stain", "{raw}");
        }
        assert_eq!(IronGrade::new(4).unwrap().to_string(), "4+");
        assert_eq!(IronGrade::new(0).unwrap().to_string(), "0");
    }

    #[test]
    fn iron_grades_read_as_absent_normal_or_increased() {
        // Clinical reference §1.5: 0 absent, 1–3+ normal, 4–6+ increased.
        let stores: Vec<IronStores> =
            (0..=6).map(|g| IronGrade::new(g).unwrap().stores()).collect();
        use IronStores::*;
        assert_eq!(stores, [Absent, Normal, Normal, Normal, Increased, Increased, Increased]);
    }

    #[test]
    fn ring_sideroblasts_need_a_performed_stain_and_a_percentage() {
        let a = Aspirate::parse(&AspirateInput { ring_sideroblasts: "15.5", ..input() }).unwrap();
        let IronStain::Performed { ring_sideroblasts, .. } = a.iron else { panic!() };
        assert_eq!(ring_sideroblasts, Some(Tenths::new(155)));
        for raw in ["101", "-3", "lots"] {
            let bad = AspirateInput { ring_sideroblasts: raw, ..input() };
            assert_eq!(Aspirate::parse(&bad).unwrap_err().field, "ring_sideroblasts", "{raw}");
        }
        let not_done = AspirateInput {
            iron_stain: "not-performed",
            ring_sideroblasts: "5",
            particles_examined_for_iron: "",
            ..input()
        };
        assert_eq!(Aspirate::parse(&not_done).unwrap_err().field, "ring_sideroblasts");
    }

    #[test]
    fn an_iron_stain_not_performed_carries_nothing_else() {
        let a = Aspirate::parse(&AspirateInput {
            iron_stain: "not-performed",
            particles_examined_for_iron: "",
            ..input()
        })
        .unwrap();
        assert_eq!(a.iron, IronStain::NotPerformed);
        assert!(a.iron.warnings().is_empty());
        let with_particles = AspirateInput { iron_stain: "not-performed", ..input() };
        assert_eq!(
            Aspirate::parse(&with_particles).unwrap_err().field,
            "particles_examined_for_iron"
        );
    }

    #[test]
    fn particles_examined_must_be_a_plausible_whole_number() {
        for raw in ["many", "-1", "7.5", "1001"] {
            let bad = AspirateInput { particles_examined_for_iron: raw, ..input() };
            assert_eq!(Aspirate::parse(&bad).unwrap_err().field, "particles_examined_for_iron");
        }
    }

    fn iron(grade: &'static str, particles: &'static str) -> Vec<IronWarning> {
        let input =
            AspirateInput { iron_stain: grade, particles_examined_for_iron: particles, ..input() };
        Aspirate::parse(&input).unwrap().iron.warnings()
    }

    #[test]
    fn iron_absent_from_fewer_than_seven_particles_is_flagged_unreliable() {
        // Clinical reference §1.5, Hughes et al. 2004: 7 particles to call iron absent.
        assert_eq!(iron("0", "6"), [IronWarning::AbsentFromTooFewParticles { examined: 6 }]);
        assert_eq!(iron("0", "0"), [IronWarning::AbsentFromTooFewParticles { examined: 0 }]);
        assert!(iron("0", "7").is_empty());
        assert_eq!(iron("0", ""), [IronWarning::AbsentParticlesNotRecorded]);
        let message = IronWarning::AbsentFromTooFewParticles { examined: 4 }.to_string();
        assert!(message.contains("at least 7") && message.contains("Hughes"), "{message}");
    }

    #[test]
    fn a_grade_from_fewer_than_nine_particles_is_flagged() {
        // Same source: 9 particles to judge the maximum grade.
        assert_eq!(iron("2", "8"), [IronWarning::GradedFromTooFewParticles { examined: 8 }]);
        assert!(iron("2", "9").is_empty());
        assert!(iron("5", "").is_empty(), "no count recorded: nothing to judge it by");
    }

    #[test]
    fn the_comment_is_optional_and_limited_to_2000_characters() {
        let long = "x".repeat(2001);
        let bad = AspirateInput { comment: &long, ..input() };
        assert_eq!(Aspirate::parse(&bad).unwrap_err().field, "comment");
        let ok = "y".repeat(2000);
        let a = Aspirate::parse(&AspirateInput { comment: &ok, ..input() }).unwrap();
        assert_eq!(a.comment.map(|c| c.len()), Some(2000));
    }
}
