//! The few JavaScript built-ins the facades call, bound directly.
//!
//! The verifier entry does not link `js-sys`: its thousands of bindings
//! each export a descriptor, and the closure shims those reference stay in
//! the final wasm's function table (about 4 kB of dead code). What the
//! verifier needs is these few calls (its values cross as numbers and
//! views of wasm memory, see `verifier.rs`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A JS `Error`.
    #[wasm_bindgen(js_name = Error)]
    pub type JsError;
    /// `new Error(message)`.
    #[wasm_bindgen(constructor, js_class = Error)]
    pub fn new(message: &str) -> JsError;

    /// `Reflect.set(target, key, value)`.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    pub fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> bool;
    /// `Reflect.set(target, key, value)` with a symbol key.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    pub fn reflect_set_symbol(target: &JsValue, key: &JsValue, value: &JsValue) -> bool;

    /// `Symbol.for(key)`: the global symbol registered under `key`.
    #[wasm_bindgen(js_namespace = Symbol, js_name = "for")]
    pub fn symbol_for(key: &str) -> JsValue;
}
