//! The pure core of `createHandoffHandler` (see [`HandoffHandler`]): the
//! backend half of the login, which receives the browser client's handoff,
//! exchanges the code with the host and answers the token JSON or a session
//! cookie, plus a userinfo endpoint.
//!
//! - `request`: which endpoint, method and origin, the preflight, the
//!   handoff body, the userinfo token: everything decided before the body
//!   is read, then from it;
//! - `response`: the answers, and what each failure becomes (one
//!   exhaustive match from error code to HTTP status and log level);
//! - `cookie`: the session cookie of cookie mode.
//!
//! The core decides every answer; it performs no I/O. Its caller (the wasm
//! facade and `pkg-template/lib/server.js`, or a Rust server) reads the body
//! when asked, sends the exchange request, verifies the tokens (a
//! `JwksVerifier`), and reports failures to its error hook with the
//! [`Level`] the core gives.

mod cookie;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use cookie::{cookie_value, is_cookie_value, CookieConfig, SameSite, MAX_COOKIE_BYTES};
pub use request::parse_bearer;
pub use response::{Level, Rejection};

use super::exchange::{ExchangeProfile, TokenSet};
use super::flow::TokenFlow;
use super::http::{HttpResponseOut, Secret, DEFAULT_TIMEOUT_MS};
use crate::prelude::*;
use crate::protocol::url::UrlRule;
use crate::{Error, Result};

/// Default cap on the handoff request body (16 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;

/// Configuration of the handoff handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoffConfig {
    /// The host format and its exchange settings.
    pub profile: ExchangeProfile,
    /// The `redirect_uri` the client used (`oauth2` only). When set, a handoff
    /// carrying a different `redirect_uri` is refused; when unset, the
    /// handoff's `redirect_uri` is forwarded (the authorization server checks it).
    pub redirect_uri: Option<String>,
    /// Origins allowed to call the handler, compared exactly (RFC 6454 §4
    /// serialization, e.g. `chrome-extension://abcdef…` or `https://ext.example`).
    pub allowed_origins: Vec<String>,
    /// Cookie mode when set; token-JSON mode otherwise.
    pub session: Option<CookieConfig>,
    /// Largest accepted handoff body; default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// The handoff path; default `/token`; `None` accepts any path but the userinfo one.
    pub token_path: Option<String>,
    /// The userinfo path; default `/userinfo`; `None` disables the endpoint.
    pub userinfo_path: Option<String>,
    /// Timeout of the exchange request.
    pub timeout_ms: u32,
    /// `Access-Control-Max-Age` of preflight answers; default 600.
    pub cors_max_age_sec: u32,
    /// The URL rule of every URL: [`UrlRule::STRICT`] unless the caller
    /// opted out (`allowInsecureHttp`).
    pub rule: UrlRule,
    /// Also send the refresh token to the browser (token mode only).
    ///
    /// # Security warning
    /// A refresh token in browser storage outlives the access token that
    /// leaks with it (RFC 9700 §4.14). Leave this off unless the browser must refresh.
    pub insecure_expose_refresh_token: bool,
}

impl HandoffConfig {
    /// A configuration with the defaults: token mode, `/token`, `/userinfo`,
    /// 16 KiB body cap.
    pub fn new(profile: ExchangeProfile, allowed_origins: Vec<String>) -> Self {
        Self {
            profile,
            redirect_uri: None,
            allowed_origins,
            session: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            token_path: Some("/token".into()),
            userinfo_path: Some("/userinfo".into()),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            cors_max_age_sec: 600,
            rule: UrlRule::STRICT,
            insecure_expose_refresh_token: false,
        }
    }
}

/// What to do with a request, decided before its body is read
/// ([`HandoffHandler::route`]).
#[derive(Debug)]
pub enum Route {
    /// Send this response; the body is not needed.
    Respond(HttpResponseOut),
    /// Read the body (at most [`HandoffHandler::max_body_bytes`] + 1 bytes),
    /// then call [`HandoffHandler::handoff`].
    ReadHandoff(PendingHandoff),
    /// Verify [`UserInfoStep::token`], then call
    /// [`HandoffHandler::finish_userinfo`] (or [`HandoffHandler::userinfo_failed`]).
    UserInfo(UserInfoStep),
}

/// A handoff whose body is still to be read.
#[derive(Debug)]
pub struct PendingHandoff {
    origin: String,
}

/// What to do with a handoff once its body is read ([`HandoffHandler::handoff`]).
#[derive(Debug)]
pub enum HandoffStep {
    /// Send this response (the body was refused).
    Respond(HttpResponseOut),
    /// Drive [`ExchangeStep::flow`] to its end, take
    /// [`HandoffHandler::access_token`], verify it, and call
    /// [`HandoffHandler::finish_exchange`] (or [`HandoffHandler::exchange_failed`]).
    Exchange(Box<ExchangeStep>),
}

/// A pending code exchange.
#[derive(Debug)]
pub struct ExchangeStep {
    /// The exchange: discovery if needed, the token request, the ID Token
    /// (checked against the `nonce` the client sent with the handoff).
    pub flow: TokenFlow,
    /// The allowed origin that made the handoff.
    pub origin: String,
}

/// A pending userinfo request.
#[derive(Debug)]
pub struct UserInfoStep {
    token: Secret,
    from_cookie: bool,
    origin: Option<String>,
}

impl UserInfoStep {
    /// The access token to verify.
    ///
    /// # Security warning
    /// Do not log the returned string.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// True when the token came from the session cookie.
    pub fn from_cookie(&self) -> bool {
        self.from_cookie
    }

    /// The request's `Origin`, when it sent one (always an allowed one).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

/// A validated handoff handler.
///
/// The caller drives it as a small state machine and does all I/O:
///
/// ```text
/// route(method, path, headers)
///   Respond(resp)        → send resp
///   UserInfo(step)       → claims = verify(step.token())          (Err → userinfo_failed)
///                          send finish_userinfo(step, claims)     (Err → userinfo_failed)
///   ReadHandoff(pending) → body = read at most max_body_bytes + 1 bytes
///                          handoff(pending, body)
///     Respond(resp)      → send resp
///     Exchange(step)     → drive step.flow (fetches, ID Token)     (Err → exchange_failed)
///                          claims = verify(access_token(step))     (Err → exchange_failed)
///                          send finish_exchange(step, claims, now) (Err → exchange_failed)
/// ```
///
/// # Routes
/// * Token path (default `/token`; [`HandoffConfig::token_path`] `None` = any
///   path but the userinfo one): `POST` a JSON handoff
///   `{code, state, code_verifier?, redirect_uri?, nonce?, iss?}` (other
///   members are ignored); in cookie mode `DELETE` logs out (clears the cookie).
/// * Userinfo path (default `/userinfo`): `GET` with the session cookie or an
///   `Authorization: Bearer` header (RFC 6750 §2.1; the header wins) answers
///   the verified claims.
/// * `OPTIONS` answers CORS preflights (Fetch standard §3.2) for allowed origins.
///
/// # Checks, in order
/// Before the body: unknown path → 404 (naming the paths served); method →
/// 405 with `Allow`; `Origin` not in the allow-list → 403 (the token path
/// requires an `Origin`, which browsers always send on a cross-origin or
/// POST fetch; userinfo accepts its absence, as same-origin GETs omit it);
/// `Content-Length` over [`HandoffConfig::max_body_bytes`] → 413;
/// `Content-Type` not `application/json` → 415. Then: a body over the cap →
/// 413; bad JSON or a missing `code`/`state` → 400.
///
/// Every response carries `Cache-Control: no-store` (RFC 6749 §5.1),
/// `Vary: Origin`, and, for an allowed origin,
/// `Access-Control-Allow-Origin: <origin>` with
/// `Access-Control-Allow-Credentials: true`. Error bodies are
/// `{"error": code, "error_description": text}` and never contain tokens,
/// codes or the host's own error text.
///
/// # Refresh tokens
/// The refresh token stays on the server: it is never sent to the browser
/// (neither in the JSON nor in a cookie) unless
/// [`HandoffConfig::insecure_expose_refresh_token`] is set, because it would
/// turn a short-lived leak into a long-lived one (RFC 9700 §4.14). A backend
/// that needs it should call `exchangeCode` itself.
#[derive(Clone, Debug)]
pub struct HandoffHandler {
    config: HandoffConfig,
}

impl HandoffHandler {
    /// Validates `config`: profile URLs and client settings, origins, paths,
    /// cookie attributes and limits.
    pub fn new(config: HandoffConfig) -> Result<Self> {
        config.profile.validate(config.rule)?;
        if config.allowed_origins.is_empty() {
            return Err(Error::options(
                "allowedOrigins is empty: list the extension origins allowed to hand off codes (e.g. \"chrome-extension://<id>\")",
            ));
        }
        for origin in &config.allowed_origins {
            request::validate_origin(origin)?;
        }
        for (option, path) in [
            ("tokenPath", &config.token_path),
            ("userinfoPath", &config.userinfo_path),
        ] {
            if let Some(path) = path {
                if !path.starts_with('/') || path.contains(['?', '#']) {
                    return Err(Error::options(msg!(
                        option,
                        " must be a path starting with / and without query or fragment"
                    )));
                }
            }
        }
        if config.token_path.is_some() && config.token_path == config.userinfo_path {
            return Err(Error::options("tokenPath and userinfoPath must differ"));
        }
        if !(256..=1024 * 1024).contains(&config.max_body_bytes) {
            return Err(Error::options(
                "maxBodyBytes must be between 256 and 1048576",
            ));
        }
        if let Some(cookie) = &config.session {
            cookie.validate()?;
        }
        if let Some(uri) = &config.redirect_uri {
            if uri.is_empty() {
                return Err(Error::options("redirectUri must not be empty"));
            }
        }
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &HandoffConfig {
        &self.config
    }

    /// The body cap: read at most this many bytes plus one of a handoff body.
    pub fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    /// The access token to verify once [`ExchangeStep::flow`] is done. An
    /// access token that is not a compact JWS is refused here (`malformed`),
    /// with a message saying what to change on the host: the handler
    /// verifies JWT access tokens (RFC 9068), and an opaque token would fail
    /// verification with nothing to say why.
    pub fn access_token<'s>(&self, step: &'s ExchangeStep) -> Result<&'s str> {
        let tokens = exchanged(step)?;
        if !is_compact_jws(&tokens.access_token) {
            return Err(Error::malformed(
                "the host issued an access token that is not a JWT (a compact JWS, header.payload.signature): \
                 the handoff handler verifies JWT access tokens (RFC 9068). Configure the host to issue JWT \
                 access tokens for this client (e.g. oidc-provider: features.resourceIndicators with \
                 accessTokenFormat 'jwt'; most hosts: an API/resource whose token format is JWT), or \
                 call exchangeCode() yourself if the host only issues opaque tokens",
            ));
        }
        Ok(&tokens.access_token)
    }
}

/// The tokens of a finished exchange.
fn exchanged(step: &ExchangeStep) -> Result<&TokenSet> {
    step.flow
        .tokens()
        .ok_or_else(|| Error::options("the exchange is not finished: drive its flow to the end"))
}

/// Three dot-separated segments of base64url characters, the first two
/// non-empty (RFC 7515 §7.1): the shape of a JWS, checked before verification
/// so an opaque token gets its own message.
fn is_compact_jws(token: &str) -> bool {
    let mut segments = token.split('.');
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(header), Some(payload), Some(signature), None) => {
            !header.is_empty()
                && !payload.is_empty()
                && base64url(header)
                && base64url(payload)
                && base64url(signature)
        }
        _ => false,
    }
}
