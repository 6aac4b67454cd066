//! Every command line of the README that can run here, run with the built binary against the
//! simulator instead of Wolkvox: serve commands must answer 200 on /metrics, `check` and
//! `backfill` commands must exit 0.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// Programs whose README lines cannot run here, and why. A README line that mentions the
/// exporter must either run the exporter or start with one of these.
const SKIPPED: &[(&str, &str)] = &[
    ("docker", "needs a container runtime"),
    ("helm", "needs a Kubernetes cluster"),
    ("kubectl", "needs a Kubernetes cluster"),
    ("curl", "talks to a remote or already running server"),
    ("jb", "fetches the mixin from a Git server"),
];

/// The shell command lines of the README's `sh` blocks: continuations joined, comments
/// dropped.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && (lang == "sh" || lang == "bash");
            continue;
        }
        if !in_sh || trimmed.starts_with('#') {
            continue;
        }
        let code = trimmed.split(" # ").next().unwrap_or_default().trim();
        match code.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(code);
                out.push(std::mem::take(&mut pending).trim().to_owned());
            }
        }
    }
    out
}

/// What one README line asks for.
struct Invocation {
    env: Vec<(String, String)>,
    args: Vec<String>,
}

/// The exporter's arguments when the line runs the exporter (directly or with `cargo run`).
fn invocation(line: &str) -> Option<Invocation> {
    let mut words = line.split_whitespace().peekable();
    let mut env = Vec::new();
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            break;
        }
        env.push((name.to_owned(), value.to_owned()));
        words.next();
    }
    let program = words.next()?;
    let rest: Vec<String> = words.map(str::to_owned).collect();
    let args = if program == "wolkvox-exporter" || program.ends_with("/wolkvox-exporter") {
        rest
    } else if program == "cargo" && rest.first().map(String::as_str) == Some("run") {
        let dashes = rest.iter().position(|w| w == "--")?;
        rest[dashes + 1..].to_vec()
    } else {
        return None;
    };
    Some(Invocation { env, args })
}

/// Rewrites the line's arguments to reach the simulator at `url` with the test token: token
/// and configuration files are replaced with files in `dir`, and the URL is added.
fn adapt(inv: &Invocation, url: &str, dir: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let backfill = dir.join("backfill.om");
    let config_file = dir.join("operations.yml");
    std::fs::write(
        &config_file,
        format!("operations:\n  - name: bogota\n    server: \"{SERVER}\"\n    token_file: token\n    url: {url}\n"),
    )
    .unwrap();
    let env = inv
        .env
        .iter()
        .map(|(name, value)| match name.as_str() {
            "WOLKVOX_TOKEN" => (name.clone(), TOKEN.to_owned()),
            _ => (name.clone(), value.clone()),
        })
        .collect();
    let mut args = Vec::new();
    let mut words = inv.args.iter();
    while let Some(word) = words.next() {
        args.push(word.clone());
        let replacement = match word.as_str() {
            "--wolkvox.token-file" => &token_file,
            "--config.file" => &config_file,
            "--output" if inv.args.first().map(String::as_str) == Some("backfill") => &backfill,
            _ => continue,
        };
        words.next();
        args.push(replacement.to_str().unwrap().to_owned());
    }
    let single_operation = !args.iter().any(|a| a == "--config.file" || a == "--demo");
    if single_operation {
        args.extend(["--wolkvox.url".to_owned(), url.to_owned()]);
    }
    (env, args)
}

fn exporter(env: &[(String, String)], args: &[String]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c.envs(env.iter().cloned()).args(args);
    c
}

fn get_blocking(url: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().status().as_u16() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_runnable_command_line_of_the_readme_works_against_the_simulator() {
    let (_sim, url) = spawn_simulator().await;
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let url = url.as_str().to_owned();
    let ran = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut ran = Vec::new();
        for line in shell_lines(&readme) {
            let Some(inv) = invocation(&line) else {
                if line.contains("wolkvox-exporter") {
                    let program = line.split_whitespace().next().unwrap_or_default();
                    assert!(
                        SKIPPED.iter().any(|(p, _)| *p == program),
                        "README line neither runs the exporter nor is skipped by a listed rule: {line}"
                    );
                }
                continue;
            };
            let (env, args) = adapt(&inv, &url, dir.path());
            if matches!(args.first().map(String::as_str), Some("check" | "backfill")) {
                let out = exporter(&env, &args).output().unwrap();
                assert!(
                    out.status.success(),
                    "{line}\n{args:?}\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            } else {
                let mut args = args;
                args.extend(["--web.listen-address".to_owned(), "127.0.0.1:0".to_owned()]);
                let mut p = Process::start(&mut exporter(&env, &args));
                let addr = p.address();
                // /readyz turns 200 once the first poll has finished.
                let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
                while get_blocking(&format!("http://{addr}/readyz")) != 200 {
                    assert!(std::time::Instant::now() < deadline, "{line}: never ready");
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                assert_eq!(get_blocking(&format!("http://{addr}/metrics")), 200, "{line}");
                p.signal("-TERM");
                let (status, _) = p.wait_exit();
                assert!(status.success(), "{line}: clean exit");
            }
            ran.push(line);
        }
        ran
    })
    .await
    .unwrap();
    // The test must not pass by running nothing.
    assert!(ran.iter().any(|l| l.contains(" check")), "ran {ran:?}");
    assert!(ran.iter().any(|l| l.contains("--demo")), "ran {ran:?}");
    assert!(
        ran.iter().any(|l| l.contains("--config.file")),
        "ran {ran:?}"
    );
    assert!(ran.len() >= 5, "ran {ran:?}");
}

/// The entries at the top of `src/` (a file's name without `.rs`), besides main and lib.
fn top_of_src() -> std::collections::BTreeSet<String> {
    std::fs::read_dir(repo_path("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().replace(".rs", ""))
        .filter(|name| name != "main" && name != "lib")
        .collect()
}

#[test]
fn the_layout_of_lib_rs_and_the_readmes_map_name_every_module_at_the_top_of_src() {
    let top = top_of_src();
    assert!(
        top.len() <= 10,
        "{} entries at the top of src/: {top:?}",
        top.len()
    );
    let lib = std::fs::read_to_string(repo_path("src/lib.rs")).unwrap();
    let in_layout: std::collections::BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! - [`"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(in_layout, top, "src/lib.rs's Layout");
    let declared: std::collections::BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_owned())
        .collect();
    assert_eq!(declared, top, "src/lib.rs's modules");
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    for name in &top {
        let dir = repo_path("src").join(name).is_dir();
        let entry = if dir {
            format!("src/{name}/ ")
        } else {
            format!("src/{name}.rs ")
        };
        assert!(
            readme.lines().any(|l| l.starts_with(&entry)),
            "the README's module map lacks {entry:?}"
        );
    }
}
