//! `ClientCore`: the wasm half of the JS `ExtensionClient`
//! (`pkg-template/lib/client.js`).
//!
//! One call per event: the JS layer sends an event as JSON text and gets the
//! step to perform back as JSON text (`src/oauth/client.rs` lists both). The
//! core decides everything; the JS layer does every I/O. Named values only
//! cross the boundary, as JSON members, and one string each way: no
//! positional arrays, no JS types in the core, and almost no glue.

use crate::oauth::Client;
use crate::prelude::*;
use wasm_bindgen::prelude::*;

/// The state of one `ExtensionClient`: its configuration and session.
#[wasm_bindgen]
pub struct ClientCore(Client);

#[wasm_bindgen]
impl ClientCore {
    /// An unconfigured core; the first event is `configure`.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> ClientCore {
        ClientCore(Client::new())
    }

    /// Handles one event (JSON text) and answers the step (JSON text).
    pub fn step(&mut self, event: &str) -> String {
        self.0.step(event)
    }
}
