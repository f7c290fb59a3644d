//! The checks of an OpenID Connect ID Token that a JWT verifier does not
//! make (OpenID Connect Core 1.0 §3.1.3.7).
//!
//! Before these, the caller has a JWT verifier (`JwksVerifier`, for the
//! issuer's JWK Set, with `issuer` the configured issuer and `audience` the
//! client id) check: step 6, the signature with an allowed asymmetric
//! algorithm (never `none` or HMAC); step 2, `iss` equal to the issuer;
//! step 3, `aud` containing the client id; step 9, `exp`; step 10, `iat` not
//! in the future. Decided here, on the verified claims:
//! 1. `sub` and `iat` are present (§2: both REQUIRED);
//! 2. step 4: an ID Token with several audiences has an `azp`; step 5: an
//!    `azp` is the client id;
//! 3. step 11: when the authorization request sent a `nonce`, the token
//!    carries that same value (else it may be replayed or injected); when
//!    the caller says none was sent, the token carries none (one that does
//!    was asked for with a nonce the caller forgot to pass: refused, so the
//!    check cannot be switched off by omission, as oauth4webapi's default
//!    `expectNoNonce`); after a refresh it is not checked (§12.2: the new
//!    ID Token SHOULD NOT have one, and the caller has no nonce to give);
//! 4. §3.1.3.8 / §3.2.2.9: an `at_hash` is the base64url of the left half of
//!    the hash of the access token, with the hash of the header's `alg`
//!    (SHA-256 for `*256`, SHA-384, SHA-512; SHA-512 for `EdDSA` with
//!    Ed25519, as openid-client does): [`at_hash_digest`] says which hash,
//!    [`check_at_hash`] compares.
//!
//! Left to the caller: the verification above; the hash itself (the npm
//! entry has the runtime's crypto make it, as it makes every signature);
//! and `auth_time`, `acr` and `max_age` (this package never requests them).

use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{b64, Error, ErrorCode, Result};

/// What an ID Token is checked against.
#[derive(Clone, Copy, Debug)]
pub struct IdTokenRules<'a> {
    /// The client id (`aud`, `azp`).
    pub client_id: &'a str,
    /// What its `nonce` must be.
    pub nonce: NonceCheck<'a>,
}

/// What an ID Token's `nonce` must be (OpenID Connect Core §3.1.3.7 step
/// 11, §12.2). `Debug` does not print the nonce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck<'a> {
    /// The authorization request sent this nonce: the token must carry it.
    Sent(&'a str),
    /// The authorization request sent none: the token must carry none.
    NoneSent,
    /// A refresh: not checked.
    Refresh,
}

impl core::fmt::Debug for NonceCheck<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Sent(_) => "Sent([redacted])",
            Self::NoneSent => "NoneSent",
            Self::Refresh => "Refresh",
        })
    }
}

fn missing(message: &str) -> Error {
    Error::new(ErrorCode::MissingClaim, message)
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorCode::InvalidClaim, message)
}

/// Checks the verified `claims` by `rules` (see the module docs; `at_hash`
/// apart): `missing_claim` or `invalid_claim`, whose messages never contain
/// the token, the nonce or the access token.
pub fn check_id_token(claims: &Object, rules: &IdTokenRules<'_>) -> Result<()> {
    if !matches!(claims.get_str("sub"), Some(sub) if !sub.is_empty()) {
        return Err(missing(
            "the ID Token has no sub (OpenID Connect Core §2 requires it)",
        ));
    }
    if !matches!(claims.get("iat"), Some(Value::Number(_))) {
        return Err(missing(
            "the ID Token has no iat (OpenID Connect Core §2 requires it)",
        ));
    }
    let audiences = match claims.get("aud") {
        Some(Value::Array(list)) => list.len(),
        _ => 1,
    };
    match claims.get("azp") {
        None if audiences > 1 => return Err(missing(
            "the ID Token has several audiences and no azp (OpenID Connect Core §3.1.3.7 step 4)",
        )),
        None => {}
        Some(azp) if azp.as_str() == Some(rules.client_id) => {}
        Some(_) => {
            return Err(invalid(
                "the ID Token's azp is not this client's id (OpenID Connect Core §3.1.3.7 step 5)",
            ))
        }
    }
    match (rules.nonce, claims.get("nonce")) {
        (NonceCheck::Sent(_), None) => Err(missing(
            "the ID Token has no nonce, but the authorization request sent one (OpenID Connect Core §3.1.3.7 step 11)",
        )),
        (NonceCheck::Sent(nonce), Some(sent)) if sent.as_str() != Some(nonce) => Err(invalid(
            "the ID Token's nonce is not the one the authorization request sent: it may be replayed or injected (OpenID Connect Core §3.1.3.7 step 11)",
        )),
        (NonceCheck::NoneSent, Some(_)) => Err(invalid(
            "the ID Token carries a nonce, so the authorization request sent one: pass nonce (the one it sent) to have it checked (OpenID Connect Core §3.1.3.7 step 11)",
        )),
        _ => Ok(()),
    }
}

/// The hash an `at_hash` is made with (OpenID Connect Core §3.1.3.8): the
/// WebCrypto name of the hash of the ID Token's `alg`, read from its
/// protected header; `None` when the token has no `at_hash` to check.
pub fn at_hash_digest(id_token: &str, claims: &Object) -> Result<Option<&'static str>> {
    if claims.get("at_hash").is_none() {
        return Ok(None);
    }
    let alg = header_alg(id_token)?;
    if alg == "EdDSA" || alg.ends_with("512") {
        Ok(Some("SHA-512"))
    } else if alg.ends_with("384") {
        Ok(Some("SHA-384"))
    } else if alg.ends_with("256") {
        Ok(Some("SHA-256"))
    } else {
        Err(invalid(
            "the ID Token's alg has no hash for at_hash (OpenID Connect Core §3.1.3.8)",
        ))
    }
}

/// `at_hash` against `digest`, the hash [`at_hash_digest`] named of the
/// ASCII access token: it must be the base64url of its left half.
pub fn check_at_hash(claims: &Object, digest: &[u8]) -> Result<()> {
    let expected = b64::encode(digest.get(..digest.len() / 2).unwrap_or_default());
    if digest.is_empty() || claims.get_str("at_hash") != Some(expected.as_str()) {
        return Err(invalid(
            "the ID Token's at_hash does not match the access token issued with it (OpenID Connect Core §3.1.3.8)",
        ));
    }
    Ok(())
}

/// The `alg` of a compact JWS's protected header (the verifier accepted it).
fn header_alg(token: &str) -> Result<String> {
    let header = token
        .split('.')
        .next()
        .and_then(b64::decode)
        .and_then(|bytes| json::parse_bytes(&bytes).ok());
    match header {
        Some(Value::Object(header)) => header
            .get_str("alg")
            .map(str::to_owned)
            .ok_or_else(|| Error::malformed("the ID Token's header has no alg")),
        _ => Err(Error::malformed(
            "the ID Token's header is not a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "client-1";

    fn claims(json: &str) -> Object {
        match json::parse(json).unwrap() {
            Value::Object(o) => o,
            other => panic!("{other:?}"),
        }
    }

    fn token(alg: &str) -> String {
        format!(
            "{}.e30.sig",
            b64::encode(format!(r#"{{"alg":"{alg}","kid":"k"}}"#).as_bytes())
        )
    }

    fn check(json: &str, nonce: Option<&str>) -> Result<()> {
        let rules = IdTokenRules {
            client_id: CLIENT,
            nonce: nonce.map_or(NonceCheck::NoneSent, NonceCheck::Sent),
        };
        check_id_token(&claims(json), &rules)
    }

    /// The hash of `value` by its WebCrypto name (what the runtime makes).
    fn hash(name: &str, value: &str) -> Vec<u8> {
        use sha2::{Digest, Sha256, Sha384, Sha512};
        match name {
            "SHA-256" => Sha256::digest(value).to_vec(),
            "SHA-384" => Sha384::digest(value).to_vec(),
            _ => Sha512::digest(value).to_vec(),
        }
    }

    /// Worked examples: PingIdentity's developer guide (RS256) and the
    /// `oidc-token-hash` package's README (SHA-256, -384, -512).
    #[test]
    fn at_hash_vectors() {
        let cases = [
            (
                "RS256",
                "dNZX1hEZ9wBCzNL40Upu646bdzQA",
                "wfgvmE9VxjAudsl9lc6TqA",
            ),
            ("ES256", LONG, "x7vk7f6BvQj0jQHYFIk4ag"),
            ("PS384", LONG, "ups_76_7CCye_J1WIyGHKVG7AAs2olYm"),
            ("RS512", LONG, "EGEAhGYyfuwDaVTifvrWSoD5MSy_5hZPy6I7Vm-7pTQ"),
            ("EdDSA", LONG, "EGEAhGYyfuwDaVTifvrWSoD5MSy_5hZPy6I7Vm-7pTQ"),
        ];
        for (alg, access_token, at_hash) in cases {
            let claims = claims(&format!(r#"{{"at_hash":"{at_hash}"}}"#));
            let name = at_hash_digest(&token(alg), &claims).unwrap().unwrap();
            check_at_hash(&claims, &hash(name, access_token)).unwrap();
            let err = check_at_hash(&claims, &hash(name, "another-token")).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidClaim);
            assert!(!err.message().contains("another-token"));
        }
        assert_eq!(
            at_hash_digest(&token("RS256"), &claims("{}")).unwrap(),
            None
        );
        let with = claims(r#"{"at_hash":"x"}"#);
        assert!(at_hash_digest(&token("HS256x"), &with).is_err());
        assert!(at_hash_digest("not-a-jws", &with).is_err());
        assert!(check_at_hash(&with, &[]).is_err());
    }

    const LONG: &str = "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm283aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw";

    #[test]
    fn nonce_sub_iat_and_azp() {
        let ok = r#"{"sub":"u","iat":1,"aud":"client-1","nonce":"n-0S6_WzA2Mj"}"#;
        check(ok, Some("n-0S6_WzA2Mj")).unwrap();
        // None sent (the caller did not pass it): a token that carries one is
        // refused, so a forgotten nonce cannot switch the check off (as
        // oauth4webapi's default expectNoNonce); a token without one passes.
        for carrying in [
            ok,
            r#"{"sub":"u","iat":1,"nonce":null}"#,
            r#"{"sub":"u","iat":1,"nonce":""}"#,
        ] {
            let err = check(carrying, None).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidClaim, "{carrying}");
            assert!(err.message().contains("pass nonce"), "{err}");
            assert!(!err.message().contains("n-0S6"));
        }
        check(r#"{"sub":"u","iat":1}"#, None).unwrap();
        // After a refresh: not checked.
        let refreshed = IdTokenRules {
            client_id: CLIENT,
            nonce: NonceCheck::Refresh,
        };
        check_id_token(&claims(ok), &refreshed).unwrap();
        assert!(!format!("{:?}", NonceCheck::Sent("n-0S6")).contains("n-0S6"));
        let err = check(ok, Some("another")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClaim);
        assert!(!err.message().contains("n-0S6"));
        let err = check(r#"{"sub":"u","iat":1}"#, Some("n")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingClaim);
        assert_eq!(
            check(r#"{"iat":1}"#, None).unwrap_err().code(),
            ErrorCode::MissingClaim
        );
        assert_eq!(
            check(r#"{"sub":"u"}"#, None).unwrap_err().code(),
            ErrorCode::MissingClaim
        );
        let several = r#"{"sub":"u","iat":1,"aud":["client-1","api"]}"#;
        assert_eq!(
            check(several, None).unwrap_err().code(),
            ErrorCode::MissingClaim
        );
        check(
            r#"{"sub":"u","iat":1,"aud":["client-1","api"],"azp":"client-1"}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            check(r#"{"sub":"u","iat":1,"azp":"other"}"#, None)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidClaim
        );
    }
}
