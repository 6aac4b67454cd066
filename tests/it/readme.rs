//! Every command line of the README and of docs/*.md that can run here, run with the built binary
//! against the simulator instead of Wolkvox: serve commands must answer 200 on /metrics, `check`
//! and `backfill` commands must exit 0. Every relative link of those pages reaches a file and,
//! with `#`, a heading of it.

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
    rt.block_on(async { http().get(url).send().await.unwrap().status().as_u16() })
}

/// README.md and every page of docs/, the documentation a user reads.
fn pages() -> Vec<std::path::PathBuf> {
    let mut pages: Vec<_> = std::fs::read_dir(repo_path("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, repo_path("README.md"));
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_runnable_command_line_of_the_readme_and_docs_works_against_the_simulator() {
    let (_sim, url) = spawn_simulator().await;
    let readme: String = pages()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap() + "\n")
        .collect();
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
fn the_layout_of_lib_rs_and_the_development_pages_map_name_every_module_at_the_top_of_src() {
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
    let map = std::fs::read_to_string(repo_path("docs/development.md")).unwrap();
    for name in &top {
        let dir = repo_path("src").join(name).is_dir();
        let entry = if dir {
            format!("src/{name}/ ")
        } else {
            format!("src/{name}.rs ")
        };
        assert!(
            map.lines().any(|l| l.starts_with(&entry)),
            "the module map of docs/development.md lacks {entry:?}"
        );
    }
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The page's text outside fenced code blocks, where links are links.
fn prose(page: &str) -> Vec<&str> {
    let mut fenced = false;
    page.lines()
        .filter(|l| {
            if l.starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The targets of a line's Markdown links and `src="..."` images.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (marker, end) in [("](", ')'), ("src=\"", '"')] {
        let mut rest = line;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            if let Some(j) = rest.find(end) {
                out.push(&rest[..j]);
            }
        }
    }
    out
}

#[test]
fn every_relative_link_of_the_readme_and_docs_reaches_a_file_and_its_heading() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for line in prose(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                if !path.exists() {
                    broken.push(format!("{}: {target}: no such file", page.display()));
                    continue;
                }
                if fragment.is_empty() || path.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let target_text = std::fs::read_to_string(&path).unwrap();
                let found = prose(&target_text)
                    .iter()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|l| anchor(l.trim_start_matches('#')))
                    .any(|a| a == fragment);
                if !found {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
