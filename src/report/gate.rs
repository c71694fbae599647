//! Writers of a gate's judgement: a terminal table, Markdown (for `--summary` and
//! `$GITHUB_STEP_SUMMARY`) and JUnit XML (one test case per checked metric).

use std::fmt::Write;

use crate::gate::{Check, GateReport, Verdict};

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Invalid => "INVALID",
    }
}

fn row(c: &Check) -> [String; 6] {
    let show = |v: Option<f64>| v.map_or("-".to_string(), |v| c.metric.show(v));
    [
        c.metric.name.clone(),
        show(c.value),
        c.threshold.clone().unwrap_or_else(|| "-".into()),
        show(c.baseline),
        c.delta
            .map_or("-".into(), |d| format!("{:+.1}%", d * 100.0)),
        verdict_word(c.verdict).to_string(),
    ]
}

/// The verdict table: header, then one row per check.
fn rows(r: &GateReport) -> Vec<[String; 6]> {
    std::iter::once(HEADER.map(String::from))
        .chain(r.checks.iter().map(row))
        .collect()
}

const HEADER: [&str; 6] = [
    "metric",
    "value",
    "threshold",
    "baseline",
    "delta",
    "verdict",
];

fn headline(r: &GateReport) -> String {
    let failed = r
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let mut s = format!(
        "gate {}: {} of {} checks failed ({} run{}",
        verdict_word(r.verdict),
        failed,
        r.checks.len(),
        r.runs,
        if r.runs == 1 { "" } else { "s" }
    );
    if r.baseline_runs > 0 {
        let _ = write!(
            s,
            ", {} baseline run{}",
            r.baseline_runs,
            if r.baseline_runs == 1 { "" } else { "s" }
        );
    }
    s.push(')');
    s
}

/// The line under the table for a check: why it failed, or, against a history, the history's
/// band and the test's interval whatever the verdict.
fn explained(c: &Check) -> Option<String> {
    let against_history = c
        .threshold
        .as_deref()
        .is_some_and(|t| t.starts_with("history"));
    match c.verdict {
        Verdict::Fail => Some(format!("FAIL: {}", c.detail)),
        _ if against_history => Some(c.detail.clone()),
        _ => None,
    }
}

/// The verdict table for a terminal.
pub fn terminal(r: &GateReport) -> String {
    let mut out = crate::report::table::columns(&rows(r), 0, "  ");
    for line in r.checks.iter().filter_map(explained) {
        let _ = writeln!(out, "  {line}");
    }
    for reason in &r.invalid {
        let _ = writeln!(out, "  INVALID: {reason}");
    }
    for note in &r.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let _ = writeln!(out, "{}", headline(r));
    out
}

/// The verdict in Markdown.
pub fn markdown(r: &GateReport, title: &str) -> String {
    let mut out = format!("### kbench gate: {title}\n\n**{}**\n\n", headline(r));
    out.push_str(&crate::report::table::markdown_table(&rows(r)));
    out.push('\n');
    for line in r.checks.iter().filter_map(explained) {
        let _ = writeln!(out, "- {line}");
    }
    for reason in &r.invalid {
        let _ = writeln!(out, "- INVALID: {reason}");
    }
    for note in &r.notes {
        let _ = writeln!(out, "- note: {note}");
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: one test case per checked metric; an invalid run adds an errored test case.
pub fn junit(r: &GateReport, suite: &str) -> String {
    let failures = r
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let errors = usize::from(!r.invalid.is_empty());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        xml(suite),
        r.checks.len() + errors
    );
    for c in &r.checks {
        let _ = write!(
            out,
            "  <testcase classname=\"kbench.gate\" name=\"{}\">",
            xml(&c.metric.name)
        );
        if c.verdict == Verdict::Fail {
            let _ = write!(out, "<failure message=\"{}\"/>", xml(&c.detail));
        } else {
            let _ = write!(out, "<system-out>{}</system-out>", xml(&c.detail));
        }
        out.push_str("</testcase>\n");
    }
    if !r.invalid.is_empty() {
        let _ = writeln!(
            out,
            "  <testcase classname=\"kbench.gate\" name=\"validity\"><error message=\"{}\"/></testcase>",
            xml(&r.invalid.join("; "))
        );
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}
