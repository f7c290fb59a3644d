//! Reading an incoming request: which endpoint, method and origin, the CORS
//! preflight, the handoff body, the userinfo token.
//!
//! Decided here, before any body is read: the endpoint (404 naming the
//! paths served), the method (405 with `Allow`), the origin (403), the
//! preflight answer, and for a handoff its declared length (413) and content
//! type (415). Then, from the body: its real length (413), its JSON (400 for
//! bad JSON or a missing `code`/`state`) and the exchange request to send.
//! Left to the caller: reading the body, at most
//! [`HandoffHandler::max_body_bytes`] + 1 bytes, and only when
//! [`Route::ReadHandoff`] asks for it.

use super::response::{base_response, error_response, rejection, Phase, Rejection};
use super::{ExchangeStep, HandoffHandler, HandoffStep, PendingHandoff, Route, UserInfoStep};
use crate::json::{self, Value};
use crate::prelude::*;
use crate::server::exchange::{check_code_verifier, ExchangeOptions, ExchangeProfile};
use crate::server::flow::TokenFlow;
use crate::server::http::{find_header, HttpResponseOut, Secret};
use crate::{Error, ErrorCode, Result};

impl HandoffHandler {
    /// Decides what to do with one request from its method, path (without
    /// query) and headers, before its body is read.
    pub fn route(&self, method: &str, path: &str, headers: &[(String, String)]) -> Route {
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
            return Route::Respond(error_response(404, "not_found", &self.paths_served(), cors));
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
                &msg!("use one of: ", allow),
                cors,
            );
            response.headers.push(("Allow".into(), allow.into()));
            return Route::Respond(response);
        }
        if origin_header.is_some() && allowed_origin.is_none() {
            return Route::Respond(error_response(
                403,
                "origin_not_allowed",
                "this origin is not allowed to call the handler; add it to allowedOrigins",
                None,
            ));
        }
        if method == "OPTIONS" {
            return Route::Respond(self.preflight(allowed_origin, allow, is_userinfo));
        }
        if is_userinfo {
            return self.userinfo(headers, allowed_origin);
        }
        let Some(origin) = allowed_origin else {
            return Route::Respond(error_response(
                403,
                "origin_not_allowed",
                "the request has no Origin header; the handoff must come from an allowed browser origin",
                None,
            ));
        };
        if method == "DELETE" {
            return Route::Respond(self.logout(origin));
        }
        let max = self.config.max_body_bytes;
        let declared_too_large = find_header(headers, "content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|len| len > max as u64);
        if declared_too_large {
            return Route::Respond(too_large(max, origin));
        }
        let is_json = find_header(headers, "content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Route::Respond(error_response(
                415,
                "unsupported_media_type",
                "send the handoff as Content-Type: application/json",
                Some(origin),
            ));
        }
        Route::ReadHandoff(PendingHandoff {
            origin: origin.to_owned(),
        })
    }

    /// Reads the handoff body (`body`: at most [`Self::max_body_bytes`] + 1
    /// bytes of it) of a [`Route::ReadHandoff`] request: 413 when over the
    /// cap, 400 when it is not a valid handoff, else the exchange to make.
    pub fn handoff(&self, pending: PendingHandoff, body: &[u8]) -> HandoffStep {
        let origin = pending.origin;
        let max = self.config.max_body_bytes;
        if body.len() > max {
            return HandoffStep::Respond(too_large(max, &origin));
        }
        match self.read_handoff(body) {
            Ok(flow) => HandoffStep::Exchange(Box::new(ExchangeStep { flow, origin })),
            Err(description) => HandoffStep::Respond(error_response(
                400,
                "invalid_request",
                &description,
                Some(&origin),
            )),
        }
    }

    /// The answer when the handoff body could not be read (the client
    /// stopped sending it): 400, [`super::Level::Debug`]: a client that goes away
    /// is not a server error.
    pub fn handoff_unreadable(&self, pending: &PendingHandoff) -> Rejection {
        let error = Error::new(
            ErrorCode::InvalidRequest,
            "the handoff body could not be read",
        );
        rejection(Some(&error), Phase::Exchange, Some(&pending.origin))
    }

    /// "this handler serves POST /token and GET /userinfo", for the 404.
    fn paths_served(&self) -> String {
        let token = match &self.config.token_path {
            Some(path) if self.config.session.is_some() => msg!("POST and DELETE ", path),
            Some(path) => msg!("POST ", path),
            None => "POST to any path".into(),
        };
        let served = msg!("no such endpoint: this handler serves ", token);
        match &self.config.userinfo_path {
            Some(path) if self.config.token_path.is_none() => {
                msg!(served, " but ", path, ", and GET ", path)
            }
            Some(path) => msg!(served, " and GET ", path),
            None => served,
        }
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
                msg!(u64::from(self.config.cors_max_age_sec)),
            ),
        ]);
        response
    }

    /// Reads the handoff body and builds the exchange; `Err` is a 400
    /// description. The `nonce` (OIDC Core §3.1.2.1) the client sent, if
    /// any, is what the ID Token must carry.
    fn read_handoff(&self, body: &[u8]) -> core::result::Result<TokenFlow, String> {
        let Ok(Value::Object(handoff)) = json::parse_bytes(body) else {
            return Err("the handoff body must be a JSON object".into());
        };
        let member = |name: &str| -> core::result::Result<Option<&str>, String> {
            match handoff.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(msg!("\"", name, "\" must be a string")),
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
        let nonce = member("nonce")?.filter(|n| !n.is_empty()).map(Secret::from);
        let mut options = ExchangeOptions::new(self.config.profile.clone(), code);
        options.state = Some(state.into());
        options.timeout_ms = self.config.timeout_ms;
        options.rule = self.config.rule;
        // The OpenID Connect members matter to `oauth2` only; the other
        // profiles ignore them in a handoff, as they ignore unknown members.
        if let ExchangeProfile::OAuth2(_) = self.config.profile {
            options.nonce = nonce;
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
        TokenFlow::code(options).map_err(|e| e.message().to_owned())
    }

    fn userinfo(&self, headers: &[(String, String)], origin: Option<&str>) -> Route {
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
                    return Route::Respond(response);
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
                    return Route::Respond(response);
                }
            },
        };
        Route::UserInfo(UserInfoStep {
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
            .find_map(|(_, value)| super::cookie::cookie_value(value, &cookie.name))
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
}

fn too_large(max: usize, origin: &str) -> HttpResponseOut {
    error_response(
        413,
        "payload_too_large",
        &msg!("the handoff body is larger than ", max, " bytes"),
        Some(origin),
    )
}

/// RFC 6454 §6.2 ASCII serialization: `scheme://host[:port]`, lowercase, no
/// path, no trailing slash.
pub(super) fn validate_origin(origin: &str) -> Result<()> {
    let invalid = || {
        Error::options(
            "each allowedOrigins entry must be an origin such as \"chrome-extension://<id>\" or \"https://ext.example\": lowercase scheme://host[:port], no path, no trailing slash, no wildcard",
        )
    };
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
