// Node 20+: synchronous node:crypto with cached KeyObjects (several times
// faster than WebCrypto for a JWT-sized verify), global fetch, Date.now.
import { constants, createPublicKey, verify } from 'node:crypto';

const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

export const nodeRuntime = {
  name: 'node',
  // importKey and verify answer synchronously.
  sync: true,
  /**
   * Imports a public JWK (object) for `alg`; synchronous. The handle holds
   * everything `verify` passes to node:crypto, built once per key.
   */
  importKey(jwk, alg) {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const hash = HASH[alg.slice(2)] ?? null;
    switch (alg.slice(0, 2)) {
      case 'ES': return { hash, key: { key, dsaEncoding: 'ieee-p1363' } };
      case 'PS': return { hash, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } };
      case 'RS': return { hash, key };
      default: return { hash: null, key }; // EdDSA
    }
  },
  /** Verifies `signature` over `input` with an imported key; synchronous boolean. */
  verify: (handle, input, signature) => verify(handle.hash, input, handle.key, signature),
  fetch: (input, init) => globalThis.fetch(input, init),
  now: () => Date.now(),
};
