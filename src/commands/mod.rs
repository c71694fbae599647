//! The commands behind the CLI, one file per subcommand: each reads what it needs (files, flags,
//! the environment), calls the pipeline stages, prints, and returns the exit code. The only
//! room that does I/O for the stages below it.

use std::path::PathBuf;

use crate::exit;
use crate::result::RunResult;

mod broker;
mod capacity;
mod compare;
mod compare_capacity;
mod completions;
mod engines;
mod gate;
mod history;
mod input;
mod merge;
mod metrics;
mod properties;
mod report;
mod run;
mod sweep;
mod validate;

pub(crate) use broker::cmd_broker;
pub(crate) use capacity::cmd_capacity;
pub(crate) use compare::cmd_compare;
pub(crate) use completions::cmd_completions;
pub(crate) use engines::{check_engines, cmd_engines};
pub(crate) use gate::cmd_gate;
pub(crate) use history::cmd_history;
pub(crate) use input::load;
pub(crate) use merge::cmd_merge;
pub(crate) use report::cmd_report;
pub(crate) use run::cmd_run;
pub(crate) use validate::cmd_validate;

/// Results from files or directories, without their paths.
fn read_plain(paths: &[PathBuf]) -> anyhow::Result<Vec<RunResult>> {
    Ok(crate::report::read_results(paths)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// The exit code for an error, from the first typed cause in its chain.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(crate::broker::BrokerError::Engine(e)) = cause.downcast_ref() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::engine::EngineError>() {
            return e.exit_code();
        }
        if cause.is::<crate::scenario::InputError>()
            || cause.is::<crate::result::ResultError>()
            || cause.is::<crate::merge::MergeError>()
        {
            return exit::BAD_INPUT;
        }
        if cause.is::<crate::broker::BrokerError>() {
            return exit::BROKER;
        }
    }
    exit::FAILURE
}
