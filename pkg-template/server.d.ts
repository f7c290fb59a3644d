// extension-sso/server: backend helpers (code exchange per host format, refresh, Matrix token
// login, a ready handoff request handler, and seed 001's service-client token minter).
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
 * - `'mia-console'` (seed 000): `POST {consoleUrl}/api/oauth/token` with the JSON body `{code, state}`;
 * - `'mia-auth-service'` (seed 004): `POST {authServiceUrl}/oauth/token` with `{code, state}`; the
 *   service may answer with a `sid` session cookie instead of a token JSON.
 */
export type ExchangeProfileName = 'oauth2' | 'mia-console' | 'mia-auth-service';

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3.1; RFC 7591 names):
 * `'client_secret_basic'` (default; HTTP Basic with the form-urlencoded id and secret),
 * `'client_secret_post'` (id and secret in the body, as seed 002's providers require), or
 * `'none'` (public client: only `client_id`; `codeVerifier` is then required).
 */
export type ClientAuth = 'client_secret_basic' | 'client_secret_post' | 'none';

/** Settings of the `'oauth2'` profile. */
export interface OAuth2Settings {
  profile?: 'oauth2';
  /** The token endpoint: https, or http on localhost / 127.0.0.1 / [::1] only. */
  tokenEndpoint: string;
  clientId: string;
  /** Required unless `clientAuth` is `'none'`. Never logged or put in error messages. */
  clientSecret?: string;
  /** Default `'client_secret_basic'`. */
  clientAuth?: ClientAuth;
}

/** Settings of the `'mia-console'` profile (seed 000). */
export interface MiaConsoleSettings {
  profile: 'mia-console';
  /** The console base URL, e.g. `https://console.example` (a trailing slash is fine). */
  consoleUrl: string;
}

/** Settings of the `'mia-auth-service'` profile (seed 004). */
export interface MiaAuthServiceSettings {
  profile: 'mia-auth-service';
  /** The Authentication Service base URL (a trailing slash is fine). */
  authServiceUrl: string;
}

export type ExchangeSettings = OAuth2Settings | MiaConsoleSettings | MiaAuthServiceSettings;

/** Per-request limits shared by the helpers. */
export interface RequestLimits {
  /** How long to wait for the whole answer (headers and body), in ms. Default 10000; at most 300000. */
  timeoutMs?: number;
}

/**
 * Options of {@link exchangeCode}. Unknown keys and keys of another profile are refused with
 * `invalid_options`.
 */
export type ExchangeCodeOptions = ExchangeSettings & RequestLimits & {
  /** The authorization `code` from the callback. */
  code: string;
  /** The callback's `state`: required by `'mia-console'` and `'mia-auth-service'` (they check it); ignored by `'oauth2'`. */
  state?: string;
  /** The PKCE `code_verifier` (RFC 7636 §4.5): 43–128 unreserved characters. Required with `clientAuth: 'none'`. */
  codeVerifier?: string;
  /** The `redirect_uri` of the authorization request; required by `'oauth2'`. */
  redirectUri?: string;
};

/** Options of {@link refreshTokens} (RFC 6749 §6; `'oauth2'` only). */
export interface RefreshTokensOptions extends OAuth2Settings, RequestLimits {
  refreshToken: string;
  /** A narrower `scope` than the one granted (RFC 6749 §6); seed 002's providers accept it. */
  scope?: string;
}

/**
 * Tokens from the host (RFC 6749 §5.1), camelCase like the client's `Session`. Absent values are
 * `null`. Never log them.
 */
export interface TokenSet {
  accessToken: string;
  /** As sent; always `Bearer` (any case) when present: other token types are refused. `null` when the host omitted it (seed 000). */
  tokenType: string | null;
  /** `expires_in`, seconds. */
  expiresIn: number | null;
  /** Unix seconds: when the response arrived plus `expires_in`, or the host's absolute `expiresAt`. */
  expiresAt: number | null;
  refreshToken: string | null;
  /** `id_token` (OpenID Connect), not verified here. */
  idToken: string | null;
  /** The granted `scope`. */
  scope: string | null;
  /** The response body as parsed JSON (`null` for a cookie-only answer of the auth service). */
  raw: Record<string, unknown> | null;
}

/**
 * Exchanges an authorization code for tokens in the host's format. Form bodies, `Accept:
 * application/json`, no redirects followed, responses capped at 1 MiB.
 *
 * Rejects with an {@link ExtensionSsoError}:
 * - `invalid_options` before any request (bad or unknown option, non-https URL);
 * - `token_endpoint_error` when the host refused (with `.error`, `.error_description`,
 *   `.error_uri` and `.status` from its RFC 6749 §5.2 error) or answered something unusable;
 *   retryable for 5xx, 408 and 429;
 * - `network_error` (retryable) for connection failures and `timeoutMs`.
 *
 * @example
 * const tokens = await exchangeCode({ tokenEndpoint, clientId, clientSecret, redirectUri, code, codeVerifier });
 * const tokens = await exchangeCode({ profile: 'mia-console', consoleUrl, code, state });
 */
export function exchangeCode(options: ExchangeCodeOptions): Promise<TokenSet>;

/** Refreshes tokens (RFC 6749 §6). Rejects like {@link exchangeCode}. */
export function refreshTokens(options: RefreshTokensOptions): Promise<TokenSet>;

/** Options of {@link matrixTokenLogin}. */
export interface MatrixTokenLoginOptions extends RequestLimits {
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
 * Matrix token login (seed 003; Client-Server API `POST /_matrix/client/v3/login` with
 * `{type: 'm.login.token', token}`). Matrix errors become `token_endpoint_error` with `.error` =
 * `errcode` (a used or expired token is `M_FORBIDDEN`, status 403); `unsupported` when the
 * homeserver has no token login; `network_error` (retryable) as in {@link exchangeCode}.
 */
export function matrixTokenLogin(options: MatrixTokenLoginOptions): Promise<MatrixSession>;

/**
 * Who the user is, as far as verified claims say; absent fields are `null`. Sources: `sub`
 * (RFC 7519); `first_name` / `last_name` / `username` (seed 002), else OIDC `given_name` /
 * `family_name` / `preferred_username`; `id` and `groups` (seed 004's user info); `email`, `name`.
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

/** Session-cookie mode (seed 004 style): the access token goes into an HttpOnly cookie. */
export interface SessionCookieOptions {
  /** Cookie name. Default `'sid'` (seed 004). `__Host-` / `__Secure-` names are checked. */
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

/** What the handler passes to `onError`. */
export interface HandoffErrorContext {
  /** The HTTP status answered. */
  status: number;
  method: string;
  url: string;
}

/** Options of {@link createHandoffHandler}: the exchange settings plus the handler's own. */
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
   * Called with the underlying error when a request fails after routing (exchange, verification,
   * unexpected exceptions). Error messages never contain tokens, codes or secrets. Default: logs
   * 5xx answers with `console.error`.
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
 * - `POST {tokenPath}` with JSON `{code, state, code_verifier?, redirect_uri?}` →
 *   `200 {access_token, token_type: 'Bearer', expires_in?, id_token?, scope?, identity}`, or in
 *   cookie mode `200 {identity, expires_in?}` + `Set-Cookie: sid=…; HttpOnly; Secure; SameSite=…`.
 *   The refresh token stays on the server.
 * - `DELETE {tokenPath}` (cookie mode) clears the cookie.
 * - `GET {userinfoPath}` with the cookie or `Authorization: Bearer` → the verified claims.
 * - `OPTIONS` answers CORS preflights for allowed origins.
 *
 * Errors are `{error, error_description, retryable?}`: 400 bad JSON / missing code or state,
 * 401 `invalid_grant` (the host refused the code) or `invalid_token`, 403 `origin_not_allowed`,
 * 404, 405 (with `Allow`), 413 body over `maxBodyBytes`, 415 not JSON, 502 host or JWKS failure.
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
  /** The URL base the handler sees. Default `http://<Host header>`. */
  origin?: string;
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
  writeHead(statusCode: number, headers?: Record<string, string | string[]>): unknown;
  write(chunk: Uint8Array): unknown;
  end(): unknown;
}

/**
 * Adapts a fetch-style handler to `node:http`: `http.createServer(toNodeListener(handler))`.
 * The request body is streamed, so the handler's size cap applies.
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
   *    Ed25519 (`OKP`, signs `EdDSA`) or P-256 (`EC`, signs `ES256`) private JWK. The `kid` is
   *    `keyId`, else the JWK's `kid`, else its RFC 7638 thumbprint; default audience: `issuerUrl`.
   */
  accessKey: string;
  /** The platform's issuer URL (https, or http on loopback). Tokens get `iss = {issuerUrl}/v1/clients/{clientId}`. */
  issuerUrl: string;
  /** Overrides the `aud` claim. */
  audience?: string;
}

/**
 * Seed 001's service-client token provider: mints short-lived JWTs (5 min) signed with the
 * service client's private key, for `Authorization: Bearer` calls to the platform's API, and
 * reuses each until 60 s before it expires. Tokens verify with `JwksVerifier` (using
 * {@link ServiceClientTokenProvider.publicJwks}) and with jose.
 *
 * @example
 * const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl: 'https://auth.platform.example' });
 * const headers = { Authorization: `Bearer ${await provider.getToken()}` };
 */
export class ServiceClientTokenProvider {
  /** @throws {ExtensionSsoError} `invalid_key` for a malformed key, `invalid_options` otherwise. */
  constructor(options: ServiceClientTokenProviderOptions);
  /** Seed 001's positional form. */
  constructor(accessKey: string, issuerUrl: string);
  /** A token valid for at least one more minute (the cached one, or a fresh one). */
  getToken(): Promise<string>;
  /** The client id (`sub` of minted tokens). */
  readonly clientId: string;
  /** The `kid` of minted tokens. */
  readonly keyId: string;
  /** The `iss` of minted tokens. */
  readonly issuer: string;
  /** The `aud` of minted tokens. */
  readonly audience: string;
  readonly algorithm: 'EdDSA' | 'ES256';
  /** The public key as a JWK (RFC 7517) with `kid`, `alg` and `use: 'sig'`. */
  publicJwk(): Record<string, string>;
  /** `{ keys: [publicJwk()] }`, e.g. for `JwksVerifier.fromJwks` or to register the key. */
  publicJwks(): { keys: Record<string, string>[] };
}

/** Loads the WebAssembly module; required (once) in browsers and bundlers, a no-op under Node and workerd. */
export default function init(input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
