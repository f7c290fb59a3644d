//! The protocol rules the browser client and the backend helpers share,
//! each decided once from its RFC (the rule is in each module's doc) and
//! used by both halves: token responses, OAuth error fields, Matrix login,
//! and the user's identity.
//!
//! `no_std` + `alloc`; messages are joined by `msg!`, not `format!`.

pub mod identity;
pub mod matrix;
pub mod oauth_error;
pub mod token_response;
