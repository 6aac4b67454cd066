//! The [`Store`]: the snapshot that scrapes load without a lock, and the encoded parts of
//! every operation, from which the next snapshot is made and swapped in whole.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
#[cfg(any(test, feature = "test-util"))]
use tokio::sync::watch;

use super::{Globals, NameInfo, OperationMetrics, OperationParts, Parts, ReloadStatus};
use super::{ReportData, Snapshot};
use crate::sys::process::ProcessStats;

/// Holds the current snapshot, and the parts of every operation it is made of. Scrapes load
/// the snapshot without a lock. A poller encodes its operation's parts before taking the lock,
/// so one operation's encoding never holds up another's poll; under the lock the operation's
/// parts replace its old ones and a snapshot of one `Arc` per operation is swapped in.
#[derive(Debug)]
pub struct Store {
    current: ArcSwap<Snapshot>,
    /// Polls published so far: tests wait on it instead of on the clock.
    #[cfg(any(test, feature = "test-util"))]
    polls: watch::Sender<u64>,
    /// What the exporter's own families read. Every change holds its lock while it makes the
    /// next snapshot from the current one, which keeps snapshots in the order of their changes.
    globals: Mutex<Globals>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: not ready, self-metrics only.
    pub fn new() -> Self {
        let globals = Arc::new(Parts::encode(&[], &Globals::default(), None));
        Self {
            current: ArcSwap::from_pointee(Snapshot::of(false, Vec::new(), globals)),
            #[cfg(any(test, feature = "test-util"))]
            polls: watch::Sender::new(0),
            globals: Mutex::default(),
        }
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Runs `change` on the current snapshot's operations (in the order of their names), and,
    /// when it returns true, encodes the exporter's own parts again; swaps in the snapshot
    /// that this leads to.
    fn change(&self, change: impl FnOnce(&mut Vec<Arc<OperationParts>>, &mut Globals) -> bool) {
        // Only pointer work happens under this lock; a panic there leaves consistent data.
        let mut globals = self.globals.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let mut ops = current.ops.clone();
        let parts = match change(&mut ops, &mut globals) {
            true => Arc::new(Parts::encode(&[], &globals, None)),
            false => current.globals.clone(),
        };
        // A shard that owns no operation of the file has nothing to poll: once its (empty)
        // set is registered, it is ready.
        let ready = ops.iter().all(|o| o.metrics.polled);
        let previous = self.current.swap(Arc::new(Snapshot::of(ready, ops, parts)));
        drop(globals);
        // Freeing what only the previous snapshot held (a replaced operation's parts) is
        // work that need not hold up other polls.
        drop((current, previous));
    }

    /// Adds or replaces operations' parts, keeping them in the order of their names.
    fn insert(&self, parts: Vec<OperationParts>) {
        self.change(|ops, _| {
            for new in parts {
                let name = &new.metrics.operation;
                match ops.binary_search_by(|o| o.metrics.operation.cmp(name)) {
                    Ok(i) => ops[i] = Arc::new(new),
                    Err(i) => ops.insert(i, Arc::new(new)),
                }
            }
            false
        });
    }

    /// Changes what the exporter's own families read: only their parts are encoded again, and
    /// no operation's series change.
    fn set_globals(&self, change: impl FnOnce(&mut Globals)) {
        self.change(|_, globals| {
            change(globals);
            true
        });
    }

    /// Adds or replaces the metrics of operations without counting a poll (start, reload):
    /// laying out the parts of all operations again is paid once, not once per operation.
    pub fn register_all(&self, metrics: impl IntoIterator<Item = OperationMetrics>) {
        self.insert(metrics.into_iter().map(OperationParts::encode).collect());
    }

    /// Replaces an operation's metrics after a poll: encodes that operation's parts, then
    /// swaps in a snapshot that joins them with the other operations' parts.
    ///
    /// Returns the thin copy of the report data that the store keeps from now on: the caller
    /// keeps it instead of the whole report, and publishing it again reuses its encoded parts.
    pub fn publish(&self, metrics: OperationMetrics) -> Option<Arc<ReportData>> {
        let parts = OperationParts::encode(metrics);
        let data = parts.metrics.data.clone();
        self.insert(vec![parts]);
        #[cfg(any(test, feature = "test-util"))]
        self.polls.send_modify(|n| *n += 1);
        data
    }

    /// Removes operations: their series leave /metrics.
    pub fn remove_all(&self, operations: &[&str]) {
        self.change(|ops, _| {
            ops.retain(|o| !operations.contains(&o.metrics.operation.as_str()));
            false
        });
    }

    /// Every operation's metrics as of its last poll, in the order of names: what the status
    /// page shows, as the snapshot served now has them. Cheap clones: the report is shared.
    pub fn operations(&self) -> Vec<OperationMetrics> {
        let current = self.current();
        current.ops.iter().map(|o| o.metrics.clone()).collect()
    }

    /// Changes part of the reload status (the configuration file's, or the web
    /// configuration's), under the lock, so that neither overwrites the other.
    pub fn update_reload(&self, update: impl FnOnce(&mut ReloadStatus)) {
        self.set_globals(|g| {
            let mut status = g.reload.unwrap_or_default();
            update(&mut status);
            g.reload = Some(status);
        });
    }

    /// Records a reading of the process metrics: scrapes keep serving prebuilt bytes.
    pub fn set_process(&self, process: ProcessStats) {
        self.set_globals(|g| g.process = Some(process));
    }

    /// Sets the rows of the info series that name routing points and options.
    pub fn set_names(&self, names: NameInfo) {
        let names = (names != NameInfo::default()).then(|| Arc::new(names));
        self.set_globals(|g| g.names = names);
    }

    /// Polls finished so far, and a way to wait for more (for tests).
    #[cfg(any(test, feature = "test-util"))]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polls.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::fixtures::{
        PROCESS, assert_encodes, assorted_operations, grid, op_with,
    };

    /// The store's snapshot against prometheus-client writing all of `ops` (in name order).
    fn assert_serves(store: &Store, ops: &[OperationMetrics], globals: Globals) {
        let mut ops = ops.to_vec();
        ops.sort_by(|a, b| a.operation.cmp(&b.operation));
        assert_encodes(&store.current(), &ops, globals);
    }

    #[test]
    fn the_status_page_sees_the_last_published_metrics_of_the_operations_still_there() {
        let store = Store::new();
        let ops = assorted_operations();
        store.register_all(ops.clone());
        let mut polled = ops[1].clone();
        polled.api_requests = 42;
        store.publish(polled);
        store.remove_all(&[&ops[0].operation]);
        let seen = store.operations();
        let mut names: Vec<_> = ops[1..].iter().map(|o| o.operation.clone()).collect();
        names.sort();
        assert_eq!(
            seen.iter().map(|o| o.operation.clone()).collect::<Vec<_>>(),
            names
        );
        let again = seen.iter().find(|o| o.operation == ops[1].operation);
        assert_eq!(again.map(|o| o.api_requests), Some(42));
    }

    #[test]
    fn a_published_report_is_kept_thin_and_its_thin_copy_serves_the_same_series_again() {
        let store = Store::new();
        let series = grid(120, 4);
        let op = op_with(series.clone());
        let thin = store.publish(op.clone()).expect("the report's data");
        assert!(thin.encoded.is_some());
        assert_eq!(thin.series, 120);
        assert_eq!(thin.report.series, series[..ReportData::HEAD]);
        assert_eq!(thin.report.rows, 120);
        assert_serves(&store, std::slice::from_ref(&op), Globals::default());
        // The status page's copy is the thin one: the whole report is no longer held.
        let kept = store.operations();
        assert!(Arc::ptr_eq(kept[0].data.as_ref().unwrap(), &thin));
        // A failed poll within --poll.keep-stale publishes the thin copy: the same data series,
        // the other families as the poll left them.
        let mut failed = op.clone();
        failed.data = Some(thin.clone());
        failed.up = false;
        let again = store.publish(failed).expect("the data stay");
        assert!(Arc::ptr_eq(&again, &thin));
        let mut expected = op;
        expected.up = false;
        assert_serves(&store, &[expected], Globals::default());
    }

    #[test]
    fn publishing_one_operation_at_a_time_serves_what_encoding_all_of_them_would() {
        let store = Store::new();
        assert_serves(&store, &[], Globals::default());
        let mut ops = assorted_operations();
        store.register_all(ops[..2].to_vec());
        assert_serves(&store, &ops[..2], Globals::default());
        store.publish(ops[2].clone());
        assert_serves(&store, &ops, Globals::default());
        // A poll changes one operation: its families' samples and the presence of a family
        // (token gauges) change with it.
        ops[2].token_info = None;
        ops[2].polled = true;
        ops[2].up = false;
        store.publish(ops[2].clone());
        store.publish(ops[1].clone());
        assert_serves(&store, &ops, Globals::default());
        let reload = ReloadStatus {
            successful: false,
            last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
            shard_operations: Some(1),
            web_config: None,
        };
        store.update_reload(|r| *r = reload);
        let mut globals = Globals {
            reload: Some(reload),
            ..Globals::default()
        };
        assert_serves(&store, &ops, globals.clone());
        // The process metrics change outside any poll: served at once, no poll counted.
        let polls = *store.subscribe().borrow();
        store.set_process(PROCESS);
        globals.process = Some(PROCESS);
        assert_serves(&store, &ops, globals.clone());
        let later = ProcessStats {
            cpu_seconds: PROCESS.cpu_seconds + 0.01,
            open_fds: PROCESS.open_fds + 1,
            ..PROCESS
        };
        store.set_process(later);
        globals.process = Some(later);
        assert_serves(&store, &ops, globals.clone());
        // So do the names: their info series, encoded with the exporter's own families.
        let names = NameInfo {
            routing_points: vec![["0032", "1001", "Main \"menu\""].map(String::from).into()],
            options: vec![
                ["0032", "1001", "1", "Billing", "self_service"]
                    .map(String::from)
                    .into(),
            ],
        };
        store.set_names(names.clone());
        globals.names = Some(Arc::new(names));
        assert_serves(&store, &ops, globals.clone());
        assert_eq!(*store.subscribe().borrow(), polls);
        store.remove_all(&[&ops[0].operation]);
        assert_serves(&store, &ops[1..], globals.clone());
        assert!(!store.current().ready);
        for op in &mut ops[1..] {
            op.polled = true;
            store.publish(op.clone());
        }
        assert!(store.current().ready);
        store.remove_all(&[&ops[1].operation, &ops[2].operation]);
        assert_serves(&store, &[], globals);
    }
}
