//! The simulated Wolkvox API enforces what Wolkvox enforces, over real HTTP.

use crate::common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;

fn report_url(base: &reqwest::Url, ini: &str, end: &str) -> String {
    format!("{base}api/v2/reports_manager.php?api=diagram_1_3&date_ini={ini}&date_end={end}")
}

async fn get(url: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut req = http().get(url).header("wolkvox_server", SERVER);
    if let Some(t) = token {
        req = req.header("wolkvox-token", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn answers_like_wolkvox_for_tokens_dates_and_empty_windows() {
    let (_sim, base) = spawn_simulator().await;
    let ok = report_url(&base, "20261125080000", "20261125100000");
    let (status, body) = get(&ok, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], 200);
    assert!(body["data"].as_array().unwrap().len() >= 10);
    assert!(body["data"][0]["calls"].is_string(), "values are strings");

    let cases: Vec<(String, Option<&str>, u16, &str)> = vec![
        (ok.clone(), None, 401, "PLEASE ENTER THE WOLKVOX-TOKEN"),
        (ok.clone(), Some("wrong"), 403, "PLEASE VALIDATE TOKEN"),
        (
            format!(
                "{base}api/v2/reports_manager.php?api=nope&date_ini=20261125080000&date_end=20261125100000"
            ),
            Some(TOKEN),
            400,
            "THE API YOU WANT TO CONSULT DOES NOT EXIST",
        ),
        (
            format!("{base}api/v2/reports_manager.php?api=diagram_1_3&date_ini=20261125080000"),
            Some(TOKEN),
            400,
            "SOME PARAMETERS ARE REQUIRED",
        ),
        (
            report_url(&base, "2026-11-25", "20261125100000"),
            Some(TOKEN),
            400,
            "Validate dates",
        ),
        (
            report_url(&base, "20261001000000", "20261105000000"),
            Some(TOKEN),
            400,
            "31 days",
        ),
        // A window of one quiet second at night has no calls: 404.
        (
            report_url(&base, "20261125030001", "20261125030001"),
            Some(TOKEN),
            404,
            "Validate dates",
        ),
    ];
    for (url, token, status, msg) in cases {
        let (got, body) = get(&url, token).await;
        assert_eq!(got.as_u16(), status, "{url}");
        assert!(body["msg"].as_str().unwrap().contains(msg), "{url}: {body}");
    }
}

#[tokio::test]
async fn a_third_simultaneous_request_of_one_token_is_refused() {
    let (sim, base) = spawn_simulator().await;
    // The first two stay in flight until the third has been answered: the third is sent
    // only once both are seen in flight, whatever the machine's speed.
    sim.set_latency(Duration::from_secs(5));
    let url = report_url(&base, "20261125080000", "20261125100000");
    let spawn = |url: String| tokio::spawn(async move { get(&url, Some(TOKEN)).await });
    let mut calls = vec![spawn(url.clone()), spawn(url.clone())];
    tokio::time::timeout(EVENT_TIMEOUT, sim.wait_for(|s| s.in_flight == 2))
        .await
        .expect("two requests in flight");
    calls.push(spawn(url.clone()));
    let mut statuses = Vec::new();
    for c in calls {
        let (status, body) = c.await.unwrap();
        if status == 403 {
            assert!(body["msg"].as_str().unwrap().contains("SIMULTANEOUS"));
        }
        statuses.push(status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 403]);
    assert_eq!(sim.stats().max_in_flight, 3);
}

#[tokio::test]
async fn two_polls_of_one_window_agree_and_a_later_end_only_adds() {
    let (_sim, base) = spawn_simulator().await;
    let total = |body: &serde_json::Value| -> u64 {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["calls"].as_str().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let a = get(
        &report_url(&base, "20261125000000", "20261125120000"),
        Some(TOKEN),
    )
    .await
    .1;
    let b = get(
        &report_url(&base, "20261125000000", "20261125120000"),
        Some(TOKEN),
    )
    .await
    .1;
    let c = get(
        &report_url(&base, "20261125000000", "20261125130000"),
        Some(TOKEN),
    )
    .await
    .1;
    assert_eq!(a, b);
    assert!(total(&c) > total(&a));
}

#[test]
fn a_traffic_factor_multiplies_every_routing_points_calls_and_an_outage_still_stops_them() {
    use wolkvox_exporter::demo::simulator::{Simulator, SimulatorConfig};
    let day = |sim: &Simulator, from: &str, to: &str| {
        let mut by_rp = std::collections::BTreeMap::new();
        for (rp, _, calls, _) in sim.totals(from.parse().unwrap(), to.parse().unwrap()) {
            *by_rp.entry(rp).or_insert(0u64) += calls;
        }
        by_rp
    };
    let (ini, end) = ("2026-11-25T00:00:00", "2026-11-25T23:59:59");
    let normal = day(&Simulator::new(SimulatorConfig::default()), ini, end);
    let busy = Simulator::new(SimulatorConfig {
        traffic_factor: 10.0,
        ..SimulatorConfig::default()
    });
    let busier = day(&busy, ini, end);
    assert_eq!(busier.len(), 3);
    for (rp, calls) in &busier {
        let ratio = *calls as f64 / normal[rp] as f64;
        assert!((9.5..10.5).contains(&ratio), "{rp}: {ratio}");
    }
    busy.add_outage("1001", "2026-11-25T12:00:00".parse().unwrap());
    let after = day(&busy, "2026-11-25T12:00:00", end);
    assert_eq!(after.get("1001"), None, "{after:?}");
    assert_eq!(after.len(), 2);
}
