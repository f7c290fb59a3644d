//! Public JWKs and JWK Sets (RFC 7517 §4-5, RFC 7518 §6, RFC 8037 §2).
//!
//! A set is validated once, when it is loaded: every key that could never
//! verify one of our algorithms is skipped (not fatal, RFC 7517 §5: "ignore
//! JWKs ... that it does not understand"), and what remains is decoded and
//! range-checked so per-token work is only key selection.

use super::alg::{Algorithm, KeyKind};
use super::scalar::{self, Curve};
use crate::b64;
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Maximum number of entries in a JWK Set's `keys` array; a larger set is
/// rejected (`jwks_invalid`) rather than truncated, so a needed key is never
/// silently dropped. Real sets hold a handful of keys.
pub const MAX_KEYS: usize = 100;

/// Minimum RSA modulus size in bits (RFC 7518 §3.3, §3.5: "2048 bits or
/// larger MUST be used"). Smaller keys are skipped.
pub const MIN_RSA_BITS: usize = 2048;

/// Maximum RSA modulus size in bits accepted, so a set cannot make each
/// verification arbitrarily expensive. Larger keys are skipped.
pub const MAX_RSA_BITS: usize = 8192;

/// Largest RSA public exponent accepted (`2^33 - 1`, the bound the RustCrypto
/// and BoringSSL backends share).
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

/// Members that only private (or symmetric) JWKs have (RFC 7518 §6.2.2,
/// §6.3.2, §6.4.1, RFC 8037 §2).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// One usable public verification key from a JWK Set.
#[derive(Clone, Debug)]
pub struct Jwk {
    kind: KeyKind,
    kid: Option<String>,
    alg: Option<Algorithm>,
    /// Key material members in canonical base64url (`x`,`y` / `n`,`e` / `x`).
    members: Vec<(&'static str, String)>,
    /// RSA modulus length in bytes (the exact RSA signature length).
    modulus_len: Option<usize>,
    public_jwk: String,
    #[cfg(feature = "rust-crypto")]
    parsed: super::rust_crypto::ParsedKey,
}

impl Jwk {
    /// True when this key may verify a token with `alg` and header `kid`:
    /// same key type and curve, the JWK's `alg` (if any) equal to the
    /// token's, and its `kid` equal to the token's when the token has one
    /// (how jose selects keys; `use` and `key_ops` were checked when the set
    /// was read).
    pub fn fits(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.kind == alg.key_kind()
            && self.alg.map_or(true, |a| a == alg)
            && kid.map_or(true, |kid| self.kid() == Some(kid))
    }

    /// Key type and curve (RFC 7517 §4.1, RFC 7518 §6.2.1.1).
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key ID (`kid`, RFC 7517 §4.5), if the JWK has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK's `alg` (RFC 7517 §4.4), if it names one.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// For RSA keys, the modulus length in bytes, which is the exact length
    /// of every valid signature (RFC 8017 §8.1.2 step 1).
    pub fn rsa_modulus_len(&self) -> Option<usize> {
        self.modulus_len
    }

    /// The normalised public JWK as JSON: `kty`, `crv`, `x`, `y` (EC),
    /// `n`, `e` (RSA, leading zero octets removed per RFC 7518 §6.3.1.1),
    /// `crv`, `x` (OKP), and `alg` when the source JWK had one. Ready for
    /// `crypto.subtle.importKey('jwk', ...)` or
    /// `crypto.createPublicKey({ format: 'jwk', key })`.
    pub fn public_jwk_json(&self) -> &str {
        &self.public_jwk
    }

    /// The key as a JWK for a JWK Set snapshot: the public JWK plus `kid`.
    pub fn to_jwk_json(&self) -> String {
        write_jwk(self.kind, self.kid.as_deref(), self.alg, &self.members)
    }

    #[cfg(feature = "rust-crypto")]
    pub(crate) fn parsed(&self) -> &super::rust_crypto::ParsedKey {
        &self.parsed
    }
}

fn write_jwk(
    kind: KeyKind,
    kid: Option<&str>,
    alg: Option<Algorithm>,
    members: &[(&'static str, String)],
) -> String {
    let mut out =
        String::with_capacity(64 + members.iter().map(|(_, v)| v.len() + 8).sum::<usize>());
    out.push_str("{\"kty\":\"");
    out.push_str(kind.kty());
    out.push('"');
    if let Some(kid) = kid {
        out.push_str(",\"kid\":");
        json::write_string(&mut out, kid);
    }
    if let Some(crv) = kind.crv() {
        out.push_str(",\"crv\":\"");
        out.push_str(crv);
        out.push('"');
    }
    for (name, value) in members {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":\"");
        out.push_str(value);
        out.push('"');
    }
    if let Some(alg) = alg {
        out.push_str(",\"alg\":\"");
        out.push_str(alg.as_str());
        out.push('"');
    }
    out.push('}');
    out
}

/// Why a JWK in a set was skipped (for diagnostics; never fatal by itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in the source `keys` array.
    pub index: usize,
    /// What was wrong, in a few words.
    pub reason: &'static str,
}

/// A validated JWK Set (RFC 7517 §5): only keys usable for verification.
#[derive(Clone, Debug)]
pub struct KeySet {
    keys: Vec<Jwk>,
    skipped: Vec<SkippedKey>,
}

impl KeySet {
    /// Parses and validates a JWK Set document (RFC 7517 §5).
    ///
    /// Fails with `jwks_invalid` when the document is not a JSON object with
    /// a `keys` array, holds more than [`MAX_KEYS`] entries, or holds no
    /// usable key. Unusable keys (private, symmetric, `use` other than
    /// `sig`, `key_ops` without `verify`, unsupported `kty`/`crv`/`alg`,
    /// RSA outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`], EC points off the
    /// curve, weak Ed25519 points) are skipped and listed in [`Self::skipped`].
    pub fn from_json(text: &str) -> Result<Self> {
        let value = json::parse(text).map_err(|e| {
            invalid(msg!(
                "the JWK Set is not valid JSON (",
                e,
                "); expected {\"keys\":[...]}"
            ))
        })?;
        Self::from_value(&value)
    }

    /// Like [`Self::from_json`], from UTF-8 bytes (an HTTP body).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let text = json::utf8(bytes)
            .map_err(|_| invalid("the JWK Set is not UTF-8 text; expected a JSON document"))?;
        Self::from_json(&text)
    }

    /// Validates an already-parsed JWK Set document.
    pub fn from_value(value: &Value) -> Result<Self> {
        let keys = value
            .as_object()
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the JWK Set must be a JSON object with a \"keys\" array"))?;
        if keys.len() > MAX_KEYS {
            return Err(invalid(msg!(
                "the JWK Set has ",
                keys.len(),
                " keys; at most ",
                MAX_KEYS,
                " are accepted"
            )));
        }
        let mut set = KeySet {
            keys: Vec::with_capacity(keys.len()),
            skipped: Vec::new(),
        };
        for (index, key) in keys.iter().enumerate() {
            match key
                .as_object()
                .ok_or("not a JSON object")
                .and_then(parse_jwk)
            {
                Ok(jwk) => set.keys.push(jwk),
                Err(reason) => set.skipped.push(SkippedKey { index, reason }),
            }
        }
        if set.keys.is_empty() {
            let mut message = String::from("the JWK Set holds no usable verification key");
            for skipped in set.skipped.iter().take(5) {
                message.push_str(&msg!("; key ", skipped.index, ": ", skipped.reason));
            }
            return Err(invalid(message));
        }
        Ok(set)
    }

    /// The usable keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The usable key at `index` (indices used by `Prepared::candidates`).
    pub fn get(&self, index: usize) -> Option<&Jwk> {
        self.keys.get(index)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false for a constructed set (an empty set is `jwks_invalid`).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Entries of the source document that were skipped, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// True when some usable key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// True when some usable key could verify a token with this `alg` and
    /// header `kid` (see [`Jwk::fits`]).
    pub fn has_key_for(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.keys.iter().any(|k| k.fits(alg, kid))
    }

    /// The set as a JWK Set document holding only the usable keys.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"keys\":[");
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&key.to_jwk_json());
        }
        out.push_str("]}");
        out
    }

    /// True when both sets hold the same usable keys in the same order.
    pub fn same_keys(&self, other: &KeySet) -> bool {
        self.keys.len() == other.keys.len()
            && self
                .keys
                .iter()
                .zip(&other.keys)
                .all(|(a, b)| a.kid == b.kid && a.public_jwk == b.public_jwk)
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::JwksInvalid, message)
}

type Skip<T> = core::result::Result<T, &'static str>;

/// An optional string member; present with another type is an error.
fn optional_str<'a>(
    obj: &'a Object,
    name: &str,
    wrong_type: &'static str,
) -> Skip<Option<&'a str>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type),
    }
}

/// A required base64url member decoded strictly.
fn b64_member(obj: &Object, name: &str, missing: &'static str) -> Skip<Vec<u8>> {
    obj.get_str(name).and_then(b64::decode).ok_or(missing)
}

fn parse_jwk(obj: &Object) -> Skip<Jwk> {
    let kty = optional_str(obj, "kty", "kty is not a string")?.ok_or("kty is missing")?;
    if PRIVATE_MEMBERS.iter().any(|m| obj.get(m).is_some()) {
        return Err("holds private or symmetric key material");
    }
    // RFC 7517 §4.2: only signature keys.
    if let Some(usage) = optional_str(obj, "use", "use is not a string")? {
        if usage != "sig" {
            return Err("use is not \"sig\"");
        }
    }
    // RFC 7517 §4.3: key_ops must allow "verify".
    if let Some(ops) = obj.get("key_ops") {
        let ops = ops.as_array().ok_or("key_ops is not an array")?;
        if ops.iter().any(|op| op.as_str().is_none()) {
            return Err("key_ops holds a non-string");
        }
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Err("key_ops does not contain \"verify\"");
        }
    }
    let kid = optional_str(obj, "kid", "kid is not a string")?.map(str::to_owned);
    let alg = match optional_str(obj, "alg", "alg is not a string")? {
        None => None,
        Some(name) => {
            Some(Algorithm::from_name(name).ok_or("alg is not a supported signature algorithm")?)
        }
    };

    let (kind, members, modulus_len) = match kty {
        "EC" => {
            let (kind, curve) = match optional_str(obj, "crv", "crv is not a string")? {
                Some("P-256") => (KeyKind::EcP256, Curve::P256),
                Some("P-384") => (KeyKind::EcP384, Curve::P384),
                _ => return Err("EC crv is not P-256 or P-384"),
            };
            let x = b64_member(obj, "x", "EC x is missing or not base64url")?;
            let y = b64_member(obj, "y", "EC y is missing or not base64url")?;
            if !scalar::coordinate_in_range(curve, &x) || !scalar::coordinate_in_range(curve, &y) {
                return Err("EC x or y has the wrong length or is not below the field prime");
            }
            (
                kind,
                vec![("x", b64::encode(&x)), ("y", b64::encode(&y))],
                None,
            )
        }
        "RSA" => {
            let n = b64_member(obj, "n", "RSA n is missing or not base64url")?;
            let e = b64_member(obj, "e", "RSA e is missing or not base64url")?;
            let n = strip_leading_zeros(&n);
            let e = strip_leading_zeros(&e);
            let bits = bit_length(n);
            if bits < MIN_RSA_BITS {
                return Err("RSA modulus is shorter than 2048 bits");
            }
            if bits > MAX_RSA_BITS {
                return Err("RSA modulus is longer than 8192 bits");
            }
            if n.last().map_or(true, |b| b & 1 == 0) {
                return Err("RSA modulus is even");
            }
            let exponent = if e.len() <= 8 {
                e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            } else {
                u64::MAX
            };
            if !(3..=MAX_RSA_EXPONENT).contains(&exponent) || exponent & 1 == 0 {
                return Err("RSA exponent must be odd and between 3 and 2^33-1");
            }
            (
                KeyKind::Rsa,
                vec![("n", b64::encode(n)), ("e", b64::encode(e))],
                Some(n.len()),
            )
        }
        "OKP" => {
            if optional_str(obj, "crv", "crv is not a string")? != Some("Ed25519") {
                return Err("OKP crv is not Ed25519");
            }
            let x = b64_member(obj, "x", "OKP x is missing or not base64url")?;
            if x.len() != 32 {
                return Err("Ed25519 x is not 32 bytes");
            }
            (KeyKind::Ed25519, vec![("x", b64::encode(&x))], None)
        }
        "oct" => return Err("symmetric (oct) keys are never used with a JWK Set"),
        _ => return Err("kty is not EC, RSA or OKP"),
    };
    if let Some(alg) = alg {
        if alg.key_kind() != kind {
            return Err("alg does not fit the key type or curve");
        }
    }
    #[cfg(feature = "rust-crypto")]
    let parsed = super::rust_crypto::ParsedKey::from_members(kind, &members)?;
    let public_jwk = write_jwk(kind, None, alg, &members);
    Ok(Jwk {
        kind,
        kid,
        alg,
        members,
        modulus_len,
        public_jwk,
        #[cfg(feature = "rust-crypto")]
        parsed,
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.first() {
        None => 0,
        Some(top) => (big_endian.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}
