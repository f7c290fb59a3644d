//! The client core driven the way `client.js` drives it: a simulated page
//! (its `sessionStorage`, memory store, clock and random bytes) sends events
//! and performs the steps.

use super::*;
use std::collections::BTreeMap;

/// What the JS layer would be: the stores, the clock, the page.
struct Page {
    client: Client,
    /// `None`: blocked `sessionStorage`.
    session: Option<BTreeMap<String, String>>,
    memory: BTreeMap<String, String>,
    now: f64,
    href: String,
    framed: bool,
    next_random: u8,
    /// `window.open` works.
    popups_allowed: bool,
    /// Writes to `sessionStorage` silently fail (read back differs).
    dropping_writes: bool,
    /// The URLs `location.assign`ed, the scrubbed URLs.
    assigned: Vec<String>,
    scrubbed: Vec<String>,
}

const ORIGIN: &str = "https://ext.example";

fn parse(text: &str) -> Object {
    match json::parse(text) {
        Ok(Value::Object(o)) => o,
        other => panic!("not an object: {text} ({other:?})"),
    }
}

fn flows(map: &BTreeMap<String, String>) -> Value {
    let mut o = Object::default();
    for (k, v) in map.iter().filter(|(k, _)| k.starts_with(FLOW_KEY_PREFIX)) {
        o.insert(k.as_str(), Value::String(v.clone()));
    }
    Value::Object(o)
}

impl Page {
    fn new() -> Self {
        Self {
            client: Client::new(),
            session: Some(BTreeMap::new()),
            memory: BTreeMap::new(),
            now: 1000.0,
            href: format!("{ORIGIN}/index.html"),
            framed: false,
            next_random: 0,
            popups_allowed: true,
            dropping_writes: false,
            assigned: Vec::new(),
            scrubbed: Vec::new(),
        }
    }

    fn configured(options: &str) -> Self {
        let mut page = Self::new();
        let answer = page.send(&format!(r#"{{"event":"configure","options":{options}}}"#));
        assert_eq!(answer.get_str("step"), Some("configured"), "{answer:?}");
        page
    }

    /// Sends one event (the page fields set over whatever the event has,
    /// as `client.js` sets them) and answers the step.
    fn send(&mut self, event: &str) -> Object {
        let mut e = parse(event);
        let mut set = |name: &str, value: Value| {
            e.remove(name);
            e.insert(name, value);
        };
        set("now", Value::Number(self.now));
        set("href", Value::String(self.href.clone()));
        set("origin", Value::String(ORIGIN.into()));
        set("framed", Value::Bool(self.framed));
        let mut f = Object::default();
        f.insert("session", self.session.as_ref().map_or(Value::Null, flows));
        f.insert("memory", flows(&self.memory));
        set("flows", Value::Object(f));
        let random: Vec<Value> = (0..RANDOM_BYTES)
            .map(|_| {
                self.next_random = self.next_random.wrapping_add(1);
                Value::Number(f64::from(self.next_random))
            })
            .collect();
        set("random", Value::Array(random));
        let answer = parse(&self.client.step(&Value::Object(e).to_json()));
        if let Some(url) = answer.get_str("scrub") {
            self.scrubbed.push(url.to_owned());
        }
        answer
    }

    /// Performs the writes of `answer`; true when they all read back.
    fn write(&mut self, answer: &Object) -> bool {
        let mut ok = true;
        for (name, store) in [("session", true), ("memory", false)] {
            let Some(writes) = answer
                .get("writes")
                .and_then(Value::as_object)
                .and_then(|w| w.get(name))
                .and_then(Value::as_object)
            else {
                continue;
            };
            let dropping = store && self.dropping_writes;
            let map = if store {
                match self.session.as_mut() {
                    Some(m) => m,
                    None => {
                        ok = false;
                        continue;
                    }
                }
            } else {
                &mut self.memory
            };
            for key in writes.get("remove").and_then(Value::as_array).unwrap() {
                map.remove(key.as_str().unwrap());
            }
            for (key, value) in writes.get("set").and_then(Value::as_object).unwrap().iter() {
                if dropping {
                    ok = false;
                } else {
                    map.insert(key.to_owned(), value.as_str().unwrap().to_owned());
                }
            }
        }
        ok
    }

    /// Sends `event`, then performs the synchronous steps (writes, `store`,
    /// `open-popup`) until one needs the outside world; answers that step.
    fn drive(&mut self, event: &str) -> Object {
        let mut answer = self.send(event);
        loop {
            let ok = self.write(&answer);
            match answer.get_str("step") {
                Some("store") => answer = self.send(&format!(r#"{{"event":"stored","ok":{ok}}}"#)),
                Some("open-popup") => {
                    let ok = self.popups_allowed;
                    answer = self.send(&format!(r#"{{"event":"popup-opened","ok":{ok}}}"#));
                }
                Some("navigate") => {
                    self.assigned
                        .push(answer.get_str("url").unwrap().to_owned());
                    return answer;
                }
                _ => return answer,
            }
        }
    }

    /// Answers a `fetch` step with `status` and `body`.
    fn respond(&mut self, fetch: &Object, status: u16, body: &str) -> Object {
        assert_eq!(fetch.get_str("step"), Some("fetch"), "{fetch:?}");
        let mut e = Object::default();
        e.insert("event", Value::String("response".into()));
        e.insert("resume", fetch.get("resume").unwrap().clone());
        e.insert("status", Value::Number(f64::from(status)));
        e.insert("body", Value::String(body.into()));
        self.drive(&Value::Object(e).to_json())
    }

    fn flow_keys(&self) -> Vec<String> {
        self.session
            .as_ref()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(FLOW_KEY_PREFIX))
            .cloned()
            .collect()
    }
}

fn error_of(answer: &Object) -> (String, String) {
    assert_eq!(answer.get_str("step"), Some("fail"), "{answer:?}");
    let e = answer.get("error").and_then(Value::as_object).unwrap();
    (
        e.get_str("code").unwrap().to_owned(),
        e.get_str("message").unwrap().to_owned(),
    )
}

fn code_of(answer: &Object) -> String {
    error_of(answer).0
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

const OAUTH2: &str = r#"{"profile":"oauth2","authorizationEndpoint":"https://as.example/authorize",
    "clientId":"client-1","redirectUri":"https://ext.example/cb","issuer":"https://as.example",
    "scope":"openid","tokenHandoffUrl":"/api/token"}"#;

fn oauth2(extra: &str) -> String {
    OAUTH2.replacen('{', &format!("{{{extra}"), 1)
}

#[test]
fn option_meanings_are_checked_with_the_messages_users_know() {
    for (options, message) in [
        (
            r#"{"profile":"saml"}"#,
            "profile must be 'oauth2', 'mia-console', 'matrix' or 'mia-auth-service'",
        ),
        (r#"{}"#, "ExtensionClient options: missing field `profile`"),
        (
            &oauth2(r#""consoleUrl":"https://c.example","#),
            "consoleUrl does not apply to profile 'oauth2': remove it or change profile",
        ),
        (
            r#"{"profile":"mia-console","consoleUrl":"https://c.example","tenantId":"t","extensionId":"e"}"#,
            "profile 'mia-console' needs tokenHandoffUrl",
        ),
        (
            r#"{"profile":"matrix","homeserverUrl":"https://m.example"}"#,
            "profile 'matrix' needs redirectUri",
        ),
        (
            &oauth2(r#""navigation":"iframe","#),
            "navigation must be 'self', 'top' or 'popup'",
        ),
        (
            &oauth2(r#""issPolicy":"sometimes","#),
            "issPolicy must be 'require', 'if-present' (default) or 'off'",
        ),
        (
            &oauth2(r#""stateTtlSec":5,"#),
            "stateTtlSec must be between 30 and 3600",
        ),
        (
            &oauth2(r#""timeoutMs":0,"#),
            "timeoutMs must be between 1 and 60000",
        ),
        (
            &oauth2(r#""stateTtlSec":"600","#),
            "invalid ExtensionClient options: stateTtlSec must be a whole non-negative number",
        ),
        (
            &oauth2(r#""authorizationEndpoint":"http://as.example/a","#).replacen(
                r#","authorizationEndpoint":"https://as.example/authorize""#,
                "",
                1,
            ),
            "authorizationEndpoint must use https",
        ),
    ] {
        let mut page = Page::new();
        let answer = page.send(&format!(r#"{{"event":"configure","options":{options}}}"#));
        let (code, got) = error_of(&answer);
        assert_eq!(code, "invalid_options", "{options}");
        assert!(got.starts_with(message), "{options}: {got}");
    }
    let mut page = Page::new();
    let answer =
        page.send(r#"{"event":"configure","server":"http://login.example.com","extensionId":"e"}"#);
    assert_eq!(code_of(&answer), "invalid_options");
    let answer = page.send(r#"{"event":"configure"}"#);
    assert_eq!(code_of(&answer), "invalid_options");
}

#[test]
fn self_login_stores_the_flow_then_navigates_and_the_callback_completes_once() {
    let mut page = Page::configured(OAUTH2);
    let answer = page.drive(r#"{"event":"login","redirectUrl":null}"#);
    assert_eq!(answer.get_str("step"), Some("navigate"));
    let url = answer.get_str("url").unwrap();
    assert!(url.starts_with("https://as.example/authorize?response_type=code&client_id=client-1"));
    let state = param(url, "state");
    assert_eq!(param(url, "code_challenge").len(), 43);
    assert_eq!(page.flow_keys(), vec![format!("{FLOW_KEY_PREFIX}{state}")]);

    // The callback page.
    page.href = format!(
        "https://ext.example/cb?keep=1&code=c0de&state={state}&iss=https%3A%2F%2Fas.example"
    );
    let fetch = page.drive(r#"{"event":"login","redirectUrl":null}"#);
    assert_eq!(
        page.scrubbed,
        vec!["https://ext.example/cb?keep=1".to_owned()]
    );
    assert_eq!(fetch.get_str("step"), Some("fetch"));
    assert_eq!(fetch.get_str("method"), Some("POST"));
    assert_eq!(fetch.get_str("url"), Some("/api/token"));
    assert_eq!(fetch.get_str("credentials"), Some("include"));
    assert_eq!(fetch.get_str("contentType"), Some("application/json"));
    let body = parse(fetch.get_str("body").unwrap());
    assert_eq!(body.get_str("code"), Some("c0de"));
    assert_eq!(body.get_str("state"), Some(state.as_str()));
    assert_eq!(body.get_str("iss"), Some("https://as.example"));
    assert_eq!(body.get_str("redirect_uri"), Some("https://ext.example/cb"));
    assert_eq!(body.get_str("code_verifier").map(str::len), Some(43));
    // The record is a tombstone now (no secret left in storage).
    let record = page
        .session
        .as_ref()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert!(
        record.contains("used_at") && !record.contains("code_verifier"),
        "{record}"
    );

    let done = page.respond(
        &fetch,
        200,
        r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
    );
    assert_eq!(done.get_str("step"), Some("done"));
    let session = done.get("session").and_then(Value::as_object).unwrap();
    assert_eq!(session.get_str("accessToken"), Some("at"));
    assert_eq!(
        session.get("expiresAt").and_then(Value::as_f64),
        Some(1060.0)
    );
    assert!(done.get("session").is_some());
    let live = page.send(r#"{"event":"session"}"#);
    assert_eq!(
        live.get("value")
            .and_then(Value::as_object)
            .and_then(|s| s.get_str("accessToken")),
        Some("at")
    );
    // A live session answers login() at once (here: a page that is no callback).
    page.href = format!("{ORIGIN}/index.html");
    assert_eq!(
        page.drive(r#"{"event":"login"}"#).get_str("step"),
        Some("done")
    );

    // Replay of the callback: state_reused, scrubbed again.
    page.href = format!("https://ext.example/cb?code=c0de&state={state}");
    let replay = page.drive(r#"{"event":"callback","url":null,"current":true}"#);
    assert_eq!(code_of(&replay), "state_reused");
    assert_eq!(
        page.scrubbed.last().map(String::as_str),
        Some("https://ext.example/cb")
    );
}

#[test]
fn every_invalid_callback_spends_the_flow_it_names() {
    for bad in [
        "&code=other",                     // a repeated code
        "&iss=https%3A%2F%2Fevil.example", // a mix-up iss
        "&error=access_denied",            // the server's error
        "",                                // no code at all
    ] {
        let mut page = Page::configured(OAUTH2);
        let url = page.drive(r#"{"event":"authorization-url"}"#);
        let url = url.get("value").and_then(Value::as_str).unwrap().to_owned();
        let state = param(&url, "state");
        let code = if bad.is_empty() { "" } else { "code=c&" };
        let first = page.drive(&format!(
            r#"{{"event":"callback","url":"https://ext.example/cb?{code}state={state}{bad}"}}"#
        ));
        assert_eq!(first.get_str("step"), Some("fail"), "{bad}");
        let genuine = page.drive(&format!(
            r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
        ));
        assert_eq!(code_of(&genuine), "state_reused", "{bad}");
    }
    // At another page than redirectUri: spent as well.
    let mut page = Page::configured(OAUTH2);
    let url = page.drive(r#"{"event":"authorization-url"}"#);
    let state = param(url.get("value").and_then(Value::as_str).unwrap(), "state");
    let elsewhere = page.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/elsewhere?code=c&state={state}"}}"#
    ));
    assert_eq!(code_of(&elsewhere), "invalid_callback");
    let genuine = page.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
    ));
    assert_eq!(code_of(&genuine), "state_reused");
    // A callback that names no pending flow changes nothing.
    let forged = page.drive(r#"{"event":"callback","url":"https://ext.example/cb?code=attacker-code&state=forged-state"}"#);
    let (code, message) = error_of(&forged);
    assert_eq!(code, "state_unknown");
    assert!(!message.contains("forged-state") && !message.contains("attacker-code"));
}

#[test]
fn blocked_storage_fails_before_navigating_and_popup_keeps_the_flow_in_memory() {
    let mut page = Page::configured(OAUTH2);
    page.session = None;
    let answer = page.drive(r#"{"event":"login"}"#);
    let (code, message) = error_of(&answer);
    assert_eq!(code, "state_storage_unavailable");
    assert!(message.contains("popup"));
    assert!(page.assigned.is_empty());
    let answer =
        page.drive(r#"{"event":"callback","url":"https://ext.example/cb?code=c&state=s"}"#);
    assert_eq!(code_of(&answer), "state_storage_unavailable");

    // Writes that do not read back: refused, and the record is removed.
    let mut page = Page::configured(OAUTH2);
    page.dropping_writes = true;
    let answer = page.drive(r#"{"event":"login"}"#);
    assert_eq!(code_of(&answer), "state_storage_unavailable");
    assert!(page.flow_keys().is_empty());

    let mut page = Page::configured(&oauth2(r#""navigation":"popup","#));
    page.session = None;
    page.framed = true;
    let wait = page.drive(r#"{"event":"login"}"#);
    assert_eq!(wait.get_str("step"), Some("await-popup"), "{wait:?}");
    assert_eq!(page.memory.len(), 1);
}

/// A popup login up to the wait for its message; answers (page, wait step, state).
fn popup_login(options: &str) -> (Page, Object, String) {
    let mut page = Page::configured(options);
    page.framed = true;
    let mut opened = None;
    let mut answer = page.send(r#"{"event":"login"}"#);
    loop {
        page.write(&answer);
        match answer.get_str("step") {
            Some("store") => answer = page.send(r#"{"event":"stored","ok":true}"#),
            Some("open-popup") => {
                opened = Some(answer.get_str("url").unwrap().to_owned());
                answer = page.send(r#"{"event":"popup-opened","ok":true}"#);
            }
            _ => break,
        }
    }
    let url = opened.expect("the popup was opened synchronously");
    let state = param(&url, "state");
    (page, answer, state)
}

fn message(page: &mut Page, wait: &Object, origin: &str, source: &str, data: &str) -> Object {
    json::parse(data).unwrap();
    message_with(page, wait, origin, source, Some(Value::String(data.into())))
}

/// A `popup-message` whose `dataJson` member is `data_json` (absent: `None`).
fn message_with(
    page: &mut Page,
    wait: &Object,
    origin: &str,
    source: &str,
    data_json: Option<Value>,
) -> Object {
    let mut e = Object::default();
    e.insert("event", Value::String("popup-message".into()));
    e.insert("resume", wait.get("resume").unwrap().clone());
    e.insert("messageOrigin", Value::String(origin.into()));
    e.insert("source", Value::String(source.into()));
    if let Some(data_json) = data_json {
        e.insert("dataJson", data_json);
    }
    page.drive(&Value::Object(e).to_json())
}

/// Data texts the core's reader refuses (JSON.stringify writes the first
/// two from structured-clone data any window can post), and a `dataJson`
/// that is missing or not a text.
fn unreadable_data() -> Vec<Option<Value>> {
    let nested = format!("{}{}", "[".repeat(40), "]".repeat(40));
    vec![
        Some(Value::String(
            r#"{"type":"extension-sso:callback","url":"\ud800"}"#.into(),
        )),
        Some(Value::String(nested)),
        Some(Value::String("{".into())),
        Some(Value::Bool(true)),
        None,
    ]
}

#[test]
fn popup_mode_ignores_data_it_cannot_read_from_any_window_and_keeps_waiting() {
    let (mut page, wait, state) = popup_login(&oauth2(r#""navigation":"popup","#));
    for data in unreadable_data() {
        for (origin, source) in [("https://evil.example", "window"), (ORIGIN, "popup")] {
            let answer = message_with(&mut page, &wait, origin, source, data.clone());
            assert_eq!(
                answer.get_str("step"),
                Some("ignore"),
                "{origin} {source} {data:?}: {answer:?}"
            );
        }
    }
    let ours = format!(
        r#"{{"type":"extension-sso:callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
    );
    // Our own callback, padded past maxMessageBytes: not read (the JS layer does not send it).
    let limit = wait.get("maxMessageBytes").and_then(Value::as_f64);
    assert_eq!(limit, Some(MAX_MESSAGE_LEN as f64));
    let padded = format!("{ours}{}", " ".repeat(MAX_MESSAGE_LEN - ours.len() + 1));
    let answer = message(&mut page, &wait, ORIGIN, "popup", &padded);
    assert_eq!(answer.get_str("step"), Some("ignore"));
    let fetch = message(&mut page, &wait, ORIGIN, "popup", &ours);
    assert_eq!(fetch.get_str("step"), Some("fetch"), "{fetch:?}");
}

#[test]
fn popup_mode_ignores_what_is_not_its_own_callback_and_keeps_waiting() {
    let (mut page, wait, state) = popup_login(&oauth2(r#""navigation":"popup","#));
    assert_eq!(wait.get_str("step"), Some("await-popup"));
    assert_eq!(wait.get("navigate"), Some(&Value::Null));
    assert_eq!(wait.get_str("channel"), Some("extension-sso"));
    let ours = format!(
        r#"{{"type":"extension-sso:callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
    );
    for (origin, source, data) in [
        (ORIGIN, "window", ours.as_str()),                // not our popup
        ("https://evil.example", "popup", ours.as_str()), // another origin
        (
            "https://evil.example",
            "popup",
            r#"{"type":"extension-sso:callback-error","code":"invalid_options"}"#,
        ),
        (
            ORIGIN,
            "popup",
            r#"{"type":"extension-sso:callback","url":"https://ext.example/cb?code=c&state=another-tab"}"#,
        ),
        (
            ORIGIN,
            "channel",
            r#"{"type":"extension-sso:callback","url":"https://ext.example/cb?code=c&state=another-tab"}"#,
        ),
        (ORIGIN, "popup", r#"{"type":"extension-sso:callback"}"#), // wrong shape
        (ORIGIN, "popup", r#""hello""#),
    ] {
        let answer = message(&mut page, &wait, origin, source, data);
        assert_eq!(
            answer.get_str("step"),
            Some("ignore"),
            "{origin} {source} {data}"
        );
    }
    // The pending flow is intact: the real message completes.
    let fetch = message(&mut page, &wait, ORIGIN, "popup", &ours);
    assert_eq!(fetch.get_str("step"), Some("fetch"), "{fetch:?}");
    assert!(page.memory.values().next().unwrap().contains("used_at"));
    let done = page.respond(&fetch, 200, r#"{"access_token":"at"}"#);
    assert_eq!(done.get_str("step"), Some("done"));
    // The same message again: the flow is spent.
    let again = message(&mut page, &wait, ORIGIN, "popup", &ours);
    assert_eq!(code_of(&again), "state_reused");
}

#[test]
fn popup_blocked_closed_and_the_popup_page_itself() {
    let mut page = Page::configured(&oauth2(r#""navigation":"popup","#));
    page.popups_allowed = false;
    let answer = page.drive(r#"{"event":"login"}"#);
    assert_eq!(code_of(&answer), "popup_blocked");
    assert!(page.memory.is_empty(), "the flow is forgotten");

    let (mut page, wait, _) = popup_login(&oauth2(r#""navigation":"popup","#));
    let mut closed = Object::default();
    closed.insert("event", Value::String("popup-closed".into()));
    closed.insert("resume", wait.get("resume").unwrap().clone());
    assert_eq!(
        code_of(&page.send(&Value::Object(closed).to_json())),
        "popup_closed"
    );

    // The callback page in the popup hands the URL to its opener.
    let mut popup = Page::configured(&oauth2(r#""navigation":"popup","#));
    popup.href = "https://ext.example/cb?code=c&state=s".into();
    let answer = popup.drive(r#"{"event":"login"}"#);
    assert_eq!(answer.get_str("step"), Some("to-opener"));
    assert_eq!(answer.get_str("targetOrigin"), Some(ORIGIN));
    assert_eq!(answer.get_str("scrub"), Some("https://ext.example/cb"));
    let message = answer.get("message").and_then(Value::as_object).unwrap();
    assert_eq!(message.get_str("type"), Some("extension-sso:callback"));
    assert_eq!(
        message.get_str("url"),
        Some("https://ext.example/cb?code=c&state=s")
    );

    // ExtensionClient.completePopup(openerOrigin), which needs no options.
    let mut bare = Page::new();
    bare.href = "https://ext.example/cb?code=c&state=s#x".into();
    let answer = bare.send(r#"{"event":"complete-popup","openerOrigin":"https://opener.example"}"#);
    assert_eq!(answer.get_str("step"), Some("to-opener"));
    assert_eq!(
        answer.get_str("targetOrigin"),
        Some("https://opener.example")
    );
    assert_eq!(answer.get_str("scrub"), Some("https://ext.example/cb#x"));
    bare.href = "https://ext.example/cb".into();
    let answer = bare.send(r#"{"event":"complete-popup","openerOrigin":null}"#);
    assert_eq!(answer.get("value"), Some(&Value::Bool(false)));
    // The message carries the code and the state: one exact origin only.
    bare.href = "https://ext.example/cb?code=c&state=s".into();
    for origin in [
        "*",
        "https://opener.example/",
        "https://opener.example/cb",
        "http://opener.example",
    ] {
        let answer = bare.send(&format!(
            r#"{{"event":"complete-popup","openerOrigin":"{origin}"}}"#
        ));
        assert_eq!(code_of(&answer), "invalid_options", "{origin}");
        assert_eq!(answer.get("scrub"), None, "{origin}");
    }
}

#[test]
fn top_navigation_asks_the_host_and_listens_to_it_only() {
    let mut page = Page::configured(&oauth2(
        r#""navigation":"top","hostOrigin":"https://console.example","#,
    ));
    page.framed = true;
    let ask = page.drive(r#"{"event":"login"}"#);
    assert_eq!(ask.get_str("step"), Some("ask-host"));
    assert_eq!(ask.get_str("targetOrigin"), Some("https://console.example"));
    assert_eq!(ask.get("timeoutMs").and_then(Value::as_f64), Some(3000.0));
    let message = ask.get("message").and_then(Value::as_object).unwrap();
    assert_eq!(message.get_str("type"), Some("extension-sso:navigate"));
    assert!(message
        .get_str("url")
        .unwrap()
        .starts_with("https://as.example/authorize?"));
    let reply_with = |page: &mut Page, origin: &str, from_parent: bool, data: Option<Value>| {
        let mut e = json::parse(&format!(
            r#"{{"event":"host-reply","resume":{{}},"messageOrigin":"{origin}","fromParent":{from_parent}}}"#
        ))
        .unwrap();
        if let (Value::Object(e), Some(data)) = (&mut e, data) {
            e.insert("dataJson", data);
        }
        page.send(&e.to_json())
    };
    let reply = |page: &mut Page, origin: &str, from_parent: bool, ok: bool| {
        let data = format!(r#"{{"type":"extension-sso:navigate-result","ok":{ok}}}"#);
        reply_with(page, origin, from_parent, Some(Value::String(data)))
    };
    // Data the core cannot read, even from the parent at hostOrigin: not the host's answer.
    assert_eq!(
        ask.get("maxMessageBytes").and_then(Value::as_f64),
        Some(MAX_MESSAGE_LEN as f64)
    );
    let padded = format!(
        r#"{{"type":"extension-sso:navigate-result","ok":false}}{}"#,
        " ".repeat(MAX_MESSAGE_LEN)
    );
    for data in unreadable_data()
        .into_iter()
        .chain([Some(Value::String(padded))])
    {
        let answer = reply_with(&mut page, "https://console.example", true, data.clone());
        assert_eq!(answer.get_str("step"), Some("ignore"), "{data:?}");
    }
    assert_eq!(
        reply(&mut page, "https://evil.example", true, true).get_str("step"),
        Some("ignore")
    );
    assert_eq!(
        reply(&mut page, "https://console.example", false, true).get_str("step"),
        Some("ignore")
    );
    assert_eq!(
        reply(&mut page, "https://console.example", true, true).get_str("step"),
        Some("navigated")
    );
    assert_eq!(
        code_of(&reply(&mut page, "https://console.example", true, false)),
        "navigation_unavailable"
    );
    assert_eq!(
        code_of(&page.send(r#"{"event":"host-timeout","resume":{}}"#)),
        "navigation_unavailable"
    );
    // Top-level page: navigates itself.
    page.framed = false;
    assert_eq!(
        page.drive(r#"{"event":"login"}"#).get_str("step"),
        Some("navigate")
    );
}

/// A callback up to its handoff request.
fn handoff_fetch(options: &str) -> (Page, Object) {
    let mut page = Page::configured(options);
    let url = page.drive(r#"{"event":"authorization-url"}"#);
    let state = param(url.get("value").and_then(Value::as_str).unwrap(), "state");
    let fetch = page.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
    ));
    (page, fetch)
}

#[test]
fn what_a_request_failure_means() {
    let (mut page, fetch) = handoff_fetch(OAUTH2);
    let resume = fetch.get("resume").unwrap().to_json();
    let send = |page: &mut Page, members: &str| {
        page.send(&format!(
            r#"{{"event":"response","resume":{resume},{members}}}"#
        ))
    };
    let timeout = send(&mut page, r#""failure":"timeout","detail":"x""#);
    let e = timeout.get("error").and_then(Value::as_object).unwrap();
    assert_eq!(e.get_str("code"), Some("handoff_failed"));
    assert_eq!(e.get("retryable"), Some(&Value::Bool(true)));
    assert_eq!(
        e.get_str("message"),
        Some("tokenHandoffUrl did not answer within 10000 ms (timeoutMs)")
    );
    let network = send(
        &mut page,
        r#""failure":"network","detail":"TypeError: Failed to fetch""#,
    );
    assert_eq!(
        error_of(&network).1,
        "tokenHandoffUrl could not be reached: TypeError: Failed to fetch"
    );
    let redirected = send(&mut page, r#""status":0,"body":"","redirected":true"#);
    let e = redirected.get("error").and_then(Value::as_object).unwrap();
    assert_eq!(e.get_str("code"), Some("handoff_failed"));
    assert_eq!(e.get("retryable"), Some(&Value::Bool(false)));
    assert!(e.get_str("message").unwrap().contains("redirect"));
    let big = send(&mut page, r#""status":200,"body":null"#);
    assert!(error_of(&big).1.contains("larger than 262144 bytes"));
    let not_found = send(
        &mut page,
        r#""status":404,"body":"{\"error\":\"not_found\"}""#,
    );
    let e = not_found.get("error").and_then(Value::as_object).unwrap();
    assert_eq!(e.get("status").and_then(Value::as_f64), Some(404.0));
    assert_eq!(e.get_str("error"), Some("not_found"));
    // The shared token response rules: no other token_type than Bearer.
    let dpop = send(
        &mut page,
        r#""status":200,"body":"{\"access_token\":\"a\",\"token_type\":\"DPoP\"}""#,
    );
    assert!(error_of(&dpop).1.contains("other than Bearer"));
    assert_eq!(
        page.send(r#"{"event":"session"}"#).get("value"),
        Some(&Value::Null)
    );
}

#[test]
fn persisted_sessions_are_restored_and_logout_forgets_everything() {
    let (mut page, fetch) = handoff_fetch(&oauth2(r#""persistSession":true,"#));
    let done = page.respond(
        &fetch,
        200,
        r#"{"access_token":"at","expires_in":600,"identity":{"sub":"u1"}}"#,
    );
    assert_eq!(done.get_str("step"), Some("done"));
    let key = "extension-sso:session:oauth2";
    let stored = page
        .session
        .as_ref()
        .unwrap()
        .get(key)
        .cloned()
        .expect("persisted");
    // A reload: a new client restores it.
    let mut reloaded = Page::new();
    reloaded.session = page.session.clone();
    let configured = reloaded.send(&format!(
        r#"{{"event":"configure","options":{}}}"#,
        oauth2(r#""persistSession":true,"#)
    ));
    assert_eq!(configured.get_str("sessionKey"), Some(key));
    reloaded.send(&format!(
        r#"{{"event":"restore","text":{}}}"#,
        Value::String(stored).to_json()
    ));
    let identity = reloaded.send(r#"{"event":"identity"}"#);
    let identity = identity.get("identity").and_then(Value::as_object).unwrap();
    assert_eq!(identity.get_str("source"), Some("backend"));
    assert_eq!(identity.get("verified"), Some(&Value::Bool(true)));
    // Expired: not restored.
    reloaded.now = 5000.0;
    assert_eq!(
        reloaded.send(r#"{"event":"session"}"#).get("value"),
        Some(&Value::Null)
    );
    // logout removes the flows and the persisted session.
    let out = page.drive(r#"{"event":"logout"}"#);
    assert_eq!(out.get_str("step"), Some("value"));
    assert!(
        page.session.as_ref().unwrap().is_empty(),
        "{:?}",
        page.session
    );
    assert_eq!(
        code_of(&page.send(r#"{"event":"identity"}"#)),
        "not_logged_in"
    );
}

#[test]
fn matrix_checks_the_homeserver_before_navigating() {
    let options = r#"{"profile":"matrix","homeserverUrl":"https://matrix.example","idpId":"oidc",
        "redirectUri":"https://ext.example/cb"}"#;
    let mut page = Page::configured(options);
    let fetch = page.drive(r#"{"event":"login"}"#);
    assert_eq!(
        fetch.get_str("url"),
        Some("https://matrix.example/_matrix/client/v3/login")
    );
    assert_eq!(fetch.get_str("method"), Some("GET"));
    let refused = page.respond(&fetch, 200, r#"{"flows":[{"type":"m.login.password"}]}"#);
    assert_eq!(code_of(&refused), "unsupported");
    let go = page.respond(
        &fetch,
        200,
        r#"{"flows":[{"type":"m.login.sso"},{"type":"m.login.token"}]}"#,
    );
    assert_eq!(go.get_str("step"), Some("navigate"));
    let url = go.get_str("url").unwrap();
    assert!(url.starts_with(
        "https://matrix.example/_matrix/client/v3/login/sso/redirect/oidc?redirectUrl="
    ));
    let nonce = param(&param(url, "redirectUrl"), "ext_sso_nonce");
    let login = page.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?loginToken=t0k&ext_sso_nonce={nonce}"}}"#
    ));
    assert_eq!(
        login.get_str("url"),
        Some("https://matrix.example/_matrix/client/v3/login")
    );
    assert_eq!(
        login.get_str("body"),
        Some(r#"{"type":"m.login.token","token":"t0k"}"#)
    );
    let done = page.respond(
        &login,
        200,
        r#"{"access_token":"syt","user_id":"@a:m.example","device_id":"D"}"#,
    );
    let session = done.get("session").and_then(Value::as_object).unwrap();
    assert_eq!(session.get_str("userId"), Some("@a:m.example"));

    // Popup mode: a blank popup opens in the click, then the check, then the popup navigates.
    let (_, wait, _) = {
        let mut page = Page::configured(&options.replacen('{', r#"{"navigation":"popup","#, 1));
        let mut answer = page.send(r#"{"event":"login"}"#);
        page.write(&answer);
        answer = page.send(r#"{"event":"stored","ok":true}"#);
        assert_eq!(answer.get_str("step"), Some("open-popup"));
        assert_eq!(answer.get_str("url"), Some(""));
        let fetch = page.send(r#"{"event":"popup-opened","ok":true}"#);
        let wait = page.respond(
            &fetch,
            200,
            r#"{"flows":[{"type":"m.login.sso"},{"type":"m.login.token"}]}"#,
        );
        (page, wait, ())
    };
    assert_eq!(wait.get_str("step"), Some("await-popup"));
    assert!(wait
        .get_str("navigate")
        .unwrap()
        .contains("/login/sso/redirect/oidc?"));
}

#[test]
fn auth_service_web_login_then_return_with_the_nonce() {
    let options = r#"{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth",
        "appId":"app","providerId":"kc","redirect":"/home"}"#;
    let mut page = Page::configured(options);
    let go = page.drive(r#"{"event":"login"}"#);
    let nonce = param(
        &param(go.get_str("url").unwrap(), "redirect"),
        "ext_sso_nonce",
    );
    // The identity provider returns to the web-login callback: no flow of ours is spent.
    page.href = "https://ext.example/web-login/callback?code=c&state=idp-state".into();
    let token = page.drive(r#"{"event":"login"}"#);
    assert_eq!(
        token.get_str("url"),
        Some("https://app.example/auth/oauth/token")
    );
    assert_eq!(token.get_str("credentials"), Some("include"));
    let mut e = Object::default();
    e.insert("event", Value::String("response".into()));
    e.insert("resume", token.get("resume").unwrap().clone());
    e.insert("status", Value::Number(200.0));
    e.insert("body", Value::String(String::new()));
    e.insert(
        "location",
        Value::String(format!("/home?ext_sso_nonce={nonce}")),
    );
    let next = page.drive(&Value::Object(e).to_json());
    assert_eq!(next.get_str("step"), Some("navigate"));
    // Back at `redirect` with the nonce: spent, then /userinfo.
    page.href = format!("{ORIGIN}/home?ext_sso_nonce={nonce}");
    let userinfo = page.drive(r#"{"event":"login"}"#);
    assert_eq!(
        userinfo.get_str("url"),
        Some("https://app.example/auth/userinfo")
    );
    let done = page.respond(&userinfo, 200, r#"{"id":"u1"}"#);
    let session = done.get("session").and_then(Value::as_object).unwrap();
    assert_eq!(session.get("cookieOnly"), Some(&Value::Bool(true)));
    let identity = page.send(r#"{"event":"identity"}"#);
    assert_eq!(identity.get_str("step"), Some("fetch"));
}

#[test]
fn seed_001_positional_form() {
    let mut page = Page::new();
    let answer = page.send(
        r#"{"event":"configure","server":"https://login.example.com","extensionId":"ext-1"}"#,
    );
    assert_eq!(answer.get_str("step"), Some("configured"));
    let err = page.drive(r#"{"event":"authorization-url"}"#);
    assert!(error_of(&err).1.contains("login(redirectUrl)"));
    // The callback page works without login(): the flow is simply unknown here.
    let unknown =
        page.drive(r#"{"event":"callback","url":"https://ext.example/cb?code=c&state=forged"}"#);
    assert_eq!(code_of(&unknown), "state_unknown");
    let go = page.drive(r#"{"event":"login","redirectUrl":"https://ext.example/cb"}"#);
    let url = go.get_str("url").unwrap();
    assert!(
        url.starts_with("https://login.example.com/authorize?response_type=code&client_id=ext-1")
    );
    let state = param(url, "state");
    page.href = format!("https://ext.example/cb?code=c&state={state}");
    let fetch = page.drive(r#"{"event":"login","redirectUrl":"https://ext.example/cb"}"#);
    assert_eq!(
        fetch.get_str("url"),
        Some("https://login.example.com/token")
    );
    assert_eq!(
        fetch.get_str("contentType"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(fetch.get_str("body").unwrap().contains("client_id=ext-1"));
    let err = page.respond(&fetch, 400, r#"{"error":"invalid_grant"}"#);
    assert_eq!(code_of(&err), "token_endpoint_error");
}

#[test]
fn is_callback_and_unknown_events() {
    let mut page = Page::new();
    let yes = page.send(r#"{"event":"is-callback","url":"https://e/cb?code=a&state=b"}"#);
    assert_eq!(yes.get("value"), Some(&Value::Bool(true)));
    let no = page.send(r#"{"event":"is-callback","url":"https://e/cb#code"}"#);
    assert_eq!(no.get("value"), Some(&Value::Bool(false)));
    assert_eq!(code_of(&page.send(r#"{"event":"what"}"#)), "unsupported");
    assert_eq!(code_of(&parse(&page.client.step("[]"))), "unsupported");
    assert_eq!(
        code_of(&page.send(r#"{"event":"stored","ok":true}"#)),
        "unsupported"
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_events_never_panic(kind in "[a-z-]{0,14}", url in "\\PC{0,40}", status in 0u16..600, body in "\\PC{0,40}") {
        let mut page = Page::configured(OAUTH2);
        let event = Value::String(kind).to_json();
        let url = Value::String(url).to_json();
        let body = Value::String(body).to_json();
        let _ = page.send(&format!(r#"{{"event":{event},"url":{url},"status":{status},"body":{body},"resume":{{"then":"handoff"}}}}"#));
    }
}

const ISSUER_ONLY: &str = r#"{"profile":"oauth2","issuer":"https://as.example","clientId":"client-1",
    "redirectUri":"https://ext.example/cb","scope":"openid","tokenHandoffUrl":"/api/token"}"#;

const METADATA: &str = r#"{"issuer":"https://as.example","authorization_endpoint":"https://as.example/auth",
    "token_endpoint":"https://as.example/token","authorization_response_iss_parameter_supported":true}"#;

#[test]
fn the_issuer_alone_discovers_the_endpoints_and_the_iss_requirement() {
    let mut page = Page::configured(ISSUER_ONLY);
    let fetch = page.drive(r#"{"event":"login"}"#);
    assert_eq!(
        fetch.get_str("url"),
        Some("https://as.example/.well-known/openid-configuration")
    );
    // OpenID Connect Discovery first, then RFC 8414 on 404.
    let second = page.respond(&fetch, 404, "");
    assert_eq!(
        second.get_str("url"),
        Some("https://as.example/.well-known/oauth-authorization-server")
    );
    let go = page.respond(&second, 200, METADATA);
    assert_eq!(go.get_str("step"), Some("navigate"), "{go:?}");
    let url = go.get_str("url").unwrap();
    assert!(
        url.starts_with("https://as.example/auth?response_type=code&client_id=client-1"),
        "{url}"
    );
    assert!(url.contains("&nonce="));
    let state = param(url, "state");
    // The server said it always sends iss: a callback without it is refused (on a fresh page).
    let mut callback = Page::configured(ISSUER_ONLY);
    callback.session = page.session.clone();
    let err = callback.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}"}}"#
    ));
    assert_eq!(code_of(&err), "iss_missing");

    let go = {
        let fetch = page.drive(r#"{"event":"login"}"#);
        assert_eq!(
            fetch.get_str("step"),
            Some("navigate"),
            "discovered once: {fetch:?}"
        );
        fetch
    };
    let state = param(go.get_str("url").unwrap(), "state");
    callback.session = page.session.clone();
    let handoff = callback.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example"}}"#
    ));
    assert_eq!(handoff.get_str("url"), Some("/api/token"));

    // A document for another issuer, and explicit endpoints that win.
    let mut other = Page::configured(ISSUER_ONLY);
    let fetch = other.drive(r#"{"event":"login"}"#);
    let err = other.respond(
        &fetch,
        200,
        &METADATA.replace(
            "https://as.example\",\"authorization_endpoint",
            "https://evil.example\",\"authorization_endpoint",
        ),
    );
    assert_eq!(code_of(&err), "issuer_mismatch");
    let redirected = other.respond(&fetch, 302, "");
    assert_eq!(code_of(&redirected), "discovery_failed");
    let mut explicit = Page::configured(&ISSUER_ONLY.replace(
        "\"issuer\"",
        "\"authorizationEndpoint\":\"https://as.example/explicit\",\"issuer\"",
    ));
    let go = explicit.drive(r#"{"event":"login"}"#);
    assert!(go
        .get_str("url")
        .unwrap()
        .starts_with("https://as.example/explicit?"));
}

#[test]
fn a_public_client_takes_its_token_endpoint_from_discovery_and_checks_the_nonce() {
    let options = ISSUER_ONLY.replace(r#","tokenHandoffUrl":"/api/token""#, "");
    let mut page = Page::configured(&options);
    let fetch = page.drive(r#"{"event":"authorization-url"}"#);
    let url = page.respond(&fetch, 200, METADATA);
    let url = url.get("value").and_then(Value::as_str).unwrap().to_owned();
    let state = param(&url, "state");
    let nonce = param(&url, "nonce");
    // The callback page has not discovered: the token endpoint is in the flow record.
    let mut callback = Page::configured(&options);
    callback.session = page.session.clone();
    let token = callback.drive(&format!(
        r#"{{"event":"callback","url":"https://ext.example/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example"}}"#
    ));
    assert_eq!(token.get_str("url"), Some("https://as.example/token"));
    let id_token = |n: &str| {
        format!(
            "h.{}.s",
            crate::b64::encode(format!(r#"{{"sub":"u","nonce":"{n}"}}"#).as_bytes())
        )
    };
    let wrong = callback.respond(
        &token,
        200,
        &format!(
            r#"{{"access_token":"at","id_token":"{}"}}"#,
            id_token("other")
        ),
    );
    assert_eq!(code_of(&wrong), "invalid_claim");
    assert_eq!(
        callback.send(r#"{"event":"session"}"#).get("value"),
        Some(&Value::Null)
    );
    let right = callback.respond(
        &token,
        200,
        &format!(
            r#"{{"access_token":"at","id_token":"{}"}}"#,
            id_token(&nonce)
        ),
    );
    assert_eq!(right.get_str("step"), Some("done"));
}

#[test]
fn popup_mode_opens_a_blank_popup_in_the_click_while_discovering() {
    let mut page = Page::configured(
        &ISSUER_ONLY.replace("\"profile\"", "\"navigation\":\"popup\",\"profile\""),
    );
    let open = page.send(r#"{"event":"login"}"#);
    assert_eq!(open.get_str("step"), Some("open-popup"));
    assert_eq!(open.get_str("url"), Some(""));
    let fetch = page.send(r#"{"event":"popup-opened","ok":true}"#);
    assert_eq!(
        fetch.get_str("url"),
        Some("https://as.example/.well-known/openid-configuration")
    );
    let wait = page.respond(&fetch, 200, METADATA);
    assert_eq!(wait.get_str("step"), Some("await-popup"), "{wait:?}");
    assert!(wait
        .get_str("navigate")
        .unwrap()
        .starts_with("https://as.example/auth?"));
    assert_eq!(page.memory.len(), 1);
    // Blocked: popup_blocked, nothing stored.
    let mut blocked = Page::configured(
        &ISSUER_ONLY.replace("\"profile\"", "\"navigation\":\"popup\",\"profile\""),
    );
    blocked.popups_allowed = false;
    assert_eq!(
        code_of(&blocked.drive(r#"{"event":"login"}"#)),
        "popup_blocked"
    );
    assert!(blocked.memory.is_empty());
}
