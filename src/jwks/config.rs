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
//!  "timeoutMs":5000,"maxBodyBytes":65536,"verifiedTokenCacheSize":0,
//!  "allowInsecureHttp":false}
//! ```
//!
//! (`audience: null` accepts any audience; a source has `jwks`, an object or
//! JSON text, `jwksUri`, or `"discovery": true` (its one issuer's metadata
//! names the JWK Set); every member but `sources` may be left out.) A
//! `jwksUri` and a discovered issuer go through the URL rule
//! ([`UrlRule`]: https, or http to a loopback host, unless
//! `allowInsecureHttp`).
//! (The `cache` option is not part of it: the JS layer loads those snapshots
//! through `importSource` once the verifier exists.) This module checks
//! what the values mean, with the rules of the Rust API
//! ([`VerifyOptions`], [`CacheConfig::validate`]); a document of another
//! shape is `invalid_options`.

use super::CacheConfig;
use crate::jose::{Algorithm, Audience, KeySet, VerifyOptions};
use crate::json::{self, Members, Node, Str};
use crate::prelude::*;
use crate::protocol::discovery::Discovery;
use crate::protocol::url::UrlRule;
use crate::{Error, ErrorCode, Result};

/// Largest `verifiedTokenCacheSize` (entries).
pub const MAX_VERIFIED_TOKEN_CACHE: u64 = 100_000;

/// Where one source's keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A JWK Set given in the options (`jwks`).
    Local(KeySet),
    /// A JWK Set fetched from this `jwksUri` (allowed by the URL rule).
    Remote(String),
    /// A JWK Set fetched from the `jwks_uri` of the issuer's metadata
    /// (OpenID Connect Discovery 1.0, RFC 8414).
    Discovered(Discovery),
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
    /// `verifiedTokenCacheSize`: how many verified tokens may be
    /// remembered (0, the default: none).
    pub verified_token_cache_size: u64,
    /// The URL rule every URL the verifier fetches follows
    /// (`allowInsecureHttp`).
    pub rule: UrlRule,
}

/// Reads the settings (`invalid_options`; `jwks_invalid` for a bad `jwks`).
pub fn read(settings_json: &str) -> Result<VerifierConfig> {
    let root = json::read(settings_json.as_bytes()).map_err(|_| not_canonical())?;
    let settings = root.as_object().ok_or_else(not_canonical)?;
    // One pass over the settings; each value is then checked where it is used.
    let max_age = settings.get("cacheMaxAgeSec");
    let cooldown = settings.get("cooldownSec");
    let stale = settings.get("staleIfErrorSec");
    let timeout = settings.get("timeoutMs");
    let body = settings.get("maxBodyBytes");
    let remembered = settings.get("verifiedTokenCacheSize");
    let insecure = settings.get("allowInsecureHttp");
    let routed = settings.get("routed");
    let sources = settings.get("sources");
    let algorithms = settings.get("algorithms");
    let tolerance = settings.get("clockToleranceSec");
    let typ = settings.get("typ");
    let required = settings.get("requiredClaims");
    let reject = settings.get("rejectKeyHints");
    let mut cache = CacheConfig::default();
    for (field, value) in [
        (&mut cache.max_age_sec, max_age),
        (&mut cache.cooldown_sec, cooldown),
        (&mut cache.stale_if_error_sec, stale),
        (&mut cache.timeout_ms, timeout),
    ] {
        if let Some(n) = uint(value)? {
            *field = n;
        }
    }
    if let Some(n) = uint(body)? {
        cache.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    cache.validate()?;
    let verified_token_cache_size = uint(remembered)?.unwrap_or(0);
    if verified_token_cache_size > MAX_VERIFIED_TOKEN_CACHE {
        return Err(Error::options(msg!(
            "verifiedTokenCacheSize must be at most ",
            MAX_VERIFIED_TOKEN_CACHE
        )));
    }
    let rule = UrlRule {
        allow_insecure_http: flag(insecure)?,
    };
    let Some(Node::Array(entries)) = sources else {
        return Err(not_canonical());
    };
    let routed = flag(routed)?;
    // What every source shares, checked once.
    let mut shared = VerifyOptions::shared();
    if let Some(names) = algorithms {
        let mut list = Vec::new();
        for name in strs(string_list(names)?) {
            list.push(name.decoded().parse::<Algorithm>()?);
        }
        shared.set_algorithms(&list)?;
    }
    if let Some(seconds) = uint(tolerance)? {
        shared.set_clock_tolerance_sec(seconds)?;
    }
    match typ {
        Some(Node::String(typ)) => shared.set_typ(&typ.decoded())?,
        None => {}
        Some(_) => return Err(not_canonical()),
    }
    if let Some(claims) = required {
        shared.set_required_claims(owned_strings(string_list(claims)?))?;
    }
    shared = shared.with_reject_key_hints(flag(reject)?);
    let mut sources = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry.as_object().ok_or_else(not_canonical)?;
        sources.push(source(&shared, entry, rule, routed)?);
    }
    Ok(VerifierConfig {
        routed,
        sources,
        cache,
        verified_token_cache_size,
        rule,
    })
}

/// A boolean member; false when absent.
fn flag(value: Option<&Node<'_>>) -> Result<bool> {
    match value {
        None => Ok(false),
        Some(Node::Bool(b)) => Ok(*b),
        Some(_) => Err(not_canonical()),
    }
}

/// One source: its issuers, audience and keys, with the options every
/// source shares.
fn source(
    shared: &VerifyOptions,
    entry: &Members<'_>,
    rule: UrlRule,
    routed: bool,
) -> Result<SourceConfig> {
    let (issuer, audience, jwks, uri, discovery) = (
        entry.get("issuer"),
        entry.get("audience"),
        entry.get("jwks"),
        entry.get("jwksUri"),
        entry.get("discovery"),
    );
    let issuer = issuer.ok_or_else(|| {
        Error::options("issuer is required: pass the expected \"iss\" (a string or a list)")
    })?;
    let issuers = string_list(issuer)?;
    let single = {
        let mut each = strs(issuers);
        match (each.next(), each.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    };
    // Whose options a message is about: the verifier's, or a routed
    // issuer's.
    let routed_issuer = single.filter(|_| routed).map(|issuer| {
        let mut quoted = String::new();
        json::write_string(&mut quoted, &issuer.decoded());
        quoted
    });
    let who = match &routed_issuer {
        Some(quoted) => msg!("issuers[", quoted, "]"),
        None => String::from("JwksVerifier"),
    };
    let discovery = match (flag(discovery)?, single) {
        (false, _) => None,
        (true, Some(issuer)) => Some(issuer.decoded()),
        (true, None) => return Err(Error::options(
            "discovery: true needs exactly one issuer (the one whose metadata names the JWK Set)",
        )),
    };
    let audience = match audience {
        Some(Node::Null) => Audience::Any,
        None => {
            let context = match &routed_issuer {
                Some(quoted) => msg!(" for issuer ", quoted),
                None => String::new(),
            };
            return Err(Error::options(msg!(
                "audience is required",
                &context,
                ": pass the expected \"aud\" (a string or a list), or audience: null to accept any audience"
            )));
        }
        Some(value) => {
            let list = owned_strings(string_list(value)?);
            if list.is_empty() || list.iter().any(String::is_empty) {
                return Err(Error::options(msg!(
                    "invalid ",
                    &who,
                    " options: audience must be a non-empty string or list of them"
                )));
            }
            Audience::OneOf(list)
        }
    };
    let given =
        usize::from(jwks.is_some()) + usize::from(uri.is_some()) + usize::from(discovery.is_some());
    if given != 1 {
        return Err(Error::options(msg!(
            &who,
            if given == 0 {
                ": pass the keys, as jwks (a JWK Set) or jwksUri (where to fetch it), or discovery: true (the issuer's metadata names it)"
            } else {
                ": pass either jwks or jwksUri, not both (or discovery: true alone)"
            }
        )));
    }
    let keys = match (jwks, uri, discovery) {
        (Some(Node::String(text)), _, _) => {
            let text = text.decoded();
            let document = json::read(text.as_bytes()).map_err(|e| {
                Error::new(ErrorCode::JwksInvalid, msg!("jwks is not valid JSON: ", e))
            })?;
            KeySource::Local(KeySet::from_node(&document)?)
        }
        (Some(jwks @ Node::Object(_)), _, _) => KeySource::Local(KeySet::from_node(jwks)?),
        (_, Some(Node::String(uri)), _) => KeySource::Remote(
            rule.endpoint("jwksUri", &uri.decoded())
                .map_err(|e| Error::options(msg!(&who, ": ", e.message())))?,
        ),
        (_, _, Some(issuer)) => KeySource::Discovered(Discovery::new(&issuer, rule)?),
        _ => return Err(not_canonical()),
    };
    Ok(SourceConfig {
        options: shared.for_parties(owned_strings(issuers), audience)?,
        keys,
    })
}

/// A document that is not what the JS layer writes (only a caller that
/// skips it sees this).
fn not_canonical() -> Error {
    Error::options("the JwksVerifier settings are not in the canonical form of lib/verifier.js")
}

/// `value` when it is a string or a list of strings.
fn string_list<'n, 'a>(value: &'n Node<'a>) -> Result<&'n Node<'a>> {
    let ok = match value {
        Node::String(_) => true,
        Node::Array(items) => items.iter().all(|item| item.as_str().is_some()),
        _ => false,
    };
    if ok {
        Ok(value)
    } else {
        Err(not_canonical())
    }
}

/// The strings of a string or a list of strings (from [`string_list`]).
fn strs<'n, 'a>(value: &'n Node<'a>) -> impl Iterator<Item = Str<'a>> + 'n {
    let items = match value {
        Node::Array(items) => items.as_slice(),
        one => core::slice::from_ref(one),
    };
    items.iter().filter_map(Node::as_str)
}

/// The decoded strings of a string or a list of strings.
fn owned_strings(value: &Node<'_>) -> Vec<String> {
    strs(value).map(|s| s.decoded()).collect()
}

/// A whole non-negative number; `None` when absent.
fn uint(value: Option<&Node<'_>>) -> Result<Option<u64>> {
    value
        .map(|v| {
            v.as_f64()
                .and_then(json::safe_integer)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(not_canonical)
        })
        .transpose()
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
                "invalid JwksVerifier options: audience must be a non-empty string or list of them",
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
            r#"{"sources":[{"issuer":["i"],"audience":7,"jwksUri":"https://j"}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwksUri":5}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwks":[1]}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwksUri":"https://j","discovery":1}]}"#,
            r#"{"sources":[{"issuer":["i"],"audience":["a"],"jwksUri":"https://j"}],"routed":1}"#,
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
    fn each_source_has_one_kind_of_keys() {
        for (source, expected) in [
            (
                r#"{"issuer":["i"],"audience":["a"]}"#,
                "JwksVerifier: pass the keys, as jwks (a JWK Set) or jwksUri",
            ),
            (
                r#"{"issuer":["i"],"audience":["a"],"jwksUri":"https://j","jwks":{}}"#,
                "JwksVerifier: pass either jwks or jwksUri, not both",
            ),
            (
                r#"{"issuer":["https://i"],"audience":["a"],"jwksUri":"https://j","discovery":true}"#,
                "not both",
            ),
            (
                r#"{"issuer":["https://i","https://j"],"audience":["a"],"discovery":true}"#,
                "discovery: true needs exactly one issuer",
            ),
        ] {
            let e = read(&format!(r#"{{"sources":[{source}]}}"#)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{source}");
            assert!(e.message().contains(expected), "{source}: {}", e.message());
        }
        // Issuer and audience are required (audience: null is any, on purpose).
        let e = read(r#"{"sources":[{"audience":["a"],"jwksUri":"https://j"}]}"#).unwrap_err();
        assert!(
            e.message().starts_with("issuer is required"),
            "{}",
            e.message()
        );
        let e = read(r#"{"sources":[{"issuer":["i"],"jwksUri":"https://j"}]}"#).unwrap_err();
        assert!(
            e.message().starts_with("audience is required: pass"),
            "{}",
            e.message()
        );
        let e = read(r#"{"routed":true,"sources":[{"issuer":["i"],"jwksUri":"https://j"}]}"#)
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("audience is required for issuer \"i\": pass"),
            "{}",
            e.message()
        );
        // A routed source's messages name its issuer.
        let e =
            read(r#"{"routed":true,"sources":[{"issuer":["i"],"audience":["a"]}]}"#).unwrap_err();
        assert!(
            e.message().starts_with("issuers[\"i\"]: pass the keys"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn remote_urls_follow_the_url_rule() {
        let with = |uri: &str, members: &str| {
            read(&format!(
                r#"{{"sources":[{{"issuer":["https://i.example"],"audience":["a"],"jwksUri":{}}}]{members}}}"#,
                json_string(uri)
            ))
        };
        for ok in [
            "https://console.example/jwks",
            "https://console.example/jwks?v=2",
            "http://localhost:8080/jwks",
            "http://127.0.0.7/jwks",
            "http://[::1]:9/jwks",
        ] {
            let config = with(ok, "").unwrap();
            assert!(
                matches!(&config.sources[0].keys, KeySource::Remote(u) if u == ok),
                "{ok}"
            );
        }
        for (bad, expected) in [
            ("http://console.example/jwks", "jwksUri must use https"),
            ("http://10.0.0.1/jwks", "allowInsecureHttp: true"),
            ("ftp://console.example/jwks", "jwksUri must use https"),
            (
                "https://user:pw@console.example/jwks",
                "jwksUri must be an absolute URL",
            ),
            (
                "https://console.example/jwks#k",
                "jwksUri must not contain a fragment",
            ),
            ("/jwks", "jwksUri must be an absolute URL"),
        ] {
            let e = with(bad, "").unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{bad}");
            assert!(e.message().contains(expected), "{bad}: {}", e.message());
            assert!(
                e.message().starts_with("JwksVerifier: "),
                "{bad}: {}",
                e.message()
            );
        }
        // The opt-out lets http to any host through, nothing else.
        let config = with(
            "http://console.example/jwks",
            r#","allowInsecureHttp":true"#,
        )
        .unwrap();
        assert!(config.rule.allow_insecure_http);
        assert!(with("ftp://console.example/jwks", r#","allowInsecureHttp":true"#).is_err());
        // A discovered issuer too.
        let discovered = |issuer: &str, members: &str| {
            read(&format!(
                r#"{{"sources":[{{"issuer":[{}],"audience":["a"],"discovery":true}}]{members}}}"#,
                json_string(issuer)
            ))
        };
        let config = discovered("https://op.example/tenant", "").unwrap();
        assert!(matches!(&config.sources[0].keys, KeySource::Discovered(d)
            if d.url() == "https://op.example/tenant/.well-known/openid-configuration"));
        assert_eq!(
            discovered("http://op.example", "").unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert!(discovered("http://op.example", r#","allowInsecureHttp":true"#).is_ok());
        assert!(discovered("http://127.0.0.1:4000", "").is_ok());
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
