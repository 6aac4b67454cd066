//! The simulator's HTTP side: each request is recorded and counted in flight, then answered
//! as Wolkvox would (report or token_info), in Wolkvox's JSON envelope.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Fault, RecordedRequest, ReportQuery, Simulator, error};

/// A request for the report, or with `report` false for token_info: recorded, counted in
/// flight until answered, and answered in Wolkvox's JSON envelope.
pub(super) async fn respond(
    sim: Simulator,
    query: ReportQuery,
    headers: HeaderMap,
    report: bool,
) -> Response {
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
    let (status, body) = if report {
        let latency = sim.controls().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match sim.draw_fault() {
            Some(Fault::Answer(answer)) => answer,
            Some(Fault::Slow(d)) => {
                tokio::time::sleep(d).await;
                sim.answer(&query, token.as_deref(), guard.over_limit)
            }
            None => sim.answer(&query, token.as_deref(), guard.over_limit),
        }
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
