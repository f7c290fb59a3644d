// Remote JWK Set fault tests (issue 4): the Node verifier against a JWK Set
// server on 127.0.0.1 that is slow, failing, lying, redirecting, rotating or
// flooded. Cache policy by the clock is tested natively (src/jwks/tests.rs);
// here goes what needs real I/O. No timing thresholds: waits only make sure a
// whole second of the runtime clock has passed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ExtensionSsoError, JwksVerifier } from 'extension-sso/verifier';
import { startJwksServer } from '../support/jwks-server.mjs';

const ISS = 'https://console.example';
const AUD = 'ext-123';
const NOW = 1_700_000_000;

const servers = [];
after(async () => { await Promise.all(servers.map((s) => s.close())); });
async function server(jwks) {
  const s = await startJwksServer({ jwks });
  servers.push(s);
  return s;
}

async function keyPair(kid, alg = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
function sign(key, { iss = ISS, exp = NOW + 3600, kid = key.kid } = {}) {
  return new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: key.alg, kid })
    .setIssuer(iss).setAudience(AUD).setExpirationTime(exp).sign(key.privateKey);
}
const isCode = (code, retryable) => (e) => {
  assert.ok(e instanceof Error);
  assert.equal(e.code, code, e.message);
  if (retryable !== undefined) assert.equal(e.retryable, retryable, e.message);
  return true;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const k1 = await keyPair('k1');
const k2 = await keyPair('k2');
const rsa = await keyPair('r1', 'RS256');

test('a good set is fetched once, with the JWK Set Accept header, and then cached', async () => {
  const s = await server({ keys: [k1.jwk, rsa.jwk] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  assert.equal((await v.verify(await sign(k1))).sub, 'user-1');
  assert.equal((await v.verify(await sign(rsa))).sub, 'user-1');
  assert.equal(s.hits(), 1);
  const req = s.lastRequest();
  assert.equal(req.method, 'GET');
  assert.equal(req.headers.accept, 'application/jwk-set+json, application/json');
});

test('slow server: the timeout gives a retryable jwks_fetch_failed', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setDelay(2000);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, timeoutMs: 100 });
  await assert.rejects(v.verify(await sign(k1)), (e) => isCode('jwks_fetch_failed', true)(e) && /timeoutMs/.test(e.message));
  // Within the cooldown the next request fails at once, without a fetch.
  const hits = s.hits();
  await assert.rejects(v.verify(await sign(k1)), isCode('jwks_fetch_failed', true));
  assert.equal(s.hits(), hits);
});

test('HTTP 500 gives a retryable jwks_fetch_failed; 404 a non-retryable one', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setStatus(500);
  await assert.rejects(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).verify(await sign(k1)),
    (e) => isCode('jwks_fetch_failed', true)(e) && /500/.test(e.message));
  s.setStatus(404);
  await assert.rejects(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).verify(await sign(k1)),
    isCode('jwks_fetch_failed', false));
});

test('a core error crosses whole: class, name, code, message, retryable and the HTTP status where there is one', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setStatus(503);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const e = await v.verify(await sign(k1)).then(() => assert.fail('verified'), (error) => error);
  assert.ok(e instanceof ExtensionSsoError);
  assert.equal(e.name, 'ExtensionSsoError');
  assert.equal(e.code, 'jwks_fetch_failed');
  assert.equal(e.retryable, true);
  assert.equal(e.status, 503);
  assert.match(e.message, /503/);
  // Without an HTTP answer there is no status (and the property is absent).
  s.setStatus(200);
  const ok = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const expired = await ok.verify(await sign(k1, { exp: NOW - 3600 })).then(() => assert.fail('verified'), (error) => error);
  assert.ok(expired instanceof ExtensionSsoError);
  assert.equal(expired.code, 'expired');
  assert.equal(expired.retryable, false);
  assert.ok(!('status' in expired));
});

test('invalid JSON, a set without usable keys and a non-set document give jwks_invalid', async () => {
  const s = await server({ keys: [k1.jwk] });
  for (const body of ['{not json', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', '[]', '{"keys":{}}', '']) {
    s.setBody(body);
    await assert.rejects(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).verify(await sign(k1)),
      isCode('jwks_invalid'), body);
  }
});

test('a body over maxBodyBytes is refused (declared length and streamed)', async () => {
  const s = await server({ keys: [k1.jwk, k2.jwk, { kty: 'EC', crv: 'P-256', x: 'a'.repeat(5000), y: 'b' }] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, maxBodyBytes: 1024 });
  await assert.rejects(v.verify(await sign(k1)), (e) => isCode('jwks_invalid')(e) && /1024/.test(e.message));
  // The default cap (256 KiB) with a 1 MiB body.
  s.setBody(`{"keys":[],"pad":"${'x'.repeat(1 << 20)}"}`);
  await assert.rejects(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).verify(await sign(k1)),
    isCode('jwks_invalid'));
});

test('redirects are not followed', async () => {
  const target = await server({ keys: [k1.jwk] });
  const s = await server({ keys: [] });
  s.setRedirect(target.url);
  await assert.rejects(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).verify(await sign(k1)),
    (e) => isCode('jwks_fetch_failed')(e) && /redirect/.test(e.message));
  assert.equal(target.hits(), 0);
});

test('rotation: a token with a new kid makes one refetch, after which both keys verify', async () => {
  const s = await server({ keys: [k1.jwk] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 0 });
  await v.verify(await sign(k1));
  assert.equal(s.hits(), 1);
  s.setJwks({ keys: [k1.jwk, k2.jwk] });
  const t2 = await sign(k2);
  assert.equal((await v.verify(t2)).sub, 'user-1');
  assert.equal(s.hits(), 2);
  await v.verify(t2);
  await v.verify(await sign(k1));
  assert.equal(s.hits(), 2);
});

test('unknown-kid storm: at most one refetch per cooldown', async () => {
  const s = await server({ keys: [k1.jwk] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 30 });
  await v.verify(await sign(k1));
  assert.equal(s.hits(), 1);
  for (let i = 0; i < 50; i++) {
    await assert.rejects(v.verify(await sign(k1, { kid: `random-${i}` })), isCode('no_matching_key'));
  }
  // Fetched at NOW: the cooldown has not passed, so no kid caused a refetch.
  assert.equal(s.hits(), 1);
  // Concurrent storm as well.
  await Promise.all(Array.from({ length: 50 }, async (_, i) =>
    assert.rejects(v.verify(await sign(k1, { kid: `par-${i}` })), isCode('no_matching_key'))));
  assert.equal(s.hits(), 1);
  assert.equal((await v.verify(await sign(k1))).sub, 'user-1');
});

test('Cache-Control max-age is honoured, clamped between cooldownSec and cacheMaxAgeSec', async () => {
  const s = await server({ keys: [k1.jwk] });
  const expiresFor = async (cacheControl) => {
    s.setCacheControl(cacheControl);
    const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 30, cacheMaxAgeSec: 600 });
    await v.verify(await sign(k1));
    const snap = v.exportCache()[s.url];
    assert.equal(snap.fetchedAt, NOW);
    return snap.expiresAt - NOW;
  };
  assert.equal(await expiresFor('public, max-age=120'), 120);
  assert.equal(await expiresFor('max-age=5'), 30);
  assert.equal(await expiresFor('max-age=86400'), 600);
  assert.equal(await expiresFor(null), 600);
  assert.equal(await expiresFor('no-store'), 30);
});

test('stale-if-error: an expired set keeps being served while refreshes fail', async () => {
  const s = await server({ keys: [k1.jwk] });
  // The runtime clock (no `now`): the set lives 1 s.
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, cacheMaxAgeSec: 1, cooldownSec: 0, staleIfErrorSec: 3600 });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = await sign(k1, { exp });
  await v.verify(token);
  assert.equal(s.hits(), 1);
  const { expiresAt } = v.exportCache()[s.url];
  while (Date.now() / 1000 < expiresAt + 1) await sleep(100);
  s.setStatus(503);
  assert.equal((await v.verify(token)).sub, 'user-1');
  assert.equal(s.hits(), 2, 'a refresh was attempted');
  // Recovery: the next refresh succeeds and the set is fresh again.
  s.setStatus(200);
  s.setJwks({ keys: [k1.jwk, k2.jwk] });
  assert.equal((await v.verify(await sign(k2, { exp }))).sub, 'user-1');
  assert.equal(s.hits(), 3);
  // Without a previous set, the same failure is an error.
  s.setStatus(503);
  const fresh = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD });
  await assert.rejects(fresh.verify(token), isCode('jwks_fetch_failed', true));
});

test('concurrent misses share one fetch', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setDelay(200);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const token = await sign(k1);
  const all = await Promise.all(Array.from({ length: 20 }, () => v.verify(token)));
  assert.equal(all.length, 20);
  assert.ok(all.every((c) => c.sub === 'user-1'));
  assert.equal(s.hits(), 1);
});

test('concurrent misses during a failing fetch all fail, with one fetch', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setDelay(100);
  s.setStatus(500);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const token = await sign(k1);
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => v.verify(token)));
  assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason.code === 'jwks_fetch_failed'));
  assert.equal(s.hits(), 1);
});

test('issuer routing picks the set from iss and never fetches for an unknown issuer', async () => {
  const platform = await server({ keys: [k1.jwk] });
  const ext = await server({ keys: [k2.jwk] });
  const EXT = 'https://ext.example';
  const v = new JwksVerifier({
    now: NOW, audience: AUD,
    issuers: { [ISS]: { jwksUri: platform.url }, [EXT]: { jwksUri: ext.url, audience: 'ext-only' } },
  });
  await assert.rejects(v.verify(await sign(k1, { iss: 'https://evil.example' })), isCode('issuer_mismatch'));
  await assert.rejects(v.verify('e30.e30.'), isCode('missing_claim'));
  assert.equal(platform.hits() + ext.hits(), 0);
  assert.equal((await v.verify(await sign(k1))).iss, ISS);
  assert.equal(platform.hits(), 1);
  assert.equal(ext.hits(), 0);
  // The extension issuer's audience applies to its tokens.
  await assert.rejects(v.verify(await sign(k2, { iss: EXT })), isCode('audience_mismatch'));
  // A platform-key token claiming the extension issuer is checked against the extension set only.
  await assert.rejects(v.verify(await sign(k1, { iss: EXT, kid: 'k2' })), isCode('bad_signature'));
  assert.equal(ext.hits(), 1);
  const both = Object.keys(v.exportCache()).sort();
  assert.deepEqual(both, [platform.url, ext.url].sort());
});

test('exportCache / importCache round trip across two verifiers, without a fetch', async () => {
  const s = await server({ keys: [k1.jwk, rsa.jwk] });
  const a = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  assert.equal(a.exportCache(), undefined);
  await a.verify(await sign(k1));
  const snapshot = a.exportCache();
  assert.deepEqual(Object.keys(snapshot), [s.url]);
  assert.equal(snapshot[s.url].jwks.keys.length, 2);
  const viaKv = JSON.parse(JSON.stringify(snapshot));

  s.setStatus(500); // a fetch now would fail
  const b = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 10, cache: viaKv });
  assert.equal((await b.verify(await sign(rsa))).sub, 'user-1');
  const c = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 10 });
  assert.equal(c.importCache(JSON.stringify(viaKv)), 1);
  assert.equal((await c.verify(await sign(k1))).sub, 'user-1');
  assert.equal(s.hits(), 1);

  // Snapshots for another jwksUri, expired or tampered ones are refused by importCache.
  const other = new JwksVerifier({ jwksUri: 'https://elsewhere.example/jwks', issuer: ISS, audience: AUD, now: NOW });
  assert.throws(() => other.importCache(viaKv), isCode('jwks_invalid'));
  const late = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 100000 });
  assert.throws(() => late.importCache(viaKv), isCode('jwks_invalid'));
  const tampered = structuredClone(viaKv);
  tampered[s.url].jwks.keys = [{ kty: 'oct', k: 'c2VjcmV0' }];
  assert.throws(() => new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW }).importCache(tampered), isCode('jwks_invalid'));
  // ... and ignored by the cache option (the set is then fetched: here it fails).
  const ignored = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 100000, cache: viaKv });
  await assert.rejects(ignored.verify(await sign(k1, { exp: NOW + 200000 })), isCode('jwks_fetch_failed'));
});

test('rotation under load: misses with the new kid during the refetch wait for it (one fetch, all verify)', async () => {
  const s = await server({ keys: [k1.jwk] });
  // The runtime clock (no `now`): wait out a 1 s cooldown after the first fetch.
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, cooldownSec: 1 });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  await v.verify(await sign(k1, { exp }));
  const { fetchedAt } = v.exportCache()[s.url];
  while (Date.now() / 1000 < fetchedAt + 2) await sleep(100);
  s.setJwks({ keys: [k1.jwk, k2.jwk] });
  s.setDelay(200);
  const t2 = await sign(k2, { exp });
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => v.verify(t2)));
  assert.deepEqual(outcomes.map((o) => o.status === 'fulfilled' ? 'ok' : o.reason.code), Array(8).fill('ok'));
  assert.equal(s.hits(), 2);
});

test('a malformed token or a disallowed alg never causes a fetch', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setStatus(500);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 0 });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  await assert.rejects(v.verify('not-a-token'), isCode('malformed'));
  await assert.rejects(v.verify(`${b64({ alg: 'none', kid: 'zzz' })}.e30.`), isCode('alg_not_allowed'));
  await assert.rejects(v.verify(`${b64({ alg: 'HS256', kid: 'zzz' })}.e30.c2ln`), isCode('alg_not_allowed'));
  await assert.rejects(v.verify(`${b64({ alg: 'ES256', crit: ['exp'] })}.e30.c2ln`), isCode('crit_unsupported'));
  await assert.rejects(v.verify(`${b64({ alg: 'ES256' })}.bm90IGpzb24.c2ln`), isCode('malformed'));
  assert.equal(s.hits(), 0);
  // With a set cached and no cooldown, garbage with an unknown kid still causes no refetch.
  s.setStatus(200);
  await v.verify(await sign(k1));
  assert.equal(s.hits(), 1);
  for (let i = 0; i < 5; i++) {
    await assert.rejects(v.verify(`${b64({ alg: 'none', kid: `r${i}` })}.e30.`), isCode('alg_not_allowed'));
  }
  assert.equal(s.hits(), 1);
});

test('cooldownSec 0 with no-store: the set just fetched verifies the token that asked for it', async () => {
  const s = await server({ keys: [k1.jwk] });
  for (const cacheControl of ['no-store', 'no-cache', 'max-age=0']) {
    s.setCacheControl(cacheControl);
    const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 0 });
    assert.equal((await v.verify(await sign(k1))).sub, 'user-1', cacheControl);
  }
});

test('issuers sharing one jwksUri share one cached set: one fetch, one snapshot', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setDelay(100);
  const EXT = 'https://ext.example';
  const options = { now: NOW, audience: AUD, issuers: { [ISS]: { jwksUri: s.url }, [EXT]: { jwksUri: s.url } } };
  const first = new JwksVerifier(options);
  const both = await Promise.all([first.verify(await sign(k1)), first.verify(await sign(k1, { iss: EXT }))]);
  assert.deepEqual(both.map((c) => c.iss), [ISS, EXT]);
  assert.equal(s.hits(), 1);
  const snapshot = first.exportCache();
  assert.deepEqual(Object.keys(snapshot), [s.url]);
  s.setStatus(500);
  const second = new JwksVerifier({ ...options, cache: snapshot });
  assert.equal((await second.verify(await sign(k1))).iss, ISS);
  assert.equal((await second.verify(await sign(k1, { iss: EXT }))).iss, EXT);
  const third = new JwksVerifier(options);
  assert.equal(third.importCache(snapshot), 1);
  assert.equal((await third.verify(await sign(k1, { iss: EXT }))).iss, EXT);
  assert.equal(s.hits(), 1);
});

test('an oversized token is refused before it is copied into wasm', async () => {
  const v = JwksVerifier.fromJwks({ keys: [k1.jwk] }, { issuer: ISS, audience: AUD, now: NOW });
  await assert.rejects(v.verify('a'.repeat(50_000_000)), (e) => isCode('malformed')(e) && /50000000 characters; at most 16384 bytes/.test(e.message));
  assert.equal((await v.verify(await sign(k1))).sub, 'user-1');
});

test('a kid-less token no cached key fits refetches once (a new key type), then verifies', async () => {
  const s = await server({ keys: [k1.jwk] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 0 });
  await v.verify(await sign(k1));
  assert.equal(s.hits(), 1);
  s.setJwks({ keys: [k1.jwk, rsa.jwk] });
  const token = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: rsa.alg })
    .setIssuer(ISS).setAudience(AUD).setExpirationTime(NOW + 3600).sign(rsa.privateKey);
  assert.equal((await v.verify(token)).sub, 'user-1');
  assert.equal(s.hits(), 2);
  await v.verify(token);
  assert.equal(s.hits(), 2);
});
