//! wolkvox-exporter: polls the Wolkvox report `diagram_1_3` (IVR calls and time per menu
//! option) in the background and serves the latest result to Prometheus.
//!
//! # Layout
//!
//! Data flows one way, and the modules follow it:
//!
//! - [`config`]: the command line and its validation into a [`config::Config`];
//!   [`opsfile`]: several operations in a YAML file.
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

pub mod config;
pub mod counters;
pub mod exposition;
pub mod http;
pub mod logging;
pub mod malloc;
pub mod opsfile;
pub mod poller;
pub mod report;
pub mod simulator;
pub mod web;
pub mod window;
pub mod wolkvox;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{Config, OperationConfig, Token, Upstream};
use crate::exposition::{ReloadStatus, Store};
use crate::poller::{Poller, PollerConfig};
use crate::simulator::{Simulator, SimulatorConfig};
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
    /// An operation asks for the demo simulator, which did not start.
    #[error("the demo simulator is not running")]
    NoDemo,
}

/// Where one operation's calls go: the URL and the token (the demo's simulator stands in for
/// Wolkvox with a URL and token of its own).
fn endpoint(
    op: &OperationConfig,
    demo: Option<&(reqwest::Url, Token)>,
) -> Option<(reqwest::Url, Token, Option<std::path::PathBuf>)> {
    match &op.upstream {
        Upstream::Remote {
            base_url,
            token,
            token_file,
        } => Some((base_url.clone(), token.clone(), token_file.clone())),
        Upstream::Demo(_) => demo.map(|(url, token)| (url.clone(), token.clone(), None)),
    }
}

/// Starts the demo simulator when an operation asks for it; returns its URL and token.
async fn start_demo(
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Option<(Simulator, reqwest::Url, Token)>, Error> {
    let Some(options) = config.upstream_demo() else {
        return Ok(None);
    };
    let token = demo_token();
    let (sim, addr) = Simulator::spawn(SimulatorConfig {
        tokens: vec![token.expose().to_owned()],
        ..SimulatorConfig::default()
    })
    .await?;
    tracing::info!(address = %addr, speed = options.speed, "demo: simulated Wolkvox API started");
    if let Some((rp_id, after)) = &options.pulse_spike {
        let tz = config
            .operations
            .first()
            .map(|o| o.timezone.clone())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let from = clock
            .now()
            .checked_add(*after)
            .unwrap_or_else(|_| clock.now())
            .to_zoned_datetime(tz)
            .datetime();
        sim.add_pulse_spike(rp_id, from, 20.0);
        tracing::info!(rp_id = %rp_id, from = %from, "demo: PULSE spike scheduled");
    }
    // A socket address always makes a valid http URL.
    let url =
        reqwest::Url::parse(&format!("http://{addr}")).expect("a socket address forms a valid URL");
    Ok(Some((sim, url, token)))
}

/// The shared settings a poller needs besides its operation.
#[derive(Debug, Clone)]
struct Globals {
    keep_stale: u32,
    max_series: usize,
    max_body_size: usize,
    token_info_interval: Option<Duration>,
}

impl Globals {
    fn of(config: &Config) -> Self {
        Self {
            keep_stale: config.keep_stale,
            max_series: config.max_series,
            max_body_size: config.max_body_size,
            token_info_interval: config.token_info_interval,
        }
    }
}

fn build_poller(
    op: &OperationConfig,
    globals: &Globals,
    demo: Option<&(reqwest::Url, Token)>,
    clock: &Arc<dyn Clock>,
    store: &Arc<Store>,
) -> Result<Poller, Error> {
    let (base_url, token, token_file) = endpoint(op, demo).ok_or(Error::NoDemo)?;
    let client = wolkvox::Client::new(&base_url, &op.server, &token, op.poll_timeout)?
        .with_max_body(globals.max_body_size)
        .with_token_file(token_file);
    let poller_config = PollerConfig {
        operation: op.name.clone(),
        timezone: op.timezone.clone(),
        window: op.window,
        time_unit: op.time_unit,
        interval: op.poll_interval,
        keep_stale: globals.keep_stale,
        max_series: globals.max_series,
        timeout: op.poll_timeout,
        token_info_interval: globals.token_info_interval,
    };
    Ok(Poller::new(
        poller_config,
        client,
        clock.clone(),
        store.clone(),
    ))
}

/// A poller that runs, and what it was started with.
struct Running {
    config: OperationConfig,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Asks a running exporter to reload its configuration file (what SIGHUP does).
#[derive(Debug, Clone)]
pub struct Reloader(tokio::sync::mpsc::UnboundedSender<()>);

impl Reloader {
    /// Requests a reload; it happens in the background.
    pub fn reload(&self) {
        let _ = self.0.send(());
    }
}

/// How often the configuration file is checked for changes.
pub const CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// An exporter that is set up and ready to serve: its pollers have not started yet.
pub struct Exporter {
    config: Config,
    globals: Globals,
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    pollers: Vec<(OperationConfig, Poller)>,
    web: web::WebConfig,
    demo: Option<(reqwest::Url, Token)>,
    reload_tx: tokio::sync::mpsc::UnboundedSender<()>,
    reload_rx: tokio::sync::mpsc::UnboundedReceiver<()>,
    hangups: Hangups,
    _simulator: Option<Simulator>,
}

impl Exporter {
    /// Sets up the clients (and, for `--demo`, starts the simulator on a loopback port).
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let web = match &config.web_config_file {
            Some(path) => web::WebConfig::load(path)?,
            None => web::WebConfig::default(),
        };
        let (simulator, demo) = match start_demo(&config, &clock).await? {
            Some((sim, url, token)) => (Some(sim), Some((url, token))),
            None => (None, None),
        };
        let store = Arc::new(Store::new());
        let globals = Globals::of(&config);
        let mut pollers = Vec::new();
        for op in &config.operations {
            let poller = build_poller(op, &globals, demo.as_ref(), &clock, &store)?;
            // Before the first poll /metrics already shows the self-metrics (up 0, counters 0).
            store.register(poller.metrics());
            pollers.push((op.clone(), poller));
        }
        if config.config_file.is_some() {
            store.set_reload(ReloadStatus {
                successful: true,
                last_success: Some(clock.now()),
            });
        }
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        // Listen for SIGHUP from the start: its default action would end the process.
        let hangups = hangup_signals();
        Ok(Self {
            config,
            globals,
            clock,
            store,
            pollers,
            web,
            demo,
            reload_tx,
            reload_rx,
            hangups,
            _simulator: simulator,
        })
    }

    /// The snapshot store: what /metrics serves, and a way to wait for polls.
    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// A handle that triggers a reload of the configuration file.
    pub fn reloader(&self) -> Reloader {
        Reloader(self.reload_tx.clone())
    }

    /// Polls and serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let Exporter {
            config,
            globals,
            clock,
            store,
            pollers,
            web,
            demo,
            reload_tx: _,
            reload_rx,
            hangups,
            _simulator,
        } = self;
        let cancel = CancellationToken::new();
        let mut running = BTreeMap::new();
        for (op, poller) in pollers {
            running.insert(op.name.clone(), start(op, poller, &cancel));
        }
        let supervisor = Supervisor {
            file: config.config_file.clone(),
            globals,
            clock,
            store: store.clone(),
            demo,
            running,
            root: cancel.clone(),
        };
        let supervise = tokio::spawn(supervisor.run(reload_rx, hangups));
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
        // TCP_NODELAY, as nginx sets it: /metrics sends a body in several parts (the samples are
        // shared between the formats), and Nagle's algorithm held a short part back until the
        // client's delayed ACK, which cut the rate of 10,000-series scrapes by a third.
        let served = match &web.tls {
            None => axum::serve(
                axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    // A socket that refuses the option still serves, only slower.
                    let _ = tcp.set_nodelay(true);
                }),
                app,
            )
            .with_graceful_shutdown(stopped)
            .await
            .map_err(Error::from),
            Some(tls) => {
                let tls_config = tls.server_config().map_err(Error::Tls)?;
                let handle = axum_server::Handle::new();
                let on_stop = handle.clone();
                tokio::spawn(async move {
                    stopped.await;
                    on_stop.graceful_shutdown(Some(Duration::from_millis(500)));
                });
                axum_server::from_tcp_rustls(
                    listener.into_std()?,
                    axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls_config)),
                )?
                .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(Error::from)
            }
        };
        cancel.cancel();
        // The pollers return as soon as they see the cancellation, even mid-request.
        let _ = supervise.await;
        served
    }
}

fn start(op: OperationConfig, poller: Poller, root: &CancellationToken) -> Running {
    let cancel = root.child_token();
    let task = tokio::spawn(poller.run(cancel.clone()));
    Running {
        config: op,
        cancel,
        task,
    }
}

/// Owns the running pollers; applies reloads of the configuration file.
struct Supervisor {
    file: Option<std::path::PathBuf>,
    globals: Globals,
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    demo: Option<(reqwest::Url, Token)>,
    running: BTreeMap<String, Running>,
    root: CancellationToken,
}

impl Supervisor {
    async fn run(
        mut self,
        mut requests: tokio::sync::mpsc::UnboundedReceiver<()>,
        mut hangups: Hangups,
    ) {
        let mut last_text = self.file.as_ref().and_then(|f| std::fs::read(f).ok());
        let mut check = tokio::time::interval(CONFIG_CHECK_INTERVAL);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let reason = tokio::select! {
                () = self.root.cancelled() => break,
                Some(()) = requests.recv() => "requested",
                Some(()) = next_hangup(&mut hangups) => "SIGHUP",
                _ = check.tick() => {
                    let Some(file) = &self.file else { continue };
                    let text = std::fs::read(file).ok();
                    if text == last_text {
                        continue;
                    }
                    "the file changed"
                }
            };
            if let Some(file) = &self.file {
                last_text = std::fs::read(file).ok();
            }
            self.reload(reason).await;
        }
        for (_, r) in std::mem::take(&mut self.running) {
            r.cancel.cancel();
            let _ = r.task.await;
        }
    }

    /// Applies the file again: removed operations stop and leave /metrics, added ones start,
    /// changed ones restart, unchanged ones keep running with their state. A file that does
    /// not validate changes nothing.
    async fn reload(&mut self, reason: &str) {
        let Some(file) = self.file.clone() else {
            tracing::warn!(reason, "reload asked for, but no --config.file is in use");
            return;
        };
        let env = |name: &str| std::env::var(name).ok();
        let operations = match opsfile::load(&file, &env) {
            Ok(ops) => ops,
            Err(e) => {
                tracing::error!(reason, error = %e, "configuration reload refused; the running configuration stays");
                let last = self.last_reload();
                self.store.set_reload(ReloadStatus {
                    successful: false,
                    last_success: last,
                });
                return;
            }
        };
        let wanted: BTreeMap<String, OperationConfig> = operations
            .into_iter()
            .map(|o| (o.name.clone(), o))
            .collect();
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| wanted.get(*name) != Some(&r.config))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &stale {
            if let Some(r) = self.running.remove(name) {
                r.cancel.cancel();
                let _ = r.task.await;
                self.store.remove(name);
            }
        }
        let (mut added, mut kept) = (0, 0);
        for (name, op) in wanted {
            if self.running.contains_key(&name) {
                kept += 1;
                continue;
            }
            match build_poller(
                &op,
                &self.globals,
                self.demo.as_ref(),
                &self.clock,
                &self.store,
            ) {
                Ok(poller) => {
                    self.store.register(poller.metrics());
                    self.running.insert(name, start(op, poller, &self.root));
                    added += 1;
                }
                Err(e) => {
                    tracing::error!(operation = %name, error = %e, "cannot start the operation")
                }
            }
        }
        tracing::info!(
            reason,
            started = added,
            stopped = stale.len(),
            unchanged = kept,
            "configuration reloaded"
        );
        self.store.set_reload(ReloadStatus {
            successful: true,
            last_success: Some(self.clock.now()),
        });
    }

    fn last_reload(&self) -> Option<jiff::Timestamp> {
        // The store keeps the status; the supervisor only needs the last success time, which
        // it reads back rather than keeping a second copy.
        self.store.reload_status().and_then(|s| s.last_success)
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

#[cfg(unix)]
fn hangup_signals() -> Hangups {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signals() -> Hangups {
    None
}

#[cfg(unix)]
async fn next_hangup(h: &mut Hangups) -> Option<()> {
    match h {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) -> Option<()> {
    std::future::pending().await
}

/// Runs the exporter with the system clock: polls and serves until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let clock = clock_for(&config);
    Exporter::new(config, clock)
        .await?
        .serve(listener, shutdown)
        .await
}

/// The demo may fast-forward its clock; everything else runs on the system clock.
fn clock_for(config: &Config) -> Arc<dyn Clock> {
    match config.upstream_demo() {
        Some(demo) if demo.speed != 1.0 => Arc::new(ScaledClock::new(demo.speed)),
        _ => Arc::new(SystemClock),
    }
}

/// A random token for the demo simulator, so that even the demo never has a fixed secret.
fn demo_token() -> Token {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    // Visible ASCII hex is always a valid token.
    Token::new(&format!("demo-{:016x}", h.finish())).expect("hex is a valid token")
}

/// What `check` found for one operation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    /// The `operation` label.
    pub operation: String,
    /// Server code.
    pub server: String,
    /// The result label of the call.
    pub result: String,
    /// Whether the operation answered with a report.
    pub ok: bool,
    /// What Wolkvox answered.
    pub detail: String,
    /// What to do about it.
    pub advice: String,
    /// The window asked for, as sent.
    pub date_ini: String,
    /// The window asked for, as sent.
    pub date_end: String,
    /// The report: rp_id, cod_opc_menu, calls, time in seconds.
    pub rows: Vec<CheckRow>,
}

/// One row of a checked report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckRow {
    /// Routing point.
    pub rp_id: String,
    /// Menu option.
    pub cod_opc_menu: String,
    /// Calls.
    pub calls: f64,
    /// Time, seconds.
    pub time_seconds: f64,
}

fn advice(result: wolkvox::PollResult, server: &str) -> String {
    use wolkvox::PollResult as R;
    match result {
        R::Success => "ok".to_owned(),
        R::NoData => "ok, but no calls in the window (Wolkvox also answers so when the report is not enabled on the server)".to_owned(),
        R::Unauthorized => format!("check the token (WOLKVOX_TOKEN, --wolkvox.token-file or token_file) and that it belongs to server {server}"),
        R::ClientError => "check --wolkvox.server and --wolkvox.url: Wolkvox refused the request itself".to_owned(),
        R::QuotaExceeded => "the token's daily quota is used up; it resets at local midnight (licences x 1000 calls a day, shared by all its users)".to_owned(),
        R::ConcurrencyLimited => "another client is using this token right now; stop it or try again in a minute".to_owned(),
        R::Maintenance => "Wolkvox answered 403 without a known reason, as during server backups: try again later".to_owned(),
        R::ServerError => "Wolkvox failed on its side: try again later".to_owned(),
        R::Timeout => "no complete answer within --poll.timeout: check the network path or raise the timeout".to_owned(),
        R::NetworkError => "cannot reach Wolkvox: check DNS, the firewall, the proxy, and that this machine's IP is on the operation's allow-list".to_owned(),
        R::DecodeError => "the answer is not Wolkvox's JSON: a proxy or captive portal may be in the way, or --wolkvox.url is wrong".to_owned(),
    }
}

/// `wolkvox-exporter check`: one call per operation, one after the other, with the system
/// clock. Returns what each operation answered.
pub async fn check(config: Config) -> Result<Vec<CheckResult>, Error> {
    let clock = clock_for(&config);
    let (_simulator, demo) = match start_demo(&config, &clock).await? {
        Some((sim, url, token)) => (Some(sim), Some((url, token))),
        None => (None, None),
    };
    let mut out = Vec::new();
    for op in &config.operations {
        let (base_url, token, _) = endpoint(op, demo.as_ref()).ok_or(Error::NoDemo)?;
        let client = wolkvox::Client::new(&base_url, &op.server, &token, op.poll_timeout)?
            .with_max_body(config.max_body_size);
        let window = op.window.resolve(clock.now(), &op.timezone);
        let classified =
            wolkvox::classify(client.fetch(&window).await, op.time_unit, config.max_series);
        let rows = classified
            .report
            .as_ref()
            .map(|r| {
                r.series
                    .iter()
                    .map(|s| CheckRow {
                        rp_id: s.rp_id.to_string(),
                        cod_opc_menu: s.cod_opc_menu.to_string(),
                        calls: s.calls,
                        time_seconds: s.time_seconds,
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(CheckResult {
            operation: op.name.clone(),
            server: op.server.as_str().to_owned(),
            result: classified.result.as_str().to_owned(),
            ok: classified.result.is_up(),
            detail: classified.detail,
            advice: advice(classified.result, op.server.as_str()),
            date_ini: window.date_ini(),
            date_end: window.date_end(),
            rows,
        });
    }
    Ok(out)
}

/// Renders `check` results as readable tables.
pub fn render_check_table(results: &[CheckResult]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in results {
        let _ = writeln!(
            out,
            "operation {} (server {}), {} to {}: {}",
            r.operation, r.server, r.date_ini, r.date_end, r.result
        );
        let _ = writeln!(out, "  Wolkvox answered: {}", r.detail);
        if !r.ok {
            let _ = writeln!(out, "  what to do: {}", r.advice);
        }
        if !r.rows.is_empty() {
            let w_rp = r
                .rows
                .iter()
                .map(|x| x.rp_id.chars().count())
                .max()
                .unwrap_or(0)
                .max(5);
            let w_opt = r
                .rows
                .iter()
                .map(|x| x.cod_opc_menu.chars().count())
                .max()
                .unwrap_or(0)
                .max(12);
            let _ = writeln!(
                out,
                "  {:<w_rp$}  {:<w_opt$}  {:>10}  {:>12}",
                "rp_id", "cod_opc_menu", "calls", "time (s)"
            );
            for x in &r.rows {
                let _ = writeln!(
                    out,
                    "  {:<w_rp$}  {:<w_opt$}  {:>10}  {:>12}",
                    x.rp_id, x.cod_opc_menu, x.calls, x.time_seconds
                );
            }
        }
        out.push('\n');
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    let _ = writeln!(
        out,
        "{} of {} operations answered",
        results.len() - failed,
        results.len()
    );
    out
}
