//! The Prometheus rules in prometheus/: the committed file is the renderer's output, promtool
//! accepts it, its unit tests pass and can fail, and every alert follows the mixin conventions.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const RULES: &str = "prometheus/wolkvox-rules.yml";
const RENDER: &str = "prometheus/render_rules.py";
const ALERTS: [&str; 7] = [
    "WolkvoxIvrPulseSpike",
    "WolkvoxExporterDown",
    "WolkvoxPollsFailing",
    "WolkvoxDataStale",
    "WolkvoxTokenQuotaExceeded",
    "WolkvoxTokenBudgetLow",
    "WolkvoxRowsRejected",
];

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Renders the rules with `args` into `dir/wolkvox-rules.yml`.
fn render_into(dir: &Path, args: &[&str]) -> Output {
    let out = run(Command::new("python3")
        .arg(repo_path(RENDER))
        .args(args)
        .arg("-o")
        .arg(dir.join("wolkvox-rules.yml")));
    assert!(
        out.status.success(),
        "render_rules.py failed: {}",
        text(&out)
    );
    out
}

/// The unit test files, sorted.
fn unit_test_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_path("prometheus/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn committed_rules_file_is_the_renderers_output_with_the_defaults() {
    if !have_tool("python3") {
        return;
    }
    let out = run(Command::new("python3").arg(repo_path(RENDER)));
    assert!(out.status.success(), "{}", text(&out));
    let committed = std::fs::read_to_string(repo_path(RULES)).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "{RULES} is out of date: run `python3 {RENDER} -o {RULES}`"
    );
}

#[test]
fn promtool_check_rules_accepts_the_rules_file() {
    if !have_tool("promtool") {
        return;
    }
    let out = run(Command::new("promtool")
        .args(["check", "rules"])
        .arg(repo_path(RULES)));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("SUCCESS: 12 rules found"), "{all}");
}

#[test]
fn promtool_unit_tests_of_the_rules_pass() {
    if !have_tool("promtool") {
        return;
    }
    let out = run(Command::new("promtool")
        .args(["test", "rules"])
        .args(unit_test_files()));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("FAILED"), "{all}");
}

/// Each alert has a unit test in which it fires (a non-empty exp_alerts) and one in which it
/// stays silent (exp_alerts: []).
#[test]
fn every_alert_has_unit_tests_where_it_fires_and_where_it_stays_silent() {
    let mut all = String::new();
    for f in unit_test_files() {
        all.push_str(&std::fs::read_to_string(f).unwrap());
    }
    for alert in ALERTS {
        let needle = format!("alertname: {alert}\n");
        let mut fires = false;
        let mut silent = false;
        for (at, _) in all.match_indices(&needle) {
            let next = all[at + needle.len()..].trim_start();
            if next.starts_with("exp_alerts: []") {
                silent = true;
            } else if next.starts_with("exp_alerts:\n") {
                fires = true;
            }
        }
        assert!(fires, "no unit test in which {alert} fires");
        assert!(silent, "no unit test in which {alert} stays silent");
    }
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_description_naming_what_it_is_about() {
    let rules = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let blocks: Vec<&str> = rules.split("- alert: ").skip(1).collect();
    let names: Vec<&str> = blocks
        .iter()
        .map(|b| b.lines().next().unwrap().trim())
        .collect();
    assert_eq!(names, ALERTS, "the alerts, in order");
    for block in blocks {
        // The block ends where the next rule or group starts.
        let block = block.split("\n  - name: ").next().unwrap();
        let name = block.lines().next().unwrap();
        assert!(
            name.starts_with("Wolkvox") && !name.contains(['_', '-']),
            "CamelCase: {name}"
        );
        let severity = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("severity: "))
            .unwrap_or_else(|| panic!("{name} has no severity"));
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: {severity}"
        );
        let annotation = |key: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("{name} has no {key}"))
                .to_owned()
        };
        let summary = annotation("summary");
        let description = annotation("description");
        // The exporter's own target has no operation; every other alert names it.
        let subject = if name == "WolkvoxExporterDown" {
            "$labels.instance"
        } else {
            "$labels.operation"
        };
        assert!(summary.contains(subject), "{name} summary: {summary}");
        assert!(
            description.contains(subject),
            "{name} description: {description}"
        );
        if name == "WolkvoxIvrPulseSpike" {
            assert!(summary.contains("$labels.rp_id") && description.contains("$labels.rp_id"));
        }
        // Saying what to do: an imperative sentence after the facts.
        assert!(
            ["Check", "check", "make a test call", "Find", "report them"]
                .iter()
                .any(|verb| description.contains(verb)),
            "{name} says what to do: {description}"
        );
    }
}

#[test]
fn overridden_parameters_reach_the_rendered_rules_and_promtool_accepts_them() {
    if !have_tool("python3") || !have_tool("promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    render_into(
        dir.path(),
        &[
            "--pulse-window",
            "30m",
            "--pulse-baseline",
            "6h",
            "--pulse-ratio",
            "4",
            "--pulse-min-share",
            "0.35",
            "--pulse-min-calls",
            "100",
            "--pulse-for",
            "20m",
            "--pulse-severity",
            "warning",
            "--exporter-selector",
            r#"job="wolkvox", namespace="ivr""#,
            "--stale-after",
            "1h",
        ],
    );
    let rules = std::fs::read_to_string(dir.path().join("wolkvox-rules.yml")).unwrap();
    for expected in [
        "increase(wolkvox_ivr_calls_total[30m])",
        "[6h] offset 30m",
        "clamp_min(4 * wolkvox:ivr_pulse_share_baseline:ratio, 0.35)",
        ">= 100",
        "for: '20m'",
        "severity: warning",
        r#"up{job="wolkvox", namespace="ivr"} == 0"#,
        "> 3600",
        "over the last 30m",
        // The header records the overrides.
        "# Parameters: --pulse-window 30m",
    ] {
        assert!(rules.contains(expected), "{expected:?} in\n{rules}");
    }
    for default in ["[15m]", "offset 15m", "last 15m", "[3h]", "> 1800"] {
        assert!(!rules.contains(default), "{default:?} left in\n{rules}");
    }
    let out = run(Command::new("promtool")
        .args(["check", "rules"])
        .arg(dir.path().join("wolkvox-rules.yml")));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_renderer_refuses_values_that_would_break_the_rules() {
    if !have_tool("python3") {
        return;
    }
    for (flag, value) in [
        ("--pulse-window", "15"),
        ("--pulse-for", "soon"),
        ("--pulse-ratio", "x3"),
        ("--pulse-min-share", "1.5"),
        ("--pulse-severity", "page"),
    ] {
        let out = run(Command::new("python3")
            .arg(repo_path(RENDER))
            .args([flag, value]));
        assert!(!out.status.success(), "{flag} {value} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{flag}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty());
    }
}

/// The unit tests can fail: with the minimum number of calls lowered to 10, the quiet-night
/// test must catch the page that nobody wants at night.
#[test]
fn the_quiet_night_unit_test_fails_when_the_minimum_calls_guard_is_lowered() {
    if !have_tool("python3") || !have_tool("promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    render_into(dir.path(), &["--pulse-min-calls", "10"]);
    let tests = dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    std::fs::copy(repo_path("prometheus/tests/ivr.yml"), tests.join("ivr.yml")).unwrap();
    let out = run(Command::new("promtool")
        .args(["test", "rules"])
        .arg(tests.join("ivr.yml")));
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    // Only the quiet night fails: the spike still fires, the busy hour and resets stay silent.
    let failed: Vec<&str> = all
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name: "))
        .collect();
    assert!(!failed.is_empty(), "{all}");
    for name in failed {
        assert!(name.starts_with("a quiet night"), "{name}: {all}");
    }
    assert!(all.contains("alertname: WolkvoxIvrPulseSpike"), "{all}");
}

/// Lines of YAML without indentation, blank lines or single quotes around scalars.
fn normalized(yaml: &str) -> Vec<String> {
    yaml.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(": '") {
            Some((key, value)) => format!("{key}: {}", value.trim_end_matches('\'')),
            None => l.to_owned(),
        })
        .collect()
}

#[test]
fn the_readme_shows_the_recording_rules_and_the_pulse_alert_as_the_rules_file_has_them() {
    let rules = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let start = rules.find("- record: ").unwrap();
    let end = rules.find("        labels:").unwrap();
    let expected = normalized(&rules[start..end]);
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let section = readme
        .split("\n## Dashboards and alerts\n")
        .nth(1)
        .expect("README has a section Dashboards and alerts");
    let shown = normalized(section);
    let found = shown
        .windows(expected.len())
        .any(|w| w == expected.as_slice());
    assert!(
        found,
        "README's recording rules differ from {RULES}; expected:\n{}",
        expected.join("\n")
    );
}
