// The client entry's glue-free wasm boundary under Node (src/wasm/abi.rs,
// src/wasm/client.rs): what crosses it, and a freed client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as client from 'extension-sso/client';
import { runtimeSlot } from '../../pkg/lib/common.js';

const OPTIONS = {
  profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token',
  clientId: 'ext', redirectUri: 'https://ext.example/callback',
};

test('the client wasm imports nothing and exports its boundary only', () => {
  const module = new WebAssembly.Module(readFileSync(new URL('../../pkg/wasm/client/extension_sso_client_bg.wasm', import.meta.url)));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name).sort();
  assert.deepEqual(functions, ['alloc_bytes', 'client_free', 'client_new', 'client_step', 'crate_version', 'error_code_list', 'free_bytes']);
});

test('crateVersion and errorCodes come from the wasm', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url), 'utf8'));
  assert.equal(client.crateVersion(), pkg.version);
  const codes = client.errorCodes();
  assert.ok(codes.includes('invalid_options') && codes.includes('unsupported') && codes.includes('aborted'), codes.join(' '));
});

test('a freed client refuses every call with invalid_options; free() twice is harmless', async () => {
  const c = new client.ExtensionClient(OPTIONS);
  assert.equal(c.session, null);
  c.free();
  c.free();
  assert.throws(() => c.session, (e) => e instanceof client.ExtensionSsoError && e.code === 'invalid_options' && /freed/.test(e.message));
  await assert.rejects(c.getUserIdentity(), (e) => e.code === 'invalid_options' && /freed/.test(e.message));
  // Other clients share the module and are unaffected.
  const other = new client.ExtensionClient(OPTIONS);
  assert.equal(other.session, null);
  other.free();
});

test('a client nobody holds is freed by the garbage collector (FinalizationRegistry); free() first is not freed twice', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const memory = runtimeSlot('client').get().wasm.exports.memory;
  const collect = async () => {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10000; i++) new client.ExtensionClient(OPTIONS); // dropped, never freed
    await collect();
    rounds.push(memory.buffer.byteLength);
  }
  // Without the registry each round kept its 10,000 cores (about 9 MiB a round); with it the
  // later rounds reuse the memory the first one grew.
  assert.ok(rounds[2] <= rounds[0], `wasm memory after each round: ${rounds.join(', ')}`);
  // Freed by free() and then collected: the registry no longer holds it. A second client_free
  // would put its block twice on the allocator's free list, and two new clients would then share
  // one core: each would make the other's authorization URLs.
  for (let i = 0; i < 1000; i++) new client.ExtensionClient(OPTIONS).free();
  await collect();
  const clients = Array.from({ length: 50 }, (_, i) => new client.ExtensionClient({ ...OPTIONS, clientId: `c${i}`, navigation: 'popup' }));
  for (const [i, c] of clients.entries()) {
    assert.equal(new URL(await c.authorizationUrl()).searchParams.get('client_id'), `c${i}`);
    c.free();
  }
});
