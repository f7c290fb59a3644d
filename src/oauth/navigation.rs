//! Navigation decisions and the `postMessage` protocol between the
//! extension iframe, its popup and the embedding host page (HTML Living
//! Standard §9.3 cross-document messaging; RFC 9700 §4.18 on checking the
//! origin of messages that carry authorization responses).
//!
//! - popup → opener: `{"type":"extension-sso:callback","url":"<callback URL>"}`,
//!   posted by the callback page with `targetOrigin` = its own origin, or on
//!   the [`BROADCAST_CHANNEL_NAME`] channel when it has no opener; the
//!   opener takes only its own flow's ([`accept_callback_message`]).
//! - iframe → host: `{"type":"extension-sso:navigate","url":"<authorization URL>"}`,
//!   posted to `window.parent` with `targetOrigin` = `hostOrigin`, never `*`.
//! - host → iframe: `{"type":"extension-sso:navigate-result","ok":true}` (or
//!   `false`), taken only from the parent at `hostOrigin`
//!   ([`accept_host_reply`]). Without an answer within
//!   [`HOST_REPLY_TIMEOUT_MS`] the login fails with [`host_no_reply_error`].

use super::callback::{parse_callback, values_of, NONCE_PARAM};
use super::config::{Config, Navigation, ProfileKind};
use super::secret::State;
use super::write::Obj;
use crate::json::Value;
use crate::prelude::*;
use crate::protocol::url::{origin_of, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};

/// Longest message data, as its JSON text in bytes, that a login waiting
/// for its popup or its host reads (`maxMessageBytes` of `await-popup` and
/// `ask-host`: the JS layer ignores a longer one before it crosses). Ours
/// are `{type, url}`, the URL a callback of at most [`MAX_URL_LEN`] (the
/// callback parser refuses longer) that JSON writes in at most two bytes a
/// byte (`\"`, `\\`: `location.href` is percent-encoded ASCII), or
/// `{type, ok}` / `{type, code}`, a few dozen bytes: twice `MAX_URL_LEN`
/// holds the largest with room. Any window can post to the page; without
/// a bound, a message costs the core three copies of its size (text, tree,
/// URL) in an allocator that keeps each size class's peak.
pub const MAX_MESSAGE_LEN: usize = 2 * MAX_URL_LEN;

/// `type` of the popup's message to its opener.
pub const CALLBACK_MESSAGE_TYPE: &str = "extension-sso:callback";
/// `type` of what a popup's callback page tells its opener when it cannot
/// complete (the page used `ExtensionClient` before `init()`):
/// `{"type":"extension-sso:callback-error","code":…}`.
pub const CALLBACK_ERROR_TYPE: &str = "extension-sso:callback-error";
/// `type` of the iframe's request to the host page.
pub const NAVIGATE_MESSAGE_TYPE: &str = "extension-sso:navigate";
/// `type` of the host page's answer.
pub const NAVIGATE_RESULT_TYPE: &str = "extension-sso:navigate-result";
/// The `BroadcastChannel` name a callback page may also use.
pub const BROADCAST_CHANNEL_NAME: &str = "extension-sso";
/// How long to wait for the host's answer before failing, in milliseconds.
pub const HOST_REPLY_TIMEOUT_MS: u64 = 3000;
/// `window.open` features for the login popup (a popup keeps `opener`:
/// never add `noopener`, the callback page needs it).
pub const POPUP_FEATURES: &str = "popup,width=520,height=680";

/// Where the pending flow is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowStore {
    /// `sessionStorage`: the page navigates away and the callback page reads it.
    SessionStorage,
    /// The page's memory: the page stays, the popup hands the callback back.
    Memory,
}

/// What to do with the authorization URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NavigationAction {
    /// `location.assign(url)` in the current frame.
    AssignSelf,
    /// `window.open(url, '_blank', POPUP_FEATURES)` synchronously in the click
    /// handler (no `await` before it, or popup blockers stop it).
    OpenPopup,
    /// `window.parent.postMessage(navigate_message(url), hostOrigin)`.
    AskHost,
}

/// Decides how to navigate and where the flow lives, before any flow is
/// created:
/// - `self` (or `top` in a top-level page) needs usable `sessionStorage`,
///   else `state_storage_unavailable` now, never after the user logged in;
/// - `top` in a frame asks the host at `hostOrigin` (storage still needed:
///   the callback comes back into this frame);
/// - `popup` keeps the flow in memory: the callback page in the popup is
///   top-level, so it cannot see a framed page's (partitioned) storage, and
///   hands the callback back to its opener instead.
pub fn plan_navigation(
    config: &Config,
    is_framed: bool,
    storage_available: bool,
) -> Result<(NavigationAction, FlowStore)> {
    let action = match config.navigation {
        Navigation::Popup => return Ok((NavigationAction::OpenPopup, FlowStore::Memory)),
        Navigation::Top if is_framed => NavigationAction::AskHost,
        _ => NavigationAction::AssignSelf,
    };
    if !storage_available {
        return Err(Error::new(
            ErrorCode::StateStorageUnavailable,
            "session storage is blocked in this frame (third-party storage blocked or a private window): \
             use navigation 'popup', which keeps the login flow in memory",
        ));
    }
    Ok((action, FlowStore::SessionStorage))
}

/// True for the mia-auth-service callback that carries the identity
/// provider's `code` and `state` (not yet our nonce). The page that receives
/// it does the `/oauth/token` step itself, in popup mode too: the popup posts
/// them, so the service sets its cookie, and goes on to the returned
/// location; only that return (with the nonce) is handed to the opener,
/// which checks the nonce against its pending flow.
pub fn is_auth_service_web_login_step(config: &Config, callback_url: &str) -> bool {
    config.kind == ProfileKind::MiaAuthService
        && parse_callback(callback_url).is_ok_and(|p| p.nonce.is_none())
}

fn message(kind: &str, url: &str) -> String {
    Obj::new().str("type", kind).str("url", url).done()
}

/// `{"type":"extension-sso:callback","url":…}`, from the popup to its opener.
pub fn callback_message(callback_url: &str) -> String {
    message(CALLBACK_MESSAGE_TYPE, callback_url)
}

/// `{"type":"extension-sso:navigate","url":…}`, from the iframe to the host.
pub fn navigate_message(authorization_url: &str) -> String {
    message(NAVIGATE_MESSAGE_TYPE, authorization_url)
}

/// The origin a callback message is accepted from: the origin of the
/// configured redirect (oauth2, matrix, and auth-service with an absolute
/// `redirect`), else `own_origin` (mia-console's registered callback URL and
/// a path `redirect` are on the extension's own origin).
pub fn callback_message_origin(config: &Config, own_origin: &str) -> String {
    config
        .redirect()
        .and_then(origin_of)
        .unwrap_or_else(|| own_origin.to_owned())
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

/// `{type, url}` with exactly these two members and `type` = `kind`: the URL.
fn typed_url<'a>(data: &'a Value, kind: &str) -> Option<&'a str> {
    let obj = data.as_object()?;
    (obj.len() == 2 && obj.get_str("type") == Some(kind))
        .then(|| obj.get_str("url"))
        .flatten()
}

/// Checks a message received while a popup flow waits, and answers the
/// callback URL to complete with, or `None` to ignore it and keep waiting.
/// Accepted only when all hold:
/// 1. it comes from the popup this flow opened (`event.source`), or over the
///    same-origin [`BROADCAST_CHANNEL_NAME`] channel;
/// 2. its origin is the one the callback page has (`allowed_origin`);
/// 3. it is exactly `{type: "extension-sso:callback", url}`;
/// 4. the URL names the pending flow: its `state` (oauth2, mia-console) or
///    our nonce (matrix, mia-auth-service) equals `pending`, compared in
///    constant time.
///
/// Everything else (another tab's login, a page that opened our callback
/// page, a stray or malformed message) is ignored, so it can neither end
/// nor break this login.
pub fn accept_callback_message(
    allowed_origin: &str,
    origin: &str,
    source: MessageSource,
    data: &Value,
    kind: ProfileKind,
    pending: &State,
) -> Option<String> {
    if source == MessageSource::OtherWindow || origin != allowed_origin {
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

/// The error a waiting opener rejects with when its own popup (and only
/// it: `source` is [`MessageSource::OurPopup`], at `allowed_origin`) says
/// its callback page could not complete (`{type: "extension-sso:callback-error",
/// code}`); `None` for any other message.
pub fn popup_error(
    allowed_origin: &str,
    origin: &str,
    source: MessageSource,
    data: &Value,
) -> Option<Error> {
    let obj = data.as_object()?;
    if source != MessageSource::OurPopup
        || origin != allowed_origin
        || obj.get_str("type") != Some(CALLBACK_ERROR_TYPE)
    {
        return None;
    }
    let code = obj
        .get_str("code")
        .and_then(|name| ErrorCode::ALL.iter().copied().find(|c| c.name() == name))
        .unwrap_or(ErrorCode::Unsupported);
    Some(Error::new(
        code,
        "the login popup's callback page could not complete the login (see its console: \
         e.g. ExtensionClient used there before await init())",
    ))
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
/// `window.parent` (`from_parent`) at `hostOrigin` and be
/// `{type: "extension-sso:navigate-result", ok}`; `ok: true` is accepted,
/// anything else refused.
pub fn accept_host_reply(
    config: &Config,
    origin: &str,
    from_parent: bool,
    data: &Value,
) -> HostReply {
    let reply = data
        .as_object()
        .filter(|o| o.get_str("type") == Some(NAVIGATE_RESULT_TYPE));
    match reply {
        Some(_) if !from_parent || config.get("hostOrigin") != Some(origin) => HostReply::Ignore,
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

/// `popup_closed`: the popup closed before its callback arrived, or looks
/// closed: a page with a `Cross-Origin-Opener-Policy` other than
/// `unsafe-none` cuts a popup from its opener (HTML §7.1.3), and the
/// opener's `popup.closed` is then true while it is still open.
pub fn popup_closed_error() -> Error {
    Error::new(
        ErrorCode::PopupClosed,
        "the login popup was closed before the login finished (by the user, or by a login page that \
         isolates itself with Cross-Origin-Opener-Policy: with such a server use navigation 'self' or 'top')",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::oauth::test_support::{config, OAUTH2};

    fn with(extra: &str) -> Config {
        config(&OAUTH2.replace("\"profile\"", &format!("{extra}\"profile\"")))
    }

    #[test]
    fn plans() {
        let c = config(OAUTH2);
        assert_eq!(
            plan_navigation(&c, true, false).unwrap_err().code(),
            ErrorCode::StateStorageUnavailable
        );
        assert_eq!(
            plan_navigation(&c, true, true).unwrap(),
            (NavigationAction::AssignSelf, FlowStore::SessionStorage)
        );
        let popup = with(r#""navigation":"popup","#);
        for storage in [true, false] {
            assert_eq!(
                plan_navigation(&popup, true, storage).unwrap(),
                (NavigationAction::OpenPopup, FlowStore::Memory)
            );
        }
        let top = with(r#""navigation":"top","hostOrigin":"https://console.example.com","#);
        assert_eq!(
            plan_navigation(&top, true, true).unwrap().0,
            NavigationAction::AskHost
        );
        assert_eq!(
            plan_navigation(&top, false, true).unwrap().0,
            NavigationAction::AssignSelf
        );
        assert_eq!(
            plan_navigation(&top, true, false).unwrap_err().code(),
            ErrorCode::StateStorageUnavailable
        );
    }

    #[test]
    fn auth_service_web_login_step_is_done_where_it_lands() {
        let c = config(
            r#"{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth","appId":"app","providerId":"kc","redirect":"/home","navigation":"popup"}"#,
        );
        let web_login = "https://app.example/web-login/oauth/callback?code=c&state=s";
        assert!(is_auth_service_web_login_step(&c, web_login));
        assert!(!is_auth_service_web_login_step(
            &c,
            "https://app.example/home?ext_sso_nonce=n"
        ));
        assert!(!is_auth_service_web_login_step(
            &with(r#""navigation":"popup","#),
            web_login
        ));
    }

    #[test]
    fn callback_messages() {
        let pending = State::new("s1");
        let allowed = callback_message_origin(&config(OAUTH2), "https://ignored.example");
        assert_eq!(allowed, "https://ext.example");
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
        // The popup's own report that it could not complete; from anyone else: nothing.
        let report =
            json::parse(r#"{"type":"extension-sso:callback-error","code":"invalid_options"}"#)
                .unwrap();
        let error = |origin: &str, source: MessageSource, data: &Value| {
            popup_error(&allowed, origin, source, data).map(|e| e.code())
        };
        assert_eq!(
            error(ours, MessageSource::OurPopup, &report),
            Some(ErrorCode::InvalidOptions)
        );
        assert_eq!(error(ours, MessageSource::Channel, &report), None);
        assert_eq!(error(ours, MessageSource::OtherWindow, &report), None);
        assert_eq!(
            error("https://evil.example", MessageSource::OurPopup, &report),
            None
        );
        assert_eq!(error(ours, MessageSource::OurPopup, &data), None);
    }

    #[test]
    fn host_messages() {
        let c = with(r#""navigation":"top","hostOrigin":"https://console.example.com","#);
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
