// JwksVerifier options as a JS user meets them: typos and wrong types fail
// at construction with `invalid_options` naming the option, opt-outs must be
// written out, and every option reaches the core (issue 4). Names and types
// are checked by lib/verifier.js (tested here); what the values mean (ranges,
// algorithm names, typ) by the core, tested natively in src/jwks/config.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JwksVerifier } from 'extension-sso/verifier';
import { makeVectors, ISS, AUD, NOW } from '../vectors/make.mjs';

const vectors = await makeVectors();
const base = { issuer: ISS, audience: AUD, now: NOW };
const ok = vectors.cases.find((c) => c.name === 'ok ES256 (signed by jose)');

function rejects(options, message, code = 'invalid_options') {
  assert.throws(() => JwksVerifier.fromJwks(vectors.jwks, options), (e) => {
    assert.equal(e.name, 'ExtensionSsoError');
    assert.equal(e.code, code, e.message);
    assert.equal(e.retryable, false);
    assert.match(e.message, message);
    return true;
  });
}

test('a typo is refused with the list of options, even when its value is null', () => {
  rejects({ ...base, isuer: 'x' }, /unknown option "isuer" for JwksVerifier; the options are: issuer, audience/);
  rejects({ ...base, cahce: null }, /unknown option "cahce"/);
  assert.throws(() => new JwksVerifier({ audience: AUD, issuers: { [ISS]: { jwks: vectors.jwks, jwksuri: 'https://x' } } }),
    { code: 'invalid_options', message: /unknown option "jwksuri" for issuers\[".*"\]; the options are: jwks, jwksUri, audience/ });
});

test('wrong types name the option and what it must be', () => {
  rejects({ ...base, issuer: 7 }, /issuer must be a string or a list of strings/);
  rejects({ ...base, clockToleranceSec: '30' }, /clockToleranceSec must be a whole non-negative number/);
  rejects({ ...base, rejectKeyHints: 1 }, /rejectKeyHints must be true or false/);
  rejects({ ...base, algorithms: ['HS256'] }, /unsupported algorithm in the allow-list/);
  rejects({ ...base, now: -1 }, /now must be a unix time in seconds/);
  assert.throws(() => new JwksVerifier('https://console.example/jwks'), { code: 'invalid_options' });
});

test('audience and issuer must be given; audience: null accepts any audience on purpose', async () => {
  rejects({ issuer: ISS, now: NOW }, /audience is required: pass the expected "aud"/);
  rejects({ audience: AUD, now: NOW }, /issuer is required/);
  const any = JwksVerifier.fromJwks(vectors.jwks, { ...base, audience: null });
  assert.equal((await any.verify(ok.token)).iss, ISS);
});

test('keys: jwks or jwksUri, one of them, under the URL rule; a bad set is jwks_invalid', () => {
  rejects({ ...base, jwksUri: 'https://console.example/jwks' }, /pass either jwks or jwksUri, not both/);
  assert.throws(() => new JwksVerifier({ ...base, jwksUri: 'file:///etc/jwks' }), /JwksVerifier: jwksUri must be an absolute URL such as https:/);
  assert.throws(() => new JwksVerifier(base), /pass the keys, as jwks \(a JWK Set\) or jwksUri/);
  assert.throws(() => JwksVerifier.fromJwks('{"keys":', base), { code: 'jwks_invalid', message: /jwks is not valid JSON/ });
  assert.throws(() => JwksVerifier.fromJwks({ keys: [] }, base), { code: 'jwks_invalid' });
});

test('every option reaches the core: the strict ones change the verdict', async () => {
  const verdict = (options) => JwksVerifier.fromJwks(vectors.jwks, { ...base, ...options }).verify(ok.token)
    .then(() => 'ok', (e) => e.code);
  assert.equal(await verdict({}), 'ok');
  assert.equal(await verdict({ typ: 'at+jwt' }), 'typ_mismatch');
  assert.equal(await verdict({ requiredClaims: ['never-present'] }), 'missing_claim');
  assert.equal(await verdict({ audience: 'someone-else' }), 'audience_mismatch');
  assert.equal(await verdict({ issuer: ['https://other.example'] }), 'issuer_mismatch');
  assert.equal(await verdict({ now: 4102444800 }), 'expired');
  const alg = JSON.parse(Buffer.from(ok.token.split('.')[0], 'base64url')).alg;
  const other = 'EdDSA';
  assert.equal(await verdict({ algorithms: [other] }), 'alg_not_allowed');
  assert.equal(await verdict({ algorithms: alg }), 'ok');
});

test('remote knobs are checked when the verifier is built, not at the first fetch', () => {
  const remote = { issuer: ISS, audience: AUD, jwksUri: 'http://127.0.0.1:9/jwks' };
  assert.throws(() => new JwksVerifier({ ...remote, timeoutMs: 0 }), /timeoutMs must be between 1 and 60000/);
  assert.throws(() => new JwksVerifier({ ...remote, cooldownSec: 900 }), /cooldownSec must not be larger than cacheMaxAgeSec/);
  assert.throws(() => new JwksVerifier({ ...remote, maxBodyBytes: 2 ** 40 }), /maxBodyBytes must be between 1 and/);
  assert.throws(() => new JwksVerifier({ ...remote, cache: 42 }), /cache must be an object or JSON text/);
  assert.throws(() => new JwksVerifier({ ...remote, cache: '{' }), { code: 'jwks_invalid' });
  assert.ok(new JwksVerifier({ ...remote, cache: '{}', cacheMaxAgeSec: 60, cooldownSec: 1, staleIfErrorSec: 0 }));
});

test('every option of the wrong type is refused by name, with what it must be', () => {
  const remote = { issuer: ISS, audience: AUD, jwksUri: 'http://127.0.0.1:9/jwks' };
  const cases = [
    [{ audience: [1] }, /invalid JwksVerifier options: audience must be a string or a list of strings/],
    [{ audience: 0 }, /audience must be a string or a list of strings/],
    [{ audience: [] }, /invalid JwksVerifier options: audience must be a non-empty string or list of them/],
    [{ audience: '' }, /audience must be a non-empty string/],
    [{ jwksUri: 5 }, /jwksUri must be a string/],
    [{ timeoutMs: '5' }, /timeoutMs must be a whole non-negative number/],
    [{ cooldownSec: 1.5 }, /cooldownSec must be a whole non-negative number/],
    [{ maxBodyBytes: -1 }, /maxBodyBytes must be a whole non-negative number/],
    [{ verifiedTokenCacheSize: -5 }, /verifiedTokenCacheSize must be a whole non-negative number/],
    [{ verifiedTokenCacheSize: 100001 }, /verifiedTokenCacheSize must be at most 100000/],
    [{ rejectKeyHints: 'yes' }, /rejectKeyHints must be true or false/],
    [{ typ: true }, /typ must be a string/],
    [{ requiredClaims: [7] }, /requiredClaims must be a string or a list of strings/],
    [{ algorithms: [] }, /algorithms must list at least one algorithm/],
    [{ clockToleranceSec: 30000 }, /clockToleranceSec is 30000; expected at most/],
    [{ issuer: [] }, /issuer must list at least one value/],
  ];
  for (const [option, message] of cases) {
    assert.throws(() => new JwksVerifier({ ...remote, ...option }), (e) => {
      assert.equal(e.code, 'invalid_options', `${JSON.stringify(option)}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => JwksVerifier.fromJwks([1], base), /jwks must be an object or JSON text/);
  // null means "not set" (defaults apply), except audience: null.
  assert.ok(new JwksVerifier({ ...remote, typ: null, algorithms: null, timeoutMs: null, cache: null }));
});

test('issuer routing: one entry per issuer, with its own keys and (optionally) audience', () => {
  const jwksUri = 'http://127.0.0.1:9/jwks';
  const cases = [
    [{ issuer: ISS, audience: AUD, issuers: { [ISS]: { jwksUri } } }, /with issuers: \{\.\.\.\} give each issuer its own jwks or jwksUri/],
    [{ audience: AUD, issuers: {} }, /issuers must map at least one issuer to its keys/],
    [{ audience: AUD, issuers: [] }, /issuers must map at least one issuer to its keys/],
    [{ audience: AUD, issuers: { i: jwksUri } }, /issuers\["i"\] options must be an object/],
    [{ issuers: { i: { jwksUri } } }, /audience is required for issuer "i"/],
    [{ audience: AUD, issuers: { i: { jwksUri, audience: '' } } }, /invalid issuers\["i"\] options: audience must be a non-empty string/],
    [{ audience: AUD, issuers: { i: {} } }, /issuers\["i"\]: pass the keys, as jwks/],
    [{ audience: AUD, issuers: { i: { jwksUri: 'ftp://x' } } }, /issuers\["i"\]: jwksUri must use https/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new JwksVerifier(options), (e) => {
      assert.equal(e.code, 'invalid_options', e.message);
      assert.match(e.message, message);
      return true;
    });
  }
  // An entry's audience wins over the top-level one; null there accepts any.
  assert.ok(new JwksVerifier({ audience: AUD, issuers: { i: { jwksUri, audience: null }, j: { jwksUri, audience: ['x'] } } }));
});

test('options that cannot be written as data are refused, not half-read', () => {
  const cyclic = { keys: [] };
  cyclic.self = cyclic;
  assert.throws(() => new JwksVerifier({ ...base, jwks: cyclic }), { code: 'invalid_options', message: /options must be plain data/ });
  assert.throws(() => JwksVerifier.fromJwks(vectors.jwks, { ...base, cache: { big: 1n } }),
    { code: 'invalid_options', message: /options must be plain data/ });
});

test('importCache refuses what is not a snapshot with jwks_invalid; the cache option ignores it', () => {
  const remote = { issuer: ISS, audience: AUD, jwksUri: 'http://127.0.0.1:9/jwks' };
  const v = new JwksVerifier(remote);
  assert.throws(() => v.importCache('{'), { code: 'jwks_invalid', message: /the cache snapshot is not JSON/ });
  assert.throws(() => v.importCache(7), { code: 'jwks_invalid', message: /must be the object exportCache\(\) returned/ });
  assert.throws(() => v.importCache({ 'http://127.0.0.1:9/jwks': { jwks: { keys: [] } } }), { code: 'jwks_invalid' });
  assert.throws(() => v.importCache({ 'https://elsewhere/jwks': {} }), { code: 'jwks_invalid', message: /names a jwksUri this verifier does not use/ });
  assert.equal(v.importCache({}), 0);
  assert.equal(new JwksVerifier({ ...remote, cache: { 'https://elsewhere/jwks': {}, 'http://127.0.0.1:9/jwks': 'junk' } }).exportCache(), undefined);
});

test('jwksUri follows the URL rule: https, or http to a loopback host; allowInsecureHttp lets any http through', () => {
  const make = (jwksUri, extra = {}) => new JwksVerifier({ issuer: ISS, audience: AUD, jwksUri, ...extra });
  for (const ok of ['https://console.example/jwks', 'http://localhost:8080/jwks', 'http://127.0.0.1:9/jwks', 'http://127.8.9.10/jwks', 'http://[::1]/jwks']) {
    assert.ok(make(ok), ok);
  }
  for (const bad of ['http://console.example/jwks', 'http://10.0.0.1/jwks', 'http://localhost.evil.example/jwks']) {
    assert.throws(() => make(bad), (e) => {
      assert.equal(e.code, 'invalid_options', bad);
      assert.match(e.message, /jwksUri must use https \(plain http only to localhost, 127\.0\.0\.0\/8 or \[::1\]; for a trusted in-cluster http service pass allowInsecureHttp: true\)/);
      return true;
    });
  }
  for (const bad of ['https://user:pw@console.example/jwks', 'https://console.example/jwks#frag', 'jwks']) {
    assert.throws(() => make(bad), { code: 'invalid_options' }, bad);
  }
  assert.ok(make('http://console.example/jwks', { allowInsecureHttp: true }));
  assert.throws(() => make('http://console.example/jwks', { allowInsecureHttp: false }), { code: 'invalid_options' });
  assert.throws(() => make('ftp://console.example/jwks', { allowInsecureHttp: true }), { code: 'invalid_options' });
  assert.throws(() => make('https://console.example/jwks', { allowInsecureHttp: 'yes' }),
    { code: 'invalid_options', message: /allowInsecureHttp must be true or false/ });
  // Routed issuers too; discovery's issuer as well.
  assert.throws(() => new JwksVerifier({ audience: AUD, issuers: { [ISS]: { jwksUri: 'http://console.example/jwks' } } }),
    { code: 'invalid_options', message: /issuers\["https:\/\/console.example"\]: jwksUri must use https/ });
  assert.throws(() => new JwksVerifier({ issuer: 'http://op.example', audience: AUD, discovery: true }),
    { code: 'invalid_options', message: /issuer must use https/ });
  assert.ok(new JwksVerifier({ issuer: 'http://op.example', audience: AUD, discovery: true, allowInsecureHttp: true }));
});

test('fetch and headers are checked like every option; a function-valued typo is refused', () => {
  const remote = { issuer: ISS, audience: AUD, jwksUri: 'http://127.0.0.1:9/jwks' };
  assert.ok(new JwksVerifier({ ...remote, fetch: globalThis.fetch, headers: { 'x-tenant': 'a' } }));
  assert.ok(new JwksVerifier({ ...remote, headers: new Headers({ 'x-tenant': 'a' }) }));
  assert.throws(() => new JwksVerifier({ ...remote, fetch: 'fetch' }), { code: 'invalid_options', message: /fetch must be a function/ });
  assert.throws(() => new JwksVerifier({ ...remote, headers: 'x' }), { code: 'invalid_options', message: /headers must be an object/ });
  assert.throws(() => new JwksVerifier({ ...remote, fecth: globalThis.fetch }), { code: 'invalid_options', message: /unknown option "fecth" for JwksVerifier/ });
});

test('verify options: signal and complete, checked by name and type', async () => {
  const v = JwksVerifier.fromJwks(vectors.jwks, base);
  await assert.rejects(v.verify(ok.token, { complet: true }), { code: 'invalid_options', message: /unknown option "complet" for verify; the options are: signal, complete/ });
  await assert.rejects(v.verify(ok.token, { complete: 'yes' }), { code: 'invalid_options', message: /complete must be true or false/ });
  await assert.rejects(v.verify(ok.token, { signal: {} }), { code: 'invalid_options', message: /signal must be an AbortSignal/ });
  await assert.rejects(v.verify(ok.token, 'x'), { code: 'invalid_options' });
  const { payload, protectedHeader } = await v.verify(ok.token, { complete: true });
  assert.equal(payload.iss, ISS);
  assert.equal(protectedHeader.alg, 'ES256');
  assert.deepEqual(await v.verify(ok.token, { complete: false }), payload);
  assert.deepEqual(await v.verify(ok.token, {}), payload);
  const aborted = AbortSignal.abort(new Error('gone'));
  await assert.rejects(v.verify(ok.token, { signal: aborted }), (e) => {
    assert.equal(e.code, 'aborted');
    assert.equal(e.retryable, false);
    assert.equal(e.cause.message, 'gone');
    return true;
  });
});

test('a token passed with its Bearer prefix gets a message that names the prefix', async () => {
  const v = JwksVerifier.fromJwks(vectors.jwks, base);
  for (const prefix of ['Bearer ', 'bearer ', 'BEARER ']) {
    await assert.rejects(v.verify(prefix + ok.token), (e) => {
      assert.equal(e.code, 'malformed');
      assert.match(e.message, /starts with "Bearer ": pass the token alone/);
      assert.ok(!e.message.includes(ok.token));
      return true;
    });
  }
});
