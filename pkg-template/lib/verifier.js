// extension-sso/verifier: JWT verification against a JWK Set.
//
// The wasm core decides everything (options, JWK Set validation, cache
// policy, issuer routing, parsing, claim checks); this layer does the I/O:
// fetching the JWK Set and checking the signature with the runtime's crypto
// (node:crypto under Node, WebCrypto in workerd and browsers), with keys
// imported once and cached.
import { readCapped, runtimeSlot, ssoError } from './common.js';
export { ExtensionSsoError } from './common.js';
import { VerifierCore, crateVersion, errorCodeList } from '../wasm/verifier/extension_sso_verifier.js';

const runtime = runtimeSlot('verifier');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { crateVersion };
/** Every error code (`ErrorCode`). */
export const errorCodes = () => errorCodeList().split(' ');

// In workerd a promise created by one request must not be awaited by
// another, so a pending JWK Set fetch is shared only outside workerd.
const IS_WORKERD = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers';
const ACCEPT = 'application/jwk-set+json, application/json';
const STALE = Symbol('key set changed');
// Answers of VerifierCore.plan.
const FETCH = 1;
const AWAIT = 3;
// How often a workerd request looks whether another request's fetch of the
// same JWK Set has reported back.
const AWAIT_POLL_MS = 20;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a failed fetch threw, as text (whatever it threw: the fetch must be reported). */
function describe(thrown) {
  try {
    return String(thrown?.message ?? thrown);
  } catch {
    return 'the fetch failed';
  }
}
// Positions in what VerifierCore.prepare returns: [alg, signature, generation,
// payloadJson, claimError, source, ...candidate key indexes].
const SOURCE = 5;
const FIRST_CANDIDATE = 6;

// The options, checked here for names and types (the facade's job: turning
// JS values into the core's typed settings) and handed to the core in one
// canonical JSON form (src/jwks/config.rs); the core checks what they mean
// (ranges, algorithm names, typ, cache policy) by the rules of the Rust API.
const LIST = 'a string or a list of strings';
const UINT = 'a whole non-negative number';
const DOCUMENT = 'an object or JSON text';
const STRING = 'a string';
// Every option, in the order messages list them, with what it must be
// (`issuer`, `audience`, `now` and `issuers` are read on their own).
const OPTIONS = {
  issuer: LIST, audience: LIST, algorithms: LIST, clockToleranceSec: UINT, now: 0, typ: STRING, requiredClaims: LIST,
  rejectKeyHints: 'true or false', jwks: DOCUMENT, jwksUri: STRING, issuers: 0, cacheMaxAgeSec: UINT, cooldownSec: UINT,
  staleIfErrorSec: UINT, timeoutMs: UINT, maxBodyBytes: UINT, cache: DOCUMENT, verifiedTokenCacheSize: UINT,
};
const ENTRY_OPTIONS = ['jwks', 'jwksUri', 'audience'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const invalid = (message) => ssoError('invalid_options', message);

/** `value` (a list for LIST) when it is `kind`, else throws naming option `key` of `who`. */
function checked(who, key, value, kind = OPTIONS[key]) {
  const ok = kind === LIST ? typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    : kind === UINT ? Number.isSafeInteger(value) && value >= 0
      : kind === DOCUMENT ? typeof value === 'string' || isObject(value)
        : typeof value === (kind === STRING ? 'string' : 'boolean');
  if (!ok) throw invalid(`invalid ${who} options: ${key} must be ${kind}`);
  return typeof value === 'string' && kind === LIST ? [value] : value;
}

/** Refuses names that are not options: a typo is never ignored. */
function known(who, object, names) {
  for (const key of Object.keys(object)) {
    if (!names.includes(key)) throw invalid(`unknown option "${key}" for ${who}; the options are: ${names.join(', ')}`);
  }
}

const audienceOf = (who, value) => (value === null ? null : checked(who, 'audience', value));

/** The members `issuer` and `audience` (checked; null: any audience) and the keys of one source. */
function source(who, issuer, entry, audience, context) {
  if (entry.audience !== undefined) audience = audienceOf(who, entry.audience);
  if (audience === undefined) {
    throw invalid(`audience is required${context}: pass the expected "aud" (a string or a list), or audience: null to accept any audience`);
  }
  if (audience !== null && (audience.length === 0 || audience.includes(''))) {
    throw invalid(`invalid ${who} options: audience must be a non-empty string or list of them (or null to accept any audience)`);
  }
  const { jwks, jwksUri } = entry;
  if (jwks != null && jwksUri != null) throw invalid(`${who}: pass either jwks or jwksUri, not both`);
  if (jwks != null) return { issuer, audience, jwks: checked(who, 'jwks', jwks) };
  if (jwksUri == null) throw invalid(`${who}: pass the keys, as jwks (a JWK Set) or jwksUri (where to fetch it)`);
  if (!/^https?:\/\//.test(checked(who, 'jwksUri', jwksUri))) throw invalid(`${who}: jwksUri must be an absolute http(s) URL`);
  return { issuer, audience, jwksUri };
}

/** The settings the core reads (JSON text). */
function optionsJson(options) {
  const who = 'JwksVerifier';
  if (!isObject(options)) throw invalid(`${who} options must be an object: { issuer, audience, jwks | jwksUri, ... }`);
  known(who, options, Object.keys(OPTIONS));
  const { now, issuer, issuers } = options;
  if (now !== undefined && !(typeof now === 'number' && Number.isFinite(now) && now >= 0)) {
    throw invalid('now must be a unix time in seconds (a non-negative number)');
  }
  const settings = { routed: issuers != null };
  for (const key of ['algorithms', 'clockToleranceSec', 'typ', 'requiredClaims', 'rejectKeyHints', 'cacheMaxAgeSec',
    'cooldownSec', 'staleIfErrorSec', 'timeoutMs', 'maxBodyBytes', 'verifiedTokenCacheSize']) {
    if (options[key] != null) settings[key] = checked(who, key, options[key]);
  }
  // Snapshots are loaded once the verifier exists (see #load).
  if (options.cache != null) checked(who, 'cache', options.cache);
  if (!settings.routed) {
    if (issuer == null) throw invalid('issuer is required: pass the expected "iss" (a string or a list)');
    settings.sources = [source(who, checked(who, 'issuer', issuer), options, undefined, '')];
  } else if (issuer != null || options.jwks != null || options.jwksUri != null) {
    throw invalid('with issuers: {...} give each issuer its own jwks or jwksUri; top-level issuer, jwks and jwksUri are not used');
  } else {
    if (!isObject(issuers) || Object.keys(issuers).length === 0) throw invalid('issuers must map at least one issuer to its keys');
    // Top level: null means "not set", except audience: null (any audience, on purpose).
    const audience = options.audience === undefined ? undefined : audienceOf(who, options.audience);
    settings.sources = Object.entries(issuers).map(([iss, entry]) => {
      const own = `issuers[${JSON.stringify(iss)}]`;
      if (!isObject(entry)) throw invalid(`${own} options must be an object`);
      known(own, entry, ENTRY_OPTIONS);
      return source(own, [iss], entry, audience, ` for issuer ${JSON.stringify(iss)}`);
    });
  }
  return plainJson(settings);
}

/** `value` as JSON text; `invalid_options` when it is not plain data. */
function plainJson(value) {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (cause) {
    throw ssoError('invalid_options', 'JwksVerifier options must be plain data (JSON-serialisable)', { cause });
  }
}

/**
 * Verifies JWT access tokens against a JWK Set, local or fetched from the
 * host (`GET <console>/jwks`), with caching, rotation and strict claim
 * checks (RFC 7515, 7517, 7518, 7519, 8725).
 */
export class JwksVerifier {
  #core;
  /** Algorithm names by the index `prepare` returns. */
  #algNames;
  #rt;
  #now;
  #remote;
  /** Per source: { generation, keys: Map<"index:alg", key | Promise<key> | null> } */
  #keyCache;
  /** jwksUri -> the fetch of that set under way in this isolate (not in workerd) */
  #pending = new Map();
  #maxTokenLength;
  #timeoutMs;
  #maxBodyBytes;
  /** token -> { source, payload, generation, exp, nbf, iat } (verifiedTokenCacheSize > 0) */
  #remembered;
  #rememberAtMost;

  /**
   * @param {object} options  issuer, audience (or null), jwks | jwksUri |
   *   issuers, algorithms, clockToleranceSec, typ, requiredClaims,
   *   rejectKeyHints, cacheMaxAgeSec, cooldownSec, staleIfErrorSec,
   *   timeoutMs, maxBodyBytes, cache, verifiedTokenCacheSize, now (see
   *   verifier.d.ts).
   */
  constructor(options) {
    const rt = runtime.get();
    const text = optionsJson(options);
    const fixed = options.now;
    this.#rt = rt;
    this.#now = fixed !== undefined ? () => fixed : () => rt.now() / 1000;
    this.#core = new VerifierCore(text);
    [this.#maxTokenLength, this.#timeoutMs, this.#maxBodyBytes, this.#rememberAtMost, this.#algNames, ...this.#remote] = this.#core.layout();
    if (this.#rememberAtMost > 0) this.#remembered = new Map();
    const n = this.#remote.length;
    this.#keyCache = Array.from({ length: n }, () => ({ generation: -1, keys: new Map() }));
    // A snapshot that is expired or invalid is ignored: the set is fetched
    // as if there were none (importCache() says why).
    if (options.cache != null) this.#load(options.cache, false);
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
    // Checked before the token is copied into wasm memory, which never
    // shrinks (a UTF-8 byte count is never below the UTF-16 length).
    if (token.length > this.#maxTokenLength) {
      throw ssoError('malformed',
        `the token is ${token.length} characters; at most ${this.#maxTokenLength} bytes are accepted`);
    }
    const remembered = this.#remembered?.get(token);
    if (remembered !== undefined) {
      const claims = this.#recall(token, remembered);
      if (claims !== undefined) return claims;
    }
    const core = this.#core;
    for (let attempt = 0; ; attempt++) {
      let now = this.#now();
      // Routes by `iss` and asks the remote cache in the same call; `[source]`
      // alone means that source's JWK Set must be fetched first.
      let prepared = core.prepare(token, now, attempt === 0);
      if (prepared.length === 1) {
        await this.#ensureKeys(prepared[0], token);
        now = this.#now();
        prepared = core.prepare(token, now, false);
      }
      const source = prepared[SOURCE];
      const rt = this.#rt;
      let verdict;
      if (rt.sync) {
        verdict = this.#verifySync(source, prepared, token, now);
      } else {
        // Fast path: one candidate whose key is already imported, so the
        // only await is the signature check itself.
        const key = prepared.length === FIRST_CANDIDATE + 1 ? this.#importedKey(source, prepared) : undefined;
        if (key !== undefined) {
          try { verdict = (await rt.verify(key, rt.signingInput(token), prepared[1])) === true; } catch { verdict = false; }
        } else {
          verdict = await this.#verifyAsync(source, prepared, token, now);
        }
      }
      if (verdict === STALE && attempt === 0) continue;
      if (verdict !== true) throw ssoError('bad_signature', 'the token signature does not verify with any matching key');
      if (prepared[4] !== null) throw prepared[4];
      const claims = JSON.parse(prepared[3]);
      if (this.#remembered !== undefined) this.#remember(token, source, prepared, claims);
      return claims;
    }
  }

  // The verified-token cache (verifiedTokenCacheSize). An entry answers only
  // while everything the full check depends on is unchanged: the key set
  // (same generation, still fresh, so no fetch is due) and the time claims,
  // re-checked on every hit without the clock tolerance (stricter than the
  // full check, which then decides). Claims come back as a new object each
  // time, so callers cannot change each other's. Oldest entries go first.
  #remember(token, source, prepared, claims) {
    const map = this.#remembered;
    if (map.size >= this.#rememberAtMost) map.delete(map.keys().next().value);
    map.set(token, {
      source, payload: prepared[3], generation: prepared[2], exp: claims.exp, nbf: claims.nbf, iat: claims.iat,
    });
  }

  #recall(token, entry) {
    const now = Math.floor(this.#now());
    const keysUnchanged = this.#remote[entry.source] === undefined ||
      this.#core.freshGeneration(entry.source, now) === entry.generation;
    if (keysUnchanged && now < entry.exp && !(entry.nbf > now) && !(entry.iat > now)) {
      return JSON.parse(entry.payload);
    }
    this.#remembered.delete(token);
    return undefined;
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
    return this.#load(snapshot, true);
  }

  /** Loads snapshots (object or JSON text); `strict`: throw on the first one refused. */
  #load(snapshot, strict) {
    let map = snapshot;
    if (typeof map === 'string') {
      try {
        map = JSON.parse(map);
      } catch (cause) {
        throw ssoError('jwks_invalid', `the cache snapshot is not JSON: ${describe(cause)}`, { cause });
      }
    }
    if (map === null || typeof map !== 'object') {
      throw ssoError('jwks_invalid', 'the cache snapshot must be the object exportCache() returned');
    }
    let loaded = 0;
    for (const [uri, entry] of Object.entries(map)) {
      const text = plainJson(entry);
      try {
        if (this.#core.importSource(uri, text, this.#now())) loaded++;
      } catch (e) {
        if (strict) throw e;
      }
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

  // Keys are cached per (key index, alg) under the number index * 16 + alg;
  // a cached value is the runtime's key handle, null when the JWK could not
  // be imported for that alg, or (async runtimes) a pending import.
  //
  // #verifySync and #verifyAsync walk the candidates the same way on
  // purpose: node:crypto answers synchronously, and an `await` per
  // candidate would cost Node a microtask turn on every verify (the hot
  // path the benchmark measures); WebCrypto answers with promises.

  #verifySync(source, prepared, token, now) {
    const alg = prepared[0];
    const keys = this.#keysOf(source, prepared[2]);
    const rt = this.#rt;
    let input;
    for (let i = FIRST_CANDIDATE; i < prepared.length; i++) {
      const index = prepared[i];
      const id = index * 16 + alg;
      let key = keys.get(id);
      if (key === undefined) {
        const jwk = this.#core.keyJwk(source, index, prepared[2], now);
        if (jwk === undefined) return STALE;
        try { key = rt.importKey(JSON.parse(jwk), this.#algNames[alg]); } catch { key = null; }
        keys.set(id, key);
      }
      if (key === null) continue;
      input ??= rt.signingInput(token);
      try { if (rt.verify(key, input, prepared[1])) return true; } catch { /* not this key */ }
    }
    return false;
  }

  /** The imported key of the first candidate, or undefined when not (yet) imported. */
  #importedKey(source, prepared) {
    const slot = this.#keyCache[source];
    if (slot.generation !== prepared[2]) return undefined;
    const key = slot.keys.get(prepared[FIRST_CANDIDATE] * 16 + prepared[0]);
    return key === null || key instanceof Promise ? undefined : key;
  }

  async #verifyAsync(source, prepared, token, now) {
    const alg = prepared[0];
    const keys = this.#keysOf(source, prepared[2]);
    const rt = this.#rt;
    let input;
    for (let i = FIRST_CANDIDATE; i < prepared.length; i++) {
      const index = prepared[i];
      const id = index * 16 + alg;
      let key = keys.get(id);
      if (key === undefined) {
        const jwk = this.#core.keyJwk(source, index, prepared[2], now);
        if (jwk === undefined) return STALE;
        const pending = Promise.resolve().then(() => rt.importKey(JSON.parse(jwk), this.#algNames[alg])).catch(() => null);
        keys.set(id, pending);
        // Once imported, the key itself replaces the promise (no await per verify).
        pending.then((k) => { if (keys.get(id) === pending) keys.set(id, k); });
        key = pending;
      }
      if (key instanceof Promise) key = await key;
      if (key === null) continue;
      input ??= rt.signingInput(token);
      try { if (await rt.verify(key, input, prepared[1])) return true; } catch { /* not this key */ }
    }
    return false;
  }

  // Called when prepare answered [source]: join this isolate's fetch of that
  // JWK Set, or start one. In workerd a promise must not cross requests, so
  // a request that finds another request's fetch under way polls the cache
  // until that fetch reports back (at most timeoutMs), then fetches itself.
  async #ensureKeys(source, token) {
    const uri = this.#remote[source];
    const shared = IS_WORKERD ? undefined : this.#pending.get(uri);
    if (shared !== undefined) return shared;
    for (let polls = Math.ceil(this.#timeoutMs / AWAIT_POLL_MS); ; polls--) {
      const plan = this.#core.plan(source, token, this.#now(), polls > 0);
      if (plan === AWAIT) {
        await sleep(AWAIT_POLL_MS);
        continue;
      }
      if (plan !== FETCH) return;
      const pending = this.#fetchKeys(source).finally(() => { this.#pending.delete(uri); });
      if (!IS_WORKERD) this.#pending.set(uri, pending);
      return pending;
    }
  }

  // `plan` has recorded the fetch as started; `fetched` / `fetchFailed`
  // answer the error to throw, or undefined when there are keys to use.
  async #fetchKeys(source) {
    const core = this.#core;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, this.#timeoutMs);
    let res;
    let body;
    try {
      res = await this.#rt.fetch(this.#remote[source], {
        method: 'GET', headers: { accept: ACCEPT }, redirect: 'manual', signal: controller.signal,
      });
      body = await readCapped(res, this.#maxBodyBytes);
    } catch (e) {
      const error = core.fetchFailed(source, describe(e), timedOut, this.#now());
      if (error === undefined) return;
      error.cause = e;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const error = core.fetched(source, res.status, res.headers.get('cache-control') ?? undefined, body, this.#now());
    if (error !== undefined) throw error;
  }
}
