// Node 20+: signs service-client tokens (and hashes at_hash) with node:crypto, as
// runtime-node.js verifies. The wasm core decides what to sign; this module
// only imports the private key and signs bytes.
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';

export const nodeSigning = {
  /**
   * Imports a PKCS#8 private key (DER bytes, RFC 5208) for `alg` ('EdDSA' or
   * 'ES256') and derives its public key; synchronous. Returns `{ key, x, y }`:
   * the handle `sign` takes and the public JWK coordinates (base64url).
   */
  importPrivateKey(pkcs8, alg) {
    const key = createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength), format: 'der', type: 'pkcs8' });
    const { x, y } = createPublicKey(key).export({ format: 'jwk' });
    // ES256 signatures are R || S (RFC 7518 §3.4), not DER.
    return { key: alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, x, y };
  },
  /** The `algorithm` ('SHA-256', 'SHA-384', 'SHA-512') hash of the ASCII `text` (an ID Token's at_hash). */
  digest: (algorithm, text) => createHash(algorithm.replace('-', '').toLowerCase()).update(text, 'latin1').digest(),
  /** Signs the ASCII `signingInput` with an imported key: the raw signature bytes. */
  sign: (handle, alg, signingInput) => sign(alg === 'ES256' ? 'sha256' : null, Buffer.from(signingInput, 'latin1'), handle),
};
