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
//! | `exchangeCode` | [`exchange_code_request`] + [`parse_exchange_response`] |
//! | `refreshTokens` | [`refresh_request`] + [`parse_token_response`] |
//! | `matrixTokenLogin` | [`matrix_login_flows_request`] + [`check_login_flows`], [`matrix_token_login_request`] + [`parse_matrix_login`] |
//! | `createHandoffHandler` | [`HandoffHandler`] |
//! | `ServiceClientTokenProvider` | `ServiceClientTokenProvider` (feature `server`) |
//!
//! Tokens, codes, secrets and verifiers never appear in `Debug` output or
//! error messages.

mod exchange;
mod handoff;
mod http;
mod identity;
mod matrix;
#[cfg(feature = "server")]
mod service_client;

pub use exchange::{
    basic_authorization, exchange_code_request, parse_exchange_response, parse_token_response,
    refresh_request, ClientAuth, ExchangeOptions, ExchangeProfile, OAuth2Client, RefreshOptions,
    TokenSet,
};
pub use handoff::{
    cookie_value, is_cookie_value, parse_bearer, CookieConfig, ExchangeStep, HandlerStep,
    HandoffConfig, HandoffHandler, SameSite, UserInfoStep, DEFAULT_MAX_BODY_BYTES,
    MAX_COOKIE_BYTES,
};
pub use http::{
    find_header, network_error, timeout_error, HttpRequest, HttpResponse, HttpResponseOut, Secret,
    DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES,
};
pub use identity::{Identity, IdentitySource};
pub use matrix::{
    check_login_flows, matrix_login_flows_request, matrix_token_login_request, parse_matrix_login,
    MatrixLoginOptions, MatrixSession,
};
#[cfg(feature = "server")]
pub use service_client::{
    ServiceClientTokenProvider, REFRESH_BEFORE_EXPIRY_SEC, TOKEN_LIFETIME_SEC,
};
