// ServiceClientTokenProvider signs with node:crypto: its tokens round-trip with the Rust signer
// (the shared vectors, made by jwt-compact over ed25519-dalek / p256), jose and JwksVerifier.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import { ServiceClientTokenProvider } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

const VECTORS = JSON.parse(readFileSync(new URL('./server-signing.vectors.json', import.meta.url), 'utf8'));
const ISSUER_URL = VECTORS.issuerUrl;
const signingInput = (token) => token.split('.').slice(0, 2).join('.');

/** Runs `fn` with Date.now() frozen at `sec` (the provider reads the clock from the runtime). */
async function at(sec, fn) {
  const realNow = Date.now;
  Date.now = () => sec * 1000;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

/** jose and JwksVerifier both accept `token` for `provider`'s public key. */
async function bothVerify(token, provider, now) {
  const jwk = provider.publicJwk();
  const { payload, protectedHeader } = await jose.jwtVerify(token, await jose.importJWK(jwk, provider.algorithm),
    { issuer: provider.issuer, audience: provider.audience, currentDate: now ? new Date(now * 1000) : undefined });
  assert.deepEqual(protectedHeader, { alg: provider.algorithm, kid: provider.keyId, typ: 'JWT' });
  const ours = await JwksVerifier.fromJwks(provider.publicJwks(), { issuer: provider.issuer, audience: provider.audience, now })
    .verify(token);
  assert.deepEqual(ours, payload);
  return payload;
}

describe('the runtime signer and the Rust signer make the same tokens', () => {
  for (const { name, accessKey, token: rustToken } of VECTORS.cases) {
    test(name, async () => {
      const provider = new ServiceClientTokenProvider(accessKey, ISSUER_URL);
      const token = await at(VECTORS.now, () => provider.getToken());
      if (provider.algorithm === 'EdDSA') {
        // RFC 8032 signatures are deterministic: byte for byte the Rust signer's token.
        assert.equal(token, rustToken);
      } else {
        // ECDSA nonces are random in node:crypto (RFC 6979 in RustCrypto): the same signing input.
        assert.equal(signingInput(token), signingInput(rustToken));
        assert.notEqual(token, rustToken);
        await bothVerify(rustToken, provider, VECTORS.now);
      }
      const payload = await bothVerify(token, provider, VECTORS.now);
      assert.deepEqual(payload, { iss: provider.issuer, sub: provider.clientId, aud: provider.audience, iat: VECTORS.now, exp: VECTORS.now + 300 });
    });
  }
});

describe('keys made by node:crypto', () => {
  const ed = generateKeyPairSync('ed25519').privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  test('Authress form (PKCS#8 Ed25519 without its public key): public key derived, tokens verify', async () => {
    const der = ed.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const provider = new ServiceClientTokenProvider({ accessKey: `svc.kid-9.acc-1.${der}`, issuerUrl: ISSUER_URL });
    assert.equal(provider.publicJwk().x, ed.export({ format: 'jwk' }).x);
    await bothVerify(await provider.getToken(), provider);
  });

  test('JSON Ed25519 JWK without x or kid: the kid is the RFC 7638 thumbprint of the derived key', async () => {
    const { d } = ed.export({ format: 'jwk' });
    const provider = new ServiceClientTokenProvider({ accessKey: JSON.stringify({ clientId: 'svc', privateKey: { kty: 'OKP', crv: 'Ed25519', d } }), issuerUrl: ISSUER_URL });
    assert.equal(provider.keyId, await jose.calculateJwkThumbprint(ed.export({ format: 'jwk' })));
    await bothVerify(await provider.getToken(), provider);
  });

  test('JSON P-256 JWK with and without x/y: the same public key, tokens verify', async () => {
    const { d, x, y } = ec.export({ format: 'jwk' });
    for (const privateKey of [{ kty: 'EC', crv: 'P-256', d, x, y }, { kty: 'EC', crv: 'P-256', d }]) {
      const provider = new ServiceClientTokenProvider({ accessKey: JSON.stringify({ clientId: 'svc', keyId: 'k', privateKey }), issuerUrl: ISSUER_URL });
      assert.deepEqual([provider.publicJwk().x, provider.publicJwk().y], [x, y]);
      await bothVerify(await provider.getToken(), provider);
    }
  });

  test('x/y that do not belong to d: invalid_key at construction, never a token', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const { d } = ec.export({ format: 'jwk' });
    const accessKey = JSON.stringify({ clientId: 'svc', privateKey: { kty: 'EC', crv: 'P-256', d, x: other.x, y: other.y } });
    assert.throws(() => new ServiceClientTokenProvider({ accessKey, issuerUrl: ISSUER_URL }), (e) => {
      assert.equal(e.code, 'invalid_key');
      assert.match(e.message, /do not match its d/);
      assert.ok(!e.message.includes(d), 'no key material in the message');
      return true;
    });
    const edOther = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const edKey = JSON.stringify({ clientId: 'svc', privateKey: { ...ed.export({ format: 'jwk' }), x: edOther.x } });
    assert.throws(() => new ServiceClientTokenProvider({ accessKey: edKey, issuerUrl: ISSUER_URL }), { code: 'invalid_key' });
  });

  test('a burst of concurrent getToken() calls on a cold provider: every one resolves, to one token', async () => {
    // The first token is signed once and shared; before, each call signed its own and the core
    // kept only 16 of them waiting: the rest rejected invalid_options ("driven out of order").
    for (const key of [ed, ec]) {
      const provider = new ServiceClientTokenProvider({ accessKey: JSON.stringify({ clientId: 'svc', privateKey: key.export({ format: 'jwk' }) }), issuerUrl: ISSUER_URL });
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => provider.getToken()));
      assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => `${r.reason.code}: ${r.reason.message}`), []);
      assert.equal(new Set(results.map((r) => r.value)).size, 1, provider.algorithm);
      await bothVerify(results[0].value, provider);
      assert.equal(await provider.getToken(), results[0].value, 'then cached');
    }
  });

  test('ready() resolves at once under Node (the key is imported by the constructor)', async () => {
    const der = ed.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const provider = new ServiceClientTokenProvider(`svc.kid.acc.${der}`, ISSUER_URL);
    assert.ok(provider.publicJwk().x);
    assert.equal(await provider.ready(), undefined);
  });
});
