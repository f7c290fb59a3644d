// extension-sso/verifier: JWT verification against a JWK Set.
//
// The wasm core decides everything (options, JWK Set validation, cache
// policy, issuer routing, parsing, claim checks); this layer does the I/O:
// fetching the JWK Set and checking the signature with the runtime's crypto
// (node:crypto under Node, WebCrypto in workerd and browsers), with keys
// imported once and cached.
import { runtimeSlot, ssoError } from './common.js';
import { VerifierCore, crateVersion, errorCodes } from '../wasm/verifier/extension_sso_verifier.js';

const runtime = runtimeSlot('verifier');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { crateVersion, errorCodes };

// In workerd a promise created by one request must not be awaited by
// another, so a pending JWK Set fetch is shared only outside workerd.
const IS_WORKERD = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers';
const ACCEPT = 'application/jwk-set+json, application/json';
const STALE = Symbol('key set changed');
const FETCH = 1;

function optionsJson(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw ssoError('invalid_options',
      'JwksVerifier options must be an object: { issuer, audience, jwks | jwksUri, ... }');
  }
  if (options.now !== undefined && !(typeof options.now === 'number' && Number.isFinite(options.now) && options.now >= 0)) {
    throw ssoError('invalid_options', 'now must be a unix time in seconds (a non-negative number)');
  }
  try {
    return JSON.stringify(options);
  } catch (cause) {
    throw ssoError('invalid_options', 'JwksVerifier options must be plain data (JSON-serialisable)', { cause });
  }
}

/** Reads a response body, failing fast past `cap` bytes. */
async function readCapped(res, cap) {
  const declared = Number(res.headers.get('content-length'));
  if (declared > cap) {
    await res.body?.cancel().catch(() => {});
    return new Uint8Array(cap + 1);
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return new Uint8Array(cap + 1);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

/**
 * Verifies JWT access tokens against a JWK Set, local or fetched from the
 * host (`GET <console>/jwks`), with caching, rotation and strict claim
 * checks (RFC 7515, 7517, 7518, 7519, 8725).
 */
export class JwksVerifier {
  #core;
  #rt;
  #now;
  #remote;
  /** Per source: { generation, keys: Map<"index:alg", key | Promise<key> | null> } */
  #keyCache;
  #pending;

  /**
   * @param {object} options  issuer, audience (or null), jwks | jwksUri |
   *   issuers, algorithms, clockToleranceSec, typ, requiredClaims,
   *   rejectKeyHints, cacheMaxAgeSec, cooldownSec, staleIfErrorSec,
   *   timeoutMs, maxBodyBytes, cache, now (see verifier.d.ts).
   */
  constructor(options) {
    const rt = runtime.get();
    const text = optionsJson(options);
    const fixed = options.now;
    this.#rt = rt;
    this.#now = fixed !== undefined ? () => fixed : () => rt.now() / 1000;
    this.#core = new VerifierCore(text, this.#now());
    const n = this.#core.sourceCount();
    this.#remote = Array.from({ length: n }, (_, i) => this.#core.sourceUri(i));
    this.#keyCache = Array.from({ length: n }, () => ({ generation: -1, keys: new Map() }));
    this.#pending = new Array(n);
  }

  /** A verifier over a local JWK Set (object or JSON text). */
  static fromJwks(jwks, options = {}) {
    return new JwksVerifier({ ...options, jwks });
  }

  /**
   * Verifies `token` and resolves to its claims. Rejects with an Error whose
   * `.code` says why (see `ErrorCode`).
   */
  async verify(token) {
    if (typeof token !== 'string') {
      throw ssoError('malformed', 'the token must be a string (a compact JWS: header.payload.signature)');
    }
    const core = this.#core;
    const source = core.route(token);
    if (this.#remote[source] !== undefined) await this.#ensureKeys(source, token);
    for (let attempt = 0; ; attempt++) {
      const now = this.#now();
      const prepared = core.prepare(source, token, now);
      let verdict = this.#rt.sync
        ? this.#verifySync(source, prepared, token, now)
        : await this.#verifyAsync(source, prepared, token, now);
      if (verdict === STALE && attempt === 0) continue;
      if (verdict !== true) throw ssoError('bad_signature', 'the token signature does not verify with any matching key');
      if (prepared[4] !== null) throw prepared[4];
      return JSON.parse(prepared[3]);
    }
  }

  /**
   * A snapshot `{ [jwksUri]: { jwks, fetchedAt, expiresAt } }` of the fetched
   * key sets, to keep in KV or the Cache API and pass back as the `cache`
   * option (or to `importCache`) in another isolate; undefined when nothing
   * has been fetched.
   */
  exportCache() {
    let out;
    this.#remote.forEach((uri, i) => {
      const text = uri === undefined ? undefined : this.#core.exportSource(i);
      if (text !== undefined) (out ??= {})[uri] = JSON.parse(text);
    });
    return out;
  }

  /**
   * Loads a snapshot made by `exportCache()`. Throws `jwks_invalid` when it
   * is invalid, expired or names a jwksUri this verifier does not use (the
   * `cache` option silently ignores such snapshots). Returns how many key
   * sets were loaded.
   */
  importCache(snapshot) {
    const map = typeof snapshot === 'string' ? JSON.parse(snapshot) : snapshot;
    if (map === null || typeof map !== 'object') {
      throw ssoError('jwks_invalid', 'the cache snapshot must be the object exportCache() returned');
    }
    let loaded = 0;
    for (const [uri, entry] of Object.entries(map)) {
      if (this.#core.importSource(uri, JSON.stringify(entry), this.#now())) loaded++;
    }
    return loaded;
  }

  #keysOf(source, generation) {
    const slot = this.#keyCache[source];
    if (slot.generation !== generation) {
      slot.generation = generation;
      slot.keys = new Map();
    }
    return slot.keys;
  }

  #verifySync(source, prepared, token, now) {
    const [alg, signature, generation] = prepared;
    const keys = this.#keysOf(source, generation);
    const input = token.slice(0, token.lastIndexOf('.'));
    for (let i = 5; i < prepared.length; i++) {
      const index = prepared[i];
      const id = `${index}:${alg}`;
      let key = keys.get(id);
      if (key === undefined) {
        const jwk = this.#core.keyJwk(source, index, generation, now);
        if (jwk === undefined) return STALE;
        try { key = this.#rt.importKey(JSON.parse(jwk), alg); } catch { key = null; }
        keys.set(id, key);
      }
      if (key === null) continue;
      try { if (this.#rt.verify(alg, key, input, signature)) return true; } catch { /* not this key */ }
    }
    return false;
  }

  async #verifyAsync(source, prepared, token, now) {
    const [alg, signature, generation] = prepared;
    const keys = this.#keysOf(source, generation);
    const input = token.slice(0, token.lastIndexOf('.'));
    for (let i = 5; i < prepared.length; i++) {
      const index = prepared[i];
      const id = `${index}:${alg}`;
      let key = keys.get(id);
      if (key === undefined) {
        const jwk = this.#core.keyJwk(source, index, generation, now);
        if (jwk === undefined) return STALE;
        key = Promise.resolve().then(() => this.#rt.importKey(JSON.parse(jwk), alg)).catch(() => null);
        keys.set(id, key);
      }
      const resolved = await key;
      if (resolved === null) continue;
      try { if (await this.#rt.verify(alg, resolved, input, signature)) return true; } catch { /* not this key */ }
    }
    return false;
  }

  async #ensureKeys(source, token) {
    if (this.#core.plan(source, token, this.#now()) !== FETCH) return;
    if (!IS_WORKERD && this.#pending[source]) return this.#pending[source];
    const pending = this.#fetchKeys(source).finally(() => { this.#pending[source] = undefined; });
    if (!IS_WORKERD) this.#pending[source] = pending;
    return pending;
  }

  async #fetchKeys(source) {
    const core = this.#core;
    core.beginFetch(source, this.#now());
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, core.timeoutMs);
    let res;
    let body;
    try {
      res = await this.#rt.fetch(this.#remote[source], {
        method: 'GET', headers: { accept: ACCEPT }, redirect: 'manual', signal: controller.signal,
      });
      body = await readCapped(res, core.maxBodyBytes);
    } catch (e) {
      const error = core.onFetchError(source, String(e?.message ?? e), timedOut, this.#now());
      if (core.hasUsableKeys(source, this.#now())) return;
      error.cause = e;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    try {
      core.onFetchResponse(source, res.status, res.headers.get('cache-control') ?? undefined, body, this.#now());
    } catch (e) {
      if (core.hasUsableKeys(source, this.#now())) return;
      throw e;
    }
  }
}
