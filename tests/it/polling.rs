//! Polling behaviour over real HTTP: stale series, keep-stale, one request in flight, value
//! parsing end to end, and report dates in the operation's zone around local midnight.

use crate::common;

use std::time::Duration;

use common::*;
use jiff::tz::TimeZone;
use wolkvox_exporter::config::TimeUnit;
use wolkvox_exporter::config::window::Window;

const ZONE: &str = "America/Bogota";

#[tokio::test]
async fn a_series_that_leaves_the_report_leaves_metrics_after_the_next_poll() {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((
        200,
        report_body(&[("7", "1", "5", "1"), ("7", "PULSE", "2", "1")]),
    )));
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = Duration::from_millis(50);
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T10:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_ivr_menu_calls", &[("cod_opc_menu", "PULSE")]),
        2.0
    );

    sim.set_fixed_answer(Some((200, report_body(&[("7", "1", "6", "1")]))));
    // A poll that starts after the change has finished once two more polls have.
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.get("wolkvox_ivr_menu_calls", &[("cod_opc_menu", "PULSE")]),
        None
    );
    assert_eq!(
        m.get(
            "wolkvox_ivr_menu_time_seconds",
            &[("cod_opc_menu", "PULSE")]
        ),
        None
    );
    assert_eq!(
        m.value("wolkvox_ivr_menu_calls", &[("cod_opc_menu", "1")]),
        6.0
    );
    exporter.stop().await;
}

#[tokio::test]
async fn failed_polls_keep_the_last_good_data_for_keep_stale_after_the_last_success_then_drop_it() {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((200, report_body(&[("7", "1", "5", "1")]))));
    let mut cfg = config(&url);
    cfg.keep_stale = Duration::from_secs(10 * 60);
    // Backoff steps of 1/32..1/16 of 4s leave ample time to look at every snapshot.
    cfg.op_mut().poll_interval = Duration::from_secs(4);
    let start = local(ZONE, "2026-11-25T10:00:00");
    let (exporter, clock) = spawn_exporter_at(cfg, start).await;
    exporter.wait_for_polls(1).await;

    // Failures within the keep-stale time, however many, keep the data series; up says 0.
    sim.set_fixed_answer(Some((500, "down".into())));
    for minutes in [1, 5, 9] {
        clock.set(
            start
                .checked_add(jiff::SignedDuration::from_mins(minutes))
                .unwrap(),
        );
        let polls = exporter.polls();
        exporter.wait_for_polls(polls + 2).await;
        let m = exporter.scrape().await;
        assert!(m.value("wolkvox_polls_total", &[("result", "server_error")]) >= 2.0);
        assert_eq!(m.value("wolkvox_up", &[]), 0.0, "up is 0 while failing");
        assert!(
            !m.family("wolkvox_ivr_menu_calls").is_empty(),
            "{minutes} min after the last success the data stay"
        );
        assert!(m.get("wolkvox_report_rows", &[]).is_some());
    }

    // Past the keep-stale time, the next failed poll drops them; the self-metrics stay.
    clock.set(
        start
            .checked_add(jiff::SignedDuration::from_mins(10))
            .unwrap(),
    );
    let polls = exporter.polls();
    exporter.wait_for_polls(polls + 1).await;
    let m = exporter.scrape().await;
    assert!(m.family("wolkvox_ivr_menu_calls").is_empty(), "{}", m.body);
    assert!(m.get("wolkvox_report_rows", &[]).is_none());
    assert!(
        m.get("wolkvox_last_success_timestamp_seconds", &[])
            .is_some()
    );
    exporter.stop().await;
}

#[tokio::test]
async fn never_two_requests_in_flight_even_when_calls_outlast_the_interval() {
    let (sim, url) = spawn_simulator().await;
    sim.set_latency(Duration::from_millis(120));
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = Duration::from_millis(5);
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T10:00:00")).await;
    exporter.wait_for_polls(6).await;
    let stats = sim.stats();
    assert_eq!(stats.max_in_flight, 1, "{stats:?}");
    // Every poll made exactly one call: none was skipped or doubled.
    let m = exporter.scrape().await;
    let polls: f64 = m
        .family("wolkvox_polls_total")
        .iter()
        .map(|s| s.value)
        .sum();
    let requests = sim.stats().requests as f64;
    assert!(
        polls >= 6.0 && (requests - polls) <= 1.0,
        "polls {polls} requests {requests}"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn value_strings_parse_end_to_end_and_bad_rows_are_counted() {
    let (sim, url) = spawn_simulator().await;
    type Case<'a> = (&'a str, &'a str, &'a str, Option<(f64, f64)>);
    let table: &[Case] = &[
        // calls, time, a note, and the expected (calls, seconds) or None when rejected
        ("12", "3", "2.5", Some((12.0, 180.0))),
        (" 1,234 ", "00:01:41", "x", Some((1234.0, 101.0))),
        ("9,336.00", "1:02:03", "y", Some((9336.0, 3723.0))),
        ("7", "01:41", "z", Some((7.0, 101.0))),
        ("0", "0", "w", Some((0.0, 0.0))),
        ("abc", "1", "bad-calls", None),
        ("-1", "1", "negative", None),
        ("12,5", "1", "decimal-comma", None),
        ("1", "later", "bad-time", None),
        ("1", "00:61:00", "bad-hms", None),
    ];
    // Each row in its own option so that every expectation is independent.

    let rows: Vec<(String, String, String, String)> = table
        .iter()
        .enumerate()
        .map(|(i, (calls, time, _, _))| {
            (
                "R".into(),
                format!("opt{i}"),
                (*calls).into(),
                (*time).into(),
            )
        })
        .collect();
    let rows_ref: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    sim.set_fixed_answer(Some((200, report_body(&rows_ref))));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T10:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    for (i, (calls, time, _, expected)) in table.iter().enumerate() {
        let opt = format!("opt{i}");
        let labels = [("rp_id", "R"), ("cod_opc_menu", opt.as_str())];
        match expected {
            Some((c, s)) => {
                assert_eq!(m.value("wolkvox_ivr_menu_calls", &labels), *c, "{calls:?}");
                assert_eq!(
                    m.value("wolkvox_ivr_menu_time_seconds", &labels),
                    *s,
                    "{time:?}"
                );
            }
            None => assert_eq!(
                m.get("wolkvox_ivr_menu_calls", &labels),
                None,
                "{calls:?} {time:?}"
            ),
        }
    }
    assert_eq!(
        m.value(
            "wolkvox_rows_rejected_total",
            &[("reason", "invalid_calls")]
        ),
        3.0
    );
    assert_eq!(
        m.value("wolkvox_rows_rejected_total", &[("reason", "invalid_time")]),
        2.0
    );
    assert_eq!(m.value("wolkvox_report_rows", &[]), table.len() as f64);
    assert_eq!(
        m.value("wolkvox_up", &[]),
        1.0,
        "the rest of the report stands"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn values_of_the_wrong_json_type_reject_their_rows_only() {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((
        200,
        r#"{"code":200,"data":[
            {"rp_id":"1","cod_opc_menu":"1","calls":true,"time":"1"},
            {"rp_id":"1","cod_opc_menu":"2","calls":"1","time":{"m":1}},
            {"rp_id":["x"],"cod_opc_menu":null,"calls":3,"time":1.5},
            "not a row",
            {"rp_id":"1","cod_opc_menu":"3","calls":"4","time":"2"}
        ]}"#
        .into(),
    )));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T14:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "success")]),
        1.0
    );
    assert_eq!(
        m.value(
            "wolkvox_rows_rejected_total",
            &[("reason", "invalid_calls")]
        ),
        1.0
    );
    assert_eq!(
        m.value("wolkvox_rows_rejected_total", &[("reason", "invalid_time")]),
        1.0
    );
    assert_eq!(
        m.value(
            "wolkvox_rows_rejected_total",
            &[("reason", "not_an_object")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "wolkvox_ivr_menu_calls",
            &[("rp_id", "unknown"), ("cod_opc_menu", "unknown")]
        ),
        3.0
    );
    assert_eq!(
        m.value("wolkvox_ivr_menu_time_seconds", &[("rp_id", "unknown")]),
        90.0
    );
    assert_eq!(
        m.value(
            "wolkvox_ivr_menu_calls",
            &[("rp_id", "1"), ("cod_opc_menu", "3")]
        ),
        4.0
    );
    exporter.stop().await;
}

#[tokio::test]
async fn rows_of_one_pair_are_added_together_and_empty_labels_become_unknown() {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((
        200,
        report_body(&[
            (" 7", "PULSE ", "2", "1"),
            ("7 ", " PULSE", "3", "2"),
            ("", "  ", "4", "0"),
        ]),
    )));
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T10:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let pulse = [("rp_id", "7"), ("cod_opc_menu", "PULSE")];
    assert_eq!(m.value("wolkvox_ivr_menu_calls", &pulse), 5.0);
    assert_eq!(m.value("wolkvox_ivr_menu_time_seconds", &pulse), 180.0);
    let unknown = [("rp_id", "unknown"), ("cod_opc_menu", "unknown")];
    assert_eq!(m.value("wolkvox_ivr_menu_calls", &unknown), 4.0);
    assert_eq!(m.family("wolkvox_ivr_menu_calls").len(), 2);
    exporter.stop().await;
}

#[tokio::test]
async fn seconds_unit_and_code_as_string_and_single_object_data() {
    let (sim, url) = spawn_simulator().await;
    sim.set_fixed_answer(Some((
        200,
        r#"{"code":"200","msg":" 1 records were found","data":{"rp_id":"5","calls":"3","time":"90","cod_opc_menu":"AGENTE"}}"#.into(),
    )));
    let mut cfg = config(&url);
    cfg.op_mut().time_unit = TimeUnit::Seconds;
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T10:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let labels = [("rp_id", "5"), ("cod_opc_menu", "AGENTE")];
    assert_eq!(m.value("wolkvox_ivr_menu_calls", &labels), 3.0);
    assert_eq!(m.value("wolkvox_ivr_menu_time_seconds", &labels), 90.0);
    exporter.stop().await;
}

/// The dates of the last request the simulator received.
fn last_dates(sim: &TestSim) -> (String, String) {
    let r = sim.requests().pop().expect("a request");
    (r.date_ini.unwrap(), r.date_end.unwrap())
}

#[tokio::test]
async fn report_dates_are_local_times_of_the_configured_zone_around_midnight() {
    let cases = [
        // zone, local now, date_ini, date_end
        (
            "America/Bogota",
            "2026-11-25T23:59:59",
            "20261125000000",
            "20261125235959",
        ),
        (
            "America/Bogota",
            "2026-11-26T00:00:30",
            "20261126000000",
            "20261126000030",
        ),
        (
            "Asia/Kolkata",
            "2026-11-25T23:59:59",
            "20261125000000",
            "20261125235959",
        ),
        (
            "Asia/Kolkata",
            "2026-11-26T00:00:30",
            "20261126000000",
            "20261126000030",
        ),
    ];
    for (zone, now, ini, end) in cases {
        let (sim, url) = spawn_simulator().await;
        let mut cfg = config(&url);
        cfg.op_mut().timezone = TimeZone::get(zone).unwrap();
        let (exporter, _clock) = spawn_exporter_at(cfg, local(zone, now)).await;
        exporter.wait_for_polls(1).await;
        assert_eq!(
            last_dates(&sim),
            (ini.to_owned(), end.to_owned()),
            "{zone} {now}"
        );
        let m = exporter.scrape().await;
        let midnight = format!("{}T00:00:00", &now[..10]);
        assert_eq!(
            m.value("wolkvox_report_window_start_timestamp_seconds", &[]),
            local(zone, &midnight).as_second() as f64,
            "{zone} {now}"
        );
        exporter.stop().await;
    }
}

#[tokio::test]
async fn a_today_window_moves_to_the_new_day_when_the_clock_passes_local_midnight() {
    let zone = "Asia/Kolkata";
    let (sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.op_mut().timezone = TimeZone::get(zone).unwrap();
    cfg.op_mut().poll_interval = Duration::from_millis(20);
    let (exporter, clock) = spawn_exporter_at(cfg, local(zone, "2026-11-25T23:58:00")).await;
    exporter.wait_for_polls(1).await;
    assert_eq!(last_dates(&sim).0, "20261125000000");
    clock.set(local(zone, "2026-11-26T00:01:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    assert_eq!(
        last_dates(&sim),
        ("20261126000000".to_owned(), "20261126000100".to_owned())
    );
    exporter.stop().await;
}

#[tokio::test]
async fn a_rolling_window_asks_for_the_last_duration_in_local_time() {
    let zone = "America/Bogota";
    let (sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.op_mut().window = Window::Rolling(Duration::from_secs(3600));
    let (exporter, _clock) = spawn_exporter_at(cfg, local(zone, "2026-11-26T00:20:00")).await;
    exporter.wait_for_polls(1).await;
    assert_eq!(
        last_dates(&sim),
        ("20261125232000".to_owned(), "20261126002000".to_owned())
    );
    exporter.stop().await;
}

/// Asserts that the counters of `m` are exactly the simulator's totals for `ini`..=`end`.
fn assert_counters_equal(
    m: &Metrics,
    sim: &wolkvox_exporter::demo::simulator::Simulator,
    ini: &str,
    end: &str,
) {
    let expected: std::collections::BTreeMap<_, _> = sim
        .totals(ini.parse().unwrap(), end.parse().unwrap())
        .into_iter()
        .map(|(rp, opt, calls, secs)| ((rp, opt), (calls, secs)))
        .collect();
    assert!(
        expected.values().map(|e| e.0).sum::<u64>() > 20,
        "traffic in {ini}..{end}"
    );
    for ((rp, opt), (calls, secs)) in &expected {
        let labels = [("rp_id", *rp), ("cod_opc_menu", *opt)];
        assert_eq!(
            m.get("wolkvox_ivr_calls_total", &labels).unwrap_or(0.0),
            *calls as f64,
            "{rp}/{opt} calls, {ini}..{end}"
        );
        assert_eq!(
            m.get("wolkvox_ivr_time_seconds_total", &labels)
                .unwrap_or(0.0),
            *secs as f64,
            "{rp}/{opt} seconds, {ini}..{end}"
        );
    }
    for s in m.family("wolkvox_ivr_calls_total") {
        let key = (
            s.labels["rp_id"].as_str(),
            s.labels["cod_opc_menu"].as_str(),
        );
        assert!(s.value == 0.0 || expected.contains_key(&key), "{key:?}");
    }
}

#[tokio::test]
async fn counters_lose_and_double_nothing_across_local_midnight() {
    let zone = "America/Bogota";
    let (sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = Duration::from_millis(20);
    let (exporter, clock) = spawn_exporter_at(cfg, local(zone, "2026-11-25T22:10:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(m.types["wolkvox_ivr_calls_total"], "counter");
    assert_eq!(m.types["wolkvox_ivr_time_seconds_total"], "counter");
    // The counters are the running totals of the local day, from the first report on.
    assert_counters_equal(&m, &sim, "2026-11-25T00:00:00", "2026-11-25T22:10:00");

    clock.set(local(zone, "2026-11-25T23:40:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    // Past midnight and the 15 minute close delay: the day is closed with its whole total,
    // which stays published until a poll interval has passed.
    clock.set(local(zone, "2026-11-26T00:30:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    assert_counters_equal(&m, &sim, "2026-11-25T00:00:00", "2026-11-25T23:59:59");
    // The close found what the day got after its last report, at 23:40.
    let after_last_report: u64 = sim
        .totals(
            "2026-11-25T23:40:01".parse().unwrap(),
            "2026-11-25T23:59:59".parse().unwrap(),
        )
        .iter()
        .map(|t| t.2)
        .sum();
    assert_eq!(
        m.value("wolkvox_day_close_late_calls", &[]),
        after_last_report as f64
    );
    // Then the new day counts from zero.
    clock.set(local(zone, "2026-11-26T01:30:00"));
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    assert_counters_equal(&m, &sim, "2026-11-26T00:00:00", "2026-11-26T01:30:00");

    // Exactly one closing call for the whole previous day, counted like any call.
    let closing: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| {
            r.date_ini.as_deref() == Some("20261125000000")
                && r.date_end.as_deref() == Some("20261125235959")
        })
        .collect();
    assert_eq!(closing.len(), 1);
    // Every call is counted (the next poll may already be on its way to the simulator).
    let polls: f64 = m
        .family("wolkvox_polls_total")
        .iter()
        .map(|s| s.value)
        .sum();
    let requests = sim.stats().requests as f64;
    assert!(
        polls == requests || polls + 1.0 == requests,
        "{polls} {requests}"
    );
    // The gauges show the new day only.
    assert_eq!(
        m.value("wolkvox_report_window_start_timestamp_seconds", &[]),
        local(zone, "2026-11-26T00:00:00").as_second() as f64
    );
    exporter.stop().await;
}

#[tokio::test]
async fn rolling_windows_expose_no_counters() {
    let (_sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    cfg.op_mut().window = Window::Rolling(Duration::from_secs(3600));
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-26T10:20:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert!(!m.family("wolkvox_ivr_menu_calls").is_empty());
    assert!(!m.types.contains_key("wolkvox_ivr_calls_total"));
    assert!(m.family("wolkvox_ivr_calls_total").is_empty());
    exporter.stop().await;
}
