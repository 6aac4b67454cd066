//! Pure: counters that survive local midnight, built from the `today` window's gauges.
//!
//! The gauges of a `today` window fall to zero at local midnight, which makes `rate()` and
//! spike alerts awkward. These counters grow by the difference between consecutive reports of
//! the same day. The first poll after midnight closes the previous day with one call for the
//! whole of it, so that the calls between the last poll of the day and midnight are counted,
//! and the new day's values count from zero. At process start the first report is the
//! baseline: the counters start at 0 and Prometheus sees an ordinary counter reset.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::report::Report;

/// Calls and seconds of one (rp_id, cod_opc_menu) pair.
type Pair = (String, String);

/// One counter series for the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSeries {
    /// Routing point.
    pub rp_id: String,
    /// Menu option.
    pub cod_opc_menu: String,
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
    /// The highest values seen on `day`, per pair: increments are counted above them only,
    /// so a value that dips and recovers is never counted twice.
    seen: HashMap<Pair, (f64, f64)>,
    /// The counters.
    totals: HashMap<Pair, (f64, f64)>,
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
                for s in &report.series {
                    let key = (s.rp_id.clone(), s.cod_opc_menu.clone());
                    self.seen.insert(key.clone(), (s.calls, s.time_seconds));
                    self.totals.entry(key).or_insert((0.0, 0.0));
                }
                Vec::new()
            }
            Some(d) if d == day => self.add(report),
            Some(d) if d < day => {
                // A new day: its report counts from midnight, so from zero.
                self.day = Some(day);
                self.closed = false;
                self.seen.clear();
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
        for s in &report.series {
            let key = (s.rp_id.clone(), s.cod_opc_menu.clone());
            let seen = self.seen.entry(key.clone()).or_insert((0.0, 0.0));
            let total = self.totals.entry(key).or_insert((0.0, 0.0));
            if s.calls < seen.0 {
                decreases.push(Decrease {
                    rp_id: s.rp_id.clone(),
                    cod_opc_menu: s.cod_opc_menu.clone(),
                    before: seen.0,
                    now: s.calls,
                });
            }
            if s.calls > seen.0 {
                total.0 += s.calls - seen.0;
                seen.0 = s.calls;
            }
            if s.time_seconds > seen.1 {
                total.1 += s.time_seconds - seen.1;
                seen.1 = s.time_seconds;
            }
        }
        decreases
    }

    /// The counters, sorted by (rp_id, cod_opc_menu).
    pub fn series(&self) -> Vec<CounterSeries> {
        let mut out: Vec<CounterSeries> = self
            .totals
            .iter()
            .map(|((rp, opt), (calls, time))| CounterSeries {
                rp_id: rp.clone(),
                cod_opc_menu: opt.clone(),
                calls: *calls,
                time_seconds: *time,
            })
            .collect();
        out.sort_unstable_by(|a, b| {
            (a.rp_id.as_str(), a.cod_opc_menu.as_str())
                .cmp(&(b.rp_id.as_str(), b.cod_opc_menu.as_str()))
        });
        out
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
            rejected: [0; 3],
            dropped_series: 0,
        }
    }

    fn totals(c: &DayCounters) -> Vec<(String, f64, f64)> {
        c.series()
            .into_iter()
            .map(|s| (s.cod_opc_menu, s.calls, s.time_seconds))
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
}
