// extension-sso/verifier: JWT access-token verification against a JWK Set.
import type { ErrorCode } from './errors.js';
import { ExtensionSsoError } from './errors.js';
export type { ErrorCode, ExtensionSsoErrorDetails } from './errors.js';
export { ExtensionSsoError };
export { errorCodes, crateVersion } from './errors.js';

/** Asymmetric JWS algorithms we verify (RFC 7518, RFC 8037). `none` and HMAC never pass. */
export type Algorithm = 'ES256' | 'ES384' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA';

/** A public JSON Web Key (RFC 7517). */
export interface Jwk {
  kty: 'EC' | 'RSA' | 'OKP' | string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

/** A JWK Set document (RFC 7517 §5). */
export interface JwkSet {
  keys: Jwk[];
}

/** One cached key set, as `exportCache()` returns it. */
export interface JwksSnapshot {
  jwks: JwkSet;
  /** Unix seconds: when the set was fetched (compare to know whether a snapshot is newer). */
  fetchedAt: number;
  /** Unix seconds; an expired snapshot is ignored. */
  expiresAt: number;
  /** With `discovery: true`: the `jwks_uri` the issuer's metadata named (checked again on import). */
  jwksUri?: string;
}

/**
 * `exportCache()`'s result: one snapshot per key set, named by its `jwksUri`
 * (or, with `discovery: true`, by the issuer).
 */
export type JwksCacheSnapshot = Record<string, JwksSnapshot>;

/**
 * A `fetch` the verifier makes its requests with (proxies, mTLS agents,
 * tracing, test interception): the signature of `globalThis.fetch`, declared
 * without the DOM library. It gets `(url, { method, headers, redirect:
 * 'manual', signal })` and must answer with a `Response`-like object
 * (`status`, `headers.get`, `body` or `arrayBuffer()`).
 */
export type FetchLike = (input: string, init: {
  method: string;
  headers: Headers;
  redirect: 'manual';
  signal: AbortSignal;
}) => Promise<Response>;

/** Headers for the verifier's requests: a plain object or a `Headers`. */
export type HeadersLike = Record<string, string> | Headers;

/** Where an issuer's keys are, when one verifier accepts several issuers. */
export interface IssuerRoute {
  /** The issuer's JWK Set (object or JSON text). */
  jwks?: JwkSet | string;
  /** Where to fetch the issuer's JWK Set (https, or http to a loopback host; see `allowInsecureHttp`). */
  jwksUri?: string;
  /** Find the JWK Set from this issuer's metadata (see `SingleIssuerOptions.discovery`). */
  discovery?: boolean;
  /** The audience this issuer's tokens must carry; defaults to the top-level `audience`. */
  audience?: string | string[] | null;
}

/** Claim and header rules shared by every form of the options. */
export interface VerifyRules {
  /**
   * Accepted `aud` values (at least one must be in the token). Required:
   * pass `null` explicitly to accept any audience.
   */
  audience: string | string[] | null;
  /** Allow-list of algorithms; default: every supported asymmetric algorithm. */
  algorithms?: Algorithm[];
  /** Clock tolerance for `exp`, `nbf` and `iat`, in seconds. Default 30; 0 allowed; at most 3600. */
  clockToleranceSec?: number;
  /** A fixed "now" (unix seconds), for tests. Default: the runtime clock. */
  now?: number;
  /** Required header `typ` (media type normalised: `at+jwt` matches `application/at+jwt`). */
  typ?: string;
  /** Claims that must be present (`exp` always is). */
  requiredClaims?: string[];
  /** Reject tokens whose header carries `jku`, `jwk`, `x5u` or `x5c` (never used either way). Default false. */
  rejectKeyHints?: boolean;
  /**
   * Remember up to this many verified tokens (at most 100000; default 0: off),
   * so verifying the same token again skips parsing and the signature check.
   * A remembered token answers only while its key set is unchanged and fresh
   * and its `exp` / `nbf` / `iat` still hold (re-checked on every hit, without
   * the clock tolerance; otherwise it is verified in full again). Memory: one
   * entry holds the token and its payload text.
   */
  verifiedTokenCacheSize?: number;
}

/** How a remote JWK Set is fetched and cached. */
export interface RemoteRules {
  /** Longest time a fetched set is used, in seconds (Cache-Control max-age is honoured below it). Default 600. */
  cacheMaxAgeSec?: number;
  /** Shortest time between two fetches, in seconds (after success or failure). Default 30. */
  cooldownSec?: number;
  /** How long past expiry the last good set is still served while refreshes fail, in seconds. Default 3600. */
  staleIfErrorSec?: number;
  /** Fetch timeout in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Largest response accepted (the JWK Set, and the metadata with `discovery`), in bytes; a larger one fails naming this option. Default 262144. */
  maxBodyBytes?: number;
  /**
   * A snapshot from `exportCache()` (e.g. kept in KV; `null`, what KV answers
   * for a missing key, is none); invalid or expired snapshots are ignored,
   * JSON that is not an object too (text that is not JSON at all is
   * `jwks_invalid`).
   */
  cache?: JwksCacheSnapshot | string | null;
  /** The `fetch` every request is made with. Default: `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Headers sent with every request (the JWK Set, and the metadata with `discovery`); an `accept` of yours wins. */
  headers?: HeadersLike;
  /**
   * **Dangerous.** Lets `jwksUri` (and a discovered issuer's URLs) use plain
   * `http` to any host, not only to `localhost`, `127.0.0.0/8` or `[::1]`:
   * anyone on the network path can then substitute the keys and forge
   * tokens. Only for a trusted in-cluster service. Default false.
   */
  allowInsecureHttp?: boolean;
}

/** A verifier over one issuer's (or a list of issuers') key set. */
export interface SingleIssuerOptions extends VerifyRules, RemoteRules {
  /** Accepted `iss` values (exact match). Required. */
  issuer: string | string[];
  /** The JWK Set (object or JSON text); or use `jwksUri`. */
  jwks?: JwkSet | string;
  /**
   * Where to fetch the JWK Set (e.g. `https://console.example/jwks`): https,
   * or http to a loopback host (`invalid_options` otherwise, unless
   * `allowInsecureHttp`).
   */
  jwksUri?: string;
  /**
   * Find the JWK Set from the issuer (one issuer): its metadata
   * (`<issuer>/.well-known/openid-configuration`, then RFC 8414's
   * `/.well-known/oauth-authorization-server`), whose `issuer` must equal
   * `issuer` exactly (else `issuer_mismatch`), names the `jwks_uri`. The
   * metadata is fetched with the set, under the same cache policy, and its
   * `jwks_uri` goes into `exportCache()` snapshots.
   */
  discovery?: boolean;
}

/**
 * A verifier that picks the key set from the token's `iss` before any
 * network call, and never fetches for an unknown issuer.
 */
export interface RoutedOptions extends Partial<VerifyRules>, RemoteRules {
  issuers: Record<string, IssuerRoute>;
}

export type JwksVerifierOptions = SingleIssuerOptions | RoutedOptions;

/** Registered claims plus whatever else the token carries. */
export interface JwtClaims {
  iss: string;
  sub?: string;
  aud?: string | string[];
  exp: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

/** Per-call options of `verify`. */
export interface VerifyCallOptions {
  /** Rejects with `aborted` (not retryable, `cause` = `signal.reason`) when it fires first. */
  signal?: AbortSignal;
  /** Resolve to `{ payload, protectedHeader }` instead of the claims. Default false. */
  complete?: boolean;
}

/** The protected header of a verified token. */
export interface ProtectedHeader {
  alg: Algorithm;
  kid?: string;
  typ?: string;
  [member: string]: unknown;
}

/** What `verify(token, { complete: true })` resolves to. */
export interface VerifiedJwt<T extends JwtClaims = JwtClaims> {
  payload: T;
  protectedHeader: ProtectedHeader;
}

/**
 * Verifies JWT access tokens against a JWK Set (RFC 7515, 7517, 7518, 7519,
 * RFC 8725). Signatures are checked with node:crypto under Node and
 * WebCrypto elsewhere; keys are imported once and cached.
 *
 * @example
 * const v = new JwksVerifier({ jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'ext-123' });
 * const claims = await v.verify(token);
 */
export class JwksVerifier {
  /** @throws {ExtensionSsoError} `invalid_options`, `jwks_invalid`. */
  constructor(options: JwksVerifierOptions);
  /** A verifier over a local JWK Set (object or JSON text). */
  static fromJwks(jwks: JwkSet | string, options: Omit<SingleIssuerOptions, 'jwks' | 'jwksUri' | 'discovery'> | Omit<RoutedOptions, 'issuers'> & { issuer: string | string[] }): JwksVerifier;
  /**
   * Resolves to the token's claims, or rejects with an {@link ExtensionSsoError}
   * whose `code` is one of: malformed, alg_not_allowed, no_matching_key,
   * bad_signature, expired, not_yet_valid, issuer_mismatch, audience_mismatch,
   * missing_claim, invalid_claim, typ_mismatch, crit_unsupported,
   * jwks_fetch_failed (retryable unless the key endpoint answered a 4xx;
   * the cooldown after a failure answers as that failure did), jwks_invalid,
   * discovery_failed, aborted.
   * Pass the token alone (a `Bearer ` prefix is `malformed`, named as such).
   */
  verify<T extends JwtClaims = JwtClaims>(token: string, options?: VerifyCallOptions & { complete?: false }): Promise<T>;
  verify<T extends JwtClaims = JwtClaims>(token: string, options: VerifyCallOptions & { complete: true }): Promise<VerifiedJwt<T>>;
  verify<T extends JwtClaims = JwtClaims>(token: string, options?: VerifyCallOptions): Promise<T | VerifiedJwt<T>>;
  /**
   * The fetched key sets, to keep across isolates (KV, Cache API); undefined
   * when none is cached, or, given `previous` (what KV holds), when nothing
   * was fetched since: write the snapshot back only when this returns one.
   */
  exportCache(previous?: JwksCacheSnapshot | string | null): JwksCacheSnapshot | undefined;
  /** Loads a snapshot; throws `jwks_invalid` if it is not JSON, invalid, expired or for a jwksUri this verifier does not use. Returns how many sets were loaded. */
  importCache(snapshot: JwksCacheSnapshot | string): number;
}

/**
 * Loads the WebAssembly module; required (once) in browsers and bundlers, a
 * no-op under Node and workerd. `input` overrides where the `.wasm` comes
 * from: a URL (string or `URL`), a `Response`, its bytes, or a compiled
 * `WebAssembly.Module` (typed `object` here, so that these types need no DOM
 * library). Rejects with an `ExtensionSsoError` `unsupported` (its `cause` kept) when the
 * `.wasm` cannot be fetched (a response that is not ok: its status is named) or compiled; a
 * later call tries again.
 */
export default function init(input?: string | URL | Response | ArrayBuffer | ArrayBufferView | object): Promise<void>;
