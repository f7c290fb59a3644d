// extension-sso/client under Node 20+ (ESM): the `node` condition of package.json.
// scripts/build copies this file to the package root as client.node.js: paths are relative to it.
// The .wasm next to the glue is read and instantiated synchronously, so the
// entry is ready when imported.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/client/extension_sso_client.js';
import { runtimeSlot } from './lib/common.js';
// The client's JS layer does its own I/O (fetch, crypto.getRandomValues, the
// clock): its runtime slot only says that the wasm is ready, so no runtime
// adapter is bundled.

initSync({ module: readFileSync(new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url)) });
runtimeSlot('client').install({ name: 'node' });

export * from './lib/client.js';
/** Nothing to do under Node: the module is ready when imported. */
export default async function init() {}
