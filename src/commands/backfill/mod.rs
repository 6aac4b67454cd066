//! `wolkvox-exporter backfill`: the last days of the report, one call per step, written as an
//! OpenMetrics file that `promtool tsdb create-blocks-from openmetrics` turns into blocks,
//! with the series of the live exporter (names, labels, and its counters' definition: the
//! running total of the operation's local day), so that the live series continue them.
//!
//! The token is spent carefully: one call at a time (all operations one after the other), at
//! most `--max-calls` calls a local day per server (runs with the same output together), never
//! so many that the live exporter lacks calls before local midnight (token_info, asked once a
//! run and day per server, says what the token has left), and a clean stop at the first
//! refusal or failure with what is done written out; the next run continues from the state
//! kept beside the output.
//!
//! Layout: `plan.rs` (pure: the steps and their windows), `allowance.rs` (pure: whether the
//! next call may be made), `state.rs` (the progress and the calls on disk), this file (the
//! calls, the progress display, the output).

pub mod allowance;
pub mod plan;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;
use crate::config::window::Window;
use crate::config::{BackfillArgs, Config, Upstream};
use crate::counters::CounterSeries;
use crate::demo::{self, Demo};
use crate::exposition::{HistoryPoint, OperationHistory, encode_history};
use crate::{report, upstream};
use allowance::Reserve;
use plan::Step;
use state::Journal;

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Steps of every operation in the range.
    pub steps: usize,
    /// Steps fetched by now, earlier runs included.
    pub done: usize,
    /// Calls this run made, token_info included.
    pub calls: u64,
    /// Why the run stopped before the end, if it did.
    pub stopped: Option<String>,
    pub output: PathBuf,
    pub state: PathBuf,
}

/// Runs the backfill of every operation of `config` that has the `today` window, with the
/// system clock (or the demo's) for the default end.
pub async fn run(config: Config, args: BackfillArgs) -> Result<Summary, Error> {
    let clock = demo::clock_for(&config);
    let now = clock.now();
    let output_error = |path: &Path, why| Error::Output {
        path: path.display().to_string(),
        why,
    };
    // Refuse an unwritable output before the first call, not after the last.
    write_atomically(&args.output, b"# EOF\n", false).map_err(|e| output_error(&args.output, e))?;
    let mut state_path = args.output.as_os_str().to_owned();
    state_path.push(".state");
    let state_path = PathBuf::from(state_path);
    let mut state = Journal::open(state_path.clone()).map_err(|e| output_error(&state_path, e))?;

    let mut planned = Vec::new();
    let mut total = 0;
    let mut already = 0;
    for op in &config.operations {
        if op.window != Window::Today {
            eprintln!(
                "backfill: operation {} skipped: its window is not `today`, so it has no day counters to continue",
                op.name
            );
            continue;
        }
        let end = match args.end {
            Some(civil) => civil
                .to_zoned_datetime(op.timezone.clone())
                .map(|z| z.timestamp())
                .unwrap_or(now),
            None => now,
        };
        let steps = plan::steps(end, args.days, args.step, &op.timezone);
        total += steps.len();
        already += steps
            .iter()
            .filter(|s| state.get(&op.name, s.at).is_some())
            .count();
        planned.push((op, steps));
    }
    if planned.is_empty() {
        return Err(Error::NothingToDo);
    }

    let mut progress = Progress::new(total, already);
    let demo = Demo::start(&config, clock.as_ref()).await?;
    let http = upstream::HttpClients::default();
    let mut calls = 0u64;
    // token_info's answer per server, or None where it gave none.
    let mut reserves: HashMap<String, Option<Reserve>> = HashMap::new();
    let mut stopped = None;
    'ops: for (op, steps) in &planned {
        let server = op.server.as_str();
        let mut client = demo::client(op, demo.as_ref(), config.max_body_size, &http)?;
        // The demo's simulator and token are this process's own: no one else spends them.
        let ask_token_info = !matches!(op.upstream, Upstream::Demo(_));
        // The local day of the next call, or why it must not be made: `--max-calls` reached
        // for the day, or, with token_info's `reserve`, too little left for the live exporter
        // until local midnight.
        let may_call = |state: &Journal, reserve: Option<&Reserve>| {
            let now = clock.now();
            let day = now.to_zoned_datetime(op.timezone.clone()).date();
            let need =
                allowance::live_need(&config.operations, server, config.token_info_interval, now);
            let (today, earlier) = state.calls_on(server, day);
            allowance::check(args.max_calls, day, today, earlier, reserve, need)
                .map_or(Ok(day), Err)
        };
        for step in steps {
            if state.get(&op.name, step.at).is_some() {
                continue;
            }
            client.refresh_token();
            // Once a run per server, and again on a new local day: an answer of another day
            // says nothing about today's use. Where token_info gave no answer, not again. Never
            // once `--max-calls` is reached: the check below then stops the run with that why.
            let asked_on = reserves.get(server).map(|r| r.map(|r| r.day));
            let ask_on = may_call(&state, None).ok().filter(|&today| {
                ask_token_info && asked_on.is_none_or(|d| d.is_some_and(|d| d != today))
            });
            if let Some(today) = ask_on {
                state
                    .record_call(server, today)
                    .map_err(|e| output_error(state.path(), e))?;
                calls += 1;
                let reserve = match upstream::outcome::token_info(client.fetch_token_info().await) {
                    Ok(info) => Some(Reserve {
                        info,
                        day: today,
                        since: 0,
                    }),
                    Err(why) => {
                        eprintln!(
                            "backfill: operation {}: token_info gave no answer ({}); only --max-calls limits the calls",
                            op.name,
                            client.redact(&why)
                        );
                        None
                    }
                };
                reserves.insert(server.to_owned(), reserve);
            }
            let reserve = reserves.get_mut(server).and_then(Option::as_mut);
            let day = match may_call(&state, reserve.as_deref()) {
                Ok(day) => day,
                Err(why) => {
                    stopped = Some(why);
                    break 'ops;
                }
            };
            if let Some(r) = reserve {
                r.since += 1;
            }
            state
                .record_call(server, day)
                .map_err(|e| output_error(state.path(), e))?;
            calls += 1;
            let (classified, parsed) = report::from_answer(
                client.fetch(&step.window).await,
                op.time_unit,
                config.max_series,
            );
            let Some(parsed) = parsed else {
                stopped = Some(format!(
                    "operation {}, window {} to {}: Wolkvox answered {} ({}); {}; run the same command again to continue",
                    op.name,
                    step.window.date_ini(),
                    step.window.date_end(),
                    classified.result.as_str(),
                    client.redact(&classified.detail),
                    client.redact(&classified.result.advice(op.server.as_str())),
                ));
                break 'ops;
            };
            state
                .record(&op.name, step.at, parsed.series)
                .map_err(|e| output_error(state.path(), e))?;
            progress.advance(&op.name, step);
        }
    }
    progress.finish();

    let histories: Vec<OperationHistory> = planned
        .iter()
        .map(|(op, steps)| history(&op.name, steps, &state))
        .collect();
    let done = histories.iter().map(|h| h.points.len()).sum();
    let mut extra = vec![("job", args.job.as_str())];
    if let Some(instance) = &args.instance {
        extra.push(("instance", instance.as_str()));
    }
    let operations = config.operations.iter().map(|o| o.name.as_str());
    let names = crate::demo::names::with_builtin(&config, &config.names);
    let names = names.of_operations(operations).0.info();
    write_atomically(
        &args.output,
        &encode_history(&histories, &names, &extra),
        true,
    )
    .map_err(|e| output_error(&args.output, e))?;
    Ok(Summary {
        steps: total,
        done,
        calls,
        stopped,
        output: args.output,
        state: state.path().to_owned(),
    })
}

/// The points of one operation from the steps fetched: the report at each step, and the
/// counters as the live exporter keeps them, the highest value each pair has shown on the
/// local day, and zero for a pair reported earlier but not (yet) on this day.
fn history(operation: &str, steps: &[Step], state: &Journal) -> OperationHistory {
    let mut totals: BTreeMap<(Arc<str>, Arc<str>), (f64, f64)> = BTreeMap::new();
    let mut day = None;
    let mut points = Vec::new();
    for step in steps {
        let Some(report) = state.get(operation, step.at) else {
            continue;
        };
        if day != Some(step.day) {
            day = Some(step.day);
            totals.values_mut().for_each(|t| *t = (0.0, 0.0));
        }
        for s in report {
            let t = totals
                .entry((s.rp_id.clone(), s.cod_opc_menu.clone()))
                .or_default();
            *t = (t.0.max(s.calls), t.1.max(s.time_seconds));
        }
        let counters = totals
            .iter()
            .map(|((rp_id, cod_opc_menu), (calls, secs))| CounterSeries {
                rp_id: rp_id.clone(),
                cod_opc_menu: cod_opc_menu.clone(),
                calls: *calls,
                time_seconds: *secs,
            })
            .collect();
        points.push(HistoryPoint {
            at: step.at,
            counters,
            // The state keeps a report's series in its order, by (rp_id, cod_opc_menu).
            report: report.to_vec(),
        });
    }
    OperationHistory {
        operation: operation.to_owned(),
        points,
    }
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so that a reader
/// never sees half a file; `keep` false only checks that it can be written.
fn write_atomically(path: &Path, bytes: &[u8], keep: bool) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    if keep {
        std::fs::rename(&tmp, path)
    } else {
        std::fs::remove_file(&tmp)
    }
}

/// A progress bar on a terminal, plain lines (about one per tenth) otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize, done: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_position(done as u64);
            bar
        });
        if bar.is_none() {
            eprintln!("backfill: {done} of {total} steps already fetched");
        }
        Progress { bar, total, done }
    }

    fn advance(&mut self, operation: &str, step: &Step) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{operation} {}", step.window.end));
                bar.inc(1);
            }
            None if self.done % (self.total / 10).max(1) == 0 || self.done == self.total => {
                eprintln!(
                    "backfill: {} of {} steps fetched (operation {operation}, up to {})",
                    self.done, self.total, step.window.end
                );
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
