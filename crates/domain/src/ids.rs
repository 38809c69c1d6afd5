//! Typed identifiers, so a specimen id can never be passed where a case id is expected.

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A patient record.
    PatientId
);
id_type!(
    /// One BMA episode of one patient.
    CaseId
);
id_type!(
    /// A staff user account.
    UserId
);
id_type!(
    /// One specimen (tube, slide set or core) taken at the procedure.
    SpecimenId
);
