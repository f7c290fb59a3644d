//! The pure core of `createHandoffHandler` (see [`HandoffHandler`]).

use super::exchange::{
    check_code_verifier, exchange_code_request, parse_exchange_response, ExchangeOptions,
    ExchangeProfile, TokenSet,
};
use super::http::{
    find_header, HttpRequest, HttpResponse, HttpResponseOut, Secret, DEFAULT_TIMEOUT_MS,
};
use super::identity::{Identity, IdentitySource};
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Default cap on the handoff request body (16 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;

/// Largest `name=value` a session cookie may have: browsers drop longer ones
/// silently (RFC 6265 §6.1 only guarantees 4096 bytes).
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The `SameSite` cookie attribute (RFC 6265bis §4.1.2.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SameSite {
    /// `Strict`: never sent on cross-site requests.
    Strict,
    /// `Lax` (default): sent on same-site requests and top-level navigations.
    #[default]
    Lax,
    /// `None`: sent on cross-site requests too (needed when the extension page
    /// and this backend are on different sites); requires `Secure`.
    None,
}

impl SameSite {
    /// Parses `strict`, `lax` or `none` (any case).
    pub fn parse(value: &str) -> Result<Self> {
        if value.eq_ignore_ascii_case("strict") {
            Ok(Self::Strict)
        } else if value.eq_ignore_ascii_case("lax") {
            Ok(Self::Lax)
        } else if value.eq_ignore_ascii_case("none") {
            Ok(Self::None)
        } else {
            Err(Error::options(
                "session.sameSite must be \"Strict\", \"Lax\" or \"None\"",
            ))
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// Session-cookie mode (seed 004 style): the access token goes into an
/// `HttpOnly` cookie instead of the response body (RFC 6265 §4.1).
///
/// The cookie is host-only (no `Domain`). Its `Max-Age` follows the
/// verified token's `exp` (else `expires_in`); without either it is a
/// session cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    /// Cookie name; default `sid` (seed 004). `__Host-` names are allowed
    /// and checked (Secure, `Path=/`).
    pub name: String,
    /// `Secure`; default true. Turning it off is only for http://localhost development.
    pub secure: bool,
    /// `SameSite`; default `Lax`. `None` requires `secure`.
    pub same_site: SameSite,
    /// `Path`; default `/`.
    pub path: String,
    /// `Partitioned` (CHIPS), for a backend used from a cross-site iframe
    /// where third-party cookies are blocked; requires `secure`.
    pub partitioned: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: "sid".into(),
            secure: true,
            same_site: SameSite::Lax,
            path: "/".into(),
            partitioned: false,
        }
    }
}

impl CookieConfig {
    fn validate(&self) -> Result<()> {
        if !is_http_token(&self.name) {
            return Err(Error::options(
                "session.cookie must be a cookie name: letters, digits and !#$%&'*+-.^_`|~ (RFC 6265 §4.1.1)",
            ));
        }
        if !self.path.starts_with('/')
            || self
                .path
                .bytes()
                .any(|b| b < 0x20 || b == 0x7f || b == b';')
        {
            return Err(Error::options(
                "session.path must start with / and contain no ';' or control characters",
            ));
        }
        if !self.secure {
            if self.same_site == SameSite::None {
                return Err(Error::options(
                    "session.sameSite \"None\" requires secure: true",
                ));
            }
            if self.partitioned {
                return Err(Error::options("session.partitioned requires secure: true"));
            }
            if self.name.starts_with("__Secure-") || self.name.starts_with("__Host-") {
                return Err(Error::options(
                    "a __Secure- or __Host- cookie name requires secure: true",
                ));
            }
        }
        if self.name.starts_with("__Host-") && self.path != "/" {
            return Err(Error::options("a __Host- cookie name requires path \"/\""));
        }
        Ok(())
    }

    fn set_cookie(&self, value: &str, max_age: Option<u64>) -> String {
        let mut out = format!("{}={}; Path={}", self.name, value, self.path);
        if let Some(max_age) = max_age {
            out.push_str(&format!("; Max-Age={max_age}"));
        }
        out.push_str("; HttpOnly");
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; SameSite=");
        out.push_str(self.same_site.as_str());
        if self.partitioned {
            out.push_str("; Partitioned");
        }
        out
    }
}

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
            insecure_expose_refresh_token: false,
        }
    }
}

/// What the facade must do next for one incoming request.
#[derive(Debug)]
pub enum HandlerStep {
    /// Send this response.
    Respond(HttpResponseOut),
    /// Perform `request`, then call [`HandoffHandler::parse_exchange`] and
    /// [`HandoffHandler::finish_exchange`] (or [`HandoffHandler::exchange_failed`]).
    Exchange(ExchangeStep),
    /// Verify [`UserInfoStep::token`], then call
    /// [`HandoffHandler::finish_userinfo`] (or [`HandoffHandler::userinfo_failed`]).
    UserInfo(UserInfoStep),
}

/// A pending code exchange.
#[derive(Debug)]
pub struct ExchangeStep {
    /// The request to send to the host's token endpoint.
    pub request: HttpRequest,
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

/// A validated handoff handler: the core of `createHandoffHandler`, which
/// receives the browser client's handoff, exchanges the code, and answers
/// with the token JSON or a session cookie, plus a `userinfo` endpoint.
///
/// The facade drives it as a small state machine and does all I/O:
///
/// ```text
/// step = handler.route(method, path, headers, body)
/// Respond(resp)      → send resp
/// Exchange(step)     → resp = fetch(step.request)
///                      tokens = handler.parse_exchange(resp)          (Err → exchange_failed)
///                      claims = JwksVerifier.verify(tokens.access_token) (Err → exchange_failed)
///                      send handler.finish_exchange(step, tokens, claims, now)
/// UserInfo(step)     → claims = JwksVerifier.verify(step.token())     (Err → userinfo_failed)
///                      send handler.finish_userinfo(step, claims)
/// ```
///
/// # Routes
/// * Token path (default `/token`; [`HandoffConfig::token_path`] `None` = any
///   path but the userinfo one): `POST` a JSON handoff
///   `{code, state, code_verifier?, redirect_uri?, iss?}` (other members are
///   ignored); in cookie mode `DELETE` logs out (clears the cookie).
/// * Userinfo path (default `/userinfo`): `GET` with the session cookie or an
///   `Authorization: Bearer` header (RFC 6750 §2.1; the header wins) answers
///   the verified claims.
/// * `OPTIONS` answers CORS preflights (Fetch standard §3.2) for allowed origins.
///
/// # Checks, in order
/// unknown path → 404; method → 405 with `Allow`; `Origin` not in the
/// allow-list → 403 (the token path requires an `Origin`, which browsers
/// always send on a cross-origin or POST fetch; userinfo accepts its absence,
/// as same-origin GETs omit it); `Content-Length` or body over
/// [`HandoffConfig::max_body_bytes`] → 413; `Content-Type` not
/// `application/json` → 415; bad JSON or a missing `code`/`state` → 400.
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
        config.profile.validate()?;
        if config.allowed_origins.is_empty() {
            return Err(Error::options(
                "allowedOrigins is empty: list the extension origins allowed to hand off codes (e.g. \"chrome-extension://<id>\")",
            ));
        }
        for origin in &config.allowed_origins {
            validate_origin(origin)?;
        }
        for (option, path) in [
            ("tokenPath", &config.token_path),
            ("userinfoPath", &config.userinfo_path),
        ] {
            if let Some(path) = path {
                if !path.starts_with('/') || path.contains(['?', '#']) {
                    return Err(Error::options(format!(
                        "{option} must be a path starting with / and without query or fragment"
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

    /// The body cap: read at most this many bytes plus one before calling [`Self::route`].
    pub fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    /// Decides what to do with one request. `path` is the URL path without
    /// query; `body` is the (capped) request content.
    pub fn route(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> HandlerStep {
        let origin_header = find_header(headers, "origin");
        let allowed_origin = origin_header.filter(|o| self.is_allowed(o));
        let cors = allowed_origin;
        let is_userinfo = self.config.userinfo_path.as_deref() == Some(path);
        let is_token = !is_userinfo
            && match &self.config.token_path {
                Some(token_path) => token_path == path,
                None => true,
            };
        if !is_userinfo && !is_token {
            return respond(error_response(404, "not_found", "no such endpoint", cors));
        }
        let allow = if is_userinfo {
            "GET, OPTIONS"
        } else if self.config.session.is_some() {
            "POST, DELETE, OPTIONS"
        } else {
            "POST, OPTIONS"
        };
        let method_allowed = match method {
            "OPTIONS" => true,
            "GET" => is_userinfo,
            "POST" => is_token,
            "DELETE" => is_token && self.config.session.is_some(),
            _ => false,
        };
        if !method_allowed {
            let mut response = error_response(
                405,
                "method_not_allowed",
                &format!("use one of: {allow}"),
                cors,
            );
            response.headers.push(("Allow".into(), allow.into()));
            return respond(response);
        }
        if origin_header.is_some() && allowed_origin.is_none() {
            return respond(error_response(
                403,
                "origin_not_allowed",
                "this origin is not allowed to call the handler; add it to allowedOrigins",
                None,
            ));
        }
        if method == "OPTIONS" {
            return respond(self.preflight(allowed_origin, allow, is_userinfo));
        }
        if is_userinfo {
            return self.userinfo(headers, allowed_origin);
        }
        let Some(origin) = allowed_origin else {
            return respond(error_response(
                403,
                "origin_not_allowed",
                "the request has no Origin header; the handoff must come from an allowed browser origin",
                None,
            ));
        };
        if method == "DELETE" {
            return respond(self.logout(origin));
        }
        self.handoff(headers, body, origin)
    }

    fn is_allowed(&self, origin: &str) -> bool {
        self.config.allowed_origins.iter().any(|o| o == origin)
    }

    fn preflight(&self, origin: Option<&str>, allow: &str, is_userinfo: bool) -> HttpResponseOut {
        let Some(origin) = origin else {
            // OPTIONS without Origin is not a CORS preflight.
            let mut response = base_response(204, String::new(), None);
            response.headers.push(("Allow".into(), allow.into()));
            return response;
        };
        let mut response = base_response(204, String::new(), Some(origin));
        let (methods, request_headers) = if is_userinfo {
            ("GET", "Authorization")
        } else if self.config.session.is_some() {
            ("POST, DELETE", "Content-Type")
        } else {
            ("POST", "Content-Type")
        };
        response.headers.extend([
            (
                "Access-Control-Allow-Methods".to_owned(),
                methods.to_owned(),
            ),
            (
                "Access-Control-Allow-Headers".to_owned(),
                request_headers.to_owned(),
            ),
            (
                "Access-Control-Max-Age".to_owned(),
                self.config.cors_max_age_sec.to_string(),
            ),
        ]);
        response
    }

    fn handoff(&self, headers: &[(String, String)], body: &[u8], origin: &str) -> HandlerStep {
        let cors = Some(origin);
        let max = self.config.max_body_bytes;
        let declared_too_large = find_header(headers, "content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|len| len > max as u64);
        if declared_too_large || body.len() > max {
            return respond(error_response(
                413,
                "payload_too_large",
                &format!("the handoff body is larger than {max} bytes"),
                cors,
            ));
        }
        let is_json = find_header(headers, "content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return respond(error_response(
                415,
                "unsupported_media_type",
                "send the handoff as Content-Type: application/json",
                cors,
            ));
        }
        match self.exchange_request(body) {
            Ok(request) => HandlerStep::Exchange(ExchangeStep {
                request,
                origin: origin.to_owned(),
            }),
            Err(description) => respond(error_response(400, "invalid_request", &description, cors)),
        }
    }

    /// Reads the handoff body and builds the exchange; `Err` is a 400 description.
    fn exchange_request(&self, body: &[u8]) -> core::result::Result<HttpRequest, String> {
        let Ok(Value::Object(handoff)) = json::parse_bytes(body) else {
            return Err("the handoff body must be a JSON object".into());
        };
        let member = |name: &str| -> core::result::Result<Option<&str>, String> {
            match handoff.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(format!("\"{name}\" must be a string")),
            }
        };
        let code = member("code")?
            .filter(|c| !c.is_empty())
            .ok_or("\"code\" is required")?;
        let state = member("state")?
            .filter(|s| !s.is_empty())
            .ok_or("\"state\" is required")?;
        let code_verifier = member("code_verifier")?;
        let sent_redirect_uri = member("redirect_uri")?;
        let mut options = ExchangeOptions::new(self.config.profile.clone(), code);
        options.state = Some(state.into());
        options.timeout_ms = self.config.timeout_ms;
        if let ExchangeProfile::OAuth2(_) = self.config.profile {
            if let Some(verifier) = code_verifier {
                check_code_verifier(verifier).map_err(|_| {
                    "\"code_verifier\" must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"
                })?;
                options.code_verifier = Some(verifier.into());
            }
            options.redirect_uri = match (&self.config.redirect_uri, sent_redirect_uri) {
                (Some(expected), Some(sent)) if expected != sent => {
                    return Err("\"redirect_uri\" does not match the configured redirectUri".into())
                }
                (Some(expected), _) => Some(expected.clone()),
                (None, Some(sent)) if !sent.is_empty() => Some(sent.to_owned()),
                (None, _) => return Err("\"redirect_uri\" is required".into()),
            };
        }
        exchange_code_request(&options).map_err(|e| e.message().to_owned())
    }

    fn userinfo(&self, headers: &[(String, String)], origin: Option<&str>) -> HandlerStep {
        let from_header = match find_header(headers, "authorization") {
            Some(value) => match parse_bearer(value) {
                Some(token) => Some(token),
                None => {
                    let mut response = error_response(
                        400,
                        "invalid_request",
                        "the Authorization header must be \"Bearer <token>\" (RFC 6750 §2.1)",
                        origin,
                    );
                    response.headers.push((
                        "WWW-Authenticate".into(),
                        "Bearer error=\"invalid_request\"".into(),
                    ));
                    return respond(response);
                }
            },
            None => None,
        };
        let (token, from_cookie) = match from_header {
            Some(token) => (token, false),
            None => match self.session_cookie(headers) {
                Some(token) => (token, true),
                None => {
                    let mut response = error_response(
                        401,
                        "not_logged_in",
                        "no session: log in first, then send the session cookie or an Authorization: Bearer header",
                        origin,
                    );
                    response
                        .headers
                        .push(("WWW-Authenticate".into(), "Bearer".into()));
                    return respond(response);
                }
            },
        };
        HandlerStep::UserInfo(UserInfoStep {
            token: Secret::new(token),
            from_cookie,
            origin: origin.map(str::to_owned),
        })
    }

    fn session_cookie<'h>(&self, headers: &'h [(String, String)]) -> Option<&'h str> {
        let cookie = self.config.session.as_ref()?;
        headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
            .find_map(|(_, value)| cookie_value(value, &cookie.name))
    }

    fn logout(&self, origin: &str) -> HttpResponseOut {
        let mut response = base_response(204, String::new(), Some(origin));
        if let Some(cookie) = &self.config.session {
            response
                .headers
                .push(("Set-Cookie".into(), cookie.set_cookie("", Some(0))));
        }
        response
    }

    /// Parses the host's answer to [`ExchangeStep::request`] for the configured profile.
    pub fn parse_exchange(&self, response: &HttpResponse) -> Result<TokenSet> {
        parse_exchange_response(&self.config.profile, response)
    }

    /// Answers a successful handoff. `claims_json` is the verified access
    /// token's claims as JSON text; `now_sec` the current time.
    ///
    /// Token mode: `200 {access_token, token_type: "Bearer", expires_in?,
    /// id_token?, scope?, identity}`. Cookie mode: `200 {identity, expires_in?}`
    /// with `Set-Cookie: <name>=<token>; Path=…; Max-Age=…; HttpOnly; Secure; SameSite=…`.
    /// A token that is not a valid cookie value (RFC 6265 §4.1.1) or too large
    /// for a cookie is refused with 502 rather than stored.
    pub fn finish_exchange(
        &self,
        step: &ExchangeStep,
        tokens: &TokenSet,
        claims_json: &str,
        now_sec: u64,
    ) -> HttpResponseOut {
        let cors = Some(step.origin.as_str());
        let Ok(Value::Object(claims)) = json::parse(claims_json) else {
            return error_response(
                500,
                "server_error",
                "the verified claims are not a JSON object",
                cors,
            );
        };
        let expires_in = match claims.get("exp") {
            Some(exp) => match exp.as_f64().filter(|e| e.is_finite() && *e >= 0.0) {
                Some(exp) if exp as u64 > now_sec => Some(exp as u64 - now_sec),
                _ => {
                    return error_response(
                        401,
                        "invalid_token",
                        "the access token has already expired",
                        cors,
                    )
                }
            },
            None => tokens.lifetime_sec(now_sec, now_sec),
        };
        let identity = Identity::new(claims, IdentitySource::AccessToken, true);
        let identity_value =
            json::parse(&identity.profile_json()).unwrap_or(Value::Object(Object::default()));
        let mut body = Object::default();
        if let Some(cookie) = &self.config.session {
            let token = tokens.access_token.as_str();
            if !is_cookie_value(token) {
                return error_response(
                    502,
                    "token_endpoint_error",
                    "the host issued an access token that is not a valid cookie value; use token mode",
                    cors,
                );
            }
            if cookie
                .name
                .len()
                .saturating_add(token.len())
                .saturating_add(1)
                > MAX_COOKIE_BYTES
            {
                return error_response(
                    502,
                    "token_endpoint_error",
                    "the access token is too large for a cookie (over 4096 bytes); use token mode",
                    cors,
                );
            }
            body.insert("identity", identity_value);
            if let Some(expires_in) = expires_in {
                body.insert("expires_in", Value::Number(expires_in as f64));
            }
            let mut response = base_response(200, Value::Object(body).to_json(), cors);
            response
                .headers
                .push(("Set-Cookie".into(), cookie.set_cookie(token, expires_in)));
            return response;
        }
        body.insert("access_token", Value::String(tokens.access_token.clone()));
        body.insert("token_type", Value::String("Bearer".into()));
        if let Some(expires_in) = expires_in {
            body.insert("expires_in", Value::Number(expires_in as f64));
        }
        if let Some(id_token) = &tokens.id_token {
            body.insert("id_token", Value::String(id_token.clone()));
        }
        if let Some(scope) = &tokens.scope {
            body.insert("scope", Value::String(scope.clone()));
        }
        if self.config.insecure_expose_refresh_token {
            if let Some(refresh_token) = &tokens.refresh_token {
                body.insert("refresh_token", Value::String(refresh_token.clone()));
            }
        }
        body.insert("identity", identity_value);
        base_response(200, Value::Object(body).to_json(), cors)
    }

    /// Answers a failed exchange or verification:
    /// * the host refused the code (`invalid_grant`, Matrix `M_FORBIDDEN`) → 401 `invalid_grant`;
    /// * the token failed verification → 401 `invalid_token`;
    /// * the host or its JWKS failed, answered garbage, or refused our client → 502
    ///   (`token_endpoint_error`, `network_error`, `jwks_fetch_failed`, `jwks_invalid`),
    ///   with `"retryable": true` when retrying may help;
    /// * anything else → 500 `server_error`.
    pub fn exchange_failed(&self, step: &ExchangeStep, error: &Error) -> HttpResponseOut {
        failure_response(error, Some(step.origin.as_str()))
    }

    /// Answers a userinfo request with the verified claims (`claims_json`).
    pub fn finish_userinfo(&self, step: &UserInfoStep, claims_json: &str) -> HttpResponseOut {
        let cors = step.origin();
        match json::parse(claims_json) {
            Ok(claims @ Value::Object(_)) => base_response(200, claims.to_json(), cors),
            _ => error_response(
                500,
                "server_error",
                "the verified claims are not a JSON object",
                cors,
            ),
        }
    }

    /// Answers a userinfo request whose token failed verification: 401 with
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1), clearing
    /// the session cookie when the token came from it; 502 when the JWKS could
    /// not be fetched.
    pub fn userinfo_failed(&self, step: &UserInfoStep, error: &Error) -> HttpResponseOut {
        let mut response = failure_response(error, step.origin());
        if response.status == 401 {
            response.headers.push((
                "WWW-Authenticate".into(),
                "Bearer error=\"invalid_token\"".into(),
            ));
            if step.from_cookie {
                if let Some(cookie) = &self.config.session {
                    response
                        .headers
                        .push(("Set-Cookie".into(), cookie.set_cookie("", Some(0))));
                }
            }
        }
        response
    }
}

fn respond(response: HttpResponseOut) -> HandlerStep {
    HandlerStep::Respond(response)
}

fn failure_response(error: &Error, cors: Option<&str>) -> HttpResponseOut {
    use ErrorCode as C;
    let code = error.code();
    let oauth_error = error.oauth().map(|o| o.error.as_str());
    let (status, name, description): (u16, &str, String) = match code {
        C::TokenEndpointError
            if matches!(oauth_error, Some("invalid_grant") | Some("M_FORBIDDEN")) =>
        {
            (
                401,
                "invalid_grant",
                "the host refused the authorization code (invalid, expired or already used): log in again".into(),
            )
        }
        C::TokenEndpointError => (
            502,
            "token_endpoint_error",
            "the host's token endpoint refused or failed the exchange; see the server logs".into(),
        ),
        C::NetworkError => (
            502,
            "network_error",
            "the host could not be reached; retry later".into(),
        ),
        C::JwksFetchFailed | C::JwksInvalid => (
            502,
            code.as_str(),
            "the host's signing keys could not be loaded; retry later".into(),
        ),
        C::Malformed
        | C::AlgNotAllowed
        | C::NoMatchingKey
        | C::BadSignature
        | C::Expired
        | C::NotYetValid
        | C::IssuerMismatch
        | C::AudienceMismatch
        | C::MissingClaim
        | C::InvalidClaim
        | C::TypMismatch
        | C::CritUnsupported => (
            401,
            "invalid_token",
            format!("the access token failed verification ({})", code.as_str()),
        ),
        _ => (500, "server_error", "the handler failed; see the server logs".into()),
    };
    let mut response = error_response(status, name, &description, cors);
    if error.is_retryable() && status >= 500 {
        // Re-render with the retryable flag so clients can back off and retry.
        let mut body = Object::default();
        body.insert("error", Value::String(name.into()));
        body.insert("error_description", Value::String(description));
        body.insert("retryable", Value::Bool(true));
        response.body = Value::Object(body).to_json();
    }
    response
}

/// A response with the headers every answer carries.
fn base_response(status: u16, body: String, cors_origin: Option<&str>) -> HttpResponseOut {
    let mut headers = Vec::with_capacity(8);
    if !body.is_empty() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    headers.push(("Cache-Control".to_owned(), "no-store".to_owned()));
    headers.push(("X-Content-Type-Options".to_owned(), "nosniff".to_owned()));
    headers.push(("Vary".to_owned(), "Origin".to_owned()));
    if let Some(origin) = cors_origin {
        headers.push(("Access-Control-Allow-Origin".to_owned(), origin.to_owned()));
        headers.push((
            "Access-Control-Allow-Credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    HttpResponseOut {
        status,
        headers,
        body,
    }
}

fn error_response(
    status: u16,
    error: &str,
    description: &str,
    cors: Option<&str>,
) -> HttpResponseOut {
    let mut body = Object::default();
    body.insert("error", Value::String(error.into()));
    body.insert("error_description", Value::String(description.into()));
    base_response(status, Value::Object(body).to_json(), cors)
}

/// RFC 6454 §6.2 ASCII serialization: `scheme://host[:port]`, lowercase, no
/// path, no trailing slash.
fn validate_origin(origin: &str) -> Result<()> {
    let invalid = || {
        Error::options(
            "each allowedOrigins entry must be an origin such as \"chrome-extension://<id>\" or \"https://ext.example\": lowercase scheme://host[:port], no path, no trailing slash, no wildcard",
        )
    };
    // No scheme has a ':', so this is `split_once("://")`.
    let (scheme, authority) = crate::oauth::split_scheme(origin).ok_or_else(invalid)?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    let authority_ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]_".contains(&b));
    if scheme_ok && authority_ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// RFC 9110 §5.6.2 `token` (also RFC 6265's cookie-name).
fn is_http_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 §4.1.1 `cookie-octet`: no CTLs, whitespace, DQUOTE, comma,
/// semicolon or backslash; so a value cannot add attributes or cookies.
pub fn is_cookie_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e))
}

/// The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: pairs
/// separated by `; `, optional DQUOTEs around the value). The first match
/// wins (the most specific path comes first); invalid values are skipped.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        if key.trim() != name {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        is_cookie_value(value).then_some(value)
    })
}

/// The token of `Authorization: Bearer <b64token>` (RFC 6750 §2.1; the scheme
/// is case-insensitive, RFC 9110 §11.1).
pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_start();
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    valid.then_some(token)
}

#[cfg(test)]
mod tests {
    use super::super::exchange::ClientAuth;
    use super::super::exchange::OAuth2Client;
    use super::*;

    const EXT: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn console_config() -> HandoffConfig {
        HandoffConfig::new(
            ExchangeProfile::MiaConsole {
                console_url: "https://console.example".into(),
            },
            vec![EXT.into(), "https://ext.example".into()],
        )
    }

    fn oauth2_config() -> HandoffConfig {
        let mut config = HandoffConfig::new(
            ExchangeProfile::OAuth2(OAuth2Client {
                token_endpoint: "https://as.example/token".into(),
                client_id: "ext".into(),
                client_secret: Some("secret".into()),
                client_auth: ClientAuth::ClientSecretBasic,
            }),
            vec![EXT.into()],
        );
        config.redirect_uri = Some("https://ext.example/cb".into());
        config
    }

    fn cookie_handler() -> HandoffHandler {
        let mut config = console_config();
        config.session = Some(CookieConfig::default());
        HandoffHandler::new(config).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn json_post(origin: &str) -> Vec<(String, String)> {
        headers(&[
            ("Origin", origin),
            ("Content-Type", "application/json; charset=utf-8"),
        ])
    }

    fn response(step: HandlerStep) -> HttpResponseOut {
        match step {
            HandlerStep::Respond(response) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    fn error_of(response: &HttpResponseOut) -> String {
        let Value::Object(body) = json::parse(&response.body).unwrap() else {
            panic!()
        };
        body.get_str("error").unwrap().to_owned()
    }

    fn assert_common_headers(response: &HttpResponseOut) {
        assert_eq!(
            response.header("cache-control"),
            Some("no-store"),
            "{response:?}"
        );
        assert_eq!(response.header("vary"), Some("Origin"));
    }

    /// method, path, headers, body, expected status, expected `error`.
    type RouteCase = (
        &'static str,
        &'static str,
        Vec<(String, String)>,
        Vec<u8>,
        u16,
        &'static str,
    );

    #[test]
    fn routing_table() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let ok_body = br#"{"code":"c","state":"s"}"#;
        let cases: Vec<RouteCase> = vec![
            (
                "GET",
                "/token",
                json_post(EXT),
                vec![],
                405,
                "method_not_allowed",
            ),
            (
                "PUT",
                "/userinfo",
                json_post(EXT),
                vec![],
                405,
                "method_not_allowed",
            ),
            (
                "DELETE",
                "/token",
                json_post(EXT),
                vec![],
                405,
                "method_not_allowed",
            ),
            (
                "POST",
                "/other",
                json_post(EXT),
                ok_body.to_vec(),
                404,
                "not_found",
            ),
            (
                "POST",
                "/token",
                json_post("https://evil.example"),
                ok_body.to_vec(),
                403,
                "origin_not_allowed",
            ),
            (
                "POST",
                "/token",
                json_post("null"),
                ok_body.to_vec(),
                403,
                "origin_not_allowed",
            ),
            (
                "POST",
                "/token",
                headers(&[("Content-Type", "application/json")]),
                ok_body.to_vec(),
                403,
                "origin_not_allowed",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                vec![b' '; DEFAULT_MAX_BODY_BYTES + 1],
                413,
                "payload_too_large",
            ),
            (
                "POST",
                "/token",
                headers(&[
                    ("Origin", EXT),
                    ("Content-Type", "application/json"),
                    ("Content-Length", "99999999"),
                ]),
                ok_body.to_vec(),
                413,
                "payload_too_large",
            ),
            (
                "POST",
                "/token",
                headers(&[("Origin", EXT), ("Content-Type", "text/plain")]),
                ok_body.to_vec(),
                415,
                "unsupported_media_type",
            ),
            (
                "POST",
                "/token",
                headers(&[("Origin", EXT)]),
                ok_body.to_vec(),
                415,
                "unsupported_media_type",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                b"{not json".to_vec(),
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                br#"["c","s"]"#.to_vec(),
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                br#"{"state":"s"}"#.to_vec(),
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                br#"{"code":"c"}"#.to_vec(),
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                br#"{"code":1,"state":"s"}"#.to_vec(),
                400,
                "invalid_request",
            ),
            (
                "POST",
                "/token",
                json_post(EXT),
                br#"{"code":"","state":"s"}"#.to_vec(),
                400,
                "invalid_request",
            ),
            (
                "GET",
                "/userinfo",
                headers(&[("Origin", "https://evil.example")]),
                vec![],
                403,
                "origin_not_allowed",
            ),
            (
                "GET",
                "/userinfo",
                headers(&[]),
                vec![],
                401,
                "not_logged_in",
            ),
        ];
        for (method, path, headers, body, status, error) in cases {
            let out = response(handler.route(method, path, &headers, &body));
            assert_eq!(out.status, status, "{method} {path} {headers:?}");
            assert_eq!(error_of(&out), error, "{method} {path}");
            assert_common_headers(&out);
            let allowed = find_header(&headers, "origin").is_some_and(|o| o == EXT);
            assert_eq!(
                out.header("access-control-allow-origin"),
                allowed.then_some(EXT),
                "{method} {path} {status}"
            );
            if status == 405 {
                assert!(out.header("allow").is_some());
            }
        }
    }

    #[test]
    fn method_not_allowed_lists_methods() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let out = response(handler.route("GET", "/token", &json_post(EXT), b""));
        assert_eq!(out.header("allow"), Some("POST, OPTIONS"));
        let out = response(handler.route("POST", "/userinfo", &json_post(EXT), b""));
        assert_eq!(out.header("allow"), Some("GET, OPTIONS"));
        let out = response(cookie_handler().route("PATCH", "/token", &json_post(EXT), b""));
        assert_eq!(out.header("allow"), Some("POST, DELETE, OPTIONS"));
    }

    #[test]
    fn mia_console_handoff_forwards_exactly_code_and_state() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let body = br#"{"code":"CODE","state":"STATE","code_verifier":"ignored","redirect_uri":"https://x","iss":"https://console.example"}"#;
        let HandlerStep::Exchange(step) = handler.route("POST", "/token", &json_post(EXT), body)
        else {
            panic!("expected an exchange");
        };
        assert_eq!(step.origin, EXT);
        assert_eq!(step.request.url, "https://console.example/api/oauth/token");
        assert_eq!(
            step.request.body.as_deref(),
            Some(r#"{"code":"CODE","state":"STATE"}"#)
        );
    }

    #[test]
    fn oauth2_handoff_uses_configured_redirect_uri_and_verifier() {
        let handler = HandoffHandler::new(oauth2_config()).unwrap();
        let body = format!(
            r#"{{"code":"c","state":"s","code_verifier":"{VERIFIER}","redirect_uri":"https://ext.example/cb"}}"#
        );
        let HandlerStep::Exchange(step) =
            handler.route("POST", "/token", &json_post(EXT), body.as_bytes())
        else {
            panic!("expected an exchange");
        };
        assert_eq!(
            step.request.body.as_deref(),
            Some(format!("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fext.example%2Fcb&code_verifier={VERIFIER}").as_str())
        );
        assert!(step.request.header("authorization").is_some());

        let mismatched = br#"{"code":"c","state":"s","redirect_uri":"https://evil.example/cb"}"#;
        let out = response(handler.route("POST", "/token", &json_post(EXT), mismatched));
        assert_eq!(out.status, 400);
        assert!(out.body.contains("redirect_uri"));

        let bad_verifier = br#"{"code":"c","state":"s","code_verifier":"short"}"#;
        let out = response(handler.route("POST", "/token", &json_post(EXT), bad_verifier));
        assert_eq!(out.status, 400);

        let mut config = oauth2_config();
        config.redirect_uri = None;
        let handler = HandoffHandler::new(config).unwrap();
        let out = response(handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        ));
        assert_eq!(out.status, 400);
        assert!(out.body.contains("redirect_uri"));
        let step = handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s","redirect_uri":"https://ext.example/other"}"#,
        );
        assert!(matches!(step, HandlerStep::Exchange(_)));
    }

    #[test]
    fn preflight_only_for_allowed_origins() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let preflight = headers(&[
            ("Origin", EXT),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ]);
        let out = response(handler.route("OPTIONS", "/token", &preflight, b""));
        assert_eq!(out.status, 204);
        assert_eq!(out.body, "");
        assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
        assert_eq!(out.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(out.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(
            out.header("access-control-allow-headers"),
            Some("Content-Type")
        );
        assert_eq!(out.header("access-control-max-age"), Some("600"));
        assert_eq!(out.header("content-type"), None);
        assert_common_headers(&out);

        let out = response(handler.route("OPTIONS", "/userinfo", &preflight, b""));
        assert_eq!(out.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(
            out.header("access-control-allow-headers"),
            Some("Authorization")
        );

        let evil = headers(&[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ]);
        let out = response(handler.route("OPTIONS", "/token", &evil, b""));
        assert_eq!(out.status, 403);
        assert_eq!(out.header("access-control-allow-origin"), None);
        assert_eq!(out.header("access-control-allow-credentials"), None);

        // Prefix or case variations of an allowed origin are not allowed.
        for near in [
            &format!("{EXT}/"),
            "https://ext.example.evil.example",
            "HTTPS://ext.example",
            "https://ext.example:443",
        ] {
            let out =
                response(handler.route("OPTIONS", "/token", &headers(&[("Origin", near)]), b""));
            assert_eq!(out.status, 403, "{near}");
        }
    }

    #[test]
    fn finish_exchange_token_mode() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let HandlerStep::Exchange(step) = handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        ) else {
            panic!()
        };
        let tokens = handler
            .parse_exchange(&HttpResponse::new(200, r#"{"access_token":"a.b.c","refresh_token":"RT","id_token":"i.d.t","expires_in":3600}"#))
            .unwrap();
        let out = handler.finish_exchange(
            &step,
            &tokens,
            r#"{"sub":"u1","email":"u@x.example","exp":1300}"#,
            1000,
        );
        assert_eq!(out.status, 200);
        assert_common_headers(&out);
        assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
        assert_eq!(out.header("set-cookie"), None);
        assert_eq!(
            out.body,
            r#"{"access_token":"a.b.c","token_type":"Bearer","expires_in":300,"id_token":"i.d.t","identity":{"sub":"u1","email":"u@x.example"}}"#
        );
        assert!(!out.body.contains("RT"));

        let mut config = console_config();
        config.insecure_expose_refresh_token = true;
        let exposing = HandoffHandler::new(config).unwrap();
        let out = exposing.finish_exchange(&step, &tokens, r#"{"sub":"u1"}"#, 1000);
        assert!(out.body.contains(r#""refresh_token":"RT""#), "{}", out.body);
        assert!(out.body.contains(r#""expires_in":3600"#), "{}", out.body);

        let out = handler.finish_exchange(&step, &tokens, r#"{"sub":"u1","exp":900}"#, 1000);
        assert_eq!(out.status, 401);
        let out = handler.finish_exchange(&step, &tokens, "not json", 1000);
        assert_eq!(out.status, 500);
    }

    #[test]
    fn finish_exchange_cookie_mode() {
        let handler = cookie_handler();
        let HandlerStep::Exchange(step) = handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        ) else {
            panic!()
        };
        let tokens = handler
            .parse_exchange(&HttpResponse::new(200, r#"{"accessToken":"eyJ.eyJ.sig"}"#))
            .unwrap();
        let out = handler.finish_exchange(
            &step,
            &tokens,
            r#"{"id":"u1","name":"N","groups":["g"],"exp":4600}"#,
            1000,
        );
        assert_eq!(out.status, 200);
        assert_common_headers(&out);
        assert_eq!(
            out.header("set-cookie"),
            Some("sid=eyJ.eyJ.sig; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax")
        );
        assert_eq!(
            out.body,
            r#"{"identity":{"id":"u1","name":"N","groups":["g"]},"expires_in":3600}"#
        );
        assert!(!out.body.contains("eyJ"));

        // Without exp or expires_in: a session cookie.
        let out = handler.finish_exchange(&step, &tokens, r#"{"id":"u1"}"#, 1000);
        assert_eq!(
            out.header("set-cookie"),
            Some("sid=eyJ.eyJ.sig; Path=/; HttpOnly; Secure; SameSite=Lax")
        );
    }

    #[test]
    fn cookie_injection_is_refused() {
        let handler = cookie_handler();
        let HandlerStep::Exchange(step) = handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        ) else {
            panic!()
        };
        for evil in [
            "EVIL; Domain=evil.example",
            "EVIL\r\nSet-Cookie: admin=1",
            "EVIL, other=1",
            "EV\"IL",
            "EVIL\\",
            "EVIL en",
            "EVIL-é",
        ] {
            let tokens = TokenSet {
                access_token: evil.into(),
                token_type: None,
                expires_in: None,
                expires_at: None,
                refresh_token: None,
                id_token: None,
                scope: None,
                raw_json: String::new(),
            };
            let out = handler.finish_exchange(&step, &tokens, r#"{"sub":"u"}"#, 0);
            assert_eq!(out.status, 502, "{evil:?}");
            assert_eq!(out.header("set-cookie"), None);
            assert!(!out.body.contains("EV"), "{}", out.body);
        }
        let huge = TokenSet {
            access_token: "a".repeat(MAX_COOKIE_BYTES),
            token_type: None,
            expires_in: None,
            expires_at: None,
            refresh_token: None,
            id_token: None,
            scope: None,
            raw_json: String::new(),
        };
        let out = handler.finish_exchange(&step, &huge, r#"{"sub":"u"}"#, 0);
        assert_eq!(out.status, 502);
        assert!(out.body.contains("too large"));
    }

    #[test]
    fn cookie_config_validation() {
        let bad = [
            CookieConfig {
                name: "s id".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "sid;".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                path: "/a;Domain=x".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                path: "a".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                same_site: SameSite::None,
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                partitioned: true,
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                name: "__Host-sid".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "__Host-sid".into(),
                path: "/api".into(),
                ..CookieConfig::default()
            },
        ];
        for cookie in bad {
            let mut config = console_config();
            config.session = Some(cookie.clone());
            let err = HandoffHandler::new(config).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidOptions, "{cookie:?}");
        }
        let mut config = console_config();
        config.session = Some(CookieConfig {
            name: "__Host-sid".into(),
            same_site: SameSite::None,
            partitioned: true,
            ..CookieConfig::default()
        });
        let handler = HandoffHandler::new(config).unwrap();
        let cookie = handler.config().session.as_ref().unwrap();
        assert_eq!(
            cookie.set_cookie("v", Some(5)),
            "__Host-sid=v; Path=/; Max-Age=5; HttpOnly; Secure; SameSite=None; Partitioned"
        );
        assert_eq!(SameSite::parse("strict").unwrap(), SameSite::Strict);
        assert!(SameSite::parse("sometimes").is_err());
    }

    #[test]
    fn config_validation() {
        for origins in [
            vec![],
            vec!["*".to_owned()],
            vec!["https://ext.example/".to_owned()],
            vec!["https://Ext.example".to_owned()],
            vec!["ext.example".to_owned()],
            vec!["null".to_owned()],
        ] {
            let mut config = console_config();
            config.allowed_origins = origins.clone();
            assert!(HandoffHandler::new(config).is_err(), "{origins:?}");
        }
        let mut config = console_config();
        config.allowed_origins = vec!["http://127.0.0.1:8787".into(), "http://[::1]:3000".into()];
        assert!(HandoffHandler::new(config).is_ok());
        let mut config = console_config();
        config.userinfo_path = Some("/token".into());
        assert!(HandoffHandler::new(config).is_err());
        let mut config = console_config();
        config.max_body_bytes = 10;
        assert!(HandoffHandler::new(config).is_err());
        let mut config = console_config();
        config.token_path = Some("token".into());
        assert!(HandoffHandler::new(config).is_err());
        let mut config = console_config();
        config.profile = ExchangeProfile::MiaConsole {
            console_url: "http://console.example".into(),
        };
        assert!(HandoffHandler::new(config).is_err());
    }

    #[test]
    fn any_token_path() {
        let mut config = console_config();
        config.token_path = None;
        let handler = HandoffHandler::new(config).unwrap();
        let step = handler.route(
            "POST",
            "/anything/here",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        );
        assert!(matches!(step, HandlerStep::Exchange(_)));
        let out = response(handler.route("POST", "/userinfo", &json_post(EXT), b"{}"));
        assert_eq!(out.status, 405);
    }

    #[test]
    fn userinfo_with_cookie_and_bearer() {
        let handler = cookie_handler();
        let with_cookie = headers(&[("Origin", EXT), ("Cookie", "theme=dark; sid=eyJ.a.b; x=1")]);
        let HandlerStep::UserInfo(step) = handler.route("GET", "/userinfo", &with_cookie, b"")
        else {
            panic!()
        };
        assert_eq!(step.token(), "eyJ.a.b");
        assert!(step.from_cookie());
        assert!(!format!("{step:?}").contains("eyJ.a.b"));
        let out = handler.finish_userinfo(&step, r#"{"sub":"u1","groups":["a"]}"#);
        assert_eq!(out.status, 200);
        assert_eq!(out.body, r#"{"sub":"u1","groups":["a"]}"#);
        assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
        assert_common_headers(&out);

        // Verification failure from a cookie clears it.
        let out = handler.userinfo_failed(
            &step,
            &Error::new(ErrorCode::Expired, "token expired 5 s ago"),
        );
        assert_eq!(out.status, 401);
        assert_eq!(error_of(&out), "invalid_token");
        assert!(out.body.contains("expired"));
        assert_eq!(
            out.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(
            out.header("set-cookie"),
            Some("sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
        );

        // The bearer header wins over the cookie; no Origin is fine for GET.
        let both = headers(&[
            ("Cookie", "sid=cookie.tok"),
            ("Authorization", "bearer head.er.tok"),
        ]);
        let HandlerStep::UserInfo(step) = handler.route("GET", "/userinfo", &both, b"") else {
            panic!()
        };
        assert_eq!(step.token(), "head.er.tok");
        assert!(!step.from_cookie());
        assert_eq!(step.origin(), None);
        let out = handler.userinfo_failed(&step, &Error::new(ErrorCode::BadSignature, "bad"));
        assert_eq!(out.header("set-cookie"), None);
        assert_eq!(out.header("access-control-allow-origin"), None);

        let out = handler.userinfo_failed(
            &step,
            &Error::new(ErrorCode::JwksFetchFailed, "down").retryable(true),
        );
        assert_eq!(out.status, 502);
        assert!(out.body.contains(r#""retryable":true"#));

        // Malformed Authorization header.
        let out = response(handler.route(
            "GET",
            "/userinfo",
            &headers(&[("Authorization", "Basic abc")]),
            b"",
        ));
        assert_eq!(out.status, 400);
        // Token mode ignores cookies.
        let token_mode = HandoffHandler::new(console_config()).unwrap();
        let out =
            response(token_mode.route("GET", "/userinfo", &headers(&[("Cookie", "sid=x")]), b""));
        assert_eq!(out.status, 401);
        assert_eq!(out.header("www-authenticate"), Some("Bearer"));
    }

    #[test]
    fn logout_clears_the_cookie() {
        let handler = cookie_handler();
        let out = response(handler.route("DELETE", "/token", &headers(&[("Origin", EXT)]), b""));
        assert_eq!(out.status, 204);
        assert_eq!(
            out.header("set-cookie"),
            Some("sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
        );
        let out = response(handler.route("DELETE", "/token", &headers(&[]), b""));
        assert_eq!(out.status, 403);
    }

    #[test]
    fn exchange_failures_map_to_401_and_502() {
        let handler = HandoffHandler::new(console_config()).unwrap();
        let HandlerStep::Exchange(step) = handler.route(
            "POST",
            "/token",
            &json_post(EXT),
            br#"{"code":"c","state":"s"}"#,
        ) else {
            panic!()
        };

        let reused = handler
            .parse_exchange(&HttpResponse::new(
                400,
                r#"{"error":"invalid_grant","error_description":"code SECRET-CODE used"}"#,
            ))
            .unwrap_err();
        let out = handler.exchange_failed(&step, &reused);
        assert_eq!(out.status, 401);
        assert_eq!(error_of(&out), "invalid_grant");
        assert!(!out.body.contains("SECRET-CODE"));
        assert_eq!(out.header("access-control-allow-origin"), Some(EXT));

        let wrong_secret = handler
            .parse_exchange(&HttpResponse::new(401, r#"{"error":"invalid_client"}"#))
            .unwrap_err();
        let out = handler.exchange_failed(&step, &wrong_secret);
        assert_eq!(out.status, 502);
        assert_eq!(error_of(&out), "token_endpoint_error");
        assert!(!out.body.contains("retryable"));

        let down = handler
            .parse_exchange(&HttpResponse::new(503, ""))
            .unwrap_err();
        let out = handler.exchange_failed(&step, &down);
        assert_eq!(out.status, 502);
        assert!(out.body.contains(r#""retryable":true"#));

        let out = handler.exchange_failed(
            &step,
            &super::super::http::timeout_error("token endpoint", 10),
        );
        assert_eq!(
            (out.status, error_of(&out).as_str()),
            (502, "network_error")
        );

        let out = handler.exchange_failed(&step, &Error::new(ErrorCode::AudienceMismatch, "aud"));
        assert_eq!(
            (out.status, error_of(&out).as_str()),
            (401, "invalid_token")
        );

        let out = handler.exchange_failed(&step, &Error::options("x"));
        assert_eq!(out.status, 500);
        assert_common_headers(&out);
    }

    #[test]
    fn cookie_and_bearer_parsing() {
        assert_eq!(cookie_value("a=1; sid=x.y; sid=z", "sid"), Some("x.y"));
        assert_eq!(cookie_value("sid=\"q.v\"", "sid"), Some("q.v"));
        assert_eq!(cookie_value("xsid=1; sidx=2", "sid"), None);
        assert_eq!(cookie_value("sid=; sid=ok", "sid"), Some("ok"));
        assert_eq!(cookie_value("sid=a b", "sid"), None);
        assert_eq!(
            parse_bearer("Bearer abc.DEF-_~+/=="),
            Some("abc.DEF-_~+/==")
        );
        assert_eq!(parse_bearer("BEARER  tok"), Some("tok"));
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer a,b"), None);
        assert_eq!(parse_bearer("Bearer ="), None);
        assert_eq!(parse_bearer("Basic abc"), None);
        assert!(is_cookie_value(
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_"
        ));
        assert!(!is_cookie_value(""));
    }

    proptest::proptest! {
        #[test]
        fn route_never_panics(
            method in "(GET|POST|OPTIONS|DELETE|PUT|[A-Z]{0,6})",
            path in "(/token|/userinfo|/[a-z]{0,5})",
            origin in proptest::option::of("(chrome-extension://abcdefghijklmnopabcdefghijklmnop|https://[a-z.]{0,12}|.{0,8})"),
            content_type in proptest::option::of("(application/json|text/plain|.{0,10})"),
            cookie in proptest::option::of(".{0,20}"),
            authorization in proptest::option::of("(Bearer |bearer |)[ -~]{0,16}"),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let mut h = Vec::new();
            if let Some(o) = origin { h.push(("Origin".to_owned(), o)); }
            if let Some(c) = content_type { h.push(("Content-Type".to_owned(), c)); }
            if let Some(c) = cookie { h.push(("Cookie".to_owned(), c)); }
            if let Some(a) = authorization { h.push(("Authorization".to_owned(), a)); }
            for handler in [HandoffHandler::new(oauth2_config()).unwrap(), cookie_handler()] {
                match handler.route(&method, &path, &h, &body) {
                    HandlerStep::Respond(r) => {
                        proptest::prop_assert_eq!(r.header("cache-control"), Some("no-store"));
                    }
                    HandlerStep::Exchange(step) => {
                        proptest::prop_assert_eq!(step.origin.as_str(), EXT);
                    }
                    HandlerStep::UserInfo(step) => {
                        proptest::prop_assert!(!step.token().is_empty());
                    }
                }
            }
        }

        #[test]
        fn handoff_json_never_panics(body in r#"\{("(code|state|code_verifier|redirect_uri|x)":("[ -~]{0,50}"|[0-9]{1,3}|null|\[\]),?){0,5}\}"#) {
            let handler = HandoffHandler::new(oauth2_config()).unwrap();
            let _ = handler.route("POST", "/token", &json_post(EXT), body.as_bytes());
        }
    }
}
