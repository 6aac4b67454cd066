//! Several operations in one exporter, the configuration file and its reloads, the token
//! budget, and the one-shot check, over real HTTP against several simulators.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use wolkvox_exporter::config::{Config, OperationConfig};
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};

const ZONE: &str = "America/Bogota";

fn second_operation(cfg: &Config, name: &str, url: &reqwest::Url) -> OperationConfig {
    let mut op = cfg.operations[0].clone();
    op.name = name.to_owned();
    if let wolkvox_exporter::config::Upstream::Remote { base_url, .. } = &mut op.upstream {
        *base_url = url.clone();
    }
    op
}

#[tokio::test]
async fn one_operation_out_of_quota_changes_nothing_for_the_other() {
    let (sim_a, url_a) = spawn_simulator().await;
    let (sim_b, url_b) = spawn_simulator().await;
    sim_b.set_fixed_answer(Some((
        403,
        r#"{"code":403,"error":"TOKEN LIMIT EXCEEDED","msg":"TOKEN LIMIT EXCEEDED"}"#.into(),
    )));
    let mut cfg = config(&url_a);
    cfg.op_mut().name = "a".into();
    cfg.op_mut().poll_interval = Duration::from_millis(30);
    let b = second_operation(&cfg, "b", &url_b);
    cfg.operations.push(b);
    let now = local(ZONE, "2026-11-25T14:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    // Operation a keeps polling at its pace while b waits for midnight.
    tokio::time::timeout(EVENT_TIMEOUT, sim_a.wait_for(|s| s.requests >= 5))
        .await
        .unwrap();
    let m = exporter.scrape().await;
    let a = [("operation", "a")];
    let b = [("operation", "b")];
    assert_eq!(m.value("wolkvox_up", &a), 1.0);
    assert_eq!(m.value("wolkvox_up", &b), 0.0);
    assert!(
        m.value(
            "wolkvox_polls_total",
            &[("operation", "a"), ("result", "success")]
        ) >= 4.0
    );
    assert_eq!(
        m.value(
            "wolkvox_polls_total",
            &[("operation", "b"), ("result", "quota_exceeded")]
        ),
        1.0
    );
    assert_eq!(sim_b.stats().requests, 1, "b makes no call until midnight");
    // The wait is a state that alerts can follow for as long as it lasts.
    assert_eq!(m.value("wolkvox_quota_exhausted", &b), 1.0);
    assert_eq!(m.value("wolkvox_quota_exhausted", &a), 0.0);
    let b_next = m.value("wolkvox_next_poll_timestamp_seconds", &b) - now.as_second() as f64;
    assert_eq!(b_next, 10.0 * 3600.0 + 120.0);
    assert!(
        m.family("wolkvox_ivr_menu_calls")
            .iter()
            .all(|s| s.labels["operation"] == "a")
    );
    assert!(!m.family("wolkvox_ivr_menu_calls").is_empty());
    assert_eq!(sim_a.stats().max_in_flight, 1);
    exporter.stop().await;
}

fn write_ops(path: &Path, ops: &[(&str, &reqwest::Url)], extra: &str) {
    let dir = path.parent().unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let mut yaml = format!("poll_interval: 40ms\n{extra}operations:\n");
    for (name, url) in ops {
        yaml.push_str(&format!(
            "  - name: {name}\n    server: \"0032\"\n    url: {url}\n    token_file: token\n"
        ));
    }
    // Write then rename, as configuration management tools do: readers never see half a file.
    let tmp = dir.join("ops.yml.tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

fn config_from_file(path: &Path) -> Config {
    let env = |_: &str| None;
    let (ops, _) = wolkvox_exporter::config::file::read_operations(path, &env).expect("valid file");
    let mut cfg = config(&"http://127.0.0.1:9".parse().unwrap());
    cfg.operations = ops;
    cfg.config_file = Some(path.to_owned());
    cfg
}

async fn scrape_until(
    exporter: &TestExporter,
    what: &str,
    ok: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let m = exporter.scrape().await;
        if ok(&m) {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened:\n{}",
            m.body
        );
        exporter.wait_for_polls(exporter.polls() + 1).await;
    }
}

#[tokio::test]
async fn a_reload_adds_and_removes_operations_and_unchanged_ones_keep_their_state() {
    let (_sa, url_a) = spawn_simulator().await;
    let (_sb, url_b) = spawn_simulator().await;
    let (_sc, url_c) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.yml");
    write_ops(&path, &[("a", &url_a), ("b", &url_b)], "");
    let (exporter, _clock) =
        spawn_exporter_at(config_from_file(&path), local(ZONE, "2026-11-25T14:00:00")).await;
    let success_a = |m: &Metrics| {
        m.get(
            "wolkvox_polls_total",
            &[("operation", "a"), ("result", "success")],
        )
    };
    let m = scrape_until(&exporter, "3 polls of a", |m| {
        success_a(m).unwrap_or(0.0) >= 3.0
    })
    .await;
    assert_eq!(m.value("wolkvox_up", &[("operation", "b")]), 1.0);
    assert_eq!(m.value("wolkvox_config_last_reload_successful", &[]), 1.0);
    let before = success_a(&m).unwrap();

    // b leaves, c arrives, a stays as it was; the file watcher notices by itself.
    write_ops(&path, &[("a", &url_a), ("c", &url_c)], "");
    let m = scrape_until(&exporter, "the reload", |m| {
        m.get("wolkvox_up", &[("operation", "c")]) == Some(1.0)
            && m.get("wolkvox_up", &[("operation", "b")]).is_none()
    })
    .await;
    assert!(
        m.family("wolkvox_ivr_menu_calls")
            .iter()
            .all(|s| s.labels["operation"] != "b")
    );
    assert!(
        m.family("wolkvox_polls_total")
            .iter()
            .all(|s| s.labels["operation"] != "b")
    );
    assert!(
        success_a(&m).unwrap() > before,
        "a kept its counters across the reload"
    );
    assert_eq!(m.value("wolkvox_config_last_reload_successful", &[]), 1.0);

    // A file that does not validate keeps the running configuration.
    std::fs::write(&path, "operations:\n  - name: a\n    sever: typo\n").unwrap();
    let m = scrape_until(&exporter, "the refused reload", |m| {
        m.get("wolkvox_config_last_reload_successful", &[]) == Some(0.0)
    })
    .await;
    assert_eq!(m.value("wolkvox_up", &[("operation", "a")]), 1.0);
    assert_eq!(m.value("wolkvox_up", &[("operation", "c")]), 1.0);
    assert!(
        m.get("wolkvox_config_last_reload_success_timestamp_seconds", &[])
            .is_some()
    );
    exporter.stop().await;
}

#[tokio::test]
async fn the_exporter_counts_its_calls_and_reads_the_token_budget() {
    let (sim, url) = spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        quota: Some(5000),
        ..SimulatorConfig::default()
    })
    .await;
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = Duration::from_millis(30);
    cfg.token_info_interval = Some(Duration::from_millis(1));
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T14:00:00")).await;
    exporter.wait_for_polls(4).await;
    let m = exporter.scrape().await;
    let requests = m.value("wolkvox_api_requests_total", &[]);
    let polls: f64 = m
        .family("wolkvox_polls_total")
        .iter()
        .map(|s| s.value)
        .sum();
    // Each poll is one report call and one token_info call.
    assert!(
        requests >= 2.0 * polls - 1.0 && requests <= 2.0 * polls + 2.0,
        "{requests} vs {polls}"
    );
    assert_eq!(m.value("wolkvox_api_requests_today", &[]), requests);
    assert_eq!(m.value("wolkvox_token_limit", &[]), 5000.0);
    let used = m.value("wolkvox_token_used_today", &[]);
    assert!(used >= 2.0 && used <= sim.calls_by_token(TOKEN) as f64);
    assert_eq!(
        sim.stats().max_in_flight,
        1,
        "token_info shares the one-call guard"
    );
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.api.as_deref() == Some("token_info"))
    );
    exporter.stop().await;
}

#[tokio::test]
async fn api_requests_today_starts_again_at_local_midnight() {
    let (_sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = Duration::from_millis(20);
    let (exporter, clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T23:59:00")).await;
    exporter.wait_for_polls(3).await;
    clock.set(local(ZONE, "2026-11-26T00:01:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    let total = m.value("wolkvox_api_requests_total", &[]);
    let today = m.value("wolkvox_api_requests_today", &[]);
    assert!(
        total >= 5.0 && today >= 1.0 && today < total,
        "{today} of {total}"
    );
    exporter.stop().await;
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wolkvox-exporter"));
    c.env_clear();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_each_operation_and_exits_0_only_when_all_answered() {
    let (_good, url_good) = spawn_simulator().await;
    // This simulator accepts only its default token, not the test token.
    let (_bad, url_bad) = spawn_simulator_with(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.yml");
    // A rolling week always holds the simulator's busy hours, whatever the time of day: the
    // day's window just after local midnight holds a row or two and maybe no PULSE.
    let week = "window: 7d\n";
    write_ops(&path, &[("good", &url_good)], week);
    let path_s = path.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["check", "--config.file", &path_s])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("operation good (server 0032)") && stdout.contains("success"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cod_opc_menu") && stdout.contains("PULSE"),
        "{stdout}"
    );
    assert!(stdout.contains("1 of 1 operations answered"));

    // The second operation's simulator does not know the token: exit 1, with advice, in JSON.
    write_ops(&path, &[("good", &url_good), ("bad", &url_bad)], week);
    let path_s = path.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["check", "--output", "json", "--config.file", &path_s])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["operation"], "good");
    assert_eq!(v[0]["ok"], true);
    assert!(v[0]["rows"].as_array().unwrap().len() > 3);
    assert_eq!(v[1]["operation"], "bad");
    assert_eq!(v[1]["result"], "unauthorized");
    assert!(
        v[1]["detail"]
            .as_str()
            .unwrap()
            .contains("PLEASE VALIDATE TOKEN")
    );
    assert!(v[1]["advice"].as_str().unwrap().contains("check the token"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
}

#[test]
fn file_errors_and_file_plus_flags_stop_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.yml");
    std::fs::write(dir.path().join("token"), "t\n").unwrap();
    std::fs::write(
        &path,
        "operations:\n  - name: lima\n    server: \"0032\"\n    token_file: token\n    windw: 1h\n",
    )
    .unwrap();
    let out = bin()
        .args(["--config.file", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1);
    assert!(
        stderr.contains("ops.yml") && stderr.contains("\"lima\"") && stderr.contains("windw"),
        "{stderr}"
    );

    std::fs::write(
        &path,
        "operations:\n  - name: lima\n    server: \"0032\"\n    token_file: token\n",
    )
    .unwrap();
    let out = bin()
        .args([
            "--config.file",
            path.to_str().unwrap(),
            "--wolkvox.server",
            "0048",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--config.file") && stderr.contains("--wolkvox.server"),
        "{stderr}"
    );
}

#[test]
fn sighup_reloads_the_file() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.yml");
    std::fs::write(dir.path().join("token"), "t\n").unwrap();
    // An unreachable upstream is fine: the reload does not depend on answers.
    std::fs::write(
        &path,
        "poll_interval: 1h\noperations:\n  - name: a\n    server: \"0032\"\n    url: http://127.0.0.1:9/\n    token_file: token\n",
    )
    .unwrap();
    let mut child = bin()
        .args([
            "--config.file",
            path.to_str().unwrap(),
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut wait_for = |needle: &str| loop {
        let line = lines
            .next()
            .expect("the exporter is still logging")
            .unwrap();
        if line.contains(needle) {
            return line;
        }
    };
    wait_for("msg=listening");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let line = wait_for("configuration reloaded");
    assert!(line.contains("reason=SIGHUP"), "{line}");
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
}
