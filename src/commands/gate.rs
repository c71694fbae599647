//! Gating: `kbench gate` of saved results, and the one place every gate of a run, a sweep's
//! repeats or saved results is judged, printed, written (`--summary`, `--junit`,
//! `$GITHUB_STEP_SUMMARY`) and turned into the exit code.

use std::io::Write;

use anyhow::Context as _;

use super::history::Against;
use super::read_plain;
use crate::cli::{GateArgs, GateFlags};
use crate::gate::{self, GateSpec, Verdict};
use crate::report::gate as output;
use crate::result::RunResult;
use crate::scenario::InputError;
use crate::{exit, plan};

pub(crate) fn cmd_gate(args: GateArgs) -> anyhow::Result<i32> {
    let current = read_plain(&args.results)?;
    let against = match &args.gate.history {
        Some(path) => {
            let h = super::history::open(path)?;
            Against::history(&h, path, &current, &args.gate)?
        }
        None => Against::baseline(read_plain(&args.gate.baseline)?),
    };
    let spec = match &args.config {
        Some(path) => {
            plan::load(plan::Origin::File(path), &[], None)?
                .scenario()
                .gate
        }
        None => current[0].spec.gate.clone(),
    };
    if spec.thresholds.is_empty() && against.runs.is_empty() && args.gate.history.is_none() {
        anyhow::bail!(InputError {
            location: args
                .config
                .as_ref()
                .map_or("the result's spec".into(), |p| p.display().to_string()),
            key: Some("gate".into()),
            message: "nothing to judge: no [gate] thresholds, no --baseline and no --history"
                .into(),
        });
    }
    let title = current[0].scenario.name.clone();
    judge(&current, &against, &spec, &title, &args.gate, false)
}

/// Judges `current` against `spec` and what it is compared with, prints the verdict table
/// (unless `quiet`), writes the outputs `flags` name and `$GITHUB_STEP_SUMMARY`, and returns the
/// exit code.
pub(super) fn judge(
    current: &[RunResult],
    against: &Against,
    spec: &GateSpec,
    title: &str,
    flags: &GateFlags,
    quiet: bool,
) -> anyhow::Result<i32> {
    let baseline = &against.runs;
    let mut spec = spec.clone();
    if !baseline.is_empty() && spec.baseline.is_empty() {
        for (k, v) in gate::DEFAULT_ALLOWANCES {
            spec.baseline.insert(k.into(), v.into());
        }
        if !quiet {
            println!("no [gate.baseline] in the scenario: using throughput \"-5%\", p99 \"+10%\"");
        }
    }
    let mut report =
        gate::judge_with(current, baseline, &spec, against.test).map_err(|e| InputError {
            location: title.to_string(),
            key: None,
            message: e,
        })?;
    report.notes.extend(against.note.clone());
    if !quiet {
        print!("{}", output::terminal(&report));
    }
    let md = output::markdown(&report, title);
    if let Some(path) = &flags.summary {
        crate::result::write_atomic(path, md.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    append_step_summary(&md)?;
    if let Some(path) = &flags.junit {
        crate::result::write_atomic(path, output::junit(&report, title).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(match report.verdict {
        Verdict::Pass => exit::OK,
        Verdict::Fail => exit::GATE_FAILED,
        Verdict::Invalid => exit::INVALID,
    })
}

/// Appends the Markdown verdict to GitHub Actions' job summary, when it runs there.
fn append_step_summary(md: &str) -> anyhow::Result<()> {
    let Some(step) = std::env::var("GITHUB_STEP_SUMMARY")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&step)
        .with_context(|| format!("appending to GITHUB_STEP_SUMMARY {step}"))?;
    f.write_all(md.as_bytes())?;
    Ok(())
}
