//! Range checks on signature scalars and public-key coordinates, done before
//! any cryptography so every backend (RustCrypto, node:crypto, WebCrypto)
//! sees the same, already-sane input, and no small-order Ed25519 keys or
//! `R`s in any build: node:crypto verifies against a small-order Ed25519 key,
//! so a set holding one would accept a signature made without any private
//! key.
//!
//! Whether an EC point is on its curve is not checked here: the native build
//! checks it when a set loads ([`super::rust_crypto`]); the npm builds leave
//! it to the runtime's key import (node:crypto and WebCrypto refuse such a
//! point; see [`super::jwk::KeySet::from_json`]). A curve-equation check in
//! the wasm measured +572 B gzip on the verifier entry (bit-serial modular
//! arithmetic, issue 16's notes): not worth it for an error message.
//!
//! The constants are the group orders and field primes of FIPS 186-5 /
//! SEC 2 (P-256, P-384) and RFC 8032 §5.1 (Ed25519).

#[rustfmt::skip]
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
#[rustfmt::skip]
const P256_FIELD: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];
#[rustfmt::skip]
const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];
#[rustfmt::skip]
const P384_FIELD: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
];
/// The Ed25519 point encodings of small order (the 8-torsion: orders 1, 2,
/// 4 and 8), sign bit cleared, canonical or not (`y = p`, `y = p + 1`):
/// libsodium's `has_small_order` list (`y` little-endian: 0, 1, the two
/// order-8 `y`s, p - 1, p, p + 1).
#[rustfmt::skip]
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
        0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
        0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
    ed25519_near_p(0xec),
    ed25519_near_p(0xed),
    ed25519_near_p(0xee),
];

/// `p - 19 + low` little-endian (p = 2^255 - 19): `0xed` is p itself.
const fn ed25519_near_p(low: u8) -> [u8; 32] {
    let mut y = [0xff; 32];
    y[0] = low;
    y[31] = 0x7f;
    y
}

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
#[rustfmt::skip]
const ED25519_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The curves whose scalars and coordinates we range-check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    /// Scalar / coordinate length in bytes.
    pub(crate) const fn len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    fn order(self) -> &'static [u8] {
        match self {
            Self::P256 => &P256_ORDER,
            Self::P384 => &P384_ORDER,
        }
    }

    fn field(self) -> &'static [u8] {
        match self {
            Self::P256 => &P256_FIELD,
            Self::P384 => &P384_FIELD,
        }
    }
}

/// An Ed25519 point encoding (32 bytes) of small order: a weak public key
/// (RFC 8032 §5.1.7 leaves it to the verifier; RFC 8725 §3.4) or a
/// malleable `R`. The sign bit is ignored, as in libsodium.
pub(crate) fn ed25519_small_order(point: &[u8]) -> bool {
    let Some((last, rest)) = point.split_last() else {
        return false;
    };
    point.len() == 32
        && ED25519_SMALL_ORDER
            .iter()
            .any(|bad| bad.split_last() == Some((&(last & 0x7f), rest)))
}

/// True when `value` (big-endian, same length as `bound`) is `< bound`.
/// Equal-length slices compare lexicographically as big-endian integers.
fn less_than(value: &[u8], bound: &[u8]) -> bool {
    value.len() == bound.len() && value < bound
}

/// An ECDSA raw signature `r || s` (RFC 7518 §3.4) of exactly twice the
/// scalar length, with both scalars in `[1, n-1]` (FIPS 186-5 §6.4.2 step 1).
///
/// High `s` (`s > n/2`) is valid ECDSA and is what OpenSSL and WebCrypto
/// signers produce half the time, so it is accepted; only out-of-range
/// values are rejected.
pub(crate) fn ecdsa_signature_in_range(curve: Curve, signature: &[u8]) -> bool {
    if signature.len() != 2 * curve.len() {
        return false;
    }
    let Some((r, s)) = signature.split_at_checked(curve.len()) else {
        return false;
    };
    let nonzero = |x: &[u8]| x.iter().any(|b| *b != 0);
    nonzero(r) && nonzero(s) && less_than(r, curve.order()) && less_than(s, curve.order())
}

/// An affine coordinate of exactly the field length, below the field prime
/// (SEC 1 §2.3.6: field elements are in `[0, p-1]`).
pub(crate) fn coordinate_in_range(curve: Curve, coordinate: &[u8]) -> bool {
    less_than(coordinate, curve.field())
}

/// An Ed25519 signature of 64 bytes whose `S` half is `< L`
/// (RFC 8032 §5.1.7 step 1: "if S is not in range, reject") and whose `R`
/// is not of small order (as `verify_strict` in the native build).
pub(crate) fn ed25519_signature_in_range(signature: &[u8]) -> bool {
    let (Some(r), Some(s_le)) = (signature.get(..32), signature.get(32..64)) else {
        return false;
    };
    if signature.len() != 64 || ed25519_small_order(r) {
        return false;
    }
    // Compare little-endian integers from the most significant byte down.
    for (s, l) in s_le.iter().rev().zip(ED25519_ORDER_LE.iter().rev()) {
        if s != l {
            return s < l;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_r_s(curve: Curve, r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; 2 * curve.len()];
        let n = curve.len();
        sig[n - r.len()..n].copy_from_slice(r);
        sig[2 * n - s.len()..].copy_from_slice(s);
        sig
    }

    #[test]
    fn ecdsa_scalars_must_be_between_one_and_order_minus_one() {
        for curve in [Curve::P256, Curve::P384] {
            assert!(ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &[1], &[1])
            ));
            assert!(!ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &[], &[1])
            ));
            assert!(!ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &[1], &[])
            ));
            let order = curve.order().to_vec();
            let mut order_minus_one = order.clone();
            *order_minus_one.last_mut().unwrap() -= 1;
            assert!(ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &order_minus_one, &order_minus_one)
            ));
            assert!(!ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &order, &[1])
            ));
            assert!(!ecdsa_signature_in_range(
                curve,
                &with_r_s(curve, &[1], &order)
            ));
            assert!(!ecdsa_signature_in_range(
                curve,
                &vec![0xff; 2 * curve.len()]
            ));
            // Wrong length (e.g. a DER encoding) is rejected.
            assert!(!ecdsa_signature_in_range(curve, &[1u8; 10]));
        }
    }

    #[test]
    fn small_order_ed25519_points_are_those_dalek_calls_weak() {
        for bad in ED25519_SMALL_ORDER {
            for sign in [0, 0x80] {
                let mut point = bad;
                point[31] |= sign;
                assert!(ed25519_small_order(&point), "{point:?}");
                #[cfg(feature = "rust-crypto")]
                if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&point) {
                    assert!(key.is_weak(), "{point:?}");
                }
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&point);
                assert!(!ed25519_signature_in_range(&sig), "R = {point:?}");
            }
        }
        // RFC 8032 §7.1 test 1's public key.
        let key = crate::b64::decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert!(!ed25519_small_order(&key));
        #[cfg(feature = "rust-crypto")]
        for seed in 0u8..=255 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
            assert!(!ed25519_small_order(key.as_bytes()), "{seed}");
        }
        assert!(!ed25519_small_order(&[0; 31]));
        assert!(!ed25519_small_order(&[2; 32]));
    }

    #[test]
    fn ed25519_s_must_be_below_l() {
        let mut sig = [7u8; 64];
        sig[32..].copy_from_slice(&ED25519_ORDER_LE);
        assert!(!ed25519_signature_in_range(&sig));
        sig[32] -= 1;
        assert!(ed25519_signature_in_range(&sig));
        sig[63] = 0xff;
        assert!(!ed25519_signature_in_range(&sig));
        assert!(!ed25519_signature_in_range(&[0u8; 63]));
        assert!(!ed25519_signature_in_range(&[0u8; 65]));
    }

    #[test]
    fn coordinates_must_be_below_the_field_prime() {
        assert!(coordinate_in_range(Curve::P256, &[0u8; 32]));
        assert!(!coordinate_in_range(Curve::P256, &P256_FIELD));
        assert!(!coordinate_in_range(Curve::P384, &[0u8; 32]));
        let mut below = P384_FIELD;
        below[47] -= 1;
        assert!(coordinate_in_range(Curve::P384, &below));
    }
}
