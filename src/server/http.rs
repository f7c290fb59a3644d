//! I/O-free HTTP values shared by the backend helpers.
//!
//! The core never performs a request: builders return an [`HttpRequest`] for
//! the caller (the wasm facade's `fetch`, or any Rust HTTP client) to send, and
//! parsers take the [`HttpResponse`] it got back. The handoff handler answers
//! with an [`HttpResponseOut`].
//!
//! `Debug` output of every type here redacts bodies and credential-bearing
//! headers (`Authorization`, `Cookie`, `Set-Cookie`), because request bodies
//! hold codes, verifiers and client secrets and responses hold tokens.

use crate::prelude::*;
use core::fmt;

use crate::{Error, ErrorCode};

/// Default time a caller should wait for the remote server, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// Largest response body the parsers accept (1 MiB). Callers should stop
/// reading at `MAX_RESPONSE_BYTES + 1` bytes and pass what they have; the
/// parsers then reject it with `token_endpoint_error`.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A string that must never be printed: client secrets, authorization codes,
/// `state`, PKCE verifiers, refresh tokens, Matrix login tokens.
///
/// `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value.
    ///
    /// # Security warning
    /// Do not log or display the returned string.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// A request for the caller to send (RFC 9110 method, target URI, fields, content).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute target URL.
    pub url: String,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The request content, if any.
    pub body: Option<String>,
    /// How long to wait for the response before failing with a retryable
    /// `network_error` (see [`timeout_error`]).
    pub timeout_ms: u32,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &self.body.as_ref().map(|b| BodyLen(b.len())))
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// A response the caller received.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header fields, in order (repeat `Set-Cookie` as separate entries).
    pub headers: Vec<(String, String)>,
    /// The content, at most [`MAX_RESPONSE_BYTES`] + 1 bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status and a body and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &BodyLen(self.body.len()))
            .finish()
    }
}

/// A response for the handoff handler to send back to the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponseOut {
    /// The status code.
    pub status: u16,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The content (JSON, or empty for 204).
    pub body: String,
}

impl HttpResponseOut {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for HttpResponseOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponseOut")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &BodyLen(self.body.len()))
            .finish()
    }
}

struct BodyLen(usize);

impl fmt::Debug for BodyLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes redacted]", self.0)
    }
}

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            if is_credential_header(name) {
                list.entry(&(name.as_str(), "[redacted]"));
            } else {
                list.entry(&(name.as_str(), value.as_str()));
            }
        }
        list.finish()
    }
}

fn is_credential_header(name: &str) -> bool {
    [
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// The first header named `name`, compared case-insensitively (RFC 9110 §5.1).
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The error a caller should report when sending a request failed at the
/// network level (DNS, connection refused, TLS). Retryable.
pub fn network_error(what: &str) -> Error {
    Error::new(
        ErrorCode::NetworkError,
        msg!(
            "request to the ",
            what,
            " failed at the network level; retry later"
        ),
    )
    .retryable(true)
}

/// The error a caller should report when a request ran past its
/// [`HttpRequest::timeout_ms`]. Retryable.
pub fn timeout_error(what: &str, timeout_ms: u32) -> Error {
    Error::new(
        ErrorCode::NetworkError,
        msg!(
            "the ",
            what,
            " did not answer within ",
            u64::from(timeout_ms),
            " ms; retry later"
        ),
    )
    .retryable(true)
}

/// A JSON object written member by member (no tree to build and walk): the
/// handler's answers, and what the wasm facade hands the JS layer.
pub(crate) struct JsonBody(String);

impl JsonBody {
    pub(crate) fn new() -> Self {
        Self(String::from("{"))
    }

    fn key(&mut self, name: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        crate::json::write_string(&mut self.0, name);
        self.0.push(':');
    }

    pub(crate) fn string(mut self, name: &str, value: &str) -> Self {
        self.key(name);
        crate::json::write_string(&mut self.0, value);
        self
    }

    /// The string, or `null` (the wasm facade's results).
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "server")), allow(dead_code))]
    pub(crate) fn opt_string(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.string(name, value),
            None => self.raw(name, "null"),
        }
    }

    /// The string when there is one; nothing otherwise.
    pub(crate) fn present(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.string(name, value),
            None => self,
        }
    }

    pub(crate) fn number(mut self, name: &str, value: u64) -> Self {
        self.key(name);
        crate::error::Part::push_to(&value, &mut self.0);
        self
    }

    /// The number, or `null` (the wasm facade's results).
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "server")), allow(dead_code))]
    pub(crate) fn opt_number(self, name: &str, value: Option<u64>) -> Self {
        match value {
            Some(value) => self.number(name, value),
            None => self.raw(name, "null"),
        }
    }

    pub(crate) fn yes(self, name: &str) -> Self {
        self.raw(name, "true")
    }

    /// `json` must be a JSON value (the caller wrote or checked it).
    pub(crate) fn raw(mut self, name: &str, json: &str) -> Self {
        self.key(name);
        self.0.push_str(json);
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `byte` as `%XX` (uppercase hex, RFC 3986 §2.1).
fn push_percent(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    for nibble in [byte >> 4, byte & 0xf] {
        out.push(char::from(
            HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
        ));
    }
}

/// Percent-encodes like JavaScript's `encodeURIComponent` (RFC 3986 §2.1),
/// keeping `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
pub(crate) fn encode_uri_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            push_percent(&mut out, byte);
        }
    }
    out
}

/// Appends `value` encoded as an `application/x-www-form-urlencoded` name or
/// value (the WHATWG URL standard's byte serializer, which RFC 6749
/// Appendix B uses): `A-Z a-z 0-9 * - . _` kept, space as `+`, every other
/// byte `%XX`. (Written here rather than with `form_urlencoded`: its 768-byte
/// table of `%XX` strings cost the server's wasm more than this loop.)
pub(crate) fn push_form_component(out: &mut String, value: &str) {
    for byte in value.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'*' | b'-' | b'.' | b'_' => out.push(char::from(byte)),
            _ if byte.is_ascii_alphanumeric() => out.push(char::from(byte)),
            _ => push_percent(out, byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_bodies_and_credentials() {
        let request = HttpRequest {
            method: "POST",
            url: "https://as.example/token".into(),
            headers: vec![
                ("Authorization".into(), "Basic c2VjcmV0".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some("code=the-code&client_secret=hunter2".into()),
            timeout_ms: 1,
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("the-code"), "{printed}");
        assert!(printed.contains("application/json"), "{printed}");

        let response = HttpResponseOut {
            status: 200,
            headers: vec![("Set-Cookie".into(), "sid=tok.en; HttpOnly".into())],
            body: r#"{"access_token":"tok.en"}"#.into(),
        };
        let printed = format!("{response:?}");
        assert!(!printed.contains("tok.en"), "{printed}");
        assert_eq!(format!("{:?}", Secret::new("s3cr3t")), "[redacted]");
    }

    #[test]
    fn encode_uri_component_matches_javascript() {
        assert_eq!(encode_uri_component("sc_a-b.c~d"), "sc_a-b.c~d");
        assert_eq!(encode_uri_component("a/b c:d"), "a%2Fb%20c%3Ad");
        assert_eq!(encode_uri_component("é!*'()"), "%C3%A9!*'()");
    }

    #[test]
    fn json_bodies_are_written_in_order_and_escaped() {
        let body = JsonBody::new()
            .string("a", "x\"y")
            .number("n", 7)
            .raw("o", "{}")
            .yes("t")
            .opt_string("s", None)
            .opt_number("m", None)
            .finish();
        assert_eq!(
            body,
            r#"{"a":"x\"y","n":7,"o":{},"t":true,"s":null,"m":null}"#
        );
        assert_eq!(JsonBody::new().finish(), "{}");
    }

    /// The same bytes as `form_urlencoded::byte_serialize` (the WHATWG serializer).
    #[test]
    fn form_components_match_the_whatwg_serializer() {
        let all: String = (0u8..=0x7f).map(char::from).chain("é€ ~".chars()).collect();
        let mut ours = String::new();
        push_form_component(&mut ours, &all);
        let theirs: String = form_urlencoded::byte_serialize(all.as_bytes()).collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn helper_errors_are_retryable_network_errors() {
        let e = timeout_error("token endpoint", 5000);
        assert_eq!(e.code(), ErrorCode::NetworkError);
        assert!(e.is_retryable());
        assert!(e.message().contains("5000 ms"));
        assert!(network_error("homeserver").is_retryable());
    }
}
