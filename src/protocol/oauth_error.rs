//! OAuth 2.0 error responses: the `error`, `error_description` and
//! `error_uri` an authorization server returns in a redirect (RFC 6749
//! §4.1.2.1) or a token endpoint returns in a JSON body (RFC 6749 §5.2),
//! read by one set of rules for the browser client and the backend helpers.
//!
//! The rules (RFC 6749 §5.2, Appendix A.7-A.9):
//! - `error` is `1*( %x20-21 / %x23-5B / %x5D-7E )` (printable ASCII without
//!   `"` and `\`). We also bound it at [`MAX_ERROR_LEN`] bytes: registered
//!   codes are short, and a longer value is no code a program can act on.
//! - `error_description` has the same character set; `error_uri` is a
//!   URI-reference of `%x21 / %x23-5B / %x5D-7E` (no space).
//! - Anything outside these sets is dropped, never passed on: a
//!   non-conforming `error` makes the response an error *without* fields (the
//!   message says "(unprintable)"), a non-conforming description or URI is
//!   left out. So what reaches `err.error` and the message can be logged and
//!   shown as is.
//! - A body that carries an `error` member is an error response whatever its
//!   HTTP status: some servers answer errors with 200 (GitHub does), and such
//!   a body is never read as tokens.
//!
//! What this module leaves to its callers: which [`crate::ErrorCode`] the
//! failure gets and the words around it (the handoff, a token endpoint or a
//! homeserver answered).

use crate::json::{Object, Value};
use crate::prelude::*;
use crate::OAuthErrorFields;

/// Longest `error` value kept, in bytes.
pub const MAX_ERROR_LEN: usize = 128;

/// RFC 6749 §A.7 / §A.8: `1*( %x20-21 / %x23-5B / %x5D-7E )`.
fn is_error_text(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// RFC 6749 §5.2 `error`: the character set of §A.7, at most
/// [`MAX_ERROR_LEN`] bytes.
pub fn is_error_code(value: &str) -> bool {
    value.len() <= MAX_ERROR_LEN && is_error_text(value)
}

/// RFC 6749 §A.9 `error_uri`: `1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_error_uri(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The error triple from its three raw values (from a callback's query or a
/// JSON body): `None` when `error` does not conform; a non-conforming
/// description or URI is dropped.
pub fn fields(
    error: &str,
    error_description: Option<&str>,
    error_uri: Option<&str>,
) -> Option<OAuthErrorFields> {
    if !is_error_code(error) {
        return None;
    }
    Some(OAuthErrorFields {
        error: error.to_owned(),
        error_description: error_description
            .filter(|d| is_error_text(d))
            .map(str::to_owned),
        error_uri: error_uri.filter(|u| is_error_uri(u)).map(str::to_owned),
    })
}

/// What a JSON body says about an error (RFC 6749 §5.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ErrorBody {
    /// No `error` member: not an error response.
    #[default]
    Absent,
    /// An `error` member that conforms: its fields.
    Fields(OAuthErrorFields),
    /// An `error` member that is not a conforming string: an error response
    /// whose fields are not passed on.
    Unreadable,
}

/// Reads the `error` members of a JSON object (RFC 6749 §5.2).
pub fn read(object: &Object) -> ErrorBody {
    let Some(error) = object.get("error") else {
        return ErrorBody::Absent;
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    match error
        .as_str()
        .and_then(|e| fields(e, text("error_description"), text("error_uri")))
    {
        Some(fields) => ErrorBody::Fields(fields),
        None => ErrorBody::Unreadable,
    }
}

impl ErrorBody {
    /// True unless [`ErrorBody::Absent`].
    pub fn is_error(&self) -> bool {
        *self != Self::Absent
    }

    /// The fields, when there are conforming ones.
    pub fn into_fields(self) -> Option<OAuthErrorFields> {
        match self {
            Self::Fields(fields) => Some(fields),
            _ => None,
        }
    }
}

/// The `error` to name in a message: the code, or `(unprintable)` when the
/// server's value was dropped.
pub fn shown(fields: Option<&OAuthErrorFields>) -> &str {
    fields.map_or("(unprintable)", |f| f.error.as_str())
}

/// What to check for the common token endpoint errors (RFC 6749 §5.2), as
/// a clause to append to a message (`""` for other codes).
pub fn token_endpoint_hint(error: &str) -> &'static str {
    match error {
        "invalid_client" => ": check clientId, clientSecret and clientAuth",
        "invalid_grant" => {
            ": the code or refresh token is invalid, expired, already used, or was issued to another client or redirect_uri"
        }
        "unauthorized_client" => ": the client is not allowed to use this grant type",
        "unsupported_grant_type" => ": the server does not support this grant type",
        "invalid_scope" => ": the requested scope is not allowed",
        "invalid_request" => {
            ": a parameter is missing or repeated; check redirectUri and codeVerifier"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn body(text: &str) -> ErrorBody {
        read(json::parse(text).unwrap().as_object().unwrap())
    }

    #[test]
    fn rfc6749_character_sets() {
        assert!(is_error_code("invalid_grant"));
        assert!(is_error_code("a b!#[]^~"));
        for bad in [
            "",
            "a\"b",
            "a\\b",
            "é",
            "a\u{1}",
            "tab\there",
            &"x".repeat(129),
        ] {
            assert!(!is_error_code(bad), "{bad:?}");
        }
        assert!(is_error_code(&"x".repeat(128)));
        assert!(is_error_uri("https://as.example/errors?id=1#x"));
        assert!(!is_error_uri("https://as.example/a b"));
    }

    #[test]
    fn reads_the_triple_and_drops_what_does_not_conform() {
        assert_eq!(
            body(
                r#"{"error":"invalid_grant","error_description":"code used","error_uri":"https://as.example/e"}"#
            ),
            ErrorBody::Fields(OAuthErrorFields {
                error: "invalid_grant".into(),
                error_description: Some("code used".into()),
                error_uri: Some("https://as.example/e".into()),
            })
        );
        assert_eq!(
            body(
                r#"{"error":"access_denied","error_description":"naïve \"quote\"","error_uri":"a b"}"#
            ),
            ErrorBody::Fields(OAuthErrorFields {
                error: "access_denied".into(),
                error_description: None,
                error_uri: None,
            })
        );
        assert_eq!(
            body(r#"{"error":"x","error_description":7}"#)
                .into_fields()
                .unwrap()
                .error_description,
            None
        );
    }

    #[test]
    fn an_error_member_of_any_kind_is_an_error() {
        assert_eq!(body(r#"{"access_token":"at"}"#), ErrorBody::Absent);
        for unreadable in [
            r#"{"error":""}"#,
            r#"{"error":42}"#,
            r#"{"error":null}"#,
            r#"{"error":"a\"b\u0001"}"#,
            r#"{"error":{"code":1}}"#,
        ] {
            assert_eq!(body(unreadable), ErrorBody::Unreadable, "{unreadable}");
        }
        assert_eq!(shown(None), "(unprintable)");
        assert_eq!(
            shown(fields("invalid_scope", None, None).as_ref()),
            "invalid_scope"
        );
        assert_eq!(
            token_endpoint_hint("invalid_client"),
            ": check clientId, clientSecret and clientAuth"
        );
        assert_eq!(token_endpoint_hint("slow_down"), "");
    }
}
