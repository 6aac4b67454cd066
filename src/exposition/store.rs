//! The [`Store`]: the snapshot that scrapes load without a lock, and the latest metrics of
//! every operation, from which the next snapshot is encoded and swapped in whole.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
#[cfg(any(test, feature = "test-util"))]
use tokio::sync::watch;

use super::{OperationMetrics, ReloadStatus, Snapshot};

/// Holds the current snapshot, and the latest metrics of every operation it is made of.
/// Scrapes load the snapshot without a lock; a poller hands in its operation's metrics, and the
/// whole exposition is encoded again (families must stay grouped across operations) and
/// swapped in.
#[derive(Debug)]
pub struct Store {
    current: ArcSwap<Snapshot>,
    /// Polls published so far: tests wait on it instead of on the clock.
    #[cfg(any(test, feature = "test-util"))]
    polls: watch::Sender<u64>,
    state: Mutex<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    operations: BTreeMap<String, OperationMetrics>,
    reload: Option<ReloadStatus>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: not ready, self-metrics only.
    pub fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::encode(false, &[])),
            #[cfg(any(test, feature = "test-util"))]
            polls: watch::Sender::new(0),
            state: Mutex::new(StoreState::default()),
        }
    }

    /// The snapshot to serve now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreState> {
        // Only encoding happens under this lock; a panic there leaves consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rebuild(&self, state: &StoreState) {
        let ops: Vec<OperationMetrics> = state.operations.values().cloned().collect();
        // A shard may own no operation of the file: with nothing to poll it is ready.
        let ready = ops.iter().all(|o| o.polled);
        self.current
            .store(Arc::new(Snapshot::encode_with(ready, &ops, state.reload)));
    }

    /// Adds or replaces an operation's metrics without counting a poll (start, reload).
    pub fn register(&self, metrics: OperationMetrics) {
        let mut state = self.lock();
        state.operations.insert(metrics.operation.clone(), metrics);
        self.rebuild(&state);
    }

    /// Replaces an operation's metrics after a poll.
    pub fn publish(&self, metrics: OperationMetrics) {
        {
            let mut state = self.lock();
            state.operations.insert(metrics.operation.clone(), metrics);
            self.rebuild(&state);
        }
        #[cfg(any(test, feature = "test-util"))]
        self.polls.send_modify(|n| *n += 1);
    }

    /// Removes an operation: its series leave /metrics.
    pub fn remove(&self, operation: &str) {
        let mut state = self.lock();
        state.operations.remove(operation);
        self.rebuild(&state);
    }

    /// Records the outcome of a configuration (re)load.
    pub fn set_reload(&self, status: ReloadStatus) {
        let mut state = self.lock();
        state.reload = Some(status);
        self.rebuild(&state);
    }

    /// The last reload status, when a configuration file is in use.
    pub fn reload_status(&self) -> Option<ReloadStatus> {
        self.lock().reload
    }

    /// Polls finished so far, and a way to wait for more (for tests).
    #[cfg(any(test, feature = "test-util"))]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polls.subscribe()
    }
}
