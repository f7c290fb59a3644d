//! The service-client token provider for Rust users: [`TokenMinter`] with
//! RustCrypto as the signer (feature `rust-crypto`). The npm entry signs
//! with the runtime's crypto instead (`pkg-template/lib/signing-*.js`).

use crate::prelude::*;
use core::fmt;

use jwt_compact::alg::{Ed25519, Es256};
use jwt_compact::{Algorithm, AlgorithmSignature};

use super::key::{invalid_key, AccessKey, PublicKey, SigningAlgorithm};
use super::minter::{Mint, TokenMinter};
use crate::protocol::url::UrlRule;
use crate::Result;

enum SigningKey {
    Ed25519(ed25519_dalek::SigningKey),
    Es256(p256::ecdsa::SigningKey),
}

impl SigningKey {
    fn public_key(&self) -> Option<PublicKey> {
        match self {
            Self::Ed25519(key) => Some(PublicKey::Ed25519 {
                x: key.verifying_key().to_bytes(),
            }),
            Self::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                Some(PublicKey::P256 {
                    x: (*point.x()?).into(),
                    y: (*point.y()?).into(),
                })
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        // jwt-compact's algorithms over ed25519-dalek and p256 (RFC 8032
        // §5.1.6; RFC 7518 §3.4 with RFC 6979 deterministic nonces).
        match self {
            Self::Ed25519(key) => Ed25519.sign(key, message).as_bytes().to_vec(),
            Self::Es256(key) => Es256.sign(key, message).as_bytes().to_vec(),
        }
    }
}

/// Mints and caches service-client tokens: short-lived JWTs (RFC 7519)
/// signed with the service client's private key, for `Authorization: Bearer`
/// calls to the platform's API. The access-key formats are described on
/// [`AccessKey::parse`], the tokens on [`TokenMinter`].
///
/// Signing uses jwt-compact 0.8 (`Ed25519`, `Es256`) over ed25519-dalek and
/// p256. Key material never appears in `Debug` output or error messages,
/// and the decoded private-key buffers are wiped after use.
pub struct ServiceClientTokenProvider {
    minter: TokenMinter,
    key: SigningKey,
}

impl fmt::Debug for ServiceClientTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClientTokenProvider")
            .field("minter", &self.minter)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl ServiceClientTokenProvider {
    /// Parses `access_key` (see [`AccessKey::parse`]) and checks `issuer_url`
    /// (absolute https, or http on loopback). Malformed keys fail with
    /// `invalid_key`, a bad URL with `invalid_options`.
    pub fn new(access_key: &str, issuer_url: &str) -> Result<Self> {
        let mut minter =
            TokenMinter::new(AccessKey::parse(access_key)?, issuer_url, UrlRule::STRICT)?;
        let private = minter
            .private_key()
            .ok_or_else(|| invalid_key("the access key has no private key"))?;
        let key = match private.algorithm {
            SigningAlgorithm::EdDsa => {
                SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&private.bytes))
            }
            SigningAlgorithm::Es256 => {
                p256::ecdsa::SigningKey::from_slice(private.bytes.as_slice())
                    .map(SigningKey::Es256)
                    .map_err(|_| {
                        invalid_key("the private key JWK's d is not a valid P-256 scalar")
                    })?
            }
        };
        let public = key
            .public_key()
            .ok_or_else(|| invalid_key("the public key could not be derived"))?;
        minter.set_public_key(public)?;
        Ok(Self { minter, key })
    }

    /// Replaces the `aud` claim (and drops any cached token).
    pub fn with_audience(self, audience: impl Into<String>) -> Result<Self> {
        Ok(Self {
            minter: self.minter.with_audience(audience)?,
            key: self.key,
        })
    }

    /// A token valid at `now_sec` (seconds since the epoch): the cached one
    /// while it has more than [`super::REFRESH_BEFORE_EXPIRY_SEC`] left, else a new one.
    pub fn get_token(&mut self, now_sec: u64) -> Result<String> {
        match self.minter.mint(now_sec)? {
            Mint::Cached(token) => Ok(token),
            Mint::Sign(unsigned) => {
                let signature = self.key.sign(unsigned.signing_input().as_bytes());
                self.minter.finish(unsigned, &signature)
            }
        }
    }

    /// The client id (`sub`).
    pub fn client_id(&self) -> &str {
        self.minter.client_id()
    }

    /// The `kid` put in the token header.
    pub fn key_id(&self) -> &str {
        self.minter.key_id().unwrap_or_default()
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        self.minter.issuer()
    }

    /// The `aud` claim.
    pub fn audience(&self) -> &str {
        self.minter.audience()
    }

    /// `EdDSA` or `ES256` (RFC 8037 §3.1, RFC 7518 §3.4).
    pub fn algorithm(&self) -> &'static str {
        self.minter.algorithm().name()
    }

    /// The public key as a JWK (RFC 7517 §4) with `kid`, `alg` and `use: "sig"`,
    /// for registering the key or verifying minted tokens.
    pub fn public_jwk(&self) -> String {
        self.minter.public_jwk().unwrap_or_default()
    }

    /// `{"keys":[public_jwk]}` (RFC 7517 §5).
    pub fn public_jwks(&self) -> String {
        format!("{{\"keys\":[{}]}}", self.public_jwk())
    }
}
