//! Proof with the real programs: Debian's Prometheus, with the project's rules, scrapes the
//! exporter binary in `--demo` mode. Every dashboard query and variable returns data, every rule
//! evaluates without error, and WolkvoxIvrPulseSpike fires with the demo's PULSE spike and not
//! without it.
//!
//! Time: the demo clock runs SPEED times faster than real time (a real second is 15 simulated
//! minutes), and the rules and dashboards are rendered from the mixin with windows shortened in
//! proportion through its _config, the same parameters a user would override. The traffic depends on the simulated
//! hour, which starts at the real local hour of the demo's time zone; the test parameters were
//! chosen so that the spike fires and the normal traffic stays silent from any start hour: the
//! last test here runs the rules on the simulator's exact traffic for every 5-minute start over
//! 20 days (the spike fires within 35 s; the normal traffic never reaches even pending).

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use reqwest::Url;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// Longest a test waits for Prometheus to show what it expects.
const DEADLINE: Duration = Duration::from_secs(75);
/// Demo clock speed: one real second is 15 simulated minutes.
const SPEED: &str = "900";
/// When the spike starts, in simulated time: 20 real seconds after start, once the baseline
/// window has data.
const SPIKE_AFTER: &str = "300m";
/// The rules, shortened for the demo clock: the 15m window becomes 15 s (225 simulated minutes),
/// the baseline 45 s, `for` 3 s. The binomial margin (4 standard deviations), the ratio (2) and
/// the minimum share (40%) and calls (40) keep the demo's normal night traffic, a few calls a
/// simulated minute, from ever matching, while the spike (PULSE share 10% -> about 69%) matches
/// at any hour.
const RULE_CONFIG: &str = "{pulseWindow: '15s', pulseBaseline: '45s', pulseFor: '3s', \
                           pulseZ: 4, pulseRatio: 2, pulseMinShare: 0.4, pulseMinCalls: 40}";
/// The recording rules the tests query, named with the window of RULE_CONFIG.
const PULSE_SHARE: &str = "wolkvox_rp:ivr_pulse_share:ratio15s";
const PULSE_THRESHOLD: &str = "wolkvox_rp:ivr_pulse_share_threshold:ratio15s";

/// What `$__rate_interval` becomes: Grafana's 4 x the 1 s scrape interval, with a margin.
const RATE_INTERVAL: &str = "10s";

/// A Prometheus and the exporters it scrapes; everything is killed on drop.
struct Stack {
    prometheus: Process,
    _exporters: Vec<Process>,
    api: Api,
    /// The dashboards rendered with RULE_CONFIG, whose queries name its recording rules.
    dashboards: Vec<Value>,
    _dir: tempfile::TempDir,
}

/// The exporter binary in demo mode on 127.0.0.1:0; returns it and its address.
fn start_exporter(extra: &[&str]) -> (Process, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.args([
        "--demo",
        "--demo.speed",
        SPEED,
        "--poll.interval",
        "1s",
        "--wolkvox.token-info-interval",
        "2s",
        "--web.listen-address",
        "127.0.0.1:0",
    ])
    .args(extra);
    let mut p = Process::start(&mut cmd);
    let addr = p.address();
    (p, addr)
}

/// A port that was free a moment ago: Prometheus takes an address, not a listener.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Stack {
    /// Starts one exporter per (scenario, extra flags) and a Prometheus that scrapes them all
    /// as job wolkvox-exporter, each with a `scenario` target label, and loads the rules
    /// rendered with RULE_CONFIG.
    fn start(scenarios: &[(&str, &[&str])]) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("wolkvox-rules.yml");
        render_test_rules(&rules);
        let dashboards = render_test_dashboards(&dir.path().join("dashboards"));
        let exporters = scenarios
            .iter()
            .map(|(scenario, extra)| (*scenario, start_exporter(extra)))
            .collect();
        Stack::launch(dir, &rules, dashboards, exporters, "1s")
    }

    /// The project as shipped: `--demo` with nothing else but a zone where it is 10:00, as the
    /// README's quick start runs it, the committed rules file and dashboards, and a 5 s scrape
    /// interval.
    fn start_shipped() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["--demo", "--web.listen-address", "127.0.0.1:0"]);
        // The demo's traffic follows the hour of its zone: at night a minute may hold no call
        // at all, and the PULSE share of a window without calls is rightly empty. A zone where
        // it is 10:00 keeps the test from depending on the hour it runs at.
        cmd.args(["--wolkvox.timezone", &zone_at_ten(jiff::Timestamp::now())]);
        let mut p = Process::start(&mut cmd);
        let addr = p.address();
        let dashboards = DASHBOARDS.iter().map(|p| load_dashboard(p)).collect();
        let rules = repo_path("prometheus/wolkvox-rules.yml");
        Stack::launch(dir, &rules, dashboards, vec![("shipped", (p, addr))], "5s")
    }

    /// Starts a Prometheus that scrapes `exporters` every `scrape` as job wolkvox-exporter,
    /// each with a `scenario` target label, and loads `rules`.
    fn launch(
        dir: tempfile::TempDir,
        rules: &Path,
        dashboards: Vec<Value>,
        exporters: Vec<(&str, (Process, String))>,
        scrape: &str,
    ) -> Stack {
        let mut targets = String::new();
        let targets_count = exporters.len();
        let mut processes = Vec::new();
        for (scenario, (p, addr)) in exporters {
            processes.push(p);
            targets.push_str(&format!(
                "      - targets: ['{addr}']\n        labels: {{scenario: {scenario}}}\n"
            ));
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: {scrape}\n  scrape_timeout: 1s\n  evaluation_interval: {scrape}\n\
                 rule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: wolkvox-exporter\n    static_configs:\n{targets}",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let prometheus = Process::start(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn"),
        );
        let mut stack = Stack {
            prometheus,
            _exporters: processes,
            api: Api::new(&format!("http://127.0.0.1:{port}")),
            dashboards,
            _dir: dir,
        };
        stack.wait_ready();
        // Until the first scrape, absent(up) holds and WolkvoxExporterAbsent is pending; the
        // tests start once every target has been scraped and that has cleared.
        stack.await_some(
            "every exporter scraped, WolkvoxExporterAbsent inactive",
            |api| {
                let up = api.query(r#"up{job="wolkvox-exporter"} == 1"#);
                let absent = api
                    .alerts()
                    .iter()
                    .any(|a| a["labels"]["alertname"] == "WolkvoxExporterAbsent");
                (up.len() == targets_count && !absent).then_some(())
            },
        );
        stack
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if self.api.ready() {
                return;
            }
            if let Some(status) = self.prometheus.child.try_wait().unwrap() {
                panic!(
                    "prometheus exited with {status}:\n{}",
                    self.prometheus.stderr()
                );
            }
            assert!(
                start.elapsed() < EVENT_TIMEOUT,
                "prometheus not ready:\n{}",
                self.prometheus.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls `check` every 250 ms until it returns Some, or fails after DEADLINE naming `what`
    /// and showing Prometheus' log.
    fn await_some<T>(&mut self, what: &str, mut check: impl FnMut(&Api) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = check(&self.api) {
                return v;
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "after {DEADLINE:?}: {what}\nprometheus stderr:\n{}",
                    self.prometheus.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Prometheus' HTTP API over real HTTP.
struct Api {
    base: String,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            client: http_builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn ready(&self) -> bool {
        self.rt.block_on(async {
            matches!(
                self.client.get(format!("{}/-/ready", self.base)).send().await,
                Ok(r) if r.status() == 200
            )
        })
    }

    /// GET `path` with `params`; the `data` of a successful answer. An error answer (a query
    /// that does not parse, say) fails the test at once.
    fn get(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let url = Url::parse_with_params(&format!("{}{path}", self.base), params).unwrap();
        let body: Value = self.rt.block_on(async {
            let resp = self.client.get(url.clone()).send().await.unwrap();
            serde_json::from_str(&resp.text().await.unwrap()).unwrap()
        });
        assert_eq!(body["status"], "success", "{url}: {body}");
        body["data"].clone()
    }

    /// An instant query's result vector.
    fn query(&self, expr: &str) -> Vec<Value> {
        self.get("/api/v1/query", &[("query", expr)])["result"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Values of `label` on the series that `selector` matches in the last minute, as
    /// Grafana's label_values(selector, label) asks for them.
    fn label_values(&self, selector: &str, label: &str) -> Vec<String> {
        let now = now_seconds();
        let start = (now - 60.0).to_string();
        let end = now.to_string();
        self.get(
            &format!("/api/v1/label/{label}/values"),
            &[("match[]", selector), ("start", &start), ("end", &end)],
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
    }

    /// The active alerts (pending and firing).
    fn alerts(&self) -> Vec<Value> {
        self.get("/api/v1/alerts", &[])["alerts"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Fills in Grafana's variables; panics on any it does not know, so that a new variable in a
/// dashboard cannot go untested.
fn substitute(expr: &str, values: &[(String, String)]) -> String {
    let mut out = expr.replace("$__rate_interval", RATE_INTERVAL);
    // Longest names first, so that $operation is not taken for a prefix of another.
    let mut values = values.to_vec();
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in &values {
        out = out.replace(&format!("${name}"), value);
    }
    // "$1" is label_replace's first capture group, which Grafana leaves as it is.
    assert!(
        !out.replace("\"$1\"", "").contains('$'),
        "unknown variable in {out}"
    );
    out
}

/// The values that Grafana offers for variable `name`: `label_values(selector, label)`, or
/// `query_result(expr)` with the variable's regex (see [`query_result_options`]). The
/// variables before it are `all`.
fn variable_values(
    api: &Api,
    dashboard: &Value,
    name: &str,
    query: &str,
    all: &[(String, String)],
) -> Vec<String> {
    if query.trim().starts_with("query_result(") {
        let options = query_result_options(api, dashboard, name, all);
        return options.into_iter().map(|(value, _)| value).collect();
    }
    let (selector, label) = parse_label_values(query);
    match selector.map(|s| substitute(&s, all)) {
        Some(s) => api.label_values(&s, &label),
        None => api.label_values("{__name__=~\".+\"}", &label),
    }
}

/// The (value, text) options of a `query_result(expr)` variable, as Grafana makes them: each
/// series as one line, the variable's regex applied, its `value` group the value and its
/// `text` group what the list shows.
fn query_result_options(
    api: &Api,
    dashboard: &Value,
    name: &str,
    all: &[(String, String)],
) -> Vec<(String, String)> {
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap();
    let query = variable["query"]["query"].as_str().unwrap().trim();
    let expr = query
        .strip_prefix("query_result(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap();
    let pattern = variable["regex"].as_str().unwrap();
    let pattern = pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/'));
    let regex = regex::Regex::new(pattern.expect("a /regex/")).unwrap();
    api.query(&substitute(expr, all))
        .iter()
        .filter_map(|series| {
            // Grafana's line for a series: `name{label="value",...} value timestamp`, the
            // labels in the order Prometheus gives them (sorted).
            let labels = series["metric"].as_object().unwrap();
            let line = format!(
                "{{{}}} {} {}",
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap()))
                    .collect::<Vec<_>>()
                    .join(","),
                series["value"][1].as_str().unwrap(),
                series["value"][0]
            );
            let found = regex.captures(&line)?;
            let text = found.name("text").expect("a text group").as_str();
            Some((found.name("value")?.as_str().to_owned(), text.to_owned()))
        })
        .collect()
}

/// Splits Grafana's `label_values(selector, label)` or `label_values(label)`.
fn parse_label_values(query: &str) -> (Option<String>, String) {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("only label_values() variables are tested: {query}"));
    match inner.rsplit_once(',') {
        Some((selector, label)) => (Some(selector.trim().to_owned()), label.trim().to_owned()),
        None => (None, inner.trim().to_owned()),
    }
}

#[ignore = "needs prometheus, promtool and jsonnet"]
#[test]
fn every_dashboard_query_and_variable_returns_data_and_every_rule_is_healthy_in_prometheus() {
    let mut stack = Stack::start(&[("normal", &[])]);
    // Every rule of the shipped file: its records and alerts.
    let shipped_rules = std::fs::read_to_string(repo_path("prometheus/wolkvox-rules.yml"))
        .unwrap()
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("- record:") || l.starts_with("- alert:")
        })
        .count();
    assert!(shipped_rules >= 17, "{shipped_rules}");

    // Every rule group is loaded, and every rule has been evaluated without an error.
    let groups = stack.await_some("every rule evaluated with health ok", |api| {
        let groups = api.get("/api/v1/rules", &[])["groups"].clone();
        let rules: Vec<&Value> = groups
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        for r in &rules {
            assert_ne!(r["health"], "err", "rule failed: {r}");
        }
        (rules.len() == shipped_rules && rules.iter().all(|r| r["health"] == "ok"))
            .then_some(groups)
    });
    let mut names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "wolkvox-exporter",
            "wolkvox-ivr",
            "wolkvox-ivr-menu",
            "wolkvox-ivr-menu.rules",
            "wolkvox-ivr.rules"
        ]
    );

    let dashboards = stack.dashboards.clone();
    assert_eq!(dashboards.len(), DASHBOARDS.len());
    for d in &dashboards {
        let path = d["uid"].as_str().unwrap();
        let d = d.clone();
        // Variables in order, each with the ones before it set to All; each must offer values.
        let mut all: Vec<(String, String)> = Vec::new();
        let mut first: Vec<(String, String)> = Vec::new();
        for (name, query) in variable_queries(&d) {
            let values = stack.await_some(&format!("{path}: variable {name} has values"), |api| {
                let v = variable_values(api, &d, &name, &query, &all);
                (!v.is_empty()).then_some(v)
            });
            // Take "demo" (the demo's operation) or else the first value, as Grafana does.
            let pick = values
                .iter()
                .find(|v| *v == "demo")
                .unwrap_or(&values[0])
                .clone();
            all.push((name.clone(), ".*".to_owned()));
            first.push((name, pick));
        }
        // Every panel query, with All and with one value of each variable, returns data.
        let mut checked = 0;
        for values in [&all, &first] {
            for (title, expr) in panel_queries(&d) {
                let expr = substitute(&expr, values);
                stack.await_some(&format!("{path} {title}: no data for {expr}"), |api| {
                    (!api.query(&expr).is_empty()).then_some(())
                });
                checked += 1;
            }
        }
        assert!(checked >= 20, "{path}: {checked}");
        // Annotation queries parse and run (their data comes with alerts: see the spike test).
        for (name, expr) in annotation_queries(&d) {
            stack.api.query(&substitute(&expr, &all));
            assert!(!name.is_empty());
        }
    }
}

/// `--demo` alone fills every panel of both dashboards, the token budget included, within a
/// minute of Prometheus' first scrape, with the rules and dashboards as shipped. Only the PULSE
/// share and its threshold need what a minute cannot give: the share is the counters'
/// difference over the last 15m, and the baseline the 3d before them.
#[ignore = "needs prometheus, promtool and jsonnet"]
#[test]
fn the_shipped_demo_fills_every_panel_within_a_minute_in_prometheus() {
    let stack = Stack::start_shipped();
    let started = Instant::now();
    let deadline = Duration::from_secs(60);
    let needs_history = [
        "ratio3d_offset15m",
        "pulse_share_threshold",
        "ivr_pulse_share:ratio15m",
    ];
    let mut checked = 0;
    for d in stack.dashboards.clone() {
        let uid = d["uid"].as_str().unwrap().to_owned();
        let values: Vec<(String, String)> = variable_queries(&d)
            .into_iter()
            .map(|(name, _)| (name, ".*".to_owned()))
            .collect();
        for (title, expr) in panel_queries(&d) {
            if needs_history.iter().any(|h| expr.contains(h)) {
                continue;
            }
            // Grafana's $__rate_interval for a data source scraped every 15 s, its default:
            // 4 x 15 s. The demo polls every 15 s, so a shorter range would see no change.
            let expr = substitute(&expr.replace("$__rate_interval", "1m"), &values);
            loop {
                if !stack.api.query(&expr).is_empty() {
                    break;
                }
                assert!(
                    started.elapsed() < deadline,
                    "{uid} {title}: no data {deadline:?} after the first scrape: {expr}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            eprintln!("{:>5.1}s {uid} {title}", started.elapsed().as_secs_f64());
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} panel queries");
    eprintln!(
        "{checked} panel queries had data after {:?}",
        started.elapsed()
    );
    // The token budget panel's series come from token_info, which --demo calls by default.
    assert!(!stack.api.query("wolkvox_token_limit").is_empty());
}

#[ignore = "needs prometheus, promtool and jsonnet"]
#[test]
fn pulse_spike_alert_fires_with_the_demo_spike_and_not_without_it_in_prometheus() {
    let spike_flags: &[&str] = &[
        "--demo.pulse-spike",
        "1001",
        "--demo.pulse-spike-after",
        SPIKE_AFTER,
    ];
    let mut stack = Stack::start(&[("normal", &[]), ("spike", spike_flags)]);
    let started = Instant::now();

    let fired = stack.await_some(
        "WolkvoxIvrPulseSpike firing for the spiked routing point",
        |api| {
            let alerts = api.alerts();
            for a in &alerts {
                let l = &a["labels"];
                // Without the spike no Wolkvox alert is ever active, not even pending; with
                // it, only the PULSE alert of routing point 1001.
                let spiked = l["scenario"] == "spike"
                    && l["alertname"] == "WolkvoxIvrPulseSpike"
                    && l["rp_id"] == "1001";
                assert!(spiked, "unexpected active alert: {a}");
            }
            alerts.into_iter().find(|a| a["state"] == "firing")
        },
    );
    eprintln!(
        "WolkvoxIvrPulseSpike fired {:?} after start",
        started.elapsed()
    );
    let labels = &fired["labels"];
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["operation"], "demo");
    assert_eq!(labels["job"], "wolkvox-exporter");
    let summary = fired["annotations"]["summary"].as_str().unwrap();
    assert!(
        // The demo names its routing points: the annotation gives the name and the id.
        summary.contains("routing point Main menu (1001) in operation demo"),
        "{summary}"
    );
    let share: f64 = fired["value"].as_str().unwrap().parse().unwrap();
    assert!(share > 0.4, "the alert's value is the PULSE share: {share}");

    // The recorded share of 1001 is above its recorded threshold, as the dashboard draws them.
    let over = stack.api.query(&format!(
        r#"{PULSE_SHARE}{{scenario="spike", rp_id="1001"}} > {PULSE_THRESHOLD}"#
    ));
    assert_eq!(over.len(), 1, "{over:?}");

    // The IVR dashboard's annotation of firing PULSE alerts now has data.
    let d = stack
        .dashboards
        .iter()
        .find(|d| d["uid"] == "wolkvox-ivr")
        .unwrap()
        .clone();
    let vars: Vec<(String, String)> = ["job", "instance", "operation", "rp_id", "cod_opc_menu"]
        .iter()
        .map(|v| (v.to_string(), ".*".to_owned()))
        .collect();
    let annotations = annotation_queries(&d);
    assert!(!annotations.is_empty());
    for (name, expr) in annotations {
        let expr = substitute(&expr, &vars);
        let result = stack.api.query(&expr);
        assert!(!result.is_empty(), "annotation {name}: no data for {expr}");
    }
}

#[ignore = "needs jsonnet and promtool"]
#[test]
fn the_test_rule_parameters_are_accepted_by_promtool() {
    // The shortened rules that the two tests above load are a valid rules file too.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    render_test_rules(&rules);
    check_rules(&rules);
}

/// Renders the mixin's `entry` with RULE_CONFIG: text, or JSON files into `multi`.
fn render_mixin(entry: &str, multi: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new("jsonnet");
    match multi {
        Some(dir) => {
            std::fs::create_dir_all(dir).unwrap();
            cmd.arg("-m").arg(dir);
        }
        None => {
            cmd.arg("-S");
        }
    }
    let out = cmd
        .arg("--tla-code")
        .arg(format!("config={RULE_CONFIG}"))
        .arg(repo_path(entry))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jsonnet {entry} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Renders the rules with RULE_CONFIG into `path`.
fn render_test_rules(path: &Path) {
    std::fs::write(path, render_mixin("mixin/rules.jsonnet", None)).unwrap();
}

/// Renders the dashboards with RULE_CONFIG into `dir`; returns them in the order of DASHBOARDS.
fn render_test_dashboards(dir: &Path) -> Vec<Value> {
    render_mixin("mixin/dashboards.jsonnet", Some(dir));
    DASHBOARDS
        .iter()
        .map(|path| {
            let name = Path::new(path).file_name().unwrap();
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            let d: Value = serde_json::from_str(&text).unwrap();
            // The same dashboard as the committed one, but for the names of the rules.
            assert_eq!(d["uid"], load_dashboard(path)["uid"]);
            d
        })
        .collect()
}

fn check_rules(path: &Path) {
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rule parameters of RULE_CONFIG as numbers, for the model below.
const MODEL_WINDOW: usize = 15;
const MODEL_BASELINE: usize = 45;
const MODEL_FOR: usize = 3;
const MODEL_Z: f64 = 4.0;
const MODEL_RATIO: f64 = 2.0;
const MODEL_MIN_SHARE: f64 = 0.4;
const MODEL_MIN_CALLS: u64 = 40;
/// Simulated minutes per real second at SPEED, and the spike's start in simulated minutes.
const MODEL_MINUTES_PER_SECOND: usize = 15;
const MODEL_SPIKE_AFTER: usize = 300;

/// The two tests above must not depend on the hour they run at, yet the demo's traffic does
/// (quiet at night, busy mid-morning). This runs the alert's rules, with the test parameters,
/// on the simulator's exact per-minute traffic, for a start every 5 minutes of 20 days: the spike
/// fires well within the deadline, and the traffic without it never matches the condition (so
/// the alert is never even pending). Prometheus' increase() is modelled by exact differences.
#[test]
fn in_a_model_of_the_rules_the_test_parameters_fire_on_the_spike_and_never_otherwise_at_any_hour() {
    use wolkvox_exporter::demo::simulator::SimulatorConfig;
    use wolkvox_exporter::demo::simulator::data::{ROUTING_POINTS, Spike, minute};

    // The model's numbers are the numbers of the rules' parameters.
    for (name, value) in [
        ("pulseWindow", format!("'{MODEL_WINDOW}s'")),
        ("pulseBaseline", format!("'{MODEL_BASELINE}s'")),
        ("pulseFor", format!("'{MODEL_FOR}s'")),
        ("pulseZ", format!("{MODEL_Z}")),
        ("pulseRatio", format!("{MODEL_RATIO}")),
        ("pulseMinShare", format!("{MODEL_MIN_SHARE}")),
        ("pulseMinCalls", format!("{MODEL_MIN_CALLS}")),
    ] {
        assert!(
            RULE_CONFIG.contains(&format!("{name}: {value},"))
                || RULE_CONFIG.contains(&format!("{name}: {value}}}")),
            "{RULE_CONFIG}"
        );
    }
    assert_eq!(
        SPEED.parse::<usize>().unwrap(),
        MODEL_MINUTES_PER_SECOND * 60
    );
    assert_eq!(SPIKE_AFTER, format!("{MODEL_SPIKE_AFTER}m"));

    let seed = SimulatorConfig::default().seed;
    let first_minute: i64 = 20_000 * 1440; // any day: the traffic differs from day to day
    let days = 20;
    let horizon = 60 * MODEL_MINUTES_PER_SECOND; // one real minute of simulated traffic
    let minutes = days * 1440 + horizon;
    // Per routing point and minute: (all calls, PULSE calls), without and with the spike (a
    // spike from the beginning of time: whether a minute is spiked is chosen per start below).
    let always = |rp: usize| {
        vec![Spike {
            rp_id: ROUTING_POINTS[rp].id.to_owned(),
            from: i64::MIN,
            factor: 20.0,
            pulse_only: true,
        }]
    };
    let traffic = |rp: usize, spikes: &[Spike]| -> Vec<(u64, u64)> {
        (0..minutes)
            .map(|m| {
                let point = &ROUTING_POINTS[rp];
                let mut all = 0;
                let mut pulse = 0;
                for (o, spec) in point.options.iter().enumerate() {
                    let (calls, _) = minute(seed, rp, o, first_minute + m as i64, spikes);
                    all += calls;
                    if spec.code == "PULSE" {
                        pulse += calls;
                    }
                }
                (all, pulse)
            })
            .collect()
    };
    let normal: Vec<Vec<(u64, u64)>> = (0..ROUTING_POINTS.len())
        .map(|rp| traffic(rp, &[]))
        .collect();
    let spiked = traffic(0, &always(0));
    assert_eq!(ROUTING_POINTS[0].id, "1001", "the test spikes 1001");

    // Real seconds from start until the alert fires, within `seconds`; None if it does not.
    let fires = |per_minute: &dyn Fn(usize) -> (u64, u64), seconds: usize, for_: usize| {
        let mut cum = vec![(0u64, 0u64)];
        for m in 0..=seconds * MODEL_MINUTES_PER_SECOND {
            let (a, p) = per_minute(m);
            let (ca, cp) = *cum.last().unwrap();
            cum.push((ca + a, cp + p));
        }
        let inc = |from: isize, to: isize| -> Option<(f64, f64)> {
            let from = from.max(0) as usize;
            let to = to.max(0) as usize;
            // Prometheus needs two samples in the window.
            (to >= from + 2).then(|| {
                let (a0, p0) = cum[from * MODEL_MINUTES_PER_SECOND];
                let (a1, p1) = cum[to * MODEL_MINUTES_PER_SECOND];
                ((a1 - a0) as f64, (p1 - p0) as f64)
            })
        };
        let mut since = None;
        for t in 1..=seconds as isize {
            let (w, b) = (MODEL_WINDOW as isize, MODEL_BASELINE as isize);
            let holds = match (inc(t - w, t), inc(t - w - b, t - w)) {
                (Some((all, pulse)), Some((ball, bpulse))) if all > 0.0 && ball > 0.0 => {
                    // The threshold record: the binomial margin, the ratio, the minimum share.
                    let b = bpulse / ball;
                    let chance = b
                        + MODEL_Z * (b * (1.0 - b) / all).sqrt()
                        + (MODEL_Z * MODEL_Z - 1.0) / 6.0 * (1.0 - 2.0 * b) / all;
                    let threshold = chance.max(MODEL_RATIO * b).max(MODEL_MIN_SHARE);
                    pulse / all > threshold && all >= MODEL_MIN_CALLS as f64
                }
                _ => false,
            };
            if holds {
                let s = *since.get_or_insert(t);
                if t - s >= for_ as isize {
                    return Some(t as usize);
                }
            } else {
                since = None;
            }
        }
        None
    };

    let mut slowest = 0;
    for start in (0..days * 1440).step_by(5) {
        let spike_from = MODEL_SPIKE_AFTER;
        let with_spike = |m: usize| {
            if m >= spike_from {
                spiked[start + m]
            } else {
                normal[0][start + m]
            }
        };
        let fired = fires(&with_spike, 60, MODEL_FOR)
            .unwrap_or_else(|| panic!("the spike does not fire from start minute {start}"));
        slowest = slowest.max(fired);
        // Without the spike, no routing point matches even once (pending) while the test
        // watches, nor do the unspiked routing points of the spiked exporter.
        for (rp, traffic) in normal.iter().enumerate() {
            let at = |m: usize| traffic[start + m];
            assert_eq!(
                fires(&at, fired + 5, 0),
                None,
                "{} matches without a spike from start minute {start}",
                ROUTING_POINTS[rp].id
            );
        }
    }
    assert!(
        slowest <= 45,
        "the spike fires {slowest} s after start at worst"
    );
    eprintln!("in the model the spike fires {slowest} s after start at worst");
}

/// The dashboards' joins in a real Prometheus: an operation with names (the demo's, with a
/// names file over them) and one without any: each routing point and option appears once, by
/// name where one is known and by id where not, in the category the names give (or `pulse`
/// for PULSE and `other` without names).
#[ignore = "needs prometheus, promtool and jsonnet"]
#[test]
fn dashboards_show_names_where_known_and_ids_where_not_each_series_once_in_prometheus() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_sim, url) = runtime.block_on(spawn_simulator());
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.yml");
    std::fs::write(
        &names,
        "operations:\n  demo:\n    routing_points:\n      \"1001\": {name: Front door}\n",
    )
    .unwrap();
    let rules = dir.path().join("wolkvox-rules.yml");
    render_test_rules(&rules);
    let dashboards = render_test_dashboards(&dir.path().join("dashboards"));
    let named = start_exporter(&["--names.file", names.to_str().unwrap()]);
    let mut cmd = Command::new(BIN);
    cmd.env_clear().env("WOLKVOX_TOKEN", TOKEN).args([
        "--wolkvox.server",
        SERVER,
        "--wolkvox.url",
        url.as_str(),
        "--operation",
        "plain",
        "--wolkvox.timezone",
        &zone_at_ten(jiff::Timestamp::now()),
        "--poll.interval",
        "1s",
        "--web.listen-address",
        "127.0.0.1:0",
    ]);
    let mut plain = Process::start(&mut cmd);
    let plain_addr = plain.address();
    let mut stack = Stack::launch(
        dir,
        &rules,
        dashboards,
        vec![("named", named), ("plain", (plain, plain_addr))],
        "1s",
    );
    let ivr = stack.dashboards[0].clone();
    let all: Vec<(String, String)> = variable_queries(&ivr)
        .into_iter()
        .map(|(name, _)| (name, ".*".to_owned()))
        .collect();
    let query_of = |title: &str| -> String {
        let (_, expr) = panel_queries(&ivr)
            .into_iter()
            .find(|(t, _)| t == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        substitute(&expr, &all)
    };
    let label = |s: &Value, l: &str| s["metric"][l].as_str().unwrap_or_default().to_owned();

    // Routing points: one series each, named where the names say.
    let top = query_of("Top routing points in the report window");
    let series = stack.await_some("both operations' routing points", |api| {
        let s = api.query(&top);
        let ops: std::collections::BTreeSet<String> =
            s.iter().map(|s| label(s, "operation")).collect();
        (ops.len() == 2 && s.len() == 6).then_some(s)
    });
    let mut rps: Vec<String> = series
        .iter()
        .map(|s| {
            let (op, id, name) = (
                label(s, "operation"),
                label(s, "rp_id"),
                label(s, "rp_name"),
            );
            format!("{op}/{id}={name}")
        })
        .collect();
    rps.sort();
    assert_eq!(
        rps,
        [
            "demo/1001=Front door",
            "demo/1002=Collections",
            "demo/2001=Sales",
            "plain/1001=1001",
            "plain/1002=1002",
            "plain/2001=2001",
        ]
    );

    // The routing point variable selects ids and shows names where known.
    let mut offered: Vec<String> = query_result_options(&stack.api, &ivr, "rp_id", &all)
        .into_iter()
        .map(|(value, text)| format!("{value}={text}"))
        .collect();
    offered.sort();
    offered.dedup();
    assert_eq!(
        offered,
        [
            "1001=1001",
            "1001=Front door",
            "1002=1002",
            "1002=Collections",
            "2001=2001",
            "2001=Sales",
        ]
    );

    // Options: one series each, by category.
    let by_option = query_of("Calls by menu option in the report window");
    let options = stack.api.query(&by_option);
    let mut keys: Vec<String> = options
        .iter()
        .map(|s| {
            format!(
                "{}/{}/{}",
                label(s, "operation"),
                label(s, "rp_id"),
                label(s, "cod_opc_menu")
            )
        })
        .collect();
    let count = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), count, "a series twice: {options:?}");
    let find = |op: &str, rp: &str, code: &str| -> (String, String) {
        let s = options
            .iter()
            .find(|s| {
                label(s, "operation") == op
                    && label(s, "rp_id") == rp
                    && label(s, "cod_opc_menu") == code
            })
            .unwrap_or_else(|| panic!("no {op}/{rp}/{code} in {options:?}"));
        (label(s, "option_name"), label(s, "category"))
    };
    assert_eq!(
        find("demo", "1001", "AGENTE"),
        ("Agent".into(), "agent".into())
    );
    assert_eq!(
        find("plain", "1001", "AGENTE"),
        ("AGENTE".into(), "other".into())
    );
    assert_eq!(
        find("plain", "2001", "PULSE"),
        ("PULSE".into(), "pulse".into())
    );

    let categories = query_of("Calls by category per routing point in the report window");
    let mut by_category: Vec<String> = stack
        .api
        .query(&categories)
        .iter()
        .filter(|s| label(s, "rp_id") == "1001")
        .map(|s| format!("{}/{}", label(s, "operation"), label(s, "category")))
        .collect();
    by_category.sort();
    assert_eq!(
        by_category,
        [
            "demo/agent",
            "demo/pulse",
            "demo/self_service",
            "plain/other",
            "plain/pulse",
        ]
    );

    // Every panel of the IVR dashboard has data for the operation that no name reaches, and
    // for the named one: the join's fallback leaves no panel empty.
    for operation in ["plain", "demo"] {
        let one: Vec<(String, String)> = all
            .iter()
            .map(|(name, value)| match name.as_str() {
                "operation" => (name.clone(), operation.to_owned()),
                _ => (name.clone(), value.clone()),
            })
            .collect();
        for (title, expr) in panel_queries(&ivr) {
            let expr = substitute(&expr, &one);
            stack.await_some(
                &format!("{operation}: {title}: no data for {expr}"),
                |api| (!api.query(&expr).is_empty()).then_some(()),
            );
        }
    }
}
