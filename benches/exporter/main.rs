//! The benchmark harness (`scripts/bench`, see BENCHMARKS.md): ingest against a
//! serde_json scan, the cost of a scrape inside the process, serving against nginx with wrk,
//! memory, start-up and the binary's size. It prints figures, mostly ratios and medians; it
//! asserts nothing about durations.
//!
//! Usage: `cargo bench --bench exporter -- [--quick] [--rows=N] [--polls=N] [--cases=NxS,...]
//! [--rounds=N] [--builds=glibc,musl] [SECTION...]` with sections `ingest`, `scrape`, `serve`,
//! `memory`, `operations`, `startup`, `size` (default: all).
//! `--rows=N` runs one size only; `--polls=N` sets the polls of the memory growth figure;
//! `--cases=1x1000,1000x1000` runs only those cases (operations x series) of `operations`;
//! `--rounds=N` sets the wrk runs per server of `serve`; `--builds=glibc,musl` runs the process
//! sections (serve, memory, operations, startup, size) on each build in turn, case by case
//! (`NAME=PATH` names another build).

mod body;
mod ingest;
mod operations;
mod process;
mod scrape;
mod serve;
// The benchmarks use only the fixed answer and the request count of the tests' controls.
#[allow(dead_code)]
#[path = "../../tests/common/sim.rs"]
mod sim;

use std::path::Path;
use std::time::Duration;

/// Sizes of the reports, in rows (each row its own series).
const SIZES: [usize; 3] = [100, 10_000, 60_000];

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// A build of the exporter that the process sections run.
struct Build {
    /// As named in --builds (or "default").
    name: String,
    /// Its binary.
    path: String,
}

/// The builds of --builds, in the order given; without it, the one `process::binary` names.
fn builds(args: &[String]) -> Vec<Build> {
    let Some(list) = args.iter().find_map(|a| a.strip_prefix("--builds=")) else {
        return vec![Build {
            name: "default".to_owned(),
            path: process::binary(),
        }];
    };
    list.split(',')
        .map(|entry| {
            // NAME=PATH names any other build, e.g. one with another allocator.
            let (name, path) = entry.split_once('=').unwrap_or((entry, ""));
            let path = match name {
                _ if !path.is_empty() => path.to_owned(),
                "glibc" => env!("CARGO_BIN_EXE_wolkvox-exporter").to_owned(),
                // What the image ships: scripts/bench builds it as the Dockerfile does, on musl.
                "musl" => concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/target/x86_64-unknown-linux-musl/release/wolkvox-exporter"
                )
                .to_owned(),
                other => panic!("--builds: {other} is not glibc, musl or NAME=PATH"),
            };
            assert!(
                Path::new(&path).exists(),
                "--builds: {path} is missing (cargo build --release --locked --target x86_64-unknown-linux-musl)"
            );
            Build {
                name: name.to_owned(),
                path,
            }
        })
        .collect()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    // Other work on the machine shows in absolute figures far more than in ratios.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cores} cores, {model}, Linux {}, {}, load average at start {}",
        kernel.trim(),
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
        load.join(" ")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // cargo bench passes --bench; a filter-like argument names a section.
    let quick = args.iter().any(|a| a == "--quick");
    let mut sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if sections.is_empty() {
        sections = vec![
            "ingest",
            "scrape",
            "serve",
            "memory",
            "operations",
            "startup",
            "size",
        ];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "# wolkvox-exporter benchmarks{}",
        if quick { " (quick)" } else { "" }
    );
    println!("machine: {}", machine());

    // --rows=N limits every section to one size (for profiling).
    let only: Option<Vec<usize>> = args
        .iter()
        .find_map(|a| a.strip_prefix("--rows="))
        .map(|n| vec![n.parse().expect("--rows=N")]);
    let sizes: &[usize] = match &only {
        Some(v) => v,
        None if quick => &[100, 10_000],
        None => &SIZES,
    };
    let (rounds, min) = if quick {
        (3, Duration::from_millis(20))
    } else {
        (11, Duration::from_millis(200))
    };

    if sections.contains(&"ingest") {
        println!(
            "\n## Ingest: decode + aggregate + counters + encode + swap, vs serde_json scanning the same bytes (IgnoredAny)"
        );
        println!(
            "medians of {rounds} samples, each at least {} ms",
            min.as_millis()
        );
        println!(
            "\n| rows | series | body | scan ms | ingest ms | ratio | decode ms | classify ms | counters ms | publish ms | gzip alone ms | text | text gz | OpenMetrics | OM gz |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &rows in sizes {
            let r = ingest::run(rows, rounds, min);
            println!(
                "| {} | {} | {} | {} | {} | {:.2}x | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.rows,
                r.series,
                r.body_bytes,
                ms(r.scan),
                ms(r.ingest),
                r.ratio(),
                ms(r.decode),
                ms(r.classify),
                ms(r.counters),
                ms(r.publish),
                ms(r.gzip_alone),
                r.exposition_bytes[0],
                r.exposition_bytes[1],
                r.exposition_bytes[2],
                r.exposition_bytes[3],
            );
        }
    }

    if sections.contains(&"scrape") {
        println!(
            "\n## Scrape inside the process: the router's handler, request to last body byte, no socket"
        );
        println!("\n| series | plain us | gzip us | body is the snapshot's own allocation |");
        println!("|---:|---:|---:|---|");
        for &series in sizes {
            let s = runtime.block_on(scrape::run(series, rounds, if quick { 200 } else { 2000 }));
            println!(
                "| {} | {:.2} | {:.2} | {} |",
                s.series,
                s.plain.as_secs_f64() * 1e6,
                s.gzip.as_secs_f64() * 1e6,
                if s.zero_copy { "yes" } else { "NO" }
            );
        }
    }

    let builds = builds(&args);
    for b in &builds {
        println!("build {}: {}", b.name, b.path);
    }
    let upstream = runtime.block_on(process::Upstream::start());
    let _guard = runtime.enter();

    if sections.contains(&"serve") {
        let mut load = if quick {
            serve::Load {
                threads: 1,
                connections: 4,
                seconds: 1,
                rounds: 1,
            }
        } else {
            serve::Load {
                threads: 1,
                connections: 8,
                seconds: 5,
                rounds: 5,
            }
        };
        if let Some(n) = args.iter().find_map(|a| a.strip_prefix("--rounds=")) {
            load.rounds = n.parse().expect("--rounds=N");
        }
        println!(
            "\n## Serving /metrics: exporter vs nginx (same bytes, static file, gzip_static), wrk keep-alive"
        );
        println!(
            "wrk -t{} -c{} -d{}s --latency, {} alternating runs each; medians; nginx with 1 and with 2 workers, the faster is the reference; the exporter with tokio's default runtime",
            load.threads, load.connections, load.seconds, load.rounds
        );
        println!(
            "\n| series | encoding | build | body bytes | exporter req/s | vs first build | nginx 1 worker req/s | nginx 2 workers req/s | ratio to the faster | exporter p99 ms | faster nginx p99 ms |"
        );
        println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &series in sizes {
            // Each build in turn at each size, so that a change of load hits all of them.
            let mut first: Vec<f64> = Vec::new();
            for build in &builds {
                process::use_binary(&build.path);
                for (i, s) in serve::run(&upstream, series, load).into_iter().enumerate() {
                    if first.len() == i {
                        first.push(s.exporter_rps);
                    }
                    println!(
                        "| {} | {} | {} | {} | {:.0} | {:.2}x | {:.0} | {:.0} | {:.2}x ({}w) | {} | {} |",
                        s.series,
                        s.encoding,
                        build.name,
                        s.body_bytes,
                        s.exporter_rps,
                        s.exporter_rps / first[i],
                        s.nginx_rps_by_workers[0],
                        s.nginx_rps_by_workers[1],
                        s.ratio,
                        s.nginx_workers,
                        ms(s.exporter_p99),
                        ms(s.nginx_p99)
                    );
                }
            }
        }
    }

    if sections.contains(&"memory") {
        let large = only
            .as_ref()
            .map_or(if quick { 10_000 } else { 60_000 }, |v| v[0]);
        // --polls=N: more polls for the growth figure, to tell growth from settling.
        let polls = args
            .iter()
            .find_map(|a| a.strip_prefix("--polls="))
            .map_or(if quick { 10 } else { 100 }, |n| {
                n.parse().expect("--polls=N")
            });
        let growth_rows = large;
        for build in &builds {
            process::use_binary(&build.path);
            let m = process::memory(&upstream, large, growth_rows, polls);
            let limit_kib = (3 * m.large_body as u64) / 1024 + 20 * 1024;
            println!(
                "\n## Memory (resident set of the exporter process, /proc/PID/status), build {}",
                build.name
            );
            println!("\n| figure | MiB | target |");
            println!("|---|---:|---|");
            println!(
                "| idle, {} series, after 40 scrapes | {} | < 15 |",
                m.idle_series,
                mib(m.idle_rss)
            );
            println!(
                "| peak up to the first poll of {} rows ({:.1} MiB body) | {} | < {} (3x body + 20) |",
                m.large_rows,
                m.large_body as f64 / 1048576.0,
                mib(m.first_poll_peak),
                mib(limit_kib)
            );
            println!(
                "| between polls, {} series served | {} | |",
                m.large_rows,
                mib(m.large_rss)
            );
            println!(
                "| peak of a later poll (previous snapshot alive) | {} | < {} |",
                mib(m.later_poll_peak),
                mib(limit_kib)
            );
            println!(
                "| after 10 polls of {} rows / after {} more | {} / {} | no growth |",
                m.growth_rows,
                m.growth_polls,
                mib(m.growth.0),
                mib(m.growth.1)
            );
        }
    }

    if sections.contains(&"operations") {
        // (operations, series of each); --quick: tiny, so that tests/it/bench.rs can run it.
        // --cases=NxS,...: some cases only (a full run takes a while).
        let chosen: Option<Vec<(usize, usize)>> = args
            .iter()
            .find_map(|a| a.strip_prefix("--cases="))
            .map(|list| {
                list.split(',')
                    .map(|case| {
                        let (n, s) = case.split_once('x').expect("--cases=NxS,...");
                        (
                            n.parse().expect("--cases=NxS"),
                            s.parse().expect("--cases=NxS"),
                        )
                    })
                    .collect()
            });
        let cases: &[(usize, usize)] = match &chosen {
            Some(cases) => cases,
            None if quick => &[(1, 100), (10, 100)],
            None => &[(1, 1000), (100, 1000), (1000, 1000), (10, 60_000)],
        };
        let (polls, scrapes) = if quick { (5, 1) } else { (200, 5) };
        println!("\n## Operations: N operations x S series, the release binary with --config.file");
        println!(
            "CPU per poll: process CPU time (/proc/PID/stat) over {polls} polls after every first poll, polls arriving at about 20/s; resident: VmRSS after them / all series; peak: VmHWM when /readyz first answers 200 (every first poll published); scrape: median of {scrapes} GETs, request to last byte"
        );
        println!(
            "\n| operations x series | build | polls | CPU ms/poll | vs 1 op | CPU vs first build | resident MiB | bytes/series | first-polls peak MiB | peak/steady | scrape plain ms | scrape gzip ms | plain bytes | gzip bytes |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        // The first case's CPU per poll, per build: what "vs 1 op" divides by.
        let mut one_op: Vec<Option<Duration>> = vec![None; builds.len()];
        for &(ops, series) in cases {
            let mut first_build = None;
            // Each build in turn at each case, so that a change of load hits all of them.
            for (b, build) in builds.iter().enumerate() {
                process::use_binary(&build.path);
                let r = operations::run(&upstream, ops, series, polls, scrapes);
                let base = *one_op[b].get_or_insert(r.cpu_per_poll);
                let first = *first_build.get_or_insert(r.cpu_per_poll);
                let per = |d: Duration, of: Duration| d.as_secs_f64() / of.as_secs_f64().max(1e-9);
                println!(
                    "| {} x {} | {} | {} | {} | {:.2}x | {:.2}x | {} | {:.0} | {} | {:.2} | {} | {} | {} | {} |",
                    r.operations,
                    r.series,
                    build.name,
                    r.polls,
                    ms(r.cpu_per_poll),
                    per(r.cpu_per_poll, base),
                    per(r.cpu_per_poll, first),
                    mib(r.steady_kib),
                    r.bytes_per_series(),
                    mib(r.first_polls_peak_kib),
                    r.peak_ratio(),
                    ms(r.scrape[0]),
                    ms(r.scrape[1]),
                    r.body[0],
                    r.body[1],
                );
            }
        }
    }

    if sections.contains(&"startup") {
        let runs = if quick { 3 } else { 21 };
        println!("\n## Start-up: from spawn to the first 200 on /metrics ({runs} runs)");
        println!("\n| figure | build | median ms | max ms | target |");
        println!("|---|---|---:|---:|---|");
        for build in &builds {
            process::use_binary(&build.path);
            let (mut listening, mut first) = process::startup(&upstream, runs);
            let lmax = *listening.iter().max().expect("runs");
            let fmax = *first.iter().max().expect("runs");
            println!(
                "| spawn to the `listening` log line | {} | {} | {} | |",
                build.name,
                ms(ingest::median(&mut listening)),
                ms(lmax)
            );
            println!(
                "| spawn to the first 200 on /metrics | {} | {} | {} | < 50 |",
                build.name,
                ms(ingest::median(&mut first)),
                ms(fmax)
            );
        }
    }

    if sections.contains(&"size") {
        println!("\n## Binary");
        for build in &builds {
            process::use_binary(&build.path);
            let (bytes, symbols) = process::binary_size();
            println!(
                "\n{} ({}): {} bytes ({:.2} MiB), {}",
                build.name,
                process::binary(),
                bytes,
                bytes as f64 / 1048576.0,
                if symbols { "NOT stripped" } else { "stripped" }
            );
        }
    }
}
