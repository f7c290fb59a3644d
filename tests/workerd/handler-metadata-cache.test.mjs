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

describe('a request waiting for another request\'s discovery inside workerd (review F2)', () => {
  // The provider holds every discovery answer until the test releases it. Request A owns the
  // discovery (timeoutMs 60000) and its client goes away: workerd does not cancel A, so A never
  // reports. Request B (timeoutMs 300) waits for it: before, B was held for A's window (2 x 60 s
  // + 1 s) and failed with A's error; now it fails after its own timeout with its own error,
  // which no one remembers.
  const held = [];
  let holding = true;
  let provider;
  let issuer;
  let worker;
  before(async () => {
    const { createServer } = await import('node:http');
    provider = createServer((req, res) => {
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url.startsWith('/.well-known/')
          ? { issuer, token_endpoint: `${issuer}/token` }
          : { access_token: 'at', token_type: 'Bearer' }));
      };
      if (holding && req.url.startsWith('/.well-known/')) held.push(answer);
      else answer();
    });
    await new Promise((resolve) => provider.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${provider.address().port}`;
    worker = await startWorker(`
import { exchangeCode } from 'extension-sso/server';
export default {
  async fetch(request) {
    const { issuer, timeoutMs } = await request.json();
    try {
      const tokens = await exchangeCode({ issuer, clientId: 'c', clientSecret: 's', code: 'x', redirectUri: '${REDIRECT}', timeoutMs });
      return Response.json({ tokenType: tokens.tokenType });
    } catch (e) {
      return Response.json({ code: e.code, message: e.message });
    }
  },
};`);
  });
  after(async () => {
    await worker?.stop();
    provider?.closeAllConnections();
    provider?.close();
  });
  const call = (timeoutMs, signal) => fetch(worker.url, { method: 'POST', body: JSON.stringify({ issuer, timeoutMs }), signal });

  test('waits at most its own timeoutMs and fails with its own error, not the owner\'s', { timeout: 60000 }, async () => {
    const gone = new AbortController();
    const a = call(60000, gone.signal).catch(() => 'client gone');
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    gone.abort();
    assert.equal(await a, 'client gone');
    const b = await (await call(300)).json();
    assert.equal(b.code, 'network_error', JSON.stringify(b));
    assert.match(b.message, /discovery document did not answer within 300 ms/);
    assert.doesNotMatch(b.message, /remembered/);
    assert.equal(held.length, 1, 'B made no discovery of its own: A\'s is still under way');
    // The provider answers: the next request gets its tokens.
    holding = false;
    for (const answer of held.splice(0)) answer();
    const c = await (await call(10000)).json();
    assert.equal(c.tokenType, 'Bearer', JSON.stringify(c));
  });
});
