//! The platform seams: clock, randomness and storage.
//!
//! The protocol core never reads the time, draws random bytes or touches
//! storage by itself; it is handed these, so tests are deterministic. The
//! default implementations here are for native Rust; the wasm facade supplies
//! `Date.now()`, `crypto.getRandomValues` (through getrandom's JS backend) and
//! `sessionStorage`.

use crate::prelude::*;
use crate::Result;

/// Wall-clock time in whole seconds since the Unix epoch.
pub trait Clock {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_sec(&self) -> u64;
}

/// A source of cryptographically secure random bytes.
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<()>;
}

/// A string key/value store with `sessionStorage` semantics.
pub trait Storage {
    /// The value stored under `key`.
    fn get(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &str) -> Result<()>;
    /// Removes `key` (no error if absent).
    fn remove(&self, key: &str) -> Result<()>;
    /// All keys currently stored.
    fn keys(&self) -> Result<Vec<String>>;
}

/// The system clock (`SystemTime`; `Date.now()` on wasm32). Natively it
/// needs the `std` feature.
#[cfg(any(feature = "std", target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(any(feature = "std", target_arch = "wasm32"))]
impl Clock for SystemClock {
    #[cfg(not(target_arch = "wasm32"))]
    fn now_sec(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    #[cfg(target_arch = "wasm32")]
    fn now_sec(&self) -> u64 {
        wasm_now_ms() / 1000
    }
}

#[cfg(target_arch = "wasm32")]
fn wasm_now_ms() -> u64 {
    // The client and verifier entries have no wasm-bindgen (their cores
    // take the clock from each event or call).
    #[cfg(feature = "server")]
    {
        // Bound here rather than through js-sys, which the verifier entry
        // does not link (src/wasm/js.rs says why).
        #[wasm_bindgen::prelude::wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_namespace = Date, js_name = now)]
            fn date_now() -> f64;
        }
        let ms = date_now();
        if ms.is_finite() && ms > 0.0 {
            return ms as u64;
        }
    }
    0
}

/// The operating system's CSPRNG (`crypto.getRandomValues` on wasm32).
///
/// Not in the client's or the verifier's wasm build: the client's core
/// takes random bytes with each event, the verifier draws none, and
/// getrandom's JS backend would link wasm-bindgen into an entry built
/// without it (src/wasm/abi.rs).
#[cfg(not(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier"),
    not(feature = "server")
)))]
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

#[cfg(not(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier"),
    not(feature = "server")
)))]
impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| {
            crate::Error::new(
                crate::ErrorCode::Unsupported,
                format!("no secure random source is available: {e}"),
            )
        })
    }
}

/// A fixed clock, for tests and for `now:` options.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_sec(&self) -> u64 {
        self.0
    }
}

/// An in-memory [`Storage`], for tests and for flows held in memory
/// (popup mode when `sessionStorage` is blocked).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    entries: core::cell::RefCell<Vec<(String, String)>>,
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()))
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        let mut entries = self.entries.borrow_mut();
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => entries.push((key.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
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

    #[test]
    fn memory_storage_round_trip() {
        let s = MemoryStorage::default();
        s.set("a", "1").unwrap();
        s.set("a", "2").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("2"));
        assert_eq!(s.keys().unwrap(), vec!["a".to_owned()]);
        s.remove("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
    }

    #[test]
    fn os_random_fills() {
        let mut a = [0u8; 32];
        OsRandom.fill(&mut a).unwrap();
        assert_ne!(a, [0u8; 32]);
    }
}
