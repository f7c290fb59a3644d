// The verifier's I/O as callers drive it (issues 16, 18, 19): a custom fetch
// and headers, AbortSignal before and during a JWK Set fetch (the cache stays
// consistent), discovery from the real oidc-provider (and a lying metadata
// document), a key rotation while a signature is being checked, and
// exportCache(previous) for writing KV only when something changed.
// Everything listens on 127.0.0.1; no test has a timing threshold.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { JwksVerifier, ExtensionSsoError } from 'extension-sso/verifier';
import { runtimeSlot } from '../../pkg/lib/common.js';
import { nodeRuntime } from '../../pkg/lib/runtime-node.js';
import { startJwksServer } from '../support/jwks-server.mjs';
import { startOidcProvider, obtainAuthorizationCode, pkcePair } from '../support/oidc.mjs';

const ISS = 'https://console.example';
const AUD = 'ext-123';
const NOW = 1_700_000_000;

const closers = [];
after(async () => { await Promise.all(closers.map((close) => close())); });
async function server(jwks) {
  const s = await startJwksServer({ jwks });
  closers.push(() => s.close());
  return s;
}
async function keyPair(kid, alg = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
const sign = (key, { iss = ISS, exp = NOW + 3600 } = {}) => new SignJWT({ sub: 'user-1' })
  .setProtectedHeader({ alg: key.alg, kid: key.kid }).setIssuer(iss).setAudience(AUD).setExpirationTime(exp).sign(key.privateKey);
const k1 = await keyPair('k1');
const k2 = await keyPair('k2');

test('a custom fetch makes every request, with the caller\'s headers and the JWK Set Accept', async () => {
  const s = await server({ keys: [k1.jwk] });
  const seen = [];
  const fetch = (input, init) => {
    seen.push({ url: String(input), headers: Object.fromEntries(new Headers(init.headers)), redirect: init.redirect });
    return globalThis.fetch(input, init);
  };
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, fetch, headers: { 'x-tenant': 'acme' } });
  assert.equal((await v.verify(await sign(k1))).sub, 'user-1');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, s.url);
  assert.equal(seen[0].headers['x-tenant'], 'acme');
  assert.equal(seen[0].headers.accept, 'application/jwk-set+json, application/json');
  assert.equal(seen[0].redirect, 'manual');
  assert.equal(s.lastRequest().headers['x-tenant'], 'acme');
  // The caller's own Accept wins.
  const own = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, fetch, headers: new Headers({ accept: 'application/json' }) });
  await own.verify(await sign(k1));
  assert.equal(seen.at(-1).headers.accept, 'application/json');
  // A fetch that throws is a retryable jwks_fetch_failed whose cause is what it threw.
  const broken = new JwksVerifier({
    jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, fetch: () => { throw new TypeError('no route to host'); },
  });
  await assert.rejects(broken.verify(await sign(k1)), (e) => {
    assert.ok(e instanceof ExtensionSsoError);
    assert.equal(e.code, 'jwks_fetch_failed');
    assert.equal(e.retryable, true);
    assert.match(e.message, /no route to host/);
    assert.equal(e.cause.message, 'no route to host');
    return true;
  });
});

test('an abort before the fetch rejects aborted without a request; the cache is as if nothing happened', async () => {
  const s = await server({ keys: [k1.jwk] });
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const reason = new Error('client went away');
  await assert.rejects(v.verify(await sign(k1), { signal: AbortSignal.abort(reason) }), (e) => {
    assert.ok(e instanceof ExtensionSsoError);
    assert.equal(e.code, 'aborted');
    assert.equal(e.retryable, false);
    assert.equal(e.cause, reason);
    return true;
  });
  assert.equal(s.hits(), 0);
  assert.equal((await v.verify(await sign(k1))).sub, 'user-1');
  assert.equal(s.hits(), 1);
});

test('an abort during the fetch rejects that caller only; the fetch is neither a failure nor a success', async () => {
  const s = await server({ keys: [k1.jwk] });
  s.setDelay(300);
  const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const token = await sign(k1);
  // Two callers share the fetch; one aborts while it is under way.
  const controller = new AbortController();
  const aborting = v.verify(token, { signal: controller.signal });
  const patient = v.verify(token);
  setTimeout(() => controller.abort(new Error('gave up')), 50);
  await assert.rejects(aborting, (e) => e.code === 'aborted' && e.cause.message === 'gave up');
  assert.equal((await patient).sub, 'user-1', 'the other caller still gets the keys');
  assert.equal(s.hits(), 1);

  // The only caller aborts: the request is aborted, and no cooldown or
  // failure is recorded: the next verify fetches at once and succeeds.
  const alone = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  const solo = new AbortController();
  const pending = alone.verify(token, { signal: solo.signal });
  setTimeout(() => solo.abort(), 50);
  await assert.rejects(pending, { code: 'aborted' });
  assert.equal(alone.exportCache(), undefined, 'nothing was cached');
  s.setDelay(0);
  const before = s.hits();
  assert.equal((await alone.verify(token)).sub, 'user-1');
  assert.equal(s.hits(), before + 1);
});

test('discovery from the real oidc-provider: its tokens verify; the metadata goes into the snapshot', async () => {
  const op = await startOidcProvider({ clients: [{ client_id: 'disco', client_secret: 'disco-secret', redirect_uris: ['http://127.0.0.1:1/cb'] }], audience: AUD });
  closers.push(() => op.close());
  const pkce = pkcePair();
  const { code } = await obtainAuthorizationCode({
    issuer: op.issuer, clientId: 'disco', redirectUri: 'http://127.0.0.1:1/cb', scope: 'openid api:read', state: 's', ...pkce,
  });
  const res = await fetch(op.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('disco:disco-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:1/cb', code_verifier: pkce.codeVerifier }),
  });
  const { access_token: accessToken } = await res.json();
  const requests = [];
  const fetchSpy = (input, init) => { requests.push(String(input)); return globalThis.fetch(input, init); };
  const v = new JwksVerifier({ issuer: op.issuer, audience: AUD, discovery: true, typ: 'at+jwt', fetch: fetchSpy });
  const { payload, protectedHeader } = await v.verify(accessToken, { complete: true });
  assert.equal(payload.sub, 'alice');
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.deepEqual(requests, [`${op.issuer}/.well-known/openid-configuration`, op.jwksUri]);
  await v.verify(accessToken);
  assert.equal(requests.length, 2, 'cached');
  const snapshot = v.exportCache();
  assert.deepEqual(Object.keys(snapshot), [op.issuer]);
  assert.equal(snapshot[op.issuer].jwksUri, op.jwksUri);
  // Another isolate starts from the snapshot: no request at all.
  const other = new JwksVerifier({ issuer: op.issuer, audience: AUD, discovery: true, cache: snapshot, fetch: fetchSpy });
  assert.equal((await other.verify(accessToken)).sub, 'alice');
  assert.equal(requests.length, 2);
  // With exportCache(previous), nothing changed: nothing to write back.
  assert.equal(other.exportCache(snapshot), undefined);
});

test('discovery: a metadata document that names another issuer is issuer_mismatch; RFC 8414 is tried after a 404', async () => {
  let issuer;
  let document;
  const paths = [];
  const http = createServer((req, res) => {
    paths.push(req.url);
    if (req.url === '/tenant/.well-known/openid-configuration') return res.writeHead(404).end();
    if (req.url === '/.well-known/oauth-authorization-server/tenant') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document()));
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => http.close(resolve)));
  issuer = `http://127.0.0.1:${http.address().port}/tenant`;
  document = () => ({ issuer: `${issuer}/`, jwks_uri: `${issuer}/keys` });
  const v = new JwksVerifier({ issuer, audience: AUD, discovery: true, now: NOW });
  await assert.rejects(v.verify(await sign(k1, { iss: issuer })), (e) => {
    assert.ok(e instanceof ExtensionSsoError);
    assert.equal(e.code, 'issuer_mismatch');
    assert.match(e.message, /must be equal exactly/);
    return true;
  });
  assert.deepEqual(paths, ['/tenant/.well-known/openid-configuration', '/.well-known/oauth-authorization-server/tenant']);
  // A jwks_uri the URL rule refuses: discovery_failed.
  document = () => ({ issuer, jwks_uri: 'http://keys.example/jwks' });
  const refusing = new JwksVerifier({ issuer, audience: AUD, discovery: true, now: NOW });
  await assert.rejects(refusing.verify(await sign(k1, { iss: issuer })), { code: 'discovery_failed' });
});

test('a key rotation while the signature is being checked is never a forgery', async () => {
  // An async runtime whose key import waits until the test lets it go:
  // meanwhile another token makes the set rotate (old key out, new in).
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let imports = 0;
  runtimeSlot('verifier').install({
    ...nodeRuntime,
    sync: false,
    async importKey(jwk, alg) { imports++; if (imports === 1) await gate; return nodeRuntime.importKey(jwk, alg); },
    async verify(handle, input, signature) { return nodeRuntime.verify(handle, input, signature); },
  });
  try {
    const s = await server({ keys: [k1.jwk] });
    const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cooldownSec: 0 });
    const old = v.verify(await sign(k1));
    // Let the first verification reach its key import.
    while (imports === 0) await new Promise((r) => setTimeout(r, 5));
    s.setJwks({ keys: [k2.jwk] });
    assert.equal((await v.verify(await sign(k2))).sub, 'user-1', 'the new key verifies after the refetch');
    assert.equal(s.hits(), 2);
    release();
    // Checked against the set it was checked with: a valid token, not a forgery.
    assert.equal((await old).sub, 'user-1');
    // A forged signature is still bad_signature, rotation or not.
    const forged = (await sign(k2)).slice(0, -4) + 'AAAA';
    await assert.rejects(v.verify(forged), { code: 'bad_signature' });
    // The withdrawn key no longer verifies new checks.
    await assert.rejects(v.verify(await sign(k1)), { code: 'no_matching_key' });
  } finally {
    runtimeSlot('verifier').install(nodeRuntime);
  }
});

test('exportCache(previous) answers only when something was fetched since (write KV only then)', async () => {
  const s = await server({ keys: [k1.jwk] });
  const first = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW });
  await first.verify(await sign(k1));
  const kv = JSON.parse(JSON.stringify(first.exportCache()));
  assert.equal(first.exportCache(kv), undefined);
  assert.equal(first.exportCache(JSON.stringify(kv)), undefined);
  assert.deepEqual(first.exportCache(null), kv, 'no previous snapshot: the whole snapshot');
  // A worker's next request: constructed from KV, it fetches nothing, so nothing to write.
  const next = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 5, cache: kv });
  await next.verify(await sign(k1));
  assert.equal(next.exportCache(kv), undefined);
  // Once the set is refetched (expired), the snapshot changed.
  const later = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW + 700, cache: kv });
  await later.verify(await sign(k1, { exp: NOW + 7200 }));
  const fresh = later.exportCache(kv);
  assert.equal(fresh[s.url].fetchedAt, NOW + 700);
  // `cache: null` (what KV.get answers for a missing key) is no snapshot.
  assert.ok(new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, cache: null }));
  // A KV value that is JSON but no snapshot is ignored like any invalid
  // snapshot (the set is fetched as if there were none); importCache, strict, refuses it.
  for (const cache of ['[]', '"x"', '1', 'null']) {
    const v = new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, now: NOW, cache });
    assert.equal(v.exportCache(), undefined, JSON.stringify(cache));
    assert.throws(() => v.importCache(cache), { code: 'jwks_invalid' });
  }
  assert.throws(() => new JwksVerifier({ jwksUri: s.url, issuer: ISS, audience: AUD, cache: '{not json' }), { code: 'jwks_invalid' });
});

test('kid-less tokens: each candidate key is imported and kept as itself, whichever others fit (sync and async runtimes)', async () => {
  // Three ES256 keys and two EdDSA keys, none with a kid: a token's
  // candidates are every key of its alg, at different places of the set.
  const keys = [];
  for (const alg of ['ES256', 'EdDSA', 'ES256', 'EdDSA', 'ES256']) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    keys.push({ alg, privateKey, jwk: await exportJWK(publicKey) });
  }
  const jwks = { keys: keys.map((k) => k.jwk) };
  const token = (k) => new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: k.alg })
    .setIssuer(ISS).setAudience(AUD).setExpirationTime(NOW + 3600).sign(k.privateKey);
  const { webRuntime } = await import('../../pkg/lib/runtime-web.js');
  for (const runtime of [nodeRuntime, webRuntime]) {
    runtimeSlot('verifier').install(runtime);
    try {
      const v = JwksVerifier.fromJwks(jwks, { issuer: ISS, audience: AUD, now: NOW });
      // Each key twice, in an order that moves every candidate's place.
      for (const at of [4, 1, 0, 3, 2, 2, 3, 0, 1, 4]) {
        assert.equal((await v.verify(await token(keys[at]))).sub, 'user-1', `${runtime.name}: key ${at}`);
      }
    } finally {
      runtimeSlot('verifier').install(nodeRuntime);
    }
  }
});

test('a token refused as too long in UTF-8 leaves no trace: the token verified before it still answers its own claims (sync and async runtimes)', async () => {
  // Same length, same key, different subjects: only the buffer tells them apart.
  const signAs = (sub) => new SignJWT({ sub }).setProtectedHeader({ alg: k1.alg, kid: k1.kid })
    .setIssuer(ISS).setAudience(AUD).setExpirationTime(NOW + 3600).sign(k1.privateKey);
  const victim = await signAs('victim-0001');
  const other = await signAs('attacker-01');
  assert.equal(victim.length, other.length);
  // Under the limit in UTF-16 code units, over it in UTF-8 bytes: the write stops part way.
  const tooLong = other + '\u20ac'.repeat(6000);
  const { webRuntime } = await import('../../pkg/lib/runtime-web.js');
  for (const runtime of [nodeRuntime, webRuntime]) {
    runtimeSlot('verifier').install(runtime);
    try {
      const v = JwksVerifier.fromJwks({ keys: [k1.jwk] }, { issuer: ISS, audience: AUD, now: NOW });
      assert.equal((await v.verify(victim)).sub, 'victim-0001', runtime.name);
      await assert.rejects(v.verify(tooLong), (e) => e instanceof ExtensionSsoError && e.code === 'malformed', runtime.name);
      assert.equal((await v.verify(victim)).sub, 'victim-0001', `${runtime.name}: the same token again`);
      assert.equal((await v.verify(other)).sub, 'attacker-01', `${runtime.name}: the other token`);
    } finally {
      runtimeSlot('verifier').install(nodeRuntime);
    }
  }
});
