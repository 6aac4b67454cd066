//! `--poll.budget-share` over real HTTP: token_info from the simulator, with the token's other
//! users' calls booked there, sets the interval that `wolkvox_poll_effective_interval_seconds`
//! and the next poll show.

use crate::common;

use std::time::Duration;

use common::*;
use wolkvox_exporter::demo::simulator::SimulatorConfig;

const ZONE: &str = "America/Bogota";

/// The effective interval and the wait to the next poll after the first poll at 12:00 local
/// time, with `elsewhere` calls already spent by the token's other users (limit 1,000).
async fn first_poll(share: Option<f64>, elsewhere: u64) -> (f64, f64, u64) {
    let (sim, url) = spawn_simulator_with(SimulatorConfig {
        tokens: vec![TOKEN.to_owned()],
        quota: Some(1000),
        ..SimulatorConfig::default()
    })
    .await;
    sim.spend_elsewhere(TOKEN, elsewhere);
    let mut cfg = config(&url);
    cfg.op_mut().timezone = jiff::tz::TimeZone::get(ZONE).unwrap();
    cfg.op_mut().poll_interval = Duration::from_secs(60);
    cfg.token_info_interval = Some(Duration::from_secs(3600));
    cfg.budget_share = share;
    let now = local(ZONE, "2026-11-25T12:00:00");
    let (exporter, _clock) = spawn_exporter_at(cfg, now).await;
    // The token_info answer comes after the first report: the second poll's wait uses it.
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    let interval = m.value("wolkvox_poll_effective_interval_seconds", &[]);
    let next = m.value("wolkvox_next_poll_timestamp_seconds", &[]) - now.as_second() as f64;
    let used = sim.calls_by_token(TOKEN);
    exporter.stop().await;
    (interval, next, used)
}

#[tokio::test]
async fn without_a_share_the_configured_interval_holds() {
    let (interval, next, _) = first_poll(None, 900).await;
    assert_eq!(interval, 60.0);
    assert_eq!(next, 60.0);
}

#[tokio::test]
async fn the_share_spreads_what_is_left_of_it_over_the_rest_of_the_local_day() {
    // Other users spent 100: our share is 250 calls, of which the report and token_info
    // spent 2. 12 h to midnight, 12 token_info calls to come: 236 polls, one per 183.05 s.
    let (interval, next, used) = first_poll(Some(0.25), 100).await;
    assert_eq!(used, 102);
    let want = 12.0 * 3600.0 / 236.0;
    assert!((interval - want).abs() < 1e-6, "{interval} vs {want}");
    assert!((next - want).abs() < 1.0, "next poll in {next}");
}

#[tokio::test]
async fn other_users_leaving_less_than_the_share_lengthen_the_interval_further() {
    // Other users spent 900: 98 calls are left on the token after ours; 86 polls in 12 h.
    let (interval, _, _) = first_poll(Some(0.25), 900).await;
    let want = 12.0 * 3600.0 / 86.0;
    assert!((interval - want).abs() < 1e-6, "{interval} vs {want}");
}

#[tokio::test]
async fn a_spent_share_waits_for_the_next_local_day() {
    // 990 spent elsewhere: 8 left, fewer than the token_info calls still to come.
    let (interval, next, _) = first_poll(Some(0.25), 990).await;
    assert_eq!(interval, 12.0 * 3600.0);
    assert!((next - 12.0 * 3600.0).abs() < 1.0, "next poll in {next}");
}
