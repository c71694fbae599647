//! Writers of a plan, for `kbench run --dry-run`: the runs of a sweep with their estimates, and
//! one run's plan in words (instances, workers, seeds, schedule, phases, faults).

use std::fmt::Write;

use crate::plan::{estimate, total_estimate, RunPlan, RunSpec};
use crate::scenario::{Experiment, Order};

/// The `--dry-run` table.
pub fn runs(runs: &[RunSpec], exp: &Experiment) -> String {
    let mut out = String::new();
    let keys: Vec<&String> = runs
        .first()
        .map(|r| r.vars.iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let _ = write!(out, "{:>4}  {:>6}", "run", "repeat");
    for k in &keys {
        let _ = write!(out, "  {k}");
    }
    let _ = writeln!(out, "  estimate");
    for r in runs {
        let _ = write!(out, "{:>4}  {:>6}", r.index + 1, r.repeat);
        for ((k, v), key) in r.vars.iter().zip(&keys) {
            debug_assert_eq!(k, *key);
            let _ = write!(out, "  {v:>width$}", width = key.len());
        }
        let est =
            estimate(&r.scenario).map_or("?".to_string(), |d| format!("{:.0}s", d.as_secs_f64()));
        let _ = writeln!(out, "  {est}");
    }
    let total =
        total_estimate(runs, exp).map_or("unknown (a count at rate = max)".to_string(), |d| {
            let s = d.as_secs();
            format!("about {}m{:02}s", s / 60, s % 60)
        });
    let _ = writeln!(
        out,
        "{} runs ({} cells x {} repeats, {}), cooldown {}; estimated total {total}",
        runs.len(),
        runs.iter().map(|r| r.cell).max().map_or(0, |c| c + 1),
        exp.repeat,
        match exp.order {
            Order::Interleaved => "interleaved",
            Order::Grouped => "grouped",
        },
        exp.cooldown
    );
    out
}

/// The plan in words, for `--dry-run`.
pub fn run_plan(plan: &RunPlan) -> String {
    let mut out = String::new();
    let s = &plan.scenario;
    let shard = plan.shard.map_or(String::new(), |sh| {
        format!(" (shard {} of {})", sh.index, sh.count)
    });
    let _ = writeln!(
        out,
        "run plan{shard}: {} instance(s), {} worker(s) of {} in the whole run, {} mode",
        plan.instances.len(),
        plan.workers.len(),
        plan.total_workers(),
        s.producer.mode
    );
    let rate = plan
        .target_rate
        .map_or("rate = max (no schedule)".into(), |r| {
            format!("target {r:.1} msg/s over the measured window")
        });
    let _ = writeln!(out, "  schedule  {rate}, {} arrivals", s.load.arrivals);
    let count = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0}"));
    let _ = writeln!(
        out,
        "  planned   warm-up {} ({} messages), measured {} messages; stops sending at {:.3} s{}",
        s.load.warmup,
        count(plan.planned.warmup),
        count(plan.planned.measured),
        plan.stop.at.as_secs_f64(),
        if plan.stop.is_timeout {
            " (load.timeout)"
        } else {
            ""
        }
    );
    for (i, ((start, end), n)) in plan
        .phases
        .windows
        .iter()
        .zip(&plan.planned.phases)
        .enumerate()
    {
        let _ = writeln!(
            out,
            "  phase {i}   {:.3} s .. {:.3} s: {n:.0} messages",
            *start as f64 / 1e6,
            *end as f64 / 1e6
        );
    }
    let _ = writeln!(
        out,
        "  worker  instance  slot  seed                partition"
    );
    for w in &plan.workers {
        let _ = writeln!(
            out,
            "  {:>6}  {:>8}  {:>4}  {:#018x}  {:?}",
            w.global, w.instance, w.slot, w.seed, w.partition
        );
    }
    for f in &plan.faults {
        let _ = writeln!(
            out,
            "  fault     at {:.3} s: {:?} {}",
            f.at.as_secs_f64(),
            f.fault.action,
            if f.start { "starts" } else { "ends" }
        );
    }
    out
}
