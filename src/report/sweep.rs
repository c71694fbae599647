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

/// The median, and with repeats its 95% interval: `value [low, high]`.
fn spread(s: &Stat, show: fn(f64) -> String) -> String {
    let (lo, hi) = (show(s.low), show(s.high));
    if s.min == s.max || lo == hi {
        show(s.median)
    } else {
        format!("{} [{lo}, {hi}]", show(s.median))
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
    let mut rank = 0;
    for (pos, &i) in s.ranking.iter().chain(&unranked).enumerate() {
        let c = &s.cells[i];
        // A cell the repeats cannot tell from the one above (throughput and p99 intervals
        // overlap, same side of the SLO) shares its rank, marked "=".
        let tied = pos > 0 && pos < s.ranking.len() && {
            let above = &s.cells[s.ranking[pos - 1]];
            above.within_slo == c.within_slo
                && crate::sweep::throughput_tie(above, c)
                && above.p99_us.overlaps(&c.p99_us)
        };
        if !tied {
            rank = pos + 1;
        }
        rows.push(vec![
            match (pos < s.ranking.len(), tied) {
                (false, _) => "INVALID".into(),
                (true, true) => format!("={rank}"),
                (true, false) => rank.to_string(),
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
