//! Mia-Platform Authentication Service (seed 004).
//!
//! 1. The client navigates to `{authServiceUrl}/authorize?appId&providerId&redirect`;
//!    `redirect` carries our one-time nonce. The service makes its own
//!    `state` and sends the browser to the identity provider.
//! 2. The provider returns to the web-login callback page (our callback page
//!    plays the Login Site's part) with `code` and `state`. We cannot check
//!    that `state` (the service made it and checks it); the page POSTs
//!    `{"state","code"}` as JSON to `{authServiceUrl}/oauth/token` with
//!    `credentials: 'include'`, so the service sets its `sid` cookie, and
//!    goes to the location it answers ([`next_location`]).
//! 3. That location is our `redirect` with the nonce: [`super::complete`]
//!    checks and consumes it (one-time), binding the login to a flow this
//!    tab started. Identity comes from `{authServiceUrl}/userinfo`, read
//!    with the cookie ([`parse_userinfo`]).
//!
//! Limitation: the `sid` cookie is set in step 2, before our nonce is
//! checked. When step 3 fails, the page must not treat the user as logged
//! in (and should call the service's logout).

use super::callback::NONCE_PARAM;
use super::config::Config;
use super::session::{identity_json, MAX_BODY_LEN};
use crate::json::{self, Value};
use crate::prelude::*;
use crate::protocol::form;
use crate::protocol::identity::IdentitySource;
use crate::protocol::url::{origin_of, split, trim_trailing_slashes, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};

fn base(config: &Config) -> &str {
    trim_trailing_slashes(config.get("authServiceUrl").unwrap_or_default())
}

/// `{authServiceUrl}/oauth/token`, where the callback page POSTs `{state, code}`.
pub fn token_url(config: &Config) -> String {
    msg!(base(config), "/oauth/token")
}

/// `{authServiceUrl}/userinfo`, read with `credentials: 'include'`.
pub fn userinfo_url(config: &Config) -> String {
    msg!(base(config), "/userinfo")
}

/// Checks the answer of `POST /oauth/token` and returns where to go next.
///
/// A non-2xx status is `handoff_failed` (with the status). The `Location`
/// header must be present (expose it with `Access-Control-Expose-Headers:
/// Location` when the service is cross-origin), carry exactly one nonce, and
/// stay where `redirect` pointed: a path on `page_origin` when `redirect` is
/// a path, else the origin of `redirect`. Anything else is refused, so a
/// misbehaving service cannot send the user elsewhere.
pub fn next_location(
    config: &Config,
    status: u16,
    location: Option<&str>,
    page_origin: &str,
) -> Result<String> {
    let fail = |message: &str| Error::new(ErrorCode::HandoffFailed, message);
    if !(200..=299).contains(&status) {
        return Err(Error::new(
            ErrorCode::HandoffFailed,
            msg!(
                "the auth service answered HTTP ",
                status,
                " to POST /oauth/token"
            ),
        )
        .with_status(status));
    }
    let Some(location) = location.filter(|l| !l.is_empty()) else {
        return Err(fail(
            "the auth service answered without a Location header (if it is cross-origin, \
             it must send Access-Control-Expose-Headers: Location)",
        ));
    };
    if location.len() > MAX_URL_LEN
        || location
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
    {
        return Err(fail("the auth service answered an invalid Location"));
    }
    let redirect = config.get("redirect").unwrap_or_default();
    let expected_origin = if redirect.starts_with('/') {
        Some(page_origin.to_owned())
    } else {
        origin_of(redirect)
    };
    let stays = if location.starts_with("//") {
        false
    } else if location.starts_with('/') {
        // A path resolves against the callback page.
        expected_origin.as_deref() == Some(page_origin)
    } else {
        origin_of(location).is_some() && origin_of(location) == expected_origin
    };
    if !stays {
        return Err(fail(
            "the auth service answered a Location outside the configured redirect's origin: refused",
        ));
    }
    let parts = split(location);
    let nonces = [parts.query, parts.fragment]
        .into_iter()
        .flatten()
        .flat_map(form::pairs)
        .filter(|(_, name, _)| name.as_deref() == Some(NONCE_PARAM))
        .count();
    if nonces != 1 {
        return Err(fail(
            "the auth service answered a Location without the login flow's nonce: it must return to the redirect given to /authorize",
        ));
    }
    Ok(location.to_owned())
}

/// Parses the answer of `GET {authServiceUrl}/userinfo`: the claims of the
/// `sid` session, which the service checked, as the identity JSON
/// (`verified: true`, source `userinfo`). 401 and 403 are `not_logged_in`;
/// other failures are `network_error` with the status.
pub fn parse_userinfo(status: u16, body: &str) -> Result<String> {
    if status == 401 || status == 403 {
        return Err(Error::new(
            ErrorCode::NotLoggedIn,
            msg!(
                "the auth service answered HTTP ",
                status,
                " to /userinfo: the session cookie is missing or expired"
            ),
        )
        .with_status(status));
    }
    if !(200..=299).contains(&status) {
        return Err(Error::new(
            ErrorCode::NetworkError,
            msg!("the auth service answered HTTP ", status, " to /userinfo"),
        )
        .with_status(status));
    }
    let parsed = if body.len() <= MAX_BODY_LEN {
        json::parse(body).ok()
    } else {
        None
    };
    match parsed {
        Some(Value::Object(_)) => Ok(identity_json(body, true, IdentitySource::UserInfo)),
        _ => Err(Error::new(
            ErrorCode::NetworkError,
            "the auth service's /userinfo did not answer a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(redirect: &str) -> Config {
        crate::oauth::test_support::config(&format!(
            r#"{{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth/","appId":"app","providerId":"kc","redirect":"{redirect}"}}"#
        ))
    }

    #[test]
    fn urls() {
        assert_eq!(
            token_url(&profile("/")),
            "https://app.example/auth/oauth/token"
        );
        assert_eq!(
            userinfo_url(&profile("/")),
            "https://app.example/auth/userinfo"
        );
    }

    #[test]
    fn location_rules() {
        let p = profile("/home");
        let page = "https://app.example";
        assert_eq!(
            next_location(&p, 200, Some("/home?ext_sso_nonce=n"), page).unwrap(),
            "/home?ext_sso_nonce=n"
        );
        assert_eq!(
            next_location(&p, 500, None, page).unwrap_err().status(),
            Some(500)
        );
        assert!(next_location(&p, 200, None, page)
            .unwrap_err()
            .message()
            .contains("Expose-Headers"));
        assert!(next_location(&p, 200, Some("//evil.example/?ext_sso_nonce=n"), page).is_err());
        assert!(
            next_location(&p, 200, Some("https://evil.example/?ext_sso_nonce=n"), page).is_err()
        );
        assert!(next_location(&p, 200, Some("/home"), page)
            .unwrap_err()
            .message()
            .contains("nonce"));
        assert!(next_location(
            &p,
            200,
            Some("https://app.example/home?ext_sso_nonce=n"),
            page
        )
        .is_ok());

        let abs = profile("https://ext.example/done");
        assert!(next_location(
            &abs,
            200,
            Some("https://ext.example/done?ext_sso_nonce=n"),
            page
        )
        .is_ok());
        assert!(next_location(
            &abs,
            200,
            Some("https://app.example/done?ext_sso_nonce=n"),
            page
        )
        .is_err());
        assert!(next_location(&abs, 200, Some("/done?ext_sso_nonce=n"), page).is_err());
    }

    #[test]
    fn userinfo() {
        let id = parse_userinfo(200, r#"{"id":"u1","groups":["a"]}"#).unwrap();
        assert_eq!(
            id,
            r#"{"claims":{"id":"u1","groups":["a"]},"verified":true,"source":"userinfo"}"#
        );
        assert_eq!(
            parse_userinfo(401, "").unwrap_err().code(),
            ErrorCode::NotLoggedIn
        );
        assert!(parse_userinfo(503, "").unwrap_err().is_retryable());
        assert!(parse_userinfo(200, "[]").is_err());
    }
}
