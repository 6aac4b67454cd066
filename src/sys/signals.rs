//! Every signal the process handles, in one place: SIGTERM and SIGINT stop it, SIGHUP reloads
//! `--config.file`.
//!
//! A handler must be installed before the signal arrives: SIGHUP's default action ends the
//! process, so [`Hangups::listen`] is called when the exporter is set up, not when the first
//! reload is wanted.

/// Completes at the first SIGTERM or SIGINT (Ctrl-C). A signal that cannot be listened for
/// (no such signal on the platform) simply never completes.
pub async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("signal received, shutting down");
}

/// SIGHUPs, as a stream of reload requests.
#[derive(Debug)]
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Starts listening for SIGHUP (inside a tokio runtime). Where it cannot be listened for,
    /// no reload request ever arrives, and the file is still watched for changes.
    pub fn listen() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    /// Completes at the next SIGHUP.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending().await
    }
}
