//! One token request and what it needs around it (see [`TokenFlow`]).

use alloc::rc::Rc;

use crate::json::{self, Value};
use crate::prelude::*;
use crate::protocol::discovery::{Discovery, DiscoveryStep, ServerMetadata};
use crate::protocol::url::UrlRule;
use crate::{Error, ErrorCode, Result};

use super::exchange::{
    check_exchange, check_refresh, exchange_code_request, parse_exchange_response,
    parse_token_response, refresh_request, ExchangeOptions, ExchangeProfile, OAuth2Client,
    RefreshOptions, TokenSet,
};
use super::http::{network_error, timeout_error, HttpRequest, HttpResponse};
use super::id_token::{at_hash_digest, check_at_hash, check_id_token, IdTokenRules, NonceCheck};
use super::metadata::{Lookup, MetadataCache};

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
    /// Another flow's discovery `job` of the same metadata is under way:
    /// wait a little (the JS layer sleeps 20 ms), then ask [`TokenFlow::next`]
    /// again.
    AwaitDiscovery {
        /// The discovery under way.
        job: u32,
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
///    it comes from the [`MetadataCache`] the caller passes to
///    [`Self::next`]; when the cache has no usable copy, this flow
///    discovers it (the requests are [`FlowStep::Send`]s to
///    [`Server::Discovery`]) and tells the cache how that ended, or waits
///    for another flow's discovery ([`FlowStep::AwaitDiscovery`]);
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
/// ID Token's signature, keeping the metadata cache and the verifier
/// across flows, and telling the flow when a request failed without an
/// answer ([`Self::unreachable`]) or the flow is given up ([`Self::abandon`]).
#[derive(Debug)]
pub struct TokenFlow {
    grant: Grant,
    stage: Stage,
    discovery: Option<Discovery>,
    /// The discovery this flow makes for the cache, while it makes it.
    job: Option<u32>,
    /// When (ms) this flow started waiting for another flow's discovery:
    /// it waits at most its own `timeout_ms` from then.
    waiting_since: Option<u64>,
    metadata: Option<Rc<ServerMetadata>>,
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
            job: None,
            waiting_since: None,
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

    fn rule(&self) -> UrlRule {
        match &self.grant {
            Grant::Code(options) => options.rule,
            Grant::Refresh(options) => options.rule,
        }
    }

    /// The issuer, which [`check_exchange`] / [`check_refresh`] and
    /// [`Self::after_tokens`] require before any discovery.
    fn issuer(&self) -> Result<&str> {
        self.client()
            .and_then(|client| client.issuer.as_deref())
            .ok_or_else(out_of_order)
    }

    /// The metadata is needed next (the issuer checked now, so a bad one
    /// fails before any request).
    fn discover(&mut self) -> Result<()> {
        self.discovery = Some(Discovery::new(self.issuer()?, self.rule())?);
        self.stage = Stage::Discover;
        Ok(())
    }

    fn timeout_ms(&self) -> u32 {
        match &self.grant {
            Grant::Code(options) => options.timeout_ms,
            Grant::Refresh(options) => options.timeout_ms,
        }
    }

    /// What to do next at `now_ms` (milliseconds); the issuer's metadata,
    /// when needed, comes from `cache` while fresh, or this flow discovers
    /// it (the next steps are its requests), or waits for another flow's
    /// discovery ([`FlowStep::AwaitDiscovery`]) for at most its own
    /// `timeout_ms`: then it fails with its own retryable `network_error`
    /// (remembered by no one: the discovery it waited for goes on), whatever
    /// timeout the discovering flow has.
    pub fn next(&mut self, cache: &mut MetadataCache, now_ms: u64) -> Result<FlowStep<'_>> {
        if matches!(self.stage, Stage::Discover) && self.job.is_none() {
            let now = now_ms / 1000;
            match cache.lookup(self.issuer()?, self.rule(), self.timeout_ms(), now)? {
                Lookup::Found(metadata) => self.found(metadata)?,
                Lookup::Discover(job) => self.job = Some(job),
                Lookup::Wait(job) => {
                    let since = *self.waiting_since.get_or_insert(now_ms);
                    if now_ms.saturating_sub(since) >= u64::from(self.timeout_ms()) {
                        self.waiting_since = None;
                        return Err(timeout_error(Server::Discovery.as_str(), self.timeout_ms()));
                    }
                    return Ok(FlowStep::AwaitDiscovery { job });
                }
            }
            self.waiting_since = None;
        }
        self.step()
    }

    fn step(&self) -> Result<FlowStep<'_>> {
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

    /// Reads the answer (at `now_ms`, milliseconds) to the request of the
    /// last [`FlowStep::Send`]: the discovery's or the token endpoint's
    /// error, or `Ok` to go on. How a discovery ended goes to `cache`.
    pub fn answer(
        &mut self,
        cache: &mut MetadataCache,
        response: &HttpResponse,
        now_ms: u64,
    ) -> Result<()> {
        let now = now_ms / 1000;
        match self.stage {
            Stage::Discover => {
                let (Some(discovery), Some(job)) = (&mut self.discovery, self.job) else {
                    return Err(out_of_order());
                };
                match discovery.answer(response.status, &response.body) {
                    Ok(DiscoveryStep::Fetch(_)) => Ok(()),
                    Ok(DiscoveryStep::Found(metadata)) => {
                        let metadata = Rc::new(metadata);
                        cache.found(job, &metadata, &response.headers, now);
                        self.job = None;
                        self.found(metadata)
                    }
                    Err(error) => Err(self.discovery_failed(cache, error, now)),
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

    /// The request of the last [`FlowStep::Send`] failed at `now_ms`
    /// (milliseconds) without an answer (at the network level, or
    /// `timed_out`): its retryable `network_error`, to report. A discovery's
    /// network failure is remembered by `cache` (for its cooldown); its
    /// timeout is not: the timeout was this caller's bound, not the
    /// server's answer, so the discovery is forgotten as an abort is
    /// ([`MetadataCache::abandon`]) and the next caller discovers with its own.
    pub fn unreachable(
        &mut self,
        cache: &mut MetadataCache,
        timed_out: bool,
        now_ms: u64,
    ) -> Error {
        let what = match self.stage {
            Stage::Discover => Server::Discovery,
            _ => Server::TokenEndpoint,
        }
        .as_str();
        if timed_out {
            self.abandon(cache);
            return timeout_error(what, self.timeout_ms());
        }
        self.discovery_failed(cache, network_error(what), now_ms / 1000)
    }

    /// The flow is given up (its caller aborted): a discovery it makes is
    /// neither a failure nor a success for `cache`.
    pub fn abandon(&mut self, cache: &mut MetadataCache) {
        if let Some(job) = self.job.take() {
            cache.abandon(job);
        }
    }

    /// Reports a failed discovery to `cache` (remembered for its cooldown);
    /// returns the error to report.
    fn discovery_failed(&mut self, cache: &mut MetadataCache, error: Error, now: u64) -> Error {
        match self.job.take() {
            Some(job) => cache.failed(job, error, now),
            None => error,
        }
    }

    fn found(&mut self, metadata: Rc<ServerMetadata>) -> Result<()> {
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

    /// True while the flow needs the issuer's metadata: an error it raises
    /// now (a remembered failure, the document's `issuer_mismatch`, a
    /// discovery request that failed) is the provider's or the
    /// configuration's, not a token's.
    pub fn discovering(&self) -> bool {
        self.stage == Stage::Discover
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

    /// The metadata the flow used, if it needed any.
    pub fn metadata(&self) -> Option<&ServerMetadata> {
        self.metadata.as_deref()
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
    use crate::server::exchange::ClientAuth;
    use crate::server::http::{Secret, DEFAULT_TIMEOUT_MS};

    const ISSUER: &str = "https://op.example/tenant";
    const WELL_KNOWN: &str = "https://op.example/tenant/.well-known/openid-configuration";
    const METADATA: &str = r#"{"issuer":"https://op.example/tenant","token_endpoint":"https://op.example/tenant/token","jwks_uri":"https://op.example/tenant/jwks"}"#;
    const TOKENS: &str = r#"{"access_token":"at","token_type":"Bearer","id_token":"h.p.s"}"#;
    const CLAIMS: &str = r#"{"iss":"https://op.example/tenant","sub":"u1","aud":"c1","iat":1,"exp":2,"nonce":"n1","email":"u@x.example"}"#;
    /// The flow's clock (ms).
    const NOW: u64 = 1_000_000;

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

    /// What the flow asks for next, in short.
    #[derive(Debug, PartialEq, Eq)]
    enum Next {
        Token(String),
        Discovery(String),
        Await(u32),
        Verify(String),
        Digest,
        Done,
    }

    fn next(flow: &mut TokenFlow, cache: &mut MetadataCache) -> Result<Next> {
        Ok(match flow.next(cache, NOW)? {
            FlowStep::Send { request, server } => match server {
                Server::TokenEndpoint => Next::Token(request.url),
                Server::Discovery => {
                    assert_eq!(request.method, "GET");
                    assert_eq!(request.header("accept"), Some("application/json"));
                    Next::Discovery(request.url)
                }
            },
            FlowStep::AwaitDiscovery { job } => Next::Await(job),
            FlowStep::VerifyIdToken { jwks_uri, .. } => Next::Verify(jwks_uri.into()),
            FlowStep::Digest { .. } => Next::Digest,
            FlowStep::Done => Next::Done,
        })
    }

    /// What the flow asks for next, by kind.
    fn kind(flow: &mut TokenFlow, cache: &mut MetadataCache) -> &'static str {
        match next(flow, cache).unwrap() {
            Next::Token(_) => "token",
            Next::Discovery(_) => "discovery",
            Next::Await(_) => "await",
            Next::Verify(_) => "verify",
            Next::Digest => "digest",
            Next::Done => "done",
        }
    }

    fn answer(
        flow: &mut TokenFlow,
        cache: &mut MetadataCache,
        status: u16,
        body: &str,
    ) -> Result<()> {
        flow.answer(cache, &HttpResponse::new(status, body), NOW)
    }

    /// The flow's next step is discovery: answered `status` / `body`.
    fn discover(
        flow: &mut TokenFlow,
        cache: &mut MetadataCache,
        status: u16,
        body: &str,
    ) -> Result<()> {
        assert!(matches!(next(flow, cache)?, Next::Discovery(_)));
        answer(flow, cache, status, body)
    }

    #[test]
    fn issuer_alone_discovers_the_endpoint_then_verifies_the_id_token() {
        let mut cache = MetadataCache::new();
        let mut flow = code(client("", Some(ISSUER)), Some("n1")).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Discovery(WELL_KNOWN.into())
        );
        // A second flow meanwhile waits for that discovery.
        let mut other = code(client("", Some(ISSUER)), None).unwrap();
        assert_eq!(kind(&mut other, &mut cache), "await");
        answer(&mut flow, &mut cache, 200, METADATA).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Token("https://op.example/tenant/token".into())
        );
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        assert!(
            flow.tokens().is_none(),
            "no tokens before the ID Token is checked"
        );
        match flow.next(&mut cache, NOW).unwrap() {
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
        assert_eq!(next(&mut flow, &mut cache).unwrap(), Next::Done);
        assert_eq!(flow.tokens().unwrap().access_token, "at");
        assert_eq!(flow.id_token_claims(), Some(CLAIMS));
        assert_eq!(flow.metadata().unwrap().issuer, ISSUER);
        // The waiting flow, and every later one, use the cached document.
        assert_eq!(
            next(&mut other, &mut cache).unwrap(),
            Next::Token("https://op.example/tenant/token".into())
        );
        let mut later = code(client("", Some(ISSUER)), None).unwrap();
        assert_eq!(kind(&mut later, &mut cache), "token");
    }

    #[test]
    fn a_configured_endpoint_wins_and_discovery_waits_for_an_id_token() {
        let mut cache = MetadataCache::new();
        let mut flow = code(client("https://as.example/token", Some(ISSUER)), None).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Token("https://as.example/token".into())
        );
        answer(&mut flow, &mut cache, 200, r#"{"access_token":"at"}"#).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Done,
            "no ID Token, no discovery"
        );
        assert!(cache.is_empty());

        let mut flow = code(client("https://as.example/token", Some(ISSUER)), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "token");
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        // The metadata names another token endpoint: the configured one stays.
        discover(&mut flow, &mut cache, 200, METADATA).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Verify("https://op.example/tenant/jwks".into())
        );
        // The next one with an ID Token finds the JWK Set in the cache.
        let mut flow = code(client("https://as.example/token", Some(ISSUER)), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "token");
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "verify");
        // A configured JWK Set: the cache is not asked.
        let mut with_jwks = client("https://as.example/token", Some("https://other.example"));
        with_jwks.jwks_uri = Some("https://as.example/keys".into());
        let mut flow = code(with_jwks, None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "token");
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Verify("https://as.example/keys".into())
        );
        assert_eq!(cache.len(), 1, "only {ISSUER} was looked up");
    }

    #[test]
    fn an_id_token_is_never_handed_out_unchecked() {
        let mut cache = MetadataCache::new();
        // No issuer: nothing to check it against.
        let mut flow = code(client("https://as.example/token", None), None).unwrap();
        let err = answer(&mut flow, &mut cache, 200, TOKENS).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        assert!(err.message().contains("pass issuer"), "{err}");
        assert!(flow.tokens().is_none());
        // Checked: the nonce, another one passed or none passed while the
        // ID Token carries one (a forgotten nonce: refused, pass nonce).
        for passed in [Some("another"), None] {
            let mut flow = code(client("", Some(ISSUER)), passed).unwrap();
            if let Next::Discovery(_) = next(&mut flow, &mut cache).unwrap() {
                answer(&mut flow, &mut cache, 200, METADATA).unwrap();
            }
            assert_eq!(kind(&mut flow, &mut cache), "token");
            answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
            assert_eq!(kind(&mut flow, &mut cache), "verify");
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
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        assert_eq!(flow.tokens().unwrap().id_token, None);
    }

    #[test]
    fn discovery_falls_back_to_rfc_8414_fails_loudly_and_is_remembered() {
        let mut cache = MetadataCache::new();
        let mut flow = code(client("", Some(ISSUER)), None).unwrap();
        discover(&mut flow, &mut cache, 404, "").unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Discovery(
                "https://op.example/.well-known/oauth-authorization-server/tenant".into()
            )
        );
        let err = answer(
            &mut flow,
            &mut cache,
            200,
            r#"{"issuer":"https://evil.example"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::IssuerMismatch);
        // Remembered: the next flow fails at once, without a request.
        let mut again = code(client("", Some(ISSUER)), None).unwrap();
        let remembered = next(&mut again, &mut cache).unwrap_err();
        assert_eq!(remembered.code(), ErrorCode::IssuerMismatch);
        assert!(remembered.message().contains("remembered"), "{remembered}");

        let other = "https://op.example/other";
        let mut flow = code(client("", Some(other)), None).unwrap();
        discover(
            &mut flow,
            &mut cache,
            200,
            r#"{"issuer":"https://op.example/other"}"#,
        )
        .unwrap_err();
        let err = next(&mut flow, &mut cache).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(err.message().contains("token_endpoint"), "{err}");

        let third = "https://op.example/third";
        let mut flow = code(client("", Some(third)), None).unwrap();
        let err = discover(&mut flow, &mut cache, 503, "").unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(err.is_retryable());
        assert_eq!(err.status(), Some(503));

        // Plain http to a public issuer: refused before any request, unless opted out.
        let err = code(client("", Some("http://op.example")), None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        let mut options = ExchangeOptions::new(
            ExchangeProfile::OAuth2(client("", Some("http://op.example"))),
            "code",
        );
        options.redirect_uri = Some("https://ext.example/cb".into());
        options.rule = UrlRule::INSECURE_HTTP;
        let mut flow = TokenFlow::code(options).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Discovery("http://op.example/.well-known/openid-configuration".into())
        );
    }

    #[test]
    fn a_request_without_an_answer_and_an_abandoned_flow() {
        let mut cache = MetadataCache::new();
        // The token endpoint: its network error; the cache is not involved.
        let mut flow = code(client("https://as.example/token", None), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "token");
        let err = flow.unreachable(&mut cache, true, NOW);
        assert_eq!(err.code(), ErrorCode::NetworkError);
        assert!(
            err.message()
                .contains("token endpoint did not answer within 10000 ms"),
            "{err}"
        );
        assert!(cache.is_empty());
        // A discovery's: remembered for the cooldown.
        let mut flow = code(client("", Some(ISSUER)), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "discovery");
        let err = flow.unreachable(&mut cache, false, NOW);
        assert_eq!(err.code(), ErrorCode::NetworkError);
        assert!(err.is_retryable());
        assert!(
            err.message()
                .contains("discovery document failed at the network level"),
            "{err}"
        );
        let mut again = code(client("", Some(ISSUER)), None).unwrap();
        assert_eq!(
            next(&mut again, &mut cache).unwrap_err().code(),
            ErrorCode::NetworkError
        );
        // Abandoned during its discovery (its caller aborted): forgotten, so
        // the next flow discovers at once instead of waiting.
        let other = "https://op.example/other";
        let mut flow = code(client("", Some(other)), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "discovery");
        let mut waiting = code(client("", Some(other)), None).unwrap();
        assert_eq!(kind(&mut waiting, &mut cache), "await");
        flow.abandon(&mut cache);
        assert_eq!(kind(&mut waiting, &mut cache), "discovery");
        // Abandoning a flow that makes no discovery changes nothing.
        flow.abandon(&mut cache);
        assert_eq!(kind(&mut flow, &mut cache), "await");
    }

    /// A code exchange with `issuer` alone and its own `timeout_ms`.
    fn timed(timeout_ms: u32) -> TokenFlow {
        let mut options =
            ExchangeOptions::new(ExchangeProfile::OAuth2(client("", Some(ISSUER))), "code");
        options.redirect_uri = Some("https://ext.example/cb".into());
        options.timeout_ms = timeout_ms;
        TokenFlow::code(options).unwrap()
    }

    #[test]
    fn a_timed_out_discovery_is_forgotten_so_others_discover_with_their_own_timeout() {
        let mut cache = MetadataCache::new();
        let mut owner = timed(100);
        assert_eq!(kind(&mut owner, &mut cache), "discovery");
        let mut waiter = timed(10_000);
        assert_eq!(kind(&mut waiter, &mut cache), "await");
        // The owner's own timeout: its error names its 100 ms and is not remembered.
        let err = owner.unreachable(&mut cache, true, NOW + 100);
        assert_eq!(err.code(), ErrorCode::NetworkError);
        assert!(err.is_retryable());
        assert!(err.message().contains("within 100 ms"), "{err}");
        assert!(!err.message().contains("remembered"), "{err}");
        // The waiter discovers with its own timeout at its next look, and
        // a later call waits for that discovery instead of failing at once.
        match waiter.next(&mut cache, NOW + 120).unwrap() {
            FlowStep::Send { request, server } => {
                assert_eq!((server, request.timeout_ms), (Server::Discovery, 10_000));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(kind(&mut timed(100), &mut cache), "await");
        answer(&mut waiter, &mut cache, 200, METADATA).unwrap();
        assert_eq!(kind(&mut timed(100), &mut cache), "token");
        // A failure at the network level is still the server's: remembered.
        let other = "https://op.example/other";
        let mut flow = code(client("", Some(other)), None).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "discovery");
        let err = flow.unreachable(&mut cache, false, NOW);
        assert!(err.message().contains("remembered"), "{err}");
    }

    #[test]
    fn a_waiter_gives_up_after_its_own_timeout_not_the_owners() {
        let mut cache = MetadataCache::new();
        let mut owner = timed(60_000);
        assert_eq!(kind(&mut owner, &mut cache), "discovery");
        let mut waiter = timed(200);
        let t0 = NOW + 5_000;
        assert!(matches!(
            waiter.next(&mut cache, t0),
            Ok(FlowStep::AwaitDiscovery { .. })
        ));
        assert!(matches!(
            waiter.next(&mut cache, t0 + 199),
            Ok(FlowStep::AwaitDiscovery { .. })
        ));
        let err = waiter.next(&mut cache, t0 + 200).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NetworkError);
        assert!(err.is_retryable());
        assert!(
            err.message()
                .contains("discovery document did not answer within 200 ms"),
            "{err}"
        );
        assert!(!err.message().contains("remembered"), "{err}");
        // Nothing is remembered: the owner's discovery goes on, another
        // caller still waits for it, and its document serves everyone.
        let mut next = timed(200);
        assert!(matches!(
            next.next(&mut cache, t0 + 300),
            Ok(FlowStep::AwaitDiscovery { .. })
        ));
        owner
            .answer(&mut cache, &HttpResponse::new(200, METADATA), t0 + 30_000)
            .unwrap();
        assert!(matches!(
            next.next(&mut cache, t0 + 30_000),
            Ok(FlowStep::Send {
                server: Server::TokenEndpoint,
                ..
            })
        ));
        // A flow that waited and then discovered itself counts its wait from
        // scratch the next time it waits (only the late discovery, after an
        // ID Token, can make it wait again).
        assert_eq!(waiter.waiting_since, None);
    }

    #[test]
    fn refresh_discovers_too_and_never_checks_a_nonce() {
        let mut cache = MetadataCache::new();
        let options = RefreshOptions {
            client: client("", Some(ISSUER)),
            refresh_token: "rt".into(),
            scope: None,
            timeout_ms: 1000,
            rule: UrlRule::STRICT,
        };
        let mut flow = TokenFlow::refresh(options).unwrap();
        match flow.next(&mut cache, NOW).unwrap() {
            FlowStep::Send { request, server } => {
                assert_eq!((server, request.timeout_ms), (Server::Discovery, 1000));
            }
            other => panic!("{other:?}"),
        }
        answer(&mut flow, &mut cache, 200, METADATA).unwrap();
        assert_eq!(
            next(&mut flow, &mut cache).unwrap(),
            Next::Token("https://op.example/tenant/token".into())
        );
        answer(&mut flow, &mut cache, 200, TOKENS).unwrap();
        assert_eq!(kind(&mut flow, &mut cache), "verify");
        flow.id_token_verified(r#"{"sub":"u1","iat":1,"nonce":"whatever"}"#)
            .unwrap();
        assert_eq!(next(&mut flow, &mut cache).unwrap(), Next::Done);
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
