//! `kbench history` (list, show), and what `run` and `gate` do with `--history`: open it,
//! find the runs a result is judged against, append a run with its CI context.

use std::path::{Path, PathBuf};

use crate::cli::{GateFlags, HistoryAction, HistoryArgs};
use crate::gate::{self, Test};
use crate::history::{History, Provenance};
use crate::result::RunResult;
use crate::scenario::InputError;
use crate::{exit, report};

pub(crate) fn cmd_history(args: HistoryArgs) -> anyhow::Result<i32> {
    match args.action {
        HistoryAction::List {
            file,
            scenario,
            last,
        } => {
            let h = open(&file)?;
            let rows = h.list(scenario.as_deref(), last).map_err(bad(&file))?;
            print!("{}", report::history::list(&rows));
        }
        HistoryAction::Trend {
            file,
            scenario,
            last,
            runs,
            out,
        } => {
            let h = open(&file)?;
            let scenario = match scenario {
                Some(s) => s,
                None => match h.list(None, 1).map_err(bad(&file))?.first() {
                    Some(r) => r.scenario.clone(),
                    None => anyhow::bail!(InputError {
                        location: file.display().to_string(),
                        key: None,
                        message: "no runs in this history".into(),
                    }),
                },
            };
            let mut rows = h.list(Some(&scenario), runs).map_err(bad(&file))?;
            rows.reverse();
            if rows.is_empty() {
                anyhow::bail!(InputError {
                    location: file.display().to_string(),
                    key: Some("--scenario".into()),
                    message: format!("no runs of scenario {scenario:?}"),
                });
            }
            let files = report::write_history_report(&scenario, &rows, last, &out)?;
            println!("{} runs of {scenario}:", rows.len());
            for f in files {
                println!("  {}", f.display());
            }
        }
        HistoryAction::Show { file, id } => {
            let h = open(&file)?;
            let Some(r) = h.result(id).map_err(bad(&file))? else {
                anyhow::bail!(InputError {
                    location: file.display().to_string(),
                    key: None,
                    message: format!("no run {id} in this history"),
                });
            };
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
    }
    Ok(exit::OK)
}

/// Appends `result` to the history at `path` with this run's CI context, and
/// returns what the result is judged against: the history's comparable runs from before it.
pub(super) fn keep(
    path: &Path,
    result: &RunResult,
    flags: &GateFlags,
    quiet: bool,
) -> anyhow::Result<Against> {
    let mut h = open(path)?;
    let against = Against::history(&h, path, std::slice::from_ref(result), flags)?;
    let id = h.append(result, &provenance()).map_err(bad(path))?;
    if !quiet {
        println!("  history    run {id} in {}", path.display());
    }
    Ok(against)
}

/// Opens a history; a file that is not one is exit 2 naming it.
pub(super) fn open(path: &Path) -> anyhow::Result<History> {
    Ok(History::open(path).map_err(bad(path))?)
}

fn bad(path: &Path) -> impl Fn(crate::history::HistoryError) -> InputError + '_ {
    move |e| InputError {
        location: path.display().to_string(),
        key: Some("history".into()),
        message: e.to_string(),
    }
}

/// This run's CI context, from the variables GitHub Actions and GitLab set (`KBENCH_COMMIT`
/// and `KBENCH_BRANCH` first, for anything else), and the machine's CPU count.
pub(super) fn provenance() -> Provenance {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
    };
    Provenance {
        commit: first(&["KBENCH_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"]),
        // A pull request's own branch is GITHUB_HEAD_REF; GITHUB_REF_NAME is then "N/merge".
        branch: first(&[
            "KBENCH_BRANCH",
            "GITHUB_HEAD_REF",
            "GITHUB_REF_NAME",
            "CI_COMMIT_REF_NAME",
        ]),
        cpus: cpus(),
    }
}

/// The machine's CPU count, part of a run's environment fingerprint.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The history a run of `s` writes to: `--history` (or `KBENCH_HISTORY`), else `[output]
/// history`.
pub(super) fn path_for(flags: &GateFlags, s: &crate::scenario::Scenario) -> Option<PathBuf> {
    flags
        .history
        .clone()
        .or_else(|| s.output.as_ref().and_then(|o| o.history.clone()))
}

/// What a gate compares with: baseline results, how a change is told from noise, and a note
/// for the verdict.
pub(super) struct Against {
    pub runs: Vec<RunResult>,
    pub test: Test,
    pub note: Option<String>,
}

impl Against {
    /// Baseline results given by hand (`--baseline`).
    pub fn baseline(runs: Vec<RunResult>) -> Against {
        Against {
            runs,
            test: Test::Separated,
            note: None,
        }
    }

    /// The history's last comparable runs for `current`, or none (and a note saying so) when
    /// there are fewer than [`gate::MIN_HISTORY`].
    pub fn history(
        h: &History,
        path: &Path,
        current: &[RunResult],
        flags: &GateFlags,
    ) -> anyhow::Result<Against> {
        let cpus = cpus();
        let runs = h
            .comparable(current, cpus, &flags.branch, flags.last)
            .map_err(bad(path))?;
        let n = runs.len();
        if n < gate::MIN_HISTORY {
            let note = format!(
                "too little history: {n} comparable run{} on {} (same scenario and environment; {} \
                 needed), so only the absolute thresholds are judged",
                if n == 1 { "" } else { "s" },
                flags.branch,
                gate::MIN_HISTORY
            );
            return Ok(Against {
                runs: Vec::new(),
                test: Test::Bootstrap,
                note: Some(note),
            });
        }
        Ok(Against {
            note: Some(format!(
                "judged against the last {n} comparable runs on {} in {}",
                flags.branch,
                path.display()
            )),
            runs,
            test: Test::Bootstrap,
        })
    }
}
