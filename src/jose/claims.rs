//! Registered claim checks (RFC 7519 §4.1, RFC 8725 §3.8-3.10).
//!
//! Run during `prepare` but reported only after the signature verified, so a
//! forged token always fails with `bad_signature` whatever its claims say.

use super::options::{Audience, VerifyOptions};
use crate::json::{self, Members, Node, Str};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Longest claim value quoted back in an error message.
const MAX_QUOTED: usize = 64;

/// A claim value quoted for an error message: JSON-escaped, and cut short so
/// a hostile token cannot flood logs.
pub(crate) fn quoted(value: &str) -> String {
    // Where character MAX_QUOTED starts (UTF-8 continuation bytes are
    // 0b10xxxxxx).
    let mut chars = 0;
    let cut = value.bytes().position(|byte| {
        let starts = byte & 0xc0 != 0x80;
        chars += usize::from(starts);
        starts && chars > MAX_QUOTED
    });
    let mut out = String::new();
    json::write_string(
        &mut out,
        value.get(..cut.unwrap_or(value.len())).unwrap_or_default(),
    );
    if cut.is_some() {
        out.push_str("...");
    }
    out
}

fn missing(name: &str, why: &str) -> Error {
    Error::new(
        ErrorCode::MissingClaim,
        msg!("the token has no \"", name, "\" claim; ", why),
    )
}

fn invalid(name: &str, expected: &str) -> Error {
    Error::new(
        ErrorCode::InvalidClaim,
        msg!("the \"", name, "\" claim must be ", expected),
    )
}

/// A NumericDate claim (RFC 7519 §2): a JSON number when present.
pub(crate) fn numeric_date(claims: &Members<'_>, name: &str) -> Result<Option<f64>> {
    date(name, claims.get(name))
}

/// The NumericDate claim `name` with value `value`, if present.
fn date(name: &str, value: Option<&Node<'_>>) -> Result<Option<f64>> {
    match value {
        None => Ok(None),
        Some(Node::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(invalid(
            name,
            "a number of seconds since the epoch (NumericDate)",
        )),
    }
}

/// `aud` as a list of strings: a string or an array of strings
/// (RFC 7519 §4.1.3), as the string values (a lone string is a list of one).
fn audiences<'c, 'a>(aud: Option<&'c Node<'a>>) -> Result<&'c [Node<'a>]> {
    match aud {
        None => Ok(&[]),
        Some(one @ Node::String(_)) => Ok(core::slice::from_ref(one)),
        Some(Node::Array(items)) if items.iter().all(|v| v.as_str().is_some()) => Ok(items),
        Some(_) => Err(invalid("aud", "a string or an array of strings")),
    }
}

/// `iss` (RFC 7519 §4.1.1), a string; `missing_claim` says `why` it is
/// needed.
pub(crate) fn issuer<'a>(claims: &Members<'a>, why: &str) -> Result<Str<'a>> {
    issuer_of(claims.get("iss"), why)
}

fn issuer_of<'a>(iss: Option<&Node<'a>>, why: &str) -> Result<Str<'a>> {
    match iss {
        None => Err(missing("iss", why)),
        Some(Node::String(s)) => Ok(*s),
        Some(_) => Err(invalid("iss", "a string")),
    }
}

/// Whole seconds between two NumericDates, for messages (saturating).
fn seconds_between(later: f64, earlier: f64) -> i64 {
    let difference = later - earlier;
    let whole = difference as i64; // towards zero, saturating
    if (whole as f64) < difference {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// Checks the claims in the order: types and presence (`exp`, `nbf`, `iat`,
/// `iss`, `aud`, `sub`, `jti`, required claims), then `iss` and `aud`
/// values, then the validity window.
pub(crate) fn check(claims: &Members<'_>, options: &VerifyOptions, now: u64) -> Result<()> {
    let [exp, nbf, iat, iss, aud_claim, sub, jti] =
        claims.pick(["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]);
    // RFC 7519 §4.1.4; RFC 8725 §3.10: an access token without expiry is
    // never accepted.
    let exp = date("exp", exp)?.ok_or_else(|| missing("exp", "every token must expire"))?;
    let nbf = date("nbf", nbf)?;
    let iat = date("iat", iat)?;

    // RFC 7519 §4.1.1, RFC 8725 §3.8: exact issuer match.
    let iss = issuer_of(iss, "expected one of the configured issuers")?;
    // RFC 7519 §4.1.3: string or array of strings; RFC 8725 §3.9.
    let aud = audiences(aud_claim)?;
    if aud_claim.is_none() && matches!(options.audience(), Audience::OneOf(_)) {
        return Err(missing("aud", "expected one of the configured audiences"));
    }
    for (name, value) in [("sub", sub), ("jti", jti)] {
        if value.is_some_and(|v| v.as_str().is_none()) {
            return Err(invalid(name, "a string"));
        }
    }
    for name in options.required_claims() {
        if claims.get(name).is_none() {
            return Err(missing(name, "it is listed in requiredClaims"));
        }
    }

    if !options.issuers().iter().any(|accepted| iss.is(accepted)) {
        return Err(Error::new(
            ErrorCode::IssuerMismatch,
            msg!(
                "iss ",
                quoted(&iss.decoded()),
                " is not an accepted issuer; expected one of ",
                quoted_list(&mut options.issuers().iter())
            ),
        ));
    }
    if let Audience::OneOf(accepted) = options.audience() {
        if !aud
            .iter()
            .filter_map(Node::as_str)
            .any(|a| accepted.iter().any(|ok| a.is(ok)))
        {
            return Err(Error::new(
                ErrorCode::AudienceMismatch,
                msg!(
                    "aud does not contain an accepted audience; expected one of ",
                    quoted_list(&mut accepted.iter())
                ),
            ));
        }
    }

    // RFC 7519 §4.1.4-4.1.6 with a symmetric tolerance.
    let tolerance = options.clock_tolerance_sec();
    let now_f = now as f64;
    let tolerance_f = tolerance as f64;
    if now_f - tolerance_f >= exp {
        return Err(Error::new(
            ErrorCode::Expired,
            msg!(
                "the token expired ",
                seconds_between(now_f, exp),
                " s ago (clock tolerance is ",
                tolerance,
                " s)"
            ),
        ));
    }
    if let Some(nbf) = nbf {
        if nbf > now_f + tolerance_f {
            return Err(Error::new(
                ErrorCode::NotYetValid,
                msg!(
                    "the token is not valid for another ",
                    seconds_between(nbf, now_f),
                    " s (nbf; clock tolerance is ",
                    tolerance,
                    " s)"
                ),
            ));
        }
    }
    // Not required by RFC 7519, but a token issued in the future means a
    // broken issuer clock or a forged time: reject it like nbf.
    if let Some(iat) = iat {
        if iat > now_f + tolerance_f {
            return Err(Error::new(
                ErrorCode::NotYetValid,
                msg!(
                    "the token was issued ",
                    seconds_between(iat, now_f),
                    " s in the future (iat; clock tolerance is ",
                    tolerance,
                    " s)"
                ),
            ));
        }
    }
    Ok(())
}

/// `values` [`quoted`] and comma-separated, at most 5 of them.
pub(crate) fn quoted_list(values: &mut dyn Iterator<Item = &String>) -> String {
    let mut out = String::new();
    for (i, v) in values.enumerate() {
        if i == 5 {
            out.push_str(", ...");
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quoted(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lists_stop_after_five() {
        let names: Vec<String> = (1..=7).map(|n| format!("i{n}")).collect();
        assert_eq!(
            quoted_list(&mut names.iter().take(5)),
            r#""i1", "i2", "i3", "i4", "i5""#
        );
        assert_eq!(
            quoted_list(&mut names.iter()),
            r#""i1", "i2", "i3", "i4", "i5", ..."#
        );
        assert_eq!(quoted_list(&mut names.iter().take(0)), "");
    }

    #[test]
    fn quoted_escapes_and_truncates() {
        assert_eq!(quoted("a\"b"), r#""a\"b""#);
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert!(q.ends_with("\"..."));
        assert_eq!(q.chars().filter(|c| *c == 'é').count(), MAX_QUOTED);
    }
}
