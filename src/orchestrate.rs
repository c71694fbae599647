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

/// Where a run's result goes.
pub enum Dir<'a> {
    /// `<out>/<timestamp>-<name>`.
    Under(&'a Path),
    /// Exactly this directory.
    Exactly(PathBuf),
}

/// Who watches a run while it goes on.
pub type OnStart<'a> = Box<dyn FnOnce(run::Live) + Send + 'a>;

/// How to run one scenario: where its result goes, and who watches it while it goes on.
pub struct RunHow<'a> {
    pub info: ScenarioInfo,
    pub dir: Dir<'a>,
    pub interrupts: &'a Interrupts,
    pub opts: run::RunOpts,
    /// The progress line on a terminal (or progress log lines elsewhere, with `KBENCH_LOG`).
    pub progress: bool,
    /// The live metrics endpoint, published once per interval and once more at the end.
    pub metrics: Option<&'a std::sync::Arc<Metrics>>,
    /// Handed the run's live counters when the load starts (a test interrupts on progress).
    pub on_start: Option<OnStart<'a>>,
}

impl<'a> RunHow<'a> {
    /// A run writing under `out`, with no live view.
    pub fn under(out: &'a Path, info: ScenarioInfo, interrupts: &'a Interrupts) -> RunHow<'a> {
        RunHow {
            info,
            dir: Dir::Under(out),
            interrupts,
            opts: run::RunOpts::default(),
            progress: false,
            metrics: None,
            on_start: None,
        }
    }
}

/// The one way to run one scenario: plan it, run it with its live views, build its result and
/// write `result.json`; returns the result and its directory.
pub async fn run_one(s: &Scenario, how: RunHow<'_>) -> anyhow::Result<(RunResult, PathBuf)> {
    let RunHow {
        info,
        dir,
        interrupts,
        opts,
        progress,
        metrics,
        on_start,
    } = how;
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
        bar = crate::live::progress::Progress::start(live.clone(), progress);
        if let Some(f) = on_start {
            f(live);
        }
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

/// Runs, builds the result and writes it.
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

/// Draws a run's charts and HTML next to its result. The result is already on disk: a drawing
/// failure is a warning, not an error.
pub fn write_charts(r: &RunResult, dir: &Path) {
    if let Err(e) = crate::report::write_run_report(r, dir) {
        eprintln!("warning: charts for {}: {e:#}", dir.display());
    }
}

/// The live [`crate::runner::Runner`]: each run on the configured cluster, its result written
/// the moment it ends, then its charts (a drawing failure is a warning: the result is on disk).
pub struct LiveRunner<'a> {
    pub info: ScenarioInfo,
    pub interrupts: &'a Interrupts,
    pub charts: bool,
    /// Where each run's live metrics go.
    pub metrics: Option<std::sync::Arc<Metrics>>,
    /// No progress lines.
    pub quiet: bool,
}

impl crate::runner::Runner for LiveRunner<'_> {
    async fn run(&mut self, s: &Scenario, dir: &Path) -> anyhow::Result<RunResult> {
        let how = RunHow {
            dir: Dir::Exactly(dir.to_path_buf()),
            metrics: self.metrics.as_ref(),
            ..RunHow::under(dir, self.info.clone(), self.interrupts)
        };
        let (r, _) = run_one(s, how).await?;
        if self.charts {
            write_charts(&r, dir);
        }
        Ok(r)
    }

    fn say(&mut self, line: &str) {
        if !self.quiet {
            println!("{line}");
        }
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
        quiet,
    };
    let (report, dir) = crate::capacity::drive::run(s, out, &mut runner).await?;
    let knee = crate::report::chart::Knee { report: &report };
    if let Err(e) = crate::report::chart::render(&knee, "Capacity knee", &dir) {
        eprintln!("warning: knee chart: {e}");
    }
    Ok((report, dir))
}
