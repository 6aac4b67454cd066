//! `--config.file`: several Wolkvox operations in one YAML file.
//!
//! ```yaml
//! # Top-level defaults, each optional; an operation may override any of them.
//! timezone: America/Bogota
//! window: today
//! time_unit: minutes
//! poll_interval: 5m
//! poll_timeout: 60s
//! operations:
//!   - name: bogota          # the `operation` label
//!     server: "0032"
//!     token_file: /etc/wolkvox/bogota.token
//!   - name: monterrey
//!     server: "0048"
//!     token_env: WOLKVOX_TOKEN_MONTERREY
//!     timezone: America/Monterrey
//! ```
//!
//! The file is read with serde into the value types that the flags use too, so both accept
//! the same values with the same errors; an error names the file, the operation and the key,
//! and a YAML syntax error the file, the line and the column.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::values::*;
use super::{OperationConfig, Upstream};
use crate::config::window::Window;

/// The file as written. Unknown keys are refused, not ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with an `operations` list")]
struct RawFile {
    timezone: Option<Zone>,
    window: Option<Window>,
    time_unit: Option<TimeUnit>,
    poll_interval: Option<PositiveDuration>,
    poll_timeout: Option<PositiveDuration>,
    operations: Option<Vec<RawOperation>>,
}

/// One entry of `operations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct RawOperation {
    name: OperationName,
    server: ServerCode,
    token_file: Option<PathBuf>,
    token_env: Option<EnvName>,
    url: Option<BaseUrl>,
    timezone: Option<Zone>,
    window: Option<Window>,
    time_unit: Option<TimeUnit>,
    poll_interval: Option<PositiveDuration>,
    poll_timeout: Option<PositiveDuration>,
    /// Names of routing points and options: checked and read by `names.rs`, with the names file.
    #[serde(rename = "routing_points")]
    _routing_points: Option<serde::de::IgnoredAny>,
}

/// A problem in the file: it names the file, the operation (when there is one) and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}{message}")]
pub struct FileError {
    file: String,
    place: String,
    message: String,
}

impl FileError {
    fn new(
        file: &Path,
        operation: Option<&str>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        let mut place = String::new();
        if let Some(op) = operation {
            place.push_str(&format!("operation {op:?}: "));
        }
        if let Some(key) = key {
            place.push_str(&format!("{key}: "));
        }
        Self {
            file: file.display().to_string(),
            place,
            message: message.into(),
        }
    }
}

/// Reads and validates the file. `env` looks up environment variables (for `token_env`).
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<OperationConfig>, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, None, None, format!("cannot read: {e}")))?;
    parse(path, &text, env)
}

/// Validates the text of a file (`path` only names it in errors and anchors relative
/// `token_file`s).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<OperationConfig>, FileError> {
    let raw = read(path, text)?;
    let top = |key: &str, msg: &str| FileError::new(path, None, Some(key), msg);
    let Some(list) = raw.operations else {
        return Err(top("operations", "required: a list of operations"));
    };
    if list.is_empty() {
        return Err(top("operations", "the list is empty"));
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for op in list {
        let name = op.name.0;
        let err = |key: &str, msg: String| FileError::new(path, Some(&name), Some(key), msg);
        if !names.insert(name.clone()) {
            return Err(err("name", "duplicate operation name".into()));
        }
        let (token, token_file) = match (op.token_file, op.token_env) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "token_file",
                    "give token_file or token_env, not both".into(),
                ));
            }
            (Some(file), None) => {
                let file = relative_to(path, &file);
                let token =
                    Token::from_file(&file).map_err(|e| err("token_file", e.to_string()))?;
                (token, Some(file))
            }
            (None, Some(var)) => {
                let token = var.read(env).map_err(|e| err("token_env", e.to_string()))?;
                (token, None)
            }
            (None, None) => {
                return Err(err(
                    "token_file",
                    "required: token_file or token_env".into(),
                ));
            }
        };
        let base_url = match op.url {
            Some(url) => url,
            None => BaseUrl::of_server(&op.server).map_err(|e| err("server", e.to_string()))?,
        };
        out.push(OperationConfig {
            name: name.clone(),
            server: op.server,
            upstream: Upstream::Remote {
                base_url: base_url.0,
                token,
                token_file,
            },
            timezone: op
                .timezone
                .or_else(|| raw.timezone.clone())
                .unwrap_or_default()
                .0,
            window: op.window.or(raw.window).unwrap_or(DEFAULT_WINDOW),
            time_unit: op.time_unit.or(raw.time_unit).unwrap_or(DEFAULT_TIME_UNIT),
            poll_interval: op
                .poll_interval
                .or(raw.poll_interval)
                .map_or(DEFAULT_POLL_INTERVAL, |d| d.0),
            poll_timeout: op
                .poll_timeout
                .or(raw.poll_timeout)
                .map_or(DEFAULT_POLL_TIMEOUT, |d| d.0),
        });
    }
    Ok(out)
}

/// Deserializes the YAML, keeping the path of the key where it failed.
fn read(path: &Path, text: &str) -> Result<RawFile, FileError> {
    // The typed pass stops at the first key it misses: a line indented wrongly ends the
    // mapping above it early, and would be reported as that mapping's missing key. Reading
    // the whole text as YAML first places a syntax error at its line and column instead.
    if let Err(e) = serde_saphyr::from_str::<serde::de::IgnoredAny>(text) {
        return Err(syntax_error(path, &e));
    }
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        RawFile::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    });
    result.map_err(|e| {
        let keys: Vec<String> = track
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => format!("[{index}]"),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".to_owned(),
            })
            .collect();
        describe(path, text, &keys, &e)
    })
}

/// A YAML syntax error: `file:line:column: message`, as compilers place theirs.
fn syntax_error(path: &Path, e: &serde_saphyr::Error) -> FileError {
    use serde_saphyr::MessageFormatter as _;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet());
    let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
    let file = match e.location() {
        Some(at) => format!("{}:{}:{}", path.display(), at.line(), at.column()),
        None => path.display().to_string(),
    };
    FileError {
        file,
        place: String::new(),
        message,
    }
}

/// Turns a deserialization error at `keys` into one line that names the operation (by name
/// when the file gives it one) and the key.
fn describe(path: &Path, text: &str, keys: &[String], e: &serde_saphyr::Error) -> FileError {
    let message = one_line(e);
    let (mut key, mut message) = match (
        message.strip_prefix("unknown field `"),
        message.strip_prefix("missing field `"),
    ) {
        (Some(rest), _) => {
            let field = rest.split('`').next().unwrap_or_default();
            let known = if keys.first().is_some_and(|k| k == "operations") && keys.len() > 1 {
                RawOperation::KEYS
            } else {
                RawFile::KEYS
            };
            let mut key = keys.to_vec();
            // The path already ends at the unknown key, or stops at the mapping holding it.
            if key.last().is_none_or(|k| k != field) {
                key.push(field.to_owned());
            }
            (key, format!("unknown key (known: {})", known.join(", ")))
        }
        (None, Some(rest)) => {
            let mut key = keys.to_vec();
            key.push(rest.split('`').next().unwrap_or_default().to_owned());
            (key, "required".to_owned())
        }
        (None, None) => (keys.to_vec(), message),
    };
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        message = format!("expected {expected}, found {found}");
    }
    if message.starts_with("expected mapping") {
        message = match key.is_empty() {
            true => "expected a mapping with an `operations` list".to_owned(),
            false => "expected a mapping".to_owned(),
        };
    }
    // `operations`, `[i]`, key...: name the operation when the file gives it a name.
    let mut operation = None;
    if key.first().is_some_and(|k| k == "operations")
        && let Some(index) = key
            .get(1)
            .and_then(|i| i.strip_prefix('[')?.strip_suffix(']'))
        && let Ok(index) = index.parse::<usize>()
        && let Some(name) = name_of(text, index)
        && key.len() > 2
    {
        operation = Some(name);
        key.drain(..2);
    }
    let key = key.join(".").replace(".[", "[");
    FileError::new(
        path,
        operation.as_deref(),
        (!key.is_empty()).then_some(key.as_str()),
        message,
    )
}

/// The `name` of the `index`th operation, read leniently so that an error elsewhere in the
/// operation can still be placed.
fn name_of(text: &str, index: usize) -> Option<String> {
    let tree: serde_json::Value = serde_saphyr::from_str(text).ok()?;
    let name = tree.get("operations")?.get(index)?.get("name")?.as_str()?;
    Some(name.parse::<OperationName>().ok()?.0)
}

/// The message of a value or key error (the key path places it), or for a YAML syntax error
/// the parser's first line, which says where it is.
fn one_line(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let inner = e.without_snippet();
    let message = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    let placed = matches!(inner, serde_saphyr::Error::Message { .. })
        || [
            "invalid type: ",
            "unknown field `",
            "missing field `",
            "expected mapping",
        ]
        .iter()
        .any(|p| message.starts_with(p));
    let text = if placed {
        message.into_owned()
    } else {
        e.to_string()
    };
    // One line, whatever a value quoted in the message holds.
    text.lines().next().unwrap_or("invalid YAML").to_owned()
}

impl RawFile {
    const KEYS: &[&str] = &[
        "timezone",
        "window",
        "time_unit",
        "poll_interval",
        "poll_timeout",
        "operations",
    ];
}

impl RawOperation {
    const KEYS: &[&str] = &[
        "name",
        "server",
        "token_file",
        "token_env",
        "url",
        "timezone",
        "window",
        "time_unit",
        "poll_interval",
        "poll_timeout",
        "routing_points",
    ];
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN_B").then(|| "token-b".to_owned())
    }

    fn parse_err(yaml: &str) -> String {
        parse(Path::new("ops.yml"), yaml, &env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn operations_take_top_level_defaults_and_override_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.token"), "token-a\n").unwrap();
        let path = dir.path().join("ops.yml");
        let yaml = r#"
timezone: Asia/Kolkata
poll_interval: 2m
operations:
  - name: a
    server: "0032"
    token_file: a.token
  - name: b
    server: "0048"
    token_env: TOKEN_B
    url: http://127.0.0.1:9/
    timezone: America/Mexico_City
    window: 1h
    time_unit: seconds
    poll_timeout: 10s
"#;
        let ops = parse(&path, yaml, &env).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].name, "a");
        assert_eq!(ops[0].timezone.iana_name(), Some("Asia/Kolkata"));
        assert_eq!(ops[0].poll_interval, Duration::from_secs(120));
        assert_eq!(ops[0].window, Window::Today);
        match &ops[0].upstream {
            Upstream::Remote {
                token,
                token_file,
                base_url,
            } => {
                assert_eq!(token.expose(), "token-a");
                assert_eq!(
                    token_file.as_deref(),
                    Some(dir.path().join("a.token").as_path())
                );
                assert_eq!(base_url.as_str(), "https://wv0032.wolkvox.com/");
            }
            Upstream::Demo(_) => panic!(),
        }
        assert_eq!(ops[1].timezone.iana_name(), Some("America/Mexico_City"));
        assert_eq!(ops[1].window, Window::Rolling(Duration::from_secs(3600)));
        assert_eq!(ops[1].time_unit, TimeUnit::Seconds);
        assert_eq!(ops[1].poll_timeout, Duration::from_secs(10));
        assert_eq!(ops[1].poll_interval, Duration::from_secs(120));
    }

    #[test]
    fn a_yaml_syntax_error_gives_the_file_line_and_column() {
        let cases = [
            // `server` indented as the list, not as the operation: not a missing key.
            (
                "operations:\n  - name: a\n  server: \"0032\"\n",
                "ops.yml:3:3: while parsing a block collection, did not find expected '-' indicator",
            ),
            (
                "operations:\n  - name: a\n    server: [\"0032\"\n",
                "ops.yml:3:13: unclosed bracket '['",
            ),
            (
                "timezone: a: b\noperations: []\n",
                "ops.yml:1:12: mapping values are not allowed in this context",
            ),
        ];
        for (yaml, expected) in cases {
            assert_eq!(parse_err(yaml), expected, "{yaml}");
        }
    }

    #[test]
    fn errors_name_the_file_the_operation_and_the_key() {
        let cases = [
            ("operations: []\n", "ops.yml: operations: the list is empty"),
            (
                "colour: blue\noperations: []\n",
                "ops.yml: colour: unknown key",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: TOKEN_B\n    sever: 2\n",
                "ops.yml: operation \"a\": sever: unknown key",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: TOKEN_B\n  - name: a\n    server: \"2\"\n    token_env: TOKEN_B\n",
                "ops.yml: operation \"a\": name: duplicate operation name",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n",
                "ops.yml: operation \"a\": token_file: required",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: NOT_SET\n",
                "ops.yml: operation \"a\": token_env: the environment variable NOT_SET is not set",
            ),
            (
                "operations:\n  - name: a\n    server: 32\n    token_env: TOKEN_B\n",
                "ops.yml: operation \"a\": server: must be a quoted string",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: TOKEN_B\n    timezone: Mars/Base\n",
                "ops.yml: operation \"a\": timezone: unknown time zone",
            ),
            (
                "window: 40d\noperations:\n  - name: a\n    server: \"1\"\n    token_env: TOKEN_B\n",
                "ops.yml: window: ",
            ),
            (
                "operations:\n  - name: a\n    server: \"1\"\n    token_env: TOKEN_B\n    poll_interval: 0s\n",
                "ops.yml: operation \"a\": poll_interval: must be greater than zero",
            ),
            (
                "operations:\n  - server: \"1\"\n",
                "ops.yml: operations[0].name: required",
            ),
            ("[1, 2]\n", "ops.yml: expected a mapping"),
        ];
        for (yaml, expected) in cases {
            let msg = parse_err(yaml);
            assert!(msg.starts_with(expected), "{yaml}\n=> {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }
}
