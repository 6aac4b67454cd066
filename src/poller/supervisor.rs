//! Starts, stops and reloads the pollers: one task per operation, and the reload of
//! `--config.file` on SIGHUP or when the file changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::config::file::read_files;
use crate::config::names::Names;
use crate::config::{Config, OperationConfig};
use crate::demo::{self, Demo};
use crate::exposition::Store;
use crate::poller::Poller;
use crate::sys::clock::Clock;
use crate::sys::signals::Hangups;
use crate::upstream::HttpClients;

/// How often the configuration file is checked for changes.
pub const CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// A poller that runs, and what it was started with.
struct Running {
    config: OperationConfig,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Owns the pollers: builds them at start, runs them, and applies reloads of the
/// configuration file.
pub struct Supervisor {
    /// The configuration at start: its settings hold for every poller, whatever reloads bring.
    globals: Arc<Config>,
    /// The names `--demo` gives its operations, under the files' names.
    builtin_names: Names,
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    demo: Option<Demo>,
    /// The HTTP clients that every poller, from the start and from reloads, calls through.
    http: HttpClients,
    /// Built, registered in the store, not started yet, with the wait before the first poll.
    pending: Vec<(Poller, Duration)>,
    running: BTreeMap<String, Running>,
    root: CancellationToken,
    hangups: Hangups,
}

impl Supervisor {
    /// Builds a poller for every operation of `config` and registers it in `store`, so that
    /// /metrics shows the self-metrics (up 0, counters 0) before the first poll.
    pub fn new(
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Arc<Store>,
        demo: Option<Demo>,
    ) -> Result<Self, Error> {
        let mut supervisor = Self {
            builtin_names: demo::names::with_builtin(config, &Names::default()),
            globals: Arc::new(config.clone()),
            clock,
            store,
            demo,
            http: HttpClients::default(),
            pending: Vec::with_capacity(config.operations.len()),
            running: BTreeMap::new(),
            root: CancellationToken::new(),
            // Listen for SIGHUP from the start: its default action would end the process.
            hangups: Hangups::listen(),
        };
        let count = config.operations.len() as u32;
        for (i, op) in config.operations.iter().enumerate() {
            let delay = first_poll_delay(config, op, i as u32, count);
            let poller = supervisor.build(op, delay)?;
            supervisor.pending.push((poller, delay));
        }
        // In one call: the store lays out the parts of all operations once, not once each.
        let metrics = supervisor
            .pending
            .iter()
            .map(|(poller, _)| poller.metrics.clone());
        supervisor.store.register_all(metrics);
        let operations = config.operations.iter().map(|o| o.name.as_str());
        supervisor.publish_names(&config.names, operations);
        if config.config_file.is_some() || config.names_file.is_some() {
            supervisor.reloaded();
        }
        Ok(supervisor)
    }

    /// Starts every poller, then applies reloads until `stop` fires; then stops every poller
    /// and waits for it. The pollers return as soon as they see the cancellation, even in the
    /// middle of a request.
    pub async fn run(mut self, stop: CancellationToken) {
        for (poller, delay) in std::mem::take(&mut self.pending) {
            self.start(poller, delay);
        }
        let globals = self.globals.clone();
        let files = [&globals.config_file, &globals.names_file];
        let read = || files.map(|f| f.as_ref().and_then(|f| std::fs::read(f).ok()));
        let mut last_text = read();
        let mut check = tokio::time::interval(CONFIG_CHECK_INTERVAL);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let reason = tokio::select! {
                () = stop.cancelled() => break,
                () = self.hangups.next() => "SIGHUP",
                _ = check.tick() => {
                    if read() == last_text {
                        continue;
                    }
                    "the file changed"
                }
            };
            last_text = read();
            self.reload(reason).await;
        }
        self.root.cancel();
        for (_, r) in std::mem::take(&mut self.running) {
            r.cancel.cancel();
            let _ = r.task.await;
        }
    }

    /// Applies the file again: removed operations stop and leave /metrics, added ones start,
    /// changed ones restart, unchanged ones keep running with their state. A file that does
    /// not validate changes nothing.
    async fn reload(&mut self, reason: &str) {
        let globals = self.globals.clone();
        let (config_file, names_file) = (
            globals.config_file.as_deref(),
            globals.names_file.as_deref(),
        );
        if config_file.is_none() && names_file.is_none() {
            tracing::warn!(reason, "reload asked for, but no --config.file is in use");
            return;
        }
        let env = |name: &str| std::env::var(name).ok();
        // Both files or neither: a refused names file keeps the running operations too.
        let (operations, names) = match read_files(config_file, names_file, &env) {
            Ok(loaded) => loaded,
            Err((_, e)) => {
                tracing::error!(reason, error = %e, "configuration reload refused; the running configuration stays");
                // The store keeps the status: the last success (and what it applied) stays.
                self.store.update_reload(|r| r.successful = false);
                return;
            }
        };
        let Some(operations) = operations else {
            self.publish_names(&names, self.running.keys().map(String::as_str));
            tracing::info!(reason, "names reloaded");
            self.reloaded();
            return;
        };
        let operations = crate::config::select_shard(operations, globals.shard);
        let wanted: BTreeMap<String, OperationConfig> = operations
            .into_iter()
            .map(|o| (o.name.clone(), o))
            .collect();
        self.publish_names(&names, wanted.keys().map(String::as_str));
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
            }
        }
        // Stopped pollers publish no more; their series leave in one change of the store.
        self.store
            .remove_all(&stale.iter().map(String::as_str).collect::<Vec<_>>());
        // What still runs is what the file keeps unchanged.
        let kept = self.running.len();
        let mut built = Vec::new();
        for (name, op) in wanted
            .iter()
            .filter(|(name, _)| !self.running.contains_key(*name))
        {
            match self.build(op, Duration::ZERO) {
                Ok(poller) => built.push(poller),
                Err(e) => {
                    tracing::error!(operation = %name, error = %e, "cannot start the operation")
                }
            }
        }
        // Registered in one call, and before they start: a first poll must not be replaced
        // by the state before it.
        self.store
            .register_all(built.iter().map(|poller| poller.metrics.clone()));
        let started = built.len();
        for poller in built {
            // Operations added by a reload are few: they start at once.
            self.start(poller, Duration::ZERO);
        }
        tracing::info!(
            reason,
            started,
            stopped = stale.len(),
            unchanged = kept,
            "configuration reloaded"
        );
        self.reloaded();
    }

    fn reloaded(&self) {
        let now = self.clock.now();
        // At start the operations are still pending; after a reload they all run.
        let operations = self.running.len() + self.pending.len();
        let owned = self.globals.shard.map(|_| operations as u64);
        self.store.update_reload(|r| {
            r.successful = true;
            r.last_success = Some(now);
            r.shard_operations = owned;
        });
    }

    /// Publishes the info series of `names` (over the built-in ones) for the operations
    /// polled. Names of other operations are left out with a warning, unless `--shard` gives
    /// them to other processes.
    fn publish_names<'a>(&self, names: &Names, operations: impl IntoIterator<Item = &'a str>) {
        let mut all = self.builtin_names.clone();
        all.merge(names.clone());
        let (polled, others) = all.of_operations(operations);
        if !others.is_empty() {
            let others = others.join(", ");
            if self.globals.shard.is_none() {
                tracing::warn!(operations = %others, "names given for operations that are not polled; they are left out")
            } else {
                tracing::debug!(operations = %others, "names of operations of other shards left out")
            }
        }
        self.store.set_names(polled.info());
    }

    /// The poller of `op`, its first poll shown as due `delay` from now.
    fn build(&self, op: &OperationConfig, delay: Duration) -> Result<Poller, Error> {
        let client = demo::client(
            op,
            self.demo.as_ref(),
            self.globals.max_body_size,
            &self.http,
        )?;
        let (globals, clock, store) =
            (self.globals.clone(), self.clock.clone(), self.store.clone());
        let mut poller = Poller::new(op.clone(), globals, client, clock, store);
        // The status page tells when the first poll is due, not only that there was none.
        poller.metrics.next_poll = self.clock.now().checked_add(delay).ok();
        Ok(poller)
    }

    fn start(&mut self, poller: Poller, delay: Duration) {
        let (config, cancel) = (poller.op.clone(), self.root.child_token());
        let task = tokio::spawn(poller.run(cancel.clone(), delay));
        let running = Running {
            config,
            cancel,
            task,
        };
        self.running.insert(running.config.name.clone(), running);
    }
}

/// When the first poll of the `i`-th of `count` operations starts: spread evenly over
/// `--poll.start-spread` (by default the smaller of its interval and 30s), so that a file of
/// hundreds of operations does not call Wolkvox all at once at start.
fn first_poll_delay(globals: &Config, op: &OperationConfig, i: u32, count: u32) -> Duration {
    let spread = globals.start_spread.unwrap_or_else(|| {
        op.poll_interval
            .min(crate::config::DEFAULT_START_SPREAD_CAP)
    });
    spread.mul_f64(f64::from(i) / f64::from(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServerCode, Token};

    fn globals(start_spread: Option<Duration>) -> Config {
        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        let mut config = Config::new(
            ServerCode::parse("1").unwrap(),
            url,
            Token::new("t").unwrap(),
        );
        config.start_spread = start_spread;
        config
    }

    fn op(interval: Duration) -> OperationConfig {
        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        let mut config = Config::new(
            ServerCode::parse("1").unwrap(),
            url,
            Token::new("t").unwrap(),
        );
        config.operations[0].poll_interval = interval;
        config.operations.remove(0)
    }

    #[tokio::test]
    async fn before_its_first_poll_an_operation_shows_when_that_poll_is_due() {
        let now: jiff::Timestamp = "2026-11-25T15:00:00Z".parse().unwrap();
        let mut config = Config::new(
            ServerCode::parse("1").unwrap(),
            reqwest::Url::parse("http://127.0.0.1:9/").unwrap(),
            Token::new("t").unwrap(),
        );
        let mut second = op(Duration::from_secs(300));
        second.name = "second".into();
        config.operations.push(second);
        let clock: Arc<dyn Clock> = Arc::new(crate::sys::clock::ManualClock::new(now));
        let store = Arc::new(Store::new());
        let _supervisor = Supervisor::new(&config, clock, store.clone(), None).unwrap();
        let due: Vec<_> = store
            .operations()
            .into_iter()
            .map(|o| (o.operation, o.polled, o.next_poll))
            .collect();
        // Spread over 30 s: the first at once, the second 15 s later.
        let in_secs = |s| Some(now + jiff::SignedDuration::from_secs(s));
        assert_eq!(
            due,
            [
                (config.operations[0].name.clone(), false, in_secs(0)),
                ("second".to_owned(), false, in_secs(15)),
            ]
        );
    }

    #[test]
    fn first_polls_spread_evenly_over_the_smaller_of_interval_and_30s_unless_zero() {
        let secs = Duration::from_secs;
        let delays = |g: &Config, interval| -> Vec<Duration> {
            (0..4)
                .map(|i| first_poll_delay(g, &op(interval), i, 4))
                .collect()
        };
        // Default: 30 s for a 5 min interval, the interval itself when shorter.
        assert_eq!(
            delays(&globals(None), secs(300)),
            [
                secs(0),
                Duration::from_millis(7500),
                secs(15),
                Duration::from_millis(22_500)
            ]
        );
        assert_eq!(
            delays(&globals(None), secs(8)),
            [secs(0), secs(2), secs(4), secs(6)]
        );
        // Given explicitly, whatever the interval; 0 starts every operation at once.
        assert_eq!(
            delays(&globals(Some(secs(4))), secs(300)),
            [secs(0), secs(1), secs(2), secs(3)]
        );
        assert_eq!(
            delays(&globals(Some(Duration::ZERO)), secs(300)),
            [Duration::ZERO; 4]
        );
    }
}
