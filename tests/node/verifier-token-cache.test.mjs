// The verified-token cache (verifiedTokenCacheSize, issue 4): a remembered
// token skips the signature check only while its key set and time claims
// still hold. The runtime is wrapped to count signature checks, and Date.now
// is moved by hand (the Node runtime's clock), so no test waits or times.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { JwksVerifier } from 'extension-sso/verifier';
import { runtimeSlot } from '../../pkg/lib/common.js';
import { nodeRuntime } from '../../pkg/lib/runtime-node.js';
import { startJwksServer } from '../support/jwks-server.mjs';

const ISS = 'https://console.example';
const AUD = 'ext-123';
const T = 1_700_000_000;

let checks = 0;
runtimeSlot('verifier').install({ ...nodeRuntime, verify: (...args) => { checks++; return nodeRuntime.verify(...args); } });
after(() => runtimeSlot('verifier').install(nodeRuntime));

const realNow = Date.now;
let clock = T;
Date.now = () => clock * 1000;
afterEach(() => { clock = T; });
after(() => { Date.now = realNow; });

const servers = [];
after(async () => { await Promise.all(servers.map((s) => s.close())); });

async function keyPair(kid) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}
function sign(key, { exp = T + 60, nbf, iat = T, sub = 'user-1' } = {}) {
  const jwt = new SignJWT({ sub, iat }).setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(ISS).setAudience(AUD).setExpirationTime(exp);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  return jwt.sign(key.privateKey);
}
const isCode = (code) => (e) => { assert.equal(e.code, code, e.message); return true; };

const k1 = await keyPair('k1');
const k2 = await keyPair('k2');
const local = (options = {}) => JwksVerifier.fromJwks({ keys: [k1.jwk] },
  { issuer: ISS, audience: AUD, verifiedTokenCacheSize: 10, ...options });

test('off by default: every verify checks the signature', async () => {
  const v = local({ verifiedTokenCacheSize: undefined });
  const token = await sign(k1);
  checks = 0;
  await v.verify(token);
  await v.verify(token);
  assert.equal(checks, 2);
});

test('a remembered token answers without a signature check, with a fresh claims object each time', async () => {
  const v = local();
  const token = await sign(k1);
  checks = 0;
  const first = await v.verify(token);
  first.sub = 'changed by the caller';
  const second = await v.verify(token);
  assert.equal(checks, 1);
  assert.equal(second.sub, 'user-1');
  assert.notEqual(first, second);
  // A token that differs in one signature byte is not the remembered one.
  const forged = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
  await assert.rejects(v.verify(forged), isCode('bad_signature'));
});

test('exp is re-checked on every hit: past exp the full check decides (tolerance, then expired)', async () => {
  const v = local();
  const token = await sign(k1, { exp: T + 60 });
  checks = 0;
  await v.verify(token);
  clock = T + 70; // past exp, within the default 30 s tolerance: verified in full again
  assert.equal((await v.verify(token)).sub, 'user-1');
  assert.equal(checks, 2);
  clock = T + 100;
  await assert.rejects(v.verify(token), isCode('expired'));
});

test('nbf and iat are re-checked: a clock that goes back gets not_yet_valid', async () => {
  const v = local({ clockToleranceSec: 0 });
  const token = await sign(k1, { nbf: T + 10, iat: T + 10, exp: T + 600 });
  clock = T + 20;
  await v.verify(token);
  clock = T + 5;
  await assert.rejects(v.verify(token), isCode('not_yet_valid'));
});

test('claim and signature failures are never remembered', async () => {
  const v = JwksVerifier.fromJwks({ keys: [k1.jwk] },
    { issuer: ISS, audience: 'someone-else', verifiedTokenCacheSize: 10 });
  const token = await sign(k1);
  await assert.rejects(v.verify(token), isCode('audience_mismatch'));
  await assert.rejects(v.verify(token), isCode('audience_mismatch'));
});

test('bounded: the oldest entry goes first, and every answer stays right', async () => {
  const v = local({ verifiedTokenCacheSize: 2 });
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign(k1, { sub })));
  checks = 0;
  for (const token of [a, b, c]) await v.verify(token);
  assert.equal(checks, 3);
  assert.equal((await v.verify(c)).sub, 'c');
  assert.equal((await v.verify(b)).sub, 'b');
  assert.equal(checks, 3, 'b and c are remembered');
  assert.equal((await v.verify(a)).sub, 'a');
  assert.equal(checks, 4, 'a was evicted first');
});

test('a key set that changes drops what was verified with the old one', async () => {
  const s = await startJwksServer({ jwks: { keys: [k1.jwk] } });
  servers.push(s);
  const v = new JwksVerifier({
    jwksUri: s.url, issuer: ISS, audience: AUD, cacheMaxAgeSec: 60, cooldownSec: 0, verifiedTokenCacheSize: 10,
  });
  const token = await sign(k1, { exp: T + 3600 });
  checks = 0;
  await v.verify(token);
  await v.verify(token);
  assert.equal(checks, 1);
  assert.equal(s.hits(), 1);
  // The host rotates k1 out; once the cached set is due for a refresh, the
  // remembered token is verified again against the new set, and fails.
  s.setJwks({ keys: [k2.jwk] });
  clock = T + 61;
  await assert.rejects(v.verify(token), isCode('no_matching_key'));
  assert.equal(s.hits(), 2);
  assert.equal((await v.verify(await sign(k2, { exp: T + 3600 }))).sub, 'user-1');
});

test('verifiedTokenCacheSize is validated like every option', () => {
  for (const bad of [-1, 1.5, '10', 100_001]) {
    assert.throws(() => local({ verifiedTokenCacheSize: bad }),
      (e) => isCode('invalid_options')(e) && /verifiedTokenCacheSize/.test(e.message));
  }
});
