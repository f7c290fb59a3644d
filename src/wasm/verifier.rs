//! `VerifierCore`: the wasm half of the JS `JwksVerifier`.
//!
//! Everything that decides lives here (options, JWK Set validation, cache
//! policy, issuer routing, token parsing, claim checks). The JS layer
//! (`pkg-template/lib/verifier.js`) only performs I/O: the JWKS `fetch` and
//! the signature check with the runtime's crypto (`node:crypto` or
//! WebCrypto), which is several times faster than pure Rust inside wasm.

use crate::prelude::*;
use alloc::sync::Arc;

use wasm_bindgen::prelude::*;

use super::options::{self, Opts, MAX_SAFE_INTEGER};
use crate::jose::{self, Algorithm, Audience, KeySet, VerifyOptions};
use crate::json::{self, Value};
use crate::jwks::{CacheConfig, JwksCache, Plan};
use crate::{Error, ErrorCode, Result};

const OPTION_KEYS: &[&str] = &[
    "issuer",
    "audience",
    "algorithms",
    "clockToleranceSec",
    "now",
    "typ",
    "requiredClaims",
    "rejectKeyHints",
    "jwks",
    "jwksUri",
    "issuers",
    "cacheMaxAgeSec",
    "cooldownSec",
    "staleIfErrorSec",
    "timeoutMs",
    "maxBodyBytes",
    "cache",
];
const ISSUER_ENTRY_KEYS: &[&str] = &["jwks", "jwksUri", "audience"];

/// `None` when absent, `Some(None)` for an explicit `null` (accept any
/// audience, on purpose), else the accepted audiences.
fn audience(o: &Opts) -> Option<Option<Vec<String>>> {
    match o.raw("audience")? {
        Value::Null => Some(None),
        _ => o.string_or_strings("audience").map(Some),
    }
}

/// A JSON document (`jwks`, `cache`) given as an object or as JSON text.
fn document(o: &Opts, key: &str) -> Result<Option<Value>> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => json::parse(text)
            .map(Some)
            .map_err(|e| Error::new(ErrorCode::JwksInvalid, msg!(key, " is not valid JSON: ", e))),
        Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
        Some(_) => Ok(o.wrong(key, "an object or JSON text")),
    }
}

enum Keys {
    Local(Arc<KeySet>),
    Remote { uri: String, cache: Box<JwksCache> },
}

struct Source {
    keys: Keys,
    options: VerifyOptions,
}

/// Verification state shared by every `verify` call of one `JwksVerifier`.
#[wasm_bindgen]
pub struct VerifierCore {
    sources: Vec<Source>,
    /// issuer -> source index; empty when there is no issuer routing.
    routes: Vec<(String, usize)>,
    timeout_ms: u64,
    max_body_bytes: usize,
}

fn audience_of(value: Option<Option<Vec<String>>>, context: &str) -> Result<Audience> {
    match value {
        None => Err(Error::options(msg!(
            "audience is required",
            context,
            ": pass the expected \"aud\" (a string or a list), \
             or audience: null to accept any audience"
        ))),
        Some(None) => Ok(Audience::Any),
        Some(Some(list)) => Ok(Audience::OneOf(list)),
    }
}

fn is_http_url(uri: &str) -> bool {
    uri.starts_with("https://") || uri.starts_with("http://")
}

impl VerifierCore {
    fn build(options_json: &str, now: u64) -> Result<Self> {
        let root = options::parse(options_json, "JwksVerifier")?;
        let opts = Opts::new(&root, "JwksVerifier")?;
        opts.only(OPTION_KEYS)?;
        let algorithms = opts.string_or_strings("algorithms");
        let tolerance = opts.uint("clockToleranceSec", MAX_SAFE_INTEGER);
        let typ = opts.string("typ");
        let required = opts.string_or_strings("requiredClaims");
        let reject_hints = opts.boolean("rejectKeyHints").unwrap_or(false);
        let max_body = opts.uint("maxBodyBytes", MAX_SAFE_INTEGER);
        let defaults = CacheConfig::default();
        let cache_config = CacheConfig {
            max_age_sec: opts
                .uint("cacheMaxAgeSec", MAX_SAFE_INTEGER)
                .unwrap_or(defaults.max_age_sec),
            cooldown_sec: opts
                .uint("cooldownSec", MAX_SAFE_INTEGER)
                .unwrap_or(defaults.cooldown_sec),
            stale_if_error_sec: opts
                .uint("staleIfErrorSec", MAX_SAFE_INTEGER)
                .unwrap_or(defaults.stale_if_error_sec),
            timeout_ms: opts
                .uint("timeoutMs", MAX_SAFE_INTEGER)
                .unwrap_or(defaults.timeout_ms),
            max_body_bytes: max_body.map_or(defaults.max_body_bytes, |b| b as usize),
        };
        opts.done()?;
        cache_config.validate()?;
        let algorithms = match algorithms {
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| n.parse::<Algorithm>())
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        let refine = |mut o: VerifyOptions| -> Result<VerifyOptions> {
            if let Some(algs) = &algorithms {
                o = o.with_algorithms(algs)?;
            }
            if let Some(t) = tolerance {
                o = o.with_clock_tolerance_sec(t)?;
            }
            if let Some(typ) = &typ {
                o = o.with_typ(typ)?;
            }
            if let Some(claims) = &required {
                o = o.with_required_claims(claims.iter().cloned())?;
            }
            Ok(o.with_reject_key_hints(reject_hints))
        };
        let key_source = |entry: &Opts, who: &str| -> Result<Keys> {
            let jwks = document(entry, "jwks")?;
            let jwks_uri = entry.string("jwksUri");
            entry.done()?;
            match (jwks, jwks_uri.as_deref()) {
                (Some(_), Some(_)) => Err(Error::options(msg!(
                    who,
                    ": pass either jwks or jwksUri, not both"
                ))),
                (Some(doc), None) => Ok(Keys::Local(Arc::new(KeySet::from_value(&doc)?))),
                (None, Some(uri)) if is_http_url(uri) => Ok(Keys::Remote {
                    uri: uri.to_owned(),
                    cache: Box::new(JwksCache::new(cache_config)?),
                }),
                (None, Some(_)) => Err(Error::options(msg!(
                    who,
                    ": jwksUri must be an absolute http(s) URL"
                ))),
                (None, None) => Err(Error::options(msg!(
                    who,
                    ": pass the keys, as jwks (a JWK Set) or jwksUri (where to fetch it)"
                ))),
            }
        };

        let mut sources = Vec::new();
        let mut routes = Vec::new();
        if let Some(issuers) = opts.get("issuers") {
            if opts.get("issuer").is_some()
                || opts.get("jwks").is_some()
                || opts.get("jwksUri").is_some()
            {
                return Err(Error::options(
                    "with issuers: {...} give each issuer its own jwks or jwksUri; \
                     top-level issuer, jwks and jwksUri are not used",
                ));
            }
            let map = issuers
                .as_object()
                .filter(|m| !m.is_empty())
                .ok_or_else(|| {
                    Error::options("issuers must map at least one issuer to its keys")
                })?;
            for (issuer, entry) in map.iter() {
                let who = msg!("issuers[", crate::jose::quoted(issuer), "]");
                let entry = Opts::new(entry, &who)?;
                entry.only(ISSUER_ENTRY_KEYS)?;
                let context = msg!(" for issuer ", crate::jose::quoted(issuer));
                let audience = match audience(&entry) {
                    Some(a) => audience_of(Some(a), &context)?,
                    None => audience_of(audience(&opts), &context)?,
                };
                let keys = key_source(&entry, &who)?;
                let options = refine(VerifyOptions::new([issuer], audience)?)?;
                routes.push((issuer.to_owned(), sources.len()));
                sources.push(Source { keys, options });
            }
        } else {
            let issuers = opts.string_or_strings("issuer");
            let audience = audience(&opts);
            opts.done()?;
            let issuers = issuers.ok_or_else(|| {
                Error::options("issuer is required: pass the expected \"iss\" (a string or a list)")
            })?;
            let audience = audience_of(audience, "")?;
            let keys = key_source(&opts, "JwksVerifier")?;
            let options = refine(VerifyOptions::new(issuers, audience)?)?;
            sources.push(Source { keys, options });
        }
        let mut core = Self {
            sources,
            routes,
            timeout_ms: cache_config.timeout_ms,
            max_body_bytes: cache_config.max_body_bytes,
        };
        if let Some(Value::Object(snapshots)) = document(&opts, "cache")? {
            // A snapshot that is expired or invalid is ignored: the set is
            // fetched as if there were none (importCache() says why).
            for (uri, snapshot) in snapshots.iter() {
                if let Some(text) = snapshot_text(snapshot) {
                    let _ = core.import_source(uri, &text, now);
                }
            }
        }
        Ok(core)
    }

    fn source(&self, index: usize) -> Result<&Source> {
        self.sources
            .get(index)
            .ok_or_else(|| Error::options("unknown key source"))
    }

    fn remote(&mut self, index: usize) -> Result<&mut JwksCache> {
        match self.sources.get_mut(index).map(|s| &mut s.keys) {
            Some(Keys::Remote { cache, .. }) => Ok(cache),
            _ => Err(Error::options("this key source is not remote")),
        }
    }

    /// Loads the snapshot of the remote source fetched from `uri`.
    fn import_source(&mut self, uri: &str, snapshot: &str, now: u64) -> Result<bool> {
        for source in &mut self.sources {
            if let Keys::Remote { uri: u, cache } = &mut source.keys {
                if u == uri {
                    return cache.import(snapshot, now);
                }
            }
        }
        Err(Error::new(
            ErrorCode::JwksInvalid,
            "the cache snapshot names a jwksUri this verifier does not use",
        ))
    }
}

/// Snapshots travel inside the options as objects; the cache reads their
/// JSON text. Rebuilt here from the few shapes a snapshot has (no generic
/// JSON writer, which would pull float formatting into the wasm).
fn snapshot_text(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    let jwks = KeySet::from_value(object.get("jwks")?).ok()?;
    let int = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_safe_integer)
            .and_then(|n| u64::try_from(n).ok())
    };
    let (fetched, expires) = (int("fetchedAt")?, int("expiresAt")?);
    Some(msg!(
        "{\"jwks\":",
        jwks.to_json(),
        ",\"fetchedAt\":",
        fetched,
        ",\"expiresAt\":",
        expires,
        "}"
    ))
}

fn kid_of(token: &str) -> Option<String> {
    let (header, _, _) = jose::split_compact(token).ok()?;
    let (_, object) = jose::decode_json_object(header, "header").ok()?;
    object.get_str("kid").map(str::to_owned)
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
    /// Parses and validates the options, given as `JSON.stringify(options)`
    /// (`invalid_options`, `jwks_invalid`).
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str, now: f64) -> core::result::Result<VerifierCore, JsValue> {
        Ok(Self::build(options_json, now_sec(now))?)
    }

    /// The algorithm names, in the order `prepare` numbers them.
    #[wasm_bindgen(js_name = algorithmNames)]
    pub fn algorithm_names() -> Vec<JsValue> {
        Algorithm::ALL
            .iter()
            .map(|a| JsValue::from_str(a.as_str()))
            .collect()
    }

    /// True when the key source depends on the token's `iss` (issuer
    /// routing): then call `route` first, else the source is 0.
    #[wasm_bindgen(getter)]
    pub fn routed(&self) -> bool {
        !self.routes.is_empty()
    }

    /// How many key sources (1, or one per issuer with `issuers`).
    #[wasm_bindgen(js_name = sourceCount)]
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// The `jwksUri` of a remote source, `undefined` for a local one.
    #[wasm_bindgen(js_name = sourceUri)]
    pub fn source_uri(&self, source: usize) -> Option<String> {
        match self.sources.get(source).map(|s| &s.keys) {
            Some(Keys::Remote { uri, .. }) => Some(uri.clone()),
            _ => None,
        }
    }

    /// Fetch timeout in milliseconds.
    #[wasm_bindgen(getter, js_name = timeoutMs)]
    pub fn timeout_ms(&self) -> f64 {
        self.timeout_ms as f64
    }

    /// Largest JWK Set response accepted, in bytes.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The key source for `token`: chosen from its (unverified) `iss` when
    /// the verifier routes by issuer, before any network call.
    pub fn route(&self, token: &str) -> core::result::Result<usize, JsValue> {
        if self.routes.is_empty() {
            return Ok(0);
        }
        let iss = crate::jwks::peek_issuer(token)?;
        self.routes
            .iter()
            .find(|(known, _)| *known == iss)
            .map(|(_, i)| *i)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::IssuerMismatch,
                    msg!(
                        "unexpected \"iss\" value; this verifier accepts tokens from ",
                        options::comma_list(self.routes.iter().map(|(k, _)| k.as_str()))
                    ),
                )
                .into()
            })
    }

    /// What to do before verifying: 0 use the cached keys, 1 fetch first,
    /// 2 use the cached keys without refetching (unknown `kid` within the
    /// cooldown). Throws `jwks_fetch_failed` while cooling down after a
    /// failed fetch with no usable keys.
    pub fn plan(&self, source: usize, token: &str, now: f64) -> core::result::Result<u8, JsValue> {
        let now = now_sec(now);
        match &self.source(source)?.keys {
            Keys::Local(_) => Ok(0),
            Keys::Remote { cache, .. } => match cache.plan(now, kid_of(token).as_deref()) {
                Plan::UseCached => Ok(0),
                Plan::Fetch => Ok(1),
                Plan::UseCachedNoRefetch => Ok(2),
                Plan::FailCoolingDown => Err(cache.cooling_down_error(now).into()),
            },
        }
    }

    /// Records that a fetch of `source` starts.
    #[wasm_bindgen(js_name = beginFetch)]
    pub fn begin_fetch(&mut self, source: usize, now: f64) -> core::result::Result<(), JsValue> {
        self.remote(source)?.begin_fetch(now_sec(now));
        Ok(())
    }

    /// Hands a completed response to the cache (throws `jwks_fetch_failed`
    /// or `jwks_invalid`; the previous set, if any, is kept).
    #[wasm_bindgen(js_name = onFetchResponse)]
    pub fn on_fetch_response(
        &mut self,
        source: usize,
        status: u16,
        cache_control: Option<String>,
        body: &[u8],
        now: f64,
    ) -> core::result::Result<(), JsValue> {
        self.remote(source)?
            .on_fetch_ok(status, cache_control.as_deref(), body, now_sec(now))?;
        Ok(())
    }

    /// Records a fetch that failed without a usable response and returns
    /// the error to report (`jwks_fetch_failed`, retryable).
    #[wasm_bindgen(js_name = onFetchError)]
    pub fn on_fetch_error(
        &mut self,
        source: usize,
        message: &str,
        timed_out: bool,
        now: f64,
    ) -> JsValue {
        let reason = if timed_out {
            msg!("no answer within ", self.timeout_ms, " ms (timeoutMs)")
        } else {
            message.to_owned()
        };
        let error = Error::new(ErrorCode::NetworkError, reason);
        match self.remote(source) {
            Ok(cache) => cache.on_fetch_error(now_sec(now), error).into(),
            Err(e) => e.into(),
        }
    }

    /// True when the source has keys to verify with now (fresh, or stale
    /// within the stale-if-error window).
    #[wasm_bindgen(js_name = hasUsableKeys)]
    pub fn has_usable_keys(&self, source: usize, now: f64) -> bool {
        match self.sources.get(source).map(|s| &s.keys) {
            Some(Keys::Local(_)) => true,
            Some(Keys::Remote { cache, .. }) => cache.usable_keys(now_sec(now)).is_some(),
            None => false,
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
        let src = self.sources.get(source)?;
        let (keys, current) = match &src.keys {
            Keys::Local(keys) => (Arc::clone(keys), 0),
            Keys::Remote { cache, .. } => {
                (cache.usable_keys_shared(now_sec(now))?, cache.generation())
            }
        };
        if current as f64 != generation {
            return None;
        }
        keys.get(index).map(|k| k.public_jwk_json().to_owned())
    }

    /// Parses and checks `token` against `source` at `now` (seconds).
    ///
    /// Returns `[alg, signature, generation, payloadJson, claimError,
    /// ...candidateKeyIndexes]`, `alg` as an index into
    /// [`Self::algorithm_names`]. `claimError` (an Error or null) must be
    /// thrown only after the signature verified (so forged tokens always
    /// answer `bad_signature`); `payloadJson` is null when it is set.
    pub fn prepare(
        &self,
        source: usize,
        token: &str,
        now: f64,
    ) -> core::result::Result<js_sys::Array, JsValue> {
        let now = now_sec(now);
        let src = self.source(source)?;
        let (keys, generation) = match &src.keys {
            Keys::Local(keys) => (Arc::clone(keys), 0),
            Keys::Remote { cache, .. } => match cache.usable_keys_shared(now) {
                Some(keys) => (keys, cache.generation()),
                None => {
                    return Err(Error::new(
                        ErrorCode::JwksFetchFailed,
                        "no JWK Set is available yet for this issuer",
                    )
                    .retryable(true)
                    .into())
                }
            },
        };
        let prepared = jose::prepare(token, &keys, &src.options, now)?;
        let out = js_sys::Array::new();
        let alg = Algorithm::ALL
            .iter()
            .position(|a| *a == prepared.alg())
            .unwrap_or_default();
        out.push(&JsValue::from_f64(alg as f64));
        out.push(&js_sys::Uint8Array::from(prepared.signature()).into());
        out.push(&JsValue::from_f64(generation as f64));
        let candidates: Vec<usize> = prepared.candidates().to_vec();
        let first = candidates.first().copied();
        match jose::finish(prepared, first) {
            Ok(verified) => {
                out.push(&JsValue::from_str(&verified.into_payload_json()));
                out.push(&JsValue::NULL);
            }
            Err(e) if e.code() == ErrorCode::BadSignature => return Err(e.into()),
            Err(e) => {
                out.push(&JsValue::NULL);
                out.push(&e.into());
            }
        }
        for c in candidates {
            out.push(&JsValue::from_f64(c as f64));
        }
        Ok(out)
    }

    /// The snapshot `{jwks, fetchedAt, expiresAt}` (JSON text) of remote
    /// `source`, for KV / the Cache API; `undefined` if nothing is cached.
    #[wasm_bindgen(js_name = exportSource)]
    pub fn export_source(&self, source: usize) -> Option<String> {
        match &self.sources.get(source)?.keys {
            Keys::Remote { cache, .. } => cache.export(),
            Keys::Local(_) => None,
        }
    }

    /// Loads a snapshot made by `exportSource` for the source fetched from
    /// `uri`; throws `jwks_invalid` when it is invalid or expired. Returns
    /// false when a newer set is already cached.
    #[wasm_bindgen(js_name = importSource)]
    pub fn import_source_js(
        &mut self,
        uri: &str,
        snapshot: &str,
        now: f64,
    ) -> core::result::Result<bool, JsValue> {
        Ok(self.import_source(uri, snapshot, now_sec(now))?)
    }
}
