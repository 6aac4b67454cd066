//! The standard process metrics of the exporter binary, scraped over real HTTP: present with
//! their types, plausible, about the exporter's own process, and read again in the background.
#![cfg(target_os = "linux")]

use crate::common;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::*;
use wolkvox_exporter::sys::process::{REFRESH_INTERVAL, parse_max_open_files};

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// Connections the test holds open on the exporter: as many descriptors more in its process.
const HELD: u64 = 8;

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_metrics_describe_the_exporter_and_are_read_again_in_the_background() {
    let (_sim, url) = spawn_simulator().await;
    let spawned_at = now_seconds();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("WOLKVOX_TOKEN", TOKEN)
        .args(["--wolkvox.server", SERVER, "--wolkvox.url", url.as_str()])
        .args(["--web.listen-address", "127.0.0.1:0"])
        // The held connections send nothing: keep them open for the whole test.
        .args(["--web.read-header-timeout", "5m"]);
    let mut exporter = Process::start(&mut cmd);
    let addr = exporter.address();
    let pid = exporter.child.id();

    let first = scrape(&addr).await;
    for (name, ty) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert_eq!(
            first.types.get(name).map(String::as_str),
            Some(ty),
            "{name}"
        );
        assert_eq!(first.family(name).len(), 1, "{name}: one sample");
    }
    let value = |m: &Metrics, name: &str| m.value(name, &[]);
    let cpu = value(&first, "process_cpu_seconds_total");
    let resident = value(&first, "process_resident_memory_bytes");
    let open_fds = value(&first, "process_open_fds");
    let start = value(&first, "process_start_time_seconds");
    assert!(cpu >= 0.0, "{cpu}");
    assert!(resident > 0.0, "{resident}");
    assert!(resident <= value(&first, "process_virtual_memory_bytes"));
    assert!(open_fds > 0.0 && open_fds <= value(&first, "process_max_fds"));
    // The exporter's own limit, not the test's: read from its /proc entry.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    assert_eq!(
        value(&first, "process_max_fds"),
        parse_max_open_files(&limits).unwrap() as f64
    );
    // Started after this test spawned it (the kernel's boot time is whole seconds), and
    // before the scrape.
    assert!(
        start >= spawned_at.floor() - 1.0 && start <= now_seconds(),
        "start {start}, spawned at {spawned_at}"
    );

    // Each held connection is a descriptor of the exporter; the next reading shows them.
    let held: Vec<TcpStream> = (0..HELD)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let asked = Instant::now();
    let deadline = asked + REFRESH_INTERVAL + EVENT_TIMEOUT;
    let later = loop {
        let m = scrape(&addr).await;
        if value(&m, "process_open_fds") >= open_fds + HELD as f64 {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "process_open_fds stayed {} after {HELD} connections",
            value(&m, "process_open_fds")
        );
        tokio::time::sleep(REFRESH_INTERVAL / 10).await;
    };
    eprintln!(
        "open_fds {open_fds} -> {} after {:?}",
        value(&later, "process_open_fds"),
        asked.elapsed()
    );
    assert!(value(&later, "process_cpu_seconds_total") >= cpu);
    assert_eq!(value(&later, "process_start_time_seconds"), start);
    drop(held);
}
