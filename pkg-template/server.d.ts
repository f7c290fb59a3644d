// extension-sso/server: backend helpers (code exchange per host format, refresh, Matrix token
// login, a ready handoff request handler, and a service-client token minter).
//
// The verifier lives in its own entry so this one does not carry it:
//   import { JwksVerifier } from 'extension-sso/verifier';
import type { ErrorCode } from './errors.js';
import { ExtensionSsoError } from './errors.js';
export type { ErrorCode, ExtensionSsoErrorDetails } from './errors.js';
export { ExtensionSsoError };
export { errorCodes, crateVersion } from './errors.js';

/**
 * The host format of the code exchange:
 * - `'oauth2'` (default): a standard OAuth 2.0 / OpenID Connect token endpoint (RFC 6749 §4.1.3),
 *   form-encoded, with client authentication per `clientAuth`;
 * - `'mia-console'`: a host console that exchanges the codes it issued itself:
 *   `POST {consoleUrl}/api/oauth/token` with the JSON body `{code, state}`;
 * - `'mia-auth-service'`: an authentication service: `POST {authServiceUrl}/oauth/token` with
 *   `{code, state}`; the service may answer with a `sid` session cookie instead of a token JSON.
 */
export type ExchangeProfileName = 'oauth2' | 'mia-console' | 'mia-auth-service';

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3.1; RFC 7591 names):
 * `'client_secret_basic'` (default; HTTP Basic with the form-urlencoded id and secret),
 * `'client_secret_post'` (id and secret in the body, for providers that refuse HTTP Basic), or
 * `'none'` (public client: only `client_id`; `codeVerifier` is then required).
 */
export type ClientAuth = 'client_secret_basic' | 'client_secret_post' | 'none';

/** Settings of the `'oauth2'` profile: an OAuth 2.0 / OpenID Connect authorization server. */
export type OAuth2Settings = OAuth2Client & (
  | { /** The token endpoint (RFC 6749 §3.2); wins over the one discovery finds. */ tokenEndpoint: string; issuer?: string }
  | { tokenEndpoint?: string; /** Enough alone: the token endpoint comes from its metadata. */ issuer: string }
);

/** The client of an `'oauth2'` authorization server. */
export interface OAuth2Client {
  profile?: 'oauth2';
  /**
   * The authorization server's issuer identifier (OpenID Connect Discovery §4.1, RFC 8414 §2), e.g.
   * `https://op.example`. Its metadata (`/.well-known/openid-configuration`, else RFC 8414's
   * `/.well-known/oauth-authorization-server`) gives the token endpoint when `tokenEndpoint` is not
   * set, and the keys of its ID Tokens; the document's `issuer` must equal it exactly
   * (`issuer_mismatch`). Required to receive an ID Token: one is never handed out unvalidated.
   *
   * The document is kept per `fetch` function (the same function shares it; a function made per
   * call gets no caching), issuer and URL rule, for its `Cache-Control: max-age` within 60 s .. 24 h
   * (1 h without one; a malformed or repeated one gets the 60 s); concurrent calls share one
   * discovery, each waiting at most its own `timeoutMs`; a failed one is remembered for 10 s (calls
   * fail at once with its code), a timed-out or aborted one is not.
   */
  issuer?: string;
  /** The issuer's JWK Set, for ID Token signatures. Default: its metadata's `jwks_uri`. */
  jwksUri?: string;
  clientId: string;
  /** Required unless `clientAuth` is `'none'`. Never logged or put in error messages. */
  clientSecret?: string;
  /** Default `'client_secret_basic'`. */
  clientAuth?: ClientAuth;
}

/** Settings of the `'mia-console'` profile: a host console that exchanges its own codes. */
export interface MiaConsoleSettings {
  profile: 'mia-console';
  /** The console base URL, e.g. `https://console.example` (a trailing slash is fine). */
  consoleUrl: string;
}

/** Settings of the `'mia-auth-service'` profile: an authentication service. */
export interface MiaAuthServiceSettings {
  profile: 'mia-auth-service';
  /** The Authentication Service base URL (a trailing slash is fine). */
  authServiceUrl: string;
}

export type ExchangeSettings = OAuth2Settings | MiaConsoleSettings | MiaAuthServiceSettings;

/**
 * A function with the signature of `globalThis.fetch`: a proxy, an mTLS agent, tracing, a test
 * double. Called with `(url: string, init)`; `init` has `method`, `headers`, `body`, `signal` and
 * `redirect: 'manual'` (redirects are never followed).
 */
export type FetchLike = (input: string, init: {
  method: string;
  headers: [string, string][];
  body?: string;
  signal: AbortSignal;
  redirect: 'manual';
}) => Promise<Response>;

/** Per-request limits and I/O shared by the helpers. */
export interface RequestLimits {
  /**
   * How long to wait for the whole answer (headers and body) of each request (discovery, token
   * endpoint, the ID Token's JWK Set, homeserver), and for another call's discovery of the same
   * issuer's metadata, in ms. Default 10000; at most 300000.
   */
  timeoutMs?: number;
  /**
   * Makes every request of the helper (discovery, token endpoint, the issuer's JWK Set, homeserver).
   * Default `globalThis.fetch`. The issuer's metadata and the ID Token verifiers (with their keys) are
   * cached per fetch function: pass the same function to every call to share them. A fetch made per
   * call (an inline arrow, `fetch.bind(…)` in the call) gets a cache of its own every time, so
   * nothing is cached: each call discovers the metadata and fetches the keys again.
   */
  fetch?: FetchLike;
  /**
   * Every URL must be https, or http to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`); anything
   * else is `invalid_options` before any request.
   * @deprecated Security warning: `true` also allows plain http to any host, so anyone on the network
   * path can read and change what is sent and received (codes, secrets, tokens). Only for a trusted
   * in-cluster http service.
   */
  allowInsecureHttp?: boolean;
}

/** Per-call options of the helpers that make requests. */
export interface CallOptions {
  /** Cancels the call: it rejects with `aborted` (not retryable; `cause` is `signal.reason`). */
  signal?: AbortSignal;
}

/**
 * Options of {@link exchangeCode}. Unknown keys and keys of another profile are refused with
 * `invalid_options` (`redirectUri`, `codeVerifier` and `nonce` are `'oauth2'`'s).
 */
export type ExchangeCodeOptions = ExchangeSettings & RequestLimits & CallOptions & {
  /** The authorization `code` from the callback. */
  code: string;
  /** The callback's `state`: required by `'mia-console'` and `'mia-auth-service'` (they check it); ignored by `'oauth2'`. */
  state?: string;
  /** The PKCE `code_verifier` (RFC 7636 §4.5): 43–128 unreserved characters. Required with `clientAuth: 'none'`. */
  codeVerifier?: string;
  /** The `redirect_uri` of the authorization request; required by `'oauth2'`. */
  redirectUri?: string;
  /**
   * The `nonce` of the authorization request (OpenID Connect Core §3.1.2.1), when it sent one: the
   * ID Token must carry the same value (else `missing_claim` / `invalid_claim`). Without it, an ID
   * Token that carries a nonce is refused (`invalid_claim`), so a forgotten nonce cannot switch the
   * check off (as oauth4webapi's default `expectNoNonce`).
   */
  nonce?: string;
};

/** Options of {@link refreshTokens} (RFC 6749 §6; `'oauth2'` only). */
export type RefreshTokensOptions = OAuth2Settings & RequestLimits & CallOptions & {
  refreshToken: string;
  /** A narrower `scope` than the one granted (RFC 6749 §6); most providers accept it. */
  scope?: string;
};

/**
 * Tokens from the host (RFC 6749 §5.1), camelCase like the client's `Session`. Absent values are
 * `null`. Never log them.
 */
export interface TokenSet {
  accessToken: string;
  /** As sent; always `Bearer` (any case) when present: other token types are refused. `null` when the host omitted it (a console may). */
  tokenType: string | null;
  /** `expires_in`, seconds. */
  expiresIn: number | null;
  /** Unix seconds: when the response arrived plus `expires_in`, or the host's absolute `expiresAt`. */
  expiresAt: number | null;
  refreshToken: string | null;
  /**
   * `id_token` (OpenID Connect), validated (OpenID Connect Core §3.1.3.7): its signature against the
   * issuer's JWK Set, `iss`, `aud` (the client id), `azp`, `exp`, `iat`, `sub`, `nonce` when one was
   * sent and `at_hash` when present. Always `null` for the `'mia-console'` and `'mia-auth-service'`
   * profiles (not OpenID Providers: an ID Token they send is dropped).
   */
  idToken: string | null;
  /** The validated ID Token's claims (`email`, `name`, … when the scope asked for them). */
  idTokenClaims: Record<string, unknown> | null;
  /** The granted `scope`. */
  scope: string | null;
  /**
   * The response body as parsed JSON, as received: members other than the ones above are not
   * checked (an `id_token` the `'mia-console'` / `'mia-auth-service'` profiles drop is still in it,
   * unvalidated). `null` for a cookie-only answer of the auth service.
   */
  raw: Record<string, unknown> | null;
}

/**
 * Exchanges an authorization code for tokens in the host's format. Form bodies, `Accept:
 * application/json`, no redirects followed, responses capped at 1 MiB.
 *
 * With `issuer`, the token endpoint may come from discovery, and an ID Token in the answer is
 * validated (its verifier, from `extension-sso/verifier`, is loaded the first time one comes).
 * Both are cached per `fetch` function: pass the same one to every call (see {@link RequestLimits.fetch}).
 *
 * Rejects with an {@link ExtensionSsoError}:
 * - `invalid_options` before any request (bad or unknown option, non-https URL), or when the host
 *   returns an ID Token and no `issuer` is configured to validate it against;
 * - `discovery_failed` (retryable for 5xx) or `issuer_mismatch` when the issuer's metadata cannot be
 *   used;
 * - an ID Token that fails validation keeps its code (`bad_signature`, `expired`,
 *   `audience_mismatch`, `issuer_mismatch`, `missing_claim`, `invalid_claim`, …);
 * - `token_endpoint_error` when the host refused (with `.error`, `.error_description`,
 *   `.error_uri` and `.status` from its RFC 6749 §5.2 error) or answered something unusable;
 *   retryable for 5xx, 408 and 429;
 * - `network_error` (retryable) for connection failures and `timeoutMs` (waiting for another
 *   call's discovery of the same metadata included);
 * - `aborted` (not retryable) when `signal` fires.
 *
 * @example
 * const tokens = await exchangeCode({ issuer: 'https://op.example', clientId, clientSecret, redirectUri, code, codeVerifier, nonce });
 * const tokens = await exchangeCode({ tokenEndpoint, clientId, clientSecret, redirectUri, code, codeVerifier });
 * const tokens = await exchangeCode({ profile: 'mia-console', consoleUrl, code, state });
 */
export function exchangeCode(options: ExchangeCodeOptions): Promise<TokenSet>;

/** Refreshes tokens (RFC 6749 §6). Rejects like {@link exchangeCode}. */
export function refreshTokens(options: RefreshTokensOptions): Promise<TokenSet>;

/** Options of {@link matrixTokenLogin}. */
export interface MatrixTokenLoginOptions extends RequestLimits, CallOptions {
  /** The homeserver base URL, e.g. `https://matrix.example`. */
  homeserverUrl: string;
  /** The `loginToken` the SSO redirect brought back. */
  loginToken: string;
  /** Re-use an existing device instead of creating one. */
  deviceId?: string;
  /** Display name of a new device. */
  initialDeviceDisplayName?: string;
  /** First `GET /_matrix/client/v3/login` and fail with `unsupported` unless `m.login.token` is offered. Default true. */
  checkLoginFlows?: boolean;
}

/** The result of a Matrix token login. Absent values are `null`. */
export interface MatrixSession {
  accessToken: string;
  /** e.g. `@alice:example.org`. */
  userId: string;
  deviceId: string;
  /** `home_server` (deprecated by the spec, still sent by some servers). */
  homeServer: string | null;
  /** `well_known["m.homeserver"].base_url`: the server to talk to from now on. */
  homeserverBaseUrl: string | null;
  refreshToken: string | null;
  expiresInMs: number | null;
  /** Unix seconds, from `expires_in_ms`. */
  expiresAt: number | null;
}

/**
 * Matrix token login (Client-Server API `POST /_matrix/client/v3/login` with
 * `{type: 'm.login.token', token}`). Matrix errors become `token_endpoint_error` with `.error` =
 * `errcode` (a used or expired token is `M_FORBIDDEN`, status 403); `unsupported` when the
 * homeserver has no token login; `network_error` (retryable) as in {@link exchangeCode}.
 */
export function matrixTokenLogin(options: MatrixTokenLoginOptions): Promise<MatrixSession>;

/**
 * Who the user is, as far as verified claims say; absent fields are `null`. Sources: `sub`
 * (RFC 7519); `first_name` / `last_name` / `username` (as some hosts name them), else OIDC
 * `given_name` / `family_name` / `preferred_username`; `id` and `groups` (an authentication
 * service's user info); `email`, `name`.
 */
export interface UserIdentity {
  sub: string | null;
  /** A numeric `id` is given as its decimal string. */
  id: string | null;
  email: string | null;
  name: string | null;
  firstName: string | null;
  lastName: string | null;
  username: string | null;
  /** The string members of `groups`; empty when absent. */
  groups: string[];
}

/** The typed identity fields of verified claims (e.g. the result of `verifier.verify()`). */
export function identityFromClaims(claims: Record<string, unknown>): UserIdentity;

/** Anything that verifies an access token: a `JwksVerifier` from `extension-sso/verifier`. */
export interface TokenVerifier {
  verify(token: string): Promise<Record<string, unknown>>;
}

/** Session-cookie mode (as an authentication service does): the access token goes into an HttpOnly cookie. */
export interface SessionCookieOptions {
  /** Cookie name. Default `'sid'`. `__Host-` / `__Secure-` names are checked. */
  cookie?: string;
  /** `Secure`. Default true; false only for http://localhost development. */
  secure?: boolean;
  /** `SameSite`. Default `'Lax'`; `'None'` (cross-site extension pages) requires `secure`. */
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none';
  /** `Path`. Default `'/'`. */
  path?: string;
  /** `Partitioned` (CHIPS), for cross-site iframes; requires `secure`. Default false. */
  partitioned?: boolean;
}

/**
 * What the handler passes to `onError`, with the error it got (never rewritten: a verifier's
 * `ExtensionSsoError` keeps its code; an error without one answers 500).
 */
export interface HandoffErrorContext {
  /** The HTTP status answered. */
  status: number;
  /**
   * How loud the failure is:
   * - `'error'`: a 5xx: the host, its keys or this backend failed;
   * - `'warn'`: the host's own fresh token failed verification at the exchange (the backend and the
   *   host disagree: issuer, audience, keys, or an access token that is not a JWT);
   * - `'debug'`: a refusal the caller caused, expected in normal operation (an expired or forged
   *   token at userinfo, a reused code, a client that went away, a malformed request).
   * The default `onError` logs `'error'` with `console.error` and `'warn'` with `console.warn`.
   */
  level: 'error' | 'warn' | 'debug';
  method: string;
  url: string;
}

export type HandoffHandlerOptions = ExchangeSettings & RequestLimits & {
  /** Verifies the host's access token, e.g. `new JwksVerifier({ jwksUri: `${consoleUrl}/jwks`, issuer, audience })`. Required. */
  verifier: TokenVerifier;
  /**
   * Browser origins allowed to hand off codes and to call userinfo, compared exactly:
   * `'chrome-extension://<id>'`, `'https://ext.example'` (lowercase, no path or trailing slash,
   * no wildcard). Required, non-empty.
   */
  allowedOrigins: string[];
  /**
   * `'oauth2'` only: the `redirect_uri` the client used. When set, a handoff with another
   * `redirect_uri` is refused; when unset, the handoff must carry one and it is forwarded.
   */
  redirectUri?: string;
  /** Cookie mode when set; token-JSON mode when absent or `null`. */
  session?: SessionCookieOptions | null;
  /** The handoff path. Default `'/token'`; `null` accepts any path but the userinfo one. */
  tokenPath?: string | null;
  /** The userinfo path. Default `'/userinfo'`; `null` disables the endpoint. */
  userinfoPath?: string | null;
  /** Largest handoff body, in bytes (256 to 1048576). Default 16384. */
  maxBodyBytes?: number;
  /** `Access-Control-Max-Age` of preflight answers, in seconds. Default 600. */
  corsMaxAgeSec?: number;
  /**
   * Also send the host's refresh token to the browser (token mode only). Default false.
   * @deprecated Security warning: a refresh token in browser storage outlives the access token
   * that leaks with it (RFC 9700 §4.14). Keep refresh tokens on the server: call
   * {@link exchangeCode} yourself if the backend needs them.
   */
  insecureExposeRefreshToken?: boolean;
  /**
   * The debug hook: called with the underlying error whenever an exchange or a userinfo request
   * fails (the host refused, a token failed verification or expired by the time of the answer, a
   * body could not be read, an unexpected exception), with the status answered and a
   * {@link HandoffErrorContext.level}. Error messages
   * never contain tokens, codes or secrets. Default: logs `'error'` with `console.error` and
   * `'warn'` with `console.warn`, nothing for `'debug'`.
   */
  onError?: (error: ExtensionSsoError | Error, context: HandoffErrorContext) => void;
};

/** A fetch-style request handler (Cloudflare Workers / workerd `fetch`, Deno, Bun, Hono, …). */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * The backend half of the login: receives the browser client's handoff, exchanges the code with
 * the host, verifies the access token with `verifier`, and answers the token JSON or (with
 * `session`) an HttpOnly session cookie; plus a userinfo endpoint answering the verified claims.
 *
 * Routes (all answers carry `Cache-Control: no-store`, `Vary: Origin` and, for an allowed origin,
 * `Access-Control-Allow-Origin` + `Access-Control-Allow-Credentials: true`):
 * - `POST {tokenPath}` with JSON `{code, state, code_verifier?, redirect_uri?, nonce?}` (`nonce`:
 *   the one of the authorization request, which the ID Token must carry) →
 *   `200 {access_token, token_type: 'Bearer', expires_in?, id_token?, scope?, identity}`, or in
 *   cookie mode `200 {identity, expires_in?}` + `Set-Cookie: sid=…; HttpOnly; Secure; SameSite=…`.
 *   The refresh token stays on the server.
 * - `DELETE {tokenPath}` (cookie mode) clears the cookie.
 * - `GET {userinfoPath}` with the cookie or `Authorization: Bearer` → the verified claims.
 * - `OPTIONS` answers CORS preflights for allowed origins.
 *
 * Route, method, origin and content type are decided before the body is read. Errors are
 * `{error, error_description, retryable?}`: 400 bad JSON / missing code or state / unreadable body,
 * 401 `invalid_grant` (the host refused the code) or `invalid_token` (also for an access token that
 * is not a JWT: the handler verifies JWT access tokens, RFC 9068), 403 `origin_not_allowed`, 404
 * (naming the paths it serves), 405 (with `Allow`), 413 body over `maxBodyBytes`, 415 not JSON, 502
 * host, discovery or JWKS failure, 500 anything else. Every failed exchange or userinfo request,
 * and every 5xx, reaches `onError`; the refusals before the exchange (404, 405, 403, 413, 415, a
 * body that is not a handoff) do not: their `error_description` says why.
 *
 * @throws {ExtensionSsoError} `invalid_options` for bad options.
 * @example
 * // workerd / Cloudflare Workers
 * import { createHandoffHandler } from 'extension-sso/server';
 * import { JwksVerifier } from 'extension-sso/verifier';
 * const handler = createHandoffHandler({
 *   profile: 'mia-console', consoleUrl: 'https://console.example',
 *   allowedOrigins: ['https://ext.example'],
 *   verifier: new JwksVerifier({ jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'ext-123' }),
 *   session: { cookie: 'sid', sameSite: 'None' },
 * });
 * export default { fetch: handler };
 */
export function createHandoffHandler(options: HandoffHandlerOptions): FetchHandler;

/** Options of {@link toNodeListener}. */
export interface NodeListenerOptions {
  /** The URL base the handler sees, `scheme://host[:port]`. Default `http://<Host header>`. */
  origin?: string;
  /**
   * Hears about requests the adapter refuses itself (400 for a request target that is not a path,
   * a malformed `Host` or a `TRACE`, code `invalid_request`, level `'debug'`) and handler
   * exceptions (500).
   * Default: the handler's own `onError` when it comes from {@link createHandoffHandler}.
   */
  onError?: (error: ExtensionSsoError | Error, context: HandoffErrorContext) => void;
}

/** The parts of `node:http`'s `IncomingMessage` the adapter uses (no dependency on @types/node). */
export interface NodeRequestLike extends AsyncIterable<Uint8Array> {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  resume(): unknown;
}

/** The parts of `node:http`'s `ServerResponse` the adapter uses. */
export interface NodeResponseLike {
  readonly headersSent: boolean;
  /** With `writableEnded` and `socket`: whether the client is gone (then nothing is written). */
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly socket: { readonly destroyed: boolean } | null;
  /** The adapter listens for `'error'`: a client that disconnects is not an error. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  writeHead(statusCode: number, headers?: Record<string, string | string[]>): unknown;
  write(chunk: Uint8Array): unknown;
  end(chunk?: string): unknown;
}

/**
 * Adapts a fetch-style handler to `node:http`: `http.createServer(toNodeListener(handler))`.
 * The request target is a path only (origin-form, RFC 9112 §3.2.1), appended to `origin`:
 * `POST //evil.example/token` is the path `//evil.example/token`, and an absolute-form target, a
 * malformed `Host` or a method a fetch `Request` cannot carry (`TRACE`) gets 400. The request body is streamed, so the handler reads it only when route,
 * method, origin and content type allow it, within its size cap. A client that goes away is not an
 * error.
 */
export function toNodeListener(
  handler: FetchHandler,
  options?: NodeListenerOptions,
): (req: NodeRequestLike, res: NodeResponseLike) => Promise<void>;

/** Options of {@link ServiceClientTokenProvider}. */
export interface ServiceClientTokenProviderOptions {
  /**
   * The service client's access key (secret; never logged). Accepted formats:
   * 1. Authress: `clientId.keyId.accountId.privateKey`, `privateKey` being the standard base64 of
   *    a PKCS#8 v1 Ed25519 private key (RFC 8410 §7). Signs `EdDSA`; default audience
   *    `{accountId}.accounts.authress.io`.
   * 2. JSON, raw or base64url: `{"clientId", "keyId"?, "audience"?, "privateKey": JWK}` with an
   *    Ed25519 (`OKP`, signs `EdDSA`) or P-256 (`EC`, signs `ES256`) private JWK; `x` and `y` may
   *    be left out (the public key is derived from `d`; when given they must belong to it). The
   *    `kid` is `keyId`, else the JWK's `kid`, else its RFC 7638 thumbprint; default audience:
   *    `issuerUrl`.
   */
  accessKey: string;
  /** The platform's issuer URL (https, or http on loopback). Tokens get `iss = {issuerUrl}/v1/clients/{clientId}`. */
  issuerUrl: string;
  /** Overrides the `aud` claim. */
  audience?: string;
  /**
   * Accepted so one options object fits every helper: the provider signs locally and makes no
   * request.
   */
  fetch?: FetchLike;
  /**
   * `issuerUrl` must be https or loopback http.
   * @deprecated Security warning: `true` allows plain http to any host (see {@link RequestLimits.allowInsecureHttp}).
   */
  allowInsecureHttp?: boolean;
}

/**
 * Mints short-lived JWTs (5 min) signed with a service client's private key, for
 * `Authorization: Bearer` calls to the platform's API, and reuses each until 60 s before it
 * expires. Signs with the runtime's crypto (node:crypto under Node, WebCrypto in workerd and
 * browsers); tokens verify with `JwksVerifier` (using {@link ServiceClientTokenProvider.publicJwks})
 * and with jose.
 *
 * Under Node the constructor imports the key (a JWK whose `x`/`y` do not belong to its `d` throws
 * `invalid_key` there). WebCrypto imports keys asynchronously: in workerd and browsers the key is
 * imported by the first {@link ServiceClientTokenProvider.getToken} or
 * {@link ServiceClientTokenProvider.ready}, and `publicJwk()`, `publicJwks()` and a thumbprint
 * `keyId` are available after it.
 *
 * @example
 * const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl: 'https://auth.platform.example' });
 * const headers = { Authorization: `Bearer ${await provider.getToken()}` };
 */
export class ServiceClientTokenProvider {
  /** @throws {ExtensionSsoError} `invalid_key` for a malformed key, `invalid_options` otherwise. */
  constructor(options: ServiceClientTokenProviderOptions);
  /** The positional form: `(accessKey, issuerUrl)`. */
  constructor(accessKey: string, issuerUrl: string);
  /**
   * A token valid for at least one more minute (the cached one, or a fresh one; concurrent calls
   * share one signature). Rejects with
   * `invalid_key` when the runtime cannot import or use the key, or when the JWK's `x`/`y` do not
   * belong to its `d` (no token is ever signed with another key than the one the access key
   * describes).
   */
  getToken(options?: CallOptions): Promise<string>;
  /**
   * Resolves once the private key is imported into the runtime's crypto and its public key derived
   * and checked. Needed before `publicJwk()` in workerd and browsers; at once under Node.
   */
  ready(): Promise<void>;
  /** The client id (`sub` of minted tokens). */
  readonly clientId: string;
  /**
   * The `kid` of minted tokens: the access key's, else the RFC 7638 thumbprint of its public key
   * (in workerd and browsers, after {@link ServiceClientTokenProvider.ready}; before it, reading a
   * thumbprint `keyId` throws `invalid_options`).
   */
  readonly keyId: string;
  /** The `iss` of minted tokens. */
  readonly issuer: string;
  /** The `aud` of minted tokens. */
  readonly audience: string;
  readonly algorithm: 'EdDSA' | 'ES256';
  /**
   * The public key as a JWK (RFC 7517) with `kid`, `alg` and `use: 'sig'`. In workerd and browsers,
   * after {@link ServiceClientTokenProvider.ready} (before it: `invalid_options`).
   */
  publicJwk(): Record<string, string>;
  /** `{ keys: [publicJwk()] }`, e.g. for `JwksVerifier.fromJwks` or to register the key. */
  publicJwks(): { keys: Record<string, string>[] };
}

/**
 * A compiled `WebAssembly.Module`, typed without the DOM library (a server-side project compiles
 * these types with `lib: es2022` and `@types/node` alone).
 */
export type CompiledWasmModule = object;

/**
 * Loads the WebAssembly module; required (once) in browsers and bundlers, a no-op under Node and
 * workerd. `input` overrides where the .wasm comes from: its URL, a `Response`, its bytes, or a
 * compiled module. Rejects with an `ExtensionSsoError` `unsupported` (its `cause` kept) when the
 * `.wasm` cannot be fetched (a response that is not ok: its status is named) or compiled; a
 * later call tries again.
 */
export default function init(
  input?: string | URL | Response | PromiseLike<Response> | ArrayBuffer | ArrayBufferView | CompiledWasmModule,
): Promise<void>;
