//! Operations for the tests of this module: odd labels and values, counters, infinities.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::{OperationMetrics, ReportData};
use crate::counters::{CounterSeries, Counters};
use crate::report::{RejectCounts, Report, Series};
use crate::wolkvox::TokenInfo;

/// Operation `0032`, up, with a report of `series` in today's window.
pub(super) fn op_with(series: Vec<Series>) -> OperationMetrics {
    let mut op = OperationMetrics::new("0032".into(), Duration::from_secs(300));
    let tz = jiff::tz::TimeZone::UTC;
    let now: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
    op.data = Some(Arc::new(ReportData::new(
        Report {
            rows: series.len(),
            series,
            rejected: RejectCounts::default(),
            dropped_series: 0,
        },
        crate::window::Window::Today.resolve(now, &tz),
    )));
    op.up = true;
    op
}

/// `n` series, `options` menu options (`OPT_0`...) per routing point from `1000` on; calls
/// `i` and `2.5 i` seconds for the `i`th.
pub(super) fn grid(n: usize, options: usize) -> Vec<Series> {
    (0..n)
        .map(|i| Series {
            rp_id: format!("{}", 1000 + i / options).into(),
            cod_opc_menu: format!("OPT_{}", i % options).into(),
            calls: i as f64,
            time_seconds: 2.5 * i as f64,
        })
        .collect()
}

/// Counters that differ from the report's values, for the same series.
pub(super) fn counters_of(series: &[Series]) -> Arc<Counters> {
    Arc::new(
        series
            .iter()
            .map(|s| CounterSeries {
                rp_id: s.rp_id.clone(),
                cod_opc_menu: s.cod_opc_menu.clone(),
                calls: s.calls * 3.0,
                time_seconds: s.time_seconds + 0.25,
            })
            .collect(),
    )
}

/// `data` decompressed by the strict reader: one member, checked CRC and length.
pub(super) fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Operations with odd labels and values: escapes, empty data, counters, infinities.
pub(super) fn assorted_operations() -> Vec<OperationMetrics> {
    let series = vec![
        Series {
            rp_id: "1001".into(),
            cod_opc_menu: "AGENTE".into(),
            calls: 12.0,
            time_seconds: 226.8,
        },
        Series {
            rp_id: "a\"b\\c\nd".into(),
            cod_opc_menu: "ñ".into(),
            calls: 0.0,
            time_seconds: 1e-7,
        },
        Series {
            rp_id: "2001".into(),
            cod_opc_menu: "PULSE".into(),
            calls: 1e21,
            time_seconds: 123_456_789.125,
        },
    ];
    let mut a = op_with(series.clone());
    a.counters = Some(counters_of(&series));
    let mut b = op_with(vec![]);
    b.operation = "with \"quotes\"".into();
    b.poll_interval = Duration::from_secs(60);
    let mut c = op_with(series[..1].to_vec());
    c.operation = "0048".into();
    let mut infinite: Vec<CounterSeries> = counters_of(&series)
        .iter()
        .map(|c| CounterSeries {
            rp_id: c.rp_id.clone(),
            cod_opc_menu: c.cod_opc_menu.clone(),
            calls: c.calls,
            time_seconds: c.time_seconds,
        })
        .collect();
    infinite[0].calls = f64::INFINITY;
    c.counters = Some(Arc::new(infinite.into_iter().collect()));
    c.token_info = Some(TokenInfo {
        limit: 1000.0,
        used_today: 17.0,
    });
    c.last_success = Some("2026-11-25T10:00:00Z".parse().unwrap());
    vec![a, b, c]
}

/// A reading of the process metrics, with a fractional CPU time and start time.
pub(super) const PROCESS: crate::process::ProcessStats = crate::process::ProcessStats {
    cpu_seconds: 12.34,
    resident_memory_bytes: 24_576_000,
    virtual_memory_bytes: 1_056_768_000,
    open_fds: 17,
    max_fds: 1_048_576,
    start_time_seconds: 1_764_400_123.45,
};
