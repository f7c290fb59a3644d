//! Token responses: what a token endpoint (RFC 6749 §5.1, §5.2) or an
//! extension backend's token handoff answers, read by one set of rules for
//! the browser client and the backend helpers.
//!
//! The rules, each decided from the RFCs (issue #15 lists where the two
//! halves used to disagree):
//! 1. A status outside 200-299 is an error; the body's RFC 6749 §5.2 error
//!    fields are attached when it has them (see [`super::oauth_error`]), and
//!    5xx, 408 and 429 are retryable.
//! 2. A 2xx body must be one JSON object (RFC 6749 §5.1: "application/json"),
//!    with no `error` member (a body with one is an error response whatever
//!    the status; some servers answer errors with 200).
//! 3. `access_token` is REQUIRED (§5.1) and is `1*VSCHAR` (§A.12): a
//!    non-empty string.
//! 4. `token_type` is REQUIRED by §5.1 and case-insensitive; the only type
//!    this library can use is `Bearer` (RFC 6750 §4), so any other value
//!    (`DPoP`, `MAC`, `""`) is refused. Its *absence* is tolerated: the
//!    Mia-Platform Console omits it, and a token with no type is used as a
//!    bearer token.
//! 5. `expires_in` (§5.1, RECOMMENDED) is "the lifetime in seconds": a JSON
//!    number (§5.1: "numerical values are included as JSON numbers"),
//!    non-negative, a fraction truncated. A string of 1 to 19 ASCII digits
//!    is accepted too (Azure AD v1 and other servers quote it); 19 digits
//!    always fit in 64 bits, so no value is silently wrapped.
//! 6. `refresh_token` (§A.17 `1*VSCHAR`) and `id_token` (a JWT, OIDC Core
//!    §3.1.3.3) are optional; `null` counts as absent, an empty or
//!    non-string value is a malformed response.
//! 7. `scope` (§5.1, §3.3) is optional; `""` is kept as an empty scope, not
//!    dropped: absence means "the scope requested", while `""` says the
//!    token carries none (oidc-provider answers it when the granted scopes
//!    went to a resource server). A non-string is malformed.
//! 8. Duplicate member names make the body invalid JSON for us (RFC 8259
//!    §4 "SHOULD be unique", I-JSON RFC 7493 §2.3), so rule 2 refuses them.
//!
//! The Mia-Platform services ([`Members::MiaPlatform`]) also name the
//! members `accessToken`, `refreshToken` and `expiresAt` (an absolute expiry
//! in seconds since the epoch), by the same rules.
//!
//! What this module leaves to its callers: the body size cap (the transport
//! reads at most that many bytes), which error code a failure gets and how
//! the answering party is named ([`Responder`]), cookie-only sessions and
//! any members of their own (a handoff's `identity`, Matrix's `user_id`).

use super::oauth_error::{self, ErrorBody};
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, OAuthErrorFields, Result};
use core::fmt;

/// Who answered: the error code of its failures and its name in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Responder {
    /// The code of every failure (`handoff_failed`, `token_endpoint_error`).
    pub code: ErrorCode,
    /// How messages name it, e.g. `the token endpoint`.
    pub name: &'static str,
    /// Append what to check for well-known OAuth error codes
    /// ([`oauth_error::token_endpoint_hint`]).
    pub hints: bool,
}

/// An authorization server's token endpoint.
pub const TOKEN_ENDPOINT: Responder = Responder {
    code: ErrorCode::TokenEndpointError,
    name: "the token endpoint",
    hints: true,
};

/// Which member names a response uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Members {
    /// RFC 6749 §5.1 names only.
    OAuth,
    /// Also `accessToken`, `refreshToken`, `expiresAt` (the Mia-Platform
    /// Console and Authentication Service).
    MiaPlatform,
}

/// The members of a successful token response. `Debug` redacts the tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenResponse {
    /// `access_token`: a non-empty string.
    pub access_token: String,
    /// `token_type` as sent (always `Bearer` in some case), or `None`.
    pub token_type: Option<String>,
    /// `expires_in`, in seconds.
    pub expires_in: Option<u64>,
    /// `expiresAt` ([`Members::MiaPlatform`] only), seconds since the epoch.
    pub expires_at: Option<u64>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `id_token` (OpenID Connect Core §3.1.3.3); not verified here.
    pub id_token: Option<String>,
    /// `scope`; `Some("")` when the server said the token has no scope.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |present: bool| if present { "[redacted]" } else { "None" };
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &redacted(self.refresh_token.is_some()))
            .field("id_token", &redacted(self.id_token.is_some()))
            .field("scope", &self.scope)
            .finish()
    }
}

/// True for 200-299.
pub fn is_success(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// The error for an error response (rules 1 and 2): the status, the
/// conforming error fields, and what to check.
pub fn error_response(who: Responder, status: u16, body: ErrorBody) -> Error {
    let unreadable = body == ErrorBody::Unreadable;
    let fields = body.into_fields();
    let mut message = msg!(who.name, " answered HTTP ", status);
    if fields.is_some() || unreadable {
        message.push_str(" with error ");
        message.push_str(oauth_error::shown(fields.as_ref()));
        if let (true, Some(f)) = (who.hints, &fields) {
            message.push_str(oauth_error::token_endpoint_hint(&f.error));
        }
    }
    let err = Error::new(who.code, message).with_status(status);
    match fields {
        Some(fields) => err.with_oauth(fields),
        None => err,
    }
}

/// Rules 1 and 2: the JSON object of a successful answer, or the error.
/// `body` is at most `max_bytes` + 1 bytes (more means over the cap).
pub fn success_object(
    who: Responder,
    status: u16,
    body: &[u8],
    max_bytes: usize,
) -> Result<Object> {
    if body.len() > max_bytes {
        return Err(Error::new(
            who.code,
            msg!(
                who.name,
                " answered a body larger than ",
                max_bytes,
                " bytes"
            ),
        )
        .with_status(status));
    }
    let object = match json::parse_bytes(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if !is_success(status) {
        let error = object.as_ref().map_or(ErrorBody::Absent, oauth_error::read);
        return Err(error_response(who, status, error));
    }
    let Some(object) = object else {
        return Err(
            Error::new(who.code, msg!(who.name, " did not answer a JSON object"))
                .with_status(status),
        );
    };
    match oauth_error::read(&object) {
        ErrorBody::Absent => Ok(object),
        error => Err(error_response(who, status, error)),
    }
}

/// A member that must be a non-empty string when present (`null` = absent).
fn text(who: Responder, object: &Object, name: &str) -> Result<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(malformed(who, name, "is not a non-empty string")),
    }
}

/// A non-negative number of seconds (rule 5).
fn seconds(who: Responder, object: &Object, name: &str) -> Result<Option<u64>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        // Saturates at u64::MAX, truncates a fraction.
        Some(Value::Number(n)) if *n >= 0.0 => Ok(Some(*n as u64)),
        Some(Value::String(s))
            if (1..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(Some(
                s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')),
            ))
        }
        Some(_) => Err(malformed(
            who,
            name,
            "is not a non-negative number of seconds",
        )),
    }
}

fn malformed(who: Responder, name: &str, what: &str) -> Error {
    Error::new(
        who.code,
        msg!(who.name, " answered a \"", name, "\" that ", what),
    )
}

/// Rules 3 to 7: the members of a successful answer's object.
pub fn read(who: Responder, object: &Object, members: Members) -> Result<TokenResponse> {
    let mia = members == Members::MiaPlatform;
    let either = |snake: &str, camel: &str| -> Result<Option<String>> {
        match text(who, object, snake)? {
            None if mia => text(who, object, camel),
            found => Ok(found),
        }
    };
    let Some(access_token) = either("access_token", "accessToken")? else {
        return Err(Error::new(
            who.code,
            msg!(who.name, " answered no access_token"),
        ));
    };
    let token_type = match object.get("token_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => Some(t.clone()),
        Some(_) => {
            return Err(Error::new(
                who.code,
                msg!(
                who.name,
                " issued a token_type other than Bearer, which this library cannot use (RFC 6750)"
            ),
            ))
        }
    };
    let scope = match object.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed(who, "scope", "is not a string")),
    };
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in: seconds(who, object, "expires_in")?,
        expires_at: if mia {
            seconds(who, object, "expiresAt")?
        } else {
            None
        },
        refresh_token: either("refresh_token", "refreshToken")?,
        id_token: text(who, object, "id_token")?,
        scope,
    })
}

/// [`success_object`] then [`read`].
pub fn read_response(
    who: Responder,
    status: u16,
    body: &[u8],
    max_bytes: usize,
    members: Members,
) -> Result<TokenResponse> {
    read(who, &success_object(who, status, body, max_bytes)?, members)
}

/// The error fields of an answer, when it is an error response with
/// conforming fields (for callers that only report them).
pub fn error_fields(body: &[u8]) -> Option<OAuthErrorFields> {
    match json::parse_bytes(body) {
        Ok(Value::Object(object)) => oauth_error::read(&object).into_fields(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDOFF: Responder = Responder {
        code: ErrorCode::HandoffFailed,
        name: "the handoff",
        hints: false,
    };

    fn ok(body: &str) -> Result<TokenResponse> {
        read_response(TOKEN_ENDPOINT, 200, body.as_bytes(), 1024, Members::OAuth)
    }

    #[test]
    fn a_full_answer() {
        let t = ok(
            r#"{"access_token":"at","token_type":"bearer","expires_in":3599.9,
            "refresh_token":"rt","id_token":"a.b.c","scope":"openid email"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token, "at");
        assert_eq!(t.token_type.as_deref(), Some("bearer"));
        assert_eq!(t.expires_in, Some(3599));
        assert_eq!(t.refresh_token.as_deref(), Some("rt"));
        assert_eq!(t.id_token.as_deref(), Some("a.b.c"));
        assert_eq!(t.scope.as_deref(), Some("openid email"));
        let printed = format!("{t:?}");
        assert!(
            !printed.contains("\"at\"") && !printed.contains("rt") && !printed.contains("a.b.c"),
            "{printed}"
        );
    }

    #[test]
    fn decisions_where_the_halves_disagreed() {
        // Rule 5: a digit string up to 19 digits; 20 digits could overflow.
        assert_eq!(
            ok(r#"{"access_token":"a","expires_in":"60"}"#)
                .unwrap()
                .expires_in,
            Some(60)
        );
        assert_eq!(
            ok(r#"{"access_token":"a","expires_in":"9999999999999999999"}"#)
                .unwrap()
                .expires_in,
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            r#""99999999999999999999""#,
            r#""""#,
            r#""6 0""#,
            r#""-1""#,
            "-1",
            "true",
            r#""1e3""#,
        ] {
            let err = ok(&format!(r#"{{"access_token":"a","expires_in":{bad}}}"#)).unwrap_err();
            assert_eq!(err.message(), "the token endpoint answered a \"expires_in\" that is not a non-negative number of seconds", "{bad}");
        }
        assert_eq!(
            ok(r#"{"access_token":"a","expires_in":1e300}"#)
                .unwrap()
                .expires_in,
            Some(u64::MAX)
        );
        // Rules 3 and 6: empty strings are malformed.
        for member in ["access_token", "refresh_token", "id_token"] {
            let body = format!(r#"{{"access_token":"a","{member}":""}}"#).replacen(
                r#""access_token":"a","access_token""#,
                r#""access_token""#,
                1,
            );
            let err = ok(&body).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TokenEndpointError, "{body}");
        }
        // Rule 4: Bearer in any case, or nothing.
        assert_eq!(
            ok(r#"{"access_token":"a","token_type":"BEARER"}"#)
                .unwrap()
                .token_type
                .as_deref(),
            Some("BEARER")
        );
        assert_eq!(ok(r#"{"access_token":"a"}"#).unwrap().token_type, None);
        for other in [r#""DPoP""#, r#""MAC""#, r#""""#, "1", r#""Bearer ""#] {
            let err = ok(&format!(r#"{{"access_token":"a","token_type":{other}}}"#)).unwrap_err();
            assert!(err.message().contains("other than Bearer"), "{other}");
        }
        // Rule 7: an empty scope is kept.
        assert_eq!(
            ok(r#"{"access_token":"a","scope":""}"#)
                .unwrap()
                .scope
                .as_deref(),
            Some("")
        );
        assert_eq!(
            ok(r#"{"access_token":"a","scope":null}"#).unwrap().scope,
            None
        );
        assert!(ok(r#"{"access_token":"a","scope":["x"]}"#).is_err());
    }

    #[test]
    fn error_responses() {
        let err = read_response(
            TOKEN_ENDPOINT,
            400,
            br#"{"error":"invalid_grant","error_description":"used"}"#,
            1024,
            Members::OAuth,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_retryable());
        assert_eq!(
            err.oauth().unwrap().error_description.as_deref(),
            Some("used")
        );
        assert!(
            err.message().starts_with(
                "the token endpoint answered HTTP 400 with error invalid_grant: the code"
            ),
            "{}",
            err.message()
        );
        // No hints for a handoff.
        let err = read_response(
            HANDOFF,
            400,
            br#"{"error":"invalid_grant"}"#,
            1024,
            Members::OAuth,
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "the handoff answered HTTP 400 with error invalid_grant"
        );
        assert_eq!(err.code(), ErrorCode::HandoffFailed);
        // 5xx without a body: retryable, no fields.
        let err = read_response(HANDOFF, 503, b"<html>", 1024, Members::OAuth).unwrap_err();
        assert!(err.is_retryable() && err.oauth().is_none());
        assert_eq!(err.message(), "the handoff answered HTTP 503");
        // A 200 carrying an error is an error, readable or not.
        let err = ok(r#"{"error":"bad_verification_code"}"#).unwrap_err();
        assert_eq!(err.oauth().unwrap().error, "bad_verification_code");
        let err = ok(r#"{"access_token":"a","error":"a\"b"}"#).unwrap_err();
        assert!(err.oauth().is_none());
        assert!(
            err.message().ends_with("with error (unprintable)"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn bodies_that_are_not_token_responses() {
        for body in [
            "",
            "[]",
            "not json",
            r#"{"access_token":"a","access_token":"b"}"#,
        ] {
            let err = ok(body).unwrap_err();
            assert_eq!(
                err.message(),
                "the token endpoint did not answer a JSON object",
                "{body}"
            );
        }
        assert_eq!(
            ok("{}").unwrap_err().message(),
            "the token endpoint answered no access_token"
        );
        assert_eq!(
            ok(r#"{"access_token":null}"#).unwrap_err().message(),
            "the token endpoint answered no access_token"
        );
        assert!(ok(r#"{"access_token":42}"#)
            .unwrap_err()
            .message()
            .contains("not a non-empty string"));
        let big = vec![b' '; 1025];
        let err = read_response(TOKEN_ENDPOINT, 200, &big, 1024, Members::OAuth).unwrap_err();
        assert_eq!(
            err.message(),
            "the token endpoint answered a body larger than 1024 bytes"
        );
    }

    #[test]
    fn mia_platform_member_names() {
        let body = br#"{"accessToken":"at","refreshToken":"rt","expiresAt":1700000000}"#;
        let t = read_response(TOKEN_ENDPOINT, 200, body, 1024, Members::MiaPlatform).unwrap();
        assert_eq!(
            (
                t.access_token.as_str(),
                t.refresh_token.as_deref(),
                t.expires_at
            ),
            ("at", Some("rt"), Some(1_700_000_000))
        );
        assert!(read_response(TOKEN_ENDPOINT, 200, body, 1024, Members::OAuth).is_err());
        assert_eq!(error_fields(br#"{"error":"x"}"#).unwrap().error, "x");
        assert_eq!(error_fields(b"nope"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(status in 0u16..1000, body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = read_response(TOKEN_ENDPOINT, status, &body, 128, Members::MiaPlatform);
        }

        #[test]
        fn json_like_bodies(body in r#"\{("[a-zA-Z_]{1,14}":("[a-zA-Z0-9]{0,5}"|-?[0-9]{1,3}|null|\{\}),?){0,5}\}"#) {
            let _ = read_response(TOKEN_ENDPOINT, 200, body.as_bytes(), 1024, Members::MiaPlatform);
        }
    }
}
