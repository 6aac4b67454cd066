//! Hostile or broken clients cannot take /metrics down: with the exporter's open-file limit
//! at 1,024, 2,000 connections that never finish their request headers neither stop a scrape
//! nor stay open past `--web.read-header-timeout`.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{EVENT_TIMEOUT, http_builder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");
const SLOW: usize = 2_000;
const READ_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Makes sure this test process may hold the slow connections itself.
fn raise_own_open_file_limit(to: usize) {
    let out = Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            "--nofile",
            "--raw",
            "--noheadings",
        ])
        .output()
        .expect("prlimit (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let soft: usize = text
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if soft >= to {
        return;
    }
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            &format!("--nofile={to}:{to}"),
        ])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cannot raise this test's open-file limit to {to}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_silent_connections_neither_block_a_scrape_nor_stay_open() {
    raise_own_open_file_limit(SLOW + 1_000);
    // The exporter under a 1,024 open-file limit, as many systems default to.
    let mut child = Command::new("prlimit")
        .args(["--nofile=1024:1024", BIN])
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.read-header-timeout",
            &format!("{}s", READ_HEADER_TIMEOUT.as_secs()),
        ])
        .env_clear()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut child = KillOnDrop(child);
    let address = loop {
        let line = lines.next().expect("the exporter logs").unwrap();
        if line.contains("msg=listening") {
            let at = line.find("address=").unwrap() + "address=".len();
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    // Each slow client sends half a request head and then nothing.
    let started = tokio::time::Instant::now();
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut tcp = TcpStream::connect(&address).await.expect("connect");
        let _ = tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").await;
        slow.push(tcp);
    }

    // A scrape still succeeds, well within Prometheus' default scrape timeout of 10 s.
    let client = http_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("a scrape succeeds among 2,000 silent connections");
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("wolkvox_up{operation=\"demo\"}"), "{body}");

    // Every slow connection is closed by the exporter (EOF or reset). The bound only keeps a
    // server that never closes them from hanging the test: it is the read-header timeout plus
    // the suite's usual wait for an event, so a loaded machine does not fail it.
    let deadline = started.elapsed() + READ_HEADER_TIMEOUT + EVENT_TIMEOUT;
    let closed = tokio::time::timeout(deadline, async move {
        let mut reads = tokio::task::JoinSet::new();
        for mut tcp in slow {
            reads.spawn(async move {
                let mut buf = [0u8; 256];
                loop {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        // A 408 or an error page is fine, as long as the connection ends.
                        Ok(_) => continue,
                    }
                }
            });
        }
        let mut n = 0;
        while reads.join_next().await.is_some() {
            n += 1;
        }
        n
    })
    .await
    .expect("the exporter closes every silent connection within the timeout");
    assert_eq!(closed, SLOW);

    // The exporter is still alive and serving.
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the exporter is still running"
    );
    let again = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

/// The exporter's process, ended when the test ends, whether it passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
