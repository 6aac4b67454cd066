//! The parts of every operation, kept up to date one operation at a time, and what is derived
//! from all of them: which families appear, the HELP texts, the gzip member's CRC. A snapshot
//! is a [`Layout`] of one `Arc` per operation, O(operations) pointer copies per poll; scrapes
//! walk it (`layout.rs`). The CRC of each format is kept by a [`Tree`], updated in
//! O(families x log parts) when one operation changes, so neither a poll nor a scrape
//! combines the CRCs of every part.

use std::sync::Arc;

use super::compress::gzip_end;
use super::crc::Tree;
use super::families::FAMILIES;
use super::layout::{Layout, Parts};
use super::parts::{Descriptors, GlobalParts, OperationParts};
use super::{Encoded, Globals, ReloadStatus, Snapshot};
use crate::process::ProcessStats;

/// The parts of every operation, and what is derived from all of them: which families appear,
/// the CRC of each format.
#[derive(Debug)]
pub(super) struct Assembly {
    /// The parts in exposition order, as the next snapshot serves them.
    layout: Layout,
    /// What the exporter's own families read.
    status: Globals,
    /// How many operations have finished a poll.
    polled: usize,
    /// Per format (text, OpenMetrics): the sums of every part, in exposition order.
    trees: [Tree; 2],
}

impl Assembly {
    /// No operations.
    pub fn new(status: Globals) -> Assembly {
        let mut assembly = Assembly {
            layout: Layout {
                ops: Vec::new(),
                globals: Arc::new(GlobalParts::encode(status)),
                descriptors: Arc::new(Descriptors::encode()),
                present: vec![0; FAMILIES.len()],
            },
            status,
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
        assembly.layout.ops = parts.into_iter().map(Arc::new).collect();
        assembly.rebuild();
        assembly
    }

    /// Adds operations, or replaces those of the same name (kept in the order of names).
    /// Replacing costs O(families x log parts) each; adding a name lays the parts out again,
    /// O(operations x families), once per call: add many operations in one call.
    pub fn insert(&mut self, parts: Vec<OperationParts>) {
        let mut added = false;
        for new in parts {
            self.count(&new, true);
            let new = Arc::new(new);
            let ops = &mut self.layout.ops;
            match ops.binary_search_by(|o| o.name.cmp(&new.name)) {
                Ok(i) => {
                    let old = std::mem::replace(&mut ops[i], new);
                    self.count(&old, false);
                    if !added {
                        self.set_operation_leaves(i);
                    }
                }
                Err(i) => {
                    ops.insert(i, new);
                    added = true;
                }
            }
        }
        if added {
            self.rebuild();
        } else {
            self.refresh_descriptors();
        }
    }

    /// Removes the operations named `names`; O(operations x families) once per call.
    pub fn remove(&mut self, names: &[&str]) {
        let mut removed = Vec::new();
        self.layout.ops.retain(|o| {
            let keep = !names.contains(&o.name.as_str());
            if !keep {
                removed.push(o.clone());
            }
            keep
        });
        for old in removed {
            self.count(&old, false);
        }
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
        self.layout.globals = Arc::new(GlobalParts::encode(self.status));
        for f in 0..FAMILIES.len() {
            self.set_leaf(f, 0);
            self.set_leaf(f, 1);
        }
        let end = self.layout.end();
        for (k, tree) in self.trees.iter_mut().enumerate() {
            tree.set(end, self.layout.globals.end.of(k).sum);
        }
    }

    /// The last reload status, when a configuration file is in use.
    pub fn reload(&self) -> Option<ReloadStatus> {
        self.status.reload
    }

    /// Whether every operation has finished a poll. A shard that owns no operation of the
    /// file has nothing to poll: once its (empty) set is registered, it is ready.
    pub fn ready(&self) -> bool {
        self.polled == self.layout.ops.len()
    }

    /// The snapshot to serve: O(operations) pointer copies and additions, and the gzip
    /// trailers from the trees' totals; small bodies are joined here.
    pub fn snapshot(&self, ready: bool) -> Snapshot {
        let layout = Arc::new(self.layout.clone());
        let encoded = |k: usize| {
            let total = self.trees[k].total();
            Encoded {
                plain: Parts::of(&layout, k, total.len(), None),
                gzip: Parts::of(&layout, k, total.len(), Some(gzip_end(total))),
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
        self.count_values(op.polled, &op.present, add);
    }

    fn count_values(&mut self, polled: bool, present: &[bool], add: bool) {
        for (n, &p) in self.layout.present.iter_mut().zip(present) {
            if p {
                *n = if add { *n + 1 } else { *n - 1 };
            }
        }
        if polled {
            self.polled = if add {
                self.polled + 1
            } else {
                self.polled - 1
            };
        }
    }

    /// Shows or hides the descriptors as families gain or lose all their samples.
    fn refresh_descriptors(&mut self) {
        for f in 0..FAMILIES.len() {
            self.set_leaf(f, 0);
        }
    }

    fn set_leaf(&mut self, f: usize, slot: usize) {
        let at = f * self.layout.stride() + slot;
        for k in 0..2 {
            let sum = self.layout.leaf(k, at).sum;
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
            let layout = &self.layout;
            let sums: Vec<_> = (0..=layout.end())
                .map(|at| layout.leaf(k, at).sum)
                .collect();
            self.trees[k] = Tree::new(sums.into_iter());
        }
    }
}
