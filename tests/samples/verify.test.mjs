// README's "Verify tokens" sample (examples/verify/authenticate.ts), run as written: transpiled
// (types stripped by esbuild), imported from a project that installed the packed tarball, with
// `fetch` intercepted from outside so that its https://console.example/jwks is served on 127.0.0.1.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { samplesProject, transpiled, interceptFetch } from './project.mjs';
import { startJwksServer } from '../support/jwks-server.mjs';

describe("README sample: Verify tokens (authenticate(request))", () => {
  let project;
  let jwks;
  let privateKey;
  let authenticate;
  /** A fresh instance of the sample module (its own verifier and key cache). */
  let load;
  let restore;

  const sign = ({ audience = 'my-extension', exp = Math.floor(Date.now() / 1000) + 300 } = {}) => new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('https://console.example').setAudience(audience).setExpirationTime(exp)
    .sign(privateKey);
  const request = (authorization) => new Request('https://my-extension.example/api', { headers: authorization ? { authorization } : {} });

  before(async () => {
    project = await samplesProject();
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    jwks = await startJwksServer({ jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] } });
    // The console's key endpoint, served locally; nothing else leaves the process.
    restore = interceptFetch({ 'https://console.example': new URL(jwks.url).origin });
    const url = await transpiled(project, 'examples', 'verify', 'authenticate.ts');
    load = async (instance) => (await import(`${url}?instance=${instance}`)).authenticate;
    authenticate = await load('main');
  });

  after(async () => {
    restore?.();
    await jwks?.close();
    project?.close();
  });

  test('a valid token gives its claims', async () => {
    const claims = await authenticate(request(`Bearer ${await sign()}`));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, 'https://console.example');
  });

  test('a missing, expired or foreign token gives 401 with WWW-Authenticate', async () => {
    for (const authorization of [undefined, 'Bearer x.y.z', `Bearer ${await sign({ exp: 1_000_000 })}`, `Bearer ${await sign({ audience: 'other' })}`]) {
      const answer = await authenticate(request(authorization));
      assert.ok(answer instanceof Response, `${authorization}`);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    }
  });

  test('the key endpoint down on a cold start gives 503 with Retry-After (retryable), not 401', async () => {
    jwks.setStatus(503);
    try {
      const coldStart = await load('cold');
      const answer = await coldStart(request(`Bearer ${await sign()}`));
      assert.ok(answer instanceof Response);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '30');
    } finally {
      jwks.reset();
    }
  });

  test('a key endpoint that answers something other than a JWK Set gives 503 (not the token\'s fault), not 401', async () => {
    jwks.setBody('<html>maintenance</html>');
    try {
      const coldStart = await load('misconfigured');
      const answer = await coldStart(request(`Bearer ${await sign()}`));
      assert.ok(answer instanceof Response);
      assert.equal(answer.status, 503);
    } finally {
      jwks.reset();
      jwks.setBody(null);
    }
  });

  test("README's warning: a token passed with its Bearer prefix is malformed, and the message names the prefix", async () => {
    const entry = createRequire(project.path('package.json')).resolve('extension-sso/verifier'); // the tarball's, as Node resolves it
    const { JwksVerifier } = await import(pathToFileURL(entry).href);
    const verifier = new JwksVerifier({ jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'my-extension' });
    const error = await verifier.verify(`Bearer ${await sign()}`).then(() => null, (e) => e);
    assert.equal(error?.code, 'malformed');
    assert.match(error.message, /Bearer/);
  });
});
