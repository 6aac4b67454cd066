//! A simulated Wolkvox report API: the same path, query, headers and JSON as Wolkvox, with the
//! checks Wolkvox makes (token, dates, 31 days, simultaneous requests), deterministic traffic
//! ([`data`]), and PULSE spikes and outages.
//!
//! `--demo` serves it on a loopback port; the tests put their controls (fixed answers, faults,
//! rows held back, the request log, counters) in a layer in front of [`Simulator::router`].
//! Where the real API's behaviour is only inferred (the exact 400 bodies for bad dates, the
//! shape of error bodies), the simulator says so next to the code.

pub mod data;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::DateTime;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::window::{format_wolkvox, parse_wolkvox};
use data::Spike;

/// How the simulator writes the `time` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Minutes with two decimals, as documented ("12.35").
    Minutes,
    /// H:MM:SS ("00:12:21"), exact in any unit.
    Hms,
}

/// What the simulator accepts and how it answers.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub seed: u64,
    pub tokens: Vec<String>,
    /// Simultaneous requests per token that it serves; one more is refused (Wolkvox: 2).
    pub max_in_flight_per_token: usize,
    pub time_format: TimeFormat,
    /// Calls a token may make in all before TOKEN LIMIT EXCEEDED; `None` for no limit.
    pub quota: Option<u64>,
    /// The `token_limit` that token_info answers; `None` for the quota, or 1000 without one.
    /// A larger limit than the quota is a token that other users drain before it is reached.
    pub token_limit: Option<u64>,
    /// Every routing point gets this many times the calls of [`data::ROUTING_POINTS`], at all
    /// times: 10 for tests whose windows of a minute or two must hold enough calls that the
    /// count hardly varies from one window to the next.
    pub traffic_factor: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            tokens: vec!["simulated-token".to_owned()],
            max_in_flight_per_token: 2,
            time_format: TimeFormat::Minutes,
            quota: None,
            token_limit: None,
            traffic_factor: 1.0,
        }
    }
}

#[derive(Debug, Default)]
struct Controls {
    latency: Duration,
    spikes: Vec<Spike>,
    in_flight_by_token: HashMap<String, Arc<Semaphore>>,
    calls_by_token: HashMap<String, u64>,
}

/// A handle on a simulator: cheap to clone, shared with its router.
#[derive(Debug, Clone)]
pub struct Simulator {
    config: Arc<SimulatorConfig>,
    controls: Arc<Mutex<Controls>>,
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    api: Option<String>,
    date_ini: Option<String>,
    date_end: Option<String>,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        // The factor is a change of traffic from the beginning of time on every option.
        let spikes = if config.traffic_factor == 1.0 {
            Vec::new()
        } else {
            data::ROUTING_POINTS
                .iter()
                .map(|rp| Spike {
                    rp_id: rp.id.to_owned(),
                    from: i64::MIN,
                    factor: config.traffic_factor,
                    pulse_only: false,
                })
                .collect()
        };
        Self {
            config: Arc::new(config),
            controls: Arc::new(Mutex::new(Controls {
                spikes,
                ..Controls::default()
            })),
        }
    }

    /// Serves the simulator on 127.0.0.1 at a port the system picks; returns the handle and
    /// the address. The server runs until the runtime ends.
    pub async fn spawn(config: SimulatorConfig) -> std::io::Result<(Simulator, SocketAddr)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let sim = Simulator::new(config);
        let router = sim.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "simulator stopped");
            }
        });
        Ok((sim, addr))
    }

    /// The routes: the reports endpoint of the Wolkvox API, and token_info.
    pub fn router(&self) -> Router {
        let report =
            |State(sim), Query(query), headers: HeaderMap| respond(sim, query, headers, true);
        let information =
            |State(sim), Query(query), headers: HeaderMap| respond(sim, query, headers, false);
        Router::new()
            .route("/api/v2/reports_manager.php", get(report))
            .route("/api/v2/information.php", get(information))
            .with_state(self.clone())
    }

    fn controls(&self) -> std::sync::MutexGuard<'_, Controls> {
        // A panic while holding this lock can only come from a test; keep serving.
        self.controls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits this long before answering each request.
    #[cfg(any(test, feature = "test-util"))]
    pub fn set_latency(&self, latency: Duration) {
        self.controls().latency = latency;
    }

    /// From minute `from` (local time of the operation) on, PULSE on `rp_id` gets `factor`
    /// times its normal calls.
    pub fn add_pulse_spike(&self, rp_id: &str, from: DateTime, factor: f64) {
        self.controls().spikes.push(Spike {
            rp_id: rp_id.to_owned(),
            from: data::minute_index(from),
            factor,
            pulse_only: true,
        });
    }

    /// From minute `from` (local time of the operation) on, `rp_id` gets no calls at all: a
    /// routing point that callers no longer reach.
    pub fn add_outage(&self, rp_id: &str, from: DateTime) {
        self.controls().spikes.push(Spike {
            rp_id: rp_id.to_owned(),
            from: data::minute_index(from),
            factor: 0.0,
            pulse_only: false,
        });
    }

    /// The exact totals of a window, as the report for it would give them, with the time in
    /// seconds: (rp_id, cod_opc_menu, calls, seconds).
    pub fn totals(
        &self,
        ini: DateTime,
        end: DateTime,
    ) -> Vec<(&'static str, &'static str, u64, u64)> {
        let spikes = self.controls().spikes.clone();
        data::totals(self.config.seed, ini, end, &spikes)
    }

    /// The success body of a report with these totals, as served; `None` when there are none.
    pub fn report_body(&self, totals: &[(&str, &str, u64, u64)]) -> Option<String> {
        if totals.is_empty() {
            return None;
        }
        let rows: Vec<serde_json::Value> = totals
            .iter()
            .map(|(rp, opt, calls, secs)| {
                serde_json::json!({
                    "rp_id": rp,
                    "calls": calls.to_string(),
                    "time": self.format_time(*secs),
                    "cod_opc_menu": opt,
                })
            })
            .collect();
        Some(
            serde_json::json!({
                "code": 200,
                "error": null,
                "msg": format!(" {} records were found", rows.len()),
                "data": rows,
            })
            .to_string(),
        )
    }

    fn format_time(&self, secs: u64) -> String {
        match self.config.time_format {
            TimeFormat::Minutes => format!("{:.2}", secs as f64 / 60.0),
            TimeFormat::Hms => format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
        }
    }

    /// The answer of `information.php?api=token_info`. Inferred shape: Wolkvox documents the
    /// field names (token_limit, token_use_today, available_consumption_options), not the
    /// envelope; the simulator uses the envelope of the reports.
    fn token_info(&self, token: &str) -> (u16, String) {
        let used = self.calls_by_token(token);
        let config = &self.config;
        let limit = config.token_limit.or(config.quota).unwrap_or(1000);
        (
            200,
            serde_json::json!({
                "code": 200,
                "error": null,
                "msg": "token information",
                "data": {
                    "token_limit": limit.to_string(),
                    "token_use_today": used.to_string(),
                    "available_consumption_options": limit.saturating_sub(used).to_string(),
                }
            })
            .to_string(),
        )
    }

    /// Calls made with `token` so far, token_info included.
    pub fn calls_by_token(&self, token: &str) -> u64 {
        self.controls()
            .calls_by_token
            .get(token)
            .copied()
            .unwrap_or(0)
    }

    /// One of the token's places for simultaneous requests, held until the request is
    /// answered or its client goes away; `None` when they are all taken.
    fn enter(&self, token: &str) -> Option<OwnedSemaphorePermit> {
        let places = self
            .controls()
            .in_flight_by_token
            .entry(token.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.max_in_flight_per_token)))
            .clone();
        places.try_acquire_owned().ok()
    }

    /// The answer to a request for the report, or with `report` false for token_info: the
    /// token first, then the call's cost, then what it asks for.
    fn answer(
        &self,
        query: &ReportQuery,
        token: Option<&str>,
        over_limit: bool,
        report: bool,
    ) -> (u16, String) {
        let Some(token) = token else {
            return error(401, "PLEASE ENTER THE WOLKVOX-TOKEN");
        };
        if !self.config.tokens.iter().any(|t| t == token) {
            return error(403, "PLEASE VALIDATE TOKEN");
        }
        if over_limit {
            return error(
                403,
                &format!(
                    "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN ({})",
                    self.config.max_in_flight_per_token
                ),
            );
        }
        let api = if report { "diagram_1_3" } else { "token_info" };
        if query.api.as_deref() != Some(api) {
            return error(400, "THE API YOU WANT TO CONSULT DOES NOT EXIST");
        }
        {
            // The call counts against the token's daily budget, unless that is used up.
            let mut c = self.controls();
            let used = c.calls_by_token.entry(token.to_owned()).or_default();
            if self.config.quota.is_some_and(|q| *used >= q) {
                return error(403, "TOKEN LIMIT EXCEEDED");
            }
            *used += 1;
        }
        if !report {
            return self.token_info(token);
        }
        let (Some(ini), Some(end)) = (&query.date_ini, &query.date_end) else {
            return error(400, "SOME PARAMETERS ARE REQUIRED");
        };
        // Inferred: Wolkvox's exact words for malformed or over-long ranges are not documented.
        let (Some(ini), Some(end)) = (parse_wolkvox(ini), parse_wolkvox(end)) else {
            return error(400, "Validate dates entered: the format is YYYYmmddHHiiss");
        };
        if end < ini {
            return error(400, "Validate dates entered: date_end is before date_ini");
        }
        let span = data::civil_seconds(end) - data::civil_seconds(ini);
        if span > 31 * 24 * 3600 {
            return error(400, "Validate dates entered: the range exceeds 31 days");
        }
        match self.report_body(&self.totals(ini, end)) {
            Some(body) => (200, body),
            None => error(
                404,
                &format!(
                    "Validate dates entered: no data from {} to {}",
                    format_wolkvox(ini),
                    format_wolkvox(end)
                ),
            ),
        }
    }
}

/// A request for the report, or with `report` false for token_info: counted in flight for its
/// token until answered, and answered in Wolkvox's JSON envelope.
async fn respond(sim: Simulator, query: ReportQuery, headers: HeaderMap, report: bool) -> Response {
    let token = headers.get("wolkvox-token").and_then(|v| v.to_str().ok());
    let place = token.map(|t| sim.enter(t));
    let latency = sim.controls().latency;
    if report && !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (status, body) = sim.answer(&query, token, matches!(place, Some(None)), report);
    drop(place);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let json = [(CONTENT_TYPE, "application/json; charset=utf-8")];
    (status, json, body).into_response()
}

/// An error body. Inferred shape: Wolkvox's error bodies repeat the message in `error` and
/// `msg`; the exporter reads either.
fn error(status: u16, message: &str) -> (u16, String) {
    (
        status,
        serde_json::json!({"code": status, "error": message, "msg": message, "data": null})
            .to_string(),
    )
}
