//! The options of the JS `JwksVerifier`, read from `JSON.stringify(options)`
//! in one pass into typed settings (pure Rust, tested natively; the wasm
//! facade only turns the result into key sources).
//!
//! Unknown names fail (a typo such as `isuer` is `invalid_options`, never
//! ignored); `null` reads as "not set", except `audience: null`, which
//! accepts any audience on purpose.

use alloc::borrow::Cow;

use super::CacheConfig;
use crate::jose::{quoted, Algorithm, Audience, KeySet, VerifyOptions};
use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Largest `verifiedTokenCacheSize` (entries).
pub const MAX_VERIFIED_TOKEN_CACHE: u64 = 100_000;

/// What the options are called in messages.
const WHAT: &str = "JwksVerifier";

/// Every top-level option, in the order messages list them.
pub const OPTION_KEYS: &[&str] = &[
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
    "verifiedTokenCacheSize",
];

/// The options of one entry of `issuers: { [iss]: {...} }`.
pub const ISSUER_ENTRY_KEYS: &[&str] = &["jwks", "jwksUri", "audience"];

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
    /// The `cache` option (snapshots from `exportCache()`), if any.
    pub snapshots: Option<Value>,
    /// `verifiedTokenCacheSize`: how many verified tokens the JS layer may
    /// remember (0, the default: none).
    pub verified_token_cache_size: u64,
}

/// The options every source shares.
#[derive(Default)]
struct Policy {
    algorithms: Option<Vec<Algorithm>>,
    tolerance: Option<u64>,
    typ: Option<String>,
    required: Option<Vec<String>>,
    reject_key_hints: bool,
}

impl Policy {
    fn apply(&self, issuers: Vec<String>, audience: Audience) -> Result<VerifyOptions> {
        let mut options = VerifyOptions::new(issuers, audience)?;
        if let Some(algorithms) = &self.algorithms {
            options.set_algorithms(algorithms)?;
        }
        if let Some(seconds) = self.tolerance {
            options.set_clock_tolerance_sec(seconds)?;
        }
        if let Some(typ) = &self.typ {
            options.set_typ(typ)?;
        }
        if let Some(claims) = &self.required {
            options.set_required_claims(claims.clone())?;
        }
        Ok(options.with_reject_key_hints(self.reject_key_hints))
    }
}

/// The members a source is made of: the top level, or one `issuers` entry.
#[derive(Default)]
struct Entry<'a> {
    issuers: Option<Vec<String>>,
    audience: Option<Audience>,
    jwks: Option<&'a Value>,
    jwks_uri: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// Reads `key` if it is one of an entry's members; false otherwise.
    fn read(&mut self, key: &str, value: &'a Value, who: &str) -> Result<bool> {
        match (key, value) {
            ("audience", Value::Null) => self.audience = Some(Audience::Any),
            ("audience", _) => {
                let list = strings(who, key, value)?;
                if list.is_empty() || list.iter().any(String::is_empty) {
                    return Err(wrong(
                        who,
                        key,
                        "a non-empty string or list of them (or null to accept any audience)",
                    ));
                }
                self.audience = Some(Audience::OneOf(list));
            }
            ("jwks" | "jwksUri", Value::Null) => {}
            ("jwks", Value::Object(_) | Value::String(_)) => self.jwks = Some(value),
            ("jwks", _) => return Err(wrong(who, key, "an object or JSON text")),
            ("jwksUri", _) => self.jwks_uri = Some(string(who, key, value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn keys(&self, who: &str) -> Result<KeySource> {
        match (self.jwks, self.jwks_uri) {
            (Some(_), Some(_)) => Err(Error::options(msg!(
                who,
                ": pass either jwks or jwksUri, not both"
            ))),
            (Some(jwks), None) => {
                let jwks = document("jwks", jwks)?;
                Ok(KeySource::Local(KeySet::from_value(&jwks)?))
            }
            (None, Some(uri)) if uri.starts_with("https://") || uri.starts_with("http://") => {
                Ok(KeySource::Remote(uri.to_owned()))
            }
            (None, Some(_)) => Err(Error::options(msg!(
                who,
                ": jwksUri must be an absolute http(s) URL"
            ))),
            (None, None) => Err(Error::options(msg!(
                who,
                ": pass the keys, as jwks (a JWK Set) or jwksUri (where to fetch it)"
            ))),
        }
    }
}

/// Reads the options (`invalid_options`; `jwks_invalid` for a bad `jwks`).
pub fn read(options_json: &str) -> Result<VerifierConfig> {
    let root = json::parse(options_json)
        .map_err(|e| Error::options(msg!(WHAT, " options must be plain data: ", e)))?;
    let object = root
        .as_object()
        .ok_or_else(|| Error::options(msg!(WHAT, " options must be an object")))?;
    let mut top = Entry::default();
    let mut policy = Policy::default();
    let mut cache = CacheConfig::default();
    let mut issuers = None;
    let mut verified_token_cache_size = 0;
    for (key, value) in object.iter() {
        if top.read(key, value, WHAT)? {
            continue;
        }
        if !OPTION_KEYS.contains(&key) {
            return Err(Error::unknown_option(key, WHAT, OPTION_KEYS));
        }
        if matches!(value, Value::Null) {
            continue;
        }
        match key {
            "issuer" => top.issuers = Some(strings(WHAT, key, value)?),
            "issuers" => issuers = Some(value),
            "algorithms" => {
                let mut algorithms = Vec::new();
                for name in strings(WHAT, key, value)? {
                    algorithms.push(name.parse()?);
                }
                policy.algorithms = Some(algorithms);
            }
            "clockToleranceSec" => policy.tolerance = Some(uint(WHAT, key, value)?),
            "typ" => policy.typ = Some(string(WHAT, key, value)?.to_owned()),
            "requiredClaims" => policy.required = Some(strings(WHAT, key, value)?),
            "rejectKeyHints" => policy.reject_key_hints = boolean(WHAT, key, value)?,
            "cacheMaxAgeSec" => cache.max_age_sec = uint(WHAT, key, value)?,
            "cooldownSec" => cache.cooldown_sec = uint(WHAT, key, value)?,
            "staleIfErrorSec" => cache.stale_if_error_sec = uint(WHAT, key, value)?,
            "timeoutMs" => cache.timeout_ms = uint(WHAT, key, value)?,
            "maxBodyBytes" => {
                cache.max_body_bytes =
                    usize::try_from(uint(WHAT, key, value)?).unwrap_or(usize::MAX)
            }
            "verifiedTokenCacheSize" => {
                verified_token_cache_size = uint(WHAT, key, value)?;
                if verified_token_cache_size > MAX_VERIFIED_TOKEN_CACHE {
                    return Err(Error::options(msg!(
                        "verifiedTokenCacheSize must be at most ",
                        MAX_VERIFIED_TOKEN_CACHE
                    )));
                }
            }
            // Taken out of the document once it is read (no copy).
            "cache" if !matches!(value, Value::Object(_) | Value::String(_)) => {
                return Err(wrong(WHAT, key, "an object or JSON text"))
            }
            // `now` is read by the JS layer (a fixed clock for tests).
            _ => {}
        }
    }
    cache.validate()?;

    let sources = match issuers {
        None => {
            let issuers = top.issuers.take().ok_or_else(|| {
                Error::options("issuer is required: pass the expected \"iss\" (a string or a list)")
            })?;
            let audience = required_audience(top.audience.take(), "")?;
            let keys = top.keys(WHAT)?;
            vec![SourceConfig {
                options: policy.apply(issuers, audience)?,
                keys,
            }]
        }
        Some(_) if top.issuers.is_some() || top.jwks.is_some() || top.jwks_uri.is_some() => {
            return Err(Error::options(
                "with issuers: {...} give each issuer its own jwks or jwksUri; \
                 top-level issuer, jwks and jwksUri are not used",
            ))
        }
        Some(map) => {
            let map = map.as_object().filter(|m| !m.is_empty()).ok_or_else(|| {
                Error::options("issuers must map at least one issuer to its keys")
            })?;
            let mut sources = Vec::with_capacity(map.len());
            for (issuer, entry) in map.iter() {
                sources.push(issuer_source(issuer, entry, &top, &policy)?);
            }
            sources
        }
    };
    let routed = issuers.is_some();
    let snapshots = match root {
        Value::Object(mut members) => members.remove("cache"),
        _ => None,
    };
    let snapshots = match snapshots {
        Some(Value::String(text)) => Some(parse_document("cache", &text)?),
        Some(Value::Null) | None => None,
        object => object,
    };
    Ok(VerifierConfig {
        routed,
        sources,
        cache,
        snapshots,
        verified_token_cache_size,
    })
}

/// The source of `issuers[issuer]`; the top-level `audience` applies when
/// the entry has none.
fn issuer_source(
    issuer: &str,
    entry: &Value,
    top: &Entry,
    policy: &Policy,
) -> Result<SourceConfig> {
    let who = msg!("issuers[", quoted(issuer), "]");
    let object: &Object = entry
        .as_object()
        .ok_or_else(|| Error::options(msg!(who, " options must be an object")))?;
    let mut own = Entry::default();
    for (key, value) in object.iter() {
        if !own.read(key, value, &who)? {
            return Err(Error::unknown_option(key, &who, ISSUER_ENTRY_KEYS));
        }
    }
    let audience = own.audience.take().or_else(|| top.audience.clone());
    let audience = required_audience(audience, &msg!(" for issuer ", quoted(issuer)))?;
    Ok(SourceConfig {
        keys: own.keys(&who)?,
        options: policy.apply(vec![issuer.to_owned()], audience)?,
    })
}

fn required_audience(audience: Option<Audience>, context: &str) -> Result<Audience> {
    audience.ok_or_else(|| {
        Error::options(msg!(
            "audience is required",
            context,
            ": pass the expected \"aud\" (a string or a list), \
             or audience: null to accept any audience"
        ))
    })
}

fn wrong(who: &str, key: &str, expected: &str) -> Error {
    Error::wrong_option(who, key, expected)
}

fn string<'a>(who: &str, key: &str, value: &'a Value) -> Result<&'a str> {
    value.as_str().ok_or_else(|| wrong(who, key, "a string"))
}

fn strings(who: &str, key: &str, value: &Value) -> Result<Vec<String>> {
    value
        .string_list()
        .ok_or_else(|| wrong(who, key, "a string or a list of strings"))
}

fn uint(who: &str, key: &str, value: &Value) -> Result<u64> {
    value
        .as_safe_integer()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| wrong(who, key, "a whole non-negative number"))
}

fn boolean(who: &str, key: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => Err(wrong(who, key, "true or false")),
    }
}

/// A JSON document given as an object or as JSON text (`jwks`, `cache`).
fn document<'a>(key: &str, value: &'a Value) -> Result<Cow<'a, Value>> {
    match value {
        Value::String(text) => parse_document(key, text).map(Cow::Owned),
        Value::Object(_) => Ok(Cow::Borrowed(value)),
        _ => Err(wrong(WHAT, key, "an object or JSON text")),
    }
}

fn parse_document(key: &str, text: &str) -> Result<Value> {
    json::parse(text)
        .map_err(|e| Error::new(ErrorCode::JwksInvalid, msg!(key, " is not valid JSON: ", e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn read_with(members: &str) -> Result<VerifierConfig> {
        read(&format!("{{{members}}}"))
    }

    fn error(members: &str) -> Error {
        read_with(members).expect_err("options should be rejected")
    }

    #[test]
    fn one_source_with_every_option() {
        let config = read_with(&format!(
            r#""issuer":["https://a.example","https://b.example"],"audience":"ext","jwks":{JWKS},
               "algorithms":["EdDSA"],"clockToleranceSec":0,"typ":"at+jwt","requiredClaims":["sub"],
               "rejectKeyHints":true,"now":1700000000,"cacheMaxAgeSec":60,"cooldownSec":5,
               "staleIfErrorSec":0,"timeoutMs":100,"maxBodyBytes":1000,"cache":null,
               "verifiedTokenCacheSize":500"#
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
        assert!(config.snapshots.is_none());
        assert_eq!(config.verified_token_cache_size, 500);
    }

    #[test]
    fn defaults_and_explicit_nulls() {
        let config =
            read_with(r#""issuer":"https://a.example","audience":null,"jwksUri":"https://a.example/jwks","typ":null"#)
                .unwrap();
        assert_eq!(config.cache, CacheConfig::default());
        assert_eq!(config.verified_token_cache_size, 0);
        let source = &config.sources[0];
        assert!(matches!(&source.keys, KeySource::Remote(u) if u == "https://a.example/jwks"));
        assert_eq!(source.options.audience(), &Audience::Any);
        assert_eq!(source.options.algorithms(), Algorithm::ALL);
        assert_eq!(source.options.typ(), None);
        // jwks as JSON text, cache snapshots as JSON text.
        let config = read_with(&format!(
            r#""issuer":"i","audience":"a","jwks":{},"cache":"{{}}""#,
            json_string(JWKS)
        ))
        .unwrap();
        assert!(matches!(config.sources[0].keys, KeySource::Local(_)));
        assert_eq!(config.snapshots, Some(Value::Object(Object::default())));
    }

    fn json_string(s: &str) -> String {
        let mut out = String::new();
        json::write_string(&mut out, s);
        out
    }

    #[test]
    fn issuer_routing() {
        let config = read_with(&format!(
            r#""audience":"platform","issuers":{{"https://p.example":{{"jwksUri":"https://p.example/jwks"}},
               "https://x.example":{{"jwks":{JWKS},"audience":["x1","x2"]}}}},"algorithms":["EdDSA","ES256"]"#
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
        assert_eq!(x.options.algorithms(), [Algorithm::EdDsa, Algorithm::Es256]);
        assert!(matches!(x.keys, KeySource::Local(_)));
    }

    /// Each `(members, expected)`: rejected with `invalid_options` and a
    /// message containing `expected`.
    fn assert_invalid(cases: &[(&str, &str)]) {
        for (members, expected) in cases {
            let e = error(members);
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{members}");
            assert!(e.message().contains(expected), "{members}: {}", e.message());
        }
    }

    #[test]
    fn typos_and_wrong_types_name_the_option() {
        assert_invalid(&[
            (
                r#""isuer":"i","audience":"a","jwksUri":"https://j""#,
                "unknown option \"isuer\" for JwksVerifier; the options are: issuer, audience",
            ),
            (
                r#""issuer":1,"audience":"a","jwksUri":"https://j""#,
                "invalid JwksVerifier options: issuer must be a string or a list of strings",
            ),
            (
                r#""issuer":"i","audience":[1],"jwksUri":"https://j""#,
                "audience must be a string or a list of strings",
            ),
            (
                r#""issuer":"i","audience":"a","jwksUri":5"#,
                "jwksUri must be a string",
            ),
            (
                r#""issuer":"i","audience":"a","jwks":[1]"#,
                "jwks must be an object or JSON text",
            ),
        ]);
        // One valid remote verifier plus one bad member.
        let cases = [
            (r#""cahce":null"#, "unknown option \"cahce\""),
            (
                r#""timeoutMs":"5""#,
                "timeoutMs must be a whole non-negative number",
            ),
            (
                r#""cooldownSec":1.5"#,
                "cooldownSec must be a whole non-negative number",
            ),
            (
                r#""maxBodyBytes":-1"#,
                "maxBodyBytes must be a whole non-negative number",
            ),
            (
                r#""rejectKeyHints":"yes""#,
                "rejectKeyHints must be true or false",
            ),
            (r#""typ":true"#, "typ must be a string"),
            (r#""cache":7"#, "cache must be an object or JSON text"),
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
                r#""maxBodyBytes":9007199254740991"#,
                "maxBodyBytes must be between 1 and",
            ),
            (
                r#""verifiedTokenCacheSize":100001"#,
                "verifiedTokenCacheSize must be at most 100000",
            ),
            (
                r#""verifiedTokenCacheSize":-5"#,
                "verifiedTokenCacheSize must be a whole non-negative number",
            ),
            (
                r#""requiredClaims":[""]"#,
                "requiredClaims must not contain an empty string",
            ),
            (r#""typ":"application/""#, "typ must not be empty"),
        ];
        let cases: Vec<(String, &str)> = cases
            .iter()
            .map(|(member, expected)| {
                (
                    format!(r#""issuer":"i","audience":"a","jwksUri":"https://j",{member}"#),
                    *expected,
                )
            })
            .collect();
        let cases: Vec<(&str, &str)> = cases.iter().map(|(m, e)| (m.as_str(), *e)).collect();
        assert_invalid(&cases);
    }

    #[test]
    fn missing_or_conflicting_keys_and_audience() {
        let cases = [
            (r#""audience":"a","jwksUri":"https://j""#, "issuer is required"),
            (r#""issuer":"i","jwksUri":"https://j""#, "audience is required: pass the expected \"aud\""),
            (r#""issuer":"i","audience":"a""#, "JwksVerifier: pass the keys, as jwks"),
            (r#""issuer":"i","audience":"a","jwksUri":"ftp://j""#, "jwksUri must be an absolute http(s) URL"),
            (&format!(r#""issuer":"i","audience":"a","jwksUri":"https://j","jwks":{JWKS}"#), "pass either jwks or jwksUri, not both"),
            (r#""issuer":"i","audience":"a","issuers":{"i":{"jwksUri":"https://j"}}"#, "with issuers: {...} give each issuer"),
            (r#""audience":"a","issuers":{}"#, "issuers must map at least one issuer"),
            (r#""audience":"a","issuers":[]"#, "issuers must map at least one issuer"),
            (r#""audience":"a","issuers":{"i":"https://j"}"#, "issuers[\"i\"] options must be an object"),
            (r#""audience":"a","issuers":{"i":{"jwksuri":"https://j"}}"#, "unknown option \"jwksuri\" for issuers[\"i\"]; the options are: jwks, jwksUri, audience"),
            (r#""issuers":{"i":{"jwksUri":"https://j"}}"#, "audience is required for issuer \"i\""),
            (r#""audience":"a","issuers":{"i":{"jwksUri":"https://j","audience":""}}"#, "audience must be a non-empty string or list of them (or null to accept any audience)"),
            (r#""issuer":"i","audience":[],"jwksUri":"https://j""#, "invalid JwksVerifier options: audience must be a non-empty string"),
            ("\"issuer\":[],\"audience\":\"a\",\"jwksUri\":\"https://j\"", "issuer must list at least one value"),
        ];
        assert_invalid(&cases);
        assert!(read("[]")
            .unwrap_err()
            .message()
            .contains("must be an object"));
        assert!(read("{")
            .unwrap_err()
            .message()
            .contains("must be plain data"));
    }

    #[test]
    fn a_bad_jwks_is_jwks_invalid() {
        for jwks in [
            r#""{not json""#,
            r#"{"keys":[]}"#,
            r#""{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}""#,
        ] {
            let e = error(&format!(r#""issuer":"i","audience":"a","jwks":{jwks}"#));
            assert_eq!(e.code(), ErrorCode::JwksInvalid, "{jwks}: {}", e.message());
        }
        let e = error(r#""issuer":"i","audience":"a","jwksUri":"https://j","cache":"{""#);
        assert_eq!(e.code(), ErrorCode::JwksInvalid);
        assert!(
            e.message().starts_with("cache is not valid JSON"),
            "{}",
            e.message()
        );
    }
}
