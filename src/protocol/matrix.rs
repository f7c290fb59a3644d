//! Matrix login (Client-Server API v1.x, `/v3`), shared by the browser
//! client (SSO, then token login) and the backend's `matrixTokenLogin`:
//!
//! - `GET /_matrix/client/v3/login` lists the login flows ("Login" §
//!   `GET /_matrix/client/v3/login`): [`read_login_flows`]. SSO needs both
//!   `m.login.sso` (the redirect to the identity provider) and
//!   `m.login.token` (the `loginToken` it returns is exchanged with it,
//!   "Single Sign-On" and "Token-based login");
//!   [`LoginFlows::require_sso`]. A backend that only exchanges a token
//!   needs `m.login.token`: [`LoginFlows::require_token_login`].
//! - `POST /_matrix/client/v3/login` with `{"type":"m.login.token","token"}`
//!   ([`token_login_body`]) answers `access_token`, `user_id`, `device_id`
//!   (required strings), `expires_in_ms`, `refresh_token`, and
//!   `well_known["m.homeserver"].base_url`, which is kept only when it passes
//!   the URL rule ([`super::url::UrlRule::STRICT`]: https, or http on a loopback host): a homeserver cannot
//!   send the client to a plain-http server. [`read_login_response`].
//! - A non-2xx answer is a Matrix error (`{"errcode","error"}`, "Standard
//!   error response"): `token_endpoint_error` with the status (5xx, 408 and
//!   429 retryable), `errcode` as the OAuth-style `error` and `error` as
//!   `error_description` under the RFC 6749 §5.2 character rules
//!   ([`super::oauth_error`]). A 2xx that is not a JSON object is
//!   `token_endpoint_error` too (check `homeserverUrl`).
//!
//! What this module leaves to its callers: sending the requests, the body
//! size cap, and what a session made of the answer holds.

use super::oauth_error;
use super::url::UrlRule;
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};
use core::fmt;

/// The login endpoint's path under the homeserver's base URL.
pub const LOGIN_PATH: &str = "/_matrix/client/v3/login";

/// `{homeserver}/_matrix/client/v3/login` (a trailing `/` of the base is dropped).
pub fn login_url(homeserver_url: &str) -> String {
    let mut url = homeserver_url.trim_end_matches('/').to_owned();
    url.push_str(LOGIN_PATH);
    url
}

/// The body of a token login: `{"type":"m.login.token","token":…}`, plus
/// `device_id` and `initial_device_display_name` when given (non-empty).
pub fn token_login_body(
    token: &str,
    device_id: Option<&str>,
    display_name: Option<&str>,
) -> String {
    let mut body = String::from(r#"{"type":"m.login.token","token":"#);
    json::write_string(&mut body, token);
    for (name, value) in [
        ("device_id", device_id),
        ("initial_device_display_name", display_name),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            body.push_str(",\"");
            body.push_str(name);
            body.push_str("\":");
            json::write_string(&mut body, value);
        }
    }
    body.push('}');
    body
}

/// One identity provider the homeserver offers for `m.login.sso`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProvider {
    /// `id`, usable as `idpId`.
    pub id: String,
    /// `name`, for display (`""` when absent).
    pub name: String,
}

/// The login flows a homeserver offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginFlows {
    /// `m.login.sso` is offered.
    pub sso: bool,
    /// `m.login.token` is offered.
    pub token: bool,
    /// The `identity_providers` of the `m.login.sso` flow.
    pub identity_providers: Vec<IdentityProvider>,
}

fn unsupported(message: &str) -> Error {
    Error::new(ErrorCode::Unsupported, message)
}

impl LoginFlows {
    /// `unsupported` unless `m.login.token` is offered.
    pub fn require_token_login(&self) -> Result<()> {
        if self.token {
            return Ok(());
        }
        Err(unsupported(
            "the homeserver does not offer the m.login.token login flow, so SSO login is not possible there",
        ))
    }

    /// `unsupported` unless both `m.login.sso` and `m.login.token` are
    /// offered and, when the server lists identity providers, `idp_id` is
    /// one of them.
    pub fn require_sso(&self, idp_id: Option<&str>) -> Result<()> {
        if !(self.sso && self.token) {
            return Err(unsupported(
                "the homeserver does not offer SSO login: its login flows must include m.login.sso and m.login.token",
            ));
        }
        let listed = |wanted: &str| self.identity_providers.iter().any(|p| p.id == wanted);
        match idp_id {
            Some(wanted) if !self.identity_providers.is_empty() && !listed(wanted) => Err(unsupported(
                "the homeserver does not list the configured idpId among its identity providers",
            )),
            _ => Ok(()),
        }
    }
}

/// The JSON object of a 2xx answer, or the Matrix error.
fn answer_object(status: u16, body: &[u8], max_bytes: usize, request: &str) -> Result<Object> {
    let fail =
        |message: String| Error::new(ErrorCode::TokenEndpointError, message).with_status(status);
    if body.len() > max_bytes {
        return Err(fail(msg!(
            "the homeserver answered a body larger than ",
            max_bytes,
            " bytes"
        )));
    }
    let object = match json::parse_bytes(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if (200..=299).contains(&status) {
        return object.ok_or_else(|| {
            fail(msg!(
                "the homeserver did not answer ",
                request,
                " with a JSON object; check homeserverUrl"
            ))
        });
    }
    let Some(errcode) = object.as_ref().and_then(|o| o.get_str("errcode")) else {
        return Err(fail(msg!(
            "the homeserver answered HTTP ",
            status,
            " to ",
            request,
            " without a Matrix error body"
        )));
    };
    let description = object.as_ref().and_then(|o| o.get_str("error"));
    let fields = oauth_error::fields(errcode, description, None);
    let hint = match errcode {
        "M_FORBIDDEN" => ": the login token is invalid, expired or already used; log in again",
        "M_LIMIT_EXCEEDED" => ": rate limited; retry later",
        "M_UNKNOWN" | "M_UNRECOGNIZED" => ": the homeserver may not support token login",
        _ => "",
    };
    let err = fail(msg!(
        "the homeserver refused ",
        request,
        " (HTTP ",
        status,
        ", ",
        oauth_error::shown(fields.as_ref()),
        ")",
        hint
    ));
    Err(match fields {
        Some(fields) => err.with_oauth(fields),
        None => err,
    })
}

/// Reads the answer to `GET /_matrix/client/v3/login`.
pub fn read_login_flows(status: u16, body: &[u8], max_bytes: usize) -> Result<LoginFlows> {
    let object = answer_object(status, body, max_bytes, "GET /_matrix/client/v3/login")?;
    let mut flows = LoginFlows::default();
    let listed = object.get("flows").and_then(Value::as_array).unwrap_or(&[]);
    for flow in listed.iter().filter_map(Value::as_object) {
        match flow.get_str("type") {
            Some("m.login.token") => flows.token = true,
            Some("m.login.sso") => {
                flows.sso = true;
                let providers = flow
                    .get("identity_providers")
                    .and_then(Value::as_array)
                    .unwrap_or(&[]);
                for provider in providers.iter().filter_map(Value::as_object) {
                    if let Some(id) = provider.get_str("id") {
                        flows.identity_providers.push(IdentityProvider {
                            id: id.to_owned(),
                            name: provider.get_str("name").unwrap_or("").to_owned(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(flows)
}

/// A successful login. `Debug` redacts the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginResponse {
    /// `access_token`.
    pub access_token: String,
    /// `user_id`, e.g. `@alice:example.org`.
    pub user_id: String,
    /// `device_id`.
    pub device_id: String,
    /// `home_server` (deprecated by the spec, still sent by some servers).
    pub home_server: Option<String>,
    /// `well_known["m.homeserver"].base_url`, when it passes the URL rule.
    pub homeserver_base_url: Option<String>,
    /// `refresh_token`, when the client opted into refresh tokens.
    pub refresh_token: Option<String>,
    /// `expires_in_ms`.
    pub expires_in_ms: Option<u64>,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("access_token", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("device_id", &self.device_id)
            .field("home_server", &self.home_server)
            .field("homeserver_base_url", &self.homeserver_base_url)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in_ms", &self.expires_in_ms)
            .finish()
    }
}

/// `well_known["m.homeserver"].base_url` when it is an https URL (or http
/// on a loopback host).
pub fn homeserver_base_url(object: &Object) -> Option<String> {
    object
        .get("well_known")
        .and_then(Value::as_object)
        .and_then(|w| w.get("m.homeserver"))
        .and_then(Value::as_object)
        .and_then(|h| h.get_str("base_url"))
        .filter(|url| UrlRule::STRICT.check("base_url", url).is_ok())
        .map(str::to_owned)
}

/// Reads the answer to `POST /_matrix/client/v3/login`.
pub fn read_login_response(status: u16, body: &[u8], max_bytes: usize) -> Result<LoginResponse> {
    let object = answer_object(status, body, max_bytes, "the login")?;
    let required = |name: &str| {
        object
            .get_str(name)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::TokenEndpointError,
                    msg!("the homeserver's login answer has no ", name, " string"),
                )
                .with_status(status)
            })
    };
    Ok(LoginResponse {
        access_token: required("access_token")?,
        user_id: required("user_id")?,
        device_id: required("device_id")?,
        home_server: object.get_str("home_server").map(str::to_owned),
        homeserver_base_url: homeserver_base_url(&object),
        refresh_token: object
            .get_str("refresh_token")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        expires_in_ms: object
            .get("expires_in_ms")
            .and_then(Value::as_f64)
            .filter(|n| *n >= 0.0)
            .map(|n| n as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_bodies() {
        assert_eq!(
            login_url("https://m.example/"),
            "https://m.example/_matrix/client/v3/login"
        );
        assert_eq!(
            token_login_body("t\"1", None, Some("")),
            r#"{"type":"m.login.token","token":"t\"1"}"#
        );
        assert_eq!(
            token_login_body("t", Some("DEV1"), Some("My extension")),
            r#"{"type":"m.login.token","token":"t","device_id":"DEV1","initial_device_display_name":"My extension"}"#
        );
    }

    #[test]
    fn login_flows() {
        let both = br#"{"flows":[{"type":"m.login.password"},
            {"type":"m.login.sso","identity_providers":[{"id":"oidc-github","name":"GitHub"},{"name":"no id"}]},
            {"type":"m.login.token"}]}"#;
        let flows = read_login_flows(200, both, 1024).unwrap();
        assert_eq!(
            flows.identity_providers,
            vec![IdentityProvider {
                id: "oidc-github".into(),
                name: "GitHub".into()
            }]
        );
        assert!(flows.require_sso(Some("oidc-github")).is_ok());
        assert!(flows.require_sso(None).is_ok());
        assert_eq!(
            flows.require_sso(Some("saml")).unwrap_err().code(),
            ErrorCode::Unsupported
        );
        assert!(flows.require_token_login().is_ok());

        let token_only =
            read_login_flows(200, br#"{"flows":[{"type":"m.login.token"}]}"#, 1024).unwrap();
        assert!(token_only.require_token_login().is_ok());
        assert_eq!(
            token_only.require_sso(None).unwrap_err().code(),
            ErrorCode::Unsupported
        );
        for odd in [
            &br#"{"flows":[{"type":"m.login.password"}]}"#[..],
            br#"{"flows":"x"}"#,
            b"{}",
        ] {
            let flows = read_login_flows(200, odd, 1024).unwrap();
            assert_eq!(
                flows.require_token_login().unwrap_err().code(),
                ErrorCode::Unsupported
            );
        }
        let err = read_login_flows(200, b"<html>", 1024).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert!(err.message().contains("check homeserverUrl"));
        let err = read_login_flows(502, b"bad gateway", 1024).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.status(), Some(502));
    }

    #[test]
    fn login_success() {
        let body = br#"{"user_id":"@alice:example.org","access_token":"syt_AT","device_id":"GHTYAJCE",
            "home_server":"example.org","well_known":{"m.homeserver":{"base_url":"https://matrix.example.org"}},
            "expires_in_ms":60000,"refresh_token":"syr_RT"}"#;
        let login = read_login_response(200, body, 1024).unwrap();
        assert_eq!(login.access_token, "syt_AT");
        assert_eq!(login.user_id, "@alice:example.org");
        assert_eq!(login.device_id, "GHTYAJCE");
        assert_eq!(login.home_server.as_deref(), Some("example.org"));
        assert_eq!(
            login.homeserver_base_url.as_deref(),
            Some("https://matrix.example.org")
        );
        assert_eq!(login.expires_in_ms, Some(60_000));
        let printed = format!("{login:?}");
        assert!(
            !printed.contains("syt_AT") && !printed.contains("syr_RT"),
            "{printed}"
        );

        // A plain-http base_url (not loopback) is dropped.
        let http = br#"{"user_id":"@a:b","access_token":"x","device_id":"D","well_known":{"m.homeserver":{"base_url":"http://matrix.example.org"}}}"#;
        assert_eq!(
            read_login_response(200, http, 1024)
                .unwrap()
                .homeserver_base_url,
            None
        );
        let loopback = br#"{"user_id":"@a:b","access_token":"x","device_id":"D","well_known":{"m.homeserver":{"base_url":"http://127.0.0.1:8008"}}}"#;
        assert!(read_login_response(200, loopback, 1024)
            .unwrap()
            .homeserver_base_url
            .is_some());
    }

    #[test]
    fn login_failures() {
        let err = read_login_response(
            403,
            br#"{"errcode":"M_FORBIDDEN","error":"Invalid login token"}"#,
            1024,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert_eq!(err.status(), Some(403));
        assert!(!err.is_retryable());
        let oauth = err.oauth().unwrap();
        assert_eq!(oauth.error, "M_FORBIDDEN");
        assert_eq!(
            oauth.error_description.as_deref(),
            Some("Invalid login token")
        );
        assert_eq!(
            err.message(),
            "the homeserver refused the login (HTTP 403, M_FORBIDDEN): the login token is invalid, expired or already used; log in again"
        );
        let err = read_login_response(
            429,
            br#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too many"}"#,
            1024,
        )
        .unwrap_err();
        assert!(err.is_retryable());
        let err = read_login_response(400, br#"{"errcode":"M_\"X\u0001","error":"x"}"#, 1024)
            .unwrap_err();
        assert!(
            err.oauth().is_none() && err.message().contains("(unprintable)"),
            "{}",
            err.message()
        );
        for body in [
            &br#"{"user_id":"@a:b","device_id":"D"}"#[..],
            br#"{"access_token":"x","device_id":"D"}"#,
            br#"{"access_token":"x","user_id":"","device_id":"D"}"#,
        ] {
            let err = read_login_response(200, body, 1024).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TokenEndpointError);
            assert!(!err.message().contains("\"x\""));
        }
        let err = read_login_response(500, b"", 1024).unwrap_err();
        assert!(err.is_retryable() && err.oauth().is_none());
        assert!(read_login_response(200, &[b' '; 9], 8)
            .unwrap_err()
            .message()
            .contains("larger than 8"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(status in 0u16..1000, body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = read_login_response(status, &body, 128);
            let _ = read_login_flows(status, &body, 128).map(|f| (f.require_sso(Some("x")), f.require_token_login()));
        }
    }
}
