//! The `[gate]` section and the metric language it shares with `[capacity] slo`: metric names,
//! thresholds (`<= 25ms`), baseline allowances (`-5%`). Plain data and parsing only; judging a
//! result against them is `crate::gate`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::{human_us, Dur, Rate};

/// What a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A latency statistic (µs) of a stream.
    Latency(Stream, Stat),
    /// Acked messages per second.
    Throughput,
    /// failed / sent (a fraction): failures reported by librdkafka.
    ErrorRate,
    /// (failed + unresolved + unsent) / scheduled (a fraction): everything that did not make it.
    LossRate,
    /// `[consume]`: missing / acked (a fraction): acked messages the consumers never read back.
    MissingRate,
    AchievedRateRatio,
    /// A part of librdkafka's breakdown (µs): `client.rtt.p99`, `client.int_latency.p50`, ...
    Client(ClientPart, ClientStat),
    /// The largest throttle time brokers asked for (`client.throttle`), in ms.
    Throttle,
    /// The worst topic's corrected p99 (µs) of a many-topic run (`topic.p99.max`).
    TopicP99Max,
}

/// A part of the breakdown from librdkafka's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPart {
    /// In the client's queue (`int_latency`).
    Queue,
    /// Waiting for an in-flight slot (`outbuf_latency`).
    OutputBuffer,
    /// The broker round trip (`rtt`).
    RoundTrip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStat {
    P50,
    P99,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Corrected,
    Service,
    SendLag,
    /// Failed and unresolved messages (due -> report, or -> purge).
    Failed,
    /// Unsent messages (due -> the stop of sending).
    Unsent,
    /// Transaction commits (`commit_transaction` called to returned).
    Commit,
    /// `[consume]`: consumed - due.
    E2e,
    /// `[consume]`: consumed - enqueue.
    E2eService,
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
    pub fn parse(name: &str) -> Result<Metric, crate::input::ValueError> {
        let kind = match name {
            "throughput" => Kind::Throughput,
            "error_rate" => Kind::ErrorRate,
            "loss_rate" => Kind::LossRate,
            "missing_rate" => Kind::MissingRate,
            "topic.p99.max" => Kind::TopicP99Max,
            "client.throttle" => Kind::Throttle,
            _ if name.starts_with("client.") => {
                let rest = &name["client.".len()..];
                let (part, stat) = rest.rsplit_once('.').ok_or_else(|| unknown(name))?;
                let part = match part {
                    "int_latency" => ClientPart::Queue,
                    "outbuf_latency" => ClientPart::OutputBuffer,
                    "rtt" => ClientPart::RoundTrip,
                    _ => return Err(unknown(name).into()),
                };
                let stat = match stat {
                    "p50" => ClientStat::P50,
                    "p99" => ClientStat::P99,
                    _ => return Err(unknown(name).into()),
                };
                Kind::Client(part, stat)
            }
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
                    "failed" => Stream::Failed,
                    "unsent" => Stream::Unsent,
                    "commit" => Stream::Commit,
                    "e2e" => Stream::E2e,
                    "e2e_service" => Stream::E2eService,
                    _ => return Err(unknown(name).into()),
                };
                let stat = match stat {
                    "p50" => Stat::P50,
                    "p90" => Stat::P90,
                    "p99" => Stat::P99,
                    "p999" => Stat::P999,
                    "max" => Stat::Max,
                    "mean" => Stat::Mean,
                    _ => return Err(unknown(name).into()),
                };
                Kind::Latency(stream, stat)
            }
        };
        Ok(Metric {
            name: name.to_string(),
            kind,
        })
    }

    /// True when a larger value is better (throughput, achieved ratio).
    pub fn higher_is_better(&self) -> bool {
        matches!(self.kind, Kind::Throughput | Kind::AchievedRateRatio)
    }

    /// A value in the metric's unit, for humans.
    pub fn show(&self, v: f64) -> String {
        match self.kind {
            Kind::Latency(..) | Kind::Client(..) | Kind::TopicP99Max => human_us(v),
            Kind::Throttle => format!("{v:.0} ms"),
            Kind::Throughput => format!("{} msg/s", Rate::human(v)),
            Kind::ErrorRate | Kind::LossRate | Kind::MissingRate => format!("{:.3}%", v * 100.0),
            Kind::AchievedRateRatio => format!("{v:.4}"),
        }
    }

    /// Parses a threshold value in the metric's unit ("25ms", "19.5k/s", "0.1%", "0.99").
    pub(crate) fn parse_value(&self, text: &str) -> Result<f64, crate::input::ValueError> {
        let t = text.trim();
        match self.kind {
            Kind::Latency(..) | Kind::Client(..) | Kind::TopicP99Max => t
                .parse::<Dur>()
                .map(|d| d.0.as_secs_f64() * 1e6)
                .map_err(|e| e.to_string().into()),
            Kind::Throttle => t
                .parse::<Dur>()
                .map(|d| d.0.as_secs_f64() * 1e3)
                .map_err(|e| e.to_string().into()),
            Kind::Throughput => match t.parse::<Rate>() {
                Ok(Rate::PerSec(r)) => Ok(r),
                _ => Err(format!("expected a rate like \"19.5k/s\", found {t:?}").into()),
            },
            Kind::ErrorRate | Kind::LossRate | Kind::MissingRate => parse_fraction(t),
            Kind::AchievedRateRatio => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("expected a ratio like 0.99, found {t:?}").into()),
        }
    }
}

fn unknown(name: &str) -> String {
    format!(
        "unknown metric {name:?}: expected p50, p90, p99, p999, max, mean (optionally prefixed by corrected., service., send_lag., failed., unsent., commit., e2e. or e2e_service.), throughput, error_rate, loss_rate, missing_rate, topic.p99.max, achieved_rate_ratio, client.rtt.p99 (or client.int_latency., client.outbuf_latency. with p50 or p99) or client.throttle"
    )
}

/// "0.1%" -> 0.001; "0.001" -> 0.001.
fn parse_fraction(t: &str) -> Result<f64, crate::input::ValueError> {
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / scale)
        .ok_or_else(|| format!("expected a share like \"0.1%\" or 0.001, found {t:?}").into())
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
    pub fn holds(self, v: f64, limit: f64) -> bool {
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
    pub fn parse(metric: &str, condition: &str) -> Result<Threshold, crate::input::ValueError> {
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
    pub fn parse(metric: &str, change: &str) -> Result<Allowance, crate::input::ValueError> {
        let metric = Metric::parse(metric)?;
        let t = change.trim();
        let (sign, rest) = match t.chars().next() {
            Some('+') => (1.0, &t[1..]),
            Some('-') => (-1.0, &t[1..]),
            _ => {
                return Err(format!(
                    "expected a signed change like \"-5%\" (may drop 5%) or \"+10%\" (may grow 10%), found {t:?}"
                ).into())
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
            )
            .into());
        }
        Ok(Allowance {
            metric,
            max_worsening: pct / 100.0,
            text: t.to_string(),
        })
    }
}

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
    /// A paced run must send at least this share of its scheduled messages.
    pub min_sent_ratio: f64,
    /// Send-lag p99 above this means the generator fell behind.
    pub max_send_lag_p99: Dur,
    /// Above this share of sends answered `QueueFull`, the back-pressure is sustained: the
    /// cluster set the pace, and the generator checks do not apply.
    pub max_queue_full_share: f64,
}

impl Default for Validity {
    fn default() -> Self {
        Validity {
            min_sent_ratio: 0.97,
            max_send_lag_p99: Dur::from_millis(10),
            max_queue_full_share: 0.01,
        }
    }
}

/// Parses and checks a `[gate]` section: the first bad entry as
/// (dotted key, message).
pub fn check_spec(g: &GateSpec) -> Result<(), (String, String)> {
    for (k, v) in &g.thresholds {
        Threshold::parse(k, v).map_err(|e| (format!("gate.{k}"), e.0))?;
    }
    for (k, v) in &g.baseline {
        Allowance::parse(k, v).map_err(|e| (format!("gate.baseline.{k}"), e.0))?;
    }
    let v = &g.validity;
    if !(0.0..=1.0).contains(&v.min_sent_ratio) {
        return Err((
            "gate.validity.min_sent_ratio".into(),
            format!("expected 0.0 to 1.0, found {}", v.min_sent_ratio),
        ));
    }
    if !(v.max_queue_full_share >= 0.0 && v.max_queue_full_share <= 1.0) {
        return Err((
            "gate.validity.max_queue_full_share".into(),
            format!("expected 0.0 to 1.0, found {}", v.max_queue_full_share),
        ));
    }
    Ok(())
}
