//! The simulator's traffic: a deterministic function of a seed and of (routing point, option,
//! minute), so that a window's totals are exactly the sum of its minutes.

use jiff::civil::DateTime;

/// One menu option of a routing point, with its share of the point's calls and the seconds a
/// caller typically spends in it.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub code: &'static str,
    /// Share of the routing point's calls, relative to its siblings.
    pub weight: f64,
    pub seconds_per_call: u64,
}

/// A routing point and its options.
#[derive(Debug, Clone, Copy)]
pub struct RoutingPoint {
    pub id: &'static str,
    /// Calls per minute at the busiest hour.
    pub peak_calls_per_minute: f64,
    pub options: &'static [OptionSpec],
}

const fn opt(code: &'static str, weight: f64, seconds_per_call: u64) -> OptionSpec {
    OptionSpec {
        code,
        weight,
        seconds_per_call,
    }
}

/// The simulated IVR: option codes as seen in real flows, digits and words, and PULSE.
pub const ROUTING_POINTS: &[RoutingPoint] = &[
    RoutingPoint {
        id: "1001",
        peak_calls_per_minute: 6.0,
        options: &[
            opt("1", 0.30, 35),
            opt("2", 0.25, 50),
            opt("3", 0.10, 28),
            opt("AGENTE", 0.25, 95),
            opt("PULSE", 0.10, 12),
        ],
    },
    RoutingPoint {
        id: "1002",
        peak_calls_per_minute: 3.0,
        options: &[
            opt("1", 0.40, 40),
            opt("2", 0.20, 22),
            opt("CV_BUZON", 0.15, 60),
            opt("NO_PASA_AGENTE", 0.15, 18),
            opt("PULSE", 0.10, 10),
        ],
    },
    RoutingPoint {
        id: "2001",
        peak_calls_per_minute: 1.5,
        options: &[
            opt("1", 0.45, 30),
            opt("9", 0.10, 15),
            opt("AGENTE", 0.35, 120),
            opt("PULSE", 0.10, 9),
        ],
    },
];

/// Share of peak traffic by local hour: quiet at night, busy mid-morning and mid-afternoon.
const HOURLY_SHAPE: [f64; 24] = [
    0.03, 0.02, 0.02, 0.02, 0.03, 0.05, 0.15, 0.40, 0.70, 0.90, 1.00, 0.95, //
    0.75, 0.70, 0.85, 0.95, 0.90, 0.70, 0.45, 0.30, 0.20, 0.12, 0.07, 0.04,
];

/// A minute index: minutes since 1970-01-01 00:00 of the operation's civil time.
pub fn minute_index(dt: DateTime) -> i64 {
    civil_seconds(dt).div_euclid(60)
}

/// Seconds since 1970-01-01 00:00 of the operation's civil time.
pub fn civil_seconds(dt: DateTime) -> i64 {
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0)
}

/// A change of traffic: from minute `from` on, PULSE on `rp_id` (or, unless `pulse_only`, every
/// option of it) gets `factor` times its calls. A factor of 0 on every option is an outage.
#[derive(Debug, Clone)]
pub struct Spike {
    pub rp_id: String,
    /// First minute index of the spike.
    pub from: i64,
    pub factor: f64,
    pub pulse_only: bool,
}

/// A hash of a minute's coordinates, not a random source: a minute's calls must come out the
/// same in every window that covers it (windows that meet add up to the whole), so each value
/// is a pure function of (seed, routing point, option, minute). A seeded generator would need
/// the minutes drawn in order; SplitMix64's finaliser gives any minute directly.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(seed: u64, rp: usize, option: usize, minute: i64, salt: u64) -> f64 {
    let h = splitmix(
        seed ^ splitmix((rp as u64) << 40 ^ (option as u64) << 32 ^ salt) ^ splitmix(minute as u64),
    );
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Calls and seconds of one option of one routing point in one minute.
pub fn minute(seed: u64, rp: usize, option: usize, minute: i64, spikes: &[Spike]) -> (u64, u64) {
    let point = &ROUTING_POINTS[rp];
    let spec = &point.options[option];
    let hour = (minute.rem_euclid(1440) / 60) as usize;
    let mut rate = point.peak_calls_per_minute * spec.weight * HOURLY_SHAPE[hour];
    for s in spikes {
        if s.rp_id == point.id && minute >= s.from && (spec.code == "PULSE" || !s.pulse_only) {
            rate *= s.factor;
        }
    }
    // The floor of rate + U(0,1) is an integer whose mean is exactly `rate`.
    let calls = (rate + unit(seed, rp, option, minute, 1)).floor() as u64;
    if calls == 0 {
        return (0, 0);
    }
    // Seconds per call vary by up to a third around the typical value.
    let typical = spec.seconds_per_call as f64;
    let per_call = typical * (0.67 + 0.66 * unit(seed, rp, option, minute, 2));
    (calls, (calls as f64 * per_call).round() as u64)
}

/// Exact totals of a window, per (rp_id, option), only pairs with at least one call.
/// A minute's calls are booked at the minute's first second, and a window covers the seconds
/// from `ini` to `end` inclusive: windows that meet at any second boundary split the minutes
/// between them without loss or overlap.
pub fn totals(
    seed: u64,
    ini: DateTime,
    end: DateTime,
    spikes: &[Spike],
) -> Vec<(&'static str, &'static str, u64, u64)> {
    let ini_s = civil_seconds(ini);
    let end_s = civil_seconds(end);
    let first = ini_s.div_euclid(60) + i64::from(ini_s.rem_euclid(60) != 0);
    let last = end_s.div_euclid(60);
    let mut out = Vec::new();
    for (rp, point) in ROUTING_POINTS.iter().enumerate() {
        for (o, spec) in point.options.iter().enumerate() {
            let (mut calls, mut secs) = (0u64, 0u64);
            for m in first..=last {
                let (c, s) = minute(seed, rp, o, m, spikes);
                calls += c;
                secs += s;
            }
            if calls > 0 {
                out.push((point.id, spec.code, calls, secs));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    #[test]
    fn the_configurations_demo_routing_points_are_the_simulators() {
        let ids: Vec<&str> = ROUTING_POINTS.iter().map(|p| p.id).collect();
        assert_eq!(ids, crate::config::DEMO_ROUTING_POINTS);
    }

    #[test]
    fn windows_that_meet_add_up_to_the_whole() {
        let seed = 7;
        let whole = totals(
            seed,
            dt("2026-11-25T00:00:00"),
            dt("2026-11-25T23:59:59"),
            &[],
        );
        let a = totals(
            seed,
            dt("2026-11-25T00:00:00"),
            dt("2026-11-25T13:37:29"),
            &[],
        );
        let b = totals(
            seed,
            dt("2026-11-25T13:37:30"),
            dt("2026-11-25T23:59:59"),
            &[],
        );
        for (rp, opt, calls, secs) in &whole {
            let get = |v: &Vec<(&str, &str, u64, u64)>| {
                v.iter()
                    .find(|t| t.0 == *rp && t.1 == *opt)
                    .map(|t| (t.2, t.3))
                    .unwrap_or((0, 0))
            };
            let (ca, sa) = get(&a);
            let (cb, sb) = get(&b);
            assert_eq!((ca + cb, sa + sb), (*calls, *secs), "{rp}/{opt}");
        }
    }

    #[test]
    fn nights_are_quieter_than_mornings_and_spikes_raise_pulse() {
        let sum = |v: Vec<(&str, &str, u64, u64)>| v.iter().map(|t| t.2).sum::<u64>();
        let night = sum(totals(
            1,
            dt("2026-11-25T02:00:00"),
            dt("2026-11-25T02:59:59"),
            &[],
        ));
        let morning = sum(totals(
            1,
            dt("2026-11-25T10:00:00"),
            dt("2026-11-25T10:59:59"),
            &[],
        ));
        assert!(night * 5 < morning, "night {night} morning {morning}");
        let spike = Spike {
            rp_id: "1001".into(),
            from: minute_index(dt("2026-11-25T10:30:00")),
            factor: 10.0,
            pulse_only: true,
        };
        let pulse = |s: &[Spike]| {
            totals(1, dt("2026-11-25T10:00:00"), dt("2026-11-25T10:59:59"), s)
                .into_iter()
                .find(|t| t.0 == "1001" && t.1 == "PULSE")
                .unwrap()
                .2
        };
        assert!(pulse(&[spike]) > 3 * pulse(&[]));
    }
}
