//! The counters that `scripts/alert-quality` evaluates, pinned to the exporter's: the tool's own
//! traffic (its generator, through `alert_quality_model.py`) is served as Wolkvox's diagram_1_3
//! over loopback to the real exporter, whose clock steps through the tool's polls across local
//! midnight, and every sample the tool would backfill must equal what `/metrics` shows then.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use common::*;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::sync::watch;
use wolkvox_exporter::config::window::parse_wolkvox;
use wolkvox_exporter::sys::clock::Clock;

/// The tool's default seed.
const SEED: u64 = 15;
/// Incidents of the drawn traffic, as the model's helper takes them: an outage and a PULSE
/// spike across midnight (minute 1440 is the first of the second day).
const INCIDENTS: [&str; 2] = ["1001:outage:1420", "1101:pulse x5:1425"];
/// The tool's polls before 00:20:10 of its first day, which the exporter does not make: the
/// tool's first day has no day before it, and an exporter started within the close delay
/// would first fetch one.
const FIRST_POLL: usize = 4;
/// 26 hours of 5-minute polls, local midnight after the first 24.
const POLLS: usize = 26 * 12 + 1;

type Pair = (String, String);

/// The tool's world: the drawn minutes and the samples it would backfill.
struct Model {
    start: i64,
    poll_phase: i64,
    poll_interval: i64,
    scrape_phase: i64,
    scrape_interval: i64,
    calls: BTreeMap<Pair, Vec<u64>>,
    /// What the rules read of each scrape, by scrape time (see [`read`]).
    samples: BTreeMap<i64, BTreeMap<String, f64>>,
}

/// Runs the tool's generator and sample writer (tests/it/alert_quality_model.py).
fn model() -> Model {
    let out = std::process::Command::new("python3")
        .arg(repo_path("tests/it/alert_quality_model.py"))
        .arg(SEED.to_string())
        .args(INCIDENTS)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        out.status.success(),
        "the model failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let int = |k: &str| v[k].as_i64().unwrap();
    let calls = v["calls"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, counts)| {
            let (rp, opt) = k.split_once(' ').unwrap();
            let counts = serde_json::from_value(counts.clone()).unwrap();
            ((rp.to_owned(), opt.to_owned()), counts)
        })
        .collect();
    let mut samples: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
    for (series, values) in v["samples"].as_object().unwrap() {
        let sample = Metrics::parse(&format!("{series} 0\n")).samples.remove(0);
        let values: Vec<(i64, f64)> = serde_json::from_value(values.clone()).unwrap();
        for (t, value) in values {
            samples.entry(t).or_default().insert(key(&sample), value);
        }
    }
    Model {
        start: int("start"),
        poll_phase: int("poll_phase"),
        poll_interval: int("poll_interval"),
        scrape_phase: int("scrape_phase"),
        scrape_interval: int("scrape_interval"),
        calls,
        samples,
    }
}

/// A sample's name and the labels that tell its series apart within one operation: the ones
/// the model and the exporter share (job, instance and operation are Prometheus' and the
/// configuration's).
fn key(s: &Sample) -> String {
    let labels: Vec<String> = ["rp_id", "cod_opc_menu", "result"]
        .iter()
        .filter_map(|k| Some(format!("{k}={:?}", s.labels.get(*k)?)))
        .collect();
    format!("{}{{{}}}", s.name, labels.join(","))
}

/// A clock at the time of the poll in progress: poll k of the exporter (from 0) runs at
/// `times[k]`. It moves when the store publishes a poll, so every reading within a poll, and
/// the window of the next one, see that poll's time without any wait on the wall clock.
#[derive(Debug, Clone)]
struct PollClock {
    times: Arc<Vec<Timestamp>>,
    polls: Arc<OnceLock<watch::Receiver<u64>>>,
}

impl PollClock {
    /// The poll in progress (or the last one, once all have run).
    fn poll(&self) -> usize {
        let k = self.polls.get().map_or(0, |rx| *rx.borrow()) as usize;
        k.min(self.times.len() - 1)
    }
}

impl Clock for PollClock {
    fn now(&self) -> Timestamp {
        self.times[self.poll()]
    }
}

/// Wolkvox serving the drawn minutes: each call waits until the test allows its poll, so that
/// the test scrapes every poll before the next one changes anything, and the first poll runs
/// only once the clock follows the store.
#[derive(Clone)]
struct Wolkvox {
    /// Civil seconds (the zone is UTC) of the first drawn minute.
    start: i64,
    calls: Arc<BTreeMap<Pair, Vec<u64>>>,
    clock: PollClock,
    /// How many polls may run.
    allowed: watch::Receiver<usize>,
}

/// A minute's calls are booked at its last second, as the model has them: a call is counted
/// when its IVR leg ends, and the tool counts a minute once it is over. A window covers the
/// seconds from date_ini to date_end inclusive.
async fn report(
    State(w): State<Wolkvox>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let poll = w.clock.poll();
    let mut allowed = w.allowed.clone();
    let _ = allowed.wait_for(|&a| a > poll).await;
    assert_eq!(q.get("api").map(String::as_str), Some("diagram_1_3"));
    let second = |k: &str| {
        let dt = parse_wolkvox(&q[k]).unwrap();
        dt.to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
            - w.start
    };
    let (ini, end) = (second("date_ini"), second("date_end"));
    let first = (ini - 59).div_euclid(60) + i64::from((ini - 59).rem_euclid(60) != 0);
    let last = (end - 59).div_euclid(60);
    let totals: Vec<(String, String, String)> = w
        .calls
        .iter()
        .filter_map(|((rp, opt), minutes)| {
            let n: u64 = (first..=last)
                .filter_map(|m| minutes.get(usize::try_from(m).ok()?))
                .sum();
            (n > 0).then(|| (rp.clone(), opt.clone(), n.to_string()))
        })
        .collect();
    if totals.is_empty() {
        let msg = "Validate dates entered";
        let body = serde_json::json!({"code": 404, "error": msg, "msg": msg, "data": null});
        return (StatusCode::NOT_FOUND, body.to_string());
    }
    let rows: Vec<(&str, &str, &str, &str)> = totals
        .iter()
        .map(|(rp, opt, n)| (rp.as_str(), opt.as_str(), n.as_str(), "0"))
        .collect();
    (StatusCode::OK, report_body(&rows))
}

/// What the tool's rules read of one scrape: the calls counters, `wolkvox_up`, the window
/// start, and `wolkvox_polls_total` as the outage rule sums it (`result=~"success|no_data"`),
/// which the model writes as `result="success"`.
fn read(m: &Metrics) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = m
        .samples
        .iter()
        .filter(|s| {
            [
                "wolkvox_ivr_calls_total",
                "wolkvox_up",
                "wolkvox_report_window_start_timestamp_seconds",
            ]
            .contains(&s.name.as_str())
        })
        .map(|s| (key(s), s.value))
        .collect();
    let polls = m
        .family("wolkvox_polls_total")
        .iter()
        .filter(|s| ["success", "no_data"].contains(&s.labels["result"].as_str()))
        .map(|s| s.value)
        .sum();
    out.insert(POLLS_KEY.to_owned(), polls);
    out
}

const POLLS_KEY: &str = "wolkvox_polls_total{result=\"success\"}";

#[tokio::test]
#[ignore = "needs python3"]
async fn the_quality_tools_samples_equal_the_exporters_at_every_minute_across_midnight() {
    let model = model();
    let poll_time = |i: usize| model.start + model.poll_phase + model.poll_interval * i as i64;
    let times: Vec<Timestamp> = (FIRST_POLL..FIRST_POLL + POLLS)
        .map(|i| Timestamp::from_second(poll_time(i)).unwrap())
        .collect();
    let clock = PollClock {
        times: Arc::new(times),
        polls: Arc::default(),
    };
    let (allow, allowed) = watch::channel(0usize);
    let wolkvox = Wolkvox {
        start: model.start,
        calls: Arc::new(model.calls.clone()),
        clock: clock.clone(),
        allowed,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = reqwest::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let router = axum::Router::new()
        .route("/api/v2/reports_manager.php", axum::routing::get(report))
        .with_state(wolkvox);
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The tool's settings: 5-minute polls (on the clock), the default close delay of 15
    // minutes, the today window, its zone. The real interval only paces the loop; the closed
    // day's totals stay one interval, which ends at the next poll either way.
    let mut cfg = config(&url);
    cfg.op_mut().timezone = TimeZone::UTC;
    cfg.op_mut().poll_interval = Duration::from_millis(1);
    assert_eq!(cfg.close_delay, Duration::from_secs(15 * 60));
    let exporter = spawn_exporter_with_clock(cfg, Arc::new(clock.clone())).await;
    clock.polls.set(exporter.store.subscribe()).unwrap();

    let mut scraped = Vec::with_capacity(POLLS);
    for k in 0..POLLS {
        allow.send_replace(k + 1);
        exporter.wait_for_polls(k as u64 + 1).await;
        scraped.push(read(&exporter.scrape().await));
    }
    exporter.stop().await;

    // Every scrape of the tool from the exporter's first poll on: a scrape at s shows the last
    // poll before it, whose snapshot /metrics serves unchanged until the next poll.
    let first = poll_time(FIRST_POLL) - model.poll_phase + model.scrape_phase;
    let last = poll_time(FIRST_POLL + POLLS) - model.poll_phase - model.scrape_interval
        + model.scrape_phase;
    let mut differences = Vec::new();
    let mut compared = 0;
    for s in (first..=last).step_by(model.scrape_interval as usize) {
        let i = ((s - model.start - model.poll_phase) / model.poll_interval) as usize;
        let k = i - FIRST_POLL;
        let want = &model.samples[&s];
        let got = &scraped[k];
        compared += 1;
        let at = Timestamp::from_second(s).unwrap();
        for name in want
            .keys()
            .chain(got.keys().filter(|n| !want.contains_key(*n)))
        {
            let (mut w, mut g) = (want.get(name).copied(), got.get(name).copied());
            if name == POLLS_KEY {
                // A counter of the calls since the process started: its increase counts.
                w = w.map(|v| v - model.samples[&first][POLLS_KEY]);
                g = g.map(|v| v - scraped[0][POLLS_KEY]);
            }
            if w != g {
                differences.push(format!("{at} {name}: the tool {w:?}, the exporter {g:?}"));
            }
        }
    }
    // By the end every drawn pair has had calls, so the comparison covers each of them.
    let pairs = model.samples[&last]
        .keys()
        .filter(|k| k.starts_with("wolkvox_ivr_calls_total"));
    assert_eq!(pairs.count(), model.calls.len());
    let per_poll = (model.poll_interval / model.scrape_interval) as usize;
    assert_eq!(compared, POLLS * per_poll, "scrapes compared");
    assert!(
        differences.is_empty(),
        "{} samples differ; the first:\n{}",
        differences.len(),
        differences[..differences.len().min(30)].join("\n")
    );
}
