//! Past samples of the per-series families as one OpenMetrics file with timestamps, for
//! `promtool tsdb create-blocks-from openmetrics`: the names, HELP, types and labels of the
//! live exposition, read from the same table ([`FAMILIES`]), so that the live series continue
//! the imported ones.
//!
//! promtool reads the file in one pass per block, and Prometheus' storage takes the samples of
//! a series only in increasing time: each family is written once (HELP and TYPE first), and
//! within it each series whole, its samples in time order.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::families::{FAMILIES, Read};
use super::samples::escape_label_value;
use crate::counters::CounterSeries;
use crate::report::Series;

/// (rp_id, cod_opc_menu).
type Pair = (Arc<str>, Arc<str>);

/// What an operation showed at one instant: the day's running totals (the counters, every
/// pair reported earlier included) and the report of the `today` window (the gauges).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    /// When, in seconds since the epoch in the file.
    pub at: Timestamp,
    /// The counters then, sorted by (rp_id, cod_opc_menu).
    pub counters: Vec<CounterSeries>,
    /// The report then, sorted likewise.
    pub report: Vec<Series>,
}

/// One operation's points, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationHistory {
    /// The `operation` label.
    pub operation: String,
    /// Its points, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// The OpenMetrics file of `ops`, with `extra` labels (job, instance: what a scrape adds) on
/// every sample, ending with `# EOF`.
pub fn encode_history(ops: &[OperationHistory], extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut number = dtoa::Buffer::new();
    for family in FAMILIES.iter().filter(|f| f.per_series()) {
        let name = family.sample_name();
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(family.name.as_bytes());
        out.push(b' ');
        escape_label_value(&mut out, family.help);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(family.name.as_bytes());
        out.extend_from_slice(match family.read {
            Read::Counters(_) => b" counter\n",
            _ => b" gauge\n",
        });
        for op in ops {
            // Each series with its samples, gathered from the points in their time order.
            let mut series: BTreeMap<Pair, Vec<(i64, f64)>> = BTreeMap::new();
            for point in &op.points {
                let at = point.at.as_second();
                let mut add = |rp: &Arc<str>, opt: &Arc<str>, v: f64| {
                    series
                        .entry((rp.clone(), opt.clone()))
                        .or_default()
                        .push((at, v));
                };
                match family.read {
                    Read::Counters(value) => point
                        .counters
                        .iter()
                        .for_each(|c| add(&c.rp_id, &c.cod_opc_menu, value(&c.as_ref()))),
                    Read::Report(value) => point
                        .report
                        .iter()
                        .for_each(|s| add(&s.rp_id, &s.cod_opc_menu, value(s))),
                    _ => {}
                }
            }
            for ((rp_id, cod_opc_menu), samples) in &series {
                let mut labels = Vec::new();
                for (i, (label, value)) in family
                    .labels
                    .iter()
                    .zip([op.operation.as_str(), rp_id, cod_opc_menu])
                    .chain(extra.iter().map(|(l, v)| (l, *v)))
                    .enumerate()
                {
                    labels.push(if i == 0 { b'{' } else { b',' });
                    labels.extend_from_slice(label.as_bytes());
                    labels.extend_from_slice(b"=\"");
                    escape_label_value(&mut labels, value);
                    labels.push(b'"');
                }
                labels.push(b'}');
                for (at, v) in samples {
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(&labels);
                    out.push(b' ');
                    out.extend_from_slice(number.format(*v).as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(at.to_string().as_bytes());
                    out.push(b'\n');
                }
            }
        }
    }
    out.extend_from_slice(b"# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rp: &str, opt: &str, calls: f64, secs: f64) -> (CounterSeries, Series) {
        (
            CounterSeries {
                rp_id: rp.into(),
                cod_opc_menu: opt.into(),
                calls,
                time_seconds: secs,
            },
            Series {
                rp_id: rp.into(),
                cod_opc_menu: opt.into(),
                calls,
                time_seconds: secs,
            },
        )
    }

    #[test]
    fn each_family_once_and_each_series_whole_in_time_order() {
        let point = |at: i64, rows: Vec<(CounterSeries, Series)>| HistoryPoint {
            at: Timestamp::from_second(at).unwrap(),
            counters: rows.iter().map(|r| r.0.clone()).collect(),
            report: rows.iter().map(|r| r.1.clone()).collect(),
        };
        let ops = [OperationHistory {
            operation: "0032".into(),
            points: vec![
                point(3600, vec![series("1001", "1", 2.0, 60.0)]),
                point(
                    7200,
                    vec![
                        series("1001", "1", 5.0, 90.0),
                        series("1001", "PU\"LSE", 1.0, 3.0),
                    ],
                ),
            ],
        }];
        let text = String::from_utf8(encode_history(&ops, &[("job", "wolkvox-exporter")])).unwrap();
        let calls: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("wolkvox_ivr_calls_total"))
            .collect();
        assert_eq!(
            calls,
            [
                r#"wolkvox_ivr_calls_total{operation="0032",rp_id="1001",cod_opc_menu="1",job="wolkvox-exporter"} 2.0 3600"#,
                r#"wolkvox_ivr_calls_total{operation="0032",rp_id="1001",cod_opc_menu="1",job="wolkvox-exporter"} 5.0 7200"#,
                r#"wolkvox_ivr_calls_total{operation="0032",rp_id="1001",cod_opc_menu="PU\"LSE",job="wolkvox-exporter"} 1.0 7200"#,
            ]
        );
        for family in [
            "wolkvox_ivr_menu_calls",
            "wolkvox_ivr_menu_time_seconds",
            "wolkvox_ivr_calls",
            "wolkvox_ivr_time_seconds",
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {family} ")).count(),
                1,
                "{family}"
            );
        }
        assert!(text.contains("# TYPE wolkvox_ivr_calls counter\n"));
        assert!(text.ends_with("\n# EOF\n"));
    }
}
