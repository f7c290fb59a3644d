// JwksVerifier options as a JS user meets them: typos and wrong types fail
// at construction with `invalid_options` naming the option, opt-outs must be
// written out, and every option reaches the core (issue 4). The option rules
// themselves are tested natively (src/jwks/config.rs); this is the JS path.
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

test('keys: jwks or jwksUri, one of them, an absolute http(s) URL; a bad set is jwks_invalid', () => {
  rejects({ ...base, jwksUri: 'https://console.example/jwks' }, /pass either jwks or jwksUri, not both/);
  assert.throws(() => new JwksVerifier({ ...base, jwksUri: 'file:///etc/jwks' }), /absolute http\(s\) URL/);
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
