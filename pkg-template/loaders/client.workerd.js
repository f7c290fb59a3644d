// extension-sso/client in Cloudflare workerd / Workers: the `workerd` condition.
// scripts/build copies this file to the package root as client.workerd.js.
// The .wasm is imported as a WebAssembly.Module (workerd's module rules,
// wrangler and esbuild) and instantiated synchronously (no wasm-bindgen glue:
// src/wasm/abi.rs).
import wasmModule from './wasm/client/extension_sso_client_bg.wasm';
import { runtimeSlot, wasmSync } from './lib/common.js';
// The client's JS layer does its own I/O (fetch, crypto.getRandomValues, the
// clock): its runtime slot carries only the wasm module, so no runtime
// adapter is bundled.

runtimeSlot('client').install({ name: 'web', wasm: wasmSync('client', wasmModule) });

export * from './lib/client.js';
/** Nothing to do in workerd: the module is ready when imported. */
export default async function init() {}
