// Recipe "workerd without wrangler" (examples/workerd/): build.mjs bundles worker.js with esbuild
// from a project that installed the packed tarball, and the real workerd serves config.capnp as
// written (its values from the environment, its socket moved to a free port on 127.0.0.1).
// Tokens are signed with jose; the key set comes from a local JWK Set server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { samplesProject, startProgram, freePort } from './project.mjs';
import { startJwksServer } from '../support/jwks-server.mjs';
import { WORKERD } from '../support/workerd.mjs';

const ISSUER = 'https://login.example';
const AUDIENCE = 'https://api.my-extension.example';

describe('README recipe: workerd without wrangler', () => {
  let project;
  let jwks;
  let privateKey;
  const workers = [];

  const sign = ({ audience = AUDIENCE, expiresIn = 300 } = {}) => new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER).setAudience(audience).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(privateKey);

  async function serve() {
    const port = await freePort();
    const worker = await startProgram(WORKERD, ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], {
      cwd: project.path('examples', 'workerd'),
      env: { ISSUER, AUDIENCE, JWKS_URI: jwks.url },
      readyUrl: `http://127.0.0.1:${port}/`,
    });
    workers.push(worker);
    return `http://127.0.0.1:${port}`;
  }

  before(async () => {
    project = await samplesProject();
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    jwks = await startJwksServer({ jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] } });
    execFileSync(process.execPath, ['build.mjs'], { cwd: project.path('examples', 'workerd'), stdio: 'pipe' });
  });

  after(async () => {
    for (const w of workers) await w.stop();
    await jwks?.close();
    project?.close();
  });

  test('a valid token is answered; a bad, expired or missing one is 401, never 500', async () => {
    const base = await serve();
    const ok = await fetch(base, { headers: { authorization: `Bearer ${await sign()}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { hello: 'alice' });
    const bad = [undefined, 'Bearer nope', `Bearer ${await sign({ expiresIn: -300 })}`,
      `Bearer ${(await sign()).slice(0, -4)}AAAA`, `Bearer ${await sign({ audience: 'someone-else' })}`];
    for (const authorization of bad) {
      const res = await fetch(base, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, `${authorization}`);
      assert.deepEqual(await res.json(), { error: 'invalid_token' });
    }
    assert.equal(jwks.hits(), 1, 'one isolate, one key set fetch');
  });

  test('the key endpoint down on a cold start is 503 (retryable), not 401', async () => {
    jwks.setStatus(500);
    try {
      const base = await serve();
      const res = await fetch(base, { headers: { authorization: `Bearer ${await sign()}` } });
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: 'temporarily_unavailable' });
    } finally {
      jwks.reset();
    }
  });
});
