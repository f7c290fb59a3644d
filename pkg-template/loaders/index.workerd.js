// extension-sso (every entry in one import) for Cloudflare workerd / Workers.
// scripts/build copies this file to the package root as index.workerd.js.
import initClient from './client.workerd.js';
import initVerifier from './verifier.workerd.js';
import initServer from './server.workerd.js';

export * from './client.workerd.js';
export * from './verifier.workerd.js';
export * from './server.workerd.js';
// Every entry defines these (ExtensionSsoError too: each browser bundle has
// its own copy of the class); name one so they are not ambiguous (an
// ambiguous name would be left out of the `export *`s above).
export { ExtensionSsoError, errorCodes, crateVersion } from './client.workerd.js';
/** Initialises every entry (needed once in browsers; a no-op elsewhere). */
export default async function init() {
  await Promise.all([initClient(), initVerifier(), initServer()]);
}
