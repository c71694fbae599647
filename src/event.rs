//! Something that happened during a run (a client error, a fault, an interrupt): produced by the
//! moving parts of a run, kept in the result. A leaf, so every stage can make one.

use serde::{Deserialize, Serialize};

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the run's start.
    pub t_s: f64,
    /// e.g. `client-error`, `interrupted`.
    pub kind: String,
    pub detail: String,
    /// How many more times the same event followed immediately.
    #[serde(default)]
    pub repeats: u64,
}
