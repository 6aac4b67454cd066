//! The benchmark harness (benches/exporter, run by `scripts/bench`) at its smallest size, so
//! that CI keeps it building and running. Nothing here asserts a duration: only that each part
//! measured what it says it measured.

#[path = "../../benches/exporter/body.rs"]
#[allow(dead_code)]
mod body;
#[path = "../../benches/exporter/ingest.rs"]
#[allow(dead_code)]
mod ingest;
#[path = "../../benches/exporter/operations.rs"]
#[allow(dead_code)]
mod operations;
#[path = "../../benches/exporter/process.rs"]
#[allow(dead_code)]
mod process;
#[path = "../../benches/exporter/scrape.rs"]
#[allow(dead_code)]
mod scrape;
#[path = "../../benches/exporter/serve.rs"]
#[allow(dead_code)]
mod serve;

use std::time::Duration;

use crate::common::sim;

#[test]
fn the_ingest_benchmark_runs_once_at_100_rows() {
    let r = ingest::run(100, 1, Duration::ZERO);
    assert_eq!((r.rows, r.series), (100, 100));
    assert!(r.body_bytes > 100 * 60);
    assert!(r.exposition_bytes.iter().all(|&b| b > 0));
    assert!(r.ratio() > 0.0);
}

#[tokio::test]
async fn the_scrape_benchmark_sees_the_snapshot_bytes_sent_as_they_are() {
    let s = scrape::run(100, 1, 2).await;
    assert!(s.zero_copy, "a scrape copied or re-encoded the exposition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_startup_benchmark_reaches_metrics_once() {
    let upstream = process::Upstream::start().await;
    let (listening, first) = tokio::task::spawn_blocking(move || process::startup(&upstream, 1))
        .await
        .unwrap();
    assert_eq!((listening.len(), first.len()), (1, 1));
    assert!(listening[0] <= first[0]);
}

#[ignore = "needs wrk and nginx"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_benchmark_runs_once_against_nginx_with_wrk() {
    // scripts/setup installs both (Debian: wrk, nginx-light); under CI a missing one fails.
    let upstream = process::Upstream::start().await;
    let load = serve::Load {
        threads: 1,
        connections: 2,
        seconds: 1,
        rounds: 1,
    };
    // The harness itself checks that nginx serves the exporter's very bytes, plain and gzip.
    let runs = tokio::task::spawn_blocking(move || serve::run(&upstream, 100, load))
        .await
        .unwrap();
    let encodings: Vec<&str> = runs.iter().map(|r| r.encoding).collect();
    assert_eq!(encodings, ["plain", "gzip"]);
    for r in &runs {
        assert_eq!(r.series, 100);
        assert!(r.exporter_rps > 0.0, "{r:?}");
        // Both nginx configurations ran, and the reference is the faster of the two.
        let [one, two] = r.nginx_rps_by_workers;
        assert!(one > 0.0 && two > 0.0, "{r:?}");
        assert_eq!(r.nginx_workers, if one >= two { 1 } else { 2 }, "{r:?}");
        assert!(r.ratio > 0.0 && r.ratio.is_finite(), "{r:?}");
    }
    assert!(runs[1].body_bytes < runs[0].body_bytes, "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operations_benchmark_runs_once_with_ten_operations() {
    let upstream = process::Upstream::start().await;
    let r = tokio::task::spawn_blocking(move || operations::run(&upstream, 10, 100, 3, 1))
        .await
        .unwrap();
    assert_eq!((r.operations, r.series), (10, 100));
    assert!(r.polls >= 3, "{r:?}");
    assert!(r.steady_kib > 0 && r.first_polls_peak_kib > 0, "{r:?}");
    assert!(r.bytes_per_series() > 0.0 && r.peak_ratio() > 0.0, "{r:?}");
    // The gzip body is smaller than the plain one: it was served compressed.
    assert!(r.body[1] > 0 && r.body[1] < r.body[0], "{r:?}");
}
