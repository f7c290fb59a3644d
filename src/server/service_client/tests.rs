//! The minter alone (any signer), then the RustCrypto provider end to end.

use super::*;
use crate::json::{self, Object, Value};
use crate::protocol::url::UrlRule;
use crate::ErrorCode;
use base64ct::{Base64, Base64UrlUnpadded, Encoding};

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
    let mut der = key::ED25519_PKCS8_PREFIX.to_vec();
    der.extend(Base64UrlUnpadded::decode_vec(RFC8037_D).unwrap());
    format!("sc_ext 1.kid-1.acc9.{}", Base64::encode_string(&der))
}

fn ed25519_public() -> PublicKey {
    PublicKey::from_jwk_members(SigningAlgorithm::EdDsa, RFC8037_X, None).unwrap()
}

fn json_ed25519_key(extra: &str) -> String {
    format!(
        r#"{{"clientId":"svc","privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}"{extra}}}}}"#
    )
}

fn split(token: &str) -> (Object, Object, Vec<u8>, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode_object = |part: &str| match json::parse_bytes(
        &Base64UrlUnpadded::decode_vec(part).unwrap(),
    )
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

/// Signs with a fake signer: the minter never looks inside the signature.
fn mint_with(minter: &mut TokenMinter, now: u64, signature: u8) -> String {
    match minter.mint(now).unwrap() {
        Mint::Cached(token) => token,
        Mint::Sign(unsigned) => minter.finish(unsigned, &[signature; 64]).unwrap(),
    }
}

#[test]
fn authress_key_gives_the_pkcs8_it_came_from_and_the_authress_audience() {
    let key = AccessKey::parse(&authress_key()).unwrap();
    assert_eq!(key.algorithm(), SigningAlgorithm::EdDsa);
    let minter = TokenMinter::new(key, ISSUER, UrlRule::STRICT).unwrap();
    assert_eq!(minter.client_id(), "sc_ext 1");
    assert_eq!(minter.key_id(), Some("kid-1"));
    assert_eq!(
        minter.issuer(),
        "https://login.platform.example/v1/clients/sc_ext%201"
    );
    assert_eq!(minter.audience(), "acc9.accounts.authress.io");
    // What the runtime imports is exactly the PKCS#8 document of the key.
    let pkcs8 = minter.private_key_pkcs8().unwrap();
    assert_eq!(
        Base64::encode_string(&pkcs8),
        authress_key().rsplit('.').next().unwrap()
    );
    assert_eq!(minter.public_jwk(), None, "unknown until derived");
}

#[test]
fn minter_builds_the_signing_input_and_caches_until_shortly_before_expiry() {
    let mut minter = TokenMinter::new(
        AccessKey::parse(&authress_key()).unwrap(),
        ISSUER,
        UrlRule::STRICT,
    )
    .unwrap();
    let err = minter.mint(1000).unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::InvalidKey,
        "no token before the key is checked"
    );
    minter.set_public_key(ed25519_public()).unwrap();
    assert!(
        minter.private_key_pkcs8().is_none(),
        "the private key is wiped once imported"
    );
    assert_eq!(jwk_member(&minter.public_jwk().unwrap(), "x"), RFC8037_X);

    let first = mint_with(&mut minter, 1000, 1);
    let (header, claims, signature, signing_input) = split(&first);
    assert_eq!(header.get_str("alg"), Some("EdDSA"));
    assert_eq!(header.get_str("kid"), Some("kid-1"));
    assert_eq!(header.get_str("typ"), Some("JWT"));
    assert_eq!(header.len(), 3);
    assert_eq!(claims.get_str("iss"), Some(minter.issuer()));
    assert_eq!(claims.get_str("sub"), Some("sc_ext 1"));
    assert_eq!(claims.get_str("aud"), Some("acc9.accounts.authress.io"));
    assert_eq!(claims.get("iat").and_then(Value::as_f64), Some(1000.0));
    assert_eq!(claims.get("exp").and_then(Value::as_f64), Some(1300.0));
    assert_eq!(claims.len(), 5);
    assert_eq!(signature, [1u8; 64]);
    assert!(first.starts_with(&signing_input));

    assert_eq!(mint_with(&mut minter, 1239, 2), first);
    // 60 s before expiry a new token is signed.
    let second = mint_with(&mut minter, 1240, 3);
    assert_ne!(second, first);
    assert_eq!(
        split(&second).1.get("exp").and_then(Value::as_f64),
        Some(1540.0)
    );
    // A clock that went backwards gets a fresh token, not a future-dated one.
    let third = mint_with(&mut minter, 1100, 4);
    assert_eq!(
        split(&third).1.get("iat").and_then(Value::as_f64),
        Some(1100.0)
    );
}

#[test]
fn signatures_must_be_64_raw_bytes() {
    let mut minter = TokenMinter::new(
        AccessKey::parse(&authress_key()).unwrap(),
        ISSUER,
        UrlRule::STRICT,
    )
    .unwrap();
    minter.set_public_key(ed25519_public()).unwrap();
    for bad in [&[0u8; 0][..], &[0u8; 63], &[0u8; 72]] {
        let Mint::Sign(unsigned) = minter.mint(5).unwrap() else {
            panic!()
        };
        let err = minter.finish(unsigned, bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey);
        assert!(err.message().contains("64"), "{err}");
    }
    // Nothing was cached.
    assert!(matches!(minter.mint(5).unwrap(), Mint::Sign(_)));
}

#[test]
fn json_key_without_kid_gets_the_thumbprint_once_the_public_key_is_known() {
    let key = AccessKey::parse(&json_ed25519_key("")).unwrap();
    let mut minter = TokenMinter::new(key, ISSUER, UrlRule::STRICT).unwrap();
    assert_eq!(minter.key_id(), None);
    assert_eq!(minter.audience(), "https://login.platform.example");
    minter.set_public_key(ed25519_public()).unwrap();
    assert_eq!(minter.key_id(), Some(RFC8037_THUMBPRINT));
    assert_eq!(
        jwk_member(&minter.public_jwk().unwrap(), "kid"),
        RFC8037_THUMBPRINT
    );
    // With x given, nothing is published before it is checked against d.
    let key = AccessKey::parse(&json_ed25519_key(&format!(r#","x":"{RFC8037_X}""#))).unwrap();
    let mut minter = TokenMinter::new(key, ISSUER, UrlRule::STRICT).unwrap();
    assert_eq!(minter.public_jwk(), None);
    assert_eq!(minter.key_id(), None);
    minter.set_public_key(ed25519_public()).unwrap();
    assert_eq!(minter.public_key(), Some(&ed25519_public()));
}

#[test]
fn a_derived_public_key_that_differs_from_the_given_one_is_refused() {
    // The JWK's x is another key's: signing with d would give tokens that
    // the registered key (x) never verifies.
    let other_x = Base64UrlUnpadded::encode_string(&[5u8; 32]);
    let key = AccessKey::parse(&json_ed25519_key(&format!(r#","x":"{other_x}""#))).unwrap();
    let mut minter = TokenMinter::new(key, ISSUER, UrlRule::STRICT).unwrap();
    let err = minter.set_public_key(ed25519_public()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidKey);
    assert!(minter.mint(1).is_err(), "still no token");
    // A P-256 key: both coordinates are compared.
    let access_key = format!(
        r#"{{"clientId":"svc","privateKey":{{"kty":"EC","crv":"P-256","d":"{RFC7515_D}","x":"{RFC7515_X}","y":"{RFC7515_Y}"}}}}"#
    );
    let mut minter = TokenMinter::new(
        AccessKey::parse(&access_key).unwrap(),
        ISSUER,
        UrlRule::STRICT,
    )
    .unwrap();
    let flipped =
        PublicKey::from_jwk_members(SigningAlgorithm::Es256, RFC7515_Y, Some(RFC7515_X)).unwrap();
    assert!(minter.set_public_key(flipped).is_err());
    let right =
        PublicKey::from_jwk_members(SigningAlgorithm::Es256, RFC7515_X, Some(RFC7515_Y)).unwrap();
    minter.set_public_key(right.clone()).unwrap();
    // Derived again (a second import): must agree with the first.
    minter.set_public_key(right).unwrap();
    assert!(minter.set_public_key(ed25519_public()).is_err());
}

#[test]
fn malformed_keys_are_invalid_key_without_echo() {
    let secret_looking = "SECRETSECRETSECRET";
    let cases = [
        secret_looking.to_owned(),
        format!("a.b.c.{secret_looking}"),
        "a..c.MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g".to_owned(),
        format!("a.b.c.{}", Base64::encode_string(&[0u8; 48])),
        json_ed25519_key("").replace(RFC8037_D, secret_looking),
        json_ed25519_key(&format!(r#","x":"{secret_looking}""#)),
        json_ed25519_key(r#","x":7"#),
        json_ed25519_key(r#","alg":"ES256""#),
        json_ed25519_key(r#","use":"enc""#),
        json_ed25519_key(r#","key_ops":["verify"]"#),
        json_ed25519_key(r#","kid":"b""#)
            .replace(r#""clientId":"svc""#, r#""clientId":"svc","keyId":"a""#),
        format!(r#"{{"clientId":"c","privateKey":{{"kty":"RSA","d":"{RFC8037_D}"}}}}"#),
        format!(
            r#"{{"clientId":"c","privateKey":{{"kty":"EC","crv":"P-256","d":"{}"}}}}"#,
            Base64UrlUnpadded::encode_string(&[0xff; 32])
        ),
        format!(
            r#"{{"clientId":"c","privateKey":{{"kty":"EC","crv":"P-256","d":"{}"}}}}"#,
            Base64UrlUnpadded::encode_string(&[0; 32])
        ),
        format!(
            r#"{{"clientId":"c","privateKey":{{"kty":"EC","crv":"P-256","d":"{RFC7515_D}","x":"{RFC7515_X}"}}}}"#
        ),
        format!(r#"{{"privateKey":{{"kty":"OKP","crv":"Ed25519","d":"{RFC8037_D}"}}}}"#),
        json_ed25519_key("").replace(r#""clientId":"svc""#, r#""clientId":"""#),
        json_ed25519_key("").replace(r#""clientId":"svc""#, r#""clientId":1"#),
        r#"{"clientId":"c"}"#.to_owned(),
        "{".to_owned(),
    ];
    for key in cases {
        let err = AccessKey::parse(&key)
            .and_then(|key| TokenMinter::new(key, ISSUER, UrlRule::STRICT))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey, "{key}: {err}");
        assert!(!err.message().contains(secret_looking), "{err}");
        assert!(!err.message().contains(RFC8037_D), "{err}");
    }
    let key = AccessKey::parse(&authress_key()).unwrap();
    let err = TokenMinter::new(key, "http://platform.example", UrlRule::STRICT).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidOptions);
}

#[test]
fn debug_never_shows_key_material_or_tokens() {
    let key = AccessKey::parse(&authress_key()).unwrap();
    let printed = format!("{key:?}");
    let seed_b64 = Base64::encode_string(&Base64UrlUnpadded::decode_vec(RFC8037_D).unwrap());
    assert!(!printed.contains(&seed_b64[..20]), "{printed}");
    let mut minter = TokenMinter::new(key, ISSUER, UrlRule::STRICT).unwrap();
    let before = format!("{minter:?}");
    minter.set_public_key(ed25519_public()).unwrap();
    let token = mint_with(&mut minter, 5, 9);
    let Mint::Sign(unsigned) = minter.mint(10_000).unwrap() else {
        panic!()
    };
    for printed in [before, format!("{minter:?}"), format!("{unsigned:?}")] {
        assert!(!printed.contains(&token), "{printed}");
        assert!(!printed.contains(RFC8037_D), "{printed}");
        assert!(!printed.contains(&seed_b64[..20]), "{printed}");
        assert!(!printed.contains(unsigned.signing_input()), "{printed}");
    }
}

proptest::proptest! {
    #[test]
    fn key_parser_never_panics(key in "[ -~]{0,120}") {
        let _ = AccessKey::parse(&key);
    }

    #[test]
    fn dotted_keys_never_panic(parts in proptest::collection::vec("[A-Za-z0-9+/=_-]{0,70}", 4)) {
        let _ = AccessKey::parse(&parts.join("."));
    }
}

#[cfg(feature = "rust-crypto")]
mod rust_crypto {
    use super::*;
    use ed25519_dalek::Verifier as _;

    #[test]
    fn authress_key_mints_a_verifiable_eddsa_token() {
        let mut provider = ServiceClientTokenProvider::new(&authress_key(), ISSUER).unwrap();
        assert_eq!(provider.algorithm(), "EdDSA");
        assert_eq!(provider.key_id(), "kid-1");
        assert_eq!(jwk_member(&provider.public_jwk(), "x"), RFC8037_X);

        let token = provider.get_token(1_700_000_000).unwrap();
        let (header, claims, signature, signing_input) = split(&token);
        assert_eq!(header.get_str("alg"), Some("EdDSA"));
        assert_eq!(claims.get_str("sub"), Some("sc_ext 1"));
        assert_eq!(
            claims.get("exp").and_then(Value::as_f64),
            Some(1_700_000_300.0)
        );

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
        assert_eq!(provider.get_token(1_700_000_000).unwrap(), token, "cached");
    }

    #[test]
    fn json_p256_key_mints_a_verifiable_es256_token() {
        let access_key = format!(
            r#"{{"clientId":"svc","privateKey":{{"kty":"EC","crv":"P-256","d":"{RFC7515_D}","x":"{RFC7515_X}","y":"{RFC7515_Y}","kid":"k-ec","alg":"ES256"}}}}"#
        );
        // Without x and y the public point is derived: the same key.
        let bare = format!(
            r#"{{"clientId":"svc","privateKey":{{"kty":"EC","crv":"P-256","d":"{RFC7515_D}","kid":"k-ec"}}}}"#
        );
        // Raw JSON and its base64url form are both accepted.
        for key in [
            access_key.clone(),
            Base64UrlUnpadded::encode_string(access_key.as_bytes()),
            bare,
        ] {
            let mut provider =
                ServiceClientTokenProvider::new(&key, "https://platform.example").unwrap();
            assert_eq!(provider.algorithm(), "ES256");
            assert_eq!(provider.key_id(), "k-ec");
            assert_eq!(provider.audience(), "https://platform.example");
            assert_eq!(provider.issuer(), "https://platform.example/v1/clients/svc");
            let jwk = provider.public_jwk();
            assert_eq!(jwk_member(&jwk, "x"), RFC7515_X);
            assert_eq!(jwk_member(&jwk, "y"), RFC7515_Y);
            assert!(!jwk.contains(RFC7515_D));
            assert!(provider.public_jwks().starts_with(r#"{"keys":[{"#));

            let token = provider.get_token(10).unwrap();
            let (header, claims, signature, signing_input) = split(&token);
            assert_eq!(header.get_str("alg"), Some("ES256"));
            assert_eq!(claims.get_str("sub"), Some("svc"));
            let mut sec1 = vec![4u8];
            sec1.extend(Base64UrlUnpadded::decode_vec(RFC7515_X).unwrap());
            sec1.extend(Base64UrlUnpadded::decode_vec(RFC7515_Y).unwrap());
            let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
            let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
            use p256::ecdsa::signature::Verifier as _;
            assert!(verifying
                .verify(signing_input.as_bytes(), &signature)
                .is_ok());
        }
    }

    #[test]
    fn mismatched_public_members_and_audience_override() {
        let other_x = Base64UrlUnpadded::encode_string(&[5u8; 32]);
        let err = ServiceClientTokenProvider::new(
            &json_ed25519_key(&format!(r#","x":"{other_x}""#)),
            ISSUER,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey);
        let provider = ServiceClientTokenProvider::new(&json_ed25519_key(""), ISSUER).unwrap();
        assert_eq!(provider.key_id(), RFC8037_THUMBPRINT);
        let provider = provider.with_audience("other").unwrap();
        assert_eq!(provider.audience(), "other");
        assert!(provider.with_audience("").is_err());
    }

    /// The tokens the runtime signers are held to (tests/node/server-signing.test.mjs,
    /// tests/workerd/handler-signing.test.mjs): the Rust signer makes them.
    #[test]
    fn the_rust_signer_makes_the_shared_vectors() {
        let text = include_str!("../../../tests/node/server-signing.vectors.json");
        let Value::Object(doc) = json::parse(text).unwrap() else {
            panic!()
        };
        let issuer_url = doc.get_str("issuerUrl").unwrap();
        let now = doc.get("now").and_then(Value::as_f64).unwrap() as u64;
        let cases = doc.get("cases").and_then(Value::as_array).unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let case = case.as_object().unwrap();
            let mut provider =
                ServiceClientTokenProvider::new(case.get_str("accessKey").unwrap(), issuer_url)
                    .unwrap();
            assert_eq!(
                provider.get_token(now).unwrap(),
                case.get_str("token").unwrap(),
                "{}",
                case.get_str("name").unwrap()
            );
        }
    }

    #[test]
    fn debug_of_the_provider_never_shows_key_material() {
        let mut provider = ServiceClientTokenProvider::new(&authress_key(), ISSUER).unwrap();
        let token = provider.get_token(5).unwrap();
        let printed = format!("{provider:?}");
        assert!(!printed.contains(&token), "{printed}");
        assert!(!printed.contains(&authress_key()[15..]), "{printed}");
        assert!(
            printed.contains("kid-1") && printed.contains("[redacted]"),
            "{printed}"
        );
    }
}
