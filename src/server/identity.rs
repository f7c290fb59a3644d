//! Typed identity fields from verified claims.
//!
//! Sources: RFC 7519 §4.1.2 `sub`; OpenID Connect Core §5.1 standard claims
//! (`email`, `name`, `given_name`, `family_name`, `preferred_username`);
//! seed 002's access-token fields (`first_name`, `last_name`, `username`,
//! `email`); seed 004's Authentication Service user info (`id`, `name`,
//! `email`, `groups`).

use crate::json::{self, Object, Value};
use crate::prelude::*;

/// Who the user is, as far as the verified claims say. Every field is
/// optional: the host decides which claims it sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `sub` (RFC 7519 §4.1.2).
    pub sub: Option<String>,
    /// `id` (seed 004's user id).
    pub id: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `name` (full name).
    pub name: Option<String>,
    /// `first_name` (seed 002), else OIDC `given_name`.
    pub first_name: Option<String>,
    /// `last_name` (seed 002), else OIDC `family_name`.
    pub last_name: Option<String>,
    /// `username` (seed 002), else OIDC `preferred_username`.
    pub username: Option<String>,
    /// `groups` (seed 004): the string members of the array; other members are skipped.
    pub groups: Vec<String>,
}

impl Identity {
    /// Reads the identity fields from a claims object. Claims of the wrong
    /// type are ignored (`id` may also be a number, as some user stores use).
    pub fn from_claims(claims: &Object) -> Self {
        let text = |name: &str| claims.get_str(name).map(str::to_owned);
        let either = |primary: &str, fallback: &str| text(primary).or_else(|| text(fallback));
        let id = match claims.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => crate::json::safe_integer(*n).map(|i| i.to_string()),
            _ => None,
        };
        let groups = claims
            .get("groups")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            sub: text("sub"),
            id,
            email: text("email"),
            name: text("name"),
            first_name: either("first_name", "given_name"),
            last_name: either("last_name", "family_name"),
            username: either("username", "preferred_username"),
            groups,
        }
    }

    /// The identity as a JSON object with the members that are present
    /// (`groups` only when non-empty).
    pub fn to_json(&self) -> String {
        let mut object = Object::default();
        let fields = [
            ("sub", &self.sub),
            ("id", &self.id),
            ("email", &self.email),
            ("name", &self.name),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("username", &self.username),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                object.insert(name, Value::String(value.clone()));
            }
        }
        if !self.groups.is_empty() {
            let groups = self.groups.iter().cloned().map(Value::String).collect();
            object.insert("groups", Value::Array(groups));
        }
        Value::Object(object).to_json()
    }

    /// Parses a claims JSON text and reads the identity; `None` when the text
    /// is not a JSON object.
    pub fn from_claims_json(claims_json: &str) -> Option<Self> {
        match json::parse(claims_json) {
            Ok(Value::Object(claims)) => Some(Self::from_claims(&claims)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_002_access_token_claims() {
        let identity = Identity::from_claims_json(
            r#"{"sub":"u1","first_name":"Ada","last_name":"Lovelace","username":"ada@x.example","email":"ada@x.example"}"#,
        )
        .unwrap();
        assert_eq!(identity.sub.as_deref(), Some("u1"));
        assert_eq!(identity.first_name.as_deref(), Some("Ada"));
        assert_eq!(identity.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(identity.username.as_deref(), Some("ada@x.example"));
        assert_eq!(identity.email.as_deref(), Some("ada@x.example"));
        assert!(identity.groups.is_empty());
    }

    #[test]
    fn seed_004_user_info_and_oidc_fallbacks() {
        let identity = Identity::from_claims_json(
            r#"{"id":42,"name":"Grace","email":"g@x.example","groups":["admin",7,"dev"],
                "given_name":"Grace","family_name":"Hopper","preferred_username":"grace","first_name":5}"#,
        )
        .unwrap();
        assert_eq!(identity.id.as_deref(), Some("42"));
        assert_eq!(identity.name.as_deref(), Some("Grace"));
        assert_eq!(identity.groups, vec!["admin".to_owned(), "dev".to_owned()]);
        // first_name has the wrong type, so given_name is used.
        assert_eq!(identity.first_name.as_deref(), Some("Grace"));
        assert_eq!(identity.last_name.as_deref(), Some("Hopper"));
        assert_eq!(identity.username.as_deref(), Some("grace"));
        assert_eq!(identity.sub, None);
        assert_eq!(
            identity.to_json(),
            r#"{"id":"42","email":"g@x.example","name":"Grace","first_name":"Grace","last_name":"Hopper","username":"grace","groups":["admin","dev"]}"#
        );
        assert_eq!(Identity::from_claims_json("[]"), None);
        assert_eq!(Identity::default().to_json(), "{}");
    }
}
