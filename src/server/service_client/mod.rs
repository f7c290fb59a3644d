//! Service-client tokens (Authress-style access keys): short-lived JWTs a
//! backend signs with its service client's private key for `Authorization:
//! Bearer` calls to the platform's API.
//!
//! - [`key`](AccessKey): what an access key says, in either form, and the
//!   private key as the PKCS#8 document a runtime imports;
//! - [`TokenMinter`]: header, claims, `kid`, caching and the signing input:
//!   everything but the signature, which is its caller's;
//! - `ServiceClientTokenProvider` (feature `rust-crypto`): the minter with
//!   RustCrypto (jwt-compact over ed25519-dalek and p256) as the signer.
//!
//! The npm entry (`extension-sso/server`) drives [`TokenMinter`] and signs
//! with the runtime's crypto (node:crypto in Node, WebCrypto in workerd and
//! browsers), as the verifier verifies: the signing code stays out of its
//! wasm (28.6 kB gzip of jwt-compact, ed25519-dalek and p256, measured with
//! `scripts/build server`).

mod key;
mod minter;
#[cfg(feature = "rust-crypto")]
mod rust_crypto;

pub use key::{AccessKey, PublicKey, SigningAlgorithm};
pub use minter::{Mint, TokenMinter, UnsignedToken, REFRESH_BEFORE_EXPIRY_SEC, TOKEN_LIFETIME_SEC};
#[cfg(feature = "rust-crypto")]
pub use rust_crypto::ServiceClientTokenProvider;

#[cfg(test)]
mod tests;
