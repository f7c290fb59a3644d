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

use super::authorize::NONCE_PARAM;
use super::callback::{parse_callback, values_of};
use super::config::{ClientConfig, Navigation, ProfileConfig, ProfileKind};
use super::secret::State;
use crate::json::{Object, Value};
use crate::prelude::*;
use crate::protocol::url::origin_of;
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

/// `{type, url}` with exactly these two members and `type` = `kind`: the
/// URL. Anything else is not one of our messages.
fn typed_url<'a>(data: &'a Value, kind: &str) -> Option<&'a str> {
    let obj = data.as_object()?;
    (obj.len() == 2 && obj.get_str("type") == Some(kind))
        .then(|| obj.get_str("url"))
        .flatten()
}

/// Where a message to the waiting opener came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageSource {
    /// A `postMessage` whose `event.source` is the popup this flow opened.
    OurPopup,
    /// A `postMessage` from any other window.
    OtherWindow,
    /// The [`BROADCAST_CHANNEL_NAME`] channel (same origin only; used by a
    /// callback page that lost its opener).
    Channel,
}

/// Checks a message received while a popup flow waits, and answers the
/// callback URL to complete with, or `None` to ignore it and keep waiting.
/// Accepted only when all hold:
/// 1. it comes from the popup this flow opened (`event.source`), or over the
///    same-origin [`BROADCAST_CHANNEL_NAME`] channel;
/// 2. its origin is one the callback page may have (`allowed_origins`);
/// 3. it is exactly `{type: "extension-sso:callback", url}`;
/// 4. the URL names the pending flow: its `state` (oauth2, mia-console) or
///    our nonce (matrix, mia-auth-service) equals `pending`, compared in
///    constant time.
///
/// Everything else (another tab's login, a page that opened our callback
/// page, a stray or malformed message) is ignored, so it can neither end
/// nor break this login (RFC 9700 §4.18 on checking the origin of messages
/// that carry authorization responses).
pub fn accept_callback_message(
    allowed_origins: &[String],
    origin: &str,
    source: MessageSource,
    data: &Value,
    kind: ProfileKind,
    pending: &State,
) -> Option<String> {
    if source == MessageSource::OtherWindow || !allowed_origins.iter().any(|o| o == origin) {
        return None;
    }
    let url = typed_url(data, CALLBACK_MESSAGE_TYPE)?;
    let binding = if kind.uses_oauth_state() {
        "state"
    } else {
        NONCE_PARAM
    };
    values_of(url, binding)
        .iter()
        .any(|value| pending.ct_eq(value))
        .then(|| url.to_owned())
}

/// What the host page's answer to a navigate request means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostReply {
    /// Not the host's answer (another origin or window, another message):
    /// keep waiting.
    Ignore,
    /// The host navigates the top level: this page unloads.
    Accepted,
    /// The host refused (`navigation_unavailable`).
    Refused(Error),
}

/// Checks a message received while waiting for the host: it must come from
/// `window.parent` (`from_parent`) at `hostOrigin` and be exactly
/// `{type: "extension-sso:navigate-result", ok}`; `ok: true` is accepted,
/// anything else refused.
pub fn accept_host_reply(
    config: &ClientConfig,
    origin: &str,
    from_parent: bool,
    data: &Value,
) -> HostReply {
    let ours = data
        .as_object()
        .filter(|o| o.get_str("type") == Some(NAVIGATE_RESULT_TYPE));
    match ours {
        Some(_) if !from_parent || config.host_origin.as_deref() != Some(origin) => {
            HostReply::Ignore
        }
        None => HostReply::Ignore,
        Some(reply) if reply.get("ok") == Some(&Value::Bool(true)) => HostReply::Accepted,
        Some(_) => HostReply::Refused(Error::new(
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
    use crate::json;
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
        let data = json::parse(&msg).unwrap();
        let check = |origin: &str, source: MessageSource, data: &Value, kind: ProfileKind| {
            accept_callback_message(&allowed, origin, source, data, kind, &pending)
        };
        let ours = "https://ext.example";
        assert_eq!(
            check(ours, MessageSource::OurPopup, &data, ProfileKind::OAuth2).as_deref(),
            Some("https://ext.example/callback?code=c&state=s1")
        );
        assert!(check(ours, MessageSource::Channel, &data, ProfileKind::OAuth2).is_some());
        // Ignored, whatever is wrong: another window, another origin, another
        // flow, another shape.
        assert_eq!(
            check(ours, MessageSource::OtherWindow, &data, ProfileKind::OAuth2),
            None
        );
        assert_eq!(
            check(
                "https://evil.example",
                MessageSource::OurPopup,
                &data,
                ProfileKind::OAuth2
            ),
            None
        );
        let other = json::parse(&callback_message(
            "https://ext.example/callback?code=c&state=s2",
        ))
        .unwrap();
        assert_eq!(
            check(ours, MessageSource::OurPopup, &other, ProfileKind::OAuth2),
            None
        );
        for odd in [
            r#"{"type":"react-devtools"}"#,
            r#"{"type":"extension-sso:callback","url":"https://ext.example/callback?state=s1","more":1}"#,
            r#"{"type":"extension-sso:callback","url":7}"#,
            r#""https://ext.example/callback?state=s1""#,
            "null",
        ] {
            assert_eq!(
                check(
                    ours,
                    MessageSource::OurPopup,
                    &json::parse(odd).unwrap(),
                    ProfileKind::OAuth2
                ),
                None,
                "{odd}"
            );
        }
        // The nonce binds Matrix flows; a state of the same value does not.
        let nonce = json::parse(&callback_message(
            "https://ext.example/cb?loginToken=t&ext_sso_nonce=s1",
        ))
        .unwrap();
        assert!(check(ours, MessageSource::OurPopup, &nonce, ProfileKind::Matrix).is_some());
        assert_eq!(
            check(ours, MessageSource::OurPopup, &data, ProfileKind::Matrix),
            None
        );
        // A callback naming the pending flow among others ends the wait (and
        // is then refused as repeated, spending the flow).
        let repeated = json::parse(&callback_message(
            "https://ext.example/callback?state=x&state=s1",
        ))
        .unwrap();
        assert!(check(
            ours,
            MessageSource::OurPopup,
            &repeated,
            ProfileKind::OAuth2
        )
        .is_some());
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
        let host = "https://console.example.com";
        let ok = json::parse(r#"{"type":"extension-sso:navigate-result","ok":true}"#).unwrap();
        assert_eq!(accept_host_reply(&c, host, true, &ok), HostReply::Accepted);
        assert_eq!(
            accept_host_reply(&c, "https://evil.example", true, &ok),
            HostReply::Ignore
        );
        assert_eq!(accept_host_reply(&c, host, false, &ok), HostReply::Ignore);
        let refused =
            json::parse(r#"{"type":"extension-sso:navigate-result","ok":false}"#).unwrap();
        let HostReply::Refused(err) = accept_host_reply(&c, host, true, &refused) else {
            panic!("refused expected")
        };
        assert_eq!(err.code(), ErrorCode::NavigationUnavailable);
        assert_eq!(
            accept_host_reply(&c, host, true, &json::parse("\"hi\"").unwrap()),
            HostReply::Ignore
        );
        assert_eq!(popup_blocked_error().code(), ErrorCode::PopupBlocked);
        assert_eq!(popup_closed_error().code(), ErrorCode::PopupClosed);
        assert_eq!(
            host_no_reply_error().code(),
            ErrorCode::NavigationUnavailable
        );
    }
}
