//! The session cookie of cookie mode (RFC 6265, RFC 6265bis): its
//! attributes, the `Set-Cookie` value, and reading it back from `Cookie`.
//!
//! Decided here: which cookie names, paths and attribute combinations are
//! valid (browsers drop `SameSite=None` without `Secure`, `__Host-` cookies
//! outside `Path=/`...), and which values may go into a cookie at all, so a
//! token can never add attributes or cookies. Left to the caller: when to
//! set or clear the cookie (the handler) and its lifetime (the token's).

use crate::prelude::*;
use crate::{Error, Result};

/// Largest `name=value` a session cookie may have: browsers drop longer ones
/// silently (RFC 6265 §6.1 only guarantees 4096 bytes).
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The `SameSite` cookie attribute (RFC 6265bis §4.1.2.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SameSite {
    /// `Strict`: never sent on cross-site requests.
    Strict,
    /// `Lax` (default): sent on same-site requests and top-level navigations.
    #[default]
    Lax,
    /// `None`: sent on cross-site requests too (needed when the extension page
    /// and this backend are on different sites); requires `Secure`.
    None,
}

impl SameSite {
    /// Parses `strict`, `lax` or `none` (any case).
    pub fn parse(value: &str) -> Result<Self> {
        if value.eq_ignore_ascii_case("strict") {
            Ok(Self::Strict)
        } else if value.eq_ignore_ascii_case("lax") {
            Ok(Self::Lax)
        } else if value.eq_ignore_ascii_case("none") {
            Ok(Self::None)
        } else {
            Err(Error::options(
                "session.sameSite must be \"Strict\", \"Lax\" or \"None\"",
            ))
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// Session-cookie mode: the access token goes into an `HttpOnly` cookie
/// instead of the response body (RFC 6265 §4.1).
///
/// The cookie is host-only (no `Domain`). Its `Max-Age` follows the
/// verified token's `exp` (else `expires_in`); without either it is a
/// session cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    /// Cookie name; default `sid`. `__Host-` names are allowed and checked
    /// (Secure, `Path=/`).
    pub name: String,
    /// `Secure`; default true. Turning it off is only for http://localhost development.
    pub secure: bool,
    /// `SameSite`; default `Lax`. `None` requires `secure`.
    pub same_site: SameSite,
    /// `Path`; default `/`.
    pub path: String,
    /// `Partitioned` (CHIPS), for a backend used from a cross-site iframe
    /// where third-party cookies are blocked; requires `secure`.
    pub partitioned: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: "sid".into(),
            secure: true,
            same_site: SameSite::Lax,
            path: "/".into(),
            partitioned: false,
        }
    }
}

impl CookieConfig {
    pub(super) fn validate(&self) -> Result<()> {
        if !is_http_token(&self.name) {
            return Err(Error::options(
                "session.cookie must be a cookie name: letters, digits and !#$%&'*+-.^_`|~ (RFC 6265 §4.1.1)",
            ));
        }
        if !self.path.starts_with('/')
            || self
                .path
                .bytes()
                .any(|b| b < 0x20 || b == 0x7f || b == b';')
        {
            return Err(Error::options(
                "session.path must start with / and contain no ';' or control characters",
            ));
        }
        if !self.secure {
            if self.same_site == SameSite::None {
                return Err(Error::options(
                    "session.sameSite \"None\" requires secure: true",
                ));
            }
            if self.partitioned {
                return Err(Error::options("session.partitioned requires secure: true"));
            }
            if self.name.starts_with("__Secure-") || self.name.starts_with("__Host-") {
                return Err(Error::options(
                    "a __Secure- or __Host- cookie name requires secure: true",
                ));
            }
        }
        if self.name.starts_with("__Host-") && self.path != "/" {
            return Err(Error::options("a __Host- cookie name requires path \"/\""));
        }
        Ok(())
    }

    /// The `Set-Cookie` value for `value` (which must pass [`is_cookie_value`]),
    /// with `Max-Age` when given (0 clears the cookie).
    pub(super) fn set_cookie(&self, value: &str, max_age: Option<u64>) -> String {
        let mut out = msg!(&self.name, "=", value, "; Path=", &self.path);
        if let Some(max_age) = max_age {
            out.push_str(&msg!("; Max-Age=", max_age));
        }
        out.push_str("; HttpOnly");
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; SameSite=");
        out.push_str(self.same_site.as_str());
        if self.partitioned {
            out.push_str("; Partitioned");
        }
        out
    }

    /// Whether `token` can be stored in this cookie: a valid cookie value
    /// that fits, with the name, in [`MAX_COOKIE_BYTES`]. `Err` says why not.
    pub(super) fn check_value(&self, token: &str) -> core::result::Result<(), &'static str> {
        if !is_cookie_value(token) {
            return Err(
                "the host issued an access token that is not a valid cookie value; use token mode",
            );
        }
        if self
            .name
            .len()
            .saturating_add(token.len())
            .saturating_add(1)
            > MAX_COOKIE_BYTES
        {
            return Err(
                "the access token is too large for a cookie (over 4096 bytes); use token mode",
            );
        }
        Ok(())
    }
}

/// RFC 9110 §5.6.2 `token` (also RFC 6265's cookie-name).
pub(super) fn is_http_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 §4.1.1 `cookie-octet`: no CTLs, whitespace, DQUOTE, comma,
/// semicolon or backslash; so a value cannot add attributes or cookies.
pub fn is_cookie_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e))
}

/// The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: pairs
/// separated by `; `, optional DQUOTEs around the value). The first match
/// wins (the most specific path comes first); invalid values are skipped.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        if key.trim() != name {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        is_cookie_value(value).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_and_the_cookie_header() {
        assert_eq!(cookie_value("a=1; sid=x.y; sid=z", "sid"), Some("x.y"));
        assert_eq!(cookie_value("sid=\"q.v\"", "sid"), Some("q.v"));
        assert_eq!(cookie_value("xsid=1; sidx=2", "sid"), None);
        assert_eq!(cookie_value("sid=; sid=ok", "sid"), Some("ok"));
        assert_eq!(cookie_value("sid=a b", "sid"), None);
        assert!(is_cookie_value(
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_"
        ));
        assert!(!is_cookie_value(""));
        let cookie = CookieConfig::default();
        for evil in [
            "EVIL; Domain=evil.example",
            "EVIL\r\nSet-Cookie: admin=1",
            "EVIL, other=1",
            "EV\"IL",
            "EVIL\\",
            "EVIL en",
            "EVIL-é",
        ] {
            assert!(cookie.check_value(evil).is_err(), "{evil:?}");
        }
        assert!(cookie.check_value(&"a".repeat(MAX_COOKIE_BYTES)).is_err());
        assert!(cookie
            .check_value(&"a".repeat(MAX_COOKIE_BYTES - 4))
            .is_ok());
    }

    #[test]
    fn cookie_config_validation() {
        let bad = [
            CookieConfig {
                name: "s id".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "sid;".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                path: "/a;Domain=x".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                path: "a".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                same_site: SameSite::None,
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                partitioned: true,
                ..CookieConfig::default()
            },
            CookieConfig {
                secure: false,
                name: "__Host-sid".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                name: "__Host-sid".into(),
                path: "/api".into(),
                ..CookieConfig::default()
            },
        ];
        for cookie in bad {
            assert!(cookie.validate().is_err(), "{cookie:?}");
        }
        let cookie = CookieConfig {
            name: "__Host-sid".into(),
            same_site: SameSite::None,
            partitioned: true,
            ..CookieConfig::default()
        };
        cookie.validate().unwrap();
        assert_eq!(
            cookie.set_cookie("v", Some(5)),
            "__Host-sid=v; Path=/; Max-Age=5; HttpOnly; Secure; SameSite=None; Partitioned"
        );
        assert_eq!(SameSite::parse("strict").unwrap(), SameSite::Strict);
        assert!(SameSite::parse("sometimes").is_err());
    }
}
