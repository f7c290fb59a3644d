//! Authorization server metadata from the issuer: OpenID Connect Discovery
//! 1.0 and RFC 8414, as a small state machine.
//!
//! Decided here:
//! 1. where to look, in order: `{issuer}/.well-known/openid-configuration`
//!    (OpenID Connect Discovery 1.0 §4), then
//!    `{origin}/.well-known/oauth-authorization-server{path}` (RFC 8414 §3.1:
//!    the well-known segment goes between the host and the issuer's path);
//! 2. what an answer means ([`Discovery::answer`]): 200 with a JSON object is
//!    the document; 404 or 410 (the server does not publish that one) moves
//!    on to the next URL; a redirect, any other status or a bad document is
//!    `discovery_failed` (retryable for 5xx, 408 and 429), so an outage of
//!    the first URL never silently switches to the second;
//! 3. what a document must hold ([`ServerMetadata`]): `issuer` equal to the
//!    configured issuer exactly (OpenID Connect Discovery §4.3, RFC 8414
//!    §3.3; else `issuer_mismatch`), and every endpoint it names allowed by
//!    the URL rule ([`UrlRule`]).
//!
//! Left to the caller: the `GET` itself (`Accept: application/json`, no
//! redirects followed, its timeout, abort signal and body cap), and caching
//! the result (with the JWK Set, in the verifier).

use crate::json::{self, Node, Object, Tree, Value};
use crate::prelude::*;
use crate::protocol::url::{split, trim_trailing_slashes, UrlRule};
use crate::{Error, ErrorCode, Result};

/// OpenID Connect Discovery 1.0 §4's well-known suffix.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// RFC 8414 §3's well-known suffix.
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";

/// What one metadata document says, the members the package uses. Every
/// URL in it passed the [`UrlRule`] the discovery was made with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerMetadata {
    /// `issuer`: equal to the configured issuer.
    pub issuer: String,
    /// `jwks_uri`: the JWK Set of the issuer's signing keys.
    pub jwks_uri: Option<String>,
    /// `authorization_endpoint` (RFC 6749 §3.1).
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint` (RFC 6749 §3.2).
    pub token_endpoint: Option<String>,
    /// `userinfo_endpoint` (OpenID Connect Core §5.3).
    pub userinfo_endpoint: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3): the
    /// server puts `iss` in every authorization response, so a callback
    /// without it must be refused.
    pub authorization_response_iss_parameter_supported: bool,
    /// `code_challenge_methods_supported` (RFC 8414 §2), when listed.
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// The URL members read from a document, by their metadata names.
const ENDPOINTS: [&str; 4] = [
    "jwks_uri",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
];

impl ServerMetadata {
    /// The document's members as JSON (the members above; absent ones left
    /// out), e.g. to keep it in a cache snapshot. [`read_metadata`] reads it
    /// back.
    pub fn to_json(&self) -> String {
        let mut object = Object::default();
        object.insert("issuer", Value::String(self.issuer.clone()));
        for (name, value) in ENDPOINTS.iter().zip(self.endpoints()) {
            if let Some(url) = value {
                object.insert(*name, Value::String(url.clone()));
            }
        }
        if self.authorization_response_iss_parameter_supported {
            object.insert(
                "authorization_response_iss_parameter_supported",
                Value::Bool(true),
            );
        }
        if let Some(methods) = &self.code_challenge_methods_supported {
            let list = methods.iter().cloned().map(Value::String).collect();
            object.insert("code_challenge_methods_supported", Value::Array(list));
        }
        Value::Object(object).to_json()
    }

    fn endpoints(&self) -> [&Option<String>; 4] {
        [
            &self.jwks_uri,
            &self.authorization_endpoint,
            &self.token_endpoint,
            &self.userinfo_endpoint,
        ]
    }
}

/// One discovery: the URLs to try, in order, and how far it got.
#[derive(Clone, Debug)]
pub struct Discovery {
    issuer: String,
    rule: UrlRule,
    urls: [String; 2],
    at: usize,
}

/// What to do after an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryStep {
    /// `GET` this URL next (the previous one does not publish metadata).
    Fetch(String),
    /// The document, checked.
    Found(ServerMetadata),
}

impl Discovery {
    /// Starts a discovery for `issuer`, which must be allowed by `rule` and
    /// have no query or fragment (RFC 8414 §2; `invalid_options` naming
    /// the option `issuer`).
    pub fn new(issuer: &str, rule: UrlRule) -> Result<Self> {
        let authority = rule.check_parts("issuer", issuer)?;
        if split(issuer).query.is_some() {
            return Err(Error::options(
                "issuer must not contain a query (RFC 8414 §2): use the server's issuer identifier exactly",
            ));
        }
        let base = trim_trailing_slashes(issuer);
        let mut openid = String::with_capacity(base.len() + OPENID_CONFIGURATION.len());
        openid.push_str(base);
        openid.push_str(OPENID_CONFIGURATION);
        let mut oauth = authority.origin();
        oauth.push_str(OAUTH_AUTHORIZATION_SERVER);
        oauth.push_str(trim_trailing_slashes(authority.rest));
        Ok(Self {
            issuer: issuer.to_owned(),
            rule,
            urls: [openid, oauth],
            at: 0,
        })
    }

    /// The issuer whose metadata this discovers.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The URL to `GET` now.
    pub fn url(&self) -> &str {
        self.urls.get(self.at).map_or("", String::as_str)
    }

    /// Reads the answer to a `GET` of [`Self::url`]: the document, the next
    /// URL to try, or why discovery failed.
    pub fn answer(&mut self, status: u16, body: &[u8]) -> Result<DiscoveryStep> {
        // Read into the owned tree: its callers (the client and the server)
        // read every other document into it too, so their wasm links one
        // JSON tree.
        self.answer_with::<Value>(status, body, Read::All)
    }

    /// [`Self::answer`] for a caller that uses only the signing keys (the
    /// JWT verifier): of the document, only `issuer` and `jwks_uri` are
    /// read and checked, so a member it never uses (another endpoint,
    /// RFC 9207 support) cannot fail its discovery.
    pub fn answer_for_keys(&mut self, status: u16, body: &[u8]) -> Result<DiscoveryStep> {
        // Read into the borrowed tree, the verifier's only one.
        self.answer_with::<Node>(status, body, Read::Keys)
    }

    fn answer_with<'b, T: Tree<'b>>(
        &mut self,
        status: u16,
        body: &'b [u8],
        read: Read,
    ) -> Result<DiscoveryStep> {
        match status {
            200 => read_members::<T>(&self.issuer, body, self.rule, self.url(), read)
                .map(DiscoveryStep::Found),
            404 | 410 if self.at + 1 < self.urls.len() => {
                self.at += 1;
                Ok(DiscoveryStep::Fetch(self.url().to_owned()))
            }
            404 | 410 => Err(failed(msg!(
                "the issuer publishes no metadata: ",
                &self.urls.join(" and "),
                " answered HTTP 404 (is issuer exactly the server's issuer identifier?)"
            ))
            .with_status(status)),
            300..=399 => Err(failed(msg!(
                "",
                self.url(),
                " answered with a redirect (HTTP ",
                status,
                "); discovery does not follow redirects: configure the issuer the server names itself"
            ))
            .with_status(status)),
            _ => Err(
                failed(msg!("", self.url(), " answered HTTP ", status)).with_status(status),
            ),
        }
    }
}

fn failed(message: String) -> Error {
    Error::new(ErrorCode::DiscoveryFailed, message)
}

/// At most this much of a foreign value is quoted in a message.
const QUOTE_MAX: usize = 120;

fn quoted(value: &str) -> String {
    let mut end = value.len().min(QUOTE_MAX);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 5);
    out.push('"');
    out.push_str(value.get(..end).unwrap_or_default());
    if end < value.len() {
        out.push_str("...");
    }
    out.push('"');
    out
}

/// Which members of a document a caller reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Every member of [`ServerMetadata`].
    All,
    /// `issuer` and `jwks_uri`.
    Keys,
}

/// Reads a metadata document (the body of a 200 answer from `url`, or a
/// [`ServerMetadata::to_json`] text) for `expected_issuer`.
pub fn read_metadata(
    expected_issuer: &str,
    body: &[u8],
    rule: UrlRule,
    url: &str,
) -> Result<ServerMetadata> {
    read_members::<Value>(expected_issuer, body, rule, url, Read::All)
}

/// Reads the document into the tree `T`: the one its caller's wasm entry
/// links (see [`Discovery::answer`] and [`Discovery::answer_for_keys`]).
fn read_members<'b, T: Tree<'b>>(
    expected_issuer: &str,
    body: &'b [u8],
    rule: UrlRule,
    url: &str,
    read: Read,
) -> Result<ServerMetadata> {
    let value = json::read_as::<T>(body)
        .map_err(|e| failed(msg!("the metadata document at ", url, " is not JSON: ", e)))?;
    let Some(object) = value.members() else {
        return Err(failed(msg!(
            "the metadata document at ",
            url,
            " is not a JSON object"
        )));
    };
    let not_a = |name: &str, what: &str| {
        failed(msg!(
            "the metadata document at ",
            url,
            ": ",
            name,
            " must be ",
            what
        ))
    };
    let member = |name: &str| -> Result<Option<String>> {
        match T::member(object, name) {
            None => Ok(None),
            Some(found) => found
                .text()
                .map(Some)
                .ok_or_else(|| not_a(name, "a string")),
        }
    };
    let Some(issuer) = member("issuer")? else {
        return Err(failed(msg!(
            "the metadata document at ",
            url,
            " has no issuer"
        )));
    };
    // OpenID Connect Discovery §4.3, RFC 8414 §3.3: exactly equal, no
    // normalisation (a trailing slash is a different issuer).
    if issuer != expected_issuer {
        return Err(Error::new(
            ErrorCode::IssuerMismatch,
            msg!(
                "the metadata document names issuer ",
                quoted(&issuer),
                ", not the configured ",
                quoted(expected_issuer),
                " (they must be equal exactly: OpenID Connect Discovery §4.3, RFC 8414 §3.3)"
            ),
        ));
    }
    let endpoint = |name: &str| -> Result<Option<String>> {
        let found = member(name)?;
        if let Some(found) = &found {
            rule.check_parts(name, found)
                .map_err(|e| failed(msg!("the metadata document at ", url, ": ", e.message())))?;
        }
        Ok(found)
    };
    let jwks_uri = endpoint("jwks_uri")?;
    if read == Read::Keys {
        return Ok(ServerMetadata {
            issuer,
            jwks_uri,
            ..ServerMetadata::default()
        });
    }
    let authorization_endpoint = endpoint("authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;
    let userinfo_endpoint = endpoint("userinfo_endpoint")?;
    let iss_supported = match T::member(object, "authorization_response_iss_parameter_supported") {
        None => false,
        Some(found) => found.truth().ok_or_else(|| {
            not_a(
                "authorization_response_iss_parameter_supported",
                "true or false",
            )
        })?,
    };
    let methods = match T::member(object, "code_challenge_methods_supported") {
        None => None,
        Some(found) => {
            let not_a_list = || not_a("code_challenge_methods_supported", "a list of strings");
            let items = found.items().ok_or_else(not_a_list)?;
            let mut methods = Vec::with_capacity(items.len());
            for item in items {
                methods.push(item.text().ok_or_else(not_a_list)?);
            }
            Some(methods)
        }
    };
    Ok(ServerMetadata {
        issuer,
        jwks_uri,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        authorization_response_iss_parameter_supported: iss_supported,
        code_challenge_methods_supported: methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://as.example/tenant/a";

    fn doc(issuer: &str, extra: &str) -> Vec<u8> {
        format!(r#"{{"issuer":"{issuer}"{extra}}}"#).into_bytes()
    }

    #[test]
    fn urls_in_order() {
        let d = Discovery::new(ISSUER, UrlRule::STRICT).unwrap();
        assert_eq!(
            d.url(),
            "https://as.example/tenant/a/.well-known/openid-configuration"
        );
        let mut d = Discovery::new("https://as.example/tenant/a/", UrlRule::STRICT).unwrap();
        assert_eq!(
            d.url(),
            "https://as.example/tenant/a/.well-known/openid-configuration"
        );
        assert_eq!(
            d.answer(404, b"").unwrap(),
            DiscoveryStep::Fetch(
                "https://as.example/.well-known/oauth-authorization-server/tenant/a".into()
            )
        );
        let mut root = Discovery::new("https://AS.example", UrlRule::STRICT).unwrap();
        assert_eq!(
            root.url(),
            "https://AS.example/.well-known/openid-configuration"
        );
        assert_eq!(
            root.answer(410, b"").unwrap(),
            DiscoveryStep::Fetch(
                "https://as.example/.well-known/oauth-authorization-server".into()
            )
        );
    }

    #[test]
    fn issuer_follows_the_url_rule() {
        for bad in [
            "http://as.example",
            "https://as.example/?tenant=a",
            "https://as.example/#x",
            "as.example",
        ] {
            let err = Discovery::new(bad, UrlRule::STRICT).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidOptions, "{bad}");
            assert!(
                err.message().starts_with("issuer must"),
                "{bad}: {}",
                err.message()
            );
        }
        assert!(Discovery::new("http://as.example", UrlRule::INSECURE_HTTP).is_ok());
        assert!(Discovery::new("http://127.0.0.1:9000", UrlRule::STRICT).is_ok());
    }

    #[test]
    fn reads_a_document() {
        let mut d = Discovery::new(ISSUER, UrlRule::STRICT).unwrap();
        let body = doc(
            ISSUER,
            r#","jwks_uri":"https://as.example/jwks","authorization_endpoint":"https://as.example/auth?x=1",
               "token_endpoint":"https://as.example/token","authorization_response_iss_parameter_supported":true,
               "code_challenge_methods_supported":["S256"],"response_types_supported":["code"]"#,
        );
        let DiscoveryStep::Found(meta) = d.answer(200, &body).unwrap() else {
            panic!("expected the document");
        };
        assert_eq!(meta.issuer, ISSUER);
        assert_eq!(meta.jwks_uri.as_deref(), Some("https://as.example/jwks"));
        assert_eq!(
            meta.authorization_endpoint.as_deref(),
            Some("https://as.example/auth?x=1")
        );
        assert_eq!(
            meta.token_endpoint.as_deref(),
            Some("https://as.example/token")
        );
        assert_eq!(meta.userinfo_endpoint, None);
        assert!(meta.authorization_response_iss_parameter_supported);
        assert_eq!(
            meta.code_challenge_methods_supported,
            Some(vec!["S256".to_owned()])
        );
        // A snapshot reads back to the same metadata.
        let again = read_metadata(ISSUER, meta.to_json().as_bytes(), UrlRule::STRICT, "x").unwrap();
        assert_eq!(again, meta);
    }

    #[test]
    fn issuer_must_be_equal_exactly() {
        for other in [
            "https://as.example/tenant/a/",
            "https://AS.example/tenant/a",
            "https://evil.example",
        ] {
            let err = read_metadata(ISSUER, &doc(other, ""), UrlRule::STRICT, "u").unwrap_err();
            assert_eq!(err.code(), ErrorCode::IssuerMismatch, "{other}");
            assert!(err.message().contains(other), "{}", err.message());
        }
        let long = "x".repeat(1000);
        let err = read_metadata(ISSUER, &doc(&long, ""), UrlRule::STRICT, "u").unwrap_err();
        assert!(err.message().len() < 400);
    }

    #[test]
    fn refuses_bad_documents() {
        let cases: [&[u8]; 7] = [
            b"not json",
            b"[1]",
            br#"{"jwks_uri":"https://as.example/jwks"}"#,
            br#"{"issuer":1}"#,
            br#"{"issuer":"https://as.example/tenant/a","jwks_uri":"http://as.example/jwks"}"#,
            br#"{"issuer":"https://as.example/tenant/a","token_endpoint":["https://as.example/t"]}"#,
            br#"{"issuer":"https://as.example/tenant/a","authorization_response_iss_parameter_supported":"yes"}"#,
        ];
        for body in cases {
            let err = read_metadata(ISSUER, body, UrlRule::STRICT, "u").unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::DiscoveryFailed,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(!err.is_retryable());
        }
        // The opt-out reaches the endpoints too.
        let insecure =
            br#"{"issuer":"https://as.example/tenant/a","jwks_uri":"http://as.internal/jwks"}"#;
        assert!(read_metadata(ISSUER, insecure, UrlRule::INSECURE_HTTP, "u").is_ok());
    }

    #[test]
    fn a_caller_of_the_keys_reads_issuer_and_jwks_uri_only() {
        let answer = |body: &[u8], keys_only: bool| {
            let mut d = Discovery::new(ISSUER, UrlRule::STRICT).unwrap();
            if keys_only {
                d.answer_for_keys(200, body)
            } else {
                d.answer(200, body)
            }
        };
        // Members a verifier never uses do not fail it ...
        let body = br#"{"issuer":"https://as.example/tenant/a","jwks_uri":"https://as.example/jwks",
            "token_endpoint":"http://as.internal/token","authorization_response_iss_parameter_supported":"yes",
            "code_challenge_methods_supported":7}"#;
        assert!(answer(body, false).is_err());
        let Ok(DiscoveryStep::Found(found)) = answer(body, true) else {
            panic!("found")
        };
        assert_eq!(found.jwks_uri.as_deref(), Some("https://as.example/jwks"));
        assert_eq!(found.token_endpoint, None);
        // ... issuer and jwks_uri are checked as always.
        for body in [
            &br#"{"issuer":"https://as.example/tenant/a","jwks_uri":"http://as.example/jwks"}"#[..],
            br#"{"issuer":"https://as.example/tenant/a","jwks_uri":1}"#,
            br#"{"issuer":"https://as.example/tenant/b","jwks_uri":"https://as.example/jwks"}"#,
            br#"{"jwks_uri":"https://as.example/jwks"}"#,
        ] {
            let keys = answer(body, true).unwrap_err();
            let all = answer(body, false).unwrap_err();
            assert_eq!(keys.code(), all.code());
            assert_eq!(keys.message(), all.message());
        }
    }

    #[test]
    fn statuses() {
        let mut d = Discovery::new(ISSUER, UrlRule::STRICT).unwrap();
        for (status, retryable) in [
            (500, true),
            (503, true),
            (429, true),
            (403, false),
            (302, false),
        ] {
            let err = d.answer(status, b"").unwrap_err();
            assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
            assert_eq!(err.is_retryable(), retryable, "{status}");
            assert_eq!(err.status(), Some(status));
        }
        // Both well-known URLs missing.
        assert!(matches!(d.answer(404, b""), Ok(DiscoveryStep::Fetch(_))));
        let err = d.answer(404, b"").unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(err.message().contains("openid-configuration and https://as.example/.well-known/oauth-authorization-server/tenant/a"));
    }
}
