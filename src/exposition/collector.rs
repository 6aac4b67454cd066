//! The simple writer: families of the table encoded by prometheus-client, in both formats. It
//! writes every descriptor (HELP and TYPE); the samples come from `samples.rs`, except in the
//! reference that those must equal.

use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::families::{FAMILIES, Family, Number};
use super::{Globals, OperationMetrics};

/// Families of the table, read from plain data; it runs when descriptors change, and in tests.
#[derive(Debug)]
struct Families {
    ops: Arc<[OperationMetrics]>,
    globals: Globals,
    families: &'static [Family],
    /// Whether the samples are written here too, or only the descriptors (HELP and TYPE).
    samples: bool,
}

/// The descriptor of every family, in the text format and in OpenMetrics.
pub(super) fn descriptors() -> Vec<(Bytes, Bytes)> {
    (0..FAMILIES.len())
        .map(|i| {
            let (t, om) = encode_families(Families {
                ops: Arc::from([]),
                globals: Globals::default(),
                families: &FAMILIES[i..=i],
                samples: false,
            });
            (Bytes::from(t), Bytes::from(om))
        })
        .collect()
}

/// The whole exposition as prometheus-client alone writes it, samples and all: the reference
/// that the fast writer must reproduce byte for byte.
#[cfg(test)]
pub(super) fn reference(ops: &[OperationMetrics], globals: Globals) -> (String, String) {
    let (t, mut om) = encode_families(Families {
        ops: Arc::from(ops),
        globals,
        families: FAMILIES,
        samples: true,
    });
    let _ = prometheus_client::encoding::text::encode_eof(&mut om);
    (t, om)
}

fn encode_families(families: Families) -> (String, String) {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(families));
    let (mut text, mut om) = (String::new(), String::new());
    // Writing into a String cannot fail, and the collector returns no errors of its own;
    // should the encoder ever refuse, serve what was written rather than panic.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
    let _ = prometheus_client::encoding::text::encode_registry(&mut om, &registry);
    (text, om)
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in self.families {
            // Descriptors alone are written whether or not the family has samples.
            if self.samples && !family.is_present(&self.ops, self.globals) {
                continue;
            }
            let mut descriptor =
                encoder.encode_descriptor(family.name, family.help, None, family.kind)?;
            if !self.samples {
                continue;
            }
            family.for_each_sample(&self.ops, self.globals, |values, value| {
                let labels: Vec<(&str, &str)> = family
                    .labels
                    .iter()
                    .copied()
                    .zip(values.iter().copied())
                    .collect();
                encode_value(family.kind, value, descriptor.encode_family(&labels)?)
            })?;
        }
        Ok(())
    }
}

/// One sample's value, as a constant counter or gauge of the family's type.
fn encode_value(
    kind: MetricType,
    value: Number,
    encoder: MetricEncoder,
) -> Result<(), std::fmt::Error> {
    match (kind, value) {
        (MetricType::Counter, Number::Int(n)) => ConstCounter::new(n).encode(encoder),
        (MetricType::Counter, Number::Float(v)) => ConstCounter::new(v).encode(encoder),
        (_, Number::Int(n)) => ConstGauge::new(n).encode(encoder),
        (_, Number::Float(v)) => ConstGauge::new(v).encode(encoder),
    }
}

#[cfg(test)]
mod tests {
    use crate::exposition::Snapshot;
    use crate::exposition::fixtures::op_with;

    #[test]
    fn counters_are_named_per_format() {
        let snap = Snapshot::encode(false, &[op_with(vec![])]);
        let text = snap.text.plain();
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.contains("# TYPE wolkvox_polls_total counter"),
            "{text}"
        );
        assert!(text.contains(r#"wolkvox_polls_total{operation="0032",result="timeout"} 0"#));
        let om = snap.openmetrics.plain();
        let om = std::str::from_utf8(&om).unwrap();
        assert!(om.contains("# TYPE wolkvox_polls counter"), "{om}");
    }
}
