//! Shared test helpers: a simulator and an exporter on 127.0.0.1:0, scrapes over real HTTP,
//! `promtool check metrics` on every body in the full tier, and a small reader of the text
//! format for assertions.

pub mod sim;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use reqwest::Url;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wolkvox_exporter::config::{Config, OperationConfig, ServerCode, Token};
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};
use wolkvox_exporter::exposition::Store;
use wolkvox_exporter::serve::Exporter;
use wolkvox_exporter::sys::clock::{Clock, ManualClock};

pub use sim::TestSim;

/// The token every test simulator accepts.
pub const TOKEN: &str = "test-token-5f3a9c1e-secret";
/// The server code of test configurations.
pub const SERVER: &str = "0032";
/// Longest a test waits for an event before it fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A simulator with the test token and exact H:MM:SS times.
pub async fn spawn_simulator() -> (TestSim, Url) {
    spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        ..SimulatorConfig::default()
    })
    .await
}

/// A simulator with `config`.
pub async fn spawn_simulator_with(config: SimulatorConfig) -> (TestSim, Url) {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    let (sim, addr) = TestSim::spawn(config).await.expect("simulator binds");
    (sim, Url::parse(&format!("http://{addr}")).unwrap())
}

/// A configuration that polls `url` with the test token. Every operation added to it starts
/// polling at once (`--poll.start-spread 0`), so that tests wait for events, not for a spread.
pub fn config(url: &Url) -> Config {
    let mut config = Config::new(
        ServerCode::parse(SERVER).unwrap(),
        url.clone(),
        Token::new(TOKEN).unwrap(),
    );
    config.start_spread = Some(Duration::ZERO);
    config
}

/// The one operation of a configuration made by [`config`], to adjust it.
pub trait OpMut {
    fn op_mut(&mut self) -> &mut OperationConfig;
}

impl OpMut for Config {
    fn op_mut(&mut self) -> &mut OperationConfig {
        &mut self.operations[0]
    }
}

/// A local civil time in `zone` as an instant.
pub fn local(zone: &str, civil: &str) -> Timestamp {
    let dt: DateTime = civil.parse().unwrap();
    dt.to_zoned_datetime(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

/// An exporter serving on 127.0.0.1:0.
pub struct TestExporter {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// A zone in which `now` is between 10:00 and 11:00, the busiest hour of the simulator's day,
/// so that the test does not depend on the hour it runs at. `Etc/GMT-N` is UTC+N (POSIX signs);
/// the names go from Etc/GMT+12 to Etc/GMT-14, and the zones have no daylight saving time, so
/// a week before is the same local hour.
pub fn zone_at_ten(now: Timestamp) -> String {
    let utc_hour = i32::from(now.to_zoned_datetime(TimeZone::UTC).hour());
    let east = match (10 - utc_hour).rem_euclid(24) {
        o if o > 14 => o - 24,
        o => o,
    };
    match east {
        0 => "Etc/GMT".to_owned(),
        e if e > 0 => format!("Etc/GMT-{e}"),
        e => format!("Etc/GMT+{}", -e),
    }
}

/// Starts an exporter with `config` and `clock`.
pub async fn spawn_exporter_with_clock(config: Config, clock: Arc<dyn Clock>) -> TestExporter {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let exporter = Exporter::new(config, clock).await.expect("exporter starts");
    let store = exporter.store.clone();
    let stop = CancellationToken::new();
    let shutdown = stop.clone().cancelled_owned();
    let task = tokio::spawn(async move {
        exporter.serve(listener, shutdown).await.expect("serves");
    });
    TestExporter {
        addr,
        store,
        stop,
        task,
    }
}

/// Starts an exporter with a manual clock stopped at `now`.
pub async fn spawn_exporter_at(config: Config, now: Timestamp) -> (TestExporter, ManualClock) {
    let clock = ManualClock::new(now);
    let exporter = spawn_exporter_with_clock(config, Arc::new(clock.clone())).await;
    (exporter, clock)
}

impl TestExporter {
    /// Waits until at least `n` polls have finished.
    pub async fn wait_for_polls(&self, n: u64) {
        let mut rx = self.store.subscribe();
        tokio::time::timeout(EVENT_TIMEOUT, rx.wait_for(|&polls| polls >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} polls did not finish in time"))
            .expect("store alive");
    }

    /// Polls finished so far.
    pub fn polls(&self) -> u64 {
        *self.store.subscribe().borrow()
    }

    /// The base URL of the exporter.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET /metrics: see [`scrape`].
    pub async fn scrape(&self) -> Metrics {
        scrape(&self.addr.to_string()).await
    }

    /// Stops the exporter and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(EVENT_TIMEOUT, self.task)
            .await
            .expect("exporter stops")
            .expect("exporter task");
    }
}

/// A client for the tests' plain HTTP on loopback, to finish with `build()`. reqwest loads and
/// parses the system's root certificates into every client it builds unless it is given roots
/// of its own (none here): in a debug build that took longer than the request it served.
pub fn http_builder() -> reqwest::ClientBuilder {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    reqwest::Client::builder().tls_certs_only([])
}

/// [`http_builder`]'s client, with reqwest's defaults.
pub fn http() -> reqwest::Client {
    http_builder().build().expect("HTTP client")
}

/// GET http://`addr`/metrics in the text format: asserts 200 and the Content-Type, runs
/// [`promtool_check`] on the body, and parses it.
pub async fn scrape(addr: &str) -> Metrics {
    let resp = http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = resp.text().await.unwrap();
    promtool_check(&body);
    Metrics::parse(&body)
}

/// [`scrape`] for the tests that drive a child process without a runtime of their own.
pub fn scrape_blocking(addr: &str) -> Metrics {
    blocking(scrape(addr))
}

/// Waits up to EVENT_TIMEOUT for /readyz of `addr` to answer 200. A poll's log line is written
/// when the call is recorded, just before its snapshot is published: a test that saw the line
/// of the first poll waits for this before it reads /metrics.
pub async fn wait_ready(addr: &str) {
    let client = http();
    let ready = async {
        while !client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(EVENT_TIMEOUT, ready)
        .await
        .expect("/readyz turns 200 once the first poll is published");
}

/// [`wait_ready`] for the tests without a runtime of their own.
pub fn wait_ready_blocking(addr: &str) {
    blocking(wait_ready(addr))
}

/// Runs `f` on a thread and runtime of its own, so that it may also be called from inside a
/// runtime.
fn blocking<T: Send>(f: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f)
        })
        .join()
        .expect("a blocking helper")
    })
}

/// Whether the full tier runs (scripts/test sets WOLKVOX_FULL_TESTS=1): the tier whose tests
/// may run external programs. `cargo test` alone needs none.
pub fn full_tier() -> bool {
    std::env::var_os("WOLKVOX_FULL_TESTS").is_some_and(|v| v == "1")
}

/// In the full tier, runs `promtool check metrics` on `body` and asserts it is clean; a missing
/// promtool fails. `cargo test` alone leaves the check to the full tier.
pub fn promtool_check(body: &str) {
    if !full_tier() {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool (scripts/setup installs it): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics failed:\n{}{}\n--- body ---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One sample of the text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: samples plus the TYPE of each family. Only for assertions: validity is
/// promtool's job.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub body: String,
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
}

impl Metrics {
    /// Reads the text format (HELP/TYPE comments, samples with escaped label values).
    pub fn parse(body: &str) -> Metrics {
        let mut m = Metrics {
            body: body.to_owned(),
            ..Metrics::default()
        };
        for line in body.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').unwrap();
                m.types.insert(name.to_owned(), ty.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            m.samples.push(parse_sample(line));
        }
        m
    }

    /// The samples of `name`.
    pub fn family(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The value of the sample of `name` whose labels include `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<_> = self
            .family(name)
            .into_iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
        found.first().map(|s| s.value)
    }

    /// Like `get`, but the sample must exist.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in\n{}", self.body))
    }
}

fn parse_sample(line: &str) -> Sample {
    let (name_end, labels, rest) = match line.find('{') {
        Some(open) => {
            let mut labels = BTreeMap::new();
            let bytes: Vec<char> = line[open + 1..].chars().collect();
            let mut i = 0;
            loop {
                if bytes[i] == '}' {
                    i += 1;
                    break;
                }
                if bytes[i] == ',' {
                    i += 1;
                    continue;
                }
                let mut key = String::new();
                while bytes[i] != '=' {
                    key.push(bytes[i]);
                    i += 1;
                }
                assert_eq!(bytes[i + 1], '"', "{line}");
                i += 2;
                let mut value = String::new();
                loop {
                    match bytes[i] {
                        '\\' => {
                            value.push(match bytes[i + 1] {
                                'n' => '\n',
                                c => c,
                            });
                            i += 2;
                        }
                        '"' => {
                            i += 1;
                            break;
                        }
                        c => {
                            value.push(c);
                            i += 1;
                        }
                    }
                }
                labels.insert(key, value);
            }
            let rest: String = bytes[i..].iter().collect();
            (open, labels, rest)
        }
        None => {
            let sp = line.find(' ').unwrap();
            (sp, BTreeMap::new(), line[sp..].to_owned())
        }
    };
    let value = rest.split_whitespace().next().unwrap();
    Sample {
        name: line[..name_end].to_owned(),
        labels,
        value: match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value in {line}")),
        },
    }
}

/// A success body with the given rows of (rp_id, cod_opc_menu, calls, time) strings.
pub fn report_body(rows: &[(&str, &str, &str, &str)]) -> String {
    let data: Vec<serde_json::Value> = rows
        .iter()
        .map(|(rp, opt, calls, time)| {
            serde_json::json!({"rp_id": rp, "cod_opc_menu": opt, "calls": calls, "time": time})
        })
        .collect();
    serde_json::json!({"code": 200, "error": null, "msg": "ok", "data": data}).to_string()
}

/// A raw TCP server on 127.0.0.1:0 for faults that a well-behaved HTTP server cannot produce:
/// `handler` gets each connection (numbered from 0) after the request head has been read.
pub async fn spawn_raw<F, Fut>(handler: F) -> Url
where
    F: Fn(usize, tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let i = n;
            n += 1;
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                handler(i, stream).await;
            });
        }
    });
    Url::parse(&format!("http://{addr}")).unwrap()
}

/// Writes a complete HTTP/1.1 answer and closes the connection.
pub async fn write_answer(stream: &mut tokio::net::TcpStream, status: u16, body: &str) {
    use tokio::io::AsyncWriteExt as _;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A self-signed certificate for `127.0.0.1` and `localhost`: (certificate PEM, key PEM).
pub fn self_signed() -> (String, String) {
    let key =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (key.cert.pem(), key.signing_key.serialize_pem())
}

/// `exposition` with the values of the process metrics cut off. The exporter reads them again
/// in the background every few seconds, so two requests a moment apart may differ in them
/// alone; everything else must be the same bytes.
pub fn without_process_values(exposition: &[u8]) -> String {
    let text = std::str::from_utf8(exposition).expect("an exposition is UTF-8");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.rsplit_once(' ') {
            Some((sample, _)) if line.starts_with("process_") => out.push_str(sample),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The repository's root, for the files that tests check (rules, dashboards, examples).
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A child process whose stderr is collected line by line; killed when dropped.
pub struct Process {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Process {
    /// Spawns `cmd` with stderr piped and stdout discarded.
    pub fn start(cmd: &mut Command) -> Process {
        use std::io::BufRead as _;
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to EVENT_TIMEOUT for a stderr line containing `needle` and returns it.
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {needle:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The address from the exporter's logfmt `msg=listening address=...` line.
    pub fn address(&mut self) -> String {
        let line = self.wait_line("msg=listening");
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix("address="))
            .unwrap()
            .to_owned()
    }

    /// Sends `sig` (e.g. -TERM) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the exit and returns its status and how long it took; then drains stderr.
    pub fn wait_exit(&mut self) -> (std::process::ExitStatus, Duration) {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = start.elapsed();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return (status, took);
            }
            if start.elapsed() > EVENT_TIMEOUT {
                let _ = self.child.kill();
                panic!("the process did not exit");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Everything written to stderr so far.
    pub fn stderr(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The dashboards that the Helm chart ships, by path in the repository.
pub const DASHBOARDS: [&str; 2] = [
    "dashboards/wolkvox-ivr.json",
    "dashboards/wolkvox-exporter.json",
];

/// A dashboard's JSON.
pub fn load_dashboard(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo_path(path)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Every panel of a dashboard, the panels of collapsed rows included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// Every PromQL expression of the panels' targets, as (panel title, expression).
pub fn panel_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = t["expr"].as_str() {
                out.push((
                    p["title"].as_str().unwrap_or("").to_owned(),
                    expr.to_owned(),
                ));
            }
        }
    }
    out
}

/// Every query variable's query, as (name, query), in the dashboard's order.
pub fn variable_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap_or_else(|| panic!("variable {} has no query", v["name"]));
            (v["name"].as_str().unwrap().to_owned(), q.to_owned())
        })
        .collect()
}

/// Every annotation query, as (name, expression).
pub fn annotation_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a["name"].as_str()?.to_owned(),
                a["expr"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The metric names (identifiers starting with `wolkvox` or `process_`, and `up`/`ALERTS`) that
/// a PromQL expression reads, outside string literals.
pub fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:$".contains(chars[i]))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let is_metric = word.starts_with("wolkvox")
                || word.starts_with("process_")
                || ((word == "up" || word == "ALERTS") && next != Some(&'('));
            if is_metric {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}
