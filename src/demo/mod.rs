//! `--demo`: the simulated Wolkvox API started on a loopback port in place of a real server,
//! with a random token, and the clock that may fast-forward it.

pub mod names;
pub mod simulator;

use std::sync::Arc;

use reqwest::Url;

use crate::config::{Config, OperationConfig, Token, Upstream};
use crate::demo::simulator::{Simulator, SimulatorConfig};
use crate::sys::clock::{Clock, ScaledClock, SystemClock};
use crate::upstream::{Client, HttpClients};

/// The running demo simulator, and how to reach it.
#[derive(Debug)]
pub struct Demo {
    url: Url,
    token: Token,
}

impl Demo {
    /// Starts the simulator when an operation of `config` asks for it.
    pub async fn start(config: &Config, clock: &dyn Clock) -> std::io::Result<Option<Demo>> {
        let Some(options) = config.upstream_demo() else {
            return Ok(None);
        };
        // A random token, so that even the demo never has a fixed secret. Visible ASCII hex is
        // always a valid token.
        let token = format!("demo-{:016x}", fastrand::u64(..));
        let token = Token::new(&token).expect("hex is a valid token");
        let (simulator, addr) = Simulator::spawn(SimulatorConfig {
            tokens: vec![token.expose().to_owned()],
            ..SimulatorConfig::default()
        })
        .await?;
        tracing::info!(address = %addr, speed = options.speed, "demo: simulated Wolkvox API started");
        let tz = config
            .operations
            .first()
            .map(|o| o.timezone.clone())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        // Simulated local time `after` from now.
        let at = |after: std::time::Duration| {
            clock
                .now()
                .checked_add(after)
                .unwrap_or_else(|_| clock.now())
                .to_zoned_datetime(tz.clone())
                .datetime()
        };
        if let Some((rp_id, after)) = &options.pulse_spike {
            let from = at(*after);
            simulator.add_pulse_spike(rp_id, from, 20.0);
            tracing::info!(rp_id = %rp_id, from = %from, "demo: PULSE spike scheduled");
        }
        if let Some((rp_id, after)) = &options.outage {
            let from = at(*after);
            simulator.add_outage(rp_id, from);
            tracing::info!(rp_id = %rp_id, from = %from, "demo: outage scheduled");
        }
        // A socket address always makes a valid http URL.
        let url =
            Url::parse(&format!("http://{addr}")).expect("a socket address forms a valid URL");
        Ok(Some(Demo { url, token }))
    }
}

/// The Wolkvox client of `op`, through the HTTP clients of `http`: its own server, or the demo
/// simulator when it asks for it.
pub fn client(
    op: &OperationConfig,
    demo: Option<&Demo>,
    max_body: usize,
    http: &HttpClients,
) -> Result<Client, crate::Error> {
    let (base_url, token, token_file) = match &op.upstream {
        Upstream::Remote {
            base_url,
            token,
            token_file,
        } => (base_url, token, token_file.clone()),
        Upstream::Demo(_) => {
            let demo = demo.ok_or(crate::Error::NoDemo)?;
            (&demo.url, &demo.token, None)
        }
    };
    let mut client = Client::shared(http, base_url, &op.server, token, op.poll_timeout)?;
    client.max_body = max_body;
    client.token_file = token_file;
    Ok(client)
}

/// The demo may fast-forward its clock; everything else runs on the system clock.
pub fn clock_for(config: &Config) -> Arc<dyn Clock> {
    match config.upstream_demo() {
        Some(demo) if demo.speed != 1.0 => Arc::new(ScaledClock::new(demo.speed)),
        _ => Arc::new(SystemClock),
    }
}
