//! Process exit codes (documented in README.md), one meaning each, so a CI job can tell a
//! regression (99) from a crash (1) and bad input (2).

/// The run completed (and passed its gate, when there is one).
pub const OK: i32 = 0;
/// Anything unexpected.
pub const FAILURE: i32 = 1;
/// A gate check failed: a threshold, a baseline, a capacity floor or a capacity baseline
/// (as k6 does for failed thresholds), so a CI job can tell a regression from a crash.
pub const GATE_FAILED: i32 = 99;
/// Bad input: scenario, `--set`, command line, result file.
pub const BAD_INPUT: i32 = 2;
/// The cluster could not be used: unreachable, topic missing, client creation failed.
pub const BROKER: i32 = 3;
/// The run cannot be judged: the load generator itself fell behind, or it was interrupted
/// under a gate.
pub const INVALID: i32 = 4;
/// Interrupted by Ctrl-C / SIGTERM (the partial result was written).
pub const INTERRUPTED: i32 = 130;
