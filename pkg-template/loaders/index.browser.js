// extension-sso (every entry in one import) for browsers and bundlers.
// scripts/build copies this file to the package root as index.browser.js.
import initClient from './client.browser.js';
import initVerifier from './verifier.browser.js';
import initServer from './server.browser.js';

export * from './client.browser.js';
export * from './verifier.browser.js';
export * from './server.browser.js';
// Every entry defines these (ExtensionSsoError too: each browser bundle has
// its own copy of the class); name one so they are not ambiguous (an
// ambiguous name would be left out of the `export *`s above).
export { ExtensionSsoError, errorCodes, crateVersion } from './client.browser.js';
/** Initialises every entry (needed once in browsers; a no-op elsewhere). */
export default async function init() {
  await Promise.all([initClient(), initVerifier(), initServer()]);
}
