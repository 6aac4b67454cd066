//! What the binary does instead of serving: `check` and `backfill`.

pub mod backfill;
pub mod check;
pub mod names;
