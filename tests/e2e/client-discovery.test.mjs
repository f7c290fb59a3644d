// The browser ExtensionClient's 'oauth2' profile from its issuer alone, against the real
// oidc-provider (tests/support/oidc.mjs) in Chromium: the authorization and token endpoints come
// from OpenID Connect Discovery, `authorization_response_iss_parameter_supported` makes the callback's
// `iss` required (RFC 9207), the OpenID Connect `nonce` goes to the backend or is checked by a public
// client, popup mode opens its window inside the click while discovery runs, and a popup callback
// page that uses the client before init() tells its opener instead of leaving it waiting.
//
//   scripts/build client && node --test tests/e2e/client-discovery.test.mjs
import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';
import { launchProfile } from '../support/browser.mjs';
import { startExtensionSite, loopbackOnly, signInAndConsent, resultOf, loginAtProvider } from '../support/extension-site.mjs';
import { startStaticServer } from '../support/static-server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT_ID = 'ext-discovery';
const CLIENT_SECRET = 'ext-discovery-secret-0123456789';
const PUBLIC_ID = 'ext-public';

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

describe('oauth2 from the issuer alone (oidc-provider, Chromium)', () => {
  let site;
  let op;
  let browser;

  before(async () => {
    site = await startExtensionSite({
      pages: ['/index.html', '/callback.html'],
      api: {
        // The extension backend: exchanges the code (client_secret_basic + PKCE).
        '/api/token': async (body) => {
          const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
          const answer = await fetch(op.tokenEndpoint, {
            method: 'POST',
            headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'authorization_code', code: body.code, redirect_uri: body.redirect_uri, code_verifier: body.code_verifier }),
          });
          const tokens = await answer.json();
          if (!answer.ok) return { status: 502, json: { error: tokens.error } };
          return { status: 200, json: { access_token: tokens.access_token, token_type: tokens.token_type, expires_in: tokens.expires_in, id_token: tokens.id_token } };
        },
      },
    });
    const redirectUri = `${site.origin}/callback.html`;
    op = await startOidcProvider({
      clients: [
        { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] },
        { client_id: PUBLIC_ID, redirect_uris: [redirectUri] },
      ],
    });
  });

  after(async () => {
    await op?.close();
    await site?.close();
  });

  // A fresh browser per test: the provider's session cookie would skip its login page.
  beforeEach(async () => {
    browser = await launchProfile();
    await loopbackOnly(browser.context);
  });
  afterEach(() => browser?.close());

  const options = (extra = {}) => ({
    profile: 'oauth2', issuer: op.issuer, clientId: CLIENT_ID, redirectUri: `${site.origin}/callback.html`,
    scope: 'openid email', tokenHandoffUrl: '/api/token', ...extra,
  });

  test('self: the authorization endpoint comes from discovery; the nonce reaches the backend and the ID Token', async () => {
    site.options = options();
    site.apiCalls.length = 0;
    const page = await browser.context.newPage();
    const seen = [];
    page.on('request', (r) => seen.push(r.url()));
    try {
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      await page.click('#login');
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      assert.ok(seen.some((u) => u === `${op.issuer}/.well-known/openid-configuration`), 'discovery was fetched');
      const authorize = new URL(seen.find((u) => u.startsWith(`${op.authorizationEndpoint}?`)));
      assert.equal(authorize.searchParams.get('client_id'), CLIENT_ID);
      assert.equal(authorize.searchParams.get('nonce').length, 43);
      await signInAndConsent(page);
      const result = await resultOf(page);
      assert.equal(result.ok, true, JSON.stringify(result));
      const [handoff] = site.apiCalls.map((c) => c.body);
      assert.equal(handoff.nonce, authorize.searchParams.get('nonce'));
      assert.equal(claimsOf(result.session.idToken).nonce, handoff.nonce);
    } finally {
      await page.close();
    }
  });

  test('the metadata says iss is always sent (RFC 9207): a callback without it is iss_missing, and the flow is spent', async () => {
    site.options = options();
    site.apiCalls.length = 0;
    const page = await browser.context.newPage();
    try {
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      const url = new URL(await page.evaluate(() => window.__client.authorizationUrl()));
      const p = url.searchParams;
      const answer = await obtainAuthorizationCode({
        issuer: op.issuer, clientId: CLIENT_ID, redirectUri: p.get('redirect_uri'), scope: p.get('scope'),
        state: p.get('state'), nonce: p.get('nonce'), codeChallenge: p.get('code_challenge'),
      });
      assert.equal(answer.iss, op.issuer);
      const stripped = new URL(answer.url);
      stripped.searchParams.delete('iss');
      await page.goto(stripped.href);
      const result = await resultOf(page);
      assert.equal(result.code, 'iss_missing', JSON.stringify(result));
      await page.goto(answer.url);
      const again = await resultOf(page);
      assert.equal(again.code, 'state_reused');
      assert.equal(site.apiCalls.length, 0, 'no handoff');
    } finally {
      await page.close();
    }
  });

  test('popup: the window opens blank inside the click, then goes to the discovered endpoint', async () => {
    site.options = options({ navigation: 'popup' });
    site.apiCalls.length = 0;
    const page = await browser.context.newPage();
    try {
      await page.goto(`${site.origin}/index.html`);
      await page.waitForFunction(() => window.__ready === true);
      const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#login')]);
      await popup.waitForURL((u) => u.href.startsWith(op.issuer));
      await signInAndConsent(popup);
      const result = await resultOf(page);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(site.apiCalls.length, 1);
      assert.equal(page.url(), `${site.origin}/index.html`, 'the page never navigated');
    } finally {
      await page.close();
    }
  });

  test('a public client takes the token endpoint from discovery and checks the ID Token nonce', async () => {
    site.options = { profile: 'oauth2', issuer: op.issuer, clientId: PUBLIC_ID, redirectUri: `${site.origin}/callback.html`, scope: 'openid' };
    site.apiCalls.length = 0;
    const page = await browser.context.newPage();
    const tokenRequests = [];
    page.on('request', (r) => { if (r.url() === op.tokenEndpoint && r.method() === 'POST') tokenRequests.push(r.postData()); });
    try {
      const result = await loginAtProvider(page, `${site.origin}/index.html`, op.issuer);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(tokenRequests.length, 1, 'the browser exchanged the code at the discovered token endpoint');
      assert.match(tokenRequests[0], /code_verifier=/);
      assert.equal(claimsOf(result.session.idToken).sub, 'alice');
      assert.equal(site.apiCalls.length, 0);
    } finally {
      await page.close();
    }
  });
});

describe('a popup callback page that uses the client before init() (Chromium)', () => {
  let pages;
  let as;
  let browser;

  before(async () => {
    as = await startStaticServer(ROOT, [], { '/authorize': '<!doctype html><title>log in</title>' });
    const head = '<!doctype html><meta charset="utf-8"><script type="importmap">{"imports":{"extension-sso/client":"/pkg/client.browser.js"}}</script>';
    const options = `({ profile: 'oauth2', authorizationEndpoint: '${as.origin}/authorize', clientId: 'c',
      redirectUri: location.origin + '/callback.html', tokenHandoffUrl: '/api/token', navigation: 'popup' })`;
    pages = await startStaticServer(ROOT, ['pkg'], {
      '/index.html': `${head}<button id="login">Log in</button><script type="module">
        import init, { ExtensionClient } from 'extension-sso/client';
        await init();
        const client = new ExtensionClient(${options});
        window.__result = null;
        document.getElementById('login').onclick = () => client.login().then(
          () => { window.__result = { ok: true }; }, (e) => { window.__result = { ok: false, code: e.code, message: e.message }; });
        window.__ready = true;
      </script>`,
      // The mistake: no \`await init()\` before the client is made.
      '/callback.html': `${head}<script type="module">
        import { ExtensionClient } from 'extension-sso/client';
        try { new ExtensionClient(${options}); } catch (e) { document.title = 'error:' + e.code; }
      </script>`,
    });
    browser = await launchProfile();
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
    await as?.close();
  });

  test("the opener's login() rejects with the popup's coded error instead of waiting for good", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${pages.origin}/index.html`);
    await page.waitForFunction(() => window.__ready === true);
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#login')]);
    await popup.waitForURL((u) => u.pathname === '/authorize');
    const state = new URL(popup.url()).searchParams.get('state');
    await popup.goto(`${pages.origin}/callback.html?code=c&state=${state}`);
    await page.waitForFunction(() => window.__result !== null, null, { timeout: 20_000 });
    const result = await page.evaluate(() => window.__result);
    assert.equal(result.ok, false);
    assert.equal(result.code, 'invalid_options', JSON.stringify(result));
    assert.match(result.message, /init\(\)/);
    // The opener closes its popup once the login settled.
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10_000 });
    assert.equal(popup.isClosed(), true);
  });
});
