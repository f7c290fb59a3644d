//! wasm-bindgen tests that need a real browser (Chromium and Firefox).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn really_runs_in_a_browser() {
    let global = js_sys::global();
    let has = |name: &str| js_sys::Reflect::has(&global, &name.into()).unwrap_or(false);
    assert!(
        has("document") && has("sessionStorage"),
        "not a window global"
    );
}

#[wasm_bindgen_test]
fn errors_reach_js_as_error_objects_with_code() {
    let err = extension_sso::Error::new(extension_sso::ErrorCode::StateUnknown, "no pending login")
        .with_status(503);
    let js: wasm_bindgen::JsValue = err.into();
    let e = js.dyn_ref::<js_sys::Error>().expect("an Error instance");
    assert_eq!(String::from(e.message()), "no pending login");
    let get = |k: &str| js_sys::Reflect::get(&js, &k.into()).unwrap();
    assert_eq!(get("code").as_string().as_deref(), Some("state_unknown"));
    assert_eq!(get("retryable").as_bool(), Some(true));
    assert_eq!(get("status").as_f64(), Some(503.0));
}

// The browser ExtensionClient is a JS class over a pure core: its browser
// tests are tests/e2e/client-browser.test.mjs (and the core's are native,
// src/oauth/client/tests.rs).
