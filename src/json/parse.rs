//! The grammar: what is a JSON document (RFC 8259 §2-§8, I-JSON RFC 7493
//! §2.1 and §2.3), read into a tree of the caller's choice ([`Tree`]): the
//! borrowed [`Node`] or the owned [`super::Value`].
//!
//! Decided here: UTF-8 (the shortest encoding of a scalar value, anywhere in
//! the document), string escapes (no lone surrogate), the literals, nesting
//! up to [`MAX_DEPTH`], and unique member names in every object, compared
//! as decoded text (`"a"` and `"\u0061"` are the same name). Numbers are
//! read by `number.rs`. The grammar only checks a string; the tree decides
//! what to keep of it ([`Tree::string`]): [`Node`] keeps the bytes between
//! its quotes ([`Str`]), so a document is read with one allocation per
//! object or array and none per string; [`super::Value`] decodes it.
//! Each wasm entry links the grammar once, for the one tree it reads.

use super::number;
use crate::prelude::*;
use alloc::borrow::Cow;
use core::cmp::Ordering;
use core::fmt;

/// Maximum nesting depth of arrays and objects.
pub const MAX_DEPTH: usize = 32;

/// The borrowed tree's [`Tree::LINEAR_NAMES`]: JOSE headers and claims
/// sets, read on every verification, are smaller.
const LINEAR_NAMES: usize = 16;

/// A JSON string as written: the bytes between its quotes, checked (valid
/// UTF-8, valid escapes, no lone surrogate) but not decoded.
#[derive(Clone, Copy, Debug)]
pub struct Str<'a> {
    raw: &'a [u8],
    /// The raw bytes hold an escape; without one they are the text.
    escaped: bool,
}

impl<'a> From<&'a str> for Str<'a> {
    /// The string whose text is `s`, as it is (nothing in it is an escape).
    fn from(s: &'a str) -> Self {
        Str {
            raw: s.as_bytes(),
            escaped: false,
        }
    }
}

impl<'a> Str<'a> {
    /// The bytes between the quotes, escapes as written.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The string's UTF-8 bytes when it has no escape (they are then the
    /// bytes as written); `None` when it has one.
    pub fn plain(&self) -> Option<&'a [u8]> {
        (!self.escaped).then_some(self.raw)
    }

    /// True when the decoded string is `s`.
    pub fn is(&self, s: &str) -> bool {
        match self.plain() {
            Some(raw) => same_bytes(raw, s.as_bytes()),
            None => self.decoded() == s,
        }
    }

    /// True when both decode to the same string.
    fn same(&self, other: &Str<'_>) -> bool {
        match (self.plain(), other.plain()) {
            // The common case (every name of a token's header and claims
            // is compared with each earlier one), without a call.
            (Some(a), Some(b)) => same_bytes(a, b),
            _ => self.text() == other.text(),
        }
    }

    /// The decoded string's bytes: the bytes as written when nothing is
    /// escaped.
    fn text(&self) -> Cow<'a, [u8]> {
        match self.plain() {
            Some(raw) => Cow::Borrowed(raw),
            None => Cow::Owned(self.decoded().into_bytes()),
        }
    }

    /// The decoded string.
    pub fn decoded(&self) -> String {
        let mut out = String::with_capacity(self.raw.len());
        let mut at = 0;
        while let Some(&b) = self.raw.get(at) {
            let (c, len) = if b == b'\\' && self.escaped {
                unescape(self.raw, at)
            } else {
                // Checked when parsed; never the replacement.
                decode_char(self.raw, at).unwrap_or(('\u{fffd}', 1))
            };
            out.push(c);
            at += len;
        }
        out
    }

    /// The decoded string's UTF-8 bytes.
    pub fn bytes(&self) -> DecodedBytes<'a> {
        DecodedBytes {
            raw: self.raw,
            escaped: self.escaped,
            at: 0,
            pending: [0; 4],
            next: 0,
            len: 0,
        }
    }

    /// Orders by the decoded strings' bytes (the order of member names).
    fn cmp_decoded(&self, other: &Str<'_>) -> Ordering {
        self.text().cmp(&other.text())
    }
}

/// `a == b`, the first byte compared before the rest: names in JOSE
/// objects are short and mostly of one length (`iss`, `aud`, `exp`, ...).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// The UTF-8 bytes of a decoded [`Str`], escapes resolved.
#[derive(Clone, Debug)]
pub struct DecodedBytes<'a> {
    raw: &'a [u8],
    escaped: bool,
    at: usize,
    /// The rest of an escaped character's encoding.
    pending: [u8; 4],
    next: u8,
    len: u8,
}

impl Iterator for DecodedBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.next < self.len {
            let b = self.pending.get(usize::from(self.next)).copied();
            self.next += 1;
            return b;
        }
        let b = *self.raw.get(self.at)?;
        if b != b'\\' || !self.escaped {
            self.at += 1;
            return Some(b);
        }
        let (c, len) = unescape(self.raw, self.at);
        self.at += len;
        let (bytes, n) = utf8_encode(c);
        self.pending = bytes;
        self.next = 1;
        self.len = n;
        Some(bytes[0])
    }
}

/// `c` in UTF-8: the bytes (the first `n` used) and `n`.
fn utf8_encode(c: char) -> ([u8; 4], u8) {
    let c = c as u32;
    // Each `as u8` keeps the low bits wanted.
    if c < 0x80 {
        ([c as u8, 0, 0, 0], 1)
    } else if c < 0x800 {
        ([0xc0 | (c >> 6) as u8, 0x80 | (c & 0x3f) as u8, 0, 0], 2)
    } else if c < 0x1_0000 {
        (
            [
                0xe0 | (c >> 12) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
                0,
            ],
            3,
        )
    } else {
        (
            [
                0xf0 | (c >> 18) as u8,
                0x80 | ((c >> 12) & 0x3f) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ],
            4,
        )
    }
}

/// The four hex digits at `raw[at..at + 4]` (checked when parsed).
fn hex4_at(raw: &[u8], at: usize) -> u32 {
    raw.get(at..at + 4)
        .unwrap_or_default()
        .iter()
        .fold(0, |v, &b| (v << 4) | hex_digit(b).unwrap_or(0))
}

fn hex_digit(b: u8) -> Option<u32> {
    let d = if b.wrapping_sub(b'0') < 10 {
        b - b'0'
    } else if (b | 0x20).wrapping_sub(b'a') < 6 {
        (b | 0x20) - b'a' + 10
    } else {
        return None;
    };
    Some(u32::from(d))
}

/// The character of the escape at `raw[at]` (a `\`, checked when parsed)
/// and the escape's length.
fn unescape(raw: &[u8], at: usize) -> (char, usize) {
    match raw.get(at + 1).copied().unwrap_or(0) {
        b'u' => {
            let code = hex4_at(raw, at + 2);
            if (0xD800..0xDC00).contains(&code) {
                let low = hex4_at(raw, at + 8);
                let code = 0x1_0000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3ff);
                (char::from_u32(code).unwrap_or('\u{fffd}'), 12)
            } else {
                (char::from_u32(code).unwrap_or('\u{fffd}'), 6)
            }
        }
        b => (char::from(simple_escape(b).unwrap_or(b'?')), 2),
    }
}

/// The byte a one-character escape (`\"`, `\n`, ...) stands for.
fn simple_escape(b: u8) -> Option<u8> {
    let at = b"\"\\/bfnrt".iter().position(|&e| e == b)?;
    b"\"\\/\x08\x0c\n\r\t".get(at).copied()
}

/// A parsed JSON value that borrows its strings from the document.
#[derive(Clone, Debug)]
pub enum Node<'a> {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as an IEEE 754 double (always finite).
    Number(f64),
    /// A string, as written.
    String(Str<'a>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object.
    Object(Members<'a>),
}

impl<'a> Node<'a> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<Str<'a>> {
        match self {
            Node::String(s) => Some(*s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Members<'a>> {
        match self {
            Node::Object(members) => Some(members),
            _ => None,
        }
    }
}

/// What the grammar reads a document into. The grammar decides what is
/// JSON; a tree decides only how to keep what was read: [`Node`] borrows
/// its strings from the document (for readers of a few members on a hot
/// path: the verifier), [`super::Value`] owns decoded strings (for values
/// that are kept, changed or written back: the client and the server).
/// Each is built directly, so a wasm entry that reads one tree links the
/// grammar once and no conversion from the other (measured: building the
/// owned tree through the borrowed one cost the client and the server
/// ~1 kB gzip each).
pub(crate) trait Tree<'a>: Sized {
    /// A member name as the tree keeps it.
    type Name;
    /// What a tree keeps of a string's decoded text while the grammar
    /// reads it: nothing (`()`) for a tree that keeps strings as written.
    type Text: Default;
    /// Up to this many members, a new member name is compared with each
    /// earlier one; past it, through a sorted index of the names (0: always
    /// the index, the smallest code).
    const LINEAR_NAMES: usize;
    /// Read on a hot path (the verifier reads every token's header and
    /// claims): the grammar takes its inlined fast paths (whitespace,
    /// printable ASCII in strings, string and number members) at the price
    /// of more code. False: the smaller code (the owned tree of the client
    /// and the server, read a few times per login; ~0.3 kB gz each).
    const HOT: bool;

    /// `null`.
    fn null() -> Self;
    /// `true` or `false`.
    fn boolean(b: bool) -> Self;
    /// A number (finite).
    fn number(n: f64) -> Self;
    /// Adds the next decoded character of a string to `text`.
    fn push(text: &mut Self::Text, c: char);
    /// A string, checked (UTF-8, escapes, no lone surrogate): as written,
    /// and its decoded text.
    fn string(s: Str<'a>, text: Self::Text) -> Self;
    /// An array of values.
    fn array(items: Vec<Self>) -> Self;
    /// A member name, checked like a string.
    fn name(s: Str<'a>, text: Self::Text) -> Self::Name;
    /// True when two names decode to the same string (RFC 8259 §8.3: names
    /// compare as decoded text, so `"a"` and `"\u0061"` are the same).
    fn same(a: &Self::Name, b: &Self::Name) -> bool;
    /// Orders names by their decoded bytes.
    fn order(a: &Self::Name, b: &Self::Name) -> Ordering;
    /// An object whose names are unique, members in document order.
    fn object(members: Vec<(Self::Name, Self)>) -> Self;

    // Reading, for a reader shared by entries that link different trees
    // (discovery: the client and the server read the owned tree, the
    // verifier the borrowed one).

    /// An object's members.
    type Object;
    /// The members, if this is an object.
    fn members(&self) -> Option<&Self::Object>;
    /// The member named `name`.
    fn member<'s>(object: &'s Self::Object, name: &str) -> Option<&'s Self>;
    /// The decoded string, if this is one.
    fn text(&self) -> Option<String>;
    /// The boolean, if this is one.
    fn truth(&self) -> Option<bool>;
    /// The items, if this is an array.
    fn items(&self) -> Option<&[Self]>;
}

impl<'a> Tree<'a> for Node<'a> {
    type Name = Str<'a>;
    /// Nothing decoded: a string is kept as written.
    type Text = ();
    const LINEAR_NAMES: usize = LINEAR_NAMES;
    const HOT: bool = true;

    fn null() -> Self {
        Node::Null
    }

    fn boolean(b: bool) -> Self {
        Node::Bool(b)
    }

    fn number(n: f64) -> Self {
        Node::Number(n)
    }

    #[inline(always)]
    fn push(_: &mut (), _: char) {}

    fn string(s: Str<'a>, _: ()) -> Self {
        Node::String(s)
    }

    fn array(items: Vec<Self>) -> Self {
        Node::Array(items)
    }

    fn name(s: Str<'a>, _: ()) -> Str<'a> {
        s
    }

    #[inline(always)]
    fn same(a: &Str<'a>, b: &Str<'a>) -> bool {
        a.same(b)
    }

    fn order(a: &Str<'a>, b: &Str<'a>) -> Ordering {
        a.cmp_decoded(b)
    }

    fn object(members: Vec<(Str<'a>, Self)>) -> Self {
        Node::Object(Members(members))
    }

    type Object = Members<'a>;

    fn members(&self) -> Option<&Members<'a>> {
        self.as_object()
    }

    fn member<'s>(object: &'s Members<'a>, name: &str) -> Option<&'s Self> {
        object.get(name)
    }

    fn text(&self) -> Option<String> {
        self.as_str().map(|s| s.decoded())
    }

    fn truth(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_array()
    }
}

/// The members of a JSON object, in document order, names unique.
#[derive(Clone, Debug, Default)]
pub struct Members<'a>(Vec<(Str<'a>, Node<'a>)>);

impl<'a> Members<'a> {
    /// The member named `name`.
    pub fn get(&self, name: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k.is(name)).map(|(_, v)| v)
    }

    /// The members named `names`, in one pass over the object.
    pub fn pick<const N: usize>(&self, names: [&str; N]) -> [Option<&Node<'a>>; N] {
        let mut found = [None; N];
        self.pick_into(&names, &mut found);
        found
    }

    /// [`Self::pick`] for any number of names: one copy of the loop in the
    /// wasm, not one per `N`.
    fn pick_into<'s>(&'s self, names: &[&str], found: &mut [Option<&'s Node<'a>>]) {
        for (k, v) in &self.0 {
            let at = match k.plain() {
                // The common case, compared in place.
                Some(raw) => names.iter().position(|n| same_bytes(raw, n.as_bytes())),
                None => names.iter().position(|n| k.is(n)),
            };
            if let Some(slot) = at.and_then(|at| found.get_mut(at)) {
                *slot = Some(v);
            }
        }
    }

    /// The member `name` when it is a string.
    pub fn get_str(&self, name: &str) -> Option<Str<'a>> {
        self.get(name).and_then(Node::as_str)
    }

    /// Iterates members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (Str<'a>, &Node<'a>)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the object has no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where `name` is (`Ok`) or would go (`Err`) in `index`, the positions of
/// `members` sorted by name.
fn search<'a, T: Tree<'a>>(
    members: &[(T::Name, T)],
    index: &[u32],
    name: &T::Name,
) -> core::result::Result<usize, usize> {
    index.binary_search_by(|&i| {
        members
            .get(i as usize)
            .map_or(Ordering::Less, |(n, _)| T::order(n, name))
    })
}

fn insert_at(index: &mut Vec<u32>, at: usize, member: usize) {
    // Shifted by hand: `Vec::insert` would bring a panic into the wasm.
    let mut carry = member as u32;
    for slot in index.iter_mut().skip(at) {
        carry = core::mem::replace(slot, carry);
    }
    index.push(carry);
}

/// Why a document was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong.
    pub reason: &'static str,
    /// Byte offset where it was found.
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl crate::error::Part for JsonError {
    fn push_to(&self, out: &mut String) {
        out.push_str(self.reason);
        out.push_str(" at byte ");
        self.offset.push_to(out);
    }
}

/// Reads one JSON document (whitespace around it allowed, nothing else)
/// into a tree that borrows its strings from `input`.
///
/// The parser reads bytes (outside strings only ASCII is valid JSON) and
/// checks the UTF-8 of strings itself, so a document it accepts is valid
/// UTF-8 as a whole; input that fails and is not UTF-8 fails with "invalid
/// UTF-8" at its first invalid sequence, as if checked first.
/// (`core::str::from_utf8` would add ~0.7 kB to the wasm.)
pub fn read(input: &[u8]) -> Result<Node<'_>, JsonError> {
    read_as(input)
}

/// Reads one JSON document into the tree `T` (see [`read`]).
pub(crate) fn read_as<'a, T: Tree<'a>>(input: &'a [u8]) -> Result<T, JsonError> {
    let mut p = Parser {
        bytes: input,
        pos: 0,
    };
    p.document().map_err(|reason| match invalid_utf8_at(input) {
        Some(offset) => JsonError {
            reason: "invalid UTF-8",
            offset,
        },
        None => JsonError {
            reason,
            offset: p.pos,
        },
    })
}

/// Parses one JSON document (whitespace around it allowed, nothing else).
pub fn parse(input: &str) -> Result<super::Value, JsonError> {
    parse_bytes(input.as_bytes())
}

/// Parses bytes that must be UTF-8 JSON (see [`read`]).
pub fn parse_bytes(input: &[u8]) -> Result<super::Value, JsonError> {
    read_as(input)
}

/// `bytes` as a string, or the offset of their first invalid UTF-8
/// sequence (what `core::str::from_utf8` accepts, and its `valid_up_to`).
pub fn utf8(bytes: &[u8]) -> Result<String, usize> {
    let mut out = String::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let (c, len) = decode_char(bytes, at).ok_or(at)?;
        out.push(c);
        at += len;
    }
    Ok(out)
}

/// The offset of the first invalid UTF-8 sequence of `bytes`, if any (as
/// [`utf8`], without building the string).
fn invalid_utf8_at(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        match decode_char(bytes, at) {
            Some((_, len)) => at += len,
            None => return Some(at),
        }
    }
    None
}

/// The character whose UTF-8 encoding starts at `bytes[at]`, and its
/// length; `None` past the end and for anything but the shortest encoding
/// of a scalar value (overlong forms, surrogates, above U+10FFFF, cut
/// short).
pub(super) fn decode_char(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let lead = *bytes.get(at)?;
    if lead < 0x80 {
        return Some((char::from(lead), 1));
    }
    // 2 to 4 for a lead byte.
    let len = lead.leading_ones() as usize;
    let mut code = u32::from(lead) & (0x7f >> len);
    for i in 1..len {
        let b = *bytes.get(at + i)?;
        if b & 0xc0 != 0x80 {
            return None;
        }
        code = code << 6 | u32::from(b & 0x3f);
    }
    let min = match len {
        2 => 0x80,
        3 => 0x800,
        4 => 0x1_0000,
        _ => return None,
    };
    let c = char::from_u32(code).filter(|_| code >= min)?;
    Some((c, len))
}

/// A parse error's reason; its offset is the parser's position.
type Step<T> = Result<T, &'static str>;

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// [`Self::skip_ws`], inlined for a [`Tree::HOT`] tree: it runs around
    /// every value and name, and a token's JSON mostly has no whitespace.
    #[inline(always)]
    fn ws<T: Tree<'a>>(&mut self) {
        if T::HOT {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.pos += 1;
            }
        } else {
            self.skip_ws();
        }
    }

    fn document<T: Tree<'a>>(&mut self) -> Step<T> {
        let value = self.value(0)?;
        if self.pos != self.bytes.len() {
            return Err("trailing characters after the JSON value");
        }
        Ok(value)
    }

    /// A value and the whitespace around it, inside `depth` arrays and
    /// objects.
    fn value<T: Tree<'a>>(&mut self, depth: usize) -> Step<T> {
        self.ws::<T>();
        let value = match self.peek() {
            None => return Err("unexpected end of input"),
            Some(b'{') => T::object(self.object(depth + 1)?),
            Some(b'[') => T::array(self.array(depth + 1)?),
            Some(b'"') => {
                let (s, text) = self.string::<T>()?;
                T::string(s, text)
            }
            Some(b @ (b't' | b'f' | b'n')) => {
                let (word, value): (&[u8], _) = match b {
                    b't' => (b"true", T::boolean(true)),
                    b'f' => (b"false", T::boolean(false)),
                    _ => (b"null", T::null()),
                };
                if !self
                    .bytes
                    .get(self.pos..)
                    .is_some_and(|r| r.starts_with(word))
                {
                    return Err("invalid literal");
                }
                self.pos += word.len();
                value
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let (value, end) = number::read(self.bytes, start);
                self.pos = end;
                T::number(value?)
            }
            Some(_) => return Err("unexpected character"),
        };
        self.ws::<T>();
        Ok(value)
    }

    /// After the opening bracket of the `depth`th nested object or array:
    /// true (and past it) when the closing one comes first.
    fn open(&mut self, depth: usize, close: u8) -> Step<bool> {
        if depth > MAX_DEPTH {
            return Err("nesting too deep");
        }
        self.pos += 1; // '{' or '['
        self.skip_ws();
        let empty = self.peek() == Some(close);
        if empty {
            self.pos += 1;
        }
        Ok(empty)
    }

    /// After an item or member: true at the closing bracket (and past it),
    /// false after a comma.
    fn end_of(&mut self, close: u8, expected: &'static str) -> Step<bool> {
        match self.next() {
            Some(b',') => Ok(false),
            Some(b) if b == close => Ok(true),
            _ => Err(expected),
        }
    }

    fn array<T: Tree<'a>>(&mut self, depth: usize) -> Step<Vec<T>> {
        let mut items = Vec::new();
        if !self.open(depth, b']')? {
            loop {
                items.push(self.value(depth)?);
                if self.end_of(b']', "expected ',' or ']'")? {
                    break;
                }
            }
        }
        Ok(items)
    }

    fn object<T: Tree<'a>>(&mut self, depth: usize) -> Step<Vec<(T::Name, T)>> {
        let mut members: Vec<(T::Name, T)> = Vec::with_capacity(8);
        if self.open(depth, b'}')? {
            return Ok(members);
        }
        // Duplicate names: a small object (every JOSE header and most
        // claims sets) compares a new name with each earlier one; a larger
        // one keeps its member positions sorted by name and binary-searches
        // them, so a hostile document with thousands of members costs
        // O(n log n) name comparisons, not O(n²).
        let mut index = Vec::new();
        loop {
            self.ws::<T>();
            if self.peek() != Some(b'"') {
                return Err("expected a member name");
            }
            let name_at = self.pos;
            let (name, text) = self.string::<T>()?;
            let name = T::name(name, text);
            let count = members.len();
            let duplicate = if count < T::LINEAR_NAMES {
                members.iter().any(|(k, _)| T::same(k, &name))
            } else {
                if index.is_empty() {
                    for (at, (n, _)) in members.iter().enumerate() {
                        let (Ok(slot) | Err(slot)) = search(&members, &index, n);
                        insert_at(&mut index, slot, at);
                    }
                }
                match search(&members, &index, &name) {
                    Ok(_) => true,
                    Err(slot) => {
                        insert_at(&mut index, slot, count);
                        false
                    }
                }
            };
            if duplicate {
                self.pos = name_at;
                return Err("duplicate member name");
            }
            self.ws::<T>();
            if self.next() != Some(b':') {
                return Err("expected ':'");
            }
            self.ws::<T>();
            // Strings and numbers (every member of a token but `aud` as an
            // array) without the call of `value` and its frame.
            let value = match self.peek() {
                _ if !T::HOT => self.value(depth)?,
                Some(b'"') => {
                    let (s, text) = self.string::<T>()?;
                    self.ws::<T>();
                    T::string(s, text)
                }
                Some(b'-' | b'0'..=b'9') => {
                    let (value, end) = number::read(self.bytes, self.pos);
                    self.pos = end;
                    self.ws::<T>();
                    T::number(value?)
                }
                _ => self.value(depth)?,
            };
            members.push((name, value));
            if self.end_of(b'}', "expected ',' or '}'")? {
                return Ok(members);
            }
        }
    }

    fn hex4(&mut self) -> Step<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = hex_digit(self.next().unwrap_or(0)).ok_or("invalid \\u escape")?;
            v = (v << 4) | d;
        }
        Ok(v)
    }

    /// A string, checked: as written, and decoded into the tree's
    /// [`Tree::Text`] on the way (one pass; nothing for the borrowed tree).
    fn string<T: Tree<'a>>(&mut self) -> Step<(Str<'a>, T::Text)> {
        self.pos += 1; // '"'
        let start = self.pos;
        let mut escaped = false;
        let mut text = T::Text::default();
        loop {
            // Printable ASCII but '"' and '\\' (most of every string of a
            // token) in a tight loop over the rest of the input.
            let rest = if T::HOT {
                self.bytes.get(self.pos..).unwrap_or_default()
            } else {
                &[]
            };
            let plain = rest
                .iter()
                .position(|&b| !(0x20..0x80).contains(&b) || b == b'"' || b == b'\\')
                .unwrap_or(rest.len());
            for &b in rest.get(..plain).unwrap_or_default() {
                T::push(&mut text, char::from(b));
            }
            self.pos += plain;
            // On invalid UTF-8, `read` reports that instead.
            let b = self.peek().ok_or("unterminated string")?;
            let c = match b {
                b'"' => {
                    let raw = self.bytes.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok((Str { raw, escaped }, text));
                }
                b'\\' => {
                    escaped = true;
                    self.pos += 1;
                    match self.next().unwrap_or(0) {
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) {
                                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                    return Err("lone surrogate");
                                }
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err("lone surrogate");
                                }
                                code = 0x1_0000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            } else if (0xDC00..0xE000).contains(&code) {
                                return Err("lone surrogate");
                            }
                            // A scalar value: surrogates were paired above.
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        e => char::from(simple_escape(e).ok_or("invalid escape")?),
                    }
                }
                0..=0x1f => return Err("control character in string"),
                0x80.. => {
                    let (c, len) =
                        decode_char(self.bytes, self.pos).ok_or("unterminated string")?;
                    self.pos += len;
                    c
                }
                _ => {
                    self.pos += 1;
                    char::from(b)
                }
            };
            T::push(&mut text, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Value;
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        let src = r#" {"a":[1,2.5,-3e2,true,false,null],"b":{"c":"x\"\u00e9\ud83d\ude00\n"}} "#;
        let v = parse(src).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.get("a").unwrap().as_array().unwrap().len(), 6);
        assert_eq!(
            o.get("b").unwrap().as_object().unwrap().get_str("c"),
            Some("x\"é😀\n")
        );
        assert_eq!(parse(&v.to_json()).unwrap(), v);
        let escapes = parse(r#""\"\\\/\b\f\n\r\t""#).unwrap();
        assert_eq!(escapes.as_str(), Some("\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(parse("1700000000").unwrap().to_json(), "1700000000");
    }

    #[test]
    fn a_borrowed_tree_keeps_strings_as_written() {
        let src =
            br#"{"plain":"abc","esc":"a\u0062c\n","emoji":"\ud83d\ude00","n":[1,{"x":null}]}"#;
        let node = read(src).unwrap();
        let members = node.as_object().unwrap();
        let plain = members.get_str("plain").unwrap();
        assert_eq!(plain.plain(), Some(&b"abc"[..]));
        assert!(plain.is("abc") && !plain.is("ab"));
        let esc = members.get_str("esc").unwrap();
        assert_eq!(esc.plain(), None);
        assert_eq!(esc.raw(), br"a\u0062c\n");
        assert!(esc.is("abc\n") && !esc.is("abc"));
        assert_eq!(esc.decoded(), "abc\n");
        assert_eq!(esc.bytes().collect::<Vec<u8>>(), b"abc\n");
        let emoji = members.get_str("emoji").unwrap();
        assert_eq!(emoji.decoded(), "😀");
        assert_eq!(emoji.bytes().collect::<Vec<u8>>(), "😀".as_bytes());
        assert!(members.get("n").unwrap().as_array().unwrap()[1]
            .as_object()
            .unwrap()
            .get("x")
            .is_some());
        // A name spelled with an escape is found by its decoded text.
        let escaped_name = read(br#"{"\u0069ss":"x"}"#).unwrap();
        assert!(escaped_name.as_object().unwrap().get("iss").is_some());
        assert_eq!(Value::from(&node), parse_bytes(src).unwrap());
    }

    #[test]
    fn rejects_what_rfc_8259_and_7493_reject() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"01"#,
            r#"1."#,
            r#".5"#,
            r#"+1"#,
            r#"-"#,
            r#"--1"#,
            r#"-.5"#,
            r#"00"#,
            r#"-01"#,
            r#"1.e5"#,
            r#"1.2.3"#,
            r#"1e"#,
            r#"1e+"#,
            r#"1E-x"#,
            r#"1e999"#,
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud800\u0041""#,
            "\"a\u{1}\"",
            r#"{"a" 1}"#,
            r#"nul"#,
            r#"{} {}"#,
            r#""abc"#,
            r#"'a'"#,
            "",
            "NaN",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(parse(r#""\x""#).unwrap_err().reason, "invalid escape");
        assert_eq!(parse(r#""\udc00""#).unwrap_err().reason, "lone surrogate");
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err().reason, "nesting too deep");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn duplicate_names_are_found_in_large_objects_too() {
        let names: Vec<String> = (0..3000).map(|i| format!("m{i}")).collect();
        let object = |names: &[String]| {
            let members: Vec<String> = names.iter().map(|n| format!("\"{n}\":0")).collect();
            format!("{{{}}}", members.join(","))
        };
        let unique = parse(&object(&names)).unwrap();
        assert_eq!(unique.as_object().unwrap().len(), 3000);
        assert_eq!(
            unique.as_object().unwrap().get("m2999"),
            Some(&Value::Number(0.0))
        );
        // A repeat of an early, a middle and the last name, past the linear
        // scan, and ones spelled with an escape.
        for (repeat, spelled) in [
            (0, "m0"),
            (15, "m15"),
            (16, "m16"),
            (1500, "m1500"),
            (2999, "m2999"),
            (7, "\\u006d7"),
            (2998, "m29\\u00398"),
        ] {
            let mut with = names.clone();
            with.push(spelled.to_owned());
            let err = parse(&object(&with)).unwrap_err();
            assert_eq!(err.reason, "duplicate member name", "{repeat}");
        }
    }

    #[test]
    fn rejects_what_utf_8_rejects() {
        for (bad, offset) in [
            (&b"\"\xff\""[..], 1),
            (b"\"a\xc0\x80\"", 2),        // overlong
            (b"\"\xe0\x9f\xbf\"", 1),     // overlong
            (b"\"\xf0\x8f\xbf\xbf\"", 1), // overlong
            (b"\"\xed\xa0\x80\"", 1),     // a surrogate
            (b"\"\xf4\x90\x80\x80\"", 1), // above U+10FFFF
            (b"\"\xe2\x82\"", 1),         // cut short
            (b"\"\xe2\x82", 1),
            (b"[1, 2 \xff", 6), // outside a string
            (b"{} \x80", 3),
        ] {
            let err = parse_bytes(bad).unwrap_err();
            assert_eq!(
                (err.reason, err.offset),
                ("invalid UTF-8", offset),
                "{bad:?}"
            );
        }
        let ok = "\"\u{7f}\u{80}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{ffff}\u{10000}\u{10ffff}\"";
        assert_eq!(parse_bytes(ok.as_bytes()), parse(ok));
        assert_eq!(parse(ok).unwrap().as_str(), ok.get(1..ok.len() - 1));
    }

    /// What each tree makes of `input`: the owned tree as [`parse_bytes`]
    /// builds it, and the borrowed tree [`read`] builds, copied.
    fn both_trees(input: &[u8]) -> (Result<Value, JsonError>, Result<Value, JsonError>) {
        (
            parse_bytes(input),
            read(input).map(|node| Value::from(&node)),
        )
    }

    #[test]
    fn both_trees_accept_and_reject_alike() {
        let mut inputs: Vec<Vec<u8>> = [
            r#" {"a":[1,2.5,-3e2,true,false,null],"b":{"c":"x\"\u00e9\ud83d\ude00\n"}} "#,
            r#"{"\u0069ss":"a\/b","iss2":"\u00e9t\u00e9","":{"":[]}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"\u00e9":1,"é":2}"#,
            r#"{"\ud83d\ude00":1,"😀":2}"#,
            r#"{"a":1,"b":{"a":2,"b":[{"a":3}]}}"#,
            r#"[1,]"#,
            r#"{"a" 1}"#,
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\x""#,
            "\"a\u{1}\"",
            "",
            "nul",
            r#"{} {}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        // Duplicates past the linear scan of the borrowed tree, spelled
        // plainly and with an escape, and their unique counterpart.
        let names: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let unique = format!("{{{}}}", names.join(","));
        inputs.push(unique.clone().into_bytes());
        for repeat in [r#""k3":0"#, r#""\u006b39":0"#, r#""k\u0032\u0030":0"#] {
            inputs.push(format!("{},{repeat}}}", &unique[..unique.len() - 1]).into_bytes());
        }
        for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
            let deep = "[".repeat(depth) + &"]".repeat(depth);
            inputs.push(deep.into_bytes());
            let deep = r#"{"a":"#.repeat(depth) + "1" + &"}".repeat(depth);
            inputs.push(deep.into_bytes());
        }
        inputs.push(b"\"a\xc0\x80\"".to_vec());
        inputs.push(b"[\"\xed\xa0\x80\"]".to_vec());
        let mut accepted = 0;
        for input in &inputs {
            let (owned, borrowed) = both_trees(input);
            assert_eq!(owned, borrowed, "{:?}", String::from_utf8_lossy(input));
            accepted += usize::from(owned.is_ok());
        }
        assert_eq!(accepted, 6, "the documents above that are JSON");
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            read(deep.as_bytes()).unwrap_err().reason,
            "nesting too deep"
        );
        let duplicate = format!(r#"{},"k\u0033":0}}"#, &unique[..unique.len() - 1]);
        let err = read(duplicate.as_bytes()).unwrap_err();
        assert_eq!(err, parse(&duplicate).unwrap_err());
        assert_eq!(
            (err.reason, err.offset),
            ("duplicate member name", unique.len())
        );
    }

    /// A JSON text with strings written plainly or escaped and names drawn
    /// so that some repeat (plainly or as another spelling), objects past
    /// the borrowed tree's linear scan, and now and then a flaw.
    fn document() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = prop_oneof![
            8 => "[a-z]{1,5}",
            1 => "[a-z]?",
            // Names spelled plainly here, and escaped here or below.
            2 => "[a-c]{1,2}",
            4 => "[\\u{0}-\\u{10ffff}]{0,4}".prop_map(|s| {
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if i % 2 == 0 || (c as u32) < 0x20 || c == '"' || c == '\\' {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            }),
            1 => Just(r"\u0061".to_owned()),
            1 => Just(r#"\/\b\f\n\r\t\\\""#.to_owned()),
        ];
        let leaf = prop_oneof![
            6 => Just("null".to_owned()),
            6 => Just("true".to_owned()),
            6 => Just("false".to_owned()),
            18 => "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?",
            24 => string.clone().prop_map(|s| format!("\"{s}\"")),
            // Flaws: a leading zero, a lone surrogate.
            1 => Just("01".to_owned()),
            1 => Just(r#""\ud800""#.to_owned()),
        ];
        leaf.prop_recursive(4, 96, 24, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((string.clone(), inner), 0..24).prop_map(|members| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(name, value)| format!("\"{name}\" : {value}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest::proptest! {
        // Enough cases that objects past the borrowed tree's linear scan
        // are read whole and with a repeated name, each several times.
        #![proptest_config(proptest::test_runner::Config::with_cases(1024))]

        /// Both trees are built by the one grammar: they accept the same
        /// documents, with the same values, and reject the others with the
        /// same error.
        #[test]
        fn both_trees_read_documents_alike(text in document()) {
            let (owned, borrowed) = both_trees(text.as_bytes());
            proptest::prop_assert_eq!(owned, borrowed);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_bytes(&bytes);
            let _ = read(&bytes);
        }


        /// ... and any text made of JSON's characters.
        #[test]
        fn both_trees_read_anything_alike(text in r#"[\[\]{}",: 0-9.eE+\-a-fnrtul\\é]{0,32}"#) {
            let (owned, borrowed) = both_trees(text.as_bytes());
            proptest::prop_assert_eq!(owned, borrowed);
        }

        /// A string decodes to what `std` makes of the same JSON text, and
        /// its decoded bytes and comparisons agree with that.
        #[test]
        fn strings_decode_like_std(text in "[\\u{0}-\\u{10ffff}]{0,12}", escape_every in 1usize..4) {
            // Written with some characters escaped as \uXXXX (surrogate
            // pairs above the BMP).
            let mut json = String::from("\"");
            for (i, c) in text.chars().enumerate() {
                if i % escape_every == 0 || (c as u32) < 0x20 || c == '"' || c == '\\' {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        json.push_str(&format!("\\u{unit:04x}"));
                    }
                } else {
                    json.push(c);
                }
            }
            json.push('"');
            let node = read(json.as_bytes()).unwrap();
            let s = node.as_str().unwrap();
            proptest::prop_assert_eq!(s.decoded(), text.clone());
            proptest::prop_assert_eq!(s.bytes().collect::<Vec<u8>>(), text.as_bytes().to_vec());
            proptest::prop_assert!(s.is(&text));
        }

        /// [`utf8`] and [`parse_bytes`] accept and reject as if
        /// `core::str::from_utf8` checked first: random bytes, and valid
        /// text with one byte changed, cut or inserted.
        #[test]
        fn utf8_agrees_with_core(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            text in "[\\u{0}-\\u{10ffff}]{0,16}",
            at in proptest::num::usize::ANY,
            byte in proptest::prop_oneof![0x80u8..0xc0, 0xc0u8..0xff, proptest::num::u8::ANY],
            edit in 0u8..3,
        ) {
            let mut mutated = format!("\"{text}\"").into_bytes();
            let i = at % mutated.len();
            match edit {
                0 => mutated[i] = byte,
                1 => mutated.truncate(i),
                _ => mutated.insert(i, byte),
            }
            for input in [bytes, mutated] {
                let core = core::str::from_utf8(&input);
                proptest::prop_assert_eq!(
                    utf8(&input),
                    core.map(str::to_owned).map_err(|e| e.valid_up_to())
                );
                match core {
                    Ok(s) => proptest::prop_assert_eq!(parse_bytes(&input), parse(s)),
                    Err(e) => proptest::prop_assert_eq!(
                        parse_bytes(&input).unwrap_err(),
                        JsonError { reason: "invalid UTF-8", offset: e.valid_up_to() }
                    ),
                }
            }
        }
    }
}
