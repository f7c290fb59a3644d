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
#![forbid(unsafe_code)]

mod b64;
mod error;
pub mod json;

pub mod jose;
pub mod jwks;
pub mod oauth;
pub mod platform;
pub mod server;

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier", feature = "server")
))]
mod wasm;

/// The browser client (`client` feature, wasm32 only): `ExtensionClient`.
#[cfg(all(target_arch = "wasm32", feature = "client"))]
pub use wasm::ExtensionClient;

pub use error::{Error, ErrorCode, OAuthErrorFields, Result};
