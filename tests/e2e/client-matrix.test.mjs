// End to end, seed 003 (Matrix SSO client login): the browser ExtensionClient ('matrix' profile,
// pkg/ browser entry) and extension-sso/server's matrixTokenLogin against a REAL Synapse
// (tests/support/synapse.mjs, installed by scripts/setup-synapse) whose SSO is a real OpenID
// Provider (npm oidc-provider), driven by Playwright in Chromium:
//   client.login() → GET /_matrix/client/v3/login (flows checked) → /login/sso/redirect/oidc-test
//   ?redirectUrl=<callback?ext_sso_nonce=…> → provider login + consent → Synapse's OIDC callback →
//   <callback>?ext_sso_nonce=…&loginToken=… → nonce checked and consumed → POST /login
//   {type: 'm.login.token'} (or the handoff to the extension backend, which calls matrixTokenLogin)
//   → session with userId and deviceId on screen.
//
//   scripts/setup-synapse && scripts/build client server \
//     && node --test --test-concurrency=1 tests/e2e/client-matrix.test.mjs
//
// Everything listens on 127.0.0.1 (extension site, provider, Synapse: three ports, one site).
// Skipped, with the reason, when .venv-synapse/ is missing (failed instead when CI is set).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { matrixTokenLogin } from 'extension-sso/server';
import { startOidcProvider } from '../support/oidc.mjs';
import { launchProfile, launchIncognito } from '../support/browser.mjs';
import { startSynapse, synapseInstalled, freePort, synapseOidcCallbackUrl } from '../support/synapse.mjs';
import { createServer } from 'node:http';
import { startExtensionSite, loopbackOnly, signInAndConsent, resultOf, listen, closeServer } from '../support/extension-site.mjs';

const SYNAPSE_CLIENT = 'synapse';
const SYNAPSE_SECRET = 'synapse-client-secret-0123456789';
const NONCE = 'ext_sso_nonce';

// Under CI a missing Synapse fails (startSynapse says to run scripts/setup-synapse) rather than skips.
const skip = synapseInstalled() || process.env.CI ? false : 'Synapse is not installed: run scripts/setup-synapse';

describe('Matrix SSO (seed 003) against a real Synapse (Chromium)', { skip }, () => {
  let site;
  let op;
  let hs;

  before(async () => {
    site = await startExtensionSite({
      pages: ['/index.html', '/callback.html'],
      api: {
        // The extension backend of the handoff variant: the body is what the homeserver's /login
        // takes ({type: 'm.login.token', token}); it logs in with extension-sso/server.
        '/api/matrix-token': async (body) => {
          if (body.type !== 'm.login.token' || typeof body.token !== 'string') return { status: 400, json: { error: 'invalid_request' } };
          const m = await matrixTokenLogin({ homeserverUrl: hs.url, loginToken: body.token, initialDeviceDisplayName: 'extension backend' });
          return { status: 200, json: { access_token: m.accessToken, user_id: m.userId, device_id: m.deviceId } };
        },
      },
    });
    const port = await freePort();
    op = await startOidcProvider({
      clients: [{ client_id: SYNAPSE_CLIENT, client_secret: SYNAPSE_SECRET, redirect_uris: [synapseOidcCallbackUrl(port)] }],
    });
    hs = await startSynapse({ port, oidcIssuer: op.issuer, clientId: SYNAPSE_CLIENT, clientSecret: SYNAPSE_SECRET, pageOrigin: site.origin });
  });

  after(async () => {
    await hs?.close();
    await op?.close();
    await site?.close();
  });

  const options = (extra = {}) => ({
    profile: 'matrix',
    homeserverUrl: hs.url,
    idpId: hs.idpId,
    redirectUri: `${site.origin}/callback.html?keep=1`,
    ...extra,
  });

  /** Records the browser's requests to the homeserver. */
  function watchHomeserver(context) {
    const seen = [];
    context.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin === hs.url) seen.push({ method: r.method(), path: u.pathname, body: r.postData() });
    });
    return {
      seen,
      logins: () => seen.filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/login'),
    };
  }

  async function whoami(accessToken) {
    const r = await fetch(`${hs.url}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: r.status, body: await r.json() };
  }

  test('GET /login advertises m.login.sso (with the OIDC provider) and m.login.token', async () => {
    const r = await fetch(`${hs.url}/_matrix/client/v3/login`);
    assert.equal(r.status, 200);
    const { flows } = await r.json();
    const types = flows.map((f) => f.type);
    assert.ok(types.includes('m.login.sso'), JSON.stringify(flows));
    assert.ok(types.includes('m.login.token'), JSON.stringify(flows));
    const sso = flows.find((f) => f.type === 'm.login.sso');
    assert.deepEqual(sso.identity_providers.map((p) => p.id), [hs.idpId]);
    // The seed's r0 path is still served.
    const r0 = await fetch(`${hs.url}/_matrix/client/r0/login`);
    assert.equal(r0.status, 200);
  });

  test('login (self navigation): Synapse SSO → provider → loginToken → nonce checked → m.login.token → userId, deviceId; replay refused', async () => {
    site.options = options();
    site.apiCalls.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const watch = watchHomeserver(browser.context);
      const page = await browser.context.newPage();
      const callbacks = [];
      page.on('request', (r) => { if (r.isNavigationRequest() && r.url().startsWith(`${site.origin}/callback.html`)) callbacks.push(r.url()); });
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      await page.click('#login');
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      // The client checked the flows first, then went to the SSO redirect with its nonce.
      assert.equal(watch.seen[0].method, 'GET');
      assert.equal(watch.seen[0].path, '/_matrix/client/v3/login');
      const redirect = watch.seen.find((r) => r.path.startsWith('/_matrix/client/v3/login/sso/redirect'));
      assert.equal(redirect.path, `/_matrix/client/v3/login/sso/redirect/${hs.idpId}`);
      await signInAndConsent(page);
      const result = await resultOf(page);
      assert.equal(result.ok, true, JSON.stringify(result));
      const s = result.session;
      assert.equal(s.userId, `@alice:${hs.serverName}`);
      assert.match(s.deviceId, /^[A-Z0-9]{6,}$/);
      assert.ok(s.accessToken);
      assert.equal(await page.textContent('#user'), '@alice:localhost');
      assert.equal(await page.textContent('#device'), s.deviceId);
      assert.equal(await page.textContent('#status'), 'ok');

      // The callback carried the nonce and the loginToken; one token login, made by the browser.
      assert.equal(callbacks.length, 1);
      const cb = new URL(callbacks[0]);
      assert.ok(cb.searchParams.get(NONCE));
      assert.ok(cb.searchParams.get('loginToken'));
      assert.equal(cb.searchParams.get('keep'), '1');
      assert.equal(watch.logins().length, 1);
      assert.deepEqual(Object.keys(JSON.parse(watch.logins()[0].body)).sort(), ['token', 'type']);
      assert.equal(site.apiCalls.length, 0);
      // The address bar lost the nonce and the loginToken, kept the unrelated parameter.
      assert.equal(page.url(), `${site.origin}/callback.html?keep=1`);

      // The access token is a real Synapse session of that user and device.
      const me = await whoami(s.accessToken);
      assert.equal(me.status, 200);
      assert.equal(me.body.user_id, '@alice:localhost');
      assert.equal(me.body.device_id, s.deviceId);

      // Replaying the callback URL in the same tab: the nonce is spent, no second token login.
      await page.goto(callbacks[0]);
      const replay = await resultOf(page);
      assert.equal(replay.ok, false);
      assert.equal(replay.code, 'state_reused', JSON.stringify(replay));
      assert.equal(page.url(), `${site.origin}/callback.html?keep=1`, 'scrubbed on failure too');
      assert.equal(watch.logins().length, 1);
    } finally {
      await browser.close();
    }
  });

  test('forged and missing nonce are rejected with no login request; the real loginToken then works with matrixTokenLogin', async () => {
    site.options = options();
    site.apiCalls.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const watch = watchHomeserver(browser.context);
      const page = await browser.context.newPage();
      // Hold the genuine return from Synapse: the callback page loads without completing.
      site.handleCallbacks = false;
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      await page.click('#login');
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      await signInAndConsent(page);
      await page.waitForURL((u) => u.pathname === '/callback.html' && u.searchParams.has('loginToken'));
      const genuine = page.url();
      site.handleCallbacks = true;
      assert.ok(genuine);
      const url = new URL(genuine);
      const loginToken = url.searchParams.get('loginToken');
      assert.ok(loginToken && url.searchParams.get(NONCE));

      // Forged nonce (the attacker's own loginToken would come with it): unknown flow.
      const forged = new URL(genuine);
      forged.searchParams.set(NONCE, 'A'.repeat(43));
      await page.goto(forged.href);
      const r1 = await resultOf(page);
      assert.equal(r1.code, 'state_unknown', JSON.stringify(r1));
      assert.doesNotMatch(r1.message, new RegExp(loginToken));
      assert.equal(page.url(), `${site.origin}/callback.html?keep=1`);

      // No nonce at all (a login-CSRF link straight from a homeserver): refused before any use.
      const missing = new URL(genuine);
      missing.searchParams.delete(NONCE);
      await page.goto(missing.href);
      const r2 = await resultOf(page);
      assert.equal(r2.code, 'invalid_callback', JSON.stringify(r2));
      assert.match(r2.message, /nonce/);
      assert.equal(page.url(), `${site.origin}/callback.html?keep=1`);

      assert.equal(watch.logins().length, 0, 'the browser made no token login');
      assert.equal(site.apiCalls.length, 0);

      // The genuine token was never used: the backend helper logs in with it (once).
      const m = await matrixTokenLogin({ homeserverUrl: hs.url, loginToken });
      assert.equal(m.userId, '@alice:localhost');
      assert.ok(m.accessToken && m.deviceId);
      assert.equal((await whoami(m.accessToken)).body.device_id, m.deviceId);
      // Synapse's login tokens are single-use.
      await assert.rejects(matrixTokenLogin({ homeserverUrl: hs.url, loginToken }), (e) => {
        assert.equal(e.code, 'token_endpoint_error');
        assert.equal(e.status, 403);
        return true;
      });
    } finally {
      site.handleCallbacks = true;
      await browser.close();
    }
  });

  test('handoff: the client posts the loginToken to the extension backend, which logs in with matrixTokenLogin', async () => {
    // No idpId: Synapse's only provider is picked by /login/sso/redirect itself.
    site.options = options({ tokenHandoffUrl: '/api/matrix-token' });
    delete site.options.idpId;
    site.apiCalls.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const watch = watchHomeserver(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      await page.click('#login');
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      assert.ok(watch.seen.some((r) => r.path === '/_matrix/client/v3/login/sso/redirect'));
      await signInAndConsent(page, 'bob');
      const result = await resultOf(page);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.session.userId, '@bob:localhost');
      assert.equal(await page.textContent('#user'), '@bob:localhost');
      assert.equal(await page.textContent('#device'), result.session.deviceId);

      assert.equal(site.apiCalls.length, 1);
      assert.deepEqual(Object.keys(site.apiCalls[0].body).sort(), ['token', 'type']);
      assert.equal(site.apiCalls[0].body.type, 'm.login.token');
      assert.equal(watch.logins().length, 0, 'the token login was made by the backend, not the browser');
      const me = await whoami(result.session.accessToken);
      assert.equal(me.body.user_id, '@bob:localhost');
      assert.equal(me.body.device_id, result.session.deviceId);
      assert.equal(page.url(), `${site.origin}/callback.html?keep=1`);
    } finally {
      await browser.close();
    }
  });

  test("cross-site iframe with blocked storage: navigation 'popup' completes the Matrix login in the iframe's memory", async () => {
    site.options = options({ navigation: 'popup' });
    site.apiCalls.length = 0;
    // The host page on http://localhost:<port>: the extension (127.0.0.1) is cross-site in it.
    const hostServer = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>host</title><iframe id="ext" src="${site.origin}/index.html" width="600" height="300"></iframe>`);
    });
    const hostPort = await listen(hostServer);
    const browser = await launchIncognito();
    try {
      await loopbackOnly(browser.context);
      const watch = watchHomeserver(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`http://localhost:${hostPort}/`);
      const frame = () => page.frames().find((f) => f.url().startsWith(site.origin));
      await page.waitForFunction(() => document.getElementById('ext').contentWindow !== null);
      await frame().waitForFunction(() => window.__ready === true);
      assert.equal(await frame().evaluate(() => window.__client.constructor.sessionStorageAvailable()), false);
      const [popup] = await Promise.all([
        browser.context.waitForEvent('page'),
        page.frameLocator('#ext').locator('#login').click(),
      ]);
      await popup.waitForURL((u) => u.href.startsWith(op.issuer));
      await signInAndConsent(popup);
      const result = await resultOf(frame());
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.session.userId, '@alice:localhost');
      assert.equal(await frame().textContent('#device'), result.session.deviceId);
      assert.equal(watch.logins().length, 1, 'one token login, from the iframe');
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10_000 });
      assert.equal(frame().url(), `${site.origin}/index.html`, 'the iframe never navigated');
      assert.equal((await whoami(result.session.accessToken)).body.device_id, result.session.deviceId);
    } finally {
      await browser.close();
      await closeServer(hostServer);
    }
  });
});
