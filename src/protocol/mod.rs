//! Rules the browser client, the verifier and the backend helpers share,
//! each written once: the URL rule ([`url`]) and authorization server
//! metadata ([`discovery`]).
//!
//! Everything here is pure (no I/O, no clock, no JS types) and builds
//! without `std`, so every npm entry links the same code.

pub mod discovery;
pub mod url;
