//! The commands behind the CLI: each parses what it needs, calls the pipeline stages, prints,
//! and returns the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{
    BrokerArgs, CapacityArgs, CompareArgs, GateArgs, MergeArgs, ReportArgs, RunArgs, ValidateArgs,
};
use crate::live::metrics::Metrics;
use crate::orchestrate::{run_into, Dir, LiveRunner};
use crate::result::run_dir;
use crate::result::{self, RunResult, ScenarioInfo};
use crate::scenario::{self, InputError, Scenario};
use crate::signal::Interrupts;
use crate::{broker, capacity, compare, exit, gate, merge, plan, report, run, sweep};

mod input;
mod live;

pub(crate) use input::load;
pub(crate) use live::cmd_completions;
use live::{bind_metrics, hold_metrics, properties_of};
use std::sync::Arc;

async fn sweep_run(
    args: &RunArgs,
    runs: &[plan::RunSpec],
    exp: &scenario::Experiment,
    info: &ScenarioInfo,
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
    // Read the baseline before the load, so a bad file fails fast (exit 2).
    let baseline = read_plain(&args.gate.baseline)?;
    let interrupts = Interrupts::listen();
    let opts = sweep::run::SweepOptions {
        out: &args.out,
        resume: args.resume.as_deref(),
        quiet: args.quiet,
    };
    let mut runner = LiveRunner {
        info: info.clone(),
        interrupts: &interrupts,
        charts: !args.no_charts,
        metrics,
    };
    let outcome = sweep::run::run(&name, runs, exp, opts, &interrupts, &mut runner).await?;
    if let Some(c) = &outcome.comparison {
        report::write_sweep_report(&outcome.summary, c, &outcome.dir)?;
    }
    if !args.quiet {
        println!();
        print!(
            "{}",
            crate::table::columns(&sweep::ranked_rows(&outcome.summary), 1, "")
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
    if !args.quiet && !args.json {
        println!();
    }
    let outputs = gate::apply::GateOutputs {
        summary: args.gate.summary.clone(),
        junit: args.gate.junit.clone(),
        quiet: args.quiet || args.json,
    };
    gate::apply::apply(&current, &baseline, &gate_spec, &name, &outputs)
}

pub(crate) fn cmd_validate(args: ValidateArgs) -> anyhow::Result<i32> {
    let cells = load(&args.scenario)?.0.cells;
    if args.properties {
        print!("{}", properties_of(&cells[0].scenario));
        return Ok(exit::OK);
    }
    let args = args.scenario;
    let shown = scenario::redact(&cells[0].scenario);
    if cells.len() > 1 {
        println!(
            "{}: ok, a sweep of {} cells (every cell checked); the first cell resolves to:",
            args.location(),
            cells.len()
        );
    } else {
        println!("{}: ok", args.location());
    }
    println!(
        "{}",
        toml::to_string_pretty(&shown).context("rendering the scenario")?
    );
    Ok(exit::OK)
}

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

async fn run_cells(
    args: RunArgs,
    cells: Vec<scenario::Cell>,
    info: ScenarioInfo,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<i32> {
    let exp = cells[0].scenario.experiment.clone().unwrap_or_default();
    let runs = plan::plan(&cells, &exp);
    let opts = run_opts(&args)?;
    if args.dry_run {
        print!("{}", plan::describe(&runs, &exp));
        if let [one] = runs.as_slice() {
            print!(
                "{}",
                plan::RunPlan::build(&one.scenario, opts.shard).describe()
            );
            println!("\nlibrdkafka properties:");
            print!("{}", properties_of(&one.scenario));
        }
        return Ok(exit::OK);
    }
    if runs.len() > 1 || args.resume.is_some() {
        if opts.shard.is_some() {
            anyhow::bail!(InputError {
                location: args.scenario.location(),
                key: Some("matrix".into()),
                message: "--shard applies to plain runs, not sweeps".into(),
            });
        }
        return sweep_run(&args, &runs, &exp, &info, metrics).await;
    }
    let s = cells
        .into_iter()
        .next()
        .map(|c| c.scenario)
        .context("a scenario has one cell")?;
    if s.capacity.is_some() {
        return capacity_search(
            s,
            info,
            &args.out,
            args.quiet,
            capacity::drive::CapacityGate::default(),
            metrics,
        )
        .await;
    }
    // Read the baseline before the load, so a bad file fails fast (exit 2).
    let baseline = read_plain(&args.gate.baseline)?;
    let interrupts = Interrupts::listen();
    let (result, dir) = run_into(
        &s,
        info,
        Dir::Under(&args.out),
        &interrupts,
        !args.quiet && !args.json,
        opts,
        metrics.as_ref(),
    )
    .await?;
    if !args.no_charts {
        // The result is already on disk: a drawing failure is reported, not fatal.
        if let Err(e) = report::write_run_report(&result, &dir) {
            eprintln!("warning: charts for {}: {e:#}", dir.display());
        }
    }
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
    } else if !args.quiet {
        print!("{}", report::terminal::summary(&result));
        println!("  result     {}", dir.join("result.json").display());
    }
    // Written and reported, but a run whose counts do not add up is kbench's failure (1), and one
    // the cluster could not serve as asked (no transactions on it) is the cluster's (3).
    for (kind, code) in [
        (run::ACCOUNTING_EVENT, exit::FAILURE),
        (run::TXN_BROKEN_EVENT, exit::BROKER),
    ] {
        if let Some(e) = result.events.iter().find(|e| e.kind == kind) {
            eprintln!("Error: {}", e.detail);
            return Ok(code);
        }
    }
    if result.status == result::Status::Interrupted {
        return Ok(exit::INTERRUPTED);
    }
    if s.gate.is_empty() && baseline.is_empty() {
        return Ok(exit::OK);
    }
    if !args.quiet && !args.json {
        println!();
    }
    let outputs = gate::apply::GateOutputs {
        summary: args.gate.summary,
        junit: args.gate.junit,
        quiet: args.quiet || args.json,
    };
    gate::apply::apply(&[result], &baseline, &s.gate, &s.name, &outputs)
}

pub(crate) fn cmd_merge(args: MergeArgs) -> anyhow::Result<i32> {
    // A merged result found among the shards (an earlier merge) is not a shard: skip it.
    let results: Vec<(String, RunResult)> = report::read_results(&args.results)?
        .into_iter()
        .filter(|(_, r)| r.merge.is_none())
        .map(|(p, r)| (p.display().to_string(), r))
        .collect();
    let merged = merge::merge(&results, args.allow_partial)?;
    let path = merged
        .write(&args.out)
        .with_context(|| format!("writing the merged result into {}", args.out.display()))?;
    if let Err(e) = report::write_run_report(&merged, &args.out) {
        eprintln!("warning: charts for {}: {e:#}", args.out.display());
    }
    print!("{}", report::terminal::summary(&merged));
    println!("  result     {}", path.display());
    Ok(exit::OK)
}

pub(crate) async fn cmd_capacity(args: CapacityArgs) -> anyhow::Result<i32> {
    let (loaded, info) = load(&args.scenario)?;
    let s = loaded.scenario();
    if s.capacity.is_none() {
        anyhow::bail!(InputError {
            location: args.scenario.location(),
            key: Some("capacity".into()),
            message: "the scenario has no [capacity] section (see scenarios/capacity.toml)".into(),
        });
    }
    // Read the baseline before searching, so a bad file fails fast (exit 2).
    let baseline = args
        .baseline
        .as_deref()
        .map(capacity::drive::read_answer)
        .transpose()?;
    let gate = capacity::drive::CapacityGate {
        floor: args.floor,
        baseline,
        max_drop: args.max_drop,
    };
    let metrics = bind_metrics(&args.metrics, &s, &args.scenario)?;
    let code = capacity_search(s, info, &args.out, args.quiet, gate, metrics.clone()).await;
    hold_metrics(metrics, &args.metrics).await;
    code
}

async fn capacity_search(
    s: Scenario,
    info: ScenarioInfo,
    out: &Path,
    quiet: bool,
    gate: capacity::drive::CapacityGate,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<i32> {
    let interrupts = Interrupts::listen();
    let (report, dir) =
        crate::orchestrate::capacity(&s, info, out, &interrupts, quiet, metrics).await?;
    let a = &report.answer;
    println!("{}", a.line);
    if !quiet {
        println!("  written to {}", dir.display());
    }
    if a.interrupted {
        return Ok(exit::INTERRUPTED);
    }
    if a.limited_by_generator || a.invalid {
        return Ok(exit::INVALID);
    }
    if let Err(msg) = capacity::drive::check_gate(a, &gate) {
        println!("FAIL: {msg}");
        return Ok(exit::GATE_FAILED);
    }
    Ok(exit::OK)
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

/// Results from files or directories, without their paths.
fn read_plain(paths: &[PathBuf]) -> anyhow::Result<Vec<RunResult>> {
    Ok(report::read_results(paths)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

pub(crate) fn cmd_gate(args: GateArgs) -> anyhow::Result<i32> {
    let current = read_plain(&args.results)?;
    let baseline = read_plain(&args.gate.baseline)?;
    let spec = match &args.config {
        Some(path) => {
            plan::load(plan::Origin::File(path), &[], None)?
                .scenario()
                .gate
        }
        None => current[0].spec.gate.clone(),
    };
    if spec.thresholds.is_empty() && baseline.is_empty() {
        anyhow::bail!(InputError {
            location: args
                .config
                .as_ref()
                .map_or("the result's spec".into(), |p| p.display().to_string()),
            key: Some("gate".into()),
            message: "nothing to judge: no [gate] thresholds and no --baseline".into(),
        });
    }
    let outputs = gate::apply::GateOutputs {
        summary: args.gate.summary,
        junit: args.gate.junit,
        quiet: false,
    };
    gate::apply::apply(
        &current,
        &baseline,
        &spec,
        &current[0].scenario.name,
        &outputs,
    )
}

pub(crate) fn cmd_report(args: ReportArgs) -> anyhow::Result<i32> {
    for (path, r) in report::read_results(&args.results)? {
        let dir = path.parent().unwrap_or(Path::new("."));
        let files = report::write_run_report(&r, dir)?;
        println!("{}: {} files", dir.display(), files.len());
        for f in files {
            println!("  {}", f.display());
        }
    }
    Ok(exit::OK)
}

pub(crate) fn cmd_compare(args: CompareArgs) -> anyhow::Result<i32> {
    let results = report::read_results(&args.results)?;
    if results.len() < 2 {
        anyhow::bail!(result::ResultError::Invalid {
            path: args.results[0].display().to_string(),
            detail: "a comparison needs at least two results".into(),
        });
    }
    let c = compare::Comparison::new(
        results
            .into_iter()
            .map(|(p, r)| (p.display().to_string(), r))
            .collect(),
    );
    print!("{}", compare::terminal(&c));
    let out = args.out.unwrap_or_else(|| {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        run_dir(Path::new("reports"), &now, "compare")
    });
    let files = report::write_comparison_report(&c, &out)?;
    println!(
        "\ncomparison written to {} ({} files)",
        out.display(),
        files.len()
    );
    Ok(exit::OK)
}

pub(crate) async fn cmd_broker(args: BrokerArgs) -> anyhow::Result<i32> {
    let embedded = broker::Embedded::start(args.brokers)?;
    for (name, partitions) in &args.topics {
        embedded.create_topic(name, *partitions, args.brokers.min(3))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", embedded.bootstrap())?;
        out.flush()?;
    }
    eprintln!(
        "embedded broker: {} brokers at {}; topics: {}; Ctrl-C to stop",
        args.brokers,
        embedded.bootstrap(),
        if args.topics.is_empty() {
            "none (auto-created with 4 partitions on first use)".to_string()
        } else {
            args.topics
                .iter()
                .map(|(n, p)| format!("{n}:{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let interrupts = Interrupts::listen();
    match args.seconds {
        Some(secs) => {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {}
                _ = interrupts.at_least(1) => {}
            }
        }
        None => interrupts.at_least(1).await,
    }
    drop(embedded);
    Ok(exit::OK)
}

/// The exit code for an error, from the first typed cause in its chain.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.is::<scenario::InputError>()
            || cause.is::<result::ResultError>()
            || cause.is::<merge::MergeError>()
        {
            return exit::BAD_INPUT;
        }
        if cause.is::<broker::BrokerError>() {
            return exit::BROKER;
        }
    }
    exit::FAILURE
}
