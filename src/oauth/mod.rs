//! The browser client's protocol core: OAuth 2.0 / SSO login for web
//! extensions, in pure Rust (no JS types), tested natively.
//!
//! [`Client`] is the state machine the JS `ExtensionClient`
//! (`pkg-template/lib/client.js`) drives: one JSON event in, one JSON step
//! out (its module docs list both). The JS layer does every I/O
//! (`sessionStorage`, or memory in popup mode — never `localStorage` —,
//! navigation, `history.replaceState`, `postMessage`, `fetch`) and hands the
//! core the clock and random bytes; the core decides.
//!
//! One login, step by step:
//! 1. [`plan_navigation`] decides how to navigate and where the flow lives
//!    (fails with `state_storage_unavailable` before anything happens);
//! 2. [`start_flow`] stores the flow record (`state`, PKCE verifier, OpenID
//!    Connect `nonce`, ...) and returns the authorization URL (RFC 6749
//!    §4.1.1, RFC 7636 §4.3);
//! 3. on the callback page, [`is_callback`], then [`scrubbed_url`] for
//!    `history.replaceState` at once, then [`complete`] checks `state` (or
//!    our nonce), RFC 9207 `iss` and `error`, spends the flow, and returns
//!    the one request to make ([`Request`]);
//! 4. [`parse_token_response`] (or [`matrix::parse_login_response`],
//!    [`auth_service::next_location`] and [`auth_service::parse_userinfo`])
//!    turns the answer into a [`Session`].
//!
//! Profiles: `oauth2` (any OAuth 2.0 / OpenID Connect server), `mia-console`
//! (the Mia-Platform Console), `matrix` (Matrix SSO) and `mia-auth-service`
//! (the Mia-Platform Authentication Service). See [`Config`].

pub mod auth_service;
mod authorize;
mod callback;
mod client;
mod complete;
pub mod config;
mod flow;
pub mod matrix;
mod navigation;
mod pkce;
mod secret;
mod session;
mod write;

pub use authorize::{start_flow, AuthorizationRequest};
pub use callback::{
    is_callback, parse_callback, scrubbed_url, CallbackParams, CALLBACK_PARAMS, NONCE_PARAM,
};
pub use client::{Client, RANDOM_BYTES, SESSION_KEY_PREFIX};
pub use complete::{complete, Request, Then};
pub use config::{Config, IssPolicy, Navigation, ProfileKind};
pub use flow::{FlowRecord, Flows, Write, FLOW_KEY_PREFIX, MAX_PENDING_FLOWS};
pub use navigation::{
    accept_callback_message, accept_host_reply, callback_message, callback_message_origin,
    host_no_reply_error, is_auth_service_web_login_step, navigate_message, plan_navigation,
    popup_blocked_error, popup_closed_error, popup_error, FlowStore, HostReply, MessageSource,
    NavigationAction, BROADCAST_CHANNEL_NAME, CALLBACK_ERROR_TYPE, CALLBACK_MESSAGE_TYPE,
    HOST_REPLY_TIMEOUT_MS, MAX_MESSAGE_LEN, NAVIGATE_MESSAGE_TYPE, NAVIGATE_RESULT_TYPE,
    POPUP_FEATURES,
};
pub use pkce::{new_state, new_verifier, s256_challenge};
pub use secret::{AccessToken, IdToken, State};
// The backend's origin check uses the same scheme split (src/server/handoff.rs).
pub(crate) use crate::protocol::url::split_scheme;
pub use session::{
    check_id_token_nonce, parse_token_response, Session, TokenSource, EXPIRY_MARGIN_SEC,
};

#[cfg(test)]
pub(crate) mod test_support {
    use super::config::Config;
    use crate::json::{self, Value};
    use crate::platform::Random;
    use crate::Result;
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

    /// A valid oauth2 configuration with a handoff URL.
    pub const OAUTH2: &str = r#"{"profile":"oauth2","authorizationEndpoint":"https://as.example/authorize",
        "clientId":"client-1","redirectUri":"https://ext.example/callback","tokenHandoffUrl":"/api/sso/token"}"#;

    /// The configuration of an options document (panics when invalid).
    pub fn config(options: &str) -> Config {
        match json::parse(options) {
            Ok(Value::Object(o)) => {
                Config::read(o).unwrap_or_else(|e| panic!("{options}: {}", e.message()))
            }
            _ => panic!("not an object: {options}"),
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::test_support::{config, SeqRandom, OAUTH2};
    use super::*;
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
            Just("%ff".to_owned()),
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
            let mut flows = Flows::default();
            let c = config(OAUTH2);
            let _ = start_flow(&mut flows, 10, &SeqRandom::default(), &c);
            let _ = complete(&mut flows, 11, &c, &url);
        }

        #[test]
        fn scrubbing_removes_every_callback_param(url in url_like()) {
            if let Ok(p) = parse_callback(&scrubbed_url(&url)) {
                prop_assert!(p.code.is_none() && p.state.is_none() && p.login_token.is_none() && p.nonce.is_none());
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,64}", status in 0u16..1000) {
            let _ = parse_callback(&s);
            let _ = scrubbed_url(&s);
            let _ = parse_token_response(TokenSource::Handoff, status, &s, u64::MAX, true);
            let _ = matrix::parse_login_response(status, &s, u64::MAX);
            let _ = matrix::check_login_flows(status, &s, Some("x"));
            let _ = FlowRecord::parse(&s);
            let data = crate::json::Value::String(s.clone());
            let _ = accept_callback_message(&s, &s, MessageSource::OurPopup, &data, ProfileKind::Matrix, &State::new("x"));
        }
    }
}
