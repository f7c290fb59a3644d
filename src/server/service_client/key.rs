//! Access keys: what a service client's key says (client id, key id,
//! audience, algorithm, private and public key material), read from either
//! form, and the private key as the PKCS#8 document the runtime imports.
//!
//! Decided here: the two accepted forms and every check on them (member
//! types, JWK `kty`/`crv`/`alg`/`use`/`key_ops`, key lengths, the P-256
//! scalar range), and which algorithm a key signs with. Left to the caller:
//! the cryptography (importing the private key, deriving the public key,
//! signing), done by the runtime (node:crypto, WebCrypto) in the npm entry
//! and by RustCrypto natively.
//!
//! Key material is wiped when dropped and never appears in `Debug` output or
//! error messages.

use crate::prelude::*;
use core::fmt;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use zeroize::{Zeroize, Zeroizing};

use crate::json::{self, Object, Value};
use crate::{Error, ErrorCode, Result};

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7): the 32-byte
/// seed follows.
pub(crate) const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// DER prefix of a PKCS#8 v1 P-256 private key without the optional public
/// key (RFC 5208 §5 `PrivateKeyInfo` with the `id-ecPublicKey` algorithm and
/// the `prime256v1` parameters, RFC 5480 §2.1.1, holding an RFC 5915 §3
/// `ECPrivateKey` version 1): the 32-byte big-endian scalar `d` follows.
/// Runtimes derive the public point from `d` when they import it.
#[rustfmt::skip]
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00,
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
];

/// The P-256 group order `n` (FIPS 186-5 / SEC 2), big-endian.
#[rustfmt::skip]
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The JWS algorithm a key signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// `EdDSA` with Ed25519 (RFC 8037 §3.1).
    EdDsa,
    /// `ES256`: ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
}

impl SigningAlgorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }
}

/// A private key's secret bytes: the Ed25519 seed (RFC 8032 §5.1.5) or the
/// P-256 scalar `d` (big-endian, in `[1, n-1]`). Wiped when dropped.
pub(crate) struct PrivateKey {
    pub(crate) algorithm: SigningAlgorithm,
    pub(crate) bytes: Zeroizing<[u8; 32]>,
}

impl PrivateKey {
    /// The PKCS#8 DER document (RFC 5208 §5) of this key, wiped when dropped.
    pub(crate) fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        let prefix: &[u8] = match self.algorithm {
            SigningAlgorithm::EdDsa => &ED25519_PKCS8_PREFIX,
            SigningAlgorithm::Es256 => &P256_PKCS8_PREFIX,
        };
        let mut der = Zeroizing::new(Vec::with_capacity(prefix.len() + 32));
        der.extend_from_slice(prefix);
        der.extend_from_slice(self.bytes.as_slice());
        der
    }
}

/// A public key: the Ed25519 point `x` (RFC 8037 §2) or the P-256 point
/// `(x, y)` (RFC 7518 §6.2.1), as the JWK members carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// `x`: the 32-byte encoded Ed25519 point.
    Ed25519 {
        /// The encoded point.
        x: [u8; 32],
    },
    /// `x` and `y`: the affine coordinates, 32 bytes each.
    P256 {
        /// The x coordinate.
        x: [u8; 32],
        /// The y coordinate.
        y: [u8; 32],
    },
}

impl PublicKey {
    /// Reads the base64url JWK members `x` (and `y` for P-256) of a public
    /// key derived or given for `algorithm`.
    pub fn from_jwk_members(algorithm: SigningAlgorithm, x: &str, y: Option<&str>) -> Option<Self> {
        let coordinate = |text: &str| -> Option<[u8; 32]> {
            let mut out = [0u8; 32];
            let len = Base64UrlUnpadded::decode(text, &mut out).ok()?.len();
            (len == 32).then_some(out)
        };
        match (algorithm, y) {
            (SigningAlgorithm::EdDsa, None) => Some(Self::Ed25519 { x: coordinate(x)? }),
            (SigningAlgorithm::Es256, Some(y)) => Some(Self::P256 {
                x: coordinate(x)?,
                y: coordinate(y)?,
            }),
            _ => None,
        }
    }

    /// The public JWK members (RFC 7517 §4, RFC 8037 §2, RFC 7518 §6.2.1)
    /// in RFC 7638 §3.2 lexicographic order: `crv`, `kty`, `x`, `y`.
    pub fn members(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Ed25519 { x } => vec![
                ("crv", "Ed25519".into()),
                ("kty", "OKP".into()),
                ("x", Base64UrlUnpadded::encode_string(x)),
            ],
            Self::P256 { x, y } => vec![
                ("crv", "P-256".into()),
                ("kty", "EC".into()),
                ("x", Base64UrlUnpadded::encode_string(x)),
                ("y", Base64UrlUnpadded::encode_string(y)),
            ],
        }
    }

    /// The RFC 7638 §3 JWK thumbprint (SHA-256, base64url): the required
    /// public members in lexicographic order, no whitespace (RFC 8037 §2 for OKP).
    pub fn thumbprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut canonical = String::from("{");
        for (i, (name, value)) in self.members().iter().enumerate() {
            if i > 0 {
                canonical.push(',');
            }
            json::write_string(&mut canonical, name);
            canonical.push(':');
            json::write_string(&mut canonical, value);
        }
        canonical.push('}');
        Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
    }
}

/// What an access key says (see the formats on [`AccessKey::parse`]).
pub struct AccessKey {
    pub(crate) client_id: String,
    /// `keyId` (Authress, JSON) or the JWK's `kid`.
    pub(crate) key_id: Option<String>,
    /// The audience the key names (Authress's account audience, JSON's `audience`).
    pub(crate) audience: Option<String>,
    pub(crate) private: PrivateKey,
    /// The public members the key carried (JSON form only), to be checked
    /// against the ones derived from the private key.
    pub(crate) public: Option<PublicKey>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("audience", &self.audience)
            .field("algorithm", &self.private.algorithm)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

pub(crate) fn invalid_key(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidKey, message)
}

const UNSUPPORTED_FORMAT: &str = "the access key is not in a supported format: expected \
     clientId.keyId.accountId.base64-PKCS#8-Ed25519 (Authress) or JSON \
     {clientId, keyId?, privateKey: JWK with d}, raw or base64url";

impl AccessKey {
    /// Parses a service client's access key. Malformed keys fail with
    /// `invalid_key`, whose message never contains key material.
    ///
    /// 1. **Authress format**: `{clientId}.{keyId}.{accountId}.{privateKey}`
    ///    where `privateKey` is the base64 (standard alphabet, padding
    ///    optional) of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7, 48 bytes,
    ///    starting `MC4CAQAwBQYDK2VwBCIEI`). Signs `EdDSA`; the audience is
    ///    `{accountId}.accounts.authress.io`, as Authress's own SDK uses.
    /// 2. **JSON format**, raw or base64url-encoded:
    ///    `{"clientId": "…", "keyId"?: "…", "audience"?: "…", "privateKey": JWK}`
    ///    where the JWK (RFC 7517) is an Ed25519 key
    ///    (`{"kty":"OKP","crv":"Ed25519","d":…,"x"?:…}`, RFC 8037 §2, signs
    ///    `EdDSA`) or a P-256 key (`{"kty":"EC","crv":"P-256","d":…,"x"?:…,"y"?:…}`,
    ///    RFC 7518 §6.2.2, signs `ES256`). `alg`, `use` and `key_ops`, when
    ///    present, must allow signing with that algorithm; `x` and `y`, when
    ///    present, are checked against `d` once the public key is derived.
    pub fn parse(access_key: &str) -> Result<Self> {
        let access_key = access_key.trim();
        if access_key.starts_with('{') {
            parse_json_key(access_key.as_bytes())
        } else if access_key.split('.').count() == 4 {
            parse_authress_key(access_key)
        } else {
            let decoded = Base64UrlUnpadded::decode_vec(access_key.trim_end_matches('='))
                .map(Zeroizing::new)
                .map_err(|_| invalid_key(UNSUPPORTED_FORMAT))?;
            parse_json_key(&decoded)
        }
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.private.algorithm
    }
}

fn parse_authress_key(access_key: &str) -> Result<AccessKey> {
    let mut parts = access_key.split('.');
    let (Some(client_id), Some(key_id), Some(account_id), Some(private_key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_key(UNSUPPORTED_FORMAT));
    };
    if key_id.is_empty() || account_id.is_empty() {
        return Err(invalid_key(
            "the access key has an empty keyId or accountId (expected clientId.keyId.accountId.privateKey)",
        ));
    }
    let mut der = Zeroizing::new([0u8; 64]);
    let unpadded = private_key.trim_end_matches('=');
    let mut padded = Zeroizing::new(String::from(unpadded));
    while padded.len() % 4 != 0 {
        padded.push('=');
    }
    let decoded_len = Base64::decode(padded.as_str(), der.as_mut_slice()).map(<[u8]>::len);
    let seed = match decoded_len {
        Ok(48) => der
            .get(..16)
            .filter(|prefix| *prefix == ED25519_PKCS8_PREFIX)
            .and_then(|_| der.get(16..48))
            .and_then(|seed| <[u8; 32]>::try_from(seed).ok())
            .map(Zeroizing::new),
        _ => None,
    };
    let Some(seed) = seed else {
        return Err(invalid_key(
            "the access key's private key is not a base64 PKCS#8 Ed25519 key (RFC 8410 §7)",
        ));
    };
    Ok(AccessKey {
        client_id: client_id.to_owned(),
        key_id: Some(key_id.to_owned()),
        audience: Some(msg!(account_id, ".accounts.authress.io")),
        private: PrivateKey {
            algorithm: SigningAlgorithm::EdDsa,
            bytes: seed,
        },
        public: None,
    })
}

fn parse_json_key(text: &[u8]) -> Result<AccessKey> {
    let Ok(Value::Object(mut document)) = json::parse_bytes(text) else {
        return Err(invalid_key(UNSUPPORTED_FORMAT));
    };
    let result = read_json_key(&document);
    // The parsed tree holds `d` as a string: wipe it.
    if let Some(Value::Object(mut jwk)) = document.remove("privateKey") {
        if let Some(Value::String(mut d)) = jwk.remove("d") {
            d.zeroize();
        }
    }
    result
}

fn read_json_key(document: &Object) -> Result<AccessKey> {
    let text_member = |name: &str| -> Result<Option<String>> {
        match document.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid_key(msg!(
                "the access key member \"",
                name,
                "\" must be a string"
            ))),
        }
    };
    let client_id =
        text_member("clientId")?.ok_or_else(|| invalid_key("the access key has no clientId"))?;
    let key_id = text_member("keyId")?;
    let audience = text_member("audience")?.filter(|a| !a.is_empty());
    let jwk = document
        .get("privateKey")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_key("the access key has no privateKey JWK object"))?;
    let (private, public) = read_private_jwk(jwk)?;
    let key_id = match (key_id, jwk.get_str("kid")) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid_key(
                "the access key's keyId and the JWK's kid differ",
            ))
        }
        (Some(kid), _) => Some(kid),
        (None, Some(kid)) => Some(kid.to_owned()),
        (None, None) => None,
    }
    .filter(|kid| !kid.is_empty());
    Ok(AccessKey {
        client_id,
        key_id,
        audience,
        private,
        public,
    })
}

fn read_private_jwk(jwk: &Object) -> Result<(PrivateKey, Option<PublicKey>)> {
    let algorithm = match (jwk.get_str("kty"), jwk.get_str("crv")) {
        (Some("OKP"), Some("Ed25519")) => SigningAlgorithm::EdDsa,
        (Some("EC"), Some("P-256")) => SigningAlgorithm::Es256,
        _ => {
            return Err(invalid_key(
                "the private key JWK must be kty OKP / crv Ed25519 or kty EC / crv P-256",
            ))
        }
    };
    if jwk
        .get("alg")
        .is_some_and(|alg| alg.as_str() != Some(algorithm.name()))
    {
        return Err(invalid_key(msg!(
            "the private key JWK's alg must be ",
            algorithm.name(),
            " for this key type"
        )));
    }
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err(invalid_key("the private key JWK's use must be \"sig\""));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let signs = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("sign")));
        if !signs {
            return Err(invalid_key(
                "the private key JWK's key_ops must include \"sign\"",
            ));
        }
    }
    let mut d = Zeroizing::new([0u8; 32]);
    let decoded = jwk
        .get_str("d")
        .map(|text| Base64UrlUnpadded::decode(text, d.as_mut_slice()).map(<[u8]>::len));
    if !matches!(decoded, Some(Ok(32))) {
        return Err(invalid_key(
            "the private key JWK needs d: 32 bytes of base64url without padding",
        ));
    }
    if algorithm == SigningAlgorithm::Es256 && !p256_scalar_in_range(&d) {
        return Err(invalid_key(
            "the private key JWK's d is not a valid P-256 scalar",
        ));
    }
    let public = match (algorithm, jwk.get("x"), jwk.get("y")) {
        (_, None, None) => None,
        (SigningAlgorithm::Es256, Some(_), None) | (SigningAlgorithm::Es256, None, Some(_)) => {
            return Err(invalid_key(
                "the private key JWK has only one of x and y: give both or neither",
            ))
        }
        (_, x, y) => {
            fn text(v: Option<&Value>) -> Option<&str> {
                v.map(|v| v.as_str().unwrap_or_default())
            }
            let parsed = match (text(x), text(y)) {
                (Some(x), y) => PublicKey::from_jwk_members(algorithm, x, y),
                (None, _) => None,
            };
            Some(parsed.ok_or_else(|| {
                invalid_key(
                    "the private key JWK's public members (x, y) are not valid for its curve",
                )
            })?)
        }
    };
    Ok((
        PrivateKey {
            algorithm,
            bytes: d,
        },
        public,
    ))
}

/// `d` in `[1, n-1]` (SEC 1 §3.2.1), compared in constant time: a subtraction
/// `d - n` with borrow over every byte (a borrow out means `d < n`) and an OR
/// of every byte (non-zero), without branching on secret bytes.
fn p256_scalar_in_range(d: &[u8; 32]) -> bool {
    let mut borrow = 0u16;
    let mut any = 0u8;
    for (digit, modulus) in d.iter().rev().zip(P256_ORDER.iter().rev()) {
        let difference = u16::from(*digit)
            .wrapping_sub(u16::from(*modulus))
            .wrapping_sub(borrow);
        borrow = (difference >> 8) & 1;
        any |= *digit;
    }
    borrow == 1 && any != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p256_scalar_range_is_one_to_n_minus_one() {
        let mut n_minus_one = P256_ORDER;
        n_minus_one[31] -= 1;
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(p256_scalar_in_range(&one));
        assert!(p256_scalar_in_range(&n_minus_one));
        assert!(!p256_scalar_in_range(&[0u8; 32]));
        assert!(!p256_scalar_in_range(&P256_ORDER));
        assert!(!p256_scalar_in_range(&[0xff; 32]));
        // Above n from the 5th byte on, whatever follows.
        let mut above = [0u8; 32];
        above[..5].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(!p256_scalar_in_range(&above));
    }

    #[test]
    fn pkcs8_documents_have_the_rfc_layouts() {
        let key = PrivateKey {
            algorithm: SigningAlgorithm::Es256,
            bytes: Zeroizing::new([7u8; 32]),
        };
        let der = key.pkcs8();
        // SEQUENCE of 0x41 content bytes: the whole document is 67 bytes.
        assert_eq!(der.len(), 67);
        assert_eq!(der[1] as usize, der.len() - 2);
        assert_eq!(&der[35..], &[7u8; 32]);
        let key = PrivateKey {
            algorithm: SigningAlgorithm::EdDsa,
            bytes: Zeroizing::new([9u8; 32]),
        };
        let der = key.pkcs8();
        assert_eq!(der.len(), 48);
        assert_eq!(der[1] as usize, der.len() - 2);
        // What Authress hands out starts like this (RFC 8410 §10.3).
        assert!(Base64::encode_string(&der).starts_with("MC4CAQAwBQYDK2VwBCIEI"));
    }
}
