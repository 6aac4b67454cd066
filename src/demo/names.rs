//! The names `--demo` gives the simulator's routing points and options, so that the demo's
//! dashboards show names and categories, as a real operation's would with a names file.

use crate::config::names::{Category, Names, OperationNames, OptionNames, RoutingPointNames};
use crate::config::{Config, Upstream};

/// Each routing point of the simulator: its id, name, and (code, name, category) per option.
type Spec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, Category)],
);

const NAMES: &[Spec] = {
    use Category::*;
    &[
        (
            "1001",
            "Main menu",
            &[
                ("1", "Billing", SelfService),
                ("2", "Balance", SelfService),
                ("3", "Opening hours", SelfService),
                ("AGENTE", "Agent", Agent),
                ("PULSE", "Entered", Pulse),
            ],
        ),
        (
            "1002",
            "Collections",
            &[
                ("1", "Payment agreement", SelfService),
                ("2", "Payment points", SelfService),
                ("CV_BUZON", "Voicemail", Other),
                ("NO_PASA_AGENTE", "No agent free", Other),
                ("PULSE", "Entered", Pulse),
            ],
        ),
        (
            "2001",
            "Sales",
            &[
                ("1", "New plans", SelfService),
                ("9", "Repeat menu", Other),
                ("AGENTE", "Sales agent", Agent),
                ("PULSE", "Entered", Pulse),
            ],
        ),
    ]
};

/// The simulator's names.
pub fn builtin() -> OperationNames {
    let routing_points = NAMES.iter().map(|(id, name, options)| {
        let options = options.iter().map(|(code, name, category)| {
            let option = OptionNames {
                name: (*name).to_owned(),
                category: Some(*category),
            };
            ((*code).to_owned(), option)
        });
        let rp = RoutingPointNames {
            name: (*name).to_owned(),
            options: options.collect(),
        };
        ((*id).to_owned(), rp)
    });
    OperationNames {
        routing_points: routing_points.collect(),
    }
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
