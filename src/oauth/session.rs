//! Sessions: parsing the answer of the token handoff or of the token
//! endpoint (RFC 6749 §5.1, §5.2), and the identity claims of a session.
//!
//! Refresh tokens are never kept in a [`Session`]: a browser cannot hold one
//! safely (RFC 9700 §4.14, OAuth 2.0 for Browser-Based Applications §6), so a
//! `refresh_token` member is dropped and only reported by
//! [`Session::refresh_token_dropped`]. Renewing a session is the backend's
//! job (the handoff endpoint keeps its refresh token server-side), or a new
//! login.

use super::secret::{AccessToken, IdToken};
use crate::json::Value;
use crate::prelude::*;
pub use crate::protocol::identity::{Identity, IdentitySource};
use crate::protocol::token_response::{self, is_success, Members, Responder, TOKEN_ENDPOINT};
use crate::{Error, ErrorCode, Result};

/// A session is treated as over this many seconds before `expires_at`, so a
/// token is not sent just as it expires.
pub const EXPIRY_MARGIN_SEC: u64 = 10;

/// Largest response body parsed, in bytes.
pub const MAX_BODY_LEN: usize = 256 * 1024;

/// Largest `expires_in` honoured (one year); larger values are clamped.
const MAX_EXPIRES_IN_SEC: u64 = 365 * 24 * 3600;

/// A logged-in session, as returned to the application. Tokens are redacted
/// in `Debug`. Keep it in memory; persisting it is the application's opt-in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// `access_token`; `None` for a cookie-only session.
    pub access_token: Option<AccessToken>,
    /// `token_type` as sent (usually `Bearer`).
    pub token_type: Option<String>,
    /// `now + expires_in` (seconds since the epoch), when the server said.
    pub expires_at: Option<u64>,
    /// `id_token` (OpenID Connect), unverified.
    pub id_token: Option<IdToken>,
    /// `scope` granted (RFC 6749 §5.1).
    pub scope: Option<String>,
    /// Matrix `user_id`.
    pub user_id: Option<String>,
    /// Matrix `device_id`.
    pub device_id: Option<String>,
    /// Matrix `well_known["m.homeserver"].base_url`, the server to use from now on.
    pub homeserver_base_url: Option<String>,
    /// True when the session lives only in an HttpOnly cookie (handoff with
    /// `cookieSession`, or the auth service's `sid`).
    pub cookie_only: bool,
    /// True when the answer carried a `refresh_token`, which was dropped.
    pub refresh_token_dropped: bool,
    /// The `identity` object (JSON text) the extension backend answered
    /// after verifying the access token (`createHandoffHandler` does); only
    /// read from handoff answers, never from a token endpoint.
    pub backend_identity: Option<String>,
}

impl Session {
    /// True until [`EXPIRY_MARGIN_SEC`] before `expires_at`; a session
    /// without an expiry is live until logout.
    pub fn is_live(&self, now: u64) -> bool {
        match self.expires_at {
            Some(expires_at) => now.saturating_add(EXPIRY_MARGIN_SEC) < expires_at,
            None => true,
        }
    }

    /// The identity the extension backend verified, when its handoff answer
    /// carried one (`verified: true`, source `Backend`).
    pub fn backend_identity(&self) -> Option<Identity> {
        Identity::from_claims_json(
            self.backend_identity.as_deref()?,
            IdentitySource::Backend,
            true,
        )
    }

    /// The identity claims of the session, decoded from the ID Token, or
    /// else from a JWT access token, without verifying any signature
    /// (`verified: false`). Errors with `not_logged_in` when there is no JWT
    /// to read (a cookie-only or opaque-token session: read a userinfo
    /// endpoint instead).
    pub fn unverified_identity(&self) -> Result<Identity> {
        if let Some(id_token) = &self.id_token {
            return decode_unverified_claims(id_token.expose_secret(), IdentitySource::IdToken);
        }
        match &self.access_token {
            Some(at) if at.expose_secret().split('.').count() == 3 => {
                decode_unverified_claims(at.expose_secret(), IdentitySource::AccessToken)
            }
            _ => Err(Error::new(
                ErrorCode::NotLoggedIn,
                "the session has no JWT to read claims from (opaque or cookie-only session): use a userinfo endpoint",
            )),
        }
    }
}

/// Decodes the payload of a compact JWS (RFC 7515 §7.1) without verifying
/// it ([`Identity::decode_unverified`], at most [`MAX_BODY_LEN`] bytes).
pub fn decode_unverified_claims(jwt: &str, source: IdentitySource) -> Result<Identity> {
    Identity::decode_unverified(jwt, source, MAX_BODY_LEN)
}

/// Who answered, for error codes and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The extension backend's `tokenHandoffUrl` (errors: `handoff_failed`).
    Handoff,
    /// The authorization server's token endpoint, called by a public client
    /// (errors: `token_endpoint_error`).
    TokenEndpoint,
}

impl TokenSource {
    fn responder(self) -> Responder {
        match self {
            Self::Handoff => Responder {
                code: ErrorCode::HandoffFailed,
                name: "the token handoff endpoint (tokenHandoffUrl)",
                hints: false,
            },
            Self::TokenEndpoint => TOKEN_ENDPOINT,
        }
    }
}

/// Parses the answer to a handoff or token request by the token response
/// rules ([`crate::protocol::token_response`]: RFC 6749 §5.1, §5.2, RFC
/// 6750), plus what a handoff may add:
///
/// - errors are `handoff_failed` / `token_endpoint_error` with the status
///   (retryable for 5xx, 408, 429) and the OAuth error fields when the body
///   has them;
/// - 2xx with an empty body, `{}` or no `access_token`: a cookie-only
///   session when `cookie_session` is set (handoff only), else an error;
/// - a handoff answer's `identity` object (what the backend verified), and
///   Matrix `user_id`, `device_id`, `well_known` (a handoff for the matrix
///   profile) are kept; `refresh_token` is dropped; `expires_at = now +
///   expires_in`, at most a year ahead.
pub fn parse_token_response(
    source: TokenSource,
    status: u16,
    body: &str,
    now: u64,
    cookie_session: bool,
) -> Result<Session> {
    let who = source.responder();
    let cookie_allowed = cookie_session && source == TokenSource::Handoff;
    if is_success(status) && body.trim().is_empty() {
        return if cookie_allowed {
            Ok(Session {
                cookie_only: true,
                ..Session::default()
            })
        } else {
            Err(Error::new(
                who.code,
                msg!(
                    who.name,
                    " answered an empty body; it must answer JSON with access_token (or set cookieSession: true \
                     if the backend keeps the session in a cookie)"
                ),
            ))
        };
    }
    let obj = token_response::success_object(who, status, body.as_bytes(), MAX_BODY_LEN)?;
    // The identity our own backend verified (createHandoffHandler answers
    // it); a token endpoint's answer is never taken as verified identity.
    let backend_identity = match (source, obj.get("identity")) {
        (TokenSource::Handoff, Some(identity @ Value::Object(_))) => Some(identity.to_json()),
        _ => None,
    };
    if cookie_allowed && obj.get("access_token").is_none() {
        return Ok(Session {
            cookie_only: true,
            backend_identity,
            ..Session::default()
        });
    }
    let tokens = token_response::read(who, &obj, Members::OAuth)?;
    let extra = |name: &str| -> Result<Option<String>> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(Error::new(
                who.code,
                msg!(
                    who.name,
                    " answered a \"",
                    name,
                    "\" that is not a non-empty string"
                ),
            )),
        }
    };
    Ok(Session {
        access_token: Some(AccessToken::new(tokens.access_token)),
        token_type: tokens.token_type,
        expires_at: tokens
            .expires_in
            .map(|secs| now.saturating_add(secs.min(MAX_EXPIRES_IN_SEC))),
        id_token: tokens.id_token.map(IdToken::new),
        scope: tokens.scope,
        user_id: extra("user_id")?,
        device_id: extra("device_id")?,
        homeserver_base_url: crate::protocol::matrix::homeserver_base_url(&obj),
        cookie_only: false,
        refresh_token_dropped: tokens.refresh_token.is_some(),
        backend_identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn handoff(status: u16, body: &str) -> Result<Session> {
        parse_token_response(TokenSource::Handoff, status, body, 1000, false)
    }

    #[test]
    fn backend_identity_only_from_the_handoff() {
        let body = r#"{"access_token":"a.b.c","identity":{"sub":"u1","email":"a@b.c"}}"#;
        let s = handoff(200, body).unwrap();
        let identity = s.backend_identity().unwrap();
        assert!(identity.verified);
        assert_eq!(identity.source, IdentitySource::Backend);
        assert_eq!(identity.claims.get_str("email"), Some("a@b.c"));
        let direct = parse_token_response(TokenSource::TokenEndpoint, 200, body, 0, false).unwrap();
        assert_eq!(direct.backend_identity(), None);
        // Cookie mode: no access_token, the identity still comes through.
        let cookie = parse_token_response(
            TokenSource::Handoff,
            200,
            r#"{"identity":{"sub":"u1"},"expires_in":60}"#,
            0,
            true,
        )
        .unwrap();
        assert!(cookie.cookie_only);
        assert_eq!(
            cookie.backend_identity().unwrap().claims.get_str("sub"),
            Some("u1")
        );
    }

    #[test]
    fn full_response() {
        let s = handoff(
            200,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3599,"refresh_token":"rt",
                "scope":"openid","id_token":"a.b.c"}"#,
        )
        .unwrap();
        assert_eq!(s.access_token.as_ref().unwrap().expose_secret(), "at");
        assert_eq!(s.expires_at, Some(4599));
        assert_eq!(s.token_type.as_deref(), Some("Bearer"));
        assert_eq!(s.id_token.as_ref().unwrap().expose_secret(), "a.b.c");
        assert!(s.refresh_token_dropped);
        assert!(!format!("{s:?}").contains("\"at\""));
        assert!(s.is_live(4588));
        assert!(!s.is_live(4589));
    }

    #[test]
    fn expires_in_forms() {
        assert_eq!(
            handoff(200, r#"{"access_token":"a","expires_in":"60"}"#)
                .unwrap()
                .expires_at,
            Some(1060)
        );
        assert_eq!(
            handoff(200, r#"{"access_token":"a","expires_in":12.9}"#)
                .unwrap()
                .expires_at,
            Some(1012)
        );
        assert_eq!(
            handoff(200, r#"{"access_token":"a"}"#).unwrap().expires_at,
            None
        );
        assert_eq!(
            handoff(200, r#"{"access_token":"a","expires_in":1e300}"#)
                .unwrap()
                .expires_at,
            Some(1000 + MAX_EXPIRES_IN_SEC)
        );
        let err = handoff(200, r#"{"access_token":"a","expires_in":-1}"#).unwrap_err();
        assert!(err
            .message()
            .ends_with("a \"expires_in\" that is not a non-negative number of seconds"));
        // The shared rules: a non-Bearer token_type and an empty string are refused.
        for body in [
            r#"{"access_token":"a","token_type":"DPoP"}"#,
            r#"{"access_token":"a","id_token":""}"#,
            r#"{"access_token":"a","user_id":""}"#,
        ] {
            assert_eq!(
                handoff(200, body).unwrap_err().code(),
                ErrorCode::HandoffFailed,
                "{body}"
            );
        }
        // An empty scope is kept as an empty scope.
        assert_eq!(
            handoff(200, r#"{"access_token":"a","scope":""}"#)
                .unwrap()
                .scope
                .as_deref(),
            Some("")
        );
    }

    #[test]
    fn errors() {
        let err = handoff(503, "").unwrap_err();
        assert_eq!(err.code(), ErrorCode::HandoffFailed);
        assert_eq!(err.status(), Some(503));
        assert!(err.is_retryable());
        let err = handoff(
            400,
            r#"{"error":"invalid_grant","error_description":"code used"}"#,
        )
        .unwrap_err();
        assert!(!err.is_retryable());
        assert_eq!(err.oauth().unwrap().error, "invalid_grant");
        assert_eq!(
            handoff(200, r#"{"token_type":"Bearer"}"#)
                .unwrap_err()
                .message(),
            "the token handoff endpoint (tokenHandoffUrl) answered no access_token"
        );
        assert!(handoff(200, "<html>")
            .unwrap_err()
            .message()
            .ends_with("did not answer a JSON object"));
        assert!(handoff(200, r#"{"access_token":42}"#).is_err());
        assert!(handoff(200, "")
            .unwrap_err()
            .message()
            .contains("cookieSession"));
        assert!(handoff(200, "{}").is_err());
        let err = parse_token_response(
            TokenSource::TokenEndpoint,
            400,
            r#"{"error":"invalid_grant"}"#,
            0,
            true,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
    }

    #[test]
    fn cookie_only_session_when_configured() {
        for body in ["", "  ", "{}"] {
            let s = parse_token_response(TokenSource::Handoff, 204, body, 0, true).unwrap();
            assert!(s.cookie_only && s.access_token.is_none() && s.is_live(u64::MAX));
        }
        // Never for a token endpoint.
        assert!(parse_token_response(TokenSource::TokenEndpoint, 200, "{}", 0, true).is_err());
    }

    #[test]
    fn identity_is_unverified() {
        let payload = Base64UrlUnpadded::encode_string(br#"{"sub":"u1","email":"a@b"}"#);
        let session = Session {
            id_token: Some(IdToken::new(format!("eyJhbGciOiJub25lIn0.{payload}.sig"))),
            ..Session::default()
        };
        let identity = session.unverified_identity().unwrap();
        assert!(!identity.verified);
        assert_eq!(identity.source, IdentitySource::IdToken);
        assert_eq!(identity.claims.get_str("sub"), Some("u1"));

        let opaque = Session {
            access_token: Some(AccessToken::new("opaque")),
            ..Session::default()
        };
        assert_eq!(
            opaque.unverified_identity().unwrap_err().code(),
            ErrorCode::NotLoggedIn
        );
        for bad in [
            "a.b",
            "a.!!.c",
            "a.b.c.d",
            &format!("x.{}.y", Base64UrlUnpadded::encode_string(b"[1]")),
        ] {
            assert_eq!(
                decode_unverified_claims(bad, IdentitySource::AccessToken)
                    .unwrap_err()
                    .code(),
                ErrorCode::Malformed,
                "{bad}"
            );
        }
    }
}
