// The browser loaders' init(input) (pkg/*.browser.js), run under Node with Responses and bytes
// (boundary review F7): a failed init() is an ExtensionSsoError that says why (a non-ok Response
// is refused before compiling, naming its status), and it is not cached: a retry with a good
// input loads the module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const pkg = (path) => new URL(`../../pkg/${path}`, import.meta.url);
const wasmOf = (entry) => readFileSync(pkg(`wasm/${entry}/extension_sso_${entry}_bg.wasm`));
const badGateway = () => new Response('<h1>502 Bad Gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } });

/** Loads `entry`'s browser loader; checks the failed inits, then a good one; answers the module. */
async function initAfterFailures(entry, expectStatus = true) {
  const loaded = await import(pkg(`${entry}.browser.js`));
  const { default: init, ExtensionSsoError } = loaded;
  const refused = (pattern, causeName) => (e) => {
    assert.ok(e instanceof ExtensionSsoError, `${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, 'unsupported');
    assert.match(e.message, pattern);
    assert.match(e.message, new RegExp(`extension-sso/${entry}`));
    if (causeName) assert.equal(e.cause?.constructor.name, causeName);
    return true;
  };
  await assert.rejects(init(badGateway()), refused(expectStatus ? /HTTP 502/ : /502/));
  // Not a wasm module, served as one: the compile error is the cause.
  const garbage = new Response('<h1>hello</h1>', { status: 200, headers: { 'content-type': 'application/wasm' } });
  await assert.rejects(init(garbage), refused(/could not be loaded/));
  await assert.rejects(init(new Uint8Array([1, 2, 3])), refused(/could not be loaded/, 'CompileError'));
  await init(new Response(wasmOf(entry), { status: 200, headers: { 'content-type': 'application/wasm' } }));
  await init(badGateway()); // loaded: later calls answer the same (fulfilled) promise
  return loaded;
}

test('client.browser.js: a failed init() is an ExtensionSsoError and is not cached', async () => {
  const { ExtensionClient } = await initAfterFailures('client');
  new ExtensionClient({
    profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token',
    clientId: 'c', redirectUri: 'https://ext.example/cb',
  }).free();
});

test('verifier.browser.js: a failed init() is an ExtensionSsoError and is not cached', async () => {
  const { JwksVerifier } = await initAfterFailures('verifier');
  // The module answers: a JWK Set without keys is refused by the core (not "not initialised").
  assert.throws(() => JwksVerifier.fromJwks({ keys: [] }, { issuer: 'https://issuer.example', audience: 'a' }),
    (e) => e.code === 'jwks_invalid');
});

test('server.browser.js: a failed init() is an ExtensionSsoError and is not cached', async () => {
  const { crateVersion } = await initAfterFailures('server', false);
  assert.match(crateVersion(), /^\d+\.\d+\.\d+/);
});
