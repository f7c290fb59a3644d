//! `state`, nonces and PKCE (RFC 6749 §10.10, §10.12; RFC 7636 §4.1-4.2;
//! RFC 9700 §2.1, §4.7.1).
//!
//! Every random value is 32 bytes (256 bits) from the injected [`Random`],
//! base64url-encoded without padding: 43 characters from the RFC 7636 §4.1
//! unreserved alphabet.

use super::secret::State;
use crate::b64;
use crate::platform::Random;
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};
use sha2::{Digest, Sha256};

/// Random bytes in a `state`, nonce or PKCE verifier.
pub const RANDOM_BYTES: usize = 32;
/// Length of their base64url encoding, and of an S256 challenge.
pub const ENCODED_LEN: usize = 43;

fn random_token(random: &dyn Random) -> Result<String> {
    let mut bytes = [0u8; RANDOM_BYTES];
    random.fill(&mut bytes)?;
    Ok(b64::encode(&bytes))
}

/// A fresh `state` or flow nonce: 256 random bits, base64url (43 chars).
pub fn new_state(random: &dyn Random) -> Result<State> {
    random_token(random).map(State::new)
}

/// A fresh PKCE `code_verifier` (or OpenID Connect `nonce`): 256 random
/// bits, base64url (43 chars, RFC 7636 §4.1 recommends exactly this).
pub fn new_verifier(random: &dyn Random) -> Result<String> {
    random_token(random)
}

/// The S256 `code_challenge`: BASE64URL(SHA256(ASCII(code_verifier)))
/// (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    b64::encode(&Sha256::digest(verifier.as_bytes()))
}

/// True for exactly 43 characters of the base64url alphabet.
pub(crate) fn is_encoded_token(value: &str) -> bool {
    value.len() == ENCODED_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The self-check run before any authorization URL leaves the core: the
/// verifier is well-formed (RFC 7636 §4.1) and the challenge is its S256 hash
/// in 43 base64url characters. Guards against shipping
/// `code_challenge=undefined`.
pub(crate) fn check_pkce_pair(verifier: &str, challenge: &str) -> Result<()> {
    if !super::flow::is_verifier(verifier)
        || !is_encoded_token(challenge)
        || s256_challenge(verifier) != challenge
    {
        return Err(Error::new(
            ErrorCode::Unsupported,
            "refusing to navigate: the PKCE code_challenge is not a 43-character S256 value of the stored verifier \
             (is the random source working?)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::test_support::SeqRandom;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = s256_challenge(verifier);
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(check_pkce_pair(verifier, &challenge).is_ok());
    }

    #[test]
    fn rfc7636_appendix_b_octets() {
        // The 32 octets of Appendix B encode to the Appendix B verifier.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(
            b64::encode(&octets),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn generated_values_are_43_chars_and_distinct() {
        let random = SeqRandom::default();
        let a = new_state(&random).unwrap();
        let b = new_verifier(&random).unwrap();
        assert!(is_encoded_token(a.expose_secret()));
        assert!(is_encoded_token(&b));
        assert_ne!(a.expose_secret(), b.as_str());
        assert!(is_encoded_token(&s256_challenge(&b)));
    }

    #[test]
    fn self_check_rejects_undefined_and_mismatch() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(check_pkce_pair(verifier, "undefined").is_err());
        assert!(check_pkce_pair(verifier, &"A".repeat(43)).is_err());
        assert!(check_pkce_pair("", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_err());
    }
}
