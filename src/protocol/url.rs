//! URLs: the one rule for every URL the package fetches or sends a browser
//! to, and the little URL handling (RFC 3986) the cores need, written out so
//! they have no URL-parser dependency: splitting a URL into its parts, an
//! origin (RFC 6454 §4), query parameters and percent-encoding.
//!
//! **The rule** ([`UrlRule`]): an absolute `https` URL, or `http` to a
//! loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), without user
//! information or fragment (RFC 9700 §2.6 and RFC 6749 §3.1: TLS for every
//! endpoint; RFC 3986 §3.2.1: no credentials in URLs). Plain `http` to any
//! other host takes the one explicit opt-out `allowInsecureHttp: true`
//! ([`UrlRule::INSECURE_HTTP`]), for a trusted in-cluster service. Every
//! entry (client, verifier, server) checks its URLs here, so the rule and its
//! messages are the same everywhere.
//!
//! What is left to callers: which option a URL comes from (its name goes
//! into the message) and whether the opt-out was given.
//!
//! Nothing here panics on any input.

use crate::prelude::*;
use crate::{Error, Result};

/// Longest URL accepted anywhere (configuration or callback), in bytes.
pub const MAX_URL_LEN: usize = 16 * 1024;

/// A URL split at its first `#` and the first `?` before it (RFC 3986 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    /// Everything before `?` / `#`.
    pub base: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// The fragment, without `#`.
    pub fragment: Option<&'a str>,
}

pub(crate) fn split(url: &str) -> UrlParts<'_> {
    let (before_fragment, fragment) = match split_at_byte(url, b'#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = match split_at_byte(before_fragment, b'?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    UrlParts {
        base,
        query,
        fragment,
    }
}

/// `s.split_once(byte)` for an ASCII `byte`, as a byte search: `str`'s char
/// searcher (and `memchr`) cost every entry's wasm several hundred bytes.
fn split_at_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == byte)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// An absolute hierarchical URL's scheme and authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Lowercased scheme.
    pub scheme: String,
    /// Lowercased host (IPv6 literals keep their brackets).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path, query and fragment (may be empty).
    pub rest: String,
}

impl Authority {
    /// The ASCII serialisation of the origin (RFC 6454 §6.2), default ports dropped.
    pub fn origin(&self) -> String {
        origin(&self.scheme, &self.host, self.port)
    }

    /// True for a loopback host: `localhost`, an IPv4 address in
    /// `127.0.0.0/8` (RFC 1122 §3.2.1.3), or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }
}

/// `scheme://host[:port]` lowercased, the scheme's default port dropped.
fn origin(scheme: &str, host: &str, port: Option<u16>) -> String {
    let mut out = String::with_capacity(scheme.len() + host.len() + 9);
    for part in [scheme, "://", host] {
        for b in part.bytes() {
            out.push(char::from(b.to_ascii_lowercase()));
        }
    }
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else {
        None
    };
    if let Some(port) = port.filter(|p| Some(*p) != default_port) {
        out.push(':');
        crate::error::Part::push_to(&port, &mut out);
    }
    out
}

/// `localhost`, `[::1]` or an IPv4 address in `127.0.0.0/8`, in any ASCII case.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host == "[::1]" || is_ipv4_loopback(host)
}

/// `127.a.b.c` in dotted-decimal form, each part 0..=255 without leading zeros.
fn is_ipv4_loopback(host: &str) -> bool {
    let mut parts = 0;
    for part in host.as_bytes().split(|b| *b == b'.') {
        let decimal = !part.is_empty()
            && part.len() <= 3
            && part.iter().all(u8::is_ascii_digit)
            && !(part.len() > 1 && part.first() == Some(&b'0'));
        let value = if decimal {
            part.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
        } else {
            u32::MAX
        };
        if value > 255 || (parts == 0 && value != 127) {
            return false;
        }
        parts += 1;
    }
    parts == 4
}

/// `url.split_once("://")` for a URL whose scheme has no `:`, as a byte
/// search: a `&str` pattern links core's two-way searcher and its panic
/// formatting (~8 kB of wasm).
pub(crate) fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let colon = url.bytes().position(|b| b == b':')?;
    Some((url.get(..colon)?, url.get(colon + 1..)?.strip_prefix("//")?))
}

/// An absolute URL's parts as written (not lowercased; an IPv6 host with
/// its brackets): what [`parse_authority`] checks, without copying.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub port: Option<u16>,
    /// Path, query and fragment (may be empty).
    pub rest: &'a str,
}

impl Parts<'_> {
    /// [`Authority::origin`].
    pub fn origin(&self) -> String {
        origin(self.scheme, self.host, self.port)
    }

    /// The owned [`Authority`], scheme and host lowercased.
    fn owned(&self) -> Authority {
        Authority {
            scheme: self.scheme.to_ascii_lowercase(),
            host: self.host.to_ascii_lowercase(),
            port: self.port,
            rest: self.rest.to_owned(),
        }
    }
}

/// Parses `scheme://host[:port][rest]`; `None` when the URL is not absolute,
/// has user information, an empty or invalid host, a bad port, whitespace,
/// control characters or backslashes.
pub(crate) fn parts(url: &str) -> Option<Parts<'_>> {
    if url.len() > MAX_URL_LEN
        || url
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
    {
        return None;
    }
    let (scheme, after) = split_scheme(url)?;
    if !scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return None;
    }
    let authority_end = after
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    let (authority, rest) = after.split_at_checked(authority_end)?;
    // An IPv6 literal's port follows its `]`; any other host's, its `:`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let close = v6.bytes().position(|b| b == b']')? + 2;
            let (host, after_bracket) = authority.split_at_checked(close)?;
            let inside = host.get(1..host.len() - 1)?;
            if inside.is_empty()
                || !inside
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            let port = match after_bracket {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (host, port)
        }
        None => {
            let (host, port) = match split_at_byte(authority, b':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return None;
            }
            (host, port)
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            // Not `str::parse`: its error machinery costs the wasm.
            let value = p.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
            Some(u16::try_from(value).ok().filter(|p| *p != 0)?)
        }
        Some(_) => return None,
    };
    Some(Parts {
        scheme,
        host,
        port,
        rest,
    })
}

/// Parses `scheme://host[:port][rest]` (see [`parts`]), scheme and host
/// lowercased.
pub fn parse_authority(url: &str) -> Option<Authority> {
    parts(url).map(|parts| parts.owned())
}

/// The origin of an absolute URL, if it has one.
pub fn origin_of(url: &str) -> Option<String> {
    parse_authority(url).map(|a| a.origin())
}

/// The page a URL designates: its origin and path, without query and
/// fragment (an empty path is `/`, as browsers show it).
pub(crate) fn page_of(url: &str) -> Option<String> {
    let parsed = parse_authority(split(url).base)?;
    let path = if parsed.rest.is_empty() {
        "/"
    } else {
        parsed.rest.as_str()
    };
    let mut page = parsed.origin();
    page.push_str(path);
    Some(page)
}

/// The one URL rule (see the module docs): what a URL option may hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlRule {
    /// `allowInsecureHttp: true`: plain `http` to any host. Anyone on the
    /// network path can then read and change what is sent and received
    /// (tokens, keys): only for a trusted in-cluster service.
    pub allow_insecure_http: bool,
}

impl UrlRule {
    /// `https`, or `http` to a loopback host (the default).
    pub const STRICT: Self = Self {
        allow_insecure_http: false,
    };
    /// `allowInsecureHttp: true`: `http` to any host as well.
    pub const INSECURE_HTTP: Self = Self {
        allow_insecure_http: true,
    };

    /// True when the rule lets a URL with this scheme and host be used.
    pub fn allows(self, url: &Authority) -> bool {
        self.allows_parts(&url.scheme, &url.host)
    }

    fn allows_parts(self, scheme: &str, host: &str) -> bool {
        scheme.eq_ignore_ascii_case("https")
            || (scheme.eq_ignore_ascii_case("http")
                && (self.allow_insecure_http || is_loopback(host)))
    }

    /// Checks the URL held by `option` (its name goes into the message):
    /// absolute, allowed by the rule, no user information, no fragment. A
    /// query is allowed (RFC 6749 §3.1, §3.2: endpoints may carry one).
    pub fn check(self, option: &str, url: &str) -> Result<Authority> {
        self.check_parts(option, url).map(|parts| parts.owned())
    }

    /// [`Self::check`] without copying the parts.
    pub(crate) fn check_parts<'u>(self, option: &str, url: &'u str) -> Result<Parts<'u>> {
        let Some(parsed) = parts(url) else {
            return Err(Error::options(msg!(
                option,
                " must be an absolute URL such as https://example.com/path (no spaces, no \
                 user:password@, at most 16384 bytes)"
            )));
        };
        if !self.allows_parts(parsed.scheme, parsed.host) {
            return Err(Error::options(msg!(
                option,
                " must use https (plain http only to localhost, 127.0.0.0/8 or [::1]; for a \
                 trusted in-cluster http service pass allowInsecureHttp: true)"
            )));
        }
        if split(url).fragment.is_some() {
            return Err(Error::options(msg!(
                option,
                " must not contain a fragment (#...)"
            )));
        }
        Ok(parsed)
    }

    /// [`Self::check`], for a URL the caller sends requests to as given (a
    /// query is kept).
    pub fn endpoint(self, option: &str, url: &str) -> Result<String> {
        self.check_parts(option, url)?;
        Ok(url.to_owned())
    }

    /// [`Self::check`], for a base URL that fixed paths are appended to: no
    /// query either; returned without trailing slashes, so `{base}/path`
    /// never doubles the slash.
    pub fn base_url(self, option: &str, url: &str) -> Result<String> {
        self.check_parts(option, url)?;
        if split(url).query.is_some() {
            return Err(Error::options(msg!(
                option,
                " must not contain a query (?...): pass the base URL, paths are added to it"
            )));
        }
        Ok(trim_trailing_slashes(url).to_owned())
    }
}

/// Removes trailing `/` so `{base}/path` never doubles the slash.
pub(crate) fn trim_trailing_slashes(url: &str) -> &str {
    let end = url.bytes().rposition(|b| b != b'/').map_or(0, |at| at + 1);
    url.get(..end).unwrap_or(url)
}

/// Percent-encodes one path segment: every byte but RFC 3986 §2.3 unreserved
/// characters, so `/`, `?`, `#`, `..` tricks cannot change the path.
pub(crate) fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'A' + nibble - 10
    })
}

/// Appends `name=value` pairs to the query of `url`, before any fragment,
/// keeping an existing query (RFC 6749 §3.1: it must be retained); names
/// and values are form-encoded ([`super::form`]).
pub(crate) fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let parts = split(url);
    let mut out = String::from(parts.base);
    out.push('?');
    if let Some(query) = parts.query.filter(|q| !q.is_empty()) {
        out.push_str(query);
        out.push('&');
    }
    out.push_str(&super::form::serialize(pairs));
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_query_and_fragment() {
        let p = split("https://a/b?c=1#d?e");
        assert_eq!(p.base, "https://a/b");
        assert_eq!(p.query, Some("c=1"));
        assert_eq!(p.fragment, Some("d?e"));
        assert_eq!(split("https://a#x?y").query, None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("HTTPS://Example.COM:443/x").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(origin_of("https://user@evil.example/"), None);
        assert_eq!(origin_of("https://a b/"), None);
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("https://host:0/"), None);
        assert_eq!(origin_of("https://host:99999/"), None);
    }

    #[test]
    fn pages() {
        assert_eq!(
            page_of("HTTPS://Ext.Example:443?x#y").as_deref(),
            Some("https://ext.example/")
        );
        assert_eq!(
            page_of("https://e/cb?code=1").as_deref(),
            Some("https://e/cb")
        );
        assert_eq!(page_of("/cb"), None);
    }

    #[test]
    fn the_url_rule() {
        let strict = UrlRule::STRICT;
        for ok in [
            "https://as.example/authorize?tenant=1",
            "HTTPS://AS.example",
            "http://localhost:8080/a",
            "http://[::1]/a",
            "http://127.0.0.1:1/",
            "http://127.255.3.4/x",
        ] {
            assert!(strict.check("x", ok).is_ok(), "{ok}");
        }
        for public_http in [
            "http://as.example/",
            "http://128.0.0.1/",
            "http://127.0.0.1.evil.example/",
            "http://127.0.0/",
            "http://127.0.0.01/",
            "http://127.0.0.256/",
            "http://localhost.evil.example/",
            "http://[::2]/",
        ] {
            let err = strict
                .check("authorizationEndpoint", public_http)
                .unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidOptions);
            assert_eq!(
                err.message(),
                "authorizationEndpoint must use https (plain http only to localhost, \
                 127.0.0.0/8 or [::1]; for a trusted in-cluster http service pass \
                 allowInsecureHttp: true)",
                "{public_http}"
            );
            assert!(UrlRule::INSECURE_HTTP.check("x", public_http).is_ok());
        }
        for never in [
            "https://as.example/#frag",
            "javascript:alert(1)",
            "ftp://as.example/",
            "https://user:pw@as.example/",
            "https://console.example@evil.example/",
            "//as.example/",
            "/relative",
            "https:/as.example",
            "https://as example/",
        ] {
            assert!(UrlRule::INSECURE_HTTP.check("x", never).is_err(), "{never}");
        }
    }

    #[test]
    fn base_urls_and_endpoints() {
        let strict = UrlRule::STRICT;
        assert_eq!(
            strict
                .base_url("consoleUrl", "https://console.example/prefix//")
                .unwrap(),
            "https://console.example/prefix"
        );
        assert!(strict
            .base_url("consoleUrl", "https://console.example/?x=1")
            .is_err());
        assert_eq!(
            strict
                .endpoint("tokenEndpoint", "https://as.example/token?tenant=a")
                .unwrap(),
            "https://as.example/token?tenant=a"
        );
        assert!(strict
            .endpoint("tokenEndpoint", "https://as.example/token#x")
            .is_err());
    }

    #[test]
    fn appends_before_fragment_and_keeps_query() {
        assert_eq!(
            append_query("https://a/b", &[("x", "1 2")]),
            "https://a/b?x=1+2"
        );
        assert_eq!(
            append_query("https://a/b?k=v#h", &[("x", "&")]),
            "https://a/b?k=v&x=%26#h"
        );
        assert_eq!(
            append_query("https://a/b?", &[("x", "1")]),
            "https://a/b?x=1"
        );
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(
            encode_path_segment("a/b?c#d ..é"),
            "a%2Fb%3Fc%23d%20..%C3%A9"
        );
    }
}
