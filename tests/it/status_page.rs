//! The status page `/` in a real browser: Debian's chromium, headless, loads it from the
//! exporter's binary polling a healthy and a failing operation, and shows what each is doing.
//! With STATUS_PAGE_SCREENSHOT=FILE it also keeps the phone-sized screenshot there (the one in
//! docs/ is made so).

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use wolkvox_exporter::upstream::PollResult;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// The failing operation's name: markup that the page must show as text.
const FAILING: &str = "failing <&> \"ops\"";

/// Runs chromium headless on `args`, with the flags it needs on a machine without a display or
/// network, and a profile of its own; fails after EVENT_TIMEOUT x 3.
fn chromium(profile: &Path, args: &[&str]) -> Output {
    let child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(EVENT_TIMEOUT * 3) {
        Ok(output) => output.expect("chromium runs"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            panic!("chromium did not finish within {:?}", EVENT_TIMEOUT * 3);
        }
    }
}

/// The text in `html` between the first `before` and the next `after`.
fn between<'a>(html: &'a str, before: &str, after: &str) -> &'a str {
    let start = html
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} not in\n{html}"))
        + before.len();
    let end = html[start..]
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not after {before:?} in\n{html}"))
        + start;
    &html[start..end]
}

/// The `<section>` of `operation` in the rendered DOM.
fn section<'a>(dom: &'a str, operation_attr: &str) -> &'a str {
    let start = dom
        .find(&format!("data-operation=\"{operation_attr}\""))
        .unwrap_or_else(|| panic!("no section for {operation_attr:?} in\n{dom}"));
    let end = dom[start..].find("</section>").expect("the section ends") + start;
    &dom[start..end]
}

#[ignore = "needs chromium"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_a_healthy_and_a_failing_operation_with_advice_and_never_the_token() {
    let (_sim, healthy_url) = spawn_simulator().await;
    // A Wolkvox that refuses the token, quoting it back inside markup.
    let failing_url = spawn_raw(|_, mut stream| async move {
        let body = serde_json::json!({
            "code": 401,
            "error": format!("<b>invalid</b> token {TOKEN}"),
            "msg": null,
            "data": null,
        });
        write_answer(&mut stream, 401, &body.to_string()).await;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let yaml = format!(
        "poll_interval: 10m\noperations:\n\
         \x20 - name: healthy\n    server: \"0032\"\n    url: {healthy_url}\n    token_file: token\n\
         \x20 - name: {name}\n    server: \"0048\"\n    url: {failing_url}\n    token_file: token\n",
        name = serde_json::to_string(FAILING).unwrap(),
    );
    let file = dir.path().join("operations.yml");
    std::fs::write(&file, yaml).unwrap();
    let mut exporter = Process::start(Command::new(BIN).env_clear().args([
        "--config.file",
        file.to_str().unwrap(),
        "--poll.start-spread",
        "0s",
        "--wolkvox.token-info-interval",
        "1h",
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    let base = format!("http://{}", exporter.address());

    // Ready once both operations have finished their first poll.
    let client = http();
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready:\n{}",
            exporter.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let html = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(TOKEN), "the token is on the page:\n{html}");
    assert!(!html.contains("://"), "the page links elsewhere:\n{html}");
    assert!(!html.contains("<script"), "{html}");

    let profile = tempfile::tempdir().unwrap();
    let shot = profile.path().join("status.png");
    let (page, screenshot) = (
        format!("{base}/"),
        format!("--screenshot={}", shot.display()),
    );
    let profile_path = profile.path().to_owned();
    let (dom, shot_run) = tokio::task::spawn_blocking(move || {
        let dom = chromium(&profile_path.join("dom"), &["--dump-dom", &page]);
        let shot = chromium(
            &profile_path.join("shot"),
            &["--window-size=412,1400", &screenshot, &page],
        );
        (dom, shot)
    })
    .await
    .unwrap();
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert!(
        dom.contains("2 operations: 1 up, 1 down, 0 not polled yet."),
        "{dom}"
    );

    let healthy = section(&dom, "healthy");
    // The next poll is one interval after the last call. How long ago that call was depends
    // on how fast this machine is, so the relative wording is checked against the instant
    // the page itself says it was made, not against a fixed "in 9m".
    let ts = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let called = ts(between(healthy, "success <time datetime=\"", "\""));
    let next = ts(between(
        healthy,
        "<dt>Next poll</dt><dd><time datetime=\"",
        "\"",
    ));
    let interval = jiff::SignedDuration::from_mins(10);
    assert!(
        next.duration_since(called) >= interval
            && next.duration_since(called)
                < interval + jiff::SignedDuration::try_from(EVENT_TIMEOUT).unwrap(),
        "next poll {next}, last call {called}"
    );
    let made = between(&dom, "page made ", " UTC.");
    let made = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", made)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let minutes = (next.as_second() - made.as_second()) / 60;
    let in_minutes = format!("</time> (in {minutes}m)</dd>");
    for expected in [
        "up: success",
        "Next poll",
        &in_minutes,
        // The simulator's token_info: what the token has spent of its budget.
        "of 1000 calls used today (0.",
        "<td>PULSE</td>",
    ] {
        assert!(healthy.contains(expected), "{expected:?} not in\n{healthy}");
    }
    assert!(!healthy.contains("What to do"), "{healthy}");

    // The browser's DOM shows the name and Wolkvox's markup as text, not as elements.
    let failing = section(&dom, "failing &lt;&amp;&gt; &quot;ops&quot;");
    let advice = PollResult::Unauthorized.advice("0048");
    for expected in [
        "failing &lt;&amp;&gt; \"ops\"",
        "down: unauthorized",
        "HTTP 401: &lt;b&gt;invalid&lt;/b&gt; token ***",
        "What to do:",
        advice.as_str(),
        "No report shown.",
    ] {
        assert!(failing.contains(expected), "{expected:?} not in\n{failing}");
    }
    assert!(!dom.contains("<b>invalid"), "{failing}");
    assert!(!dom.contains(TOKEN), "the token is in the DOM:\n{dom}");

    assert!(
        shot_run.status.success(),
        "{}",
        String::from_utf8_lossy(&shot_run.stderr)
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    if let Some(keep) = std::env::var_os("STATUS_PAGE_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
}
