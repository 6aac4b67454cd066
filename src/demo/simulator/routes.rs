//! The simulator's HTTP side: each request is counted in flight for its token, then answered
//! as Wolkvox would (report or token_info), in Wolkvox's JSON envelope.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ReportQuery, Simulator, error};

/// A request for the report, or with `report` false for token_info: counted in flight for its
/// token until answered, and answered in Wolkvox's JSON envelope.
pub(super) async fn respond(
    sim: Simulator,
    query: ReportQuery,
    headers: HeaderMap,
    report: bool,
) -> Response {
    let token = headers
        .get("wolkvox-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let guard = sim.enter(token.as_deref());
    let (status, body) = if report {
        let latency = sim.controls().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        sim.answer(&query, token.as_deref(), guard.over_limit)
    } else if guard.over_limit {
        error(
            403,
            "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)",
        )
    } else {
        sim.token_info(query.api.as_deref(), token.as_deref())
    };
    drop(guard);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let json = [(CONTENT_TYPE, "application/json; charset=utf-8")];
    (status, json, body).into_response()
}
