// The server entry against the real oidc-provider (tests/support/oidc.mjs): discovery from the issuer
// alone, ID Tokens validated (OpenID Connect Core §3.1.3.7) and refused when forged, expired, for
// another audience, with another nonce or an at_hash of another token; custom fetch, AbortSignal and
// the URL rule's opt-out.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import {
  exchangeCode, refreshTokens, matrixTokenLogin, createHandoffHandler, ServiceClientTokenProvider, ExtensionSsoError,
} from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';
import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';
const EXT = 'https://ext.example';
const CLIENT = { clientId: 'web', clientSecret: 'web-secret' };
/** OpenID Connect Core §3.1.3.8 for RS256: the base64url of the left half of SHA-256. */
const atHash = (token) => createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');

async function rejects(promise, expected) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ExtensionSsoError, `${e?.name}: ${e?.message}`);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(e[k], v, `${k} of ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection with ${JSON.stringify(expected)}`);
}

/**
 * A proxy on 127.0.0.1 in front of the provider's token endpoint that passes every answer through
 * `rewrite(tokens)` (the parsed token response), or holds it `delayMs`.
 */
async function tokenProxy(op, rewrite = (t) => t, { delayMs = 0 } = {}) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const upstream = await fetch(op.tokenEndpoint, {
      method: 'POST', headers: { 'content-type': req.headers['content-type'], authorization: req.headers.authorization ?? '' },
      body: Buffer.concat(chunks),
    });
    const text = await upstream.text();
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const body = upstream.ok ? JSON.stringify(await rewrite(JSON.parse(text))) : text;
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    tokenEndpoint: `http://127.0.0.1:${server.address().port}/token`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

describe('exchangeCode against oidc-provider: discovery and the ID Token', () => {
  let op;
  let rsa;
  before(async () => {
    op = await startOidcProvider({
      clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT] }],
    });
    rsa = await jose.importJWK(op.signingJwks.keys.find((k) => k.kty === 'RSA'), 'RS256');
  });
  after(() => op.close());

  const code = (extra = {}) => obtainAuthorizationCode({
    issuer: op.issuer, clientId: 'web', redirectUri: REDIRECT, scope: 'openid email profile', state: 'st', ...extra,
  });

  /** An ID Token the provider could have signed (its own RS256 key), with `claims` over the real one's. */
  async function reissued(idToken, claims, key = rsa, kid = op.signingJwks.keys.find((k) => k.kty === 'RSA').kid) {
    const payload = { ...jose.decodeJwt(idToken), ...claims };
    return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
  }

  test('issuer alone: the token endpoint comes from discovery, the ID Token is validated and its claims returned', async () => {
    const r = await code({ nonce: 'n-0S6_WzA2Mj' });
    const tokens = await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code, nonce: 'n-0S6_WzA2Mj' });
    assert.equal(typeof tokens.idToken, 'string');
    assert.equal(tokens.idTokenClaims.iss, op.issuer);
    assert.equal(tokens.idTokenClaims.sub, 'alice');
    assert.equal(tokens.idTokenClaims.aud, 'web');
    assert.equal(tokens.idTokenClaims.nonce, 'n-0S6_WzA2Mj');
    assert.equal(tokens.idTokenClaims.email, 'alice@example.com');
    // refreshTokens from the issuer alone too; its new ID Token is validated (no nonce check).
    const fresh = await refreshTokens({ issuer: op.issuer, ...CLIENT, refreshToken: tokens.refreshToken });
    assert.equal(fresh.idTokenClaims.sub, 'alice');
  });

  test('an at_hash is checked against the access token (RS256: the left half of its SHA-256)', async () => {
    const proxy = await tokenProxy(op, async (t) => ({ ...t, id_token: await reissued(t.id_token, { at_hash: atHash(t.access_token) }) }));
    try {
      const r = await code();
      const tokens = await exchangeCode({ issuer: op.issuer, tokenEndpoint: proxy.tokenEndpoint, ...CLIENT, redirectUri: REDIRECT, code: r.code });
      assert.equal(tokens.idTokenClaims.at_hash, atHash(tokens.accessToken));
    } finally {
      await proxy.close();
    }
  });

  test('the nonce sent must be the nonce in the ID Token; without one sent, none is required, and one is refused', async () => {
    let r = await code({ nonce: 'nonce-a' });
    let e = await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code, nonce: 'nonce-b' }),
      { code: 'invalid_claim', retryable: false });
    assert.match(e.message, /nonce/);
    assert.ok(!e.message.includes('nonce-a') && !e.message.includes('nonce-b'), 'no nonce in the message');
    r = await code();
    e = await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code, nonce: 'nonce-b' }),
      { code: 'missing_claim' });
    r = await code();
    const tokens = await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code });
    assert.equal(tokens.idTokenClaims.nonce, undefined);
    // The authorization request sent one and the caller forgot to pass it: refused, not unchecked
    // (oauth4webapi's default, expectNoNonce, refuses it too).
    r = await code({ nonce: 'nonce-a' });
    e = await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code }), { code: 'invalid_claim' });
    assert.match(e.message, /pass nonce/);
    assert.ok(!e.message.includes('nonce-a'), 'no nonce in the message');
  });

  for (const [name, tamper, expected] of [
    ['forged (signed by another key under the provider\'s kid)', async (t) => ({
      ...t, id_token: await reissued(t.id_token, {}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    }), { code: 'bad_signature' }],
    ['expired', async (t) => ({ ...t, id_token: await reissued(t.id_token, { iat: 1_000_000_000, exp: 1_000_000_600 }) }), { code: 'expired' }],
    ['for another audience', async (t) => ({ ...t, id_token: await reissued(t.id_token, { aud: 'another-client' }) }), { code: 'audience_mismatch' }],
    ['from another issuer', async (t) => ({ ...t, id_token: await reissued(t.id_token, { iss: 'https://evil.example' }) }), { code: 'issuer_mismatch' }],
    ['with several audiences and no azp', async (t) => ({ ...t, id_token: await reissued(t.id_token, { aud: ['web', 'api'], azp: undefined }) }), { code: 'missing_claim' }],
    ['with the at_hash of another access token', async (t) => ({ ...t, id_token: await reissued(t.id_token, { at_hash: atHash('another') }) }), { code: 'invalid_claim' }],
  ]) {
    test(`an ID Token ${name} is refused with its code, never handed out`, async () => {
      const proxy = await tokenProxy(op, tamper);
      try {
        const r = await code();
        const e = await rejects(exchangeCode({ issuer: op.issuer, tokenEndpoint: proxy.tokenEndpoint, ...CLIENT, redirectUri: REDIRECT, code: r.code }),
          expected);
        assert.match(e.message, /ID Token/);
      } finally {
        await proxy.close();
      }
    });
  }

  test('a token endpoint that returns an ID Token without a configured issuer: invalid_options saying what to pass', async () => {
    const r = await code();
    const e = await rejects(exchangeCode({ tokenEndpoint: op.tokenEndpoint, ...CLIENT, redirectUri: REDIRECT, code: r.code }),
      { code: 'invalid_options' });
    assert.match(e.message, /pass issuer/);
  });

  test('a discovery document naming another issuer: issuer_mismatch, before any token request', async () => {
    let tokenRequests = 0;
    const fetch = (url, init) => { if (String(url).endsWith('/token')) tokenRequests++; return globalThis.fetch(url, init); };
    await rejects(exchangeCode({ issuer: `${op.issuer}/`, ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch }), { code: 'issuer_mismatch' });
    assert.equal(tokenRequests, 0);
  });

  test('a custom fetch makes every request (discovery, token endpoint)', async () => {
    const r = await code({ scope: 'email' });
    const seen = [];
    const fetch = (url, init) => { seen.push(`${init.method} ${new URL(url).pathname}`); return globalThis.fetch(url, init); };
    const tokens = await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: r.code, fetch });
    assert.equal(tokens.idToken, null, 'no openid scope: no ID Token');
    assert.deepEqual(seen, ['GET /.well-known/openid-configuration', 'POST /token']);
  });

  test('an AbortSignal cancels before and during the exchange: aborted, not retryable, cause = reason', async () => {
    const before = AbortSignal.abort(new Error('gave up early'));
    let e = await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: 'c', signal: before }),
      { code: 'aborted', retryable: false });
    assert.equal(e.cause, before.reason);
    const slow = await tokenProxy(op, (t) => t, { delayMs: 2000 });
    try {
      const r = await code();
      const controller = new AbortController();
      const reason = new Error('user left');
      setTimeout(() => controller.abort(reason), 100);
      e = await rejects(exchangeCode({
        issuer: op.issuer, tokenEndpoint: slow.tokenEndpoint, ...CLIENT, redirectUri: REDIRECT, code: r.code, signal: controller.signal,
      }), { code: 'aborted', retryable: false });
      assert.equal(e.cause, reason);
    } finally {
      await slow.close();
    }
  });

  test('timeoutMs covers the ID Token\'s JWK Set request too: a slow one fails retryable', async () => {
    let requests = 0;
    const slowJwks = createServer(async (req, res) => {
      requests++;
      const keys = await (await fetch(op.jwksUri)).text();
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(keys); }, 1500);
    });
    await new Promise((resolve) => slowJwks.listen(0, '127.0.0.1', resolve));
    try {
      const r = await code();
      const e = await rejects(exchangeCode({
        issuer: op.issuer, jwksUri: `http://127.0.0.1:${slowJwks.address().port}/jwks`, ...CLIENT, redirectUri: REDIRECT,
        code: r.code, timeoutMs: 300,
      }), { code: 'jwks_fetch_failed', retryable: true });
      assert.match(e.message, /ID Token/);
      assert.equal(requests, 1);
    } finally {
      slowJwks.closeAllConnections();
      await new Promise((resolve) => slowJwks.close(resolve));
    }
  });

  test('the handler validates the ID Token (nonce from the handoff) and its identity takes the profile claims', async () => {
    const verifier = new JwksVerifier({ jwksUri: op.jwksUri, issuer: op.issuer, audience: op.audience });
    const handler = createHandoffHandler({
      issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, allowedOrigins: [EXT], verifier, onError: () => {},
    });
    const handoff = (body) => handler(new Request('http://api.example/token', {
      method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }));
    let r = await code({ nonce: 'handoff-nonce' });
    let res = await handoff({ code: r.code, state: 'st', nonce: 'handoff-nonce' });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.identity.sub, 'alice');
    assert.equal(body.identity.email, 'alice@example.com', 'from the ID Token: the access token has no email');
    assert.equal(body.identity.name, 'Alice Liddell');
    assert.equal(typeof body.id_token, 'string');
    // Another nonce: refused, 401 invalid_token.
    r = await code({ nonce: 'handoff-nonce' });
    res = await handoff({ code: r.code, state: 'st', nonce: 'not-the-one' });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, 'invalid_token');
  });
});

describe('the URL rule in the server entry', () => {
  const canned = (seen) => async (url) => {
    seen.push(String(url));
    return Response.json({ access_token: 'a.b.c', token_type: 'Bearer' });
  };

  test('plain http to a public host is refused before any request; loopback is allowed; allowInsecureHttp opts out', async () => {
    const seen = [];
    const base = { ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch: canned(seen) };
    for (const options of [
      { tokenEndpoint: 'http://as.example/token' },
      { issuer: 'http://op.example' },
      { tokenEndpoint: 'https://as.example/token', issuer: 'https://op.example', jwksUri: 'http://op.example/jwks' },
    ]) {
      const e = await rejects(exchangeCode({ ...base, ...options }), { code: 'invalid_options' });
      assert.match(e.message, /allowInsecureHttp: true/);
    }
    await rejects(exchangeCode({ profile: 'mia-console', consoleUrl: 'http://console.example', code: 'c', state: 's', fetch: canned(seen) }),
      { code: 'invalid_options' });
    await rejects(refreshTokens({ tokenEndpoint: 'http://as.example/token', ...CLIENT, refreshToken: 'r', fetch: canned(seen) }),
      { code: 'invalid_options' });
    assert.deepEqual(seen, []);
    await exchangeCode({ ...base, tokenEndpoint: 'http://127.0.0.2:9/token' });
    await exchangeCode({ ...base, tokenEndpoint: 'http://localhost:9/token' });
    await exchangeCode({ ...base, tokenEndpoint: 'http://as.internal/token', allowInsecureHttp: true });
    await refreshTokens({ tokenEndpoint: 'http://as.internal/token', ...CLIENT, refreshToken: 'r', allowInsecureHttp: true, fetch: canned(seen) });
    assert.deepEqual(seen, ['http://127.0.0.2:9/token', 'http://localhost:9/token', 'http://as.internal/token', 'http://as.internal/token']);
    assert.throws(() => createHandoffHandler({
      tokenEndpoint: 'http://as.example/token', ...CLIENT, allowedOrigins: [EXT], verifier: { verify: async () => ({}) },
    }), { code: 'invalid_options' });
    createHandoffHandler({
      tokenEndpoint: 'http://as.example/token', ...CLIENT, allowedOrigins: [EXT], verifier: { verify: async () => ({}) }, allowInsecureHttp: true,
    });
  });

  test('matrixTokenLogin and ServiceClientTokenProvider: the same rule and opt-out', async () => {
    const seen = [];
    const homeserver = async (url, init) => {
      seen.push(`${init.method} ${url}`);
      return Response.json(init.method === 'GET'
        ? { flows: [{ type: 'm.login.token' }] }
        : { access_token: 'syt_a', user_id: '@a:matrix.internal', device_id: 'D' });
    };
    const login = { homeserverUrl: 'http://matrix.internal', loginToken: 't', fetch: homeserver };
    const e = await rejects(matrixTokenLogin(login), { code: 'invalid_options' });
    assert.match(e.message, /homeserverUrl/);
    assert.deepEqual(seen, []);
    const session = await matrixTokenLogin({ ...login, allowInsecureHttp: true });
    assert.equal(session.userId, '@a:matrix.internal');
    assert.deepEqual(seen, ['GET http://matrix.internal/_matrix/client/v3/login', 'POST http://matrix.internal/_matrix/client/v3/login']);
    // The homeserver's well_known base_url ("the server to talk to from now on") passes the strict
    // rule or is dropped, whatever the opt-out says about the configured URL.
    for (const [baseUrl, kept] of [
      ['javascript:alert(1)', null], ['http://evil.example', null], ['https://user:pw@evil.example', null],
      ['https://matrix.example', 'https://matrix.example'], ['http://127.0.0.1:8008', 'http://127.0.0.1:8008'],
    ]) {
      const answer = async () => Response.json({
        access_token: 'syt_a', user_id: '@a:matrix.example', device_id: 'D', well_known: { 'm.homeserver': { base_url: baseUrl } },
      });
      const got = await matrixTokenLogin({ ...login, allowInsecureHttp: true, checkLoginFlows: false, fetch: answer });
      assert.equal(got.homeserverBaseUrl, kept, baseUrl);
    }
    const accessKey = JSON.stringify({ clientId: 'svc', privateKey: generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) });
    assert.throws(() => new ServiceClientTokenProvider({ accessKey, issuerUrl: 'http://auth.internal' }), { code: 'invalid_options' });
    const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl: 'http://auth.internal', allowInsecureHttp: true });
    assert.equal(provider.issuer, 'http://auth.internal/v1/clients/svc');
    // getToken's signal: an aborted one rejects before anything is signed.
    const reason = new Error('shutting down');
    const aborted = await rejects(provider.getToken({ signal: AbortSignal.abort(reason) }), { code: 'aborted', retryable: false });
    assert.equal(aborted.cause, reason);
    await rejects(provider.getToken({ signl: AbortSignal.abort() }), { code: 'invalid_options' });
  });
});
