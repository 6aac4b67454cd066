//! The values of the subcommands: `check`'s output format and `backfill`'s step and end time;
//! parsed like every other setting.

use std::time::Duration;

use super::values::parse_duration;

/// The format of `check`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckOutput {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

/// `backfill --step`: a duration that divides a day, so that every local midnight is a step.
pub fn parse_backfill_step(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    const DAY: u64 = 24 * 3600;
    if d.subsec_nanos() != 0 || d.as_secs() == 0 || d.as_secs() > DAY || DAY % d.as_secs() != 0 {
        return Err(format!(
            "{s:?} does not divide a day into whole steps: use a step from 1s to 1d such as 5m, 15m, 1h or 1d"
        ));
    }
    Ok(d)
}

/// `backfill --end`: a local civil time of the operation's zone, `2026-11-25T14:00:00` (a
/// space instead of the `T` is taken too).
pub fn parse_civil_time(s: &str) -> Result<jiff::civil::DateTime, String> {
    (s.trim().replacen(' ', "T", 1).parse())
        .map_err(|_| format!("{s:?} is not a local time such as 2026-11-25T14:00:00"))
}
