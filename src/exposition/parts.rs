//! The pieces an exposition is joined from, each encoded and compressed once: an operation's
//! samples of every family ([`OperationParts`], made when that operation changes), the
//! exporter's own samples ([`GlobalParts`]) and the families' descriptors ([`Descriptors`]).

use std::sync::Arc;

use bytes::Bytes;

use super::compress::{Part, compress};
use super::families::{FAMILIES, Family};
use super::samples::{self, Samples};
use super::{Globals, OperationMetrics};

/// A family's part in both formats; the same bytes when the formats agree.
#[derive(Debug, Clone)]
pub(super) struct Formats {
    /// In the text format.
    pub text: Part,
    /// In OpenMetrics.
    pub openmetrics: Part,
}

impl Formats {
    /// The part of `format` (0: text, 1: OpenMetrics).
    pub fn of(&self, format: usize) -> &Part {
        if format == 0 {
            &self.text
        } else {
            &self.openmetrics
        }
    }
}

/// One part per family and format, from samples or descriptors written per family: each
/// distinct byte string compressed once.
fn compress_all(written: Vec<Samples>) -> Vec<Formats> {
    let mut plain = Vec::with_capacity(written.len() * 2);
    for s in &written {
        plain.push(s.text.clone());
        if let Some(om) = &s.openmetrics {
            plain.push(om.clone());
        }
    }
    let mut parts = compress(plain).into_iter();
    written
        .iter()
        .map(|s| {
            let text = parts.next().unwrap_or(Part::EMPTY);
            let openmetrics = match s.openmetrics {
                Some(_) => parts.next().unwrap_or(Part::EMPTY),
                None => text.clone(),
            };
            Formats { text, openmetrics }
        })
        .collect()
}

/// One operation's samples of every family, encoded and compressed.
#[derive(Debug)]
pub(super) struct OperationParts {
    /// The `operation` label: operations are exposed in its order.
    pub name: String,
    /// Whether a poll has finished.
    pub polled: bool,
    /// Per family of [`FAMILIES`]: whether this operation alone would make it appear.
    pub present: Vec<bool>,
    /// Per family of [`FAMILIES`]: its samples (empty for the global families).
    pub families: Vec<Formats>,
    /// Per format: bytes of its parts' deflate copies, which a gzip body's length adds up.
    pub deflated_len: [u64; 2],
}

impl OperationParts {
    /// Encodes and compresses `op`'s samples: work in proportion to its series only.
    /// The data series of a thin [`ReportData`](super::ReportData) are not encoded again: their
    /// parts are reused.
    pub fn encode(op: &OperationMetrics) -> OperationParts {
        let ops = std::slice::from_ref(op);
        let encoded = op.data.as_ref().and_then(|d| d.encoded());
        let reused = |family: &Family| family.of_report() && encoded.is_some();
        let per_series: Vec<_> = FAMILIES
            .iter()
            .filter(|f| f.per_series() && !reused(f))
            .collect();
        let mut series = samples::write_all(ops, &per_series).into_iter();
        let written = FAMILIES
            .iter()
            .map(|family| {
                if family.per_series() && !reused(family) {
                    series.next().unwrap_or_else(Samples::empty)
                } else if family.is_global() || family.per_series() {
                    Samples::empty()
                } else {
                    samples::write_each(family, ops, Globals::default())
                }
            })
            .collect();
        let mut families = compress_all(written);
        if let Some(encoded) = encoded {
            let report_families = FAMILIES.iter().enumerate().filter(|(_, f)| f.of_report());
            for ((i, _), formats) in report_families.zip(encoded) {
                families[i] = formats.clone();
            }
        }
        let deflated_len =
            [0, 1].map(|k| families.iter().map(|f| f.of(k).deflated.len() as u64).sum());
        OperationParts {
            name: op.operation.clone(),
            polled: op.polled,
            present: FAMILIES
                .iter()
                .map(|f| !f.is_global() && f.is_present(ops, Globals::default()))
                .collect(),
            families,
            deflated_len,
        }
    }
}

impl OperationParts {
    /// The parts of the report's data families, in the order of [`FAMILIES`]: what a thin
    /// [`ReportData`](super::ReportData) keeps.
    pub fn report_families(&self) -> Arc<[Formats]> {
        FAMILIES
            .iter()
            .zip(&self.families)
            .filter(|(f, _)| f.of_report())
            .map(|(_, formats)| formats.clone())
            .collect()
    }
}

/// The exporter's own samples (build, reloads, process) per family, and the end of OpenMetrics.
#[derive(Debug)]
pub(super) struct GlobalParts {
    /// Per family of [`FAMILIES`]: whether the family appears whatever the operations.
    pub present: Vec<bool>,
    /// Per family of [`FAMILIES`]: its samples (empty for the families of the operations).
    pub families: Vec<Formats>,
    /// What ends each format: nothing, and `# EOF` in OpenMetrics.
    pub end: Formats,
}

impl GlobalParts {
    /// The global samples of `globals`.
    pub fn encode(globals: Globals) -> GlobalParts {
        let mut written: Vec<Samples> = FAMILIES
            .iter()
            .map(|family| match family.is_global() {
                true => samples::write_each(family, &[], globals),
                false => Samples::empty(),
            })
            .collect();
        written.push(Samples {
            text: Bytes::new(),
            openmetrics: Some(Bytes::from_static(b"# EOF\n")),
        });
        let mut families = compress_all(written);
        let end = families.pop().unwrap_or(Formats {
            text: Part::EMPTY,
            openmetrics: Part::EMPTY,
        });
        GlobalParts {
            present: FAMILIES
                .iter()
                .map(|f| f.is_present(&[], globals))
                .collect(),
            families,
            end,
        }
    }
}

/// Every family's descriptor (HELP and TYPE) in both formats.
#[derive(Debug)]
pub(super) struct Descriptors {
    /// Per family of [`FAMILIES`].
    pub families: Vec<Formats>,
}

impl Descriptors {
    /// The descriptors: the same for every instance and every configuration.
    pub fn encode() -> Descriptors {
        let written = super::collector::descriptors()
            .into_iter()
            .map(|(text, om)| Samples {
                openmetrics: (om != text).then_some(om),
                text,
            })
            .collect();
        Descriptors {
            families: compress_all(written),
        }
    }
}
