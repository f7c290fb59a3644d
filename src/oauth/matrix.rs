//! Matrix SSO client login (seed 003; Matrix client-server API v1.x §
//! "Single Sign-On" and "Token-based login"): checking that the homeserver
//! offers the flow, and the `m.login.token` exchange.
//!
//! Matrix SSO has no `state`. The flow is bound by our one-time nonce in the
//! `redirectUrl` ([`super::authorize::NONCE_PARAM`]), which
//! [`super::complete`] verifies and consumes before the `loginToken` is
//! used.

use super::secret::LoginToken;
use super::session::{session_from_object, Session, MAX_BODY_LEN};
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// One identity provider the homeserver offers for `m.login.sso`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixIdentityProvider {
    /// `id`, usable as `idpId`.
    pub id: String,
    /// `name`, for display.
    pub name: String,
}

/// Checks the answer of `GET /_matrix/client/v3/login`: both `m.login.sso`
/// and `m.login.token` must be advertised, else `unsupported`. When `idp_id`
/// is given and the server lists identity providers, it must be one of them.
/// Returns the listed identity providers.
pub fn check_login_flows(
    status: u16,
    body: &str,
    idp_id: Option<&str>,
) -> Result<Vec<MatrixIdentityProvider>> {
    if !(200..=299).contains(&status) {
        return Err(Error::new(
            ErrorCode::NetworkError,
            format!("the homeserver answered HTTP {status} to GET /_matrix/client/v3/login"),
        )
        .with_status(status));
    }
    let unsupported = |message: &str| Error::new(ErrorCode::Unsupported, message);
    let parsed = if body.len() <= MAX_BODY_LEN {
        json::parse(body).ok()
    } else {
        None
    };
    let Some(Value::Object(obj)) = parsed else {
        return Err(unsupported(
            "the homeserver's login flows are not a JSON object",
        ));
    };
    let flows = obj.get("flows").and_then(Value::as_array).unwrap_or(&[]);
    let flow_of = |kind: &str| {
        flows
            .iter()
            .filter_map(Value::as_object)
            .find(|f| f.get_str("type") == Some(kind))
    };
    let (Some(sso), Some(_token)) = (flow_of("m.login.sso"), flow_of("m.login.token")) else {
        return Err(unsupported(
            "the homeserver does not offer SSO login: its login flows must include m.login.sso and m.login.token",
        ));
    };
    let providers: Vec<MatrixIdentityProvider> = sso
        .get("identity_providers")
        .and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|p| {
            Some(MatrixIdentityProvider {
                id: p.get_str("id")?.to_owned(),
                name: p.get_str("name").unwrap_or("").to_owned(),
            })
        })
        .collect();
    if let Some(wanted) = idp_id {
        if !providers.is_empty() && !providers.iter().any(|p| p.id == wanted) {
            return Err(unsupported(
                "the homeserver does not list the configured idpId among its identity providers",
            ));
        }
    }
    Ok(providers)
}

/// The body of `POST /_matrix/client/v3/login` for token login:
/// `{"type":"m.login.token","token":"…"}`. It is also the body sent to a
/// `tokenHandoffUrl` for the matrix profile, so a backend can forward it as is.
pub fn login_request_body(token: &LoginToken) -> String {
    let mut obj = Object::default();
    obj.insert("type", Value::String("m.login.token".to_owned()));
    obj.insert("token", Value::String(token.expose_secret().to_owned()));
    Value::Object(obj).to_json()
}

/// Parses the answer to the token login: `access_token`, `user_id` and
/// `device_id` are required; `expires_in_ms` gives `expires_at`;
/// `well_known["m.homeserver"].base_url` is kept. A non-2xx answer is a
/// `token_endpoint_error` with the status (the Matrix `errcode` is named in
/// the message).
pub fn parse_login_response(status: u16, body: &str, now: u64) -> Result<Session> {
    let parsed = if body.len() <= MAX_BODY_LEN {
        json::parse(body).ok()
    } else {
        None
    };
    let obj = parsed.as_ref().and_then(Value::as_object);
    if !(200..=299).contains(&status) {
        let errcode = obj
            .and_then(|o| o.get_str("errcode"))
            .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        return Err(Error::new(
            ErrorCode::TokenEndpointError,
            format!("the homeserver rejected the login token with HTTP {status}{errcode}: start the login again"),
        )
        .with_status(status));
    }
    let fail = |what: &str| {
        Error::new(
            ErrorCode::TokenEndpointError,
            format!("the homeserver's login answer has {what}"),
        )
    };
    let Some(obj) = obj else {
        return Err(fail("no JSON object"));
    };
    let mut session = session_from_object(obj, now).map_err(|what| fail(&what))?;
    if session.user_id.is_none() || session.device_id.is_none() {
        return Err(fail("no user_id or device_id"));
    }
    session.expires_at = match obj.get("expires_in_ms").and_then(Value::as_f64) {
        Some(ms) if ms >= 0.0 => Some(now.saturating_add((ms / 1000.0).min(1e12) as u64)),
        _ => None,
    };
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_flows() {
        let ok = r#"{"flows":[{"type":"m.login.password"},
            {"type":"m.login.sso","identity_providers":[{"id":"oidc-github","name":"GitHub"}]},
            {"type":"m.login.token"}]}"#;
        let providers = check_login_flows(200, ok, Some("oidc-github")).unwrap();
        assert_eq!(
            providers,
            vec![MatrixIdentityProvider {
                id: "oidc-github".into(),
                name: "GitHub".into()
            }]
        );
        assert_eq!(
            check_login_flows(200, ok, Some("saml")).unwrap_err().code(),
            ErrorCode::Unsupported
        );
        let password_only = r#"{"flows":[{"type":"m.login.password"}]}"#;
        assert_eq!(
            check_login_flows(200, password_only, None)
                .unwrap_err()
                .code(),
            ErrorCode::Unsupported
        );
        assert_eq!(
            check_login_flows(200, "nope", None).unwrap_err().code(),
            ErrorCode::Unsupported
        );
        let err = check_login_flows(502, "", None).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.code(), ErrorCode::NetworkError);
    }

    #[test]
    fn login_body_and_response() {
        assert_eq!(
            login_request_body(&LoginToken::new("t\"1")),
            r#"{"type":"m.login.token","token":"t\"1"}"#
        );
        let s = parse_login_response(
            200,
            r#"{"access_token":"syt_x","user_id":"@a:example.org","device_id":"DEV",
                "expires_in_ms":60000,"well_known":{"m.homeserver":{"base_url":"https://matrix.example.org"}}}"#,
            100,
        )
        .unwrap();
        assert_eq!(s.user_id.as_deref(), Some("@a:example.org"));
        assert_eq!(s.device_id.as_deref(), Some("DEV"));
        assert_eq!(s.expires_at, Some(160));
        assert_eq!(
            s.homeserver_base_url.as_deref(),
            Some("https://matrix.example.org")
        );
        let err =
            parse_login_response(403, r#"{"errcode":"M_FORBIDDEN","error":"x"}"#, 0).unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert!(err.message().contains("(M_FORBIDDEN)"));
        assert!(parse_login_response(200, r#"{"access_token":"a"}"#, 0).is_err());
    }
}
