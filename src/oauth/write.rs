//! The JSON the core answers with, written directly as text.
//!
//! The core builds no value tree for what it writes: each node of one is an
//! allocation, and its construction and drop code are repeated at every
//! place that builds one (measured: the steps written through `json::Value`
//! cost the client wasm several kB). Member names are the core's own
//! literals, written as they are; values are escaped by
//! [`crate::json::write_string`].

use crate::json;
use crate::prelude::*;

/// A JSON object being written: `Obj::new().str("a", "x").num("b", 1).done()`.
pub(crate) struct Obj(String);

impl Obj {
    /// `{`.
    pub(crate) fn new() -> Self {
        Obj(String::from("{"))
    }

    /// `,"name":` (the comma unless first).
    #[inline(never)]
    fn key(&mut self, name: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(name);
        self.0.push_str("\":");
        &mut self.0
    }

    /// A string member.
    #[inline(never)]
    pub(crate) fn str(mut self, name: &str, value: &str) -> Self {
        json::write_string(self.key(name), value);
        self
    }

    /// A string member, or `null`.
    pub(crate) fn opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.str(name, v),
            None => self.raw(name, "null"),
        }
    }

    /// A member whose value is JSON text already.
    #[inline(never)]
    pub(crate) fn raw(mut self, name: &str, value: &str) -> Self {
        self.key(name).push_str(value);
        self
    }

    /// A whole number.
    pub(crate) fn num(self, name: &str, value: u64) -> Self {
        self.raw(name, &msg!(value))
    }

    /// `true` or `false`.
    pub(crate) fn bool(self, name: &str, value: bool) -> Self {
        self.raw(name, if value { "true" } else { "false" })
    }

    /// `}`: the text.
    pub(crate) fn done(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_members_in_order() {
        let inner = Obj::new().done();
        let text = Obj::new()
            .str("a", "x\"y")
            .opt("b", None)
            .num("c", 42)
            .bool("d", true)
            .raw("e", &inner)
            .done();
        assert_eq!(text, r#"{"a":"x\"y","b":null,"c":42,"d":true,"e":{}}"#);
        assert!(json::parse(&text).is_ok());
    }
}
