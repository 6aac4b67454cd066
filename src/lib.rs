//! wolkvox-exporter: polls the Wolkvox report `diagram_1_3` (IVR calls and time per menu
//! option) in the background and serves the latest result to Prometheus.
//!
//! # Layout
//!
//! Data flows one way, and the modules follow it:
//!
//! - [`config`]: the command line and the `--config.file` YAML, one set of value types for
//!   both, validated into a [`config::Config`].
//! - [`window`]: which local times a poll covers, and the injectable [`window::Clock`].
//! - [`wolkvox`]: the upstream API: HTTP client, JSON types, and the one classification of an
//!   answer into a [`wolkvox::PollResult`].
//! - [`report`]: pure parsing and aggregation of the rows.
//! - [`counters`]: pure counters that survive local midnight.
//! - [`poller`]: the one loop per token: fetch, classify, publish, wait.
//! - [`exposition`]: the immutable, pre-encoded exposition, swapped in whole.
//! - [`http`]: the routes that serve it.
//! - [`web`]: TLS and basic auth from `--web.config.file`.
//! - [`simulator`]: a simulated Wolkvox API for `--demo` and the tests.
//! - [`logging`]: logfmt and JSON log lines.
//! - [`malloc`]: the allocator setting that keeps resident memory flat across polls.

pub mod check;
pub mod config;
pub mod counters;
pub mod demo;
pub mod exporter;
pub mod exposition;
pub mod http;
pub mod logging;
pub mod malloc;
pub mod poller;
pub mod report;
pub mod signals;
pub mod simulator;
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
