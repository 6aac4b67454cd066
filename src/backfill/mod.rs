//! `wolkvox-exporter backfill`: the last days of the report, one call per step, written as an
//! OpenMetrics file that `promtool tsdb create-blocks-from openmetrics` turns into blocks,
//! with the series of the live exporter (names, labels, and its counters' definition: the
//! running total of the operation's local day), so that the live series continue them.
//!
//! The token is spent carefully: one call at a time (all operations one after the other), at
//! most `--max-calls` calls a run, and a clean stop at the first refusal or failure with what
//! is done written out; the next run continues from the state kept beside the output.
//!
//! Layout: `plan.rs` (pure: the steps and their windows), `state.rs` (the progress on disk),
//! this file (the calls, the progress display, the output).

pub mod plan;
pub mod state;

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{BackfillArgs, Config, OperationConfig};
use crate::counters::CounterSeries;
use crate::demo::{self, Demo};
use crate::exposition::{HistoryPoint, OperationHistory, encode_history};
use crate::report::Series;
use crate::window::Window;
use crate::{report, wolkvox};
use plan::Step;
use state::State;

/// Why a backfill could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The output (or its state beside it) cannot be written: bad input, exit code 2.
    #[error("--output: cannot write {path}: {why}")]
    Output {
        /// The file that could not be written.
        path: String,
        /// Why.
        why: std::io::Error,
    },
    /// No operation of the configuration keeps day counters.
    #[error("no operation has the `today` window: only its running day totals can be backfilled")]
    NothingToDo,
    /// The HTTP client, a socket or the demo simulator failed.
    #[error(transparent)]
    Start(#[from] crate::Error),
}

impl BackfillError {
    /// Whether the error is the user's input (exit code 2) rather than a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            BackfillError::Output { .. } | BackfillError::NothingToDo
        )
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Steps of every operation in the range.
    pub steps: usize,
    /// Steps fetched by now, earlier runs included.
    pub done: usize,
    /// Calls this run made.
    pub calls: u64,
    /// Why the run stopped before the end, if it did.
    pub stopped: Option<String>,
    /// The file written.
    pub output: PathBuf,
    /// The state beside it.
    pub state: PathBuf,
}

/// One operation's steps.
struct Planned<'a> {
    op: &'a OperationConfig,
    steps: Vec<Step>,
}

/// Runs the backfill of every operation of `config` that has the `today` window, with the
/// system clock (or the demo's) for the default end.
pub async fn run(config: Config, args: BackfillArgs) -> Result<Summary, BackfillError> {
    let clock = demo::clock_for(&config);
    let now = clock.now();
    let output_error = |path: &Path, why| BackfillError::Output {
        path: path.display().to_string(),
        why,
    };
    // Refuse an unwritable output before the first call, not after the last.
    write_atomically(&args.output, b"# EOF\n", false).map_err(|e| output_error(&args.output, e))?;
    let mut state = State::open(&args.output).map_err(|e| {
        let mut p = args.output.as_os_str().to_owned();
        p.push(".state");
        output_error(Path::new(&p), e)
    })?;

    let mut planned = Vec::new();
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
        planned.push(Planned { op, steps });
    }
    if planned.is_empty() {
        return Err(BackfillError::NothingToDo);
    }

    let total: usize = planned.iter().map(|p| p.steps.len()).sum();
    let already = planned
        .iter()
        .map(|p| {
            p.steps
                .iter()
                .filter(|s| state.get(&p.op.name, s.at).is_some())
                .count()
        })
        .sum::<usize>();
    let mut progress = Progress::new(total, already);
    let demo = Demo::start(&config, clock.as_ref())
        .await
        .map_err(crate::Error::from)?;
    let mut calls = 0u64;
    let mut stopped = None;
    'ops: for p in &planned {
        let endpoint = demo::endpoint(p.op, demo.as_ref()).map_err(crate::Error::from)?;
        let mut client = wolkvox::Client::new(
            &endpoint.base_url,
            &p.op.server,
            &endpoint.token,
            p.op.poll_timeout,
        )
        .map_err(crate::Error::from)?
        .with_max_body(config.max_body_size)
        .with_token_file(endpoint.token_file.clone());
        for step in &p.steps {
            if state.get(&p.op.name, step.at).is_some() {
                continue;
            }
            if calls >= args.max_calls {
                stopped = Some(format!(
                    "reached --max-calls {}; run the same command again (tomorrow, to leave the token's budget to the live exporter) to continue",
                    args.max_calls
                ));
                break 'ops;
            }
            client.refresh_token();
            calls += 1;
            let (classified, parsed) = report::from_answer(
                client.fetch(&step.window).await,
                p.op.time_unit,
                config.max_series,
            );
            let Some(parsed) = parsed else {
                stopped = Some(format!(
                    "operation {}, window {} to {}: Wolkvox answered {} ({}); {}; run the same command again to continue",
                    p.op.name,
                    step.window.date_ini(),
                    step.window.date_end(),
                    classified.result.as_str(),
                    client.redact(&classified.detail),
                    client.redact(&classified.result.advice(p.op.server.as_str())),
                ));
                break 'ops;
            };
            state
                .record(&p.op.name, step.at, parsed.series)
                .map_err(|e| output_error(state.path(), e))?;
            progress.advance(&p.op.name, step);
        }
    }
    progress.finish();

    let histories: Vec<OperationHistory> = planned
        .iter()
        .map(|p| history(&p.op.name, &p.steps, &state))
        .collect();
    let done = histories.iter().map(|h| h.points.len()).sum();
    let mut extra = vec![("job", args.job.as_str())];
    if let Some(instance) = &args.instance {
        extra.push(("instance", instance.as_str()));
    }
    write_atomically(&args.output, &encode_history(&histories, &extra), true)
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
fn history(operation: &str, steps: &[Step], state: &State) -> OperationHistory {
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
        let mut report: Vec<Series> = report.to_vec();
        report.sort_by(|a, b| (&a.rp_id, &a.cod_opc_menu).cmp(&(&b.rp_id, &b.cod_opc_menu)));
        points.push(HistoryPoint {
            at: step.at,
            counters,
            report,
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
    next_line: usize,
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
        Progress {
            bar,
            total,
            done,
            next_line: done + (total / 10).max(1),
        }
    }

    fn advance(&mut self, operation: &str, step: &Step) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{operation} {}", step.window.end));
                bar.inc(1);
            }
            None if self.done >= self.next_line || self.done == self.total => {
                self.next_line = self.done + (self.total / 10).max(1);
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
