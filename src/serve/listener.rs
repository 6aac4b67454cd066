//! The listener: accepts connections within limits, shakes hands for TLS, and serves each
//! connection with hyper, so that slow or hostile clients cannot take `/metrics` down.
//!
//! Three limits, as servers in this ecosystem have them:
//! - a new connection must complete its TLS handshake and send its first request's headers
//!   within `--web.read-header-timeout`;
//! - a kept-alive connection waiting for its next request is closed after `--web.idle-timeout`
//!   (hyper's header read timer, which runs whenever a connection waits for a request);
//! - at most `--web.max-connections` are open at once. When a new connection arrives at the
//!   limit, the oldest connection that has not yet sent a request is closed to make room:
//!   a client that opens connections and never sends on them only ever evicts its own, while
//!   Prometheus, whose request follows its connect at once, is served. With no such
//!   connection to close, the new one is refused.
//!
//! Running out of file descriptors (EMFILE) while accepting is handled the same way: the
//! oldest silent connection is closed, and accepting resumes.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use axum::Router;
use tower::Service as _;

use crate::Error;

/// How long connections get to finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// The limits of the listener: configuration values, defined with the rest of them.
pub use crate::config::Limits;

/// One open connection, as the accept loop sees it.
#[derive(Debug)]
struct Slot {
    id: u64,
    /// Set once the connection's first request has arrived.
    spoke: Arc<AtomicBool>,
    /// Closes the connection.
    close: CancellationToken,
}

/// The open connections, oldest first.
#[derive(Debug, Default)]
struct Connections {
    open: Mutex<VecDeque<Slot>>,
    next_id: AtomicU64,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Slot>> {
        // The list is only pushed to and searched: a panic cannot leave it inconsistent.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn add(&self) -> (u64, Arc<AtomicBool>, CancellationToken) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (spoke, close) = (Arc::new(AtomicBool::new(false)), CancellationToken::new());
        self.lock().push_back(Slot {
            id,
            spoke: spoke.clone(),
            close: close.clone(),
        });
        (id, spoke, close)
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        if let Some(i) = open.iter().position(|s| s.id == id) {
            open.remove(i);
        }
    }

    /// Closes the oldest connection that has not sent a request yet; false when there is none.
    fn evict_oldest_silent(&self) -> bool {
        let mut open = self.lock();
        match open.iter().position(|s| !s.spoke.load(Ordering::Relaxed)) {
            Some(i) => {
                if let Some(slot) = open.remove(i) {
                    slot.close.cancel();
                }
                true
            }
            None => false,
        }
    }
}

/// Serves `app` on `listener`, plain or with `tls` (the configuration in force, which may be
/// swapped while serving), until `stopped` completes; open connections then get half a second
/// to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    limits: Limits,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let connections = Arc::new(Connections::default());
    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    let on_stop = stop.clone();
    tokio::spawn(async move {
        stopped.await;
        on_stop.cancel();
    });
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) if is_out_of_descriptors(&e) => {
                // Make room, or wait for a connection to end, rather than spin on accept.
                if !connections.evict_oldest_silent() {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
                continue;
            }
            // A connection that failed before it was accepted (reset by the client).
            Err(_) => continue,
        };
        if connections.len() >= limits.max_connections && !connections.evict_oldest_silent() {
            // Every open connection is busy or kept alive by a client that has spoken:
            // refuse the newcomer.
            drop(tcp);
            continue;
        }
        // TCP_NODELAY, as nginx sets it: /metrics sends a body in several parts, and Nagle's
        // algorithm holds a short part back until the client's delayed ACK. A socket that
        // refuses the option still serves, only slower.
        let _ = tcp.set_nodelay(true);
        let (id, spoke, close) = connections.add();
        // Each connection takes the TLS configuration in force when it arrives: a rotated
        // certificate applies to the connections that follow.
        let transport = match &tls {
            Some(config) => Transport::Tls(tokio_rustls::TlsAcceptor::from(config.load_full())),
            None => Transport::Plain,
        };
        let (app, connections, stop) = (app.clone(), connections.clone(), stop.clone());
        tracker.spawn(async move {
            serve_connection(tcp, app, transport, limits, spoke, close, stop).await;
            connections.remove(id);
        });
    }
    tracker.close();
    // Connections finish their current request; past the grace they are dropped.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await;
    Ok(())
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (the process's limit) and ENFILE (the system's), on Linux and the BSDs alike.
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// How a connection is carried.
enum Transport {
    /// Plain TCP.
    Plain,
    /// TLS, shaking hands with this acceptor first.
    Tls(tokio_rustls::TlsAcceptor),
}

/// One connection: the TLS handshake and the first request's headers within the read-header
/// timeout, then requests until the client leaves, idles too long, is evicted or the server
/// stops.
async fn serve_connection(
    tcp: TcpStream,
    app: Router,
    transport: Transport,
    limits: Limits,
    spoke: Arc<AtomicBool>,
    close: CancellationToken,
    stop: CancellationToken,
) {
    let first_deadline = tokio::time::Instant::now() + limits.read_header_timeout;
    let heard = spoke.clone();
    // hyper calls through a shared reference, tower through a mutable one: each request gets
    // a clone of the service (reference counts only). The services served here are always
    // ready (a Router is), so the request is handed over at once.
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        heard.store(true, Ordering::Relaxed);
        app.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper's header read timer runs whenever the connection waits for a request's
        // headers: for a kept-alive connection that is its idle time.
        .header_read_timeout(limits.idle_timeout);
    match transport {
        Transport::Plain => {
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            drive(conn, first_deadline, &spoke, &close, &stop).await;
        }
        Transport::Tls(acceptor) => {
            let handshake = tokio::select! {
                () = close.cancelled() => return,
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(first_deadline) => return,
                handshake = acceptor.accept(tcp) => handshake,
            };
            let Ok(stream) = handshake else { return };
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            drive(conn, first_deadline, &spoke, &close, &stop).await;
        }
    }
}

/// Runs a hyper connection to its end: closed at the first-request deadline if it has not
/// spoken by then, at once when evicted, gracefully when the server stops.
async fn drive<I, S>(
    conn: hyper::server::conn::http1::Connection<I, S>,
    first_deadline: tokio::time::Instant,
    spoke: &AtomicBool,
    close: &CancellationToken,
    stop: &CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = std::pin::pin!(conn);
    let mut deadline_passed = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = close.cancelled() => return,
            () = tokio::time::sleep_until(first_deadline), if !deadline_passed => {
                if !spoke.load(Ordering::Relaxed) {
                    return;
                }
                deadline_passed = true;
            }
            () = stop.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.as_mut().await;
                return;
            }
        }
    }
}
