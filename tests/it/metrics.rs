//! The metric contract, content negotiation and the small endpoints, over real HTTP against the
//! simulator.

use crate::common;

use std::io::Read as _;
use std::time::Duration;

use common::*;
use jiff::civil::DateTime;

const ZONE: &str = "America/Bogota";

#[tokio::test]
async fn every_contract_metric_has_its_type_labels_and_the_simulators_exact_values() {
    let (sim, url) = spawn_simulator().await;
    let now = local(ZONE, "2026-03-10T15:30:20");
    let (exporter, _clock) = spawn_exporter_at(config(&url), now).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;

    let expected_types = [
        ("wolkvox_ivr_menu_calls", "gauge"),
        ("wolkvox_ivr_menu_time_seconds", "gauge"),
        ("wolkvox_up", "gauge"),
        ("wolkvox_last_success_timestamp_seconds", "gauge"),
        ("wolkvox_poll_duration_seconds", "gauge"),
        ("wolkvox_report_rows", "gauge"),
        ("wolkvox_report_window_start_timestamp_seconds", "gauge"),
        ("wolkvox_report_window_end_timestamp_seconds", "gauge"),
        ("wolkvox_polls_total", "counter"),
        ("wolkvox_rows_rejected_total", "counter"),
        ("wolkvox_exporter_build_info", "gauge"),
    ];
    for (name, ty) in expected_types {
        assert_eq!(
            m.types.get(name).map(String::as_str),
            Some(ty),
            "TYPE of {name}"
        );
        assert!(!m.family(name).is_empty(), "{name} has samples");
    }
    // HELP is metadata: it quotes no setting of this instance, such as its poll interval.
    for line in m.body.lines().filter(|l| l.starts_with("# HELP wolkvox_")) {
        assert!(!line.contains("every 5m"), "{line}");
    }

    let label_names = |name: &str| -> Vec<Vec<String>> {
        m.family(name)
            .iter()
            .map(|s| s.labels.keys().cloned().collect())
            .collect()
    };
    for name in ["wolkvox_ivr_menu_calls", "wolkvox_ivr_menu_time_seconds"] {
        for keys in label_names(name) {
            assert_eq!(keys, ["cod_opc_menu", "operation", "rp_id"], "{name}");
        }
    }
    for name in [
        "wolkvox_up",
        "wolkvox_last_success_timestamp_seconds",
        "wolkvox_poll_duration_seconds",
        "wolkvox_report_rows",
        "wolkvox_report_window_start_timestamp_seconds",
        "wolkvox_report_window_end_timestamp_seconds",
    ] {
        assert_eq!(
            label_names(name),
            vec![vec!["operation".to_owned()]],
            "{name}"
        );
    }
    let results: Vec<&str> = m
        .family("wolkvox_polls_total")
        .iter()
        .map(|s| s.labels["result"].as_str())
        .collect();
    assert_eq!(
        results,
        [
            "success",
            "no_data",
            "not_found",
            "unauthorized",
            "quota_exceeded",
            "concurrency_limited",
            "maintenance",
            "client_error",
            "server_error",
            "timeout",
            "network_error",
            "decode_error"
        ]
    );
    assert!(
        m.family("wolkvox_rows_rejected_total")
            .iter()
            .all(|s| s.labels.contains_key("reason") && s.value == 0.0)
    );
    assert_eq!(
        m.value(
            "wolkvox_exporter_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // The values are exactly what the simulator's report for today-until-now holds.
    let ini: DateTime = "2026-03-10T00:00:00".parse().unwrap();
    let end: DateTime = "2026-03-10T15:30:20".parse().unwrap();
    let totals = sim.totals(ini, end);
    assert!(totals.len() >= 10, "the simulator has traffic by 15:30");
    assert_eq!(m.family("wolkvox_ivr_menu_calls").len(), totals.len());
    for (rp, opt, calls, secs) in &totals {
        let labels = [
            ("operation", SERVER),
            ("rp_id", *rp),
            ("cod_opc_menu", *opt),
        ];
        assert_eq!(m.value("wolkvox_ivr_menu_calls", &labels), *calls as f64);
        assert_eq!(
            m.value("wolkvox_ivr_menu_time_seconds", &labels),
            *secs as f64
        );
    }
    let op = [("operation", SERVER)];
    assert_eq!(m.value("wolkvox_up", &op), 1.0);
    assert_eq!(m.value("wolkvox_report_rows", &op), totals.len() as f64);
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "success")]),
        1.0
    );
    assert_eq!(
        m.value("wolkvox_report_window_start_timestamp_seconds", &op),
        local(ZONE, "2026-03-10T00:00:00").as_second() as f64
    );
    assert_eq!(
        m.value("wolkvox_report_window_end_timestamp_seconds", &op),
        now.as_second() as f64
    );
    assert_eq!(
        m.value("wolkvox_last_success_timestamp_seconds", &op),
        now.as_second() as f64
    );
    assert!(m.value("wolkvox_poll_duration_seconds", &op) > 0.0);

    // The request carried both headers and the documented query.
    let req = sim.requests().pop().unwrap();
    assert_eq!(req.api.as_deref(), Some("diagram_1_3"));
    assert_eq!(req.server.as_deref(), Some(SERVER));
    assert!(req.had_token);
    exporter.stop().await;
}

#[tokio::test]
async fn openmetrics_and_gzip_are_served_when_asked_and_text_otherwise() {
    let (_sim, url) = spawn_simulator().await;
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-03-10T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let client = http();

    let om = client
        .get(exporter.url("/metrics"))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        om.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let om_body = om.text().await.unwrap();
    assert!(om_body.ends_with("# EOF\n"));
    assert!(om_body.contains("# TYPE wolkvox_polls counter"));

    let plain = client.get(exporter.url("/metrics")).send().await.unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_body = plain.bytes().await.unwrap();

    let gz = client
        .get(exporter.url("/metrics"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(
        gz.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let compressed = gz.bytes().await.unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(
        without_process_values(&decoded),
        without_process_values(&plain_body),
        "gzip carries the same exposition"
    );
    assert!(compressed.len() < plain_body.len());
    exporter.stop().await;
}

#[tokio::test]
async fn landing_health_and_readiness_endpoints() {
    let (sim, url) = spawn_simulator().await;
    // Hold the first poll so that readiness can be seen before it finishes.
    sim.set_latency(Duration::from_secs(2));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-03-10T11:00:00")).await;
    tokio::time::timeout(EVENT_TIMEOUT, sim.wait_for(|s| s.in_flight == 1))
        .await
        .unwrap();

    let client = http();
    let get = |path: &str| client.get(exporter.url(path)).send();
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 503, "not ready before the first poll");
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    // /metrics already answers, with the self-metrics.
    let m = exporter.scrape().await;
    assert_eq!(m.value("wolkvox_up", &[]), 0.0);
    assert!(m.family("wolkvox_ivr_menu_calls").is_empty());

    exporter.wait_for_polls(1).await;
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let landing = get("/").await.unwrap();
    assert_eq!(landing.status(), 200);
    assert!(landing.text().await.unwrap().contains("href=\"/metrics\""));
    assert_eq!(get("/nothing-here").await.unwrap().status(), 404);
    exporter.stop().await;
}

#[tokio::test]
async fn any_label_value_gives_a_valid_exposition() {
    let (sim, url) = spawn_simulator().await;
    let odd = [
        "quote\"inside",
        "back\\slash",
        "new\nline",
        "tab\there",
        "carriage\rreturn",
        "ñandú 電話 📞",
        "{curly}=,",
        "trailing\\",
        "nul\u{0}byte",
    ];
    let rows: Vec<(&str, &str, &str, &str)> = odd.iter().map(|v| (*v, *v, "1", "1")).collect();
    sim.set_fixed_answer(Some((200, report_body(&rows))));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-03-10T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    // scrape() runs promtool on the body.
    let m = exporter.scrape().await;
    for v in odd {
        assert_eq!(
            m.value(
                "wolkvox_ivr_menu_calls",
                &[("rp_id", v), ("cod_opc_menu", v)]
            ),
            1.0,
            "{v:?} round-trips"
        );
    }
    exporter.stop().await;
}

/// The `# HELP` lines of an exposition, by family name.
fn help_lines(body: &str) -> std::collections::BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .map(|l| {
            let (name, help) = l.split_once(' ').expect("a HELP line has a text");
            (name.to_owned(), help.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn help_texts_are_the_same_whatever_the_flags_and_in_the_backfill() {
    let (_sim, url) = spawn_simulator().await;
    let now = local(ZONE, "2026-03-10T15:30:20");
    let mut bodies = Vec::new();
    for (interval, close_delay) in [(300, 1800), (60, 0)] {
        let mut cfg = config(&url);
        cfg.op_mut().poll_interval = Duration::from_secs(interval);
        cfg.close_delay = Duration::from_secs(close_delay);
        let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
        exporter.wait_for_polls(1).await;
        bodies.push(exporter.scrape().await.body);
        exporter.stop().await;
    }
    let (five, one) = (help_lines(&bodies[0]), help_lines(&bodies[1]));
    assert!(five.len() > 20, "{five:?}");
    assert_eq!(five, one, "two instances with other flags disagree on HELP");
    assert!(
        five["wolkvox_api_requests_total"].contains("close a day"),
        "{}",
        five["wolkvox_api_requests_total"]
    );

    // The backfill writes the same HELP for the families it writes (OpenMetrics names a
    // counter's family without `_total`).
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("backfill.om");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wolkvox-exporter"))
        .env_clear()
        .env("WOLKVOX_TOKEN", TOKEN)
        .args(["backfill", "--wolkvox.server", SERVER, "--wolkvox.url"])
        .arg(url.as_str())
        .args([
            "--days",
            "1",
            "--step",
            "6h",
            "--end",
            "2026-03-10T12:00:00",
        ])
        .arg("--output")
        .arg(&output)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let backfilled = help_lines(&std::fs::read_to_string(&output).unwrap());
    assert!(!backfilled.is_empty());
    for (name, help) in &backfilled {
        let live = five
            .get(name)
            .or_else(|| five.get(&format!("{name}_total")))
            .unwrap_or_else(|| panic!("{name} is backfilled but not served"));
        assert_eq!(help, live, "HELP of {name}");
    }
}
