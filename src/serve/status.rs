//! The landing page `/`: what an operator reads at a glance, as Prometheus' targets page. Per
//! operation: the last call's result and when, the next poll, the rows of the report shown,
//! the token's budget when token_info is on, and `check`'s advice when the last call failed.
//!
//! Plain HTML with its CSS inline: no script, no asset from elsewhere, readable on a phone.
//! Operation names and Wolkvox's answers are not ours: everything they bring is escaped. The
//! token never reaches this page: the poller blanks it out of answers before keeping them.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::exposition::{OperationMetrics, ReportData};
use crate::upstream::PollResult;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:64rem;\
padding:.75rem;color:#1b1b1b;background:#fafafa;line-height:1.4}\
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.1rem;margin:0 0 .4rem;overflow-wrap:anywhere}\
nav a{margin-right:1rem}.muted{color:#5f5f5f;font-size:.9rem}\
section{background:#fff;border:1px solid #ddd;border-left:.4rem solid #888;border-radius:.3rem;\
padding:.6rem .8rem;margin:.8rem 0}\
section.up{border-left-color:#2e7d32}section.down{border-left-color:#c62828}\
.badge{display:inline-block;border-radius:.2rem;padding:0 .4rem;color:#fff;background:#888;\
font-size:.85rem;vertical-align:middle}\
.up .badge{background:#2e7d32}.down .badge{background:#c62828}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.3rem 0}\
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
.advice{background:#fff3e0;border:1px solid #ffb74d;border-radius:.2rem;padding:.3rem .5rem;margin:.4rem 0}\
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0}\
th,td{border-bottom:1px solid #e0e0e0;padding:.15rem .6rem .15rem 0;text-align:left}\
td.n,th.n{text-align:right}";

/// The page for `operations` (in the order given) at `now`. `telemetry_path` is linked.
pub fn render(operations: &[OperationMetrics], now: Timestamp, telemetry_path: &str) -> String {
    let mut out = String::with_capacity(4096 + operations.len() * 2048);
    let up = operations.iter().filter(|o| o.polled && o.up).count();
    let waiting = operations.iter().filter(|o| !o.polled).count();
    let down = operations.len() - up - waiting;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Wolkvox exporter</title><style>{STYLE}</style></head><body>\n\
         <h1>Wolkvox exporter</h1>\n\
         <p class=\"muted\">IVR menu usage from the Wolkvox report diagram_1_3. Version {version}; \
         page made {now}.</p>\n\
         <nav><a href=\"{path}\">Metrics</a><a href=\"/healthz\">Health</a>\
         <a href=\"/readyz\">Readiness</a></nav>\n\
         <p id=\"summary\">{total} operation{s}: {up} up, {down} down, {waiting} not polled yet.</p>\n",
        version = env!("CARGO_PKG_VERSION"),
        now = absolute(now, &TimeZone::UTC),
        path = escape(telemetry_path),
        total = operations.len(),
        s = if operations.len() == 1 { "" } else { "s" },
    );
    for op in operations {
        operation(&mut out, op, now);
    }
    out.push_str("</body></html>\n");
    out
}

fn operation(out: &mut String, op: &OperationMetrics, now: Timestamp) {
    let tz = &op.timezone;
    let (class, state) = match (&op.last_call, op.polled && op.up) {
        (None, _) => ("waiting", "not polled yet".to_owned()),
        (Some(call), true) => ("up", format!("up: {}", call.result)),
        (Some(call), false) => ("down", format!("down: {}", call.result)),
    };
    let _ = write!(
        out,
        "<section class=\"{class}\" data-operation=\"{name}\">\n\
         <h2>{name} <span class=\"badge\">{state}</span></h2>\n<dl>\
         <dt>Server</dt><dd>{server}</dd><dt>Zone</dt><dd>{zone}</dd>",
        name = escape(&op.operation),
        server = escape(&op.server),
        zone = escape(tz.iana_name().unwrap_or("UTC")),
    );
    match &op.last_call {
        Some(call) => {
            let _ = write!(
                out,
                "<dt>Last call</dt><dd class=\"result\">{} {}</dd>\
                 <dt>Answer</dt><dd class=\"detail\">{}</dd>",
                call.result,
                when(call.at, now, tz),
                escape(&call.detail),
            );
        }
        None => out.push_str("<dt>Last call</dt><dd class=\"result\">none yet</dd>"),
    }
    let next = match (op.next_poll, op.polled) {
        (Some(t), true) => when(t, now, tz),
        (Some(t), false) => format!("first poll due {}", when(t, now, tz)),
        // Only between a poller's registration and its start.
        (None, _) => "not scheduled yet".to_owned(),
    };
    let last_success = op
        .last_success
        .map(|t| when(t, now, tz))
        .unwrap_or_else(|| "never".to_owned());
    let _ = write!(
        out,
        "<dt>Next poll</dt><dd>{next}</dd><dt>Last success</dt><dd>{last_success}</dd>"
    );
    if let Some(failure) = &op.last_failure
        && op.last_call.as_ref() != Some(failure)
    {
        let _ = write!(
            out,
            "<dt>Last failure</dt><dd>{} {}: {}</dd>",
            failure.result,
            when(failure.at, now, tz),
            escape(&failure.detail)
        );
    }
    let budget = match op.token_info {
        Some(info) if info.limit > 0.0 => {
            let percent = 100.0 * info.used_today / info.limit;
            // 0.2% says more than 0%, 25.0% no more than 25%.
            let digits = usize::from(percent < 10.0);
            format!(
                "{} of {} calls used today ({percent:.digits$}%)",
                info.used_today, info.limit
            )
        }
        Some(info) => format!("{} calls used today, no limit given", info.used_today),
        None => "unknown (token_info is off, or has not answered)".to_owned(),
    };
    let _ = writeln!(
        out,
        "<dt>Token</dt><dd class=\"budget\">{budget}</dd>\
         <dt>Calls made</dt><dd>{} today, {} since start</dd></dl>",
        op.api_requests_today, op.api_requests
    );
    if let Some(call) = &op.last_call
        && call.result != PollResult::Success
    {
        let _ = writeln!(
            out,
            "<p class=\"advice\"><strong>What to do:</strong> {}</p>",
            escape(&call.result.advice(&op.server))
        );
    }
    report(out, op, now);
    out.push_str("</section>\n");
}

/// The rows of the report that the metrics show.
fn report(out: &mut String, op: &OperationMetrics, now: Timestamp) {
    let Some(data) = &op.data else {
        out.push_str("<p class=\"muted rows\">No report shown.</p>\n");
        return;
    };
    let (report, window) = (&data.report, &data.window);
    let stale = match (&op.last_call, op.last_success) {
        (Some(call), Some(at)) if !call.result.is_up() => format!(
            " The last good report, kept after the failure; from {}.",
            when(at, now, &op.timezone)
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "<p class=\"rows\">Report for {} to {}: {} rows, {} series.{stale}</p>",
        window.start.strftime("%Y-%m-%d %H:%M:%S"),
        window.end.strftime("%Y-%m-%d %H:%M:%S"),
        report.rows,
        data.series,
    );
    if report.series.is_empty() {
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>rp_id</th><th>cod_opc_menu</th>\
         <th class=\"n\">calls</th><th class=\"n\">time (s)</th></tr></thead><tbody>\n",
    );
    for s in report.series.iter().take(ReportData::HEAD) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&s.rp_id),
            escape(&s.cod_opc_menu),
            s.calls,
            s.time_seconds
        );
    }
    out.push_str("</tbody></table></div>\n");
    if data.series > ReportData::HEAD {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} more series in the metrics.</p>",
            data.series - ReportData::HEAD
        );
    }
}

/// `at` in the operation's zone, then how long ago or from now, in a `<time>` element.
fn when(at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    format!(
        "<time datetime=\"{at}\">{}</time> ({})",
        absolute(at, tz),
        relative(at, now)
    )
}

/// `2026-11-25 10:03:12 -05`: the offset says which zone, the page names it once.
fn absolute(at: Timestamp, tz: &TimeZone) -> String {
    let zoned = at.to_zoned_datetime(tz.clone());
    let offset = zoned.offset();
    if offset.seconds() == 0 {
        zoned.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        zoned.strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
    }
}

/// `just now`, `12s ago`, `3m ago`, `in 2h 5m`, `in 1d 3h`.
fn relative(at: Timestamp, now: Timestamp) -> String {
    let secs = at.as_second() - now.as_second();
    if secs.abs() < 1 {
        return "just now".to_owned();
    }
    let n = secs.unsigned_abs();
    let span = match n {
        0..60 => format!("{n}s"),
        60..3600 => format!("{}m", n / 60),
        3600..86400 if n % 3600 / 60 == 0 => format!("{}h", n / 3600),
        3600..86400 => format!("{}h {}m", n / 3600, n % 3600 / 60),
        _ => format!("{}d {}h", n / 86400, n % 86400 / 3600),
    };
    if secs < 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// `text` made safe for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::window::Window;
    use crate::exposition::ReportData;
    use crate::report::{Report, Series};
    use crate::upstream::TokenInfo;

    /// A call: `result` at `at` with `detail`.
    fn call(result: PollResult, at: Timestamp, detail: &str) -> crate::exposition::LastCall {
        crate::exposition::LastCall {
            result,
            at,
            detail: detail.to_owned(),
        }
    }

    fn now() -> Timestamp {
        "2026-11-25T15:00:00Z".parse().unwrap()
    }

    fn bogota() -> TimeZone {
        TimeZone::get("America/Bogota").unwrap()
    }

    fn healthy() -> OperationMetrics {
        let mut op = OperationMetrics::new("bogota".into(), Duration::from_secs(300));
        op.server = "0032".into();
        op.timezone = bogota();
        op.polled = true;
        op.up = true;
        let at = now() - jiff::SignedDuration::from_secs(120);
        op.last_call = Some(call(PollResult::Success, at, "2 rows"));
        op.last_success = Some(at);
        op.next_poll = Some(now() + jiff::SignedDuration::from_secs(180));
        op.token_info = Some(TokenInfo {
            limit: 5000.0,
            used_today: 1250.0,
        });
        let series = vec![Series {
            rp_id: "1001".into(),
            cod_opc_menu: "PULSE".into(),
            calls: 12.0,
            time_seconds: 340.5,
        }];
        op.data = Some(Arc::new(ReportData::new(
            Report {
                rows: 2,
                series,
                ..Report::default()
            },
            Window::Today.resolve(now(), &bogota()),
        )));
        op
    }

    #[test]
    fn a_healthy_operation_shows_its_result_times_budget_and_rows() {
        let page = render(&[healthy()], now(), "/metrics");
        for expected in [
            "<meta name=\"viewport\"",
            "1 operation: 1 up, 0 down, 0 not polled yet.",
            "up: success",
            "America/Bogota",
            // 14:58 UTC in Bogota, two minutes before the page.
            "2026-11-25 09:58:00 -05:00</time> (2m ago)",
            "2026-11-25 10:03:00 -05:00</time> (in 3m)",
            "1250 of 5000 calls used today (25%)",
            "<dt>Calls made</dt><dd>0 today, 0 since start</dd>",
            "Report for 2026-11-25 00:00:00 to 2026-11-25 10:00:00: 2 rows, 1 series.",
            "<td>1001</td><td>PULSE</td><td class=\"n\">12</td><td class=\"n\">340.5</td>",
        ] {
            assert!(page.contains(expected), "{expected:?} not in\n{page}");
        }
        assert!(!page.contains("What to do"), "no advice when all is well");
    }

    #[test]
    fn a_failing_operation_shows_the_advice_of_check_and_keeps_the_last_good_rows() {
        let mut op = healthy();
        op.up = false;
        let failed = call(PollResult::Unauthorized, now(), "HTTP 401: invalid token");
        op.last_call = Some(failed.clone());
        op.last_failure = Some(failed);
        op.token_info = None;
        let page = render(&[op], now(), "/metrics");
        let advice = escape(&PollResult::Unauthorized.advice("0032"));
        for expected in [
            "0 up, 1 down",
            "down: unauthorized",
            "HTTP 401: invalid token",
            &advice,
            "unknown (token_info is off",
            "The last good report, kept after the failure",
            "<td>PULSE</td>",
        ] {
            assert!(page.contains(expected), "{expected:?} not in\n{page}");
        }
        // The failure is the last call: it is not listed a second time.
        assert!(!page.contains("Last failure"));
    }

    #[test]
    fn names_and_answers_from_outside_are_escaped() {
        let mut op = healthy();
        op.operation = "<script>alert('op')</script>".into();
        op.up = false;
        op.last_call = Some(call(
            PollResult::ServerError,
            now(),
            "HTTP 502: <h1>Bad \"Gateway\"</h1> & <img src=x onerror=alert(1)>",
        ));
        if let Some(data) = &mut op.data {
            let data = Arc::make_mut(data);
            data.report.series[0].cod_opc_menu = "<b>MENU</b>".into();
        }
        let page = render(&[op], now(), "/metrics?x=\"<a>\"");
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<h1>Bad"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<b>MENU"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;op&#39;)&lt;/script&gt;"));
        assert!(page.contains(
            "HTTP 502: &lt;h1&gt;Bad &quot;Gateway&quot;&lt;/h1&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"
        ));
        assert!(page.contains("href=\"/metrics?x=&quot;&lt;a&gt;&quot;\""));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_script() {
        let mut waiting = OperationMetrics::new("later".into(), Duration::from_secs(300));
        waiting.server = "0048".into();
        let page = render(&[healthy(), waiting], now(), "/metrics");
        assert!(page.contains("not polled yet"));
        for forbidden in ["<script", "http://", "https://", "src=", "<link", "@import"] {
            assert!(!page.contains(forbidden), "{forbidden:?} in\n{page}");
        }
    }

    #[test]
    fn the_summary_counts_one_operation_in_the_singular_and_more_in_the_plural() {
        let page = render(&[healthy()], now(), "/metrics");
        assert!(page.contains(">1 operation: 1 up,"), "{page}");
        let page = render(&[healthy(), healthy()], now(), "/metrics");
        assert!(page.contains(">2 operations: 2 up,"), "{page}");
    }

    #[test]
    fn an_operation_not_polled_yet_shows_when_its_first_poll_is_due() {
        let mut waiting = OperationMetrics::new("later".into(), Duration::from_secs(300));
        waiting.timezone = bogota();
        waiting.next_poll = Some(now() + jiff::SignedDuration::from_secs(20));
        let page = render(&[waiting], now(), "/metrics");
        let expected = "<dt>Next poll</dt><dd>first poll due \
                        <time datetime=\"2026-11-25T15:00:20Z\">2026-11-25 10:00:20 -05:00</time> \
                        (in 20s)</dd>";
        assert!(page.contains(expected), "{expected:?} not in\n{page}");
        assert!(!page.contains("after the first poll"), "{page}");
    }

    #[test]
    fn relative_times_read_as_an_operator_would_say_them() {
        let t = now();
        let at = |s: i64| t + jiff::SignedDuration::from_secs(s);
        assert_eq!(relative(t, t), "just now");
        assert_eq!(relative(at(-12), t), "12s ago");
        assert_eq!(relative(at(-150), t), "2m ago");
        assert_eq!(relative(at(180), t), "in 3m");
        assert_eq!(relative(at(7200), t), "in 2h");
        assert_eq!(relative(at(7500), t), "in 2h 5m");
        assert_eq!(relative(at(-(86400 + 3 * 3600)), t), "1d 3h ago");
        assert_eq!(absolute(t, &TimeZone::UTC), "2026-11-25 15:00:00 UTC");
    }
}
