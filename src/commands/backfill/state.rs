//! The progress of a backfill, kept beside its output as `PATH.state`: one JSON line per
//! step fetched (operation, instant, the report's rows), appended as soon as the answer is in,
//! and one line per call (server, local day), appended before the call goes out, so that the
//! day's calls are counted across runs and a crash loses none of them.
//! A second run with the same output reads it, fetches only the steps it lacks, and writes
//! the same file an uninterrupted run writes. A line cut short by a crash is ignored, and so
//! is a line of a kind this version does not know: a state without call lines (from before
//! they were kept) loads with no calls counted.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::report::Series;

/// One fetched step, as stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    operation: String,
    at: i64,
    /// (rp_id, cod_opc_menu, calls, time in seconds).
    rows: Vec<(String, String, f64, f64)>,
}

/// One call made, as stored: the server whose token it spent and the local day it counts in.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CallLine {
    server: String,
    /// The operation's local date, `2026-11-25`.
    day: String,
}

/// A line of the state: a step or a call. A step line has `operation`, a call line `day`, so
/// that the first kind that fits is the right one.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum Entry {
    Step(Line),
    Call(CallLine),
}

/// The steps fetched so far, the calls made per server and day, and the file they are
/// appended to.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    fetched: HashMap<(String, i64), Vec<Series>>,
    /// Per server and day: the calls of every run, and of those the calls the file held when
    /// opened (by earlier runs).
    calls: HashMap<(String, String), (u64, u64)>,
}

impl Journal {
    /// Opens (or creates) the state at `path`, `OUTPUT.state`.
    pub fn open(path: PathBuf) -> std::io::Result<Journal> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        let mut fetched = HashMap::new();
        let mut calls = HashMap::new();
        for line in BufReader::new(&file).lines() {
            let line = match serde_json::from_str::<Entry>(&line?) {
                Ok(Entry::Step(line)) => line,
                Ok(Entry::Call(call)) => {
                    let count: &mut (u64, u64) = calls.entry((call.server, call.day)).or_default();
                    *count = (count.0 + 1, count.1 + 1);
                    continue;
                }
                Err(_) => continue,
            };
            let report = line
                .rows
                .into_iter()
                .map(|(rp, opt, calls, time_seconds)| Series {
                    rp_id: Arc::from(rp),
                    cod_opc_menu: Arc::from(opt),
                    calls,
                    time_seconds,
                })
                .collect();
            fetched.insert((line.operation, line.at), report);
        }
        Ok(Journal {
            file,
            path,
            fetched,
            calls,
        })
    }

    /// Calls made with the token of `server` on the local `day`: by every run of this state,
    /// and of those by earlier runs.
    pub fn calls_on(&self, server: &str, day: Date) -> (u64, u64) {
        let key = (server.to_owned(), day.to_string());
        self.calls.get(&key).copied().unwrap_or_default()
    }

    /// Records on disk, then in memory, a call about to be made with the token of `server` on
    /// the local `day`.
    pub fn record_call(&mut self, server: &str, day: Date) -> std::io::Result<()> {
        let line = CallLine {
            server: server.to_owned(),
            day: day.to_string(),
        };
        self.append(&line)?;
        self.calls.entry((line.server, line.day)).or_default().0 += 1;
        Ok(())
    }

    fn append(&mut self, line: &impl serde::Serialize) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        // One write per line, so that a crash leaves at most the last line cut short.
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }

    /// Where the state is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The report fetched for `operation` at `at`, if any.
    pub fn get(&self, operation: &str, at: Timestamp) -> Option<&[Series]> {
        self.fetched
            .get(&(operation.to_owned(), at.as_second()))
            .map(Vec::as_slice)
    }

    /// Records a fetched step on disk, then in memory.
    pub fn record(
        &mut self,
        operation: &str,
        at: Timestamp,
        report: Vec<Series>,
    ) -> std::io::Result<()> {
        let line = Line {
            operation: operation.to_owned(),
            at: at.as_second(),
            rows: report
                .iter()
                .map(|s| {
                    (
                        s.rp_id.to_string(),
                        s.cod_opc_menu.to_string(),
                        s.calls,
                        s.time_seconds,
                    )
                })
                .collect(),
        };
        self.append(&line)?;
        self.fetched
            .insert((operation.to_owned(), at.as_second()), report);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_count_per_server_and_local_day_across_runs_and_a_state_without_them_loads() {
        let dir = tempfile::tempdir().unwrap();
        // A state written before calls were counted: step lines only.
        std::fs::write(
            dir.path().join("out.om.state"),
            "{\"operation\":\"north\",\"at\":1764097200,\"rows\":[[\"1001\",\"1\",3.0,60.0]]}\n",
        )
        .unwrap();
        let at = Timestamp::from_second(1_764_097_200).unwrap();
        let day: Date = "2026-11-25".parse().unwrap();
        let next = day.tomorrow().unwrap();

        let mut state = Journal::open(dir.path().join("out.om.state")).unwrap();
        assert_eq!(state.get("north", at).map(<[Series]>::len), Some(1));
        assert_eq!(state.calls_on("0032", day), (0, 0));
        for server in ["0032", "0032", "0033"] {
            state.record_call(server, day).unwrap();
        }
        state.record_call("0032", next).unwrap();
        assert_eq!(state.calls_on("0032", day), (2, 0));

        let again = Journal::open(dir.path().join("out.om.state")).unwrap();
        assert_eq!(again.get("north", at).map(<[Series]>::len), Some(1));
        assert_eq!(
            [
                again.calls_on("0032", day),
                again.calls_on("0033", day),
                again.calls_on("0032", next),
            ],
            [(2, 2), (1, 1), (1, 1)]
        );
    }
}
