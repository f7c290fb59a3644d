//! Authorization-code exchange and refresh, per host format: the requests
//! to send and what the answers mean.
//!
//! * `oauth2`: RFC 6749 §4.1.3 (code) and §6 (refresh), form-encoded, with
//!   client authentication per §2.3.1 and PKCE per RFC 7636 §4.5. The token
//!   endpoint is configured, or found from the `issuer` by discovery (then
//!   [`OAuth2Client::token_endpoint`] is empty until [`super::TokenFlow`]
//!   fills it).
//! * `mia-console`: a host console that exchanges its own codes:
//!   `POST {consoleUrl}/api/oauth/token` with the JSON body
//!   `{"code":…,"state":…}` and nothing else.
//! * `mia-auth-service`: an authentication service:
//!   `POST {authServiceUrl}/oauth/token` with the JSON body
//!   `{"code":…,"state":…}`; the service answers with a `sid` session cookie
//!   (website apps) or a token JSON.
//!
//! Every URL passes the URL rule ([`UrlRule`]) of the options. Responses go
//! through [`parse_token_response`] (RFC 6749 §5.1 / §5.2) or, profile-aware,
//! [`parse_exchange_response`]. Left to the caller: sending the requests,
//! discovery and the ID Token's signature ([`super::TokenFlow`] says when).

use crate::prelude::*;

use crate::protocol::url::UrlRule;
use core::fmt;

use base64ct::{Base64, Encoding};

use super::http::{
    push_form_component, HttpRequest, HttpResponse, Secret, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES,
};
use crate::json;
use crate::protocol::token_response::{self, Members, TOKEN_ENDPOINT};
use crate::{Error, Result};

/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1,
/// OAuth 2.0 Dynamic Client Registration RFC 7591 §2 names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic` (default): HTTP Basic with the form-urlencoded id
    /// and secret (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body
    /// (for providers that refuse HTTP Basic).
    ClientSecretPost,
    /// `none`: a public client; only `client_id` in the body, and PKCE is
    /// mandatory (RFC 9700 §2.1.1).
    None,
}

impl ClientAuth {
    /// Parses the RFC 7591 name (`client_secret_basic`, `client_secret_post`, `none`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "none" => Ok(Self::None),
            _ => Err(Error::options(
                "clientAuth must be \"client_secret_basic\", \"client_secret_post\" or \"none\"",
            )),
        }
    }

    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// An OAuth 2.0 client registered at a token endpoint (RFC 6749 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Client {
    /// The token endpoint URL (RFC 6749 §3.2); empty to take it from the
    /// issuer's metadata ([`Self::issuer`] is then required).
    pub token_endpoint: String,
    /// The authorization server's issuer identifier (RFC 8414 §2, OpenID
    /// Connect Discovery §4.1): where its metadata is found (the token
    /// endpoint when not configured, the JWK Set of its ID Tokens), and
    /// what an ID Token's `iss` must equal.
    pub issuer: Option<String>,
    /// The issuer's JWK Set, for ID Token signatures; default: the
    /// metadata's `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`; required unless `client_auth` is [`ClientAuth::None`].
    pub client_secret: Option<Secret>,
    /// The client authentication method.
    pub client_auth: ClientAuth,
}

/// Where and how a code is exchanged: the host format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeProfile {
    /// `oauth2`: a standard OAuth 2.0 / OpenID Connect token endpoint.
    OAuth2(OAuth2Client),
    /// `mia-console`: a host console (the Mia-Platform Console).
    MiaConsole {
        /// The console base URL, e.g. `https://console.example` (a trailing slash is fine).
        console_url: String,
    },
    /// `mia-auth-service`: an authentication service (the Mia-Platform Authentication Service).
    MiaAuthService {
        /// The service base URL, e.g. `https://host.example` (a trailing slash is fine).
        auth_service_url: String,
    },
}

impl ExchangeProfile {
    /// The profile name used in options (`oauth2`, `mia-console`, `mia-auth-service`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::OAuth2(_) => "oauth2",
            Self::MiaConsole { .. } => "mia-console",
            Self::MiaAuthService { .. } => "mia-auth-service",
        }
    }

    /// Checks URLs (under `rule`) and the client authentication settings.
    pub fn validate(&self, rule: UrlRule) -> Result<()> {
        match self {
            Self::OAuth2(client) => {
                validate_endpoints(client, rule)?;
                validate_client(client)
            }
            Self::MiaConsole { console_url } => rule.base_url("consoleUrl", console_url).map(drop),
            Self::MiaAuthService { auth_service_url } => {
                rule.base_url("authServiceUrl", auth_service_url).map(drop)
            }
        }
    }
}

/// Options of `exchangeCode` (RFC 6749 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeOptions {
    /// The host format and its settings.
    pub profile: ExchangeProfile,
    /// The authorization `code` from the callback.
    pub code: Secret,
    /// The callback's `state`; required by `mia-console` and
    /// `mia-auth-service`, which check it themselves, and unused by `oauth2`
    /// (the client already checked it).
    pub state: Option<Secret>,
    /// The PKCE `code_verifier` (RFC 7636 §4.5); required with `client_auth: none`.
    pub code_verifier: Option<Secret>,
    /// The `redirect_uri` of the authorization request; required by `oauth2`.
    pub redirect_uri: Option<String>,
    /// The `nonce` of the authorization request (OpenID Connect Core
    /// §3.1.2.1), when one was sent: the ID Token must carry it.
    pub nonce: Option<Secret>,
    /// How long the caller should wait for the token endpoint.
    pub timeout_ms: u32,
    /// The URL rule every URL must pass ([`UrlRule::STRICT`] unless the
    /// caller opted out with `allowInsecureHttp`).
    pub rule: UrlRule,
}

impl ExchangeOptions {
    /// Options with no state, verifier, redirect URI or nonce, the default
    /// timeout and the strict URL rule.
    pub fn new(profile: ExchangeProfile, code: impl Into<Secret>) -> Self {
        Self {
            profile,
            code: code.into(),
            state: None,
            code_verifier: None,
            redirect_uri: None,
            nonce: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            rule: UrlRule::STRICT,
        }
    }
}

/// Options of `refreshTokens` (RFC 6749 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshOptions {
    /// The OAuth 2.0 client.
    pub client: OAuth2Client,
    /// The refresh token.
    pub refresh_token: Secret,
    /// An optional narrower `scope` (RFC 6749 §6).
    pub scope: Option<String>,
    /// How long the caller should wait for the token endpoint.
    pub timeout_ms: u32,
    /// The URL rule every URL must pass.
    pub rule: UrlRule,
}

/// The configured URLs of an `oauth2` client: a token endpoint or an issuer
/// to discover it from (RFC 8414 §2: no query or fragment), and the JWK Set.
fn validate_endpoints(client: &OAuth2Client, rule: UrlRule) -> Result<()> {
    if !client.token_endpoint.is_empty() {
        rule.endpoint("tokenEndpoint", &client.token_endpoint)?;
    }
    match &client.issuer {
        Some(issuer) => rule.base_url("issuer", issuer).map(drop)?,
        None if client.token_endpoint.is_empty() => {
            return Err(Error::options(
                "tokenEndpoint is required by the \"oauth2\" profile, or issuer to find it by discovery",
            ))
        }
        None => {}
    }
    if let Some(jwks_uri) = &client.jwks_uri {
        rule.endpoint("jwksUri", jwks_uri)?;
    }
    Ok(())
}

fn validate_client(client: &OAuth2Client) -> Result<()> {
    if client.client_id.is_empty() {
        return Err(Error::options("clientId is required"));
    }
    if client.client_auth != ClientAuth::None
        && client
            .client_secret
            .as_ref()
            .map_or(true, |s| s.expose_secret().is_empty())
    {
        return Err(Error::options(msg!(
            "clientSecret is required with clientAuth \"",
            client.client_auth.as_str(),
            "\" (use clientAuth \"none\" for a public client with PKCE)"
        )));
    }
    Ok(())
}

/// Builds the code-exchange request for the configured profile.
///
/// `oauth2` (RFC 6749 §4.1.3): `grant_type=authorization_code`, `code`,
/// `redirect_uri`, `code_verifier` when given, client authentication per
/// [`ClientAuth`]. `mia-console` / `mia-auth-service`: JSON `{"code","state"}`.
pub fn exchange_code_request(options: &ExchangeOptions) -> Result<HttpRequest> {
    check_exchange(options)?;
    let code = options.code.expose_secret();
    match &options.profile {
        ExchangeProfile::OAuth2(client) => {
            undiscovered(client)?;
            let redirect_uri = options.redirect_uri.as_deref().unwrap_or("");
            let mut params = vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ];
            if let Some(verifier) = &options.code_verifier {
                params.push(("code_verifier", verifier.expose_secret()));
            }
            Ok(form_request(client, params, options.timeout_ms))
        }
        ExchangeProfile::MiaConsole { console_url } => {
            let url = msg!(
                options.rule.base_url("consoleUrl", console_url)?,
                "/api/oauth/token"
            );
            json_code_state_request(url, code, options)
        }
        ExchangeProfile::MiaAuthService { auth_service_url } => {
            let url = msg!(
                options.rule.base_url("authServiceUrl", auth_service_url)?,
                "/oauth/token"
            );
            json_code_state_request(url, code, options)
        }
    }
}

/// Checks the options of a code exchange (everything but the token
/// endpoint, which may still have to be discovered).
pub(crate) fn check_exchange(options: &ExchangeOptions) -> Result<()> {
    options.profile.validate(options.rule)?;
    if options.code.expose_secret().is_empty() {
        return Err(Error::options("code is required"));
    }
    if let Some(verifier) = &options.code_verifier {
        check_code_verifier(verifier.expose_secret())?;
    }
    let ExchangeProfile::OAuth2(client) = &options.profile else {
        // The OAuth 2.0 / OpenID Connect settings mean nothing to the other
        // hosts: refused, not ignored (a verifier would not be sent, a
        // nonce not checked).
        return refuse_misplaced(
            options.profile.name(),
            &[
                ("redirectUri", options.redirect_uri.is_some()),
                ("codeVerifier", options.code_verifier.is_some()),
                ("nonce", options.nonce.is_some()),
            ],
        );
    };
    if options.redirect_uri.as_deref().unwrap_or("").is_empty() {
        return Err(Error::options(
            "redirectUri is required: pass the redirect_uri of the authorization request (RFC 6749 §4.1.3)",
        ));
    }
    if client.client_auth == ClientAuth::None && options.code_verifier.is_none() {
        return Err(Error::options(
            "codeVerifier is required for a public client (clientAuth \"none\"): PKCE protects its code (RFC 9700 §2.1.1)",
        ));
    }
    Ok(())
}

/// `invalid_options` naming the first of `fields` that is present (`true`):
/// a setting `profile` does not use fails loudly instead of being ignored.
pub(crate) fn refuse_misplaced(profile: &str, fields: &[(&str, bool)]) -> Result<()> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(Error::options(msg!(
            *field,
            " is not used by the \"",
            profile,
            "\" profile; remove it or pick another profile"
        ))),
        None => Ok(()),
    }
}

/// Checks the options of a refresh (everything but the token endpoint).
pub(crate) fn check_refresh(options: &RefreshOptions) -> Result<()> {
    validate_endpoints(&options.client, options.rule)?;
    validate_client(&options.client)?;
    if options.refresh_token.expose_secret().is_empty() {
        return Err(Error::options("refreshToken is required"));
    }
    Ok(())
}

/// Builds the refresh request (RFC 6749 §6): `grant_type=refresh_token`,
/// `refresh_token`, optional `scope`, client authentication per [`ClientAuth`].
pub fn refresh_request(options: &RefreshOptions) -> Result<HttpRequest> {
    check_refresh(options)?;
    undiscovered(&options.client)?;
    let refresh_token = options.refresh_token.expose_secret();
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = options.scope.as_deref().filter(|s| !s.is_empty()) {
        params.push(("scope", scope));
    }
    Ok(form_request(&options.client, params, options.timeout_ms))
}

/// A request needs the token endpoint: configured, or filled in from the
/// issuer's metadata by [`super::TokenFlow`] before the request is built.
fn undiscovered(client: &OAuth2Client) -> Result<()> {
    if client.token_endpoint.is_empty() {
        return Err(Error::options(
            "the token endpoint is not known yet: find it with discovery from the issuer first",
        ));
    }
    Ok(())
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub(crate) fn check_code_verifier(verifier: &str) -> Result<()> {
    let valid_chars = verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !(43..=128).contains(&verifier.len()) || !valid_chars {
        return Err(Error::options(
            "codeVerifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
        ));
    }
    Ok(())
}

fn json_code_state_request(
    url: String,
    code: &str,
    options: &ExchangeOptions,
) -> Result<HttpRequest> {
    let state = options
        .state
        .as_ref()
        .map(Secret::expose_secret)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::options(msg!(
                "state is required by the ",
                options.profile.name(),
                " profile: pass the state from the callback"
            ))
        })?;
    let mut body = String::from("{\"code\":");
    json::write_string(&mut body, code);
    body.push_str(",\"state\":");
    json::write_string(&mut body, state);
    body.push('}');
    Ok(HttpRequest {
        method: "POST",
        url,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(body),
        timeout_ms: options.timeout_ms,
    })
}

fn form_request<'a>(
    client: &'a OAuth2Client,
    mut params: Vec<(&'a str, &'a str)>,
    timeout_ms: u32,
) -> HttpRequest {
    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    let secret = client
        .client_secret
        .as_ref()
        .map(Secret::expose_secret)
        .unwrap_or("");
    match client.client_auth {
        ClientAuth::ClientSecretBasic => {
            headers.push((
                "Authorization".to_owned(),
                basic_authorization(&client.client_id, secret),
            ));
        }
        ClientAuth::ClientSecretPost => {
            params.push(("client_id", &client.client_id));
            params.push(("client_secret", secret));
        }
        ClientAuth::None => params.push(("client_id", &client.client_id)),
    }
    let mut body = String::new();
    for (name, value) in params {
        if !body.is_empty() {
            body.push('&');
        }
        push_form_component(&mut body, name);
        body.push('=');
        push_form_component(&mut body, value);
    }
    HttpRequest {
        method: "POST",
        url: client.token_endpoint.clone(),
        headers,
        body: Some(body),
        timeout_ms,
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1,
/// encoding per RFC 6749 Appendix B, so a space becomes `+`).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let mut credentials = String::new();
    push_form_component(&mut credentials, client_id);
    credentials.push(':');
    push_form_component(&mut credentials, client_secret);
    msg!("Basic ", Base64::encode_string(credentials.as_bytes()))
}

/// Tokens from a token endpoint (RFC 6749 §5.1).
///
/// `Debug` redacts every token and the raw JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// `access_token`.
    pub access_token: String,
    /// `token_type` as sent; `None` when the server omitted it (a console
    /// may). When present it is always `Bearer` (any case): other
    /// types (DPoP, MAC) are refused because the helpers cannot use them.
    pub token_type: Option<String>,
    /// `expires_in`, seconds from the response.
    pub expires_in: Option<u64>,
    /// An absolute expiry in seconds since the epoch, when the host sends one
    /// (`expiresAt` from the Mia-Platform services) instead of `expires_in`.
    pub expires_at: Option<u64>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `id_token` (OpenID Connect Core §3.1.3.3). Not verified here:
    /// [`super::TokenFlow`] has it validated before it hands it out.
    pub id_token: Option<String>,
    /// `scope` granted (RFC 6749 §5.1).
    pub scope: Option<String>,
    /// The response body as received (empty for a cookie-only session).
    pub raw_json: String,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |present: bool| if present { "[redacted]" } else { "None" };
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &redacted(self.refresh_token.is_some()))
            .field("id_token", &redacted(self.id_token.is_some()))
            .field("scope", &self.scope)
            .field("raw_json", &"[redacted]")
            .finish()
    }
}

impl TokenSet {
    /// Seconds until expiry at `now_sec`, from `expires_in` or `expires_at`.
    /// `issued_at_sec` is when the response arrived (for `expires_in`).
    pub fn lifetime_sec(&self, now_sec: u64, issued_at_sec: u64) -> Option<u64> {
        if let Some(expires_in) = self.expires_in {
            return Some(
                issued_at_sec
                    .saturating_add(expires_in)
                    .saturating_sub(now_sec),
            );
        }
        self.expires_at.map(|at| at.saturating_sub(now_sec))
    }
}

/// Parses a token endpoint response (RFC 6749 §5.1 success, §5.2 error)
/// by the shared rules of [`crate::protocol::token_response`]: errors are
/// `token_endpoint_error` with the status (5xx, 408 and 429 retryable) and
/// the conforming OAuth error fields; a 2xx body must be a JSON object
/// without `error`, with a non-empty `access_token`; `token_type`, when
/// present, must be `Bearer` (any case); `expires_in` a non-negative number
/// (or a string of at most 19 digits); bodies over [`MAX_RESPONSE_BYTES`]
/// are refused.
pub fn parse_token_response(response: &HttpResponse) -> Result<TokenSet> {
    parse_tokens(response, Members::OAuth)
}

/// Parses the response of [`exchange_code_request`] for `profile`.
///
/// `oauth2` is [`parse_token_response`]. The Mia-Platform profiles also accept
/// camelCase members (`accessToken`, `refreshToken`, `expiresAt`), and
/// `mia-auth-service` accepts a cookie-only answer: a 2xx whose `Set-Cookie`
/// holds the `sid` session token (an authentication service's website apps).
pub fn parse_exchange_response(
    profile: &ExchangeProfile,
    response: &HttpResponse,
) -> Result<TokenSet> {
    match profile {
        ExchangeProfile::OAuth2(_) => parse_tokens(response, Members::OAuth),
        ExchangeProfile::MiaConsole { .. } => parse_tokens(response, Members::MiaPlatform),
        ExchangeProfile::MiaAuthService { .. } => {
            if is_success(response.status) {
                if let Some(tokens) = session_cookie_tokens(response) {
                    return Ok(tokens);
                }
            }
            parse_tokens(response, Members::MiaPlatform)
        }
    }
}

fn is_success(status: u16) -> bool {
    token_response::is_success(status)
}

/// The token response rules of [`crate::protocol::token_response`], with
/// the body kept as `raw_json`.
fn parse_tokens(response: &HttpResponse, members: Members) -> Result<TokenSet> {
    let tokens = token_response::read_response(
        TOKEN_ENDPOINT,
        response.status,
        &response.body,
        MAX_RESPONSE_BYTES,
        members,
    )?;
    Ok(TokenSet {
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_in: tokens.expires_in,
        expires_at: tokens.expires_at,
        refresh_token: tokens.refresh_token,
        id_token: tokens.id_token,
        scope: tokens.scope,
        // It parsed as JSON, so it is UTF-8 (no lossy decoder in the wasm).
        raw_json: core::str::from_utf8(&response.body)
            .map(str::to_owned)
            .unwrap_or_default(),
    })
}

/// The `sid` session cookie a Mia-Platform Authentication Service sets.
fn session_cookie_tokens(response: &HttpResponse) -> Option<TokenSet> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| {
            let mut parts = value.split(';');
            let (name, token) = parts.next()?.trim().split_once('=')?;
            if name != "sid" || token.is_empty() {
                return None;
            }
            let max_age = parts.find_map(|attr| {
                let (key, value) = attr.trim().split_once('=')?;
                key.eq_ignore_ascii_case("max-age")
                    .then(|| value.trim().parse::<u64>().ok())
                    .flatten()
            });
            Some(TokenSet {
                access_token: token.to_owned(),
                token_type: None,
                expires_in: max_age,
                expires_at: None,
                refresh_token: None,
                id_token: None,
                scope: None,
                raw_json: String::new(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn client(auth: ClientAuth) -> OAuth2Client {
        OAuth2Client {
            token_endpoint: "https://as.example/token".into(),
            issuer: None,
            jwks_uri: None,
            client_id: "ext-1".into(),
            client_secret: Some("s3cret".into()),
            client_auth: auth,
        }
    }

    fn oauth2_options(auth: ClientAuth) -> ExchangeOptions {
        let mut options = ExchangeOptions::new(ExchangeProfile::OAuth2(client(auth)), "c0de/+ x");
        options.redirect_uri = Some("https://ext.example/cb?x=1".into());
        options.code_verifier = Some(VERIFIER.into());
        options
    }

    #[test]
    fn oauth2_basic_request_is_exact() {
        let request =
            exchange_code_request(&oauth2_options(ClientAuth::ClientSecretBasic)).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://as.example/token");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(
            request.header("authorization"),
            Some(format!("Basic {}", Base64::encode_string(b"ext-1:s3cret")).as_str())
        );
        assert_eq!(
            request.body.as_deref(),
            Some(
                "grant_type=authorization_code&code=c0de%2F%2B+x\
                 &redirect_uri=https%3A%2F%2Fext.example%2Fcb%3Fx%3D1\
                 &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            )
        );
        assert_eq!(request.timeout_ms, DEFAULT_TIMEOUT_MS);
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        // RFC 6749 §2.3.1 + Appendix B: ':' → %3A, '+' → %2B, ' ' → '+', '%' → %25.
        let header = basic_authorization("id:1", "a:b+c d%e");
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = Base64::decode_vec(encoded).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%3A1:a%3Ab%2Bc+d%25e"
        );
        let header = basic_authorization("é", "");
        let decoded = Base64::decode_vec(header.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "%C3%A9:");
    }

    #[test]
    fn oauth2_post_and_none_put_credentials_in_the_body() {
        let request = exchange_code_request(&oauth2_options(ClientAuth::ClientSecretPost)).unwrap();
        assert_eq!(request.header("authorization"), None);
        assert!(request
            .body
            .as_deref()
            .unwrap()
            .ends_with("&client_id=ext-1&client_secret=s3cret"));

        let mut options = oauth2_options(ClientAuth::None);
        if let ExchangeProfile::OAuth2(c) = &mut options.profile {
            c.client_secret = None;
        }
        let request = exchange_code_request(&options).unwrap();
        assert_eq!(request.header("authorization"), None);
        let body = request.body.unwrap();
        assert!(body.ends_with("&client_id=ext-1"), "{body}");
        assert!(!body.contains("client_secret"));
    }

    #[test]
    fn oauth2_without_pkce_for_seed_002() {
        let mut options = oauth2_options(ClientAuth::ClientSecretPost);
        options.code_verifier = None;
        options.code = "abc".into();
        options.redirect_uri = Some("https://api.jetadmin.io/complete/custom_oauth_2/".into());
        let request = exchange_code_request(&options).unwrap();
        assert_eq!(
            request.body.as_deref(),
            Some(
                "grant_type=authorization_code&code=abc\
                 &redirect_uri=https%3A%2F%2Fapi.jetadmin.io%2Fcomplete%2Fcustom_oauth_2%2F\
                 &client_id=ext-1&client_secret=s3cret"
            )
        );
    }

    #[test]
    fn oauth2_option_errors() {
        let mut options = oauth2_options(ClientAuth::ClientSecretBasic);
        options.redirect_uri = None;
        assert!(exchange_code_request(&options)
            .unwrap_err()
            .message()
            .contains("redirectUri"));

        let mut options = oauth2_options(ClientAuth::None);
        options.code_verifier = None;
        assert!(exchange_code_request(&options)
            .unwrap_err()
            .message()
            .contains("codeVerifier"));

        let mut options = oauth2_options(ClientAuth::ClientSecretBasic);
        options.code_verifier = Some("short".into());
        assert_eq!(
            exchange_code_request(&options).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );

        let mut options = oauth2_options(ClientAuth::ClientSecretPost);
        if let ExchangeProfile::OAuth2(c) = &mut options.profile {
            c.client_secret = None;
        }
        let err = exchange_code_request(&options).unwrap_err();
        assert!(err.message().contains("clientSecret"), "{}", err.message());

        let mut options = oauth2_options(ClientAuth::ClientSecretBasic);
        if let ExchangeProfile::OAuth2(c) = &mut options.profile {
            c.token_endpoint = "http://as.example/token".into();
        }
        assert!(exchange_code_request(&options)
            .unwrap_err()
            .message()
            .contains("https"));

        let mut options = oauth2_options(ClientAuth::ClientSecretBasic);
        options.code = "".into();
        assert!(exchange_code_request(&options).is_err());
        assert_eq!(
            ClientAuth::parse("client_secret_jwt").unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert_eq!(
            ClientAuth::parse("client_secret_post").unwrap(),
            ClientAuth::ClientSecretPost
        );
    }

    #[test]
    fn mia_console_request_is_exact() {
        let mut options = ExchangeOptions::new(
            ExchangeProfile::MiaConsole {
                console_url: "https://console.example/".into(),
            },
            "CODE\"1",
        );
        options.state = Some("STATE".into());
        let request = exchange_code_request(&options).unwrap();
        assert_eq!(request.url, "https://console.example/api/oauth/token");
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.body.as_deref(),
            Some(r#"{"code":"CODE\"1","state":"STATE"}"#)
        );

        options.state = None;
        assert!(exchange_code_request(&options)
            .unwrap_err()
            .message()
            .contains("state is required by the mia-console profile"));

        // The oauth2 settings of a code exchange are refused, not ignored: a
        // codeVerifier would not be sent (no PKCE), a nonce not checked.
        options.state = Some("STATE".into());
        for (field, set) in [
            (
                "redirectUri",
                (|o: &mut ExchangeOptions| o.redirect_uri = Some("https://x.example/cb".into()))
                    as fn(&mut ExchangeOptions),
            ),
            ("codeVerifier", |o| o.code_verifier = Some(VERIFIER.into())),
            ("nonce", |o| o.nonce = Some("n".into())),
        ] {
            let mut misplaced = options.clone();
            set(&mut misplaced);
            let err = exchange_code_request(&misplaced).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidOptions, "{field}");
            assert!(
                err.message().contains(&format!(
                    "{field} is not used by the \"mia-console\" profile"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn mia_auth_service_request_is_exact() {
        let mut options = ExchangeOptions::new(
            ExchangeProfile::MiaAuthService {
                auth_service_url: "http://127.0.0.1:3000".into(),
            },
            "c",
        );
        options.state = Some("s".into());
        let request = exchange_code_request(&options).unwrap();
        assert_eq!(request.url, "http://127.0.0.1:3000/oauth/token");
        assert_eq!(request.body.as_deref(), Some(r#"{"code":"c","state":"s"}"#));
    }

    #[test]
    fn refresh_request_is_exact() {
        let options = RefreshOptions {
            client: client(ClientAuth::ClientSecretPost),
            refresh_token: "1//r+t".into(),
            scope: Some("openid profile".into()),
            timeout_ms: 5000,
            rule: UrlRule::STRICT,
        };
        let request = refresh_request(&options).unwrap();
        assert_eq!(request.url, "https://as.example/token");
        assert_eq!(request.timeout_ms, 5000);
        assert_eq!(
            request.body.as_deref(),
            Some(
                "grant_type=refresh_token&refresh_token=1%2F%2Fr%2Bt&scope=openid+profile\
                 &client_id=ext-1&client_secret=s3cret"
            )
        );
        let mut basic = options.clone();
        basic.client.client_auth = ClientAuth::ClientSecretBasic;
        basic.scope = None;
        let request = refresh_request(&basic).unwrap();
        assert_eq!(
            request.body.as_deref(),
            Some("grant_type=refresh_token&refresh_token=1%2F%2Fr%2Bt")
        );
        assert!(request
            .header("authorization")
            .unwrap()
            .starts_with("Basic "));
        let mut empty = options;
        empty.refresh_token = "".into();
        assert_eq!(
            refresh_request(&empty).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
    }

    #[test]
    fn parses_a_full_success() {
        let body = r#"{"token_type":"bearer","access_token":"at","expires_in":3599,
            "refresh_token":"rt","scope":"openid email","id_token":"a.b.c"}"#;
        let tokens = parse_token_response(&HttpResponse::new(200, body)).unwrap();
        assert_eq!(tokens.access_token, "at");
        assert_eq!(tokens.token_type.as_deref(), Some("bearer"));
        assert_eq!(tokens.expires_in, Some(3599));
        assert_eq!(tokens.refresh_token.as_deref(), Some("rt"));
        assert_eq!(tokens.id_token.as_deref(), Some("a.b.c"));
        assert_eq!(tokens.scope.as_deref(), Some("openid email"));
        assert_eq!(tokens.raw_json, body);
        assert_eq!(tokens.lifetime_sec(110, 100), Some(3589));
    }

    #[test]
    fn tolerates_missing_token_type_and_quoted_expiry() {
        let tokens = parse_token_response(&HttpResponse::new(
            200,
            r#"{"access_token":"at","expires_in":"60","id_token":null}"#,
        ))
        .unwrap();
        assert_eq!(tokens.token_type, None);
        assert_eq!(tokens.expires_in, Some(60));
        assert_eq!(tokens.id_token, None);
    }

    #[test]
    fn success_failures_are_token_endpoint_errors() {
        for body in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":42}"#,
            r#"{"access_token":"at","token_type":"DPoP"}"#,
            r#"{"access_token":"at","expires_in":-1}"#,
            r#"{"access_token":"at","expires_in":"soon"}"#,
            r#"{"access_token":"at","refresh_token":{}}"#,
            r#"{"access_token":"at","access_token":"dup"}"#,
            "not json",
            "[]",
            "",
        ] {
            let err = parse_token_response(&HttpResponse::new(200, body)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TokenEndpointError, "{body}");
            assert!(!err.is_retryable(), "{body}");
            assert!(!err.message().contains("\"at\""), "{}", err.message());
        }
    }

    #[test]
    fn oauth_error_body_becomes_fields_and_status() {
        let body = r#"{"error":"invalid_grant","error_description":"code already used","error_uri":"https://as.example/e"}"#;
        let err = parse_token_response(&HttpResponse::new(400, body)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_retryable());
        let oauth = err.oauth().unwrap();
        assert_eq!(oauth.error, "invalid_grant");
        assert_eq!(
            oauth.error_description.as_deref(),
            Some("code already used")
        );
        assert_eq!(oauth.error_uri.as_deref(), Some("https://as.example/e"));
        assert!(err.message().contains("invalid_grant"));

        let err = parse_token_response(&HttpResponse::new(401, r#"{"error":"invalid_client"}"#))
            .unwrap_err();
        assert!(err.message().contains("clientSecret"), "{}", err.message());

        // A 200 carrying an error is still an error.
        let err = parse_token_response(&HttpResponse::new(
            200,
            r#"{"error":"bad_verification_code"}"#,
        ))
        .unwrap_err();
        assert_eq!(err.oauth().unwrap().error, "bad_verification_code");
        assert_eq!(err.status(), Some(200));
    }

    #[test]
    fn server_errors_are_retryable() {
        let err = parse_token_response(&HttpResponse::new(500, "<html>oops</html>")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert_eq!(err.status(), Some(500));
        assert!(err.is_retryable());
        assert!(err.oauth().is_none());
        let err = parse_token_response(&HttpResponse::new(
            503,
            r#"{"error":"temporarily_unavailable"}"#,
        ))
        .unwrap_err();
        assert!(err.is_retryable());
        let err = parse_token_response(&HttpResponse::new(404, "")).unwrap_err();
        assert!(!err.is_retryable());
    }

    #[test]
    fn oversized_body_is_refused() {
        let mut body = br#"{"access_token":"at","pad":""#.to_vec();
        body.resize(MAX_RESPONSE_BYTES + 1, b'a');
        let err = parse_token_response(&HttpResponse::new(200, body)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenEndpointError);
        assert!(err.message().contains("larger than"));
    }

    #[test]
    fn unprintable_error_codes_are_not_echoed() {
        let err =
            parse_token_response(&HttpResponse::new(400, r#"{"error":"a\"b\u0001"}"#)).unwrap_err();
        assert!(err.message().contains("(unprintable)"), "{}", err.message());
        assert!(err.oauth().is_none());
    }

    #[test]
    fn mia_profiles_accept_camel_case_and_cookie_sessions() {
        let console = ExchangeProfile::MiaConsole {
            console_url: "https://console.example".into(),
        };
        let tokens = parse_exchange_response(
            &console,
            &HttpResponse::new(
                200,
                r#"{"accessToken":"at","refreshToken":"rt","expiresAt":1700000000}"#,
            ),
        )
        .unwrap();
        assert_eq!(tokens.access_token, "at");
        assert_eq!(tokens.refresh_token.as_deref(), Some("rt"));
        assert_eq!(tokens.expires_at, Some(1_700_000_000));
        assert_eq!(tokens.lifetime_sec(1_699_999_000, 0), Some(1000));

        // The generic parser does not accept camelCase.
        assert!(parse_token_response(&HttpResponse::new(200, r#"{"accessToken":"at"}"#)).is_err());

        let auth = ExchangeProfile::MiaAuthService {
            auth_service_url: "https://host.example".into(),
        };
        let mut response = HttpResponse::new(200, "");
        response.headers = vec![
            ("Set-Cookie".into(), "other=1; Path=/".into()),
            (
                "set-cookie".into(),
                "sid=eyJ.x.y; Path=/; HttpOnly; Max-Age=3600".into(),
            ),
        ];
        let tokens = parse_exchange_response(&auth, &response).unwrap();
        assert_eq!(tokens.access_token, "eyJ.x.y");
        assert_eq!(tokens.expires_in, Some(3600));
        assert_eq!(tokens.raw_json, "");

        response.headers.pop();
        assert!(parse_exchange_response(&auth, &response).is_err());
        let err = parse_exchange_response(
            &auth,
            &HttpResponse::new(400, r#"{"error":"invalid_request"}"#),
        )
        .unwrap_err();
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn token_set_debug_redacts_tokens() {
        let tokens = parse_token_response(&HttpResponse::new(
            200,
            r#"{"access_token":"AT-SECRET","refresh_token":"RT-SECRET","id_token":"ID-SECRET","scope":"openid"}"#,
        ))
        .unwrap();
        let printed = format!("{tokens:?}");
        for secret in ["AT-SECRET", "RT-SECRET", "ID-SECRET"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("openid"), "{printed}");
        let options = oauth2_options(ClientAuth::ClientSecretBasic);
        let printed = format!("{options:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("c0de") && !printed.contains(VERIFIER),
            "{printed}"
        );
    }

    proptest::proptest! {
        #[test]
        fn token_parsers_never_panic(status in 0u16..1000, body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let response = HttpResponse::new(status, body);
            let _ = parse_token_response(&response);
            let _ = parse_exchange_response(&ExchangeProfile::MiaAuthService { auth_service_url: "https://h.example".into() }, &response);
        }

        #[test]
        fn token_parser_on_json_like_bodies(body in r#"\{("[a-z_]{1,14}":("[a-zA-Z]{0,5}"|-?[0-9]{1,3}|null|\{\}),?){0,5}\}"#) {
            let _ = parse_token_response(&HttpResponse::new(200, body.clone()));
            let _ = parse_token_response(&HttpResponse::new(400, body));
        }
    }
}
