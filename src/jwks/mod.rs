//! Remote JWK Set cache policy: a pure state machine, no I/O, no clock.
//!
//! The platform layer fetches `jwksUri`; this module decides when to fetch,
//! what to answer meanwhile, and what a response means. jose's rules
//! (`cacheMaxAgeSec` 600, `cooldownSec` 30, `timeoutMs` 5000, refetch on an
//! unknown `kid` once the cooldown is over, 200 only, no redirects), plus:
//!
//! - `Cache-Control: max-age` is honoured, clamped to
//!   `[cooldown_sec, max_age_sec]`; `no-store` / `no-cache` keep the set for
//!   `cooldown_sec` only (RFC 9111 §5.2.2);
//! - a *failed* fetch also starts a cooldown, so during an outage requests
//!   fail fast (`jwks_fetch_failed`, retryable) instead of each waiting for
//!   the timeout;
//! - the cooldown is global, so a flood of random `kid`s costs at most one
//!   fetch per `cooldown_sec`;
//! - when a refresh fails, the last good set keeps being served for at most
//!   `stale_if_error_sec` past its expiry (RFC 5861 §4 semantics);
//! - the body size and the number of keys are capped;
//! - the cache exports to and imports from a JSON snapshot (for KV or the
//!   Cache API), validated on import like a fetched set.
//!
//! A caller's loop, per token ([`engine::Engine`] is that caller for the
//! JS `JwksVerifier`):
//!
//! ```text
//! match cache.plan_for(now, alg, kid) {
//!     Plan::UseCached | Plan::UseCachedNoRefetch => verify with cache.usable_keys(now),
//!     Plan::FailCoolingDown => return Err(cache.cooling_down_error(now)),
//!     Plan::Fetch => {
//!         cache.begin_fetch(now);
//!         match fetch(uri) {                      // platform I/O
//!             Ok(response) => cache.on_fetch_ok(status, cache_control, body, now),
//!             Err(e) => Err(cache.on_fetch_error(now, e)),
//!             Aborted => cache.abort_fetch(),     // counted as an attempt only
//!         }
//!         // then verify with cache.usable_keys(now), or return the error
//!     }
//! }
//! ```

use crate::prelude::*;
pub mod config;
pub mod engine;
mod memory;

use crate::jose::{Algorithm, KeySet};
use crate::json::{self, Node, Str, Value};
use crate::{Error, ErrorCode, Result};

/// Default `cacheMaxAgeSec`: keys are kept at most 10 minutes (jose).
pub const DEFAULT_MAX_AGE_SEC: u64 = 600;
/// Default `cooldownSec`: at most one fetch per 30 s (jose).
pub const DEFAULT_COOLDOWN_SEC: u64 = 30;
/// Default stale-if-error window: a last good set is served for at most one
/// hour past its expiry while refreshes fail. Long enough to ride out an
/// outage of the key endpoint, short enough that a key withdrawn from the
/// set stops being accepted soon after the endpoint recovers or not.
pub const DEFAULT_STALE_IF_ERROR_SEC: u64 = 3600;
/// Default fetch timeout (jose).
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// Default body cap: 256 KiB, far above a set of [`crate::jose::MAX_KEYS`]
/// RSA-4096 keys.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Upper bound for `max_age_sec` and `stale_if_error_sec` (one week).
const MAX_WINDOW_SEC: u64 = 7 * 24 * 3600;
/// Upper bound for `max_body_bytes` (4 MiB).
const MAX_BODY_CAP: usize = 4 * 1024 * 1024;

/// Cache policy knobs (JS: `cacheMaxAgeSec`, `cooldownSec`, `timeoutMs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Longest time a fetched set is used without refetching.
    pub max_age_sec: u64,
    /// Minimum time between two fetches (successful or not), and the
    /// shortest lifetime a response can ask for.
    pub cooldown_sec: u64,
    /// How long past its expiry the last good set is still served while
    /// refreshes fail.
    pub stale_if_error_sec: u64,
    /// Fetch timeout, for the platform layer.
    pub timeout_ms: u64,
    /// Largest response body accepted, for the platform layer and
    /// [`JwksCache::on_fetch_ok`].
    pub max_body_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_age_sec: DEFAULT_MAX_AGE_SEC,
            cooldown_sec: DEFAULT_COOLDOWN_SEC,
            stale_if_error_sec: DEFAULT_STALE_IF_ERROR_SEC,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl CacheConfig {
    /// Checks the knobs are coherent (`invalid_options` otherwise).
    pub fn validate(&self) -> Result<()> {
        if self.max_age_sec == 0 || self.max_age_sec > MAX_WINDOW_SEC {
            return Err(Error::options(msg!(
                "cacheMaxAgeSec must be between 1 and ",
                MAX_WINDOW_SEC
            )));
        }
        if self.cooldown_sec > self.max_age_sec {
            return Err(Error::options(
                "cooldownSec must not be larger than cacheMaxAgeSec",
            ));
        }
        if self.stale_if_error_sec > MAX_WINDOW_SEC {
            return Err(Error::options(msg!(
                "staleIfErrorSec must be at most ",
                MAX_WINDOW_SEC
            )));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(Error::options("timeoutMs must be between 1 and 60000"));
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_CAP {
            return Err(Error::options(msg!(
                "maxBodyBytes must be between 1 and ",
                MAX_BODY_CAP
            )));
        }
        Ok(())
    }

    /// `code` when `body` is over `max_body_bytes` (the caller's reader
    /// stops one byte past it): `what` is larger than the cap, which
    /// `maxBodyBytes` raises.
    pub(crate) fn too_large(&self, code: ErrorCode, what: &str, body: &[u8]) -> Option<Error> {
        (body.len() > self.max_body_bytes).then(|| {
            Error::new(
                code,
                msg!(
                    what,
                    " is larger than ",
                    self.max_body_bytes,
                    " bytes; raise maxBodyBytes if the document is genuine"
                ),
            )
        })
    }

    /// How long a response may be used, from its `Cache-Control` header
    /// (RFC 9111 §5.2.2.1 `max-age`, §5.2.2.4 `no-cache`, §5.2.2.5
    /// `no-store`), clamped to `[cooldown_sec, max_age_sec]` and at least
    /// 1 s, so the set just fetched verifies the tokens that asked for it
    /// even with `cooldownSec: 0`. A missing, malformed or repeated
    /// `max-age` means `max_age_sec`.
    pub fn lifetime_sec(&self, cache_control: Option<&str>) -> u64 {
        self.lifetime_from_header(cache_control).max(1)
    }

    fn lifetime_from_header(&self, cache_control: Option<&str>) -> u64 {
        let mut max_age: Option<u64> = None;
        let mut max_age_seen = 0;
        let mut no_store = false;
        // Byte-wise: the grammar is ASCII (RFC 9111 §5.2), and `str`'s
        // pattern machinery costs the wasm ~1 kB.
        let header = cache_control.unwrap_or_default().as_bytes();
        for directive in header.split(|b| *b == b',') {
            let directive = trim_ows(directive);
            let (name, value) = match directive.iter().position(|b| *b == b'=') {
                Some(at) => (
                    trim_ows(directive.get(..at).unwrap_or_default()),
                    Some(unquote(trim_ows(
                        directive.get(at + 1..).unwrap_or_default(),
                    ))),
                ),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case(b"no-store") || name.eq_ignore_ascii_case(b"no-cache") {
                no_store = true;
            } else if name.eq_ignore_ascii_case(b"max-age") {
                max_age_seen += 1;
                max_age = value
                    .filter(|v| !v.is_empty() && v.iter().all(u8::is_ascii_digit))
                    .map(|v| {
                        v.iter().fold(0u64, |n, d| {
                            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                        })
                    });
            }
        }
        if no_store {
            return self.cooldown_sec;
        }
        match max_age {
            // Not `clamp`: its panic (min > max, which `validate` rules
            // out) would leave its message in the wasm.
            Some(age) if max_age_seen == 1 => age.max(self.cooldown_sec).min(self.max_age_sec),
            _ => self.max_age_sec,
        }
    }
}

/// `s` without optional whitespace around it: SP and HTAB (RFC 9110 §5.6.3).
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A quoted-string's content (`"600"` -> `600`), else `s` as it is.
fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// What the caller should do for a token, decided by [`JwksCache::plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plan {
    /// Verify with the cached set (fresh, or stale within the
    /// stale-if-error window while a refresh just failed or is in flight).
    UseCached,
    /// Fetch the set first: none cached, it expired, or the token's `kid` is
    /// unknown and the cooldown is over.
    Fetch,
    /// A fetch is already under way (none cached yet, the cached set is
    /// past stale-if-error, or the token's `kid` is unknown): wait for it,
    /// then verify with what it brought. Where
    /// the pending fetch cannot be shared (workerd requests), the caller
    /// waits for the cache to hear back, at most its `timeoutMs`.
    AwaitFetch,
    /// The token's `kid` is not in the fresh cached set and the cooldown is
    /// not over: verify with the cached set (it will answer
    /// `no_matching_key`) without any network call.
    UseCachedNoRefetch,
    /// No usable set and the last fetch failed within the cooldown: answer
    /// `jwks_fetch_failed` ([`JwksCache::cooling_down_error`]) without any
    /// network call.
    FailCoolingDown,
}

/// The cache of one remote JWK Set.
#[derive(Clone, Debug)]
pub struct JwksCache {
    config: CacheConfig,
    keys: Option<KeySet>,
    fetched_at: u64,
    expires_at: u64,
    last_attempt_at: Option<u64>,
    last_failure_at: Option<u64>,
    last_error: Option<Error>,
    /// Start of a fetch not yet reported back (trusted while it may still
    /// answer: `timeout_ms`, see [`Self::in_flight`]).
    in_flight_since: Option<u64>,
    /// `last_attempt_at` before the fetch under way began (an aborted
    /// fetch puts it back).
    attempt_before_fetch: Option<u64>,
    /// The last fetch failed (cleared by a successful one).
    refresh_failed: bool,
    generation: u64,
}

impl JwksCache {
    /// An empty cache (`invalid_options` if `config` is incoherent).
    pub fn new(config: CacheConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::with_valid(config))
    }

    /// An empty cache for a `config` that passed [`CacheConfig::validate`]
    /// (as `config::read` checks it).
    pub(crate) fn with_valid(config: CacheConfig) -> Self {
        Self {
            config,
            keys: None,
            fetched_at: 0,
            expires_at: 0,
            last_attempt_at: None,
            last_failure_at: None,
            last_error: None,
            in_flight_since: None,
            attempt_before_fetch: None,
            refresh_failed: false,
            generation: 0,
        }
    }

    /// The policy.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The last good set, whatever its age.
    pub fn keys(&self) -> Option<&KeySet> {
        self.keys.as_ref()
    }

    /// The set to verify with at `now`: fresh, or expired by less than the
    /// stale-if-error window while the last refresh failed or a refresh is
    /// in flight.
    pub fn usable_keys(&self, now: u64) -> Option<&KeySet> {
        let keys = self.keys.as_ref()?;
        if now < self.expires_at {
            return Some(keys);
        }
        let within_stale = now
            < self
                .expires_at
                .saturating_add(self.config.stale_if_error_sec);
        (within_stale && (self.refresh_failed || self.in_flight(now))).then_some(keys)
    }

    /// A fetch began and has not reported back, and may still: its
    /// `timeout_ms` in whole seconds, plus one for the clock's resolution
    /// (a fetch that never reports back, e.g. its workerd request was
    /// cancelled, stops counting then).
    fn in_flight(&self, now: u64) -> bool {
        let window = self.config.timeout_ms.div_ceil(1000) + 1;
        self.in_flight_since
            .is_some_and(|t| now < t.saturating_add(window))
    }

    /// Increments whenever the cached keys change, so a layer that imported
    /// them into the runtime (`CryptoKey`s by key index) knows to drop those.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The [`Self::generation`] of the cached set while it is fresh at `now`
    /// (verifying needs no fetch and may use it as is); `None` otherwise. A
    /// layer that remembers verified tokens trusts an entry only while this
    /// still names the generation the token was verified with.
    pub fn fresh_generation(&self, now: u64) -> Option<u64> {
        match &self.keys {
            Some(_) if now < self.expires_at => Some(self.generation),
            _ => None,
        }
    }

    /// When the cached set was fetched.
    pub fn fetched_at(&self) -> Option<u64> {
        self.keys.as_ref().map(|_| self.fetched_at)
    }

    /// When the cached set stops being fresh.
    pub fn expires_at(&self) -> Option<u64> {
        self.keys.as_ref().map(|_| self.expires_at)
    }

    /// The error of the last failed fetch, if the last fetch failed.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    fn cooling(&self, since: Option<u64>, now: u64) -> bool {
        since.is_some_and(|t| now < t.saturating_add(self.config.cooldown_sec))
    }

    /// Decides what to do for a token with header `alg` and `kid` at `now`.
    /// A fresh set "misses" when no key fits them (an unknown `kid`, or a
    /// kid-less token signed with a key type the set does not hold yet), as
    /// jose refetches on any missing key; at most once per cooldown.
    pub fn plan_for(&self, now: u64, alg: Algorithm, kid: Option<Str<'_>>) -> Plan {
        let misses = |keys: &KeySet| !keys.has_key_for(alg, kid);
        let Some(keys) = &self.keys else {
            // Nothing cached: fetch, unless a fetch just failed (answer at
            // once) or one is under way (wait for it: concurrent cold
            // requests cause one fetch, not one each).
            return if self.cooling(self.last_failure_at, now) {
                Plan::FailCoolingDown
            } else if self.in_flight(now) {
                Plan::AwaitFetch
            } else {
                Plan::Fetch
            };
        };
        if now < self.expires_at {
            return if misses(keys) {
                // The refetch another request started may bring it.
                if self.in_flight(now) {
                    Plan::AwaitFetch
                } else if self.cooling(self.last_attempt_at, now) {
                    Plan::UseCachedNoRefetch
                } else {
                    Plan::Fetch
                }
            } else {
                Plan::UseCached
            };
        }
        // Expired: serve it stale while a refresh is in flight or has just
        // failed (within the stale-if-error window); otherwise refresh.
        let recently_failed = self.cooling(self.last_failure_at, now);
        if self.usable_keys(now).is_some() {
            if self.in_flight(now) || recently_failed {
                Plan::UseCached
            } else {
                Plan::Fetch
            }
        } else if self.in_flight(now) {
            // Past stale-if-error too: wait for the refresh another token
            // began, as when nothing is cached (a burst after a quiet
            // period causes one fetch, not one each).
            Plan::AwaitFetch
        } else if recently_failed {
            Plan::FailCoolingDown
        } else {
            Plan::Fetch
        }
    }

    /// What a caller does after waiting its whole timeout for a fetch that
    /// [`Plan::AwaitFetch`] said was under way and that has not reported
    /// back (its request may have been cancelled): fetch itself only when
    /// the cooldown since the last attempt is over; otherwise use the
    /// cached set without refetching, or, with none, fail retryably
    /// ([`Self::cooling_down_error`]). So waiting never turns into one
    /// fetch per request.
    pub fn plan_after_waiting(&self, now: u64) -> Plan {
        if !self.cooling(self.last_attempt_at, now) {
            Plan::Fetch
        } else if self.keys.is_some() {
            Plan::UseCachedNoRefetch
        } else {
            Plan::FailCoolingDown
        }
    }

    /// Records that a fetch starts now, so other requests in this isolate
    /// do not start another refetch for an unknown `kid` meanwhile.
    pub fn begin_fetch(&mut self, now: u64) {
        self.attempt_before_fetch = self.last_attempt_at;
        self.record_attempt(now);
        self.in_flight_since = Some(now);
    }

    /// Records that the request of the fetch under way starts now: the
    /// next one of a discovery chain (metadata, then the JWK Set), each
    /// allowed `timeout_ms`, so [`Self::in_flight`] covers one request.
    pub fn continue_fetch(&mut self, now: u64) {
        if self.in_flight_since.is_some() {
            self.in_flight_since = Some(now);
        }
    }

    /// Forgets the fetch under way: the caller aborted it (its
    /// `AbortSignal`). Neither a failure (no failure cooldown, no
    /// stale-if-error) nor a success, and the next token plans afresh.
    /// With a set cached it still counts as the attempt for the
    /// unknown-`kid` cooldown (else every caller that aborts could cause
    /// one more request); with none, a cold start may retry at once.
    pub fn abort_fetch(&mut self) {
        if self.in_flight_since.take().is_some() && self.keys.is_none() {
            self.last_attempt_at = self.attempt_before_fetch;
        }
    }

    fn record_attempt(&mut self, now: u64) {
        self.last_attempt_at = Some(self.last_attempt_at.map_or(now, |t| t.max(now)));
    }

    /// Records a fetch that failed with `error`, kept as it is (its code
    /// and message), and returns it: the cooldown starts, the last good set
    /// stays usable within stale-if-error.
    pub fn fail(&mut self, now: u64, error: Error) -> Error {
        self.record_attempt(now);
        self.in_flight_since = None;
        self.refresh_failed = true;
        self.last_failure_at = Some(now);
        self.last_error = Some(error.clone());
        error
    }

    /// Handles a completed HTTP response. Non-200 (redirects included) is
    /// `jwks_fetch_failed` carrying the status (retryable on 5xx, 408, 429);
    /// a body over `max_body_bytes`, not JSON or without a usable key is
    /// `jwks_invalid`. On failure the previous set is kept (see
    /// [`Self::usable_keys`]).
    pub fn on_fetch_ok(
        &mut self,
        status: u16,
        cache_control: Option<&str>,
        body: &[u8],
        now: u64,
    ) -> Result<()> {
        if status != 200 {
            let hint = if (300..400).contains(&status) {
                " (redirects are not followed; configure the final URL)"
            } else {
                ""
            };
            let error = Error::new(
                ErrorCode::JwksFetchFailed,
                msg!(
                    "the JWK Set endpoint answered HTTP ",
                    status,
                    "; expected 200",
                    hint
                ),
            )
            .with_status(status);
            return Err(self.fail(now, error));
        }
        if let Some(error) =
            self.config
                .too_large(ErrorCode::JwksInvalid, "the JWK Set response", body)
        {
            return Err(self.fail(now, error));
        }
        let keys = match KeySet::from_bytes(body) {
            Ok(keys) => keys,
            Err(error) => return Err(self.fail(now, error)),
        };
        let lifetime = self.config.lifetime_sec(cache_control);
        self.record_attempt(now);
        self.store(keys, now, now.saturating_add(lifetime));
        self.in_flight_since = None;
        self.refresh_failed = false;
        self.last_failure_at = None;
        self.last_error = None;
        Ok(())
    }

    fn store(&mut self, keys: KeySet, fetched_at: u64, expires_at: u64) {
        if !self.keys.as_ref().is_some_and(|old| old.same_keys(&keys)) {
            self.generation = self.generation.wrapping_add(1);
        }
        self.keys = Some(keys);
        self.fetched_at = fetched_at;
        self.expires_at = expires_at;
    }

    /// Records a fetch that failed without a response (network error,
    /// timeout, body cap hit while streaming). Returns the error to report:
    /// `error` itself when it is already `jwks_fetch_failed` or
    /// `jwks_invalid`, otherwise a retryable `jwks_fetch_failed` wrapping
    /// its message.
    pub fn on_fetch_error(&mut self, now: u64, error: Error) -> Error {
        let error = match error.code() {
            ErrorCode::JwksFetchFailed | ErrorCode::JwksInvalid => error,
            _ => Error::new(
                ErrorCode::JwksFetchFailed,
                msg!("the JWK Set could not be fetched: ", error.message()),
            )
            .retryable(true),
        };
        self.fail(now, error)
    }

    /// The error for [`Plan::FailCoolingDown`]: `jwks_fetch_failed`
    /// saying when the next attempt may happen, retryable as the failure
    /// that started the cooldown was (one answer per outage; retryable
    /// when none failed yet).
    pub fn cooling_down_error(&self, now: u64) -> Error {
        let (what, since) = match self.last_failure_at {
            Some(at) => ("the last fetch failed", Some(at)),
            None => ("the fetch under way has not answered", self.last_attempt_at),
        };
        let retry_in = since
            .map(|t| {
                t.saturating_add(self.config.cooldown_sec)
                    .saturating_sub(now)
            })
            .unwrap_or_default();
        let cause = self
            .last_error
            .as_ref()
            .map(|e| msg!(" (last error: ", e.message(), ")"))
            .unwrap_or_default();
        let retryable = self.last_error.as_ref().map_or(true, Error::is_retryable);
        Error::new(
            ErrorCode::JwksFetchFailed,
            msg!(
                "the JWK Set is unavailable: ",
                what,
                " and the next attempt is in ",
                retry_in,
                " s (cooldownSec)",
                cause
            ),
        )
        .retryable(retryable)
    }

    /// A snapshot `{"jwks":{"keys":[...]},"fetchedAt":N,"expiresAt":N}` of
    /// the cached set (usable keys only), or `None` when nothing is cached.
    pub fn export(&self) -> Option<String> {
        let mut out = String::new();
        self.write_snapshot(&mut out, None).then_some(out)
    }

    /// Appends [`Self::export`] to `out`, with a `jwksUri` member when
    /// given; false (nothing written) when nothing is cached.
    pub(crate) fn write_snapshot(&self, out: &mut String, jwks_uri: Option<&str>) -> bool {
        let Some(keys) = &self.keys else {
            return false;
        };
        out.push_str("{\"jwks\":");
        keys.write_json(out);
        for (name, n) in [
            (",\"fetchedAt\":", self.fetched_at),
            (",\"expiresAt\":", self.expires_at),
        ] {
            out.push_str(name);
            crate::error::Part::push_to(&n, out);
        }
        if let Some(uri) = jwks_uri {
            out.push_str(",\"jwksUri\":");
            json::write_string(out, uri);
        }
        out.push('}');
        true
    }

    /// Loads a snapshot made by [`Self::export`], validated like a fetched
    /// set. Fails with `jwks_invalid` on garbage, unknown members, an
    /// expired snapshot (`expiresAt <= now`) or a set without usable keys.
    /// The snapshot's lifetime is capped at `max_age_sec` from its
    /// `fetchedAt` and from `now`. Returns false (and keeps the current set)
    /// when the cache already holds a set fetched later.
    pub fn import(&mut self, snapshot: &str, now: u64) -> Result<bool> {
        let node = json::read(snapshot.as_bytes()).map_err(|_| invalid_snapshot("not JSON"))?;
        self.import_node(&node, now, None)
    }

    /// [`Self::import`] of an already-parsed snapshot.
    pub fn import_value(&mut self, snapshot: &Value, now: u64) -> Result<bool> {
        self.import(&snapshot.to_json(), now)
    }

    /// [`Self::import`] of a snapshot read as a borrowed tree; `also` names
    /// one more member the caller reads itself.
    pub(crate) fn import_node(
        &mut self,
        snapshot: &Node<'_>,
        now: u64,
        also: Option<&str>,
    ) -> Result<bool> {
        let invalid = invalid_snapshot;
        let object = snapshot
            .as_object()
            .ok_or_else(|| invalid("not an object"))?;
        // Without `also`, "jwks" twice: the second never matches.
        let picked = object.pick(["jwks", "fetchedAt", "expiresAt", also.unwrap_or("jwks")]);
        // Names are unique: a member none of those is unknown.
        if picked.iter().flatten().count() != object.len() {
            return Err(invalid("unknown member"));
        }
        let [jwks, fetched_at, expires_at, _] = picked;
        let seconds = |value: Option<&Node<'_>>| {
            value
                .and_then(Node::as_f64)
                .and_then(json::safe_integer)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| invalid("fetchedAt and expiresAt must be whole seconds"))
        };
        let fetched_at = seconds(fetched_at)?;
        let expires_at = seconds(expires_at)?;
        if fetched_at > expires_at {
            return Err(invalid("fetchedAt is after expiresAt"));
        }
        let expires_at = expires_at
            .min(fetched_at.saturating_add(self.config.max_age_sec))
            .min(now.saturating_add(self.config.max_age_sec));
        if expires_at <= now {
            return Err(invalid("it has expired"));
        }
        let keys = KeySet::from_node(jwks.ok_or_else(|| invalid("jwks is missing"))?)?;
        if self.keys.is_some() && self.fetched_at > fetched_at {
            return Ok(false);
        }
        self.store(keys, fetched_at.min(now), expires_at);
        Ok(true)
    }
}

pub(crate) fn invalid_snapshot(what: &str) -> Error {
    Error::new(
        ErrorCode::JwksInvalid,
        msg!(
            "the JWK Set snapshot is invalid: ",
            what,
            "; expected {\"jwks\":{\"keys\":[...]},\"fetchedAt\":<seconds>,\"expiresAt\":<seconds>}"
        ),
    )
}

#[cfg(test)]
mod tests;
