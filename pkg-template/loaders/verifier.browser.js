// extension-sso/verifier in browsers and bundlers: the `browser` and `default` conditions.
// scripts/build copies this file to the package root and bundles it (this
// loader and the JS layer) into one verifier.browser.js. The verifier's wasm
// has no wasm-bindgen glue (src/wasm/abi.rs): lib/common.js instantiates it.
// The .wasm is fetched by the default export init(), which must be awaited once.
import { runtimeSlot, wasmAsync } from './lib/common.js';
import { webRuntime } from './lib/runtime-web.js';

let ready;
/**
 * Loads the WebAssembly module. Call once (await it) before using the API;
 * later calls return the same promise (after a failure, a call tries again). `input` overrides where the .wasm is
 * fetched from (a URL, Response, BufferSource or WebAssembly.Module).
 */
export default function init(input) {
  ready ??= wasmAsync('verifier', input ?? new URL('./wasm/verifier/extension_sso_verifier_bg.wasm', import.meta.url))
    .then((wasm) => {
      runtimeSlot('verifier/wasm').install(wasm);
      runtimeSlot('verifier').install(webRuntime);
    }, (error) => { ready = undefined; throw error; });
  return ready;
}
export * from './lib/verifier.js';
