//! The example configurations in examples/: Prometheus accepts the scrape config with the
//! project's rules, and Alertmanager accepts the routes and sends each Wolkvox alert where its
//! severity says.

use crate::common;

use std::process::{Command, Output};

use common::*;

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[ignore = "needs promtool"]
#[test]
fn promtool_check_config_accepts_the_example_prometheus_yml_and_its_rules() {
    // From another directory, to show the rules path is relative to the file, not to the
    // working directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let (out, text) = run(Command::new("promtool")
        .args(["check", "config"])
        .arg(repo_path("examples/prometheus.yml"))
        .current_dir(elsewhere.path()));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SUCCESS: 1 rule files found"), "{text}");
    // Every rule of the shipped file: its records and alerts.
    let rules = std::fs::read_to_string(repo_path("prometheus/wolkvox-rules.yml")).unwrap();
    let count = rules
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("- record:") || l.starts_with("- alert:"))
        .count();
    assert!(count >= 17, "{count}");
    assert!(
        text.contains(&format!("SUCCESS: {count} rules found")),
        "{text}"
    );
    let config = std::fs::read_to_string(repo_path("examples/prometheus.yml")).unwrap();
    assert!(config.contains("- ../prometheus/wolkvox-rules.yml"));
    // The job name that every rule selects by default.
    assert!(config.contains("- job_name: wolkvox-exporter\n"));
    assert!(config.contains("alertmanagers:"));
}

#[ignore = "needs amtool"]
#[test]
fn amtool_check_config_accepts_the_example_alertmanager_yml() {
    let (out, text) = run(Command::new("amtool")
        .arg("check-config")
        .arg(repo_path("examples/alertmanager.yml")));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

/// Each alert of the rules, with the severity the rules give it, reaches the receiver for that
/// severity; an alert from elsewhere stays on the default route.
#[ignore = "needs amtool"]
#[test]
fn the_example_routes_send_each_wolkvox_alert_to_the_receiver_of_its_severity() {
    let rules = std::fs::read_to_string(repo_path("prometheus/wolkvox-rules.yml")).unwrap();
    let mut alerts = Vec::new();
    for block in rules.split("- alert: ").skip(1) {
        let name = block.lines().next().unwrap().trim().to_owned();
        let severity = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("severity: "))
            .unwrap()
            .to_owned();
        alerts.push((name, severity));
    }
    assert_eq!(alerts.len(), 12);
    let mut cases: Vec<(String, String, &str)> = alerts
        .into_iter()
        .map(|(name, severity)| {
            let receiver = match severity.as_str() {
                "critical" => "wolkvox-critical",
                _ => "wolkvox-warning",
            };
            (name, severity, receiver)
        })
        .collect();
    cases.push(("NodeDown".into(), "critical".into(), "default"));
    for (name, severity, receiver) in cases {
        let (out, text) = run(Command::new("amtool")
            .args(["config", "routes", "test", "--config.file"])
            .arg(repo_path("examples/alertmanager.yml"))
            .arg(format!("alertname={name}"))
            .arg(format!("severity={severity}"))
            .args(["operation=bogota", "rp_id=1001"]));
        assert!(out.status.success(), "{text}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            receiver,
            "{name} ({severity})"
        );
    }
}
