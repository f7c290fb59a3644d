//! The metadata cache's policy with a fixed clock (module docs, 1-6).

use super::*;
use crate::protocol::discovery::read_metadata;
use crate::ErrorCode;

const ISSUER: &str = "https://op.example/tenant";
const T0: u64 = 1_000_000;
const TIMEOUT_MS: u32 = 10_000;

fn document(issuer: &str) -> Rc<ServerMetadata> {
    let body = format!(r#"{{"issuer":"{issuer}","token_endpoint":"{issuer}/token"}}"#);
    Rc::new(read_metadata(issuer, body.as_bytes(), UrlRule::STRICT, "test").unwrap())
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn lookup(cache: &mut MetadataCache, now: u64) -> Result<Lookup> {
    cache.lookup(ISSUER, UrlRule::STRICT, TIMEOUT_MS, now)
}

/// The job of a lookup that must start a discovery.
fn must_discover(cache: &mut MetadataCache, now: u64) -> u32 {
    match lookup(cache, now) {
        Ok(Lookup::Discover(job)) => job,
        other => panic!("expected a discovery at T0 + {}, got {other:?}", now - T0),
    }
}

fn must_find(cache: &mut MetadataCache, now: u64) -> Rc<ServerMetadata> {
    match lookup(cache, now) {
        Ok(Lookup::Found(metadata)) => metadata,
        other => panic!("expected the document at T0 + {}, got {other:?}", now - T0),
    }
}

/// A cache holding the document, discovered at `T0` with `pairs` as headers.
fn filled(pairs: &[(&str, &str)]) -> MetadataCache {
    let mut cache = MetadataCache::new();
    let job = must_discover(&mut cache, T0);
    cache.found(job, &document(ISSUER), &headers(pairs), T0);
    cache
}

#[test]
fn freshness_is_max_age_clamped_one_hour_by_default_and_the_floor_when_malformed() {
    for (pairs, fresh) in [
        (&[][..], DEFAULT_FRESH_SEC),
        (&[("Cache-Control", "public, max-age=120")][..], 120),
        (&[("cache-control", "max-age=\"300\"")][..], 300),
        (&[("Cache-Control", "max-age=5")][..], MIN_FRESH_SEC),
        (&[("Cache-Control", "max-age=0")][..], MIN_FRESH_SEC),
        (&[("Cache-Control", "no-store")][..], MIN_FRESH_SEC),
        (
            &[("Cache-Control", "no-cache, max-age=600")][..],
            MIN_FRESH_SEC,
        ),
        (&[("Cache-Control", "max-age=86400")][..], MAX_FRESH_SEC),
        (&[("Cache-Control", "max-age=999999999")][..], MAX_FRESH_SEC),
        // Beyond 2^64 - 1 s the reader saturates (RFC 9111 §1.2.2: the
        // greatest integer it can represent): the longest freshness.
        (
            &[("Cache-Control", "max-age=99999999999999999999999")][..],
            MAX_FRESH_SEC,
        ),
        // Malformed or repeated (review F8): stale (RFC 9111 §4.2.1), so the
        // floor, as no-store; never the 1 h of a server that named none.
        (&[("Cache-Control", "max-age=12a")][..], MIN_FRESH_SEC),
        (&[("Cache-Control", "max-age=-5")][..], MIN_FRESH_SEC),
        (&[("Cache-Control", "max-age=")][..], MIN_FRESH_SEC),
        (&[("Cache-Control", "public, max-age")][..], MIN_FRESH_SEC),
        (
            &[("Cache-Control", "max-age=10, max-age=20")][..],
            MIN_FRESH_SEC,
        ),
        (
            &[("Cache-Control", "max-age=7200, max-age=7200")][..],
            MIN_FRESH_SEC,
        ),
        // Other directives alone name no freshness: the default.
        (
            &[("Cache-Control", "public, must-revalidate")][..],
            DEFAULT_FRESH_SEC,
        ),
        // `Age` is not subtracted (module docs, 2).
        (&[("Cache-Control", "max-age=600"), ("Age", "100")][..], 600),
    ] {
        assert_eq!(fresh_for(&headers(pairs)), fresh, "{pairs:?}");
    }
    // Through the cache: fresh until T0 + max-age, discovered again then.
    let mut cache = filled(&[("Cache-Control", "max-age=120")]);
    must_find(&mut cache, T0 + 119);
    must_discover(&mut cache, T0 + 120);
    let mut cache = filled(&[]);
    let found = must_find(&mut cache, T0 + DEFAULT_FRESH_SEC - 1);
    assert_eq!(
        found.token_endpoint.as_deref(),
        Some("https://op.example/tenant/token")
    );
    must_discover(&mut cache, T0 + DEFAULT_FRESH_SEC);
}

#[test]
fn one_discovery_at_a_time_and_a_lost_one_is_waited_for_its_timeouts_only() {
    let mut cache = MetadataCache::new();
    let job = must_discover(&mut cache, T0);
    // Two requests of TIMEOUT_MS (10 s) each, plus a second for the clock.
    for at in [T0, T0 + 10, T0 + 20] {
        assert_eq!(lookup(&mut cache, at), Ok(Lookup::Wait(job)));
    }
    let again = must_discover(&mut cache, T0 + 21);
    assert_ne!(again, job);
    // The lost one's late report changes nothing; the new one fills the cache.
    cache.found(job, &document(ISSUER), &[], T0 + 22);
    let lost = cache.failed(job, Error::new(ErrorCode::NetworkError, "gone"), T0 + 22);
    assert_eq!(lost.code(), ErrorCode::NetworkError);
    cache.abandon(job);
    assert_eq!(lookup(&mut cache, T0 + 22), Ok(Lookup::Wait(again)));
    cache.found(again, &document(ISSUER), &[], T0 + 22);
    must_find(&mut cache, T0 + 23);
    // An expired document is not used while its refresh is under way.
    let job = must_discover(&mut cache, T0 + 22 + DEFAULT_FRESH_SEC);
    assert_eq!(
        lookup(&mut cache, T0 + 23 + DEFAULT_FRESH_SEC),
        Ok(Lookup::Wait(job))
    );
}

#[test]
fn failures_are_remembered_for_the_cooldown_only() {
    for error in [
        Error::new(ErrorCode::DiscoveryFailed, "x answered HTTP 503").with_status(503),
        Error::new(ErrorCode::DiscoveryFailed, "x answered HTTP 403").with_status(403),
        Error::new(
            ErrorCode::IssuerMismatch,
            "the document names another issuer",
        ),
        Error::new(ErrorCode::NetworkError, "request failed").retryable(true),
    ] {
        let mut cache = MetadataCache::new();
        let job = must_discover(&mut cache, T0);
        let expected = (error.code(), error.is_retryable(), error.status());
        let reported = cache.failed(job, error.clone(), T0);
        let mut seen = vec![reported];
        for at in [T0, T0 + FAILURE_COOLDOWN_SEC - 1] {
            seen.push(lookup(&mut cache, at).unwrap_err());
        }
        for (err, left) in seen.iter().zip([10, 10, 1]) {
            assert_eq!((err.code(), err.is_retryable(), err.status()), expected);
            assert_eq!(
                err.message(),
                format!(
                    "{} (remembered: discovery is retried in {left} s)",
                    error.message()
                )
            );
        }
        must_discover(&mut cache, T0 + FAILURE_COOLDOWN_SEC);
    }
    // A success clears the failure.
    let mut cache = MetadataCache::new();
    let job = must_discover(&mut cache, T0);
    cache.failed(job, Error::new(ErrorCode::NetworkError, "x"), T0);
    let job = must_discover(&mut cache, T0 + FAILURE_COOLDOWN_SEC);
    cache.found(job, &document(ISSUER), &[], T0 + FAILURE_COOLDOWN_SEC);
    must_find(&mut cache, T0 + FAILURE_COOLDOWN_SEC + 1);
    // A failed refresh: the expired document is not used in the cooldown.
    let mut cache = filled(&[("Cache-Control", "max-age=100")]);
    let job = must_discover(&mut cache, T0 + 100);
    cache.failed(job, Error::new(ErrorCode::NetworkError, "x"), T0 + 100);
    assert!(lookup(&mut cache, T0 + 101).is_err());
}

#[test]
fn an_aborted_discovery_neither_fails_nor_fills() {
    let mut cache = MetadataCache::new();
    let job = must_discover(&mut cache, T0);
    cache.abandon(job);
    // Not remembered as a failure, not waited for: the next caller discovers.
    let again = must_discover(&mut cache, T0 + 1);
    // And the aborted one, should it still report, is not stored.
    cache.found(job, &document(ISSUER), &[], T0 + 2);
    assert_eq!(lookup(&mut cache, T0 + 2), Ok(Lookup::Wait(again)));
    cache.abandon(again);
    must_discover(&mut cache, T0 + 2);
    // A refresh aborted: as if it had not started (the expired document
    // is not used, the next caller discovers).
    let mut cache = filled(&[("Cache-Control", "max-age=100")]);
    let job = must_discover(&mut cache, T0 + 100);
    cache.abandon(job);
    must_discover(&mut cache, T0 + 100);
}

#[test]
fn keyed_by_issuer_exactly_and_by_the_url_rule() {
    let mut cache = filled(&[]);
    // A trailing slash is another issuer (it would be `issuer_mismatch`).
    let slash = format!("{ISSUER}/");
    assert!(matches!(
        cache.lookup(&slash, UrlRule::STRICT, TIMEOUT_MS, T0),
        Ok(Lookup::Discover(_))
    ));
    // Read under the opt-out, a document may name http endpoints: kept apart.
    assert!(matches!(
        cache.lookup(ISSUER, UrlRule::INSECURE_HTTP, TIMEOUT_MS, T0),
        Ok(Lookup::Discover(_))
    ));
    must_find(&mut cache, T0);
    assert_eq!(cache.len(), 3);
}

#[test]
fn at_most_max_issuers_the_least_recently_used_dropped() {
    let mut cache = MetadataCache::new();
    let issuer = |i: usize| format!("https://op{i}.example");
    let look = |cache: &mut MetadataCache, i: usize| {
        cache
            .lookup(&issuer(i), UrlRule::STRICT, TIMEOUT_MS, T0)
            .unwrap()
    };
    for i in 0..MAX_ISSUERS {
        let Lookup::Discover(job) = look(&mut cache, i) else {
            panic!("{i}")
        };
        cache.found(job, &document(&issuer(i)), &[], T0);
    }
    assert_eq!(cache.len(), MAX_ISSUERS);
    // Issuer 0 used again: issuer 1 is now the least recently used.
    assert!(matches!(look(&mut cache, 0), Lookup::Found(_)));
    assert!(matches!(look(&mut cache, MAX_ISSUERS), Lookup::Discover(_)));
    assert_eq!(cache.len(), MAX_ISSUERS);
    assert!(matches!(look(&mut cache, 0), Lookup::Found(_)));
    assert!(matches!(look(&mut cache, 2), Lookup::Found(_)));
    // Issuer 1 was dropped (looking it up again drops issuer 3, now the oldest).
    assert!(matches!(look(&mut cache, 1), Lookup::Discover(_)));
    assert!(matches!(look(&mut cache, 3), Lookup::Discover(_)));
    assert_eq!(cache.len(), MAX_ISSUERS);
    assert!(!cache.is_empty());
}
