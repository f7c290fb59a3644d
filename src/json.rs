//! A small, strict JSON reader and writer (RFC 8259, I-JSON RFC 7493).
//!
//! Why not serde_json: JOSE needs duplicate member names rejected
//! (RFC 7515 §5.2, RFC 7519 §4, RFC 8725 §3.8), lone surrogates rejected
//! (RFC 7493 §2.1), a nesting limit, and no panic on any input; and the npm
//! verifier must stay small. This reader does exactly that and no more.

use crate::prelude::*;
use core::fmt;

/// Maximum nesting depth of arrays and objects.
pub const MAX_DEPTH: usize = 32;

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

    fn name(&self, i: usize) -> &str {
        self.0.get(i).map_or("", |(k, _)| k.as_str())
    }

    fn search(&self, index: &[u32], name: &str) -> core::result::Result<usize, usize> {
        index.binary_search_by(|&i| self.name(i as usize).cmp(name))
    }
}

fn insert_at(index: &mut Vec<u32>, at: usize, member: usize) {
    // Shifted by hand: `Vec::insert` would bring a panic into the wasm.
    let mut carry = member as u32;
    for slot in index.iter_mut().skip(at) {
        carry = core::mem::replace(slot, carry);
    }
    index.push(carry);
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
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => write_number(out, *n),
            Value::String(s) => write_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(obj) => {
                out.push('{');
                for (i, (k, v)) in obj.0.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `n` as an integer when it is a whole number below 2^53 in magnitude
/// (every such integer is exact in a double and in a JS number), else
/// `None`. (`f64::fract` is not in `core`.)
pub fn safe_integer(n: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    (n > -LIMIT && n < LIMIT && (n as i64) as f64 == n).then_some(n as i64)
}

/// Writes an integer-valued number without a fraction; other numbers as the
/// shortest decimal that reads back as the same double, without exponent
/// (the form Rust's `{}` prints), by [`write_float`].
fn write_number(out: &mut String, n: f64) {
    use crate::error::Part;
    if let Some(i) = safe_integer(n) {
        i.push_to(out);
    } else {
        write_float(out, n);
    }
}

/// A finite double as a plain decimal (`0.1`, `-2.5e-7` as `-0.00000025`,
/// `1e21` as `1000000000000000000000`) with the fewest significant digits
/// that read back as exactly `n`; `null` for NaN and infinities (which
/// `Value::Number` never holds).
///
/// Small on purpose: `core::fmt`'s float printing (Grisu with a Dragon4
/// fallback) is ~14 kB of wasm, and the float parser's tables another
/// ~11 kB. The exact decimal expansions of `n` and of the two midpoints to
/// its neighbours are computed with a tiny big integer; `n` rounded to 1, 2,
/// … 17 significant digits is written as soon as it lies between the
/// midpoints (on one with an even mantissa, as round-half-even reads it).
/// 17 digits always do.
fn write_float(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    let (mantissa, exp) = decompose(n.to_bits());
    let (digits, mut point) = exact_decimal(mantissa, exp);
    // The midpoints to the neighbouring doubles.
    let (low, low_point) = low_midpoint(mantissa, exp);
    let (high, high_point) = exact_decimal(2 * mantissa + 1, exp - 1);
    let ties_read_back = mantissa % 2 == 0;
    let mut best = digits.clone();
    let inside = |candidate: &[u8], candidate_point: i32| {
        let above_low = cmp_decimal(candidate, candidate_point, &low, low_point);
        let below_high = cmp_decimal(candidate, candidate_point, &high, high_point);
        (above_low.is_gt() || (ties_read_back && above_low.is_eq()))
            && (below_high.is_lt() || (ties_read_back && below_high.is_eq()))
    };
    'search: for precision in 1..=digits.len().min(17) {
        // `n` cut to `precision` digits, and that plus one in the last
        // digit; the closer one first. (Near a power of two the midpoints
        // are not symmetric: the farther one can be the only one inside.)
        let down: Vec<u8> = digits.iter().take(precision).copied().collect();
        let mut up = down.clone();
        let mut up_point = point;
        let mut carried = true;
        for d in up.iter_mut().rev() {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                carried = false;
                break;
            }
        }
        if carried {
            // 99.. became 00..: it is 10.., one more integer digit.
            if let Some(first) = up.first_mut() {
                *first = b'1';
            }
            up_point += 1;
        }
        let round_up = digits.get(precision).is_some_and(|&d| d >= b'5');
        let tries = if round_up {
            [(up, up_point), (down, point)]
        } else {
            [(down, point), (up, up_point)]
        };
        for (candidate, candidate_point) in tries {
            if inside(&candidate, candidate_point) {
                best = candidate;
                point = candidate_point;
                break 'search;
            }
        }
    }
    while best.last() == Some(&b'0') {
        best.pop();
    }
    if n.is_sign_negative() {
        out.push('-');
    }
    let len = best.len() as i32;
    let push_digits = |out: &mut String, ds: &[u8]| out.extend(ds.iter().map(|&d| char::from(d)));
    if point <= 0 {
        out.push_str("0.");
        for _ in point..0 {
            out.push('0');
        }
        push_digits(out, &best);
    } else if point >= len {
        push_digits(out, &best);
        for _ in len..point {
            out.push('0');
        }
    } else if let (Some(int), Some(frac)) = (best.get(..point as usize), best.get(point as usize..))
    {
        push_digits(out, int);
        out.push('.');
        push_digits(out, frac);
    }
}

/// `(mantissa, exp)` with `|n| = mantissa · 2^exp` for the bits of a finite
/// double `n`.
fn decompose(bits: u64) -> (u64, i32) {
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    }
}

/// The exact midpoint between `mantissa · 2^exp` (from [`decompose`],
/// `mantissa` > 0) and the next double below, as [`exact_decimal`] gives it.
/// It is closer when the mantissa is the smallest of its binade (above the
/// subnormals, whose spacing is the same).
fn low_midpoint(mantissa: u64, exp: i32) -> (Vec<u8>, i32) {
    if mantissa == 1 << 52 && exp > -1074 {
        exact_decimal(4 * mantissa - 1, exp - 2)
    } else {
        exact_decimal(2 * mantissa - 1, exp - 1)
    }
}

/// The exact decimal digits of `mantissa · 2^exp` (`mantissa` > 0, below
/// 2^56): `(digits, point)` with the value `0.digits · 10^point`, the first
/// digit non-zero. Base-10⁹ limbs, multiplied by 2^29 or 5^13 at a time
/// (`m · 2^-k = m · 5^k / 10^k`).
fn exact_decimal(mantissa: u64, exp: i32) -> (Vec<u8>, i32) {
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u32> = vec![
        (mantissa % BASE) as u32,
        (mantissa / BASE % BASE) as u32,
        (mantissa / BASE / BASE) as u32,
    ];
    let (mut left, step, factor, scale) = if exp >= 0 {
        (exp, 29, 1u64 << 29, 0)
    } else {
        (-exp, 13, 1_220_703_125u64, -exp) // 5^13
    };
    while left > 0 {
        let k = left.min(step);
        let f = if k == step {
            factor
        } else if exp >= 0 {
            1u64 << k
        } else {
            5u64.pow(k as u32)
        };
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * f + carry;
            *limb = (v % BASE) as u32;
            carry = v / BASE;
        }
        while carry > 0 {
            limbs.push((carry % BASE) as u32);
            carry /= BASE;
        }
        left -= k;
    }
    let mut digits = Vec::with_capacity(limbs.len() * 9);
    for limb in limbs.iter().rev() {
        let mut chunk = [b'0'; 9];
        let mut v = *limb;
        for d in chunk.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        digits.extend_from_slice(&chunk);
    }
    let lead = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let digits = digits.get(lead..).map(<[u8]>::to_vec).unwrap_or_default();
    let point = digits.len() as i32 - scale;
    (digits, point)
}

/// Compares `0.a · 10^a_point` with `0.b · 10^b_point` (first digits non-zero).
fn cmp_decimal(a: &[u8], a_point: i32, b: &[u8], b_point: i32) -> core::cmp::Ordering {
    a_point.cmp(&b_point).then_with(|| {
        let digit = |ds: &[u8], i: usize| ds.get(i).copied().unwrap_or(b'0');
        (0..a.len().max(b.len()))
            .map(|i| digit(a, i).cmp(&digit(b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(core::cmp::Ordering::Equal)
    })
}

/// Writes `s` as a quoted, escaped JSON string.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Decoded by [`decode`], not `chars`: the wasm needs one decoder only.
    let mut at = 0;
    while let Some((c, len)) = decode(s.as_bytes(), at) {
        at += len;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from_digit((c as u32 >> shift) & 0xf, 16).unwrap_or('0'));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

/// Parses one JSON document (whitespace around it allowed, nothing else).
pub fn parse(input: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        bytes: input.as_bytes(),
        pos: 0,
    };
    p.document().map_err(|reason| JsonError {
        reason,
        offset: p.pos,
    })
}

/// Parses bytes that must be UTF-8 JSON.
///
/// The parser reads bytes (outside strings only ASCII is valid JSON) and
/// decodes strings itself; input that fails and is not UTF-8 fails with
/// "invalid UTF-8" at its first invalid sequence, as if checked first.
/// (`core::str::from_utf8` would add ~0.7 kB to the wasm.)
pub fn parse_bytes(input: &[u8]) -> Result<Value, JsonError> {
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

/// `bytes` as a string, or the offset of their first invalid UTF-8
/// sequence (what `core::str::from_utf8` accepts, and its `valid_up_to`).
pub fn utf8(bytes: &[u8]) -> Result<String, usize> {
    let mut out = String::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let (c, len) = decode(bytes, at).ok_or(at)?;
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
        match decode(bytes, at) {
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
fn decode(bytes: &[u8], at: usize) -> Option<(char, usize)> {
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

impl Parser<'_> {
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

    fn document(&mut self) -> Step<Value> {
        let value = self.value(0)?;
        if self.pos != self.bytes.len() {
            return Err("trailing characters after the JSON value");
        }
        Ok(value)
    }

    /// A value and the whitespace around it, inside `depth` arrays and
    /// objects.
    fn value(&mut self, depth: usize) -> Step<Value> {
        self.skip_ws();
        let value = match self.peek() {
            None => return Err("unexpected end of input"),
            Some(open @ (b'{' | b'[')) => self.container(open == b'{', depth + 1)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b @ (b't' | b'f' | b'n')) => {
                let (word, value): (&[u8], _) = match b {
                    b't' => (b"true", Value::Bool(true)),
                    b'f' => (b"false", Value::Bool(false)),
                    _ => (b"null", Value::Null),
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
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err("unexpected character"),
        };
        self.skip_ws();
        Ok(value)
    }

    /// An object or an array (the `depth`th nested one).
    fn container(&mut self, object: bool, depth: usize) -> Step<Value> {
        if depth > MAX_DEPTH {
            return Err("nesting too deep");
        }
        self.pos += 1; // '{' or '['
        let mut obj = Object::default();
        let mut items = Vec::new();
        self.members(object, depth, &mut obj, &mut items)?;
        Ok(if object {
            Value::Object(obj)
        } else {
            Value::Array(items)
        })
    }

    /// The members of an object into `obj`, or the items of an array into
    /// `items`, and the closing bracket.
    fn members(
        &mut self,
        object: bool,
        depth: usize,
        obj: &mut Object,
        items: &mut Vec<Value>,
    ) -> Step<()> {
        let close = if object { b'}' } else { b']' };
        // Member indexes sorted by name: a new name is checked for a
        // duplicate by binary search, so a hostile document with thousands
        // of members costs O(n log n) name comparisons, not O(n²).
        let mut index = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if object {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err("expected a member name");
                    }
                    let name_at = self.pos;
                    let name = self.string()?;
                    let Err(slot) = obj.search(&index, &name) else {
                        self.pos = name_at;
                        return Err("duplicate member name");
                    };
                    self.skip_ws();
                    if self.next() != Some(b':') {
                        return Err("expected ':'");
                    }
                    let v = self.value(depth)?;
                    insert_at(&mut index, slot, obj.0.len());
                    obj.0.push((name, v));
                } else {
                    items.push(self.value(depth)?);
                }
                match self.next() {
                    Some(b',') => {}
                    Some(b) if b == close => break,
                    _ if object => return Err("expected ',' or '}'"),
                    _ => return Err("expected ',' or ']'"),
                }
            }
        }
        Ok(())
    }

    /// A number, checked against the RFC 8259 grammar as its digits are
    /// gathered.
    fn number(&mut self) -> Step<Value> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let mut n = Decimal::default();
        let mut part = 0; // the integer part, the fraction, the exponent
        let mut run = 0; // digits in the part so far
        let (mut exp, mut exp_negative) = (0, false);
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' if part == 2 => exp = (exp * 10 + i64::from(b - b'0')).min(100_000),
                // A leading zero ends the integer part.
                b'0'..=b'9' if part == 1 || run == 0 || n.mantissa != 0 => {
                    let fraction = part == 1;
                    if n.digits < 19 {
                        n.mantissa = n.mantissa * 10 + u64::from(b - b'0');
                        // Leading zeros carry no significance.
                        n.digits += u32::from(n.mantissa != 0);
                        n.exp10 -= i64::from(fraction);
                    } else {
                        n.dropped |= b != b'0';
                        n.exp10 += i64::from(!fraction); // a dropped integer digit
                    }
                }
                b'.' if part == 0 && run > 0 => (part, run) = (1, -1),
                b'e' | b'E' if part < 2 && run > 0 => {
                    (part, run) = (2, -1);
                    if let Some(sign @ (b'+' | b'-')) = self.bytes.get(self.pos + 1) {
                        exp_negative = *sign == b'-';
                        self.pos += 1;
                    }
                }
                _ => break,
            }
            run += 1;
            self.pos += 1;
        }
        if run == 0 {
            return Err("invalid number");
        }
        n.exp10 += if exp_negative { -exp } else { exp };
        let digits = self.bytes.get(start + usize::from(negative)..self.pos);
        match n.value(digits.unwrap_or_default()) {
            Some(v) if v.is_finite() => Ok(Value::Number(if negative { -v } else { v })),
            _ => {
                self.pos = start;
                Err("number out of range")
            }
        }
    }

    fn hex4(&mut self) -> Step<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let b = self.next().unwrap_or(0);
            let d = if b.wrapping_sub(b'0') < 10 {
                b - b'0'
            } else if (b | 0x20).wrapping_sub(b'a') < 6 {
                (b | 0x20) - b'a' + 10
            } else {
                return Err("invalid \\u escape");
            };
            v = (v << 4) | u32::from(d);
        }
        Ok(v)
    }

    fn string(&mut self) -> Step<String> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            // On invalid UTF-8, `parse_bytes` reports that instead.
            let (c, len) = decode(self.bytes, self.pos).ok_or("unterminated string")?;
            self.pos += len;
            let c = match c {
                '"' => return Ok(out),
                '\\' => match self.next().unwrap_or(0) {
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
                        }
                        // Only a lone low surrogate is not a char here.
                        char::from_u32(code).ok_or("lone surrogate")?
                    }
                    b => {
                        // The other escapes and the bytes they stand for.
                        let at = b"\"\\/bfnrt".iter().position(|&e| e == b);
                        let c = at.and_then(|at| b"\"\\/\x08\x0c\n\r\t".get(at));
                        char::from(*c.ok_or("invalid escape")?)
                    }
                },
                c if c < ' ' => return Err("control character in string"),
                c => c,
            };
            out.push(c);
        }
    }
}

/// Whether a number outside the fast path of [`Decimal::value`] is rounded
/// correctly (builds with `std`) or kept within a few ulps of it (the
/// `no_std` npm verifier, which saves the exact slow path: 1 kB of gzipped
/// wasm). RFC 8259 §6 lets an implementation limit the precision of
/// numbers. The verifier only compares NumericDates with whole seconds (and
/// hands JS the payload text itself, which `JSON.parse` reads exactly), so
/// a few ulps (under a microsecond for any date before the year 2200) can
/// at most move such a decision by that much, and only for a date written
/// with more than 19 significant digits, more than 15 and a fraction or an
/// exponent, or an exponent past ±22. (At the top of the range, whether a
/// number is out of range is decided on its first 19 significant digits: a
/// number less than 1e-19 below the midpoint between `f64::MAX` and 2^1024
/// reads as out of range.)
const CORRECTLY_ROUNDED: bool = cfg!(feature = "std");

/// An unsigned JSON number as [`Parser::number`] gathers it:
/// `mantissa · 10^exp10`, the mantissa its first 19 significant digits.
#[derive(Default)]
struct Decimal {
    mantissa: u64,
    digits: u32,   // significant digits kept in `mantissa`
    dropped: bool, // non-zero digits not in `mantissa`
    exp10: i64,
}

impl Decimal {
    /// The value of the number (`text`, its digits), correctly rounded (to
    /// nearest, ties to even); `None` or an infinity when it is out of the
    /// range of a double.
    ///
    /// Not `str::parse::<f64>`: its Eisel-Lemire tables and slow path are
    /// ~14 kB of gzipped wasm. The mantissa is scaled by powers of ten; that
    /// is exact in one rounding when the mantissa is below 2^53 and the
    /// power at most 10^22, or when there is no power (Clinger's fast path:
    /// every NumericDate, count and option a token or JWK Set carries).
    /// Otherwise that result, a few ulps off at most, is kept without `std`
    /// (see [`CORRECTLY_ROUNDED`]) and with it moved to the double whose
    /// midpoints to its neighbours enclose the exact decimal input (by
    /// [`nearest`]).
    fn value(&self, text: &[u8]) -> Option<f64> {
        let Decimal {
            mantissa,
            digits,
            dropped,
            exp10,
        } = *self;
        // The value is 0.(significant digits) · 10^point.
        let point = exp10 + i64::from(digits);
        if mantissa == 0 || point < -323 {
            // Below 10^-324 it is under half the least subnormal.
            return Some(0.0);
        }
        if point > 309 {
            return None;
        }
        // Scaled by 10^22 at most at a time: 10^k is exact up to there.
        let mut value = mantissa as f64;
        let mut e = exp10.unsigned_abs();
        while e > 0 {
            let k = e.min(22);
            let mut scale = 1.0;
            for _ in 0..k {
                scale *= 10.0;
            }
            value = if exp10 > 0 {
                value * scale
            } else {
                value / scale
            };
            e -= k;
        }
        let exact = !dropped && (exp10 == 0 || (mantissa <= 1 << 53 && exp10.unsigned_abs() <= 22));
        if CORRECTLY_ROUNDED && !exact {
            return Some(nearest(&significant_digits(text), point as i32, value));
        }
        if !CORRECTLY_ROUNDED && point == 309 {
            // The last roundings may carry a number past f64::MAX: it reads
            // as f64::MAX below the midpoint to 2^1024 as far as its first
            // 19 digits tell (that is 0.1797693134862315807|937… · 10^309).
            let mut first = mantissa;
            for _ in digits..19 {
                first *= 10;
            }
            if first + u64::from(dropped) > 1_797_693_134_862_315_807 {
                return None;
            }
            value = value.min(f64::MAX);
        }
        Some(value)
    }
}

/// The significant digits (ASCII, the first non-zero) of the unsigned JSON
/// number `number`, at most 800 of them then a `1` if any non-zero digit
/// was cut: a midpoint between doubles has at most 768, so the cut input
/// compares with any of them as the whole input does.
fn significant_digits(number: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cut = false;
    for &b in number.iter().take_while(|&&b| b != b'e' && b != b'E') {
        if b.is_ascii_digit() && (b != b'0' || !out.is_empty()) {
            if out.len() < 800 {
                out.push(b);
            } else {
                cut |= b != b'0';
            }
        }
    }
    if cut {
        out.push(b'1');
    }
    out
}

/// The double nearest `0.digits · 10^point` (`digits` as from
/// [`significant_digits`]; ties to the even mantissa), or infinity at or
/// above the midpoint between `f64::MAX` and 2^1024; found from `approx`,
/// a non-negative guess a few ulps off, by stepping one ulp at a time
/// towards the input until it lies between the exact midpoints to both
/// neighbours. Each step moves the same way, so this ends.
fn nearest(digits: &[u8], point: i32, approx: f64) -> f64 {
    const MAX: u64 = 0x7fef_ffff_ffff_ffff; // f64::MAX
    let mut bits = approx.to_bits().min(MAX);
    loop {
        let (mantissa, exp) = decompose(bits);
        let ties_down = bits % 2 == 1; // a tie goes to the even neighbour
        let (high, high_point) = exact_decimal(2 * mantissa + 1, exp - 1);
        let above = cmp_decimal(digits, point, &high, high_point);
        if above.is_gt() || (ties_down && above.is_eq()) {
            if bits == MAX {
                return f64::INFINITY;
            }
            bits += 1;
            continue;
        }
        if bits == 0 {
            break;
        }
        let (low, low_point) = low_midpoint(mantissa, exp);
        let below = cmp_decimal(digits, point, &low, low_point);
        if below.is_lt() || (ties_down && below.is_eq()) {
            bits -= 1;
            continue;
        }
        break;
    }
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
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
    fn rejects_what_rfc_8259_and_7493_reject() {
        for bad in [
            r#"{"a":1,"a":2}"#,
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
        // scan, and one spelled with an escape.
        for (repeat, spelled) in [
            (0, "m0"),
            (15, "m15"),
            (16, "m16"),
            (1500, "m1500"),
            (2999, "m2999"),
            (7, "\\u006d7"),
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

    #[test]
    fn writes_escapes() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\u{1}\u{2028}");
        assert_eq!(s, r#""a\"b\\c\u0001\u2028""#);
    }

    #[test]
    fn numbers() {
        for (text, n) in [
            ("0", 0.0),
            ("-0", -0.0),
            ("1700000000", 1_700_000_000.0),
            ("1700000000.5", 1_700_000_000.5),
            ("-3e2", -300.0),
            ("2.5E-3", 0.0025),
            ("0.000001", 1e-6),
            ("9007199254740993", 9_007_199_254_740_992.0),
            ("1e-400", 0.0),
        ] {
            // The fast path: exact in every build.
            assert_eq!(parse(text).unwrap().as_f64(), Some(n), "{text}");
        }
        for (text, n) in [
            ("2.2250738585072011e-308", 2.225_073_858_507_201e-308),
            ("4.9406564584124654e-324", 5e-324),
            ("1e23", 1e23),
            ("8.988465674311579e307", 8.988_465_674_311_579e307),
            ("1.7976931348623157e308", f64::MAX),
        ] {
            assert_close(parse(text).unwrap().as_f64().unwrap(), n, text);
        }
        // Beyond the fast path: exact too (within a few ulps without std).
        for text in [
            "1e308",
            "1e23",
            "-1e-323",
            "9007199254740993e1",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.797693134862315807e308",
            "17976931348623158e292",
            // Just below the midpoint between f64::MAX and 2^1024.
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.999",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "0e999",
            "-0.0e-999",
            "123456789012345678901234567890",
            "0.1000000000000000055511151231257827021181583404541015625",
            "0.1000000000000000055511151231257827021181583404541015624",
            "0.1000000000000000055511151231257827021181583404541015626",
        ] {
            let std = text.parse::<f64>().unwrap();
            match parse(text) {
                Ok(ours) => assert_close(ours.as_f64().unwrap(), std, text),
                // Without std, a number within 1e-19 (relative) below the
                // midpoint to 2^1024 reads as out of range.
                Err(_) => assert!(!CORRECTLY_ROUNDED && text.starts_with("179769313486231580793")),
            }
        }
        // At or above the midpoint between f64::MAX and 2^1024.
        for text in [
            "1.8e308",
            "1.797693134862315808e308",
            "1e999",
            "-1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792e308",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
        ] {
            assert_eq!(parse(text).unwrap_err().reason, "number out of range", "{text}");
        }
        assert!(parse(&format!("1{}", "0".repeat(400))).is_err());
    }

    /// `ours` is `std`'s reading of `text`: the same double with `std`,
    /// at most [`ULPS`] doubles away without (see [`CORRECTLY_ROUNDED`]).
    fn assert_close(ours: f64, std: f64, text: &str) {
        if CORRECTLY_ROUNDED {
            assert_eq!(ours.to_bits(), std.to_bits(), "{text}");
        } else {
            let apart = (ours.to_bits() as i64 - std.to_bits() as i64).unsigned_abs();
            assert!(
                ours.signum() == std.signum() && apart <= ULPS,
                "{text}: {ours:e} is {apart} ulps from {std:e}"
            );
        }
    }

    /// How far (in doubles) the `no_std` build may read a number from the
    /// correctly rounded one: one rounding of the mantissa, then one per
    /// multiplication or division by up to 10^22 (at most 15 of them for a
    /// normal result; a subnormal one has fewer bits to be off in).
    const ULPS: u64 = 16;

    fn number_text(n: f64) -> String {
        Value::Number(n).to_json()
    }

    #[test]
    fn writes_numbers_like_rust_display() {
        for n in [
            0.1,
            -0.1,
            2.5,
            1.5e-7,
            -3.25e-300,
            5e-324,
            1e21,
            1.797_693_134_862_315_7e308,
            9.007_199_254_740_993e15,
            2.225_073_858_507_201e-308,
            0.3,
            123.456,
            1e-5,
            -1.0e16,
            0.1 + 0.2,
            1.0 / 3.0,
        ] {
            assert_eq!(number_text(n), format!("{n}"), "{n:e}");
            let read = parse(&number_text(n)).unwrap().as_f64().unwrap();
            assert_close(read, n, &number_text(n));
        }
        // Powers of two (the closer lower midpoint), subnormals, neighbours.
        for k in -1074i32..1024 {
            let bits = if k >= -1022 {
                ((k + 1023) as u64) << 52
            } else {
                1 << (k + 1074)
            };
            for b in [bits.saturating_sub(1), bits, bits + 1] {
                let n = f64::from_bits(b);
                if n > 0.0 && (n.fract() != 0.0 || n >= 9.007_199_254_740_992e15) {
                    assert_eq!(number_text(n), format!("{n}"), "{n:e}");
                }
            }
        }
        assert_eq!(number_text(-0.0), "0");
        assert_eq!(number_text(9.5), "9.5");
        // The double nearest 1e23 is 99999999999999991611392: rounding carries.
        assert_eq!(number_text(1e23), format!("1{}", "0".repeat(23)));
        assert_eq!(number_text(1700000000.0), "1700000000");
        assert_eq!(number_text(f64::NAN), "null");
    }

    proptest::proptest! {
        /// Random decimals (short and long mantissas, tiny and huge
        /// exponents) and the exact midpoints between random neighbouring
        /// doubles, on them and just off them, read as `str::parse` reads
        /// them.
        #[test]
        fn numbers_agree_with_std(
            int in proptest::collection::vec(0u8..10, 1..30),
            frac in proptest::collection::vec(0u8..10, 0..40),
            long in 0usize..900,
            exp in -400i32..400,
            neg: bool,
            biased in 0u64..2047,
            fraction in proptest::prop_oneof![
                proptest::num::u64::ANY,
                proptest::strategy::Just(0u64),
                proptest::strategy::Just(u64::MAX),
                0u64..4,
            ],
            small in 0u64..(1 << 53),
        ) {
            let sign = if neg { "-" } else { "" };
            let ascii = |ds: &[u8]| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>();
            let int = ascii(&int).trim_start_matches('0').to_string();
            let int = if int.is_empty() { "0".to_string() } else { int };
            let frac = ascii(&frac);
            let many: String = (0..long).map(|i| char::from(b'0' + (i * 7 % 10) as u8)).collect();
            let mut texts = vec![
                format!("{sign}{int}"),
                format!("{sign}{int}e{exp}"),
                format!("{sign}{int}.{frac}0"),
                format!("{sign}{int}.{frac}1E{exp}"),
                format!("{sign}0.{frac}1e-{}", exp.unsigned_abs()),
                format!("{sign}1{many}e{exp}"),
                format!("{sign}0.{}3{many}e-{}", "0".repeat(long), exp.unsigned_abs()),
                format!("{sign}{small}e{}", exp / 10),
            ];
            // The midpoints above (and, for a power of two, below) a double.
            let bits = (biased << 52) | (fraction & ((1 << 52) - 1));
            let (mantissa, e) = decompose(bits);
            let mut midpoints = vec![exact_decimal(2 * mantissa + 1, e - 1)];
            if mantissa != 0 {
                midpoints.push(low_midpoint(mantissa, e));
            }
            for (digits, point) in midpoints {
                let on = String::from_utf8(digits.clone()).unwrap();
                // The decimal one unit below in the last digit.
                let mut below = digits;
                for d in below.iter_mut().rev() {
                    if *d == b'0' {
                        *d = b'9';
                    } else {
                        *d -= 1;
                        break;
                    }
                }
                let below = String::from_utf8(below).unwrap();
                texts.push(format!("{sign}0.{on}e{point}"));
                texts.push(format!("{sign}0.{on}000000000000001e{point}"));
                texts.push(format!("{sign}0.{below}9999999999e{point}"));
                texts.push(format!("{sign}0.{}e{point}", on.get(..17).unwrap_or(&on)));
            }
            for text in texts {
                let std = text.parse::<f64>().unwrap();
                match parse(&text) {
                    Ok(ours) => assert_close(ours.as_f64().unwrap(), std, &text),
                    Err(e) => {
                        // Without std, a number within a few ulps of
                        // f64::MAX may read as out of range.
                        let near_max = !CORRECTLY_ROUNDED && std.abs() > 1.79e308;
                        proptest::prop_assert!(std.is_infinite() || near_max, "{text}: {e}");
                        proptest::prop_assert_eq!(e.reason, "number out of range");
                    }
                }
                if std.is_infinite() && CORRECTLY_ROUNDED {
                    proptest::prop_assert!(parse(&text).is_err(), "{text}");
                }
            }
            proptest::prop_assert_eq!(parse(&format!("{small}")).unwrap().as_f64(), Some(small as f64));
        }

        #[test]
        fn numbers_read_back_exactly(bits in proptest::num::u64::ANY) {
            let n = f64::from_bits(bits);
            if n.is_finite() {
                let text = number_text(n);
                assert_close(parse(&text).unwrap().as_f64().unwrap(), n, &text);
                if n.fract() != 0.0 || n.abs() >= 9.007_199_254_740_992e15 {
                    proptest::prop_assert_eq!(text, format!("{n}"));
                }
            }
        }

        /// Numbers are accepted exactly when they match the RFC 8259
        /// grammar (checked here on its own), then read as `str::parse`
        /// reads them.
        #[test]
        fn numbers_follow_the_grammar(
            text in proptest::prop_oneof![
                "[-+0-9.eE]{1,8}",
                "-?[0-9]{0,3}[.]?[0-9]{0,2}([eE][-+]?[0-9]{0,2})?",
            ],
        ) {
            let b = text.as_bytes();
            let digits = |i: &mut usize| {
                let from = *i;
                while b.get(*i).is_some_and(u8::is_ascii_digit) {
                    *i += 1;
                }
                *i - from
            };
            let mut i = usize::from(b.first() == Some(&b'-'));
            let int = digits(&mut i);
            let mut grammatical = int == 1 || (int > 1 && b[i - int] != b'0');
            if b.get(i) == Some(&b'.') {
                i += 1;
                grammatical &= digits(&mut i) > 0;
            }
            if let Some(b'e' | b'E') = b.get(i) {
                i += 1;
                if let Some(b'+' | b'-') = b.get(i) {
                    i += 1;
                }
                grammatical &= digits(&mut i) > 0;
            }
            grammatical &= i == b.len();
            match parse(&text) {
                Ok(v) => {
                    proptest::prop_assert!(grammatical, "accepted {}", text);
                    assert_close(v.as_f64().unwrap(), text.parse::<f64>().unwrap(), &text);
                }
                Err(e) => {
                    // Grammatical but beyond the doubles (within a few ulps
                    // of the limit without std): out of range.
                    let out_of_range = e.reason == "number out of range"
                        && text.parse::<f64>().is_ok_and(|n| {
                            n.is_infinite() || (!CORRECTLY_ROUNDED && n.abs() > 1.79e308)
                        });
                    proptest::prop_assert!(!grammatical || out_of_range, "refused {}: {}", text, e.reason);
                }
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_bytes(&bytes);
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
