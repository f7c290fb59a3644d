// The client entry's glue-free wasm boundary under Node (src/wasm/abi.rs,
// src/wasm/client.rs): what crosses it, and a freed client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as client from 'extension-sso/client';

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
