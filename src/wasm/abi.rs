//! The boundary of an entry built without wasm-bindgen (`bindgen = false`
//! in wasm-pack.toml): plain `extern "C"` exports, no imports at all.
//!
//! Every value that crosses is a number; text crosses as UTF-8 in the
//! module's own memory, and `pkg-template/lib/common.js` (`wasmModule`)
//! does the JS half. The rules, for every export of such an entry:
//!
//! - **Text in**: the JS side asks [`alloc_bytes`] for `len` bytes, writes the
//!   UTF-8 there and passes `(ptr, len)`; the export owns the buffer from
//!   then on and frees it ([`take`]).
//! - **Text out**: the export returns one `u64`, the pointer in its high
//!   32 bits and the length in its low 32 ([`give`]); the JS side reads the
//!   bytes and hands them back with [`free_bytes`].
//! - **Objects**: a `Box` leaked as a pointer (a handle), freed by the
//!   entry's own `*_free` export; the JS side never uses a handle after
//!   freeing it.
//! - **Failure**: a panic traps (`unreachable`, src/wasm/mod.rs); the JS
//!   side turns the trap into an `ExtensionSsoError` and does not call the
//!   instance again.
//!
//! Why not wasm-bindgen for these entries: measured on the client entry,
//! its glue (about 1.7 kB gzip of JS) and its `throw` and externref-table
//! imports bought nothing a JSON-in, JSON-out boundary needs.

// Unsafe code (the crate has it only here, in src/wasm/client.rs and in
// src/small_alloc.rs): the JS side's half of these rules cannot be checked
// by the compiler.
#![allow(unsafe_code)]

use crate::prelude::*;

/// A fresh buffer of `len` bytes for the JS side to write text into; the
/// export it is passed to owns it.
#[no_mangle]
pub extern "C" fn alloc_bytes(len: usize) -> *mut u8 {
    Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
}

/// Frees text an export returned ([`give`]).
///
/// # Safety
/// `(ptr, len)` is an answer of [`give`], freed once.
#[no_mangle]
pub unsafe extern "C" fn free_bytes(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract above.
    drop(unsafe { take(ptr, len) });
}

/// Takes back a buffer of [`alloc_bytes`] (text in) or [`give`] (text out).
///
/// # Safety
/// `(ptr, len)` came from [`alloc_bytes`]`(len)` or [`give`] and is taken
/// once.
pub unsafe fn take(ptr: *mut u8, len: usize) -> Box<[u8]> {
    // SAFETY: a `Box<[u8]>` of exactly `len` bytes leaked at `ptr` (the
    // caller's contract): same allocator, same layout.
    unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, len)) }
}

/// Text in as `&str`: the JS side writes `TextEncoder` output, which is
/// UTF-8; anything else reads as empty text (the callee's own error).
// The verifier checks its text with the JSON reader's decoder instead
// (src/wasm/verifier.rs `text`).
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}

/// Hands `text` to the JS side: pointer in the high 32 bits, length in the
/// low 32 (wasm32 addresses and lengths fit in 32 bits).
pub fn give(text: String) -> u64 {
    let bytes = text.into_bytes().into_boxed_slice();
    let len = bytes.len() as u64;
    let ptr = Box::into_raw(bytes).cast::<u8>() as usize as u64;
    (ptr << 32) | len
}

/// The crate version (the npm package reports the same).
#[no_mangle]
pub extern "C" fn crate_version() -> u64 {
    give(env!("CARGO_PKG_VERSION").to_owned())
}

/// Every error code, separated by spaces (the JS layer's `errorCodes()`).
#[no_mangle]
pub extern "C" fn error_code_list() -> u64 {
    give(crate::error::CODE_LIST.to_owned())
}
