//! The writer of the samples, by operation: the per-series families' (one line per series,
//! nearly all of the bytes of an exposition) on a fast path, the others' from the table. prometheus-client (`collector.rs`) writes the same lines, and
//! the test below checks that both agree byte for byte; this one exists because publish took
//! 212 ms at 60,000 series through prometheus-client in each format (BENCHMARKS.md, Ingest).
//! Both formats write these lines alike, so they are written once for both, and on every core
//! for large reports.

use bytes::Bytes;

use std::convert::Infallible;

use super::compress::on_threads;
use super::families::{Family, Number};
use super::{Globals, OperationMetrics};

/// Series from which the families are written on several threads.
const PARALLEL_SERIES: usize = 4096;

/// The samples of one family in the text format, and in OpenMetrics when they differ there:
/// only a value that is not finite is written differently (`+Inf` against `inf`).
#[derive(Debug)]
pub(super) struct Samples {
    /// In the text format (and in OpenMetrics when `openmetrics` is `None`).
    pub text: Bytes,
    /// In OpenMetrics, when it differs.
    pub openmetrics: Option<Bytes>,
}

impl Samples {
    /// No samples.
    pub fn empty() -> Samples {
        Samples {
            text: Bytes::new(),
            openmetrics: None,
        }
    }
}

/// The samples of every family in `families`, in their order. Writing them is most of an
/// encoding after compression: for large reports the families are written on as many threads
/// as there are cores, as compression is.
pub(super) fn write_all(ops: &[OperationMetrics], families: &[&Family]) -> Vec<Samples> {
    let series: usize = ops
        .iter()
        .map(|op| op.data.as_ref().map_or(0, |d| d.series()))
        .sum();
    // A thread costs tens of microseconds: worth it from a few thousand series.
    let threads = if series < PARALLEL_SERIES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    on_threads(families, threads, || (), |(), family| samples(family, ops))
}

/// The samples of a family with few of them (one or a few per operation, or global), written
/// from [`Family::for_each_sample`] as prometheus-client writes them.
pub(super) fn write_each(family: &Family, ops: &[OperationMetrics], globals: Globals) -> Samples {
    let name = family.sample_name();
    let mut finite = true;
    let _ = family.for_each_sample(ops, globals, |_, v| {
        finite &= !matches!(v, Number::Float(v) if !v.is_finite());
        Ok::<_, Infallible>(())
    });
    let write = |openmetrics: bool| {
        let mut out = Vec::new();
        let mut number = dtoa::Buffer::new();
        let _ = family.for_each_sample(ops, globals, |values, v| {
            out.extend_from_slice(name.as_bytes());
            if !values.is_empty() {
                for (i, (label, value)) in family.labels.iter().zip(values).enumerate() {
                    out.push(if i == 0 { b'{' } else { b',' });
                    out.extend_from_slice(label.as_bytes());
                    out.extend_from_slice(b"=\"");
                    escape_label_value(&mut out, value);
                    out.push(b'"');
                }
                out.push(b'}');
            }
            out.push(b' ');
            match v {
                Number::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Number::Float(v) => {
                    out.extend_from_slice(float(&mut number, v, openmetrics).as_bytes())
                }
            }
            out.push(b'\n');
            Ok::<_, Infallible>(())
        });
        Bytes::from(out)
    };
    Samples {
        text: write(false),
        openmetrics: (!finite).then(|| write(true)),
    }
}

/// A float as both formats write it; they differ only when it is not finite.
fn float(number: &mut dtoa::Buffer, v: f64, openmetrics: bool) -> &str {
    match (v.is_finite(), openmetrics) {
        (true, _) | (false, true) => number.format(v),
        // prometheus-client's text format writes Go's spelling.
        (false, false) if v.is_nan() => "NaN",
        (false, false) if v > 0.0 => "+Inf",
        (false, false) => "-Inf",
    }
}

fn samples(family: &Family, ops: &[OperationMetrics]) -> Samples {
    let name = family.sample_name();
    let mut finite = true;
    let mut size = 0;
    family.for_each_series(ops, |labels, v| {
        finite &= v.is_finite();
        size += name.len() + labels.iter().map(|l| l.len()).sum::<usize>() + 64;
    });
    let text = Bytes::from(write(family, &name, ops, size, false));
    let openmetrics = (!finite).then(|| Bytes::from(write(family, &name, ops, size, true)));
    Samples { text, openmetrics }
}

fn write(
    family: &Family,
    name: &str,
    ops: &[OperationMetrics],
    size: usize,
    openmetrics: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    let mut number = dtoa::Buffer::new();
    // `",rp_id="` and `",cod_opc_menu="`, between the label values.
    let between: Vec<String> = family.labels[1..]
        .iter()
        .map(|label| format!("\",{label}=\""))
        .collect();
    // The start of the line is the same for every series of an operation.
    let mut head = Vec::new();
    let mut head_of = String::new();
    family.for_each_series(ops, |[op, rest @ ..], v| {
        if head.is_empty() || head_of != op {
            head.clear();
            head.extend_from_slice(name.as_bytes());
            head.push(b'{');
            head.extend_from_slice(family.labels[0].as_bytes());
            head.extend_from_slice(b"=\"");
            escape_label_value(&mut head, op);
            head_of.clear();
            head_of.push_str(op);
        }
        out.extend_from_slice(&head);
        for (between, value) in between.iter().zip(rest) {
            out.extend_from_slice(between.as_bytes());
            escape_label_value(&mut out, value);
        }
        out.extend_from_slice(b"\"} ");
        out.extend_from_slice(float(&mut number, v, openmetrics).as_bytes());
        out.push(b'\n');
    });
    // Kept for as long as the operation's data: no spare room (the size was an estimate).
    out.shrink_to_fit();
    out
}

/// A label value as both formats escape it: backslash, double quote and line feed.
pub(super) fn escape_label_value(out: &mut Vec<u8>, value: &str) {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exposition::collector::reference;
    use crate::exposition::fixtures::{PROCESS, assorted_operations, counters_of, gunzip, op_with};
    use crate::exposition::{Globals, OperationMetrics, ReloadStatus, Snapshot};
    use crate::report::Series;

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
        );
        let text = snap.text.plain();
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.contains(
                r#"wolkvox_ivr_menu_calls{operation="0032",rp_id="a\"b\\c\nd",cod_opc_menu="ñ"} 1"#
            ),
            "{text}"
        );
        let om = snap.openmetrics.plain();
        let om = std::str::from_utf8(&om).unwrap();
        assert!(om.contains(r#"rp_id="a\"b\\c\nd""#), "{om}");
        assert!(om.ends_with("# EOF\n"));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn segments_reproduce_prometheus_client_byte_for_byte() {
        let reload = Some(ReloadStatus {
            successful: true,
            last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
            shard_operations: Some(2),
            web_config: Some(false),
        });
        let with = |reload, process| Globals { reload, process };
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
            // Samples of several megabytes: written and compressed on several threads.
            (vec![large.clone(), all[2].clone()], Globals::default()),
        ];
        for (ops, globals) in cases {
            let snap = Snapshot::encode_with(true, &ops, globals);
            let (text, om) = reference(&ops, globals);
            assert_eq!(std::str::from_utf8(&snap.text.plain()).unwrap(), text);
            assert_eq!(std::str::from_utf8(&snap.openmetrics.plain()).unwrap(), om);
            assert_eq!(gunzip(&snap.text.gzip()), text.as_bytes());
            assert_eq!(gunzip(&snap.openmetrics.gzip()), om.as_bytes());
        }
    }
}
