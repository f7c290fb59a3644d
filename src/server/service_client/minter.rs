//! Service-client tokens, minted but not signed (see [`TokenMinter`]).
//!
//! Decided here: the token's header and claims, the `kid` (given, or the
//! RFC 7638 thumbprint of the public key), whether a cached token is still
//! good, the JWS signing input, that the public key the signer derived
//! agrees with the one the access key gave, and the shape of the signature.
//! Left to the caller: the signature itself (RFC 7515 §5.1 step 5), made
//! with the runtime's crypto in the npm entry and with RustCrypto natively
//! ([`super::ServiceClientTokenProvider`]).

use crate::prelude::*;
use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use zeroize::Zeroizing;

use super::key::{invalid_key, AccessKey, PrivateKey, PublicKey, SigningAlgorithm};
use crate::json;
use crate::protocol::url::UrlRule;
use crate::server::http::{encode_uri_component, JsonBody};
use crate::{Error, Result};

/// Lifetime of a minted token, in seconds.
pub const TOKEN_LIFETIME_SEC: u64 = 300;

/// A cached token is replaced when it has less than this many seconds left.
pub const REFRESH_BEFORE_EXPIRY_SEC: u64 = 60;

/// Length of an `EdDSA` (RFC 8032 §5.1.6) and of an `ES256` (RFC 7518 §3.4,
/// `R || S`) signature.
const SIGNATURE_LEN: usize = 64;

struct CachedToken {
    token: String,
    issued_at: u64,
    expires_at: u64,
}

/// What [`TokenMinter::mint`] asks for.
#[derive(Debug)]
pub enum Mint {
    /// The cached token is still good: use it.
    Cached(String),
    /// Sign [`UnsignedToken::signing_input`] with the private key, then call
    /// [`TokenMinter::finish`].
    Sign(UnsignedToken),
}

/// A token waiting for its signature.
pub struct UnsignedToken {
    signing_input: String,
    algorithm: SigningAlgorithm,
    issued_at: u64,
    expires_at: u64,
}

impl UnsignedToken {
    /// The JWS signing input, `BASE64URL(header) || '.' || BASE64URL(claims)`
    /// (RFC 7515 §5.1 step 4): the bytes to sign.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The algorithm to sign with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }
}

impl fmt::Debug for UnsignedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsignedToken")
            .field("algorithm", &self.algorithm)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The pure core of a service-client token provider: it mints short-lived
/// JWTs (RFC 7519) for `Authorization: Bearer` calls to the platform's API
/// and leaves only the signature to its caller.
///
/// The caller:
/// 1. imports [`Self::private_key_pkcs8`] into its crypto, derives the public
///    key and hands it to [`Self::set_public_key`] (which checks it against
///    the access key's `x`/`y` and settles the `kid`; the private key is then
///    wiped here: it lives on in the caller's key object only);
/// 2. calls [`Self::mint`] for each token it needs; on [`Mint::Sign`] it signs
///    the signing input and passes the signature to [`Self::finish`].
///
/// # Minted tokens
/// Header `{"alg", "kid", "typ":"JWT"}`; claims
/// `iss = {issuerUrl}/v1/clients/{encodeURIComponent(clientId)}`, `sub = clientId`,
/// `aud`, `iat = now`, `exp = now + 300`. No `jti`: a token is reused while
/// cached, so it is not a replay nonce. Lifetime is [`TOKEN_LIFETIME_SEC`] (5 min,
/// shorter than Authress's 24 h so a leaked token is short-lived); a cached
/// token is reused until [`REFRESH_BEFORE_EXPIRY_SEC`] before it expires.
pub struct TokenMinter {
    client_id: String,
    key_id: Option<String>,
    issuer: String,
    audience: String,
    algorithm: SigningAlgorithm,
    /// Until the public key is known.
    private: Option<PrivateKey>,
    /// The public members the access key gave, if any.
    given_public: Option<PublicKey>,
    public: Option<PublicKey>,
    cached: Option<CachedToken>,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("private_key", &self.private.as_ref().map(|_| "[redacted]"))
            .field("cached_token", &self.cached.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl TokenMinter {
    /// A minter for `access_key` whose tokens name `issuer_url` (under `rule`:
    /// absolute https, or http on loopback; else `invalid_options`). The
    /// audience is the one the access key names, else `issuer_url`.
    pub fn new(access_key: AccessKey, issuer_url: &str, rule: UrlRule) -> Result<Self> {
        let issuer_base = rule.base_url("issuerUrl", issuer_url)?;
        if access_key.client_id.is_empty() {
            return Err(invalid_key("the access key has an empty clientId"));
        }
        let issuer = msg!(
            issuer_base,
            "/v1/clients/",
            encode_uri_component(&access_key.client_id)
        );
        Ok(Self {
            audience: access_key.audience.unwrap_or(issuer_base),
            issuer,
            algorithm: access_key.private.algorithm,
            client_id: access_key.client_id,
            key_id: access_key.key_id,
            private: Some(access_key.private),
            given_public: access_key.public,
            public: None,
            cached: None,
        })
    }

    /// Replaces the `aud` claim (and drops any cached token).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Result<Self> {
        let audience = audience.into();
        if audience.is_empty() {
            return Err(Error::options("audience must not be empty"));
        }
        self.audience = audience;
        self.cached = None;
        Ok(self)
    }

    /// The private key as a PKCS#8 DER document (RFC 5208 §5), for the
    /// signer to import; `None` once the public key is known (the key has
    /// been imported and is wiped here).
    ///
    /// # Security warning
    /// The bytes are the private key: wipe them once imported, never log them.
    pub fn private_key_pkcs8(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.private.as_ref().map(PrivateKey::pkcs8)
    }

    #[cfg(feature = "rust-crypto")]
    pub(crate) fn private_key(&self) -> Option<&PrivateKey> {
        self.private.as_ref()
    }

    /// Records the public key the signer derived from the private key.
    /// `invalid_key` when it differs from the `x`/`y` the access key gave
    /// (or from a key recorded before): no token is ever signed with a key
    /// other than the one the access key describes. Settles the `kid` (the
    /// thumbprint when the key named none) and wipes the private key.
    pub fn set_public_key(&mut self, derived: PublicKey) -> Result<()> {
        let expected = self.public.as_ref().or(self.given_public.as_ref());
        if expected.is_some_and(|expected| *expected != derived) {
            return Err(invalid_key(
                "the private key JWK's public members (x, y) do not match its d",
            ));
        }
        if self.key_id.is_none() {
            self.key_id = Some(derived.thumbprint());
        }
        self.public = Some(derived);
        self.private = None;
        Ok(())
    }

    /// The `kid` of minted tokens: the access key's, else the public key's
    /// RFC 7638 thumbprint (`None` until [`Self::set_public_key`] for a key
    /// that named none).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The public key, once derived from the private key and checked
    /// against the one the access key gave (see [`Self::set_public_key`]).
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_ref()
    }

    /// The client id (`sub`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` claim.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The algorithm tokens are signed with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The public key as a JWK (RFC 7517 §4) with `kid`, `alg` and
    /// `use: "sig"`, for registering the key or verifying minted tokens;
    /// `None` until [`Self::set_public_key`].
    pub fn public_jwk(&self) -> Option<String> {
        let public = self.public.as_ref()?;
        let mut jwk = JsonBody::new();
        for (name, value) in public.members() {
            jwk = jwk.string(name, &value);
        }
        Some(
            jwk.present("kid", self.key_id.as_deref())
                .string("alg", self.algorithm.name())
                .string("use", "sig")
                .finish(),
        )
    }

    /// What to do for a token valid at `now_sec` (seconds since the epoch):
    /// use the cached one while it has more than [`REFRESH_BEFORE_EXPIRY_SEC`]
    /// left, else sign a new one. `invalid_key` before [`Self::set_public_key`]:
    /// a token is signed only once the key is known to be the one the access key describes.
    pub fn mint(&self, now_sec: u64) -> Result<Mint> {
        if let Some(cached) = &self.cached {
            let fresh = now_sec >= cached.issued_at
                && now_sec.saturating_add(REFRESH_BEFORE_EXPIRY_SEC) < cached.expires_at;
            if fresh {
                return Ok(Mint::Cached(cached.token.clone()));
            }
        }
        let (Some(_), Some(key_id)) = (&self.public, &self.key_id) else {
            return Err(invalid_key(
                "the signing key is not imported yet: derive its public key and pass it to set_public_key first",
            ));
        };
        let expires_at = now_sec.saturating_add(TOKEN_LIFETIME_SEC);
        let mut header = String::from("{\"alg\":");
        json::write_string(&mut header, self.algorithm.name());
        header.push_str(",\"kid\":");
        json::write_string(&mut header, key_id);
        header.push_str(",\"typ\":\"JWT\"}");
        let mut claims = String::from("{\"iss\":");
        json::write_string(&mut claims, &self.issuer);
        claims.push_str(",\"sub\":");
        json::write_string(&mut claims, &self.client_id);
        claims.push_str(",\"aud\":");
        json::write_string(&mut claims, &self.audience);
        claims.push_str(&msg!(",\"iat\":", now_sec, ",\"exp\":", expires_at, "}"));
        let mut signing_input = Base64UrlUnpadded::encode_string(header.as_bytes());
        signing_input.push('.');
        signing_input.push_str(&Base64UrlUnpadded::encode_string(claims.as_bytes()));
        Ok(Mint::Sign(UnsignedToken {
            signing_input,
            algorithm: self.algorithm,
            issued_at: now_sec,
            expires_at,
        }))
    }

    /// The compact JWS (RFC 7515 §7.1) of `unsigned` with `signature` (64
    /// bytes: Ed25519's `R || S`, or ES256's `R || S`, not DER), which is
    /// cached for the next [`Self::mint`] calls.
    pub fn finish(&mut self, unsigned: UnsignedToken, signature: &[u8]) -> Result<String> {
        if signature.len() != SIGNATURE_LEN || unsigned.algorithm != self.algorithm {
            return Err(invalid_key(msg!(
                "the signer returned a ",
                signature.len(),
                "-byte signature; ",
                self.algorithm.name(),
                " signatures are 64 bytes (ES256: R || S, not DER)"
            )));
        }
        let mut token = unsigned.signing_input;
        token.push('.');
        token.push_str(&Base64UrlUnpadded::encode_string(signature));
        self.cached = Some(CachedToken {
            token: token.clone(),
            issued_at: unsigned.issued_at,
            expires_at: unsigned.expires_at,
        });
        Ok(token)
    }
}
