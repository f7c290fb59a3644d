//! The wasm half of `extension-sso/server`.
//!
//! Everything that decides lives in [`crate::server`]; this facade converts
//! options (JSON text from the JS layer, read strictly: unknown keys and
//! wrong types are `invalid_options`), request
//! descriptions (`{ method, url, headers: [[name, value]…], body, timeoutMs,
//! maxResponseBytes }`) and responses (`status, [[name, value]…], bytes`).
//! The JS layer (`pkg-template/lib/server.js`) performs the `fetch`, the
//! timeout, the body cap and the token verification.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::options::{self, Opts};
use crate::json::Value;

use crate::server::{
    self as srv, ClientAuth, CookieConfig, ExchangeOptions, ExchangeProfile, ExchangeStep,
    HandlerStep, HandoffConfig, HandoffHandler, HttpRequest, HttpResponse, HttpResponseOut,
    Identity, IdentitySource, MatrixLoginOptions, MatrixSession, OAuth2Client, RefreshOptions,
    SameSite, Secret, TokenSet, UserInfoStep, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES,
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

fn opt_num(value: Option<u64>) -> JsValue {
    value.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64))
}

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

fn parse_json_or_null(text: &str) -> JsValue {
    if text.is_empty() {
        return JsValue::NULL;
    }
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

fn now_sec(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// `{ accessToken, tokenType, expiresIn, expiresAt, refreshToken, idToken,
/// scope, raw }`; absent values are `null`; `expiresAt` is in seconds since
/// the epoch (from `expires_in` and the time the response arrived, or the
/// host's absolute `expiresAt`).
fn tokens_to_js(tokens: &TokenSet, now: u64) -> JsValue {
    let out = Object::new();
    let expires_at = tokens
        .expires_in
        .map(|s| now.saturating_add(s))
        .or(tokens.expires_at);
    set(
        &out,
        "accessToken",
        &JsValue::from_str(&tokens.access_token),
    );
    set(&out, "tokenType", &opt_str(tokens.token_type.as_deref()));
    set(&out, "expiresIn", &opt_num(tokens.expires_in));
    set(&out, "expiresAt", &opt_num(expires_at));
    set(
        &out,
        "refreshToken",
        &opt_str(tokens.refresh_token.as_deref()),
    );
    set(&out, "idToken", &opt_str(tokens.id_token.as_deref()));
    set(&out, "scope", &opt_str(tokens.scope.as_deref()));
    set(&out, "raw", &parse_json_or_null(&tokens.raw_json));
    out.into()
}

/// `{ accessToken, userId, deviceId, homeServer, homeserverBaseUrl,
/// refreshToken, expiresInMs, expiresAt }`.
fn matrix_to_js(session: &MatrixSession, now: u64) -> JsValue {
    let out = Object::new();
    set(
        &out,
        "accessToken",
        &JsValue::from_str(&session.access_token),
    );
    set(&out, "userId", &JsValue::from_str(&session.user_id));
    set(&out, "deviceId", &JsValue::from_str(&session.device_id));
    set(&out, "homeServer", &opt_str(session.home_server.as_deref()));
    set(
        &out,
        "homeserverBaseUrl",
        &opt_str(session.homeserver_base_url.as_deref()),
    );
    set(
        &out,
        "refreshToken",
        &opt_str(session.refresh_token.as_deref()),
    );
    set(&out, "expiresInMs", &opt_num(session.expires_in_ms));
    set(
        &out,
        "expiresAt",
        &opt_num(
            session
                .expires_in_ms
                .map(|ms| now.saturating_add(ms / 1000)),
        ),
    );
    out.into()
}

fn identity_to_js(identity: &Identity) -> JsValue {
    let out = Object::new();
    let id = identity.id();
    let fields = [
        ("sub", identity.sub()),
        ("id", id.as_deref()),
        ("email", identity.email()),
        ("name", identity.name()),
        ("firstName", identity.first_name()),
        ("lastName", identity.last_name()),
        ("username", identity.username()),
    ];
    for (name, value) in fields {
        set(&out, name, &opt_str(value));
    }
    let groups: Array = identity
        .groups()
        .into_iter()
        .map(JsValue::from_str)
        .collect();
    set(&out, "groups", &groups);
    out.into()
}

/// Reads the options object `json` of `what` (`JSON.stringify` of the
/// options in the JS layer) and refuses keys other than `allowed`, so a typo
/// such as `tokenEndpont` fails loudly.
fn parse_options(json: &str, what: &str) -> Result<Value> {
    options::parse(json, what)
}

fn timeout_ms(o: &Opts) -> Option<u32> {
    o.uint("timeoutMs", u64::from(u32::MAX)).map(|ms| ms as u32)
}

fn timeout_of(timeout_ms: Option<u32>) -> Result<u32> {
    match timeout_ms {
        None => Ok(DEFAULT_TIMEOUT_MS),
        Some(0) => Err(Error::options(
            "timeoutMs must be a positive number of milliseconds",
        )),
        Some(ms) if ms > 300_000 => Err(Error::options(
            "timeoutMs must be at most 300000 (5 minutes)",
        )),
        Some(ms) => Ok(ms),
    }
}

// ---------------------------------------------------------------------------
// exchangeCode / refreshTokens

/// The exchange settings shared by `exchangeCode` and `createHandoffHandler`.
struct ProfileFields {
    profile: Option<String>,
    token_endpoint: Option<String>,
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
            ("clientId", self.client_id.is_some()),
            ("clientSecret", self.client_secret.is_some()),
            ("clientAuth", self.client_auth.is_some()),
        ];
        let reject = |fields: &[(&str, bool)]| -> Result<()> {
            match fields.iter().find(|(_, present)| *present) {
                Some((field, _)) => Err(Error::options(format!(
                    "{field} is not used by the \"{name}\" profile; remove it or pick another profile"
                ))),
                None => Ok(()),
            }
        };
        match name.as_str() {
            "oauth2" => {
                reject(&[
                    ("consoleUrl", self.console_url.is_some()),
                    ("authServiceUrl", self.auth_service_url.is_some()),
                ])?;
                let token_endpoint = self.token_endpoint.ok_or_else(|| {
                    Error::options("tokenEndpoint is required by the \"oauth2\" profile")
                })?;
                let client_auth = match self.client_auth.as_deref() {
                    Some(auth) => ClientAuth::parse(auth)?,
                    None => ClientAuth::ClientSecretBasic,
                };
                Ok(ExchangeProfile::OAuth2(OAuth2Client {
                    token_endpoint,
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

const EXCHANGE_CODE_OPTIONS: &[&str] = &[
    "profile",
    "tokenEndpoint",
    "clientId",
    "clientSecret",
    "clientAuth",
    "consoleUrl",
    "authServiceUrl",
    "code",
    "state",
    "codeVerifier",
    "redirectUri",
    "timeoutMs",
];

fn profile_placeholder(name: &str) -> Result<ExchangeProfile> {
    // Only the variant matters to the response parser.
    match name {
        "oauth2" => Ok(ExchangeProfile::OAuth2(OAuth2Client {
            token_endpoint: String::new(),
            client_id: String::new(),
            client_secret: None,
            client_auth: ClientAuth::None,
        })),
        "mia-console" => Ok(ExchangeProfile::MiaConsole {
            console_url: String::new(),
        }),
        "mia-auth-service" => Ok(ExchangeProfile::MiaAuthService {
            auth_service_url: String::new(),
        }),
        _ => Err(Error::options(
            "profile must be \"oauth2\", \"mia-console\" or \"mia-auth-service\"",
        )),
    }
}

/// Builds the code-exchange request from the `exchangeCode` options.
#[wasm_bindgen(js_name = exchangeCodeRequest)]
pub fn exchange_code_request(options: &str) -> JsResult<JsValue> {
    let root = parse_options(options, "exchangeCode")?;
    let o = Opts::new(&root, "exchangeCode")?;
    o.only(EXCHANGE_CODE_OPTIONS)?;
    let profile = ProfileFields::read(&o);
    let code = o.string("code").unwrap_or_default();
    let state = o.string("state");
    let code_verifier = o.string("codeVerifier");
    let redirect_uri = o.string("redirectUri");
    let timeout_ms = timeout_ms(&o);
    o.done()?;
    let mut exchange = ExchangeOptions::new(profile.build()?, code);
    exchange.state = state.map(Secret::new);
    exchange.code_verifier = code_verifier.map(Secret::new);
    exchange.redirect_uri = redirect_uri;
    exchange.timeout_ms = timeout_of(timeout_ms)?;
    Ok(request_to_js(&srv::exchange_code_request(&exchange)?))
}

/// Parses the answer to [`exchange_code_request`] for `profile`
/// (`oauth2` when undefined); `now` is in seconds.
#[wasm_bindgen(js_name = parseExchangeResponse)]
pub fn parse_exchange_response(
    profile: Option<String>,
    status: u16,
    headers: JsValue,
    body: &[u8],
    now: f64,
) -> JsResult<JsValue> {
    let profile = profile_placeholder(profile.as_deref().unwrap_or("oauth2"))?;
    let response = http_response(status, headers, body)?;
    let tokens = srv::parse_exchange_response(&profile, &response)?;
    Ok(tokens_to_js(&tokens, now_sec(now)))
}

const REFRESH_TOKENS_OPTIONS: &[&str] = &[
    "profile",
    "tokenEndpoint",
    "clientId",
    "clientSecret",
    "clientAuth",
    "refreshToken",
    "scope",
    "timeoutMs",
];

/// Builds the refresh request from the `refreshTokens` options.
#[wasm_bindgen(js_name = refreshRequest)]
pub fn refresh_request(options: &str) -> JsResult<JsValue> {
    let root = parse_options(options, "refreshTokens")?;
    let o = Opts::new(&root, "refreshTokens")?;
    o.only(REFRESH_TOKENS_OPTIONS)?;
    let opts = ProfileFields::read(&o);
    let (refresh_token, scope) = (o.string("refreshToken"), o.string("scope"));
    let timeout_ms = timeout_ms(&o);
    o.done()?;
    if opts.profile.as_deref().is_some_and(|p| p != "oauth2") {
        return Err(Error::options(
            "refreshTokens only supports the \"oauth2\" profile (RFC 6749 §6)",
        )
        .into());
    }
    let client_auth = match opts.client_auth.as_deref() {
        Some(auth) => ClientAuth::parse(auth)?,
        None => ClientAuth::ClientSecretBasic,
    };
    let refresh = RefreshOptions {
        client: OAuth2Client {
            token_endpoint: opts
                .token_endpoint
                .ok_or_else(|| Error::options("tokenEndpoint is required"))?,
            client_id: opts.client_id.unwrap_or_default(),
            client_secret: opts.client_secret.map(Secret::new),
            client_auth,
        },
        refresh_token: Secret::new(refresh_token.unwrap_or_default()),
        scope,
        timeout_ms: timeout_of(timeout_ms)?,
    };
    Ok(request_to_js(&srv::refresh_request(&refresh)?))
}

/// Parses a token endpoint response (RFC 6749 §5.1 / §5.2); `now` in seconds.
#[wasm_bindgen(js_name = parseTokenResponse)]
pub fn parse_token_response(
    status: u16,
    headers: JsValue,
    body: &[u8],
    now: f64,
) -> JsResult<JsValue> {
    let response = http_response(status, headers, body)?;
    let tokens = srv::parse_token_response(&response)?;
    Ok(tokens_to_js(&tokens, now_sec(now)))
}

// ---------------------------------------------------------------------------
// matrixTokenLogin

/// `checkLoginFlows` is read by the JS layer; accepted here so it is not "unknown".
const MATRIX_OPTIONS: &[&str] = &[
    "homeserverUrl",
    "loginToken",
    "deviceId",
    "initialDeviceDisplayName",
    "timeoutMs",
    "checkLoginFlows",
];

fn matrix_options(options: &str) -> Result<MatrixLoginOptions> {
    let root = parse_options(options, "matrixTokenLogin")?;
    let o = Opts::new(&root, "matrixTokenLogin")?;
    o.only(MATRIX_OPTIONS)?;
    o.boolean("checkLoginFlows");
    let homeserver_url = o.string("homeserverUrl");
    let login_token = o.string("loginToken");
    let device_id = o.string("deviceId");
    let display_name = o.string("initialDeviceDisplayName");
    let timeout_ms = timeout_ms(&o);
    o.done()?;
    let homeserver_url =
        homeserver_url.ok_or_else(|| Error::options("homeserverUrl is required"))?;
    let mut out = MatrixLoginOptions::new(homeserver_url, login_token.unwrap_or_default());
    out.device_id = device_id;
    out.initial_device_display_name = display_name;
    out.timeout_ms = timeout_of(timeout_ms)?;
    Ok(out)
}

/// `GET /_matrix/client/v3/login` for the `matrixTokenLogin` options.
#[wasm_bindgen(js_name = matrixLoginFlowsRequest)]
pub fn matrix_login_flows_request(options: &str) -> JsResult<JsValue> {
    let opts = matrix_options(options)?;
    let mut request = srv::matrix_login_flows_request(&opts.homeserver_url)?;
    request.timeout_ms = opts.timeout_ms;
    Ok(request_to_js(&request))
}

/// Throws `unsupported` unless the flows include `m.login.token`.
#[wasm_bindgen(js_name = checkLoginFlows)]
pub fn check_login_flows(status: u16, headers: JsValue, body: &[u8]) -> JsResult<()> {
    Ok(srv::check_login_flows(&http_response(
        status, headers, body,
    )?)?)
}

/// `POST /_matrix/client/v3/login` with `m.login.token`.
#[wasm_bindgen(js_name = matrixTokenLoginRequest)]
pub fn matrix_token_login_request(options: &str) -> JsResult<JsValue> {
    let opts = matrix_options(options)?;
    Ok(request_to_js(&srv::matrix_token_login_request(&opts)?))
}

/// Parses the Matrix login response; `now` in seconds.
#[wasm_bindgen(js_name = parseMatrixLogin)]
pub fn parse_matrix_login(
    status: u16,
    headers: JsValue,
    body: &[u8],
    now: f64,
) -> JsResult<JsValue> {
    let session = srv::parse_matrix_login(&http_response(status, headers, body)?)?;
    Ok(matrix_to_js(&session, now_sec(now)))
}

// ---------------------------------------------------------------------------
// Errors the JS layer reports

/// The retryable `network_error` for a request to `what` that failed at the
/// network level.
#[wasm_bindgen(js_name = networkError)]
pub fn network_error(what: &str) -> JsValue {
    srv::network_error(what).into()
}

/// The retryable `network_error` for a request to `what` that ran past `timeout_ms`.
#[wasm_bindgen(js_name = timeoutError)]
pub fn timeout_error(what: &str, timeout_ms: u32) -> JsValue {
    srv::timeout_error(what, timeout_ms).into()
}

/// The typed identity fields of a verified claims object (JSON text):
/// `{ sub, id, email, name, firstName, lastName, username, groups }`.
#[wasm_bindgen(js_name = identityFromClaims)]
pub fn identity_from_claims(claims_json: &str) -> JsResult<JsValue> {
    let identity = Identity::from_claims_json(claims_json, IdentitySource::AccessToken, true)
        .ok_or_else(|| Error::options("claims must be a JSON object"))?;
    Ok(identity_to_js(&identity))
}

/// Rebuilds a crate error from what a JS error carried (`.code`,
/// `.retryable`, `.status`, `.error`), so the handler can map a rejection
/// from the verifier or the fetch to its HTTP answer. Unknown or missing
/// codes map to a 500 answer.
fn error_from_js(
    code: Option<String>,
    retryable: bool,
    status: Option<u16>,
    oauth_error: Option<String>,
) -> Error {
    let code = code
        .and_then(|c| ErrorCode::ALL.iter().copied().find(|k| k.as_str() == c))
        // No "internal" code exists; invalid_options answers 500 server_error.
        .unwrap_or(ErrorCode::InvalidOptions);
    let mut error = Error::new(code, "").retryable(retryable);
    if let Some(status) = status {
        error = error.with_status(status).retryable(retryable);
    }
    if let Some(oauth_error) = oauth_error {
        error = error.with_oauth(OAuthErrorFields {
            error: oauth_error,
            error_description: None,
            error_uri: None,
        });
    }
    error
}

// ---------------------------------------------------------------------------
// createHandoffHandler

const SESSION_OPTIONS: &[&str] = &["cookie", "secure", "sameSite", "path", "partitioned"];

const HANDLER_OPTIONS: &[&str] = &[
    "profile",
    "tokenEndpoint",
    "clientId",
    "clientSecret",
    "clientAuth",
    "consoleUrl",
    "authServiceUrl",
    "redirectUri",
    "allowedOrigins",
    "session",
    "maxBodyBytes",
    "tokenPath",
    "userinfoPath",
    "timeoutMs",
    "corsMaxAgeSec",
    "insecureExposeRefreshToken",
];

fn cookie_config(session: &Opts) -> Result<CookieConfig> {
    let defaults = CookieConfig::default();
    let name = session.string("cookie");
    let secure = session.boolean("secure");
    let same_site = session.string("sameSite");
    let path = session.string("path");
    let partitioned = session.boolean("partitioned");
    session.done()?;
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
}

#[wasm_bindgen]
impl HandoffCore {
    /// Validates the handler options (the JS layer has removed `verifier`
    /// and `onError`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> JsResult<HandoffCore> {
        let what = "createHandoffHandler";
        let root = parse_options(options, what)?;
        let o = Opts::new(&root, what)?;
        let session = o.object("session", "createHandoffHandler session")?;
        if let Some(session) = &session {
            session.only(SESSION_OPTIONS)?;
        }
        o.only(HANDLER_OPTIONS)?;
        let profile = ProfileFields::read(&o);
        let redirect_uri = o.string("redirectUri");
        let allowed_origins = o.strings("allowedOrigins").unwrap_or_default();
        let session = session.as_ref().map(cookie_config).transpose()?;
        let max_body_bytes = o.uint("maxBodyBytes", u64::from(u32::MAX));
        let token_path = o.explicit_string("tokenPath");
        let userinfo_path = o.explicit_string("userinfoPath");
        let timeout_ms = timeout_ms(&o);
        let cors_max_age_sec = o.uint("corsMaxAgeSec", u64::from(u32::MAX));
        let expose_refresh = o.boolean("insecureExposeRefreshToken");
        o.done()?;
        let profile_name = profile.profile_name().to_owned();
        if profile_name != "oauth2" && redirect_uri.is_some() {
            return Err(Error::options(format!(
                "redirectUri is not used by the \"{profile_name}\" profile; remove it"
            ))
            .into());
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
        if let Some(max_age) = cors_max_age_sec {
            config.cors_max_age_sec = max_age as u32;
        }
        config.insecure_expose_refresh_token = expose_refresh.unwrap_or(false);
        Ok(Self {
            handler: Rc::new(HandoffHandler::new(config)?),
        })
    }

    /// Read at most this many bytes plus one of a request body.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> usize {
        self.handler.max_body_bytes()
    }

    /// Routes one request. Returns `{ response }`, `{ exchange: ExchangeCall }`
    /// or `{ userinfo: UserInfoCall }`.
    pub fn route(
        &self,
        method: &str,
        path: &str,
        headers: JsValue,
        body: &[u8],
    ) -> JsResult<JsValue> {
        let headers = headers_from_js(headers)?;
        let out = Object::new();
        match self.handler.route(method, path, &headers, body) {
            HandlerStep::Respond(response) => set(&out, "response", &response_to_js(&response)),
            HandlerStep::Exchange(step) => set(
                &out,
                "exchange",
                &ExchangeCall {
                    handler: Rc::clone(&self.handler),
                    step,
                    tokens: None,
                }
                .into(),
            ),
            HandlerStep::UserInfo(step) => set(
                &out,
                "userinfo",
                &UserInfoCall {
                    handler: Rc::clone(&self.handler),
                    step,
                }
                .into(),
            ),
        }
        Ok(out.into())
    }
}

/// One pending handoff: send [`ExchangeCall::request`], hand the answer to
/// `onResponse`, verify the returned access token, then `finish` (or `fail`).
#[wasm_bindgen]
pub struct ExchangeCall {
    handler: Rc<HandoffHandler>,
    step: ExchangeStep,
    tokens: Option<TokenSet>,
}

#[wasm_bindgen]
impl ExchangeCall {
    /// The request to send to the host.
    pub fn request(&self) -> JsValue {
        request_to_js(&self.step.request)
    }

    /// Parses the host's answer and returns the access token to verify;
    /// throws the exchange error (pass it to `fail`).
    #[wasm_bindgen(js_name = onResponse)]
    pub fn on_response(&mut self, status: u16, headers: JsValue, body: &[u8]) -> JsResult<String> {
        let response = http_response(status, headers, body)?;
        let tokens = self.handler.parse_exchange(&response)?;
        let access_token = tokens.access_token.clone();
        self.tokens = Some(tokens);
        Ok(access_token)
    }

    /// The answer for the browser once the access token verified;
    /// `claims_json` is its claims as JSON text, `now` in seconds.
    pub fn finish(&self, claims_json: &str, now: f64) -> JsValue {
        let response = match &self.tokens {
            Some(tokens) => {
                self.handler
                    .finish_exchange(&self.step, tokens, claims_json, now_sec(now))
            }
            None => self.handler.exchange_failed(
                &self.step,
                &Error::options("finish() called before onResponse()"),
            ),
        };
        response_to_js(&response)
    }

    /// The answer for the browser when the exchange or verification failed
    /// (with the failing error's `code`, `retryable`, `status` and `error`).
    pub fn fail(
        &self,
        code: Option<String>,
        retryable: bool,
        status: Option<u16>,
        oauth_error: Option<String>,
    ) -> JsValue {
        let error = error_from_js(code, retryable, status, oauth_error);
        response_to_js(&self.handler.exchange_failed(&self.step, &error))
    }
}

/// One pending userinfo request: verify `token()`, then `finish` (or `fail`).
#[wasm_bindgen]
pub struct UserInfoCall {
    handler: Rc<HandoffHandler>,
    step: UserInfoStep,
}

#[wasm_bindgen]
impl UserInfoCall {
    /// The access token to verify (from `Authorization: Bearer` or the session cookie).
    pub fn token(&self) -> String {
        self.step.token().to_owned()
    }

    /// The answer with the verified claims (JSON text).
    pub fn finish(&self, claims_json: &str) -> JsValue {
        response_to_js(&self.handler.finish_userinfo(&self.step, claims_json))
    }

    /// The answer when verification failed.
    pub fn fail(&self, code: Option<String>, retryable: bool, status: Option<u16>) -> JsValue {
        let error = error_from_js(code, retryable, status, None);
        response_to_js(&self.handler.userinfo_failed(&self.step, &error))
    }
}

// ---------------------------------------------------------------------------
// ServiceClientTokenProvider

const SERVICE_CLIENT_OPTIONS: &[&str] = &["accessKey", "issuerUrl", "audience"];

/// The wasm half of `ServiceClientTokenProvider` (seed 001).
#[wasm_bindgen]
pub struct ServiceClientCore {
    inner: srv::ServiceClientTokenProvider,
}

#[wasm_bindgen]
impl ServiceClientCore {
    /// Parses `{ accessKey, issuerUrl, audience? }` (`invalid_key`, `invalid_options`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> JsResult<ServiceClientCore> {
        let what = "ServiceClientTokenProvider";
        let root = parse_options(options, what)?;
        let o = Opts::new(&root, what)?;
        o.only(SERVICE_CLIENT_OPTIONS)?;
        let (access_key, issuer_url) = (o.string("accessKey"), o.string("issuerUrl"));
        let audience = o.string("audience");
        o.done()?;
        let access_key = access_key
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| Error::options("accessKey is required"))?;
        let issuer_url = issuer_url.ok_or_else(|| Error::options("issuerUrl is required"))?;
        let mut inner = srv::ServiceClientTokenProvider::new(&access_key, &issuer_url)?;
        if let Some(audience) = audience {
            inner = inner.with_audience(audience)?;
        }
        Ok(Self { inner })
    }

    /// A token valid at `now` (seconds): the cached one, or a new one.
    #[wasm_bindgen(js_name = getToken)]
    pub fn get_token(&mut self, now: f64) -> JsResult<String> {
        Ok(self.inner.get_token(now_sec(now))?)
    }

    /// `exp` of the cached token, if any.
    #[wasm_bindgen(getter, js_name = cachedExpiresAt)]
    pub fn cached_expires_at(&self) -> Option<f64> {
        self.inner.cached_expires_at().map(|t| t as f64)
    }

    /// The client id (`sub`).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.inner.client_id().to_owned()
    }

    /// The `kid` of minted tokens.
    #[wasm_bindgen(getter, js_name = keyId)]
    pub fn key_id(&self) -> String {
        self.inner.key_id().to_owned()
    }

    /// The `iss` claim.
    #[wasm_bindgen(getter)]
    pub fn issuer(&self) -> String {
        self.inner.issuer().to_owned()
    }

    /// The `aud` claim.
    #[wasm_bindgen(getter)]
    pub fn audience(&self) -> String {
        self.inner.audience().to_owned()
    }

    /// `EdDSA` or `ES256`.
    #[wasm_bindgen(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().to_owned()
    }

    /// The public JWK as JSON text.
    #[wasm_bindgen(js_name = publicJwk)]
    pub fn public_jwk(&self) -> String {
        self.inner.public_jwk()
    }
}
