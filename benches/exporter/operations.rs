//! Operations: the release binary with N operations of S series each (a configuration file,
//! every operation against the one upstream), to show that a poll costs in proportion to its
//! own operation's series and not to the others': CPU per poll, resident memory per series,
//! the peak while every first poll lands, and the time of a scrape.

use std::time::{Duration, Instant};

use super::process::{Exporter, TOKEN, Upstream, get};

/// What one size measured.
#[derive(Debug, Clone)]
pub struct Operations {
    /// Operations in the configuration file.
    pub operations: usize,
    /// Series of each operation's report.
    pub series: usize,
    /// Process CPU time (user + system) over the measured polls, per poll.
    pub cpu_per_poll: Duration,
    /// Polls measured.
    pub polls: u64,
    /// Resident set between polls once every operation is served, KiB.
    pub steady_kib: u64,
    /// Peak resident set from start until every first poll was published, KiB.
    pub first_polls_peak_kib: u64,
    /// Time of a plain and a gzip scrape (medians), and their bodies' sizes.
    pub scrape: [Duration; 2],
    /// Body sizes, plain and gzip.
    pub body: [usize; 2],
}

impl Operations {
    /// Resident bytes per series (the whole process over all series).
    pub fn bytes_per_series(&self) -> f64 {
        self.steady_kib as f64 * 1024.0 / (self.operations * self.series) as f64
    }

    /// Peak of the first polls over the steady resident set.
    pub fn peak_ratio(&self) -> f64 {
        self.first_polls_peak_kib as f64 / self.steady_kib as f64
    }
}

/// Runs `operations` operations of `series` series each, measuring `polls` polls after all
/// first polls (at least), and `scrapes` scrapes of each encoding.
pub fn run(
    upstream: &Upstream,
    operations: usize,
    series: usize,
    polls: u64,
    scrapes: usize,
) -> Operations {
    upstream.answer_rows(series);
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("writable");
    // Polls come at about 20 a second whatever the number of operations (all start at once),
    // so that CPU per poll compares like with like; large reports get more time each.
    let per_op_ms = if series > 10_000 { 500 } else { 50 };
    let interval = format!("{}ms", (operations as u64 * per_op_ms).max(50));
    let mut yaml = format!("poll_interval: {interval}\noperations:\n");
    for i in 0..operations {
        yaml.push_str(&format!(
            "  - name: op{i:04}\n    server: \"0032\"\n    url: {}\n    token_file: token\n",
            upstream.url
        ));
    }
    let config = dir.path().join("operations.yml");
    std::fs::write(&config, yaml).expect("writable");
    let max_series = series.to_string();
    let before = upstream.requests();
    let exporter = Exporter::start_with(
        &[
            "--config.file",
            config.to_str().expect("a UTF-8 path"),
            "--report.max-series",
            &max_series,
            // The worst case: every first poll at once, as before --poll.start-spread.
            "--poll.start-spread",
            "0",
        ],
        &[],
    );
    // Ready once every operation has published its first poll.
    exporter.wait_ready();
    let first_polls_peak_kib = exporter.status_kib("VmHWM");
    upstream.wait_requests(before + operations as u64);

    let (requests, cpu) = (upstream.requests(), exporter.cpu_time());
    upstream.wait_requests(requests + polls + 1);
    // The last request's poll may still be under way: count the ones before it.
    let measured = upstream.requests() - requests - 1;
    let cpu_per_poll = (exporter.cpu_time() - cpu) / measured.max(1) as u32;
    let steady_kib = exporter.status_kib("VmRSS");

    let mut scrape = [Duration::ZERO; 2];
    let mut body = [0; 2];
    for (i, headers) in [&[][..], &[("Accept-Encoding", "gzip")][..]]
        .into_iter()
        .enumerate()
    {
        let mut times = Vec::with_capacity(scrapes);
        for _ in 0..scrapes {
            let start = Instant::now();
            let (status, _, bytes) = get(&exporter.addr, "/metrics", headers);
            times.push(start.elapsed());
            assert_eq!(status, 200, "/metrics answers");
            body[i] = bytes.len();
        }
        scrape[i] = super::ingest::median(&mut times);
    }
    Operations {
        operations,
        series,
        cpu_per_poll,
        polls: measured,
        steady_kib,
        first_polls_peak_kib,
        scrape,
        body,
    }
}
