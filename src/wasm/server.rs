//! The wasm half of `extension-sso/server`.
//!
//! Everything that decides lives in [`crate::server`]; this facade converts
//! options (JSON text from the JS layer, whose `readOptions` has checked
//! their names and types: what the values mean is checked here), request
//! descriptions (`{ method, url, headers: [[name, value]…], body, timeoutMs,
//! maxResponseBytes }`) and responses (`status, [[name, value]…], bytes`).
//! The JS layer (`pkg-template/lib/server.js`) performs the `fetch`, the
//! timeout, the body cap and the token verification.

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{RefCell, RefMut};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::json::{self, Object as JsonObject, Value};
use crate::protocol::url::UrlRule;

use crate::server::{
    self as srv, refuse_misplaced, AccessKey, ClientAuth, CookieConfig, ExchangeOptions,
    ExchangeProfile, ExchangeStep, FlowStep, HandoffConfig, HandoffHandler, HandoffStep,
    HttpRequest, HttpResponse, HttpResponseOut, Identity, IdentitySource, JsonBody, MatrixFlow,
    MatrixLoginOptions, MatrixSession, MetadataCache, Mint, OAuth2Client, PendingHandoff,
    PublicKey, RefreshOptions, Rejection, Route, SameSite, Secret, TokenFlow, TokenMinter,
    TokenSet, UnsignedToken, UserInfoStep, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES,
};
use crate::{Error, ErrorCode, OAuthErrorFields, Result};

type JsResult<T> = core::result::Result<T, JsValue>;

// ---------------------------------------------------------------------------
// Conversions

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn opt_str(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// A call driven out of order (a bug of the JS layer).
const NOT_DONE: &str = "the call was driven out of order: follow next()";

fn headers_to_js(headers: &[(String, String)]) -> Array {
    headers
        .iter()
        .map(|(k, v)| -> JsValue {
            let pair = Array::new();
            pair.push(&JsValue::from_str(k));
            pair.push(&JsValue::from_str(v));
            pair.into()
        })
        .collect()
}

fn headers_from_js(headers: JsValue) -> Result<Vec<(String, String)>> {
    if headers.is_undefined() || headers.is_null() {
        return Ok(Vec::new());
    }
    let bad = || Error::options("headers must be an array of [name, value] string pairs");
    let list = headers.dyn_into::<Array>().map_err(|_| bad())?;
    list.iter()
        .map(|pair| {
            let pair = pair.dyn_into::<Array>().map_err(|_| bad())?;
            match (
                pair.length(),
                pair.get(0).as_string(),
                pair.get(1).as_string(),
            ) {
                (2, Some(name), Some(value)) => Ok((name, value)),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// `{ method, url, headers, body, timeoutMs, maxResponseBytes }`.
fn request_to_js(request: &HttpRequest) -> JsValue {
    let out = Object::new();
    set(&out, "method", &JsValue::from_str(request.method));
    set(&out, "url", &JsValue::from_str(&request.url));
    set(&out, "headers", &headers_to_js(&request.headers));
    set(&out, "body", &opt_str(request.body.as_deref()));
    set(
        &out,
        "timeoutMs",
        &JsValue::from_f64(f64::from(request.timeout_ms)),
    );
    set(
        &out,
        "maxResponseBytes",
        &JsValue::from_f64(MAX_RESPONSE_BYTES as f64),
    );
    out.into()
}

/// `{ status, headers, body }` (body is a string, empty for 204).
fn response_to_js(response: &HttpResponseOut) -> JsValue {
    let out = Object::new();
    set(
        &out,
        "status",
        &JsValue::from_f64(f64::from(response.status)),
    );
    set(&out, "headers", &headers_to_js(&response.headers));
    set(&out, "body", &JsValue::from_str(&response.body));
    out.into()
}

fn http_response(status: u16, headers: JsValue, body: &[u8]) -> Result<HttpResponse> {
    Ok(HttpResponse {
        status,
        headers: headers_from_js(headers)?,
        body: body.to_vec(),
    })
}

fn now_sec(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// `now` (seconds, with their fraction) in milliseconds, for the token flows.
fn now_ms(now: f64) -> u64 {
    now_sec(now * 1000.0)
}

/// `{ accessToken, tokenType, expiresIn, expiresAt, refreshToken, idToken,
/// idTokenClaims, scope, raw }` as JSON text; absent values are `null`;
/// `expiresAt` is in seconds since the epoch (from `expires_in` and the time
/// the response arrived, or the host's absolute `expiresAt`).
fn tokens_json(tokens: &TokenSet, id_token_claims: Option<&str>, now: u64) -> String {
    let expires_at = tokens
        .expires_in
        .map(|s| now.saturating_add(s))
        .or(tokens.expires_at);
    let raw = Some(tokens.raw_json.as_str()).filter(|raw| !raw.is_empty());
    JsonBody::new()
        .string("accessToken", &tokens.access_token)
        .opt_string("tokenType", tokens.token_type.as_deref())
        .opt_number("expiresIn", tokens.expires_in)
        .opt_number("expiresAt", expires_at)
        .opt_string("refreshToken", tokens.refresh_token.as_deref())
        .opt_string("idToken", tokens.id_token.as_deref())
        .raw("idTokenClaims", id_token_claims.unwrap_or("null"))
        .opt_string("scope", tokens.scope.as_deref())
        .raw("raw", raw.unwrap_or("null"))
        .finish()
}

/// `{ accessToken, userId, deviceId, homeServer, homeserverBaseUrl,
/// refreshToken, expiresInMs, expiresAt }` as JSON text.
fn matrix_json(session: &MatrixSession, now: u64) -> String {
    JsonBody::new()
        .string("accessToken", &session.access_token)
        .string("userId", &session.user_id)
        .string("deviceId", &session.device_id)
        .opt_string("homeServer", session.home_server.as_deref())
        .opt_string("homeserverBaseUrl", session.homeserver_base_url.as_deref())
        .opt_string("refreshToken", session.refresh_token.as_deref())
        .opt_number("expiresInMs", session.expires_in_ms)
        .opt_number(
            "expiresAt",
            session
                .expires_in_ms
                .map(|ms| now.saturating_add(ms / 1000)),
        )
        .finish()
}

/// `{ sub, id, email, name, firstName, lastName, username, groups }` as JSON text.
fn identity_json(identity: &Identity) -> String {
    let id = identity.id();
    let mut groups = String::from("[");
    for (i, group) in identity.groups().into_iter().enumerate() {
        if i > 0 {
            groups.push(',');
        }
        json::write_string(&mut groups, group);
    }
    groups.push(']');
    JsonBody::new()
        .opt_string("sub", identity.sub())
        .opt_string("id", id.as_deref())
        .opt_string("email", identity.email())
        .opt_string("name", identity.name())
        .opt_string("firstName", identity.first_name())
        .opt_string("lastName", identity.last_name())
        .opt_string("username", identity.username())
        .raw("groups", &groups)
        .finish()
}

/// Parses the options the JS layer passes as JSON text.
fn parse_options(text: &str, what: &str) -> Result<Value> {
    json::parse(text).map_err(|e| Error::options(msg!(what, " options must be plain data: ", e)))
}

/// The members of an options object. The JS layer's `readOptions` has
/// checked their names and types (one reader for every entry), so they are
/// read here by meaning only: a member of another type than the one read
/// counts as absent, as an explicit `null` does.
struct Opts<'a>(&'a JsonObject);

impl<'a> Opts<'a> {
    fn new(value: &'a Value, what: &str) -> Result<Self> {
        value
            .as_object()
            .map(Opts)
            .ok_or_else(|| Error::options(msg!(what, " options must be an object")))
    }

    fn string(&self, key: &str) -> Option<String> {
        self.0.get_str(key).map(str::to_owned)
    }

    /// `None` when absent, `Some(None)` for an explicit `null`.
    fn explicit_string(&self, key: &str) -> Option<Option<String>> {
        match self.0.get(key) {
            Some(Value::Null) => Some(None),
            _ => self.string(key).map(Some),
        }
    }

    fn boolean(&self, key: &str) -> Option<bool> {
        match self.0.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A whole number (the JS layer checked it is a safe non-negative integer).
    fn uint(&self, key: &str) -> Option<u64> {
        self.0
            .get(key)
            .and_then(Value::as_f64)
            .filter(|n| *n >= 0.0)
            .map(|n| n as u64)
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        self.0.get(key).and_then(Value::string_list)
    }

    fn object(&self, key: &str) -> Option<Opts<'a>> {
        self.0.get(key).and_then(Value::as_object).map(Opts)
    }
}

/// `max` or less, else `invalid_options` naming `key`.
fn at_most(key: &str, value: Option<u64>, max: u64) -> Result<Option<u64>> {
    match value {
        Some(n) if n > max => Err(Error::options(msg!(key, " must be at most ", max))),
        other => Ok(other),
    }
}

fn timeout_ms(o: &Opts) -> Option<u64> {
    o.uint("timeoutMs")
}

fn timeout_of(timeout_ms: Option<u64>) -> Result<u32> {
    match timeout_ms {
        None => Ok(DEFAULT_TIMEOUT_MS),
        Some(0) => Err(Error::options(
            "timeoutMs must be a positive number of milliseconds",
        )),
        Some(ms) if ms > 300_000 => Err(Error::options(
            "timeoutMs must be at most 300000 (5 minutes)",
        )),
        Some(ms) => Ok(ms as u32),
    }
}

// ---------------------------------------------------------------------------
// exchangeCode / refreshTokens

/// The exchange settings shared by `exchangeCode`, `refreshTokens` and
/// `createHandoffHandler`.
struct ProfileFields {
    profile: Option<String>,
    token_endpoint: Option<String>,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_auth: Option<String>,
    console_url: Option<String>,
    auth_service_url: Option<String>,
}

impl ProfileFields {
    fn read(o: &Opts) -> Self {
        Self {
            profile: o.string("profile"),
            token_endpoint: o.string("tokenEndpoint"),
            issuer: o.string("issuer"),
            jwks_uri: o.string("jwksUri"),
            client_id: o.string("clientId"),
            client_secret: o.string("clientSecret"),
            client_auth: o.string("clientAuth"),
            console_url: o.string("consoleUrl"),
            auth_service_url: o.string("authServiceUrl"),
        }
    }

    fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("oauth2")
    }

    /// Builds the profile and refuses settings that belong to another one,
    /// so a misplaced option fails loudly instead of being ignored.
    fn build(self) -> Result<ExchangeProfile> {
        let name = self.profile_name().to_owned();
        let oauth2_fields = [
            ("tokenEndpoint", self.token_endpoint.is_some()),
            ("issuer", self.issuer.is_some()),
            ("jwksUri", self.jwks_uri.is_some()),
            ("clientId", self.client_id.is_some()),
            ("clientSecret", self.client_secret.is_some()),
            ("clientAuth", self.client_auth.is_some()),
        ];
        let reject = |fields: &[(&str, bool)]| refuse_misplaced(&name, fields);
        match name.as_str() {
            "oauth2" => {
                reject(&[
                    ("consoleUrl", self.console_url.is_some()),
                    ("authServiceUrl", self.auth_service_url.is_some()),
                ])?;
                let client_auth = match self.client_auth.as_deref() {
                    Some(auth) => ClientAuth::parse(auth)?,
                    None => ClientAuth::ClientSecretBasic,
                };
                Ok(ExchangeProfile::OAuth2(OAuth2Client {
                    token_endpoint: self.token_endpoint.unwrap_or_default(),
                    issuer: self.issuer,
                    jwks_uri: self.jwks_uri,
                    client_id: self.client_id.unwrap_or_default(),
                    client_secret: self.client_secret.map(Secret::new),
                    client_auth,
                }))
            }
            "mia-console" => {
                reject(&oauth2_fields)?;
                reject(&[("authServiceUrl", self.auth_service_url.is_some())])?;
                let console_url = self.console_url.ok_or_else(|| {
                    Error::options("consoleUrl is required by the \"mia-console\" profile")
                })?;
                Ok(ExchangeProfile::MiaConsole { console_url })
            }
            "mia-auth-service" => {
                reject(&oauth2_fields)?;
                reject(&[("consoleUrl", self.console_url.is_some())])?;
                let auth_service_url = self.auth_service_url.ok_or_else(|| {
                    Error::options("authServiceUrl is required by the \"mia-auth-service\" profile")
                })?;
                Ok(ExchangeProfile::MiaAuthService { auth_service_url })
            }
            _ => Err(Error::options(
                "profile must be \"oauth2\", \"mia-console\" or \"mia-auth-service\"",
            )),
        }
    }
}

/// `allowInsecureHttp: true` opts out of the URL rule's https requirement.
fn url_rule(o: &Opts) -> UrlRule {
    if o.boolean("allowInsecureHttp") == Some(true) {
        UrlRule::INSECURE_HTTP
    } else {
        UrlRule::STRICT
    }
}

/// What a flow needs next, for the JS layer: `{ request }` (send it, then
/// `answer`, or `unreachable` when it failed without an answer), `{ wait:
/// true }` (another call is discovering the issuer's metadata: sleep a
/// little, then `next`), `{ verify: { token, issuer, jwksUri, audience,
/// timeoutMs, allowInsecureHttp } }` (verify the ID Token, then
/// `verified`), `{ digest: { algorithm, input } }` (hash, then `digested`),
/// or `{ done: true }`.
fn flow_step_to_js(step: FlowStep<'_>, rule: UrlRule) -> JsValue {
    let out = Object::new();
    match step {
        FlowStep::Send { request, .. } => set(&out, "request", &request_to_js(&request)),
        FlowStep::AwaitDiscovery { .. } => set(&out, "wait", &JsValue::TRUE),
        FlowStep::VerifyIdToken {
            id_token,
            issuer,
            jwks_uri,
            client_id,
            timeout_ms,
        } => {
            let verify = Object::new();
            set(&verify, "token", &JsValue::from_str(id_token));
            set(&verify, "issuer", &JsValue::from_str(issuer));
            set(&verify, "jwksUri", &JsValue::from_str(jwks_uri));
            set(&verify, "audience", &JsValue::from_str(client_id));
            set(
                &verify,
                "timeoutMs",
                &JsValue::from_f64(f64::from(timeout_ms)),
            );
            set(
                &verify,
                "allowInsecureHttp",
                &JsValue::from_bool(rule.allow_insecure_http),
            );
            set(&out, "verify", &verify);
        }
        FlowStep::Digest { algorithm, input } => {
            let digest = Object::new();
            set(&digest, "algorithm", &JsValue::from_str(algorithm));
            set(&digest, "input", &JsValue::from_str(input));
            set(&out, "digest", &digest);
        }
        FlowStep::Done => set(&out, "done", &JsValue::TRUE),
    }
    out.into()
}

/// The issuer metadata cache ([`MetadataCache`]) the JS layer keeps per
/// `fetch` function, and where the calls and handlers that use it are made:
/// their flows look the metadata up there and tell it what their
/// discoveries found. (Made from here rather than given the cache as an
/// argument: one export for the three helpers keeps the boundary lean.)
#[wasm_bindgen]
pub struct DiscoveryCache(Rc<RefCell<MetadataCache>>);

#[wasm_bindgen]
impl DiscoveryCache {
    /// An empty cache.
    #[wasm_bindgen(constructor)]
    pub fn new() -> DiscoveryCache {
        Self(Rc::default())
    }

    /// The core of `createHandoffHandler(options)` (see [`HandoffCore`]).
    pub fn handler(&self, options: &str) -> JsResult<HandoffCore> {
        Ok(HandoffCore::new(options, self)?)
    }

    /// The call of `helper` (`'exchangeCode'`, `'refreshTokens'`, else
    /// `matrixTokenLogin`) with `options` (JSON text).
    pub fn call(&self, helper: &str, options: &str) -> JsResult<Call> {
        Ok(match helper {
            "exchangeCode" => Call::exchange_code(options, self),
            "refreshTokens" => Call::refresh_tokens(options, self),
            _ => Call::matrix_token_login(options),
        }?)
    }
}

/// What a [`Call`] is.
enum Flow {
    /// `exchangeCode`, `refreshTokens`: discovery, the token request, the ID Token.
    Token(Box<TokenFlow>),
    /// `matrixTokenLogin`.
    Matrix(MatrixFlow),
    /// A handoff whose body is still to be read.
    Pending(Rc<HandoffHandler>, PendingHandoff),
    /// A handoff's exchange (a [`TokenFlow`] too), then the browser's answer.
    Handoff(Rc<HandoffHandler>, Box<ExchangeStep>),
    /// A userinfo request.
    UserInfo(Rc<HandoffHandler>, UserInfoStep),
    /// Used up (a handoff's refused body).
    Done,
}

/// One call the JS layer drives, whatever it is ([`Flow`]): one wasm class
/// for every helper keeps the boundary lean (each class costs glue).
///
/// - flows (`exchangeCode`, `refreshTokens`, `matrixTokenLogin`, a
///   handoff's exchange): `next(now)` says what to do, the JS does it and
///   reports with `answer` (or `unreachable`), `verified` or `digested`,
///   until `{ done }`; then `result(now)`;
/// - the handler's calls: `read(body)` (a handoff), `accessToken()` (the
///   token to verify), `finish(claims, now)` or `fail(...)`.
#[wasm_bindgen]
pub struct Call {
    flow: Flow,
    rule: UrlRule,
    /// Where a token flow finds the issuer's metadata (an empty, unused one
    /// for the calls that are no token flow).
    metadata: Rc<RefCell<MetadataCache>>,
}

/// A call freed before its flow finished (its caller aborted, or the
/// runtime dropped the request) leaves a discovery it was making neither
/// failed nor found.
impl Drop for Call {
    fn drop(&mut self) {
        if let Ok((flow, mut cache)) = self.flow_and_cache() {
            flow.abandon(&mut cache);
        }
    }
}

impl Call {
    fn token_flow(&self) -> Result<&TokenFlow> {
        match &self.flow {
            Flow::Token(flow) => Ok(flow),
            Flow::Handoff(_, step) => Ok(&step.flow),
            _ => Err(Error::options(NOT_DONE)),
        }
    }

    fn with_flow(flow: Flow, rule: UrlRule, cache: &DiscoveryCache) -> Self {
        Self {
            flow,
            rule,
            metadata: Rc::clone(&cache.0),
        }
    }

    /// A token flow and the metadata cache it uses.
    fn flow_and_cache(&mut self) -> Result<(&mut TokenFlow, RefMut<'_, MetadataCache>)> {
        // The cache is never in use by another call into the wasm: the JS
        // layer calls in one at a time.
        let cache = self
            .metadata
            .try_borrow_mut()
            .map_err(|_| Error::options(NOT_DONE))?;
        let flow = match &mut self.flow {
            Flow::Token(flow) => flow,
            Flow::Handoff(_, step) => &mut step.flow,
            _ => return Err(Error::options(NOT_DONE)),
        };
        Ok((flow, cache))
    }
}

#[wasm_bindgen]
impl Call {
    /// The flow of `exchangeCode(options)` (options as JSON text), finding
    /// the issuer's metadata in `cache`.
    fn exchange_code(options: &str, cache: &DiscoveryCache) -> Result<Call> {
        let root = parse_options(options, "exchangeCode")?;
        let o = Opts::new(&root, "exchangeCode")?;
        let profile = ProfileFields::read(&o);
        let code = o.string("code").unwrap_or_default();
        let state = o.string("state");
        let code_verifier = o.string("codeVerifier");
        let redirect_uri = o.string("redirectUri");
        let nonce = o.string("nonce");
        let timeout_ms = timeout_ms(&o);
        let rule = url_rule(&o);
        let mut exchange = ExchangeOptions::new(profile.build()?, code);
        exchange.state = state.map(Secret::new);
        exchange.code_verifier = code_verifier.map(Secret::new);
        exchange.redirect_uri = redirect_uri;
        exchange.nonce = nonce.map(Secret::new);
        exchange.timeout_ms = timeout_of(timeout_ms)?;
        exchange.rule = rule;
        let flow = Flow::Token(Box::new(TokenFlow::code(exchange)?));
        Ok(Self::with_flow(flow, rule, cache))
    }

    /// The flow of `refreshTokens(options)` (options as JSON text), finding
    /// the issuer's metadata in `cache`.
    fn refresh_tokens(options: &str, cache: &DiscoveryCache) -> Result<Call> {
        let root = parse_options(options, "refreshTokens")?;
        let o = Opts::new(&root, "refreshTokens")?;
        let fields = ProfileFields::read(&o);
        let (refresh_token, scope) = (o.string("refreshToken"), o.string("scope"));
        let timeout_ms = timeout_ms(&o);
        let rule = url_rule(&o);
        if fields.profile_name() != "oauth2" {
            return Err(Error::options(
                "refreshTokens only supports the \"oauth2\" profile (RFC 6749 §6)",
            ));
        }
        let ExchangeProfile::OAuth2(client) = fields.build()? else {
            return Err(Error::options(NOT_DONE));
        };
        let refresh = RefreshOptions {
            client,
            refresh_token: Secret::new(refresh_token.unwrap_or_default()),
            scope,
            timeout_ms: timeout_of(timeout_ms)?,
            rule,
        };
        let flow = Flow::Token(Box::new(TokenFlow::refresh(refresh)?));
        Ok(Self::with_flow(flow, rule, cache))
    }

    /// The flow of `matrixTokenLogin(options)` (options as JSON text).
    fn matrix_token_login(options: &str) -> Result<Call> {
        let root = parse_options(options, "matrixTokenLogin")?;
        let o = Opts::new(&root, "matrixTokenLogin")?;
        let check_login_flows = o.boolean("checkLoginFlows");
        let homeserver_url = o.string("homeserverUrl");
        let login_token = o.string("loginToken");
        let device_id = o.string("deviceId");
        let display_name = o.string("initialDeviceDisplayName");
        let timeout_ms = timeout_ms(&o);
        let rule = url_rule(&o);
        let homeserver_url =
            homeserver_url.ok_or_else(|| Error::options("homeserverUrl is required"))?;
        let mut options = MatrixLoginOptions::new(homeserver_url, login_token.unwrap_or_default());
        options.device_id = device_id;
        options.initial_device_display_name = display_name;
        options.timeout_ms = timeout_of(timeout_ms)?;
        options.check_login_flows = check_login_flows != Some(false);
        options.rule = rule;
        Ok(Self {
            flow: Flow::Matrix(MatrixFlow::new(options)?),
            rule,
            metadata: Rc::default(),
        })
    }

    /// What to do next at `now` (seconds; see [`flow_step_to_js`]); a
    /// Matrix login: `{ request, what: 'homeserver' }` or `{ done: true }`.
    pub fn next(&mut self, now: f64) -> JsResult<JsValue> {
        if let Flow::Matrix(flow) = &self.flow {
            let out = Object::new();
            match flow.next()? {
                Some(request) => {
                    set(&out, "request", &request_to_js(&request));
                    set(&out, "what", &JsValue::from_str("homeserver"));
                }
                None => set(&out, "done", &JsValue::TRUE),
            }
            return Ok(out.into());
        }
        let rule = self.rule;
        let (flow, mut cache) = self.flow_and_cache()?;
        Ok(flow_step_to_js(flow.next(&mut cache, now_ms(now))?, rule))
    }

    /// The answer to the last `request` (`now` in seconds); throws what it
    /// means when it is an error (for a handoff: pass it to `fail`).
    pub fn answer(&mut self, status: u16, headers: JsValue, body: &[u8], now: f64) -> JsResult<()> {
        let response = http_response(status, headers, body)?;
        if let Flow::Matrix(flow) = &mut self.flow {
            return Ok(flow.answer(&response)?);
        }
        let (flow, mut cache) = self.flow_and_cache()?;
        Ok(flow.answer(&mut cache, &response, now_ms(now))?)
    }

    /// The error to throw (its `cause` set to what the fetch threw) when the
    /// last `request` failed at `now` (seconds) without an answer: at the
    /// network level, or (`timeout_ms` given) past its timeout: the
    /// retryable `network_error` naming the server.
    pub fn unreachable(&mut self, timeout_ms: Option<u32>, now: f64) -> JsValue {
        let what = "homeserver";
        if let Flow::Matrix(_) = self.flow {
            return match timeout_ms {
                Some(ms) => srv::timeout_error(what, ms),
                None => srv::network_error(what),
            }
            .into();
        }
        match self.flow_and_cache() {
            Ok((flow, mut cache)) => {
                flow.unreachable(&mut cache, timeout_ms.is_some(), now_ms(now))
            }
            Err(error) => error,
        }
        .into()
    }

    /// The claims of the ID Token the verifier accepted (JSON text); throws
    /// when the OpenID Connect checks refuse them.
    pub fn verified(&mut self, claims_json: &str) -> JsResult<()> {
        Ok(self.flow_and_cache()?.0.id_token_verified(claims_json)?)
    }

    /// The digest of `{ digest }` (the ID Token's `at_hash` is checked against it).
    pub fn digested(&mut self, digest: &[u8]) -> JsResult<()> {
        Ok(self.flow_and_cache()?.0.digested(digest)?)
    }

    /// Once done, as JSON text: the tokens `{ accessToken, tokenType,
    /// expiresIn, expiresAt, refreshToken, idToken, idTokenClaims, scope,
    /// raw }`, or the Matrix session `{ accessToken, userId, deviceId,
    /// homeServer, homeserverBaseUrl, refreshToken, expiresInMs, expiresAt }`;
    /// `now` in seconds.
    pub fn result(&self, now: f64) -> JsResult<String> {
        let now = now_sec(now);
        if let Flow::Matrix(flow) = &self.flow {
            let session = flow.session().ok_or_else(|| Error::options(NOT_DONE))?;
            return Ok(matrix_json(session, now));
        }
        let flow = self.token_flow()?;
        let tokens = flow.tokens().ok_or_else(|| Error::options(NOT_DONE))?;
        Ok(tokens_json(tokens, flow.id_token_claims(), now))
    }

    /// A handoff: reads its body (at most `maxBodyBytes` + 1 bytes): the
    /// answer when the body is refused (413, 400), `undefined` to go on with
    /// `next()`. Without a body (the client went away before sending it
    /// all): the 400 answer and its level, `{ status, headers, body, level }`.
    pub fn read(&mut self, body: Option<Vec<u8>>) -> JsValue {
        let Flow::Pending(handler, pending) = core::mem::replace(&mut self.flow, Flow::Done) else {
            return JsValue::UNDEFINED;
        };
        let Some(body) = body else {
            return rejection_to_js(&handler.handoff_unreadable(&pending));
        };
        match handler.handoff(pending, &body) {
            HandoffStep::Respond(response) => response_to_js(&response),
            HandoffStep::Exchange(step) => {
                self.flow = Flow::Handoff(handler, step);
                JsValue::UNDEFINED
            }
        }
    }

    /// The handler's token to verify: the exchanged access token once the
    /// flow is done (`malformed` when it is not a JWT), or the userinfo
    /// request's (from `Authorization: Bearer` or the session cookie).
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self) -> JsResult<String> {
        match &self.flow {
            Flow::Handoff(handler, step) => Ok(handler.access_token(step)?.to_owned()),
            Flow::UserInfo(_, step) => Ok(step.token().to_owned()),
            _ => Err(Error::options(NOT_DONE).into()),
        }
    }

    /// The handler's answer once the token verified (`claims_json`, its
    /// claims as JSON text; `now` in seconds); throws when no answer can be
    /// made from them (pass the error to `fail`, as any other failure).
    pub fn finish(&self, claims_json: &str, now: f64) -> JsResult<JsValue> {
        let response = match &self.flow {
            Flow::Handoff(handler, step) => {
                handler.finish_exchange(step, claims_json, now_sec(now))?
            }
            Flow::UserInfo(handler, step) => handler.finish_userinfo(step, claims_json)?,
            _ => return Err(Error::options(NOT_DONE).into()),
        };
        Ok(response_to_js(&response))
    }

    /// The handler's answer when the exchange or the verification failed
    /// (with the failing error's `code`, `retryable`, `status` and `error`):
    /// `{ status, headers, body, level }`.
    pub fn fail(
        &self,
        code: Option<String>,
        retryable: bool,
        status: Option<u16>,
        oauth_error: Option<String>,
    ) -> JsResult<JsValue> {
        let error = error_from_js(code, retryable, status, oauth_error);
        match &self.flow {
            Flow::Handoff(handler, step) => Ok(rejection_to_js(
                &handler.exchange_failed(step, error.as_ref()),
            )),
            Flow::UserInfo(handler, step) => Ok(rejection_to_js(
                &handler.userinfo_failed(step, error.as_ref()),
            )),
            _ => Err(Error::options(NOT_DONE).into()),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors the JS layer reports

/// The typed identity fields of a verified claims object (JSON text):
/// `{ sub, id, email, name, firstName, lastName, username, groups }` as JSON text.
#[wasm_bindgen(js_name = identityFromClaims)]
pub fn identity_from_claims(claims_json: &str) -> JsResult<String> {
    let identity = Identity::from_claims_json(claims_json, IdentitySource::AccessToken, true)
        .ok_or_else(|| Error::options("claims must be a JSON object"))?;
    Ok(identity_json(&identity))
}

/// The crate error a JS error stands for, with its own code (`.code`),
/// `.retryable`, `.status` and `.error`, so the handler maps a rejection of
/// the verifier or of the fetch to its HTTP answer. `None` when the error
/// carries no code of ours (a custom verifier's `TypeError`, a bug): the
/// handler answers 500 for it; no code is ever made up.
fn error_from_js(
    code: Option<String>,
    retryable: bool,
    status: Option<u16>,
    oauth_error: Option<String>,
) -> Option<Error> {
    let code = ErrorCode::ALL
        .iter()
        .copied()
        .find(|known| code.as_deref() == Some(known.name()))?;
    let mut error = Error::new(code, "");
    if let Some(status) = status {
        error = error.with_status(status);
    }
    let mut error = error.retryable(retryable);
    if let Some(oauth_error) = oauth_error {
        error = error.with_oauth(OAuthErrorFields {
            error: oauth_error,
            error_description: None,
            error_uri: None,
        });
    }
    Some(error)
}

/// `{ status, headers, body, level }`: a rejection and how loud it is.
fn rejection_to_js(rejection: &Rejection) -> JsValue {
    let out = response_to_js(&rejection.response);
    let _ = Reflect::set(
        &out,
        &JsValue::from_str("level"),
        &JsValue::from_str(rejection.level.as_str()),
    );
    out
}

// ---------------------------------------------------------------------------
// createHandoffHandler

fn cookie_config(session: &Opts) -> Result<CookieConfig> {
    let defaults = CookieConfig::default();
    let name = session.string("cookie");
    let secure = session.boolean("secure");
    let same_site = session.string("sameSite");
    let path = session.string("path");
    let partitioned = session.boolean("partitioned");
    Ok(CookieConfig {
        name: name.unwrap_or(defaults.name),
        secure: secure.unwrap_or(defaults.secure),
        same_site: match same_site.as_deref() {
            Some(value) => SameSite::parse(value)?,
            None => defaults.same_site,
        },
        path: path.unwrap_or(defaults.path),
        partitioned: partitioned.unwrap_or(defaults.partitioned),
    })
}

/// The validated core of `createHandoffHandler` (see [`HandoffHandler`]).
#[wasm_bindgen]
pub struct HandoffCore {
    handler: Rc<HandoffHandler>,
    /// Where its exchanges find the issuer's metadata.
    metadata: Rc<RefCell<MetadataCache>>,
}

impl HandoffCore {
    /// Validates the handler options (the JS layer has removed `verifier`
    /// and `onError`); its exchanges find the issuer's metadata in `cache`.
    fn new(options: &str, cache: &DiscoveryCache) -> Result<HandoffCore> {
        let what = "createHandoffHandler";
        let root = parse_options(options, what)?;
        let o = Opts::new(&root, what)?;
        let session = o.object("session");
        let profile = ProfileFields::read(&o);
        let redirect_uri = o.string("redirectUri");
        let allowed_origins = o.strings("allowedOrigins").unwrap_or_default();
        let session = session.as_ref().map(cookie_config).transpose()?;
        let max_body_bytes = o.uint("maxBodyBytes");
        let token_path = o.explicit_string("tokenPath");
        let userinfo_path = o.explicit_string("userinfoPath");
        let timeout_ms = timeout_ms(&o);
        let rule = url_rule(&o);
        let cors_max_age_sec = at_most("corsMaxAgeSec", o.uint("corsMaxAgeSec"), 86_400)?;
        let expose_refresh = o.boolean("insecureExposeRefreshToken");
        let profile_name = profile.profile_name().to_owned();
        if profile_name != "oauth2" {
            refuse_misplaced(&profile_name, &[("redirectUri", redirect_uri.is_some())])?;
        }
        let mut config = HandoffConfig::new(profile.build()?, allowed_origins);
        config.redirect_uri = redirect_uri;
        config.session = session;
        if let Some(max) = max_body_bytes {
            config.max_body_bytes = max as usize;
        }
        if let Some(path) = token_path {
            config.token_path = path;
        }
        if let Some(path) = userinfo_path {
            config.userinfo_path = path;
        }
        config.timeout_ms = timeout_of(timeout_ms)?;
        config.rule = rule;
        if let Some(max_age) = cors_max_age_sec {
            config.cors_max_age_sec = max_age as u32;
        }
        config.insecure_expose_refresh_token = expose_refresh.unwrap_or(false);
        Ok(Self {
            handler: Rc::new(HandoffHandler::new(config)?),
            metadata: Rc::clone(&cache.0),
        })
    }
}

#[wasm_bindgen]
impl HandoffCore {
    /// Read at most this many bytes plus one of a request body.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> usize {
        self.handler.max_body_bytes()
    }

    /// Routes one request from its method, path and headers, before its
    /// body is read. Returns `{ response }`, `{ exchange: Call }` (read the
    /// body, then `exchange.read(body)`) or `{ userinfo: Call }`.
    pub fn route(&self, method: &str, path: &str, headers: JsValue) -> JsResult<JsValue> {
        let headers = headers_from_js(headers)?;
        let out = Object::new();
        let handler = Rc::clone(&self.handler);
        let rule = self.handler.config().rule;
        match self.handler.route(method, path, &headers) {
            Route::Respond(response) => set(&out, "response", &response_to_js(&response)),
            Route::ReadHandoff(pending) => set(
                &out,
                "exchange",
                &Call {
                    flow: Flow::Pending(handler, pending),
                    rule,
                    metadata: Rc::clone(&self.metadata),
                }
                .into(),
            ),
            Route::UserInfo(step) => set(
                &out,
                "userinfo",
                &Call {
                    flow: Flow::UserInfo(handler, step),
                    rule,
                    metadata: Rc::default(),
                }
                .into(),
            ),
        }
        Ok(out.into())
    }
}

// ---------------------------------------------------------------------------
// ServiceClientTokenProvider

/// The wasm half of `ServiceClientTokenProvider`: a [`TokenMinter`]; the JS
/// layer imports [`ServiceClientCore::private_key`] into the runtime's
/// crypto, reports the derived public key, and signs what
/// [`ServiceClientCore::mint`] asks for.
#[wasm_bindgen]
pub struct ServiceClientCore {
    minter: TokenMinter,
    /// Tokens `mint` asked the JS layer to sign.
    pending: Vec<UnsignedToken>,
}

/// At most this many tokens wait for their signature at once.
const MAX_PENDING_SIGNATURES: usize = 16;

#[wasm_bindgen]
impl ServiceClientCore {
    /// Parses `{ accessKey, issuerUrl, audience? }` (`invalid_key`, `invalid_options`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> JsResult<ServiceClientCore> {
        let what = "ServiceClientTokenProvider";
        let root = parse_options(options, what)?;
        let o = Opts::new(&root, what)?;
        let (access_key, issuer_url) = (o.string("accessKey"), o.string("issuerUrl"));
        let audience = o.string("audience");
        let rule = url_rule(&o);
        let access_key = access_key
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| Error::options("accessKey is required"))?;
        let issuer_url = issuer_url.ok_or_else(|| Error::options("issuerUrl is required"))?;
        let mut minter = TokenMinter::new(AccessKey::parse(&access_key)?, &issuer_url, rule)?;
        if let Some(audience) = audience {
            minter = minter.with_audience(audience)?;
        }
        Ok(Self {
            minter,
            pending: Vec::new(),
        })
    }

    /// The private key as PKCS#8 DER bytes for the runtime to import
    /// (copied into a JS `Uint8Array`; the wasm copy is wiped); `undefined`
    /// once the public key is known (the key then lives in the runtime's key
    /// object only).
    #[wasm_bindgen(js_name = privateKey)]
    pub fn private_key(&self) -> Option<js_sys::Uint8Array> {
        self.minter
            .private_key_pkcs8()
            .map(|der| js_sys::Uint8Array::from(der.as_slice()))
    }

    /// Records the public key the runtime derived (the JWK's base64url `x`,
    /// and `y` for P-256); `invalid_key` when it is not the key the access
    /// key describes.
    #[wasm_bindgen(js_name = setPublicKey)]
    pub fn set_public_key(&mut self, x: &str, y: Option<String>) -> JsResult<()> {
        let algorithm = self.minter.algorithm();
        let public = PublicKey::from_jwk_members(algorithm, x, y.as_deref()).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidKey,
                "the runtime derived a public key that is not a valid key for the access key's curve",
            )
        })?;
        Ok(self.minter.set_public_key(public)?)
    }

    /// A token valid at `now` (seconds), as JSON text: `{"token"}` (the
    /// cached one), or `{"signingInput"}`: the ASCII JWS signing input
    /// (RFC 7515 §5.1) to sign and pass to [`ServiceClientCore::finish`].
    pub fn mint(&mut self, now: f64) -> JsResult<String> {
        Ok(match self.minter.mint(now_sec(now))? {
            Mint::Cached(token) => JsonBody::new().string("token", &token).finish(),
            Mint::Sign(unsigned) => {
                let text = JsonBody::new()
                    .string("signingInput", unsigned.signing_input())
                    .finish();
                // Concurrent calls sign concurrently: keep the last few (the
                // length check keeps `remove(0)` in bounds).
                if self.pending.len() >= MAX_PENDING_SIGNATURES {
                    self.pending.remove(0);
                }
                self.pending.push(unsigned);
                text
            }
        })
    }

    /// The signed token (cached for later `mint` calls); `signature` is the
    /// raw 64-byte signature over `signing_input` (one `mint` gave).
    pub fn finish(&mut self, signing_input: &str, signature: &[u8]) -> JsResult<String> {
        let at = self
            .pending
            .iter()
            .position(|unsigned| unsigned.signing_input() == signing_input)
            .ok_or_else(|| Error::options(NOT_DONE))?;
        let unsigned = self.pending.remove(at);
        Ok(self.minter.finish(unsigned, signature)?)
    }

    /// The client id (`sub`).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.minter.client_id().to_owned()
    }

    /// The `kid` of minted tokens; `undefined` while it waits for the public
    /// key (a key that names none gets its RFC 7638 thumbprint).
    #[wasm_bindgen(getter, js_name = keyId)]
    pub fn key_id(&self) -> Option<String> {
        self.minter.key_id().map(str::to_owned)
    }

    /// The `iss` claim.
    #[wasm_bindgen(getter)]
    pub fn issuer(&self) -> String {
        self.minter.issuer().to_owned()
    }

    /// The `aud` claim.
    #[wasm_bindgen(getter)]
    pub fn audience(&self) -> String {
        self.minter.audience().to_owned()
    }

    /// `EdDSA` or `ES256`.
    #[wasm_bindgen(getter)]
    pub fn algorithm(&self) -> String {
        self.minter.algorithm().name().to_owned()
    }

    /// The public JWK as JSON text; `undefined` until the public key is known.
    #[wasm_bindgen(js_name = publicJwk)]
    pub fn public_jwk(&self) -> Option<String> {
        self.minter.public_jwk()
    }
}
