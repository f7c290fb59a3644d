// Recipe "the backend as a Cloudflare Worker" (examples/worker/), from a project that installed the
// packed tarball, against the real oidc-provider:
// - `wrangler dev` runs the sample as written (wrangler.toml, src/index.ts; local vars in .dev.vars);
// - `wrangler deploy --dry-run --outdir` bundles it the way a deployment does, and that bundle runs
//   in the real workerd (node_modules/@cloudflare/workerd-linux-64) with a KV namespace served by
//   this test, which counts the writes: the key set goes to KV when it changed, not on every request.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { samplesProject, startProgram, freePort, ROOT } from './project.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';
import { WORKERD } from '../support/workerd.mjs';
import { listen, closeServer } from '../support/extension-site.mjs';

const CLIENT_ID = 'my-extension';
const CLIENT_SECRET = 'my-extension-secret-0123456789';
const AUDIENCE = 'https://api.my-extension.example';
const PAGE_ORIGIN = 'https://my-extension.example';
const REDIRECT_URI = `${PAGE_ORIGIN}/`;
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
// No telemetry, and no fetch of Cloudflare's `request.cf` data: local traffic only.
const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

/** The browser's half of the login, played with fetch: a fresh authorization code and its verifier. */
async function authorizationCode(op) {
  const pkce = pkcePair();
  const state = `state-${Math.random().toString(36).slice(2)}`;
  const { code, error } = await obtainAuthorizationCode({
    issuer: op.issuer, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: 'openid email profile', state,
    codeChallenge: pkce.codeChallenge,
  });
  assert.ok(code, `the provider answered ${error}`);
  return { code, state, code_verifier: pkce.codeVerifier, redirect_uri: REDIRECT_URI };
}

/** What the extension page does against the worker: hand the code off, then call the API. */
async function loginAndCallApi(base, op) {
  const handoff = await fetch(`${base}/api/token`, {
    method: 'POST',
    headers: { origin: PAGE_ORIGIN, 'content-type': 'application/json' },
    body: JSON.stringify(await authorizationCode(op)),
  });
  const tokens = await handoff.json();
  assert.equal(handoff.status, 200, JSON.stringify(tokens));
  assert.equal(handoff.headers.get('access-control-allow-origin'), PAGE_ORIGIN);
  assert.equal(tokens.identity.sub, 'alice');
  const hello = await fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(hello.status, 200);
  assert.deepEqual(await hello.json(), { hello: 'alice' });
  return tokens.access_token;
}

async function assertUnauthorized(base) {
  for (const authorization of [undefined, 'Bearer not-a-token', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln']) {
    const res = await fetch(`${base}/api/hello`, { headers: authorization ? { authorization } : {} });
    assert.equal(res.status, 401, `${authorization}: ${await res.clone().text()}`);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await res.json(), { error: 'invalid_token' });
  }
}

describe('README recipe: the backend as a Cloudflare Worker', () => {
  let project;
  let op;

  before(async () => {
    project = await samplesProject();
    op = await startOidcProvider({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }],
      audience: AUDIENCE,
    });
  });

  after(async () => {
    await op?.close();
    project?.close();
  });

  test('wrangler dev runs the sample as written: handoff, API, 401 for bad tokens', async () => {
    const dir = project.path('examples', 'worker');
    // Local values for wrangler dev (the secret included), as a user keeps them in .dev.vars.
    writeFileSync(join(dir, '.dev.vars'), [
      `OIDC_ISSUER=${op.issuer}`, `OIDC_CLIENT_SECRET=${CLIENT_SECRET}`, `ALLOWED_ORIGINS=${PAGE_ORIGIN}`,
    ].join('\n'));
    const port = await freePort();
    const dev = await startProgram(process.execPath, [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port)], {
      cwd: dir, env: WRANGLER_ENV, ready: /Ready on http/,
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await assertUnauthorized(base);
      await loginAndCallApi(base, op);
      const missing = await fetch(`${base}/nowhere`);
      assert.equal(missing.status, 404);
    } finally {
      await dev.stop();
    }
  });

  test("wrangler's bundle in the real workerd: the key set is written to KV only when it changed", async () => {
    const dist = project.path('dist');
    execFileSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', dist], {
      cwd: project.path('examples', 'worker'), env: { ...process.env, ...WRANGLER_ENV }, stdio: 'pipe',
    });

    // A KV namespace as workerd's binding speaks to it: GET / PUT https://fake-host/<key>.
    const kv = { values: new Map(), reads: 0, writes: 0 };
    const kvServer = createServer(async (req, res) => {
      const key = decodeURIComponent(new URL(req.url, 'http://kv').pathname.slice(1));
      if (req.method === 'PUT') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        kv.values.set(key, Buffer.concat(chunks));
        kv.writes += 1;
        res.writeHead(200).end();
      } else if (req.method === 'GET') {
        kv.reads += 1;
        const value = kv.values.get(key);
        res.writeHead(value ? 200 : 404).end(value ?? '');
      } else {
        res.writeHead(405).end();
      }
    });
    const kvPort = await listen(kvServer);

    const start = async () => {
      const port = await freePort();
      const modules = readdirSync(dist).filter((f) => f.endsWith('.wasm')).map((f) => `(name = "${f}", wasm = embed "${f}")`);
      const vars = { OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, API_AUDIENCE: AUDIENCE, ALLOWED_ORIGINS: PAGE_ORIGIN };
      writeFileSync(join(dist, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "kv", external = (address = "127.0.0.1:${kvPort}", http = ())),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js"), ${modules.join(', ')} ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
  bindings = [ ${Object.entries(vars).map(([k, v]) => `(name = "${k}", text = ${JSON.stringify(v)})`).join(', ')},
    (name = "JWKS_CACHE", kvNamespace = "kv") ],
);
`);
      return startProgram(WORKERD, ['serve', join(dist, 'config.capnp'), '--verbose'], {
        cwd: dist, readyUrl: `http://127.0.0.1:${port}/__ready`,
      }).then((p) => ({ ...p, base: `http://127.0.0.1:${port}` }));
    };

    let worker = await start();
    try {
      await assertUnauthorized(worker.base);
      const token = await loginAndCallApi(worker.base, op);
      assert.equal(kv.writes, 1, 'the first fetched key set was written');
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(`${worker.base}/api/hello`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200);
      }
      await assertUnauthorized(worker.base);
      assert.equal(kv.writes, 1, 'an unchanged key set is not written again');

      // A new isolate starts from KV: it verifies without writing the same set back.
      await worker.stop();
      const readsBefore = kv.reads;
      worker = await start();
      const res = await fetch(`${worker.base}/api/hello`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, worker.output());
      assert.ok(kv.reads > readsBefore, 'the new isolate read the key set from KV');
      assert.equal(kv.writes, 1);
    } finally {
      await worker.stop();
      await closeServer(kvServer);
    }
  });
});
