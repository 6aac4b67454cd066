//! The command line as clap sees it: every flag typed with the value types of
//! [`super::values`], so that clap refuses a bad value with the same text as the file does.
//!
//! Each subcommand takes only the flags it uses: the Wolkvox, operation and demo flags are
//! global, so they may stand before or after a subcommand (`check --wolkvox.server 0032` and
//! `--wolkvox.server 0032 check` are the same); the server's flags are not, and
//! [`Cli::parse_args`] refuses them beside a subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Args as _, CommandFactory as _, FromArgMatches as _, Parser};

use super::values::*;
use crate::config::window::Window;

const AFTER_HELP: &str = "\
The token is read from the file named by --wolkvox.token-file (WOLKVOX_TOKEN_FILE) or from the
environment variable WOLKVOX_TOKEN. No flag takes the token itself: it would show in `ps`.

Durations take units: 30s, 5m, 1h, 7d. Every bad value stops the program with exit code 2.";

/// The command line, each value parsed into its type; [`Cli::into_config`] checks how the
/// values go together. Parse it with [`Cli::parse_args`], which keeps the server's flags to
/// the server.
#[derive(Debug, Parser)]
#[command(
    name = "wolkvox-exporter",
    version = crate::sys::build_info::LONG_VERSION,
    about,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub wolkvox: WolkvoxArgs,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub demo: DemoArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The flags of the operations and of the calls, which the server, `check` and `backfill`
/// share; they may stand before or after a subcommand.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Wolkvox and operation options")]
pub struct WolkvoxArgs {
    /// YAML file with several operations (see the README); excludes the single-operation flags.
    #[arg(long = "config.file", env = "WOLKVOX_CONFIG_FILE", value_name = "PATH",
        conflicts_with_all = ["server", "token_file", "url", "timezone", "operation", "window",
            "time_unit", "poll_timeout", "enabled"])]
    pub config_file: Option<PathBuf>,

    /// YAML file naming routing points and menu options per operation (see the README); reloaded with the configuration.
    #[arg(long = "names.file", env = "WOLKVOX_NAMES_FILE", value_name = "PATH")]
    pub names_file: Option<PathBuf>,

    /// Wolkvox server code of the operation, four digits such as 0032 (required unless --demo or --config.file).
    #[arg(long = "wolkvox.server", env = "WOLKVOX_SERVER", value_name = "CODE")]
    pub server: Option<ServerCode>,

    /// File holding the Wolkvox token (surrounding whitespace is trimmed).
    #[arg(
        long = "wolkvox.token-file",
        env = "WOLKVOX_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub token_file: Option<PathBuf>,

    /// Base URL of the Wolkvox API, for proxies and tests [default: https://wv{server}.wolkvox.com].
    #[arg(
        long = "wolkvox.url",
        env = "WOLKVOX_URL",
        value_name = "URL",
        value_parser = parse_url
    )]
    pub url: Option<reqwest::Url>,

    /// IANA time zone of the operation: the report's dates are local times in it [default: America/Bogota].
    #[arg(
        long = "wolkvox.timezone",
        env = "WOLKVOX_TIMEZONE",
        value_name = "ZONE",
        value_parser = parse_zone
    )]
    pub timezone: Option<jiff::tz::TimeZone>,

    /// Value of the `operation` label [default: the server code].
    #[arg(
        long = "operation",
        env = "WOLKVOX_OPERATION",
        value_name = "NAME",
        value_parser = non_empty
    )]
    pub operation: Option<String>,

    /// Report window: `today` (local midnight to now) or a duration up to 31d such as 15m, 1h, 7d [default: today].
    #[arg(
        long = "report.window",
        env = "WOLKVOX_REPORT_WINDOW",
        value_name = "WINDOW",
        value_parser = Window::parse
    )]
    pub window: Option<Window>,

    /// Unit of plain numbers in the report's `time` field, minutes or seconds (H:MM:SS is unambiguous) [default: minutes].
    #[arg(
        long = "report.time-unit",
        env = "WOLKVOX_REPORT_TIME_UNIT",
        value_name = "UNIT"
    )]
    pub time_unit: Option<TimeUnit>,

    /// Limit for one API call, body included [default: 60s].
    #[arg(
        long = "poll.timeout",
        env = "WOLKVOX_POLL_TIMEOUT",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub poll_timeout: Option<Duration>,

    /// Most (rp_id, cod_opc_menu) pairs exported per operation; further pairs are dropped and counted.
    #[arg(long = "report.max-series", env = "WOLKVOX_REPORT_MAX_SERIES", value_name = "N",
        default_value = "10000", value_parser = positive::<usize>)]
    pub max_series: usize,

    /// Largest answer body read, held whole in memory: 60,000 records, Wolkvox's most, are 9 MB at their longest; a larger body stops reading and counts as decode_error (units: KB, MB, GB, KiB, MiB, GiB).
    #[arg(long = "wolkvox.max-body-size", env = "WOLKVOX_MAX_BODY_SIZE", value_name = "SIZE",
        default_value = DEFAULT_MAX_BODY_SIZE)]
    pub max_body_size: ByteSize,

    /// Lowest level of log lines to print: error, warn, info, debug or trace.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: tracing::Level,

    /// Format of log lines: logfmt or json.
    #[arg(long = "log.format", value_name = "FORMAT", default_value = "logfmt")]
    pub log_format: LogFormat,
}

/// The flags of the server alone: polling on a schedule, the token's budget and the listener.
/// They are not global, so that a subcommand refuses them.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Server options")]
pub struct ServeArgs {
    /// Also call Wolkvox's token_info every DURATION (e.g. 1h) to export the token's daily limit and use; each call spends the budget too [default: off].
    #[arg(
        long = "wolkvox.token-info-interval",
        env = "WOLKVOX_TOKEN_INFO_INTERVAL",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub token_info_interval: Option<Duration>,

    /// Spend at most this share of the token's daily limit (e.g. 0.25): the poll interval grows so that the rest of the day's share lasts until local midnight, leaving the rest of the token to its other users. Needs --wolkvox.token-info-interval [default: off].
    #[arg(long = "poll.budget-share", env = "WOLKVOX_POLL_BUDGET_SHARE", value_name = "SHARE",
        value_parser = parse_budget_share)]
    pub budget_share: Option<f64>,

    /// Time between polls [default: 5m, or 15s with --demo].
    #[arg(
        long = "poll.interval",
        env = "WOLKVOX_POLL_INTERVAL",
        value_name = "DURATION",
        value_parser = positive_duration,
        // Not among --config.file's conflicts: the subcommands do not have it.
        conflicts_with = "config_file"
    )]
    pub poll_interval: Option<Duration>,

    #[command(flatten)]
    pub sharding: ShardArg,

    /// Spread the first polls of the operations over this time, so that many operations do not call Wolkvox at once; 0 starts them all at once [default: the smaller of the poll interval and 30s].
    #[arg(
        long = "poll.start-spread",
        env = "WOLKVOX_POLL_START_SPREAD",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub start_spread: Option<Duration>,

    /// How long the last good data series stay after the last successful poll, however many polls fail meanwhile (0 drops them at the first failure).
    #[arg(long = "poll.keep-stale", env = "WOLKVOX_POLL_KEEP_STALE", value_name = "DURATION", default_value = "15m",
        value_parser = parse_keep_stale)]
    pub keep_stale: Duration,

    /// Time after local midnight at which the previous day is closed with one call for the whole of it, so that rows Wolkvox adds for it late are counted; 0 closes it at the first poll after midnight.
    #[arg(long = "report.close-delay", env = "WOLKVOX_REPORT_CLOSE_DELAY", value_name = "DURATION",
        default_value = "15m", value_parser = parse_close_delay)]
    pub close_delay: Duration,

    /// Address to serve /metrics on: HOST:PORT, a host name resolved once at start (localhost:9862), or `:PORT` for every address, IPv6 and IPv4.
    // The Prometheus port allocation range 9100-9999 is full; 9862 is the project's own
    // choice and is documented in the README.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = ":9862",
        value_parser = parse_listen_address)]
    pub listen_address: SocketAddr,

    #[command(flatten)]
    pub limits: Limits,

    /// Exporter-toolkit web configuration (TLS and basic auth), as for node_exporter.
    #[arg(
        long = "web.config.file",
        env = "WOLKVOX_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub web_config_file: Option<PathBuf>,

    /// Path under which the metrics are served.
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics",
        value_parser = parse_telemetry_path)]
    pub telemetry_path: String,
}

/// What slow or hostile clients may hold of the listener (the listener in the server module
/// enforces them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// Time a new connection has for its TLS handshake and its first request's headers; a slower one is closed.
    // A scraper sends its request as soon as it connects.
    #[arg(long = "web.read-header-timeout", env = "WOLKVOX_WEB_READ_HEADER_TIMEOUT", value_name = "DURATION",
        default_value = "10s", value_parser = positive_duration)]
    pub read_header_timeout: Duration,

    /// Time a kept-alive connection may wait for its next request before it is closed.
    // Longer than any usual scrape interval, so that Prometheus keeps its connection between
    // scrapes.
    #[arg(long = "web.idle-timeout", env = "WOLKVOX_WEB_IDLE_TIMEOUT", value_name = "DURATION",
        default_value = "2m", value_parser = positive_duration)]
    pub idle_timeout: Duration,

    /// Most connections open at once; at the limit a new one closes the oldest that has not sent a request yet.
    // As Prometheus' own: well below the common open-file limit of 1,024.
    #[arg(long = "web.max-connections", env = "WOLKVOX_WEB_MAX_CONNECTIONS", value_name = "N",
        default_value = "512", value_parser = positive::<usize>)]
    pub max_connections: usize,
}

/// `--shard`: the server polls only its share of the file's operations, and `check` calls
/// only those, so that a shard's command line can be checked before it is deployed.
#[derive(Debug, Clone, clap::Args)]
pub struct ShardArg {
    /// Take only this process's share of the operations of --config.file: those whose FNV-1a hash of the name, modulo COUNT, is INDEX (e.g. 0/3).
    #[arg(long = "shard", env = "WOLKVOX_SHARD", value_name = "INDEX/COUNT")]
    pub shard: Option<Shard>,
}

/// The flags of `--demo`, which the server, `check` and `backfill` share.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Demo options")]
pub struct DemoArgs {
    /// Start the built-in simulated Wolkvox API on a loopback port and poll it (no server or token needed).
    #[arg(long = "demo")]
    pub enabled: bool,

    /// With --demo: how many times faster than real time the demo's clock runs (60 = a simulated minute per second) [default: 1].
    #[arg(long = "demo.speed", value_name = "FACTOR", value_parser = parse_speed)]
    pub speed: Option<f64>,

    /// With --demo: multiply the PULSE calls of this routing point (1001, 1002 or 2001) by 20, to see the spike alert.
    #[arg(long = "demo.pulse-spike", value_name = "RP_ID", value_parser = demo_routing_point)]
    pub pulse_spike: Option<String>,

    /// With --demo: simulated time after start at which the PULSE spike begins.
    #[arg(long = "demo.pulse-spike-after", value_name = "DURATION",
        default_value = "0s", value_parser = parse_duration)]
    pub pulse_spike_after: Duration,

    /// With --demo: this routing point (1001, 1002 or 2001) stops getting calls, to see the outage alert.
    #[arg(long = "demo.outage", value_name = "RP_ID", value_parser = demo_routing_point)]
    pub outage: Option<String>,

    /// With --demo: simulated time after start at which the outage begins.
    #[arg(long = "demo.outage-after", value_name = "DURATION",
        default_value = "0s", value_parser = parse_duration)]
    pub outage_after: Duration,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Validate the configuration, make one call per operation, print the report, and exit 0
    /// only when every operation answered. Use it to test a token and an IP allow-list.
    Check(CheckArgs),
    /// Fetch the last days of the report step by step and write them as an OpenMetrics file
    /// for `promtool tsdb create-blocks-from openmetrics`, with the live exporter's series.
    Backfill(BackfillArgs),
    /// Write a names file (for --names.file) to standard output, with every routing point and
    /// menu option of each operation's previous local day, names left empty to fill in.
    Names(NamesArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct NamesArgs {
    #[command(flatten)]
    pub sharding: ShardArg,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Output format: table or json.
    #[arg(long = "output", value_name = "FORMAT", value_enum, default_value_t = CheckOutput::Table)]
    pub output: CheckOutput,
    #[command(flatten)]
    pub sharding: ShardArg,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    /// Days to fetch before --end.
    // A week, the span of the usual baselines.
    #[arg(long = "days", value_name = "N", default_value = "7",
        value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Time between samples; it must divide a day (5m, 15m, 1h, 1d): one call per step.
    // One sample an hour, so that `increase(...[1h])` and the 3h PULSE baseline have data.
    #[arg(long = "step", value_name = "DURATION", default_value = "1h",
        value_parser = parse_backfill_step)]
    pub step: Duration,
    /// Most calls a local day per server (token), token_info included, counted across the runs with this --output; the run stops there and a run the next day continues (the default leaves most of a one-licence token's 1,000 calls a day to the live exporter).
    // 300 of a one-licence token's 1,000 calls a local day, counted across runs, leaving 700
    // for the live exporter, which spends 313 at the default 5m interval with hourly
    // token_info (README, "Backfill").
    #[arg(long = "max-calls", value_name = "N", default_value = "300",
        value_parser = positive::<u64>)]
    pub max_calls: u64,
    /// The OpenMetrics file to write; its progress is kept beside it in PATH.state, so that a run stopped early continues where it stopped.
    #[arg(long = "output", value_name = "PATH")]
    pub output: PathBuf,
    /// Last time to cover, a local time of each operation's zone such as 2026-11-25T14:00:00 [default: now].
    #[arg(long = "end", value_name = "TIME", value_parser = parse_civil_time)]
    pub end: Option<jiff::civil::DateTime>,
    /// Value of the `job` label the samples get: the job that scrapes the live exporter.
    // The job name that the rules and dashboards select.
    #[arg(long = "job", value_name = "NAME", default_value = "wolkvox-exporter",
        value_parser = non_empty)]
    pub job: String,
    /// Value of the `instance` label the samples get: the live exporter's scrape target (host:port), so that its series continue these [default: none].
    #[arg(long = "instance", value_name = "HOST:PORT", value_parser = non_empty)]
    pub instance: Option<String>,
}

impl Cli {
    /// clap's command, with the operations' and the demo's flags global: the derive sets
    /// `global` flag by flag only.
    pub(crate) fn definition() -> clap::Command {
        let shared = DemoArgs::augment_args(WolkvoxArgs::augment_args(clap::Command::new("")));
        Cli::command().mut_args(|a| {
            let global = shared.get_arguments().any(|s| s.get_id() == a.get_id());
            a.global(global)
        })
    }

    /// Parses a command line (the program's name first). A subcommand takes none of the
    /// server's flags: given on the command line they are refused with a line that names them,
    /// and their environment variables are not read, so that a server's environment (say
    /// WOLKVOX_POLL_BUDGET_SHARE) does not stop a `backfill` run beside it.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let mut cmd = Cli::definition();
        let server = ServeArgs::augment_args(clap::Command::new("serve"));
        let is_server = |id: &clap::Id| server.get_arguments().any(|a| a.get_id() == id);
        let quiet = Cli::definition().mut_args(|a| match is_server(a.get_id()) {
            true => a.env(None::<&'static str>),
            false => a,
        });
        // Without their variables the server's flags can only take away errors, so a failure
        // here fails below too, where the help and the errors show every variable.
        let matches = match quiet.try_get_matches_from(&args) {
            Ok(m) if m.subcommand_name().is_some() => m,
            _ => cmd
                .try_get_matches_from_mut(&args)
                .map_err(|e| misplaced(&cmd, e))?,
        };
        if let Some(name) = matches.subcommand_name() {
            let given = cmd
                .get_arguments()
                .filter(|a| is_server(a.get_id()))
                .find(|a| {
                    matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
                });
            // `check` takes --shard of its own, and the server's before its name.
            let taken = |long| {
                cmd.find_subcommand(name)
                    .is_some_and(|c| c.get_arguments().any(|a| a.get_long() == long))
            };
            if let Some(flag) = given.filter(|a| !taken(a.get_long())) {
                let line = server_flag_line(&cmd, flag.get_long().unwrap_or_default());
                return Err(cmd.error(ErrorKind::ArgumentConflict, line.unwrap_or_default()));
            }
        }
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
}

/// A flag of the server given after a subcommand's name, which clap found unknown there, as
/// the line that says so.
fn misplaced(cmd: &clap::Command, e: clap::Error) -> clap::Error {
    let line = match (e.kind(), e.get(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(ContextValue::String(arg))) => {
            let long = arg
                .trim_start_matches('-')
                .split('=')
                .next()
                .unwrap_or_default();
            server_flag_line(cmd, long)
        }
        _ => None,
    };
    match line {
        Some(line) => cmd.clone().error(ErrorKind::ArgumentConflict, line),
        None => e,
    }
}

/// For a flag of the server, the line that says who takes it and which subcommands do not.
fn server_flag_line(cmd: &clap::Command, long: &str) -> Option<String> {
    let of = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some(long));
    if !of(&ServeArgs::augment_args(clap::Command::new("serve"))) {
        return None;
    }
    let (taking, refusing): (Vec<_>, Vec<_>) = cmd.get_subcommands().partition(|c| of(c));
    let taking = std::iter::once("the server").chain(taking.iter().map(|c| c.get_name()));
    let refusing: Vec<&str> = refusing.iter().map(|c| c.get_name()).collect();
    Some(format!(
        "--{long} is a flag of {}, not of {}",
        taking.collect::<Vec<_>>().join(" and "),
        refusing.join(" or ")
    ))
}

/// The one line to print for a command line that clap refused (other than `--help` and
/// `--version`): it names the argument, and a bad value is named as `--flag (ENV): why`, like
/// every other bad value.
pub fn error_line(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && let Some(why) = std::error::Error::source(e)
    {
        // clap shows the argument as `--flag <VALUE>`.
        let flag = arg.split_whitespace().next().unwrap_or(arg);
        let cmd = Cli::definition();
        let env = std::iter::once(&cmd)
            .chain(cmd.get_subcommands())
            .flat_map(|c| c.get_arguments())
            .find(|a| a.get_long() == Some(flag.trim_start_matches('-')))
            .and_then(|a| a.get_env());
        return match env {
            Some(env) => format!("{flag} ({}): {why}", env.to_string_lossy()),
            None => format!("{flag}: {why}"),
        };
    }
    // clap's message is its first paragraph. Its first line names the argument, except where
    // the names follow on lines of their own (the required arguments not given, the arguments
    // in conflict, the values possible): those join it.
    let rendered = e.to_string();
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        format!("{first} (see --help)")
    } else {
        format!("{first} {} (see --help)", rest.join(", "))
    }
}
