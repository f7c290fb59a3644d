// Recipe "a Rust backend" (examples/rust-backend/main.rs, README's Rust block): built with cargo
// and run, verifying access tokens issued by the real oidc-provider against its JWK Set.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, startProgram } from './project.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';

const CLIENT_ID = 'my-extension';
const CLIENT_SECRET = 'my-extension-secret-0123456789';
const AUDIENCE = 'https://api.my-extension.example';
const REDIRECT_URI = 'https://my-extension.example/';

describe('README recipe: a Rust backend verifying tokens', () => {
  let op;
  let backend;
  let base;
  let dir;

  before(async () => {
    execFileSync('cargo', ['build', '--quiet', '--example', 'rust-backend'], { cwd: ROOT, stdio: 'inherit' });
    const targetDir = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
    op = await startOidcProvider({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }],
      audience: AUDIENCE,
    });
    dir = mkdtempSync(join(tmpdir(), 'ext-sso-rust-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(op.jwks));
    backend = await startProgram(join(targetDir, 'debug', 'examples', 'rust-backend'), [], {
      cwd: dir,
      env: { JWKS_FILE: 'jwks.json', ISSUER: op.issuer, AUDIENCE, ADDR: '127.0.0.1:0' },
      ready: /listening on http:\/\/\S+\n/,
    });
    base = backend.output().match(/listening on (http:\/\/\S+)\n/)[1];
  });

  after(async () => {
    await backend?.stop();
    await op?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function accessToken() {
    const pkce = pkcePair();
    const { code } = await obtainAuthorizationCode({
      issuer: op.issuer, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: 'openid email', state: 'rust-sample-state',
      codeChallenge: pkce.codeChallenge,
    });
    const res = await fetch(op.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: pkce.codeVerifier }),
    });
    const tokens = await res.json();
    assert.equal(res.status, 200, JSON.stringify(tokens));
    return tokens.access_token;
  }

  test("a token from the provider is answered with its verified claims", async () => {
    const res = await fetch(base, { headers: { authorization: `Bearer ${await accessToken()}` } });
    assert.equal(res.status, 200);
    const claims = await res.json();
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, op.issuer);
    assert.equal(claims.aud, AUDIENCE);
  });

  test('no token, a malformed one or a forged signature is 401 with the code', async () => {
    const token = await accessToken();
    const cases = [[undefined, 'malformed'], ['Bearer nope', 'malformed'], [`Bearer ${token.slice(0, -4)}AAAA`, 'bad_signature']];
    for (const [authorization, reason] of cases) {
      const res = await fetch(base, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.deepEqual(await res.json(), { error: 'invalid_token', reason });
    }
  });
});
