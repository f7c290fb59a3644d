//! Pending-flow records: one per flow, keyed by its `state` (or nonce), so
//! parallel flows in several tabs never overwrite each other (RFC 6749
//! §10.12, RFC 9700 §2.1, §4.7).
//!
//! A record lives in the [`Storage`] the facade passes: `sessionStorage`, or
//! memory in popup mode. It must never be given `localStorage`: the record
//! holds the PKCE verifier. Record format (strict JSON, unknown members
//! rejected):
//!
//! ```json
//! {"v":1,"profile":"oauth2","created_at":1700000000,
//!  "code_verifier":"…","redirect_uri":"https://…","issuer":"https://…"}
//! ```
//!
//! Lifecycle: created when the authorization URL is built; on its callback it
//! is replaced by a tombstone `{"v":1,"profile":…,"created_at":…,"used_at":…}`
//! (secrets dropped), so a replay is told apart (`state_reused`) from a
//! forged state (`state_unknown`) and a late one (`state_expired`, age ≥
//! `stateTtlSec`). Starting a flow sweeps records whose age reached the TTL
//! (tombstones included) and unreadable ones, and keeps at most
//! [`MAX_PENDING_FLOWS`] pending flows.

use super::config::ProfileKind;
use super::secret::{PkceVerifier, State};
use crate::json::{self, Object, Value};
use crate::platform::Storage;
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Prefix of every flow record key: `extension-sso:flow:<state or nonce>`.
pub const FLOW_KEY_PREFIX: &str = "extension-sso:flow:";

/// Most pending flows kept; starting one more drops the oldest.
pub const MAX_PENDING_FLOWS: usize = 16;

/// Largest number accepted for a time in a record (2^53, exact in JSON).
const MAX_TIME: f64 = 9_007_199_254_740_992.0;

/// What the core remembers about one pending flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    /// The profile that started it.
    pub profile: ProfileKind,
    /// When it was started (seconds since the epoch).
    pub created_at: u64,
    /// When its callback consumed it; `Some` only in a tombstone.
    pub used_at: Option<u64>,
    /// The PKCE verifier (oauth2 with PKCE).
    pub code_verifier: Option<PkceVerifier>,
    /// The `redirect_uri` sent, repeated in the token request (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The issuer expected in the callback's `iss` (RFC 9207).
    pub issuer: Option<String>,
}

impl FlowRecord {
    /// A fresh record.
    pub fn new(profile: ProfileKind, created_at: u64) -> Self {
        Self {
            profile,
            created_at,
            used_at: None,
            code_verifier: None,
            redirect_uri: None,
            issuer: None,
        }
    }

    /// True once `ttl_sec` seconds have passed since creation.
    pub fn is_expired(&self, now: u64, ttl_sec: u64) -> bool {
        now.saturating_sub(self.created_at) >= ttl_sec
    }

    /// Serialises the record.
    pub fn to_json(&self) -> String {
        let mut obj = Object::default();
        obj.insert("v", Value::Number(1.0));
        obj.insert("profile", Value::String(self.profile.as_str().to_owned()));
        obj.insert("created_at", Value::Number(self.created_at as f64));
        if let Some(used_at) = self.used_at {
            obj.insert("used_at", Value::Number(used_at as f64));
        }
        if let Some(v) = &self.code_verifier {
            obj.insert("code_verifier", Value::String(v.expose_secret().to_owned()));
        }
        if let Some(r) = &self.redirect_uri {
            obj.insert("redirect_uri", Value::String(r.clone()));
        }
        if let Some(i) = &self.issuer {
            obj.insert("issuer", Value::String(i.clone()));
        }
        Value::Object(obj).to_json()
    }

    /// Parses a stored record strictly; `None` for anything unexpected.
    pub fn parse(text: &str) -> Option<Self> {
        let value = json::parse(text).ok()?;
        let obj = value.as_object()?;
        let mut record = FlowRecord::new(ProfileKind::OAuth2, 0);
        let (mut has_version, mut has_profile, mut has_created) = (false, false, false);
        for (name, value) in obj.iter() {
            match name {
                "v" => has_version = value.as_f64() == Some(1.0),
                "profile" => {
                    record.profile = ProfileKind::parse(value.as_str()?)?;
                    has_profile = true;
                }
                "created_at" => {
                    record.created_at = time_value(value)?;
                    has_created = true;
                }
                "used_at" => record.used_at = Some(time_value(value)?),
                "code_verifier" => {
                    let v = value.as_str()?;
                    let valid = (43..=128).contains(&v.len())
                        && v.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
                        });
                    if !valid {
                        return None;
                    }
                    record.code_verifier = Some(PkceVerifier::new(v));
                }
                "redirect_uri" => record.redirect_uri = Some(value.as_str()?.to_owned()),
                "issuer" => record.issuer = Some(value.as_str()?.to_owned()),
                _ => return None,
            }
        }
        (has_version && has_profile && has_created).then_some(record)
    }

    fn tombstone(&self, used_at: u64) -> Self {
        Self {
            profile: self.profile,
            created_at: self.created_at,
            used_at: Some(used_at),
            code_verifier: None,
            redirect_uri: None,
            issuer: None,
        }
    }
}

fn time_value(value: &Value) -> Option<u64> {
    let n = value.as_f64()?;
    ((0.0..=MAX_TIME).contains(&n) && crate::json::safe_integer(n).is_some()).then_some(n as u64)
}

/// The storage key of the flow bound to `state`.
pub fn flow_key(state: &State) -> String {
    msg!(FLOW_KEY_PREFIX, state.expose_secret())
}

fn storage_unavailable() -> Error {
    Error::new(
        ErrorCode::StateStorageUnavailable,
        "session storage is not usable here (third-party storage blocked or a private window): \
         the login flow cannot be kept; use navigation 'popup', which keeps it in memory",
    )
}

/// Stores a new record and reads it back, so a storage that silently drops
/// writes fails here, before any navigation.
pub fn store(storage: &dyn Storage, state: &State, record: &FlowRecord) -> Result<()> {
    let key = flow_key(state);
    let text = record.to_json();
    if storage
        .get(&key)
        .map_err(|_| storage_unavailable())?
        .is_some()
    {
        // 256 random bits collided: the random source is broken.
        return Err(Error::new(
            ErrorCode::Unsupported,
            "a new login flow got the state of an existing one: the random source is not working",
        ));
    }
    storage
        .set(&key, &text)
        .map_err(|_| storage_unavailable())?;
    match storage.get(&key) {
        Ok(Some(read)) if read == text => Ok(()),
        _ => {
            let _ = storage.remove(&key);
            Err(storage_unavailable())
        }
    }
}

/// Looks up the flow bound to `state` and consumes it (one-time use).
///
/// Errors: `state_unknown` (no record, or an unreadable one, which is
/// removed), `state_reused` (a tombstone), `state_expired` (age ≥ `ttl_sec`;
/// removed), `state_storage_unavailable` (the record could not be consumed,
/// so it is not used).
pub fn take(storage: &dyn Storage, now: u64, ttl_sec: u64, state: &State) -> Result<FlowRecord> {
    let key = flow_key(state);
    let Some(text) = storage.get(&key).map_err(|_| storage_unavailable())? else {
        return Err(Error::new(
            ErrorCode::StateUnknown,
            "the callback's state matches no login flow started in this browser tab: \
             start the login again from the extension (a forged or foreign callback is rejected)",
        ));
    };
    let Some(record) = FlowRecord::parse(&text) else {
        let _ = storage.remove(&key);
        return Err(Error::new(
            ErrorCode::StateUnknown,
            "the stored login flow for this callback is unreadable and was removed: start the login again",
        ));
    };
    if record.used_at.is_some() {
        return Err(Error::new(
            ErrorCode::StateReused,
            "this callback was already used (a reload or a replay): start the login again",
        ));
    }
    if record.is_expired(now, ttl_sec) {
        let _ = storage.remove(&key);
        let age = now.saturating_sub(record.created_at);
        return Err(Error::new(
            ErrorCode::StateExpired,
            msg!(
                "the login flow expired: the callback came ",
                age,
                " s after it started (stateTtlSec is ",
                ttl_sec,
                "); start the login again"
            ),
        ));
    }
    let tombstone = record.tombstone(now).to_json();
    let consumed = match storage.set(&key, &tombstone) {
        Ok(()) => matches!(storage.get(&key), Ok(Some(t)) if t == tombstone),
        Err(_) => false,
    };
    if !consumed {
        // Could not mark it used: remove it instead, and if that fails too,
        // refuse, since the one-time guarantee would not hold.
        storage.remove(&key).map_err(|_| storage_unavailable())?;
        if !matches!(storage.get(&key), Ok(None)) {
            return Err(storage_unavailable());
        }
    }
    Ok(record)
}

/// Removes records whose age reached `ttl_sec` and unreadable ones, then the
/// oldest pending flows beyond [`MAX_PENDING_FLOWS`] - 1 (room for a new one).
pub fn sweep(storage: &dyn Storage, now: u64, ttl_sec: u64) -> Result<()> {
    let keys = storage.keys().map_err(|_| storage_unavailable())?;
    let mut pending: Vec<(u64, String)> = Vec::new();
    for key in keys.into_iter().filter(|k| k.starts_with(FLOW_KEY_PREFIX)) {
        let record = storage
            .get(&key)
            .map_err(|_| storage_unavailable())?
            .and_then(|text| FlowRecord::parse(&text));
        match record {
            Some(r) if !r.is_expired(now, ttl_sec) => {
                if r.used_at.is_none() {
                    pending.push((r.created_at, key));
                }
            }
            _ => storage.remove(&key).map_err(|_| storage_unavailable())?,
        }
    }
    if pending.len() >= MAX_PENDING_FLOWS {
        // Oldest first. A handful of records: picking the minimum each time
        // keeps a sort routine (~3 kB of wasm) out of the client.
        let excess = pending.len() + 1 - MAX_PENDING_FLOWS;
        for _ in 0..excess {
            let oldest = pending
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.cmp(b.1))
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                let (_, key) = pending.swap_remove(i);
                storage.remove(&key).map_err(|_| storage_unavailable())?;
            }
        }
    }
    Ok(())
}

/// Removes every flow record (logout).
pub fn remove_all(storage: &dyn Storage) -> Result<()> {
    let keys = storage.keys().map_err(|_| storage_unavailable())?;
    for key in keys.into_iter().filter(|k| k.starts_with(FLOW_KEY_PREFIX)) {
        storage.remove(&key).map_err(|_| storage_unavailable())?;
    }
    Ok(())
}

/// One change to a store: `value` stored under `key`, or `key` removed.
pub type Write = (String, Option<String>);

/// A flow store as the JS layer read it (every record under
/// [`FLOW_KEY_PREFIX`], from `sessionStorage` or the page's memory), seen
/// through the [`Storage`] trait: reads answer from the snapshot and the
/// writes made so far; writes are recorded, for the JS layer to perform
/// (and, where the core asks, to verify by reading them back).
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: core::cell::RefCell<Vec<(String, String)>>,
    writes: core::cell::RefCell<Vec<Write>>,
}

impl Snapshot {
    /// A snapshot of `entries` (key, value).
    pub fn new(entries: Vec<(String, String)>) -> Self {
        Self {
            entries: core::cell::RefCell::new(entries),
            writes: core::cell::RefCell::default(),
        }
    }

    /// The writes made, the last one per key, in the order first made.
    pub fn take_writes(&self) -> Vec<Write> {
        core::mem::take(&mut *self.writes.borrow_mut())
    }

    fn record(&self, key: &str, value: Option<&str>) {
        let mut writes = self.writes.borrow_mut();
        let value = value.map(str::to_owned);
        match writes.iter_mut().find(|(k, _)| k == key) {
            Some(write) => write.1 = value,
            None => writes.push((key.to_owned(), value)),
        }
    }
}

impl Storage for Snapshot {
    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()))
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.record(key, Some(value));
        let mut entries = self.entries.borrow_mut();
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => entries.push((key.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.record(key, None);
        self.entries.borrow_mut().retain(|(k, _)| k != key);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .map(|(k, _)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::MemoryStorage;

    fn state(s: &str) -> State {
        State::new(s)
    }

    fn record(created_at: u64) -> FlowRecord {
        let mut r = FlowRecord::new(ProfileKind::OAuth2, created_at);
        r.code_verifier = Some(PkceVerifier::new(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        r.redirect_uri = Some("https://ext.example/cb".into());
        r.issuer = Some("https://as.example".into());
        r
    }

    #[test]
    fn snapshots_record_the_last_write_per_key() {
        let s = Snapshot::new(vec![("a".into(), "1".into())]);
        s.set("b", "2").unwrap();
        s.remove("a").unwrap();
        s.set("b", "3").unwrap();
        assert_eq!(s.get("b").unwrap().as_deref(), Some("3"));
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.keys().unwrap(), vec!["b".to_owned()]);
        assert_eq!(
            s.take_writes(),
            vec![
                ("b".to_owned(), Some("3".to_owned())),
                ("a".to_owned(), None)
            ]
        );
        assert!(s.take_writes().is_empty());
    }

    #[test]
    fn round_trip() {
        let r = record(1_700_000_000);
        assert_eq!(FlowRecord::parse(&r.to_json()), Some(r));
    }

    #[test]
    fn parse_is_strict() {
        for bad in [
            "",
            "[]",
            r#"{"v":1,"profile":"oauth2"}"#,
            r#"{"v":2,"profile":"oauth2","created_at":1}"#,
            r#"{"v":1,"profile":"saml","created_at":1}"#,
            r#"{"v":1,"profile":"oauth2","created_at":-1}"#,
            r#"{"v":1,"profile":"oauth2","created_at":1.5}"#,
            r#"{"v":1,"profile":"oauth2","created_at":1,"extra":true}"#,
            r#"{"v":1,"profile":"oauth2","created_at":1,"code_verifier":"short"}"#,
            r#"{"v":1,"profile":"oauth2","created_at":1,"created_at":2}"#,
        ] {
            assert_eq!(FlowRecord::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn take_is_one_time() {
        let s = MemoryStorage::default();
        store(&s, &state("a"), &record(1000)).unwrap();
        let got = take(&s, 1001, 600, &state("a")).unwrap();
        assert!(got.code_verifier.is_some());
        let again = take(&s, 1002, 600, &state("a")).unwrap_err();
        assert_eq!(again.code(), ErrorCode::StateReused);
        // The tombstone holds no secret.
        let tomb = s.get(&flow_key(&state("a"))).unwrap().unwrap();
        assert!(!tomb.contains("code_verifier") && tomb.contains("used_at"));
    }

    #[test]
    fn unknown_expired_boundary_and_corrupt() {
        let s = MemoryStorage::default();
        assert_eq!(
            take(&s, 0, 600, &state("x")).unwrap_err().code(),
            ErrorCode::StateUnknown
        );

        store(&s, &state("live"), &record(1000)).unwrap();
        assert!(take(&s, 1599, 600, &state("live")).is_ok());

        store(&s, &state("late"), &record(1000)).unwrap();
        let err = take(&s, 1600, 600, &state("late")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateExpired);
        assert!(err.message().contains("600 s after it started"));
        assert_eq!(s.get(&flow_key(&state("late"))).unwrap(), None);

        s.set(&flow_key(&state("bad")), "{not json").unwrap();
        assert_eq!(
            take(&s, 1000, 600, &state("bad")).unwrap_err().code(),
            ErrorCode::StateUnknown
        );
        assert_eq!(s.get(&flow_key(&state("bad"))).unwrap(), None);
    }

    #[test]
    fn sweep_removes_expired_and_caps_pending() {
        let s = MemoryStorage::default();
        s.set("unrelated", "keep").unwrap();
        store(&s, &state("old"), &record(0)).unwrap();
        s.set(&flow_key(&state("corrupt")), "x").unwrap();
        for i in 0..MAX_PENDING_FLOWS {
            store(&s, &state(&format!("p{i:02}")), &record(1000 + i as u64)).unwrap();
        }
        sweep(&s, 1100, 600).unwrap();
        let keys = s.keys().unwrap();
        assert!(keys.contains(&"unrelated".to_owned()));
        assert!(!keys.contains(&flow_key(&state("old"))));
        assert!(!keys.contains(&flow_key(&state("corrupt"))));
        assert!(
            !keys.contains(&flow_key(&state("p00"))),
            "oldest pending dropped"
        );
        assert_eq!(
            keys.iter()
                .filter(|k| k.starts_with(FLOW_KEY_PREFIX))
                .count(),
            MAX_PENDING_FLOWS - 1
        );
        remove_all(&s).unwrap();
        assert_eq!(s.keys().unwrap(), vec!["unrelated".to_owned()]);
    }
}
