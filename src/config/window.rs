//! The report window: which local times a poll asks Wolkvox about, in Wolkvox's date format.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

/// The longest window Wolkvox accepts in one query.
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 24 * 3600);

/// What period a poll covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Local midnight of the operation's zone to now.
    Today,
    /// The last `Duration` up to now (at most 31 days).
    Rolling(Duration),
}

impl Window {
    /// Parses `today` or a humantime duration of at most 31 days.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("today") {
            return Ok(Window::Today);
        }
        match humantime::parse_duration(s) {
            Err(_) => Err(format!(
                "{s:?} is neither `today` nor a duration such as 15m, 1h or 7d"
            )),
            Ok(d) if d.is_zero() => Err("must be longer than zero".to_owned()),
            Ok(d) if d > MAX_WINDOW => Err(format!(
                "{s:?} is longer than the 31 days Wolkvox accepts in one query"
            )),
            Ok(d) => Ok(Window::Rolling(d)),
        }
    }

    /// The window that a poll at `now` asks for, in the operation's zone.
    pub fn resolve(&self, now: Timestamp, tz: &TimeZone) -> ReportWindow {
        // Wolkvox takes whole seconds; truncate so the window end is a time it can express.
        let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
        let end = now.to_zoned_datetime(tz.clone());
        let start = match self {
            Window::Today => start_of_day(&end),
            Window::Rolling(d) => {
                (now.checked_sub(*d).unwrap_or(Timestamp::UNIX_EPOCH)).to_zoned_datetime(tz.clone())
            }
        };
        ReportWindow::new(start, end)
    }
}

/// The first instant of the local day that `z` falls in.
pub fn start_of_day(z: &ZonedDateTime) -> ZonedDateTime {
    // start_of_day only fails for dates at the edge of jiff's range, far from any real clock.
    z.start_of_day().unwrap_or_else(|_| z.clone())
}

/// The next local midnight strictly after `now`.
pub fn next_midnight(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let today = start_of_day(&now.to_zoned_datetime(tz.clone()));
    today
        .tomorrow()
        .ok()
        .and_then(|d| d.start_of_day().ok())
        .map(|z| z.timestamp())
        .unwrap_or_else(|| now + 24.hours())
}

/// One query's date range: local civil times for the request, instants for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportWindow {
    /// First local second covered (`date_ini`).
    pub start: DateTime,
    /// Last local second covered (`date_end`).
    pub end: DateTime,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
}

impl ReportWindow {
    /// The window from `start` to `end`, both in the operation's zone.
    pub fn new(start: ZonedDateTime, end: ZonedDateTime) -> Self {
        Self {
            start: start.datetime(),
            end: end.datetime(),
            start_ts: start.timestamp(),
            end_ts: end.timestamp(),
        }
    }

    /// `date_ini` as Wolkvox wants it: YYYYmmddHHiiss.
    pub fn date_ini(&self) -> String {
        format_wolkvox(self.start)
    }

    /// `date_end` as Wolkvox wants it: YYYYmmddHHiiss.
    pub fn date_end(&self) -> String {
        format_wolkvox(self.end)
    }
}

/// Formats a local time as the 14 digits of the Wolkvox API.
pub fn format_wolkvox(dt: DateTime) -> String {
    dt.strftime("%Y%m%d%H%M%S").to_string()
}

/// Parses the 14 digits of the Wolkvox API into a local time.
pub fn parse_wolkvox(s: &str) -> Option<DateTime> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DateTime::strptime("%Y%m%d%H%M%S", s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: &str, civil: &str) -> (Timestamp, TimeZone) {
        let tz = TimeZone::get(zone).unwrap();
        let dt: DateTime = civil.parse().unwrap();
        (dt.to_zoned_datetime(tz.clone()).unwrap().timestamp(), tz)
    }

    #[test]
    fn today_starts_at_local_midnight_in_bogota_not_utc() {
        // 03:30 UTC on the 26th is still the 25th in Bogota (UTC-5).
        let tz = TimeZone::get("America/Bogota").unwrap();
        let now: Timestamp = "2026-11-26T03:30:15Z".parse().unwrap();
        let w = Window::Today.resolve(now, &tz);
        assert_eq!(w.date_ini(), "20261125000000");
        assert_eq!(w.date_end(), "20261125223015");
        assert_eq!(w.start_ts.to_string(), "2026-11-25T05:00:00Z");
    }

    #[test]
    fn today_in_kolkata_just_after_midnight_is_a_new_day() {
        let (now, tz) = at("Asia/Kolkata", "2026-11-26T00:00:30");
        let w = Window::Today.resolve(now, &tz);
        assert_eq!(w.date_ini(), "20261126000000");
        assert_eq!(w.date_end(), "20261126000030");
        // Kolkata is UTC+05:30: its midnight is 18:30 UTC the day before.
        assert_eq!(w.start_ts.to_string(), "2026-11-25T18:30:00Z");
    }

    #[test]
    fn today_just_before_midnight_covers_the_whole_day() {
        let (now, tz) = at("America/Bogota", "2026-11-25T23:59:59.900");
        let w = Window::Today.resolve(now, &tz);
        assert_eq!(w.date_ini(), "20261125000000");
        assert_eq!(w.date_end(), "20261125235959");
    }

    #[test]
    fn rolling_window_crosses_midnight_in_local_time() {
        let (now, tz) = at("Asia/Kolkata", "2026-11-26T00:10:00");
        let w = Window::Rolling(Duration::from_secs(3600)).resolve(now, &tz);
        assert_eq!(w.date_ini(), "20261125231000");
        assert_eq!(w.date_end(), "20261126001000");
    }

    #[test]
    fn next_midnight_is_local() {
        let (now, tz) = at("America/Bogota", "2026-11-25T23:50:00");
        let (expected, _) = at("America/Bogota", "2026-11-26T00:00:00");
        assert_eq!(next_midnight(now, &tz), expected);
        let (now, tz) = at("Asia/Kolkata", "2026-11-26T00:00:00");
        let (expected, _) = at("Asia/Kolkata", "2026-11-27T00:00:00");
        assert_eq!(next_midnight(now, &tz), expected);
    }

    #[test]
    fn window_strings_parse_or_explain() {
        assert_eq!(Window::parse("today").unwrap(), Window::Today);
        assert_eq!(
            Window::parse("15m").unwrap(),
            Window::Rolling(Duration::from_secs(900))
        );
        assert_eq!(Window::parse("31d").unwrap(), Window::Rolling(MAX_WINDOW));
        assert!(
            Window::parse("32d")
                .unwrap_err()
                .contains("longer than the 31 days")
        );
        assert!(
            Window::parse("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(
            Window::parse("yesterday")
                .unwrap_err()
                .contains("neither `today` nor")
        );
    }

    #[test]
    fn wolkvox_dates_round_trip_and_reject_garbage() {
        let dt = parse_wolkvox("20261125093000").unwrap();
        assert_eq!(format_wolkvox(dt), "20261125093000");
        assert!(parse_wolkvox("2026112509300").is_none());
        assert!(parse_wolkvox("20261325093000").is_none());
        assert!(parse_wolkvox("2026-11-25T09:").is_none());
    }
}
