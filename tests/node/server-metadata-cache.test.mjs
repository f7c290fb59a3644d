// The issuer metadata cache of the server entry (src/server/metadata.rs): with `issuer` alone,
// exchangeCode, refreshTokens and the handoff handler discover the issuer's metadata once and reuse
// it while the server says it is fresh; concurrent calls share one discovery, each waiting at most
// its own timeoutMs; a failure is remembered for 10 s; an abort or a timeout neither fills nor
// poisons the cache. Against the real oidc-provider
// (tests/support/oidc.mjs) and, for the clock, a canned server and Node's mocked Date.
import { test, describe, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';

import { exchangeCode, refreshTokens, createHandoffHandler } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';
import { startOidcProvider, obtainAuthorizationCode } from '../support/oidc.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';
const EXT = 'https://ext.example';
const CLIENT = { clientId: 'web', clientSecret: 'web-secret' };
const WELL_KNOWN = '/.well-known/openid-configuration';
const isDiscovery = (url) => new URL(url).pathname.startsWith('/.well-known/');

/**
 * A fetch that counts the discovery requests it makes (`discoveries`) and holds each one
 * `delayMs` first (honouring its signal unless `ignoreSignal`); `answered` settles when the last
 * one has its answer.
 */
function countingFetch({ delayMs = 0, ignoreSignal = false } = {}) {
  const fetch = (url, init) => {
    if (!isDiscovery(url)) return globalThis.fetch(url, init);
    fetch.discoveries++;
    const held = new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, fetch.delayMs);
      if (!ignoreSignal) init.signal.addEventListener('abort', () => { clearTimeout(timer); reject(init.signal.reason); });
    });
    const { signal, ...rest } = init;
    fetch.answered = held.then(() => globalThis.fetch(url, ignoreSignal ? rest : { ...rest, signal }));
    return fetch.answered;
  };
  fetch.discoveries = 0;
  fetch.delayMs = delayMs;
  return fetch;
}

async function rejects(promise, expected) {
  try {
    await promise;
  } catch (e) {
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(e[k], v, `${k} of ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection with ${JSON.stringify(expected)}`);
}

describe('against oidc-provider: one discovery for many calls', () => {
  let op;
  before(async () => {
    op = await startOidcProvider({ clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT] }] });
  });
  after(() => op?.close());

  const code = (extra = {}) => obtainAuthorizationCode({
    issuer: op.issuer, clientId: 'web', redirectUri: REDIRECT, scope: 'openid email', state: 'st', ...extra,
  }).then((r) => r.code);
  const handoff = (handler, body) => handler(new Request('http://api.example/token', {
    method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: JSON.stringify(body),
  }));

  test('the runtime\'s fetch: exchanges, a refresh and handoffs make one discovery request', async () => {
    // The codes first: the test helper reads the discovery document itself.
    const codes = [await code(), await code({ scope: 'email' }), await code({ nonce: 'n1' }), await code({ nonce: 'n2' })];
    const seen = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (url, init) => { seen.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`); return realFetch(url, init); };
    try {
      const first = await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: codes[0] });
      assert.equal(first.idTokenClaims.sub, 'alice');
      await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: codes[1] });
      await refreshTokens({ issuer: op.issuer, ...CLIENT, refreshToken: first.refreshToken });
      const handler = createHandoffHandler({
        issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, allowedOrigins: [EXT], onError: () => {},
        verifier: new JwksVerifier({ jwksUri: op.jwksUri, issuer: op.issuer, audience: op.audience }),
      });
      for (const [i, nonce] of [[2, 'n1'], [3, 'n2']]) {
        const res = await handoff(handler, { code: codes[i], state: 'st', nonce });
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).identity.email, 'alice@example.com');
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(seen.filter((s) => s === `GET ${WELL_KNOWN}`).length, 1, seen.join('\n'));
    assert.equal(seen.filter((s) => s === 'POST /token').length, 5, seen.join('\n'));
  });

  test('concurrent calls with one fetch share one discovery (exchanges and a handoff)', async () => {
    const codes = await Promise.all([code(), code(), code(), code({ nonce: 'n' })]);
    const fetch = countingFetch({ delayMs: 150 });
    const handler = createHandoffHandler({
      issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, allowedOrigins: [EXT], onError: () => {}, fetch,
      verifier: new JwksVerifier({ jwksUri: op.jwksUri, issuer: op.issuer, audience: op.audience }),
    });
    const results = await Promise.all([
      ...codes.slice(0, 3).map((c) => exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: c, fetch })),
      handoff(handler, { code: codes[3], state: 'st', nonce: 'n' }),
    ]);
    assert.deepEqual(results.slice(0, 3).map((t) => t.idTokenClaims.sub), ['alice', 'alice', 'alice']);
    assert.equal(results[3].status, 200);
    assert.equal(fetch.discoveries, 1);
  });

  test('an abort during the discovery neither fills nor poisons the cache', async () => {
    // The caller that discovers gives up: aborted at once, and the next call discovers again at
    // once (a call looks the document up before its first await: with the abandoned discovery
    // still counted as under way it would wait instead, and with it remembered as a failure it
    // would reject).
    const fetch = countingFetch({ delayMs: 1000 });
    const controller = new AbortController();
    const reason = new Error('user left');
    setTimeout(() => controller.abort(reason), 50);
    const e = await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch, signal: controller.signal }),
      { code: 'aborted', retryable: false });
    assert.equal(e.cause, reason);
    fetch.delayMs = 0;
    const next = exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: await code(), fetch });
    assert.equal(fetch.discoveries, 2, 'discovering again, not waiting');
    assert.equal((await next).idTokenClaims.sub, 'alice');

    // A fetch that ignores its signal answers after the abort: its document is not stored.
    const stubborn = countingFetch({ delayMs: 300, ignoreSignal: true });
    const late = new AbortController();
    setTimeout(() => late.abort(new Error('gave up')), 30);
    await rejects(exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch: stubborn, signal: late.signal }),
      { code: 'aborted' });
    assert.equal((await stubborn.answered).status, 200, 'the document came, after the abort');
    await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: await code(), fetch: stubborn });
    assert.equal(stubborn.discoveries, 2, 'discovered again: the late answer of the aborted call was not kept');
    await exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: await code(), fetch: stubborn });
    assert.equal(stubborn.discoveries, 2, 'and that one is');

    // A call waiting for another call's discovery aborts: it alone rejects. (Each call looks
    // the document up before its first await: the first starts the discovery, the second waits.)
    const shared = countingFetch({ delayMs: 300 });
    const waiter = new AbortController();
    const c1 = await code();
    const calls = [
      exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: c1, fetch: shared }),
      exchangeCode({ issuer: op.issuer, ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch: shared, signal: waiter.signal }),
    ];
    setTimeout(() => waiter.abort(new Error('impatient')), 50);
    const [first, second] = await Promise.allSettled(calls);
    assert.equal(first.status, 'fulfilled', first.reason?.message);
    assert.equal(second.reason?.code, 'aborted');
    assert.equal(shared.discoveries, 1);
  });
});

describe('the metadata cache with a canned server and a mocked clock', () => {
  const ISSUER = 'https://op.example';
  const DOCUMENT = JSON.stringify({ issuer: ISSUER, token_endpoint: `${ISSUER}/token` });

  /** A fetch answering discovery with `discovery()` (a Response, or a throw) and every token request. */
  function cannedFetch(discovery = () => new Response(DOCUMENT)) {
    const fetch = async (url) => {
      if (isDiscovery(url)) {
        fetch.discoveries++;
        return discovery();
      }
      return Response.json({ access_token: 'at', token_type: 'Bearer' });
    };
    fetch.discoveries = 0;
    return fetch;
  }
  const exchange = (fetch, extra = {}) => exchangeCode({ issuer: ISSUER, ...CLIENT, redirectUri: REDIRECT, code: 'c', fetch, ...extra });

  before(() => mock.timers.enable({ apis: ['Date'], now: Date.now() }));
  after(() => mock.timers.reset());

  test('Cache-Control max-age is honoured, clamped to 60 s .. 24 h, 1 h without one, 60 s when malformed or repeated', async () => {
    for (const [cacheControl, freshSec] of [['public, max-age=120', 120], ['no-store', 60], [null, 3600], ['max-age=604800', 86400],
      ['max-age=-5', 60], ['max-age=7200, max-age=7200', 60]]) {
      const headers = cacheControl ? { 'cache-control': cacheControl } : {};
      const fetch = cannedFetch(() => new Response(DOCUMENT, { headers }));
      await exchange(fetch);
      mock.timers.tick((freshSec - 1) * 1000);
      await exchange(fetch);
      assert.equal(fetch.discoveries, 1, `${cacheControl}: fresh for ${freshSec - 1} s`);
      mock.timers.tick(1000);
      await exchange(fetch);
      assert.equal(fetch.discoveries, 2, `${cacheControl}: stale at ${freshSec} s`);
    }
  });

  test('a failure is remembered for 10 s only: the same code, at once, without a request', async () => {
    let up = false;
    const fetch = cannedFetch(() => (up ? new Response(DOCUMENT) : new Response('down', { status: 503 })));
    const first = await rejects(exchange(fetch), { code: 'discovery_failed', retryable: true, status: 503 });
    mock.timers.tick(9000);
    const again = await rejects(exchange(fetch), { code: 'discovery_failed', retryable: true, status: 503 });
    assert.equal(fetch.discoveries, 1);
    assert.match(again.message, /remembered: discovery is retried in 1 s/);
    assert.match(first.message, /retried in 10 s/);
    up = true;
    mock.timers.tick(1000);
    await exchange(fetch);
    assert.equal(fetch.discoveries, 2);

    // A network failure: its cause is kept for the call that made the request.
    const boom = new TypeError('connect ECONNREFUSED');
    const unreachable = cannedFetch(() => { throw boom; });
    const e = await rejects(exchange(unreachable), { code: 'network_error', retryable: true });
    assert.equal(e.cause, boom);
    assert.match(e.message, /discovery document/);
    await rejects(exchange(unreachable), { code: 'network_error', retryable: true });
    assert.equal(unreachable.discoveries, 1);
  });

  /**
   * A fetch whose discovery requests wait for `release()` while `fetch.hold` is true (rejecting
   * with their signal's reason when it fires first: a timeout or an abort), else answer at once.
   */
  function heldFetch() {
    const fetch = async (url, init) => {
      if (!isDiscovery(url)) return Response.json({ access_token: 'at', token_type: 'Bearer' });
      fetch.discoveries++;
      if (!fetch.hold) return new Response(DOCUMENT);
      return new Promise((resolve, reject) => {
        fetch.release = () => resolve(new Response(DOCUMENT));
        init.signal.addEventListener('abort', () => reject(init.signal.reason));
      });
    };
    fetch.discoveries = 0;
    fetch.hold = true;
    return fetch;
  }

  test('a timed-out discovery is not remembered: the others discover with their own timeout', async () => {
    // As in the review (F2): A (timeoutMs 100) owns the discovery and times out; B (10 s) waited
    // for it. Before, both failed with A's "within 100 ms", and so did every call for 10 s.
    const fetch = heldFetch();
    const a = exchange(fetch, { timeoutMs: 100 });
    const b = exchange(fetch, { timeoutMs: 10000 });
    fetch.hold = false; // from the second discovery on, the server answers
    const e = await rejects(a, { code: 'network_error', retryable: true });
    assert.match(e.message, /discovery document did not answer within 100 ms/);
    assert.doesNotMatch(e.message, /remembered/);
    assert.equal((await b).accessToken, 'at', 'B discovered with its own timeout');
    assert.equal(fetch.discoveries, 2);
    assert.equal((await exchange(fetch)).accessToken, 'at');
    assert.equal(fetch.discoveries, 2, 'the document B found is kept');
  });

  test('a waiter is held for its own timeoutMs, not the discovering call\'s', { timeout: 30000 }, async () => {
    // D owns a discovery with a 60 s timeout; E (timeoutMs 200) waits for it, and gives up after
    // its own 200 ms (on the mocked clock) with its own error, while D's discovery goes on.
    const fetch = heldFetch();
    let dSettled = false;
    const d = exchange(fetch, { timeoutMs: 60000 }).finally(() => { dSettled = true; });
    const e = exchange(fetch, { timeoutMs: 200 });
    mock.timers.tick(200);
    const error = await rejects(e, { code: 'network_error', retryable: true });
    assert.match(error.message, /discovery document did not answer within 200 ms/);
    assert.doesNotMatch(error.message, /remembered/);
    assert.equal(dSettled, false, 'D is still discovering');
    fetch.release();
    assert.equal((await d).accessToken, 'at');
    assert.equal(fetch.discoveries, 1);
  });

  test('kept apart per fetch and per URL rule; explicit endpoints never discover', async () => {
    const a = cannedFetch();
    const b = cannedFetch();
    await exchange(a);
    await exchange(a);
    await exchange(b);
    assert.deepEqual([a.discoveries, b.discoveries], [1, 1]);
    // Under the http opt-out a document may name http endpoints: another entry.
    await exchange(a, { allowInsecureHttp: true });
    await exchange(a, { allowInsecureHttp: true });
    assert.equal(a.discoveries, 2);
    const c = cannedFetch();
    await exchange(c, { tokenEndpoint: `${ISSUER}/token` });
    await refreshTokens({ issuer: ISSUER, tokenEndpoint: `${ISSUER}/token`, ...CLIENT, refreshToken: 'r', fetch: c });
    assert.equal(c.discoveries, 0);
  });
});
