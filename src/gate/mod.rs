//! CI gates: judge results against absolute thresholds and against a baseline, with a verdict a
//! CI system acts on (exit 0 pass, 1 fail, 4 invalid).
//!
//! ```toml
//! [gate]
//! p99 = "<= 25ms"              # corrected latency unless a stream is named: service.p99, send_lag.p99
//! throughput = ">= 19.5k/s"
//! error_rate = "<= 0.1%"
//! achieved_rate_ratio = ">= 0.99"
//! [gate.baseline]              # relative to --baseline results
//! throughput = "-5%"           # may drop at most 5 %
//! p99 = "+10%"                 # may grow at most 10 %
//! [gate.validity]              # when the generator itself fell behind, the run proves nothing
//! min_sent_ratio = 0.97
//! max_send_lag_p99 = "10ms"
//! ```
//!
//! **Noise.** With several results on a side (repeats), each metric is the median over that side.
//! A baseline regression is called only when the median change is beyond the allowance *and* the
//! two sides do not overlap (every current run is worse than every baseline run): a difference
//! inside the run-to-run spread is not a regression. A single run against a single baseline uses
//! the plain allowance.
//!
//! **Invalid runs.** A run is invalid when the generator could not keep its schedule while the
//! client showed no back-pressure: send-lag p99 over `max_send_lag_p99`, or a duration run that
//! sent fewer than `min_sent_ratio` of its scheduled messages. (With `QueueFull` back-pressure, or
//! in sync mode where each worker waits for its ack, the cluster is what fell behind, and that is
//! a real result.) Interrupted runs are invalid too.

pub mod apply;
pub mod output;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::result::{RunResult, Status};
use crate::units::{human_us, Dur, Rate};

/// The `[gate]` section of a scenario.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GateSpec {
    /// Metric -> condition, e.g. `p99 = "<= 25ms"`.
    #[serde(flatten)]
    pub thresholds: BTreeMap<String, String>,
    /// Metric -> allowed relative change against the baseline, e.g. `throughput = "-5%"`.
    pub baseline: BTreeMap<String, String>,
    pub validity: Validity,
}

impl GateSpec {
    pub fn is_empty(&self) -> bool {
        self.thresholds.is_empty() && self.baseline.is_empty()
    }
}

/// When a run is too broken to judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Validity {
    /// A duration run must send at least this share of its scheduled messages.
    pub min_sent_ratio: f64,
    /// Send-lag p99 above this means the generator fell behind.
    pub max_send_lag_p99: Dur,
}

impl Default for Validity {
    fn default() -> Self {
        Validity {
            min_sent_ratio: 0.97,
            max_send_lag_p99: Dur::from_millis(10),
        }
    }
}

/// What a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A latency statistic (µs) of a stream.
    Latency(Stream, Stat),
    /// Acked messages per second.
    Throughput,
    /// failed / sent (a fraction).
    ErrorRate,
    AchievedRateRatio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Corrected,
    Service,
    SendLag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    P50,
    P90,
    P99,
    P999,
    Max,
    Mean,
}

/// A gate metric by name: `p99`, `service.p999`, `throughput`, `error_rate`, `achieved_rate_ratio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub kind: Kind,
}

impl Metric {
    pub fn parse(name: &str) -> Result<Metric, String> {
        let kind = match name {
            "throughput" => Kind::Throughput,
            "error_rate" => Kind::ErrorRate,
            "achieved_rate_ratio" => Kind::AchievedRateRatio,
            _ => {
                let (stream, stat) = match name.split_once('.') {
                    Some((s, stat)) => (s, stat),
                    None => ("corrected", name),
                };
                let stream = match stream {
                    "corrected" => Stream::Corrected,
                    "service" => Stream::Service,
                    "send_lag" => Stream::SendLag,
                    _ => return Err(unknown(name)),
                };
                let stat = match stat {
                    "p50" => Stat::P50,
                    "p90" => Stat::P90,
                    "p99" => Stat::P99,
                    "p999" => Stat::P999,
                    "max" => Stat::Max,
                    "mean" => Stat::Mean,
                    _ => return Err(unknown(name)),
                };
                Kind::Latency(stream, stat)
            }
        };
        Ok(Metric {
            name: name.to_string(),
            kind,
        })
    }

    /// The metric's value in a result (latencies in µs), or `None` when the result has none.
    pub fn value(&self, r: &RunResult) -> Option<f64> {
        match self.kind {
            Kind::Throughput => Some(r.throughput.msgs_per_sec),
            Kind::ErrorRate => Some(if r.counts.sent == 0 {
                0.0
            } else {
                r.counts.failed as f64 / r.counts.sent as f64
            }),
            Kind::AchievedRateRatio => r.achieved_rate_ratio,
            Kind::Latency(stream, stat) => {
                let l = match stream {
                    Stream::Corrected => &r.latency_us.corrected,
                    Stream::Service => &r.latency_us.service,
                    Stream::SendLag => &r.latency_us.send_lag,
                };
                if l.count == 0 {
                    return None;
                }
                Some(match stat {
                    Stat::P50 => l.p50 as f64,
                    Stat::P90 => l.p90 as f64,
                    Stat::P99 => l.p99 as f64,
                    Stat::P999 => l.p999 as f64,
                    Stat::Max => l.max as f64,
                    Stat::Mean => l.mean,
                })
            }
        }
    }

    /// True when a larger value is better (throughput, achieved ratio).
    pub fn higher_is_better(&self) -> bool {
        matches!(self.kind, Kind::Throughput | Kind::AchievedRateRatio)
    }

    /// A value in the metric's unit, for humans.
    pub fn show(&self, v: f64) -> String {
        match self.kind {
            Kind::Latency(..) => human_us(v),
            Kind::Throughput => format!("{} msg/s", Rate::human(v)),
            Kind::ErrorRate => format!("{:.3}%", v * 100.0),
            Kind::AchievedRateRatio => format!("{v:.4}"),
        }
    }

    /// Parses a threshold value in the metric's unit ("25ms", "19.5k/s", "0.1%", "0.99").
    fn parse_value(&self, text: &str) -> Result<f64, String> {
        let t = text.trim();
        match self.kind {
            Kind::Latency(..) => t
                .parse::<Dur>()
                .map(|d| d.0.as_secs_f64() * 1e6)
                .map_err(|e| e.to_string()),
            Kind::Throughput => match t.parse::<Rate>() {
                Ok(Rate::PerSec(r)) => Ok(r),
                _ => Err(format!("expected a rate like \"19.5k/s\", found {t:?}")),
            },
            Kind::ErrorRate => parse_fraction(t),
            Kind::AchievedRateRatio => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("expected a ratio like 0.99, found {t:?}")),
        }
    }
}

fn unknown(name: &str) -> String {
    format!(
        "unknown metric {name:?}: expected p50, p90, p99, p999, max, mean (optionally prefixed by corrected., service. or send_lag.), throughput, error_rate or achieved_rate_ratio"
    )
}

/// "0.1%" -> 0.001; "0.001" -> 0.001.
fn parse_fraction(t: &str) -> Result<f64, String> {
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / scale)
        .ok_or_else(|| format!("expected a share like \"0.1%\" or 0.001, found {t:?}"))
}

/// A comparison operator of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Le,
    Lt,
    Ge,
    Gt,
}

impl Op {
    fn holds(self, v: f64, limit: f64) -> bool {
        match self {
            Op::Le => v <= limit,
            Op::Lt => v < limit,
            Op::Ge => v >= limit,
            Op::Gt => v > limit,
        }
    }
}

/// `p99 = "<= 25ms"`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub metric: Metric,
    pub op: Op,
    pub limit: f64,
    /// As written, e.g. `<= 25ms`.
    pub text: String,
}

impl Threshold {
    pub fn parse(metric: &str, condition: &str) -> Result<Threshold, String> {
        let metric = Metric::parse(metric)?;
        let c = condition.trim();
        let (op, rest) = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
            .iter()
            .find_map(|(s, op)| c.strip_prefix(s).map(|r| (*op, r)))
            .ok_or_else(|| {
                format!("expected a condition like \"<= 25ms\" or \">= 19.5k/s\", found {c:?}")
            })?;
        let limit = metric.parse_value(rest)?;
        Ok(Threshold {
            metric,
            op,
            limit,
            text: c.to_string(),
        })
    }
}

/// `throughput = "-5%"`: the largest allowed relative change against the baseline, in the
/// worsening direction of the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowance {
    pub metric: Metric,
    /// A fraction: 0.05 for "-5%" on throughput or "+5%" on a latency.
    pub max_worsening: f64,
    pub text: String,
}

impl Allowance {
    pub fn parse(metric: &str, change: &str) -> Result<Allowance, String> {
        let metric = Metric::parse(metric)?;
        let t = change.trim();
        let (sign, rest) = match t.chars().next() {
            Some('+') => (1.0, &t[1..]),
            Some('-') => (-1.0, &t[1..]),
            _ => {
                return Err(format!(
                    "expected a signed change like \"-5%\" (may drop 5%) or \"+10%\" (may grow 10%), found {t:?}"
                ))
            }
        };
        let pct = rest
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("expected a percentage like \"-5%\", found {t:?}"))?;
        let worsening_sign = if metric.higher_is_better() { -1.0 } else { 1.0 };
        if sign != worsening_sign {
            return Err(format!(
                "{} {} is better when it {}: write the allowed change as \"{}{pct}%\"",
                metric.name,
                t,
                if metric.higher_is_better() {
                    "grows"
                } else {
                    "shrinks"
                },
                if metric.higher_is_better() { "-" } else { "+" }
            ));
        }
        Ok(Allowance {
            metric,
            max_worsening: pct / 100.0,
            text: t.to_string(),
        })
    }
}

/// Parses and checks a `[gate]` section (used by scenario validation): the first bad entry as
/// (dotted key, message).
pub fn check_spec(g: &GateSpec) -> Result<(), (String, String)> {
    for (k, v) in &g.thresholds {
        Threshold::parse(k, v).map_err(|e| (format!("gate.{k}"), e))?;
    }
    for (k, v) in &g.baseline {
        Allowance::parse(k, v).map_err(|e| (format!("gate.baseline.{k}"), e))?;
    }
    let v = &g.validity;
    if !(0.0..=1.0).contains(&v.min_sent_ratio) {
        return Err((
            "gate.validity.min_sent_ratio".into(),
            format!("expected 0.0 to 1.0, found {}", v.min_sent_ratio),
        ));
    }
    Ok(())
}

/// The outcome of one check or of the whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Invalid,
}

/// One checked metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub metric: Metric,
    /// The (median) value of the current run(s).
    pub value: Option<f64>,
    /// The threshold as written, for absolute checks.
    pub threshold: Option<String>,
    /// The (median) baseline value, for baseline checks.
    pub baseline: Option<f64>,
    /// Relative change against the baseline (+0.12 = 12 % larger).
    pub delta: Option<f64>,
    pub verdict: Verdict,
    /// Why, in words: "p99 31.2 ms > 25 ms".
    pub detail: String,
}

/// The judgement of a gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateReport {
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    /// Why the run cannot be judged (non-empty iff the verdict is invalid).
    pub invalid: Vec<String>,
    pub runs: usize,
    pub baseline_runs: usize,
}

/// Median of non-empty values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Why a run cannot be judged, if it cannot.
pub fn invalid_reasons(r: &RunResult, v: &Validity) -> Vec<String> {
    let mut out = Vec::new();
    if r.status == Status::Interrupted {
        out.push("the run was interrupted".to_string());
    }
    // Back-pressure (the client's queue was full) or a sync worker waiting for its ack (closed
    // loop) mean the cluster set the pace: a late schedule then says nothing about the generator.
    let backpressure =
        r.backpressure.queue_full > 0 || r.spec.producer.mode == crate::scenario::Mode::Sync;
    let lag = r.latency_us.send_lag.p99 as f64;
    let limit = v.max_send_lag_p99.0.as_secs_f64() * 1e6;
    if !backpressure && r.latency_us.send_lag.count > 0 && lag > limit {
        out.push(format!(
            "the load generator fell behind: send-lag p99 {} > {}",
            human_us(lag),
            v.max_send_lag_p99
        ));
    }
    if let (Some(rate), Some(d), false) = (r.target_rate, r.spec.load.duration, backpressure) {
        let scheduled = rate * d.0.as_secs_f64();
        let ratio = r.counts.sent as f64 / scheduled.max(1.0);
        if r.status == Status::Completed && ratio < v.min_sent_ratio {
            out.push(format!(
                "the load generator sent {:.1}% of its {} scheduled messages (minimum {:.1}%)",
                ratio * 100.0,
                scheduled.round(),
                v.min_sent_ratio * 100.0
            ));
        }
    }
    out
}

/// Judges current results (one, or repeats) against the gate and optional baseline results.
pub fn judge(
    current: &[RunResult],
    baseline: &[RunResult],
    g: &GateSpec,
) -> Result<GateReport, String> {
    if current.is_empty() {
        return Err("no results to judge".into());
    }
    let mut invalid: Vec<String> = Vec::new();
    for (i, r) in current.iter().enumerate() {
        for reason in invalid_reasons(r, &g.validity) {
            invalid.push(if current.len() > 1 {
                format!("run {}: {reason}", i + 1)
            } else {
                reason
            });
        }
    }
    let values = |m: &Metric, rs: &[RunResult]| -> Option<Vec<f64>> {
        rs.iter().map(|r| m.value(r)).collect()
    };
    let mut checks = Vec::new();
    for (k, v) in &g.thresholds {
        let t = Threshold::parse(k, v).map_err(|e| format!("gate.{k}: {e}"))?;
        let check = match values(&t.metric, current).map(median) {
            None => Check {
                detail: format!("{}: no value in the result", t.metric.name),
                metric: t.metric,
                value: None,
                threshold: Some(t.text),
                baseline: None,
                delta: None,
                verdict: Verdict::Fail,
            },
            Some(value) => {
                let ok = t.op.holds(value, t.limit);
                let mut detail = format!(
                    "{} {} {} {}",
                    t.metric.name,
                    t.metric.show(value),
                    if ok { "meets" } else { "breaks" },
                    t.text
                );
                if !ok {
                    let by = (value - t.limit).abs();
                    let _ = write!(detail, " (by {}", t.metric.show(by));
                    if t.limit > 0.0 {
                        let _ = write!(detail, ", {:.2}x the limit", value / t.limit);
                    }
                    detail.push(')');
                }
                Check {
                    detail,
                    metric: t.metric,
                    value: Some(value),
                    threshold: Some(t.text),
                    baseline: None,
                    delta: None,
                    verdict: if ok { Verdict::Pass } else { Verdict::Fail },
                }
            }
        };
        checks.push(check);
    }
    if !baseline.is_empty() {
        for (k, v) in &g.baseline {
            let a = Allowance::parse(k, v).map_err(|e| format!("gate.baseline.{k}: {e}"))?;
            checks.push(baseline_check(a, current, baseline));
        }
    }
    let verdict = if !invalid.is_empty() {
        Verdict::Invalid
    } else if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    Ok(GateReport {
        checks,
        verdict,
        invalid,
        runs: current.len(),
        baseline_runs: baseline.len(),
    })
}

fn baseline_check(a: Allowance, current: &[RunResult], baseline: &[RunResult]) -> Check {
    let m = a.metric.clone();
    let cur: Option<Vec<f64>> = current.iter().map(|r| m.value(r)).collect();
    let base: Option<Vec<f64>> = baseline.iter().map(|r| m.value(r)).collect();
    let (Some(cur), Some(base)) = (cur, base) else {
        return Check {
            detail: format!("{}: missing in the current or the baseline result", m.name),
            metric: m,
            value: None,
            threshold: Some(format!("baseline {}", a.text)),
            baseline: None,
            delta: None,
            verdict: Verdict::Fail,
        };
    };
    let (c, b) = (median(cur.clone()), median(base.clone()));
    let delta = if b != 0.0 {
        (c - b) / b
    } else if c == b {
        0.0
    } else {
        f64::INFINITY
    };
    // Worsening as a positive fraction: a throughput drop or a latency rise.
    let worsening = if m.higher_is_better() { -delta } else { delta };
    let beyond = worsening > a.max_worsening;
    // With repeats, the sides must not overlap either: every current run worse than every baseline run.
    let repeated = cur.len() > 1 || base.len() > 1;
    let separated = if m.higher_is_better() {
        cur.iter().cloned().fold(f64::MIN, f64::max) < base.iter().cloned().fold(f64::MAX, f64::min)
    } else {
        cur.iter().cloned().fold(f64::MAX, f64::min) > base.iter().cloned().fold(f64::MIN, f64::max)
    };
    let fail = beyond && (!repeated || separated);
    let mut detail = format!(
        "{} {} vs baseline {} ({:+.1}%, allowed {})",
        m.name,
        m.show(c),
        m.show(b),
        delta * 100.0,
        a.text
    );
    if beyond && repeated && !separated {
        detail.push_str("; within the run-to-run spread, not called a regression");
    }
    Check {
        metric: m,
        value: Some(c),
        threshold: Some(format!("baseline {}", a.text)),
        baseline: Some(b),
        delta: Some(delta),
        verdict: if fail { Verdict::Fail } else { Verdict::Pass },
        detail,
    }
}
