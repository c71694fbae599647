//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kbench::result::{RunResult, ScenarioInfo};
use kbench::scenario::{self, Format, Scenario};
use kbench::signal::Interrupts;

/// A validated scenario from TOML text plus `--set` overrides.
pub fn scenario(toml: &str, overrides: &[&str]) -> Scenario {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    scenario::load_str(Path::new("test.toml"), toml, Format::Toml, &overrides)
        .unwrap_or_else(|e| panic!("test scenario is invalid: {e}"))
        .0
}

pub fn info(s: &Scenario) -> ScenarioInfo {
    ScenarioInfo {
        name: s.name.clone(),
        file: None,
        description: s.description.clone(),
        overrides: vec![],
    }
}

/// Runs a scenario on a fresh runtime, writing into `out`.
pub fn run_in(
    s: &Scenario,
    out: &Path,
    interrupts: Interrupts,
) -> anyhow::Result<(RunResult, PathBuf)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("test runtime");
    rt.block_on(kbench::run_scenario(s, info(s), out, &interrupts, false))
}

/// Runs a scenario that must succeed; returns its result.
pub fn run(s: &Scenario) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, path) = run_in(s, dir.path(), Interrupts::none()).expect("run succeeds");
    let back = RunResult::read(&path.join("result.json")).expect("result.json reads back");
    assert_eq!(back, r, "the written result equals the returned one");
    r
}

/// The accounting identity for measured and warm-up messages.
pub fn assert_accounted(r: &RunResult) {
    for c in [&r.counts, &r.warmup_counts] {
        assert_eq!(
            c.sent,
            c.acked + c.failed + c.unresolved,
            "sent = acked + failed + unresolved: {c:?}"
        );
    }
    let failed: u64 = r.errors.values().sum();
    assert_eq!(failed, r.counts.failed, "errors by kind add up to failed");
}
