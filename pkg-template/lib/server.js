// extension-sso/server: backend helpers.
//
// The wasm core builds every request, parses every response and makes every
// decision of the handoff handler; this layer does the I/O with the runtime's
// global fetch (timeout, body cap, network errors) and calls the verifier.
// Returned tokens are never logged.
import { readCapped, runtimeSlot, ssoError } from './common.js';
export { ExtensionSsoError } from './common.js';
import {
  HandoffCore, ServiceClientCore,
  checkLoginFlows, crateVersion, errorCodeList, exchangeCodeRequest, identityFromClaims as identityFromClaimsJson,
  matrixLoginFlowsRequest, matrixTokenLoginRequest, networkError, parseExchangeResponse, parseMatrixLogin,
  parseTokenResponse, refreshRequest, timeoutError,
} from '../wasm/server/extension_sso_server.js';

const runtime = runtimeSlot('server');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { crateVersion };
/** Every error code (`ErrorCode`). */
export const errorCodes = () => errorCodeList().split(' ');

// wasm objects owned by long-lived JS objects are freed when those are collected.
const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((core) => { try { core.free(); } catch { /* already freed */ } })
  : null;

const EMPTY = new Uint8Array(0);

function plainObject(value, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ssoError('invalid_options', `${what} options must be an object`);
  }
  return value;
}

/** Drops `undefined` members (an explicit `null` stays). */
function defined(object) {
  const out = {};
  for (const [k, v] of Object.entries(object)) if (v !== undefined) out[k] = v;
  return out;
}

/** The options as JSON text, the form the wasm core reads them in. */
function optionsJson(object, what) {
  try {
    return JSON.stringify(object);
  } catch (e) {
    throw ssoError('invalid_options', `${what} options must be plain data: ${e.message}`);
  }
}

/** The response headers as [name, value] pairs, one pair per Set-Cookie. */
function headerPairs(headers) {
  const out = [];
  for (const [name, value] of headers) if (name.toLowerCase() !== 'set-cookie') out.push([name, value]);
  const cookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [];
  for (const c of cookies) out.push(['set-cookie', c]);
  return out;
}

/**
 * Sends a request description made by the wasm core and returns
 * `{ status, headers, body }`. Redirects are not followed; the whole exchange
 * (headers and body) must finish within `timeoutMs`. Failures become the
 * retryable `network_error`.
 */
async function send(rt, request, what) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; controller.abort(); }, request.timeoutMs);
  try {
    const res = await rt.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ?? undefined,
      redirect: 'manual',
      signal: controller.signal,
    });
    const body = await readCapped(res, request.maxResponseBytes);
    return { status: res.status, headers: headerPairs(res.headers), body };
  } catch (e) {
    const error = timedOut ? timeoutError(what, request.timeoutMs) : networkError(what);
    error.cause = e;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const nowSec = (rt) => rt.now() / 1000;

/**
 * Exchanges an authorization code for tokens with the host, in the host's
 * format (`profile`: 'oauth2' | 'mia-console' | 'mia-auth-service').
 * Resolves to `{ accessToken, tokenType, expiresIn, expiresAt, refreshToken,
 * idToken, scope, raw }`.
 */
export async function exchangeCode(options) {
  const rt = runtime.get();
  const opts = defined(plainObject(options, 'exchangeCode'));
  const request = exchangeCodeRequest(optionsJson(opts, 'exchangeCode'));
  const res = await send(rt, request, 'token endpoint');
  return parseExchangeResponse(opts.profile, res.status, res.headers, res.body, nowSec(rt));
}

/** Refreshes tokens with a refresh token (RFC 6749 §6). Resolves like `exchangeCode`. */
export async function refreshTokens(options) {
  const rt = runtime.get();
  const request = refreshRequest(optionsJson(defined(plainObject(options, 'refreshTokens')), 'refreshTokens'));
  const res = await send(rt, request, 'token endpoint');
  return parseTokenResponse(res.status, res.headers, res.body, nowSec(rt));
}

/**
 * Matrix token login (seed 003): checks that the homeserver offers
 * `m.login.token` (unless `checkLoginFlows: false`), then exchanges the SSO
 * `loginToken`. Resolves to `{ accessToken, userId, deviceId, homeServer,
 * homeserverBaseUrl, refreshToken, expiresInMs, expiresAt }`.
 */
export async function matrixTokenLogin(options) {
  const rt = runtime.get();
  const opts = defined(plainObject(options, 'matrixTokenLogin'));
  const text = optionsJson(opts, 'matrixTokenLogin');
  const login = matrixTokenLoginRequest(text);
  if (opts.checkLoginFlows !== false) {
    const res = await send(rt, matrixLoginFlowsRequest(text), 'homeserver');
    checkLoginFlows(res.status, res.headers, res.body);
  }
  const res = await send(rt, login, 'homeserver');
  return parseMatrixLogin(res.status, res.headers, res.body, nowSec(rt));
}

/**
 * The typed identity fields of verified claims: `{ sub, id, email, name,
 * firstName, lastName, username, groups }` (seed 002's `first_name`,
 * `last_name`, `username`, OIDC fallbacks, seed 004's `id` and `groups`).
 */
export function identityFromClaims(claims) {
  runtime.get();
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw ssoError('invalid_options', 'claims must be an object (the result of verifier.verify())');
  }
  return identityFromClaimsJson(JSON.stringify(claims));
}

// ---------------------------------------------------------------------------
// createHandoffHandler

function toResponse({ status, headers, body }) {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  return new Response(status === 204 || body === '' ? null : body, { status, headers: h });
}

function defaultOnError(error, context) {
  if (context.status >= 500) {
    // Codes and messages only: they never contain tokens, codes or secrets.
    console.error(`[extension-sso] handoff handler: ${context.status} (${error?.code ?? error?.name}): ${error?.message}`);
  }
}

const INTERNAL_ERROR = {
  status: 500,
  headers: [['content-type', 'application/json'], ['cache-control', 'no-store']],
  body: '{"error":"server_error","error_description":"the handler failed; see the server logs"}',
};

/**
 * A fetch-style handler `(request: Request) => Promise<Response>` that
 * receives the browser client's handoff, exchanges the code with the host,
 * verifies the access token with `verifier`, and answers the token JSON or
 * an HttpOnly session cookie; plus a userinfo endpoint.
 */
export function createHandoffHandler(options) {
  const rt = runtime.get();
  const { verifier, onError = defaultOnError, ...rest } = plainObject(options, 'createHandoffHandler');
  if (!verifier || typeof verifier.verify !== 'function') {
    throw ssoError('invalid_options',
      'verifier is required: pass a JwksVerifier (import { JwksVerifier } from \'extension-sso/verifier\') for the host\'s /jwks');
  }
  if (typeof onError !== 'function') throw ssoError('invalid_options', 'onError must be a function');
  const opts = defined(rest);
  if (opts.session !== undefined && opts.session !== null) opts.session = defined(plainObject(opts.session, 'session'));
  const core = new HandoffCore(optionsJson(opts, 'createHandoffHandler'));

  const report = (error, status, request) => {
    try { onError(error, { status, method: request.method, url: request.url }); } catch { /* never let logging fail a request */ }
  };

  async function exchange(call, request) {
    let answer;
    let failure;
    try {
      const res = await send(rt, call.request(), 'token endpoint');
      const accessToken = call.onResponse(res.status, res.headers, res.body);
      const claims = await verifier.verify(accessToken);
      answer = call.finish(JSON.stringify(claims), nowSec(rt));
    } catch (e) {
      failure = e;
      answer = call.fail(typeof e?.code === 'string' ? e.code : undefined, e?.retryable === true,
        Number.isInteger(e?.status) ? e.status : undefined, typeof e?.error === 'string' ? e.error : undefined);
    }
    if (failure !== undefined) report(failure, answer.status, request);
    return answer;
  }

  async function userinfo(call, request) {
    try {
      const claims = await verifier.verify(call.token());
      return call.finish(JSON.stringify(claims));
    } catch (e) {
      const answer = call.fail(typeof e?.code === 'string' ? e.code : undefined, e?.retryable === true,
        Number.isInteger(e?.status) ? e.status : undefined);
      report(e, answer.status, request);
      return answer;
    }
  }

  const handler = async function handoffHandler(request) {
    let step;
    try {
      const { pathname } = new URL(request.url);
      const body = request.method === 'POST' ? await readCapped(request, core.maxBodyBytes) : EMPTY;
      step = core.route(request.method, pathname, headerPairs(request.headers), body);
      if (step.response) return toResponse(step.response);
      if (step.exchange) return toResponse(await exchange(step.exchange, request));
      return toResponse(await userinfo(step.userinfo, request));
    } catch (e) {
      report(e, 500, request);
      return toResponse(INTERNAL_ERROR);
    } finally {
      step?.exchange?.free();
      step?.userinfo?.free();
    }
  };
  registry?.register(handler, core);
  return handler;
}

/**
 * Adapts a fetch-style handler to `node:http`:
 * `http.createServer(toNodeListener(handler))`. `origin` (default
 * `http://<Host header>`) is the URL base the handler sees.
 */
export function toNodeListener(handler, { origin } = {}) {
  return async function listener(req, res) {
    try {
      const base = origin ?? `http://${req.headers.host ?? 'localhost'}`;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else if (value !== undefined) headers.set(name, value);
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      let body;
      if (hasBody) {
        const iterator = req[Symbol.asyncIterator]();
        body = new ReadableStream({
          async pull(controller) {
            const { done, value } = await iterator.next();
            if (done) controller.close();
            else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
          },
          cancel() { req.resume(); },
        });
      }
      const request = new Request(new URL(req.url, base), {
        method: req.method, headers, body, duplex: hasBody ? 'half' : undefined,
      });
      const response = await handler(request);
      const out = {};
      for (const [name, value] of response.headers) if (name !== 'set-cookie') out[name] = value;
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out['set-cookie'] = cookies;
      res.writeHead(response.status, out);
      if (response.body) {
        for await (const chunk of response.body) res.write(chunk);
      }
      res.end();
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end();
    }
  };
}

// ---------------------------------------------------------------------------
// ServiceClientTokenProvider (seed 001)

/**
 * Mints short-lived JWTs signed with a service client's private key, for
 * `Authorization: Bearer` calls to the platform's API, and caches each one
 * until shortly before it expires.
 *
 *   new ServiceClientTokenProvider({ accessKey, issuerUrl, audience? })
 *   new ServiceClientTokenProvider(accessKey, issuerUrl)   // seed 001's form
 */
export class ServiceClientTokenProvider {
  #core;
  #rt;

  constructor(options, issuerUrl) {
    this.#rt = runtime.get();
    const opts = typeof options === 'string'
      ? { accessKey: options, issuerUrl }
      : defined(plainObject(options, 'ServiceClientTokenProvider'));
    if (typeof options !== 'string' && issuerUrl !== undefined) {
      throw ssoError('invalid_options', 'pass either ({ accessKey, issuerUrl }) or (accessKey, issuerUrl)');
    }
    this.#core = new ServiceClientCore(optionsJson(defined(opts), 'ServiceClientTokenProvider'));
    registry?.register(this, this.#core);
  }

  /** A token valid for at least one more minute (cached, or freshly minted). */
  async getToken() {
    return this.#core.getToken(nowSec(this.#rt));
  }

  /** The client id (`sub` of minted tokens). */
  get clientId() { return this.#core.clientId; }
  /** The `kid` of minted tokens. */
  get keyId() { return this.#core.keyId; }
  /** The `iss` of minted tokens: `{issuerUrl}/v1/clients/{clientId}`. */
  get issuer() { return this.#core.issuer; }
  /** The `aud` of minted tokens. */
  get audience() { return this.#core.audience; }
  /** `'EdDSA'` or `'ES256'`. */
  get algorithm() { return this.#core.algorithm; }

  /** The public key as a JWK (with kid, alg, use). */
  publicJwk() { return JSON.parse(this.#core.publicJwk()); }
  /** `{ keys: [publicJwk()] }`, e.g. for `JwksVerifier.fromJwks`. */
  publicJwks() { return { keys: [this.publicJwk()] }; }
}
