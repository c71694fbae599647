//! Writers of a sweep's summary: the ranked table of its cells (medians, min..max over repeats),
//! for a terminal and as `ranking.md`.

use std::fmt::Write;

use crate::sweep::{CellSummary, Stat, Summary};
use crate::units::{human_us, Rate};

/// A cell's label: "acks=all, linger=5ms" (last key segments).
pub fn label(c: &CellSummary) -> String {
    if c.vars.is_empty() {
        return "all runs".into();
    }
    c.vars
        .iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn spread(s: &Stat, show: fn(f64) -> String) -> String {
    let (lo, hi) = (show(s.min), show(s.max));
    if lo == hi {
        show(s.median)
    } else {
        format!("{} ({lo}..{hi})", show(s.median))
    }
}

/// The ranked table as rows (header first).
pub fn ranked_rows(s: &Summary) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "rank",
        "cell",
        "throughput",
        "p99",
        "p99.9",
        "compression",
        "runs",
        "failed",
        "SLO",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect::<Vec<_>>()];
    let tp = |v: f64| format!("{} msg/s", Rate::human(v));
    // Invalid cells are never ranked: they follow the ranked ones, marked.
    let unranked: Vec<usize> = (0..s.cells.len())
        .filter(|i| !s.ranking.contains(i))
        .collect();
    for (pos, &i) in s.ranking.iter().chain(&unranked).enumerate() {
        let c = &s.cells[i];
        rows.push(vec![
            if pos < s.ranking.len() {
                (pos + 1).to_string()
            } else {
                "INVALID".into()
            },
            label(c),
            spread(&c.throughput, tp),
            spread(&c.p99_us, human_us),
            spread(&c.p999_us, human_us),
            c.compression_ratio
                .map_or("-".into(), |r| format!("{:.2}:1", r.median)),
            c.runs.len().to_string(),
            c.failed.to_string(),
            match c.within_slo {
                Some(true) => "ok".into(),
                Some(false) => "over".into(),
                None => "-".into(),
            },
        ]);
    }
    rows
}

/// The ranked table in Markdown, with its title.
pub fn ranked_markdown(s: &Summary) -> String {
    let mut out = match s.slo_p99_us {
        Some(slo) => format!(
            "### {}: best throughput with p99 under {}\n\n",
            s.scenario,
            human_us(slo as f64)
        ),
        None => format!("### {}: cells by throughput\n\n", s.scenario),
    };
    out.push_str(&crate::report::table::markdown_table(&ranked_rows(s)));
    let _ = writeln!(
        out,
        "\nMedians over repeats, (min..max) when runs differ; latency is corrected latency. {} of {} runs{}.",
        s.runs_done,
        s.runs_planned,
        if s.complete { "" } else { " (interrupted: resume with --resume)" }
    );
    out
}
