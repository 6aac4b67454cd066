//! The gzip copy of an exposition: one gzip member made of independently compressed parts,
//! each ended by a sync flush, as pigz does. A part is compressed once, when its operation
//! changes; a scrape sends the parts between one header and one trailer.
//!
//! Why one member and not one member per part (RFC 1952 allows a body of several): Go's
//! compress/gzip and Python's gzip module read every member, but curl (7.88) stops after the
//! first one, silently. One member needs the CRC-32 of the whole body, which
//! [`crc32fast::Hasher::combine`] makes from the parts' own.

use std::ops::Range;

use bytes::Bytes;
use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress};

/// Bytes of the exposition with their gzip copy: raw deflate ended by a sync flush, so that
/// parts joined in any order make one deflate stream once a final block ends it; and their
/// CRC-32 and length, from which the member's trailer is made.
#[derive(Debug, Clone, Default)]
pub(super) struct Part {
    pub plain: Bytes,
    pub deflated: Bytes,
    pub crc: Hasher,
}

/// Compresses every byte string on its own, with one compressor for all of them (a compressor
/// is a few hundred kilobytes of tables), into slices of one allocation of exactly their size.
pub(super) fn compress(plain: Vec<Bytes>) -> Vec<Part> {
    let mut z = Compress::new(Compression::fast(), false);
    let mut out = Vec::new();
    let ranges: Vec<_> = plain.iter().map(|p| deflate(&mut z, p, &mut out)).collect();
    out.shrink_to_fit();
    let out = Bytes::from(out);
    let part = |(plain, range): (Bytes, Range<usize>)| {
        let mut crc = Hasher::new();
        crc.update(&plain);
        let deflated = out.slice(range);
        Part {
            plain,
            deflated,
            crc,
        }
    };
    plain.into_iter().zip(ranges).map(part).collect()
}

/// Appends the raw deflate of `data` to `out`, ended by a sync flush (byte-aligned, not the
/// final block); returns where it is.
fn deflate(z: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> Range<usize> {
    let start = out.len();
    z.reset();
    let mut input = data;
    loop {
        // A Vec's spare capacity is the output buffer: make room until all input is consumed
        // and the flush is written out (output that fills the buffer may be incomplete).
        out.reserve(input.len() / 8 + 64);
        let before = z.total_in();
        // Compressing into memory cannot fail: the only errors are for bad parameters.
        if z.compress_vec(input, out, FlushCompress::Sync).is_err() {
            out.truncate(start);
            return start..start;
        }
        input = &input[(z.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            return start..out.len();
        }
    }
}

/// The header of a gzip member: deflate, no name, no time, OS unknown.
pub(super) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty block with fixed codes: it ends the deflate stream of the parts.
const DEFLATE_END: [u8; 2] = [0x03, 0x00];

/// The end of a gzip member of `parts`: the final block and the trailer (CRC-32 and length
/// modulo 2^32, little-endian).
pub(super) fn gzip_end<'a>(parts: impl Iterator<Item = &'a Part>) -> Bytes {
    let mut crc = Hasher::new();
    for part in parts {
        crc.combine(&part.crc);
    }
    let len = crc.total_len();
    let mut end = Vec::with_capacity(10);
    end.extend_from_slice(&DEFLATE_END);
    end.extend_from_slice(&crc.finalize().to_le_bytes());
    end.extend_from_slice(&(len as u32).to_le_bytes());
    Bytes::from(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::fixtures::gunzip;

    #[test]
    fn parts_joined_in_one_member_unzip_to_the_plain_bytes_joined() {
        let plain: Vec<Bytes> = (0..37u32)
            .map(|i| {
                (0..i * 7)
                    .map(|b| (b * 31 + i) as u8)
                    .collect::<Vec<u8>>()
                    .into()
            })
            .collect();
        let parts = compress(plain.clone());
        let mut member = GZIP_HEADER.to_vec();
        for part in &parts {
            member.extend_from_slice(&part.deflated);
        }
        member.extend_from_slice(&gzip_end(parts.iter()));
        assert_eq!(gunzip(&member), plain.concat());
    }
}
