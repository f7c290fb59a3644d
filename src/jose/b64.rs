//! Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).
//!
//! Padding, whitespace, characters outside the URL-safe alphabet and
//! non-canonical trailing bits are all rejected, so one byte string has
//! exactly one encoding (no signature malleability through the encoding).

use base64ct::{Base64UrlUnpadded, Encoding};

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_padding_whitespace_and_non_canonical_bits() {
        assert_eq!(decode("YWI").unwrap(), b"ab");
        assert_eq!(decode("").unwrap(), b"");
        for bad in [
            "YWI=", "YW I", "YWI\n", " YWI", "YWJ", "YW+", "YW/", "Y", "YWI==", "YQ=", "\u{e9}",
        ] {
            assert!(decode(bad).is_none(), "accepted {bad:?}");
        }
        assert_eq!(encode(b"ab"), "YWI");
    }
}
