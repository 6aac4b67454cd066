//! Names people read for the ids of the report: per operation, a name for each routing point
//! and, per menu option, a name and a category. They come from `--names.file` and from the
//! `routing_points:` of an operation in `--config.file`, in the same shape:
//!
//! ```yaml
//! operations:
//!   bogota:                 # the `operation` label
//!     routing_points:
//!       "1001":             # rp_id, as a string
//!         name: Main menu
//!         options:
//!           "1": {name: Billing, category: self_service}
//!           "0": {name: Agent, category: agent}
//! ```
//!
//! The ids are Wolkvox's, so a name changes no series: it reaches /metrics as the info series
//! that the dashboards join on. Both files are read at start and again on every reload; an
//! error names the file, the operation and the key, as for the rest of the configuration.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What kind of step a menu option is, for the dashboards' totals per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The caller is served by the IVR itself.
    SelfService,
    /// The caller goes to an agent.
    Agent,
    /// Wolkvox's PULSE: the caller pressed nothing.
    Pulse,
    Other,
}

impl Category {
    /// The value of the `category` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SelfService => "self_service",
            Category::Agent => "agent",
            Category::Pulse => "pulse",
            Category::Other => "other",
        }
    }
}

/// Every operation's names, by the `operation` label's value: the names file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with an `operations` mapping"
)]
pub struct Names {
    /// By operation.
    #[serde(default)]
    pub operations: BTreeMap<String, OperationNames>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub struct OperationNames {
    /// By `rp_id`.
    #[serde(default)]
    pub routing_points: BTreeMap<String, RoutingPointNames>,
}

/// A routing point's name and its options'.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub struct RoutingPointNames {
    /// Empty: no name (no info series).
    #[serde(default)]
    pub name: String,
    /// By `cod_opc_menu`.
    #[serde(default)]
    pub options: BTreeMap<String, OptionNames>,
}

/// A menu option's name and category.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub struct OptionNames {
    /// Empty: no name; the info series, if the option has a category, shows the id.
    #[serde(default)]
    pub name: String,
    /// None: `pulse` for PULSE, `other` for the rest.
    pub category: Option<Category>,
}

impl Names {
    /// Adds `other`'s names: a non-empty name or a category of `other` wins over this one's.
    pub fn merge(&mut self, other: Names) {
        for (operation, op) in other.operations {
            let mine = self.operations.entry(operation).or_default();
            for (rp_id, rp) in op.routing_points {
                let my_rp = mine.routing_points.entry(rp_id).or_default();
                if !rp.name.is_empty() {
                    my_rp.name = rp.name;
                }
                for (code, option) in rp.options {
                    let my_option = my_rp.options.entry(code).or_default();
                    if !option.name.is_empty() {
                        my_option.name = option.name;
                    }
                    if option.category.is_some() {
                        my_option.category = option.category;
                    }
                }
            }
        }
    }

    /// The names of `operations` only, and the other operations named, which this process
    /// does not poll.
    pub fn of_operations<'a>(
        &self,
        operations: impl IntoIterator<Item = &'a str>,
    ) -> (Names, Vec<String>) {
        let mut kept = Names::default();
        let mut rest = self.operations.clone();
        for name in operations {
            if let Some(op) = rest.remove(name) {
                kept.operations.insert(name.to_owned(), op);
            }
        }
        (kept, rest.into_keys().collect())
    }

    /// The label values of the info series: (operation, rp_id, name) per named routing point,
    /// and (operation, rp_id, cod_opc_menu, name, category) per option with a name or a
    /// category (named by its id when it has only a category).
    pub fn info(&self) -> NameInfo {
        let mut info = NameInfo::default();
        for (operation, op) in &self.operations {
            for (rp_id, rp) in &op.routing_points {
                if !rp.name.is_empty() {
                    info.routing_points
                        .push([operation, rp_id, &rp.name].map(|s| s.to_owned()).into());
                }
                for (code, option) in &rp.options {
                    if option.name.is_empty() && option.category.is_none() {
                        continue;
                    }
                    let name = match option.name.is_empty() {
                        true => code,
                        false => &option.name,
                    };
                    let category = option.category.unwrap_or(match code.as_str() {
                        "PULSE" => Category::Pulse,
                        _ => Category::Other,
                    });
                    info.options.push(
                        [operation, rp_id, code, name, category.as_str()]
                            .map(|s| s.to_owned())
                            .into(),
                    );
                }
            }
        }
        info
    }
}

/// The rows of the two info families that name routing points and menu options, each in its
/// family's label order: set at start and at each reload, and encoded then with the exporter's
/// own families, never at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameInfo {
    /// (operation, rp_id, name).
    pub routing_points: Vec<Box<[String]>>,
    /// (operation, rp_id, cod_opc_menu, name, category).
    pub options: Vec<Box<[String]>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::{self, FileError};
    use std::path::Path;

    /// The names that a `--config.file` text gives its operations.
    fn of_config_file(text: &str) -> Result<Names, FileError> {
        let env = |_: &str| Some("t".to_owned());
        file::parse(Path::new("ops.yml"), text, &env).map(|(_, names)| names)
    }

    fn parse_err(yaml: &str) -> String {
        file::parse_names(Path::new("names.yml"), yaml)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_names_file_reads_into_names_and_info_rows() {
        let yaml = r#"
operations:
  bogota:
    routing_points:
      "1001":
        name: Main menu
        options:
          "1": {name: Billing, category: self_service}
          "0": {name: Agent, category: agent}
          "PULSE": {name: No key pressed}
          "9": {category: other}
          "7": {name: ""}
      "1002":
        options:
          "1": {name: Sales}
"#;
        let names = file::parse_names(Path::new("names.yml"), yaml).unwrap();
        let info = names.info();
        let rows =
            |rows: &[Box<[String]>]| -> Vec<String> { rows.iter().map(|r| r.join(",")).collect() };
        assert_eq!(rows(&info.routing_points), ["bogota,1001,Main menu"]);
        assert_eq!(
            rows(&info.options),
            [
                "bogota,1001,0,Agent,agent",
                "bogota,1001,1,Billing,self_service",
                "bogota,1001,9,9,other",
                "bogota,1001,PULSE,No key pressed,pulse",
                "bogota,1002,1,Sales,other",
            ]
        );
    }

    #[test]
    fn errors_name_the_file_the_operation_and_the_key() {
        let cases = [
            (
                "operations:\n  bogota:\n    routing_points:\n      \"1001\":\n        options:\n          \"1\": {name: A, category: robot}\n",
                "names.yml: operation \"bogota\": routing_points.1001.options.1.category: unknown variant `robot`",
            ),
            (
                "operations:\n  bogota:\n    routing_points:\n      \"1001\":\n        nmae: A\n",
                "names.yml: operation \"bogota\": routing_points.1001.nmae: unknown key",
            ),
            ("colour: blue\n", "names.yml: colour: unknown key"),
            (
                "operations:\n  bogota:\n    routing_point: {}\n",
                "names.yml: operation \"bogota\": routing_point: unknown key",
            ),
            ("operations: [1\n", "names.yml:1:13: unclosed bracket"),
        ];
        for (yaml, expected) in cases {
            let msg = parse_err(yaml);
            assert!(msg.starts_with(expected), "{yaml}\n=> {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn config_file_names_are_per_operation_and_errors_name_the_operation() {
        let text = "operations:\n  - name: a\n    server: \"1\"\n    token_env: T\n    routing_points:\n      \"1001\": {name: Main}\n  - name: b\n    server: \"2\"\n    token_env: T\n";
        let names = of_config_file(text).unwrap();
        assert_eq!(names.operations.len(), 1);
        assert_eq!(names.operations["a"].routing_points["1001"].name, "Main");
        let bad = "operations:\n  - name: a\n    server: \"1\"\n    token_env: T\n    routing_points:\n      \"1001\": {name: Main, colour: red}\n";
        let msg = of_config_file(bad).unwrap_err().to_string();
        assert_eq!(
            msg,
            "ops.yml: operation \"a\": routing_points.1001.colour: unknown key (known: name, options)"
        );
    }

    #[test]
    fn the_names_file_wins_where_both_name_an_id() {
        let ops = "operations:\n  - name: a\n    server: \"1\"\n    token_env: T\n    routing_points:\n      \"1001\":\n        name: From config\n        options:\n          \"1\": {name: One, category: agent}\n          \"2\": {name: Two}\n";
        let file = "operations:\n  a:\n    routing_points:\n      \"1001\":\n        name: From names\n        options:\n          \"1\": {category: self_service}\n          \"2\": {name: Deux}\n";
        let mut names = of_config_file(ops).unwrap();
        names.merge(file::parse_names(Path::new("names.yml"), file).unwrap());
        let rp = &names.operations["a"].routing_points["1001"];
        assert_eq!(rp.name, "From names");
        assert_eq!(rp.options["1"].name, "One");
        assert_eq!(rp.options["1"].category, Some(Category::SelfService));
        assert_eq!(rp.options["2"].name, "Deux");
    }

    #[test]
    fn names_of_operations_not_polled_are_set_apart() {
        let yaml = "operations:\n  a:\n    routing_points: {\"1\": {name: X}}\n  z:\n    routing_points: {\"1\": {name: Y}}\n";
        let names = file::parse_names(Path::new("n.yml"), yaml).unwrap();
        let (kept, rest) = names.of_operations(["a", "b"]);
        assert_eq!(kept.operations.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(rest, ["z"]);
    }
}
