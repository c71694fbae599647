//! Comparing runs: pure functions of saved results.
//!
//! Runs are labelled by what differs between their specs (`acks=1` vs `acks=all`), not by file
//! name: every spec is flattened into dotted keys, and the keys whose values are not the same in
//! all runs make the labels. Each metric is then shown with its ratio to the first (reference) run.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::result::RunResult;
use crate::table::thousands;
use crate::units::{human_us, Rate};

/// Spec keys that differ between runs for reasons that are not the experiment.
const IGNORED_KEYS: [&str; 2] = ["cluster.bootstrap", "description"];

/// A run in a comparison.
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    /// Where the result was read from.
    pub source: String,
    pub result: RunResult,
}

/// Runs side by side, the first being the reference.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub entries: Vec<Entry>,
    /// Dotted spec keys whose values differ between the runs.
    pub differing: Vec<String>,
}

/// Flattens a JSON tree into `dotted.key -> compact value`.
pub fn flatten(v: &Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", v, &mut out);
    out
}

/// Labels for runs from their specs, and the keys that differ.
pub fn labels(specs: &[Value]) -> (Vec<String>, Vec<String>) {
    let flat: Vec<BTreeMap<String, String>> = specs.iter().map(flatten).collect();
    let keys: std::collections::BTreeSet<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|k| !IGNORED_KEYS.contains(&k.as_str()))
        .filter(|k| {
            let first = flat[0].get(*k);
            flat.iter().any(|f| f.get(*k) != first)
        })
        .cloned()
        .collect();
    let short = |k: &str| -> String {
        let last = k.rsplit('.').next().unwrap_or(k);
        let clashes = differing
            .iter()
            .filter(|d| d.rsplit('.').next() == Some(last))
            .count();
        if clashes > 1 {
            k.to_string()
        } else {
            last.to_string()
        }
    };
    let mut labels: Vec<String> = flat
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if differing.is_empty() {
                return format!("run {}", i + 1);
            }
            differing
                .iter()
                .map(|k| format!("{}={}", short(k), f.get(k).map_or("-", String::as_str)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    // Repeats of one configuration: number them.
    for i in 0..labels.len() {
        let same: Vec<usize> = (0..labels.len())
            .filter(|j| labels[*j] == labels[i])
            .collect();
        if same.len() > 1 && !differing.is_empty() {
            for (n, j) in same.into_iter().enumerate() {
                labels[j] = format!("{} #{}", labels[j], n + 1);
            }
        }
    }
    (labels, differing)
}

impl Comparison {
    pub fn new(results: Vec<(String, RunResult)>) -> Self {
        let specs: Vec<Value> = results
            .iter()
            .map(|(_, r)| serde_json::to_value(&r.spec).unwrap_or(Value::Null))
            .collect();
        let (labels, differing) = labels(&specs);
        let entries = results
            .into_iter()
            .zip(labels)
            .map(|((source, result), label)| Entry {
                label,
                source,
                result,
            })
            .collect();
        Comparison { entries, differing }
    }
}

/// A compared metric.
pub struct Metric {
    pub name: &'static str,
    pub value: fn(&RunResult) -> f64,
    pub show: fn(f64) -> String,
}

/// The metrics of the comparison table, in order.
pub const METRICS: [Metric; 13] = [
    Metric {
        name: "throughput",
        value: |r| r.throughput.msgs_per_sec,
        show: |v| format!("{} msg/s", Rate::human(v)),
    },
    Metric {
        name: "drained",
        value: |r| r.drain.map_or(f64::NAN, |d| d.messages as f64),
        show: |v| format!("{} msgs", thousands(v as u64)),
    },
    Metric {
        name: "p50",
        value: |r| r.latency_us.corrected.p50 as f64,
        show: human_us,
    },
    Metric {
        name: "p99",
        value: |r| r.latency_us.corrected.p99 as f64,
        show: human_us,
    },
    Metric {
        name: "p99.9",
        value: |r| r.latency_us.corrected.p999 as f64,
        show: human_us,
    },
    Metric {
        name: "max",
        value: |r| r.latency_us.corrected.max as f64,
        show: human_us,
    },
    Metric {
        name: "failed",
        value: |r| r.counts.failed as f64,
        show: |v| thousands(v as u64),
    },
    Metric {
        name: "loss",
        value: |r| r.loss_rate,
        show: |v| format!("{:.3}%", v * 100.0),
    },
    // librdkafka's breakdown, side by side (absent without statistics: "-").
    Metric {
        name: "queue p99",
        value: |r| breakdown(r).map_or(f64::NAN, |b| b.int_latency_us.p99 as f64),
        show: human_us,
    },
    Metric {
        name: "rtt p99",
        value: |r| breakdown(r).map_or(f64::NAN, |b| b.rtt_us.p99 as f64),
        show: human_us,
    },
    // Transactional runs (absent otherwise: "-").
    Metric {
        name: "commit p99",
        value: |r| match r.latency_us.commit.count {
            0 => f64::NAN,
            _ => r.latency_us.commit.p99 as f64,
        },
        show: human_us,
    },
    // [consume] runs (absent otherwise: "-").
    Metric {
        name: "e2e p99",
        value: |r| match r.latency_us.e2e.count {
            0 => f64::NAN,
            _ => r.latency_us.e2e.p99 as f64,
        },
        show: human_us,
    },
    Metric {
        name: "missing",
        value: |r| r.counts.missing.map_or(f64::NAN, |m| m as f64),
        show: |v| thousands(v as u64),
    },
];

fn breakdown(r: &RunResult) -> Option<crate::result::client::Breakdown> {
    r.client.as_ref()?.breakdown
}

/// `value (ratio x)` for a cell, the ratio against the reference run.
fn cell(m: &Metric, r: &RunResult, reference: &RunResult, is_reference: bool) -> String {
    let v = (m.value)(r);
    let base = (m.value)(reference);
    if v.is_nan() {
        return "-".into();
    }
    let shown = (m.show)(v);
    if is_reference {
        return shown;
    }
    if base > 0.0 {
        format!("{shown} ({:.2}x)", v / base)
    } else {
        shown
    }
}

/// The comparison table as rows of cells (header first). A metric no run has (the breakdown
/// without statistics, commits without transactions, e2e without `[consume]`) is left out.
pub fn table(c: &Comparison) -> Vec<Vec<String>> {
    let metrics: Vec<&Metric> = METRICS
        .iter()
        .filter(|m| c.entries.iter().any(|e| !(m.value)(&e.result).is_nan()))
        .collect();
    let mut rows = vec![std::iter::once("run".to_string())
        .chain(metrics.iter().map(|m| m.name.to_string()))
        .collect::<Vec<_>>()];
    let Some(reference) = c.entries.first() else {
        return rows;
    };
    for (i, e) in c.entries.iter().enumerate() {
        let mut row = vec![if i == 0 {
            format!("{} (reference)", e.label)
        } else {
            e.label.clone()
        }];
        row.extend(
            metrics
                .iter()
                .map(|m| cell(m, &e.result, &reference.result, i == 0)),
        );
        rows.push(row);
    }
    rows
}

/// The table in Markdown, with the latency note.
pub fn markdown(c: &Comparison) -> String {
    let mut out = crate::table::markdown_table(&table(c));
    let _ = writeln!(
        out,
        "\nLatencies are corrected latency (from each message's due time). Ratios are to the reference run."
    );
    if !c.differing.is_empty() {
        let _ = writeln!(out, "Differing keys: {}.", c.differing.join(", "));
    }
    out
}

/// The table for a terminal: aligned columns.
pub fn terminal(c: &Comparison) -> String {
    crate::table::columns(&table(c), 0, "")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn labels_name_the_differing_keys() {
        let a = json!({"name": "x", "cluster": {"bootstrap": "1"}, "producer": {"acks": "1", "linger": "5ms"}});
        let b = json!({"name": "x", "cluster": {"bootstrap": "2"}, "producer": {"acks": "all", "linger": "5ms"}});
        let (labels, differing) = super::labels(&[a.clone(), b]);
        assert_eq!(differing, vec!["producer.acks"]);
        assert_eq!(labels, vec!["acks=1", "acks=all"]);
        let (labels, differing) = super::labels(&[a.clone(), a]);
        assert!(differing.is_empty());
        assert_eq!(labels, vec!["run 1", "run 2"]);
    }

    #[test]
    fn clashing_short_names_keep_their_section() {
        let a = json!({"topic": {"name": "a"}, "name": "s1"});
        let b = json!({"topic": {"name": "b"}, "name": "s2"});
        let (labels, _) = super::labels(&[a, b]);
        assert_eq!(
            labels,
            vec!["name=s1, topic.name=a", "name=s2, topic.name=b"]
        );
    }
}
