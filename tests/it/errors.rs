//! The error table of docs/wolkvox-api.md, row by row, over real HTTP: each answer gives
//! its `result` label, `wolkvox_up`, and its wait before the next call (read from
//! `wolkvox_next_poll_timestamp_seconds` against the injected clock).

use crate::common;

use std::time::Duration;

use common::*;
use wolkvox_exporter::poller::{CONCURRENCY_PAUSE, QUOTA_MARGIN};

const ZONE: &str = "America/Bogota";
const INTERVAL: Duration = Duration::from_secs(320);

#[derive(Debug, Clone, Copy)]
enum Wait {
    /// Exactly this long.
    Exactly(Duration),
    /// The first step of the backoff: between interval/32 and interval/16.
    FirstBackoff,
}

fn error_body(status: u16, msg: &str) -> String {
    serde_json::json!({"code": status, "error": msg, "msg": msg, "data": null}).to_string()
}

async fn first_poll_with(status: u16, body: String) -> (Metrics, f64) {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((status, body)));
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = INTERVAL;
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let wait = m.value("wolkvox_next_poll_timestamp_seconds", &[]) - now.as_second() as f64;
    assert_eq!(sim.stats().requests, 1, "one call only");
    exporter.stop().await;
    (m, wait)
}

fn check(m: &Metrics, wait: f64, result: &str, up: f64, expected: Wait) {
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", result)]),
        1.0,
        "{result}"
    );
    let total: f64 = m
        .family("wolkvox_polls_total")
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(total, 1.0, "{result}: counted once");
    assert_eq!(m.value("wolkvox_up", &[]), up, "{result}: up");
    match expected {
        Wait::Exactly(d) => assert!(
            (wait - d.as_secs_f64()).abs() < 1e-3,
            "{result}: waits {wait}s, expected {d:?}"
        ),
        Wait::FirstBackoff => {
            let lo = INTERVAL.as_secs_f64() / 32.0;
            let hi = INTERVAL.as_secs_f64() / 16.0;
            assert!(
                wait >= lo - 1e-3 && wait <= hi + 1e-3,
                "{result}: waits {wait}s"
            );
        }
    }
}

#[tokio::test]
async fn each_documented_answer_gives_its_result_up_and_wait() {
    // 14:00 in Bogota: the next local midnight is ten hours away.
    let until_midnight = Duration::from_secs(10 * 3600) + QUOTA_MARGIN;
    let table: Vec<(u16, String, &str, f64, Wait)> = vec![
        (
            400,
            error_body(400, "THE API YOU WANT TO CONSULT DOES NOT EXIST"),
            "client_error",
            0.0,
            Wait::Exactly(INTERVAL),
        ),
        (
            400,
            error_body(400, "SOME PARAMETERS ARE REQUIRED"),
            "client_error",
            0.0,
            Wait::Exactly(INTERVAL),
        ),
        (
            401,
            error_body(401, "PLEASE ENTER THE WOLKVOX-TOKEN"),
            "unauthorized",
            0.0,
            Wait::Exactly(INTERVAL),
        ),
        (
            403,
            error_body(403, "PLEASE VALIDATE TOKEN"),
            "unauthorized",
            0.0,
            Wait::Exactly(INTERVAL),
        ),
        (
            403,
            error_body(403, "TOKEN LIMIT EXCEEDED"),
            "quota_exceeded",
            0.0,
            Wait::Exactly(until_midnight),
        ),
        (
            403,
            error_body(
                403,
                "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)",
            ),
            "concurrency_limited",
            0.0,
            Wait::Exactly(CONCURRENCY_PAUSE),
        ),
        (
            403,
            "<html><body>Server backup in progress</body></html>".into(),
            "maintenance",
            0.0,
            Wait::FirstBackoff,
        ),
        (
            404,
            error_body(404, "Validate dates entered"),
            "no_data",
            1.0,
            Wait::Exactly(INTERVAL),
        ),
        // Wolkvox's 404 body is not documented: a string code and `data: []` is its envelope too.
        (
            404,
            r#"{"code":"404","error":null,"msg":"Validate dates entered","data":[]}"#.into(),
            "no_data",
            1.0,
            Wait::Exactly(INTERVAL),
        ),
        // A 404 without the envelope comes from something else on the path: a wrong URL.
        (404, "".into(), "not_found", 0.0, Wait::FirstBackoff),
        (
            404,
            "<html><body><h1>404 Not Found</h1></body></html>".into(),
            "not_found",
            0.0,
            Wait::FirstBackoff,
        ),
        (
            404,
            r#"{"detail":"Not Found"}"#.into(),
            "not_found",
            0.0,
            Wait::FirstBackoff,
        ),
        (
            500,
            "Internal Server Error".into(),
            "server_error",
            0.0,
            Wait::FirstBackoff,
        ),
        (
            502,
            "<html>Bad Gateway</html>".into(),
            "server_error",
            0.0,
            Wait::FirstBackoff,
        ),
        (503, "".into(), "server_error", 0.0, Wait::FirstBackoff),
        (
            200,
            "<html><body>Welcome</body></html>".into(),
            "decode_error",
            0.0,
            Wait::FirstBackoff,
        ),
    ];
    for (status, body, result, up, wait) in table {
        let (m, waited) = first_poll_with(status, body).await;
        check(&m, waited, result, up, wait);
        if result == "no_data" {
            assert!(m.family("wolkvox_ivr_menu_calls").is_empty());
            assert_eq!(m.value("wolkvox_report_rows", &[]), 0.0);
        }
    }
}

#[tokio::test]
async fn a_timeout_is_counted_and_backs_off() {
    let (sim, url) = spawn_simulator().await;
    sim.set_latency(Duration::from_secs(30));
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = INTERVAL;
    cfg.op_mut().poll_timeout = Duration::from_millis(300);
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let wait = m.value("wolkvox_next_poll_timestamp_seconds", &[]) - now.as_second() as f64;
    check(&m, wait, "timeout", 0.0, Wait::FirstBackoff);
    // The abandoned call is gone at the simulator too: nothing is left in flight.
    tokio::time::timeout(EVENT_TIMEOUT, sim.wait_for(|s| s.in_flight == 0))
        .await
        .expect("the timed-out request was closed");
    exporter.stop().await;
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    // Bind a port, then free it: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = INTERVAL;
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let wait = m.value("wolkvox_next_poll_timestamp_seconds", &[]) - now.as_second() as f64;
    check(&m, wait, "network_error", 0.0, Wait::FirstBackoff);
    exporter.stop().await;
}

#[tokio::test]
async fn the_next_good_answer_recovers_and_the_failure_stays_counted() {
    let (sim, url) = spawn_simulator().await;
    sim.push_answer(500, "Internal Server Error");
    let mut cfg = config(&url);
    // Short interval: the first backoff step is 1/32 to 1/16 of it.
    cfg.op_mut().poll_interval = Duration::from_millis(800);
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T14:00:00")).await;
    exporter.wait_for_polls(2).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "server_error")]),
        1.0
    );
    assert!(m.value("wolkvox_polls_total", &[("result", "success")]) >= 1.0);
    assert_eq!(m.value("wolkvox_up", &[]), 1.0);
    assert!(!m.family("wolkvox_ivr_menu_calls").is_empty());
    exporter.stop().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// A plain HTTP server that is not Wolkvox: every path answers `status` with `body`, as a web
/// server, a proxy or a load balancer does for a path it does not know.
async fn spawn_not_wolkvox(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> reqwest::Url {
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let app = axum::Router::new().fallback(move || async move {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, content_type)],
            body,
        )
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    reqwest::Url::parse(&format!("http://{addr}")).unwrap()
}

/// Runs `check --output json` against `url`; returns the exit code and the one result.
async fn check_json(url: &reqwest::Url) -> (i32, serde_json::Value) {
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("WOLKVOX_TOKEN", TOKEN)
        .args(["check", "--output", "json", "--wolkvox.server", SERVER])
        .args(["--wolkvox.url", url.as_str()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let results: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), results[0].clone())
}

#[tokio::test]
async fn check_fails_for_a_server_that_is_not_wolkvox_and_names_the_url_flag() {
    let empty = spawn_not_wolkvox(404, "text/plain", "").await;
    let html = spawn_not_wolkvox(404, "text/html", "<html><body>Not Found</body></html>").await;
    let json = spawn_not_wolkvox(404, "application/json", r#"{"message":"Not Found"}"#).await;
    for url in [&empty, &html, &json] {
        let (code, result) = check_json(url).await;
        assert_eq!(code, 1, "{result}");
        assert_eq!(result["result"], "not_found", "{result}");
        assert_eq!(result["ok"], false, "{result}");
        let advice = result["advice"].as_str().unwrap();
        assert!(advice.contains("--wolkvox.url"), "{advice}");
        assert!(advice.contains(SERVER), "{advice}");
    }
    // A 200 that is not the envelope stays a decode error.
    let page = spawn_not_wolkvox(200, "text/html", "<html><body>Welcome</body></html>").await;
    let (code, result) = check_json(&page).await;
    assert_eq!((code, result["result"].as_str()), (1, Some("decode_error")));

    // Wolkvox's own "no data" 404, in its envelope, is an answer.
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((404, error_body(404, "Validate dates entered"))));
    let (code, result) = check_json(&url).await;
    assert_eq!(
        (code, result["result"].as_str()),
        (0, Some("no_data")),
        "{result}"
    );
}

// Multi-threaded: the exporter's stderr is awaited by blocking, and the server must answer meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporter_pointed_at_a_server_that_is_not_wolkvox_is_down_and_says_why() {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    let url = spawn_not_wolkvox(404, "text/plain", "").await;
    let mut exporter = Process::start(
        std::process::Command::new(BIN)
            .env_clear()
            .env("WOLKVOX_TOKEN", TOKEN)
            .args(["--wolkvox.server", SERVER, "--wolkvox.url", url.as_str()])
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--poll.start-spread",
                "0s",
            ]),
    );
    let address = exporter.address();
    let base = format!("http://{address}");
    let line = exporter.wait_line("result=not_found");
    wait_ready(&address).await;
    assert!(line.contains("level=error"), "{line}");
    assert!(
        line.contains("does not reach Wolkvox's report API") && line.contains("--wolkvox.url"),
        "{line}"
    );
    let m = scrape(&address).await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "not_found")]),
        1.0
    );
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "no_data")]),
        0.0
    );
    assert_eq!(m.value("wolkvox_up", &[]), 0.0);
    // The status page gives the same advice as `check`.
    let page = http()
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("down: not_found"), "{page}");
    assert!(page.contains("check --wolkvox.url"), "{page}");
    assert!(!page.contains(TOKEN) && !exporter.stderr().contains(TOKEN));
}
