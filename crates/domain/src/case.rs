//! The case: one BMA episode of one patient, and the only way its status moves.
//!
//! Status moves forward only: `ordered → checked → performed → in_lab → reported`, then
//! `amended` any number of times (design.md, "The pathway"). Every step asks [`advance`], which
//! returns the next status or a [`TransitionRefused`] that says why in plain words.

code_enum! {
    /// Where a case is on the pathway.
    pub enum CaseStatus : "status" {
        Ordered => ("ordered", "Ordered"),
        Checked => ("checked", "Safety checked"),
        Performed => ("performed", "Procedure performed"),
        InLab => ("in_lab", "In the lab"),
        Reported => ("reported", "Reported"),
        Amended => ("amended", "Reported (amended)"),
    }
}

code_enum! {
    /// A step a person takes on a case.
    pub enum Step : "step" {
        SafetyCheck => ("safety-check", "record the safety check"),
        Procedure => ("procedure", "record the procedure"),
        ReceiveSpecimens => ("receive-specimens", "receive the specimens"),
        Differential => ("differential", "record the differential"),
        DraftReport => ("draft-report", "save the report draft"),
        SignReport => ("sign-report", "sign the report"),
        AmendReport => ("amend-report", "amend the report"),
    }
}

/// A step that is not possible in the case's current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {}: {reason}", step.label())]
pub struct TransitionRefused {
    /// What was attempted.
    pub step: Step,
    /// The status the case is in.
    pub status: CaseStatus,
    /// Why not, in words a clinician reads.
    pub reason: &'static str,
}

/// The status after `step`, or why `step` is not possible from `status`.
pub fn advance(status: CaseStatus, step: Step) -> Result<CaseStatus, TransitionRefused> {
    use CaseStatus::*;
    let refuse = |reason| Err(TransitionRefused { step, status, reason });
    match (step, status) {
        // The safety check may be revised until the procedure is recorded.
        (Step::SafetyCheck, Ordered | Checked) => Ok(Checked),
        (Step::SafetyCheck, _) => refuse("the procedure has already been performed"),

        (Step::Procedure, Checked) => Ok(Performed),
        (Step::Procedure, Ordered) => {
            refuse("the pre-procedure safety check has not been recorded")
        }
        (Step::Procedure, _) => refuse("a procedure note is already recorded for this case"),

        (Step::ReceiveSpecimens, Performed) => Ok(InLab),
        (Step::ReceiveSpecimens, Ordered | Checked) => {
            refuse("no procedure has been recorded, so there are no specimens yet")
        }
        (Step::ReceiveSpecimens, _) => refuse("the specimens have already been received"),

        (Step::Differential | Step::DraftReport, InLab) => Ok(InLab),
        (Step::Differential | Step::DraftReport, Ordered | Checked | Performed) => {
            refuse("the specimens have not been received in the lab")
        }
        (Step::Differential | Step::DraftReport, Reported | Amended) => {
            refuse("the report is signed; signed content changes only by amendment")
        }

        (Step::SignReport, InLab) => Ok(Reported),
        (Step::SignReport, Reported | Amended) => {
            refuse("the report is already signed; amend it instead")
        }
        (Step::SignReport, _) => refuse("the specimens have not been received in the lab"),

        (Step::AmendReport, Reported | Amended) => Ok(Amended),
        (Step::AmendReport, _) => refuse("only a signed report can be amended"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_runs_in_order() {
        let mut status = CaseStatus::Ordered;
        for step in [
            Step::SafetyCheck,
            Step::Procedure,
            Step::ReceiveSpecimens,
            Step::Differential,
            Step::DraftReport,
            Step::SignReport,
            Step::AmendReport,
            Step::AmendReport,
        ] {
            status = advance(status, step).unwrap();
        }
        assert_eq!(status, CaseStatus::Amended);
    }

    #[test]
    fn skipping_the_safety_check_is_refused_with_a_reason() {
        let err = advance(CaseStatus::Ordered, Step::Procedure).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot record the procedure: the pre-procedure safety check has not been recorded"
        );
    }

    #[test]
    fn status_never_moves_backwards() {
        let order = CaseStatus::ALL;
        for &from in order {
            for &step in Step::ALL {
                if let Ok(to) = advance(from, step) {
                    assert!(to >= from, "{step:?} moved {from:?} back to {to:?}");
                }
            }
        }
    }

    #[test]
    fn a_signed_report_cannot_be_changed_in_place() {
        for status in [CaseStatus::Reported, CaseStatus::Amended] {
            assert!(advance(status, Step::DraftReport).is_err());
            assert!(advance(status, Step::Differential).is_err());
            assert!(advance(status, Step::SignReport).is_err());
        }
    }
}
