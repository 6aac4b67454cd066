//! The integration tests: one crate, so that the suite links once, with a module per area.

#[path = "../common/mod.rs"]
mod common;

mod alert_quality;
mod backfill;
mod bench;
mod budget;
mod cli;
mod counters;
mod dashboards;
mod errors;
mod examples;
mod faults;
mod golden;
mod metrics;
mod names;
mod operations;
mod polling;
mod process;
mod prometheus;
mod properties;
mod readme;
mod rules;
mod scale;
mod shard;
mod simulator;
mod slow_clients;
mod soak;
mod status_page;
mod upstream_tls;
mod web;
