// extension-sso/client: SSO login for web extensions (often inside the host
// console's iframe). Hand-written types; the runtime is WebAssembly.
import type { ErrorCode } from './errors.js';
import { ExtensionSsoError } from './errors.js';
export type { ErrorCode, ExtensionSsoErrorDetails } from './errors.js';
export { ExtensionSsoError };

/** Every error code (the same union as {@link ErrorCode}). */
export function errorCodes(): ErrorCode[];
/** The package version. */
export function crateVersion(): string;

/**
 * How the browser reaches the authorization server.
 * - `'self'` (default): assign the current frame. Needs `sessionStorage`, and
 *   a server that allows being framed when the extension runs in an iframe.
 * - `'top'`: ask the embedding host page (by `postMessage` to `hostOrigin`)
 *   to navigate the top level; the host must run a bridge (see
 *   {@link installHostBridge}). Needs `sessionStorage` in the iframe.
 * - `'popup'`: open a popup synchronously in the click handler; the flow stays
 *   in this page's memory, so it works where `sessionStorage` is blocked
 *   (cross-site iframe in a private window, third-party storage blocked).
 *   The callback page calls {@link ExtensionClient.completePopup}.
 *
 * Use {@link ExtensionClient.isFramed} and
 * {@link ExtensionClient.sessionStorageAvailable} to choose at run time.
 */
export type Navigation = 'self' | 'top' | 'popup';

/** RFC 9207 `iss` check of the callback: `'if-present'` is the default. */
export type IssPolicy = 'require' | 'if-present' | 'off';

/** Options every profile accepts. Unknown keys throw `invalid_options`. */
export interface CommonOptions {
  /**
   * Your backend endpoint that receives the code: POST JSON, `credentials: 'include'`.
   * An absolute https URL or a path on this page's origin (`/api/sso/token`).
   * Body: oauth2 `{code, state, code_verifier?, redirect_uri, iss?}`;
   * mia-console exactly `{code, state}` (what the console's
   * `POST {consoleUrl}/api/oauth/token` takes); matrix
   * `{type: 'm.login.token', token}`. It must answer 2xx JSON with at least
   * `access_token` (or an empty body / `{}` with `cookieSession: true`);
   * anything else rejects with `handoff_failed` (`.status` set).
   */
  tokenHandoffUrl?: string;
  /** Default `'self'`. */
  navigation?: Navigation;
  /** Lifetime of a pending login flow in seconds, 30..3600 (default 600). */
  stateTtlSec?: number;
  /** Default `'if-present'`. `'require'` needs `issuer`. */
  issPolicy?: IssPolicy;
  /**
   * The embedding host page's exact origin (`https://console.example.com`).
   * Required for `navigation: 'top'`: the only `targetOrigin` of our messages
   * and the only origin whose answers are accepted. Never `'*'`.
   */
  hostOrigin?: string;
  /** Accept a handoff answer without `access_token` (session in an HttpOnly cookie). Default false. */
  cookieSession?: boolean;
  /**
   * Opt-in: keep the session (access token included) in `sessionStorage` so a
   * reload of this tab keeps it. Default false: tokens stay in memory only.
   * Any script on this origin can read `sessionStorage`; never `localStorage`.
   */
  persistSession?: boolean;
}

/** Any OAuth 2.0 / OpenID Connect server: authorization code + PKCE S256 (seed 002). */
export interface OAuth2Options extends CommonOptions {
  profile: 'oauth2';
  /** RFC 6749 §3.1 authorization endpoint (https; http only on loopback). */
  authorizationEndpoint: string;
  clientId: string;
  /** Registered redirect URI; the callback must arrive exactly at this page (origin + path). */
  redirectUri: string;
  /** Space-separated scopes, e.g. `'openid profile'`. */
  scope?: string;
  /** The server's issuer identifier, checked against the callback's `iss` (RFC 9207). */
  issuer?: string;
  /** Default true. `false` only with `tokenHandoffUrl`, for a server that rejects PKCE parameters. */
  usePkce?: boolean;
  /** Public client without backend: the browser exchanges the code itself (exclusive with `tokenHandoffUrl`). */
  tokenEndpoint?: string;
  /** More authorization request parameters (`prompt`, `audience`...), in order; reserved names are rejected. */
  extraParams?: Record<string, string>;
}

/** Mia-Platform Console as authorization server (seed 000): `{consoleUrl}/tenants/{tenantId}/extension/{extensionId}/authz?state=…`. */
export interface MiaConsoleOptions extends CommonOptions {
  profile: 'mia-console';
  consoleUrl: string;
  tenantId: string;
  extensionId: string;
  /** Required: your backend exchanges the code with the console. */
  tokenHandoffUrl: string;
}

/** Matrix SSO (seed 003): `/_matrix/client/v3/login/sso/redirect[/idpId]?redirectUrl=…`, then `m.login.token`. */
export interface MatrixOptions extends CommonOptions {
  profile: 'matrix';
  homeserverUrl: string;
  idpId?: string;
  /** The callback page; it receives `loginToken` (and our one-time nonce). */
  redirectUri: string;
}

/** Mia-Platform Authentication Service (seed 004): `/authorize?appId&providerId&redirect=…`, session in the `sid` cookie. */
export interface AuthServiceOptions extends Omit<CommonOptions, 'tokenHandoffUrl' | 'cookieSession'> {
  profile: 'mia-auth-service';
  authServiceUrl: string;
  appId: string;
  providerId: string;
  /** Where the service returns at the end: a path (`/home`) or an absolute URL. Our one-time nonce is added. */
  redirect: string;
}

/** The options of `new ExtensionClient(options)`, by `profile`. */
export type ExtensionClientOptions = OAuth2Options | MiaConsoleOptions | MatrixOptions | AuthServiceOptions;

/**
 * A logged-in session. Keep it in memory. Refresh tokens are never kept
 * (renewal is the backend's job, or a new login).
 */
export interface Session {
  /** The access token; `null` for a cookie-only session. */
  accessToken: string | null;
  /** Expiry in SECONDS since the epoch (`Date.now() / 1000` scale), or `null` when the server did not say. */
  expiresAt: number | null;
  /** The OpenID Connect ID Token, unverified. */
  idToken: string | null;
  /** Matrix `user_id`. */
  userId: string | null;
  /** Matrix `device_id`. */
  deviceId: string | null;
  tokenType: string | null;
  /** Granted scope. */
  scope: string | null;
  /** Matrix `well_known["m.homeserver"].base_url` when sent. */
  homeserverBaseUrl: string | null;
  /** True when the session lives only in an HttpOnly cookie (`cookieSession`, or the auth service). */
  cookieOnly: boolean;
}

/** Identity claims of the current session. */
export interface Identity {
  claims: Record<string, unknown>;
  /**
   * `false` for claims decoded from the ID Token or a JWT access token WITHOUT
   * signature verification: display only, never authorise with them. The
   * client entry does not verify tokens; verify on your backend (or with
   * `JwksVerifier` from `extension-sso/verifier`). `true` only for the auth
   * service's `/userinfo`, which checked its own session cookie, and for the
   * `identity` your backend answered the handoff with after verifying the
   * access token (`createHandoffHandler` does: source `'backend'`).
   */
  verified: boolean;
  source: 'backend' | 'id_token' | 'access_token' | 'userinfo';
}

/**
 * SSO login for an extension page. Every rejection is an
 * {@link ExtensionSsoError} with a stable `.code`, e.g. `state_unknown`,
 * `state_expired`, `state_reused`, `state_storage_unavailable`,
 * `iss_mismatch`, `iss_missing`, `authorization_denied` (with `.error`,
 * `.error_description`, `.error_uri`), `invalid_callback`, `handoff_failed`
 * (with `.status`), `popup_blocked`, `popup_closed`, `origin_not_allowed`,
 * `navigation_unavailable`, `not_logged_in`.
 *
 * ```js
 * import init, { ExtensionClient } from 'extension-sso/client';
 * await init();
 * const client = new ExtensionClient({ profile: 'oauth2', authorizationEndpoint, clientId,
 *   redirectUri, scope: 'openid', issuer, tokenHandoffUrl: '/api/sso/token' });
 * button.onclick = () => client.login();            // navigates (no await before it in popup mode)
 * if (client.isCallback(location.href)) {
 *   const session = await client.handleCallback(location.href);
 * }
 * ```
 */
export class ExtensionClient {
  /** Throws `invalid_options` naming the bad or unknown option. */
  constructor(options: ExtensionClientOptions);
  /**
   * Seed 001's form: an OAuth 2.0 public client with PKCE against
   * `{authorizationServerUrl}/authorize` and `/token`, `client_id` =
   * `extensionId`, `issuer` = `authorizationServerUrl`. Then call
   * `login(redirectUrl)` on both pages.
   */
  constructor(authorizationServerUrl: string, extensionId: string);
  /**
   * Creates and stores a new flow (state, PKCE verifier) and resolves with the
   * URL to navigate to, without navigating. Storage is checked here: with
   * `self`/`top` and blocked storage it rejects `state_storage_unavailable`.
   */
  authorizationUrl(): Promise<string>;
  /**
   * Two-phase login. On the callback page, completes and resolves with the
   * session (as {@link handleCallback}); with a live session, resolves with
   * it at once; otherwise starts a flow and navigates:
   * - `'self'`: assigns this frame; the promise NEVER settles (the page unloads);
   * - `'top'`: asks the host; never settles once the host accepted, rejects
   *   `navigation_unavailable` when it refuses or does not answer in 3 s;
   * - `'popup'`: opens the popup synchronously (call from a click handler, no
   *   `await` before it; else `popup_blocked`) and resolves with the session
   *   when the popup's callback arrives (`popup_closed` if the user closes it).
   * `redirectUrl` is needed in seed 001's form; with options it must equal the configured redirect.
   */
  login(redirectUrl?: string): Promise<Session>;
  /** True when `url` carries callback parameters (`code`, `state`, `error`, `loginToken` or our nonce). */
  isCallback(url: string): boolean;
  /**
   * Completes a login from its callback URL (default `location.href`). When
   * `url` is this page's URL, the callback parameters are removed from the
   * address bar at once (`history.replaceState`, other parameters and the
   * hash kept), on success and on failure. Checks `state` (one-time, expiry),
   * the redirect page, RFC 9207 `iss`, the server's `error`, then makes the
   * one request (handoff, token endpoint, Matrix login, or auth service).
   * In popup mode on the popup's callback page it hands the URL to the opener
   * and closes the popup (the promise never settles). For `mia-auth-service`
   * the first callback (code + state) posts to the service and navigates to
   * the location it answers (never settles); the second (our nonce) resolves
   * with a cookie-only session.
   */
  handleCallback(url?: string): Promise<Session>;
  /**
   * Claims of the current session: decoded, NOT verified, from the ID Token
   * (or a JWT access token); `mia-auth-service` reads
   * `{authServiceUrl}/userinfo` with its cookie. Rejects `not_logged_in`.
   */
  getUserIdentity(): Promise<Identity>;
  /** Forgets the session and every pending flow of this tab (memory and `sessionStorage`). */
  logout(): void;
  /** The current live session, or `null`. */
  readonly session: Session | null;
  /**
   * On the popup's callback page: posts `{type:'extension-sso:callback', url}`
   * to `window.opener` with `targetOrigin` = `openerOrigin` (default: this
   * page's origin), or on a `BroadcastChannel` when the opener is gone;
   * scrubs the address bar and closes the window. Returns false when this
   * page is not a callback.
   */
  static completePopup(openerOrigin?: string): boolean;
  /** True when this page runs inside a frame. */
  static isFramed(): boolean;
  /** True when `sessionStorage` works here (a probe write); false means use `navigation: 'popup'`. */
  static sessionStorageAvailable(): boolean;
  /** Frees the wasm memory of this client. */
  free(): void;
}

/** Options of {@link installHostBridge}. */
export interface HostBridgeOptions {
  /** The extension's exact origin: the only accepted sender and the reply's `targetOrigin`. */
  extensionOrigin: string;
  /** Accept messages only from this iframe's window. */
  frame?: HTMLIFrameElement;
  /** Navigate only to URLs starting with one of these (recommended: the authorization endpoints). */
  allowedUrlPrefixes?: string[];
  /** Replaces `location.assign(url)`. */
  navigate?: (url: string) => void;
}

/**
 * For the HOST page that frames extensions: implements the other side of
 * `navigation: 'top'`. Needs no wasm and no `init()`. Returns an uninstall function.
 */
export function installHostBridge(options: HostBridgeOptions): () => void;

/**
 * Loads the WebAssembly module (browsers and bundlers): call and await once
 * before using {@link ExtensionClient}. `input` overrides where the `.wasm` is
 * fetched from. A no-op under Node and workerd.
 */
export default function init(
  input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module,
): Promise<void>;
