//! Something that happened during a run (a client error, a fault, an interrupt): produced by the
//! moving parts of a run, kept in the result. A leaf, so every stage can make one.

use serde::{Deserialize, Serialize};

/// The kind of event that says kbench's own counts do not add up: the run is invalid for every
/// use (the run exits 1; gates, sweeps, capacity probes and merges refuse it).
pub const ACCOUNTING: &str = "accounting";

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
    /// For the start of a fault at a fixed rate: seconds from the fault's start to the first
    /// interval whose corrected p99 is back under 2x the median interval p99 before the fault
    /// and whose acked msg/s is back at 95% of the target; null when it did not recover within
    /// the run (absent for other events).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery_s: Option<Option<f64>>,
}

/// A field that is present (possibly `null`) deserializes to `Some`, so `null` survives a round
/// trip as "did not recover" instead of turning into "absent".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}
