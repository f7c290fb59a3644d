//! The compact text of a value: strings escaped (RFC 8259 §7; U+2028 and
//! U+2029 too, so the text is also valid JavaScript), numbers as the
//! shortest decimal that reads back as the same double.

use super::number::{cmp_decimal, decompose, exact_decimal, low_midpoint, safe_integer};
use super::parse::decode_char;
use super::Value;
use crate::prelude::*;

/// Appends `value` as compact JSON.
pub(super) fn write_value(out: &mut String, value: &Value) {
    match value {
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
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(obj) => {
            out.push('{');
            for (i, (k, v)) in obj.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
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

/// Writes `s` as a quoted, escaped JSON string.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Decoded by `decode_char`, not `chars`: the wasm needs one decoder only.
    let mut at = 0;
    while let Some((c, len)) = decode_char(s.as_bytes(), at) {
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

#[cfg(test)]
mod tests {
    use super::super::number::tests::{assert_close, number_text};
    use super::super::parse;
    use super::*;

    #[test]
    fn writes_escapes() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\u{1}\u{2028}");
        assert_eq!(s, r#""a\"b\\c\u0001\u2028""#);
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
    }
}
