//! kbench: load generation and benchmarking for Kafka producers.
//!
//! The pipeline, one module per stage, each handing plain data to the next:
//!
//! ```text
//! cli -> scenario (file + --set -> validated Scenario) -> run (broker, producers, workers)
//!     -> recorder (histograms, counters, intervals) -> result (versioned JSON) -> report
//! ```
//!
//! `main.rs` only builds the runtime and calls [`run`]; everything else is here so tests can drive
//! it directly.

pub mod broker;
pub mod capacity;
pub mod cli;
pub mod compare;
pub mod fault;
pub mod gate;
pub mod merge;
pub mod pacing;
pub mod payload;
pub mod plan;
pub mod producer;
pub mod recorder;
pub mod report;
pub mod result;
pub mod run;
pub mod scenario;
pub mod signal;
pub mod sweep;
pub mod units;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use cli::{
    BrokerArgs, CapacityArgs, Cli, Command, CompareArgs, GateArgs, MergeArgs, ReportArgs, RunArgs,
    ScenarioArgs,
};
use result::{RunResult, ScenarioInfo};
use scenario::{Scenario, ScenarioError};
use signal::Interrupts;

/// Process exit codes (documented in README.md).
pub mod exit {
    /// The run completed (and passed its gate, when there is one).
    pub const OK: i32 = 0;
    /// Anything unexpected.
    pub const FAILURE: i32 = 1;
    /// A gate check failed (same code as an unexpected failure: CI fails either way).
    pub const GATE_FAILED: i32 = 1;
    /// Bad input: scenario, `--set`, command line, result file.
    pub const BAD_INPUT: i32 = 2;
    /// The cluster could not be used: unreachable, topic missing, client creation failed.
    pub const BROKER: i32 = 3;
    /// The run cannot be judged: the load generator itself fell behind, or it was interrupted
    /// under a gate.
    pub const INVALID: i32 = 4;
    /// Interrupted by Ctrl-C / SIGTERM (the partial result was written).
    pub const INTERRUPTED: i32 = 130;
}

/// The exit code for an error, from the first typed cause in its chain.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.is::<ScenarioError>()
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

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => cmd_run(args).await,
        Command::Validate(args) => cmd_validate(args),
        Command::Report(args) => cmd_report(args),
        Command::Compare(args) => cmd_compare(args),
        Command::Gate(args) => cmd_gate(args),
        Command::Capacity(args) => cmd_capacity(args).await,
        Command::Merge(args) => cmd_merge(args),
        Command::Broker(args) => cmd_broker(args).await,
    }
}

/// Loads a scenario's cells (one without `[matrix]`) with the command line's overrides.
pub fn load_cells(
    args: &ScenarioArgs,
) -> Result<(Vec<scenario::Cell>, ScenarioInfo), ScenarioError> {
    let overrides = overrides_of(args);
    let (cells, _source) = scenario::load_cells(&args.scenario, &overrides)?;
    let s = &cells[0].scenario;
    let info = ScenarioInfo {
        name: s.name.clone(),
        file: Some(args.scenario.display().to_string()),
        description: s.description.clone(),
        overrides: overrides.iter().map(|o| redact_override(o)).collect(),
    };
    Ok((cells, info))
}

fn overrides_of(args: &ScenarioArgs) -> Vec<String> {
    let mut overrides = args.set.clone();
    if let Some(b) = &args.bootstrap {
        overrides.push(format!("cluster.bootstrap={b}"));
    }
    overrides
}

async fn sweep_run(
    args: &RunArgs,
    runs: &[plan::RunSpec],
    exp: &scenario::Experiment,
    info: &ScenarioInfo,
) -> anyhow::Result<i32> {
    if runs.len() > exp.max_runs as usize && !args.yes {
        anyhow::bail!(ScenarioError {
            location: args.scenario.scenario.display().to_string(),
            key: Some("experiment.max_runs".into()),
            message: format!(
                "the plan has {} runs, more than max_runs = {}: check it with --dry-run, then pass --yes",
                runs.len(),
                exp.max_runs
            ),
        });
    }
    let name = runs[0].scenario.name.clone();
    let interrupts = Interrupts::listen();
    let opts = sweep::run::SweepOptions {
        out: &args.out,
        resume: args.resume.as_deref(),
        charts: !args.no_charts,
        quiet: args.quiet,
    };
    let outcome = sweep::run::run(&name, runs, exp, info, opts, &interrupts).await?;
    if !args.quiet {
        println!();
        print!(
            "{}",
            report::terminal::columns(&sweep::ranked_rows(&outcome.summary), 1, "")
        );
        println!("\nsweep written to {}", outcome.dir.display());
    }
    Ok(if outcome.interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

/// Loads a scenario with the command line's overrides.
pub fn load_scenario(args: &ScenarioArgs) -> Result<(Scenario, ScenarioInfo), ScenarioError> {
    let overrides = overrides_of(args);
    let (scenario, _source) = scenario::load(&args.scenario, &overrides)?;
    let info = ScenarioInfo {
        name: scenario.name.clone(),
        file: Some(args.scenario.display().to_string()),
        description: scenario.description.clone(),
        overrides: overrides.iter().map(|o| redact_override(o)).collect(),
    };
    Ok((scenario, info))
}

/// `key=value` with the value hidden when the key names a secret.
fn redact_override(o: &str) -> String {
    match o.split_once('=') {
        Some((k, _)) if scenario::render::is_secret(k) => format!("{k}=***"),
        _ => o.to_string(),
    }
}

fn cmd_validate(args: ScenarioArgs) -> anyhow::Result<i32> {
    let (cells, _) = load_cells(&args)?;
    let shown = scenario::redact(&cells[0].scenario);
    if cells.len() > 1 {
        println!(
            "{}: ok, a sweep of {} cells (every cell checked); the first cell resolves to:",
            args.scenario.display(),
            cells.len()
        );
    } else {
        println!("{}: ok", args.scenario.display());
    }
    println!(
        "{}",
        toml::to_string_pretty(&shown).context("rendering the scenario")?
    );
    Ok(exit::OK)
}

async fn cmd_run(args: RunArgs) -> anyhow::Result<i32> {
    let (cells, info) = load_cells(&args.scenario)?;
    let exp = cells[0].scenario.experiment.clone().unwrap_or_default();
    let runs = plan::plan(&cells, &exp);
    if args.dry_run {
        print!("{}", plan::describe(&runs, &exp));
        return Ok(exit::OK);
    }
    let opts = run_opts(&args)?;
    if runs.len() > 1 || args.resume.is_some() {
        if opts.shard.is_some() {
            anyhow::bail!(ScenarioError {
                location: args.scenario.scenario.display().to_string(),
                key: Some("matrix".into()),
                message: "--shard applies to plain runs, not sweeps".into(),
            });
        }
        return sweep_run(&args, &runs, &exp, &info).await;
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

fn cmd_merge(args: MergeArgs) -> anyhow::Result<i32> {
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

async fn cmd_capacity(args: CapacityArgs) -> anyhow::Result<i32> {
    let (s, info) = load_scenario(&args.scenario)?;
    if s.capacity.is_none() {
        anyhow::bail!(ScenarioError {
            location: args.scenario.scenario.display().to_string(),
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
    capacity_search(s, info, &args.out, args.quiet, gate).await
}

async fn capacity_search(
    s: Scenario,
    info: ScenarioInfo,
    out: &Path,
    quiet: bool,
    gate: capacity::drive::CapacityGate,
) -> anyhow::Result<i32> {
    let interrupts = Interrupts::listen();
    let (report, dir) = capacity::drive::run(&s, &info, out, &interrupts, quiet).await?;
    let a = &report.answer;
    println!("{}", a.line);
    if !quiet {
        println!("  written to {}", dir.display());
    }
    if a.interrupted {
        return Ok(exit::INTERRUPTED);
    }
    if a.limited_by_generator {
        return Ok(exit::INVALID);
    }
    if let Err(msg) = capacity::drive::check_gate(a, &gate) {
        println!("FAIL: {msg}");
        return Ok(exit::GATE_FAILED);
    }
    Ok(exit::OK)
}

/// Shard and start time from the command line (and Kubernetes' JOB_COMPLETION_INDEX).
fn run_opts(args: &RunArgs) -> Result<run::RunOpts, ScenarioError> {
    let bad = |message: String| ScenarioError {
        location: "command line".into(),
        key: None,
        message,
    };
    let shard = match (args.shard, args.shards) {
        (Some((index, count)), _) => Some(result::ShardSpec { index, count }),
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
            Some(result::ShardSpec { index, count })
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

fn cmd_gate(args: GateArgs) -> anyhow::Result<i32> {
    let current = read_plain(&args.results)?;
    let baseline = read_plain(&args.gate.baseline)?;
    let spec = match &args.config {
        Some(path) => scenario::load(path, &[])?.0.gate,
        None => current[0].spec.gate.clone(),
    };
    if spec.thresholds.is_empty() && baseline.is_empty() {
        anyhow::bail!(ScenarioError {
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

/// Runs one scenario and writes its result under `out`; returns the result and its directory.
pub async fn run_scenario(
    s: &Scenario,
    info: ScenarioInfo,
    out: &Path,
    interrupts: &Interrupts,
    progress: bool,
) -> anyhow::Result<(RunResult, PathBuf)> {
    run_into(
        s,
        info,
        Dir::Under(out),
        interrupts,
        progress,
        run::RunOpts::default(),
    )
    .await
}

/// Where a run's result goes.
pub enum Dir<'a> {
    /// `<out>/<timestamp>-<name>`.
    Under(&'a Path),
    /// Exactly this directory.
    Exactly(PathBuf),
}

/// Runs one scenario and writes its result into `dir`; returns the result and its directory.
pub async fn run_into(
    s: &Scenario,
    info: ScenarioInfo,
    dir: Dir<'_>,
    interrupts: &Interrupts,
    progress: bool,
    opts: run::RunOpts,
) -> anyhow::Result<(RunResult, PathBuf)> {
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut bar = None;
    let output = run::execute(s, &opts, interrupts, |live| {
        bar = report::progress::Progress::start(live, progress);
    })
    .await;
    if let Some(b) = bar {
        b.finish();
    }
    let output = output?;
    let result = result::build::build(s, info, started_at.clone(), output);
    let dir = match dir {
        Dir::Under(out) => match opts.shard {
            // Shards of one run share an output directory: the index keeps them apart.
            Some(sh) => run_dir(
                out,
                &started_at,
                &format!("{}-shard-{}-of-{}", s.name, sh.index, sh.count),
            ),
            None => run_dir(out, &started_at, &s.name),
        },
        Dir::Exactly(d) => d,
    };
    result
        .write(&dir)
        .with_context(|| format!("writing the result into {}", dir.display()))?;
    Ok((result, dir))
}

fn cmd_report(args: ReportArgs) -> anyhow::Result<i32> {
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

fn cmd_compare(args: CompareArgs) -> anyhow::Result<i32> {
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

/// `<out>/<20261121T194033Z>-<name>`, with a numeric suffix if that exists already.
pub fn run_dir(out: &Path, started_at: &str, name: &str) -> PathBuf {
    let stamp: String = started_at
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = out.join(format!("{stamp}-{name}"));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}

async fn cmd_broker(args: BrokerArgs) -> anyhow::Result<i32> {
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
