//! Property tests: arbitrary strings and JSON never panic the parser or the decoder, parsed
//! numbers are finite and non-negative, and any label value encodes to a valid exposition.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Metrics, promtool_check};
use proptest::prelude::*;
use wolkvox_exporter::config::TimeUnit;
use wolkvox_exporter::config::window::Window;
use wolkvox_exporter::exposition::{Format, OperationMetrics, ReportData, Snapshot, Store};
use wolkvox_exporter::report::{Report, Series, from_answer, parse_time_seconds};
use wolkvox_exporter::upstream::PollResult;
use wolkvox_exporter::upstream::number::parse_number;

/// Strings biased towards what the value grammar looks at.
fn value_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9 ,.:+-eE]{0,24}",
        "\\PC{0,24}",
        "[0-9]{1,400}",
        "[0-9]{1,3}(,[0-9]{3}){0,5}(\\.[0-9]{1,4})?",
        "[0-9]{1,4}:[0-9]{1,3}(:[0-9]{1,3})?(\\.[0-9]{0,3})?",
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        value_string().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("rp_id".to_owned()),
                    Just("calls".to_owned()),
                    Just("time".to_owned()),
                    Just("cod_opc_menu".to_owned()),
                    Just("code".to_owned()),
                    Just("data".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_report(report: &Report) -> Result<(), TestCaseError> {
    for s in &report.series {
        prop_assert!(s.calls.is_finite() && s.calls >= 0.0);
        prop_assert!(s.time_seconds.is_finite() && s.time_seconds >= 0.0);
        prop_assert!(!s.rp_id.is_empty() && !s.cod_opc_menu.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failures are reported in the test output; nothing is written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn parsed_numbers_are_finite_and_non_negative(s in value_string()) {
        if let Some(n) = parse_number(&s) {
            prop_assert!(n.is_finite() && n >= 0.0, "{s:?} -> {n}");
        }
        for unit in [TimeUnit::Minutes, TimeUnit::Seconds] {
            if let Some(n) = parse_time_seconds(&s, unit) {
                prop_assert!(n.is_finite() && n >= 0.0, "{s:?} -> {n}");
            }
        }
    }

    #[test]
    fn grouped_numbers_read_as_their_digits(n in 0u64..10_000_000_000u64, frac in 0u32..100) {
        let mut grouped = String::new();
        for (i, c) in n.to_string().chars().enumerate() {
            let left = n.to_string().len() - i;
            if i > 0 && left % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let text = format!(" {grouped}.{frac:02} ");
        let expected: f64 = format!("{n}.{frac:02}").parse().unwrap();
        prop_assert_eq!(parse_number(&text), Some(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(body in prop::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let (_, report) = from_answer(Ok((status, Bytes::from(body))), TimeUnit::Minutes, 10_000);
        if let Some(report) = &report {
            check_report(report)?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_reports_stay_sane(value in json_value(), data in json_value()) {
        let mut body = serde_json::json!({"code": 200, "data": data});
        if let serde_json::Value::Object(extra) = value {
            for (k, v) in extra {
                if k != "code" && k != "data" {
                    body[k] = v;
                }
            }
        }
        let (c, report) = from_answer(Ok((200, Bytes::from(body.to_string()))), TimeUnit::Minutes, 10_000);
        match &report {
            Some(report) => {
                prop_assert_eq!(c.result, PollResult::Success);
                check_report(report)?;
            }
            None => prop_assert_eq!(c.result, PollResult::DecodeError),
        }
    }

    #[test]
    fn any_label_value_round_trips_through_the_exposition(rp in "\\PC{0,16}|.{0,16}", opt in any::<String>()) {
        let snapshot = snapshot_with(&[(rp.clone(), opt.clone())]);
        let text = snapshot.parts(Format::Text, false).concat();
        let text = std::str::from_utf8(&text).unwrap();
        let m = Metrics::parse(text);
        let got = m.family("wolkvox_ivr_menu_calls");
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&got[0].labels["rp_id"], &rp);
        prop_assert_eq!(&got[0].labels["cod_opc_menu"], &opt);
        // Every line is a comment or a sample; no value broke out of its quotes.
        for line in text.lines() {
            prop_assert!(line.starts_with("# ") || line.starts_with("wolkvox_"), "{line:?}");
        }
        let om = snapshot.parts(Format::OpenMetrics, false).concat();
        let om = std::str::from_utf8(&om).unwrap();
        prop_assert!(om.ends_with("# EOF\n"));
        prop_assert_eq!(om.matches("# EOF").count(), 1);
    }
}

fn snapshot_with(pairs: &[(String, String)]) -> Arc<Snapshot> {
    let mut op = OperationMetrics::new("op".into(), Duration::from_secs(300));
    op.data = Some(Arc::new(ReportData::new(
        Report {
            series: pairs
                .iter()
                .map(|(rp, opt)| Series {
                    rp_id: rp.as_str().into(),
                    cod_opc_menu: opt.as_str().into(),
                    calls: 1.0,
                    time_seconds: 1.0,
                })
                .collect(),
            rows: pairs.len(),
            rejected: Default::default(),
            dropped_series: 0,
        },
        Window::Today.resolve(jiff::Timestamp::UNIX_EPOCH, &jiff::tz::TimeZone::UTC),
    )));
    let store = Store::new();
    store.publish(op);
    store.current()
}

#[test]
fn promtool_accepts_many_random_label_values_in_one_exposition() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = ("\\PC{0,24}|.{0,24}", any::<String>());
    let mut pairs = Vec::new();
    for i in 0..300 {
        let (rp, opt) = strategy.new_tree(&mut runner).unwrap().current();
        // Distinct pairs, as the report aggregation guarantees.
        pairs.push((format!("{rp}#{i}"), opt));
    }
    let snapshot = snapshot_with(&pairs);
    promtool_check(std::str::from_utf8(&snapshot.parts(Format::Text, false).concat()).unwrap());
}
