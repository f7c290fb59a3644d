// The verifier's fetches as concurrent callers drive them (review F2, F3, F8,
// F9): which caller fetches, which waits, what an abort or a late answer
// changes; and what a failed fetch answers (F5, F7). Every request goes to a fetch function the test controls (each
// answers when the test says so) and the clock is injected (the `now` option,
// or a runtime whose `now` the test sets), so no test has a timing threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { JwksVerifier } from 'extension-sso/verifier';
import { runtimeSlot } from '../../pkg/lib/common.js';
import { nodeRuntime } from '../../pkg/lib/runtime-node.js';

const ISS = 'https://op.example';
const AUD = 'ext-123';
const NOW = 1_700_000_000;
const JWKS_URI = 'https://op.example/keys';
const METADATA_URL = 'https://op.example/.well-known/openid-configuration';

const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
const sign = (kid = 'k1', exp = NOW + 100_000) => new SignJWT({ sub: 'user-1' })
  .setProtectedHeader({ alg: 'EdDSA', kid }).setIssuer(ISS).setAudience(AUD).setExpirationTime(exp).sign(privateKey);
const json = (body) => new Response(JSON.stringify(body), { status: 200 });
const METADATA = { issuer: ISS, jwks_uri: JWKS_URI };
const outcome = (promise) => promise.then((claims) => `ok ${claims.sub}`, (e) => e.code);

/**
 * A fetch whose requests answer when the test says: `requests` lists them
 * (`url`, `answer(response)`, `aborted`); `auto` (url -> response) answers
 * at once instead.
 */
function controlledFetch(auto) {
  const requests = [];
  const fetch = (url, init) => {
    const response = auto?.(String(url));
    if (response) {
      requests.push({ url: String(url), answer() {}, aborted: false });
      return Promise.resolve(response);
    }
    return new Promise((resolve, reject) => {
      const request = { url: String(url), answer: resolve, aborted: false };
      requests.push(request);
      init.signal.addEventListener('abort', () => { request.aborted = true; reject(init.signal.reason); }, { once: true });
    });
  };
  return { fetch, requests };
}

/** Runs `body` with a runtime whose clock the test sets (`clock.sec`). */
async function withClock(body) {
  const clock = { sec: NOW };
  runtimeSlot('verifier').install({ ...nodeRuntime, now: () => clock.sec * 1000 });
  try {
    await body(clock);
  } finally {
    runtimeSlot('verifier').install(nodeRuntime);
  }
}

/** Lets every pending promise callback run (no timer involved). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('unknown kids whose callers abort cost one JWK Set request per cooldown, not one each (F2)', async () => {
  await withClock(async (clock) => {
    let first = true;
    const { fetch, requests } = controlledFetch(() => (first ? ((first = false), json({ keys: [jwk] })) : undefined));
    const v = new JwksVerifier({ jwksUri: JWKS_URI, issuer: ISS, audience: AUD, fetch });
    assert.equal((await v.verify(await sign())).sub, 'user-1');
    // Past the cooldown (30 s): an unknown kid may refetch, once.
    clock.sec = NOW + 40;
    const answers = [];
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const pending = outcome(v.verify(await sign(`flood-${i}`), { signal: controller.signal }));
      controller.abort(new Error('client went away'));
      answers.push(await pending);
    }
    assert.equal(requests.length, 2, 'the first unknown kid refetches; the cooldown holds for the others');
    assert.equal(requests[1].aborted, true);
    assert.deepEqual(answers, ['aborted', ...Array(19).fill('no_matching_key')]);
  });
});

test('a caller that comes after the last waiter of a fetch aborted starts afresh instead of inheriting the abort (F8)', async () => {
  const { fetch, requests } = controlledFetch();
  const v = new JwksVerifier({ jwksUri: JWKS_URI, issuer: ISS, audience: AUD, now: NOW, fetch });
  const token = await sign();
  const controller = new AbortController();
  const a = outcome(v.verify(token, { signal: controller.signal }));
  assert.equal(requests.length, 1);
  controller.abort(new Error('client A went away'));
  // Right after, in the same turn (a retry, a Promise.all over tokens): no signal at all.
  const b = v.verify(token);
  assert.equal(requests.length, 2, 'B makes its own request');
  assert.equal(requests[0].aborted, true);
  requests[1].answer(json({ keys: [jwk] }));
  assert.equal(await a, 'aborted');
  assert.equal((await b).sub, 'user-1');
  assert.equal((await v.verify(token)).sub, 'user-1');
  assert.equal(requests.length, 2);
});

test('discovery: a token that comes while the JWK Set request is under way waits for it; every answer is read as what it is (F3)', async () => {
  await withClock(async (clock) => {
    const { fetch, requests } = controlledFetch();
    const v = new JwksVerifier({ issuer: ISS, discovery: true, audience: AUD, timeoutMs: 2000, fetch });
    const token = await sign();
    const a = outcome(v.verify(token));
    assert.equal(requests[0].url, METADATA_URL);
    // A slow but healthy provider: each answer takes 1.9 s (timeoutMs 2000).
    clock.sec = NOW + 1.9;
    requests[0].answer(json(METADATA));
    await settle();
    assert.equal(requests[1].url, JWKS_URI);
    // Past the first request's window (3 s from its start), within the second's.
    clock.sec = NOW + 3.3;
    const b = outcome(v.verify(token));
    assert.equal(requests.length, 2, 'B waits for the fetch under way');
    clock.sec = NOW + 3.8;
    requests[1].answer(json({ keys: [jwk] }));
    assert.deepEqual([await a, await b], ['ok user-1', 'ok user-1']);
    assert.equal(await outcome(v.verify(token)), 'ok user-1');
    assert.equal(requests.length, 2);
  });
});

test('discovery: a fetch that outlived its window is superseded; its late answers change nothing (F3)', async () => {
  await withClock(async (clock) => {
    const { fetch, requests } = controlledFetch();
    const v = new JwksVerifier({ issuer: ISS, discovery: true, audience: AUD, timeoutMs: 2000, fetch });
    const token = await sign();
    const a = outcome(v.verify(token));
    requests[0].answer(json(METADATA));
    await settle();
    // The JWK Set request hangs past its window (the event loop stalled):
    // B begins the next fetch.
    clock.sec = NOW + 10;
    const b = outcome(v.verify(token));
    assert.equal(requests.length, 3);
    assert.equal(requests[2].url, METADATA_URL);
    // The first fetch's JWK Set answer arrives now: it is not read as B's metadata.
    requests[1].answer(json({ keys: [jwk] }));
    await settle();
    // C comes after the first fetch ended: it joins B's fetch (one request more, not two).
    const c = outcome(v.verify(token));
    requests[2].answer(json(METADATA));
    await settle();
    assert.equal(requests[3].url, JWKS_URI);
    requests[3].answer(json({ keys: [jwk] }));
    assert.deepEqual([await b, await c], ['ok user-1', 'ok user-1']);
    assert.equal(requests.length, 4);
    // A's own fetch was superseded: it answers with what is cached by then, or retryably.
    assert.ok(['ok user-1', 'jwks_fetch_failed'].includes(await a), await a);
  });
});

test('a burst after the cached set expired past staleIfErrorSec causes one fetch, with or without discovery (F9)', async () => {
  for (const discovery of [false, true]) {
    await withClock(async (clock) => {
      const { fetch, requests } = controlledFetch((url) => (url === METADATA_URL ? json(METADATA) : undefined));
      const keys = discovery ? { discovery: true } : { jwksUri: JWKS_URI };
      const v = new JwksVerifier({ ...keys, issuer: ISS, audience: AUD, fetch });
      const token = await sign();
      const cold = outcome(v.verify(token));
      await settle();
      requests.at(-1).answer(json({ keys: [jwk] }));
      assert.equal(await cold, 'ok user-1');
      const before = requests.length;
      // A quiet period longer than cacheMaxAgeSec + staleIfErrorSec (600 + 3600 s).
      clock.sec = NOW + 600 + 3600 + 10;
      const burst = [];
      for (let i = 0; i < 5; i++) burst.push(outcome(v.verify(token)));
      await settle();
      assert.equal(requests.length, before + (discovery ? 2 : 1), `discovery: ${discovery}: one fetch for the burst`);
      requests.at(-1).answer(json({ keys: [jwk] }));
      assert.deepEqual(await Promise.all(burst), Array(5).fill('ok user-1'));
    });
  }
});

test('one outage, one retryable answer: the cooldown after a failure answers as that failure did (F5)', async () => {
  const cases = [
    ['a WAF page (200 text/html)', () => new Response('<html>blocked</html>', { status: 200 }), 'jwks_invalid', false],
    ['404', () => new Response('', { status: 404 }), 'jwks_fetch_failed', false],
    ['503', () => new Response('', { status: 503 }), 'jwks_fetch_failed', true],
  ];
  for (const [label, respond, code, retryable] of cases) {
    const { fetch, requests } = controlledFetch(respond);
    const v = new JwksVerifier({ jwksUri: JWKS_URI, issuer: ISS, audience: AUD, now: NOW, fetch });
    const token = await sign();
    const answers = [];
    for (let i = 0; i < 2; i++) {
      answers.push(await v.verify(token).then(() => 'ok', (e) => `${e.code} retryable=${e.retryable}`));
    }
    assert.equal(requests.length, 1, label);
    assert.deepEqual(answers, [`${code} retryable=${retryable}`, `jwks_fetch_failed retryable=${retryable}`], label);
  }
});

test('a metadata document over maxBodyBytes fails by its size, naming the option (F7)', async () => {
  const big = JSON.stringify({ ...METADATA, pad: 'x'.repeat(2000) });
  const { fetch } = controlledFetch(() => new Response(big, { status: 200 }));
  const v = new JwksVerifier({ issuer: ISS, discovery: true, audience: AUD, now: NOW, maxBodyBytes: 1000, fetch });
  await assert.rejects(v.verify(await sign()), (e) => {
    assert.equal(e.code, 'discovery_failed');
    assert.match(e.message, /openid-configuration is larger than 1000 bytes; raise maxBodyBytes/);
    return true;
  });
});
