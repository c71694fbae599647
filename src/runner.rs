//! What a sweep or a capacity search needs from the rest of the world: something that runs one
//! scenario into a directory and hands back its result. The live runner (`crate::orchestrate`)
//! starts brokers and producers; tests give a fake one with known answers, so the search and the
//! sweep's bookkeeping are tested without any broker.

use std::future::Future;
use std::path::Path;

use crate::result::RunResult;
use crate::scenario::Scenario;

/// Runs one scenario.
pub trait Runner {
    /// Runs `s` and writes its `result.json` (and whatever else the runner draws) into `dir`,
    /// which it creates. An interrupted run returns its partial result (`status` interrupted).
    fn run(&mut self, s: &Scenario, dir: &Path) -> impl Future<Output = anyhow::Result<RunResult>>;

    /// A line of progress (a run or probe done) for whoever watches: the live runner prints it
    /// unless quiet; by default it goes nowhere.
    fn say(&mut self, _line: &str) {}
}
