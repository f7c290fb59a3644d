//! The client's options: what each one means, decided here once.
//!
//! The JS layer checks option names and types (`readOptions`) and hands the
//! options object over as JSON; [`Config::read`] decides what the values
//! mean, with a message that names the option (by its JavaScript name) and
//! says what to fix:
//! - which profile, and the options each profile requires or does not take
//!   (an option of another profile is refused: it would be ignored);
//! - every URL by the URL rule ([`UrlRule::STRICT`]: absolute `https`, or
//!   `http` on a loopback host; RFC 9700 §2.6, RFC 8252 §7.3); base URLs
//!   and `issuer` without a query (RFC 8414 §2); `hostOrigin` an exact
//!   origin, never `*`;
//! - identifiers without control characters, and not `.` or `..` where they
//!   become a path segment; `scope` as RFC 6749 §3.3 scope tokens;
//!   `extraParams` without the parameters the client sets itself;
//! - the ranges of `stateTtlSec` and `timeoutMs`, the values of
//!   `navigation` and `issPolicy`, and the combinations that cannot work
//!   (a public client without PKCE, `top` without `hostOrigin`, ...).
//!
//! The options are kept as the object they came in (one table of rules
//! reads them all): a typed field per option, read, cloned and dropped one
//! by one, cost the client wasm about 18 kB.

use crate::json::{Object, Value};
use crate::prelude::*;
use crate::protocol::discovery::ServerMetadata;
use crate::protocol::url::{parse_authority, split, trim_trailing_slashes, UrlRule, MAX_URL_LEN};
use crate::{Error, ErrorCode, Result};

/// Default lifetime of a pending flow, in seconds.
pub const DEFAULT_STATE_TTL_SEC: u64 = 600;
/// Smallest accepted `stateTtlSec`.
pub const MIN_STATE_TTL_SEC: u64 = 30;
/// Largest accepted `stateTtlSec`.
pub const MAX_STATE_TTL_SEC: u64 = 3600;
/// Default `timeoutMs`: how long one request may take.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Largest accepted `timeoutMs` (one minute, as the verifier's).
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Longest identifier (client id, tenant id, ...) accepted, in bytes.
const MAX_ID_LEN: usize = 256;

/// Authorization request parameters the client sets itself; `extraParams`
/// may not override them (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
pub const RESERVED_AUTHORIZATION_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
    "nonce",
];

/// The login flow (`profile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// `oauth2`: any OAuth 2.0 / OpenID Connect server, code flow with PKCE.
    OAuth2,
    /// `mia-console`: the Mia-Platform Console as authorization server.
    MiaConsole,
    /// `matrix`: Matrix SSO, then token login.
    Matrix,
    /// `mia-auth-service`: the Mia-Platform Authentication Service.
    MiaAuthService,
}

impl ProfileKind {
    const ALL: [Self; 4] = [
        Self::OAuth2,
        Self::MiaConsole,
        Self::Matrix,
        Self::MiaAuthService,
    ];

    /// The JavaScript name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OAuth2 => "oauth2",
            Self::MiaConsole => "mia-console",
            Self::Matrix => "matrix",
            Self::MiaAuthService => "mia-auth-service",
        }
    }

    /// Parses the JavaScript name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// True when the flow is bound by the OAuth `state` parameter; false
    /// when by our nonce in the return URL (Matrix, auth service).
    pub const fn uses_oauth_state(self) -> bool {
        matches!(self, Self::OAuth2 | Self::MiaConsole)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// How the browser gets to the authorization server (`navigation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Navigation {
    /// `'self'` (default): assign the current frame.
    SelfFrame,
    /// `'top'`: ask the embedding host page to navigate the top level.
    Top,
    /// `'popup'`: a popup; the flow stays in this page's memory.
    Popup,
}

/// RFC 9207 issuer identification of the callback (`issPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssPolicy {
    /// `'require'`: the callback must carry `iss` equal to `issuer`.
    Require,
    /// `'if-present'` (default): when the callback carries `iss` and an
    /// `issuer` is configured, they must be equal.
    IfPresent,
    /// `'off'`: `iss` is ignored. Only for servers that send a wrong `iss`.
    Off,
}

/// What an option's value must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A string read elsewhere (`profile`, `navigation`, `issPolicy`).
    Text,
    /// An endpoint by the URL rule (a query is kept).
    Url,
    /// A base URL: the URL rule, no query.
    Base,
    /// `issuer`: the URL rule, no query.
    Issuer,
    /// An identifier sent as a query value.
    Id,
    /// An identifier used as a path segment.
    PathId,
    /// Space-separated scope tokens.
    Scope,
    /// An exact origin.
    Origin,
    /// A path on the page's origin, or an endpoint.
    PathOrUrl,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Uint,
    /// An object of string parameters.
    Params,
}

const O: u8 = ProfileKind::OAuth2.bit();
const C: u8 = ProfileKind::MiaConsole.bit();
const M: u8 = ProfileKind::Matrix.bit();
const A: u8 = ProfileKind::MiaAuthService.bit();
const ALL: u8 = O | C | M | A;

/// Every option: its name, the profiles it belongs to, its rule.
const OPTIONS: &[(&str, u8, Rule)] = &[
    ("profile", ALL, Rule::Text),
    ("authorizationEndpoint", O, Rule::Url),
    ("clientId", O, Rule::Id),
    ("redirectUri", O | M, Rule::Url),
    ("scope", O, Rule::Scope),
    ("issuer", O, Rule::Issuer),
    ("usePkce", O, Rule::Bool),
    ("tokenEndpoint", O, Rule::Url),
    ("extraParams", O, Rule::Params),
    ("consoleUrl", C, Rule::Base),
    ("tenantId", C, Rule::PathId),
    ("extensionId", C, Rule::PathId),
    ("homeserverUrl", M, Rule::Base),
    ("idpId", M, Rule::PathId),
    ("authServiceUrl", A, Rule::Base),
    ("appId", A, Rule::Id),
    ("providerId", A, Rule::Id),
    ("redirect", A, Rule::PathOrUrl),
    ("tokenHandoffUrl", ALL, Rule::PathOrUrl),
    ("navigation", ALL, Rule::Text),
    ("stateTtlSec", ALL, Rule::Uint),
    ("issPolicy", ALL, Rule::Text),
    ("hostOrigin", ALL, Rule::Origin),
    ("cookieSession", ALL, Rule::Bool),
    ("persistSession", ALL, Rule::Bool),
    ("timeoutMs", ALL, Rule::Uint),
];

/// What each profile requires, in the order messages name them.
/// (`authorizationEndpoint` too, unless `issuer` names where to discover it.)
const REQUIRED: &[(u8, &str)] = &[
    (O, "clientId"),
    (O | M, "redirectUri"),
    (C, "consoleUrl"),
    (C, "tenantId"),
    (C, "extensionId"),
    (M, "homeserverUrl"),
    (A, "authServiceUrl"),
    (A, "appId"),
    (A, "providerId"),
    (A, "redirect"),
];

/// A validated configuration (`new ExtensionClient({...})`).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    options: Object,
    /// `profile`.
    pub kind: ProfileKind,
    /// `navigation` (default `'self'`).
    pub navigation: Navigation,
    /// `issPolicy` (default `'if-present'`).
    pub iss_policy: IssPolicy,
    /// `stateTtlSec` (default 600): how long a pending flow stays valid.
    pub state_ttl_sec: u64,
    /// `timeoutMs` (default 10000): how long each request may take.
    pub timeout_ms: u64,
    /// `usePkce` (default true).
    pub use_pkce: bool,
    /// `cookieSession` (default false): accept a handoff answer without
    /// `access_token` (the backend keeps the session in a cookie).
    pub cookie_session: bool,
    /// `persistSession` (default false): keep the session in `sessionStorage`.
    pub persist_session: bool,
    /// What discovery from `issuer` found, once done.
    pub discovered: Option<Discovered>,
}

/// The endpoints an `oauth2` client took from its issuer's metadata
/// (OpenID Connect Discovery 1.0 / RFC 8414), where it has none configured:
/// explicit options always win.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// `authorization_endpoint`, when `authorizationEndpoint` is not set.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`, for a public client without `tokenEndpoint`.
    pub token_endpoint: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3): the
    /// server puts `iss` in every authorization response, so (unless
    /// `issPolicy` says otherwise) a callback without it is refused.
    pub sends_iss: bool,
}

fn invalid(message: String) -> Error {
    Error::options(message)
}

fn wrong(name: &str, kind: &str) -> Error {
    invalid(msg!(
        "invalid ExtensionClient options: ",
        name,
        " must be ",
        kind
    ))
}

/// An identifier sent as a query value: non-empty, bounded, no control characters.
fn check_id(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(invalid(msg!(
            name,
            " must be a non-empty string of at most ",
            MAX_ID_LEN,
            " bytes without control characters"
        )));
    }
    Ok(())
}

/// The URL rule, and no query (`issuer`, base URLs).
fn check_no_query(name: &str, value: &str, what: &str) -> Result<()> {
    UrlRule::STRICT.check(name, value)?;
    if split(value).query.is_some() {
        return Err(invalid(msg!(
            name,
            " must not contain a query (?...): ",
            what
        )));
    }
    Ok(())
}

/// An exact origin (HTML §7.5): what messages are posted to and accepted
/// from (`hostOrigin`, `completePopup(openerOrigin)`), by the URL rule;
/// never `*`, which would hand the message to any window.
pub fn check_origin(name: &str, text: &str) -> Result<()> {
    let exact = parse_authority(text)
        .is_some_and(|a| a.rest.is_empty() && UrlRule::STRICT.allows(&a) && a.origin() == text);
    if exact {
        return Ok(());
    }
    Err(invalid(msg!(
        name,
        " must be an origin such as https://console.example.com (lowercase, no path, \
         no trailing slash, no default port; never '*')"
    )))
}

/// `value` by `rule` (its type is already checked).
fn check(name: &str, rule: Rule, value: &Value) -> Result<()> {
    let text = value.as_str().unwrap_or_default();
    match rule {
        Rule::Url => UrlRule::STRICT.check(name, text).map(drop),
        Rule::Base => check_no_query(name, text, "pass the base URL, paths are added to it"),
        Rule::Issuer => check_no_query(
            name,
            text,
            "use the server's issuer identifier exactly (RFC 8414 §2)",
        ),
        Rule::Id => check_id(name, text),
        Rule::PathId => {
            check_id(name, text)?;
            if text == "." || text == ".." {
                return Err(invalid(msg!(
                    name,
                    " must not be \".\" or \"..\" (it is a URL path segment)"
                )));
            }
            Ok(())
        }
        Rule::Scope => {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space separated.
            let valid = !text.is_empty()
                && text.len() <= MAX_URL_LEN
                && text.split(' ').all(|token| {
                    !token.is_empty()
                        && token
                            .bytes()
                            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
                });
            if valid {
                return Ok(());
            }
            Err(invalid(String::from(
                "scope must be space-separated scope tokens (RFC 6749 §3.3), e.g. \"openid profile\", \
                 without quotes, backslashes or double spaces",
            )))
        }
        Rule::Origin => check_origin(name, text),
        Rule::PathOrUrl if text.starts_with('/') => {
            let valid = !text.starts_with("//")
                && text.len() <= MAX_URL_LEN
                && !text
                    .bytes()
                    .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b == b'#');
            if valid {
                return Ok(());
            }
            Err(invalid(msg!(
                name,
                " must be an absolute https URL or a path starting with a single '/', \
                 without spaces, backslashes or fragment"
            )))
        }
        Rule::PathOrUrl => UrlRule::STRICT.check(name, text).map(drop),
        Rule::Params => {
            for (param, v) in value.as_object().map(Object::iter).into_iter().flatten() {
                if RESERVED_AUTHORIZATION_PARAMS.contains(&param) {
                    return Err(invalid(msg!(
                        "extraParams must not set \"",
                        param,
                        "\": the client sets it itself"
                    )));
                }
                let long = v.as_str().map_or(0, str::len) > MAX_URL_LEN;
                if param.is_empty() || param.len() > MAX_ID_LEN || long {
                    return Err(invalid(String::from(
                        "extraParams names must be 1 to 256 bytes and values at most 16 KiB",
                    )));
                }
            }
            Ok(())
        }
        Rule::Text | Rule::Bool | Rule::Uint => Ok(()),
    }
}

/// True when the value is of the rule's type.
fn typed(rule: Rule, value: &Value) -> bool {
    match (rule, value) {
        (Rule::Bool, Value::Bool(_)) => true,
        (Rule::Uint, Value::Number(n)) => *n >= 0.0 && crate::json::safe_integer(*n).is_some(),
        (Rule::Params, Value::Object(o)) => o.iter().all(|(_, v)| v.as_str().is_some()),
        (Rule::Bool | Rule::Uint | Rule::Params, _) => false,
        (_, v) => v.as_str().is_some(),
    }
}

fn type_name(rule: Rule) -> &'static str {
    match rule {
        Rule::Bool => "true or false",
        Rule::Uint => "a whole non-negative number",
        Rule::Params => "an object of string parameters",
        _ => "a string",
    }
}

impl Config {
    /// Reads the options object of `new ExtensionClient({...})` (see the
    /// module docs). `null` members count as absent.
    pub fn read(options: Object) -> Result<Self> {
        let Some(profile) = options.get("profile").and_then(Value::as_str) else {
            return Err(invalid(String::from(
                "ExtensionClient options: missing field `profile`",
            )));
        };
        let kind = ProfileKind::parse(profile).ok_or_else(|| {
            invalid(String::from(
                "profile must be 'oauth2', 'mia-console', 'matrix' or 'mia-auth-service'",
            ))
        })?;
        for (name, value) in options.iter() {
            let Some(&(_, profiles, rule)) = OPTIONS.iter().find(|(n, ..)| *n == name) else {
                return Err(invalid(msg!(
                    "unknown option \"",
                    name,
                    "\" for ExtensionClient"
                )));
            };
            if matches!(value, Value::Null) {
                continue;
            }
            if profiles & kind.bit() == 0 {
                return Err(invalid(msg!(
                    name,
                    " does not apply to profile '",
                    kind.as_str(),
                    "': remove it or change profile"
                )));
            }
            if !typed(rule, value) {
                return Err(wrong(name, type_name(rule)));
            }
        }
        let has = |name: &str| !matches!(options.get(name), None | Some(Value::Null));
        if let Some((_, name)) = REQUIRED
            .iter()
            .find(|(profiles, name)| profiles & kind.bit() != 0 && !has(name))
        {
            return Err(invalid(msg!("profile '", kind.as_str(), "' needs ", *name)));
        }
        if kind == ProfileKind::OAuth2 && !has("authorizationEndpoint") && !has("issuer") {
            return Err(invalid(String::from(
                "profile 'oauth2' needs authorizationEndpoint, or issuer to discover it (OpenID Connect Discovery 1.0, RFC 8414)",
            )));
        }
        let text = |name: &str| options.get(name).and_then(Value::as_str);
        let flag = |name: &str, default: bool| match options.get(name) {
            Some(Value::Bool(b)) => *b,
            _ => default,
        };
        let number = |name: &str, default: u64| match options.get(name) {
            Some(Value::Number(n)) => *n as u64,
            _ => default,
        };
        let config = Self {
            kind,
            navigation: match text("navigation") {
                None | Some("self") => Navigation::SelfFrame,
                Some("top") => Navigation::Top,
                Some("popup") => Navigation::Popup,
                Some(_) => {
                    return Err(invalid(String::from(
                        "navigation must be 'self', 'top' or 'popup'",
                    )))
                }
            },
            iss_policy: match text("issPolicy") {
                None | Some("if-present") => IssPolicy::IfPresent,
                Some("require") => IssPolicy::Require,
                Some("off") => IssPolicy::Off,
                Some(_) => {
                    return Err(invalid(String::from(
                        "issPolicy must be 'require', 'if-present' (default) or 'off'",
                    )))
                }
            },
            state_ttl_sec: number("stateTtlSec", DEFAULT_STATE_TTL_SEC),
            timeout_ms: number("timeoutMs", DEFAULT_TIMEOUT_MS),
            use_pkce: flag("usePkce", true),
            cookie_session: flag("cookieSession", false),
            persist_session: flag("persistSession", false),
            discovered: None,
            options,
        };
        config.validate()?;
        Ok(config)
    }

    /// Seed 001's shape, `new ExtensionClient(authorizationServerUrl,
    /// extensionId)` then `login(redirectUrl)`, as an OAuth 2.0 public client
    /// with PKCE: authorization endpoint `{url}/authorize`, token endpoint
    /// `{url}/token` (the browser exchanges the code itself), `client_id` =
    /// `extensionId`, `issuer` = `authorizationServerUrl` exactly as given
    /// (RFC 9207, checked when the server sends `iss`), no scope.
    pub fn positional(server: &str, extension_id: &str, redirect_url: &str) -> Result<Self> {
        check_no_query(
            "authorizationServerUrl",
            server,
            "pass the server's base URL",
        )?;
        let base = trim_trailing_slashes(server);
        let mut options = Object::default();
        for (name, value) in [
            ("profile", "oauth2"),
            ("authorizationEndpoint", &msg!(base, "/authorize")),
            ("tokenEndpoint", &msg!(base, "/token")),
            ("clientId", extension_id),
            ("redirectUri", redirect_url),
            ("issuer", server),
        ] {
            options.insert(name, Value::String(value.to_owned()));
        }
        Self::read(options)
    }

    /// The string option `name`, when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(Value::as_str)
    }

    /// The redirect the flow returns to: `redirectUri` (oauth2, matrix) or
    /// `redirect` (mia-auth-service); none for mia-console (its callback
    /// URL is registered with the console).
    pub fn redirect(&self) -> Option<&str> {
        self.get("redirectUri").or_else(|| self.get("redirect"))
    }

    /// True while the endpoints the flow needs are neither configured nor
    /// discovered (an `oauth2` client with `issuer` alone).
    pub fn needs_discovery(&self) -> bool {
        self.kind == ProfileKind::OAuth2
            && self.discovered.is_none()
            && (self.get("authorizationEndpoint").is_none() || self.public_without_token_endpoint())
    }

    fn public_without_token_endpoint(&self) -> bool {
        self.get("tokenHandoffUrl").is_none() && self.get("tokenEndpoint").is_none()
    }

    /// Takes what the flow needs from the issuer's metadata
    /// (`discovery_failed` when an endpoint it needs is missing).
    pub fn discover(&mut self, metadata: ServerMetadata) -> Result<()> {
        let missing = |name: &str| {
            Error::new(
                ErrorCode::DiscoveryFailed,
                msg!(
                    "the issuer's metadata has no ",
                    name,
                    ": configure it explicitly"
                ),
            )
        };
        let mut found = Discovered {
            sends_iss: metadata.authorization_response_iss_parameter_supported,
            ..Discovered::default()
        };
        if self.get("authorizationEndpoint").is_none() {
            found.authorization_endpoint = Some(
                metadata
                    .authorization_endpoint
                    .ok_or_else(|| missing("authorization_endpoint"))?,
            );
        }
        if self.public_without_token_endpoint() {
            found.token_endpoint = Some(
                metadata
                    .token_endpoint
                    .ok_or_else(|| missing("token_endpoint"))?,
            );
        }
        self.discovered = Some(found);
        Ok(())
    }

    /// The authorization endpoint: configured, else discovered.
    pub fn authorization_endpoint(&self) -> Option<&str> {
        self.get("authorizationEndpoint").or_else(|| {
            self.discovered
                .as_ref()
                .and_then(|d| d.authorization_endpoint.as_deref())
        })
    }

    /// `extraParams`, in order.
    pub fn extra_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options
            .get("extraParams")
            .and_then(Value::as_object)
            .map(Object::iter)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k, v.as_str()?)))
    }

    /// Every meaning and combination (see the module docs).
    fn validate(&self) -> Result<()> {
        for (name, value) in self.options.iter() {
            if let Some(&(_, _, rule)) = OPTIONS.iter().find(|(n, ..)| *n == name) {
                if !matches!(value, Value::Null) {
                    check(name, rule, value)?;
                }
            }
        }
        if !(MIN_STATE_TTL_SEC..=MAX_STATE_TTL_SEC).contains(&self.state_ttl_sec) {
            return Err(invalid(msg!(
                "stateTtlSec must be between ",
                MIN_STATE_TTL_SEC,
                " and ",
                MAX_STATE_TTL_SEC,
                " seconds (default ",
                DEFAULT_STATE_TTL_SEC,
                ")"
            )));
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(invalid(msg!(
                "timeoutMs must be between 1 and ",
                MAX_TIMEOUT_MS,
                " (default ",
                DEFAULT_TIMEOUT_MS,
                ")"
            )));
        }
        let handoff = self.get("tokenHandoffUrl").is_some();
        let fail = |message: &str| Err(invalid(String::from(message)));
        if self.navigation == Navigation::Top && self.get("hostOrigin").is_none() {
            return fail(
                "navigation 'top' needs hostOrigin, the embedding page's origin (e.g. https://console.example.com): \
                 messages to the host are never sent to '*'",
            );
        }
        if self.iss_policy == IssPolicy::Require && self.get("issuer").is_none() {
            return fail(
                "issPolicy 'require' needs issuer (an oauth2 profile option): set issuer to the server's issuer identifier",
            );
        }
        match self.kind {
            ProfileKind::OAuth2 => match (handoff, self.get("tokenEndpoint").is_some()) {
                // A public client whose token endpoint comes from discovery.
                (false, false) if self.get("issuer").is_some() && self.use_pkce => Ok(()),
                (false, false) if self.get("issuer").is_some() => fail(
                    "usePkce cannot be false for a public client (tokenEndpoint without tokenHandoffUrl): \
                     PKCE is required (RFC 9700 §2.1.1)",
                ),
                (false, false) => fail(
                    "profile 'oauth2' needs tokenHandoffUrl (recommended: your backend exchanges the code) \
                     or tokenEndpoint (a public client exchanges it in the browser with PKCE)",
                ),
                (true, true) => fail(
                    "set either tokenHandoffUrl or tokenEndpoint, not both: the code can be exchanged only once",
                ),
                (false, true) if !self.use_pkce => fail(
                    "usePkce cannot be false for a public client (tokenEndpoint without tokenHandoffUrl): \
                     PKCE is required (RFC 9700 §2.1.1)",
                ),
                _ => Ok(()),
            },
            ProfileKind::MiaConsole if !handoff => fail(
                "profile 'mia-console' needs tokenHandoffUrl: the console's code is exchanged by your backend \
                 (POST {consoleUrl}/api/oauth/token with {\"code\",\"state\"})",
            ),
            ProfileKind::MiaAuthService if handoff => fail(
                "profile 'mia-auth-service' does not use tokenHandoffUrl: the callback page posts the code \
                 to {authServiceUrl}/oauth/token, which sets the session cookie; remove tokenHandoffUrl",
            ),
            ProfileKind::MiaAuthService if self.cookie_session => fail(
                "cookieSession applies to a tokenHandoffUrl answer; profile 'mia-auth-service' always uses the service's cookie",
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    pub(crate) const OAUTH2: &str = r#"{"profile":"oauth2","authorizationEndpoint":"https://as.example/authorize",
        "clientId":"client-1","redirectUri":"https://ext.example/callback","tokenHandoffUrl":"/api/sso/token"}"#;

    fn read(text: &str) -> Result<Config> {
        match json::parse(text).unwrap() {
            Value::Object(o) => Config::read(o),
            _ => panic!("not an object"),
        }
    }

    /// OAUTH2 with `members` (`"name":value,...`) added or replaced.
    fn with(members: &str) -> Result<Config> {
        let mut base = json::parse(OAUTH2).unwrap();
        let Value::Object(extra) = json::parse(&format!("{{{members}}}")).unwrap() else {
            unreachable!()
        };
        if let Value::Object(o) = &mut base {
            for (k, v) in extra.iter() {
                o.remove(k);
                o.insert(k, v.clone());
            }
        }
        let Value::Object(o) = base else {
            unreachable!()
        };
        Config::read(o)
    }

    fn message(result: Result<Config>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidOptions);
        err.message().to_owned()
    }

    #[test]
    fn defaults() {
        let c = read(OAUTH2).unwrap();
        assert_eq!(c.state_ttl_sec, 600);
        assert_eq!(c.timeout_ms, 10_000);
        assert_eq!(c.iss_policy, IssPolicy::IfPresent);
        assert_eq!(c.navigation, Navigation::SelfFrame);
        assert!(c.use_pkce && !c.cookie_session && !c.persist_session);
        assert_eq!(c.redirect(), Some("https://ext.example/callback"));
        assert_eq!(c.get("scope"), None);
    }

    #[test]
    fn messages_name_the_option_and_the_fix() {
        for (members, start) in [
            (r#""tokenHandoffUrl":null"#, "profile 'oauth2' needs tokenHandoffUrl"),
            (r#""tokenEndpoint":"https://as.example/token""#, "set either"),
            (r#""redirectUri":"http://ext.example/cb""#, "redirectUri must use https"),
            (r#""scope":"openid  profile""#, "scope must be"),
            (r#""extraParams":{"state":"x"}"#, "extraParams must not set \"state\": the client sets it itself"),
            (r#""extraParams":{"nonce":"x"}"#, "extraParams must not set \"nonce\""),
            (r#""usePkce":false,"tokenHandoffUrl":null,"tokenEndpoint":"https://as.example/token""#, "usePkce cannot be false"),
            (r#""stateTtlSec":0"#, "stateTtlSec must be between 30 and 3600"),
            (r#""stateTtlSec":1.5"#, "invalid ExtensionClient options: stateTtlSec must be a whole non-negative number"),
            (r#""timeoutMs":60001"#, "timeoutMs must be between 1 and 60000"),
            (r#""issPolicy":"require""#, "issPolicy 'require' needs issuer"),
            (r#""issPolicy":"sometimes""#, "issPolicy must be"),
            (r#""navigation":"top""#, "navigation 'top' needs hostOrigin"),
            (r#""navigation":"top","hostOrigin":"*""#, "hostOrigin must be an origin"),
            (r#""navigation":"top","hostOrigin":"https://console.example.com/""#, "hostOrigin must be an origin"),
            (r#""tokenHandoffUrl":"//evil.example/steal""#, "tokenHandoffUrl must be"),
            (r#""issuer":"https://as.example/?x=1""#, "issuer must not contain a query"),
            (r#""consoleUrl":"https://c.example""#, "consoleUrl does not apply to profile 'oauth2'"),
            (r#""isuer":"https://as.example""#, "unknown option \"isuer\""),
            (r#""clientId":7"#, "invalid ExtensionClient options: clientId must be a string"),
            (r#""extraParams":{"a":1}"#, "invalid ExtensionClient options: extraParams must be an object of string parameters"),
        ] {
            let got = message(with(members));
            assert!(got.starts_with(start), "{members}: {got}");
        }
        // The issuer alone: the endpoints come from discovery.
        let issuer_only = read(r#"{"profile":"oauth2","issuer":"https://as.example","clientId":"c","redirectUri":"https://ext.example/cb"}"#).unwrap();
        assert!(issuer_only.needs_discovery());
        assert_eq!(
            message(read(r#"{"profile":"oauth2","clientId":"c","redirectUri":"https://ext.example/cb","tokenHandoffUrl":"/t"}"#)),
            "profile 'oauth2' needs authorizationEndpoint, or issuer to discover it (OpenID Connect Discovery 1.0, RFC 8414)"
        );
        assert!(!read(OAUTH2).unwrap().needs_discovery());
        let ok = with(r#""navigation":"top","hostOrigin":"https://console.example.com","scope":"openid profile","extraParams":{"prompt":"consent"}"#).unwrap();
        assert_eq!(
            ok.extra_params().collect::<Vec<_>>(),
            vec![("prompt", "consent")]
        );
        assert_eq!(ok.navigation, Navigation::Top);
    }

    #[test]
    fn profiles() {
        let console = r#"{"profile":"mia-console","consoleUrl":"https://console.example.com","tenantId":"..","extensionId":"ext","tokenHandoffUrl":"/t"}"#;
        assert!(message(read(console)).starts_with("tenantId must not be"));
        let console = console.replace("\"..\"", "\"t1\"");
        assert!(read(&console).is_ok());
        let no_handoff = console.replace(r#","tokenHandoffUrl":"/t""#, "");
        assert!(
            message(read(&no_handoff)).starts_with("profile 'mia-console' needs tokenHandoffUrl")
        );
        assert!(message(read(&console.replace(
            "\"profile\"",
            "\"redirectUri\":\"https://x.example\",\"profile\""
        )))
        .starts_with("redirectUri does not apply"));

        let auth = r#"{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth","appId":"app","providerId":"kc","redirect":"//evil.example"}"#;
        assert!(message(read(auth)).starts_with("redirect must be"));
        let auth = auth.replace("//evil.example", "/home");
        assert!(read(&auth).is_ok());
        let with_handoff = auth.replace("\"redirect\"", "\"tokenHandoffUrl\":\"/t\",\"redirect\"");
        assert!(message(read(&with_handoff))
            .starts_with("profile 'mia-auth-service' does not use tokenHandoffUrl"));
        let with_cookie = auth.replace("\"redirect\"", "\"cookieSession\":true,\"redirect\"");
        assert!(message(read(&with_cookie)).starts_with("cookieSession applies"));

        assert_eq!(
            message(read(
                r#"{"profile":"matrix","homeserverUrl":"https://m.example"}"#
            )),
            "profile 'matrix' needs redirectUri"
        );
        assert!(message(read(r#"{"profile":"saml"}"#)).starts_with("profile must be"));
        assert_eq!(
            message(read("{}")),
            "ExtensionClient options: missing field `profile`"
        );
    }

    #[test]
    fn seed_001_mapping() {
        let c = Config::positional(
            "https://login.example.com/",
            "ext-42",
            "https://ext.example/cb",
        )
        .unwrap();
        assert_eq!(
            c.get("authorizationEndpoint"),
            Some("https://login.example.com/authorize")
        );
        assert_eq!(
            c.get("tokenEndpoint"),
            Some("https://login.example.com/token")
        );
        assert_eq!(c.get("clientId"), Some("ext-42"));
        assert_eq!(c.get("issuer"), Some("https://login.example.com/"));
        assert!(c.use_pkce);
        assert!(Config::positional("", "ext", "https://e/cb").is_err());
        assert!(message(Config::positional(
            "https://l.example?x=1",
            "e",
            "https://e/cb"
        ))
        .starts_with("authorizationServerUrl must not contain a query"));
        assert!(
            message(Config::positional("http://l.example", "e", "https://e/cb"))
                .starts_with("authorizationServerUrl must use https")
        );
    }
}
