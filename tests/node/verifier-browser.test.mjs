// The shared vector suite in real browsers (WebCrypto backend, the browser
// loader with `await init()`): headless Chromium through playwright-core and
// headless Firefox through geckodriver. Pages come from a static server on
// 127.0.0.1 serving pkg/ and tests/vectors/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from '../support/static-server.mjs';
import { launchProfile } from '../support/browser.mjs';
import { launchFirefox } from '../support/firefox.mjs';
import { makeVectors } from '../vectors/make.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = await makeVectors();

// The page loads the package's browser loader, awaits init() and runs the
// suite; the result lands on window.__vectors.
const PAGE = `<!doctype html><meta charset="utf-8"><title>verifier vectors</title>
<script type="module">
  window.__run = async (vectors) => {
    const { default: init, JwksVerifier } = await import('/pkg/verifier.browser.js');
    await init();
    const { runVectors } = await import('/tests/vectors/run.mjs');
    return { ua: navigator.userAgent, hasWindow: typeof window === 'object' && typeof document === 'object',
      results: await runVectors(JwksVerifier, vectors) };
  };
  // A custom fetch that answers from memory, counting and tagging requests;
  // an abort during that fetch; every rejection an ExtensionSsoError.
  window.__customFetch = async ({ jwks, token, options }) => {
    const { default: init, JwksVerifier, ExtensionSsoError } = await import('/pkg/verifier.browser.js');
    await init();
    const seen = [];
    const fetch = async (input, init) => {
      const headers = new Headers(init.headers);
      seen.push({ url: String(input), tag: headers.get('x-tag'), accept: headers.get('accept'), redirect: init.redirect });
      await new Promise((r) => setTimeout(r, 100));
      init.signal?.throwIfAborted();
      return new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/jwk-set+json' } });
    };
    const make = () => new JwksVerifier({ ...options, jwksUri: 'https://keys.example/jwks', fetch, headers: { 'x-tag': 'chromium' } });
    const v = make();
    const claims = await v.verify(token);
    await v.verify(token);
    const controller = new AbortController();
    const pending = make().verify(token, { signal: controller.signal });
    controller.abort(new Error('user left'));
    const aborted = await pending.then(() => null, (e) => ({ code: e.code, cause: e.cause?.message, instance: e instanceof ExtensionSsoError }));
    return { iss: claims.iss, seen, aborted };
  };
  window.__ready = true;
</script>`;

let server;
before(async () => { server = await startStaticServer(ROOT, ['pkg', 'tests/vectors'], { '/vectors.html': PAGE }); });
after(async () => { await server?.close(); });

function defineVectorTests(browser, run, uaPattern) {
  let pending;
  const outcome = () => (pending ??= run());
  test(`${browser}: the suite ran in a real browser page`, async () => {
    const { ua, hasWindow, results } = await outcome();
    assert.match(ua, uaPattern);
    assert.equal(hasWindow, true);
    assert.equal(results.length, vectors.cases.length);
  });
  for (const [i, c] of vectors.cases.entries()) {
    test(`${browser} vector: ${c.name}`, async () => {
      const { results } = await outcome();
      assert.equal(results[i].name, c.name);
      assert.equal(results[i].got, c.expect);
    });
  }
}

let chromium;
after(async () => { await chromium?.close(); });
defineVectorTests('chromium', async () => {
  chromium = await launchProfile();
  const page = await chromium.context.newPage();
  await page.goto(`${server.origin}/vectors.html`);
  await page.waitForFunction(() => window.__ready === true);
  return page.evaluate((v) => window.__run(v), vectors);
}, /Chrome\//);

let firefox;
after(async () => { await firefox?.close(); });
defineVectorTests('firefox', async () => {
  firefox = await launchFirefox();
  await firefox.navigate(`${server.origin}/vectors.html`);
  return firefox.executeAsync(`
    const [vectors, done] = arguments;
    const wait = () => window.__ready ? window.__run(vectors) : new Promise((r) => setTimeout(r, 20)).then(wait);
    wait().then(done, (e) => done({ ua: navigator.userAgent, error: String(e && e.stack || e), results: [] }));
  `, [vectors]);
}, /Firefox\//);

test('chromium: a custom fetch makes the JWK Set request (counted and tagged); an abort rejects aborted', async () => {
  chromium ??= await launchProfile();
  const page = await chromium.context.newPage();
  await page.goto(`${server.origin}/vectors.html`);
  await page.waitForFunction(() => window.__ready === true);
  const ok = vectors.cases.find((c) => c.expect === 'ok' && c.name.includes('signed by jose'));
  const out = await page.evaluate((arg) => window.__customFetch(arg), { jwks: vectors.jwks, token: ok.token, options: { ...ok.options, now: vectors.now } });
  assert.equal(out.iss, ok.options.issuer);
  assert.deepEqual(out.seen.slice(0, 1), [{ url: 'https://keys.example/jwks', tag: 'chromium', accept: 'application/jwk-set+json, application/json', redirect: 'manual' }]);
  assert.equal(out.seen.length, 2, 'one for the first verifier (cached for its second verify), one for the aborted one');
  assert.deepEqual(out.aborted, { code: 'aborted', cause: 'user left', instance: true });
  await page.close();
});
