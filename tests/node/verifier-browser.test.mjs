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
