//! `report.html`: one self-contained file (charts inlined as SVG, styles inline, no scripts, no
//! fonts or anything else fetched), for one run or for a comparison.

use std::fmt::Write;

use super::chart::Rendered;
use crate::compare::{self, Comparison};
use crate::report::table::thousands;
use crate::result::RunResult;
use crate::units::{human_us, Bytes, Rate};

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1160px;color:#222}\
h1{font-size:24px}h2{font-size:19px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}\
th{background:#f2f2f2}.chart{margin:12px 0;border:1px solid #ddd}.chart svg{display:block;width:100%;height:auto}\
pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:13px}.note{color:#7a4b00}";

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n{body}</body></html>\n",
        esc(title),
        esc(title)
    )
}

fn charts(out: &mut String, charts: &[Rendered]) {
    for c in charts {
        // The SVG's own XML declaration is not allowed inside HTML.
        let svg = c.svg.trim_start_matches(|ch| ch != '<');
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or(rest, |(_, s)| s),
            None => svg,
        };
        let _ = writeln!(
            out,
            "<h2>{}</h2>\n<div class=\"chart\">{svg}</div>",
            esc(&c.title)
        );
    }
}

fn table(out: &mut String, rows: &[Vec<String>]) {
    out.push_str("<table>\n");
    for (i, row) in rows.iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<{tag}>{}</{tag}>", esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn errors_and_notes(out: &mut String, r: &RunResult) {
    out.push_str("<h2>Errors</h2>\n");
    if r.errors.is_empty() {
        out.push_str("<p>none</p>\n");
    } else {
        let mut rows = vec![vec!["error".to_string(), "messages".to_string()]];
        rows.extend(r.errors.iter().map(|(k, v)| vec![k.clone(), thousands(*v)]));
        table(out, &rows);
    }
    if !r.events.is_empty() {
        out.push_str("<h2>Events</h2>\n");
        let mut rows = vec![vec![
            "t (s)".into(),
            "kind".into(),
            "detail".into(),
            "repeats".into(),
        ]];
        rows.extend(r.events.iter().map(|e| {
            vec![
                format!("{:.3}", e.t_s),
                e.kind.to_string(),
                e.detail.clone(),
                e.repeats.to_string(),
            ]
        }));
        table(out, &rows);
    }
    for n in &r.notes {
        let _ = writeln!(out, "<p class=\"note\">note: {}</p>", esc(n));
    }
}

/// The report of one run.
pub fn run_page(r: &RunResult, rendered: &[Rendered]) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} &middot; started {} &middot; status <b>{:?}</b> &middot; broker {} ({})</p>",
        esc(&r.scenario.description),
        esc(&r.started_at),
        r.status,
        esc(r.broker.kind.as_str()),
        esc(&r.broker.bootstrap)
    );
    let c = &r.counts;
    let mut rows = vec![
        vec!["metric".to_string(), "value".to_string()],
        vec![
            "throughput".into(),
            format!(
                "{} msg/s, {}/s over {:.2} s",
                Rate::human(r.throughput.msgs_per_sec),
                Bytes::human(r.throughput.bytes_per_sec),
                r.duration_s
            ),
        ],
        vec!["messages".into(), super::terminal::accounting(c)],
    ];
    if let (Some(t), Some(ratio)) = (r.target_rate, r.achieved_rate_ratio) {
        rows.push(vec![
            "target rate".into(),
            format!("{} msg/s, achieved {:.1}%", Rate::human(t), ratio * 100.0),
        ]);
    }
    table(&mut body, &rows);
    let mut lat = vec![["latency", "p50", "p90", "p99", "p99.9", "max", "mean"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    let l = &r.latency_us;
    let streams = [
        ("corrected", &l.corrected),
        ("service", &l.service),
        ("send lag", &l.send_lag),
        ("failed >=", &l.failed),
        ("unsent >=", &l.unsent),
        ("commit", &l.commit),
        ("e2e", &l.e2e),
        ("e2e service", &l.e2e_service),
    ];
    // The first three always; the others when they have samples.
    for (i, (name, l)) in streams.into_iter().enumerate() {
        if i >= 3 && l.count == 0 {
            continue;
        }
        let mut row = vec![name.to_string()];
        row.extend(
            [l.p50, l.p90, l.p99, l.p999, l.max]
                .iter()
                .map(|v| human_us(*v as f64)),
        );
        row.push(human_us(l.mean));
        lat.push(row);
    }
    table(&mut body, &lat);
    if let Some(rep) = &r.repeats {
        let _ = writeln!(
            body,
            "<h2>Repeats</h2>\n<p>{} runs in a row; the figures above and the charts are repeat \
             {}'s (the median throughput). Intervals: {}, {} resamples, seed {}.</p>",
            rep.runs.len(),
            rep.representative,
            esc(&rep.method),
            rep.resamples,
            rep.seed
        );
        table(&mut body, &super::terminal::repeats_rows(rep));
    }
    errors_and_notes(&mut body, r);
    charts(&mut body, rendered);
    let spec = toml::to_string_pretty(&r.spec).unwrap_or_default();
    let _ = writeln!(body, "<h2>Spec</h2>\n<pre>{}</pre>", esc(&spec));
    page(&format!("kbench run: {}", r.scenario.name), &body)
}

/// The report of a sweep: the ranked table first, then the comparison and the charts.
pub fn sweep_page(s: &crate::sweep::Summary, c: &Comparison, rendered: &[Rendered]) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} of {} runs{}. Cells are ranked by median throughput among those within the SLO, then by p99.</p>",
        s.runs_done,
        s.runs_planned,
        if s.complete { "" } else { " (interrupted)" }
    );
    let title = match s.slo_p99_us {
        Some(slo) => format!("Best throughput with p99 under {}", human_us(slo as f64)),
        None => "Cells by throughput".to_string(),
    };
    let _ = writeln!(body, "<h2>{}</h2>", esc(&title));
    table(&mut body, &super::sweep::ranked_rows(s));
    body.push_str("<h2>Median runs against the first cell</h2>\n");
    table(&mut body, &super::compare::table(c));
    settings(&mut body, c);
    charts(&mut body, rendered);
    page(&format!("kbench sweep: {}", s.scenario), &body)
}

/// The run history of one scenario: the trend charts, then every run (newest first) with the
/// environments they ran on.
pub fn history_page(
    scenario: &str,
    rows: &[crate::history::Row],
    last: usize,
    rendered: &[Rendered],
) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} runs of {}; one series per environment, its last {last} valid runs shaded \
         (what a gate against the history compares with); invalid runs are crosses.</p>",
        rows.len(),
        esc(scenario)
    );
    charts(&mut body, rendered);
    body.push_str("<h2>Runs</h2>\n<pre>");
    let mut newest: Vec<crate::history::Row> = rows.to_vec();
    newest.reverse();
    body.push_str(&esc(&super::history::list(&newest)));
    body.push_str("</pre>\n");
    page(&format!("kbench history: {scenario}"), &body)
}

/// The clients' settings side by side, when the runs span two clients or more.
fn settings(body: &mut String, c: &Comparison) {
    if let Some(rows) = super::settings::table(c) {
        body.push_str("<h2>Client settings</h2>\n");
        let _ = writeln!(body, "<p>{}</p>", esc(super::compare::SETTINGS_NOTE));
        table(body, &rows);
    }
}

/// Capacity searches side by side: their answers, the clients' settings, the overlaid knees.
pub fn capacity_page(
    rows: &[Vec<String>],
    settings: Option<&[Vec<String>]>,
    rendered: &[Rendered],
) -> String {
    let mut body = String::new();
    body.push_str(
        "<p>Each search's capacity: the highest offered rate whose probes met the SLO.</p>\n",
    );
    table(&mut body, rows);
    if let Some(s) = settings {
        body.push_str("<h2>Client settings</h2>\n");
        let _ = writeln!(body, "<p>{}</p>", esc(super::compare::SETTINGS_NOTE));
        table(&mut body, s);
    }
    charts(&mut body, rendered);
    page("kbench: capacity by client", &body)
}

/// The report of a comparison.
pub fn comparison_page(c: &Comparison, rendered: &[Rendered]) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} runs; the first is the reference. Latencies are corrected latency.</p>",
        c.entries.len()
    );
    table(&mut body, &super::compare::table(c));
    settings(&mut body, c);
    if !c.differing.is_empty() {
        body.push_str("<h2>What differs</h2>\n");
        let mut rows = vec![std::iter::once("key".to_string())
            .chain(c.entries.iter().map(|e| e.label.clone()))
            .collect::<Vec<_>>()];
        let flat: Vec<_> = c
            .entries
            .iter()
            .map(|e| compare::flatten(&serde_json::to_value(&e.result.spec).unwrap_or_default()))
            .collect();
        for k in &c.differing {
            let mut row = vec![k.clone()];
            row.extend(flat.iter().map(|f| f.get(k).cloned().unwrap_or_default()));
            rows.push(row);
        }
        table(&mut body, &rows);
    }
    body.push_str("<h2>Errors</h2>\n");
    let mut rows = vec![vec!["run".to_string(), "failed".into(), "by kind".into()]];
    for e in &c.entries {
        let kinds: Vec<String> = e
            .result
            .errors
            .iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect();
        rows.push(vec![
            e.label.clone(),
            thousands(e.result.counts.failed),
            kinds.join(", "),
        ]);
    }
    table(&mut body, &rows);
    charts(&mut body, rendered);
    body.push_str("<h2>Sources</h2>\n<ul>\n");
    for e in &c.entries {
        let _ = writeln!(body, "<li>{}: {}</li>", esc(&e.label), esc(&e.source));
    }
    body.push_str("</ul>\n");
    page("kbench comparison", &body)
}
