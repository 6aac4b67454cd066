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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::names::{Names, OperationNames, RoutingPointNames};
use super::values::*;
use super::{OperationConfig, Upstream};
use crate::config::window::Window;

/// The file as written. Unknown keys are refused, not ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with an `operations` list")]
struct RawFile {
    timezone: Option<String>,
    window: Option<String>,
    time_unit: Option<String>,
    poll_interval: Option<String>,
    poll_timeout: Option<String>,
    operations: Option<Vec<RawOperation>>,
}

/// One entry of `operations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct RawOperation {
    name: String,
    // Any YAML value, so that a number (0032 read as 32) is refused with its own reason.
    server: Value,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
    url: Option<String>,
    timezone: Option<String>,
    window: Option<String>,
    time_unit: Option<String>,
    poll_interval: Option<String>,
    poll_timeout: Option<String>,
    /// Names of routing points and options, in the shape of the names file's.
    routing_points: Option<BTreeMap<String, RoutingPointNames>>,
}

/// A problem in the file: one line that names the file, the operation (when there is one)
/// and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(String);

/// The error of `key` (of `operation`, or of the top level) in the file at `path`.
fn at(path: &Path, operation: Option<&str>, key: &str, why: impl std::fmt::Display) -> FileError {
    let file = path.display();
    FileError(match operation {
        Some(op) => format!("{file}: operation {op:?}: {key}: {why}"),
        None if key.is_empty() => format!("{file}: {why}"),
        None => format!("{file}: {key}: {why}"),
    })
}

/// The text of the file at `path`.
pub(crate) fn read_text(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|e| at(path, None, "", format!("cannot read: {e}")))
}

/// Reads a YAML file of any shape (the names file, the web configuration) with the same
/// errors. Straight from the text, not through the tree, so that a name such as `Y` or `2`
/// stays the string it is.
pub(crate) fn from_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, FileError> {
    let tree = read(path, text)?;
    if !tree.is_object() {
        return Err(at(path, None, "", "expected a mapping"));
    }
    let mut track = serde_path_to_error::Track::new();
    serde_saphyr::with_deserializer_from_str(text, |de| {
        T::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    })
    .map_err(|e| describe(path, &tree, track.path().to_string(), &one_line(&e)))
}

/// Reads `--config.file` once for its operations and for the names they give
/// (`routing_points`), so that both come from the same version of it.
pub fn read_operations(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<OperationConfig>, Names), FileError> {
    parse(path, &read_text(path)?, env)
}

/// The operations of `--config.file`, if there is one, and the names of both files.
pub type Files = (Option<Vec<OperationConfig>>, Names);

/// Reads `--config.file` (its operations and the names they give) and `--names.file`, whose
/// names go over those: at start and at each reload alike. An error comes with its file's flag.
pub fn read_files(
    config_file: Option<&Path>,
    names_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Files, (&'static str, FileError)> {
    let mut read = (None, Names::default());
    if let Some(path) = config_file {
        let (operations, names) =
            read_operations(path, env).map_err(|e| ("--config.file (WOLKVOX_CONFIG_FILE)", e))?;
        read = (Some(operations), names);
    }
    if let Some(path) = names_file {
        let names = read_text(path).and_then(|text| parse_names(path, &text));
        let names = names.map_err(|e| ("--names.file (WOLKVOX_NAMES_FILE)", e))?;
        read.1.merge(names);
    }
    Ok(read)
}

/// Validates the text of a names file (`path` only names it in errors).
pub fn parse_names(path: &Path, text: &str) -> Result<Names, FileError> {
    from_yaml(path, text)
}

/// Parses an optional value of the file with the flag's own parser.
fn value<T>(
    raw: Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    raw.as_deref().map(parse).transpose()
}

/// Validates the text of a file (`path` only names it in errors and anchors relative
/// `token_file`s): its operations, and the names they give. `env` looks up environment
/// variables (for `token_env`).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<OperationConfig>, Names), FileError> {
    let raw: RawFile = from_yaml(path, text)?;
    let top = |key: &'static str| move |why: String| at(path, None, key, why);
    let timezone = value(raw.timezone, parse_zone).map_err(top("timezone"))?;
    let window = value(raw.window, Window::parse).map_err(top("window"))?;
    let time_unit = value(raw.time_unit, str::parse).map_err(top("time_unit"))?;
    let poll_interval =
        value(raw.poll_interval, positive_duration).map_err(top("poll_interval"))?;
    let poll_timeout = value(raw.poll_timeout, positive_duration).map_err(top("poll_timeout"))?;
    let list = match raw.operations {
        None => return Err(top("operations")("required: a list of operations".into())),
        Some(list) if list.is_empty() => return Err(top("operations")("the list is empty".into())),
        Some(list) => list,
    };
    let mut seen = BTreeSet::new();
    let mut names = Names::default();
    let mut out = Vec::with_capacity(list.len());
    for (i, op) in list.into_iter().enumerate() {
        let name =
            non_empty(&op.name).map_err(|e| at(path, None, &format!("operations[{i}].name"), e))?;
        let err = |key: &'static str| {
            let name = &name;
            move |why: String| at(path, Some(name), key, why)
        };
        if !seen.insert(name.clone()) {
            return Err(err("name")("duplicate operation name".into()));
        }
        if let Some(routing_points) = op.routing_points {
            let routing_points = OperationNames { routing_points };
            names.operations.insert(name.clone(), routing_points);
        }
        let server = match op.server.as_str() {
            Some(code) => code.parse::<ServerCode>().map_err(err("server"))?,
            None => {
                let why = "must be a quoted string such as \"0032\" (leading zeros matter)";
                return Err(err("server")(why.into()));
            }
        };
        let (token, token_file) = match (op.token_file, op.token_env) {
            (Some(_), Some(_)) => {
                return Err(err("token_file")(
                    "give token_file or token_env, not both".into(),
                ));
            }
            (Some(file), None) => {
                // Relative to the file's folder.
                let file = path.parent().unwrap_or(Path::new(".")).join(file);
                (
                    Token::from_file(&file).map_err(err("token_file"))?,
                    Some(file),
                )
            }
            (None, Some(var)) => {
                let value =
                    env(&var).ok_or_else(|| format!("the environment variable {var} is not set"));
                let token =
                    value.and_then(|v| Token::new(&v).map_err(|why| format!("{var}: {why}")));
                (token.map_err(err("token_env"))?, None)
            }
            (None, None) => {
                return Err(err("token_file")(
                    "required: token_file or token_env".into(),
                ));
            }
        };
        let base_url = value(op.url, parse_url).map_err(err("url"))?;
        let own_timezone = value(op.timezone, parse_zone).map_err(err("timezone"))?;
        let own_window = value(op.window, Window::parse).map_err(err("window"))?;
        let own_time_unit = value(op.time_unit, str::parse).map_err(err("time_unit"))?;
        let own_interval =
            value(op.poll_interval, positive_duration).map_err(err("poll_interval"))?;
        let own_timeout = value(op.poll_timeout, positive_duration).map_err(err("poll_timeout"))?;
        out.push(OperationConfig {
            upstream: Upstream::Remote {
                base_url: base_url.unwrap_or_else(|| server.url()),
                token,
                token_file,
            },
            name: name.clone(),
            server,
            timezone: (own_timezone.or_else(|| timezone.clone())).unwrap_or_else(default_zone),
            window: own_window.or(window).unwrap_or(DEFAULT_WINDOW),
            time_unit: own_time_unit.or(time_unit).unwrap_or(DEFAULT_TIME_UNIT),
            poll_interval: own_interval
                .or(poll_interval)
                .unwrap_or(DEFAULT_POLL_INTERVAL),
            poll_timeout: own_timeout.or(poll_timeout).unwrap_or(DEFAULT_POLL_TIMEOUT),
        });
    }
    Ok((out, names))
}

/// Reads the YAML into a tree, or places its syntax error: `file:line:column: message`, as
/// compilers place theirs.
fn read(path: &Path, text: &str) -> Result<Value, FileError> {
    // Read as a whole first, so that a line indented wrongly is a syntax error at its line,
    // not a key missing from the mapping that it ended early.
    serde_saphyr::from_str(text).map_err(|e| {
        let file = match e.location() {
            Some(at) => format!("{}:{}:{}", path.display(), at.line(), at.column()),
            None => path.display().to_string(),
        };
        FileError(format!("{file}: {}", one_line(&e)))
    })
}

/// The parser's message without the quoted file it spans lines with.
fn one_line(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet());
    message.lines().next().unwrap_or("invalid YAML").to_owned()
}

/// Turns an error of the tree's shape into one line that names the operation (by name when
/// the file gives it one) and the key.
fn describe(path: &Path, tree: &Value, mut key: String, message: &str) -> FileError {
    // One line, whatever a value quoted in the message holds.
    let message = message.lines().next().unwrap_or_default();
    let message = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, known) = rest.split_once('`').unwrap_or_default();
        // The path ends at the unknown key, or stops at the mapping holding it.
        if !key.ends_with(field) {
            key = format!("{key}.{field}").trim_start_matches('.').to_owned();
        }
        let known = known
            .trim_start_matches(", expected ")
            .trim_start_matches("one of ")
            .replace('`', "");
        format!("unknown key (known: {known})")
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        key = format!("{key}.{}", rest.trim_end_matches('`'))
            .trim_start_matches('.')
            .to_owned();
        "required".to_owned()
    } else if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        format!("expected {expected}, found {found}")
    } else {
        message.to_owned()
    };
    let key = key.trim_start_matches('.');
    // `operations.<name>.key`, in the names file, whose operations are a mapping.
    if tree["operations"].is_object()
        && let Some((name, own_key)) = key
            .strip_prefix("operations.")
            .and_then(|rest| rest.split_once('.'))
    {
        return at(path, Some(name), own_key, message);
    }
    // `operations[i].key`: name the operation when the file gives it a name.
    if let Some((index, own_key)) = key
        .strip_prefix("operations[")
        .and_then(|rest| rest.split_once("]."))
        && let Some(name) = tree["operations"][index.parse::<usize>().unwrap_or(usize::MAX)]["name"]
            .as_str()
            .and_then(|n| non_empty(n).ok())
    {
        return at(path, Some(&name), own_key, message);
    }
    at(path, None, key, message)
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
        let (ops, _) = parse(&path, yaml, &env).unwrap();
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
