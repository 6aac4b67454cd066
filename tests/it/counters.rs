//! The IVR counters through restarts, local midnight and late rows, over real HTTP against the
//! simulator: what Prometheus' `increase()` makes of the scraped samples (computed by promtool's
//! PromQL engine, and by the counter-reset rule written out here for readable failures) must
//! equal the simulator's exact count for the interval, whatever restarts it contains.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use wolkvox_exporter::demo::simulator::Simulator;
use wolkvox_exporter::sys::clock::ManualClock;

const ZONE: &str = "America/Bogota";

type Key = (String, String);

/// The calls counter of every pair in one scrape.
fn calls(m: &Metrics) -> BTreeMap<Key, f64> {
    m.family("wolkvox_ivr_calls_total")
        .iter()
        .map(|s| {
            let key = (s.labels["rp_id"].clone(), s.labels["cod_opc_menu"].clone());
            (key, s.value)
        })
        .collect()
}

/// What Prometheus' `increase()` adds up between the first and the last of `samples`, without
/// its extrapolation to the range's edges: the growth from each sample to the next, and after
/// a drop (a counter reset) the whole new value. A series counts from its first sample on, and
/// a gap in a series (a restart) is only the time between two of its samples.
fn increase(samples: &[BTreeMap<Key, f64>]) -> BTreeMap<Key, f64> {
    let mut last: BTreeMap<Key, f64> = BTreeMap::new();
    let mut sum: BTreeMap<Key, f64> = BTreeMap::new();
    for sample in samples {
        for (key, &v) in sample {
            let grew = match last.get(key) {
                Some(&prev) if v >= prev => v - prev,
                Some(_) => v,
                None => 0.0,
            };
            *sum.entry(key.clone()).or_default() += grew;
            last.insert(key.clone(), v);
        }
    }
    sum
}

/// The simulator's exact calls per pair for the local windows `spans`, added up.
fn exact(sim: &Simulator, spans: &[(&str, &str)]) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for (ini, end) in spans {
        for (rp, opt, calls, _) in sim.totals(ini.parse().unwrap(), end.parse().unwrap()) {
            *out.entry((rp.to_owned(), opt.to_owned())).or_default() += calls as f64;
        }
    }
    out
}

/// Has Prometheus itself (promtool's PromQL engine) compute `increase()` over `samples`, one
/// minute apart with a gap of `gap` missing scrapes where the process was down, and asserts it
/// equals `want` for every series: the range runs from the first sample to the last, so that
/// Prometheus extrapolates nothing.
fn assert_prometheus_increase(
    before: &[BTreeMap<Key, f64>],
    gap: usize,
    after: &[BTreeMap<Key, f64>],
    want: &BTreeMap<Key, f64>,
    what: &str,
) {
    if !full_tier() {
        return;
    }
    let keys: std::collections::BTreeSet<&Key> =
        before.iter().chain(after).flat_map(|m| m.keys()).collect();
    let steps = before.len() + gap + after.len() - 1;
    let mut input = String::new();
    let mut expected = String::new();
    for key in keys {
        let value = |m: &BTreeMap<Key, f64>| m.get(key).map_or("_".to_owned(), |v| v.to_string());
        let mut values: Vec<String> = before.iter().map(value).collect();
        values.extend(std::iter::repeat_n("_".to_owned(), gap));
        values.extend(after.iter().map(value));
        let labels = format!("rp_id=\"{}\",cod_opc_menu=\"{}\"", key.0, key.1);
        input.push_str(&format!(
            "      - series: 'wolkvox_ivr_calls_total{{{labels}}}'\n        values: '{}'\n",
            values.join(" ")
        ));
        if values.iter().filter(|v| *v != "_").count() >= 2 {
            expected.push_str(&format!(
                "          - labels: '{{{labels}}}'\n            value: {}\n",
                want.get(key).copied().unwrap_or(0.0)
            ));
        }
    }
    let file = format!(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}    promql_expr_test:\n      - expr: increase(wolkvox_ivr_calls_total[{steps}m])\n        eval_time: {steps}m\n        exp_samples:\n{expected}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("increase_test.yml");
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "{what}: Prometheus' increase() differs from the exact counts:\n{}{}\n{file}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_counts(got: &BTreeMap<Key, f64>, want: &BTreeMap<Key, f64>, what: &str) {
    assert!(
        want.values().sum::<f64>() > 20.0,
        "{what}: too little traffic to tell"
    );
    for (key, calls) in want {
        assert_eq!(
            got.get(key).copied().unwrap_or(0.0),
            *calls,
            "{what}: {key:?}"
        );
    }
    for (key, calls) in got {
        assert!(*calls == 0.0 || want.contains_key(key), "{what}: {key:?}");
    }
}

/// An exporter of the test operation in Bogota, its clock stopped at `civil`.
async fn start(url: &reqwest::Url, civil: &str) -> (TestExporter, ManualClock) {
    let mut cfg = config(url);
    cfg.op_mut().timezone = jiff::tz::TimeZone::get(ZONE).unwrap();
    cfg.op_mut().poll_interval = Duration::from_millis(20);
    let (exporter, clock) = spawn_exporter_at(cfg, local(ZONE, civil)).await;
    exporter.wait_for_polls(1).await;
    (exporter, clock)
}

/// Moves the clock to `civil`, waits for a whole poll at that time, and scrapes the counters.
async fn at(exporter: &TestExporter, clock: &ManualClock, civil: &str) -> BTreeMap<Key, f64> {
    clock.set(local(ZONE, civil));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    calls(&exporter.scrape().await)
}

/// Requests for the whole of 2026-11-25.
fn whole_day_calls(sim: &TestSim) -> usize {
    sim.requests()
        .into_iter()
        .filter(|r| {
            r.date_ini.as_deref() == Some("20261125000000")
                && r.date_end.as_deref() == Some("20261125235959")
        })
        .count()
}

#[tokio::test]
async fn a_restart_in_the_middle_of_the_day_loses_nothing_and_counts_nothing_twice() {
    let (sim, url) = spawn_simulator().await;
    let (a, clock) = start(&url, "2026-11-25T10:00:00").await;
    let mut before = vec![calls(&a.scrape().await)];
    before.push(at(&a, &clock, "2026-11-25T11:00:00").await);
    a.stop().await;
    // Down for half an hour; the new process knows nothing of the old one.
    let (b, clock) = start(&url, "2026-11-25T11:30:00").await;
    let mut after = vec![calls(&b.scrape().await)];
    after.push(at(&b, &clock, "2026-11-25T12:00:00").await);
    b.stop().await;
    let want = exact(&sim, &[("2026-11-25T10:00:01", "2026-11-25T12:00:00")]);
    let what = "10:00 to 12:00 with a restart at 11:00";
    assert_counts(&increase(&[&before[..], &after[..]].concat()), &want, what);
    assert_prometheus_increase(&before, 3, &after, &want, what);
}

#[tokio::test]
async fn a_restart_across_local_midnight_loses_nothing_and_counts_nothing_twice() {
    let (sim, url) = spawn_simulator().await;
    let (a, clock) = start(&url, "2026-11-25T21:30:00").await;
    let mut before = vec![calls(&a.scrape().await)];
    before.push(at(&a, &clock, "2026-11-25T23:50:00").await);
    a.stop().await;
    // Back 10 minutes after midnight, within the 15 minute close delay.
    let (b, clock) = start(&url, "2026-11-26T00:10:00").await;
    let mut after = vec![calls(&b.scrape().await)];
    // The close at 00:20, then the final totals stay until a poll interval has passed.
    after.push(at(&b, &clock, "2026-11-26T00:20:00").await);
    after.push(at(&b, &clock, "2026-11-26T00:40:00").await);
    b.stop().await;
    let want = exact(
        &sim,
        &[
            ("2026-11-25T21:30:01", "2026-11-25T23:59:59"),
            ("2026-11-26T00:00:00", "2026-11-26T00:40:00"),
        ],
    );
    let what = "21:30 to 00:40 with a restart from 23:50 to 00:10";
    assert_counts(&increase(&[&before[..], &after[..]].concat()), &want, what);
    assert_prometheus_increase(&before, 4, &after, &want, what);
    // B opened the previous day, then closed it: two whole-day calls, none by A.
    assert_eq!(whole_day_calls(&sim), 2);
}

#[tokio::test]
async fn a_restart_in_the_first_minutes_of_a_day_counts_the_rows_wolkvox_adds_late() {
    let (sim, url) = spawn_simulator().await;
    // The last ten minutes of the day reach the reports only after midnight.
    sim.hold_back(
        "2026-11-25T23:50:00".parse().unwrap(),
        "2026-11-25T23:59:59".parse().unwrap(),
    );
    let (a, clock) = start(&url, "2026-11-25T23:00:00").await;
    let mut before = vec![calls(&a.scrape().await)];
    before.push(at(&a, &clock, "2026-11-26T00:02:00").await);
    a.stop().await;
    let (b, clock) = start(&url, "2026-11-26T00:05:00").await;
    let mut after = vec![calls(&b.scrape().await)];
    sim.release_held_back();
    after.push(at(&b, &clock, "2026-11-26T00:16:00").await);
    let m = b.scrape().await;
    after.push(at(&b, &clock, "2026-11-26T00:30:00").await);
    b.stop().await;
    let want = exact(
        &sim,
        &[
            ("2026-11-25T23:00:01", "2026-11-25T23:59:59"),
            ("2026-11-26T00:00:00", "2026-11-26T00:30:00"),
        ],
    );
    let what = "23:00 to 00:30 with a restart at 00:02 and rows added late";
    assert_counts(&increase(&[&before[..], &after[..]].concat()), &want, what);
    assert_prometheus_increase(&before, 1, &after, &want, what);
    // The close found exactly the rows added late: B opened the day before they came.
    let late: f64 = exact(&sim, &[("2026-11-25T23:50:00", "2026-11-25T23:59:59")])
        .values()
        .sum();
    assert!(late > 0.0);
    assert_eq!(m.value("wolkvox_day_close_late_calls", &[]), late);
}

#[tokio::test]
async fn the_close_delay_counts_late_rows_and_the_metric_shows_them() {
    for delay in [Duration::from_secs(15 * 60), Duration::ZERO] {
        let (sim, url) = spawn_simulator().await;
        sim.hold_back(
            "2026-11-25T23:45:00".parse().unwrap(),
            "2026-11-25T23:59:59".parse().unwrap(),
        );
        let mut cfg = config(&url);
        cfg.op_mut().timezone = jiff::tz::TimeZone::get(ZONE).unwrap();
        cfg.op_mut().poll_interval = Duration::from_millis(20);
        cfg.close_delay = delay;
        let (e, clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T23:00:00")).await;
        e.wait_for_polls(1).await;
        let mut samples = vec![calls(&e.scrape().await)];
        // The last poll of the day sees everything up to 23:44:59.
        samples.push(at(&e, &clock, "2026-11-25T23:59:30").await);
        samples.push(at(&e, &clock, "2026-11-26T00:05:00").await);
        // Wolkvox adds the day's last rows ten minutes after midnight.
        sim.release_held_back();
        samples.push(at(&e, &clock, "2026-11-26T00:20:00").await);
        let m = e.scrape().await;
        samples.push(at(&e, &clock, "2026-11-26T00:30:00").await);
        e.stop().await;
        let late: f64 = exact(&sim, &[("2026-11-25T23:45:00", "2026-11-25T23:59:59")])
            .values()
            .sum();
        let want = exact(
            &sim,
            &[
                ("2026-11-25T23:00:01", "2026-11-25T23:59:59"),
                ("2026-11-26T00:00:00", "2026-11-26T00:30:00"),
            ],
        );
        let got = increase(&samples);
        if delay.is_zero() {
            // Closed at 00:05, before the rows came: they are lost, and nothing was late.
            assert_eq!(
                want.values().sum::<f64>() - got.values().sum::<f64>(),
                late,
                "without a delay"
            );
            assert_eq!(m.value("wolkvox_day_close_late_calls", &[]), 0.0);
        } else {
            assert_counts(&got, &want, "with the 15m delay");
            assert_eq!(m.value("wolkvox_day_close_late_calls", &[]), late);
        }
        assert_eq!(whole_day_calls(&sim), 1, "one close, delay {delay:?}");
    }
}

#[tokio::test]
async fn two_processes_polling_one_operation_publish_the_same_counters() {
    let (_sim, url) = spawn_simulator().await;
    let (a, clock_a) = start(&url, "2026-11-25T08:00:00").await;
    at(&a, &clock_a, "2026-11-25T09:30:00").await;
    let (b, clock_b) = start(&url, "2026-11-25T10:00:00").await;
    let from_a = at(&a, &clock_a, "2026-11-25T10:00:00").await;
    let from_b = at(&b, &clock_b, "2026-11-25T10:00:00").await;
    assert!(from_a.values().sum::<f64>() > 100.0);
    assert_eq!(from_a, from_b);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_late_calls_gauge_is_absent_until_a_day_is_closed() {
    let (_sim, url) = spawn_simulator().await;
    let (e, _clock) = start(&url, "2026-11-25T10:00:00").await;
    let m = e.scrape().await;
    assert!(m.family("wolkvox_day_close_late_calls").is_empty());
    assert!(!m.family("wolkvox_ivr_calls_total").is_empty());
    e.stop().await;
}
