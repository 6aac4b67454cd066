//! `--shard INDEX/COUNT`: processes that share one `--config.file` poll every operation
//! exactly once between them, and a bad shard stops the program at start.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use wolkvox_exporter::config::Shard;
use wolkvox_exporter::demo::simulator::{SimulatorConfig, TimeFormat};

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env_clear();
    c
}

/// A file of `n` operations `op-00`... with server codes `9000`... against `url`.
fn write_operations(dir: &std::path::Path, url: &reqwest::Url, n: usize) -> std::path::PathBuf {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let mut yaml = "poll_interval: 1h\noperations:\n".to_owned();
    for i in 0..n {
        yaml.push_str(&format!(
            "  - name: op-{i:02}\n    server: \"{}\"\n    token_file: token\n    url: {url}\n",
            9000 + i
        ));
    }
    let path = dir.join("operations.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// A shard's process, ended when the test ends, passed or failed.
struct ShardProcess(Child);

impl Drop for ShardProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts one shard on 127.0.0.1:0 and returns it with the address it listens on.
fn start_shard(file: &std::path::Path, shard: &str) -> (ShardProcess, String) {
    let mut child = bin()
        .args([
            "--config.file",
            file.to_str().unwrap(),
            "--shard",
            shard,
            "--poll.start-spread",
            "1s",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the shard logs").unwrap();
        if line.contains("msg=listening") {
            let at = line.find("address=").expect("the address is logged") + "address=".len();
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading so that the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (ShardProcess(child), address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_poll_each_of_20_operations_exactly_once() {
    // The three processes share one token and cannot queue their calls behind each other, so
    // on a loaded machine a third call could overlap two and get Wolkvox's concurrency 403,
    // then a retry: a second call that this test would count. What is checked here is who
    // polls what; the limit of calls in flight is the poller's, tested on its own.
    let (sim, url) = spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        time_format: TimeFormat::Hms,
        max_in_flight_per_token: 20,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_operations(dir.path(), &url, 20);
    let shards: Vec<(ShardProcess, String)> = (0..3)
        .map(|i| start_shard(&file, &format!("{i}/3")))
        .collect();

    // 20 calls reach the simulator; then each shard turns ready once every operation it owns
    // has published its first poll (just after its call).
    tokio::time::timeout(EVENT_TIMEOUT, sim.wait_for(|s| s.requests >= 20))
        .await
        .expect("20 calls arrive");
    for (_, address) in &shards {
        wait_ready(address).await;
    }

    let mut per_server: BTreeMap<String, usize> = BTreeMap::new();
    for r in sim.requests() {
        *per_server.entry(r.server.unwrap_or_default()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = (0..20).map(|i| (format!("{}", 9000 + i), 1)).collect();
    assert_eq!(
        per_server, expected,
        "each operation polled once, by one shard"
    );

    // What each shard says it owns adds up to the file, and matches the hash's assignment.
    let mut owned = 0.0;
    for (i, (_, address)) in shards.iter().enumerate() {
        let m = scrape(address).await;
        let mine = m.value("wolkvox_shard_operations", &[]);
        let by_hash = (0..20)
            .filter(|n| Shard::of(&format!("op-{n:02}"), 3) == i as u32)
            .count();
        assert_eq!(mine, by_hash as f64, "shard {i}");
        owned += mine;
    }
    assert_eq!(owned, 20.0);
}

#[test]
fn bad_shards_stop_at_start_with_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
    let file = write_operations(dir.path(), &url, 2);
    let file = file.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["--config.file", file, "--shard", "3/3"],
        &["--config.file", file, "--shard", "a/b"],
        &["--config.file", file, "--shard", "1/0"],
        &["--config.file", file, "--shard", "1"],
        &["--wolkvox.server", "0032", "--shard", "0/2"],
    ];
    for args in cases {
        let out = bin()
            .env("WOLKVOX_TOKEN", "t")
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--shard"), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
    }
}

#[test]
fn the_assignment_is_fnv1a_of_the_name_and_never_changes() {
    // FNV-1a 64 test vectors (the function's published reference values) pin the hash; the
    // names below pin what a deployment sees: changing either moves operations between
    // shards, which must never happen silently.
    let fnv = |s: &str| {
        use std::hash::Hasher as _;
        let mut h = fnv::FnvHasher::default();
        h.write(s.as_bytes());
        h.finish()
    };
    assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv("foobar"), 0x8594_4171_f739_67e8);
    let assigned: Vec<u32> = ["bogota", "monterrey", "lima", "op-00", "op-19"]
        .iter()
        .map(|n| Shard::of(n, 3))
        .collect();
    let expected: Vec<u32> = ["bogota", "monterrey", "lima", "op-00", "op-19"]
        .iter()
        .map(|n| (fnv(n) % 3) as u32)
        .collect();
    assert_eq!(assigned, expected);
    // Literal shards, worked out once by hand from FNV-1a's definition: a deployment's
    // assignment, which no later version may move.
    assert_eq!(assigned, [0, 0, 1, 1, 1]);
}
