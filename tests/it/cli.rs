//! The binary itself: flags and their errors, --help, --demo, signals, and the token's absence
//! from every log line and from /metrics.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// A command for the binary with a clean environment (no WOLKVOX_* from the caller, no TZ).
fn exporter() -> Command {
    let mut c = Command::new(BIN);
    c.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c
}

#[test]
fn bad_values_stop_at_start_with_exit_2_and_one_line_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "  \n").unwrap();
    let empty = empty.to_str().unwrap().to_owned();
    // (arguments, environment, the flag or variable the error must name)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], vec![("WOLKVOX_TOKEN", "t")], "--wolkvox.server"),
        (vec!["--wolkvox.server", "0032"], vec![], "WOLKVOX_TOKEN"),
        (
            vec![
                "--wolkvox.server",
                "0032",
                "--wolkvox.token-file",
                "/nonexistent/token",
            ],
            vec![],
            "--wolkvox.token-file",
        ),
        (
            vec!["--wolkvox.server", "0032", "--wolkvox.token-file", &empty],
            vec![],
            "--wolkvox.token-file",
        ),
        (
            vec!["--wolkvox.server", "0032"],
            vec![("WOLKVOX_TOKEN", "")],
            "WOLKVOX_TOKEN",
        ),
        (
            vec![
                "--wolkvox.server",
                "0032",
                "--wolkvox.timezone",
                "Mars/Olympus",
            ],
            vec![("WOLKVOX_TOKEN", "t")],
            "--wolkvox.timezone",
        ),
        (
            vec!["--wolkvox.server", "0032"],
            vec![("WOLKVOX_TOKEN", "t"), ("WOLKVOX_TIMEZONE", "Nowhere/City")],
            "WOLKVOX_TIMEZONE",
        ),
        (
            vec!["--wolkvox.server", "0032", "--report.window", "32d"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--report.window",
        ),
        (
            vec!["--wolkvox.server", "0032", "--poll.interval", "0s"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--poll.interval",
        ),
        (
            vec!["--wolkvox.server", "0032"],
            vec![("WOLKVOX_TOKEN", "t"), ("WOLKVOX_POLL_INTERVAL", "0m")],
            "WOLKVOX_POLL_INTERVAL",
        ),
        (
            vec!["--wolkvox.server", "0032", "--poll.keep-stale", "many"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--poll.keep-stale",
        ),
        (
            vec!["--wolkvox.server", "0032", "--poll.budget-share", "1.5"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--poll.budget-share",
        ),
        (
            // A share of a limit that nothing asks for.
            vec!["--wolkvox.server", "0032", "--poll.budget-share", "0.25"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--poll.budget-share",
        ),
        (
            vec!["--wolkvox.server", "0032", "--report.close-delay", "1d"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--report.close-delay",
        ),
        (
            vec!["--wolkvox.server", "0032"],
            vec![
                ("WOLKVOX_TOKEN", "t"),
                ("WOLKVOX_REPORT_CLOSE_DELAY", "soon"),
            ],
            "WOLKVOX_REPORT_CLOSE_DELAY",
        ),
        (
            vec!["--wolkvox.server", "0032", "--log.format", "xml"],
            vec![("WOLKVOX_TOKEN", "t")],
            "--log.format",
        ),
        (vec!["--no-such-flag"], vec![], "--no-such-flag"),
    ];
    for (args, env, flag) in cases {
        let out = exporter().args(&args).envs(env.clone()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} {env:?} names {flag}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn keep_stale_given_as_a_count_of_polls_stops_at_start_saying_it_is_now_a_duration() {
    let out = exporter()
        .env("WOLKVOX_TOKEN", "t")
        .args(["--wolkvox.server", "0032", "--poll.keep-stale", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("--poll.keep-stale") && stderr.contains("now a duration"),
        "{stderr}"
    );
}

#[test]
fn a_config_file_indented_wrongly_stops_at_start_naming_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ops.yml");
    // (file text, what the one line must say)
    let cases = [
        // `server` indented as the list item, not inside it.
        (
            "operations:\n  - name: a\n  server: \"0032\"\n    token_env: T\n",
            format!("{}:3:3: ", file.display()),
        ),
        // Valid YAML with a bad value: the operation and the key, as before.
        (
            "operations:\n  - name: a\n    server: \"00x2\"\n    token_env: T\n",
            format!("{}: operation \"a\": server: ", file.display()),
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).unwrap();
        let out = exporter()
            .env("T", "t")
            .args(["--config.file", file.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(&expected), "{expected:?} not in {stderr}");
        assert!(!stderr.contains("required"), "{stderr}");
    }
}

#[test]
fn help_documents_every_flag_and_the_token_variable() {
    let out = exporter().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--wolkvox.server",
        "--wolkvox.token-file",
        "--wolkvox.url",
        "--wolkvox.timezone",
        "--operation",
        "--report.window",
        "--report.time-unit",
        "--poll.interval",
        "--poll.timeout",
        "--poll.keep-stale",
        "--web.listen-address",
        "--web.telemetry-path",
        "--log.level",
        "--log.format",
        "--demo",
        "backfill",
        "WOLKVOX_TOKEN",
        "WOLKVOX_SERVER",
    ] {
        assert!(help.contains(flag), "--help mentions {flag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_in_no_log_line_at_debug_and_not_in_metrics() {
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    for (format, token_env) in [("logfmt", true), ("json", false)] {
        let mut cmd = exporter();
        cmd.args([
            "--wolkvox.server",
            SERVER,
            "--wolkvox.url",
            url.as_str(),
            "--poll.interval",
            "30ms",
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "debug",
            "--log.format",
            format,
        ]);
        if token_env {
            cmd.env("WOLKVOX_TOKEN", TOKEN);
        } else {
            cmd.arg("--wolkvox.token-file").arg(&token_file);
        }
        // Walk through success and the error paths that log loudest.
        sim.push_answer(200, report_body(&[("1", "PULSE", "1", "1")]));
        sim.push_answer(
            403,
            r#"{"code":403,"error":"PLEASE VALIDATE TOKEN","msg":"PLEASE VALIDATE TOKEN"}"#,
        );
        sim.push_answer(500, "oops");
        sim.push_answer(200, "<html>not json</html>");
        let before = sim.stats().requests;
        let mut p = Process::start(&mut cmd);
        let line = p.wait_line("listening");
        let addr = if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            v["address"].as_str().unwrap().to_owned()
        } else {
            p.address()
        };
        tokio::time::timeout(EVENT_TIMEOUT, sim.wait_for(|s| s.requests >= before + 6))
            .await
            .unwrap();
        let body = scrape(&addr).await.body;
        assert!(!body.contains(TOKEN));
        p.signal("-TERM");
        let (status, _) = tokio::task::spawn_blocking(move || {
            let r = p.wait_exit();
            (r, p)
        })
        .await
        .map(|((s, d), p)| {
            let all = p.seen.join("\n");
            assert!(
                all.contains("poll failed"),
                "error paths were logged:\n{all}"
            );
            assert!(all.contains("level") && !all.is_empty());
            assert!(!all.contains(TOKEN), "token in the log:\n{all}");
            assert!(!all.contains("5f3a9c1e"), "part of the token in the log");
            (s, d)
        })
        .unwrap();
        assert!(status.success(), "{format}: clean exit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_end_the_process_mid_poll_without_waiting_for_the_call() {
    // Longer than a test waits for anything: an exit that waited for the call would fail.
    let latency = EVENT_TIMEOUT * 3;
    let (sim, url) = spawn_simulator().await;
    sim.set_latency(latency);
    for sig in ["-TERM", "-INT"] {
        let mut cmd = exporter();
        cmd.env("WOLKVOX_TOKEN", TOKEN).args([
            "--wolkvox.server",
            SERVER,
            "--wolkvox.url",
            url.as_str(),
            "--web.listen-address",
            "127.0.0.1:0",
        ]);
        let before = sim.stats().requests;
        let mut p = Process::start(&mut cmd);
        p.wait_line("listening");
        // The first poll is now stuck at the simulator.
        tokio::time::timeout(
            EVENT_TIMEOUT,
            sim.wait_for(|s| s.requests > before && s.in_flight >= 1),
        )
        .await
        .unwrap();
        p.signal(sig);
        let (status, took) = tokio::task::spawn_blocking(move || p.wait_exit())
            .await
            .unwrap();
        assert!(status.success(), "{sig}: {status:?}");
        assert!(took < latency, "{sig}: took {took:?}");
    }
}

#[test]
fn demo_mode_serves_simulated_data_without_server_or_token() {
    let mut p = Process::start(exporter().args(["--demo", "--web.listen-address", "127.0.0.1:0"]));
    let addr = p.address();
    p.wait_line("polls succeed");
    wait_ready_blocking(&addr);
    let m = scrape_blocking(&addr);
    assert_eq!(m.value("wolkvox_up", &[("operation", "demo")]), 1.0);
    assert!(m.value("wolkvox_polls_total", &[("result", "success")]) >= 1.0);
    // Demo traffic never stops entirely, so there is a report whatever the hour.
    let no_data = m.value("wolkvox_polls_total", &[("result", "no_data")]);
    assert!(!m.family("wolkvox_ivr_menu_calls").is_empty() || no_data >= 1.0);
    assert_eq!(
        m.value(
            "wolkvox_poll_effective_interval_seconds",
            &[("operation", "demo")]
        ),
        15.0,
        "demo polls every 15s"
    );
}

/// (PULSE calls, all calls) of routing point `rp` in a scrape's counters.
fn rp_calls(m: &Metrics, rp: &str) -> (f64, f64) {
    let calls: Vec<_> = m
        .family("wolkvox_ivr_calls_total")
        .into_iter()
        .filter(|s| s.labels["rp_id"] == rp)
        .collect();
    let total: f64 = calls.iter().map(|s| s.value).sum();
    let pulse: f64 = calls
        .iter()
        .filter(|s| s.labels["cod_opc_menu"] == "PULSE")
        .map(|s| s.value)
        .sum();
    (pulse, total)
}

/// The growth of (PULSE calls, all calls) of each of `rps` from the first scrape with counters
/// on, as `increase()` takes it (a drop is the new day's reset and counts its new value), once
/// `done` says it is enough. The counters are running totals of the (simulated) day, which
/// began before the process: only their growth says what happened since.
fn demo_growth(addr: &str, rps: &[&str], done: impl Fn(&[(f64, f64)]) -> bool) -> Vec<(f64, f64)> {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    let mut last = loop {
        let m = scrape_blocking(addr);
        if !m.family("wolkvox_ivr_calls_total").is_empty() {
            break m;
        }
        assert!(Instant::now() < deadline, "no counters:\n{}", m.body);
        std::thread::sleep(Duration::from_millis(100));
    };
    let grow = |before: f64, now: f64| if now >= before { now - before } else { now };
    let mut grown = vec![(0.0, 0.0); rps.len()];
    while !done(&grown) {
        assert!(
            Instant::now() < deadline,
            "not enough demo calls:\n{}",
            last.body
        );
        std::thread::sleep(Duration::from_millis(100));
        let m = scrape_blocking(addr);
        for (rp, g) in rps.iter().zip(&mut grown) {
            let ((p0, t0), (p1, t1)) = (rp_calls(&last, rp), rp_calls(&m, rp));
            g.0 += grow(p0, p1);
            g.1 += grow(t0, t1);
        }
        last = m;
    }
    grown
}

#[test]
fn demo_pulse_spike_raises_the_pulse_share_of_its_routing_point_only() {
    let mut p = Process::start(exporter().args([
        "--demo",
        "--web.listen-address",
        "127.0.0.1:0",
        "--poll.interval",
        "50ms",
        // A simulated day in about four seconds: enough calls whatever the hour.
        "--demo.speed",
        "20000",
        "--demo.pulse-spike",
        "1002",
    ]));
    let addr = p.address();
    let grown = demo_growth(&addr, &["1001", "1002"], |g| {
        g.iter().all(|(_, total)| *total >= 200.0)
    });
    let (pulse, total) = grown[1];
    assert!(pulse / total > 0.4, "spiked 1002: {pulse}/{total}");
    let (pulse, total) = grown[0];
    assert!(pulse / total < 0.3, "normal 1001: {pulse}/{total}");
}

#[test]
fn demo_outage_stops_the_calls_of_its_routing_point_only() {
    let mut p = Process::start(exporter().args([
        "--demo",
        "--web.listen-address",
        "127.0.0.1:0",
        "--poll.interval",
        "50ms",
        "--demo.speed",
        "20000",
        "--demo.outage",
        "2001",
    ]));
    let addr = p.address();
    let grown = demo_growth(&addr, &["1001", "2001"], |g| g[0].1 >= 200.0);
    assert_eq!(grown[1].1, 0.0, "2001 got calls during its outage");
}

#[test]
fn version_prints_the_version_git_revision_build_date_and_rustc() {
    let out = exporter().arg("--version").output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    // The revision build.rs saw: HEAD of this work tree, or `unknown` where git cannot tell.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("--version")
        .output()
        .unwrap();
    let rustc = String::from_utf8(rustc.stdout).unwrap();
    let rustc = rustc.split_whitespace().nth(1).unwrap();
    let prefix = format!(
        "wolkvox-exporter {} (revision {head}, built ",
        env!("CARGO_PKG_VERSION")
    );
    let suffix = format!(", rustc {rustc})\n");
    assert!(
        line.starts_with(&prefix) && line.ends_with(&suffix),
        "{line:?}"
    );
    // The build date, RFC 3339 in UTC: 2026-11-29T17:30:30Z.
    let date = &line[prefix.len()..line.len() - suffix.len()];
    let date: jiff::Timestamp = date.parse().unwrap_or_else(|e| panic!("{date:?}: {e}"));
    assert!(date.as_second() > 1_700_000_000, "{date}");
    assert_eq!(line.lines().count(), 1);
}

/// The exit code, stdout and stderr of the binary run with `args` in a clean environment plus
/// `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = exporter()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_and_backfill_help_list_no_flag_of_the_server() {
    for (sub, own) in [("check", "--output"), ("backfill", "--days")] {
        let (code, help, _) = run(&[sub, "--help"], &[]);
        assert_eq!(code, Some(0), "{sub}");
        for flag in [
            own,
            "--wolkvox.server",
            "--config.file",
            "--log.level",
            "--demo",
        ] {
            assert!(help.contains(flag), "{sub} --help lists {flag}:\n{help}");
        }
        for flag in [
            "--web.",
            "--poll.budget-share",
            "--poll.interval",
            "--poll.keep-stale",
            "--wolkvox.token-info-interval",
            "--report.close-delay",
        ] {
            assert!(!help.contains(flag), "{sub} --help lists {flag}:\n{help}");
        }
    }
    let (_, help, _) = run(&["backfill", "--help"], &[]);
    assert!(!help.contains("--shard"), "backfill --help lists --shard");
    let (_, help, _) = run(&["--help"], &[]);
    for flag in ["--web.listen-address", "--poll.budget-share", "--shard"] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
}

#[test]
fn a_server_flag_beside_backfill_stops_it_with_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.om");
    let output = output.to_str().unwrap();
    let backfill = ["backfill", "--demo", "--days", "1", "--step", "1d"];
    for (before, after, flag) in [
        (
            &[][..],
            &["--poll.budget-share", "0.5"][..],
            "--poll.budget-share",
        ),
        (
            &["--poll.budget-share", "0.5"][..],
            &[][..],
            "--poll.budget-share",
        ),
        (
            &[][..],
            &["--web.listen-address", ":1"][..],
            "--web.listen-address",
        ),
        (
            &["--web.listen-address", ":1"][..],
            &[][..],
            "--web.listen-address",
        ),
        (&[][..], &["--shard", "0/2"][..], "--shard"),
    ] {
        let args: Vec<&str> = [before, &backfill[..], after, &["--output", output][..]].concat();
        let (code, stdout, stderr) = run(&args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("wolkvox-exporter: {flag} is a flag of the server"))
                && stderr.contains("not of")
                && stderr.contains("backfill"),
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty());
        assert!(!std::path::Path::new(output).exists(), "{args:?} wrote");
    }
}

#[test]
fn the_servers_environment_variables_do_not_stop_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.om");
    let args = [
        "backfill",
        "--demo",
        "--days",
        "1",
        "--step",
        "1d",
        "--output",
        output.to_str().unwrap(),
    ];
    // What a server's environment may hold: each one alone would stop the server.
    let env = [
        ("WOLKVOX_POLL_BUDGET_SHARE", "0.5"),
        ("WOLKVOX_WEB_CONFIG_FILE", "/nonexistent/web.yml"),
        ("WOLKVOX_SHARD", "not-a-shard"),
        ("WOLKVOX_POLL_INTERVAL", "0s"),
    ];
    let (code, _, stderr) = run(&args, &env);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("backfill: complete"), "{stderr}");
    assert!(output.exists());
}

#[test]
fn shared_flags_work_before_and_after_the_subcommand() {
    for args in [
        &[
            "--operation",
            "north",
            "--demo",
            "check",
            "--output",
            "json",
        ][..],
        &[
            "check",
            "--operation",
            "north",
            "--demo",
            "--output",
            "json",
        ][..],
        &[
            "--demo",
            "check",
            "--output",
            "json",
            "--operation",
            "north",
        ][..],
    ] {
        let (code, stdout, stderr) = run(args, &[]);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report[0]["operation"], "north", "{args:?}");
    }
}

#[test]
fn every_refused_argument_is_named_on_one_line() {
    // (arguments, what the line must name); one of each kind of error clap finds.
    let cases: &[(&[&str], &str)] = &[
        // A required argument not given.
        (&["backfill", "--demo"], "--output"),
        // A flag without its value.
        (&["check", "--demo", "--output"], "--output"),
        // A value that is not one of the values possible.
        (&["check", "--demo", "--output", "xml"], "--output"),
        // A flag given twice.
        (
            &["--wolkvox.server", "1", "--wolkvox.server", "2"],
            "--wolkvox.server",
        ),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["no-such-command"], "no-such-command"),
    ];
    for (args, name) in cases {
        let (code, stdout, stderr) = run(args, &[("WOLKVOX_TOKEN", "t")]);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(name), "{args:?} names {name}: {stderr}");
        assert!(stdout.is_empty());
    }
}

#[test]
fn the_listen_address_takes_a_host_name() {
    let mut p = Process::start(exporter().args(["--demo", "--web.listen-address", "localhost:0"]));
    let addr: std::net::SocketAddr = p.address().parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0);
    p.wait_line("polls succeed");
    wait_ready_blocking(&addr.to_string());
    let body = scrape_blocking(&addr.to_string()).body;
    assert!(body.contains("wolkvox_up"), "{body}");
}

#[test]
fn an_unresolvable_listen_host_stops_at_start_with_exit_2_naming_the_flag() {
    let (code, stdout, stderr) = run(&["--demo", "--web.listen-address", "nosuch.invalid:1"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(
            "wolkvox-exporter: --web.listen-address: cannot resolve \"nosuch.invalid\""
        ),
        "{stderr}"
    );
    assert!(stdout.is_empty());
}
