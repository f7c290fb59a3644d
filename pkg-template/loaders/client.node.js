// extension-sso/client under Node 20+ (ESM): the `node` condition of package.json.
// scripts/build copies this file to the package root as client.node.js: paths are relative to it.
// The .wasm (no wasm-bindgen glue: src/wasm/abi.rs) is read and instantiated
// synchronously, so the entry is ready when imported.
import { readFileSync } from 'node:fs';
import { runtimeSlot, wasmSync } from './lib/common.js';
// The client's JS layer does its own I/O (fetch, crypto.getRandomValues, the
// clock): its runtime slot carries only the wasm module, so no runtime
// adapter is bundled.

const wasm = wasmSync('client', readFileSync(new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url)));
runtimeSlot('client').install({ name: 'node', wasm });

export * from './lib/client.js';
/** Nothing to do under Node: the module is ready when imported. */
export default async function init() {}
