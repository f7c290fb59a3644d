// The issuer metadata cache inside workerd: one fetch function of the isolate (module scope)
// keeps its cache across requests, so exchanges and handoffs of several requests make one
// discovery; concurrent requests make one too, each polling the cache rather than awaiting
// another request's fetch (workerd forbids I/O on behalf of another request); an abort during
// the discovery leaves nothing behind. Against the real oidc-provider on 127.0.0.1.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startWorker } from '../support/workerd.mjs';
import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';
const EXT = 'https://ext.example';

const SOURCE = `
import { exchangeCode, createHandoffHandler } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

const CLIENT = { clientId: 'web', clientSecret: 'web-secret', redirectUri: '${REDIRECT}' };
let discoveries = 0;
let underWay = 0;
let delayMs = 0;
// One fetch for the isolate: its metadata cache outlives each request.
const fetch = (url, init) => {
  if (!new URL(url).pathname.startsWith('/.well-known/')) return globalThis.fetch(url, init);
  discoveries++;
  underWay++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, delayMs);
    init.signal.addEventListener('abort', () => { clearTimeout(timer); reject(init.signal.reason); });
  }).then(() => globalThis.fetch(url, init)).finally(() => { underWay--; });
};
let handler;

export default {
  async fetch(request) {
    const { issuer, audience, code, nonce, delay, abortAfterMs, handoff } = await request.json();
    if (delay !== undefined) delayMs = delay;
    try {
      if (handoff) {
        handler ??= createHandoffHandler({
          issuer, ...CLIENT, allowedOrigins: ['${EXT}'], fetch, onError: () => {},
          verifier: new JwksVerifier({ issuer, audience, jwksUri: issuer + '/jwks' }),
        });
        const res = await handler(new Request('https://api.example/token', {
          method: 'POST', headers: { origin: '${EXT}', 'content-type': 'application/json' },
          body: JSON.stringify({ code, state: 's', nonce }),
        }));
        const body = await res.json();
        return Response.json({ discoveries, status: res.status, email: body.identity?.email, error: body.error });
      }
      const controller = new AbortController();
      if (abortAfterMs !== undefined) setTimeout(() => controller.abort(new Error('gave up')), abortAfterMs);
      // Did this request come while another one's discovery was under way?
      const overlapped = underWay > 0;
      const call = exchangeCode({ issuer, ...CLIENT, code, fetch, signal: controller.signal });
      // A call looks the document up before its first await: did it start a discovery?
      const discoveredAtOnce = discoveries;
      const tokens = await call;
      return Response.json({ discoveries, discoveredAtOnce, overlapped, tokenType: tokens.tokenType });
    } catch (e) {
      return Response.json({ discoveries, code: e.code, message: e.message });
    }
  },
};
`;

/** oidc-provider (client `web`) and the worker around the tests of the enclosing describe. */
function providerAndWorker() {
  const env = {};
  before(async () => {
    env.op = await startOidcProvider({ clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT] }] });
    env.worker = await startWorker(SOURCE);
  });
  after(async () => { await env.worker?.stop(); await env.op?.close(); });
  env.call = async (body) => (await fetch(env.worker.url, {
    method: 'POST', body: JSON.stringify({ issuer: env.op.issuer, audience: env.op.audience, ...body }),
  })).json();
  env.code = async (scope = 'email', nonce = undefined) => (await obtainAuthorizationCode({
    issuer: env.op.issuer, clientId: 'web', redirectUri: REDIRECT, scope, state: 's', nonce,
  })).code;
  return env;
}

describe('the metadata cache across workerd requests', () => {
  const env = providerAndWorker();

  test('exchanges and handoffs of several requests make one discovery', async () => {
    for (let i = 0; i < 3; i++) {
      const result = await env.call({ code: await env.code() });
      assert.deepEqual([result.tokenType, result.discoveries], ['Bearer', 1], JSON.stringify(result));
    }
    for (const nonce of ['n1', 'n2']) {
      const result = await env.call({ handoff: true, code: await env.code('openid email', nonce), nonce });
      assert.deepEqual([result.status, result.email, result.discoveries], [200, 'alice@example.com', 1], JSON.stringify(result));
    }
  });
});

describe('concurrent workerd requests', () => {
  const env = providerAndWorker();

  test('share one discovery, each polling the cache (no promise crosses requests)', async () => {
    const codes = await Promise.all([env.code(), env.code(), env.code()]);
    const results = await Promise.all(codes.map((code) => env.call({ code, delay: 300 })));
    for (const result of results) assert.equal(result.tokenType, 'Bearer', JSON.stringify(result));
    assert.ok(results.some((r) => r.overlapped), 'a request waited for another request\'s discovery');
    assert.equal((await env.call({ code: await env.code(), delay: 0 })).discoveries, 1);
  });
});

describe('an abort during a discovery inside workerd', () => {
  const env = providerAndWorker();

  test('rejects aborted and leaves nothing: the next request discovers at once', async () => {
    const aborted = await env.call({ code: 'c', delay: 1000, abortAfterMs: 50 });
    assert.deepEqual([aborted.code, aborted.discoveries], ['aborted', 1], JSON.stringify(aborted));
    const next = await env.call({ code: await env.code(), delay: 0 });
    assert.deepEqual([next.tokenType, next.discoveredAtOnce, next.discoveries], ['Bearer', 2, 2], JSON.stringify(next));
  });
});
