//! The whole /metrics body, byte for byte, against files under `tests/golden/`, as
//! node_exporter's end-to-end test does: any change of output shows as a diff of those files.
//!
//! Two operations on a fixed clock poll the simulator with fixed tokens, so that every value is
//! determined, except `wolkvox_poll_duration_seconds` (wall-clock time of the call), whose
//! values are replaced by `<duration>` before the comparison, the `revision` and `rustc`
//! labels of `wolkvox_exporter_build_info` (they change with every commit and toolchain),
//! replaced by `<revision>` and `<rustc>`, and the values of the `process_*` samples (the test
//! process's own CPU, memory, descriptors and start), replaced by `<process>`.
//!
//! To regenerate after an intended change of output:
//!
//!     UPDATE_GOLDEN=1 cargo test --test it golden::
//!
//! then review `git diff tests/golden/` before committing.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use wolkvox_exporter::config::window::Window;
use wolkvox_exporter::config::{Config, TimeUnit, Token, Upstream};
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};

const OTHER_TOKEN: &str = "golden-second-token";

/// Replaces the value of every `wolkvox_poll_duration_seconds` sample, the one figure that the
/// fixed clock does not fix, the build's revision and compiler, which no clock fixes, and the
/// values of the process metrics, which describe whatever process runs the test.
fn normalise(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        if line.starts_with("wolkvox_exporter_build_info{") {
            let revision = format!(
                "revision=\"{}\"",
                wolkvox_exporter::sys::build_info::REVISION
            );
            let rustc = format!("rustc=\"{}\"", wolkvox_exporter::sys::build_info::RUSTC);
            assert!(line.contains(&revision) && line.contains(&rustc), "{line}");
            out.push_str(
                &line
                    .replace(&revision, "revision=\"<revision>\"")
                    .replace(&rustc, "rustc=\"<rustc>\""),
            );
        } else if line.starts_with("wolkvox_poll_duration_seconds{") {
            let cut = line.rfind(' ').expect("a sample has a value");
            out.push_str(&line[..cut]);
            out.push_str(" <duration>");
        } else if line.starts_with("process_") {
            let (name, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(value.is_finite() && value >= 0.0, "{line}");
            out.push_str(name);
            out.push_str(" <process>");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Compares `actual` with the golden file `name`, or writes it when UPDATE_GOLDEN is set.
fn compare(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_GOLDEN=1 cargo test --test it golden:: writes it)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "/metrics differs from {} at line {}:\n  golden: {:?}\n  served: {:?}\n--- served ---\n{actual}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

/// Two operations: `0032` with the default `today` window (counters that survive midnight),
/// and `rolling` with a one-hour window, plain seconds and its own token. Both call token_info,
/// and both have names.
fn golden_config(url: &reqwest::Url, reload_file: PathBuf) -> Config {
    let mut config = config(url);
    config.token_info_interval = Some(Duration::from_secs(3600));
    config.config_file = Some(reload_file);
    let mut rolling = config.operations[0].clone();
    rolling.name = "rolling".to_owned();
    rolling.window = Window::parse("1h").unwrap();
    rolling.time_unit = TimeUnit::Seconds;
    rolling.poll_interval = Duration::from_secs(60);
    rolling.upstream = match rolling.upstream {
        Upstream::Remote { base_url, .. } => Upstream::Remote {
            base_url,
            token: Token::new(OTHER_TOKEN).unwrap(),
            token_file: None,
        },
        demo => demo,
    };
    config.operations.push(rolling);
    // Names for some ids of each operation, so that both info families show.
    let names = "operations:\n  \"0032\":\n    routing_points:\n      \"1001\":\n        name: Main menu\n        options:\n          \"1\": {name: Billing, category: self_service}\n          AGENTE: {name: Agent, category: agent}\n          PULSE: {}\n  rolling:\n    routing_points:\n      \"2001\": {name: Sales}\n";
    config.names =
        wolkvox_exporter::config::file::parse_names(std::path::Path::new("names.yml"), names)
            .unwrap();
    config
}

#[tokio::test]
async fn metrics_match_the_golden_files_in_both_formats() {
    let (_sim, url) = spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned(), OTHER_TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        ..SimulatorConfig::default()
    })
    .await;
    // The file is only watched for changes here, never changed: it makes the reload metrics
    // appear, with the fixed clock's time.
    let dir = tempfile::tempdir().unwrap();
    let reload_file = dir.path().join("operations.yml");
    std::fs::write(&reload_file, "# unchanged during the test\n").unwrap();

    let now = local("America/Bogota", "2026-03-10T15:30:20");
    let (exporter, _clock) = spawn_exporter_at(golden_config(&url, reload_file), now).await;
    exporter.wait_for_polls(2).await;

    let text = exporter.scrape().await.body;
    compare("metrics.txt", &normalise(&text));

    let openmetrics = http()
        .get(exporter.url("/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    compare("metrics.openmetrics.txt", &normalise(&openmetrics));
    exporter.stop().await;
}
