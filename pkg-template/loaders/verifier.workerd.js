// extension-sso/verifier in Cloudflare workerd / Workers: the `workerd` condition.
// scripts/build copies this file to the package root as verifier.workerd.js.
// The .wasm is imported as a WebAssembly.Module (workerd's module rules,
// wrangler and esbuild) and instantiated synchronously.
import wasmModule from './wasm/verifier/extension_sso_verifier_bg.wasm';
import { initSync } from './wasm/verifier/extension_sso_verifier.js';
import { runtimeSlot } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';

initSync({ module: wasmModule });
runtimeSlot('verifier').install(webRuntime);

export * from './lib/verifier.js';
/** Nothing to do in workerd: the module is ready when imported. */
export default async function init() {}
