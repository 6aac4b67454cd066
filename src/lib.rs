//! wolkvox-exporter: polls the Wolkvox report `diagram_1_3` (IVR calls and time per menu
//! option) in the background and serves the latest result to Prometheus.
//!
//! # Layout
//!
//! Data flows one way: configuration -> the Wolkvox API -> the report -> the counters -> the
//! poller -> the exposition -> HTTP. Each folder is a stage; a module imports only the stages
//! below it in this list, and `sys` is the ground everything stands on.
//!
//! - [`serve`]: the exporter wired together and `run(config, listener, shutdown)`, where the
//!   caller binds the socket and owns the shutdown signal; the listener, the routes, the
//!   status page.
//! - [`commands`]: the `check` and `backfill` subcommands.
//! - [`poller`]: the one loop per operation, its backoff and token budget, and the supervisor
//!   that starts, stops and reloads the loops.
//! - [`exposition`]: the table of metric families, the one encoder, the Snapshot, the Store.
//! - [`counters`]: pure: counters that survive local midnight and restarts.
//! - [`report`]: pure: the decoded rows into a parsed, aggregated report.
//! - [`upstream`]: the Wolkvox API: client, the answer's types, its classification into a
//!   PollResult, Wolkvox's number formats.
//! - [`demo`]: `--demo`, and the simulated Wolkvox API it runs (the tests use it too).
//! - [`config`]: flags and `--config.file` into a validated Config; the report window, and the
//!   web configuration (TLS and basic auth).
//! - [`sys`]: the clock, signals, log lines, process metrics and build information.

pub mod commands;
pub mod config;
pub mod counters;
pub mod demo;
pub mod exposition;
pub mod poller;
pub mod report;
pub mod serve;
pub mod sys;
pub mod upstream;

/// Why the exporter or a command could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key is not usable.
    #[error("--web.config.file: {0}")]
    Tls(String),
    /// An operation asks for the demo simulator, which did not start.
    #[error("the demo simulator is not running")]
    NoDemo,
    /// `backfill`'s output (or its state beside it) cannot be written: bad input, exit code 2.
    #[error("--output: cannot write {path}: {why}")]
    Output {
        /// The file that could not be written.
        path: String,
        why: std::io::Error,
    },
    /// No operation of the configuration keeps day counters for `backfill`: bad input, exit
    /// code 2.
    #[error("no operation has the `today` window: only its running day totals can be backfilled")]
    NothingToDo,
}
