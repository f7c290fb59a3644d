// A tiny extension site on 127.0.0.1 for browser end-to-end tests: HTML pages that load the
// browser entry of extension-sso/client from pkg/ (`await init()`), construct an ExtensionClient
// from `site.options` (set per test), complete a callback when the page is one, and show the
// outcome on screen; plus JSON API routes played by the test (the extension's backend).
//
//   const site = await startExtensionSite({ pages: ['/index.html', '/callback.html'],
//     api: { '/api/token': async (body, req) => ({ status: 200, json: {...} }) } });
//   site.origin; site.options = {...}; site.apiCalls  // [{ path, body }]
//
// On screen: #status ('idle' | 'ok' | 'error:<code>'), #token, #user, #device, #identity (JSON of
// getUserIdentity().claims when `site.showIdentity` is true). With `site.handleCallbacks = false` a
// callback page loads without completing (the test holds the callback URL). window.__result holds
// { ok: true, session, identity? } or { ok: false, code, name, message, status, isError }.
import { createServer } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { join, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

export function listen(server, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => { server.off('error', reject); resolve(server.address().port); });
  });
}

export function closeServer(server) {
  return new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function page(site) {
  const cfg = JSON.stringify({ options: site.options, showIdentity: site.showIdentity, handleCallbacks: site.handleCallbacks }).replace(/</g, '\\u003c');
  return `<!doctype html><meta charset="utf-8"><title>extension</title>
<script type="importmap">{"imports":{"extension-sso/client":"/pkg/client.browser.js"}}</script>
<script>window.__CFG = ${cfg}; window.__result = null;</script>
<button id="login">Log in</button> <output id="status">idle</output>
<p>user <output id="user"></output> device <output id="device"></output></p>
<p>token <output id="token"></output></p>
<pre id="identity"></pre>
<script type="module">
import init, { ExtensionClient } from 'extension-sso/client';
await init();
const client = new ExtensionClient(window.__CFG.options);
window.__client = client;
const $ = (id) => document.getElementById(id);
const report = (p) => p.then(async (s) => {
  const result = { ok: true, session: s };
  if (window.__CFG.showIdentity) {
    result.identity = await client.getUserIdentity();
    $('identity').textContent = JSON.stringify(result.identity.claims);
  }
  $('user').textContent = s.userId ?? '';
  $('device').textContent = s.deviceId ?? '';
  $('token').textContent = s.accessToken ?? '';
  $('status').textContent = 'ok';
  window.__result = result;
}).catch((e) => {
  window.__result = { ok: false, code: e.code, name: e.name, message: e.message, status: e.status, isError: e instanceof Error };
  $('status').textContent = 'error:' + e.code;
});
$('login').onclick = () => report(client.login());
if (window.__CFG.handleCallbacks && client.isCallback(location.href)) report(client.handleCallback(location.href));
window.__ready = true;
</script>`;
}

/**
 * @param {object} o
 * @param {string[]} o.pages   paths answered with the test page
 * @param {Record<string, (body: any, req: import('node:http').IncomingMessage) => Promise<{status: number, json?: any}>>} [o.api]
 *   POST JSON routes (the extension backend)
 */
export async function startExtensionSite({ pages, api = {} }) {
  const pkgDir = await realpath(join(ROOT, 'pkg'));
  const site = { options: null, showIdentity: false, handleCallbacks: true, apiCalls: [] };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (req.method === 'GET' && pages.includes(url.pathname)) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(site));
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
      if (req.method === 'POST' && api[url.pathname]) {
        const body = JSON.parse(await readBody(req));
        site.apiCalls.push({ path: url.pathname, body });
        const { status, json } = await api[url.pathname](body, req);
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(json ?? {}));
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err?.message ?? err) }));
    }
  });
  const port = await listen(server);
  site.origin = `http://127.0.0.1:${port}`;
  site.close = () => closeServer(server);
  return site;
}

/** Only loopback traffic (the provider's pages @import a web font). */
export async function loopbackOnly(context) {
  await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());
}

/** Signs in (any password) and consents on oidc-provider's development pages. */
export async function signInAndConsent(page, login = 'alice') {
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any-password');
  await page.click('button[type=submit]');
  await page.waitForSelector('button:has-text("Continue")');
  await page.click('button[type=submit]');
}

/**
 * On `url` (a page of the extension site): clicks Log in, signs in and consents at the provider
 * whose pages start with `issuer`, and returns window.__result.
 */
export async function loginAtProvider(page, url, issuer) {
  await page.goto(url);
  await page.waitForFunction(() => window.__ready === true);
  await page.click('#login');
  await page.waitForURL((u) => u.href.startsWith(issuer));
  await signInAndConsent(page);
  return resultOf(page);
}

/** Waits for window.__result on the page and returns it. */
export async function resultOf(page, timeout = 30_000) {
  await page.waitForFunction(() => window.__result !== null, null, { timeout });
  return page.evaluate(() => window.__result);
}
