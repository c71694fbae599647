//! `kbench capacity` (and `kbench run` of a scenario with `[capacity]`): the search, its answer
//! line, and its gate (`--floor`, `--baseline`).

use std::path::Path;

use super::load;
use super::metrics::{bind_metrics, hold_metrics};
use crate::cli::CapacityArgs;
use crate::live::metrics::Metrics;
use crate::result::ScenarioInfo;
use crate::scenario::{InputError, Scenario};
use crate::signal::Interrupts;
use crate::{capacity, exit};
use std::sync::Arc;

pub(crate) async fn cmd_capacity(args: CapacityArgs) -> anyhow::Result<i32> {
    let (loaded, info) = load(&args.scenario)?;
    // An external engine is built and accepts the configuration before any probe (exit 2).
    super::check_engines(&loaded.cells)?;
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

pub(super) async fn capacity_search(
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
