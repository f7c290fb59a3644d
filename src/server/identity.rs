//! Typed identity fields from verified claims: the shared
//! [`crate::protocol::identity::Identity`] (its module says which claims
//! answer which field).

pub use crate::protocol::identity::{Identity, IdentitySource};
