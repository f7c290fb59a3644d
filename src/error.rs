//! One error type for the whole crate.
//!
//! Every failure carries a stable, machine-readable [`ErrorCode`] (a snake_case
//! string shared with JavaScript as `err.code`), a human message that says what
//! to fix, and a `retryable` flag that is true only for transient conditions
//! (network failures, timeouts, HTTP 5xx).
//!
//! Messages never contain tokens, authorization codes, `state` values or PKCE
//! verifiers.

use crate::prelude::*;
use core::fmt;

/// Declares [`ErrorCode`] with its `ALL`, `as_str` and [`CODE_LIST`] from
/// one list of `Variant = "string"`, so they cannot disagree.
macro_rules! error_codes {
    (
        $(#[$attr:meta])*
        pub enum ErrorCode {
            $(#[$first_doc:meta])* $first:ident = $first_str:literal,
            $($(#[$doc:meta])* $code:ident = $str:literal,)*
        }
    ) => {
        $(#[$attr])*
        pub enum ErrorCode {
            $(#[$first_doc])* $first,
            $($(#[$doc])* $code,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order (used to publish the TypeScript union).
            pub const ALL: &'static [ErrorCode] = &[Self::$first, $(Self::$code),*];

            /// The stable snake_case string (`err.code` in JavaScript).
            pub const fn as_str(self) -> &'static str {
                match self {
                    Self::$first => $first_str,
                    $(Self::$code => $str,)*
                }
            }
        }

        /// Every code's string, in declaration order, separated by spaces.
        pub(crate) const CODE_LIST: &str = concat!($first_str, $(" ", $str,)*);
    };
}

error_codes! {
    /// Stable machine-readable error codes. Existing codes are never renamed.
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ErrorCode {
        // ---- options / programming errors ----
        /// The options passed to a constructor or function are invalid.
        InvalidOptions = "invalid_options",

        // ---- JWT / JWKS verification (RFC 7515, 7517, 7518, 7519, 8725) ----
        /// The token is not a well-formed compact JWS / JWT.
        Malformed = "malformed",
        /// The header `alg` is not in the allow-list.
        AlgNotAllowed = "alg_not_allowed",
        /// No key in the JWK Set matches the token.
        NoMatchingKey = "no_matching_key",
        /// The signature does not verify.
        BadSignature = "bad_signature",
        /// `exp` is in the past (beyond the clock tolerance).
        Expired = "expired",
        /// `nbf` (or `iat`) is in the future (beyond the clock tolerance).
        NotYetValid = "not_yet_valid",
        /// `iss` is not one of the accepted issuers.
        IssuerMismatch = "issuer_mismatch",
        /// `aud` does not contain an accepted audience.
        AudienceMismatch = "audience_mismatch",
        /// A required claim is absent.
        MissingClaim = "missing_claim",
        /// A claim has the wrong type or value.
        InvalidClaim = "invalid_claim",
        /// The header `typ` is not the required one.
        TypMismatch = "typ_mismatch",
        /// The header lists a `crit` extension we do not implement.
        CritUnsupported = "crit_unsupported",
        /// The JWK Set could not be fetched.
        JwksFetchFailed = "jwks_fetch_failed",
        /// The JWK Set is not valid or holds no usable key.
        JwksInvalid = "jwks_invalid",

        // ---- browser client (RFC 6749, 7636, 9207, 9700) ----
        /// The callback's `state` matches no pending flow.
        StateUnknown = "state_unknown",
        /// The callback's `state` belongs to a flow older than `stateTtlSec`.
        StateExpired = "state_expired",
        /// The callback's `state` was already used.
        StateReused = "state_reused",
        /// `sessionStorage` is not usable (blocked third-party storage, private mode).
        StateStorageUnavailable = "state_storage_unavailable",
        /// RFC 9207 `iss` differs from the expected issuer.
        IssMismatch = "iss_mismatch",
        /// RFC 9207 `iss` is required but absent.
        IssMissing = "iss_missing",
        /// The authorization server answered with an `error`.
        AuthorizationDenied = "authorization_denied",
        /// The callback URL is not a valid callback.
        InvalidCallback = "invalid_callback",
        /// The extension backend rejected the handoff or could not be reached.
        HandoffFailed = "handoff_failed",
        /// The browser blocked the login popup.
        PopupBlocked = "popup_blocked",
        /// The user closed the login popup before finishing.
        PopupClosed = "popup_closed",
        /// A message came from an origin that is not allowed.
        OriginNotAllowed = "origin_not_allowed",
        /// The requested navigation or flow is not possible in this context.
        NavigationUnavailable = "navigation_unavailable",
        /// There is no session (not logged in, or it expired).
        NotLoggedIn = "not_logged_in",

        // ---- backend helpers ----
        /// The token endpoint answered with an OAuth error or an unusable response.
        TokenEndpointError = "token_endpoint_error",
        /// A request failed at the network level (connection, timeout, body cap).
        NetworkError = "network_error",
        /// The server does not support the requested login flow.
        Unsupported = "unsupported",
        /// The private key / access key is invalid.
        InvalidKey = "invalid_key",

        // ---- every entry ----
        /// The caller's `AbortSignal` fired (`err.cause` is `signal.reason`); never retryable.
        Aborted = "aborted",
        /// The authorization server's metadata (OpenID Connect Discovery 1.0, RFC 8414)
        /// could not be fetched or is not a valid metadata document.
        DiscoveryFailed = "discovery_failed",

        // ---- the handoff handler ----
        /// An incoming request the handoff handler cannot read: a bad `Host`
        /// header, a request target that is not a path, a body the client
        /// stopped sending.
        InvalidRequest = "invalid_request",
    }
}

impl ErrorCode {
    /// [`Self::as_str`] sliced from [`CODE_LIST`]. The wasm facades and
    /// `Display` use it: their wasm then holds the strings once, without
    /// `as_str`'s table of them.
    pub(crate) fn name(self) -> &'static str {
        let (mut index, mut start) = (self as usize, 0);
        for (at, &byte) in CODE_LIST.as_bytes().iter().enumerate() {
            if byte == b' ' {
                if index == 0 {
                    return CODE_LIST.get(start..at).unwrap_or_default();
                }
                index -= 1;
                start = at + 1;
            }
        }
        CODE_LIST.get(start..).unwrap_or_default()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The OAuth 2.0 error triple an authorization server or token endpoint sent
/// (RFC 6749 §4.1.2.1, §5.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthErrorFields {
    /// `error`
    pub error: String,
    /// `error_description`
    pub error_description: Option<String>,
    /// `error_uri`
    pub error_uri: Option<String>,
}

/// The crate's error: a code, a message that says what to fix, and details.
///
/// One pointer wide (the fields live in a box), so `Result<T>` stays small
/// and cheap to return through every `?`: errors are rare, results are not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    code: ErrorCode,
    message: String,
    retryable: bool,
    status: Option<u16>,
    /// Not in the npm verifier's wasm, which never makes such an error
    /// (less drop and clone code in every error path there).
    #[cfg(any(not(target_arch = "wasm32"), feature = "client", feature = "server"))]
    oauth: Option<OAuthErrorFields>,
}

impl Error {
    /// A non-retryable error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            message: message.into(),
            retryable: false,
            status: None,
            #[cfg(any(not(target_arch = "wasm32"), feature = "client", feature = "server"))]
            oauth: None,
        }))
    }

    /// Marks the error as transient (network failure, timeout, HTTP 5xx).
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.0.retryable = retryable;
        self
    }

    /// Attaches the HTTP status that caused the error. A 5xx status, 408 or
    /// 429 makes the error retryable.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        if status >= 500 || status == 408 || status == 429 {
            self.0.retryable = true;
        }
        self
    }

    /// Attaches the OAuth error fields the server sent.
    #[must_use]
    #[cfg_attr(
        not(any(not(target_arch = "wasm32"), feature = "client", feature = "server")),
        allow(unused_mut)
    )]
    pub fn with_oauth(mut self, fields: OAuthErrorFields) -> Self {
        #[cfg(any(not(target_arch = "wasm32"), feature = "client", feature = "server"))]
        {
            self.0.oauth = Some(fields);
        }
        #[cfg(not(any(not(target_arch = "wasm32"), feature = "client", feature = "server")))]
        let _ = fields;
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The message (never contains secrets).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// True only for transient failures worth retrying.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// The HTTP status involved, if any.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The OAuth `error`, `error_description`, `error_uri` the server sent, if any.
    pub fn oauth(&self) -> Option<&OAuthErrorFields> {
        #[cfg(any(not(target_arch = "wasm32"), feature = "client", feature = "server"))]
        return self.0.oauth.as_ref();
        #[cfg(not(any(not(target_arch = "wasm32"), feature = "client", feature = "server")))]
        None
    }

    /// Shorthand for an [`ErrorCode::InvalidOptions`] error.
    pub fn options(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidOptions, message)
    }

    /// Shorthand for an [`ErrorCode::Malformed`] error.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Malformed, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code.as_str(), self.0.message)
    }
}

impl core::error::Error for Error {}

/// One part of an error message built by [`msg!`]: text or a number.
pub(crate) trait Part {
    /// Appends the part to `out`.
    fn push_to(&self, out: &mut String);
}

impl Part for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Part for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: Part + ?Sized> Part for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

impl Part for u64 {
    fn push_to(&self, out: &mut String) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = *self;
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits.get(at..).unwrap_or_default() {
            out.push(char::from(d));
        }
    }
}

impl Part for usize {
    fn push_to(&self, out: &mut String) {
        (*self as u64).push_to(out);
    }
}

impl Part for u16 {
    fn push_to(&self, out: &mut String) {
        u64::from(*self).push_to(out);
    }
}

impl Part for i64 {
    fn push_to(&self, out: &mut String) {
        if *self < 0 {
            out.push('-');
        }
        self.unsigned_abs().push_to(out);
    }
}

/// `template` with each NUL replaced by the next of `args` (see [`msg!`]).
pub(crate) fn fill(template: &str, args: &[&dyn Part]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let (mut start, mut at) = (0, 0);
    while let Some(&byte) = template.as_bytes().get(at) {
        at += 1;
        if byte == 0 {
            out.push_str(template.get(start..at - 1).unwrap_or_default());
            if let Some(arg) = args.next() {
                arg.push_to(&mut out);
            }
            start = at;
        }
    }
    out.push_str(template.get(start..).unwrap_or_default());
    out
}

/// `msg!("the token is ", len, " bytes")`: a message from text and numbers.
///
/// Used instead of `format!` on every path the npm verifier reaches:
/// `core::fmt`'s machinery costs its wasm several kB. The literals become
/// one template (NUL where a value goes), so a call site passes one string
/// and the values only.
macro_rules! msg {
    (@ [$($text:tt),*] [$($arg:expr),*]) => {
        $crate::error::fill(
            concat!($($text),*),
            &[$(&$arg as &dyn $crate::error::Part),*],
        )
    };
    (@ [$($text:tt),*] [$($arg:expr),*] $lit:literal $(, $($rest:tt)*)?) => {
        $crate::error::msg!(@ [$($text,)* $lit] [$($arg),*] $($($rest)*)?)
    };
    (@ [$($text:tt),*] [$($arg:expr),*] $part:expr $(, $($rest:tt)*)?) => {
        $crate::error::msg!(@ [$($text,)* "\0"] [$($arg,)* $part] $($($rest)*)?)
    };
    ($($part:tt)+) => {
        $crate::error::msg!(@ [] [] $($part)+)
    };
}
pub(crate) use msg;

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(code.name(), s);
        }
        let all: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(CODE_LIST, all.join(" "));
    }

    #[test]
    fn msg_joins_text_and_numbers() {
        let name = String::from("exp");
        assert_eq!(
            msg!(
                "\"",
                name,
                "\" is ",
                0u64,
                ", ",
                18_446_744_073_709_551_615u64,
                ", ",
                -42i64,
                " or ",
                7usize
            ),
            "\"exp\" is 0, 18446744073709551615, -42 or 7"
        );
        assert_eq!(msg!(i64::MIN), "-9223372036854775808");
    }

    #[test]
    fn status_5xx_is_retryable_4xx_is_not() {
        assert!(Error::new(ErrorCode::HandoffFailed, "x")
            .with_status(503)
            .is_retryable());
        assert!(!Error::new(ErrorCode::HandoffFailed, "x")
            .with_status(400)
            .is_retryable());
        assert_eq!(Error::malformed("m").to_string(), "malformed: m");
    }
}
