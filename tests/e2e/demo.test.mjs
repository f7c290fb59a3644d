// End to end: the demo (www/demo.mjs) in headless Chromium. The Dev Console's host page
// (http://localhost:<port>) frames the extension (http://127.0.0.1:<port>, another site); the
// extension logs in with ExtensionClient (profile 'mia-console') in each navigation mode, its backend
// (createHandoffHandler + JwksVerifier) exchanges the code and verifies the token, and the verified
// claims appear in the frame. Then the 'oauth2' scenario against oidc-provider, and the failure paths
// (consent denied, tampered state, expired code) with the error on the page.
//
//   scripts/build && node --test --test-concurrency=1 tests/e2e/demo.test.mjs
//
// Also writes docs/demo.png (the logged-in state) for the README.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

import { startDemo } from '../../www/demo.mjs';
import { CHROMIUM_ARGS, launchProfile } from '../support/browser.mjs';

const SCREENSHOT = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));
const TIMEOUT = 20_000;

/**
 * A persistent profile whose user allows third-party cookies (Chromium's "Allow third-party cookies"
 * setting): the cross-site iframe gets (partitioned) sessionStorage, so 'self' and 'top' can work.
 * launchProfile() keeps Chromium's default, which since third-party cookie blocking became the
 * default denies storage to the cross-site iframe (see the blocked-storage test below).
 */
async function launchAllowingThirdPartyStorage() {
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-demo-'));
  mkdirSync(join(dir, 'Default'));
  writeFileSync(join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
  });
  return { context, async close() { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Only loopback traffic (oidc-provider's pages @import a web font). */
async function loopbackOnly(context) {
  await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());
}

describe('demo: console host page + framed extension + backend (Chromium)', () => {
  let demo;

  before(async () => {
    demo = await startDemo({ consolePort: 0, extensionPort: 0, oidcPort: 0 });
  });

  after(async () => {
    await demo?.close();
  });

  /** A fresh persistent profile, one page on the console's host page, the extension ready in its frame. */
  async function openHost(mode, { launch = launchAllowingThirdPartyStorage } = {}) {
    const browser = await launch();
    browser.context.setDefaultTimeout(TIMEOUT);
    await loopbackOnly(browser.context);
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 860 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(demo.url);
    const ext = page.frameLocator('#extension-frame');
    await ext.locator('#login:enabled').waitFor({ timeout: TIMEOUT });
    await ext.locator(`input[name=navigation][value=${mode}]`).check();
    const frame = () => page.frames().find((f) => f.url().startsWith(demo.extensionOrigin));
    return { browser, page, ext, frame, errors };
  }

  async function expectLoggedIn(ext, { name = 'Ada Lovelace', email = 'ada@example.com', sub = 'user-ada' } = {}) {
    await ext.locator('#status[data-state=logged-in]').waitFor({ timeout: TIMEOUT });
    assert.equal(await ext.locator('#identity [data-claim=name]').textContent(), name);
    assert.equal(await ext.locator('#identity [data-claim=email]').textContent(), email);
    assert.equal(await ext.locator('#identity [data-claim=sub]').textContent(), sub);
    assert.equal(await ext.locator('#identity [data-claim=iss]').textContent(), demo.console.issuer);
    assert.equal(await ext.locator('#identity [data-claim=aud]').textContent(), demo.extensionId);
    assert.match(await ext.locator('#identity [data-claim=exp]').textContent(), /in \d+ min/);
    assert.equal(await ext.locator('#error').isHidden(), true);
    const claims = JSON.parse(await ext.locator('#claims-json').textContent());
    assert.equal(claims.tenant_id, demo.tenantId);
  }

  async function expectError(ext, code) {
    await ext.locator('#status[data-state=error]').waitFor({ timeout: TIMEOUT });
    assert.equal(await ext.locator('#error-code').textContent(), code);
    assert.ok((await ext.locator('#error-hint').textContent()).length > 20, 'a hint on what to do');
    assert.equal(await ext.locator('#identity').isHidden(), true);
  }

  test('self: login inside the frame, consent, callback in the frame, handoff, verified claims (+ screenshot)', async () => {
    const { browser, page, ext, frame, errors } = await openHost('self');
    try {
      const handoffs = demo.handoffs.length;
      await ext.locator('#login').click();
      // The console's authz page replaces the extension inside the frame.
      await ext.locator('button[value=allow]').click({ timeout: TIMEOUT });
      await expectLoggedIn(ext);
      assert.equal(page.url(), demo.url, 'the top page never navigated');
      assert.equal(frame().url(), demo.extensionUrl, 'code and state scrubbed from the frame URL');
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'console', status: 200 }]);
      assert.deepEqual(Object.keys(demo.console.lastTokenRequest).sort(), ['code', 'state'], 'seed 000 body');
      assert.equal(await ext.locator('#steps li.done').count(), 5);
      mkdirSync(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      // Logout forgets the session.
      await ext.locator('#logout').click();
      await ext.locator('#status[data-state=idle]').waitFor();
      assert.equal(await ext.locator('#identity').isHidden(), true);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('top: the host page navigates to the console, then frames the callback; verified claims', async () => {
    const { browser, page, ext, frame, errors } = await openHost('top');
    try {
      const handoffs = demo.handoffs.length;
      await ext.locator('#login').click();
      await page.waitForURL((u) => u.pathname.endsWith('/authz'), { timeout: TIMEOUT });
      assert.equal(new URL(page.url()).origin, demo.console.url, 'top-level console page');
      await page.locator('label.user:has-text("Alan Turing")').click();
      await page.locator('button[value=allow]').click();
      // Back on the host page, which frames the extension's callback.
      await page.waitForURL((u) => u.href.startsWith(demo.url), { timeout: TIMEOUT });
      await expectLoggedIn(page.frameLocator('#extension-frame'), { name: 'Alan Turing', email: 'alan@example.com', sub: 'user-alan' });
      assert.equal(page.url(), demo.url, 'callback parameters scrubbed from the host page URL');
      assert.equal(frame().url(), demo.extensionUrl, 'and from the frame URL');
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'console', status: 200 }]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('popup: consent in a popup, the frame never navigates; verified claims', async () => {
    const { browser, page, ext, frame, errors } = await openHost('popup');
    try {
      const handoffs = demo.handoffs.length;
      const [popup] = await Promise.all([
        browser.context.waitForEvent('page'),
        ext.locator('#login').click(),
      ]);
      await popup.locator('button[value=allow]').click({ timeout: TIMEOUT });
      await expectLoggedIn(ext);
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10_000 });
      assert.equal(popup.isClosed(), true, 'the callback page closed the popup');
      assert.equal(frame().url(), demo.extensionUrl, 'the frame never navigated');
      assert.equal(page.url(), demo.url);
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'console', status: 200 }]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('blocked third-party storage (Chromium default profile): Self and Top disabled with a note, Popup works', async () => {
    const { browser, page, ext, frame } = await openHost('popup', { launch: launchProfile });
    try {
      const handoffs = demo.handoffs.length;
      assert.equal(await ext.locator('input[name=navigation][value=self]').isDisabled(), true);
      assert.equal(await ext.locator('input[name=navigation][value=top]').isDisabled(), true);
      assert.match(await ext.locator('#mode-note').textContent(), /sessionStorage is blocked/);
      const [popup] = await Promise.all([
        browser.context.waitForEvent('page'),
        ext.locator('#login').click(),
      ]);
      await popup.locator('button[value=allow]').click();
      await expectLoggedIn(ext);
      assert.equal(frame().url(), demo.extensionUrl);
      assert.equal(page.url(), demo.url);
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'console', status: 200 }]);
    } finally {
      await browser.close();
    }
  });

  test('oauth2 profile against oidc-provider: PKCE + client_secret_basic, verified JWT access token', async () => {
    const browser = await launchProfile();
    browser.context.setDefaultTimeout(TIMEOUT);
    try {
      await loopbackOnly(browser.context);
      const page = await browser.context.newPage();
      const handoffs = demo.handoffs.length;
      await page.goto(demo.oauth2PageUrl);
      await page.locator('#login:enabled').waitFor({ timeout: TIMEOUT });
      await page.locator('input[name=navigation][value=self]').check();
      await page.locator('#login').click();
      await page.waitForURL((u) => u.href.startsWith(demo.op.issuer), { timeout: TIMEOUT });
      const auth = new URL(page.url());
      await page.waitForSelector('input[name=login]');
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any-password');
      await page.click('button[type=submit]');
      await page.waitForSelector('button:has-text("Continue")');
      await page.click('button[type=submit]');
      await page.locator('#status[data-state=logged-in]').waitFor({ timeout: TIMEOUT });
      assert.equal(await page.locator('[data-claim=name]').first().textContent(), 'Alice Liddell');
      assert.equal(await page.locator('#identity [data-claim=email]').textContent(), 'alice@example.com');
      assert.equal(await page.locator('#identity [data-claim=sub]').textContent(), 'alice');
      assert.equal(await page.locator('#identity [data-claim=iss]').textContent(), demo.op.issuer);
      assert.equal(await page.locator('#identity [data-claim=aud]').textContent(), demo.op.audience);
      assert.equal(page.url(), demo.oauth2PageUrl, 'code, state and iss scrubbed');
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'oidc', status: 200 }]);
      if (auth.pathname.endsWith('/auth')) {
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
        assert.equal(auth.searchParams.get('code_challenge').length, 43);
      }
    } finally {
      await browser.close();
    }
  });

  test('consent denied: authorization_denied on the page, no handoff', async () => {
    const { browser, ext } = await openHost('self');
    try {
      const handoffs = demo.handoffs.length;
      const tokenRequests = demo.console.tokenRequests;
      await ext.locator('#login').click();
      await ext.locator('button[value=deny]').click({ timeout: TIMEOUT });
      await expectError(ext, 'authorization_denied');
      assert.match(await ext.locator('#error-detail').textContent(), /access_denied/);
      assert.equal(await ext.locator('#steps li[data-step=consent]').getAttribute('class'), 'error');
      assert.equal(demo.handoffs.length, handoffs);
      assert.equal(demo.console.tokenRequests, tokenRequests);
    } finally {
      await browser.close();
    }
  });

  test('tampered state: state_unknown on the page, nothing sent to the backend or the console', async () => {
    const { browser, page, ext, frame } = await openHost('self');
    try {
      const handoffs = demo.handoffs.length;
      const tokenRequests = demo.console.tokenRequests;
      await ext.locator('#login').click();
      await ext.locator('button[value=allow]').waitFor({ timeout: TIMEOUT });
      // An attacker changes the state of the authorization request on its way to the console.
      const consoleFrame = page.frames().find((f) => f.url().startsWith(demo.console.url) && f.url().includes('/authz'));
      const authz = new URL(consoleFrame.url());
      const state = authz.searchParams.get('state');
      const tampered = `${state.slice(0, -4)}${state.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      authz.searchParams.set('state', tampered);
      await consoleFrame.goto(authz.href);
      await ext.locator('button[value=allow]').click({ timeout: TIMEOUT });
      await expectError(ext, 'state_unknown');
      assert.equal(frame().url(), demo.extensionUrl, 'scrubbed on failure too');
      assert.equal(demo.handoffs.length, handoffs, 'no handoff');
      assert.equal(demo.console.tokenRequests, tokenRequests, 'no token request');
    } finally {
      await browser.close();
    }
  });

  test('expired code: handoff_failed with the console\'s invalid_grant on the page', async () => {
    const { browser, ext } = await openHost('self');
    try {
      const handoffs = demo.handoffs.length;
      // The code expires while the browser is on its way back to the callback: the consent form's
      // POST goes to the console, then its redirect (code + state) is held until the code expired.
      // (Playwright does not route the redirected request itself, so the POST is the hook.)
      let expired = 0;
      await browser.context.route(
        (u) => u.href.startsWith(demo.console.url) && u.pathname.endsWith('/authz'),
        async (route) => {
          if (route.request().method() !== 'POST') return route.fallback();
          const response = await route.fetch({ maxRedirects: 0 });
          assert.match(response.headers().location ?? '', /[?&]code=/);
          demo.console.expireCodes();
          expired += 1;
          return route.fulfill({ response });
        },
      );
      await ext.locator('#login').click();
      await ext.locator('button[value=allow]').click({ timeout: TIMEOUT });
      await expectError(ext, 'handoff_failed');
      assert.match(await ext.locator('#error-detail').textContent(), /HTTP 401.*invalid_grant/);
      assert.equal(await ext.locator('#steps li[data-step=handoff]').getAttribute('class'), 'error');
      assert.equal(expired, 1);
      assert.deepEqual(demo.handoffs.slice(handoffs), [{ scenario: 'console', status: 401 }]);
    } finally {
      await browser.close();
    }
  });
});

describe('demo CLI (node www/demo.mjs)', () => {
  test('prints the URL to open, serves it, and stops cleanly on SIGINT (exit 0, ports closed)', async () => {
    const script = fileURLToPath(new URL('../../www/demo.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, '--console-port', '0', '--extension-port', '0', '--oidc-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      const url = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out} ${err}`)), TIMEOUT);
        child.stdout.on('data', (d) => {
          out += d;
          const m = out.match(/Open (http:\/\/localhost:\d+\/tenants\/demo-tenant\/extensions\/demo-extension)/);
          if (m) { clearTimeout(timer); resolve(m[1]); }
        });
        child.once('exit', (code) => reject(new Error(`exited early (${code}): ${err}`)));
      });
      await new Promise((r) => setTimeout(r, 100)); // the rest of the guide
      assert.match(out, /Ctrl-C/);
      assert.doesNotMatch(out + err, /oidc-provider WARNING/, 'the provider\'s development warnings stay out of the guide');
      const hostPage = await fetch(url.replace('localhost', '127.0.0.1'));
      assert.equal(hostPage.status, 200);
      const extOrigin = out.match(/Extension\s+(http:\/\/127\.0\.0\.1:\d+)/)[1];
      const config = await (await fetch(`${extOrigin}/extension/config.json`)).json();
      assert.equal(config.console.consoleUrl, new URL(url).origin);
      const wasm = await fetch(`${extOrigin}/pkg/wasm/client/extension_sso_client_bg.wasm`);
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      await wasm.arrayBuffer();

      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGINT');
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.match(out, /stopped\./);
      await assert.rejects(fetch(`${extOrigin}/extension/config.json`), 'the extension server is closed');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
