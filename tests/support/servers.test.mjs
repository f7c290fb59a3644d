// Smoke tests of the local test servers: node --test tests/support/
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';

import { startConsole } from '../../www/console/server.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from './oidc.mjs';
import { startSeed002Provider } from './seed002-provider.mjs';
import { startJwksServer } from './jwks-server.mjs';

const CALLBACK = 'http://127.0.0.1:9/extension/callback?keep=1';

/** Load the authz page, submit it, return the redirect Location (or the failing response). */
async function consoleAuthorize(c, { tenantId = 't1', extensionId = 'ext1', state = 'state-123', decision = 'allow', user } = {}) {
  const page = await fetch(c.authzUrl(tenantId, extensionId, state));
  assert.equal(page.status, 200);
  const html = await page.text();
  const interaction = html.match(/name="interaction" value="([^"]+)"/)[1];
  const csrf = html.match(/name="csrf" value="([^"]+)"/)[1];
  const firstUser = html.match(/name="user" value="([^"]+)"/)[1];
  const cookie = page.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ');
  const res = await fetch(new URL(new URL(c.authzUrl(tenantId, extensionId)).pathname, c.localUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ interaction, csrf, user: user ?? firstUser, decision }),
  });
  return { res, location: res.headers.get('location'), html, interaction, csrf, cookie };
}

const postToken = (c, body, contentType = 'application/json') => fetch(`${c.localUrl}/api/oauth/token`, {
  method: 'POST',
  headers: { 'content-type': contentType },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('dev console (seed 000)', () => {
  let c;
  before(async () => {
    c = await startConsole({
      extensions: [{ tenantId: 't1', extensionId: 'ext1', callbackUrl: CALLBACK, frameUrl: 'http://127.0.0.1:9/extension/', name: 'Ext One' }],
    });
  });
  after(() => c.close());

  test('full flow: authz page → allow → code → token → JWT verified against /jwks', async () => {
    const { res, location, html } = await consoleAuthorize(c, { state: 'st-ok' });
    assert.match(html, /Ada Lovelace/);
    assert.match(html, /Alan Turing/);
    assert.equal(res.status, 302);
    const cb = new URL(location);
    assert.equal(cb.origin + cb.pathname, 'http://127.0.0.1:9/extension/callback');
    assert.equal(cb.searchParams.get('keep'), '1');
    assert.equal(cb.searchParams.get('state'), 'st-ok');
    const code = cb.searchParams.get('code');
    assert.ok(code && code.length >= 40);
    assert.equal(c.issuedCodes(), 1);

    const tr = await postToken(c, { code, state: 'st-ok' });
    assert.equal(tr.status, 200);
    assert.equal(tr.headers.get('cache-control'), 'no-store');
    const tok = await tr.json();
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.expires_in, 3600);
    assert.deepEqual(c.lastTokenRequest, { code, state: 'st-ok' });

    const jwksRes = await fetch(`${c.localUrl}/jwks`);
    assert.equal(jwksRes.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(jwksRes.headers.get('cache-control'), 'public, max-age=300');
    const jwks = await jwksRes.json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kid, await jose.calculateJwkThumbprint(jwks.keys[0]));
    const { payload, protectedHeader } = await jose.jwtVerify(tok.access_token, jose.createLocalJWKSet(jwks), {
      issuer: c.issuer, audience: 'ext1', algorithms: ['ES256'], typ: 'at+jwt', requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    });
    assert.equal(protectedHeader.kid, jwks.keys[0].kid);
    assert.equal(payload.sub, 'user-ada');
    assert.equal(payload.email, 'ada@example.com');
    assert.equal(payload.name, 'Ada Lovelace');
    assert.equal(payload.given_name, 'Ada');
    assert.equal(payload.family_name, 'Lovelace');
    assert.equal(payload.tenant_id, 't1');
    assert.equal(payload.exp - payload.iat, 3600);

    // single use
    const again = await postToken(c, { code, state: 'st-ok' });
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error, 'invalid_grant');
  });

  test('chosen user, state mismatch, expiry, deny, bad requests', async () => {
    const alan = await consoleAuthorize(c, { state: 's2', user: 'user-alan' });
    const code2 = new URL(alan.location).searchParams.get('code');
    const mism = await postToken(c, { code: code2, state: 'other' });
    assert.equal(mism.status, 400);
    assert.equal((await mism.json()).error, 'invalid_grant');

    const a3 = await consoleAuthorize(c, { state: 's3', user: 'user-alan' });
    const code3 = new URL(a3.location).searchParams.get('code');
    const ok = await (await postToken(c, { code: code3, state: 's3' })).json();
    assert.equal(jose.decodeJwt(ok.access_token).sub, 'user-alan');

    const a4 = await consoleAuthorize(c, { state: 's4' });
    const code4 = new URL(a4.location).searchParams.get('code');
    c.expireCodes();
    const exp = await postToken(c, { code: code4, state: 's4' });
    assert.equal(exp.status, 400);
    const expBody = await exp.json();
    assert.equal(expBody.error, 'invalid_grant');
    assert.match(expBody.error_description, /expired/);

    const deny = await consoleAuthorize(c, { state: 's5', decision: 'deny' });
    assert.equal(deny.res.status, 302);
    const d = new URL(deny.location);
    assert.equal(d.searchParams.get('error'), 'access_denied');
    assert.ok(d.searchParams.get('error_description'));
    assert.equal(d.searchParams.get('state'), 's5');
    assert.equal(d.searchParams.get('code'), null);

    const before = c.tokenRequests;
    const bad = await postToken(c, '{not json');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, 'invalid_request');
    const form = await postToken(c, 'code=a&state=b', 'application/x-www-form-urlencoded');
    assert.equal((await form.json()).error, 'invalid_request');
    const extra = await postToken(c, { code: 'a', state: 'b', code_verifier: 'x' });
    assert.equal((await extra.json()).error, 'invalid_request');
    const unknown = await postToken(c, { code: 'nope', state: 'b' });
    assert.equal((await unknown.json()).error, 'invalid_grant');
    assert.equal(c.tokenRequests, before + 4);
    assert.equal((await fetch(`${c.localUrl}/api/oauth/token`)).status, 405);
  });

  test('authz route errors, CSRF (form token + Origin) and single-use interactions', async () => {
    assert.equal((await fetch(c.authzUrl('t1', 'nope', 'x'))).status, 404);
    assert.equal((await fetch(c.authzUrl('other-tenant', 'ext1', 'x'))).status, 404);
    assert.equal((await fetch(c.authzUrl('t1', 'ext1'))).status, 400);
    assert.equal((await fetch(c.authzUrl('t1', 'ext1', ''))).status, 400);

    const page = await fetch(c.authzUrl('t1', 'ext1', 'csrf-state'));
    const html = await page.text();
    const interaction = html.match(/name="interaction" value="([^"]+)"/)[1];
    const csrf = html.match(/name="csrf" value="([^"]+)"/)[1];
    const cookie = page.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ');
    const path = new URL(c.authzUrl('t1', 'ext1')).pathname;
    const submit = (fields, cookieHeader) => fetch(`${c.localUrl}${path}`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookieHeader ? { cookie: cookieHeader } : {}) },
      body: new URLSearchParams(fields),
    });
    assert.equal((await submit({ interaction, csrf: 'wrong', user: 'user-ada', decision: 'allow' }, cookie)).status, 403);
    // a cross-site form post (Origin of another site) is refused
    const cross = await fetch(`${c.localUrl}${path}`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: new URLSearchParams({ interaction, csrf, user: 'user-ada', decision: 'allow' }),
    });
    assert.equal(cross.status, 403);
    assert.equal((await submit({ interaction: 'made-up', csrf, user: 'user-ada', decision: 'allow' }, cookie)).status, 400);
    const okRes = await submit({ interaction, csrf, user: 'user-ada', decision: 'allow' }, cookie);
    assert.equal(okRes.status, 302);
    const replay = await submit({ interaction, csrf, user: 'user-ada', decision: 'allow' }, cookie);
    assert.equal(replay.status, 400);
  });

  test('host page frames the extension and carries the navigation bridge; /jwks rotation', async () => {
    const res = await fetch(`${c.localUrl}/`);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(html, /Dev Console/);
    assert.match(html, /<iframe[^>]+src="http:\/\/127\.0\.0\.1:9\/extension\/"/);
    assert.doesNotMatch(html, /sandbox=/);
    assert.match(html, /extension-sso:navigate-result/);
    assert.match(res.headers.get('content-security-policy'), /frame-src 'self' http:\/\/127\.0\.0\.1:9;/);
    assert.equal((await fetch(c.hostPageUrl('t1', 'ext1').replace(c.url, c.localUrl))).status, 200);
    assert.equal((await fetch(`${c.localUrl}/tenants/t1/extensions/zzz`)).status, 404);

    const oldKid = c.signingKid;
    const newKid = c.rotateKey();
    assert.notEqual(newKid, oldKid);
    const jwks = await (await fetch(`${c.localUrl}/jwks`)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), [oldKid, newKid]);
    const { location } = await consoleAuthorize(c, { state: 'rot' });
    const tok = await (await postToken(c, { code: new URL(location).searchParams.get('code'), state: 'rot' })).json();
    assert.equal(jose.decodeProtectedHeader(tok.access_token).kid, newKid);
    await jose.jwtVerify(tok.access_token, jose.createLocalJWKSet(jwks), { issuer: c.issuer, audience: 'ext1' });
  });

  test('app registration API', async () => {
    const reg = (id, body) => fetch(`${c.localUrl}/api/extensions/${id}/app`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal((await reg('ext1', { callbackUrl: 'not a url' })).status, 400);
    assert.equal((await reg('unknown', { callbackUrl: 'http://127.0.0.1:9/cb' })).status, 404);
    const created = await reg('ext2', { tenantId: 't2', callbackUrl: 'http://127.0.0.1:9/two/cb' });
    assert.equal(created.status, 201);
    const { location } = await consoleAuthorize(c, { tenantId: 't2', extensionId: 'ext2', state: 'two' });
    assert.ok(location.startsWith('http://127.0.0.1:9/two/cb?code='));
    const updated = await reg('ext2', { callbackUrl: 'http://127.0.0.1:9/two/cb2' });
    assert.equal(updated.status, 200);
    const again = await consoleAuthorize(c, { tenantId: 't2', extensionId: 'ext2', state: 'two' });
    assert.ok(again.location.startsWith('http://127.0.0.1:9/two/cb2?code='));
  });
});

test('dev console: publicHostname sets the issuer, the clock is injectable', async () => {
  let t = Date.UTC(2030, 0, 1);
  const c = await startConsole({
    publicHostname: 'localhost',
    codeTtlSec: 5,
    now: () => t,
    extensions: [{ tenantId: 't', extensionId: 'e', callbackUrl: 'http://127.0.0.1:9/cb' }],
  });
  try {
    assert.equal(c.issuer, `http://localhost:${c.port}`);
    assert.equal(c.localUrl, `http://127.0.0.1:${c.port}`);
    const a = await consoleAuthorize(c, { tenantId: 't', extensionId: 'e', state: 's' });
    const code = new URL(a.location).searchParams.get('code');
    t += 6000;
    const res = await postToken(c, { code, state: 's' });
    assert.equal((await res.json()).error, 'invalid_grant');
    const b = await consoleAuthorize(c, { tenantId: 't', extensionId: 'e', state: 's' });
    const tok = await (await postToken(c, { code: new URL(b.location).searchParams.get('code'), state: 's' })).json();
    const claims = jose.decodeJwt(tok.access_token);
    assert.equal(claims.iss, `http://localhost:${c.port}`);
    assert.equal(claims.iat, Math.floor(t / 1000));
  } finally {
    await c.close();
  }
});

describe('oidc-provider', () => {
  const redirectUri = 'http://127.0.0.1:9/oidc/cb';
  let op;
  before(async () => {
    op = await startOidcProvider({
      audience: 'ext-api',
      clients: [
        { client_id: 'basic-client', client_secret: 'basic-secret', redirect_uris: [redirectUri] },
        { client_id: 'post-client', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [redirectUri] },
        { client_id: 'public-client', redirect_uris: [redirectUri] },
      ],
    });
  });
  after(() => op.close());

  const token = (params, headers = {}) => fetch(op.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(params),
  });
  const basic = (id, secret) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

  test('client_secret_basic + PKCE: code, iss, JWT access token, refresh', async () => {
    const pkce = pkcePair();
    const r = await obtainAuthorizationCode({
      issuer: op.issuer, clientId: 'basic-client', redirectUri, scope: 'openid email offline_access api:read', state: 'st-op', ...pkce,
    });
    assert.equal(r.state, 'st-op');
    assert.equal(r.iss, op.issuer);
    assert.ok(r.code);

    // wrong verifier fails
    const wrong = await token({ grant_type: 'authorization_code', code: r.code, redirect_uri: redirectUri, code_verifier: pkcePair().codeVerifier }, basic('basic-client', 'basic-secret'));
    assert.equal(wrong.status, 400);
    assert.equal((await wrong.json()).error, 'invalid_grant');

    const r2 = await obtainAuthorizationCode({
      issuer: op.issuer, clientId: 'basic-client', redirectUri, scope: 'openid email offline_access api:read', state: 'st-op2', ...pkce,
    });
    const bad = await token({ grant_type: 'authorization_code', code: r2.code, redirect_uri: redirectUri, code_verifier: pkce.codeVerifier }, basic('basic-client', 'nope'));
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).error, 'invalid_client');
    const res = await token({ grant_type: 'authorization_code', code: r2.code, redirect_uri: redirectUri, code_verifier: pkce.codeVerifier }, basic('basic-client', 'basic-secret'));
    const t = await res.json();
    assert.equal(res.status, 200, JSON.stringify(t));
    assert.equal(t.token_type, 'Bearer');
    assert.ok(t.refresh_token);
    assert.ok(t.id_token);
    const { payload, protectedHeader } = await jose.jwtVerify(t.access_token, jose.createRemoteJWKSet(new URL(op.jwksUri)), {
      issuer: op.issuer, audience: 'ext-api', typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');
    const idt = await jose.jwtVerify(t.id_token, jose.createLocalJWKSet(op.jwks), { issuer: op.issuer, audience: 'basic-client' });
    assert.equal(idt.protectedHeader.alg, 'RS256');

    const rf = await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token }, basic('basic-client', 'basic-secret'));
    const t2 = await rf.json();
    assert.equal(rf.status, 200, JSON.stringify(t2));
    assert.notEqual(t2.access_token, t.access_token);
    const v2 = await jose.jwtVerify(t2.access_token, jose.createLocalJWKSet(op.jwks), { issuer: op.issuer, audience: 'ext-api' });
    assert.equal(v2.payload.sub, 'alice');

    // a replayed code fails, and (RFC 6749 §4.1.2) revokes what was issued from it
    const reused = await token({ grant_type: 'authorization_code', code: r2.code, redirect_uri: redirectUri, code_verifier: pkce.codeVerifier }, basic('basic-client', 'basic-secret'));
    assert.equal((await reused.json()).error, 'invalid_grant');
    const revoked = await token({ grant_type: 'refresh_token', refresh_token: t2.refresh_token ?? t.refresh_token }, basic('basic-client', 'basic-secret'));
    assert.equal((await revoked.json()).error, 'invalid_grant');
  });

  test('client_secret_post without offline_access still gets a refresh token; public client needs PKCE; deny', async () => {
    const r = await obtainAuthorizationCode({ issuer: op.issuer, clientId: 'post-client', redirectUri, scope: 'openid', state: 'p', login: 'bob' });
    const res = await token({ grant_type: 'authorization_code', code: r.code, redirect_uri: redirectUri, client_id: 'post-client', client_secret: 'post-secret' });
    const t = await res.json();
    assert.equal(res.status, 200, JSON.stringify(t));
    assert.ok(t.refresh_token);
    assert.equal(jose.decodeJwt(t.access_token).sub, 'bob');

    const noPkce = await obtainAuthorizationCode({ issuer: op.issuer, clientId: 'public-client', redirectUri, state: 'q' });
    assert.equal(noPkce.error, 'invalid_request');
    assert.equal(noPkce.code, undefined);
    const pkce = pkcePair();
    const pub = await obtainAuthorizationCode({ issuer: op.issuer, clientId: 'public-client', redirectUri, state: 'q', ...pkce });
    const pr = await token({ grant_type: 'authorization_code', code: pub.code, redirect_uri: redirectUri, client_id: 'public-client', code_verifier: pkce.codeVerifier });
    assert.equal(pr.status, 200);

    const denied = await obtainAuthorizationCode({ issuer: op.issuer, clientId: 'basic-client', redirectUri, state: 'd', deny: true });
    assert.equal(denied.error, 'access_denied');
    assert.equal(denied.state, 'd');
    assert.equal(denied.iss, op.issuer);
  });
});

describe('seed 002 provider', () => {
  const redirectUri = 'http://127.0.0.1:9/complete/custom_oauth_2/';
  let p;
  before(async () => { p = await startSeed002Provider({ clientId: 'cid', clientSecret: 'csecret' }); });
  after(() => p.close());

  const authorize = async (params) => {
    const u = new URL(p.authorizationEndpoint);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return fetch(u, { redirect: 'manual' });
  };
  const full = { client_id: 'cid', state: 'S', redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile email' };
  const codeFrom = async (params = full) => {
    const res = await authorize(params);
    assert.equal(res.status, 302);
    return new URL(res.headers.get('location'));
  };
  const token = (params, headers = {}) => fetch(p.tokenEndpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params),
  });

  test('authorize requires every parameter and redirects with state, code, scope, prompt=consent', async () => {
    for (const k of Object.keys(full)) {
      const { [k]: _omit, ...rest } = full;
      assert.equal((await authorize(rest)).status, 400, `missing ${k}`);
    }
    const loc = await codeFrom();
    assert.equal(loc.origin + loc.pathname, redirectUri);
    assert.equal(loc.searchParams.get('state'), 'S');
    assert.equal(loc.searchParams.get('scope'), 'openid profile email');
    assert.equal(loc.searchParams.get('prompt'), 'consent');
    assert.ok(loc.searchParams.get('code'));
  });

  test('token: secret in body only, redirect_uri must match, code single use, refresh', async () => {
    const code = (await codeFrom()).searchParams.get('code');
    const basicRes = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri },
      { authorization: `Basic ${Buffer.from('cid:csecret').toString('base64')}` });
    assert.equal(basicRes.status, 401);
    assert.equal((await basicRes.json()).error, 'invalid_client');
    assert.equal((await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri })).status, 401);
    assert.equal((await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_secret: 'wrong' })).status, 401);
    assert.equal((await (await token({ grant_type: 'authorization_code', code, client_secret: 'csecret' })).json()).error, 'invalid_request');

    const res = await token({ grant_type: 'authorization_code', code, client_id: 'cid', client_secret: 'csecret', redirect_uri: redirectUri });
    const t = await res.json();
    assert.equal(res.status, 200, JSON.stringify(t));
    assert.deepEqual(Object.keys(t).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    assert.equal(t.token_type, 'Bearer');
    assert.equal(t.expires_in, 3599);
    assert.equal(t.scope, 'openid profile email');
    const jwks = jose.createRemoteJWKSet(new URL(p.jwksUri));
    const { payload, protectedHeader } = await jose.jwtVerify(t.access_token, jwks, { issuer: p.issuer, audience: 'cid' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.first_name, 'Grace');
    assert.equal(payload.last_name, 'Hopper');
    assert.equal(payload.username, 'grace');
    assert.equal(payload.email, 'grace@example.com');
    await jose.jwtVerify(t.id_token, jwks, { issuer: p.issuer, audience: 'cid' });

    const reused = await token({ grant_type: 'authorization_code', code, client_secret: 'csecret', redirect_uri: redirectUri });
    assert.equal(reused.status, 400);
    assert.equal((await reused.json()).error, 'invalid_grant');

    const code2 = (await codeFrom()).searchParams.get('code');
    const mism = await token({ grant_type: 'authorization_code', code: code2, client_secret: 'csecret', redirect_uri: 'http://127.0.0.1:9/other' });
    assert.equal((await mism.json()).error, 'invalid_grant');

    const rf = await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'cid', client_secret: 'csecret' });
    const t2 = await rf.json();
    assert.equal(rf.status, 200);
    assert.equal(t2.token_type, 'Bearer');
    assert.notEqual(t2.access_token, t.access_token);
    assert.equal((await jose.jwtVerify(t2.access_token, jwks, { issuer: p.issuer, audience: 'cid' })).payload.email, 'grace@example.com');
    assert.equal((await (await token({ grant_type: 'refresh_token', refresh_token: 'nope', client_secret: 'csecret' })).json()).error, 'invalid_grant');
  });

  test('hooks: failNext, delayNext, denyNext, setUser', async () => {
    p.failNext(500, { error: 'server_error' });
    assert.equal((await token({ grant_type: 'authorization_code' })).status, 500);
    p.failNext(200, '{not json');
    const broken = await token({ grant_type: 'authorization_code' });
    assert.equal(broken.status, 200);
    await assert.rejects(broken.json());
    // back to normal
    assert.equal((await token({ grant_type: 'authorization_code', client_secret: 'csecret' })).status, 400);

    p.delayNext(300);
    const t0 = Date.now();
    await token({ grant_type: 'authorization_code', client_secret: 'csecret' });
    assert.ok(Date.now() - t0 >= 250);

    p.denyNext();
    const denied = await codeFrom();
    assert.equal(denied.searchParams.get('error'), 'access_denied');
    assert.equal(denied.searchParams.get('state'), 'S');

    p.setUser('linus');
    const code = (await codeFrom()).searchParams.get('code');
    p.setUser(null);
    const t = await (await token({ grant_type: 'authorization_code', code, client_secret: 'csecret', redirect_uri: redirectUri })).json();
    assert.equal(jose.decodeJwt(t.access_token).username, 'linus');
    assert.ok(p.tokenRequests() >= 5);
  });
});

test('jwks server hooks', async () => {
  const key = await jose.exportJWK((await jose.generateKeyPair('ES256', { extractable: true })).publicKey);
  const jwks = { keys: [{ ...key, kid: 'k1', alg: 'ES256', use: 'sig' }] };
  const s = await startJwksServer({ jwks });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/jwks$/);
    let res = await fetch(s.url, { headers: { accept: 'application/jwk-set+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    assert.deepEqual(await res.json(), jwks);
    assert.equal(s.hits(), 1);
    assert.equal(s.lastRequest().headers.accept, 'application/jwk-set+json');

    s.setJwks({ keys: [] });
    assert.deepEqual(await (await fetch(s.url)).json(), { keys: [] });
    s.setStatus(500);
    assert.equal((await fetch(s.url)).status, 500);
    s.setStatus(200);
    s.setBody('{not json');
    assert.equal(await (await fetch(s.url)).text(), '{not json');
    s.setBody(null);
    s.setCacheControl('max-age=7');
    assert.equal((await fetch(s.url)).headers.get('cache-control'), 'max-age=7');
    s.setCacheControl(null);
    assert.equal((await fetch(s.url)).headers.get('cache-control'), null);
    s.setRedirect('http://127.0.0.1:9/elsewhere');
    res = await fetch(s.url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'http://127.0.0.1:9/elsewhere');
    s.setRedirect(null);
    s.setDelay(250);
    const t0 = Date.now();
    await (await fetch(s.url)).text();
    assert.ok(Date.now() - t0 >= 200);
    // a request still waiting when the server closes does not keep close() waiting
    s.setDelay(10_000);
    const pending = fetch(s.url).then(() => 'answered', () => 'aborted');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.hits(), 9);
    await s.close();
    assert.equal(await pending, 'aborted');
  } finally {
    await s.close().catch(() => {});
  }
});

// The host page in a real browser: the top-navigation bridge and navigation 'self' inside the
// frame, with the console (localhost) and the extension (127.0.0.1) on different sites.
test('dev console in Chromium: navigation bridge and framed login', { skip: !existsSync(process.env.CHROMIUM || '/usr/bin/chromium') && 'no Chromium' }, async () => {
  const { launchProfile } = await import('./browser.mjs');
  const ext = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>ext</title><h3 id="ext">Extension</h3><div id="log"></div><script>
window.addEventListener('message', (e) => { document.getElementById('log').textContent += JSON.stringify(e.data) + '@' + e.origin + ';'; });
window.go = (url) => parent.postMessage({ type: 'extension-sso:navigate', url }, '*');
</script>`);
  });
  await new Promise((r) => ext.listen(0, '127.0.0.1', r));
  const extUrl = `http://127.0.0.1:${ext.address().port}/extension/`;
  const c = await startConsole({
    publicHostname: 'localhost',
    extensions: [{ tenantId: 'demo-tenant', extensionId: 'demo-extension', frameUrl: extUrl, callbackUrl: `${extUrl}callback`, name: 'Demo Extension' }],
  });
  const browser = await launchProfile();
  try {
    const page = await browser.context.newPage();
    const warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    await page.goto(`${c.url}/`);
    const frame = await (await page.waitForSelector('#extension-frame')).contentFrame();
    await frame.waitForSelector('#ext');

    // refused: another console route, a look-alike on another origin
    await frame.evaluate((u) => window.go(u), `${c.url}/jwks`);
    await frame.evaluate((u) => window.go(u), 'http://127.0.0.1:9/tenants/demo-tenant/extension/demo-extension/authz?state=x');
    await frame.evaluate((u) => window.go(u), c.authzUrl('demo-tenant', 'other-extension', 'x'));
    await page.waitForTimeout(150);
    assert.equal(page.url(), `${c.url}/`);
    assert.equal(warnings.filter((w) => w.includes('ignored')).length, 3);
    const refused = `${JSON.stringify({ type: 'extension-sso:navigate-result', ok: false })}@${c.url};`;
    assert.equal(await frame.textContent('#log'), refused.repeat(3), 'the frame hears ok: false (no 3 s wait)');

    // accepted: this extension's authz route → ok: true to the frame, then the top navigates; after
    // consent the console returns to the host page, which frames the callback with code and state
    const nav = page.waitForURL(/\/authz\?state=st-top&return_to=host$/);
    await frame.evaluate((u) => window.go(u), c.authzUrl('demo-tenant', 'demo-extension', 'st-top'));
    await nav;
    await page.getByText('Alan Turing').click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(c.hostPageUrl('demo-tenant', 'demo-extension')); // callback parameters scrubbed
    const cbFrame = await (await page.waitForSelector('#extension-frame')).contentFrame();
    const top = new URL(cbFrame.url());
    assert.equal(`${top.origin}${top.pathname}`, `${extUrl}callback`);
    assert.equal(top.searchParams.get('state'), 'st-top');
    const tok = await (await postToken(c, { code: top.searchParams.get('code'), state: 'st-top' })).json();
    assert.equal(jose.decodeJwt(tok.access_token).sub, 'user-alan');

    // navigation 'self': the frame goes to the authz page and comes back to the callback, inside the frame
    await page.goto(`${c.url}/`);
    const f2 = await (await page.waitForSelector('#extension-frame')).contentFrame();
    await f2.waitForSelector('#ext');
    await f2.evaluate((u) => { window.location.href = u; }, c.authzUrl('demo-tenant', 'demo-extension', 'st-self'));
    await f2.waitForSelector('button[value="deny"]');
    await f2.click('button[value="deny"]');
    await f2.waitForURL(/\/extension\/callback\?/);
    const inFrame = new URL(f2.url());
    assert.equal(inFrame.searchParams.get('error'), 'access_denied');
    assert.equal(inFrame.searchParams.get('state'), 'st-self');
    assert.equal(page.url(), `${c.url}/`);
  } finally {
    await browser.close();
    await c.close();
    await new Promise((r) => { ext.close(r); ext.closeAllConnections(); });
  }
});
