//! Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).
//!
//! Padding, whitespace, characters outside the URL-safe alphabet and
//! non-canonical trailing bits are all rejected, so one byte string has
//! exactly one encoding (no signature malleability through the encoding).
//!
//! One small table-driven codec for the whole crate rather than `base64ct`:
//! it is the hot loop of the verifier's `prepare` and the cheapest in the
//! size-optimised wasm builds. What it decodes is public (tokens, public
//! keys); what it encodes is public or single-use random values (`state`,
//! nonces, PKCE verifiers and challenges), so a constant-time codec buys
//! nothing here. (The server's service-client keys stay with `base64ct`:
//! private key material is decoded in constant time into a buffer that is
//! zeroized, and HTTP Basic / PKCS#8 use the standard alphabet.)

use crate::prelude::*;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INVALID: u8 = 0xff;

/// Byte -> 6-bit value, `INVALID` outside the URL-safe alphabet.
// Indexing in a const initialiser: an out-of-range index would fail the
// build, never a run.
#[allow(clippy::indexing_slicing)]
static DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

#[inline(always)]
fn sextet(byte: u8) -> Option<u32> {
    match DECODE.get(usize::from(byte)).copied().unwrap_or(INVALID) {
        INVALID => None,
        v => Some(u32::from(v)),
    }
}

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let input = text.as_bytes();
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    // Six bits in per character, a byte out whenever eight are pending:
    // the smallest loop in the size-optimised build (whole quads at a time
    // run a few times faster but cost ~100 B of gzipped wasm).
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in input {
        acc = acc << 6 | sextet(*byte)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // 6 pending bits: a length of 4n+1, which cannot encode whole bytes.
    // 4 or 2 (after 2 or 3 trailing characters) must be zero (canonical).
    (bits < 6 && acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    encode_into(&mut out, bytes);
    out
}

/// Appends `bytes` as unpadded base64url to `out`.
pub(crate) fn encode_into(out: &mut String, bytes: &[u8]) {
    let mut push = |n: u32| {
        let sym = ALPHABET.get((n & 63) as usize).copied();
        out.push(char::from(sym.unwrap_or(b'A')));
    };
    // Eight bits in per byte, a character out whenever six are pending;
    // the last one is padded with zero bits.
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in bytes {
        acc = acc << 8 | u32::from(*byte);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            push(acc >> bits);
        }
    }
    if bits > 0 {
        push(acc << (6 - bits));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};
    use proptest::prelude::*;

    #[test]
    fn rejects_padding_whitespace_and_non_canonical_bits() {
        assert_eq!(decode("YWI").unwrap(), b"ab");
        assert_eq!(decode("").unwrap(), b"");
        for bad in [
            "YWI=", "YW I", "YWI\n", " YWI", "YWJ", "YW+", "YW/", "Y", "YWI==", "YQ=", "\u{e9}",
            "YR", "YWJj=", "YWJjZ",
        ] {
            assert!(decode(bad).is_none(), "accepted {bad:?}");
        }
        assert_eq!(encode(b"ab"), "YWI");
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"\xfb\xff"), "-_8");
    }

    proptest! {
        #[test]
        fn agrees_with_base64ct(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let text = Base64UrlUnpadded::encode_string(&bytes);
            prop_assert_eq!(encode(&bytes), text.clone());
            prop_assert_eq!(decode(&text), Some(bytes));
        }

        #[test]
        fn decodes_exactly_what_base64ct_decodes(text in "[A-Za-z0-9_=+/ -]{0,12}") {
            prop_assert_eq!(decode(&text), Base64UrlUnpadded::decode_vec(&text).ok());
        }
    }
}
