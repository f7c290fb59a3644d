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

/// The 6-bit value of `byte`, or a value with bit 7 set outside the
/// alphabet (so four are checked with one test).
#[inline(always)]
fn raw_sextet(byte: u8) -> u32 {
    u32::from(DECODE.get(usize::from(byte)).copied().unwrap_or(INVALID))
}

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    decode_bytes(text.as_bytes())
}

/// [`decode`] of bytes.
pub(crate) fn decode_bytes(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_into(text, &mut out)?;
    Some(out)
}

/// Decodes strict unpadded base64url into `out` (its bytes replaced, its
/// capacity reused: the verifier decodes every token into the same
/// buffers); `None` on any deviation, `out` then holding garbage.
pub(crate) fn decode_into(input: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let tail = match input.len() % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        // A length of 4n+1 cannot encode whole bytes.
        _ => return None,
    };
    // Every byte of `out` is written below: only bytes past its current
    // length are zeroed first (at `opt-level = "z"`, `resize` zeroes byte
    // by byte, and the same buffers decode segments of about the same
    // length token after token: clearing first cost a third of the decode).
    let len = input.len() / 4 * 3 + tail;
    out.truncate(len);
    out.resize(len, 0);
    // Whole quads at a time, with slice patterns rather than iterator
    // adaptors (the size-optimised build does not inline those): this runs
    // on every token segment, and is a few times faster than a bit
    // accumulator for ~100 B more gzipped wasm.
    let mut src = input;
    let mut dst: &mut [u8] = out;
    while let [a, b, c, d, more @ ..] = src {
        let (a, b, c, d) = (
            raw_sextet(*a),
            raw_sextet(*b),
            raw_sextet(*c),
            raw_sextet(*d),
        );
        if (a | b | c | d) & 0x80 != 0 {
            return None;
        }
        let n = a << 18 | b << 12 | c << 6 | d;
        if let [x, y, z, rest @ ..] = core::mem::take(&mut dst) {
            *x = (n >> 16) as u8;
            *y = (n >> 8) as u8;
            *z = n as u8;
            dst = rest;
        }
        src = more;
    }
    // 2 chars carry 1 byte (4 spare bits), 3 chars 2 bytes (2 spare bits);
    // spare bits must be zero (canonical encoding).
    match (src, dst) {
        ([], []) => {}
        ([a, b], [x]) => {
            let n = sextet(*a)? << 6 | sextet(*b)?;
            if n & 0xf != 0 {
                return None;
            }
            *x = (n >> 4) as u8;
        }
        ([a, b, c], [x, y]) => {
            let n = sextet(*a)? << 12 | sextet(*b)? << 6 | sextet(*c)?;
            if n & 0x3 != 0 {
                return None;
            }
            *x = (n >> 10) as u8;
            *y = (n >> 2) as u8;
        }
        _ => return None,
    }
    Some(())
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

        /// A reused buffer (the verifier's, token after token) holds
        /// exactly the decoded bytes, whatever it held before: shorter,
        /// longer, or a failed decode's garbage.
        #[test]
        fn a_reused_buffer_holds_exactly_the_decoded_bytes(
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            garbage in "[A-Za-z0-9_=+/ -]{0,40}",
        ) {
            let text = Base64UrlUnpadded::encode_string(&bytes);
            let mut out = before;
            let _ = decode_into(garbage.as_bytes(), &mut out);
            prop_assert_eq!(decode_into(text.as_bytes(), &mut out), Some(()));
            prop_assert_eq!(out, bytes);
        }
    }
}
