// Error codes of extension-sso. Every rejection is an `ExtensionSsoError`
// (a real `Error`) whose `.code` is one of these strings. Codes are never renamed.

/** Every error code (the same list `errorCodes()` returns at run time). */
export type ErrorCode =
  | 'invalid_options'
  | 'malformed'
  | 'alg_not_allowed'
  | 'no_matching_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'missing_claim'
  | 'invalid_claim'
  | 'typ_mismatch'
  | 'crit_unsupported'
  | 'jwks_fetch_failed'
  | 'jwks_invalid'
  | 'state_unknown'
  | 'state_expired'
  | 'state_reused'
  | 'state_storage_unavailable'
  | 'iss_mismatch'
  | 'iss_missing'
  | 'authorization_denied'
  | 'invalid_callback'
  | 'handoff_failed'
  | 'popup_blocked'
  | 'popup_closed'
  | 'origin_not_allowed'
  | 'navigation_unavailable'
  | 'not_logged_in'
  | 'token_endpoint_error'
  | 'network_error'
  | 'unsupported'
  | 'invalid_key';

/** The errors extension-sso throws or rejects with. */
export interface ExtensionSsoError extends Error {
  name: 'ExtensionSsoError';
  /** Stable machine-readable code: branch on this, not on the message. */
  code: ErrorCode;
  /** True only for transient failures (network, timeout, HTTP 5xx) worth retrying. */
  retryable: boolean;
  /** The HTTP status involved, when there was one. */
  status?: number;
  /** The OAuth / Matrix `error` (or `errcode`) the server sent. */
  error?: string;
  /** The server's `error_description`. */
  error_description?: string;
  /** The server's `error_uri`. */
  error_uri?: string;
}

/** Every error code, from the wasm module. */
export function errorCodes(): ErrorCode[];
/** The package version. */
export function crateVersion(): string;
