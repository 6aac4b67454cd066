//! The simulator's HTTP side: each request is recorded and counted in flight, then answered
//! as Wolkvox would (report or token_info), in Wolkvox's JSON envelope.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Fault, InFlight, RecordedRequest, ReportQuery, Simulator, error};

/// Records a request and counts it in flight; returns its token and the in-flight guard.
fn arrive(sim: &Simulator, query: &ReportQuery, headers: &HeaderMap) -> (Option<String>, InFlight) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let token = header("wolkvox-token");
    sim.controls().requests.push(RecordedRequest {
        api: query.api.clone(),
        date_ini: query.date_ini.clone(),
        date_end: query.date_end.clone(),
        server: header("wolkvox_server"),
        had_token: token.is_some(),
    });
    let guard = sim.enter(token.as_deref());
    (token, guard)
}

/// A JSON answer with this status.
fn json(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub(super) async fn information(
    State(sim): State<Simulator>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let (token, guard) = arrive(&sim, &query, &headers);
    let (status, body) = if guard.over_limit {
        error(
            403,
            "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)",
        )
    } else {
        sim.token_info(query.api.as_deref(), token.as_deref())
    };
    drop(guard);
    json(status, body)
}

pub(super) async fn report(
    State(sim): State<Simulator>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let (token, guard) = arrive(&sim, &query, &headers);
    let latency = sim.controls().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (status, body) = match sim.draw_fault() {
        Some(Fault::Answer(status, body)) => (status, body),
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            sim.answer(&query, token.as_deref(), guard.over_limit)
        }
        None => sim.answer(&query, token.as_deref(), guard.over_limit),
    };
    drop(guard);
    json(status, body)
}
