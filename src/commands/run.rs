//! `kbench run`: one scenario (or a sweep of its `[matrix]`, or its capacity search), its
//! summary, charts and gate.

use std::io::Write;

use anyhow::Context as _;

use super::capacity::capacity_search;
use super::history::Against;
use super::metrics::{bind_metrics, hold_metrics};
use super::properties::properties_of;
use super::sweep::sweep_run;
use super::{load, read_plain};
use crate::cli::RunArgs;
use crate::event::EventKind;
use crate::live::metrics::Metrics;
use crate::orchestrate::{run_one, write_charts, RunHow};
use crate::result::{self, RunResult, ScenarioInfo};
use crate::scenario::{self, InputError};
use crate::signal::Interrupts;
use crate::{capacity, exit, plan, report, run};
use std::sync::Arc;

pub(crate) async fn cmd_run(args: RunArgs) -> anyhow::Result<i32> {
    let (loaded, info) = load(&args.scenario)?;
    let cells = loaded.cells;
    let metrics = match args.dry_run {
        true => None,
        false => bind_metrics(&args.metrics, &cells[0].scenario, &args.scenario)?,
    };
    let flags = args.metrics.clone();
    let code = run_cells(args, cells, info, metrics.clone()).await;
    hold_metrics(metrics, &flags).await;
    code
}

/// A dry run's plan, a sweep, a capacity search, or one run.
async fn run_cells(
    args: RunArgs,
    cells: Vec<scenario::Cell>,
    info: ScenarioInfo,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<i32> {
    let exp = cells[0].scenario.experiment.clone().unwrap_or_default();
    let runs = plan::plan(&cells, &exp);
    let opts = run_opts(&args)?;
    // An external engine is built and accepts the configuration before any load (exit 2).
    let resolved = super::check_engines(&cells)?;
    if args.dry_run {
        print!("{}", report::plan::runs(&runs, &exp));
        if let [one] = runs.as_slice() {
            print!(
                "{}",
                report::plan::run_plan(&plan::RunPlan::build(&one.scenario, opts.shard))
            );
            match &resolved {
                Some(r) => {
                    println!("\nclient configuration:");
                    print!("{}", super::engines::engine_properties(&one.scenario, r));
                }
                None => {
                    println!("\nlibrdkafka properties:");
                    print!("{}", properties_of(&one.scenario));
                }
            }
        }
        return Ok(exit::OK);
    }
    // Read the baseline before the load, so a bad file fails fast (exit 2).
    let baseline = read_plain(&args.gate.baseline)?;
    let sweep = runs.len() > 1 || args.resume.is_some();
    let history = cells
        .iter()
        .any(|c| super::history::path_for(&args.gate, &c.scenario).is_some());
    if history && (sweep || opts.shard.is_some() || cells[0].scenario.capacity.is_some()) {
        anyhow::bail!(InputError {
            location: args.scenario.location(),
            key: Some("history".into()),
            message: "a run history records plain runs and their repeats, not sweeps, capacity \
                      searches or shards (a shard holds part of the load)"
                .into(),
        });
    }
    if cells[0].scenario.load.repeats > 1 && opts.shard.is_some() {
        anyhow::bail!(InputError {
            location: args.scenario.location(),
            key: Some("load.repeats".into()),
            message: "repeats one whole run; a shard is part of one (repeat the sharded run \
                      instead)"
                .into(),
        });
    }
    if sweep {
        if opts.shard.is_some() {
            anyhow::bail!(InputError {
                location: args.scenario.location(),
                key: Some("matrix".into()),
                message: "--shard applies to plain runs, not sweeps".into(),
            });
        }
        return sweep_run(&args, &runs, &exp, &info, &baseline, metrics).await;
    }
    let s = cells
        .into_iter()
        .next()
        .map(|c| c.scenario)
        .context("a scenario has one cell")?;
    if s.capacity.is_some() {
        let gate = capacity::drive::CapacityGate::default();
        return capacity_search(s, info, &args.out, args.quiet, gate, metrics).await;
    }
    let interrupts = Interrupts::listen();
    let progress = !args.quiet && !args.json;
    let (result, dir) = if s.load.repeats > 1 {
        run_repeats(&s, &args, info, &interrupts, opts, metrics.as_ref()).await?
    } else {
        let how = RunHow {
            opts,
            progress,
            metrics: metrics.as_ref(),
            ..RunHow::under(&args.out, info, &interrupts)
        };
        run_one(&s, how).await?
    };
    report_and_judge(&args, &s, result, &dir, baseline)
}

/// After a run: its charts and summary, the history (judged against, then added to), and the
/// gate's exit code.
fn report_and_judge(
    args: &RunArgs,
    s: &scenario::Scenario,
    result: RunResult,
    dir: &std::path::Path,
    baseline: Vec<RunResult>,
) -> anyhow::Result<i32> {
    if !args.no_charts {
        write_charts(&result, dir);
    }
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
    } else if !args.quiet {
        print!("{}", report::terminal::summary(&result));
        println!("  result     {}", dir.join("result.json").display());
    }
    let quiet = args.quiet || args.json;
    // The history is read for this run's comparison before the run is added to it; a file that
    // is not a history is exit 2, with the result already written.
    let history = super::history::path_for(&args.gate, s);
    let kept = match &history {
        Some(path) => Some(super::history::keep(path, &result, &args.gate, quiet)?),
        None => None,
    };
    if let Some(code) = failed(&result) {
        return Ok(code);
    }
    let against = match kept {
        Some(h) if baseline.is_empty() => h,
        _ => Against::baseline(baseline),
    };
    if s.gate.is_empty() && against.runs.is_empty() && history.is_none() {
        return Ok(exit::OK);
    }
    if !quiet {
        println!();
    }
    super::gate::judge(&[result], &against, &s.gate, &s.name, &args.gate, quiet)
}

/// `load.repeats` above 1: the scenario that many times in a row, each repeat a whole run in
/// `repeat-K/` of one directory, then the combined result (`result::repeats`) written there. An
/// interrupt ends the repeats; what ran is combined.
async fn run_repeats(
    s: &scenario::Scenario,
    args: &RunArgs,
    info: ScenarioInfo,
    interrupts: &Interrupts,
    opts: run::RunOpts,
    metrics: Option<&Arc<Metrics>>,
) -> anyhow::Result<(RunResult, std::path::PathBuf)> {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let dir = result::run_dir(&args.out, &now, &s.name);
    let mut done = Vec::new();
    for k in 1..=s.load.repeats {
        if !args.quiet && !args.json {
            println!("repeat {k} of {}", s.load.repeats);
        }
        let name = format!("repeat-{k}");
        let how = RunHow {
            opts,
            progress: !args.quiet && !args.json,
            metrics,
            dir: crate::orchestrate::Dir::Exactly(dir.join(&name)),
            ..RunHow::under(&args.out, info.clone(), interrupts)
        };
        let (r, _) = run_one(s, how).await?;
        let stop = r.status == result::Status::Interrupted;
        done.push((r, name));
        if stop {
            break;
        }
    }
    let combined = result::repeats::combine(done);
    combined
        .write(&dir)
        .with_context(|| format!("writing the result into {}", dir.display()))?;
    Ok((combined, dir))
}

/// The exit code of a run that was written and reported but is not a result to gate: counts
/// that do not add up are kbench's failure (1), a cluster that could not serve as asked (no
/// transactions on it) is the cluster's (3), an interrupted run is 130.
fn failed(result: &RunResult) -> Option<i32> {
    for (kind, code) in [
        (EventKind::Accounting, exit::FAILURE),
        (EventKind::TransactionsStopped, exit::BROKER),
    ] {
        if let Some(e) = result.events.iter().find(|e| e.kind == kind) {
            eprintln!("Error: {}", e.detail);
            return Some(code);
        }
    }
    if result.status == result::Status::Interrupted {
        return Some(exit::INTERRUPTED);
    }
    let repeats = result.repeats.iter().flat_map(|r| &r.runs);
    if let Some(bad) = repeats.into_iter().find(|f| !f.valid) {
        eprintln!(
            "Error: {}: its counts do not add up (see its result.json)",
            bad.dir
        );
        return Some(exit::FAILURE);
    }
    None
}

/// Shard and start time from the command line (and Kubernetes' JOB_COMPLETION_INDEX).
fn run_opts(args: &RunArgs) -> Result<run::RunOpts, InputError> {
    let bad = |message: String| InputError {
        location: "command line".into(),
        key: None,
        message,
    };
    let shard = match (args.shard, args.shards) {
        (Some((index, count)), _) => Some(plan::ShardSpec { index, count }),
        (None, Some(count)) => {
            let index: u32 = std::env::var("JOB_COMPLETION_INDEX")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| bad("--shards N (or KBENCH_SHARDS) needs JOB_COMPLETION_INDEX, or give --shard I/N".into()))?;
            if count == 0 || index >= count {
                return Err(bad(format!(
                    "shard index {index} is not below the shard count {count}"
                )));
            }
            Some(plan::ShardSpec { index, count })
        }
        (None, None) => None,
    };
    let start_at = match (args.start_at, args.start_after) {
        (Some(t), _) => Some(t),
        (None, Some(d)) => Some(std::time::SystemTime::now() + d.0),
        (None, None) => None,
    };
    Ok(run::RunOpts { shard, start_at })
}
