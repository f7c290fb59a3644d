//! The browser client's protocol core: OAuth 2.0 / SSO login for web
//! extensions, in pure Rust (no JS types), tested natively.
//!
//! The wasm facade (`ExtensionClient`) passes a [`Storage`](crate::platform::Storage)
//! (`sessionStorage`, or memory in popup mode — never `localStorage`), a
//! [`Clock`](crate::platform::Clock) and a [`Random`](crate::platform::Random),
//! and only executes what this core decides: navigation, `history.replaceState`,
//! `postMessage` and `fetch`.
//!
//! One login, step by step:
//! 1. [`plan_navigation`] decides how to navigate and where the flow lives
//!    (fails with `state_storage_unavailable` before anything happens);
//! 2. [`start_flow`] stores the flow record (`state`, PKCE verifier, ...) and
//!    returns the authorization URL (RFC 6749 §4.1.1, RFC 7636 §4.3);
//! 3. on the callback page, [`is_callback`], then [`scrubbed_url`] for
//!    `history.replaceState` at once, then [`complete`] checks `state` (or
//!    our nonce), RFC 9207 `iss` and `error`, consumes the flow, and returns
//!    the one request to make ([`Completion`]);
//! 4. [`parse_token_response`] (or [`matrix::parse_login_response`],
//!    [`auth_service::next_location`] and [`auth_service::parse_userinfo`])
//!    turns the answer into a [`Session`].
//!
//! Profiles: `oauth2` (any OAuth 2.0 / OIDC server, seeds 001 and 002),
//! `mia-console` (seed 000), `matrix` (seed 003), `mia-auth-service`
//! (seed 004). See [`ProfileConfig`].

pub mod auth_service;
mod authorize;
mod callback;
mod complete;
mod config;
mod flow;
pub mod matrix;
mod navigation;
mod pkce;
mod secret;
mod session;

pub use crate::protocol::url::origin_of;
pub(crate) use crate::protocol::url::split_scheme;
pub use authorize::{matrix_login_flows_url, start_flow, AuthorizationRequest, NONCE_PARAM};
pub use callback::{is_callback, parse_callback, scrubbed_url, CallbackParams, CALLBACK_PARAMS};
pub use complete::{complete, Completion};
pub use config::{
    AuthServiceProfile, ClientConfig, IssPolicy, MatrixProfile, MiaConsoleProfile, Navigation,
    OAuth2Profile, ProfileConfig, ProfileKind, DEFAULT_STATE_TTL_SEC, MAX_STATE_TTL_SEC,
    MIN_STATE_TTL_SEC, RESERVED_AUTHORIZATION_PARAMS,
};
pub use flow::{FlowRecord, FLOW_KEY_PREFIX, MAX_PENDING_FLOWS};
pub use navigation::{
    accept_callback_message, accept_host_reply, callback_goes_to_opener, callback_message,
    callback_message_origins, host_no_reply_error, is_auth_service_web_login_step,
    navigate_message, plan_navigation, popup_blocked_error, popup_closed_error, FlowStore,
    MessageVerdict, NavigationAction, NavigationPlan, BROADCAST_CHANNEL_NAME,
    CALLBACK_MESSAGE_TYPE, HOST_REPLY_TIMEOUT_MS, NAVIGATE_MESSAGE_TYPE, NAVIGATE_RESULT_TYPE,
    POPUP_FEATURES,
};
pub use pkce::{new_state, new_verifier, s256_challenge};
pub use secret::{AccessToken, AuthorizationCode, IdToken, LoginToken, PkceVerifier, State};
pub use session::{
    decode_unverified_claims, parse_token_response, Identity, IdentitySource, Session, TokenSource,
    EXPIRY_MARGIN_SEC,
};

/// Forgets every pending flow (`logout()`); the facade also drops the
/// in-memory session.
pub fn logout(storage: &dyn crate::platform::Storage) -> crate::Result<()> {
    flow::remove_all(storage)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::config::*;
    use crate::platform::{Random, Storage};
    use crate::{Error, ErrorCode, Result};
    use std::cell::Cell;

    /// Deterministic "randomness": bytes 0, 1, 2, ... wrapping.
    #[derive(Default)]
    pub struct SeqRandom(Cell<u8>);

    impl SeqRandom {
        /// A sequence starting at `first`.
        pub fn starting_at(first: u8) -> Self {
            Self(Cell::new(first))
        }
    }

    impl Random for SeqRandom {
        fn fill(&self, buf: &mut [u8]) -> Result<()> {
            for b in buf {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(1));
            }
            Ok(())
        }
    }

    /// `sessionStorage` that throws "Access is denied".
    pub struct BlockedStorage;

    impl Storage for BlockedStorage {
        fn get(&self, _: &str) -> Result<Option<String>> {
            Err(Error::new(
                ErrorCode::StateStorageUnavailable,
                "access is denied",
            ))
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Err(Error::new(
                ErrorCode::StateStorageUnavailable,
                "access is denied",
            ))
        }
        fn remove(&self, _: &str) -> Result<()> {
            Err(Error::new(
                ErrorCode::StateStorageUnavailable,
                "access is denied",
            ))
        }
        fn keys(&self) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
    }

    /// Storage that accepts writes and forgets them.
    pub struct DroppingStorage;

    impl Storage for DroppingStorage {
        fn get(&self, _: &str) -> Result<Option<String>> {
            Ok(None)
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        fn remove(&self, _: &str) -> Result<()> {
            Ok(())
        }
        fn keys(&self) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
    }

    /// A valid oauth2 configuration with a handoff URL and an issuer.
    pub fn oauth2_config() -> ClientConfig {
        let mut p = OAuth2Profile::new(
            "https://as.example/authorize",
            "client-1",
            "https://ext.example/callback",
        );
        p.issuer = Some("https://as.example".into());
        let mut c = ClientConfig::new(ProfileConfig::OAuth2(p));
        c.token_handoff_url = Some("/api/sso/token".into());
        c
    }
}

#[cfg(test)]
mod proptests {
    use super::test_support::{oauth2_config, SeqRandom};
    use super::*;
    use crate::platform::{FixedClock, MemoryStorage};
    use proptest::prelude::*;

    fn url_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("code=".to_owned()),
            Just("state=".to_owned()),
            Just("iss=".to_owned()),
            Just("error=".to_owned()),
            Just("loginToken=".to_owned()),
            Just("ext_sso_nonce=".to_owned()),
            Just("&".to_owned()),
            Just("#".to_owned()),
            Just("?".to_owned()),
            Just("%".to_owned()),
            Just("%C3%A9".to_owned()),
            Just("+".to_owned()),
            "[ -~]{0,12}",
            "\\PC{0,4}",
        ];
        proptest::collection::vec(piece, 0..24)
            .prop_map(|pieces| format!("https://ext.example/callback{}", pieces.concat()))
    }

    proptest! {
        #[test]
        fn callback_functions_never_panic(url in url_like()) {
            let _ = is_callback(&url);
            let _ = parse_callback(&url);
            let scrubbed = scrubbed_url(&url);
            prop_assert!(!is_callback(&scrubbed), "{}", scrubbed);
            let storage = MemoryStorage::default();
            let config = oauth2_config();
            let _ = start_flow(&storage, &FixedClock(10), &SeqRandom::default(), &config);
            let _ = complete(&storage, &FixedClock(11), &config, &url);
        }

        #[test]
        fn scrubbing_removes_every_callback_param(url in url_like()) {
            let scrubbed = scrubbed_url(&url);
            let parsed = parse_callback(&scrubbed);
            if let Ok(p) = parsed {
                prop_assert!(p.code.is_none() && p.state.is_none() && p.login_token.is_none() && p.nonce.is_none());
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,64}", status in 0u16..1000) {
            let _ = parse_callback(&s);
            let _ = scrubbed_url(&s);
            let _ = origin_of(&s);
            let _ = parse_token_response(TokenSource::Handoff, status, &s, u64::MAX, true);
            let _ = matrix::parse_login_response(status, &s, u64::MAX);
            let _ = matrix::check_login_flows(status, &s, Some("x"));
            let _ = decode_unverified_claims(&s, IdentitySource::IdToken);
            let _ = FlowRecord::parse(&s);
            let _ = accept_callback_message(core::slice::from_ref(&s), &s, &s, ProfileKind::Matrix, &State::new("x"));
        }
    }
}
