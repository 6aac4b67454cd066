//! The fault matrix: whatever Wolkvox or the network does, the exporter stays up, /metrics
//! answers within a second with a valid exposition, the right `result` is counted with the
//! right wait, and the next good answer recovers.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Notify;
use wolkvox_exporter::config::Config;

const ZONE: &str = "America/Bogota";
/// The first backoff step is 1/32..1/16 of this: 0.5 s to 1 s.
const INTERVAL: Duration = Duration::from_secs(16);

/// Runs `cfg` until its first poll, checks that poll's result and backoff wait, then waits for
/// the recovery poll.
async fn fault_then_recovery(cfg: Config, result: &str) -> Metrics {
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", result)]),
        1.0,
        "{result}"
    );
    assert_eq!(m.value("wolkvox_up", &[]), 0.0, "{result}");
    let wait = m.value("wolkvox_next_poll_timestamp_seconds", &[]) - now.as_second() as f64;
    assert!(
        (0.5 - 1e-3..=1.0 + 1e-3).contains(&wait),
        "{result}: waits {wait}"
    );
    exporter.wait_for_polls(2).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "success")]),
        1.0,
        "{result}: recovered"
    );
    assert_eq!(m.value("wolkvox_up", &[]), 1.0);
    exporter.stop().await;
    m
}

fn cfg_for(url: &reqwest::Url) -> Config {
    let mut cfg = config(url);
    cfg.op_mut().poll_interval = INTERVAL;
    cfg
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_and_the_next_good_answer_recovers() {
    let bodies = [
        r#"{"code":200,"data":[{"rp_id":"1","calls":"2""#.to_owned(),
        "<!DOCTYPE html><html><body>Error 500</body></html>".to_owned(),
        r#"{"code":200,"msg":"ok","data":null}"#.to_owned(),
        r#"{"code":200,"msg":"ok"}"#.to_owned(),
        r#"{"code":200,"msg":"ok","data":42}"#.to_owned(),
        "".to_owned(),
    ];
    for body in bodies {
        let (sim, url) = spawn_simulator().await;
        sim.push_answer(200, body.clone());
        let m = fault_then_recovery(cfg_for(&url), "decode_error").await;
        assert!(!m.family("wolkvox_ivr_menu_calls").is_empty(), "{body}");
    }
}

#[tokio::test]
async fn a_body_that_trickles_past_the_timeout_is_a_timeout_and_metrics_stay_quick() {
    let trickling = Arc::new(Notify::new());
    let body_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (t, ended) = (trickling.clone(), body_ended.clone());
    let url = spawn_raw(move |i, mut stream| {
        let (t, ended) = (t.clone(), ended.clone());
        async move {
            if i > 0 {
                write_answer(&mut stream, 200, &report_body(&[("1", "1", "1", "1")])).await;
                return;
            }
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{";
            let _ = stream.write_all(head.as_bytes()).await;
            t.notify_one();
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
            ended.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .await;
    let mut cfg = cfg_for(&url);
    // Long enough that a scrape on a busy machine ends well within the call; the body
    // trickles for far longer.
    cfg.op_mut().poll_timeout = Duration::from_secs(5);
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    tokio::time::timeout(EVENT_TIMEOUT, trickling.notified())
        .await
        .unwrap();
    // During the fault: /metrics answers without waiting for the call, and is valid.
    let m = exporter.scrape().await;
    assert_eq!(
        exporter.polls(),
        0,
        "the scrape waited for the call in flight"
    );
    assert_eq!(m.value("wolkvox_up", &[]), 0.0);
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "timeout")]),
        1.0
    );
    // The body trickles for a minute: a timeout that covered only the head would have let
    // the call run until the body ended. No bound on the machine's speed is needed.
    assert!(
        !body_ended.load(std::sync::atomic::Ordering::SeqCst),
        "the timeout covers the body: the call lasted until the body ended"
    );
    exporter.wait_for_polls(2).await;
    assert_eq!(exporter.scrape().await.value("wolkvox_up", &[]), 1.0);
    exporter.stop().await;
}

#[tokio::test]
async fn a_connection_reset_in_the_middle_of_the_body_is_a_network_error() {
    let url = spawn_raw(|i, mut stream| async move {
        if i > 0 {
            write_answer(&mut stream, 200, &report_body(&[("1", "1", "1", "1")])).await;
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"code\":200,\"data\":[";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.flush().await;
        // Linger 0: closing sends a TCP reset instead of a clean end.
        stream.set_zero_linger().unwrap();
        drop(stream);
    })
    .await;
    fault_then_recovery(cfg_for(&url), "network_error").await;
}

#[tokio::test]
async fn a_body_over_the_cap_stops_reading_and_is_a_decode_error() {
    // With a Content-Length...
    let (sim, url) = spawn_simulator().await;
    let rows: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("rp{i}"), "1".to_owned()))
        .collect();
    let rows: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|(rp, opt)| (rp.as_str(), opt.as_str(), "1", "1"))
        .collect();
    sim.push_answer(200, report_body(&rows));
    let mut cfg = cfg_for(&url);
    cfg.max_body_size = 16 * 1024;
    fault_then_recovery(cfg, "decode_error").await;

    // ...and without one: an endless chunked body is cut at the cap, not read to the end.
    let url = spawn_raw(|i, mut stream| async move {
        if i > 0 {
            write_answer(&mut stream, 200, &report_body(&[("1", "1", "1", "1")])).await;
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 4096, " ".repeat(4096));
        // Bounded: 64 MiB at most, far beyond the 16 KiB cap.
        for _ in 0..16_384 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut cfg = cfg_for(&url);
    cfg.max_body_size = 16 * 1024;
    fault_then_recovery(cfg, "decode_error").await;
}

#[tokio::test]
async fn a_report_of_60000_rows_is_read_whole_or_capped_by_max_series() {
    let rows: Vec<(String, String)> = (0..60_000)
        .map(|i| (format!("{}", 1000 + i / 20), format!("OPT_{}", i % 20)))
        .collect();
    let rows: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|(rp, opt)| (rp.as_str(), opt.as_str(), "1,234", "00:01:41"))
        .collect();
    let body = report_body(&rows);
    assert!(body.len() > 4_000_000);

    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((200, body.clone())));
    let mut cfg = config(&url);
    cfg.max_series = 60_000;
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T14:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(m.value("wolkvox_report_rows", &[]), 60_000.0);
    assert_eq!(m.family("wolkvox_ivr_menu_calls").len(), 60_000);
    assert_eq!(m.value("wolkvox_series_dropped_total", &[]), 0.0);
    assert_eq!(
        m.value(
            "wolkvox_ivr_menu_calls",
            &[("rp_id", "3999"), ("cod_opc_menu", "OPT_19")]
        ),
        1234.0
    );
    exporter.stop().await;

    // The default limit keeps the first 10,000 pairs and counts the rest.
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((200, body)));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T14:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(m.family("wolkvox_ivr_menu_calls").len(), 10_000);
    assert_eq!(m.value("wolkvox_series_dropped_total", &[]), 50_000.0);
    assert_eq!(m.value("wolkvox_up", &[]), 1.0);
    exporter.stop().await;
}

#[tokio::test]
async fn a_self_signed_certificate_upstream_is_a_network_error() {
    let (cert, key) = self_signed();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("k.pem"), &key).unwrap();
    let tls = wolkvox_exporter::config::web::TlsFiles {
        cert_file: dir.path().join("c.pem"),
        key_file: dir.path().join("k.pem"),
        min_version: Default::default(),
    };
    let server_config = tls.server_config().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sim = crate::common::TestSim::new(Default::default());
    // The exporter's own listener serves the simulator over TLS.
    let limits = wolkvox_exporter::config::Config::new(
        wolkvox_exporter::config::ServerCode::parse("1").unwrap(),
        reqwest::Url::parse("http://127.0.0.1:9/").unwrap(),
        wolkvox_exporter::config::Token::new("t").unwrap(),
    )
    .limits;
    tokio::spawn(wolkvox_exporter::serve::listener::serve(
        listener,
        sim.router(),
        Some(Arc::new(arc_swap::ArcSwap::from_pointee(server_config))),
        limits,
        std::future::pending(),
    ));
    let url = reqwest::Url::parse(&format!("https://127.0.0.1:{}", addr.port())).unwrap();
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg_for(&url), now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "network_error")]),
        1.0
    );
    assert_eq!(
        sim.stats().requests,
        0,
        "no request got through an untrusted certificate"
    );
    exporter.stop().await;
}
