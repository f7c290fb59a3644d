// extension-sso/server under Node, against real servers on 127.0.0.1: oidc-provider 9 (RFC 6749
// + PKCE), a seed-002 provider, the seed-000 dev console and a fake Matrix homeserver.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import {
  exchangeCode, refreshTokens, matrixTokenLogin, createHandoffHandler, toNodeListener,
  ServiceClientTokenProvider, identityFromClaims,
} from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';
import { startSeed002Provider } from '../support/seed002-provider.mjs';
import { startConsole } from '../../www/console/server.mjs';
import { seed002Code, consoleCode, startFakeHomeserver, closedPort } from '../support/auth-codes.mjs';

const REDIRECT = 'http://127.0.0.1:9/extension/callback';
const EXT_ORIGIN = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';

async function rejects(promise, expected) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, 'ExtensionSsoError', `${e.name}: ${e.message}`);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(e[k], v, `${k} of ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection with ${JSON.stringify(expected)}`);
}

async function listen(handler) {
  const server = createServer(toNodeListener(handler));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

const handoff = (url, body, { origin = EXT_ORIGIN, contentType = 'application/json', ...rest } = {}) => fetch(url, {
  method: 'POST',
  headers: { ...(origin ? { origin } : {}), 'content-type': contentType },
  body: typeof body === 'string' || body instanceof ReadableStream ? body : JSON.stringify(body),
  ...rest,
});

describe('oidc-provider (RFC 6749 authorization_code + PKCE, refresh_token)', () => {
  let op;
  before(async () => {
    op = await startOidcProvider({
      clients: [
        { client_id: 'basic-client', client_secret: 'basic secret/with:chars', redirect_uris: [REDIRECT] },
        { client_id: 'post-client', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [REDIRECT] },
      ],
    });
  });
  after(() => op.close());

  const code = async (clientId, extra = {}) => obtainAuthorizationCode({
    issuer: op.issuer, clientId, redirectUri: REDIRECT, scope: 'openid email offline_access api:read', state: 'st', ...extra,
  });

  test('exchangeCode (client_secret_basic + PKCE), verify, then refreshTokens', async () => {
    const pkce = pkcePair();
    const r = await code('basic-client', { codeChallenge: pkce.codeChallenge });
    const before = Date.now() / 1000;
    const tokens = await exchangeCode({
      profile: 'oauth2', issuer: op.issuer, tokenEndpoint: op.tokenEndpoint, clientId: 'basic-client', clientSecret: 'basic secret/with:chars',
      clientAuth: 'client_secret_basic', redirectUri: REDIRECT, code: r.code, codeVerifier: pkce.codeVerifier,
    });
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(typeof tokens.accessToken, 'string');
    assert.equal(typeof tokens.refreshToken, 'string');
    assert.equal(typeof tokens.idToken, 'string');
    assert.match(tokens.scope, /api:read/);
    assert.equal(tokens.expiresIn, 600);
    assert.ok(tokens.expiresAt >= Math.floor(before) + 600 && tokens.expiresAt <= Date.now() / 1000 + 601);
    assert.equal(tokens.raw.access_token, tokens.accessToken);

    const verifier = new JwksVerifier({ jwksUri: op.jwksUri, issuer: op.issuer, audience: op.audience });
    const claims = await verifier.verify(tokens.accessToken);
    assert.equal(claims.sub, 'alice');
    assert.equal(identityFromClaims(claims).email, 'alice@example.com');

    const fresh = await refreshTokens({
      issuer: op.issuer, clientId: 'basic-client', clientSecret: 'basic secret/with:chars', refreshToken: tokens.refreshToken,
    });
    assert.notEqual(fresh.accessToken, tokens.accessToken);
    assert.equal((await verifier.verify(fresh.accessToken)).sub, 'alice');
  });

  test('client_secret_post', async () => {
    const r = await code('post-client', { login: 'bob' });
    const tokens = await exchangeCode({
      issuer: op.issuer, clientId: 'post-client', clientSecret: 'post-secret', clientAuth: 'client_secret_post',
      redirectUri: REDIRECT, code: r.code,
    });
    assert.equal(tokens.tokenType, 'Bearer');
  });

  test('wrong secret: token_endpoint_error with error invalid_client, not retryable, secret not echoed', async () => {
    const r = await code('basic-client');
    const e = await rejects(exchangeCode({
      tokenEndpoint: op.tokenEndpoint, clientId: 'basic-client', clientSecret: 'wrong-secret', redirectUri: REDIRECT, code: r.code,
    }), { code: 'token_endpoint_error', error: 'invalid_client', status: 401, retryable: false });
    assert.ok(!e.message.includes('wrong-secret') && !e.message.includes(r.code));
  });

  test('reused code: invalid_grant', async () => {
    const r = await code('basic-client');
    const opts = { issuer: op.issuer, tokenEndpoint: op.tokenEndpoint, clientId: 'basic-client', clientSecret: 'basic secret/with:chars', redirectUri: REDIRECT, code: r.code };
    await exchangeCode(opts);
    await rejects(exchangeCode(opts), { code: 'token_endpoint_error', error: 'invalid_grant', status: 400, retryable: false });
  });
});

describe('seed 002 provider (secret in the body only, no PKCE, scope, refresh)', () => {
  let p;
  let base;
  before(async () => {
    p = await startSeed002Provider();
    // The seed 002 provider publishes no discovery document: its key set is configured.
    base = { tokenEndpoint: p.tokenEndpoint, issuer: p.issuer, jwksUri: p.jwksUri, clientId: p.clientId, clientSecret: p.clientSecret, clientAuth: 'client_secret_post' };
  });
  after(() => p.close());

  test('exchangeCode + refreshTokens with client_secret_post; seed 002 identity claims', async () => {
    const { code } = await seed002Code(p, { redirectUri: REDIRECT });
    const tokens = await exchangeCode({ ...base, redirectUri: REDIRECT, code });
    const sent = p.lastTokenRequest();
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(sent.headers.accept, 'application/json');
    assert.equal(sent.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(sent.body)), {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: p.clientId, client_secret: p.clientSecret,
    });
    assert.equal(tokens.expiresIn, 3599);
    assert.equal(tokens.scope, 'openid profile email');

    const verifier = JwksVerifier.fromJwks(p.jwks, { issuer: p.issuer, audience: p.clientId });
    const identity = identityFromClaims(await verifier.verify(tokens.accessToken));
    assert.deepEqual(identity, {
      sub: '108895602905678655677', id: null, email: 'grace@example.com', name: null,
      firstName: 'Grace', lastName: 'Hopper', username: 'grace', groups: [],
    });

    const fresh = await refreshTokens({ ...base, refreshToken: tokens.refreshToken, scope: 'openid email' });
    assert.deepEqual(Object.fromEntries(new URLSearchParams(p.lastTokenRequest().body)), {
      grant_type: 'refresh_token', refresh_token: tokens.refreshToken, scope: 'openid email', client_id: p.clientId, client_secret: p.clientSecret,
    });
    assert.equal((await verifier.verify(fresh.accessToken)).email, 'grace@example.com');
  });

  test('client_secret_basic is refused by a seed 002 server: invalid_client', async () => {
    const { code } = await seed002Code(p, { redirectUri: REDIRECT });
    await rejects(exchangeCode({ ...base, clientAuth: 'client_secret_basic', redirectUri: REDIRECT, code }),
      { code: 'token_endpoint_error', error: 'invalid_client', status: 401 });
  });

  test('wrong secret (post): invalid_client with the server description', async () => {
    const { code } = await seed002Code(p, { redirectUri: REDIRECT });
    await rejects(exchangeCode({ ...base, clientSecret: 'nope', redirectUri: REDIRECT, code }),
      { code: 'token_endpoint_error', error: 'invalid_client', error_description: 'wrong client_secret', retryable: false });
  });

  test('token endpoint 500: retryable token_endpoint_error', async () => {
    p.failNext(500, { error: 'server_error' });
    await rejects(exchangeCode({ ...base, redirectUri: REDIRECT, code: 'x' }),
      { code: 'token_endpoint_error', status: 500, retryable: true, error: 'server_error' });
    p.failNext(503, '<html>down</html>', { 'content-type': 'text/html' });
    await rejects(refreshTokens({ ...base, refreshToken: 'r' }), { code: 'token_endpoint_error', status: 503, retryable: true });
  });

  test('invalid JSON from the token endpoint: token_endpoint_error, not retryable', async () => {
    p.failNext(200, 'this is not json {');
    await rejects(exchangeCode({ ...base, redirectUri: REDIRECT, code: 'x' }),
      { code: 'token_endpoint_error', status: 200, retryable: false });
    p.failNext(200, { token_type: 'Bearer' });
    await rejects(exchangeCode({ ...base, redirectUri: REDIRECT, code: 'x' }), { code: 'token_endpoint_error' });
  });

  test('timeout: retryable network_error naming timeoutMs', async () => {
    p.delayNext(3000);
    const e = await rejects(exchangeCode({ ...base, redirectUri: REDIRECT, code: 'x', timeoutMs: 150 }),
      { code: 'network_error', retryable: true });
    assert.match(e.message, /150 ms/);
  });
});

test('network failure (connection refused): retryable network_error with a cause', async () => {
  const port = await closedPort();
  const e = await rejects(exchangeCode({
    tokenEndpoint: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, code: 'x',
  }), { code: 'network_error', retryable: true });
  assert.ok(e.cause);
  await rejects(matrixTokenLogin({ homeserverUrl: `http://127.0.0.1:${port}`, loginToken: 't' }), { code: 'network_error', retryable: true });
});

test('options are checked before any request', async () => {
  const o = { tokenEndpoint: 'https://as.example/token', clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, code: 'x' };
  let e = await rejects(exchangeCode({ ...o, tokenEndpont: 'typo' }), { code: 'invalid_options' });
  assert.match(e.message, /tokenEndpont/);
  await rejects(exchangeCode({ ...o, tokenEndpoint: 'http://as.example/token' }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, clientAuth: 'private_key_jwt' }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, clientSecret: undefined }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, redirectUri: undefined }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, codeVerifier: 'short' }), { code: 'invalid_options' });
  e = await rejects(exchangeCode({ profile: 'mia-console', consoleUrl: 'https://console.example', tokenEndpoint: 'x', code: 'c', state: 's' }),
    { code: 'invalid_options' });
  assert.match(e.message, /tokenEndpoint is not used by the "mia-console" profile/);
  await rejects(exchangeCode({ profile: 'mia-console', consoleUrl: 'https://console.example', code: 'c' }), { code: 'invalid_options' });
  // The oauth2-only settings of a code exchange are refused for the other profiles, not ignored.
  for (const [name, value] of [['redirectUri', REDIRECT], ['codeVerifier', 'v'.repeat(43)], ['nonce', 'n']]) {
    for (const profile of [{ profile: 'mia-console', consoleUrl: 'https://console.example' }, { profile: 'mia-auth-service', authServiceUrl: 'https://auth.example' }]) {
      e = await rejects(exchangeCode({ ...profile, code: 'c', state: 's', [name]: value, fetch: () => assert.fail('no request') }),
        { code: 'invalid_options' });
      assert.match(e.message, new RegExp(`${name} is not used by the "${profile.profile}" profile`));
    }
  }
  await rejects(exchangeCode({ profile: 'keycloak', code: 'c' }), { code: 'invalid_options' });
  await rejects(exchangeCode(null), { code: 'invalid_options' });
  await rejects(refreshTokens({ tokenEndpoint: 'https://as.example/token', clientId: 'c', clientSecret: 's' }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, timeoutMs: 0 }), { code: 'invalid_options' });
  // Wrong types name the option; an explicit null reads as "not set".
  e = await rejects(exchangeCode({ ...o, timeoutMs: 1.5 }), { code: 'invalid_options' });
  assert.match(e.message, /timeoutMs must be a whole non-negative number/);
  e = await rejects(exchangeCode({ ...o, clientId: 5 }), { code: 'invalid_options' });
  assert.match(e.message, /clientId must be a string/);
  e = await rejects(exchangeCode({ ...o, clientSecret: null }), { code: 'invalid_options' });
  await rejects(exchangeCode({ ...o, big: 1n }), { code: 'invalid_options' });
});

describe('dev console (seed 000, profile mia-console)', () => {
  let c;
  before(async () => {
    c = await startConsole({ extensions: [{ tenantId: 't1', extensionId: 'ext1', callbackUrl: REDIRECT }] });
  });
  after(() => c.close());

  test('exchangeCode posts exactly {code, state}; the token verifies against the console /jwks', async () => {
    const { code, state } = await consoleCode(c, { state: 'st-console' });
    const tokens = await exchangeCode({ profile: 'mia-console', consoleUrl: `${c.localUrl}/`, code, state });
    assert.deepEqual(c.lastTokenRequest, { code, state: 'st-console' });
    assert.equal(tokens.refreshToken, null);
    const verifier = new JwksVerifier({ jwksUri: `${c.localUrl}/jwks`, issuer: c.issuer, audience: 'ext1' });
    const claims = await verifier.verify(tokens.accessToken);
    assert.equal(claims.tenant_id, 't1');
    const identity = identityFromClaims(claims);
    assert.equal(identity.firstName, 'Ada');
    assert.equal(identity.lastName, 'Lovelace');
    assert.equal(identity.email, 'ada@example.com');

    await rejects(exchangeCode({ profile: 'mia-console', consoleUrl: c.localUrl, code, state }),
      { code: 'token_endpoint_error', error: 'invalid_grant' });
  });

  test('wrong state: invalid_grant', async () => {
    const { code } = await consoleCode(c, { state: 'right' });
    await rejects(exchangeCode({ profile: 'mia-console', consoleUrl: c.localUrl, code, state: 'wrong' }),
      { code: 'token_endpoint_error', error: 'invalid_grant' });
  });
});

describe('matrixTokenLogin (seed 003) against a fake homeserver', () => {
  let hs;
  before(async () => { hs = await startFakeHomeserver({ tokens: { 'lt-1': '@alice:matrix.example', 'lt-2': '@bob:matrix.example' } }); });
  after(() => hs.close());

  test('checks the flows, then POSTs {type: m.login.token, token, ...}', async () => {
    const m = await matrixTokenLogin({ homeserverUrl: `${hs.url}/`, loginToken: 'lt-1', initialDeviceDisplayName: 'Extension backend' });
    assert.equal(m.userId, '@alice:matrix.example');
    assert.equal(m.deviceId, 'GHTYAJCE');
    assert.match(m.accessToken, /^syt_/);
    assert.equal(m.homeServer, 'matrix.example');
    assert.equal(m.homeserverBaseUrl, `${hs.url}/`);
    const [flows, login] = hs.requests.slice(-2);
    assert.equal(flows.method, 'GET');
    assert.equal(login.method, 'POST');
    assert.equal(login.path, '/_matrix/client/v3/login');
    assert.equal(login.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(login.body), { type: 'm.login.token', token: 'lt-1', initial_device_display_name: 'Extension backend' });
  });

  test('deviceId, checkLoginFlows: false, and a used token (403 M_FORBIDDEN)', async () => {
    const n = hs.requests.length;
    const m = await matrixTokenLogin({ homeserverUrl: hs.url, loginToken: 'lt-2', deviceId: 'DEV1', checkLoginFlows: false });
    assert.equal(m.deviceId, 'DEV1');
    assert.equal(hs.requests.length, n + 1);
    assert.deepEqual(JSON.parse(hs.requests[n].body), { type: 'm.login.token', token: 'lt-2', device_id: 'DEV1' });
    await rejects(matrixTokenLogin({ homeserverUrl: hs.url, loginToken: 'lt-2' }),
      { code: 'token_endpoint_error', error: 'M_FORBIDDEN', status: 403, retryable: false });
  });

  test('a homeserver without m.login.token: unsupported, and no login is attempted', async () => {
    const pw = await startFakeHomeserver({ flows: [{ type: 'm.login.password' }] });
    try {
      await rejects(matrixTokenLogin({ homeserverUrl: pw.url, loginToken: 'x' }), { code: 'unsupported' });
      assert.deepEqual(pw.requests.map((r) => r.method), ['GET']);
    } finally {
      await pw.close();
    }
  });
});

describe('createHandoffHandler under node:http (toNodeListener)', () => {
  let p;
  let c;
  let tokenMode;
  let cookieMode;
  const errors = [];
  before(async () => {
    p = await startSeed002Provider();
    c = await startConsole({ extensions: [{ tenantId: 't1', extensionId: 'ext1', callbackUrl: REDIRECT }] });
    tokenMode = await listen(createHandoffHandler({
      profile: 'oauth2', tokenEndpoint: p.tokenEndpoint, issuer: p.issuer, jwksUri: p.jwksUri, clientId: p.clientId, clientSecret: p.clientSecret,
      clientAuth: 'client_secret_post', redirectUri: REDIRECT, allowedOrigins: [EXT_ORIGIN],
      verifier: new JwksVerifier({ jwksUri: p.jwksUri, issuer: p.issuer, audience: p.clientId }),
      maxBodyBytes: 4096,
      onError: (e, ctx) => errors.push({ code: e.code, status: ctx.status }),
    }));
    cookieMode = await listen(createHandoffHandler({
      profile: 'mia-console', consoleUrl: c.localUrl, allowedOrigins: [EXT_ORIGIN, 'https://ext.example'],
      verifier: new JwksVerifier({ jwksUri: `${c.localUrl}/jwks`, issuer: c.issuer, audience: 'ext1' }),
      session: { cookie: 'sid', secure: true, sameSite: 'None' },
      onError: () => {},
    }));
  });
  after(async () => { await tokenMode.close(); await cookieMode.close(); await p.close(); await c.close(); });

  test('good handoff: token JSON with identity, CORS for the extension, no refresh token', async () => {
    const { code, state } = await seed002Code(p, { redirectUri: REDIRECT });
    const res = await handoff(`${tokenMode.url}/token`, { code, state, redirect_uri: REDIRECT });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), EXT_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.expires_in > 3500 && body.expires_in <= 3599);
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.identity.first_name, 'Grace');
    assert.equal(body.identity.email, 'grace@example.com');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(p.lastTokenRequest().body)).code, code);

    // The access token works on the userinfo endpoint as a Bearer token.
    const info = await fetch(`${tokenMode.url}/userinfo`, { headers: { authorization: `Bearer ${body.access_token}`, origin: EXT_ORIGIN } });
    assert.equal(info.status, 200);
    assert.equal((await info.json()).username, 'grace');

    // Same code again: the host refuses it.
    const again = await handoff(`${tokenMode.url}/token`, { code, state, redirect_uri: REDIRECT });
    assert.equal(again.status, 401);
    assert.equal((await again.json()).error, 'invalid_grant');
  });

  test('bad JSON → 400, missing code → 400, wrong content type → 415', async () => {
    let res = await handoff(`${tokenMode.url}/token`, '{"code": ');
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_request');
    res = await handoff(`${tokenMode.url}/token`, { state: 's' });
    assert.equal(res.status, 400);
    res = await handoff(`${tokenMode.url}/token`, 'code=x&state=y', { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
  });

  test('wrong origin → 403 without CORS; no origin → 403', async () => {
    let res = await handoff(`${tokenMode.url}/token`, { code: 'c', state: 's' }, { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal((await res.json()).error, 'origin_not_allowed');
    res = await handoff(`${tokenMode.url}/token`, { code: 'c', state: 's' }, { origin: null });
    assert.equal(res.status, 403);
  });

  test('GET on the token path → 405 with Allow; unknown path → 404', async () => {
    let res = await fetch(`${tokenMode.url}/token`, { headers: { origin: EXT_ORIGIN } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
    res = await fetch(`${tokenMode.url}/other`);
    assert.equal(res.status, 404);
  });

  test('oversized body → 413 (declared and streamed)', async () => {
    const big = JSON.stringify({ code: 'x'.repeat(5000), state: 's' });
    let res = await handoff(`${tokenMode.url}/token`, big);
    assert.equal(res.status, 413);
    const stream = new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode(big)); ctl.close(); } });
    res = await handoff(`${tokenMode.url}/token`, stream, { duplex: 'half' });
    assert.equal(res.status, 413);
  });

  test('OPTIONS preflight for an allowed origin', async () => {
    const res = await fetch(`${tokenMode.url}/token`, {
      method: 'OPTIONS',
      headers: { origin: EXT_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), EXT_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type');
    assert.equal(res.headers.get('access-control-max-age'), '600');
    const denied = await fetch(`${tokenMode.url}/token`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(denied.status, 403);
  });

  test('token endpoint 500 → 502 retryable, reported to onError', async () => {
    p.failNext(500);
    const res = await handoff(`${tokenMode.url}/token`, { code: 'c', state: 's', redirect_uri: REDIRECT });
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.error, 'token_endpoint_error');
    assert.equal(body.retryable, true);
    assert.deepEqual(errors.at(-1), { code: 'token_endpoint_error', status: 502 });
  });

  test('cookie mode (mia-console): Set-Cookie session, userinfo with the cookie, logout', async () => {
    const { code, state } = await consoleCode(c, { state: 'st-cookie' });
    const res = await handoff(`${cookieMode.url}/token`, { code, state }, { origin: 'https://ext.example' });
    assert.equal(res.status, 200);
    assert.deepEqual(c.lastTokenRequest, { code, state: 'st-cookie' });
    const [setCookie] = res.headers.getSetCookie();
    assert.match(setCookie, /^sid=[\w.-]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=None$/);
    const body = await res.json();
    assert.equal(body.access_token, undefined);
    assert.equal(body.identity.email, 'ada@example.com');
    const cookie = setCookie.split(';')[0];

    const info = await fetch(`${cookieMode.url}/userinfo`, { headers: { cookie, origin: 'https://ext.example' } });
    assert.equal(info.status, 200);
    assert.equal(info.headers.get('access-control-allow-origin'), 'https://ext.example');
    const claims = await info.json();
    assert.equal(claims.sub, 'user-ada');
    assert.equal(claims.tenant_id, 't1');

    const anon = await fetch(`${cookieMode.url}/userinfo`);
    assert.equal(anon.status, 401);
    assert.equal((await anon.json()).error, 'not_logged_in');

    const forged = await fetch(`${cookieMode.url}/userinfo`, { headers: { cookie: `${cookie.slice(0, -4)}AAAA` } });
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).error, 'invalid_token');
    assert.match(forged.headers.getSetCookie()[0], /^sid=; Path=\/; Max-Age=0/);

    const out = await fetch(`${cookieMode.url}/token`, { method: 'DELETE', headers: { origin: 'https://ext.example' } });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0], /^sid=; Path=\/; Max-Age=0/);
  });

  test('handler options are checked', () => {
    const verifier = { verify: async () => ({}) };
    const o = { profile: 'mia-console', consoleUrl: 'https://console.example', allowedOrigins: [EXT_ORIGIN], verifier };
    assert.throws(() => createHandoffHandler({ ...o, verifier: undefined }), { code: 'invalid_options' });
    assert.throws(() => createHandoffHandler({ ...o, allowedOrigins: [] }), { code: 'invalid_options' });
    assert.throws(() => createHandoffHandler({ ...o, allowedOrigins: ['https://ext.example/'] }), { code: 'invalid_options' });
    assert.throws(() => createHandoffHandler({ ...o, session: { cookie: 'sid', sameSite: 'None', secure: false } }), { code: 'invalid_options' });
    assert.throws(() => createHandoffHandler({ ...o, session: { cookeName: 'sid' } }), { code: 'invalid_options', message: /cookeName/ });
    assert.throws(() => createHandoffHandler({ ...o, alowedOrigins: [] }), { code: 'invalid_options', message: /alowedOrigins/ });
    assert.throws(() => createHandoffHandler({ ...o, redirectUri: REDIRECT }), { code: 'invalid_options' });
    assert.equal(typeof createHandoffHandler({ ...o, tokenPath: null, userinfoPath: null }), 'function');
    assert.throws(() => createHandoffHandler({ ...o, allowedOrigins: EXT_ORIGIN }), { code: 'invalid_options', message: /allowedOrigins must be a list of strings/ });
    assert.throws(() => createHandoffHandler({ ...o, session: 'sid' }), { code: 'invalid_options', message: /session/ });
    assert.throws(() => createHandoffHandler({ ...o, session: { secure: 'yes' } }), { code: 'invalid_options', message: /secure must be true or false/ });
  });
});

describe('ServiceClientTokenProvider (seed 001)', () => {
  const ISSUER_URL = 'https://api.platform.example';

  function authressKey() {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    return `sc_client1.kid-1.acc-42.${der}`;
  }

  test('Authress-format Ed25519 key: verifies with JwksVerifier and with jose', async () => {
    const provider = new ServiceClientTokenProvider({ accessKey: authressKey(), issuerUrl: ISSUER_URL });
    assert.equal(provider.algorithm, 'EdDSA');
    assert.equal(provider.keyId, 'kid-1');
    assert.equal(provider.issuer, `${ISSUER_URL}/v1/clients/sc_client1`);
    assert.equal(provider.audience, 'acc-42.accounts.authress.io');
    const token = await provider.getToken();

    const ours = await JwksVerifier.fromJwks(provider.publicJwks(), { issuer: provider.issuer, audience: provider.audience }).verify(token);
    assert.equal(ours.sub, 'sc_client1');
    assert.equal(ours.exp - ours.iat, 300);

    const jwk = provider.publicJwk();
    assert.equal(jwk.d, undefined);
    const { payload, protectedHeader } = await jose.jwtVerify(token, await jose.importJWK(jwk, 'EdDSA'),
      { issuer: provider.issuer, audience: provider.audience });
    assert.equal(payload.sub, 'sc_client1');
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: 'kid-1', typ: 'JWT' });
  });

  test('JSON P-256 key, positional (accessKey, issuerUrl) form, custom audience', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const accessKey = JSON.stringify({ clientId: 'svc', keyId: 'p256-key', privateKey: privateKey.export({ format: 'jwk' }) });
    const positional = new ServiceClientTokenProvider(accessKey, ISSUER_URL);
    assert.equal(positional.algorithm, 'ES256');
    assert.equal(positional.audience, ISSUER_URL);
    const provider = new ServiceClientTokenProvider({ accessKey: Buffer.from(accessKey).toString('base64url'), issuerUrl: ISSUER_URL, audience: 'https://api.example/' });
    const token = await provider.getToken();
    const claims = await JwksVerifier.fromJwks(provider.publicJwks(), { issuer: provider.issuer, audience: 'https://api.example/' }).verify(token);
    assert.equal(claims.sub, 'svc');
    await jose.jwtVerify(token, await jose.importJWK(provider.publicJwk(), 'ES256'), { issuer: provider.issuer, audience: 'https://api.example/' });
  });

  test('the token is cached until 60 s before it expires', async () => {
    const provider = new ServiceClientTokenProvider({ accessKey: authressKey(), issuerUrl: ISSUER_URL });
    const realNow = Date.now;
    const start = realNow();
    try {
      Date.now = () => start;
      const first = await provider.getToken();
      Date.now = () => start + 200_000;
      assert.equal(await provider.getToken(), first);
      Date.now = () => start + 240_500;
      const second = await provider.getToken();
      assert.notEqual(second, first);
      assert.equal(await provider.getToken(), second);
    } finally {
      Date.now = realNow;
    }
  });

  test('bad keys and options', () => {
    assert.throws(() => new ServiceClientTokenProvider({ accessKey: 'not-a-key', issuerUrl: ISSUER_URL }), { code: 'invalid_key' });
    assert.throws(() => new ServiceClientTokenProvider({ accessKey: authressKey(), issuerUrl: 'http://api.example' }), { code: 'invalid_options' });
    assert.throws(() => new ServiceClientTokenProvider({ accessKey: authressKey(), issuerUrl: ISSUER_URL, isuerUrl: 'x' }), { code: 'invalid_options' });
    assert.throws(() => new ServiceClientTokenProvider({ issuerUrl: ISSUER_URL }), { code: 'invalid_options' });
  });
});
