//! Pure: counters that survive local midnight, built from the `today` window's gauges.
//!
//! The gauges of a `today` window fall to zero at local midnight, which makes `rate()` and
//! spike alerts awkward. These counters grow by the difference between consecutive reports of
//! the same day. The first poll after midnight closes the previous day with one call for the
//! whole of it, so that the calls between the last poll of the day and midnight are counted,
//! and the new day's values count from zero. At process start the first report is the
//! baseline: the counters start at 0 and Prometheus sees an ordinary counter reset.

use std::cmp::Ordering;
use std::sync::Arc;

use jiff::civil::Date;

use crate::report::{Report, Series};

/// Calls and seconds of one pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Amounts {
    calls: f64,
    time_seconds: f64,
}

impl Amounts {
    fn of(s: &Series) -> Self {
        Self {
            calls: s.calls,
            time_seconds: s.time_seconds,
        }
    }
}

/// Adds to `total` what `s` holds above `seen`, and raises `seen` to it, each value on its
/// own. Returns the calls seen before when `s` has fewer: a decrease, counted as nothing.
fn count_growth(seen: &mut Amounts, total: &mut Amounts, s: &Series) -> Option<f64> {
    let before = seen.calls;
    if s.calls > seen.calls {
        total.calls += s.calls - seen.calls;
        seen.calls = s.calls;
    }
    if s.time_seconds > seen.time_seconds {
        total.time_seconds += s.time_seconds - seen.time_seconds;
        seen.time_seconds = s.time_seconds;
    }
    (s.calls < before).then_some(before)
}

/// One (rp_id, cod_opc_menu) pair: the highest values seen on the current day, and its
/// counters.
#[derive(Debug, Clone)]
struct Pair {
    rp_id: Arc<str>,
    cod_opc_menu: Arc<str>,
    /// Increments are counted above these only, so a value that dips and recovers is never
    /// counted twice; zero for a pair not seen yet on the day.
    seen: Amounts,
    total: Amounts,
}

impl Pair {
    fn order(&self, s: &Series) -> Ordering {
        (&*self.rp_id, &*self.cod_opc_menu).cmp(&(&*s.rp_id, &*s.cod_opc_menu))
    }
}

/// One counter series for the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSeries {
    /// Routing point (shared with the report it came from).
    pub rp_id: Arc<str>,
    /// Menu option (shared likewise).
    pub cod_opc_menu: Arc<str>,
    /// Calls counted since the process started.
    pub calls: f64,
    /// Seconds counted since the process started.
    pub time_seconds: f64,
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

/// The counters of one operation.
#[derive(Debug, Default, Clone)]
pub struct DayCounters {
    /// The local day that `seen` belongs to; `None` before the first report.
    day: Option<Date>,
    /// Whether that day has been closed with a whole-day report.
    closed: bool,
    /// Every pair ever reported, sorted by (rp_id, cod_opc_menu) like a report's series, so
    /// that a report is matched against them in one merge, with no hashing and no copies of
    /// the labels of known pairs.
    pairs: Vec<Pair>,
}

impl DayCounters {
    /// The day that needs closing before a poll on `today`: the previous day, if the last
    /// report was of it and it has not been closed yet.
    pub fn day_to_close(&self, today: Date) -> Option<Date> {
        let day = self.day?;
        (!self.closed && day < today && day.tomorrow().ok() == Some(today)).then_some(day)
    }

    /// Gives up closing the current day (the closing call kept failing): its last minutes are
    /// not counted, and the next day counts from zero as usual.
    pub fn abandon_close(&mut self) {
        self.closed = true;
    }

    /// Adds the increments of a report of the `today` window of `day`. Returns the pairs whose
    /// values went down.
    pub fn observe(&mut self, day: Date, report: &Report) -> Vec<Decrease> {
        match self.day {
            None => {
                // Process start: the first report is the baseline.
                self.day = Some(day);
                self.closed = false;
                self.each_pair(report, |pair, s| pair.seen = Amounts::of(s));
                Vec::new()
            }
            Some(d) if d == day => self.add(report),
            Some(d) if d < day => {
                // A new day: its report counts from midnight, so from zero.
                self.day = Some(day);
                self.closed = false;
                for pair in &mut self.pairs {
                    pair.seen = Amounts::default();
                }
                self.add(report)
            }
            // A report of an earlier day than the one counted (the clock went back): ignore
            // it rather than count anything twice.
            Some(_) => Vec::new(),
        }
    }

    /// Adds what a whole-day report of `day` holds beyond what was seen of it, and marks the
    /// day closed.
    pub fn close(&mut self, day: Date, whole_day: &Report) -> Vec<Decrease> {
        if self.day != Some(day) || self.closed {
            return Vec::new();
        }
        let decreases = self.add(whole_day);
        self.closed = true;
        decreases
    }

    fn add(&mut self, report: &Report) -> Vec<Decrease> {
        let mut decreases = Vec::new();
        self.each_pair(report, |pair, s| {
            if let Some(before) = count_growth(&mut pair.seen, &mut pair.total, s) {
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
    fn each_pair(&mut self, report: &Report, mut f: impl FnMut(&mut Pair, &Series)) {
        let new = |s: &Series| Pair {
            rp_id: s.rp_id.clone(),
            cod_opc_menu: s.cod_opc_menu.clone(),
            seen: Amounts::default(),
            total: Amounts::default(),
        };
        let series = &report.series;
        let sorted = series
            .windows(2)
            .all(|w| (&*w[0].rp_id, &*w[0].cod_opc_menu) < (&*w[1].rp_id, &*w[1].cod_opc_menu));
        if !sorted {
            // Not a report from Report::build (which sorts and merges): one search per series.
            for s in series {
                let i = match self.pairs.binary_search_by(|p| p.order(s)) {
                    Ok(i) => i,
                    Err(i) => {
                        self.pairs.insert(i, new(s));
                        i
                    }
                };
                f(&mut self.pairs[i], s);
            }
            return;
        }
        // Both sides sorted. While every series is a known pair (between polls of a day, the
        // usual case), the pairs are updated where they are.
        let mut at = 0;
        for (k, s) in series.iter().enumerate() {
            while at < self.pairs.len() && self.pairs[at].order(s) == Ordering::Less {
                at += 1;
            }
            match self.pairs.get_mut(at) {
                Some(pair) if pair.order(s) == Ordering::Equal => {
                    f(pair, s);
                    at += 1;
                }
                _ => return self.merge_from(at, &series[k..], f, new),
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
        mut f: impl FnMut(&mut Pair, &Series),
        new: impl Fn(&Series) -> Pair,
    ) {
        let mut old = std::mem::take(&mut self.pairs);
        let mut merged = Vec::with_capacity(old.len() + series.len());
        merged.extend(old.drain(..at));
        let mut old = old.into_iter().peekable();
        for s in series {
            while let Some(p) = old.next_if(|p| p.order(s) == Ordering::Less) {
                merged.push(p);
            }
            let mut pair = match old.next_if(|p| p.order(s) == Ordering::Equal) {
                Some(p) => p,
                None => new(s),
            };
            f(&mut pair, s);
            merged.push(pair);
        }
        merged.extend(old);
        self.pairs = merged;
    }

    /// The counters, sorted by (rp_id, cod_opc_menu), in the shared slice that snapshots
    /// keep (collected into it directly: no second copy of 60,000 series).
    pub fn series(&self) -> Arc<[CounterSeries]> {
        self.pairs
            .iter()
            .map(|p| CounterSeries {
                rp_id: p.rp_id.clone(),
                cod_opc_menu: p.cod_opc_menu.clone(),
                calls: p.total.calls,
                time_seconds: p.total.time_seconds,
            })
            .collect()
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

    #[test]
    fn the_first_report_is_the_baseline_and_later_ones_add_their_growth() {
        let mut c = DayCounters::default();
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 0.0, 0.0)]);
        c.observe(
            day("2026-11-25"),
            &report(&[("1", 13.0, 130.0), ("PULSE", 2.0, 5.0)]),
        );
        assert_eq!(
            totals(&c),
            vec![("1".into(), 3.0, 30.0), ("PULSE".into(), 2.0, 5.0)]
        );
    }

    #[test]
    fn a_value_that_goes_down_leaves_the_counter_unchanged_and_is_not_recounted() {
        let mut c = DayCounters::default();
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]));
        let dec = c.observe(day("2026-11-25"), &report(&[("1", 8.0, 90.0)]));
        assert_eq!(dec.len(), 1);
        assert_eq!((dec[0].before, dec[0].now), (10.0, 8.0));
        assert_eq!(totals(&c), vec![("1".into(), 0.0, 0.0)]);
        // Back to 11: only the one call above the earlier high counts.
        c.observe(day("2026-11-25"), &report(&[("1", 11.0, 110.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 1.0, 10.0)]);
    }

    #[test]
    fn closing_the_day_counts_its_last_minutes_and_the_new_day_starts_from_zero() {
        let mut c = DayCounters::default();
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]));
        c.observe(day("2026-11-25"), &report(&[("1", 12.0, 120.0)]));
        assert_eq!(c.day_to_close(day("2026-11-25")), None);
        assert_eq!(c.day_to_close(day("2026-11-26")), Some(day("2026-11-25")));
        c.close(day("2026-11-25"), &report(&[("1", 15.0, 150.0)]));
        assert_eq!(c.day_to_close(day("2026-11-26")), None);
        assert_eq!(totals(&c), vec![("1".into(), 5.0, 50.0)]);
        c.observe(day("2026-11-26"), &report(&[("1", 1.0, 10.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 6.0, 60.0)]);
        // A second close of the same day changes nothing.
        c.close(day("2026-11-25"), &report(&[("1", 99.0, 990.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 6.0, 60.0)]);
    }

    #[test]
    fn a_gap_of_more_than_a_day_closes_nothing_and_counts_the_new_day_from_zero() {
        let mut c = DayCounters::default();
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]));
        assert_eq!(c.day_to_close(day("2026-11-27")), None);
        c.observe(day("2026-11-27"), &report(&[("1", 4.0, 40.0)]));
        assert_eq!(totals(&c), vec![("1".into(), 4.0, 40.0)]);
    }

    #[test]
    fn an_abandoned_close_is_not_retried() {
        let mut c = DayCounters::default();
        c.observe(day("2026-11-25"), &report(&[("1", 10.0, 100.0)]));
        c.abandon_close();
        assert_eq!(c.day_to_close(day("2026-11-26")), None);
    }

    /// The counters as first written, with two hash maps: the model the merge must match.
    #[derive(Default)]
    struct Model {
        day: Option<Date>,
        seen: std::collections::HashMap<(String, String), Amounts>,
        totals: std::collections::HashMap<(String, String), Amounts>,
    }

    impl Model {
        fn observe(&mut self, day: Date, report: &Report) -> Vec<(String, String, f64, f64)> {
            match self.day {
                None => {
                    self.day = Some(day);
                    for s in &report.series {
                        let key = (s.rp_id.to_string(), s.cod_opc_menu.to_string());
                        self.seen.insert(key.clone(), Amounts::of(s));
                        self.totals.entry(key).or_default();
                    }
                    return Vec::new();
                }
                Some(d) if d == day => {}
                Some(d) if d < day => {
                    self.day = Some(day);
                    self.seen.clear();
                }
                Some(_) => return Vec::new(),
            }
            let mut decreases = Vec::new();
            for s in &report.series {
                let key = (s.rp_id.to_string(), s.cod_opc_menu.to_string());
                let seen = self.seen.entry(key.clone()).or_default();
                let total = self.totals.entry(key).or_default();
                if let Some(before) = count_growth(seen, total, s) {
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
                .observe(today, &r)
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
