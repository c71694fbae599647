//! One scenario end to end, for the commands: run it, build its result, write `result.json`
//! (and, for the live [`LiveRunner`] of sweeps and capacity searches, its charts). The only place
//! that joins the run, the result and the report stages.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::live::metrics::{Metrics, RunLabels};
use crate::result::{self, run_dir, RunResult, ScenarioInfo};
use crate::run;
use crate::scenario::Scenario;
use crate::signal::Interrupts;

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
        None,
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
/// With `metrics`, the run's live counters are published there once per interval, and once
/// more when it ends.
pub async fn run_into(
    s: &Scenario,
    info: ScenarioInfo,
    dir: Dir<'_>,
    interrupts: &Interrupts,
    progress: bool,
    opts: run::RunOpts,
    metrics: Option<&std::sync::Arc<Metrics>>,
) -> anyhow::Result<(RunResult, PathBuf)> {
    let mut bar = None;
    let mut watch = None;
    let labels = RunLabels {
        scenario: s.name.clone(),
        run_id: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        shard: opts.shard.map_or(0, |sh| sh.index).to_string(),
    };
    let done = execute_and_write(s, info, dir, interrupts, opts, |live| {
        if let Some(m) = metrics {
            let task = m.watch(live.clone(), labels.clone(), s.load.interval.0);
            watch = Some((task, live.clone()));
        }
        bar = crate::live::progress::Progress::start(live, progress);
    })
    .await;
    if let Some(b) = bar {
        b.finish();
    }
    if let (Some(m), Some((task, live))) = (metrics, watch) {
        task.abort();
        // The final numbers, after the drain.
        m.publish(&live, &labels);
    }
    done
}

/// [`run_scenario`] that hands the run's live counters to `watch` when the load starts (a test
/// can interrupt on progress instead of after a wall-clock delay).
pub async fn run_watched(
    s: &Scenario,
    info: ScenarioInfo,
    out: &Path,
    interrupts: &Interrupts,
    watch: impl FnOnce(run::Live),
) -> anyhow::Result<(RunResult, PathBuf)> {
    let opts = run::RunOpts::default();
    execute_and_write(s, info, Dir::Under(out), interrupts, opts, watch).await
}

async fn execute_and_write(
    s: &Scenario,
    info: ScenarioInfo,
    dir: Dir<'_>,
    interrupts: &Interrupts,
    opts: run::RunOpts,
    on_start: impl FnOnce(run::Live),
) -> anyhow::Result<(RunResult, PathBuf)> {
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let plan = crate::plan::RunPlan::build(s, opts.shard);
    let output = run::execute(&plan, &opts, interrupts, on_start).await?;
    let result = result::build::build(&plan, info, started_at.clone(), output);
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

/// The live [`crate::runner::Runner`]: each run on the configured cluster, its result written
/// the moment it ends, then its charts (a drawing failure is a warning: the result is on disk).
pub struct LiveRunner<'a> {
    pub info: ScenarioInfo,
    pub interrupts: &'a Interrupts,
    pub charts: bool,
    /// Where each run's live metrics go.
    pub metrics: Option<std::sync::Arc<Metrics>>,
}

impl crate::runner::Runner for LiveRunner<'_> {
    async fn run(&mut self, s: &Scenario, dir: &Path) -> anyhow::Result<RunResult> {
        let (r, _) = run_into(
            s,
            self.info.clone(),
            Dir::Exactly(dir.to_path_buf()),
            self.interrupts,
            false,
            run::RunOpts::default(),
            self.metrics.as_ref(),
        )
        .await?;
        if self.charts {
            if let Err(e) = crate::report::write_run_report(&r, dir) {
                eprintln!("warning: charts for {}: {e:#}", dir.display());
            }
        }
        Ok(r)
    }
}

/// A capacity search on the live cluster, then its knee chart next to `capacity.json`.
pub async fn capacity(
    s: &Scenario,
    info: ScenarioInfo,
    out: &Path,
    interrupts: &Interrupts,
    quiet: bool,
    metrics: Option<std::sync::Arc<Metrics>>,
) -> anyhow::Result<(crate::capacity::drive::CapacityReport, PathBuf)> {
    let mut runner = LiveRunner {
        info,
        interrupts,
        charts: false,
        metrics,
    };
    let (report, dir) = crate::capacity::drive::run(s, out, quiet, &mut runner).await?;
    let knee = crate::report::chart::Knee { report: &report };
    if let Err(e) = crate::report::chart::render(&knee, "Capacity knee", &dir) {
        eprintln!("warning: knee chart: {e}");
    }
    Ok((report, dir))
}
