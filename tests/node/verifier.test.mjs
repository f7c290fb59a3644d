// The shared vector suite in Node (node:crypto backend), the jose round trip
// and differential, and a bounded fuzz loop over verify() (issue 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { JwksVerifier, errorCodes } from 'extension-sso/verifier';
import { makeVectors, joseVerdict, joseExpectation, ALGS, ISS, AUD, NOW } from '../vectors/make.mjs';
import { runVectors } from '../vectors/run.mjs';

const vectors = await makeVectors();
const results = await runVectors(JwksVerifier, vectors);

test('the vector suite covers every algorithm and every token rejection code', () => {
  for (const alg of ALGS) assert.ok(vectors.cases.some((c) => c.expect === 'ok' && c.name.includes(alg)), alg);
  const codes = new Set(vectors.cases.map((c) => c.expect));
  for (const code of ['ok', 'malformed', 'alg_not_allowed', 'no_matching_key', 'bad_signature', 'expired',
    'not_yet_valid', 'issuer_mismatch', 'audience_mismatch', 'missing_claim', 'invalid_claim', 'typ_mismatch',
    'crit_unsupported']) {
    assert.ok(codes.has(code), code);
  }
  assert.equal(results.length, vectors.cases.length);
});

for (const r of results) {
  test(`vector: ${r.name}`, () => assert.equal(r.got, r.expect));
}

// --- jose round trip and differential --------------------------------------

for (const c of vectors.cases) {
  if (c.jose === 'skip') continue;
  test(`jose differential: ${c.name}`, async () => {
    const verdict = await joseVerdict(jose, vectors.jwks, vectors.now, c);
    const expected = joseExpectation(c);
    if (expected === 'ok') assert.equal(verdict, 'ok', `jose answered ${verdict}`);
    else assert.notEqual(verdict, 'ok', 'jose accepted a token it should reject');
  });
}

test('jose round trip: jose-signed tokens of every algorithm resolve to the claims jose sees', async () => {
  const set = jose.createLocalJWKSet(vectors.jwks);
  const ours = JwksVerifier.fromJwks(vectors.jwks, { issuer: ISS, audience: AUD, now: NOW });
  let compared = 0;
  for (const c of vectors.cases) {
    if (c.expect !== 'ok' || !c.name.includes('signed by jose')) continue;
    const { payload } = await jose.jwtVerify(c.token, set, { issuer: ISS, audience: AUD, currentDate: new Date(NOW * 1000) });
    assert.deepEqual(await ours.verify(c.token), payload);
    compared++;
  }
  assert.equal(compared, ALGS.length);
});

test('jose round trip: fresh keys and the runtime clock (no fixed now)', async () => {
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg);
    const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'only' }] };
    const token = await new jose.SignJWT({ n: 1 }).setProtectedHeader({ alg, kid: 'only', typ: 'at+jwt' })
      .setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const claims = await JwksVerifier.fromJwks(jwks, { issuer: ISS, audience: AUD, typ: 'at+jwt' }).verify(token);
    assert.equal(claims.n, 1, alg);
    assert.equal(claims.iss, ISS, alg);
  }
});

// --- property test: random input never breaks the verifier -----------------

/** xorshift32: deterministic, so a failure reproduces from its seed. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

test('fuzz: random strings and segment mixes are rejected with a known code, and good tokens still verify', async () => {
  const known = new Set(errorCodes());
  const verifier = JwksVerifier.fromJwks(vectors.jwks, { issuer: ISS, audience: AUD, now: NOW });
  const good = vectors.cases.filter((c) => c.expect === 'ok' && c.name.includes('signed by jose'));
  const segments = vectors.cases.filter((c) => typeof c.token === 'string').flatMap((c) => c.token.split('.'));
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n{}"\u00e9\u{1F980}\0';
  const seed = 0x5eed;
  const rand = rng(seed);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const cases = { rejected: 0, accepted: 0 };
  for (let i = 0; i < 3000; i++) {
    let token;
    switch (i % 5) {
      case 0: { // random characters
        const n = Math.floor(rand() * 200);
        token = Array.from({ length: n }, () => pick(ALPHABET)).join('');
        break;
      }
      case 1: // random segments from the suite, 1-5 of them
        token = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => pick(segments)).join('.');
        break;
      case 2: { // a good token with one character changed
        const t = pick(good).token;
        const at = Math.floor(rand() * t.length);
        token = t.slice(0, at) + pick(ALPHABET) + t.slice(at + 1);
        break;
      }
      case 3: { // random bytes as base64url segments
        const seg = () => Buffer.from(Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256))).toString('base64url');
        token = `${seg()}.${seg()}.${seg()}`;
        break;
      }
      default: { // random JSON-ish header and payload over a real signature
        const t = pick(good).token.split('.');
        const junk = ['{}', '[]', 'null', '{"alg":"ES256"}', '{"alg":"none"}', '{"alg":"RS256","kid":null}',
          '{"exp":1e999}', '{"exp":-1}', '{"aud":[[]]}', '{"a":"\\ud800"}', '{"a":1,"a":2}', '{"exp":1' + '0'.repeat(400) + '}'];
        token = `${rand() < 0.5 ? t[0] : Buffer.from(pick(junk)).toString('base64url')}.${Buffer.from(pick(junk)).toString('base64url')}.${t[2]}`;
      }
    }
    try {
      await verifier.verify(token);
      cases.accepted++;
    } catch (e) {
      assert.ok(e instanceof Error, `seed ${seed} iteration ${i}: threw a non-Error`);
      assert.ok(known.has(e.code), `seed ${seed} iteration ${i}: unknown code ${e.code}`);
      assert.notEqual(e.code, 'invalid_options', `seed ${seed} iteration ${i}: ${e.message}`);
      cases.rejected++;
    }
  }
  assert.ok(cases.rejected > 2900, JSON.stringify(cases));
  // The instance is still healthy: no trap poisoned it.
  for (const c of good) assert.equal((await verifier.verify(c.token)).iss, ISS);
});

test('non-string tokens are malformed', async () => {
  const v = JwksVerifier.fromJwks(vectors.jwks, { issuer: ISS, audience: AUD, now: NOW });
  for (const t of [undefined, null, 1, {}, [], new Uint8Array(3)]) {
    await assert.rejects(v.verify(t), (e) => e.code === 'malformed');
  }
});
