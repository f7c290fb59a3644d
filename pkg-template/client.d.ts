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
 * How the browser reaches the login page.
 * - `'self'` (default): the current frame goes there. Needs `sessionStorage`,
 *   and a login page that allows being framed when the extension runs in an iframe.
 * - `'top'`: the page that embeds the extension (your console) navigates its
 *   whole window there, asked by `postMessage` to `hostOrigin`; that page runs
 *   {@link installHostBridge}. Needs `sessionStorage` in the iframe.
 * - `'popup'`: a popup window, opened inside the click that called `login()`;
 *   the login in progress stays in this page's memory, so it works where
 *   `sessionStorage` is blocked (a cross-site iframe in a private window, or
 *   with third-party storage blocked). The popup comes back to your callback
 *   page, which hands the result to this page (see {@link ExtensionClient.handleCallback}
 *   and {@link ExtensionClient.completePopup}).
 *
 * Use {@link ExtensionClient.isFramed} and
 * {@link ExtensionClient.sessionStorageAvailable} to choose at run time.
 */
export type Navigation = 'self' | 'top' | 'popup';

/**
 * Whether the callback must say which server answered (RFC 9207 `iss`, against
 * mix-up attacks). `'if-present'` (default): when the callback has `iss` and
 * `issuer` is set, they must be equal; when the server's metadata says it always
 * sends `iss`, it must be there. `'require'`: always required. `'off'`: ignored
 * (only for a server that sends a wrong `iss`).
 */
export type IssPolicy = 'require' | 'if-present' | 'off';

/** Options every login kind accepts. An unknown option (a typo) throws `invalid_options`. */
export interface CommonOptions {
  /**
   * Your backend endpoint that receives the one-time code and turns it into a
   * session: the browser POSTs JSON to it with `credentials: 'include'`. An
   * absolute https URL or a path on this page's origin (`/api/sso/token`).
   * Body: OAuth 2.0 `{code, state, code_verifier?, redirect_uri, iss?, nonce?}`
   * (`nonce` when `scope` contains `openid`: check it in the ID Token);
   * console exactly `{code, state}` (what the console's
   * `POST {consoleUrl}/api/oauth/token` takes); Matrix
   * `{type: 'm.login.token', token}` (what the homeserver's `/login` takes).
   * It must answer 2xx JSON with at least `access_token` (or an empty body /
   * `{}` with `cookieSession: true`); anything else rejects with
   * `handoff_failed` (`.status` set). Redirects are never followed.
   * `createHandoffHandler` from `extension-sso/server` is such a backend.
   */
  tokenHandoffUrl?: string;
  /** Default `'self'`. */
  navigation?: Navigation;
  /** How long a login may take between leaving and coming back, in seconds, 30..3600 (default 600). */
  stateTtlSec?: number;
  /** Default `'if-present'`. `'require'` needs `issuer`. */
  issPolicy?: IssPolicy;
  /**
   * The exact origin of the page that embeds the extension (`https://console.example.com`).
   * Required for `navigation: 'top'`: the only target of our messages and the
   * only origin whose answers are accepted. Never `'*'`.
   */
  hostOrigin?: string;
  /** Accept an answer of `tokenHandoffUrl` without `access_token`: your backend keeps the session in an HttpOnly cookie. Default false. */
  cookieSession?: boolean;
  /**
   * Opt-in: keep the session (access token included) in `sessionStorage` so a
   * reload of this tab keeps it. Default false: tokens stay in memory only.
   * Any script on this origin can read `sessionStorage`; never `localStorage`.
   */
  persistSession?: boolean;
  /**
   * How long each request of the client may take, in milliseconds, 1..60000
   * (default 10000). Running out rejects with a retryable error
   * (`handoff_failed` for `tokenHandoffUrl`, `discovery_failed` for the
   * server's metadata, `network_error` otherwise).
   */
  timeoutMs?: number;
  /**
   * The `fetch` every request of the client goes through (default
   * `globalThis.fetch`): a proxy, tracing, test interception. It is called
   * with `redirect: 'manual'`; an answer that comes from a redirect (one it
   * followed anyway) is refused like a redirect, so keep the option: a
   * fetch that follows has already re-sent the request there.
   */
  fetch?: typeof globalThis.fetch;
}

/**
 * Any OAuth 2.0 / OpenID Connect server (Keycloak, Auth0, Entra ID, Google,
 * oidc-provider, Authress, ...): the authorization code flow with PKCE S256.
 * Give `issuer` alone and the endpoints come from the server's metadata
 * (`/.well-known/openid-configuration`, then RFC 8414's
 * `/.well-known/oauth-authorization-server`); endpoints you set win.
 */
export interface OAuth2Options extends CommonOptions {
  profile: 'oauth2';
  /** The server's authorization endpoint (https; http only on localhost / 127.x / [::1]). Optional with `issuer`. */
  authorizationEndpoint?: string;
  /** Your client id at the server. */
  clientId: string;
  /** The redirect URI registered at the server; the callback must arrive exactly at this page (origin + path). */
  redirectUri: string;
  /**
   * Space-separated scopes, e.g. `'openid profile'`. With `openid` the request
   * carries a one-time OpenID Connect `nonce`: it goes to your backend in the
   * handoff body (to check in the ID Token), and a browser that exchanges the
   * code itself (`tokenEndpoint`) checks it in the ID Token's decoded claims
   * (`invalid_claim` when it differs). That check decodes the ID Token without
   * verifying its signature: it ties the token to this login, it does not
   * prove who issued it.
   */
  scope?: string;
  /**
   * The server's issuer identifier, exactly as the server names itself: the
   * callback's `iss` is checked against it (RFC 9207), and without
   * `authorizationEndpoint` the endpoints are discovered from it.
   */
  issuer?: string;
  /** Default true. `false` only with `tokenHandoffUrl`, for a server that rejects PKCE parameters. */
  usePkce?: boolean;
  /**
   * No backend: the browser exchanges the code itself with its PKCE verifier
   * (exclusive with `tokenHandoffUrl`). With `issuer` and neither option, the
   * discovered token endpoint is used.
   */
  tokenEndpoint?: string;
  /** More authorization request parameters (`prompt`, `audience`...), in order; the ones the client sets itself are refused. */
  extraParams?: Record<string, string>;
}

/**
 * The Mia-Platform Console as login server for an extension it frames:
 * `{consoleUrl}/tenants/{tenantId}/extension/{extensionId}/authz?state=…`;
 * your backend exchanges the code with the console.
 */
export interface MiaConsoleOptions extends CommonOptions {
  profile: 'mia-console';
  /** The console's base URL, e.g. `https://console.example.com`. */
  consoleUrl: string;
  /** The company (tenant) id. */
  tenantId: string;
  /** Your extension's id in the console. */
  extensionId: string;
  /** Required: your backend exchanges the code with the console. */
  tokenHandoffUrl: string;
}

/**
 * A Matrix homeserver's single sign-on: the homeserver sends the user to its
 * identity provider, comes back with a `loginToken`, which becomes a Matrix
 * access token (`m.login.token`), in the browser or on your backend.
 */
export interface MatrixOptions extends CommonOptions {
  profile: 'matrix';
  /** The homeserver's base URL, e.g. `https://matrix.example.org`. */
  homeserverUrl: string;
  /** One identity provider of the homeserver (`identity_providers[].id`), to skip its chooser. */
  idpId?: string;
  /** Your callback page; it receives the `loginToken`. */
  redirectUri: string;
}

/**
 * The Mia-Platform Authentication Service in front of your app: it logs the
 * user in with its identity provider and keeps the session in its `sid`
 * cookie; the client reads who logged in from its `/userinfo`.
 */
export interface AuthServiceOptions extends Omit<CommonOptions, 'tokenHandoffUrl' | 'cookieSession'> {
  profile: 'mia-auth-service';
  /** The service's base URL (where `/authorize`, `/oauth/token` and `/userinfo` are). */
  authServiceUrl: string;
  /** Your app's id in the service's configuration. */
  appId: string;
  /** The identity provider's id in the service's configuration. */
  providerId: string;
  /** Where the service returns at the end: a path (`/home`) or an absolute URL. */
  redirect: string;
}

/** The options of `new ExtensionClient(options)`, by `profile`. */
export type ExtensionClientOptions = OAuth2Options | MiaConsoleOptions | MatrixOptions | AuthServiceOptions;

/**
 * A logged-in session. Keep it in memory. Refresh tokens are never kept
 * (renewal is your backend's job, or a new login).
 */
export interface Session {
  /** The access token; `null` for a cookie-only session. */
  accessToken: string | null;
  /** Expiry in SECONDS since the epoch (`Date.now() / 1000` scale), or `null` when the server did not say. */
  expiresAt: number | null;
  /** The OpenID Connect ID Token, as received (verify it on your backend). */
  idToken: string | null;
  /** Matrix `user_id`. */
  userId: string | null;
  /** Matrix `device_id`. */
  deviceId: string | null;
  /** `Bearer` (any case) or `null`: other token types are refused. */
  tokenType: string | null;
  /** The granted scope; `''` when the server said the token has none. */
  scope: string | null;
  /** Matrix `well_known["m.homeserver"].base_url` when sent (https only). */
  homeserverBaseUrl: string | null;
  /** True when the session lives only in an HttpOnly cookie (`cookieSession`, or the authentication service). */
  cookieOnly: boolean;
}

/** Who is logged in. */
export interface Identity {
  claims: Record<string, unknown>;
  /**
   * `false` for claims decoded from the ID Token or a JWT access token WITHOUT
   * signature verification: display only, never authorise with them. Verify on
   * your backend (or with `JwksVerifier` from `extension-sso/verifier`). `true`
   * only for the authentication service's `/userinfo`, which checked its own
   * session cookie, and for the `identity` your backend answered the handoff
   * with after verifying the access token (`createHandoffHandler` does: source
   * `'backend'`).
   */
  verified: boolean;
  source: 'backend' | 'id_token' | 'access_token' | 'userinfo';
}

/** The last argument of the calls that may wait for the network or the user. */
export interface CallOptions {
  /** Aborting it rejects the call with `aborted` (not retryable, `cause` = the signal's reason). */
  signal?: AbortSignal;
}

/**
 * SSO login for an extension page. Every rejection is an
 * {@link ExtensionSsoError} with a stable `.code`, e.g. `state_unknown`,
 * `state_expired`, `state_reused`, `state_storage_unavailable`,
 * `iss_mismatch`, `iss_missing`, `authorization_denied` (with `.error`,
 * `.error_description`, `.error_uri`), `invalid_callback`, `handoff_failed`
 * (with `.status`), `popup_blocked`, `popup_closed`, `origin_not_allowed`,
 * `navigation_unavailable`, `not_logged_in`, `discovery_failed`,
 * `issuer_mismatch`, `invalid_claim`, `aborted`.
 *
 * ```js
 * import init, { ExtensionClient } from 'extension-sso/client';
 * await init();
 * const client = new ExtensionClient({ profile: 'oauth2', issuer: 'https://login.example.com',
 *   clientId, redirectUri, scope: 'openid', tokenHandoffUrl: '/api/sso/token' });
 * button.onclick = () => client.login();            // navigates (no await before it in popup mode)
 * if (client.isCallback(location.href)) {
 *   const session = await client.handleCallback(location.href);
 * }
 * ```
 */
export class ExtensionClient {
  /** Throws `invalid_options` naming the bad or unknown option (and saying to `await init()` first when it was not). */
  constructor(options: ExtensionClientOptions);
  /**
   * The short form: an OAuth 2.0 public client with PKCE against
   * `{authorizationServerUrl}/authorize` and `/token`, `client_id` =
   * `extensionId`, `issuer` = `authorizationServerUrl`. Then call
   * `login(redirectUrl)` on both pages.
   */
  constructor(authorizationServerUrl: string, extensionId: string);
  /**
   * Starts a login (state, PKCE verifier) and resolves with the URL to send the
   * browser to, without going there. Storage is checked here: with
   * `self`/`top` and blocked storage it rejects `state_storage_unavailable`.
   */
  authorizationUrl(): Promise<string>;
  /**
   * Two-phase login. On the callback page, completes and resolves with the
   * session (as {@link handleCallback}); with a live session, resolves with
   * it at once; otherwise starts a login and navigates:
   * - `'self'`: the frame leaves; the promise NEVER settles (unless its
   *   `signal` aborts: then `aborted`, e.g. when the navigation did not leave);
   * - `'top'`: asks the host page; once it accepted, settles only on an
   *   abort, rejects `navigation_unavailable` when it refuses or does not
   *   answer in 3 s;
   * - `'popup'`: opens the popup inside the click (call `login()` from a click
   *   handler, with no `await` before it; else `popup_blocked`) and resolves
   *   with the session when the popup's callback arrives (`popup_closed` if
   *   the user closes it, or if the login page sets a
   *   `Cross-Origin-Opener-Policy` that cuts the popup off from this page:
   *   use `'self'` or `'top'` with such a server). Messages that are not this login's own callback
   *   (another tab's, a stray page's, malformed ones) are ignored.
   * `redirectUrl` is needed in the short form; with options it must equal the configured redirect.
   */
  login(redirectUrl?: string, options?: CallOptions): Promise<Session>;
  login(options: CallOptions): Promise<Session>;
  /** True when `url` carries callback parameters (`code`, `state`, `error`, `loginToken` or our nonce). */
  isCallback(url: string): boolean;
  /**
   * Completes a login from its callback URL (default `location.href`). When
   * `url` is this page's URL, the callback parameters are removed from the
   * address bar at once (`history.replaceState`, other parameters and the
   * hash kept), on success and on failure. Checks `state` (one-time, expiry),
   * the redirect page, RFC 9207 `iss`, the server's `error`, then makes the
   * one request (your backend, the token endpoint, the homeserver, or the
   * authentication service). A callback that names a login in progress ends
   * it whatever else is wrong with it: retrying needs a new login.
   * In popup mode on the popup's callback page it hands the URL to the opener
   * and closes the popup (the promise settles only if its `signal` aborts).
   * For `mia-auth-service` the first callback (code + state) posts to the
   * service and navigates to the location it answers (likewise); the second
   * (our nonce) resolves with a cookie-only session.
   */
  handleCallback(url?: string, options?: CallOptions): Promise<Session>;
  handleCallback(options: CallOptions): Promise<Session>;
  /**
   * Who is logged in: the identity your backend verified, else the claims of
   * the ID Token (or a JWT access token) decoded WITHOUT verification;
   * `mia-auth-service` reads `{authServiceUrl}/userinfo` with its cookie.
   * Rejects `not_logged_in`.
   */
  getUserIdentity(options?: CallOptions): Promise<Identity>;
  /** Forgets the session and every login in progress of this tab (memory and `sessionStorage`). */
  logout(): void;
  /** The current live session, or `null`. */
  readonly session: Session | null;
  /**
   * On the popup's callback page: posts `{type:'extension-sso:callback', url}`
   * to `window.opener` with `targetOrigin` = `openerOrigin` (default: this
   * page's origin; one exact origin such as `https://app.example`, never
   * `'*'`, else `invalid_options`: the URL carries the code and the state),
   * or on a `BroadcastChannel` when the opener is gone; scrubs the address
   * bar. The opener closes the popup once it has the callback (this window
   * closes itself after 5 s if nobody does; at once after a
   * `BroadcastChannel` message). Returns false when this page is not a
   * callback.
   */
  static completePopup(openerOrigin?: string): boolean;
  /** True when this page runs inside a frame. */
  static isFramed(): boolean;
  /** True when `sessionStorage` works here (a probe write); false means use `navigation: 'popup'`. */
  static sessionStorageAvailable(): boolean;
  /** Frees the wasm memory of this client; never throws (calling it twice, or after the module failed, is harmless). */
  free(): void;
}

/** Options of {@link installHostBridge}. */
export interface HostBridgeOptions {
  /** The extension's exact origin: the only accepted sender and the reply's `targetOrigin`. */
  extensionOrigin: string;
  /** Accept messages only from this iframe's window. */
  frame?: HTMLIFrameElement;
  /**
   * Navigate only to these login pages (recommended): each an absolute URL
   * without query or fragment, e.g. `https://auth.example/authorize`. A URL
   * is followed when its origin is the same and its path starts with the
   * same whole segments (`/authorize`, `/authorize?…`, `/authorize/x`; never
   * `/authorizeXYZ`). URLs with `user:password@` or `.` / `..` segments are
   * never followed, written or encoded (`%2E`), nor behind an encoded slash
   * (`..%2F`, `..%5C`) or a `;` path parameter (`..;`).
   */
  allowedUrlPrefixes?: string[];
  /** Replaces `location.assign(url)`. */
  navigate?: (url: string) => void;
}

/**
 * For the page that embeds extensions (your console): implements the other
 * side of `navigation: 'top'`. Needs no wasm and no `init()`. Returns an
 * uninstall function.
 */
export function installHostBridge(options: HostBridgeOptions): () => void;

/**
 * Loads the WebAssembly module (browsers and bundlers): call and await once
 * before using {@link ExtensionClient}. `input` overrides where the `.wasm` is
 * fetched from. A no-op under Node and workerd. Rejects with an
 * `ExtensionSsoError` `unsupported` (its `cause` kept) when the `.wasm` cannot
 * be fetched (a response that is not ok: its status is named) or compiled; a
 * later call tries again.
 */
export default function init(
  input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module,
): Promise<void>;
