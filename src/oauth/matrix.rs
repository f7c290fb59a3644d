//! Matrix SSO client login (seed 003; Matrix client-server API v1.x §
//! "Single Sign-On" and "Token-based login"): checking that the homeserver
//! offers the flow, and the `m.login.token` exchange.
//!
//! Matrix SSO has no `state`. The flow is bound by our one-time nonce in the
//! `redirectUrl` ([`super::authorize::NONCE_PARAM`]), which
//! [`super::complete`] verifies and consumes before the `loginToken` is
//! used.

use super::secret::AccessToken;
use super::session::{Session, MAX_BODY_LEN};
use crate::prelude::*;
pub use crate::protocol::matrix::IdentityProvider as MatrixIdentityProvider;
use crate::protocol::matrix::{read_login_flows, read_login_response};
use crate::Result;

/// Checks the answer of `GET /_matrix/client/v3/login` by the shared rules
/// ([`crate::protocol::matrix`]): both `m.login.sso` and `m.login.token`
/// must be advertised, else `unsupported`; when `idp_id` is given and the
/// server lists identity providers, it must be one of them. Returns the
/// listed identity providers.
pub fn check_login_flows(
    status: u16,
    body: &str,
    idp_id: Option<&str>,
) -> Result<Vec<MatrixIdentityProvider>> {
    let flows = read_login_flows(status, body.as_bytes(), MAX_BODY_LEN)?;
    flows.require_sso(idp_id)?;
    Ok(flows.identity_providers)
}

/// Parses the answer to the token login by the shared rules
/// ([`crate::protocol::matrix::read_login_response`]) into a session:
/// `expires_in_ms` gives `expires_at`; a `refresh_token` is dropped.
pub fn parse_login_response(status: u16, body: &str, now: u64) -> Result<Session> {
    let login = read_login_response(status, body.as_bytes(), MAX_BODY_LEN)?;
    Ok(Session {
        access_token: Some(AccessToken::new(login.access_token)),
        user_id: Some(login.user_id),
        device_id: Some(login.device_id),
        homeserver_base_url: login.homeserver_base_url,
        expires_at: login.expires_in_ms.map(|ms| now.saturating_add(ms / 1000)),
        ..Session::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

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
            ErrorCode::TokenEndpointError
        );
        let err = check_login_flows(502, "", None).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
    }

    #[test]
    fn login_body_and_response() {
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
        assert!(err.message().contains("M_FORBIDDEN"));
        assert!(parse_login_response(200, r#"{"access_token":"a"}"#, 0).is_err());
    }
}
