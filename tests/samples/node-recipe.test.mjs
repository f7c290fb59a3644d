// Recipe "an extension page + a Node backend", end to end as README shows it: examples/extension/
// (index.html, app.js, popup-callback.html) served by examples/node-backend/server.mjs, run with
// `node` from a project that installed the packed tarball, against the real oidc-provider, in
// Chromium: the login in the page itself (navigation 'self') and, in a host console's cross-site
// iframe where storage is blocked, in a popup whose callback page calls completePopup().
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { samplesProject, startProgram, freePort, eventually } from './project.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';
import { launchProfile, launchIncognito } from '../support/browser.mjs';
import { loopbackOnly, signInAndConsent, listen, closeServer } from '../support/extension-site.mjs';

const CLIENT_ID = 'my-extension';
const CLIENT_SECRET = 'my-extension-secret-0123456789';
const AUDIENCE = 'https://api.my-extension.example';

/**
 * The recipe as a user runs it: the packed project, oidc-provider with the recipe's client (its
 * redirect URIs made from the backend's origin by `redirectPaths`), and `node server.mjs` with the
 * environment the recipe's comment names. `close()` stops all three.
 */
async function startRecipe({ redirectPaths, provider = {} }) {
  const project = await samplesProject();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const op = await startOidcProvider({
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: redirectPaths.map((path) => `${origin}${path}`) }],
    ...provider,
  });
  const backend = await startProgram(process.execPath, ['examples/node-backend/server.mjs'], {
    cwd: project.dir,
    env: {
      OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, API_AUDIENCE: AUDIENCE,
      PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: origin,
    },
    ready: /listening on /,
  });
  const close = async () => {
    await backend.stop();
    await op.close();
    project.close();
  };
  return { project, op, backend, origin, close };
}

describe('README recipe: extension page + Node backend + verifier, against oidc-provider', () => {
  let recipe;
  let op;
  let origin;

  before(async () => {
    recipe = await startRecipe({ redirectPaths: ['/', '/popup-callback.html'], provider: { audience: AUDIENCE } });
    ({ op, origin } = recipe);
  });

  after(async () => {
    await recipe?.close();
  });

  test('navigation self: log in, hand off, verified identity, the backend API answers', async () => {
    const browser = await launchProfile();
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`${origin}/`);
      await page.waitForSelector('#login:not([disabled])');
      assert.match(await page.textContent('#status'), /in this page/);
      await page.click('#login');
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      await signInAndConsent(page);
      await page.waitForFunction(() => /Logged in|failed/.test(document.getElementById('status').textContent));
      assert.equal(await page.textContent('#status'),
        'Logged in as alice@example.com; the backend says hello to alice.');
      assert.equal(new URL(page.url()).search, '', 'the callback parameters were scrubbed');
    } finally {
      await browser.close();
    }
  });

  test('navigation popup (cross-site iframe, storage blocked): completePopup() hands the callback back', async () => {
    const host = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><title>Host console</title><iframe id="ext" src="${origin}/" width="700" height="200"></iframe>`);
    });
    const hostPort = await listen(host);
    const browser = await launchIncognito();
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      await page.goto(`http://localhost:${hostPort}/`); // another site than 127.0.0.1
      const ext = page.frameLocator('#ext');
      await ext.locator('#login:not([disabled])').waitFor();
      assert.match(await ext.locator('#status').textContent(), /in a popup/);
      const [popup] = await Promise.all([browser.context.waitForEvent('page'), ext.locator('#login').click()]);
      await signInAndConsent(popup);
      await ext.locator('#status', { hasText: /Logged in|failed/ }).waitFor();
      assert.equal(await ext.locator('#status').textContent(),
        'Logged in as alice@example.com; the backend says hello to alice.');
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10_000 });
    } finally {
      await browser.close();
      await closeServer(host);
    }
  });

  test("a page whose tokenHandoffUrl is not the backend's path gets a 404 that names the paths", async () => {
    const res = await fetch(`${origin}/api/tokens`, {
      method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
    });
    assert.equal(res.status, 404);
    const { error_description: description } = await res.json();
    assert.match(description, /\/api\/token\b/);
    assert.match(description, /\/api\/userinfo\b/);
  });

  test('the backend API answers 401 (never 500) without a valid token', async () => {
    for (const authorization of [undefined, 'Bearer not-a-token', 'Bearer a.b.c']) {
      const res = await fetch(`${origin}/api/hello`, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, `${authorization}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.equal((await res.json()).error, 'invalid_token');
    }
  });
});

describe('README recipe with a provider that issues opaque access tokens', () => {
  let recipe;
  let op;
  let origin;

  before(async () => {
    recipe = await startRecipe({ redirectPaths: ['/'], provider: { jwtAccessTokens: false } });
    ({ op, origin } = recipe);
  });

  after(async () => {
    await recipe?.close();
  });

  test('the handoff answers 401, and the backend logs that the provider must issue JWT access tokens', async () => {
    const pkce = pkcePair();
    const { code, state } = await obtainAuthorizationCode({
      issuer: op.issuer, clientId: CLIENT_ID, redirectUri: `${origin}/`, scope: 'openid email', state: 'opaque-state',
      codeChallenge: pkce.codeChallenge,
    });
    const res = await fetch(`${origin}/api/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ code, state, code_verifier: pkce.codeVerifier, redirect_uri: `${origin}/` }),
    });
    const body = await res.json();
    assert.equal(res.status, 401, JSON.stringify(body));
    assert.equal(body.error, 'invalid_token');
    // The default onError logs the setup mismatch (the line may come just after the answer).
    await eventually(() => /not a JWT[^\n]*RFC 9068/.test(recipe.backend.output()), 'the warning about opaque access tokens');
  });
});
