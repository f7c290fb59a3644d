// README's backend samples run as written (types stripped), from a project that installed the
// packed tarball, with `fetch` intercepted from outside so that their example hosts are local:
// - examples/server/exchange.ts against the real oidc-provider (login.example → the provider);
// - examples/server/service-client.ts with a generated service-client key, calling an API
//   (api.example → a local server) that checks the token it receives.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';

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
  let provider;
  const apiCalls = [];

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
    // The provider's token endpoint is at /token; the sample says /oauth/token.
    provider = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const upstream = await fetch(`${op.issuer}${req.url.replace(/^\/oauth\/token/, '/token')}`, {
        method: req.method, headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? '' },
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
        .end(Buffer.from(await upstream.arrayBuffer()));
    });
    const providerOrigin = `http://127.0.0.1:${await listen(provider)}`;
    restore = interceptFetch({ 'https://login.example': providerOrigin, 'https://api.example': apiOrigin });
  });

  after(async () => {
    restore?.();
    await closeServer(api);
    await closeServer(provider);
    await op?.close();
    project?.close();
  });

  test('exchange.ts: a code from the provider becomes tokens, and they renew', async () => {
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
});
