//! Completing a flow from its callback URL: every check, in order, and the
//! one request to make next.
//!
//! **One rule for every invalid callback**: a callback that names a pending
//! flow (by its `state`, or our nonce for Matrix and the auth service)
//! spends that flow first, whatever else is wrong with it (a repeated
//! parameter, the wrong page, a mix-up `iss`, an `error`, no `code`). A code
//! that arrived in a malformed or misdirected callback is never used, and a
//! replay of it is `state_reused`: the user starts the login again. A
//! callback that names no pending flow changes nothing.
//!
//! Order for `state`-bound profiles (oauth2, mia-console):
//! 1. every flow named by a `state` value (query or fragment) is looked up
//!    and consumed, one time (`state_unknown`, `state_reused`,
//!    `state_expired`);
//! 2. the callback is parsed: a repeated parameter is `invalid_callback`
//!    (RFC 6749 §3.1);
//! 3. no `state`: an `error` is reported as `authorization_denied`, anything
//!    else is `invalid_callback`; else step 1's outcome is reported;
//! 4. the flow must be this client's (its profile, and for oauth2 its
//!    issuer: RFC 9700 §4.4), and the callback must have arrived at the
//!    flow's `redirect_uri` (same origin and path; RFC 9700 §4.1 binds the
//!    code to that page);
//! 5. RFC 9207 §2.4 `iss` is checked, error responses included
//!    (`iss_missing`, `iss_mismatch`);
//! 6. an `error` becomes `authorization_denied` with the server's fields
//!    (RFC 6749 §4.1.2.1);
//! 7. a `code` must be present; the handoff or token request is built.
//!
//! Matrix and auth-service flows are bound by our nonce instead (spent the
//! same way, and for Matrix the page checked against `redirectUri`) before
//! the `loginToken` is used or the session is trusted.
//!
//! The caller scrubs the address bar with [`super::scrubbed_url`] whatever
//! the outcome.

use super::auth_service;
use super::callback::{parse_callback, values_of, NONCE_PARAM};
use super::config::{Config, IssPolicy, ProfileKind};
use super::flow::{self, FlowRecord, Flows};
use super::secret::State;
use super::write::Obj;
use crate::prelude::*;
use crate::protocol::form;
use crate::protocol::matrix::{login_url, token_login_body};
use crate::protocol::oauth_error::{self, ErrorBody};
use crate::protocol::url::page_of;
use crate::{Error, ErrorCode, Result};
use core::fmt;

/// What an answer is read as: the request's purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// The handoff's answer: a token response (plus a handoff's members).
    Handoff,
    /// A token endpoint's answer (a public client).
    Token,
    /// A homeserver's login answer.
    MatrixLogin,
    /// The auth service's `/oauth/token` answer: where to go next.
    AuthToken,
    /// The auth service's `/userinfo` after our nonce came back: the session.
    AuthReturned,
    /// `/userinfo` for `getUserIdentity()`.
    UserInfo,
    /// A homeserver's login flows, before navigating.
    Flows,
    /// The issuer's metadata (discovery), before navigating.
    Discovery,
}

impl Then {
    /// The name in a `resume`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Handoff => "handoff",
            Self::Token => "token",
            Self::MatrixLogin => "matrix-login",
            Self::AuthToken => "auth-token",
            Self::AuthReturned => "auth-returned",
            Self::UserInfo => "userinfo",
            Self::Flows => "flows",
            Self::Discovery => "discovery",
        }
    }

    /// Parses the name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Handoff,
            Self::Token,
            Self::MatrixLogin,
            Self::AuthToken,
            Self::AuthReturned,
            Self::UserInfo,
            Self::Flows,
            Self::Discovery,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// A request to make (redirects are never followed). Every body holds a
/// secret (code, verifier or login token): `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The URL (a path is resolved against the page).
    pub url: String,
    /// `Content-Type` of the body.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Option<String>,
    /// `include` (a backend's cookie session) or `same-origin`.
    pub credentials: &'static str,
    /// What the answer is read as.
    pub then: Then,
    /// The OpenID Connect `nonce` the ID Token of the answer must carry (a
    /// public client's token request).
    pub nonce: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("then", &self.then)
            .field("body", &"[redacted]")
            .finish()
    }
}

const JSON_TYPE: &str = "application/json";

impl Request {
    /// `GET url` with the page's cookies for `url`.
    pub(crate) fn get(url: String, then: Then, credentials: &'static str) -> Self {
        Self {
            method: "GET",
            url,
            content_type: None,
            body: None,
            credentials,
            then,
            nonce: None,
        }
    }

    fn post(
        url: String,
        content_type: &'static str,
        body: String,
        credentials: &'static str,
        then: Then,
    ) -> Self {
        Self {
            method: "POST",
            url,
            content_type: Some(content_type),
            body: Some(body),
            credentials,
            then,
            nonce: None,
        }
    }
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorCode::InvalidCallback, message)
}

/// `authorization_denied` with the server's error fields (RFC 6749
/// §4.1.2.1), when they conform to its character sets.
fn denied(error: ErrorBody) -> Error {
    let fields = error.into_fields();
    let message = msg!(
        "the authorization server refused the login with error \"",
        oauth_error::shown(fields.as_ref()),
        "\""
    );
    let err = Error::new(ErrorCode::AuthorizationDenied, message);
    match fields {
        Some(fields) => err.with_oauth(fields),
        None => err,
    }
}

/// Checks the callback against its flow in `flows` (the store the flow was
/// started in) and returns the next request; the flow it names is spent
/// (see the module docs).
pub fn complete(
    flows: &mut Flows,
    now: u64,
    config: &Config,
    callback_url: &str,
) -> Result<Request> {
    let kind = config.kind;
    // Step 1: spend every pending flow the callback names.
    let binding = if kind.uses_oauth_state() {
        "state"
    } else {
        NONCE_PARAM
    };
    let mut spent: Option<Result<FlowRecord>> = None;
    for value in values_of(callback_url, binding) {
        let taken = flow::take(flows, now, config.state_ttl_sec, &State::new(value));
        if !matches!(spent, Some(Ok(_))) {
            spent = Some(taken);
        }
    }
    let params = parse_callback(callback_url)?;
    // Step 1's outcome, for a callback that has the binding value.
    let record = || -> Result<FlowRecord> {
        let record = spent
            .clone()
            .unwrap_or_else(|| Err(invalid("the callback's state could not be read")))?;
        if record.profile != kind {
            return Err(invalid(
                "the callback belongs to a login flow of another profile: check that one client handles this page",
            ));
        }
        if kind == ProfileKind::OAuth2 && record.issuer.as_deref() != config.get("issuer") {
            // RFC 9700 §4.4: the code goes only to the issuer it was asked of.
            return Err(invalid(
                "the callback belongs to a login flow started for another issuer: the code is not sent to \
                 this client's endpoints (the client made for that server must handle this page)",
            ));
        }
        if let Some(expected) = &record.redirect_uri {
            // Matrix and oauth2 (the auth service returns to a `redirect`
            // that may be a path).
            let same_page = kind == ProfileKind::MiaAuthService
                || matches!((page_of(expected), page_of(callback_url)), (Some(e), Some(a)) if e == a);
            if !same_page {
                return Err(invalid(
                    "the callback arrived at a page other than the flow's redirectUri (compare origin and path): \
                     the code is not used",
                ));
            }
        }
        Ok(record)
    };
    let handoff = config.get("tokenHandoffUrl");
    match kind {
        ProfileKind::OAuth2 | ProfileKind::MiaConsole => {
            let Some(state) = &params.state else {
                if params.error.is_error() {
                    return Err(denied(params.error));
                }
                return Err(invalid(
                    "the callback has no state parameter: it was not started by this client, or the server dropped state",
                ));
            };
            let record = record()?;
            // The server said it always sends `iss` (discovery, RFC 9207 §3).
            let policy = if record.require_iss {
                IssPolicy::Require
            } else {
                config.iss_policy
            };
            check_iss(policy, record.issuer.as_deref(), params.iss.as_deref())?;
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            let Some(code) = &params.code else {
                return Err(invalid("the callback has neither code nor error"));
            };
            let redirect_uri = record.redirect_uri.as_deref().unwrap_or_default();
            let Some(url) = handoff else {
                // A public client (RFC 6749 §4.1.3, RFC 7636 §4.5).
                let mut form = vec![
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("client_id", config.get("clientId").unwrap_or_default()),
                ];
                if let Some(verifier) = &record.code_verifier {
                    form.push(("code_verifier", verifier));
                }
                let endpoint = config
                    .get("tokenEndpoint")
                    .or(record.token_endpoint.as_deref());
                let mut request = Request::post(
                    endpoint.unwrap_or_default().to_owned(),
                    "application/x-www-form-urlencoded",
                    form::serialize(&form),
                    "same-origin",
                    Then::Token,
                );
                request.nonce = record.nonce;
                return Ok(request);
            };
            let mut body = Obj::new().str("code", code).str("state", state);
            if kind == ProfileKind::OAuth2 {
                if let Some(verifier) = &record.code_verifier {
                    body = body.str("code_verifier", verifier);
                }
                body = body.str("redirect_uri", redirect_uri);
                if let Some(iss) = &params.iss {
                    body = body.str("iss", iss);
                }
                if let Some(nonce) = &record.nonce {
                    body = body.str("nonce", nonce);
                }
            }
            Ok(Request::post(
                url.to_owned(),
                JSON_TYPE,
                body.done(),
                "include",
                Then::Handoff,
            ))
        }
        ProfileKind::Matrix => {
            if params.nonce.is_none() {
                return Err(invalid(
                    "the Matrix callback lacks the flow nonce (ext_sso_nonce): it was not started by this client; \
                     the loginToken is not used",
                ));
            }
            record()?;
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            let Some(token) = &params.login_token else {
                return Err(invalid(
                    "the Matrix callback has no loginToken: the homeserver did not complete the login",
                ));
            };
            let body = token_login_body(token, None, None);
            Ok(match handoff {
                Some(url) => {
                    Request::post(url.to_owned(), JSON_TYPE, body, "include", Then::Handoff)
                }
                None => Request::post(
                    login_url(config.get("homeserverUrl").unwrap_or_default()),
                    JSON_TYPE,
                    body,
                    "same-origin",
                    Then::MatrixLogin,
                ),
            })
        }
        ProfileKind::MiaAuthService => {
            if params.nonce.is_some() {
                record()?;
                if params.code.is_some() || params.login_token.is_some() {
                    return Err(invalid(
                        "the callback carries both the flow nonce and a code: rejected as ambiguous",
                    ));
                }
                return Ok(Request::get(
                    auth_service::userinfo_url(config),
                    Then::AuthReturned,
                    "include",
                ));
            }
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            match (&params.code, &params.state) {
                (Some(code), Some(state)) => {
                    let body = Obj::new().str("state", state).str("code", code).done();
                    Ok(Request::post(auth_service::token_url(config), JSON_TYPE, body, "include", Then::AuthToken))
                }
                _ => Err(invalid(
                    "the auth-service callback needs code and state (from the identity provider) or the flow nonce",
                )),
            }
        }
    }
}

/// RFC 9207 §2.4: compare `iss` with the recorded issuer by simple string
/// comparison, according to the policy.
fn check_iss(policy: IssPolicy, expected: Option<&str>, received: Option<&str>) -> Result<()> {
    let mismatch = || {
        Error::new(
            ErrorCode::IssMismatch,
            "the callback's iss is not the configured issuer (RFC 9207): possible mix-up attack, the code is not used",
        )
    };
    match (policy, expected, received) {
        (IssPolicy::Off, _, _) => Ok(()),
        (IssPolicy::Require, _, None) => Err(Error::new(
            ErrorCode::IssMissing,
            "the callback has no iss parameter but issPolicy is 'require' (RFC 9207): the code is not used",
        )),
        (IssPolicy::Require, None, Some(_)) => Err(mismatch()),
        (_, Some(expected), Some(received)) if expected != received => Err(mismatch()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::oauth::authorize::start_flow;
    use crate::oauth::test_support::{config, SeqRandom, OAUTH2};

    /// A started flow's state (a distinct random sequence per flow).
    fn started(config: &Config, flows: &mut Flows) -> String {
        let random = SeqRandom::starting_at((flows.keys().len() as u8).wrapping_mul(67));
        start_flow(flows, 1000, &random, config)
            .unwrap()
            .state
            .expose_secret()
            .to_owned()
    }

    /// `complete` at 1001 s for `url`; a `url` starting with `?` or `#` is
    /// on the redirect page `https://ext.example/callback`.
    fn at(f: &mut Flows, c: &Config, url: &str) -> Result<Request> {
        let full = if url.starts_with(['?', '#']) {
            format!("https://ext.example/callback{url}")
        } else {
            url.to_owned()
        };
        complete(f, 1001, c, &full)
    }

    fn code(result: Result<Request>) -> ErrorCode {
        result.unwrap_err().code()
    }

    fn body(r: &Request) -> json::Object {
        json::parse(r.body.as_deref().unwrap())
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    }

    fn with(extra: &str) -> Config {
        config(&OAUTH2.replace("\"profile\"", &format!("{extra},\"profile\"")))
    }

    #[test]
    fn oauth2_handoff_body_and_one_time_use() {
        let mut f = Flows::default();
        let c = config(OAUTH2);
        let state = started(&c, &mut f);
        let url = format!("?code=c%2B1&state={state}&iss=https%3A%2F%2Fas.example");
        let r = at(&mut f, &c, &url).unwrap();
        assert_eq!(
            (r.method, r.url.as_str(), r.credentials, r.then),
            ("POST", "/api/sso/token", "include", Then::Handoff)
        );
        let b = body(&r);
        assert_eq!(b.get_str("code"), Some("c+1"));
        assert_eq!(b.get_str("state"), Some(state.as_str()));
        assert_eq!(b.get_str("code_verifier").map(str::len), Some(43));
        assert_eq!(
            b.get_str("redirect_uri"),
            Some("https://ext.example/callback")
        );
        assert_eq!(b.get_str("iss"), Some("https://as.example"));
        assert_eq!(b.len(), 5);
        assert!(!format!("{r:?}").contains("c+1"));
        assert_eq!(code(at(&mut f, &c, &url)), ErrorCode::StateReused);
    }

    #[test]
    fn openid_nonce_goes_to_the_backend_or_is_checked_by_a_public_client() {
        let c = with(r#""scope":"openid email""#);
        let mut f = Flows::default();
        let state = started(&c, &mut f);
        let r = at(&mut f, &c, &format!("?code=c&state={state}")).unwrap();
        assert_eq!(body(&r).get_str("nonce").map(str::len), Some(43));
        let public = config(&OAUTH2.replace(
            r#""tokenHandoffUrl":"/api/sso/token""#,
            r#""tokenEndpoint":"https://as.example/token","scope":"openid""#,
        ));
        let state = started(&public, &mut f);
        let r = at(&mut f, &public, &format!("?code=c&state={state}")).unwrap();
        assert_eq!(r.then, Then::Token);
        assert_eq!(r.nonce.as_deref().map(str::len), Some(43));
        assert!(!r.body.as_deref().unwrap().contains("nonce"));
    }

    #[test]
    fn a_flow_is_completed_only_by_a_client_of_its_issuer() {
        // Two oauth2 clients on one page and redirect URI (the user picks a
        // server), a server that sends no iss: the code of a flow started
        // for one issuer never goes to the other's endpoints (RFC 9700 §4.4).
        for other in [with(r#""issuer":"https://as.example""#), config(OAUTH2)] {
            let mut f = Flows::default();
            let chosen = with(r#""issuer":"https://other.example""#);
            let state = started(&chosen, &mut f);
            let url = format!("?code=c&state={state}");
            let err = at(&mut f, &other, &url).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidCallback);
            assert!(err.message().contains("issuer"), "{}", err.message());
            assert_eq!(code(at(&mut f, &chosen, &url)), ErrorCode::StateReused);
        }
        // Its own client completes it.
        let mut f = Flows::default();
        let c = with(r#""issuer":"https://as.example""#);
        let state = started(&c, &mut f);
        assert!(at(&mut f, &c, &format!("?code=c&state={state}")).is_ok());
    }

    #[test]
    fn state_rules() {
        let mut f = Flows::default();
        let c = config(OAUTH2);
        started(&c, &mut f);
        let err = at(&mut f, &c, "?code=c&state=XyZ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateUnknown);
        assert!(!err.message().contains("XyZ"));
        let state = started(&c, &mut f);
        let url = format!("https://ext.example/callback?code=c&state={state}");
        assert_eq!(
            code(complete(&mut f, 1600, &c, &url)),
            ErrorCode::StateExpired
        );
        let state = started(&c, &mut f);
        let url = format!("https://ext.example/callback?code=c&state={state}");
        assert!(complete(&mut f, 1599, &c, &url).is_ok());
        assert_eq!(code(at(&mut f, &c, "?code=c")), ErrorCode::InvalidCallback);
    }

    #[test]
    fn error_callbacks_spend_the_flow_and_carry_the_fields() {
        let mut f = Flows::default();
        let c = config(OAUTH2);
        let state = started(&c, &mut f);
        let url = format!("?error=access_denied&error_description=no+way&error_uri=https%3A%2F%2Fas%2Fe&state={state}");
        let err = at(&mut f, &c, &url).unwrap_err();
        assert_eq!(err.code(), ErrorCode::AuthorizationDenied);
        let fields = err.oauth().unwrap();
        assert_eq!(fields.error, "access_denied");
        assert_eq!(fields.error_description.as_deref(), Some("no way"));
        assert_eq!(code(at(&mut f, &c, &url)), ErrorCode::StateReused);
        // Without state: denied, nothing spent.
        assert_eq!(
            code(at(&mut f, &c, "?error=server_error")),
            ErrorCode::AuthorizationDenied
        );
        let err = at(&mut f, &c, "?error=a%22b").unwrap_err();
        assert!(err.message().ends_with("\"(unprintable)\"") && err.oauth().is_none());
    }

    #[test]
    fn iss_policies() {
        let mut f = Flows::default();
        let c = with(r#""issuer":"https://as.example""#);
        let state = started(&c, &mut f);
        let mixup = format!("?code=c&state={state}&iss=https%3A%2F%2Fevil.example");
        assert_eq!(code(at(&mut f, &c, &mixup)), ErrorCode::IssMismatch);
        let state = started(&c, &mut f);
        assert!(at(&mut f, &c, &format!("?code=c&state={state}")).is_ok());
        let strict = with(r#""issuer":"https://as.example","issPolicy":"require""#);
        let state = started(&strict, &mut f);
        assert_eq!(
            code(at(&mut f, &strict, &format!("?code=c&state={state}"))),
            ErrorCode::IssMissing
        );
        let off = with(r#""issuer":"https://as.example","issPolicy":"off""#);
        let state = started(&off, &mut f);
        assert!(at(&mut f, &off, &format!("?code=c&state={state}&iss=x")).is_ok());
    }

    #[test]
    fn the_callback_page_fragments_and_repeats() {
        let mut f = Flows::default();
        let c = config(OAUTH2);
        let state = started(&c, &mut f);
        let elsewhere = format!("https://ext.example/open-redirect?code=c&state={state}");
        assert!(at(&mut f, &c, &elsewhere)
            .unwrap_err()
            .message()
            .contains("redirectUri"));
        assert_eq!(
            code(at(&mut f, &c, &format!("?code=c&state={state}"))),
            ErrorCode::StateReused
        );
        for shape in [
            "HTTPS://EXT.example:443/callback?x=1&code=c&state={state}#frag",
            "#code=c&state={state}",
        ] {
            let state = started(&c, &mut f);
            assert!(
                at(&mut f, &c, &shape.replace("{state}", &state)).is_ok(),
                "{shape}"
            );
        }
        let state = started(&c, &mut f);
        assert_eq!(
            code(at(&mut f, &c, &format!("?code=c&state={state}#code=d"))),
            ErrorCode::InvalidCallback
        );
        assert_eq!(
            code(at(&mut f, &c, &format!("?code=c&state={state}"))),
            ErrorCode::StateReused
        );
    }

    #[test]
    fn public_client_and_console_requests() {
        let mut f = Flows::default();
        let c = Config::positional(
            "https://login.example.com",
            "ext-1",
            "https://ext.example/cb",
        )
        .unwrap();
        let state = started(&c, &mut f);
        let r = at(
            &mut f,
            &c,
            &format!("https://ext.example/cb?code=abc&state={state}"),
        )
        .unwrap();
        assert_eq!(r.url, "https://login.example.com/token");
        assert_eq!(r.content_type, Some("application/x-www-form-urlencoded"));
        let body = r.body.unwrap();
        assert!(body.starts_with("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fext.example%2Fcb&client_id=ext-1&code_verifier="), "{body}");

        let console = config(
            r#"{"profile":"mia-console","consoleUrl":"https://c.example","tenantId":"t","extensionId":"e","tokenHandoffUrl":"/api/token"}"#,
        );
        let state = started(&console, &mut f);
        let r = at(
            &mut f,
            &console,
            &format!("https://ext.example/cb?code=k&state={state}"),
        )
        .unwrap();
        assert_eq!(
            r.body.as_deref(),
            Some(format!(r#"{{"code":"k","state":"{state}"}}"#).as_str())
        );
    }

    #[test]
    fn matrix_nonce_binds_the_login_token() {
        let mut f = Flows::default();
        let c = config(
            r#"{"profile":"matrix","homeserverUrl":"https://m.example/","redirectUri":"https://ext.example/cb"}"#,
        );
        let nonce = started(&c, &mut f);
        assert_eq!(
            code(at(&mut f, &c, "https://ext.example/cb?loginToken=t")),
            ErrorCode::InvalidCallback
        );
        assert_eq!(
            code(at(
                &mut f,
                &c,
                "https://ext.example/cb?loginToken=t&ext_sso_nonce=forged"
            )),
            ErrorCode::StateUnknown
        );
        let url = format!("https://ext.example/cb?loginToken=t&ext_sso_nonce={nonce}");
        let r = at(&mut f, &c, &url).unwrap();
        assert_eq!(
            (r.url.as_str(), r.then),
            (
                "https://m.example/_matrix/client/v3/login",
                Then::MatrixLogin
            )
        );
        assert_eq!(
            r.body.as_deref(),
            Some(r#"{"type":"m.login.token","token":"t"}"#)
        );
        assert_eq!(code(at(&mut f, &c, &url)), ErrorCode::StateReused);
        // A state of an oauth2 flow is not a Matrix nonce.
        let state = started(&config(OAUTH2), &mut f);
        let foreign = format!("https://ext.example/cb?loginToken=t&ext_sso_nonce={state}");
        assert_eq!(code(at(&mut f, &c, &foreign)), ErrorCode::InvalidCallback);
    }

    #[test]
    fn auth_service_two_phases_and_nonce() {
        let mut f = Flows::default();
        let c = config(
            r#"{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth","appId":"a","providerId":"p","redirect":"/home"}"#,
        );
        let nonce = started(&c, &mut f);
        let r = at(
            &mut f,
            &c,
            "https://app.example/web-login/callback?code=k&state=s",
        )
        .unwrap();
        assert_eq!(
            (r.url.as_str(), r.then),
            ("https://app.example/auth/oauth/token", Then::AuthToken)
        );
        assert_eq!(r.body.as_deref(), Some(r#"{"state":"s","code":"k"}"#));
        assert!(
            f.take_writes().iter().all(|(k, _)| k.ends_with(&nonce)),
            "the web-login step spends no flow"
        );
        let back = format!("https://app.example/home?ext_sso_nonce={nonce}");
        let r = at(&mut f, &c, &back).unwrap();
        assert_eq!(
            (r.url.as_str(), r.then, r.method),
            (
                "https://app.example/auth/userinfo",
                Then::AuthReturned,
                "GET"
            )
        );
        assert_eq!(code(at(&mut f, &c, &back)), ErrorCode::StateReused);
        let nonce = started(&c, &mut f);
        assert_eq!(
            code(at(
                &mut f,
                &c,
                &format!("https://app.example/home?ext_sso_nonce={nonce}&code=x")
            )),
            ErrorCode::InvalidCallback
        );
        assert_eq!(
            code(at(
                &mut f,
                &c,
                "https://app.example/web-login/callback?code=k"
            )),
            ErrorCode::InvalidCallback
        );
    }
}
