//! kbench: load generation and benchmarking for Kafka producers.
//!
//! The pipeline, one module per stage, each handing plain data to the next and never importing a
//! later one (`tests/layers.rs` checks it):
//!
//! ```text
//! cli -> scenario (file + --set -> validated Scenario) -> plan (cells, RunPlan)
//!     -> run (broker, producers, workers, recorder) -> result (versioned JSON)
//!     -> compare / gate / capacity / sweep / merge -> report
//! ```
//!
//! `main.rs` only builds the runtime and calls [`run`]; everything else is here so tests can drive
//! it directly. `commands` and `orchestrate` join the stages; they are the only code that reads
//! the environment or writes charts next to results.

pub mod broker;
pub mod capacity;
pub mod cli;
mod commands;
pub mod compare;
pub mod consumer;
pub mod engine;
pub mod event;
pub mod exit;
pub mod fault;
pub mod gate;
pub mod history;
pub mod input;
pub mod kafka_error;
pub mod live;
pub mod merge;
pub mod orchestrate;
pub mod pacing;
pub mod payload;
pub mod plan;
pub mod producer;
pub mod recorder;
pub mod report;
pub mod result;
pub mod rng;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod signal;
pub mod stamp;
pub mod stats;
pub mod sweep;
pub mod units;
pub mod usage;

use cli::{Cli, Command};

pub use commands::exit_code_of;
pub use orchestrate::{run_one, Dir, RunHow};
pub use result::run_dir;

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    if std::env::var_os("KBENCH_TEST_ACCOUNTING_SKEW").is_some() {
        run::SKEW_ACCOUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    match cli.command {
        Command::Run(args) => commands::cmd_run(args).await,
        Command::Validate(args) => commands::cmd_validate(args),
        Command::Report(args) => commands::cmd_report(args),
        Command::Compare(args) => commands::cmd_compare(args),
        Command::Gate(args) => commands::cmd_gate(args),
        Command::Capacity(args) => commands::cmd_capacity(args).await,
        Command::Merge(args) => commands::cmd_merge(args),
        Command::Broker(args) => commands::cmd_broker(args).await,
        Command::Completions(args) => commands::cmd_completions(args),
        Command::Engines(args) => commands::cmd_engines(args),
        Command::History(args) => commands::cmd_history(args),
    }
}

/// Keeps glibc's allocator from handing memory back to the kernel at every dip. librdkafka
/// allocates each message in the producing worker and frees it in the delivery thread; with
/// glibc's defaults the heap top was trimmed and re-faulted over and over, which cost a large
/// share of the throughput at `rate = "max"`. Memory is still bounded by the in-flight messages;
/// it is just kept for reuse.
///
/// Arenas: glibc gives threads up to 8 arenas per CPU. With a dozen allocating threads (workers,
/// librdkafka's broker threads, delivery threads) each arena fragmented on its own and the peak
/// RSS kept creeping up through a run; one arena per CPU holds it flat at the same throughput,
/// and a single arena cost throughput in lock contention (measured: docs/performance.md).
/// Call before any allocation-heavy work (and before threads start).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called at start-up.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        libc::mallopt(libc::M_ARENA_MAX, cpus.clamp(2, 64) as libc::c_int);
    }
}
