//! Applying a gate from the command line: judge, print the verdict table, write the Markdown and
//! JUnit outputs, and turn the verdict into the exit code.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use super::{judge, output, GateSpec, Verdict};
use crate::exit;
use crate::result::RunResult;

/// Where the gate's outputs go.
#[derive(Debug, Clone, Default)]
pub struct GateOutputs {
    /// Markdown summary file (`--summary`).
    pub summary: Option<PathBuf>,
    /// JUnit XML file (`--junit`).
    pub junit: Option<PathBuf>,
    /// Print nothing on stdout.
    pub quiet: bool,
}

/// The allowances used when `--baseline` is given but the scenario has no `[gate.baseline]`.
pub const DEFAULT_ALLOWANCES: [(&str, &str); 2] = [("throughput", "-5%"), ("p99", "+10%")];

/// Judges `current` against `spec` and `baseline`, writes the outputs, returns the exit code.
pub fn apply(
    current: &[RunResult],
    baseline: &[RunResult],
    spec: &GateSpec,
    title: &str,
    out: &GateOutputs,
) -> anyhow::Result<i32> {
    let mut spec = spec.clone();
    if !baseline.is_empty() && spec.baseline.is_empty() {
        for (k, v) in DEFAULT_ALLOWANCES {
            spec.baseline.insert(k.into(), v.into());
        }
        if !out.quiet {
            println!("no [gate.baseline] in the scenario: using throughput \"-5%\", p99 \"+10%\"");
        }
    }
    let report = judge(current, baseline, &spec).map_err(|e| {
        anyhow::Error::new(crate::scenario::InputError {
            location: title.to_string(),
            key: None,
            message: e,
        })
    })?;
    if !out.quiet {
        print!("{}", output::terminal(&report));
    }
    let md = output::markdown(&report, title);
    if let Some(path) = &out.summary {
        crate::result::write_atomic(path, md.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Ok(step) = std::env::var("GITHUB_STEP_SUMMARY") {
        if !step.is_empty() {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&step)
                .with_context(|| format!("appending to GITHUB_STEP_SUMMARY {step}"))?;
            f.write_all(md.as_bytes())?;
        }
    }
    if let Some(path) = &out.junit {
        crate::result::write_atomic(path, output::junit(&report, title).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(match report.verdict {
        Verdict::Pass => exit::OK,
        Verdict::Fail => exit::GATE_FAILED,
        Verdict::Invalid => exit::INVALID,
    })
}
