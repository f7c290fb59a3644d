// installHostBridge (extension-sso/client) on a host page that frames a
// cross-site extension: which navigate requests it follows and answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchProfile } from '../support/browser.mjs';
import { startStaticServer } from '../support/static-server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let host;
let extension;
let browser;
let page;

before(async () => {
  // The extension page only relays what the test asks it to post to its parent.
  extension = await startStaticServer(ROOT, ['pkg'], {
    // A real ExtensionClient in 'top' mode (for the tests of what it makes of the bridge's answers).
    '/client.html': `<!doctype html><script type="module">
      import init, { ExtensionClient } from '/pkg/client.browser.js';
      await init();
      window.login = (options) => {
        const controller = new AbortController();
        window.abortLogin = (reason) => controller.abort(new Error(reason));
        window.result = undefined;
        new ExtensionClient(options).login({ signal: controller.signal }).then(
          (session) => { window.result = { ok: true, session }; },
          (e) => { window.result = { ok: false, code: e.code, message: e.message, cause: e.cause?.message }; });
      };
      window.ready = true;
    </script>`,
    '/frame.html': `<!doctype html><script>
      window.send = (data) => new Promise((done) => {
        addEventListener('message', (e) => done({ origin: e.origin, data: e.data }), { once: true });
        parent.postMessage(data, '*');
        setTimeout(() => done(null), 1500);
      });
    </script>`,
  });
  host = await startStaticServer(ROOT, ['pkg'], {
    '/host.html': `<!doctype html><script type="module">
      import { installHostBridge, ExtensionSsoError } from '/pkg/client.browser.js';
      window.navigated = [];
      const frame = document.createElement('iframe');
      frame.src = '${extension.origin}/frame.html';
      frame.onload = () => { window.frameReady = true; };
      document.body.append(frame);
      window.uninstall = installHostBridge({
        extensionOrigin: '${extension.origin}', frame,
        allowedUrlPrefixes: ['https://console.example/tenants/'],
        navigate: (url) => window.navigated.push(url),
      });
      try { installHostBridge({ extensionOrigin: '*' }); } catch (e) { window.starRejected = e.code; window.starIsSso = e instanceof ExtensionSsoError; }
    </script>`,
    // The configuration of the issue #15 review, in a frame of its own.
    '/host2.html': `<!doctype html><script type="module">
      import { installHostBridge } from '/pkg/client.browser.js';
      window.navigated = [];
      const frame = document.createElement('iframe');
      frame.src = '${extension.origin}/frame.html';
      frame.onload = () => { window.frameReady = true; };
      document.body.append(frame);
      installHostBridge({
        extensionOrigin: '${extension.origin}', frame,
        allowedUrlPrefixes: ['https://console.example', 'https://auth.example/authorize'],
        navigate: (url) => window.navigated.push(url),
      });
      window.refused = ['https://x.example/a?b', 'https://u:p@x.example/a', 'https://x.example/a/../b', 'javascript:x', 'https://x.example/#f', 'https://x.example/a/..%2Fb']
        .map((p) => { try { installHostBridge({ extensionOrigin: '${extension.origin}', allowedUrlPrefixes: [p] }); return null; } catch (e) { return e.code; } });
    </script>`,
    // The host of the extension's 'top' logins: on 127.0.0.1 like the extension (same site, another
    // origin), so the frame keeps its sessionStorage under Chromium's default third-party blocking.
    '/host3.html': `<!doctype html><script type="module">
      import { installHostBridge } from '/pkg/client.browser.js';
      window.navigated = [];
      const frame = document.createElement('iframe');
      frame.src = '${extension.origin}/client.html';
      document.body.append(frame);
      installHostBridge({
        extensionOrigin: '${extension.origin}', frame,
        allowedUrlPrefixes: ['https://console.example/tenants/'],
        navigate: (url) => window.navigated.push(url),
      });
    </script>`,
  });
  browser = await launchProfile();
  page = await browser.context.newPage();
  // The host on "localhost", the extension on "127.0.0.1": different sites.
  await page.goto(host.origin.replace('127.0.0.1', 'localhost') + '/host.html');
  await page.waitForFunction(() => window.frameReady === true);
});

after(async () => {
  await browser?.close();
  await host?.close();
  await extension?.close();
});

const send = (data) => page.frames()[1].evaluate((d) => window.send(d), data);
const navigated = () => page.evaluate(() => window.navigated);

test('a wildcard extensionOrigin is refused with invalid_options (an ExtensionSsoError)', async () => {
  assert.equal(await page.evaluate(() => window.starRejected), 'invalid_options');
  assert.equal(await page.evaluate(() => window.starIsSso), true);
});

test('an allowed login URL is followed and acknowledged to the extension origin only', async () => {
  const url = 'https://console.example/tenants/t/extension/e/authz?state=abc';
  const reply = await send({ type: 'extension-sso:navigate', url });
  assert.deepEqual(reply.data, { type: 'extension-sso:navigate-result', ok: true });
  assert.deepEqual(await navigated(), [url]);
});

test('URLs outside the allowed prefixes, non-https URLs and extra members are refused', async () => {
  for (const message of [
    { type: 'extension-sso:navigate', url: 'https://evil.example/tenants/x' },
    { type: 'extension-sso:navigate', url: 'javascript:alert(1)' },
    { type: 'extension-sso:navigate', url: 'https://console.example/tenants/t', extra: 1 },
  ]) {
    const reply = await send(message);
    assert.deepEqual(reply.data, { type: 'extension-sso:navigate-result', ok: false }, JSON.stringify(message));
  }
  assert.equal((await navigated()).length, 1, 'nothing more was followed');
});

test('look-alike URLs are refused: origin and path compared parsed, segment by segment; no userinfo, no dot segments', async () => {
  const second = await browser.context.newPage();
  try {
    await second.goto(host.origin.replace('127.0.0.1', 'localhost') + '/host2.html');
    await second.waitForFunction(() => window.frameReady === true);
    assert.deepEqual(await second.evaluate(() => window.refused), Array(6).fill('invalid_options'),
      'prefixes with a query, user:password@, a dot segment, another scheme or a fragment are refused at install');
    const sendFrom = (data) => second.frames()[1].evaluate((d) => window.send(d), data);
    const lookAlikes = [
      'https://console.example.evil.com/phish',
      'https://console.example@evil.com/phish',
      'https://console.example:8443@evil.com/',
      'https://auth.example/authorize/../../logout',
      'https://auth.example/authorize/%2e%2e/%2E%2E/logout',
      'https://auth.example/authorize/./x',
      // Dot segments behind an encoded separator or a path parameter: servers that decode %2F / %5C
      // or drop ';…' before resolving dots (nginx, Tomcat) would serve /logout.
      'https://auth.example/authorize/..%2f..%2flogout',
      'https://auth.example/authorize/%2e%2e%5C%2E%2E%5Clogout',
      'https://auth.example/authorize/..;/..;/logout',
      'https://auth.example/authorize/.;x/y',
      'https://auth.example/authorizeXYZ.evil',
      'https://auth.example/other',
      'http://console.example/tenants/t',
    ];
    for (const url of lookAlikes) {
      const reply = await sendFrom({ type: 'extension-sso:navigate', url });
      assert.deepEqual(reply.data, { type: 'extension-sso:navigate-result', ok: false }, url);
    }
    assert.deepEqual(await second.evaluate(() => window.navigated), [], 'none was followed');
    const allowed = [
      'https://console.example/tenants/t/extension/e/authz?state=abc',
      'https://console.example',
      'https://auth.example/authorize?response_type=code&state=s',
      'https://auth.example/authorize/v2?x=1',
    ];
    for (const url of allowed) {
      const reply = await sendFrom({ type: 'extension-sso:navigate', url });
      assert.deepEqual(reply.data, { type: 'extension-sso:navigate-result', ok: true }, url);
    }
    assert.deepEqual(await second.evaluate(() => window.navigated), allowed);
  } finally {
    await second.close();
  }
});

test('other message types get no answer, and an uninstalled bridge is silent', async () => {
  assert.equal(await send({ type: 'something-else', url: 'https://console.example/tenants/t' }), null);
  await page.evaluate(() => window.uninstall());
  assert.equal(await send({ type: 'extension-sso:navigate', url: 'https://console.example/tenants/t/x' }), null);
  assert.equal((await navigated()).length, 1);
});

/** A page on host3.html whose frame runs the real client; `options(endpoint)` for its 'top' logins. */
async function topHost() {
  const top = await browser.context.newPage();
  await top.goto(`${host.origin}/host3.html`);
  const frame = () => top.frames().find((f) => f.url().startsWith(extension.origin));
  await top.waitForFunction(() => document.querySelector('iframe')?.contentWindow);
  await frame().waitForFunction(() => window.ready === true);
  const options = (authorizationEndpoint) => ({
    profile: 'oauth2', authorizationEndpoint, clientId: 'c', redirectUri: `${extension.origin}/client.html`,
    tokenHandoffUrl: '/api/token', navigation: 'top', hostOrigin: host.origin,
  });
  const result = async () => {
    await frame().waitForFunction(() => window.result !== undefined);
    return frame().evaluate(() => window.result);
  };
  return { top, frame, options, result };
}

test("the client in 'top' mode hears the bridge's refusal: navigation_unavailable that says refused", async () => {
  const { top, frame, options, result } = await topHost();
  try {
    // Outside allowedUrlPrefixes: the bridge answers ok: false.
    await frame().evaluate((o) => window.login(o), options('https://auth.example/authorize'));
    const refused = await result();
    assert.equal(refused.code, 'navigation_unavailable', JSON.stringify(refused));
    assert.match(refused.message, /refused/);
  } finally {
    await top.close();
  }
});

test("the client in 'top' mode, once the bridge accepted, still settles on its caller's abort", async () => {
  const { top, frame, options, result } = await topHost();
  try {
    // Allowed: the bridge accepts (its navigate only records here, so the frame stays).
    await frame().evaluate((o) => window.login(o), options('https://console.example/tenants/t/extension/e/authz'));
    await top.waitForFunction(() => window.navigated.length === 1);
    await frame().evaluate(() => window.abortLogin('user left'));
    const aborted = await result();
    assert.equal(aborted.code, 'aborted', JSON.stringify(aborted));
    assert.equal(aborted.cause, 'user left');
  } finally {
    await top.close();
  }
});
