//! What a token must satisfy besides its signature (RFC 7519 §4.1,
//! RFC 8725 §3.8-3.11).

use super::alg::Algorithm;
use crate::prelude::*;
use crate::{Error, Result};

/// Default clock tolerance in seconds, applied symmetrically to `exp`,
/// `nbf` and `iat` (RFC 7519 §4.1.4: "some small leeway").
pub const DEFAULT_CLOCK_TOLERANCE_SEC: u64 = 30;

/// Largest clock tolerance accepted: a bigger value is almost always a unit
/// mistake (milliseconds for seconds) that would quietly disable `exp`.
pub const MAX_CLOCK_TOLERANCE_SEC: u64 = 3600;

/// The audiences a token may be for (RFC 7519 §4.1.3). There is no default:
/// accepting any audience has to be written out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Accept a token whatever its `aud` (JS `audience: null`). Only safe
    /// when the issuer mints tokens for this one recipient; otherwise a token
    /// meant for another service is accepted here (RFC 8725 §3.9).
    Any,
    /// `aud` must contain at least one of these (exact, case-sensitive).
    OneOf(Vec<String>),
}

impl Audience {
    /// `aud` must contain at least one of `audiences`.
    pub fn one_of<I, S>(audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::OneOf(audiences.into_iter().map(Into::into).collect())
    }
}

/// Verification options. Issuer and audience are required (no `Default`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    issuers: Vec<String>,
    audience: Audience,
    algorithms: Vec<Algorithm>,
    clock_tolerance_sec: u64,
    typ: Option<String>,
    required_claims: Vec<String>,
    reject_key_hints: bool,
}

fn non_empty_strings(values: &[String], what: &str) -> Result<()> {
    if values.is_empty() {
        return Err(Error::options(msg!(what, " must list at least one value")));
    }
    if values.iter().any(String::is_empty) {
        return Err(Error::options(msg!(
            what,
            " must not contain an empty string"
        )));
    }
    Ok(())
}

impl VerifyOptions {
    /// Options accepting tokens whose `iss` is exactly one of `issuers`
    /// (RFC 7519 §4.1.1) and whose `aud` satisfies `audience`; every
    /// supported algorithm, a 30 s clock tolerance, no `typ` requirement.
    ///
    /// Fails with `invalid_options` when `issuers` (or an audience list) is
    /// empty or contains an empty string.
    pub fn new<I, S>(issuers: I, audience: Audience) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::shared().for_parties(issuers.into_iter().map(Into::into).collect(), audience)
    }

    /// The defaults, for no issuer and any audience yet: what the sources
    /// of a `JwksVerifier` share, set once, before [`Self::for_parties`]
    /// gives each its issuers and audience.
    pub(crate) fn shared() -> Self {
        Self {
            issuers: Vec::new(),
            audience: Audience::Any,
            algorithms: Algorithm::ALL.to_vec(),
            clock_tolerance_sec: DEFAULT_CLOCK_TOLERANCE_SEC,
            typ: None,
            required_claims: Vec::new(),
            reject_key_hints: false,
        }
    }

    /// These options for `issuers` and `audience`, checked as [`Self::new`]
    /// says.
    pub(crate) fn for_parties(&self, issuers: Vec<String>, audience: Audience) -> Result<Self> {
        non_empty_strings(&issuers, "issuer")?;
        if let Audience::OneOf(list) = &audience {
            non_empty_strings(list, "audience (pass Audience::Any to accept any audience)")?;
        }
        Ok(Self {
            issuers,
            audience,
            algorithms: self.algorithms.clone(),
            clock_tolerance_sec: self.clock_tolerance_sec,
            typ: self.typ.clone(),
            required_claims: self.required_claims.clone(),
            reject_key_hints: self.reject_key_hints,
        })
    }

    /// Restricts the accepted algorithms (RFC 8725 §3.1). Fails with
    /// `invalid_options` on an empty list.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Result<Self> {
        self.set_algorithms(algorithms)?;
        Ok(self)
    }

    // The `set_*` twins change the options in place (no move of the whole
    // struct through every `?`, which the wasm builds pay for in size).

    pub(crate) fn set_algorithms(&mut self, algorithms: &[Algorithm]) -> Result<()> {
        if algorithms.is_empty() {
            return Err(Error::options(
                "algorithms must list at least one algorithm (or be left out for all)",
            ));
        }
        self.algorithms = algorithms.to_vec();
        self.algorithms.dedup();
        Ok(())
    }

    /// Sets the clock tolerance (0 allowed). Fails with `invalid_options`
    /// above [`MAX_CLOCK_TOLERANCE_SEC`].
    pub fn with_clock_tolerance_sec(mut self, seconds: u64) -> Result<Self> {
        self.set_clock_tolerance_sec(seconds)?;
        Ok(self)
    }

    pub(crate) fn set_clock_tolerance_sec(&mut self, seconds: u64) -> Result<()> {
        if seconds > MAX_CLOCK_TOLERANCE_SEC {
            return Err(Error::options(msg!(
                "clockToleranceSec is ",
                seconds,
                "; expected at most ",
                MAX_CLOCK_TOLERANCE_SEC,
                " (seconds, not milliseconds)"
            )));
        }
        self.clock_tolerance_sec = seconds;
        Ok(())
    }

    /// Requires the header `typ` to equal `typ` after media-type
    /// normalisation (RFC 7515 §4.1.9, RFC 8725 §3.11), e.g. `at+jwt`
    /// (RFC 9068 §2.1) matches `application/at+jwt` and `AT+JWT`.
    pub fn with_typ(mut self, typ: &str) -> Result<Self> {
        self.set_typ(typ)?;
        Ok(self)
    }

    pub(crate) fn set_typ(&mut self, typ: &str) -> Result<()> {
        let normalised = normalize_typ(typ);
        if normalised.is_empty() {
            return Err(Error::options("typ must not be empty"));
        }
        self.typ = Some(normalised);
        Ok(())
    }

    /// Claims that must be present (`exp`, `iss` and, unless
    /// [`Audience::Any`], `aud` are always required).
    pub fn with_required_claims<I, S>(mut self, claims: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.set_required_claims(claims.into_iter().map(Into::into).collect())?;
        Ok(self)
    }

    pub(crate) fn set_required_claims(&mut self, claims: Vec<String>) -> Result<()> {
        if claims.iter().any(String::is_empty) {
            return Err(Error::options(
                "requiredClaims must not contain an empty string",
            ));
        }
        self.required_claims = claims;
        Ok(())
    }

    /// Rejects (`malformed`) tokens whose header carries `jku`, `jwk`, `x5u`
    /// or `x5c`. Without it those members are ignored: they are never used
    /// to find or fetch a key either way (RFC 8725 §3.10).
    pub fn with_reject_key_hints(mut self, reject: bool) -> Self {
        self.reject_key_hints = reject;
        self
    }

    /// Accepted issuers.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// Accepted audiences.
    pub fn audience(&self) -> &Audience {
        &self.audience
    }

    /// Allowed algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Clock tolerance in seconds.
    pub fn clock_tolerance_sec(&self) -> u64 {
        self.clock_tolerance_sec
    }

    /// Required `typ`, normalised (lowercase, no `application/` prefix).
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Extra claims that must be present.
    pub fn required_claims(&self) -> &[String] {
        &self.required_claims
    }

    /// Whether tokens carrying key hints are rejected.
    pub fn reject_key_hints(&self) -> bool {
        self.reject_key_hints
    }
}

/// Normalises a media type for `typ` comparison (RFC 7515 §4.1.9): ASCII
/// case-insensitive, and the `application/` prefix may be omitted when no
/// other `/` appears.
pub(crate) fn normalize_typ(typ: &str) -> String {
    let subtype = media_subtype(typ.as_bytes());
    typ.get(typ.len() - subtype.len()..)
        .unwrap_or(typ)
        .to_ascii_lowercase()
}

/// `typ` without an `application/` prefix (any ASCII case) when no other
/// `/` follows; still to be compared ASCII case-insensitively.
pub(crate) fn media_subtype(typ: &[u8]) -> &[u8] {
    match typ.get(12..) {
        Some(rest)
            if typ.iter().rposition(|&b| b == b'/') == Some(11)
                && typ
                    .get(..12)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"application/")) =>
        {
            rest
        }
        _ => typ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn issuer_and_audience_are_required_and_validated() {
        let empty: [&str; 0] = [];
        assert_eq!(
            VerifyOptions::new(empty, Audience::Any).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert!(VerifyOptions::new([""], Audience::Any).is_err());
        assert!(VerifyOptions::new(["iss"], Audience::OneOf(vec![])).is_err());
        assert!(VerifyOptions::new(["iss"], Audience::one_of([""])).is_err());
        let o = VerifyOptions::new(["iss"], Audience::one_of(["a"])).unwrap();
        assert_eq!(o.clock_tolerance_sec(), 30);
        assert_eq!(o.algorithms(), Algorithm::ALL);
        assert!(o.clone().with_algorithms(&[]).is_err());
        assert!(o.clone().with_clock_tolerance_sec(30_000).is_err());
        assert_eq!(
            o.clone()
                .with_clock_tolerance_sec(0)
                .unwrap()
                .clock_tolerance_sec(),
            0
        );
        assert!(o.clone().with_typ("").is_err());
        assert!(o.with_required_claims([""]).is_err());
    }

    #[test]
    fn typ_normalisation_follows_rfc_7515() {
        assert_eq!(normalize_typ("application/AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("at+jwt"), "at+jwt");
        assert_eq!(normalize_typ("JWT"), "jwt");
        assert_eq!(normalize_typ("application/a/b"), "application/a/b");
        assert_eq!(normalize_typ("text/jwt"), "text/jwt");
        assert_eq!(media_subtype(b"Application/AT+JWT"), b"AT+JWT");
        assert_eq!(media_subtype(b"application/"), b"");
        assert_eq!(media_subtype(b"xapplication/jwt"), b"xapplication/jwt");
        assert_eq!(media_subtype(b"application/a/b"), b"application/a/b");
    }
}
