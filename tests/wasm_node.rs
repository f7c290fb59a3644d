//! wasm-bindgen tests under Node (`wasm-pack test --node`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn runs_in_node_not_a_browser() {
    let global = js_sys::global();
    assert!(!js_sys::Reflect::has(&global, &"document".into()).unwrap_or(true));
    assert!(js_sys::Reflect::has(&global, &"process".into()).unwrap_or(false));
}

#[wasm_bindgen_test]
fn clock_and_random_work_in_wasm() {
    use extension_sso::platform::{Clock, OsRandom, Random, SystemClock};
    assert!(SystemClock.now_sec() > 1_700_000_000);
    let mut buf = [0u8; 32];
    OsRandom.fill(&mut buf).unwrap();
    assert_ne!(buf, [0u8; 32]);
}
