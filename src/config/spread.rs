//! How the operations are spread: over processes (`--shard`) and over time
//! (`--poll.start-spread`).

use std::str::FromStr;
use std::time::Duration;

/// `--shard INDEX/COUNT`: this process polls the operations of `--config.file` whose
/// FNV-1a 64-bit hash of the name's UTF-8 bytes, modulo COUNT, is INDEX.
///
/// FNV-1a is a published, fixed function (no per-process key, unlike Rust's default
/// hasher), so the assignment is the same in every process, on every machine and in every
/// version: shards never overlap and never leave an operation out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This process's shard, below `count`.
    pub index: u32,
    /// How many shards share the file.
    pub count: u32,
}

impl Shard {
    /// The shard that polls `operation`, among `count`.
    pub fn of(operation: &str, count: u32) -> u32 {
        use std::hash::Hasher as _;
        let mut h = fnv::FnvHasher::default();
        h.write(operation.as_bytes());
        (h.finish() % u64::from(count)) as u32
    }

    /// Whether this shard polls `operation`.
    pub fn owns(&self, operation: &str) -> bool {
        Self::of(operation, self.count) == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not INDEX/COUNT such as 0/3");
        let (index, count) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: COUNT must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: INDEX must be below COUNT (shards are numbered from 0)"
            ));
        }
        Ok(Self { index, count })
    }
}

/// The start spread when none is given: the smaller of the interval and this.
pub const DEFAULT_START_SPREAD_CAP: Duration = Duration::from_secs(30);
