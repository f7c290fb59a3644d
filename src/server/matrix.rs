//! Matrix token login (Matrix Client-Server API v1.x, `/v3`).
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

use super::http::{HttpRequest, HttpResponse, Secret, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES};
use crate::protocol::matrix::{login_url, read_login_flows, read_login_response, token_login_body};
use crate::protocol::url::UrlRule;
use crate::{Error, Result};

/// The result of a Matrix login (the shared reading of
/// [`crate::protocol::matrix`]). `Debug` redacts the tokens.
pub use crate::protocol::matrix::LoginResponse as MatrixSession;

/// Builds `GET /_matrix/client/v3/login` on the homeserver of `options`.
pub fn matrix_login_flows_request(options: &MatrixLoginOptions) -> Result<HttpRequest> {
    let base = options
        .rule
        .base_url("homeserverUrl", &options.homeserver_url)?;
    Ok(HttpRequest {
        method: "GET",
        url: login_url(&base),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
        timeout_ms: options.timeout_ms,
    })
}

/// Checks that the login flows include `m.login.token`; `unsupported`
/// otherwise (a Matrix error answer is `token_endpoint_error`).
pub fn check_login_flows(response: &HttpResponse) -> Result<()> {
    read_login_flows(response.status, &response.body, MAX_RESPONSE_BYTES)?.require_token_login()
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
    /// First check that the homeserver offers `m.login.token` (default
    /// true): a homeserver without it answers the login with a less helpful
    /// error.
    pub check_login_flows: bool,
    /// The URL rule `homeserver_url` must pass ([`UrlRule::STRICT`] unless
    /// the caller opted out with `allowInsecureHttp`). A `well_known`
    /// `base_url` in the answer always passes the strict rule or is dropped:
    /// the opt-out covers the URLs the caller configured, never the ones a
    /// server hands back.
    pub rule: UrlRule,
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
            check_login_flows: true,
            rule: UrlRule::STRICT,
        }
    }
}

/// Builds `POST /_matrix/client/v3/login` with `{"type":"m.login.token","token":…}`
/// (plus `device_id` / `initial_device_display_name` when given).
pub fn matrix_token_login_request(options: &MatrixLoginOptions) -> Result<HttpRequest> {
    let base = options
        .rule
        .base_url("homeserverUrl", &options.homeserver_url)?;
    let token = options.login_token.expose_secret();
    if token.is_empty() {
        return Err(Error::options("loginToken is required"));
    }
    let body = token_login_body(
        token,
        options.device_id.as_deref(),
        options.initial_device_display_name.as_deref(),
    );
    Ok(HttpRequest {
        method: "POST",
        url: login_url(&base),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(body),
        timeout_ms: options.timeout_ms,
    })
}

/// Parses the login response by the shared rules
/// ([`crate::protocol::matrix::read_login_response`]): `access_token`,
/// `user_id` and `device_id` are required strings; a `base_url` that is not
/// https (or http on loopback) is dropped.
pub fn parse_matrix_login(response: &HttpResponse) -> Result<MatrixSession> {
    read_login_response(response.status, &response.body, MAX_RESPONSE_BYTES)
}

/// A Matrix token login as a state machine the caller drives, as
/// [`super::TokenFlow`]: the login flows (unless
/// [`MatrixLoginOptions::check_login_flows`] is off), then the login. The
/// caller sends each request of [`MatrixFlow::next`] and hands the answer to
/// [`MatrixFlow::answer`].
#[derive(Debug)]
pub struct MatrixFlow {
    options: MatrixLoginOptions,
    flows_checked: bool,
    session: Option<MatrixSession>,
}

impl MatrixFlow {
    /// Checks the options (`invalid_options` before any request).
    pub fn new(options: MatrixLoginOptions) -> Result<Self> {
        matrix_token_login_request(&options)?;
        Ok(Self {
            flows_checked: !options.check_login_flows,
            options,
            session: None,
        })
    }

    /// The next request to send, or `None` once logged in ([`Self::session`]).
    pub fn next(&self) -> Result<Option<HttpRequest>> {
        if self.session.is_some() {
            Ok(None)
        } else if self.flows_checked {
            matrix_token_login_request(&self.options).map(Some)
        } else {
            matrix_login_flows_request(&self.options).map(Some)
        }
    }

    /// Reads the answer to the last request: `unsupported` when the
    /// homeserver has no token login, `token_endpoint_error` for a Matrix
    /// error, or `Ok` to go on.
    pub fn answer(&mut self, response: &HttpResponse) -> Result<()> {
        if self.flows_checked {
            self.session = Some(parse_matrix_login(response)?);
        } else {
            check_login_flows(response)?;
            self.flows_checked = true;
        }
        Ok(())
    }

    /// The session, once logged in.
    pub fn session(&self) -> Option<&MatrixSession> {
        self.session.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn the_flow_checks_the_login_flows_then_logs_in() {
        let mut options = MatrixLoginOptions::new("https://matrix.example", "lt");
        let mut flow = MatrixFlow::new(options.clone()).unwrap();
        assert!(flow
            .next()
            .unwrap()
            .unwrap()
            .url
            .ends_with("/_matrix/client/v3/login"));
        assert_eq!(flow.next().unwrap().unwrap().method, "GET");
        let err = flow
            .answer(&HttpResponse::new(
                200,
                r#"{"flows":[{"type":"m.login.password"}]}"#,
            ))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unsupported);
        flow.answer(&HttpResponse::new(
            200,
            r#"{"flows":[{"type":"m.login.token"}]}"#,
        ))
        .unwrap();
        assert_eq!(flow.next().unwrap().unwrap().method, "POST");
        flow.answer(&HttpResponse::new(
            200,
            r#"{"access_token":"a","user_id":"@u:x","device_id":"D","well_known":{"m.homeserver":{"base_url":"javascript:alert(1)"}}}"#,
        ))
        .unwrap();
        assert!(flow.next().unwrap().is_none());
        let session = flow.session().unwrap();
        assert_eq!(session.user_id, "@u:x");
        assert_eq!(
            session.homeserver_base_url, None,
            "not a URL the rule allows: dropped"
        );

        options.check_login_flows = false;
        let flow = MatrixFlow::new(options.clone()).unwrap();
        assert_eq!(flow.next().unwrap().unwrap().method, "POST");
        // Plain http to a public homeserver only with the opt-out.
        options.homeserver_url = "http://matrix.example".into();
        assert_eq!(
            MatrixFlow::new(options.clone()).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        options.rule = UrlRule::INSECURE_HTTP;
        assert!(MatrixFlow::new(options).is_ok());
    }

    #[test]
    fn flows_request_and_check() {
        let request =
            matrix_login_flows_request(&MatrixLoginOptions::new("https://matrix.example/", "t"))
                .unwrap();
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
