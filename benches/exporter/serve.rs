//! Serving: /metrics of the exporter against nginx serving the very same bytes from a static
//! file (a pre-compressed copy through gzip_static for gzip), both driven by wrk over
//! keep-alive connections, alternating in one run. nginx runs with 1 and with 2 worker
//! processes: on 2 cores shared with wrk, either may be the faster, and the faster of the two
//! is the reference.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{Exporter, Upstream, get};

/// Figures for one size and one encoding; rates and latencies are medians over the rounds.
#[derive(Debug, Clone)]
pub struct Serve {
    /// Data series in the exposition.
    pub series: usize,
    /// "plain" or "gzip".
    pub encoding: &'static str,
    /// Bytes per response body.
    pub body_bytes: usize,
    /// Requests per second, exporter.
    pub exporter_rps: f64,
    /// Requests per second, nginx with 1 and with 2 worker processes.
    pub nginx_rps_by_workers: [f64; 2],
    /// Worker processes of the faster nginx (1 or 2).
    pub nginx_workers: usize,
    /// Median of the per-round ratios exporter / the faster nginx.
    pub ratio: f64,
    /// 99th percentile latency, exporter.
    pub exporter_p99: Duration,
    /// 99th percentile latency, the faster nginx.
    pub nginx_p99: Duration,
}

/// What wrk reported for one run.
#[derive(Debug, Clone, Copy)]
struct WrkRun {
    rps: f64,
    p99: Duration,
}

/// How wrk drives the servers.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// wrk threads.
    pub threads: u32,
    /// Keep-alive connections.
    pub connections: u32,
    /// Seconds per run.
    pub seconds: u32,
    /// Runs per server, alternating.
    pub rounds: usize,
}

fn wrk(addr: &str, gzip: bool, load: Load) -> WrkRun {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &load.threads.to_string(),
        "-c",
        &load.connections.to_string(),
        "-d",
        &format!("{}s", load.seconds),
        "--timeout",
        "10s",
        "--latency",
    ]);
    if gzip {
        cmd.args(["-H", "Accept-Encoding: gzip"]);
    }
    let out = cmd
        .arg(format!("http://{addr}/metrics"))
        .output()
        .expect("wrk runs (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("Non-2xx"),
        "wrk failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_wrk_duration(v.trim()))
        .unwrap_or_else(|| panic!("no 99% line in\n{text}"));
    WrkRun { rps, p99 }
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`, `1.50m`.
fn parse_wrk_duration(v: &str) -> Duration {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    let seconds = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => panic!("wrk duration {v}"),
    };
    Duration::from_secs_f64(seconds)
}

/// Worker processes of the two nginx configurations measured.
const NGINX_WORKERS: [usize; 2] = [1, 2];

/// nginx serving `www/metrics` (and `metrics.gz` through gzip_static) on a free port, with its
/// configuration, pid and logs in `dir`.
struct Nginx {
    child: Child,
    addr: String,
}

impl Nginx {
    fn start(dir: &Path, www: &Path, content_type: &str, workers: usize) -> Nginx {
        // nginx cannot report a port it picked: take a free one from the system and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let d = dir.display();
        let w = www.display();
        // As root, nginx's workers would switch to `nobody`, whose group Debian lacks.
        let user = if is_root() { "user root root;" } else { "" };
        let conf = format!(
            r#"{user}
worker_processes {workers};
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    open_file_cache max=16 inactive=60s;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{ }}
    default_type "{content_type}";
    server {{
        listen {addr};
        root {w};
        location = /metrics {{
            gzip_static on;
            gzip_vary on;
        }}
    }}
}}
"#
        );
        std::fs::create_dir_all(dir.join("tmp")).expect("temp dir");
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (Debian package nginx-light)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while get(&addr, "/metrics", &[]).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Nginx { child, addr }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the comparison for one report size: `series` rows, plain and gzip.
pub fn run(upstream: &Upstream, series: usize, load: Load) -> Vec<Serve> {
    upstream.answer_rows(series);
    let max_series = series.max(1).to_string();
    let exporter = Exporter::start(
        upstream,
        &["--poll.interval", "1h", "--report.max-series", &max_series],
    );
    exporter.wait_ready();

    let dir = tempfile::tempdir().expect("temp dir");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).expect("www");
    let (status, headers, plain) = get(&exporter.addr, "/metrics", &[]);
    assert_eq!(status, 200);
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .expect("Content-Type");
    let (_, _, gzip) = get(&exporter.addr, "/metrics", &[("Accept-Encoding", "gzip")]);
    std::fs::write(www.join("metrics"), &plain).expect("write");
    std::fs::write(www.join("metrics.gz"), &gzip).expect("write");
    // nginx's workers may run as another user: let them read the files.
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status();
    // Both nginx configurations live side by side in their own directories; an idle one costs
    // nothing while the other is measured.
    let nginx: Vec<Nginx> = NGINX_WORKERS
        .iter()
        .map(|&workers| {
            let conf_dir = dir.path().join(format!("nginx-{workers}"));
            Nginx::start(&conf_dir, &www, &content_type, workers)
        })
        .collect();
    // The very same bytes from both, and the same Content-Encoding.
    for (accept, expected) in [(None, &plain), (Some("gzip"), &gzip)] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
        for n in &nginx {
            let (_, nh, body) = get(&n.addr, "/metrics", &headers);
            assert_eq!(&body, expected, "nginx serves other bytes");
            let encoded = nh
                .iter()
                .any(|(k, v)| k == "content-encoding" && v == "gzip");
            assert_eq!(encoded, accept.is_some(), "nginx's Content-Encoding");
        }
    }

    // The servers in turn: the exporter, then each nginx.
    let addrs: Vec<&str> = std::iter::once(exporter.addr.as_str())
        .chain(nginx.iter().map(|n| n.addr.as_str()))
        .collect();
    let mut out = Vec::new();
    for (encoding, gz, bytes) in [("plain", false, plain.len()), ("gzip", true, gzip.len())] {
        // runs[server][round]
        let mut runs: Vec<Vec<WrkRun>> = vec![Vec::new(); addrs.len()];
        for round in 0..load.rounds {
            // Rotate which server goes first, so that none always follows the same other.
            for i in 0..addrs.len() {
                let server = (round + i) % addrs.len();
                runs[server].push(wrk(addrs[server], gz, load));
            }
        }
        let median_rps =
            |runs: &[WrkRun]| median_f64(&mut runs.iter().map(|r| r.rps).collect::<Vec<_>>());
        let by_workers: Vec<f64> = runs[1..].iter().map(|r| median_rps(r)).collect();
        // On a tie, the fewer workers.
        let best = usize::from(by_workers[1] > by_workers[0]);
        let (e, n) = (&runs[0], &runs[1 + best]);
        let mut ratios: Vec<f64> = e.iter().zip(n).map(|(e, n)| e.rps / n.rps).collect();
        out.push(Serve {
            series,
            encoding,
            body_bytes: bytes,
            exporter_rps: median_rps(e),
            nginx_rps_by_workers: [by_workers[0], by_workers[1]],
            nginx_workers: NGINX_WORKERS[best],
            ratio: median_f64(&mut ratios),
            exporter_p99: super::ingest::median(&mut e.iter().map(|r| r.p99).collect::<Vec<_>>()),
            nginx_p99: super::ingest::median(&mut n.iter().map(|r| r.p99).collect::<Vec<_>>()),
        });
    }
    drop(nginx);
    drop(exporter);
    out
}
