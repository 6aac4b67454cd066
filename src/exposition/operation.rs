//! What /metrics says about one operation: the state that its poller keeps and hands to the
//! [`Store`](super::Store) after every poll. Plain data; the families read it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Formats;
use crate::config::window::ReportWindow;
use crate::counters::Counters;
use crate::report::{RejectCounts, Report};
use crate::upstream::{PollCounts, PollResult, TokenInfo};

/// A report that the data series show, with the window it describes.
///
/// Once the store has encoded its data series, it keeps a thin copy instead
/// (with `encoded` set): the encoded parts, which every later encoding reuses (a failed poll
/// within `--poll.keep-stale` shows the same data), and the first [`ReportData::HEAD`] series,
/// which the status page lists. The whole report is not kept: its encoded parts already hold
/// what /metrics needs of it.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The parsed report; in a thin copy, its first [`ReportData::HEAD`] series only.
    pub report: Report,
    pub window: ReportWindow,
    /// Series in the whole report, also in a thin copy.
    pub series: usize,
    /// In a thin copy: the data families' parts, encoded from the whole report.
    pub(super) encoded: Option<Arc<[Formats]>>,
}

impl ReportData {
    /// Series that a thin copy keeps: what the status page lists.
    pub const HEAD: usize = 50;

    pub fn new(report: Report, window: ReportWindow) -> ReportData {
        ReportData {
            series: report.series.len(),
            report,
            window,
            encoded: None,
        }
    }

    /// The thin copy of this data, with `encoded`, the parts of its data families.
    pub(super) fn thin(&self, encoded: Arc<[Formats]>) -> ReportData {
        let report = Report {
            series: self.report.series[..self.report.series.len().min(Self::HEAD)].to_vec(),
            ..self.report
        };
        ReportData {
            report,
            window: self.window.clone(),
            series: self.series,
            encoded: Some(encoded),
        }
    }
}

/// One finished call, as the status page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCall {
    pub result: PollResult,
    pub at: Timestamp,
    /// What Wolkvox answered, with the token blanked out should the answer echo it.
    pub detail: String,
}

/// Everything /metrics says about one operation, as of its last poll.
#[derive(Debug, Clone)]
pub struct OperationMetrics {
    pub operation: String,
    /// Whether the last poll got a report.
    pub up: bool,
    /// Whether Wolkvox refused the last call for the token's used-up daily quota: from the
    /// refusal until the first call after the quota's reset at local midnight.
    pub quota_exhausted: bool,
    /// Polls by result, summed over polls.
    pub polls: PollCounts,
    /// Rejected rows by reason, summed over polls.
    pub rejected: RejectCounts,
    /// Series pairs dropped over the limit, summed over polls.
    pub series_dropped: u64,
    /// End of the last successful poll.
    pub last_success: Option<Timestamp>,
    pub poll_duration: Option<Duration>,
    pub next_poll: Option<Timestamp>,
    /// The interval in force after a successful poll: the configured one, or longer to stay
    /// within `--poll.budget-share`.
    pub effective_interval: Duration,
    /// The report that the data series show; `None` before the first report and once stale
    /// data has been dropped.
    pub data: Option<Arc<ReportData>>,
    /// Counters that survive midnight (`today` window only).
    pub counters: Option<Arc<Counters>>,
    /// Calls the last closing call of a day found beyond the counters published before it.
    pub day_close_late_calls: Option<f64>,
    /// Whether a poll has finished.
    pub polled: bool,
    /// API calls made, all kinds.
    pub api_requests: u64,
    /// API calls made since local midnight of the operation.
    pub api_requests_today: u64,
    /// The token's daily limit and today's use, from token_info.
    pub token_info: Option<TokenInfo>,
    /// Server code, which the advice on a failure names (status page only).
    pub server: String,
    /// The operation's time zone, in which the status page shows times.
    pub timezone: TimeZone,
    /// The last call of a report (status page only).
    pub last_call: Option<LastCall>,
    /// The last call that got no report (status page only).
    pub last_failure: Option<LastCall>,
}

impl OperationMetrics {
    /// The state before the first poll, when the interval in force is the configured one.
    pub fn new(operation: String, poll_interval: Duration) -> Self {
        Self {
            operation,
            up: false,
            quota_exhausted: false,
            polls: PollCounts::default(),
            rejected: RejectCounts::default(),
            series_dropped: 0,
            last_success: None,
            poll_duration: None,
            next_poll: None,
            effective_interval: poll_interval,
            data: None,
            counters: None,
            day_close_late_calls: None,
            polled: false,
            api_requests: 0,
            api_requests_today: 0,
            token_info: None,
            server: String::new(),
            timezone: TimeZone::UTC,
            last_call: None,
            last_failure: None,
        }
    }
}
