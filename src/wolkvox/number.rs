//! How Wolkvox spells numbers: every field value is a string, and a number may come as `12`,
//! `12.5`, `1,234` or `9,336.00`, with spaces around it (../shared/wolkvox-api.md). The report's
//! `calls` and `time` and token_info's counts are all read here.

/// A finite, non-negative number, or nothing.
pub(crate) fn valid(n: f64) -> Option<f64> {
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// Parses a non-negative number: `12`, `12.5`, `1,234`, `9,336.00`, with surrounding spaces.
/// A comma is only a thousands separator (groups of exactly three digits): "12,5" is refused
/// rather than guessed.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if !int.contains(',') {
        // No thousands separator (the common case): the text is digits with an optional
        // fraction, which f64's parser reads as it stands.
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return decimal(int, frac.unwrap_or(""))
            .or_else(|| s.parse::<f64>().ok())
            .and_then(valid);
    }
    let mut groups = int.split(',');
    let first = groups.next()?;
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = String::with_capacity(s.len());
    digits.push_str(first);
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(g);
    }
    if first.len() > 3 {
        return None;
    }
    if let Some(f) = frac {
        digits.push('.');
        digits.push_str(f);
    }
    digits.parse::<f64>().ok().and_then(valid)
}

/// Powers of ten that an f64 holds exactly.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// ASCII digits `int` and `frac` (validated by the caller) as the number `int.frac`, when
/// they are at most 15 digits in all; `None` otherwise. The value is the one `str::parse`
/// gives, without its general algorithm: the digits and the power of ten are both exact in an
/// f64, and one division rounds correctly (Clinger's fast path).
pub(crate) fn decimal(int: &str, frac: &str) -> Option<f64> {
    if int.len() + frac.len() > 15 {
        return None;
    }
    let mantissa = int
        .bytes()
        .chain(frac.bytes())
        .fold(0u64, |m, b| m * 10 + u64::from(b - b'0'));
    Some(mantissa as f64 / POW10[frac.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_documented_form() {
        let table: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("12", Some(12.0)),
            ("  42 ", Some(42.0)),
            ("12.5", Some(12.5)),
            ("1,234", Some(1234.0)),
            ("9,336.00", Some(9336.0)),
            ("1,234,567.25", Some(1_234_567.25)),
            ("", None),
            (" ", None),
            ("-3", None),
            ("+3", None),
            ("12,5", None),
            ("1234,567", None),
            ("1,23", None),
            ("12.", None),
            (".5", None),
            ("1e3", None),
            ("NaN", None),
            ("inf", None),
            ("abc", None),
            ("1.2.3", None),
            ("١٢", None),
        ];
        for (input, expected) in table {
            assert_eq!(parse_number(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn the_fast_decimal_path_reads_what_str_parse_reads() {
        let mut state: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..200_000 {
            let digits = |n: u64, next: &mut dyn FnMut(u64) -> u64| -> String {
                (0..n).map(|_| char::from(b'0' + next(10) as u8)).collect()
            };
            let int_len = 1 + next(16);
            let int = digits(int_len, &mut next);
            let frac = digits(next(17 - int_len.min(16)), &mut next);
            let text = if frac.is_empty() {
                int.clone()
            } else {
                format!("{int}.{frac}")
            };
            let expected: f64 = text.parse().unwrap();
            if let Some(got) = decimal(&int, &frac) {
                assert_eq!(got.to_bits(), expected.to_bits(), "{text}");
            }
            assert_eq!(parse_number(&text), Some(expected), "{text}");
        }
    }
}
