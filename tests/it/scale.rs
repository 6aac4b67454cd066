//! An exporter with 1,000 operations (a configuration file, one simulator): the exposition
//! joined from per-operation parts is clean for promtool, its gzip member is read by Python's
//! gzip module and by `curl --compressed`, and a real Prometheus (Go's compress/gzip) scrapes
//! it with `up` 1 and every sample of the exposition.

use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};

const OPERATIONS: usize = 1000;
/// Longest the test waits for the first polls, and for Prometheus to have scraped.
const DEADLINE: Duration = Duration::from_secs(600);

/// A configuration file of `n` operations, all against `url`, each polled once in the test.
fn write_operations(dir: &Path, url: &reqwest::Url, n: usize) -> std::path::PathBuf {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let mut yaml = String::from("poll_interval: 1h\noperations:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - name: op{i:04}\n    server: \"{SERVER}\"\n    url: {url}\n    token_file: token\n"
        ));
    }
    let path = dir.join("operations.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `url` as sent with `accept` and Accept-Encoding gzip: the body as it came, undecoded.
async fn get_gzip(url: &str, accept: &str) -> Vec<u8> {
    let resp = http()
        .get(url)
        .header("accept", accept)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    resp.bytes().await.unwrap().to_vec()
}

async fn get_plain(url: &str, accept: &str) -> String {
    let resp = http()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("content-encoding").is_none());
    resp.text().await.unwrap()
}

/// Runs `program` with `args`, `input` on stdin; its stdout, asserting success.
fn run(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The samples of a text or OpenMetrics exposition: its lines that are not comments.
fn samples_in(exposition: &str) -> usize {
    exposition
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

#[ignore = "needs python3, curl and prometheus"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_operations_are_served_in_one_gzip_member_that_every_reader_decodes() {
    let (_sim, url) = spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        // Every operation's first poll at once, with the same token.
        max_in_flight_per_token: OPERATIONS,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_operations(dir.path(), &url, OPERATIONS);
    let env = |_: &str| None;
    let mut cfg = config(&url);
    let (operations, _) =
        wolkvox_exporter::config::file::read_operations(&path, &env).expect("valid file");
    cfg.operations = operations;
    cfg.config_file = Some(path);
    let (exporter, _clock) =
        spawn_exporter_at(cfg, local("America/Bogota", "2026-11-25T14:00:00")).await;
    // Longer than EVENT_TIMEOUT: a thousand first polls, in a debug build, on a shared machine.
    let started = Instant::now();
    let mut polls = exporter.store.subscribe();
    tokio::time::timeout(DEADLINE, polls.wait_for(|&n| n >= OPERATIONS as u64))
        .await
        .expect("every first poll within DEADLINE")
        .expect("store alive");
    eprintln!("{OPERATIONS} first polls in {:?}", started.elapsed());

    // promtool, and every operation's samples with their family.
    let metrics = exporter.scrape().await;
    let body = metrics.body.clone();
    let up = metrics.family("wolkvox_up");
    assert_eq!(up.len(), OPERATIONS);
    assert!(
        up.iter().all(|s| s.value == 1.0),
        "every first poll succeeded"
    );
    let data = metrics.family("wolkvox_ivr_menu_calls");
    assert!(data.len() >= OPERATIONS, "{} data samples", data.len());
    let expected = samples_in(&body);

    let metrics_url = exporter.url("/metrics");
    for accept in ["text/plain", "application/openmetrics-text"] {
        let plain = get_plain(&metrics_url, accept).await;
        let gzip = get_gzip(&metrics_url, accept).await;
        let script =
            "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))";
        let decoded = run("python3", &["-c", script], &gzip);
        assert!(
            without_process_values(&decoded) == without_process_values(plain.as_bytes()),
            "python3 gzip, {accept}"
        );
        let header = format!("Accept: {accept}");
        let decoded = run(
            "curl",
            &["-sS", "--compressed", "-H", &header, &metrics_url],
            &[],
        );
        assert!(
            without_process_values(&decoded) == without_process_values(plain.as_bytes()),
            "curl --compressed, {accept}"
        );
    }

    prometheus_scrapes(&exporter.addr.to_string(), expected, dir.path()).await;
    exporter.stop().await;
}

/// Starts Prometheus against `target` and waits until it reports `up` 1 and `expected` samples
/// scraped.
async fn prometheus_scrapes(target: &str, expected: usize, dir: &Path) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n\
             scrape_configs:\n  - job_name: scale\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    // Prometheus takes an address, not a listener: a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut prometheus = Process::start(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn"),
    );
    let client = http_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let query = |expr: &'static str| {
        let client = client.clone();
        async move {
            let url = reqwest::Url::parse_with_params(
                &format!("http://127.0.0.1:{port}/api/v1/query"),
                &[("query", expr)],
            )
            .ok()?;
            let resp = client.get(url).send().await.ok()?;
            let body: serde_json::Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
            let value = body["data"]["result"][0]["value"][1].as_str()?.to_owned();
            value.parse::<f64>().ok()
        }
    };
    let start = Instant::now();
    loop {
        let seen = (
            query("up{job=\"scale\"}").await,
            query("scrape_samples_scraped{job=\"scale\"}").await,
        );
        if seen == (Some(1.0), Some(expected as f64)) {
            return;
        }
        if let Some(status) = prometheus.child.try_wait().unwrap() {
            panic!("prometheus exited with {status}:\n{}", prometheus.stderr());
        }
        assert!(
            start.elapsed() < DEADLINE,
            "after {DEADLINE:?}, (up, scrape_samples_scraped) = {seen:?}, expected (1, {expected}):\n{}",
            prometheus.stderr()
        );
        // Prometheus has no way to tell a client that it scraped: ask again shortly.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
