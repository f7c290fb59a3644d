//! What a number's text is worth (RFC 8259 §6), and the exact decimal
//! expansions of doubles that reading (past the fast path) and writing
//! (`write.rs`) share.
//!
//! Decided here: the number grammar, the double a number reads as
//! (correctly rounded with `std`; within a few ulps in the `no_std` npm
//! verifier past the fast path, see [`CORRECTLY_ROUNDED`]), which numbers
//! are out of range, and which are JS safe integers.

use crate::prelude::*;

/// `n` as an integer when it is a whole number below 2^53 in magnitude
/// (every such integer is exact in a double and in a JS number), else
/// `None`. (`f64::fract` is not in `core`.)
pub fn safe_integer(n: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    (n > -LIMIT && n < LIMIT && (n as i64) as f64 == n).then_some(n as i64)
}

/// Reads the number that starts at `bytes[start]`, checked against the
/// RFC 8259 §6 grammar as its digits are gathered: its value (an error for
/// a number that is not grammatical or beyond the doubles) and where the
/// reading stopped (for an error, where it was found).
pub(super) fn read(bytes: &[u8], start: usize) -> (Result<f64, &'static str>, usize) {
    let mut pos = start;
    let negative = bytes.get(pos) == Some(&b'-');
    if negative {
        pos += 1;
    }
    let mut n = Decimal::default();
    let mut part = 0; // the integer part, the fraction, the exponent
    let mut run = 0; // digits in the part so far
    let (mut exp, mut exp_negative) = (0, false);
    while let Some(&b) = bytes.get(pos) {
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
                if let Some(sign @ (b'+' | b'-')) = bytes.get(pos + 1) {
                    exp_negative = *sign == b'-';
                    pos += 1;
                }
            }
            _ => break,
        }
        run += 1;
        pos += 1;
    }
    if run == 0 {
        return (Err("invalid number"), pos);
    }
    n.exp10 += if exp_negative { -exp } else { exp };
    let digits = bytes.get(start + usize::from(negative)..pos);
    match n.value(digits.unwrap_or_default()) {
        Some(v) if v.is_finite() => (Ok(if negative { -v } else { v }), pos),
        _ => (Err("number out of range"), start),
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

/// `(mantissa, exp)` with `|n| = mantissa · 2^exp` for the bits of a finite
/// double `n`.
pub(super) fn decompose(bits: u64) -> (u64, i32) {
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
pub(super) fn low_midpoint(mantissa: u64, exp: i32) -> (Vec<u8>, i32) {
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
pub(super) fn exact_decimal(mantissa: u64, exp: i32) -> (Vec<u8>, i32) {
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
pub(super) fn cmp_decimal(a: &[u8], a_point: i32, b: &[u8], b_point: i32) -> core::cmp::Ordering {
    a_point.cmp(&b_point).then_with(|| {
        let digit = |ds: &[u8], i: usize| ds.get(i).copied().unwrap_or(b'0');
        (0..a.len().max(b.len()))
            .map(|i| digit(a, i).cmp(&digit(b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(core::cmp::Ordering::Equal)
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{parse, Value};
    use super::*;

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
    pub(in crate::json) fn assert_close(ours: f64, std: f64, text: &str) {
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

    pub(in crate::json) fn number_text(n: f64) -> String {
        Value::Number(n).to_json()
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

    }
}
