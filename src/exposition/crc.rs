//! The CRC-32 of a gzip member whose parts change one operation at a time.
//!
//! A gzip body ends with the CRC-32 of everything it holds. The CRC of two pieces joined is
//! the first's CRC multiplied by x^(8 * length of the second), modulo the polynomial, plus the
//! second's (zlib's `crc32_combine_op`). So each part keeps its CRC and that power of x
//! ([`Sum`]), and a [`Tree`] over the parts, in exposition order, keeps the sum of every
//! subtree: replacing a part recomputes its ancestors, O(log parts) products, instead of
//! combining every part again on every poll.

/// The reflected CRC-32 polynomial (as zlib and flate2 use it).
const POLY: u32 = 0xedb8_8320;
/// x^0 in the reflected representation: the product's identity.
const ONE: u32 = 1 << 31;

/// `a` times `b` modulo the polynomial (zlib's `multmodp`).
const fn multmodp(a: u32, mut b: u32) -> u32 {
    let mut m = ONE;
    let mut p = 0;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// x^(2^k) modulo the polynomial, for k in 0..32 (zlib's `x2n_table`).
const X2N: [u32; 32] = {
    let mut table = [0; 32];
    let mut p = 1 << 30; // x^1
    let mut k = 0;
    while k < 32 {
        table[k] = p;
        p = multmodp(p, p);
        k += 1;
    }
    table
};

/// x^(8 * bytes) modulo the polynomial: what a CRC is multiplied by when `bytes` follow it.
fn shift_of(bytes: u64) -> u32 {
    let (mut n, mut k, mut p) = (bytes, 3, ONE);
    while n != 0 {
        if n & 1 != 0 {
            p = multmodp(X2N[k & 31], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

/// The CRC-32 and length of some bytes, and the factor that moves a CRC past them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sum {
    crc: u32,
    shift: u32,
    len: u64,
}

impl Sum {
    /// No bytes: joining it changes nothing.
    pub const EMPTY: Sum = Sum {
        crc: 0,
        shift: ONE,
        len: 0,
    };

    /// The sum of `bytes`.
    pub fn of(bytes: &[u8]) -> Sum {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        Sum {
            crc: crc.sum(),
            shift: shift_of(bytes.len() as u64),
            len: bytes.len() as u64,
        }
    }

    /// The sum of `self`'s bytes followed by `next`'s.
    pub fn then(self, next: Sum) -> Sum {
        Sum {
            crc: multmodp(next.shift, self.crc) ^ next.crc,
            shift: multmodp(self.shift, next.shift),
            len: self.len + next.len,
        }
    }

    /// Their length.
    pub fn len(self) -> u64 {
        self.len
    }

    /// The gzip trailer of these bytes: CRC-32 and length modulo 2^32, little-endian.
    pub fn trailer(self) -> [u8; 8] {
        let mut out = [0; 8];
        out[..4].copy_from_slice(&self.crc.to_le_bytes());
        out[4..].copy_from_slice(&(self.len as u32).to_le_bytes());
        out
    }
}

/// The sums of a sequence of parts, and of every run of them that a binary tree groups.
#[derive(Debug, Clone)]
pub(super) struct Tree {
    /// Leaves at `leaves..2 * leaves`, node `i`'s children at `2i` and `2i + 1`; 0 unused.
    nodes: Vec<Sum>,
    leaves: usize,
}

impl Tree {
    /// A tree of `parts` in order: O(parts).
    pub fn new(parts: impl ExactSizeIterator<Item = Sum>) -> Tree {
        let leaves = parts.len().next_power_of_two();
        let mut nodes = vec![Sum::EMPTY; 2 * leaves];
        for (node, sum) in nodes[leaves..].iter_mut().zip(parts) {
            *node = sum;
        }
        for i in (1..leaves).rev() {
            nodes[i] = nodes[2 * i].then(nodes[2 * i + 1]);
        }
        Tree { nodes, leaves }
    }

    /// Replaces part `at`: O(log parts).
    pub fn set(&mut self, at: usize, sum: Sum) {
        let mut i = self.leaves + at;
        if self.nodes[i] == sum {
            return;
        }
        self.nodes[i] = sum;
        while i > 1 {
            i /= 2;
            self.nodes[i] = self.nodes[2 * i].then(self.nodes[2 * i + 1]);
        }
    }

    /// The sum of all parts.
    pub fn total(&self) -> Sum {
        self.nodes[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_gives_the_crc_of_the_parts_joined_after_any_change() {
        let parts: Vec<Vec<u8>> = (0..37)
            .map(|i| (0..i * 7).map(|b| (b * 31 + i) as u8).collect())
            .collect();
        let whole = |parts: &[Vec<u8>]| {
            let mut crc = flate2::Crc::new();
            crc.update(&parts.concat());
            (crc.sum(), crc.amount())
        };
        let mut tree = Tree::new(parts.iter().map(|p| Sum::of(p)));
        let check = |tree: &Tree, parts: &[Vec<u8>]| {
            let (crc, len) = whole(parts);
            assert_eq!((tree.total().crc, tree.total().len as u32), (crc, len));
        };
        check(&tree, &parts);
        let mut parts = parts;
        for (at, bytes) in [(0, b"x".to_vec()), (20, Vec::new()), (36, vec![7; 1000])] {
            parts[at] = bytes;
            tree.set(at, Sum::of(&parts[at]));
            check(&tree, &parts);
        }
        assert_eq!(Tree::new(std::iter::empty()).total(), Sum::EMPTY);
    }
}
