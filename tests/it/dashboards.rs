//! The Grafana dashboards in dashboards/, read as files: provisioning-friendly (a datasource
//! variable, fixed uids), the variables and panels that issue 3 asks for, `$__rate_interval` in
//! every range, no rate() of a gauge, and only metrics that the exporter or the rules provide.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

/// Family names and types of a real scrape: the exporter's metric contract. The exporter polls
/// the simulator at a fixed local time (so there is traffic) and calls token_info, so that
/// every family it can write is there, names included.
async fn contract() -> (BTreeSet<String>, BTreeMap<String, String>) {
    let (_sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.token_info_interval = Some(std::time::Duration::from_secs(3600));
    let names = format!(
        "operations:\n  \"{SERVER}\":\n    routing_points:\n      \"1001\":\n        name: Main menu\n        options:\n          \"1\": {{name: Billing}}\n"
    );
    cfg.names =
        wolkvox_exporter::config::file::parse_names(std::path::Path::new("names.yml"), &names)
            .unwrap();
    cfg.op_mut().poll_interval = std::time::Duration::from_millis(20);
    let (exporter, clock) =
        spawn_exporter_at(cfg, local("America/Bogota", "2026-11-25T23:50:00")).await;
    exporter.wait_for_polls(1).await;
    // Past midnight and the close delay: the families that a day's close brings exist too.
    clock.set(local("America/Bogota", "2026-11-26T00:20:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let mut m = exporter.scrape().await;
    assert!(!m.family("wolkvox_day_close_late_calls").is_empty());
    // token_info runs in the same task as the polls; wait for its gauges if they are late.
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    while m.family("wolkvox_token_limit").is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        m = exporter.scrape().await;
    }
    let names = m.samples.iter().map(|s| s.name.clone()).collect();
    exporter.stop().await;
    (names, m.types)
}

fn rules_text() -> String {
    std::fs::read_to_string(repo_path("prometheus/wolkvox-rules.yml")).unwrap()
}

/// Every query of a dashboard: panels, variables and annotations.
fn all_queries(d: &Value) -> Vec<(String, String)> {
    let mut q = panel_queries(d);
    q.extend(variable_queries(d));
    q.extend(annotation_queries(d));
    q
}

#[test]
fn dashboards_have_fixed_uids_titles_tags_and_schema_version_39_or_later() {
    let mut uids = BTreeSet::new();
    for (path, uid, title) in [
        (DASHBOARDS[0], "wolkvox-ivr", "Wolkvox IVR"),
        (DASHBOARDS[1], "wolkvox-exporter", "Wolkvox exporter"),
    ] {
        let d = load_dashboard(path);
        assert_eq!(d["uid"], uid, "{path}");
        assert!(uids.insert(uid));
        assert_eq!(d["title"], title, "{path}");
        let tags: Vec<&str> = d["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"wolkvox"), "{path}: {tags:?}");
        assert!(d["schemaVersion"].as_u64().unwrap() >= 39, "{path}");
        // A provisioned dashboard must not carry a database id.
        assert!(d.get("id").is_none_or(Value::is_null), "{path}");
    }
}

#[test]
fn dashboards_use_a_datasource_variable_and_no_import_inputs() {
    for path in DASHBOARDS {
        let text = std::fs::read_to_string(repo_path(path)).unwrap();
        assert!(!text.contains("${DS_"), "{path} has an import input");
        let d = load_dashboard(path);
        assert!(d.get("__inputs").is_none(), "{path}");
        let vars = d["templating"]["list"].as_array().unwrap();
        let ds = vars
            .iter()
            .find(|v| v["name"] == "datasource")
            .unwrap_or_else(|| panic!("{path}: no datasource variable"));
        assert_eq!(ds["type"], "datasource");
        assert_eq!(ds["query"], "prometheus");
        // Every datasource reference but Grafana's own annotations goes through it.
        let mut refs = Vec::new();
        collect_datasources(&d, &mut refs);
        assert!(refs.len() > 10, "{path}: {refs:?}");
        for r in refs {
            if r["type"] == "grafana" {
                continue;
            }
            assert_eq!(r["uid"], "${datasource}", "{path}: {r}");
            assert_eq!(r["type"], "prometheus", "{path}: {r}");
        }
    }
}

fn collect_datasources<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "datasource" && child.is_object() {
                    out.push(child);
                } else {
                    collect_datasources(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| collect_datasources(c, out)),
        _ => {}
    }
}

#[test]
fn dashboards_have_operation_rp_id_and_cod_opc_menu_variables_with_all() {
    for (path, names) in [
        (DASHBOARDS[0], &["operation", "rp_id", "cod_opc_menu"][..]),
        (DASHBOARDS[1], &["job", "operation"][..]),
    ] {
        let d = load_dashboard(path);
        let vars = d["templating"]["list"].as_array().unwrap();
        for name in names {
            let v = vars
                .iter()
                .find(|v| v["name"] == *name)
                .unwrap_or_else(|| panic!("{path}: no variable {name}"));
            assert_eq!(v["type"], "query", "{path} {name}");
            assert_eq!(v["multi"], true, "{path} {name} is multi-value");
            assert_eq!(v["includeAll"], true, "{path} {name} has All");
            assert_eq!(v["allValue"], ".*", "{path} {name}: All matches everything");
            assert_eq!(v["datasource"]["uid"], "${datasource}");
        }
        // Every panel query uses the variables with a regex matcher, so All and several values
        // work.
        for (title, expr) in panel_queries(&d) {
            for name in names {
                if expr.contains(&format!("${name}")) {
                    assert!(
                        expr.contains(&format!("{name}=~\"${name}\"")),
                        "{path} {title}: {expr}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_range_in_a_dashboard_query_is_rate_interval() {
    let mut ranges = 0;
    for path in DASHBOARDS {
        let d = load_dashboard(path);
        for (title, expr) in panel_queries(&d) {
            for (at, _) in expr.match_indices('[') {
                let end = expr[at..].find(']').unwrap() + at;
                assert_eq!(
                    &expr[at..=end],
                    "[$__rate_interval]",
                    "{path} {title}: {expr}"
                );
                ranges += 1;
            }
        }
    }
    assert!(ranges >= 8, "the dashboards use rates: {ranges}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dashboard_query_applies_rate_or_increase_to_a_gauge() {
    let (_, types) = contract().await;
    let mut checked = 0;
    for path in DASHBOARDS {
        let d = load_dashboard(path);
        for (title, expr) in panel_queries(&d) {
            for func in ["rate(", "irate(", "increase("] {
                for (at, _) in expr.match_indices(func) {
                    if at > 0 && expr[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                        continue; // irate( matched as rate(
                    }
                    let arg = &expr[at + func.len()..];
                    let arg = &arg[..arg.find('[').unwrap()];
                    let metric = metric_names(arg)
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| panic!("{path} {title}: no metric in {arg}"));
                    assert_eq!(
                        types.get(&metric).map(String::as_str),
                        Some("counter"),
                        "{path} {title}: {func}{metric}) is not a counter"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_a_dashboard_names_is_exported_or_recorded_by_the_rules() {
    let (families, _) = contract().await;
    let rules = rules_text();
    let mut used = BTreeSet::new();
    for path in DASHBOARDS {
        let d = load_dashboard(path);
        for (title, expr) in all_queries(&d) {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{path} {title}: no metric in {expr}");
            for name in names {
                let known = match name.as_str() {
                    "up" => true,
                    "ALERTS" => {
                        // The alert it names must exist.
                        let alert = expr.split("alertname=\"").nth(1).unwrap();
                        let alert = &alert[..alert.find('"').unwrap()];
                        rules.contains(&format!("- alert: {alert}\n"))
                    }
                    n if n.contains(':') => rules.contains(&format!("- record: {n}\n")),
                    n => families.contains(n),
                };
                assert!(
                    known,
                    "{path} {title}: {name} is neither exported nor recorded"
                );
                used.insert(name);
            }
        }
    }
    // The dashboards show the whole contract: every family of the exporter appears.
    let missing: Vec<_> = families.iter().filter(|f| !used.contains(*f)).collect();
    assert!(missing.is_empty(), "families on no dashboard: {missing:?}");
}

#[test]
fn the_pulse_share_panel_draws_the_alert_threshold_per_routing_point() {
    let d = load_dashboard(DASHBOARDS[0]);
    let panel = panels(&d)
        .into_iter()
        .find(|p| {
            p["targets"].as_array().into_iter().flatten().any(|t| {
                t["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("wolkvox_rp:ivr_pulse_share:ratio15m{"))
            })
        })
        .expect("a panel shows the recorded PULSE share");
    assert_eq!(panel["type"], "timeseries");
    assert_eq!(panel["fieldConfig"]["defaults"]["unit"], "percentunit");
    let threshold = panel["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["expr"]
                .as_str()
                .unwrap()
                .contains("wolkvox_rp:ivr_pulse_share_threshold:ratio15m{")
        })
        .expect("the threshold that the alert uses is drawn");
    let legend = threshold["legendFormat"].as_str().unwrap();
    // The routing point's name where one is known, else its id (see the names join).
    assert!(legend.contains("{{rp_name}}"), "{legend}");
    // The threshold series are styled apart from the shares, by their legend.
    let overrides = panel["fieldConfig"]["overrides"].as_array().unwrap();
    let styled = overrides.iter().any(|o| {
        o["matcher"]["id"] == "byRegexp"
            && legend.starts_with(
                o["matcher"]["options"]
                    .as_str()
                    .unwrap()
                    .trim_matches(['/', '^']),
            )
            && o["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == "custom.lineStyle")
    });
    assert!(styled, "{overrides:?}");
    // The alert's own condition is what the panel compares.
    let rules = rules_text();
    assert!(rules.contains(
        "wolkvox_rp:ivr_pulse_share:ratio15m > wolkvox_rp:ivr_pulse_share_threshold:ratio15m"
    ));
}

#[test]
fn the_dashboards_have_the_panels_that_issue_3_lists() {
    let titles = |path: &str| -> Vec<(String, String)> {
        panels(&load_dashboard(path))
            .into_iter()
            .map(|p| {
                (
                    p["title"].as_str().unwrap().to_owned(),
                    p["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let ivr = titles(DASHBOARDS[0]);
    for (needle, kind) in [
        ("Calls by menu option in the report window", "bargauge"),
        ("Calls per minute by menu option", "timeseries"),
        ("PULSE share per routing point", "timeseries"),
        ("Top routing points", "bargauge"),
        ("Average seconds per call by menu option", "timeseries"),
        (
            "Report: calls and time by routing point and menu option",
            "table",
        ),
    ] {
        assert!(
            ivr.iter().any(|(t, k)| t.starts_with(needle) && k == kind),
            "IVR: no {kind} {needle:?} in {ivr:?}"
        );
    }
    let exporter = titles(DASHBOARDS[1]);
    for needle in [
        "Scrape target",
        "Polls",
        "Last success age",
        "Poll duration",
        "Polls by result",
        "Report rows",
        "Rejected rows by reason",
    ] {
        assert!(
            exporter.iter().any(|(t, _)| t == needle),
            "exporter: no {needle:?} in {exporter:?}"
        );
    }
}

#[test]
fn the_report_table_has_wolkvoxs_columns() {
    let d = load_dashboard(DASHBOARDS[0]);
    let table = panels(&d)
        .into_iter()
        .find(|p| p["type"] == "table")
        .unwrap();
    for t in table["targets"].as_array().unwrap() {
        assert_eq!(t["format"], "table");
        assert_eq!(t["instant"], true);
        assert!(
            t["expr"]
                .as_str()
                .unwrap()
                .starts_with("sum by (operation, rp_id, cod_opc_menu)")
        );
    }
    let organize = table["transformations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "organize")
        .unwrap();
    let renamed = &organize["options"]["renameByName"];
    for (field, column) in [
        ("rp_id", "Routing point (rp_id)"),
        ("cod_opc_menu", "Menu option (cod_opc_menu)"),
        ("Value #A", "Calls"),
        ("Value #B", "Time in option"),
    ] {
        assert_eq!(renamed[field], column);
    }
}

#[test]
fn panels_have_unique_ids_and_do_not_overlap() {
    for path in DASHBOARDS {
        let d = load_dashboard(path);
        let mut ids = BTreeSet::new();
        let mut boxes: Vec<(String, u64, u64, u64, u64)> = Vec::new();
        for p in panels(&d) {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{path}: id {}",
                p["id"]
            );
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(x + w <= 24, "{path}: {} is wider than the grid", p["title"]);
            let title = p["title"].as_str().unwrap().to_owned();
            for (other, ox, oy, ow, oh) in &boxes {
                let apart = x + w <= *ox || *ox + ow <= x || y + h <= *oy || *oy + oh <= y;
                assert!(apart, "{path}: {title} overlaps {other}");
            }
            boxes.push((title, x, y, w, h));
        }
    }
}
