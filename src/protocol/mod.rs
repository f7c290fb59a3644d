//! Rules the browser client, the verifier and the backend helpers share,
//! each decided once from its RFC (the rule is in each module's doc) and
//! used by every half that needs it: the URL rule ([`url`]), authorization
//! server metadata ([`discovery`]), form encoding ([`form`]), token responses ([`token_response`]),
//! OAuth error fields ([`oauth_error`]), Matrix login ([`matrix`]) and the
//! user's identity ([`identity`]).
//!
//! Everything here is pure (no I/O, no clock, no JS types) and builds
//! without `std` (`alloc` only; messages are joined by `msg!`, not
//! `format!`), so every npm entry links the same code.

pub mod discovery;
pub(crate) mod form;
pub mod identity;
pub mod matrix;
pub mod oauth_error;
pub mod token_response;
pub mod url;
