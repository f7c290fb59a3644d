//! The verifier entry's exports: the wasm face of [`Engine`], for the JS
//! `JwksVerifier` (`pkg-template/lib/verifier.js`), on the glue-free
//! boundary of [`super::abi`].
//!
//! It converts and holds, nothing else: the engine decides (options, key
//! sets, routing, the step, the verdict, what a response means); this
//! facade turns a step into a [`StepKind`] and a step record of named
//! numbers ([`StepField`]) the JS layer reads from wasm memory without a
//! call per field (byte ranges for the signing input, the signature and the
//! JSON texts: no copy crosses the boundary on the hot path). An error
//! crosses the same way: its code, `retryable` and HTTP status as record
//! fields and its message as the record's text; the JS layer makes the
//! `ExtensionSsoError` of them (`lib/common.js`).
//!
//! | export | does |
//! |---|---|
//! | `verifier_names() -> text` | the names of [`StepField`] and of the numbered answers and arguments ([`NAMES`]) |
//! | `verifier_new(ptr, len) -> handle` | a core for the settings (JSON text); refused ones leave the error in its record |
//! | `verifier_record(handle) -> address` | where its step record is |
//! | `verifier_check(handle, length, now, attempt) -> StepKind` | the step for the token in the token buffer |
//! | `verifier_key_jwk(handle, i) -> bool` | names candidate `i`'s public JWK in the record |
//! | `verifier_finish(handle, ticket, verified) -> bool` | the verdict (false: refused) |
//! | `verifier_release(handle, ticket)` | forgets a check |
//! | `verifier_fetched(handle, set, fetch, status, cc, cc_len, body, body_len, now) -> Report` | a response |
//! | `verifier_fetch_failed(handle, set, fetch, failure, ptr, len, now) -> bool` | no response (false: refused) |
//! | `verifier_fetch_aborted(handle, set, fetch)` | the caller aborted |
//! | `verifier_export_cache(handle, ptr, len) -> bool` | names the snapshot (text) in the record |
//! | `verifier_import_cache(handle, ptr, len, now, strict) -> bool` | loads a snapshot (`Count`; false: refused) |
//! | `verifier_not_a_token(handle)`, `verifier_too_long(handle, length)` | the error for a token the JS layer cannot pass |
//! | `verifier_free(handle)` | drops the core |
//!
//! plus [`super::abi`]'s `alloc_bytes`, `free_bytes`, `crate_version` and
//! `error_code_list`, and the module's `memory`.

// Handles are pointers the JS side keeps (see `super::abi`).
#![allow(unsafe_code)]

use crate::prelude::*;

use super::abi::{give, take};
use crate::jose::{Algorithm, MAX_TOKEN_LENGTH};
use crate::jwks::engine::{self, Document, Engine, FetchFailure, Step};
use crate::Error;

/// Declares numbered enums and [`NAMES`] from one list, so the JS layer's
/// names cannot disagree with the numbers.
macro_rules! named {
    ($($(#[$doc:meta])* enum $name:ident {
        $($(#[$vdoc:meta])* $variant:ident,)*
    })*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            // Some are only written by the JS layer (the `*Len` fields: their
            // `*Ptr` field + 1).
            #[allow(dead_code)]
            pub enum $name {
                $($(#[$vdoc])* $variant,)*
            }
        )*

        /// Every name the JS layer needs, one list per line: the enum's
        /// name, then its variants in order.
        const NAMES: &str = concat!($(stringify!($name), $(" ", stringify!($variant),)* "\n",)*);
    };
}

named! {
    /// What [`verifier_check`] says to do (see [`Step`]).
    enum StepKind {
        /// Verify the signature with the candidate keys, then `finish`.
        Verify,
        /// Answer with the remembered header and payload.
        Remembered,
        /// Fetch `TextPtr` (a `Document`) for key set `Set`, then report.
        Fetch,
        /// Wait for the fetch of key set `Set` under way, then check again.
        Wait,
        /// The token is refused: the record holds the error.
        Refused,
    }

    /// How far a verification got (see [`engine::Attempt`]).
    enum Attempt {
        /// The first look.
        First,
        /// After waiting (polling) a whole timeout for another request's fetch.
        Waited,
        /// After this caller's fetch, or the one it joined.
        Settled,
    }

    /// What a request should answer (see [`Document`]).
    enum DocumentKind {
        /// A JWK Set.
        JwkSet,
        /// Authorization server metadata.
        Metadata,
    }

    /// Why a request brought no response (see [`FetchFailure`]).
    enum Failure {
        /// No answer within `timeoutMs`.
        Timeout,
        /// The network failed.
        Network,
    }

    /// What [`verifier_fetched`] says.
    enum Report {
        /// The fetch is over: check the token again.
        Done,
        /// Another request follows (`TextPtr`, `Document`, as a `Fetch` step).
        Next,
        /// The fetch failed and its error is the answer: the record holds it.
        Refused,
    }

    /// The named fields of the step record (see [`verifier_record`]): what
    /// the last call says, as numbers the JS layer reads from wasm memory
    /// by these names, without a call per field.
    enum StepField {
        /// The ticket of the last check (`Verify`).
        Ticket,
        /// The key set of the last step.
        Set,
        /// How many candidate keys the last check has.
        Candidates,
        /// Where the signing input is (a range of the token buffer) ...
        InputPtr,
        /// ... and its length.
        InputLen,
        /// Where the decoded signature is ...
        SignaturePtr,
        /// ... and its length.
        SignatureLen,
        /// Where the protected header's JSON text is (`Verify`, `Remembered`) ...
        HeaderPtr,
        /// ... and its length.
        HeaderLen,
        /// Where the payload's JSON text is (`Verify`, `Remembered`) ...
        PayloadPtr,
        /// ... and its length.
        PayloadLen,
        /// What the request of a `Fetch` step (or a `Next` report) should
        /// answer: a [`DocumentKind`].
        Document,
        /// Which fetch of the set a `Fetch` step begins: given back with each
        /// report (`fetched`, `fetchFailed`, `fetchAborted`) of its requests.
        Fetch,
        /// Where the last check's `alg` (its name) is (`Verify`) ...
        AlgPtr,
        /// ... and its length.
        AlgLen,
        /// Where the text of the last call that answers one is: the URL of a
        /// `Fetch` step or a `Next` report, a key's JWK (`keyJwk`), a
        /// snapshot (`exportCache`), an error's message ...
        TextPtr,
        /// ... and its length.
        TextLen,
        /// The error of the last call that refused: its code's place in
        /// `error_code_list` ...
        Error,
        /// ... 1 when it is retryable ...
        Retryable,
        /// ... and its HTTP status (0: none).
        Status,
        /// How many key sets the last `importCache` loaded.
        Count,
        /// 1 once the settings are read; 0 when they were refused (the
        /// record holds why).
        Ready,
        /// Where the JS layer writes a token before a check:
        /// `MaxTokenLength` bytes (set once).
        Token,
        /// [`MAX_TOKEN_LENGTH`] (set once).
        MaxTokenLength,
        /// `timeoutMs` (set once).
        TimeoutMs,
        /// `maxBodyBytes` (set once).
        MaxBodyBytes,
        /// Which algorithm the last check is for (`Verify`): its position in
        /// [`Algorithm::ALL`], the same number for the same `alg` (its name is
        /// at `AlgPtr`).
        Alg,
        /// The generation of the last check's key set (`Verify`; its low 32
        /// bits): it changes whenever the set's keys do, and runtime keys
        /// imported for an older one are dropped.
        Generation,
        /// From here on, the key indices in the set of the last check's
        /// `Candidates` (`Verify`): the same index names the same key while
        /// the generation stays.
        Keys,
    }
}

/// How many [`StepField`]s there are, the candidate key indices included.
const FIELDS: usize = StepField::Keys as usize + crate::jose::MAX_CANDIDATES;

fn ptr_len(bytes: &[u8]) -> [u32; 2] {
    [bytes.as_ptr() as usize as u32, bytes.len() as u32]
}

/// What the last step says beyond the record.
#[derive(Clone, Copy, Debug, Default)]
struct Last {
    set: usize,
    generation: u64,
    alg: Option<Algorithm>,
    candidates: [u32; crate::jose::MAX_CANDIDATES],
    candidate_count: u32,
}

/// Verification state shared by every `verify` call of one `JwksVerifier`.
pub struct VerifierCore {
    /// `None` when the settings were refused (the record holds why).
    engine: Option<Engine>,
    /// Where the JS layer writes the token (its UTF-8, `MAX_TOKEN_LENGTH`
    /// bytes at most): the signing input of a check is a range of it.
    token: Vec<u8>,
    last: Last,
    /// The step record, by [`StepField`] (a fixed place in wasm memory).
    record: Box<[u32; FIELDS]>,
    /// The text `TextPtr` names (a URL, a JWK, a snapshot, a message).
    text: String,
}

fn now_sec(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// Writes `bytes`' place into the record: at field `ptr` and its length
/// in the next.
fn set_range(record: &mut [u32; FIELDS], ptr: StepField, bytes: &[u8]) {
    let [at, len] = ptr_len(bytes);
    if let Some([slot_at, slot_len]) = record.get_mut(ptr as usize..ptr as usize + 2) {
        *slot_at = at;
        *slot_len = len;
    }
}

fn set(record: &mut [u32; FIELDS], field: StepField, value: u32) {
    if let Some(slot) = record.get_mut(field as usize) {
        *slot = value;
    }
}

impl VerifierCore {
    /// A core for `settings_json` (see [`crate::jwks::config::read`]).
    fn new(settings_json: &str) -> Self {
        let mut core = Self {
            engine: None,
            token: vec![0; MAX_TOKEN_LENGTH],
            last: Last::default(),
            record: Box::new([0; FIELDS]),
            text: String::new(),
        };
        let token = core.token.as_ptr() as usize as u32;
        set(&mut core.record, StepField::Token, token);
        set(
            &mut core.record,
            StepField::MaxTokenLength,
            MAX_TOKEN_LENGTH as u32,
        );
        match Engine::new(settings_json) {
            Ok(engine) => {
                let config = engine.cache_config();
                // Both at most a few million (`CacheConfig::validate`).
                let (timeout, body) = (config.timeout_ms as u32, config.max_body_bytes as u32);
                set(&mut core.record, StepField::TimeoutMs, timeout);
                set(&mut core.record, StepField::MaxBodyBytes, body);
                set(&mut core.record, StepField::Ready, 1);
                core.engine = Some(engine);
            }
            Err(e) => core.refuse(&e),
        }
        core
    }

    /// Puts `error` in the record for the JS layer to throw.
    fn refuse(&mut self, error: &Error) {
        self.text.clear();
        self.text.push_str(error.message());
        set_range(&mut self.record, StepField::TextPtr, self.text.as_bytes());
        set(&mut self.record, StepField::Error, error.code() as u32);
        set(
            &mut self.record,
            StepField::Retryable,
            u32::from(error.is_retryable()),
        );
        set(
            &mut self.record,
            StepField::Status,
            u32::from(error.status().unwrap_or_default()),
        );
    }

    /// `Ok(value)` as is; an error put in the record (see [`Self::refuse`])
    /// as `refused`.
    fn answer<T>(&mut self, result: crate::Result<T>, refused: T) -> T {
        result.unwrap_or_else(|e| {
            self.refuse(&e);
            refused
        })
    }

    /// Key index and alg of candidate `i` of the last check.
    fn candidate(&self, i: u32) -> Option<(u32, Algorithm)> {
        if i >= self.last.candidate_count {
            return None;
        }
        Some((*self.last.candidates.get(i as usize)?, self.last.alg?))
    }

    fn check(&mut self, length: usize, now: f64, attempt: u32) -> StepKind {
        let attempt = match attempt {
            a if a == Attempt::Waited as u32 => engine::Attempt::Waited,
            a if a == Attempt::Settled as u32 => engine::Attempt::Settled,
            _ => engine::Attempt::First,
        };
        let Some(engine) = self.engine.as_mut() else {
            return StepKind::Refused;
        };
        let token = self.token.get(..length).unwrap_or_default();
        match engine.check(token, now_sec(now), attempt) {
            Ok(step) => {
                let mut facade = Recorder {
                    last: &mut self.last,
                    record: &mut self.record,
                    text: &mut self.text,
                };
                facade.record(step)
            }
            Err(e) => {
                self.refuse(&e);
                StepKind::Refused
            }
        }
    }

    fn key_jwk(&mut self, i: u32) -> bool {
        let Some((index, _)) = self.candidate(i) else {
            return false;
        };
        let Last {
            set, generation, ..
        } = self.last;
        let Some(jwk) = self
            .engine
            .as_ref()
            .and_then(|engine| engine.key_jwk(set, generation, index as usize))
        else {
            return false;
        };
        set_range(&mut self.record, StepField::TextPtr, jwk.as_bytes());
        true
    }

    fn finish(&mut self, ticket: u32, verified: bool) -> bool {
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let result = engine.finish(ticket, verified).map(|()| true);
        self.answer(result, false)
    }

    fn fetched(
        &mut self,
        set: u32,
        fetch: u32,
        status: u16,
        cache_control: &str,
        body: &[u8],
        now: f64,
    ) -> Report {
        let Some(engine) = self.engine.as_mut() else {
            return Report::Refused;
        };
        let next = engine.fetched(
            set as usize,
            fetch,
            status,
            Some(cache_control),
            body,
            now_sec(now),
        );
        match next {
            Ok(None) => Report::Done,
            Ok(Some(request)) => {
                let mut facade = Recorder {
                    last: &mut self.last,
                    record: &mut self.record,
                    text: &mut self.text,
                };
                facade.record_request(request);
                Report::Next
            }
            Err(e) => {
                self.refuse(&e);
                Report::Refused
            }
        }
    }

    fn fetch_failed(
        &mut self,
        set: u32,
        fetch: u32,
        failure: u32,
        message: &str,
        now: f64,
    ) -> bool {
        let failure = match failure {
            f if f == Failure::Timeout as u32 => FetchFailure::Timeout,
            _ => FetchFailure::Network(message),
        };
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let result = engine
            .fetch_failed(set as usize, fetch, failure, now_sec(now))
            .map(|()| true);
        self.answer(result, false)
    }

    fn export_cache(&mut self, previous: Option<&str>) -> bool {
        let Some(snapshot) = self.engine.as_ref().and_then(|e| e.export(previous)) else {
            return false;
        };
        self.text = snapshot;
        set_range(&mut self.record, StepField::TextPtr, self.text.as_bytes());
        true
    }

    fn import_cache(&mut self, snapshot: &str, now: f64, strict: bool) -> bool {
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let result = engine.import(snapshot, now_sec(now), strict).map(|count| {
            set(&mut self.record, StepField::Count, count as u32);
            true
        });
        self.answer(result, false)
    }
}

/// Records a step's numbers while the step borrows the engine.
struct Recorder<'f> {
    last: &'f mut Last,
    record: &'f mut [u32; FIELDS],
    text: &'f mut String,
}

impl Recorder<'_> {
    fn set(&mut self, field: StepField, value: u32) {
        set(self.record, field, value);
    }

    fn range(&mut self, ptr: StepField, bytes: &[u8]) {
        set_range(self.record, ptr, bytes);
    }

    fn record(&mut self, step: Step<'_>) -> StepKind {
        match step {
            Step::Verify(check) => {
                let mut candidates = [0; crate::jose::MAX_CANDIDATES];
                for (slot, index) in candidates.iter_mut().zip(check.candidates.as_slice()) {
                    *slot = *index as u32;
                }
                let count = check.candidates.as_slice().len() as u32;
                if let Some(slots) = self.record.get_mut(StepField::Keys as usize..) {
                    for (slot, index) in slots.iter_mut().zip(candidates) {
                        *slot = index;
                    }
                }
                *self.last = Last {
                    set: check.set,
                    generation: check.generation,
                    alg: Some(check.alg),
                    candidates,
                    candidate_count: count,
                };
                self.set(StepField::Ticket, check.ticket);
                self.set(StepField::Set, check.set as u32);
                self.set(StepField::Candidates, count);
                self.range(StepField::InputPtr, check.signing_input);
                self.range(StepField::SignaturePtr, check.signature);
                self.range(StepField::HeaderPtr, check.header);
                self.range(StepField::PayloadPtr, check.payload);
                self.range(StepField::AlgPtr, check.alg.as_str().as_bytes());
                let alg = Algorithm::ALL.iter().position(|a| *a == check.alg);
                self.set(StepField::Alg, alg.unwrap_or_default() as u32);
                // The low bits: a generation is compared, never counted.
                self.set(StepField::Generation, check.generation as u32);
                StepKind::Verify
            }
            Step::Remembered { header, payload } => {
                self.range(StepField::HeaderPtr, header);
                self.range(StepField::PayloadPtr, payload);
                StepKind::Remembered
            }
            Step::Fetch(request) => {
                self.record_request(request);
                StepKind::Fetch
            }
            Step::Wait(set) => {
                self.last.set = set;
                self.set(StepField::Set, set as u32);
                StepKind::Wait
            }
        }
    }

    fn record_request(&mut self, request: engine::Request<'_>) {
        self.last.set = request.set;
        self.set(StepField::Set, request.set as u32);
        let document = match request.document {
            Document::JwkSet => DocumentKind::JwkSet,
            Document::Metadata => DocumentKind::Metadata,
        };
        self.set(StepField::Document, document as u32);
        self.set(StepField::Fetch, request.fetch);
        self.text.clear();
        self.text.push_str(request.url);
        set_range(self.record, StepField::TextPtr, self.text.as_bytes());
    }
}

/// Text in: the JS side writes `TextEncoder` output, which is UTF-8;
/// anything else reads as empty text (the callee's own error). Checked by
/// the JSON reader's UTF-8 decoder, which the entry has anyway
/// (`core::str::from_utf8`, as `super::abi::text` uses, is 0.6 kB of wasm).
fn text(bytes: &[u8]) -> String {
    crate::json::utf8(bytes).unwrap_or_default()
}

/// Text in at `(ptr, len)` ([`super::abi::take`]); `None` for a null `ptr`
/// (the JS layer's "absent").
///
/// # Safety
/// A non-null `(ptr, len)` as [`super::abi::take`] requires.
unsafe fn text_in(ptr: *mut u8, len: usize) -> Option<Box<[u8]>> {
    // SAFETY: the caller's contract above.
    (!ptr.is_null()).then(|| unsafe { take(ptr, len) })
}

/// The core of a handle.
///
/// # Safety
/// `core` is a live handle of [`verifier_new`]; the JS side makes one call
/// at a time (wasm is single-threaded), so the `&mut` is unique.
unsafe fn core<'a>(core: *mut VerifierCore) -> &'a mut VerifierCore {
    // SAFETY: the caller's contract above.
    unsafe { &mut *core }
}

/// [`NAMES`], one list per line.
#[no_mangle]
pub extern "C" fn verifier_names() -> u64 {
    give(String::from(NAMES))
}

/// A core for the settings (JSON text at `(ptr, len)`, from `alloc_bytes`):
/// the canonical JSON `lib/verifier.js` makes of the options once it
/// checked their names and types (see [`crate::jwks::config::read`];
/// `invalid_options`, `jwks_invalid`). When they are refused (the
/// record's `Ready` is 0) every call refuses and the record holds why: read
/// it, then free the core.
///
/// # Safety
/// `(ptr, len)` as [`super::abi::take`] requires.
#[no_mangle]
pub unsafe extern "C" fn verifier_new(ptr: *mut u8, len: usize) -> *mut VerifierCore {
    // SAFETY: the caller's contract above.
    let settings = unsafe { take(ptr, len) };
    Box::into_raw(Box::new(VerifierCore::new(&text(&settings))))
}

/// Drops a core.
///
/// # Safety
/// `core` is a live handle of [`verifier_new`], freed once.
#[no_mangle]
pub unsafe extern "C" fn verifier_free(core: *mut VerifierCore) {
    // SAFETY: the caller's contract above.
    drop(unsafe { Box::from_raw(core) });
}

/// Where the step record is in wasm memory: `FIELDS` 32-bit numbers, read
/// by [`StepField`]. Its place never changes.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_record(handle: *mut VerifierCore) -> u32 {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.record.as_ptr() as usize as u32
}

/// Decides what to do with the token of `length` bytes just written at
/// the record's `Token`, at `now` (seconds), after `attempt` (an
/// [`Attempt`]); answers a [`StepKind`] and the record describes the step.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_check(
    handle: *mut VerifierCore,
    length: usize,
    now: f64,
    attempt: u32,
) -> u32 {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.check(length, now, attempt) as u32
}

/// Names the public JWK (JSON text) of candidate `i` of the last check in
/// the record (`TextPtr`), for the runtime's `importKey`; false when there
/// is none (the key set changed since).
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_key_jwk(handle: *mut VerifierCore, i: u32) -> bool {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.key_jwk(i)
}

/// The verdict of check `ticket`: true when the token holds; false when
/// it is refused (the record: `bad_signature` unless `verified`, else the
/// claim error held since the check).
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_finish(
    handle: *mut VerifierCore,
    ticket: u32,
    verified: u32,
) -> bool {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.finish(ticket, verified != 0)
}

/// Forgets check `ticket` without a verdict.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_release(handle: *mut VerifierCore, ticket: u32) {
    // SAFETY: the caller's contract above.
    if let Some(engine) = unsafe { core(handle) }.engine.as_mut() {
        engine.release(ticket);
    }
}

/// Reads the response to the request of fetch `fetch` of key set `set`:
/// its status, `Cache-Control` (text; empty when absent) and body (bytes);
/// answers a [`Report`].
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`]; `(cc, cc_len)` and
/// `(body, body_len)` as [`super::abi::take`] requires.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn verifier_fetched(
    handle: *mut VerifierCore,
    set: u32,
    fetch: u32,
    status: u32,
    cc: *mut u8,
    cc_len: usize,
    body: *mut u8,
    body_len: usize,
    now: f64,
) -> u32 {
    // SAFETY: the caller's contract above.
    let (core, cc, body) = unsafe { (core(handle), take(cc, cc_len), take(body, body_len)) };
    let cache_control = text(&cc);
    // Not an HTTP status when over 65535: no status the engine accepts.
    let status = u16::try_from(status).unwrap_or_default();
    core.fetched(set, fetch, status, &cache_control, &body, now) as u32
}

/// Records that the request of fetch `fetch` of key set `set` brought no
/// response (`failure`, a [`Failure`]; `(ptr, len)` what the network
/// failure said); false when its error is the answer (in the record),
/// true when the previous keys may be used.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`]; `(ptr, len)` as
/// [`super::abi::take`] requires.
#[no_mangle]
pub unsafe extern "C" fn verifier_fetch_failed(
    handle: *mut VerifierCore,
    set: u32,
    fetch: u32,
    failure: u32,
    ptr: *mut u8,
    len: usize,
    now: f64,
) -> bool {
    // SAFETY: the caller's contract above.
    let (core, message) = unsafe { (core(handle), take(ptr, len)) };
    core.fetch_failed(set, fetch, failure, &text(&message), now)
}

/// Records that the caller aborted fetch `fetch` of key set `set`.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_fetch_aborted(handle: *mut VerifierCore, set: u32, fetch: u32) {
    // SAFETY: the caller's contract above.
    if let Some(engine) = unsafe { core(handle) }.engine.as_mut() {
        engine.fetch_aborted(set as usize, fetch);
    }
}

/// Names the snapshot of the fetched key sets (JSON text) in the record
/// (`TextPtr`); false when nothing is cached or nothing changed since the
/// `previous` snapshot at `(ptr, len)` (a null `ptr`: none).
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`]; `(ptr, len)` (unless
/// `ptr` is null) as [`super::abi::take`] requires.
#[no_mangle]
pub unsafe extern "C" fn verifier_export_cache(
    handle: *mut VerifierCore,
    ptr: *mut u8,
    len: usize,
) -> bool {
    // SAFETY: the caller's contract above.
    let (core, previous) = unsafe { (core(handle), text_in(ptr, len)) };
    core.export_cache(previous.as_deref().map(text).as_deref())
}

/// Loads a snapshot (JSON text at `(ptr, len)`); see [`Engine::import`].
/// True with the count in the record (`Count`); false when refused (the
/// record holds why).
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`]; `(ptr, len)` as
/// [`super::abi::take`] requires.
#[no_mangle]
pub unsafe extern "C" fn verifier_import_cache(
    handle: *mut VerifierCore,
    ptr: *mut u8,
    len: usize,
    now: f64,
    strict: u32,
) -> bool {
    // SAFETY: the caller's contract above.
    let (core, snapshot) = unsafe { (core(handle), take(ptr, len)) };
    core.import_cache(&text(&snapshot), now, strict != 0)
}

/// Puts the error for a token that is not a string in the record.
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_not_a_token(handle: *mut VerifierCore) {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.refuse(&Error::malformed(
        "the token must be a string (a compact JWS: header.payload.signature)",
    ));
}

/// Puts the error for a token of `length` UTF-16 units in the record,
/// refused before it is copied into wasm memory (which never shrinks) when
/// over [`MAX_TOKEN_LENGTH`] (a UTF-8 byte count is never below the UTF-16
/// length).
///
/// # Safety
/// `handle` is a live handle of [`verifier_new`].
#[no_mangle]
pub unsafe extern "C" fn verifier_too_long(handle: *mut VerifierCore, length: usize) {
    // SAFETY: the caller's contract above.
    unsafe { core(handle) }.refuse(&Error::malformed(msg!(
        "the token is ",
        length,
        " characters; at most ",
        MAX_TOKEN_LENGTH,
        " bytes are accepted"
    )));
}
