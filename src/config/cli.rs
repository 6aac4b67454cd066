//! The command line as clap sees it: every flag typed with the value types of
//! [`super::values`], so that clap refuses a bad value with the same text as the file does.
//!
//! Every flag is global: it may stand before or after a subcommand (`check --wolkvox.server
//! 0032` and `--wolkvox.server 0032 check` are the same).

use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory as _, Parser};

use super::commands::*;
use super::spread::{AnyDuration, Shard};
use super::values::*;
use crate::window::Window;

const AFTER_HELP: &str = "\
The token is read from the file named by --wolkvox.token-file (WOLKVOX_TOKEN_FILE) or from the
environment variable WOLKVOX_TOKEN. No flag takes the token itself: it would show in `ps`.

Durations take units: 30s, 5m, 1h, 7d. Every bad value stops the program with exit code 2.";

/// The command line, each value parsed into its type; [`Cli::into_config`] checks how the
/// values go together.
#[derive(Debug, Parser)]
#[command(
    name = "wolkvox-exporter",
    version = crate::build_info::LONG_VERSION,
    about,
    after_help = AFTER_HELP
)]
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
    pub token_info_interval: Option<PositiveDuration>,

    /// Spend at most this share of the token's daily limit (e.g. 0.25): the poll interval grows so that the rest of the day's share lasts until local midnight, leaving the rest of the token to its other users. Needs --wolkvox.token-info-interval [default: off].
    #[arg(long = "poll.budget-share", env = "WOLKVOX_POLL_BUDGET_SHARE", value_name = "SHARE",
        value_parser = parse_budget_share, global = true)]
    pub budget_share: Option<f64>,

    /// What to do instead of serving: `check` makes one call per operation and prints the result; `backfill` writes past days for Prometheus.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Wolkvox server code of the operation, four digits such as 0032 (required unless --demo or --config.file).
    #[arg(
        long = "wolkvox.server",
        env = "WOLKVOX_SERVER",
        value_name = "CODE",
        global = true
    )]
    pub server: Option<ServerCode>,

    /// File holding the Wolkvox token (surrounding whitespace is trimmed).
    #[arg(
        long = "wolkvox.token-file",
        env = "WOLKVOX_TOKEN_FILE",
        value_name = "PATH",
        global = true
    )]
    pub token_file: Option<PathBuf>,

    /// Base URL of the Wolkvox API, for proxies and tests [default: https://wv{server}.wolkvox.com].
    #[arg(
        long = "wolkvox.url",
        env = "WOLKVOX_URL",
        value_name = "URL",
        global = true
    )]
    pub url: Option<BaseUrl>,

    /// IANA time zone of the operation: the report's dates are local times in it [default: America/Bogota].
    #[arg(
        long = "wolkvox.timezone",
        env = "WOLKVOX_TIMEZONE",
        value_name = "ZONE",
        global = true
    )]
    pub timezone: Option<Zone>,

    /// Value of the `operation` label [default: the server code].
    #[arg(
        long = "operation",
        env = "WOLKVOX_OPERATION",
        value_name = "NAME",
        global = true
    )]
    pub operation: Option<OperationName>,

    /// Report window: `today` (local midnight to now) or a duration up to 31d such as 15m, 1h, 7d [default: today].
    #[arg(
        long = "report.window",
        env = "WOLKVOX_REPORT_WINDOW",
        value_name = "WINDOW",
        global = true
    )]
    pub window: Option<Window>,

    /// Unit of plain numbers in the report's `time` field, minutes or seconds (H:MM:SS is unambiguous) [default: minutes].
    #[arg(
        long = "report.time-unit",
        env = "WOLKVOX_REPORT_TIME_UNIT",
        value_name = "UNIT",
        global = true
    )]
    pub time_unit: Option<TimeUnit>,

    /// Time between polls [default: 5m, or 15s with --demo].
    #[arg(
        long = "poll.interval",
        env = "WOLKVOX_POLL_INTERVAL",
        value_name = "DURATION",
        global = true
    )]
    pub poll_interval: Option<PositiveDuration>,

    /// Limit for one API call, body included [default: 60s].
    #[arg(
        long = "poll.timeout",
        env = "WOLKVOX_POLL_TIMEOUT",
        value_name = "DURATION",
        global = true
    )]
    pub poll_timeout: Option<PositiveDuration>,

    /// Poll only this process's share of the operations of --config.file: those whose FNV-1a hash of the name, modulo COUNT, is INDEX (e.g. 0/3).
    #[arg(
        long = "shard",
        env = "WOLKVOX_SHARD",
        value_name = "INDEX/COUNT",
        global = true
    )]
    pub shard: Option<Shard>,

    /// Spread the first polls of the operations over this time, so that many operations do not call Wolkvox at once; 0 starts them all at once [default: the smaller of the poll interval and 30s].
    #[arg(
        long = "poll.start-spread",
        env = "WOLKVOX_POLL_START_SPREAD",
        value_name = "DURATION",
        global = true
    )]
    pub start_spread: Option<AnyDuration>,

    /// How long the last good data series stay after the last successful poll, however many polls fail meanwhile (0 drops them at the first failure).
    #[arg(long = "poll.keep-stale", env = "WOLKVOX_POLL_KEEP_STALE", value_name = "DURATION", default_value = DEFAULT_KEEP_STALE,
        value_parser = parse_keep_stale, global = true)]
    pub keep_stale: Duration,

    /// Time after local midnight at which the previous day is closed with one call for the whole of it, so that rows Wolkvox adds for it late are counted; 0 closes it at the first poll after midnight.
    #[arg(long = "report.close-delay", env = "WOLKVOX_REPORT_CLOSE_DELAY", value_name = "DURATION",
        default_value = DEFAULT_CLOSE_DELAY, value_parser = parse_close_delay, global = true)]
    pub close_delay: Duration,

    /// Most (rp_id, cod_opc_menu) pairs exported per operation; further pairs are dropped and counted.
    #[arg(long = "report.max-series", env = "WOLKVOX_REPORT_MAX_SERIES", value_name = "N",
        default_value = DEFAULT_MAX_SERIES, value_parser = parse_max_series, global = true)]
    pub max_series: usize,

    /// Largest answer body read, held whole in memory: 60,000 records, Wolkvox's most, are 9 MB at their longest; a larger body stops reading and counts as decode_error (units: KB, MB, GB, KiB, MiB, GiB).
    #[arg(long = "wolkvox.max-body-size", env = "WOLKVOX_MAX_BODY_SIZE", value_name = "SIZE",
        default_value = DEFAULT_MAX_BODY_SIZE, global = true)]
    pub max_body_size: ByteSize,

    /// Address to serve /metrics on; `:PORT` listens on every address, IPv6 and IPv4.
    #[arg(long = "web.listen-address", value_name = "ADDR",
        default_value = DEFAULT_LISTEN_ADDRESS, global = true)]
    pub listen_address: ListenAddress,

    /// Time a new connection has for its TLS handshake and its first request's headers; a slower one is closed.
    #[arg(long = "web.read-header-timeout", env = "WOLKVOX_WEB_READ_HEADER_TIMEOUT", value_name = "DURATION",
        default_value = DEFAULT_READ_HEADER_TIMEOUT, global = true)]
    pub read_header_timeout: PositiveDuration,

    /// Time a kept-alive connection may wait for its next request before it is closed.
    #[arg(long = "web.idle-timeout", env = "WOLKVOX_WEB_IDLE_TIMEOUT", value_name = "DURATION",
        default_value = DEFAULT_IDLE_TIMEOUT, global = true)]
    pub idle_timeout: PositiveDuration,

    /// Most connections open at once; at the limit a new one closes the oldest that has not sent a request yet.
    #[arg(long = "web.max-connections", env = "WOLKVOX_WEB_MAX_CONNECTIONS", value_name = "N",
        default_value = DEFAULT_MAX_CONNECTIONS, value_parser = parse_max_connections, global = true)]
    pub max_connections: usize,

    /// Exporter-toolkit web configuration (TLS and basic auth), as for node_exporter.
    #[arg(
        long = "web.config.file",
        env = "WOLKVOX_WEB_CONFIG_FILE",
        value_name = "PATH",
        global = true
    )]
    pub web_config_file: Option<PathBuf>,

    /// Path under which the metrics are served.
    #[arg(long = "web.telemetry-path", value_name = "PATH",
        default_value = DEFAULT_TELEMETRY_PATH, global = true)]
    pub telemetry_path: TelemetryPath,

    /// Lowest level of log lines to print: error, warn, info, debug or trace.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = DEFAULT_LOG_LEVEL,
        global = true)]
    pub log_level: LogLevel,

    /// Format of log lines: logfmt or json.
    #[arg(long = "log.format", value_name = "FORMAT", default_value = DEFAULT_LOG_FORMAT,
        global = true)]
    pub log_format: LogFormat,

    /// Start the built-in simulated Wolkvox API on a loopback port and poll it (no server or token needed).
    #[arg(long = "demo", global = true)]
    pub demo: bool,

    /// With --demo: how many times faster than real time the demo's clock runs (60 = a simulated minute per second).
    #[arg(long = "demo.speed", value_name = "FACTOR", default_value = DEFAULT_DEMO_SPEED,
        global = true)]
    pub demo_speed: SpeedFactor,

    /// With --demo: multiply the PULSE calls of this routing point (1001, 1002 or 2001) by 20, to see the spike alert.
    #[arg(long = "demo.pulse-spike", value_name = "RP_ID", global = true)]
    pub demo_pulse_spike: Option<String>,

    /// With --demo: simulated time after start at which the PULSE spike begins.
    #[arg(long = "demo.pulse-spike-after", value_name = "DURATION",
        default_value = DEFAULT_DEMO_SPIKE_AFTER, value_parser = parse_duration, global = true)]
    pub demo_pulse_spike_after: Duration,

    /// With --demo: this routing point (1001, 1002 or 2001) stops getting calls, to see the outage alert.
    #[arg(long = "demo.outage", value_name = "RP_ID", global = true)]
    pub demo_outage: Option<String>,

    /// With --demo: simulated time after start at which the outage begins.
    #[arg(long = "demo.outage-after", value_name = "DURATION",
        default_value = DEFAULT_DEMO_SPIKE_AFTER, value_parser = parse_duration, global = true)]
    pub demo_outage_after: Duration,
}

/// A subcommand.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Validate the configuration, make one call per operation, print the report, and exit 0
    /// only when every operation answered. Use it to test a token and an IP allow-list.
    Check {
        /// Output format: table or json.
        #[arg(long = "output", value_name = "FORMAT", default_value = DEFAULT_CHECK_OUTPUT)]
        output: CheckOutput,
    },
    /// Fetch the last days of the report step by step and write them as an OpenMetrics file
    /// for `promtool tsdb create-blocks-from openmetrics`, with the live exporter's series.
    Backfill(BackfillArgs),
}

/// The flags of `backfill`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    /// Days to fetch before --end.
    #[arg(long = "days", value_name = "N", default_value = DEFAULT_BACKFILL_DAYS,
        value_parser = parse_backfill_days)]
    pub days: u32,
    /// Time between samples; it must divide a day (5m, 15m, 1h, 1d): one call per step.
    #[arg(long = "step", value_name = "DURATION", default_value = DEFAULT_BACKFILL_STEP,
        value_parser = parse_backfill_step)]
    pub step: Duration,
    /// Most calls a local day per server (token), token_info included, counted across the runs with this --output; the run stops there and a run the next day continues (the default leaves most of a one-licence token's 1,000 calls a day to the live exporter).
    #[arg(long = "max-calls", value_name = "N", default_value = DEFAULT_BACKFILL_MAX_CALLS,
        value_parser = parse_backfill_max_calls)]
    pub max_calls: u64,
    /// The OpenMetrics file to write; its progress is kept beside it in PATH.state, so that a run stopped early continues where it stopped.
    #[arg(long = "output", value_name = "PATH")]
    pub output: PathBuf,
    /// Last time to cover, a local time of each operation's zone such as 2026-11-25T14:00:00 [default: now].
    #[arg(long = "end", value_name = "TIME", value_parser = parse_civil_time)]
    pub end: Option<jiff::civil::DateTime>,
    /// Value of the `job` label the samples get: the job that scrapes the live exporter.
    #[arg(long = "job", value_name = "NAME", default_value = DEFAULT_BACKFILL_JOB,
        value_parser = parse_label_value)]
    pub job: String,
    /// Value of the `instance` label the samples get: the live exporter's scrape target (host:port), so that its series continue these [default: none].
    #[arg(long = "instance", value_name = "HOST:PORT", value_parser = parse_label_value)]
    pub instance: Option<String>,
}

/// The one line to print for a command line that clap refused (other than `--help` and
/// `--version`): a bad value is named as `--flag (ENV): why`, like every other bad value.
pub fn error_line(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && let Some(why) = std::error::Error::source(e)
    {
        // clap shows the argument as `--flag <VALUE>`.
        let flag = arg.split_whitespace().next().unwrap_or(arg);
        return format!("{}: {why}", flag_with_env(flag));
    }
    // clap's message spans several lines; keep its first, which names the flag.
    let rendered = e.to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see --help)")
}

/// `--flag (ENV)` for a flag read from an environment variable too, else `--flag`.
fn flag_with_env(flag: &str) -> String {
    let long = flag.trim_start_matches('-');
    let cmd = Cli::command();
    let env = std::iter::once(&cmd)
        .chain(cmd.get_subcommands())
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env());
    match env {
        Some(env) => format!("{flag} ({})", env.to_string_lossy()),
        None => flag.to_owned(),
    }
}
