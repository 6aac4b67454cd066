//! The immutable [`Snapshot`] that /metrics serves, its encoding, and the [`Store`] that swaps
//! it in whole.
//!
//! All encoding happens here, once per poll: the Prometheus text format, OpenMetrics, and a gzip
//! copy of each. A scrape only clones an `Arc` and hands out bytes, so it never waits for a poll
//! and never sees half of one.
//!
//! An exposition is a list of segments served one after the other. prometheus-client writes the
//! descriptors and the small families; the samples of the four data families (one line per
//! series, nearly all of the bytes) are written here directly, and since both formats write them
//! alike they are encoded, compressed and kept once for both. The gzip copy is one gzip member
//! made of independently compressed segments, each ended by a sync flush, as pigz does; the
//! shared segments are compressed once, and each format's member is then joined in one piece.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress};
use jiff::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::counters::CounterSeries;
use crate::report::{RejectCounts, RejectReason, Report};
use crate::window::ReportWindow;
use crate::wolkvox::{PollCounts, PollResult, TokenInfo};

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
    /// Polls by result, summed over polls.
    pub polls: PollCounts,
    /// Rejected rows by reason, summed over polls.
    pub rejected: RejectCounts,
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
    pub token_info: Option<TokenInfo>,
}

impl OperationMetrics {
    /// The state before the first poll.
    pub fn new(operation: String, poll_interval: Duration) -> Self {
        Self {
            operation,
            poll_interval,
            up: false,
            polls: PollCounts::default(),
            rejected: RejectCounts::default(),
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

/// One encoding of the exposition, plain and gzipped, each as the segments that are sent one
/// after the other. Segments are shared: between the two formats, and between every scrape.
#[derive(Debug, Clone)]
pub struct Encoded {
    plain: Arc<[Bytes]>,
    gzip: Arc<[Bytes]>,
}

impl Encoded {
    /// The exposition, segment by segment.
    pub fn plain_parts(&self) -> &Arc<[Bytes]> {
        &self.plain
    }

    /// Its gzip copy (one gzip member), segment by segment.
    pub fn gzip_parts(&self) -> &Arc<[Bytes]> {
        &self.gzip
    }

    /// The exposition in one piece: a copy, for tests and tools; scrapes send the parts.
    pub fn plain(&self) -> Bytes {
        concat(&self.plain)
    }

    /// The gzip copy in one piece (a copy, like [`Encoded::plain`]).
    pub fn gzip(&self) -> Bytes {
        concat(&self.gzip)
    }
}

fn concat(parts: &[Bytes]) -> Bytes {
    match parts {
        [] => Bytes::new(),
        [one] => one.clone(),
        _ => Bytes::from(parts.concat()),
    }
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
        let ops: Arc<[OperationMetrics]> = Arc::from(operations);
        let mut segments = Segments::default();
        let (mut text, mut openmetrics) = (Vec::new(), Vec::new());
        // Descriptors and small families from prometheus-client, between the data samples.
        let pieces = |from: usize, to: usize, eof: bool| {
            let mut registry = Registry::default();
            registry.register_collector(Box::new(Exposition {
                ops: ops.clone(),
                reload,
                families: from..to,
                data_samples: false,
            }));
            let (mut t, mut om) = (String::new(), String::new());
            // Writing into a String cannot fail, and our collector returns no errors of its
            // own; should the encoder ever refuse, serve what was written rather than panic.
            let _ = prometheus_client::encoding::prometheus_text::encode(&mut t, &registry);
            let _ = prometheus_client::encoding::text::encode_registry(&mut om, &registry);
            if eof {
                let _ = prometheus_client::encoding::text::encode_eof(&mut om);
            }
            (Bytes::from(t), Bytes::from(om))
        };
        let samples = DataFamily::all_samples(&ops);
        for (i, (family, (t, om))) in DATA_FAMILIES.iter().zip(samples).enumerate() {
            // Everything up to this family's descriptor, then its samples.
            let from = if i == 0 { 0 } else { family.index };
            let (pt, pom) = pieces(from, family.index + 1, false);
            text.push(segments.add(pt));
            openmetrics.push(segments.add(pom));
            let t = segments.add(t);
            text.push(t);
            openmetrics.push(match om {
                Some(om) => segments.add(om),
                None => t,
            });
        }
        let (t, om) = pieces(REST, usize::MAX, true);
        text.push(segments.add(t));
        openmetrics.push(segments.add(om));

        let compressed = segments.compress();
        Snapshot {
            ready,
            text: compressed.encoded(&text),
            openmetrics: compressed.encoded(&openmetrics),
        }
    }

    /// The exposition as prometheus-client alone writes it, samples and all: the reference
    /// that the segments must reproduce byte for byte.
    #[cfg(test)]
    fn reference(
        operations: &[OperationMetrics],
        reload: Option<ReloadStatus>,
    ) -> (String, String) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Exposition {
            ops: Arc::from(operations),
            reload,
            families: 0..usize::MAX,
            data_samples: true,
        }));
        let (mut text, mut om) = (String::new(), String::new());
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        prometheus_client::encoding::text::encode(&mut om, &registry).unwrap();
        (text, om)
    }
}

/// The distinct segments of both formats, each compressed once.
#[derive(Default)]
struct Segments {
    plain: Vec<Bytes>,
}

/// A segment's place in [`Segments`].
#[derive(Debug, Clone, Copy)]
struct SegmentId(usize);

impl Segments {
    fn add(&mut self, bytes: Bytes) -> SegmentId {
        self.plain.push(bytes);
        SegmentId(self.plain.len() - 1)
    }

    /// Compresses every segment on its own: raw deflate ended by a sync flush, so that the
    /// segments of a format, in any order, make one deflate stream once a final block ends it.
    /// Large segments are cut into pieces that are compressed alike, on as many threads as
    /// there are cores: compression is most of the cost of a poll.
    fn compress(self) -> Compressed {
        let pieces: Vec<(usize, Bytes)> = self
            .plain
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                (0..p.len())
                    .step_by(PIECE)
                    .map(move |at| (i, p.slice(at..p.len().min(at + PIECE))))
            })
            .collect();
        // A thread is worth starting for a piece of work, not for a few kilobytes.
        let total: usize = self.plain.iter().map(Bytes::len).sum();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(total.div_ceil(PIECE));
        let done = on_threads(
            &pieces,
            threads,
            || Compress::new(Compression::fast(), false),
            |z, (_, piece)| {
                let mut crc = Crc::new();
                crc.update(piece);
                (deflate(z, piece), crc)
            },
        );
        let mut deflated: Vec<(Vec<Bytes>, Crc)> = self
            .plain
            .iter()
            .map(|_| (Vec::new(), Crc::new()))
            .collect();
        for ((i, _), (bytes, crc)) in pieces.iter().zip(done) {
            let segment = &mut deflated[*i];
            segment.0.push(bytes);
            segment.1.combine(&crc);
        }
        Compressed {
            plain: self.plain,
            deflated,
        }
    }
}

/// `work` applied to every item, on `threads` threads (this one included) that take the next
/// item as they become free; the results in the items' order. Each thread makes its own
/// `state` (a compressor is a few hundred kilobytes of tables: one per thread, not per item).
/// With one thread, no thread is started.
fn on_threads<T: Sync, S, R: Send>(
    items: &[T],
    threads: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run = || {
        let mut state = state();
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(k) else {
                return done;
            };
            done.push((k, work(&mut state, item)));
        }
    };
    let mut done = if threads > 1 {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
            let mut done = run();
            for h in helpers {
                // Writing and compressing into memory do not panic; if they ever did, so
                // does the poll, as it would on one thread.
                done.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            done
        })
    } else {
        run()
    };
    done.sort_unstable_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}

/// Series from which the data families are written on several threads.
const PARALLEL_SERIES: usize = 4096;

/// Largest piece of a segment compressed at once (and on one thread).
const PIECE: usize = 1 << 20;

/// Raw deflate of `data`, ended by a sync flush (byte-aligned, not the final block).
fn deflate(z: &mut Compress, data: &[u8]) -> Bytes {
    if data.is_empty() {
        return Bytes::new();
    }
    // A compressor is a few hundred kilobytes of tables: each thread reuses its own.
    z.reset();
    let mut out = Vec::with_capacity(data.len() / 8 + 64);
    let mut input = data;
    loop {
        // A Vec's spare capacity is the output buffer: make room until all input is consumed
        // and the flush is written out (output that fills the buffer may be incomplete).
        out.reserve(input.len() / 8 + 64);
        let before = z.total_in();
        // Compressing into memory cannot fail: the only errors are for bad parameters.
        if z.compress_vec(input, &mut out, FlushCompress::Sync)
            .is_err()
        {
            return Bytes::new();
        }
        input = &input[(z.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            return Bytes::from(out);
        }
    }
}

/// The header of a gzip member: deflate, no name, no time, OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty block with fixed codes: it ends the deflate stream of the segments.
const DEFLATE_END: [u8; 2] = [0x03, 0x00];

struct Compressed {
    plain: Vec<Bytes>,
    /// Per segment: its compressed pieces, and the CRC of the whole segment.
    deflated: Vec<(Vec<Bytes>, Crc)>,
}

impl Compressed {
    /// One format's exposition from its segments.
    fn encoded(&self, ids: &[SegmentId]) -> Encoded {
        let mut crc = Crc::new();
        let mut gzip = vec![Bytes::from_static(&GZIP_HEADER)];
        let mut plain = Vec::with_capacity(ids.len());
        for &SegmentId(i) in ids {
            if self.plain[i].is_empty() {
                continue;
            }
            plain.push(self.plain[i].clone());
            gzip.extend(self.deflated[i].0.iter().cloned());
            crc.combine(&self.deflated[i].1);
        }
        let mut trailer = Vec::with_capacity(10);
        trailer.extend_from_slice(&DEFLATE_END);
        trailer.extend_from_slice(&crc.sum().to_le_bytes());
        trailer.extend_from_slice(&crc.amount().to_le_bytes());
        gzip.push(Bytes::from(trailer));
        Encoded {
            plain: coalesce(plain),
            // The gzip copy is small (a fourteenth of the plain text): one piece per format is
            // worth its copy. Sent as twenty-odd frames of 70 kB, a 60,000-series body was
            // served at half nginx's rate; in one piece, at its rate.
            gzip: Arc::from([concat(&gzip)]),
        }
    }
}

/// Parts below this size are joined with their small neighbours.
const SMALL_PART: usize = 16 * 1024;

/// Joins runs of small parts into one: each part is one body frame for hyper to handle, and a
/// small exposition is cheapest to serve in one piece. Large parts, the samples shared by both
/// formats, stay as they are.
fn coalesce(parts: Vec<Bytes>) -> Arc<[Bytes]> {
    let mut out = Vec::with_capacity(parts.len());
    let mut run: Vec<Bytes> = Vec::new();
    for part in parts {
        if part.len() < SMALL_PART {
            run.push(part);
            continue;
        }
        if !run.is_empty() {
            out.push(concat(&std::mem::take(&mut run)));
        }
        out.push(part);
    }
    if !run.is_empty() {
        out.push(concat(&run));
    }
    out.into()
}

/// Which values a data family shows.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The report's gauges.
    Report,
    /// The counters that survive midnight.
    Counters,
}

/// A family with one sample per series. Its descriptor comes from the collector; its samples
/// are written by [`DataFamily::samples`].
#[derive(Debug)]
struct DataFamily {
    /// Position in the collector's order.
    index: usize,
    /// The sample name (with `_total` for a counter, as both formats write it).
    sample_name: &'static str,
    source: Source,
    /// Calls or time.
    calls: bool,
}

/// Positions of the families in the collector's order.
const BUILD_INFO: usize = 0;
const MENU_CALLS: usize = 1;
const MENU_TIME: usize = 2;
const IVR_CALLS: usize = 3;
const IVR_TIME: usize = 4;
const REST: usize = 5;

const DATA_FAMILIES: [DataFamily; 4] = [
    DataFamily {
        index: MENU_CALLS,
        sample_name: "wolkvox_ivr_menu_calls",
        source: Source::Report,
        calls: true,
    },
    DataFamily {
        index: MENU_TIME,
        sample_name: "wolkvox_ivr_menu_time_seconds",
        source: Source::Report,
        calls: false,
    },
    DataFamily {
        index: IVR_CALLS,
        sample_name: "wolkvox_ivr_calls_total",
        source: Source::Counters,
        calls: true,
    },
    DataFamily {
        index: IVR_TIME,
        sample_name: "wolkvox_ivr_time_seconds_total",
        source: Source::Counters,
        calls: false,
    },
];

impl DataFamily {
    /// The samples of every data family, in [`DATA_FAMILIES`]' order. Writing them is most of
    /// an encoding after compression: for large reports the families are written on as many
    /// threads as there are cores, as compression is.
    fn all_samples(ops: &[OperationMetrics]) -> Vec<(Bytes, Option<Bytes>)> {
        let series: usize = ops
            .iter()
            .map(|op| op.data.as_ref().map_or(0, |d| d.report.series.len()))
            .sum();
        // A thread costs tens of microseconds: worth it from a few thousand series.
        let threads = if series < PARALLEL_SERIES {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        on_threads(
            &DATA_FAMILIES,
            threads,
            || (),
            |(), family| family.samples(ops),
        )
    }

    /// Calls `line` for every series of every operation, in the collector's order.
    fn each(&self, ops: &[OperationMetrics], mut line: impl FnMut(&str, &str, &str, f64)) {
        let pick = |calls: f64, time: f64| if self.calls { calls } else { time };
        for op in ops {
            match self.source {
                Source::Report => {
                    let Some(data) = &op.data else { continue };
                    for s in &data.report.series {
                        line(
                            &op.operation,
                            &s.rp_id,
                            &s.cod_opc_menu,
                            pick(s.calls, s.time_seconds),
                        );
                    }
                }
                Source::Counters => {
                    let Some(counters) = &op.counters else {
                        continue;
                    };
                    for c in counters.iter() {
                        line(
                            &op.operation,
                            &c.rp_id,
                            &c.cod_opc_menu,
                            pick(c.calls, c.time_seconds),
                        );
                    }
                }
            }
        }
    }

    /// The samples in the text format, and in OpenMetrics when they differ there: only a value
    /// that is not finite is written differently (`+Inf` against `inf`).
    fn samples(&self, ops: &[OperationMetrics]) -> (Bytes, Option<Bytes>) {
        let mut finite = true;
        let mut size = 0;
        self.each(ops, |op, rp, opt, v| {
            finite &= v.is_finite();
            size += self.sample_name.len() + op.len() + rp.len() + opt.len() + 64;
        });
        let text = Bytes::from(self.write(ops, size, false));
        let om = (!finite).then(|| Bytes::from(self.write(ops, size, true)));
        (text, om)
    }

    fn write(&self, ops: &[OperationMetrics], size: usize, openmetrics: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(size);
        let mut number = dtoa::Buffer::new();
        // The start of the line is the same for every series of an operation.
        let mut head = Vec::new();
        let mut head_of = String::new();
        self.each(ops, |op, rp, opt, v| {
            if head.is_empty() || head_of != op {
                head.clear();
                head.extend_from_slice(self.sample_name.as_bytes());
                head.extend_from_slice(b"{operation=\"");
                escape_label_value(&mut head, op);
                head.extend_from_slice(b"\",rp_id=\"");
                head_of.clear();
                head_of.push_str(op);
            }
            out.extend_from_slice(&head);
            escape_label_value(&mut out, rp);
            out.extend_from_slice(b"\",cod_opc_menu=\"");
            escape_label_value(&mut out, opt);
            out.extend_from_slice(b"\"} ");
            let value = match (v.is_finite(), openmetrics) {
                (true, _) | (false, true) => number.format(v),
                // prometheus-client's text format writes Go's spelling.
                (false, false) if v.is_nan() => "NaN",
                (false, false) if v > 0.0 => "+Inf",
                (false, false) => "-Inf",
            };
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        });
        out
    }
}

/// A label value as both formats escape it: backslash, double quote and line feed.
fn escape_label_value(out: &mut Vec<u8>, value: &str) {
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
    /// The families to write, by position ([`BUILD_INFO`] to [`REST`], which is all the rest).
    families: std::ops::Range<usize>,
    /// Whether the data families get their samples here too, or only their descriptors.
    data_samples: bool,
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

    /// A counter with one sample per operation, labelled by it.
    fn counter_per_operation(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help_text: &str,
        value: impl Fn(&OperationMetrics) -> u64,
    ) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            name,
            &help(help_text, &self.interval_text()),
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for op in self.ops.iter() {
            let labels = [("operation", op.operation.as_str())];
            ConstCounter::new(value(op)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
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
        if !self.data_samples {
            return Ok(());
        }
        for op in self.ops.iter() {
            let Some(data) = &op.data else { continue };
            for s in &data.report.series {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("rp_id", &*s.rp_id),
                    ("cod_opc_menu", &*s.cod_opc_menu),
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
        if !self.data_samples {
            return Ok(());
        }
        for op in self.ops.iter() {
            let Some(counters) = &op.counters else {
                continue;
            };
            for c in counters.iter() {
                let labels = [
                    ("operation", op.operation.as_str()),
                    ("rp_id", &*c.rp_id),
                    ("cod_opc_menu", &*c.cod_opc_menu),
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

        let wants = |family: usize| self.families.contains(&family);
        if wants(BUILD_INFO) {
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
        }

        if wants(MENU_CALLS) {
            self.data_family(
                &mut encoder,
                "wolkvox_ivr_menu_calls",
                "Calls through this IVR menu option in the report window.",
                |s| s.calls,
            )?;
        }
        if wants(MENU_TIME) {
            self.data_family(
                &mut encoder,
                "wolkvox_ivr_menu_time_seconds",
                "Time spent in this IVR menu option in the report window, in seconds.",
                |s| s.time_seconds,
            )?;
        }
        if wants(IVR_CALLS) {
            self.counter_family(
                &mut encoder,
                "wolkvox_ivr_calls",
                "Calls through this IVR menu option, counted across days (today window only).",
                |c| c.calls,
            )?;
        }
        if wants(IVR_TIME) {
            self.counter_family(
                &mut encoder,
                "wolkvox_ivr_time_seconds",
                "Seconds spent in this IVR menu option, counted across days (today window only).",
                |c| c.time_seconds,
            )?;
        }
        if !wants(REST) {
            return Ok(());
        }

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
            |o| o.token_info.map(|t| t.limit),
        )?;
        self.gauge_per_operation(
            &mut encoder,
            "wolkvox_token_used_today",
            "Calls made with the token today by everything that uses it, from token_info.",
            |o| o.token_info.map(|t| t.used_today),
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

        self.counter_per_operation(
            &mut encoder,
            "wolkvox_api_requests",
            "API calls this exporter made (reports and token_info).",
            |op| op.api_requests,
        )?;

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
                ConstCounter::new(op.polls[result]).encode(polls.encode_family(&labels)?)?;
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
                ConstCounter::new(op.rejected[reason]).encode(rejected.encode_family(&labels)?)?;
            }
        }

        self.counter_per_operation(
            &mut encoder,
            "wolkvox_series_dropped",
            "Series pairs dropped because a report held more than --report.max-series.",
            |op| op.series_dropped,
        )
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
                rejected: RejectCounts::default(),
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
    fn counters_are_named_per_format() {
        let snap = Snapshot::encode(false, &[op_with(vec![])]);
        let text = snap.text.plain();
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.contains("# TYPE wolkvox_polls_total counter"),
            "{text}"
        );
        assert!(text.contains(r#"wolkvox_polls_total{operation="0032",result="timeout"} 0"#));
        let om = snap.openmetrics.plain();
        let om = std::str::from_utf8(&om).unwrap();
        assert!(om.contains("# TYPE wolkvox_polls counter"), "{om}");
    }

    #[test]
    fn gzip_copy_decodes_to_the_plain_bytes() {
        use std::io::Read;
        let snap = Snapshot::encode(true, &[op_with(vec![])]);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&snap.text.gzip()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, snap.text.plain());
    }

    fn counters_of(series: &[Series]) -> Arc<[CounterSeries]> {
        series
            .iter()
            .map(|s| CounterSeries {
                rp_id: s.rp_id.clone(),
                cod_opc_menu: s.cod_opc_menu.clone(),
                calls: s.calls * 3.0,
                time_seconds: s.time_seconds + 0.25,
            })
            .collect()
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        // The strict reader: one member, checked CRC and length.
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Operations with odd labels and values: escapes, empty data, counters, infinities.
    fn assorted_operations() -> Vec<OperationMetrics> {
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
        let mut infinite = counters_of(&series).to_vec();
        infinite[0].calls = f64::INFINITY;
        c.counters = Some(infinite.into());
        c.token_info = Some(TokenInfo {
            limit: 1000.0,
            used_today: 17.0,
        });
        c.last_success = Some("2026-11-25T10:00:00Z".parse().unwrap());
        vec![a, b, c]
    }

    #[test]
    fn segments_reproduce_prometheus_client_byte_for_byte() {
        let reload = Some(ReloadStatus {
            successful: true,
            last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
        });
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
        let cases: Vec<(Vec<OperationMetrics>, Option<ReloadStatus>)> = vec![
            (vec![], None),
            (vec![op_with(vec![])], None),
            (all[..1].to_vec(), None),
            (all.clone(), reload),
            (all[1..].to_vec(), reload),
            // Samples of several megabytes: written and compressed on several threads.
            (vec![large.clone(), all[2].clone()], None),
        ];
        for (ops, reload) in cases {
            let snap = Snapshot::encode_with(true, &ops, reload);
            let (text, om) = Snapshot::reference(&ops, reload);
            assert_eq!(std::str::from_utf8(&snap.text.plain()).unwrap(), text);
            assert_eq!(std::str::from_utf8(&snap.openmetrics.plain()).unwrap(), om);
            assert_eq!(gunzip(&snap.text.gzip()), text.as_bytes());
            assert_eq!(gunzip(&snap.openmetrics.gzip()), om.as_bytes());
        }
    }

    #[test]
    fn both_formats_share_the_samples_of_the_data_series_and_gzip_is_one_piece() {
        let series: Vec<Series> = (0..20_000)
            .map(|i| Series {
                rp_id: format!("{}", 1000 + i).into(),
                cod_opc_menu: "AGENTE".into(),
                calls: i as f64,
                time_seconds: 1.5 * i as f64,
            })
            .collect();
        let mut op = op_with(series.clone());
        op.counters = Some(counters_of(&series));
        let snap = Snapshot::encode(true, &[op]);
        let shared = |a: &[Bytes], b: &[Bytes]| {
            a.iter()
                .filter(|x| b.iter().any(|y| y.as_ptr() == x.as_ptr() && !x.is_empty()))
                .map(Bytes::len)
                .sum::<usize>()
        };
        let (t, om) = (&snap.text, &snap.openmetrics);
        // The four sample blocks: nearly all of the bytes, kept once for both formats.
        assert!(shared(t.plain_parts(), om.plain_parts()) * 10 > t.plain().len() * 9);
        // The gzip copies are one piece each: compressed once, copied per format.
        assert_eq!((t.gzip_parts().len(), om.gzip_parts().len()), (1, 1));
    }
}
