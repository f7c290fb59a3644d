//! Cache policy tests with a fixed clock (seconds are plain numbers here).

use super::*;

const JWKS_A: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
const JWKS_B: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"b","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

/// [`JwksCache::plan_for`] for a token with header `kid`, of the
/// algorithm of the key with that kid in `JWKS_A` (Ed25519, kid `a`) or
/// `JWKS_B` (P-256, kid `b`); Ed25519 for other kids and none.
fn plan(cache: &JwksCache, now: u64, kid: Option<&str>) -> Plan {
    let alg = if kid == Some("b") {
        Algorithm::Es256
    } else {
        Algorithm::EdDsa
    };
    cache.plan_for(now, alg, kid.map(Str::from))
}

fn cache() -> JwksCache {
    JwksCache::new(CacheConfig::default()).unwrap()
}

/// A cache that fetched `JWKS_A` at `t` with no Cache-Control.
fn fetched_at(t: u64) -> JwksCache {
    let mut c = cache();
    assert_eq!(plan(&c, t, None), Plan::Fetch);
    c.begin_fetch(t);
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), t).unwrap();
    c
}

#[test]
fn defaults_refetch_exactly_at_max_age() {
    let c = fetched_at(1000);
    assert_eq!(plan(&c, 1000, Some("a")), Plan::UseCached);
    assert_eq!(plan(&c, 1599, Some("a")), Plan::UseCached);
    assert_eq!(plan(&c, 1599, None), Plan::UseCached);
    assert_eq!(plan(&c, 1600, Some("a")), Plan::Fetch);
    assert_eq!(plan(&c, 1600, None), Plan::Fetch);
    assert!(c.usable_keys(1599).is_some());
    assert!(
        c.usable_keys(1600).is_none(),
        "expired and no refresh attempted"
    );
    assert_eq!((c.fetched_at(), c.expires_at()), (Some(1000), Some(1600)));
    assert_eq!(CacheConfig::default().timeout_ms, 5000);
    assert_eq!(CacheConfig::default().cooldown_sec, 30);
}

#[test]
fn cache_control_max_age_is_clamped() {
    let config = CacheConfig::default();
    for (header, lifetime) in [
        (None, 600),
        (Some("max-age=120"), 120),
        (Some("public, max-age=120, must-revalidate"), 120),
        (Some("Max-Age=120"), 120),
        (Some("max-age=\"120\""), 120),
        (Some(" max-age = 120 ,\tprivate"), 120),
        (Some("max-age=\"120"), 600),
        (Some("max-age=\u{a0}120"), 600),
        (Some("max-age=5"), 30),
        (Some("max-age=0"), 30),
        (Some("max-age=99999"), 600),
        (Some("max-age=99999999999999999999999"), 600),
        (Some("max-age=abc"), 600),
        (Some("max-age=-5"), 600),
        (Some("max-age="), 600),
        (Some("max-age=60, max-age=120"), 600),
        (Some("no-store"), 30),
        (Some("max-age=300, no-cache"), 30),
        (Some(""), 600),
    ] {
        assert_eq!(config.lifetime_sec(header), lifetime, "{header:?}");
    }
    // With no cooldown, a set that may not be stored still serves the
    // tokens that asked for it, for 1 s.
    let eager = CacheConfig {
        cooldown_sec: 0,
        ..CacheConfig::default()
    };
    for header in ["no-store", "no-cache", "max-age=0"] {
        assert_eq!(eager.lifetime_sec(Some(header)), 1, "{header}");
        let mut c = JwksCache::new(eager).unwrap();
        c.on_fetch_ok(200, Some(header), JWKS_A.as_bytes(), 50)
            .unwrap();
        assert!(c.usable_keys(50).is_some(), "{header}");
        assert!(c.usable_keys(51).is_none(), "{header}");
    }
    let mut c = cache();
    c.on_fetch_ok(200, Some("max-age=60"), JWKS_A.as_bytes(), 0)
        .unwrap();
    assert_eq!(plan(&c, 59, None), Plan::UseCached);
    assert_eq!(plan(&c, 60, None), Plan::Fetch);
}

#[test]
fn unknown_kid_refetches_at_most_once_per_cooldown() {
    let c = fetched_at(0);
    assert_eq!(plan(&c, 1, Some("a")), Plan::UseCached);
    assert_eq!(plan(&c, 1, Some("new")), Plan::UseCachedNoRefetch);
    assert_eq!(plan(&c, 29, Some("new")), Plan::UseCachedNoRefetch);
    assert_eq!(plan(&c, 30, Some("new")), Plan::Fetch);

    // A storm of random kids for 10 minutes: one fetch per cooldown at most.
    let mut c = fetched_at(0);
    let mut fetches = 0;
    for t in 0..600u64 {
        for i in 0..5 {
            let kid = format!("random-{t}-{i}");
            match plan(&c, t, Some(&kid)) {
                Plan::Fetch => {
                    fetches += 1;
                    c.begin_fetch(t);
                    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), t).unwrap();
                }
                Plan::UseCachedNoRefetch => {}
                other => panic!("unexpected {other:?} at {t}"),
            }
        }
    }
    assert_eq!(fetches, 19, "one per 30 s from t=30 to t=570");
}

#[test]
fn a_token_no_key_fits_refetches_once_per_cooldown_even_without_kid() {
    use crate::jose::Algorithm::{EdDsa, Es256};
    let mut c = fetched_at(0);
    assert_eq!(c.plan_for(1, EdDsa, None), Plan::UseCached);
    assert_eq!(c.plan_for(1, EdDsa, Some(Str::from("a"))), Plan::UseCached);
    // An ES256 token: the set holds only an Ed25519 key.
    assert_eq!(c.plan_for(1, Es256, None), Plan::UseCachedNoRefetch);
    assert_eq!(
        c.plan_for(1, EdDsa, Some(Str::from("b"))),
        Plan::UseCachedNoRefetch
    );
    assert_eq!(c.plan_for(30, Es256, None), Plan::Fetch);
    c.begin_fetch(30);
    c.on_fetch_ok(200, None, JWKS_B.as_bytes(), 31).unwrap();
    assert_eq!(c.plan_for(32, Es256, None), Plan::UseCached);
    assert_eq!(c.plan_for(32, Es256, Some(Str::from("b"))), Plan::UseCached);
    assert_eq!(c.plan_for(32, EdDsa, None), Plan::UseCachedNoRefetch);
}

#[test]
fn misses_during_a_refetch_wait_for_it_then_cool_down() {
    let mut c = fetched_at(0);
    assert_eq!(plan(&c, 100, Some("b")), Plan::Fetch);
    c.begin_fetch(100);
    // Other requests with the new kid meanwhile wait for that fetch (during
    // a rotation they need what it brings) instead of starting another.
    assert_eq!(plan(&c, 101, Some("b")), Plan::AwaitFetch);
    assert_eq!(plan(&c, 101, Some("other")), Plan::AwaitFetch);
    // Known kids keep verifying with the fresh set meanwhile.
    assert_eq!(plan(&c, 101, Some("a")), Plan::UseCached);
    // The rotated set arrives with the new kid; the cooldown counts from
    // the end of the fetch.
    c.on_fetch_ok(200, None, JWKS_B.as_bytes(), 102).unwrap();
    assert_eq!(plan(&c, 103, Some("b")), Plan::UseCached);
    assert_eq!(plan(&c, 103, Some("a")), Plan::UseCachedNoRefetch);
    assert_eq!(plan(&c, 131, Some("a")), Plan::UseCachedNoRefetch);
    assert_eq!(plan(&c, 132, Some("a")), Plan::Fetch);
}

#[test]
fn waiting_out_a_fetch_that_never_answers_does_not_storm() {
    // A fresh set; a refetch for a new kid begins and never reports back
    // (its workerd request was cancelled). Waiters that give up fetch only
    // when the cooldown since the last attempt allows.
    let mut c = fetched_at(0);
    c.begin_fetch(100);
    let mut fetches = 0;
    for t in 101..160u64 {
        match plan(&c, t, Some("new")) {
            Plan::AwaitFetch => match c.plan_after_waiting(t) {
                Plan::Fetch => {
                    fetches += 1;
                    c.begin_fetch(t);
                }
                Plan::UseCachedNoRefetch => {}
                other => panic!("unexpected {other:?} at {t}"),
            },
            Plan::Fetch => {
                fetches += 1;
                c.begin_fetch(t);
            }
            Plan::UseCachedNoRefetch => {}
            other => panic!("unexpected {other:?} at {t}"),
        }
    }
    assert_eq!(fetches, 1, "one per 30 s cooldown from t=100: at t=130");

    // Nothing cached: waiters fail retryably until the cooldown is over.
    let mut cold = cache();
    cold.begin_fetch(0);
    assert_eq!(plan(&cold, 1, None), Plan::AwaitFetch);
    assert_eq!(cold.plan_after_waiting(5), Plan::FailCoolingDown);
    let error = cold.cooling_down_error(5);
    assert!(error.is_retryable());
    assert!(
        error
            .message()
            .contains("has not answered and the next attempt is in 25 s"),
        "{}",
        error.message()
    );
    assert_eq!(cold.plan_after_waiting(30), Plan::Fetch);
}

#[test]
fn cold_requests_wait_for_the_first_fetch() {
    let mut c = cache();
    assert_eq!(plan(&c, 0, None), Plan::Fetch);
    c.begin_fetch(0);
    assert_eq!(plan(&c, 1, None), Plan::AwaitFetch);
    assert_eq!(plan(&c, 1, Some("a")), Plan::AwaitFetch);
    // A fetch that never reports back is trusted for its timeout (5 s,
    // plus 1 for whole seconds) only.
    assert_eq!(plan(&c, 5, None), Plan::AwaitFetch);
    assert_eq!(plan(&c, 6, None), Plan::Fetch);
}

#[test]
fn failed_fetch_without_a_set_cools_down() {
    let mut c = cache();
    assert_eq!(plan(&c, 0, None), Plan::Fetch);
    c.begin_fetch(0);
    let err = c.on_fetch_error(
        5,
        Error::new(ErrorCode::NetworkError, "timed out after 5000 ms"),
    );
    assert_eq!(err.code(), ErrorCode::JwksFetchFailed);
    assert!(err.is_retryable());
    assert!(c.usable_keys(5).is_none());
    assert_eq!(plan(&c, 6, None), Plan::FailCoolingDown);
    assert_eq!(plan(&c, 34, Some("a")), Plan::FailCoolingDown);
    let cooling = c.cooling_down_error(20);
    assert_eq!(cooling.code(), ErrorCode::JwksFetchFailed);
    assert!(cooling.is_retryable());
    assert!(
        cooling.message().contains("next attempt is in 15 s"),
        "{}",
        cooling.message()
    );
    assert!(
        cooling.message().contains("timed out"),
        "{}",
        cooling.message()
    );
    assert_eq!(plan(&c, 35, None), Plan::Fetch);
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), 35).unwrap();
    assert!(c.last_error().is_none());
    assert_eq!(plan(&c, 36, None), Plan::UseCached);
}

#[test]
fn non_200_and_bad_bodies_fail_and_keep_the_previous_set() {
    let mut c = cache();
    let err = c.on_fetch_ok(503, None, b"", 0).unwrap_err();
    assert_eq!(
        (err.code(), err.status(), err.is_retryable()),
        (ErrorCode::JwksFetchFailed, Some(503), true)
    );
    let err = c.on_fetch_ok(404, None, JWKS_A.as_bytes(), 0).unwrap_err();
    assert_eq!(
        (err.code(), err.is_retryable()),
        (ErrorCode::JwksFetchFailed, false)
    );
    let err = c.on_fetch_ok(302, None, b"", 0).unwrap_err();
    assert!(
        err.message().contains("redirects are not followed"),
        "{}",
        err.message()
    );
    assert!(c.keys().is_none());

    let mut c = fetched_at(0);
    let generation = c.generation();
    let huge = vec![b' '; DEFAULT_MAX_BODY_BYTES + 1];
    for body in [
        &huge[..],
        b"not json",
        br#"{"keys":[]}"#,
        br#"{"keys":[{"kty":"oct","k":"AA"}]}"#,
        &[0xff, 0xfe],
    ] {
        let err = c.on_fetch_ok(200, None, body, 600).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksInvalid);
        assert!(!err.is_retryable());
        assert!(c.keys().unwrap().has_kid("a"));
        assert_eq!(c.generation(), generation);
    }
}

#[test]
fn stale_if_error_is_bounded() {
    let mut c = fetched_at(0);
    assert_eq!(plan(&c, 600, None), Plan::Fetch);
    c.begin_fetch(600);
    c.on_fetch_error(
        600,
        Error::new(ErrorCode::NetworkError, "connection refused"),
    );
    // Served stale, no new fetch during the cooldown.
    assert!(c.usable_keys(600).is_some());
    assert_eq!(plan(&c, 601, Some("a")), Plan::UseCached);
    assert_eq!(plan(&c, 629, None), Plan::UseCached);
    // After the cooldown, one retry; if it fails, stale again.
    let mut fetches = 0;
    for t in 630..5000u64 {
        match plan(&c, t, Some("a")) {
            Plan::Fetch => {
                fetches += 1;
                c.begin_fetch(t);
                let _ = c.on_fetch_ok(500, None, b"", t);
            }
            Plan::UseCached => assert!(t < 600 + DEFAULT_STALE_IF_ERROR_SEC, "stale at {t}"),
            Plan::FailCoolingDown => {
                assert!(t >= 600 + DEFAULT_STALE_IF_ERROR_SEC, "failed early at {t}")
            }
            Plan::UseCachedNoRefetch => panic!("kid a is known"),
            Plan::AwaitFetch => panic!("every fetch here reports back at once"),
        }
    }
    // One retry per cooldown over 4370 s.
    assert!((140..=146).contains(&fetches), "{fetches}");
    assert!(c
        .usable_keys(600 + DEFAULT_STALE_IF_ERROR_SEC - 1)
        .is_some());
    assert!(c.usable_keys(600 + DEFAULT_STALE_IF_ERROR_SEC).is_none());
    // Recovery.
    assert_eq!(plan(&c, 5030, None), Plan::Fetch);
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), 5030).unwrap();
    assert_eq!(plan(&c, 5031, None), Plan::UseCached);
}

#[test]
fn expired_set_is_served_while_a_refresh_is_in_flight() {
    let mut c = fetched_at(0);
    assert_eq!(plan(&c, 600, None), Plan::Fetch);
    c.begin_fetch(600);
    assert_eq!(plan(&c, 601, None), Plan::UseCached);
    assert!(c.usable_keys(601).is_some());
    // A refresh that never reports back is trusted for its timeout only.
    assert_eq!(plan(&c, 605, None), Plan::UseCached);
    assert_eq!(plan(&c, 606, None), Plan::Fetch);
    assert!(c.usable_keys(606).is_none());
}

#[test]
fn generation_changes_only_when_keys_change() {
    let mut c = cache();
    assert_eq!(c.generation(), 0);
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), 0).unwrap();
    assert_eq!(c.generation(), 1);
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), 600).unwrap();
    assert_eq!(c.generation(), 1);
    c.on_fetch_ok(200, None, JWKS_B.as_bytes(), 1200).unwrap();
    assert_eq!(c.generation(), 2);
}

#[test]
fn fresh_generation_only_while_fresh() {
    assert_eq!(cache().fresh_generation(0), None);
    let mut c = fetched_at(1000);
    assert_eq!(c.fresh_generation(1599), Some(1));
    assert_eq!(
        c.fresh_generation(1600),
        None,
        "expired: a fetch comes first"
    );
    // A failed refresh keeps serving the set (stale-if-error), not fresh.
    c.begin_fetch(1600);
    c.on_fetch_error(1600, Error::new(ErrorCode::NetworkError, "down"));
    assert!(c.usable_keys(1601).is_some());
    assert_eq!(c.fresh_generation(1601), None);
    c.on_fetch_ok(200, None, JWKS_B.as_bytes(), 1700).unwrap();
    assert_eq!(c.fresh_generation(1700), Some(2));
}

#[test]
fn export_import_round_trip() {
    assert!(cache().export().is_none());
    let mut c = cache();
    c.on_fetch_ok(200, Some("max-age=300"), JWKS_A.as_bytes(), 1000)
        .unwrap();
    let snapshot = c.export().unwrap();
    assert!(
        snapshot.starts_with(r#"{"jwks":{"keys":[{"kty":"OKP","kid":"a","crv":"Ed25519""#),
        "{snapshot}"
    );
    assert!(
        snapshot.ends_with(r#""fetchedAt":1000,"expiresAt":1300}"#),
        "{snapshot}"
    );

    let mut other = cache();
    assert!(other.import(&snapshot, 1100).unwrap());
    assert_eq!(plan(&other, 1100, Some("a")), Plan::UseCached);
    assert_eq!(plan(&other, 1300, Some("a")), Plan::Fetch);
    assert_eq!(other.generation(), 1);
    assert!(other.keys().unwrap().same_keys(c.keys().unwrap()));
    // Expired snapshots and garbage are jwks_invalid.
    for (bad, now) in [
        (snapshot.as_str(), 1300),
        ("", 0),
        ("[]", 0),
        (r#"{"jwks":{"keys":[]},"fetchedAt":0,"expiresAt":10}"#, 0),
        (r#"{"fetchedAt":0,"expiresAt":10}"#, 0),
        (r#"{"jwks":{"keys":[]},"fetchedAt":"0","expiresAt":10}"#, 0),
        (r#"{"jwks":{"keys":[]},"fetchedAt":-1,"expiresAt":10}"#, 0),
        (r#"{"jwks":{"keys":[]},"fetchedAt":0.5,"expiresAt":10}"#, 0),
        (r#"{"jwks":{"keys":[]},"fetchedAt":20,"expiresAt":10}"#, 0),
        (r#"{"jwks":{},"fetchedAt":0,"expiresAt":10,"uat":1}"#, 0),
    ] {
        let mut fresh = cache();
        assert_eq!(
            fresh.import(bad, now).unwrap_err().code(),
            ErrorCode::JwksInvalid,
            "{bad}"
        );
        assert!(fresh.keys().is_none());
    }
    // A snapshot cannot extend its life beyond max_age.
    let long = format!(r#"{{"jwks":{JWKS_A},"fetchedAt":0,"expiresAt":999999}}"#);
    let mut capped = cache();
    capped.import(&long, 100).unwrap();
    assert_eq!(capped.expires_at(), Some(600));
    // An older snapshot does not replace a newer set.
    let mut newer = fetched_at(5000);
    assert!(!newer.import(&snapshot, 1100).unwrap());
    assert_eq!(newer.fetched_at(), Some(5000));
}

#[test]
fn config_is_validated() {
    for bad in [
        CacheConfig {
            cooldown_sec: 601,
            ..CacheConfig::default()
        },
        CacheConfig {
            max_age_sec: 0,
            cooldown_sec: 0,
            ..CacheConfig::default()
        },
        CacheConfig {
            stale_if_error_sec: 30 * 24 * 3600,
            ..CacheConfig::default()
        },
        CacheConfig {
            timeout_ms: 0,
            ..CacheConfig::default()
        },
        CacheConfig {
            max_body_bytes: 0,
            ..CacheConfig::default()
        },
    ] {
        assert_eq!(
            JwksCache::new(bad).unwrap_err().code(),
            ErrorCode::InvalidOptions,
            "{bad:?}"
        );
    }
    let zero_cooldown = CacheConfig {
        cooldown_sec: 0,
        ..CacheConfig::default()
    };
    let mut c = JwksCache::new(zero_cooldown).unwrap();
    c.on_fetch_ok(200, None, JWKS_A.as_bytes(), 0).unwrap();
    assert_eq!(plan(&c, 0, Some("x")), Plan::Fetch);
}

proptest::proptest! {
    #[test]
    fn fetch_results_and_snapshots_never_panic(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        status in 0u16..1000,
        header in "[ -~]{0,40}",
        now in 0u64..u64::MAX,
    ) {
        let mut c = cache();
        let _ = c.on_fetch_ok(status, Some(&header), &bytes, now);
        let _ = plan(&c, now, Some("k"));
        let _ = c.usable_keys(now.wrapping_add(1));
        let _ = c.import(&String::from_utf8_lossy(&bytes), now);
        let _ = c.cooling_down_error(now);
        let _ = CacheConfig::default().lifetime_sec(Some(&header));
    }
}
