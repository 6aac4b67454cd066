//! One exporter: the demo simulator when asked for, the store of snapshots, the supervisor of
//! the pollers, and the HTTP server, wired together and stopped together.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::demo::Demo;
use crate::exposition::Store;
use crate::supervisor::Supervisor;
use crate::window::Clock;
use crate::{Error, http, server, web};

/// An exporter that is set up and ready to serve: its pollers have not started yet.
pub struct Exporter {
    config: Config,
    store: Arc<Store>,
    supervisor: Supervisor,
    web: web::WebConfig,
}

impl Exporter {
    /// Sets up the clients (and, for `--demo`, starts the simulator on a loopback port).
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let web = config.web.clone();
        let demo = Demo::start(&config, clock.as_ref()).await?;
        let store = Arc::new(Store::new());
        let supervisor = Supervisor::new(&config, clock, store.clone(), demo)?;
        Ok(Self {
            config,
            store,
            supervisor,
            web,
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
        let Exporter {
            config,
            store,
            supervisor,
            web,
        } = self;
        let cancel = CancellationToken::new();
        let supervise = tokio::spawn(supervisor.run(cancel.clone()));
        let operations: Vec<&str> = config.operations.iter().map(|o| o.name.as_str()).collect();
        tracing::info!(
            address = %listener.local_addr()?,
            operations = %operations.join(","),
            "listening"
        );

        let auth = (!web.users.is_empty()).then(|| web::Auth::new(web.users.clone()));
        let app = http::router(store, &config.telemetry_path, auth);
        let stop = cancel.clone();
        let stopped = async move {
            shutdown.await;
            stop.cancel();
        };
        let tls = match &web.tls {
            Some(files) => Some(files.server_config().map_err(Error::Tls)?),
            None => None,
        };
        let served = server::serve(listener, app, tls, config.limits, stopped).await;
        cancel.cancel();
        // The pollers return as soon as they see the cancellation, even mid-request.
        let _ = supervise.await;
        served
    }
}
