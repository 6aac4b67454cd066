//! Pure: whether a backfill may make its next call with a token. Two limits hold, per local day
//! of the token (Wolkvox resets the quota at the operation's local midnight): `--max-calls`,
//! counted across runs in the state, and, where token_info answered, the token's own limit
//! less what the live exporter needs until local midnight, so that a backfill never starves it.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::config::OperationConfig;
use crate::config::window::next_midnight;
use crate::poller::budget::calls_within;
use crate::upstream::TokenInfo;

/// What token_info said about a token, and the calls made with it since.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reserve {
    /// token_info's answer (its own call included in the use when Wolkvox counts it so).
    pub info: TokenInfo,
    /// The local day it was asked on: a new day needs a new answer.
    pub day: Date,
    /// Calls made with the token after the answer.
    pub since: u64,
}

/// The calls the live exporter makes with the token of `server` from `now` to local midnight:
/// each of its operations on that server polls every `poll_interval`, and calls token_info
/// every `token_info_interval` when that is set. A day's closing call falls after midnight, on
/// the next day's budget.
pub fn live_need<'a>(
    operations: impl IntoIterator<Item = &'a OperationConfig>,
    server: &str,
    token_info_interval: Option<Duration>,
    now: Timestamp,
) -> u64 {
    operations
        .into_iter()
        .filter(|op| op.server.as_str() == server)
        .map(|op| {
            let midnight = next_midnight(now, &op.timezone);
            let left = Duration::try_from(midnight.duration_since(now)).unwrap_or_default();
            calls_within(left, op.poll_interval)
                + token_info_interval.map_or(0, |every| calls_within(left, every))
        })
        .sum()
}

/// Why the next call must not be made, if so: `today` calls already made on the local `day`
/// (`earlier` of them by earlier runs), `reserve` when token_info answered, `need` the live
/// exporter's calls until midnight. Either one more call would pass `--max-calls`, or it would
/// leave the token less than the live exporter needs today.
pub fn check(
    max_calls: u64,
    day: Date,
    today: u64,
    earlier: u64,
    reserve: Option<&Reserve>,
    need: u64,
) -> Option<String> {
    if today >= max_calls {
        return Some(format!(
            "reached --max-calls {max_calls} for {day}, the operation's local day ({earlier} of its calls in earlier runs with this output); run the same command again tomorrow to continue"
        ));
    }
    let r = reserve.filter(|r| r.day == day)?;
    let used = r.info.used_today.ceil() as u64 + r.since;
    let limit = r.info.limit.floor() as u64;
    (used + 1 + need > limit).then(|| format!(
        "the token has spent {used} of its {limit} calls today (token_info), and the live exporter needs {need} more until local midnight (its polls at --poll.interval and its token_info calls); stopped to leave them; run the same command again tomorrow to continue"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ServerCode};

    fn day() -> Date {
        "2026-11-25".parse().unwrap()
    }

    fn reserve(limit: f64, used_today: f64, since: u64) -> Reserve {
        Reserve {
            info: TokenInfo { limit, used_today },
            day: day(),
            since,
        }
    }

    #[test]
    fn max_calls_counts_the_whole_local_day() {
        assert_eq!(check(300, day(), 299, 0, None, 0), None);
        assert_eq!(
            check(300, day(), 300, 0, None, 0).as_deref(),
            Some(
                "reached --max-calls 300 for 2026-11-25, the operation's local day (0 of its calls in earlier runs with this output); run the same command again tomorrow to continue"
            )
        );
    }

    #[test]
    fn the_last_call_allowed_leaves_the_live_exporter_exactly_its_need() {
        // 1,000 a day, 600 used when asked, 100 since, 290 needed: 9 more calls, not 10.
        let r = reserve(1000.0, 600.0, 100);
        assert_eq!(check(10_000, day(), 0, 0, Some(&r), 299), None);
        assert_eq!(
            check(10_000, day(), 0, 0, Some(&r), 300).as_deref(),
            Some(
                "the token has spent 700 of its 1000 calls today (token_info), and the live exporter needs 300 more until local midnight (its polls at --poll.interval and its token_info calls); stopped to leave them; run the same command again tomorrow to continue"
            )
        );
    }

    #[test]
    fn an_answer_of_another_day_does_not_count() {
        let r = reserve(1000.0, 1000.0, 0);
        let tomorrow = day().tomorrow().unwrap();
        assert_eq!(check(300, tomorrow, 0, 0, Some(&r), 0), None);
    }

    #[test]
    fn the_live_need_is_the_polls_and_token_info_calls_of_the_servers_operations_until_midnight() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        let token = crate::config::Token::new("t").unwrap();
        let mut config = Config::new(ServerCode::parse("0032").unwrap(), url, token);
        let op = &mut config.operations[0];
        op.timezone = jiff::tz::TimeZone::get("America/Bogota").unwrap();
        op.poll_interval = Duration::from_secs(300);
        let server = op.server.as_str().to_owned();
        let now = jiff::civil::date(2026, 11, 25)
            .at(14, 2, 0, 0)
            .to_zoned_datetime(op.timezone.clone())
            .unwrap()
            .timestamp();
        // 9 h 58 min: 120 polls every 5 min (the first at once), 10 hourly token_info calls.
        assert_eq!(live_need(&config.operations, &server, None, now), 120);
        let hourly = Some(Duration::from_secs(3600));
        assert_eq!(live_need(&config.operations, &server, hourly, now), 130);
        assert_eq!(live_need(&config.operations, "9999", hourly, now), 0);
    }
}
