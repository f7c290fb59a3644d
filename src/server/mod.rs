//! Backend helpers: code exchange per host format, refresh, Matrix token
//! login, the handoff request handler and the service-client token minter.
//!
//! Everything here is I/O-free. Builders return an [`HttpRequest`] for the
//! caller to send; parsers take the [`HttpResponse`] it received. The wasm
//! facade (`extension-sso/server`) performs the `fetch`, enforces
//! [`HttpRequest::timeout_ms`] and reads at most [`MAX_RESPONSE_BYTES`] + 1
//! bytes, and maps network failures with [`network_error`] / [`timeout_error`].
//!
//! | JS (`extension-sso/server`) | Rust core |
//! |---|---|
//! | `exchangeCode` | [`TokenFlow::code`]: the issuer's metadata ([`MetadataCache`]), [`exchange_code_request`] + [`parse_exchange_response`], the ID Token ([`check_id_token`], [`check_at_hash`]) |
//! | `refreshTokens` | [`TokenFlow::refresh`]: the same with [`refresh_request`] + [`parse_token_response`] |
//! | `matrixTokenLogin` | [`MatrixFlow`]: [`matrix_login_flows_request`] + [`check_login_flows`], [`matrix_token_login_request`] + [`parse_matrix_login`] |
//! | `createHandoffHandler` | [`HandoffHandler`] (its exchange is a [`TokenFlow`]) |
//! | (the metadata cache kept per `fetch`) | [`MetadataCache`] |
//! | `ServiceClientTokenProvider` | [`TokenMinter`] (signed by the runtime's crypto); natively `ServiceClientTokenProvider` (feature `rust-crypto`) |
//!
//! Tokens, codes, secrets and verifiers never appear in `Debug` output or
//! error messages.

mod exchange;
mod flow;
mod handoff;
mod http;
mod id_token;
mod identity;
mod matrix;
mod metadata;
mod service_client;

#[cfg(all(target_arch = "wasm32", feature = "server"))]
pub(crate) use exchange::refuse_misplaced;
pub use exchange::{
    basic_authorization, exchange_code_request, parse_exchange_response, parse_token_response,
    refresh_request, ClientAuth, ExchangeOptions, ExchangeProfile, OAuth2Client, RefreshOptions,
    TokenSet,
};
pub use flow::{FlowStep, Grant, Server, TokenFlow};
pub use handoff::{
    cookie_value, is_cookie_value, parse_bearer, CookieConfig, ExchangeStep, HandoffConfig,
    HandoffHandler, HandoffStep, Level, PendingHandoff, Rejection, Route, SameSite, UserInfoStep,
    DEFAULT_MAX_BODY_BYTES, MAX_COOKIE_BYTES,
};
#[cfg(all(target_arch = "wasm32", feature = "server"))]
pub(crate) use http::JsonBody;
pub use http::{
    find_header, network_error, timeout_error, HttpRequest, HttpResponse, HttpResponseOut, Secret,
    DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES,
};
pub use id_token::{at_hash_digest, check_at_hash, check_id_token, IdTokenRules, NonceCheck};
pub use identity::{Identity, IdentitySource};
pub use matrix::{
    check_login_flows, matrix_login_flows_request, matrix_token_login_request, parse_matrix_login,
    MatrixFlow, MatrixLoginOptions, MatrixSession,
};
pub use metadata::{
    fresh_for, Lookup, MetadataCache, DEFAULT_FRESH_SEC, FAILURE_COOLDOWN_SEC, MAX_FRESH_SEC,
    MAX_ISSUERS, MIN_FRESH_SEC,
};
#[cfg(feature = "rust-crypto")]
pub use service_client::ServiceClientTokenProvider;
pub use service_client::{
    AccessKey, Mint, PublicKey, SigningAlgorithm, TokenMinter, UnsignedToken,
    REFRESH_BEFORE_EXPIRY_SEC, TOKEN_LIFETIME_SEC,
};
