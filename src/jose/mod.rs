//! JOSE verification core: compact JWS / JWT verification against a JWK Set
//! (RFC 7515, 7517, 7518, 7519, 8037), hardened per RFC 8725.
//!
//! Pure Rust, no I/O, no clock: the caller passes `now`. Verification is
//! split so the signature itself can be checked by whichever backend is
//! fastest in the runtime (see [`prepare`], [`SignatureBackend`],
//! [`finish`]); [`Verifier::verify`] runs all three phases with the
//! pure-Rust [`RustCryptoBackend`] (feature `rust-crypto`).
//!
//! Rules, in the order they apply:
//! - the token is at most [`MAX_TOKEN_LENGTH`] bytes, three segments of
//!   strict base64url (no padding, no whitespace, canonical bits);
//! - header and payload are JSON objects without duplicate member names;
//! - `alg` must be in the allow-list (`none` and HMAC never are) before any
//!   key is looked at; `crit` and `b64` fail with `crit_unsupported`;
//!   `jku`, `jwk`, `x5u`, `x5c` are never used (and fail with `malformed`
//!   under [`VerifyOptions::with_reject_key_hints`]); `typ` is compared as a
//!   media type when required (`typ_mismatch`);
//! - candidate keys: matching key type and curve, JWK `alg` when present,
//!   `kid` when the token has one (`no_matching_key` if none, or more than
//!   [`MAX_CANDIDATES`]);
//! - the signature must have the exact shape of the algorithm (ECDSA raw
//!   `r || s` with scalars in `[1, n-1]`, Ed25519 with `S < L`, RSA as long
//!   as the modulus), else `bad_signature`;
//! - claims (`exp` required, `nbf`, `iat`, `iss`, `aud`, required claims)
//!   are reported only once the signature verified, so forged tokens always
//!   get `bad_signature`.
//!
//! ```
//! # #[cfg(feature = "rust-crypto")] {
//! use extension_sso::jose::{Audience, KeySet, Verifier, VerifyOptions};
//! // RFC 7515 appendix A.3 (ES256).
//! let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256",
//!   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
//!   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
//! let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
//! let options = VerifyOptions::new(["joe"], Audience::Any)?;
//! let verifier = Verifier::new(KeySet::from_json(jwks)?, options);
//! let token = verifier.verify(token, 1_300_819_000)?;
//! assert_eq!(token.iss(), "joe");
//! # }
//! # Ok::<(), extension_sso::Error>(())
//! ```

mod alg;

mod claims;
mod jwk;
mod options;
#[cfg(feature = "rust-crypto")]
mod rust_crypto;
mod scalar;
mod verify;

#[cfg(test)]
mod tests;

pub use alg::{Algorithm, KeyKind};
pub use jwk::{Jwk, KeySet, SkippedKey, MAX_KEYS, MAX_RSA_BITS, MIN_RSA_BITS};
pub use options::{Audience, VerifyOptions, DEFAULT_CLOCK_TOLERANCE_SEC, MAX_CLOCK_TOLERANCE_SEC};
#[cfg(feature = "rust-crypto")]
pub use rust_crypto::RustCryptoBackend;
pub use verify::{
    finish, parse, prepare, verify_with_backend, Candidates, Parsed, Prepared, SignatureBackend,
    TokenBuffers, VerifiedToken, Verifier, MAX_CANDIDATES, MAX_TOKEN_LENGTH,
};

pub(crate) use claims::{issuer, numeric_date, quoted_list};
pub(crate) use verify::{parse_routed, Route};
