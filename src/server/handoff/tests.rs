//! The handler driven as its caller does: route, then the body when asked.

use super::*;
use crate::json::{self, Value};
use crate::server::exchange::{ClientAuth, OAuth2Client};
use crate::server::http::{find_header, HttpResponse};
use crate::server::{FlowStep, MetadataCache, Server};
use crate::ErrorCode;
use crate::Result;

const EXT: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn console_config() -> HandoffConfig {
    HandoffConfig::new(
        ExchangeProfile::MiaConsole {
            console_url: "https://console.example".into(),
        },
        vec![EXT.into(), "https://ext.example".into()],
    )
}

fn oauth2_config() -> HandoffConfig {
    let mut config = HandoffConfig::new(
        ExchangeProfile::OAuth2(OAuth2Client {
            token_endpoint: "https://as.example/token".into(),
            issuer: None,
            jwks_uri: None,
            client_id: "ext".into(),
            client_secret: Some("secret".into()),
            client_auth: ClientAuth::ClientSecretBasic,
        }),
        vec![EXT.into()],
    );
    config.redirect_uri = Some("https://ext.example/cb".into());
    config
}

fn cookie_handler() -> HandoffHandler {
    let mut config = console_config();
    config.session = Some(CookieConfig::default());
    HandoffHandler::new(config).unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn json_post(origin: &str) -> Vec<(String, String)> {
    headers(&[
        ("Origin", origin),
        ("Content-Type", "application/json; charset=utf-8"),
    ])
}

/// What one request came to, once its body was read if the handler asked for it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Respond(HttpResponseOut),
    Exchange(ExchangeStep),
    UserInfo(UserInfoStep),
}

fn drive(
    handler: &HandoffHandler,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Outcome {
    match handler.route(method, path, headers) {
        Route::Respond(response) => Outcome::Respond(response),
        Route::UserInfo(step) => Outcome::UserInfo(step),
        Route::ReadHandoff(pending) => match handler.handoff(pending, body) {
            HandoffStep::Respond(response) => Outcome::Respond(response),
            HandoffStep::Exchange(step) => Outcome::Exchange(*step),
        },
    }
}

fn response(step: Outcome) -> HttpResponseOut {
    match step {
        Outcome::Respond(response) => response,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn error_of(response: &HttpResponseOut) -> String {
    let Value::Object(body) = json::parse(&response.body).unwrap() else {
        panic!()
    };
    body.get_str("error").unwrap().to_owned()
}

fn assert_common_headers(response: &HttpResponseOut) {
    assert_eq!(
        response.header("cache-control"),
        Some("no-store"),
        "{response:?}"
    );
    assert_eq!(response.header("vary"), Some("Origin"));
}

/// method, path, headers, body, expected status, expected `error`.
type RouteCase = (
    &'static str,
    &'static str,
    Vec<(String, String)>,
    Vec<u8>,
    u16,
    &'static str,
);

#[test]
fn routing_table() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let ok_body = br#"{"code":"c","state":"s"}"#;
    let cases: Vec<RouteCase> = vec![
        (
            "GET",
            "/token",
            json_post(EXT),
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/userinfo",
            json_post(EXT),
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "DELETE",
            "/token",
            json_post(EXT),
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "/other",
            json_post(EXT),
            ok_body.to_vec(),
            404,
            "not_found",
        ),
        (
            "POST",
            "/token",
            json_post("https://evil.example"),
            ok_body.to_vec(),
            403,
            "origin_not_allowed",
        ),
        (
            "POST",
            "/token",
            json_post("null"),
            ok_body.to_vec(),
            403,
            "origin_not_allowed",
        ),
        (
            "POST",
            "/token",
            headers(&[("Content-Type", "application/json")]),
            ok_body.to_vec(),
            403,
            "origin_not_allowed",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            vec![b' '; DEFAULT_MAX_BODY_BYTES + 1],
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/token",
            headers(&[
                ("Origin", EXT),
                ("Content-Type", "application/json"),
                ("Content-Length", "99999999"),
            ]),
            ok_body.to_vec(),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/token",
            headers(&[("Origin", EXT), ("Content-Type", "text/plain")]),
            ok_body.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/token",
            headers(&[("Origin", EXT)]),
            ok_body.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            b"{not json".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            br#"["c","s"]"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            br#"{"state":"s"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            br#"{"code":"c"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            br#"{"code":1,"state":"s"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/token",
            json_post(EXT),
            br#"{"code":"","state":"s"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/userinfo",
            headers(&[("Origin", "https://evil.example")]),
            vec![],
            403,
            "origin_not_allowed",
        ),
        (
            "GET",
            "/userinfo",
            headers(&[]),
            vec![],
            401,
            "not_logged_in",
        ),
    ];
    for (method, path, headers, body, status, error) in cases {
        let out = response(drive(&handler, method, path, &headers, &body));
        assert_eq!(out.status, status, "{method} {path} {headers:?}");
        assert_eq!(error_of(&out), error, "{method} {path}");
        assert_common_headers(&out);
        let allowed = find_header(&headers, "origin").is_some_and(|o| o == EXT);
        assert_eq!(
            out.header("access-control-allow-origin"),
            allowed.then_some(EXT),
            "{method} {path} {status}"
        );
        if status == 405 {
            assert!(out.header("allow").is_some());
        }
    }
}

#[test]
fn method_not_allowed_lists_methods() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let out = response(drive(&handler, "GET", "/token", &json_post(EXT), b""));
    assert_eq!(out.header("allow"), Some("POST, OPTIONS"));
    let out = response(drive(&handler, "POST", "/userinfo", &json_post(EXT), b""));
    assert_eq!(out.header("allow"), Some("GET, OPTIONS"));
    let out = response(drive(
        &cookie_handler(),
        "PATCH",
        "/token",
        &json_post(EXT),
        b"",
    ));
    assert_eq!(out.header("allow"), Some("POST, DELETE, OPTIONS"));
}

#[test]
fn mia_console_handoff_forwards_exactly_code_and_state() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let body = br#"{"code":"CODE","state":"STATE","code_verifier":"ignored","redirect_uri":"https://x","iss":"https://console.example"}"#;
    let Outcome::Exchange(mut step) = drive(&handler, "POST", "/token", &json_post(EXT), body)
    else {
        panic!("expected an exchange");
    };
    assert_eq!(step.origin, EXT);
    let request = token_request(&mut step);
    assert_eq!(request.url, "https://console.example/api/oauth/token");
    assert_eq!(
        request.body.as_deref(),
        Some(r#"{"code":"CODE","state":"STATE"}"#)
    );
}

#[test]
fn oauth2_handoff_uses_configured_redirect_uri_and_verifier() {
    let handler = HandoffHandler::new(oauth2_config()).unwrap();
    let body = format!(
        r#"{{"code":"c","state":"s","code_verifier":"{VERIFIER}","redirect_uri":"https://ext.example/cb"}}"#
    );
    let Outcome::Exchange(mut step) =
        drive(&handler, "POST", "/token", &json_post(EXT), body.as_bytes())
    else {
        panic!("expected an exchange");
    };
    let request = token_request(&mut step);
    assert_eq!(
        request.body.as_deref(),
        Some(format!("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fext.example%2Fcb&code_verifier={VERIFIER}").as_str())
    );
    assert!(request.header("authorization").is_some());

    let mismatched = br#"{"code":"c","state":"s","redirect_uri":"https://evil.example/cb"}"#;
    let out = response(drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        mismatched,
    ));
    assert_eq!(out.status, 400);
    assert!(out.body.contains("redirect_uri"));

    let bad_verifier = br#"{"code":"c","state":"s","code_verifier":"short"}"#;
    let out = response(drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        bad_verifier,
    ));
    assert_eq!(out.status, 400);

    let mut config = oauth2_config();
    config.redirect_uri = None;
    let handler = HandoffHandler::new(config).unwrap();
    let out = response(drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s"}"#,
    ));
    assert_eq!(out.status, 400);
    assert!(out.body.contains("redirect_uri"));
    let step = drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s","redirect_uri":"https://ext.example/other"}"#,
    );
    assert!(matches!(step, Outcome::Exchange(_)));
}

#[test]
fn preflight_only_for_allowed_origins() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let preflight = headers(&[
        ("Origin", EXT),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type"),
    ]);
    let out = response(drive(&handler, "OPTIONS", "/token", &preflight, b""));
    assert_eq!(out.status, 204);
    assert_eq!(out.body, "");
    assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
    assert_eq!(out.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(out.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        out.header("access-control-allow-headers"),
        Some("Content-Type")
    );
    assert_eq!(out.header("access-control-max-age"), Some("600"));
    assert_eq!(out.header("content-type"), None);
    assert_common_headers(&out);

    let out = response(drive(&handler, "OPTIONS", "/userinfo", &preflight, b""));
    assert_eq!(out.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(
        out.header("access-control-allow-headers"),
        Some("Authorization")
    );

    let evil = headers(&[
        ("Origin", "https://evil.example"),
        ("Access-Control-Request-Method", "POST"),
    ]);
    let out = response(drive(&handler, "OPTIONS", "/token", &evil, b""));
    assert_eq!(out.status, 403);
    assert_eq!(out.header("access-control-allow-origin"), None);
    assert_eq!(out.header("access-control-allow-credentials"), None);

    // Prefix or case variations of an allowed origin are not allowed.
    for near in [
        &format!("{EXT}/"),
        "https://ext.example.evil.example",
        "HTTPS://ext.example",
        "https://ext.example:443",
    ] {
        let out = response(drive(
            &handler,
            "OPTIONS",
            "/token",
            &headers(&[("Origin", near)]),
            b"",
        ));
        assert_eq!(out.status, 403, "{near}");
    }
}

/// A handoff (`handoff` body) whose token request the host answered with
/// `token_json` (no discovery: the endpoint is configured).
fn exchanged(handler: &HandoffHandler, handoff: &[u8], token_json: &str) -> Result<ExchangeStep> {
    let Outcome::Exchange(mut step) = drive(handler, "POST", "/token", &json_post(EXT), handoff)
    else {
        panic!("expected an exchange")
    };
    token_request(&mut step);
    step.flow.answer(
        &mut MetadataCache::new(),
        &HttpResponse::new(200, token_json),
        0,
    )?;
    assert!(matches!(
        step.flow.next(&mut MetadataCache::new(), 0).unwrap(),
        FlowStep::Done
    ));
    Ok(step)
}

const CODE_STATE: &[u8] = br#"{"code":"c","state":"s"}"#;

/// The token request an exchange starts with (no discovery).
fn token_request(step: &mut ExchangeStep) -> crate::server::HttpRequest {
    match step.flow.next(&mut MetadataCache::new(), 0).unwrap() {
        FlowStep::Send {
            request,
            server: Server::TokenEndpoint,
        } => request,
        other => panic!("expected the token request, got {other:?}"),
    }
}

#[test]
fn finish_exchange_token_mode() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let step = exchanged(
        &handler,
        CODE_STATE,
        r#"{"access_token":"a.b.c","refresh_token":"RT","id_token":"i.d.t","expires_in":3600}"#,
    )
    .unwrap();
    assert_eq!(handler.access_token(&step).unwrap(), "a.b.c");
    let out = handler
        .finish_exchange(
            &step,
            r#"{"sub":"u1","email":"u@x.example","exp":1300}"#,
            1000,
        )
        .unwrap();
    assert_eq!(out.status, 200);
    assert_common_headers(&out);
    assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
    assert_eq!(out.header("set-cookie"), None);
    // A console is not an OpenID Provider: its id_token is never handed out
    // (nothing to validate it against).
    assert_eq!(
        out.body,
        r#"{"access_token":"a.b.c","token_type":"Bearer","expires_in":300,"identity":{"sub":"u1","email":"u@x.example"}}"#
    );
    assert!(!out.body.contains("RT"));

    let mut config = console_config();
    config.insecure_expose_refresh_token = true;
    let exposing = HandoffHandler::new(config).unwrap();
    let out = exposing
        .finish_exchange(&step, r#"{"sub":"u1"}"#, 1000)
        .unwrap();
    assert!(out.body.contains(r#""refresh_token":"RT""#), "{}", out.body);
    assert!(out.body.contains(r#""expires_in":3600"#), "{}", out.body);

    // What cannot be answered is an error for exchange_failed, which
    // answers it (and gives its level to the caller's error hook).
    for (claims, code, status, level) in [
        (
            r#"{"sub":"u1","exp":900}"#,
            ErrorCode::Expired,
            401,
            Level::Warn,
        ),
        (
            r#"{"sub":"u1","exp":"soon"}"#,
            ErrorCode::InvalidClaim,
            401,
            Level::Warn,
        ),
        ("not json", ErrorCode::InvalidOptions, 500, Level::Error),
        ("[1]", ErrorCode::InvalidOptions, 500, Level::Error),
    ] {
        let err = handler.finish_exchange(&step, claims, 1000).unwrap_err();
        assert_eq!(err.code(), code, "{claims}");
        let rejected = handler.exchange_failed(&step, Some(&err));
        assert_eq!(
            (rejected.response.status, rejected.level),
            (status, level),
            "{claims}"
        );
    }
}

#[test]
fn finish_exchange_cookie_mode() {
    let handler = cookie_handler();
    let step = exchanged(&handler, CODE_STATE, r#"{"accessToken":"eyJ.eyJ.sig"}"#).unwrap();
    let out = handler
        .finish_exchange(
            &step,
            r#"{"id":"u1","name":"N","groups":["g"],"exp":4600}"#,
            1000,
        )
        .unwrap();
    assert_eq!(out.status, 200);
    assert_common_headers(&out);
    assert_eq!(
        out.header("set-cookie"),
        Some("sid=eyJ.eyJ.sig; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax")
    );
    assert_eq!(
        out.body,
        r#"{"identity":{"id":"u1","name":"N","groups":["g"]},"expires_in":3600}"#
    );
    assert!(!out.body.contains("eyJ"));

    // Without exp or expires_in: a session cookie.
    let out = handler
        .finish_exchange(&step, r#"{"id":"u1"}"#, 1000)
        .unwrap();
    assert_eq!(
        out.header("set-cookie"),
        Some("sid=eyJ.eyJ.sig; Path=/; HttpOnly; Secure; SameSite=Lax")
    );
}

#[test]
fn cookie_injection_is_refused() {
    let handler = cookie_handler();
    for evil in [
        "EVIL; Domain=evil.example".to_owned(),
        "EVIL\r\nSet-Cookie: admin=1".to_owned(),
        "EVIL, other=1".to_owned(),
        "EV\"IL".to_owned(),
        "EVIL\\".to_owned(),
        "EVIL en".to_owned(),
        "EVIL-é".to_owned(),
        "a".repeat(MAX_COOKIE_BYTES),
    ] {
        let mut body = String::from(r#"{"accessToken":"#);
        json::write_string(&mut body, &evil);
        body.push('}');
        // Refused by the token response rules (RFC 6749 §A.12), or by the
        // cookie rules (RFC 6265 §4.1.1): never stored.
        match exchanged(&handler, CODE_STATE, &body) {
            Err(err) => assert_eq!(err.code(), ErrorCode::TokenEndpointError, "{evil:?}"),
            Ok(step) => {
                let err = handler
                    .finish_exchange(&step, r#"{"sub":"u"}"#, 0)
                    .unwrap_err();
                assert_eq!(err.code(), ErrorCode::TokenEndpointError, "{evil:?}");
                assert!(!err.message().contains("EV"), "{err}");
                let out = handler.exchange_failed(&step, Some(&err)).response;
                assert_eq!(out.status, 502, "{evil:?}");
                assert_eq!(out.header("set-cookie"), None);
                assert!(!out.body.contains("EV"), "{}", out.body);
            }
        }
    }
}

#[test]
fn config_validation() {
    for origins in [
        vec![],
        vec!["*".to_owned()],
        vec!["https://ext.example/".to_owned()],
        vec!["https://Ext.example".to_owned()],
        vec!["ext.example".to_owned()],
        vec!["null".to_owned()],
    ] {
        let mut config = console_config();
        config.allowed_origins = origins.clone();
        assert!(HandoffHandler::new(config).is_err(), "{origins:?}");
    }
    let mut config = console_config();
    config.allowed_origins = vec!["http://127.0.0.1:8787".into(), "http://[::1]:3000".into()];
    assert!(HandoffHandler::new(config).is_ok());
    let mut config = console_config();
    config.userinfo_path = Some("/token".into());
    assert!(HandoffHandler::new(config).is_err());
    let mut config = console_config();
    config.max_body_bytes = 10;
    assert!(HandoffHandler::new(config).is_err());
    let mut config = console_config();
    config.token_path = Some("token".into());
    assert!(HandoffHandler::new(config).is_err());
    let mut config = console_config();
    config.profile = ExchangeProfile::MiaConsole {
        console_url: "http://console.example".into(),
    };
    assert!(HandoffHandler::new(config).is_err());
}

#[test]
fn any_token_path() {
    let mut config = console_config();
    config.token_path = None;
    let handler = HandoffHandler::new(config).unwrap();
    let step = drive(
        &handler,
        "POST",
        "/anything/here",
        &json_post(EXT),
        br#"{"code":"c","state":"s"}"#,
    );
    assert!(matches!(step, Outcome::Exchange(_)));
    let out = response(drive(&handler, "POST", "/userinfo", &json_post(EXT), b"{}"));
    assert_eq!(out.status, 405);
}

#[test]
fn userinfo_with_cookie_and_bearer() {
    let handler = cookie_handler();
    let with_cookie = headers(&[("Origin", EXT), ("Cookie", "theme=dark; sid=eyJ.a.b; x=1")]);
    let Outcome::UserInfo(step) = drive(&handler, "GET", "/userinfo", &with_cookie, b"") else {
        panic!()
    };
    assert_eq!(step.token(), "eyJ.a.b");
    assert!(step.from_cookie());
    assert!(!format!("{step:?}").contains("eyJ.a.b"));
    let out = handler
        .finish_userinfo(&step, r#"{"sub":"u1","groups":["a"]}"#)
        .unwrap();
    let err = handler.finish_userinfo(&step, "null").unwrap_err();
    assert_eq!(
        handler.userinfo_failed(&step, Some(&err)).response.status,
        500
    );
    assert_eq!(out.status, 200);
    assert_eq!(out.body, r#"{"sub":"u1","groups":["a"]}"#);
    assert_eq!(out.header("access-control-allow-origin"), Some(EXT));
    assert_common_headers(&out);

    // Verification failure from a cookie clears it.
    let out = handler
        .userinfo_failed(
            &step,
            Some(&Error::new(ErrorCode::Expired, "token expired 5 s ago")),
        )
        .response;
    assert_eq!(out.status, 401);
    assert_eq!(error_of(&out), "invalid_token");
    assert!(out.body.contains("expired"));
    assert_eq!(
        out.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_eq!(
        out.header("set-cookie"),
        Some("sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    );

    // The bearer header wins over the cookie; no Origin is fine for GET.
    let both = headers(&[
        ("Cookie", "sid=cookie.tok"),
        ("Authorization", "bearer head.er.tok"),
    ]);
    let Outcome::UserInfo(step) = drive(&handler, "GET", "/userinfo", &both, b"") else {
        panic!()
    };
    assert_eq!(step.token(), "head.er.tok");
    assert!(!step.from_cookie());
    assert_eq!(step.origin(), None);
    let out = handler
        .userinfo_failed(&step, Some(&Error::new(ErrorCode::BadSignature, "bad")))
        .response;
    assert_eq!(out.header("set-cookie"), None);
    assert_eq!(out.header("access-control-allow-origin"), None);

    let out = handler
        .userinfo_failed(
            &step,
            Some(&Error::new(ErrorCode::JwksFetchFailed, "down").retryable(true)),
        )
        .response;
    assert_eq!(out.status, 502);
    assert!(out.body.contains(r#""retryable":true"#));

    // Malformed Authorization header.
    let out = response(drive(
        &handler,
        "GET",
        "/userinfo",
        &headers(&[("Authorization", "Basic abc")]),
        b"",
    ));
    assert_eq!(out.status, 400);
    // Token mode ignores cookies.
    let token_mode = HandoffHandler::new(console_config()).unwrap();
    let out = response(drive(
        &token_mode,
        "GET",
        "/userinfo",
        &headers(&[("Cookie", "sid=x")]),
        b"",
    ));
    assert_eq!(out.status, 401);
    assert_eq!(out.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn logout_clears_the_cookie() {
    let handler = cookie_handler();
    let out = response(drive(
        &handler,
        "DELETE",
        "/token",
        &headers(&[("Origin", EXT)]),
        b"",
    ));
    assert_eq!(out.status, 204);
    assert_eq!(
        out.header("set-cookie"),
        Some("sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    );
    let out = response(drive(&handler, "DELETE", "/token", &headers(&[]), b""));
    assert_eq!(out.status, 403);
}

#[test]
fn exchange_failures_map_to_401_and_502() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let Outcome::Exchange(step) = drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s"}"#,
    ) else {
        panic!()
    };

    let answer = |status: u16, body: &str| {
        let Outcome::Exchange(mut step) =
            drive(&handler, "POST", "/token", &json_post(EXT), CODE_STATE)
        else {
            panic!()
        };
        token_request(&mut step);
        step.flow
            .answer(
                &mut MetadataCache::new(),
                &HttpResponse::new(status, body),
                0,
            )
            .unwrap_err()
    };
    let reused = answer(
        400,
        r#"{"error":"invalid_grant","error_description":"code SECRET-CODE used"}"#,
    );
    let out = handler.exchange_failed(&step, Some(&reused)).response;
    assert_eq!(out.status, 401);
    assert_eq!(error_of(&out), "invalid_grant");
    assert!(!out.body.contains("SECRET-CODE"));
    assert_eq!(out.header("access-control-allow-origin"), Some(EXT));

    let wrong_secret = answer(401, r#"{"error":"invalid_client"}"#);
    let out = handler.exchange_failed(&step, Some(&wrong_secret)).response;
    assert_eq!(out.status, 502);
    assert_eq!(error_of(&out), "token_endpoint_error");
    assert!(!out.body.contains("retryable"));

    let down = answer(503, "");
    let out = handler.exchange_failed(&step, Some(&down)).response;
    assert_eq!(out.status, 502);
    assert!(out.body.contains(r#""retryable":true"#));

    let out = handler
        .exchange_failed(
            &step,
            Some(&crate::server::http::timeout_error("token endpoint", 10)),
        )
        .response;
    assert_eq!(
        (out.status, error_of(&out).as_str()),
        (502, "network_error")
    );

    let out = handler
        .exchange_failed(&step, Some(&Error::new(ErrorCode::AudienceMismatch, "aud")))
        .response;
    assert_eq!(
        (out.status, error_of(&out).as_str()),
        (401, "invalid_token")
    );

    let out = handler
        .exchange_failed(&step, Some(&Error::options("x")))
        .response;
    assert_eq!(out.status, 500);
    assert_common_headers(&out);
}

proptest::proptest! {
    #[test]
    fn route_never_panics(
        method in "(GET|POST|OPTIONS|DELETE|PUT|[A-Z]{0,6})",
        path in "(/token|/userinfo|/[a-z]{0,5})",
        origin in proptest::option::of("(chrome-extension://abcdefghijklmnopabcdefghijklmnop|https://[a-z.]{0,12}|.{0,8})"),
        content_type in proptest::option::of("(application/json|text/plain|.{0,10})"),
        cookie in proptest::option::of(".{0,20}"),
        authorization in proptest::option::of("(Bearer |bearer |)[ -~]{0,16}"),
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
    ) {
        let mut h = Vec::new();
        if let Some(o) = origin { h.push(("Origin".to_owned(), o)); }
        if let Some(c) = content_type { h.push(("Content-Type".to_owned(), c)); }
        if let Some(c) = cookie { h.push(("Cookie".to_owned(), c)); }
        if let Some(a) = authorization { h.push(("Authorization".to_owned(), a)); }
        for handler in [HandoffHandler::new(oauth2_config()).unwrap(), cookie_handler()] {
            match drive(&handler, &method, &path, &h, &body) {
                Outcome::Respond(r) => {
                    proptest::prop_assert_eq!(r.header("cache-control"), Some("no-store"));
                }
                Outcome::Exchange(step) => {
                    proptest::prop_assert_eq!(step.origin.as_str(), EXT);
                }
                Outcome::UserInfo(step) => {
                    proptest::prop_assert!(!step.token().is_empty());
                }
            }
        }
    }

    #[test]
    fn handoff_json_never_panics(body in r#"\{("(code|state|code_verifier|redirect_uri|x)":("[ -~]{0,50}"|[0-9]{1,3}|null|\[\]),?){0,5}\}"#) {
        let handler = HandoffHandler::new(oauth2_config()).unwrap();
        let _ = drive(&handler, "POST", "/token", &json_post(EXT), body.as_bytes());
    }
}

#[test]
fn route_decides_before_the_body_is_read() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    let foreign = headers(&[
        ("Origin", "https://evil.example"),
        ("Content-Type", "application/json"),
    ]);
    let declared_huge = headers(&[
        ("Origin", EXT),
        ("Content-Type", "application/json"),
        ("Content-Length", "1000000"),
    ]);
    let text = headers(&[("Origin", EXT), ("Content-Type", "text/plain")]);
    for (method, path, headers, status) in [
        ("POST", "/no-such-path", &foreign, 404),
        ("POST", "/no-such-path", &json_post(EXT), 404),
        ("PUT", "/token", &json_post(EXT), 405),
        ("POST", "/token", &foreign, 403),
        ("POST", "/token", &declared_huge, 413),
        ("POST", "/token", &text, 415),
    ] {
        match handler.route(method, path, headers) {
            Route::Respond(out) => assert_eq!(out.status, status, "{method} {path}"),
            other => panic!("{method} {path}: the body was asked for: {other:?}"),
        }
    }
    let Route::ReadHandoff(pending) = handler.route("POST", "/token", &json_post(EXT)) else {
        panic!()
    };
    // Over the cap once read (no Content-Length, e.g. chunked).
    let out = match handler.handoff(pending, &vec![b' '; DEFAULT_MAX_BODY_BYTES + 1]) {
        HandoffStep::Respond(out) => out,
        HandoffStep::Exchange(_) => panic!(),
    };
    assert_eq!(out.status, 413);
}

#[test]
fn the_404_names_the_paths_served() {
    let out = response(drive(
        &HandoffHandler::new(console_config()).unwrap(),
        "POST",
        "/api/token",
        &json_post(EXT),
        b"",
    ));
    assert!(
        out.body
            .contains("this handler serves POST /token and GET /userinfo"),
        "{}",
        out.body
    );
    let out = response(drive(&cookie_handler(), "GET", "/x", &[], b""));
    assert!(
        out.body
            .contains("POST and DELETE /token and GET /userinfo"),
        "{}",
        out.body
    );
    let mut config = console_config();
    config.token_path = Some("/api/token".into());
    config.userinfo_path = None;
    let out = response(drive(
        &HandoffHandler::new(config).unwrap(),
        "GET",
        "/userinfo",
        &[],
        b"",
    ));
    assert!(
        out.body
            .ends_with(r#"this handler serves POST /api/token"}"#),
        "{}",
        out.body
    );
}

#[test]
fn an_opaque_access_token_is_refused_with_what_to_change_on_the_host() {
    let handler = HandoffHandler::new(console_config()).unwrap();
    for opaque in [
        "2YotnFZFEjr1zCsicMWpAA",
        "a.b",
        "a..c",
        "a.b.c.d",
        "a b.c.d",
        ".b.c",
    ] {
        let body = format!(r#"{{"access_token":"{opaque}","token_type":"Bearer"}}"#);
        let Ok(step) = exchanged(&handler, CODE_STATE, &body) else {
            // Not even an access token by RFC 6749 §A.12 (a space).
            assert!(opaque.contains(' '));
            continue;
        };
        let err = handler.access_token(&step).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{opaque}");
        assert!(err.message().contains("RFC 9068"), "{err}");
        assert!(!err.message().contains(opaque), "{err}");
    }
    let step = exchanged(&handler, CODE_STATE, r#"{"access_token":"opaque"}"#).unwrap();
    let err = handler.access_token(&step).unwrap_err();
    let rejected = handler.exchange_failed(&step, Some(&err));
    assert_eq!(
        (rejected.response.status, rejected.level),
        (401, Level::Warn)
    );
    // An unsigned JWS has the shape (its alg is the verifier's to refuse).
    let step = exchanged(&handler, CODE_STATE, r#"{"access_token":"eyJh.eyJz."}"#).unwrap();
    assert_eq!(handler.access_token(&step).unwrap(), "eyJh.eyJz.");
}

#[test]
fn the_nonce_of_the_handoff_is_kept_for_the_id_token() {
    let handler = HandoffHandler::new(oauth2_config()).unwrap();
    let Outcome::Exchange(step) = drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s","nonce":"n-0S6_WzA2Mj","redirect_uri":"https://ext.example/cb"}"#,
    ) else {
        panic!()
    };
    let nonce = step.flow.exchange().and_then(|o| o.nonce.as_ref());
    assert_eq!(nonce.map(Secret::expose_secret), Some("n-0S6_WzA2Mj"));
    assert!(!format!("{step:?}").contains("n-0S6_WzA2Mj"));
    let out = response(drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s","nonce":5}"#,
    ));
    assert_eq!(out.status, 400);
    // A console is not an OpenID Provider: the OpenID Connect members of a
    // handoff are ignored there, as other unknown members are.
    let console = HandoffHandler::new(console_config()).unwrap();
    let body = format!(
        r#"{{"code":"c","state":"s","nonce":"n","code_verifier":"{}","redirect_uri":"https://x.example/cb"}}"#,
        "v".repeat(43)
    );
    let Outcome::Exchange(step) =
        drive(&console, "POST", "/token", &json_post(EXT), body.as_bytes())
    else {
        panic!("a console handoff with OpenID Connect members is exchanged")
    };
    assert!(step.flow.exchange().is_some_and(|o| o.nonce.is_none()));
}

#[test]
fn failures_carry_their_level() {
    let handler = cookie_handler();
    let Outcome::Exchange(step) = drive(
        &handler,
        "POST",
        "/token",
        &json_post(EXT),
        br#"{"code":"c","state":"s"}"#,
    ) else {
        panic!()
    };
    let expired = Error::new(ErrorCode::Expired, "expired");
    assert_eq!(
        handler.exchange_failed(&step, Some(&expired)).level,
        Level::Warn
    );
    assert_eq!(handler.exchange_failed(&step, None).level, Level::Error);
    assert_eq!(handler.exchange_failed(&step, None).response.status, 500);
    let Outcome::UserInfo(info) = drive(
        &handler,
        "GET",
        "/userinfo",
        &headers(&[("Cookie", "sid=a.b.c")]),
        b"",
    ) else {
        panic!()
    };
    let rejected = handler.userinfo_failed(&info, Some(&expired));
    assert_eq!(
        (rejected.response.status, rejected.level),
        (401, Level::Debug)
    );
    let rejected = handler.userinfo_failed(&info, None);
    assert_eq!(
        (rejected.response.status, rejected.level),
        (500, Level::Error)
    );
    assert_eq!(
        rejected.response.header("set-cookie"),
        None,
        "a 500 keeps the session"
    );
}

/// The review's F4: with `issuer` alone, a metadata document naming another
/// issuer (the provider's trailing slash) is the provider's or the
/// configuration's failure: 502 `discovery_failed` at level `error`, before
/// or after the token request, remembered or not; the error keeps its code.
/// The same code from the token's verification stays 401 at `warn`.
#[test]
fn a_discovery_issuer_mismatch_is_a_discovery_failure_not_a_bad_token() {
    const ISSUER: &str = "https://op.example";
    const MISMATCH: &str =
        r#"{"issuer":"https://op.example/","token_endpoint":"https://op.example/token"}"#;
    let handler_with = |token_endpoint: &str| {
        let mut config = oauth2_config();
        let ExchangeProfile::OAuth2(client) = &mut config.profile else {
            unreachable!("oauth2_config is an OAuth2 profile")
        };
        client.token_endpoint = token_endpoint.into();
        client.issuer = Some(ISSUER.into());
        HandoffHandler::new(config).unwrap()
    };
    let exchange = |handler: &HandoffHandler| {
        let Outcome::Exchange(step) = drive(handler, "POST", "/token", &json_post(EXT), CODE_STATE)
        else {
            panic!("expected an exchange")
        };
        step
    };
    let assert_discovery_failure = |handler: &HandoffHandler, step: &ExchangeStep, err: &Error| {
        assert_eq!(
            err.code(),
            ErrorCode::IssuerMismatch,
            "the code is not rewritten"
        );
        let rejected = handler.exchange_failed(step, Some(err));
        assert_eq!(
            (rejected.response.status, rejected.level),
            (502, Level::Error),
            "{}",
            rejected.response.body
        );
        assert!(
            rejected
                .response
                .body
                .contains(r#""error":"discovery_failed""#),
            "{}",
            rejected.response.body
        );
        assert_eq!(rejected.response.header("www-authenticate"), None);
    };
    // The flow's next request is the discovery; the document names another issuer.
    let discover_mismatch = |step: &mut ExchangeStep, cache: &mut MetadataCache| {
        assert!(matches!(
            step.flow.next(cache, 0).unwrap(),
            FlowStep::Send {
                server: Server::Discovery,
                ..
            }
        ));
        step.flow
            .answer(cache, &HttpResponse::new(200, MISMATCH), 0)
            .unwrap_err()
    };
    let mut cache = MetadataCache::new();

    // Before the token request (no tokenEndpoint): the document's answer,
    // then the remembered failure of the next handoff.
    let handler = handler_with("");
    let mut step = exchange(&handler);
    let err = discover_mismatch(&mut step, &mut cache);
    assert_discovery_failure(&handler, &step, &err);
    let mut again = exchange(&handler);
    let err = again.flow.next(&mut cache, 0).unwrap_err();
    assert!(err.message().contains("remembered"), "{err}");
    assert_discovery_failure(&handler, &again, &err);

    // After the token request (a configured endpoint, an ID Token and no
    // jwksUri): the late discovery's failure is the provider's too.
    let handler = handler_with("https://op.example/token");
    let mut cache = MetadataCache::new();
    let mut step = exchange(&handler);
    token_request(&mut step);
    step.flow
        .answer(
            &mut cache,
            &HttpResponse::new(200, r#"{"access_token":"a.b.c","id_token":"h.p.s"}"#),
            0,
        )
        .unwrap();
    let err = discover_mismatch(&mut step, &mut cache);
    assert_discovery_failure(&handler, &step, &err);

    // Once the exchange is done, issuer_mismatch is the token's `iss`.
    let handler = HandoffHandler::new(oauth2_config()).unwrap();
    let step = exchanged(&handler, CODE_STATE, r#"{"access_token":"a.b.c"}"#).unwrap();
    let token = Error::new(ErrorCode::IssuerMismatch, "iss");
    let rejected = handler.exchange_failed(&step, Some(&token));
    assert_eq!(
        (rejected.response.status, rejected.level),
        (401, Level::Warn)
    );
}
