// extension-sso/client under Node 20+ (ESM): the `node` condition of package.json.
// scripts/build copies this file to the package root as client.node.js: paths are relative to it.
// The .wasm next to the glue is read and instantiated synchronously, so the
// entry is ready when imported.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/client/extension_sso_client.js';
import { runtimeSlot } from './lib/common.js';
import { nodeRuntime } from './lib/runtime-node.js';

initSync({ module: readFileSync(new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url)) });
runtimeSlot('client').install(nodeRuntime);

export * from './lib/client.js';
/** Nothing to do under Node: the module is ready when imported. */
export default async function init() {}
