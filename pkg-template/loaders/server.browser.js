// extension-sso/server in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader, the JS layer and wasm-bindgen's glue) into one server.browser.js.
// The .wasm is fetched by the default export init(), which must be awaited once.
import initWasm from './wasm/server/extension_sso_server.js';
import { loadError, runtimeSlot, wasmSource } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';
import { webSigning } from './lib/signing-web.js';

let ready;
// The verifier entry, for ID Tokens: its own bundle and .wasm, fetched the
// first time an ID Token comes (scripts/build keeps it out of this bundle).
async function loadVerifier() {
  const verifier = await import('./verifier.browser.js');
  await verifier.default();
  return verifier;
}
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise (after a failure, a call tries again). `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= wasmSource(input ?? new URL('./wasm/server/extension_sso_server_bg.wasm', import.meta.url))
    .then((source) => initWasm({ module_or_path: source }))
    .then(() => { runtimeSlot('server').install({ ...webRuntime, ...webSigning, loadVerifier }); }, (error) => {
      ready = undefined;
      throw loadError('server', error);
    });
  return ready;
}
export * from './lib/server.js';
