//! The simulated Wolkvox API with the controls that tests and benchmarks need: fixed or queued
//! answers, random faults, rows held back, calls of the token's other users, the log of
//! requests and counters to wait on. They live here, in a layer in front of the simulator's
//! router, so that the simulator itself holds only what `--demo` serves.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use jiff::civil::DateTime;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wolkvox_exporter::config::window::parse_wolkvox;
use wolkvox_exporter::demo::simulator::{Simulator, SimulatorConfig};

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub api: Option<String>,
    pub date_ini: Option<String>,
    pub date_end: Option<String>,
    /// `wolkvox_server` header.
    pub server: Option<String>,
    /// Whether a `wolkvox-token` header came.
    pub had_token: bool,
}

/// Counters that tests can wait on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Requests being served now.
    pub in_flight: usize,
    /// The most requests ever served at once.
    pub max_in_flight: usize,
}

#[derive(Debug, Default)]
struct Controls {
    queued: VecDeque<(u16, String)>,
    fixed: Option<(u16, String)>,
    /// Minutes whose rows are not in any report yet (see [`TestSim::hold_back`]).
    held_back: Option<(DateTime, DateTime)>,
    /// Calls of each token's other users (see [`TestSim::spend_elsewhere`]).
    elsewhere: HashMap<String, u64>,
    requests: Vec<RecordedRequest>,
    fault_rate: f64,
    /// Seeded from the simulator's seed, so that a soak run's faults can be replayed.
    faults: fastrand::Rng,
}

#[derive(Debug)]
struct Shared {
    seed: u64,
    controls: Mutex<Controls>,
    stats: watch::Sender<Stats>,
}

/// A simulator and its test controls: cheap to clone; derefs to the [`Simulator`].
#[derive(Debug, Clone)]
pub struct TestSim {
    sim: Simulator,
    shared: Arc<Shared>,
}

impl Deref for TestSim {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    api: Option<String>,
    date_ini: Option<String>,
    date_end: Option<String>,
}

impl TestSim {
    pub fn new(config: SimulatorConfig) -> TestSim {
        TestSim {
            shared: Arc::new(Shared {
                seed: config.seed,
                controls: Mutex::default(),
                stats: watch::Sender::new(Stats::default()),
            }),
            sim: Simulator::new(config),
        }
    }

    /// Serves the simulator on 127.0.0.1 at a port the system picks, until the runtime ends.
    pub async fn spawn(config: SimulatorConfig) -> std::io::Result<(TestSim, SocketAddr)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let sim = TestSim::new(config);
        let router = sim.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok((sim, addr))
    }

    /// The simulator's routes behind the test controls.
    pub fn router(&self) -> Router {
        self.sim
            .router()
            .route_layer(middleware::from_fn_with_state(self.clone(), control))
    }

    fn controls(&self) -> std::sync::MutexGuard<'_, Controls> {
        // A panic while holding this lock can only come from a failed test; keep serving.
        self.shared
            .controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Answers the next report request with this status and body (queued answers go first).
    pub fn push_answer(&self, status: u16, body: impl Into<String>) {
        self.controls().queued.push_back((status, body.into()));
    }

    /// Answers every report request with this status and body until cleared with `None`.
    pub fn set_fixed_answer(&self, answer: Option<(u16, String)>) {
        self.controls().fixed = answer;
    }

    /// Answers this share of report requests (0 to 1) with a random fault: a 500, a
    /// maintenance 403, a concurrency 403, an HTML page, a truncated body, or a 5 s delay.
    /// Deterministic per seed.
    pub fn set_fault_rate(&self, rate: f64) {
        let mut c = self.controls();
        c.fault_rate = rate.clamp(0.0, 1.0);
        c.faults = fastrand::Rng::with_seed(self.shared.seed);
    }

    /// Leaves the rows of the minutes from `from` to `to` (local times, inclusive) out of every
    /// report until [`TestSim::release_held_back`]: Wolkvox adding a day's rows late, after
    /// the calls' IVR legs end.
    pub fn hold_back(&self, from: DateTime, to: DateTime) {
        self.controls().held_back = Some((from, to));
    }

    /// Puts the held-back rows into the reports.
    pub fn release_held_back(&self) {
        self.controls().held_back = None;
    }

    /// The exact totals of a window, as the report for it gives them now (the rows held back
    /// left out), with the time in seconds: (rp_id, cod_opc_menu, calls, seconds).
    pub fn totals(
        &self,
        ini: DateTime,
        end: DateTime,
    ) -> Vec<(&'static str, &'static str, u64, u64)> {
        let mut totals = self.sim.totals(ini, end);
        let Some((from, to)) = self.controls().held_back else {
            return totals;
        };
        // Windows add up minute by minute: what a report leaves out is the held-back
        // minutes that the window covers.
        let (from, to) = (from.max(ini), to.min(end));
        if from <= to {
            for (rp, opt, calls, secs) in self.sim.totals(from, to) {
                if let Some(t) = totals.iter_mut().find(|t| (t.0, t.1) == (rp, opt)) {
                    t.2 -= calls;
                    t.3 -= secs;
                }
            }
            totals.retain(|t| t.2 > 0);
        }
        totals
    }

    /// Books `calls` of the token's daily budget to its other users: token_info shows them as
    /// used, and [`TestSim::calls_by_token`] counts them. The quota's refusal counts only the
    /// calls made here, as with `token_limit` above the quota.
    pub fn spend_elsewhere(&self, token: &str, calls: u64) {
        *self
            .controls()
            .elsewhere
            .entry(token.to_owned())
            .or_default() += calls;
    }

    /// Calls made with `token` so far, token_info and its other users' calls included.
    pub fn calls_by_token(&self, token: &str) -> u64 {
        let elsewhere = self.controls().elsewhere.get(token).copied();
        self.sim.calls_by_token(token) + elsewhere.unwrap_or(0)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.controls().requests.clone()
    }

    pub fn stats(&self) -> Stats {
        *self.shared.stats.borrow()
    }

    /// Waits until the counters satisfy `f`.
    pub async fn wait_for(&self, f: impl FnMut(&Stats) -> bool) -> Stats {
        let mut rx = self.shared.stats.subscribe();
        // The sender lives as long as `self`, so the channel cannot close while we wait. The
        // binding ends the borrow of `rx` before `rx` itself is dropped.
        #[allow(clippy::let_and_return)]
        let stats = rx.wait_for(f).await.map(|s| *s).unwrap_or_default();
        stats
    }

    /// A random fault for a report request: an answer in place of the report, or a delay.
    fn draw_fault(&self) -> Option<Result<(u16, String), Duration>> {
        let mut c = self.controls();
        if c.fault_rate <= 0.0 || c.faults.f64() >= c.fault_rate {
            return None;
        }
        Some(Ok(match c.faults.u8(..6) {
            0 => (500, "Internal Server Error".to_owned()),
            1 => (403, "<html>backup in progress</html>".to_owned()),
            2 => error(
                403,
                "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)",
            ),
            3 => (200, "<html><body>proxy error</body></html>".to_owned()),
            4 => (200, r#"{"code":200,"data":[{"rp_id":"10"#.to_owned()),
            _ => return Some(Err(Duration::from_secs(5))),
        }))
    }

    fn canned(&self) -> Option<(u16, String)> {
        let mut c = self.controls();
        c.queued.pop_front().or_else(|| c.fixed.clone())
    }
}

/// Counts every request in flight until it is answered or its client goes away.
struct InFlight(watch::Sender<Stats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|s| s.in_flight -= 1);
    }
}

async fn control(
    State(sim): State<TestSim>,
    Query(query): Query<ReportQuery>,
    request: Request,
    next: Next,
) -> Response {
    let recorded = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        RecordedRequest {
            api: query.api,
            date_ini: query.date_ini.clone(),
            date_end: query.date_end.clone(),
            server: header("wolkvox_server"),
            had_token: header("wolkvox-token").is_some(),
        }
    };
    let report = request.uri().path().ends_with("reports_manager.php");
    let token = request.headers().get("wolkvox-token");
    let token = token.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let elsewhere = sim.controls().elsewhere.get(token).copied().unwrap_or(0);
    sim.controls().requests.push(recorded);
    sim.shared.stats.send_modify(|s| {
        s.requests += 1;
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
    });
    let _in_flight = InFlight(sim.shared.stats.clone());
    if report {
        let answer = match sim.draw_fault() {
            Some(Ok(answer)) => Some(answer),
            Some(Err(delay)) => {
                tokio::time::sleep(delay).await;
                sim.canned()
            }
            None => sim.canned(),
        };
        if let Some((status, body)) = answer {
            return json(status, body);
        }
    }
    let held_back = report && sim.controls().held_back.is_some();
    let response = next.run(request).await;
    if !report && elsewhere > 0 && response.status() == StatusCode::OK {
        return with_elsewhere(response, elsewhere).await;
    }
    if !held_back || response.status() != StatusCode::OK {
        return response;
    }
    // The simulator has checked the request and counted the call: what is left is the
    // report without the rows held back.
    let (ini, end) = (query.date_ini.unwrap(), query.date_end.unwrap());
    let totals = sim.totals(parse_wolkvox(&ini).unwrap(), parse_wolkvox(&end).unwrap());
    match sim.report_body(&totals) {
        Some(body) => json(200, body),
        None => {
            let (status, body) = error(
                404,
                &format!("Validate dates entered: no data from {ini} to {end}"),
            );
            json(status, body)
        }
    }
}

/// token_info's answer with the calls of the token's other users added to its use.
async fn with_elsewhere(response: Response, elsewhere: u64) -> Response {
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let data = &mut info["data"];
    let number = |v: &serde_json::Value| v.as_str().unwrap().parse::<u64>().unwrap();
    let used = number(&data["token_use_today"]) + elsewhere;
    let left = number(&data["available_consumption_options"]).saturating_sub(elsewhere);
    data["token_use_today"] = used.to_string().into();
    data["available_consumption_options"] = left.to_string().into();
    json(200, info.to_string())
}

fn json(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let json = [(CONTENT_TYPE, "application/json; charset=utf-8")];
    (status, json, body).into_response()
}

/// An error body in Wolkvox's envelope.
fn error(status: u16, message: &str) -> (u16, String) {
    let body = serde_json::json!({"code": status, "error": message, "msg": message, "data": null});
    (status, body.to_string())
}
