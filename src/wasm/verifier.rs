//! `VerifierCore`: the wasm half of the JS `JwksVerifier`.
//!
//! Everything that decides lives here (what the options mean, JWK Set validation, cache
//! policy, issuer routing, token parsing, claim checks). The JS layer
//! (`pkg-template/lib/verifier.js`) only performs I/O: the JWKS `fetch` and
//! the signature check with the runtime's crypto (`node:crypto` or
//! WebCrypto), which is several times faster than pure Rust inside wasm.

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use super::error::to_js_error;
use super::js::{JsArray, JsBytes};
use crate::jose::{self, Algorithm, KeySet, VerifyOptions};
use crate::jwks::config::{self, KeySource};
use crate::jwks::{JwksCache, Plan};
use crate::{Error, ErrorCode, Result};

/// A JWK Set tokens are checked against: given in the options, or fetched
/// from a `jwksUri` and cached. Issuers that name the same `jwksUri` share
/// one (one fetch, one cache).
enum Keys {
    Local(KeySet),
    Remote { uri: String, cache: Box<JwksCache> },
}

struct Source {
    /// Index into `VerifierCore::sets`.
    set: usize,
    options: VerifyOptions,
}

/// Verification state shared by every `verify` call of one `JwksVerifier`.
#[wasm_bindgen]
pub struct VerifierCore {
    sets: Vec<Keys>,
    sources: Vec<Source>,
    /// The issuer of each source, by source index; empty when there is no
    /// issuer routing.
    routes: Vec<String>,
    timeout_ms: u64,
    max_body_bytes: usize,
    verified_token_cache_size: u64,
}

impl VerifierCore {
    fn build(settings_json: &str) -> Result<Self> {
        let config = config::read(settings_json)?;
        let mut routes = Vec::new();
        let mut sources = Vec::with_capacity(config.sources.len());
        let mut sets: Vec<Keys> = Vec::new();
        for source in config.sources {
            if config.routed {
                // A routed source has exactly one issuer (config::read).
                routes.push(
                    source
                        .options
                        .issuers()
                        .first()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            let shared = match &source.keys {
                KeySource::Remote(uri) => sets
                    .iter()
                    .position(|set| matches!(set, Keys::Remote { uri: u, .. } if u == uri)),
                KeySource::Local(_) => None,
            };
            let set = match shared {
                Some(set) => set,
                None => {
                    sets.push(match source.keys {
                        KeySource::Local(keys) => Keys::Local(keys),
                        KeySource::Remote(uri) => Keys::Remote {
                            uri,
                            cache: Box::new(JwksCache::with_valid(config.cache)),
                        },
                    });
                    sets.len() - 1
                }
            };
            sources.push(Source {
                set,
                options: source.options,
            });
        }
        Ok(Self {
            sets,
            sources,
            routes,
            timeout_ms: config.cache.timeout_ms,
            max_body_bytes: config.cache.max_body_bytes,
            verified_token_cache_size: config.verified_token_cache_size,
        })
    }

    fn source(&self, index: usize) -> Result<&Source> {
        self.sources.get(index).ok_or_else(unknown_source)
    }

    /// The key set of `source`.
    fn keys_of(&self, source: usize) -> Option<&Keys> {
        self.sets.get(self.sources.get(source)?.set)
    }

    fn remote(&mut self, source: usize) -> Result<&mut JwksCache> {
        let set = self.sources.get(source).map_or(usize::MAX, |s| s.set);
        match self.sets.get_mut(set) {
            Some(Keys::Remote { cache, .. }) => Ok(cache),
            _ => Err(Error::options("this key source is not remote")),
        }
    }

    /// The key source for `token`: chosen from its (unverified) `iss` when
    /// the verifier routes by issuer, before any network call; else 0.
    fn route(&self, token: &str) -> Result<usize> {
        if self.routes.is_empty() {
            return Ok(0);
        }
        let claims = jose::decode_payload(token)?;
        let iss = jose::issuer(&claims, crate::jwks::ROUTING)?;
        self.routes
            .iter()
            .position(|known| known == iss)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::IssuerMismatch,
                    msg!(
                        "unexpected \"iss\" value; this verifier accepts tokens from ",
                        jose::quoted_list(&self.routes)
                    ),
                )
            })
    }

    /// `undefined` when `source` has keys to verify with at `now` (fresh,
    /// or stale within the stale-if-error window), else `error`.
    fn unless_usable(&self, source: usize, now: u64, error: Error) -> JsValue {
        match self.keys_of(source) {
            Some(Keys::Remote { cache, .. }) if cache.usable_keys(now).is_some() => {
                JsValue::UNDEFINED
            }
            _ => error.into(),
        }
    }
}

fn unknown_source() -> Error {
    Error::options("unknown key source")
}

fn now_sec(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

#[wasm_bindgen]
impl VerifierCore {
    /// Reads the settings: the canonical JSON `lib/verifier.js` makes of the
    /// options once it checked their names and types (see
    /// [`config::read`]; `invalid_options`, `jwks_invalid`).
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> core::result::Result<VerifierCore, JsValue> {
        Ok(Self::build(settings_json)?)
    }

    /// What the JS layer needs to know once: `[maxTokenLength, timeoutMs,
    /// maxBodyBytes, verifiedTokenCacheSize, algorithmNames, ...sourceUris]`.
    /// `algorithmNames` lists the names in the order `prepare` numbers them;
    /// a source's URI is `undefined` for a local JWK Set.
    pub fn layout(&self) -> JsArray {
        let out = JsArray::new();
        out.push(&JsValue::from_f64(jose::MAX_TOKEN_LENGTH as f64));
        out.push(&JsValue::from_f64(self.timeout_ms as f64));
        out.push(&JsValue::from_f64(self.max_body_bytes as f64));
        out.push(&JsValue::from_f64(self.verified_token_cache_size as f64));
        let names = JsArray::new();
        for alg in Algorithm::ALL {
            names.push(&JsValue::from_str(alg.as_str()));
        }
        out.push(&names);
        for source in 0..self.sources.len() {
            out.push(&match self.keys_of(source) {
                Some(Keys::Remote { uri, .. }) => JsValue::from_str(uri),
                _ => JsValue::UNDEFINED,
            });
        }
        out
    }

    /// What to do before verifying with remote `source` (called when
    /// `prepare` answered `[source]`, by a caller that has no fetch of this
    /// isolate to join): 0 use the cached keys, 1 fetch now (recorded as
    /// started: call `fetched` or `fetchFailed` when it ends), 2 use the
    /// cached keys without refetching (unknown `kid` within the cooldown),
    /// 3 wait and ask again: a fetch another request started is under way
    /// (only with `canWait`; without, the caller has waited its timeout and
    /// fetches itself only if the cooldown allows, see
    /// [`JwksCache::plan_after_waiting`]). Throws `jwks_fetch_failed` while
    /// cooling down with no usable keys.
    pub fn plan(
        &mut self,
        source: usize,
        token: &str,
        now: f64,
        can_wait: bool,
    ) -> core::result::Result<u8, JsValue> {
        let now = now_sec(now);
        // `prepare` already accepted this token's encoding and header.
        let parsed = jose::parse(token, &self.source(source)?.options)?;
        let cache = self.remote(source)?;
        let plan = match cache.plan_for(now, parsed.alg(), parsed.kid()) {
            Plan::AwaitFetch if !can_wait => cache.plan_after_waiting(now),
            plan => plan,
        };
        match plan {
            Plan::UseCached => Ok(0),
            Plan::AwaitFetch => Ok(3),
            Plan::Fetch => {
                cache.begin_fetch(now);
                Ok(1)
            }
            Plan::UseCachedNoRefetch => Ok(2),
            _ => Err(cache.cooling_down_error(now).into()),
        }
    }

    /// Hands a completed response to the cache of `source`. Returns
    /// `undefined` when there are keys to verify with (the new set, or the
    /// previous one kept after a bad response within stale-if-error), else
    /// the error to throw (`jwks_fetch_failed`, `jwks_invalid`).
    pub fn fetched(
        &mut self,
        source: usize,
        status: u16,
        cache_control: Option<String>,
        body: &[u8],
        now: f64,
    ) -> JsValue {
        let now = now_sec(now);
        let result = self
            .remote(source)
            .and_then(|cache| cache.on_fetch_ok(status, cache_control.as_deref(), body, now));
        match result {
            Ok(()) => JsValue::UNDEFINED,
            Err(error) => self.unless_usable(source, now, error),
        }
    }

    /// Records a fetch of `source` that failed without a usable response.
    /// Returns `undefined` when the previous keys may still be used
    /// (stale-if-error), else the error to throw (`jwks_fetch_failed`,
    /// retryable).
    #[wasm_bindgen(js_name = fetchFailed)]
    pub fn fetch_failed(
        &mut self,
        source: usize,
        message: &str,
        timed_out: bool,
        now: f64,
    ) -> JsValue {
        let now = now_sec(now);
        let reason = if timed_out {
            msg!("no answer within ", self.timeout_ms, " ms (timeoutMs)")
        } else {
            message.to_owned()
        };
        let error = Error::new(ErrorCode::NetworkError, reason);
        match self.remote(source) {
            Ok(cache) => {
                let error = cache.on_fetch_error(now, error);
                self.unless_usable(source, now, error)
            }
            Err(e) => e.into(),
        }
    }

    /// The key set generation a token verified against remote `source` may
    /// be trusted with at `now` without verifying again: the generation of
    /// the cached set while it is fresh, else -1 (verify in full: a fetch or
    /// a stale-if-error decision comes first).
    #[wasm_bindgen(js_name = freshGeneration)]
    pub fn fresh_generation(&self, source: usize, now: f64) -> f64 {
        match self.keys_of(source) {
            Some(Keys::Remote { cache, .. }) => cache
                .fresh_generation(now_sec(now))
                .map_or(-1.0, |g| g as f64),
            _ => -1.0,
        }
    }

    /// The public JWK (JSON text) of key `index` of `source`, for the
    /// runtime's `importKey`; `undefined` when the key set changed since
    /// `prepare` returned `generation` (the caller then starts over).
    #[wasm_bindgen(js_name = keyJwk)]
    pub fn key_jwk(
        &self,
        source: usize,
        index: usize,
        generation: f64,
        now: f64,
    ) -> Option<String> {
        let (keys, current) = match self.keys_of(source)? {
            Keys::Local(keys) => (keys, 0),
            Keys::Remote { cache, .. } => (cache.usable_keys(now_sec(now))?, cache.generation()),
        };
        if current as f64 != generation {
            return None;
        }
        keys.get(index).map(|k| k.public_jwk_json().to_owned())
    }

    /// Parses and checks `token` at `now` (seconds), against the key
    /// source its `iss` routes to (the only one without issuer routing).
    ///
    /// Returns `[alg, signature, generation, payloadJson, claimError, source,
    /// ...candidateKeyIndexes]`, `alg` as an index into the `algorithmNames`
    /// of [`Self::layout`]. `claimError` (an Error or null) must be thrown
    /// only after the signature verified (so forged tokens always answer
    /// `bad_signature`); `payloadJson` is null when it is set.
    ///
    /// With `plan`, a remote source is asked whether its JWK Set must be
    /// fetched first (only once the token's encoding and header passed, so
    /// garbage never causes a network call): if so the answer is `[source]`
    /// alone (join this isolate's fetch or call `plan`, then `prepare`
    /// again without `plan`); while it cools down after a failed fetch with
    /// no usable keys this throws `jwks_fetch_failed`. One call (one copy
    /// of the token into wasm) on the common path.
    pub fn prepare(
        &self,
        token: &str,
        now: f64,
        plan: bool,
    ) -> core::result::Result<JsArray, JsValue> {
        let now = now_sec(now);
        let source = self.route(token)?;
        let src = self.source(source)?;
        // Only a well-formed token with an allowed alg may cause a fetch.
        let parsed = jose::parse(token, &src.options)?;
        let (keys, generation) = match self.sets.get(src.set).ok_or_else(unknown_source)? {
            Keys::Local(keys) => (keys, 0),
            Keys::Remote { cache, .. } => {
                if plan {
                    match cache.plan_for(now, parsed.alg(), parsed.kid()) {
                        Plan::UseCached | Plan::UseCachedNoRefetch => {}
                        Plan::Fetch | Plan::AwaitFetch => {
                            let out = JsArray::new();
                            out.push(&JsValue::from_f64(source as f64));
                            return Ok(out);
                        }
                        Plan::FailCoolingDown => return Err(cache.cooling_down_error(now).into()),
                    }
                }
                match cache.usable_keys(now) {
                    Some(keys) => (keys, cache.generation()),
                    None => {
                        return Err(Error::new(
                            ErrorCode::JwksFetchFailed,
                            "no JWK Set is available yet for this issuer",
                        )
                        .retryable(true)
                        .into())
                    }
                }
            }
        };
        let prepared = parsed.prepare(keys, &src.options, now)?;
        let out = JsArray::new();
        let alg = Algorithm::ALL
            .iter()
            .position(|a| *a == prepared.alg())
            .unwrap_or_default();
        out.push(&JsValue::from_f64(alg as f64));
        out.push(&JsBytes::new(prepared.signature()).into());
        out.push(&JsValue::from_f64(generation as f64));
        match prepared.claims_error() {
            None => {
                out.push(&JsValue::from_str(prepared.payload_json()));
                out.push(&JsValue::NULL);
            }
            Some(e) => {
                out.push(&JsValue::NULL);
                out.push(&to_js_error(e));
            }
        }
        out.push(&JsValue::from_f64(source as f64));
        for &c in prepared.candidates() {
            out.push(&JsValue::from_f64(c as f64));
        }
        Ok(out)
    }

    /// The snapshot `{jwks, fetchedAt, expiresAt}` (JSON text) of remote
    /// `source`, for KV / the Cache API; `undefined` if nothing is cached.
    #[wasm_bindgen(js_name = exportSource)]
    pub fn export_source(&self, source: usize) -> Option<String> {
        match self.keys_of(source)? {
            Keys::Remote { cache, .. } => cache.export(),
            Keys::Local(_) => None,
        }
    }

    /// Loads a snapshot made by `exportSource` for the source fetched from
    /// `uri` (the JS `importCache()` and `cache` option); throws
    /// `jwks_invalid` when it is invalid, expired or names a `jwksUri` this
    /// verifier does not use. Returns false when a newer set is already
    /// cached.
    #[wasm_bindgen(js_name = importSource)]
    pub fn import_source(
        &mut self,
        uri: &str,
        snapshot: &str,
        now: f64,
    ) -> core::result::Result<bool, JsValue> {
        let now = now_sec(now);
        for set in &mut self.sets {
            if let Keys::Remote { uri: u, cache } = set {
                if u == uri {
                    return Ok(cache.import(snapshot, now)?);
                }
            }
        }
        Err(Error::new(
            ErrorCode::JwksInvalid,
            "the cache snapshot names a jwksUri this verifier does not use",
        )
        .into())
    }
}
