//! `load.repeats`: a scenario run N times in a row, written as one result. Each repeat is a
//! whole run of its own (its `result.json` under `repeat-K/`); the combined result is the
//! representative repeat's (the one whose throughput is the median: the lower middle one for an
//! even count), with `repeats` beside it: every repeat's headline figures, and for throughput and
//! each corrected-latency percentile the median over the repeats with its 95% interval (a seeded
//! percentile bootstrap: `crate::stats`, its method and seed written here). An interval always
//! lies within the repeats' own lowest and highest value.

use serde::{Deserialize, Serialize};

use super::{RunResult, Status};
use crate::stats::{self, Interval};

/// Every repeat's figures and their medians' intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeats {
    /// `percentile bootstrap of the median, 95%`.
    pub method: String,
    pub resamples: u32,
    pub seed: u64,
    /// The repeat (from 1) the rest of the result is.
    pub representative: u32,
    /// In the order they ran.
    pub runs: Vec<RepeatFigures>,
    /// Acked msg/s in the window.
    pub throughput: Interval,
    /// Corrected latency, µs.
    pub p50_us: Interval,
    pub p90_us: Interval,
    pub p99_us: Interval,
    pub p999_us: Interval,
}

/// One repeat's headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatFigures {
    /// Its directory, relative to the combined result's.
    pub dir: String,
    pub msgs_per_sec: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// Lost of the scheduled (failed, unresolved, unsent), as the result's own `loss_rate`.
    pub loss_rate: f64,
    /// Completed, with counts that add up.
    pub valid: bool,
}

impl RepeatFigures {
    fn of(r: &RunResult, dir: String) -> RepeatFigures {
        let l = &r.latency_us.corrected;
        RepeatFigures {
            dir,
            msgs_per_sec: r.throughput.msgs_per_sec,
            p50_us: l.p50,
            p90_us: l.p90,
            p99_us: l.p99,
            p999_us: l.p999,
            sent: r.counts.sent,
            acked: r.counts.acked,
            failed: r.counts.failed,
            loss_rate: r.loss_rate,
            valid: r.status == Status::Completed && r.accounting_error().is_none(),
        }
    }
}

/// Combines the repeats (in the order they ran, each with its directory name; at least one)
/// into one result.
pub fn combine(repeats: Vec<(RunResult, String)>) -> RunResult {
    let runs: Vec<RepeatFigures> = repeats
        .iter()
        .map(|(r, dir)| RepeatFigures::of(r, dir.clone()))
        .collect();
    let interval = |f: fn(&RepeatFigures) -> f64| {
        stats::median_interval(&runs.iter().map(f).collect::<Vec<_>>())
    };
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].msgs_per_sec.total_cmp(&runs[b].msgs_per_sec));
    let middle = order[(order.len() - 1) / 2];
    let summary = Repeats {
        method: stats::METHOD.into(),
        resamples: stats::RESAMPLES,
        seed: stats::SEED,
        representative: middle as u32 + 1,
        throughput: interval(|f| f.msgs_per_sec),
        p50_us: interval(|f| f.p50_us as f64),
        p90_us: interval(|f| f.p90_us as f64),
        p99_us: interval(|f| f.p99_us as f64),
        p999_us: interval(|f| f.p999_us as f64),
        runs,
    };
    let interrupted = repeats.iter().any(|(r, _)| r.status == Status::Interrupted);
    let mut out = repeats
        .into_iter()
        .nth(middle)
        .map(|(r, _)| r)
        .expect("the middle repeat exists");
    if interrupted {
        out.status = Status::Interrupted;
    }
    out.repeats = Some(summary);
    out
}
