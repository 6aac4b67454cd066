//! The command line (clap, with environment variables) and its validation into a [`Config`] of
//! real types.
//!
//! clap only splits the command line; every value is checked here, in one place, so that a bad
//! value gives exactly one line that names the flag and its environment variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use jiff::tz::TimeZone;
use reqwest::Url;

use crate::window::Window;

/// Default address of /metrics. The Prometheus port allocation range 9100-9999 is full; this
/// port is the project's own choice and is documented in the README.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":9862";
/// Poll interval when nothing is given.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Poll interval in `--demo` mode when nothing is given.
pub const DEMO_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// The longest window Wolkvox accepts in one query.
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 24 * 3600);
/// Server code used by `--demo`.
pub const DEMO_SERVER: &str = "0000";

const AFTER_HELP: &str = "\
The token is read from the file named by --wolkvox.token-file (WOLKVOX_TOKEN_FILE) or from the
environment variable WOLKVOX_TOKEN. No flag takes the token itself: it would show in `ps`.

Durations take units: 30s, 5m, 1h, 7d. Every bad value stops the program with exit code 2.";

/// The command line as clap sees it: strings, checked later by [`Cli::into_config`].
#[derive(Debug, Parser)]
#[command(name = "wolkvox-exporter", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// YAML file with several operations (see the README); excludes the single-operation flags.
    #[arg(
        long = "config.file",
        env = "WOLKVOX_CONFIG_FILE",
        value_name = "PATH",
        global = true
    )]
    pub config_file: Option<PathBuf>,

    /// Also call Wolkvox's token_info every DURATION (e.g. 1h) to export the token's daily limit and use; each call spends the budget too [default: off].
    #[arg(
        long = "wolkvox.token-info-interval",
        env = "WOLKVOX_TOKEN_INFO_INTERVAL",
        value_name = "DURATION",
        global = true
    )]
    pub token_info_interval: Option<String>,

    /// What to do instead of serving: `check` makes one call per operation and prints the result.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Wolkvox server code of the operation, four digits such as 0032 (required unless --demo or --config.file).
    #[arg(long = "wolkvox.server", env = "WOLKVOX_SERVER", value_name = "CODE")]
    pub server: Option<String>,

    /// File holding the Wolkvox token (surrounding whitespace is trimmed).
    #[arg(
        long = "wolkvox.token-file",
        env = "WOLKVOX_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub token_file: Option<PathBuf>,

    /// Base URL of the Wolkvox API, for proxies and tests [default: https://wv{server}.wolkvox.com].
    #[arg(long = "wolkvox.url", env = "WOLKVOX_URL", value_name = "URL")]
    pub url: Option<String>,

    /// IANA time zone of the operation: the report's dates are local times in it [default: America/Bogota].
    #[arg(
        long = "wolkvox.timezone",
        env = "WOLKVOX_TIMEZONE",
        value_name = "ZONE"
    )]
    pub timezone: Option<String>,

    /// Value of the `operation` label [default: the server code].
    #[arg(long = "operation", env = "WOLKVOX_OPERATION", value_name = "NAME")]
    pub operation: Option<String>,

    /// Report window: `today` (local midnight to now) or a duration up to 31d such as 15m, 1h, 7d [default: today].
    #[arg(
        long = "report.window",
        env = "WOLKVOX_REPORT_WINDOW",
        value_name = "WINDOW"
    )]
    pub window: Option<String>,

    /// Unit of plain numbers in the report's `time` field, minutes or seconds (H:MM:SS is unambiguous) [default: minutes].
    #[arg(
        long = "report.time-unit",
        env = "WOLKVOX_REPORT_TIME_UNIT",
        value_name = "UNIT"
    )]
    pub time_unit: Option<String>,

    /// Time between polls [default: 5m, or 15s with --demo].
    #[arg(
        long = "poll.interval",
        env = "WOLKVOX_POLL_INTERVAL",
        value_name = "DURATION"
    )]
    pub poll_interval: Option<String>,

    /// Limit for one API call, body included [default: 60s].
    #[arg(
        long = "poll.timeout",
        env = "WOLKVOX_POLL_TIMEOUT",
        value_name = "DURATION"
    )]
    pub poll_timeout: Option<String>,

    /// Polls that may fail in a row before the last good data series are dropped.
    #[arg(long = "poll.keep-stale", value_name = "N", default_value = "3")]
    pub keep_stale: String,

    /// Most (rp_id, cod_opc_menu) pairs exported per operation; further pairs are dropped and counted.
    #[arg(
        long = "report.max-series",
        env = "WOLKVOX_REPORT_MAX_SERIES",
        value_name = "N",
        default_value = "10000"
    )]
    pub max_series: String,

    /// Largest answer body read; a larger one stops reading and counts as decode_error (units: KB, MB, GB, KiB, MiB, GiB).
    #[arg(
        long = "wolkvox.max-body-size",
        env = "WOLKVOX_MAX_BODY_SIZE",
        value_name = "SIZE",
        default_value = "300MB"
    )]
    pub max_body_size: String,

    /// Address to serve /metrics on; `:PORT` listens on every address, IPv6 and IPv4.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = DEFAULT_LISTEN_ADDRESS)]
    pub listen_address: String,

    /// Exporter-toolkit web configuration (TLS and basic auth), as for node_exporter.
    #[arg(
        long = "web.config.file",
        env = "WOLKVOX_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub web_config_file: Option<PathBuf>,

    /// Path under which the metrics are served.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Lowest level of log lines to print: error, warn, info, debug or trace.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,

    /// Format of log lines: logfmt or json.
    #[arg(long = "log.format", value_name = "FORMAT", default_value = "logfmt")]
    pub log_format: String,

    /// Start the built-in simulated Wolkvox API on a loopback port and poll it (no server or token needed).
    #[arg(long = "demo")]
    pub demo: bool,

    /// With --demo: how many times faster than real time the demo's clock runs (60 = a simulated minute per second).
    #[arg(long = "demo.speed", value_name = "FACTOR", default_value = "1")]
    pub demo_speed: String,

    /// With --demo: multiply the PULSE calls of this routing point (1001, 1002 or 2001) by 20, to see the spike alert.
    #[arg(long = "demo.pulse-spike", value_name = "RP_ID")]
    pub demo_pulse_spike: Option<String>,

    /// With --demo: simulated time after start at which the PULSE spike begins.
    #[arg(
        long = "demo.pulse-spike-after",
        value_name = "DURATION",
        default_value = "0s"
    )]
    pub demo_pulse_spike_after: String,
}

/// A subcommand.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Validate the configuration, make one call per operation, print the report, and exit 0
    /// only when every operation answered. Use it to test a token and an IP allow-list.
    Check {
        /// Output format: table or json.
        #[arg(long = "output", value_name = "FORMAT", default_value = "table")]
        output: String,
    },
}

/// A bad value on the command line or in the environment: one line that names the flag.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    flag: &'static str,
    message: String,
}

impl ConfigError {
    fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }

    /// The message without the flag.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A Wolkvox server code such as `0032`: kept as a string, leading zeros matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCode(String);

impl ServerCode {
    /// Accepts 1 to 8 ASCII digits.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(s.to_owned()))
    }

    /// The code as sent in the `wolkvox_server` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Wolkvox token. Debug and Display print `***`: the only way to the secret is
/// [`Token::expose`], called where the request header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a token after checking it can travel in an HTTP header.
    pub fn new(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the token is empty");
        }
        if !s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err("the token holds characters that cannot be sent in an HTTP header");
        }
        Ok(Self(Arc::from(s)))
    }

    /// The secret itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Unit of plain numbers in the report's `time` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeUnit {
    /// Plain numbers are minutes (what Wolkvox documents).
    Minutes,
    /// Plain numbers are seconds.
    Seconds,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` pairs, one event a line.
    Logfmt,
    /// One JSON object a line.
    Json,
}

/// Where the upstream API is: a real Wolkvox server, or the simulator that `--demo` starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// A Wolkvox server (or a proxy, or a test server) at this base URL with this token.
    Remote {
        /// Base URL; the report path is appended to it.
        base_url: Url,
        /// The token as read at start.
        token: Token,
        /// The file it came from, read again before each call (Kubernetes rotates Secrets).
        token_file: Option<PathBuf>,
    },
    /// The built-in simulator, started on a loopback port at `run` time.
    Demo(DemoOptions),
}

/// How the `--demo` simulator behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// How many times faster than real time the demo's clock runs.
    pub speed: f64,
    /// A routing point whose PULSE calls spike, and the simulated time after start when the
    /// spike begins.
    pub pulse_spike: Option<(String, Duration)>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            speed: 1.0,
            pulse_spike: None,
        }
    }
}

/// One Wolkvox operation: a server code, a token, and how to poll it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationConfig {
    /// Value of the `operation` label.
    pub name: String,
    /// Server code, sent in the `wolkvox_server` header.
    pub server: ServerCode,
    /// Where to poll.
    pub upstream: Upstream,
    /// Time zone of the operation.
    pub timezone: TimeZone,
    /// Report window.
    pub window: Window,
    /// Unit of plain `time` numbers.
    pub time_unit: TimeUnit,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Limit for one API call, body included.
    pub poll_timeout: Duration,
}

/// The validated configuration of one exporter process.
#[derive(Debug, Clone)]
pub struct Config {
    /// The operations to poll, each on its own schedule.
    pub operations: Vec<OperationConfig>,
    /// The file they came from, reloaded on SIGHUP and when it changes.
    pub config_file: Option<PathBuf>,
    /// How often to call token_info, if at all.
    pub token_info_interval: Option<Duration>,
    /// Failed polls in a row that keep the last good data.
    pub keep_stale: u32,
    /// Most series pairs per operation.
    pub max_series: usize,
    /// Largest body read, in bytes.
    pub max_body_size: usize,
    /// The web configuration (TLS, basic auth), if any.
    pub web_config_file: Option<PathBuf>,
    /// Where /metrics is served.
    pub listen_address: SocketAddr,
    /// Path of the metrics.
    pub telemetry_path: String,
    /// Lowest log level.
    pub log_level: tracing::Level,
    /// Log format.
    pub log_format: LogFormat,
}

impl Config {
    /// A configuration for polling one operation at `base_url` with `token`, with every other
    /// value at its default. Tests and embedders start from this.
    pub fn new(server: ServerCode, base_url: Url, token: Token) -> Self {
        Self {
            operations: vec![OperationConfig {
                name: server.as_str().to_owned(),
                server,
                upstream: Upstream::Remote {
                    base_url,
                    token,
                    token_file: None,
                },
                timezone: bogota(),
                window: Window::Today,
                time_unit: TimeUnit::Minutes,
                poll_interval: DEFAULT_POLL_INTERVAL,
                poll_timeout: Duration::from_secs(60),
            }],
            config_file: None,
            token_info_interval: None,
            keep_stale: 3,
            max_series: 10_000,
            max_body_size: 300_000_000,
            web_config_file: None,
            listen_address: SocketAddr::from(([0, 0, 0, 0], 9862)),
            telemetry_path: "/metrics".to_owned(),
            log_level: tracing::Level::INFO,
            log_format: LogFormat::Logfmt,
        }
    }

    /// The first operation, to adjust a single-operation configuration.
    pub fn op_mut(&mut self) -> &mut OperationConfig {
        // Every Config holds at least one operation: `new`, the flags and the file all make one.
        &mut self.operations[0]
    }

    /// The demo options, when the upstream is the demo simulator.
    pub fn upstream_demo(&self) -> Option<&DemoOptions> {
        self.operations.iter().find_map(|op| match &op.upstream {
            Upstream::Demo(o) => Some(o),
            Upstream::Remote { .. } => None,
        })
    }
}

pub(crate) fn bogota() -> TimeZone {
    // The zone database is compiled into the binary (jiff's tzdb-bundle-always), so this
    // lookup cannot fail; UTC is a harmless fallback should the bundle ever lose the zone.
    TimeZone::get("America/Bogota").unwrap_or(TimeZone::UTC)
}

impl Cli {
    /// Validates every value. `env` looks environment variables up (WOLKVOX_TOKEN, and the
    /// `token_env` names of a configuration file), passed in so that the function does not
    /// read the environment behind the caller's back.
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let operations = match &self.config_file {
            Some(path) => {
                self.no_single_operation_flags(env)?;
                crate::opsfile::load(path, env).map_err(|e| {
                    ConfigError::new("--config.file (WOLKVOX_CONFIG_FILE)", e.to_string())
                })?
            }
            None => vec![self.single_operation(env("WOLKVOX_TOKEN"))?],
        };
        let token_info_interval = self
            .token_info_interval
            .as_deref()
            .map(|s| {
                parse_positive_duration(
                    "--wolkvox.token-info-interval (WOLKVOX_TOKEN_INFO_INTERVAL)",
                    s,
                )
            })
            .transpose()?;
        if let Some(Command::Check { output }) = &self.command
            && !matches!(output.as_str(), "table" | "json")
        {
            return Err(ConfigError::new(
                "--output",
                format!("{output:?} is not table or json"),
            ));
        }

        let keep_stale = self.keep_stale.trim().parse::<u32>().map_err(|_| {
            ConfigError::new(
                "--poll.keep-stale",
                format!("{:?} is not a whole number of polls", self.keep_stale),
            )
        })?;

        let max_series = self
            .max_series
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ConfigError::new(
                    "--report.max-series (WOLKVOX_REPORT_MAX_SERIES)",
                    format!("{:?} is not a whole number above 0", self.max_series),
                )
            })?;
        let max_body_size = parse_size(&self.max_body_size).ok_or_else(|| {
            ConfigError::new(
                "--wolkvox.max-body-size (WOLKVOX_MAX_BODY_SIZE)",
                format!(
                    "{:?} is not a size above 0 such as 300MB or 512MiB",
                    self.max_body_size
                ),
            )
        })?;
        if let Some(path) = &self.web_config_file {
            crate::web::WebConfig::load(path).map_err(|e| {
                ConfigError::new("--web.config.file (WOLKVOX_WEB_CONFIG_FILE)", e.to_string())
            })?;
        }

        let listen_address = parse_listen_address(&self.listen_address)?;

        let telemetry_path = self.telemetry_path.trim().to_owned();
        if !telemetry_path.starts_with('/')
            || ["/", "/healthz", "/readyz"].contains(&telemetry_path.as_str())
        {
            return Err(ConfigError::new(
                "--web.telemetry-path",
                format!(
                    "{:?} must start with / and differ from /, /healthz and /readyz",
                    self.telemetry_path
                ),
            ));
        }

        let log_level = match self.log_level.trim().to_ascii_lowercase().as_str() {
            "error" => tracing::Level::ERROR,
            "warn" => tracing::Level::WARN,
            "info" => tracing::Level::INFO,
            "debug" => tracing::Level::DEBUG,
            "trace" => tracing::Level::TRACE,
            _ => {
                return Err(ConfigError::new(
                    "--log.level",
                    format!(
                        "{:?} is not one of error, warn, info, debug, trace",
                        self.log_level
                    ),
                ));
            }
        };
        let log_format = match self.log_format.trim().to_ascii_lowercase().as_str() {
            "logfmt" => LogFormat::Logfmt,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError::new(
                    "--log.format",
                    format!("{:?} is not logfmt or json", self.log_format),
                ));
            }
        };

        Ok(Config {
            operations,
            config_file: self.config_file.clone(),
            token_info_interval,
            keep_stale,
            max_series,
            max_body_size,
            web_config_file: self.web_config_file.clone(),
            listen_address,
            telemetry_path,
            log_level,
            log_format,
        })
    }
}

impl Cli {
    /// With --config.file, the flags that describe one operation must stay unset.
    fn no_single_operation_flags(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let given = [
            ("--wolkvox.server (WOLKVOX_SERVER)", self.server.is_some()),
            (
                "--wolkvox.token-file (WOLKVOX_TOKEN_FILE)",
                self.token_file.is_some(),
            ),
            ("WOLKVOX_TOKEN", env("WOLKVOX_TOKEN").is_some()),
            ("--wolkvox.url (WOLKVOX_URL)", self.url.is_some()),
            (
                "--wolkvox.timezone (WOLKVOX_TIMEZONE)",
                self.timezone.is_some(),
            ),
            ("--operation (WOLKVOX_OPERATION)", self.operation.is_some()),
            (
                "--report.window (WOLKVOX_REPORT_WINDOW)",
                self.window.is_some(),
            ),
            (
                "--report.time-unit (WOLKVOX_REPORT_TIME_UNIT)",
                self.time_unit.is_some(),
            ),
            (
                "--poll.interval (WOLKVOX_POLL_INTERVAL)",
                self.poll_interval.is_some(),
            ),
            (
                "--poll.timeout (WOLKVOX_POLL_TIMEOUT)",
                self.poll_timeout.is_some(),
            ),
            ("--demo", self.demo),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(ConfigError::new(
                "--config.file (WOLKVOX_CONFIG_FILE)",
                format!("cannot be combined with {flag}: put per-operation settings in the file"),
            )),
            None => Ok(()),
        }
    }

    /// The one operation that the flags describe.
    fn single_operation(&self, token_env: Option<String>) -> Result<OperationConfig, ConfigError> {
        let server = match (&self.server, self.demo) {
            (Some(s), _) => ServerCode::parse(s).ok_or_else(|| {
                ConfigError::new(
                    "--wolkvox.server (WOLKVOX_SERVER)",
                    format!("{s:?} is not a server code: expected digits such as 0032"),
                )
            })?,
            (None, true) => ServerCode(DEMO_SERVER.to_owned()),
            (None, false) => {
                return Err(ConfigError::new(
                    "--wolkvox.server (WOLKVOX_SERVER)",
                    "required: the Wolkvox server code of the operation, such as 0032 (or use --demo or --config.file)",
                ));
            }
        };

        let upstream = if self.demo {
            Upstream::Demo(self.demo_options()?)
        } else {
            if self.demo_pulse_spike.is_some() || self.demo_speed.trim() != "1" {
                return Err(ConfigError::new(
                    "--demo.speed / --demo.pulse-spike",
                    "only apply with --demo",
                ));
            }
            let token = read_token(self.token_file.as_ref(), token_env)?;
            let base_url = match &self.url {
                Some(u) => parse_url(u)?,
                None => parse_url(&format!("https://wv{server}.wolkvox.com"))?,
            };
            Upstream::Remote {
                base_url,
                token,
                token_file: self.token_file.clone(),
            }
        };

        let timezone = match &self.timezone {
            None => bogota(),
            Some(z) => TimeZone::get(z.trim()).map_err(|_| {
                ConfigError::new(
                    "--wolkvox.timezone (WOLKVOX_TIMEZONE)",
                    format!(
                        "unknown time zone {z:?}: expected an IANA name such as America/Bogota"
                    ),
                )
            })?,
        };
        let window = match &self.window {
            None => Window::Today,
            Some(w) => Window::parse(w).map_err(|e| {
                ConfigError::new("--report.window (WOLKVOX_REPORT_WINDOW)", e.to_string())
            })?,
        };
        let time_unit = match &self.time_unit {
            None => TimeUnit::Minutes,
            Some(u) => TimeUnit::from_str(u.trim(), true).map_err(|_| {
                ConfigError::new(
                    "--report.time-unit (WOLKVOX_REPORT_TIME_UNIT)",
                    format!("{u:?} is not minutes or seconds"),
                )
            })?,
        };
        let poll_interval = match &self.poll_interval {
            Some(s) => parse_positive_duration("--poll.interval (WOLKVOX_POLL_INTERVAL)", s)?,
            None if self.demo => DEMO_POLL_INTERVAL,
            None => DEFAULT_POLL_INTERVAL,
        };
        let poll_timeout = match &self.poll_timeout {
            Some(s) => parse_positive_duration("--poll.timeout (WOLKVOX_POLL_TIMEOUT)", s)?,
            None => Duration::from_secs(60),
        };
        let name = match self.operation.as_deref().map(str::trim) {
            Some("") => {
                return Err(ConfigError::new(
                    "--operation (WOLKVOX_OPERATION)",
                    "must not be empty",
                ));
            }
            Some(op) => op.to_owned(),
            None if self.demo => "demo".to_owned(),
            None => server.as_str().to_owned(),
        };
        Ok(OperationConfig {
            name,
            server,
            upstream,
            timezone,
            window,
            time_unit,
            poll_interval,
            poll_timeout,
        })
    }

    fn demo_options(&self) -> Result<DemoOptions, ConfigError> {
        let speed = self
            .demo_speed
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0 && *f <= 100_000.0)
            .ok_or_else(|| {
                ConfigError::new(
                    "--demo.speed",
                    format!("{:?} is not a factor between 0 and 100000", self.demo_speed),
                )
            })?;
        let after = humantime::parse_duration(self.demo_pulse_spike_after.trim()).map_err(|e| {
            ConfigError::new(
                "--demo.pulse-spike-after",
                format!("{:?} is not a duration: {e}", self.demo_pulse_spike_after),
            )
        })?;
        let pulse_spike = match self.demo_pulse_spike.as_deref().map(str::trim) {
            None => None,
            Some(rp)
                if crate::simulator::data::ROUTING_POINTS
                    .iter()
                    .any(|p| p.id == rp) =>
            {
                Some((rp.to_owned(), after))
            }
            Some(rp) => {
                return Err(ConfigError::new(
                    "--demo.pulse-spike",
                    format!("{rp:?} is not a demo routing point (1001, 1002, 2001)"),
                ));
            }
        };
        Ok(DemoOptions { speed, pulse_spike })
    }
}

fn read_token(file: Option<&PathBuf>, env: Option<String>) -> Result<Token, ConfigError> {
    const FILE_FLAG: &str = "--wolkvox.token-file (WOLKVOX_TOKEN_FILE)";
    match (file, env) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            FILE_FLAG,
            "WOLKVOX_TOKEN is set too: give the token one way only",
        )),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(FILE_FLAG, format!("cannot read {}: {e}", path.display()))
            })?;
            Token::new(&text)
                .map_err(|why| ConfigError::new(FILE_FLAG, format!("{}: {why}", path.display())))
        }
        (None, Some(value)) => {
            Token::new(&value).map_err(|why| ConfigError::new("WOLKVOX_TOKEN", why))
        }
        (None, None) => Err(ConfigError::new(
            "WOLKVOX_TOKEN / --wolkvox.token-file",
            "no Wolkvox token: set WOLKVOX_TOKEN or point --wolkvox.token-file at a file holding it",
        )),
    }
}

pub(crate) fn parse_url(s: &str) -> Result<Url, ConfigError> {
    const FLAG: &str = "--wolkvox.url (WOLKVOX_URL)";
    let url = Url::parse(s.trim())
        .map_err(|e| ConfigError::new(FLAG, format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            FLAG,
            format!("{s:?} must be an http:// or https:// URL with a host"),
        ));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            FLAG,
            "must not carry a query or credentials: the token goes in a header",
        ));
    }
    Ok(url)
}

fn parse_positive_duration(flag: &'static str, s: &str) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        ConfigError::new(
            flag,
            format!("{s:?} is not a duration such as 30s, 5m or 1h: {e}"),
        )
    })?;
    if d.is_zero() {
        return Err(ConfigError::new(flag, "must be greater than zero"));
    }
    Ok(d)
}

/// Parses a byte size: a plain number of bytes, or one with KB, MB, GB (powers of 1000) or
/// KiB, MiB, GiB (powers of 1024).
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    let bytes = n.checked_mul(mult)?;
    usize::try_from(bytes).ok().filter(|b| *b > 0)
}

fn parse_listen_address(s: &str) -> Result<SocketAddr, ConfigError> {
    let trimmed = s.trim();
    let full = match trimmed.strip_prefix(':') {
        // Every address, IPv6 and IPv4 alike (Linux accepts IPv4 on an IPv6 wildcard socket);
        // main falls back to 0.0.0.0 where IPv6 is switched off.
        Some(port) => format!("[::]:{port}"),
        None => trimmed.to_owned(),
    };
    full.parse().map_err(|_| {
        ConfigError::new(
            "--web.listen-address",
            format!("{s:?} is not HOST:PORT or :PORT with a numeric host such as 127.0.0.1"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(token: Option<&str>) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| token.filter(|_| name == "WOLKVOX_TOKEN").map(str::to_owned)
    }

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["wolkvox-exporter"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("clap accepts the arguments")
    }

    fn err(args: &[&str], token: Option<&str>) -> String {
        cli(args)
            .into_config(&env(token))
            .expect_err("the configuration is rejected")
            .to_string()
    }

    #[test]
    fn token_debug_and_display_hide_the_secret() {
        let t = Token::new(" s3cr3t-value \n").unwrap();
        assert_eq!(t.expose(), "s3cr3t-value");
        assert_eq!(format!("{t:?} {t}"), "*** ***");
        let cfg = cli(&["--wolkvox.server", "0032"])
            .into_config(&env(Some("s3cr3t-value")))
            .unwrap();
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
    }

    #[test]
    fn defaults_follow_the_documented_contract() {
        let cfg = cli(&["--wolkvox.server", "0032"])
            .into_config(&env(Some("tok")))
            .unwrap();
        assert_eq!(cfg.operations[0].name, "0032");
        assert_eq!(cfg.operations[0].poll_interval, Duration::from_secs(300));
        assert_eq!(cfg.operations[0].poll_timeout, Duration::from_secs(60));
        assert_eq!(cfg.keep_stale, 3);
        assert_eq!(cfg.operations[0].window, Window::Today);
        assert_eq!(cfg.listen_address.port(), 9862);
        assert_eq!(
            cfg.operations[0].timezone.iana_name(),
            Some("America/Bogota")
        );
        match &cfg.operations[0].upstream {
            Upstream::Remote { base_url, .. } => {
                assert_eq!(base_url.as_str(), "https://wv0032.wolkvox.com/")
            }
            Upstream::Demo(_) => panic!("not demo"),
        }
    }

    #[test]
    fn demo_needs_no_server_or_token_and_polls_every_15s() {
        let cfg = cli(&["--demo"]).into_config(&env(None)).unwrap();
        assert_eq!(cfg.upstream_demo(), Some(&DemoOptions::default()));
        let cfg = cli(&[
            "--demo",
            "--demo.speed",
            "60",
            "--demo.pulse-spike",
            "1001",
            "--demo.pulse-spike-after",
            "30m",
        ])
        .into_config(&env(None))
        .unwrap();
        assert_eq!(
            cfg.upstream_demo(),
            Some(&DemoOptions {
                speed: 60.0,
                pulse_spike: Some(("1001".into(), Duration::from_secs(1800)))
            })
        );
        assert!(
            cli(&["--demo", "--demo.pulse-spike", "42"])
                .into_config(&env(None))
                .is_err()
        );
        assert!(
            cli(&["--demo", "--demo.speed", "0"])
                .into_config(&env(None))
                .is_err()
        );
        assert!(
            cli(&["--wolkvox.server", "1", "--demo.pulse-spike", "1001"])
                .into_config(&env(Some("t")))
                .is_err()
        );
        assert_eq!(cfg.operations[0].poll_interval, Duration::from_secs(15));
        let cfg = cli(&["--demo", "--poll.interval", "2s"])
            .into_config(&env(None))
            .unwrap();
        assert_eq!(cfg.operations[0].poll_interval, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: &[(&[&str], Option<&str>, &str)] = &[
            (&[], Some("t"), "--wolkvox.server"),
            (&["--wolkvox.server", "ab12"], Some("t"), "--wolkvox.server"),
            (&["--wolkvox.server", "0032"], None, "WOLKVOX_TOKEN"),
            (&["--wolkvox.server", "0032"], Some("  "), "WOLKVOX_TOKEN"),
            (
                &[
                    "--wolkvox.server",
                    "0032",
                    "--wolkvox.timezone",
                    "Mars/Base",
                ],
                Some("t"),
                "--wolkvox.timezone",
            ),
            (
                &["--wolkvox.server", "0032", "--report.window", "32d"],
                Some("t"),
                "--report.window",
            ),
            (
                &["--wolkvox.server", "0032", "--poll.interval", "0s"],
                Some("t"),
                "--poll.interval",
            ),
            (
                &["--wolkvox.server", "0032", "--poll.timeout", "soon"],
                Some("t"),
                "--poll.timeout",
            ),
            (
                &["--wolkvox.server", "0032", "--wolkvox.url", "ftp://x"],
                Some("t"),
                "--wolkvox.url",
            ),
            (
                &["--wolkvox.server", "0032", "--web.listen-address", "nope"],
                Some("t"),
                "--web.listen-address",
            ),
            (
                &["--wolkvox.server", "0032", "--log.level", "loud"],
                Some("t"),
                "--log.level",
            ),
            (
                &["--wolkvox.server", "0032", "--report.time-unit", "hours"],
                Some("t"),
                "--report.time-unit",
            ),
            (
                &[
                    "--wolkvox.server",
                    "0032",
                    "--web.telemetry-path",
                    "/healthz",
                ],
                Some("t"),
                "--web.telemetry-path",
            ),
        ];
        for (args, token, flag) in cases {
            let msg = err(args, *token);
            assert!(msg.starts_with(flag), "{args:?}: {msg}");
            assert!(!msg.contains('\n'), "{args:?}: one line: {msg}");
        }
    }

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_size("300MB"), Some(300_000_000));
        assert_eq!(parse_size("1 KiB"), Some(1024));
        assert_eq!(parse_size("2gib"), Some(2 << 30));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("1.5MB"), None);
        assert_eq!(parse_size("10 parsecs"), None);
    }

    #[test]
    fn token_file_is_trimmed_and_an_empty_one_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  abc123\n").unwrap();
        let cfg = cli(&[
            "--wolkvox.server",
            "0032",
            "--wolkvox.token-file",
            path.to_str().unwrap(),
        ])
        .into_config(&env(None))
        .unwrap();
        match &cfg.operations[0].upstream {
            Upstream::Remote { token, .. } => assert_eq!(token.expose(), "abc123"),
            Upstream::Demo(_) => panic!("not demo"),
        }
        std::fs::write(&path, "\n \n").unwrap();
        let msg = err(
            &[
                "--wolkvox.server",
                "0032",
                "--wolkvox.token-file",
                path.to_str().unwrap(),
            ],
            None,
        );
        assert!(msg.contains("empty"), "{msg}");
        let msg = err(
            &[
                "--wolkvox.server",
                "0032",
                "--wolkvox.token-file",
                "/nonexistent/token",
            ],
            None,
        );
        assert!(msg.starts_with("--wolkvox.token-file"), "{msg}");
    }
}
