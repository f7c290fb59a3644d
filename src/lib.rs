#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
// Denied, not forbidden: the exceptions are the client entry's glue-free
// wasm boundary (src/wasm/abi.rs, src/wasm/client.rs: raw pointers from JS)
// and the allocator (src/small_alloc.rs), which allow it module by module.
#![deny(unsafe_code)]
// `no_std` + `alloc` without the `std` feature (the npm verifier and server entries);
// tests always have std.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

extern crate alloc;

/// What the std prelude gives, from `alloc`, for the `no_std` build.
// Each npm entry links only part of it (the server's wasm has no `to_string`).
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::format;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;

    pub(crate) use crate::error::msg;
}

mod b64;
mod error;
// The client and verifier entries' wasm allocator (src/wasm/mod.rs installs
// it), tested natively.
pub mod json;
#[cfg(any(
    test,
    all(
        target_arch = "wasm32",
        any(feature = "client", feature = "verifier"),
        not(feature = "server")
    )
))]
mod small_alloc;

pub mod jose;
pub mod jwks;
pub mod oauth;
pub mod platform;
pub mod protocol;
pub mod server;

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier", feature = "server")
))]
mod wasm;

pub use error::{Error, ErrorCode, OAuthErrorFields, Result};
