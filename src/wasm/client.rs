//! The client entry's exports: the wasm half of the JS `ExtensionClient`
//! (`pkg-template/lib/client.js`), on the glue-free boundary of
//! [`super::abi`].
//!
//! One call per event: the JS layer sends an event as JSON text and gets the
//! step to perform back as JSON text (`src/oauth/client.rs` lists both). The
//! core decides everything; the JS layer does every I/O. Named values only
//! cross the boundary, as JSON members, and one string each way: no
//! positional arrays, no JS types in the core.
//!
//! | export | does |
//! |---|---|
//! | `client_new() -> handle` | an unconfigured core (the first event is `configure`) |
//! | `client_step(handle, ptr, len) -> text` | handles one event, answers the step |
//! | `client_free(handle)` | drops the core (its configuration and session) |
//!
//! plus [`super::abi`]'s `alloc_bytes`, `free_bytes`, `crate_version` and
//! `error_code_list`.

// Handles are pointers the JS side keeps (see `super::abi`).
#![allow(unsafe_code)]

use super::abi::{give, take, text};
use crate::oauth::Client;
use crate::prelude::*;

/// A new core, as a handle for [`client_step`] and [`client_free`].
#[no_mangle]
pub extern "C" fn client_new() -> *mut Client {
    Box::into_raw(Box::new(Client::new()))
}

/// Handles one event (JSON text at `(ptr, len)`, from `alloc_bytes`) and
/// answers the step (JSON text).
///
/// # Safety
/// `client` is a live handle of [`client_new`]; `(ptr, len)` as
/// [`super::abi::take`] requires.
#[no_mangle]
pub unsafe extern "C" fn client_step(client: *mut Client, ptr: *mut u8, len: usize) -> u64 {
    // SAFETY: the caller's contract above; the JS side makes one call at a
    // time (wasm is single-threaded), so the `&mut` is unique.
    let (client, event) = unsafe { (&mut *client, take(ptr, len)) };
    give(client.step(text(&event)))
}

/// Drops a core.
///
/// # Safety
/// `client` is a live handle of [`client_new`], freed once.
#[no_mangle]
pub unsafe extern "C" fn client_free(client: *mut Client) {
    // SAFETY: the caller's contract above.
    drop(unsafe { Box::from_raw(client) });
}
