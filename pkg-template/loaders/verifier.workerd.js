// extension-sso/verifier in Cloudflare workerd / Workers: the `workerd` condition.
// scripts/build copies this file to the package root as verifier.workerd.js.
// The .wasm is imported as a WebAssembly.Module (workerd's module rules,
// wrangler and esbuild) and instantiated synchronously (no wasm-bindgen glue:
// src/wasm/abi.rs).
import wasmModule from './wasm/verifier/extension_sso_verifier_bg.wasm';
import { runtimeSlot, wasmSync } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';

runtimeSlot('verifier/wasm').install(wasmSync('verifier', wasmModule));
runtimeSlot('verifier').install(webRuntime);

export * from './lib/verifier.js';
/** Nothing to do in workerd: the module is ready when imported. */
export default async function init() {}
