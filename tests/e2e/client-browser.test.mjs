// The browser ExtensionClient (pkg/, browser entry) in Chromium, call by call: options, storage
// that is blocked, scrubbing, state handling, and what the issue #15 review found (a redirected
// handoff, a hanging backend, an abort, stray popup messages). Each page loads the package through
// an import map, as users do; the test servers listen on 127.0.0.1.
//
//   scripts/build client && node --test tests/e2e/client-browser.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { join, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchProfile } from '../support/browser.mjs';
import { startExtensionSite, resultOf, listen, closeServer } from '../support/extension-site.mjs';
import { startStaticServer } from '../support/static-server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>client</title>
<script type="importmap">{"imports":{"extension-sso/client":"/pkg/client.browser.js"}}</script>
<script type="module">
import init, * as sso from 'extension-sso/client';
await init();
window.sso = sso;
// Settles a promise into plain data the test can read.
window.outcome = (p) => p.then((value) => ({ ok: true, value }), (e) => ({
  ok: false, code: e.code, message: e.message, retryable: e.retryable, status: e.status, error: e.error,
  isSso: e instanceof sso.ExtensionSsoError, isError: e instanceof Error,
  cause: e.cause === undefined ? undefined : String(e.cause?.message ?? e.cause),
}));
window.thrown = (fn) => { try { fn(); return null; } catch (e) { return { code: e.code, message: e.message, isSso: e instanceof sso.ExtensionSsoError }; } };
window.ready = true;
</script>`;

/** The test site: the page, pkg/, and the extension backend's endpoints. */
async function startSite() {
  const pkgDir = await realpath(join(ROOT, 'pkg'));
  const site = { handoffs: [], hanging: new Set(), other: null };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'GET' && (url.pathname === '/page.html' || url.pathname === '/cb')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/stay') {
      // An authorization endpoint whose answer leaves the page where it is (204 No Content).
      site.stays = (site.stays ?? 0) + 1;
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/pkg/')) {
      const file = await realpath(join(pkgDir, decodeURIComponent(url.pathname.slice(5)))).catch(() => null);
      if (!file || !(file.startsWith(pkgDir + sep) || file.startsWith(join(ROOT, 'target') + sep))) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      site.handoffs.push(url.pathname);
      if (url.pathname === '/api/redirect') {
        // A backend that answers with a redirect to another origin: the client must not re-post there.
        res.writeHead(307, { location: `${site.other.origin}/steal` }).end();
        return;
      }
      if (url.pathname === '/api/redirect-here') {
        // A redirect to this origin's own handoff endpoint: a fetch that follows it gets tokens.
        res.writeHead(307, { location: '/api/token' }).end();
        return;
      }
      if (url.pathname === '/api/hang') {
        site.hanging.add(res); // never answers
        return;
      }
      if (url.pathname === '/api/token') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'at-1', token_type: 'Bearer' }));
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found' }));
  });
  site.origin = `http://127.0.0.1:${await listen(server)}`;
  // Another origin, which must never receive a handoff.
  const stolen = [];
  const other = createServer((req, res) => {
    if (req.url.startsWith('/coop?')) {
      // A login page that isolates itself from its opener (as some providers' do).
      res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin' }).end('<!doctype html><p>log in');
      return;
    }
    stolen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(JSON.stringify({ access_token: 'stolen' }));
  });
  site.other = { origin: `http://127.0.0.1:${await listen(other)}`, stolen };
  site.close = async () => {
    for (const res of site.hanging) res.destroy();
    await closeServer(server);
    await closeServer(other);
  };
  return site;
}

describe('ExtensionClient call by call (Chromium)', () => {
  let site;
  let browser;
  let page;

  before(async () => {
    site = await startSite();
    browser = await launchProfile();
    page = await browser.context.newPage();
    await page.goto(`${site.origin}/page.html`);
    await page.waitForFunction(() => window.ready === true);
  });

  after(async () => {
    await browser?.close();
    await site?.close();
  });

  /** oauth2 options with a redirect on this origin, plus `extra`. */
  const oauth2 = (extra = {}) => ({
    profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', clientId: 'client-1',
    redirectUri: `${site.origin}/cb`, issuer: 'https://as.example', scope: 'openid', tokenHandoffUrl: '/never-called', ...extra,
  });
  const evaluate = (fn, arg) => page.evaluate(fn, arg);
  /** A fresh sessionStorage and address bar. */
  const reset = () => evaluate(() => { sessionStorage.clear(); history.replaceState(null, '', '/page.html'); });

  test('option names and types are checked in JS, their meanings in the core; every rejection is an ExtensionSsoError', async () => {
    const cases = await evaluate((base) => {
      const make = (extra) => window.thrown(() => new window.sso.ExtensionClient({ ...base, ...extra }));
      return {
        typo: make({ isuer: 'https://as.example' }),
        functionTypo: make({ fecth: () => {} }),
        foreign: make({ consoleUrl: 'https://c.example' }),
        navigation: make({ navigation: 'iframe' }),
        issPolicy: make({ issPolicy: 'sometimes' }),
        ttl: make({ stateTtlSec: 5 }),
        ttlType: make({ stateTtlSec: '600' }),
        publicWithoutPkce: make({ usePkce: false, tokenHandoffUrl: null, tokenEndpoint: 'https://as.example/token' }),
        timeout: make({ timeoutMs: 0 }),
        missing: window.thrown(() => new window.sso.ExtensionClient({ profile: 'mia-console', consoleUrl: 'https://c.example', tenantId: 't', extensionId: 'e' })),
        profile: window.thrown(() => new window.sso.ExtensionClient({ profile: 'saml' })),
      };
    }, oauth2());
    for (const [name, e] of Object.entries(cases)) {
      assert.ok(e, `${name} was accepted`);
      assert.equal(e.code, 'invalid_options', name);
      assert.equal(e.isSso, true, name);
    }
    assert.match(cases.typo.message, /unknown option "isuer" for ExtensionClient/);
    assert.match(cases.functionTypo.message, /unknown option "fecth"/);
    assert.match(cases.foreign.message, /consoleUrl does not apply to profile 'oauth2'/);
    assert.match(cases.ttlType.message, /stateTtlSec must be a whole non-negative number/);
    assert.match(cases.missing.message, /tokenHandoffUrl/);
    assert.match(cases.timeout.message, /timeoutMs must be between 1 and 60000/);
  });

  test("seed 001's positional form, and what a fresh client answers", async () => {
    await reset();
    const r = await evaluate(async (redirect) => {
      const { ExtensionClient } = window.sso;
      const c = new ExtensionClient('https://login.example.com', 'ext-1');
      const early = await window.outcome(c.authorizationUrl());
      const unknown = await window.outcome(c.handleCallback(`${location.origin}/cb?code=c&state=forged`));
      const bad = [
        ['https://login.example.com'], ['http://login.example.com', 'ext-1'], ['https://login.example.com?x=1', 'ext-1'],
        [{ profile: 'oauth2' }, 'ext-1'], [1], [null],
      ].map((args) => window.thrown(() => new ExtensionClient(...args))?.code);
      const o = new ExtensionClient({ profile: 'oauth2', authorizationEndpoint: 'https://as.example/authorize', clientId: 'client-1',
        redirectUri: redirect, issuer: 'https://as.example', scope: 'openid', tokenHandoffUrl: '/never-called' });
      const url = new URL(await o.authorizationUrl());
      const identity = await window.outcome(o.getUserIdentity());
      return { early, unknown, bad, url: url.href, params: Object.fromEntries(url.searchParams), session: o.session, identity };
    }, `${site.origin}/cb`);
    assert.equal(r.early.code, 'invalid_options');
    assert.match(r.early.message, /login\(redirectUrl\)/);
    assert.equal(r.unknown.code, 'state_unknown');
    assert.deepEqual(r.bad, Array(6).fill('invalid_options'));
    assert.ok(r.url.startsWith('https://as.example/authorize?response_type=code&client_id=client-1'));
    assert.equal(r.params.code_challenge.length, 43);
    assert.equal(r.params.code_challenge_method, 'S256');
    assert.ok(r.params.state.length >= 43);
    assert.equal(r.session, null);
    assert.equal(r.identity.code, 'not_logged_in');
  });

  test('blocked sessionStorage is detected before anything navigates; popup mode keeps the flow in memory', async () => {
    await reset();
    for (const blocking of ['throwing', 'write-failing']) {
      const r = await evaluate(async ([blocking, options]) => {
        const saved = Object.getOwnPropertyDescriptor(window, 'sessionStorage');
        const fake = { length: 0, key() { return null; }, getItem() { return null; },
          setItem() { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); }, removeItem() {}, clear() {} };
        Object.defineProperty(window, 'sessionStorage', { configurable: true, get() {
          if (blocking === 'throwing') throw new DOMException('Access is denied for this document.', 'SecurityError');
          return fake;
        } });
        try {
          const { ExtensionClient } = window.sso;
          const c = new ExtensionClient(options);
          const popup = new ExtensionClient({ ...options, navigation: 'popup' });
          return {
            available: ExtensionClient.sessionStorageAvailable(),
            url: await window.outcome(c.authorizationUrl()),
            login: await window.outcome(c.login()),
            callback: await window.outcome(c.handleCallback(`${location.origin}/cb?code=c&state=s`)),
            popupUrl: await window.outcome(popup.authorizationUrl()),
            href: location.href,
          };
        } finally {
          Object.defineProperty(window, 'sessionStorage', saved);
        }
      }, [blocking, oauth2()]);
      assert.equal(r.available, false, blocking);
      for (const key of ['url', 'login', 'callback']) {
        assert.equal(r[key].code, 'state_storage_unavailable', `${blocking} ${key}`);
      }
      assert.match(r.url.message, /popup/);
      assert.equal(r.popupUrl.ok, true);
      assert.match(r.popupUrl.value, /code_challenge=/);
      assert.equal(r.href, `${site.origin}/page.html`, 'nothing navigated');
    }
    assert.equal(await evaluate(() => window.sso.ExtensionClient.sessionStorageAvailable()), true);
  });

  test('handleCallback scrubs the address bar on failure too, keeping other parameters and the hash', async () => {
    await reset();
    const r = await evaluate(async (options) => {
      const c = new window.sso.ExtensionClient(options);
      history.replaceState(null, '', '/page.html?keep=1&code=abc&state=forged&iss=https%3A%2F%2Fas.example&session_state=x#frag');
      const isCallback = c.isCallback(location.href);
      const forged = await window.outcome(c.handleCallback());
      const afterForged = location.href;
      history.replaceState(null, '', '/page.html?error=access_denied&error_description=nope&a=b');
      const denied = await window.outcome(c.login());
      const afterDenied = location.href;
      // A URL that is not the current page is not touched.
      history.replaceState(null, '', '/page.html?code=zzz&state=y');
      await window.outcome(c.handleCallback(`${location.origin}/cb?code=c&state=s`));
      return { isCallback, forged, afterForged, denied, afterDenied, untouched: location.href };
    }, oauth2());
    assert.equal(r.isCallback, true);
    assert.equal(r.forged.code, 'state_unknown');
    assert.equal(r.afterForged, `${site.origin}/page.html?keep=1#frag`);
    assert.equal(r.denied.code, 'authorization_denied');
    assert.equal(r.denied.error, 'access_denied');
    assert.equal(r.afterDenied, `${site.origin}/page.html?a=b`);
    assert.match(r.untouched, /code=zzz/);
  });

  test('state: unknown, mix-up then reused, expired, wrong page, iss required, logout', async () => {
    await reset();
    const r = await evaluate(async (base) => {
      const { ExtensionClient } = window.sso;
      const c = new ExtensionClient(base);
      const o = location.origin;
      const start = async (client = c) => new URL(await client.authorizationUrl()).searchParams.get('state');
      const out = {};
      out.forged = await window.outcome(c.handleCallback(`${o}/cb?code=c&state=forged-state`));
      let state = await start();
      out.stored = sessionStorage.getItem(`extension-sso:flow:${state}`) !== null;
      const mixup = `${o}/cb?code=c&state=${state}&iss=https%3A%2F%2Fevil.example`;
      out.mixup = await window.outcome(c.handleCallback(mixup));
      out.replay = await window.outcome(c.handleCallback(mixup));
      state = await start();
      const key = `extension-sso:flow:${state}`;
      const record = JSON.parse(sessionStorage.getItem(key));
      record.created_at -= 601;
      sessionStorage.setItem(key, JSON.stringify(record));
      out.expired = await window.outcome(c.handleCallback(`${o}/cb?code=c&state=${state}`));
      out.expiredRemoved = sessionStorage.getItem(key) === null;
      state = await start();
      out.elsewhere = await window.outcome(c.handleCallback(`${o}/elsewhere?code=c&state=${state}`));
      out.elsewhereSpent = await window.outcome(c.handleCallback(`${o}/cb?code=c&state=${state}`));
      const strict = new ExtensionClient({ ...base, issPolicy: 'require' });
      state = await start(strict);
      out.issMissing = await window.outcome(strict.handleCallback(`${o}/cb?code=c&state=${state}`));
      state = await start();
      c.logout();
      out.afterLogout = await window.outcome(c.handleCallback(`${o}/cb?code=c&state=${state}`));
      return out;
    }, oauth2());
    assert.equal(r.forged.code, 'state_unknown');
    assert.doesNotMatch(r.forged.message, /forged-state/);
    assert.equal(r.stored, true);
    assert.equal(r.mixup.code, 'iss_mismatch');
    assert.equal(r.replay.code, 'state_reused');
    assert.equal(r.expired.code, 'state_expired');
    assert.equal(r.expiredRemoved, true);
    assert.equal(r.elsewhere.code, 'invalid_callback');
    assert.equal(r.elsewhereSpent.code, 'state_reused', 'a callback on the wrong page spends the flow too');
    assert.equal(r.issMissing.code, 'iss_missing');
    assert.equal(r.afterLogout.code, 'state_unknown');
  });

  test('framing helpers, and completePopup on a page that is no callback', async () => {
    await reset();
    assert.deepEqual(await evaluate(() => [window.sso.ExtensionClient.isFramed(), window.sso.ExtensionClient.completePopup()]), [false, false]);
  });

  test("completePopup refuses an openerOrigin that is not one exact origin: '*' would post the code and state to any opener", async () => {
    await reset();
    const r = await evaluate(() => {
      history.replaceState(null, '', '/cb?code=secret-code&state=secret-state');
      const posted = [];
      const realOpener = Object.getOwnPropertyDescriptor(window, 'opener');
      // An opener that records what it is sent (the page is not really a popup).
      Object.defineProperty(window, 'opener', { configurable: true, get: () => ({ postMessage: (data, target) => posted.push(target) }) });
      try {
        const tried = ['*', 'https://ext.example/callback', 'https://ext.example/', 'not an origin']
          .map((origin) => window.thrown(() => window.sso.ExtensionClient.completePopup(origin)));
        return { tried, posted, href: location.href };
      } finally {
        Object.defineProperty(window, 'opener', realOpener);
      }
    });
    for (const e of r.tried) {
      assert.ok(e, 'refused');
      assert.equal(e.code, 'invalid_options');
      assert.equal(e.isSso, true);
      assert.match(e.message, /openerOrigin/);
      assert.doesNotMatch(e.message, /secret/);
    }
    assert.deepEqual(r.posted, [], 'nothing was posted');
  });

  /** Starts a flow with `extra` options and completes its callback; resolves with the outcome. */
  const complete = (extra, call = 'plain') => evaluate(async ([options, call]) => {
    const c = new window.sso.ExtensionClient(options);
    const state = new URL(await c.authorizationUrl()).searchParams.get('state');
    const url = `${location.origin}/cb?code=c&state=${state}&iss=https%3A%2F%2Fas.example`;
    const controller = new AbortController();
    let result;
    if (call === 'abort-before') {
      controller.abort(new Error('user left'));
      result = await window.outcome(c.handleCallback(url, { signal: controller.signal }));
    } else if (call === 'abort-during') {
      const pending = window.outcome(c.handleCallback(url, { signal: controller.signal }));
      setTimeout(() => controller.abort(new Error('user left')), 50);
      result = await pending;
    } else {
      result = await window.outcome(c.handleCallback(url));
    }
    return { ...result, session: c.session };
  }, [oauth2(extra), call]);

  test('a handoff that fails is handoff_failed with its status, and leaves no session', async () => {
    await reset();
    const r = await complete({ tokenHandoffUrl: '/no-such-handoff-endpoint' });
    assert.equal(r.code, 'handoff_failed');
    assert.equal(r.status, 404);
    assert.equal(r.session, null);
    await reset();
    const ok = await complete({ tokenHandoffUrl: '/api/token' });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.value.accessToken, 'at-1');
  });

  test('the fetch option carries every request of the client', async () => {
    await reset();
    const r = await evaluate(async (options) => {
      const seen = [];
      const fetch = (url, init) => { seen.push({ url: String(url), method: init.method, redirect: init.redirect, signal: init.signal instanceof AbortSignal }); return globalThis.fetch(url, init); };
      const c = new window.sso.ExtensionClient({ ...options, fetch });
      const state = new URL(await c.authorizationUrl()).searchParams.get('state');
      const result = await window.outcome(c.handleCallback(`${location.origin}/cb?code=c&state=${state}&iss=https%3A%2F%2Fas.example`));
      return { result, seen };
    }, oauth2({ tokenHandoffUrl: '/api/token' }));
    assert.equal(r.result.ok, true, JSON.stringify(r.result));
    assert.deepEqual(r.seen, [{ url: '/api/token', method: 'POST', redirect: 'manual', signal: true }]);
  });

  test('a redirected handoff is refused: the code is never re-posted to the other origin', async () => {
    await reset();
    site.handoffs.length = 0;
    const r = await complete({ tokenHandoffUrl: '/api/redirect' });
    assert.equal(r.code, 'handoff_failed', JSON.stringify(r));
    assert.equal(r.retryable, false);
    assert.match(r.message, /redirect/);
    assert.equal(r.session, null);
    assert.deepEqual(site.handoffs, ['/api/redirect']);
    assert.deepEqual(site.other.stolen, [], 'nothing reached the other origin');
  });

  test('a custom fetch that follows redirects does not make a redirected answer count', async () => {
    await reset();
    const r = await evaluate(async (options) => {
      const fetch = (url, init) => globalThis.fetch(url, { ...init, redirect: 'follow' });
      const c = new window.sso.ExtensionClient({ ...options, fetch });
      const state = new URL(await c.authorizationUrl()).searchParams.get('state');
      const result = await window.outcome(c.handleCallback(`${location.origin}/cb?code=c&state=${state}&iss=https%3A%2F%2Fas.example`));
      return { ...result, session: c.session };
    }, oauth2({ tokenHandoffUrl: '/api/redirect-here' }));
    assert.equal(r.code, 'handoff_failed', JSON.stringify(r));
    assert.match(r.message, /redirect/);
    assert.equal(r.session, null);
  });

  test('a login page with Cross-Origin-Opener-Policy cuts the popup off: popup_closed says so, not that the user closed it', async () => {
    await reset();
    await evaluate((options) => {
      const c = new window.sso.ExtensionClient(options);
      window.popupLogin = undefined;
      const button = document.createElement('button');
      button.id = 'popup-login';
      button.onclick = () => window.outcome(c.login()).then((r) => { window.popupLogin = r; });
      document.body.append(button);
    }, oauth2({ navigation: 'popup', authorizationEndpoint: `${site.other.origin.replace('127.0.0.1', 'localhost')}/coop` }));
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#popup-login')]);
    await page.waitForFunction(() => window.popupLogin !== undefined);
    const r = await evaluate(() => window.popupLogin);
    assert.equal(popup.isClosed(), false, 'the popup is still open');
    assert.equal(r.code, 'popup_closed', JSON.stringify(r));
    assert.match(r.message, /Cross-Origin-Opener-Policy/);
    await popup.close();
  });

  test('a backend that never answers: handoff_failed after timeoutMs, retryable', async () => {
    await reset();
    const r = await complete({ tokenHandoffUrl: '/api/hang', timeoutMs: 300 });
    assert.equal(r.code, 'handoff_failed', JSON.stringify(r));
    assert.equal(r.retryable, true);
    assert.equal(r.message, 'tokenHandoffUrl did not answer within 300 ms (timeoutMs)');
    assert.equal(r.isSso, true);
  });

  test('an AbortSignal rejects with aborted (cause = its reason), before or during the request', async () => {
    await reset();
    const before = await complete({ tokenHandoffUrl: '/api/hang' }, 'abort-before');
    assert.equal(before.code, 'aborted');
    assert.equal(before.retryable, false);
    assert.equal(before.cause, 'user left');
    await reset();
    const during = await complete({ tokenHandoffUrl: '/api/hang' }, 'abort-during');
    assert.equal(during.code, 'aborted', JSON.stringify(during));
    assert.equal(during.cause, 'user left');
    assert.equal(during.isSso, true);
    // A navigation that does not leave the page (the server answers 204): the abort still settles login().
    await reset();
    site.stays = 0;
    await evaluate((options) => {
      const controller = new AbortController();
      window.abortLogin = (reason) => controller.abort(new Error(reason));
      window.stayed = undefined;
      window.outcome(new window.sso.ExtensionClient(options).login({ signal: controller.signal })).then((r) => { window.stayed = r; });
    }, oauth2({ authorizationEndpoint: `${site.origin}/stay` }));
    while (!site.stays) await new Promise((r) => setTimeout(r, 20));
    // Settled by the time a task queued after the abort runs (the rejection is a microtask away).
    const afterNavigation = await evaluate(() => {
      window.abortLogin('user left');
      return new Promise((r) => setTimeout(() => r(window.stayed ?? 'still pending after the abort'), 0));
    });
    assert.equal(afterNavigation.code, 'aborted', JSON.stringify(afterNavigation));
    assert.equal(afterNavigation.cause, 'user left');
    assert.equal(afterNavigation.retryable, false);
    const bad = await evaluate((options) => window.outcome(new window.sso.ExtensionClient(options).login({ signal: 'soon' })), oauth2());
    assert.equal(bad.code, 'invalid_options');
    assert.match(bad.message, /signal must be an AbortSignal/);
  });
});

describe('popup mode waits for its own callback only (Chromium)', () => {
  let site;
  let as;
  let browser;

  before(async () => {
    site = await startExtensionSite({
      pages: ['/index.html', '/callback.html'],
      api: { '/api/token': async (body) => ({ status: 200, json: { access_token: `at-for-${body.code}`, token_type: 'Bearer' } }) },
    });
    // The authorization server's login page: the test plays the user and the redirect.
    as = await startStaticServer(ROOT, [], { '/authorize': '<!doctype html><title>log in</title><p>log in</p>' });
    browser = await launchProfile();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await as?.close();
  });

  const options = () => ({
    profile: 'oauth2', authorizationEndpoint: `${as.origin}/authorize`, clientId: 'c',
    redirectUri: `${site.origin}/callback.html`, tokenHandoffUrl: '/api/token', navigation: 'popup',
  });

  /** A tab whose login() waits for its popup; answers the tab, its popup and the flow's state. */
  async function loginByPopup() {
    const tab = await browser.context.newPage();
    await tab.goto(`${site.origin}/index.html`);
    await tab.waitForFunction(() => window.__ready === true);
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), tab.click('#login')]);
    await popup.waitForURL((u) => u.pathname === '/authorize');
    const state = new URL(popup.url()).searchParams.get('state');
    return { tab, popup, state };
  }

  test('stray, foreign and malformed messages are ignored; the real popup completes the login', async () => {
    site.options = options();
    site.handleCallbacks = true;
    const a = await loginByPopup();
    const b = await loginByPopup();
    // A page on the extension origin without an opener (opened with noopener by another site, or
    // a popup that lost its opener): its callback goes over the BroadcastChannel to every tab.
    const stray = await browser.context.newPage();
    await stray.goto(`${site.origin}/callback.html?code=forged&state=forged-state`);
    // The other tab's genuine callback, also over the channel: tab b takes it, tab a ignores it.
    const lost = await browser.context.newPage();
    await lost.goto(`${site.origin}/callback.html?code=code-b&state=${b.state}`);
    const resultB = await resultOf(b.tab);
    assert.equal(resultB.ok, true, JSON.stringify(resultB));
    assert.equal(resultB.session.accessToken, 'at-for-code-b');
    // Messages tab a receives from windows other than its popup, and of the wrong shape.
    await a.tab.evaluate((state) => {
      window.postMessage({ type: 'extension-sso:callback', url: `${location.origin}/callback.html?code=self&state=${state}` }, '*');
      window.postMessage({ type: 'extension-sso:callback', url: 42 }, '*');
      window.postMessage('extension-sso:callback', '*');
      const channel = new BroadcastChannel('extension-sso');
      channel.postMessage({ type: 'extension-sso:callback' });
      channel.close();
    }, a.state);
    // Its own popup comes back: the login completes with that code.
    await a.popup.goto(`${site.origin}/callback.html?code=code-a&state=${a.state}`);
    const resultA = await resultOf(a.tab);
    assert.equal(resultA.ok, true, JSON.stringify(resultA));
    assert.equal(resultA.session.accessToken, 'at-for-code-a');
    const codes = site.apiCalls.map((c) => c.body.code).sort();
    assert.deepEqual(codes, ['code-a', 'code-b'], 'one handoff per genuine callback, none for the others');
    await b.popup.close();
  });

  test('a page at another origin in the popup (the login page, or wherever it went) cannot answer for the callback page', async () => {
    site.options = options();
    site.handleCallbacks = true;
    site.apiCalls.length = 0;
    const a = await loginByPopup();
    // The login page knows the state (it is in its own URL) and is the popup's window: it posts a
    // callback naming a code of its choice, as the callback page would.
    await a.popup.evaluate((url) => {
      window.opener.postMessage({ type: 'extension-sso:callback', url }, '*');
      window.opener.postMessage({ type: 'extension-sso:callback-error', code: 'invalid_options' }, '*');
    }, `${site.origin}/callback.html?code=injected&state=${a.state}`);
    // (Had the opener taken either message, the login would be over and the popup closed.)
    await a.popup.goto(`${site.origin}/callback.html?code=code-a&state=${a.state}`).catch(() => {});
    const result = await resultOf(a.tab);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.session.accessToken, 'at-for-code-a');
    assert.deepEqual(site.apiCalls.map((c) => c.body.code), ['code-a'], 'the injected code was never handed off');
  });
});
