//! Client configuration: which login flow (profile), where the code goes
//! (handoff or direct token request), how to navigate, and the `state` and
//! RFC 9207 `iss` policies. [`ClientConfig::validate`] rejects every unsafe or
//! inconsistent combination with an `invalid_options` error that names the
//! option (by its JavaScript name) and says what to fix.
//!
//! URLs must be absolute `https` URLs. Plain `http` is accepted only for
//! `localhost`, `127.0.0.1` and `[::1]`, for development (RFC 9700 §2.6,
//! RFC 8252 §7.3).

use crate::prelude::*;
use crate::protocol::url::{parse_authority, split, Authority, UrlRule, MAX_URL_LEN};
use crate::{Error, Result};

/// Default lifetime of a pending flow, in seconds.
pub const DEFAULT_STATE_TTL_SEC: u64 = 600;
/// Smallest accepted `stateTtlSec`.
pub const MIN_STATE_TTL_SEC: u64 = 30;
/// Largest accepted `stateTtlSec`.
pub const MAX_STATE_TTL_SEC: u64 = 3600;

/// Longest identifier (client id, tenant id, ...) accepted, in bytes.
const MAX_ID_LEN: usize = 256;

/// Authorization request parameters the client sets itself; `extraParams`
/// may not override them (RFC 6749 §4.1.1, RFC 7636 §4.3).
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
];

/// The generic OAuth 2.0 / OpenID Connect authorization code flow
/// (RFC 6749 §4.1 with PKCE, RFC 7636; seed 002, and seed 001 through
/// [`ClientConfig::for_authorization_server`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Profile {
    /// `authorizationEndpoint` (RFC 6749 §3.1). May carry a query, which is kept.
    pub authorization_endpoint: String,
    /// `clientId` (RFC 6749 §2.2).
    pub client_id: String,
    /// `redirectUri`, registered at the server (RFC 6749 §3.1.2).
    pub redirect_uri: String,
    /// `scope` (RFC 6749 §3.3), space separated; omitted from the request when `None`.
    pub scope: Option<String>,
    /// `issuer`: the server's issuer identifier, checked against the
    /// callback's `iss` (RFC 9207 §2.4).
    pub issuer: Option<String>,
    /// `usePkce` (default true). PKCE S256 (RFC 7636) is required for a public
    /// client and recommended for all (RFC 9700 §2.1.1). Turn it off only for a
    /// server that rejects unknown parameters, and only with a `tokenHandoffUrl`.
    pub use_pkce: bool,
    /// `tokenEndpoint`, for a public client without a backend: the browser
    /// itself exchanges the code with its PKCE verifier (RFC 6749 §4.1.3).
    pub token_endpoint: Option<String>,
    /// `extraParams`: further authorization request parameters (e.g. `prompt`,
    /// `audience`), appended in order. Reserved names are rejected.
    pub extra_params: Vec<(String, String)>,
}

impl OAuth2Profile {
    /// A profile with PKCE on and no scope, issuer, token endpoint or extras.
    pub fn new(
        authorization_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            authorization_endpoint: authorization_endpoint.into(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: None,
            issuer: None,
            use_pkce: true,
            token_endpoint: None,
            extra_params: Vec::new(),
        }
    }
}

/// Mia-Platform Console as authorization server (seed 000):
/// `{consoleUrl}/tenants/{tenantId}/extension/{extensionId}/authz?state=…`.
///
/// The console's protocol carries only `state`: its token endpoint takes
/// exactly `{"code","state"}` from the extension backend and accepts no
/// `code_verifier`, so PKCE parameters would be ignored at best. The flow is
/// bound by our one-time `state` and by the backend-only exchange. The
/// callback URL is the one registered with the console (`callbackUrl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiaConsoleProfile {
    /// `consoleUrl`, e.g. `https://console.example.com`.
    pub console_url: String,
    /// `tenantId` (the company id).
    pub tenant_id: String,
    /// `extensionId`.
    pub extension_id: String,
}

/// Matrix SSO client login (seed 003; Matrix client-server API
/// `GET /_matrix/client/v3/login/sso/redirect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixProfile {
    /// `homeserverUrl`, e.g. `https://matrix.example.org`.
    pub homeserver_url: String,
    /// `idpId`: a specific identity provider of the homeserver.
    pub idp_id: Option<String>,
    /// `redirectUri`: our callback page; receives `loginToken`.
    pub redirect_uri: String,
}

/// Mia-Platform Authentication Service (seed 004):
/// `{authServiceUrl}/authorize?appId=…&providerId=…&redirect=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthServiceProfile {
    /// `authServiceUrl`, the base under which `/authorize`, `/oauth/token`
    /// and `/userinfo` are served.
    pub auth_service_url: String,
    /// `appId` from the service's configuration.
    pub app_id: String,
    /// `providerId` from the service's configuration.
    pub provider_id: String,
    /// `redirect`: where the service sends the browser at the end, a path
    /// (`/home`) or an absolute URL; our one-time nonce is added to it.
    pub redirect: String,
}

/// The login flow to run (the `profile` option).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileConfig {
    /// `'oauth2'`
    OAuth2(OAuth2Profile),
    /// `'mia-console'`
    MiaConsole(MiaConsoleProfile),
    /// `'matrix'`
    Matrix(MatrixProfile),
    /// `'mia-auth-service'`
    MiaAuthService(AuthServiceProfile),
}

/// The profile's name, as stored in flow records and used in JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// `oauth2`
    OAuth2,
    /// `mia-console`
    MiaConsole,
    /// `matrix`
    Matrix,
    /// `mia-auth-service`
    MiaAuthService,
}

impl ProfileKind {
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
        [
            Self::OAuth2,
            Self::MiaConsole,
            Self::Matrix,
            Self::MiaAuthService,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// True when the flow is bound by the OAuth `state` parameter; false
    /// when by our nonce in the return URL (Matrix, auth service).
    pub const fn uses_oauth_state(self) -> bool {
        matches!(self, Self::OAuth2 | Self::MiaConsole)
    }
}

impl ProfileConfig {
    /// Which profile this is.
    pub fn kind(&self) -> ProfileKind {
        match self {
            Self::OAuth2(_) => ProfileKind::OAuth2,
            Self::MiaConsole(_) => ProfileKind::MiaConsole,
            Self::Matrix(_) => ProfileKind::Matrix,
            Self::MiaAuthService(_) => ProfileKind::MiaAuthService,
        }
    }
}

/// How the browser gets to the authorization server (the `navigation` option).
///
/// Which to use: in a top-level page, `SelfFrame`. In an iframe whose
/// `sessionStorage` works and whose authorization server allows being
/// framed, `SelfFrame`; when the server refuses framing (`X-Frame-Options`),
/// `Top` with a cooperating host, or `Popup`. When storage may be blocked
/// (cross-site iframe, private window, third-party storage blocked),
/// `Popup`: it keeps the flow in the iframe's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Navigation {
    /// `'self'`: assign the current frame's location.
    #[default]
    SelfFrame,
    /// `'top'`: ask the embedding host page (by `postMessage`) to navigate the top level.
    Top,
    /// `'popup'`: open a window synchronously in the click handler.
    Popup,
}

/// RFC 9207 authorization server issuer identification (the `issPolicy` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IssPolicy {
    /// `'require'`: the callback must carry `iss` equal to `issuer`.
    Require,
    /// `'if-present'` (default): when the callback carries `iss` and an
    /// `issuer` is configured, they must be equal.
    #[default]
    IfPresent,
    /// `'off'`: `iss` is ignored. Only for servers that send a wrong `iss`.
    Off,
}

/// The whole client configuration (`new ExtensionClient({...})`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The login flow and its parameters.
    pub profile: ProfileConfig,
    /// `tokenHandoffUrl`: the extension backend endpoint that receives the
    /// code (POST JSON, credentials included). An absolute URL, or a path
    /// starting with `/` on the page's own origin.
    pub token_handoff_url: Option<String>,
    /// `navigation` (default `'self'`).
    pub navigation: Navigation,
    /// `stateTtlSec` (default 600): how long a pending flow stays valid.
    pub state_ttl_sec: u64,
    /// `issPolicy` (default `'if-present'`).
    pub iss_policy: IssPolicy,
    /// `hostOrigin`: the embedding host page's origin, the `targetOrigin`
    /// of messages to it and the only origin its replies are accepted from.
    /// Required for `navigation: 'top'`.
    pub host_origin: Option<String>,
    /// `cookieSession` (default false): accept a handoff answer without an
    /// `access_token` (2xx with an empty body or `{}`), for backends that keep
    /// the session in an HttpOnly cookie.
    pub cookie_session: bool,
}

impl ClientConfig {
    /// A configuration with the defaults: no handoff URL, `self` navigation,
    /// 600 s state TTL, `if-present` issuer policy, no host origin.
    pub fn new(profile: ProfileConfig) -> Self {
        Self {
            profile,
            token_handoff_url: None,
            navigation: Navigation::SelfFrame,
            state_ttl_sec: DEFAULT_STATE_TTL_SEC,
            iss_policy: IssPolicy::IfPresent,
            host_origin: None,
            cookie_session: false,
        }
    }

    /// Seed 001's shape, `new ExtensionClient(authorizationServerUrl,
    /// extensionId)` then `login(redirectUrl)`, as an OAuth 2.0 public client
    /// with PKCE: authorization endpoint `{url}/authorize`, token endpoint
    /// `{url}/token` (the browser exchanges the code itself), `client_id` =
    /// `extensionId`, `issuer` = `authorizationServerUrl` exactly as given
    /// (RFC 9207, checked when the server sends `iss`), no scope.
    pub fn for_authorization_server(
        authorization_server_url: &str,
        extension_id: &str,
        redirect_url: &str,
    ) -> Result<Self> {
        UrlRule::STRICT.check("authorizationServerUrl", authorization_server_url)?;
        if split(authorization_server_url).query.is_some() {
            return Err(Error::options(
                "authorizationServerUrl must not contain a query (?...): pass the server's base URL",
            ));
        }
        let base = crate::protocol::url::trim_trailing_slashes(authorization_server_url);
        let mut profile =
            OAuth2Profile::new(format!("{base}/authorize"), extension_id, redirect_url);
        profile.token_endpoint = Some(format!("{base}/token"));
        profile.issuer = Some(authorization_server_url.to_owned());
        let config = Self::new(ProfileConfig::OAuth2(profile));
        config.validate()?;
        Ok(config)
    }

    /// Checks every option; the error names the option and the fix.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_STATE_TTL_SEC..=MAX_STATE_TTL_SEC).contains(&self.state_ttl_sec) {
            return Err(Error::options(format!(
                "stateTtlSec must be between {MIN_STATE_TTL_SEC} and {MAX_STATE_TTL_SEC} seconds (default {DEFAULT_STATE_TTL_SEC})"
            )));
        }
        if let Some(url) = &self.token_handoff_url {
            check_handoff_url(url)?;
        }
        if let Some(origin) = &self.host_origin {
            check_origin("hostOrigin", origin)?;
        }
        if self.navigation == Navigation::Top && self.host_origin.is_none() {
            return Err(Error::options(
                "navigation 'top' needs hostOrigin, the embedding page's origin (e.g. https://console.example.com): \
                 messages to the host are never sent to '*'",
            ));
        }
        let has_issuer = matches!(&self.profile, ProfileConfig::OAuth2(p) if p.issuer.is_some());
        if self.iss_policy == IssPolicy::Require && !has_issuer {
            return Err(Error::options(
                "issPolicy 'require' needs issuer (an oauth2 profile option): set issuer to the server's issuer identifier",
            ));
        }
        match &self.profile {
            ProfileConfig::OAuth2(p) => self.validate_oauth2(p),
            ProfileConfig::MiaConsole(p) => {
                check_base_url("consoleUrl", &p.console_url)?;
                check_path_id("tenantId", &p.tenant_id)?;
                check_path_id("extensionId", &p.extension_id)?;
                if self.token_handoff_url.is_none() {
                    return Err(Error::options(
                        "profile 'mia-console' needs tokenHandoffUrl: the console's code is exchanged by your backend \
                         (POST {consoleUrl}/api/oauth/token with {\"code\",\"state\"})",
                    ));
                }
                Ok(())
            }
            ProfileConfig::Matrix(p) => {
                check_base_url("homeserverUrl", &p.homeserver_url)?;
                if let Some(idp) = &p.idp_id {
                    check_path_id("idpId", idp)?;
                }
                UrlRule::STRICT.check("redirectUri", &p.redirect_uri)?;
                Ok(())
            }
            ProfileConfig::MiaAuthService(p) => {
                check_base_url("authServiceUrl", &p.auth_service_url)?;
                check_id("appId", &p.app_id)?;
                check_id("providerId", &p.provider_id)?;
                check_redirect_target(&p.redirect)?;
                if self.token_handoff_url.is_some() {
                    return Err(Error::options(
                        "profile 'mia-auth-service' does not use tokenHandoffUrl: the callback page posts the code \
                         to {authServiceUrl}/oauth/token, which sets the session cookie; remove tokenHandoffUrl",
                    ));
                }
                if self.cookie_session {
                    return Err(Error::options(
                        "cookieSession applies to a tokenHandoffUrl answer; profile 'mia-auth-service' always uses the service's cookie",
                    ));
                }
                Ok(())
            }
        }
    }

    fn validate_oauth2(&self, p: &OAuth2Profile) -> Result<()> {
        UrlRule::STRICT.check("authorizationEndpoint", &p.authorization_endpoint)?;
        check_id("clientId", &p.client_id)?;
        UrlRule::STRICT.check("redirectUri", &p.redirect_uri)?;
        if let Some(scope) = &p.scope {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space separated.
            let valid = !scope.is_empty()
                && scope.split(' ').all(|token| {
                    !token.is_empty()
                        && token
                            .bytes()
                            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
                })
                && scope.len() <= MAX_URL_LEN;
            if !valid {
                return Err(Error::options(
                    "scope must be space-separated scope tokens (RFC 6749 §3.3), e.g. \"openid profile\", \
                     without quotes, backslashes or double spaces",
                ));
            }
        }
        if let Some(issuer) = &p.issuer {
            UrlRule::STRICT.check("issuer", issuer)?;
            if split(issuer).query.is_some() {
                return Err(Error::options(
                    "issuer must not contain a query (RFC 8414 §2): use the server's issuer identifier exactly",
                ));
            }
        }
        if let Some(token_endpoint) = &p.token_endpoint {
            UrlRule::STRICT.check("tokenEndpoint", token_endpoint)?;
        }
        match (&self.token_handoff_url, &p.token_endpoint) {
            (None, None) => {
                return Err(Error::options(
                    "profile 'oauth2' needs tokenHandoffUrl (recommended: your backend exchanges the code) \
                     or tokenEndpoint (a public client exchanges it in the browser with PKCE)",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(Error::options(
                    "set either tokenHandoffUrl or tokenEndpoint, not both: the code can be exchanged only once",
                ))
            }
            _ => {}
        }
        if !p.use_pkce && self.token_handoff_url.is_none() {
            return Err(Error::options(
                "usePkce cannot be false for a public client (tokenEndpoint without tokenHandoffUrl): \
                 PKCE is required (RFC 9700 §2.1.1)",
            ));
        }
        for (name, value) in &p.extra_params {
            if RESERVED_AUTHORIZATION_PARAMS.contains(&name.as_str()) {
                return Err(Error::options(format!(
                    "extraParams must not set \"{name}\": the client sets it itself"
                )));
            }
            if name.is_empty() || name.len() > MAX_ID_LEN || value.len() > MAX_URL_LEN {
                return Err(Error::options(
                    "extraParams names must be 1 to 256 bytes and values at most 16 KiB",
                ));
            }
        }
        Ok(())
    }
}

/// A base URL under which fixed paths are appended: an endpoint without query.
fn check_base_url(option: &str, url: &str) -> Result<Authority> {
    let parsed = UrlRule::STRICT.check(option, url)?;
    if split(url).query.is_some() {
        return Err(Error::options(format!(
            "{option} must not contain a query (?...): pass the base URL, paths are added to it"
        )));
    }
    Ok(parsed)
}

/// An identifier sent as a query value: non-empty, bounded, no control characters.
fn check_id(option: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(Error::options(format!(
            "{option} must be a non-empty string of at most {MAX_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// An identifier used as a path segment: as [`check_id`], and not a dot segment.
fn check_path_id(option: &str, value: &str) -> Result<()> {
    check_id(option, value)?;
    if value == "." || value == ".." {
        return Err(Error::options(format!(
            "{option} must not be \".\" or \"..\" (it is a URL path segment)"
        )));
    }
    Ok(())
}

/// A path on the page's own origin (`/x`, not `//x`), or an https endpoint.
fn check_same_origin_path_or_endpoint(option: &str, url: &str) -> Result<()> {
    if url.starts_with('/') {
        let valid = !url.starts_with("//")
            && url.len() <= MAX_URL_LEN
            && !url
                .bytes()
                .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b == b'#');
        if !valid {
            return Err(Error::options(format!(
                "{option} must be an absolute https URL or a path starting with a single '/', \
                 without spaces, backslashes or fragment"
            )));
        }
        return Ok(());
    }
    UrlRule::STRICT.check(option, url).map(|_| ())
}

fn check_handoff_url(url: &str) -> Result<()> {
    check_same_origin_path_or_endpoint("tokenHandoffUrl", url)
}

fn check_redirect_target(url: &str) -> Result<()> {
    check_same_origin_path_or_endpoint("redirect", url)
}

/// An origin exactly (`https://host[:port]`), never `*` or `null`.
pub(crate) fn check_origin(option: &str, origin: &str) -> Result<()> {
    let valid = parse_authority(origin)
        .is_some_and(|a| a.rest.is_empty() && UrlRule::STRICT.allows(&a) && a.origin() == origin);
    if !valid {
        return Err(Error::options(format!(
            "{option} must be an origin such as https://console.example.com (lowercase, no path, \
             no trailing slash, no default port; never '*')"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth2() -> OAuth2Profile {
        OAuth2Profile::new(
            "https://as.example/authorize",
            "client-1",
            "https://ext.example/callback",
        )
    }

    fn with_handoff(profile: ProfileConfig) -> ClientConfig {
        let mut c = ClientConfig::new(profile);
        c.token_handoff_url = Some("/api/sso/token".into());
        c
    }

    fn message(config: &ClientConfig) -> String {
        let err = config.validate().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidOptions);
        err.message().to_owned()
    }

    #[test]
    fn defaults() {
        let c = ClientConfig::new(ProfileConfig::OAuth2(oauth2()));
        assert_eq!(c.state_ttl_sec, 600);
        assert_eq!(c.iss_policy, IssPolicy::IfPresent);
        assert_eq!(c.navigation, Navigation::SelfFrame);
        assert!(matches!(&c.profile, ProfileConfig::OAuth2(p) if p.use_pkce));
    }

    #[test]
    fn oauth2_needs_a_way_to_exchange_the_code() {
        let c = ClientConfig::new(ProfileConfig::OAuth2(oauth2()));
        assert!(message(&c).starts_with("profile 'oauth2' needs tokenHandoffUrl"));
        assert!(with_handoff(ProfileConfig::OAuth2(oauth2()))
            .validate()
            .is_ok());
        let mut both = oauth2();
        both.token_endpoint = Some("https://as.example/token".into());
        assert!(message(&with_handoff(ProfileConfig::OAuth2(both))).starts_with("set either"));
    }

    #[test]
    fn option_messages_name_the_option() {
        let mut p = oauth2();
        p.redirect_uri = "http://ext.example/cb".into();
        assert!(message(&with_handoff(ProfileConfig::OAuth2(p)))
            .starts_with("redirectUri must use https"));

        let mut p = oauth2();
        p.scope = Some("openid  profile".into());
        assert!(message(&with_handoff(ProfileConfig::OAuth2(p))).starts_with("scope must be"));

        let mut p = oauth2();
        p.extra_params = vec![("state".into(), "x".into())];
        assert_eq!(
            message(&with_handoff(ProfileConfig::OAuth2(p))),
            "extraParams must not set \"state\": the client sets it itself"
        );

        let mut p = oauth2();
        p.use_pkce = false;
        p.token_endpoint = Some("https://as.example/token".into());
        assert!(message(&ClientConfig::new(ProfileConfig::OAuth2(p)))
            .starts_with("usePkce cannot be false"));

        let mut c = with_handoff(ProfileConfig::OAuth2(oauth2()));
        c.state_ttl_sec = 0;
        assert!(message(&c).starts_with("stateTtlSec must be between 30 and 3600"));

        let mut c = with_handoff(ProfileConfig::OAuth2(oauth2()));
        c.iss_policy = IssPolicy::Require;
        assert!(message(&c).starts_with("issPolicy 'require' needs issuer"));

        let mut c = with_handoff(ProfileConfig::OAuth2(oauth2()));
        c.navigation = Navigation::Top;
        assert!(message(&c).starts_with("navigation 'top' needs hostOrigin"));
        c.host_origin = Some("*".into());
        assert!(message(&c).starts_with("hostOrigin must be an origin"));
        c.host_origin = Some("https://console.example.com/".into());
        assert!(message(&c).starts_with("hostOrigin must be an origin"));
        c.host_origin = Some("https://console.example.com".into());
        assert!(c.validate().is_ok());

        let mut c = with_handoff(ProfileConfig::OAuth2(oauth2()));
        c.token_handoff_url = Some("//evil.example/steal".into());
        assert!(message(&c).starts_with("tokenHandoffUrl must be"));
    }

    #[test]
    fn console_profile_rules() {
        let profile = ProfileConfig::MiaConsole(MiaConsoleProfile {
            console_url: "https://console.example.com".into(),
            tenant_id: "..".into(),
            extension_id: "ext".into(),
        });
        assert!(message(&with_handoff(profile.clone())).starts_with("tenantId must not be"));
        let ProfileConfig::MiaConsole(mut p) = profile else {
            unreachable!()
        };
        p.tenant_id = "t1".into();
        let c = ClientConfig::new(ProfileConfig::MiaConsole(p.clone()));
        assert!(message(&c).starts_with("profile 'mia-console' needs tokenHandoffUrl"));
        assert!(with_handoff(ProfileConfig::MiaConsole(p))
            .validate()
            .is_ok());
    }

    #[test]
    fn auth_service_rejects_handoff_and_protocol_relative_redirect() {
        let p = AuthServiceProfile {
            auth_service_url: "https://app.example/auth".into(),
            app_id: "app".into(),
            provider_id: "kc".into(),
            redirect: "//evil.example".into(),
        };
        let c = ClientConfig::new(ProfileConfig::MiaAuthService(p.clone()));
        assert!(message(&c).starts_with("redirect must be"));
        let mut ok = p;
        ok.redirect = "/home".into();
        assert!(ClientConfig::new(ProfileConfig::MiaAuthService(ok.clone()))
            .validate()
            .is_ok());
        assert!(message(&with_handoff(ProfileConfig::MiaAuthService(ok)))
            .starts_with("profile 'mia-auth-service' does not use tokenHandoffUrl"));
    }

    #[test]
    fn seed_001_mapping() {
        let c = ClientConfig::for_authorization_server(
            "https://login.example.com/",
            "ext-42",
            "https://ext.example/cb",
        )
        .unwrap();
        let ProfileConfig::OAuth2(p) = &c.profile else {
            panic!("oauth2 expected")
        };
        assert_eq!(
            p.authorization_endpoint,
            "https://login.example.com/authorize"
        );
        assert_eq!(
            p.token_endpoint.as_deref(),
            Some("https://login.example.com/token")
        );
        assert_eq!(p.client_id, "ext-42");
        assert_eq!(p.issuer.as_deref(), Some("https://login.example.com/"));
        assert!(p.use_pkce);
        assert!(ClientConfig::for_authorization_server("", "ext", "https://e/cb").is_err());
    }
}
