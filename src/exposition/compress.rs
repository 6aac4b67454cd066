//! The gzip copy of an exposition: one gzip member made of independently compressed segments,
//! each ended by a sync flush, as pigz does. The segments shared by both formats are compressed
//! once; large ones are cut into pieces compressed on every core (compression is most of the
//! cost of a poll, BENCHMARKS.md, Ingest), and each format's member is then joined in one piece.
//! Also the work sharing on threads that the sample writer uses too.

use std::sync::Arc;

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress};

use super::Encoded;

/// The distinct segments of both formats, each compressed once.
#[derive(Default)]
pub(super) struct Segments {
    plain: Vec<Bytes>,
}

/// A segment's place in [`Segments`].
#[derive(Debug, Clone, Copy)]
pub(super) struct SegmentId(usize);

impl Segments {
    /// Adds a segment; an empty one is kept and skipped when a format is joined.
    pub(super) fn add(&mut self, bytes: Bytes) -> SegmentId {
        self.plain.push(bytes);
        SegmentId(self.plain.len() - 1)
    }

    /// Compresses every segment on its own: raw deflate ended by a sync flush, so that the
    /// segments of a format, in any order, make one deflate stream once a final block ends it.
    /// Large segments are cut into pieces that are compressed alike, on as many threads as
    /// there are cores: compression is most of the cost of a poll.
    pub(super) fn compress(self) -> Compressed {
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
pub(super) fn on_threads<T: Sync, S, R: Send>(
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

/// Every segment, plain and compressed, from which each format is joined.
pub(super) struct Compressed {
    plain: Vec<Bytes>,
    /// Per segment: its compressed pieces, and the CRC of the whole segment.
    deflated: Vec<(Vec<Bytes>, Crc)>,
}

impl Compressed {
    /// One format's exposition from its segments.
    pub(super) fn encoded(&self, ids: &[SegmentId]) -> Encoded {
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

/// `parts` in one piece; no copy for none or one.
pub(super) fn concat(parts: &[Bytes]) -> Bytes {
    match parts {
        [] => Bytes::new(),
        [one] => one.clone(),
        _ => Bytes::from(parts.concat()),
    }
}

#[cfg(test)]
mod tests {
    use crate::exposition::Snapshot;
    use crate::exposition::fixtures::op_with;

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
}
