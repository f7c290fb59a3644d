// The verifier inside the real workerd (WebCrypto backend, the `workerd`
// export condition): the shared vector suite, a remote JWK Set served on
// 127.0.0.1, and good tokens still verifying after a burst of bad ones in
// the same instance (no trap poisons it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { startWorker } from '../support/workerd.mjs';
import { startJwksServer } from '../support/jwks-server.mjs';
import { makeVectors, ISS, AUD, NOW } from '../vectors/make.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = await makeVectors();

const WORKER = `
import { JwksVerifier, ExtensionSsoError } from 'extension-sso/verifier';
import { runVectors } from './tests/vectors/run.mjs';
const remote = new Map();
const verdict = (p) => p.then((c) => ({ ok: true, iss: c.iss }), (e) => ({ ok: false, code: e.code, retryable: e.retryable, isError: e instanceof Error, cause: e.cause?.message }));
export default { async fetch(req) {
  const { pathname } = new URL(req.url);
  if (pathname === '/__ready') return new Response('ready');
  const body = await req.json();
  if (pathname === '/vectors') {
    return Response.json({ runtime: navigator.userAgent, results: await runVectors(JwksVerifier, body) });
  }
  if (pathname === '/remote') {
    // One verifier per jwksUri for the life of the isolate, as a worker keeps it.
    let v = remote.get(body.options.jwksUri);
    if (!v) { v = new JwksVerifier(body.options); remote.set(body.options.jwksUri, v); }
    const out = [];
    for (const t of body.tokens) out.push(await verdict(v.verify(t)));
    return Response.json({ out, cache: v.exportCache() ?? null });
  }
  if (pathname === '/fetch') {
    // A custom fetch that counts and tags requests; aborts before and during
    // the JWK Set fetch (this request's own, in workerd).
    const seen = [];
    const fetch = (input, init) => {
      seen.push({ url: String(input), tag: new Headers(init.headers).get('x-tag'), accept: new Headers(init.headers).get('accept') });
      return globalThis.fetch(input, init);
    };
    const options = { ...body.options, fetch, headers: { 'x-tag': 'workerd' } };
    const aborted = await verdict(new JwksVerifier(options).verify(body.token, { signal: AbortSignal.abort(new Error('before')) }))
      .then((r) => ({ ...r, requests: seen.length }));
    const controller = new AbortController();
    const during = new JwksVerifier(options);
    const pending = verdict(during.verify(body.token, { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('during')), 50);
    const duringResult = await pending;
    const afterAbort = await verdict(during.verify(body.token));
    const complete = await new JwksVerifier(options).verify(body.token, { complete: true });
    return Response.json({ seen, aborted, during: duringResult, afterAbort, header: complete.protectedHeader, sub: complete.payload.sub,
      instance: await new JwksVerifier(options).verify('x').catch((e) => e instanceof ExtensionSsoError) });
  }
  if (pathname === '/burst') {
    const v = JwksVerifier.fromJwks(body.jwks, body.options);
    const before = [];
    for (const t of body.good) before.push(await verdict(v.verify(t)));
    const bad = {};
    for (let i = 0; i < body.rounds; i++) {
      for (const t of body.bad) { const r = await verdict(v.verify(t)); bad[r.code] = (bad[r.code] ?? 0) + 1; }
    }
    const afterwards = [];
    for (const t of body.good) afterwards.push(await verdict(v.verify(t)));
    return Response.json({ before, bad, after: afterwards });
  }
  return new Response('not found', { status: 404 });
} };`;

let worker;
let jwksServer;
before(async () => {
  worker = await startWorker(WORKER, { resolveDir: ROOT });
  jwksServer = await startJwksServer({ jwks: vectors.jwks });
});
after(async () => {
  await worker?.stop();
  await jwksServer?.close();
});

async function post(path, body) {
  const res = await fetch(worker.url + path, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}\n${worker.logs()}`);
  return JSON.parse(text);
}

let vectorRun;
const vectorResults = () => (vectorRun ??= post('/vectors', vectors));

test('the worker runs inside workerd', async () => {
  const { runtime, results } = await vectorResults();
  assert.equal(runtime, 'Cloudflare-Workers');
  assert.equal(results.length, vectors.cases.length);
});

for (const [i, c] of vectors.cases.entries()) {
  test(`workerd vector: ${c.name}`, async () => {
    const { results } = await vectorResults();
    assert.equal(results[i].name, c.name);
    assert.equal(results[i].got, c.expect);
  });
}

const goodTokens = () => vectors.cases.filter((c) => c.expect === 'ok' && c.name.includes('signed by jose')).map((c) => c.token);

test('remote JWK Set from 127.0.0.1: fetched once, then served from the cache; the snapshot exports', async () => {
  const hits = jwksServer.hits();
  const options = { jwksUri: jwksServer.url, issuer: ISS, audience: AUD, now: NOW };
  const first = await post('/remote', { options, tokens: goodTokens() });
  assert.deepEqual(first.out.map((r) => r.ok), goodTokens().map(() => true), JSON.stringify(first.out));
  assert.equal(jwksServer.hits() - hits, 1);
  assert.match(jwksServer.lastRequest().headers.accept, /application\/jwk-set\+json/);
  const second = await post('/remote', { options, tokens: goodTokens() });
  assert.ok(second.out.every((r) => r.ok));
  assert.equal(jwksServer.hits() - hits, 1, 'the second request used the cached set');
  assert.deepEqual(Object.keys(second.cache), [jwksServer.url]);
  assert.equal(second.cache[jwksServer.url].fetchedAt, NOW);
});

test('remote JWK Set in workerd: a failing server gives a retryable jwks_fetch_failed', async () => {
  const failing = await startJwksServer({ jwks: vectors.jwks });
  try {
    failing.setStatus(500);
    const { out } = await post('/remote', { options: { jwksUri: failing.url, issuer: ISS, audience: AUD, now: NOW }, tokens: goodTokens().slice(0, 1) });
    assert.deepEqual(out[0], { ok: false, code: 'jwks_fetch_failed', retryable: true, isError: true });
  } finally {
    await failing.close();
  }
});

test('remote JWK Set in workerd: concurrent requests wait for the fetch under way (cold start and rotation)', async () => {
  const { generateKeyPair, exportJWK } = await import('jose');
  const key = async (kid) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  };
  const [a, b] = [await key('rot-a'), await key('rot-b')];
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const sign = (k) => new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .setIssuer(ISS).setAudience(AUD).setExpirationTime(exp).sign(k.privateKey);
  const server = await startJwksServer({ jwks: { keys: [a.jwk] } });
  try {
    // The runtime clock (no `now`), so a 1 s cooldown can pass.
    const options = { jwksUri: server.url, issuer: ISS, audience: AUD, cooldownSec: 1 };
    const together = async (token) => (await Promise.all([1, 2, 3].map(() => post('/remote', { options, tokens: [token] }))))
      .map((r) => r.out[0].ok ? 'ok' : r.out[0].code);
    server.setDelay(300);
    // Cold: one request fetches, the others wait for it.
    assert.deepEqual(await together(await sign(a)), ['ok', 'ok', 'ok']);
    assert.equal(server.hits(), 1);
    const fetchedAt = (await post('/remote', { options, tokens: [] })).cache[server.url].fetchedAt;
    while (Date.now() / 1000 < fetchedAt + 2) await new Promise((r) => setTimeout(r, 100));
    // Rotation: every request with the new kid gets the refetched set.
    server.setJwks({ keys: [a.jwk, b.jwk] });
    assert.deepEqual(await together(await sign(b)), ['ok', 'ok', 'ok']);
    assert.equal(server.hits(), 2);
  } finally {
    await server.close();
  }
});

test('good tokens still verify in the same instance after a burst of bad ones', async () => {
  const { privateKey } = await import('jose').then((j) => j.generateKeyPair('ES256'));
  const bad = [
    // Rejected cases whose options are the plain ones the burst verifier uses.
    ...vectors.cases.filter((c) => c.expect !== 'ok' && typeof c.token === 'string' && Object.keys(c.options).length === 2)
      .map((c) => c.token),
    'a'.repeat(20000), '\u0000.\u0000.\u0000', '....', await new SignJWT({ iss: ISS, aud: AUD, exp: NOW + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k-ES256' }).sign(privateKey),
  ];
  const res = await post('/burst', { jwks: vectors.jwks, options: { issuer: ISS, audience: AUD, now: NOW }, good: goodTokens(), bad, rounds: 5 });
  assert.ok(res.before.every((r) => r.ok), JSON.stringify(res.before));
  assert.ok(res.after.every((r) => r.ok), JSON.stringify(res.after));
  assert.equal(res.bad.undefined, undefined, `every bad token is rejected with a code: ${JSON.stringify(res.bad)}`);
  assert.equal(Object.values(res.bad).reduce((a, b) => a + b, 0), bad.length * 5);
  assert.ok(res.bad.bad_signature >= 5 && res.bad.malformed >= 5, JSON.stringify(res.bad));
});

test('verifiedTokenCacheSize in workerd: remembered tokens answer, bad ones are still rejected', async () => {
  const bad = vectors.cases.filter((c) => c.expect !== 'ok' && typeof c.token === 'string' && Object.keys(c.options).length === 2)
    .map((c) => c.token);
  const options = { issuer: ISS, audience: AUD, now: NOW, verifiedTokenCacheSize: 100 };
  const res = await post('/burst', { jwks: vectors.jwks, options, good: goodTokens(), bad, rounds: 3 });
  assert.ok(res.before.every((r) => r.ok && r.iss === ISS), JSON.stringify(res.before));
  assert.ok(res.after.every((r) => r.ok && r.iss === ISS), JSON.stringify(res.after));
  assert.equal(res.bad.undefined, undefined, JSON.stringify(res.bad));
  assert.equal(Object.values(res.bad).reduce((a, b) => a + b, 0), bad.length * 3);
});

test('workerd: a custom fetch makes every request with the caller\'s headers; aborts before and during the fetch', async () => {
  const slow = await startJwksServer({ jwks: vectors.jwks });
  try {
    slow.setDelay(300);
    const token = goodTokens()[0];
    const res = await post('/fetch', { options: { jwksUri: slow.url, issuer: ISS, audience: AUD, now: NOW }, token });
    assert.deepEqual(res.aborted, { ok: false, code: 'aborted', retryable: false, isError: true, cause: 'before', requests: 0 });
    assert.deepEqual(res.during, { ok: false, code: 'aborted', retryable: false, isError: true, cause: 'during' });
    assert.equal(res.afterAbort.ok, true, 'the aborted fetch left no cooldown: the next verify fetches and succeeds');
    assert.equal(res.sub !== undefined, true);
    assert.equal(typeof res.header.alg, 'string');
    assert.equal(res.instance, true, 'rejections are ExtensionSsoError instances');
    assert.ok(res.seen.length >= 3);
    for (const r of res.seen) {
      assert.equal(r.url, slow.url);
      assert.equal(r.tag, 'workerd');
      assert.equal(r.accept, 'application/jwk-set+json, application/json');
    }
    assert.equal(slow.lastRequest().headers['x-tag'], 'workerd');
  } finally {
    await slow.close();
  }
});
