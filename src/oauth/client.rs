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
//! `href`, `origin` (the page's), `framed`, `flows` (`{session: {key: record} | null,
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
//! | `popup-message` | `resume`, `messageOrigin` (the message's `origin`), `source` (`popup`, `window` or `channel`), `dataJson` (the message's data as its own JSON text) | a message while `await-popup` |
//! | `popup-closed` | `resume` | the popup closed while `await-popup` |
//! | `host-reply` | `resume`, `messageOrigin`, `fromParent`, `dataJson` | a message while `ask-host` |
//! | `host-timeout` | `resume` | `timeoutMs` of `ask-host` passed |
//! | `response` | `resume`, `status`, `body` (text, `null` over `maxBytes`), `location`, `redirected` (a redirect was not followed, or was followed by a custom `fetch`); or `failure` (`timeout`, `network`) and `detail` | the answer to `fetch` |
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
//! | `await-popup` | `resume`, `navigate` (a URL for the popup, or `null`), `channel`, `maxMessageBytes` | listen to `message` events and the `channel` BroadcastChannel, watch `popup.closed`; send each message until a step is not `ignore` |
//! | `ask-host` | `resume`, `targetOrigin`, `message`, `timeoutMs`, `maxMessageBytes` | `parent.postMessage(message, targetOrigin)`, send each message until a step is not `ignore`; `host-timeout` after `timeoutMs` |
//!
//! While `await-popup` or `ask-host` waits, a message whose data's JSON
//! text is longer than `maxMessageBytes` ([`MAX_MESSAGE_LEN`]) is not sent:
//! it is ignored as the core would (the JS layer may compare UTF-16 units:
//! each is at least one UTF-8 byte).
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
//!
//! Steps are written as JSON text directly ([`super::write`]), not built as
//! values first: the client's wasm is one of the package's budgets.

use super::auth_service;
use super::authorize::start_flow;
use super::callback::{is_callback, scrubbed_url};
use super::complete::{complete, Request, Then};
use super::config::{Config, Navigation};
use super::flow::{self, flow_key, Flows, Write, FLOW_KEY_PREFIX};
use super::matrix;
use super::navigation::{
    self, accept_callback_message, accept_host_reply, callback_message, callback_message_origin,
    is_auth_service_web_login_step, navigate_message, plan_navigation, FlowStore, HostReply,
    MessageSource, NavigationAction, BROADCAST_CHANNEL_NAME, HOST_REPLY_TIMEOUT_MS,
    MAX_MESSAGE_LEN, POPUP_FEATURES,
};
use super::secret::State;
use super::session::{
    check_id_token_nonce, parse_token_response, Session, TokenSource, MAX_BODY_LEN,
};
use super::write::Obj;
use crate::json::{self, Object, Value};
use crate::platform::Random;
use crate::prelude::*;
use crate::protocol::discovery::{Discovery, DiscoveryStep};
use crate::protocol::url::UrlRule;
use crate::{Error, ErrorCode, Result};

/// Random bytes a `login` or `authorization-url` event must carry: a
/// `state` (or nonce), a PKCE verifier and an OpenID Connect `nonce`, of 32
/// bytes each.
pub const RANDOM_BYTES: u64 = 96;

/// Prefix of the key under which `persistSession: true` keeps the session:
/// `extension-sso:session:<profile>`.
pub const SESSION_KEY_PREFIX: &str = "extension-sso:session:";

/// The page, as the JS layer reports it with an event.
struct Page {
    now: u64,
    href: String,
    origin: String,
    framed: bool,
    session_flows: Option<Flows>,
    memory_flows: Flows,
    random: Vec<u8>,
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
            session_flows: flows.and_then(|f| Flows::from_value(f.get("session"))),
            memory_flows: flows
                .and_then(|f| Flows::from_value(f.get("memory")))
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

    fn flows(&mut self, store: FlowStore) -> Result<&mut Flows> {
        match store {
            FlowStore::Memory => Ok(&mut self.memory_flows),
            FlowStore::SessionStorage => {
                self.session_flows.as_mut().ok_or_else(storage_unavailable)
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

/// Seed 001's client before `login(redirectUrl)` configured it.
fn positional_first() -> Error {
    Error::options(
        "this client was made with (authorizationServerUrl, extensionId): call login(redirectUrl) first",
    )
}

fn unsupported(message: &str) -> Error {
    Error::new(ErrorCode::Unsupported, message)
}

// ---- writing steps ----

/// `{"step":kind` ...
fn step(kind: &str) -> Obj {
    Obj::new().str("step", kind)
}

/// `{code, message, retryable, status?, error?, error_description?, error_uri?}`.
fn error_json(error: &Error) -> String {
    let mut out = Obj::new()
        .str("code", error.code().name())
        .str("message", error.message())
        .bool("retryable", error.is_retryable());
    if let Some(status) = error.status() {
        out = out.num("status", u64::from(status));
    }
    if let Some(oauth) = error.oauth() {
        out = out
            .str("error", &oauth.error)
            .opt("error_description", oauth.error_description.as_deref())
            .opt("error_uri", oauth.error_uri.as_deref());
    }
    out.done()
}

fn fail_step(error: &Error) -> Obj {
    step("fail").raw("error", &error_json(error))
}

fn fail(error: &Error) -> String {
    fail_step(error).done()
}

/// `{"set":{...},"remove":[...]}`.
fn writes_json(writes: &[Write]) -> String {
    let mut set = Obj::new();
    let mut remove = String::from("[");
    for (key, value) in writes {
        match value {
            Some(v) => set = set.str(key, v),
            None => {
                if remove.len() > 1 {
                    remove.push(',');
                }
                json::write_string(&mut remove, key);
            }
        }
    }
    remove.push(']');
    Obj::new()
        .raw("set", &set.done())
        .raw("remove", &remove)
        .done()
}

/// `"writes":{"session":{...},"memory":{...}}` (each only when not empty).
fn with_both_writes(out: Obj, session: &[Write], memory: &[Write]) -> Obj {
    if session.is_empty() && memory.is_empty() {
        return out;
    }
    let mut writes = Obj::new();
    for (name, list) in [("session", session), ("memory", memory)] {
        if !list.is_empty() {
            writes = writes.raw(name, &writes_json(list));
        }
    }
    out.raw("writes", &writes.done())
}

/// `"writes"` to one store.
fn with_writes(out: Obj, store: FlowStore, writes: &[Write]) -> Obj {
    match store {
        FlowStore::SessionStorage => with_both_writes(out, writes, &[]),
        FlowStore::Memory => with_both_writes(out, &[], writes),
    }
}

/// `answer` with `"scrub":url` first.
fn with_scrub(answer: String, url: &str) -> String {
    let mut out = String::from("{\"scrub\":");
    json::write_string(&mut out, &scrubbed_url(url));
    out.push(',');
    out.push_str(answer.get(1..).unwrap_or_default());
    out
}

/// The data of a `popup-message` or `host-reply`, read from its own JSON
/// text (`dataJson`), or `None`: not ours, ignored. Any window can post
/// any structured-clone data to the page; crossing as a string inside the
/// event, it cannot make the event unreadable, and a data this reader
/// refuses (RFC 7493 §2.1: lone surrogates; nesting deeper than
/// [`json::MAX_DEPTH`]) is only a message that is not the callback, so it
/// neither ends nor breaks the login that waits. A text over
/// [`MAX_MESSAGE_LEN`] is not ours either (the JS layer does not send it).
fn message_data(event: &Object) -> Option<Value> {
    let text = event.get_str("dataJson")?;
    if text.len() > MAX_MESSAGE_LEN {
        return None;
    }
    json::parse(text).ok()
}

fn value(json_text: &str) -> String {
    step("value").raw("value", json_text).done()
}

/// The `fetch` step for `request`; `resume` is sent back with its answer.
fn fetch(request: &Request, resume: Obj) -> String {
    step("fetch")
        .str("method", request.method)
        .str("url", &request.url)
        .opt("contentType", request.content_type)
        .opt("body", request.body.as_deref())
        .str("credentials", request.credentials)
        .num("maxBytes", MAX_BODY_LEN as u64)
        .raw("resume", &resume.done())
        .done()
}

/// The `fetch` step of a completion (`cookie`: `cookieSession`).
fn fetch_completion(request: &Request, cookie: bool) -> String {
    let mut resume = Obj::new().str("then", request.then.as_str());
    if cookie {
        resume = resume.bool("cookie", true);
    }
    if let Some(nonce) = &request.nonce {
        resume = resume.str("nonce", nonce);
    }
    fetch(request, resume)
}

/// How a started flow goes on once its record is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    Assign,
    Popup,
    /// The popup is open already (blank, while discovery ran).
    PopupOpen,
    Host,
    /// Answer the URL (`authorizationUrl()`).
    Url,
}

impl How {
    const ALL: [Self; 5] = [
        Self::Assign,
        Self::Popup,
        Self::PopupOpen,
        Self::Host,
        Self::Url,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Popup => "popup",
            Self::PopupOpen => "popup-open",
            Self::Host => "host",
            Self::Url => "url",
        }
    }

    fn parse(name: Option<&str>) -> Self {
        Self::ALL
            .into_iter()
            .find(|h| Some(h.name()) == name)
            .unwrap_or(Self::Assign)
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
    /// A new flow's record is being stored.
    Storing(Started),
    /// The popup is being opened.
    Opening(Started),
    /// A blank popup is being opened (inside the click) while discovery runs.
    OpeningBlank,
    /// A callback's flow is being marked used; then `request`.
    Consuming {
        request: Request,
        cookie: bool,
        store: FlowStore,
        key: String,
        /// Marking it failed; it is being removed instead.
        removing: bool,
    },
}

/// The `fetch` of the issuer's metadata (OpenID Connect Discovery 1.0, then
/// RFC 8414: [`Discovery`]); `next`: the discovery at its second URL.
fn discover(config: &Config, how: How, next: Option<Discovery>) -> Result<String> {
    let second = next.is_some();
    let discovery = match next {
        Some(d) => d,
        None => Discovery::new(config.get("issuer").unwrap_or_default(), UrlRule::STRICT)?,
    };
    let request = Request::get(discovery.url().to_owned(), Then::Discovery, "same-origin");
    let mut resume = Obj::new()
        .str("then", Then::Discovery.as_str())
        .str("how", how.name());
    if second {
        resume = resume.bool("second", true);
    }
    Ok(fetch(&request, resume))
}

/// Completes `url` against `flows` (see [`complete`]): the flow it names
/// is spent; when the callback is valid, that write is verified before its
/// code is used. Answers the step and what to keep for `stored`.
fn consume(
    config: &Config,
    store: FlowStore,
    flows: &mut Flows,
    url: &str,
    now: u64,
) -> (String, Pending) {
    let outcome = complete(flows, now, config, url);
    let writes = flows.take_writes();
    match (outcome, writes.first()) {
        (Err(error), _) => (
            with_writes(fail_step(&error), store, &writes).done(),
            Pending::Nothing,
        ),
        // The auth service's web-login step spends no flow of ours.
        (Ok(request), None) => (
            fetch_completion(&request, config.cookie_session),
            Pending::Nothing,
        ),
        (Ok(request), Some((key, _))) => {
            let pending = Pending::Consuming {
                request,
                cookie: config.cookie_session,
                store,
                key: key.clone(),
                removing: false,
            };
            (with_writes(step("store"), store, &writes).done(), pending)
        }
    }
}

/// The browser client's core (see the module docs).
#[derive(Debug, Default)]
pub struct Client {
    config: Option<Config>,
    /// Seed 001's `(authorizationServerUrl, extensionId)` before
    /// `login(redirectUrl)` configured it.
    positional: Option<(String, String)>,
    session: Option<Session>,
    pending: Pending,
}

impl Client {
    /// A client with no configuration yet (the first event is `configure`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one event (JSON text) and answers the step (JSON text).
    pub fn step(&mut self, event: &str) -> String {
        match json::parse(event) {
            Ok(Value::Object(mut event)) => self.handle(&mut event).unwrap_or_else(|e| fail(&e)),
            _ => fail(&unsupported(
                "the client's JS layer sent an event that is not a JSON object",
            )),
        }
    }

    fn handle(&mut self, event: &mut Object) -> Result<String> {
        // The options move into the configuration (not copied).
        let options = match event.get_str("event") {
            Some("configure") => event.remove("options"),
            _ => None,
        };
        let event = &*event;
        let mut page = Page::read(event);
        let pending = core::mem::take(&mut self.pending);
        let resume = event.get("resume").and_then(Value::as_object);
        let ok = event.get("ok") == Some(&Value::Bool(true));
        let text = |name: &str| event.get_str(name);
        match text("event").unwrap_or_default() {
            "configure" => self.configure(options, event),
            "restore" => {
                let restored = text("text").and_then(Session::restored);
                if let Some(session) = restored.filter(|s| s.is_live(page.now)) {
                    self.session = Some(session);
                }
                Ok(value("null"))
            }
            "login" => self.login(&mut page, text("redirectUrl")),
            "authorization-url" => self.start(&mut page, How::Url),
            "callback" => {
                let url = text("url").unwrap_or(&page.href).to_owned();
                Ok(self.callback(
                    &mut page,
                    &url,
                    event.get("current") == Some(&Value::Bool(true)),
                ))
            }
            "stored" => Ok(self.stored(pending, ok)),
            "popup-opened" => Ok(self.popup_opened(pending, ok)),
            "popup-message" => {
                let Some(config) = &self.config else {
                    return Err(unsupported("no popup login is pending"));
                };
                let pending =
                    State::new(resume.and_then(|r| r.get_str("state")).unwrap_or_default());
                let source = match text("source") {
                    Some("popup") => MessageSource::OurPopup,
                    Some("channel") => MessageSource::Channel,
                    _ => MessageSource::OtherWindow,
                };
                let allowed = callback_message_origin(config, &page.origin);
                let origin = text("messageOrigin").unwrap_or_default();
                let Some(data) = message_data(event) else {
                    return Ok(step("ignore").done());
                };
                let data = &data;
                if let Some(error) = navigation::popup_error(&allowed, origin, source, data) {
                    return Err(error);
                }
                let accepted =
                    accept_callback_message(&allowed, origin, source, data, config.kind, &pending);
                let Some(url) = accepted else {
                    return Ok(step("ignore").done());
                };
                let (answer, next) = consume(
                    config,
                    FlowStore::Memory,
                    &mut page.memory_flows,
                    &url,
                    page.now,
                );
                self.pending = next;
                Ok(answer)
            }
            "popup-closed" => Err(navigation::popup_closed_error()),
            "host-reply" => {
                let config = self.config()?;
                let from_parent = event.get("fromParent") == Some(&Value::Bool(true));
                let Some(data) = message_data(event) else {
                    return Ok(step("ignore").done());
                };
                match accept_host_reply(
                    config,
                    text("messageOrigin").unwrap_or_default(),
                    from_parent,
                    &data,
                ) {
                    HostReply::Ignore => Ok(step("ignore").done()),
                    HostReply::Accepted => Ok(step("navigated").done()),
                    HostReply::Refused(error) => Err(error),
                }
            }
            "host-timeout" => Err(navigation::host_no_reply_error()),
            "response" => self.response(&mut page, event, resume),
            "identity" => self.identity(page.now),
            "session" => Ok(
                match self.session.as_ref().filter(|s| s.is_live(page.now)) {
                    Some(session) => value(&session.to_json()),
                    None => value("null"),
                },
            ),
            "is-callback" => Ok(value(if is_callback(text("url").unwrap_or_default()) {
                "true"
            } else {
                "false"
            })),
            "logout" => Ok(self.logout(&mut page)),
            "complete-popup" => {
                let opener = text("openerOrigin");
                if let Some(origin) = opener {
                    // The message carries the code and the state.
                    super::config::check_origin("openerOrigin", origin)?;
                }
                if !is_callback(&page.href) {
                    return Ok(value("false"));
                }
                let answer = step("to-opener")
                    .raw("message", &callback_message(&page.href))
                    .str("targetOrigin", opener.unwrap_or(&page.origin))
                    .str("channel", BROADCAST_CHANNEL_NAME)
                    .done();
                Ok(with_scrub(answer, &page.href))
            }
            _ => Err(unsupported("the client's JS layer sent an unknown event")),
        }
    }

    fn config(&self) -> Result<&Config> {
        self.config.as_ref().ok_or_else(positional_first)
    }

    fn session_key(&self) -> Option<String> {
        let config = self.config.as_ref().filter(|c| c.persist_session)?;
        Some(msg!(SESSION_KEY_PREFIX, config.kind.as_str()))
    }

    // ---- configuration ----

    fn configure(&mut self, options: Option<Value>, event: &Object) -> Result<String> {
        match (options, event.get_str("server")) {
            (Some(Value::Object(options)), _) => {
                self.config = Some(Config::read(options)?);
            }
            (_, Some(server)) => {
                let id = event.get_str("extensionId").unwrap_or_default();
                // Checked now (with a placeholder redirect), so a bad URL fails here.
                Config::positional(server, id, "https://localhost/")?;
                self.positional = Some((server.to_owned(), id.to_owned()));
            }
            _ => {
                return Err(Error::options(
                    "new ExtensionClient() needs an options object with a profile",
                ))
            }
        }
        let timeout = self
            .config
            .as_ref()
            .map_or(super::config::DEFAULT_TIMEOUT_MS, |c| c.timeout_ms);
        Ok(step("configured")
            .opt("sessionKey", self.session_key().as_deref())
            .str("flowPrefix", FLOW_KEY_PREFIX)
            .num("randomBytes", RANDOM_BYTES)
            .num("timeoutMs", timeout)
            .done())
    }

    // ---- starting a flow ----

    fn login(&mut self, page: &mut Page, redirect_url: Option<&str>) -> Result<String> {
        // Seed 001: login(redirectUrl) configures the positional client;
        // with options, redirectUrl must be the configured redirect.
        match (&self.positional, &self.config, redirect_url) {
            (Some((server, id)), _, Some(redirect)) => {
                self.config = Some(Config::positional(server, id, redirect)?);
            }
            (None, Some(config), Some(redirect))
                if config.redirect().is_some_and(|r| r != redirect) =>
            {
                return Err(Error::options(
                    "login(redirectUrl) differs from the configured redirect: omit the argument",
                ));
            }
            _ => {}
        }
        if is_callback(&page.href) {
            let href = page.href.clone();
            return Ok(self.callback(page, &href, true));
        }
        if let Some(session) = self.session.as_ref().filter(|s| s.is_live(page.now)) {
            return Ok(step("done").raw("session", &session.to_json()).done());
        }
        self.start(page, How::Assign)
    }

    /// Plans the navigation, creates the flow in its store and asks for the
    /// record to be stored. `purpose`: `Url` only answers the URL
    /// (`authorizationUrl()`), `PopupOpen` navigates the popup already
    /// open; otherwise the plan decides. An `oauth2` client with `issuer`
    /// alone discovers its endpoints first (a popup opens blank meanwhile,
    /// inside the click).
    fn start(&mut self, page: &mut Page, purpose: How) -> Result<String> {
        let Some(config) = &self.config else {
            return Err(positional_first());
        };
        let (action, store) = plan_navigation(config, page.framed, page.session_flows.is_some())?;
        let how = match (purpose, action) {
            (How::Url | How::PopupOpen, _) => purpose,
            (_, NavigationAction::AssignSelf) => How::Assign,
            (_, NavigationAction::OpenPopup) => How::Popup,
            (_, NavigationAction::AskHost) => How::Host,
        };
        if config.needs_discovery() {
            if how == How::Popup {
                self.pending = Pending::OpeningBlank;
                return Ok(step("open-popup")
                    .str("url", "")
                    .str("features", POPUP_FEATURES)
                    .done());
            }
            return discover(config, how, None);
        }
        let random = Bytes(core::cell::Cell::new(&page.random));
        let now = page.now;
        let flows = match store {
            FlowStore::Memory => &mut page.memory_flows,
            FlowStore::SessionStorage => page
                .session_flows
                .as_mut()
                .ok_or_else(storage_unavailable)?,
        };
        let request = start_flow(flows, now, &random, config)?;
        let writes = flows.take_writes();
        self.pending = Pending::Storing(Started {
            url: request.url,
            state: request.state,
            store,
            how,
        });
        Ok(with_writes(step("store"), store, &writes).done())
    }

    fn is_matrix(&self) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.kind == super::config::ProfileKind::Matrix)
    }

    /// `GET /_matrix/client/v3/login` before a Matrix flow navigates.
    fn check_flows(&self, started: &Started) -> String {
        let homeserver = self
            .config
            .as_ref()
            .and_then(|c| c.get("homeserverUrl"))
            .unwrap_or_default();
        let request = Request::get(
            crate::protocol::matrix::login_url(homeserver),
            Then::Flows,
            "same-origin",
        );
        let resume = Obj::new()
            .str("then", Then::Flows.as_str())
            .str("url", &started.url)
            .str("state", started.state.expose_secret())
            .str("how", started.how.name());
        fetch(&request, resume)
    }

    /// Where a started flow navigates (after the Matrix check, if any).
    fn go(&self, how: How, url: &str, state: &str) -> String {
        match how {
            How::Assign => step("navigate").str("url", url).done(),
            How::Popup | How::PopupOpen => step("await-popup")
                .str("navigate", url)
                .str("channel", BROADCAST_CHANNEL_NAME)
                .num("maxMessageBytes", MAX_MESSAGE_LEN as u64)
                .raw("resume", &Obj::new().str("state", state).done())
                .done(),
            How::Url => value(&Obj::new().done()),
            How::Host => step("ask-host")
                .str(
                    "targetOrigin",
                    self.config
                        .as_ref()
                        .and_then(|c| c.get("hostOrigin"))
                        .unwrap_or_default(),
                )
                .raw("message", &navigate_message(url))
                .num("timeoutMs", HOST_REPLY_TIMEOUT_MS)
                .num("maxMessageBytes", MAX_MESSAGE_LEN as u64)
                .raw("resume", "{}")
                .done(),
        }
    }

    fn stored(&mut self, pending: Pending, ok: bool) -> String {
        match pending {
            Pending::Storing(started) if !ok => {
                let key = flow_key(&started.state);
                with_writes(
                    fail_step(&storage_unavailable()),
                    started.store,
                    &[(key, None)],
                )
                .done()
            }
            Pending::Storing(started) => {
                let matrix = self.is_matrix();
                match started.how {
                    How::Url => {
                        let mut text = String::new();
                        json::write_string(&mut text, &started.url);
                        value(&text)
                    }
                    How::PopupOpen => {
                        self.go(How::PopupOpen, &started.url, started.state.expose_secret())
                    }
                    How::Popup => {
                        let blank = if matrix { "" } else { started.url.as_str() };
                        let answer = step("open-popup")
                            .str("url", blank)
                            .str("features", POPUP_FEATURES)
                            .done();
                        self.pending = Pending::Opening(started);
                        answer
                    }
                    _ if matrix => self.check_flows(&started),
                    how => self.go(how, &started.url, ""),
                }
            }
            Pending::Consuming {
                request,
                cookie,
                store,
                key,
                removing,
            } => match (ok, removing) {
                (true, _) => fetch_completion(&request, cookie),
                (false, false) => {
                    // Could not mark it used: remove it instead.
                    let answer = with_writes(step("store"), store, &[(key.clone(), None)]).done();
                    self.pending = Pending::Consuming {
                        request,
                        cookie,
                        store,
                        key,
                        removing: true,
                    };
                    answer
                }
                // Neither: the one-time guarantee would not hold.
                (false, true) => fail(&storage_unavailable()),
            },
            _ => fail(&unsupported(
                "the client's JS layer answered a store that was not asked for",
            )),
        }
    }

    fn popup_opened(&mut self, pending: Pending, ok: bool) -> String {
        if let Pending::OpeningBlank = pending {
            return match (ok, &self.config) {
                (true, Some(config)) => {
                    discover(config, How::PopupOpen, None).unwrap_or_else(|e| fail(&e))
                }
                _ => fail(&navigation::popup_blocked_error()),
            };
        }
        let Pending::Opening(started) = pending else {
            return fail(&unsupported(
                "the client's JS layer answered a popup that was not asked for",
            ));
        };
        if !ok {
            let key = flow_key(&started.state);
            return with_writes(
                fail_step(&navigation::popup_blocked_error()),
                FlowStore::Memory,
                &[(key, None)],
            )
            .done();
        }
        if self.is_matrix() {
            return self.check_flows(&started);
        }
        step("await-popup")
            .raw("navigate", "null")
            .str("channel", BROADCAST_CHANNEL_NAME)
            .num("maxMessageBytes", MAX_MESSAGE_LEN as u64)
            .raw(
                "resume",
                &Obj::new()
                    .str("state", started.state.expose_secret())
                    .done(),
            )
            .done()
    }

    // ---- callbacks ----

    /// A callback URL: scrubbed first when it is this page's, on success and
    /// failure alike; handed to the opener on a popup's callback page;
    /// otherwise checked against its flow, which is spent.
    fn callback(&mut self, page: &mut Page, url: &str, current: bool) -> String {
        let answer = self.callback_step(page, url).unwrap_or_else(|e| fail(&e));
        if current {
            return with_scrub(answer, url);
        }
        answer
    }

    fn callback_step(&mut self, page: &mut Page, url: &str) -> Result<String> {
        let derived;
        let config = match (&self.config, &self.positional) {
            (Some(c), _) => c,
            (None, Some((server, id))) => {
                // Seed 001 on the callback page without login(redirectUrl):
                // the redirect is this page (the flow record is checked anyway).
                let page_url = scrubbed_url(url);
                let page_url = page_url.split('#').next().unwrap_or_default();
                derived = Config::positional(server, id, page_url)?;
                &derived
            }
            (None, None) => return Err(positional_first()),
        };
        let popup = config.navigation == Navigation::Popup;
        if popup && url == page.href && !is_auth_service_web_login_step(config, url) {
            // The popup's callback page: the flow lives in the opener's
            // memory. (The auth service's web-login step is done here, in
            // the popup; its return to `redirect` comes back here.)
            return Ok(step("to-opener")
                .raw("message", &callback_message(url))
                .str("targetOrigin", &page.origin)
                .str("channel", BROADCAST_CHANNEL_NAME)
                .done());
        }
        let store = if popup {
            FlowStore::Memory
        } else {
            FlowStore::SessionStorage
        };
        let now = page.now;
        let (answer, next) = consume(config, store, page.flows(store)?, url, now);
        self.pending = next;
        Ok(answer)
    }

    // ---- answers ----

    /// The answer to a `fetch`, by what it was for (`then`).
    fn response(
        &mut self,
        page: &mut Page,
        event: &Object,
        resume: Option<&Object>,
    ) -> Result<String> {
        let get = |name: &str| resume.and_then(|r| r.get_str(name));
        let then = get("then").and_then(Then::parse).ok_or_else(|| {
            unsupported("the client's JS layer answered a request that was not asked for")
        })?;
        let (code, what) = match then {
            Then::Handoff => (ErrorCode::HandoffFailed, "tokenHandoffUrl"),
            Then::AuthToken => (ErrorCode::HandoffFailed, "the auth service"),
            Then::Token => (ErrorCode::NetworkError, "the token endpoint"),
            Then::AuthReturned | Then::UserInfo => (ErrorCode::NetworkError, "the auth service"),
            Then::MatrixLogin | Then::Flows => (ErrorCode::NetworkError, "the homeserver"),
            Then::Discovery => (ErrorCode::DiscoveryFailed, "the issuer's metadata endpoint"),
        };
        match event.get_str("failure") {
            Some("timeout") => {
                let timeout = self
                    .config
                    .as_ref()
                    .map_or(super::config::DEFAULT_TIMEOUT_MS, |c| c.timeout_ms);
                return Err(Error::new(
                    code,
                    msg!(what, " did not answer within ", timeout, " ms (timeoutMs)"),
                )
                .retryable(true));
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
        // (an opaque redirect), as it does an answer that a custom `fetch`
        // reached by following one; other runtimes answer the 3xx itself.
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
            Then::Handoff | Then::Token => {
                let source = if then == Then::Handoff {
                    TokenSource::Handoff
                } else {
                    TokenSource::TokenEndpoint
                };
                let cookie = resume.and_then(|r| r.get("cookie")) == Some(&Value::Bool(true));
                let session = parse_token_response(source, status, body, now, cookie)?;
                if let Some(nonce) = get("nonce") {
                    check_id_token_nonce(&session, nonce)?;
                }
                session
            }
            Then::MatrixLogin => matrix::parse_login_response(status, body, now)?,
            Then::AuthToken => {
                let next = auth_service::next_location(
                    self.config()?,
                    status,
                    event.get_str("location"),
                    &page.origin,
                )?;
                return Ok(step("navigate").str("url", &next).done());
            }
            Then::AuthReturned => {
                auth_service::parse_userinfo(status, body)?;
                Session {
                    cookie_only: true,
                    ..Session::default()
                }
            }
            Then::UserInfo => {
                let identity = auth_service::parse_userinfo(status, body)?;
                return Ok(step("identity").raw("identity", &identity).done());
            }
            Then::Discovery => {
                let how = How::parse(get("how"));
                let config = self.config.as_mut().ok_or_else(positional_first)?;
                let mut discovery =
                    Discovery::new(config.get("issuer").unwrap_or_default(), UrlRule::STRICT)?;
                if get("second").is_some() {
                    // The first URL answered 404 (that is how we got here).
                    discovery.answer(404, b"")?;
                }
                return match discovery.answer(status, body.as_bytes())? {
                    DiscoveryStep::Fetch(_) => discover(config, how, Some(discovery)),
                    DiscoveryStep::Found(metadata) => {
                        config.discover(metadata)?;
                        self.start(page, how)
                    }
                };
            }
            Then::Flows => {
                let idp = self.config.as_ref().and_then(|c| c.get("idpId"));
                matrix::check_login_flows(status, body, idp)?;
                let how = How::parse(get("how"));
                return Ok(self.go(
                    how,
                    get("url").unwrap_or_default(),
                    get("state").unwrap_or_default(),
                ));
            }
        };
        let mut answer = step("done").raw("session", &session.to_json());
        if let Some(key) = self.session_key() {
            answer = with_writes(
                answer,
                FlowStore::SessionStorage,
                &[(key, Some(session.persisted()))],
            );
        }
        self.session = Some(session);
        Ok(answer.done())
    }

    // ---- identity and logout ----

    fn identity(&self, now: u64) -> Result<String> {
        let config = self.config()?;
        if config.kind == super::config::ProfileKind::MiaAuthService {
            let request = Request::get(
                auth_service::userinfo_url(config),
                Then::UserInfo,
                "include",
            );
            return Ok(fetch(
                &request,
                Obj::new().str("then", Then::UserInfo.as_str()),
            ));
        }
        let Some(session) = self.session.as_ref().filter(|s| s.is_live(now)) else {
            return Err(Error::new(
                ErrorCode::NotLoggedIn,
                "there is no live session: call login() first",
            ));
        };
        Ok(step("identity")
            .raw("identity", &session.identity()?)
            .done())
    }

    /// Forgets the session and every pending flow of this tab.
    fn logout(&mut self, page: &mut Page) -> String {
        self.session = None;
        let mut session = Vec::new();
        if let Some(flows) = page.session_flows.as_mut() {
            flow::remove_all(flows);
            if let Some(key) = self.session_key() {
                flows.remove(&key);
            }
            session = flows.take_writes();
        }
        flow::remove_all(&mut page.memory_flows);
        with_both_writes(
            step("value").raw("value", "null"),
            &session,
            &page.memory_flows.take_writes(),
        )
        .done()
    }
}

#[cfg(test)]
mod tests;
