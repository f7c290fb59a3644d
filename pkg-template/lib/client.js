// extension-sso/client: the browser ExtensionClient, and a wasm-free helper
// for the host page that embeds extensions.
//
// The wasm core (src/oauth/client.rs) decides everything: what the options
// mean, how to navigate, the flow records, every URL, what a callback or a
// message is worth, which request to make and what its answer means. This
// layer performs what it asks, and nothing else: sessionStorage and the
// page's memory, history.replaceState, location, window.open, postMessage and
// BroadcastChannel, fetch (under timeoutMs and the caller's AbortSignal,
// never following a redirect), the clock and random bytes. Each call sends
// the core one event (JSON) and performs the step it answers, until the
// answer settles the call.
import {
  ExtensionSsoError, abortedError, anyKind, boolKind, fetchBody, functionKind, kind, objectKind, orNull, readOptions, runtimeSlot,
  signalKind, ssoError, stringKind, throwIfAborted, uintKind,
} from './common.js';

export { ExtensionSsoError };
// Installed by the loader (pkg-template/loaders/client.*.js): `{ name, wasm }`,
// `wasm` the core's module (src/wasm/client.rs lists its exports).
const runtime = runtimeSlot('client');
const wasm = () => runtime.get().wasm;
/** The crate version (the npm package reports the same). */
export const crateVersion = () => wasm().call('crate_version');
/** Every error code (`ErrorCode`). */
export const errorCodes = () => wasm().call('error_code_list').split(' ');
/** Frees the core of a client that was collected without free(); a module that trapped has nothing to free. */
const cores = new FinalizationRegistry((core) => {
  try { wasm().call('client_free', core); } catch { /* the module trapped: it is never called again */ }
});
/** Sends one event to a core (a handle of `client_new`); answers its step. */
const coreStep = (core, event) => JSON.parse(wasm().call('client_step', core, JSON.stringify(event)));

const g = globalThis;
/**
 * A message's data as its own JSON text: the core reads it (a data it cannot read is not ours),
 * and the event around it always parses. `undefined`, not ours either, when JSON cannot write it
 * (a BigInt, a cycle) or it is longer than the wait's `maxMessageBytes`, so that nothing any
 * window posts crosses larger than that. The writing itself is bounded too: any window can post a
 * sparse array of 1e8 holes or transfer a 64 MiB typed array at no cost to itself, so the replacer
 * counts a lower bound of the text written (UTF-16 units: each is at least one byte) and gives up
 * past `maxBytes`, and refuses a typed array before its indices are listed.
 */
function jsonOf(data, maxBytes) {
  // The root's holder key ("") is counted as a member's (3) though nothing is written for it.
  let left = maxBytes + 3;
  function bounded(key, value) {
    if (ArrayBuffer.isView(value)) throw jsonOf;
    const written = typeof value === 'string' ? value.length + 2 : 1;
    if (Array.isArray(this)) left -= written; // an element ("null" for a hole or a function)
    else if (value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') {
      left -= key.length + 3 + written; // "key":value (a member JSON leaves out writes nothing)
    }
    if (left < 0) throw jsonOf;
    return value;
  }
  let text;
  try {
    text = JSON.stringify(data, bounded);
  } catch {
    return undefined;
  }
  return text?.length > maxBytes ? undefined : text;
}
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const invalid = (message) => ssoError('invalid_options', message);

// Names and types only; what the values mean is the core's (src/oauth/config.rs).
// `null` is "not set", as it has always been for these options.
const TEXT = orNull(stringKind);
const FLAG = orNull(boolKind);
const WHOLE = orNull(uintKind);
const PARAMS = kind('an object of string parameters',
  (v) => v === null || (isObject(v) && Object.values(v).every((s) => typeof s === 'string')));
const OPTIONS = {
  profile: stringKind,
  authorizationEndpoint: TEXT, clientId: TEXT, redirectUri: TEXT, scope: TEXT, issuer: TEXT, usePkce: FLAG,
  tokenEndpoint: TEXT, extraParams: PARAMS,
  consoleUrl: TEXT, tenantId: TEXT, extensionId: TEXT,
  homeserverUrl: TEXT, idpId: TEXT,
  authServiceUrl: TEXT, appId: TEXT, providerId: TEXT, redirect: TEXT,
  tokenHandoffUrl: TEXT, navigation: TEXT, stateTtlSec: WHOLE, issPolicy: TEXT, hostOrigin: TEXT,
  cookieSession: FLAG, persistSession: FLAG, timeoutMs: WHOLE, fetch: functionKind,
};
const CALL_OPTIONS = { signal: signalKind };

// Events that need neither the flow stores nor random bytes.
const LIGHT = new Set(['configure', 'restore', 'stored', 'popup-opened', 'host-reply', 'host-timeout', 'session', 'is-callback', 'identity']);
// How often a waiting opener looks whether the user closed the popup.
const POPUP_POLL_MS = 500;
// How long a popup's callback page stays open after posting the callback to its opener, unless the
// opener closes it first (it does once it has the answer). Closing at once raced the delivery: a
// message that arrives after its window closed has no `source`, so it is not our popup's answer.
const POPUP_LINGER_MS = 5000;
const PROBE = 'extension-sso:probe';
// What a popup's callback page tells its opener when it cannot complete (src/oauth/navigation.rs).
const CALLBACK_ERROR = 'extension-sso:callback-error';

/** `sessionStorage` when it really works (a probe write and removal), else null. */
function sessionStore() {
  try {
    const s = g.sessionStorage;
    s.setItem(PROBE, '1');
    s.removeItem(PROBE);
    return s;
  } catch {
    return null;
  }
}

/** A Map seen as a Storage: the page's memory store of popup mode. */
function memoryStore(map) {
  return {
    get length() { return map.size; },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => { map.set(k, v); },
    removeItem: (k) => { map.delete(k); },
  };
}

/** Every record of `store` under `prefix`, as `{key: value}`. */
function records(store, prefix) {
  const out = {};
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(prefix)) out[key] = store.getItem(key);
  }
  return out;
}

/** Performs `writes` (`{set, remove}`) on `store`; true when every one reads back. */
function perform(store, writes) {
  if (!writes) return true;
  try {
    for (const key of writes.remove) store.removeItem(key);
    for (const [key, value] of Object.entries(writes.set)) store.setItem(key, value);
    return writes.remove.every((key) => store.getItem(key) === null) &&
      Object.entries(writes.set).every(([key, value]) => store.getItem(key) === value);
  } catch {
    return false;
  }
}

function isFramed() {
  try {
    return g.top !== g.self;
  } catch {
    return true;
  }
}

/** What a failed request threw, as text. */
function describe(thrown) {
  try {
    return String(thrown?.message ?? thrown);
  } catch {
    return 'the request failed';
  }
}

/** The core's `{code, message, retryable, status?, error?, ...}` as an ExtensionSsoError. */
function toError({ code, message, ...details }, cause) {
  return new ExtensionSsoError(code, message, cause === undefined ? details : { ...details, cause });
}

/**
 * `to-opener`: hands the callback to the opener, which closes this window once it has it (else
 * this window closes itself after POPUP_LINGER_MS), or to the channel, and then closes at once.
 */
function toOpener(step) {
  const opener = g.opener;
  if (opener) {
    try {
      opener.postMessage(step.message, step.targetOrigin);
    } catch (cause) {
      throw ssoError('origin_not_allowed', `could not post the callback to the opener at ${step.targetOrigin}: ${describe(cause)}`, { cause });
    }
    setTimeout(() => g.close(), POPUP_LINGER_MS);
    return;
  }
  const channel = new BroadcastChannel(step.channel);
  channel.postMessage(step.message);
  channel.close();
  g.close();
}

/**
 * The runtime, or the coded error that says to call `init()` first. On a
 * popup's callback page the opener is told too (it waits for this popup):
 * its `login()` rejects instead of waiting for good.
 */
function initialised() {
  try {
    return runtime.get();
  } catch (e) {
    try {
      if (g.opener && g.opener !== g) g.opener.postMessage({ type: CALLBACK_ERROR, code: e.code }, g.location.origin);
    } catch { /* no opener to tell */ }
    throw e;
  }
}

/** `(first, options)` of a call that takes an optional argument and then options. */
function callArgs(who, first, options) {
  if (isObject(first) && options === undefined) [first, options] = [undefined, first];
  const { signal } = options === undefined ? {} : readOptions(who, options, CALL_OPTIONS);
  return [first, signal];
}

/**
 * SSO login for an extension page (often inside the host console's
 * iframe): OAuth 2.0 / OpenID Connect with PKCE, the Mia-Platform Console,
 * Matrix SSO and the Mia-Platform Authentication Service. See client.d.ts.
 */
export class ExtensionClient {
  #core;
  #memory = new Map();
  #fetch;
  #prefix = '';
  #randomBytes = 0;
  #timeoutMs = 0;
  /** The cause of the last request failure, for the error the core makes of it. */
  #cause;

  /**
   * `new ExtensionClient(options)`, or `new ExtensionClient(authorizationServerUrl,
   * extensionId)` followed by `login(redirectUrl)`.
   */
  constructor(options, extensionId) {
    initialised();
    let event;
    if (typeof options === 'string') {
      if (typeof extensionId !== 'string') {
        throw invalid('new ExtensionClient(authorizationServerUrl, extensionId) needs extensionId');
      }
      event = { event: 'configure', server: options, extensionId };
    } else {
      if (extensionId !== undefined) throw invalid('pass either an options object or (authorizationServerUrl, extensionId)');
      if (!isObject(options)) throw invalid('new ExtensionClient() needs an options object with a profile');
      const { fetch, ...rest } = readOptions('ExtensionClient', options, OPTIONS);
      this.#fetch = fetch;
      event = { event: 'configure', options: rest };
    }
    this.#core = wasm().call('client_new');
    // Freed with this object when nobody holds it (and free() was not called), as wasm-bindgen's
    // glue did: its core holds the session. Also when this constructor throws.
    cores.register(this, this.#core, this);
    const step = this.#call(event);
    if (step.step === 'fail') {
      this.free();
      throw toError(step.error);
    }
    this.#prefix = step.flowPrefix;
    this.#randomBytes = step.randomBytes;
    this.#timeoutMs = step.timeoutMs;
    if (step.sessionKey !== null) {
      let text = null;
      try { text = sessionStore()?.getItem(step.sessionKey) ?? null; } catch { /* none */ }
      this.#call({ event: 'restore', text });
    }
  }

  /** Sends one event to the core; performs its scrub and writes; answers the step (`ok`: the writes read back). */
  #call(event) {
    if (!LIGHT.has(event.event)) {
      const session = sessionStore();
      event.flows = { session: session && records(session, this.#prefix), memory: records(memoryStore(this.#memory), this.#prefix) };
      event.random = Array.from(g.crypto.getRandomValues(new Uint8Array(this.#randomBytes)));
    }
    event.now = Date.now() / 1000;
    event.href = g.location?.href ?? '';
    event.origin = g.location?.origin ?? '';
    event.framed = isFramed();
    if (!this.#core) throw invalid('this ExtensionClient was freed (free()): create a new one');
    const step = coreStep(this.#core, event);
    if (step.scrub !== undefined) {
      try { g.history.replaceState(g.history.state, '', step.scrub); } catch { /* nothing to undo */ }
    }
    const writes = step.writes ?? {};
    const session = writes.session && sessionStore();
    step.ok = perform(memoryStore(this.#memory), writes.memory) && (!writes.session || perform(session ?? {}, writes.session));
    return step;
  }

  /**
   * Runs one call: sends `event`, performs each step until one settles it.
   * Synchronous until the first request or wait, so a popup opens inside
   * the click that called `login()`.
   */
  async #run(event, signal) {
    throwIfAborted(signal);
    let popup = null;
    let step = this.#call(event);
    try {
      for (;;) {
        switch (step.step) {
          case 'store':
            step = this.#call({ event: 'stored', ok: step.ok });
            break;
          case 'open-popup':
            popup = g.open(step.url, '_blank', step.features);
            step = this.#call({ event: 'popup-opened', ok: popup != null });
            break;
          case 'navigate':
            g.location.assign(step.url);
            return this.#handedOver(signal);
          case 'navigated':
            return this.#handedOver(signal);
          case 'to-opener':
            toOpener(step);
            return this.#handedOver(signal);
          case 'fetch':
            step = this.#call(await this.#request(step, signal));
            break;
          case 'await-popup':
            step = await this.#awaitPopup(step, popup, signal);
            break;
          case 'ask-host':
            step = await this.#askHost(step, signal);
            break;
          case 'fail':
            throw toError(step.error, this.#cause);
          case 'done':
            return step.session;
          case 'identity':
            return step.identity;
          default:
            return step.value;
        }
        this.#cause = undefined;
        throwIfAborted(signal);
      }
    } finally {
      this.#cause = undefined;
      if (popup && !popup.closed) popup.close();
    }
  }

  /** `fetch`: one request (no redirects followed), answered as a `response` event. */
  async #request(step, signal) {
    const init = { method: step.method, credentials: step.credentials };
    if (step.body !== null) {
      init.headers = { 'content-type': step.contentType };
      init.body = step.body;
    }
    const got = await fetchBody(step.url, init, { fetch: this.#fetch, timeoutMs: this.#timeoutMs, signal, maxBytes: step.maxBytes });
    const event = { event: 'response', resume: step.resume };
    if (got.failure) {
      this.#cause = got.cause;
      return { ...event, failure: got.failure, detail: describe(got.cause) };
    }
    return {
      ...event,
      status: got.status,
      // Not followed (an opaque redirect), or followed by a custom fetch.
      redirected: got.response.type === 'opaqueredirect' || got.response.redirected === true,
      location: got.headers.get('location'),
      body: got.body.length > step.maxBytes ? null : new TextDecoder().decode(got.body),
    };
  }

  /**
   * Sends each message to the core until its answer is not `ignore`: every
   * `message` event (`source` says whether it is our popup) and every
   * message on the BroadcastChannel; `popup-closed` once the popup closed.
   */
  #awaitPopup(step, popup, signal) {
    if (step.navigate !== null) popup.location.href = step.navigate;
    return this.#wait(signal, (settle, listen) => {
      const consider = (source) => (message) => {
        const dataJson = jsonOf(message.data, step.maxMessageBytes);
        if (dataJson === undefined) return;
        const ended = settle(() => this.#call({ event: 'popup-message', resume: step.resume, messageOrigin: message.origin, source, dataJson }));
        if (ended && source === 'popup' && !popup.closed) popup.close(); // it waits for us to close it
      };
      listen(g, 'message', (message) => consider(message.source === popup ? 'popup' : 'window')(message));
      if (typeof BroadcastChannel === 'function') {
        const channel = new BroadcastChannel(step.channel);
        listen(channel, 'message', consider('channel'), () => channel.close());
      }
      const timer = setInterval(() => {
        if (popup.closed) settle(() => this.#call({ event: 'popup-closed', resume: step.resume }));
      }, POPUP_POLL_MS);
      return () => clearInterval(timer);
    });
  }

  /** `ask-host`: posts to the parent and sends its answers to the core, or `host-timeout`. */
  #askHost(step, signal) {
    return this.#wait(signal, (settle, listen) => {
      const timeout = () => settle(() => this.#call({ event: 'host-timeout', resume: step.resume }));
      listen(g, 'message', (message) => {
        const dataJson = jsonOf(message.data, step.maxMessageBytes);
        if (dataJson === undefined) return;
        settle(() => this.#call({ event: 'host-reply', resume: step.resume, messageOrigin: message.origin, fromParent: message.source === g.parent, dataJson }));
      });
      const timer = setTimeout(timeout, step.timeoutMs);
      try {
        g.parent.postMessage(step.message, step.targetOrigin);
      } catch {
        timeout();
      }
      return () => clearTimeout(timer);
    });
  }

  /**
   * After the page was handed over (it navigates, the host navigates the
   * top level, the popup closes): settles only if the caller aborts, e.g.
   * when the navigation never left the page.
   */
  #handedOver(signal) {
    return this.#wait(signal, () => () => {});
  }

  /**
   * A wait for events: `setup(settle, listen)` installs them; all are removed once settled or
   * aborted. `settle(next)` calls the core (`next()`) and settles with its step unless it is
   * `ignore` (answers true when it settled); a throw (the module trapped, the client was freed)
   * rejects the wait, so that it never hangs.
   */
  #wait(signal, setup) {
    return new Promise((resolve, reject) => {
      const undo = [];
      let done = false;
      const finish = (fn, value) => {
        if (done) return;
        done = true;
        for (const u of undo) u();
        fn(value);
      };
      const settle = (next) => {
        if (done) return false;
        let step;
        try {
          step = next();
        } catch (error) {
          finish(reject, error);
          return false;
        }
        if (step.step === 'ignore') return false;
        finish(resolve, step);
        return true;
      };
      const listen = (target, type, handler, close) => {
        target.addEventListener(type, handler);
        undo.push(() => { target.removeEventListener(type, handler); close?.(); });
      };
      const onAbort = () => finish(reject, abortedError(signal));
      if (signal) listen(signal, 'abort', onAbort);
      const cleanup = setup(settle, listen);
      // Settled during setup (a postMessage that threw): undo what setup made after that too.
      if (done) cleanup();
      else undo.push(cleanup);
      if (signal?.aborted) onAbort();
    });
  }

  /**
   * Creates and stores a new flow and resolves with the URL to navigate
   * to, without navigating.
   */
  authorizationUrl() {
    return this.#run({ event: 'authorization-url' });
  }

  /**
   * Two-phase login: on the callback page completes and resolves with the
   * session; with a live session resolves at once; otherwise navigates
   * (settles for `self`/`top` only on an abort, resolves when the popup's callback
   * arrives for `popup`). `login(redirectUrl?, { signal }?)`.
   */
  async login(redirectUrl, options) {
    // `async` turns a throw into a rejection; the body up to #run's first
    // await still runs inside the click (the popup opens there).
    let signal;
    [redirectUrl, signal] = callArgs('login', redirectUrl, options);
    if (redirectUrl !== undefined && typeof redirectUrl !== 'string') {
      throw invalid('login(redirectUrl) takes the redirect URL as a string');
    }
    return this.#run({ event: 'login', redirectUrl: redirectUrl ?? null }, signal);
  }

  /** True when `url` carries callback parameters (`code`, `state`, `error`, `loginToken`, or our nonce). */
  isCallback(url) {
    return this.#call({ event: 'is-callback', url: String(url) }).value;
  }

  /** Completes a login from its callback URL (default: `location.href`). `handleCallback(url?, { signal }?)`. */
  async handleCallback(url, options) {
    let signal;
    [url, signal] = callArgs('handleCallback', url, options);
    const href = g.location?.href;
    const target = url === undefined ? href : String(url);
    return this.#run({ event: 'callback', url: target ?? '', current: target === href }, signal);
  }

  /** The identity claims of the current session. `getUserIdentity({ signal }?)`. */
  async getUserIdentity(options) {
    return this.#run({ event: 'identity' }, callArgs('getUserIdentity', undefined, options)[1]);
  }

  /** Forgets the session and every pending flow of this tab. */
  logout() {
    this.#call({ event: 'logout' });
  }

  /** The current live session as a plain object, or `null`. */
  get session() {
    return this.#call({ event: 'session' }).value;
  }

  /**
   * Frees the wasm memory of this client; it cannot be used afterwards. Never throws (cleanup
   * code may call it twice, or after the module failed: then there is nothing left to free).
   */
  free() {
    const core = this.#core;
    this.#core = 0;
    if (core) {
      cores.unregister(this);
      try {
        wasm().call('client_free', core);
      } catch {
        // The module failed earlier (a trap latched in common.js): its memory is gone with it.
      }
    }
  }

  /**
   * For the popup's callback page: hands the callback URL to the opener
   * (`postMessage` with `targetOrigin` = `openerOrigin`, default this page's
   * origin) or, without an opener, on a `BroadcastChannel`; scrubs the
   * address bar and closes the popup. Returns false when this page is not a
   * callback.
   */
  static completePopup(openerOrigin) {
    initialised();
    if (openerOrigin !== undefined && typeof openerOrigin !== 'string') {
      throw invalid('completePopup(openerOrigin) takes an origin string');
    }
    const core = wasm().call('client_new');
    let step;
    try {
      step = coreStep(core, {
        event: 'complete-popup', openerOrigin: openerOrigin ?? null, href: g.location.href, origin: g.location.origin,
      });
    } finally {
      wasm().call('client_free', core);
    }
    if (step.step === 'fail') throw toError(step.error);
    if (step.step !== 'to-opener') return false;
    try { g.history.replaceState(g.history.state, '', step.scrub); } catch { /* nothing to undo */ }
    toOpener(step);
    return true;
  }

  /** True when this page runs in a frame. */
  static isFramed() {
    return isFramed();
  }

  /** True when `sessionStorage` works here (a probe write): false means use `navigation: 'popup'`. */
  static sessionStorageAvailable() {
    return sessionStore() !== null;
  }
}

// ---- the host page's side of navigation 'top' (no wasm, no init()) ----

const NAVIGATE = 'extension-sso:navigate';
const NAVIGATE_RESULT = 'extension-sso:navigate-result';

const isLoopback = (host) => host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

/**
 * The path segments of `url` as a server may read them: split at `/`, `\`
 * and their encodings `%2F`, `%5C`, with `%2E` decoded and `;…` path
 * parameters dropped (nginx decodes before resolving dots, Tomcat drops
 * `;…`), so `..%2F` and `..;` count as `..`.
 */
function rawSegments(url) {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i, '');
  const path = rest.split(/[?#]/, 1)[0];
  return path.split(/[/\\]|%2f|%5c/i).slice(1).map((s) => s.replace(/%2e/gi, '.').split(';', 1)[0]);
}

/**
 * The login URLs a bridge follows: absolute https (http on loopback), no
 * user information, no `.` or `..` path segment (written or encoded), and,
 * when `prefixes` are given, the same origin as one of them and its path
 * segments first (`https://auth.example/authorize` allows
 * `/authorize?…` and `/authorize/x`, never `/authorizeXYZ`); the origin
 * and path are compared parsed, never as strings.
 */
function loginUrlAllowed(url, prefixes) {
  let parsed;
  try { parsed = new URL(url); } catch { return false; }
  if (parsed.username || parsed.password) return false;
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) return false;
  const written = rawSegments(url);
  if (written.some((s) => s === '.' || s === '..')) return false;
  if (!prefixes) return true;
  const segments = parsed.pathname.split('/').slice(1);
  return prefixes.some((prefix) => {
    if (prefix.origin !== parsed.origin) return false;
    return prefix.segments.every((s, i) => segments[i] === s);
  });
}

/** `allowedUrlPrefixes` read once: each an absolute URL with a path and nothing else. */
function readPrefixes(list) {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw invalid('invalid installHostBridge options: allowedUrlPrefixes must be a list of strings');
  }
  return list.map((p) => {
    let parsed;
    try { parsed = new URL(p); } catch { parsed = null; }
    if (!parsed || parsed.username || parsed.password || parsed.search || parsed.hash ||
      !/^https?:$/.test(parsed.protocol) || rawSegments(p).some((s) => s === '.' || s === '..')) {
      throw invalid(`allowedUrlPrefixes must be absolute http(s) URLs without user:password@, query or fragment, e.g. https://auth.example/authorize (got ${JSON.stringify(p)})`);
    }
    // A trailing "/" allows anything below; compare whole segments only.
    const segments = parsed.pathname.split('/').slice(1);
    if (segments.at(-1) === '') segments.pop();
    return { origin: parsed.origin, segments };
  });
}

function isExactOrigin(value) {
  try { return typeof value === 'string' && new URL(value).origin === value; } catch { return false; }
}

/**
 * For the HOST page (the console that frames extensions): answers an
 * extension's `navigation: 'top'` request `{type:'extension-sso:navigate', url}`
 * by navigating the top-level page to `url`. Messages are accepted only from
 * `extensionOrigin` (and from `frame`'s window when given); the answer
 * `{type:'extension-sso:navigate-result', ok}` goes to `extensionOrigin` only.
 * Needs no wasm and no init(). Returns a function that uninstalls the bridge.
 */
export function installHostBridge(options = {}) {
  const { extensionOrigin, frame, allowedUrlPrefixes, navigate } = readOptions('installHostBridge', options, {
    extensionOrigin: stringKind, frame: objectKind, allowedUrlPrefixes: anyKind, navigate: functionKind,
  });
  if (!isExactOrigin(extensionOrigin)) {
    throw invalid('installHostBridge needs extensionOrigin, an exact origin such as https://ext.example.com (never "*")');
  }
  const prefixes = readPrefixes(allowedUrlPrefixes);
  const go = navigate ?? ((url) => g.location.assign(url));
  const onMessage = (event) => {
    if (event.origin !== extensionOrigin) return;
    if (frame && event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!isObject(data) || data.type !== NAVIGATE) return;
    const ok = typeof data.url === 'string' && Object.keys(data).length === 2 && loginUrlAllowed(data.url, prefixes);
    event.source?.postMessage({ type: NAVIGATE_RESULT, ok }, extensionOrigin);
    if (ok) go(data.url);
  };
  g.addEventListener('message', onMessage);
  return () => g.removeEventListener('message', onMessage);
}
