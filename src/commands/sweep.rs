//! A sweep from `kbench run`: every cell of the `[matrix]` (and its repeats), ranked, and gated
//! when it is one configuration repeated.

use std::path::Path;

use crate::cli::RunArgs;
use crate::live::metrics::Metrics;
use crate::orchestrate::LiveRunner;
use crate::result::{RunResult, ScenarioInfo};
use crate::scenario::{self, InputError};
use crate::signal::Interrupts;
use crate::{exit, plan, report, sweep};
use std::sync::Arc;

pub(super) async fn sweep_run(
    args: &RunArgs,
    runs: &[plan::RunSpec],
    exp: &scenario::Experiment,
    info: &ScenarioInfo,
    baseline: &[RunResult],
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<i32> {
    if runs.len() > exp.max_runs as usize && !args.yes {
        anyhow::bail!(InputError {
            location: args.scenario.location(),
            key: Some("experiment.max_runs".into()),
            message: format!(
                "the plan has {} runs, more than max_runs = {}: check it with --dry-run, then pass --yes",
                runs.len(),
                exp.max_runs
            ),
        });
    }
    let name = runs[0].scenario.name.clone();
    let gate_spec = runs[0].scenario.gate.clone();
    let cells = runs.iter().map(|r| r.cell).max().unwrap_or(0) + 1;
    let gated = !gate_spec.is_empty() || !args.gate.baseline.is_empty();
    if gated && cells > 1 {
        anyhow::bail!(InputError {
            location: args.scenario.location(),
            key: Some("gate".into()),
            message: "a gate judges one configuration (with repeats), not a [matrix] sweep: gate the cell you ship".into(),
        });
    }
    let interrupts = Interrupts::listen();
    let opts = sweep::run::SweepOptions {
        out: &args.out,
        resume: args.resume.as_deref(),
    };
    let mut runner = LiveRunner {
        info: info.clone(),
        interrupts: &interrupts,
        charts: !args.no_charts,
        quiet: args.quiet,
        metrics,
    };
    let outcome = sweep::run::run(&name, runs, exp, opts, &interrupts, &mut runner).await?;
    report::write_sweep_report(&outcome.summary, outcome.comparison.as_ref(), &outcome.dir)?;
    if !args.quiet {
        println!();
        print!(
            "{}",
            crate::report::table::columns(&report::sweep::ranked_rows(&outcome.summary), 1, "")
        );
        println!("\nsweep written to {}", outcome.dir.display());
    }
    if outcome.interrupted {
        return Ok(exit::INTERRUPTED);
    }
    // Written and reported, but a run whose counts do not add up is kbench's failure (1).
    let invalid: Vec<&str> = outcome
        .summary
        .cells
        .iter()
        .flat_map(|c| c.invalid.iter().map(String::as_str))
        .collect();
    if let Some(first) = invalid.first() {
        eprintln!(
            "Error: {} run(s) of the sweep are invalid (not ranked): {first}",
            invalid.len()
        );
        return Ok(exit::FAILURE);
    }
    if !gated {
        return Ok(exit::OK);
    }
    // Repeats of one configuration: the gate compares medians, noise-aware (see gate).
    let current: Vec<RunResult> = outcome
        .summary
        .cells
        .iter()
        .flat_map(|c| c.runs.iter())
        .map(|p| RunResult::read(Path::new(p)))
        .collect::<Result<_, _>>()?;
    let quiet = args.quiet || args.json;
    if !quiet {
        println!();
    }
    let against = super::history::Against::baseline(baseline.to_vec());
    super::gate::judge(&current, &against, &gate_spec, &name, &args.gate, quiet)
}
