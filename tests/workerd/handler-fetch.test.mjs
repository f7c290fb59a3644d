// The server entry inside workerd: a custom fetch makes every request (recorded, tagged), discovery
// from the issuer alone, an AbortSignal cancels; against the real oidc-provider on 127.0.0.1.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startWorker } from '../support/workerd.mjs';
import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';

const SOURCE = `
import { exchangeCode, ExtensionSsoError } from 'extension-sso/server';

export default {
  async fetch(request) {
    const { issuer, code, abort } = await request.json();
    const seen = [];
    const fetch = (url, init) => {
      seen.push(init.method + ' ' + new URL(url).pathname);
      return globalThis.fetch(url, { ...init, headers: [...init.headers, ['x-tag', 'workerd-test']] });
    };
    const controller = new AbortController();
    if (abort) controller.abort(new Error('gave up'));
    try {
      const tokens = await exchangeCode({
        issuer, clientId: 'web', clientSecret: 'web-secret', redirectUri: '${REDIRECT}', code, fetch, signal: controller.signal,
      });
      return Response.json({ seen, tokenType: tokens.tokenType, idToken: tokens.idToken });
    } catch (e) {
      return Response.json({ seen, code: e.code, retryable: e.retryable, ours: e instanceof ExtensionSsoError, cause: e.cause?.message });
    }
  },
};
`;

/**
 * Around the tests of the enclosing describe: oidc-provider (client `web`) and a worker running
 * `source`; `env.call(body)` posts `body` to the worker and resolves its JSON.
 */
function providerAndWorker(source) {
  const env = {};
  before(async () => {
    env.op = await startOidcProvider({ clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT] }] });
    env.worker = await startWorker(source);
  });
  after(async () => { await env.worker?.stop(); await env.op?.close(); });
  env.call = async (body) => (await fetch(env.worker.url, { method: 'POST', body: JSON.stringify(body) })).json();
  return env;
}

describe('exchangeCode inside workerd', () => {
  const env = providerAndWorker(SOURCE);
  const { call } = env;

  test('the custom fetch makes discovery and the token request', async () => {
    const { code } = await obtainAuthorizationCode({ issuer: env.op.issuer, clientId: 'web', redirectUri: REDIRECT, scope: 'email', state: 's' });
    const result = await call({ issuer: env.op.issuer, code });
    assert.equal(result.code, undefined, JSON.stringify(result));
    assert.equal(result.tokenType, 'Bearer');
    assert.deepEqual(result.seen, ['GET /.well-known/openid-configuration', 'POST /token']);
  });

  test('an aborted signal rejects aborted before any request', async () => {
    const result = await call({ issuer: env.op.issuer, code: 'c', abort: true });
    assert.deepEqual([result.code, result.retryable, result.ours, result.cause], ['aborted', false, true, 'gave up']);
    assert.deepEqual(result.seen, []);
  });
});

// The ID Token inside workerd: the verifier entry is loaded by the server entry's dynamic import
// (bundled as wrangler does), the token validated, a forgotten nonce refused.
const ID_TOKEN_SOURCE = `
import { exchangeCode } from 'extension-sso/server';

export default {
  async fetch(request) {
    const { issuer, code, nonce } = await request.json();
    try {
      const tokens = await exchangeCode({ issuer, clientId: 'web', clientSecret: 'web-secret', redirectUri: '${REDIRECT}', code, nonce });
      return Response.json({ claims: tokens.idTokenClaims, idToken: typeof tokens.idToken });
    } catch (e) {
      return Response.json({ code: e.code, message: e.message });
    }
  },
};
`;

describe('ID Tokens inside workerd', () => {
  const env = providerAndWorker(ID_TOKEN_SOURCE);
  const { call } = env;
  const code = (nonce) => obtainAuthorizationCode({ issuer: env.op.issuer, clientId: 'web', redirectUri: REDIRECT, scope: 'openid email', state: 's', nonce });

  test('validated against the issuer\'s keys, with its nonce; a forgotten nonce is refused', async () => {
    let result = await call({ issuer: env.op.issuer, code: (await code('n-workerd')).code, nonce: 'n-workerd' });
    assert.equal(result.code, undefined, JSON.stringify(result));
    assert.equal(result.idToken, 'string');
    assert.deepEqual([result.claims.iss, result.claims.sub, result.claims.aud, result.claims.nonce, result.claims.email],
      [env.op.issuer, 'alice', 'web', 'n-workerd', 'alice@example.com']);
    result = await call({ issuer: env.op.issuer, code: (await code('n-workerd')).code });
    assert.equal(result.code, 'invalid_claim');
    assert.match(result.message, /pass nonce/);
  });
});
