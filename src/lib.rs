//! wolkvox-exporter: polls the Wolkvox report `diagram_1_3` (IVR calls and time per menu
//! option) in the background and serves the latest result to Prometheus.
//!
//! # Layout
//!
//! Data flows one way: configuration -> the Wolkvox client -> the report -> the counters -> the
//! exposition -> HTTP. A module imports only those before it in that chain; the poller, the
//! supervisor and the exporter sit on top and wire it together.
//!
//! - [`config`]: flags and `--config.file`, one set of value types, into a validated Config.
//! - [`window`]: which local times a poll covers, and the injectable [`window::Clock`].
//! - [`wolkvox`]: the upstream API: client, JSON types, the classification into a PollResult.
//! - [`report`]: pure: the decoded rows into a parsed, aggregated report.
//! - [`counters`]: pure: counters that survive local midnight and restarts.
//! - [`budget`]: pure: the poll interval that keeps within a share of the token's limit.
//! - [`exposition`]: the table of metric families, the one encoder, the Snapshot, the Store.
//! - [`poller`]: the one loop per operation: fetch, classify, record, publish, wait.
//! - [`supervisor`]: starts, stops and reloads the pollers.
//! - [`exporter`]: the store, the supervisor and the HTTP server, wired together.
//! - [`status`]: the landing page: each operation's last call, next poll, report and advice.
//! - [`http`]: the routes: the status page, /metrics, /healthz, /readyz.
//! - [`server`]: the listener: limits on slow clients, TLS, one hyper connection each.
//! - [`web`]: TLS and basic auth from `--web.config.file`.
//! - [`mod@check`]: the `check` subcommand.
//! - [`backfill`]: the `backfill` subcommand: past days as an OpenMetrics file for promtool.
//! - [`demo`]: `--demo`'s simulator and fast clock.
//! - [`signals`]: SIGTERM, SIGINT and SIGHUP, in one place.
//! - [`simulator`]: a simulated Wolkvox API for `--demo` and the tests.
//! - [`logging`]: logfmt and JSON log lines.
//! - [`process`]: the standard process metrics: pure parsers of /proc, and their reading.
//! - [`build_info`]: version, git revision, build date and rustc of this binary.

pub mod backfill;
pub mod budget;
pub mod build_info;
pub mod check;
pub mod config;
pub mod counters;
pub mod demo;
pub mod exporter;
pub mod exposition;
pub mod http;
pub mod logging;
pub mod poller;
pub mod process;
pub mod report;
pub mod server;
pub mod signals;
pub mod simulator;
pub mod status;
pub mod supervisor;
pub mod web;
pub mod window;
pub mod wolkvox;

use std::future::Future;

use tokio::net::TcpListener;

pub use crate::check::check;
pub use crate::exporter::Exporter;

/// Why the exporter could not start or stopped.
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
    #[error(transparent)]
    NoDemo(#[from] demo::NoDemo),
}

/// Runs the exporter with the system clock (or the demo's): polls and serves on `listener`
/// until `shutdown` completes. The caller binds the socket and owns the shutdown signal.
pub async fn run(
    config: config::Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let clock = demo::clock_for(&config);
    Exporter::new(config, clock)
        .await?
        .serve(listener, shutdown)
        .await
}
