//! CI gates: judge results against absolute thresholds and against a baseline, with a verdict a
//! CI system acts on (exit 0 pass, 1 fail, 4 invalid).
//!
//! ```toml
//! [gate]
//! p99 = "<= 25ms"              # corrected latency unless a stream is named: service.p99, send_lag.p99
//! throughput = ">= 19.5k/s"
//! error_rate = "<= 0.1%"
//! achieved_rate_ratio = ">= 0.99"
//! [gate.baseline]              # relative to --baseline results
//! throughput = "-5%"           # may drop at most 5 %
//! p99 = "+10%"                 # may grow at most 10 %
//! [gate.validity]              # when the generator itself fell behind, the run proves nothing
//! min_sent_ratio = 0.97
//! max_send_lag_p99 = "10ms"
//! ```
//!
//! **Noise.** With several results on a side (repeats), each metric is the median over that side.
//! A baseline regression is called only when the median change is beyond the allowance *and* the
//! two sides do not overlap (every current run is worse than every baseline run): a difference
//! inside the run-to-run spread is not a regression. A single run against a single baseline uses
//! the plain allowance.
//!
//! **Against a history** (`kbench gate --history FILE`), the baseline side is the last runs of
//! the same scenario and environment on a branch, and a change beyond the allowance is called
//! only when the 95% bootstrap interval of the difference of medians excludes zero
//! ([`crate::stats`]); with fewer than [`MIN_HISTORY`] comparable runs the verdict says so and only
//! the absolute thresholds are judged.
//!
//! **Invalid runs.** A run is invalid when the generator could not keep its schedule while the
//! client showed no back-pressure: send-lag p99 over `max_send_lag_p99`, or a duration run that
//! sent fewer than `min_sent_ratio` of its scheduled messages. (With `QueueFull` back-pressure, or
//! in sync mode where each worker waits for its ack, the cluster is what fell behind, and that is
//! a real result.) Interrupted runs are invalid too.

mod metric;

pub use crate::scenario::gate::{
    check_spec, Allowance, GateSpec, Kind, Metric, Op, Stat, Stream, Threshold, Validity,
};
pub use metric::value;

/// The allowances used when `--baseline` is given but the scenario has no `[gate.baseline]`.
pub const DEFAULT_ALLOWANCES: [(&str, &str); 2] = [("throughput", "-5%"), ("p99", "+10%")];

use std::fmt::Write as _;

use serde::Serialize;

use crate::result::{RunResult, Status};
use crate::units::human_us;

/// How a baseline change beyond its allowance is told from noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// Baseline results given by hand: with repeats on either side, every current run must be
    /// worse than every baseline run.
    Separated,
    /// A run history: the bootstrap interval of the difference of medians must exclude zero.
    Bootstrap,
}

/// Comparable history runs needed before a history is judged against.
pub const MIN_HISTORY: usize = 3;

/// The outcome of one check or of the whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Invalid,
}

/// One checked metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub metric: Metric,
    /// The (median) value of the current run(s).
    pub value: Option<f64>,
    /// The threshold as written, for absolute checks.
    pub threshold: Option<String>,
    /// The (median) baseline value, for baseline checks.
    pub baseline: Option<f64>,
    /// Relative change against the baseline (+0.12 = 12 % larger).
    pub delta: Option<f64>,
    pub verdict: Verdict,
    /// Why, in words: "p99 31.2 ms > 25 ms".
    pub detail: String,
}

/// The judgement of a gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateReport {
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    /// Why the run cannot be judged (non-empty iff the verdict is invalid).
    pub invalid: Vec<String>,
    /// What the verdict should be read with (e.g. why the generator checks were not applied).
    pub notes: Vec<String>,
    pub runs: usize,
    pub baseline_runs: usize,
}

pub use crate::stats::median;

/// Why a run cannot be judged, if it cannot.
pub fn invalid_reasons(r: &RunResult, v: &Validity) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = r.accounting_error() {
        out.push(format!("the run's counts do not add up: {e}"));
    }
    if r.status == Status::Interrupted {
        out.push("the run was interrupted".to_string());
    }
    for f in r
        .repeats
        .iter()
        .flat_map(|rep| &rep.runs)
        .filter(|f| !f.valid)
    {
        out.push(format!("{}: its counts do not add up", f.dir));
    }
    // Sustained back-pressure (the client's queue was full) or a sync worker waiting for its ack
    // (closed loop) mean the cluster set the pace: a late schedule then says nothing about the
    // generator (the loss it caused still fails the gate).
    if cluster_set_the_pace(r, v).is_some() {
        return out;
    }
    let lag = r.latency_us.send_lag.p99 as f64;
    let limit = v.max_send_lag_p99.0.as_secs_f64() * 1e6;
    if r.latency_us.send_lag.count > 0 && lag > limit {
        out.push(format!(
            "the load generator fell behind: send-lag p99 {} > {}",
            human_us(lag),
            v.max_send_lag_p99
        ));
    }
    if let (Some(scheduled), Status::Completed) = (scheduled_of(r), r.status) {
        let ratio = r.counts.sent as f64 / scheduled.max(1.0);
        if ratio < v.min_sent_ratio {
            out.push(format!(
                "the load generator sent {:.1}% of its {} scheduled messages (minimum {:.1}%)",
                ratio * 100.0,
                scheduled.round(),
                v.min_sent_ratio * 100.0
            ));
        }
    }
    out
}

/// Messages a paced run scheduled in its measured window: the result's own count, or for a
/// version-1 result the target rate times an explicit duration.
fn scheduled_of(r: &RunResult) -> Option<f64> {
    r.target_rate?;
    match r.counts.scheduled {
        Some(n) => Some(n as f64),
        None => Some(r.target_rate? * r.spec.load.duration?.0.as_secs_f64()),
    }
}

/// Why the generator checks do not apply to a run, if they do not: a closed loop (sync mode), or
/// a share of sends that hit `QueueFull` over `max_queue_full_share`.
pub fn cluster_set_the_pace(r: &RunResult, v: &Validity) -> Option<String> {
    if r.spec.producer.mode == crate::scenario::Mode::Sync {
        return Some(
            "sync mode: each worker waits for its ack (closed loop), so the cluster sets the pace"
                .into(),
        );
    }
    let share = r.backpressure.queue_full as f64 / r.counts.sent.max(1) as f64;
    (share > v.max_queue_full_share).then(|| {
        format!(
            "sustained back-pressure: {} QueueFull answers for {} sends ({:.1}% > {:.1}%)",
            r.backpressure.queue_full,
            r.counts.sent,
            share * 100.0,
            v.max_queue_full_share * 100.0
        )
    })
}

/// Judges current results (one, or repeats) against the gate and optional baseline results.
pub fn judge(
    current: &[RunResult],
    baseline: &[RunResult],
    g: &GateSpec,
) -> Result<GateReport, String> {
    judge_with(current, baseline, g, Test::Separated)
}

/// [`judge`], with the baseline's significance test named.
pub fn judge_with(
    current: &[RunResult],
    baseline: &[RunResult],
    g: &GateSpec,
    test: Test,
) -> Result<GateReport, String> {
    if current.is_empty() {
        return Err("no results to judge".into());
    }
    let mut invalid: Vec<String> = Vec::new();
    for (i, r) in current.iter().enumerate() {
        for reason in invalid_reasons(r, &g.validity) {
            invalid.push(if current.len() > 1 {
                format!("run {}: {reason}", i + 1)
            } else {
                reason
            });
        }
    }
    let expanded: Vec<RunResult> = current.iter().flat_map(each_repeat).collect();
    let current = expanded.as_slice();
    let base: Vec<RunResult> = baseline.iter().flat_map(each_repeat).collect();
    let baseline = base.as_slice();
    let mut checks = Vec::new();
    for (k, v) in &g.thresholds {
        let t = Threshold::parse(k, v).map_err(|e| format!("gate.{k}: {e}"))?;
        checks.push(threshold_check(t, current, median));
    }
    let notes = current
        .iter()
        .filter_map(|r| cluster_set_the_pace(r, &g.validity))
        .map(|why| format!("generator checks not applied: {why}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !baseline.is_empty() {
        for (k, v) in &g.baseline {
            let a = Allowance::parse(k, v).map_err(|e| format!("gate.baseline.{k}: {e}"))?;
            checks.push(baseline_check(a, current, baseline, test));
        }
    }
    if !g.thresholds.contains_key("loss_rate") {
        // No loss passes a gate unless the gate states its own loss_rate: every run must be 0.
        let t = Threshold::parse("loss_rate", "<= 0%").expect("a valid literal threshold");
        let mut c = threshold_check(t, current, |v| v.into_iter().fold(0.0, f64::max));
        c.threshold = Some(IMPLICIT_LOSS.into());
        checks.push(c);
    }
    let consumed = current.iter().any(|r| r.counts.missing.is_some());
    if consumed && !g.thresholds.contains_key("missing_rate") {
        // With [consume], every acked message must also be read back.
        let t = Threshold::parse("missing_rate", "<= 0%").expect("a valid literal threshold");
        let mut c = threshold_check(t, current, |v| v.into_iter().fold(0.0, f64::max));
        c.threshold = Some(IMPLICIT_MISSING.into());
        checks.push(c);
    }
    let verdict = if !invalid.is_empty() {
        Verdict::Invalid
    } else if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    Ok(GateReport {
        checks,
        verdict,
        invalid,
        notes,
        runs: current.len(),
        baseline_runs: baseline.len(),
    })
}

/// A result with `load.repeats` judged as its repeats: one result per repeat, each carrying that
/// repeat's headline figures (throughput, corrected percentiles, counts sent, acked and failed,
/// loss rate) on the representative's body, so medians are over the repeats and a loss in any
/// repeat fails the loss check. Any other result is itself.
fn each_repeat(r: &RunResult) -> Vec<RunResult> {
    let Some(rep) = &r.repeats else {
        return vec![r.clone()];
    };
    rep.runs
        .iter()
        .map(|f| {
            let mut one = r.clone();
            one.repeats = None;
            one.throughput.msgs_per_sec = f.msgs_per_sec;
            let l = &mut one.latency_us.corrected;
            (l.p50, l.p90, l.p99, l.p999) = (f.p50_us, f.p90_us, f.p99_us, f.p999_us);
            (one.counts.sent, one.counts.acked, one.counts.failed) = (f.sent, f.acked, f.failed);
            one.loss_rate = f.loss_rate;
            one
        })
        .collect()
}

/// How the implicit loss check is shown in the verdict table.
pub const IMPLICIT_LOSS: &str = "<= 0% (implicit: no loss)";
/// How the implicit read-back check of a `[consume]` run is shown.
pub const IMPLICIT_MISSING: &str = "<= 0% (implicit: every ack read back)";

/// One absolute threshold, judged on the runs' values combined by `combine` (the median, or the
/// worst run).
fn threshold_check(t: Threshold, current: &[RunResult], combine: fn(Vec<f64>) -> f64) -> Check {
    let values: Option<Vec<f64>> = current.iter().map(|r| value(&t.metric, r)).collect();
    let Some(value) = values.map(combine) else {
        return Check {
            detail: format!("{}: no value in the result", t.metric.name),
            metric: t.metric,
            value: None,
            threshold: Some(t.text),
            baseline: None,
            delta: None,
            verdict: Verdict::Fail,
        };
    };
    let ok = t.op.holds(value, t.limit);
    let mut detail = format!(
        "{} {} {} {}",
        t.metric.name,
        t.metric.show(value),
        if ok { "meets" } else { "breaks" },
        t.text
    );
    if !ok {
        let by = (value - t.limit).abs();
        let _ = write!(detail, " (by {}", t.metric.show(by));
        if t.limit > 0.0 {
            let _ = write!(detail, ", {:.2}x the limit", value / t.limit);
        }
        detail.push(')');
    }
    Check {
        detail,
        metric: t.metric,
        value: Some(value),
        threshold: Some(t.text),
        baseline: None,
        delta: None,
        verdict: if ok { Verdict::Pass } else { Verdict::Fail },
    }
}

fn baseline_check(
    a: Allowance,
    current: &[RunResult],
    baseline: &[RunResult],
    test: Test,
) -> Check {
    let m = a.metric.clone();
    let cur: Option<Vec<f64>> = current.iter().map(|r| value(&m, r)).collect();
    let base: Option<Vec<f64>> = baseline.iter().map(|r| value(&m, r)).collect();
    let (Some(cur), Some(base)) = (cur, base) else {
        return Check {
            detail: format!("{}: missing in the current or the baseline result", m.name),
            metric: m,
            value: None,
            threshold: Some(format!("baseline {}", a.text)),
            baseline: None,
            delta: None,
            verdict: Verdict::Fail,
        };
    };
    let (c, b) = (median(cur.clone()), median(base.clone()));
    let delta = if b != 0.0 {
        (c - b) / b
    } else if c == b {
        0.0
    } else {
        f64::INFINITY
    };
    // Worsening as a positive fraction: a throughput drop or a latency rise.
    let worsening = if m.higher_is_better() { -delta } else { delta };
    let beyond = worsening > a.max_worsening;
    let side = if test == Test::Bootstrap {
        "history"
    } else {
        "baseline"
    };
    let mut detail = format!(
        "{} {} vs {side} {} ({:+.1}%, allowed {})",
        m.name,
        m.show(c),
        m.show(b),
        delta * 100.0,
        a.text
    );
    let significant = match test {
        Test::Separated => separated(&m, &cur, &base),
        Test::Bootstrap => significant(&m, &cur, &base, &mut detail),
    };
    if beyond && !significant {
        detail.push_str("; within the run-to-run spread, not called a regression");
    }
    Check {
        metric: m,
        value: Some(c),
        threshold: Some(format!("{side} {}", a.text)),
        baseline: Some(b),
        delta: Some(delta),
        verdict: if beyond && significant {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        detail,
    }
}

/// With repeats on either side, whether every current run is worse than every baseline run (a
/// single run against a single baseline is taken as it is).
fn separated(m: &Metric, cur: &[f64], base: &[f64]) -> bool {
    if cur.len() == 1 && base.len() == 1 {
        return true;
    }
    if m.higher_is_better() {
        highest(cur) < lowest(base)
    } else {
        lowest(cur) > highest(base)
    }
}

fn lowest(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::MAX, f64::min)
}

fn highest(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::MIN, f64::max)
}

/// Whether the bootstrap interval of the change excludes zero on the worse side; the history's
/// band and the interval go into the detail.
fn significant(m: &Metric, cur: &[f64], base: &[f64], detail: &mut String) -> bool {
    let (lo, hi) = crate::stats::median_difference(cur, base);
    let b = median(base.to_vec());
    let band = (lowest(base), highest(base));
    let pct = |d: f64| if b != 0.0 { d / b * 100.0 } else { 0.0 };
    let _ = write!(
        detail,
        "; history band {}..{} over {} runs; 95% bootstrap interval of the change {:+.1}%..{:+.1}% \
         (difference of medians, {} resamples, seed {})",
        m.show(band.0),
        m.show(band.1),
        base.len(),
        pct(lo),
        pct(hi),
        crate::stats::RESAMPLES,
        crate::stats::SEED
    );
    if m.higher_is_better() {
        hi < 0.0
    } else {
        lo > 0.0
    }
}
