// extension-sso/server in Cloudflare workerd / Workers: the `workerd` condition.
// scripts/build copies this file to the package root as server.workerd.js.
// The .wasm is imported as a WebAssembly.Module (workerd's module rules,
// wrangler and esbuild) and instantiated synchronously.
import wasmModule from './wasm/server/extension_sso_server_bg.wasm';
import { initSync } from './wasm/server/extension_sso_server.js';
import { runtimeSlot } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';
import { webSigning } from './lib/signing-web.js';

initSync({ module: wasmModule });
// WebCrypto signing for ServiceClientTokenProvider, and the verifier entry
// for ID Tokens, loaded the first time one comes.
runtimeSlot('server').install({ ...webRuntime, ...webSigning, loadVerifier: () => import('./verifier.workerd.js') });

export * from './lib/server.js';
/** Nothing to do in workerd: the module is ready when imported. */
export default async function init() {}
