//! Pure: raw rows of a `diagram_1_3` answer -> a parsed, trimmed, aggregated [`Report`].
//!
//! No I/O here; every rule is tested on literal strings. The value formats are those listed in
//! docs/wolkvox-api.md: plain integers, decimals, comma-grouped numbers ("9,336.00"),
//! H:MM:SS and MM:SS, with surrounding spaces.

use std::sync::Arc;

use bytes::Bytes;
use hashbrown::{HashMap, HashSet};

use crate::config::TimeUnit;
use crate::upstream::label_enum;
use crate::upstream::number::{digits, parse_number, valid};
use crate::upstream::types::{RawItem, RawRow, Scalar};
use crate::upstream::{self, Classified, PollResult, client::TransportError};

label_enum! {
    /// Why a row was skipped: the `reason` label of `wolkvox_rows_rejected_total`.
    pub enum RejectReason, counted by RejectCounts {
        /// `calls` missing or not a non-negative number.
        InvalidCalls => "invalid_calls",
        /// `time` missing or not a number or duration.
        InvalidTime => "invalid_time",
        /// The element of `data` is not an object.
        NotAnObject => "not_an_object",
    }
}

/// One (rp_id, cod_opc_menu) pair after trimming and adding rows together.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Series {
    /// Routing point id, trimmed; `unknown` when empty. Shared: a report allocates each
    /// distinct label once, and the counters and the exposition keep references to it.
    pub rp_id: Arc<str>,
    /// Menu option, trimmed; `unknown` when empty (shared like `rp_id`).
    pub cod_opc_menu: Arc<str>,
    /// Calls in the window.
    pub calls: f64,
    /// Time in the window, in seconds.
    pub time_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Series sorted by (rp_id, cod_opc_menu).
    pub series: Vec<Series>,
    /// Elements in `data` as Wolkvox sent them, rejected ones included.
    pub rows: usize,
    /// Rows skipped, by reason.
    pub rejected: RejectCounts,
    /// Distinct pairs beyond the series limit, dropped.
    pub dropped_series: usize,
}

/// Classifies an answer ([`upstream::classify`]) and makes its report from its rows: `Some`
/// for success (the rows) and no_data (empty), `None` for a failure.
pub fn from_answer(
    answer: Result<(u16, Bytes), TransportError>,
    unit: TimeUnit,
    max_series: usize,
) -> (Classified, Option<Report>) {
    let mut builder = ReportBuilder::new(unit, max_series);
    let classified = upstream::classify(answer, |item| builder.row(item));
    let report = match classified.result {
        PollResult::Success => Some(builder.finish()),
        // A 404, or a code 404 wrapped in a 200: no data, whatever rows came along.
        PollResult::NoData => Some(Report::default()),
        _ => None,
    };
    (classified, report)
}

/// Builds a [`Report`] one element of `data` at a time, keeping at most `max_series` distinct
/// pairs (the first ones to appear): a runaway IVR must not overload Prometheus.
#[derive(Debug)]
pub struct ReportBuilder {
    unit: TimeUnit,
    max_series: usize,
    rows: usize,
    rejected: RejectCounts,
    series: HashMap<(Arc<str>, Arc<str>), Series>,
    /// Labels repeat (a routing point has several options, an option is on many routing
    /// points): one allocation per distinct value, shared by the series that carry it.
    labels: HashSet<Arc<str>>,
    /// Distinct pairs beyond the limit, only counted.
    dropped: HashSet<(Arc<str>, Arc<str>)>,
}

impl ReportBuilder {
    pub fn new(unit: TimeUnit, max_series: usize) -> Self {
        ReportBuilder {
            unit,
            max_series,
            rows: 0,
            rejected: RejectCounts::default(),
            series: HashMap::new(),
            labels: HashSet::new(),
            dropped: HashSet::new(),
        }
    }

    /// The report: its series sorted by labels.
    pub fn finish(self) -> Report {
        let mut series: Vec<Series> = self.series.into_values().collect();
        // The order of the exposition.
        series
            .sort_unstable_by(|a, b| (&a.rp_id, &a.cod_opc_menu).cmp(&(&b.rp_id, &b.cod_opc_menu)));
        Report {
            series,
            rows: self.rows,
            rejected: self.rejected,
            dropped_series: self.dropped.len(),
        }
    }

    /// Takes the next element of `data`.
    pub fn row(&mut self, item: RawItem<'_>) {
        self.rows += 1;
        let RawItem::Row(row) = &item else {
            self.rejected[RejectReason::NotAnObject] += 1;
            return;
        };
        let (calls, time_seconds) = match parse_row(row, self.unit) {
            Ok(values) => values,
            Err(reason) => {
                self.rejected[reason] += 1;
                return;
            }
        };
        let mut intern = |value: &Scalar<'_>| {
            let label: &str = label(value);
            self.labels.get_or_insert_with(label, |l| l.into()).clone()
        };
        let key = (intern(&row.rp_id), intern(&row.cod_opc_menu));
        if let Some(s) = self.series.get_mut(&key) {
            // Two huge values can add up to infinity: keep the sum, skip the row.
            if !(s.calls + calls).is_finite() {
                self.rejected[RejectReason::InvalidCalls] += 1;
            } else if !(s.time_seconds + time_seconds).is_finite() {
                self.rejected[RejectReason::InvalidTime] += 1;
            } else {
                s.calls += calls;
                s.time_seconds += time_seconds;
            }
        } else if self.series.len() >= self.max_series {
            self.dropped.insert(key);
        } else {
            let series = Series {
                rp_id: key.0.clone(),
                cod_opc_menu: key.1.clone(),
                calls,
                time_seconds,
            };
            self.series.insert(key, series);
        }
    }
}

fn parse_row(row: &RawRow<'_>, unit: TimeUnit) -> Result<(f64, f64), RejectReason> {
    let calls = match &row.calls {
        Scalar::Str(s) => parse_number(s),
        Scalar::Num(n) => valid(*n),
        Scalar::Missing | Scalar::Invalid(_) => None,
    }
    .ok_or(RejectReason::InvalidCalls)?;
    let time = match &row.time {
        Scalar::Str(s) => parse_time_seconds(s, unit),
        Scalar::Num(n) => valid(*n).and_then(|n| valid(scale(n, unit))),
        Scalar::Missing | Scalar::Invalid(_) => None,
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
    if s.is_empty() { "unknown" } else { s }
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

/// Parses a `time` value into seconds: H:MM:SS or MM:SS, or a plain number in `unit`.
pub fn parse_time_seconds(s: &str, unit: TimeUnit) -> Option<f64> {
    let s = s.trim();
    if !s.contains(':') {
        return parse_number(s).and_then(|n| valid(scale(n, unit)));
    }
    let whole = |p: &str| -> Option<f64> { digits(p).then(|| p.parse().ok()).flatten() };
    // Seconds may carry a fraction ("00:01:41.5"); minutes and hours are whole.
    let seconds = |p: &str| -> Option<f64> {
        let (i, f) = p.split_once('.').unwrap_or((p, "0"));
        if i.len() > 2 || !digits(i) || !digits(f) {
            return None;
        }
        let v: f64 = p.parse().ok()?;
        (v < 60.0).then_some(v)
    };
    let mut parts = s.split(':');
    let total = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(m), Some(sec), None) => {
            // Minutes of H:MM:SS are one or two digits below 60.
            let m = (m.len() <= 2)
                .then(|| whole(m))
                .flatten()
                .filter(|m| *m < 60.0)?;
            whole(h)? * 3600.0 + m * 60.0 + seconds(sec)?
        }
        (Some(m), Some(sec), None, None) => whole(m)? * 60.0 + seconds(sec)?,
        _ => return None,
    };
    valid(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// The report of the elements of `data`.
    fn build(items: &[RawItem<'_>], unit: TimeUnit, max_series: usize) -> Report {
        let mut builder = ReportBuilder::new(unit, max_series);
        items.iter().for_each(|item| builder.row(item.clone()));
        builder.finish()
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
            RawItem::NotAnObject(serde::de::IgnoredAny),
        ];
        let r = build(&items, TimeUnit::Minutes, 100);
        assert_eq!(r.rows, 7);
        assert_eq!(
            RejectReason::ALL.map(|reason| r.rejected[reason]),
            [1, 1, 1]
        );
        let got: Vec<_> = r
            .series
            .iter()
            .map(|s| (&*s.rp_id, &*s.cod_opc_menu, s.calls, s.time_seconds))
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
    fn series_sort_as_their_labels_do_whatever_their_lengths_and_bytes() {
        let labels = [
            "",
            "1",
            "10",
            "100",
            "1000",
            "9",
            "a",
            "ab",
            "ab\0",
            "ab\0c",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefghj",
            "abcdefgi",
            "AGENTE",
            "PULSE",
            "PULSE_",
            "ñ",
            "zzzzzzzzzz",
            "zzzzzzzzz",
        ];
        let mut items = Vec::new();
        for rp in labels {
            for opt in labels.iter().rev() {
                items.push(row(s(rp), s(opt), s("1"), s("0")));
            }
        }
        let series = build(&items, TimeUnit::Seconds, items.len()).series;
        let mut expected = series.clone();
        expected.sort_by(|a, b| (&a.rp_id, &a.cod_opc_menu).cmp(&(&b.rp_id, &b.cod_opc_menu)));
        // "" reads as `unknown`: every other pair is distinct.
        assert_eq!(series.len(), labels.len() * labels.len());
        assert_eq!(series, expected);
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
        let r = build(&items, TimeUnit::Minutes, 2);
        assert_eq!(r.dropped_series, 1);
        let got: Vec<_> = r
            .series
            .iter()
            .map(|s| (&*s.cod_opc_menu, s.calls))
            .collect();
        assert_eq!(got, vec![("a", 6.0), ("b", 1.0)]);
    }

    #[test]
    fn rows_with_escaped_labels_add_up_with_their_plain_twins() {
        // An escape makes serde_json copy the string: the builder must not keep it borrowed.
        let body = r#"{"code":200,"data":[
            {"rp_id":"7","cod_opc_menu":"PUL\u0053E","calls":"1","time":"1"},
            {"rp_id":"\u0037","cod_opc_menu":"PULSE","calls":"2","time":"2"},
            {"rp_id":"7","cod_opc_menu":"1","calls":"4","time":"0"}]}"#;
        let (_, report) = from_answer(Ok((200, Bytes::from(body))), TimeUnit::Minutes, 10);
        let report = report.expect("a report");
        let got: Vec<(&str, &str, f64, f64)> = report
            .series
            .iter()
            .map(|s| (&*s.rp_id, &*s.cod_opc_menu, s.calls, s.time_seconds))
            .collect();
        assert_eq!(got, vec![("7", "1", 4.0, 0.0), ("7", "PULSE", 3.0, 180.0)]);
        assert_eq!(report.rows, 3);
        // Both series share one copy of the routing point's label.
        assert!(std::sync::Arc::ptr_eq(
            &report.series[0].rp_id,
            &report.series[1].rp_id
        ));
    }

    #[test]
    fn no_data_is_an_empty_report_and_up() {
        let (c, report) = from_answer(
            Ok((
                404,
                Bytes::from_static(br#"{"code":404,"msg":"Validate dates entered","data":null}"#),
            )),
            TimeUnit::Minutes,
            10_000,
        );
        assert_eq!(report, Some(Report::default()));
        assert!(c.result.is_up());
    }
}
