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
mod commands;
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

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use cli::{Cli, Command, ScenarioArgs};
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
        Command::Run(args) => commands::cmd_run(args).await,
        Command::Validate(args) => commands::cmd_validate(args),
        Command::Report(args) => commands::cmd_report(args),
        Command::Compare(args) => commands::cmd_compare(args),
        Command::Gate(args) => commands::cmd_gate(args),
        Command::Capacity(args) => commands::cmd_capacity(args).await,
        Command::Merge(args) => commands::cmd_merge(args),
        Command::Broker(args) => commands::cmd_broker(args).await,
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
    for x in &args.property {
        // Quoted, so the value stays a string (TOML would read `5` as a number, `true` as a bool).
        match x.split_once('=') {
            Some((k, v)) => overrides.push(format!(
                "cluster.properties.\"{}\"={}",
                k.trim(),
                serde_json::Value::String(v.to_string())
            )),
            None => overrides.push(format!("-X {x}")),
        }
    }
    overrides
}

/// Keeps glibc's allocator from handing memory back to the kernel at every dip. librdkafka
/// allocates each message in the producing worker and frees it in the delivery thread; with
/// glibc's defaults the heap top was trimmed and re-faulted over and over, and at `rate = "max"`
/// that cost about a fifth of the throughput (1.44-2.24M against 2.38-2.54M msg/s with the
/// settings below, 1M x 100 B). Memory is still bounded by the in-flight messages; it is just
/// kept for reuse.
///
/// Arenas: glibc gives threads up to 8 arenas per CPU. With a dozen allocating threads (workers,
/// librdkafka's broker threads, delivery threads) each arena fragmented on its own and the peak
/// RSS kept creeping up through a run: 52 MiB after 1M messages, 66 MiB after 10M. One arena per
/// CPU holds it flat (38 and 46 MiB) at the same throughput; a single arena cost a third of it
/// in lock contention. Call before any allocation-heavy work (and before threads start).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called at start-up.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        libc::mallopt(libc::M_ARENA_MAX, cpus.clamp(2, 64) as libc::c_int);
    }
}

/// Loads a scenario with the command line's overrides.
pub fn load_scenario(args: &ScenarioArgs) -> Result<(Scenario, ScenarioInfo), ScenarioError> {
    let (mut cells, info) = load_cells(args)?;
    Ok((cells.swap_remove(0).scenario, info))
}

/// `key=value` with the value hidden when the key names a secret.
fn redact_override(o: &str) -> String {
    match o.split_once('=') {
        Some((k, _)) if scenario::render::is_secret(k) => format!("{k}=***"),
        _ => o.to_string(),
    }
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
