//! Sessions: what the answer of the token handoff or of a token endpoint
//! means for the browser (the token response rules of
//! [`crate::protocol::token_response`]), and whose identity a session
//! carries.
//!
//! Refresh tokens are never kept in a [`Session`]: a browser cannot hold one
//! safely (RFC 9700 §4.14, OAuth 2.0 for Browser-Based Applications §6), so a
//! `refresh_token` member is dropped. Renewing a session is the backend's
//! job (the handoff endpoint keeps its refresh token server-side), or a new
//! login.

use super::secret::{AccessToken, IdToken};
use super::write::Obj;
use crate::json::{self, Value};
use crate::prelude::*;
use crate::protocol::identity::{decode_payload, IdentitySource};
use crate::protocol::token_response::{self, is_success, Members, Responder, TOKEN_ENDPOINT};
use crate::{Error, ErrorCode, Result};

/// A session is treated as over this many seconds before `expires_at`, so a
/// token is not sent just as it expires.
pub const EXPIRY_MARGIN_SEC: u64 = 10;

/// Largest response body read, in bytes.
pub const MAX_BODY_LEN: usize = 256 * 1024;

/// Largest `expires_in` honoured (one year); larger values are clamped.
const MAX_EXPIRES_IN_SEC: u64 = 365 * 24 * 3600;

/// A logged-in session. Tokens are redacted in `Debug`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// `access_token`; `None` for a cookie-only session.
    pub access_token: Option<AccessToken>,
    /// `token_type` as sent (always `Bearer` in some case), or `None`.
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
    /// True when the session lives only in an HttpOnly cookie.
    pub cookie_only: bool,
    /// The identity (claims JSON) the extension backend answered after
    /// verifying the access token (`createHandoffHandler` does); only read
    /// from handoff answers, never from a token endpoint.
    pub identity: Option<String>,
}

/// The identity `getUserIdentity()` answers: `{claims, verified, source}`.
pub(crate) fn identity_json(claims_json: &str, verified: bool, source: IdentitySource) -> String {
    Obj::new()
        .raw("claims", claims_json)
        .bool("verified", verified)
        .str("source", source.as_str())
        .done()
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

    /// The identity of the session: the one the backend verified
    /// (`verified: true`, source `backend`), else the claims of the ID
    /// Token, else of a JWT access token, decoded WITHOUT verifying any
    /// signature (`verified: false`). `not_logged_in` when there is no JWT
    /// to read (a cookie-only or opaque-token session: read a userinfo
    /// endpoint instead).
    pub fn identity(&self) -> Result<String> {
        if let Some(claims) = &self.identity {
            return Ok(identity_json(claims, true, IdentitySource::Backend));
        }
        let (token, source) = match (&self.id_token, &self.access_token) {
            (Some(id), _) => (id.expose_secret(), IdentitySource::IdToken),
            (None, Some(at)) if at.expose_secret().split('.').count() == 3 => {
                (at.expose_secret(), IdentitySource::AccessToken)
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::NotLoggedIn,
                    "the session has no JWT to read claims from (opaque or cookie-only session): use a userinfo endpoint",
                ))
            }
        };
        let (claims, _) = decode_payload(token, MAX_BODY_LEN)?;
        Ok(identity_json(&claims, false, source))
    }

    /// `{accessToken, expiresAt, idToken, userId, deviceId, tokenType,
    /// scope, homeserverBaseUrl, cookieOnly}` for the JS layer; absent
    /// values are `null`; `expiresAt` in seconds since the epoch.
    pub fn to_json(&self) -> String {
        let out = Obj::new().opt(
            "accessToken",
            self.access_token.as_ref().map(AccessToken::expose_secret),
        );
        let out = match self.expires_at {
            Some(at) => out.num("expiresAt", at),
            None => out.raw("expiresAt", "null"),
        };
        out.opt(
            "idToken",
            self.id_token.as_ref().map(IdToken::expose_secret),
        )
        .opt("userId", self.user_id.as_deref())
        .opt("deviceId", self.device_id.as_deref())
        .opt("tokenType", self.token_type.as_deref())
        .opt("scope", self.scope.as_deref())
        .opt("homeserverBaseUrl", self.homeserver_base_url.as_deref())
        .bool("cookieOnly", self.cookie_only)
        .done()
    }

    /// The form `persistSession: true` keeps in `sessionStorage`.
    pub fn persisted(&self) -> String {
        let mut out = Obj::new();
        for (name, value) in [
            (
                "access_token",
                self.access_token.as_ref().map(AccessToken::expose_secret),
            ),
            (
                "id_token",
                self.id_token.as_ref().map(IdToken::expose_secret),
            ),
            ("token_type", self.token_type.as_deref()),
            ("scope", self.scope.as_deref()),
            ("user_id", self.user_id.as_deref()),
            ("device_id", self.device_id.as_deref()),
            ("homeserver_base_url", self.homeserver_base_url.as_deref()),
            ("backend_identity", self.identity.as_deref()),
        ] {
            if let Some(v) = value {
                out = out.str(name, v);
            }
        }
        if let Some(at) = self.expires_at {
            out = out.num("expires_at", at);
        }
        out.bool("cookie_only", self.cookie_only).done()
    }

    /// A persisted session read back; `None` when unreadable or without a
    /// token or cookie.
    pub fn restored(text: &str) -> Option<Self> {
        let Ok(Value::Object(obj)) = json::parse(text) else {
            return None;
        };
        let get = |name: &str| obj.get_str(name).map(str::to_owned);
        let session = Self {
            access_token: get("access_token").map(AccessToken::new),
            id_token: get("id_token").map(IdToken::new),
            token_type: get("token_type"),
            scope: get("scope"),
            user_id: get("user_id"),
            device_id: get("device_id"),
            homeserver_base_url: get("homeserver_base_url"),
            expires_at: obj
                .get("expires_at")
                .and_then(Value::as_f64)
                .filter(|n| *n >= 0.0)
                .map(|n| n as u64),
            cookie_only: obj.get("cookie_only") == Some(&Value::Bool(true)),
            identity: get("backend_identity"),
        };
        (session.access_token.is_some() || session.cookie_only).then_some(session)
    }
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

const HANDOFF: Responder = Responder {
    code: ErrorCode::HandoffFailed,
    name: "the token handoff endpoint (tokenHandoffUrl)",
    hints: false,
};

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
    let who = match source {
        TokenSource::Handoff => HANDOFF,
        TokenSource::TokenEndpoint => TOKEN_ENDPOINT,
    };
    let cookie_allowed = cookie_session && source == TokenSource::Handoff;
    let cookie_only = Session {
        cookie_only: true,
        ..Session::default()
    };
    if is_success(status) && body.trim().is_empty() {
        return if cookie_allowed {
            Ok(cookie_only)
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
    let identity = match (source, obj.get("identity")) {
        (TokenSource::Handoff, Some(Value::Object(_))) => {
            member_text(body, "identity").map(str::to_owned)
        }
        _ => None,
    };
    if cookie_allowed && obj.get("access_token").is_none() {
        return Ok(Session {
            identity,
            ..cookie_only
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
        identity,
    })
}

/// The JSON text of the top-level member `name` of `text`, a JSON object
/// that already parsed. The text is taken as it came rather than written
/// again from the parsed value (measured: 2.8 kB less client wasm than
/// `json::Value::to_json`, whose number printing the client needs nowhere
/// else). `None` for a member name written with escapes (it is then not
/// taken as the backend's identity).
fn member_text<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let b = text.as_bytes();
    let ws = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    // The end of the string that starts at `i` (its closing quote + 1).
    let string_end = |mut i: usize| {
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    };
    // The end of the value that starts at `i`.
    let value_end = |mut i: usize| {
        let mut depth = 0usize;
        loop {
            match b.get(i)? {
                b'"' => i = string_end(i)?,
                b'{' | b'[' => {
                    depth += 1;
                    i += 1;
                }
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                b',' | b'}' | b']' if depth == 0 => return Some(i),
                _ => i += 1,
            }
            if depth == 0 && matches!(b.get(i - 1), Some(b'"' | b'}' | b']')) {
                return Some(i);
            }
        }
    };
    let mut i = ws(0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(i)?;
        let key = text.get(i + 1..key_end - 1)?;
        i = ws(key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(i + 1);
        let end = value_end(start)?;
        if key == name {
            return text.get(start..end).map(str::trim_end);
        }
        i = ws(end);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i += 1;
    }
}

/// OpenID Connect Core §3.1.3.7 step 11, for a public client that
/// exchanged the code itself: the ID Token's `nonce` claim must equal the
/// `nonce` of the flow (`invalid_claim` otherwise, and without an ID
/// Token). The claims are decoded WITHOUT verifying the signature: this
/// ties the token to this login (no replay of another one's ID Token); it
/// does not prove who issued it (verify ID Tokens on a backend).
pub fn check_id_token_nonce(session: &Session, nonce: &str) -> Result<()> {
    let claims = session
        .id_token
        .as_ref()
        .and_then(|t| decode_payload(t.expose_secret(), MAX_BODY_LEN).ok());
    let matches = claims.is_some_and(|(_, c)| {
        c.get_str("nonce")
            .is_some_and(|n| super::secret::State::new(n).ct_eq(nonce))
    });
    if matches {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::InvalidClaim,
        "the ID Token's nonce is not this login's (OpenID Connect Core §3.1.3.7): the tokens are not used",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handoff(status: u16, body: &str) -> Result<Session> {
        parse_token_response(TokenSource::Handoff, status, body, 1000, false)
    }

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            crate::b64::encode(payload.as_bytes())
        )
    }

    #[test]
    fn backend_identity_only_from_the_handoff() {
        let body = r#"{"access_token":"a.b.c","identity":{"sub":"u1","email":"a@b.c"}}"#;
        let s = handoff(200, body).unwrap();
        assert_eq!(
            s.identity().unwrap(),
            r#"{"claims":{"sub":"u1","email":"a@b.c"},"verified":true,"source":"backend"}"#
        );
        let direct = parse_token_response(TokenSource::TokenEndpoint, 200, body, 0, false).unwrap();
        assert_eq!(direct.identity, None);
        let cookie = parse_token_response(
            TokenSource::Handoff,
            200,
            r#"{"identity":{"sub":"u1"},"expires_in":60}"#,
            0,
            true,
        )
        .unwrap();
        assert!(cookie.cookie_only);
        assert!(cookie.identity().unwrap().contains(r#""sub":"u1""#));
    }

    #[test]
    fn full_response_and_the_shared_rules() {
        let s = handoff(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":3599,"refresh_token":"rt","scope":"openid","id_token":"a.b.c"}"#).unwrap();
        assert_eq!(s.access_token.as_ref().unwrap().expose_secret(), "at");
        assert_eq!(s.expires_at, Some(4599));
        assert!(!format!("{s:?}").contains("\"at\""));
        assert!(s.is_live(4588) && !s.is_live(4589));
        assert_eq!(
            handoff(200, r#"{"access_token":"a","expires_in":"60"}"#)
                .unwrap()
                .expires_at,
            Some(1060)
        );
        assert_eq!(
            handoff(200, r#"{"access_token":"a","expires_in":1e300}"#)
                .unwrap()
                .expires_at,
            Some(1000 + MAX_EXPIRES_IN_SEC)
        );
        for body in [
            r#"{"access_token":"a","token_type":"DPoP"}"#,
            r#"{"access_token":"a","id_token":""}"#,
            r#"{"access_token":"a","user_id":""}"#,
            r#"{"access_token":"a","expires_in":-1}"#,
        ] {
            assert_eq!(
                handoff(200, body).unwrap_err().code(),
                ErrorCode::HandoffFailed,
                "{body}"
            );
        }
        assert_eq!(
            handoff(200, r#"{"access_token":"a","scope":""}"#)
                .unwrap()
                .scope
                .as_deref(),
            Some("")
        );
        assert_eq!(
            handoff(200, r#"{"token_type":"Bearer"}"#)
                .unwrap_err()
                .message(),
            "the token handoff endpoint (tokenHandoffUrl) answered no access_token"
        );
        let err = handoff(503, "").unwrap_err();
        assert!(err.is_retryable() && err.status() == Some(503));
        assert!(handoff(200, "")
            .unwrap_err()
            .message()
            .contains("cookieSession"));
        for body in ["", "  ", "{}"] {
            let s = parse_token_response(TokenSource::Handoff, 204, body, 0, true).unwrap();
            assert!(s.cookie_only && s.access_token.is_none() && s.is_live(u64::MAX));
        }
        assert!(parse_token_response(TokenSource::TokenEndpoint, 200, "{}", 0, true).is_err());
        assert_eq!(
            parse_token_response(
                TokenSource::TokenEndpoint,
                400,
                r#"{"error":"invalid_grant"}"#,
                0,
                true
            )
            .unwrap_err()
            .code(),
            ErrorCode::TokenEndpointError
        );
    }

    #[test]
    fn json_for_js_and_the_persisted_form() {
        let s = handoff(
            200,
            r#"{"access_token":"at","expires_in":60,"identity":{"sub":"u"}}"#,
        )
        .unwrap();
        assert_eq!(
            s.to_json(),
            r#"{"accessToken":"at","expiresAt":1060,"idToken":null,"userId":null,"deviceId":null,"tokenType":null,"scope":null,"homeserverBaseUrl":null,"cookieOnly":false}"#
        );
        assert_eq!(Session::restored(&s.persisted()), Some(s));
        assert_eq!(Session::restored("{}"), None);
        assert_eq!(Session::restored("nope"), None);
    }

    #[test]
    fn identity_is_unverified_from_tokens() {
        let s = Session {
            id_token: Some(IdToken::new(jwt(r#"{"sub":"u1","email":"a@b"}"#))),
            ..Session::default()
        };
        assert_eq!(
            s.identity().unwrap(),
            r#"{"claims":{"sub":"u1","email":"a@b"},"verified":false,"source":"id_token"}"#
        );
        let at = Session {
            access_token: Some(AccessToken::new(jwt(r#"{"sub":"u2"}"#))),
            ..Session::default()
        };
        assert!(at
            .identity()
            .unwrap()
            .ends_with(r#""source":"access_token"}"#));
        let opaque = Session {
            access_token: Some(AccessToken::new("opaque")),
            ..Session::default()
        };
        assert_eq!(
            opaque.identity().unwrap_err().code(),
            ErrorCode::NotLoggedIn
        );
        let broken = Session {
            id_token: Some(IdToken::new(format!("x.{}.y", crate::b64::encode(b"[1]")))),
            ..Session::default()
        };
        assert_eq!(broken.identity().unwrap_err().code(), ErrorCode::Malformed);
    }

    #[test]
    fn member_text_takes_the_value_as_written() {
        let body = r#" { "a" : "x\"}" , "identity" : { "sub" : "u", "n": [1, {"b": "]"}] , "e": 1.50 } , "z": 2 }"#;
        assert_eq!(
            member_text(body, "identity"),
            Some(r#"{ "sub" : "u", "n": [1, {"b": "]"}] , "e": 1.50 }"#)
        );
        assert_eq!(member_text(body, "a"), Some(r#""x\"}""#));
        assert_eq!(member_text(body, "z"), Some("2"));
        assert_eq!(member_text(body, "missing"), None);
        assert_eq!(member_text(r#"{"ident\u0069ty":{}}"#, "identity"), None);
        assert_eq!(member_text("[]", "a"), None);
        // Every value the parser accepts is delimited the same way.
        let s = handoff(
            200,
            r#"{"access_token":"at","identity":{"sub":"u1","exp":1.5e3,"ok":true}}"#,
        )
        .unwrap();
        assert_eq!(
            s.identity.as_deref(),
            Some(r#"{"sub":"u1","exp":1.5e3,"ok":true}"#)
        );
    }

    #[test]
    fn id_token_nonce() {
        let s = Session {
            id_token: Some(IdToken::new(jwt(r#"{"nonce":"n-1"}"#))),
            ..Session::default()
        };
        assert!(check_id_token_nonce(&s, "n-1").is_ok());
        assert_eq!(
            check_id_token_nonce(&s, "n-2").unwrap_err().code(),
            ErrorCode::InvalidClaim
        );
        assert_eq!(
            check_id_token_nonce(&Session::default(), "n-1")
                .unwrap_err()
                .code(),
            ErrorCode::InvalidClaim
        );
    }
}
