//! The exposition that /metrics serves: the immutable [`Snapshot`], its encoding, and the
//! [`Store`] that swaps it in whole.
//!
//! All encoding happens here, once per poll of an operation and for that operation only: its
//! samples in the Prometheus text format, in OpenMetrics, and a gzip copy of each. A snapshot
//! holds one `Arc` per operation's parts; a scrape clones the snapshot's `Arc` and walks the
//! parts, handing out bytes encoded at poll time, so it never waits for a poll and never sees
//! half of one.
//!
//! An exposition is a list of parts served one after the other. Layout:
//!
//! - `operation.rs`: [`OperationMetrics`], what a poller hands in about its operation.
//! - `families.rs`: the one table of metric families that every writer reads.
//! - `collector.rs`: prometheus-client writing the descriptors (and the reference exposition).
//! - `samples.rs`: the writer of an operation's samples: a fast path for the per-series ones
//!   (nearly all of the bytes), beside the test that checks it against prometheus-client.
//! - `compress.rs`: the gzip copy of a part, compressed once and on every core.
//! - `crc.rs`: the CRC-32 of the gzip member, kept up to date part by part.
//! - `parts.rs`: an operation's parts, the global ones, the descriptors.
//! - `assembly.rs`: the parts of all operations, kept up to date poll by poll, and the CRCs.
//! - `layout.rs`: a snapshot's parts in exposition order, and the walk a scrape sends.
//! - `store.rs`: the [`Store`] that swaps snapshots.
//! - `history.rs`: past samples of the per-series families, with timestamps, for `backfill`.

mod assembly;
mod collector;
mod compress;
mod crc;
mod families;
#[cfg(test)]
mod fixtures;
mod history;
mod layout;
mod operation;
mod parts;
mod samples;
mod store;

#[cfg(any(test, feature = "test-util"))]
use bytes::Bytes;
use jiff::Timestamp;

use crate::process::ProcessStats;

pub use history::{HistoryPoint, OperationHistory, encode_history};
pub use layout::{Frames, Parts};
pub use operation::{LastCall, OperationMetrics, ReportData};
pub use store::Store;

use assembly::Assembly;
use parts::OperationParts;

/// Content-Type of the Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content-Type of OpenMetrics.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
/// status and the process metrics. Each is absent until it is known.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Globals {
    /// The outcome of configuration reloads, when a file is in use.
    pub reload: Option<ReloadStatus>,
    /// The last reading of the process metrics (Linux only).
    pub process: Option<ProcessStats>,
}

/// One encoding of the exposition, plain and gzipped, each as the parts that are sent one
/// after the other. Parts are shared: between the two formats, between snapshots (until their
/// operation changes), and between every scrape.
#[derive(Debug, Clone)]
pub struct Encoded {
    plain: Parts,
    gzip: Parts,
}

impl Encoded {
    /// The exposition, part by part.
    pub fn plain_parts(&self) -> &Parts {
        &self.plain
    }

    /// Its gzip copy (one gzip member), part by part.
    pub fn gzip_parts(&self) -> &Parts {
        &self.gzip
    }

    /// The exposition in one piece: a copy, for tests; scrapes send the parts.
    #[cfg(any(test, feature = "test-util"))]
    pub fn plain(&self) -> Bytes {
        compress::concat(&self.plain.iter().cloned().collect::<Vec<_>>())
    }

    /// The gzip copy in one piece (a copy, like [`Encoded::plain`]).
    #[cfg(any(test, feature = "test-util"))]
    pub fn gzip(&self) -> Bytes {
        compress::concat(&self.gzip.iter().cloned().collect::<Vec<_>>())
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
        Self::encode_with(ready, operations, Globals::default())
    }

    /// Encodes the metrics of `operations` (in their order), and the exporter's own ones.
    pub fn encode_with(ready: bool, operations: &[OperationMetrics], globals: Globals) -> Snapshot {
        let parts = operations.iter().map(OperationParts::encode).collect();
        Assembly::of(globals, parts).snapshot(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::fixtures::{counters_of, op_with};
    use crate::report::Series;

    #[test]
    fn both_formats_share_the_samples_of_the_data_series_and_gzip_is_one_member() {
        // Values that compress badly, so that the gzip bodies are larger than the bound up to
        // which a body is joined into one piece (512 KiB), and stay in shared parts.
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
        let snap = Snapshot::encode(true, &[op]);
        let shared = |a: &Parts, b: &Parts| {
            let b: Vec<&Bytes> = b.iter().collect();
            a.iter()
                .filter(|x| b.iter().any(|y| y.as_ptr() == x.as_ptr() && !x.is_empty()))
                .map(Bytes::len)
                .sum::<usize>()
        };
        let (t, om) = (&snap.text, &snap.openmetrics);
        // The four sample blocks: nearly all of the bytes, kept once for both formats.
        assert!(shared(t.plain_parts(), om.plain_parts()) * 10 > t.plain().len() * 9);
        // The gzip copies are one member each: one header, then parts compressed once and
        // shared by both formats like the plain ones, then one trailer.
        for gzip in [t.gzip_parts(), om.gzip_parts()] {
            let gzip: Vec<&Bytes> = gzip.iter().collect();
            assert_eq!(&gzip[0][..], &compress::GZIP_HEADER);
            assert!(
                gzip[1..]
                    .iter()
                    .all(|p| !p.starts_with(&compress::GZIP_HEADER))
            );
        }
        assert!(shared(t.gzip_parts(), om.gzip_parts()) * 10 > t.gzip().len() * 9);
        assert!(t.gzip_parts().one().is_none(), "{} bytes", t.gzip().len());
    }

    #[test]
    fn a_gzip_body_is_joined_into_one_piece_up_to_a_higher_bound_than_a_plain_one() {
        // 10,000 series: about 3.5 MB plain, about 330 kB gzip (the serving benchmark's case).
        let series: Vec<Series> = (0..10_000)
            .map(|i| Series {
                rp_id: format!("{}", 1000 + i % 100).into(),
                cod_opc_menu: format!("{}", i / 100).into(),
                calls: (i * 7 % 1000) as f64,
                time_seconds: (i as u64).wrapping_mul(2_654_435_761) as f64 / 1024.0,
            })
            .collect();
        let mut op = op_with(series.clone());
        op.counters = Some(counters_of(&series));
        let snap = Snapshot::encode(true, &[op]);
        for enc in [&snap.text, &snap.openmetrics] {
            let (plain, gzip) = (enc.plain_parts(), enc.gzip_parts());
            assert!(plain.len() > 256 * 1024, "{} bytes plain", plain.len());
            assert!(plain.one().is_none());
            assert!(gzip.len() > 256 * 1024, "{} bytes gzip", gzip.len());
            assert!(gzip.len() <= 512 * 1024, "{} bytes gzip", gzip.len());
            // One piece, and the same member as the parts would have sent.
            let one = gzip.one().expect("a gzip body under 512 KiB is joined");
            assert_eq!(one.len() as u64, gzip.len());
            assert_eq!(gzip.iter().count(), 1);
            assert_eq!(crate::exposition::fixtures::gunzip(one), plain.concat());
        }
    }
}
