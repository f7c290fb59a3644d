// extension-sso (every entry in one import) for Node 20+.
// scripts/build copies this file to the package root as index.node.js.
import initClient from './client.node.js';
import initVerifier from './verifier.node.js';
import initServer from './server.node.js';

export * from './client.node.js';
export * from './verifier.node.js';
export * from './server.node.js';
// Every entry defines these (ExtensionSsoError too: each browser bundle has
// its own copy of the class); name one so they are not ambiguous (an
// ambiguous name would be left out of the `export *`s above).
export { ExtensionSsoError, errorCodes, crateVersion } from './client.node.js';
/** Initialises every entry (needed once in browsers; a no-op elsewhere). */
export default async function init() {
  await Promise.all([initClient(), initVerifier(), initServer()]);
}
