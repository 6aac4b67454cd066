//! Pure: which instants a backfill samples and which window each one asks Wolkvox for.
//!
//! The live counters are the running total of the operation's local day, so the sample at an
//! instant `t` is the report of the window from the local midnight of `t - 1s` to `t - 1s`:
//! what the live exporter would have shown a second before `t`. At a local midnight that is
//! the whole previous day (its final total), and the first step of the new day starts again
//! from its midnight, which Prometheus reads as the counter reset the live exporter makes.
//! No window spans more than one day, far within the 31 days Wolkvox takes in one call.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::config::window::{ReportWindow, next_midnight, start_of_day};

/// One sample to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The sample's instant: a multiple of the step after a local midnight.
    pub at: Timestamp,
    /// The window asked for: local midnight to `at - 1s`.
    pub window: ReportWindow,
    /// The local day that the window counts.
    pub day: Date,
}

/// The steps from `days` before `end` to `end`, each rounded down to a multiple of `step` after
/// its local midnight, oldest first. `step` divides a day (the flag checks it).
pub fn steps(end: Timestamp, days: u32, step: Duration, tz: &TimeZone) -> Vec<Step> {
    let step_secs = i64::try_from(step.as_secs()).unwrap_or(i64::MAX).max(1);
    let floor = |t: Timestamp| {
        let midnight = start_of_day(&t.to_zoned_datetime(tz.clone())).timestamp();
        let into = t.as_second() - midnight.as_second();
        midnight
            .checked_add((into - into.rem_euclid(step_secs)).seconds())
            .unwrap_or(midnight)
    };
    let zoned_end = end.to_zoned_datetime(tz.clone());
    // Whole local days back, so that a day of 23 or 25 hours counts as one day.
    let start = zoned_end
        .checked_sub(i64::from(days).days())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let (mut t, last) = (floor(start), floor(end));
    let mut out = Vec::new();
    while t <= last {
        out.push(step_at(t, tz));
        let next = t.checked_add(step_secs.seconds()).unwrap_or(Timestamp::MAX);
        // A day of 23 hours (daylight saving) ends before its last step: the next step is
        // the midnight, so that every midnight is sampled.
        t = next.min(next_midnight(t, tz));
    }
    out
}

/// The sample at `at`: the report from the local midnight of `at - 1s` to `at - 1s`.
pub fn step_at(at: Timestamp, tz: &TimeZone) -> Step {
    let last = at
        .checked_sub(1.second())
        .unwrap_or(at)
        .to_zoned_datetime(tz.clone());
    let window = ReportWindow::new(start_of_day(&last), last.clone());
    Step {
        at,
        window,
        day: last.date(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::window::MAX_WINDOW;

    fn local(tz: &TimeZone, civil: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = civil.parse().unwrap();
        dt.to_zoned_datetime(tz.clone()).unwrap().timestamp()
    }

    #[test]
    fn hourly_steps_of_three_days_run_from_midnight_to_the_second_before_each_step() {
        let tz = TimeZone::get("America/Bogota").unwrap();
        let steps = steps(
            local(&tz, "2026-11-25T14:20:00"),
            3,
            Duration::from_secs(3600),
            &tz,
        );
        // 22T14:00 to 25T14:00 inclusive.
        assert_eq!(steps.len(), 3 * 24 + 1);
        assert_eq!(steps[0].at, local(&tz, "2026-11-22T14:00:00"));
        assert_eq!(steps[0].window.date_ini(), "20261122000000");
        assert_eq!(steps[0].window.date_end(), "20261122135959");
        let midnight = steps
            .iter()
            .find(|s| s.at == local(&tz, "2026-11-23T00:00:00"))
            .unwrap();
        // A midnight's sample is the whole previous day: its final total.
        assert_eq!(midnight.window.date_ini(), "20261122000000");
        assert_eq!(midnight.window.date_end(), "20261122235959");
        assert_eq!(midnight.day.to_string(), "2026-11-22");
        let after = &steps[steps.iter().position(|s| s == midnight).unwrap() + 1];
        assert_eq!(after.window.date_ini(), "20261123000000");
        assert_eq!(after.window.date_end(), "20261123005959");
        assert_eq!(steps.last().unwrap().at, local(&tz, "2026-11-25T14:00:00"));
    }

    #[test]
    fn no_window_is_longer_than_a_day_whatever_the_days_asked() {
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        let steps = steps(
            local(&tz, "2026-11-25T00:00:00"),
            40,
            Duration::from_secs(24 * 3600),
            &tz,
        );
        assert_eq!(steps.len(), 41);
        for s in &steps {
            let span = s.window.end_ts.as_second() - s.window.start_ts.as_second();
            assert!(span < 24 * 3600 && (span as u64) < MAX_WINDOW.as_secs());
        }
    }

    #[test]
    fn a_daylight_saving_day_still_samples_its_midnight() {
        // New York: 2026-03-08 has 23 hours; 2026-11-01 has 25.
        let tz = TimeZone::get("America/New_York").unwrap();
        let steps = steps(
            local(&tz, "2026-03-09T00:00:00"),
            1,
            Duration::from_secs(3600),
            &tz,
        );
        assert_eq!(steps.len(), 24);
        assert_eq!(steps.last().unwrap().window.date_end(), "20260308235959");
        let steps = super::steps(
            local(&tz, "2026-11-02T00:00:00"),
            1,
            Duration::from_secs(3600),
            &tz,
        );
        assert_eq!(steps.len(), 26);
    }
}
