//! The `wolkvox-exporter` binary: parse the command line, set up logs and the shutdown signal
//! (see `signals`), call [`wolkvox_exporter::serve::run`], [`wolkvox_exporter::commands::check::check`] or
//! [`wolkvox_exporter::commands::backfill::run`].

use std::process::ExitCode;

use anyhow::Context as _;
use clap::error::ErrorKind;
use tokio_util::sync::CancellationToken;
use wolkvox_exporter::Error;
use wolkvox_exporter::config::cli::error_line;
use wolkvox_exporter::config::{BackfillArgs, CheckArgs, CheckOutput, Cli, Command, Config};

fn main() -> ExitCode {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("wolkvox-exporter: {}", error_line(&e));
            return ExitCode::from(2);
        }
    };
    let command = cli.command.clone();
    let config = match cli.into_config(&|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("wolkvox-exporter: {e}");
            return ExitCode::from(2);
        }
    };
    wolkvox_exporter::sys::logging::init(config.log_level, config.log_format);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wolkvox-exporter: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        match command {
            Some(Command::Check(CheckArgs { output, .. })) => check(config, output).await,
            Some(Command::Backfill(args)) => backfill(config, args).await,
            Some(Command::Names(_)) => names(config).await,
            None => Ok(match serve(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "exporter stopped");
                    ExitCode::FAILURE
                }
            }),
        }
    };
    match runtime.block_on(run) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wolkvox-exporter: {e}");
            let bad_input = matches!(e, Error::Output { .. } | Error::NothingToDo);
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// Runs `names`: the file on standard output; exit 0 only when every operation had a report.
async fn names(config: Config) -> Result<ExitCode, Error> {
    let (file, failed) = wolkvox_exporter::commands::names::template(config).await?;
    print!("{file}");
    for why in &failed {
        eprintln!("wolkvox-exporter: names: no report for {why}");
    }
    Ok(ExitCode::from(u8::from(!failed.is_empty())))
}

/// Runs `check`: exit 0 only when every operation answered.
async fn check(config: Config, output: CheckOutput) -> Result<ExitCode, Error> {
    let results = wolkvox_exporter::commands::check::check(config).await?;
    match output {
        CheckOutput::Json => println!(
            "{}",
            serde_json::to_string_pretty(&results).unwrap_or_default()
        ),
        CheckOutput::Table => print!(
            "{}",
            wolkvox_exporter::commands::check::render_table(&results)
        ),
    }
    Ok(ExitCode::from(u8::from(!results.iter().all(|r| r.ok))))
}

/// Runs `backfill`: exit 0 when every step is written, 1 when it stopped early (what is done
/// is written, and the same command continues it), 2 for bad input.
async fn backfill(config: Config, args: BackfillArgs) -> Result<ExitCode, Error> {
    let summary = wolkvox_exporter::commands::backfill::run(config, args).await?;
    let output = summary.output.display();
    eprintln!(
        "backfill: {} of {} steps written to {output} ({} calls in this run; progress in {})",
        summary.done,
        summary.steps,
        summary.calls,
        summary.state.display()
    );
    if let Some(why) = summary.stopped {
        eprintln!("wolkvox-exporter: backfill stopped early: {why}");
        return Ok(ExitCode::FAILURE);
    }
    eprintln!(
        "backfill: complete; import with: promtool tsdb create-blocks-from openmetrics {output} DIR"
    );
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let address = config.listen_address;
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        // `:PORT` asks for [::]; a host with IPv6 switched off only has 0.0.0.0.
        Err(_) if address.ip() == std::net::Ipv6Addr::UNSPECIFIED => {
            let v4 = std::net::SocketAddr::from(([0, 0, 0, 0], address.port()));
            tokio::net::TcpListener::bind(v4)
                .await
                .with_context(|| format!("--web.listen-address: cannot listen on {v4}"))?
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("--web.listen-address: cannot listen on {address}"));
        }
    };

    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        wolkvox_exporter::sys::signals::shutdown().await;
        on_signal.cancel();
    });
    // The listener gives open connections a grace period of its own, and the pollers stop
    // mid-call: run returns soon after the signal.
    wolkvox_exporter::serve::run(config, listener, stop.cancelled_owned())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}
