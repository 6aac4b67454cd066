//! `wolkvox-exporter check`: one call per operation, one after the other, and what to do
//! about each answer, as a table or JSON.

use crate::Error;
use crate::config::Config;
use crate::config::window::ReportWindow;
use crate::demo::{self, Demo};
use crate::report::Series;
use crate::{report, upstream};

/// What `check` found for one operation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    pub operation: String,
    pub server: String,
    /// The result label of the call.
    pub result: String,
    /// Whether the operation answered with a report.
    pub ok: bool,
    /// What Wolkvox answered.
    pub detail: String,
    /// What to do about it.
    pub advice: String,
    /// The window asked for, as sent.
    pub date_ini: String,
    /// The window asked for, as sent.
    pub date_end: String,
    /// The zone of the window's local times.
    pub timezone: String,
    /// The window asked for, as a person reads it: `2026-12-06 00:00 to 20:00 America/Bogota`.
    pub window: String,
    /// The report: rp_id, cod_opc_menu, calls, time in seconds.
    pub rows: Vec<Series>,
}

/// `wolkvox-exporter check`: one call per operation, one after the other, with the system
/// clock. Returns what each operation answered.
pub async fn check(config: Config) -> Result<Vec<CheckResult>, Error> {
    let clock = demo::clock_for(&config);
    let demo = Demo::start(&config, clock.as_ref()).await?;
    let http = upstream::HttpClients::default();
    let mut out = Vec::new();
    for op in &config.operations {
        let client = demo::client(op, demo.as_ref(), config.max_body_size, &http)?;
        let window = op.window.resolve(clock.now(), &op.timezone);
        let zone = op.timezone.iana_name().unwrap_or("UTC");
        let (classified, parsed) =
            report::from_answer(client.fetch(&window).await, op.time_unit, config.max_series);
        out.push(CheckResult {
            operation: op.name.clone(),
            server: op.server.as_str().to_owned(),
            result: classified.result.as_str().to_owned(),
            ok: classified.result.is_up(),
            detail: client.redact(&classified.detail),
            advice: classified.result.advice(op.server.as_str()),
            date_ini: window.date_ini(),
            date_end: window.date_end(),
            timezone: zone.to_owned(),
            window: readable_window(&window, zone),
            rows: parsed.map(|r| r.series).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `2026-12-06 00:00 to 20:00 America/Bogota`; both dates when the window spans two days, and
/// the seconds only when they are not zero, so that nothing the request says is lost.
fn readable_window(window: &ReportWindow, zone: &str) -> String {
    let time = |t: jiff::civil::DateTime| match t.second() {
        0 => t.strftime("%H:%M").to_string(),
        _ => t.strftime("%H:%M:%S").to_string(),
    };
    let (start, end) = (window.start, window.end);
    let end_text = match start.date() == end.date() {
        true => time(end),
        false => format!("{} {}", end.date(), time(end)),
    };
    format!("{} {} to {end_text} {zone}", start.date(), time(start))
}

/// Renders `check` results as readable tables.
pub fn render_table(results: &[CheckResult]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in results {
        let _ = writeln!(
            out,
            "operation {} (server {}), {}: {}",
            r.operation, r.server, r.window, r.result
        );
        let _ = writeln!(out, "  Wolkvox answered: {}", r.detail);
        if !r.ok {
            let _ = writeln!(out, "  what to do: {}", r.advice);
        }
        if !r.rows.is_empty() {
            let width = |text: fn(&Series) -> &str, heading: &str| {
                let widest = r.rows.iter().map(|x| text(x).chars().count()).max();
                widest.unwrap_or(0).max(heading.len())
            };
            let w_rp = width(|x| &x.rp_id, "rp_id");
            let w_opt = width(|x| &x.cod_opc_menu, "cod_opc_menu");
            let _ = writeln!(
                out,
                "  {:<w_rp$}  {:<w_opt$}  {:>10}  {:>12}",
                "rp_id", "cod_opc_menu", "calls", "time (s)"
            );
            for x in &r.rows {
                let _ = writeln!(
                    out,
                    "  {:<w_rp$}  {:<w_opt$}  {:>10}  {:>12}",
                    x.rp_id, x.cod_opc_menu, x.calls, x.time_seconds
                );
            }
        }
        out.push('\n');
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    let _ = writeln!(
        out,
        "{} of {} operations answered",
        results.len() - failed,
        results.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::tz::TimeZone;

    use super::*;
    use crate::config::window::Window;

    /// A successful check of `window` at 20:00 on 2026-12-06 in Bogota.
    fn checked(window: Window) -> CheckResult {
        let now = "2026-12-07T01:00:00Z".parse().unwrap();
        let zone = TimeZone::get("America/Bogota").unwrap();
        let window = window.resolve(now, &zone);
        CheckResult {
            operation: "bogota".into(),
            server: "0032".into(),
            result: "success".into(),
            ok: true,
            detail: "1 records were found".into(),
            advice: String::new(),
            date_ini: window.date_ini(),
            date_end: window.date_end(),
            timezone: "America/Bogota".into(),
            window: readable_window(&window, "America/Bogota"),
            rows: Vec::new(),
        }
    }

    #[test]
    fn the_table_shows_the_window_with_its_zone_not_as_fourteen_digits() {
        let table = render_table(&[checked(Window::Today)]);
        assert!(
            table.starts_with(
                "operation bogota (server 0032), 2026-12-06 00:00 to 20:00 America/Bogota: success\n"
            ),
            "{table}"
        );
        assert!(!table.contains("20261206"), "{table}");
    }

    #[test]
    fn a_window_over_two_days_shows_both_dates() {
        let day = Window::Rolling(Duration::from_secs(24 * 3600));
        let table = render_table(&[checked(day)]);
        assert!(
            table.contains(", 2026-12-05 20:00 to 2026-12-06 20:00 America/Bogota: success"),
            "{table}"
        );
    }

    #[test]
    fn the_json_keeps_the_fourteen_digits_for_scripts_and_adds_the_zone() {
        let json = serde_json::to_value(checked(Window::Today)).unwrap();
        assert_eq!(json["date_ini"], "20261206000000");
        assert_eq!(json["date_end"], "20261206200000");
        assert_eq!(json["timezone"], "America/Bogota");
    }
}
