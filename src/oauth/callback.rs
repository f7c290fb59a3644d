//! Reading a callback URL (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2;
//! OAuth 2.0 Multiple Response Type Encoding Practices §2.1 for
//! `response_mode=fragment`) and scrubbing it from the address bar.
//!
//! Response parameters are read from the query and from the fragment. A
//! parameter that appears more than once, in one part or across both, makes
//! the callback invalid (RFC 6749 §3.1: parameters must not be repeated), as
//! does a value that is not UTF-8 once decoded. Only `name=value` pairs are
//! interpreted; a fragment that is a plain anchor or a hash route (`#/path`)
//! is left alone (a route with its own `?` inside the fragment is not
//! searched).

use crate::prelude::*;
use crate::protocol::form;
use crate::protocol::oauth_error::{self, ErrorBody};
use crate::protocol::url::{split, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};

/// Query parameter carrying our one-time nonce in the return URL of flows
/// that have no OAuth `state` of ours (Matrix SSO, the auth service).
pub const NONCE_PARAM: &str = "ext_sso_nonce";

/// The parameters [`scrubbed_url`] removes and [`parse_callback`] reads.
pub const CALLBACK_PARAMS: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    "session_state",
    "loginToken",
    NONCE_PARAM,
];

/// The response parameters of a callback URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// `code` (RFC 6749 §4.1.2).
    pub code: Option<String>,
    /// `state` (RFC 6749 §4.1.2).
    pub state: Option<String>,
    /// `iss` (RFC 9207 §2).
    pub iss: Option<String>,
    /// `error`, `error_description`, `error_uri` (RFC 6749 §4.1.2.1), by
    /// the character rules of [`crate::protocol::oauth_error`].
    pub error: ErrorBody,
    /// Matrix `loginToken`.
    pub login_token: Option<String>,
    /// Our one-time nonce ([`NONCE_PARAM`]).
    pub nonce: Option<String>,
}

/// The decoded `(name, value)` pairs of the query, then the fragment, of
/// `url`; a value that is not UTF-8 is `None`. Nothing for a URL over 16 KiB.
fn all_pairs(url: &str) -> Vec<(String, Option<String>)> {
    if url.len() > MAX_URL_LEN {
        return Vec::new();
    }
    let parts = split(url);
    [parts.query, parts.fragment]
        .into_iter()
        .flatten()
        .flat_map(form::pairs)
        .filter_map(|(_, name, value)| Some((name?, value)))
        .collect()
}

/// True when `url` carries any callback parameter (`code`, `state`,
/// `error`, `loginToken`, our nonce) with a value, in its query or fragment.
/// A URL that is a callback but a malformed one is still reported as a
/// callback, so the handler can reject it with a precise error.
pub fn is_callback(url: &str) -> bool {
    all_pairs(url).iter().any(|(name, value)| {
        value.as_ref().map_or(true, |v| !v.is_empty())
            && matches!(
                name.as_str(),
                "code" | "state" | "error" | "loginToken" | NONCE_PARAM
            )
    })
}

/// Every distinct non-empty value of the parameter `name` in the query and
/// the fragment of `url`, at most 4. Lenient on purpose: it finds the flows
/// a callback names even when the callback is invalid, so that they are
/// spent.
pub(crate) fn values_of(url: &str, name: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for (n, value) in all_pairs(url) {
        match value {
            Some(v) if n == name && !v.is_empty() && values.len() < 4 && !values.contains(&v) => {
                values.push(v)
            }
            _ => {}
        }
    }
    values
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidCallback, message)
}

/// Parses the response parameters of a callback URL.
///
/// `invalid_callback` when the URL is longer than 16 KiB, when a response
/// parameter is repeated (RFC 6749 §3.1) or not UTF-8, or when
/// `error_description` / `error_uri` appear without `error`. A parameter
/// with an empty value (`code=`, or an anchor `#code`) counts as absent. It
/// does not check `state` or `iss`: [`super::complete`] does, against the
/// flow record.
pub fn parse_callback(url: &str) -> Result<CallbackParams> {
    if url.len() > MAX_URL_LEN {
        return Err(invalid(msg!(
            "the callback URL is longer than ",
            MAX_URL_LEN,
            " bytes"
        )));
    }
    let mut found: [Option<String>; 9] = Default::default();
    for (name, value) in all_pairs(url) {
        let Some(index) = CALLBACK_PARAMS.iter().position(|p| *p == name) else {
            continue;
        };
        let Some(value) = value else {
            return Err(invalid(msg!(
                "the callback's \"",
                name,
                "\" parameter is not UTF-8"
            )));
        };
        if value.is_empty() {
            // `#code` (an anchor) or `code=`: not a response parameter.
            continue;
        }
        let Some(slot) = found.get_mut(index) else {
            continue;
        };
        if slot.is_some() {
            return Err(invalid(msg!(
                "the callback repeats the \"",
                name,
                "\" parameter (RFC 6749 §3.1 forbids it): rejected as a possible injection"
            )));
        }
        *slot = Some(value);
    }
    let [code, state, iss, error, description, uri, _session_state, login_token, nonce] = found;
    let error = match error {
        Some(error) => match oauth_error::fields(&error, description.as_deref(), uri.as_deref()) {
            Some(fields) => ErrorBody::Fields(fields),
            None => ErrorBody::Unreadable,
        },
        None if description.is_some() || uri.is_some() => {
            return Err(invalid(
                "the callback has error_description or error_uri without error",
            ))
        }
        None => ErrorBody::Absent,
    };
    Ok(CallbackParams {
        code,
        state,
        iss,
        error,
        login_token,
        nonce,
    })
}

/// `url` without the callback parameters ([`CALLBACK_PARAMS`]) in its query
/// and fragment, for `history.replaceState`, to be applied at once, on
/// success and on failure. Other parameters keep their order and exact
/// encoding; an emptied query loses its `?`, an emptied fragment its `#`;
/// a fragment that is not a parameter list (an anchor, a hash route) is kept.
pub fn scrubbed_url(url: &str) -> String {
    let parts = split(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.base);
    for (mark, part) in [('?', parts.query), ('#', parts.fragment)] {
        let Some(part) = part else {
            continue;
        };
        let mut first = true;
        for (piece, name, _) in form::pairs(part) {
            let ours =
                piece.contains('=') && name.is_some_and(|n| CALLBACK_PARAMS.contains(&n.as_str()));
            if !ours {
                out.push(if first { mark } else { '&' });
                out.push_str(piece);
                first = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_and_fragment() {
        let p = parse_callback("https://e/cb?code=c1&state=s1&iss=https%3A%2F%2Fas#x=1").unwrap();
        assert_eq!(p.code.as_deref(), Some("c1"));
        assert_eq!(p.state.as_deref(), Some("s1"));
        assert_eq!(p.iss.as_deref(), Some("https://as"));
        let p = parse_callback("https://e/cb#state=s2&code=c2&session_state=z").unwrap();
        assert_eq!(p.code.as_deref(), Some("c2"));
        let p = parse_callback("https://e/cb?loginToken=t&ext_sso_nonce=n").unwrap();
        assert_eq!(p.login_token.as_deref(), Some("t"));
        assert_eq!(p.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn error_fields() {
        let p = parse_callback(
            "https://e/cb?error=access_denied&error_description=User+said+no&error_uri=https%3A%2F%2Fas%2Fe&state=s",
        )
        .unwrap();
        assert_eq!(
            p.error,
            ErrorBody::Fields(crate::OAuthErrorFields {
                error: "access_denied".into(),
                error_description: Some("User said no".into()),
                error_uri: Some("https://as/e".into()),
            })
        );
        assert!(parse_callback("https://e/cb?error_description=x").is_err());
        // RFC 6749 §4.1.2.1 character sets: what does not conform is dropped.
        let p = parse_callback("https://e/cb?error=a%22b&state=s").unwrap();
        assert_eq!(p.error, ErrorBody::Unreadable);
        let p = parse_callback("https://e/cb?error=x&error_description=caf%C3%A9").unwrap();
        assert_eq!(p.error.into_fields().unwrap().error_description, None);
    }

    #[test]
    fn repeated_and_undecodable_parameters_are_rejected() {
        for url in [
            "https://e/cb?code=a&code=b&state=s",
            "https://e/cb?code=a&state=s#state=t",
            "https://e/cb?state=s&st%61te=t&code=c",
        ] {
            let err = parse_callback(url).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidCallback, "{url}");
            assert!(err.message().contains("repeats"), "{url}");
        }
        assert!(parse_callback("https://e/cb?code=%ff&state=s")
            .unwrap_err()
            .message()
            .contains("not UTF-8"));
        assert!(parse_callback(&format!("https://e/cb?code={}", "a".repeat(MAX_URL_LEN))).is_err());
        assert!(parse_callback("https://e/cb?code=&state=s")
            .unwrap()
            .code
            .is_none());
        assert_eq!(
            scrubbed_url("https://e/cb?code=&x=1#code"),
            "https://e/cb?x=1#code"
        );
        assert_eq!(
            values_of("https://e/cb?state=a&state=b&state=a#state=c", "state"),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn detects_callbacks() {
        assert!(is_callback("https://e/cb?code=a&state=b"));
        assert!(is_callback("https://e/cb#error=access_denied"));
        assert!(is_callback("https://e/cb?loginToken=x"));
        assert!(is_callback("https://e/?ext_sso_nonce=n"));
        assert!(!is_callback("https://e/cb?tab=2#code"));
        assert!(!is_callback("https://e/cb"));
    }

    #[test]
    fn scrubbing_keeps_unrelated_params_and_hash() {
        assert_eq!(
            scrubbed_url("https://e/cb?a=1&code=x&b=%20y&state=s&iss=i&c#section"),
            "https://e/cb?a=1&b=%20y&c#section"
        );
        assert_eq!(scrubbed_url("https://e/cb?code=x&state=s"), "https://e/cb");
        assert_eq!(
            scrubbed_url("https://e/cb?keep=1#code=x&state=s&error=e&error_description=d&error_uri=u&session_state=q&view=2"),
            "https://e/cb?keep=1#view=2"
        );
        assert_eq!(
            scrubbed_url("https://e/?loginToken=t&ext_sso_nonce=n#/rooms/1"),
            "https://e/#/rooms/1"
        );
        assert_eq!(
            scrubbed_url("https://e/cb?c%6Fde=x&z=1"),
            "https://e/cb?z=1"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_scrubbing_removes_every_callback_param(url in "https://e/cb[?#]?\\PC{0,40}") {
            let _ = parse_callback(&url);
            let _ = is_callback(&url);
            let scrubbed = scrubbed_url(&url);
            proptest::prop_assert!(!is_callback(&scrubbed), "{}", scrubbed);
        }
    }
}
