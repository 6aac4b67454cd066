//! The exporter as a process: the release binary started against an upstream that answers a
//! fixed report, its memory read from /proc, its start-up timed, its size stated.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use wolkvox_exporter::demo::simulator::SimulatorConfig;

use super::sim::TestSim;

/// The build that the process sections run, once `use_binary` has named one.
static CURRENT: Mutex<Option<String>> = Mutex::new(None);

/// The binary under test: the one named by `use_binary`, else WOLKVOX_BENCH_BINARY, else the
/// one cargo built with this harness (the bench profile: release settings, stripped).
pub fn binary() -> String {
    if let Some(path) = CURRENT.lock().expect("not poisoned").clone() {
        return path;
    }
    std::env::var("WOLKVOX_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_wolkvox-exporter").to_owned())
}

/// Makes `path` the binary that the next exporters start from.
pub fn use_binary(path: &str) {
    *CURRENT.lock().expect("not poisoned") = Some(path.to_owned());
}
pub const TOKEN: &str = "bench-token-0f4d2c";
/// Longest wait for an event before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// A simulated Wolkvox API that answers every report call with one fixed body.
pub struct Upstream {
    /// The simulator, for its request counter.
    pub sim: TestSim,
    /// Its base URL.
    pub url: String,
}

impl Upstream {
    /// Starts the simulator on the current tokio runtime.
    pub async fn start() -> Upstream {
        wolkvox_exporter::upstream::client::install_crypto_provider();
        let (sim, addr) = TestSim::spawn(SimulatorConfig {
            tokens: vec![TOKEN.to_owned()],
            // The operations section starts a thousand first polls at once, with one token.
            max_in_flight_per_token: 10_000,
            ..SimulatorConfig::default()
        })
        .await
        .expect("the simulator binds");
        Upstream {
            sim,
            url: format!("http://{addr}"),
        }
    }

    /// Answers every call with a report of `rows` rows; returns the body's size.
    pub fn answer_rows(&self, rows: usize) -> usize {
        let body = super::body::report_body(rows);
        let len = body.len();
        self.sim.set_fixed_answer(Some((200, body)));
        len
    }

    /// Report calls received so far.
    pub fn requests(&self) -> u64 {
        self.sim.stats().requests
    }

    /// Waits until at least `n` report calls have arrived.
    pub fn wait_requests(&self, n: u64) {
        let deadline = Instant::now() + PATIENCE;
        while self.requests() < n {
            assert!(Instant::now() < deadline, "{n} polls did not come in time");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A running exporter; killed when dropped.
pub struct Exporter {
    child: Child,
    /// Where it listens.
    pub addr: String,
    /// Time from spawn to the `listening` log line.
    pub listening_after: Duration,
}

impl Exporter {
    /// Starts the binary against `upstream` with `extra` flags and waits for its address.
    pub fn start(upstream: &Upstream, extra: &[&str]) -> Exporter {
        let mut args = vec!["--wolkvox.server", "0032", "--wolkvox.url", &upstream.url];
        args.extend_from_slice(extra);
        Exporter::start_with(&args, &[("WOLKVOX_TOKEN", TOKEN)])
    }

    /// Starts the binary with `args` (and a listen address) and only `env` in its
    /// environment, and waits for its address.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Exporter {
        let started = Instant::now();
        let mut child = Command::new(binary())
            .env_clear()
            .envs(env.iter().copied())
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the exporter starts");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Read every line so that the pipe never fills up; hand over the first address.
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("msg=listening")
                    && let Some(a) = line
                        .split_whitespace()
                        .find_map(|kv| kv.strip_prefix("address="))
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(a.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .expect("the exporter logs its address");
        Exporter {
            child,
            addr,
            listening_after: started.elapsed(),
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until /readyz answers 200 (the first poll has been published).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + PATIENCE;
        while get(&self.addr, "/readyz", &[]).0 != 200 {
            assert!(Instant::now() < deadline, "the exporter never got ready");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A line of /proc/PID/status, in KiB.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the exporter runs");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
    }

    /// CPU time the process has used so far, user and system (/proc/PID/stat).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("the exporter runs");
        // Fields after the command name, which is in parentheses: utime and stime are the
        // 14th and 15th fields of the line, in clock ticks (100 a second on Linux).
        let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// Resets the peak resident size (VmHWM) to the current one.
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .expect("clear_refs is writable for our own child");
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 GET with `Connection: close`: status, headers (lower-case names), body.
pub fn get(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return (0, Vec::new(), Vec::new());
    };
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, Vec::new(), Vec::new());
    }
    let mut raw = Vec::new();
    if stream.read_to_end(&mut raw).is_err() {
        return (0, Vec::new(), Vec::new());
    }
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, Vec::new(), Vec::new());
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[end + 4..].to_vec())
}

/// Memory of the exporter, in KiB.
#[derive(Debug, Clone)]
pub struct Memory {
    /// Resident set idle with a report of `idle_series` series, after a few scrapes.
    pub idle_rss: u64,
    /// Series of that report.
    pub idle_series: usize,
    /// Rows of the large report.
    pub large_rows: usize,
    /// Its body size, bytes.
    pub large_body: usize,
    /// Peak resident set of the whole process life up to the first large poll published.
    pub first_poll_peak: u64,
    /// Resident set between polls with the large report served.
    pub large_rss: u64,
    /// Peak resident set during one later poll (old snapshot still alive while the new one is
    /// built).
    pub later_poll_peak: u64,
    /// Polls counted for the growth figure.
    pub growth_polls: u64,
    /// Rows of the report used for the growth figure.
    pub growth_rows: usize,
    /// Resident set after the warm-up polls, and after `growth_polls` more.
    pub growth: (u64, u64),
}

/// Measures idle memory, the peak of a large poll, and growth across many polls.
pub fn memory(
    upstream: &Upstream,
    large_rows: usize,
    growth_rows: usize,
    growth_polls: u64,
) -> Memory {
    let idle_series = 100;
    upstream.answer_rows(idle_series);
    let exporter = Exporter::start(upstream, &["--poll.interval", "1h"]);
    exporter.wait_ready();
    for _ in 0..20 {
        get(&exporter.addr, "/metrics", &[]);
        get(&exporter.addr, "/metrics", &[("Accept-Encoding", "gzip")]);
    }
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = exporter.status_kib("VmRSS");
    drop(exporter);

    // The large report: the first poll, then a later one with the previous snapshot alive.
    let large_body = upstream.answer_rows(large_rows);
    let before = upstream.requests();
    let max_series = large_rows.to_string();
    let exporter = Exporter::start(
        upstream,
        &["--poll.interval", "2s", "--report.max-series", &max_series],
    );
    exporter.wait_ready();
    let first_poll_peak = exporter.status_kib("VmHWM");
    get(&exporter.addr, "/metrics", &[]);
    get(&exporter.addr, "/metrics", &[("Accept-Encoding", "gzip")]);
    // When poll 3 starts, poll 2 is published and its snapshot is served: that is the resident
    // set between polls. Poll 3 is over (the poller publishes before it sleeps) once poll 4
    // starts; the peak in between is that of one poll with the previous snapshot alive. The
    // peak is reset while poll 3's body arrives, which only ever lowers the starting point.
    upstream.wait_requests(before + 3);
    let large_rss = exporter.status_kib("VmRSS");
    exporter.reset_peak();
    upstream.wait_requests(before + 4);
    let later_poll_peak = exporter.status_kib("VmHWM");
    drop(exporter);

    // Growth: back-to-back polls.
    upstream.answer_rows(growth_rows);
    let before = upstream.requests();
    let max_series = growth_rows.to_string();
    let exporter = Exporter::start(
        upstream,
        &[
            "--poll.interval",
            "50ms",
            "--report.max-series",
            &max_series,
        ],
    );
    let warm_up = 10;
    upstream.wait_requests(before + warm_up + 1);
    let start = exporter.status_kib("VmRSS");
    upstream.wait_requests(before + warm_up + growth_polls + 1);
    let end = exporter.status_kib("VmRSS");
    drop(exporter);

    Memory {
        idle_rss,
        idle_series,
        large_rows,
        large_body,
        first_poll_peak,
        large_rss,
        later_poll_peak,
        growth_polls,
        growth_rows,
        growth: (start, end),
    }
}

/// Start-up: from spawn to the first 200 on /metrics, `runs` times.
pub fn startup(upstream: &Upstream, runs: usize) -> (Vec<Duration>, Vec<Duration>) {
    upstream.answer_rows(100);
    let (mut listening, mut first_scrape) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let exporter = Exporter::start(upstream, &["--poll.interval", "1h"]);
        while get(&exporter.addr, "/metrics", &[]).0 != 200 {
            assert!(started.elapsed() < PATIENCE, "no /metrics");
        }
        first_scrape.push(started.elapsed());
        listening.push(exporter.listening_after);
    }
    (listening, first_scrape)
}

/// Size of the binary, bytes, and whether it still has a symbol table.
pub fn binary_size() -> (u64, bool) {
    let bytes = std::fs::read(binary()).expect("the binary exists");
    // An ELF section named .symtab survives only in unstripped binaries.
    let symbols = bytes.windows(8).any(|w| w == b".symtab\0");
    (bytes.len() as u64, symbols)
}
