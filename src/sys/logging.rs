//! Log lines: logfmt (the default, as Prometheus' own components write) or JSON.
//!
//! Only this crate logs below warn: dependencies (hyper, reqwest, rustls) log connection details
//! at debug and trace that nobody needs in an exporter's log, and that is one less place where
//! something secret could leak.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` pairs, one event a line.
    Logfmt,
    /// One JSON object a line.
    Json,
}

/// Installs the global subscriber, writing to stderr.
pub fn init(level: Level, format: LogFormat) {
    let filter = Targets::new()
        .with_target("wolkvox_exporter", level)
        .with_default(level.min(Level::WARN));
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Logfmt => layer.event_format(Logfmt).boxed(),
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed(),
    };
    // A second init (only possible in tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init();
}

/// `ts=... level=info msg="..." key=value` lines.
///
/// Hand-written rather than tracing-logfmt (0.3): that crate writes the event's text under the
/// key `message`, where Prometheus' own components and this exporter's users' log queries use
/// `msg`, has no option to rename it, and brings the `time` crate beside jiff for `ts`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut visitor = LogfmtVisitor::default();
        event.record(&mut visitor);
        let now = jiff::Timestamp::now();
        writeln!(
            writer,
            "ts={} level={} target={}{}{}",
            now.round(jiff::Unit::Millisecond).unwrap_or(now),
            meta.level().as_str().to_ascii_lowercase(),
            meta.target(),
            visitor.msg,
            visitor.fields
        )
    }
}

/// The event's text as ` msg=...`, which comes first, and its other fields after it.
#[derive(Default)]
struct LogfmtVisitor {
    msg: String,
    fields: String,
}

impl Visit for LogfmtVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        let (out, key) = match field.name() {
            "message" => (&mut self.msg, "msg"),
            name => (&mut self.fields, name),
        };
        let _ = write!(out, " {key}=");
        push_value(out, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Appends a logfmt value, quoted when it holds spaces, quotes, `=` or control characters, in
/// JSON's string syntax: the escapes go-logfmt writes.
fn push_value(out: &mut String, value: &str) {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c == '\\' || c.is_control());
    if needs_quotes {
        // A string always serialises.
        out.push_str(&serde_json::to_string(value).unwrap_or_default());
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::push_value;

    #[test]
    fn logfmt_values_are_quoted_only_when_needed() {
        let cases = [
            ("plain", "plain"),
            ("", "\"\""),
            ("two words", "\"two words\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"\n", "\"say \\\"hi\\\"\\n\""),
        ];
        for (input, expected) in cases {
            let mut out = String::new();
            push_value(&mut out, input);
            assert_eq!(out, expected);
        }
    }
}
