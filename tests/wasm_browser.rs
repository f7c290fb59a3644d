//! wasm-bindgen tests that need a real browser (Chromium and Firefox).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn really_runs_in_a_browser() {
    let global = js_sys::global();
    assert!(
        global.dyn_ref::<web_sys::Window>().is_some(),
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

// ---------------------------------------------------------------------------
// ExtensionClient (the `client` feature) in a real browser page.

#[cfg(feature = "client")]
mod client {
    use extension_sso::ExtensionClient;
    use js_sys::{Function, Promise, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::*;

    fn window() -> web_sys::Window {
        js_sys::global().unchecked_into()
    }

    fn origin() -> String {
        window().location().origin().unwrap()
    }

    fn js(body: &str) -> JsValue {
        Function::new_no_args(body).call0(&JsValue::NULL).unwrap()
    }

    fn code_of(err: &JsValue) -> String {
        Reflect::get(err, &"code".into())
            .unwrap()
            .as_string()
            .unwrap_or_default()
    }

    fn message_of(err: &JsValue) -> String {
        err.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default()
    }

    async fn settle(p: Promise) -> Result<JsValue, JsValue> {
        JsFuture::from(p).await
    }

    /// oauth2 options with a redirect on this origin; `extra` is more JSON members.
    fn oauth2(extra: &str) -> JsValue {
        let o = origin();
        JSON::parse(&format!(
            r#"{{"profile":"oauth2","authorizationEndpoint":"https://as.example/authorize",
                "clientId":"client-1","redirectUri":"{o}/cb","issuer":"https://as.example",
                "scope":"openid","tokenHandoffUrl":"/never-called"{extra}}}"#
        ))
        .unwrap()
    }

    fn new_client(options: JsValue) -> ExtensionClient {
        ExtensionClient::new(options, None).unwrap_or_else(|e| panic!("{}", message_of(&e)))
    }

    fn query_param(url: &str, name: &str) -> Option<String> {
        let u = web_sys::Url::new(url).unwrap();
        u.search_params().get(name)
    }

    fn clear_session_storage() {
        window()
            .session_storage()
            .unwrap()
            .unwrap()
            .clear()
            .unwrap();
    }

    /// Makes `window.sessionStorage` behave as in a blocked cross-site iframe.
    struct BlockedStorage;

    impl BlockedStorage {
        fn throwing() -> Self {
            js("window.__essSaved = Object.getOwnPropertyDescriptor(window, 'sessionStorage');
                Object.defineProperty(window, 'sessionStorage', { configurable: true,
                  get() { throw new DOMException('Access is denied for this document.', 'SecurityError'); } });");
            BlockedStorage
        }

        /// Readable, but every write throws (Safari-like private mode).
        fn write_failing() -> Self {
            js("window.__essSaved = Object.getOwnPropertyDescriptor(window, 'sessionStorage');
                const fake = { length: 0, key() { return null; }, getItem() { return null; },
                  setItem() { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); },
                  removeItem() {}, clear() {} };
                Object.defineProperty(window, 'sessionStorage', { configurable: true, get() { return fake; } });");
            BlockedStorage
        }
    }

    impl Drop for BlockedStorage {
        fn drop(&mut self) {
            js("if (window.__essSaved) Object.defineProperty(window, 'sessionStorage', window.__essSaved);
                else delete window.sessionStorage;");
        }
    }

    #[wasm_bindgen_test]
    fn options_typo_and_foreign_options_are_rejected() {
        let err = ExtensionClient::new(oauth2(r#","isuer":"https://as.example""#), None)
            .err()
            .unwrap();
        assert_eq!(code_of(&err), "invalid_options");
        assert!(message_of(&err).contains("isuer"), "{}", message_of(&err));
        assert!(err.is_instance_of::<js_sys::Error>());

        let err = ExtensionClient::new(oauth2(r#","consoleUrl":"https://c.example""#), None)
            .err()
            .unwrap();
        assert_eq!(code_of(&err), "invalid_options");
        assert!(message_of(&err).contains("consoleUrl"));

        for bad in [
            r#","navigation":"iframe""#,
            r#","issPolicy":"sometimes""#,
            r#","stateTtlSec":5"#,
            r#","stateTtlSec":"600""#,
            r#","usePkce":false,"tokenHandoffUrl":null,"tokenEndpoint":"https://as.example/token""#,
        ] {
            let err = ExtensionClient::new(oauth2(bad), None).err().unwrap();
            assert_eq!(code_of(&err), "invalid_options", "{bad}");
        }
        let missing = JSON::parse(r#"{"profile":"mia-console","consoleUrl":"https://c.example","tenantId":"t","extensionId":"e"}"#).unwrap();
        let err = ExtensionClient::new(missing, None).err().unwrap();
        assert!(message_of(&err).contains("tokenHandoffUrl"));
        let unknown_profile = JSON::parse(r#"{"profile":"saml"}"#).unwrap();
        assert_eq!(
            code_of(&ExtensionClient::new(unknown_profile, None).err().unwrap()),
            "invalid_options"
        );
    }

    #[wasm_bindgen_test]
    async fn constructor_forms() {
        // Seed 001: (authorizationServerUrl, extensionId), then login(redirectUrl).
        let c =
            ExtensionClient::new("https://login.example.com".into(), Some("ext-1".into())).unwrap();
        let err = settle(c.authorization_url()).await.unwrap_err();
        assert_eq!(code_of(&err), "invalid_options");
        assert!(message_of(&err).contains("login(redirectUrl)"));
        // The callback page of seed 001 works without a prior login(): the
        // flow is simply unknown here.
        let url = format!("{}/cb?code=c&state=forged", origin());
        let err = settle(c.handle_callback(Some(url))).await.unwrap_err();
        assert_eq!(code_of(&err), "state_unknown");

        for (a, b) in [
            (JsValue::from_str("https://login.example.com"), None),
            (JsValue::from_str("http://login.example.com"), Some("ext-1")),
            (
                JsValue::from_str("https://login.example.com?x=1"),
                Some("ext-1"),
            ),
            (oauth2(""), Some("ext-1")),
            (JsValue::from_f64(1.0), None),
            (JsValue::NULL, None),
        ] {
            let err = ExtensionClient::new(a, b.map(str::to_owned)).err().unwrap();
            assert_eq!(code_of(&err), "invalid_options");
        }

        let c = new_client(oauth2(""));
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        assert!(
            url.starts_with("https://as.example/authorize?response_type=code&client_id=client-1")
        );
        assert_eq!(query_param(&url, "code_challenge").unwrap().len(), 43);
        assert_eq!(
            query_param(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert!(query_param(&url, "state").unwrap().len() >= 43);
        assert!(c.session().is_null());
        let err = settle(c.get_user_identity()).await.unwrap_err();
        assert_eq!(code_of(&err), "not_logged_in");
        c.logout();
    }

    #[wasm_bindgen_test]
    async fn blocked_storage_is_detected_before_navigating() {
        clear_session_storage();
        for blocked in [
            BlockedStorage::throwing as fn() -> BlockedStorage,
            BlockedStorage::write_failing,
        ] {
            let guard = blocked();
            assert!(!ExtensionClient::session_storage_available());
            let c = new_client(oauth2(""));
            let err = settle(c.authorization_url()).await.unwrap_err();
            assert_eq!(code_of(&err), "state_storage_unavailable");
            assert!(message_of(&err).contains("popup"));
            let err = settle(c.login(None)).await.unwrap_err();
            assert_eq!(code_of(&err), "state_storage_unavailable");
            // The callback side reports it too (instead of state_unknown).
            let url = format!("{}/cb?code=c&state=s", origin());
            let err = settle(c.handle_callback(Some(url))).await.unwrap_err();
            assert_eq!(code_of(&err), "state_storage_unavailable");
            // Popup mode keeps the flow in memory and still works.
            let popup = new_client(oauth2(r#","navigation":"popup""#));
            let url = settle(popup.authorization_url()).await.unwrap();
            assert!(url.as_string().unwrap().contains("code_challenge="));
            c.logout();
            drop(guard);
        }
        assert!(ExtensionClient::session_storage_available());
    }

    #[wasm_bindgen_test]
    async fn handle_callback_scrubs_the_address_bar_keeping_other_params_and_hash() {
        let w = window();
        let original = w.location().href().unwrap();
        let path = w.location().pathname().unwrap();
        let history = w.history().unwrap();
        let set = |url: &str| {
            history
                .replace_state_with_url(&JsValue::NULL, "", Some(url))
                .unwrap()
        };
        let c = new_client(oauth2(""));

        // Failure (unknown state): scrubbed anyway.
        set(&format!(
            "{path}?keep=1&code=abc&state=forged&iss=https%3A%2F%2Fas.example&session_state=x#frag"
        ));
        assert!(c.is_callback_url(&w.location().href().unwrap()));
        let err = settle(c.handle_callback(None)).await.unwrap_err();
        assert_eq!(code_of(&err), "state_unknown");
        assert_eq!(
            w.location().href().unwrap(),
            format!("{}{path}?keep=1#frag", origin())
        );

        // authorization_denied: error fields attached, address bar scrubbed.
        set(&format!(
            "{path}?error=access_denied&error_description=nope&a=b"
        ));
        let err = settle(c.login(None)).await.unwrap_err();
        assert_eq!(code_of(&err), "authorization_denied");
        assert_eq!(
            Reflect::get(&err, &"error".into())
                .unwrap()
                .as_string()
                .as_deref(),
            Some("access_denied")
        );
        assert_eq!(
            w.location().href().unwrap(),
            format!("{}{path}?a=b", origin())
        );

        // A URL that is not the current page is not touched.
        set(&format!("{path}?code=zzz&state=y"));
        let other = format!("{}/cb?code=c&state=s", origin());
        let _ = settle(c.handle_callback(Some(other))).await;
        assert!(w.location().href().unwrap().contains("code=zzz"));
        set(&original);
    }

    #[wasm_bindgen_test]
    async fn state_unknown_expired_reused_and_iss_through_the_facade() {
        clear_session_storage();
        let c = new_client(oauth2(""));
        let o = origin();
        let storage = window().session_storage().unwrap().unwrap();

        // Forged state.
        let err = settle(c.handle_callback(Some(format!("{o}/cb?code=c&state=forged-state"))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "state_unknown");
        assert!(!message_of(&err).contains("forged-state"));

        // iss mix-up consumes the flow; the replay is state_reused.
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        let key = format!("extension-sso:flow:{state}");
        assert!(
            storage.get_item(&key).unwrap().is_some(),
            "flow kept in sessionStorage"
        );
        let mixup = format!("{o}/cb?code=c&state={state}&iss=https%3A%2F%2Fevil.example");
        let err = settle(c.handle_callback(Some(mixup.clone())))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "iss_mismatch");
        let err = settle(c.handle_callback(Some(mixup))).await.unwrap_err();
        assert_eq!(code_of(&err), "state_reused");

        // Expired: age the stored record past stateTtlSec (600 s).
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        let key = format!("extension-sso:flow:{state}");
        let record = JSON::parse(&storage.get_item(&key).unwrap().unwrap()).unwrap();
        let created = Reflect::get(&record, &"created_at".into())
            .unwrap()
            .as_f64()
            .unwrap();
        Reflect::set(&record, &"created_at".into(), &(created - 601.0).into()).unwrap();
        storage
            .set_item(
                &key,
                &JSON::stringify(&record).unwrap().as_string().unwrap(),
            )
            .unwrap();
        let err = settle(c.handle_callback(Some(format!("{o}/cb?code=c&state={state}"))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "state_expired");
        assert!(
            storage.get_item(&key).unwrap().is_none(),
            "expired record removed"
        );

        // A callback at another page than redirectUri.
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        let err = settle(c.handle_callback(Some(format!("{o}/elsewhere?code=c&state={state}"))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "invalid_callback");

        // issPolicy 'require' without iss.
        let strict = new_client(oauth2(r#","issPolicy":"require""#));
        let url = settle(strict.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        let err = settle(strict.handle_callback(Some(format!("{o}/cb?code=c&state={state}"))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "iss_missing");

        // logout forgets pending flows.
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        c.logout();
        let err = settle(c.handle_callback(Some(format!("{o}/cb?code=c&state={state}"))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "state_unknown");
    }

    #[wasm_bindgen_test]
    fn framing_and_helpers() {
        // The wasm-bindgen test page is top-level.
        assert!(!ExtensionClient::is_framed_page());
        // Not a callback page: nothing to hand to an opener.
        assert!(!ExtensionClient::complete_popup(None).unwrap());
    }

    #[wasm_bindgen_test]
    async fn handoff_failure_is_handoff_failed() {
        clear_session_storage();
        let o = origin();
        // The test server answers 404 for this path.
        let c = new_client(oauth2(r#","tokenHandoffUrl":"/no-such-handoff-endpoint""#));
        let url = settle(c.authorization_url())
            .await
            .unwrap()
            .as_string()
            .unwrap();
        let state = query_param(&url, "state").unwrap();
        let err = settle(c.handle_callback(Some(format!(
            "{o}/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example"
        ))))
        .await
        .unwrap_err();
        assert_eq!(code_of(&err), "handoff_failed");
        assert_eq!(
            Reflect::get(&err, &"status".into()).unwrap().as_f64(),
            Some(404.0)
        );
        assert!(c.session().is_null());
    }
}
