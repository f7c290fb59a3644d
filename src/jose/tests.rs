//! End-to-end tests of the verification core: RFC vectors, tokens signed
//! elsewhere (Python `cryptography`), and one negative case per rule.

#![cfg(feature = "rust-crypto")]

use ed25519_dalek::Signer as _;

use super::*;
use crate::b64;
use crate::ErrorCode;

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://console.example";
const AUD: &str = "ext-123";

// ---- RFC 7515 appendix A.3 (ES256) ----
const RFC7515_A3_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
const RFC7515_A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const RFC7515_A3_EXP: u64 = 1_300_819_380;

// ---- RFC 8037 appendix A.4 (Ed25519); its payload is not JSON ----
const RFC8037_JWKS: &str =
    r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
const RFC8037_A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// ---- Signed with Python `cryptography` 48 (OpenSSL 3.0), claims:
// iss https://console.example, aud ext-123, sub user-1, exp 2000000000,
// iat 1700000000; RSA tokens have typ at+jwt and kid rsa-1. ----
const RSA_JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"rsa-1","e":"AQAB","n":"mczHWBdm0o8R5a_rinCTrVaTXrXgVhP6GlvLpf-vAVisC_7whVDzEjdYkqvJisUGEBY3pSYgafIB3RRJnVbusPTcW4PDXp5t1XnaPcNie_JioTy_mM5agcNucUVd71EIl3bIkEHdqQtUSwHYdhDpOAmzqz84miUZV8ru4HiHlbU55ScC77Dzk383bLBwQAUanfF4-Y41ayWQ5FJKM7-TkYI2Lctu_0UibW8SlPjVuItQLGf6ZXtO0WhFxs8LdLuJJquhhu1dduQ32YCAY2e6N8m_qckZyZ43NXsCXPyNdRoVGKLe5jyb1kV9so9EalCh_Y587flvB2jVDO1K04vMbQ"}]}"#;
const RSA_P: &str = "zqFo_c4lJb5_Zw17JPL96jln8TAHJN1k_v0-yPEApzFSpPF1THTN5tpH38K_mc4sqKzGVyGysv_GqMNIK1d2MTDIFOOvJf1xqJgOgaWNoDfaSzNH4SIbhI8M7XQFrbQU2gSLOQx-Pch1aIXL4WP4smB9RgnLGmZNX3-9cS4MyfE";
const RSA_Q: &str = "vov5_aEBd2cqPqWQO5JkIywkk80ibfU7hyAFJ4iF7zGBEgefhyp0VFraZQtQbm57xDADMst0RuySV-pIHMANhr3Yn_oAmu59_5D5jYQGHpdp_qN3s1ckN5fRrKlkccLWmVFss-VG0mpPYTxlIYaNmupgHUOUb5onLLgsUU48jj0";
const RS256: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.jGpK0dKymS148FtVvlgW3AUBQItoI-xSOOwPgHmut9RXGMAXNgUAwxZDHyGHjuAOu2Nfnc1qfYSQBiCFRfzkFQadmjCqlTNNZDZLkwcw_wI5r4kzkoJkNzAUSl6k2beqOcfpmLaxHQKFMGzhJVSbKSOyS4Yd-7tYuyYG3Ww2QU15WjdgN4fTBoMH2GVK9HlrRyNFzmUEKe9pIu1qpulB5Z_ftQWEPbtX0cS8D-sBTIZIdiLIH6-am45G100Eyvz6QSJtoB_1K_-JviCRXHJwb40W4yxpb5PZEOuVYcj45jdJmHkWyJZtomoMoa9uMblX6DHS8W_YMtGtlQyQVycLnQ";
const RS384: &str = "eyJhbGciOiJSUzM4NCIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.gWQGgB81ThOMqcbygaDRfb2RGriUE-PqEZTc9kh-gLXDprZmq8cENLNqchTN35BN18AwZrdgwm_6NJFLomy9lH97-foAwiWm2qIErCpGD032-ja9Xb5XDrjf8JvV3VA25pJnB1W6AsXRNtxCY44B5WQmJy-_mtZmADUwgMc5wTgVBFK4HNLfUn9T_ZAaDE1zw0xaL0jt_Hx3ZipcPD3imDCVrgwubG93PSEcommHV4FGW9IGU9oosBQKCNMg40BTkujHC9kOUUzEn2XEC7JmICJfFCGJz8ka9FC2LeRApnVpPofpXIaknr8UFAOSIO80snXrRL69fyYJbg4UQtobIw";
const RS512: &str = "eyJhbGciOiJSUzUxMiIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.MtV-UztlM_KGM_7P9KOmuH_mLglmmWInkOsHckVnSgjFJlVqh4D8xGuryyl8xZJr3TioQqm0571hkJZEwWd4lxEd4d5wGbTUY4ryvT-7YFJd9aGaTbPbrQxo6xvkWkdrPLZZVbYoEAo_dk01tBUnaUbkwgrwZy8skQ8nB-z7YOV-xkmaR1r_vab2kOUcBZHVM6t8r6bs1Llkrmf3ASrbmwMu3BN4s0kZBfGlRBMUyGwXse_Xia6v6JNc5XCFGUdmjIM4moxWGKIvs07x4kV7kRSPek5CQ_K6PaWV4TW8DKKozSmdS3CHaaxgeIjrmpItkWOIrzTpDPLdMlu2mBJQgQ";
const PS256: &str = "eyJhbGciOiJQUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.iqjTR5cTcGtnhL7q8MvM5bU7Wwy6I7bGeTDMJMyognkYp5oB6hgZ0Zuba2KytH2jurAWhw9UHCt5gZsSuNPNYrVjhenHuEycsFq2GHp1V5RwzF8u_bL2KxE0peGRv4aEdUupH38xi901uLrEZYAtGu7NIl_PCEo-tDK-xQR6osopT8vwQqpW1g35alTQDKTJZeySaag1CB8cb6TuISiyrKfpCtUJhr8lnk3SXpsXLfDoTe-kudQPbiQeTtLu5doMa4V03l2aTByk_J5kWxUADLpccmPMUtZB5rXj4EHerhTHJs_2JIihLGbYIKpZ1J0jP4eiC_gNWgXZRc_6epmLqg";
const PS384: &str = "eyJhbGciOiJQUzM4NCIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.GqhHKM_RR_DQoq_7ju_-jhHO5h2X0uxXiK7Dfki9UWjfBTwEzpk68_ub_MKgSBhQ8gAO6b54qKkLGAMsnx1aZ_RjKNQGCaNno7B0hR9_qD13F5M0bOdX9-32BwHpw6tC8GYD1ve2s-wLc3RglY-7Yx-UnPirTMtu4MMUz23_3UvPUkXrz81_eOwHa7SXmj8aOqm1K6JwFhjfzNj-YJFGBPyKw2vH9Fme94xQMjggJ_j58VXL0_VsUJRkfSnIqxC8uG15znKYLboMCe3DyCk_0wJ-FP7Juj3kETrULyfOlP_yS8TaNOdlI284U2zcYpnL-kyOD2F_NRC9H4VSWGStaQ";
const PS512: &str = "eyJhbGciOiJQUzUxMiIsImtpZCI6InJzYS0xIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.OzVJh4NBTLcjmRiOumDCMWKim6uTlnpEOniiUQa-xWarWWqCyzQP4ToCkcFibxBRlnT4xx5GcAPyN3K-w79QyYG9Q4Q6ufEyy3iZ3VgnxTv5lJvmu00VZX_bx8mElIjIPzQ8T1fuUXogjhiVCmtAea-0mHM92CZNHpfPEs5Jh-3CnIc_w8yIp8la0Wpkppg8j7T7BVOGlbI_6BIUJWhlKVBoEEuVRKzWMLyZSneBAlNqF9I44Yglzx0-eJ8SIJiV3bx3kojFYxaPA6R5lD_ahvda8zDuEPchjhyPPVkd-03ah_qz-X0ypruKODtFFF1-lPSiyhoQJpUuAqPSyXi3kw";
const PS256_MAXSALT: &str = "eyJhbGciOiJQUzI1NiIsImtpZCI6InJzYS0xIn0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.Jow33OEQDbti9FutFm5ICj8b7QLmQCw9h9-mGQiPIGgk_Gq0Ji_D9V74-NkkmMazXlGPj8aI4jGTNhcdolH8ht1dgC6p1aVV_nYx3TZhA9X-tXxALRlUhKAI_OdP22tXNPRA9symY_s27RfJiB0MyyDXUsGX2P90fhAjrwoJasqYgV2X4McpImTRpFZWnqhH64Jmynrmp2jIP5l6shkpfJw2dz9DGFvOY7xPeYS3n6jcH_Q-FLxupP17lzVD8oMhUWa2euxXygLLOtXAnyYtw3yYwlQnxllln0eX9xNOA-SvaA2yg5T5H2K9fHHOwGEhrcCo5Q-7T6MnmiKuUYVF1g";
const EC384_X: &str = "esW4nmVHU8Y8HQTeWv9LVf7JlxqOULCHZfSquaNdjaFUH5nSi4egV2p-5VQ3Hsra";
const EC384_Y: &str = "SyjK0EYjiJSWl1jZ9DswTCr5eNPTzSqWb5shGRyB0KQSH8ZNtbz2zwgODdK1BTFo";
const ES384: &str = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImVjMzg0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.n7bJMtWl97nTlm7SxUBrdDcdNzqfUGq78Ps4T-Giy8uslS3fMXSiXOLYoi4LrGUmJ-vZNsPU8XgJy_OEELHV_XN7vw3_Kis_EqQmHMjLzo47y3WqKBKDtTZ_zwFbxsoz";
const ES384_DER: &str = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImVjMzg0In0.eyJpc3MiOiJodHRwczovL2NvbnNvbGUuZXhhbXBsZSIsImF1ZCI6ImV4dC0xMjMiLCJzdWIiOiJ1c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0.MGUCMQCftsky1aX3udOWbtLFQGt0Nx03Op9Qarvw-zhP4aLLy6yVLd8xdKJc4tiiLgusZSYCMCfr2TbD1PF4CcvzhBCx1f1ze78N_yorPxKkJhzIy86OO8t1qigSg7U2f88BW8bKMw";

// ---------------------------------------------------------------- helpers

/// The fixed RSA key's modulus, base64url.
fn rsa_n() -> &'static str {
    RSA_JWKS
        .split(r#""n":""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
}

/// [`prepare`] with buffers of its own (kept for the test's lifetime).
fn prepare_fresh<'a>(
    token: &'a str,
    keys: &KeySet,
    options: &VerifyOptions,
    now: u64,
) -> crate::Result<Prepared<'a>> {
    let buffers = Box::leak(Box::new(TokenBuffers::default()));
    prepare(token, buffers, keys, options, now)
}

fn options() -> VerifyOptions {
    VerifyOptions::new([ISS], Audience::one_of([AUD])).unwrap()
}

fn ed_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// A public Ed25519 JWK with optional extra members (`,"kid":"a"`).
fn ed_jwk(seed: u8, extra: &str) -> String {
    let x = b64::encode(ed_key(seed).verifying_key().as_bytes());
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"{extra}}}"#)
}

fn jwks(keys: &[String]) -> KeySet {
    KeySet::from_json(&format!(r#"{{"keys":[{}]}}"#, keys.join(","))).unwrap()
}

/// Signs raw header and payload JSON text (so tests can write duplicate
/// members and odd types) with Ed25519 key `seed`.
fn ed_token(header: &str, payload: &str, seed: u8) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(payload.as_bytes())
    );
    let sig = ed_key(seed).sign(input.as_bytes());
    format!("{input}.{}", b64::encode(&sig.to_bytes()))
}

fn claims_json(extra: &str) -> String {
    format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"user-1","exp":{},"iat":{NOW}{extra}}}"#,
        NOW + 600
    )
}

const ED_HEADER: &str = r#"{"alg":"EdDSA","kid":"ed-1"}"#;

/// Key set with Ed25519 key 1 (kid ed-1), a token signed by it.
fn ed_setup(header: &str, payload: &str) -> (KeySet, String) {
    (
        jwks(&[ed_jwk(1, r#","kid":"ed-1""#)]),
        ed_token(header, payload, 1),
    )
}

fn code(result: crate::Result<VerifiedToken>) -> ErrorCode {
    result.map(|_| ()).unwrap_err().code()
}

fn verify(
    keys: &KeySet,
    options: &VerifyOptions,
    token: &str,
    now: u64,
) -> crate::Result<VerifiedToken> {
    verify_with_backend(token, keys, options, &RustCryptoBackend, now)
}

fn ed_code(header: &str, payload: &str, options: &VerifyOptions) -> ErrorCode {
    let (keys, token) = ed_setup(header, payload);
    code(verify(&keys, options, &token, NOW))
}

fn replace_signature(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64::encode(sig))
}

// ---------------------------------------------------------------- vectors

#[test]
fn rfc7515_a3_es256_verifies() {
    let options = VerifyOptions::new(["joe"], Audience::Any).unwrap();
    let verifier = Verifier::new(KeySet::from_json(RFC7515_A3_JWKS).unwrap(), options);
    let token = verifier.verify(RFC7515_A3_TOKEN, 1_300_819_000).unwrap();
    assert_eq!(token.iss(), "joe");
    assert_eq!(token.exp(), RFC7515_A3_EXP as f64);
    assert_eq!(token.alg(), Algorithm::Es256);
    assert_eq!(token.kid(), None);
    assert_eq!(token.key_index(), 0);
    assert_eq!(
        token.claims().get("http://example.com/is_root"),
        Some(&crate::json::Value::Bool(true))
    );
    assert!(token.payload_json().starts_with("{\"iss\":\"joe\",\r\n"));
    // Symmetric tolerance around exp: valid strictly before exp + 30 s.
    assert!(verifier
        .verify(RFC7515_A3_TOKEN, RFC7515_A3_EXP + 29)
        .is_ok());
    assert_eq!(
        code(verifier.verify(RFC7515_A3_TOKEN, RFC7515_A3_EXP + 30)),
        ErrorCode::Expired
    );
}

#[test]
fn rfc8037_a4_ed25519_vector_verifies_with_the_backend() {
    let keys = KeySet::from_json(RFC8037_JWKS).unwrap();
    let (input, sig) = RFC8037_A4_JWS.rsplit_once('.').unwrap();
    let sig = b64::decode(sig).unwrap();
    let backend = RustCryptoBackend;
    let key = keys.get(0).unwrap();
    assert!(backend.verify(Algorithm::EdDsa, 0, key, input.as_bytes(), &sig));
    let mut tampered = sig.clone();
    tampered[0] ^= 1;
    assert!(!backend.verify(Algorithm::EdDsa, 0, key, input.as_bytes(), &tampered));
    assert!(!backend.verify(Algorithm::Es256, 0, key, input.as_bytes(), &sig));
    // Its payload is text, not a JWT claims set.
    let options = VerifyOptions::new(["x"], Audience::Any).unwrap();
    assert_eq!(
        prepare_fresh(RFC8037_A4_JWS, &keys, &options, NOW)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
}

#[test]
fn tokens_signed_by_openssl_verify_for_every_rsa_and_es384_alg() {
    let strict = options()
        .with_typ("application/at+jwt")
        .unwrap()
        .with_required_claims(["sub"])
        .unwrap();
    let rsa = KeySet::from_json(RSA_JWKS).unwrap();
    assert_eq!(rsa.get(0).unwrap().rsa_modulus_len(), Some(256));
    for (alg, token) in [
        (Algorithm::Rs256, RS256),
        (Algorithm::Rs384, RS384),
        (Algorithm::Rs512, RS512),
        (Algorithm::Ps256, PS256),
        (Algorithm::Ps384, PS384),
        (Algorithm::Ps512, PS512),
    ] {
        let verified = verify(&rsa, &strict, token, NOW).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.alg(), alg);
        assert_eq!(verified.kid(), Some("rsa-1"));
        assert_eq!(verified.typ(), Some("at+jwt"));
        assert_eq!(verified.sub(), Some("user-1"));
        assert_eq!(verified.aud(), vec![AUD]);
        assert_eq!(verified.iat(), Some(NOW as f64));
        assert_eq!(verified.nbf(), None);
        // Flipping one signature bit fails.
        let mut sig = b64::decode(token.rsplit_once('.').unwrap().1).unwrap();
        sig[10] ^= 0x40;
        assert_eq!(
            code(verify(&rsa, &strict, &replace_signature(token, &sig), NOW)),
            ErrorCode::BadSignature
        );
    }
    let ec = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"EC","crv":"P-384","kid":"ec384","x":"{EC384_X}","y":"{EC384_Y}"}}]}}"#
    ))
    .unwrap();
    assert_eq!(
        verify(&ec, &options(), ES384, NOW).unwrap().alg(),
        Algorithm::Es384
    );
}

#[test]
fn pss_salt_must_equal_the_hash_length() {
    let rsa = KeySet::from_json(RSA_JWKS).unwrap();
    assert_eq!(
        code(verify(&rsa, &options(), PS256_MAXSALT, NOW)),
        ErrorCode::BadSignature
    );
}

#[test]
fn rsa_signature_must_be_as_long_as_the_modulus() {
    let rsa = KeySet::from_json(RSA_JWKS).unwrap();
    let mut sig = b64::decode(RS256.rsplit_once('.').unwrap().1).unwrap();
    sig.insert(0, 0);
    assert_eq!(
        code(verify(
            &rsa,
            &options(),
            &replace_signature(RS256, &sig),
            NOW
        )),
        ErrorCode::BadSignature
    );
    assert_eq!(
        code(verify(
            &rsa,
            &options(),
            &replace_signature(RS256, &sig[2..]),
            NOW
        )),
        ErrorCode::BadSignature
    );
}

#[test]
fn rsa_signing_in_test_round_trips() {
    // Signs with the rsa crate from the fixed key (p, q), so arbitrary
    // claims can be tested on RSA as well.
    let n = rsa::BigUint::from_bytes_be(&b64::decode(RSA_P).unwrap())
        * rsa::BigUint::from_bytes_be(&b64::decode(RSA_Q).unwrap());
    let private = rsa::RsaPrivateKey::from_p_q(
        rsa::BigUint::from_bytes_be(&b64::decode(RSA_P).unwrap()),
        rsa::BigUint::from_bytes_be(&b64::decode(RSA_Q).unwrap()),
        rsa::BigUint::from(65537u32),
    )
    .unwrap();
    assert_eq!(b64::encode(&n.to_bytes_be()), rsa_n());
    let input = format!(
        "{}.{}",
        b64::encode(br#"{"alg":"RS256"}"#),
        b64::encode(claims_json(r#","nbf":1700000100"#).as_bytes())
    );
    use sha2::Digest;
    let sig = private
        .sign(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(input.as_bytes()),
        )
        .unwrap();
    let token = format!("{input}.{}", b64::encode(&sig));
    let rsa = KeySet::from_json(RSA_JWKS).unwrap();
    assert_eq!(
        code(verify(&rsa, &options(), &token, NOW)),
        ErrorCode::NotYetValid
    );
    assert!(verify(&rsa, &options(), &token, NOW + 100).is_ok());
}

// ---------------------------------------------------------------- ECDSA shape

fn p256_setup() -> (KeySet, String) {
    use p256::ecdsa::signature::Signer as _;
    let key = p256::ecdsa::SigningKey::from_bytes(&[3u8; 32].into()).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    let jwk = format!(
        r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}]}}"#,
        b64::encode(point.x().unwrap()),
        b64::encode(point.y().unwrap())
    );
    let input = format!(
        "{}.{}",
        b64::encode(br#"{"alg":"ES256"}"#),
        b64::encode(claims_json("").as_bytes())
    );
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    (
        KeySet::from_json(&jwk).unwrap(),
        format!("{input}.{}", b64::encode(&sig.to_bytes())),
    )
}

/// n - s for a P-256 scalar, big-endian.
fn p256_negate(s: &[u8]) -> Vec<u8> {
    let n = rsa::BigUint::from_bytes_be(&hex32(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    ));
    let v = n - rsa::BigUint::from_bytes_be(s);
    let bytes = v.to_bytes_be();
    let mut out = vec![0u8; 32 - bytes.len()];
    out.extend_from_slice(&bytes);
    out
}

fn hex32(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ecdsa_signatures_must_be_raw_with_scalars_in_range() {
    let (keys, token) = p256_setup();
    assert!(verify(&keys, &options(), &token, NOW).is_ok());
    let sig = b64::decode(token.rsplit_once('.').unwrap().1).unwrap();
    let (r, s) = sig.split_at(32);

    // High s (n - s) is the other valid encoding of the same signature;
    // standard signers emit it, so it is accepted, not treated as malleation.
    let high = [r, &p256_negate(s)].concat();
    assert!(verify(&keys, &options(), &replace_signature(&token, &high), NOW).is_ok());

    let order = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    for bad in [
        [&[0u8; 32][..], s].concat(),    // r = 0
        [r, &[0u8; 32][..]].concat(),    // s = 0
        [r, &order[..]].concat(),        // s = n
        [&order[..], s].concat(),        // r = n
        [r, &[0xffu8; 32][..]].concat(), // s > n
        sig[..63].to_vec(),              // short
        [&sig[..], &[0u8]].concat(),     // long
    ] {
        assert_eq!(
            code(verify(
                &keys,
                &options(),
                &replace_signature(&token, &bad),
                NOW
            )),
            ErrorCode::BadSignature
        );
    }
}

#[test]
fn der_encoded_ecdsa_is_rejected() {
    let ec = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"EC","crv":"P-384","kid":"ec384","x":"{EC384_X}","y":"{EC384_Y}"}}]}}"#
    ))
    .unwrap();
    assert!(verify(&ec, &options(), ES384, NOW).is_ok());
    assert_eq!(
        code(verify(&ec, &options(), ES384_DER, NOW)),
        ErrorCode::BadSignature
    );
}

// ---------------------------------------------------------------- header rules

#[test]
fn ed25519_token_verifies_and_exposes_claims() {
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(""));
    let verified = Verifier::new(keys, options()).verify(&token, NOW).unwrap();
    assert_eq!(verified.iss(), ISS);
    assert_eq!(verified.kid(), Some("ed-1"));
    assert_eq!(verified.payload_json(), claims_json(""));
    assert_eq!(verified.exp(), (NOW + 600) as f64);
}

#[test]
fn alg_none_and_hmac_are_never_accepted() {
    let payload = b64::encode(claims_json("").as_bytes());
    let keys = jwks(&[ed_jwk(1, "")]);
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"NONE"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"ES512"}"#,
        r#"{"alg":"Ed25519"}"#,
    ] {
        for sig in ["", "c2ln"] {
            let token = format!("{}.{payload}.{sig}", b64::encode(header.as_bytes()));
            assert_eq!(
                code(verify(&keys, &options(), &token, NOW)),
                ErrorCode::AlgNotAllowed,
                "{header}"
            );
        }
    }
    // HS256 signed with the "public key" as the HMAC secret: still refused.
    let hs = KeySet::from_json(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#);
    assert_eq!(hs.unwrap_err().code(), ErrorCode::JwksInvalid);
}

#[test]
fn allow_list_applies_before_key_lookup() {
    let rsa_only = options().with_algorithms(&[Algorithm::Rs256]).unwrap();
    // The set has no RSA key, yet the answer is alg_not_allowed, not no_matching_key.
    assert_eq!(
        ed_code(ED_HEADER, &claims_json(""), &rsa_only),
        ErrorCode::AlgNotAllowed
    );
}

#[test]
fn malformed_tokens() {
    let (keys, good) = ed_setup(ED_HEADER, &claims_json(""));
    assert!(verify(&keys, &options(), &good, NOW).is_ok());
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let too_long = format!("{h}.{}.{s}", "A".repeat(MAX_TOKEN_LENGTH));
    for bad in [
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}=.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h} .{p}.{s}"),
        format!("{h}.{p}\n.{s}"),
        format!(" {good}"),
        format!("{good}\n"),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.x.y"),
        format!("{h}.{p}.{s}."),
        format!("{h}+.{p}.{s}"),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        too_long,
        String::new(),
    ] {
        assert_eq!(
            code(verify(&keys, &options(), &bad, NOW)),
            ErrorCode::Malformed,
            "{bad:.80}"
        );
    }
    for (header, payload) in [
        (r#"{"alg":"EdDSA","alg":"EdDSA"}"#, claims_json("")),
        (ED_HEADER, format!(r#"{{"exp":1,{}"#, &claims_json("")[1..])),
        (ED_HEADER, claims_json(r#","sub":"x""#)),
        (r#"["EdDSA"]"#, claims_json("")),
        (r#"{"typ":"JWT"}"#, claims_json("")),
        (r#"{"alg":1}"#, claims_json("")),
        (r#"{"alg":"EdDSA","kid":1}"#, claims_json("")),
        (r#"{"alg":"EdDSA","typ":["JWT"]}"#, claims_json("")),
        (ED_HEADER, "[1,2]".to_owned()),
        (ED_HEADER, "\"text\"".to_owned()),
        (ED_HEADER, "{\"a\":\"\\ud800\"}".to_owned()),
        (r#"{"alg":"EdDSA","crit":[]}"#, claims_json("")),
        (r#"{"alg":"EdDSA","crit":"exp"}"#, claims_json("")),
    ] {
        assert_eq!(
            ed_code(header, &payload, &options()),
            ErrorCode::Malformed,
            "{header} {payload}"
        );
    }
    // Invalid UTF-8 in the payload.
    let input = format!(
        "{}.{}",
        b64::encode(ED_HEADER.as_bytes()),
        b64::encode(&[0x7b, 0xff, 0x7d])
    );
    let sig = ed_key(1).sign(input.as_bytes());
    let token = format!("{input}.{}", b64::encode(&sig.to_bytes()));
    assert_eq!(
        code(verify(&keys, &options(), &token, NOW)),
        ErrorCode::Malformed
    );
}

#[test]
fn crit_and_b64_are_unsupported() {
    for header in [
        r#"{"alg":"EdDSA","kid":"ed-1","crit":["exp"],"exp":1}"#,
        r#"{"alg":"EdDSA","kid":"ed-1","crit":["b64"],"b64":false}"#,
        r#"{"alg":"EdDSA","kid":"ed-1","b64":true}"#,
    ] {
        assert_eq!(
            ed_code(header, &claims_json(""), &options()),
            ErrorCode::CritUnsupported,
            "{header}"
        );
    }
}

#[test]
fn key_hints_are_ignored_or_rejected_on_request() {
    let attacker = b64::encode(ed_key(9).verifying_key().as_bytes());
    let header = format!(
        r#"{{"alg":"EdDSA","kid":"ed-1","jku":"https://evil.example/jwks","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{attacker}"}}}}"#
    );
    // Signed by the attacker's embedded key: the embedded jwk is not used.
    let forged = ed_token(&header, &claims_json(""), 9);
    let keys = jwks(&[ed_jwk(1, r#","kid":"ed-1""#)]);
    assert_eq!(
        code(verify(&keys, &options(), &forged, NOW)),
        ErrorCode::BadSignature
    );
    // Signed by the real key: accepted by default, refused when strict.
    let honest = ed_token(&header, &claims_json(""), 1);
    assert!(verify(&keys, &options(), &honest, NOW).is_ok());
    let strict = options().with_reject_key_hints(true);
    assert_eq!(
        code(verify(&keys, &strict, &honest, NOW)),
        ErrorCode::Malformed
    );
    for member in ["x5u", "x5c"] {
        let header = format!(r#"{{"alg":"EdDSA","{member}":"x"}}"#);
        assert_eq!(
            ed_code(&header, &claims_json(""), &strict),
            ErrorCode::Malformed
        );
    }
}

#[test]
fn typ_is_compared_as_a_media_type() {
    let typed = options().with_typ("at+jwt").unwrap();
    for ok in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ] {
        let header = format!(r#"{{"alg":"EdDSA","typ":"{ok}"}}"#);
        let (keys, token) = ed_setup(&header, &claims_json(""));
        assert!(verify(&keys, &typed, &token, NOW).is_ok(), "{ok}");
    }
    for bad in [
        r#"{"alg":"EdDSA","typ":"JWT"}"#,
        r#"{"alg":"EdDSA","typ":"application/jwt"}"#,
        r#"{"alg":"EdDSA","typ":"text/at+jwt"}"#,
        r#"{"alg":"EdDSA"}"#,
    ] {
        assert_eq!(
            ed_code(bad, &claims_json(""), &typed),
            ErrorCode::TypMismatch,
            "{bad}"
        );
    }
    // Without a typ requirement any typ passes.
    let (keys, token) = ed_setup(r#"{"alg":"EdDSA","typ":"JWT"}"#, &claims_json(""));
    assert!(verify(&keys, &options(), &token, NOW).is_ok());
}

// ---------------------------------------------------------------- key selection

#[test]
fn kid_mismatch_and_wrong_key_type_find_no_key() {
    assert_eq!(
        ed_code(
            r#"{"alg":"EdDSA","kid":"other"}"#,
            &claims_json(""),
            &options()
        ),
        ErrorCode::NoMatchingKey
    );
    let rsa = KeySet::from_json(RSA_JWKS).unwrap();
    let (_, ed_token) = ed_setup(ED_HEADER, &claims_json(""));
    assert_eq!(
        code(verify(&rsa, &options(), &ed_token, NOW)),
        ErrorCode::NoMatchingKey
    );
    // A JWK whose alg differs from the token's is not a candidate.
    let ps_only =
        KeySet::from_json(&RSA_JWKS.replace(r#""kid":"rsa-1""#, r#""kid":"rsa-1","alg":"PS256""#))
            .unwrap();
    assert_eq!(
        code(verify(&ps_only, &options(), RS256, NOW)),
        ErrorCode::NoMatchingKey
    );
    assert!(verify(&ps_only, &options(), PS256, NOW).is_ok());
}

#[test]
fn several_candidates_without_kid_pick_the_signing_key() {
    let keys = jwks(&[
        ed_jwk(1, r#","kid":"a""#),
        ed_jwk(2, r#","kid":"b""#),
        ed_jwk(3, r#","kid":"c""#),
    ]);
    let token = ed_token(r#"{"alg":"EdDSA"}"#, &claims_json(""), 3);
    let prepared = prepare_fresh(&token, &keys, &options(), NOW).unwrap();
    assert_eq!(prepared.candidates(), &[0, 1, 2]);
    assert_eq!(
        verify(&keys, &options(), &token, NOW).unwrap().key_index(),
        2
    );
    // With a kid, only that key is tried: signed by c but naming a fails.
    let wrong_kid = ed_token(r#"{"alg":"EdDSA","kid":"a"}"#, &claims_json(""), 3);
    assert_eq!(
        prepare_fresh(&wrong_kid, &keys, &options(), NOW)
            .unwrap()
            .candidates(),
        &[0]
    );
    assert_eq!(
        code(verify(&keys, &options(), &wrong_kid, NOW)),
        ErrorCode::BadSignature
    );
    // Signed by a key outside the set.
    let stranger = ed_token(r#"{"alg":"EdDSA"}"#, &claims_json(""), 4);
    assert_eq!(
        code(verify(&keys, &options(), &stranger, NOW)),
        ErrorCode::BadSignature
    );
}

#[test]
fn too_many_candidates_without_kid_are_refused() {
    let many: Vec<String> = (1..=MAX_CANDIDATES as u8 + 1)
        .map(|s| ed_jwk(s, ""))
        .collect();
    let keys = jwks(&many);
    let token = ed_token(r#"{"alg":"EdDSA"}"#, &claims_json(""), 1);
    assert_eq!(
        code(verify(&keys, &options(), &token, NOW)),
        ErrorCode::NoMatchingKey
    );
    let few = jwks(&many[..MAX_CANDIDATES]);
    assert!(verify(&few, &options(), &token, NOW).is_ok());
}

#[test]
fn finish_contract() {
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(""));
    let prepared = prepare_fresh(&token, &keys, &options(), NOW).unwrap();
    assert_eq!(prepared.alg(), Algorithm::EdDsa);
    assert_eq!(prepared.kid().map(|k| k.decoded()).as_deref(), Some("ed-1"));
    assert_eq!(prepared.signature().len(), 64);
    assert_eq!(
        prepared.signing_input(),
        token.rsplit_once('.').unwrap().0.as_bytes()
    );
    assert_eq!(
        finish(prepared, Some(5)).unwrap_err().code(),
        ErrorCode::InvalidOptions
    );
    let prepared = prepare_fresh(&token, &keys, &options(), NOW).unwrap();
    assert_eq!(
        finish(prepared, None).unwrap_err().code(),
        ErrorCode::BadSignature
    );
    let prepared = prepare_fresh(&token, &keys, &options(), NOW).unwrap();
    assert_eq!(finish(prepared, Some(0)).unwrap().iss(), ISS);
}

// ---------------------------------------------------------------- claims

#[test]
fn claim_errors_are_held_until_the_signature_verifies() {
    let expired = claims_json("").replace(&format!("{}", NOW + 600), "1");
    let (keys, token) = ed_setup(ED_HEADER, &expired);
    assert_eq!(
        code(verify(&keys, &options(), &token, NOW)),
        ErrorCode::Expired
    );
    // The same claims under a forged signature: bad_signature, not expired.
    let forged = ed_token(ED_HEADER, &expired, 2);
    assert_eq!(
        code(verify(&keys, &options(), &forged, NOW)),
        ErrorCode::BadSignature
    );
    let wrong_iss = ed_token(ED_HEADER, r#"{"iss":"x","exp":"soon"}"#, 2);
    assert_eq!(
        code(verify(&keys, &options(), &wrong_iss, NOW)),
        ErrorCode::BadSignature
    );
}

#[test]
fn exp_is_required_and_numeric() {
    let no_exp = format!(r#"{{"iss":"{ISS}","aud":"{AUD}"}}"#);
    assert_eq!(
        ed_code(ED_HEADER, &no_exp, &options()),
        ErrorCode::MissingClaim
    );
    let string_exp = format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":"{}"}}"#, NOW + 600);
    assert_eq!(
        ed_code(ED_HEADER, &string_exp, &options()),
        ErrorCode::InvalidClaim
    );
    for (extra, expected) in [
        (r#","nbf":"1""#, ErrorCode::InvalidClaim),
        (r#","sub":5"#, ErrorCode::InvalidClaim),
        (r#","jti":null"#, ErrorCode::InvalidClaim),
    ] {
        let payload = format!(
            r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{}{extra}}}"#,
            NOW + 600
        );
        assert_eq!(
            ed_code(ED_HEADER, &payload, &options()),
            expected,
            "{extra}"
        );
    }
    let iat_string = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"iat":"now"}}"#,
        NOW + 600
    );
    assert_eq!(
        ed_code(ED_HEADER, &iat_string, &options()),
        ErrorCode::InvalidClaim
    );
    // Fractional and huge NumericDates are numbers like any other.
    let fractional = format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{NOW}.5,"nbf":1e3}}"#);
    let (keys, token) = ed_setup(ED_HEADER, &fractional);
    let strict = options().with_clock_tolerance_sec(0).unwrap();
    assert!(verify(&keys, &strict, &token, NOW).is_ok());
    assert_eq!(
        code(verify(&keys, &strict, &token, NOW + 1)),
        ErrorCode::Expired
    );
    let huge = format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":1e300,"iat":-1e300}}"#);
    let (keys, token) = ed_setup(ED_HEADER, &huge);
    assert!(verify(&keys, &options(), &token, NOW).is_ok());
}

#[test]
fn clock_tolerance_is_symmetric() {
    let tol = 30;
    let payload =
        |exp: u64, nbf: u64| format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{exp},"nbf":{nbf}}}"#);
    let check = |p: String| {
        let (keys, token) = ed_setup(ED_HEADER, &p);
        verify(&keys, &options(), &token, NOW).map(|_| ())
    };
    // exp: accepted until now < exp + tol.
    assert!(check(payload(NOW - tol + 1, NOW)).is_ok());
    assert_eq!(
        check(payload(NOW - tol, NOW)).unwrap_err().code(),
        ErrorCode::Expired
    );
    // nbf: accepted from now >= nbf - tol.
    assert!(check(payload(NOW + 600, NOW + tol)).is_ok());
    assert_eq!(
        check(payload(NOW + 600, NOW + tol + 1)).unwrap_err().code(),
        ErrorCode::NotYetValid
    );
    // iat in the future beyond the tolerance.
    let iat = |iat: u64| {
        format!(
            r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"iat":{iat}}}"#,
            NOW + 600
        )
    };
    assert!(check(iat(NOW + tol)).is_ok());
    assert_eq!(
        check(iat(NOW + tol + 1)).unwrap_err().code(),
        ErrorCode::NotYetValid
    );
    // Zero tolerance.
    let (keys, token) = ed_setup(ED_HEADER, &payload(NOW, NOW - 10));
    let strict = options().with_clock_tolerance_sec(0).unwrap();
    assert_eq!(
        code(verify(&keys, &strict, &token, NOW)),
        ErrorCode::Expired
    );
    assert!(verify(&keys, &strict, &token, NOW - 1).is_ok());
    let err = verify(&keys, &options(), &token, NOW + 100).unwrap_err();
    assert_eq!(
        err.message(),
        "the token expired 100 s ago (clock tolerance is 30 s)"
    );
}

#[test]
fn issuer_must_match_exactly() {
    for (iss, expected) in [
        (r#""https://console.example/""#, ErrorCode::IssuerMismatch),
        (r#""HTTPS://console.example""#, ErrorCode::IssuerMismatch),
        ("1", ErrorCode::InvalidClaim),
        (r#"["https://console.example"]"#, ErrorCode::InvalidClaim),
    ] {
        let payload = format!(r#"{{"iss":{iss},"aud":"{AUD}","exp":{}}}"#, NOW + 600);
        assert_eq!(ed_code(ED_HEADER, &payload, &options()), expected, "{iss}");
    }
    let no_iss = format!(r#"{{"aud":"{AUD}","exp":{}}}"#, NOW + 600);
    assert_eq!(
        ed_code(ED_HEADER, &no_iss, &options()),
        ErrorCode::MissingClaim
    );
    let two = VerifyOptions::new(["https://other.example", ISS], Audience::one_of([AUD])).unwrap();
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(""));
    assert!(verify(&keys, &two, &token, NOW).is_ok());
    let err = verify(
        &keys,
        &VerifyOptions::new(["a"], Audience::Any).unwrap(),
        &token,
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        r#"iss "https://console.example" is not an accepted issuer; expected one of "a""#
    );
}

#[test]
fn audience_string_or_array() {
    let with_aud = |aud: &str| format!(r#"{{"iss":"{ISS}","aud":{aud},"exp":{}}}"#, NOW + 600);
    let check = |payload: String, options: &VerifyOptions| {
        let (keys, token) = ed_setup(ED_HEADER, &payload);
        verify(&keys, options, &token, NOW).map(|t| t.aud().len())
    };
    assert_eq!(
        check(with_aud(r#"["a","ext-123"]"#), &options()).unwrap(),
        2
    );
    assert_eq!(check(with_aud(r#""ext-123""#), &options()).unwrap(), 1);
    assert_eq!(
        check(with_aud(r#"["a","b"]"#), &options())
            .unwrap_err()
            .code(),
        ErrorCode::AudienceMismatch
    );
    assert_eq!(
        check(with_aud("[]"), &options()).unwrap_err().code(),
        ErrorCode::AudienceMismatch
    );
    assert_eq!(
        check(with_aud(r#""EXT-123""#), &options())
            .unwrap_err()
            .code(),
        ErrorCode::AudienceMismatch
    );
    assert_eq!(
        check(with_aud("1"), &options()).unwrap_err().code(),
        ErrorCode::InvalidClaim
    );
    assert_eq!(
        check(with_aud(r#"["ext-123",1]"#), &options())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidClaim
    );
    let no_aud = format!(r#"{{"iss":"{ISS}","exp":{}}}"#, NOW + 600);
    assert_eq!(
        check(no_aud.clone(), &options()).unwrap_err().code(),
        ErrorCode::MissingClaim
    );
    // Audience::Any: absent or anything well-typed passes.
    let any = VerifyOptions::new([ISS], Audience::Any).unwrap();
    assert_eq!(check(no_aud, &any).unwrap(), 0);
    assert_eq!(check(with_aud(r#""someone-else""#), &any).unwrap(), 1);
    assert_eq!(
        check(with_aud("{}"), &any).unwrap_err().code(),
        ErrorCode::InvalidClaim
    );
    let several = VerifyOptions::new([ISS], Audience::one_of(["x", "b"])).unwrap();
    assert_eq!(check(with_aud(r#"["a","b"]"#), &several).unwrap(), 2);
}

#[test]
fn required_claims_must_be_present() {
    let required = options().with_required_claims(["sub", "scope"]).unwrap();
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(""));
    let err = verify(&keys, &required, &token, NOW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingClaim);
    assert!(err.message().contains("\"scope\""), "{}", err.message());
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(r#","scope":"read""#));
    assert!(verify(&keys, &required, &token, NOW).is_ok());
}

#[test]
fn messages_never_echo_the_token() {
    let (keys, token) = ed_setup(ED_HEADER, &claims_json(""));
    let (_, payload_and_sig) = token.split_once('.').unwrap();
    let forged = ed_token(ED_HEADER, &claims_json(""), 2);
    for result in [
        verify(&keys, &options(), &forged, NOW),
        verify(&keys, &options(), &format!("x{token}"), NOW),
        verify(&keys, &options().with_typ("x").unwrap(), &token, NOW),
    ] {
        let message = result.unwrap_err().message().to_owned();
        assert!(!message.contains(&payload_and_sig[..20]), "{message}");
        assert!(
            !message.is_empty() && message.chars().next().unwrap().is_lowercase(),
            "{message}"
        );
    }
}

// ---------------------------------------------------------------- key sets

#[test]
fn key_set_skips_unusable_keys() {
    let small_n = b64::encode(&[[0xc1u8].as_slice(), &[0x55; 126], &[0x01]].concat()); // 1024 bits, odd
    let good = ed_jwk(1, r#","kid":"ok""#);
    let set = format!(
        r#"{{"keys":[
        {{"kty":"RSA","n":"{small_n}","e":"AQAB"}},
        {{"kty":"oct"}},
        {good},
        {},
        {},
        {},
        {},
        {},
        {{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}},
        {{"kty":"EC","crv":"P-521","x":"AAAA","y":"AAAA"}},
        {{"kty":"OKP","crv":"Ed448","x":"AAAA"}},
        {{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
        {},
        {},
        "not a key",
        {{"kty":"RSA","n":"{}","e":"AQAB"}},
        {{"kty":"RSA","n":"{}","e":"AQ"}},
        {{}}
        ]}}"#,
        ed_jwk(2, r#","d":"AAAA""#),
        ed_jwk(3, r#","use":"enc""#),
        ed_jwk(4, r#","key_ops":["sign"]"#),
        ed_jwk(5, r#","alg":"ES256""#),
        ed_jwk(6, r#","alg":"HS256""#),
        RFC7515_A3_JWKS
            .split_once('[')
            .unwrap()
            .1
            .rsplit_once(']')
            .unwrap()
            .0
            .replace("f83OJ", "f83OK"),
        ed_jwk(7, r#","kid":7"#),
        b64::encode(&[[0xc1u8; 255].as_slice(), &[0xc0]].concat()),
        rsa_n(),
    );
    let keys = KeySet::from_json(&set).unwrap();
    assert_eq!(keys.len(), 1, "{:?}", keys.skipped());
    assert_eq!(keys.get(0).unwrap().kid(), Some("ok"));
    let reasons: Vec<&str> = keys.skipped().iter().map(|s| s.reason).collect();
    assert_eq!(keys.skipped().len(), 17, "{reasons:?}");
    for expected in [
        "RSA modulus is shorter than 2048 bits",
        "symmetric (oct) keys are never used with a JWK Set",
        "holds private or symmetric key material",
        "use is not \"sig\"",
        "key_ops does not contain \"verify\"",
        "alg does not fit the key type or curve",
        "alg is not a supported signature algorithm",
        "EC point is not on the P-256 curve",
        "Ed25519 x is a small-order point",
        "RSA exponent must be odd and between 3 and 2^33-1",
        "RSA modulus is even",
    ] {
        assert!(
            reasons.contains(&expected),
            "missing {expected:?} in {reasons:?}"
        );
    }
    // Only unusable keys: jwks_invalid naming the reasons.
    let err = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"RSA","n":"{small_n}","e":"AQAB"}}]}}"#
    ))
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksInvalid);
    assert!(
        err.message().contains("shorter than 2048"),
        "{}",
        err.message()
    );
}

#[test]
fn key_set_document_shape() {
    for bad in [
        "",
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":[]}"#,
        r#"{"keys":[1]}"#,
        r#"{"keys":[],"keys":[]}"#,
        "\u{feff}{}",
    ] {
        assert_eq!(
            KeySet::from_json(bad).unwrap_err().code(),
            ErrorCode::JwksInvalid,
            "{bad:?}"
        );
    }
    assert_eq!(
        KeySet::from_bytes(&[0xff]).unwrap_err().code(),
        ErrorCode::JwksInvalid
    );
    let at_cap: Vec<String> = (0..MAX_KEYS)
        .map(|i| ed_jwk((i % 200) as u8 + 1, ""))
        .collect();
    assert_eq!(jwks(&at_cap).len(), MAX_KEYS);
    let over: Vec<String> = (0..=MAX_KEYS)
        .map(|i| ed_jwk((i % 200) as u8 + 1, ""))
        .collect();
    let err = KeySet::from_json(&format!(r#"{{"keys":[{}]}}"#, over.join(","))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksInvalid);
}

#[test]
fn public_jwk_json_is_normalised() {
    let ec = KeySet::from_json(RFC7515_A3_JWKS).unwrap();
    assert_eq!(
        ec.get(0).unwrap().public_jwk_json(),
        r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    );
    // Leading zero octets of n and e are dropped (RFC 7518 §6.3.1.1);
    // use / key_ops / kid stay out of the importable JWK.
    let n = rsa_n();
    let padded_n = b64::encode(&[&[0u8][..], &b64::decode(n).unwrap()].concat());
    let rsa = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"k\"1","use":"sig","key_ops":["verify"],"alg":"RS256","n":"{padded_n}","e":"AAEAAQ"}}]}}"#
    ))
    .unwrap();
    let key = rsa.get(0).unwrap();
    assert_eq!(
        key.public_jwk_json(),
        format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"RS256"}}"#)
    );
    assert_eq!(
        key.to_jwk_json(),
        format!(r#"{{"kty":"RSA","kid":"k\"1","n":"{n}","e":"AQAB","alg":"RS256"}}"#)
    );
    assert_eq!(key.rsa_modulus_len(), Some(256));
    // kid goes right after kty for curve keys too.
    let ed = jwks(&[ed_jwk(1, r#","kid":"e""#)]);
    let ed = ed.get(0).unwrap();
    assert_eq!(
        ed.to_jwk_json(),
        ed.public_jwk_json()
            .replace(r#""OKP","#, r#""OKP","kid":"e","#)
    );
    assert!(ed
        .to_jwk_json()
        .starts_with(r#"{"kty":"OKP","kid":"e","crv":"Ed25519","x":""#));
    assert_eq!(key.kind(), KeyKind::Rsa);
    // A set round-trips through to_json.
    let again = KeySet::from_json(&rsa.to_json()).unwrap();
    assert!(again.same_keys(&rsa));
    assert!(!again.same_keys(&ec));
    assert!(rsa.has_kid("k\"1") && !rsa.has_kid("k"));
    // The kid differs from the token's, so the token finds no key there.
    assert_eq!(
        code(verify(&again, &options(), RS256, NOW)),
        ErrorCode::NoMatchingKey
    );
}

// ---------------------------------------------------------------- robustness

proptest::proptest! {
    #[test]
    fn prepare_never_panics_on_random_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
        let keys = jwks(&[ed_jwk(1, "")]);
        let text = String::from_utf8_lossy(&bytes);
        let _ = prepare_fresh(&text, &keys, &options(), NOW);
    }

    #[test]
    fn prepare_never_panics_on_random_segments(
        header in "[A-Za-z0-9_=+/ -]{0,64}",
        payload in "[A-Za-z0-9_-]{0,64}",
        sig in "[A-Za-z0-9_-]{0,120}",
        json in proptest::collection::vec(proptest::sample::select(vec!["{", "}", "[", "]", ",", ":", "\"alg\"", "\"EdDSA\"", "\"ES256\"", "\"kid\"", "\"crit\"", "1", "null", "\"exp\"", "\"aud\"", "\"iss\"", "1e400", "-0"]), 0..16),
    ) {
        let keys = KeySet::from_json(RFC7515_A3_JWKS).unwrap();
        let _ = prepare_fresh(&format!("{header}.{payload}.{sig}"), &keys, &options(), NOW);
        let json_header = b64::encode(json.concat().as_bytes());
        let _ = prepare_fresh(&format!("{json_header}.{json_header}.{sig}"), &keys, &options(), NOW);
        let _ = verify(&keys, &options(), &format!("{}.{json_header}.{sig}", b64::encode(br#"{"alg":"ES256"}"#)), NOW);
    }

    #[test]
    fn key_set_never_panics(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        members in proptest::collection::vec(proptest::sample::select(vec!["\"kty\":\"EC\"", "\"kty\":\"RSA\"", "\"kty\":\"OKP\"", "\"crv\":\"P-256\"", "\"crv\":\"Ed25519\"", "\"x\":\"AAAA\"", "\"y\":\"\"", "\"n\":\"AQAB\"", "\"e\":\"AQAB\"", "\"e\":\"\"", "\"alg\":\"RS256\"", "\"use\":1", "\"key_ops\":[1]"]), 0..8),
    ) {
        let _ = KeySet::from_bytes(&bytes);
        let _ = KeySet::from_json(&format!(r#"{{"keys":[{{{}}}]}}"#, members.join(",")));
    }
}
