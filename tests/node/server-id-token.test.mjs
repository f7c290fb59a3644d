// How the server entry drives the JwksVerifier of an ID Token: one per fetch, issuer, key set and
// audience; the call's options (fetch, timeoutMs, signal) reach it; its errors keep their code,
// retryable flag and status. The verifier entry is replaced by a recording stand-in through the
// entry's runtime slot (what the loader installs), so each test sees exactly what it was given.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { exchangeCode, ExtensionSsoError } from 'extension-sso/server';
import { runtimeSlot } from '../../pkg/lib/common.js';

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const CLIENT = { clientId: 'web', clientSecret: 'web-secret', redirectUri: 'https://ext.example/cb', code: 'c' };

/** A token endpoint (as a fetch function) answering an ID Token of `issuer` for the client. */
function tokenEndpoint(issuer) {
  const now = Math.floor(Date.now() / 1000);
  const idToken = `${b64({ alg: 'RS256', kid: 'k' })}.${b64({ iss: issuer, sub: 'alice', aud: 'web', iat: now, exp: now + 300 })}.c2ln`;
  return async () => Response.json({ access_token: 'a.b.c', token_type: 'Bearer', id_token: idToken });
}

/** The stand-in for the verifier entry's JwksVerifier: records what it is made with and asked. */
class RecordingVerifier {
  static made = [];
  static calls = [];
  static fail = null;
  constructor(options) {
    this.options = options;
    RecordingVerifier.made.push(options);
  }
  async verify(token, options) {
    RecordingVerifier.calls.push({ verifier: this, options });
    if (RecordingVerifier.fail) throw RecordingVerifier.fail;
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  }
}

describe('the ID Token\'s verifier', () => {
  const slot = runtimeSlot('server');
  let real;
  let issuers = 0;
  /** A fresh issuer (verifiers are kept per issuer across tests). */
  const issuer = () => `https://op${++issuers}.example`;
  const exchange = (iss, options = {}) => exchangeCode({
    issuer: iss, tokenEndpoint: `${iss}/token`, jwksUri: `${iss}/jwks`, ...CLIENT, fetch: tokenEndpoint(iss), ...options,
  });

  before(() => {
    real = slot.get();
    slot.install({ ...real, loadVerifier: async () => ({ JwksVerifier: RecordingVerifier }) });
  });
  after(() => slot.install(real));

  test('is made with the call\'s fetch: two fetches, two verifiers; the same fetch again, the same one', async () => {
    const iss = issuer();
    const [a, b] = [tokenEndpoint(iss), tokenEndpoint(iss)];
    const made = RecordingVerifier.made.length;
    const calls = RecordingVerifier.calls.length;
    await exchange(iss, { fetch: a });
    await exchange(iss, { fetch: b });
    await exchange(iss, { fetch: a });
    const used = RecordingVerifier.calls.slice(calls).map((c) => c.verifier.options.fetch);
    assert.deepEqual(used.map((f) => (f === a ? 'a' : f === b ? 'b' : '?')), ['a', 'b', 'a']);
    assert.equal(RecordingVerifier.made.length - made, 2);
    for (const options of RecordingVerifier.made.slice(made)) {
      assert.deepEqual({ ...options, fetch: undefined },
        { issuer: iss, audience: 'web', jwksUri: `${iss}/jwks`, requiredClaims: ['sub', 'iat'], timeoutMs: 10000, fetch: undefined });
    }
  });

  test('its JWK Set request gets the call\'s timeoutMs (default 10000, as every request of the call)', async () => {
    const iss = issuer();
    const fetch = tokenEndpoint(iss);
    const made = RecordingVerifier.made.length;
    await exchange(iss, { fetch });
    await exchange(iss, { fetch, timeoutMs: 1234 });
    assert.deepEqual(RecordingVerifier.made.slice(made).map((o) => o.timeoutMs), [10000, 1234]);
  });

  test('its rejection keeps its code, retryable flag and HTTP status; the message says it was the ID Token', async () => {
    const iss = issuer();
    const failure = new ExtensionSsoError('jwks_fetch_failed', 'the JWK Set request answered HTTP 503', { status: 503, retryable: true });
    RecordingVerifier.fail = failure;
    try {
      await assert.rejects(exchange(iss), (e) => {
        assert.ok(e instanceof ExtensionSsoError);
        assert.deepEqual([e.code, e.retryable, e.status, e.cause], ['jwks_fetch_failed', true, 503, failure]);
        assert.match(e.message, /^the ID Token failed validation: the JWK Set request answered HTTP 503$/);
        return true;
      });
    } finally {
      RecordingVerifier.fail = null;
    }
  });

  test('the call\'s signal reaches its verify()', async () => {
    const iss = issuer();
    const calls = RecordingVerifier.calls.length;
    const { signal } = new AbortController();
    await exchange(iss, { signal });
    assert.equal(RecordingVerifier.calls.slice(calls)[0]?.options?.signal, signal);
  });

  test('verifiers kept for a fetch are bounded: after many issuers, the first is made again', async () => {
    const fetch = async (url) => tokenEndpoint(new URL(url).origin)();
    const first = issuer();
    await exchange(first, { fetch });
    const made = RecordingVerifier.made.length;
    await exchange(first, { fetch });
    assert.equal(RecordingVerifier.made.length, made, 'kept');
    for (let i = 0; i < 64; i++) await exchange(issuer(), { fetch });
    await exchange(first, { fetch });
    assert.equal(RecordingVerifier.made.length, made + 64 + 1, 'the first was let go, and made again');
  });
});
