//! Secret values (RFC 6749 §10.3, §10.5, §10.12): newtypes whose `Debug`
//! prints `[redacted]`, so a stray `{:?}` or a logged error never leaks a
//! token or a `state`. (Codes, verifiers and login tokens only pass through
//! the core on their way into a request body; they are never kept.)

use crate::prelude::*;
use core::fmt;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value.
            ///
            /// # Security warning
            ///
            /// Never log, display or persist the result outside the places
            /// this crate documents (`sessionStorage` flow records, the
            /// handoff request body).
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// Compares with `other` in time independent of where they
            /// differ ([`subtle`], whose comparison has an optimisation
            /// barrier; only the lengths may leak, and they are public:
            /// 43 characters).
            pub fn ct_eq(&self, other: &str) -> bool {
                subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.as_bytes()).into()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_newtype!(
    /// The OAuth `state` (RFC 6749 §10.12), or the one-time nonce that binds
    /// a Matrix or auth-service flow; also the key of the flow record.
    State
);
secret_newtype!(
    /// An OAuth access token (RFC 6749 §1.4) or a Matrix `access_token`.
    AccessToken
);
secret_newtype!(
    /// An OpenID Connect ID Token (OIDC Core §2).
    IdToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let printed = format!(
            "{:?} {:?} {:?}",
            State::new("s3cr3t-state"),
            AccessToken::new("s3cr3t-at"),
            IdToken::new("s3cr3t-id"),
        );
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert_eq!(printed.matches("[redacted]").count(), 3);
        assert!(printed.starts_with("State([redacted])"));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(State::new("abc").ct_eq("abc"));
        assert!(!State::new("abc").ct_eq("abd"));
        assert!(!State::new("abc").ct_eq("abcd"));
    }
}
