//! The one writer of the text formats: the families' descriptors (HELP and TYPE), their
//! samples in the Prometheus text format and in OpenMetrics, and the past samples with
//! timestamps that `backfill` writes. It writes what prometheus-client writes, byte for byte;
//! the tests compare the two.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::Range;

use jiff::Timestamp;

use super::families::{FAMILIES, Family, Number, Read};
use super::{Format, Globals, NameInfo, OperationMetrics};
use crate::counters::CounterSeries;
use crate::report::Series;

/// A family's descriptor in `format`: the text format names a counter with its `_total`,
/// OpenMetrics without. No HELP text holds a character that either format escapes.
pub(super) fn descriptor(out: &mut Vec<u8>, family: &Family, format: Format) {
    let name = match format {
        Format::Text => family.sample_name(),
        Format::OpenMetrics => family.name.into(),
    };
    let kind = family.kind();
    for (key, text) in [("# HELP ", family.help), ("# TYPE ", kind.as_str())] {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
    }
}

/// The samples of `family` in the text format, and in OpenMetrics when they differ there:
/// only a value that is not finite is written differently (`+Inf` against `inf`). Appended to
/// `out`; returns where each went.
pub(super) fn samples(
    out: &mut Vec<u8>,
    family: &Family,
    ops: &[OperationMetrics],
    globals: &Globals,
) -> (Range<usize>, Option<Range<usize>>) {
    let name = family.sample_name();
    let write = |out: &mut Vec<u8>, format: Format| {
        let (start, mut finite) = (out.len(), true);
        let _ = family.for_each_sample(ops, globals, |values, v| {
            finite &= !matches!(v, Number::Float(v) if !v.is_finite());
            let labels = family.labels().iter().copied().zip(values.iter().copied());
            sample(out, &name, labels, v, format, None);
            Ok::<_, Infallible>(())
        });
        (start..out.len(), finite)
    };
    let (text, finite) = write(out, Format::Text);
    (text, (!finite).then(|| write(out, Format::OpenMetrics).0))
}

/// One sample line: `name{labels} value`, and ` at` (seconds) when given.
fn sample<'a>(
    out: &mut Vec<u8>,
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    value: Number,
    format: Format,
    at: Option<i64>,
) {
    out.extend_from_slice(name.as_bytes());
    let mut any = false;
    for (label, value) in labels {
        out.push(if any { b',' } else { b'{' });
        any = true;
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_label_value(out, value);
        out.push(b'"');
    }
    if any {
        out.push(b'}');
    }
    out.push(b' ');
    match value {
        Number::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Number::Float(v) => out.extend_from_slice(float(&mut dtoa::Buffer::new(), v, format)),
    }
    if let Some(at) = at {
        out.push(b' ');
        out.extend_from_slice(at.to_string().as_bytes());
    }
    out.push(b'\n');
}

/// A float as `format` writes it; the formats differ only when it is not finite.
fn float(number: &mut dtoa::Buffer, v: f64, format: Format) -> &[u8] {
    match (v.is_finite(), format) {
        (true, _) | (false, Format::OpenMetrics) => number.format(v).as_bytes(),
        // prometheus-client's text format writes Go's spelling.
        (false, Format::Text) if v.is_nan() => b"NaN",
        (false, Format::Text) if v > 0.0 => b"+Inf",
        (false, Format::Text) => b"-Inf",
    }
}

/// A label value as both formats escape it: backslash, double quote and line feed.
fn escape_label_value(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

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
    pub operation: String,
    /// Its points, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// Past samples of the per-series families as one OpenMetrics file with timestamps, for
/// `promtool tsdb create-blocks-from openmetrics`, with `extra` labels (job, instance: what a
/// scrape adds) on every sample, ending with `# EOF`. Names, HELP, types and labels are the
/// live exposition's, so that the live series continue the imported ones.
///
/// promtool reads the file in one pass per block, and Prometheus' storage takes the samples of
/// a series only in increasing time: each family is written once (HELP and TYPE first), and
/// within it each series whole, its samples in time order.
///
/// The info series of `names` are written at every point of their operation, so that a query
/// joins on them over the whole range, as on the live ones.
pub fn encode_history(
    ops: &[OperationHistory],
    names: &NameInfo,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = Vec::new();
    // The per-series families, nearly all of the bytes, and the names.
    let written = FAMILIES.iter().filter(|family| match family.read {
        Read::Info(_, rows) => !rows(names).is_empty(),
        Read::Counters(_) | Read::Report(_) => true,
        _ => false,
    });
    for family in written {
        let name = family.sample_name();
        descriptor(&mut out, family, Format::OpenMetrics);
        for op in ops {
            // Each series, by its labels after `operation`, with its samples gathered from the
            // points in their time order.
            let mut series: BTreeMap<Vec<&str>, Vec<(i64, Number)>> = BTreeMap::new();
            for point in &op.points {
                let at = point.at.as_second();
                let mut add = |key, v| series.entry(key).or_default().push((at, v));
                match family.read {
                    Read::Counters(value) => point.counters.iter().for_each(|c| {
                        let v = Number::Float(value(&c.as_ref()));
                        add(vec![&c.rp_id, &c.cod_opc_menu], v)
                    }),
                    Read::Report(value) => point.report.iter().for_each(|s| {
                        add(vec![&s.rp_id, &s.cod_opc_menu], Number::Float(value(s)))
                    }),
                    Read::Info(_, rows) => rows(names)
                        .iter()
                        .filter(|r| r.first() == Some(&op.operation))
                        .for_each(|r| {
                            add(r[1..].iter().map(String::as_str).collect(), Number::Int(1))
                        }),
                    _ => {}
                }
            }
            for (key, samples) in &series {
                for &(at, v) in samples {
                    let values = std::iter::once(op.operation.as_str()).chain(key.iter().copied());
                    let labels = family.labels().iter().copied().zip(values);
                    let labels = labels.chain(extra.iter().copied());
                    sample(&mut out, &name, labels, v, Format::OpenMetrics, Some(at));
                }
            }
        }
    }
    out.extend_from_slice(b"# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::exposition::fixtures::{PROCESS, assorted_operations, counters_of, op_with};
    use crate::exposition::{Globals, OperationMetrics, ReloadStatus, Snapshot};

    #[test]
    fn label_values_are_escaped_in_both_formats() {
        let snap = Snapshot::encode(
            true,
            &[op_with(vec![Series {
                rp_id: "a\"b\\c\nd".into(),
                cod_opc_menu: "ñ".into(),
                calls: 1.0,
                time_seconds: 2.0,
            }])],
            Globals::default(),
        );
        let text = snap.body(Format::Text, false);
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.contains(
                r#"wolkvox_ivr_menu_calls{operation="0032",rp_id="a\"b\\c\nd",cod_opc_menu="ñ"} 1"#
            ),
            "{text}"
        );
        let om = snap.body(Format::OpenMetrics, false);
        let om = std::str::from_utf8(&om).unwrap();
        assert!(om.contains(r#"rp_id="a\"b\\c\nd""#), "{om}");
        assert!(om.ends_with("# EOF\n"));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn counters_are_named_per_format() {
        let snap = Snapshot::encode(false, &[op_with(vec![])], Globals::default());
        let text = snap.body(Format::Text, false);
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.contains("# TYPE wolkvox_polls_total counter"),
            "{text}"
        );
        assert!(text.contains(r#"wolkvox_polls_total{operation="0032",result="timeout"} 0"#));
        let om = snap.body(Format::OpenMetrics, false);
        let om = std::str::from_utf8(&om).unwrap();
        assert!(om.contains("# TYPE wolkvox_polls counter"), "{om}");
    }

    #[test]
    fn segments_reproduce_prometheus_client_byte_for_byte() {
        let reload = Some(ReloadStatus {
            successful: true,
            last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
            shard_operations: Some(2),
            web_config: Some(false),
        });
        let with = |reload, process| Globals {
            reload,
            process,
            names: None,
        };
        let names = Some(Arc::new(crate::exposition::NameInfo {
            routing_points: vec![["0032", "1001", "Main \"menu\"\n"].map(String::from).into()],
            options: vec![
                ["0032", "1001", "1", "Billing", "self_service"]
                    .map(String::from)
                    .into(),
                ["0048", "2001", "PULSE", "PULSE", "pulse"]
                    .map(String::from)
                    .into(),
            ],
        }));
        let all = assorted_operations();
        let series: Vec<Series> = (0..40_000)
            .map(|i| Series {
                rp_id: format!("{}", 1000 + i / 15).into(),
                cod_opc_menu: format!("OPT_{}", i % 15).into(),
                calls: (i % 977) as f64,
                time_seconds: i as f64 * 0.25,
            })
            .collect();
        let mut large = op_with(series.clone());
        large.counters = Some(counters_of(&series));
        let cases: Vec<(Vec<OperationMetrics>, Globals)> = vec![
            (vec![], Globals::default()),
            (vec![], with(None, Some(PROCESS))),
            (vec![op_with(vec![])], Globals::default()),
            (all[..1].to_vec(), with(None, Some(PROCESS))),
            (all.clone(), with(reload, None)),
            (all[1..].to_vec(), with(reload, Some(PROCESS))),
            (
                all.clone(),
                Globals {
                    names,
                    ..with(reload, Some(PROCESS))
                },
            ),
            // Samples of several megabytes.
            (vec![large.clone(), all[2].clone()], Globals::default()),
        ];
        for (ops, globals) in cases {
            let snap = Snapshot::encode(true, &ops, globals.clone());
            crate::exposition::fixtures::assert_encodes(&snap, &ops, globals);
        }
    }

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
        let names = NameInfo {
            routing_points: vec![["0032", "1001", "Main"].map(String::from).into()],
            options: vec![
                ["9999", "1", "1", "Elsewhere", "other"]
                    .map(String::from)
                    .into(),
            ],
        };
        let text = String::from_utf8(encode_history(&ops, &names, &[("job", "wolkvox-exporter")]))
            .unwrap();
        let info: Vec<&str> = text.lines().filter(|l| l.contains("_info")).collect();
        // At every point of the operation, and for no other operation.
        assert_eq!(
            info,
            [
                "# HELP wolkvox_ivr_routing_point_info Name of a routing point, from --names.file or --config.file; always 1.",
                "# TYPE wolkvox_ivr_routing_point_info gauge",
                r#"wolkvox_ivr_routing_point_info{operation="0032",rp_id="1001",name="Main",job="wolkvox-exporter"} 1 3600"#,
                r#"wolkvox_ivr_routing_point_info{operation="0032",rp_id="1001",name="Main",job="wolkvox-exporter"} 1 7200"#,
                "# HELP wolkvox_ivr_menu_option_info Name and category of an IVR menu option, from --names.file or --config.file; always 1.",
                "# TYPE wolkvox_ivr_menu_option_info gauge",
            ]
        );
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
