//! The handler's answers: the headers every answer carries, JSON bodies,
//! and what each failure becomes (status, `error`, description, and how
//! loud it is for the caller's `onError`).
//!
//! Decided here: every status the handler answers and why; the mapping
//! from an [`ErrorCode`] to an HTTP answer is one exhaustive `match`, so a
//! new code cannot be added without deciding its answer. Error bodies never
//! contain tokens, codes or the host's own error text. Left to the caller:
//! logging (it gets the original error and a [`Level`]).

use super::{ExchangeStep, HandoffHandler, UserInfoStep};
use crate::json::{self, Value};
use crate::prelude::*;
use crate::server::http::{HttpResponseOut, JsonBody};
use crate::server::identity::{Identity, IdentitySource};
use crate::{Error, ErrorCode, Result};

impl HandoffHandler {
    /// Answers a successful handoff. `claims_json` is the verified access
    /// token's claims as JSON text (read once, here); `now_sec` the current time.
    ///
    /// Token mode: `200 {access_token, token_type: "Bearer", expires_in?,
    /// id_token?, scope?, identity}`. Cookie mode: `200 {identity, expires_in?}`
    /// with `Set-Cookie: <name>=<token>; Path=…; Max-Age=…; HttpOnly; Secure; SameSite=…`.
    ///
    /// The `identity` is read from the access token's claims, and the
    /// validated ID Token's fill in what they lack (an OpenID Provider puts
    /// `name`, `email`… in the ID Token; the access token's claims are what
    /// the backend authorises with, so they are never overridden).
    ///
    /// `Err` when no answer can be made from the verified token, for
    /// [`Self::exchange_failed`] (so the caller's error hook hears of it):
    /// `expired` when its `exp` has passed by now (a verifier's clock
    /// tolerance let it through), `invalid_claim` for an `exp` that is not a
    /// NumericDate, `token_endpoint_error` for a token that is not a valid
    /// cookie value (RFC 6265 §4.1.1) or too large for a cookie (refused
    /// rather than stored), `invalid_options` when the claims are not a JSON
    /// object (the verifier resolved to something else) or the exchange is
    /// not finished.
    pub fn finish_exchange(
        &self,
        step: &ExchangeStep,
        claims_json: &str,
        now_sec: u64,
    ) -> Result<HttpResponseOut> {
        let cors = Some(step.origin.as_str());
        let tokens = super::exchanged(step)?;
        let mut claims = claims_object(claims_json)?;
        let expires_in = match claims.get("exp") {
            Some(exp) => match exp.as_f64().filter(|e| e.is_finite() && *e >= 0.0) {
                Some(exp) if exp as u64 > now_sec => Some(exp as u64 - now_sec),
                Some(_) => {
                    return Err(Error::new(
                        ErrorCode::Expired,
                        "the access token expired before the handler could answer (its exp has passed; the verifier's clock tolerance let it through)",
                    ))
                }
                None => {
                    return Err(Error::new(
                        ErrorCode::InvalidClaim,
                        "the access token's exp is not a NumericDate (RFC 7519 §4.1.4)",
                    ))
                }
            },
            None => tokens.lifetime_sec(now_sec, now_sec),
        };
        if let Some(Ok(Value::Object(mut id_claims))) = step.flow.id_token_claims().map(json::parse)
        {
            for name in PROFILE_CLAIMS {
                if claims.get(name).is_none() {
                    if let Some(value) = id_claims.remove(name) {
                        claims.insert(name, value);
                    }
                }
            }
        }
        let identity = identity_json(&Identity::new(claims, IdentitySource::AccessToken, true));
        if let Some(cookie) = &self.config.session {
            let token = tokens.access_token.as_str();
            cookie
                .check_value(token)
                .map_err(|why| Error::new(ErrorCode::TokenEndpointError, why))?;
            let mut body = JsonBody::new().raw("identity", &identity);
            if let Some(expires_in) = expires_in {
                body = body.number("expires_in", expires_in);
            }
            let mut response = base_response(200, body.finish(), cors);
            response
                .headers
                .push(("Set-Cookie".into(), cookie.set_cookie(token, expires_in)));
            return Ok(response);
        }
        let mut body = JsonBody::new()
            .string("access_token", &tokens.access_token)
            .string("token_type", "Bearer");
        if let Some(expires_in) = expires_in {
            body = body.number("expires_in", expires_in);
        }
        if let Some(id_token) = &tokens.id_token {
            body = body.string("id_token", id_token);
        }
        if let Some(scope) = &tokens.scope {
            body = body.string("scope", scope);
        }
        if self.config.insecure_expose_refresh_token {
            if let Some(refresh_token) = &tokens.refresh_token {
                body = body.string("refresh_token", refresh_token);
            }
        }
        Ok(base_response(
            200,
            body.raw("identity", &identity).finish(),
            cors,
        ))
    }

    /// Answers a failed exchange or verification (see [`rejection`] for the
    /// statuses); `error` is `None` when what failed carries no code of ours.
    pub fn exchange_failed(&self, step: &ExchangeStep, error: Option<&Error>) -> Rejection {
        let phase = match step.flow.discovering() {
            true => Phase::Discovery,
            false => Phase::Exchange,
        };
        rejection(error, phase, Some(step.origin.as_str()))
    }

    /// Answers a userinfo request with the verified claims (`claims_json`, a
    /// JSON object, sent as it is); `Err` (`invalid_options`, for
    /// [`Self::userinfo_failed`]) when they are not a JSON object.
    pub fn finish_userinfo(
        &self,
        step: &UserInfoStep,
        claims_json: &str,
    ) -> Result<HttpResponseOut> {
        claims_object(claims_json)?;
        Ok(base_response(200, claims_json.to_owned(), step.origin()))
    }

    /// Answers a userinfo request whose token failed verification: 401 with
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1), clearing
    /// the session cookie when the token came from it; 502 when the JWKS could
    /// not be fetched.
    pub fn userinfo_failed(&self, step: &UserInfoStep, error: Option<&Error>) -> Rejection {
        let mut rejected = rejection(error, Phase::UserInfo, step.origin());
        if rejected.response.status == 401 {
            rejected.response.headers.push((
                "WWW-Authenticate".into(),
                "Bearer error=\"invalid_token\"".into(),
            ));
            if step.from_cookie() {
                if let Some(cookie) = &self.config.session {
                    rejected
                        .response
                        .headers
                        .push(("Set-Cookie".into(), cookie.set_cookie("", Some(0))));
                }
            }
        }
        rejected
    }
}

/// The verified claims, which must be a JSON object: a verifier that
/// resolves to anything else is a bug of the caller's setup.
fn claims_object(claims_json: &str) -> Result<json::Object> {
    match json::parse(claims_json) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(Error::options(
            "the verifier resolved to something other than a claims object (verify() must resolve to the token's claims)",
        )),
    }
}

/// The claims the identity reads (`crate::protocol::identity`), which an
/// ID Token may add to the access token's.
const PROFILE_CLAIMS: [&str; 11] = [
    "sub",
    "id",
    "email",
    "name",
    "first_name",
    "given_name",
    "last_name",
    "family_name",
    "username",
    "preferred_username",
    "groups",
];

/// The identity's profile fields that are present, by their claim names
/// (what `Identity::profile_json` writes, without building a JSON tree).
fn identity_json(identity: &Identity) -> String {
    let id = identity.id();
    let mut body = JsonBody::new()
        .present("sub", identity.sub())
        .present("id", id.as_deref())
        .present("email", identity.email())
        .present("name", identity.name())
        .present("first_name", identity.first_name())
        .present("last_name", identity.last_name())
        .present("username", identity.username());
    let groups = identity.groups();
    if !groups.is_empty() {
        let mut list = String::from("[");
        for (i, group) in groups.into_iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            json::write_string(&mut list, group);
        }
        list.push(']');
        body = body.raw("groups", &list);
    }
    body.finish()
}

/// How loud a failed request is, for the caller's error hook (`onError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// A server-side failure (5xx): the host, its keys or this backend failed.
    Error,
    /// A refusal the operator should hear about: the host's own fresh token
    /// failed verification at the exchange, which means the backend and the
    /// host disagree (issuer, audience, keys, opaque access tokens).
    Warn,
    /// A refusal caused by the caller, expected in normal operation: a bad,
    /// expired or reused token or code, a client that went away.
    Debug,
}

impl Level {
    /// `error`, `warn` or `debug`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Debug => "debug",
        }
    }
}

/// Where a failure happened: it decides whose fault a bad token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The exchange's discovery of the provider's metadata: whatever fails
    /// there (its document naming another issuer included) is the
    /// provider's or the configuration's failure, never a token's.
    Discovery,
    /// The code exchange: the token came from the host a moment ago.
    Exchange,
    /// Userinfo: the token came from the browser.
    UserInfo,
}

/// The answer to a failed request and how loud it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// What to send.
    pub response: HttpResponseOut,
    /// What to tell the error hook.
    pub level: Level,
}

/// A response with the headers every answer carries: `Cache-Control:
/// no-store` (RFC 6749 §5.1), `X-Content-Type-Options: nosniff`, `Vary:
/// Origin`, and for an allowed origin the CORS pair (Fetch standard §3.2.5).
pub(super) fn base_response(
    status: u16,
    body: String,
    cors_origin: Option<&str>,
) -> HttpResponseOut {
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

/// `{"error": error, "error_description": description}` (RFC 6749 §5.2's shape).
pub(super) fn error_response(
    status: u16,
    error: &str,
    description: &str,
    cors: Option<&str>,
) -> HttpResponseOut {
    let body = JsonBody::new()
        .string("error", error)
        .string("error_description", description)
        .finish();
    base_response(status, body, cors)
}

/// What the failure `error` becomes (`None`: something failed that carries
/// no code of ours, e.g. a custom verifier's `TypeError`: 500).
///
/// * the host refused the code (`invalid_grant`, Matrix `M_FORBIDDEN`) → 401 `invalid_grant`;
/// * a token failed verification → 401 `invalid_token` (at the exchange the
///   host's own token: [`Level::Warn`]; at userinfo the browser's: [`Level::Debug`]);
/// * the host, its discovery document or its keys failed, answered
///   garbage, or refused our client → 502 with the code as `error`, and
///   `"retryable": true` when retrying may help; a verification code raised
///   while discovering ([`Phase::Discovery`]: the document names another
///   issuer) is answered as `discovery_failed` (its code unchanged for `onError`);
/// * the request was aborted or could not be read (the client went away)
///   → 400 `invalid_request`, [`Level::Debug`];
/// * anything else → 500 `server_error`.
pub(super) fn rejection(error: Option<&Error>, phase: Phase, cors: Option<&str>) -> Rejection {
    use ErrorCode as C;
    let Some(error) = error else {
        return Rejection {
            response: error_response(500, "server_error", SERVER_ERROR, cors),
            level: Level::Error,
        };
    };
    let code = error.code();
    let verification_level = match phase {
        Phase::Exchange | Phase::Discovery => Level::Warn,
        Phase::UserInfo => Level::Debug,
    };
    let discovery_failed = || {
        (
            502,
            C::DiscoveryFailed.name(),
            "the host's discovery document could not be loaded; retry later".into(),
            Level::Error,
        )
    };
    let (status, name, description, level): (u16, &str, String, Level) = match code {
        C::TokenEndpointError
            if matches!(
                error.oauth().map(|o| o.error.as_str()),
                Some("invalid_grant" | "M_FORBIDDEN")
            ) =>
        {
            (
                401,
                "invalid_grant",
                "the host refused the authorization code (invalid, expired or already used): log in again".into(),
                Level::Debug,
            )
        }
        C::TokenEndpointError => (
            502,
            code.name(),
            "the host's token endpoint refused or failed the exchange; see the server logs".into(),
            Level::Error,
        ),
        C::NetworkError => (
            502,
            code.name(),
            "the host could not be reached; retry later".into(),
            Level::Error,
        ),
        C::DiscoveryFailed => discovery_failed(),
        C::JwksFetchFailed | C::JwksInvalid => (
            502,
            code.name(),
            "the host's signing keys could not be loaded; retry later".into(),
            Level::Error,
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
        | C::CritUnsupported => match phase {
            Phase::Discovery => discovery_failed(),
            Phase::Exchange | Phase::UserInfo => (
                401,
                "invalid_token",
                msg!("the token failed verification (", code.name(), ")"),
                verification_level,
            ),
        },
        C::Aborted => (
            400,
            "invalid_request",
            "the request was aborted before it was answered".into(),
            Level::Debug,
        ),
        C::InvalidRequest => (
            400,
            "invalid_request",
            "the request could not be read".into(),
            Level::Debug,
        ),
        // The browser client's codes and the configuration codes: none of
        // them is the caller's fault here, and none comes from the host.
        C::InvalidOptions
        | C::InvalidKey
        | C::Unsupported
        | C::StateUnknown
        | C::StateExpired
        | C::StateReused
        | C::StateStorageUnavailable
        | C::IssMismatch
        | C::IssMissing
        | C::AuthorizationDenied
        | C::InvalidCallback
        | C::HandoffFailed
        | C::PopupBlocked
        | C::PopupClosed
        | C::OriginNotAllowed
        | C::NavigationUnavailable
        | C::NotLoggedIn => (500, "server_error", SERVER_ERROR.into(), Level::Error),
    };
    let mut body = JsonBody::new()
        .string("error", name)
        .string("error_description", &description);
    if error.is_retryable() && status >= 500 {
        // So clients can back off and retry.
        body = body.yes("retryable");
    }
    Rejection {
        response: base_response(status, body.finish(), cors),
        level,
    }
}

const SERVER_ERROR: &str = "the handler failed; see the server logs";

#[cfg(test)]
mod tests {
    use super::*;

    /// The identity written member by member is the shared `profile_json`.
    #[test]
    fn identity_json_is_the_shared_profile() {
        for claims in [
            "{}",
            r#"{"sub":"u","email":"e@x","name":"N","given_name":"G","family_name":"F","preferred_username":"p"}"#,
            r#"{"sub":"u","first_name":"A","last_name":"B","username":"c","given_name":"no"}"#,
            r#"{"id":42,"groups":["a",1,"b\"c"],"email":7}"#,
            r#"{"id":"x","groups":[]}"#,
        ] {
            let identity =
                Identity::from_claims_json(claims, IdentitySource::AccessToken, true).unwrap();
            assert_eq!(
                identity_json(&identity),
                identity.profile_json(),
                "{claims}"
            );
        }
    }

    /// Every code has an answer; the verification codes are 401 at both
    /// token phases but only the exchange's (the host's own token) is a
    /// warning; while discovering, nothing is the token's fault (never 401).
    #[test]
    fn every_code_has_a_status_and_a_level() {
        for &code in ErrorCode::ALL {
            let error = Error::new(code, "m");
            let discovery = rejection(Some(&error), Phase::Discovery, None);
            let status = discovery.response.status;
            assert!(matches!(status, 400 | 500 | 502), "{code}: {status}");
            assert_eq!(discovery.level == Level::Error, status >= 500, "{code}");
            let exchange = rejection(Some(&error), Phase::Exchange, None);
            let userinfo = rejection(Some(&error), Phase::UserInfo, None);
            assert_eq!(exchange.response.status, userinfo.response.status, "{code}");
            let status = exchange.response.status;
            assert!(matches!(status, 400 | 401 | 500 | 502), "{code}: {status}");
            assert_eq!(exchange.level == Level::Error, status >= 500, "{code}");
            if status == 401 {
                assert_eq!(userinfo.level, Level::Debug, "{code}");
                assert!(exchange.response.body.contains(code.as_str()), "{code}");
            }
        }
        let unknown = rejection(None, Phase::Exchange, Some("https://ext.example"));
        assert_eq!(
            (unknown.response.status, unknown.level),
            (500, Level::Error)
        );
        assert_eq!(
            unknown.response.header("access-control-allow-origin"),
            Some("https://ext.example")
        );
    }
}
