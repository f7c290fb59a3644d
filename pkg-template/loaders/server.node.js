// extension-sso/server under Node 20+ (ESM): the `node` condition of package.json.
// scripts/build copies this file to the package root as server.node.js: paths are relative to it.
// The .wasm next to the glue is read and instantiated synchronously, so the
// entry is ready when imported.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/server/extension_sso_server.js';
import { runtimeSlot } from './lib/common.js';
import { nodeRuntime } from './lib/runtime-node.js';
import { nodeSigning } from './lib/signing-node.js';

initSync({ module: readFileSync(new URL('./wasm/server/extension_sso_server_bg.wasm', import.meta.url)) });
// The verifier's runtime (fetch, clock), node:crypto signing for
// ServiceClientTokenProvider, and the verifier entry for ID Tokens, loaded
// the first time one comes.
runtimeSlot('server').install({ ...nodeRuntime, ...nodeSigning, loadVerifier: () => import('./verifier.node.js') });

export * from './lib/server.js';
/** Nothing to do under Node: the module is ready when imported. */
export default async function init() {}
