//! How Wolkvox spells numbers: every field value is a string, and a number may come as `12`,
//! `12.5`, `1,234` or `9,336.00`, with spaces around it (docs/wolkvox-api.md). The report's
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
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    // str::parse also takes signs, exponents, "inf" and a bare "." side: none is Wolkvox's.
    if !digits(frac) {
        return None;
    }
    if !int.contains(',') {
        return digits(int)
            .then(|| s.parse().ok())
            .flatten()
            .and_then(valid);
    }
    let mut groups = int.split(',');
    let first = groups.next()?;
    if first.len() > 3 || !digits(first) || !groups.all(|g| g.len() == 3 && digits(g)) {
        return None;
    }
    s.replace(',', "").parse().ok().and_then(valid)
}

/// Whether `s` is one or more ASCII digits.
pub(crate) fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
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
    fn plain_decimals_read_as_str_parse_reads_them() {
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
            assert_eq!(parse_number(&text), Some(expected), "{text}");
        }
    }
}
