//! The exposition that /metrics serves: the immutable [`Snapshot`], its encoding, and the
//! [`Store`] that swaps it in whole.
//!
//! All encoding happens here, once per poll: the Prometheus text format, OpenMetrics, and a gzip
//! copy of each. A scrape only clones an `Arc` and hands out bytes, so it never waits for a poll
//! and never sees half of one.
//!
//! An exposition is a list of segments served one after the other. Layout:
//!
//! - `operation.rs`: [`OperationMetrics`], what a poller hands in about its operation.
//! - `families.rs`: the one table of metric families that every writer reads.
//! - `collector.rs`: prometheus-client writing the descriptors and the small families.
//! - `samples.rs`: the fast writer of the per-series samples (nearly all of the bytes), written
//!   once for both formats, beside the test that checks it against prometheus-client.
//! - `compress.rs`: the gzip copy, one member of segments compressed once and on every core.
//! - `store.rs`: the [`Store`] that swaps snapshots.

mod collector;
mod compress;
mod families;
#[cfg(test)]
mod fixtures;
mod operation;
mod samples;
mod store;

use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;

pub use operation::{OperationMetrics, ReportData};
pub use store::Store;

use compress::Segments;
use families::{FAMILIES, Family};

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

    /// The exposition in one piece: a copy, for tests; scrapes send the parts.
    #[cfg(any(test, feature = "test-util"))]
    pub fn plain(&self) -> Bytes {
        compress::concat(&self.plain)
    }

    /// The gzip copy in one piece (a copy, like [`Encoded::plain`]).
    #[cfg(any(test, feature = "test-util"))]
    pub fn gzip(&self) -> Bytes {
        compress::concat(&self.gzip)
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
        // The per-series families: their samples are written apart, on every core for large
        // reports, and placed after their descriptors.
        let at: Vec<usize> = (0..FAMILIES.len())
            .filter(|&i| FAMILIES[i].per_series())
            .collect();
        let per_series: Vec<&Family> = at.iter().map(|&i| &FAMILIES[i]).collect();
        let samples = samples::write_all(&ops, &per_series);
        let mut segments = Segments::default();
        let (mut text, mut openmetrics) = (Vec::new(), Vec::new());
        // prometheus-client writes each run of families up to a per-series family's
        // descriptor; that family's samples follow, shared by both formats unless they differ.
        let mut from = 0;
        for (at, samples) in at.into_iter().zip(samples) {
            let (t, om) = collector::encode(&ops, reload, &FAMILIES[from..=at], false);
            text.push(segments.add(t));
            openmetrics.push(segments.add(om));
            from = at + 1;
            let t = segments.add(samples.text);
            text.push(t);
            openmetrics.push(match samples.openmetrics {
                Some(om) => segments.add(om),
                None => t,
            });
        }
        let (t, om) = collector::encode(&ops, reload, &FAMILIES[from..], true);
        text.push(segments.add(t));
        openmetrics.push(segments.add(om));

        let compressed = segments.compress();
        Snapshot {
            ready,
            text: compressed.encoded(&text),
            openmetrics: compressed.encoded(&openmetrics),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::fixtures::{counters_of, op_with};
    use crate::report::Series;

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
