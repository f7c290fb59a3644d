// Shared by every entry: the error class, the options reader, one request
// under a timeout and the caller's AbortSignal, and the runtime slot.
//
// Nothing here decides a protocol rule: what option values mean, what an
// answer means and which error a failure becomes stay in the wasm core.

/**
 * The brand every error of the package carries, wasm-made ones included
 * (src/wasm/error.rs sets it). A global symbol, so `instanceof` holds across
 * entries bundled separately, each with its own copy of this class.
 */
const BRAND = Symbol.for('extension-sso/error');
const ERROR_FIELDS = ['status', 'error', 'error_description', 'error_uri'];

/**
 * Every rejection of extension-sso: an `Error` with a stable `.code` (see
 * `errorCodes()`), `.retryable` (true only for transient failures), the
 * source in `.cause`, and where they apply the HTTP `.status` and the
 * OAuth `.error`, `.error_description`, `.error_uri`.
 */
export class ExtensionSsoError extends Error {
  /**
   * @param {string} code  one of `errorCodes()`
   * @param {string} message  what happened and what to fix
   * @param {{ retryable?: boolean, cause?: unknown, status?: number, error?: string,
   *   error_description?: string, error_uri?: string }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.retryable = details.retryable === true;
    for (const key of ERROR_FIELDS) if (details[key] !== undefined) this[key] = details[key];
  }

  /** True for every error of the package, whichever entry or bundle made it. */
  static [Symbol.hasInstance](value) {
    return value instanceof Error && value[BRAND] === true;
  }
}
Object.defineProperty(ExtensionSsoError.prototype, 'name', { value: 'ExtensionSsoError', writable: true, configurable: true });
Object.defineProperty(ExtensionSsoError.prototype, BRAND, { value: true });

/** `new ExtensionSsoError(code, message, details)`. */
export function ssoError(code, message, details) {
  return new ExtensionSsoError(code, message, details);
}

/** The `aborted` error for `signal`: not retryable, `cause` = `signal.reason`. */
export function abortedError(signal) {
  return new ExtensionSsoError('aborted', 'the operation was aborted by its AbortSignal (the reason is in cause)', {
    cause: signal.reason,
  });
}

/** Throws `aborted` when `signal` (optional) has fired. */
export function throwIfAborted(signal) {
  if (signal?.aborted) throw abortedError(signal);
}

// ---- options: names and types (what values mean is the core's job) ----

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A kind of the caller's own: `text` for messages, `test(value)` (`KIND.custom`). */
export const kind = (text, test) => ({ text, test });
const quote = (v) => `'${v}'`;

// Each kind is its own export as well as a member of `KIND`: an entry that
// imports the kinds it reads by name bundles only those (an object's members
// are never tree-shaken: the client's bundle 116 B gzip smaller). Object
// literals, not `kind(...)` calls: the bundler drops an unused literal, but
// keeps a call (scripts/build minifies lib/ before bundling, and that drops
// `/* @__PURE__ */` annotations).
export const stringKind = { text: 'a string', test: (v) => typeof v === 'string' };
export const listKind = { text: 'a string or a list of strings', test: (v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')) };
export const uintKind = { text: 'a whole non-negative number', test: (v) => Number.isSafeInteger(v) && v >= 0 };
export const numberKind = { text: 'a finite number', test: (v) => typeof v === 'number' && Number.isFinite(v) };
export const boolKind = { text: 'true or false', test: (v) => typeof v === 'boolean' };
export const objectKind = { text: 'an object', test: isObject };
export const documentKind = { text: 'an object or JSON text', test: (v) => typeof v === 'string' || isObject(v) };
export const functionKind = { text: 'a function', test: (v) => typeof v === 'function' };
export const signalKind = { text: 'an AbortSignal', test: (v) => isObject(v) && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function' };
export const anyKind = { text: 'anything', test: () => true };
/** One of the given strings: `must be 'self', 'top' or 'popup'`. */
export const oneOf = (...values) => kind(
  values.length > 1 ? `${values.slice(0, -1).map(quote).join(', ')} or ${quote(values.at(-1))}` : quote(values[0]),
  (v) => values.includes(v),
);
/** `inner`, or null. */
export const orNull = (inner) => kind(`${inner.text} or null`, (v) => v === null || inner.test(v));

/** The kinds an option can be; `KIND.x.text` is what messages say it must be. */
export const KIND = {
  string: stringKind, list: listKind, uint: uintKind, number: numberKind, bool: boolKind, object: objectKind,
  document: documentKind, function: functionKind, signal: signalKind, any: anyKind, oneOf, orNull, custom: kind,
};

/**
 * Reads an options object by `schema` (`{ name: KIND.x }`): every own key
 * must be a known option, whatever its value (a function-valued typo such
 * as `fecth: myFetch` is refused too), and every value that is not
 * `undefined` must be of its kind. Returns a new object with the present
 * options; throws `invalid_options` naming the option and `who`.
 */
export function readOptions(who, options, schema) {
  if (!isObject(options)) throw ssoError('invalid_options', `${who} options must be an object`);
  const out = {};
  for (const key of Object.keys(options)) {
    const expected = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (expected === undefined) {
      throw ssoError('invalid_options', `unknown option "${key}" for ${who}; the options are: ${Object.keys(schema).join(', ')}`);
    }
    const value = options[key];
    if (value === undefined) continue;
    if (!expected.test(value)) throw ssoError('invalid_options', `invalid ${who} options: ${key} must be ${expected.text}`);
    out[key] = value;
  }
  return out;
}

// ---- one request: timeout, the caller's signal, a capped body ----

/**
 * Reads a body (a Response or a Request), stopping after `cap` + 1 bytes: a
 * body over the cap comes back as `cap + 1` zero bytes, for the wasm core
 * to reject with its own message.
 */
export async function readCapped(message, cap) {
  const declared = Number(message.headers.get('content-length'));
  if (declared > cap) {
    await message.body?.cancel().catch(() => {});
    return new Uint8Array(cap + 1);
  }
  if (!message.body) return new Uint8Array(await message.arrayBuffer());
  const reader = message.body.getReader();
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
 * One request, headers and body, under one timeout and the caller's
 * `signal`. Redirects are not followed (`redirect: 'manual'`) unless `init`
 * says otherwise. The timeout and the signal settle the call even when a
 * custom `fetch` ignores its signal.
 *
 * Resolves `{ response, status, headers, body }` (`body`: a Uint8Array,
 * `maxBytes + 1` zero bytes when the body is over `maxBytes`), or
 * `{ failure: 'timeout' | 'network', cause }` for the core to turn into its
 * own error; rejects only with `aborted` when `signal` fires.
 *
 * @param {string} url
 * @param {RequestInit} init
 * @param {{ fetch?: typeof fetch, timeoutMs: number, signal?: AbortSignal, maxBytes: number }} how
 */
export async function fetchBody(url, init, { fetch = globalThis.fetch, timeoutMs, signal, maxBytes }) {
  throwIfAborted(signal);
  const controller = new AbortController();
  let failure = 'network';
  let stop;
  const stopped = new Promise((resolve) => { stop = resolve; });
  const timer = setTimeout(() => {
    failure = 'timeout';
    controller.abort();
    stop();
  }, timeoutMs);
  const onAbort = () => {
    controller.abort(signal.reason);
    stop();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // Whatever happens first: the exchange, the timeout or the caller's abort.
  const race = (promise) => Promise.race([promise, stopped.then(() => { throw controller.signal.reason; })]);
  try {
    const response = await race(fetch(url, { redirect: 'manual', ...init, signal: controller.signal }));
    const body = await race(readCapped(response, maxBytes));
    return { response, status: response.status, headers: response.headers, body };
  } catch (cause) {
    if (signal?.aborted) throw abortedError(signal);
    return { failure, cause };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

// ---- a wasm module without wasm-bindgen's glue (src/wasm/abi.rs) ----

/**
 * Instantiates the wasm module of `entry` (built with `bindgen = false` in
 * wasm-pack.toml: no imports) synchronously, from a `WebAssembly.Module` or
 * its bytes: Node and workerd loaders.
 */
export function wasmSync(entry, source) {
  const module = source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source);
  return wasmModule(entry, new WebAssembly.Instance(module, {}));
}

/** A `Response` by its shape (one of another realm, or of a fetch polyfill, is one too). */
const isResponse = (v) => typeof v?.arrayBuffer === 'function' && v.headers !== undefined;

/**
 * `source` of a browser loader's `init(input)` ready to compile: awaited, fetched when it is a
 * URL (or its string) or a `Request`; a `Response` that is not ok (a 404, a 502 page) is refused
 * before anything compiles it (an Error naming its status; `loadError` makes it coded).
 */
export async function wasmSource(source) {
  source = await source;
  if (typeof source === 'string' || source instanceof URL || source instanceof Request) source = await fetch(source);
  if (isResponse(source) && !source.ok) throw Error(`HTTP ${source.status} ${source.url}`);
  return source;
}

/**
 * What a browser loader's `init()` rejects with when `cause` (fetch, status, compile, instantiate)
 * stopped it: `unsupported`, with `cause` kept.
 */
export const loadError = (entry, cause) =>
  ssoError('unsupported', `the extension-sso/${entry} WebAssembly module could not be loaded: ${cause?.message ?? cause}`, { cause });

/**
 * Instantiates the wasm module of `entry` from `source`: a URL (or its
 * string), `Request`, `Response` (or a promise of one), `BufferSource` or
 * `WebAssembly.Module`: browser loaders' `init(input)`. Compiles while
 * downloading when the server says `application/wasm`. Rejects with
 * `unsupported` (see `wasmSource`, `loadError`).
 */
export async function wasmAsync(entry, source) {
  try {
    source = await wasmSource(source);
    const made = !isResponse(source) ? await WebAssembly.instantiate(source, {})
      : WebAssembly.instantiateStreaming && source.headers.get('content-type') === 'application/wasm'
        ? await WebAssembly.instantiateStreaming(source, {}) : await WebAssembly.instantiate(await source.arrayBuffer(), {});
    // `instantiate` of a Module answers the instance; of bytes, `{ module, instance }`.
    return wasmModule(entry, made.instance ?? made);
  } catch (cause) {
    throw loadError(entry, cause);
  }
}

/**
 * The calling side of src/wasm/abi.rs for one instance: `call(name, ...args)`
 * calls export `name`. A string argument crosses as UTF-8 written into the
 * module's memory (two arguments: pointer, length; the export frees it); a
 * `bigint` answer is text (pointer and length), read and freed here; any
 * other answer (a number, a handle) comes back as it is.
 *
 * A failure inside the module (a trap: a bug, since the core never panics
 * on input) leaves its memory in an unknown state: that call and every later
 * one throw `unsupported`, with the trap as `cause`.
 *
 * `exports` are the module's exports for an entry's hot path (numbers only,
 * one direct call each, no per-call arrays): the entry calls them inside
 * `try { ... } catch (cause) { throw fail(cause); }`. `fail` ends the
 * instance as `call` does (one state for both): it answers the `unsupported`
 * error to throw, and from then on every function of `exports` throws the
 * first trap again.
 */
function wasmModule(entry, instance) {
  // Our own object (the instance's is frozen): `fail` replaces its functions.
  const x = { ...instance.exports };
  const utf8 = new TextEncoder();
  const fromUtf8 = new TextDecoder();
  const bytes = (ptr, len) => new Uint8Array(x.memory.buffer, ptr, len);
  let trap;
  const fail = (cause) => {
    if (!trap) {
      trap = cause;
      for (const name in x) if (typeof x[name] === 'function') x[name] = () => { throw trap; };
    }
    return ssoError('unsupported', `the extension-sso/${entry} WebAssembly module failed (a bug in extension-sso: `
      + 'please report it with this error\'s cause) and cannot be used again: load it anew (reload the page or restart the process)', { cause: trap });
  };
  const call = (name, ...args) => {
    try {
      const params = [];
      for (const arg of args) {
        if (typeof arg !== 'string') { params.push(arg); continue; }
        const text = utf8.encode(arg);
        const ptr = x.alloc_bytes(text.length) >>> 0; // an i32 arrives signed
        bytes(ptr, text.length).set(text);
        params.push(ptr, text.length);
      }
      const answer = x[name](...params);
      if (typeof answer !== 'bigint') return answer;
      // A wasm i64 arrives signed: mask, so that an address past 2 GiB stays one.
      const ptr = Number((answer >> 32n) & 0xffffffffn);
      const len = Number(answer & 0xffffffffn);
      const text = fromUtf8.decode(bytes(ptr, len));
      x.free_bytes(ptr, len);
      return text;
    } catch (cause) {
      throw fail(cause);
    }
  };
  return { call, exports: x, fail };
}

// ---- the runtime the loader installs ----

const slots = new Map();

/**
 * The runtime adapter (node or web) of `entry`: one slot per entry, shared
 * by its loader (which installs the adapter once the wasm is ready) and its
 * JS layer (which reads it). Internal: no entry exports it.
 */
export function runtimeSlot(entry) {
  let slot = slots.get(entry);
  if (slot) return slot;
  let runtime = null;
  slot = {
    install(rt) { runtime = rt; },
    get() {
      if (!runtime) {
        throw ssoError('invalid_options',
          `extension-sso/${entry} is not initialised: in a browser, call and await the default export init() first`);
      }
      return runtime;
    },
  };
  slots.set(entry, slot);
  return slot;
}
