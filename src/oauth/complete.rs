//! Completing a flow from its callback URL: every check, in order, and the
//! one request the facade must make next.
//!
//! Order for `state`-bound profiles (oauth2, mia-console), after parsing
//! (`invalid_callback` for repeated parameters):
//! 1. no `state`: an `error` is reported as `authorization_denied`, anything
//!    else is `invalid_callback`;
//! 2. the flow record is looked up and consumed, one time
//!    (`state_unknown`, `state_reused`, `state_expired`), also when the
//!    callback carries an `error`;
//! 3. the callback must have arrived at the flow's `redirect_uri` (same
//!    origin and path; RFC 9700 §4.1 binds the code to that page);
//! 4. RFC 9207 §2.4 `iss` is checked, error responses included
//!    (`iss_missing`, `iss_mismatch`);
//! 5. an `error` becomes `authorization_denied` with the server's fields
//!    (RFC 6749 §4.1.2.1);
//! 6. a `code` must be present; the handoff or token request is built.
//!
//! Matrix and auth-service flows are bound by our nonce instead (checked and
//! consumed the same way, and for Matrix the page checked against
//! `redirectUri`) before the `loginToken` is used or the session is trusted.
//!
//! The facade scrubs the address bar with [`super::scrubbed_url`] before
//! calling this, whatever the outcome.

use super::auth_service;
use super::callback::{parse_callback, CallbackParams};
use super::config::{ClientConfig, IssPolicy, ProfileConfig, ProfileKind};
use super::flow::{self, FlowRecord};
use super::matrix;
use super::secret::{AuthorizationCode, State};
use crate::json::{Object, Value};
use crate::platform::{Clock, Storage};
use crate::prelude::*;
use crate::protocol::oauth_error::{self, ErrorBody};
use crate::protocol::url::{page_of, trim_trailing_slashes};
use crate::{Error, ErrorCode, Result};
use core::fmt;

/// What the facade must do after a valid callback. Every request body holds
/// a secret (code, verifier or login token): `Debug` redacts them.
#[derive(Clone, PartialEq, Eq)]
pub enum Completion {
    /// POST `body_json` (`Content-Type: application/json`,
    /// `credentials: 'include'`) to the `tokenHandoffUrl`, then read the
    /// answer with [`super::parse_token_response`] (`TokenSource::Handoff`).
    /// oauth2 body: `{"code","state","code_verifier"?,"redirect_uri","iss"?}`;
    /// mia-console body: exactly `{"code","state"}` (what the backend forwards
    /// to `{consoleUrl}/api/oauth/token`, seed 000); matrix body:
    /// `{"type":"m.login.token","token"}` (what the backend forwards to the
    /// homeserver's `/login`).
    Handoff {
        /// `tokenHandoffUrl`.
        url: String,
        /// The JSON body.
        body_json: String,
    },
    /// A public client's token request (RFC 6749 §4.1.3, RFC 7636 §4.5):
    /// POST `form_body` (`application/x-www-form-urlencoded`,
    /// `credentials: 'omit'`) to `url`, then [`super::parse_token_response`]
    /// (`TokenSource::TokenEndpoint`).
    DirectTokenRequest {
        /// `tokenEndpoint`.
        url: String,
        /// `grant_type=authorization_code&code=…&redirect_uri=…&client_id=…&code_verifier=…`.
        form_body: String,
    },
    /// POST `body_json` to the homeserver's `/_matrix/client/v3/login`
    /// (`credentials: 'omit'`), then [`super::matrix::parse_login_response`].
    MatrixLogin {
        /// `{homeserverUrl}/_matrix/client/v3/login`.
        url: String,
        /// `{"type":"m.login.token","token":"…"}`.
        body_json: String,
    },
    /// The identity provider came back to the web-login callback page:
    /// POST `body_json` (JSON, `credentials: 'include'`) to `url`, then go to
    /// [`super::auth_service::next_location`].
    AuthServiceToken {
        /// `{authServiceUrl}/oauth/token`.
        url: String,
        /// `{"state":"…","code":"…"}`.
        body_json: String,
    },
    /// The auth-service flow returned with our nonce, now consumed: the `sid`
    /// cookie is the session; GET `userinfo_url` with `credentials:
    /// 'include'` and read it with [`super::auth_service::parse_userinfo`].
    AuthServiceReturned {
        /// `{authServiceUrl}/userinfo`.
        userinfo_url: String,
    },
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, url) = match self {
            Self::Handoff { url, .. } => ("Handoff", url),
            Self::DirectTokenRequest { url, .. } => ("DirectTokenRequest", url),
            Self::MatrixLogin { url, .. } => ("MatrixLogin", url),
            Self::AuthServiceToken { url, .. } => ("AuthServiceToken", url),
            Self::AuthServiceReturned { userinfo_url } => ("AuthServiceReturned", userinfo_url),
        };
        f.debug_struct(name)
            .field("url", url)
            .field("body", &"[redacted]")
            .finish()
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

/// Checks the callback against its flow and returns the next request.
///
/// `storage` is where [`super::start_flow`] stored the flow (the same
/// `sessionStorage`, or the same memory in popup mode).
pub fn complete(
    storage: &dyn Storage,
    clock: &dyn Clock,
    config: &ClientConfig,
    callback_url: &str,
) -> Result<Completion> {
    config.validate()?;
    let params = parse_callback(callback_url)?;
    let now = clock.now_sec();
    let kind = config.profile.kind();
    let take = |state: &State| -> Result<FlowRecord> {
        let record = flow::take(storage, now, config.state_ttl_sec, state)?;
        if record.profile != kind {
            return Err(invalid(
                "the callback belongs to a login flow of another profile: check that one client handles this page",
            ));
        }
        Ok(record)
    };
    match &config.profile {
        ProfileConfig::OAuth2(_) | ProfileConfig::MiaConsole(_) => {
            let Some(state) = params.state.clone() else {
                if params.error.is_error() {
                    return Err(denied(params.error));
                }
                return Err(invalid(
                    "the callback has no state parameter: it was not started by this client, or the server dropped state",
                ));
            };
            let record = take(&state)?;
            check_redirect_page(&record, callback_url)?;
            check_iss(
                config.iss_policy,
                record.issuer.as_deref(),
                params.iss.as_deref(),
            )?;
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            let Some(code) = params.code.clone() else {
                return Err(invalid("the callback has neither code nor error"));
            };
            Ok(code_completion(config, &record, &params, &state, &code))
        }
        ProfileConfig::Matrix(p) => {
            let Some(nonce) = &params.nonce else {
                return Err(invalid(
                    "the Matrix callback lacks the flow nonce (ext_sso_nonce): it was not started by this client; \
                     the loginToken is not used",
                ));
            };
            let record = take(nonce)?;
            check_redirect_page(&record, callback_url)?;
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            let Some(token) = &params.login_token else {
                return Err(invalid(
                    "the Matrix callback has no loginToken: the homeserver did not complete the login",
                ));
            };
            let body_json = matrix::login_request_body(token);
            Ok(match &config.token_handoff_url {
                Some(url) => Completion::Handoff {
                    url: url.clone(),
                    body_json,
                },
                None => Completion::MatrixLogin {
                    url: format!(
                        "{}/_matrix/client/v3/login",
                        trim_trailing_slashes(&p.homeserver_url)
                    ),
                    body_json,
                },
            })
        }
        ProfileConfig::MiaAuthService(p) => {
            if let Some(nonce) = &params.nonce {
                if params.code.is_some() || params.login_token.is_some() {
                    return Err(invalid(
                        "the callback carries both the flow nonce and a code: rejected as ambiguous",
                    ));
                }
                take(nonce)?;
                return Ok(Completion::AuthServiceReturned {
                    userinfo_url: auth_service::userinfo_url(p),
                });
            }
            if params.error.is_error() {
                return Err(denied(params.error));
            }
            match (&params.code, &params.state) {
                (Some(code), Some(state)) => {
                    let mut obj = Object::default();
                    obj.insert("state", Value::String(state.expose_secret().to_owned()));
                    obj.insert("code", Value::String(code.expose_secret().to_owned()));
                    Ok(Completion::AuthServiceToken {
                        url: auth_service::token_url(p),
                        body_json: Value::Object(obj).to_json(),
                    })
                }
                _ => Err(invalid(
                    "the auth-service callback needs code and state (from the identity provider) or the flow nonce",
                )),
            }
        }
    }
}

/// The callback must be on the page the flow named as `redirect_uri`
/// (origin and path), so a code or login token delivered elsewhere on the
/// origin (an open redirector, another app) is not used.
fn check_redirect_page(record: &FlowRecord, callback_url: &str) -> Result<()> {
    let Some(expected) = record.redirect_uri.as_deref() else {
        return Ok(());
    };
    match (page_of(expected), page_of(callback_url)) {
        (Some(expected), Some(actual)) if expected == actual => Ok(()),
        _ => Err(invalid(
            "the callback arrived at a page other than the flow's redirectUri (compare origin and path);              the code is not used",
        )),
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

fn code_completion(
    config: &ClientConfig,
    record: &FlowRecord,
    params: &CallbackParams,
    state: &State,
    code: &AuthorizationCode,
) -> Completion {
    let redirect_uri = record.redirect_uri.clone().unwrap_or_default();
    if let Some(url) = &config.token_handoff_url {
        let mut obj = Object::default();
        obj.insert("code", Value::String(code.expose_secret().to_owned()));
        obj.insert("state", Value::String(state.expose_secret().to_owned()));
        if record.profile == ProfileKind::OAuth2 {
            if let Some(verifier) = &record.code_verifier {
                obj.insert(
                    "code_verifier",
                    Value::String(verifier.expose_secret().to_owned()),
                );
            }
            obj.insert("redirect_uri", Value::String(redirect_uri));
            if let Some(iss) = &params.iss {
                obj.insert("iss", Value::String(iss.clone()));
            }
        }
        return Completion::Handoff {
            url: url.clone(),
            body_json: Value::Object(obj).to_json(),
        };
    }
    // Validation guarantees an oauth2 profile with a token endpoint here.
    let (token_endpoint, client_id) = match &config.profile {
        ProfileConfig::OAuth2(p) => (
            p.token_endpoint.clone().unwrap_or_default(),
            p.client_id.as_str(),
        ),
        _ => (String::new(), ""),
    };
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code.expose_secret())
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("client_id", client_id);
    if let Some(verifier) = &record.code_verifier {
        form.append_pair("code_verifier", verifier.expose_secret());
    }
    Completion::DirectTokenRequest {
        url: token_endpoint,
        form_body: form.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::oauth::authorize::start_flow;
    use crate::oauth::config::*;
    use crate::oauth::test_support::{oauth2_config, SeqRandom};
    use crate::platform::{FixedClock, MemoryStorage};

    fn started(config: &ClientConfig, storage: &MemoryStorage) -> String {
        // A distinct random sequence per flow in this storage.
        let random = SeqRandom::starting_at((storage.keys().unwrap().len() as u8).wrapping_mul(67));
        start_flow(storage, &FixedClock(1000), &random, config)
            .unwrap()
            .state
            .expose_secret()
            .to_owned()
    }

    fn body_of(c: &Completion) -> json::Object {
        let (Completion::Handoff { body_json, .. }
        | Completion::MatrixLogin { body_json, .. }
        | Completion::AuthServiceToken { body_json, .. }) = c
        else {
            panic!("no JSON body in {c:?}")
        };
        json::parse(body_json).unwrap().as_object().unwrap().clone()
    }

    #[test]
    fn oauth2_handoff_body_and_one_time_use() {
        let s = MemoryStorage::default();
        let config = oauth2_config();
        let state = started(&config, &s);
        let url = format!(
            "https://ext.example/callback?code=c%2B1&state={state}&iss=https%3A%2F%2Fas.example"
        );
        let c = complete(&s, &FixedClock(1001), &config, &url).unwrap();
        let Completion::Handoff { url: handoff, .. } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(handoff, "/api/sso/token");
        let body = body_of(&c);
        assert_eq!(body.get_str("code"), Some("c+1"));
        assert_eq!(body.get_str("state"), Some(state.as_str()));
        assert_eq!(body.get_str("code_verifier").map(str::len), Some(43));
        assert_eq!(
            body.get_str("redirect_uri"),
            Some("https://ext.example/callback")
        );
        assert_eq!(body.get_str("iss"), Some("https://as.example"));
        assert_eq!(body.len(), 5);
        assert!(!format!("{c:?}").contains("c+1"));

        let again = complete(&s, &FixedClock(1002), &config, &url).unwrap_err();
        assert_eq!(again.code(), ErrorCode::StateReused);
    }

    #[test]
    fn state_rules() {
        let s = MemoryStorage::default();
        let config = oauth2_config();
        let err = complete(
            &s,
            &FixedClock(1),
            &config,
            "https://ext.example/callback?code=c&state=XyZ-state",
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateUnknown);
        assert!(!err.message().contains("XyZ"));

        let state = started(&config, &s);
        let url = format!("https://ext.example/callback?code=c&state={state}");
        let err = complete(&s, &FixedClock(1600), &config, &url).unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateExpired);

        let state = started(&config, &s);
        let url = format!("https://ext.example/callback?code=c&state={state}");
        assert!(complete(&s, &FixedClock(1599), &config, &url).is_ok());

        let err = complete(
            &s,
            &FixedClock(1),
            &config,
            "https://ext.example/callback?code=c",
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidCallback);
    }

    #[test]
    fn error_callback_consumes_the_flow_and_carries_fields() {
        let s = MemoryStorage::default();
        let config = oauth2_config();
        let state = started(&config, &s);
        let url = format!(
            "https://ext.example/callback?error=access_denied&error_description=no%20way&error_uri=https%3A%2F%2Fas%2Fe&state={state}"
        );
        let err = complete(&s, &FixedClock(1001), &config, &url).unwrap_err();
        assert_eq!(err.code(), ErrorCode::AuthorizationDenied);
        assert_eq!(
            err.message(),
            "the authorization server refused the login with error \"access_denied\""
        );
        let fields = err.oauth().unwrap();
        assert_eq!(fields.error_description.as_deref(), Some("no way"));
        assert_eq!(fields.error_uri.as_deref(), Some("https://as/e"));
        let replay = format!("https://ext.example/callback?code=c&state={state}");
        assert_eq!(
            complete(&s, &FixedClock(1002), &config, &replay)
                .unwrap_err()
                .code(),
            ErrorCode::StateReused
        );

        let err = complete(
            &s,
            &FixedClock(1),
            &config,
            "https://ext.example/callback?error=server_error",
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::AuthorizationDenied);
    }

    #[test]
    fn iss_policies() {
        let s = MemoryStorage::default();
        let config = oauth2_config(); // issuer https://as.example, if-present
        let state = started(&config, &s);
        let url = format!(
            "https://ext.example/callback?code=c&state={state}&iss=https%3A%2F%2Fevil.example"
        );
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, &url)
                .unwrap_err()
                .code(),
            ErrorCode::IssMismatch
        );
        // Mismatch also on an error response.
        let state = started(&config, &s);
        let url = format!(
            "https://ext.example/callback?error=x&state={state}&iss=https%3A%2F%2Fevil.example"
        );
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, &url)
                .unwrap_err()
                .code(),
            ErrorCode::IssMismatch
        );
        // Absent iss passes under if-present.
        let state = started(&config, &s);
        assert!(complete(
            &s,
            &FixedClock(1001),
            &config,
            &format!("https://ext.example/callback?code=c&state={state}")
        )
        .is_ok());

        let mut require = config.clone();
        require.iss_policy = IssPolicy::Require;
        let state = started(&require, &s);
        let url = format!("https://ext.example/callback?code=c&state={state}");
        assert_eq!(
            complete(&s, &FixedClock(1001), &require, &url)
                .unwrap_err()
                .code(),
            ErrorCode::IssMissing
        );

        let mut off = config.clone();
        off.iss_policy = IssPolicy::Off;
        let state = started(&off, &s);
        let url = format!(
            "https://ext.example/callback?code=c&state={state}&iss=https%3A%2F%2Fevil.example"
        );
        assert!(complete(&s, &FixedClock(1001), &off, &url).is_ok());
    }

    #[test]
    fn callback_must_arrive_at_the_redirect_uri() {
        let s = MemoryStorage::default();
        let config = oauth2_config();
        let state = started(&config, &s);
        let url = format!("https://ext.example/open-redirect?code=c&state={state}");
        let err = complete(&s, &FixedClock(1001), &config, &url).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidCallback);
        assert!(err.message().contains("redirectUri"));
        let state = started(&config, &s);
        let url = format!("HTTPS://EXT.example:443/callback?x=1&code=c&state={state}#frag");
        assert!(complete(&s, &FixedClock(1001), &config, &url).is_ok());
    }

    #[test]
    fn fragment_callback_and_repeated_params() {
        let s = MemoryStorage::default();
        let config = oauth2_config();
        let state = started(&config, &s);
        let url = format!("https://ext.example/callback#code=c&state={state}");
        assert!(complete(&s, &FixedClock(1001), &config, &url).is_ok());
        let state = started(&config, &s);
        let url = format!("https://ext.example/callback?code=c&state={state}#code=d");
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, &url)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidCallback
        );
    }

    #[test]
    fn direct_token_request_for_public_client() {
        let config = ClientConfig::for_authorization_server(
            "https://login.example.com",
            "ext-42",
            "https://ext.example/cb",
        )
        .unwrap();
        let s = MemoryStorage::default();
        let state = started(&config, &s);
        let c = complete(
            &s,
            &FixedClock(1001),
            &config,
            &format!("https://ext.example/cb?code=abc&state={state}"),
        )
        .unwrap();
        let Completion::DirectTokenRequest { url, form_body } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(url, "https://login.example.com/token");
        let verifier = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
        assert_eq!(
            form_body,
            &format!(
                "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fext.example%2Fcb\
                 &client_id=ext-42&code_verifier={verifier}"
            )
        );
    }

    #[test]
    fn mia_console_handoff_is_exactly_code_and_state() {
        let mut config = ClientConfig::new(ProfileConfig::MiaConsole(MiaConsoleProfile {
            console_url: "https://console.example.com".into(),
            tenant_id: "t".into(),
            extension_id: "e".into(),
        }));
        config.token_handoff_url = Some("https://ext.example/api/token".into());
        let s = MemoryStorage::default();
        let state = started(&config, &s);
        let c = complete(
            &s,
            &FixedClock(1001),
            &config,
            &format!("https://ext.example/cb?code=k&state={state}"),
        )
        .unwrap();
        let Completion::Handoff { body_json, .. } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(body_json, &format!(r#"{{"code":"k","state":"{state}"}}"#));
    }

    #[test]
    fn matrix_nonce_binds_the_login_token() {
        let config = ClientConfig::new(ProfileConfig::Matrix(MatrixProfile {
            homeserver_url: "https://matrix.example.org/".into(),
            idp_id: None,
            redirect_uri: "https://ext.example/cb".into(),
        }));
        let s = MemoryStorage::default();
        let nonce = started(&config, &s);
        let err = complete(
            &s,
            &FixedClock(1001),
            &config,
            "https://ext.example/cb?loginToken=t",
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidCallback);
        let err = complete(
            &s,
            &FixedClock(1001),
            &config,
            "https://ext.example/cb?loginToken=t&ext_sso_nonce=forged",
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateUnknown);
        let url = format!("https://ext.example/cb?loginToken=t&ext_sso_nonce={nonce}");
        let c = complete(&s, &FixedClock(1001), &config, &url).unwrap();
        assert_eq!(
            c,
            Completion::MatrixLogin {
                url: "https://matrix.example.org/_matrix/client/v3/login".into(),
                body_json: r#"{"type":"m.login.token","token":"t"}"#.into(),
            }
        );
        assert_eq!(
            complete(&s, &FixedClock(1002), &config, &url)
                .unwrap_err()
                .code(),
            ErrorCode::StateReused
        );

        let mut handoff = config.clone();
        handoff.token_handoff_url = Some("/api/matrix".into());
        let nonce = started(&handoff, &s);
        let url = format!("https://ext.example/cb?loginToken=t&ext_sso_nonce={nonce}");
        assert!(matches!(
            complete(&s, &FixedClock(1001), &handoff, &url).unwrap(),
            Completion::Handoff { .. }
        ));
    }

    #[test]
    fn auth_service_two_phases_and_nonce() {
        let config = ClientConfig::new(ProfileConfig::MiaAuthService(AuthServiceProfile {
            auth_service_url: "https://app.example/auth".into(),
            app_id: "app".into(),
            provider_id: "kc".into(),
            redirect: "/home".into(),
        }));
        let s = MemoryStorage::default();
        let nonce = started(&config, &s);
        let c = complete(
            &s,
            &FixedClock(1001),
            &config,
            "https://app.example/web-login/oauth/callback?code=k&state=svc",
        )
        .unwrap();
        assert_eq!(
            c,
            Completion::AuthServiceToken {
                url: "https://app.example/auth/oauth/token".into(),
                body_json: r#"{"state":"svc","code":"k"}"#.into(),
            }
        );
        let back = format!("https://app.example/home?ext_sso_nonce={nonce}");
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, &back).unwrap(),
            Completion::AuthServiceReturned {
                userinfo_url: "https://app.example/auth/userinfo".into()
            }
        );
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, &back)
                .unwrap_err()
                .code(),
            ErrorCode::StateReused
        );
        let forged = "https://app.example/home?ext_sso_nonce=forged";
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, forged)
                .unwrap_err()
                .code(),
            ErrorCode::StateUnknown
        );
        let denied = "https://app.example/web-login/oauth/callback?error=access_denied&state=svc";
        assert_eq!(
            complete(&s, &FixedClock(1001), &config, denied)
                .unwrap_err()
                .code(),
            ErrorCode::AuthorizationDenied
        );
    }

    #[test]
    fn flow_of_another_profile_is_rejected() {
        let s = MemoryStorage::default();
        let matrix = ClientConfig::new(ProfileConfig::Matrix(MatrixProfile {
            homeserver_url: "https://m.example".into(),
            idp_id: None,
            redirect_uri: "https://ext.example/cb".into(),
        }));
        let nonce = started(&matrix, &s);
        let url = format!("https://ext.example/callback?code=c&state={nonce}");
        assert_eq!(
            complete(&s, &FixedClock(1001), &oauth2_config(), &url)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidCallback
        );
    }

    #[test]
    fn unprintable_error_codes_are_not_echoed() {
        let err = denied(ErrorBody::Unreadable);
        assert!(err.message().ends_with("\"(unprintable)\""));
        assert!(err.oauth().is_none());
    }
}
