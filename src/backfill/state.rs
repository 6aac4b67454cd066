//! The progress of a backfill, kept beside its output as `PATH.state`: one JSON line per
//! step fetched (operation, instant, the report's rows), appended as soon as the answer is in.
//! A second run with the same output reads it, fetches only the steps it lacks, and writes
//! the same file an uninterrupted run writes. A line cut short by a crash is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use crate::report::Series;

/// One fetched step, as stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    operation: String,
    at: i64,
    /// (rp_id, cod_opc_menu, calls, time in seconds).
    rows: Vec<(String, String, f64, f64)>,
}

/// The steps fetched so far, and the file they are appended to.
#[derive(Debug)]
pub struct State {
    file: File,
    path: PathBuf,
    fetched: HashMap<(String, i64), Vec<Series>>,
}

impl State {
    /// Opens (or creates) the state of `output`.
    pub fn open(output: &Path) -> std::io::Result<State> {
        let mut path = output.as_os_str().to_owned();
        path.push(".state");
        let path = PathBuf::from(path);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        let mut fetched = HashMap::new();
        for line in BufReader::new(File::open(&path)?).lines() {
            let Ok(line) = serde_json::from_str::<Line>(&line?) else {
                continue;
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
        Ok(State {
            file,
            path,
            fetched,
        })
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
        let mut text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        text.push('\n');
        // One write per line, so that a crash leaves at most the last line cut short.
        self.file.write_all(text.as_bytes())?;
        self.file.flush()?;
        self.fetched
            .insert((operation.to_owned(), at.as_second()), report);
        Ok(())
    }
}
