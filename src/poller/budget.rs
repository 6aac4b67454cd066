//! Pure: the poll interval that keeps an operation within its share of the token's daily
//! limit (`--poll.budget-share`), so that the token's other users keep the rest.
//!
//! What this exporter may still spend today is the smaller of its share of the limit, less
//! what it has spent since local midnight, and what the token has left at all (other users
//! count there). That remainder, less the token_info calls still to come, is spread evenly
//! over what remains of the local day. The interval never gets shorter than the configured
//! one; with nothing left, the next poll waits for the next local day.

use std::time::Duration;

use crate::upstream::TokenInfo;

/// What the interval is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The share of the token's daily limit this operation may spend, in (0, 1].
    pub share: f64,
    /// The token's limit and use, as token_info last said.
    pub info: TokenInfo,
    /// Calls this operation made since local midnight, all kinds.
    pub ours_today: u64,
    /// Of those, the calls made after token_info's answer (the token's use it does not show).
    pub ours_since_info: u64,
    /// How often token_info is called (each call spends the budget too).
    pub token_info_interval: Duration,
}

impl Budget {
    /// Calls this operation may still make today.
    pub fn remaining(&self) -> f64 {
        let ours = self.ours_today as f64;
        let own_share = (self.share * self.info.limit).floor() - ours;
        let token_left = self.info.limit - self.info.used_today - self.ours_since_info as f64;
        own_share.min(token_left).max(0.0)
    }

    /// The interval between polls from now until `until_midnight` has passed, never shorter
    /// than `base`.
    pub fn interval(&self, base: Duration, until_midnight: Duration) -> Duration {
        let info_calls = calls_within(until_midnight, self.token_info_interval) as f64;
        let polls = (self.remaining() - info_calls).floor();
        if polls < 1.0 {
            return until_midnight.max(base);
        }
        until_midnight.div_f64(polls).max(base)
    }
}

/// Calls made in `span` by something that calls every `every`, the first at once: none for a
/// zero `every` (it does not call).
pub fn calls_within(span: Duration, every: Duration) -> u64 {
    if every.is_zero() {
        return 0;
    }
    (span.as_secs_f64() / every.as_secs_f64()).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn budget(limit: f64, used: f64, ours: u64) -> Budget {
        Budget {
            share: 0.25,
            info: TokenInfo {
                limit,
                used_today: used,
            },
            ours_today: ours,
            ours_since_info: 0,
            token_info_interval: HOUR,
        }
    }

    #[test]
    fn the_share_left_is_spread_over_the_rest_of_the_day() {
        // 250 of 1,000 calls are ours; 10 spent; 12 h left with 12 token_info calls to come:
        // 228 polls over 12 h, one every 189.47 s: shorter than 5 min, so 5 min stays.
        let b = budget(1000.0, 100.0, 10);
        assert_eq!(b.remaining(), 240.0);
        assert_eq!(b.interval(5 * MIN, 12 * HOUR), 5 * MIN);
        // With a 1 min base, the budget sets the pace.
        let got = b.interval(MIN, 12 * HOUR);
        assert_eq!(got, (12 * HOUR).div_f64(228.0));
    }

    #[test]
    fn other_users_leave_less_than_the_share_and_the_interval_grows() {
        // The token has 100 calls left in all: fewer than our 250.
        let mut b = budget(1000.0, 900.0, 0);
        b.ours_since_info = 4;
        assert_eq!(b.remaining(), 96.0);
        assert_eq!(b.interval(MIN, 12 * HOUR), (12 * HOUR).div_f64(84.0));
    }

    #[test]
    fn nothing_left_waits_for_the_next_local_day() {
        assert_eq!(budget(1000.0, 300.0, 250).interval(MIN, 3 * HOUR), 3 * HOUR);
        assert_eq!(budget(1000.0, 1000.0, 0).interval(MIN, 3 * HOUR), 3 * HOUR);
        // Never shorter than the base, even a minute before midnight.
        assert_eq!(budget(1000.0, 1000.0, 0).interval(5 * MIN, MIN), 5 * MIN);
    }
}
