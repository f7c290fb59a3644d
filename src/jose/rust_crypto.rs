//! Pure-Rust signature verification (RustCrypto), for native Rust users and
//! as the fallback backend. The npm builds leave it out (feature
//! `rust-crypto`) and verify with `node:crypto` or WebCrypto instead.

use p256::ecdsa::signature::Verifier as _;
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::alg::{Algorithm, KeyKind};
use super::jwk::{Jwk, MAX_RSA_BITS};
use super::verify::SignatureBackend;

/// A public key decoded once, when its JWK Set is loaded.
#[derive(Clone, Debug)]
pub(crate) enum ParsedKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl ParsedKey {
    /// Decodes validated key material (`x`,`y` / `n`,`e` / `x`); rejects
    /// points off the curve (SEC 1 §3.2.2.1), RSA keys the backend refuses
    /// and weak (small-order) Ed25519 points (RFC 8032 §5.1.7, RFC 8725 §3.4).
    pub(crate) fn from_parts(
        kind: KeyKind,
        first: &[u8],
        second: &[u8],
    ) -> Result<Self, &'static str> {
        match kind {
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let (x, y) = (first, second);
                if kind == KeyKind::EcP256 {
                    let point =
                        p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
                    p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                        .map(Self::P256)
                        .map_err(|_| "EC point is not on the P-256 curve")
                } else {
                    let point =
                        p384::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
                    p384::ecdsa::VerifyingKey::from_encoded_point(&point)
                        .map(Self::P384)
                        .map_err(|_| "EC point is not on the P-384 curve")
                }
            }
            KeyKind::Rsa => {
                let n = BigUint::from_bytes_be(first);
                let e = BigUint::from_bytes_be(second);
                RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
                    .map(Self::Rsa)
                    .map_err(|_| "RSA public key is invalid")
            }
            KeyKind::Ed25519 => {
                let x: [u8; 32] = first.try_into().map_err(|_| "Ed25519 x is not 32 bytes")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "Ed25519 x is not a valid point")?;
                if key.is_weak() {
                    return Err("Ed25519 x is a small-order point");
                }
                Ok(Self::Ed25519(key))
            }
        }
    }
}

/// Verifies with RustCrypto: ES256 (p256), ES384 (p384), RS256/384/512
/// (PKCS#1 v1.5), PS256/384/512 (PSS, MGF1 with the same hash, salt length
/// equal to the hash length, RFC 7518 §3.5), EdDSA (Ed25519,
/// `verify_strict`: canonical `S`, no small-order keys or `R`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoBackend;

impl SignatureBackend for RustCryptoBackend {
    fn verify(
        &self,
        alg: Algorithm,
        _key_index: usize,
        key: &Jwk,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool {
        match (alg, key.parsed()) {
            (Algorithm::Es256, ParsedKey::P256(k)) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| k.verify(signing_input, &sig).is_ok()),
            (Algorithm::Es384, ParsedKey::P384(k)) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| k.verify(signing_input, &sig).is_ok()),
            (Algorithm::Rs256, ParsedKey::Rsa(k)) => k
                .verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::Rs384, ParsedKey::Rsa(k)) => k
                .verify(
                    Pkcs1v15Sign::new::<Sha384>(),
                    &Sha384::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::Rs512, ParsedKey::Rsa(k)) => k
                .verify(
                    Pkcs1v15Sign::new::<Sha512>(),
                    &Sha512::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::Ps256, ParsedKey::Rsa(k)) => k
                .verify(
                    Pss::new::<Sha256>(),
                    &Sha256::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::Ps384, ParsedKey::Rsa(k)) => k
                .verify(
                    Pss::new::<Sha384>(),
                    &Sha384::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::Ps512, ParsedKey::Rsa(k)) => k
                .verify(
                    Pss::new::<Sha512>(),
                    &Sha512::digest(signing_input),
                    signature,
                )
                .is_ok(),
            (Algorithm::EdDsa, ParsedKey::Ed25519(k)) => {
                ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|sig| k.verify_strict(signing_input, &sig).is_ok())
            }
            _ => false,
        }
    }
}
