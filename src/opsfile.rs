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
//! The YAML is first read as a generic tree, so that an unknown key, a duplicate name or a bad
//! value can be reported with the file, the operation and the key, and only then turned into
//! typed [`OperationConfig`]s with the same checks as the command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde_json::Value;

use crate::config::{OperationConfig, ServerCode, TimeUnit, Token, Upstream};
use crate::window::Window;

const TOP_KEYS: &[&str] = &[
    "timezone",
    "window",
    "time_unit",
    "poll_interval",
    "poll_timeout",
    "operations",
];
const OPERATION_KEYS: &[&str] = &[
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
];

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

/// Validates the text of a file (`path` only names it in errors).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<OperationConfig>, FileError> {
    let err = |op: Option<&str>, key: Option<&str>, msg: String| FileError::new(path, op, key, msg);
    let tree: Value = serde_saphyr::from_str(text).map_err(|e| {
        err(
            None,
            None,
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid YAML")
                .to_owned(),
        )
    })?;
    let Value::Object(top) = tree else {
        return Err(err(
            None,
            None,
            "expected a mapping with an `operations` list".into(),
        ));
    };
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            return Err(err(
                None,
                Some(key),
                format!("unknown key (known: {})", TOP_KEYS.join(", ")),
            ));
        }
    }
    let defaults = Settings::read(path, None, &top)?;
    let Some(Value::Array(list)) = top.get("operations") else {
        return Err(err(
            None,
            Some("operations"),
            "required: a list of operations".into(),
        ));
    };
    if list.is_empty() {
        return Err(err(None, Some("operations"), "the list is empty".into()));
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Object(op) = item else {
            return Err(err(
                None,
                Some(&format!("operations[{i}]")),
                "expected a mapping".into(),
            ));
        };
        let name = match op.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_owned(),
            Some(_) => {
                return Err(err(
                    None,
                    Some(&format!("operations[{i}].name")),
                    "must be a non-empty string".into(),
                ));
            }
            None => {
                return Err(err(
                    None,
                    Some(&format!("operations[{i}].name")),
                    "required".into(),
                ));
            }
        };
        let on = Some(name.as_str());
        for key in op.keys() {
            if !OPERATION_KEYS.contains(&key.as_str()) {
                return Err(err(
                    on,
                    Some(key),
                    format!("unknown key (known: {})", OPERATION_KEYS.join(", ")),
                ));
            }
        }
        if !names.insert(name.clone()) {
            return Err(err(on, Some("name"), "duplicate operation name".into()));
        }
        let server = match op.get("server") {
            Some(v) => {
                // A YAML number loses leading zeros (0032 -> 32): insist on a string.
                let Value::String(s) = v else {
                    return Err(err(
                        on,
                        Some("server"),
                        "must be a quoted string such as \"0032\" (leading zeros matter)".into(),
                    ));
                };
                ServerCode::parse(s).ok_or_else(|| {
                    err(
                        on,
                        Some("server"),
                        format!("{s:?} is not a server code such as \"0032\""),
                    )
                })?
            }
            None => return Err(err(on, Some("server"), "required".into())),
        };
        let token_source = (op.get("token_file"), op.get("token_env"));
        let (token, token_file) = match token_source {
            (Some(_), Some(_)) => {
                return Err(err(
                    on,
                    Some("token_file"),
                    "give token_file or token_env, not both".into(),
                ));
            }
            (Some(Value::String(file)), None) => {
                let file = resolve(path, file);
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    err(
                        on,
                        Some("token_file"),
                        format!("cannot read {}: {e}", file.display()),
                    )
                })?;
                let token = Token::new(&text).map_err(|why| {
                    err(on, Some("token_file"), format!("{}: {why}", file.display()))
                })?;
                (token, Some(file))
            }
            (None, Some(Value::String(var))) => {
                let value = env(var).ok_or_else(|| {
                    err(
                        on,
                        Some("token_env"),
                        format!("the environment variable {var} is not set"),
                    )
                })?;
                let token = Token::new(&value)
                    .map_err(|why| err(on, Some("token_env"), format!("{var}: {why}")))?;
                (token, None)
            }
            (None, None) => {
                return Err(err(
                    on,
                    Some("token_file"),
                    "required: token_file or token_env".into(),
                ));
            }
            _ => return Err(err(on, Some("token_file"), "must be a string".into())),
        };
        let base_url = match op.get("url") {
            Some(Value::String(u)) => crate::config::parse_url(u)
                .map_err(|e| err(on, Some("url"), e.message().to_owned()))?,
            Some(_) => return Err(err(on, Some("url"), "must be a string".into())),
            None => crate::config::parse_url(&format!("https://wv{server}.wolkvox.com"))
                .map_err(|e| err(on, Some("server"), e.message().to_owned()))?,
        };
        let own = Settings::read(path, on, op)?;
        out.push(OperationConfig {
            name,
            server,
            upstream: Upstream::Remote {
                base_url,
                token,
                token_file,
            },
            timezone: own
                .timezone
                .or_else(|| defaults.timezone.clone())
                .unwrap_or_else(crate::config::bogota),
            window: own.window.or(defaults.window).unwrap_or(Window::Today),
            time_unit: own
                .time_unit
                .or(defaults.time_unit)
                .unwrap_or(TimeUnit::Minutes),
            poll_interval: own
                .poll_interval
                .or(defaults.poll_interval)
                .unwrap_or(crate::config::DEFAULT_POLL_INTERVAL),
            poll_timeout: own
                .poll_timeout
                .or(defaults.poll_timeout)
                .unwrap_or(Duration::from_secs(60)),
        });
    }
    Ok(out)
}

fn resolve(file: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// The settings that may be given at the top and per operation.
#[derive(Debug, Default)]
struct Settings {
    timezone: Option<TimeZone>,
    window: Option<Window>,
    time_unit: Option<TimeUnit>,
    poll_interval: Option<Duration>,
    poll_timeout: Option<Duration>,
}

impl Settings {
    fn read(
        path: &Path,
        op: Option<&str>,
        map: &serde_json::Map<String, Value>,
    ) -> Result<Settings, FileError> {
        let err = |key: &str, msg: String| FileError::new(path, op, Some(key), msg);
        let string = |key: &str| -> Result<Option<String>, FileError> {
            match map.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(err(key, "must be a string".into())),
            }
        };
        let duration = |key: &str| -> Result<Option<Duration>, FileError> {
            match string(key)? {
                None => Ok(None),
                Some(s) => {
                    let d = humantime::parse_duration(&s).map_err(|e| {
                        err(
                            key,
                            format!("{s:?} is not a duration such as 30s or 5m: {e}"),
                        )
                    })?;
                    if d.is_zero() {
                        return Err(err(key, "must be greater than zero".into()));
                    }
                    Ok(Some(d))
                }
            }
        };
        Ok(Settings {
            timezone: match string("timezone")? {
                None => None,
                Some(z) => Some(
                    TimeZone::get(&z)
                        .map_err(|_| err("timezone", format!("unknown time zone {z:?}")))?,
                ),
            },
            window: match string("window")? {
                None => None,
                Some(w) => Some(Window::parse(&w).map_err(|e| err("window", e.to_string()))?),
            },
            time_unit: match string("time_unit")?.as_deref() {
                None => None,
                Some("minutes") => Some(TimeUnit::Minutes),
                Some("seconds") => Some(TimeUnit::Seconds),
                Some(other) => {
                    return Err(err(
                        "time_unit",
                        format!("{other:?} is not minutes or seconds"),
                    ));
                }
            },
            poll_interval: duration("poll_interval")?,
            poll_timeout: duration("poll_timeout")?,
        })
    }
}

#[cfg(test)]
mod tests {
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
