//! The metric families of /metrics, in the order they are exposed: one table, [`FAMILIES`],
//! with each family's name, HELP, type, label names and how its values are read. The encoder
//! (`encode.rs`), the history for `backfill` and the tests' prometheus-client reference read it.

use std::borrow::Cow;

use prometheus_client::metrics::MetricType;

use super::{Globals, NameInfo, OperationMetrics, ReloadStatus};
use crate::counters::CounterRef;
use crate::report::Series;
use crate::sys::process::ProcessStats;

/// One metric family. Its type and label names follow from where its samples come from.
#[derive(Debug)]
pub(super) struct Family {
    /// The family's name as prometheus-client takes it (a counter's samples add `_total`).
    pub name: &'static str,
    /// HELP text: metadata, the same for every instance whatever its flags, so that series
    /// of exporters configured differently (and backfilled ones) agree.
    pub help: &'static str,
    pub read: Read,
}

/// Where a family's samples come from, and when the family is written at all.
#[derive(Debug)]
pub(super) enum Read {
    /// This build: one sample, always 1.
    Build,
    /// The outcome of configuration reloads: one sample when a file is in use and the value
    /// is known; no family otherwise.
    Reload(fn(&ReloadStatus) -> Option<Number>),
    /// The process metrics, of the type given: one sample when they have been read (Linux);
    /// no family otherwise.
    Process(MetricType, fn(&ProcessStats) -> Number),
    /// One sample per operation that has a value; no family when none has.
    Gauge(fn(&OperationMetrics) -> Option<f64>),
    /// One sample per operation.
    Count(fn(&OperationMetrics) -> u64),
    /// One sample per operation and value of a label enum, with these label names: the
    /// operation's count of each value, in label order.
    Counts(
        &'static [&'static str],
        fn(&OperationMetrics) -> Vec<(&'static str, u64)>,
    ),
    /// One sample per series of the report (the family is written even before a report).
    Report(fn(&Series) -> f64),
    /// One sample per series of the counters that survive midnight; no family when no
    /// operation keeps them.
    Counters(fn(&CounterRef<'_>) -> f64),
    /// One sample, always 1, per row of the names given, with these label names; no family
    /// when there is none.
    Info(&'static [&'static str], fn(&NameInfo) -> &[Box<[String]>]),
}

/// A sample's value, as prometheus-client writes it: an integer without a decimal point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    Int(u64),
    /// Written as a float (`1.0`).
    Float(f64),
}

/// Every family, in exposition order.
pub(super) static FAMILIES: &[Family] = &[
    Family {
        name: "wolkvox_exporter_build_info",
        help: "Build of this exporter; always 1.",
        read: Read::Build,
    },
    Family {
        name: "wolkvox_ivr_menu_calls",
        help: "Calls through this IVR menu option in the report window.",
        read: Read::Report(|s| s.calls),
    },
    Family {
        name: "wolkvox_ivr_menu_time_seconds",
        help: "Time spent in this IVR menu option in the report window, in seconds.",
        read: Read::Report(|s| s.time_seconds),
    },
    Family {
        name: "wolkvox_ivr_calls",
        help: "Calls through this IVR menu option on the local day so far, held until the day is closed --report.close-delay after midnight (today window only).",
        read: Read::Counters(|c| c.calls),
    },
    Family {
        name: "wolkvox_ivr_time_seconds",
        help: "Seconds spent in this IVR menu option on the local day so far, held until the day is closed --report.close-delay after midnight (today window only).",
        read: Read::Counters(|c| c.time_seconds),
    },
    Family {
        name: "wolkvox_ivr_routing_point_info",
        help: "Name of a routing point, from --names.file or --config.file; always 1.",
        read: Read::Info(&["operation", "rp_id", "name"], |n| &n.routing_points),
    },
    Family {
        name: "wolkvox_ivr_menu_option_info",
        help: "Name and category of an IVR menu option, from --names.file or --config.file; always 1.",
        read: Read::Info(
            &["operation", "rp_id", "cod_opc_menu", "name", "category"],
            |n| &n.options,
        ),
    },
    Family {
        name: "wolkvox_up",
        help: "1 when the last poll got a report (an answer of no data counts), else 0.",
        read: Read::Gauge(|o| Some(if o.up { 1.0 } else { 0.0 })),
    },
    Family {
        name: "wolkvox_quota_exhausted",
        help: "1 from a TOKEN LIMIT EXCEEDED refusal until the first call after the quota resets at local midnight (no call is made meanwhile), else 0.",
        read: Read::Gauge(|o| Some(if o.quota_exhausted { 1.0 } else { 0.0 })),
    },
    Family {
        name: "wolkvox_day_close_late_calls",
        help: "Calls that the last closing call of a day found beyond the counters published before it: rows Wolkvox added for the day after its last report (today window only).",
        read: Read::Gauge(|o| o.day_close_late_calls),
    },
    Family {
        name: "wolkvox_last_success_timestamp_seconds",
        help: "End of the last poll that got a report, in seconds since the epoch.",
        read: Read::Gauge(|o| o.last_success.map(seconds)),
    },
    Family {
        name: "wolkvox_poll_duration_seconds",
        help: "Duration of the last poll, in seconds.",
        read: Read::Gauge(|o| o.poll_duration.map(|d| d.as_secs_f64())),
    },
    Family {
        name: "wolkvox_next_poll_timestamp_seconds",
        help: "When the next poll is due, in seconds since the epoch (shows backoff and quota waits).",
        read: Read::Gauge(|o| o.next_poll.map(seconds)),
    },
    Family {
        name: "wolkvox_poll_effective_interval_seconds",
        help: "Interval between polls in force: --poll.interval, or longer to stay within --poll.budget-share of the token's daily limit.",
        read: Read::Gauge(|o| Some(o.effective_interval.as_secs_f64())),
    },
    Family {
        name: "wolkvox_report_rows",
        help: "Rows in the report that the data series show.",
        read: Read::Gauge(|o| o.data.as_ref().map(|d| d.report.rows as f64)),
    },
    Family {
        name: "wolkvox_report_window_start_timestamp_seconds",
        help: "Start of the window that the data series describe, in seconds since the epoch.",
        read: Read::Gauge(|o| o.data.as_ref().map(|d| seconds(d.window.start_ts))),
    },
    Family {
        name: "wolkvox_report_window_end_timestamp_seconds",
        help: "End of the window that the data series describe, in seconds since the epoch.",
        read: Read::Gauge(|o| o.data.as_ref().map(|d| seconds(d.window.end_ts))),
    },
    Family {
        name: "wolkvox_api_requests_today",
        help: "API calls this exporter made since local midnight of the operation (all kinds).",
        read: Read::Gauge(|o| Some(o.api_requests_today as f64)),
    },
    Family {
        name: "wolkvox_token_limit",
        help: "The token's daily call limit, from token_info (when --wolkvox.token-info-interval is set).",
        read: Read::Gauge(|o| o.token_info.map(|t| t.limit)),
    },
    Family {
        name: "wolkvox_token_used_today",
        help: "Calls made with the token today by everything that uses it, from token_info.",
        read: Read::Gauge(|o| o.token_info.map(|t| t.used_today)),
    },
    // Only with a --config.file, which is applied (or not) from the start on.
    Family {
        name: "wolkvox_config_last_reload_successful",
        help: "Whether the last reload of --config.file and --names.file succeeded (1) or was refused (0).",
        read: Read::Reload(|r| r.last_success.map(|_| Number::Int(u64::from(r.successful)))),
    },
    Family {
        name: "wolkvox_config_last_reload_success_timestamp_seconds",
        help: "When --config.file and --names.file were last applied, in seconds since the epoch.",
        read: Read::Reload(|r| r.last_success.map(|at| Number::Float(seconds(at)))),
    },
    Family {
        name: "wolkvox_shard_operations",
        help: "Operations of --config.file that this process polls, as --shard assigns them.",
        read: Read::Reload(|r| r.shard_operations.map(Number::Int)),
    },
    Family {
        name: "wolkvox_web_config_last_reload_successful",
        help: "Whether the last read of --web.config.file was applied (1) or refused, keeping the previous one (0).",
        read: Read::Reload(|r| r.web_config.map(|ok| Number::Int(u64::from(ok)))),
    },
    Family {
        name: "wolkvox_api_requests",
        help: "API calls this exporter made to Wolkvox, of every kind: report polls, the calls that close a day, and token_info.",
        read: Read::Count(|o| o.api_requests),
    },
    Family {
        name: "wolkvox_polls",
        help: "Polls of the report API by result.",
        read: Read::Counts(&["operation", "result"], |o| {
            o.polls.iter().map(|(r, n)| (r.as_str(), n)).collect()
        }),
    },
    Family {
        name: "wolkvox_rows_rejected",
        help: "Report rows skipped because a value could not be read.",
        read: Read::Counts(&["operation", "reason"], |o| {
            o.rejected.iter().map(|(r, n)| (r.as_str(), n)).collect()
        }),
    },
    Family {
        name: "wolkvox_series_dropped",
        help: "Series pairs dropped because a report held more than --report.max-series.",
        read: Read::Count(|o| o.series_dropped),
    },
    // The process collector of the Prometheus client libraries: their names, types and HELP.
    Family {
        name: "process_cpu_seconds",
        help: "Total user and system CPU time spent in seconds.",
        read: Read::Process(MetricType::Counter, |p| Number::Float(p.cpu_seconds)),
    },
    Family {
        name: "process_open_fds",
        help: "Number of open file descriptors.",
        read: Read::Process(MetricType::Gauge, |p| Number::Int(p.open_fds)),
    },
    Family {
        name: "process_max_fds",
        help: "Maximum number of open file descriptors.",
        read: Read::Process(MetricType::Gauge, |p| Number::Int(p.max_fds)),
    },
    Family {
        name: "process_virtual_memory_bytes",
        help: "Virtual memory size in bytes.",
        read: Read::Process(MetricType::Gauge, |p| Number::Int(p.virtual_memory_bytes)),
    },
    Family {
        name: "process_resident_memory_bytes",
        help: "Resident memory size in bytes.",
        read: Read::Process(MetricType::Gauge, |p| Number::Int(p.resident_memory_bytes)),
    },
    Family {
        name: "process_start_time_seconds",
        help: "Start time of the process since unix epoch in seconds.",
        read: Read::Process(MetricType::Gauge, |p| Number::Float(p.start_time_seconds)),
    },
];

fn seconds(ts: jiff::Timestamp) -> f64 {
    ts.as_millisecond() as f64 / 1000.0
}

impl Family {
    pub fn kind(&self) -> MetricType {
        match self.read {
            Read::Process(kind, _) => kind,
            Read::Count(_) | Read::Counts(..) | Read::Counters(_) => MetricType::Counter,
            _ => MetricType::Gauge,
        }
    }

    /// Label names, in the order [`Family::for_each_sample`] gives their values.
    pub fn labels(&self) -> &'static [&'static str] {
        match self.read {
            Read::Build => &["version", "revision", "rustc", "os", "arch"],
            Read::Reload(_) | Read::Process(..) => &[],
            Read::Gauge(_) | Read::Count(_) => &["operation"],
            Read::Report(_) | Read::Counters(_) => &["operation", "rp_id", "cod_opc_menu"],
            Read::Info(labels, _) | Read::Counts(labels, _) => labels,
        }
    }

    /// Whether the family's samples are the report's data series, which a thin
    /// [`ReportData`](super::ReportData) keeps encoded.
    pub fn of_report(&self) -> bool {
        matches!(self.read, Read::Report(_))
    }

    /// The name on the sample lines: both formats add `_total` to a counter's.
    pub fn sample_name(&self) -> Cow<'static, str> {
        match self.kind() {
            MetricType::Counter => Cow::Owned(format!("{}_total", self.name)),
            _ => Cow::Borrowed(self.name),
        }
    }

    /// Whether the family is written at all (its descriptor, even without samples): some are
    /// always, the others when they have a sample.
    pub fn is_present(&self, ops: &[OperationMetrics], globals: &Globals) -> bool {
        match self.read {
            Read::Build | Read::Count(_) | Read::Counts(..) | Read::Report(_) => true,
            // Counters that are kept are shown, even before their first series.
            Read::Counters(_) => ops.iter().any(|o| o.counters.is_some()),
            _ => self.for_each_sample(ops, globals, |_, _| Err(())).is_err(),
        }
    }

    /// Calls `sample` with the label values (in [`Family::labels`]' order) and the value of
    /// every sample, in exposition order; stops at the first error.
    pub fn for_each_sample<E>(
        &self,
        ops: &[OperationMetrics],
        globals: &Globals,
        mut sample: impl FnMut(&[&str], Number) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.read {
            Read::Build => sample(
                &[
                    crate::sys::build_info::VERSION,
                    crate::sys::build_info::REVISION,
                    crate::sys::build_info::RUSTC,
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                ],
                Number::Int(1),
            ),
            Read::Reload(value) => match globals.reload.as_ref().and_then(value) {
                Some(v) => sample(&[], v),
                None => Ok(()),
            },
            Read::Process(_, value) => match &globals.process {
                Some(p) => sample(&[], value(p)),
                None => Ok(()),
            },
            Read::Info(_, rows) => globals.names.as_deref().map_or(Ok(()), |n| {
                rows(n).iter().try_for_each(|row| {
                    let values: Vec<&str> = row.iter().map(String::as_str).collect();
                    sample(&values, Number::Int(1))
                })
            }),
            Read::Gauge(value) => ops.iter().try_for_each(|o| match value(o) {
                Some(v) => sample(&[&o.operation], Number::Float(v)),
                None => Ok(()),
            }),
            Read::Count(value) => ops
                .iter()
                .try_for_each(|o| sample(&[&o.operation], Number::Int(value(o)))),
            Read::Counts(_, counts) => ops.iter().try_for_each(|o| {
                counts(o)
                    .into_iter()
                    .try_for_each(|(value, n)| sample(&[&o.operation, value], Number::Int(n)))
            }),
            Read::Report(value) => ops.iter().try_for_each(|o| {
                let Some(data) = &o.data else { return Ok(()) };
                // A thin copy has its series encoded, not listed: encoding reads them there.
                debug_assert!(
                    data.encoded.is_none(),
                    "the series of a thin report were asked for"
                );
                data.report.series.iter().try_for_each(|s| {
                    let labels = [o.operation.as_str(), &s.rp_id, &s.cod_opc_menu];
                    sample(&labels, Number::Float(value(s)))
                })
            }),
            Read::Counters(value) => ops.iter().try_for_each(|o| {
                o.counters.iter().flat_map(|c| c.iter()).try_for_each(|c| {
                    let labels = [o.operation.as_str(), c.rp_id, c.cod_opc_menu];
                    sample(&labels, Number::Float(value(&c)))
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::fixtures::assorted_operations;

    #[test]
    fn each_family_is_named_once_and_every_sample_has_its_labels() {
        let mut ops = assorted_operations();
        ops[0].poll_duration = Some(std::time::Duration::from_millis(25));
        ops[0].next_poll = Some("2026-11-25T10:05:00Z".parse().unwrap());
        ops[0].day_close_late_calls = Some(3.0);
        let globals = Globals {
            reload: Some(ReloadStatus {
                successful: true,
                last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
                shard_operations: Some(2),
                web_config: Some(true),
            }),
            process: Some(crate::exposition::fixtures::PROCESS),
            names: Some(std::sync::Arc::new(NameInfo {
                routing_points: vec![["a", "1001", "Main"].map(String::from).into()],
                options: vec![["a", "1001", "1", "One", "agent"].map(String::from).into()],
            })),
        };
        for (i, family) in FAMILIES.iter().enumerate() {
            assert!(
                FAMILIES[..i].iter().all(|f| f.name != family.name),
                "{} twice",
                family.name
            );
            let mut samples = 0;
            family
                .for_each_sample(&ops, &globals, |labels, _| {
                    samples += 1;
                    assert_eq!(labels.len(), family.labels().len(), "{}", family.name);
                    Ok::<_, ()>(())
                })
                .unwrap();
            assert!(samples > 0, "{} has no sample here", family.name);
        }
    }
}
