//! The browser client's core as a state machine: events in, steps out.
//!
//! The JS layer (`pkg-template/lib/client.js`) owns every browser API: it
//! reads the flow stores (`sessionStorage`, or the page's memory in popup
//! mode), the clock and random bytes, and sends them with each event; it
//! performs each step the core answers (store these records, scrub the
//! address bar, navigate, open the popup, post a message, make this
//! request) and sends back what came of it. The core decides everything
//! else: options, navigation, flow records, URLs, callbacks, messages,
//! requests and what their answers mean. It keeps the configuration and the
//! session between events; nothing else.
//!
//! ## Events (JSON objects, `event` names the kind)
//!
//! Every event may carry the page: `now` (seconds since the epoch),
//! `href`, `origin`, `framed`, `flows` (`{session: {key: record} | null,
//! memory: {key: record}}`: the records under [`FLOW_KEY_PREFIX`]; `null`
//! when `sessionStorage` is not usable) and `random` (at least
//! [`RANDOM_BYTES`] random bytes, as numbers, for a new flow).
//!
//! | event | members | when |
//! |---|---|---|
//! | `configure` | `options` (the checked options object), or `server` + `extensionId` | once, in the constructor |
//! | `restore` | `text` (the persisted session, or `null`) | after `configured` named a `sessionKey` |
//! | `login` | `redirectUrl` | `login()` |
//! | `authorization-url` | | `authorizationUrl()` |
//! | `callback` | `url`, `current` (it is `location.href`) | `handleCallback()` |
//! | `stored` | `ok` (every write read back as written) | after `store` |
//! | `popup-opened` | `ok` (`window.open` returned a window) | after `open-popup` |
//! | `popup-message` | `resume`, `origin`, `source` (`popup`, `window` or `channel`), `data` | a message while `await-popup` |
//! | `popup-closed` | `resume` | the popup closed while `await-popup` |
//! | `host-reply` | `resume`, `origin`, `fromParent`, `data` | a message while `ask-host` |
//! | `host-timeout` | `resume` | `timeoutMs` of `ask-host` passed |
//! | `response` | `resume`, `status`, `body` (text, `null` over `maxBytes`), `location`, `redirected`; or `failure` (`timeout`, `network`) and `detail` | the answer to `fetch` |
//! | `identity` | | `getUserIdentity()` |
//! | `session` | | the `session` getter |
//! | `is-callback` | `url` | `isCallback()` |
//! | `logout` | | `logout()` |
//! | `complete-popup` | `openerOrigin` (or `null`: this page's) | `ExtensionClient.completePopup()` on a popup's callback page |
//!
//! ## Steps (JSON objects, `step` names the kind)
//!
//! Any step may carry `scrub` (`history.replaceState` to this URL first) and
//! `writes`: `{session?, memory?}`, each `{set: {key: value}, remove: [key]}`.
//! For `store` the JS layer performs them, reads them back and answers
//! `stored`; with any other step it performs them first and goes on.
//!
//! | step | members | then |
//! |---|---|---|
//! | `configured` | `sessionKey` (or `null`), `flowPrefix`, `randomBytes`, `timeoutMs` | `restore` when `sessionKey` |
//! | `store` | the writes | `stored` |
//! | `navigate` | `url` | `location.assign(url)`; the call never settles |
//! | `open-popup` | `url` (`""`: blank, navigated later), `features` | `window.open(url, '_blank', features)`, then `popup-opened` (synchronously: still inside the click) |
//! | `await-popup` | `resume`, `navigate` (a URL for the popup, or `null`), `channel` | listen to `message` events and the `channel` BroadcastChannel, watch `popup.closed`; send each message until a step is not `ignore` |
//! | `ask-host` | `resume`, `targetOrigin`, `message`, `timeoutMs` | `parent.postMessage(message, targetOrigin)`, send each message from the parent until a step is not `ignore`; `host-timeout` after `timeoutMs` |
//! | `navigated` | | the host navigates the top level: the call never settles |
//! | `fetch` | `resume`, `method`, `url`, `contentType`, `body`, `credentials`, `maxBytes` | one request under `timeoutMs`, redirects not followed, then `response` |
//! | `to-opener` | `message`, `targetOrigin`, `channel` | post `message` to `window.opener` at `targetOrigin` (or on `channel` without an opener), close the window; never settles |
//! | `done` | `session` | resolve with the session |
//! | `identity` | `identity` | resolve with it |
//! | `value` | `value` | resolve (or return) with it |
//! | `ignore` | | keep waiting |
//! | `fail` | `error` (`code`, `message`, `retryable`, and `status`, `error`, `error_description`, `error_uri` when known) | reject with it |
//!
//! A `resume` is the core's own data for the next event about the same
//! wait or request; the JS layer sends it back as it came. `store` and
//! `open-popup` are answered before anything else happens (JS runs them
//! synchronously), so the core keeps their continuation itself.

use super::auth_service;
use super::callback::{is_callback, scrubbed_url};
use super::complete::{complete, Completion};
use super::config::{self, ClientConfig, Navigation, ProfileConfig};
use super::flow::{flow_key, Snapshot, Write, FLOW_KEY_PREFIX};
use super::matrix;
use super::navigation::{
    self, accept_callback_message, accept_host_reply, callback_message, callback_message_origins,
    is_auth_service_web_login_step, navigate_message, plan_navigation, FlowStore, HostReply,
    MessageSource, NavigationAction, BROADCAST_CHANNEL_NAME, HOST_REPLY_TIMEOUT_MS, POPUP_FEATURES,
};
use super::secret::{AccessToken, IdToken, State};
use super::session::{parse_token_response, Session, TokenSource, MAX_BODY_LEN};
use super::start_flow;
use crate::json::{self, Object, Value};
use crate::platform::{FixedClock, Random};
use crate::prelude::*;
use crate::protocol::identity::Identity;
use crate::{Error, ErrorCode, Result};

/// Random bytes a `login` or `authorization-url` event must carry: a
/// `state` (or nonce) and a PKCE verifier of 32 bytes each, and 32 for an
/// OpenID Connect `nonce`.
pub const RANDOM_BYTES: usize = 96;

/// Prefix of the key under which `persistSession: true` keeps the session:
/// `extension-sso:session:<profile>`.
pub const SESSION_KEY_PREFIX: &str = "extension-sso:session:";

/// The page, as the JS layer reports it with an event.
struct Page {
    now: u64,
    href: String,
    origin: String,
    framed: bool,
    session_flows: Option<Snapshot>,
    memory_flows: Snapshot,
    random: Vec<u8>,
}

fn snapshot(value: Option<&Value>) -> Option<Snapshot> {
    let entries = value?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
        .collect();
    Some(Snapshot::new(entries))
}

impl Page {
    fn read(event: &Object) -> Self {
        let text = |name: &str| event.get_str(name).unwrap_or_default().to_owned();
        let flows = event.get("flows").and_then(Value::as_object);
        let now = event.get("now").and_then(Value::as_f64).unwrap_or(0.0);
        Self {
            now: if now > 0.0 { now as u64 } else { 0 },
            href: text("href"),
            origin: text("origin"),
            framed: event.get("framed") == Some(&Value::Bool(true)),
            session_flows: flows.and_then(|f| snapshot(f.get("session"))),
            memory_flows: flows
                .and_then(|f| snapshot(f.get("memory")))
                .unwrap_or_default(),
            random: event
                .get("random")
                .and_then(Value::as_array)
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_f64)
                .map(|b| b as u8)
                .collect(),
        }
    }

    fn flows(&self, store: FlowStore) -> Result<&Snapshot> {
        match store {
            FlowStore::Memory => Ok(&self.memory_flows),
            FlowStore::SessionStorage => {
                self.session_flows.as_ref().ok_or_else(storage_unavailable)
            }
        }
    }
}

/// The random bytes of an event, handed out in order.
struct Bytes<'a>(core::cell::Cell<&'a [u8]>);

impl Random for Bytes<'_> {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        let rest = self.0.get();
        let (Some(bytes), Some(left)) = (rest.get(..buf.len()), rest.get(buf.len()..)) else {
            return Err(Error::new(
                ErrorCode::Unsupported,
                "no secure random source is available (crypto.getRandomValues)",
            ));
        };
        buf.copy_from_slice(bytes);
        self.0.set(left);
        Ok(())
    }
}

fn storage_unavailable() -> Error {
    Error::new(
        ErrorCode::StateStorageUnavailable,
        "sessionStorage is not usable in this frame (third-party storage blocked or a private window): \
         the login flow cannot be kept; use navigation 'popup', which keeps it in memory",
    )
}

/// A request to make (redirects are never followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The URL (a path is resolved against the page).
    pub url: String,
    /// `Content-Type` of the body.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Option<String>,
    /// `include` (the backend's cookie session) or `same-origin`.
    pub credentials: &'static str,
}

/// What the JS layer must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The client is configured; read the persisted session under `session_key`.
    Configured {
        /// Where `persistSession` keeps the session (`None`: not persisted).
        session_key: Option<String>,
        /// `timeoutMs`: how long each request may take.
        timeout_ms: u64,
    },
    /// Perform the writes, read them back, answer `stored`.
    Store,
    /// `location.assign(url)`.
    Navigate(String),
    /// `window.open(url, '_blank', POPUP_FEATURES)`; `""` opens a blank popup.
    OpenPopup(String),
    /// Wait for the popup's callback message.
    AwaitPopup {
        /// Where to send the (blank) popup first.
        navigate: Option<String>,
        /// Sent back with each message.
        resume: Value,
    },
    /// Ask the host page to navigate the top level.
    AskHost {
        /// `hostOrigin`.
        target_origin: String,
        /// The `extension-sso:navigate` message.
        message: Value,
    },
    /// The host accepted: the page unloads.
    Navigated,
    /// Make this request; send back the answer with `resume`.
    Fetch(Request, Value),
    /// Hand the callback to the opener and close the popup.
    ToOpener {
        /// The `extension-sso:callback` message.
        message: Value,
        /// The opener's origin (this page's).
        target_origin: String,
    },
    /// Logged in.
    Done(Session),
    /// The identity asked for.
    Identity(Identity),
    /// A value to answer.
    Value(Value),
    /// Not for this wait: keep waiting.
    Ignore,
    /// The call fails with this error.
    Fail(Error),
}

/// One answer of the core: a step, and what to do first.
#[derive(Debug, PartialEq)]
pub struct Answer {
    /// The step.
    pub step: Step,
    /// `history.replaceState` to this URL first.
    pub scrub: Option<String>,
    /// Writes to `sessionStorage`.
    pub session: Vec<Write>,
    /// Writes to the page's memory store (popup mode).
    pub memory: Vec<Write>,
}

impl Answer {
    fn new(step: Step) -> Self {
        Self {
            step,
            scrub: None,
            session: Vec::new(),
            memory: Vec::new(),
        }
    }

    fn fail(error: Error) -> Self {
        Self::new(Step::Fail(error))
    }

    fn with_writes(mut self, store: FlowStore, writes: Vec<Write>) -> Self {
        match store {
            FlowStore::SessionStorage => self.session = writes,
            FlowStore::Memory => self.memory = writes,
        }
        self
    }

    /// The answer as the JSON object the JS layer reads.
    pub fn to_json(&self) -> String {
        let mut out = Object::default();
        let (kind, members): (&str, Vec<(&str, Value)>) = match &self.step {
            Step::Configured {
                session_key,
                timeout_ms,
            } => (
                "configured",
                vec![
                    ("sessionKey", opt(session_key.as_deref())),
                    ("flowPrefix", text(FLOW_KEY_PREFIX)),
                    ("randomBytes", Value::Number(RANDOM_BYTES as f64)),
                    ("timeoutMs", Value::Number(*timeout_ms as f64)),
                ],
            ),
            Step::Store => ("store", Vec::new()),
            Step::Navigate(url) => ("navigate", vec![("url", text(url))]),
            Step::OpenPopup(url) => (
                "open-popup",
                vec![("url", text(url)), ("features", text(POPUP_FEATURES))],
            ),
            Step::AwaitPopup { navigate, resume } => (
                "await-popup",
                vec![
                    ("navigate", opt(navigate.as_deref())),
                    ("channel", text(BROADCAST_CHANNEL_NAME)),
                    ("resume", resume.clone()),
                ],
            ),
            Step::AskHost {
                target_origin,
                message,
            } => (
                "ask-host",
                vec![
                    ("targetOrigin", text(target_origin)),
                    ("message", message.clone()),
                    ("timeoutMs", Value::Number(f64::from(HOST_REPLY_TIMEOUT_MS))),
                    ("resume", Value::Object(Object::default())),
                ],
            ),
            Step::Navigated => ("navigated", Vec::new()),
            Step::Fetch(request, resume) => (
                "fetch",
                vec![
                    ("method", text(request.method)),
                    ("url", text(&request.url)),
                    ("contentType", opt(request.content_type)),
                    ("body", opt(request.body.as_deref())),
                    ("credentials", text(request.credentials)),
                    ("maxBytes", Value::Number(MAX_BODY_LEN as f64)),
                    ("resume", resume.clone()),
                ],
            ),
            Step::ToOpener {
                message,
                target_origin,
            } => (
                "to-opener",
                vec![
                    ("message", message.clone()),
                    ("targetOrigin", text(target_origin)),
                    ("channel", text(BROADCAST_CHANNEL_NAME)),
                ],
            ),
            Step::Done(session) => ("done", vec![("session", session_value(session))]),
            Step::Identity(identity) => ("identity", vec![("identity", identity_value(identity))]),
            Step::Value(value) => ("value", vec![("value", value.clone())]),
            Step::Ignore => ("ignore", Vec::new()),
            Step::Fail(error) => ("fail", vec![("error", error_value(error))]),
        };
        out.insert("step", text(kind));
        for (name, value) in members {
            out.insert(name, value);
        }
        if let Some(url) = &self.scrub {
            out.insert("scrub", text(url));
        }
        if !(self.session.is_empty() && self.memory.is_empty()) {
            let mut writes = Object::default();
            for (name, list) in [("session", &self.session), ("memory", &self.memory)] {
                if !list.is_empty() {
                    writes.insert(name, writes_value(list));
                }
            }
            out.insert("writes", Value::Object(writes));
        }
        Value::Object(out).to_json()
    }
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

fn writes_value(writes: &[Write]) -> Value {
    let mut set = Object::default();
    let mut remove = Vec::new();
    for (key, value) in writes {
        match value {
            Some(v) => {
                set.insert(key.as_str(), text(v));
            }
            None => remove.push(text(key)),
        }
    }
    let mut out = Object::default();
    out.insert("set", Value::Object(set));
    out.insert("remove", Value::Array(remove));
    Value::Object(out)
}

/// `{code, message, retryable, status?, error?, error_description?, error_uri?}`.
fn error_value(error: &Error) -> Value {
    let mut out = Object::default();
    out.insert("code", text(error.code().name()));
    out.insert("message", text(error.message()));
    out.insert("retryable", Value::Bool(error.is_retryable()));
    if let Some(status) = error.status() {
        out.insert("status", Value::Number(f64::from(status)));
    }
    if let Some(oauth) = error.oauth() {
        out.insert("error", text(&oauth.error));
        if let Some(d) = &oauth.error_description {
            out.insert("error_description", text(d));
        }
        if let Some(u) = &oauth.error_uri {
            out.insert("error_uri", text(u));
        }
    }
    Value::Object(out)
}

/// `{accessToken, expiresAt, idToken, userId, deviceId, tokenType, scope,
/// homeserverBaseUrl, cookieOnly}`; absent values are `null`; `expiresAt`
/// in seconds since the epoch.
fn session_value(s: &Session) -> Value {
    let mut out = Object::default();
    out.insert(
        "accessToken",
        opt(s.access_token.as_ref().map(AccessToken::expose_secret)),
    );
    out.insert(
        "expiresAt",
        s.expires_at
            .map_or(Value::Null, |t| Value::Number(t as f64)),
    );
    out.insert(
        "idToken",
        opt(s.id_token.as_ref().map(IdToken::expose_secret)),
    );
    out.insert("userId", opt(s.user_id.as_deref()));
    out.insert("deviceId", opt(s.device_id.as_deref()));
    out.insert("tokenType", opt(s.token_type.as_deref()));
    out.insert("scope", opt(s.scope.as_deref()));
    out.insert("homeserverBaseUrl", opt(s.homeserver_base_url.as_deref()));
    out.insert("cookieOnly", Value::Bool(s.cookie_only));
    Value::Object(out)
}

/// `{claims, verified, source}`.
fn identity_value(identity: &Identity) -> Value {
    let mut out = Object::default();
    out.insert("claims", Value::Object(identity.claims.clone()));
    out.insert("verified", Value::Bool(identity.verified));
    out.insert("source", text(identity.source.as_str()));
    Value::Object(out)
}

/// The persisted form of a session (`persistSession: true`).
fn persisted(s: &Session) -> String {
    let mut out = Object::default();
    let strings = [
        (
            "access_token",
            s.access_token.as_ref().map(AccessToken::expose_secret),
        ),
        ("id_token", s.id_token.as_ref().map(IdToken::expose_secret)),
        ("token_type", s.token_type.as_deref()),
        ("scope", s.scope.as_deref()),
        ("user_id", s.user_id.as_deref()),
        ("device_id", s.device_id.as_deref()),
        ("homeserver_base_url", s.homeserver_base_url.as_deref()),
        ("backend_identity", s.backend_identity.as_deref()),
    ];
    for (name, value) in strings {
        if let Some(v) = value {
            out.insert(name, text(v));
        }
    }
    if let Some(at) = s.expires_at {
        out.insert("expires_at", Value::Number(at as f64));
    }
    if s.cookie_only {
        out.insert("cookie_only", Value::Bool(true));
    }
    Value::Object(out).to_json()
}

/// Reads a persisted session back; `None` when unreadable.
fn restored(text: &str) -> Option<Session> {
    let Ok(Value::Object(obj)) = json::parse(text) else {
        return None;
    };
    let get = |name: &str| obj.get_str(name).map(str::to_owned);
    let session = Session {
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
        refresh_token_dropped: false,
        backend_identity: get("backend_identity"),
    };
    (session.access_token.is_some() || session.cookie_only).then_some(session)
}

/// How a started flow goes on once its record is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
enum How {
    /// `location.assign`.
    Assign,
    /// The popup.
    Popup,
    /// Ask the host at this origin.
    Host(String),
    /// Answer the URL (`authorizationUrl()`).
    Url,
}

impl How {
    fn name(&self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Popup => "popup",
            Self::Host(_) => "host",
            Self::Url => "url",
        }
    }
}

/// A started flow, waiting for its record to be stored (or its popup opened).
#[derive(Clone, Debug)]
struct Started {
    url: String,
    state: State,
    store: FlowStore,
    how: How,
}

/// A continuation the JS layer answers synchronously (`store`,
/// `open-popup`), so the core keeps it.
#[derive(Clone, Debug, Default)]
enum Pending {
    #[default]
    Nothing,
    /// A new flow's records are being stored.
    Storing(Started),
    /// The popup is being opened.
    Opening(Started),
    /// A callback's flow is being marked used; then `completion`.
    Consuming {
        completion: Completion,
        /// `cookieSession` of the configuration that completed it.
        cookie: bool,
        store: FlowStore,
        key: String,
        /// Marking it failed; it is being removed instead.
        removing: bool,
    },
}

/// The browser client's core (see the module docs).
#[derive(Debug, Default)]
pub struct Client {
    config: Option<ClientConfig>,
    /// Seed 001's `(authorizationServerUrl, extensionId)` before
    /// `login(redirectUrl)` configured it.
    positional: Option<(String, String)>,
    session: Option<Session>,
    pending: Pending,
}

fn resume(then: &str, members: &[(&str, &str)]) -> Value {
    let mut out = Object::default();
    out.insert("then", text(then));
    for (name, value) in members {
        out.insert(*name, text(value));
    }
    Value::Object(out)
}

/// What the answer to a request is for, with the failure's code and name.
fn expectation(then: &str) -> (ErrorCode, &'static str) {
    match then {
        "handoff" => (ErrorCode::HandoffFailed, "tokenHandoffUrl"),
        "token" => (ErrorCode::NetworkError, "the token endpoint"),
        "auth-token" => (ErrorCode::HandoffFailed, "the auth service"),
        "auth-returned" | "userinfo" => (ErrorCode::NetworkError, "the auth service"),
        _ => (ErrorCode::NetworkError, "the homeserver"),
    }
}

/// `completePopup()`: a callback page hands its URL to the opener (at
/// `opener_origin`, default this page's origin); `false` when this page is
/// no callback.
fn complete_popup(page: &Page, opener_origin: Option<&str>) -> Answer {
    if !is_callback(&page.href) {
        return Answer::new(Step::Value(Value::Bool(false)));
    }
    let mut answer = Answer::new(Step::ToOpener {
        message: json::parse(&callback_message(&page.href)).unwrap_or(Value::Null),
        target_origin: opener_origin.unwrap_or(&page.origin).to_owned(),
    });
    answer.scrub = Some(scrubbed_url(&page.href));
    answer
}

/// The one request a completion makes (`cookie`: `cookieSession`).
fn request(completion: Completion, cookie: bool) -> Answer {
    const JSON_TYPE: &str = "application/json";
    let cookie = if cookie { "true" } else { "" };
    let (request, resume) = match completion {
        Completion::Handoff { url, body_json } => (
            Request {
                method: "POST",
                url,
                content_type: Some(JSON_TYPE),
                body: Some(body_json),
                credentials: "include",
            },
            resume("handoff", &[("cookie", cookie)]),
        ),
        Completion::DirectTokenRequest { url, form_body } => (
            Request {
                method: "POST",
                url,
                content_type: Some("application/x-www-form-urlencoded"),
                body: Some(form_body),
                credentials: "same-origin",
            },
            resume("token", &[]),
        ),
        Completion::MatrixLogin { url, body_json } => (
            Request {
                method: "POST",
                url,
                content_type: Some(JSON_TYPE),
                body: Some(body_json),
                credentials: "same-origin",
            },
            resume("matrix-login", &[]),
        ),
        Completion::AuthServiceToken { url, body_json } => (
            Request {
                method: "POST",
                url,
                content_type: Some(JSON_TYPE),
                body: Some(body_json),
                credentials: "include",
            },
            resume("auth-token", &[]),
        ),
        Completion::AuthServiceReturned { userinfo_url } => (
            Request {
                method: "GET",
                url: userinfo_url,
                content_type: None,
                body: None,
                credentials: "include",
            },
            resume("auth-returned", &[]),
        ),
    };
    Answer::new(Step::Fetch(request, resume))
}

impl Client {
    /// A client with no configuration yet (the first event is `configure`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one event (JSON text) and answers the step (JSON text).
    pub fn step(&mut self, event: &str) -> String {
        let answer = match json::parse(event) {
            Ok(Value::Object(event)) => self.handle(&event),
            _ => Answer::fail(Error::new(
                ErrorCode::Unsupported,
                "the client's JS layer sent an event that is not a JSON object",
            )),
        };
        answer.to_json()
    }

    /// Handles one event.
    pub fn handle(&mut self, event: &Object) -> Answer {
        let page = Page::read(event);
        let pending = core::mem::take(&mut self.pending);
        let kind = event.get_str("event").unwrap_or_default();
        let resume = event.get("resume").and_then(Value::as_object);
        let then = resume.and_then(|r| r.get_str("then")).unwrap_or_default();
        let result = match kind {
            "configure" => self.configure(event),
            "restore" => Ok(self.restore(event.get_str("text"), page.now)),
            "login" => self.login(&page, event.get_str("redirectUrl")),
            "authorization-url" => self.start(&page, true),
            "callback" => Ok(self.callback(
                &page,
                event.get_str("url").unwrap_or(&page.href),
                event.get("current") == Some(&Value::Bool(true)),
            )),
            "stored" => Ok(self.stored(pending, event.get("ok") == Some(&Value::Bool(true)))),
            "popup-opened" => {
                Ok(self.popup_opened(pending, event.get("ok") == Some(&Value::Bool(true))))
            }
            "popup-message" => self.popup_message(&page, event, resume),
            "popup-closed" => Err(navigation::popup_closed_error()),
            "host-reply" => self.host_reply(event),
            "host-timeout" => Err(navigation::host_no_reply_error()),
            "response" => self.response(&page, event, then, resume),
            "identity" => self.identity(page.now),
            "session" => Ok(Answer::new(Step::Value(
                self.live(page.now).map_or(Value::Null, session_value),
            ))),
            "is-callback" => Ok(Answer::new(Step::Value(Value::Bool(is_callback(
                event.get_str("url").unwrap_or_default(),
            ))))),
            "logout" => Ok(self.logout(&page)),
            "complete-popup" => Ok(complete_popup(&page, event.get_str("openerOrigin"))),
            _ => Err(Error::new(
                ErrorCode::Unsupported,
                "the client's JS layer sent an unknown event",
            )),
        };
        result.unwrap_or_else(Answer::fail)
    }

    fn config(&self) -> Result<ClientConfig> {
        self.config.clone().ok_or_else(|| {
            Error::options(
                "this client was made with (authorizationServerUrl, extensionId): call login(redirectUrl) first",
            )
        })
    }

    fn timeout_ms(&self) -> u64 {
        self.config
            .as_ref()
            .map_or(config::DEFAULT_TIMEOUT_MS, |c| c.timeout_ms)
    }

    fn live(&self, now: u64) -> Option<&Session> {
        self.session.as_ref().filter(|s| s.is_live(now))
    }

    fn session_key(&self) -> Option<String> {
        let config = self.config.as_ref().filter(|c| c.persist_session)?;
        Some(msg!(SESSION_KEY_PREFIX, config.profile.kind().as_str()))
    }

    // ---- configuration ----

    fn configure(&mut self, event: &Object) -> Result<Answer> {
        match (event.get("options"), event.get_str("server")) {
            (Some(Value::Object(options)), _) => {
                self.config = Some(config::read(options)?);
            }
            (_, Some(server)) => {
                let id = event.get_str("extensionId").unwrap_or_default();
                // Checked now (with a placeholder redirect), so a bad URL fails here.
                ClientConfig::for_authorization_server(server, id, "https://localhost/")?;
                self.positional = Some((server.to_owned(), id.to_owned()));
            }
            _ => {
                return Err(Error::options(
                    "new ExtensionClient() needs an options object with a profile",
                ))
            }
        }
        Ok(Answer::new(Step::Configured {
            session_key: self.session_key(),
            timeout_ms: self.timeout_ms(),
        }))
    }

    fn restore(&mut self, text: Option<&str>, now: u64) -> Answer {
        if let Some(session) = text.and_then(restored).filter(|s| s.is_live(now)) {
            self.session = Some(session);
        }
        Answer::new(Step::Value(Value::Null))
    }

    /// Seed 001: `login(redirectUrl)` configures the positional client; with
    /// options, `redirectUrl` must be the configured redirect.
    fn configure_redirect(&mut self, redirect_url: Option<&str>) -> Result<()> {
        match (&self.positional, redirect_url) {
            (Some((url, id)), Some(redirect)) => {
                self.config = Some(ClientConfig::for_authorization_server(url, id, redirect)?);
            }
            (None, Some(redirect)) => {
                let configured = match &self.config()?.profile {
                    ProfileConfig::OAuth2(p) => Some(p.redirect_uri.clone()),
                    ProfileConfig::Matrix(p) => Some(p.redirect_uri.clone()),
                    ProfileConfig::MiaAuthService(p) => Some(p.redirect.clone()),
                    ProfileConfig::MiaConsole(_) => None,
                };
                if configured.is_some_and(|c| c != redirect) {
                    return Err(Error::options(
                        "login(redirectUrl) differs from the configured redirect: omit the argument",
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    // ---- starting a flow ----

    fn login(&mut self, page: &Page, redirect_url: Option<&str>) -> Result<Answer> {
        self.configure_redirect(redirect_url)?;
        if is_callback(&page.href) {
            return Ok(self.callback(page, &page.href, true));
        }
        if let Some(session) = self.live(page.now) {
            return Ok(Answer::new(Step::Done(session.clone())));
        }
        self.start(page, false)
    }

    /// Plans the navigation, creates the flow in its store and asks for the
    /// record to be stored (`authorization_url`: only answer the URL).
    fn start(&mut self, page: &Page, authorization_url: bool) -> Result<Answer> {
        let config = self.config()?;
        let plan = plan_navigation(&config, page.framed, page.session_flows.is_some())?;
        let flows = page.flows(plan.flow_store)?;
        let random = Bytes(core::cell::Cell::new(&page.random));
        let request = start_flow(flows, &FixedClock(page.now), &random, &config)?;
        let how = match plan.action {
            _ if authorization_url => How::Url,
            NavigationAction::AssignSelf => How::Assign,
            NavigationAction::OpenPopup => How::Popup,
            NavigationAction::AskHost { target_origin } => How::Host(target_origin),
        };
        self.pending = Pending::Storing(Started {
            url: request.url,
            state: request.state,
            store: plan.flow_store,
            how,
        });
        Ok(Answer::new(Step::Store).with_writes(plan.flow_store, flows.take_writes()))
    }

    fn is_matrix(&self) -> bool {
        matches!(
            self.config.as_ref().map(|c| &c.profile),
            Some(ProfileConfig::Matrix(_))
        )
    }

    /// `GET /_matrix/client/v3/login` before a Matrix flow navigates.
    fn check_flows(&self, started: &Started) -> Result<Answer> {
        let ProfileConfig::Matrix(p) = &self.config()?.profile else {
            return Err(Error::new(ErrorCode::Unsupported, "not a Matrix client"));
        };
        let request = Request {
            method: "GET",
            url: crate::protocol::matrix::login_url(&p.homeserver_url),
            content_type: None,
            body: None,
            credentials: "same-origin",
        };
        let resume = resume(
            "flows",
            &[
                ("url", &started.url),
                ("state", started.state.expose_secret()),
                ("how", started.how.name()),
            ],
        );
        Ok(Answer::new(Step::Fetch(request, resume)))
    }

    /// Where a started flow navigates (after the Matrix check, if any).
    fn go(&self, how: &str, url: String, state: &str) -> Result<Answer> {
        Ok(Answer::new(match how {
            "assign" => Step::Navigate(url),
            "popup" => Step::AwaitPopup {
                navigate: Some(url),
                resume: resume("popup", &[("state", state)]),
            },
            _ => Step::AskHost {
                target_origin: self.config()?.host_origin.unwrap_or_default(),
                message: json::parse(&navigate_message(&url)).unwrap_or(Value::Null),
            },
        }))
    }

    fn stored(&mut self, pending: Pending, ok: bool) -> Answer {
        match pending {
            Pending::Storing(started) if !ok => {
                let key = flow_key(&started.state);
                Answer::fail(storage_unavailable()).with_writes(started.store, vec![(key, None)])
            }
            Pending::Storing(started) => {
                let matrix = self.is_matrix();
                let result = match &started.how {
                    How::Url => Ok(Answer::new(Step::Value(text(&started.url)))),
                    How::Popup => {
                        let blank = if matrix { "" } else { started.url.as_str() };
                        let step = Step::OpenPopup(blank.to_owned());
                        self.pending = Pending::Opening(started);
                        Ok(Answer::new(step))
                    }
                    _ if matrix => self.check_flows(&started),
                    how => self.go(how.name(), started.url.clone(), ""),
                };
                result.unwrap_or_else(Answer::fail)
            }
            Pending::Consuming {
                completion,
                cookie,
                store,
                key,
                removing,
            } => match (ok, removing) {
                (true, _) => request(completion, cookie),
                (false, false) => {
                    // Could not mark it used: remove it instead.
                    self.pending = Pending::Consuming {
                        completion,
                        cookie,
                        store,
                        key: key.clone(),
                        removing: true,
                    };
                    Answer::new(Step::Store).with_writes(store, vec![(key, None)])
                }
                // Neither: the one-time guarantee would not hold.
                (false, true) => Answer::fail(storage_unavailable()),
            },
            _ => Answer::fail(Error::new(
                ErrorCode::Unsupported,
                "the client's JS layer answered a store that was not asked for",
            )),
        }
    }

    fn popup_opened(&mut self, pending: Pending, ok: bool) -> Answer {
        let Pending::Opening(started) = pending else {
            return Answer::fail(Error::new(
                ErrorCode::Unsupported,
                "the client's JS layer answered a popup that was not asked for",
            ));
        };
        if !ok {
            let key = flow_key(&started.state);
            return Answer::fail(navigation::popup_blocked_error())
                .with_writes(FlowStore::Memory, vec![(key, None)]);
        }
        if self.is_matrix() {
            return self.check_flows(&started).unwrap_or_else(Answer::fail);
        }
        Answer::new(Step::AwaitPopup {
            navigate: None,
            resume: resume("popup", &[("state", started.state.expose_secret())]),
        })
    }

    fn host_reply(&mut self, event: &Object) -> Result<Answer> {
        let config = self.config()?;
        let reply = accept_host_reply(
            &config,
            event.get_str("origin").unwrap_or_default(),
            event.get("fromParent") == Some(&Value::Bool(true)),
            event.get("data").unwrap_or(&Value::Null),
        );
        match reply {
            HostReply::Ignore => Ok(Answer::new(Step::Ignore)),
            HostReply::Accepted => Ok(Answer::new(Step::Navigated)),
            HostReply::Refused(error) => Err(error),
        }
    }

    // ---- callbacks ----

    /// A callback URL: scrubbed first when it is this page's, on success and
    /// failure alike; handed to the opener on a popup's callback page;
    /// otherwise checked against its flow, which is spent.
    fn callback(&mut self, page: &Page, url: &str, current: bool) -> Answer {
        let mut answer = self
            .callback_step(page, url, current)
            .unwrap_or_else(Answer::fail);
        if current {
            answer.scrub = Some(scrubbed_url(url));
        }
        answer
    }

    fn callback_step(&mut self, page: &Page, url: &str, current: bool) -> Result<Answer> {
        let config = match (&self.config, &self.positional) {
            (Some(c), _) => c.clone(),
            (None, Some((server, id))) => {
                // Seed 001 on the callback page without login(redirectUrl):
                // the redirect is this page (the flow record is checked anyway).
                let page_url = scrubbed_url(url);
                let page_url = page_url.split('#').next().unwrap_or_default();
                ClientConfig::for_authorization_server(server, id, page_url)?
            }
            (None, None) => self.config()?,
        };
        let popup = config.navigation == Navigation::Popup;
        if popup && current && !is_auth_service_web_login_step(&config, url) {
            // The popup's callback page: the flow lives in the opener's
            // memory. (The auth service's web-login step is done here, in
            // the popup; its return to `redirect` comes back here.)
            return Ok(Answer::new(Step::ToOpener {
                message: json::parse(&callback_message(url)).unwrap_or(Value::Null),
                target_origin: page.origin.clone(),
            }));
        }
        let store = if popup {
            FlowStore::Memory
        } else {
            FlowStore::SessionStorage
        };
        Ok(self.consume(&config, store, page.flows(store)?, url, page.now))
    }

    /// Completes `url` against the flows in `flows` (see [`complete`]): the
    /// flow it names is spent; when the callback is valid, that write is
    /// verified before its code is used.
    fn consume(
        &mut self,
        config: &ClientConfig,
        store: FlowStore,
        flows: &Snapshot,
        url: &str,
        now: u64,
    ) -> Answer {
        let outcome = complete(flows, &FixedClock(now), config, url);
        let writes = flows.take_writes();
        match outcome {
            Err(error) => Answer::fail(error).with_writes(store, writes),
            Ok(completion) => match writes.first() {
                // The auth service's web-login step spends no flow of ours.
                None => request(completion, config.cookie_session),
                Some((key, _)) => {
                    self.pending = Pending::Consuming {
                        completion,
                        cookie: config.cookie_session,
                        store,
                        key: key.clone(),
                        removing: false,
                    };
                    Answer::new(Step::Store).with_writes(store, writes)
                }
            },
        }
    }

    fn popup_message(
        &mut self,
        page: &Page,
        event: &Object,
        resume: Option<&Object>,
    ) -> Result<Answer> {
        let config = self.config()?;
        let pending = State::new(resume.and_then(|r| r.get_str("state")).unwrap_or_default());
        let source = match event.get_str("source") {
            Some("popup") => MessageSource::OurPopup,
            Some("channel") => MessageSource::Channel,
            _ => MessageSource::OtherWindow,
        };
        let accepted = accept_callback_message(
            &callback_message_origins(&config, &page.origin),
            event.get_str("origin").unwrap_or_default(),
            source,
            event.get("data").unwrap_or(&Value::Null),
            config.profile.kind(),
            &pending,
        );
        Ok(match accepted {
            None => Answer::new(Step::Ignore),
            Some(url) => self.consume(
                &config,
                FlowStore::Memory,
                &page.memory_flows,
                &url,
                page.now,
            ),
        })
    }

    // ---- answers ----

    /// The answer to a `fetch`, by what it was for (`then`).
    fn response(
        &mut self,
        page: &Page,
        event: &Object,
        then: &str,
        resume: Option<&Object>,
    ) -> Result<Answer> {
        let (code, what) = expectation(then);
        let timeout_ms = self.timeout_ms();
        match event.get_str("failure") {
            Some("timeout") => {
                return Err(Error::new(
                    code,
                    msg!(
                        what,
                        " did not answer within ",
                        timeout_ms,
                        " ms (timeoutMs)"
                    ),
                )
                .retryable(true))
            }
            Some(_) => {
                let detail = event.get_str("detail").unwrap_or("the request failed");
                return Err(
                    Error::new(code, msg!(what, " could not be reached: ", detail)).retryable(true),
                );
            }
            None => {}
        }
        let status = event
            .get("status")
            .and_then(Value::as_f64)
            .filter(|s| (0.0..=999.0).contains(s))
            .map_or(0, |s| s as u16);
        // A browser reports a redirect it did not follow as `redirected`
        // (an opaque redirect); other runtimes answer the 3xx itself.
        if event.get("redirected") == Some(&Value::Bool(true)) || (300..=399).contains(&status) {
            return Err(Error::new(
                code,
                msg!(
                    what,
                    " answered with a redirect, which the client does not follow: it must answer the request itself"
                ),
            ));
        }
        let Some(body) = event.get_str("body") else {
            return Err(Error::new(
                code,
                msg!(
                    what,
                    " answered a body larger than ",
                    MAX_BODY_LEN,
                    " bytes"
                ),
            )
            .with_status(status));
        };
        let now = page.now;
        let session = match then {
            "handoff" | "token" => {
                let source = if then == "handoff" {
                    TokenSource::Handoff
                } else {
                    TokenSource::TokenEndpoint
                };
                let cookie = resume.and_then(|r| r.get_str("cookie")) == Some("true");
                parse_token_response(source, status, body, now, cookie)?
            }
            "matrix-login" => matrix::parse_login_response(status, body, now)?,
            "auth-token" => {
                let ProfileConfig::MiaAuthService(p) = &self.config()?.profile else {
                    return Err(Error::new(ErrorCode::Unsupported, "profile mismatch"));
                };
                let location = event.get_str("location");
                let next = auth_service::next_location(p, status, location, &page.origin)?;
                return Ok(Answer::new(Step::Navigate(next)));
            }
            "auth-returned" => {
                auth_service::parse_userinfo(status, body)?;
                Session {
                    cookie_only: true,
                    ..Session::default()
                }
            }
            "userinfo" => {
                let identity = auth_service::parse_userinfo(status, body)?;
                return Ok(Answer::new(Step::Identity(identity)));
            }
            "flows" => {
                let ProfileConfig::Matrix(p) = &self.config()?.profile else {
                    return Err(Error::new(ErrorCode::Unsupported, "profile mismatch"));
                };
                matrix::check_login_flows(status, body, p.idp_id.as_deref())?;
                let get = |name: &str| resume.and_then(|r| r.get_str(name)).unwrap_or_default();
                return self.go(get("how"), get("url").to_owned(), get("state"));
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::Unsupported,
                    "the client's JS layer answered a request that was not asked for",
                ))
            }
        };
        let mut answer = Answer::new(Step::Done(session.clone()));
        if let Some(key) = self.session_key() {
            answer.session = vec![(key, Some(persisted(&session)))];
        }
        self.session = Some(session);
        Ok(answer)
    }

    // ---- identity and logout ----

    fn identity(&self, now: u64) -> Result<Answer> {
        let config = self.config()?;
        if let ProfileConfig::MiaAuthService(p) = &config.profile {
            let request = Request {
                method: "GET",
                url: auth_service::userinfo_url(p),
                content_type: None,
                body: None,
                credentials: "include",
            };
            return Ok(Answer::new(Step::Fetch(request, resume("userinfo", &[]))));
        }
        let Some(session) = self.live(now) else {
            return Err(Error::new(
                ErrorCode::NotLoggedIn,
                "there is no live session: call login() first",
            ));
        };
        let identity = match session.backend_identity() {
            Some(verified) => verified,
            None => session.unverified_identity()?,
        };
        Ok(Answer::new(Step::Identity(identity)))
    }

    /// Forgets the session and every pending flow of this tab.
    fn logout(&mut self, page: &Page) -> Answer {
        self.session = None;
        let all = |flows: Option<&Snapshot>| -> Vec<Write> {
            flows
                .and_then(|f| crate::platform::Storage::keys(f).ok())
                .unwrap_or_default()
                .into_iter()
                .filter(|k| k.starts_with(FLOW_KEY_PREFIX))
                .map(|k| (k, None))
                .collect()
        };
        let mut answer = Answer::new(Step::Value(Value::Null));
        answer.session = all(page.session_flows.as_ref());
        if let (Some(key), Some(_)) = (self.session_key(), &page.session_flows) {
            answer.session.push((key, None));
        }
        answer.memory = all(Some(&page.memory_flows));
        answer
    }
}

#[cfg(test)]
mod tests;
