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
//!
//! A token is decoded into [`TokenBuffers`] the caller owns and may reuse,
//! and its header and claims are read in place (a borrowed JSON tree,
//! [`crate::json::Node`]): a caller that keeps its buffers (the wasm
//! verifier) checks a token with a handful of small allocations.

use super::alg::{Algorithm, KeyKind};
use super::claims;
use super::jwk::{Jwk, KeySet};
use super::options::{media_subtype, VerifyOptions};
use super::scalar::{self, Curve};
use crate::b64;
use crate::json::{self, Members, Node, Object, Str, Value};
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

/// Where a token's segments are decoded to. Keep one and pass it to every
/// [`prepare`] to reuse its memory.
#[derive(Debug, Default)]
pub struct TokenBuffers {
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// The keys of a [`KeySet`] that may have signed a token, at most
/// [`MAX_CANDIDATES`], in set order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Candidates {
    keys: [usize; MAX_CANDIDATES],
    len: usize,
}

impl Candidates {
    /// The key indices.
    pub fn as_slice(&self) -> &[usize] {
        self.keys.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, index: usize) -> bool {
        match self.keys.get_mut(self.len) {
            Some(slot) => {
                *slot = index;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let mut kept = Candidates::default();
        for &index in self.as_slice() {
            if keep(index) {
                kept.push(index);
            }
        }
        *self = kept;
    }
}

/// A token that passed every check that does not need the signature.
#[derive(Debug)]
pub struct Prepared<'a> {
    parsed: Parsed<'a>,
    candidates: Candidates,
    claims_result: Result<()>,
}

impl<'a> Prepared<'a> {
    /// The header `alg`, already in the allow-list.
    pub fn alg(&self) -> Algorithm {
        self.parsed.alg
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<Str<'a>> {
        self.parsed.kid()
    }

    /// ASCII `BASE64URL(header) || '.' || BASE64URL(payload)`
    /// (RFC 7515 §5.2 step 8).
    pub fn signing_input(&self) -> &'a [u8] {
        self.parsed.signing_input
    }

    /// The decoded signature, already shape-checked.
    pub fn signature(&self) -> &'a [u8] {
        self.parsed.signature
    }

    /// Indices into the [`KeySet`] of the keys to try, in set order
    /// (never empty, at most [`MAX_CANDIDATES`]).
    pub fn candidates(&self) -> &[usize] {
        self.candidates.as_slice()
    }

    /// [`Self::candidates`] as a value that outlives the token.
    pub fn candidate_keys(&self) -> Candidates {
        self.candidates
    }

    /// The payload JSON text (UTF-8), exactly as signed.
    pub fn payload_json(&self) -> &'a [u8] {
        self.parsed.payload_json
    }

    /// The protected header JSON text (UTF-8), exactly as signed.
    pub fn header_json(&self) -> &'a [u8] {
        self.parsed.header_json
    }

    /// The claims.
    pub fn claims(&self) -> &Members<'a> {
        &self.parsed.claims
    }

    /// Why the claims fail, if they do: what [`finish`] answers once a
    /// candidate verified. Report it only after the signature verified.
    pub fn claims_error(&self) -> Option<&Error> {
        self.claims_result.as_ref().err()
    }

    /// The claim result held for [`finish`], consuming the token.
    pub fn into_claims_result(self) -> Result<()> {
        self.claims_result
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
        match self.claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
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

/// The scheme a token sometimes arrives with when an `Authorization` header
/// is passed on whole (RFC 6750 §2.1).
const BEARER: &[u8] = b"bearer ";

/// Splits a compact JWS (RFC 7515 §7.1) into `[signing_input, header,
/// payload, signature]`, enforcing [`MAX_TOKEN_LENGTH`]. (Bytes: the wasm
/// verifier has the token as the UTF-8 the runtime encoded; anything but
/// base64url in a segment fails to decode.)
pub(crate) fn split_compact(token: &[u8]) -> Result<[&[u8]; 4]> {
    if token.len() > MAX_TOKEN_LENGTH {
        return Err(Error::malformed(msg!(
            "the token is ",
            token.len(),
            " bytes; at most ",
            MAX_TOKEN_LENGTH,
            " are accepted"
        )));
    }
    if token
        .get(..BEARER.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(BEARER))
    {
        return Err(malformed(
            "the token starts with \"Bearer \": pass the token alone, without the Authorization scheme (RFC 6750 §2.1)",
        ));
    }
    // The dots, by byte position (not `str::split`: its char searcher and
    // iterator adapters cost the wasm ~1 kB), eight bytes at a time: a
    // word without a dot is skipped with a few operations (the classic
    // has-zero-byte test on the word XOR dots).
    let mut dots = [0; 2];
    let mut found = 0;
    let mut record = |at: usize| {
        if let Some(slot) = dots.get_mut(found) {
            *slot = at;
        }
        found += 1;
    };
    let words = token.chunks_exact(8);
    let tail = words.remainder();
    for (w, word) in words.enumerate() {
        let bytes = <[u8; 8]>::try_from(word).unwrap_or_default();
        let x = u64::from_le_bytes(bytes) ^ 0x2e2e_2e2e_2e2e_2e2e;
        if x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 != 0 {
            for (i, byte) in bytes.iter().enumerate() {
                if *byte == b'.' {
                    record(w * 8 + i);
                }
            }
        }
    }
    let tail_at = token.len() - tail.len();
    for (i, byte) in tail.iter().enumerate() {
        if *byte == b'.' {
            record(tail_at + i);
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

/// Decodes a segment that must be strict base64url (RFC 7515 §2) into `out`.
fn decode_segment<'b>(segment: &[u8], what: &str, out: &'b mut Vec<u8>) -> Result<&'b [u8]> {
    match b64::decode_into(segment, out) {
        Some(()) => Ok(out),
        None => Err(Error::malformed(msg!(
            "the ",
            what,
            " segment is not base64url without padding or whitespace (RFC 7515 §2)"
        ))),
    }
}

/// Decodes a segment that must be base64url of a JSON object into `out`;
/// returns the JSON text and its members.
pub(crate) fn decode_json_object<'b>(
    segment: &[u8],
    what: &str,
    out: &'b mut Vec<u8>,
) -> Result<(&'b [u8], Members<'b>)> {
    let bytes = decode_segment(segment, what, out)?;
    let bad = |problem: &str| Error::malformed(msg!("the ", what, problem));
    match json::read(bytes) {
        Ok(Node::Object(members)) => Ok((bytes, members)),
        Ok(_) => Err(bad(" must be a JSON object")),
        Err(e) if e.reason == "invalid UTF-8" => Err(bad(" is not UTF-8")),
        Err(e) => Err(bad(&msg!(" is not valid JSON (", e, ")"))),
    }
}

/// An optional string header member; another type is `malformed`.
fn header_str<'a>(value: Option<&Node<'a>>, name: &str) -> Result<Option<Str<'a>>> {
    match value {
        None => Ok(None),
        Some(Node::String(s)) => Ok(Some(*s)),
        Some(_) => Err(Error::malformed(msg!(
            "the header \"",
            name,
            "\" must be a string"
        ))),
    }
}

/// Header checks (RFC 7515 §4.1, RFC 8725 §3.1, §3.10, §3.11). Returns
/// `alg`; `kid` and `typ` are strings when present.
fn check_header(header: &Members<'_>, options: &VerifyOptions) -> Result<Algorithm> {
    let [alg, crit, b64, kid, typ, jku, jwk, x5u, x5c] = header.pick([
        "alg", "crit", "b64", "kid", "typ", "jku", "jwk", "x5u", "x5c",
    ]);
    // RFC 7515 §4.1.1 + RFC 8725 §3.1: allow-list before any key lookup.
    let alg_name = header_str(alg, "alg")?.ok_or_else(|| malformed("the header has no \"alg\""))?;
    let Some(alg) = Algorithm::ALL
        .iter()
        .copied()
        .find(|a| alg_name.is(a.as_str()))
    else {
        let name = alg_name.decoded();
        let reason = if name.eq_ignore_ascii_case("none") {
            "alg \"none\" (unsecured JWS) is never accepted"
        } else if name.starts_with("HS") {
            "HMAC algorithms are never accepted with a JWK Set"
        } else {
            "the header alg is not a supported asymmetric algorithm"
        };
        return Err(Error::new(ErrorCode::AlgNotAllowed, reason));
    };
    if !options.algorithms().contains(&alg) {
        return Err(Error::new(
            ErrorCode::AlgNotAllowed,
            msg!("alg ", alg.as_str(), " is not in the algorithms allow-list"),
        ));
    }

    // RFC 7515 §4.1.11: we implement no extension, so any crit fails.
    if let Some(crit) = crit {
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
    if b64.is_some() {
        return Err(Error::new(
            ErrorCode::CritUnsupported,
            "the header has \"b64\" (RFC 7797 unencoded payload), which is not supported",
        ));
    }
    // RFC 8725 §3.10: key hints are never followed.
    if options.reject_key_hints() {
        let hints = [("jku", jku), ("jwk", jwk), ("x5u", x5u), ("x5c", x5c)];
        if let Some((name, _)) = hints.iter().find(|(_, value)| value.is_some()) {
            return Err(Error::malformed(msg!(
                "the header carries \"",
                name,
                "\" and rejectKeyHints is on; keys come only from the JWK Set"
            )));
        }
    }

    header_str(kid, "kid")?;
    let typ = header_str(typ, "typ")?;
    // RFC 8725 §3.11 explicit typing, compared as media types (RFC 7515 §4.1.9).
    if let Some(expected) = options.typ() {
        match typ {
            None => {
                return Err(Error::new(
                    ErrorCode::TypMismatch,
                    msg!("the header has no typ; expected \"", expected, "\""),
                ))
            }
            Some(found) if !same_media_type(found, expected) => {
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

/// `typ` as sent names the media type `expected` (RFC 7515 §4.1.9).
fn same_media_type(typ: Str<'_>, expected: &str) -> bool {
    let same = |text: &[u8]| media_subtype(text).eq_ignore_ascii_case(expected.as_bytes());
    match typ.plain() {
        Some(text) => same(text),
        None => same(typ.decoded().as_bytes()),
    }
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
/// that may have to fetch them ([`crate::jwks::JwksCache::plan_for`], by
/// the header [`Self::kid`]) decides that only for well-formed tokens.
#[derive(Debug)]
pub struct Parsed<'a> {
    signing_input: &'a [u8],
    signature: &'a [u8],
    alg: Algorithm,
    /// `kid` and `typ`, when present, are strings (checked by `parse`).
    header: Members<'a>,
    header_json: &'a [u8],
    payload_json: &'a [u8],
    claims: Members<'a>,
}

impl<'a> Parsed<'a> {
    /// The header `alg`, already in the allow-list.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<Str<'a>> {
        self.header.get_str("kid")
    }

    /// The claims (nothing about them checked yet).
    pub fn claims(&self) -> &Members<'a> {
        &self.claims
    }

    /// Phase 1b: selects the candidate keys, checks the signature's shape
    /// and evaluates the claims (result held until [`finish`]).
    ///
    /// Immediate errors: `no_matching_key`, and `bad_signature` for a
    /// signature of impossible shape (e.g. DER-encoded ECDSA, wrong RSA
    /// length, scalars out of range).
    pub fn prepare(self, keys: &KeySet, options: &VerifyOptions, now: u64) -> Result<Prepared<'a>> {
        let (alg, signature, kid) = (self.alg, self.signature, self.kid());
        // jose's rules: key type and curve from `alg`, the JWK's `alg` equal
        // when present, `kid` equal when the token has one (`use` and
        // `key_ops` were checked when the set was read).
        let mut candidates = Candidates::default();
        let mut fitting = 0;
        for (index, key) in keys.keys().iter().enumerate() {
            if key.fits_token(alg, kid) {
                fitting += 1;
                candidates.push(index);
            }
        }
        if fitting == 0 {
            return Err(Error::new(
                ErrorCode::NoMatchingKey,
                msg!(
                    "no key in the JWK Set fits alg ",
                    alg.as_str(),
                    if kid.is_some() {
                        " and the token kid"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if fitting > MAX_CANDIDATES {
            return Err(Error::new(
                ErrorCode::NoMatchingKey,
                msg!(
                    fitting,
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
                    keys.get(i).and_then(Jwk::rsa_modulus_len) == Some(signature.len())
                });
                !candidates.as_slice().is_empty()
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

/// Chooses options from a token's (unverified) claims.
pub(crate) type Chooser<'c, 'o> = &'c mut dyn FnMut(&Members<'_>) -> Result<&'o VerifyOptions>;

/// How [`parse_routed`] picks the options a token is checked against.
pub(crate) enum Route<'c, 'o> {
    /// Always these.
    Fixed(&'o VerifyOptions),
    /// Chosen from the (unverified) claims, before the header is read: a
    /// token of an unknown issuer fails before anything else.
    ByClaims(Chooser<'c, 'o>),
}

/// Phase 1a: decodes `token` into `buffers` and checks its header against
/// `options`.
///
/// Errors: `malformed`, `alg_not_allowed`, `crit_unsupported`,
/// `typ_mismatch`.
pub fn parse<'a>(
    token: &'a str,
    buffers: &'a mut TokenBuffers,
    options: &VerifyOptions,
) -> Result<Parsed<'a>> {
    parse_routed(token.as_bytes(), buffers, Route::Fixed(options)).map(|(parsed, _)| parsed)
}

/// [`parse`], with the options chosen by `route`; returns them too.
pub(crate) fn parse_routed<'a, 'o>(
    token: &'a [u8],
    buffers: &'a mut TokenBuffers,
    route: Route<'_, 'o>,
) -> Result<(Parsed<'a>, &'o VerifyOptions)> {
    let [signing_input, header_b64, payload_b64, signature_b64] = split_compact(token)?;
    let TokenBuffers {
        header,
        payload,
        signature,
    } = buffers;
    let (header_json, header, alg, payload_json, claims, options) = match route {
        Route::Fixed(options) => {
            let (header_json, header) = decode_json_object(header_b64, "header", header)?;
            let alg = check_header(&header, options)?;
            let (payload_json, claims) = decode_json_object(payload_b64, "payload", payload)?;
            (header_json, header, alg, payload_json, claims, options)
        }
        Route::ByClaims(choose) => {
            let (payload_json, claims) = decode_json_object(payload_b64, "payload", payload)?;
            let options = choose(&claims)?;
            let (header_json, header) = decode_json_object(header_b64, "header", header)?;
            let alg = check_header(&header, options)?;
            (header_json, header, alg, payload_json, claims, options)
        }
    };
    let signature = decode_segment(signature_b64, "signature", signature)?;
    let parsed = Parsed {
        signing_input,
        signature,
        alg,
        header,
        header_json,
        payload_json,
        claims,
    };
    Ok((parsed, options))
}

/// Phase 1: everything but the signature verification itself
/// ([`parse`], then [`Parsed::prepare`]), decoding into `buffers`.
///
/// Immediate errors: `malformed`, `alg_not_allowed`, `crit_unsupported`,
/// `typ_mismatch`, `no_matching_key`, and `bad_signature` for a signature
/// of impossible shape (e.g. DER-encoded ECDSA, wrong RSA length, scalars
/// out of range). Claim errors are held until [`finish`].
pub fn prepare<'a>(
    token: &'a str,
    buffers: &'a mut TokenBuffers,
    keys: &KeySet,
    options: &VerifyOptions,
    now: u64,
) -> Result<Prepared<'a>> {
    parse(token, buffers, options)?.prepare(keys, options, now)
}

/// Phase 3: `verified_key` is the index of the candidate whose signature
/// verified, or `None`. Returns `bad_signature` for `None`, otherwise the
/// claim result held by [`prepare`]. An index that is not a candidate is a
/// caller bug and fails with `invalid_options`.
pub fn finish(prepared: Prepared<'_>, verified_key: Option<usize>) -> Result<VerifiedToken> {
    let key_index = verified_key.ok_or_else(bad_signature)?;
    if !prepared.candidates().contains(&key_index) {
        return Err(Error::options(
            "finish() was given a key index that prepare() did not offer as a candidate",
        ));
    }
    prepared.claims_result?;
    let parsed = prepared.parsed;
    let header = |name| parsed.header.get_str(name).map(|s| s.decoded());
    Ok(VerifiedToken {
        kid: header("kid"),
        typ: header("typ"),
        // Valid UTF-8: the JSON reader accepted it.
        payload_json: json::utf8(parsed.payload_json).unwrap_or_default(),
        claims: Object::from(&parsed.claims),
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
    let mut buffers = TokenBuffers::default();
    let prepared = prepare(token, &mut buffers, keys, options, now)?;
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
    pub fn prepare<'a>(
        &self,
        token: &'a str,
        buffers: &'a mut TokenBuffers,
        now: u64,
    ) -> Result<Prepared<'a>> {
        prepare(token, buffers, &self.keys, &self.options, now)
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
