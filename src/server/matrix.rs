//! Matrix token login (seed 003; Matrix Client-Server API v1.x, `/v3`).
//!
//! 1. `GET {homeserver}/_matrix/client/v3/login` lists the login flows
//!    (Client-Server API §"GET /_matrix/client/v3/login"); the server must offer
//!    `m.login.token` ([`check_login_flows`]).
//! 2. `POST {homeserver}/_matrix/client/v3/login` with
//!    `{"type":"m.login.token","token":…}` exchanges the SSO `loginToken` for an
//!    access token, user id and device id ([`parse_matrix_login`]).
//!
//! Matrix errors (`{"errcode","error"}`, Client-Server API §"Standard error
//! response") become `token_endpoint_error` with `errcode` as the OAuth-style
//! `error` and `error` as `error_description`. A used or expired login token
//! is `403 M_FORBIDDEN`.

use crate::prelude::*;

use crate::protocol::url::UrlRule;
use core::fmt;

use super::http::{HttpRequest, HttpResponse, Secret, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES};
use crate::json::{self, Object, Value};
use crate::{Error, ErrorCode, OAuthErrorFields, Result};

const LOGIN_PATH: &str = "/_matrix/client/v3/login";

/// Builds `GET /_matrix/client/v3/login` on `homeserver_url`.
pub fn matrix_login_flows_request(homeserver_url: &str) -> Result<HttpRequest> {
    let base = UrlRule::STRICT.base_url("homeserverUrl", homeserver_url)?;
    Ok(HttpRequest {
        method: "GET",
        url: format!("{base}{LOGIN_PATH}"),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
        timeout_ms: DEFAULT_TIMEOUT_MS,
    })
}

/// Checks that the login flows include `m.login.token`; `unsupported` otherwise.
pub fn check_login_flows(response: &HttpResponse) -> Result<()> {
    let object = matrix_object(response)?;
    let offers_token_login = object
        .get("flows")
        .and_then(Value::as_array)
        .is_some_and(|flows| {
            flows.iter().any(|flow| {
                flow.as_object()
                    .and_then(|f| f.get_str("type"))
                    .is_some_and(|t| t == "m.login.token")
            })
        });
    if offers_token_login {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::Unsupported,
            "the homeserver does not offer the m.login.token login flow, so SSO login is not possible there",
        ))
    }
}

/// Options of `matrixTokenLogin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixLoginOptions {
    /// The homeserver base URL, e.g. `https://matrix.example`.
    pub homeserver_url: String,
    /// The `loginToken` from the SSO redirect.
    pub login_token: Secret,
    /// Re-use an existing device id instead of creating a device.
    pub device_id: Option<String>,
    /// The display name of a new device.
    pub initial_device_display_name: Option<String>,
    /// How long the caller should wait for the homeserver.
    pub timeout_ms: u32,
}

impl MatrixLoginOptions {
    /// Options with no device id or name and the default timeout.
    pub fn new(homeserver_url: impl Into<String>, login_token: impl Into<Secret>) -> Self {
        Self {
            homeserver_url: homeserver_url.into(),
            login_token: login_token.into(),
            device_id: None,
            initial_device_display_name: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

/// Builds `POST /_matrix/client/v3/login` with `{"type":"m.login.token","token":…}`
/// (plus `device_id` / `initial_device_display_name` when given).
pub fn matrix_token_login_request(options: &MatrixLoginOptions) -> Result<HttpRequest> {
    let base = UrlRule::STRICT.base_url("homeserverUrl", &options.homeserver_url)?;
    let token = options.login_token.expose_secret();
    if token.is_empty() {
        return Err(Error::options("loginToken is required"));
    }
    let mut body = String::from(r#"{"type":"m.login.token","token":"#);
    json::write_string(&mut body, token);
    if let Some(device_id) = options.device_id.as_deref().filter(|d| !d.is_empty()) {
        body.push_str(r#","device_id":"#);
        json::write_string(&mut body, device_id);
    }
    if let Some(name) = options
        .initial_device_display_name
        .as_deref()
        .filter(|d| !d.is_empty())
    {
        body.push_str(r#","initial_device_display_name":"#);
        json::write_string(&mut body, name);
    }
    body.push('}');
    Ok(HttpRequest {
        method: "POST",
        url: format!("{base}{LOGIN_PATH}"),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(body),
        timeout_ms: options.timeout_ms,
    })
}

/// The result of a Matrix login. `Debug` redacts the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct MatrixSession {
    /// `access_token`.
    pub access_token: String,
    /// `user_id`, e.g. `@alice:example.org`.
    pub user_id: String,
    /// `device_id`.
    pub device_id: String,
    /// `home_server` (deprecated by the spec, still sent by some servers).
    pub home_server: Option<String>,
    /// `well_known["m.homeserver"].base_url`: where the client should talk to from now on.
    pub homeserver_base_url: Option<String>,
    /// `refresh_token`, when the client opted into refresh tokens.
    pub refresh_token: Option<String>,
    /// `expires_in_ms`.
    pub expires_in_ms: Option<u64>,
}

impl fmt::Debug for MatrixSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatrixSession")
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

/// Parses the login response: `access_token`, `user_id` and `device_id` are
/// required strings.
pub fn parse_matrix_login(response: &HttpResponse) -> Result<MatrixSession> {
    let object = matrix_object(response)?;
    let required = |name: &str| {
        object
            .get_str(name)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::TokenEndpointError,
                    format!("the homeserver login response has no {name} string"),
                )
                .with_status(response.status)
            })
    };
    let homeserver_base_url = object
        .get("well_known")
        .and_then(Value::as_object)
        .and_then(|w| w.get("m.homeserver"))
        .and_then(Value::as_object)
        .and_then(|h| h.get_str("base_url"))
        .map(str::to_owned);
    let expires_in_ms = object
        .get("expires_in_ms")
        .and_then(Value::as_f64)
        .filter(|n| *n >= 0.0 && n.is_finite())
        .map(|n| n as u64);
    Ok(MatrixSession {
        access_token: required("access_token")?,
        user_id: required("user_id")?,
        device_id: required("device_id")?,
        home_server: object.get_str("home_server").map(str::to_owned),
        homeserver_base_url,
        refresh_token: object.get_str("refresh_token").map(str::to_owned),
        expires_in_ms,
    })
}

/// The JSON object of a 2xx response, or the Matrix error as an [`Error`].
fn matrix_object(response: &HttpResponse) -> Result<Object> {
    let status = response.status;
    if response.body.len() > MAX_RESPONSE_BYTES {
        return Err(Error::new(
            ErrorCode::TokenEndpointError,
            format!("the homeserver response is larger than {MAX_RESPONSE_BYTES} bytes"),
        )
        .with_status(status));
    }
    let object = match json::parse_bytes(&response.body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if (200..300).contains(&status) {
        return object.ok_or_else(|| {
            Error::new(
                ErrorCode::TokenEndpointError,
                "the homeserver answered with a body that is not a JSON object; check homeserverUrl",
            )
            .with_status(status)
        });
    }
    let errcode = object.as_ref().and_then(|o| o.get_str("errcode"));
    let Some(errcode) = errcode else {
        return Err(Error::new(
            ErrorCode::TokenEndpointError,
            format!("the homeserver answered HTTP {status} without a Matrix error body"),
        )
        .with_status(status));
    };
    let hint = match errcode {
        "M_FORBIDDEN" => ": the login token is invalid, expired or already used; log in again",
        "M_LIMIT_EXCEEDED" => ": rate limited; retry later",
        "M_UNKNOWN" | "M_UNRECOGNIZED" => ": the homeserver may not support token login",
        _ => "",
    };
    let shown = if super::exchange::is_oauth_error_code(errcode) {
        errcode
    } else {
        "(unprintable)"
    };
    let fields = OAuthErrorFields {
        error: errcode.to_owned(),
        error_description: object
            .as_ref()
            .and_then(|o| o.get_str("error"))
            .map(str::to_owned),
        error_uri: None,
    };
    Err(Error::new(
        ErrorCode::TokenEndpointError,
        format!("the homeserver refused the login (HTTP {status}, {shown}){hint}"),
    )
    .with_status(status)
    .with_oauth(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_request_and_check() {
        let request = matrix_login_flows_request("https://matrix.example/").unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(
            request.url,
            "https://matrix.example/_matrix/client/v3/login"
        );
        assert_eq!(request.body, None);

        let sso = r#"{"flows":[{"type":"m.login.sso"},{"type":"m.login.token"}]}"#;
        assert!(check_login_flows(&HttpResponse::new(200, sso)).is_ok());
        let password = r#"{"flows":[{"type":"m.login.password"}]}"#;
        let err = check_login_flows(&HttpResponse::new(200, password)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unsupported);
        assert_eq!(
            check_login_flows(&HttpResponse::new(200, r#"{"flows":"x"}"#))
                .unwrap_err()
                .code(),
            ErrorCode::Unsupported
        );
        assert!(check_login_flows(&HttpResponse::new(502, "bad gateway"))
            .unwrap_err()
            .is_retryable());
    }

    #[test]
    fn token_login_request_is_exact() {
        let mut options = MatrixLoginOptions::new("https://matrix.example", "syt_\"tok");
        let request = matrix_token_login_request(&options).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            "https://matrix.example/_matrix/client/v3/login"
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.body.as_deref(),
            Some(r#"{"type":"m.login.token","token":"syt_\"tok"}"#)
        );
        options.device_id = Some("DEV1".into());
        options.initial_device_display_name = Some("My extension".into());
        let request = matrix_token_login_request(&options).unwrap();
        assert_eq!(
            request.body.as_deref(),
            Some(
                r#"{"type":"m.login.token","token":"syt_\"tok","device_id":"DEV1","initial_device_display_name":"My extension"}"#
            )
        );
        options.login_token = "".into();
        assert_eq!(
            matrix_token_login_request(&options).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        options.login_token = "t".into();
        options.homeserver_url = "matrix.example".into();
        assert_eq!(
            matrix_token_login_request(&options).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert!(!format!("{options:?}").contains("\"t\""));
    }

    #[test]
    fn parses_login_success() {
        let body = r#"{"user_id":"@alice:example.org","access_token":"syt_AT","device_id":"GHTYAJCE",
            "home_server":"example.org","well_known":{"m.homeserver":{"base_url":"https://matrix.example.org"}},
            "expires_in_ms":60000,"refresh_token":"syr_RT"}"#;
        let session = parse_matrix_login(&HttpResponse::new(200, body)).unwrap();
        assert_eq!(session.access_token, "syt_AT");
        assert_eq!(session.user_id, "@alice:example.org");
        assert_eq!(session.device_id, "GHTYAJCE");
        assert_eq!(session.home_server.as_deref(), Some("example.org"));
        assert_eq!(
            session.homeserver_base_url.as_deref(),
            Some("https://matrix.example.org")
        );
        assert_eq!(session.expires_in_ms, Some(60_000));
        let printed = format!("{session:?}");
        assert!(
            !printed.contains("syt_AT") && !printed.contains("syr_RT"),
            "{printed}"
        );
        assert!(printed.contains("@alice:example.org"));
    }

    #[test]
    fn login_failures() {
        let err = parse_matrix_login(&HttpResponse::new(
            403,
            r#"{"errcode":"M_FORBIDDEN","error":"Invalid login token"}"#,
        ))
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
        assert!(err.message().contains("already used"));

        let err = parse_matrix_login(&HttpResponse::new(
            429,
            r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2000}"#,
        ))
        .unwrap_err();
        assert!(err.is_retryable());

        for body in [
            r#"{"user_id":"@a:b","device_id":"D"}"#,
            r#"{"access_token":"x","device_id":"D"}"#,
            "nope",
        ] {
            let err = parse_matrix_login(&HttpResponse::new(200, body)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TokenEndpointError, "{body}");
            assert!(!err.message().contains("\"x\""));
        }
        let err = parse_matrix_login(&HttpResponse::new(500, "")).unwrap_err();
        assert!(err.is_retryable());
        assert!(err.oauth().is_none());
    }

    proptest::proptest! {
        #[test]
        fn matrix_parsers_never_panic(status in 0u16..1000, body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let response = HttpResponse::new(status, body);
            let _ = parse_matrix_login(&response);
            let _ = check_login_flows(&response);
        }
    }
}
