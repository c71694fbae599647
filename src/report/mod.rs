//! Writers of results: one result model, many views (terminal summary, charts, Markdown, HTML).
//! Every writer is a pure function of saved `result.json` data, so old runs re-render identically
//! and nothing here needs a broker.

pub mod chart;
pub mod compare;
pub mod gate;
pub mod history;
pub mod html;
pub mod plan;
pub mod settings;
pub mod sweep;
pub mod table;
pub mod terminal;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::compare::Comparison;
use crate::result::{ResultError, RunResult};
use chart::{
    render, Bars, LatencyBreakdown, LatencyHistogram, Rendered, Scatter, Spectrum, Timeline, Trend,
};

/// Draws the per-run charts (spectrum, timeline, histogram, and the latency breakdown when the
/// result has librdkafka's statistics) and `report.html` into `dir` (next to `result.json`).
pub fn write_run_report(r: &RunResult, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let decode = |name: &str, text: &str| {
        crate::recorder::hist::decode(text).map_err(|e| anyhow::anyhow!("histograms.{name}: {e}"))
    };
    let corrected = decode("corrected", &r.histograms.corrected)?;
    let service = decode("service", &r.histograms.service)?;
    // Failed/unresolved and unsent messages are drawn as their own lines (empty ones are left
    // out by the chart), so a loss is never hidden from the picture.
    let failed = decode("failed", &r.histograms.failed)?;
    let unsent = decode("unsent", &r.histograms.unsent)?;
    // With [consume]: produce intent to consume (empty otherwise, and left out).
    let e2e = decode("e2e", &r.histograms.e2e)?;
    let spectrum = Spectrum {
        stem: "latency-spectrum".into(),
        title: format!("{}: latency by percentile", r.scenario.name),
        series: vec![
            ("corrected".into(), corrected.clone()),
            ("service".into(), service),
            ("e2e (due -> consumed)".into(), e2e),
            ("failed >= (lower bound)".into(), failed),
            ("unsent >= (lower bound)".into(), unsent),
        ],
    };
    let mut rendered = vec![
        render(&spectrum, "Latency percentile spectrum", dir)?,
        render(&Timeline { result: r }, "Timeline", dir)?,
        render(
            &LatencyHistogram {
                title: format!("{}: corrected latency histogram", r.scenario.name),
                hist: &corrected,
            },
            "Latency histogram",
            dir,
        )?,
    ];
    if r.intervals.iter().any(|i| i.client.is_some()) {
        rendered.push(render(
            &LatencyBreakdown { result: r },
            "Latency breakdown",
            dir,
        )?);
    }
    finish(dir, &rendered, html::run_page(r, &rendered))
}

/// Draws the comparison views, the table (`comparison.md`) and `report.html` into `dir`.
pub fn write_comparison_report(c: &Comparison, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut series = Vec::new();
    for e in &c.entries {
        let h = crate::recorder::hist::decode(&e.result.histograms.corrected)
            .map_err(|err| anyhow::anyhow!("{}: histograms.corrected: {err}", e.source))?;
        series.push((e.label.clone(), h));
    }
    let spectrum = Spectrum {
        stem: "compare-spectrum".into(),
        title: "corrected latency by percentile".into(),
        series,
    };
    let rendered = vec![
        render(&spectrum, "Latency percentile spectra", dir)?,
        render(
            &Bars { comparison: c },
            "Throughput and latency per run",
            dir,
        )?,
        render(
            &Scatter {
                comparison: c,
                spreads: None,
            },
            "Throughput vs p99",
            dir,
        )?,
    ];
    let md = dir.join("comparison.md");
    crate::result::write_atomic(&md, compare::markdown(c).as_bytes())?;
    let mut files = finish(dir, &rendered, html::comparison_page(c, &rendered))?;
    files.push(md);
    Ok(files)
}

/// Capacity searches side by side (one per client): their knees overlaid, `comparison.md` with
/// the answers (`rows`, header first) and the clients' settings (`c`: a probe of each search), and
/// `report.html`, into `dir`.
pub fn write_capacity_comparison(
    knees: &chart::Knees,
    rows: &[Vec<String>],
    c: Option<&Comparison>,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let rendered = vec![render(knees, "Capacity searches overlaid", dir)?];
    let mut md = table::markdown_table(rows);
    let settings = c.and_then(settings::table);
    if let Some(s) = &settings {
        md.push_str(&format!(
            "\n## Client settings\n\n{}\n\n",
            compare::SETTINGS_NOTE
        ));
        md.push_str(&table::markdown_table(s));
    }
    let path = dir.join("comparison.md");
    crate::result::write_atomic(&path, md.as_bytes())?;
    let mut files = finish(
        dir,
        &rendered,
        html::capacity_page(rows, settings.as_deref(), &rendered),
    )?;
    files.push(path);
    Ok(files)
}

/// A sweep's report: ranking.md; with two cells or more (a comparison of their median runs) the
/// comparison views (with the repeats' spread on the scatter), one effect chart per varied key,
/// comparison.md and report.html.
pub fn write_sweep_report(
    s: &crate::sweep::Summary,
    c: Option<&Comparison>,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let ranking = dir.join("ranking.md");
    crate::result::write_atomic(&ranking, sweep::ranked_markdown(s).as_bytes())?;
    let Some(c) = c else {
        return Ok(vec![ranking]);
    };
    let mut series = Vec::new();
    for e in &c.entries {
        let h = crate::recorder::hist::decode(&e.result.histograms.corrected)
            .map_err(|err| anyhow::anyhow!("{}: histograms.corrected: {err}", e.source))?;
        series.push((e.label.clone(), h));
    }
    let spreads = s
        .cells
        .iter()
        .map(|cell| (cell.throughput, cell.p99_us))
        .collect();
    let mut rendered = vec![
        render(
            &Scatter {
                comparison: c,
                spreads: Some(spreads),
            },
            "Throughput vs p99 per cell (medians; bars: min..max over repeats)",
            dir,
        )?,
        render(
            &Spectrum {
                stem: "compare-spectrum".into(),
                title: "corrected latency by percentile (median run of each cell)".into(),
                series,
            },
            "Latency percentile spectra",
            dir,
        )?,
        render(
            &Bars { comparison: c },
            "Throughput and latency per cell",
            dir,
        )?,
    ];
    let keys: Vec<&String> = s
        .cells
        .first()
        .map(|c| c.vars.keys().collect())
        .unwrap_or_default();
    for key in keys {
        let mut values: Vec<String> = Vec::new();
        for cell in &s.cells {
            if let Some(v) = cell.vars.get(key) {
                if !values.contains(v) {
                    values.push(v.clone());
                }
            }
        }
        if values.len() > 1 {
            let effect = chart::Effect::new(key, values, &s.cells);
            rendered.push(render(&effect, &format!("Effect of {key}"), dir)?);
        }
    }
    crate::result::write_atomic(&dir.join("comparison.md"), compare::markdown(c).as_bytes())?;
    let mut files = finish(dir, &rendered, html::sweep_page(s, c, &rendered))?;
    files.push(ranking);
    Ok(files)
}

fn finish(dir: &Path, rendered: &[Rendered], page: String) -> anyhow::Result<Vec<PathBuf>> {
    let html = dir.join("report.html");
    crate::result::write_atomic(&html, page.as_bytes())
        .with_context(|| format!("writing {}", html.display()))?;
    let mut files: Vec<PathBuf> = rendered.iter().flat_map(|r| r.files.clone()).collect();
    files.push(html);
    Ok(files)
}

/// Draws a scenario's run history (`rows`, oldest first): one trend chart per metric, each
/// series' last `last` runs shaded, and `report.html` with the runs' table, into `dir`.
pub fn write_history_report(
    scenario: &str,
    rows: &[crate::history::Row],
    last: usize,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rendered = Vec::new();
    for metric in chart::trend::METRICS {
        let trend = Trend {
            rows,
            metric,
            last,
            stem: format!("history-{metric}"),
        };
        rendered.push(render(&trend, &format!("{metric} by run"), dir)?);
    }
    finish(
        dir,
        &rendered,
        html::history_page(scenario, rows, last, &rendered),
    )
}

/// Reads results given as files or directories. A directory contributes its own `result.json`,
/// or else every `*/result.json` below it (sorted by start time).
pub fn read_results(paths: &[PathBuf]) -> Result<Vec<(PathBuf, RunResult)>, ResultError> {
    let mut out = Vec::new();
    for p in paths {
        let direct = p.join("result.json");
        if p.is_dir() && !direct.is_file() {
            let mut found = Vec::new();
            let entries = std::fs::read_dir(p).map_err(|source| ResultError::Io {
                path: p.display().to_string(),
                source,
            })?;
            for entry in entries.flatten() {
                let f = entry.path().join("result.json");
                if f.is_file() {
                    found.push((f.clone(), RunResult::read(&f)?));
                }
            }
            if found.is_empty() {
                return Err(ResultError::Invalid {
                    path: p.display().to_string(),
                    detail: "no result.json in this directory or its subdirectories".into(),
                });
            }
            found.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then(a.0.cmp(&b.0)));
            out.extend(found);
        } else {
            let f = if p.is_dir() { direct } else { p.clone() };
            out.push((f.clone(), RunResult::read(&f)?));
        }
    }
    Ok(out)
}
