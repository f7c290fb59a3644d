//! A small, strict JSON reader and writer (RFC 8259, I-JSON RFC 7493).
//!
//! Why not serde_json: JOSE needs duplicate member names rejected
//! (RFC 7515 §5.2, RFC 7519 §4, RFC 8725 §3.8), lone surrogates rejected
//! (RFC 7493 §2.1), a nesting limit, and no panic on any input; and the npm
//! verifier must stay small. This reader does exactly that and no more.
//!
//! What each part decides:
//! - `parse.rs`: what is a JSON document (the one grammar: UTF-8, strings
//!   and their escapes, literals, nesting up to [`MAX_DEPTH`], unique member
//!   names at every level), read into either tree (`Tree`): [`read`] makes
//!   a borrowed [`Node`] whose strings ([`Str`]) point into the input, so a
//!   reader that only looks at a few members (the verifier: a token's header
//!   and claims, on every call) allocates nothing per string; [`parse`]
//!   makes an owned [`Value`] for everything else (the client and the
//!   server keep, change and write back what they read). Each tree is built
//!   directly by the one grammar, so each wasm entry links one tree.
//! - `number.rs`: what a number's text is worth (exactly, or within a few
//!   ulps in the `no_std` npm verifier), and the exact decimal expansions
//!   the writer shares.
//! - `write.rs`: the compact text of a value (shortest round-tripping
//!   numbers, escaped strings).
//!
//! Left to callers: what members mean, and which are required.

use crate::prelude::*;
use core::cmp::Ordering;

mod number;
mod parse;
mod write;

pub use number::safe_integer;
pub use parse::{parse, parse_bytes, read, utf8, JsonError, Members, Node, Str, MAX_DEPTH};
pub(crate) use parse::{read_as, Tree};
pub use write::write_string;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as an IEEE 754 double (always finite).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in document order, names unique.
    Object(Object),
}

/// A JSON object whose member names are unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    /// The member named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The member `name` when it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Iterates members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the object has no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes the member `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == name)?;
        // Moved to the end and popped: `Vec::remove` would bring a panic
        // (and the formatting machinery) into the wasm.
        let mut rest = self.0.iter_mut().skip(at);
        if let Some(mut prev) = rest.next() {
            for member in rest {
                core::mem::swap(prev, member);
                prev = member;
            }
        }
        self.0.pop().map(|(_, v)| v)
    }

    /// Adds a member; returns false (and changes nothing) if the name exists.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> bool {
        let name = name.into();
        if self.get(&name).is_some() {
            return false;
        }
        self.0.push((name, value));
        true
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The number as an integer, if it is a whole number below 2^53 in
    /// magnitude (a JS safe integer; see [`safe_integer`]).
    pub fn as_safe_integer(&self) -> Option<i64> {
        self.as_f64().and_then(safe_integer)
    }

    /// A string or an array of strings, as a list (`issuer: 'a'` or
    /// `issuer: ['a', 'b']`).
    pub fn string_list(&self) -> Option<Vec<String>> {
        match self {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    list.push(item.as_str()?.to_owned());
                }
                Some(list)
            }
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Serialises the value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write::write_value(&mut out, self);
        out
    }
}

impl<'a> Tree<'a> for Value {
    /// Names decoded once, when read: the owned tree compares and finds
    /// them as plain strings.
    type Name = String;
    /// Strings decoded as they are read.
    type Text = String;
    /// Duplicates always found through the index: no reader of the owned
    /// tree is on a hot path, and one way is less code (measured: 37 B gz
    /// less client wasm).
    const LINEAR_NAMES: usize = 0;
    const HOT: bool = false;

    fn null() -> Self {
        Value::Null
    }

    fn boolean(b: bool) -> Self {
        Value::Bool(b)
    }

    fn number(n: f64) -> Self {
        Value::Number(n)
    }

    fn push(text: &mut String, c: char) {
        text.push(c);
    }

    fn string(_: Str<'a>, text: String) -> Self {
        Value::String(text)
    }

    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }

    fn name(_: Str<'a>, text: String) -> String {
        text
    }

    fn same(a: &String, b: &String) -> bool {
        a == b
    }

    fn order(a: &String, b: &String) -> Ordering {
        a.cmp(b)
    }

    fn object(members: Vec<(String, Self)>) -> Self {
        Value::Object(Object(members))
    }

    type Object = Object;

    fn members(&self) -> Option<&Object> {
        self.as_object()
    }

    fn member<'s>(object: &'s Object, name: &str) -> Option<&'s Self> {
        object.get(name)
    }

    fn text(&self) -> Option<String> {
        self.as_str().map(String::from)
    }

    fn truth(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_array()
    }
}

impl From<&Node<'_>> for Value {
    /// The owned copy of a borrowed tree (strings decoded), for a reader of
    /// the borrowed tree that hands values on (`jose::VerifiedToken`'s
    /// claims). A document read only to be owned is read by [`parse`].
    fn from(node: &Node<'_>) -> Self {
        match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(*n),
            Node::String(s) => Value::String(s.decoded()),
            Node::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            Node::Object(members) => Value::Object(Object::from(members)),
        }
    }
}

impl From<&Members<'_>> for Object {
    /// The owned copy of a borrowed object (names and strings decoded).
    fn from(members: &Members<'_>) -> Self {
        Object(
            members
                .iter()
                .map(|(name, value)| (name.decoded(), Value::from(value)))
                .collect(),
        )
    }
}
