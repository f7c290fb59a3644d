// Browsers and workerd: WebCrypto (crypto.subtle) with cached CryptoKeys,
// fetch and crypto taken from globalThis (never from `window`).

const HASH = { 256: 'SHA-256', 384: 'SHA-384', 512: 'SHA-512' };

function importParams(alg) {
  const bits = alg.slice(2);
  switch (alg.slice(0, 2)) {
    case 'ES': return { name: 'ECDSA', namedCurve: `P-${bits}` };
    case 'RS': return { name: 'RSASSA-PKCS1-v1_5', hash: HASH[bits] };
    case 'PS': return { name: 'RSA-PSS', hash: HASH[bits] };
    default: return { name: 'Ed25519' };
  }
}

function verifyParams(alg) {
  const bits = alg.slice(2);
  switch (alg.slice(0, 2)) {
    case 'ES': return { name: 'ECDSA', hash: HASH[bits] };
    case 'RS': return { name: 'RSASSA-PKCS1-v1_5' };
    case 'PS': return { name: 'RSA-PSS', saltLength: Number(bits) / 8 };
    default: return { name: 'Ed25519' };
  }
}


export const webRuntime = {
  name: 'web',
  // importKey and verify answer with promises.
  sync: false,
  /** Imports a public JWK (object) for `alg`; resolves to { key: CryptoKey, params }. */
  async importKey(jwk, alg) {
    const key = await globalThis.crypto.subtle.importKey('jwk', jwk, importParams(alg), false, ['verify']);
    return { key, params: verifyParams(alg) };
  },
  /** Verifies `signature` over `input` with an imported key; resolves to a boolean. */
  verify: (handle, input, signature) => globalThis.crypto.subtle.verify(handle.params, handle.key, signature, input),
  fetch: (input, init) => globalThis.fetch(input, init),
  now: () => Date.now(),
};
