//! The `[capacity]` section: the SLO and the search's bounds. Plain data with checks that only
//! parse; the search itself is `crate::capacity`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::gate::{Kind, Metric};
use crate::units::{Dur, Rate};

/// The `[capacity]` section of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacitySpec {
    /// Latency metric -> upper limit, e.g. `p99 = "50ms"`.
    pub slo: BTreeMap<String, Dur>,
    /// Largest allowed share of failed messages, e.g. "0.1%".
    pub max_error_rate: String,
    pub min_achieved_ratio: f64,
    pub start_rate: Rate,
    pub max_rate: Rate,
    /// Measured length of each probe (its warm-up is `load.warmup`).
    pub step_duration: Dur,
    /// Bracket width at which the search stops, e.g. "5%".
    pub precision: String,
    /// Time budget of the whole search.
    pub max_total: Dur,
    /// Factor between consecutive ramp probes.
    pub growth: f64,
}

impl Default for CapacitySpec {
    fn default() -> Self {
        CapacitySpec {
            slo: BTreeMap::new(),
            max_error_rate: "0.1%".into(),
            min_achieved_ratio: 0.99,
            start_rate: Rate::PerSec(1000.0),
            max_rate: Rate::PerSec(2e6),
            step_duration: Dur::from_secs(20),
            precision: "5%".into(),
            max_total: Dur::from_secs(900),
            growth: 2.0,
        }
    }
}

/// "5%" or 0.05 -> 0.05.
pub fn fraction(text: &str) -> Option<f64> {
    let t = text.trim();
    let (n, scale) = t.strip_suffix('%').map_or((t, 1.0), |n| (n.trim(), 100.0));
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / scale)
}

impl CapacitySpec {
    /// Checks the section: (dotted key, message) of the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("capacity.{k}");
        if self.slo.is_empty() {
            return Err((
                key("slo"),
                "give at least one latency limit, e.g. slo = { p99 = \"50ms\" }".into(),
            ));
        }
        for name in self.slo.keys() {
            let m = Metric::parse(name).map_err(|e| (format!("capacity.slo.{name}"), e.0))?;
            if !matches!(m.kind, Kind::Latency(..) | Kind::Client(..)) {
                return Err((
                    format!("capacity.slo.{name}"),
                    "the SLO takes latency metrics (p99, p999, service.p99, client.rtt.p99, ...)"
                        .into(),
                ));
            }
        }
        if fraction(&self.max_error_rate).is_none() {
            return Err((
                key("max_error_rate"),
                format!(
                    "expected a share like \"0.1%\", found {:?}",
                    self.max_error_rate
                ),
            ));
        }
        match fraction(&self.precision) {
            Some(p) if p > 0.0 && p < 1.0 => {}
            _ => {
                return Err((
                    key("precision"),
                    format!(
                        "expected a percentage between 0 and 100, like \"5%\", found {:?}",
                        self.precision
                    ),
                ))
            }
        }
        let (Some(start), Some(max)) = (self.start_rate.per_sec(), self.max_rate.per_sec()) else {
            return Err((
                key("start_rate"),
                "start_rate and max_rate must be fixed rates, not max".into(),
            ));
        };
        if start >= max {
            return Err((
                key("max_rate"),
                format!("must be above start_rate ({})", self.start_rate),
            ));
        }
        if !(1.1..=10.0).contains(&self.growth) {
            return Err((
                key("growth"),
                format!("expected 1.1 to 10, found {}", self.growth),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_achieved_ratio) {
            return Err((
                key("min_achieved_ratio"),
                format!("expected 0.0 to 1.0, found {}", self.min_achieved_ratio),
            ));
        }
        if self.step_duration.0.is_zero() {
            return Err((key("step_duration"), "must be greater than 0".into()));
        }
        Ok(())
    }

    pub fn precision(&self) -> f64 {
        fraction(&self.precision).unwrap_or(0.05)
    }

    /// The SLO in words: "p99 <= 50ms".
    pub fn slo_text(&self) -> String {
        self.slo
            .iter()
            .map(|(k, v)| format!("{k} <= {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
