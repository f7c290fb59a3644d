// extension-sso/server: backend helpers.
//
// The wasm core builds every request, parses every response and makes every
// decision of the handoff handler (routes, statuses, what a failure becomes
// and how loud it is) and of the issuer metadata cache (when to discover,
// what to wait for, how long a document or a failure is kept); this layer
// does the I/O: fetch (the caller's or the global one, under a timeout and
// the caller's AbortSignal), waiting, reading request bodies when the core
// asks, calling the verifier, and node:crypto / WebCrypto signing for
// ServiceClientTokenProvider. Returned tokens are never logged.
import {
  ExtensionSsoError, KIND, fetchBody, readCapped, readOptions, runtimeSlot, ssoError, throwIfAborted,
} from './common.js';
export { ExtensionSsoError };
import {
  DiscoveryCache, ServiceClientCore,
  crateVersion, errorCodeList, identityFromClaims as identityFromClaimsJson,
} from '../wasm/server/extension_sso_server.js';

// Installed by the loader (pkg-template/loaders/server.*.js).
const runtime = runtimeSlot('server');
export { crateVersion };
/** Every error code (`ErrorCode`). */
export const errorCodes = () => errorCodeList().split(' ');

// wasm objects owned by long-lived JS objects are freed when those are collected.
const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((core) => { try { core.free(); } catch { /* already freed */ } })
  : null;

// ---- options: names and types here (readOptions), what values mean in the core ----

// An explicit null reads as "not set", as it always has.
const N = KIND.orNull;
const STRING = N(KIND.string);
const UINT = N(KIND.uint);
const BOOL = N(KIND.bool);
/** The OAuth 2.0 client settings shared by exchangeCode, refreshTokens and createHandoffHandler. */
const CLIENT = {
  profile: STRING, issuer: STRING, tokenEndpoint: STRING, jwksUri: STRING, clientId: STRING, clientSecret: STRING,
  clientAuth: STRING, timeoutMs: UINT, allowInsecureHttp: BOOL, fetch: KIND.function,
};
const SETTINGS = { ...CLIENT, consoleUrl: STRING, authServiceUrl: STRING };
const EXCHANGE_CODE = {
  ...SETTINGS, code: STRING, state: STRING, codeVerifier: STRING, redirectUri: STRING, nonce: STRING,
  signal: KIND.signal,
};
const REFRESH_TOKENS = { ...CLIENT, refreshToken: STRING, scope: STRING, signal: KIND.signal };
const MATRIX_TOKEN_LOGIN = {
  homeserverUrl: STRING, loginToken: STRING, deviceId: STRING, initialDeviceDisplayName: STRING,
  checkLoginFlows: BOOL, timeoutMs: UINT, allowInsecureHttp: BOOL, fetch: KIND.function, signal: KIND.signal,
};
const HANDLER = {
  ...SETTINGS, verifier: KIND.any, allowedOrigins: N(KIND.custom('a list of strings', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))),
  redirectUri: STRING, session: N(KIND.object), tokenPath: STRING, userinfoPath: STRING, maxBodyBytes: UINT,
  corsMaxAgeSec: UINT, insecureExposeRefreshToken: BOOL, onError: KIND.function,
};
const SESSION = { cookie: STRING, secure: BOOL, sameSite: STRING, path: STRING, partitioned: BOOL };
const PER_CALL = { signal: KIND.signal };

/** The headers as [name, value] pairs, one pair per Set-Cookie. */
function headerPairs(headers) {
  const out = [];
  for (const [name, value] of headers) if (name.toLowerCase() !== 'set-cookie') out.push([name, value]);
  const cookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [];
  for (const c of cookies) out.push(['set-cookie', c]);
  return out;
}

/**
 * Sends `call`'s request description with `fetch` (the caller's, else the
 * global one) and returns `{ status, headers, body }`. Redirects are not
 * followed; the whole exchange (headers and body) must finish within
 * `timeoutMs`; the body is capped. A network failure or timeout becomes
 * the core's retryable `network_error` (a discovery's network failure is
 * remembered by the cache, its timeout is not); `signal` rejects `aborted`.
 */
async function send(rt, call, request, { fetch, signal }) {
  const result = await fetchBody(request.url,
    { method: request.method, headers: request.headers, body: request.body ?? undefined },
    { fetch: fetch ?? rt.fetch, timeoutMs: request.timeoutMs, signal, maxBytes: request.maxResponseBytes });
  if (result.failure) {
    const error = call.unreachable(result.failure === 'timeout' ? request.timeoutMs : undefined, nowSec(rt));
    error.cause = result.cause;
    throw error;
  }
  return { status: result.status, headers: headerPairs(result.headers), body: result.body };
}

const nowSec = (rt) => rt.now() / 1000;

// What is kept per fetch function (a WeakMap, so a fetch made per call
// takes it along): the core's issuer metadata cache, and the ID Token
// verifiers.
const perFetch = new WeakMap();
/** The key of what the runtime's own fetch uses. */
const RUNTIME_FETCH = {};

/** `{ metadata: DiscoveryCache, verifiers: Map }` of `fetch`. */
function kept(fetch) {
  const key = fetch ?? RUNTIME_FETCH;
  let found = perFetch.get(key);
  if (!found) perFetch.set(key, found = { metadata: new DiscoveryCache(), verifiers: new Map() });
  return found;
}

// How long a call waits before it looks again at the issuer's metadata
// another call is discovering. Every runtime looks again rather than
// awaiting the other call's promise: in workerd a request must not await
// another request's I/O.
const POLL_MS = 20;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---- the ID Token's signature: a JwksVerifier of the issuer, from the
// verifier entry, loaded the first time an ID Token comes (the server entry
// does not carry the verifier's code), kept for the keys it caches: per
// fetch (see kept()), then per issuer, key set, audience and timeout, at
// most VERIFIERS_PER_FETCH of them (the least recently used is let go first).

const VERIFIERS_PER_FETCH = 16;

async function idTokenVerifier(rt, { issuer, jwksUri, audience, timeoutMs, allowInsecureHttp }, fetch) {
  const { verifiers } = kept(fetch);
  const key = JSON.stringify([issuer, jwksUri, audience, timeoutMs, allowInsecureHttp]);
  let verifier = verifiers.get(key);
  if (verifier) {
    verifiers.delete(key);
  } else {
    const { JwksVerifier } = await rt.loadVerifier();
    const options = { issuer, audience, jwksUri, requiredClaims: ['sub', 'iat'], timeoutMs };
    if (allowInsecureHttp) options.allowInsecureHttp = true;
    if (fetch) options.fetch = fetch;
    verifier = new JwksVerifier(options);
    if (verifiers.size >= VERIFIERS_PER_FETCH) verifiers.delete(verifiers.keys().next().value);
  }
  verifiers.set(key, verifier);
  return verifier;
}

/**
 * Verifies an ID Token's signature, iss, aud, exp and iat; a failure keeps
 * its code, retryable flag and status, and its message says it was the ID Token.
 */
async function verifyIdToken(rt, verify, { fetch, signal }) {
  const verifier = await idTokenVerifier(rt, verify, fetch);
  try {
    return await verifier.verify(verify.token, signal ? { signal } : undefined);
  } catch (e) {
    if (!(e instanceof ExtensionSsoError) || e.code === 'aborted') throw e;
    throw ssoError(e.code, `the ID Token failed validation: ${e.message}`, { cause: e, retryable: e.retryable, status: e.status });
  }
}

/**
 * Drives a flow made by the core (a Call: exchangeCode, refreshTokens,
 * matrixTokenLogin, or a handoff's exchange): the issuer's metadata (from
 * the core's cache, or discovered), the token request, the ID Token's
 * signature and the hash of its at_hash, as it asks.
 */
async function runFlow(rt, call, io) {
  for (;;) {
    const step = call.next(nowSec(rt));
    if (step.done) return;
    if (step.request) {
      const res = await send(rt, call, step.request, io);
      call.answer(res.status, res.headers, res.body, nowSec(rt));
    } else if (step.wait) {
      // An abort is seen within POLL_MS; the core ends the wait after this
      // call's own timeoutMs.
      await sleep(POLL_MS);
      throwIfAborted(io.signal);
    } else if (step.digest) {
      call.digested(await rt.digest(step.digest.algorithm, step.digest.input));
    } else {
      call.verified(JSON.stringify(await verifyIdToken(rt, step.verify, io)));
    }
  }
}

async function tokenCall(who, schema, options) {
  const rt = runtime.get();
  const { fetch, signal, ...settings } = readOptions(who, options, schema);
  throwIfAborted(signal);
  const call = kept(fetch).metadata.call(who, JSON.stringify(settings));
  try {
    await runFlow(rt, call, { fetch, signal });
    return JSON.parse(call.result(nowSec(rt)));
  } finally {
    call.free();
  }
}

/**
 * Exchanges an authorization code for tokens with the host, in the host's
 * format (`profile`: 'oauth2' | 'mia-console' | 'mia-auth-service'); with
 * `issuer`, the token endpoint comes from discovery and an ID Token is
 * validated. Resolves to `{ accessToken, tokenType, expiresIn, expiresAt,
 * refreshToken, idToken, idTokenClaims, scope, raw }`.
 */
export function exchangeCode(options) {
  return tokenCall('exchangeCode', EXCHANGE_CODE, options);
}

/** Refreshes tokens with a refresh token (RFC 6749 §6). Resolves like `exchangeCode`. */
export function refreshTokens(options) {
  return tokenCall('refreshTokens', REFRESH_TOKENS, options);
}

/**
 * Matrix token login: checks that the homeserver offers `m.login.token`
 * (unless `checkLoginFlows: false`), then exchanges the SSO `loginToken`.
 * Resolves to `{ accessToken, userId, deviceId, homeServer,
 * homeserverBaseUrl, refreshToken, expiresInMs, expiresAt }`.
 */
export function matrixTokenLogin(options) {
  return tokenCall('matrixTokenLogin', MATRIX_TOKEN_LOGIN, options);
}

/**
 * The typed identity fields of verified claims: `{ sub, id, email, name,
 * firstName, lastName, username, groups }` (`first_name`, `last_name`,
 * `username`, OIDC fallbacks, `id` and `groups`).
 */
export function identityFromClaims(claims) {
  runtime.get();
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw ssoError('invalid_options', 'claims must be an object (the result of verifier.verify())');
  }
  return JSON.parse(identityFromClaimsJson(JSON.stringify(claims)));
}

// ---------------------------------------------------------------------------
// createHandoffHandler

function toResponse({ status, headers, body }) {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  return new Response(status === 204 || body === '' ? null : body, { status, headers: h });
}

/**
 * The default `onError`: `error` level with console.error, `warn` with
 * console.warn, `debug` not at all. Codes and messages only: they never
 * contain tokens, codes or secrets.
 */
function defaultOnError(error, { status, level }) {
  const line = `[extension-sso] handoff handler: ${status} (${error?.code ?? error?.name}): ${error?.message}`;
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
}

const INTERNAL_ERROR = {
  status: 500,
  headers: [['content-type', 'application/json'], ['cache-control', 'no-store']],
  body: '{"error":"server_error","error_description":"the handler failed; see the server logs"}',
};

// The error hook of a handler, for toNodeListener (internal: a symbol no one else knows).
const REPORT = Symbol('extension-sso/report');

/** What a rejection carried, for the core's failure answer (the code is never rewritten). */
const failureOf = (e) => [typeof e?.code === 'string' ? e.code : undefined, e?.retryable === true,
  Number.isInteger(e?.status) ? e.status : undefined];

/**
 * A fetch-style handler `(request: Request) => Promise<Response>` that
 * receives the browser client's handoff, exchanges the code with the host,
 * verifies the access token with `verifier`, and answers the token JSON or
 * an HttpOnly session cookie; plus a userinfo endpoint.
 */
export function createHandoffHandler(options) {
  const rt = runtime.get();
  const { verifier, onError = defaultOnError, fetch, session, ...settings } =
    readOptions('createHandoffHandler', options, HANDLER);
  if (!verifier || typeof verifier.verify !== 'function') {
    throw ssoError('invalid_options',
      'verifier is required: pass a JwksVerifier (import { JwksVerifier } from \'extension-sso/verifier\') for the host\'s /jwks');
  }
  if (session != null) settings.session = readOptions('createHandoffHandler session', session, SESSION);
  const core = kept(fetch).metadata.handler(JSON.stringify(settings));

  const report = (error, { status, level }, request) => {
    try {
      onError(error, { status, level, method: request.method, url: request.url });
    } catch { /* never let logging fail a request */ }
  };

  async function exchange(call, request) {
    try {
      await runFlow(rt, call, { fetch });
      const claims = await verifier.verify(call.accessToken());
      // The claims cross into wasm once, as JSON text.
      return call.finish(JSON.stringify(claims), nowSec(rt));
    } catch (e) {
      const [code, retryable, status] = failureOf(e);
      const answer = call.fail(code, retryable, status, typeof e?.error === 'string' ? e.error : undefined);
      report(e, answer, request);
      return answer;
    }
  }

  async function userinfo(call, request) {
    try {
      const claims = await verifier.verify(call.accessToken());
      return call.finish(JSON.stringify(claims), nowSec(rt));
    } catch (e) {
      const answer = call.fail(...failureOf(e), undefined);
      report(e, answer, request);
      return answer;
    }
  }

  const handler = async function handoffHandler(request) {
    let step;
    try {
      // Route, method, origin and content type are decided before the body is read.
      step = core.route(request.method, new URL(request.url).pathname, headerPairs(request.headers));
      if (step.response) return toResponse(step.response);
      if (step.userinfo) return toResponse(await userinfo(step.userinfo, request));
      const call = step.exchange;
      let body;
      try {
        body = await readCapped(request, core.maxBodyBytes);
      } catch (cause) {
        // The client stopped sending: not a server error.
        const answer = call.read();
        report(ssoError('invalid_request', 'the handoff body could not be read (the client went away?)', { cause }), answer, request);
        return toResponse(answer);
      }
      const refused = call.read(body);
      return toResponse(refused ?? await exchange(call, request));
    } catch (e) {
      report(e, { status: 500, level: 'error' }, request);
      return toResponse(INTERNAL_ERROR);
    } finally {
      step?.exchange?.free();
      step?.userinfo?.free();
    }
  };
  handler[REPORT] = report;
  registry?.register(handler, core);
  return handler;
}

// A host[:port] (RFC 9110 §7.2, RFC 3986 §3.2.2): a registered name or IPv4
// address, or an IP literal in brackets; then an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

/** The methods `new Request()` refuses (Fetch standard §2.2.1 "forbidden method"). */
const FORBIDDEN_METHOD = /^(?:CONNECT|TRACE|TRACK)$/i;

/**
 * A client that went away (or an answer already sent): writing to it is not
 * an error. (Not `req.destroyed`: a request whose body was read is destroyed too.)
 */
const gone = (res) => res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed;

/**
 * Adapts a fetch-style handler to `node:http`:
 * `http.createServer(toNodeListener(handler))`. The request target
 * (`req.url`) is a path only (origin-form, RFC 9112 §3.2.1), appended to
 * `origin` (default `http://<Host header>`); a request with another target
 * or a malformed Host gets 400, reported to `onError` (default: the
 * handler's own, for a createHandoffHandler handler).
 */
export function toNodeListener(handler, options = {}) {
  const { origin, onError } = readOptions('toNodeListener', options, { origin: STRING, onError: KIND.function });
  if (origin != null && !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+$/i.test(origin)) {
    throw ssoError('invalid_options', 'toNodeListener origin must be scheme://host[:port], e.g. https://api.example');
  }
  const report = onError
    ? (error, context, request) => { try { onError(error, { ...context, method: request.method, url: request.url }); } catch { /* never */ } }
    : (handler[REPORT] ?? ((error, context) => defaultOnError(error, context)));

  function refuse(req, res, description, cause) {
    const error = ssoError('invalid_request', description, cause === undefined ? undefined : { cause });
    report(error, { status: 400, level: 'debug' }, { method: req.method, url: req.url });
    if (gone(res)) return;
    res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: 'invalid_request', error_description: description }));
  }

  return async function listener(req, res) {
    // A client that disconnects makes the socket emit errors: not ours to report.
    res.on('error', () => {});
    const target = req.url ?? '';
    if (!target.startsWith('/')) {
      return refuse(req, res, 'the request target must be a path (origin-form, RFC 9112 §3.2.1)');
    }
    const host = req.headers.host ?? 'localhost';
    if (origin == null && !HOST.test(host)) {
      return refuse(req, res, 'the Host header is not a valid host[:port] (RFC 9110 §7.2)');
    }
    let url;
    try {
      // Concatenated, never resolved: '//evil.example/token' stays a path.
      url = new URL((origin ?? `http://${host}`) + target);
    } catch {
      return refuse(req, res, 'the request target is not a valid path (RFC 9112 §3.2.1)');
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let request;
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else if (value !== undefined) headers.set(name, value);
      }
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
      request = new Request(url, { method: req.method, headers, body, duplex: hasBody ? 'half' : undefined });
    } catch (cause) {
      // `new Request` refuses CONNECT, TRACE and TRACK (the Fetch standard's forbidden methods),
      // which node:http passes on: answered here, never left as a rejection (one would end the process).
      return refuse(req, res, FORBIDDEN_METHOD.test(req.method)
        ? `the method ${req.method} is not served (a fetch-style handler cannot receive it)`
        : 'the request is not a valid fetch Request (a header name or value?)', cause);
    }
    try {
      const response = await handler(request);
      if (gone(res)) return;
      const out = {};
      for (const [name, value] of response.headers) if (name !== 'set-cookie') out[name] = value;
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out['set-cookie'] = cookies;
      res.writeHead(response.status, out);
      if (response.body) {
        for await (const chunk of response.body) {
          if (gone(res)) return;
          res.write(chunk);
        }
      }
      res.end();
    } catch (e) {
      if (gone(res)) return;
      report(e, { status: 500, level: 'error' }, request);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(res.headersSent ? undefined : INTERNAL_ERROR.body);
    }
  };
}

// ---------------------------------------------------------------------------
// ServiceClientTokenProvider

const SERVICE_CLIENT = { accessKey: STRING, issuerUrl: STRING, audience: STRING, allowInsecureHttp: BOOL, fetch: KIND.function };
const NOT_IMPORTED = 'the public key is derived when the private key is imported, which WebCrypto does '
  + 'asynchronously: await provider.ready() (or a first getToken()) before reading it';

/**
 * Mints short-lived JWTs signed with a service client's private key, for
 * `Authorization: Bearer` calls to the platform's API, and caches each one
 * until shortly before it expires. The wasm core parses the key and decides
 * every byte but the signature, which the runtime's crypto makes
 * (node:crypto in Node, WebCrypto elsewhere).
 *
 *   new ServiceClientTokenProvider({ accessKey, issuerUrl, audience? })
 *   new ServiceClientTokenProvider(accessKey, issuerUrl)
 */
export class ServiceClientTokenProvider {
  #core;
  #rt;
  /** The runtime's private-key handle, once imported and checked. */
  #key = null;
  /** The mint under way, shared by the getToken() calls that wait for it. */
  #minting = null;

  constructor(options, issuerUrl) {
    this.#rt = runtime.get();
    if (typeof options !== 'string' && issuerUrl !== undefined) {
      throw ssoError('invalid_options', 'pass either ({ accessKey, issuerUrl }) or (accessKey, issuerUrl)');
    }
    // `fetch` is accepted so one options object fits every helper; the
    // provider signs locally and makes no request.
    const { fetch: _unused, ...settings } = readOptions('ServiceClientTokenProvider',
      typeof options === 'string' ? { accessKey: options, issuerUrl } : options, SERVICE_CLIENT);
    this.#core = new ServiceClientCore(JSON.stringify(settings));
    registry?.register(this, this.#core);
    // node:crypto imports synchronously: a key whose x/y do not match its d
    // fails here, as the native Rust provider does.
    if (this.#rt.sync) this.#adopt(this.#import());
  }

  /** Imports the private key into the runtime (a value in Node, a promise elsewhere). */
  #import() {
    const pkcs8 = this.#core.privateKey();
    const alg = this.#core.algorithm;
    const failed = (cause) => ssoError('invalid_key',
      `the runtime could not import the ${alg} private key of the access key`, { cause });
    let imported;
    try {
      imported = this.#rt.importPrivateKey(pkcs8, alg);
    } catch (cause) {
      pkcs8.fill(0);
      throw failed(cause);
    }
    if (typeof imported?.then !== 'function') {
      pkcs8.fill(0);
      return imported;
    }
    return imported.then((value) => value, (cause) => { throw failed(cause); }).finally(() => pkcs8.fill(0));
  }

  /** Checks the derived public key with the core (which then wipes its copy of the private key). */
  #adopt({ key, x, y }) {
    this.#core.setPublicKey(x, y ?? undefined);
    this.#key ??= key;
    return this.#key;
  }

  /** The imported key; imports it first (once it is imported, every call reuses it). */
  async #signingKey() {
    return this.#key ?? this.#adopt(await this.#import());
  }

  /**
   * Resolves once the private key is imported into the runtime's crypto and
   * its public key derived and checked. Under Node the constructor does it;
   * in workerd and browsers, `publicJwk()`, `publicJwks()` and (for a key
   * that names no kid) `keyId` need it first.
   */
  async ready() {
    await this.#signingKey();
  }

  /**
   * A token valid for at least one more minute (cached, or freshly minted).
   * `options.signal`: rejects `aborted` when it fires before the token is ready.
   */
  async getToken(options = {}) {
    const { signal } = readOptions('getToken', options, PER_CALL);
    throwIfAborted(signal);
    // Concurrent calls share one mint: one signature for a burst of callers.
    const token = await (this.#minting ??= this.#mint().finally(() => { this.#minting = null; }));
    throwIfAborted(signal);
    return token;
  }

  /** Mints a token: the cached one, or signs a new one. */
  async #mint() {
    const key = await this.#signingKey();
    const core = this.#core;
    const { token, signingInput } = JSON.parse(core.mint(nowSec(this.#rt)));
    if (token) return token;
    let signature;
    try {
      signature = await this.#rt.sign(key, core.algorithm, signingInput);
    } catch (cause) {
      throw ssoError('invalid_key', `the runtime could not sign with the ${core.algorithm} private key`, { cause });
    }
    return core.finish(signingInput, signature);
  }

  /** The client id (`sub` of minted tokens). */
  get clientId() { return this.#core.clientId; }
  /** The `kid` of minted tokens. */
  get keyId() {
    const kid = this.#core.keyId;
    if (kid === undefined) throw ssoError('invalid_options', `keyId is the key's RFC 7638 thumbprint: ${NOT_IMPORTED}`);
    return kid;
  }
  /** The `iss` of minted tokens: `{issuerUrl}/v1/clients/{clientId}`. */
  get issuer() { return this.#core.issuer; }
  /** The `aud` of minted tokens. */
  get audience() { return this.#core.audience; }
  /** `'EdDSA'` or `'ES256'`. */
  get algorithm() { return this.#core.algorithm; }

  /** The public key as a JWK (with kid, alg, use). */
  publicJwk() {
    const jwk = this.#core.publicJwk();
    if (jwk === undefined) throw ssoError('invalid_options', NOT_IMPORTED);
    return JSON.parse(jwk);
  }
  /** `{ keys: [publicJwk()] }`, e.g. for `JwksVerifier.fromJwks`. */
  publicJwks() { return { keys: [this.publicJwk()] }; }
}
