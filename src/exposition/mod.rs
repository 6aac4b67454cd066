//! The exposition that /metrics serves: the immutable [`Snapshot`], its encoding, and the
//! [`Store`] that swaps it in whole.
//!
//! All encoding happens here, once per poll of an operation and for that operation only: its
//! samples in the Prometheus text format, in OpenMetrics, and a gzip copy of each. A snapshot
//! holds one `Arc` per operation's parts; a scrape clones the snapshot's `Arc` and sends the
//! parts, bytes encoded at poll time, so it never waits for a poll and never sees half of one.
//! A small body is joined into one piece at its first scrape, once per snapshot.
//!
//! Layout:
//!
//! - `mod.rs`: the [`Snapshot`] and the parts it is made of, in exposition order.
//! - `operation.rs`: [`OperationMetrics`], what a poller hands in about its operation.
//! - `families.rs`: the one table of metric families that every writer reads.
//! - `encode.rs`: the one writer of descriptors and samples, and of the history for `backfill`.
//! - `gzip.rs`: the gzip copy of a part, and the member's end made from the parts' CRCs.
//! - `store.rs`: the [`Store`] that swaps snapshots.

mod encode;
mod families;
mod gzip;
mod operation;
mod store;

use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock};

use bytes::Bytes;
use jiff::Timestamp;

use crate::sys::process::ProcessStats;
use families::{FAMILIES, Read};
use gzip::{GZIP_HEADER, Part};

pub use crate::config::names::NameInfo;
pub use encode::{HistoryPoint, OperationHistory, encode_history};
pub use operation::{LastCall, OperationMetrics, ReportData};
pub use store::Store;

/// The two formats /metrics speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
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
    /// With `--shard`: how many of the file's operations this process polls.
    pub shard_operations: Option<u64>,
    /// With `--web.config.file`: whether its last (re)load was applied.
    pub web_config: Option<bool>,
}

/// What the exporter's own families are read from, as opposed to the operations': the reload
/// status, the process metrics and the names. Each is absent until it is known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Globals {
    /// The outcome of configuration reloads, when a file is in use.
    pub reload: Option<ReloadStatus>,
    /// The last reading of the process metrics (Linux only).
    pub process: Option<ProcessStats>,
    /// The names of routing points and options, when any are given.
    pub names: Option<Arc<NameInfo>>,
}

/// A family's part in each [`Format`], by its discriminant; the same bytes when they agree.
type Formats = [Part; 2];

/// One part per family and format, from what was written per family in the text format and,
/// when it differs, in OpenMetrics: each distinct byte string compressed once.
fn compress_all(written: Vec<(Bytes, Option<Bytes>)>) -> Vec<Formats> {
    let plain = written
        .iter()
        .flat_map(|(text, om)| std::iter::once(text).chain(om))
        .cloned()
        .collect();
    let mut parts = gzip::compress(plain).into_iter();
    written
        .iter()
        .map(|(_, om)| {
            let text = parts.next().unwrap_or_default();
            let openmetrics = match om {
                Some(_) => parts.next().unwrap_or_default(),
                None => text.clone(),
            };
            [text, openmetrics]
        })
        .collect()
}

/// Per family of [`FAMILIES`]: the samples of one operation, or the exporter's own, encoded and
/// compressed, and whether they alone would make the family appear.
#[derive(Debug)]
struct Parts {
    present: Vec<bool>,
    families: Vec<Formats>,
}

impl Parts {
    /// Encodes and compresses the samples of `ops` (one operation), or with none those of
    /// `globals`: work in proportion to their series only. `report`, the data families' parts
    /// of a thin [`ReportData`], are reused, not encoded again.
    fn encode(ops: &[OperationMetrics], globals: &Globals, report: Option<&[Formats]>) -> Parts {
        let mut out = Vec::new();
        let written = FAMILIES
            .iter()
            .map(|family| {
                // The exporter's own families (build, reloads, process, names) are written
                // once, not with every operation.
                let own = !ops.is_empty()
                    && matches!(
                        family.read,
                        Read::Build | Read::Reload(_) | Read::Process(..) | Read::Info(..)
                    );
                if own || (family.of_report() && report.is_some()) {
                    (0..0, None)
                } else {
                    encode::samples(&mut out, family, ops, globals)
                }
            })
            .collect::<Vec<_>>();
        // Per family, its ranges of `out` as slices of one allocation of exactly their size:
        // the allocator rounds one block per operation up to its size class, not one per family.
        out.shrink_to_fit();
        let out = Bytes::from(out);
        let slice = |r: Range<usize>| out.slice(r);
        let written = written
            .into_iter()
            .map(|(text, om)| (slice(text), om.map(slice)));
        let mut families = compress_all(written.collect());
        if let Some(report) = report {
            let report_families = FAMILIES.iter().enumerate().filter(|(_, f)| f.of_report());
            for ((i, _), formats) in report_families.zip(report) {
                families[i] = formats.clone();
            }
        }
        Parts {
            present: FAMILIES
                .iter()
                .map(|f| f.is_present(ops, globals))
                .collect(),
            families,
        }
    }
}

/// One operation's parts, with the metrics they were encoded from, which the status page
/// shows.
#[derive(Debug)]
struct OperationParts {
    metrics: OperationMetrics,
    parts: Parts,
}

impl OperationParts {
    /// Encodes `metrics`, and keeps them with their report replaced by its thin copy: the
    /// parts of its data families and the series the status page lists.
    fn encode(mut metrics: OperationMetrics) -> OperationParts {
        let report = metrics.data.as_ref().and_then(|d| d.encoded.clone());
        let ops = std::slice::from_ref(&metrics);
        let parts = Parts::encode(ops, &Globals::default(), report.as_deref());
        if let Some(data) = &mut metrics.data
            && report.is_none()
        {
            let report_families = FAMILIES.iter().zip(&parts.families);
            let report_families = report_families.filter(|(f, _)| f.of_report());
            *data = Arc::new(data.thin(report_families.map(|(_, p)| p.clone()).collect()));
        }
        OperationParts { metrics, parts }
    }
}

/// What ends each format: nothing, and `# EOF` in OpenMetrics.
static END: LazyLock<Formats> = LazyLock::new(|| {
    let end = (Bytes::new(), Some(Bytes::from_static(b"# EOF\n")));
    compress_all(vec![end]).remove(0)
});

/// Every family's descriptor (HELP and TYPE) in both formats: the same for every instance and
/// every configuration, encoded once.
static DESCRIPTORS: LazyLock<Vec<Formats>> = LazyLock::new(|| {
    let written = FAMILIES
        .iter()
        .map(|family| {
            let (mut text, mut om) = (Vec::new(), Vec::new());
            encode::descriptor(&mut text, family, Format::Text);
            encode::descriptor(&mut om, family, Format::OpenMetrics);
            let om = (om != text).then(|| Bytes::from(om));
            (Bytes::from(text), om)
        })
        .collect();
    compress_all(written)
});

/// What a scrape serves: immutable, replaced whole after each poll. Each family's descriptor,
/// then the exporter's own samples of it, then every operation's, in the order of the
/// operations' names (family-major, as prometheus-client writes a registry).
#[derive(Debug)]
pub struct Snapshot {
    /// True once the first poll has finished, whatever its result.
    pub ready: bool,
    /// In the order of their names.
    ops: Vec<Arc<OperationParts>>,
    globals: Arc<Parts>,
    /// Per family: whether it appears.
    shown: Vec<bool>,
    /// Per format, plain and gzip: the body as it is sent, made at its first scrape (so that a
    /// poll does not combine the CRCs of every operation's parts): in one piece when it is at
    /// most [`JOIN_LIMIT`], else the parts encoded at poll time.
    bodies: [[OnceLock<Vec<Bytes>>; 2]; 2],
}

/// The largest body sent in one piece: hyper writes many small pieces one by one, at a cost per
/// piece that soon exceeds one copy per snapshot. A larger body has large pieces already, and
/// a copy of it would hold that much more memory for as long as it is served.
const JOIN_LIMIT: usize = 1 << 20;

impl Snapshot {
    /// The snapshot of parts encoded already: O(operations x families), no encoding.
    fn of(ready: bool, ops: Vec<Arc<OperationParts>>, globals: Arc<Parts>) -> Snapshot {
        let shown = (0..FAMILIES.len())
            .map(|f| globals.present[f] || ops.iter().any(|o| o.parts.present[f]))
            .collect();
        Snapshot {
            ready,
            ops,
            globals,
            shown,
            bodies: Default::default(),
        }
    }

    /// The parts of `format` in exposition order, empty ones included.
    fn walk(&self, format: Format) -> impl Iterator<Item = &Part> + Clone {
        let i = format as usize;
        (0..FAMILIES.len())
            .flat_map(move |f| {
                let descriptor = self.shown[f].then(|| &DESCRIPTORS[f][i]);
                let ops = self.ops.iter().map(move |o| &o.parts.families[f][i]);
                descriptor
                    .into_iter()
                    .chain([&self.globals.families[f][i]])
                    .chain(ops)
            })
            .chain([&END[i]])
    }

    /// The body of `format`, plain or as one gzip member: one piece up to [`JOIN_LIMIT`], else
    /// the parts encoded at poll time; none of them empty (the build info is always there).
    pub fn parts(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        let body = self.bodies[format as usize][gzip as usize].get_or_init(|| {
            let pieces = self.pieces(format, gzip);
            match pieces.iter().map(Bytes::len).sum::<usize>() <= JOIN_LIMIT {
                true => vec![Bytes::from(pieces.concat())],
                false => pieces,
            }
        });
        body.clone()
    }

    /// The body of `format`, plain or as one gzip member, as the parts encoded at poll time:
    /// none of them empty, none copied.
    fn pieces(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        let walk = self.walk(format).filter(|p| !p.plain.is_empty());
        if !gzip {
            return walk.map(|p| p.plain.clone()).collect();
        }
        std::iter::once(Bytes::from_static(&GZIP_HEADER))
            .chain(walk.clone().map(|p| p.deflated.clone()))
            .chain([gzip::gzip_end(walk)])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{counters_of, grid, gunzip, op_with};
    use super::*;
    use crate::report::Series;

    #[test]
    fn gzip_copy_decodes_to_the_plain_bytes() {
        let snap = Snapshot::encode(true, &[op_with(vec![])], Globals::default());
        for format in [Format::Text, Format::OpenMetrics] {
            assert_eq!(gunzip(&snap.body(format, true)), snap.body(format, false));
        }
    }

    #[test]
    fn a_body_up_to_the_join_limit_is_one_piece_joined_once_per_snapshot_a_larger_one_its_parts() {
        let small = Snapshot::encode(true, &[op_with(grid(100, 4))], Globals::default());
        for format in [Format::Text, Format::OpenMetrics] {
            for gzip in [false, true] {
                let sent = small.parts(format, gzip);
                assert_eq!(sent.len(), 1, "{format:?} gzip {gzip}");
                assert_eq!(sent[0], small.pieces(format, gzip).concat());
                let again = small.parts(format, gzip);
                assert_eq!(again[0].as_ptr(), sent[0].as_ptr(), "joined once");
            }
        }
        let large = Snapshot::encode(true, &[op_with(grid(20_000, 4))], Globals::default());
        let pieces = large.pieces(Format::Text, false);
        assert!(pieces.iter().map(Bytes::len).sum::<usize>() > JOIN_LIMIT);
        let pointers = |parts: Vec<Bytes>| parts.iter().map(|p| p.as_ptr()).collect::<Vec<_>>();
        assert_eq!(pointers(large.parts(Format::Text, false)), pointers(pieces));
    }

    #[test]
    fn an_operations_parts_are_slices_of_one_block_plain_and_one_deflated() {
        let mut op = op_with(grid(300, 4));
        op.counters = Some(counters_of(&grid(300, 4)));
        let parts = OperationParts::encode(op).parts;
        let text = || parts.families.iter().map(|f| &f[Format::Text as usize]);
        let blocks = [
            text().map(|p| p.plain.clone()).collect::<Vec<_>>(),
            text().map(|p| p.deflated.clone()).collect(),
        ];
        for block in blocks {
            let pieces: Vec<&Bytes> = block.iter().filter(|b| !b.is_empty()).collect();
            assert!(pieces.len() > 4);
            for pair in pieces.windows(2) {
                let end = pair[0].as_ptr().wrapping_add(pair[0].len());
                assert_eq!(pair[1].as_ptr(), end, "each part where the one before ends");
            }
        }
    }

    #[test]
    fn both_formats_share_the_samples_of_the_data_series_and_gzip_is_one_member() {
        // Values that compress badly, so that the gzip bodies are large.
        let scrambled = |i: u64, m: u64| (i.wrapping_mul(2_654_435_761) % m) as f64;
        let series: Vec<Series> = (0..20_000)
            .map(|i| Series {
                rp_id: format!("{}", scrambled(i, 1 << 31)).into(),
                cod_opc_menu: "AGENTE".into(),
                calls: scrambled(i + 7, 1_000_003),
                time_seconds: scrambled(i + 13, 1 << 40) / 1024.0,
            })
            .collect();
        let mut op = op_with(series.clone());
        op.counters = Some(counters_of(&series));
        let snap = Snapshot::encode(true, &[op], Globals::default());
        let shared = |a: &[Bytes], b: &[Bytes]| {
            a.iter()
                .filter(|x| b.iter().any(|y| y.as_ptr() == x.as_ptr() && !x.is_empty()))
                .map(Bytes::len)
                .sum::<usize>()
        };
        let parts = |format, gzip| snap.pieces(format, gzip);
        let (t, om) = (Format::Text, Format::OpenMetrics);
        // The four sample blocks: nearly all of the bytes, kept once for both formats.
        let plain_len = snap.body(t, false).len();
        assert!(shared(&parts(t, false), &parts(om, false)) * 10 > plain_len * 9);
        // The gzip copies are one member each: one header, then parts compressed once and
        // shared by both formats like the plain ones, then one trailer.
        for format in [t, om] {
            let gzip = parts(format, true);
            assert_eq!(&gzip[0][..], &GZIP_HEADER);
            assert!(gzip[1..].iter().all(|p| !p.starts_with(&GZIP_HEADER)));
        }
        let gzip_len = snap.body(t, true).len();
        assert!(shared(&parts(t, true), &parts(om, true)) * 10 > gzip_len * 9);
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Operations for the tests of this module: odd labels and values, counters, infinities;
    //! and prometheus-client's exposition of them, the reference.

    use std::sync::Arc;
    use std::time::Duration;

    use jiff::Timestamp;

    use super::{OperationMetrics, ReportData};
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
    use prometheus_client::metrics::MetricType;
    use prometheus_client::metrics::counter::ConstCounter;
    use prometheus_client::metrics::gauge::ConstGauge;
    use prometheus_client::registry::Registry;

    use super::families::{FAMILIES, Number};
    use super::{Format, Globals, OperationParts, Parts, Snapshot};

    impl Snapshot {
        /// Encodes the metrics of `operations` (in their order), and the exporter's own ones.
        pub(crate) fn encode(
            ready: bool,
            operations: &[OperationMetrics],
            globals: Globals,
        ) -> Snapshot {
            let ops = operations
                .iter()
                .map(|op| Arc::new(OperationParts::encode(op.clone())));
            let globals = Parts::encode(&[], &globals, None);
            Snapshot::of(ready, ops.collect(), Arc::new(globals))
        }

        /// The body of `format` in one piece.
        pub(crate) fn body(&self, format: Format, gzip: bool) -> Vec<u8> {
            self.parts(format, gzip).concat()
        }
    }

    /// The families of the table, written by prometheus-client: the reference.
    #[derive(Debug)]
    struct Families {
        ops: Arc<[OperationMetrics]>,
        globals: Globals,
    }

    /// The whole exposition as prometheus-client writes it, in the text format and in
    /// OpenMetrics: the reference that the encoder must reproduce byte for byte.
    pub(crate) fn reference(ops: &[OperationMetrics], globals: Globals) -> (String, String) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Families {
            ops: Arc::from(ops),
            globals,
        }));
        let (mut text, mut om) = (String::new(), String::new());
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        prometheus_client::encoding::text::encode(&mut om, &registry).unwrap();
        (text, om)
    }

    /// `snap` serves, in both formats plain and gzipped, what prometheus-client writes of `ops`.
    pub(crate) fn assert_encodes(snap: &Snapshot, ops: &[OperationMetrics], globals: Globals) {
        let (text, om) = reference(ops, globals);
        for (format, expected) in [(Format::Text, text), (Format::OpenMetrics, om)] {
            let plain = snap.body(format, false);
            assert_eq!(std::str::from_utf8(&plain).unwrap(), expected);
            assert_eq!(gunzip(&snap.body(format, true)), expected.as_bytes());
        }
    }

    impl Collector for Families {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            for family in FAMILIES {
                if !family.is_present(&self.ops, &self.globals) {
                    continue;
                }
                let mut descriptor =
                    encoder.encode_descriptor(family.name, family.help, None, family.kind())?;
                family.for_each_sample(&self.ops, &self.globals, |values, value| {
                    let labels: Vec<(&str, &str)> = family
                        .labels()
                        .iter()
                        .copied()
                        .zip(values.iter().copied())
                        .collect();
                    encode_value(family.kind(), value, descriptor.encode_family(&labels)?)
                })?;
            }
            Ok(())
        }
    }

    /// One sample's value, as a constant counter or gauge of the family's type.
    fn encode_value(
        kind: MetricType,
        value: Number,
        encoder: MetricEncoder,
    ) -> Result<(), std::fmt::Error> {
        match (kind, value) {
            (MetricType::Counter, Number::Int(n)) => ConstCounter::new(n).encode(encoder),
            (MetricType::Counter, Number::Float(v)) => ConstCounter::new(v).encode(encoder),
            (_, Number::Int(n)) => ConstGauge::new(n).encode(encoder),
            (_, Number::Float(v)) => ConstGauge::new(v).encode(encoder),
        }
    }

    use crate::counters::{CounterSeries, Counters};
    use crate::report::{RejectCounts, Report, Series};
    use crate::upstream::TokenInfo;

    /// Operation `0032`, up, with a report of `series` in today's window.
    pub(crate) fn op_with(series: Vec<Series>) -> OperationMetrics {
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
            crate::config::window::Window::Today.resolve(now, &tz),
        )));
        op.up = true;
        op
    }

    /// `n` series, `options` menu options (`OPT_0`...) per routing point from `1000` on; calls
    /// `i` and `2.5 i` seconds for the `i`th.
    pub(crate) fn grid(n: usize, options: usize) -> Vec<Series> {
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
    pub(crate) fn counters_of(series: &[Series]) -> Arc<Counters> {
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
    pub(crate) fn gunzip(data: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Operations with odd labels and values: escapes, empty data, counters, infinities.
    pub(crate) fn assorted_operations() -> Vec<OperationMetrics> {
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
    pub(crate) const PROCESS: crate::sys::process::ProcessStats =
        crate::sys::process::ProcessStats {
            cpu_seconds: 12.34,
            resident_memory_bytes: 24_576_000,
            virtual_memory_bytes: 1_056_768_000,
            open_fds: 17,
            max_fds: 1_048_576,
            start_time_seconds: 1_764_400_123.45,
        };
}
