//! Seed 001's service-client token minter (see [`ServiceClientTokenProvider`]).

use crate::prelude::*;

use crate::protocol::url::UrlRule;
use core::fmt;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use jwt_compact::alg::{Ed25519, Es256};
use jwt_compact::{AlgorithmExt, Claims, Header};
use p256::elliptic_curve::zeroize::Zeroize;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::http::encode_uri_component;
use crate::json::{self, Object, Value};
use crate::{Error, ErrorCode, Result};

/// Lifetime of a minted token, in seconds.
pub const TOKEN_LIFETIME_SEC: u64 = 300;

/// A cached token is replaced when it has less than this many seconds left.
pub const REFRESH_BEFORE_EXPIRY_SEC: u64 = 60;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7): the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

enum SigningKey {
    Ed25519(ed25519_dalek::SigningKey),
    Es256(p256::ecdsa::SigningKey),
}

struct CachedToken {
    token: String,
    issued_at: u64,
    expires_at: u64,
}

/// Mints and caches service-client tokens (seed 001's `ServiceClientTokenProvider`):
/// short-lived JWTs (RFC 7519) signed with the service client's private key,
/// for `Authorization: Bearer` calls to the platform's API.
///
/// # Accepted access keys
/// 1. **Authress format** (what Authress hands out for a service client):
///    `{clientId}.{keyId}.{accountId}.{privateKey}` where `privateKey` is the
///    base64 (standard alphabet) of a PKCS#8 v1 Ed25519 private key (RFC 8410
///    §7, 48 bytes, starting `MC4CAQAwBQYDK2VwBCIEI`). Signs with `EdDSA`; the
///    default audience is `{accountId}.accounts.authress.io`, as Authress's own SDK uses.
/// 2. **JSON format**, raw or base64url-encoded:
///    `{"clientId": "…", "keyId"?: "…", "audience"?: "…", "privateKey": JWK}`
///    where the JWK (RFC 7517) is an Ed25519 key (`{"kty":"OKP","crv":"Ed25519","d":…,"x"?:…}`,
///    RFC 8037, signs `EdDSA`) or a P-256 key (`{"kty":"EC","crv":"P-256","d":…,"x"?:…,"y"?:…}`,
///    RFC 7518 §6.2, signs `ES256`). Public members, when present, must match `d`;
///    `alg`, `use` and `key_ops`, when present, must allow signing with that algorithm.
///    The `kid` is `keyId`, else the JWK's `kid`, else its RFC 7638 thumbprint.
///    The default audience is the issuer URL.
///
/// # Minted tokens
/// Header `{"alg", "kid", "typ":"JWT"}`; claims
/// `iss = {issuerUrl}/v1/clients/{encodeURIComponent(clientId)}`, `sub = clientId`,
/// `aud`, `iat = now`, `exp = now + 300`. No `jti`: a token is reused while
/// cached, so it is not a replay nonce. Lifetime is [`TOKEN_LIFETIME_SEC`] (5 min,
/// shorter than Authress's 24 h so a leaked token is short-lived); a cached
/// token is reused until [`REFRESH_BEFORE_EXPIRY_SEC`] before it expires.
///
/// Signing uses jwt-compact 0.8 (`Ed25519`, `Es256`) over ed25519-dalek and p256.
/// Key material never appears in `Debug` output or error messages, and the
/// decoded private-key buffers are zeroized after use.
pub struct ServiceClientTokenProvider {
    client_id: String,
    key_id: String,
    issuer: String,
    audience: String,
    key: SigningKey,
    cached: Option<CachedToken>,
}

impl fmt::Debug for ServiceClientTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClientTokenProvider")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("private_key", &"[redacted]")
            .field("cached_token", &self.cached.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Serialize)]
struct ServiceClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

fn invalid_key(message: &str) -> Error {
    Error::new(ErrorCode::InvalidKey, message)
}

impl ServiceClientTokenProvider {
    /// Parses `access_key` (see the module docs for the formats) and checks
    /// `issuer_url` (absolute https, or http on loopback). Malformed keys fail
    /// with `invalid_key`, a bad URL with `invalid_options`.
    pub fn new(access_key: &str, issuer_url: &str) -> Result<Self> {
        let issuer_base = UrlRule::STRICT.base_url("issuerUrl", issuer_url)?;
        let access_key = access_key.trim();
        let parsed = if access_key.starts_with('{') {
            parse_json_key(access_key.as_bytes())?
        } else if access_key.split('.').count() == 4 {
            parse_authress_key(access_key)?
        } else {
            let mut decoded = Base64UrlUnpadded::decode_vec(access_key.trim_end_matches('='))
                .map_err(|_| invalid_key(UNSUPPORTED_FORMAT))?;
            let parsed = parse_json_key(&decoded);
            decoded.zeroize();
            parsed?
        };
        if parsed.client_id.is_empty() {
            return Err(invalid_key("the access key has an empty clientId"));
        }
        let issuer = format!(
            "{issuer_base}/v1/clients/{}",
            encode_uri_component(&parsed.client_id)
        );
        let audience = parsed.audience.unwrap_or(issuer_base);
        Ok(Self {
            client_id: parsed.client_id,
            key_id: parsed.key_id,
            issuer,
            audience,
            key: parsed.key,
            cached: None,
        })
    }

    /// Replaces the `aud` claim (and drops any cached token).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Result<Self> {
        let audience = audience.into();
        if audience.is_empty() {
            return Err(Error::options("audience must not be empty"));
        }
        self.audience = audience;
        self.cached = None;
        Ok(self)
    }

    /// A token valid at `now_sec` (seconds since the epoch): the cached one
    /// while it has more than [`REFRESH_BEFORE_EXPIRY_SEC`] left, else a new one.
    pub fn get_token(&mut self, now_sec: u64) -> Result<String> {
        if let Some(cached) = &self.cached {
            let fresh = now_sec >= cached.issued_at
                && now_sec.saturating_add(REFRESH_BEFORE_EXPIRY_SEC) < cached.expires_at;
            if fresh {
                return Ok(cached.token.clone());
            }
        }
        let expires_at = now_sec.saturating_add(TOKEN_LIFETIME_SEC);
        let claims = Claims::new(ServiceClaims {
            iss: &self.issuer,
            sub: &self.client_id,
            aud: &self.audience,
            iat: now_sec,
            exp: expires_at,
        });
        let header = Header::empty()
            .with_key_id(self.key_id.clone())
            .with_token_type("JWT");
        let token = match &self.key {
            SigningKey::Ed25519(key) => Ed25519.token(&header, &claims, key),
            SigningKey::Es256(key) => Es256.token(&header, &claims, key),
        }
        .map_err(|_| invalid_key("could not sign the service client token"))?;
        self.cached = Some(CachedToken {
            token: token.clone(),
            issued_at: now_sec,
            expires_at,
        });
        Ok(token)
    }

    /// The `exp` of the cached token, if any.
    pub fn cached_expires_at(&self) -> Option<u64> {
        self.cached.as_ref().map(|c| c.expires_at)
    }

    /// The client id (`sub`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The `kid` put in the token header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` claim.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// `EdDSA` or `ES256` (RFC 8037 §3.1, RFC 7518 §3.4).
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            SigningKey::Ed25519(_) => "EdDSA",
            SigningKey::Es256(_) => "ES256",
        }
    }

    /// The public key as a JWK (RFC 7517 §4) with `kid`, `alg` and `use: "sig"`,
    /// for registering the key or verifying minted tokens.
    pub fn public_jwk(&self) -> String {
        let mut jwk = Object::default();
        for (name, value) in public_members(&self.key) {
            jwk.insert(name, Value::String(value));
        }
        jwk.insert("kid", Value::String(self.key_id.clone()));
        jwk.insert("alg", Value::String(self.algorithm().into()));
        jwk.insert("use", Value::String("sig".into()));
        Value::Object(jwk).to_json()
    }

    /// `{"keys":[public_jwk]}` (RFC 7517 §5).
    pub fn public_jwks(&self) -> String {
        format!("{{\"keys\":[{}]}}", self.public_jwk())
    }
}

const UNSUPPORTED_FORMAT: &str = "the access key is not in a supported format: expected \
     clientId.keyId.accountId.base64-PKCS#8-Ed25519 (Authress) or JSON \
     {clientId, keyId?, privateKey: JWK with d}, raw or base64url";

struct ParsedKey {
    client_id: String,
    key_id: String,
    audience: Option<String>,
    key: SigningKey,
}

fn parse_authress_key(access_key: &str) -> Result<ParsedKey> {
    let mut parts = access_key.split('.');
    let (Some(client_id), Some(key_id), Some(account_id), Some(private_key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_key(UNSUPPORTED_FORMAT));
    };
    if key_id.is_empty() || account_id.is_empty() {
        return Err(invalid_key(
            "the access key has an empty keyId or accountId (expected clientId.keyId.accountId.privateKey)",
        ));
    }
    let mut der = [0u8; 64];
    let decoded_len = match Base64::decode(private_key, &mut der).map(<[u8]>::len) {
        Ok(len) => Ok(len),
        Err(_) => Base64::decode(pad_base64(private_key).as_str(), &mut der).map(<[u8]>::len),
    };
    let seed = match decoded_len {
        Ok(48) => der
            .get(..16)
            .filter(|prefix| *prefix == ED25519_PKCS8_PREFIX)
            .and_then(|_| der.get(16..48))
            .and_then(|seed| <[u8; 32]>::try_from(seed).ok()),
        _ => None,
    };
    der.zeroize();
    let Some(mut seed) = seed else {
        return Err(invalid_key(
            "the access key's private key is not a base64 PKCS#8 Ed25519 key (RFC 8410 §7)",
        ));
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    seed.zeroize();
    Ok(ParsedKey {
        client_id: client_id.to_owned(),
        key_id: key_id.to_owned(),
        audience: Some(format!("{account_id}.accounts.authress.io")),
        key: SigningKey::Ed25519(key),
    })
}

fn pad_base64(value: &str) -> String {
    let mut padded = value.to_owned();
    while padded.len() % 4 != 0 {
        padded.push('=');
    }
    padded
}

fn parse_json_key(text: &[u8]) -> Result<ParsedKey> {
    let Ok(Value::Object(document)) = json::parse_bytes(text) else {
        return Err(invalid_key(UNSUPPORTED_FORMAT));
    };
    let text_member = |name: &str| -> Result<Option<String>> {
        match document.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid_key(&format!(
                "the access key member \"{name}\" must be a string"
            ))),
        }
    };
    let client_id =
        text_member("clientId")?.ok_or_else(|| invalid_key("the access key has no clientId"))?;
    let key_id = text_member("keyId")?;
    let audience = text_member("audience")?.filter(|a| !a.is_empty());
    let jwk = document
        .get("privateKey")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_key("the access key has no privateKey JWK object"))?;
    let key = parse_private_jwk(jwk)?;
    let jwk_kid = jwk.get_str("kid").map(str::to_owned);
    let key_id = match (key_id, jwk_kid) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid_key(
                "the access key's keyId and the JWK's kid differ",
            ))
        }
        (Some(kid), _) | (None, Some(kid)) if !kid.is_empty() => kid,
        _ => thumbprint(&key),
    };
    Ok(ParsedKey {
        client_id,
        key_id,
        audience,
        key,
    })
}

fn parse_private_jwk(jwk: &Object) -> Result<SigningKey> {
    let (kty, crv) = (jwk.get_str("kty"), jwk.get_str("crv"));
    let (expected_alg, is_ed25519) = match (kty, crv) {
        (Some("OKP"), Some("Ed25519")) => ("EdDSA", true),
        (Some("EC"), Some("P-256")) => ("ES256", false),
        _ => {
            return Err(invalid_key(
                "the private key JWK must be kty OKP / crv Ed25519 or kty EC / crv P-256",
            ))
        }
    };
    if jwk
        .get("alg")
        .is_some_and(|alg| alg.as_str() != Some(expected_alg))
    {
        return Err(invalid_key(&format!(
            "the private key JWK's alg must be {expected_alg} for this key type"
        )));
    }
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err(invalid_key("the private key JWK's use must be \"sig\""));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let signs = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("sign")));
        if !signs {
            return Err(invalid_key(
                "the private key JWK's key_ops must include \"sign\"",
            ));
        }
    }
    let mut d = [0u8; 32];
    let decoded = jwk
        .get_str("d")
        .map(|text| Base64UrlUnpadded::decode(text, &mut d).map(<[u8]>::len));
    let key = match decoded {
        Some(Ok(32)) => {
            if is_ed25519 {
                Ok(SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(
                    &d,
                )))
            } else {
                p256::ecdsa::SigningKey::from_slice(&d)
                    .map(SigningKey::Es256)
                    .map_err(|_| invalid_key("the private key JWK's d is not a valid P-256 scalar"))
            }
        }
        _ => Err(invalid_key(
            "the private key JWK needs d: 32 bytes of base64url without padding",
        )),
    };
    d.zeroize();
    let key = key?;
    for (name, value) in public_members(&key) {
        if let Some(given) = jwk.get(name) {
            if given.as_str() != Some(value.as_str()) {
                return Err(invalid_key(&format!(
                    "the private key JWK's {name} does not match its d"
                )));
            }
        }
    }
    Ok(key)
}

/// The public JWK members of `key`, in RFC 7638 §3.2 lexicographic order
/// (`kty` and `crv` first for convenience; the thumbprint orders them itself).
fn public_members(key: &SigningKey) -> Vec<(&'static str, String)> {
    match key {
        SigningKey::Ed25519(key) => vec![
            ("kty", "OKP".into()),
            ("crv", "Ed25519".into()),
            (
                "x",
                Base64UrlUnpadded::encode_string(key.verifying_key().as_bytes()),
            ),
        ],
        SigningKey::Es256(key) => {
            let point = key.verifying_key().to_encoded_point(false);
            let coordinate = |c: Option<&p256::FieldBytes>| {
                c.map(|bytes| Base64UrlUnpadded::encode_string(bytes))
                    .unwrap_or_default()
            };
            vec![
                ("kty", "EC".into()),
                ("crv", "P-256".into()),
                ("x", coordinate(point.x())),
                ("y", coordinate(point.y())),
            ]
        }
    }
}

/// RFC 7638 §3 JWK thumbprint (SHA-256, base64url): the required public
/// members in lexicographic order, no whitespace (RFC 8037 §2 for OKP).
fn thumbprint(key: &SigningKey) -> String {
    let mut members = public_members(key);
    // Lexicographic order: "crv" < "kty" < "x" < "y", and public_members
    // lists kty, crv first (a swap instead of a sort routine in the wasm).
    members.swap(0, 1);
    debug_assert!(members.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
    let mut canonical = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        json::write_string(&mut canonical, name);
        canonical.push(':');
        json::write_string(&mut canonical, value);
    }
    canonical.push('}');
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier as _;

    /// RFC 8037 Appendix A.1 / A.3.
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
    /// RFC 7515 Appendix A.3.
    const RFC7515_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
    const RFC7515_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const RFC7515_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    const ISSUER: &str = "https://login.platform.example/";

    fn authress_key() -> String {
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend(Base64UrlUnpadded::decode_vec(RFC8037_D).unwrap());
        format!("sc_ext 1.kid-1.acc9.{}", Base64::encode_string(&der))
    }

    fn split(token: &str) -> (Object, Object, Vec<u8>, String) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let decode_object =
            |part: &str| match json::parse_bytes(&Base64UrlUnpadded::decode_vec(part).unwrap())
                .unwrap()
            {
                Value::Object(o) => o,
                other => panic!("{other:?}"),
            };
        (
            decode_object(parts[0]),
            decode_object(parts[1]),
            Base64UrlUnpadded::decode_vec(parts[2]).unwrap(),
            format!("{}.{}", parts[0], parts[1]),
        )
    }

    fn jwk_member(jwk: &str, name: &str) -> String {
        let Value::Object(o) = json::parse(jwk).unwrap() else {
            panic!()
        };
        o.get_str(name).unwrap().to_owned()
    }

    #[test]
    fn authress_key_mints_a_verifiable_eddsa_token() {
        let mut provider = ServiceClientTokenProvider::new(&authress_key(), ISSUER).unwrap();
        assert_eq!(provider.algorithm(), "EdDSA");
        assert_eq!(provider.client_id(), "sc_ext 1");
        assert_eq!(provider.key_id(), "kid-1");
        assert_eq!(
            provider.issuer(),
            "https://login.platform.example/v1/clients/sc_ext%201"
        );
        assert_eq!(provider.audience(), "acc9.accounts.authress.io");
        assert_eq!(jwk_member(&provider.public_jwk(), "x"), RFC8037_X);

        let token = provider.get_token(1_700_000_000).unwrap();
        let (header, claims, signature, signing_input) = split(&token);
        assert_eq!(header.get_str("alg"), Some("EdDSA"));
        assert_eq!(header.get_str("kid"), Some("kid-1"));
        assert_eq!(header.get_str("typ"), Some("JWT"));
        assert_eq!(claims.get_str("iss"), Some(provider.issuer()));
        assert_eq!(claims.get_str("sub"), Some("sc_ext 1"));
        assert_eq!(claims.get_str("aud"), Some("acc9.accounts.authress.io"));
        assert_eq!(
            claims.get("iat").and_then(Value::as_f64),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            claims.get("exp").and_then(Value::as_f64),
            Some(1_700_000_300.0)
        );
        assert_eq!(claims.len(), 5);

        let x: [u8; 32] = Base64UrlUnpadded::decode_vec(RFC8037_X)
            .unwrap()
            .try_into()
            .unwrap();
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        assert!(verifying
            .verify(signing_input.as_bytes(), &signature)
            .is_ok());
        assert!(verifying.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn json_p256_key_mints_a_verifiable_es256_token() {
        let access_key = format!(
            r#"{{"clientId":"svc","privateKey":{{"kty":"EC","crv":"P-256","d":"{RFC7515_D}","x":"{RFC7515_X}","y":"{RFC7515_Y}","kid":"k-ec","alg":"ES256"}}}}"#
        );
        // Raw JSON and its base64url form are both accepted.
        for key in [
            access_key.clone(),
            Base64UrlUnpadded::encode_string(access_key.as_bytes()),
        ] {
            let mut provider =
                ServiceClientTokenProvider::new(&key, "https://platform.example").unwrap();
            assert_eq!(provider.algorithm(), "ES256");
            assert_eq!(provider.key_id(), "k-ec");
            assert_eq!(provider.audience(), "https://platform.example");
            assert_eq!(provider.issuer(), "https://platform.example/v1/clients/svc");
            let jwk = provider.public_jwk();
            assert_eq!(jwk_member(&jwk, "y"), RFC7515_Y);
            assert!(!jwk.contains(RFC7515_D));
            assert!(provider
                .public_jwks()
                .starts_with(r#"{"keys":[{"kty":"EC""#));

            let token = provider.get_token(10).unwrap();
            let (header, claims, signature, signing_input) = split(&token);
            assert_eq!(header.get_str("alg"), Some("ES256"));
            assert_eq!(claims.get_str("sub"), Some("svc"));
            let mut sec1 = vec![4u8];
            sec1.extend(Base64UrlUnpadded::decode_vec(RFC7515_X).unwrap());
            sec1.extend(Base64UrlUnpadded::decode_vec(RFC7515_Y).unwrap());
            let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
            let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
            assert!(verifying
                .verify(signing_input.as_bytes(), &signature)
                .is_ok());
        }
    }

    #[test]
    fn json_ed25519_key_defaults_kid_to_the_thumbprint() {
        let access_key = format!(
            r#"{{"clientId":"svc","audience":"https://api.platform.example","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}"}}}}"#
        );
        let provider = ServiceClientTokenProvider::new(&access_key, ISSUER).unwrap();
        assert_eq!(provider.key_id(), RFC8037_THUMBPRINT);
        assert_eq!(provider.audience(), "https://api.platform.example");
        let provider = provider.with_audience("other").unwrap();
        assert_eq!(provider.audience(), "other");
    }

    #[test]
    fn token_is_cached_until_shortly_before_expiry() {
        let mut provider = ServiceClientTokenProvider::new(&authress_key(), ISSUER).unwrap();
        let first = provider.get_token(1000).unwrap();
        assert_eq!(provider.cached_expires_at(), Some(1300));
        assert_eq!(provider.get_token(1000).unwrap(), first);
        assert_eq!(provider.get_token(1239).unwrap(), first);
        // 60 s before expiry a new token is minted.
        let second = provider.get_token(1240).unwrap();
        assert_ne!(second, first);
        assert_eq!(provider.cached_expires_at(), Some(1540));
        // A clock that went backwards gets a fresh token, not a future-dated one.
        let third = provider.get_token(1100).unwrap();
        assert_ne!(third, second);
        assert_eq!(provider.cached_expires_at(), Some(1400));
    }

    #[test]
    fn malformed_keys_are_invalid_key_without_echo() {
        let secret_looking = "SECRETSECRETSECRET";
        let cases = [
            secret_looking.to_owned(),
            format!("a.b.c.{secret_looking}"),
            "a..c.MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g".to_owned(),
            format!("a.b.c.{}", Base64::encode_string(&[0u8; 48])),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{secret_looking}"}}}}"#
            ),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}","x":"{RFC7515_X}"}}}}"#
            ),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}","alg":"ES256"}}}}"#
            ),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}","use":"enc"}}}}"#
            ),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}","key_ops":["verify"]}}}}"#
            ),
            format!(
                r#"{{"clientId":"c","keyId":"a","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}","kid":"b"}}}}"#
            ),
            format!(r#"{{"clientId":"c","privateKey":{{"kty":"RSA","d":"{RFC8037_D}"}}}}"#),
            format!(
                r#"{{"clientId":"c","privateKey":{{"kty":"EC","crv":"P-256","d":"{}"}}}}"#,
                Base64UrlUnpadded::encode_string(&[0xff; 32])
            ),
            format!(r#"{{"privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}"}}}}"#),
            format!(
                r#"{{"clientId":"","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}"}}}}"#
            ),
            r#"{"clientId":"c"}"#.to_owned(),
            "{".to_owned(),
        ];
        for key in cases {
            let err = ServiceClientTokenProvider::new(&key, ISSUER).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidKey, "{key}: {err}");
            assert!(!err.message().contains(secret_looking), "{err}");
            assert!(!err.message().contains(RFC8037_D), "{err}");
        }
        let err = ServiceClientTokenProvider::new(&authress_key(), "http://platform.example")
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
    }

    #[test]
    fn debug_never_shows_key_material_or_tokens() {
        let mut provider = ServiceClientTokenProvider::new(&authress_key(), ISSUER).unwrap();
        let token = provider.get_token(5).unwrap();
        let printed = format!("{provider:?}");
        let seed_b64 = Base64::encode_string(&Base64UrlUnpadded::decode_vec(RFC8037_D).unwrap());
        assert!(!printed.contains(&token), "{printed}");
        assert!(!printed.contains(RFC8037_D), "{printed}");
        assert!(!printed.contains(&seed_b64), "{printed}");
        assert!(!printed.contains(&authress_key()[15..]), "{printed}");
        assert!(
            printed.contains("kid-1") && printed.contains("[redacted]"),
            "{printed}"
        );
    }

    proptest::proptest! {
        #[test]
        fn key_parser_never_panics(key in "[ -~]{0,120}") {
            let _ = ServiceClientTokenProvider::new(&key, ISSUER);
        }

        #[test]
        fn dotted_keys_never_panic(parts in proptest::collection::vec("[A-Za-z0-9+/=_-]{0,70}", 4)) {
            let _ = ServiceClientTokenProvider::new(&parts.join("."), ISSUER);
        }
    }
}
