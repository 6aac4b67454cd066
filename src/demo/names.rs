//! The names `--demo` gives the simulator's routing points and options, so that the demo's
//! dashboards show names and categories, as a real operation's would with a names file.

use crate::config::names::{Names, OperationNames};
use crate::config::{Config, Upstream};

/// The names of the simulator's routing points, in the names file's own shape.
const NAMES: &str = r#"
routing_points:
  "1001":
    name: Main menu
    options:
      "1": {name: Billing, category: self_service}
      "2": {name: Balance, category: self_service}
      "3": {name: Opening hours, category: self_service}
      AGENTE: {name: Agent, category: agent}
      PULSE: {name: No key pressed, category: pulse}
  "1002":
    name: Collections
    options:
      "1": {name: Payment agreement, category: self_service}
      "2": {name: Payment points, category: self_service}
      CV_BUZON: {name: Voicemail, category: other}
      NO_PASA_AGENTE: {name: No agent free, category: other}
      PULSE: {name: No key pressed, category: pulse}
  "2001":
    name: Sales
    options:
      "1": {name: New plans, category: self_service}
      "9": {name: Repeat menu, category: other}
      AGENTE: {name: Sales agent, category: agent}
      PULSE: {name: No key pressed, category: pulse}
"#;

pub fn builtin() -> OperationNames {
    // A constant of this file: the unit test below reads it.
    serde_saphyr::from_str(NAMES).expect("the built-in names are valid")
}

/// The built-in names for every operation of `config` that polls the simulator, with `names`
/// (the files') over them.
pub fn with_builtin(config: &Config, names: &Names) -> Names {
    let mut all = Names::default();
    for op in &config.operations {
        if let Upstream::Demo(_) = op.upstream {
            all.operations.insert(op.name.clone(), builtin());
        }
    }
    all.merge(names.clone());
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::simulator::data::ROUTING_POINTS;

    #[test]
    fn every_routing_point_and_option_of_the_simulator_has_a_name() {
        let names = builtin();
        for rp in ROUTING_POINTS {
            let named = &names.routing_points[rp.id];
            assert!(!named.name.is_empty(), "{}", rp.id);
            let codes: Vec<&str> = rp.options.iter().map(|o| o.code).collect();
            let named_codes: Vec<&str> = named.options.keys().map(String::as_str).collect();
            let mut sorted = codes.clone();
            sorted.sort_unstable();
            assert_eq!(named_codes, sorted, "{}", rp.id);
        }
        assert_eq!(names.routing_points.len(), ROUTING_POINTS.len());
    }
}
