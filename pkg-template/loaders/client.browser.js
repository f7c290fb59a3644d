// extension-sso/client in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader, the JS layer and wasm-bindgen's glue) into one client.browser.js.
// The .wasm is fetched by the default export init(), which must be awaited once.
import initWasm from './wasm/client/extension_sso_client.js';
import { runtimeSlot } from './lib/common.js';
// The client's JS layer does its own I/O (fetch, crypto.getRandomValues, the
// clock): its runtime slot only says that the wasm is ready, so no runtime
// adapter is bundled (-0.45 kB gzip).

let ready;
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise. `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= initWasm({ module_or_path: input ?? new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url) })
    .then(() => { runtimeSlot('client').install({ name: 'web' }); });
  return ready;
}
export * from './lib/client.js';
