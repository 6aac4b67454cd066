//! wolkvox-exporter: polls the Wolkvox report `diagram_1_3` (IVR calls and time per menu
//! option) in the background and serves the latest result to Prometheus.
//!
//! # Layout
//!
//! Data flows one way, and the modules follow it:
//!
//! - [`config`]: the command line and its validation into a [`config::Config`].
//! - [`window`]: which local times a poll covers, and the injectable [`window::Clock`].
//! - [`wolkvox`]: the upstream API: HTTP client, JSON types, and the one classification of an
//!   answer into a [`wolkvox::PollResult`].
//! - [`report`]: pure parsing and aggregation of the rows.
//! - [`counters`]: pure counters that survive local midnight.
//! - [`poller`]: the one loop per token: fetch, classify, publish, wait.
//! - [`snapshot`]: the immutable, pre-encoded exposition, swapped in whole.
//! - [`http`]: the routes that serve it.
//! - [`web`]: TLS and basic auth from `--web.config.file`.
//! - [`simulator`]: a simulated Wolkvox API for `--demo` and the tests.
//! - [`logging`]: logfmt and JSON log lines.

pub mod config;
pub mod counters;
pub mod http;
pub mod logging;
pub mod poller;
pub mod report;
pub mod simulator;
pub mod snapshot;
pub mod web;
pub mod window;
pub mod wolkvox;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Token, Upstream};
use crate::poller::{Poller, PollerConfig};
use crate::simulator::{Simulator, SimulatorConfig};
use crate::snapshot::{OperationMetrics, Snapshot, Store};
use crate::window::{Clock, ScaledClock, SystemClock};

/// Why the exporter could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The web configuration file is not usable.
    #[error("--web.config.file: {0}")]
    WebConfig(#[from] web::WebConfigError),
    /// The TLS certificate or key is not usable.
    #[error("--web.config.file: {0}")]
    Tls(String),
}

/// An exporter that is set up and ready to serve: its poller has not started yet.
pub struct Exporter {
    store: Arc<Store>,
    poller: Poller,
    telemetry_path: String,
    web: web::WebConfig,
    _simulator: Option<Simulator>,
}

impl Exporter {
    /// Sets up the client (and, for `--demo`, starts the simulator on a loopback port).
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let (base_url, token, simulator) = match &config.upstream {
            Upstream::Remote {
                base_url, token, ..
            } => (base_url.clone(), token.clone(), None),
            Upstream::Demo(options) => {
                let token = demo_token();
                let (sim, addr) = Simulator::spawn(SimulatorConfig {
                    tokens: vec![token.expose().to_owned()],
                    ..SimulatorConfig::default()
                })
                .await?;
                tracing::info!(address = %addr, speed = options.speed, "demo: simulated Wolkvox API started");
                if let Some((rp_id, after)) = &options.pulse_spike {
                    let from = clock
                        .now()
                        .checked_add(*after)
                        .unwrap_or_else(|_| clock.now())
                        .to_zoned_datetime(config.timezone.clone())
                        .datetime();
                    sim.add_pulse_spike(rp_id, from, 20.0);
                    tracing::info!(rp_id = %rp_id, from = %from, "demo: PULSE spike scheduled");
                }
                // A socket address always makes a valid http URL.
                let url = reqwest::Url::parse(&format!("http://{addr}"))
                    .expect("a socket address forms a valid URL");
                (url, token, Some(sim))
            }
        };
        let token_file = match &config.upstream {
            Upstream::Remote { token_file, .. } => token_file.clone(),
            Upstream::Demo(_) => None,
        };
        let client = wolkvox::Client::new(&base_url, &config.server, &token, config.poll_timeout)?
            .with_max_body(config.max_body_size)
            .with_token_file(token_file);
        let web = match &config.web_config_file {
            Some(path) => web::WebConfig::load(path)?,
            None => web::WebConfig::default(),
        };
        let poller_config = PollerConfig {
            operation: config.operation.clone(),
            timezone: config.timezone.clone(),
            window: config.window,
            time_unit: config.time_unit,
            interval: config.poll_interval,
            keep_stale: config.keep_stale,
            max_series: config.max_series,
            timeout: config.poll_timeout,
        };
        // Before the first poll /metrics already shows the self-metrics (up 0, counters 0).
        let initial = OperationMetrics::new(config.operation.clone(), config.poll_interval);
        let store = Arc::new(Store::new(Snapshot::encode(false, &[initial])));
        let poller = Poller::new(poller_config, client, clock, store.clone());
        Ok(Self {
            store,
            poller,
            telemetry_path: config.telemetry_path,
            web,
            _simulator: simulator,
        })
    }

    /// The snapshot store: what /metrics serves, and a way to wait for polls.
    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Polls and serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let cancel = CancellationToken::new();
        let poll_task = tokio::spawn(self.poller.run(cancel.clone()));
        let auth = (!self.web.users.is_empty()).then(|| web::Auth::new(self.web.users.clone()));
        let app = http::router(self.store, &self.telemetry_path, auth);
        let stop = cancel.clone();
        let stopped = async move {
            shutdown.await;
            stop.cancel();
        };
        let served = match &self.web.tls {
            None => axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
                .map_err(Error::from),
            Some(tls) => {
                let config = tls.server_config().map_err(Error::Tls)?;
                let handle = axum_server::Handle::new();
                let on_stop = handle.clone();
                tokio::spawn(async move {
                    stopped.await;
                    on_stop.graceful_shutdown(Some(std::time::Duration::from_millis(500)));
                });
                axum_server::from_tcp_rustls(
                    listener.into_std()?,
                    axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
                )?
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(Error::from)
            }
        };
        cancel.cancel();
        // The poller returns as soon as it sees the cancellation, even mid-request.
        let _ = poll_task.await;
        served
    }
}

/// Runs the exporter with the system clock: polls and serves until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // The demo may fast-forward its clock; everything else runs on the system clock.
    let clock: Arc<dyn Clock> = match config.upstream_demo() {
        Some(demo) if demo.speed != 1.0 => Arc::new(ScaledClock::new(demo.speed)),
        _ => Arc::new(SystemClock),
    };
    Exporter::new(config, clock)
        .await?
        .serve(listener, shutdown)
        .await
}

/// A random token for the demo simulator, so that even the demo never has a fixed secret.
fn demo_token() -> Token {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    // Visible ASCII hex is always a valid token.
    Token::new(&format!("demo-{:016x}", h.finish())).expect("hex is a valid token")
}
