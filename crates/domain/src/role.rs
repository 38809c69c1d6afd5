//! Who may do what (design.md, "Roles"). The server asks [`Role::may`] before every step.

code_enum! {
    /// A staff role. Patients do not log in: they reach their own pages through a link.
    pub enum Role : "role" {
        Clinician => ("clinician", "Clinician"),
        Proceduralist => ("proceduralist", "Proceduralist"),
        Nurse => ("nurse", "Nurse"),
        Technologist => ("technologist", "Laboratory technologist"),
        Pathologist => ("pathologist", "Haematopathologist"),
        Admin => ("admin", "Administrator"),
    }
}

code_enum! {
    /// Something a user asks to do.
    pub enum Action : "action" {
        ViewClinicalRecords => ("view-clinical-records", "view clinical records"),
        RegisterPatient => ("register-patient", "register patients"),
        PlaceOrder => ("place-order", "order a bone marrow aspiration"),
        RecordSafetyCheck => ("record-safety-check", "record the safety check"),
        RecordProcedure => ("record-procedure", "record the procedure"),
        ReceiveSpecimens => ("receive-specimens", "receive specimens in the lab"),
        RecordDifferential => ("record-differential", "record the differential count"),
        DraftReport => ("draft-report", "draft the report"),
        SignReport => ("sign-report", "sign reports"),
        AmendReport => ("amend-report", "amend signed reports"),
        ManageUsers => ("manage-users", "manage users"),
        ManageSiteSettings => ("manage-site-settings", "change site settings"),
        IssueCheckInLink => ("issue-check-in-link", "give a patient a check-in link"),
        ReviewAlerts => ("review-alerts", "see check-in alerts"),
        AcknowledgeAlert => ("acknowledge-alert", "acknowledge alerts"),
        ExportReports => ("export-reports", "export every signed report in bulk"),
        RecordBloodCount => ("record-blood-count", "enter or import blood counts"),
        RecordMilestone => ("record-milestone", "record treatment milestones"),
        ReviewHeldMessages => ("review-held-messages", "review incoming results held for review"),
    }
}

impl Role {
    /// Whether this role may take `action`.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        use Role::*;
        match action {
            // The administrator manages users and settings, never clinical content.
            ViewClinicalRecords => self != Admin,
            RegisterPatient => matches!(self, Clinician | Proceduralist | Nurse),
            PlaceOrder => self == Clinician,
            RecordSafetyCheck | RecordProcedure => matches!(self, Proceduralist | Nurse),
            ReceiveSpecimens | RecordDifferential | DraftReport => {
                matches!(self, Technologist | Pathologist)
            }
            SignReport | AmendReport => self == Pathologist,
            ManageUsers | ManageSiteSettings => self == Admin,
            // design.md: proceduralist / nurse own discharge and check-in review; the
            // clinician acknowledges alerts.
            IssueCheckInLink => matches!(self, Proceduralist | Nurse),
            ReviewAlerts => matches!(self, Clinician | Proceduralist | Nurse),
            AcknowledgeAlert => self == Clinician,
            // Bulk export hands every patient's reports to another system: the laboratory
            // that signs them releases them (one case at a time is ViewClinicalRecords).
            ExportReports => self == Pathologist,
            // Counts come from the ward (clinicians, nurses, proceduralists checking bloods
            // before a procedure) and from the laboratory that measured them.
            RecordBloodCount => matches!(self, Clinician | Proceduralist | Nurse | Technologist),
            // Treatment and transplant dates belong to the treating haematologist/oncologist.
            RecordMilestone => self == Clinician,
            // Refused results are an interface problem the laboratory resolves.
            ReviewHeldMessages => matches!(self, Technologist | Pathologist),
        }
    }

    /// A plain sentence for a refusal.
    pub fn refusal(self, action: Action) -> String {
        format!("Your role ({}) may not {}.", self.label().to_lowercase(), action.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pathologist_signs_and_only_a_clinician_orders() {
        for &role in Role::ALL {
            assert_eq!(role.may(Action::SignReport), role == Role::Pathologist);
            assert_eq!(role.may(Action::PlaceOrder), role == Role::Clinician);
            assert_eq!(role.may(Action::ExportReports), role == Role::Pathologist);
        }
    }

    #[test]
    fn the_administrator_sees_no_clinical_content() {
        assert!(!Role::Admin.may(Action::ViewClinicalRecords));
        assert!(Role::Admin.may(Action::ManageUsers));
        assert_eq!(
            Role::Admin.refusal(Action::ViewClinicalRecords),
            "Your role (administrator) may not view clinical records."
        );
    }
}

/// A staff login name: 2–40 lower-case letters, digits, dots, hyphens or underscores.
pub fn parse_username(raw: &str) -> Result<String, crate::FieldError> {
    let name = raw.trim().to_ascii_lowercase();
    let ok = (2..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !ok {
        return Err(crate::FieldError::new(
            "username",
            "use 2 to 40 letters, digits, dots, hyphens or underscores",
        ));
    }
    Ok(name)
}

/// A new password: at least 12 characters (NIST SP 800-63B favours length over composition
/// rules), at most 128.
pub fn check_new_password(raw: &str) -> Result<(), crate::FieldError> {
    let len = raw.chars().count();
    if len < 12 {
        return Err(crate::FieldError::new("password", "must be at least 12 characters long"));
    }
    if len > 128 {
        return Err(crate::FieldError::new("password", "must be at most 128 characters long"));
    }
    Ok(())
}

#[cfg(test)]
mod account_tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert_eq!(parse_username(" Path.One ").unwrap(), "path.one");
        assert_eq!(parse_username("a b").unwrap_err().field, "username");
        assert_eq!(check_new_password("short").unwrap_err().field, "password");
        assert!(check_new_password("correct horse battery").is_ok());
    }
}
