//! Soak: the exporter binary against the simulator with faults injected into half of the calls
//! and a 100 ms interval, while a load generator scrapes /metrics. Length: SOAK_SECONDS (default 8 in
//! the test suite; `scripts/soak` runs longer). Reports scrapes served and failed, invalid
//! expositions (must be 0), the simulator's in-flight maximum (must be 1), resident memory at
//! start and end (must not grow beyond noise), and that the process still runs.

use crate::common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncBufReadExt, BufReader};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// A light structural check of one exposition, for every scrape; promtool checks a sample.
fn looks_valid(body: &str) -> bool {
    body.contains("# TYPE wolkvox_up gauge")
        && body.contains("wolkvox_polls_total{")
        && body.lines().all(|l| {
            l.starts_with("# HELP ") || l.starts_with("# TYPE ") || {
                let value = l.rsplit(' ').next().unwrap_or("");
                (l.starts_with("wolkvox_") || l.starts_with("process_"))
                    && value.parse::<f64>().is_ok()
            }
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_faults_keeps_metrics_valid_memory_flat_and_one_call_in_flight() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let (sim, url) = spawn_simulator().await;
    sim.set_fault_rate(0.5);

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wolkvox-exporter"))
        .env_clear()
        .env("WOLKVOX_TOKEN", TOKEN)
        .args([
            "--wolkvox.server",
            SERVER,
            "--wolkvox.url",
            url.as_str(),
            "--poll.interval",
            "100ms",
            "--poll.timeout",
            "300ms",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(EVENT_TIMEOUT, lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("the exporter logs its address");
        if let Some(a) = line
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("address="))
        {
            if line.contains("msg=listening") {
                break a.to_owned();
            }
        }
    };
    // Keep reading the log so that the pipe never fills up.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let url = format!("http://{addr}/metrics");
    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let invalid = Arc::new(AtomicU64::new(0));
    // Warm up: a few seconds of polls and scrapes before the first memory reading.
    let warm_up = Duration::from_secs(2.min(seconds));
    let deadline = Instant::now() + warm_up + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (url, served, failed, invalid) =
            (url.clone(), served.clone(), failed.clone(), invalid.clone());
        workers.push(tokio::spawn(async move {
            let client = http();
            while Instant::now() < deadline {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => match r.text().await {
                        Ok(body) if looks_valid(&body) => {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            invalid.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(warm_up).await;
    let rss_start = rss_kib(pid);
    // Once a second, one full body goes through promtool.
    let mut promtool_runs = 0;
    while Instant::now() < deadline {
        let body = http().get(&url).send().await.unwrap().text().await.unwrap();
        tokio::task::spawn_blocking(move || promtool_check(&body))
            .await
            .unwrap();
        promtool_runs += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for w in workers {
        w.await.unwrap();
    }
    let rss_end = rss_kib(pid);
    let still_running = child.try_wait().unwrap().is_none();
    let stats = sim.stats();
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "soak: {seconds}s on {} cores ({machine}): scrapes served {} failed {} invalid {}, promtool checks {promtool_runs}, \
         simulator requests {} max in flight {}, RSS start {rss_start} KiB end {rss_end} KiB, still running {still_running}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        served.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        invalid.load(Ordering::Relaxed),
        stats.requests,
        stats.max_in_flight,
    );
    assert!(still_running, "the exporter survived");
    assert_eq!(invalid.load(Ordering::Relaxed), 0, "invalid expositions");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed scrapes");
    assert!(served.load(Ordering::Relaxed) > 0);
    assert_eq!(stats.max_in_flight, 1, "one call in flight at most");
    assert!(stats.requests > seconds, "polls kept going under faults");
    // Noise: allocator caches and the first large answers; growth would show as far more.
    assert!(
        rss_end <= rss_start + rss_start / 2 + 4096,
        "RSS grew from {rss_start} to {rss_end} KiB"
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait().await;
}
