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
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::report::{Report, Series};

/// Raises `total` to what `s` holds, each value on its own, so that a running total never
/// goes down within a day. Returns the calls held before when `s` has fewer: a decrease,
/// counted as nothing.
fn raise(total: &mut Pair, s: &Series) -> Option<f64> {
    let before = total.calls;
    total.calls = total.calls.max(s.calls);
    total.time_seconds = total.time_seconds.max(s.time_seconds);
    (s.calls < before).then_some(before)
}

/// One counter series: a (rp_id, cod_opc_menu) pair and its running totals on the counted
/// day, in a report's series type; zero for a pair not seen on that day (it keeps its series,
/// at zero, once it has been reported). What a [`Counters`] list is built from.
pub type CounterSeries = Series;

/// A pair of a [`Counters`] list: its labels by their place in the list's table of label
/// values, so that a series takes 24 bytes and not 48 (two `Arc<str>` are 32 bytes): with many
/// operations the counters are a large part of the resident set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Pair {
    rp_id: u32,
    cod_opc_menu: u32,
    calls: f64,
    time_seconds: f64,
}

/// The counter series of an operation, sorted by (rp_id, cod_opc_menu) like a report's
/// series; shared with the snapshots that publish them.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Every label value of the pairs, once (rp_id and cod_opc_menu values alike). Shared
    /// between the copies that a poll makes while a snapshot holds the list: it changes only
    /// when a new value turns up.
    labels: Arc<Vec<Arc<str>>>,
    pairs: Vec<Pair>,
}

impl Counters {
    /// Every series, in (rp_id, cod_opc_menu) order: labels borrowed from the list.
    pub fn iter(&self) -> impl Iterator<Item = CounterRef<'_>> {
        self.pairs.iter().map(|p| CounterRef {
            rp_id: &self.labels[p.rp_id as usize],
            cod_opc_menu: &self.labels[p.cod_opc_menu as usize],
            calls: p.calls,
            time_seconds: p.time_seconds,
        })
    }

    fn order(&self, p: &Pair, s: &Series) -> Ordering {
        let label = |i: u32| &*self.labels[i as usize];
        (label(p.rp_id), label(p.cod_opc_menu)).cmp(&(&*s.rp_id, &*s.cod_opc_menu))
    }

    /// Where `s`'s pair is among the first `end`: at `hint` first, where a report in the list's
    /// order (the exporter's are) has it, saving a search per series; else by binary search.
    fn find(&self, end: usize, hint: usize, s: &Series) -> Result<usize, usize> {
        match self.pairs[..end].get(hint) {
            Some(p) if self.order(p, s).is_eq() => Ok(hint),
            _ => self.pairs[..end].binary_search_by(|p| self.order(p, s)),
        }
    }
}

/// One series of a [`Counters`] list, its labels borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterRef<'a> {
    pub rp_id: &'a Arc<str>,
    pub cod_opc_menu: &'a Arc<str>,
    /// Calls of the counted local day so far.
    pub calls: f64,
    /// Seconds of the counted local day so far.
    pub time_seconds: f64,
}

impl CounterSeries {
    /// This series as a list gives it out.
    pub fn as_ref(&self) -> CounterRef<'_> {
        CounterRef {
            rp_id: &self.rp_id,
            cod_opc_menu: &self.cod_opc_menu,
            calls: self.calls,
            time_seconds: self.time_seconds,
        }
    }
}

/// The place of `value` in `list`'s table of label values, added when new. `index` says where
/// each value is: kept beside the list, not in it, so that the copy a poll makes of a
/// published list does not copy the index.
fn place(index: &mut HashMap<Arc<str>, u32>, list: &mut Counters, value: &Arc<str>) -> u32 {
    if let Some(&i) = index.get(value) {
        return i;
    }
    let labels = Arc::make_mut(&mut list.labels);
    // A table of more than 4 billion values would not fit in memory first.
    let i = u32::try_from(labels.len()).unwrap_or(u32::MAX);
    labels.push(value.clone());
    index.insert(value.clone(), i);
    i
}

/// A value that went down within a day: logged, and the counter left unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Decrease {
    pub rp_id: String,
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

/// The counters of one operation.
#[derive(Debug, Clone)]
pub struct DayCounters {
    /// The local day whose running totals are published; `None` before the first.
    day: Option<Date>,
    /// When the counted day was closed (`None` while it is open): the final totals stay until
    /// a poll interval has passed.
    closed_at: Option<Timestamp>,
    /// How long a closed day's final totals stay published before the switch.
    hold: Duration,
    /// Every pair ever reported, sorted by (rp_id, cod_opc_menu) like a report's series, so
    /// that a report is matched against them in one merge, with no hashing and no copies of
    /// the labels of known pairs. Shared with the snapshots that publish it: a poll that
    /// changes it while they hold it works on a copy (`Arc::make_mut`), so that between polls
    /// the counters are kept once, not once here and once published.
    pairs: Arc<Counters>,
    /// Where each label value of `pairs` is in its table.
    labels: HashMap<Arc<str>, u32>,
    /// Calls the last closing call found beyond the totals published before it.
    pub late_calls: Option<f64>,
}

impl DayCounters {
    /// Counters whose closed days stay published for `hold` (the poll interval) before the
    /// switch to the new day.
    pub fn new(hold: Duration) -> Self {
        Self {
            day: None,
            closed_at: None,
            hold,
            pairs: Arc::default(),
            labels: HashMap::new(),
            late_calls: None,
        }
    }

    /// The whole-day call due before a poll on `today`; `in_delay` says whether the poll falls
    /// within the close delay after local midnight.
    pub fn day_call(&self, today: Date, in_delay: bool) -> Option<DayCall> {
        let yesterday = today.yesterday().ok()?;
        match self.day {
            None if in_delay => Some(DayCall::Open(yesterday)),
            Some(d) if d == yesterday && self.closed_at.is_none() && !in_delay => {
                Some(DayCall::Close(yesterday))
            }
            _ => None,
        }
    }

    /// Gives up closing the counted day (the closing call kept failing): its calls after the
    /// last report are not counted, and the next report switches to the new day.
    pub fn abandon_close(&mut self) {
        self.closed_at = Some(Timestamp::MIN);
    }

    /// Takes a whole-day report of `day` as the starting totals (see [`DayCall::Open`]).
    pub fn open(&mut self, day: Date, whole_day: &Report) {
        // Nothing is counted yet, so nothing can go down.
        if self.day.is_none() {
            self.switch(day, whole_day);
        }
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
                // A clock that went back since the close has not held the total yet.
                let final_published = self.closed_at.is_some_and(|at| {
                    Duration::try_from(now.duration_since(at)).is_ok_and(|d| d >= self.hold)
                });
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
        if self.day != Some(day) || self.closed_at.is_some() {
            return Vec::new();
        }
        let before: f64 = self.pairs.iter().map(|p| p.calls).sum();
        let decreases = self.add(whole_day);
        let after: f64 = self.pairs.iter().map(|p| p.calls).sum();
        self.late_calls = Some(after - before);
        self.closed_at = Some(now);
        decreases
    }

    /// Starts counting `day` with its first report: every known pair falls to zero first.
    fn switch(&mut self, day: Date, report: &Report) -> Vec<Decrease> {
        self.day = Some(day);
        self.closed_at = None;
        for pair in &mut Arc::make_mut(&mut self.pairs).pairs {
            (pair.calls, pair.time_seconds) = (0.0, 0.0);
        }
        self.add(report)
    }

    fn add(&mut self, report: &Report) -> Vec<Decrease> {
        let mut decreases = Vec::new();
        self.each_pair(report, |total, s| {
            if let Some(before) = raise(total, s) {
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

    /// Calls `f` with the totals of the pair of each series of `report`, in the report's
    /// order, adding the pairs not known yet (with nothing seen and nothing counted). No label
    /// of a known pair is hashed or copied: between polls of a day every pair is known.
    fn each_pair(&mut self, report: &Report, mut f: impl FnMut(&mut Pair, &Series)) {
        let list = Arc::make_mut(&mut self.pairs);
        let (known, mut hint) = (list.pairs.len(), 0);
        for s in &report.series {
            match list.find(known, hint, s) {
                Ok(i) => hint = i + 1,
                Err(_) => {
                    let pair = Pair {
                        rp_id: place(&mut self.labels, list, &s.rp_id),
                        cod_opc_menu: place(&mut self.labels, list, &s.cod_opc_menu),
                        ..Pair::default()
                    };
                    list.pairs.push(pair);
                }
            }
        }
        if list.pairs.len() > known {
            // The new pairs take their places; a pair that the report lists twice stays once.
            let labels = &list.labels;
            let key = |p: &Pair| (&labels[p.rp_id as usize], &labels[p.cod_opc_menu as usize]);
            list.pairs.sort_by(|a, b| key(a).cmp(&key(b)));
            list.pairs.dedup_by(|a, b| key(a) == key(b));
            // Kept until the next poll: no spare room.
            list.pairs.shrink_to_fit();
        }
        let mut hint = 0;
        for s in &report.series {
            if let Ok(i) = list.find(list.pairs.len(), hint, s) {
                hint = i + 1;
                f(&mut list.pairs[i], s);
            }
        }
    }

    /// The counters, sorted by (rp_id, cod_opc_menu): the list itself, shared with the
    /// snapshots that publish it (no copy of 60,000 series).
    pub fn series(&self) -> Arc<Counters> {
        self.pairs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Series;
    use std::collections::BTreeMap;

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

    /// Every series of `list`: rp_id, cod_opc_menu, calls, seconds.
    fn listed(list: &Counters) -> Vec<(String, String, f64, f64)> {
        list.iter()
            .map(|s| {
                let (rp, opt) = (s.rp_id.to_string(), s.cod_opc_menu.to_string());
                (rp, opt, s.calls, s.time_seconds)
            })
            .collect()
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

    /// A list of `series` in any order; a pair twice keeps the later values (for the tests
    /// of the exposition too).
    impl FromIterator<CounterSeries> for Counters {
        fn from_iter<I: IntoIterator<Item = CounterSeries>>(series: I) -> Self {
            // In (rp_id, cod_opc_menu) order, the later values of a pair given twice.
            let latest: BTreeMap<(Arc<str>, Arc<str>), (f64, f64)> = series
                .into_iter()
                .map(|c| ((c.rp_id, c.cod_opc_menu), (c.calls, c.time_seconds)))
                .collect();
            let (mut index, mut list) = (HashMap::new(), Counters::default());
            for ((rp_id, cod_opc_menu), (calls, time_seconds)) in latest {
                let pair = Pair {
                    rp_id: place(&mut index, &mut list, &rp_id),
                    cod_opc_menu: place(&mut index, &mut list, &cod_opc_menu),
                    calls,
                    time_seconds,
                };
                list.pairs.push(pair);
            }
            list
        }
    }

    #[test]
    fn a_list_is_sorted_keeps_the_later_of_a_pair_given_twice_and_takes_24_bytes_a_series() {
        let c = |rp: &str, opt: &str, calls: f64| CounterSeries {
            rp_id: rp.into(),
            cod_opc_menu: opt.into(),
            calls,
            time_seconds: calls * 2.0,
        };
        let list: Counters = [
            c("9", "1", 1.0),
            c("10", "2", 2.0),
            c("9", "1", 3.0),
            c("10", "1", 4.0),
        ]
        .into_iter()
        .collect();
        let got = listed(&list);
        let want = [("10", "1", 4.0), ("10", "2", 2.0), ("9", "1", 3.0)]
            .map(|(rp, opt, n)| (rp.to_owned(), opt.to_owned(), n, n * 2.0));
        assert_eq!(got, want);
        // Equal lists whatever the order their labels were met in.
        let again: Counters = [c("10", "1", 4.0), c("9", "1", 3.0), c("10", "2", 2.0)]
            .into_iter()
            .collect();
        assert_eq!(listed(&list), listed(&again));
        assert_ne!(
            listed(&list),
            listed(&[c("10", "1", 4.0)].into_iter().collect())
        );
        assert_eq!(std::mem::size_of::<Pair>(), 24);
    }

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
        assert_eq!(c.late_calls, Some(5.0));
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
        assert_eq!(c.late_calls, Some(1.0));
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
        assert_eq!(c.late_calls, None);
    }

    /// The counters as first written, with a hash map: the model the merge must match.
    #[derive(Default)]
    struct Model {
        day: Option<Date>,
        totals: std::collections::HashMap<(String, String), Pair>,
    }

    impl Model {
        fn observe(&mut self, day: Date, report: &Report) -> Vec<(String, String, f64, f64)> {
            match self.day {
                Some(d) if d == day => {}
                Some(d) if d > day => return Vec::new(),
                _ => {
                    self.day = Some(day);
                    self.totals.values_mut().for_each(|t| *t = Pair::default());
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
        // reports arrive sorted (as a report has them) or in any order, with duplicates.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut c, mut model) = (DayCounters::new(Duration::ZERO), Model::default());
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
            assert_eq!(
                listed(&c.series()),
                model.series(),
                "counters at poll {poll}"
            );
        }
    }
}
