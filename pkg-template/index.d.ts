// extension-sso: everything in one import (the browser client, the JWKS
// verifier and the backend helpers). For smaller bundles import a subpath:
// 'extension-sso/client', 'extension-sso/verifier' or 'extension-sso/server'.
export * from './client.js';
export * from './verifier.js';
export * from './server.js';
// The client's and the server's are the same shape (`{ signal? }`).
export type { CallOptions } from './client.js';
// Both the verifier and the server declare one (the function that makes
// their requests); from the root, `FetchLike` is the server's. The verifier's
// options are typed with its own (its requests carry a `Headers`).
export type { FetchLike } from './server.js';
export type { ErrorCode, ExtensionSsoErrorDetails } from './errors.js';
export { ExtensionSsoError, errorCodes, crateVersion } from './errors.js';

/** Loads every entry's WebAssembly module; required (once) in browsers and bundlers, a no-op under Node and workerd. */
export default function init(): Promise<void>;
