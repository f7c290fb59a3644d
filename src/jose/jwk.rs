//! Public JWKs and JWK Sets (RFC 7517 §4-5, RFC 7518 §6, RFC 8037 §2).
//!
//! A set is validated once, when it is loaded: every key that could never
//! verify one of our algorithms is skipped (not fatal, RFC 7517 §5: "ignore
//! JWKs ... that it does not understand"), and what remains is decoded and
//! range-checked so per-token work is only key selection.

use super::alg::{Algorithm, KeyKind};
use super::scalar::{self, Curve};
use crate::b64;
use crate::json::{self, Members, Node, Str, Value};
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
    /// RSA modulus length in bytes (the exact RSA signature length).
    modulus_len: Option<usize>,
    /// The normalised public JWK (see [`Self::public_jwk_json`]).
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
        self.fits_token(alg, kid.map(Str::from))
    }

    /// [`Self::fits`] for the `kid` as a token's header holds it.
    pub fn fits_token(&self, alg: Algorithm, kid: Option<Str<'_>>) -> bool {
        self.kind == alg.key_kind()
            && self.alg.map_or(true, |a| a == alg)
            && kid.map_or(true, |kid| self.kid().is_some_and(|mine| kid.is(mine)))
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
        let mut out = String::new();
        self.write_jwk_json(&mut out);
        out
    }

    /// Appends [`Self::to_jwk_json`]: `kid` goes right after `kty`.
    fn write_jwk_json(&self, out: &mut String) {
        // `{"kty":"` + kty + `"`
        let split = 9 + self.kind.kty().len();
        match (&self.kid, self.public_jwk.split_at_checked(split)) {
            (Some(kid), Some((head, tail))) => {
                out.push_str(head);
                out.push_str(",\"kid\":");
                json::write_string(out, kid);
                out.push_str(tail);
            }
            _ => out.push_str(&self.public_jwk),
        }
    }

    #[cfg(feature = "rust-crypto")]
    pub(crate) fn parsed(&self) -> &super::rust_crypto::ParsedKey {
        &self.parsed
    }
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
    /// RSA outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`], weak (small-order)
    /// Ed25519 points, and in the native build (`rust-crypto`) EC points
    /// off the curve) are skipped and listed in [`Self::skipped`]. The npm
    /// builds leave the curve check to the runtime's key import, which
    /// refuses such a point: that key is then skipped when a token first
    /// names it, and the token answers `bad_signature`.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_bytes(text.as_bytes())
    }

    /// Like [`Self::from_json`], from UTF-8 bytes (an HTTP body).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let node = json::read(bytes).map_err(|e| {
            if e.reason == "invalid UTF-8" {
                return invalid("the JWK Set is not UTF-8 text; expected a JSON document");
            }
            invalid(msg!(
                "the JWK Set is not valid JSON (",
                e,
                "); expected {\"keys\":[...]}"
            ))
        })?;
        Self::from_node(&node)
    }

    /// Validates an already-parsed JWK Set document.
    pub fn from_value(value: &Value) -> Result<Self> {
        Self::from_json(&value.to_json())
    }

    /// Validates a JWK Set document read as a borrowed tree.
    pub fn from_node(value: &Node<'_>) -> Result<Self> {
        let keys = value
            .as_object()
            .and_then(|o| o.get("keys"))
            .and_then(Node::as_array)
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
    pub fn has_key_for(&self, alg: Algorithm, kid: Option<Str<'_>>) -> bool {
        self.keys.iter().any(|k| k.fits_token(alg, kid))
    }

    /// The set as a JWK Set document holding only the usable keys.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends [`Self::to_json`] to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push_str("{\"keys\":[");
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            key.write_jwk_json(out);
        }
        out.push_str("]}");
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
    obj: &Members<'a>,
    name: &str,
    wrong_type: &'static str,
) -> Skip<Option<Str<'a>>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Node::String(s)) => Ok(Some(*s)),
        Some(_) => Err(wrong_type),
    }
}

/// A required base64url member decoded strictly.
fn b64_member(obj: &Members<'_>, name: &str, missing: &'static str) -> Skip<Vec<u8>> {
    let text = obj.get_str(name).ok_or(missing)?;
    let decoded = match text.plain() {
        Some(raw) => b64::decode_bytes(raw),
        // Escapes in a base64url value: decoded first, then checked.
        None => b64::decode_bytes(text.decoded().as_bytes()),
    };
    decoded.ok_or(missing)
}

/// Key material members per key type: name, `,"name":"` and the skip
/// reason when missing or not base64url.
type KeyMembers = &'static [(&'static str, &'static str, &'static str)];
const EC_MEMBERS: KeyMembers = &[
    ("x", ",\"x\":\"", "EC x is missing or not base64url"),
    ("y", ",\"y\":\"", "EC y is missing or not base64url"),
];
const RSA_MEMBERS: KeyMembers = &[
    ("n", ",\"n\":\"", "RSA n is missing or not base64url"),
    ("e", ",\"e\":\"", "RSA e is missing or not base64url"),
];
const OKP_MEMBERS: KeyMembers = &[("x", ",\"x\":\"", "OKP x is missing or not base64url")];

fn parse_jwk(obj: &Members<'_>) -> Skip<Jwk> {
    let kty = optional_str(obj, "kty", "kty is not a string")?.ok_or("kty is missing")?;
    if PRIVATE_MEMBERS.iter().any(|m| obj.get(m).is_some()) {
        return Err("holds private or symmetric key material");
    }
    // RFC 7517 §4.2: only signature keys.
    if let Some(usage) = optional_str(obj, "use", "use is not a string")? {
        if !usage.is("sig") {
            return Err("use is not \"sig\"");
        }
    }
    // RFC 7517 §4.3: key_ops must allow "verify".
    if let Some(ops) = obj.get("key_ops") {
        let ops = ops.as_array().ok_or("key_ops is not an array")?;
        match ops.iter().try_fold(false, |verify, op| {
            op.as_str().map(|op| verify || op.is("verify"))
        }) {
            Some(true) => {}
            Some(false) => return Err("key_ops does not contain \"verify\""),
            None => return Err("key_ops holds a non-string"),
        }
    }
    let kid = optional_str(obj, "kid", "kid is not a string")?;
    let alg = match optional_str(obj, "alg", "alg is not a string")? {
        None => None,
        Some(name) => Some(
            Algorithm::ALL
                .iter()
                .copied()
                .find(|a| name.is(a.as_str()))
                .ok_or("alg is not a supported signature algorithm")?,
        ),
    };

    // The kind, the public JWK up to its key material, and the members.
    let crv = obj.get_str("crv");
    let is_crv = |name: &str| crv.is_some_and(|c| c.is(name));
    let (kind, head, members) = if kty.is("EC") {
        if is_crv("P-256") {
            (
                KeyKind::EcP256,
                "{\"kty\":\"EC\",\"crv\":\"P-256\"",
                EC_MEMBERS,
            )
        } else if is_crv("P-384") {
            (
                KeyKind::EcP384,
                "{\"kty\":\"EC\",\"crv\":\"P-384\"",
                EC_MEMBERS,
            )
        } else {
            return Err("EC crv is not P-256 or P-384");
        }
    } else if kty.is("RSA") {
        (KeyKind::Rsa, "{\"kty\":\"RSA\"", RSA_MEMBERS)
    } else if kty.is("OKP") {
        if !is_crv("Ed25519") {
            return Err("OKP crv is not Ed25519");
        }
        (
            KeyKind::Ed25519,
            "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"",
            OKP_MEMBERS,
        )
    } else if kty.is("oct") {
        return Err("symmetric (oct) keys are never used with a JWK Set");
    } else {
        return Err("kty is not EC, RSA or OKP");
    };
    let mut decoded = [Vec::new(), Vec::new()];
    for ((name, _, missing), value) in members.iter().zip(&mut decoded) {
        *value = b64_member(obj, name, missing)?;
    }
    // `x`,`y` / `n`,`e` / `x` (and empty).
    let [first, second] = &decoded;
    let (mut first, mut second) = (first.as_slice(), second.as_slice());
    let mut modulus_len = None;
    match kind {
        KeyKind::EcP256 | KeyKind::EcP384 => {
            let curve = if kind == KeyKind::EcP256 {
                Curve::P256
            } else {
                Curve::P384
            };
            if !scalar::coordinate_in_range(curve, first)
                || !scalar::coordinate_in_range(curve, second)
            {
                return Err("EC x or y has the wrong length or is not below the field prime");
            }
        }
        KeyKind::Rsa => {
            (first, second) = (strip_leading_zeros(first), strip_leading_zeros(second));
            let bits = bit_length(first);
            if bits < MIN_RSA_BITS {
                return Err("RSA modulus is shorter than 2048 bits");
            }
            if bits > MAX_RSA_BITS {
                return Err("RSA modulus is longer than 8192 bits");
            }
            if first.last().map_or(true, |b| b & 1 == 0) {
                return Err("RSA modulus is even");
            }
            let exponent = if second.len() <= 8 {
                second
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            } else {
                u64::MAX
            };
            if !(3..=MAX_RSA_EXPONENT).contains(&exponent) || exponent & 1 == 0 {
                return Err("RSA exponent must be odd and between 3 and 2^33-1");
            }
            modulus_len = Some(first.len());
        }
        KeyKind::Ed25519 => {
            if first.len() != 32 {
                return Err("Ed25519 x is not 32 bytes");
            }
            if scalar::ed25519_small_order(first) {
                return Err("Ed25519 x is a small-order point");
            }
        }
    }
    if let Some(alg) = alg {
        if alg.key_kind() != kind {
            return Err("alg does not fit the key type or curve");
        }
    }
    #[cfg(feature = "rust-crypto")]
    let parsed = super::rust_crypto::ParsedKey::from_parts(kind, first, second)?;

    let mut public_jwk = String::with_capacity(64 + (first.len() + second.len()) * 4 / 3);
    public_jwk.push_str(head);
    for ((_, open, _), value) in members.iter().zip([first, second]) {
        public_jwk.push_str(open);
        b64::encode_into(&mut public_jwk, value);
        public_jwk.push('"');
    }
    if let Some(alg) = alg {
        public_jwk.push_str(",\"alg\":\"");
        public_jwk.push_str(alg.as_str());
        public_jwk.push('"');
    }
    public_jwk.push('}');
    Ok(Jwk {
        kind,
        kid: kid.map(|kid| kid.decoded()),
        alg,
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
