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

test('small-order Ed25519 keys are skipped as unusable in every build; off-curve EC keys are refused by the runtime (review F4)', async () => {
  const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
  const options = { issuer: ISS, audience: AUD, now: NOW };
  // The identity point (y = 1), its sign-bit twin, and y = p + 1 (non-canonical 1).
  const identity = new Uint8Array(32); identity[0] = 1;
  const twin = identity.slice(); twin[31] = 0x80;
  const nonCanonical = new Uint8Array(32).fill(0xff); nonCanonical[0] = 0xee; nonCanonical[31] = 0x7f;
  for (const x of [identity, twin, nonCanonical]) {
    assert.throws(() => JwksVerifier.fromJwks({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'weak', x: b64u(x) }] }, options),
      (e) => e.code === 'jwks_invalid' && e.message.includes('Ed25519 x is a small-order point'), b64u(x));
  }
  // With a good key beside it, the weak key is not in the set: a "signature"
  // made without any private key (R = identity, S = 0) finds no key.
  const { publicKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const good = { ...(await jose.exportJWK(publicKey)), kid: 'good' };
  const v = JwksVerifier.fromJwks({ keys: [good, { kty: 'OKP', crv: 'Ed25519', kid: 'weak', x: b64u(identity) }] }, options);
  const input = `${b64u(JSON.stringify({ alg: 'EdDSA', kid: 'weak' }))}.${b64u(JSON.stringify({ iss: ISS, aud: AUD, exp: NOW + 600, sub: 'anyone' }))}`;
  const forged = `${input}.${b64u(new Uint8Array([...identity, ...new Uint8Array(32)]))}`;
  await assert.rejects(v.verify(forged), { code: 'no_matching_key' });
  // An EC key moved off its curve (one bit of y): the runtime's import refuses
  // it, in both runtimes, so the key is skipped and a token signed with the
  // real key answers bad_signature, never anything else.
  const { runtimeSlot } = await import('../../pkg/lib/common.js');
  const { nodeRuntime } = await import('../../pkg/lib/runtime-node.js');
  const { webRuntime } = await import('../../pkg/lib/runtime-web.js');
  for (const alg of ['ES256', 'ES384']) {
    const pair = await jose.generateKeyPair(alg);
    const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: 'off' };
    const y = Buffer.from(jwk.y, 'base64url'); y[y.length - 1] ^= 1;
    const token = await new jose.SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg, kid: 'off' })
      .setIssuer(ISS).setAudience(AUD).setExpirationTime(NOW + 600).sign(pair.privateKey);
    for (const runtime of [nodeRuntime, webRuntime]) {
      runtimeSlot('verifier').install(runtime);
      try {
        const ok = JwksVerifier.fromJwks({ keys: [jwk] }, options);
        assert.equal((await ok.verify(token)).sub, 'user-1', `${alg} ${runtime.name}: the key on its curve`);
        const off = JwksVerifier.fromJwks({ keys: [{ ...jwk, y: b64u(y) }] }, options);
        await assert.rejects(off.verify(token), { code: 'bad_signature' }, `${alg} ${runtime.name}`);
      } finally {
        runtimeSlot('verifier').install(nodeRuntime);
      }
    }
  }
});
