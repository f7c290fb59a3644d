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
  const apiCalls = [];
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

    restore = interceptFetch({
      'https://api.example': apiOrigin,
      'https://console.example': consoleOrigin, 'https://matrix.example': homeserverOrigin,
    });
  });

  after(async () => {
    restore?.();
    await closeServer(api);
    await closeServer(consoleServer);
    await closeServer(homeserver);
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

  test("matrix.ts: the client's handoff becomes a Matrix session", async () => {
    const { matrixHandoff } = await import(await transpiled(project, 'examples', 'server', 'matrix.ts'));
    const res = await matrixHandoff(new Request('https://backend.example/api/token', {
      method: 'POST', body: JSON.stringify({ type: 'm.login.token', token: 'login-token-1' }),
    }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { access_token: 'syt_matrix_token', user_id: '@alice:matrix.example', device_id: 'DEVICE1' });
    assert.equal(homeserverLogins.at(-1).initial_device_display_name, 'My extension');
  });
});
