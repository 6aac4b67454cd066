//! The value types of the settings and their parse functions, each with one error text,
//! shared by the command line (clap calls them) and by `--config.file` (its parse calls the
//! same ones), and the defaults that both use; the subcommands' values are parsed here too.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use reqwest::Url;

use crate::config::window::Window;

pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_WINDOW: Window = Window::Today;
pub const DEFAULT_TIME_UNIT: TimeUnit = TimeUnit::Minutes;
/// Largest answer body read, when nothing is given. Wolkvox returns at most 60,000 records; with
/// every value at its longest realistic length they are 9.0 MB (tests/deploy/report_bodies.py),
/// and 16 MB leaves 7 MB for what that estimate misses (pretty-printed JSON, an undocumented
/// field). The whole body is held in memory: the chart's memory limit follows this cap
/// (BENCHMARKS.md, "Memory at the body cap").
pub const DEFAULT_MAX_BODY_SIZE: &str = "16MB";
/// The routing points of the demo's simulated traffic, which `--demo.pulse-spike` and
/// `--demo.outage` may name (the simulator's table has these, a test of its own says so).
pub const DEMO_ROUTING_POINTS: [&str; 3] = ["1001", "1002", "2001"];

/// Time zone of an operation when nothing is given.
pub fn default_zone() -> TimeZone {
    // The zone database is compiled into the binary, this zone included.
    TimeZone::get("America/Bogota").expect("a bundled zone")
}

/// Parses a default value written as its flag takes it.
pub(crate) fn default_of<T: FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    // The defaults are literals of this crate; the tests that start from them prove each one.
    text.parse().expect("a default value parses")
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

    /// The code of the `--demo` operation.
    pub fn demo() -> Self {
        Self("0000".to_owned())
    }

    /// Wolkvox's own URL for this server.
    pub fn url(&self) -> Url {
        // Digits only: the URL is always valid.
        Url::parse(&format!("https://wv{}.wolkvox.com", self.0)).expect("a URL of digits")
    }
}

impl FromStr for ServerCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
            .ok_or_else(|| format!("{s:?} is not a server code: expected digits such as 0032"))
    }
}

impl std::fmt::Display for ServerCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

    /// Reads the token from a file (surrounding whitespace is trimmed). The error names the
    /// file, never its content.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Token::new(&text).map_err(|why| format!("{}: {why}", path.display()))
    }

    /// The secret itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
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
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minutes" => Ok(TimeUnit::Minutes),
            "seconds" => Ok(TimeUnit::Seconds),
            _ => Err(format!("{s:?} is not minutes or seconds")),
        }
    }
}

/// Log line format: the logging module's own type, read from a flag here.
pub use crate::sys::logging::LogFormat;

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Ok(LogFormat::Logfmt),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not logfmt or json")),
        }
    }
}

/// An IANA time zone such as America/Bogota.
pub fn parse_zone(s: &str) -> Result<TimeZone, String> {
    // The zone database is compiled into the binary (jiff's tzdb-bundle-always): the
    // machine's own zone files never matter.
    TimeZone::get(s.trim()).map_err(|_| {
        format!("unknown time zone {s:?}: expected an IANA name such as America/Bogota")
    })
}

/// A humantime duration (30s, 5m, 1h, 7d), zero included.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration such as 30s, 5m or 1h: {e}"))
}

pub fn positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be greater than zero".to_owned()),
        d => Ok(d),
    }
}

/// The base URL of the Wolkvox API: http or https, with a host, no query, no credentials.
pub fn parse_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{s:?} must be an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a query or credentials: the token goes in a header".into());
    }
    Ok(url)
}

/// A name or label value: not empty, surrounding whitespace trimmed.
pub fn non_empty(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("must not be empty".to_owned()),
        name => Ok(name.to_owned()),
    }
}

/// A whole number above zero.
pub fn positive<T: FromStr + PartialOrd + Default>(s: &str) -> Result<T, String> {
    s.trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| format!("{s:?} is not a whole number above 0"))
}

/// A byte size above zero: a plain number of bytes, or one with KB, MB, GB (powers of 1000) or
/// KiB, MiB, GiB (powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a size above 0 such as 300MB or 512MiB");
        let trimmed = s.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => return Err(bad()),
        };
        let bytes = n.checked_mul(mult).and_then(|b| usize::try_from(b).ok());
        bytes.filter(|b| *b > 0).map(Self).ok_or_else(bad)
    }
}

/// Where /metrics is served: `IP:PORT`, `HOST:PORT`, or `:PORT` for every address, IPv6 and
/// IPv4. A host name is looked up here, once at start, and only for the server (a subcommand
/// refuses the flag); of its addresses the first IPv4 one is taken, as node_exporter does,
/// else the first.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let trimmed = s.trim();
    let bad = || {
        format!("{s:?} is not HOST:PORT or :PORT, such as localhost:9862, 127.0.0.1:9862 or :9862")
    };
    if let Some(port) = trimmed.strip_prefix(':') {
        // Every address, IPv6 and IPv4 alike (Linux accepts IPv4 on an IPv6 wildcard
        // socket); main falls back to 0.0.0.0 where IPv6 is switched off.
        let port: u16 = port.parse().map_err(|_| bad())?;
        return Ok(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)));
    }
    if let Ok(addr) = trimmed.parse() {
        return Ok(addr);
    }
    let (host, port) = trimmed.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let is_name = !host.is_empty()
        && (host.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !is_name {
        return Err(bad());
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .collect();
    let first = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first());
    first
        .copied()
        .ok_or_else(|| format!("{host:?} has no address"))
}

/// The path of the metrics: starts with `/` and is none of the other routes.
pub fn parse_telemetry_path(s: &str) -> Result<String, String> {
    let path = s.trim();
    if !path.starts_with('/') || ["/", "/healthz", "/readyz"].contains(&path) {
        return Err(format!(
            "{s:?} must start with / and differ from /, /healthz and /readyz"
        ));
    }
    Ok(path.to_owned())
}

/// A routing point of the demo's simulated traffic. They are the simulator's data; checking
/// them here (the one use of the simulator in the configuration) keeps a bad id an exit-2
/// error at start.
pub fn demo_routing_point(s: &str) -> Result<String, String> {
    match s.trim() {
        rp if DEMO_ROUTING_POINTS.contains(&rp) => Ok(rp.to_owned()),
        rp => Err(format!(
            "{rp:?} is not a demo routing point ({})",
            DEMO_ROUTING_POINTS.join(", ")
        )),
    }
}

/// How many times faster than real time the demo's clock runs: above 0, at most 100000.
pub fn parse_speed(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0 && *f <= 100_000.0)
        .ok_or_else(|| format!("{s:?} is not a factor between 0 and 100000"))
}

/// Parses `--poll.keep-stale`: a duration (zero drops the data at the first failure). A bare
/// number was a count of polls before this became a duration: it is refused with that said,
/// rather than read as a count or as seconds.
pub fn parse_keep_stale(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Ok(Duration::ZERO),
        Ok(_) => Err(format!(
            "{s:?} looks like a count of polls: it is now a duration, the time the data series stay after the last successful poll, such as 15m"
        )),
        Err(_) => parse_duration(s),
    }
}

/// Parses `--poll.budget-share`: a share of the token's daily limit, above 0 and at most 1.
pub fn parse_budget_share(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .ok_or_else(|| format!("{s:?} is not a share above 0 and at most 1, such as 0.25"))
}

/// Parses `--report.close-delay`: a duration shorter than a day (zero closes the day at the
/// first poll after midnight).
pub fn parse_close_delay(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d >= Duration::from_secs(24 * 3600) {
        return Err(format!(
            "{s:?} is a day or more: the previous day must be closed before the next one ends"
        ));
    }
    Ok(d)
}

/// `--shard INDEX/COUNT`: this process polls the operations of `--config.file` whose
/// FNV-1a 64-bit hash of the name's UTF-8 bytes, modulo COUNT, is INDEX.
///
/// FNV-1a is a published, fixed function (no per-process key, unlike Rust's default
/// hasher), so the assignment is the same in every process, on every machine and in every
/// version: shards never overlap and never leave an operation out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This process's shard, below `count`.
    pub index: u32,
    /// How many shards share the file.
    pub count: u32,
}

impl Shard {
    /// The shard that polls `operation`, among `count`.
    pub fn of(operation: &str, count: u32) -> u32 {
        use std::hash::Hasher as _;
        let mut h = fnv::FnvHasher::default();
        h.write(operation.as_bytes());
        (h.finish() % u64::from(count)) as u32
    }

    pub fn owns(&self, operation: &str) -> bool {
        Self::of(operation, self.count) == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not INDEX/COUNT such as 0/3");
        let (index, count) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: COUNT must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: INDEX must be below COUNT (shards are numbered from 0)"
            ));
        }
        Ok(Self { index, count })
    }
}

/// The start spread when none is given: the smaller of the interval and this.
pub const DEFAULT_START_SPREAD_CAP: Duration = Duration::from_secs(30);

/// The format of `check`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckOutput {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

/// `backfill --step`: a duration that divides a day, so that every local midnight is a step.
pub fn parse_backfill_step(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    const DAY: u64 = 24 * 3600;
    if d.subsec_nanos() != 0 || d.as_secs() == 0 || d.as_secs() > DAY || DAY % d.as_secs() != 0 {
        return Err(format!(
            "{s:?} does not divide a day into whole steps: use a step from 1s to 1d such as 5m, 15m, 1h or 1d"
        ));
    }
    Ok(d)
}

/// `backfill --end`: a local civil time of the operation's zone, `2026-11-25T14:00:00` (a
/// space instead of the `T` is taken too).
pub fn parse_civil_time(s: &str) -> Result<jiff::civil::DateTime, String> {
    (s.trim().replacen(' ', "T", 1).parse())
        .map_err(|_| format!("{s:?} is not a local time such as 2026-11-25T14:00:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        let parse_size = |s: &str| s.parse::<ByteSize>().ok().map(|size| size.0);
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
