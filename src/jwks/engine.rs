//! What a `JwksVerifier` decides, as one pure state machine (no I/O, no
//! clock, no JS types): the wasm facade converts, the JS layer fetches and
//! checks signatures with the runtime's crypto, and this module decides
//! everything else.
//!
//! Decided here:
//! - **sources**: the key sets ([`config::KeySource`]: local, a `jwksUri`,
//!   or discovered from the issuer's metadata) and the options tokens of
//!   each are checked against; issuers that name the same `jwksUri` (or
//!   discover the same issuer) share one set: one fetch, one cache;
//! - **routing**: with `issuers`, the source is chosen from the token's
//!   (unverified) `iss` before anything else, so no key set is ever
//!   fetched for an unknown issuer;
//! - **the step**: for each token ([`Engine::check`]), what to do next:
//!   verify the signature against named candidate keys, answer from the
//!   verified-token cache, fetch a document, or wait for a fetch under way;
//!   only a well-formed token with an allowed `alg` can cause a fetch;
//! - **the verdict** ([`Engine::finish`]): `bad_signature` unless a
//!   candidate verified, else the claim result held since the check (so a
//!   forged token always answers `bad_signature`);
//! - **what a fetch means** ([`Engine::fetched`], [`Engine::fetch_failed`],
//!   [`Engine::fetch_aborted`]): the JWK Set cache policy
//!   ([`JwksCache`]), metadata discovery (OpenID Connect Discovery 1.0,
//!   RFC 8414, through [`Discovery`]), stale-if-error; an aborted fetch is
//!   neither a failure nor a success; each fetch has an id
//!   ([`Request::fetch`]) and a report for any fetch but the set's current
//!   one changes nothing (a set has one fetch under way at a time);
//! - **snapshots** for KV ([`Engine::export`], [`Engine::import`]).
//!
//! Left to the caller: performing requests (with its `fetch`, timeout,
//! `AbortSignal` and body cap), importing keys and checking signatures,
//! sharing a fetch between concurrent callers (or polling, in workerd),
//! the clock.
//!
//! A verification never mixes key sets: the candidates, the signature
//! input and the held claim result of one check come from the set current
//! at that check, so a key rotation while a signature is being checked
//! elsewhere can never turn a valid token into a forgery (the check is
//! against a stable set) nor let a withdrawn key in (it had to be in the
//! set when the check began).

use super::config::{self, KeySource};
use super::memory::{Remembered, TokenMemory};
use super::{invalid_snapshot, CacheConfig, JwksCache, Plan};
use crate::jose::{
    self, issuer, numeric_date, parse_routed, quoted_list, Algorithm, Candidates, KeySet, Route,
    TokenBuffers, VerifyOptions,
};
use crate::json::{self, Members, Node, Str};
use crate::prelude::*;
use crate::protocol::discovery::{Discovery, DiscoveryStep};
use crate::protocol::url::UrlRule;
use crate::{Error, ErrorCode, Result};

/// Why routing needs `iss` (said by its `missing_claim`).
const ROUTING: &str = "it is needed to choose the key set";

/// How far a verification got, for [`Engine::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The first look: a remote set may have to be fetched or waited for.
    First,
    /// After waiting (polling) for a fetch another request started, for
    /// the caller's whole timeout, without hearing back: fetch only when
    /// the cooldown allows ([`JwksCache::plan_after_waiting`]).
    Waited,
    /// After the caller's own fetch, or the fetch it joined: verify with
    /// what is cached, never fetch again.
    Settled,
}

/// What to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// A JWK Set (`Accept: application/jwk-set+json, application/json`).
    JwkSet,
    /// Authorization server metadata (`Accept: application/json`).
    Metadata,
}

/// A `GET` to perform for key set `set`, then report with
/// [`Engine::fetched`], [`Engine::fetch_failed`] or [`Engine::fetch_aborted`]
/// (each given `set` and `fetch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'e> {
    /// The key set it is for.
    pub set: usize,
    /// Which fetch of that set it belongs to (the requests of one
    /// discovery chain share it).
    pub fetch: u32,
    /// Where.
    pub url: &'e str,
    /// What it should answer.
    pub document: Document,
}

/// A token ready for its signature check: verify [`Self::signature`] over
/// [`Self::signing_input`] with the candidate keys (in order; the first
/// that verifies wins), then call [`Engine::finish`] with [`Self::ticket`].
#[derive(Clone, Copy, Debug)]
pub struct Check<'e> {
    /// Names this check for [`Engine::finish`] / [`Engine::release`].
    pub ticket: u32,
    /// The key set the candidates are in.
    pub set: usize,
    /// That set's generation (it changes whenever its keys do).
    pub generation: u64,
    /// The header `alg`.
    pub alg: Algorithm,
    /// The candidate keys, indices into the set.
    pub candidates: Candidates,
    /// ASCII `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub signing_input: &'e [u8],
    /// The decoded signature.
    pub signature: &'e [u8],
    /// The protected header's JSON text, as signed.
    pub header: &'e [u8],
    /// The payload's JSON text, as signed.
    pub payload: &'e [u8],
}

/// What to do with a token, from [`Engine::check`].
#[derive(Clone, Copy, Debug)]
pub enum Step<'e> {
    /// Check its signature.
    Verify(Check<'e>),
    /// It was verified before and still holds (`verifiedTokenCacheSize`):
    /// its header and payload JSON texts.
    Remembered {
        /// The protected header.
        header: &'e [u8],
        /// The payload.
        payload: &'e [u8],
    },
    /// Fetch first (recorded as under way), then check again with
    /// [`Attempt::Settled`].
    Fetch(Request<'e>),
    /// A fetch of this set is under way: wait for it (join it, or poll
    /// [`Engine::check`] with [`Attempt::First`] until it reports back, at
    /// most the timeout, then [`Attempt::Waited`]).
    Wait(usize),
}

/// Why a request brought no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchFailure<'m> {
    /// No answer within `timeoutMs`.
    Timeout,
    /// The network failed; what it said.
    Network(&'m str),
}

/// One remote key set.
#[derive(Debug)]
struct Remote {
    /// Its name in snapshots: the `jwksUri`, or the discovered issuer.
    name: String,
    /// Where the set is (for discovery: once the metadata named it).
    uri: Option<String>,
    /// Discovery from this issuer (a fresh copy for every fetch).
    discovery: Option<Discovery>,
    /// What the fetch under way asks for now.
    fetching: Option<Fetching>,
    /// The id of the last fetch begun (the one under way, if any).
    fetch_id: u32,
    cache: JwksCache,
}

#[derive(Debug)]
enum Fetching {
    Metadata(Discovery),
    JwkSet,
}

#[derive(Debug)]
enum Keys {
    Local(KeySet),
    Remote(Box<Remote>),
}

#[derive(Debug)]
struct Source {
    /// Index into `Engine::sets`.
    set: usize,
    options: VerifyOptions,
}

/// A check waiting for its signature verdict.
#[derive(Debug)]
struct Held {
    claims: Result<()>,
    /// What to remember once the signature verified.
    memo: Option<Remembered>,
}

/// The decisions of one `JwksVerifier` (see the module docs).
#[derive(Debug)]
pub struct Engine {
    sets: Vec<Keys>,
    sources: Vec<Source>,
    routed: bool,
    config: CacheConfig,
    rule: UrlRule,
    buffers: TokenBuffers,
    held: Vec<Option<Held>>,
    free: Vec<u32>,
    memory: Option<TokenMemory>,
}

fn unknown_set() -> Error {
    Error::options("unknown key set")
}

fn bad_signature() -> Error {
    Error::new(
        ErrorCode::BadSignature,
        "the token signature does not verify",
    )
}

/// The generation of `source`'s key set while it is fresh at `now` (a
/// local set always is).
fn fresh_generation(sets: &[Keys], sources: &[Source], source: usize, now: u64) -> Option<u64> {
    match sets.get(sources.get(source)?.set)? {
        Keys::Local(_) => Some(0),
        Keys::Remote(remote) => remote.cache.fresh_generation(now),
    }
}

impl Engine {
    /// Reads the settings document (see [`config::read`]).
    pub fn new(settings_json: &str) -> Result<Self> {
        Ok(Self::from_config(config::read(settings_json)?))
    }

    /// The engine for `config`.
    pub fn from_config(config: config::VerifierConfig) -> Self {
        let mut sets: Vec<Keys> = Vec::new();
        let mut sources = Vec::with_capacity(config.sources.len());
        for source in config.sources {
            // A remote set: its name, where it is, how it is discovered.
            let (name, uri, discovery) = match source.keys {
                KeySource::Local(keys) => {
                    sets.push(Keys::Local(keys));
                    sources.push(Source {
                        set: sets.len() - 1,
                        options: source.options,
                    });
                    continue;
                }
                KeySource::Remote(uri) => (uri.clone(), Some(uri), None),
                KeySource::Discovered(discovery) => {
                    (discovery.issuer().to_owned(), None, Some(discovery))
                }
            };
            let shared = sets.iter().position(|set| {
                matches!(set, Keys::Remote(r) if r.name == name && r.discovery.is_some() == discovery.is_some())
            });
            let set = shared.unwrap_or_else(|| {
                sets.push(Keys::Remote(Box::new(Remote {
                    name,
                    uri,
                    discovery,
                    fetching: None,
                    fetch_id: 0,
                    cache: JwksCache::with_valid(config.cache),
                })));
                sets.len() - 1
            });
            sources.push(Source {
                set,
                options: source.options,
            });
        }
        let memory = usize::try_from(config.verified_token_cache_size)
            .ok()
            .filter(|n| *n > 0)
            .map(TokenMemory::new);
        Self {
            sets,
            sources,
            routed: config.routed,
            config: config.cache,
            rule: config.rule,
            buffers: TokenBuffers::default(),
            held: Vec::new(),
            free: Vec::new(),
            memory,
        }
    }

    /// The fetch policy (`timeoutMs`, `maxBodyBytes` for the caller).
    pub fn cache_config(&self) -> &CacheConfig {
        &self.config
    }

    /// How many key sets there are (local and remote).
    pub fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// The public JWK (JSON text, for the runtime's `importKey`) of key
    /// `index` of set `set` at `generation`; `None` when the set has
    /// changed since (the caller's check still holds the key it selected:
    /// ask for it before any `await`).
    pub fn key_jwk(&self, set: usize, generation: u64, index: usize) -> Option<&str> {
        let keys = match self.sets.get(set)? {
            Keys::Local(keys) if generation == 0 => keys,
            Keys::Remote(remote) if remote.cache.generation() == generation => {
                remote.cache.keys()?
            }
            _ => return None,
        };
        keys.get(index).map(jose::Jwk::public_jwk_json)
    }

    /// Decides what to do with `token` at `now` (seconds): see [`Step`].
    ///
    /// Errors: every token error of [`jose::parse`] and
    /// [`jose::Parsed::prepare`] (claim errors are held for
    /// [`Self::finish`]); with issuer routing `missing_claim`,
    /// `invalid_claim` or `issuer_mismatch` for the `iss` first;
    /// `jwks_fetch_failed` (retryable) while a remote set cools down after
    /// a failed fetch with no usable keys.
    pub fn check<'e>(
        &'e mut self,
        token: &'e [u8],
        now: u64,
        attempt: Attempt,
    ) -> Result<Step<'e>> {
        let Engine {
            sets,
            sources,
            routed,
            buffers,
            held,
            free,
            memory,
            ..
        } = self;
        let fresh = |source| fresh_generation(sets, sources, source, now);
        let recalled = memory
            .as_mut()
            .and_then(|memory| memory.recall(token, now, fresh));
        if let Some(hit) = recalled.and_then(|at| memory.as_ref()?.get(at)) {
            return Ok(Step::Remembered {
                header: hit.header(),
                payload: hit.payload(),
            });
        }
        let mut source = 0;
        let (parsed, options) = if *routed {
            let mut choose = |claims: &Members<'_>| -> Result<&VerifyOptions> {
                let iss = issuer(claims, ROUTING)?;
                let found = sources.iter().position(|s| {
                    s.options
                        .issuers()
                        .first()
                        .is_some_and(|known| iss.is(known))
                });
                match found.and_then(|at| Some((at, sources.get(at)?))) {
                    Some((at, s)) => {
                        source = at;
                        Ok(&s.options)
                    }
                    None => Err(Error::new(
                        ErrorCode::IssuerMismatch,
                        msg!(
                            "unexpected \"iss\" value; this verifier accepts tokens from ",
                            quoted_list(
                                &mut sources.iter().filter_map(|s| s.options.issuers().first())
                            )
                        ),
                    )),
                }
            };
            parse_routed(token, buffers, Route::ByClaims(&mut choose))?
        } else {
            let options = &sources.first().ok_or_else(unknown_set)?.options;
            parse_routed(token, buffers, Route::Fixed(options))?
        };
        let set = sources.get(source).ok_or_else(unknown_set)?.set;
        let (keys, generation) = match sets.get_mut(set).ok_or_else(unknown_set)? {
            Keys::Local(keys) => (&*keys, 0),
            Keys::Remote(remote) => {
                if attempt != Attempt::Settled {
                    let mut plan = remote.cache.plan_for(now, parsed.alg(), parsed.kid());
                    if attempt == Attempt::Waited && plan == Plan::AwaitFetch {
                        plan = remote.cache.plan_after_waiting(now);
                    }
                    match plan {
                        Plan::UseCached | Plan::UseCachedNoRefetch => {}
                        Plan::Fetch => return Ok(Step::Fetch(remote.begin(set, now))),
                        Plan::AwaitFetch => return Ok(Step::Wait(set)),
                        Plan::FailCoolingDown => return Err(remote.cache.cooling_down_error(now)),
                    }
                }
                let cache = &remote.cache;
                let keys = cache.usable_keys(now).ok_or_else(|| {
                    Error::new(
                        ErrorCode::JwksFetchFailed,
                        "no JWK Set is available yet for this issuer",
                    )
                    .retryable(true)
                })?;
                (keys, cache.generation())
            }
        };
        let prepared = parsed.prepare(keys, options, now)?;
        let memo = match (memory.is_some(), prepared.claims_error()) {
            (true, None) => Some(remember(token, source, generation, &prepared)),
            _ => None,
        };
        let check = Check {
            ticket: 0,
            set,
            generation,
            alg: prepared.alg(),
            candidates: Candidates::default(),
            signing_input: prepared.signing_input(),
            signature: prepared.signature(),
            header: prepared.header_json(),
            payload: prepared.payload_json(),
        };
        let candidates = prepared.candidate_keys();
        let entry = Held {
            claims: prepared.into_claims_result(),
            memo,
        };
        let ticket = match free.pop() {
            Some(ticket) => {
                if let Some(slot) = held.get_mut(ticket as usize) {
                    *slot = Some(entry);
                }
                ticket
            }
            None => {
                held.push(Some(entry));
                (held.len() - 1) as u32
            }
        };
        Ok(Step::Verify(Check {
            ticket,
            candidates,
            ..check
        }))
    }

    /// The verdict of check `ticket`: `bad_signature` unless `verified`
    /// (a candidate key verified the signature), else the claim result
    /// held since the check. A token that passed is remembered when the
    /// verified-token cache is on.
    pub fn finish(&mut self, ticket: u32, verified: bool) -> Result<()> {
        let held = self.take(ticket)?;
        if !verified {
            return Err(bad_signature());
        }
        held.claims?;
        if let (Some(memo), Some(memory)) = (held.memo, self.memory.as_mut()) {
            memory.remember(memo);
        }
        Ok(())
    }

    /// Forgets check `ticket` without a verdict (its caller gave up, e.g.
    /// aborted).
    pub fn release(&mut self, ticket: u32) {
        let _ = self.take(ticket);
    }

    fn take(&mut self, ticket: u32) -> Result<Held> {
        let held = self
            .held
            .get_mut(ticket as usize)
            .and_then(Option::take)
            .ok_or_else(|| Error::options("this verification was already finished"))?;
        self.free.push(ticket);
        Ok(held)
    }

    fn remote(&mut self, set: usize) -> Result<&mut Remote> {
        match self.sets.get_mut(set) {
            Some(Keys::Remote(remote)) => Ok(remote),
            _ => Err(unknown_set()),
        }
    }

    /// The state of fetch `fetch` of set `set`, taken: `None` when that
    /// fetch is not (any more) the one under way (aborted, or superseded
    /// by another once it outlived its window), whose report then changes
    /// nothing.
    fn take_fetching(&mut self, set: usize, fetch: u32) -> Result<(&mut Remote, Option<Fetching>)> {
        let remote = self.remote(set)?;
        let current = match remote.fetch_id == fetch {
            true => remote.fetching.take(),
            false => None,
        };
        Ok((remote, current))
    }

    /// Reads the response to the request of fetch `fetch` of set `set`:
    /// `Some` request to make next (the next discovery URL, or the JWK Set
    /// the metadata names), or `None` when done (check again with
    /// [`Attempt::Settled`]). A response that is not a usable document is
    /// an error (`jwks_fetch_failed`, `jwks_invalid`, `discovery_failed`,
    /// `issuer_mismatch`) unless the previous set may still be used
    /// (stale-if-error). A response to a fetch that is not the set's
    /// current one is ignored (`None`).
    pub fn fetched(
        &mut self,
        set: usize,
        fetch: u32,
        status: u16,
        cache_control: Option<&str>,
        body: &[u8],
        now: u64,
    ) -> Result<Option<Request<'_>>> {
        let (remote, fetching) = self.take_fetching(set, fetch)?;
        match fetching {
            Some(Fetching::Metadata(mut discovery)) => {
                // As for a JWK Set: a document over the cap is refused
                // by size, not read as truncated JSON.
                let answer = match remote.cache.config().too_large(
                    ErrorCode::DiscoveryFailed,
                    &msg!("the metadata document at ", discovery.url()),
                    body,
                ) {
                    Some(error) => Err(error),
                    None => discovery.answer_for_keys(status, body),
                };
                match answer {
                    Ok(DiscoveryStep::Fetch(_)) => {
                        remote.fetching = Some(Fetching::Metadata(discovery));
                        Ok(Some(remote.next_request(set, now)))
                    }
                    Ok(DiscoveryStep::Found(metadata)) => match metadata.jwks_uri {
                        Some(uri) => {
                            remote.uri = Some(uri);
                            remote.fetching = Some(Fetching::JwkSet);
                            Ok(Some(remote.next_request(set, now)))
                        }
                        None => {
                            let error = Error::new(
                                ErrorCode::DiscoveryFailed,
                                msg!(
                                    "the metadata at ",
                                    discovery.url(),
                                    " names no jwks_uri: the issuer publishes no signing keys"
                                ),
                            );
                            remote.failed(now, error).map(|()| None)
                        }
                    },
                    Err(error) => remote.failed(now, error).map(|()| None),
                }
            }
            Some(Fetching::JwkSet) => {
                match remote.cache.on_fetch_ok(status, cache_control, body, now) {
                    Ok(()) => Ok(None),
                    Err(error) => remote.usable_or(now, error).map(|()| None),
                }
            }
            // Not (any more) under way: aborted or superseded meanwhile.
            None => Ok(None),
        }
    }

    /// Records that the request of fetch `fetch` of set `set` brought no
    /// response. `Ok` when the previous set may still be used
    /// (stale-if-error) or the fetch is not the set's current one (the
    /// report is ignored), else the error to answer (`jwks_fetch_failed`
    /// or `discovery_failed`, retryable).
    pub fn fetch_failed(
        &mut self,
        set: usize,
        fetch: u32,
        failure: FetchFailure<'_>,
        now: u64,
    ) -> Result<()> {
        let timeout_ms = self.config.timeout_ms;
        let (remote, fetching) = self.take_fetching(set, fetch)?;
        let reason = match failure {
            FetchFailure::Timeout => msg!("no answer within ", timeout_ms, " ms (timeoutMs)"),
            FetchFailure::Network(message) => message.to_owned(),
        };
        match fetching {
            Some(Fetching::Metadata(discovery)) => {
                let error = Error::new(
                    ErrorCode::DiscoveryFailed,
                    msg!(
                        "the metadata at ",
                        discovery.url(),
                        " could not be fetched: ",
                        reason
                    ),
                )
                .retryable(true);
                remote.failed(now, error)
            }
            Some(Fetching::JwkSet) => {
                let error = remote
                    .cache
                    .on_fetch_error(now, Error::new(ErrorCode::NetworkError, reason));
                remote.usable_or(now, error)
            }
            None => Ok(()),
        }
    }

    /// Records that the caller aborted fetch `fetch` of set `set`: neither
    /// a failure nor a success ([`JwksCache::abort_fetch`]); ignored when
    /// that fetch is not the set's current one.
    pub fn fetch_aborted(&mut self, set: usize, fetch: u32) {
        if let Ok((remote, Some(_))) = self.take_fetching(set, fetch) {
            remote.cache.abort_fetch();
        }
    }

    /// The remote key sets as a snapshot (JSON text) `{ name: {jwks,
    /// fetchedAt, expiresAt[, jwksUri]} }`, `name` the `jwksUri` (or, for
    /// a discovered set, the issuer, and `jwksUri` the one its metadata
    /// named, which the set was fetched from); `None` when
    /// nothing is cached, or when `previous` (an earlier snapshot, e.g. what
    /// KV holds) already has every set as fetched now, so a worker writes
    /// KV only when the snapshot changed.
    pub fn export(&self, previous: Option<&str>) -> Option<String> {
        let previous = previous.and_then(|text| json::read(text.as_bytes()).ok());
        let previous = previous.as_ref().and_then(Node::as_object);
        let mut out = String::from("{");
        let mut changed = previous.is_none();
        for set in &self.sets {
            let Keys::Remote(remote) = set else { continue };
            let Some(fetched_at) = remote.cache.fetched_at() else {
                continue;
            };
            let known = previous
                .and_then(|p| p.get(&remote.name))
                .and_then(Node::as_object)
                .and_then(|e| e.get("fetchedAt"))
                .and_then(Node::as_f64);
            changed |= known != Some(fetched_at as f64);
            if out.len() > 1 {
                out.push(',');
            }
            json::write_string(&mut out, &remote.name);
            out.push(':');
            // A discovered set: the `jwksUri` its metadata named.
            let uri = remote.discovery.as_ref().and(remote.uri.as_deref());
            remote.cache.write_snapshot(&mut out, uri);
        }
        out.push('}');
        (out.len() > 2 && changed).then_some(out)
    }

    /// Loads a snapshot made by [`Self::export`] (JSON text), each set
    /// validated like a fetched one. `jwks_invalid` when it is not JSON;
    /// with `strict`, also when it is not an object and at the first entry
    /// refused (invalid, expired, or naming a set this verifier does not
    /// use), which are otherwise skipped (a JSON value that is not an
    /// object loads nothing). Returns how many sets were loaded (a set
    /// already holding a later fetch keeps it).
    pub fn import(&mut self, snapshot: &str, now: u64, strict: bool) -> Result<usize> {
        let value = json::read(snapshot.as_bytes()).map_err(|e| {
            Error::new(
                ErrorCode::JwksInvalid,
                msg!("the cache snapshot is not JSON: ", e),
            )
        })?;
        let Some(entries) = value.as_object() else {
            return match strict {
                true => Err(Error::new(
                    ErrorCode::JwksInvalid,
                    "the cache snapshot must be the object exportCache() returned",
                )),
                false => Ok(0),
            };
        };
        let mut loaded = 0;
        for (name, entry) in entries.iter() {
            match self.import_one(name, entry, now) {
                Ok(true) => loaded += 1,
                Ok(false) => {}
                Err(e) if strict => return Err(e),
                Err(_) => {}
            }
        }
        Ok(loaded)
    }

    fn import_one(&mut self, name: Str<'_>, entry: &Node<'_>, now: u64) -> Result<bool> {
        let rule = self.rule;
        let remote = self
            .sets
            .iter_mut()
            .find_map(|set| match set {
                Keys::Remote(remote) if name.is(&remote.name) => Some(remote),
                _ => None,
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::JwksInvalid,
                    "the cache snapshot names a jwksUri this verifier does not use",
                )
            })?;
        // A discovered set: the `jwksUri` its metadata named, under the
        // URL rule again.
        let uri = match (
            &remote.discovery,
            entry.as_object().and_then(|o| o.get_str("jwksUri")),
        ) {
            (None, _) => None,
            (Some(_), Some(uri)) => Some(
                rule.endpoint("jwksUri", &uri.decoded())
                    .map_err(|e| invalid_snapshot(e.message()))?,
            ),
            (Some(_), None) => {
                return Err(invalid_snapshot(
                    "jwksUri (where the discovered JWK Set is) is missing",
                ))
            }
        };
        let loaded = remote
            .cache
            .import_node(entry, now, uri.as_ref().map(|_| "jwksUri"))?;
        if loaded && uri.is_some() {
            remote.uri = uri;
        }
        Ok(loaded)
    }
}

/// What to remember of a token once its signature verifies.
fn remember(
    token: &[u8],
    source: usize,
    generation: u64,
    prepared: &jose::Prepared<'_>,
) -> Remembered {
    let claims = prepared.claims();
    let time = |name| numeric_date(claims, name).ok().flatten();
    let (header, payload) = (prepared.header_json(), prepared.payload_json());
    let mut texts = Vec::with_capacity(header.len() + payload.len());
    texts.extend_from_slice(header);
    texts.extend_from_slice(payload);
    Remembered {
        token: token.into(),
        texts: texts.into(),
        payload_at: header.len(),
        source,
        generation,
        exp: time("exp").unwrap_or_default(),
        nbf: time("nbf"),
        iat: time("iat"),
    }
}

impl Remote {
    /// Starts a fetch: the metadata first when the set is discovered (so
    /// it follows the same cache policy as the set), else the set.
    fn begin(&mut self, set: usize, now: u64) -> Request<'_> {
        self.cache.begin_fetch(now);
        self.fetch_id = self.fetch_id.wrapping_add(1);
        self.fetching = Some(match &self.discovery {
            Some(discovery) => Fetching::Metadata(discovery.clone()),
            None => Fetching::JwkSet,
        });
        self.request(set)
    }

    /// The next request of the fetch under way, starting at `now`.
    fn next_request(&mut self, set: usize, now: u64) -> Request<'_> {
        self.cache.continue_fetch(now);
        self.request(set)
    }

    /// The request the fetch under way makes now.
    fn request(&self, set: usize) -> Request<'_> {
        let fetch = self.fetch_id;
        match &self.fetching {
            Some(Fetching::Metadata(discovery)) => Request {
                set,
                fetch,
                url: discovery.url(),
                document: Document::Metadata,
            },
            _ => Request {
                set,
                fetch,
                url: self.uri.as_deref().unwrap_or_default(),
                document: Document::JwkSet,
            },
        }
    }

    /// Records a failed fetch (`error` kept as it is), then as
    /// [`Self::usable_or`].
    fn failed(&mut self, now: u64, error: Error) -> Result<()> {
        let error = self.cache.fail(now, error);
        self.usable_or(now, error)
    }

    /// `Ok` when the previous set may still be used at `now`
    /// (stale-if-error), else `error`.
    fn usable_or(&self, now: u64, error: Error) -> Result<()> {
        match self.cache.usable_keys(now) {
            Some(_) => Ok(()),
            None => Err(error),
        }
    }
}

#[cfg(test)]
mod tests;
