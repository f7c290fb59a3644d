// extension-sso/verifier: JWT verification against a JWK Set.
//
// The wasm core decides everything (what options mean, JWK Set validation,
// cache policy, discovery, issuer routing, parsing, claim checks, the
// verdict); this layer does the I/O it asks for: fetching documents (the
// caller's `fetch`, timeout and AbortSignal), importing keys and checking
// signatures with the runtime's crypto (node:crypto under Node, WebCrypto in
// workerd and browsers), sharing a fetch between concurrent callers.
import {
  ExtensionSsoError, abortedError, boolKind, documentKind, fetchBody, functionKind, kind, listKind, readOptions,
  runtimeSlot, signalKind, ssoError, stringKind, throwIfAborted, uintKind,
} from './common.js';

export { ExtensionSsoError };
// Installed by the loader (pkg-template/loaders/verifier.*.js): the runtime
// adapter, and in a slot of its own (tests install other adapters) the
// core's module (src/wasm/verifier.rs lists its exports; no wasm-bindgen glue).
const runtime = runtimeSlot('verifier');
const module = runtimeSlot('verifier/wasm');
/** The crate version (the npm package reports the same). */
export const crateVersion = () => (ready(), wasm.call('crate_version'));
/** Every error code (`ErrorCode`). */
export const errorCodes = () => (ready(), codes.slice());

// In workerd a promise created by one request must not be awaited by
// another, so a fetch under way is shared only outside workerd; there a
// request that finds another's fetch under way polls the cache.
const IS_WORKERD = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers';
// How often a workerd request looks whether another request's fetch of the
// same key set has reported back.
const POLL_MS = 20;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
// The module (`{ call, exports, fail }`), its exports and memory, and what
// the core names: set when the first verifier is made (the wasm is not
// ready before). Every call goes through `call`, except the hot path's
// (check, finish), which calls the exports directly, without `call`'s
// per-call arrays, inside a try whose catch is `fail`'s: a trap (a bug)
// there too ends the instance with `unsupported` for every verifier on it,
// as `call` does.
let wasm;
let x;
let memory;
let maxToken;
let codes;
// By name, the step record's fields (`record[StepField.Set]`) and the
// numbers the core answers or takes: src/wasm/verifier.rs `NAMES`.
let StepField;
let StepKind;
let Attempt;
let DocumentKind;
let Failure;
let Report;
// Frees the core of a verifier nobody holds any more.
let cores;

/** The runtime adapter, the module read once it is ready. */
function ready() {
  const rt = runtime.get();
  if (module.get() !== wasm) {
    wasm = module.get();
    x = wasm.exports;
    memory = x.memory;
    const names = {};
    for (const line of wasm.call('verifier_names').trim().split('\n')) {
      const [name, ...values] = line.split(' ');
      names[name] = Object.fromEntries(values.map((value, at) => [value, at]));
    }
    ({ StepField, StepKind, Attempt, DocumentKind, Failure, Report } = names);
    codes = wasm.call('error_code_list').split(' ');
    const { call } = wasm;
    // Never throws: a trap while freeing ends the instance (`call`), quietly here.
    cores = new FinalizationRegistry((core) => { try { call('verifier_free', core); } catch { /* ended */ } });
  }
  return rt;
}

/** The text of `len` bytes of wasm memory at `ptr`. */
const textAt = (ptr, len) => decoder.decode(new Uint8Array(memory.buffer, ptr, len));
/** A view of `len` bytes of wasm memory at `ptr`, valid until the next call into the core. */
const bytesAt = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);

/** The error a core's call refused with, from its step record. */
function refusal(record) {
  return new ExtensionSsoError(codes[record[StepField.Error]], textOf(record, StepField.TextPtr), {
    retryable: record[StepField.Retryable] === 1,
    status: record[StepField.Status] || undefined,
  });
}

/** `value` as JSON text; `invalid_options` when it is not plain data. */
function plainJson(who, value) {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (cause) {
    throw ssoError('invalid_options', `${who} options must be plain data (JSON-serialisable)`, { cause });
  }
}

/** What a failed fetch threw, as text (whatever it threw: the failure must be reported). */
function describe(thrown) {
  try {
    return String(thrown?.message ?? thrown);
  } catch {
    return 'the fetch failed';
  }
}

/** Resolves after `ms`; rejects `aborted` when `signal` fires first. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(abortedError(signal)); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// The options: names and types here, with the shared reader; what the values
// mean (ranges, algorithm names, typ, URLs, which are required) in the core
// (src/jwks/config.rs), which reads them as one canonical JSON document.
// `null` means "not set" (defaults apply), except `audience: null`: any
// audience, on purpose.
const nullable = (inner) => kind(inner.text, (v) => v === null || inner.test(v));
const LIST = nullable(listKind);
const UINT = nullable(uintKind);
const DOCUMENT = nullable(documentKind);
const STRING = nullable(stringKind);
const BOOL = nullable(boolKind);
const OPTIONS = {
  issuer: LIST, audience: LIST, algorithms: LIST, clockToleranceSec: UINT,
  now: kind('a unix time in seconds (a non-negative number)', (v) => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0)),
  typ: STRING, requiredClaims: LIST, rejectKeyHints: BOOL, jwks: DOCUMENT, jwksUri: STRING, discovery: BOOL,
  issuers: nullable(kind('an object', (v) => typeof v === 'object')), cacheMaxAgeSec: UINT, cooldownSec: UINT, staleIfErrorSec: UINT, timeoutMs: UINT,
  maxBodyBytes: UINT, cache: DOCUMENT, verifiedTokenCacheSize: UINT, allowInsecureHttp: BOOL,
  fetch: nullable(functionKind),
  headers: nullable(kind('an object of header names and values, or a Headers', (v) => typeof v === 'object')),
};
// What every source shares, copied as they are into the settings.
const SHARED = ['algorithms', 'clockToleranceSec', 'typ', 'requiredClaims', 'rejectKeyHints', 'cacheMaxAgeSec',
  'cooldownSec', 'staleIfErrorSec', 'timeoutMs', 'maxBodyBytes', 'verifiedTokenCacheSize', 'allowInsecureHttp'];
const KEYS = ['jwks', 'jwksUri', 'discovery'];
const ENTRY_OPTIONS = { jwks: DOCUMENT, jwksUri: STRING, audience: LIST, discovery: BOOL };
const VERIFY_OPTIONS = { signal: signalKind, complete: boolKind };

/** One source of the settings: its issuers, audience and keys (absent ones left out). */
function sourceOf(issuer, audience, entry) {
  const source = { issuer: issuer ?? undefined, audience };
  for (const key of KEYS) if (entry[key] != null) source[key] = entry[key];
  return source;
}

/** The settings the core reads (JSON text), and the options read. */
function settingsOf(options) {
  const who = 'JwksVerifier';
  const read = readOptions(who, options, OPTIONS);
  const settings = {};
  for (const key of SHARED) if (read[key] != null) settings[key] = read[key];
  const { issuers } = read;
  if (issuers == null) {
    settings.sources = [sourceOf(read.issuer, read.audience, read)];
  } else if (read.issuer != null || KEYS.some((key) => read[key] != null)) {
    throw ssoError('invalid_options',
      'with issuers: {...} give each issuer its own jwks or jwksUri (or discovery: true); top-level issuer, jwks, jwksUri and discovery are not used');
  } else if (Array.isArray(issuers) || Object.keys(issuers).length === 0) {
    throw ssoError('invalid_options', 'issuers must map at least one issuer to its keys');
  } else {
    settings.routed = true;
    settings.sources = Object.entries(issuers).map(([iss, entry]) => {
      const own = readOptions(`issuers[${JSON.stringify(iss)}]`, entry, ENTRY_OPTIONS);
      // An entry's audience wins over the top-level one.
      return sourceOf(iss, own.audience !== undefined ? own.audience : read.audience, own);
    });
  }
  return { text: plainJson('JwksVerifier', settings), read };
}

/**
 * Verifies JWT access tokens against a JWK Set, local, fetched from a
 * `jwksUri` or found by discovery from the issuer, with caching, rotation
 * and strict claim checks (RFC 7515, 7517, 7518, 7519, 8725).
 */
export class JwksVerifier {
  #core;
  /** A view of the core's token buffer (recreated when wasm memory grows). */
  #tokenView;
  /** A view of the core's step record, read by `StepField` (likewise). */
  #stepRecord;
  /** The token in the core's buffer now, and its length in bytes. */
  #written;
  #writtenLength = 0;
  #rt;
  #now;
  #fetch;
  #headers;
  /** set -> the fetch of that key set under way in this isolate (not in workerd) */
  #pending = new Map();
  /** set -> its runtime keys (see #key) */
  #keys = [];

  /**
   * @param {object} options  see verifier.d.ts (`JwksVerifierOptions`).
   */
  constructor(options) {
    const rt = ready();
    const { text, read } = settingsOf(options);
    this.#rt = rt;
    const fixed = read.now;
    this.#now = fixed != null ? () => fixed : () => rt.now() / 1000;
    const core = wasm.call('verifier_new', text);
    this.#core = core;
    const record = this.#step();
    if (record[StepField.Ready] !== 1) {
      const error = refusal(record);
      wasm.call('verifier_free', core);
      throw error;
    }
    cores.register(this, core);
    maxToken ??= record[StepField.MaxTokenLength];
    this.#fetch = read.fetch ?? undefined;
    this.#headers = read.headers ?? undefined;
    // Snapshots that are expired or invalid are skipped: those sets are
    // fetched as if there were none (importCache() says why); one that is
    // not JSON is refused.
    if (read.cache != null && !wasm.call('verifier_import_cache', core, snapshotText(read.cache), this.#now(), false)) {
      throw refusal(this.#step());
    }
  }

  /** A verifier over a local JWK Set (object or JSON text). */
  static fromJwks(jwks, options = {}) {
    return new JwksVerifier({ ...options, jwks });
  }

  /**
   * Verifies `token`; resolves to its claims (with `complete: true`, to
   * `{ payload, protectedHeader }`). Rejects with an ExtensionSsoError whose
   * `.code` says why; `aborted` when `signal` fires first.
   */
  verify(token, options) {
    // Not an async function: the common path (keys cached) returns the
    // signature check's own promise, without another promise around it.
    try {
      let signal;
      let complete = false;
      if (options !== undefined) {
        ({ signal, complete = false } = readOptions('verify', options, VERIFY_OPTIONS));
        throwIfAborted(signal);
      }
      if (typeof token !== 'string') {
        wasm.call('verifier_not_a_token', this.#core);
        throw refusal(this.#step());
      }
      // Checked before the token is copied into wasm memory.
      if (token.length > maxToken) throw this.#tooLong(token);
      const step = this.#checkToken(token, Attempt.First);
      if (step === StepKind.Verify || step === StepKind.Remembered) return this.#answer(step, complete, signal);
      return this.#afterFetching(step, token, complete, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The answer of a `Verify` or `Remembered` step: a promise. */
  #answer(step, complete, signal) {
    if (step === StepKind.Remembered) return Promise.resolve(answer(this.#step(), complete));
    return this.#rt.sync ? Promise.resolve(this.#verifySync(complete)) : this.#verifyAsync(complete, signal);
  }

  /** The error for `token`, too long to be copied into wasm memory. */
  #tooLong(token) {
    wasm.call('verifier_too_long', this.#core, token.length);
    return refusal(this.#step());
  }

  // A step that fetches or waits first: the fetch (or the wait for another
  // one), then the token again, until it can be verified.
  async #afterFetching(step, token, complete, signal) {
    let polls;
    for (;;) {
      const record = this.#step();
      const set = record[StepField.Set];
      let attempt;
      if (step === StepKind.Fetch) {
        await this.#startFetch(set, record[StepField.Fetch], textOf(record, StepField.TextPtr), record[StepField.Document], signal);
        attempt = Attempt.Settled;
      } else {
        // Wait: join the fetch under way, or (workerd) poll the cache until
        // it reports back, at most timeoutMs, then fetch only if allowed.
        const shared = this.#pending.get(set);
        if (shared !== undefined) {
          await join(shared, signal);
          attempt = Attempt.Settled;
        } else if ((polls ??= Math.ceil(record[StepField.TimeoutMs] / POLL_MS)) > 0) {
          polls--;
          await sleep(POLL_MS, signal);
          attempt = Attempt.First;
        } else {
          attempt = Attempt.Waited;
        }
      }
      // Written again after every await: another verify may have used the buffer.
      step = this.#checkToken(token, attempt);
      if (step === StepKind.Verify || step === StepKind.Remembered) return this.#answer(step, complete, signal);
    }
  }

  /** The core's step for `token` (a `StepKind`); throws why when it refuses it. */
  #checkToken(token, attempt) {
    const length = this.#writeToken(token);
    const now = this.#now();
    let step;
    try {
      step = x.verifier_check(this.#core, length, now, attempt);
    } catch (cause) {
      throw wasm.fail(cause);
    }
    if (step === StepKind.Refused) throw refusal(this.#step());
    return step;
  }

  /** The core's verdict of check `ticket`; throws why when it refuses the token. */
  #finish(ticket, verified) {
    let done;
    try {
      done = x.verifier_finish(this.#core, ticket, verified);
    } catch (cause) {
      throw wasm.fail(cause);
    }
    if (!done) throw refusal(this.#step());
  }

  /** The step record of the core: what its last step says, by `StepField`. */
  #step() {
    let record = this.#stepRecord;
    if (record === undefined || record.byteLength === 0) {
      // To the end of memory: the record's last fields are the candidates' keys.
      // (Once, and again only when memory grew: through `call`.) An i32 arrives signed.
      record = this.#stepRecord = new Uint32Array(memory.buffer, wasm.call('verifier_record', this.#core) >>> 0);
    }
    return record;
  }

  /** Writes `token` (UTF-8) into the core's buffer; returns its length in bytes. */
  #writeToken(token) {
    // Only this verifier writes its core's buffer: the same token again is there already.
    if (token === this.#written) return this.#writtenLength;
    let view = this.#tokenView;
    if (view === undefined || view.byteLength === 0) {
      view = this.#tokenView = bytesAt(this.#step()[StepField.Token], maxToken);
    }
    // The buffer is about to change: until the write is complete it holds no
    // token of ours (a token too long in UTF-8 leaves a prefix of itself).
    this.#written = undefined;
    const { read, written } = encoder.encodeInto(token, view);
    if (read !== token.length) throw this.#tooLong(token);
    this.#written = token;
    this.#writtenLength = written;
    return written;
  }

  // The signature check of the last `check`, with its candidate keys
  // (imported once per key set generation, see #key) in order, then
  // the core's verdict. Synchronous runtimes (node:crypto): no promise.
  #verifySync(complete) {
    let record = this.#step();
    const ticket = record[StepField.Ticket];
    const count = record[StepField.Candidates];
    const rt = this.#rt;
    let verified = false;
    for (let i = 0; i < count && !verified; i++) {
      const key = this.#key(i);
      if (key.handle === null) continue;
      record = this.#step(); // wasm memory may have grown meanwhile
      try {
        verified = rt.verify(key.handle, field(record, StepField.InputPtr), field(record, StepField.SignaturePtr)) === true;
      } catch { /* not this key */ }
    }
    const texts = textsOf(record, complete);
    this.#finish(ticket, verified);
    return answer(texts, complete);
  }

  // The same with WebCrypto's promises. Everything the check names is read
  // before the first await (a later check reuses the core's buffers).
  async #verifyAsync(complete, signal) {
    let record = this.#step();
    const ticket = record[StepField.Ticket];
    const count = record[StepField.Candidates];
    const rt = this.#rt;
    const first = this.#key(0);
    let verified = false;
    let texts;
    if (count === 1 && first.handle != null) {
      // The common case: WebCrypto copies both views when called.
      texts = textsOf(record, complete);
      try {
        verified = (await rt.verify(first.handle, field(record, StepField.InputPtr), field(record, StepField.SignaturePtr))) === true;
      } catch { /* not this key */ }
    } else {
      const keys = [first];
      for (let i = 1; i < count; i++) keys.push(this.#key(i));
      record = this.#step(); // wasm memory may have grown meanwhile
      texts = textsOf(record, complete);
      // Views of wasm memory do not outlive an await.
      const input = field(record, StepField.InputPtr).slice();
      const signature = field(record, StepField.SignaturePtr).slice();
      for (const key of keys) {
        const handle = key.handle ?? await key.ready;
        if (handle == null) continue;
        try { verified = (await rt.verify(handle, input, signature)) === true; } catch { /* not this key */ }
        if (verified) break;
      }
    }
    if (signal?.aborted) {
      wasm.call('verifier_release', this.#core, ticket);
      throw abortedError(signal);
    }
    this.#finish(ticket, verified);
    return answer(texts, complete);
  }

  // The runtime key of candidate `i` of the last check: `{ handle }` (null
  // when the runtime refuses the key), or in async runtimes `{ handle:
  // undefined, ready }` until its import settles. Imported once per key,
  // alg and key set generation: a set's keys are dropped when the core
  // names another generation of it.
  #key(i) {
    const record = this.#step();
    const set = record[StepField.Set];
    const generation = record[StepField.Generation];
    let held = this.#keys[set];
    if (held?.generation !== generation) held = this.#keys[set] = { generation, byAlg: [] };
    const keys = (held.byAlg[record[StepField.Alg]] ??= new Map());
    const index = record[StepField.Keys + i];
    let key = keys.get(index);
    if (key === undefined) keys.set(index, (key = this.#importKey(i)));
    return key;
  }

  /** Imports candidate `i` of the last check for its alg (see #key). */
  #importKey(i) {
    const rt = this.#rt;
    const found = wasm.call('verifier_key_jwk', this.#core, i);
    const record = this.#step();
    const jwk = found ? textOf(record, StepField.TextPtr) : undefined;
    const alg = textOf(record, StepField.AlgPtr);
    const key = { handle: undefined, ready: undefined };
    if (jwk === undefined) {
      key.handle = null;
    } else if (rt.sync) {
      try { key.handle = rt.importKey(JSON.parse(jwk), alg); } catch { key.handle = null; }
    } else {
      key.ready = Promise.resolve()
        .then(() => rt.importKey(JSON.parse(jwk), alg))
        .then((handle) => (key.handle = handle), () => (key.handle = null));
    }
    return key;
  }

  // Fetch `fetch` of key set `set` the core asked for: in Node and browsers
  // shared by every caller that needs the set meanwhile, under a signal of
  // its own that fires only when every caller waiting on it has aborted (one
  // caller's abort rejects that caller only; the last one's also tells the
  // core at once, so a caller after it starts afresh instead of joining a
  // dying fetch); in workerd, this request's own, under its signal.
  #startFetch(set, fetch, url, document, signal) {
    if (IS_WORKERD) return this.#fetchDocuments(set, fetch, url, document, signal);
    const controller = new AbortController();
    const shared = { waiting: 0, controller, done: undefined, abandon: undefined };
    // Only while it is still this fetch's entry (a later fetch may own it).
    const forget = () => this.#pending.get(set) === shared && this.#pending.delete(set);
    // Runs in an abort listener: never throws (a module that failed has
    // ended, and says so to every later call; this caller is answered).
    shared.abandon = (reason) => {
      forget();
      try { wasm.call('verifier_fetch_aborted', this.#core, set, fetch); } catch { /* ended */ }
      controller.abort(reason);
    };
    shared.done = this.#fetchDocuments(set, fetch, url, document, controller.signal).finally(forget);
    // Rejections reach each waiter through join(); none is left unhandled.
    shared.done.catch(() => {});
    this.#pending.set(set, shared);
    return join(shared, signal);
  }

  // Performs the requests of fetch `fetch` (discovery's, then the JWK Set's)
  // and reports each to the core.
  async #fetchDocuments(set, fetch, url, document, signal) {
    const core = this.#core;
    for (;;) {
      let result;
      const record = this.#step();
      try {
        result = await fetchBody(url, { method: 'GET', headers: this.#requestHeaders(document) }, {
          fetch: this.#fetch, timeoutMs: record[StepField.TimeoutMs], signal, maxBytes: record[StepField.MaxBodyBytes],
        });
      } catch (error) {
        // Aborted: neither a failure nor a success for the cache.
        wasm.call('verifier_fetch_aborted', core, set, fetch);
        throw error;
      }
      if (result.failure !== undefined) {
        const failure = result.failure === 'timeout' ? Failure.Timeout : Failure.Network;
        if (!wasm.call('verifier_fetch_failed', core, set, fetch, failure, describe(result.cause), this.#now())) {
          const error = refusal(this.#step());
          error.cause = result.cause;
          throw error;
        }
        return;
      }
      const { body } = result;
      const at = wasm.call('alloc_bytes', body.length) >>> 0; // an i32 arrives signed
      bytesAt(at, body.length).set(body);
      const report = wasm.call('verifier_fetched', core, set, fetch, result.status, result.headers.get('cache-control') ?? '',
        at, body.length, this.#now());
      if (report === Report.Refused) throw refusal(this.#step());
      if (report === Report.Done) return;
      const next = this.#step();
      url = textOf(next, StepField.TextPtr);
      document = next[StepField.Document];
    }
  }

  /** The caller's `headers`, with an Accept for `document` unless they set one. */
  #requestHeaders(document) {
    const headers = new Headers(this.#headers);
    if (!headers.has('accept')) {
      headers.set('accept', document === DocumentKind.JwkSet ? 'application/jwk-set+json, application/json' : 'application/json');
    }
    return headers;
  }

  /**
   * A snapshot `{ [jwksUri or issuer]: { jwks, fetchedAt, expiresAt,
   * metadata? } }` of the fetched key sets, to keep in KV or the Cache API
   * and pass back as the `cache` option (or to `importCache`) in another
   * isolate. Undefined when nothing is cached, or, given `previous` (e.g.
   * what KV returned), when nothing was fetched since: write it back only
   * when this returns a snapshot.
   */
  exportCache(previous) {
    // No previous snapshot: a null text (0, 0).
    const found = previous == null ? wasm.call('verifier_export_cache', this.#core, 0, 0)
      : wasm.call('verifier_export_cache', this.#core, snapshotText(previous));
    return found ? JSON.parse(textOf(this.#step(), StepField.TextPtr)) : undefined;
  }

  /**
   * Loads a snapshot made by `exportCache()`. Throws `jwks_invalid` when it
   * is invalid, expired or names a key set this verifier does not use (the
   * `cache` option skips such snapshots). Returns how many key sets were
   * loaded.
   */
  importCache(snapshot) {
    const loaded = wasm.call('verifier_import_cache', this.#core, snapshotText(snapshot), this.#now(), true);
    const record = this.#step();
    if (!loaded) throw refusal(record);
    return record[StepField.Count];
  }
}

// The last views `field` made, by the `*Ptr` field: the signing input and
// the signature are mostly at the same places with the same lengths (the
// core's buffers), so a verification allocates no view (less garbage).
const views = [];

/** The bytes a `*Ptr` field of the step record and the `*Len` after it name (a view, valid until the next call into the core). */
function field(record, ptr) {
  const at = record[ptr];
  const length = record[ptr + 1];
  const view = views[ptr];
  if (view !== undefined && view.byteOffset === at && view.length === length && view.buffer === memory.buffer) return view;
  return (views[ptr] = bytesAt(at, length));
}

/** The text a `*Ptr` field of the step record and the `*Len` after it name. */
const textOf = (record, ptr) => textAt(record[ptr], record[ptr + 1]);

/**
 * The JSON texts of the step in `record`: the payload's, or with `complete`
 * `[payload, header]`.
 */
function textsOf(record, complete) {
  const payload = textOf(record, StepField.PayloadPtr);
  return complete ? [payload, textOf(record, StepField.HeaderPtr)] : payload;
}

/**
 * What verify() resolves to: the claims, or with `complete` `{ payload,
 * protectedHeader }`; `texts` from textsOf (or the step record itself).
 */
function answer(texts, complete) {
  if (texts instanceof Uint32Array) texts = textsOf(texts, complete);
  if (!complete) return JSON.parse(texts);
  return { payload: JSON.parse(texts[0]), protectedHeader: JSON.parse(texts[1]) };
}

/** A snapshot as JSON text (given as text, or as the object). */
function snapshotText(snapshot) {
  return typeof snapshot === 'string' ? snapshot : plainJson('JwksVerifier', snapshot);
}

/**
 * Waits for a shared fetch; `signal` rejects this caller alone. The fetch is
 * aborted when every caller waiting on it has aborted.
 */
function join(shared, signal) {
  shared.waiting++;
  if (signal == null) return shared.done.finally(() => { shared.waiting--; });
  return new Promise((resolve, reject) => {
    let waiting = true;
    const leave = () => {
      if (!waiting) return false;
      waiting = false;
      shared.waiting--;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (shared.waiting === 0) shared.abandon(signal.reason);
      reject(abortedError(signal));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    shared.done.then((value) => { if (leave()) resolve(value); }, (error) => { if (leave()) reject(error); });
  });
}
