//! The small amount of URL handling the client needs (RFC 3986), written out
//! so the core has no URL-parser dependency: splitting a URL into its parts,
//! checking that an endpoint is an absolute `https` URL, computing an origin
//! (RFC 6454 §4), appending query parameters and percent-encoding.
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
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    UrlParts {
        base,
        query,
        fragment,
    }
}

/// An absolute hierarchical URL's scheme and authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authority {
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
        let default_port = match self.scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        };
        match self.port {
            Some(port) if Some(port) != default_port => {
                format!("{}://{}:{}", self.scheme, self.host, port)
            }
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// True for `http://localhost`, `http://127.0.0.1` and `http://[::1]`.
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }

    /// True for `https`, or `http` on a loopback host (development).
    pub fn is_secure_or_loopback(&self) -> bool {
        self.scheme == "https" || (self.scheme == "http" && self.is_loopback())
    }
}

/// Parses `scheme://host[:port][rest]`; `None` when the URL is not absolute,
/// has user information, an empty or invalid host, a bad port, whitespace,
/// control characters or backslashes.
/// `url.split_once("://")` for a URL whose scheme has no `:`, as a byte
/// search: a `&str` pattern links core's two-way searcher and its panic
/// formatting (~8 kB of wasm).
pub(crate) fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let colon = url.bytes().position(|b| b == b':')?;
    Some((url.get(..colon)?, url.get(colon + 1..)?.strip_prefix("//")?))
}

pub(crate) fn parse_authority(url: &str) -> Option<Authority> {
    if url.len() > MAX_URL_LEN
        || url
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
    {
        return None;
    }
    let (scheme, after) = split_scheme(url)?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        || !scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at_checked(authority_end)?;
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after_bracket) = v6.split_once(']')?;
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
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
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
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
        Some(_) => return None,
    };
    Some(Authority {
        scheme: scheme.to_ascii_lowercase(),
        host,
        port,
        rest: rest.to_owned(),
    })
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
    Some(format!("{}{}", parsed.origin(), path))
}

/// Checks that an option holds an absolute `https` URL (or `http` on
/// localhost, 127.0.0.1 or [::1], for development), without user
/// information or fragment (RFC 6749 §3.1, §3.1.2, RFC 9700 §2.6).
pub(crate) fn check_endpoint(option: &str, url: &str) -> Result<Authority> {
    let Some(parsed) = parse_authority(url) else {
        return Err(Error::options(format!(
            "{option} must be an absolute URL such as https://example.com/path \
             (no spaces, no user:password@, at most {MAX_URL_LEN} bytes)"
        )));
    };
    if !parsed.is_secure_or_loopback() {
        return Err(Error::options(format!(
            "{option} must use https (http is accepted only for localhost, 127.0.0.1 and [::1])"
        )));
    }
    if split(url).fragment.is_some() {
        return Err(Error::options(format!(
            "{option} must not contain a fragment (#...)"
        )));
    }
    Ok(parsed)
}

/// Removes trailing `/` so `{base}/path` never doubles the slash.
pub(crate) fn trim_trailing_slashes(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// Percent-encodes a query name or value (`application/x-www-form-urlencoded`).
pub(crate) fn encode_query_component(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
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
/// keeping an existing query (RFC 6749 §3.1: it must be retained).
pub(crate) fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let parts = split(url);
    let mut out = String::with_capacity(url.len() + 64);
    out.push_str(parts.base);
    let mut first = true;
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(query);
        first = query.is_empty();
    }
    for (name, value) in pairs {
        if first && parts.query.is_none() {
            out.push('?');
        } else if !first {
            out.push('&');
        }
        first = false;
        out.push_str(&encode_query_component(name));
        out.push('=');
        out.push_str(&encode_query_component(value));
    }
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
    fn endpoint_rules() {
        assert!(check_endpoint("x", "https://as.example/authorize?tenant=1").is_ok());
        assert!(check_endpoint("x", "http://localhost:8080/a").is_ok());
        assert!(check_endpoint("x", "http://[::1]/a").is_ok());
        let err = check_endpoint("authorizationEndpoint", "http://as.example/").unwrap_err();
        assert_eq!(
            err.message(),
            "authorizationEndpoint must use https (http is accepted only for localhost, 127.0.0.1 and [::1])"
        );
        assert!(check_endpoint("x", "https://as.example/#frag").is_err());
        assert!(check_endpoint("x", "javascript:alert(1)").is_err());
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
