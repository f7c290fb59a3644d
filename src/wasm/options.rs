//! Typed access to an options object given as JSON text, for the client
//! facade (no serde: its per-struct deserializers and
//! serde-wasm-bindgen cost ~20 kB of wasm; the verifier's JS layer checks
//! its options and `jwks::config` reads the settings it makes of them).
//! The JS layer passes `JSON.stringify(options)`, so
//! `undefined` members are absent; an explicit `null` reads as "not set",
//! except through [`Opts::explicit_string`].

// The client facade uses only some accessors (the server facade reads its
// options by meaning only: `readOptions` in JS checked names and types).
#![allow(dead_code)]

use crate::json::{self, Object, Value};
use crate::prelude::*;
use crate::{Error, Result};

/// `Number.MAX_SAFE_INTEGER`: the largest whole number a JS number holds exactly.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The members of one options object.
///
/// The getters never fail: a member of the wrong type reads as absent and
/// the first such error is kept for [`Opts::done`]. (Options read with `?`
/// after each member made the wasm several kB larger: every `?` drops all
/// the members read before it.)
pub(crate) struct Opts<'a> {
    object: &'a Object,
    what: &'a str,
    error: core::cell::RefCell<Option<Error>>,
}

/// `invalid_options`: the option `key` of `what` (e.g. `ExtensionClient`)
/// is not `expected`.
fn wrong_option(what: &str, key: &str, expected: &str) -> Error {
    Error::options(msg!(
        "invalid ",
        what,
        " options: ",
        key,
        " must be ",
        expected
    ))
}

/// `a, b, c` (not `[&str]::join`, whose generic copy loop costs ~1 kB of
/// wasm for a couple of error messages).
fn comma_list(items: &[&str]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

/// `invalid_options`: `key` is not an option of `what`; lists `allowed`.
fn unknown_option(key: &str, what: &str, allowed: &[&str]) -> Error {
    Error::options(msg!(
        "unknown option \"",
        key,
        "\" for ",
        what,
        "; the options are: ",
        comma_list(allowed)
    ))
}

/// Parses options passed as `JSON.stringify(options)`.
pub(crate) fn parse(text: &str, what: &str) -> Result<Value> {
    json::parse(text).map_err(|e| Error::options(msg!(what, " options must be plain data: ", e)))
}

impl<'a> Opts<'a> {
    /// `value` must be an object; `what` names it in messages.
    pub(crate) fn new(value: &'a Value, what: &'a str) -> Result<Self> {
        let object = value
            .as_object()
            .ok_or_else(|| Error::options(msg!(what, " options must be an object")))?;
        Ok(Self {
            object,
            what,
            error: core::cell::RefCell::new(None),
        })
    }

    /// Refuses member names not in `allowed`, listing the allowed ones.
    #[inline(never)]
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<()> {
        match self.object.iter().find(|(k, _)| !allowed.contains(k)) {
            Some((key, _)) => Err(unknown_option(key, self.what, allowed)),
            None => Ok(()),
        }
    }

    /// The first wrong-typed member read so far, if any.
    pub(crate) fn done(&self) -> Result<()> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Records that `key` is not `expected` (the first such error wins).
    #[inline(never)]
    pub(crate) fn wrong<T>(&self, key: &str, expected: &str) -> Option<T> {
        let mut error = self.error.borrow_mut();
        if error.is_none() {
            *error = Some(wrong_option(self.what, key, expected));
        }
        None
    }

    /// The member `key`; `None` when absent or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| **v != Value::Null)
    }

    #[inline(never)]
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => self.wrong(key, "a string"),
        }
    }

    /// `None` when absent, `Some(None)` for an explicit `null`.
    #[inline(never)]
    pub(crate) fn explicit_string(&self, key: &str) -> Option<Option<String>> {
        match self.object.get(key) {
            Some(Value::Null) => Some(None),
            _ => self.string(key).map(Some),
        }
    }

    /// A whole number in `0..=max`.
    #[inline(never)]
    pub(crate) fn uint(&self, key: &str, max: u64) -> Option<u64> {
        match self.get(key)? {
            Value::Number(n)
                if *n >= 0.0 && *n <= max as f64 && json::safe_integer(*n).is_some() =>
            {
                Some(*n as u64)
            }
            _ => self.wrong(key, "a whole non-negative number"),
        }
    }

    #[inline(never)]
    pub(crate) fn boolean(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => self.wrong(key, "true or false"),
        }
    }

    /// A list of strings.
    #[inline(never)]
    pub(crate) fn strings(&self, key: &str) -> Option<Vec<String>> {
        let list = match self.get(key)? {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        list.or_else(|| self.wrong(key, "a list of strings"))
    }

    /// An object whose members are all strings, in document order.
    #[inline(never)]
    pub(crate) fn string_pairs(&self, key: &str) -> Option<Vec<(String, String)>> {
        let pairs = match self.get(key)? {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| v.as_str().map(|v| (k.to_owned(), v.to_owned())))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        pairs.or_else(|| self.wrong(key, "an object of string parameters"))
    }

    /// A nested options object (`None` when absent or `null`).
    #[inline(never)]
    pub(crate) fn object(&self, key: &str, what: &'a str) -> Result<Option<Opts<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => Opts::new(value, what).map(Some),
            Some(_) => {
                self.wrong::<()>(key, "an object");
                self.done().map(|()| None)
            }
        }
    }
}
