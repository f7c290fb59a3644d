//! The verified-token cache (`verifiedTokenCacheSize`): tokens whose
//! signature and claims passed, remembered so that verifying the same token
//! again skips decoding and the signature check.
//!
//! Decided here: when a remembered token may answer ([`TokenMemory::recall`]:
//! only while its key set is the one it was verified with and is still
//! fresh, and its `exp`, `nbf` and `iat` still hold at `now` without the
//! clock tolerance, so a hit is never more lenient than a full check, which
//! decides otherwise), and which entry goes when the cache is full (the
//! oldest). The caller ([`super::engine::Engine`]) says which key set
//! generation is fresh.

use crate::prelude::*;

/// What a verification established about a token, kept to answer the same
/// token again.
#[derive(Clone, Debug)]
pub(crate) struct Remembered {
    /// The token, as verified.
    pub token: Box<[u8]>,
    /// The header JSON text then the payload JSON text.
    pub texts: Box<[u8]>,
    /// Where the payload starts in `texts`.
    pub payload_at: usize,
    /// The key source it was verified against.
    pub source: usize,
    /// The generation of that source's key set.
    pub generation: u64,
    /// `exp`, `nbf`, `iat` (RFC 7519 §4.1.4-4.1.6).
    pub exp: f64,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
}

impl Remembered {
    /// The header JSON text.
    pub fn header(&self) -> &[u8] {
        self.texts.get(..self.payload_at).unwrap_or_default()
    }

    /// The payload JSON text.
    pub fn payload(&self) -> &[u8] {
        self.texts.get(self.payload_at..).unwrap_or_default()
    }

    /// The time claims hold at `now`, with no tolerance.
    fn times_hold(&self, now: u64) -> bool {
        let now = now as f64;
        now < self.exp
            && !self.nbf.is_some_and(|nbf| nbf > now)
            && !self.iat.is_some_and(|iat| iat > now)
    }
}

/// At most `capacity` remembered tokens, found by a hash of their last
/// bytes (the signature), the oldest replaced first.
#[derive(Debug)]
pub(crate) struct TokenMemory {
    capacity: usize,
    /// A ring in insertion order; `None` where an entry was dropped.
    entries: Vec<Option<Remembered>>,
    /// The ring position written next (the oldest entry, once full).
    next: usize,
    /// Positions in `entries`, by hash.
    buckets: Vec<Vec<u32>>,
}

/// How many trailing token bytes are hashed: the signature's, which differ
/// between any two tokens.
const HASHED: usize = 64;

fn hash(token: &[u8]) -> u32 {
    let tail = token
        .get(token.len().saturating_sub(HASHED)..)
        .unwrap_or_default();
    // FNV-1a.
    let mut h: u32 = 0x811c_9dc5;
    for b in tail {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h
}

impl TokenMemory {
    /// Room for `capacity` tokens (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let mut buckets = Vec::new();
        buckets.resize_with(capacity.next_power_of_two(), Vec::new);
        Self {
            capacity,
            entries: Vec::new(),
            next: 0,
            buckets,
        }
    }

    fn bucket_of(&self, token: &[u8]) -> usize {
        hash(token) as usize & (self.buckets.len() - 1)
    }

    fn position(&self, token: &[u8]) -> Option<usize> {
        let bucket = self.buckets.get(self.bucket_of(token))?;
        bucket.iter().map(|&at| at as usize).find(|&at| {
            self.entries
                .get(at)
                .and_then(Option::as_ref)
                .is_some_and(|e| &*e.token == token)
        })
    }

    /// Where the entry for `token` is when it may answer at `now` (see
    /// [`Self::get`]): its key set is unchanged and fresh
    /// (`fresh_generation(source)` names the generation it was verified
    /// with) and its time claims still hold. An entry that may not is
    /// dropped.
    pub fn recall(
        &mut self,
        token: &[u8],
        now: u64,
        fresh_generation: impl Fn(usize) -> Option<u64>,
    ) -> Option<usize> {
        let at = self.position(token)?;
        let answers =
            self.entries.get(at)?.as_ref().is_some_and(|e| {
                fresh_generation(e.source) == Some(e.generation) && e.times_hold(now)
            });
        if !answers {
            self.drop_at(at);
            return None;
        }
        Some(at)
    }

    /// The entry at `at` (from [`Self::recall`]).
    pub fn get(&self, at: usize) -> Option<&Remembered> {
        self.entries.get(at)?.as_ref()
    }

    fn drop_at(&mut self, at: usize) {
        let Some(old) = self.entries.get_mut(at).and_then(Option::take) else {
            return;
        };
        let bucket = self.bucket_of(&old.token);
        if let Some(list) = self.buckets.get_mut(bucket) {
            list.retain(|&p| p as usize != at);
        }
    }

    /// Remembers a verified token, replacing the oldest entry when full.
    pub fn remember(&mut self, entry: Remembered) {
        if let Some(at) = self.position(&entry.token) {
            self.drop_at(at);
        }
        let at = self.next;
        self.drop_at(at);
        let bucket = self.bucket_of(&entry.token);
        if at < self.entries.len() {
            if let Some(slot) = self.entries.get_mut(at) {
                *slot = Some(entry);
            }
        } else {
            self.entries.push(Some(entry));
        }
        if let Some(list) = self.buckets.get_mut(bucket) {
            list.push(at as u32);
        }
        self.next = (at + 1) % self.capacity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str, exp: f64) -> Remembered {
        Remembered {
            token: token.as_bytes().into(),
            texts: b"{}{\"sub\":\"x\"}".as_slice().into(),
            payload_at: 2,
            source: 0,
            generation: 7,
            exp,
            nbf: None,
            iat: Some(100.0),
        }
    }

    #[test]
    fn answers_while_the_keys_and_times_hold_then_forgets() {
        let mut m = TokenMemory::new(4);
        m.remember(entry("a.b.c", 200.0));
        let fresh = |_| Some(7);
        let at = m.recall(b"a.b.c", 150, fresh).unwrap();
        let hit = m.get(at).unwrap();
        assert_eq!(hit.payload(), b"{\"sub\":\"x\"}");
        assert_eq!(hit.header(), b"{}");
        assert!(m.recall(b"a.b.d", 150, fresh).is_none());
        // Before iat (a clock that went back): not answered, and dropped.
        assert!(m.recall(b"a.b.c", 99, fresh).is_none());
        assert!(m.recall(b"a.b.c", 150, fresh).is_none());
        m.remember(entry("a.b.c", 200.0));
        // At exp, or once the key set changed or is due for a refresh.
        assert!(m.recall(b"a.b.c", 200, fresh).is_none());
        m.remember(entry("a.b.c", 200.0));
        assert!(m.recall(b"a.b.c", 150, |_| Some(8)).is_none());
        m.remember(entry("a.b.c", 200.0));
        assert!(m.recall(b"a.b.c", 150, |_| None).is_none());
    }

    #[test]
    fn the_oldest_goes_first() {
        let mut m = TokenMemory::new(2);
        for t in ["t.1.a", "t.2.b", "t.3.c"] {
            m.remember(entry(t, 200.0));
        }
        let fresh = |_| Some(7);
        assert!(m.recall(b"t.1.a", 150, fresh).is_none());
        assert!(m.recall(b"t.2.b", 150, fresh).is_some());
        assert!(m.recall(b"t.3.c", 150, fresh).is_some());
        // Remembering one again keeps one entry for it.
        m.remember(entry("t.3.c", 300.0));
        let at = m.recall(b"t.3.c", 250, fresh).unwrap();
        assert_eq!(m.get(at).map(|e| e.exp), Some(300.0));
        // Many tokens through a small cache: never more than its capacity.
        let mut m = TokenMemory::new(3);
        for i in 0..100 {
            m.remember(entry(&format!("x.y.{i}"), 200.0));
        }
        let live = (0..100)
            .filter(|i| {
                m.recall(format!("x.y.{i}").as_bytes(), 150, fresh)
                    .is_some()
            })
            .count();
        assert_eq!(live, 3);
    }
}
