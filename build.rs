//! Build information for `--version` and `wolkvox_exporter_build_info`: the git revision, the
//! build date and the compiler's version, given to the crate as environment variables.
//!
//! Written by hand rather than with vergen: three facts need no dependency, and this file must
//! work where the Docker build copies the sources without `.git` (the revision is then
//! `unknown`, unless the build passes `WOLKVOX_EXPORTER_REVISION`, as the release does).

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=WOLKVOX_EXPORTER_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = match std::env::var("WOLKVOX_EXPORTER_REVISION") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_owned(),
        _ => git_revision().unwrap_or_else(|| "unknown".to_owned()),
    };
    // Reproducible builds set SOURCE_DATE_EPOCH; otherwise the date of the build that ran
    // this script, which cargo reruns when the revision or these variables change.
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = command_output(&rustc, &["--version"], None)
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=WOLKVOX_EXPORTER_REVISION={revision}");
    println!("cargo:rustc-env=WOLKVOX_EXPORTER_BUILD_DATE={}", utc(epoch));
    println!("cargo:rustc-env=WOLKVOX_EXPORTER_RUSTC={rustc_version}");
}

/// The commit of HEAD, when the sources are a git work tree and git runs; the
/// script then reruns when HEAD moves (a commit, a checkout).
fn git_revision() -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let dir = Path::new(&dir);
    let revision = command_output("git", &["rev-parse", "HEAD"], Some(dir))?;
    for file in ["HEAD", "packed-refs"] {
        rerun_if_changed(dir, file);
    }
    if let Some(branch) = command_output("git", &["symbolic-ref", "-q", "HEAD"], Some(dir)) {
        rerun_if_changed(dir, &branch);
    }
    Some(revision)
}

/// Asks cargo to rerun this script when the git file `name` (`HEAD`, `refs/heads/main`) changes.
fn rerun_if_changed(dir: &Path, name: &str) {
    if let Some(path) = command_output("git", &["rev-parse", "--git-path", name], Some(dir)) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The trimmed standard output of a command that succeeded with some output.
fn command_output(program: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Seconds since the epoch as an RFC 3339 time in UTC (civil-from-days, Howard Hinnant's
/// algorithm: no date library in a build script).
fn utc(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}
