//! Pure: counters that survive local midnight and restarts, built from the `today` window.
//!
//! A counter is the running total of the operation's local day: the highest value of the pair
//! that a report of the day has shown. Two processes polling the same operation therefore
//! publish the same value for the same report, and a restart loses nothing: the first report
//! after it is the day's total again, which Prometheus continues from the value it last saw.
//!
//! At local midnight the totals are not reset at once. They stay on the previous day until
//! `--report.close-delay` after midnight, when one call for the whole previous day closes it
//! (counting the rows Wolkvox added for it late); that final total is published for at least
//! one poll interval, so that Prometheus scrapes it, and only then do the counters switch to
//! the new day's running totals. Prometheus sees the switch as an ordinary counter reset.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::report::{Report, Series};

/// Calls and seconds of one pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Amounts {
    calls: f64,
    time_seconds: f64,
}

/// Raises `total` to what `s` holds, each value on its own, so that a running total never
/// goes down within a day. Returns the calls held before when `s` has fewer: a decrease,
/// counted as nothing.
fn raise(total: &mut Amounts, s: &Series) -> Option<f64> {
    let before = total.calls;
    total.calls = total.calls.max(s.calls);
    total.time_seconds = total.time_seconds.max(s.time_seconds);
    (s.calls < before).then_some(before)
}

/// One counter series: a (rp_id, cod_opc_menu) pair and its running totals on the counted
/// day; zero for a pair not seen on that day (it keeps its series, at zero, once it has been
/// reported). The counters keep these in the list that snapshots share, not in a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSeries {
    /// Routing point (shared with the report it came from).
    pub rp_id: Arc<str>,
    /// Menu option (shared likewise).
    pub cod_opc_menu: Arc<str>,
    /// Calls of the counted local day so far.
    pub calls: f64,
    /// Seconds of the counted local day so far.
    pub time_seconds: f64,
}

impl CounterSeries {
    /// The pair of `s`, with nothing counted.
    fn new(s: &Series) -> CounterSeries {
        CounterSeries {
            rp_id: s.rp_id.clone(),
            cod_opc_menu: s.cod_opc_menu.clone(),
            calls: 0.0,
            time_seconds: 0.0,
        }
    }

    fn order(&self, s: &Series) -> Ordering {
        (&*self.rp_id, &*self.cod_opc_menu).cmp(&(&*s.rp_id, &*s.cod_opc_menu))
    }

    fn total(&self) -> Amounts {
        Amounts {
            calls: self.calls,
            time_seconds: self.time_seconds,
        }
    }

    fn set_total(&mut self, total: Amounts) {
        self.calls = total.calls;
        self.time_seconds = total.time_seconds;
    }

    /// [`raise`] on this pair's totals.
    fn raise(&mut self, s: &Series) -> Option<f64> {
        let mut total = self.total();
        let before = raise(&mut total, s);
        self.set_total(total);
        before
    }
}

/// A value that went down within a day: logged, and the counter left unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Decrease {
    /// Routing point.
    pub rp_id: String,
    /// Menu option.
    pub cod_opc_menu: String,
    /// Highest value seen earlier that day (calls).
    pub before: f64,
    /// The lower value now (calls).
    pub now: f64,
}

/// The whole-day call a poll on a given day needs before its report, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayCall {
    /// The process started within the close delay: take the previous day's totals first, so
    /// that a restart across midnight loses nothing of it.
    Open(Date),
    /// The close delay has passed: close the previous day with its final totals.
    Close(Date),
}

/// Whether the counted day is still open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Open,
    /// Closed at this instant: the final totals stay until a poll interval has passed.
    Closed(Timestamp),
}

/// The counters of one operation.
#[derive(Debug, Clone)]
pub struct DayCounters {
    /// The local day whose running totals are published; `None` before the first.
    day: Option<Date>,
    state: State,
    /// How long a closed day's final totals stay published before the switch.
    hold: Duration,
    /// Every pair ever reported, sorted by (rp_id, cod_opc_menu) like a report's series, so
    /// that a report is matched against them in one merge, with no hashing and no copies of
    /// the labels of known pairs. Shared with the snapshots that publish it: a poll that
    /// changes it while they hold it works on a copy (`Arc::make_mut`), so that between polls
    /// the counters are kept once, not once here and once published.
    pairs: Arc<Vec<CounterSeries>>,
    /// Calls the last closing call found beyond the totals published before it.
    late_calls: Option<f64>,
}

impl Default for DayCounters {
    fn default() -> Self {
        Self::new(Duration::ZERO)
    }
}

impl DayCounters {
    /// Counters whose closed days stay published for `hold` (the poll interval) before the
    /// switch to the new day.
    pub fn new(hold: Duration) -> Self {
        Self {
            day: None,
            state: State::Open,
            hold,
            pairs: Arc::default(),
            late_calls: None,
        }
    }

    /// The whole-day call due before a poll on `today`; `in_delay` says whether the poll falls
    /// within the close delay after local midnight.
    pub fn day_call(&self, today: Date, in_delay: bool) -> Option<DayCall> {
        let yesterday = today.yesterday().ok()?;
        match self.day {
            None if in_delay => Some(DayCall::Open(yesterday)),
            Some(d) if d == yesterday && self.state == State::Open && !in_delay => {
                Some(DayCall::Close(yesterday))
            }
            _ => None,
        }
    }

    /// Gives up closing the counted day (the closing call kept failing): its calls after the
    /// last report are not counted, and the next report switches to the new day.
    pub fn abandon_close(&mut self) {
        self.state = State::Closed(Timestamp::MIN);
    }

    /// Calls found by the last closing call beyond what was published before it.
    pub fn late_calls(&self) -> Option<f64> {
        self.late_calls
    }

    /// Takes a whole-day report of `day` as the starting totals (see [`DayCall::Open`]).
    pub fn open(&mut self, day: Date, whole_day: &Report) {
        if self.day.is_some() {
            return;
        }
        self.day = Some(day);
        self.state = State::Open;
        self.each_pair(whole_day, |pair, s| {
            pair.raise(s);
        });
    }

    /// Takes a report of the `today` window of `day`, polled at `now`. Returns the pairs whose
    /// values went down.
    pub fn observe(
        &mut self,
        day: Date,
        report: &Report,
        now: Timestamp,
        in_delay: bool,
    ) -> Vec<Decrease> {
        match self.day {
            // The first report, unless the previous day is still to be opened.
            None if in_delay => Vec::new(),
            None => self.switch(day, report),
            Some(d) if d == day => self.add(report),
            Some(d) if d < day => {
                let final_published = match self.state {
                    State::Open => false,
                    // A clock that went back since the close has not held the total yet.
                    State::Closed(at) => {
                        Duration::try_from(now.duration_since(at)).is_ok_and(|d| d >= self.hold)
                    }
                };
                let more_than_a_day = d.tomorrow().ok() != Some(day);
                if final_published || more_than_a_day {
                    self.switch(day, report)
                } else {
                    // The previous day is waiting for its close, or its final totals for
                    // their scrape: the new day's report shows in the gauges only.
                    Vec::new()
                }
            }
            // A report of an earlier day than the one counted (the clock went back): ignore
            // it rather than count anything twice.
            Some(_) => Vec::new(),
        }
    }

    /// Raises the counted day's totals to a whole-day report of it, records how many calls
    /// that added, and closes the day at `now`.
    pub fn close(&mut self, day: Date, whole_day: &Report, now: Timestamp) -> Vec<Decrease> {
        if self.day != Some(day) || self.state != State::Open {
            return Vec::new();
        }
        let before: f64 = self.pairs.iter().map(|p| p.calls).sum();
        let decreases = self.add(whole_day);
        let after: f64 = self.pairs.iter().map(|p| p.calls).sum();
        self.late_calls = Some(after - before);
        self.state = State::Closed(now);
        decreases
    }

    /// Starts counting `day` with its first report: every known pair falls to zero first.
    fn switch(&mut self, day: Date, report: &Report) -> Vec<Decrease> {
        self.day = Some(day);
        self.state = State::Open;
        for pair in Arc::make_mut(&mut self.pairs) {
            pair.set_total(Amounts::default());
        }
        self.add(report)
    }

    fn add(&mut self, report: &Report) -> Vec<Decrease> {
        let mut decreases = Vec::new();
        self.each_pair(report, |pair, s| {
            if let Some(before) = pair.raise(s) {
                decreases.push(Decrease {
                    rp_id: s.rp_id.to_string(),
                    cod_opc_menu: s.cod_opc_menu.to_string(),
                    before,
                    now: s.calls,
                });
            }
        });
        decreases
    }

    /// Calls `f` with the pair of each series of `report`, in the report's order, adding the
    /// pairs not known yet (with nothing seen and nothing counted).
    fn each_pair(&mut self, report: &Report, mut f: impl FnMut(&mut CounterSeries, &Series)) {
        let series = &report.series;
        let sorted = series
            .windows(2)
            .all(|w| (&*w[0].rp_id, &*w[0].cod_opc_menu) < (&*w[1].rp_id, &*w[1].cod_opc_menu));
        if !sorted {
            // Not a report from Report::build (which sorts and merges): one search per series.
            let pairs = Arc::make_mut(&mut self.pairs);
            for s in series {
                let i = match pairs.binary_search_by(|p| p.order(s)) {
                    Ok(i) => i,
                    Err(i) => {
                        pairs.insert(i, CounterSeries::new(s));
                        i
                    }
                };
                f(&mut pairs[i], s);
            }
            return;
        }
        // Both sides sorted. While every series is a known pair (between polls of a day, the
        // usual case), the pairs are updated where they are.
        let mut at = 0;
        let pairs = Arc::make_mut(&mut self.pairs);
        for (k, s) in series.iter().enumerate() {
            while at < pairs.len() && pairs[at].order(s) == Ordering::Less {
                at += 1;
            }
            match pairs.get_mut(at) {
                Some(pair) if pair.order(s) == Ordering::Equal => {
                    f(pair, s);
                    at += 1;
                }
                _ => return self.merge_from(at, &series[k..], f),
            }
        }
    }

    /// The rest of [`DayCounters::each_pair`] once a new pair turns up at `at`: one merge of
    /// the pairs from `at` with the remaining series, which moves the known pairs but copies
    /// no label.
    fn merge_from(
        &mut self,
        at: usize,
        series: &[Series],
        mut f: impl FnMut(&mut CounterSeries, &Series),
    ) {
        let mut old = Arc::unwrap_or_clone(std::mem::take(&mut self.pairs));
        let mut merged = Vec::with_capacity(old.len() + series.len());
        merged.extend(old.drain(..at));
        let mut old = old.into_iter().peekable();
        for s in series {
            while let Some(p) = old.next_if(|p| p.order(s) == Ordering::Less) {
                merged.push(p);
            }
            let mut pair = match old.next_if(|p| p.order(s) == Ordering::Equal) {
                Some(p) => p,
                None => CounterSeries::new(s),
            };
            f(&mut pair, s);
            merged.push(pair);
        }
        merged.extend(old);
        // Kept until the next poll: no spare room.
        merged.shrink_to_fit();
        self.pairs = Arc::new(merged);
    }

    /// The counters, sorted by (rp_id, cod_opc_menu): the list itself, shared with the
    /// snapshots that publish it (no copy of 60,000 series).
    pub fn series(&self) -> Arc<Vec<CounterSeries>> {
        self.pairs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Series;

    fn report(rows: &[(&str, f64, f64)]) -> Report {
        Report {
            series: rows
                .iter()
                .map(|(opt, calls, secs)| Series {
                    rp_id: "7".into(),
                    cod_opc_menu: (*opt).into(),
                    calls: *calls,
                    time_seconds: *secs,
                })
                .collect(),
            rows: rows.len(),
            rejected: Default::default(),
            dropped_series: 0,
        }
    }

    fn totals(c: &DayCounters) -> Vec<(String, f64, f64)> {
        c.series()
            .iter()
            .map(|s| (s.cod_opc_menu.to_string(), s.calls, s.time_seconds))
            .collect()
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const HOLD: Duration = Duration::from_secs(300);

    #[test]
    fn the_counters_are_the_running_totals_of_the_day_from_the_first_report() {
        let mut c = DayCounters::new(HOLD);
        let t = at("2026-11-25T15:00:00Z");
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]), t, false);
        assert_eq!(totals(&c), vec![("1".into(), 10.0, 100.0)]);
        c.observe(
            day("2026-11-25"),
            &report(&[("1", 13.0, 130.0), ("PULSE", 2.0, 5.0)]),
            t,
            false,
        );
        assert_eq!(
            totals(&c),
            vec![("1".into(), 13.0, 130.0), ("PULSE".into(), 2.0, 5.0)]
        );
    }

    #[test]
    fn two_processes_publish_the_same_values_for_the_same_report() {
        // One has polled all day, the other has just started (a restart, or a second replica).
        let (mut old, mut new) = (DayCounters::new(HOLD), DayCounters::new(HOLD));
        let t = at("2026-11-25T15:00:00Z");
        for r in [
            report(&[("1", 3.0, 30.0)]),
            report(&[("1", 7.0, 70.0), ("2", 1.0, 4.0)]),
        ] {
            old.observe(day("2026-11-25"), &r, t, false);
        }
        let latest = report(&[("1", 9.0, 95.0), ("2", 1.0, 4.0), ("PULSE", 2.0, 3.0)]);
        old.observe(day("2026-11-25"), &latest, t, false);
        new.observe(day("2026-11-25"), &latest, t, false);
        assert_eq!(totals(&old), totals(&new));
    }

    #[test]
    fn a_value_that_goes_down_leaves_the_counter_unchanged_and_is_not_recounted() {
        let mut c = DayCounters::new(HOLD);
        let t = at("2026-11-25T15:00:00Z");
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]), t, false);
        let dec = c.observe(day("2026-11-25"), &report(&[("1", 8.0, 90.0)]), t, false);
        assert_eq!(dec.len(), 1);
        assert_eq!((dec[0].before, dec[0].now), (10.0, 8.0));
        assert_eq!(totals(&c), vec![("1".into(), 10.0, 100.0)]);
        // Back to 11: only the one call above the earlier high counts.
        c.observe(day("2026-11-25"), &report(&[("1", 11.0, 110.0)]), t, false);
        assert_eq!(totals(&c), vec![("1".into(), 11.0, 110.0)]);
    }

    #[test]
    fn the_day_is_closed_after_the_delay_and_its_final_total_held_for_a_poll_interval() {
        let mut c = DayCounters::new(HOLD);
        let (d25, d26) = (day("2026-11-25"), day("2026-11-26"));
        c.observe(
            d25,
            &report(&[("1", 10.0, 100.0)]),
            at("2026-11-26T04:50:00Z"),
            false,
        );
        assert_eq!(c.day_call(d25, false), None);
        // Within the delay after midnight: no call yet, and the new day's report waits.
        assert_eq!(c.day_call(d26, true), None);
        c.observe(
            d26,
            &report(&[("1", 1.0, 10.0)]),
            at("2026-11-26T05:05:00Z"),
            true,
        );
        assert_eq!(totals(&c), vec![("1".into(), 10.0, 100.0)]);
        // After it: the close, with the rows Wolkvox added late.
        assert_eq!(c.day_call(d26, false), Some(DayCall::Close(d25)));
        c.close(
            d25,
            &report(&[("1", 15.0, 150.0)]),
            at("2026-11-26T05:16:00Z"),
        );
        assert_eq!(c.late_calls(), Some(5.0));
        assert_eq!(c.day_call(d26, false), None);
        assert_eq!(totals(&c), vec![("1".into(), 15.0, 150.0)]);
        // The final total stays until a poll interval has passed, then the new day counts.
        c.observe(
            d26,
            &report(&[("1", 2.0, 20.0)]),
            at("2026-11-26T05:16:00Z"),
            false,
        );
        assert_eq!(totals(&c), vec![("1".into(), 15.0, 150.0)]);
        // A clock that went back since the close has not waited the interval either.
        c.observe(
            d26,
            &report(&[("1", 2.0, 20.0)]),
            at("2026-11-26T05:06:00Z"),
            false,
        );
        assert_eq!(totals(&c), vec![("1".into(), 15.0, 150.0)]);
        c.observe(
            d26,
            &report(&[("1", 3.0, 30.0)]),
            at("2026-11-26T05:21:00Z"),
            false,
        );
        assert_eq!(totals(&c), vec![("1".into(), 3.0, 30.0)]);
        // A second close of the same day changes nothing.
        c.close(
            d25,
            &report(&[("1", 99.0, 990.0)]),
            at("2026-11-26T05:22:00Z"),
        );
        assert_eq!(totals(&c), vec![("1".into(), 3.0, 30.0)]);
    }

    #[test]
    fn a_start_within_the_delay_opens_the_previous_day_first() {
        let mut c = DayCounters::new(HOLD);
        let (d25, d26) = (day("2026-11-25"), day("2026-11-26"));
        assert_eq!(c.day_call(d26, true), Some(DayCall::Open(d25)));
        // Until the previous day is opened, today's report publishes no counter.
        c.observe(
            d26,
            &report(&[("1", 1.0, 10.0)]),
            at("2026-11-26T05:03:00Z"),
            true,
        );
        assert!(totals(&c).is_empty());
        c.open(d25, &report(&[("1", 14.0, 140.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 14.0, 140.0)]);
        assert_eq!(c.day_call(d26, true), None);
        assert_eq!(c.day_call(d26, false), Some(DayCall::Close(d25)));
        c.close(
            d25,
            &report(&[("1", 15.0, 150.0)]),
            at("2026-11-26T05:16:00Z"),
        );
        assert_eq!(c.late_calls(), Some(1.0));
        // A start after the delay counts today from its first report.
        let mut late = DayCounters::new(HOLD);
        assert_eq!(late.day_call(d26, false), None);
        late.observe(
            d26,
            &report(&[("1", 4.0, 40.0)]),
            at("2026-11-26T06:00:00Z"),
            false,
        );
        assert_eq!(totals(&late), vec![("1".into(), 4.0, 40.0)]);
    }

    #[test]
    fn a_gap_of_more_than_a_day_closes_nothing_and_counts_the_new_day_from_zero() {
        let mut c = DayCounters::new(HOLD);
        let t = at("2026-11-27T15:00:00Z");
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]), t, false);
        assert_eq!(c.day_call(day("2026-11-27"), false), None);
        c.observe(day("2026-11-27"), &report(&[("1", 4.0, 40.0)]), t, false);
        assert_eq!(totals(&c), vec![("1".into(), 4.0, 40.0)]);
    }

    #[test]
    fn an_abandoned_close_is_not_retried_and_the_new_day_counts_at_once() {
        let mut c = DayCounters::new(HOLD);
        let t = at("2026-11-26T06:00:00Z");
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]), t, false);
        c.abandon_close();
        assert_eq!(c.day_call(day("2026-11-26"), false), None);
        c.observe(day("2026-11-26"), &report(&[("1", 2.0, 20.0)]), t, false);
        assert_eq!(totals(&c), vec![("1".into(), 2.0, 20.0)]);
        assert_eq!(c.late_calls(), None);
    }

    /// The counters as first written, with a hash map: the model the merge must match.
    #[derive(Default)]
    struct Model {
        day: Option<Date>,
        totals: std::collections::HashMap<(String, String), Amounts>,
    }

    impl Model {
        fn observe(&mut self, day: Date, report: &Report) -> Vec<(String, String, f64, f64)> {
            match self.day {
                Some(d) if d == day => {}
                Some(d) if d > day => return Vec::new(),
                _ => {
                    self.day = Some(day);
                    self.totals
                        .values_mut()
                        .for_each(|t| *t = Amounts::default());
                }
            }
            let mut decreases = Vec::new();
            for s in &report.series {
                let key = (s.rp_id.to_string(), s.cod_opc_menu.to_string());
                let total = self.totals.entry(key).or_default();
                if let Some(before) = raise(total, s) {
                    decreases.push((
                        s.rp_id.to_string(),
                        s.cod_opc_menu.to_string(),
                        before,
                        s.calls,
                    ));
                }
            }
            decreases
        }

        fn series(&self) -> Vec<(String, String, f64, f64)> {
            let mut out: Vec<_> = self
                .totals
                .iter()
                .map(|((rp, opt), t)| (rp.clone(), opt.clone(), t.calls, t.time_seconds))
                .collect();
            out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            out
        }
    }

    #[test]
    fn the_merge_counts_what_the_hash_maps_counted_for_any_sequence_of_reports() {
        // A fixed pseudo-random walk: pairs come and go, values rise and dip, days change,
        // reports arrive sorted (as Report::build makes them) or in any order, with duplicates.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut c, mut model) = (DayCounters::default(), Model::default());
        let mut today = day("2026-11-25");
        for poll in 0..300 {
            if next(20) == 0 {
                today = today.tomorrow().unwrap();
                // The switch to a new day, once the previous one is closed, as the model has it.
                c.abandon_close();
            }
            let mut series: Vec<Series> = (0..next(12))
                .map(|_| Series {
                    rp_id: format!("{}", next(4)).into(),
                    cod_opc_menu: ["1", "2", "AGENTE", "PULSE", ""][next(5) as usize].into(),
                    calls: next(50) as f64,
                    time_seconds: next(500) as f64 / 4.0,
                })
                .collect();
            if poll % 3 != 0 {
                series
                    .sort_by(|a, b| (&a.rp_id, &a.cod_opc_menu).cmp(&(&b.rp_id, &b.cod_opc_menu)));
                series.dedup_by(|a, b| (&a.rp_id, &a.cod_opc_menu) == (&b.rp_id, &b.cod_opc_menu));
            }
            let r = Report {
                rows: series.len(),
                series,
                ..Report::default()
            };
            let got: Vec<_> = c
                .observe(today, &r, at("2026-11-25T12:00:00Z"), false)
                .into_iter()
                .map(|d| (d.rp_id, d.cod_opc_menu, d.before, d.now))
                .collect();
            assert_eq!(got, model.observe(today, &r), "decreases at poll {poll}");
            let got: Vec<_> = c
                .series()
                .iter()
                .map(|s| {
                    (
                        s.rp_id.to_string(),
                        s.cod_opc_menu.to_string(),
                        s.calls,
                        s.time_seconds,
                    )
                })
                .collect();
            assert_eq!(got, model.series(), "counters at poll {poll}");
        }
    }
}
