//! Running a sweep: the plan's runs one after another through a [`Runner`] (each result.json
//! written the moment its run ends), a cooldown between runs, `--resume DIR` skipping finished
//! runs, and at the end (or on Ctrl-C, for what is done) summary.json, the ranked table and the
//! comparison of the cells that the report stage draws.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{summarize, DoneRun, Summary};
use crate::compare::Comparison;
use crate::plan::RunSpec;
use crate::result::{run_dir, RunResult, Status};
use crate::runner::Runner;
use crate::scenario::{Experiment, InputError};
use crate::signal::Interrupts;
use crate::units::{human_us, Rate};

/// How a sweep ended.
pub struct SweepOutcome {
    pub summary: Summary,
    pub dir: PathBuf,
    pub interrupted: bool,
    /// The cells' median runs side by side, when there are two cells or more (for the charts
    /// and report.html of the sweep directory).
    pub comparison: Option<Comparison>,
}

/// Options of a sweep run.
pub struct SweepOptions<'a> {
    pub out: &'a Path,
    pub resume: Option<&'a Path>,
}

/// Runs (or resumes) a sweep.
pub async fn run(
    name: &str,
    runs: &[RunSpec],
    exp: &Experiment,
    opts: SweepOptions<'_>,
    interrupts: &Interrupts,
    runner: &mut impl Runner,
) -> anyhow::Result<SweepOutcome> {
    let dir = match opts.resume {
        Some(d) => d.to_path_buf(),
        None => {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let dir_name = if name.contains("sweep") {
                name.to_string()
            } else {
                format!("{name}-sweep")
            };
            run_dir(opts.out, &now, &dir_name)
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    check_plan(&dir, runs)?;
    let mut done: Vec<DoneRun> = Vec::new();
    let mut interrupted = false;
    let mut ran_one = false;
    for spec in runs {
        let run_dir = dir.join(&spec.dir_name);
        let path = run_dir.join("result.json");
        if let Ok(r) = RunResult::read(&path) {
            if r.status == Status::Completed {
                runner.say(&format!(
                    "run {:>3}/{}: done already ({})",
                    spec.index + 1,
                    runs.len(),
                    spec.dir_name
                ));
                done.push(DoneRun {
                    cell: spec.cell,
                    vars: spec.vars.clone(),
                    path: path.display().to_string(),
                    result: r,
                });
                continue;
            }
        }
        if ran_one && !exp.cooldown.0.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(exp.cooldown.0) => {}
                _ = interrupts.at_least(1) => {}
            }
        }
        if interrupts.count() > 0 {
            interrupted = true;
            break;
        }
        let r = runner.run(&spec.scenario, &run_dir).await?;
        ran_one = true;
        runner.say(&format!(
            "run {:>3}/{}: {:>10} msg/s  p99 {:>9}  {}",
            spec.index + 1,
            runs.len(),
            Rate::human(r.throughput.msgs_per_sec),
            human_us(r.latency_us.corrected.p99 as f64),
            spec.dir_name
        ));
        if r.status == Status::Interrupted {
            // A partial run is kept on disk but is not part of the summary; --resume reruns it.
            interrupted = true;
            break;
        }
        done.push(DoneRun {
            cell: spec.cell,
            vars: spec.vars.clone(),
            path: path.display().to_string(),
            result: r,
        });
    }
    let slo = exp.slo_p99.map(|d| d.0.as_micros() as u64);
    let summary = summarize(name, slo, runs.len(), !interrupted, &done);
    let comparison = write_outputs(&summary, &done, &dir)?;
    Ok(SweepOutcome {
        summary,
        dir,
        interrupted,
        comparison,
    })
}

/// The plan is saved in the sweep directory; resuming with a different plan is an error.
fn check_plan(dir: &Path, runs: &[RunSpec]) -> anyhow::Result<()> {
    let names: Vec<&str> = runs.iter().map(|r| r.dir_name.as_str()).collect();
    let file = dir.join("plan.json");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let saved: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        if saved != names {
            anyhow::bail!(InputError {
                location: file.display().to_string(),
                key: None,
                message: format!(
                    "this directory holds another plan ({} runs, this scenario makes {}): resume with the same scenario and --set",
                    saved.len(),
                    names.len()
                ),
            });
        }
        return Ok(());
    }
    crate::result::write_atomic(&file, &serde_json::to_vec_pretty(&names)?)?;
    Ok(())
}

/// Writes summary.json (`crate::report::write_sweep_report` writes ranking.md and the charts);
/// returns the comparison of the cells' median runs (with two
/// cells or more).
fn write_outputs(s: &Summary, done: &[DoneRun], dir: &Path) -> anyhow::Result<Option<Comparison>> {
    crate::result::write_atomic(&dir.join("summary.json"), &serde_json::to_vec_pretty(s)?)?;
    if s.cells.len() < 2 {
        return Ok(None);
    }
    // Each cell is represented by its run with the median p99.
    let mut reps = Vec::new();
    for c in &s.cells {
        let mut runs: Vec<&DoneRun> = done.iter().filter(|d| c.runs.contains(&d.path)).collect();
        runs.sort_by_key(|d| d.result.latency_us.corrected.p99);
        if let Some(mid) = runs.get(runs.len() / 2) {
            reps.push((mid.path.clone(), mid.result.clone()));
        }
    }
    Ok(Some(Comparison::new(reps)))
}
