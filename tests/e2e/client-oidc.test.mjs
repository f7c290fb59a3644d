// End to end: the browser ExtensionClient (pkg/, browser entry) against a real OpenID Provider
// (npm oidc-provider, tests/support/oidc.mjs) in Chromium, with a tiny extension backend that
// records every handoff request and exchanges the code (client_secret_basic + PKCE verifier).
//
//   scripts/build client && node --test --test-concurrency=1 tests/e2e/
//
// Servers listen on 127.0.0.1 only. The host page of the iframe test is served as
// http://localhost:<port> (also loopback) so that the extension (127.0.0.1) is cross-site there.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { join, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';
import { launchProfile, launchIncognito } from '../support/browser.mjs';
import { loopbackOnly, signInAndConsent, loginAtProvider } from '../support/extension-site.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT_ID = 'ext-client';
const CLIENT_SECRET = 'ext-client-secret-0123456789';
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function closeServer(server) {
  return new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** The extension: static pages loading extension-sso/client from pkg/, and its backend. */
async function startExtension() {
  const pkgDir = await realpath(join(ROOT, 'pkg'));
  const ext = {
    options: null, // set per test
    op: null,
    handoffs: [], // every POST /api/token body, parsed
    exchanges: [], // provider token endpoint answers (status)
  };
  const page = () => `<!doctype html><meta charset="utf-8"><title>extension</title>
<script type="importmap">{"imports":{"extension-sso/client":"/pkg/client.browser.js"}}</script>
<script>window.__CFG = ${JSON.stringify({ options: ext.options }).replace(/</g, '\\u003c')}; window.__result = null;</script>
<button id="login">Log in</button> <output id="status">idle</output> <output id="token"></output>
<script type="module">
import init, { ExtensionClient } from 'extension-sso/client';
await init();
const client = new ExtensionClient(window.__CFG.options);
window.__client = client;
const status = document.getElementById('status');
const report = (p) => p.then(
  (s) => { window.__result = { ok: true, session: s }; status.textContent = 'ok'; document.getElementById('token').textContent = s.accessToken; },
  (e) => { window.__result = { ok: false, code: e.code, name: e.name, message: e.message, isError: e instanceof Error }; status.textContent = 'error:' + e.code; });
// No await before login(): popup mode opens its window inside the click.
document.getElementById('login').onclick = () => report(client.login());
if (client.isCallback(location.href)) report(client.handleCallback(location.href));
window.__ready = true;
</script>`;

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (req.method === 'GET' && (url.pathname === '/index.html' || url.pathname === '/callback.html')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page());
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith('/pkg/')) {
        const file = join(pkgDir, decodeURIComponent(url.pathname.slice(5)));
        const real = await realpath(file).catch(() => null);
        if (!real || !(real.startsWith(pkgDir + sep) || real.startsWith(join(ROOT, 'target') + sep))) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': TYPES[extname(real)] ?? 'application/octet-stream' }).end(await readFile(real));
        return;
      }
      if (req.method === 'POST' && url.pathname === '/api/token') {
        // The extension backend: records the handoff, checks iss, exchanges the code.
        const body = JSON.parse(await readBody(req));
        ext.handoffs.push(body);
        if (body.iss !== undefined && body.iss !== ext.op.issuer) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request' }));
          return;
        }
        const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
        const form = { grant_type: 'authorization_code', code: body.code, redirect_uri: body.redirect_uri };
        if (body.code_verifier) form.code_verifier = body.code_verifier;
        const answer = await fetch(ext.op.tokenEndpoint, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form),
        });
        const tokens = await answer.json();
        ext.exchanges.push(answer.status);
        if (!answer.ok) {
          res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: tokens.error }));
          return;
        }
        // The refresh token stays on the backend.
        // (oidc-provider answers scope "" here: the granted scopes went to the resource server.)
        const { access_token, token_type, expires_in, id_token, scope } = tokens;
        const session = Object.fromEntries(Object.entries({ access_token, token_type, expires_in, id_token, scope })
          .filter(([, v]) => v !== undefined && v !== ''));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(session));
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      res.writeHead(500).end(String(err?.message ?? err));
    }
  });
  const port = await listen(server);
  ext.origin = `http://127.0.0.1:${port}`;
  ext.redirectUri = `${ext.origin}/callback.html?keep=1`;
  ext.close = () => closeServer(server);
  return ext;
}

/** A host page on http://localhost:<port> that frames the extension. */
async function startHost(extUrl) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><title>host</title><iframe id="ext" src="${extUrl}" width="600" height="300"></iframe>`);
  });
  const port = await listen(server);
  return { url: `http://localhost:${port}/`, close: () => closeServer(server) };
}

function oauth2Options(ext, op, extra = {}) {
  return {
    profile: 'oauth2',
    authorizationEndpoint: op.authorizationEndpoint,
    clientId: CLIENT_ID,
    redirectUri: ext.redirectUri,
    scope: 'openid email',
    issuer: op.issuer,
    tokenHandoffUrl: '/api/token',
    ...extra,
  };
}


async function resultOf(frameOrPage) {
  await frameOrPage.waitForFunction(() => window.__result !== null, null, { timeout: 20_000 });
  return frameOrPage.evaluate(() => window.__result);
}

describe('ExtensionClient against oidc-provider (Chromium)', () => {
  let ext;
  let op;

  before(async () => {
    ext = await startExtension();
    op = await startOidcProvider({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [ext.redirectUri] }],
    });
    ext.op = op;
  });

  after(async () => {
    await ext?.close();
    await op?.close();
  });

  test('login, consent, callback, handoff, access token; then a replayed callback is state_reused', async () => {
    ext.options = oauth2Options(ext, op);
    ext.handoffs.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      const callbacks = [];
      page.on('request', (r) => { if (r.isNavigationRequest() && r.url().startsWith(`${ext.origin}/callback.html`)) callbacks.push(r.url()); });
      const result = await loginAtProvider(page, `${ext.origin}/index.html`, op.issuer);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.match(result.session.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT access token from the provider');
      assert.equal(result.session.tokenType, 'Bearer');
      assert.ok(result.session.expiresAt > Date.now() / 1000);
      assert.match(result.session.idToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal(await page.textContent('#token'), result.session.accessToken);

      // Exactly one handoff, with the PKCE verifier, the redirect URI and RFC 9207 iss.
      assert.equal(ext.handoffs.length, 1);
      const [h] = ext.handoffs;
      // (scope 'openid email': an OpenID Connect request, so the flow's nonce goes to the backend too)
      assert.deepEqual(Object.keys(h).sort(), ['code', 'code_verifier', 'iss', 'nonce', 'redirect_uri', 'state']);
      assert.equal(h.code_verifier.length, 43);
      assert.equal(h.nonce.length, 43);
      const idClaims = JSON.parse(Buffer.from(result.session.idToken.split('.')[1], 'base64url'));
      assert.equal(idClaims.nonce, h.nonce, 'the provider put the request nonce in the ID Token');
      assert.equal(h.redirect_uri, ext.redirectUri);
      assert.equal(h.iss, op.issuer);
      assert.deepEqual(ext.exchanges.slice(-1), [200]);

      // The address bar lost code/state/iss but kept the unrelated parameter.
      assert.equal(page.url(), ext.redirectUri);
      assert.equal(callbacks.length, 1);
      assert.match(callbacks[0], /[?&]code=/);

      const identity = await page.evaluate(() => window.__client.getUserIdentity());
      assert.equal(identity.claims.sub, 'alice');
      assert.equal(identity.verified, false);
      assert.equal(identity.source, 'id_token');
      const live = await page.evaluate(() => window.__client.session?.accessToken);
      assert.equal(live, result.session.accessToken);

      // Replay of the real callback URL in the same tab: refused, no second handoff.
      await page.goto(callbacks[0]);
      const replay = await resultOf(page);
      assert.equal(replay.ok, false);
      assert.equal(replay.code, 'state_reused');
      assert.equal(replay.name, 'ExtensionSsoError');
      assert.equal(replay.isError, true);
      assert.equal(page.url(), ext.redirectUri, 'scrubbed on failure too');
      assert.equal(ext.handoffs.length, 1);
    } finally {
      await browser.close();
    }
  });

  test('forged state is state_unknown, with no handoff', async () => {
    ext.options = oauth2Options(ext, op);
    ext.handoffs.length = 0;
    const browser = await launchProfile();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${ext.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      // A real pending flow exists, but the callback carries another state.
      await page.evaluate(() => window.__client.authorizationUrl());
      await page.goto(`${ext.redirectUri}&code=attacker-code&state=forged-${'x'.repeat(43)}&iss=${encodeURIComponent(op.issuer)}`);
      const result = await resultOf(page);
      assert.equal(result.code, 'state_unknown');
      assert.doesNotMatch(result.message, /attacker-code|forged-/);
      assert.equal(page.url(), ext.redirectUri);
      assert.equal(ext.handoffs.length, 0);
    } finally {
      await browser.close();
    }
  });

  test('expired state (stateTtlSec 30, record aged 31 s) is state_expired, with no handoff', async () => {
    ext.options = oauth2Options(ext, op, { stateTtlSec: 30 });
    ext.handoffs.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`${ext.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      const authUrl = await page.evaluate(async () => {
        const url = await window.__client.authorizationUrl();
        const state = new URL(url).searchParams.get('state');
        const key = `extension-sso:flow:${state}`;
        const record = JSON.parse(sessionStorage.getItem(key));
        record.created_at -= 31;
        sessionStorage.setItem(key, JSON.stringify(record));
        return url;
      });
      await page.goto(authUrl);
      await signInAndConsent(page);
      const result = await resultOf(page);
      assert.equal(result.code, 'state_expired', JSON.stringify(result));
      assert.equal(page.url(), ext.redirectUri);
      assert.equal(ext.handoffs.length, 0);
    } finally {
      await browser.close();
    }
  });

  test('iss mix-up (callback iss is another server) is iss_mismatch, with no handoff; the flow is spent', async () => {
    ext.options = oauth2Options(ext, op);
    ext.handoffs.length = 0;
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`${ext.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      // The flow starts in the browser; the provider's login and consent are driven by fetch with
      // exactly the request the client built (its state and PKCE challenge), giving a real code.
      const authUrl = new URL(await page.evaluate(() => window.__client.authorizationUrl()));
      const p = authUrl.searchParams;
      const answer = await obtainAuthorizationCode({
        issuer: op.issuer,
        clientId: p.get('client_id'),
        redirectUri: p.get('redirect_uri'),
        scope: p.get('scope'),
        state: p.get('state'),
        codeChallenge: p.get('code_challenge'),
      });
      assert.ok(answer.code && answer.iss === op.issuer);
      const genuine = answer.url;
      // Mix-up: the same code and state, with the iss of another (attacker's) server.
      const mixed = new URL(genuine);
      mixed.searchParams.set('iss', 'http://127.0.0.1:9/attacker-as');
      await page.goto(mixed.href);
      const result = await resultOf(page);
      assert.equal(result.code, 'iss_mismatch', JSON.stringify(result));
      assert.ok(genuine, 'the provider redirected to the callback');
      assert.equal(ext.handoffs.length, 0);
      // The genuine callback afterwards: the state was consumed by the rejected one.
      await page.goto(genuine);
      const again = await resultOf(page);
      assert.equal(again.code, 'state_reused');
      assert.equal(ext.handoffs.length, 0);
    } finally {
      await browser.close();
    }
  });

  test('cross-site iframe with blocked storage: self fails early, popup completes', async () => {
    ext.handoffs.length = 0;
    const host = await startHost(`${ext.origin}/index.html`);
    const browser = await launchIncognito();
    try {
      await loopbackOnly(browser.context);
      const providerRequests = [];
      browser.context.on('request', (r) => { if (r.url().startsWith(op.issuer)) providerRequests.push(r.url()); });

      // navigation 'self': refused before any navigation.
      ext.options = oauth2Options(ext, op);
      const page = await browser.context.newPage();
      await page.goto(host.url);
      const frame = () => page.frames().find((f) => f.url().startsWith(ext.origin));
      await page.waitForFunction(() => document.getElementById('ext').contentWindow !== null);
      await frame().waitForFunction(() => window.__ready === true);
      const blocked = await frame().evaluate(() => {
        try { sessionStorage.getItem('x'); return false; } catch (e) { return e.name === 'SecurityError' || /denied/i.test(e.message); }
      });
      assert.equal(blocked, true, 'sessionStorage is blocked in the cross-site iframe');
      assert.equal(await frame().evaluate(() => window.__client.constructor.sessionStorageAvailable()), false);
      assert.equal(await frame().evaluate(() => window.__client.constructor.isFramed()), true);
      await page.frameLocator('#ext').locator('#login').click();
      const selfResult = await resultOf(frame());
      assert.equal(selfResult.code, 'state_storage_unavailable');
      assert.match(selfResult.message, /popup/);
      assert.equal(frame().url(), `${ext.origin}/index.html`, 'the frame did not navigate');
      assert.equal(providerRequests.length, 0, 'nothing reached the authorization server');
      assert.equal(ext.handoffs.length, 0);
      await page.close();

      // navigation 'popup': the flow lives in the iframe's memory.
      ext.options = oauth2Options(ext, op, { navigation: 'popup' });
      const page2 = await browser.context.newPage();
      await page2.goto(host.url);
      const frame2 = () => page2.frames().find((f) => f.url().startsWith(ext.origin));
      await page2.waitForFunction(() => document.getElementById('ext').contentWindow !== null);
      await frame2().waitForFunction(() => window.__ready === true);
      const [popup] = await Promise.all([
        browser.context.waitForEvent('page'),
        page2.frameLocator('#ext').locator('#login').click(),
      ]);
      await signInAndConsent(popup);
      const result = await resultOf(frame2());
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.match(result.session.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal(ext.handoffs.length, 1);
      assert.equal(ext.handoffs[0].iss, op.issuer);
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10_000 });
      assert.equal(popup.isClosed(), true, 'the callback page closed the popup');
      assert.equal(frame2().url(), `${ext.origin}/index.html`, 'the iframe never navigated');
    } finally {
      await browser.close();
      await host.close();
    }
  });
});
