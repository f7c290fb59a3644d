// The JS layer every entry shares (pkg/lib/common.js): the error class, the
// options reader and one request under a timeout and an AbortSignal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as root from 'extension-sso';
import * as verifier from 'extension-sso/verifier';
import * as client from 'extension-sso/client';
import * as server from 'extension-sso/server';
import * as common from '../../pkg/lib/common.js';
import { KIND, fetchBody, readOptions, ssoError, wasmAsync, wasmSync } from '../../pkg/lib/common.js';

test('ExtensionSsoError is one class, exported by every entry', () => {
  for (const m of [verifier, client, server]) assert.equal(m.ExtensionSsoError, root.ExtensionSsoError);
  const e = new root.ExtensionSsoError('expired', 'token expired 5 s ago', { status: 401, cause: 'x' });
  assert.ok(e instanceof Error);
  assert.ok(e instanceof root.ExtensionSsoError);
  assert.equal(e.name, 'ExtensionSsoError');
  assert.equal(e.code, 'expired');
  assert.equal(e.retryable, false);
  assert.equal(e.status, 401);
  assert.equal(e.cause, 'x');
  assert.deepEqual(Object.keys(e), ['code', 'retryable', 'status']);
  assert.match(e.stack, /^ExtensionSsoError: token expired 5 s ago/);
  assert.equal(ssoError('network_error', 'down', { retryable: true }).retryable, true);
});

test('errors made by each wasm core and by each JS layer are instances', async () => {
  const { ExtensionSsoError } = root;
  // The verifier's wasm core (malformed token) and JS layer (options).
  const v = new verifier.JwksVerifier({ jwksUri: 'https://i.example/jwks', issuer: 'https://i.example', audience: 'a' });
  assert.throws(() => verifier.JwksVerifier.fromJwks({ keys: [] }, { issuer: 'https://i.example', audience: 'a' }),
    (e) => e instanceof ExtensionSsoError && e.code === 'jwks_invalid');
  await assert.rejects(v.verify('not-a-token'), (e) => e instanceof ExtensionSsoError && e.code === 'malformed');
  assert.throws(() => new verifier.JwksVerifier({ issuer: 'i' }), (e) => e instanceof ExtensionSsoError);
  // The server's wasm core.
  await assert.rejects(server.exchangeCode({ profile: 'nope' }), (e) => e instanceof ExtensionSsoError && e.code === 'invalid_options');
  // The client's wasm core.
  assert.throws(() => new client.ExtensionClient({ profile: 'nope' }), (e) => e instanceof ExtensionSsoError);
  // A plain Error with the same name and code is not one of ours.
  const impostor = Object.assign(new Error('x'), { name: 'ExtensionSsoError', code: 'expired', retryable: false });
  assert.ok(!(impostor instanceof ExtensionSsoError));
  assert.ok(!({} instanceof ExtensionSsoError));
  assert.ok(!(null instanceof ExtensionSsoError));
});

test('a separately loaded copy of the class recognises the errors of this one', async () => {
  // A second module instance of common.js stands for a second bundle.
  const other = await import(`../../pkg/lib/common.js?copy=${Date.now()}`);
  assert.notEqual(other.ExtensionSsoError, root.ExtensionSsoError);
  const mine = new root.ExtensionSsoError('aborted', 'm');
  assert.ok(mine instanceof other.ExtensionSsoError);
  assert.ok(new other.ExtensionSsoError('aborted', 'm') instanceof root.ExtensionSsoError);
});

test('readOptions refuses unknown keys whatever their value, and wrong types', () => {
  const schema = { timeoutMs: KIND.uint, fetch: KIND.function, navigation: KIND.oneOf('self', 'top', 'popup'),
    audience: KIND.orNull(KIND.list), signal: KIND.signal };
  assert.deepEqual(readOptions('thing', { timeoutMs: 5, navigation: 'top', audience: null, fetch: undefined }, schema),
    { timeoutMs: 5, navigation: 'top', audience: null });
  const invalid = (message) => (e) => e instanceof root.ExtensionSsoError && e.code === 'invalid_options' && e.message === message;
  assert.throws(() => readOptions('exchangeCode', { fecth: () => {} }, schema),
    invalid('unknown option "fecth" for exchangeCode; the options are: timeoutMs, fetch, navigation, audience, signal'));
  assert.throws(() => readOptions('thing', { timeoutMs: -1 }, schema), invalid('invalid thing options: timeoutMs must be a whole non-negative number'));
  assert.throws(() => readOptions('thing', { timeoutMs: 1.5 }, schema), invalid('invalid thing options: timeoutMs must be a whole non-negative number'));
  assert.throws(() => readOptions('thing', { navigation: 'tab' }, schema), invalid("invalid thing options: navigation must be 'self', 'top' or 'popup'"));
  assert.throws(() => readOptions('thing', { audience: [1] }, schema), invalid('invalid thing options: audience must be a string or a list of strings or null'));
  assert.throws(() => readOptions('thing', { signal: {} }, schema), invalid('invalid thing options: signal must be an AbortSignal'));
  assert.throws(() => readOptions('thing', null, schema), invalid('thing options must be an object'));
  assert.throws(() => readOptions('thing', [], schema), invalid('thing options must be an object'));
  // Inherited names are not options.
  assert.throws(() => readOptions('thing', { toString: 1 }, schema), /unknown option "toString"/);
  assert.deepEqual(readOptions('thing', { signal: new AbortController().signal }, schema).signal.aborted, false);
});

/** A local server whose handler decides per request; resolves its base URL. */
async function serve(handler) {
  const srv = createServer(handler);
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => { srv.closeAllConnections(); srv.close(); } };
}

test('fetchBody: a body, a cap, no redirects followed', async (t) => {
  const srv = await serve((req, res) => {
    if (req.url === '/redirect') { res.writeHead(307, { location: '/body' }); res.end(); return; }
    res.end(req.url === '/big' ? 'x'.repeat(100) : 'hello');
  });
  t.after(srv.close);
  const ok = await fetchBody(`${srv.url}/body`, {}, { timeoutMs: 5000, maxBytes: 10 });
  assert.equal(ok.status, 200);
  assert.equal(new TextDecoder().decode(ok.body), 'hello');
  const big = await fetchBody(`${srv.url}/big`, {}, { timeoutMs: 5000, maxBytes: 10 });
  assert.deepEqual(big.body, new Uint8Array(11));
  const redirected = await fetchBody(`${srv.url}/redirect`, {}, { timeoutMs: 5000, maxBytes: 10 });
  assert.equal(redirected.status, 307);
});

test('fetchBody: a timeout and a network failure are failures, not throws', async (t) => {
  const srv = await serve(() => { /* never answers */ });
  t.after(srv.close);
  const slow = await fetchBody(`${srv.url}/`, {}, { timeoutMs: 50, maxBytes: 10 });
  assert.equal(slow.failure, 'timeout');
  const refused = await fetchBody('http://127.0.0.1:1/', {}, { timeoutMs: 5000, maxBytes: 10 });
  assert.equal(refused.failure, 'network');
  assert.ok(refused.cause instanceof Error);
});

test('fetchBody: the caller\'s signal rejects with aborted, before and during the request', async (t) => {
  const srv = await serve(() => { /* never answers */ });
  t.after(srv.close);
  const before = new AbortController();
  before.abort(new Error('gone'));
  const calls = [];
  const counting = (...args) => { calls.push(args); return globalThis.fetch(...args); };
  await assert.rejects(fetchBody(`${srv.url}/`, {}, { fetch: counting, timeoutMs: 5000, maxBytes: 10, signal: before.signal }),
    (e) => e instanceof root.ExtensionSsoError && e.code === 'aborted' && !e.retryable && e.cause.message === 'gone');
  assert.equal(calls.length, 0, 'an aborted signal sends nothing');
  const during = new AbortController();
  const pending = fetchBody(`${srv.url}/`, {}, { fetch: counting, timeoutMs: 5000, maxBytes: 10, signal: during.signal });
  setTimeout(() => during.abort('stop'), 20);
  await assert.rejects(pending, (e) => e.code === 'aborted' && e.cause === 'stop');
  assert.equal(calls.length, 1);
  assert.equal(calls[0][1].redirect, 'manual');
});

test('fetchBody: a custom fetch that ignores its signal still times out', async () => {
  const deaf = () => new Promise(() => {});
  const result = await fetchBody('https://never.example/', {}, { fetch: deaf, timeoutMs: 30, maxBytes: 10 });
  assert.equal(result.failure, 'timeout');
  const controller = new AbortController();
  const pending = fetchBody('https://never.example/', {}, { fetch: deaf, timeoutMs: 5000, maxBytes: 10, signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (e) => e.code === 'aborted');
});

// ---- wasmSync / wasmAsync: the calling side of src/wasm/abi.rs ----

// A module that keeps src/wasm/abi.rs's rules by hand: `alloc_bytes` bumps,
// `free_bytes` counts what it frees, `echo` answers the text it was given,
// `add` answers a number, `boom` traps.
const ABI_WAT = `(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (global $freed (mut i32) (i32.const 0))
  (func (export "alloc_bytes") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "free_bytes") (param $p i32) (param $n i32)
    (global.set $freed (i32.add (global.get $freed) (local.get $n))))
  (func (export "freed") (result i32) (global.get $freed))
  (func (export "echo") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "boom") unreachable))`;

async function abiModuleBytes() {
  const binaryen = (await import('binaryen')).default;
  const module = binaryen.parseText(ABI_WAT);
  const bytes = module.emitBinary();
  module.dispose();
  return bytes;
}

test('wasmSync: text in and out through the module memory, numbers as they are, answers freed', async () => {
  const bytes = await abiModuleBytes();
  for (const source of [bytes, new WebAssembly.Module(bytes)]) {
    const wasm = wasmSync('test', source);
    assert.equal(wasm.call('echo', 'héllo ✓ {"a":1}'), 'héllo ✓ {"a":1}');
    assert.equal(wasm.call('echo', ''), '');
    assert.equal(wasm.call('add', 2, 40), 42);
    assert.equal(wasm.call('freed'), new TextEncoder().encode('héllo ✓ {"a":1}').length);
  }
});

test('wasmSync: a trap ends the instance with unsupported, for that call and every later one', async () => {
  const wasm = wasmSync('test', await abiModuleBytes());
  const trapped = (e) => {
    assert.ok(e instanceof root.ExtensionSsoError);
    assert.equal(e.code, 'unsupported');
    assert.equal(e.retryable, false);
    assert.match(e.message, /extension-sso\/test WebAssembly module failed .* cannot be used again/);
    assert.ok(e.cause instanceof WebAssembly.RuntimeError, String(e.cause));
    return true;
  };
  assert.throws(() => wasm.call('boom'), trapped);
  assert.throws(() => wasm.call('add', 1, 1), trapped);
  assert.throws(() => wasm.call('echo', 'x'), trapped);
});

test('wasmAsync: from bytes, a Module, a Response (streamed when application/wasm) and a URL', async () => {
  const bytes = await abiModuleBytes();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': req.url === '/typed' ? 'application/wasm' : 'application/octet-stream' });
    res.end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const sources = [
      bytes, new WebAssembly.Module(bytes), Promise.resolve(new Response(bytes, { headers: { 'content-type': 'application/wasm' } })),
      new Response(bytes), `${base}/typed`, new URL(`${base}/untyped`), new Request(`${base}/typed`),
    ];
    for (const source of sources) {
      const wasm = await wasmAsync('test', source);
      assert.equal(wasm.call('echo', 'ok ✓'), 'ok ✓');
    }
  } finally {
    server.close();
  }
});

test('each kind of KIND is also its own export (what an entry bundles is what it names)', () => {
  const named = {
    string: 'stringKind', list: 'listKind', uint: 'uintKind', number: 'numberKind', bool: 'boolKind', object: 'objectKind',
    document: 'documentKind', function: 'functionKind', signal: 'signalKind', any: 'anyKind', oneOf: 'oneOf', orNull: 'orNull', custom: 'kind',
  };
  assert.deepEqual(Object.keys(KIND).sort(), Object.keys(named).sort());
  for (const [member, name] of Object.entries(named)) assert.equal(KIND[member], common[name], member);
});
