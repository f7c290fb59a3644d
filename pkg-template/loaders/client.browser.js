// extension-sso/client in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader and the JS layer) into one client.browser.js. The client's wasm has
// no wasm-bindgen glue (src/wasm/abi.rs): lib/common.js instantiates it.
// The .wasm is fetched by the default export init(), which must be awaited once.
import { runtimeSlot, wasmAsync } from './lib/common.js';
// The client's JS layer does its own I/O (fetch, crypto.getRandomValues, the
// clock): its runtime slot carries only the wasm module, so no runtime
// adapter is bundled (-0.45 kB gzip).

let ready;
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise (after a failure, a call tries again). `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= wasmAsync('client', input ?? new URL('./wasm/client/extension_sso_client_bg.wasm', import.meta.url))
    .then((wasm) => { runtimeSlot('client').install({ name: 'web', wasm }); }, (error) => { ready = undefined; throw error; });
  return ready;
}
export * from './lib/client.js';
