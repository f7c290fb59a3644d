// Error codes of extension-sso. Every rejection is an `ExtensionSsoError`
// (a real `Error`, and `instanceof ExtensionSsoError`) whose `.code` is one of these strings. Codes are never renamed.

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
  | 'invalid_key'
  | 'aborted'
  | 'discovery_failed'
  | 'invalid_request';

/** What an {@link ExtensionSsoError} carries besides its code and message. */
export interface ExtensionSsoErrorDetails {
  /** True only for transient failures (network, timeout, HTTP 5xx) worth retrying. Default false. */
  retryable?: boolean;
  /** What caused it (for `aborted`: the signal's `reason`). */
  cause?: unknown;
  /** The HTTP status involved, when there was one. */
  status?: number;
  /** The OAuth / Matrix `error` (or `errcode`) the server sent. */
  error?: string;
  /** The server's `error_description`. */
  error_description?: string;
  /** The server's `error_uri`. */
  error_uri?: string;
}

/**
 * Every error extension-sso throws or rejects with, from every entry.
 * `err instanceof ExtensionSsoError` holds whichever entry (or separately
 * bundled copy of the package) made the error.
 *
 * ```ts
 * try { await verifier.verify(token); }
 * catch (e) {
 *   if (e instanceof ExtensionSsoError && e.code === 'expired') { ... }
 * }
 * ```
 */
export declare class ExtensionSsoError extends Error {
  constructor(code: ErrorCode, message: string, details?: ExtensionSsoErrorDetails);
  name: 'ExtensionSsoError';
  /** Stable machine-readable code: branch on this, not on the message. */
  code: ErrorCode;
  /** True only for transient failures (network, timeout, HTTP 5xx) worth retrying. */
  retryable: boolean;
  /** What caused it (for `aborted`: the signal's `reason`). */
  cause?: unknown;
  /** The HTTP status involved, when there was one. */
  status?: number;
  /** The OAuth / Matrix `error` (or `errcode`) the server sent. */
  error?: string;
  /** The server's `error_description`. */
  error_description?: string;
  /** The server's `error_uri`. */
  error_uri?: string;
  /** True for every error of the package (a brand check, across bundles). */
  static [Symbol.hasInstance](value: unknown): value is ExtensionSsoError;
}

/** Every error code, from the wasm module. */
export function errorCodes(): ErrorCode[];
/** The package version. */
export function crateVersion(): string;
