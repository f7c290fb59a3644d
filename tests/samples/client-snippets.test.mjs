// README's client samples (examples/client/*.ts) run as written in Chromium (types stripped),
// loading the packed tarball's browser build: each profile's options are accepted by the
// constructor and give the authorization URL of that host; the host bridge installs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { samplesProject, transpiled } from './project.mjs';
import { startStaticServer } from '../support/static-server.mjs';
import { launchProfile } from '../support/browser.mjs';

const PROFILES = ['oauth2', 'console', 'matrix', 'auth-service'];

describe('README client samples (Chromium)', () => {
  let project;
  let site;
  let browser;
  let results;

  before(async () => {
    project = await samplesProject();
    for (const name of [...PROFILES, 'host-bridge']) await transpiled(project, 'examples', 'client', `${name}.ts`);
    const page = `<!doctype html><meta charset="utf-8"><title>samples</title>
<script type="importmap">{"imports":{"extension-sso/client":"/node_modules/extension-sso/client.browser.js"}}</script>
<iframe id="extension" src="about:blank"></iframe>
<script type="module">
import init, { ExtensionSsoError } from 'extension-sso/client';
const results = {};
// The mistake README warns about: an ExtensionClient before init().
try { await import('/examples/client/oauth2.mjs?before-init'); results.beforeInit = 'constructed'; }
catch (e) { results.beforeInit = { code: e.code, message: e.message, branded: e instanceof ExtensionSsoError }; }
await init();
for (const name of ${JSON.stringify(PROFILES)}) {
  try {
    const { client } = await import('/examples/client/' + name + '.mjs');
    results[name] = { url: await client.authorizationUrl() };
  } catch (e) { results[name] = { error: e.code + ': ' + e.message }; }
}
try { await import('/examples/client/host-bridge.mjs'); results.hostBridge = 'installed'; }
catch (e) { results.hostBridge = e.code + ': ' + e.message; }
window.__results = results;
</script>`;
    site = await startStaticServer(project.dir, ['node_modules/extension-sso', 'examples/client'], { '/index.html': page });
    browser = await launchProfile();
    await browser.context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());
    const tab = await browser.context.newPage();
    await tab.goto(`${site.origin}/index.html`);
    await tab.waitForFunction(() => window.__results !== undefined, null, { timeout: 20_000 });
    results = await tab.evaluate(() => window.__results);
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    project?.close();
  });

  test('oauth2: the authorization request of any OpenID Connect server, with PKCE and extraParams', () => {
    const url = new URL(results.oauth2.url ?? assert.fail(results.oauth2.error));
    assert.equal(`${url.origin}${url.pathname}`, 'https://login.example/authorize');
    const p = url.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), 'my-extension');
    assert.equal(p.get('redirect_uri'), 'https://my-extension.example/');
    assert.equal(p.get('scope'), 'openid profile email');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.equal(p.get('audience'), 'https://api.my-extension.example');
  });

  test("console: the host console's login page for the tenant and the extension", () => {
    const url = new URL(results.console.url ?? assert.fail(results.console.error));
    assert.equal(`${url.origin}${url.pathname}`, 'https://console.example/tenants/acme/extension/my-extension/authz');
    assert.ok(url.searchParams.get('state'));
  });

  test("matrix: the homeserver's SSO redirect for one identity provider", () => {
    const url = new URL(results.matrix.url ?? assert.fail(results.matrix.error));
    assert.equal(`${url.origin}${url.pathname}`, 'https://matrix.example/_matrix/client/v3/login/sso/redirect/oidc');
    assert.match(url.searchParams.get('redirectUrl'), /^https:\/\/my-extension\.example\//);
  });

  test("auth-service: the authentication service's authorize page for the app and provider", () => {
    const url = new URL(results['auth-service'].url ?? assert.fail(results['auth-service'].error));
    assert.equal(`${url.origin}${url.pathname}`, 'https://auth.example/authorize');
    assert.equal(url.searchParams.get('appId'), 'my-extension');
    assert.equal(url.searchParams.get('providerId'), 'okta');
  });

  test('an ExtensionClient made before init() is a coded error that says to call init() first', () => {
    assert.equal(typeof results.beforeInit, 'object', String(results.beforeInit));
    assert.equal(results.beforeInit.branded, true);
    assert.equal(results.beforeInit.code, 'invalid_options');
    assert.match(results.beforeInit.message, /init\(\)/);
  });

  test("host-bridge: the console page's bridge installs", () => {
    assert.equal(results.hostBridge, 'installed');
  });
});
