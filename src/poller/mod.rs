//! The one loop per operation: fetch -> classify -> publish -> wait.
//!
//! There is exactly one task per token and it awaits each call before it makes the next, so
//! two requests of one token are never in flight at once, whatever the timings. The wait
//! before the next call is chosen from the [`PollResult`] alone (see [`Backoff`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio_util::sync::CancellationToken;

use crate::config::window::{ReportWindow, Window, next_midnight};
use crate::config::{Config, OperationConfig};
use crate::counters::{DayCall, DayCounters, Decrease};
use crate::exposition::{LastCall, OperationMetrics, ReportData, Store};
use crate::report;
use crate::report::Report;
use crate::sys::clock::Clock;
use crate::upstream::{Classified, Client, PollResult};

mod backoff;
pub mod budget;
pub mod supervisor;

pub use backoff::{Backoff, CONCURRENCY_PAUSE, QUOTA_MARGIN};

/// Time from `from` to `to`; zero if the clock went back.
fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

/// The whole local `day`, 00:00:00 to 23:59:59, for the closing call.
fn whole_day(day: jiff::civil::Date, tz: &TimeZone) -> ReportWindow {
    let end = day.at(23, 59, 59, 0);
    // jiff's compatible disambiguation picks the nearest valid instant where a transition
    // swallows the time; the request names the civil times themselves.
    let at_end = end.to_zoned_datetime(tz.clone()).map(|z| z.timestamp());
    let mut w = Window::Today.resolve(at_end.unwrap_or(Timestamp::UNIX_EPOCH), tz);
    (w.start, w.end) = (day.to_datetime(jiff::civil::Time::midnight()), end);
    w
}

/// What one API call came to.
struct Answer {
    classified: Classified,
    /// The report, for success and no_data.
    report: Option<Report>,
    duration: Duration,
}

/// What a call was for, as [`Poller::record`] takes it.
enum Purpose {
    /// A whole-day call for the previous day: its first totals after a start within the close
    /// delay, or its final ones.
    Day(DayCall),
    /// The call for the report window, made within the close delay or not.
    Report {
        window: ReportWindow,
        in_delay: bool,
    },
}

/// Polls one operation until `cancel` fires, publishing a snapshot after every poll.
pub struct Poller {
    op: OperationConfig,
    /// The settings of the process, shared by every poller (its list of operations unused).
    config: Arc<Config>,
    client: Client,
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    metrics: OperationMetrics,
    backoff: Backoff,
    counters: DayCounters,
    /// When the closing call of the previous day first failed, while it keeps failing.
    close_failing_since: Option<Timestamp>,
    api_day: Option<jiff::civil::Date>,
    last_token_info: Option<Instant>,
    /// The local day of token_info's last answer, and our calls that day up to it.
    info_seen: Option<(jiff::civil::Date, u64)>,
}

impl Poller {
    /// A poller that publishes into `store`.
    pub fn new(
        op: OperationConfig,
        config: Arc<Config>,
        client: Client,
        clock: Arc<dyn Clock>,
        store: Arc<Store>,
    ) -> Self {
        let mut metrics = OperationMetrics::new(op.name.clone(), op.poll_interval);
        metrics.server = client.server().to_owned();
        metrics.timezone = op.timezone.clone();
        Self {
            backoff: Backoff::new(op.poll_timeout),
            // A closed day's final totals stay a poll interval, so that a scrape sees them.
            counters: DayCounters::new(op.poll_interval),
            op,
            config,
            client,
            clock,
            store,
            metrics,
            close_failing_since: None,
            api_day: None,
            last_token_info: None,
            info_seen: None,
        }
    }

    /// Calls token_info; `None` when cancelled.
    async fn token_info(&mut self, cancel: &CancellationToken) -> Option<()> {
        self.client.refresh_token();
        self.count_api_request();
        self.last_token_info = Some(Instant::now());
        let answer = tokio::select! {
            answer = self.client.fetch_token_info() => answer,
            () = cancel.cancelled() => return None,
        };
        match crate::upstream::outcome::token_info(answer) {
            Ok(info) => {
                tracing::debug!(
                    operation = %self.op.name,
                    limit = info.limit,
                    used_today = info.used_today,
                    "token_info"
                );
                self.metrics.token_info = Some(info);
                self.info_seen = Some((self.local_today(), self.metrics.api_requests_today));
            }
            // An answer may echo the token: it never reaches a log line.
            Err(detail) => tracing::warn!(
                operation = %self.op.name,
                detail = %self.client.redact(&detail),
                "token_info call failed"
            ),
        }
        Some(())
    }

    /// The operation's local date now.
    fn local_today(&self) -> jiff::civil::Date {
        self.clock
            .now()
            .to_zoned_datetime(self.op.timezone.clone())
            .date()
    }

    /// The interval after a poll ending at `now`: the configured one, or, with a budget share
    /// and token_info's answer, longer so that the share is not exceeded by local midnight.
    fn effective_interval(&self, now: Timestamp) -> Duration {
        let base = self.op.poll_interval;
        let (Some(share), Some(mut info), Some(every)) = (
            self.config.budget_share,
            self.metrics.token_info,
            self.config.token_info_interval,
        ) else {
            return base;
        };
        let ours_today = self.metrics.api_requests_today;
        let ours_since_info = match self.info_seen {
            Some((day, ours_then)) if day == self.local_today() => {
                ours_today.saturating_sub(ours_then)
            }
            // An answer of an earlier day: the token's use has been reset since.
            _ => {
                info.used_today = 0.0;
                ours_today
            }
        };
        let budget = crate::poller::budget::Budget {
            share,
            info,
            ours_today,
            ours_since_info,
            token_info_interval: every,
        };
        budget.interval(base, elapsed(now, next_midnight(now, &self.op.timezone)))
    }

    /// Counts one API call in the totals and in today's count (reset at local midnight).
    fn count_api_request(&mut self) {
        let today = self.local_today();
        if self.api_day != Some(today) {
            self.api_day = Some(today);
            self.metrics.api_requests_today = 0;
        }
        self.metrics.api_requests += 1;
        self.metrics.api_requests_today += 1;
    }

    /// Runs the loop: the first poll after `first_delay`, then one after each wait.
    pub async fn run(mut self, cancel: CancellationToken, first_delay: Duration) {
        if !first_delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(first_delay) => {}
                () = cancel.cancelled() => return,
            }
        }
        loop {
            let window = self.op.window.resolve(self.clock.now(), &self.op.timezone);
            let (every, last) = (self.config.token_info_interval, self.last_token_info);
            let info_due =
                every.is_some_and(|every| last.is_none_or(|last| last.elapsed() >= every));
            // token_info first, so that the wait after the report knows the token's budget.
            if info_due && self.token_info(&cancel).await.is_none() {
                return;
            }
            let Some(wait) = self.poll(window, &cancel).await else {
                return;
            };
            self.metrics.polled = true;
            let (store, metrics) = (self.store.clone(), self.metrics.clone());
            let publish = move || store.publish(metrics);
            let Some(data) = off_the_workers(publish).await else {
                return;
            };
            // The store's thin copy: the whole report is freed, and a failed poll within
            // --poll.keep-stale publishes the encoded series again without encoding them.
            self.metrics.data = data;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => return,
            }
        }
    }

    /// One poll: with a `today` window, first the whole-day call for yesterday when one is due
    /// (see [`DayCall`]), then the call for `window`. Calls run one after the other, never at
    /// once. Returns the wait before the next poll, or `None` when cancelled.
    async fn poll(&mut self, window: ReportWindow, cancel: &CancellationToken) -> Option<Duration> {
        let today = window.start.date();
        // Within the close delay, the previous day may still get rows from Wolkvox.
        let in_delay = self.op.window == Window::Today
            && elapsed(window.start_ts, window.end_ts) < self.config.close_delay;
        if self.op.window == Window::Today
            && let Some(call) = self.counters.day_call(today, in_delay)
        {
            let (DayCall::Open(day) | DayCall::Close(day)) = call;
            let answer = self
                .call(&whole_day(day, &self.op.timezone), cancel)
                .await?;
            if let Some(wait) = self.record(Purpose::Day(call), answer) {
                return Some(wait);
            }
        }
        let answer = self.call(&window, cancel).await?;
        self.record(Purpose::Report { window, in_delay }, answer)
    }

    /// One API call, classified, with its report; `None` when cancelled.
    async fn call(&mut self, window: &ReportWindow, cancel: &CancellationToken) -> Option<Answer> {
        self.client.refresh_token();
        self.count_api_request();
        let started = Instant::now();
        let answer = tokio::select! {
            answer = self.client.fetch(window) => answer,
            // Dropping the request future closes the connection: nothing is left behind.
            () = cancel.cancelled() => return None,
        };
        let (unit, max_series) = (self.op.time_unit, self.config.max_series);
        let (classified, report) =
            off_the_workers(move || report::from_answer(answer, unit, max_series)).await?;
        Some(Answer {
            classified,
            report,
            duration: started.elapsed(),
        })
    }

    /// Records what one call did, in this one place, as node_exporter's `execute` does: the
    /// `wolkvox_polls_total` counter, the duration, `up`, the last success, the data series and
    /// counters, the log line, and, for the call that ends a poll, the wait before the next
    /// one (also shown as `wolkvox_next_poll_timestamp_seconds`). Returns that wait, or `None`
    /// when the poll goes on with another call (a day closed, then today's report).
    fn record(&mut self, purpose: Purpose, answer: Answer) -> Option<Duration> {
        let (result, duration) = (answer.classified.result, answer.duration);
        self.metrics.polls[result] += 1;
        self.metrics.poll_duration = Some(duration);
        self.metrics.up = result.is_up();
        // A state, not an event: alerts on it last as long as the wait and end with it.
        self.metrics.quota_exhausted = result == PollResult::QuotaExceeded;
        let detail = self.client.redact(&answer.classified.detail);
        self.log(result, &detail, duration);
        let now = self.clock.now();
        let call = LastCall {
            result,
            at: now,
            detail,
        };
        if !result.is_up() {
            self.metrics.last_failure = Some(call.clone());
        }
        self.metrics.last_call = Some(call);
        match (purpose, answer.report) {
            (Purpose::Day(DayCall::Open(day)), Some(report)) => {
                self.counters.open(day, &report);
                self.metrics.counters = Some(self.counters.series());
                tracing::info!(
                    operation = %self.op.name,
                    day = %day,
                    "started within the close delay: counting the previous day's totals until it is closed"
                );
                return None;
            }
            (Purpose::Day(DayCall::Close(day)), Some(report)) => {
                let decreases = self.counters.close(day, &report, now);
                self.log_decreases(&decreases);
                self.metrics.counters = Some(self.counters.series());
                self.metrics.day_close_late_calls = self.counters.late_calls;
                self.close_failing_since = None;
                tracing::info!(
                    operation = %self.op.name,
                    day = %day,
                    late_calls = self.metrics.day_close_late_calls.unwrap_or(0.0),
                    "closed the previous day with a whole-day report"
                );
                return None;
            }
            (Purpose::Report { window, in_delay }, Some(report)) => {
                if self.op.window == Window::Today {
                    let decreases =
                        self.counters
                            .observe(window.start.date(), &report, now, in_delay);
                    self.log_decreases(&decreases);
                    self.metrics.counters = Some(self.counters.series());
                }
                self.succeed(report, window);
            }
            // Only failures come without a report (no_data brings an empty one).
            (purpose, None) => {
                if let Purpose::Day(DayCall::Close(day)) = purpose {
                    let since = *self.close_failing_since.get_or_insert(now);
                    if elapsed(since, now) > self.config.keep_stale {
                        self.counters.abandon_close();
                        self.close_failing_since = None;
                        tracing::warn!(
                            operation = %self.op.name,
                            day = %day,
                            "could not close the previous day: its calls after the last poll are not counted"
                        );
                    }
                }
                self.fail();
            }
        }
        let interval = self.effective_interval(now);
        self.metrics.effective_interval = interval;
        let wait = self.backoff.wait(result, now, &self.op.timezone, interval);
        self.metrics.next_poll = now.checked_add(wait).ok();
        if result == PollResult::QuotaExceeded
            && let Some(resume) = self.metrics.next_poll
        {
            tracing::warn!(
                operation = %self.op.name,
                resume_at = %resume.to_zoned_datetime(self.op.timezone.clone()),
                "daily token quota used up: no call until the next local midnight"
            );
        }
        Some(wait)
    }

    /// A report arrived: it replaces the data series whole.
    fn succeed(&mut self, report: Report, window: ReportWindow) {
        if report.dropped_series > 0 {
            tracing::warn!(
                operation = %self.op.name,
                dropped = report.dropped_series,
                max_series = self.config.max_series,
                "the report has more (rp_id, cod_opc_menu) pairs than --report.max-series; the rest are dropped"
            );
        }
        let m = &mut self.metrics;
        m.series_dropped += report.dropped_series as u64;
        let mut rejected = 0;
        for (reason, n) in report.rejected.iter() {
            m.rejected[reason] += n;
            rejected += n;
        }
        if rejected > 0 {
            tracing::warn!(
                operation = %self.op.name,
                rejected,
                rows = report.rows,
                "report rows skipped: a calls or time value could not be read"
            );
        }
        m.last_success = Some(self.clock.now());
        m.data = Some(Arc::new(ReportData::new(report, window)));
    }

    /// A call failed: the last good data stay until `keep_stale` has passed since the last
    /// successful poll, however many polls failed meanwhile, so that a short Wolkvox incident
    /// neither blanks dashboards nor restarts every alert's `for:`.
    fn fail(&mut self) {
        let Some(last) = self.metrics.last_success else {
            return;
        };
        let stale_for = elapsed(last, self.clock.now());
        if stale_for >= self.config.keep_stale && self.metrics.data.take().is_some() {
            tracing::warn!(
                operation = %self.op.name,
                since_last_success = %humantime::format_duration(stale_for),
                "dropping the last good data: no successful poll for --poll.keep-stale"
            );
        }
    }

    fn log_decreases(&self, decreases: &[Decrease]) {
        for d in decreases {
            tracing::warn!(
                operation = %self.op.name,
                rp_id = %d.rp_id,
                cod_opc_menu = %d.cod_opc_menu,
                before = d.before,
                now = d.now,
                "calls went down within a day; the counter stays unchanged"
            );
        }
    }

    /// The log line of a poll, before it is recorded as the last call: debug when nothing
    /// changed, info/warn when the state changes, error every time, with the advice, for
    /// configuration faults that need a human.
    fn log(&self, result: PollResult, detail: &str, duration: Duration) {
        let op = self.op.name.as_str();
        let secs = duration.as_secs_f64();
        let changed = self.metrics.last_call.as_ref().map(|c| c.result) != Some(result);
        match result {
            PollResult::NotFound | PollResult::Unauthorized | PollResult::ClientError => {
                tracing::error!(
                    operation = op, result = %result, detail, duration_seconds = secs,
                    advice = %result.advice(self.client.server()), "poll failed"
                )
            }
            PollResult::QuotaExceeded => {}
            r if r.is_up() && changed => tracing::info!(
                operation = op, result = %result, detail, duration_seconds = secs,
                "polls succeed"
            ),
            r if !r.is_up() && changed => tracing::warn!(
                operation = op, result = %result, detail, duration_seconds = secs,
                "poll failed"
            ),
            _ => tracing::debug!(
                operation = op, result = %result, detail, duration_seconds = secs,
                "poll finished"
            ),
        }
    }
}

/// Runs `f` on tokio's blocking pool and waits for it: decoding a 60,000-row report, or
/// encoding and compressing its exposition, is CPU work that must not hold up an async worker
/// that serves /metrics. `None` when the runtime is shutting
/// down; a panic in `f` goes on in the poller, as if `f` had run there.
async fn off_the_workers<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Some(r),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => None,
        },
    }
}

#[cfg(test)]
mod tests {

    /// A poller whose client points nowhere: `record` is driven by hand.
    fn poller_at(clock: &crate::sys::clock::ManualClock) -> Poller {
        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        let server = crate::config::ServerCode::parse("1").unwrap();
        let token = crate::config::Token::new("t").unwrap();
        let mut config = crate::config::Config::new(server.clone(), url.clone(), token.clone());
        config.max_series = 10;
        let mut op = config.operations[0].clone();
        op.name = "op".into();
        op.timezone = tz();
        op.window = Window::Today;
        let http = crate::upstream::HttpClients::default();
        let client = Client::shared(&http, &url, &server, &token, op.poll_timeout).unwrap();
        Poller::new(
            op,
            Arc::new(config),
            client,
            Arc::new(clock.clone()),
            Arc::new(crate::exposition::Store::new()),
        )
    }

    fn answer(result: PollResult, report: Option<Report>) -> Answer {
        Answer {
            classified: Classified {
                result,
                detail: String::new(),
            },
            report,
            duration: Duration::from_millis(5),
        }
    }

    #[test]
    fn minutes_of_500s_at_the_default_interval_and_backoff_keep_the_data_until_keep_stale() {
        let start = jiff::civil::date(2026, 11, 25)
            .at(10, 0, 0, 0)
            .to_zoned_datetime(tz())
            .unwrap()
            .timestamp();
        let clock = crate::sys::clock::ManualClock::new(start);
        let mut poller = poller_at(&clock);
        assert_eq!(poller.config.keep_stale, Duration::from_secs(15 * 60));
        let window = Window::Today.resolve(start, &tz());
        let report = Report {
            rows: 1,
            ..Report::default()
        };
        let report_call = || Purpose::Report {
            window: window.clone(),
            in_delay: false,
        };
        poller.record(report_call(), answer(PollResult::Success, Some(report)));
        assert!(poller.metrics.data.is_some());

        // 500s one after the other, each after the wait the backoff chose (9-19 s, 19-38 s,
        // ... up to the 5 min interval): the data stay for 15 minutes, then go.
        let mut now = start;
        let (mut failures, mut in_two_minutes) = (0, 0);
        loop {
            let wait = poller
                .record(report_call(), answer(PollResult::ServerError, None))
                .expect("a failed report call ends the poll");
            failures += 1;
            let stale = elapsed(start, now);
            if stale < Duration::from_secs(15 * 60) {
                assert!(
                    poller.metrics.data.is_some(),
                    "after {failures} failures, {stale:?}"
                );
            } else {
                assert!(
                    poller.metrics.data.is_none(),
                    "after {failures} failures, {stale:?}"
                );
                break;
            }
            if stale <= Duration::from_secs(120) {
                in_two_minutes += 1;
            }
            now = now.checked_add(wait).unwrap();
            clock.set(now);
        }
        // The backoff's first steps (9-19 s, 19-38 s, 38-75 s) put at least three failed polls
        // in the first two minutes: the count-based keep-stale dropped the data on the fourth.
        assert!(
            in_two_minutes >= 3,
            "{in_two_minutes} failures in two minutes"
        );
        assert!(failures >= 5, "{failures} failures before the drop");
    }
    use super::*;

    fn tz() -> TimeZone {
        TimeZone::get("America/Bogota").unwrap()
    }

    #[test]
    fn success_and_configuration_errors_wait_the_interval() {
        let now: Timestamp = "2026-11-25T15:00:00Z".parse().unwrap();
        let interval = Duration::from_secs(300);
        let mut b = Backoff::default();
        for r in [
            PollResult::Success,
            PollResult::NoData,
            PollResult::Unauthorized,
            PollResult::ClientError,
        ] {
            assert_eq!(b.wait(r, now, &tz(), interval), interval, "{r}");
        }
    }

    #[test]
    fn quota_waits_for_the_next_local_midnight_plus_margin() {
        // 23:50 in Bogota is 04:50 UTC the next day.
        let now: Timestamp = "2026-11-26T04:50:00Z".parse().unwrap();
        let mut b = Backoff::default();
        let w = b.wait(
            PollResult::QuotaExceeded,
            now,
            &tz(),
            Duration::from_secs(300),
        );
        assert_eq!(w, Duration::from_secs(600) + QUOTA_MARGIN);
    }

    #[test]
    fn concurrency_refusal_pauses_briefly_once_then_the_interval() {
        let now = Timestamp::UNIX_EPOCH;
        let interval = Duration::from_secs(300);
        let mut b = Backoff::default();
        assert_eq!(
            b.wait(PollResult::ConcurrencyLimited, now, &tz(), interval),
            CONCURRENCY_PAUSE
        );
        assert_eq!(
            b.wait(PollResult::ConcurrencyLimited, now, &tz(), interval),
            interval
        );
        assert_eq!(
            b.wait(PollResult::ConcurrencyLimited, now, &tz(), interval),
            CONCURRENCY_PAUSE
        );
        let short = Duration::from_secs(2);
        let mut b = Backoff::default();
        assert_eq!(
            b.wait(PollResult::ConcurrencyLimited, now, &tz(), short),
            short
        );
    }

    #[test]
    fn transient_faults_back_off_exponentially_with_jitter_up_to_the_interval() {
        let now = Timestamp::UNIX_EPOCH;
        let interval = Duration::from_secs(320);
        let mut b = Backoff::default();
        let mut ceilings = vec![];
        for _ in 0..8 {
            let w = b.wait(PollResult::ServerError, now, &tz(), interval);
            ceilings.push(w);
        }
        // Ceilings 20, 40, 80, 160, 320, 320...; each wait lies in [ceiling/2, ceiling].
        let expected = [20, 40, 80, 160, 320, 320, 320, 320];
        for (w, c) in ceilings.iter().zip(expected) {
            let c = Duration::from_secs(c);
            assert!(*w >= c / 2 && *w <= c, "{w:?} not in [{:?}, {c:?}]", c / 2);
        }
        // After a timeout the wait is at least the poll timeout, capped at the interval.
        let mut b = Backoff::new(Duration::from_secs(60));
        let w = b.wait(PollResult::Timeout, now, &tz(), interval);
        assert!(w >= Duration::from_secs(60) && w <= interval, "{w:?}");
        let w = b.wait(PollResult::Timeout, now, &tz(), Duration::from_secs(30));
        assert!(w <= Duration::from_secs(30), "{w:?}");
        // A success resets the sequence.
        b.wait(PollResult::Success, now, &tz(), interval);
        let w = b.wait(PollResult::ServerError, now, &tz(), interval);
        assert!(w <= Duration::from_secs(20));
    }
}
