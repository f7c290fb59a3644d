//! The engine with a fixed clock and hand-made tokens (signatures are not
//! checked here: that is the caller's part; only their shape is).

use super::*;
use crate::b64;

const ISS: &str = "https://console.example";
const EXT: &str = "https://ext.example";
const AUD: &str = "ext-123";
const NOW: u64 = 1_700_000_000;
const KEY_A: &str =
    r#"{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const KEY_B: &str =
    r#"{"kty":"OKP","crv":"Ed25519","kid":"b","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

fn set_of(keys: &[&str]) -> String {
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

/// An EdDSA token (signature of the right shape, not a real one).
fn token(kid: &str, claims: &str) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#).as_bytes()),
        b64::encode(claims.as_bytes()),
        b64::encode(&[7u8; 64])
    )
}

fn claims(iss: &str, exp: u64) -> String {
    format!(r#"{{"iss":"{iss}","aud":"{AUD}","sub":"u","exp":{exp},"iat":{NOW}}}"#)
}

fn good(kid: &str) -> String {
    token(kid, &claims(ISS, NOW + 3600))
}

fn remote_engine(members: &str) -> Engine {
    Engine::new(&format!(
        r#"{{"sources":[{{"issuer":["{ISS}"],"audience":["{AUD}"],"jwksUri":"https://console.example/jwks"}}]{members}}}"#
    ))
    .unwrap()
}

fn local_engine(members: &str) -> Engine {
    Engine::new(&format!(
        r#"{{"sources":[{{"issuer":["{ISS}"],"audience":["{AUD}"],"jwks":{}}}]{members}}}"#,
        set_of(&[KEY_A])
    ))
    .unwrap()
}

/// What a step is, in a comparable form.
#[derive(Debug, PartialEq)]
enum Kind {
    Verify {
        set: usize,
        generation: u64,
        candidates: Vec<usize>,
    },
    Remembered,
    Fetch(String, Document),
    Wait(usize),
}

fn kind(step: Result<Step<'_>>) -> Result<Kind> {
    Ok(match step? {
        Step::Verify(c) => Kind::Verify {
            set: c.set,
            generation: c.generation,
            candidates: c.candidates.as_slice().to_vec(),
        },
        Step::Remembered { .. } => Kind::Remembered,
        Step::Fetch(r) => Kind::Fetch(r.url.to_owned(), r.document),
        Step::Wait(set) => Kind::Wait(set),
    })
}

/// The id of set 0's current (or last) fetch.
fn cur(e: &Engine) -> u32 {
    match e.sets.first() {
        Some(Keys::Remote(remote)) => remote.fetch_id,
        _ => 0,
    }
}

fn ticket(step: Result<Step<'_>>) -> u32 {
    match step.unwrap() {
        Step::Verify(c) => c.ticket,
        other => panic!("expected a Verify step, got {other:?}"),
    }
}

fn code<T: core::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.unwrap_err().code()
}

#[test]
fn a_local_set_verifies_then_finish_gives_the_verdict() {
    let mut e = local_engine("");
    let t = good("a");
    let first = match e.check(t.as_bytes(), NOW, Attempt::First).unwrap() {
        Step::Verify(c) => {
            assert_eq!((c.set, c.generation, c.alg), (0, 0, Algorithm::EdDsa));
            assert_eq!(c.candidates.as_slice(), [0]);
            assert_eq!(c.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
            assert_eq!(c.signature, [7u8; 64]);
            assert_eq!(c.payload, claims(ISS, NOW + 3600).as_bytes());
            assert_eq!(c.header, br#"{"alg":"EdDSA","kid":"a"}"#);
            c.ticket
        }
        other => panic!("{other:?}"),
    };
    let keys = KeySet::from_json(&set_of(&[KEY_A])).unwrap();
    assert_eq!(
        e.key_jwk(0, 0, 0),
        Some(keys.get(0).unwrap().public_jwk_json())
    );
    assert_eq!(e.key_jwk(0, 1, 0), None);
    e.release(first);
    let t1 = ticket(e.check(t.as_bytes(), NOW, Attempt::First));
    assert_eq!(e.finish(t1, true), Ok(()));
    // The same ticket cannot answer twice.
    assert_eq!(code(e.finish(t1, true)), ErrorCode::InvalidOptions);
    let t2 = ticket(e.check(t.as_bytes(), NOW, Attempt::First));
    assert_eq!(code(e.finish(t2, false)), ErrorCode::BadSignature);
    // Claim errors answer only once the signature verified.
    let expired = token("a", &claims(ISS, NOW - 3600));
    let t3 = ticket(e.check(expired.as_bytes(), NOW, Attempt::First));
    let t4 = ticket(e.check(expired.as_bytes(), NOW, Attempt::First));
    assert_eq!(code(e.finish(t4, false)), ErrorCode::BadSignature);
    assert_eq!(code(e.finish(t3, true)), ErrorCode::Expired);
    // Tickets are reused once finished or released; a released one is gone.
    let t5 = ticket(e.check(t.as_bytes(), NOW, Attempt::First));
    e.release(t5);
    assert_eq!(code(e.finish(t5, true)), ErrorCode::InvalidOptions);
    assert!(e.held.len() <= 2, "{}", e.held.len());
    // Token errors come before any step.
    assert_eq!(
        code(kind(e.check(b"Bearer x.y.z", NOW, Attempt::First))),
        ErrorCode::Malformed
    );
    assert_eq!(
        code(kind(e.check(good("zz").as_bytes(), NOW, Attempt::First))),
        ErrorCode::NoMatchingKey
    );
}

#[test]
fn a_remote_set_is_fetched_once_and_waited_for_meanwhile() {
    let mut e = remote_engine("");
    let t = good("a");
    let jwks_url = "https://console.example/jwks".to_owned();
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(jwks_url.clone(), Document::JwkSet))
    );
    // Another request meanwhile waits for that fetch.
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Wait(0))
    );
    assert_eq!(
        e.fetched(
            0,
            cur(&e),
            200,
            Some("max-age=300"),
            set_of(&[KEY_A]).as_bytes(),
            NOW
        ),
        Ok(None)
    );
    let verify = Kind::Verify {
        set: 0,
        generation: 1,
        candidates: vec![0],
    };
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW, Attempt::Settled)),
        Ok(verify)
    );
    // Cached: no fetch until it expires.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 299, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW + 300, Attempt::First)),
        Ok(Kind::Fetch(jwks_url, Document::JwkSet))
    );
    // Garbage never causes a fetch.
    let mut cold = remote_engine("");
    assert_eq!(
        code(kind(cold.check(b"not-a-token", NOW, Attempt::First))),
        ErrorCode::Malformed
    );
    let none = format!("{}.e30.", b64::encode(br#"{"alg":"none"}"#));
    assert_eq!(
        code(kind(cold.check(none.as_bytes(), NOW, Attempt::First))),
        ErrorCode::AlgNotAllowed
    );
    assert!(matches!(
        kind(cold.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
}

#[test]
fn a_failed_fetch_cools_down_and_a_waiter_that_gave_up_fetches_only_after_it() {
    let mut e = remote_engine("");
    let t = good("a");
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let error = e.fetched(0, cur(&e), 503, None, b"", NOW).unwrap_err();
    assert_eq!(
        (error.code(), error.is_retryable()),
        (ErrorCode::JwksFetchFailed, true)
    );
    let cooling = kind(e.check(t.as_bytes(), NOW + 1, Attempt::First)).unwrap_err();
    assert_eq!(
        (cooling.code(), cooling.is_retryable()),
        (ErrorCode::JwksFetchFailed, true)
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 30, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let error = e
        .fetch_failed(0, cur(&e), FetchFailure::Timeout, NOW + 30)
        .unwrap_err();
    assert!(
        error.message().contains("5000 ms (timeoutMs)"),
        "{}",
        error.message()
    );
    // A waiter that waited its whole timeout for a fetch that never
    // reported back: after the cooldown it fetches itself, not before.
    let mut e = remote_engine("");
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW + 5, Attempt::First)),
        Ok(Kind::Wait(0))
    );
    assert_eq!(
        code(kind(e.check(t.as_bytes(), NOW + 5, Attempt::Waited))),
        ErrorCode::JwksFetchFailed
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 30, Attempt::Waited)),
        Ok(Kind::Fetch(..))
    ));
}

#[test]
fn an_aborted_fetch_is_neither_a_failure_nor_a_success() {
    let mut e = remote_engine("");
    let t = good("a");
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetch_aborted(0, cur(&e));
    // No cooldown: the next token fetches at once; nothing is cached.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    assert_eq!(
        e.fetched(0, cur(&e), 200, None, set_of(&[KEY_A]).as_bytes(), NOW),
        Ok(None)
    );
    // A refetch for a new kid, aborted: with a set cached it still counts
    // as the attempt, so the kid refetches a cooldown later, not at once
    // (else every caller that aborts costs a request); no failure either:
    // the cached set answers (no_matching_key for the new kid).
    let rotated = good("b");
    assert!(matches!(
        kind(e.check(rotated.as_bytes(), NOW + 40, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetch_aborted(0, cur(&e));
    assert_eq!(
        code(kind(e.check(rotated.as_bytes(), NOW + 41, Attempt::First))),
        ErrorCode::NoMatchingKey
    );
    assert!(matches!(
        kind(e.check(rotated.as_bytes(), NOW + 70, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    // A report that arrives after the abort changes nothing.
    e.fetch_aborted(0, cur(&e));
    assert_eq!(e.fetched(0, cur(&e), 500, None, b"", NOW + 71), Ok(None));
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 72, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
}

#[test]
fn unknown_kids_whose_callers_abort_fetch_once_per_cooldown() {
    let mut e = remote_engine("");
    assert!(matches!(
        kind(e.check(good("a").as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    assert_eq!(
        e.fetched(0, cur(&e), 200, None, set_of(&[KEY_A]).as_bytes(), NOW),
        Ok(None)
    );
    let mut fetches = 0;
    for i in 0..100 {
        let kid = format!("flood-{i}");
        if let Ok(Kind::Fetch(..)) = kind(e.check(good(&kid).as_bytes(), NOW + 40, Attempt::First))
        {
            fetches += 1;
            e.fetch_aborted(0, cur(&e));
        }
    }
    assert_eq!(fetches, 1, "cooldownSec 30: one refetch, aborted or not");
}

#[test]
fn a_burst_past_the_stale_window_waits_for_one_fetch() {
    for discovered in [false, true] {
        let issuer = "https://op.example";
        let keys = match discovered {
            true => r#""discovery":true"#.to_owned(),
            false => r#""jwksUri":"https://op.example/keys""#.to_owned(),
        };
        let mut e = Engine::new(&format!(
            r#"{{"sources":[{{"issuer":["{issuer}"],"audience":["{AUD}"],{keys}}}]}}"#
        ))
        .unwrap();
        let t = token("a", &claims(issuer, NOW + 100_000));
        let metadata = format!(r#"{{"issuer":"{issuer}","jwks_uri":"https://op.example/keys"}}"#);
        let fetch = |e: &mut Engine, at: u64| {
            if discovered {
                let next = e.fetched(0, cur(e), 200, None, metadata.as_bytes(), at);
                assert_eq!(next.unwrap().unwrap().document, Document::JwkSet);
            }
            let keys = set_of(&[KEY_A]);
            assert_eq!(
                e.fetched(0, cur(e), 200, None, keys.as_bytes(), at),
                Ok(None)
            );
        };
        assert!(matches!(
            kind(e.check(t.as_bytes(), NOW, Attempt::First)),
            Ok(Kind::Fetch(..))
        ));
        fetch(&mut e, NOW);
        // Idle past cacheMaxAgeSec + staleIfErrorSec (600 + 3600), then a
        // burst: the first token fetches, the others wait for it.
        let later = NOW + 600 + 3600 + 10;
        assert!(matches!(
            kind(e.check(t.as_bytes(), later, Attempt::First)),
            Ok(Kind::Fetch(..))
        ));
        for _ in 0..2 {
            assert_eq!(
                kind(e.check(t.as_bytes(), later, Attempt::First)),
                Ok(Kind::Wait(0)),
                "discovery: {discovered}"
            );
        }
        fetch(&mut e, later + 1);
        assert!(matches!(
            kind(e.check(t.as_bytes(), later + 1, Attempt::Settled)),
            Ok(Kind::Verify { .. })
        ));
    }
}

#[test]
fn each_request_of_a_discovery_chain_has_its_own_window_and_late_reports_change_nothing() {
    let issuer = "https://op.example";
    let mut e = Engine::new(&format!(
        r#"{{"sources":[{{"issuer":["{issuer}"],"audience":["{AUD}"],"discovery":true}}]}}"#
    ))
    .unwrap();
    let t = token("a", &claims(issuer, NOW + 3600));
    let metadata = format!(r#"{{"issuer":"{issuer}","jwks_uri":"https://op.example/keys"}}"#);
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(_, Document::Metadata))
    ));
    let first = cur(&e);
    // The metadata answers at NOW + 4: the JWK Set request begins then,
    // and the fetch stays under way for its whole timeout (5 s + 1).
    let next = e.fetched(0, first, 200, None, metadata.as_bytes(), NOW + 4);
    assert_eq!(next.unwrap().unwrap().document, Document::JwkSet);
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW + 9, Attempt::First)),
        Ok(Kind::Wait(0))
    );
    // Past that window another fetch begins (the first never reported).
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 10, Attempt::First)),
        Ok(Kind::Fetch(_, Document::Metadata))
    ));
    let second = cur(&e);
    assert_ne!(first, second);
    // The first fetch's late answers are not read as the second's.
    let keys = set_of(&[KEY_A]);
    assert_eq!(
        e.fetched(0, first, 200, None, keys.as_bytes(), NOW + 11),
        Ok(None)
    );
    assert_eq!(
        e.fetch_failed(0, first, FetchFailure::Timeout, NOW + 11),
        Ok(())
    );
    e.fetch_aborted(0, first);
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW + 11, Attempt::First)),
        Ok(Kind::Wait(0))
    );
    let next = e.fetched(0, second, 200, None, metadata.as_bytes(), NOW + 12);
    assert_eq!(next.unwrap().unwrap().document, Document::JwkSet);
    assert_eq!(
        e.fetched(0, second, 200, None, keys.as_bytes(), NOW + 12),
        Ok(None)
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 12, Attempt::Settled)),
        Ok(Kind::Verify { .. })
    ));
}

#[test]
fn a_late_failure_of_a_superseded_fetch_does_not_take_the_current_ones_answer() {
    let mut e = remote_engine("");
    let t = good("a");
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let first = cur(&e);
    // Event-loop lag: the first fetch has not reported when its window ends.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 6, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let second = cur(&e);
    assert_eq!(
        e.fetch_failed(0, first, FetchFailure::Timeout, NOW + 6),
        Ok(())
    );
    // No cooldown started: the second fetch's answer is kept.
    let keys = set_of(&[KEY_A]);
    assert_eq!(
        e.fetched(0, second, 200, None, keys.as_bytes(), NOW + 7),
        Ok(None)
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 7, Attempt::Settled)),
        Ok(Kind::Verify { .. })
    ));
}

#[test]
fn a_cooldown_answers_as_retryable_as_the_failure_that_started_it() {
    for (status, retryable) in [(404, false), (503, true)] {
        let mut e = remote_engine("");
        let t = good("a");
        assert!(matches!(
            kind(e.check(t.as_bytes(), NOW, Attempt::First)),
            Ok(Kind::Fetch(..))
        ));
        let error = e.fetched(0, cur(&e), status, None, b"", NOW).unwrap_err();
        assert_eq!(error.is_retryable(), retryable);
        let cooling = kind(e.check(t.as_bytes(), NOW + 1, Attempt::First)).unwrap_err();
        assert_eq!(
            (cooling.code(), cooling.is_retryable()),
            (ErrorCode::JwksFetchFailed, retryable),
            "HTTP {status}"
        );
    }
    // A WAF page instead of the set: jwks_invalid, then not retryable either.
    let mut e = remote_engine("");
    let t = good("a");
    let _ = kind(e.check(t.as_bytes(), NOW, Attempt::First));
    let error = e
        .fetched(0, cur(&e), 200, None, b"<html>", NOW)
        .unwrap_err();
    assert_eq!(
        (error.code(), error.is_retryable()),
        (ErrorCode::JwksInvalid, false)
    );
    let cooling = kind(e.check(t.as_bytes(), NOW + 1, Attempt::First)).unwrap_err();
    assert!(!cooling.is_retryable());
}

#[test]
fn an_oversized_metadata_document_is_refused_by_its_size() {
    let issuer = "https://op.example";
    let mut e = Engine::new(&format!(
        r#"{{"sources":[{{"issuer":["{issuer}"],"audience":["{AUD}"],"discovery":true}}],"maxBodyBytes":100}}"#
    ))
    .unwrap();
    let t = token("a", &claims(issuer, NOW + 3600));
    let _ = kind(e.check(t.as_bytes(), NOW, Attempt::First));
    // What the caller's reader hands over past the cap: cap + 1 zero bytes.
    let error = e
        .fetched(0, cur(&e), 200, None, &[0; 101], NOW)
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::DiscoveryFailed);
    assert!(
        error.message().contains("larger than 100 bytes")
            && error.message().contains("maxBodyBytes"),
        "{}",
        error.message()
    );
    // The JWK Set says the same.
    let mut e = remote_engine(r#","maxBodyBytes":100"#);
    let _ = kind(e.check(good("a").as_bytes(), NOW, Attempt::First));
    let error = e
        .fetched(0, cur(&e), 200, None, &[0; 101], NOW)
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::JwksInvalid);
    assert!(error
        .message()
        .contains("larger than 100 bytes; raise maxBodyBytes"));
}

#[test]
fn rotation_during_a_verification_is_never_a_forgery() {
    // The check names its candidates in the set current then, and holds
    // its verdict: a rotation that lands before the signature verdict
    // changes neither. (The caller reads the candidate keys before any
    // await: once the set changed, key_jwk no longer gives the old ones.)
    let mut e = remote_engine("");
    let old = good("a");
    assert!(matches!(
        kind(e.check(old.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetched(0, cur(&e), 200, None, set_of(&[KEY_A]).as_bytes(), NOW)
        .unwrap();
    let (held, generation, index) = match e.check(old.as_bytes(), NOW, Attempt::Settled).unwrap() {
        Step::Verify(c) => (c.ticket, c.generation, c.candidates.as_slice()[0]),
        other => panic!("{other:?}"),
    };
    assert_eq!(generation, 1);
    let jwk = e.key_jwk(0, generation, index).unwrap().to_owned();
    // Meanwhile a token with the new kid refetches: the set rotates twice.
    let new = good("b");
    assert!(matches!(
        kind(e.check(new.as_bytes(), NOW + 31, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetched(0, cur(&e), 200, None, set_of(&[KEY_B]).as_bytes(), NOW + 31)
        .unwrap();
    assert!(matches!(
        kind(e.check(new.as_bytes(), NOW + 31, Attempt::Settled)),
        Ok(Kind::Verify { generation: 2, .. })
    ));
    assert_eq!(
        e.key_jwk(0, generation, 0),
        None,
        "the old generation's keys are gone"
    );
    assert!(jwk.contains("11qYAYKx"));
    // The first verification still gets its own verdict, from its own set.
    assert_eq!(e.finish(held, true), Ok(()));
    // And a signature that fails is bad_signature, stable set or not.
    let t = ticket(e.check(new.as_bytes(), NOW + 31, Attempt::First));
    assert_eq!(code(e.finish(t, false)), ErrorCode::BadSignature);
}

#[test]
fn issuer_routing_picks_the_source_before_any_fetch() {
    let mut e = Engine::new(&format!(
        r#"{{"routed":true,"sources":[
            {{"issuer":["{ISS}"],"audience":["{AUD}"],"jwksUri":"https://console.example/jwks"}},
            {{"issuer":["{EXT}"],"audience":null,"jwks":{}}},
            {{"issuer":["https://third.example"],"audience":["x"],"jwksUri":"https://console.example/jwks"}}]}}"#,
        set_of(&[KEY_B])
    ))
    .unwrap();
    assert_eq!(
        e.set_count(),
        2,
        "two issuers naming one jwksUri share its set"
    );
    let ext = token("b", &claims(EXT, NOW + 60));
    assert_eq!(
        kind(e.check(ext.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Verify {
            set: 1,
            generation: 0,
            candidates: vec![0]
        })
    );
    for (payload, expected) in [
        (
            claims("https://evil.example", NOW + 60),
            ErrorCode::IssuerMismatch,
        ),
        (
            claims("https://console.example/", NOW + 60),
            ErrorCode::IssuerMismatch,
        ),
        (r#"{"sub":"x"}"#.to_owned(), ErrorCode::MissingClaim),
        (r#"{"iss":1}"#.to_owned(), ErrorCode::InvalidClaim),
        (r#"{"iss":"a","iss":"b"}"#.to_owned(), ErrorCode::Malformed),
        (r#"["iss"]"#.to_owned(), ErrorCode::Malformed),
    ] {
        // Even with a header that would fail: iss decides first.
        let t = format!(
            "{}.{}.c2ln",
            b64::encode(br#"{"alg":"none"}"#),
            b64::encode(payload.as_bytes())
        );
        assert_eq!(
            code(kind(e.check(t.as_bytes(), NOW, Attempt::First))),
            expected,
            "{payload}"
        );
    }
    let unknown = kind(e.check(
        token("a", &claims("https://evil.example", NOW + 60)).as_bytes(),
        NOW,
        Attempt::First,
    ))
    .unwrap_err();
    assert!(
        unknown
            .message()
            .contains("\"https://console.example\", \"https://ext.example\""),
        "{}",
        unknown.message()
    );
    // The platform's token makes the one fetch of the shared set.
    assert!(matches!(
        kind(e.check(good("a").as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    // The extension's audience applies to its tokens (held for finish).
    let wrong_aud = token("b", &claims(EXT, NOW + 60).replace(AUD, "other"));
    let t = ticket(e.check(wrong_aud.as_bytes(), NOW, Attempt::First));
    assert_eq!(e.finish(t, true), Ok(()), "audience: null accepts any");
}

#[test]
fn discovery_finds_the_set_from_the_issuer_metadata() {
    let issuer = "https://op.example/tenant";
    let settings = format!(
        r#"{{"sources":[{{"issuer":["{issuer}"],"audience":["{AUD}"],"discovery":true}}]}}"#
    );
    let mut e = Engine::new(&settings).unwrap();
    let t = token("a", &claims(issuer, NOW + 3600));
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(
            format!("{issuer}/.well-known/openid-configuration"),
            Document::Metadata
        ))
    );
    // Not published there: RFC 8414's place next.
    let next = e.fetched(0, cur(&e), 404, None, b"", NOW).unwrap().unwrap();
    assert_eq!(
        (next.url, next.document),
        (
            "https://op.example/.well-known/oauth-authorization-server/tenant",
            Document::Metadata
        )
    );
    let metadata = format!(r#"{{"issuer":"{issuer}","jwks_uri":"https://op.example/keys"}}"#);
    let next = e
        .fetched(0, cur(&e), 200, None, metadata.as_bytes(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.url, next.document),
        ("https://op.example/keys", Document::JwkSet)
    );
    assert_eq!(
        e.fetched(0, cur(&e), 200, None, set_of(&[KEY_A]).as_bytes(), NOW),
        Ok(None)
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::Settled)),
        Ok(Kind::Verify { .. })
    ));
    // The snapshot carries the metadata, and loads in another engine
    // without a fetch.
    let snapshot = e.export(None).unwrap();
    assert!(
        snapshot.starts_with(r#"{"https://op.example/tenant":{"jwks":"#),
        "{snapshot}"
    );
    assert!(
        snapshot.ends_with(r#","jwksUri":"https://op.example/keys"}}"#),
        "{snapshot}"
    );
    let mut other = Engine::new(&settings).unwrap();
    assert_eq!(other.import(&snapshot, NOW + 10, true), Ok(1));
    assert!(matches!(
        kind(other.check(t.as_bytes(), NOW + 10, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    // A snapshot with an unsafe jwksUri, none, or for another issuer is
    // refused.
    for bad in [
        snapshot.replace("https://op.example/keys", "http://op.example/keys"),
        snapshot.replace(r#","jwksUri":"https://op.example/keys""#, ""),
        snapshot.replace("https://op.example/tenant", "https://evil.example"),
    ] {
        assert_eq!(
            code(Engine::new(&settings).unwrap().import(&bad, NOW, true)),
            ErrorCode::JwksInvalid,
            "{bad}"
        );
    }

    // The document must name the configured issuer exactly.
    let mut e = Engine::new(&settings).unwrap();
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let lying = r#"{"issuer":"https://op.example/tenant/","jwks_uri":"https://op.example/keys"}"#;
    assert_eq!(
        code(e.fetched(0, cur(&e), 200, None, lying.as_bytes(), NOW)),
        ErrorCode::IssuerMismatch
    );
    // ... and a jwks_uri the URL rule allows; and it must name one.
    for (document, expected) in [
        (
            format!(r#"{{"issuer":"{issuer}","jwks_uri":"http://op.example/keys"}}"#),
            ErrorCode::DiscoveryFailed,
        ),
        (
            format!(r#"{{"issuer":"{issuer}"}}"#),
            ErrorCode::DiscoveryFailed,
        ),
    ] {
        let mut e = Engine::new(&settings).unwrap();
        assert!(matches!(
            kind(e.check(t.as_bytes(), NOW, Attempt::First)),
            Ok(Kind::Fetch(..))
        ));
        assert_eq!(
            code(e.fetched(0, cur(&e), 200, None, document.as_bytes(), NOW)),
            expected,
            "{document}"
        );
    }
    // A network failure of the metadata fetch is a retryable discovery_failed.
    let mut e = Engine::new(&settings).unwrap();
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    let error = e
        .fetch_failed(0, cur(&e), FetchFailure::Network("refused"), NOW)
        .unwrap_err();
    assert_eq!(
        (error.code(), error.is_retryable()),
        (ErrorCode::DiscoveryFailed, true)
    );
}

#[test]
fn snapshots_export_only_what_changed_and_import_strictly_or_not() {
    let mut e = remote_engine("");
    assert_eq!(e.export(None), None, "nothing cached");
    let t = good("a");
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetched(0, cur(&e), 200, None, set_of(&[KEY_A]).as_bytes(), NOW)
        .unwrap();
    let snapshot = e.export(None).unwrap();
    assert!(
        snapshot.starts_with(r#"{"https://console.example/jwks":{"jwks":{"keys":[{"kty":"OKP""#),
        "{snapshot}"
    );
    assert!(
        snapshot.ends_with(&format!(
            r#""fetchedAt":{NOW},"expiresAt":{}}}}}"#,
            NOW + 600
        )),
        "{snapshot}"
    );
    // Unchanged since the snapshot a worker keeps: nothing to write.
    assert_eq!(e.export(Some(&snapshot)), None);
    assert_eq!(e.export(Some("not json")), Some(snapshot.clone()));
    assert_eq!(e.export(Some("{}")), Some(snapshot.clone()));
    // A refetch changes it.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 600, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetched(
        0,
        cur(&e),
        200,
        None,
        set_of(&[KEY_A]).as_bytes(),
        NOW + 600,
    )
    .unwrap();
    assert!(e.export(Some(&snapshot)).is_some());

    let mut other = remote_engine("");
    assert_eq!(other.import(&snapshot, NOW + 10, true), Ok(1));
    assert!(matches!(
        kind(other.check(t.as_bytes(), NOW + 10, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    for (bad, expected) in [
        ("{", "the cache snapshot is not JSON"),
        ("7", "must be the object exportCache() returned"),
        (
            r#"{"https://elsewhere/jwks":{}}"#,
            "names a jwksUri this verifier does not use",
        ),
        (
            r#"{"https://console.example/jwks":{"jwks":{"keys":[]}}}"#,
            "snapshot is invalid",
        ),
    ] {
        let e = remote_engine("").import(bad, NOW, true).unwrap_err();
        assert_eq!(e.code(), ErrorCode::JwksInvalid, "{bad}");
        assert!(e.message().contains(expected), "{bad}: {}", e.message());
    }
    // Not strict: bad entries are skipped, and so is a JSON value that is
    // not an object (an invalid snapshot like any other), but text that is
    // not JSON at all is still refused.
    let mixed = format!(r#"{{"https://elsewhere/jwks":{{}},{}"#, &snapshot[1..]);
    assert_eq!(remote_engine("").import(&mixed, NOW, false), Ok(1));
    for other in ["[]", "\"x\"", "null", "1"] {
        assert_eq!(
            remote_engine("").import(other, NOW, false),
            Ok(0),
            "{other}"
        );
        assert_eq!(
            code(remote_engine("").import(other, NOW, true)),
            ErrorCode::JwksInvalid
        );
    }
    assert_eq!(
        code(remote_engine("").import("{", NOW, false)),
        ErrorCode::JwksInvalid
    );
}

#[test]
fn remembered_tokens_answer_only_while_everything_holds() {
    let mut e = local_engine(r#","verifiedTokenCacheSize":10"#);
    let t = good("a");
    let first = ticket(e.check(t.as_bytes(), NOW, Attempt::First));
    // Not remembered before its signature verified.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    e.finish(first, true).unwrap();
    match e.check(t.as_bytes(), NOW + 1, Attempt::First).unwrap() {
        Step::Remembered { header, payload } => {
            assert_eq!(payload, claims(ISS, NOW + 3600).as_bytes());
            assert_eq!(header, br#"{"alg":"EdDSA","kid":"a"}"#);
        }
        other => panic!("{other:?}"),
    }
    // Past exp it is checked in full again.
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 3600, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    // A failed signature or claim is never remembered.
    let mut e = local_engine(r#","verifiedTokenCacheSize":10"#);
    let t1 = ticket(e.check(t.as_bytes(), NOW, Attempt::First));
    let _ = e.finish(t1, false);
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    let expired = token("a", &claims(ISS, NOW - 100));
    let t2 = ticket(e.check(expired.as_bytes(), NOW, Attempt::First));
    let _ = e.finish(t2, true);
    assert!(matches!(
        kind(e.check(expired.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Verify { .. })
    ));
    // A remote set that changed or is due for a refresh drops them.
    let mut e = remote_engine(r#","verifiedTokenCacheSize":10,"cooldownSec":0"#);
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
    e.fetched(
        0,
        cur(&e),
        200,
        Some("max-age=60"),
        set_of(&[KEY_A]).as_bytes(),
        NOW,
    )
    .unwrap();
    let t3 = ticket(e.check(t.as_bytes(), NOW, Attempt::Settled));
    e.finish(t3, true).unwrap();
    assert_eq!(
        kind(e.check(t.as_bytes(), NOW + 59, Attempt::First)),
        Ok(Kind::Remembered)
    );
    assert!(matches!(
        kind(e.check(t.as_bytes(), NOW + 60, Attempt::First)),
        Ok(Kind::Fetch(..))
    ));
}

proptest::proptest! {
    #[test]
    fn checks_and_reports_never_panic(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        status in 0u16..1000,
        now in 0u64..u64::MAX / 2,
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let mut e = remote_engine(r#","verifiedTokenCacheSize":3"#);
        let _ = kind(e.check(text.as_bytes(), now, Attempt::First));
        let _ = e.fetched(0, cur(&e), status, Some(&text), &bytes, now);
        let _ = kind(e.check(text.as_bytes(), now, Attempt::Settled));
        let _ = e.fetch_failed(0, cur(&e), FetchFailure::Network(&text), now);
        let _ = e.import(&text, now, true);
        let _ = e.export(Some(&text));
        let _ = e.finish(status.into(), true);
    }
}
