//! Compact JWS / JWT verification in three phases (RFC 7515 §5.2,
//! RFC 7519 §7.2, RFC 8725):
//!
//! 1. [`prepare`]: parse, apply the algorithm allow-list, header rules and
//!    `typ`, select candidate keys, check the signature's shape, evaluate the
//!    claims (result held back).
//! 2. The caller verifies the signature with a [`SignatureBackend`] against
//!    the candidates (synchronously, or asynchronously with WebCrypto).
//! 3. [`finish`]: `bad_signature` if no candidate verified, else the held
//!    claim result.

use super::alg::{Algorithm, KeyKind};
use super::claims;
use super::jwk::{Jwk, KeySet};
use super::options::{media_subtype, VerifyOptions};
use super::scalar::{self, Curve};
use crate::b64;
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Longest token accepted, in bytes (16 KiB). Longer input is `malformed`
/// before any decoding, bounding the work an unauthenticated caller causes.
pub const MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// Most candidate keys tried for one token. When a token has no `kid` and
/// more keys than this fit its algorithm, it fails with `no_matching_key`
/// (add `kid` to the tokens), so a forged token costs a bounded number of
/// signature verifications.
pub const MAX_CANDIDATES: usize = 8;

/// Header members that point at keys elsewhere (RFC 7515 §4.1.2-4.1.6).
/// They are never used; with `reject_key_hints` their presence fails.
const KEY_HINT_MEMBERS: &[&str] = &["jku", "jwk", "x5u", "x5c"];

/// A signature verifier for one algorithm and one candidate key.
///
/// `key_index` is the key's position in the [`KeySet`], so backends that
/// import keys into the runtime (`CryptoKey`, `KeyObject`) can cache them.
/// `signature` has already passed the shape checks (exact length, scalars in
/// range). Return true only if the signature verifies.
pub trait SignatureBackend {
    /// Verifies `signature` over `signing_input` with `key` under `alg`.
    fn verify(
        &self,
        alg: Algorithm,
        key_index: usize,
        key: &Jwk,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool;
}

/// A token that passed every check that does not need the signature.
#[derive(Debug)]
pub struct Prepared<'t> {
    parsed: Parsed<'t>,
    candidates: Vec<usize>,
    claims_result: Result<()>,
}

impl Prepared<'_> {
    /// The header `alg`, already in the allow-list.
    pub fn alg(&self) -> Algorithm {
        self.parsed.alg
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.parsed.kid()
    }

    /// ASCII `BASE64URL(header) || '.' || BASE64URL(payload)`
    /// (RFC 7515 §5.2 step 8).
    pub fn signing_input(&self) -> &[u8] {
        self.parsed.signing_input.as_bytes()
    }

    /// The decoded signature, already shape-checked.
    pub fn signature(&self) -> &[u8] {
        &self.parsed.signature
    }

    /// Indices into the [`KeySet`] of the keys to try, in set order
    /// (never empty, at most [`MAX_CANDIDATES`]).
    pub fn candidates(&self) -> &[usize] {
        &self.candidates
    }

    /// The payload JSON text, exactly as signed.
    pub fn payload_json(&self) -> &str {
        &self.parsed.payload_json
    }

    /// Why the claims fail, if they do: what [`finish`] answers once a
    /// candidate verified. Report it only after the signature verified.
    pub fn claims_error(&self) -> Option<&Error> {
        self.claims_result.as_ref().err()
    }
}

/// A token whose signature verified and whose claims passed.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    payload_json: String,
    claims: Object,
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    key_index: usize,
}

impl VerifiedToken {
    /// The payload JSON text, exactly as signed (for JS `JSON.parse`).
    pub fn payload_json(&self) -> &str {
        &self.payload_json
    }

    /// Consumes the token, returning the payload JSON text.
    pub fn into_payload_json(self) -> String {
        self.payload_json
    }

    /// The parsed claims set.
    pub fn claims(&self) -> &Object {
        &self.claims
    }

    /// `iss` (RFC 7519 §4.1.1), one of the accepted issuers.
    pub fn iss(&self) -> &str {
        self.claims.get_str("iss").unwrap_or_default()
    }

    /// `sub` (RFC 7519 §4.1.2), if present.
    pub fn sub(&self) -> Option<&str> {
        self.claims.get_str("sub")
    }

    /// `aud` (RFC 7519 §4.1.3) as a list (empty when absent).
    pub fn aud(&self) -> Vec<&str> {
        claims::audiences(&self.claims)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    /// `exp` (RFC 7519 §4.1.4), seconds since the epoch.
    pub fn exp(&self) -> f64 {
        self.claims
            .get("exp")
            .and_then(Value::as_f64)
            .unwrap_or_default()
    }

    /// `nbf` (RFC 7519 §4.1.5), if present.
    pub fn nbf(&self) -> Option<f64> {
        self.claims.get("nbf").and_then(Value::as_f64)
    }

    /// `iat` (RFC 7519 §4.1.6), if present.
    pub fn iat(&self) -> Option<f64> {
        self.claims.get("iat").and_then(Value::as_f64)
    }

    /// The header `alg`.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header `typ` as sent, if any.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Index in the [`KeySet`] of the key that verified the signature.
    pub fn key_index(&self) -> usize {
        self.key_index
    }
}

fn malformed(message: &str) -> Error {
    Error::malformed(message)
}

/// Splits a compact JWS (RFC 7515 §7.1) into `[signing_input, header,
/// payload, signature]`, enforcing [`MAX_TOKEN_LENGTH`].
pub(crate) fn split_compact(token: &str) -> Result<[&str; 4]> {
    if token.len() > MAX_TOKEN_LENGTH {
        return Err(Error::malformed(msg!(
            "the token is ",
            token.len(),
            " bytes; at most ",
            MAX_TOKEN_LENGTH,
            " are accepted"
        )));
    }
    // The dots, by byte position (not `str::split`: its char searcher and
    // iterator adapters cost the wasm ~1 kB).
    let mut dots = [0; 2];
    let mut found = 0;
    for (at, byte) in token.bytes().enumerate() {
        if byte == b'.' {
            if let Some(slot) = dots.get_mut(found) {
                *slot = at;
            }
            found += 1;
        }
    }
    if found != 2 {
        return Err(malformed(if found > 2 {
            "expected a compact JWS with 3 dot-separated segments; JWE (5 segments) is not supported"
        } else {
            "expected a compact JWS with 3 dot-separated segments"
        }));
    }
    let [first, second] = dots;
    let part = |from: usize, to: usize| token.get(from..to).unwrap_or_default();
    Ok([
        part(0, second),
        part(0, first),
        part(first + 1, second),
        part(second + 1, token.len()),
    ])
}

/// The claims of `token`, before anything else is checked (issuer routing
/// reads `iss` from them).
pub(crate) fn decode_payload(token: &str) -> Result<Object> {
    let [_, _, payload, _] = split_compact(token)?;
    Ok(decode_json_object(payload, "payload")?.1)
}

/// Decodes a segment that must be strict base64url (RFC 7515 §2).
fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>> {
    b64::decode(segment).ok_or_else(|| {
        Error::malformed(msg!(
            "the ",
            what,
            " segment is not base64url without padding or whitespace (RFC 7515 §2)"
        ))
    })
}

/// Decodes a segment that must be base64url of a JSON object.
pub(crate) fn decode_json_object(segment: &str, what: &str) -> Result<(String, Object)> {
    let bytes = decode_segment(segment, what)?;
    let bad = |problem: &str| Error::malformed(msg!("the ", what, problem));
    let Ok(text) = json::utf8(&bytes) else {
        return Err(bad(" is not UTF-8"));
    };
    match json::parse(&text) {
        Ok(Value::Object(object)) => Ok((text, object)),
        Ok(_) => Err(bad(" must be a JSON object")),
        Err(e) => Err(bad(&msg!(" is not valid JSON (", e, ")"))),
    }
}

/// An optional string header member; another type is `malformed`.
fn header_str<'a>(header: &'a Object, name: &str) -> Result<Option<&'a str>> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::malformed(msg!(
            "the header \"",
            name,
            "\" must be a string"
        ))),
    }
}

/// Header checks (RFC 7515 §4.1, RFC 8725 §3.1, §3.10, §3.11). Returns
/// `alg`; `kid` and `typ` are strings when present.
fn check_header(header: &Object, options: &VerifyOptions) -> Result<Algorithm> {
    // RFC 7515 §4.1.1 + RFC 8725 §3.1: allow-list before any key lookup.
    let alg_name =
        header_str(header, "alg")?.ok_or_else(|| malformed("the header has no \"alg\""))?;
    let alg = Algorithm::from_name(alg_name).ok_or_else(|| {
        let reason = if alg_name.eq_ignore_ascii_case("none") {
            "alg \"none\" (unsecured JWS) is never accepted"
        } else if alg_name.starts_with("HS") {
            "HMAC algorithms are never accepted with a JWK Set"
        } else {
            "the header alg is not a supported asymmetric algorithm"
        };
        Error::new(ErrorCode::AlgNotAllowed, reason)
    })?;
    if !options.algorithms().contains(&alg) {
        return Err(Error::new(
            ErrorCode::AlgNotAllowed,
            msg!("alg ", alg.as_str(), " is not in the algorithms allow-list"),
        ));
    }

    // RFC 7515 §4.1.11: we implement no extension, so any crit fails.
    if let Some(crit) = header.get("crit") {
        let well_formed = crit
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|v| v.as_str().is_some()));
        if !well_formed {
            return Err(malformed(
                "the header \"crit\" must be a non-empty array of strings",
            ));
        }
        return Err(Error::new(
            ErrorCode::CritUnsupported,
            "the header lists critical extensions (crit); none are supported",
        ));
    }
    // RFC 7797: unencoded payloads are not supported, even without crit.
    if header.get("b64").is_some() {
        return Err(Error::new(
            ErrorCode::CritUnsupported,
            "the header has \"b64\" (RFC 7797 unencoded payload), which is not supported",
        ));
    }
    // RFC 8725 §3.10: key hints are never followed.
    if options.reject_key_hints() {
        if let Some(name) = KEY_HINT_MEMBERS.iter().find(|m| header.get(m).is_some()) {
            return Err(Error::malformed(msg!(
                "the header carries \"",
                name,
                "\" and rejectKeyHints is on; keys come only from the JWK Set"
            )));
        }
    }

    header_str(header, "kid")?;
    let typ = header_str(header, "typ")?;
    // RFC 8725 §3.11 explicit typing, compared as media types (RFC 7515 §4.1.9).
    if let Some(expected) = options.typ() {
        match typ {
            None => {
                return Err(Error::new(
                    ErrorCode::TypMismatch,
                    msg!("the header has no typ; expected \"", expected, "\""),
                ))
            }
            Some(found) if !media_subtype(found).eq_ignore_ascii_case(expected) => {
                return Err(Error::new(
                    ErrorCode::TypMismatch,
                    msg!("the header typ is not \"", expected, "\""),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(alg)
}

/// The keys that may have signed a token with `alg` and `kid`, jose's rules:
/// key type and curve from `alg`, the JWK's `alg` equal when present, `kid`
/// equal when the token has one (`use` and `key_ops` were checked at load).
fn candidates(keys: &KeySet, alg: Algorithm, kid: Option<&str>) -> Vec<usize> {
    let mut fitting = Vec::new();
    for (index, key) in keys.keys().iter().enumerate() {
        if key.fits(alg, kid) {
            fitting.push(index);
        }
    }
    fitting
}

fn bad_signature() -> Error {
    Error::new(
        ErrorCode::BadSignature,
        "the token signature does not verify",
    )
}

/// A token whose encoding and header passed (RFC 7515 §5.2 steps 1-7):
/// three base64url segments, a header and a payload that are JSON objects,
/// an allowed `alg`, no `crit`, `b64` or (with `reject_key_hints`) key
/// hints, the required `typ`. Nothing here depends on the keys, so a caller
/// that may have to fetch them ([`crate::jwks::JwksCache::plan`], by the
/// header [`Self::kid`]) decides that only for well-formed tokens.
#[derive(Debug)]
pub struct Parsed<'t> {
    signing_input: &'t str,
    signature: Vec<u8>,
    alg: Algorithm,
    /// `kid` and `typ`, when present, are strings (checked by `parse`).
    header: Object,
    payload_json: String,
    claims: Object,
}

impl<'t> Parsed<'t> {
    /// The header `alg`, already in the allow-list.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get_str("kid")
    }

    /// Phase 1b: selects the candidate keys, checks the signature's shape
    /// and evaluates the claims (result held until [`finish`]).
    ///
    /// Immediate errors: `no_matching_key`, and `bad_signature` for a
    /// signature of impossible shape (e.g. DER-encoded ECDSA, wrong RSA
    /// length, scalars out of range).
    pub fn prepare(self, keys: &KeySet, options: &VerifyOptions, now: u64) -> Result<Prepared<'t>> {
        let (alg, signature) = (self.alg, &self.signature);
        let mut candidates = candidates(keys, alg, self.kid());
        if candidates.is_empty() {
            return Err(Error::new(
                ErrorCode::NoMatchingKey,
                msg!(
                    "no key in the JWK Set fits alg ",
                    alg.as_str(),
                    if self.kid().is_some() {
                        " and the token kid"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(Error::new(
                ErrorCode::NoMatchingKey,
                msg!(
                    candidates.len(),
                    " keys fit alg ",
                    alg.as_str(),
                    " and the token has no distinguishing kid; at most ",
                    MAX_CANDIDATES,
                    " are tried (sign tokens with a kid)"
                ),
            ));
        }

        let shape_ok = match alg.key_kind() {
            KeyKind::EcP256 => scalar::ecdsa_signature_in_range(Curve::P256, signature),
            KeyKind::EcP384 => scalar::ecdsa_signature_in_range(Curve::P384, signature),
            KeyKind::Ed25519 => scalar::ed25519_signature_in_range(signature),
            KeyKind::Rsa => {
                candidates.retain(|i| {
                    keys.get(*i).and_then(Jwk::rsa_modulus_len) == Some(signature.len())
                });
                !candidates.is_empty()
            }
        };
        if !shape_ok {
            return Err(bad_signature());
        }

        let claims_result = claims::check(&self.claims, options, now);
        Ok(Prepared {
            parsed: self,
            candidates,
            claims_result,
        })
    }
}

/// Phase 1a: decodes `token` and checks its header against `options`.
///
/// Errors: `malformed`, `alg_not_allowed`, `crit_unsupported`,
/// `typ_mismatch`.
pub fn parse<'t>(token: &'t str, options: &VerifyOptions) -> Result<Parsed<'t>> {
    let [signing_input, header_b64, payload_b64, signature_b64] = split_compact(token)?;
    let (_, header) = decode_json_object(header_b64, "header")?;
    let alg = check_header(&header, options)?;
    let (payload_json, claims) = decode_json_object(payload_b64, "payload")?;
    let signature = decode_segment(signature_b64, "signature")?;
    Ok(Parsed {
        signing_input,
        signature,
        alg,
        header,
        payload_json,
        claims,
    })
}

/// Phase 1: everything but the signature verification itself
/// ([`parse`], then [`Parsed::prepare`]).
///
/// Immediate errors: `malformed`, `alg_not_allowed`, `crit_unsupported`,
/// `typ_mismatch`, `no_matching_key`, and `bad_signature` for a signature
/// of impossible shape (e.g. DER-encoded ECDSA, wrong RSA length, scalars
/// out of range). Claim errors are held until [`finish`].
pub fn prepare<'t>(
    token: &'t str,
    keys: &KeySet,
    options: &VerifyOptions,
    now: u64,
) -> Result<Prepared<'t>> {
    parse(token, options)?.prepare(keys, options, now)
}

/// Phase 3: `verified_key` is the index of the candidate whose signature
/// verified, or `None`. Returns `bad_signature` for `None`, otherwise the
/// claim result held by [`prepare`]. An index that is not a candidate is a
/// caller bug and fails with `invalid_options`.
pub fn finish(prepared: Prepared<'_>, verified_key: Option<usize>) -> Result<VerifiedToken> {
    let key_index = verified_key.ok_or_else(bad_signature)?;
    if !prepared.candidates.contains(&key_index) {
        return Err(Error::options(
            "finish() was given a key index that prepare() did not offer as a candidate",
        ));
    }
    prepared.claims_result?;
    let parsed = prepared.parsed;
    let header = |name| parsed.header.get_str(name).map(str::to_owned);
    Ok(VerifiedToken {
        kid: header("kid"),
        typ: header("typ"),
        payload_json: parsed.payload_json,
        claims: parsed.claims,
        alg: parsed.alg,
        key_index,
    })
}

/// Runs [`prepare`], tries each candidate with `backend` (the first that
/// verifies wins; distinct keys cannot both verify one signature), then
/// [`finish`].
pub fn verify_with_backend<B: SignatureBackend + ?Sized>(
    token: &str,
    keys: &KeySet,
    options: &VerifyOptions,
    backend: &B,
    now: u64,
) -> Result<VerifiedToken> {
    let prepared = prepare(token, keys, options, now)?;
    let verified = prepared.candidates().iter().copied().find(|index| {
        keys.get(*index).is_some_and(|key| {
            backend.verify(
                prepared.alg(),
                *index,
                key,
                prepared.signing_input(),
                prepared.signature(),
            )
        })
    });
    finish(prepared, verified)
}

/// A JWK Set and the options tokens are checked against.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: KeySet,
    options: VerifyOptions,
}

impl Verifier {
    /// A verifier for `keys` and `options`.
    pub fn new(keys: KeySet, options: VerifyOptions) -> Self {
        Self { keys, options }
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The options.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Phase 1 against this verifier's keys and options (see [`prepare`]).
    pub fn prepare<'t>(&self, token: &'t str, now: u64) -> Result<Prepared<'t>> {
        prepare(token, &self.keys, &self.options, now)
    }

    /// Verifies `token` at time `now` (seconds since the epoch) with any
    /// backend.
    pub fn verify_with<B: SignatureBackend + ?Sized>(
        &self,
        backend: &B,
        token: &str,
        now: u64,
    ) -> Result<VerifiedToken> {
        verify_with_backend(token, &self.keys, &self.options, backend, now)
    }

    /// Verifies `token` at time `now` with the pure-Rust backend.
    #[cfg(feature = "rust-crypto")]
    pub fn verify(&self, token: &str, now: u64) -> Result<VerifiedToken> {
        self.verify_with(&super::rust_crypto::RustCryptoBackend, token, now)
    }
}
