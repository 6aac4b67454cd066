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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use axum::Router;
use tower::Service as _;

use crate::config::Limits;

/// How long connections get to finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// One open connection, as the accept loop sees it.
#[derive(Debug, Default)]
struct Slot {
    /// Set once the connection's first request has arrived.
    spoke: AtomicBool,
    close: CancellationToken,
}

/// The open connections, oldest first.
type Open = Mutex<VecDeque<Arc<Slot>>>;

fn lock(open: &Open) -> MutexGuard<'_, VecDeque<Arc<Slot>>> {
    // The list is only pushed to and searched: a panic cannot leave it inconsistent.
    open.lock().unwrap_or_else(|e| e.into_inner())
}

/// Closes the oldest connection that has not sent a request yet; false when there is none.
fn evict_oldest_silent(open: &Open) -> bool {
    let mut open = lock(open);
    let silent = open.iter().position(|s| !s.spoke.load(Ordering::Relaxed));
    let slot = silent.and_then(|i| open.remove(i));
    slot.map(|s| s.close.cancel()).is_some()
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
) {
    let open = Arc::new(Open::default());
    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            // EMFILE (the process's limit) and ENFILE (the system's), on Linux and the BSDs.
            Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                // Make room, or wait for a connection to end, rather than spin on accept.
                if !evict_oldest_silent(&open) {
                    tokio::select! {
                        () = &mut stopped => break,
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
                continue;
            }
            // A connection that failed before it was accepted (reset by the client).
            Err(_) => continue,
        };
        if lock(&open).len() >= limits.max_connections && !evict_oldest_silent(&open) {
            // Every open connection is busy or kept alive by a client that has spoken:
            // refuse the newcomer.
            drop(tcp);
            continue;
        }
        // TCP_NODELAY, as nginx sets it: /metrics sends a body in several parts, and Nagle's
        // algorithm holds a short part back until the client's delayed ACK. A socket that
        // refuses the option still serves, only slower.
        let _ = tcp.set_nodelay(true);
        let slot = Arc::new(Slot::default());
        lock(&open).push_back(slot.clone());
        // Each connection takes the TLS configuration in force when it arrives: a rotated
        // certificate applies to the connections that follow.
        let tls = tls
            .as_ref()
            .map(|config| TlsAcceptor::from(config.load_full()));
        let (app, open, stop) = (app.clone(), open.clone(), stop.clone());
        tracker.spawn(async move {
            serve_connection(tcp, app, tls, limits, &slot, stop).await;
            lock(&open).retain(|s| !Arc::ptr_eq(s, &slot));
        });
    }
    stop.cancel();
    tracker.close();
    // Connections finish their current request; past the grace they are dropped.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await;
}

/// One connection: the TLS handshake and the first request's headers within the read-header
/// timeout, then requests until the client leaves, idles too long, is evicted (at once) or the
/// server stops (gracefully).
async fn serve_connection(
    tcp: TcpStream,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    slot: &Slot,
    stop: CancellationToken,
) {
    let (spoke, close) = (&slot.spoke, &slot.close);
    let first_deadline = tokio::time::Instant::now() + limits.read_header_timeout;
    let io = match tls {
        None => Either::Left(tcp),
        Some(acceptor) => {
            let handshake = tokio::select! {
                () = close.cancelled() => return,
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(first_deadline) => return,
                handshake = acceptor.accept(tcp) => handshake,
            };
            let Ok(stream) = handshake else { return };
            Either::Right(stream)
        }
    };
    // hyper calls through a shared reference, tower through a mutable one: each request gets
    // a clone of the service (reference counts only). The services served here are always
    // ready (a Router is), so the request is handed over at once.
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        spoke.store(true, Ordering::Relaxed);
        app.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper's header read timer runs whenever the connection waits for a request's
        // headers: for a kept-alive connection that is its idle time.
        .header_read_timeout(limits.idle_timeout);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
    let silent_past_deadline = async {
        tokio::time::sleep_until(first_deadline).await;
        if spoke.load(Ordering::Relaxed) {
            std::future::pending().await
        }
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        () = close.cancelled() => {}
        () = silent_past_deadline => {}
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}
