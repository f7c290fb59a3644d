//! `VerifierCore`: the wasm half of the JS `JwksVerifier`.
//!
//! Everything that decides lives here (options, JWK Set validation, cache
//! policy, issuer routing, token parsing, claim checks). The JS layer
//! (`pkg-template/lib/verifier.js`) only performs I/O: the JWKS `fetch` and
//! the signature check with the runtime's crypto (`node:crypto` or
//! WebCrypto), which is several times faster than pure Rust inside wasm.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::jose::{self, Algorithm, Audience, KeySet, VerifyOptions};
use crate::jwks::{CacheConfig, JwksCache, Plan};
use crate::{Error, ErrorCode, Result};

/// One string or a list of strings (`issuer`, `audience`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// `Some(None)` for an explicit `null`, `None` when the key is absent.
fn explicit<'de, D, T>(d: D) -> core::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IssuerEntry {
    jwks: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default, deserialize_with = "explicit")]
    audience: Option<Option<OneOrMany>>,
}

/// The options object of `new JwksVerifier(...)` / `JwksVerifier.fromJwks`.
/// The JS layer has already turned `jwks` and `cache` objects into JSON text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Options {
    issuer: Option<OneOrMany>,
    #[serde(default, deserialize_with = "explicit")]
    audience: Option<Option<OneOrMany>>,
    algorithms: Option<Vec<String>>,
    clock_tolerance_sec: Option<u64>,
    /// Read by the JS layer (fixed clock); accepted here so it is not "unknown".
    #[allow(dead_code)]
    now: Option<f64>,
    typ: Option<String>,
    required_claims: Option<Vec<String>>,
    reject_key_hints: Option<bool>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    issuers: Option<BTreeMap<String, IssuerEntry>>,
    cache_max_age_sec: Option<u64>,
    cooldown_sec: Option<u64>,
    stale_if_error_sec: Option<u64>,
    timeout_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    cache: Option<String>,
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

fn audience_of(value: Option<Option<OneOrMany>>, context: &str) -> Result<Audience> {
    match value {
        None => Err(Error::options(format!(
            "audience is required{context}: pass the expected \"aud\" (a string or a list), \
             or audience: null to accept any audience"
        ))),
        Some(None) => Ok(Audience::Any),
        Some(Some(list)) => Ok(Audience::OneOf(list.into_vec())),
    }
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>> {
    names.iter().map(|n| n.parse::<Algorithm>()).collect()
}

fn is_http_url(uri: &str) -> bool {
    uri.starts_with("https://") || uri.starts_with("http://")
}

impl VerifierCore {
    fn build(opts: Options, now: u64) -> Result<Self> {
        let algorithms = opts
            .algorithms
            .as_deref()
            .map(parse_algorithms)
            .transpose()?;
        let refine = |mut o: VerifyOptions| -> Result<VerifyOptions> {
            if let Some(algs) = &algorithms {
                o = o.with_algorithms(algs)?;
            }
            if let Some(t) = opts.clock_tolerance_sec {
                o = o.with_clock_tolerance_sec(t)?;
            }
            if let Some(typ) = &opts.typ {
                o = o.with_typ(typ)?;
            }
            if let Some(claims) = &opts.required_claims {
                o = o.with_required_claims(claims.iter().cloned())?;
            }
            Ok(o.with_reject_key_hints(opts.reject_key_hints.unwrap_or(false)))
        };
        let defaults = CacheConfig::default();
        let cache_config = CacheConfig {
            max_age_sec: opts.cache_max_age_sec.unwrap_or(defaults.max_age_sec),
            cooldown_sec: opts.cooldown_sec.unwrap_or(defaults.cooldown_sec),
            stale_if_error_sec: opts
                .stale_if_error_sec
                .unwrap_or(defaults.stale_if_error_sec),
            timeout_ms: opts.timeout_ms.unwrap_or(defaults.timeout_ms),
            max_body_bytes: opts.max_body_bytes.unwrap_or(defaults.max_body_bytes),
        };
        cache_config.validate()?;
        let key_source = |jwks: Option<String>, uri: Option<String>, who: &str| -> Result<Keys> {
            match (jwks, uri) {
                (Some(_), Some(_)) => Err(Error::options(format!(
                    "{who}: pass either jwks or jwksUri, not both"
                ))),
                (Some(text), None) => Ok(Keys::Local(Arc::new(KeySet::from_json(&text)?))),
                (None, Some(uri)) if is_http_url(&uri) => Ok(Keys::Remote {
                    uri,
                    cache: Box::new(JwksCache::new(cache_config)?),
                }),
                (None, Some(_)) => Err(Error::options(format!(
                    "{who}: jwksUri must be an absolute http(s) URL"
                ))),
                (None, None) => Err(Error::options(format!(
                    "{who}: pass the keys, as jwks (a JWK Set) or jwksUri (where to fetch it)"
                ))),
            }
        };

        let mut sources = Vec::new();
        let mut routes = Vec::new();
        if let Some(issuers) = opts.issuers {
            if opts.issuer.is_some() || opts.jwks.is_some() || opts.jwks_uri.is_some() {
                return Err(Error::options(
                    "with issuers: {...} give each issuer its own jwks/jwksUri; \
                     top-level issuer, jwks and jwksUri are not used",
                ));
            }
            if issuers.is_empty() {
                return Err(Error::options("issuers must name at least one issuer"));
            }
            for (issuer, entry) in issuers {
                let context = format!(" for issuer \"{issuer}\"");
                let audience = match entry.audience {
                    Some(a) => audience_of(Some(a), &context)?,
                    None => audience_of(
                        opts.audience.as_ref().map(|a| {
                            a.as_ref().map(|l| match l {
                                OneOrMany::One(s) => OneOrMany::One(s.clone()),
                                OneOrMany::Many(v) => OneOrMany::Many(v.clone()),
                            })
                        }),
                        &context,
                    )?,
                };
                let keys = key_source(
                    entry.jwks,
                    entry.jwks_uri,
                    &format!("issuers[\"{issuer}\"]"),
                )?;
                let options = refine(VerifyOptions::new([issuer.clone()], audience)?)?;
                routes.push((issuer, sources.len()));
                sources.push(Source { keys, options });
            }
        } else {
            let issuers = opts
                .issuer
                .ok_or_else(|| {
                    Error::options(
                        "issuer is required: pass the expected \"iss\" (a string or a list)",
                    )
                })?
                .into_vec();
            let audience = audience_of(opts.audience, "")?;
            let keys = key_source(opts.jwks, opts.jwks_uri, "JwksVerifier")?;
            let options = refine(VerifyOptions::new(issuers, audience)?)?;
            sources.push(Source { keys, options });
        }
        let mut core = Self {
            sources,
            routes,
            timeout_ms: cache_config.timeout_ms,
            max_body_bytes: cache_config.max_body_bytes,
        };
        if let Some(snapshot) = opts.cache {
            // A snapshot that is expired or invalid is ignored: the set is
            // fetched as if there were none (use importCache() to see why).
            let _ = core.import_snapshots(&snapshot, now);
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

    fn import_snapshots(&mut self, text: &str, now: u64) -> Result<usize> {
        let value = crate::json::parse(text).map_err(|e| {
            Error::new(
                ErrorCode::JwksInvalid,
                format!("the cache snapshot is not JSON: {e}"),
            )
        })?;
        let map = value.as_object().ok_or_else(|| {
            Error::new(
                ErrorCode::JwksInvalid,
                "the cache snapshot must be the object exportCache() returned",
            )
        })?;
        let mut imported = 0;
        for source in &mut self.sources {
            if let Keys::Remote { uri, cache } = &mut source.keys {
                if let Some(snapshot) = map.get(uri) {
                    if cache.import(&snapshot.to_json(), now)? {
                        imported += 1;
                    }
                }
            }
        }
        Ok(imported)
    }
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
    /// Parses and validates the options (`invalid_options`, `jwks_invalid`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, now: f64) -> core::result::Result<VerifierCore, JsValue> {
        let opts: Options = serde_wasm_bindgen::from_value(options)
            .map_err(|e| Error::options(format!("invalid JwksVerifier options: {e}")))?;
        Ok(Self::build(opts, now_sec(now))?)
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
                let known: Vec<&str> = self.routes.iter().map(|(k, _)| k.as_str()).collect();
                Error::new(
                    ErrorCode::IssuerMismatch,
                    format!(
                        "unexpected \"iss\" value; this verifier accepts tokens from {}",
                        known.join(", ")
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
            format!("no answer within {} ms (timeoutMs)", self.timeout_ms)
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
    /// ...candidateKeyIndexes]`. `claimError` (an Error or null) must be
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
        out.push(&JsValue::from_str(prepared.alg().as_str()));
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

    /// A JSON snapshot `{ [jwksUri]: {jwks, fetchedAt, expiresAt} }` of every
    /// remote key set, for KV / the Cache API; `undefined` if none is cached.
    #[wasm_bindgen(js_name = exportCache)]
    pub fn export_cache(&self) -> Option<String> {
        let mut out = crate::json::Object::default();
        for source in &self.sources {
            if let Keys::Remote { uri, cache } = &source.keys {
                if let Some(Ok(v)) = cache.export().map(|s| crate::json::parse(&s)) {
                    out.insert(uri.clone(), v);
                }
            }
        }
        (!out.is_empty()).then(|| crate::json::Value::Object(out).to_json())
    }

    /// Loads a snapshot made by `exportCache()`; throws `jwks_invalid` when
    /// it is invalid or expired. Returns how many key sets were loaded.
    #[wasm_bindgen(js_name = importCache)]
    pub fn import_cache(
        &mut self,
        snapshot: &str,
        now: f64,
    ) -> core::result::Result<usize, JsValue> {
        Ok(self.import_snapshots(snapshot, now_sec(now))?)
    }
}
