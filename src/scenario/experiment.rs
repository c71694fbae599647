//! The `[experiment]` section: how a sweep runs (repeats, cooldown, order, the SLO of its
//! ranking).

use serde::{Deserialize, Serialize};

use crate::units::Dur;

/// The `[experiment]` section of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// Runs per cell; results report the median and the spread.
    pub repeat: u32,
    /// Pause between runs.
    pub cooldown: Dur,
    pub order: Order,
    /// The ranking lists the best throughput among cells whose median p99 is under this.
    pub slo_p99: Option<Dur>,
    /// Plans with more runs than this need --yes.
    pub max_runs: u32,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            repeat: 1,
            cooldown: Dur::from_secs(0),
            order: Order::Interleaved,
            slo_p99: None,
            max_runs: 200,
        }
    }
}

/// The order of a sweep's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Every cell once, then every cell again: machine noise spreads across cells.
    Interleaved,
    /// All repeats of a cell, then the next cell.
    Grouped,
}
