//! The immutable [`Snapshot`] that /metrics serves, its encoding, and the [`Store`] that swaps
//! it in whole.
//!
//! All encoding happens here, once per poll: the Prometheus text format, OpenMetrics, and a gzip
//! copy of each. A scrape only clones an `Arc` and hands out bytes, so it never waits for a poll
//! and never sees half of one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use jiff::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::counters::CounterSeries;
use crate::report::{RejectReason, Report};
use crate::window::ReportWindow;
use crate::wolkvox::PollResult;

/// Content-Type of the Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content-Type of OpenMetrics.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A report that the data series show, with the window it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// The parsed report.
    pub report: Report,
    /// The window asked for.
    pub window: ReportWindow,
}

/// Everything /metrics says about one operation, as of its last poll.
#[derive(Debug, Clone)]
pub struct OperationMetrics {
    /// The `operation` label.
    pub operation: String,
    /// Poll interval, quoted in HELP texts.
    pub poll_interval: Duration,
    /// Whether the last poll got a report.
    pub up: bool,
    /// Polls by [`PollResult::index`].
    pub polls: [u64; 11],
    /// Rejected rows by [`RejectReason::index`].
    pub rejected: [u64; 3],
    /// Series pairs dropped over the limit, summed over polls.
    pub series_dropped: u64,
    /// End of the last successful poll.
    pub last_success: Option<Timestamp>,
    /// Duration of the last poll.
    pub poll_duration: Option<Duration>,
    /// When the next poll is due.
    pub next_poll: Option<Timestamp>,
    /// The report that the data series show; `None` before the first report and once stale
    /// data has been dropped.
    pub data: Option<Arc<ReportData>>,
    /// Counters that survive midnight (`today` window only).
    pub counters: Option<Arc<[CounterSeries]>>,
    /// Whether a poll has finished.
    pub polled: bool,
    /// API calls made, all kinds.
    pub api_requests: u64,
    /// API calls made since local midnight of the operation.
    pub api_requests_today: u64,
    /// The token's daily limit and today's use, from token_info.
    pub token_info: Option<(f64, f64)>,
}

impl OperationMetrics {
    /// The state before the first poll.
    pub fn new(operation: String, poll_interval: Duration) -> Self {
        Self {
            operation,
            poll_interval,
            up: false,
            polls: [0; 11],
            rejected: [0; 3],
            series_dropped: 0,
            last_success: None,
            poll_duration: None,
            next_poll: None,
            data: None,
            counters: None,
            polled: false,
            api_requests: 0,
            api_requests_today: 0,
            token_info: None,
        }
    }
}

/// The outcome of configuration reloads, as Prometheus itself reports them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReloadStatus {
    /// Whether the last reload (or the start) applied the file.
    pub successful: bool,
    /// When the file was last applied.
    pub last_success: Option<Timestamp>,
}

/// One encoding of the exposition, plain and gzipped.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The exposition.
    pub plain: Bytes,
    /// The same, gzipped.
    pub gzip: Bytes,
}

/// What a scrape serves: immutable, replaced whole after each poll.
#[derive(Debug)]
pub struct Snapshot {
    /// True once the first poll has finished, whatever its result.
    pub ready: bool,
    /// Prometheus text format 0.0.4.
    pub text: Encoded,
    /// OpenMetrics 1.0.
    pub openmetrics: Encoded,
}

impl Snapshot {
    /// Encodes the metrics of `operations` in both formats.
    pub fn encode(ready: bool, operations: &[OperationMetrics]) -> Snapshot {
        Self::encode_with(ready, operations, None)
    }

    /// Encodes the metrics of `operations`, and the reload status when a file is in use.
    pub fn encode_with(
        ready: bool,
        operations: &[OperationMetrics],
        reload: Option<ReloadStatus>,
    ) -> Snapshot {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Exposition {
            ops: Arc::from(operations.to_vec()),
            reload,
        }));

        let mut text = String::new();
        let mut openmetrics = String::new();
        // Writing into a String cannot fail, and our collector returns no errors of its own;
        // should the encoder ever refuse, serve what was written rather than panic.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
        let _ = prometheus_client::encoding::text::encode(&mut openmetrics, &registry);
        Snapshot {
            ready,
            text: Encoded::new(text),
            openmetrics: Encoded::new(openmetrics),
        }
    }
}

impl Encoded {
    fn new(plain: String) -> Self {
        let plain = Bytes::from(plain);
        let mut gz = GzEncoder::new(Vec::with_capacity(plain.len() / 8), Compression::fast());
        // Writing into a Vec cannot fail.
        let gzip = gz
            .write_all(&plain)
            .and_then(|_| gz.finish())
            .map(Bytes::from)
            .unwrap_or_default();
        Self { plain, gzip }
    }
}

fn help(base: &str, interval: &str) -> String {
    format!(
        "{base} Polled from Wolkvox in the background every {interval} and served from a cache."
    )
}

fn seconds(ts: Timestamp) -> f64 {
    ts.as_millisecond() as f64 / 1000.0
}

const NO_LABELS: [(&str, &str); 0] = [];

/// The collector that writes every family from plain data; it runs at poll time only.
#[derive(Debug)]
struct Exposition {
    ops: Arc<[OperationMetrics]>,
    reload: Option<ReloadStatus>,
}

impl Exposition {
    /// The interval quoted in HELP texts: the operations' own when they share one.
    fn interval_text(&self) -> String {
        let mut intervals = self.ops.iter().map(|o| o.poll_interval);
        match intervals.next() {
            Some(first) if intervals.all(|i| i == first) => {
                humantime::format_duration(first).to_string()
            }
            _ => "poll interval of its operation".to_owned(),
        }
    }

    fn gauge_per_operation(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help_text: &str,
        value: impl Fn(&OperationMetrics) -> Option<f64>,
    ) -> Result<(), std::fmt::Error> {
        if self.ops.iter().all(|o| value(o).is_none()) {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            name,
            &help(help_text, &self.interval_text()),
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for op in self.ops.iter() {
            if let Some(v) = value(op) {
                let labels = [("operation", op.operation.as_str())];
                ConstGauge::new(v).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }

    fn data_family(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help_text: &str,
        value: impl Fn(&crate::report::Series) -> f64,
    ) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            name,
            &help(help_text, &self.interval_text()),
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for op in self.ops.iter() {
            let Some(data) = &op.data else { continue };
            for s in &data.report.series {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("rp_id", s.rp_id.as_str()),
                    ("cod_opc_menu", s.cod_opc_menu.as_str()),
                ];
                ConstGauge::new(value(s)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Exposition {
    fn counter_family(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help_text: &str,
        value: impl Fn(&CounterSeries) -> f64,
    ) -> Result<(), std::fmt::Error> {
        if self.ops.iter().all(|o| o.counters.is_none()) {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            name,
            &help(help_text, &self.interval_text()),
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            let Some(counters) = &op.counters else {
                continue;
            };
            for c in counters.iter() {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("rp_id", c.rp_id.as_str()),
                    ("cod_opc_menu", c.cod_opc_menu.as_str()),
                ];
                ConstCounter::new(value(c)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;

        let mut info = encoder.encode_descriptor(
            "wolkvox_exporter_build_info",
            "Build of this exporter; always 1.",
            None,
            MetricType::Gauge,
        )?;
        let labels = [
            ("version", env!("CARGO_PKG_VERSION")),
            ("os", std::env::consts::OS),
            ("arch", std::env::consts::ARCH),
        ];
        ConstGauge::new(1i64).encode(info.encode_family(&labels)?)?;

        self.data_family(
            &mut encoder,
            "wolkvox_ivr_menu_calls",
            "Calls through this IVR menu option in the report window.",
            |s| s.calls,
        )?;
        self.data_family(
            &mut encoder,
            "wolkvox_ivr_menu_time_seconds",
            "Time spent in this IVR menu option in the report window, in seconds.",
            |s| s.time_seconds,
        )?;

        self.counter_family(
            &mut encoder,
            "wolkvox_ivr_calls",
            "Calls through this IVR menu option, counted across days (today window only).",
            |c| c.calls,
        )?;
        self.counter_family(
            &mut encoder,
            "wolkvox_ivr_time_seconds",
            "Seconds spent in this IVR menu option, counted across days (today window only).",
            |c| c.time_seconds,
        )?;

        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_up",
            "1 when the last poll got a report (an answer of no data counts), else 0.",
            |o| Some(if o.up { 1.0 } else { 0.0 }),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_last_success_timestamp_seconds",
            "End of the last poll that got a report, in seconds since the epoch.",
            |o| o.last_success.map(seconds),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_poll_duration_seconds",
            "Duration of the last poll, in seconds.",
            |o| o.poll_duration.map(|d| d.as_secs_f64()),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_next_poll_timestamp_seconds",
            "When the next poll is due, in seconds since the epoch (shows backoff and quota waits).",
            |o| o.next_poll.map(seconds),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_report_rows",
            "Rows in the report that the data series show.",
            |o| o.data.as_ref().map(|d| d.report.rows as f64),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_report_window_start_timestamp_seconds",
            "Start of the window that the data series describe, in seconds since the epoch.",
            |o| o.data.as_ref().map(|d| seconds(d.window.start_ts)),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_report_window_end_timestamp_seconds",
            "End of the window that the data series describe, in seconds since the epoch.",
            |o| o.data.as_ref().map(|d| seconds(d.window.end_ts)),
        )?;

        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_api_requests_today",
            "API calls this exporter made since local midnight of the operation (all kinds).",
            |o| Some(o.api_requests_today as f64),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_token_limit",
            "The token's daily call limit, from token_info (when --wolkvox.token-info-interval is set).",
            |o| o.token_info.map(|t| t.0),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_token_used_today",
            "Calls made with the token today by everything that uses it, from token_info.",
            |o| o.token_info.map(|t| t.1),
        )?;
        if let Some(reload) = self.reload {
            let mut ok = encoder.encode_descriptor(
                "wolkvox_config_last_reload_successful",
                "Whether the last reload of --config.file succeeded (1) or was refused (0).",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(i64::from(reload.successful)).encode(ok.encode_family(&NO_LABELS)?)?;
            if let Some(at) = reload.last_success {
                let mut ts = encoder.encode_descriptor(
                    "wolkvox_config_last_reload_success_timestamp_seconds",
                    "When --config.file was last applied, in seconds since the epoch.",
                    None,
                    MetricType::Gauge,
                )?;
                ConstGauge::new(seconds(at)).encode(ts.encode_family(&NO_LABELS)?)?;
            }
        }

        let mut requests = encoder.encode_descriptor(
            "wolkvox_api_requests",
            &help(
                "API calls this exporter made (reports and token_info).",
                &self.interval_text(),
            ),
            None,
            MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            let labels = [("operation", op.operation.as_str())];
            ConstCounter::new(op.api_requests).encode(requests.encode_family(&labels)?)?;
        }

        let mut polls = encoder.encode_descriptor(
            "wolkvox_polls",
            &help("Polls of the report API by result.", &self.interval_text()),
            None,
            MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            for result in PollResult::ALL {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("result", result.as_str()),
                ];
                ConstCounter::new(op.polls[result.index()])
                    .encode(polls.encode_family(&labels)?)?;
            }
        }

        let mut rejected = encoder.encode_descriptor(
            "wolkvox_rows_rejected",
            &help(
                "Report rows skipped because a value could not be read.",
                &self.interval_text(),
            ),
            None,
            MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            for reason in RejectReason::ALL {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("reason", reason.as_str()),
                ];
                ConstCounter::new(op.rejected[reason.index()])
                    .encode(rejected.encode_family(&labels)?)?;
            }
        }

        let mut dropped = encoder.encode_descriptor(
            "wolkvox_series_dropped",
            &help(
                "Series pairs dropped because a report held more than --report.max-series.",
                &self.interval_text(),
            ),
            None,
            MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            let labels = [("operation", op.operation.as_str())];
            ConstCounter::new(op.series_dropped).encode(dropped.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Holds the current snapshot, and the latest metrics of every operation it is made of.
/// Scrapes load the snapshot without a lock; a poller hands in its operation's metrics, and the
/// whole exposition is encoded again (families must stay grouped across operations) and
/// swapped in.
#[derive(Debug)]
pub struct Store {
    current: ArcSwap<Snapshot>,
    polls: watch::Sender<u64>,
    state: Mutex<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    operations: BTreeMap<String, OperationMetrics>,
    reload: Option<ReloadStatus>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: not ready, self-metrics only.
    pub fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::encode(false, &[])),
            polls: watch::Sender::new(0),
            state: Mutex::new(StoreState::default()),
        }
    }

    /// The snapshot to serve now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreState> {
        // Only encoding happens under this lock; a panic there leaves consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rebuild(&self, state: &StoreState) {
        let ops: Vec<OperationMetrics> = state.operations.values().cloned().collect();
        let ready = !ops.is_empty() && ops.iter().all(|o| o.polled);
        self.current
            .store(Arc::new(Snapshot::encode_with(ready, &ops, state.reload)));
    }

    /// Adds or replaces an operation's metrics without counting a poll (start, reload).
    pub fn register(&self, metrics: OperationMetrics) {
        let mut state = self.lock();
        state.operations.insert(metrics.operation.clone(), metrics);
        self.rebuild(&state);
    }

    /// Replaces an operation's metrics after a poll.
    pub fn publish(&self, metrics: OperationMetrics) {
        {
            let mut state = self.lock();
            state.operations.insert(metrics.operation.clone(), metrics);
            self.rebuild(&state);
        }
        self.polls.send_modify(|n| *n += 1);
    }

    /// Removes an operation: its series leave /metrics.
    pub fn remove(&self, operation: &str) {
        let mut state = self.lock();
        state.operations.remove(operation);
        self.rebuild(&state);
    }

    /// Records the outcome of a configuration (re)load.
    pub fn set_reload(&self, status: ReloadStatus) {
        let mut state = self.lock();
        state.reload = Some(status);
        self.rebuild(&state);
    }

    /// The last reload status, when a configuration file is in use.
    pub fn reload_status(&self) -> Option<ReloadStatus> {
        self.lock().reload
    }

    /// Polls finished so far, and a way to wait for more.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polls.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Series;

    fn op_with(series: Vec<Series>) -> OperationMetrics {
        let mut op = OperationMetrics::new("0032".into(), Duration::from_secs(300));
        let tz = jiff::tz::TimeZone::UTC;
        let now: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        op.data = Some(Arc::new(ReportData {
            report: Report {
                rows: series.len(),
                series,
                rejected: [0; 3],
                dropped_series: 0,
            },
            window: crate::window::Window::Today.resolve(now, &tz),
        }));
        op.up = true;
        op
    }

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
        let text = std::str::from_utf8(&snap.text.plain).unwrap();
        assert!(
            text.contains(
                r#"wolkvox_ivr_menu_calls{operation="0032",rp_id="a\"b\\c\nd",cod_opc_menu="ñ"} 1"#
            ),
            "{text}"
        );
        let om = std::str::from_utf8(&snap.openmetrics.plain).unwrap();
        assert!(om.contains(r#"rp_id="a\"b\\c\nd""#), "{om}");
        assert!(om.ends_with("# EOF\n"));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn counters_are_named_per_format() {
        let snap = Snapshot::encode(false, &[op_with(vec![])]);
        let text = std::str::from_utf8(&snap.text.plain).unwrap();
        assert!(
            text.contains("# TYPE wolkvox_polls_total counter"),
            "{text}"
        );
        assert!(text.contains(r#"wolkvox_polls_total{operation="0032",result="timeout"} 0"#));
        let om = std::str::from_utf8(&snap.openmetrics.plain).unwrap();
        assert!(om.contains("# TYPE wolkvox_polls counter"), "{om}");
    }

    #[test]
    fn gzip_copy_decodes_to_the_plain_bytes() {
        use std::io::Read;
        let snap = Snapshot::encode(true, &[op_with(vec![])]);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&snap.text.gzip[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, snap.text.plain);
    }
}
