//! Enumerations with a stable storage code and a label a clinician reads.

/// Declares a closed vocabulary: each variant has a stable `code` (stored in the database and
/// used in the API; never change one) and a human `label`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* #[doc = $label] $variant ),+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in storage and the API.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a stable code; the error names the field and lists the allowed codes.
            pub fn parse(raw: &str) -> Result<Self, $crate::FieldError> {
                let raw = raw.trim();
                match raw {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::FieldError::new(
                        $field,
                        format!(
                            "{:?} is not one of: {}",
                            raw,
                            [$($code),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}
