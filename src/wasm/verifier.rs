//! `VerifierCore`: the wasm face of [`Engine`], for the JS `JwksVerifier`
//! (`pkg-template/lib/verifier.js`).
//!
//! It converts and holds, nothing else: the engine decides (options, key
//! sets, routing, the step, the verdict, what a response means); this
//! facade turns a step into a [`StepKind`] and a step record of named
//! numbers ([`StepField`]) the JS layer reads from wasm memory without a
//! call per field (byte ranges for the signing input, the signature and the
//! JSON texts: no copy crosses the boundary on the hot path), and keeps the
//! runtime key handles the JS layer imported, per key set generation, so
//! they are dropped with the keys they belong to.

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use super::error::to_js_error;
use crate::jose::{Algorithm, MAX_TOKEN_LENGTH};
use crate::jwks::engine::{self, Document, Engine, FetchFailure, Step};
use crate::Error;

/// What [`VerifierCore::check`] says to do (see [`Step`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Verify the signature with the candidate keys, then `finish`.
    Verify = 0,
    /// Answer with the remembered header and payload.
    Remembered = 1,
    /// Fetch `url` (a `document`) for key set `set`, then report.
    Fetch = 2,
    /// Wait for the fetch of key set `set` under way, then check again.
    Wait = 3,
    /// The token is refused: throw [`VerifierCore::take_error`].
    Refused = 4,
}

/// How far a verification got (see [`engine::Attempt`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The first look.
    First = 0,
    /// After waiting (polling) a whole timeout for another request's fetch.
    Waited = 1,
    /// After this caller's fetch, or the one it joined.
    Settled = 2,
}

/// What a request should answer (see [`Document`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// A JWK Set.
    JwkSet = 0,
    /// Authorization server metadata.
    Metadata = 1,
}

/// Why a request brought no response (see [`FetchFailure`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No answer within `timeoutMs`.
    Timeout = 0,
    /// The network failed.
    Network = 1,
}

/// Declares [`StepField`] and [`FIELD_NAMES`] from one list, so the JS
/// layer's names cannot disagree with the record.
macro_rules! step_fields {
    ($(#[$first_doc:meta])* $first:ident, $($(#[$doc:meta])* $field:ident,)*) => {
        /// The named fields of the step record (see [`VerifierCore::record`]):
        /// what the last step says, as numbers the JS layer reads from wasm
        /// memory by these names ([`step_fields`]), without a call per field.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        // The `*Len` fields are written as their `*Ptr` field + 1.
        #[allow(dead_code)]
        pub enum StepField {
            $(#[$first_doc])* $first,
            $($(#[$doc])* $field,)*
        }

        /// The names of [`StepField`], in order, separated by spaces.
        const FIELD_NAMES: &str = concat!(stringify!($first), $(" ", stringify!($field),)*);
    };
}

step_fields! {
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
    /// What the request of a `Fetch` step (or a `fetched` answer) should
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
    /// `Fetch` step or a `fetched` answer, a key's JWK (`keyJwk`), a
    /// snapshot (`exportCache`) ...
    TextPtr,
    /// ... and its length.
    TextLen,
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

/// The names of the step record's fields in order, separated by spaces: the
/// JS layer numbers them (`StepField[name]` is a field's place). One static
/// string: less glue than an exported enum (whose glue maps both ways).
#[wasm_bindgen(js_name = stepFields)]
pub fn step_fields() -> JsValue {
    JsValue::from_str(FIELD_NAMES)
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
#[wasm_bindgen]
pub struct VerifierCore {
    engine: Engine,
    /// Where the JS layer writes the token (its UTF-8, `MAX_TOKEN_LENGTH`
    /// bytes at most): the signing input of a check is a range of it.
    token: Vec<u8>,
    last: Last,
    /// The step record, by [`StepField`] (a fixed place in wasm memory).
    record: Box<[u32; FIELDS]>,
    /// The text `TextPtr` names (a URL, a JWK, a snapshot).
    text: String,
    /// The error of the last `check` that answered [`StepKind::Refused`] or
    /// `finish` that answered false, until [`Self::take_error`].
    error: JsValue,
}

fn now_sec(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

impl VerifierCore {
    /// Key index and alg of candidate `i` of the last check.
    fn candidate(&self, i: u32) -> Option<(u32, Algorithm)> {
        if i >= self.last.candidate_count {
            return None;
        }
        Some((*self.last.candidates.get(i as usize)?, self.last.alg?))
    }
}

#[wasm_bindgen]
impl VerifierCore {
    /// Reads the settings: the canonical JSON `lib/verifier.js` makes of the
    /// options once it checked their names and types (see
    /// [`crate::jwks::config::read`]; `invalid_options`, `jwks_invalid`).
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> core::result::Result<VerifierCore, JsValue> {
        let engine = Engine::new(settings_json)?;
        let mut record = Box::new([0; FIELDS]);
        let config = engine.cache_config();
        for (field, value) in [
            (StepField::TimeoutMs, config.timeout_ms),
            (StepField::MaxBodyBytes, config.max_body_bytes as u64),
        ] {
            if let Some(slot) = record.get_mut(field as usize) {
                // Both at most a few million (`CacheConfig::validate`).
                *slot = value as u32;
            }
        }
        Ok(Self {
            engine,
            token: vec![0; MAX_TOKEN_LENGTH],
            last: Last::default(),
            record,
            text: String::new(),
            error: JsValue::UNDEFINED,
        })
    }

    /// Where the JS layer writes a token before [`Self::check`]:
    /// `MAX_TOKEN_LENGTH` bytes of wasm memory (`TextEncoder.encodeInto`
    /// writes the UTF-8 there without a copy through JS).
    #[wasm_bindgen(getter, js_name = tokenBuffer)]
    pub fn token_buffer(&self) -> u32 {
        self.token.as_ptr() as usize as u32
    }

    /// Decides what to do with the token of `length` bytes just written at
    /// [`Self::token_buffer`], at `now` (seconds); the record then
    /// describes the step. [`StepKind::Refused`] when the token is refused
    /// ([`Self::take_error`] is why): one number back, not a `Result`,
    /// whose multi-value return costs the JS side an array per call.
    ///
    /// `attempt` is an [`Attempt`] and the answer a [`StepKind`], as their
    /// numbers (the JS layer names them by the exported enums): wasm-bindgen
    /// would pass both as `f64` and check them in its glue (75 B more gzip).
    pub fn check(&mut self, length: usize, now: f64, attempt: u32) -> u32 {
        let attempt = match attempt {
            a if a == Attempt::Waited as u32 => engine::Attempt::Waited,
            a if a == Attempt::Settled as u32 => engine::Attempt::Settled,
            _ => engine::Attempt::First,
        };
        let token = self.token.get(..length).unwrap_or_default();
        match self.engine.check(token, now_sec(now), attempt) {
            Ok(step) => {
                let mut facade = Recorder {
                    last: &mut self.last,
                    record: &mut self.record,
                    text: &mut self.text,
                };
                facade.record(step) as u32
            }
            Err(e) => {
                self.error = to_js_error(&e);
                StepKind::Refused as u32
            }
        }
    }

    /// The error of the last [`StepKind::Refused`] check or false
    /// `finish` (undefined once taken).
    #[wasm_bindgen(js_name = takeError)]
    pub fn take_error(&mut self) -> JsValue {
        core::mem::replace(&mut self.error, JsValue::UNDEFINED)
    }

    /// Where the step record is in wasm memory: `FIELDS` 32-bit numbers,
    /// read by [`StepField`]. Its place never changes.
    #[wasm_bindgen(getter)]
    pub fn record(&self) -> u32 {
        self.record.as_ptr() as usize as u32
    }

    /// Names the public JWK (JSON text) of candidate `i` of the last check
    /// in the record (`TextPtr`), for the runtime's `importKey`; false when
    /// there is none (the key set changed since).
    #[wasm_bindgen(js_name = keyJwk)]
    pub fn key_jwk(&mut self, i: u32) -> bool {
        let Some((index, _)) = self.candidate(i) else {
            return false;
        };
        let Last {
            set, generation, ..
        } = self.last;
        let Some(jwk) = self.engine.key_jwk(set, generation, index as usize) else {
            return false;
        };
        set_range(&mut self.record, StepField::TextPtr, jwk.as_bytes());
        true
    }

    /// The verdict of check `ticket`: true when the token holds; false
    /// when it is refused ([`Self::take_error`]: `bad_signature` unless
    /// `verified`, else the claim error held since the check).
    pub fn finish(&mut self, ticket: u32, verified: bool) -> bool {
        match self.engine.finish(ticket, verified) {
            Ok(()) => true,
            Err(e) => {
                self.error = to_js_error(&e);
                false
            }
        }
    }

    /// Forgets check `ticket` without a verdict.
    pub fn release(&mut self, ticket: u32) {
        self.engine.release(ticket);
    }

    /// Reads the response to the request of fetch `fetch` of key set
    /// `set`: true when another request follows (`url`, `document`), false
    /// when done. Throws the error to answer.
    pub fn fetched(
        &mut self,
        set: u32,
        fetch: u32,
        status: u16,
        cache_control: Option<String>,
        body: &[u8],
        now: f64,
    ) -> core::result::Result<bool, JsValue> {
        let next = self.engine.fetched(
            set as usize,
            fetch,
            status,
            cache_control.as_deref(),
            body,
            now_sec(now),
        )?;
        let Some(request) = next else {
            return Ok(false);
        };
        let mut facade = Recorder {
            last: &mut self.last,
            record: &mut self.record,
            text: &mut self.text,
        };
        facade.record_request(request);
        Ok(true)
    }

    /// Records that the request of fetch `fetch` of key set `set` brought
    /// no response; throws the error to answer unless the previous keys
    /// may be used.
    #[wasm_bindgen(js_name = fetchFailed)]
    pub fn fetch_failed(
        &mut self,
        set: u32,
        fetch: u32,
        failure: Failure,
        message: &str,
        now: f64,
    ) -> core::result::Result<(), JsValue> {
        let failure = match failure {
            Failure::Timeout => FetchFailure::Timeout,
            Failure::Network => FetchFailure::Network(message),
        };
        Ok(self
            .engine
            .fetch_failed(set as usize, fetch, failure, now_sec(now))?)
    }

    /// Records that the caller aborted fetch `fetch` of key set `set`.
    #[wasm_bindgen(js_name = fetchAborted)]
    pub fn fetch_aborted(&mut self, set: u32, fetch: u32) {
        self.engine.fetch_aborted(set as usize, fetch);
    }

    /// Names the snapshot of the fetched key sets (JSON text) in the record
    /// (`TextPtr`); false when nothing is cached or nothing changed since
    /// `previous`.
    #[wasm_bindgen(js_name = exportCache)]
    pub fn export_cache(&mut self, previous: Option<String>) -> bool {
        let Some(snapshot) = self.engine.export(previous.as_deref()) else {
            return false;
        };
        self.text = snapshot;
        set_range(&mut self.record, StepField::TextPtr, self.text.as_bytes());
        true
    }

    /// Loads a snapshot (JSON text); see [`Engine::import`].
    #[wasm_bindgen(js_name = importCache)]
    pub fn import_cache(
        &mut self,
        snapshot: &str,
        now: f64,
        strict: bool,
    ) -> core::result::Result<u32, JsValue> {
        Ok(self.engine.import(snapshot, now_sec(now), strict)? as u32)
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

/// Records a step's numbers while the step borrows the engine.
struct Recorder<'f> {
    last: &'f mut Last,
    record: &'f mut [u32; FIELDS],
    text: &'f mut String,
}

impl Recorder<'_> {
    fn set(&mut self, field: StepField, value: u32) {
        if let Some(slot) = self.record.get_mut(field as usize) {
            *slot = value;
        }
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

/// The error for a token that is not a string.
#[wasm_bindgen(js_name = notAToken)]
pub fn not_a_token() -> JsValue {
    to_js_error(&Error::malformed(
        "the token must be a string (a compact JWS: header.payload.signature)",
    ))
}

/// The error for a token of `length` UTF-16 units, refused before it is
/// copied into wasm memory (which never shrinks) when over
/// [`MAX_TOKEN_LENGTH`] (a UTF-8 byte count is never below the UTF-16
/// length).
#[wasm_bindgen(js_name = tokenTooLong)]
pub fn token_too_long(length: usize) -> JsValue {
    to_js_error(&Error::malformed(msg!(
        "the token is ",
        length,
        " characters; at most ",
        MAX_TOKEN_LENGTH,
        " bytes are accepted"
    )))
}

/// [`MAX_TOKEN_LENGTH`].
#[wasm_bindgen(js_name = maxTokenLength)]
pub fn max_token_length() -> u32 {
    MAX_TOKEN_LENGTH as u32
}

/// The wasm memory (the getters' byte ranges are in it).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
