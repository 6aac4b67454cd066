//! The [`Store`]: the snapshot that scrapes load without a lock, and the encoded parts of
//! every operation, from which the next snapshot is joined and swapped in whole.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
#[cfg(any(test, feature = "test-util"))]
use tokio::sync::watch;

use super::Snapshot;
use super::assembly::Assembly;
use super::parts::OperationParts;
use super::{Globals, OperationMetrics, ReloadStatus, ReportData};
use crate::process::ProcessStats;

/// Holds the current snapshot, and the parts of every operation it is made of. Scrapes load
/// the snapshot without a lock. A poller encodes its operation's parts before taking the lock,
/// so one operation's encoding never holds up another's poll; under the lock the operation's
/// parts replace its old ones (one `Arc`, and the CRC tree in O(families x log parts)) and a
/// snapshot of one `Arc` per operation is swapped in.
#[derive(Debug)]
pub struct Store {
    current: ArcSwap<Snapshot>,
    /// Polls published so far: tests wait on it instead of on the clock.
    #[cfg(any(test, feature = "test-util"))]
    polls: watch::Sender<u64>,
    state: Mutex<Assembly>,
    /// The metrics every operation's parts were encoded from, by name, for the status page.
    /// Changed under the `state` lock, so that it lists what the snapshot does.
    operations: Mutex<BTreeMap<String, OperationMetrics>>,
}

/// Replaces the whole report of `metrics`, just encoded into `parts`, by its thin copy.
fn thin(metrics: &mut OperationMetrics, parts: &OperationParts) {
    if let Some(data) = &mut metrics.data
        && !data.is_thin()
    {
        *data = Arc::new(data.thin(parts.report_families()));
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: not ready, self-metrics only.
    pub fn new() -> Self {
        let assembly = Assembly::new(Globals::default());
        Self {
            current: ArcSwap::from_pointee(assembly.snapshot(false)),
            #[cfg(any(test, feature = "test-util"))]
            polls: watch::Sender::new(0),
            state: Mutex::new(assembly),
            operations: Mutex::new(BTreeMap::new()),
        }
    }

    /// The snapshot to serve now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Runs `change` under the lock and swaps in the snapshot it leads to. The lock keeps
    /// snapshots in the order of their changes.
    fn change(&self, change: impl FnOnce(&mut Assembly)) {
        // Only joining happens under this lock; a panic there leaves consistent data.
        let mut assembly = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut assembly);
        let ready = assembly.ready();
        let previous = self.current.swap(Arc::new(assembly.snapshot(ready)));
        drop(assembly);
        // Freeing what only the previous snapshot held (a replaced operation's parts) is
        // work that need not hold up other polls.
        drop(previous);
    }

    /// Adds or replaces an operation's metrics without counting a poll (start, reload).
    pub fn register(&self, metrics: OperationMetrics) {
        self.register_all([metrics]);
    }

    /// Adds or replaces the metrics of several operations at once: laying out the parts of
    /// all operations again is paid once, not once per operation.
    pub fn register_all(&self, metrics: impl IntoIterator<Item = OperationMetrics>) {
        let (mut kept, mut parts) = (Vec::new(), Vec::new());
        for mut m in metrics {
            let p = OperationParts::encode(&m);
            thin(&mut m, &p);
            kept.push(m);
            parts.push(p);
        }
        self.change(|a| {
            a.insert(parts);
            self.keep(kept);
        });
    }

    /// Replaces an operation's metrics after a poll: encodes that operation's parts, then
    /// swaps in a snapshot that joins them with the other operations' parts.
    ///
    /// Returns the thin copy of the report data that the store keeps from now on: the caller
    /// keeps it instead of the whole report, and publishing it again reuses its encoded parts.
    pub fn publish(&self, mut metrics: OperationMetrics) -> Option<Arc<ReportData>> {
        let parts = OperationParts::encode(&metrics);
        thin(&mut metrics, &parts);
        let data = metrics.data.clone();
        self.change(|a| {
            a.insert(vec![parts]);
            self.keep([metrics]);
        });
        #[cfg(any(test, feature = "test-util"))]
        self.polls.send_modify(|n| *n += 1);
        data
    }

    /// Removes an operation: its series leave /metrics.
    pub fn remove(&self, operation: &str) {
        self.remove_all(&[operation]);
    }

    /// Removes several operations at once.
    pub fn remove_all(&self, operations: &[&str]) {
        self.change(|a| {
            a.remove(operations);
            let mut kept = self.operations.lock().unwrap_or_else(|e| e.into_inner());
            for name in operations {
                kept.remove(*name);
            }
        });
    }

    /// Keeps `metrics` for the status page (called under the `state` lock).
    fn keep(&self, metrics: impl IntoIterator<Item = OperationMetrics>) {
        // Only map inserts happen under this lock; a panic there leaves consistent data.
        let mut kept = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        for m in metrics {
            kept.insert(m.operation.clone(), m);
        }
    }

    /// Every operation's metrics as of its last poll, in the order of names: what the status
    /// page shows. Cheap clones: the report is shared.
    pub fn operations(&self) -> Vec<OperationMetrics> {
        let kept = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        kept.values().cloned().collect()
    }

    /// Records the outcome of a configuration (re)load.
    pub fn set_reload(&self, status: ReloadStatus) {
        self.change(|a| a.set_reload(status));
    }

    /// Changes part of the reload status (the configuration file's, or the web
    /// configuration's), under the lock, so that neither overwrites the other.
    pub fn update_reload(&self, update: impl FnOnce(&mut ReloadStatus)) {
        self.change(|a| {
            let mut status = a.reload().unwrap_or_default();
            update(&mut status);
            a.set_reload(status);
        });
    }

    /// Records a reading of the process metrics: only the exporter's own parts are encoded
    /// again, and scrapes keep serving prebuilt bytes.
    pub fn set_process(&self, process: ProcessStats) {
        self.change(|a| a.set_process(process));
    }

    /// The last reload status, when a configuration file is in use.
    pub fn reload_status(&self) -> Option<ReloadStatus> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reload()
    }

    /// Polls finished so far, and a way to wait for more (for tests).
    #[cfg(any(test, feature = "test-util"))]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polls.subscribe()
    }
}

/// Scrapes send a joined body from its file: found in the current snapshot by address. A body
/// of an older snapshot (swapped while its response was written) is not found, and is written
/// as it is.
impl crate::sendfile::BodyFiles for Store {
    fn find(
        &self,
        slices: &[std::io::IoSlice<'_>],
    ) -> Option<(usize, Arc<crate::sendfile::BodyFile>, u64)> {
        let snapshot = self.current.load();
        let bodies =
            [&snapshot.text, &snapshot.openmetrics].map(|e| [e.plain_parts(), e.gzip_parts()]);
        slices.iter().enumerate().find_map(|(i, slice)| {
            bodies
                .iter()
                .flatten()
                .find_map(|parts| parts.file_at(slice))
                .map(|(file, at)| (i, file.clone(), at))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::collector::reference;
    use crate::exposition::fixtures::{
        PROCESS, assorted_operations, counters_of, grid, gunzip, op_with,
    };

    /// The store's snapshot against prometheus-client writing all of `ops` (in name order).
    fn assert_serves(store: &Store, ops: &[OperationMetrics], globals: Globals) {
        let mut ops = ops.to_vec();
        ops.sort_by(|a, b| a.operation.cmp(&b.operation));
        let (text, om) = reference(&ops, globals);
        let snap = store.current();
        assert_eq!(std::str::from_utf8(&snap.text.plain()).unwrap(), text);
        assert_eq!(std::str::from_utf8(&snap.openmetrics.plain()).unwrap(), om);
        assert_eq!(gunzip(&snap.text.gzip()), text.as_bytes());
        assert_eq!(gunzip(&snap.openmetrics.gzip()), om.as_bytes());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_joined_bodies_of_the_current_snapshot_are_found_with_their_files_and_no_other() {
        use crate::sendfile::{BodyFiles, SENDFILE_FROM, SENDFILE_UP_TO};
        use std::io::{IoSlice, Read, Seek, SeekFrom};
        let store = Store::new();
        // 150 series: plain bodies of about 60 kB, which get a file; gzip ones of a few, which
        // do not.
        let series = grid(150, 3);
        let mut op = op_with(series.clone());
        op.counters = Some(counters_of(&series));
        store.publish(op.clone());
        let snap = store.current();
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        for encoded in [&snap.text, &snap.openmetrics] {
            let body = encoded.plain_parts().one().expect("joined").clone();
            assert!(
                (SENDFILE_FROM..=SENDFILE_UP_TO).contains(&body.len()),
                "{} bytes",
                body.len()
            );
            let (i, file, at) = store
                .find(&[IoSlice::new(&head), IoSlice::new(&body[10..])])
                .expect("found");
            assert_eq!((i, at), (1, 10));
            let mut f = &file.file;
            f.seek(SeekFrom::Start(at)).unwrap();
            let mut rest = Vec::new();
            f.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, &body[10..]);
            // The same bytes elsewhere are not the body.
            let copy: Vec<u8> = body.iter().copied().collect();
            assert!(store.find(&[IoSlice::new(&copy)]).is_none());
            // A short body is written as it is.
            let gzip = encoded.gzip_parts().one().expect("joined").clone();
            assert!(gzip.len() < SENDFILE_FROM);
            assert!(store.find(&[IoSlice::new(&gzip)]).is_none());
        }
        // Once another snapshot is current, the old one's bodies are written as they are.
        let old = snap.text.plain_parts().one().unwrap().clone();
        op.api_requests += 1;
        store.publish(op);
        assert!(store.find(&[IoSlice::new(&old)]).is_none());
    }

    #[test]
    fn the_status_page_sees_the_last_published_metrics_of_the_operations_still_there() {
        let store = Store::new();
        let ops = assorted_operations();
        store.register_all(ops.clone());
        let mut polled = ops[1].clone();
        polled.api_requests = 42;
        store.publish(polled);
        store.remove(&ops[0].operation);
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
        assert!(thin.is_thin());
        assert_eq!(thin.series(), 120);
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
        // A poll changes one operation: its families' samples, the presence of a family
        // (token gauges) and the HELP texts (intervals now shared) change with it.
        ops[2].token_info = None;
        ops[2].polled = true;
        ops[2].up = false;
        ops[2].poll_interval = std::time::Duration::from_secs(300);
        ops[1].poll_interval = std::time::Duration::from_secs(300);
        store.publish(ops[2].clone());
        store.publish(ops[1].clone());
        assert_serves(&store, &ops, Globals::default());
        let reload = ReloadStatus {
            successful: false,
            last_success: Some("2026-11-25T09:00:00Z".parse().unwrap()),
            shard_operations: Some(1),
            web_config: None,
        };
        store.set_reload(reload);
        let mut globals = Globals {
            reload: Some(reload),
            process: None,
        };
        assert_serves(&store, &ops, globals);
        // The process metrics change outside any poll: served at once, no poll counted.
        let polls = *store.subscribe().borrow();
        store.set_process(PROCESS);
        globals.process = Some(PROCESS);
        assert_serves(&store, &ops, globals);
        let later = ProcessStats {
            cpu_seconds: PROCESS.cpu_seconds + 0.01,
            open_fds: PROCESS.open_fds + 1,
            ..PROCESS
        };
        store.set_process(later);
        globals.process = Some(later);
        assert_serves(&store, &ops, globals);
        assert_eq!(*store.subscribe().borrow(), polls);
        store.remove(&ops[0].operation);
        assert_serves(&store, &ops[1..], globals);
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
