// The built package (pkg/) under Node: entries, error codes, no manual init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as root from 'extension-sso';
import * as verifier from 'extension-sso/verifier';
import * as client from 'extension-sso/client';
import * as server from 'extension-sso/server';

test('every entry loads without manual init and reports the same codes', () => {
  const codes = root.errorCodes();
  for (const m of [verifier, client, server]) assert.deepEqual(m.errorCodes(), codes);
  assert.equal(new Set(codes).size, codes.length);
});

test('the TypeScript ErrorCode union lists exactly the runtime codes', () => {
  const dts = readFileSync(new URL('../../pkg/errors.d.ts', import.meta.url), 'utf8');
  const union = [...dts.matchAll(/^\s*\| '([a-z_]+)'/gm)].map((m) => m[1]);
  assert.deepEqual(union, root.errorCodes());
});

test('the package version is the crate version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.version, root.crateVersion());
});

test('the minified JS keeps class and function names (readable stack traces)', () => {
  const v = new verifier.JwksVerifier({ issuer: 'i', audience: 'a', jwksUri: 'https://console.example/jwks' });
  assert.equal(v.constructor.name, 'JwksVerifier');
  assert.equal(client.ExtensionClient.name, 'ExtensionClient');
  try {
    new verifier.JwksVerifier({ issuer: 'i' });
    assert.fail('audience is required');
  } catch (e) {
    assert.match(e.stack, /new JwksVerifier \(/);
  }
});

// The entries with wasm-bindgen glue; the client and the verifier have none (`bindgen = false` in wasm-pack.toml).
const GLUED = ['server'];

test('source maps name repository paths (never this machine\'s) and carry the source text', () => {
  const pkg = new URL('../../pkg/', import.meta.url);
  const maps = ['common', 'runtime-node', 'runtime-web', 'signing-node', 'signing-web', 'client', 'verifier', 'server'].map((n) => `lib/${n}.js.map`)
    .concat(GLUED.map((e) => `wasm/${e}/extension_sso_${e}.js.map`));
  const repoPath = /^(pkg-template\/lib|target\/wasm-pack\/[a-z]+)\/[a-z_-]+\.js$/;
  for (const file of maps) {
    const map = JSON.parse(readFileSync(new URL(file, pkg), 'utf8'));
    assert.equal(map.sources.length, 1, file);
    assert.match(map.sources[0], repoPath, file);
    assert.ok(map.sourcesContent?.[0]?.length > 100, `${file} carries its source`);
    const js = readFileSync(new URL(file.replace(/\.map$/, ''), pkg), 'utf8');
    assert.ok(js.endsWith(`//# sourceMappingURL=${file.split('/').pop()}`), `${file}: the JS points at its map`);
  }
  // A browser entry is one bundle: its map names the loader, the JS layer and the glue (if any).
  for (const entry of ['client', 'verifier', 'server']) {
    const file = `${entry}.browser.js.map`;
    const map = JSON.parse(readFileSync(new URL(file, pkg), 'utf8'));
    assert.deepEqual([...map.sources].sort(), [
      'pkg-template/lib/common.js', `pkg-template/lib/${entry}.js`,
      `pkg-template/loaders/${entry}.browser.js`,
      ...(GLUED.includes(entry) ? [`target/wasm-pack/${entry}/extension_sso_${entry}.js`] : []),
      // The client's JS layer does its own I/O: no runtime adapter in its bundle.
      ...(entry === 'client' ? [] : ['pkg-template/lib/runtime-web.js']),
      // The server signs service-client tokens with WebCrypto.
      ...(entry === 'server' ? ['pkg-template/lib/signing-web.js'] : []),
    ].sort(), file);
    map.sourcesContent.forEach((text, i) => assert.ok(text.length > 100, `${file}: ${map.sources[i]} carries its source`));
    const js = readFileSync(new URL(`${entry}.browser.js`, pkg), 'utf8');
    assert.doesNotMatch(js, /from\s*["']\.\/lib\//, `${entry}.browser.js imports nothing of lib/`);
    assert.ok(js.endsWith(`//# sourceMappingURL=${file}`), `${file}: the JS points at its map`);
  }
});
