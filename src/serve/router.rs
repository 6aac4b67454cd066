//! The HTTP side: `/` (the status page of [`crate::serve::status`]), the telemetry path, `/healthz`
//! and `/readyz` (served by [`crate::serve::listener`]). Handlers only pick bytes that the poller
//! encoded already; nothing here waits for Wolkvox.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::config::web::{Auth, require_auth};
use crate::exposition::{Format, Store};
use crate::serve::status;
use crate::sys::clock::Clock;

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    telemetry_path: Arc<str>,
    /// The pollers' clock, which the status page's "2m ago" and "in 3m" count from.
    clock: Arc<dyn Clock>,
}

/// The exporter's routes. With `auth`, `/` and the metrics need a valid user; the probes
/// stay open. `clock` is the one the pollers use.
pub fn router(
    store: Arc<Store>,
    telemetry_path: &str,
    auth: Option<Auth>,
    clock: Arc<dyn Clock>,
) -> Router {
    let state = AppState {
        store,
        telemetry_path: Arc::from(telemetry_path),
        clock,
    };
    let mut protected = Router::new()
        .route("/", get(landing))
        .route(telemetry_path, get(metrics));
    if let Some(auth) = auth {
        protected = protected.route_layer(axum::middleware::from_fn_with_state(auth, require_auth));
    }
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .merge(protected)
        .with_state(state)
}

/// The status page, rendered on each request: it is read by people, rarely, and its relative
/// times must be those of the moment it is loaded.
async fn landing(State(state): State<AppState>) -> Html<String> {
    let operations = state.store.operations();
    Html(status::render(
        &operations,
        state.clock.now(),
        &state.telemetry_path,
    ))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.store.current().ready {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first poll has not finished\n",
        )
    }
}

/// `/metrics`: the snapshot's bytes in the format and encoding asked for. For HEAD, hyper
/// sends the headers, the length included, and not the body.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = if wants_openmetrics(header_str(&headers, &ACCEPT)) {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let gzip = accepts_gzip(header_str(&headers, &ACCEPT_ENCODING));
    let mut response = HeaderMap::new();
    response.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if gzip {
        response.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    // The parts go out as they are, one frame each: no copy, no encoding. Their exact length
    // is the Content-Length, which hyper then keeps to rather than chunking.
    let parts = state.store.current().parts(format, gzip);
    let length = parts.iter().map(Bytes::len).sum::<usize>();
    response.insert(CONTENT_LENGTH, HeaderValue::from(length));
    let parts = futures_util::stream::iter(parts.into_iter().map(Ok::<_, Infallible>));
    (response, Body::from_stream(parts)).into_response()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &axum::http::HeaderName) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// One element of an Accept or Accept-Encoding list: its value and its q.
fn elements(header: &str) -> impl Iterator<Item = (&str, f32)> {
    header.split(',').filter_map(|part| {
        let mut params = part.split(';');
        let value = params.next()?.trim();
        if value.is_empty() {
            return None;
        }
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        Some((value, q))
    })
}

/// Whether the scraper prefers OpenMetrics: its q beats that of every text/plain the header
/// names (Prometheus sends both, OpenMetrics first and with the higher q).
pub fn wants_openmetrics(accept: &str) -> bool {
    let mut om = 0.0f32;
    let mut text = 0.0f32;
    for (media, q) in elements(accept) {
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            om = om.max(q);
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|t| media.eq_ignore_ascii_case(t))
        {
            text = text.max(q);
        }
    }
    om > 0.0 && om >= text
}

pub fn accepts_gzip(accept_encoding: &str) -> bool {
    elements(accept_encoding)
        .any(|(coding, q)| (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{OperationMetrics, ReportData};
    use crate::report::{Report, Series};
    use axum::http::Method;
    use tower::ServiceExt as _;

    /// The frames of a response body, as hyper would send them.
    async fn frames(
        body: impl http_body::Body<Data = Bytes, Error: std::fmt::Debug>,
    ) -> Vec<Bytes> {
        let mut body = std::pin::pin!(body);
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            out.push(frame.unwrap().into_data().unwrap());
        }
        out
    }

    /// A store with one operation of `series` series, polled.
    fn store_with(series: usize) -> Arc<Store> {
        let store = Arc::new(Store::new());
        let mut op = OperationMetrics::new("0032".into(), std::time::Duration::from_secs(300));
        let all = (0..series)
            .map(|i| Series {
                rp_id: format!("{}", 1000 + i).into(),
                cod_opc_menu: "PULSE".into(),
                calls: i as f64,
                time_seconds: 2.0 * i as f64,
            })
            .collect();
        let now: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        op.data = Some(Arc::new(ReportData::new(
            Report {
                rows: series,
                series: all,
                ..Report::default()
            },
            crate::config::window::Window::Today.resolve(now, &jiff::tz::TimeZone::UTC),
        )));
        store.publish(op);
        store
    }

    #[tokio::test]
    async fn scrapes_send_the_bytes_encoded_at_poll_time_without_copying_them() {
        for series in [100, 5_000] {
            let store = store_with(series);
            let app = router(
                store.clone(),
                "/metrics",
                None,
                Arc::new(crate::sys::clock::SystemClock),
            );
            let snapshot = store.current();
            let (text, om) = (Format::Text, Format::OpenMetrics);
            let cases = [
                ("", "", snapshot.parts(text, false)),
                ("", "gzip", snapshot.parts(text, true)),
                (
                    "application/openmetrics-text",
                    "",
                    snapshot.parts(om, false),
                ),
                (
                    "application/openmetrics-text",
                    "gzip",
                    snapshot.parts(om, true),
                ),
            ];
            for (accept, encoding, parts) in cases {
                let expected: Vec<*const u8> = parts.iter().map(|p| p.as_ptr()).collect();
                for _ in 0..2 {
                    let request = axum::http::Request::get("/metrics")
                        .header(ACCEPT, accept)
                        .header(ACCEPT_ENCODING, encoding)
                        .body(Body::empty())
                        .unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    let length: usize = response.headers()["content-length"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let sent = frames(response.into_body()).await;
                    let pointers: Vec<*const u8> = sent.iter().map(|b| b.as_ptr()).collect();
                    assert_eq!(pointers, expected, "{series} {accept:?} {encoding:?}");
                    assert_eq!(length, sent.iter().map(Bytes::len).sum::<usize>());
                }
            }
        }
    }

    #[tokio::test]
    async fn other_paths_and_methods_get_the_routers_answers() {
        let store = store_with(100);
        let clock = Arc::new(crate::sys::clock::SystemClock);
        let app = router(store, "/metrics", None, clock);
        for (method, path, status) in [
            (Method::POST, "/metrics", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/metrics/", StatusCode::NOT_FOUND),
            (Method::GET, "/healthz", StatusCode::OK),
            (Method::GET, "/", StatusCode::OK),
        ] {
            let request = axum::http::Request::builder()
                .method(method.clone())
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{method} {path}");
        }
    }

    #[test]
    fn content_negotiation_follows_q_values() {
        let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        assert!(wants_openmetrics(prometheus3));
        assert!(wants_openmetrics("application/openmetrics-text"));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics("text/plain;version=0.0.4"));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics(
            "text/plain;q=0.9,application/openmetrics-text;q=0.5"
        ));
        assert!(!wants_openmetrics("application/openmetrics-text;q=0"));
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0"));
    }
}
