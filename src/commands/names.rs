//! `wolkvox-exporter names`: a names file to start from, with every routing point and menu
//! option of each operation's previous local day (whole), names left empty to fill in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Error;
use crate::commands::backfill::plan::step_at;
use crate::config::Config;
use crate::config::names::Category;
use crate::config::window::{ReportWindow, start_of_day};
use crate::demo::{self, Demo};
use crate::{report, upstream};

/// The names file of every operation of `config`, and the operations that gave no report
/// (each with its result and Wolkvox's answer), which the file mentions in a comment.
pub async fn template(config: Config) -> Result<(String, Vec<String>), Error> {
    let clock = demo::clock_for(&config);
    let demo = Demo::start(&config, clock.as_ref()).await?;
    // Names already given are kept, so that running it again adds the new ids only.
    let known = demo::names::with_builtin(&config, &config.names);
    let mut out = String::from(
        "# Names of routing points and menu options for --names.file, from the report of the previous\n\
         # local day. An empty name gives no info series; categories: self_service, agent, pulse, other.\n\
         operations:\n",
    );
    let mut failed = Vec::new();
    let http = upstream::HttpClients::default();
    for op in &config.operations {
        let client = demo::client(op, demo.as_ref(), config.max_body_size, &http)?;
        let window = previous_day(clock.now(), &op.timezone);
        let (classified, parsed) =
            report::from_answer(client.fetch(&window).await, op.time_unit, config.max_series);
        let Some(parsed) = parsed.filter(|_| classified.result.is_up()) else {
            let why = format!(
                "operation {:?}: {}: {}",
                op.name,
                classified.result.as_str(),
                client.redact(&classified.detail)
            );
            let _ = writeln!(out, "  # {}", why.replace('\n', " "));
            failed.push(why);
            continue;
        };
        // A report's series are its distinct pairs in (rp_id, cod_opc_menu) order.
        let mut ids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &parsed.series {
            ids.entry(&s.rp_id).or_default().push(&s.cod_opc_menu);
        }
        let _ = writeln!(out, "  {}:\n    routing_points:", quote(&op.name));
        if ids.is_empty() {
            let _ = writeln!(out, "      {{}}");
        }
        let named = known.operations.get(&op.name);
        for (rp_id, codes) in ids {
            let rp = named.and_then(|n| n.routing_points.get(rp_id));
            let rp_name = rp.map_or("", |rp| rp.name.as_str());
            let _ = writeln!(out, "      {}:", quote(rp_id));
            let _ = writeln!(out, "        name: {}", quote(rp_name));
            let _ = writeln!(out, "        options:");
            for code in codes {
                let option = rp.and_then(|rp| rp.options.get(code));
                let name = option.map_or("", |o| o.name.as_str());
                let category = option.and_then(|o| o.category).or_else(|| {
                    // PULSE is Wolkvox's own option: the caller pressed nothing.
                    (code == "PULSE").then_some(Category::Pulse)
                });
                let category = category
                    .map(|c| format!(", category: {}", c.as_str()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "          {}: {{name: {}{category}}}",
                    quote(code),
                    quote(name)
                );
            }
        }
    }
    // What is written must load as a names file: the ids are the report's, any text at all.
    debug_assert!(crate::config::file::parse_names(std::path::Path::new("-"), &out).is_ok());
    Ok((out, failed))
}

/// The whole local day before the one `now` falls in: the window of a backfill's sample at
/// the local midnight.
fn previous_day(now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> ReportWindow {
    let midnight = start_of_day(&now.to_zoned_datetime(tz.clone())).timestamp();
    step_at(midnight, tz).window
}

/// A YAML double-quoted string: JSON's string syntax is a subset of it.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_day_is_whole_in_the_zone_across_a_change_of_offset() {
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        // The day after the autumn change: the previous day had 25 hours.
        let now: jiff::Timestamp = "2026-11-02T15:00:00Z".parse().unwrap();
        let w = previous_day(now, &tz);
        assert_eq!(
            (w.date_ini(), w.date_end()),
            ("20261101000000".into(), "20261101235959".into())
        );
        assert_eq!(w.end_ts.as_second() - w.start_ts.as_second(), 25 * 3600 - 1);
    }

    #[test]
    fn quoted_ids_and_names_load_back_as_written() {
        let odd = "a\"b\\c: #d";
        let yaml = format!(
            "operations:\n  {}:\n    routing_points:\n      {}: {{name: {}}}\n",
            quote(odd),
            quote(odd),
            quote(odd)
        );
        let names = crate::config::file::parse_names(std::path::Path::new("-"), &yaml).unwrap();
        assert_eq!(names.operations[odd].routing_points[odd].name, odd);
    }
}
