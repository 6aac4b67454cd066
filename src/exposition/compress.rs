//! The gzip copy of an exposition: one gzip member made of independently compressed parts,
//! each ended by a sync flush, as pigz does. A part is compressed once, when its operation
//! changes; large ones are cut into pieces compressed on every core (compression is most of
//! the cost of a poll, BENCHMARKS.md, Ingest). Also the work sharing on threads that the
//! sample writer uses too.
//!
//! Why one member and not one member per part (RFC 1952 allows a body of several): Go's
//! compress/gzip and Python's gzip module read every member, but curl (7.88) stops after the
//! first one, silently. One member needs the CRC-32 of the whole body, which `crc.rs` keeps
//! up to date in O(log parts) per changed part.

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};

use super::crc::Sum;

/// Bytes of the exposition with their gzip copy: raw deflate ended by a sync flush, from a
/// compressor of its own, so that parts joined in any order make one deflate stream once a
/// final block ends it; and their CRC-32 and length, from which the member's trailer is made.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// The bytes.
    pub plain: Bytes,
    /// Their deflate copy.
    pub deflated: Bytes,
    /// Their CRC-32 and length.
    pub sum: Sum,
}

impl Part {
    /// No bytes.
    pub const EMPTY: Part = Part {
        plain: Bytes::new(),
        deflated: Bytes::new(),
        sum: Sum::EMPTY,
    };
}

/// Compresses every part on its own. Large parts are cut into pieces that are compressed
/// alike, on as many threads as there are cores: compression is most of the cost of a poll.
/// Each part's pieces are then joined into one piece: a part is one frame of a scrape.
pub(super) fn compress(plain: Vec<Bytes>) -> Vec<Part> {
    let pieces: Vec<(usize, Bytes)> = plain
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            (0..p.len())
                .step_by(PIECE)
                .map(move |at| (i, p.slice(at..p.len().min(at + PIECE))))
        })
        .collect();
    // A thread is worth starting for a piece of work, not for a few kilobytes.
    let total: usize = plain.iter().map(Bytes::len).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(total.div_ceil(PIECE));
    let done = on_threads(
        &pieces,
        threads,
        || Compress::new(Compression::fast(), false),
        |z, (_, piece)| (deflate(z, piece), Sum::of(piece)),
    );
    let mut parts: Vec<(Vec<Bytes>, Sum)> =
        plain.iter().map(|_| (Vec::new(), Sum::EMPTY)).collect();
    for ((i, _), (bytes, sum)) in pieces.iter().zip(done) {
        let part = &mut parts[*i];
        part.0.push(bytes);
        part.1 = part.1.then(sum);
    }
    plain
        .into_iter()
        .zip(parts)
        .map(|(plain, (deflated, sum))| Part {
            plain,
            deflated: concat(&deflated),
            sum,
        })
        .collect()
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
            // Kept for as long as the operation's data: no spare room.
            out.shrink_to_fit();
            return Bytes::from(out);
        }
    }
}

/// The header of a gzip member: deflate, no name, no time, OS unknown.
pub(super) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty block with fixed codes: it ends the deflate stream of the parts.
const DEFLATE_END: [u8; 2] = [0x03, 0x00];

/// The end of a gzip member of parts whose sum is `sum`: the final block and the trailer.
pub(super) fn gzip_end(sum: Sum) -> Bytes {
    let mut end = Vec::with_capacity(10);
    end.extend_from_slice(&DEFLATE_END);
    end.extend_from_slice(&sum.trailer());
    Bytes::from(end)
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
