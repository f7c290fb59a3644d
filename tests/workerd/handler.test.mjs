// createHandoffHandler as a worker module inside the real workerd runtime (127.0.0.1), with the
// JwksVerifier from 'extension-sso/verifier' fetching the host's /jwks over loopback.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import { startWorker } from '../support/workerd.mjs';
import { startSeed002Provider } from '../support/seed002-provider.mjs';
import { startConsole } from '../../www/console/server.mjs';
import { seed002Code, consoleCode } from '../support/auth-codes.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REDIRECT = 'http://127.0.0.1:9/extension/callback';
const EXT_ORIGIN = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';

// Two handlers in one worker: /json/* answers the token JSON (seed 002 host, oauth2 profile,
// client_secret_post); /cookie/* sets a session cookie (dev console host, mia-console profile).
function workerSource(config) {
  return `
import { createHandoffHandler, ServiceClientTokenProvider } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

const config = ${JSON.stringify(config)};
const errors = [];
const onError = (e, ctx) => { errors.push({ code: e?.code ?? String(e), status: ctx.status }); };

const json = createHandoffHandler({
  profile: 'oauth2', tokenEndpoint: config.seed002.tokenEndpoint, issuer: config.seed002.issuer,
  jwksUri: config.seed002.jwksUri, clientId: config.seed002.clientId,
  clientSecret: config.seed002.clientSecret, clientAuth: 'client_secret_post', redirectUri: config.redirectUri,
  allowedOrigins: [config.origin], tokenPath: '/json/token', userinfoPath: '/json/userinfo', maxBodyBytes: 2048,
  verifier: new JwksVerifier({ jwksUri: config.seed002.jwksUri, issuer: config.seed002.issuer, audience: config.seed002.clientId }),
  onError,
});
const cookie = createHandoffHandler({
  profile: 'mia-console', consoleUrl: config.console.url, allowedOrigins: [config.origin],
  tokenPath: '/cookie/token', userinfoPath: '/cookie/userinfo',
  session: { cookie: 'sid', secure: true, sameSite: 'Lax' },
  verifier: new JwksVerifier({ jwksUri: config.console.url + '/jwks', issuer: config.console.issuer, audience: 'ext1' }),
  onError,
});

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/__errors') return Response.json(errors);
    if (pathname === '/__mint') {
      // Seed 001 inside workerd: mint, then verify with the verifier entry (WebCrypto Ed25519).
      const provider = new ServiceClientTokenProvider(config.accessKey, 'https://api.platform.example');
      const token = await provider.getToken();
      const claims = await JwksVerifier.fromJwks(provider.publicJwks(), { issuer: provider.issuer, audience: provider.audience }).verify(token);
      return Response.json({ token, claims, jwk: provider.publicJwk(), cached: (await provider.getToken()) === token });
    }
    if (pathname.startsWith('/cookie/')) return cookie(request);
    return json(request);
  },
};
`;
}

describe('createHandoffHandler inside workerd', () => {
  let p;
  let c;
  let worker;
  const post = (path, body, { origin = EXT_ORIGIN, contentType = 'application/json' } = {}) => fetch(worker.url + path, {
    method: 'POST',
    headers: { ...(origin ? { origin } : {}), 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  before(async () => {
    p = await startSeed002Provider();
    c = await startConsole({ extensions: [{ tenantId: 't1', extensionId: 'ext1', callbackUrl: REDIRECT }] });
    const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    worker = await startWorker(workerSource({
      accessKey: `sc_w.kid-w.acc-w.${der}`,
      redirectUri: REDIRECT,
      origin: EXT_ORIGIN,
      seed002: { tokenEndpoint: p.tokenEndpoint, clientId: p.clientId, clientSecret: p.clientSecret, jwksUri: p.jwksUri, issuer: p.issuer },
      console: { url: c.localUrl, issuer: c.issuer },
    }), { resolveDir: ROOT });
  });
  after(async () => {
    await worker?.stop();
    await p?.close();
    await c?.close();
  });

  test('good handoff → token JSON verified in workerd; userinfo with the Bearer token', async () => {
    const { code, state } = await seed002Code(p, { redirectUri: REDIRECT });
    const res = await post('/json/token', { code, state, redirect_uri: REDIRECT });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), EXT_ORIGIN);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.refresh_token, undefined);
    assert.deepEqual(body.identity, {
      sub: '108895602905678655677', email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper', username: 'grace',
    });
    const sent = new URLSearchParams(p.lastTokenRequest().body);
    assert.equal(sent.get('client_secret'), p.clientSecret);
    assert.equal(p.lastTokenRequest().headers.authorization, undefined);

    const info = await fetch(`${worker.url}/json/userinfo`, { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(info.status, 200);
    assert.equal((await info.json()).first_name, 'Grace');

    const again = await post('/json/token', { code, state, redirect_uri: REDIRECT });
    assert.equal(again.status, 401);
    assert.equal((await again.json()).error, 'invalid_grant');
  });

  test('session cookie mode (seed 000 console): Set-Cookie, then userinfo with the cookie', async () => {
    const { code, state } = await consoleCode(c, { state: 'st-workerd' });
    const res = await post('/cookie/token', { code, state });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(c.lastTokenRequest, { code, state: 'st-workerd' });
    const [setCookie] = res.headers.getSetCookie();
    assert.match(setCookie, /^sid=[\w.-]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
    const body = await res.json();
    assert.equal(body.access_token, undefined);
    assert.equal(body.identity.name, 'Ada Lovelace');

    const info = await fetch(`${worker.url}/cookie/userinfo`, { headers: { cookie: setCookie.split(';')[0], origin: EXT_ORIGIN } });
    assert.equal(info.status, 200);
    assert.equal(info.headers.get('access-control-allow-origin'), EXT_ORIGIN);
    assert.equal((await info.json()).sub, 'user-ada');

    const none = await fetch(`${worker.url}/cookie/userinfo`);
    assert.equal(none.status, 401);
  });

  test('bad JSON → 400, wrong origin → 403, GET → 405, oversized → 413, wrong media type → 415', async () => {
    let res = await post('/json/token', '{not json');
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_request');

    res = await post('/json/token', { code: 'c', state: 's' }, { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await res.body.cancel();

    res = await fetch(`${worker.url}/json/token`, { headers: { origin: EXT_ORIGIN } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
    await res.body.cancel();

    res = await post('/json/token', { code: 'x'.repeat(4000), state: 's' });
    assert.equal(res.status, 413);
    await res.body.cancel();

    res = await post('/json/token', 'code=c&state=s', { contentType: 'text/plain' });
    assert.equal(res.status, 415);
    await res.body.cancel();
  });

  test('OPTIONS preflight', async () => {
    const res = await fetch(`${worker.url}/json/token`, {
      method: 'OPTIONS',
      headers: { origin: EXT_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), EXT_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type');
  });

  test('host failures: 500 → 502 retryable, invalid JSON → 502; both reported to onError', async () => {
    p.failNext(500);
    let res = await post('/json/token', { code: 'c', state: 's', redirect_uri: REDIRECT });
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), {
      error: 'token_endpoint_error',
      error_description: "the host's token endpoint refused or failed the exchange; see the server logs",
      retryable: true,
    });
    p.failNext(200, 'not json');
    res = await post('/json/token', { code: 'c', state: 's', redirect_uri: REDIRECT });
    assert.equal(res.status, 502);
    assert.equal((await res.json()).retryable, undefined);
    const errors = await (await fetch(`${worker.url}/__errors`)).json();
    assert.deepEqual(errors.slice(-2), [{ code: 'token_endpoint_error', status: 502 }, { code: 'token_endpoint_error', status: 502 }]);
  });

  test('good tokens still work after a burst of bad requests (no poisoned isolate)', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => post('/json/token', i % 2 ? '{' : { code: '', state: 's' }).then((r) => r.body.cancel())));
    const { code, state } = await seed002Code(p, { redirectUri: REDIRECT });
    const res = await post('/json/token', { code, state, redirect_uri: REDIRECT });
    assert.equal(res.status, 200);
    assert.ok(!worker.logs().includes('RuntimeError'), worker.logs());
  });

  test('ServiceClientTokenProvider mints in workerd; the token verifies there and with jose', async () => {
    const { token, claims, jwk, cached } = await (await fetch(`${worker.url}/__mint`)).json();
    assert.equal(claims.sub, 'sc_w');
    assert.equal(claims.aud, 'acc-w.accounts.authress.io');
    assert.equal(cached, true);
    const { payload, protectedHeader } = await jose.jwtVerify(token, await jose.importJWK(jwk, 'EdDSA'),
      { issuer: 'https://api.platform.example/v1/clients/sc_w', audience: 'acc-w.accounts.authress.io' });
    assert.equal(payload.sub, 'sc_w');
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: 'kid-w', typ: 'JWT' });
  });
});
