//! Names of routing points and options: `--names.file` and the operations' `routing_points`,
//! their info series, their reloads (which touch no counter), a bad file at start and at
//! reload, and the names that `--demo` brings; over real HTTP, with the binary.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

fn exporter() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wolkvox-exporter"));
    c.env_clear();
    c
}

/// Writes then renames, as configuration management does: the watcher never sees half a file.
fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

/// The (rp_id, name) of the routing points named for `operation`.
fn rp_names(m: &Metrics, operation: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = m
        .family("wolkvox_ivr_routing_point_info")
        .into_iter()
        .filter(|s| s.labels["operation"] == operation)
        .map(|s| {
            assert_eq!(s.value, 1.0);
            (s.labels["rp_id"].clone(), s.labels["name"].clone())
        })
        .collect();
    out.sort();
    out
}

/// "rp_id/cod_opc_menu=name:category" of the options named for `operation`.
fn option_names(m: &Metrics, operation: &str) -> Vec<String> {
    let mut out: Vec<_> = m
        .family("wolkvox_ivr_menu_option_info")
        .into_iter()
        .filter(|s| s.labels["operation"] == operation)
        .map(|s| {
            assert_eq!(s.value, 1.0);
            let l = &s.labels;
            format!(
                "{}/{}={}:{}",
                l["rp_id"], l["cod_opc_menu"], l["name"], l["category"]
            )
        })
        .collect();
    out.sort();
    out
}

/// Every sample of the data and counter families, as text lines: what a reload of names must
/// leave exactly as it was.
fn data_samples(m: &Metrics) -> Vec<String> {
    let families = [
        "wolkvox_ivr_menu_calls",
        "wolkvox_ivr_menu_time_seconds",
        "wolkvox_ivr_calls_total",
        "wolkvox_ivr_time_seconds_total",
        "wolkvox_polls_total",
        "wolkvox_api_requests_total",
    ];
    let mut out: Vec<String> = families
        .iter()
        .flat_map(|f| m.family(f))
        .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_names_reload_changes_the_info_series_and_no_counter_and_a_bad_one_keeps_them() {
    let (_sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let ops = dir.path().join("ops.yml");
    let names = dir.path().join("names.yml");
    // The busiest hour of the simulator's day, whatever the hour the test runs at; one poll.
    let zone = zone_at_ten(jiff::Timestamp::now());
    write(
        &ops,
        &format!(
            "poll_interval: 1h\ntimezone: {zone}\noperations:\n  - name: a\n    server: \"0032\"\n    url: {url}\n    token_file: token\n    routing_points:\n      \"1001\":\n        name: From the operations file\n        options:\n          \"1\": {{name: Billing}}\n          \"2\": {{name: Balance, category: self_service}}\n"
        ),
    );
    // The names file wins where both name an id; an operation not polled is left out.
    write(
        &names,
        "operations:\n  a:\n    routing_points:\n      \"1001\":\n        name: Main menu\n        options:\n          \"1\": {category: self_service}\n          PULSE: {}\n          AGENTE: {category: agent}\n      \"2001\":\n        name: Sales\n  elsewhere:\n    routing_points:\n      \"1\": {name: Not here}\n",
    );
    let mut p = Process::start(exporter().args([
        "--config.file",
        ops.to_str().unwrap(),
        "--names.file",
        names.to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    let addr = p.address();
    let warning = p.wait_line("not polled");
    assert!(warning.contains("elsewhere"), "{warning}");
    // The poller logs its poll before it publishes it: wait for the published counters.
    let before = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            let m = scrape(&addr).await;
            if !m.family("wolkvox_ivr_calls_total").is_empty() {
                break m;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the first poll is published");
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        rp_names(&before, "a"),
        pairs(&[("1001", "Main menu"), ("2001", "Sales")])
    );
    // An option with a category only is named by its id; PULSE is in `pulse` by default.
    assert_eq!(
        option_names(&before, "a"),
        [
            "1001/1=Billing:self_service",
            "1001/2=Balance:self_service",
            "1001/AGENTE=AGENTE:agent",
        ]
    );
    assert!(rp_names(&before, "elsewhere").is_empty());
    assert!(!before.family("wolkvox_ivr_calls_total").is_empty());

    // A change of the names file alone is noticed and applied without a restart.
    write(
        &names,
        "operations:\n  a:\n    routing_points:\n      \"1001\":\n        name: Front door\n        options:\n          PULSE: {name: No key pressed}\n",
    );
    p.wait_line("configuration reloaded");
    let after = scrape(&addr).await;
    assert_eq!(rp_names(&after, "a"), pairs(&[("1001", "Front door")]));
    assert_eq!(
        option_names(&after, "a"),
        [
            "1001/1=Billing:other",
            "1001/2=Balance:self_service",
            "1001/PULSE=No key pressed:pulse",
        ]
    );
    assert_eq!(data_samples(&after), data_samples(&before));
    assert_eq!(
        after.value("wolkvox_config_last_reload_successful", &[]),
        1.0
    );

    // A bad names file is refused with a line that names it, and the names stay.
    write(
        &names,
        "operations:\n  a:\n    routing_points:\n      \"1001\":\n        options:\n          \"1\": {name: X, category: robot}\n",
    );
    let refused = p.wait_line("configuration reload refused");
    assert!(
        refused.contains("names.yml")
            && refused.contains("\\\"a\\\"")
            && refused.contains("routing_points.1001.options.1.category"),
        "{refused}"
    );
    let kept = scrape(&addr).await;
    assert_eq!(
        kept.value("wolkvox_config_last_reload_successful", &[]),
        0.0
    );
    assert_eq!(rp_names(&kept, "a"), rp_names(&after, "a"));
    assert_eq!(option_names(&kept, "a"), option_names(&after, "a"));
    assert_eq!(data_samples(&kept), data_samples(&before));
}

#[test]
fn a_bad_names_file_at_start_stops_with_exit_2_and_one_line_naming_file_operation_key() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.yml");
    write(
        &names,
        "operations:\n  demo:\n    routing_points:\n      \"1001\":\n        nmae: Main menu\n",
    );
    let out = exporter()
        .args(["--demo", "--names.file", names.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--names.file")
            && stderr.contains("names.yml")
            && stderr.contains("operation \"demo\"")
            && stderr.contains("routing_points.1001.nmae: unknown key"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_names_its_routing_points_and_sighup_reloads_a_names_file_over_them() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.yml");
    write(
        &names,
        "operations:\n  demo:\n    routing_points:\n      \"1001\": {name: Front door}\n",
    );
    let mut p = Process::start(exporter().args([
        "--demo",
        "--names.file",
        names.to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    let addr = p.address();
    let m = scrape(&addr).await;
    let demo_rps = |m: &Metrics| -> Vec<String> {
        rp_names(m, "demo")
            .into_iter()
            .map(|(id, name)| format!("{id}={name}"))
            .collect()
    };
    assert_eq!(
        demo_rps(&m),
        ["1001=Front door", "1002=Collections", "2001=Sales"]
    );
    let options = option_names(&m, "demo");
    assert_eq!(options.len(), 14, "{options:?}");
    assert!(options.contains(&"1001/AGENTE=Agent:agent".to_owned()));
    assert!(options.contains(&"2001/PULSE=No key pressed:pulse".to_owned()));

    write(
        &names,
        "operations:\n  demo:\n    routing_points:\n      \"1001\": {name: Reception}\n",
    );
    p.signal("-HUP");
    p.wait_line("names reloaded");
    let m = scrape(&addr).await;
    assert_eq!(
        demo_rps(&m),
        ["1001=Reception", "1002=Collections", "2001=Sales"]
    );
    assert_eq!(m.value("wolkvox_config_last_reload_successful", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_writes_every_id_of_the_previous_local_day_and_its_output_loads_as_a_names_file() {
    use wolkvox_exporter::config::names::Category;
    use wolkvox_exporter::demo::simulator::data::ROUTING_POINTS;
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let ops = dir.path().join("ops.yml");
    write(
        &ops,
        &format!(
            "timezone: America/Bogota\noperations:\n  - name: a\n    server: \"0032\"\n    url: {url}\n    token_file: token\n    routing_points:\n      \"1001\": {{name: Main menu}}\n"
        ),
    );
    let ops_arg = ops.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        exporter()
            .args(["names", "--config.file", &ops_arg])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One call, for the whole previous local day.
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let (ini, end) = (
        requests[0].date_ini.clone().unwrap(),
        requests[0].date_end.clone().unwrap(),
    );
    assert!(
        ini.ends_with("000000") && end.ends_with("235959"),
        "{ini} {end}"
    );
    assert_eq!(ini[..8], end[..8]);
    let bogota = jiff::tz::TimeZone::get("America/Bogota").unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(bogota).date();
    let day: jiff::civil::Date = jiff::civil::Date::strptime("%Y%m%d", &ini[..8]).unwrap();
    assert!(day < today && day >= today.yesterday().unwrap().yesterday().unwrap());

    let names = wolkvox_exporter::config::file::parse_names(Path::new("names.yml"), &stdout)
        .unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let written = &names.operations["a"].routing_points;
    let ids: Vec<&str> = written.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = ROUTING_POINTS.iter().map(|rp| rp.id).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for rp in ROUTING_POINTS {
        let mut codes: Vec<&str> = rp.options.iter().map(|o| o.code).collect();
        codes.sort_unstable();
        let options = &written[rp.id].options;
        assert_eq!(
            options.keys().map(String::as_str).collect::<Vec<_>>(),
            codes
        );
        for (code, option) in options {
            assert_eq!(option.name, "", "{code}");
            let category = (code == "PULSE").then_some(Category::Pulse);
            assert_eq!(option.category, category, "{code}");
        }
    }
    // A name the files give already is kept; the others are left to fill in.
    assert_eq!(written["1001"].name, "Main menu");
    assert_eq!(written["1002"].name, "");
}

#[test]
fn backfill_writes_the_info_series_at_every_step_of_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.yml");
    write(
        &names,
        "operations:\n  demo:\n    routing_points:\n      \"1001\": {name: Front door}\n",
    );
    let output = dir.path().join("out.om");
    let out = exporter()
        .args(["backfill", "--demo", "--days", "1", "--step", "6h"])
        .args(["--names.file", names.to_str().unwrap()])
        .args(["--output", output.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    // The steps of the history: the timestamps of the counters.
    let steps = |prefix: &str| -> Vec<String> {
        let mut at: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
            .collect();
        at.sort();
        at.dedup();
        at
    };
    let history = steps("wolkvox_ivr_calls_total{");
    assert!(history.len() >= 4, "{history:?}");
    let front_door = r#"wolkvox_ivr_routing_point_info{operation="demo",rp_id="1001",name="Front door",job="wolkvox-exporter"} 1 "#;
    assert_eq!(steps(front_door), history);
    let agent = r#"wolkvox_ivr_menu_option_info{operation="demo",rp_id="2001",cod_opc_menu="AGENTE",name="Sales agent",category="agent",job="wolkvox-exporter"} 1 "#;
    assert_eq!(steps(agent), history);
}
