//! Who the user is: one [`Identity`] for the browser client
//! (`getUserIdentity()`) and the backend helpers (the handoff handler's
//! `identity`, `identityFromClaims`).
//!
//! An identity is a claims object plus where it came from and whether
//! anyone checked it. The profile fields every host can be asked for are
//! read from the claims by one set of rules:
//! - `sub`: RFC 7519 §4.1.2;
//! - `email`, `name`: OpenID Connect Core §5.1;
//! - `first_name`, `last_name`, `username`: the console's access-token
//!   fields, else OIDC Core §5.1 `given_name`, `family_name`,
//!   `preferred_username`;
//! - `id` (an authentication service's user id): a string, or a number that
//!   is a safe integer (some user stores use numbers);
//! - `groups`: the string members of a `groups` array.
//!
//! A claim of the wrong type counts as absent (and lets its fallback
//! answer). What this module leaves to its callers: verifying the claims
//! (a token's signature, a session cookie) before calling them `verified`.

use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{b64, Error, Result};

/// Where identity claims come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentitySource {
    /// The extension backend, which verified the access token before
    /// answering the handoff (`identity` in its answer).
    Backend,
    /// An ID Token's payload (OpenID Connect Core §2).
    IdToken,
    /// A JWT access token's payload (RFC 9068).
    AccessToken,
    /// A userinfo endpoint, read with the session (OIDC Core §5.3, or the
    /// authentication service's `/userinfo`).
    UserInfo,
}

impl IdentitySource {
    /// The name JavaScript sees (`source`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Backend => "backend",
            Self::IdToken => "id_token",
            Self::AccessToken => "access_token",
            Self::UserInfo => "userinfo",
        }
    }
}

/// A user's identity claims.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    /// The claims object, as received.
    pub claims: Object,
    /// False when decoded from a token without checking its signature: do
    /// not authorise anything with such claims.
    pub verified: bool,
    /// Where the claims come from.
    pub source: IdentitySource,
}

/// The payload of a compact JWS (RFC 7515 §7.1), NOT verified: its JSON
/// text and its claims. `malformed` for anything but three base64url parts
/// with a JSON object payload, or more than `max_len` bytes.
pub fn decode_payload(jwt: &str, max_len: usize) -> Result<(String, Object)> {
    if jwt.len() > max_len {
        return Err(Error::malformed("the token is too long to decode"));
    }
    let mut parts = jwt.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(
            "the token is not a compact JWS (three base64url parts separated by dots)",
        ));
    };
    let bytes = b64::decode(payload)
        .ok_or_else(|| Error::malformed("the token payload is not base64url without padding"))?;
    match (json::parse_bytes(&bytes), json::utf8(&bytes)) {
        (Ok(Value::Object(claims)), Ok(text)) => Ok((text, claims)),
        _ => Err(Error::malformed("the token payload is not a JSON object")),
    }
}

impl Identity {
    /// An identity from its claims.
    pub fn new(claims: Object, source: IdentitySource, verified: bool) -> Self {
        Self {
            claims,
            verified,
            source,
        }
    }

    /// Parses a claims JSON text; `None` when it is not a JSON object.
    pub fn from_claims_json(
        claims_json: &str,
        source: IdentitySource,
        verified: bool,
    ) -> Option<Self> {
        match json::parse(claims_json) {
            Ok(Value::Object(claims)) => Some(Self::new(claims, source, verified)),
            _ => None,
        }
    }

    /// The payload of a compact JWS (RFC 7515 §7.1), NOT verified
    /// (`verified: false`). `malformed` for anything but three base64url
    /// parts with a JSON object payload, or more than `max_len` bytes.
    pub fn decode_unverified(jwt: &str, source: IdentitySource, max_len: usize) -> Result<Self> {
        let (_, claims) = decode_payload(jwt, max_len)?;
        Ok(Self::new(claims, source, false))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.claims.get_str(name)
    }

    fn either(&self, primary: &str, fallback: &str) -> Option<&str> {
        self.text(primary).or_else(|| self.text(fallback))
    }

    /// `sub`.
    pub fn sub(&self) -> Option<&str> {
        self.text("sub")
    }

    /// `id`: a string, or a safe-integer number written in decimal.
    pub fn id(&self) -> Option<String> {
        match self.claims.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => json::safe_integer(*n).map(|i| msg!(i)),
            _ => None,
        }
    }

    /// `email`.
    pub fn email(&self) -> Option<&str> {
        self.text("email")
    }

    /// `name` (full name).
    pub fn name(&self) -> Option<&str> {
        self.text("name")
    }

    /// `first_name`, else `given_name`.
    pub fn first_name(&self) -> Option<&str> {
        self.either("first_name", "given_name")
    }

    /// `last_name`, else `family_name`.
    pub fn last_name(&self) -> Option<&str> {
        self.either("last_name", "family_name")
    }

    /// `username`, else `preferred_username`.
    pub fn username(&self) -> Option<&str> {
        self.either("username", "preferred_username")
    }

    /// The string members of `groups`.
    pub fn groups(&self) -> Vec<&str> {
        self.claims
            .get("groups")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The profile fields that are present, as a JSON object with the
    /// claim names `sub`, `id`, `email`, `name`, `first_name`, `last_name`,
    /// `username`, `groups` (only when non-empty).
    pub fn profile_json(&self) -> String {
        let mut object = Object::default();
        let id = self.id();
        let fields = [
            ("sub", self.sub()),
            ("id", id.as_deref()),
            ("email", self.email()),
            ("name", self.name()),
            ("first_name", self.first_name()),
            ("last_name", self.last_name()),
            ("username", self.username()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                object.insert(name, Value::String(value.to_owned()));
            }
        }
        let groups = self.groups();
        if !groups.is_empty() {
            let groups = groups
                .into_iter()
                .map(|g| Value::String(g.to_owned()))
                .collect();
            object.insert("groups", Value::Array(groups));
        }
        Value::Object(object).to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(claims: &str) -> Identity {
        Identity::from_claims_json(claims, IdentitySource::AccessToken, true).unwrap()
    }

    #[test]
    fn console_access_token_claims() {
        let i = identity(
            r#"{"sub":"u1","first_name":"Ada","last_name":"Lovelace","username":"ada@x.example","email":"ada@x.example"}"#,
        );
        assert_eq!(i.sub(), Some("u1"));
        assert_eq!(i.first_name(), Some("Ada"));
        assert_eq!(i.last_name(), Some("Lovelace"));
        assert_eq!(i.username(), Some("ada@x.example"));
        assert_eq!(i.email(), Some("ada@x.example"));
        assert!(i.groups().is_empty());
        assert!(i.verified);
    }

    #[test]
    fn user_info_and_oidc_fallbacks() {
        let i = identity(
            r#"{"id":42,"name":"Grace","email":"g@x.example","groups":["admin",7,"dev"],
                "given_name":"Grace","family_name":"Hopper","preferred_username":"grace","first_name":5}"#,
        );
        assert_eq!(i.id().as_deref(), Some("42"));
        assert_eq!(i.groups(), vec!["admin", "dev"]);
        // first_name has the wrong type, so given_name answers.
        assert_eq!(i.first_name(), Some("Grace"));
        assert_eq!(i.sub(), None);
        assert_eq!(
            i.profile_json(),
            r#"{"id":"42","email":"g@x.example","name":"Grace","first_name":"Grace","last_name":"Hopper","username":"grace","groups":["admin","dev"]}"#
        );
        assert_eq!(identity(r#"{"id":1.5}"#).id(), None);
        assert_eq!(identity("{}").profile_json(), "{}");
        assert_eq!(
            Identity::from_claims_json("[]", IdentitySource::Backend, true),
            None
        );
        assert_eq!(IdentitySource::UserInfo.as_str(), "userinfo");
    }

    #[test]
    fn jwt_payloads_are_unverified() {
        let payload = b64::encode(br#"{"sub":"u1","email":"a@b"}"#);
        let i = Identity::decode_unverified(
            &format!("eyJhbGciOiJub25lIn0.{payload}.sig"),
            IdentitySource::IdToken,
            1024,
        )
        .unwrap();
        assert!(!i.verified);
        assert_eq!(i.source, IdentitySource::IdToken);
        assert_eq!(i.sub(), Some("u1"));
        let array = b64::encode(b"[1]");
        for bad in ["a.b", "a.!!.c", "a.b.c.d", &format!("x.{array}.y")] {
            let err =
                Identity::decode_unverified(bad, IdentitySource::AccessToken, 1024).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::Malformed, "{bad}");
        }
        assert!(
            Identity::decode_unverified(&"a".repeat(1025), IdentitySource::AccessToken, 1024)
                .is_err()
        );
    }
}
