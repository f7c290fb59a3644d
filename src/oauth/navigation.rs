//! Navigation decisions and the `postMessage` protocol between the
//! extension iframe, its popup and the embedding host page (HTML Living
//! Standard §9.3 cross-document messaging; RFC 9700 §4.18 on checking
//! origins of messages that carry authorization responses).
//!
//! Messages are JSON objects; the facade passes `event.data` as a string
//! (as is when it is one, else `JSON.stringify(event.data)`) with
//! `event.origin`:
//!
//! - popup → opener: `{"type":"extension-sso:callback","url":"<callback URL>"}`,
//!   posted by the callback page with `targetOrigin` = its own origin; the
//!   opener accepts it only from the callback page's origin and only when the
//!   URL's `state` (or nonce) is the pending flow's ([`accept_callback_message`]).
//!   The same message may come over a `BroadcastChannel` named
//!   [`BROADCAST_CHANNEL_NAME`] (origin: the page's own).
//! - iframe → host: `{"type":"extension-sso:navigate","url":"<authorization URL>"}`,
//!   posted to `window.parent` with `targetOrigin` = `hostOrigin`, never `*`.
//! - host → iframe: `{"type":"extension-sso:navigate-result","ok":true}` or
//!   `{"type":"extension-sso:navigate-result","ok":false}`, accepted only from
//!   `hostOrigin` ([`accept_host_reply`]). Without a reply within
//!   [`HOST_REPLY_TIMEOUT_MS`], the login fails with [`host_no_reply_error`].

use super::callback::parse_callback;
use super::config::{ClientConfig, Navigation, ProfileConfig, ProfileKind};
use super::secret::State;
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::protocol::url::{origin_of, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};

/// `type` of the popup's message to its opener.
pub const CALLBACK_MESSAGE_TYPE: &str = "extension-sso:callback";
/// `type` of the iframe's request to the host page.
pub const NAVIGATE_MESSAGE_TYPE: &str = "extension-sso:navigate";
/// `type` of the host page's answer.
pub const NAVIGATE_RESULT_TYPE: &str = "extension-sso:navigate-result";
/// The `BroadcastChannel` name a callback page may also use.
pub const BROADCAST_CHANNEL_NAME: &str = "extension-sso";
/// How long to wait for the host's answer before failing, in milliseconds.
pub const HOST_REPLY_TIMEOUT_MS: u32 = 3000;
/// `window.open` features for the login popup (a popup keeps `opener`:
/// never add `noopener`, the callback page needs it).
pub const POPUP_FEATURES: &str = "popup,width=520,height=680";

/// Where the pending flow is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowStore {
    /// `sessionStorage`: the page navigates away and the callback page reads it.
    SessionStorage,
    /// The iframe's memory: the iframe stays, the popup hands the callback back.
    Memory,
}

/// What the facade does with the authorization URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NavigationAction {
    /// `location.assign(url)` in the current frame.
    AssignSelf,
    /// `window.open(url, '_blank', POPUP_FEATURES)` synchronously in the click
    /// handler (no `await` before it, or popup blockers stop it); `null` →
    /// [`popup_blocked_error`].
    OpenPopup,
    /// `window.parent.postMessage(navigate_message(url), target_origin)`.
    AskHost {
        /// `hostOrigin`.
        target_origin: String,
    },
}

/// The decision for one login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NavigationPlan {
    /// How to navigate.
    pub action: NavigationAction,
    /// Where the flow record goes; call `start_flow` with that storage.
    pub flow_store: FlowStore,
}

/// Decides how to navigate, before any flow is created.
///
/// - `self` (or `top` in a top-level page) needs usable `sessionStorage`,
///   else `state_storage_unavailable` now, never after the user logged in;
/// - `top` in a frame asks the host at `hostOrigin` (storage still needed:
///   the callback comes back into this frame);
/// - `popup` always keeps the flow in memory: the callback page in the popup
///   is top-level, so it cannot see a framed page's (partitioned) storage,
///   and hands the callback back to its opener instead.
pub fn plan_navigation(
    config: &ClientConfig,
    is_framed: bool,
    storage_available: bool,
) -> Result<NavigationPlan> {
    config.validate()?;
    let needs_storage = |action: NavigationAction| {
        if storage_available {
            Ok(NavigationPlan {
                action,
                flow_store: FlowStore::SessionStorage,
            })
        } else {
            Err(Error::new(
                ErrorCode::StateStorageUnavailable,
                "session storage is blocked in this frame (third-party storage blocked or a private window): \
                 use navigation 'popup', which keeps the login flow in memory",
            ))
        }
    };
    match config.navigation {
        Navigation::Popup => Ok(NavigationPlan {
            action: NavigationAction::OpenPopup,
            flow_store: FlowStore::Memory,
        }),
        Navigation::SelfFrame => needs_storage(NavigationAction::AssignSelf),
        Navigation::Top if !is_framed => needs_storage(NavigationAction::AssignSelf),
        Navigation::Top => match &config.host_origin {
            Some(origin) => needs_storage(NavigationAction::AskHost {
                target_origin: origin.clone(),
            }),
            None => Err(Error::options("navigation 'top' needs hostOrigin")),
        },
    }
}

/// True when a callback page should hand the callback to its opener (popup
/// mode, opened by our iframe) instead of completing the flow itself.
/// Except for the auth service's web-login step: see
/// [`is_auth_service_web_login_step`].
pub fn callback_goes_to_opener(config: &ClientConfig, has_opener: bool) -> bool {
    config.navigation == Navigation::Popup && has_opener
}

/// True for the mia-auth-service callback that carries the identity
/// provider's `code` and `state` (not yet our nonce). The page that receives
/// it does the `/oauth/token` step itself, in popup mode too: the popup posts
/// them, so the service sets its cookie, and goes on to the returned
/// location; only that return (with the nonce) is handed to the opener,
/// which checks the nonce against its pending flow.
pub fn is_auth_service_web_login_step(config: &ClientConfig, callback_url: &str) -> bool {
    matches!(config.profile, ProfileConfig::MiaAuthService(_))
        && parse_callback(callback_url).is_ok_and(|p| p.nonce.is_none())
}

fn message(kind: &str, url: &str) -> String {
    let mut obj = Object::default();
    obj.insert("type", Value::String(kind.to_owned()));
    obj.insert("url", Value::String(url.to_owned()));
    Value::Object(obj).to_json()
}

/// `{"type":"extension-sso:callback","url":…}`, from the popup to its opener.
pub fn callback_message(callback_url: &str) -> String {
    message(CALLBACK_MESSAGE_TYPE, callback_url)
}

/// `{"type":"extension-sso:navigate","url":…}`, from the iframe to the host.
pub fn navigate_message(authorization_url: &str) -> String {
    message(NAVIGATE_MESSAGE_TYPE, authorization_url)
}

/// The origins a callback message is accepted from: the origin of the
/// configured redirect (oauth2, matrix, and auth-service with an absolute
/// `redirect`), else `own_origin` (mia-console's registered callback URL and
/// a path `redirect` are on the extension's own origin).
pub fn callback_message_origins(config: &ClientConfig, own_origin: &str) -> Vec<String> {
    let redirect = match &config.profile {
        ProfileConfig::OAuth2(p) => origin_of(&p.redirect_uri),
        ProfileConfig::Matrix(p) => origin_of(&p.redirect_uri),
        ProfileConfig::MiaAuthService(p) => origin_of(&p.redirect),
        ProfileConfig::MiaConsole(_) => None,
    };
    vec![redirect.unwrap_or_else(|| own_origin.to_owned())]
}

/// A message that turned out not to be for us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageVerdict<T> {
    /// Not an extension-sso message: ignore it and keep listening.
    Ignore,
    /// Ours and valid.
    Accept(T),
}

fn parse_typed(data_json: &str, expected_type: &str) -> Option<Object> {
    if data_json.len() > MAX_URL_LEN + 256 {
        return None;
    }
    match json::parse(data_json) {
        Ok(Value::Object(obj)) if obj.get_str("type") == Some(expected_type) => Some(obj),
        _ => None,
    }
}

/// Checks a callback message for the pending popup flow `pending`, in this
/// order: the origin is allowed (`origin_not_allowed`: ignore it and keep
/// waiting), the message is ours (else `Ignore`), its shape is exactly
/// `{type, url}` with a string URL (`invalid_callback`), and the URL's
/// `state` (oauth2, mia-console) or nonce (matrix, mia-auth-service) is the
/// pending flow's (`state_unknown`). Returns the callback URL, to pass to
/// [`super::complete`] with the in-memory storage.
///
/// For the auth-service profile the message carries the return URL (with
/// the nonce), after the callback page has done the `/oauth/token` step.
pub fn accept_callback_message(
    allowed_origins: &[String],
    event_origin: &str,
    data_json: &str,
    kind: ProfileKind,
    pending: &State,
) -> Result<MessageVerdict<String>> {
    if !allowed_origins.iter().any(|o| o == event_origin) {
        return Err(Error::new(
            ErrorCode::OriginNotAllowed,
            "ignored a login message from an origin that is not the callback page's",
        ));
    }
    let Some(obj) = parse_typed(data_json, CALLBACK_MESSAGE_TYPE) else {
        return Ok(MessageVerdict::Ignore);
    };
    let Some(url) = obj.get_str("url").filter(|_| obj.len() == 2) else {
        return Err(Error::new(
            ErrorCode::InvalidCallback,
            "the login message must be exactly {type, url} with a string url",
        ));
    };
    let params = parse_callback(url)?;
    let bound = if kind.uses_oauth_state() {
        params.state
    } else {
        params.nonce
    };
    match bound {
        Some(value) if pending.ct_eq(value.expose_secret()) => {
            Ok(MessageVerdict::Accept(url.to_owned()))
        }
        _ => Err(Error::new(
            ErrorCode::StateUnknown,
            "the login message does not belong to the pending login flow",
        )),
    }
}

/// Checks the host page's answer to a navigate request: from `hostOrigin`
/// only (`origin_not_allowed`); `ok: true` is accepted; `ok: false` is
/// `navigation_unavailable`.
pub fn accept_host_reply(
    config: &ClientConfig,
    event_origin: &str,
    data_json: &str,
) -> Result<MessageVerdict<()>> {
    if config.host_origin.as_deref() != Some(event_origin) {
        return Err(Error::new(
            ErrorCode::OriginNotAllowed,
            "ignored a navigation answer from an origin that is not hostOrigin",
        ));
    }
    let Some(obj) = parse_typed(data_json, NAVIGATE_RESULT_TYPE) else {
        return Ok(MessageVerdict::Ignore);
    };
    match obj.get("ok") {
        Some(Value::Bool(true)) => Ok(MessageVerdict::Accept(())),
        _ => Err(Error::new(
            ErrorCode::NavigationUnavailable,
            "the host page refused to navigate to the login page: use navigation 'popup'",
        )),
    }
}

/// `navigation_unavailable`: the host did not answer in time.
pub fn host_no_reply_error() -> Error {
    Error::new(
        ErrorCode::NavigationUnavailable,
        "the host page did not answer the navigation request (it may not support extension-sso:navigate, \
         or hostOrigin is wrong): use navigation 'popup' or 'self'",
    )
}

/// `popup_blocked`: `window.open` returned `null`.
pub fn popup_blocked_error() -> Error {
    Error::new(
        ErrorCode::PopupBlocked,
        "the browser blocked the login popup: call login() directly from a click handler, with no await before it",
    )
}

/// `popup_closed`: the popup closed before its callback arrived.
pub fn popup_closed_error() -> Error {
    Error::new(
        ErrorCode::PopupClosed,
        "the login popup was closed before the login finished",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::test_support::oauth2_config;

    #[test]
    fn plans() {
        let mut c = oauth2_config();
        let err = plan_navigation(&c, true, false).unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateStorageUnavailable);
        assert_eq!(
            plan_navigation(&c, true, true).unwrap(),
            NavigationPlan {
                action: NavigationAction::AssignSelf,
                flow_store: FlowStore::SessionStorage
            }
        );
        c.navigation = Navigation::Popup;
        for storage in [true, false] {
            assert_eq!(
                plan_navigation(&c, true, storage).unwrap(),
                NavigationPlan {
                    action: NavigationAction::OpenPopup,
                    flow_store: FlowStore::Memory
                }
            );
        }
        c.navigation = Navigation::Top;
        assert_eq!(
            plan_navigation(&c, true, true).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        c.host_origin = Some("https://console.example.com".into());
        assert_eq!(
            plan_navigation(&c, true, true).unwrap().action,
            NavigationAction::AskHost {
                target_origin: "https://console.example.com".into()
            }
        );
        assert_eq!(
            plan_navigation(&c, false, true).unwrap().action,
            NavigationAction::AssignSelf
        );
        assert_eq!(
            plan_navigation(&c, true, false).unwrap_err().code(),
            ErrorCode::StateStorageUnavailable
        );
        assert!(callback_goes_to_opener(&oauth2_config_popup(), true));
        assert!(!callback_goes_to_opener(&oauth2_config(), true));
    }

    #[test]
    fn auth_service_web_login_step_is_done_where_it_lands() {
        use crate::oauth::config::AuthServiceProfile;
        let mut c = ClientConfig::new(ProfileConfig::MiaAuthService(AuthServiceProfile {
            auth_service_url: "https://app.example/auth".into(),
            app_id: "app".into(),
            provider_id: "kc".into(),
            redirect: "/home".into(),
        }));
        c.navigation = Navigation::Popup;
        let web_login = "https://app.example/web-login/oauth/callback?code=c&state=s";
        assert!(is_auth_service_web_login_step(&c, web_login));
        assert!(!is_auth_service_web_login_step(
            &c,
            "https://app.example/home?ext_sso_nonce=n"
        ));
        assert!(!is_auth_service_web_login_step(
            &oauth2_config_popup(),
            web_login
        ));
    }

    fn oauth2_config_popup() -> ClientConfig {
        let mut c = oauth2_config();
        c.navigation = Navigation::Popup;
        c
    }

    #[test]
    fn callback_messages() {
        let pending = State::new("s1");
        let allowed = callback_message_origins(&oauth2_config(), "https://ignored.example");
        assert_eq!(allowed, vec!["https://ext.example".to_owned()]);
        let msg = callback_message("https://ext.example/callback?code=c&state=s1");
        assert_eq!(
            msg,
            r#"{"type":"extension-sso:callback","url":"https://ext.example/callback?code=c&state=s1"}"#
        );
        assert_eq!(
            accept_callback_message(
                &allowed,
                "https://ext.example",
                &msg,
                ProfileKind::OAuth2,
                &pending
            )
            .unwrap(),
            MessageVerdict::Accept("https://ext.example/callback?code=c&state=s1".into())
        );
        let err = accept_callback_message(
            &allowed,
            "https://evil.example",
            &msg,
            ProfileKind::OAuth2,
            &pending,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::OriginNotAllowed);
        let other = callback_message("https://ext.example/callback?code=c&state=s2");
        assert_eq!(
            accept_callback_message(
                &allowed,
                "https://ext.example",
                &other,
                ProfileKind::OAuth2,
                &pending
            )
            .unwrap_err()
            .code(),
            ErrorCode::StateUnknown
        );
        assert_eq!(
            accept_callback_message(
                &allowed,
                "https://ext.example",
                r#"{"type":"react-devtools"}"#,
                ProfileKind::OAuth2,
                &pending
            )
            .unwrap(),
            MessageVerdict::Ignore
        );
        let extra = r#"{"type":"extension-sso:callback","url":"x","more":1}"#;
        assert_eq!(
            accept_callback_message(
                &allowed,
                "https://ext.example",
                extra,
                ProfileKind::OAuth2,
                &pending
            )
            .unwrap_err()
            .code(),
            ErrorCode::InvalidCallback
        );
        let nonce_msg = callback_message("https://ext.example/cb?loginToken=t&ext_sso_nonce=s1");
        assert!(accept_callback_message(
            &allowed,
            "https://ext.example",
            &nonce_msg,
            ProfileKind::Matrix,
            &pending
        )
        .is_ok());
    }

    #[test]
    fn host_messages() {
        let mut c = oauth2_config();
        c.navigation = Navigation::Top;
        c.host_origin = Some("https://console.example.com".into());
        assert_eq!(
            navigate_message("https://as.example/authorize?x=1"),
            r#"{"type":"extension-sso:navigate","url":"https://as.example/authorize?x=1"}"#
        );
        let ok = r#"{"type":"extension-sso:navigate-result","ok":true}"#;
        assert_eq!(
            accept_host_reply(&c, "https://console.example.com", ok).unwrap(),
            MessageVerdict::Accept(())
        );
        assert_eq!(
            accept_host_reply(&c, "https://evil.example", ok)
                .unwrap_err()
                .code(),
            ErrorCode::OriginNotAllowed
        );
        let refused = r#"{"type":"extension-sso:navigate-result","ok":false}"#;
        assert_eq!(
            accept_host_reply(&c, "https://console.example.com", refused)
                .unwrap_err()
                .code(),
            ErrorCode::NavigationUnavailable
        );
        assert_eq!(
            accept_host_reply(&c, "https://console.example.com", "\"hi\"").unwrap(),
            MessageVerdict::Ignore
        );
        assert_eq!(popup_blocked_error().code(), ErrorCode::PopupBlocked);
        assert_eq!(popup_closed_error().code(), ErrorCode::PopupClosed);
        assert_eq!(
            host_no_reply_error().code(),
            ErrorCode::NavigationUnavailable
        );
    }
}
