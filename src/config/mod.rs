//! The configuration: the command line ([`cli`], clap with environment variables) or a YAML
//! file ([`mod@file`]), both read with the parsers of [`values`], validated into a [`Config`]
//! of real types.
//!
//! A bad value gives exactly one line that names the flag and its environment variable (or the
//! file, the operation and the key).

pub mod cli;
pub mod file;
pub mod names;
pub mod values;
pub mod web;
pub mod window;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;
use reqwest::Url;

pub use cli::{BackfillArgs, CheckArgs, Cli, Command, Limits, NamesArgs};
pub use values::*;

use crate::config::web::WebConfig;
use crate::config::window::Window;

/// A bad value on the command line or in the environment: one line that names the flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}: {1}")]
pub struct ConfigError(&'static str, String);

impl ConfigError {
    fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self(flag, message.into())
    }
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
    /// A routing point that stops getting calls, and the simulated time after start when it
    /// does.
    pub outage: Option<(String, Duration)>,
}

/// One Wolkvox operation: a server code, a token, and how to poll it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationConfig {
    /// Value of the `operation` label.
    pub name: String,
    /// Server code, sent in the `wolkvox_server` header.
    pub server: ServerCode,
    pub upstream: Upstream,
    pub timezone: TimeZone,
    pub window: Window,
    pub time_unit: TimeUnit,
    pub poll_interval: Duration,
    pub poll_timeout: Duration,
}

/// The validated configuration of one exporter process: the value of each flag of [`Cli`]
/// (docs/configuration.md), with the files read and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub operations: Vec<OperationConfig>,
    /// Reloaded on SIGHUP and when it changes, with `names_file`.
    pub config_file: Option<PathBuf>,
    pub names_file: Option<PathBuf>,
    /// The names of routing points and options, from both files, as read at start.
    pub names: names::Names,
    pub token_info_interval: Option<Duration>,
    pub budget_share: Option<f64>,
    pub keep_stale: Duration,
    pub close_delay: Duration,
    pub shard: Option<Shard>,
    /// `None` for the default, the smaller of each operation's interval and 30s.
    pub start_spread: Option<Duration>,
    pub max_series: usize,
    /// In bytes.
    pub max_body_size: usize,
    /// Loaded and checked at start.
    pub web: WebConfig,
    /// The file `web` came from, read again when it changes.
    pub web_config_file: Option<PathBuf>,
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    pub limits: Limits,
    pub log_level: tracing::Level,
    pub log_format: LogFormat,
}

impl Config {
    /// A configuration for polling one operation at `base_url` with `token`, with every other
    /// value at its default. Tests and embedders start from this.
    pub fn new(server: ServerCode, base_url: Url, token: Token) -> Self {
        // The defaults of the flags, so that each default is written once; the environment
        // is left out.
        let args = [
            "",
            "--wolkvox.server",
            server.as_str(),
            "--wolkvox.url",
            base_url.as_str(),
        ];
        let quiet = Cli::definition().mut_args(|a| a.env(None::<&str>));
        let matches = quiet
            .try_get_matches_from(args)
            .expect("a server and a URL parse");
        let cli =
            <Cli as clap::FromArgMatches>::from_arg_matches(&matches).expect("a command line");
        let env = |name: &str| (name == "WOLKVOX_TOKEN").then(|| token.expose().to_owned());
        cli.into_config(&env).expect("the defaults are valid")
    }

    /// The demo options, when the upstream is the demo simulator.
    pub fn upstream_demo(&self) -> Option<&DemoOptions> {
        self.operations.iter().find_map(|op| match &op.upstream {
            Upstream::Demo(o) => Some(o),
            Upstream::Remote { .. } => None,
        })
    }
}

/// The operations of the file that `shard` polls (all of them without a shard). A shard may
/// own none: it then serves only its self-metrics, and says so in `wolkvox_shard_operations`.
pub fn select_shard(
    operations: Vec<OperationConfig>,
    shard: Option<Shard>,
) -> Vec<OperationConfig> {
    let owned = |o: &OperationConfig| shard.is_none_or(|s| s.owns(&o.name));
    operations.into_iter().filter(owned).collect()
}

const TOKEN_FILE_FLAG: &str = "--wolkvox.token-file (WOLKVOX_TOKEN_FILE)";

impl Cli {
    /// Checks how the values go together and reads the token and the files. `env` looks
    /// environment variables up (WOLKVOX_TOKEN, and the `token_env` names of a configuration
    /// file), passed in so that the function does not read the environment behind the
    /// caller's back.
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // `check` takes --shard after its name too; `backfill` not at all.
        let shard = match &self.command {
            Some(Command::Check(args)) => args.sharding.shard.or(self.serve.sharding.shard),
            Some(Command::Backfill(_)) => None,
            Some(Command::Names(args)) => args.sharding.shard.or(self.serve.sharding.shard),
            None => self.serve.sharding.shard,
        };
        // clap refuses the single-operation flags beside --config.file; the token's variable
        // is no flag.
        let config_file = self.wolkvox.config_file.as_deref();
        if config_file.is_some() && env("WOLKVOX_TOKEN").is_some() {
            return Err(ConfigError::new(
                "--config.file (WOLKVOX_CONFIG_FILE)",
                "cannot be combined with WOLKVOX_TOKEN: put per-operation settings in the file",
            ));
        }
        if config_file.is_none() && shard.is_some() {
            return Err(ConfigError::new(
                "--shard (WOLKVOX_SHARD)",
                "needs --config.file: a single operation cannot be shared between processes",
            ));
        }
        let names_file = self.wolkvox.names_file.as_deref();
        let (operations, names) = file::read_files(config_file, names_file, env)
            .map_err(|(flag, e)| ConfigError::new(flag, e.to_string()))?;
        let operations = match operations {
            Some(operations) => select_shard(operations, shard),
            None => vec![self.single_operation(env("WOLKVOX_TOKEN"))?],
        };
        // The server's settings are checked, and its files read, only for the server: a
        // subcommand leaves them at their defaults (see `Cli::parse_args`).
        let serving = self.command.is_none();
        if serving && self.serve.budget_share.is_some() && self.serve.token_info_interval.is_none()
        {
            return Err(ConfigError::new(
                "--poll.budget-share (WOLKVOX_POLL_BUDGET_SHARE)",
                "needs --wolkvox.token-info-interval: the share is of the limit that token_info reports",
            ));
        }
        let web = match &self.serve.web_config_file {
            Some(path) if serving => WebConfig::load(path)
                .map_err(|e| ConfigError::new("--web.config.file (WOLKVOX_WEB_CONFIG_FILE)", e))?,
            _ => WebConfig::default(),
        };
        Ok(Config {
            operations,
            config_file: self.wolkvox.config_file,
            names_file: self.wolkvox.names_file,
            names,
            // In the demo, every minute: the token budget panel fills at once.
            token_info_interval: (self.serve.token_info_interval)
                .or(self.demo.enabled.then_some(Duration::from_secs(60))),
            budget_share: self.serve.budget_share,
            keep_stale: self.serve.keep_stale,
            close_delay: self.serve.close_delay,
            shard,
            start_spread: self.serve.start_spread,
            max_series: self.wolkvox.max_series,
            max_body_size: self.wolkvox.max_body_size.0,
            web,
            web_config_file: self.serve.web_config_file,
            listen_address: self.serve.listen_address,
            telemetry_path: self.serve.telemetry_path,
            limits: self.serve.limits,
            log_level: self.wolkvox.log_level,
            log_format: self.wolkvox.log_format,
        })
    }

    fn single_operation(&self, token_env: Option<String>) -> Result<OperationConfig, ConfigError> {
        let demo = self.demo.enabled;
        let server = match (&self.wolkvox.server, demo) {
            (Some(s), _) => s.clone(),
            (None, true) => ServerCode::demo(),
            (None, false) => {
                return Err(ConfigError::new(
                    "--wolkvox.server (WOLKVOX_SERVER)",
                    "required: the Wolkvox server code of the operation, such as 0032 (or use --demo or --config.file)",
                ));
            }
        };
        let upstream = if demo {
            let d = &self.demo;
            Upstream::Demo(DemoOptions {
                speed: d.speed.unwrap_or(1.0),
                pulse_spike: d.pulse_spike.clone().map(|rp| (rp, d.pulse_spike_after)),
                outage: d.outage.clone().map(|rp| (rp, d.outage_after)),
            })
        } else if self.demo.pulse_spike.is_some()
            || self.demo.outage.is_some()
            || self.demo.speed.is_some()
        {
            return Err(ConfigError::new(
                "--demo.speed / --demo.pulse-spike / --demo.outage",
                "only apply with --demo",
            ));
        } else {
            Upstream::Remote {
                base_url: self.wolkvox.url.clone().unwrap_or_else(|| server.url()),
                token: read_token(self.wolkvox.token_file.as_ref(), token_env)?,
                token_file: self.wolkvox.token_file.clone(),
            }
        };
        let name = match &self.wolkvox.operation {
            Some(op) => op.clone(),
            None if demo => "demo".to_owned(),
            None => server.as_str().to_owned(),
        };
        let interval = if demo {
            Duration::from_secs(15)
        } else {
            DEFAULT_POLL_INTERVAL
        };
        Ok(OperationConfig {
            name,
            server,
            upstream,
            timezone: self.wolkvox.timezone.clone().unwrap_or_else(default_zone),
            window: self.wolkvox.window.unwrap_or(DEFAULT_WINDOW),
            time_unit: self.wolkvox.time_unit.unwrap_or(DEFAULT_TIME_UNIT),
            poll_interval: self.serve.poll_interval.unwrap_or(interval),
            poll_timeout: self.wolkvox.poll_timeout.unwrap_or(DEFAULT_POLL_TIMEOUT),
        })
    }
}

fn read_token(file: Option<&PathBuf>, env: Option<String>) -> Result<Token, ConfigError> {
    match (file, env) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            TOKEN_FILE_FLAG,
            "WOLKVOX_TOKEN is set too: give the token one way only",
        )),
        (Some(path), None) => {
            Token::from_file(path).map_err(|e| ConfigError::new(TOKEN_FILE_FLAG, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(token: Option<&str>) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| token.filter(|_| name == "WOLKVOX_TOKEN").map(str::to_owned)
    }

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["wolkvox-exporter"];
        all.extend_from_slice(args);
        Cli::parse_args(all).expect("clap accepts the arguments")
    }

    /// The one line that stops the program: from clap for a bad value, else from
    /// `into_config`.
    fn err(args: &[&str], token: Option<&str>) -> String {
        let mut all = vec!["wolkvox-exporter"];
        all.extend_from_slice(args);
        match Cli::parse_args(all) {
            Err(e) => cli::error_line(&e),
            Ok(cli) => cli
                .into_config(&env(token))
                .expect_err("the configuration is rejected")
                .to_string(),
        }
    }

    #[test]
    fn defaults_parse() {
        // clap parses each default of the command line and of the subcommands.
        for args in [&[][..], &["check"], &["backfill", "--output", "x"]] {
            cli(args);
        }
        let _: ByteSize = default_of(DEFAULT_MAX_BODY_SIZE);
        let _ = default_zone();
        ServerCode::parse(ServerCode::demo().as_str()).unwrap();
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
        assert_eq!(cfg.keep_stale, Duration::from_secs(15 * 60));
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
        let default = DemoOptions {
            speed: 1.0,
            pulse_spike: None,
            outage: None,
        };
        assert_eq!(cfg.upstream_demo(), Some(&default));
        let cfg = cli(&[
            "--demo",
            "--demo.speed",
            "60",
            "--demo.pulse-spike",
            "1001",
            "--demo.pulse-spike-after",
            "30m",
            "--demo.outage",
            "2001",
            "--demo.outage-after",
            "1h",
        ])
        .into_config(&env(None))
        .unwrap();
        assert_eq!(
            cfg.upstream_demo(),
            Some(&DemoOptions {
                speed: 60.0,
                pulse_spike: Some(("1001".into(), Duration::from_secs(1800))),
                outage: Some(("2001".into(), Duration::from_secs(3600))),
            })
        );
        let msg = err(&["--demo", "--demo.pulse-spike", "42"], None);
        assert!(msg.starts_with("--demo.pulse-spike"), "{msg}");
        let msg = err(&["--demo", "--demo.outage", "42"], None);
        assert!(msg.starts_with("--demo.outage"), "{msg}");
        assert!(
            cli(&["--wolkvox.server", "1", "--demo.outage", "1001"])
                .into_config(&env(Some("t")))
                .is_err()
        );
        assert!(!err(&["--demo", "--demo.speed", "0"], None).is_empty());
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

    #[test]
    fn flags_work_before_and_after_the_subcommand() {
        for args in [
            &["check", "--wolkvox.server", "0032", "--poll.timeout", "5s"][..],
            &["--wolkvox.server", "0032", "check", "--poll.timeout", "5s"][..],
            &["--poll.timeout", "5s", "check", "--wolkvox.server", "0032"][..],
        ] {
            let parsed = cli(args);
            assert!(
                matches!(parsed.command, Some(Command::Check(_))),
                "{args:?}"
            );
            let cfg = parsed.into_config(&env(Some("t"))).unwrap();
            assert_eq!(cfg.operations[0].server.as_str(), "0032", "{args:?}");
            assert_eq!(cfg.operations[0].poll_timeout, Duration::from_secs(5));
        }
    }

    #[test]
    fn the_flag_and_the_file_accept_the_same_values_with_the_same_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.yml");
        let file = |key: &str, value: &str| {
            let yaml = format!(
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: T\n    {key}: \"{value}\"\n"
            );
            std::fs::write(&path, yaml).unwrap();
            file::read_operations(&path, &|_| Some("t".to_owned())).map(|(ops, _)| ops)
        };
        let cases = [
            ("--report.time-unit", "time_unit", "Minutes", "hours"),
            (
                "--wolkvox.timezone",
                "timezone",
                "America/Lima",
                "Mars/Base",
            ),
            ("--report.window", "window", "1h", "32d"),
            ("--poll.interval", "poll_interval", "2m", "0s"),
            ("--poll.timeout", "poll_timeout", "10s", "soon"),
            ("--wolkvox.url", "url", "http://127.0.0.1:9", "ftp://x"),
        ];
        for (flag, key, good, bad) in cases {
            let args = ["--wolkvox.server", "1", flag, good];
            let from_flag = cli(&args).into_config(&env(Some("t"))).unwrap();
            let from_file = file(key, good).unwrap();
            assert_eq!(
                from_flag.operations[0].timezone, from_file[0].timezone,
                "{key}"
            );
            assert_eq!(from_flag.operations[0].window, from_file[0].window, "{key}");
            assert_eq!(from_flag.operations[0].time_unit, from_file[0].time_unit);
            assert_eq!(
                from_flag.operations[0].poll_interval,
                from_file[0].poll_interval
            );
            assert_eq!(
                from_flag.operations[0].poll_timeout,
                from_file[0].poll_timeout
            );
            let flag_error = err(&["--wolkvox.server", "1", flag, bad], Some("t"));
            let file_error = file(key, bad).unwrap_err().to_string();
            let why = flag_error
                .split_once("): ")
                .or_else(|| flag_error.split_once(": "));
            let why = why.map(|(_, w)| w).unwrap();
            assert!(
                file_error.ends_with(&format!("{key}: {why}")),
                "{file_error} / {flag_error}"
            );
        }
    }
}
