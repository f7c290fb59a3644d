// Browsers and workerd: signs service-client tokens (and hashes at_hash) with WebCrypto, as
// runtime-web.js verifies. The wasm core decides what to sign; this module
// only imports the private key and signs bytes.

const IMPORT = { EdDSA: { name: 'Ed25519' }, ES256: { name: 'ECDSA', namedCurve: 'P-256' } };
const SIGN = { EdDSA: { name: 'Ed25519' }, ES256: { name: 'ECDSA', hash: 'SHA-256' } };
const encoder = new TextEncoder();

export const webSigning = {
  /**
   * Imports a PKCS#8 private key (DER bytes, RFC 5208) for `alg` ('EdDSA' or
   * 'ES256') and derives its public key. Resolves to `{ key, x, y }`: a
   * non-extractable CryptoKey and the public JWK coordinates (base64url).
   * WebCrypto derives the public key only through an export, so the key is
   * imported twice: once extractable (exported, then dropped), once not.
   */
  async importPrivateKey(pkcs8, alg) {
    const { subtle } = globalThis.crypto;
    const exportable = await subtle.importKey('pkcs8', pkcs8, IMPORT[alg], true, ['sign']);
    const { x, y } = await subtle.exportKey('jwk', exportable);
    const key = await subtle.importKey('pkcs8', pkcs8, IMPORT[alg], false, ['sign']);
    return { key, x, y };
  },
  /** The `algorithm` ('SHA-256', 'SHA-384', 'SHA-512') hash of the ASCII `text` (an ID Token's at_hash). */
  digest: async (algorithm, text) => new Uint8Array(await globalThis.crypto.subtle.digest(algorithm, encoder.encode(text))),
  /** Signs the ASCII `signingInput` with an imported key; resolves to the raw signature bytes. */
  sign: async (key, alg, signingInput) =>
    new Uint8Array(await globalThis.crypto.subtle.sign(SIGN[alg], key, encoder.encode(signingInput))),
};
