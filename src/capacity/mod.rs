//! Capacity planning: the highest rate the cluster sustains under a latency SLO.
//!
//! ```toml
//! [capacity]
//! slo = { p99 = "50ms" }      # corrected latency; p999, service.p99, ... also allowed
//! max_error_rate = "0.1%"
//! min_achieved_ratio = 0.99   # the offered rate must actually be delivered
//! start_rate = "1k/s"
//! max_rate = "2M/s"
//! step_duration = "20s"       # per probe, after its own warm-up (load.warmup)
//! precision = "5%"            # stop when the bracket [pass, fail] is this narrow
//! max_total = "15m"
//! ```
//!
//! **Method.** Ramp geometrically (x2) from `start_rate` until a probe fails the SLO, the error
//! rate or the achieved ratio; then bisect between the last passing and the first failing rate
//! until the bracket is within `precision`; then probe the final passing rate again. A flaky pass
//! is not a capacity: if the confirmation fails, that rate becomes the failing bound and the
//! search goes on below it. Each probe is an ordinary fixed-rate run (coordinated-omission
//! corrected) whose result.json is kept.
//!
//! When a probe fails because the load generator itself fell behind (the gate's validity rules),
//! the search stops: the cluster's capacity is at least the last passing rate, and this machine
//! cannot tell more.

pub mod drive;

use serde::{Deserialize, Serialize};

use crate::gate::{self, Metric};
use crate::result::RunResult;
use crate::scenario::capacity::fraction;
pub use crate::scenario::capacity::CapacitySpec;

/// How one probe went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Offered rate (msg/s).
    pub rate: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub achieved_rate_ratio: Option<f64>,
    pub error_rate: f64,
    /// `pass`, `fail`, `limited` (the load generator fell behind), or `invalid` (the probe's
    /// counts do not add up: a kbench bug; the search stops without an answer).
    pub verdict: String,
    /// Why it failed, if it did.
    pub reasons: Vec<String>,
    /// The probe's result.json.
    pub result: String,
}

/// Judges a probe's result against the capacity criteria.
pub fn judge(
    spec: &CapacitySpec,
    validity: &gate::Validity,
    r: &RunResult,
    result_path: String,
) -> Probe {
    let mut reasons = Vec::new();
    for (name, limit) in &spec.slo {
        let limit_us = limit.0.as_secs_f64() * 1e6;
        match Metric::parse(name)
            .ok()
            .and_then(|m| gate::value(&m, r).map(|v| (m, v)))
        {
            Some((m, v)) if v > limit_us => reasons.push(format!("{name} {} > {limit}", m.show(v))),
            Some(_) => {}
            None => reasons.push(format!("{name}: no latency samples")),
        }
    }
    let error_rate = if r.counts.sent == 0 {
        0.0
    } else {
        r.counts.failed as f64 / r.counts.sent as f64
    };
    let max_err = fraction(&spec.max_error_rate).unwrap_or(0.001);
    if error_rate > max_err {
        reasons.push(format!(
            "error rate {:.3}% > {}",
            error_rate * 100.0,
            spec.max_error_rate
        ));
    }
    // Messages that did not make it at all (failed, unresolved, never sent) count against the
    // same limit: a probe that loses them is no capacity.
    if r.loss_rate > max_err {
        reasons.push(format!(
            "loss {:.3}% > {}",
            r.loss_rate * 100.0,
            spec.max_error_rate
        ));
    }
    let achieved = r.achieved_rate_ratio;
    if let Some(a) = achieved {
        if a < spec.min_achieved_ratio {
            reasons.push(format!(
                "achieved {:.3} of the offered rate < {}",
                a, spec.min_achieved_ratio
            ));
        }
    }
    let limited = gate::invalid_reasons(r, validity);
    let verdict = if let Some(e) = r.accounting_error() {
        reasons.push(format!("the probe's counts do not add up: {e}"));
        "invalid"
    } else if !limited.is_empty() {
        reasons.extend(limited);
        "limited"
    } else if reasons.is_empty() {
        "pass"
    } else {
        "fail"
    };
    Probe {
        rate: r.target_rate.unwrap_or(0.0),
        p50_us: r.latency_us.corrected.p50,
        p99_us: r.latency_us.corrected.p99,
        p999_us: r.latency_us.corrected.p999,
        achieved_rate_ratio: achieved,
        error_rate,
        verdict: verdict.into(),
        reasons,
        result: result_path,
    }
}

/// Where the search is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Ramp,
    Bisect,
    Confirm(f64),
    Done,
}

/// The search state machine: ask [`Search::next_rate`], run that probe, tell [`Search::record`].
#[derive(Debug, Clone)]
pub struct Search {
    start: f64,
    max: f64,
    growth: f64,
    precision: f64,
    phase: Phase,
    /// Highest passing rate so far (confirmed or not).
    pub pass: Option<f64>,
    /// Lowest failing rate so far.
    pub fail: Option<f64>,
    passes: Vec<f64>,
    /// True once the final passing rate passed twice.
    pub confirmed: bool,
}

impl Search {
    pub fn new(start: f64, max: f64, growth: f64, precision: f64) -> Self {
        Search {
            start,
            max,
            growth,
            precision,
            phase: Phase::Ramp,
            pass: None,
            fail: None,
            passes: Vec::new(),
            confirmed: false,
        }
    }

    pub fn from_spec(s: &CapacitySpec) -> Self {
        Search::new(
            s.start_rate.per_sec().unwrap_or(1000.0),
            s.max_rate.per_sec().unwrap_or(2e6),
            s.growth,
            s.precision(),
        )
    }

    /// The next rate to probe, or `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        match self.phase {
            Phase::Done => None,
            Phase::Confirm(r) => Some(r),
            Phase::Ramp => Some(
                self.pass
                    .map_or(self.start, |p| (p * self.growth).min(self.max)),
            ),
            Phase::Bisect => match (self.pass, self.fail) {
                (Some(p), Some(f)) => Some(((p + f) / 2.0).round()),
                _ => None,
            },
        }
    }

    fn narrow_enough(&self) -> bool {
        match (self.pass, self.fail) {
            (Some(p), Some(f)) => (f - p) / p <= self.precision,
            _ => false,
        }
    }

    /// After a pass or fail, bisect further or confirm.
    fn settle(&mut self) {
        self.phase = match self.pass {
            None => Phase::Done,
            Some(p) if self.narrow_enough() || self.fail.is_none() => Phase::Confirm(p),
            Some(_) => Phase::Bisect,
        };
    }

    /// Records the outcome of the probe at `rate`.
    pub fn record(&mut self, rate: f64, passed: bool) {
        match self.phase {
            Phase::Done => {}
            Phase::Ramp => {
                if passed {
                    self.pass = Some(rate);
                    self.passes.push(rate);
                    if rate >= self.max {
                        self.phase = Phase::Confirm(rate);
                    }
                } else {
                    self.fail = Some(rate);
                    self.settle();
                }
            }
            Phase::Bisect => {
                if passed {
                    self.pass = Some(rate);
                    self.passes.push(rate);
                } else {
                    self.fail = Some(rate);
                }
                self.settle();
            }
            Phase::Confirm(r) => {
                if passed {
                    self.confirmed = true;
                    self.phase = Phase::Done;
                } else {
                    // A flaky pass: search below it.
                    self.fail = Some(r);
                    self.passes.retain(|p| *p < r);
                    self.pass = self
                        .passes
                        .iter()
                        .cloned()
                        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))));
                    self.settle();
                }
            }
        }
    }

    /// Stops the search (budget, generator limit); the answer is what is known so far.
    pub fn stop(&mut self) {
        self.phase = Phase::Done;
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a probe function; returns (answer, probes).
    fn search(capacity_of: impl Fn(f64, usize) -> bool) -> (Search, usize) {
        let mut s = Search::new(1000.0, 2e6, 2.0, 0.05);
        let mut n = 0;
        while let Some(rate) = s.next_rate() {
            let passed = capacity_of(rate, n);
            s.record(rate, passed);
            n += 1;
            assert!(n < 100, "the search terminates");
        }
        (s, n)
    }

    #[test]
    fn a_monotone_system_is_bracketed_within_precision() {
        let (s, n) = search(|r, _| r <= 43_300.0);
        let (p, f) = (s.pass.unwrap(), s.fail.unwrap());
        assert!(s.confirmed);
        assert!(p <= 43_300.0 && f > 43_300.0);
        assert!((f - p) / p <= 0.05, "{p}..{f}");
        assert!(n < 20, "{n} probes");
    }

    #[test]
    fn a_flaky_pass_is_not_a_capacity() {
        // 40k passes the first time only; the true capacity is 30k.
        let (s, _) = search(|r, n| r <= 30_000.0 || (r <= 45_000.0 && n < 7));
        assert!(s.confirmed);
        assert!(s.pass.unwrap() <= 30_000.0, "{:?}", s.pass);
    }

    #[test]
    fn noise_near_the_knee_still_converges() {
        // Deterministic noise: rates within 3% of the knee flip.
        let (s, _) = search(|r, n| {
            if (r - 10_000.0).abs() < 300.0 {
                n % 2 == 0
            } else {
                r < 10_000.0
            }
        });
        let p = s.pass.unwrap();
        assert!((9_000.0..=10_300.0).contains(&p), "{p}");
    }

    #[test]
    fn a_system_that_always_passes_reports_max_rate() {
        let (s, _) = search(|_, _| true);
        assert_eq!(s.pass, Some(2e6));
        assert!(s.fail.is_none() && s.confirmed);
    }

    #[test]
    fn a_system_that_fails_at_start_rate_has_no_answer() {
        let (s, n) = search(|_, _| false);
        assert_eq!((s.pass, s.fail, n), (None, Some(1000.0), 1));
    }
}
