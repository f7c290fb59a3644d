//! `ExtensionClient`: the browser half of extension SSO (issue 5).
//!
//! A thin facade over [`crate::oauth`]: the core decides, this module only
//! executes — `sessionStorage` (or memory in popup mode; never
//! `localStorage`), `history.replaceState`, `location.assign`,
//! `window.open`, `postMessage` / `BroadcastChannel` and the global `fetch`.
//!
//! Promises: methods that may do I/O return a `Promise`. Their synchronous
//! part (validation, storage checks, `window.open` in popup mode, scrubbing
//! the address bar) runs before the `Promise` is returned, so a popup opens
//! inside the click handler's user activation.
//!
//! Navigation promises: when `login()` navigates the current frame (`self`,
//! or `top` once the host accepted), the page unloads and the returned
//! `Promise` never settles; the login completes on the callback page.

use super::options::{self, Opts, MAX_SAFE_INTEGER};
use crate::oauth::{
    self, accept_callback_message, accept_host_reply, auth_service, callback_message,
    callback_message_origins, complete, is_auth_service_web_login_step, is_callback, matrix,
    navigate_message, parse_token_response, plan_navigation, scrubbed_url, start_flow, AccessToken,
    AuthServiceProfile, ClientConfig, Completion, FlowStore, IdToken, Identity, IdentitySource,
    IssPolicy, MatrixProfile, MessageVerdict, MiaConsoleProfile, Navigation, NavigationAction,
    OAuth2Profile, ProfileConfig, ProfileKind, Session, State, TokenSource, BROADCAST_CHANNEL_NAME,
    HOST_REPLY_TIMEOUT_MS, POPUP_FEATURES,
};
use crate::platform::{Clock, MemoryStorage, OsRandom, Storage, SystemClock};
use crate::prelude::*;
use crate::{json, Error, ErrorCode, Result};
use alloc::rc::Rc;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{BroadcastChannel, MessageEvent, Response, Window};

const PROBE_KEY: &str = "extension-sso:probe";
const SESSION_KEY_PREFIX: &str = "extension-sso:session:";
const POPUP_POLL_MS: i32 = 500;

// ---------------------------------------------------------------- options

/// Every key of [`Options`], by its JS name. The object's own keys are
/// checked against this list (`undefined` members included) before it is
/// read as JSON.
const OPTION_NAMES: &[&str] = &[
    "profile",
    "authorizationEndpoint",
    "clientId",
    "redirectUri",
    "scope",
    "issuer",
    "usePkce",
    "tokenEndpoint",
    "extraParams",
    "consoleUrl",
    "tenantId",
    "extensionId",
    "homeserverUrl",
    "idpId",
    "authServiceUrl",
    "appId",
    "providerId",
    "redirect",
    "tokenHandoffUrl",
    "navigation",
    "stateTtlSec",
    "issPolicy",
    "hostOrigin",
    "cookieSession",
    "persistSession",
];

/// Rejects unknown option keys, so a typo (`isuer`) fails loudly instead of
/// quietly switching a check off.
fn check_option_names(options: &JsValue) -> Result<()> {
    let keys = Object::keys(options.unchecked_ref::<Object>());
    for key in keys.iter() {
        let key = key.as_string().unwrap_or_default();
        if !OPTION_NAMES.contains(&key.as_str()) {
            return Err(Error::options(format!(
                "unknown option `{key}` (options are camelCase, e.g. issuer, redirectUri, tokenHandoffUrl)"
            )));
        }
    }
    Ok(())
}

/// The options object of `new ExtensionClient({...})`.
struct Options {
    profile: Option<String>,
    // oauth2
    authorization_endpoint: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    issuer: Option<String>,
    use_pkce: Option<bool>,
    token_endpoint: Option<String>,
    extra_params: Option<Vec<(String, String)>>,
    // mia-console
    console_url: Option<String>,
    tenant_id: Option<String>,
    extension_id: Option<String>,
    // matrix
    homeserver_url: Option<String>,
    idp_id: Option<String>,
    // mia-auth-service
    auth_service_url: Option<String>,
    app_id: Option<String>,
    provider_id: Option<String>,
    redirect: Option<String>,
    // common
    token_handoff_url: Option<String>,
    navigation: Option<String>,
    state_ttl_sec: Option<u64>,
    iss_policy: Option<String>,
    host_origin: Option<String>,
    cookie_session: Option<bool>,
    persist_session: Option<bool>,
}

/// Requires every option of `present` that `profile` needs. Checked before
/// any option is moved out, so an early return drops the options whole.
fn required(profile: &str, present: &[(&str, bool)]) -> Result<()> {
    match present.iter().find(|(_, is_set)| !*is_set) {
        Some((name, _)) => Err(Error::options(format!("profile '{profile}' needs {name}"))),
        None => Ok(()),
    }
}

/// Rejects options that belong to another profile (they would be ignored).
fn foreign(profile: &str, present: &[(&str, bool)]) -> Result<()> {
    match present.iter().find(|(_, is_set)| *is_set) {
        Some((name, _)) => Err(Error::options(format!(
            "{name} does not apply to profile '{profile}': remove it or change profile"
        ))),
        None => Ok(()),
    }
}

impl Options {
    /// Reads the options object (`undefined` members dropped, `null` = not set).
    fn from_js(options: &JsValue) -> Result<Self> {
        let text = JSON::stringify(options)
            .ok()
            .and_then(|t| t.as_string())
            .ok_or_else(|| Error::options("ExtensionClient options must be plain data"))?;
        let root = options::parse(&text, "ExtensionClient")?;
        let o = Opts::new(&root, "ExtensionClient")?;
        let options = Options {
            profile: o.string("profile"),
            authorization_endpoint: o.string("authorizationEndpoint"),
            client_id: o.string("clientId"),
            redirect_uri: o.string("redirectUri"),
            scope: o.string("scope"),
            issuer: o.string("issuer"),
            use_pkce: o.boolean("usePkce"),
            token_endpoint: o.string("tokenEndpoint"),
            extra_params: o.string_pairs("extraParams"),
            console_url: o.string("consoleUrl"),
            tenant_id: o.string("tenantId"),
            extension_id: o.string("extensionId"),
            homeserver_url: o.string("homeserverUrl"),
            idp_id: o.string("idpId"),
            auth_service_url: o.string("authServiceUrl"),
            app_id: o.string("appId"),
            provider_id: o.string("providerId"),
            redirect: o.string("redirect"),
            token_handoff_url: o.string("tokenHandoffUrl"),
            navigation: o.string("navigation"),
            state_ttl_sec: o.uint("stateTtlSec", MAX_SAFE_INTEGER),
            iss_policy: o.string("issPolicy"),
            host_origin: o.string("hostOrigin"),
            cookie_session: o.boolean("cookieSession"),
            persist_session: o.boolean("persistSession"),
        };
        o.done()?;
        if options.profile.is_none() {
            return Err(Error::options(
                "ExtensionClient options: missing field `profile`",
            ));
        }
        Ok(options)
    }

    /// Every check that needs no option moved out: the profile, options of
    /// other profiles, required options, `navigation` and `issPolicy`.
    fn check(&self) -> Result<(ProfileKind, Navigation, IssPolicy)> {
        let o = self;
        let kind =
            ProfileKind::parse(o.profile.as_deref().unwrap_or_default()).ok_or_else(|| {
                Error::options(
                    "profile must be 'oauth2', 'mia-console', 'matrix' or 'mia-auth-service'",
                )
            })?;
        let name = kind.as_str();
        let oauth2_only = [
            ("authorizationEndpoint", o.authorization_endpoint.is_some()),
            ("clientId", o.client_id.is_some()),
            ("scope", o.scope.is_some()),
            ("issuer", o.issuer.is_some()),
            ("usePkce", o.use_pkce.is_some()),
            ("tokenEndpoint", o.token_endpoint.is_some()),
            ("extraParams", o.extra_params.is_some()),
        ];
        let console_only = [
            ("consoleUrl", o.console_url.is_some()),
            ("tenantId", o.tenant_id.is_some()),
            ("extensionId", o.extension_id.is_some()),
        ];
        let matrix_only = [
            ("homeserverUrl", o.homeserver_url.is_some()),
            ("idpId", o.idp_id.is_some()),
        ];
        let auth_service_only = [
            ("authServiceUrl", o.auth_service_url.is_some()),
            ("appId", o.app_id.is_some()),
            ("providerId", o.provider_id.is_some()),
            ("redirect", o.redirect.is_some()),
        ];
        let redirect_uri = [("redirectUri", o.redirect_uri.is_some())];
        match kind {
            ProfileKind::OAuth2 => {
                foreign(name, &console_only)?;
                foreign(name, &matrix_only)?;
                foreign(name, &auth_service_only)?;
                required(
                    name,
                    &[
                        ("authorizationEndpoint", o.authorization_endpoint.is_some()),
                        ("clientId", o.client_id.is_some()),
                        ("redirectUri", o.redirect_uri.is_some()),
                    ],
                )?;
            }
            ProfileKind::MiaConsole => {
                foreign(name, &oauth2_only)?;
                foreign(name, &redirect_uri)?;
                foreign(name, &matrix_only)?;
                foreign(name, &auth_service_only)?;
                required(
                    name,
                    &[
                        ("consoleUrl", o.console_url.is_some()),
                        ("tenantId", o.tenant_id.is_some()),
                        ("extensionId", o.extension_id.is_some()),
                    ],
                )?;
            }
            ProfileKind::Matrix => {
                foreign(name, &oauth2_only)?;
                foreign(name, &console_only)?;
                foreign(name, &auth_service_only)?;
                required(
                    name,
                    &[
                        ("homeserverUrl", o.homeserver_url.is_some()),
                        ("redirectUri", o.redirect_uri.is_some()),
                    ],
                )?;
            }
            ProfileKind::MiaAuthService => {
                foreign(name, &oauth2_only)?;
                foreign(name, &redirect_uri)?;
                foreign(name, &console_only)?;
                foreign(name, &matrix_only)?;
                required(
                    name,
                    &[
                        ("authServiceUrl", o.auth_service_url.is_some()),
                        ("appId", o.app_id.is_some()),
                        ("providerId", o.provider_id.is_some()),
                        ("redirect", o.redirect.is_some()),
                    ],
                )?;
            }
        }
        let navigation = match o.navigation.as_deref() {
            None | Some("self") => Navigation::SelfFrame,
            Some("top") => Navigation::Top,
            Some("popup") => Navigation::Popup,
            Some(_) => {
                return Err(Error::options(
                    "navigation must be 'self', 'top' or 'popup'",
                ))
            }
        };
        let iss_policy = match o.iss_policy.as_deref() {
            None | Some("if-present") => IssPolicy::IfPresent,
            Some("require") => IssPolicy::Require,
            Some("off") => IssPolicy::Off,
            Some(_) => {
                return Err(Error::options(
                    "issPolicy must be 'require', 'if-present' (default) or 'off'",
                ))
            }
        };
        Ok((kind, navigation, iss_policy))
    }

    fn into_config(self) -> Result<(ClientConfig, bool)> {
        // One early return before anything is moved out (each partial move
        // followed by `?` made the options' drop code repeat in the wasm).
        let (kind, navigation, iss_policy) = self.check()?;
        let o = self;
        let profile = match kind {
            ProfileKind::OAuth2 => {
                let mut p = OAuth2Profile::new(
                    o.authorization_endpoint.unwrap_or_default(),
                    o.client_id.unwrap_or_default(),
                    o.redirect_uri.unwrap_or_default(),
                );
                p.scope = o.scope;
                p.issuer = o.issuer;
                p.use_pkce = o.use_pkce.unwrap_or(true);
                p.token_endpoint = o.token_endpoint;
                p.extra_params = o.extra_params.unwrap_or_default();
                ProfileConfig::OAuth2(p)
            }
            ProfileKind::MiaConsole => ProfileConfig::MiaConsole(MiaConsoleProfile {
                console_url: o.console_url.unwrap_or_default(),
                tenant_id: o.tenant_id.unwrap_or_default(),
                extension_id: o.extension_id.unwrap_or_default(),
            }),
            ProfileKind::Matrix => ProfileConfig::Matrix(MatrixProfile {
                homeserver_url: o.homeserver_url.unwrap_or_default(),
                idp_id: o.idp_id,
                redirect_uri: o.redirect_uri.unwrap_or_default(),
            }),
            ProfileKind::MiaAuthService => ProfileConfig::MiaAuthService(AuthServiceProfile {
                auth_service_url: o.auth_service_url.unwrap_or_default(),
                app_id: o.app_id.unwrap_or_default(),
                provider_id: o.provider_id.unwrap_or_default(),
                redirect: o.redirect.unwrap_or_default(),
            }),
        };
        let mut config = ClientConfig::new(profile);
        config.token_handoff_url = o.token_handoff_url;
        config.navigation = navigation;
        if let Some(ttl) = o.state_ttl_sec {
            config.state_ttl_sec = ttl;
        }
        config.iss_policy = iss_policy;
        config.host_origin = o.host_origin;
        config.cookie_session = o.cookie_session.unwrap_or(false);
        config.validate()?;
        Ok((config, o.persist_session.unwrap_or(false)))
    }
}

// --------------------------------------------------------------- platform

fn unsupported(message: &str) -> Error {
    Error::new(ErrorCode::Unsupported, message)
}

/// The page's `Window`, from `globalThis` (none in workers and Node).
fn window() -> Result<Window> {
    js_sys::global()
        .dyn_into::<Window>()
        .map_err(|_| unsupported("ExtensionClient needs a browser window (not a worker or Node)"))
}

fn href(window: &Window) -> Result<String> {
    window
        .location()
        .href()
        .map_err(|_| unsupported("cannot read location.href"))
}

/// True when this page runs inside a frame. Reading `window.top` is allowed
/// cross-origin; any exception counts as framed.
fn is_framed(window: &Window) -> bool {
    match window.top() {
        Ok(Some(top)) => !Object::is(top.as_ref(), window.as_ref()),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// `sessionStorage` as a [`Storage`]; every exception ("Access is denied")
/// is `state_storage_unavailable`.
struct WebStorage(web_sys::Storage);

fn storage_error(_: JsValue) -> Error {
    Error::new(
        ErrorCode::StateStorageUnavailable,
        "sessionStorage refused the operation (blocked third-party storage or a private window): use navigation 'popup'",
    )
}

impl Storage for WebStorage {
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.0.get_item(key).map_err(storage_error)
    }
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.0.set_item(key, value).map_err(storage_error)
    }
    fn remove(&self, key: &str) -> Result<()> {
        self.0.remove_item(key).map_err(storage_error)
    }
    fn keys(&self) -> Result<Vec<String>> {
        let len = self.0.length().map_err(storage_error)?;
        let mut keys = Vec::new();
        for i in 0..len {
            if let Some(k) = self.0.key(i).map_err(storage_error)? {
                keys.push(k);
            }
        }
        Ok(keys)
    }
}

/// `sessionStorage` when it really works: getting it and a probe write and
/// removal must all succeed (blocked storage throws on any of them).
fn session_storage(window: &Window) -> Option<WebStorage> {
    let storage = window.session_storage().ok()??;
    storage.set_item(PROBE_KEY, "1").ok()?;
    storage.remove_item(PROBE_KEY).ok()?;
    Some(WebStorage(storage))
}

fn storage_unavailable() -> Error {
    Error::new(
        ErrorCode::StateStorageUnavailable,
        "sessionStorage is not usable in this frame (third-party storage blocked or a private window): \
         the login flow cannot be kept; use navigation 'popup', which keeps it in memory",
    )
}

/// `history.replaceState` to the URL without callback parameters, keeping
/// unrelated parameters and the hash. Failures are ignored (nothing to undo).
fn scrub(window: &Window, url: &str) {
    if let Ok(history) = window.history() {
        let clean = scrubbed_url(url);
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
    }
}

fn has_opener(window: &Window) -> Option<Window> {
    window
        .opener()
        .ok()
        .filter(|o| o.is_object())
        .map(JsCast::unchecked_into)
}

/// A JSON message (`{type, url}` from the core) as a plain JS object.
fn message_object(json_text: &str) -> JsValue {
    JSON::parse(json_text).unwrap_or(JsValue::NULL)
}

/// The `data` of a message event as JSON text for the core's checks.
fn data_json(data: &JsValue) -> Option<String> {
    if let Some(s) = data.as_string() {
        return Some(s);
    }
    if !data.is_object() {
        return None;
    }
    JSON::stringify(data).ok().and_then(|s| s.as_string())
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn opt_str(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// A promise and its resolve / reject functions.
fn deferred() -> Result<(Promise, Function, Function)> {
    let mut fns = None;
    let promise = Promise::new(&mut |resolve, reject| fns = Some((resolve, reject)));
    let (resolve, reject) = fns.ok_or_else(|| unsupported("Promise executor did not run"))?;
    Ok((promise, resolve, reject))
}

/// A promise that never settles: the page is navigating away. (Resolving
/// a promise with it leaves that promise pending too.)
fn never() -> JsValue {
    Promise::new(&mut |_, _| {}).into()
}

// ------------------------------------------------------------------- http

struct HttpAnswer {
    status: u16,
    body: String,
    location: Option<String>,
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (pages and workers alike), with a plain init object.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &Object) -> Promise;
}

/// A rejection or failure as text: `"TypeError: Failed to fetch"`.
fn js_detail(e: JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => format!(
            "{}: {}",
            String::from(err.name()),
            String::from(err.message())
        ),
        None => e.as_string().unwrap_or_else(|| "unknown error".to_owned()),
    }
}

/// `GET url`, or `POST url` with `(content type, body)`.
async fn http(
    url: &str,
    body: Option<(&str, String)>,
    include_credentials: bool,
) -> core::result::Result<HttpAnswer, String> {
    // A plain `RequestInit` dictionary (fewer imported bindings than
    // web-sys' RequestInit / Headers / Request).
    let init = Object::new();
    let str = |s: &str| JsValue::from_str(s);
    set(
        &init,
        "method",
        &str(if body.is_some() { "POST" } else { "GET" }),
    );
    set(
        &init,
        "credentials",
        &str(if include_credentials {
            "include"
        } else {
            "same-origin"
        }),
    );
    if let Some((content_type, body)) = body {
        let headers = Object::new();
        set(&headers, "content-type", &str(content_type));
        set(&init, "headers", &headers);
        set(&init, "body", &str(&body));
    }
    let response: Response = JsFuture::from(fetch_with_init(url, &init))
        .await
        .map_err(js_detail)?
        .unchecked_into();
    let location = response.headers().get("location").ok().flatten();
    let status = response.status();
    let text = response.text().map_err(js_detail)?;
    let body = JsFuture::from(text)
        .await
        .map_err(js_detail)?
        .as_string()
        .unwrap_or_default();
    Ok(HttpAnswer {
        status,
        body,
        location,
    })
}

fn network(code: ErrorCode, what: &str, detail: &str) -> Error {
    Error::new(code, format!("{what} could not be reached: {detail}")).retryable(true)
}

// ----------------------------------------------------------------- client

struct Inner {
    /// `None` only for seed 001's positional form before `login(redirectUrl)`.
    config: RefCell<Option<ClientConfig>>,
    /// Seed 001: `(authorizationServerUrl, extensionId)`.
    positional: Option<(String, String)>,
    /// Popup-mode flows (the popup's callback page cannot read our storage).
    memory: MemoryStorage,
    session: RefCell<Option<Session>>,
    persist_session: bool,
}

/// What remains to do after the synchronous part of a call.
enum Next {
    Value(JsValue),
    /// The page navigates away.
    Never,
    /// Check the homeserver's login flows, then assign this frame.
    MatrixCheckThenAssign {
        config: ClientConfig,
        url: String,
    },
    /// Wait for the popup's callback message, then complete.
    Popup {
        config: ClientConfig,
        popup: Window,
        url: String,
        pending: State,
    },
    /// Ask the host page to navigate the top level.
    AskHost {
        config: ClientConfig,
        target_origin: String,
        url: String,
    },
    /// Make the completion's request and build the session.
    Complete {
        config: ClientConfig,
        completion: Completion,
    },
}

type Task = Pin<Box<dyn Future<Output = core::result::Result<JsValue, JsValue>>>>;

/// SSO login for an extension page (often inside the host console's
/// iframe): OAuth 2.0 / OIDC with PKCE, Mia-Platform Console, Matrix SSO and
/// the Mia-Platform Authentication Service. See `client.d.ts` for the JS docs.
#[wasm_bindgen]
pub struct ExtensionClient {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl ExtensionClient {
    /// `new ExtensionClient(options)`, or seed 001's
    /// `new ExtensionClient(authorizationServerUrl, extensionId)` followed by
    /// `login(redirectUrl)`. Throws `invalid_options` naming the bad option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        extension_id: Option<String>,
    ) -> core::result::Result<ExtensionClient, JsValue> {
        let (config, positional, persist_session) = if let Some(url) = options.as_string() {
            let Some(extension_id) = extension_id else {
                return Err(Error::options(
                    "new ExtensionClient(authorizationServerUrl, extensionId) needs extensionId",
                )
                .into());
            };
            // Validate now (with a placeholder redirect), so a bad URL fails here.
            ClientConfig::for_authorization_server(&url, &extension_id, "https://localhost/")?;
            (None, Some((url, extension_id)), false)
        } else {
            if extension_id.is_some() {
                return Err(Error::options(
                    "pass either an options object or (authorizationServerUrl, extensionId)",
                )
                .into());
            }
            if !options.is_object() {
                return Err(Error::options(
                    "new ExtensionClient() needs an options object with a profile",
                )
                .into());
            }
            check_option_names(&options)?;
            let (config, persist) = Options::from_js(&options)?.into_config()?;
            (Some(config), None, persist)
        };
        let inner = Inner {
            config: RefCell::new(config),
            positional,
            memory: MemoryStorage::default(),
            session: RefCell::new(None),
            persist_session,
        };
        inner.restore_session();
        Ok(ExtensionClient {
            inner: Rc::new(inner),
        })
    }

    /// Creates and stores a new flow and resolves with the URL to navigate
    /// to, without navigating.
    #[wasm_bindgen(js_name = authorizationUrl)]
    pub fn authorization_url(&self) -> Promise {
        match self.inner.start(None) {
            Ok((_, request, _)) => Promise::resolve(&JsValue::from_str(&request.url)),
            Err(e) => Promise::reject(&e.into()),
        }
    }

    /// Seed 001's two-phase login: on the callback page completes and
    /// resolves with the session; with a live session resolves at once;
    /// otherwise navigates (never settles for `self`/`top`, resolves when
    /// the popup's callback arrives for `popup`).
    pub fn login(&self, redirect_url: Option<String>) -> Promise {
        let inner = self.inner.clone();
        run(inner.clone(), inner.login_start(redirect_url))
    }

    /// True when `url` carries callback parameters (`code`, `state`,
    /// `error`, `loginToken`, or our nonce).
    #[wasm_bindgen(js_name = isCallback)]
    pub fn is_callback_url(&self, url: &str) -> bool {
        is_callback(url)
    }

    /// Completes a login from its callback URL (default: `location.href`).
    #[wasm_bindgen(js_name = handleCallback)]
    pub fn handle_callback(&self, url: Option<String>) -> Promise {
        let inner = self.inner.clone();
        let next = window().and_then(|w| {
            let url = match url {
                Some(u) => u,
                None => href(&w)?,
            };
            inner.callback_start(&w, &url)
        });
        run(inner, next)
    }

    /// The identity claims of the current session (`verified: false` unless
    /// read from the auth service's `/userinfo`).
    #[wasm_bindgen(js_name = getUserIdentity)]
    pub fn get_user_identity(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.identity().await })
    }

    /// Forgets the session and every pending flow of this tab.
    pub fn logout(&self) {
        self.inner.logout();
    }

    /// The current live session as a plain object, or `null`.
    #[wasm_bindgen(getter)]
    pub fn session(&self) -> JsValue {
        let now = SystemClock.now_sec();
        match &*self.inner.session.borrow() {
            Some(s) if s.is_live(now) => session_to_js(s),
            _ => JsValue::NULL,
        }
    }

    /// For the popup's callback page: hands the callback URL to the opener
    /// (`postMessage` with `targetOrigin` = `openerOrigin`, default this
    /// page's origin) or, without an opener, on a `BroadcastChannel`; scrubs
    /// the address bar and closes the popup. Returns false when this page is
    /// not a callback.
    #[wasm_bindgen(js_name = completePopup)]
    pub fn complete_popup(opener_origin: Option<String>) -> core::result::Result<bool, JsValue> {
        let window = window()?;
        let url = href(&window)?;
        if !is_callback(&url) {
            return Ok(false);
        }
        deliver_to_opener(&window, &url, opener_origin)?;
        Ok(true)
    }

    /// True when this page runs in a frame (then use `navigation: 'popup'`
    /// or `'top'` unless the authorization server allows being framed).
    #[wasm_bindgen(js_name = isFramed)]
    pub fn is_framed_page() -> bool {
        window().map(|w| is_framed(&w)).unwrap_or(false)
    }

    /// True when `sessionStorage` works here (false in a cross-site iframe of
    /// a private window or with third-party storage blocked: use `popup`).
    #[wasm_bindgen(js_name = sessionStorageAvailable)]
    pub fn session_storage_available() -> bool {
        window()
            .map(|w| session_storage(&w).is_some())
            .unwrap_or(false)
    }
}

fn run(inner: Rc<Inner>, next: Result<Next>) -> Promise {
    match next {
        Ok(Next::Value(v)) => Promise::resolve(&v),
        Ok(next) => future_to_promise(drive(inner, next)),
        Err(e) => Promise::reject(&e.into()),
    }
}

fn drive(inner: Rc<Inner>, next: Next) -> Task {
    Box::pin(async move {
        let window = window()?;
        // Matrix: check the homeserver before navigating (one `await` for
        // every kind of navigation keeps the state machine small).
        if let Next::MatrixCheckThenAssign { config, .. }
        | Next::Popup { config, .. }
        | Next::AskHost { config, .. } = &next
        {
            if let Err(e) = check_matrix(config).await {
                if let Next::Popup { popup, .. } = &next {
                    let _ = popup.close();
                }
                return Err(e.into());
            }
        }
        let (config, completion) = match next {
            Next::Value(v) => return Ok(v),
            Next::Never => return Ok(never()),
            Next::MatrixCheckThenAssign { url, .. } => {
                window
                    .location()
                    .assign(&url)
                    .map_err(|_| unsupported("location.assign failed"))?;
                return Ok(never());
            }
            Next::AskHost {
                config,
                target_origin,
                url,
            } => {
                ask_host(&window, &config, &target_origin, &url).await?;
                return Ok(never());
            }
            Next::Popup {
                config,
                popup,
                url,
                pending,
            } => {
                if matches!(config.profile, ProfileConfig::Matrix(_)) {
                    let _ = popup.location().set_href(&url);
                }
                let own_origin = window.location().origin().unwrap_or_default();
                let allowed = callback_message_origins(&config, &own_origin);
                let callback = wait_for_popup(&window, &popup, allowed, &config, pending).await;
                let _ = popup.close();
                let completion = complete(&inner.memory, &SystemClock, &config, &callback?)?;
                (config, completion)
            }
            Next::Complete { config, completion } => (config, completion),
        };
        inner.finish(&window, &config, completion).await
    })
}

/// Matrix: the homeserver must offer `m.login.sso` and `m.login.token`.
async fn check_matrix(config: &ClientConfig) -> Result<()> {
    let ProfileConfig::Matrix(p) = &config.profile else {
        return Ok(());
    };
    let url = oauth::matrix_login_flows_url(&p.homeserver_url);
    let answer = http(&url, None, false)
        .await
        .map_err(|e| network(ErrorCode::NetworkError, "the homeserver", &e))?;
    matrix::check_login_flows(answer.status, &answer.body, p.idp_id.as_deref()).map(|_| ())
}

/// Posts the callback URL to the opener, or on the BroadcastChannel when the
/// opener is gone; scrubs and closes this window.
fn deliver_to_opener(window: &Window, url: &str, opener_origin: Option<String>) -> Result<()> {
    let message = message_object(&callback_message(url));
    scrub(window, url);
    match has_opener(window) {
        Some(opener) => {
            let target = match opener_origin {
                Some(o) => o,
                None => window
                    .location()
                    .origin()
                    .map_err(|_| unsupported("no origin"))?,
            };
            opener.post_message(&message, &target).map_err(|_| {
                Error::new(
                    ErrorCode::OriginNotAllowed,
                    "could not post the callback to the opener",
                )
            })?;
        }
        None => {
            let channel = BroadcastChannel::new(BROADCAST_CHANNEL_NAME).map_err(|_| {
                unsupported("no opener and no BroadcastChannel to return the login to")
            })?;
            let _ = channel.post_message(&message);
            channel.close();
        }
    }
    let _ = window.close();
    Ok(())
}

/// Waits for the popup's `{type:'extension-sso:callback', url}` message
/// (postMessage or BroadcastChannel), origin- and state-checked by the core.
/// Messages from other origins are ignored; a closed popup rejects.
async fn wait_for_popup(
    window: &Window,
    popup: &Window,
    allowed: Vec<String>,
    config: &ClientConfig,
    pending: State,
) -> core::result::Result<String, JsValue> {
    let (promise, resolve, reject) = deferred()?;
    let kind = config.profile.kind();
    let on_message: Rc<dyn Fn(MessageEvent)> = {
        let (resolve, reject) = (resolve.clone(), reject.clone());
        Rc::new(move |event: MessageEvent| {
            let Some(data) = data_json(&event.data()) else {
                return;
            };
            match accept_callback_message(&allowed, &event.origin(), &data, kind, &pending) {
                Ok(MessageVerdict::Accept(url)) => {
                    let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&url));
                }
                Ok(MessageVerdict::Ignore) => {}
                Err(e) if e.code() == ErrorCode::OriginNotAllowed => {}
                Err(e) => {
                    let _ = reject.call1(&JsValue::NULL, &e.into());
                }
            }
        })
    };
    let window_listener = {
        let handler = on_message.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| handler(e))
    };
    let channel_listener = {
        let handler = on_message.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| handler(e))
    };
    let poll = {
        let popup = popup.clone();
        Closure::<dyn FnMut()>::new(move || {
            if popup.closed().unwrap_or(true) {
                let _ = reject.call1(&JsValue::NULL, &oauth::popup_closed_error().into());
            }
        })
    };
    let _ = window
        .add_event_listener_with_callback("message", window_listener.as_ref().unchecked_ref());
    let channel = BroadcastChannel::new(BROADCAST_CHANNEL_NAME).ok();
    if let Some(c) = &channel {
        c.set_onmessage(Some(channel_listener.as_ref().unchecked_ref()));
    }
    let interval = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            poll.as_ref().unchecked_ref(),
            POPUP_POLL_MS,
        )
        .ok();
    let result = JsFuture::from(promise).await;
    let _ = window
        .remove_event_listener_with_callback("message", window_listener.as_ref().unchecked_ref());
    if let Some(c) = &channel {
        c.set_onmessage(None);
        c.close();
    }
    if let Some(id) = interval {
        window.clear_interval_with_handle(id);
    }
    drop((window_listener, channel_listener, poll));
    let url = result?;
    url.as_string()
        .ok_or_else(|| Error::new(ErrorCode::InvalidCallback, "no callback URL").into())
}

/// `navigation: 'top'`: asks the host page (at `target_origin` only) to
/// navigate the top level; resolves once it accepted.
async fn ask_host(
    window: &Window,
    config: &ClientConfig,
    target_origin: &str,
    url: &str,
) -> core::result::Result<(), JsValue> {
    let parent = window
        .parent()
        .ok()
        .flatten()
        .ok_or_else(oauth::host_no_reply_error)?;
    let (promise, resolve, reject) = deferred()?;
    let listener = {
        let config = config.clone();
        let reject = reject.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(data) = data_json(&event.data()) else {
                return;
            };
            match accept_host_reply(&config, &event.origin(), &data) {
                Ok(MessageVerdict::Accept(())) => {
                    let _ = resolve.call0(&JsValue::NULL);
                }
                Ok(MessageVerdict::Ignore) => {}
                Err(e) if e.code() == ErrorCode::OriginNotAllowed => {}
                Err(e) => {
                    let _ = reject.call1(&JsValue::NULL, &e.into());
                }
            }
        })
    };
    let timeout = Closure::<dyn FnMut()>::new(move || {
        let _ = reject.call1(&JsValue::NULL, &oauth::host_no_reply_error().into());
    });
    let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    let timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            timeout.as_ref().unchecked_ref(),
            HOST_REPLY_TIMEOUT_MS as i32,
        )
        .ok();
    let posted = parent.post_message(&message_object(&navigate_message(url)), target_origin);
    let result = match posted {
        Ok(()) => JsFuture::from(promise).await.map(|_| ()),
        Err(_) => Err(oauth::host_no_reply_error().into()),
    };
    let _ =
        window.remove_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    if let Some(id) = timer {
        window.clear_timeout_with_handle(id);
    }
    drop((listener, timeout));
    result
}

impl Inner {
    fn config(&self) -> Result<ClientConfig> {
        self.config.borrow().clone().ok_or_else(|| {
            Error::options(
                "this client was made with (authorizationServerUrl, extensionId): call login(redirectUrl) first",
            )
        })
    }

    /// Seed 001: the configuration for `redirect_url`.
    fn configure(&self, redirect_url: Option<&str>) -> Result<ClientConfig> {
        match (&self.positional, redirect_url) {
            (Some((url, id)), Some(redirect)) => {
                let config = ClientConfig::for_authorization_server(url, id, redirect)?;
                *self.config.borrow_mut() = Some(config.clone());
                Ok(config)
            }
            (Some(_), None) => self.config(),
            (None, Some(redirect)) => {
                let config = self.config()?;
                let configured = match &config.profile {
                    ProfileConfig::OAuth2(p) => Some(p.redirect_uri.as_str()),
                    ProfileConfig::Matrix(p) => Some(p.redirect_uri.as_str()),
                    ProfileConfig::MiaAuthService(p) => Some(p.redirect.as_str()),
                    ProfileConfig::MiaConsole(_) => None,
                };
                if configured.is_some_and(|c| c != redirect) {
                    return Err(Error::options(
                        "login(redirectUrl) differs from the configured redirect: omit the argument",
                    ));
                }
                Ok(config)
            }
            (None, None) => self.config(),
        }
    }

    /// Plans the navigation and starts a flow in the right store.
    fn start(
        &self,
        redirect_url: Option<&str>,
    ) -> Result<(ClientConfig, oauth::AuthorizationRequest, NavigationAction)> {
        let config = self.configure(redirect_url)?;
        let window = window()?;
        let storage = session_storage(&window);
        let plan = plan_navigation(&config, is_framed(&window), storage.is_some())?;
        let request = match (plan.flow_store, &storage) {
            (FlowStore::Memory, _) => start_flow(&self.memory, &SystemClock, &OsRandom, &config)?,
            (FlowStore::SessionStorage, Some(s)) => {
                start_flow(s, &SystemClock, &OsRandom, &config)?
            }
            (FlowStore::SessionStorage, None) => return Err(storage_unavailable()),
        };
        Ok((config, request, plan.action))
    }

    fn login_start(&self, redirect_url: Option<String>) -> Result<Next> {
        let window = window()?;
        let current = href(&window)?;
        // Check the redirect argument (and configure seed 001) first.
        self.configure(redirect_url.as_deref())?;
        if is_callback(&current) {
            return self.callback_start(&window, &current);
        }
        if let Some(session) = &*self.session.borrow() {
            if session.is_live(SystemClock.now_sec()) {
                return Ok(Next::Value(session_to_js(session)));
            }
        }
        let (config, request, action) = self.start(redirect_url.as_deref())?;
        let is_matrix = matches!(config.profile, ProfileConfig::Matrix(_));
        match action {
            NavigationAction::OpenPopup => {
                // Synchronously, inside the click's user activation.
                let first = if is_matrix { "" } else { request.url.as_str() };
                let popup = window
                    .open_with_url_and_target_and_features(first, "_blank", POPUP_FEATURES)
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        let _ = oauth::logout(&self.memory);
                        oauth::popup_blocked_error()
                    })?;
                Ok(Next::Popup {
                    config,
                    popup,
                    url: request.url,
                    pending: request.state,
                })
            }
            NavigationAction::AskHost { target_origin } => Ok(Next::AskHost {
                config,
                target_origin,
                url: request.url,
            }),
            NavigationAction::AssignSelf if is_matrix => Ok(Next::MatrixCheckThenAssign {
                config,
                url: request.url,
            }),
            NavigationAction::AssignSelf => {
                window
                    .location()
                    .assign(&request.url)
                    .map_err(|_| unsupported("location.assign failed"))?;
                Ok(Next::Never)
            }
        }
    }

    /// The synchronous part of `handleCallback`: scrub the address bar,
    /// hand a popup's callback to its opener, or check and consume the flow.
    fn callback_start(&self, window: &Window, url: &str) -> Result<Next> {
        let is_current = href(window).ok().as_deref() == Some(url);
        if is_current {
            // At once, before anything can fail (success or failure alike).
            scrub(window, url);
        }
        let config = match (self.config.borrow().clone(), &self.positional) {
            (Some(c), _) => c,
            (None, Some((server, id))) => {
                // Seed 001 on the callback page without login(redirectUrl):
                // the redirect is this page (the flow record is checked anyway).
                let page = scrubbed_url(url);
                let page = page.split('#').next().unwrap_or_default();
                ClientConfig::for_authorization_server(server, id, page)?
            }
            (None, None) => self.config()?,
        };
        if config.navigation == Navigation::Popup
            && is_current
            && !is_auth_service_web_login_step(&config, url)
        {
            // This is the popup's callback page: the flow lives in the
            // opener's memory. (The auth service's web-login step is done
            // here, in the popup: it posts code and state to /oauth/token and
            // goes on to the returned location, which comes back here.)
            deliver_to_opener(window, url, None)?;
            return Ok(Next::Never);
        }
        let completion = if config.navigation == Navigation::Popup {
            complete(&self.memory, &SystemClock, &config, url)?
        } else {
            let storage = session_storage(window).ok_or_else(storage_unavailable)?;
            complete(&storage, &SystemClock, &config, url)?
        };
        Ok(Next::Complete { config, completion })
    }

    /// Makes the completion's one request and keeps the session.
    async fn finish(
        &self,
        window: &Window,
        config: &ClientConfig,
        completion: Completion,
    ) -> core::result::Result<JsValue, JsValue> {
        /// What the answer is read as.
        enum Answer {
            Tokens(TokenSource, bool),
            MatrixLogin,
            AuthServiceToken,
            UserInfo,
        }
        const JSON_TYPE: &str = "application/json";
        // One request (one `await`) for every kind of completion keeps the
        // async state machine small.
        let (answer, url, body, credentials, code, what) = match completion {
            Completion::Handoff { url, body_json } => (
                Answer::Tokens(TokenSource::Handoff, config.cookie_session),
                url,
                Some((JSON_TYPE, body_json)),
                true,
                ErrorCode::HandoffFailed,
                "tokenHandoffUrl",
            ),
            Completion::DirectTokenRequest { url, form_body } => (
                Answer::Tokens(TokenSource::TokenEndpoint, false),
                url,
                Some(("application/x-www-form-urlencoded", form_body)),
                false,
                ErrorCode::NetworkError,
                "the token endpoint",
            ),
            Completion::MatrixLogin { url, body_json } => (
                Answer::MatrixLogin,
                url,
                Some((JSON_TYPE, body_json)),
                false,
                ErrorCode::NetworkError,
                "the homeserver",
            ),
            Completion::AuthServiceToken { url, body_json } => {
                if !matches!(config.profile, ProfileConfig::MiaAuthService(_)) {
                    return Err(unsupported("profile mismatch").into());
                }
                (
                    Answer::AuthServiceToken,
                    url,
                    Some((JSON_TYPE, body_json)),
                    true,
                    ErrorCode::HandoffFailed,
                    "the auth service",
                )
            }
            Completion::AuthServiceReturned { userinfo_url } => (
                Answer::UserInfo,
                userinfo_url,
                None,
                true,
                ErrorCode::NetworkError,
                "the auth service",
            ),
        };
        let a = http(&url, body, credentials)
            .await
            .map_err(|e| network(code, what, &e))?;
        let now = SystemClock.now_sec();
        let session = match answer {
            Answer::Tokens(source, cookie_session) => {
                parse_token_response(source, a.status, &a.body, now, cookie_session)?
            }
            Answer::MatrixLogin => matrix::parse_login_response(a.status, &a.body, now)?,
            Answer::AuthServiceToken => {
                let ProfileConfig::MiaAuthService(p) = &config.profile else {
                    return Err(unsupported("profile mismatch").into());
                };
                let origin = window.location().origin().unwrap_or_default();
                let next =
                    auth_service::next_location(p, a.status, a.location.as_deref(), &origin)?;
                window
                    .location()
                    .assign(&next)
                    .map_err(|_| unsupported("location.assign failed"))?;
                return Ok(never());
            }
            Answer::UserInfo => {
                auth_service::parse_userinfo(a.status, &a.body)?;
                Session {
                    cookie_only: true,
                    ..Session::default()
                }
            }
        };
        let js = session_to_js(&session);
        self.persist(&session);
        *self.session.borrow_mut() = Some(session);
        Ok(js)
    }

    async fn identity(&self) -> core::result::Result<JsValue, JsValue> {
        let config = self.config()?;
        if let ProfileConfig::MiaAuthService(p) = &config.profile {
            let a = http(&auth_service::userinfo_url(p), None, true)
                .await
                .map_err(|e| network(ErrorCode::NetworkError, "the auth service", &e))?;
            return Ok(identity_to_js(&auth_service::parse_userinfo(
                a.status, &a.body,
            )?));
        }
        let identity = match &*self.session.borrow() {
            Some(s) if s.is_live(SystemClock.now_sec()) => match s.backend_identity() {
                Some(verified) => verified,
                None => s.unverified_identity()?,
            },
            _ => {
                return Err(Error::new(
                    ErrorCode::NotLoggedIn,
                    "there is no live session: call login() first",
                )
                .into())
            }
        };
        Ok(identity_to_js(&identity))
    }

    fn logout(&self) {
        *self.session.borrow_mut() = None;
        let _ = oauth::logout(&self.memory);
        if let Ok(window) = window() {
            if let Some(storage) = session_storage(&window) {
                let _ = oauth::logout(&storage);
                if let Some(key) = self.session_key() {
                    let _ = storage.remove(&key);
                }
            }
        }
    }

    // ---- opt-in session persistence (persistSession: true) ----

    fn session_key(&self) -> Option<String> {
        let kind = self.config.borrow().as_ref()?.profile.kind();
        Some(format!("{SESSION_KEY_PREFIX}{}", kind.as_str()))
    }

    fn persist(&self, session: &Session) {
        if !self.persist_session {
            return;
        }
        let (Some(key), Ok(window)) = (self.session_key(), window()) else {
            return;
        };
        let Some(storage) = session_storage(&window) else {
            return;
        };
        let mut obj = json::Object::default();
        let mut put = |name: &str, value: Option<&str>| {
            if let Some(v) = value {
                obj.insert(name, json::Value::String(v.to_owned()));
            }
        };
        put(
            "access_token",
            session
                .access_token
                .as_ref()
                .map(AccessToken::expose_secret),
        );
        put(
            "id_token",
            session.id_token.as_ref().map(IdToken::expose_secret),
        );
        put("token_type", session.token_type.as_deref());
        put("scope", session.scope.as_deref());
        put("user_id", session.user_id.as_deref());
        put("device_id", session.device_id.as_deref());
        put(
            "homeserver_base_url",
            session.homeserver_base_url.as_deref(),
        );
        put("backend_identity", session.backend_identity.as_deref());
        if let Some(at) = session.expires_at {
            obj.insert("expires_at", json::Value::Number(at as f64));
        }
        if session.cookie_only {
            obj.insert("cookie_only", json::Value::Bool(true));
        }
        let _ = storage.set(&key, &json::Value::Object(obj).to_json());
    }

    #[inline(never)]
    fn restore_session(&self) {
        if !self.persist_session {
            return;
        }
        let (Some(key), Ok(window)) = (self.session_key(), window()) else {
            return;
        };
        let Some(text) = session_storage(&window).and_then(|s| s.get(&key).ok().flatten()) else {
            return;
        };
        let Ok(json::Value::Object(obj)) = json::parse(&text) else {
            return;
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
                .and_then(json::Value::as_f64)
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(|n| n as u64),
            cookie_only: matches!(obj.get("cookie_only"), Some(json::Value::Bool(true))),
            refresh_token_dropped: false,
            backend_identity: get("backend_identity"),
        };
        if (session.access_token.is_some() || session.cookie_only)
            && session.is_live(SystemClock.now_sec())
        {
            *self.session.borrow_mut() = Some(session);
        }
    }
}

/// `{ accessToken, expiresAt, idToken, userId, deviceId, tokenType, scope,
/// homeserverBaseUrl, cookieOnly }`; absent values are `null`; `expiresAt`
/// is in seconds since the epoch.
fn session_to_js(s: &Session) -> JsValue {
    let obj = Object::new();
    set(
        &obj,
        "accessToken",
        &opt_str(s.access_token.as_ref().map(AccessToken::expose_secret)),
    );
    set(
        &obj,
        "expiresAt",
        &s.expires_at
            .map_or(JsValue::NULL, |t| JsValue::from_f64(t as f64)),
    );
    set(
        &obj,
        "idToken",
        &opt_str(s.id_token.as_ref().map(IdToken::expose_secret)),
    );
    set(&obj, "userId", &opt_str(s.user_id.as_deref()));
    set(&obj, "deviceId", &opt_str(s.device_id.as_deref()));
    set(&obj, "tokenType", &opt_str(s.token_type.as_deref()));
    set(&obj, "scope", &opt_str(s.scope.as_deref()));
    set(
        &obj,
        "homeserverBaseUrl",
        &opt_str(s.homeserver_base_url.as_deref()),
    );
    set(&obj, "cookieOnly", &JsValue::from_bool(s.cookie_only));
    obj.into()
}

/// `{ claims, verified, source: 'id_token' | 'access_token' | 'userinfo' }`.
fn identity_to_js(identity: &Identity) -> JsValue {
    let obj = Object::new();
    let claims = json::Value::Object(identity.claims.clone()).to_json();
    set(
        &obj,
        "claims",
        &JSON::parse(&claims).unwrap_or(JsValue::NULL),
    );
    set(&obj, "verified", &JsValue::from_bool(identity.verified));
    let source = match identity.source {
        IdentitySource::Backend => "backend",
        IdentitySource::IdToken => "id_token",
        IdentitySource::AccessToken => "access_token",
        IdentitySource::UserInfo => "userinfo",
    };
    set(&obj, "source", &JsValue::from_str(source));
    obj.into()
}
