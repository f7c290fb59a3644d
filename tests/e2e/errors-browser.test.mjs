// ExtensionSsoError in a browser page that loads two entries bundled
// separately (client.browser.js and verifier.browser.js each carry their
// own copy of the class): `instanceof` holds across them, for errors made
// by either entry's wasm core and by either JS layer (issue #18).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchIncognito } from '../support/browser.mjs';
import { startStaticServer } from '../support/static-server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let site;
let browser;

before(async () => {
  site = await startStaticServer(ROOT, ['pkg'], {
    '/errors.html': `<!doctype html><script type="module">
      import initClient, * as client from '/pkg/client.browser.js';
      import initVerifier, * as verifier from '/pkg/verifier.browser.js';
      await Promise.all([initClient(), initVerifier()]);
      const caught = (fn) => { try { fn(); return null; } catch (e) { return e; } };
      const errors = {
        // The verifier's wasm core: a token that is not a JWS.
        verifierCore: await new verifier.JwksVerifier({ jwksUri: 'https://i.example/jwks', issuer: 'https://i.example', audience: 'a' })
          .verify('not-a-token').catch((e) => e),
        // The verifier's JS layer: an unknown option.
        verifierJs: caught(() => new verifier.JwksVerifier({ isuer: 'x' })),
        // The client's core and JS layer: a bad profile, an unknown option.
        clientCore: caught(() => new client.ExtensionClient({ profile: 'nope' })),
        clientJs: caught(() => new client.ExtensionClient({ profile: 'oauth2', fecth: () => {} })),
      };
      window.result = {
        distinctClasses: client.ExtensionSsoError !== verifier.ExtensionSsoError,
        errors: Object.fromEntries(Object.entries(errors).map(([where, e]) => [where, {
          code: e?.code,
          name: e?.name,
          ofClient: e instanceof client.ExtensionSsoError,
          ofVerifier: e instanceof verifier.ExtensionSsoError,
          isError: e instanceof Error,
        }])),
        impostor: Object.assign(new Error('x'), { name: 'ExtensionSsoError', code: 'expired' }) instanceof client.ExtensionSsoError,
        constructed: new client.ExtensionSsoError('aborted', 'm') instanceof verifier.ExtensionSsoError,
      };
    </script>`,
  });
  browser = await launchIncognito();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

test('errors of two separately bundled entries are instances of both copies of ExtensionSsoError', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/errors.html`);
  const result = await page.waitForFunction(() => window.result).then((h) => h.jsonValue());
  assert.equal(result.distinctClasses, true, 'each browser bundle has its own class');
  assert.deepEqual(Object.keys(result.errors), ['verifierCore', 'verifierJs', 'clientCore', 'clientJs']);
  for (const [where, e] of Object.entries(result.errors)) {
    assert.equal(e.name, 'ExtensionSsoError', where);
    assert.ok(typeof e.code === 'string' && e.code.length > 0, where);
    assert.deepEqual({ ofClient: e.ofClient, ofVerifier: e.ofVerifier, isError: e.isError },
      { ofClient: true, ofVerifier: true, isError: true }, where);
  }
  assert.equal(result.errors.verifierCore.code, 'malformed');
  assert.equal(result.errors.verifierJs.code, 'invalid_options');
  assert.equal(result.errors.clientJs.code, 'invalid_options');
  assert.equal(result.impostor, false, 'a look-alike Error is not one of ours');
  assert.equal(result.constructed, true);
  await page.close();
});
