//! Pure: the wait before the next call, chosen from the result of the last one alone.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::config::window::next_midnight;
use crate::upstream::PollResult;

/// Pause before the single retry after a concurrency refusal.
pub const CONCURRENCY_PAUSE: Duration = Duration::from_secs(10);
/// Margin after local midnight before calling again once the daily quota is used up: the
/// quota's reset on Wolkvox's side may lag our clock a little.
pub const QUOTA_MARGIN: Duration = Duration::from_secs(120);

/// The wait before the next call, derived from the result of the last one.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    concurrency_retried: bool,
    jitter: fastrand::Rng,
    timeout_floor: Duration,
}

impl Backoff {
    /// A backoff that, after a timeout, waits at least `poll_timeout` (capped at the
    /// interval): the call we gave up on may still be running at Wolkvox, and starting the
    /// next one at once would put two of the token's calls in flight there.
    pub fn new(poll_timeout: Duration) -> Self {
        Self {
            timeout_floor: poll_timeout,
            ..Self::default()
        }
    }

    /// How long to wait after a poll with `result` that ended at `now`.
    pub fn wait(
        &mut self,
        result: PollResult,
        now: Timestamp,
        tz: &TimeZone,
        interval: Duration,
    ) -> Duration {
        // A short pause and one retry after a concurrency refusal; if that is refused too, the
        // normal pace.
        let retry = result == PollResult::ConcurrencyLimited && !self.concurrency_retried;
        self.concurrency_retried = retry;
        match result {
            // Configuration errors too: retry at the normal pace, an error is logged each time.
            PollResult::Success
            | PollResult::NoData
            | PollResult::Unauthorized
            | PollResult::ClientError => {
                self.failures = 0;
                interval
            }
            // No call until the quota resets at the next local midnight.
            PollResult::QuotaExceeded => {
                self.failures = 0;
                let until = next_midnight(now, tz).duration_since(now);
                Duration::try_from(until).unwrap_or(interval) + QUOTA_MARGIN
            }
            PollResult::ConcurrencyLimited if retry => CONCURRENCY_PAUSE.min(interval),
            PollResult::ConcurrencyLimited => interval,
            // Every other result is a transient fault: exponential backoff with jitter, capped
            // at the interval.
            _ => {
                self.failures = self.failures.saturating_add(1);
                let base = interval / 16;
                let exp = base.saturating_mul(1u32 << (self.failures - 1).min(16));
                let capped = exp.min(interval);
                // "Equal jitter": between half and all of the capped delay.
                let half = capped / 2;
                let wait = half + half.mul_f64(self.jitter.f64());
                if result == PollResult::Timeout {
                    wait.max(self.timeout_floor.min(interval))
                } else {
                    wait
                }
            }
        }
    }
}
