//! The few JavaScript built-ins `error.rs` calls to make an `Error`, bound
//! directly. (Written for the verifier entry, which did not link `js-sys`:
//! its bindings each export a descriptor whose closure shims stay in the
//! wasm, about 4 kB; the verifier has no wasm-bindgen at all now, and the
//! server entry, which links `js-sys` for its own values, makes its errors
//! with these.)

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
