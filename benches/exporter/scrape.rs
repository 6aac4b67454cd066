//! The cost of one scrape inside the process: the router's handler from request to the last
//! byte of the body, with no socket. It must not depend on the size of the exposition, since a
//! scrape hands out the bytes that the poll encoded; the bodies are checked to be those very
//! bytes (the same allocations, segment by segment), not copies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::Request;
use http_body::Body as _;
use tower::ServiceExt as _;
use wolkvox_exporter::serve::router::router;

/// Median time of one scrape, plain and gzip, and whether every body shared the snapshot's
/// allocation.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// Data series.
    pub series: usize,
    /// Plain body.
    pub plain: Duration,
    /// Gzip body.
    pub gzip: Duration,
    /// Every body pointed into the snapshot's own bytes.
    pub zero_copy: bool,
}

/// Measures `rounds` samples of `per_sample` scrapes each.
pub async fn run(series: usize, rounds: usize, per_sample: u32) -> Scrape {
    let store = Arc::new(super::ingest::published_store(series));
    let app = router(
        store.clone(),
        "/metrics",
        None,
        Arc::new(wolkvox_exporter::sys::clock::SystemClock),
    );
    let snapshot = store.current();
    let mut zero_copy = true;
    let mut medians = [Duration::ZERO; 2];
    for (i, gzip) in [false, true].into_iter().enumerate() {
        let parts = snapshot.parts(wolkvox_exporter::exposition::Format::Text, gzip);
        let expected: Vec<*const u8> = parts.iter().map(|p| p.as_ptr()).collect();
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            for _ in 0..per_sample {
                let mut request = Request::get("/metrics");
                if gzip {
                    request = request.header("accept-encoding", "gzip");
                }
                let response = app
                    .clone()
                    .oneshot(request.body(Body::empty()).expect("a valid request"))
                    .await
                    .expect("infallible");
                let sent = frames(response.into_body()).await;
                zero_copy &= sent.iter().map(|b| b.as_ptr()).eq(expected.iter().copied());
            }
            samples.push(start.elapsed() / per_sample);
        }
        medians[i] = super::ingest::median(&mut samples);
    }
    Scrape {
        series,
        plain: medians[0],
        gzip: medians[1],
        zero_copy,
    }
}

/// The frames of a body, as hyper would write them to the socket.
async fn frames(body: Body) -> Vec<Bytes> {
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.expect("infallible").into_data() {
            out.push(data);
        }
    }
    out
}
