//! Crate errors as real JS `Error` objects with `.code` and `.retryable`.

use super::js::{reflect_set, reflect_set_symbol, symbol_for, JsError};
use crate::Error;
use wasm_bindgen::JsValue;

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail; if it ever
    // did, the error would still reach the caller, only poorer.
    let _ = reflect_set(target, key, value);
}

/// The brand `pkg-template/lib/common.js` checks in
/// `ExtensionSsoError[Symbol.hasInstance]`: errors made here are then
/// `instanceof ExtensionSsoError` in every entry and bundle.
const BRAND: &str = "extension-sso/error";

/// Builds `new Error(message)` with `name = "ExtensionSsoError"`, the
/// package's brand, `code`, `retryable`, and when known `status`, `error`,
/// `error_description`, `error_uri`.
pub fn to_js_error(err: &Error) -> JsValue {
    let value: JsValue = JsError::new(err.message()).into();
    set(&value, "name", &JsValue::from_str("ExtensionSsoError"));
    let _ = reflect_set_symbol(&value, &symbol_for(BRAND), &JsValue::TRUE);
    set(&value, "code", &JsValue::from_str(err.code().name()));
    set(&value, "retryable", &JsValue::from_bool(err.is_retryable()));
    if let Some(status) = err.status() {
        set(&value, "status", &JsValue::from_f64(f64::from(status)));
    }
    // Only the client and server entries make errors with OAuth fields.
    #[cfg(any(feature = "client", feature = "server"))]
    if let Some(oauth) = err.oauth() {
        set(&value, "error", &JsValue::from_str(&oauth.error));
        if let Some(d) = &oauth.error_description {
            set(&value, "error_description", &JsValue::from_str(d));
        }
        if let Some(u) = &oauth.error_uri {
            set(&value, "error_uri", &JsValue::from_str(u));
        }
    }
    value
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        to_js_error(&err)
    }
}
