//! A fixed synthetic signed report: the one case the snapshot tests, the examples and the
//! export benchmarks render. Every value is invented; the patient does not exist.
//!
//! Its text holds the characters each format must escape (`&`, `^`, `|`, `<`, `\`), so a
//! snapshot shows the escaping.

use marrow_domain::aspirate::{Aspirate, AspirateInput};
use marrow_domain::blood_count::{Analyte, BloodCount, RawResult};
use marrow_domain::flags::{Flag, FlagContext, report_flags};
use marrow_domain::ids::{CaseId, SpecimenId};
use marrow_domain::morphology::{CountingRules, Differential};
use marrow_domain::order::{Order, OrderInput};
use marrow_domain::patient::{Patient, PatientInput};
use marrow_domain::procedure::{ProcedureInput, ProcedureNote};
use marrow_domain::reference::ReferenceTable;
use marrow_domain::report::{ReportContent, ReportInput};
use marrow_domain::specimen::SpecimenTaken;
use marrow_domain::time::{Date, Timestamp};

use crate::signed::{SignedReport, SpecimenLine};

/// The fixed clock of the sample: every timestamp is relative to this instant.
pub const SIGNED_AT: &str = "2026-11-24T15:30:00Z";

/// Owned parts of the sample report; [`SampleCase::report`] borrows them.
#[derive(Debug, Clone)]
pub struct SampleCase {
    /// "SAMPLE, Robin", MRN SYN-SAMPLE-1.
    pub patient: Patient,
    /// Abnormal counts (neutrophils and platelets low), aspirate and trephine.
    pub order: Order,
    /// When ordered.
    pub ordered_at: Timestamp,
    /// Right posterior iliac crest, three specimens.
    pub procedure: ProcedureNote,
    /// The specimens with label ids.
    pub specimens: Vec<SpecimenLine>,
    /// Version 1's content.
    pub content: ReportContent,
    /// Version 2's content (the amendment adds the trephine result).
    pub amended: ReportContent,
    /// A 500-cell count with 7.2 % blasts.
    pub differential: Differential,
    /// No site exclusions beyond ICSH.
    pub rules: CountingRules,
    /// The Iowa adult table.
    pub reference: ReferenceTable,
    /// Particulate, mildly haemodiluted, iron 2+.
    pub aspirate: Aspirate,
    /// The flags computed from all of the above.
    pub flags: Vec<Flag>,
    /// The blood count of the morning before the order, as the laboratory sent it (haemoglobin
    /// in g/dL, neutrophils in cells/µL, platelets in ×10³/µL): low haemoglobin, white cells,
    /// neutrophils and platelets, blasts on the film, the rest of the differential normal.
    pub blood_count: BloodCount,
}

fn at(raw: &str) -> Timestamp {
    Timestamp::parse("at", raw).expect("sample timestamp")
}

impl SampleCase {
    /// Builds the sample. Panics only if the sample itself is invalid (a bug caught by tests).
    pub fn new() -> Self {
        let today = Date::parse("today", "2026-11-24").expect("sample date");
        let patient = Patient::parse(
            &PatientInput {
                mrn: "SYN-SAMPLE-1",
                family_name: "Sample",
                given_name: "Robin",
                date_of_birth: "1958-06-15",
                sex: "female",
                language: "en",
            },
            today,
        )
        .expect("sample patient");
        let order = Order::parse(&OrderInput {
            indication: "abnormal-blood-counts",
            lineages: vec!["neutrophils-low", "platelets-low"],
            indication_text: "",
            sampling: "aspirate-trephine",
            urgency: "routine",
            clinical_details: "Hb 98 g/L, WBC 2.1 x10^9/L, neutrophils 0.8 x10^9/L, platelets \
                               64 x10^9/L. Film: occasional blasts & dysplastic neutrophils.",
        })
        .expect("sample order");
        let procedure = ProcedureNote::parse(
            &ProcedureInput {
                operator: "Dr Sample Operator",
                performed_at: "2026-11-24T09:10:00Z",
                site: "posterior-iliac-crest",
                side: "right",
                position: "lateral",
                local_anaesthetic: "Lidocaine 1% 10 mL",
                sedation: "none",
                specimens: vec![
                    ("smears", "morphology"),
                    ("edta", "flow-cytometry"),
                    ("trephine-formalin", "histopathology"),
                ],
                complications: "",
                specimen_volumes: vec!["0.3", "2.5", ""],
                time_out: true,
                needle: "Jamshidi 11G",
                passes: "1",
                dry_tap: false,
                trephine_length_mm: "20",
                haemostasis: "Pressure 5 min",
            },
            order.sampling,
            at("2026-11-24T10:00:00Z"),
        )
        .expect("sample procedure");
        let specimens = procedure
            .specimens
            .iter()
            .zip(1..)
            .map(|(taken, n): (&SpecimenTaken, i64)| SpecimenLine {
                id: SpecimenId(100 + n),
                taken: *taken,
                received_at: Some(at("2026-11-24T10:05:00Z")),
            })
            .collect();
        let input = ReportInput {
            adequacy: "adequate",
            cellularity: "hypercellular",
            erythropoiesis: "Reduced; mildly megaloblastoid with occasional binucleate forms.",
            granulopoiesis: "Left-shifted. Hypogranular neutrophils and pseudo-Pelger forms \
                             (dysplasia in about 15%).",
            megakaryopoiesis: "Present; several small hypolobated forms.",
            lymphoid: "Lymphocytes and plasma cells unremarkable.",
            morphology: "No abnormal non-haemopoietic cells.",
            granulomas: "not-seen",
            organisms: "not-seen",
            haemophagocytosis: "not-seen",
            interpretation: "Hypercellular marrow with trilineage dysplasia and 7.2% blasts \
                             (95% limits 5.1-9.8%). Findings in the range where WHO 2022 and \
                             ICC 2022 differ; correlate with cytogenetics & flow cytometry.",
            comment: "Discussed with the requesting team. Results <pending>: karyotype | NGS \
                      panel ^ FISH \\ trephine.",
        };
        let content = ReportContent::parse(&input).expect("sample report");
        let amended = ReportContent::parse(&ReportInput {
            comment: "Trephine: hypercellular (80%) with increased CD34+ blasts, concordant. \
                      Karyotype & NGS pending.",
            ..input
        })
        .expect("sample amendment");
        let differential = Differential::parse([
            ("blasts", "36"),
            ("promyelocytes", "20"),
            ("myelocytes", "45"),
            ("metamyelocytes", "40"),
            ("band-neutrophils", "45"),
            ("segmented-neutrophils", "70"),
            ("eosinophils", "10"),
            ("basophils", "2"),
            ("monocytes", "22"),
            ("lymphocytes", "60"),
            ("plasma-cells", "8"),
            ("proerythroblasts", "6"),
            ("basophilic-erythroblasts", "16"),
            ("polychromatic-erythroblasts", "90"),
            ("orthochromatic-erythroblasts", "30"),
            ("macrophages", "3"),
        ])
        .expect("sample differential");
        let aspirate = Aspirate::parse(&AspirateInput {
            particles: "adequate",
            trail_cellularity: "hypercellular",
            particle_cellularity: "hypercellular",
            haemodilution: "mild",
            megakaryocytes: "normal",
            iron_stain: "2",
            ring_sideroblasts: "3",
            particles_examined_for_iron: "9",
            comment: "",
        })
        .expect("sample aspirate");
        let rules = CountingRules::default();
        let reference = ReferenceTable::iowa_adult();
        let flags = report_flags(&FlagContext {
            differential: &differential,
            rules: &rules,
            target: 500,
            reference: &reference,
            aspirate: Some(&aspirate),
            content: Some(&content),
        });
        let ordered_at = at("2026-11-23T16:00:00Z");
        // The count the order's clinical details quote (Hb 98 g/L, WBC 2.1, neutrophils 0.8,
        // platelets 64), with the rest of the differential.
        let blood_count = BloodCount::parse(
            at("2026-11-23T08:30:00Z"),
            &[
                RawResult { analyte: Analyte::Haemoglobin, value: "9.8", unit: "g/dL" },
                RawResult { analyte: Analyte::WhiteCells, value: "2.1", unit: "10*9/L" },
                RawResult { analyte: Analyte::Neutrophils, value: "800", unit: "/uL" },
                RawResult { analyte: Analyte::Lymphocytes, value: "1.0", unit: "10*9/L" },
                RawResult { analyte: Analyte::Monocytes, value: "0.2", unit: "10*9/L" },
                RawResult { analyte: Analyte::Eosinophils, value: "0.05", unit: "10*9/L" },
                RawResult { analyte: Analyte::Basophils, value: "0.02", unit: "10*9/L" },
                RawResult { analyte: Analyte::Platelets, value: "64", unit: "10*3/uL" },
                RawResult { analyte: Analyte::Blasts, value: "2", unit: "%" },
            ],
            ordered_at,
        )
        .expect("sample blood count");
        Self {
            patient,
            order,
            ordered_at,
            procedure,
            specimens,
            content,
            amended,
            differential,
            rules,
            reference,
            aspirate,
            flags,
            blood_count,
        }
    }

    /// Version 1 (original sign-out) or 2 (the amendment, signed an hour later); `latest` is
    /// the newest version that exists (1 or 2).
    pub fn report(&self, version: i64, latest: i64) -> SignedReport<'_> {
        let amended = version > 1;
        SignedReport {
            case_id: CaseId(42),
            patient: &self.patient,
            mrn_system: crate::fhir::MRN_SYSTEM,
            order: &self.order,
            ordered_by: "Dr Sample Clinician",
            ordered_at: self.ordered_at,
            procedure: Some(&self.procedure),
            specimens: &self.specimens,
            version,
            latest_version: latest,
            content: if amended { &self.amended } else { &self.content },
            differential: &self.differential,
            rules: &self.rules,
            reference: &self.reference,
            aspirate: Some(&self.aspirate),
            flags: &self.flags,
            amendment_reason: amended.then_some("Trephine result added."),
            signed_by: "Dr Sample Pathologist",
            signed_at: if amended { at("2026-11-24T16:30:00Z") } else { at(SIGNED_AT) },
            blood_count: Some(&self.blood_count),
        }
    }
}

impl Default for SampleCase {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marrow_domain::flags::FlagKind;

    #[test]
    fn the_sample_is_valid_and_flags_its_blasts() {
        let sample = SampleCase::new();
        assert_eq!(sample.differential.total_with(&sample.rules), 500);
        let kinds: Vec<_> = sample.flags.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&FlagKind::BlastsWhoIcc), "{kinds:?}");
        assert!(sample.report(2, 2).is_amended());
        assert!(sample.report(1, 2).is_superseded());
    }
}
