// ServiceClientTokenProvider inside the real workerd runtime signs with WebCrypto: its tokens
// round-trip with the Rust signer (the shared vectors), jose and JwksVerifier.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import { startWorker } from '../support/workerd.mjs';

const VECTORS = JSON.parse(readFileSync(new URL('../node/server-signing.vectors.json', import.meta.url), 'utf8'));
const signingInput = (token) => token.split('.').slice(0, 2).join('.');

// POST { accessKey, issuerUrl, now? } -> what the provider did, step by step.
const SOURCE = `
import { ServiceClientTokenProvider } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

const attempt = (fn) => { try { return { value: fn() }; } catch (e) { return { code: e.code, message: e.message }; } };

export default {
  async fetch(request) {
    const { accessKey, issuerUrl, now, burst } = await request.json();
    const realNow = Date.now;
    if (now !== undefined) Date.now = () => now * 1000;
    try {
      const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl });
      if (burst) {
        // burst concurrent getToken() calls on a cold provider (the key not imported yet).
        const results = await Promise.allSettled(Array.from({ length: burst }, () => provider.getToken()));
        return Response.json({
          failures: results.filter((r) => r.status === 'rejected').map((r) => r.reason.code + ': ' + r.reason.message),
          tokens: [...new Set(results.filter((r) => r.status === 'fulfilled').map((r) => r.value))],
        });
      }
      const before = { jwk: attempt(() => provider.publicJwk()), keyId: attempt(() => provider.keyId) };
      let token;
      try {
        token = await provider.getToken();
      } catch (e) {
        return Response.json({ before, error: { code: e.code, message: e.message } });
      }
      await provider.ready();
      const claims = await JwksVerifier.fromJwks(provider.publicJwks(), { issuer: provider.issuer, audience: provider.audience, now })
        .verify(token);
      return Response.json({
        before, token, claims, jwk: provider.publicJwk(), keyId: provider.keyId, algorithm: provider.algorithm,
        issuer: provider.issuer, audience: provider.audience, cached: (await provider.getToken()) === token,
      });
    } finally {
      Date.now = realNow;
    }
  },
};
`;

describe('ServiceClientTokenProvider inside workerd (WebCrypto)', () => {
  let worker;
  const mint = async (body) => (await fetch(worker.url, { method: 'POST', body: JSON.stringify(body) })).json();

  before(async () => { worker = await startWorker(SOURCE); });
  after(async () => { await worker?.stop(); });

  async function joseVerifies(result, token = result.token) {
    const { payload, protectedHeader } = await jose.jwtVerify(token, await jose.importJWK(result.jwk, result.algorithm),
      { issuer: result.issuer, audience: result.audience, currentDate: new Date(result.claims.iat * 1000) });
    assert.deepEqual(protectedHeader, { alg: result.algorithm, kid: result.keyId, typ: 'JWT' });
    assert.deepEqual(payload, result.claims);
  }

  for (const { name, accessKey, token: rustToken } of VECTORS.cases) {
    test(`the Rust signer's vector: ${name}`, async () => {
      const result = await mint({ accessKey, issuerUrl: VECTORS.issuerUrl, now: VECTORS.now });
      assert.equal(result.error, undefined, result.error?.message);
      if (result.algorithm === 'EdDSA') {
        assert.equal(result.token, rustToken, 'Ed25519 is deterministic: the same token as the Rust signer');
      } else {
        assert.equal(signingInput(result.token), signingInput(rustToken));
        await joseVerifies(result, rustToken);
      }
      await joseVerifies(result);
      assert.equal(result.cached, true);
    });
  }

  test('a key without its public part: publicJwk() waits for ready(), keyId from the key is known at once', async () => {
    const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const result = await mint({ accessKey: `svc.kid-w.acc.${der}`, issuerUrl: VECTORS.issuerUrl });
    assert.equal(result.before.jwk.code, 'invalid_options');
    assert.match(result.before.jwk.message, /ready\(\)/);
    assert.equal(result.before.keyId.value, 'kid-w');
    await joseVerifies(result);
  });

  test('JSON keys made by node:crypto: Ed25519 (thumbprint kid) and P-256 without x/y', async () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const edResult = await mint({ accessKey: JSON.stringify({ clientId: 'svc', privateKey: { kty: 'OKP', crv: 'Ed25519', d: ed.d } }), issuerUrl: VECTORS.issuerUrl });
    assert.equal(edResult.before.keyId.code, 'invalid_options', 'the thumbprint needs the derived key');
    assert.equal(edResult.keyId, await jose.calculateJwkThumbprint(ed));
    assert.equal(edResult.jwk.x, ed.x);
    await joseVerifies(edResult);
    const ecResult = await mint({ accessKey: JSON.stringify({ clientId: 'svc', keyId: 'k', privateKey: { kty: 'EC', crv: 'P-256', d: ec.d } }), issuerUrl: VECTORS.issuerUrl });
    assert.deepEqual([ecResult.jwk.x, ecResult.jwk.y], [ec.x, ec.y]);
    await joseVerifies(ecResult);
  });

  test('a burst of concurrent getToken() calls on a cold provider: every one resolves, to one token', async () => {
    for (const type of ['ed25519', 'ec']) {
      const key = generateKeyPairSync(type, type === 'ec' ? { namedCurve: 'P-256' } : undefined).privateKey.export({ format: 'jwk' });
      const result = await mint({ accessKey: JSON.stringify({ clientId: 'svc', privateKey: key }), issuerUrl: VECTORS.issuerUrl, burst: 40 });
      assert.deepEqual(result.failures, [], type);
      assert.equal(result.tokens.length, 1, type);
    }
  });

  test('x/y that do not belong to d: getToken rejects invalid_key, no token', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const result = await mint({ accessKey: JSON.stringify({ clientId: 'svc', privateKey: { ...ec, x: other.x, y: other.y } }), issuerUrl: VECTORS.issuerUrl });
    assert.equal(result.error?.code, 'invalid_key');
    assert.equal(result.token, undefined);
    assert.equal(result.before.jwk.code, 'invalid_options', 'the given x/y are not published before they are checked');
    assert.ok(!result.error.message.includes(ec.d));
  });
});
