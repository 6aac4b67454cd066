//! Pure: raw rows of a `diagram_1_3` answer -> a parsed, trimmed, aggregated [`Report`].
//!
//! No I/O here; every rule is tested on literal strings. The value formats are those listed in
//! ../shared/wolkvox-api.md: plain integers, decimals, comma-grouped numbers ("9,336.00"),
//! H:MM:SS and MM:SS, with surrounding spaces.

use std::collections::{HashMap, HashSet};

use crate::config::TimeUnit;
use crate::wolkvox::types::{RawItem, RawRow, Scalar};

/// Label value used for an empty or missing `rp_id` / `cod_opc_menu`.
pub const UNKNOWN: &str = "unknown";

/// Why a row was skipped: the `reason` label of `wolkvox_rows_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// `calls` missing or not a non-negative number.
    InvalidCalls,
    /// `time` missing or not a number or duration.
    InvalidTime,
    /// The element of `data` is not an object.
    NotAnObject,
}

impl RejectReason {
    /// Every reason, in label order.
    pub const ALL: [RejectReason; 3] = [
        RejectReason::InvalidCalls,
        RejectReason::InvalidTime,
        RejectReason::NotAnObject,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidCalls => "invalid_calls",
            RejectReason::InvalidTime => "invalid_time",
            RejectReason::NotAnObject => "not_an_object",
        }
    }

    /// Position in [`RejectReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One (rp_id, cod_opc_menu) pair after trimming and adding rows together.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Routing point id, trimmed; `unknown` when empty.
    pub rp_id: String,
    /// Menu option, trimmed; `unknown` when empty.
    pub cod_opc_menu: String,
    /// Calls in the window.
    pub calls: f64,
    /// Time in the window, in seconds.
    pub time_seconds: f64,
}

/// A parsed report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Series sorted by (rp_id, cod_opc_menu).
    pub series: Vec<Series>,
    /// Elements in `data` as Wolkvox sent them, rejected ones included.
    pub rows: usize,
    /// Rows skipped, by [`RejectReason::index`].
    pub rejected: [u64; 3],
    /// Distinct pairs beyond the series limit, dropped.
    pub dropped_series: usize,
}

impl Report {
    /// Parses and aggregates the elements of `data`, keeping at most `max_series` distinct
    /// pairs (the first ones to appear): a runaway IVR must not overload Prometheus.
    pub fn build(items: &[RawItem<'_>], unit: TimeUnit, max_series: usize) -> Report {
        let mut dropped: HashSet<(&str, &str)> = HashSet::new();
        let mut rejected = [0u64; 3];
        let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(items.len());
        let mut series: Vec<Series> = Vec::with_capacity(items.len());
        for item in items {
            let row = match item {
                RawItem::Row(row) => row,
                RawItem::NotAnObject => {
                    rejected[RejectReason::NotAnObject.index()] += 1;
                    continue;
                }
            };
            match parse_row(row, unit) {
                Ok((calls, time_seconds)) => {
                    let key = (label(&row.rp_id), label(&row.cod_opc_menu));
                    match index.get(&key) {
                        // Two huge values can add up to infinity: keep the sum, skip the row.
                        Some(&i) if !(series[i].calls + calls).is_finite() => {
                            rejected[RejectReason::InvalidCalls.index()] += 1;
                        }
                        Some(&i) if !(series[i].time_seconds + time_seconds).is_finite() => {
                            rejected[RejectReason::InvalidTime.index()] += 1;
                        }
                        Some(&i) => {
                            series[i].calls += calls;
                            series[i].time_seconds += time_seconds;
                        }
                        None if series.len() >= max_series => {
                            dropped.insert(key);
                        }
                        None => {
                            index.insert(key, series.len());
                            series.push(Series {
                                rp_id: key.0.to_owned(),
                                cod_opc_menu: key.1.to_owned(),
                                calls,
                                time_seconds,
                            });
                        }
                    }
                }
                Err(reason) => rejected[reason.index()] += 1,
            }
        }
        series.sort_unstable_by(|a, b| {
            (a.rp_id.as_str(), a.cod_opc_menu.as_str())
                .cmp(&(b.rp_id.as_str(), b.cod_opc_menu.as_str()))
        });
        Report {
            series,
            rows: items.len(),
            rejected,
            dropped_series: dropped.len(),
        }
    }
}

fn parse_row(row: &RawRow<'_>, unit: TimeUnit) -> Result<(f64, f64), RejectReason> {
    let calls = match &row.calls {
        Scalar::Str(s) => parse_number(s),
        Scalar::Num(n) => valid(*n),
        Scalar::Missing | Scalar::Invalid => None,
    }
    .ok_or(RejectReason::InvalidCalls)?;
    let time = match &row.time {
        Scalar::Str(s) => parse_time_seconds(s, unit),
        Scalar::Num(n) => valid(*n).and_then(|n| valid(scale(n, unit))),
        Scalar::Missing | Scalar::Invalid => None,
    }
    .ok_or(RejectReason::InvalidTime)?;
    Ok((calls, time))
}

/// A label value: trimmed, `unknown` when empty, missing or not a string or number.
fn label<'a>(value: &'a Scalar<'_>) -> &'a str {
    let s = match value {
        Scalar::Str(s) => s.trim(),
        // A number where a string is documented: its JSON text would do, but a label must be a
        // stable string, and the rest of the row is still good, so keep the row under `unknown`.
        _ => "",
    };
    if s.is_empty() { UNKNOWN } else { s }
}

fn valid(n: f64) -> Option<f64> {
    (n.is_finite() && n >= 0.0).then_some(n)
}

fn scale(n: f64, unit: TimeUnit) -> f64 {
    match unit {
        // Decimal minutes times 60 leave binary noise (3.78 * 60 = 226.79999999999998);
        // round to the microsecond so the exposition shows 226.8. Beyond 1e9 seconds the
        // rounding could overflow, and there is no noise worth removing.
        TimeUnit::Minutes if n < 1e9 => (n * 60.0 * 1e6).round() / 1e6,
        TimeUnit::Minutes => n * 60.0,
        TimeUnit::Seconds => n,
    }
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
    let mut groups = int.split(',');
    let first = groups.next()?;
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = String::with_capacity(s.len());
    digits.push_str(first);
    let mut grouped = false;
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        grouped = true;
        digits.push_str(g);
    }
    if grouped && first.len() > 3 {
        return None;
    }
    if let Some(f) = frac {
        digits.push('.');
        digits.push_str(f);
    }
    digits.parse::<f64>().ok().and_then(valid)
}

/// Parses a `time` value into seconds: H:MM:SS or MM:SS, or a plain number in `unit`.
pub fn parse_time_seconds(s: &str, unit: TimeUnit) -> Option<f64> {
    let s = s.trim();
    if !s.contains(':') {
        return parse_number(s).and_then(|n| valid(scale(n, unit)));
    }
    let parts: Vec<&str> = s.split(':').collect();
    let whole = |p: &str| -> Option<f64> {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<f64>().ok())
            .flatten()
    };
    // Seconds may carry a fraction ("00:01:41.5"); minutes and hours are whole.
    let seconds = |p: &str| -> Option<f64> {
        let (i, f) = p.split_once('.').unwrap_or((p, "0"));
        if i.is_empty() || i.len() > 2 || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v = whole(i)? + format!("0.{f}").parse::<f64>().ok()?;
        (v < 60.0).then_some(v)
    };
    let total = match parts.as_slice() {
        [h, m, sec] => {
            // Minutes of H:MM:SS are one or two digits below 60.
            let m = (m.len() <= 2)
                .then(|| whole(m))
                .flatten()
                .filter(|m| *m < 60.0)?;
            whole(h)? * 3600.0 + m * 60.0 + seconds(sec)?
        }
        [m, sec] => whole(m)? * 60.0 + seconds(sec)?,
        _ => return None,
    };
    valid(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

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
    fn times_in_every_documented_form() {
        use TimeUnit::*;
        let table: &[(&str, TimeUnit, Option<f64>)] = &[
            ("3", Minutes, Some(180.0)),
            ("3", Seconds, Some(3.0)),
            ("2.5", Minutes, Some(150.0)),
            ("1,000", Minutes, Some(60_000.0)),
            ("00:01:41", Minutes, Some(101.0)),
            ("00:01:41", Seconds, Some(101.0)),
            (" 1:00:00 ", Minutes, Some(3600.0)),
            ("125:03:10", Minutes, Some(125.0 * 3600.0 + 190.0)),
            ("01:41", Minutes, Some(101.0)),
            ("75:10", Minutes, Some(4510.0)),
            ("00:00:01.5", Minutes, Some(1.5)),
            ("00:60:00", Minutes, None),
            ("00:00:60", Minutes, None),
            ("1:2:3:4", Minutes, None),
            (":30", Minutes, None),
            ("-00:01:00", Minutes, None),
            (&"9".repeat(308), Minutes, None),
            (&"9".repeat(400), Seconds, None),
            ("aa:bb", Minutes, None),
            ("", Minutes, None),
        ];
        for (input, unit, expected) in table {
            assert_eq!(
                parse_time_seconds(input, *unit),
                *expected,
                "{input:?} {unit:?}"
            );
        }
    }

    fn s(v: &str) -> Scalar<'static> {
        Scalar::Str(Cow::Owned(v.to_owned()))
    }

    fn row(
        rp: Scalar<'static>,
        opt: Scalar<'static>,
        calls: Scalar<'static>,
        time: Scalar<'static>,
    ) -> RawItem<'static> {
        RawItem::Row(RawRow {
            rp_id: rp,
            cod_opc_menu: opt,
            calls,
            time,
        })
    }

    #[test]
    fn rows_are_trimmed_merged_sorted_and_rejected_rows_counted() {
        let items = vec![
            row(s(" 7 "), s("PULSE"), s("2"), s("1")),
            row(s("7"), s(" PULSE"), s("3"), s("00:00:30")),
            row(s("7"), s("1"), s("x"), s("1")),
            row(s("7"), s("2"), s("1"), s("soon")),
            row(s(""), Scalar::Missing, Scalar::Num(4.0), Scalar::Num(0.5)),
            row(s("3"), s("AGENTE"), s("1,000"), s("0")),
            RawItem::NotAnObject,
        ];
        let r = Report::build(&items, TimeUnit::Minutes, 100);
        assert_eq!(r.rows, 7);
        assert_eq!(r.rejected, [1, 1, 1]);
        let got: Vec<_> = r
            .series
            .iter()
            .map(|s| {
                (
                    s.rp_id.as_str(),
                    s.cod_opc_menu.as_str(),
                    s.calls,
                    s.time_seconds,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("3", "AGENTE", 1000.0, 0.0),
                ("7", "PULSE", 5.0, 90.0),
                ("unknown", "unknown", 4.0, 30.0),
            ]
        );
        assert_eq!(r.dropped_series, 0);
    }

    #[test]
    fn pairs_beyond_the_limit_are_dropped_and_counted_but_known_pairs_still_add_up() {
        let items = vec![
            row(s("1"), s("a"), s("1"), s("0")),
            row(s("1"), s("b"), s("1"), s("0")),
            row(s("1"), s("c"), s("1"), s("0")),
            row(s("1"), s("c"), s("1"), s("0")),
            row(s("1"), s("a"), s("5"), s("0")),
        ];
        let r = Report::build(&items, TimeUnit::Minutes, 2);
        assert_eq!(r.dropped_series, 1);
        let got: Vec<_> = r
            .series
            .iter()
            .map(|s| (s.cod_opc_menu.as_str(), s.calls))
            .collect();
        assert_eq!(got, vec![("a", 6.0), ("b", 1.0)]);
    }
}
