//! Ingest: what a poll costs once the body has arrived. The steps are the poller's own, in
//! its order: classify (decode the JSON, parse and aggregate the rows), the counters that
//! survive midnight, and `Store::publish` (encode both formats and their gzip copies, swap the
//! snapshot in). The limit it is compared with: serde_json scanning the same bytes into
//! `IgnoredAny`, which allocates nothing and builds nothing.
//!
//! Scan and ingest alternate in one loop, so that both see the same machine; each sample
//! repeats its step until it has run for a minimum time, and the figures are medians.

use std::hint::black_box;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::IgnoredAny;
use wolkvox_exporter::config::TimeUnit;
use wolkvox_exporter::config::window::{ReportWindow, Window};
use wolkvox_exporter::counters::DayCounters;
use wolkvox_exporter::exposition::{Format, OperationMetrics, ReportData, Store};
use wolkvox_exporter::report::from_answer;
use wolkvox_exporter::upstream::PollResult;
use wolkvox_exporter::upstream::types::Head;

/// What one size measured; times are medians per run of the step.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// Rows in the body (each a distinct series).
    pub rows: usize,
    /// Body size in bytes.
    pub body_bytes: usize,
    /// Data series in the exposition.
    pub series: usize,
    /// Sizes of the encodings: text, text gzip, OpenMetrics, OpenMetrics gzip.
    pub exposition_bytes: [usize; 4],
    /// serde_json into IgnoredAny.
    pub scan: Duration,
    /// The whole ingest: classify + counters + publish.
    pub ingest: Duration,
    /// Decoding alone: every row read and dropped (`Head::decode`).
    pub decode: Duration,
    /// classify alone (decode, parse, aggregate).
    pub classify: Duration,
    /// The counters alone (observe + series).
    pub counters: Duration,
    /// Store::publish alone (encode, gzip, swap).
    pub publish: Duration,
    /// A reference for the part of `publish` that compression takes: flate2 at the exporter's
    /// level gzipping the text exposition, in one piece, on one thread (the exporter cuts it
    /// into pieces and uses every core).
    pub gzip_alone: Duration,
}

impl Ingest {
    /// Ingest time over scan time.
    pub fn ratio(&self) -> f64 {
        self.ingest.as_secs_f64() / self.scan.as_secs_f64()
    }
}

/// The median of `samples` (sorted in place).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Runs `f` repeatedly for at least `min` and returns the time per run.
fn sample(min: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut runs = 0u32;
    loop {
        f();
        runs += 1;
        let elapsed = start.elapsed();
        if elapsed >= min {
            return elapsed / runs;
        }
    }
}

/// One poller's state between polls, as in `Poller::poll`: the counters and the metrics it
/// publishes.
struct PollState {
    store: Store,
    counters: DayCounters,
    metrics: OperationMetrics,
    window: ReportWindow,
}

impl PollState {
    fn new(body: &Bytes) -> Self {
        let tz = jiff::tz::TimeZone::get("America/Bogota").expect("bundled zone");
        let now: jiff::Timestamp = "2026-11-25T19:00:00Z".parse().expect("valid instant");
        let mut state = PollState {
            store: Store::new(),
            counters: DayCounters::new(Duration::ZERO),
            metrics: OperationMetrics::new("0032".to_owned(), Duration::from_secs(300)),
            window: Window::Today.resolve(now, &tz),
        };
        state.metrics.polled = true;
        state.metrics.up = true;
        // The first report starts the day's running totals; later ones raise them, as between
        // polls.
        state.poll(body);
        state
    }

    /// One successful poll of `body`, from classification to the swap.
    fn poll(&mut self, body: &Bytes) -> usize {
        let (_, report) = from_answer(Ok((200, body.clone())), TimeUnit::Minutes, usize::MAX);
        let report = report.expect("the body is a report");
        let day = self.window.start.date();
        let now = self.window.end_ts;
        black_box(self.counters.observe(day, &report, now, false));
        self.metrics.counters = Some(self.counters.series());
        let series = report.series.len();
        self.metrics.polls[PollResult::Success] += 1;
        self.metrics.data = Some(Arc::new(ReportData::new(report, self.window.clone())));
        self.store.publish(self.metrics.clone());
        series
    }
}

/// Measures one body of `rows` rows: `rounds` samples of each step, each at least `min` long.
pub fn run(rows: usize, rounds: usize, min: Duration) -> Ingest {
    let body = Bytes::from(super::body::report_body(rows));
    let mut state = PollState::new(&body);
    let snapshot = state.store.current();
    let size = |format, gzip| snapshot.parts(format, gzip).concat().len();
    let exposition_bytes = [
        size(Format::Text, false),
        size(Format::Text, true),
        size(Format::OpenMetrics, false),
        size(Format::OpenMetrics, true),
    ];
    drop(snapshot);
    let series = state.poll(&body);

    let (mut scan, mut ingest) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        scan.push(sample(min, || {
            black_box(serde_json::from_slice::<IgnoredAny>(black_box(&body)).expect("JSON"));
        }));
        ingest.push(sample(min, || {
            black_box(state.poll(black_box(&body)));
        }));
    }

    // The steps one by one, for the profile of where the time goes.
    let (mut decode, mut classified, mut counters, mut publish, mut gzip_alone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let text: Vec<u8> = state.store.current().parts(Format::Text, false).concat();
    let report = from_answer(Ok((200, body.clone())), TimeUnit::Minutes, usize::MAX)
        .1
        .expect("a report");
    let day = state.window.start.date();
    for _ in 0..rounds {
        decode.push(sample(min, || {
            black_box(
                Head::decode(black_box(&body), |item| {
                    black_box(item);
                })
                .expect("JSON"),
            );
        }));
        classified.push(sample(min, || {
            black_box(from_answer(
                Ok((200, body.clone())),
                TimeUnit::Minutes,
                usize::MAX,
            ));
        }));
        counters.push(sample(min, || {
            black_box(
                state
                    .counters
                    .observe(day, &report, state.window.end_ts, false),
            );
            black_box(state.counters.series());
        }));
        publish.push(sample(min, || {
            state.store.publish(state.metrics.clone());
        }));
        gzip_alone.push(sample(min, || {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(text.len() / 8),
                flate2::Compression::fast(),
            );
            gz.write_all(black_box(&text)).expect("in memory");
            black_box(gz.finish().expect("in memory"));
        }));
    }

    Ingest {
        rows,
        body_bytes: body.len(),
        series,
        exposition_bytes,
        scan: median(&mut scan),
        ingest: median(&mut ingest),
        decode: median(&mut decode),
        classify: median(&mut classified),
        counters: median(&mut counters),
        publish: median(&mut publish),
        gzip_alone: median(&mut gzip_alone),
    }
}

/// A store that has published one poll of a `rows`-row report, as the poller leaves it.
pub fn published_store(rows: usize) -> Store {
    let body = Bytes::from(super::body::report_body(rows));
    let state = PollState::new(&body);
    state.store
}
