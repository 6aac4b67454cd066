//! The value types of the settings, each with one parse function ([`FromStr`]) and one error
//! text, shared by the command line (clap calls `FromStr`) and by `--config.file` (serde calls
//! the same `FromStr`), and the defaults, written once.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use reqwest::Url;
use serde::{Deserialize, Deserializer};

use crate::config::window::Window;

/// Default address of /metrics. The Prometheus port allocation range 9100-9999 is full; this
/// port is the project's own choice and is documented in the README.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":9862";
/// Time zone of an operation when nothing is given.
pub const DEFAULT_TIMEZONE: &str = "America/Bogota";
/// Poll interval when nothing is given.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Poll interval in `--demo` mode when nothing is given.
pub const DEMO_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// The demo's token_info interval when none is given: the token budget panel fills at once.
pub const DEMO_TOKEN_INFO_INTERVAL: Duration = Duration::from_secs(60);
/// Limit for one API call when nothing is given.
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// Report window when nothing is given.
pub const DEFAULT_WINDOW: Window = Window::Today;
/// Unit of plain `time` numbers when nothing is given.
pub const DEFAULT_TIME_UNIT: TimeUnit = TimeUnit::Minutes;
/// Failed polls in a row that keep the last good data, when nothing is given.
pub const DEFAULT_KEEP_STALE: &str = "15m";
/// Default `--report.close-delay`: time after local midnight for Wolkvox's late rows.
pub const DEFAULT_CLOSE_DELAY: &str = "15m";
/// Most series pairs per operation, when nothing is given.
pub const DEFAULT_MAX_SERIES: &str = "10000";
/// Largest answer body read, when nothing is given. Wolkvox returns at most 60,000 records; with
/// every value at its longest realistic length they are 9.0 MB (tests/deploy/report_bodies.py),
/// and 16 MB leaves 7 MB for what that estimate misses (pretty-printed JSON, an undocumented
/// field). The whole body is held in memory: the chart's memory limit follows this cap
/// (BENCHMARKS.md, "Memory at the body cap").
pub const DEFAULT_MAX_BODY_SIZE: &str = "16MB";
/// Path of the metrics, when nothing is given.
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";
/// `--web.read-header-timeout`: a scraper sends its request as soon as it connects.
pub const DEFAULT_READ_HEADER_TIMEOUT: &str = "10s";
/// `--web.idle-timeout`: longer than any usual scrape interval, so that Prometheus keeps its
/// connection between scrapes.
pub const DEFAULT_IDLE_TIMEOUT: &str = "2m";
/// `--web.max-connections`, as Prometheus' own: well below the common open-file limit of 1,024.
pub const DEFAULT_MAX_CONNECTIONS: &str = "512";
/// Lowest log level, when nothing is given.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// Log format, when nothing is given.
pub const DEFAULT_LOG_FORMAT: &str = "logfmt";
/// Demo clock speed, when nothing is given.
pub const DEFAULT_DEMO_SPEED: &str = "1";
/// Simulated time before the demo's PULSE spike, when nothing is given.
pub const DEFAULT_DEMO_SPIKE_AFTER: &str = "0s";
/// Server code used by `--demo`.
pub const DEMO_SERVER: &str = "0000";
/// The routing points of the demo's simulated traffic, which `--demo.pulse-spike` and
/// `--demo.outage` may name (the simulator's table has these, a test of its own says so).
pub const DEMO_ROUTING_POINTS: [&str; 3] = ["1001", "1002", "2001"];

/// Parses one of the string defaults above.
pub(crate) fn default_of<T: FromStr>(text: &str) -> T
where
    T::Err: fmt::Debug,
{
    // The defaults are literals of this module; `defaults_parse` below proves each one.
    text.parse().expect("a default value parses")
}

/// Why a value was refused: one line, without the flag or key (the caller names those).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Deserializes a value through its [`FromStr`], so that the file accepts exactly what the
/// flag accepts. Only YAML strings are taken: a YAML number or boolean is refused.
fn from_yaml_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    d.deserialize_any(StrVisitor(std::marker::PhantomData))
}

struct StrVisitor<T>(std::marker::PhantomData<T>);

impl<T> serde::de::Visitor<'_> for StrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }
}

/// Implements `Deserialize` through `FromStr` for each type.
macro_rules! deserialize_via_from_str {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_yaml_string(d)
            }
        }
    )*};
}

deserialize_via_from_str!(
    Window,
    TimeUnit,
    Zone,
    PositiveDuration,
    BaseUrl,
    OperationName,
    ByteSize,
    ListenAddress,
    TelemetryPath,
    LogLevel,
    LogFormat,
    EnvName,
);

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

    /// The code of the `--demo` operation.
    pub fn demo() -> Self {
        Self(DEMO_SERVER.to_owned())
    }
}

impl FromStr for ServerCode {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s).ok_or_else(|| {
            ValueError::new(format!(
                "{s:?} is not a server code: expected digits such as 0032"
            ))
        })
    }
}

impl fmt::Display for ServerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServerCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ServerCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted server code such as \"0032\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ServerCode, E> {
                s.parse().map_err(E::custom)
            }
            // A YAML number loses leading zeros (0032 -> 32): insist on a string.
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<ServerCode, E> {
                Err(E::custom(SERVER_NOT_QUOTED))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<ServerCode, E> {
                Err(E::custom(SERVER_NOT_QUOTED))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<ServerCode, E> {
                Err(E::custom(SERVER_NOT_QUOTED))
            }
        }
        d.deserialize_any(V)
    }
}

const SERVER_NOT_QUOTED: &str = "must be a quoted string such as \"0032\" (leading zeros matter)";

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

    /// Reads the token from a file (surrounding whitespace is trimmed). The error names the
    /// file, never its content.
    pub fn from_file(path: &Path) -> Result<Self, ValueError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ValueError::new(format!("cannot read {}: {e}", path.display())))?;
        Token::new(&text).map_err(|why| ValueError::new(format!("{}: {why}", path.display())))
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

/// The name of an environment variable that holds a token (`token_env` in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvName(String);

impl EnvName {
    /// Reads the token from the variable, looked up with `env`.
    pub fn read(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Token, ValueError> {
        let var = &self.0;
        let value = env(var)
            .ok_or_else(|| ValueError::new(format!("the environment variable {var} is not set")))?;
        Token::new(&value).map_err(|why| ValueError::new(format!("{var}: {why}")))
    }
}

impl FromStr for EnvName {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() || s.contains(['=', '\0']) {
            return Err(ValueError::new(format!(
                "{s:?} is not the name of an environment variable"
            )));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Unit of plain numbers in the report's `time` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Plain numbers are minutes (what Wolkvox documents).
    Minutes,
    /// Plain numbers are seconds.
    Seconds,
}

impl FromStr for TimeUnit {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minutes" => Ok(TimeUnit::Minutes),
            "seconds" => Ok(TimeUnit::Seconds),
            _ => Err(ValueError::new(format!("{s:?} is not minutes or seconds"))),
        }
    }
}

/// Log line format: the logging module's own type, read from a flag here.
pub use crate::sys::logging::LogFormat;

impl FromStr for LogFormat {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Ok(LogFormat::Logfmt),
            "json" => Ok(LogFormat::Json),
            _ => Err(ValueError::new(format!("{s:?} is not logfmt or json"))),
        }
    }
}

/// Lowest level of log lines to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(pub tracing::Level);

impl FromStr for LogLevel {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let level = match s.trim().to_ascii_lowercase().as_str() {
            "error" => tracing::Level::ERROR,
            "warn" => tracing::Level::WARN,
            "info" => tracing::Level::INFO,
            "debug" => tracing::Level::DEBUG,
            "trace" => tracing::Level::TRACE,
            _ => {
                return Err(ValueError::new(format!(
                    "{s:?} is not one of error, warn, info, debug, trace"
                )));
            }
        };
        Ok(Self(level))
    }
}

/// An IANA time zone such as America/Bogota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(pub TimeZone);

impl Default for Zone {
    fn default() -> Self {
        default_of(DEFAULT_TIMEZONE)
    }
}

impl FromStr for Zone {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        // The zone database is compiled into the binary (jiff's tzdb-bundle-always): the
        // machine's own zone files never matter.
        TimeZone::get(s.trim()).map(Zone).map_err(|_| {
            ValueError::new(format!(
                "unknown time zone {s:?}: expected an IANA name such as America/Bogota"
            ))
        })
    }
}

/// A duration longer than zero, in humantime units (30s, 5m, 1h, 7d).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDuration(pub Duration);

impl FromStr for PositiveDuration {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let d = parse_duration(s)?;
        if d.is_zero() {
            return Err(ValueError::new("must be greater than zero"));
        }
        Ok(Self(d))
    }
}

/// Parses a humantime duration, zero included.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        ValueError::new(format!(
            "{s:?} is not a duration such as 30s, 5m or 1h: {e}"
        ))
    })
}

/// The base URL of the Wolkvox API: http or https, with a host, no query, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(pub Url);

impl BaseUrl {
    /// Wolkvox's own URL for a server code.
    pub fn of_server(server: &ServerCode) -> Result<Self, ValueError> {
        format!("https://wv{server}.wolkvox.com").parse()
    }
}

impl FromStr for BaseUrl {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let url = Url::parse(s.trim())
            .map_err(|e| ValueError::new(format!("{s:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ValueError::new(format!(
                "{s:?} must be an http:// or https:// URL with a host"
            )));
        }
        if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError::new(
                "must not carry a query or credentials: the token goes in a header",
            ));
        }
        Ok(Self(url))
    }
}

/// The value of the `operation` label: not empty, surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationName(pub String);

impl FromStr for OperationName {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s.trim() {
            "" => Err(ValueError::new("must not be empty")),
            name => Ok(Self(name.to_owned())),
        }
    }
}

/// A byte size above zero: a plain number of bytes, or one with KB, MB, GB or KiB, MiB, GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl FromStr for ByteSize {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        parse_size(s).map(Self).ok_or_else(|| {
            ValueError::new(format!(
                "{s:?} is not a size above 0 such as 300MB or 512MiB"
            ))
        })
    }
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

/// Where /metrics is served: `IP:PORT`, `HOST:PORT`, or `:PORT` for every address, IPv6 and
/// IPv4. A host name stays a name until [`ListenAddress::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// A numeric address, `:PORT` included.
    Socket(SocketAddr),
    /// A host name and a port, such as `localhost:9862`.
    Host(String, u16),
}

impl ListenAddress {
    /// The address to bind. A host name is looked up here, and only here, so that it is
    /// resolved once at start and only by the command that listens; of its addresses the
    /// first IPv4 one is taken, as node_exporter does, else the first.
    pub fn resolve(&self) -> Result<SocketAddr, ValueError> {
        match self {
            ListenAddress::Socket(addr) => Ok(*addr),
            ListenAddress::Host(host, port) => {
                let addrs: Vec<SocketAddr> = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| ValueError::new(format!("cannot resolve {host:?}: {e}")))?
                    .collect();
                addrs
                    .iter()
                    .find(|a| a.is_ipv4())
                    .or(addrs.first())
                    .copied()
                    .ok_or_else(|| ValueError::new(format!("{host:?} has no address")))
            }
        }
    }
}

impl FromStr for ListenAddress {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let trimmed = s.trim();
        let bad = || {
            ValueError::new(format!(
                "{s:?} is not HOST:PORT or :PORT, such as localhost:9862, 127.0.0.1:9862 or :9862"
            ))
        };
        if let Some(port) = trimmed.strip_prefix(':') {
            // Every address, IPv6 and IPv4 alike (Linux accepts IPv4 on an IPv6 wildcard
            // socket); main falls back to 0.0.0.0 where IPv6 is switched off.
            let port = port.parse().map_err(|_| bad())?;
            return Ok(Self::Socket(SocketAddr::from((
                std::net::Ipv6Addr::UNSPECIFIED,
                port,
            ))));
        }
        if let Ok(addr) = trimmed.parse() {
            return Ok(Self::Socket(addr));
        }
        let (host, port) = trimmed.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        let is_name = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !is_name {
            return Err(bad());
        }
        Ok(Self::Host(host.to_owned(), port))
    }
}

/// The path of the metrics: starts with `/` and is none of the other routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryPath(pub String);

impl FromStr for TelemetryPath {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let path = s.trim();
        if !path.starts_with('/') || ["/", "/healthz", "/readyz"].contains(&path) {
            return Err(ValueError::new(format!(
                "{s:?} must start with / and differ from /, /healthz and /readyz"
            )));
        }
        Ok(Self(path.to_owned()))
    }
}

/// How many times faster than real time the demo's clock runs: above 0, at most 100000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedFactor(pub f64);

impl FromStr for SpeedFactor {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0 && *f <= 100_000.0)
            .map(Self)
            .ok_or_else(|| ValueError::new(format!("{s:?} is not a factor between 0 and 100000")))
    }
}

/// Parses `--poll.keep-stale`: a duration (zero drops the data at the first failure). A bare
/// number was a count of polls before this became a duration: it is refused with that said,
/// rather than read as a count or as seconds.
pub fn parse_keep_stale(s: &str) -> Result<Duration, ValueError> {
    match s.trim().parse::<u64>() {
        Ok(0) => Ok(Duration::ZERO),
        Ok(_) => Err(ValueError::new(format!(
            "{s:?} looks like a count of polls: it is now a duration, the time the data series stay after the last successful poll, such as 15m"
        ))),
        Err(_) => parse_duration(s),
    }
}

/// Parses `--poll.budget-share`: a share of the token's daily limit, above 0 and at most 1.
pub fn parse_budget_share(s: &str) -> Result<f64, ValueError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .ok_or_else(|| {
            ValueError::new(format!(
                "{s:?} is not a share above 0 and at most 1, such as 0.25"
            ))
        })
}

/// Parses `--report.close-delay`: a duration shorter than a day (zero closes the day at the
/// first poll after midnight).
pub fn parse_close_delay(s: &str) -> Result<Duration, ValueError> {
    let d = parse_duration(s)?;
    if d >= Duration::from_secs(24 * 3600) {
        return Err(ValueError::new(format!(
            "{s:?} is a day or more: the previous day must be closed before the next one ends"
        )));
    }
    Ok(d)
}

/// Parses `--web.max-connections`: a whole number above zero.
pub fn parse_max_connections(s: &str) -> Result<usize, ValueError> {
    parse_max_series(s)
}

/// Parses `--report.max-series`: a whole number above zero.
pub fn parse_max_series(s: &str) -> Result<usize, ValueError> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ValueError::new(format!("{s:?} is not a whole number above 0")))
}

/// Resolves `path` from a configuration file against the file's folder.
pub(crate) fn relative_to(file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::commands::*;

    #[test]
    fn defaults_parse() {
        let _: Zone = default_of(DEFAULT_TIMEZONE);
        let _: Duration = parse_keep_stale(DEFAULT_KEEP_STALE).unwrap();
        let _: usize = parse_max_series(DEFAULT_MAX_SERIES).unwrap();
        let _: ByteSize = default_of(DEFAULT_MAX_BODY_SIZE);
        let _: ListenAddress = default_of(DEFAULT_LISTEN_ADDRESS);
        let _: TelemetryPath = default_of(DEFAULT_TELEMETRY_PATH);
        let _: LogLevel = default_of(DEFAULT_LOG_LEVEL);
        let _: LogFormat = default_of(DEFAULT_LOG_FORMAT);
        let _: SpeedFactor = default_of(DEFAULT_DEMO_SPEED);
        let _: CheckOutput = default_of(DEFAULT_CHECK_OUTPUT);
        parse_backfill_days(DEFAULT_BACKFILL_DAYS).unwrap();
        parse_backfill_step(DEFAULT_BACKFILL_STEP).unwrap();
        parse_backfill_max_calls(DEFAULT_BACKFILL_MAX_CALLS).unwrap();
        parse_label_value(DEFAULT_BACKFILL_JOB).unwrap();
        parse_duration(DEFAULT_DEMO_SPIKE_AFTER).unwrap();
        ServerCode::parse(DEMO_SERVER).unwrap();
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
    fn time_units_ignore_case_on_both_sides() {
        assert_eq!("Minutes".parse::<TimeUnit>().unwrap(), TimeUnit::Minutes);
        assert_eq!(" seconds ".parse::<TimeUnit>().unwrap(), TimeUnit::Seconds);
        assert!("hours".parse::<TimeUnit>().is_err());
    }
}
