//! The Prometheus rules in prometheus/: the committed files are the monitoring mixin's output
//! (mixin/), promtool accepts them, their unit tests pass and can fail, and every alert follows
//! the mixin conventions and links to its section of the runbook.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const RULES: &str = "prometheus/wolkvox-rules.yml";
const RUNBOOK: &str = "docs/runbook.md";
/// The default runbookURLPattern of mixin/config.libsonnet, without its %s.
const RUNBOOK_URL: &str = "https://git.example.com/wolkvox-exporter/blob/main/docs/runbook.md#";
const ALERTS: [&str; 12] = [
    "WolkvoxIvrPulseSpike",
    "WolkvoxIvrRoutingPointOutage",
    "WolkvoxExporterDown",
    "WolkvoxExporterAbsent",
    "WolkvoxPollsFailing",
    "WolkvoxDataStale",
    "WolkvoxTokenQuotaExceeded",
    "WolkvoxTokenBudgetLow",
    "WolkvoxRowsRejected",
    "WolkvoxConfigReloadFailed",
    "WolkvoxIvrMenuOptionSilent",
    "WolkvoxIvrMenuOptionSurge",
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

/// mixin/rules.jsonnet with `config` (Jsonnet overriding the mixin's _config).
fn render(config: &str) -> Output {
    run(Command::new("jsonnet")
        .arg("-S")
        .arg("--tla-code")
        .arg(format!("config={config}"))
        .arg(repo_path("mixin/rules.jsonnet")))
}

/// Renders the rules with `config` into `dir/wolkvox-rules.yml`.
fn render_into(dir: &Path, config: &str) {
    let out = render(config);
    assert!(out.status.success(), "rendering failed: {}", text(&out));
    std::fs::write(dir.join("wolkvox-rules.yml"), &out.stdout).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
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

/// Every generated file is up to date with the mixin, and the check can fail: in a copy of the
/// repository's generated files (the check reads nothing else), `--check` passes; with one
/// dashboard changed by hand, it names that file and fails, and writing the files repairs it.
#[ignore = "needs jsonnet"]
#[test]
fn generated_files_are_up_to_date_and_the_check_fails_on_one_edited_by_hand() {
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path();
    for dir in [
        "mixin",
        "scripts",
        "prometheus",
        "dashboards",
        "helm/wolkvox-exporter/files",
    ] {
        copy_dir(&repo_path(dir), &root.join(dir));
    }
    let script = root.join("scripts/generate-mixin");
    let check = || run(Command::new(&script).arg("--check"));
    let out = check();
    assert!(
        out.status.success(),
        "the generated files are up to date (else run scripts/generate-mixin): {}",
        text(&out)
    );

    let edited = "helm/wolkvox-exporter/files/dashboards/wolkvox-ivr.json";
    let json = std::fs::read_to_string(root.join(edited)).unwrap();
    std::fs::write(
        root.join(edited),
        json.replacen("\"refresh\": \"1m\"", "\"refresh\": \"5m\"", 1),
    )
    .unwrap();
    let out = check();
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("out of date: {edited}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("out of date:").count(), 1, "{stderr}");

    let out = run(&mut Command::new(&script));
    assert!(out.status.success(), "{}", text(&out));
    let out = check();
    assert!(out.status.success(), "{}", text(&out));
}

/// The mixin's sources are as jsonnetfmt writes them, so that edits keep one layout.
#[ignore = "needs jsonnetfmt"]
#[test]
fn the_mixin_sources_are_formatted_with_jsonnetfmt() {
    let mut sources = Vec::new();
    let mut dirs = vec![repo_path("mixin")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "jsonnet" || e == "libsonnet")
            {
                sources.push(path);
            }
        }
    }
    assert!(sources.len() >= 8, "{sources:?}");
    let out = run(Command::new("jsonnetfmt").arg("--test").args(&sources));
    assert!(
        out.status.success(),
        "run jsonnetfmt -i on the mixin's sources: {}",
        text(&out)
    );
}

#[ignore = "needs promtool"]
#[test]
fn promtool_check_rules_accepts_the_rules_file() {
    let out = run(Command::new("promtool")
        .args(["check", "rules"])
        .arg(repo_path(RULES)));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("SUCCESS: 29 rules found"), "{all}");
}

#[ignore = "needs promtool"]
#[test]
fn promtool_unit_tests_of_the_rules_pass() {
    let out = run(Command::new("promtool")
        .args(["test", "rules"])
        .args(unit_test_files()));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("FAILED"), "{all}");
}

/// The rule file of prometheus/tests/outage.yml is the outage alert and the recording rules it
/// reads, each as the rules file has it, in a group of the same name: that test shows what the
/// shipped rules do.
#[test]
fn the_outage_unit_tests_load_the_rules_files_own_outage_rules() {
    let groups = |path: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(repo_path(path)).unwrap();
        let file: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        file["groups"].as_array().unwrap().clone()
    };
    let shipped = groups(RULES);
    let outage = groups("prometheus/tests/rules/outage.yml");
    let mut names = Vec::new();
    for group in &outage {
        let same = shipped
            .iter()
            .find(|g| g["name"] == group["name"])
            .unwrap_or_else(|| panic!("no group {} in {RULES}", group["name"]));
        for rule in group["rules"].as_array().unwrap() {
            assert!(
                same["rules"].as_array().unwrap().contains(rule),
                "not in {RULES} as it is: {rule}"
            );
            names.push(rule.get("record").or(rule.get("alert")).unwrap().clone());
        }
    }
    assert_eq!(
        names,
        [
            "wolkvox_rp:ivr_calls:increase1h_offset1w",
            "wolkvox_rp:ivr_calls:rate1h_offset1w",
            "WolkvoxIvrRoutingPointOutage"
        ]
    );
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
        // The exporter's own target and its configuration file have no operation, an absent
        // target has not even an instance: those name the target, or the series that is missing.
        let subject = match name {
            "WolkvoxExporterDown" | "WolkvoxConfigReloadFailed" => "$labels.instance",
            "WolkvoxExporterAbsent" => "up{job=\"wolkvox-exporter\"}",
            _ => "$labels.operation",
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

/// Every alert links to its own section of docs/runbook.md, and the section says what the alert
/// means, how to check and how to fix, with the PromQL to look at.
#[test]
fn every_alert_links_to_its_section_of_the_runbook() {
    let rules = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let runbook = std::fs::read_to_string(repo_path(RUNBOOK)).unwrap();
    let sections: Vec<&str> = runbook.split("\n## ").skip(1).collect();
    let titles: Vec<&str> = sections
        .iter()
        .map(|s| s.lines().next().unwrap().trim())
        .collect();
    assert_eq!(titles, ALERTS, "{RUNBOOK}: one section per alert, in order");
    let blocks: Vec<&str> = rules.split("- alert: ").skip(1).collect();
    assert_eq!(blocks.len(), ALERTS.len());
    for block in blocks {
        let name = block.lines().next().unwrap().trim();
        let url = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("runbook_url: "))
            .unwrap_or_else(|| panic!("{name} has no runbook_url"))
            .trim_matches('\'');
        // GitHub's and GitLab's anchor of the heading `## Name` is the name in lower case.
        assert_eq!(url, format!("{RUNBOOK_URL}{}", name.to_lowercase()));
        let section = sections
            .iter()
            .find(|s| s.lines().next() == Some(name))
            .unwrap();
        for heading in [
            "\n### What it means\n",
            "\n### How to check\n",
            "\n### How to fix\n",
        ] {
            assert!(
                section.contains(heading),
                "{RUNBOOK} {name}: no {heading:?}"
            );
        }
        assert!(
            section.contains("```promql\n"),
            "{RUNBOOK} {name}: no PromQL to look at"
        );
    }
}

#[ignore = "needs jsonnet and promtool"]
#[test]
fn overridden_parameters_reach_the_rendered_rules_and_promtool_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    render_into(
        dir.path(),
        r#"{
            pulseWindow: '30m', pulseBaseline: '6h', pulseZ: 3, pulseRatio: 4, pulseMinShare: 0.35,
            pulseMinCalls: 100, pulseFor: '20m', pulseSeverity: 'warning',
            pollIntervalSeconds: 600, pulsePolls: 3, pulseFactor: 5, pulseEvidence: 12,
            outageWindow: '21m', outageBaseline: '2h', outageMinCalls: 50,
            exporterSelector: 'job="wolkvox", namespace="ivr"', staleAfterSeconds: 3600,
            configReloadFailedFor: '15m',
            menuPolls: 3, menuBaseline: '12h', menuSurgeFactor: 2, menuSilentEvidence: 8,
            menuSurgeEvidence: 6, menuSeverity: 'warning',
            runbookURLPattern: 'https://wiki.example.com/runbooks/wolkvox#%s',
        }"#,
    );
    let rules = std::fs::read_to_string(dir.path().join("wolkvox-rules.yml")).unwrap();
    for expected in [
        "- record: wolkvox_rp:ivr_calls:polls\n",
        r#"(wolkvox_ivr_calls_total{job="wolkvox", namespace="ivr"} - wolkvox_ivr_calls_total{job="wolkvox", namespace="ivr"} offset 30m) >= 0"#,
        r#"{job="wolkvox", namespace="ivr", cod_opc_menu="PULSE"}[6h] offset 30m"#,
        "+ 3 * sqrt(wolkvox_rp:ivr_pulse_share:ratio6h_offset30m * (1 - wolkvox_rp:ivr_pulse_share:ratio6h_offset30m) / (wolkvox_rp:ivr_calls:polls > 0))",
        "(3 ^ 2 - 1) / 6",
        "> 4 * wolkvox_rp:ivr_pulse_share:ratio6h_offset30m",
        "            0.35\n          )",
        "rate(wolkvox_ivr_calls_total{job=\"wolkvox\", namespace=\"ivr\"}[21m])",
        "- record: wolkvox_rp:ivr_calls:rate2h_offset1w\n",
        "[2h] offset 1w",
        "wolkvox_rp:ivr_calls:increase2h_offset1w >= 50",
        "wolkvox_rp:ivr_pulse_share:ratio30m > wolkvox_rp:ivr_pulse_share_threshold:ratio30m",
        "wolkvox_rp:ivr_calls:polls >= 100",
        // The menu's windows: 1 to 3 polls of 10 minutes.
        "offset 10m >= 0",
        "offset 30m >= 0",
        "polls: '3'",
        "increase(wolkvox_ivr_calls_total{job=\"wolkvox\", namespace=\"ivr\", cod_opc_menu!=\"PULSE\"}[12h] offset 30m)",
        "0.6931 * wolkvox:ivr_calls:polls{cod_opc_menu!=\"PULSE\"}",
        "wolkvox:ivr_menu_silent_evidence:max > 8",
        "wolkvox:ivr_menu_surge_evidence:max > 6",
        "at its share in the 6h before: by 3 standard deviations of the share of that many calls, more than 4 times that share",
        "for: '20m'",
        "severity: warning",
        r#"up{job="wolkvox", namespace="ivr"} == 0"#,
        r#"absent(up{job="wolkvox", namespace="ivr"})"#,
        r#"wolkvox_config_last_reload_successful{job="wolkvox", namespace="ivr"} == 0"#,
        "> 3600",
        "over the last 30m",
        "above {{ 0.35 | humanizePercentage }}",
        "runbook_url: 'https://wiki.example.com/runbooks/wolkvox#wolkvoxivrpulsespike'",
        // The header records the overrides.
        "# Parameters: configReloadFailedFor: 15m, exporterSelector: job=",
    ] {
        assert!(rules.contains(expected), "{expected:?} in\n{rules}");
    }
    for default in [
        "[15m]",
        "offset 15m",
        "offset 5m",
        "polls: '4'",
        "> 9\n",
        "last 15m",
        "[1d]",
        "[3d]",
        "[16m]",
        "> 1800",
        "ratio15m",
        "job=\"wolkvox-exporter\"",
        "git.example.com",
    ] {
        assert!(!rules.contains(default), "{default:?} left in\n{rules}");
    }
    let out = run(Command::new("promtool")
        .args(["check", "rules"])
        .arg(dir.path().join("wolkvox-rules.yml")));
    assert!(out.status.success(), "{}", text(&out));
}

#[ignore = "needs jsonnet"]
#[test]
fn the_mixin_refuses_parameters_that_would_break_the_rules() {
    for (name, value) in [
        ("pulseWindow", "'15'"),
        ("pulseFor", "'soon'"),
        ("pulseZ", "'four'"),
        ("pulseRatio", "'x3'"),
        ("pulseMinShare", "1.5"),
        ("pulsePolls", "2.5"),
        ("pollIntervalSeconds", "0"),
        ("pulseFactor", "1"),
        ("pulseEvidence", "'high'"),
        ("budgetRatio", "-0.5"),
        ("pulseSeverity", "'page'"),
        ("runbookURLPattern", "'https://wiki.example.com/runbook'"),
    ] {
        let out = render(&format!("{{{name}: {value}}}"));
        assert!(!out.status.success(), "{name}: {value} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("{name}: ")),
            "{name}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty());
    }
    // The defaults pass the same checks.
    assert!(render("{}").status.success());
}

/// The unit tests can fail: with the minimum number of calls lowered to 10, the quiet-night
/// test must catch the page that nobody wants at night.
#[ignore = "needs jsonnet and promtool"]
#[test]
fn the_quiet_night_unit_test_fails_when_the_minimum_calls_guard_is_lowered() {
    let dir = tempfile::tempdir().unwrap();
    render_into(dir.path(), "{pulseMinCalls: 10}");
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
fn the_alerts_page_shows_the_recording_rules_and_the_pulse_alert_as_the_rules_file_has_them() {
    let rules = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let start = rules.find("- record: ").unwrap();
    // Up to the PULSE alert's labels.
    let alert = rules.find("- alert: WolkvoxIvrPulseSpike").unwrap();
    let end = alert + rules[alert..].find("        labels:").unwrap();
    // The records and the alert are in two groups: docs/alerts.md shows the rules without the
    // group lines between them.
    let expected: Vec<String> = normalized(&rules[start..end])
        .into_iter()
        .filter(|l| !l.starts_with("- name: ") && l != "rules:")
        .collect();
    let page = std::fs::read_to_string(repo_path("docs/alerts.md")).unwrap();
    let shown = normalized(&page);
    let found = shown
        .windows(expected.len())
        .any(|w| w == expected.as_slice());
    assert!(
        found,
        "docs/alerts.md's recording rules differ from {RULES}; expected:\n{}",
        expected.join("\n")
    );
}
