//! The wasm facades: convert values and errors, nothing else.
//!
//! Each npm entry is a separate build with one cargo feature (`client`,
//! `verifier`, `server`), so a worker that only verifies tokens never
//! downloads the browser client. The server entry exports `#[wasm_bindgen]`
//! classes; the client and verifier entries export plain functions on the
//! glue-free boundary of [`abi`] (no wasm-bindgen: `bindgen = false` in
//! wasm-pack.toml says why).

#[cfg(any(feature = "client", feature = "verifier"))]
mod abi;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod error;
#[cfg(feature = "server")]
mod js;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "verifier")]
mod verifier;

#[cfg(feature = "server")]
use wasm_bindgen::prelude::*;

// Talc instead of the default dlmalloc: smaller code and faster small
// allocations (the JSON trees of `prepare`). Single-threaded wasm only.
#[cfg(all(not(target_feature = "atomics"), feature = "server"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

// The client and verifier entries: power-of-two size classes, smaller than
// talc (src/small_alloc.rs says by how much, what it gives up and the
// verifier's memory bound).
#[cfg(all(not(target_feature = "atomics"), not(feature = "server")))]
#[global_allocator]
static ALLOCATOR: crate::small_alloc::SizeClasses<crate::small_alloc::WasmMemory> =
    crate::small_alloc::SizeClasses::new(crate::small_alloc::WasmMemory);

/// The `no_std` build (every npm entry) stops at the first panic, as
/// `panic = "abort"` does with std, without std's panic hook and message
/// formatting: an `unreachable` trap. No input reaches a panic: the crate
/// denies `unwrap`, `expect`, `panic!` and indexing outside tests, and the
/// JS layer treats a trap as the end of the instance (`wasmModule` in
/// `pkg-template/lib/common.js` for the client and the verifier).
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The crate version (the npm package reports the same).
#[cfg(feature = "server")]
#[wasm_bindgen(js_name = crateVersion)]
pub fn crate_version() -> JsValue {
    JsValue::from_str(env!("CARGO_PKG_VERSION"))
}

/// Every error code, separated by spaces (the JS layers export the list as
/// `errorCodes()`, for the TypeScript union and for `switch` statements).
/// One static string: no copy in wasm, and less glue than an array.
#[cfg(feature = "server")]
#[wasm_bindgen(js_name = errorCodeList)]
pub fn error_code_list() -> JsValue {
    JsValue::from_str(crate::error::CODE_LIST)
}
