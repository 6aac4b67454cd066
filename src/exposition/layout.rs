//! The parts of one snapshot in exposition order, and the walk over them that a scrape sends.
//!
//! A snapshot holds one `Arc` per operation, not a list of every part: swapping one in after
//! a poll is O(operations) pointer copies, where a list of parts was O(operations x families)
//! (about 84,000 `Bytes` clones at 1,000 operations, twice the encoding of the poll itself).
//! A scrape walks the families across the operations instead: the same parts, in the same
//! order, as pointer work at scrape time; nothing is encoded or compressed again, and the gzip
//! member's trailer is made at poll time from the CRC tree of `assembly.rs`.

use std::sync::Arc;

use bytes::Bytes;

use super::compress::{self, GZIP_HEADER, Part};
use super::families::FAMILIES;
use super::parts::{Descriptors, GlobalParts, OperationParts};
use crate::sendfile::{BodyFile, offset_in};

/// The part of a family that does not appear.
static NOTHING: Part = Part::EMPTY;
/// The header of the gzip member, as a part.
static HEADER: Bytes = Bytes::from_static(&GZIP_HEADER);

/// Each family's descriptor, then the exporter's own samples of it, then every operation's, in
/// the order of the operations' names (family-major, as prometheus-client writes a registry).
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// In the order of their names.
    pub ops: Vec<Arc<OperationParts>>,
    pub globals: Arc<GlobalParts>,
    pub descriptors: Arc<Descriptors>,
    /// Per family: how many operations make it appear.
    pub present: Vec<usize>,
}

impl Layout {
    /// Number of parts per family: the descriptor, the global samples, each operation's.
    pub fn stride(&self) -> usize {
        self.ops.len() + 2
    }

    /// The place of the part that ends the exposition (`# EOF`), the last one.
    pub fn end(&self) -> usize {
        FAMILIES.len() * self.stride()
    }

    /// Part `at` of format `k`, in exposition order.
    pub fn leaf(&self, k: usize, at: usize) -> &Part {
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

    /// Bytes of the deflate copies of format `k`'s parts: O(operations + families).
    fn deflated_len(&self, k: usize) -> u64 {
        let shown = (0..FAMILIES.len()).map(|f| self.leaf(k, f * self.stride()));
        let globals = self.globals.families.iter().map(|p| p.of(k));
        shown
            .chain(globals)
            .chain([self.globals.end.of(k)])
            .map(|p| p.deflated.len() as u64)
            .chain(self.ops.iter().map(|o| o.deflated_len[k]))
            .sum()
    }
}

/// One encoding of the exposition (a format, plain or gzipped) as the parts sent one after
/// the other. Cheap to clone: a scrape takes it from the snapshot and walks it.
#[derive(Debug, Clone)]
pub struct Parts(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// Small bodies, joined once per poll (see `JOIN_UP_TO` and `JOIN_GZIP_UP_TO`), with
    /// their copy in a memory file that the kernel sends from (`crate::sendfile`).
    Joined(Bytes, Option<Arc<BodyFile>>),
    /// Every part of `layout` in format `format`; with `end`, their deflate copies between the
    /// gzip header and `end` (the final block and trailer).
    Walk {
        layout: Arc<Layout>,
        format: usize,
        end: Option<Bytes>,
        len: u64,
    },
}

/// Up to this many bytes, an encoding is kept in one piece. hyper sends each part of a body
/// as a frame of its own, and for a small body that per-frame work (queueing, and the length
/// of the write queue summed for every frame) cost more than serving requests: one piece
/// per poll made 100-series scrapes faster (BENCHMARKS.md, "Serving /metrics"). Above it,
/// the parts stay shared between the formats and between snapshots, which saves memory.
const JOIN_UP_TO: u64 = 256 * 1024;

/// The same bound for gzip bodies, higher: a gzip body is a tenth of its plain one, so the
/// per-frame work weighs more against the bytes sent. At 10,000 series (a 330 kB gzip body
/// in about 60 parts) hyper's frame queue and the walk of the parts took about half of the
/// instructions of a scrape, and served 0.88x nginx's rate (BENCHMARKS.md, "Serving
/// /metrics"). The copy costs at most this much per format, against the plain parts' 3 MB
/// and more that it stands beside; the large bodies of many operations stay shared.
const JOIN_GZIP_UP_TO: u64 = 512 * 1024;

impl Parts {
    /// Format `format` of `layout`, plain (`gzip_end` none) or as one gzip member ended by
    /// `gzip_end`; `plain_len` is the plain bytes' length (from the CRC tree). Small
    /// encodings are joined into one piece here, once per poll.
    pub(super) fn of(
        layout: &Arc<Layout>,
        format: usize,
        plain_len: u64,
        gzip_end: Option<Bytes>,
    ) -> Parts {
        let len = match &gzip_end {
            None => plain_len,
            Some(end) => (GZIP_HEADER.len() + end.len()) as u64 + layout.deflated_len(format),
        };
        let walk = Parts(Repr::Walk {
            layout: layout.clone(),
            format,
            end: gzip_end,
            len,
        });
        let bound = match walk.0 {
            Repr::Walk { end: Some(_), .. } => JOIN_GZIP_UP_TO,
            _ => JOIN_UP_TO,
        };
        if len <= bound {
            let parts: Vec<Bytes> = walk.iter().cloned().collect();
            let one = compress::concat(&parts);
            let file = BodyFile::of(&one).map(Arc::new);
            Parts(Repr::Joined(one, file))
        } else {
            walk
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Repr::Joined(one, _) => one.len() as u64,
            Repr::Walk { len, .. } => *len,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body in one piece, when it was joined.
    pub fn one(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::Joined(one, _) => Some(one),
            Repr::Walk { .. } => None,
        }
    }

    /// The file of the joined body, when `slice` lies within that body's bytes: the file and
    /// where in it the slice starts.
    pub fn file_at(&self, slice: &[u8]) -> Option<(&Arc<BodyFile>, u64)> {
        match &self.0 {
            Repr::Joined(one, Some(file)) => offset_in(one, slice).map(|at| (file, at)),
            _ => None,
        }
    }

    /// The parts, none of them empty (except a joined empty body).
    pub fn iter(&self) -> impl Iterator<Item = &Bytes> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || self.next_at(&mut at))
    }

    /// The whole body copied into one buffer: for tests and tools, never for serving.
    pub fn concat(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        for part in self.iter() {
            out.extend_from_slice(part);
        }
        out
    }

    /// The parts as an owned iterator, for a response body.
    pub fn frames(&self) -> Frames {
        Frames {
            parts: self.clone(),
            at: 0,
        }
    }

    /// The part at or after position `at`, moving `at` past it.
    fn next_at(&self, at: &mut usize) -> Option<&Bytes> {
        let (layout, format, end) = match &self.0 {
            Repr::Joined(one, _) => {
                *at += 1;
                return (*at == 1).then_some(one);
            }
            Repr::Walk {
                layout,
                format,
                end,
                ..
            } => (layout, *format, end),
        };
        // Gzip: the header at 0, the leaves at 1..=leaves, the end after them.
        let first = usize::from(end.is_some());
        let leaves = layout.end() + 1;
        loop {
            let i = *at;
            if i < first {
                *at += 1;
                return Some(&HEADER);
            }
            let j = i - first;
            if j >= leaves {
                if j == leaves {
                    *at += 1;
                    return end.as_ref();
                }
                return None;
            }
            *at += 1;
            let part = layout.leaf(format, j);
            if part.plain.is_empty() {
                continue;
            }
            return Some(match end {
                Some(_) => &part.deflated,
                None => &part.plain,
            });
        }
    }
}

/// The parts of an encoding, owned: what a response body sends frame by frame.
#[derive(Debug)]
pub struct Frames {
    parts: Parts,
    at: usize,
}

impl Iterator for Frames {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        self.parts.next_at(&mut self.at).cloned()
    }
}
