// extension-sso/client in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader, the JS layer and wasm-bindgen's glue) into one client.browser.js.
// The .wasm is fetched by the default export init(), which must be awaited once.
import initWasm from './wasm/client/extension_sso_client.js';
import { runtimeSlot } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';

let ready;
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise. `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= initWasm({ module_or_path: input ?? new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url) })
    .then(() => { runtimeSlot('client').install(webRuntime); });
  return ready;
}
export * from './lib/client.js';
