//! One token request and what it needs around it (see [`TokenFlow`]).

use crate::json::{self, Value};
use crate::prelude::*;
use crate::protocol::discovery::{Discovery, DiscoveryStep, ServerMetadata};
use crate::{Error, ErrorCode, Result};

use super::exchange::{
    check_exchange, check_refresh, exchange_code_request, parse_exchange_response,
    parse_token_response, refresh_request, ExchangeOptions, ExchangeProfile, OAuth2Client,
    RefreshOptions, TokenSet,
};
use super::http::{HttpRequest, HttpResponse};
use super::id_token::{at_hash_digest, check_at_hash, check_id_token, IdTokenRules, NonceCheck};

/// A step the flow did not ask for (a bug of its caller).
fn out_of_order() -> Error {
    Error::options("the token flow was driven out of order: follow next()")
}

/// The grant a [`TokenFlow`] makes.
#[derive(Debug)]
pub enum Grant {
    /// The authorization code grant (RFC 6749 §4.1.3).
    Code(ExchangeOptions),
    /// A refresh (RFC 6749 §6); never checked against a `nonce`.
    Refresh(RefreshOptions),
}

/// Which server a request goes to (for the caller's network error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// The issuer's metadata document (discovery).
    Discovery,
    /// The token endpoint.
    TokenEndpoint,
}

impl Server {
    /// `discovery document` or `token endpoint`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery document",
            Self::TokenEndpoint => "token endpoint",
        }
    }
}

/// What a [`TokenFlow`] needs next.
#[derive(Debug)]
pub enum FlowStep<'a> {
    /// Send `request` (no redirects followed, within its timeout, the body
    /// capped) and pass the answer to [`TokenFlow::answer`].
    Send {
        /// The request.
        request: HttpRequest,
        /// The server it goes to.
        server: Server,
    },
    /// Verify `id_token` with a JWT verifier for the JWK Set at `jwks_uri`
    /// (fetched within `timeout_ms`, as every request of the flow),
    /// `issuer` as the issuer and `client_id` as the audience (signature,
    /// `iss`, `aud`, `exp`, `iat`), then pass its claims to
    /// [`TokenFlow::id_token_verified`].
    VerifyIdToken {
        /// The ID Token.
        id_token: &'a str,
        /// The issuer it must name.
        issuer: &'a str,
        /// Where the issuer's signing keys are.
        jwks_uri: &'a str,
        /// The audience it must name.
        client_id: &'a str,
        /// How long the JWK Set request may take, in milliseconds.
        timeout_ms: u32,
    },
    /// Hash the ASCII `input` (the access token) with `algorithm`
    /// (`SHA-256`, `SHA-384` or `SHA-512`) and pass the digest to
    /// [`TokenFlow::digested`]: the ID Token's `at_hash` is checked against it.
    Digest {
        /// The hash, by its WebCrypto name.
        algorithm: &'static str,
        /// What to hash.
        input: &'a str,
    },
    /// Finished: [`TokenFlow::tokens`] (and [`TokenFlow::id_token_claims`]).
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Discover,
    Token,
    VerifyIdToken,
    Digest(&'static str),
    Done,
}

/// A token request (code exchange or refresh) with the discovery before it
/// and the ID Token validation after it, as a state machine the caller
/// drives with [`Self::next`] and does the I/O for.
///
/// Decided here:
/// 1. whether the issuer's metadata (OpenID Connect Discovery 1.0, RFC 8414:
///    [`crate::protocol::discovery`]) is needed: before the token request
///    when the token endpoint is not configured (a configured one wins),
///    after it when an ID Token came and the JWK Set is not configured;
/// 2. what the token endpoint's answer means (per host format);
/// 3. that an ID Token is never handed out unvalidated (OpenID Connect Core
///    §3.1.3.7): with the `oauth2` profile it is verified against the
///    issuer's JWK Set, and its `sub`, `iat`, `azp`, `nonce` and `at_hash`
///    checked ([`super::id_token`]; the caller makes the hash of `at_hash`,
///    as it makes the signature check); without a configured `issuer` there is
///    nothing to check it against, which is `invalid_options` saying so.
///    The Mia-Platform profiles are not OpenID Connect flows: an `id_token`
///    they send is dropped, never passed on.
///
/// Left to the caller: sending the requests, the JWT verification of the
/// ID Token's signature, and caching the metadata or the verifier across
/// flows.
#[derive(Debug)]
pub struct TokenFlow {
    grant: Grant,
    stage: Stage,
    discovery: Option<Discovery>,
    metadata: Option<ServerMetadata>,
    tokens: Option<TokenSet>,
    id_token_claims: Option<String>,
}

impl TokenFlow {
    /// A code exchange; `invalid_options` for options it cannot make.
    pub fn code(options: ExchangeOptions) -> Result<Self> {
        check_exchange(&options)?;
        Self::start(Grant::Code(options))
    }

    /// A refresh; `invalid_options` for options it cannot make.
    pub fn refresh(options: RefreshOptions) -> Result<Self> {
        check_refresh(&options)?;
        Self::start(Grant::Refresh(options))
    }

    fn start(grant: Grant) -> Result<Self> {
        let mut flow = Self {
            grant,
            stage: Stage::Token,
            discovery: None,
            metadata: None,
            tokens: None,
            id_token_claims: None,
        };
        if flow
            .client()
            .is_some_and(|client| client.token_endpoint.is_empty())
        {
            flow.discover()?;
        }
        Ok(flow)
    }

    fn client(&self) -> Option<&OAuth2Client> {
        match &self.grant {
            Grant::Code(options) => match &options.profile {
                ExchangeProfile::OAuth2(client) => Some(client),
                _ => None,
            },
            Grant::Refresh(options) => Some(&options.client),
        }
    }

    fn client_mut(&mut self) -> Option<&mut OAuth2Client> {
        match &mut self.grant {
            Grant::Code(options) => match &mut options.profile {
                ExchangeProfile::OAuth2(client) => Some(client),
                _ => None,
            },
            Grant::Refresh(options) => Some(&mut options.client),
        }
    }

    fn discover(&mut self) -> Result<()> {
        let rule = match &self.grant {
            Grant::Code(options) => options.rule,
            Grant::Refresh(options) => options.rule,
        };
        let issuer = self
            .client()
            .and_then(|client| client.issuer.as_deref())
            .ok_or_else(|| Error::options("issuer is required to find the server's metadata"))?;
        self.discovery = Some(Discovery::new(issuer, rule)?);
        self.stage = Stage::Discover;
        Ok(())
    }

    fn timeout_ms(&self) -> u32 {
        match &self.grant {
            Grant::Code(options) => options.timeout_ms,
            Grant::Refresh(options) => options.timeout_ms,
        }
    }

    /// What to do next.
    pub fn next(&self) -> Result<FlowStep<'_>> {
        match self.stage {
            Stage::Discover => {
                let url = self.discovery.as_ref().map_or("", Discovery::url);
                Ok(FlowStep::Send {
                    request: HttpRequest {
                        method: "GET",
                        url: url.to_owned(),
                        headers: vec![("Accept".into(), "application/json".into())],
                        body: None,
                        timeout_ms: self.timeout_ms(),
                    },
                    server: Server::Discovery,
                })
            }
            Stage::Token => Ok(FlowStep::Send {
                request: match &self.grant {
                    Grant::Code(options) => exchange_code_request(options)?,
                    Grant::Refresh(options) => refresh_request(options)?,
                },
                server: Server::TokenEndpoint,
            }),
            Stage::VerifyIdToken => {
                let id_token = self.tokens.as_ref().and_then(|t| t.id_token.as_deref());
                let client = self.client();
                let issuer = client.and_then(|c| c.issuer.as_deref());
                let jwks_uri = self.jwks_uri();
                match (id_token, client, issuer, jwks_uri) {
                    (Some(id_token), Some(client), Some(issuer), Some(jwks_uri)) => {
                        Ok(FlowStep::VerifyIdToken {
                            id_token,
                            issuer,
                            jwks_uri,
                            client_id: &client.client_id,
                            timeout_ms: self.timeout_ms(),
                        })
                    }
                    _ => Err(out_of_order()),
                }
            }
            Stage::Digest(algorithm) => Ok(FlowStep::Digest {
                algorithm,
                input: self.tokens.as_ref().map_or("", |t| t.access_token.as_str()),
            }),
            Stage::Done => Ok(FlowStep::Done),
        }
    }

    fn jwks_uri(&self) -> Option<&str> {
        self.client()
            .and_then(|client| client.jwks_uri.as_deref())
            .or_else(|| self.metadata.as_ref().and_then(|m| m.jwks_uri.as_deref()))
    }

    /// Reads the answer to the request of the last [`FlowStep::Send`]: the
    /// discovery's or the token endpoint's error, or `Ok` to go on.
    pub fn answer(&mut self, response: &HttpResponse) -> Result<()> {
        match self.stage {
            Stage::Discover => {
                let Some(discovery) = &mut self.discovery else {
                    return Err(out_of_order());
                };
                match discovery.answer(response.status, &response.body)? {
                    DiscoveryStep::Fetch(_) => Ok(()),
                    DiscoveryStep::Found(metadata) => self.found(metadata),
                }
            }
            Stage::Token => {
                let tokens = match &self.grant {
                    Grant::Code(options) => parse_exchange_response(&options.profile, response)?,
                    Grant::Refresh(_) => parse_token_response(response)?,
                };
                self.tokens = Some(tokens);
                self.after_tokens()
            }
            Stage::VerifyIdToken | Stage::Digest(_) | Stage::Done => Err(out_of_order()),
        }
    }

    fn found(&mut self, metadata: ServerMetadata) -> Result<()> {
        let token_endpoint = metadata.token_endpoint.clone();
        self.metadata = Some(metadata);
        if let Some(client) = self.client_mut() {
            if client.token_endpoint.is_empty() {
                client.token_endpoint = token_endpoint.ok_or_else(|| {
                    Error::new(
                        ErrorCode::DiscoveryFailed,
                        "the issuer's metadata names no token_endpoint: configure tokenEndpoint",
                    )
                })?;
            }
        }
        if self.tokens.is_none() {
            self.stage = Stage::Token;
            Ok(())
        } else {
            self.after_tokens()
        }
    }

    fn after_tokens(&mut self) -> Result<()> {
        let has_id_token = self.tokens.as_ref().is_some_and(|t| t.id_token.is_some());
        if !has_id_token {
            self.stage = Stage::Done;
            return Ok(());
        }
        let Some(client) = self.client() else {
            // Not an OpenID Connect flow: nothing to check an ID Token
            // against, so it is not handed out.
            if let Some(tokens) = &mut self.tokens {
                tokens.id_token = None;
            }
            self.stage = Stage::Done;
            return Ok(());
        };
        if client.issuer.is_none() {
            return Err(Error::options(
                "the token endpoint returned an ID Token, which is only handed out validated \
                 (OpenID Connect Core §3.1.3.7): pass issuer (the OpenID Provider's issuer \
                 identifier; its metadata gives the signing keys, or pass jwksUri too)",
            ));
        }
        if self.jwks_uri().is_some() {
            self.stage = Stage::VerifyIdToken;
            return Ok(());
        }
        if self.metadata.is_some() {
            return Err(Error::new(
                ErrorCode::DiscoveryFailed,
                "the issuer's metadata names no jwks_uri, so its ID Tokens cannot be verified: configure jwksUri",
            ));
        }
        self.discover()
    }

    /// Checks the claims of the ID Token that the JWT verifier accepted
    /// ([`FlowStep::VerifyIdToken`]): `sub`, `iat`, `azp`, `nonce`
    /// ([`super::id_token`]); an `at_hash` is checked next ([`FlowStep::Digest`]).
    pub fn id_token_verified(&mut self, claims_json: &str) -> Result<()> {
        if self.stage != Stage::VerifyIdToken {
            return Err(out_of_order());
        }
        let Ok(Value::Object(claims)) = json::parse(claims_json) else {
            return Err(Error::options(
                "the verified ID Token claims are not a JSON object",
            ));
        };
        let nonce = match &self.grant {
            Grant::Code(options) => options.nonce.as_ref().map_or(NonceCheck::NoneSent, |n| {
                NonceCheck::Sent(n.expose_secret())
            }),
            Grant::Refresh(_) => NonceCheck::Refresh,
        };
        let rules = IdTokenRules {
            client_id: self.client().map_or("", |c| c.client_id.as_str()),
            nonce,
        };
        check_id_token(&claims, &rules)?;
        let id_token = self.tokens.as_ref().and_then(|t| t.id_token.as_deref());
        let digest = at_hash_digest(id_token.unwrap_or_default(), &claims)?;
        self.id_token_claims = Some(claims_json.to_owned());
        self.stage = match digest {
            Some(algorithm) => Stage::Digest(algorithm),
            None => Stage::Done,
        };
        Ok(())
    }

    /// The digest [`FlowStep::Digest`] asked for: the ID Token's `at_hash`
    /// must be its left half (`invalid_claim` otherwise).
    pub fn digested(&mut self, digest: &[u8]) -> Result<()> {
        let Stage::Digest(_) = self.stage else {
            return Err(out_of_order());
        };
        let claims = self.id_token_claims.as_deref().map(json::parse);
        let Some(Ok(Value::Object(claims))) = claims else {
            return Err(out_of_order());
        };
        check_at_hash(&claims, digest)?;
        self.stage = Stage::Done;
        Ok(())
    }

    /// The tokens, once the flow is done ([`FlowStep::Done`]).
    pub fn tokens(&self) -> Option<&TokenSet> {
        match self.stage {
            Stage::Done => self.tokens.as_ref(),
            _ => None,
        }
    }

    /// The validated ID Token's claims (JSON text), when one came.
    pub fn id_token_claims(&self) -> Option<&str> {
        self.id_token_claims.as_deref()
    }

    /// The metadata discovery found, if discovery ran.
    pub fn metadata(&self) -> Option<&ServerMetadata> {
        self.metadata.as_ref()
    }

    /// The code exchange's options (`None` for a refresh).
    pub fn exchange(&self) -> Option<&ExchangeOptions> {
        match &self.grant {
            Grant::Code(options) => Some(options),
            Grant::Refresh(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::url::UrlRule;
    use crate::server::exchange::ClientAuth;
    use crate::server::http::{Secret, DEFAULT_TIMEOUT_MS};

    const ISSUER: &str = "https://op.example/tenant";
    const METADATA: &str = r#"{"issuer":"https://op.example/tenant","token_endpoint":"https://op.example/tenant/token","jwks_uri":"https://op.example/tenant/jwks"}"#;
    const TOKENS: &str = r#"{"access_token":"at","token_type":"Bearer","id_token":"h.p.s"}"#;
    const CLAIMS: &str = r#"{"iss":"https://op.example/tenant","sub":"u1","aud":"c1","iat":1,"exp":2,"nonce":"n1","email":"u@x.example"}"#;

    fn client(token_endpoint: &str, issuer: Option<&str>) -> OAuth2Client {
        OAuth2Client {
            token_endpoint: token_endpoint.into(),
            issuer: issuer.map(Into::into),
            jwks_uri: None,
            client_id: "c1".into(),
            client_secret: Some("s".into()),
            client_auth: ClientAuth::ClientSecretPost,
        }
    }

    fn code(client: OAuth2Client, nonce: Option<&str>) -> Result<TokenFlow> {
        let mut options = ExchangeOptions::new(ExchangeProfile::OAuth2(client), "code");
        options.redirect_uri = Some("https://ext.example/cb".into());
        options.nonce = nonce.map(Secret::from);
        TokenFlow::code(options)
    }

    /// The next request: its URL and which server it goes to.
    fn sent(flow: &TokenFlow) -> (String, Server) {
        match flow.next().unwrap() {
            FlowStep::Send { request, server } => (request.url, server),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn answer(flow: &mut TokenFlow, status: u16, body: &str) -> Result<()> {
        flow.answer(&HttpResponse::new(status, body))
    }

    #[test]
    fn issuer_alone_discovers_the_endpoint_then_verifies_the_id_token() {
        let mut flow = code(client("", Some(ISSUER)), Some("n1")).unwrap();
        assert_eq!(
            sent(&flow),
            (
                "https://op.example/tenant/.well-known/openid-configuration".into(),
                Server::Discovery
            )
        );
        answer(&mut flow, 200, METADATA).unwrap();
        assert_eq!(
            sent(&flow),
            (
                "https://op.example/tenant/token".into(),
                Server::TokenEndpoint
            )
        );
        answer(&mut flow, 200, TOKENS).unwrap();
        assert!(
            flow.tokens().is_none(),
            "no tokens before the ID Token is checked"
        );
        match flow.next().unwrap() {
            FlowStep::VerifyIdToken {
                id_token,
                issuer,
                jwks_uri,
                client_id,
                timeout_ms,
            } => {
                assert_eq!(
                    (id_token, issuer, jwks_uri, client_id, timeout_ms),
                    (
                        "h.p.s",
                        ISSUER,
                        "https://op.example/tenant/jwks",
                        "c1",
                        DEFAULT_TIMEOUT_MS
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        flow.id_token_verified(CLAIMS).unwrap();
        assert!(matches!(flow.next().unwrap(), FlowStep::Done));
        assert_eq!(flow.tokens().unwrap().access_token, "at");
        assert_eq!(flow.id_token_claims(), Some(CLAIMS));
    }

    #[test]
    fn a_configured_endpoint_wins_and_discovery_waits_for_an_id_token() {
        let mut flow = code(client("https://as.example/token", Some(ISSUER)), None).unwrap();
        assert_eq!(
            sent(&flow),
            ("https://as.example/token".into(), Server::TokenEndpoint)
        );
        answer(&mut flow, 200, r#"{"access_token":"at"}"#).unwrap();
        assert!(
            matches!(flow.next().unwrap(), FlowStep::Done),
            "no ID Token, no discovery"
        );

        let mut flow = code(client("https://as.example/token", Some(ISSUER)), None).unwrap();
        answer(&mut flow, 200, TOKENS).unwrap();
        assert_eq!(sent(&flow).1, Server::Discovery);
        // The metadata names another token endpoint: the configured one stays.
        answer(&mut flow, 200, METADATA).unwrap();
        assert!(matches!(
            flow.next().unwrap(),
            FlowStep::VerifyIdToken { .. }
        ));
        // A configured JWK Set: no discovery at all.
        let mut with_jwks = client("https://as.example/token", Some(ISSUER));
        with_jwks.jwks_uri = Some("https://as.example/keys".into());
        let mut flow = code(with_jwks, None).unwrap();
        answer(&mut flow, 200, TOKENS).unwrap();
        match flow.next().unwrap() {
            FlowStep::VerifyIdToken { jwks_uri, .. } => {
                assert_eq!(jwks_uri, "https://as.example/keys")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_id_token_is_never_handed_out_unchecked() {
        // No issuer: nothing to check it against.
        let mut flow = code(client("https://as.example/token", None), None).unwrap();
        let err = answer(&mut flow, 200, TOKENS).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        assert!(err.message().contains("pass issuer"), "{err}");
        assert!(flow.tokens().is_none());
        // Checked: the nonce, another one passed or none passed while the
        // ID Token carries one (a forgotten nonce: refused, pass nonce).
        for passed in [Some("another"), None] {
            let mut flow = code(client("", Some(ISSUER)), passed).unwrap();
            answer(&mut flow, 200, METADATA).unwrap();
            answer(&mut flow, 200, TOKENS).unwrap();
            assert_eq!(
                flow.id_token_verified(CLAIMS).unwrap_err().code(),
                ErrorCode::InvalidClaim,
                "{passed:?}"
            );
            assert!(flow.tokens().is_none());
        }
        // A Mia-Platform host is not an OpenID Provider: its id_token is dropped.
        let options = ExchangeOptions {
            state: Some("s".into()),
            ..ExchangeOptions::new(
                ExchangeProfile::MiaConsole {
                    console_url: "https://console.example".into(),
                },
                "code",
            )
        };
        let mut flow = TokenFlow::code(options).unwrap();
        answer(&mut flow, 200, TOKENS).unwrap();
        assert_eq!(flow.tokens().unwrap().id_token, None);
    }

    #[test]
    fn discovery_falls_back_to_rfc_8414_and_fails_loudly() {
        let mut flow = code(client("", Some(ISSUER)), None).unwrap();
        answer(&mut flow, 404, "").unwrap();
        assert_eq!(
            sent(&flow),
            (
                "https://op.example/.well-known/oauth-authorization-server/tenant".into(),
                Server::Discovery
            )
        );
        let err = answer(&mut flow, 200, r#"{"issuer":"https://evil.example"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::IssuerMismatch);

        let mut flow = code(client("", Some(ISSUER)), None).unwrap();
        let err = answer(&mut flow, 200, r#"{"issuer":"https://op.example/tenant"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(err.message().contains("token_endpoint"), "{err}");

        let mut flow = code(client("", Some(ISSUER)), None).unwrap();
        let err = answer(&mut flow, 503, "").unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(err.is_retryable());

        // Plain http to a public issuer: refused before any request, unless opted out.
        let err = code(client("", Some("http://op.example")), None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        let mut options = ExchangeOptions::new(
            ExchangeProfile::OAuth2(client("", Some("http://op.example"))),
            "code",
        );
        options.redirect_uri = Some("https://ext.example/cb".into());
        options.rule = UrlRule::INSECURE_HTTP;
        let flow = TokenFlow::code(options).unwrap();
        assert_eq!(
            sent(&flow).0,
            "http://op.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn refresh_discovers_too_and_never_checks_a_nonce() {
        let options = RefreshOptions {
            client: client("", Some(ISSUER)),
            refresh_token: "rt".into(),
            scope: None,
            timeout_ms: 1000,
            rule: UrlRule::STRICT,
        };
        let mut flow = TokenFlow::refresh(options).unwrap();
        assert_eq!(sent(&flow).1, Server::Discovery);
        answer(&mut flow, 200, METADATA).unwrap();
        assert_eq!(
            sent(&flow),
            (
                "https://op.example/tenant/token".into(),
                Server::TokenEndpoint
            )
        );
        answer(&mut flow, 200, TOKENS).unwrap();
        flow.id_token_verified(r#"{"sub":"u1","iat":1,"nonce":"whatever"}"#)
            .unwrap();
        assert_eq!(flow.tokens().unwrap().id_token.as_deref(), Some("h.p.s"));
        assert!(flow.exchange().is_none());
    }

    #[test]
    fn neither_endpoint_nor_issuer_is_invalid_options() {
        let err = code(client("", None), None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        assert!(err.message().contains("tokenEndpoint is required"), "{err}");
    }
}
