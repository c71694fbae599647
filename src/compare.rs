//! Comparing runs: pure functions of saved results.
//!
//! Runs are labelled by what differs between their specs (`acks=1` vs `acks=all`), not by file
//! name: every spec is flattened into dotted keys, and the keys whose values are not the same in
//! all runs make the labels. `crate::report::compare` shows each metric with its ratio to the
//! first (reference) run.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::result::RunResult;

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
