// Node 20+: synchronous node:crypto with cached KeyObjects (several times
// faster than WebCrypto for a JWT-sized verify), global fetch, Date.now.
import { constants, createPublicKey, verify } from 'node:crypto';

const HASH = {
  ES256: 'sha256', ES384: 'sha384',
  RS256: 'sha256', RS384: 'sha384', RS512: 'sha512',
  PS256: 'sha256', PS384: 'sha384', PS512: 'sha512',
  EdDSA: null,
};

const encoder = new TextEncoder();

export const nodeRuntime = {
  name: 'node',
  // importKey and verify answer synchronously.
  sync: true,
  /** Imports a public JWK (object) for `alg`; synchronous. */
  importKey(jwk) {
    return createPublicKey({ key: jwk, format: 'jwk' });
  },
  /** Verifies `signature` over the ASCII `signingInput`; synchronous boolean. */
  verify(alg, key, signingInput, signature) {
    const data = Buffer.from(signingInput, 'latin1');
    if (alg[0] === 'E' && alg !== 'EdDSA') {
      return verify(HASH[alg], data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (alg[0] === 'P') {
      return verify(HASH[alg], data, {
        key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      }, signature);
    }
    return verify(HASH[alg], data, key, signature);
  },
  fetch: (input, init) => globalThis.fetch(input, init),
  now: () => Date.now(),
  encode: (s) => encoder.encode(s),
};
