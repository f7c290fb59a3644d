// README's backend samples run as written (types stripped), from a project that installed the
// packed tarball, with `fetch` intercepted from outside so that their example hosts are local:
// - examples/server/exchange.ts against the real oidc-provider (OIDC_ISSUER, as the sample reads it);
// - examples/server/service-client.ts with a generated service-client key, calling an API
//   (api.example → a local server) that checks the token it receives;
// - examples/server/console-handler.ts against a stand-in console (console.example → a local
//   server answering /api/oauth/token and /jwks as a host console does);
// - examples/server/matrix.ts against a stand-in homeserver (matrix.example → a local server
//   answering the Client-Server API's GET and POST /_matrix/client/v3/login).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';

import { samplesProject, transpiled, interceptFetch } from './project.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';
import { listen, closeServer } from '../support/extension-site.mjs';

const CLIENT_ID = 'my-extension';
const CLIENT_SECRET = 'my-extension-secret-0123456789';
const REDIRECT_URI = 'https://my-extension.example/';

describe('README backend samples', () => {
  let project;
  let op;
  let api;
  let apiOrigin;
  let restore;
  let consoleServer;
  let homeserver;
  let evil;
  const apiCalls = [];
  const evilCalls = [];
  const homeserverLogins = [];

  before(async () => {
    project = await samplesProject();
    op = await startOidcProvider({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }],
    });
    api = createServer((req, res) => {
      apiCalls.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    apiOrigin = `http://127.0.0.1:${await listen(api)}`;
    // A host console: exchanges {code, state} for an ES256 access token of the extension.
    const consoleKey = await generateKeyPair('ES256');
    const consoleJwks = { keys: [{ ...(await exportJWK(consoleKey.publicKey)), kid: 'console-1', alg: 'ES256', use: 'sig' }] };
    consoleServer = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      if (req.method === 'GET' && req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(consoleJwks));
        return;
      }
      const { code, state } = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      if (req.method !== 'POST' || req.url !== '/api/oauth/token' || code !== 'console-code' || !state) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        return;
      }
      const accessToken = await new SignJWT({ sub: 'alice', email: 'alice@example.com' })
        .setProtectedHeader({ alg: 'ES256', kid: 'console-1', typ: 'at+jwt' })
        .setIssuer('https://console.example').setAudience('my-extension').setIssuedAt().setExpirationTime('10m')
        .sign(consoleKey.privateKey);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 600 }));
    });
    const consoleOrigin = `http://127.0.0.1:${await listen(consoleServer)}`;

    // A Matrix homeserver offering token login.
    homeserver = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      res.setHeader('content-type', 'application/json');
      if (req.url !== '/_matrix/client/v3/login') return res.writeHead(404).end('{"errcode":"M_UNRECOGNIZED"}');
      if (req.method === 'GET') return res.writeHead(200).end('{"flows":[{"type":"m.login.sso"},{"type":"m.login.token"}]}');
      const body = JSON.parse(Buffer.concat(chunks).toString());
      homeserverLogins.push(body);
      if (body.type !== 'm.login.token' || body.token !== 'login-token-1') return res.writeHead(403).end('{"errcode":"M_FORBIDDEN"}');
      return res.writeHead(200).end(JSON.stringify({ user_id: '@alice:matrix.example', access_token: 'syt_matrix_token', device_id: 'DEVICE1' }));
    });
    const homeserverOrigin = `http://127.0.0.1:${await listen(homeserver)}`;

    // Another host, where a path that leaves the API would send the service client's token.
    evil = createServer((req, res) => {
      evilCalls.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200).end();
    });
    const evilOrigin = `http://127.0.0.1:${await listen(evil)}`;

    restore = interceptFetch({
      'https://api.example': apiOrigin, 'https://evil.example': evilOrigin,
      'https://console.example': consoleOrigin, 'https://matrix.example': homeserverOrigin,
    });
  });

  after(async () => {
    restore?.();
    await closeServer(api);
    await closeServer(consoleServer);
    await closeServer(homeserver);
    await closeServer(evil);
    await op?.close();
    project?.close();
  });

  test('exchange.ts: a code from the provider becomes tokens, and they renew', async () => {
    process.env.OIDC_ISSUER = op.issuer;
    process.env.OIDC_CLIENT_SECRET = CLIENT_SECRET;
    const { tokensForCode, renew } = await import(await transpiled(project, 'examples', 'server', 'exchange.ts'));
    const pkce = pkcePair();
    const { code } = await obtainAuthorizationCode({
      issuer: op.issuer, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: 'openid', state: 'exchange-sample', codeChallenge: pkce.codeChallenge,
    });
    const tokens = await tokensForCode(code, pkce.codeVerifier);
    assert.match(tokens.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(tokens.tokenType, 'Bearer');
    assert.ok(tokens.refreshToken, 'the provider issues refresh tokens to this client');
    assert.equal(tokens.idTokenClaims.sub, 'alice', 'the ID Token was validated');
    const renewed = await renew(tokens);
    assert.notEqual(renewed.accessToken, tokens.accessToken);
    await assert.rejects(renew({ ...tokens, refreshToken: null }), /no refresh token/);
  });

  test('service-client.ts: calls the API with a token signed by the service client key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    process.env.SERVICE_CLIENT_ACCESS_KEY = `sc-client.key-1.acct-1.${pkcs8}`;
    const { platformApi } = await import(await transpiled(project, 'examples', 'server', 'service-client.ts'));
    const res = await platformApi('/v1/things');
    assert.equal(res.status, 200);
    const [call] = apiCalls;
    assert.equal(call.url, '/v1/things');
    const token = call.authorization.replace(/^Bearer /, '');
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'EdDSA' };
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }), { issuer: 'https://login.example/v1/clients/sc-client' });
    assert.equal(payload.sub, 'sc-client');
  });

  test("service-client.ts: a path that names another host is refused; the token goes nowhere but the API's origin", async () => {
    const { platformApi } = await import(await transpiled(project, 'examples', 'server', 'service-client.ts'));
    for (const path of ['//evil.example/collect', '/\\evil.example/collect', 'https://evil.example/collect', 'http://api.example/v1/things']) {
      await assert.rejects(platformApi(path), /leaves https:\/\/api\.example/, path);
    }
    assert.deepEqual(evilCalls, [], 'the other host received nothing');
    const calls = apiCalls.length;
    assert.equal((await platformApi('v1/things?page=2')).status, 200, 'a relative path stays on the API');
    assert.equal(apiCalls.at(calls).url, '/v1/things?page=2');
  });

  test('console-handler.ts: the handoff sets an HttpOnly session cookie; userinfo answers with it', async () => {
    const { handler } = await import(await transpiled(project, 'examples', 'server', 'console-handler.ts'));
    const origin = 'https://my-extension.example';
    const handoff = await handler(new Request('https://backend.example/api/token', {
      method: 'POST', headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'console-code', state: 'console-state' }),
    }));
    const body = await handoff.json();
    assert.equal(handoff.status, 200, JSON.stringify(body));
    assert.equal(body.access_token, undefined, 'the token stays in the cookie');
    assert.equal(body.identity.sub, 'alice');
    const cookie = handoff.headers.getSetCookie()[0];
    assert.match(cookie, /^__Host-session=[^;]+;/);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=None', 'Partitioned']) assert.match(cookie, new RegExp(`; ${attribute}(;|$)`, 'i'));
    const userinfo = await handler(new Request('https://backend.example/api/userinfo', {
      headers: { origin, cookie: cookie.split(';')[0] },
    }));
    assert.equal(userinfo.status, 200);
    assert.equal((await userinfo.json()).email, 'alice@example.com');
  });

  /** The browser client's Matrix handoff as a server runtime hands it over (headers as sent; null = header absent). */
  function matrixRequest(body, headers = {}) {
    const all = { origin: 'https://my-extension.example', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
    return new Request('https://backend.example/api/token', {
      method: 'POST', body, headers: Object.entries(all).filter(([, v]) => v !== null),
    });
  }

  test("matrix.ts: the client's handoff becomes a Matrix session, answered no-store", async () => {
    const { matrixHandoff } = await import(await transpiled(project, 'examples', 'server', 'matrix.ts'));
    const res = await matrixHandoff(matrixRequest(JSON.stringify({ type: 'm.login.token', token: 'login-token-1' })));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { access_token: 'syt_matrix_token', user_id: '@alice:matrix.example', device_id: 'DEVICE1' });
    assert.equal(homeserverLogins.at(-1).initial_device_display_name, 'My extension');
  });

  test('matrix.ts: another origin, another content type, an oversized or bad body are refused before the homeserver; a spent token is a 400', async () => {
    const { matrixHandoff } = await import(await transpiled(project, 'examples', 'server', 'matrix.ts'));
    const good = JSON.stringify({ type: 'm.login.token', token: 'login-token-1' });
    const logins = homeserverLogins.length;
    const refused = [
      [403, matrixRequest(good, { origin: 'https://evil.example' }), 'another origin'],
      [403, matrixRequest(good, { origin: null }), 'no origin'],
      [415, matrixRequest(good, { 'content-type': 'text/plain' }), 'a cross-site simple request'],
      [413, matrixRequest(JSON.stringify({ token: 'x'.repeat(5000) })), 'a body over the cap'],
      [413, matrixRequest(good, { 'content-length': null }), 'a body of unknown length'],
      [400, matrixRequest('{"type":"m.login.token"}'), 'no token'],
      [400, matrixRequest('{"token":42}'), 'a token that is not a string'],
      [400, matrixRequest('not json'), 'not JSON'],
      [400, matrixRequest('null'), 'JSON null'],
      [405, new Request('https://backend.example/api/token', { headers: { origin: 'https://my-extension.example' } }), 'GET'],
    ];
    for (const [status, request, what] of refused) {
      const res = await matrixHandoff(request);
      assert.equal(res.status, status, what);
      assert.equal(res.headers.get('cache-control'), 'no-store', what);
      assert.equal((await res.json()).access_token, undefined, what);
    }
    assert.equal(homeserverLogins.length, logins, 'none of them reached the homeserver');
    const spent = await matrixHandoff(matrixRequest(JSON.stringify({ type: 'm.login.token', token: 'spent-token' })));
    assert.equal(spent.status, 400);
    assert.deepEqual(await spent.json(), { error: 'invalid_grant' });
  });
});
