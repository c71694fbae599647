//! Writers of a comparison of saved runs: the metrics table, each cell with its ratio to the
//! reference run, for a terminal and in Markdown.

use std::fmt::Write;

use crate::compare::Comparison;
use crate::report::table::thousands;
use crate::result::RunResult;
use crate::units::{human_us, Rate};

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

/// A result with repeats: the repeats' median and its interval for the metrics they cover.
fn interval(m: &Metric, r: &RunResult) -> Option<crate::stats::Interval> {
    let rep = r.repeats.as_ref()?;
    Some(match m.name {
        "throughput" => rep.throughput,
        "p50" => rep.p50_us,
        "p99" => rep.p99_us,
        "p99.9" => rep.p999_us,
        _ => return None,
    })
}

/// A metric's value in a run: with repeats, their median.
fn value(m: &Metric, r: &RunResult) -> f64 {
    interval(m, r).map_or((m.value)(r), |i| i.median)
}

/// `value (ratio x)` for a cell, the ratio against the reference run; with repeats
/// `median [low, high] (ratio x)`.
fn cell(m: &Metric, r: &RunResult, reference: &RunResult, is_reference: bool) -> String {
    let v = value(m, r);
    let base = value(m, reference);
    if v.is_nan() {
        return "-".into();
    }
    let mut shown = (m.show)(v);
    if let Some(i) = interval(m, r) {
        let _ = write!(shown, " [{}, {}]", (m.show)(i.low), (m.show)(i.high));
    }
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
    let mut out = crate::report::table::markdown_table(&table(c));
    let _ = writeln!(
        out,
        "\nLatencies are corrected latency (from each message's due time). Ratios are to the reference run."
    );
    if !c.differing.is_empty() {
        let _ = writeln!(out, "Differing keys: {}.", c.differing.join(", "));
    }
    if let Some(rows) = super::settings::table(c) {
        let _ = writeln!(out, "\n## Client settings\n\n{SETTINGS_NOTE}\n");
        out.push_str(&crate::report::table::markdown_table(&rows));
    }
    out
}

/// What the settings table says.
pub const SETTINGS_NOTE: &str = "Each scenario key as each client took it (values as the client resolved them). \
\"no\" marks a key a client cannot make mean what librdkafka means: those rows were not like for like.";

/// The table for a terminal: aligned columns, and the clients' settings when they differ.
pub fn terminal(c: &Comparison) -> String {
    let mut out = crate::report::table::columns(&table(c), 0, "");
    if let Some(rows) = super::settings::table(c) {
        let _ = writeln!(out, "\nclient settings ({SETTINGS_NOTE})");
        out.push_str(&crate::report::table::columns(&rows, 0, ""));
    }
    out
}
