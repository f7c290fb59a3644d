//! JWS algorithms we verify (RFC 7518 §3, RFC 8037 §3.1) and the key types
//! they need (RFC 7517 §4.1, RFC 7518 §6).

use core::fmt;
use core::str::FromStr;

use crate::{Error, ErrorCode};

/// An asymmetric JWS signature algorithm (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// `none` and the HMAC family (`HS256`...) have no variant on purpose: a
/// JWK Set holds public keys, and a token naming a symmetric or absent
/// signature can never be accepted against one (RFC 8725 §3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
    /// ECDSA P-384 with SHA-384 (RFC 7518 §3.4).
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RFC 7518 §3.3).
    Rs512,
    /// RSASSA-PSS with SHA-256, MGF1 SHA-256, salt 32 bytes (RFC 7518 §3.5).
    Ps256,
    /// RSASSA-PSS with SHA-384, MGF1 SHA-384, salt 48 bytes (RFC 7518 §3.5).
    Ps384,
    /// RSASSA-PSS with SHA-512, MGF1 SHA-512, salt 64 bytes (RFC 7518 §3.5).
    Ps512,
    /// EdDSA with Ed25519 (RFC 8037 §3.1); Ed448 is not supported.
    EdDsa,
}

/// The key type (`kty`) and, for curves, the curve (`crv`) a key has
/// (RFC 7518 §6.1, RFC 8037 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `kty: "EC"`, `crv: "P-256"` (RFC 7518 §6.2).
    EcP256,
    /// `kty: "EC"`, `crv: "P-384"` (RFC 7518 §6.2).
    EcP384,
    /// `kty: "RSA"` (RFC 7518 §6.3).
    Rsa,
    /// `kty: "OKP"`, `crv: "Ed25519"` (RFC 8037 §2).
    Ed25519,
}

impl KeyKind {
    /// The JWK `kty` value.
    pub const fn kty(self) -> &'static str {
        match self {
            Self::EcP256 | Self::EcP384 => "EC",
            Self::Rsa => "RSA",
            Self::Ed25519 => "OKP",
        }
    }

    /// The JWK `crv` value, for curve keys.
    pub const fn crv(self) -> Option<&'static str> {
        match self {
            Self::EcP256 => Some("P-256"),
            Self::EcP384 => Some("P-384"),
            Self::Rsa => None,
            Self::Ed25519 => Some("Ed25519"),
        }
    }
}

impl Algorithm {
    /// Every supported algorithm: the default allow-list.
    pub const ALL: &'static [Algorithm] = &[
        Self::Es256,
        Self::Es384,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::EdDsa,
    ];

    /// The registered `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named exactly `name` (case-sensitive, RFC 7515 §4.1.1),
    /// or `None` for `none`, HMAC and anything unsupported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// The key kind this algorithm needs (RFC 7518 §3.3-3.5, RFC 8037 §3.1).
    pub const fn key_kind(self) -> KeyKind {
        match self {
            Self::Es256 => KeyKind::EcP256,
            Self::Es384 => KeyKind::EcP384,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                KeyKind::Rsa
            }
            Self::EdDsa => KeyKind::Ed25519,
        }
    }

    /// The exact signature length for fixed-size algorithms: ECDSA `r || s`
    /// (RFC 7518 §3.4) and Ed25519 (RFC 8032 §5.1.6). `None` for RSA, whose
    /// signature is as long as the modulus (RFC 8017 §8.2.2, §8.1.2).
    pub const fn fixed_signature_len(self) -> Option<usize> {
        match self {
            Self::Es256 => Some(64),
            Self::Es384 => Some(96),
            Self::EdDsa => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses an allow-list entry; `none`, `HS*` and unknown names are
    /// rejected with `invalid_options`.
    fn from_str(name: &str) -> Result<Self, Error> {
        Self::from_name(name).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidOptions,
                "unsupported algorithm in the allow-list: expected one of ES256, ES384, RS256, \
                 RS384, RS512, PS256, PS384, PS512, EdDSA (none and HMAC are never accepted)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_none_and_hmac() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), *alg);
        }
        for bad in ["none", "HS256", "es256", "ES512", "Ed25519", ""] {
            let err = bad.parse::<Algorithm>().unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidOptions, "{bad}");
        }
        assert_eq!(Algorithm::Ps384.key_kind(), KeyKind::Rsa);
        assert_eq!(Algorithm::Es384.fixed_signature_len(), Some(96));
    }
}
