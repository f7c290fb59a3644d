//! Pending login flows: one record per flow, keyed by its `state` (or our
//! nonce), in the flow store the JS layer reads for the core with each
//! event (`sessionStorage`, or the page's memory in popup mode; never
//! `localStorage`: a record holds the PKCE verifier). The core sees the
//! store as a [`Flows`] snapshot and answers the writes it makes; the JS
//! layer performs them and, where the core asks, reads them back.
//!
//! Record format (strict JSON, unknown members rejected):
//!
//! ```json
//! {"v":1,"profile":"oauth2","created_at":1700000000,
//!  "code_verifier":"…","redirect_uri":"https://…","issuer":"https://…","nonce":"…"}
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
use super::secret::State;
use super::write::Obj;
use crate::json::{self, Value};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Prefix of every flow record key: `extension-sso:flow:<state or nonce>`.
pub const FLOW_KEY_PREFIX: &str = "extension-sso:flow:";

/// Most pending flows kept; starting one more drops the oldest.
pub const MAX_PENDING_FLOWS: usize = 16;

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
    pub code_verifier: Option<String>,
    /// The `redirect_uri` sent, repeated in the token request (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The issuer expected in the callback's `iss` (RFC 9207).
    pub issuer: Option<String>,
    /// The OpenID Connect `nonce` sent (OIDC Core §3.1.2.1).
    pub nonce: Option<String>,
    /// The token endpoint a public client discovered (the callback page
    /// may not have discovered it yet).
    pub token_endpoint: Option<String>,
    /// The server said it puts `iss` in every authorization response
    /// (RFC 9207 §3): the callback must carry it.
    pub require_iss: bool,
}

/// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
pub(crate) fn is_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
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
            nonce: None,
            token_endpoint: None,
            require_iss: false,
        }
    }

    /// True once `ttl_sec` seconds have passed since creation.
    pub fn is_expired(&self, now: u64, ttl_sec: u64) -> bool {
        now.saturating_sub(self.created_at) >= ttl_sec
    }

    /// Serialises the record.
    pub fn to_json(&self) -> String {
        let mut out = Obj::new()
            .num("v", 1)
            .str("profile", self.profile.as_str())
            .num("created_at", self.created_at);
        if let Some(used_at) = self.used_at {
            out = out.num("used_at", used_at);
        }
        for (name, value) in [
            ("code_verifier", &self.code_verifier),
            ("redirect_uri", &self.redirect_uri),
            ("issuer", &self.issuer),
            ("nonce", &self.nonce),
            ("token_endpoint", &self.token_endpoint),
        ] {
            if let Some(v) = value {
                out = out.str(name, v);
            }
        }
        if self.require_iss {
            out = out.bool("require_iss", true);
        }
        out.done()
    }

    /// Parses a stored record strictly; `None` for anything unexpected.
    pub fn parse(text: &str) -> Option<Self> {
        let Ok(Value::Object(obj)) = json::parse(text) else {
            return None;
        };
        let mut record = Self::new(ProfileKind::OAuth2, 0);
        let (mut version, mut profile, mut created) = (false, false, false);
        for (name, value) in obj.iter() {
            let time = || {
                let n = value.as_f64()?;
                (n >= 0.0 && json::safe_integer(n).is_some()).then_some(n as u64)
            };
            let text = || value.as_str().map(str::to_owned);
            match name {
                "v" => version = value.as_f64() == Some(1.0),
                "profile" => {
                    record.profile = ProfileKind::parse(value.as_str()?)?;
                    profile = true;
                }
                "created_at" => {
                    record.created_at = time()?;
                    created = true;
                }
                "used_at" => record.used_at = Some(time()?),
                "code_verifier" => {
                    record.code_verifier = Some(text().filter(|v| is_verifier(v))?);
                }
                "redirect_uri" => record.redirect_uri = Some(text()?),
                "issuer" => record.issuer = Some(text()?),
                "nonce" => record.nonce = Some(text()?),
                "token_endpoint" => record.token_endpoint = Some(text()?),
                "require_iss" => record.require_iss = *value == Value::Bool(true),
                _ => return None,
            }
        }
        (version && profile && created).then_some(record)
    }

    fn tombstone(&self, used_at: u64) -> Self {
        Self {
            used_at: Some(used_at),
            ..Self::new(self.profile, self.created_at)
        }
    }
}

/// The storage key of the flow bound to `state`.
pub fn flow_key(state: &State) -> String {
    msg!(FLOW_KEY_PREFIX, state.expose_secret())
}

/// One change to a store: `value` stored under `key`, or `key` removed.
pub type Write = (String, Option<String>);

/// A flow store as the JS layer read it (every record under
/// [`FLOW_KEY_PREFIX`]), and the writes the core made to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flows {
    entries: Vec<(String, String)>,
    writes: Vec<Write>,
}

impl Flows {
    /// A snapshot of `entries` (key, value).
    pub fn new(entries: Vec<(String, String)>) -> Self {
        Self {
            entries,
            writes: Vec::new(),
        }
    }

    /// The snapshot the JS layer sent (`{key: value}`); `None` for `null`
    /// (the store is not usable).
    pub fn from_value(value: Option<&Value>) -> Option<Self> {
        let entries = value?
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
            .collect();
        Some(Self::new(entries))
    }

    /// The record text under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Stores `value` under `key`.
    pub fn set(&mut self, key: &str, value: String) {
        self.remove(key);
        self.record(key, Some(value.clone()));
        self.entries.push((key.to_owned(), value));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
        self.record(key, None);
    }

    fn record(&mut self, key: &str, value: Option<String>) {
        match self.writes.iter_mut().find(|(k, _)| k == key) {
            Some(write) => write.1 = value,
            None => self.writes.push((key.to_owned(), value)),
        }
    }

    /// Every key of the snapshot (with the writes applied).
    pub fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The writes made so far (the last one per key), and forgets them.
    pub fn take_writes(&mut self) -> Vec<Write> {
        core::mem::take(&mut self.writes)
    }
}

/// Stores a new record (refused when the key exists: 256 random bits do
/// not collide, so the random source is broken).
pub fn store(flows: &mut Flows, state: &State, record: &FlowRecord) -> Result<()> {
    let key = flow_key(state);
    if flows.get(&key).is_some() {
        return Err(Error::new(
            ErrorCode::Unsupported,
            "a new login flow got the state of an existing one: the random source is not working",
        ));
    }
    flows.set(&key, record.to_json());
    Ok(())
}

/// Looks up the flow bound to `state` and consumes it (one-time use): the
/// record becomes a tombstone.
///
/// Errors: `state_unknown` (no record, or an unreadable one, which is
/// removed), `state_reused` (a tombstone), `state_expired` (age ≥ `ttl_sec`;
/// removed).
pub fn take(flows: &mut Flows, now: u64, ttl_sec: u64, state: &State) -> Result<FlowRecord> {
    let key = flow_key(state);
    let Some(text) = flows.get(&key) else {
        return Err(Error::new(
            ErrorCode::StateUnknown,
            "the callback's state matches no login flow started in this browser tab: \
             start the login again (a forged or foreign callback is rejected)",
        ));
    };
    let Some(record) = FlowRecord::parse(text) else {
        flows.remove(&key);
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
        flows.remove(&key);
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
    flows.set(&key, record.tombstone(now).to_json());
    Ok(record)
}

/// Removes records whose age reached `ttl_sec` and unreadable ones, then the
/// oldest pending flows beyond [`MAX_PENDING_FLOWS`] - 1 (room for a new one).
pub fn sweep(flows: &mut Flows, now: u64, ttl_sec: u64) {
    let mut pending: Vec<(u64, String)> = Vec::new();
    for key in flows.keys() {
        match flows.get(&key).and_then(FlowRecord::parse) {
            Some(r) if !r.is_expired(now, ttl_sec) => {
                if r.used_at.is_none() {
                    pending.push((r.created_at, key));
                }
            }
            _ => flows.remove(&key),
        }
    }
    while pending.len() >= MAX_PENDING_FLOWS {
        // Oldest first. A handful of records: picking the minimum each time
        // keeps a sort routine out of the wasm.
        let oldest = pending
            .iter()
            .enumerate()
            .min_by_key(|(_, (created, _))| *created)
            .map(|(i, _)| i);
        if let Some(i) = oldest {
            let (_, key) = pending.swap_remove(i);
            flows.remove(&key);
        }
    }
}

/// Removes every flow record (logout).
pub fn remove_all(flows: &mut Flows) {
    for key in flows.keys() {
        flows.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(s: &str) -> State {
        State::new(s)
    }

    fn record(created_at: u64) -> FlowRecord {
        let mut r = FlowRecord::new(ProfileKind::OAuth2, created_at);
        r.code_verifier = Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        r.redirect_uri = Some("https://ext.example/cb".into());
        r.issuer = Some("https://as.example".into());
        r.nonce = Some("n0nce".into());
        r.token_endpoint = Some("https://as.example/token".into());
        r.require_iss = true;
        r
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
    fn snapshots_record_the_last_write_per_key() {
        let mut f = Flows::new(vec![("a".into(), "1".into())]);
        f.set("b", "2".into());
        f.remove("a");
        f.set("b", "3".into());
        assert_eq!(f.get("b"), Some("3"));
        assert_eq!(f.get("a"), None);
        assert_eq!(f.keys(), vec!["b".to_owned()]);
        assert_eq!(
            f.take_writes(),
            vec![
                ("b".to_owned(), Some("3".to_owned())),
                ("a".to_owned(), None)
            ]
        );
        assert!(f.take_writes().is_empty());
    }

    #[test]
    fn take_is_one_time() {
        let mut f = Flows::default();
        store(&mut f, &state("a"), &record(1000)).unwrap();
        assert_eq!(
            store(&mut f, &state("a"), &record(1000))
                .unwrap_err()
                .code(),
            ErrorCode::Unsupported
        );
        let got = take(&mut f, 1001, 600, &state("a")).unwrap();
        assert!(got.code_verifier.is_some());
        let again = take(&mut f, 1002, 600, &state("a")).unwrap_err();
        assert_eq!(again.code(), ErrorCode::StateReused);
        // The tombstone holds no secret.
        let tomb = f.get(&flow_key(&state("a"))).unwrap();
        assert!(
            !tomb.contains("code_verifier") && !tomb.contains("n0nce") && tomb.contains("used_at")
        );
    }

    #[test]
    fn unknown_expired_boundary_and_corrupt() {
        let mut f = Flows::default();
        assert_eq!(
            take(&mut f, 0, 600, &state("x")).unwrap_err().code(),
            ErrorCode::StateUnknown
        );

        store(&mut f, &state("live"), &record(1000)).unwrap();
        assert!(take(&mut f, 1599, 600, &state("live")).is_ok());

        store(&mut f, &state("late"), &record(1000)).unwrap();
        let err = take(&mut f, 1600, 600, &state("late")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateExpired);
        assert!(err.message().contains("600 s after it started"));
        assert_eq!(f.get(&flow_key(&state("late"))), None);

        f.set(&flow_key(&state("bad")), "{not json".into());
        assert_eq!(
            take(&mut f, 1000, 600, &state("bad")).unwrap_err().code(),
            ErrorCode::StateUnknown
        );
        assert_eq!(f.get(&flow_key(&state("bad"))), None);
    }

    #[test]
    fn sweep_removes_expired_and_caps_pending() {
        let mut f = Flows::default();
        store(&mut f, &state("old"), &record(0)).unwrap();
        f.set(&flow_key(&state("corrupt")), "x".into());
        for i in 0..MAX_PENDING_FLOWS {
            store(
                &mut f,
                &state(&format!("p{i:02}")),
                &record(1000 + i as u64),
            )
            .unwrap();
        }
        sweep(&mut f, 1100, 600);
        let keys = f.keys();
        assert!(!keys.contains(&flow_key(&state("old"))));
        assert!(!keys.contains(&flow_key(&state("corrupt"))));
        assert!(
            !keys.contains(&flow_key(&state("p00"))),
            "oldest pending dropped"
        );
        assert_eq!(keys.len(), MAX_PENDING_FLOWS - 1);
        remove_all(&mut f);
        assert!(f.keys().is_empty());
    }
}
