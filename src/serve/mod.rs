//! One exporter: the demo simulator when asked for, the store of snapshots, the supervisor of
//! the pollers, the reading of the process metrics, and the HTTP server, wired together and
//! stopped together.

pub mod listener;
pub mod router;
pub mod status;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::config::Config;
use crate::config::web;
use crate::demo::Demo;
use crate::exposition::Store;
use crate::poller::supervisor::Supervisor;
use crate::sys::clock::Clock;
use crate::sys::process::{self, Sampler};

/// An exporter that is set up and ready to serve: its pollers have not started yet.
pub struct Exporter {
    config: Config,
    /// The snapshot store: what /metrics serves, and a way to wait for polls.
    pub store: Arc<Store>,
    supervisor: Supervisor,
    clock: Arc<dyn Clock>,
    process: Option<Sampler>,
}

impl Exporter {
    /// Sets up the clients (and, for `--demo`, starts the simulator on a loopback port).
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let demo = Demo::start(&config, clock.as_ref()).await?;
        let store = Arc::new(Store::new());
        let supervisor = Supervisor::new(&config, clock.clone(), store.clone(), demo)?;
        // Read once now, so that the first scrape already has the process metrics.
        let process = process::sampler();
        if let Some(sampler) = &process {
            read_process(sampler, &store);
        }
        Ok(Self {
            config,
            store,
            supervisor,
            clock,
            process,
        })
    }

    /// Polls and serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let (config, store) = (self.config, self.store);
        let cancel = CancellationToken::new();
        let supervise = tokio::spawn(self.supervisor.run(cancel.clone()));
        if let Some(sampler) = self.process {
            tokio::spawn(refresh_process(sampler, store.clone(), cancel.clone()));
        }
        let operations: Vec<&str> = config.operations.iter().map(|o| o.name.as_str()).collect();
        tracing::info!(
            address = %listener.local_addr()?,
            operations = %operations.join(","),
            "listening"
        );

        // With a web configuration file, its users and certificate are followed as it changes:
        // the auth layer is there even while it names no user, so that adding one takes effect.
        // Without one, the web configuration is the default: no users, no TLS.
        let (mut auth, mut tls) = (None, None);
        if let Some(path) = &config.web_config_file {
            let live = web::LiveWeb::new(path.clone(), &config.web).map_err(Error::Tls)?;
            (auth, tls) = (Some(live.auth.clone()), live.tls.clone());
            store.update_reload(|r| r.web_config = Some(true));
            let report_to = store.clone();
            tokio::spawn(live.watch(
                crate::poller::supervisor::CONFIG_CHECK_INTERVAL,
                cancel.clone(),
                move |ok| report_to.update_reload(|r| r.web_config = Some(ok)),
            ));
        }
        let app = router::router(store, &config.telemetry_path, auth, self.clock);
        let stop = cancel.clone();
        let stopped = async move {
            shutdown.await;
            stop.cancel();
        };
        listener::serve(listener, app, tls, config.limits, stopped).await;
        // The pollers return as soon as they see the cancellation, even mid-request.
        let _ = supervise.await;
        Ok(())
    }
}

/// Reads the process metrics again every [`process::REFRESH_INTERVAL`] until `cancel`. In the
/// background rather than at scrape time: a scrape stays a copy of prebuilt bytes, and the
/// reads cost the same however many scrapers there are.
async fn refresh_process(sampler: Sampler, store: Arc<Store>, cancel: CancellationToken) {
    // The first reading was taken at start.
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(process::REFRESH_INTERVAL) => read_process(&sampler, &store),
        }
    }
}

/// One reading into the store. A failed read keeps the previous values.
fn read_process(sampler: &Sampler, store: &Store) {
    // A few small reads of /proc, answered from kernel memory in microseconds: cheaper on the
    // task than a round trip through tokio's blocking pool.
    match sampler.sample() {
        Ok(stats) => store.set_process(stats),
        Err(e) => tracing::warn!(error = %e, "cannot read the process metrics"),
    }
}

/// Runs the exporter with the system clock (or the demo's): polls and serves on `listener`
/// until `shutdown` completes. The caller binds the socket and owns the shutdown signal.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let clock = crate::demo::clock_for(&config);
    Exporter::new(config, clock)
        .await?
        .serve(listener, shutdown)
        .await
}
