//! Reading a callback URL (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2;
//! OAuth 2.0 Multiple Response Type Encoding Practices §2.1 for
//! `response_mode=fragment`) and scrubbing it from the address bar.
//!
//! Response parameters are read from the query and from the fragment. A
//! parameter that appears more than once, in one part or across both, makes
//! the callback invalid (RFC 6749 §3.1: parameters must not be repeated).
//! Only `name=value` pairs are interpreted; a fragment that is a plain anchor
//! or a hash route (`#/path`) is left alone (a route with its own `?` inside
//! the fragment is not searched).

use super::authorize::NONCE_PARAM;
use super::secret::{AuthorizationCode, LoginToken, State};
use crate::prelude::*;
use crate::protocol::oauth_error::{self, ErrorBody};
use crate::protocol::url::{split, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};
use alloc::borrow::Cow;

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

/// The response parameters of a callback URL. Secrets are redacted in `Debug`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// `code` (RFC 6749 §4.1.2).
    pub code: Option<AuthorizationCode>,
    /// `state` (RFC 6749 §4.1.2).
    pub state: Option<State>,
    /// `iss` (RFC 9207 §2).
    pub iss: Option<String>,
    /// `error`, `error_description`, `error_uri` (RFC 6749 §4.1.2.1), by
    /// the character rules of [`crate::protocol::oauth_error`].
    pub error: ErrorBody,
    /// `session_state` (OpenID Connect Session Management §2); unused.
    pub session_state: Option<String>,
    /// Matrix `loginToken`.
    pub login_token: Option<LoginToken>,
    /// Our one-time nonce ([`NONCE_PARAM`]).
    pub nonce: Option<State>,
}

fn pairs(part: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(part.unwrap_or("").as_bytes())
}

/// True when `url` carries any callback parameter (`code`, `state`,
/// `error`, `loginToken`, our nonce, ...) in its query or fragment. A URL
/// that is a callback but a malformed one is still reported as a callback,
/// so the handler can reject it with a precise error.
pub fn is_callback(url: &str) -> bool {
    let parts = split(url);
    [parts.query, parts.fragment].into_iter().any(|part| {
        pairs(part).any(|(name, value)| {
            !value.is_empty()
                && (matches!(name.as_ref(), "code" | "state" | "error" | "loginToken")
                    || name == NONCE_PARAM)
        })
    })
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidCallback, message)
}

/// Parses the response parameters of a callback URL.
///
/// Errors with `invalid_callback` when the URL is longer than 16 KiB, when a
/// response parameter is repeated (RFC 6749 §3.1), or when
/// `error_description` / `error_uri` appear without `error`. A parameter
/// with an empty value (`code=`, or an anchor `#code`) counts as absent. It does not
/// check `state` or `iss`: [`super::complete`] does, against the flow record.
pub fn parse_callback(url: &str) -> Result<CallbackParams> {
    if url.len() > MAX_URL_LEN {
        return Err(invalid(format!(
            "the callback URL is longer than {MAX_URL_LEN} bytes"
        )));
    }
    let parts = split(url);
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    for (name, value) in pairs(parts.query).chain(pairs(parts.fragment)) {
        let Some(known) = CALLBACK_PARAMS.iter().find(|p| **p == name) else {
            continue;
        };
        if value.is_empty() {
            // `#code` (an anchor) or `code=`: not a response parameter.
            continue;
        }
        if seen.iter().any(|(n, _)| n == known) {
            return Err(invalid(format!(
                "the callback repeats the \"{known}\" parameter (RFC 6749 §3.1 forbids it): rejected as a possible injection"
            )));
        }
        seen.push((known, value.into_owned()));
    }
    let mut params = CallbackParams::default();
    let mut error = None;
    let mut error_description = None;
    let mut error_uri = None;
    for (name, value) in seen {
        match name {
            "code" => params.code = Some(AuthorizationCode::new(value)),
            "state" => params.state = Some(State::new(value)),
            "iss" => params.iss = Some(value),
            "error" => error = Some(value),
            "error_description" => error_description = Some(value),
            "error_uri" => error_uri = Some(value),
            "session_state" => params.session_state = Some(value),
            "loginToken" => params.login_token = Some(LoginToken::new(value)),
            _ => params.nonce = Some(State::new(value)),
        }
    }
    match error {
        Some(error) => {
            params.error = match oauth_error::fields(
                &error,
                error_description.as_deref(),
                error_uri.as_deref(),
            ) {
                Some(fields) => ErrorBody::Fields(fields),
                None => ErrorBody::Unreadable,
            }
        }
        None if error_description.is_some() || error_uri.is_some() => {
            return Err(invalid(
                "the callback has error_description or error_uri without error",
            ))
        }
        None => {}
    }
    Ok(params)
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
    if let Some(query) = parts.query {
        let kept = scrub_part(query);
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept);
        }
    }
    if let Some(fragment) = parts.fragment {
        let kept = scrub_part(fragment);
        if !kept.is_empty() {
            out.push('#');
            out.push_str(&kept);
        }
    }
    out
}

fn scrub_part(part: &str) -> String {
    let kept = part.split('&').filter(|segment| {
        if !segment.contains('=') {
            return true; // an anchor or a hash route, not a parameter
        }
        let raw_name = segment.split('=').next().unwrap_or("");
        let is_callback_param = form_urlencoded::parse(raw_name.as_bytes())
            .next()
            .is_some_and(|(name, _)| CALLBACK_PARAMS.contains(&name.as_ref()));
        !is_callback_param
    });
    // Joined by hand (`join` costs 1 kB of wasm).
    let mut out = String::new();
    for (i, segment) in kept.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_and_fragment() {
        let p = parse_callback("https://e/cb?code=c1&state=s1&iss=https%3A%2F%2Fas#x=1").unwrap();
        assert_eq!(p.code.unwrap().expose_secret(), "c1");
        assert_eq!(p.state.unwrap().expose_secret(), "s1");
        assert_eq!(p.iss.as_deref(), Some("https://as"));
        let p = parse_callback("https://e/cb#state=s2&code=c2&session_state=z").unwrap();
        assert_eq!(p.code.unwrap().expose_secret(), "c2");
        assert_eq!(p.session_state.as_deref(), Some("z"));
        let p = parse_callback("https://e/cb?loginToken=t&ext_sso_nonce=n").unwrap();
        assert_eq!(p.login_token.unwrap().expose_secret(), "t");
        assert_eq!(p.nonce.unwrap().expose_secret(), "n");
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
    fn repeated_parameters_are_rejected() {
        for url in [
            "https://e/cb?code=a&code=b&state=s",
            "https://e/cb?code=a&state=s#state=t",
            "https://e/cb?state=s&st%61te=t&code=c",
        ] {
            let err = parse_callback(url).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidCallback, "{url}");
            assert!(err.message().contains("repeats"), "{url}");
        }
        assert!(parse_callback(&format!("https://e/cb?code={}", "a".repeat(MAX_URL_LEN))).is_err());
        assert!(parse_callback("https://e/cb?code=&state=s")
            .unwrap()
            .code
            .is_none());
        assert_eq!(
            scrubbed_url("https://e/cb?code=&x=1#code"),
            "https://e/cb?x=1#code"
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
}
