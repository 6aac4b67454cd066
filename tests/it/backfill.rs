//! `wolkvox-exporter backfill` with the real binary against the simulator: the file it writes
//! becomes blocks through the real promtool, a real Prometheus serves them with the project's
//! rules, and `increase()` per hour and per day equals the simulator's exact counts; the PULSE
//! baseline has data at Prometheus' first evaluation; the live exporter continues every
//! backfilled series; a run stopped by the quota continues to the same file. Over a backfilled
//! week, WolkvoxIvrRoutingPointOutage fires for a routing point that stops getting calls in the
//! live exporter, and for nothing else.
//!
//! The backfill ends at the real now, so that Prometheus' rules (evaluated at the real now) see
//! it; every expectation is computed from the simulator for the same windows, so no assertion
//! depends on the date or the hour the test runs at. The outage test picks the operations' zone
//! instead, so that the real now is the simulator's busiest hour.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use reqwest::Url;
use serde_json::Value;
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");
const ZONE: &str = "America/Bogota";
const DAYS: i64 = 3;

type Pair = (String, String);

/// Runs `backfill` against `url` with the test token; returns the exit code and stderr.
async fn backfill(url: &Url, output: &Path, end: &str, extra: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("WOLKVOX_TOKEN", TOKEN)
        .args(["backfill", "--wolkvox.server", SERVER, "--wolkvox.url"])
        .arg(url.as_str())
        .args(["--days", &DAYS.to_string(), "--step", "1h", "--end", end])
        .args(["--instance", "exporter:9862", "--output"])
        .arg(output)
        .args(extra)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
    (out.status.code().unwrap(), stderr)
}

fn tz() -> TimeZone {
    TimeZone::get(ZONE).unwrap()
}

fn civil(t: Timestamp) -> DateTime {
    t.to_zoned_datetime(tz()).datetime()
}

/// The simulator's exact calls and seconds per pair for the local times `ini` to `end`.
fn exact(
    sim: &wolkvox_exporter::demo::simulator::Simulator,
    ini: Timestamp,
    end: Timestamp,
) -> BTreeMap<Pair, (f64, f64)> {
    sim.totals(civil(ini), civil(end))
        .into_iter()
        .map(|(rp, opt, calls, secs)| {
            ((rp.to_owned(), opt.to_owned()), (calls as f64, secs as f64))
        })
        .collect()
}

/// The last value of each series of `name` in an OpenMetrics file, by pair.
fn last_values(file: &str, name: &str) -> BTreeMap<Pair, f64> {
    samples(file, name)
        .into_iter()
        .map(|(pair, v)| (pair, v.last().unwrap().1))
        .collect()
}

/// The first timestamp of each series of `name` in an OpenMetrics file, by pair: a pair first
/// reported in the middle of the range has no increase() before it.
fn first_seen(file: &str, name: &str) -> BTreeMap<Pair, i64> {
    samples(file, name)
        .into_iter()
        .map(|(pair, v)| (pair, v[0].0))
        .collect()
}

/// The samples (timestamp, value) of each series of `name` in an OpenMetrics file, by pair.
fn samples(file: &str, name: &str) -> BTreeMap<Pair, Vec<(i64, f64)>> {
    let mut out: BTreeMap<Pair, Vec<(i64, f64)>> = BTreeMap::new();
    for line in file.lines().filter(|l| l.starts_with(&format!("{name}{{"))) {
        let labels = &line[name.len() + 1..line.find('}').unwrap()];
        let get = |key: &str| {
            let start = labels.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
            labels[start..start + labels[start..].find('"').unwrap()].to_owned()
        };
        let mut words = line.rsplit(' ');
        let at: i64 = words.next().unwrap().parse().unwrap();
        let value: f64 = words.next().unwrap().parse().unwrap();
        out.entry((get("rp_id"), get("cod_opc_menu")))
            .or_default()
            .push((at, value));
    }
    out
}

/// A port that was free a moment ago: Prometheus takes an address, not a listener.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A real Prometheus with `config` on the TSDB directory `blocks`, on a free loopback port,
/// and a client of its API.
fn start_prometheus(config: &Path, blocks: &Path, log_level: &str) -> (Process, Api) {
    let port = free_port();
    let prometheus = Process::start(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", blocks.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--log.level={log_level}")),
    );
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        client: http_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    };
    (prometheus, api)
}

/// The HTTP API of the test's Prometheus.
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// The `data` of a successful answer.
    async fn data(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let url = Url::parse_with_params(&format!("{}{path}", self.base), params).unwrap();
        let resp = self.client.get(url.clone()).send().await.unwrap();
        let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], "success", "{url}: {body}");
        body["data"].clone()
    }

    /// The `result` of a query.
    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Value {
        self.data(path, params).await["result"].clone()
    }

    /// An instant query's result vector at the real now.
    async fn query(&self, expr: &str) -> Vec<Value> {
        let result = self.get("/api/v1/query", &[("query", expr)]).await;
        result.as_array().unwrap().clone()
    }

    /// The active alerts, pending and firing.
    async fn alerts(&self) -> Vec<Value> {
        let data = self.data("/api/v1/alerts", &[]).await;
        data["alerts"].as_array().unwrap().clone()
    }

    /// An instant query at `at`, by pair.
    async fn by_pair(&self, expr: &str, at: Timestamp) -> BTreeMap<Pair, f64> {
        let time = at.as_second().to_string();
        let result = self
            .get("/api/v1/query", &[("query", expr), ("time", &time)])
            .await;
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let m = &s["metric"];
                let pair = (
                    m["rp_id"].as_str().unwrap().to_owned(),
                    m["cod_opc_menu"].as_str().unwrap_or("").to_owned(),
                );
                (pair, s["value"][1].as_str().unwrap().parse().unwrap())
            })
            .collect()
    }
}

/// Asserts that `got` holds exactly the simulator's counts (calls, or seconds with `secs`),
/// zero for a pair without traffic in the window.
fn assert_exact(
    what: &str,
    got: &BTreeMap<Pair, f64>,
    want: &BTreeMap<Pair, (f64, f64)>,
    secs: bool,
) {
    assert!(!got.is_empty(), "{what}: no series");
    for (pair, v) in got {
        let w = want.get(pair).map_or(0.0, |w| if secs { w.1 } else { w.0 });
        assert_eq!(*v, w, "{what} {pair:?}");
    }
    for pair in want.keys() {
        assert!(got.contains_key(pair), "{what}: {pair:?} missing");
    }
}

#[ignore = "needs promtool and prometheus"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfilled_blocks_give_exact_increases_a_baseline_at_once_and_a_seamless_live_continuation()
 {
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("backfill.om");
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let end = civil(now).strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let (code, stderr) = backfill(&url, &output, &end, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sim.calls_by_token(TOKEN),
        (DAYS * 24 + 1) as u64 + 1,
        "one call per hourly step of 3 days, both ends included, and one token_info"
    );
    let file = std::fs::read_to_string(&output).unwrap();
    let seen = first_seen(&file, "wolkvox_ivr_calls_total");
    // The simulator's counts of the pairs that have a series at `from`.
    let exact_seen = |from: Timestamp, to: Timestamp| {
        let mut want = exact(&sim, from, to);
        want.retain(|pair, _| seen.get(pair).is_some_and(|t| *t <= from.as_second()));
        want
    };

    // The steps: whole local hours from DAYS days before the end to the end.
    let last = {
        let z = now.to_zoned_datetime(tz());
        z.with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .unwrap()
            .timestamp()
    };
    let first = last - (DAYS * 24).hours();

    let blocks = dir.path().join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&output)
        .arg(&blocks)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The live exporter, started at the backfill's end, for the seam below; Prometheus scrapes
    // it as the job the rules select, at the instance the backfill named.
    let (exporter, _clock) = spawn_exporter_at(config_for(&url), now).await;
    exporter.wait_for_polls(1).await;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: wolkvox-exporter\n    static_configs:\n\
             \x20     - targets: ['{}']\n    relabel_configs:\n\
             \x20     - target_label: instance\n        replacement: exporter:9862\n",
            repo_path("prometheus/wolkvox-rules.yml").display(),
            exporter.addr,
        ),
    )
    .unwrap();
    let started = Timestamp::now();
    let (mut prometheus, api) = start_prometheus(&config, &blocks, "warn");
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let ready = api
            .client
            .get(format!("{}/-/ready", api.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline && prometheus.child.try_wait().unwrap().is_none(),
            "prometheus not ready:\n{}",
            prometheus.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // increase() over each hour, queried at the samples so that the range starts and ends on
    // one (no extrapolation): the simulator's exact count of that hour, midnights included.
    let mut hour = first + 1.hour();
    let mut hours = 0;
    while hour <= last {
        let want = exact_seen(hour - 1.hour(), hour - 1.second());
        for (family, secs) in [
            ("wolkvox_ivr_calls_total", false),
            ("wolkvox_ivr_time_seconds_total", true),
        ] {
            let got = api.by_pair(&format!("increase({family}[1h])"), hour).await;
            assert_exact(&format!("{family} hour to {hour}"), &got, &want, secs);
        }
        hour += 1.hour();
        hours += 1;
    }
    assert_eq!(hours, DAYS * 24);

    // increase() over each whole local day in the range: the day's exact total.
    let mut days = 0;
    let mut midnight = now
        .to_zoned_datetime(tz())
        .start_of_day()
        .unwrap()
        .timestamp();
    while midnight - 24.hours() >= first {
        let want = exact_seen(midnight - 24.hours(), midnight - 1.second());
        let got = api
            .by_pair("increase(wolkvox_ivr_calls_total[1d])", midnight)
            .await;
        assert_exact(&format!("day to {midnight}"), &got, &want, false);
        midnight -= 24.hours();
        days += 1;
    }
    assert!(days >= DAYS - 1, "{days} whole days checked");

    // The gauges of the `today` window: the day's running total at each step.
    let got = api.by_pair("wolkvox_ivr_menu_calls", last).await;
    let day_start = (last - 1.second())
        .to_zoned_datetime(tz())
        .start_of_day()
        .unwrap()
        .timestamp();
    assert_exact(
        "gauge at the last step",
        &got,
        &exact(&sim, day_start, last - 1.second()),
        false,
    );

    // The PULSE baseline (3d, 15m ago) is recorded from Prometheus' first evaluation on: the
    // backfilled hours fill its window, so no day's wait. Its first sample is at most a couple of
    // evaluation intervals after start, for every routing point.
    let baseline = "wolkvox_rp:ivr_pulse_share:ratio3d_offset15m";
    let mut series = Vec::new();
    while Instant::now() < deadline {
        let start = started.as_second().to_string();
        let end = Timestamp::now().as_second().to_string();
        let got = api
            .get(
                "/api/v1/query_range",
                &[
                    ("query", baseline),
                    ("start", &start),
                    ("end", &end),
                    ("step", "1"),
                ],
            )
            .await;
        series = got.as_array().unwrap().clone();
        if series.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        series.len(),
        3,
        "{baseline} for rp_id 1001, 1002, 2001: {series:?}"
    );
    for s in &series {
        let first_at = s["values"][0][0].as_f64().unwrap();
        let share: f64 = s["values"][0][1].as_str().unwrap().parse().unwrap();
        assert!(
            first_at <= started.as_second() as f64 + 3.0,
            "{baseline} {}: first sample at {first_at}, Prometheus started at {started}",
            s["metric"]
        );
        // At night a routing point may have no PULSE call in 3 hours: a share of 0 is data too.
        assert!((0.0..1.0).contains(&share), "{}: {share}", s["metric"]);
    }

    // The seam: the live exporter continues every backfilled series, in Prometheus as one
    // series per pair (the same labels), its first scraped value never below the last
    // backfilled one and equal to the day's exact total.
    let midnight = now
        .to_zoned_datetime(tz())
        .start_of_day()
        .unwrap()
        .timestamp();
    // Within the close delay (15m) the live exporter still shows the previous day.
    let (day_from, day_to) = if now < midnight + 15.minutes() {
        (midnight - 24.hours(), midnight - 1.second())
    } else {
        (midnight, now)
    };
    let want = exact(&sim, day_from, day_to);
    // From the close delay to 01:00 the last backfilled sample (00:00) holds the previous
    // day's total and the live exporter the new day's: the seam is then the day's own reset,
    // as a running exporter makes it, and only the exact total is checked.
    let same_day = civil(last - 1.second()).date() == civil(day_from).date();
    let backfilled = last_values(&file, "wolkvox_ivr_calls_total");
    assert!(want.keys().all(|pair| backfilled.contains_key(pair)));
    let metrics = exporter.scrape().await;
    let mut seams = BTreeMap::new();
    // Prometheus' first scrape comes some seconds after it is ready.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while Instant::now() < deadline {
        let at = Timestamp::now().as_second().to_string();
        let got = api
            .get(
                "/api/v1/query",
                &[("query", "wolkvox_ivr_calls_total[3h]"), ("time", &at)],
            )
            .await;
        seams.clear();
        for s in got.as_array().unwrap() {
            let m = &s["metric"];
            let pair = (
                m["rp_id"].as_str().unwrap().to_owned(),
                m["cod_opc_menu"].as_str().unwrap().to_owned(),
            );
            let values: Vec<(f64, f64)> = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v[0].as_f64().unwrap(),
                        v[1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect();
            assert!(
                seams.insert(pair.clone(), values).is_none(),
                "{pair:?}: two series"
            );
        }
        let live_everywhere = want.keys().all(|pair| {
            seams
                .get(pair)
                .is_some_and(|v| v.last().unwrap().0 > last.as_second() as f64)
        });
        if live_everywhere {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for ((rp, opt), last_backfilled) in &backfilled {
        let exact = want.get(&(rp.clone(), opt.clone())).map_or(0.0, |w| w.0);
        // A pair with no call yet today is absent from the live report: zero.
        let live = metrics
            .get(
                "wolkvox_ivr_calls_total",
                &[("rp_id", rp.as_str()), ("cod_opc_menu", opt.as_str())],
            )
            .unwrap_or(0.0);
        assert!(
            live >= *last_backfilled || !same_day,
            "{rp}/{opt}: live {live} < backfilled {last_backfilled}"
        );
        assert_eq!(live, exact, "{rp}/{opt}");
        if exact == 0.0 {
            continue;
        }
        let values = &seams[&(rp.clone(), opt.clone())];
        let split = values.partition_point(|(t, _)| *t <= last.as_second() as f64);
        let (before, after) = values.split_at(split);
        assert_eq!(before.last().unwrap().1, *last_backfilled, "{rp}/{opt}");
        let first_live = after
            .first()
            .unwrap_or_else(|| panic!("{rp}/{opt}: no live sample"))
            .1;
        assert!(
            first_live >= *last_backfilled || !same_day,
            "{rp}/{opt}: a reset at the seam, {last_backfilled} then {first_live}"
        );
        assert_eq!(first_live, exact, "{rp}/{opt}");
    }
    drop(prometheus);
    exporter.stop().await;
}

fn config_for(url: &Url) -> wolkvox_exporter::config::Config {
    let mut config = common::config(url);
    config.op_mut().timezone = tz();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_by_a_refusal_or_the_call_budget_continues_to_the_same_file() {
    const END: &str = "2026-11-25T14:20:00";
    let steps = DAYS * 24 + 1;
    let dir = tempfile::tempdir().unwrap();
    // The runs count their calls per local day together: a zone where it is 10:00 keeps them
    // all on one day, whatever the hour the test runs at.
    let zone = zone_at_ten(Timestamp::now());
    let in_zone = ["--wolkvox.timezone", zone.as_str()];

    // Uninterrupted.
    let (_sim, url) = spawn_simulator().await;
    let whole = dir.path().join("whole.om");
    let (code, stderr) = backfill(&url, &whole, END, &in_zone).await;
    assert_eq!(code, 0, "{stderr}");

    // Refused by Wolkvox after 30 steps (and the token_info call before them), though
    // token_info said 1,000 (other users drained the token): a clean stop with what is
    // done, exit code 1.
    let quota = SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        quota: Some(31),
        token_limit: Some(1000),
        ..SimulatorConfig::default()
    };
    let (_sim, url) = spawn_simulator_with(quota).await;
    let resumed = dir.path().join("resumed.om");
    let (code, stderr) = backfill(&url, &resumed, END, &in_zone).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("quota_exceeded"), "{stderr}");
    assert!(
        stderr.contains(&format!("30 of {steps} steps written")),
        "{stderr}"
    );
    let partial = std::fs::read_to_string(&resumed).unwrap();
    assert!(partial.ends_with("# EOF\n"));

    // Then by the day's call budget in the next run: the day has seen token_info, 30 steps
    // and the refused call; 11 more are token_info and 10 steps.
    let (sim, url) = spawn_simulator().await;
    let max_calls = (1 + 30 + 1 + 11).to_string();
    let budget = [&in_zone[..], &["--max-calls", &max_calls]].concat();
    let (code, stderr) = backfill(&url, &resumed, END, &budget).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("reached --max-calls {max_calls}")),
        "{stderr}"
    );
    assert_eq!(sim.calls_by_token(TOKEN), 11);

    // A refused simultaneous call stops the run too, with nothing lost.
    let (sim, url) = spawn_simulator().await;
    sim.push_answer(
        403,
        serde_json::json!({"code": 403, "msg": "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)", "data": null})
            .to_string(),
    );
    let (code, stderr) = backfill(&url, &resumed, END, &in_zone).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("concurrency_limited"), "{stderr}");
    assert!(
        stderr.contains(&format!("40 of {steps} steps written")),
        "{stderr}"
    );

    // The last run fetches only what is missing, and the file is the uninterrupted one.
    let (sim, url) = spawn_simulator().await;
    let (code, stderr) = backfill(&url, &resumed, END, &in_zone).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sim.calls_by_token(TOKEN),
        steps as u64 - 40 + 1,
        "and token_info"
    );
    assert_eq!(
        std::fs::read(&resumed).unwrap(),
        std::fs::read(&whole).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_local_day_continues_the_days_call_count() {
    const END: &str = "2026-11-25T14:20:00";
    let steps = DAYS * 24 + 1;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.om");
    // 10:00 in the operation's zone: the runs below fall on one local day.
    let zone = zone_at_ten(Timestamp::now());
    let (sim, url) = spawn_simulator().await;
    let run = async |max_calls: &str| {
        let args = ["--wolkvox.timezone", &zone, "--max-calls", max_calls];
        backfill(&url, &output, END, &args).await
    };

    // The day's 20 calls: token_info and 19 steps.
    let (code, stderr) = run("20").await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("reached --max-calls 20"), "{stderr}");
    assert!(
        stderr.contains(&format!("19 of {steps} steps written")),
        "{stderr}"
    );
    assert_eq!(sim.calls_by_token(TOKEN), 20);

    // The same command again that day: no call, and it says why.
    let (code, stderr) = run("20").await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("reached --max-calls 20")
            && stderr.contains("20 of its calls in earlier runs"),
        "{stderr}"
    );
    assert!(stderr.contains("(0 calls in this run"), "{stderr}");
    assert_eq!(sim.calls_by_token(TOKEN), 20);

    // A larger budget the same day: only the difference, token_info included.
    let (code, stderr) = run("30").await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("28 of {steps} steps written")),
        "{stderr}"
    );
    assert_eq!(sim.calls_by_token(TOKEN), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_limit_stops_the_backfill_where_the_live_exporter_keeps_its_polls_today() {
    const END: &str = "2026-11-25T14:20:00";
    const LIMIT: u64 = 1000;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.om");
    let zone = zone_at_ten(Timestamp::now());
    let tz = TimeZone::get(&zone).unwrap();
    // The live exporter's calls from `t` to local midnight: a poll every 5 minutes (the
    // default), the first at once.
    let live_need = |t: Timestamp| {
        let z = t.to_zoned_datetime(tz.clone());
        let midnight = z.tomorrow().unwrap().start_of_day().unwrap().timestamp();
        (midnight.duration_since(t).as_secs_f64() / 300.0).ceil() as u64
    };
    let (sim, url) = spawn_simulator().await;
    let before = live_need(Timestamp::now());
    // Other users have left the token its live need, token_info and 10 calls more.
    sim.spend_elsewhere(TOKEN, LIMIT - before - 1 - 10);

    let args = ["--wolkvox.timezone", zone.as_str()];
    let (code, stderr) = backfill(&url, &output, END, &args).await;
    let used = sim.calls_by_token(TOKEN);
    let after = live_need(Timestamp::now());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("of its {LIMIT} calls today"))
            && stderr.contains("the live exporter needs"),
        "{stderr}"
    );
    assert!(
        used + after <= LIMIT,
        "the live exporter keeps its {after} calls: {used} used"
    );
    assert!(
        used + 1 + before > LIMIT,
        "the run stopped at the last call it could make: {used} used, {before} needed"
    );
    assert!(
        stderr.contains(&format!(
            "{} of {} steps written",
            used - (LIMIT - before - 10),
            DAYS * 24 + 1
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_line_and_exit_code_2_before_any_call() {
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("out.om");
    let end = "2026-11-25T14:20:00";
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--days", "0"], end, "--days"),
        (&["--step", "0s"], end, "--step"),
        (&["--step", "2d"], end, "--step"),
        (&["--step", "7m"], end, "--step"),
        (&[], "yesterday", "--end"),
    ];
    for (args, end, flag) in cases {
        let (code, stderr) = backfill(&url, &ok, end, args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    for output in [dir.path().join("missing/out.om"), dir.path().to_owned()] {
        let (code, stderr) = backfill(&url, &output, end, &[]).await;
        assert_eq!(code, 2, "{output:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{output:?}: {stderr}");
        assert!(stderr.contains("--output"), "{stderr}");
    }
    assert_eq!(sim.calls_by_token(TOKEN), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_today_operation_of_the_config_file_is_backfilled_one_call_at_a_time() {
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("operations.yml");
    std::fs::write(
        &file,
        format!(
            "timezone: {ZONE}\noperations:\n  \
             - {{name: north, server: \"0032\", token_env: T, url: \"{url}\"}}\n  \
             - {{name: south, server: \"0033\", token_env: T, url: \"{url}\"}}\n  \
             - {{name: rolling, server: \"0034\", token_env: T, url: \"{url}\", window: 1h}}\n"
        ),
    )
    .unwrap();
    let output = dir.path().join("ops.om");
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("T", TOKEN)
        .args(["backfill", "--days", "1", "--end", "2026-11-25T14:20:00"])
        .arg("--config.file")
        .arg(&file)
        .arg("--output")
        .arg(&output)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("operation rolling skipped"), "{stderr}");
    let om = std::fs::read_to_string(&output).unwrap();
    for (op, present) in [("north", true), ("south", true), ("rolling", false)] {
        assert_eq!(om.contains(&format!("operation=\"{op}\"")), present, "{op}");
    }
    // A token_info call per server, and a call per step.
    assert_eq!(sim.calls_by_token(TOKEN), 2 + 2 * 25);
    assert_eq!(sim.stats().max_in_flight, 1, "one call at a time");
}

/// The outage alert's parameters for the test below, as a user overrides the mixin's _config.
/// The window is 2m instead of 16m and `for` 10s instead of none (a pending state first, which
/// the test sees never happens before the outage), so that the alert fires within two minutes
/// of the outage; the ratio (0.2), the week-ago baseline (the hour up to the same time a week
/// before), its floor (72 calls in that hour) and the midnight grace are the defaults. A
/// 2-minute window needs busier routing points than the demo's (the simulator's traffic times
/// 10), so that a window's count hardly varies: 1001, 1002 and 2001 then get about 120, 60 and
/// 30 calls in 2 minutes at 10:00, and thousands in the hour a week before.
const OUTAGE_CONFIG: &str = "{outageWindow: '2m', outageFor: '10s'}";
/// The week-ago recording rule: the calls of the hour up to the same time a week before.
const WEEK_AGO: &str = "wolkvox_rp:ivr_calls:increase1h_offset1w";
/// The floor of calls in that hour below which a routing point never pages (the default).
const WEEK_AGO_FLOOR: f64 = 72.0;

#[test]
fn the_zone_at_ten_puts_every_hour_of_the_day_at_ten() {
    for hour in 0..24 {
        let now: Timestamp = format!("2026-11-25T{hour:02}:37:00Z").parse().unwrap();
        let zone = TimeZone::get(&zone_at_ten(now)).unwrap();
        assert_eq!(now.to_zoned_datetime(zone).hour(), 10, "{hour}");
    }
}

/// Runs `backfill` of the operations of the file `operations` into `output`: `days` days of
/// samples `step` apart, up to the local time `end`; asserts that it completes.
async fn backfill_operations(operations: &Path, output: &Path, days: &str, step: &str, end: &str) {
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("T", TOKEN)
        .args(["backfill", "--days", days, "--step", step, "--end", end])
        .args(["--max-calls", "10000", "--instance", "exporter:9862"])
        .arg("--config.file")
        .arg(operations)
        .arg("--output")
        .arg(output)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "backfill to {end}: {stderr}");
}

/// Turns the OpenMetrics file `file` into TSDB blocks in `blocks` with promtool.
fn create_blocks(file: &Path, blocks: &Path) {
    // Blocks of a day instead of promtool's 2 hours: a twelfth of the blocks to write.
    let out = Command::new("promtool")
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
        ])
        .arg(file)
        .arg(blocks)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool: {stderr}");
}

/// Renders the mixin's rules with OUTAGE_CONFIG into `path`.
fn render_outage_rules(path: &Path) {
    let out = Command::new("jsonnet")
        .arg("-S")
        .arg("--tla-code")
        .arg(format!("config={OUTAGE_CONFIG}"))
        .arg(repo_path("mixin/rules.jsonnet"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jsonnet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, out.stdout).unwrap();
}

/// Polls `check` every 250 ms until it returns Some; fails after `within` naming `what`, or
/// as soon as Prometheus exits, with its log.
async fn await_some<T>(
    api: &Api,
    prometheus: &mut Process,
    within: Duration,
    what: &str,
    mut check: impl AsyncFnMut(&Api) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check(api).await {
            return v;
        }
        let exited = prometheus.child.try_wait().unwrap();
        assert!(
            Instant::now() < deadline && exited.is_none(),
            "after {within:?}: {what}; prometheus exited: {exited:?}\n{}",
            prometheus.stderr()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Fails on an active alert other than WolkvoxIvrRoutingPointOutage of operation `outage`,
/// routing point 1001, and on that one too if it became active before its outage began.
fn assert_only_the_outage_alert(alerts: &[Value], outage_from: Timestamp) {
    for a in alerts {
        let l = &a["labels"];
        let outage = l["alertname"] == "WolkvoxIvrRoutingPointOutage"
            && l["operation"] == "outage"
            && l["rp_id"] == "1001";
        let active: Timestamp = a["activeAt"].as_str().unwrap().parse().unwrap();
        assert!(
            outage && active >= outage_from,
            "unexpected active alert (the outage began at {outage_from}): {a}"
        );
    }
}

/// Issue 15: a week backfilled from the simulator, a real Prometheus with the mixin's rules,
/// and the live exporter on top. Two operations poll two simulators with the same traffic;
/// routing point 1001 of `outage` stops getting calls where the backfill ends, so that only
/// the live exporter sees it; `steady` goes on. The alert compares the live counters with the
/// backfilled ones a week before: it can only fire if the live series continue the backfilled
/// ones (the same labels on both sides of its `<`).
#[ignore = "needs promtool, prometheus and jsonnet"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_alert_fires_after_a_backfilled_week_only_with_the_outage_in_prometheus() {
    let started = Instant::now();
    // The limit leaves room for the backfills and for the live exporter's polls every second
    // until midnight, which the backfills keep back.
    let busy = || SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        traffic_factor: 10.0,
        token_limit: Some(1_000_000),
        ..SimulatorConfig::default()
    };
    let (_steady, steady_url) = spawn_simulator_with(busy()).await;
    let (outage, outage_url) = spawn_simulator_with(busy()).await;
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let zone = TimeZone::get(&zone_at_ten(now)).unwrap();
    let civil_at = |t: Timestamp| t.to_zoned_datetime(zone.clone()).datetime();
    let end = |t: Timestamp| civil_at(t).strftime("%Y-%m-%dT%H:%M:%S").to_string();

    // One file for the backfill and the live exporter: the same operations, zone and labels.
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let operations = file("operations.yml");
    std::fs::write(
        &operations,
        format!(
            "timezone: {}\npoll_interval: 1s\noperations:\n  \
             - {{name: steady, server: \"{SERVER}\", token_env: T, url: \"{steady_url}\"}}\n  \
             - {{name: outage, server: \"{SERVER}\", token_env: T, url: \"{outage_url}\"}}\n",
            zone_at_ten(now)
        ),
    )
    .unwrap();

    // The week: a sample an hour for 8 days, as `backfill` takes them by default (for 7), so
    // that a week before the whole test is in it.
    let blocks = file("data");
    backfill_operations(&operations, &file("week.om"), "8", "1h", &end(now)).await;
    create_blocks(&file("week.om"), &blocks);
    // The 2m window needs a sample a minute where it looks: a week before the test, and up to
    // the live exporter's first samples (topped up below).
    let (week_ago, recent) = (end(now - 168.hours() + 30.minutes()), end(now));
    let (week_ago_om, recent_om) = (file("week-ago.om"), file("recent.om"));
    tokio::join!(
        backfill_operations(&operations, &week_ago_om, "1", "1m", &week_ago),
        backfill_operations(&operations, &recent_om, "1", "1m", &recent),
    );
    create_blocks(&week_ago_om, &blocks);

    // The live exporter, on the real clock: Prometheus stamps its samples with the real time.
    let mut config = common::config(&steady_url);
    let env = |name: &str| (name == "T").then(|| TOKEN.to_owned());
    let (ops, _) = wolkvox_exporter::config::file::read_operations(&operations, &env).unwrap();
    config.operations = ops;
    let exporter = spawn_exporter_with_clock(
        config,
        std::sync::Arc::new(wolkvox_exporter::sys::clock::SystemClock),
    )
    .await;
    exporter.wait_for_polls(2).await;

    // The seam: the recent backfill ends at the next whole minute at least 10 s ahead.
    // Prometheus takes no live sample older than the end of its blocks, so the live series
    // start there, where the backfilled ones stop: a gap between them as long as the window
    // would look like a window without calls. The outage begins at the seam (the simulator
    // books a minute's calls at its first second): only the live exporter sees it. Only the
    // minutes since the first run are fetched; the rest is in the state beside the file.
    let seam = {
        let ahead = (Timestamp::now() + 10.seconds()).to_zoned_datetime(zone.clone());
        let minute = ahead.with().second(0).subsec_nanosecond(0).build().unwrap();
        minute.timestamp() + 1.minute()
    };
    outage.add_outage("1001", civil_at(seam));
    backfill_operations(&operations, &recent_om, "1", "1m", &end(seam)).await;
    create_blocks(&recent_om, &blocks);
    eprintln!("backfilled in {:?}", started.elapsed());

    let rules = file("wolkvox-rules.yml");
    render_outage_rules(&rules);
    let config = file("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: wolkvox-exporter\n    static_configs:\n\
             \x20     - targets: ['{}']\n    relabel_configs:\n\
             \x20     - target_label: instance\n        replacement: exporter:9862\n",
            rules.display(),
            exporter.addr,
        ),
    )
    .unwrap();
    // Each scrape before the seam is refused with a warning ("out of bounds").
    let (mut prometheus, api) = start_prometheus(&config, &blocks, "error");

    // Before the seam WolkvoxExporterAbsent is pending (no live sample is taken yet, `up`
    // included); from the first live scrape on, only the outage alert of outage/1001 may ever
    // be active, and only from the outage on.
    let within = Duration::from_secs(120);
    await_some(
        &api,
        &mut prometheus,
        within,
        "both operations scraped after the seam, WolkvoxExporterAbsent inactive",
        async |api| {
            let ready = api.client.get(format!("{}/-/ready", api.base)).send().await;
            if !ready.is_ok_and(|r| r.status() == 200) {
                return None;
            }
            let up = api.query("wolkvox_up == 1").await;
            let alerts = api.alerts().await;
            (up.len() == 2 && alerts.is_empty()).then_some(())
        },
    )
    .await;

    // The week before has the data that the comparison needs: every routing point of both
    // operations above the floor, so that the silence of `steady` is a comparison made.
    let week_ago = await_some(
        &api,
        &mut prometheus,
        within,
        "the week-ago rule recorded for 3 routing points of 2 operations",
        async |api| {
            assert_only_the_outage_alert(&api.alerts().await, seam);
            let got = api.query(WEEK_AGO).await;
            (got.len() == 6).then_some(got)
        },
    )
    .await;
    for s in &week_ago {
        let calls: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
        assert!(calls >= WEEK_AGO_FLOOR, "{WEEK_AGO}: {s}");
    }

    let fired = await_some(
        &api,
        &mut prometheus,
        within,
        "WolkvoxIvrRoutingPointOutage firing for outage/1001",
        async |api| {
            let alerts = api.alerts().await;
            assert_only_the_outage_alert(&alerts, seam);
            alerts.into_iter().find(|a| a["state"] == "firing")
        },
    )
    .await;
    eprintln!(
        "WolkvoxIvrRoutingPointOutage fired {} s after the outage began, {:?} after the start",
        Timestamp::now().as_second() - seam.as_second(),
        started.elapsed()
    );
    let labels = &fired["labels"];
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["instance"], "exporter:9862");
    let calls: f64 = fired["value"].as_str().unwrap().parse().unwrap();
    assert_eq!(calls, 0.0, "the alert's value: the calls in the window");
    drop(prometheus);
    exporter.stop().await;
}
