// The client's message waits under Node, with a fake window (popup and 'top' modes): what any
// window can post while a login waits for its popup or its host (boundary review F1, F2, F4).
// The last test traps the client's wasm on purpose: the module is dead for the rest of this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// A minimal window: message events, sessionStorage, a popup that records where it was sent, a parent, framed.
const events = new EventTarget();
globalThis.addEventListener = events.addEventListener.bind(events);
globalThis.removeEventListener = events.removeEventListener.bind(events);
globalThis.location = { href: 'https://ext.example/app', origin: 'https://ext.example', assign() {} };
let popup;
globalThis.open = (url) => {
  popup = { closed: false, close() { this.closed = true; }, location: { href: url } };
  return popup;
};
const parent = { sent: [], postMessage(message, origin) { this.sent.push({ message, origin }); } };
globalThis.parent = parent;
globalThis.top = parent; // framed: 'top' asks the parent
const stored = new Map(); // sessionStorage ('top' keeps its flow there)
globalThis.sessionStorage = {
  get length() { return stored.size; },
  key: (i) => [...stored.keys()][i] ?? null,
  getItem: (k) => stored.get(k) ?? null,
  setItem: (k, v) => { stored.set(k, String(v)); },
  removeItem: (k) => { stored.delete(k); },
};

const { ExtensionClient } = await import('extension-sso/client');
const { runtimeSlot } = await import('../../pkg/lib/common.js');

/** Dispatches a `message` event as a browser would deliver it. */
function post(data, origin, source) {
  const event = new Event('message');
  Object.assign(event, { data, origin, source });
  events.dispatchEvent(event);
}
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
/** `promise`'s outcome so far: 'pending', or { value } / { error }. */
function watch(promise) {
  const seen = { outcome: 'pending' };
  promise.then((value) => { seen.outcome = { value }; }, (error) => { seen.outcome = { error }; });
  return seen;
}

const EXT = 'https://ext.example';
const popupOptions = () => ({
  profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token',
  clientId: 'ext', redirectUri: `${EXT}/callback`, navigation: 'popup',
  fetch: async () => new Response(JSON.stringify({ access_token: 'at-1', token_type: 'Bearer' }),
    { status: 200, headers: { 'content-type': 'application/json' } }),
});
const topOptions = () => ({
  profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token',
  clientId: 'ext', redirectUri: `${EXT}/callback`, navigation: 'top', hostOrigin: 'https://console.example',
});

/** A popup login waiting for its callback: answers the client, the login's outcome and its callback message. */
async function popupLogin() {
  const client = new ExtensionClient(popupOptions());
  const login = watch(client.login());
  await tick();
  const state = new URL(popup.location.href).searchParams.get('state');
  assert.ok(state, 'the popup was sent to the authorization endpoint');
  return { client, login, callback: { type: 'extension-sso:callback', url: `${EXT}/callback?code=c&state=${state}` } };
}

const cyclic = { type: 'extension-sso:callback' };
cyclic.self = cyclic;
// Data that structured clone delivers but the core's JSON reader refuses (RFC 7493: no lone
// surrogates; nesting over 32), or that JSON.stringify cannot write (BigInt, a cycle).
const HOSTILE = [
  ['a lone surrogate', { type: 'extension-sso:callback', url: '\uD800' }],
  ['nesting 40', JSON.parse('['.repeat(40) + ']'.repeat(40))],
  ['a BigInt', { type: 'extension-sso:callback', n: 1n }],
  ['a cycle', cyclic],
];

test('popup mode: data the core cannot read, from any window, is ignored and the popup still completes the login', async () => {
  const { client, login, callback } = await popupLogin();
  for (const [label, data] of HOSTILE) {
    for (const [origin, source] of [['https://evil.example', null], [EXT, popup]]) {
      post(data, origin, source);
      await tick();
      assert.equal(login.outcome, 'pending', `${label} from ${origin} ended the login: ${login.outcome.error?.message}`);
    }
  }
  post(callback, EXT, popup);
  await tick(20);
  assert.equal(login.outcome.value?.accessToken, 'at-1', String(login.outcome.error?.message));
  assert.equal(popup.closed, true);
  client.free();
});

test("'top' mode: data the core cannot read, even from the parent, is ignored; the host's answer still counts", async () => {
  const client = new ExtensionClient(topOptions());
  const login = watch(client.login());
  await tick();
  assert.equal(parent.sent.at(-1).message.type, 'extension-sso:navigate');
  for (const [label, data] of HOSTILE) {
    post(data, 'https://console.example', parent);
    await tick();
    assert.equal(login.outcome, 'pending', `${label} ended the login: ${login.outcome.error?.message}`);
  }
  post({ type: 'extension-sso:navigate-result', ok: false }, 'https://console.example', parent);
  await tick();
  assert.equal(login.outcome.error?.code, 'navigation_unavailable');
  assert.match(login.outcome.error.message, /refused/);
  client.free();
});

test('a message over the core\'s maxMessageBytes is ignored before it crosses: the wasm memory does not grow', async () => {
  const { client, login, callback } = await popupLogin();
  const memory = runtimeSlot('client').get().wasm.exports.memory;
  const before = memory.buffer.byteLength;
  const big = 'x'.repeat(4 << 20);
  for (const [origin, source] of [['https://evil.example', null], [EXT, popup]]) {
    post({ type: 'extension-sso:callback', url: `${callback.url}&pad=${big}` }, origin, source);
    post([big, big], origin, source);
    await tick();
    assert.equal(login.outcome, 'pending', `a large message from ${origin} ended the login: ${login.outcome.error?.message}`);
  }
  assert.equal(memory.buffer.byteLength, before, 'no large message crossed into the wasm memory');
  post(callback, EXT, popup);
  await tick(20);
  assert.equal(login.outcome.value?.accessToken, 'at-1', String(login.outcome.error?.message));
  client.free();
});

test('writing a posted message is bounded by maxMessageBytes, whatever its shape (a huge sparse array, a typed array)', async () => {
  const { client, login, callback } = await popupLogin();
  // A sparse array of 1e6 holes is free to post; reading it whole is not. A proxy counts the reads.
  let reads = 0;
  const sparse = new Proxy(new Array(1e6), { get(target, key) { reads += 1; return target[key]; } });
  post(sparse, 'https://evil.example', null);
  assert.ok(reads < 40_000, `JSON read ${reads} elements of a message whose text could not fit 32 KiB`);
  post(new Uint8Array(1 << 16), 'https://evil.example', null);
  await tick();
  assert.equal(login.outcome, 'pending', String(login.outcome.error?.message));
  // The genuine callback, with a long URL near the limit, still crosses.
  post({ ...callback, url: `${callback.url}&pad=${'x'.repeat(15_000)}` }, EXT, popup);
  await tick(20);
  assert.equal(login.outcome.value?.accessToken, 'at-1', String(login.outcome.error?.message));
  client.free();
});

test("'top' mode: a parent postMessage that throws ends the login and leaves no timer behind", async () => {
  const timers = new Map();
  const { setTimeout: realSet, clearTimeout: realClear, parent: realParent } = globalThis;
  // Timers still to fire: set and neither fired nor cleared.
  globalThis.setTimeout = (fn, ms, ...rest) => {
    const id = realSet((...args) => { timers.delete(id); fn(...args); }, ms, ...rest);
    timers.set(id, ms);
    return id;
  };
  globalThis.clearTimeout = (id) => { timers.delete(id); realClear(id); };
  globalThis.parent = globalThis.top = { postMessage() { throw new DOMException('blocked', 'DataCloneError'); } };
  try {
    const client = new ExtensionClient(topOptions());
    const login = watch(client.login());
    await tick();
    assert.notEqual(login.outcome, 'pending', 'the login ended');
    assert.deepEqual([...timers.values()], [], 'no timer is left (the host timeout was cleared)');
    client.free();
  } finally {
    for (const id of timers.keys()) realClear(id);
    Object.assign(globalThis, { setTimeout: realSet, clearTimeout: realClear, parent: realParent, top: realParent });
  }
});

// Last: traps the module on purpose.
test('a trap while a login waits rejects it with unsupported (message, popup closed, host reply) instead of hanging', async () => {
  const waiting = await popupLogin();
  const closing = await popupLogin();
  const closingPopup = popup;
  const host = new ExtensionClient(topOptions());
  const hostLogin = watch(host.login());
  await tick();
  // A request no allocator class can hold: the module traps (src/small_alloc.rs) and latches it.
  const { wasm } = runtimeSlot('client').get();
  assert.throws(() => wasm.call('alloc_bytes', 2 ** 31 - 1), (e) => e.code === 'unsupported');

  // The user closes a popup: the poll's popup-closed call throws, and rejects that login (it
  // threw uncaught every 500 ms before, and the login never settled).
  closingPopup.closed = true;
  await tick(600);
  assert.equal(closing.login.outcome.error?.code, 'unsupported', 'the popup poll rejects the login');
  assert.equal(waiting.login.outcome, 'pending');
  // Any message: each waiting login rejects (it was swallowed as "not plain data" before).
  post({ hello: 'any message' }, 'https://evil.example', null);
  await tick();
  assert.equal(waiting.login.outcome.error?.code, 'unsupported', 'the popup login rejects at the next message');
  assert.equal(waiting.login.outcome.error.cause?.constructor.name, 'RuntimeError');
  assert.equal(hostLogin.outcome.error?.code, 'unsupported', "the 'top' login rejects at the next message");
  // Cleanup code after the failure: free() never throws, twice included.
  for (const client of [waiting.client, closing.client, host, waiting.client]) assert.doesNotThrow(() => client.free());
});
