// extension-sso/verifier under Node 20+ (ESM): the `node` condition of package.json.
// scripts/build copies this file to the package root as verifier.node.js: paths are relative to it.
// The .wasm (no wasm-bindgen glue: src/wasm/abi.rs) is read and instantiated
// synchronously, so the entry is ready when imported.
import { readFileSync } from 'node:fs';
import { runtimeSlot, wasmSync } from './lib/common.js';
import { nodeRuntime } from './lib/runtime-node.js';

const wasm = wasmSync('verifier', readFileSync(new URL('./wasm/verifier/extension_sso_verifier_bg.wasm', import.meta.url)));
runtimeSlot('verifier/wasm').install(wasm);
runtimeSlot('verifier').install(nodeRuntime);

export * from './lib/verifier.js';
/** Nothing to do under Node: the module is ready when imported. */
export default async function init() {}
