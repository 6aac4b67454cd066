//! The HTTP side: `/`, the telemetry path, `/healthz` and `/readyz`. Handlers only pick bytes
//! that the poller encoded already; nothing here waits for Wolkvox.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::snapshot::{OPENMETRICS_CONTENT_TYPE, Store, TEXT_CONTENT_TYPE};
use crate::web::{Auth, require_auth};

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    telemetry_path: Arc<str>,
}

/// The exporter's routes. With `auth`, `/` and the metrics need a valid user; the probes
/// stay open.
pub fn router(store: Arc<Store>, telemetry_path: &str, auth: Option<Auth>) -> Router {
    let state = AppState {
        store,
        telemetry_path: Arc::from(telemetry_path),
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

async fn landing(State(state): State<AppState>) -> Html<String> {
    let path = &state.telemetry_path;
    Html(format!(
        "<!DOCTYPE html>\n<html><head><title>Wolkvox exporter</title></head><body>\n\
         <h1>Wolkvox exporter</h1>\n\
         <p>IVR menu usage from the Wolkvox report diagram_1_3, polled in the background.</p>\n\
         <ul><li><a href=\"{path}\">Metrics</a></li>\
         <li><a href=\"/healthz\">Health</a></li><li><a href=\"/readyz\">Readiness</a></li></ul>\n\
         <p>Version {}</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
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

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let snapshot = state.store.current();
    let openmetrics = wants_openmetrics(header_str(&headers, &ACCEPT));
    let gzip = accepts_gzip(header_str(&headers, &ACCEPT_ENCODING));
    let (encoded, content_type) = if openmetrics {
        (&snapshot.openmetrics, OPENMETRICS_CONTENT_TYPE)
    } else {
        (&snapshot.text, TEXT_CONTENT_TYPE)
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response_headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    let body = if gzip {
        response_headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        encoded.gzip.clone()
    } else {
        encoded.plain.clone()
    };
    (response_headers, body).into_response()
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
        let media = media.to_ascii_lowercase();
        match media.as_str() {
            "application/openmetrics-text" => om = om.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    om > 0.0 && om >= text
}

/// Whether Accept-Encoding allows gzip.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    elements(accept_encoding)
        .any(|(coding, q)| (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
