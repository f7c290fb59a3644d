//! The issuer metadata cache of the backend helpers (see [`MetadataCache`]):
//! with `issuer` alone, `exchangeCode`, `refreshTokens` and every handoff
//! need the issuer's metadata (OpenID Connect Discovery 1.0, RFC 8414); it
//! is discovered once and reused, as openid-client's `discovery()` does,
//! and discovered again when the server says it is stale.
//!
//! Decided here, with the clock passed in (seconds):
//! 1. **Key**: the issuer exactly as configured and the URL rule
//!    ([`UrlRule`]): a document read under `allowInsecureHttp` may name
//!    `http` endpoints, so a strict call never gets it. (The JS layer keeps
//!    one cache per `fetch` function, as it keeps the ID Token verifiers.)
//! 2. **Freshness**: `Cache-Control: max-age` (RFC 9111 §5.2.2.1), clamped
//!    to [`MIN_FRESH_SEC`] (60 s) .. [`MAX_FRESH_SEC`] (24 h; a value too
//!    large to represent is that too, §1.2.2); [`DEFAULT_FRESH_SEC`] (1 h)
//!    when the server names no `max-age`. `no-store` / `no-cache` get the
//!    floor: every call needs the document, and a minute bounds how stale
//!    it can be; so does a malformed or repeated `max-age` (`max-age=-5`,
//!    `max-age=10, max-age=20`), which §4.2.1 lets a cache consider stale:
//!    the server meant something, and the shorter reading is the safe one.
//!    `Cache-Control` is read by the verifier's reader
//!    ([`crate::jwks::freshness`]); like the verifier, the
//!    `Age` of a response that a shared cache served is not subtracted
//!    (measured: 171 B gzip of wasm), so such a document may be kept up to
//!    `Age` seconds longer than its origin meant, at most 24 h.
//! 3. **Failures** (an error status, a bad document, `issuer_mismatch`, a
//!    failure at the network level) are remembered for
//!    [`FAILURE_COOLDOWN_SEC`] (10 s) only: meanwhile lookups fail at once
//!    with the same code, retryable flag and status (the message says when
//!    the next attempt is), so an outage does not make every call wait for
//!    its timeout, and a fixed server is used again seconds later. An
//!    expired document is not used meanwhile (no stale-if-error): the
//!    server's freshness is the contract, and a refresh that fails because
//!    the document changed to something unusable must not be papered over.
//! 4. **One discovery at a time** per key: a lookup while one is under way
//!    waits for it ([`Lookup::Wait`]), cold or refreshing alike (each
//!    waiter for at most its own timeout: [`super::TokenFlow`] decides
//!    that). A discovery that never reports back (its request was
//!    cancelled) is waited for at most its two requests' timeouts plus a
//!    second; then the next lookup discovers again.
//! 5. **An aborted or timed-out discovery** ([`MetadataCache::abandon`]) is
//!    neither a failure nor a success: the key is as if it had not started.
//!    A timeout is the bound its caller chose (`timeoutMs`), not the
//!    server's answer: remembered, one caller's short timeout would fail
//!    every other caller, whatever theirs, for the cooldown.
//! 6. **Bounded**: at most [`MAX_ISSUERS`] keys, kept in the order of their
//!    last lookup; the least recently used is dropped first.
//!
//! Left to the caller ([`super::TokenFlow`]): the discovery itself
//! ([`crate::protocol::discovery::Discovery`]) and reporting how it ended
//! ([`MetadataCache::found`], [`MetadataCache::failed`],
//! [`MetadataCache::abandon`]); and how to wait: the JS layer looks again
//! after a short sleep in every runtime (in workerd a request must not
//! await another request's I/O, and elsewhere it keeps one code path).
//! Explicit endpoints never reach the cache: the flow looks up the metadata
//! only for what is not configured.

use alloc::rc::Rc;

use crate::jwks::{freshness, Freshness};
use crate::prelude::*;
use crate::protocol::discovery::ServerMetadata;
use crate::protocol::url::UrlRule;
use crate::{Error, Result};

use super::http::find_header;

/// Shortest freshness of a document (the `no-store` / `max-age=0` floor).
pub const MIN_FRESH_SEC: u64 = 60;
/// Longest freshness of a document, whatever `max-age` says.
pub const MAX_FRESH_SEC: u64 = 24 * 3600;
/// Freshness of a document served without `max-age`.
pub const DEFAULT_FRESH_SEC: u64 = 3600;
/// How long a failed discovery is remembered (lookups fail at once meanwhile).
pub const FAILURE_COOLDOWN_SEC: u64 = 10;
/// At most this many issuers (per URL rule) are kept.
pub const MAX_ISSUERS: usize = 32;

/// What [`MetadataCache::lookup`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The document, fresh.
    Found(Rc<ServerMetadata>),
    /// Nothing usable: discover it as `job`, and report how that ended
    /// ([`MetadataCache::found`], [`MetadataCache::failed`] or
    /// [`MetadataCache::abandon`]).
    Discover(u32),
    /// Another caller's discovery `job` is under way: look up again shortly.
    Wait(u32),
}

/// The cache of issuer metadata documents (see the module docs).
#[derive(Debug, Default)]
pub struct MetadataCache {
    /// One entry per (issuer, rule), the least recently used first.
    entries: Vec<Entry>,
    /// The last job number given out.
    jobs: u32,
}

#[derive(Debug)]
struct Entry {
    issuer: String,
    rule: UrlRule,
    state: State,
}

/// What is known of one issuer: one of these at a time (an expired
/// document is never used, so a discovery or a failure replaces it).
#[derive(Debug)]
enum State {
    /// Nothing yet.
    Unknown,
    /// The document and when it stops being fresh.
    Found(Rc<ServerMetadata>, u64),
    /// The error of the last discovery and when it failed.
    Failed(Error, u64),
    /// Discovery `job` is under way and may report back until then.
    Discovering(u32, u64),
}

/// How long a document answered with `headers` is fresh (module docs, 2).
pub fn fresh_for(headers: &[(String, String)]) -> u64 {
    match freshness(find_header(headers, "cache-control")) {
        // Constant bounds: `clamp`'s check (min <= max) is folded away.
        Freshness::MaxAge(seconds) => seconds.clamp(MIN_FRESH_SEC, MAX_FRESH_SEC),
        // RFC 9111 §4.2.1: a response with a malformed or repeated max-age
        // may be considered stale: the floor, as no-store.
        Freshness::NoStore | Freshness::Invalid => MIN_FRESH_SEC,
        Freshness::Unspecified => DEFAULT_FRESH_SEC,
    }
}

impl MetadataCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many issuers it holds (documents, failures or discoveries under way).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The metadata of `issuer` (a valid issuer identifier: the caller
    /// checked it) under `rule` at `now`, or what to do to get it; a
    /// remembered failure is its error again (module docs, 3). A discovery
    /// this lookup starts makes at most two requests of `timeout_ms` each.
    pub fn lookup(
        &mut self,
        issuer: &str,
        rule: UrlRule,
        timeout_ms: u32,
        now: u64,
    ) -> Result<Lookup> {
        self.jobs = self.jobs.wrapping_add(1);
        // Two requests (the OpenID Connect URL, then RFC 8414's), plus a
        // second for the clock's resolution.
        let window = u64::from(timeout_ms.div_ceil(1000)) * 2 + 1;
        let discovering = State::Discovering(self.jobs, now.saturating_add(window));
        let at = self
            .entries
            .iter()
            .position(|e| e.issuer == issuer && e.rule == rule);
        // Taken out, and put back last: the most recently used.
        let mut entry = match at {
            Some(at) => self.entries.remove(at),
            None => {
                if self.entries.len() >= MAX_ISSUERS {
                    self.entries.remove(0);
                }
                Entry {
                    issuer: issuer.to_owned(),
                    rule,
                    state: State::Unknown,
                }
            }
        };
        let found = match &entry.state {
            State::Found(metadata, expires_at) if now < *expires_at => {
                Ok(Lookup::Found(Rc::clone(metadata)))
            }
            State::Discovering(job, until) if now < *until => Ok(Lookup::Wait(*job)),
            State::Failed(error, at) if now < at.saturating_add(FAILURE_COOLDOWN_SEC) => Err(
                remembered(error, at.saturating_add(FAILURE_COOLDOWN_SEC) - now),
            ),
            _ => {
                entry.state = discovering;
                Ok(Lookup::Discover(self.jobs))
            }
        };
        self.entries.push(entry);
        found
    }

    /// Ends discovery `job` with `state`. A discovery that is no longer
    /// under way (abandoned, or given up on and started again) changes
    /// nothing.
    fn settle(&mut self, job: u32, state: State) {
        let under_way = |e: &&mut Entry| matches!(e.state, State::Discovering(j, _) if j == job);
        if let Some(entry) = self.entries.iter_mut().find(under_way) {
            entry.state = state;
        }
    }

    /// Discovery `job` found `metadata`, answered with `headers` at `now`.
    pub fn found(
        &mut self,
        job: u32,
        metadata: &Rc<ServerMetadata>,
        headers: &[(String, String)],
        now: u64,
    ) {
        let expires_at = now.saturating_add(fresh_for(headers));
        self.settle(job, State::Found(Rc::clone(metadata), expires_at));
    }

    /// Discovery `job` failed with `error` at `now` (module docs, 3):
    /// returns the error to report, which says it is remembered.
    pub fn failed(&mut self, job: u32, error: Error, now: u64) -> Error {
        let report = remembered(&error, FAILURE_COOLDOWN_SEC);
        self.settle(job, State::Failed(error, now));
        report
    }

    /// Discovery `job` was aborted by its caller, or ran past its caller's
    /// timeout: nothing is remembered (module docs, 5).
    pub fn abandon(&mut self, job: u32) {
        self.settle(job, State::Unknown);
    }
}

/// A remembered failure, `retry_in` seconds before the next attempt: the
/// same code, retryable flag and status; the message says it is remembered.
fn remembered(error: &Error, retry_in: u64) -> Error {
    let message = msg!(
        "",
        error.message(),
        " (remembered: discovery is retried in ",
        retry_in,
        " s)"
    );
    let mut again = Error::new(error.code(), message);
    if let Some(status) = error.status() {
        again = again.with_status(status);
    }
    again.retryable(error.is_retryable())
}

#[cfg(test)]
mod tests;
