//! Rate profiles: `load.profile`, phases that run in order, and `load.arrivals`.
//!
//! ```toml
//! [load]
//! profile = [
//!   { rate = "5k/s", duration = "30s" },
//!   { ramp = ["5k/s", "50k/s"], duration = "60s" },   # the rate grows linearly within the phase
//!   { burst = "200k/s", duration = "2s" },            # a constant rate, labelled as a burst
//! ]
//! arrivals = "poisson"   # or "uniform" (default)
//! ```
//! The schedule itself (when each message is due) is computed in `pacing`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::{Dur, Rate};

/// One phase of a rate profile: exactly one of `rate`, `ramp` or `burst`, and a duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// From the first rate to the second, linearly over the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<[Rate; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<Rate>,
    pub duration: Dur,
    /// Label in summaries and charts; default from the rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Phase {
    /// Start and end rate (msgs/s), or an error naming what is wrong.
    pub fn rates(&self) -> Result<(f64, f64), crate::input::ValueError> {
        let fixed = |r: Rate| {
            r.per_sec()
                .ok_or_else(|| "a phase needs a fixed rate, not \"max\"".to_string())
        };
        match (self.rate, self.ramp, self.burst) {
            (Some(r), None, None) | (None, None, Some(r)) => {
                let r = fixed(r)?;
                Ok((r, r))
            }
            (None, Some([a, b]), None) => Ok((fixed(a)?, fixed(b)?)),
            _ => Err("give exactly one of rate, ramp or burst".into()),
        }
    }

    /// The label of the phase in summaries and charts.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match (self.rate, self.ramp, self.burst) {
            (_, Some([a, b]), _) => format!("ramp {a}→{b}"),
            (_, _, Some(r)) => format!("burst {r}"),
            (Some(r), _, _) => r.to_string(),
            _ => "phase".into(),
        }
    }
}

/// When messages arrive within the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly spaced.
    #[default]
    Uniform,
    /// A Poisson process: exponential gaps with the same mean rate (independent clients).
    Poisson,
}

impl fmt::Display for Arrivals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arrivals::Uniform => "uniform",
            Arrivals::Poisson => "poisson",
        })
    }
}
