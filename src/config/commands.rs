//! The values of the subcommands: `check`'s output format and `backfill`'s days, step, call
//! budget, end time and labels, with their defaults; parsed like every other setting.

use std::str::FromStr;
use std::time::Duration;

use super::values::{ValueError, parse_duration};

/// Format of `check`'s report, when nothing is given.
pub const DEFAULT_CHECK_OUTPUT: &str = "table";

/// The format of `check`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutput {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

impl FromStr for CheckOutput {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s.trim() {
            "table" => Ok(CheckOutput::Table),
            "json" => Ok(CheckOutput::Json),
            _ => Err(ValueError::new(format!("{s:?} is not table or json"))),
        }
    }
}

/// `backfill --days`, when nothing is given: a week, the span of the usual baselines.
pub const DEFAULT_BACKFILL_DAYS: &str = "7";
/// `backfill --step`, when nothing is given: one sample an hour, so that `increase(...[1h])`
/// and the 3h PULSE baseline have data.
pub const DEFAULT_BACKFILL_STEP: &str = "1h";
/// `backfill --max-calls`, when nothing is given: 300 of a one-licence token's 1,000 calls a
/// local day, counted across runs, leaving 700 for the live exporter, which spends 313 at the
/// default 5m interval with hourly token_info (README, "Backfill").
pub const DEFAULT_BACKFILL_MAX_CALLS: &str = "300";
/// `backfill --job`, when nothing is given: the job name that the rules and dashboards select.
pub const DEFAULT_BACKFILL_JOB: &str = "wolkvox-exporter";

/// `backfill --days`: whole days, at least one.
pub fn parse_backfill_days(s: &str) -> Result<u32, ValueError> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=3660).contains(n))
        .ok_or_else(|| {
            ValueError::new(format!(
                "{s:?} is not a whole number of days from 1 to 3660"
            ))
        })
}

/// `backfill --step`: a duration that divides a day, so that every local midnight is a step.
pub fn parse_backfill_step(s: &str) -> Result<Duration, ValueError> {
    let d = parse_duration(s)?;
    const DAY: u64 = 24 * 3600;
    if d.subsec_nanos() != 0 || d.as_secs() == 0 || d.as_secs() > DAY || DAY % d.as_secs() != 0 {
        return Err(ValueError::new(format!(
            "{s:?} does not divide a day into whole steps: use a step from 1s to 1d such as 5m, 15m, 1h or 1d"
        )));
    }
    Ok(d)
}

/// `backfill --max-calls`: at least one call.
pub fn parse_backfill_max_calls(s: &str) -> Result<u64, ValueError> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ValueError::new(format!("{s:?} is not a whole number above 0")))
}

/// `backfill --end`: a local civil time of the operation's zone, `2026-11-25T14:00:00` (a
/// space instead of the `T` is taken too).
pub fn parse_civil_time(s: &str) -> Result<jiff::civil::DateTime, ValueError> {
    s.trim().replacen(' ', "T", 1).parse().map_err(|_| {
        ValueError::new(format!(
            "{s:?} is not a local time such as 2026-11-25T14:00:00"
        ))
    })
}

/// A Prometheus label value that the backfill adds (`--job`, `--instance`): not empty.
pub fn parse_label_value(s: &str) -> Result<String, ValueError> {
    if s.is_empty() {
        return Err(ValueError::new("must not be empty"));
    }
    Ok(s.to_owned())
}
