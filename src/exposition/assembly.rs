//! The exposition joined from its parts: each family's descriptor, then the exporter's own
//! samples of it, then every operation's, in the order of the operations' names (family-major,
//! as prometheus-client writes a registry). Joining is O(operations x families) pointer copies:
//! no byte is copied and nothing is encoded again. The gzip member's CRC is kept by a
//! [`Tree`] per format, updated in O(families x log parts) when one operation changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::compress::{self, GZIP_HEADER, Part, gzip_end};
use super::crc::Tree;
use super::families::FAMILIES;
use super::parts::{Descriptors, GlobalParts, OperationParts};
use super::{Encoded, Globals, ReloadStatus, Snapshot};
use crate::process::ProcessStats;

/// The part of a family that does not appear.
static NOTHING: Part = Part::EMPTY;

/// The parts of every operation, and what is derived from all of them: which families appear,
/// the HELP texts, the CRC of each format.
#[derive(Debug)]
pub(super) struct Assembly {
    /// In the order of their names.
    ops: Vec<OperationParts>,
    /// What the exporter's own families read.
    status: Globals,
    globals: GlobalParts,
    descriptors: Descriptors,
    /// How many operations poll at each interval (HELP texts quote the interval they share).
    intervals: BTreeMap<Duration, usize>,
    /// Per family: how many operations make it appear.
    present: Vec<usize>,
    /// How many operations have finished a poll.
    polled: usize,
    /// Per format (text, OpenMetrics): the sums of every part, in exposition order.
    trees: [Tree; 2],
}

impl Assembly {
    /// No operations.
    pub fn new(status: Globals) -> Assembly {
        let mut assembly = Assembly {
            ops: Vec::new(),
            status,
            globals: GlobalParts::encode(status),
            descriptors: Descriptors::encode(None),
            intervals: BTreeMap::new(),
            present: vec![0; FAMILIES.len()],
            polled: 0,
            trees: [Tree::new(std::iter::empty()), Tree::new(std::iter::empty())],
        };
        assembly.rebuild();
        assembly
    }

    /// The operations `parts` in the order given (the [`Snapshot::encode`] of a list).
    pub fn of(status: Globals, parts: Vec<OperationParts>) -> Assembly {
        let mut assembly = Assembly::new(status);
        for op in &parts {
            assembly.count(op, true);
        }
        assembly.ops = parts;
        assembly.encode_descriptors();
        assembly.rebuild();
        assembly
    }

    /// Adds operations, or replaces those of the same name (kept in the order of names). Replacing costs O(families x
    /// log parts) each; adding a name lays the parts out again, O(operations x families),
    /// once per call: add many operations in one call.
    pub fn insert(&mut self, parts: Vec<OperationParts>) {
        let mut added = false;
        for new in parts {
            self.count(&new, true);
            match self.ops.binary_search_by(|o| o.name.cmp(&new.name)) {
                Ok(i) => {
                    let old = std::mem::replace(&mut self.ops[i], new);
                    self.count(&old, false);
                    if !added {
                        self.set_operation_leaves(i);
                    }
                }
                Err(i) => {
                    self.ops.insert(i, new);
                    added = true;
                }
            }
        }
        if added {
            self.encode_descriptors();
            self.rebuild();
        } else {
            self.refresh_descriptors();
        }
    }

    /// Removes the operations named `names`; O(operations x families) once per call.
    pub fn remove(&mut self, names: &[&str]) {
        let mut removed = Vec::new();
        self.ops.retain(|o| {
            let keep = !names.contains(&o.name.as_str());
            if !keep {
                removed.push((o.interval, o.polled, o.present.clone()));
            }
            keep
        });
        for (interval, polled, present) in removed {
            self.count_values(interval, polled, &present, false);
        }
        self.encode_descriptors();
        self.rebuild();
    }

    /// Records the outcome of a configuration (re)load.
    pub fn set_reload(&mut self, reload: ReloadStatus) {
        self.status.reload = Some(reload);
        self.encode_globals();
    }

    /// Records a reading of the process metrics.
    pub fn set_process(&mut self, process: ProcessStats) {
        self.status.process = Some(process);
        self.encode_globals();
    }

    /// Encodes the exporter's own samples again: a few small parts, O(families x log parts).
    fn encode_globals(&mut self) {
        self.globals = GlobalParts::encode(self.status);
        for f in 0..FAMILIES.len() {
            self.set_leaf(f, 0);
            self.set_leaf(f, 1);
        }
        let end = self.end();
        for (k, tree) in self.trees.iter_mut().enumerate() {
            tree.set(end, self.globals.end.of(k).sum);
        }
    }

    /// The last reload status, when a configuration file is in use.
    pub fn reload(&self) -> Option<ReloadStatus> {
        self.status.reload
    }

    /// Whether every operation has finished a poll. A shard that owns no operation of the
    /// file has nothing to poll: once its (empty) set is registered, it is ready.
    pub fn ready(&self) -> bool {
        self.polled == self.ops.len()
    }

    /// The snapshot to serve: O(operations x families) pointer copies.
    pub fn snapshot(&self, ready: bool) -> Snapshot {
        let encoded = |k: usize| {
            let parts = (0..=self.end()).map(|at| self.leaf(k, at));
            let mut plain = Vec::with_capacity(FAMILIES.len() * (self.ops.len() + 2) + 1);
            let mut gzip = Vec::with_capacity(plain.capacity() + 2);
            gzip.push(Bytes::from_static(&GZIP_HEADER));
            for part in parts.filter(|p| !p.plain.is_empty()) {
                plain.push(part.plain.clone());
                gzip.push(part.deflated.clone());
            }
            gzip.push(gzip_end(self.trees[k].total()));
            Encoded {
                plain: joined_if_small(plain),
                gzip: joined_if_small(gzip),
            }
        };
        Snapshot {
            ready,
            text: encoded(0),
            openmetrics: encoded(1),
        }
    }

    /// Adds (`add`) or takes away an operation's share of the counts.
    fn count(&mut self, op: &OperationParts, add: bool) {
        self.count_values(op.interval, op.polled, &op.present, add);
    }

    fn count_values(&mut self, interval: Duration, polled: bool, present: &[bool], add: bool) {
        for (n, &p) in self.present.iter_mut().zip(present) {
            if p {
                *n = if add { *n + 1 } else { *n - 1 };
            }
        }
        let n = self.intervals.entry(interval).or_default();
        *n = if add { *n + 1 } else { *n - 1 };
        if *n == 0 {
            self.intervals.remove(&interval);
        }
        if polled {
            self.polled = if add {
                self.polled + 1
            } else {
                self.polled - 1
            };
        }
    }

    /// Encodes the descriptors again when the HELP texts change, and shows or hides them as
    /// families gain or lose all their samples.
    fn refresh_descriptors(&mut self) {
        self.encode_descriptors();
        for f in 0..FAMILIES.len() {
            self.set_leaf(f, 0);
        }
    }

    /// Encodes the descriptors again when the HELP texts change.
    fn encode_descriptors(&mut self) {
        let mut intervals = self.intervals.keys();
        let shared = match (intervals.next(), intervals.next()) {
            (Some(&one), None) => Some(one),
            _ => None,
        };
        if shared != self.descriptors.shared {
            self.descriptors = Descriptors::encode(shared);
        }
    }

    /// Number of parts per family: the descriptor, the global samples, each operation's.
    fn stride(&self) -> usize {
        self.ops.len() + 2
    }

    /// The place of the part that ends the exposition (`# EOF`), the last one.
    fn end(&self) -> usize {
        FAMILIES.len() * self.stride()
    }

    /// Part `at` of format `k`, in exposition order.
    fn leaf(&self, k: usize, at: usize) -> &Part {
        if at == self.end() {
            return self.globals.end.of(k);
        }
        let (f, slot) = (at / self.stride(), at % self.stride());
        match slot {
            0 if self.globals.present[f] || self.present[f] > 0 => {
                self.descriptors.families[f].of(k)
            }
            0 => &NOTHING,
            1 => self.globals.families[f].of(k),
            i => self.ops[i - 2].families[f].of(k),
        }
    }

    fn set_leaf(&mut self, f: usize, slot: usize) {
        let at = f * self.stride() + slot;
        for k in 0..2 {
            let sum = self.leaf(k, at).sum;
            self.trees[k].set(at, sum);
        }
    }

    fn set_operation_leaves(&mut self, i: usize) {
        for f in 0..FAMILIES.len() {
            self.set_leaf(f, i + 2);
        }
    }

    /// Lays every part out again (operations were added or removed).
    fn rebuild(&mut self) {
        for k in 0..2 {
            let sums: Vec<_> = (0..=self.end()).map(|at| self.leaf(k, at).sum).collect();
            self.trees[k] = Tree::new(sums.into_iter());
        }
    }
}

/// Up to this many bytes, an encoding is kept in one piece. hyper sends each part of a body
/// as a frame of its own, and for a small body that per-frame work (queueing, and the length
/// of the write queue summed for every frame) cost more than serving requests: one piece
/// per poll made 100-series scrapes faster (BENCHMARKS.md, "Serving /metrics"). Above it,
/// the parts stay shared between the formats and between snapshots, which saves memory.
const JOIN_UP_TO: usize = 256 * 1024;

/// The parts as they are, or joined into one when they are small.
fn joined_if_small(parts: Vec<Bytes>) -> Arc<[Bytes]> {
    let len: usize = parts.iter().map(Bytes::len).sum();
    if parts.len() > 1 && len <= JOIN_UP_TO {
        Arc::from([compress::concat(&parts)])
    } else {
        Arc::from(parts)
    }
}
