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

describe('exchangeCode inside workerd', () => {
  let op;
  let worker;
  before(async () => {
    op = await startOidcProvider({ clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT] }] });
    worker = await startWorker(SOURCE);
  });
  after(async () => { await worker?.stop(); await op?.close(); });

  const call = async (body) => (await fetch(worker.url, { method: 'POST', body: JSON.stringify(body) })).json();

  test('the custom fetch makes discovery and the token request', async () => {
    const { code } = await obtainAuthorizationCode({ issuer: op.issuer, clientId: 'web', redirectUri: REDIRECT, scope: 'email', state: 's' });
    const result = await call({ issuer: op.issuer, code });
    assert.equal(result.code, undefined, JSON.stringify(result));
    assert.equal(result.tokenType, 'Bearer');
    assert.deepEqual(result.seen, ['GET /.well-known/openid-configuration', 'POST /token']);
  });

  test('an aborted signal rejects aborted before any request', async () => {
    const result = await call({ issuer: op.issuer, code: 'c', abort: true });
    assert.deepEqual([result.code, result.retryable, result.ours, result.cause], ['aborted', false, true, 'gave up']);
    assert.deepEqual(result.seen, []);
  });
});
