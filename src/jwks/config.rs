//! The settings of the JS `JwksVerifier`, read from the canonical JSON its
//! JS layer makes of the options (pure Rust, tested natively; the wasm
//! facade only turns the result into key sources).
//!
//! The JS layer checks names and types (a typo such as `isuer` is
//! `invalid_options` there, never ignored) and writes every source out:
//!
//! ```json
//! {"routed":false,
//!  "sources":[{"issuer":["https://console.example"],"audience":["ext-123"],
//!              "jwksUri":"https://console.example/jwks"}],
//!  "algorithms":["ES256"],"clockToleranceSec":30,"typ":"at+jwt","requiredClaims":["sub"],
//!  "rejectKeyHints":false,"cacheMaxAgeSec":600,"cooldownSec":30,"staleIfErrorSec":3600,
//!  "timeoutMs":5000,"maxBodyBytes":65536,"verifiedTokenCacheSize":0}
//! ```
//!
//! (`audience: null` accepts any audience; a source has `jwks`, an object or
//! JSON text, or `jwksUri`; every member but `sources` may be left out.)
//! (The `cache` option is not part of it: the JS layer loads those snapshots
//! through `importSource` once the verifier exists.) This module checks
//! what the values mean, with the rules of the Rust API
//! ([`VerifyOptions`], [`CacheConfig::validate`]); a document of another
//! shape is `invalid_options`.

use super::CacheConfig;
use crate::jose::{Algorithm, Audience, KeySet, VerifyOptions};
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Largest `verifiedTokenCacheSize` (entries).
pub const MAX_VERIFIED_TOKEN_CACHE: u64 = 100_000;

/// Where one source's keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A JWK Set given in the options (`jwks`).
    Local(KeySet),
    /// A JWK Set fetched from this `jwksUri` (absolute http(s) URL).
    Remote(String),
}

/// One key source and the options its tokens are checked against.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// The accepted issuers of this source (exactly one when routed).
    pub options: VerifyOptions,
    /// The keys.
    pub keys: KeySource,
}

/// Everything a `JwksVerifier` was configured with.
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    /// One source, or one per issuer with `issuers`.
    pub sources: Vec<SourceConfig>,
    /// True with `issuers`: the source is chosen from the token's `iss`.
    pub routed: bool,
    /// Remote JWK Set policy (defaults unless given).
    pub cache: CacheConfig,
    /// `verifiedTokenCacheSize`: how many verified tokens the JS layer may
    /// remember (0, the default: none).
    pub verified_token_cache_size: u64,
}

/// Reads the settings (`invalid_options`; `jwks_invalid` for a bad `jwks`).
pub fn read(settings_json: &str) -> Result<VerifierConfig> {
    let root = json::parse(settings_json).map_err(|_| not_canonical())?;
    let settings = root.as_object().ok_or_else(not_canonical)?;
    let mut cache = CacheConfig::default();
    for (field, name) in [
        (&mut cache.max_age_sec, "cacheMaxAgeSec"),
        (&mut cache.cooldown_sec, "cooldownSec"),
        (&mut cache.stale_if_error_sec, "staleIfErrorSec"),
        (&mut cache.timeout_ms, "timeoutMs"),
    ] {
        if let Some(n) = uint(settings, name)? {
            *field = n;
        }
    }
    if let Some(n) = uint(settings, "maxBodyBytes")? {
        cache.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    cache.validate()?;
    let verified_token_cache_size = uint(settings, "verifiedTokenCacheSize")?.unwrap_or(0);
    if verified_token_cache_size > MAX_VERIFIED_TOKEN_CACHE {
        return Err(Error::options(msg!(
            "verifiedTokenCacheSize must be at most ",
            MAX_VERIFIED_TOKEN_CACHE
        )));
    }
    let Some(Value::Array(entries)) = settings.get("sources") else {
        return Err(not_canonical());
    };
    let mut sources = Vec::with_capacity(entries.len());
    for entry in entries {
        sources.push(source(
            settings,
            entry.as_object().ok_or_else(not_canonical)?,
        )?);
    }
    Ok(VerifierConfig {
        routed: matches!(settings.get("routed"), Some(Value::Bool(true))),
        sources,
        cache,
        verified_token_cache_size,
    })
}

/// One source: its issuers, audience and keys, with the policy every
/// source shares.
fn source(settings: &Object, entry: &Object) -> Result<SourceConfig> {
    let issuers = strings(entry, "issuer")?.ok_or_else(not_canonical)?;
    let audience = match entry.get("audience") {
        Some(Value::Null) => Audience::Any,
        _ => Audience::OneOf(strings(entry, "audience")?.ok_or_else(not_canonical)?),
    };
    let mut options = VerifyOptions::new(issuers, audience)?;
    if let Some(names) = strings(settings, "algorithms")? {
        let mut algorithms = Vec::with_capacity(names.len());
        for name in names {
            algorithms.push(name.parse::<Algorithm>()?);
        }
        options.set_algorithms(&algorithms)?;
    }
    if let Some(seconds) = uint(settings, "clockToleranceSec")? {
        options.set_clock_tolerance_sec(seconds)?;
    }
    match settings.get("typ") {
        Some(Value::String(typ)) => options.set_typ(typ)?,
        None => {}
        Some(_) => return Err(not_canonical()),
    }
    if let Some(claims) = strings(settings, "requiredClaims")? {
        options.set_required_claims(claims)?;
    }
    let reject_key_hints = matches!(settings.get("rejectKeyHints"), Some(Value::Bool(true)));
    let options = options.with_reject_key_hints(reject_key_hints);
    let keys = match (entry.get("jwks"), entry.get("jwksUri")) {
        (Some(Value::String(text)), None) => {
            KeySource::Local(KeySet::from_value(&parse_document("jwks", text)?)?)
        }
        (Some(jwks @ Value::Object(_)), None) => KeySource::Local(KeySet::from_value(jwks)?),
        (None, Some(Value::String(uri))) => KeySource::Remote(uri.clone()),
        _ => return Err(not_canonical()),
    };
    Ok(SourceConfig { options, keys })
}

/// A document that is not what the JS layer writes (only a caller that
/// skips it sees this).
fn not_canonical() -> Error {
    Error::options("the JwksVerifier settings are not in the canonical form of lib/verifier.js")
}

/// The member `name` as a list of strings; `None` when absent.
fn strings(object: &Object, name: &str) -> Result<Option<Vec<String>>> {
    object
        .get(name)
        .map(|v| v.string_list().ok_or_else(not_canonical))
        .transpose()
}

/// The member `name` as a whole non-negative number; `None` when absent.
fn uint(object: &Object, name: &str) -> Result<Option<u64>> {
    object
        .get(name)
        .map(|v| {
            v.as_safe_integer()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(not_canonical)
        })
        .transpose()
}

fn parse_document(key: &str, text: &str) -> Result<Value> {
    json::parse(text)
        .map_err(|e| Error::new(ErrorCode::JwksInvalid, msg!(key, " is not valid JSON: ", e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    const SOURCE: &str = r#"{"issuer":["i"],"audience":["a"],"jwksUri":"https://j"}"#;

    /// One remote source plus `members`.
    fn read_with(members: &str) -> Result<VerifierConfig> {
        let comma = if members.is_empty() { "" } else { "," };
        read(&format!(r#"{{"sources":[{SOURCE}]{comma}{members}}}"#))
    }

    fn json_string(s: &str) -> String {
        let mut out = String::new();
        json::write_string(&mut out, s);
        out
    }

    #[test]
    fn one_source_with_every_setting() {
        let config = read(&format!(
            r#"{{"routed":false,"sources":[{{"issuer":["https://a.example","https://b.example"],
               "audience":["ext"],"jwks":{JWKS}}}],"algorithms":["EdDSA"],"clockToleranceSec":0,
               "typ":"at+jwt","requiredClaims":["sub"],"rejectKeyHints":true,"cacheMaxAgeSec":60,
               "cooldownSec":5,"staleIfErrorSec":0,"timeoutMs":100,"maxBodyBytes":1000,
               "verifiedTokenCacheSize":500}}"#
        ))
        .unwrap();
        assert!(!config.routed);
        assert_eq!(config.sources.len(), 1);
        let source = &config.sources[0];
        assert!(matches!(source.keys, KeySource::Local(_)));
        let o = &source.options;
        assert_eq!(o.issuers(), ["https://a.example", "https://b.example"]);
        assert_eq!(o.audience(), &Audience::OneOf(vec!["ext".into()]));
        assert_eq!(o.algorithms(), [Algorithm::EdDsa]);
        assert_eq!(o.clock_tolerance_sec(), 0);
        assert_eq!(o.typ(), Some("at+jwt"));
        assert_eq!(o.required_claims(), ["sub"]);
        assert!(o.reject_key_hints());
        assert_eq!(
            config.cache,
            CacheConfig {
                max_age_sec: 60,
                cooldown_sec: 5,
                stale_if_error_sec: 0,
                timeout_ms: 100,
                max_body_bytes: 1000
            }
        );
        assert_eq!(config.verified_token_cache_size, 500);
    }

    #[test]
    fn defaults() {
        let config = read(
            r#"{"sources":[{"issuer":["https://a.example"],"audience":null,"jwksUri":"https://a.example/jwks"}]}"#,
        )
        .unwrap();
        assert!(!config.routed);
        assert_eq!(config.cache, CacheConfig::default());
        assert_eq!(config.verified_token_cache_size, 0);
        let source = &config.sources[0];
        assert!(matches!(&source.keys, KeySource::Remote(u) if u == "https://a.example/jwks"));
        assert_eq!(source.options.audience(), &Audience::Any);
        assert_eq!(source.options.algorithms(), Algorithm::ALL);
        assert_eq!(source.options.typ(), None);
        assert!(!source.options.reject_key_hints());
        // jwks as JSON text.
        let config = read(&format!(
            r#"{{"sources":[{{"issuer":["i"],"audience":["a"],"jwks":{}}}]}}"#,
            json_string(JWKS)
        ))
        .unwrap();
        assert!(matches!(config.sources[0].keys, KeySource::Local(_)));
    }

    #[test]
    fn issuer_routing() {
        let config = read(&format!(
            r#"{{"routed":true,"sources":[{{"issuer":["https://p.example"],"audience":["platform"],
               "jwksUri":"https://p.example/jwks"}},{{"issuer":["https://x.example"],
               "audience":["x1","x2"],"jwks":{JWKS}}}],"algorithms":["EdDSA","ES256"]}}"#
        ))
        .unwrap();
        assert!(config.routed);
        let [p, x] = &config.sources[..] else {
            panic!("two sources")
        };
        assert_eq!(p.options.issuers(), ["https://p.example"]);
        assert_eq!(
            p.options.audience(),
            &Audience::OneOf(vec!["platform".into()])
        );
        assert_eq!(
            x.options.audience(),
            &Audience::OneOf(vec!["x1".into(), "x2".into()])
        );
        // The shared policy reaches every source.
        assert_eq!(p.options.algorithms(), [Algorithm::EdDsa, Algorithm::Es256]);
        assert_eq!(x.options.algorithms(), [Algorithm::EdDsa, Algorithm::Es256]);
        assert!(matches!(x.keys, KeySource::Local(_)));
    }

    #[test]
    fn values_out_of_range_or_meaningless_say_what_is_expected() {
        for (members, expected) in [
            (
                r#""algorithms":["HS256"]"#,
                "unsupported algorithm in the allow-list",
            ),
            (
                r#""algorithms":[]"#,
                "algorithms must list at least one algorithm",
            ),
            (
                r#""clockToleranceSec":30000"#,
                "clockToleranceSec is 30000; expected at most",
            ),
            (
                r#""cacheMaxAgeSec":0"#,
                "cacheMaxAgeSec must be between 1 and",
            ),
            (r#""timeoutMs":0"#, "timeoutMs must be between 1 and 60000"),
            (
                r#""cooldownSec":900"#,
                "cooldownSec must not be larger than cacheMaxAgeSec",
            ),
            (
                r#""maxBodyBytes":9007199254740991"#,
                "maxBodyBytes must be between 1 and",
            ),
            (
                r#""verifiedTokenCacheSize":100001"#,
                "verifiedTokenCacheSize must be at most 100000",
            ),
            (
                r#""requiredClaims":[""]"#,
                "requiredClaims must not contain an empty string",
            ),
            (r#""typ":"application/""#, "typ must not be empty"),
        ] {
            let e = read_with(members).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{members}");
            assert!(e.message().contains(expected), "{members}: {}", e.message());
        }
        for (source, expected) in [
            (
                r#"{"issuer":[],"audience":["a"],"jwksUri":"https://j"}"#,
                "issuer must list at least one value",
            ),
            (
                r#"{"issuer":["i"],"audience":[""],"jwksUri":"https://j"}"#,
                "audience (pass Audience::Any to accept any audience) must not contain an empty string",
            ),
        ] {
            let e = read(&format!(r#"{{"sources":[{source}]}}"#)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{source}");
            assert!(e.message().contains(expected), "{source}: {}", e.message());
        }
    }

    #[test]
    fn a_document_of_another_shape_is_refused() {
        for document in [
            "{",
            "[]",
            "{}",
            r#"{"sources":{}}"#,
            r#"{"sources":[7]}"#,
            r#"{"sources":[{"issuer":7,"audience":["a"],"jwksUri":"https://j"}]}"#,
            r#"{"sources":[{"issuer":["i"],"jwksUri":"https://j"}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"]}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwksUri":5}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwks":[1]}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwksUri":"https://j","jwks":{}}]}"#,
        ] {
            let e = read(document).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{document}");
            assert!(
                e.message().contains("canonical form"),
                "{document}: {}",
                e.message()
            );
        }
        for member in [
            r#""timeoutMs":"5""#,
            r#""cooldownSec":1.5"#,
            r#""maxBodyBytes":-1"#,
            r#""typ":true"#,
            r#""algorithms":[1]"#,
        ] {
            let e = read_with(member).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{member}");
        }
    }

    #[test]
    fn a_bad_jwks_is_jwks_invalid() {
        for jwks in [
            r#""{not json""#,
            r#"{"keys":[]}"#,
            r#""{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}""#,
        ] {
            let e = read(&format!(
                r#"{{"sources":[{{"issuer":["i"],"audience":["a"],"jwks":{jwks}}}]}}"#
            ))
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::JwksInvalid, "{jwks}: {}", e.message());
        }
    }
}
