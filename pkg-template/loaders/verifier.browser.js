// extension-sso/verifier in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader, the JS layer and wasm-bindgen's glue) into one verifier.browser.js.
// The .wasm is fetched by the default export init(), which must be awaited once.
import initWasm from './wasm/verifier/extension_sso_verifier.js';
import { runtimeSlot } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';

let ready;
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise. `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= initWasm({ module_or_path: input ?? new URL('./wasm/verifier/extension_sso_verifier_bg.wasm', import.meta.url) })
    .then(() => { runtimeSlot('verifier').install(webRuntime); });
  return ready;
}
export * from './lib/verifier.js';
