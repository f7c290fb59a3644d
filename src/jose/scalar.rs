//! Range checks on signature scalars and public-key coordinates, done before
//! any cryptography so every backend (RustCrypto, node:crypto, WebCrypto)
//! sees the same, already-sane input.
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
/// (RFC 8032 §5.1.7 step 1: "if S is not in range, reject").
pub(crate) fn ed25519_signature_in_range(signature: &[u8]) -> bool {
    let Some(s_le) = signature.get(32..64) else {
        return false;
    };
    if signature.len() != 64 {
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
    fn ed25519_s_must_be_below_l() {
        let mut sig = [0u8; 64];
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
